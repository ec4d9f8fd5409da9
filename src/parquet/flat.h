/* Internal: whole rows of a flat schema in one writer call.
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

#endif
