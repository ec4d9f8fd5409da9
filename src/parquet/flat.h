/* Internal: whole rows of a flat schema in one writer call, and levelled
 * leaf writes for a caller that walks a nested schema itself.
 *
 * For a schema whose top-level fields are all leaves (no STRUCT or LIST),
 * pqf__writer_flat_row takes one row's values in leaf order instead of one
 * pqf_writer_* call per value: the context checks of the shredding interface
 * are done once for the row, and each value goes straight to its leaf with
 * the same checks, statistics and error messages as the per-value calls.
 * This is the hot path of `pqfeed convert` from CSV.
 */
#ifndef PQF_PARQUET_FLAT_H
#define PQF_PARQUET_FLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/writer.h"

/* A typed value. For byte values p points into the caller's text or into
 * scratch (decimal bytes, UUID). */
typedef struct pqf__val {
    union {
        bool b;
        int32_t i32;
        int64_t i64;
        float f;
        double d;
    } u;
    const void *p;
    size_t n;
    uint8_t scratch[32];
} pqf__val;

/* True if every field under the root is a leaf. */
bool pqf__writer_flat(const pqf_writer *w);
/* Leaf index (0-based, schema order) of a node, or -1 if not a leaf. */
int pqf__writer_leaf(const pqf_writer *w, int node);
/* One row: vals[l] is the value of leaf l in the member of its physical type
 * (u.b, u.i32, u.i64, u.f, u.d, or p/n for byte arrays), unless nulls[l] is
 * nonzero. Only for flat writers (PQF_ERR_INVALID_ARG otherwise). */
pqf_err pqf__writer_flat_row(pqf_writer *w, const pqf__val *vals, const uint8_t *nulls);

/* Levelled leaf writes: the streaming NDJSON shredder knows each value's
 * place in the schema, so between pqf_writer_row_begin and
 * pqf__writer_lv_row_end it gives the leaves their entries directly, without
 * the struct/list frames and per-value context checks of the shredding
 * interface. The entries (and so the bytes) must be those the per-value calls
 * would make: for each leaf, in order, one per value or null, with
 * - pqf__writer_lv_value: a value of leaf l (at the leaf's maximum definition
 *   level), in the member of its physical type, as for pqf__writer_flat_row;
 * - pqf__writer_lv_null: a null entry at definition level def for each of the
 *   leaves [first_leaf, end_leaf) (a field that is null or missing: the
 *   parent's level; an empty list: the list's own);
 * - pqf__writer_lv_repeat: the next entries of leaves [first_leaf, end_leaf)
 *   repeat at level rep (before each list element but the first: the
 *   element's repetition level);
 * and pqf__writer_lv_row_end instead of pqf_writer_row_end. Statistics, page
 * and row group limits and errors are the per-value calls'. Only for a writer
 * whose schema has the source's shape (pqf__writer_lv_matches). */
bool pqf__writer_lv_matches(const pqf_writer *w, const pqf_schema *s);
pqf_err pqf__writer_lv_value(pqf_writer *w, int leaf, const pqf__val *v);
/* The same for the two commonest kinds: bytes of a BYTE_ARRAY or
 * FIXED_LEN_BYTE_ARRAY leaf, and an integer of an INT32 (in range) or INT64 one. */
pqf_err pqf__writer_lv_bytes(pqf_writer *w, int leaf, const void *p, size_t n);
pqf_err pqf__writer_lv_int(pqf_writer *w, int leaf, int64_t v);
pqf_err pqf__writer_lv_null(pqf_writer *w, int first_leaf, int end_leaf, int16_t def);
void pqf__writer_lv_repeat(pqf_writer *w, int first_leaf, int end_leaf, int16_t rep);
pqf_err pqf__writer_lv_row_end(pqf_writer *w);

#endif
