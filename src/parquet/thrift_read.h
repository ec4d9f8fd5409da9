/* Internal: a Thrift compact protocol decoder for Parquet metadata.
 *
 * Written by hand rather than generated: the Thrift C library is not packaged
 * for C11 without GLib, and Parquet needs only the compact protocol's reading
 * side, with every input treated as hostile. Every length and count is checked
 * against the bytes that remain, nesting is bounded (max_depth), and lists are
 * capped (max_elems), so a decoder never reads past its buffer, never recurses
 * without bound and never allocates from a count it has not checked.
 *
 * Usage (one struct):
 *
 *   int16_t last; int type; int16_t id;
 *   PQF_TRY(pqf__tr_struct_begin(t, &last));
 *   for (;;) {
 *       PQF_TRY(pqf__tr_field(t, &last, &type, &id));
 *       if (type == PQF__TT_STOP) break;
 *       if (id == 1 && type == PQF__TT_I32) PQF_TRY(pqf__tr_i32(t, &x));
 *       else PQF_TRY(pqf__tr_skip(t, type));
 *   }
 *   PQF_TRY(pqf__tr_struct_end(t));
 *
 * Errors are PQF_ERR_CORRUPT (or PQF_ERR_LIMIT for caps) with the offset in
 * the message; the error is sticky in t->err.
 */
#ifndef PQF_PARQUET_THRIFT_READ_H
#define PQF_PARQUET_THRIFT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"

/* Compact protocol type ids (as on the wire). */
enum {
    PQF__TT_STOP = 0,
    PQF__TT_BOOL_TRUE = 1,
    PQF__TT_BOOL_FALSE = 2,
    PQF__TT_BYTE = 3,
    PQF__TT_I16 = 4,
    PQF__TT_I32 = 5,
    PQF__TT_I64 = 6,
    PQF__TT_DOUBLE = 7,
    PQF__TT_BINARY = 8,
    PQF__TT_LIST = 9,
    PQF__TT_SET = 10,
    PQF__TT_MAP = 11,
    PQF__TT_STRUCT = 12,
    PQF__TT_UUID = 13
};

/* Pseudo field type for pqf__tr_bool: the value is a byte of its own (list
 * element), not encoded in the field header. */
#define PQF__TT_BOOL_ELEM (-1)

#define PQF__TR_DEFAULT_DEPTH 32

typedef struct pqf__tr {
    const uint8_t *start, *p, *end;
    int depth, max_depth;
    uint32_t max_elems; /* cap on list/set/map element counts */
    pqf_error *err;
} pqf__tr;

/* Decode from [data, data+len). err receives the first error. */
void pqf__tr_init(pqf__tr *t, const void *data, size_t len, pqf_error *err);
/* Bytes consumed so far. */
static inline size_t pqf__tr_pos(const pqf__tr *t) { return (size_t)(t->p - t->start); }
static inline size_t pqf__tr_left(const pqf__tr *t) { return (size_t)(t->end - t->p); }

/* Enter a struct (depth is checked); *last is the field-id state to pass to
 * pqf__tr_field. */
pqf_err pqf__tr_struct_begin(pqf__tr *t, int16_t *last);
pqf_err pqf__tr_struct_end(pqf__tr *t);
/* Next field header; *type is PQF__TT_STOP at the end of the struct. */
pqf_err pqf__tr_field(pqf__tr *t, int16_t *last, int *type, int16_t *id);

/* Values. Integer readers check the value fits the type. */
pqf_err pqf__tr_i8(pqf__tr *t, int8_t *v);
pqf_err pqf__tr_i16(pqf__tr *t, int16_t *v);
pqf_err pqf__tr_i32(pqf__tr *t, int32_t *v);
pqf_err pqf__tr_i64(pqf__tr *t, int64_t *v);
pqf_err pqf__tr_double(pqf__tr *t, double *v);
/* A binary/string: *p points into the input (not copied, not NUL-terminated). */
pqf_err pqf__tr_binary(pqf__tr *t, const uint8_t **p, uint32_t *len);
/* A bool: type is the field's type (BOOL_TRUE/BOOL_FALSE) or PQF__TT_BOOL_ELEM
 * inside a list. Anything else is corrupt. */
pqf_err pqf__tr_bool(pqf__tr *t, int type, bool *v);
/* List or set header: element type and count (count <= bytes left, and
 * <= max_elems). A nested container counts against depth: call
 * pqf__tr_list_end after the elements. */
pqf_err pqf__tr_list_begin(pqf__tr *t, int *elem_type, uint32_t *count);
pqf_err pqf__tr_map_begin(pqf__tr *t, int *key_type, int *val_type, uint32_t *count);
pqf_err pqf__tr_list_end(pqf__tr *t);

/* Skip one value of the given field type (any type, nested to max_depth). */
pqf_err pqf__tr_skip(pqf__tr *t, int type);
/* Skip a list element (bools are a byte of their own there). */
pqf_err pqf__tr_skip_elem(pqf__tr *t, int type);

/* Name of a wire type, for messages. */
const char *pqf__tr_type_name(int type);

#endif
