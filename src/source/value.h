/* Internal: text -> typed value conversion shared by the CSV and JSON readers.
 *
 * A pqf__conv is compiled once per leaf column from its schema node; parsing a
 * field is then one switch with hand-written parsers (no sscanf/strptime/
 * locale): this is the hot path of `pqfeed convert`.
 */
#ifndef PQF_SOURCE_VALUE_H
#define PQF_SOURCE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/timefmt.h"
#include "pqfeed/schema.h"
#include "parquet/flat.h"
#include "pqfeed/writer.h"

typedef enum pqf__vkind {
    PQF__V_BOOL,
    PQF__V_INT,     /* INT32/INT64 with range [imin, imax] or unsigned [0, umax] */
    PQF__V_FLOAT,
    PQF__V_DOUBLE,
    PQF__V_STRING,  /* UTF-8 validated (STRING, ENUM) */
    PQF__V_BINARY,  /* bytes as given */
    PQF__V_FIXED,   /* exactly fixed_len bytes */
    PQF__V_JSON,    /* JSON text; validated by the caller (needs the JSON parser) */
    PQF__V_DECIMAL, /* on INT32, INT64, FIXED_LEN_BYTE_ARRAY or BYTE_ARRAY */
    PQF__V_DATE,
    PQF__V_TIME,
    PQF__V_TIMESTAMP,
    PQF__V_UUID
} pqf__vkind;

typedef struct pqf__conv {
    pqf__vkind kind;
    pqf_physical phys;
    bool is_unsigned;
    int64_t imin, imax; /* signed range */
    uint64_t umax;      /* unsigned range */
    int precision, scale;
    int fixed_len;      /* FIXED_LEN_BYTE_ARRAY length */
    pqf_time_unit unit;
    bool utc;
} pqf__conv;

/* A parsed value: pqf__val (parquet/flat.h), the writer's flat-row cell. */

/* Compile the converter for a leaf. Returns NULL or a static reason why the
 * column type is not supported (INT96, decimal precision > 38, ...). */
const char *pqf__conv_init(pqf__conv *c, const pqf_node_info *leaf);

/* Parse text s[0..n) (not NUL-terminated) for column c into v. Returns NULL
 * on success, else a static reason ("not an integer", "out of range for int8").
 * For PQF__V_JSON it only passes the text through. */
const char *pqf__value_parse(const pqf__conv *c, const char *s, size_t n, pqf__val *v);

/* Readable bytes that pqf__value_parse_padded may touch past s + n. */
#define PQF__PARSE_PAD 32

/* pqf__value_parse with the same results and reasons, faster for the common
 * spellings (digits read 8 at a time). s[n .. n + PQF__PARSE_PAD) must be
 * readable (their contents do not matter), as the CSV reader guarantees. */
const char *pqf__value_parse_padded(const pqf__conv *c, const char *s, size_t n, pqf__val *v);

/* The function pqf__value_parse_padded calls for c's kind, for loops that
 * parse one column many times (same contract). */
typedef const char *(*pqf__parse_fn)(const pqf__conv *c, const char *s, size_t n, pqf__val *v);
pqf__parse_fn pqf__value_padded_fn(const pqf__conv *c);

/* Write a parsed value to leaf `node` with the writer call of its physical
 * type (shared by the file and database sources). */
static inline pqf_err pqf__write_value(pqf_writer *w, int node, const pqf__conv *c,
                                       const pqf__val *v)
{
    switch (c->phys) {
    case PQF_BOOLEAN:
        return pqf_writer_bool(w, node, v->u.b);
    case PQF_INT32:
        return pqf_writer_i32(w, node, v->u.i32);
    case PQF_INT64:
        return pqf_writer_i64(w, node, v->u.i64);
    case PQF_FLOAT:
        return pqf_writer_float(w, node, v->u.f);
    case PQF_DOUBLE:
        return pqf_writer_double(w, node, v->u.d);
    case PQF_BYTE_ARRAY:
    case PQF_FIXED_LEN_BYTE_ARRAY:
        return pqf_writer_bytes(w, node, v->p, v->n);
    default:
        return PQF_ERR_UNSUPPORTED;
    }
}

/* Order of two values parsed by one converter: <0, 0, >0 (numbers by value,
 * bytes as unsigned strings, FIXED decimals as big-endian two's complement). */
int pqf__val_cmp(const pqf__conv *c, const pqf__val *a, const pqf__val *b);

/* Type name for messages, e.g. "int8", "decimal(18,2)", "timestamp_us". */
void pqf__conv_describe(const pqf__conv *c, char *buf, size_t cap);

/* ---- individual parsers (also used by inference and tests) ------------------ */

/* Decimal integer with optional sign; false if not one or out of int64 range. */
bool pqf__parse_i64(const char *s, size_t n, int64_t *out);
bool pqf__parse_u64(const char *s, size_t n, uint64_t *out);
/* JSON-style or plain decimal floating point (also inf/nan spellings). */
bool pqf__parse_double(const char *s, size_t n, double *out);
/* true/false/1/0/t/f/yes/no (case-insensitive). */
bool pqf__parse_bool(const char *s, size_t n, bool *out);
/* YYYY-MM-DD -> days since 1970-01-01. */
bool pqf__parse_date(const char *s, size_t n, int32_t *days);
/* HH:MM[:SS[.fraction]] -> nanoseconds since midnight. */
bool pqf__parse_time(const char *s, size_t n, int64_t *nanos);
/* ISO-8601 date[(T| )time[.fraction]][Z|±HH[:MM]] -> seconds since the epoch
 * in the written wall clock, nanosecond fraction, and the offset in seconds
 * (*has_offset false when there is none). */
bool pqf__parse_timestamp(const char *s, size_t n, int64_t *secs, int32_t *nanos,
                          bool *has_offset, int32_t *offset_secs);
/* Decimal text with at most `precision` digits and `scale` fraction digits
 * (extra fraction digits must be zeros) -> unscaled value. Returns NULL or a
 * reason. precision <= 38. */
const char *pqf__parse_decimal(const char *s, size_t n, int precision, int scale,
                               __int128 *unscaled);
/* 8-4-4-4-12 hex UUID (also with braces or without dashes) -> 16 bytes. */
bool pqf__parse_uuid(const char *s, size_t n, uint8_t out[16]);
/* Significant digits in s[0..n): the digits after the leading zeros, other
 * characters (sign, point) skipped ("-007.50" -> 3); for schema inference. */
int pqf__count_digits(const char *s, size_t n);
/* Valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF)? */
bool pqf__utf8_valid(const char *s, size_t n);

/* days since epoch <-> civil date: pqf__days_from_civil, pqf__civil_from_days
 * (base/timefmt.h). */

#endif
