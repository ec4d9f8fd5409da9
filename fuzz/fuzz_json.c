/* Fuzz target: the JSON parser with small caps, its writer (the output must
 * parse again to the same text), and lookups. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pqf__json_limits lim = {.max_depth = 32, .max_string = 4096, .max_number = 64,
                            .max_arena = 1 << 20};
    pqf__json_doc d;
    pqf__json_doc_init(&d, &lim);
    pqf__json *v;
    if (pqf__json_parse(&d, (const char *)data, size, &v) == PQF_OK) {
        pqf__buf a, b;
        pqf__buf_init(&a, 8u << 20);
        pqf__buf_init(&b, 8u << 20);
        (void)pqf__json_get(v, "columns");
        (void)pqf__json_at(v, 3);
        if (pqf__json_write(&a, v) == PQF_OK) {
            pqf__json_doc d2;
            pqf__json_doc_init(&d2, &lim);
            pqf__json *v2;
            /* re-serialised text may need more arena; only an OK parse must agree */
            if (pqf__json_parse(&d2, (const char *)a.data, a.len, &v2) == PQF_OK) {
                if (pqf__json_write(&b, v2) != PQF_OK || a.len != b.len ||
                    memcmp(a.data, b.data, a.len) != 0)
                    abort();
            } else if (d2.err.code == PQF_ERR_PARSE) {
                abort(); /* our own output must be valid JSON */
            }
            pqf__json_doc_free(&d2);
        }
        pqf__buf_free(&a);
        pqf__buf_free(&b);
    }
    pqf__json_doc_free(&d);
    return 0;
}
