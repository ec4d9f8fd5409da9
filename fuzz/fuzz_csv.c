/* Fuzz target: the CSV tokenizer and value parsers on arbitrary bytes.
 * The first byte picks the dialect and a small read buffer so records cross
 * buffer boundaries; every field goes through each value parser. Two
 * differential checks abort on any disagreement: the record scanners (byte by
 * byte, SSE2, AVX2: pqf__csv_simd_override) must give the same records and
 * errors, and the padded fast parsers (pqf__value_parse_padded, the CSV hot
 * path) the same results, values and reasons as pqf__value_parse. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/csv.h"
#include "source/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const pqf_node_info kinds[] = {
    {.physical = PQF_INT64},
    {.physical = PQF_INT32, .logical = {.kind = PQF_LT_INT, .bit_width = 8, .is_signed = false}},
    {.physical = PQF_INT32},
    {.physical = PQF_DOUBLE},
    {.physical = PQF_BOOLEAN},
    {.physical = PQF_INT32, .logical = {.kind = PQF_LT_DATE}},
    {.physical = PQF_INT64, .logical = {.kind = PQF_LT_TIMESTAMP, .unit = PQF_NANOS, .utc = true}},
    {.physical = PQF_INT64, .logical = {.kind = PQF_LT_TIMESTAMP, .unit = PQF_MICROS}},
    {.physical = PQF_INT64, .logical = {.kind = PQF_LT_TIMESTAMP, .unit = PQF_MILLIS, .utc = true}},
    {.physical = PQF_INT64, .logical = {.kind = PQF_LT_TIME, .unit = PQF_MICROS}},
    {.physical = PQF_INT64, .logical = {.kind = PQF_LT_DECIMAL, .precision = 18, .scale = 4}},
    {.physical = PQF_INT32, .logical = {.kind = PQF_LT_DECIMAL, .precision = 9, .scale = 2}},
    {.physical = PQF_FIXED_LEN_BYTE_ARRAY,
     .type_length = 16,
     .logical = {.kind = PQF_LT_DECIMAL, .precision = 38, .scale = 10}},
    {.physical = PQF_FIXED_LEN_BYTE_ARRAY, .type_length = 16, .logical = {.kind = PQF_LT_UUID}},
    {.physical = PQF_BYTE_ARRAY, .logical = {.kind = PQF_LT_STRING}},
};
enum { NKINDS = sizeof kinds / sizeof kinds[0] };

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001B3ull;
    return h;
}

static bool same_value(const pqf__conv *c, const pqf__val *a, const pqf__val *b)
{
    switch (c->phys) {
    case PQF_BOOLEAN:
        return a->u.b == b->u.b;
    case PQF_INT32:
        return a->u.i32 == b->u.i32;
    case PQF_INT64:
        return a->u.i64 == b->u.i64;
    case PQF_DOUBLE:
        return memcmp(&a->u.d, &b->u.d, sizeof a->u.d) == 0 || (isnan(a->u.d) && isnan(b->u.d));
    default:
        return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
    }
}

/* Tokenize with one scanner; a hash of every record (line, fields, quoting,
 * bytes) and of the final error. The first pass also checks the parsers. */
static uint64_t run(const uint8_t *data, size_t size, int level, const pqf__conv *conv)
{
    uint8_t mode = data[0];
    pqf_csv_opts o;
    pqf_csv_opts_init(&o);
    o.delimiter = (mode & 1) ? ';' : ',';
    o.header = (mode & 2) != 0;
    o.null_marker = (mode & 4) ? "\\N" : "";
    size_t buffer = 16 + (size_t)(mode >> 3) * 8;
    pqf__csv *c = NULL;
    pqf_error err = {0};
    pqf__csv_simd_override = level;
    pqf_err orc = pqf__csv_open(NULL, data + 1, size - 1, "fuzz.csv", &o, buffer, 4096, 64, &c,
                                &err);
    pqf__csv_simd_override = -1;
    uint64_t h = 0xCBF29CE484222325ull;
    if (orc != PQF_OK)
        return fnv(h, err.msg, strlen(err.msg));
    for (size_t i = 0; c->names && i < c->width; i++)
        h = fnv(h, c->names[i], strlen(c->names[i]) + 1);
    for (int r = 0; r < 100000; r++) {
        bool eof;
        pqf_err rc = pqf__csv_next(c, &eof);
        if (rc != PQF_OK) {
            h = fnv(h, c->err.msg, strlen(c->err.msg));
            break;
        }
        if (eof)
            break;
        h = fnv(h, &c->line, sizeof c->line);
        h = fnv(h, &c->nfields, sizeof c->nfields);
        for (size_t i = 0; i < c->nfields; i++) {
            const pqf__csv_field *f = &c->fields[i];
            h = fnv(h, &f->quoted, sizeof f->quoted);
            h = fnv(h, &f->len, sizeof f->len);
            h = fnv(h, f->p, f->len);
            for (size_t k = 0; conv && k < NKINDS; k++) {
                pqf__val a, b;
                memset(&a, 0, sizeof a);
                memset(&b, 0, sizeof b);
                const char *ea = pqf__value_parse(&conv[k], f->p, f->len, &a);
                const char *eb = pqf__value_parse_padded(&conv[k], f->p, f->len, &b);
                if ((ea == NULL) != (eb == NULL) || (ea && strcmp(ea, eb) != 0) ||
                    (!ea && !same_value(&conv[k], &a, &b)))
                    abort();
            }
        }
    }
    pqf__csv_free(c);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    pqf__conv conv[NKINDS];
    for (size_t k = 0; k < NKINDS; k++)
        if (pqf__conv_init(&conv[k], &kinds[k]))
            abort();
    uint64_t want = run(data, size, 0, conv);
    for (int level = 1; level <= 2; level++)
        if (run(data, size, level, NULL) != want)
            abort();
    return 0;
}
