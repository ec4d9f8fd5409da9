/* Fuzz target: the CSV tokenizer and value parsers on arbitrary bytes.
 * The first byte picks the dialect and a small read buffer so records cross
 * buffer boundaries; every field goes through each value parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/csv.h"
#include "source/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    pqf_csv_opts o;
    pqf_csv_opts_init(&o);
    o.delimiter = (mode & 1) ? ';' : ',';
    o.header = (mode & 2) != 0;
    o.null_marker = (mode & 4) ? "\\N" : "";
    size_t buffer = 16 + (size_t)(mode >> 3) * 8;
    pqf__csv *c = NULL;
    pqf_error err = {0};
    if (pqf__csv_open(NULL, data + 1, size - 1, "fuzz.csv", &o, buffer, 4096, 64, &c, &err) !=
        PQF_OK)
        return 0;
    static const pqf_node_info kinds[] = {
        {.physical = PQF_INT64},
        {.physical = PQF_INT32, .logical = {.kind = PQF_LT_INT, .bit_width = 8, .is_signed = false}},
        {.physical = PQF_DOUBLE},
        {.physical = PQF_BOOLEAN},
        {.physical = PQF_INT32, .logical = {.kind = PQF_LT_DATE}},
        {.physical = PQF_INT64, .logical = {.kind = PQF_LT_TIMESTAMP, .unit = PQF_NANOS, .utc = true}},
        {.physical = PQF_INT64, .logical = {.kind = PQF_LT_TIME, .unit = PQF_MICROS}},
        {.physical = PQF_INT64, .logical = {.kind = PQF_LT_DECIMAL, .precision = 18, .scale = 4}},
        {.physical = PQF_FIXED_LEN_BYTE_ARRAY, .type_length = 16,
         .logical = {.kind = PQF_LT_DECIMAL, .precision = 38, .scale = 10}},
        {.physical = PQF_FIXED_LEN_BYTE_ARRAY, .type_length = 16, .logical = {.kind = PQF_LT_UUID}},
        {.physical = PQF_BYTE_ARRAY, .logical = {.kind = PQF_LT_STRING}},
    };
    pqf__conv conv[sizeof kinds / sizeof kinds[0]];
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (pqf__conv_init(&conv[k], &kinds[k]))
            abort();
    for (int r = 0; r < 100000; r++) {
        bool eof;
        if (pqf__csv_next(c, &eof) != PQF_OK || eof)
            break;
        for (size_t i = 0; i < c->nfields; i++) {
            const pqf__csv_field *f = &c->fields[i];
            for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
                pqf__val v;
                (void)pqf__value_parse(&conv[k], f->p, f->len, &v);
            }
        }
    }
    pqf__csv_free(c);
    return 0;
}
