/* Fuzz target: the Thrift compact decoder and every metadata struct decoder
 * on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "parquet/meta.h"
#include "parquet/thrift_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pqf_error err = {0};
    pqf__tr t;
    pqf__tr_init(&t, data, size, &err);
    (void)pqf__tr_skip(&t, PQF__TT_STRUCT);

    pqf__page_header h;
    pqf__bloom_header bh;
    size_t hl;
    (void)pqf__meta_page_header(data, size, &h, &hl, &err);
    (void)pqf__meta_bloom_header(data, size, &bh, &hl, &err);

    pqf__arena a;
    pqf__arena_init(&a, 64u << 20);
    pqf__file_meta *m;
    pqf__column_index ci;
    pqf__offset_index oi;
    (void)pqf__meta_file(&a, data, size, &m, &err);
    (void)pqf__meta_column_index(&a, data, size, &ci, &err);
    (void)pqf__meta_offset_index(&a, data, size, &oi, &err);
    pqf__arena_free(&a);
    return 0;
}
