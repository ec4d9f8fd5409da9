/* Fuzz target: a whole Parquet file, read the way `pqfeed parquet cat` and
 * `validate` read it: footer, every column chunk, page index, bloom filter,
 * and record assembly of every row, as NDJSON and as CSV; then every chunk
 * once more through one cursor after another, as `pqfeed parquet scan` does
 * (each cursor reuses the buffers of the one freed before it). */
#include <stdint.h>

#include "pqfeed/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pqf_error err = {0};
    pqf_istream *in = NULL;
    pqf_reader *r = NULL;
    pqf_reader_opts o;
    pqf_reader_opts_init(&o);
    o.max_meta_memory = 64u << 20;
    o.max_page_bytes = 4u << 20;
    o.max_chunk_bytes = 64u << 20;
    if (pqf_istream_mem(data, size, "fuzz", &in, &err) != PQF_OK)
        return 0;
    if (pqf_reader_open(in, &o, &r, &err) == PQF_OK) {
        for (int fmt = 0; fmt < 2; fmt++) {
            pqf_row_reader *rr = NULL;
            pqf_row_opts ro = {.format = fmt ? PQF_ROW_CSV : PQF_ROW_JSON};
            if (pqf_row_reader_open(r, &ro, &rr, &err) == PQF_OK) {
                const char *line;
                size_t len;
                for (int i = 0; i < 100000; i++)
                    if (pqf_row_reader_next(rr, &line, &len) != PQF_OK || !line)
                        break;
            }
            pqf_row_reader_free(rr);
        }
        for (int g = 0; g < pqf_reader_row_group_count(r) && g < 16; g++)
            for (int l = 0; l < pqf_reader_leaf_count(r) && l < 64; l++) {
                pqf_column_reader *c = NULL;
                if (pqf_column_open(r, g, l, &c) == PQF_OK) {
                    pqf_batch b;
                    volatile uint64_t sink = 0;
                    for (int i = 0; i < 4096; i++) {
                        if (pqf_column_next(c, 1000, &b) != PQF_OK || !b.nlevels)
                            break;
                        /* touch the last value so a bad view shows up */
                        if (b.nvalues && (b.physical == PQF_BYTE_ARRAY ||
                                          b.physical == PQF_FIXED_LEN_BYTE_ARRAY)) {
                            const pqf_byteview *v = (const pqf_byteview *)b.values + b.nvalues - 1;
                            if (v->len)
                                sink += v->ptr[v->len - 1];
                        }
                    }
                    (void)sink;
                }
                pqf_column_free(c);
                pqf_page_index pi;
                bool maybe;
                pqf_reader_page_index(r, g, l, &pi);
                pqf_reader_bloom_check(r, g, l, "abc", 3, &maybe);
            }
    }
    pqf_reader_free(r);
    pqf_istream_free(in);
    return 0;
}
