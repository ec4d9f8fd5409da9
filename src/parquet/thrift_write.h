/* Internal: Thrift compact protocol encoder (the writer's half; the decoder
 * lives in thrift_read.h). Written by hand because the footer and page
 * headers are a handful of structs and the Thrift C library would bring a
 * code generator and GLib for them.
 *
 * A pqf__tw appends to a caller-owned pqf__buf. Errors are sticky: after a
 * failed append every call is a no-op and pqf__tw_err() reports the code, so
 * a whole struct is written and checked once. Struct nesting is tracked for
 * field-id deltas up to PQF__TW_DEPTH levels.
 *
 *   pqf__tw t; pqf__tw_init(&t, &buf);
 *   pqf__tw_i32(&t, 1, 7);                 // field 1: i32
 *   pqf__tw_struct_begin(&t, 2);           // field 2: struct
 *     pqf__tw_bool(&t, 1, true);
 *   pqf__tw_struct_end(&t);                // stop byte of field 2
 *   pqf__tw_struct_end(&t);                // stop byte of the outer struct
 */
#ifndef PQF_PARQUET_THRIFT_WRITE_H
#define PQF_PARQUET_THRIFT_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pqfeed/error.h"

/* Compact protocol type codes. */
enum {
    PQF__CT_STOP = 0,
    PQF__CT_BOOL_TRUE = 1,
    PQF__CT_BOOL_FALSE = 2,
    PQF__CT_BYTE = 3,
    PQF__CT_I16 = 4,
    PQF__CT_I32 = 5,
    PQF__CT_I64 = 6,
    PQF__CT_DOUBLE = 7,
    PQF__CT_BINARY = 8,
    PQF__CT_LIST = 9,
    PQF__CT_SET = 10,
    PQF__CT_MAP = 11,
    PQF__CT_STRUCT = 12
};

#define PQF__TW_DEPTH 32

typedef struct pqf__tw {
    pqf__buf *b;
    int16_t last[PQF__TW_DEPTH]; /* last field id per open struct */
    int depth;                   /* index into last[] of the innermost struct */
    pqf_err err;
} pqf__tw;

/* Start writing a top-level struct at the end of b. */
void pqf__tw_init(pqf__tw *t, pqf__buf *b);
static inline pqf_err pqf__tw_err(const pqf__tw *t)
{
    return t->err;
}

/* Fields of the current struct. */
void pqf__tw_bool(pqf__tw *t, int16_t id, bool v);
void pqf__tw_i8(pqf__tw *t, int16_t id, int8_t v);
void pqf__tw_i16(pqf__tw *t, int16_t id, int16_t v);
void pqf__tw_i32(pqf__tw *t, int16_t id, int32_t v);
void pqf__tw_i64(pqf__tw *t, int16_t id, int64_t v);
void pqf__tw_double(pqf__tw *t, int16_t id, double v);
void pqf__tw_binary(pqf__tw *t, int16_t id, const void *p, size_t n);
void pqf__tw_string(pqf__tw *t, int16_t id, const char *s);
/* A struct-valued field; close with pqf__tw_struct_end. */
void pqf__tw_struct_begin(pqf__tw *t, int16_t id);
/* Write the stop byte of the innermost open struct (or of the top level). */
void pqf__tw_struct_end(pqf__tw *t);
/* An empty struct field (union members such as StringType). */
void pqf__tw_empty_struct(pqf__tw *t, int16_t id);
/* A struct-valued field whose body (fields and stop byte) was encoded
 * separately, e.g. a ColumnMetaData kept from row group flush to footer. */
void pqf__tw_raw_struct(pqf__tw *t, int16_t id, const void *body, size_t n);
/* A list-valued field of n elements of compact type elem; follow with
 * exactly n pqf__tw_elem_* calls (or n struct elements). */
void pqf__tw_list_begin(pqf__tw *t, int16_t id, int elem, uint32_t n);

/* List elements. */
void pqf__tw_elem_bool(pqf__tw *t, bool v);
void pqf__tw_elem_i32(pqf__tw *t, int32_t v);
void pqf__tw_elem_i64(pqf__tw *t, int64_t v);
void pqf__tw_elem_binary(pqf__tw *t, const void *p, size_t n);
/* A struct element; close with pqf__tw_struct_end. */
void pqf__tw_elem_struct_begin(pqf__tw *t);

/* Raw primitives (used by tests and by the encoder itself). */
void pqf__tw_varint(pqf__tw *t, uint64_t v);
static inline uint64_t pqf__zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

#endif
