/* Fuzz target: a footer. The input becomes the FileMetaData of a file with
 * no data ("PAR1" input len "PAR1"); the reader opens it and every metadata
 * getter runs, so schema building, level computation and offset checks see
 * hostile metadata. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "pqfeed/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 24))
        return 0;
    uint8_t *f = malloc(size + 12);
    if (!f)
        return 0;
    memcpy(f, "PAR1", 4);
    memcpy(f + 4, data, size);
    pqf__store32le(f + 4 + size, (uint32_t)size);
    memcpy(f + 8 + size, "PAR1", 4);
    pqf_error err = {0};
    pqf_istream *in = NULL;
    pqf_reader *r = NULL;
    pqf_reader_opts o;
    pqf_reader_opts_init(&o);
    o.max_meta_memory = 64u << 20;
    o.max_page_bytes = 1u << 20;
    if (pqf_istream_mem(f, size + 12, "fuzz", &in, &err) == PQF_OK &&
        pqf_reader_open(in, &o, &r, &err) == PQF_OK) {
        pqf_node_info ni;
        for (int n = 0; n < pqf_reader_node_count(r); n++)
            pqf_reader_node(r, n, &ni);
        for (size_t i = 0; i < pqf_reader_kv_count(r); i++) {
            const char *k, *v;
            pqf_reader_kv(r, i, &k, &v);
        }
        for (int g = 0; g < pqf_reader_row_group_count(r) && g < 64; g++) {
            pqf_row_group_info gi;
            pqf_reader_row_group(r, g, &gi);
            for (int l = 0; l < pqf_reader_leaf_count(r) && l < 64; l++) {
                pqf_chunk_info ci;
                pqf_page_index pi;
                bool maybe;
                pqf_reader_chunk(r, g, l, &ci);
                pqf_reader_page_index(r, g, l, &pi);
                pqf_reader_bloom_check(r, g, l, "x", 1, &maybe);
                pqf_predicate p = {l, PQF_EQ, "\0\0\0\0\0\0\0\0", 8};
                pqf_reader_row_group_may_match(r, g, &p);
                pqf_column_reader *c = NULL;
                if (pqf_column_open(r, g, l, &c) == PQF_OK) {
                    pqf_batch b;
                    while (pqf_column_next(c, 1024, &b) == PQF_OK && b.nlevels)
                        ;
                }
                pqf_column_free(c);
            }
        }
        pqf_schema *s = NULL;
        if (pqf_reader_schema(r, &s, &err) == PQF_OK)
            pqf_schema_free(s);
    }
    pqf_reader_free(r);
    pqf_istream_free(in);
    free(f);
    return 0;
}
