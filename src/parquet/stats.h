/* Internal: column statistics (min, max, null and NaN counts) in the sort
 * order parquet.thrift's ColumnOrder gives each type: signed or unsigned
 * integers, floats with NaN left out, unsigned byte-wise comparison for
 * strings and binary, signed big-endian for FIXED_LEN_BYTE_ARRAY decimals.
 *
 * The update functions are inline: the writer calls them for every value.
 */
#ifndef PQF_PARQUET_STATS_H
#define PQF_PARQUET_STATS_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pqfeed/schema.h"

typedef enum pqf__order {
    PQF__ORD_BOOL,
    PQF__ORD_I32, /* signed 32-bit (INT32, DATE, TIME millis, DECIMAL) */
    PQF__ORD_U32, /* INT(8/16/32, unsigned) */
    PQF__ORD_I64,
    PQF__ORD_U64,
    PQF__ORD_FLOAT,
    PQF__ORD_DOUBLE,
    PQF__ORD_BYTES,  /* unsigned byte-wise (BYTE_ARRAY, FLBA) */
    PQF__ORD_DECIMAL /* signed big-endian two's complement (FLBA DECIMAL) */
} pqf__order;

typedef struct pqf__stats {
    pqf__order ord;
    bool has; /* min/max hold a value */
    union {
        int64_t i;
        uint64_t u;
        double d;
    } min, max;
    pqf__buf bmin, bmax; /* byte orders */
    uint64_t pmin, pmax; /* BYTES: their first 8 bytes, big-endian, zero-padded */
    uint64_t nulls;
    uint64_t nans;
} pqf__stats;

/* The order for a leaf's physical and logical type. */
pqf__order pqf__order_for(pqf_physical t, const pqf_logical *lt);

void pqf__stats_init(pqf__stats *s, pqf__order ord);
void pqf__stats_free(pqf__stats *s);
/* Forget values and counts, keep allocations. */
void pqf__stats_reset(pqf__stats *s);

/* Signed orders (BOOL, I32, I64). */
static inline void pqf__stats_int(pqf__stats *s, int64_t v)
{
    if (!s->has) {
        s->min.i = s->max.i = v;
        s->has = true;
        return;
    }
    if (v < s->min.i)
        s->min.i = v;
    if (v > s->max.i)
        s->max.i = v;
}

/* Unsigned orders (U32 zero-extended, U64). */
static inline void pqf__stats_uint(pqf__stats *s, uint64_t v)
{
    if (!s->has) {
        s->min.u = s->max.u = v;
        s->has = true;
        return;
    }
    if (v < s->min.u)
        s->min.u = v;
    if (v > s->max.u)
        s->max.u = v;
}

/* FLOAT (widened exactly) and DOUBLE. NaN only counts. */
static inline void pqf__stats_real(pqf__stats *s, double v)
{
    if (isnan(v)) {
        s->nans++;
        return;
    }
    if (!s->has) {
        s->min.d = s->max.d = v;
        s->has = true;
        return;
    }
    if (v < s->min.d)
        s->min.d = v;
    if (v > s->max.d)
        s->max.d = v;
}

/* BYTES and DECIMAL orders. PQF_ERR_NOMEM if a copy fails. */
pqf_err pqf__stats_bytes(pqf__stats *s, const void *p, size_t n);

/* Compare two encoded values (as pqf__stats_encode produces) in order ord. */
int pqf__stats_cmp(pqf__order ord, const uint8_t *a, size_t na, const uint8_t *b, size_t nb);

/* Fold src into dst (same order). */
pqf_err pqf__stats_merge(pqf__stats *dst, const pqf__stats *src);

/* The min and max as Statistics.min_value/max_value bytes (PLAIN, no length
 * prefix). BYTE orders longer than max_bytes are truncated when truncate is
 * set: the min to a prefix, the max to a prefix with its last byte rounded up
 * (at a character boundary, staying valid UTF-8, when utf8 is set); a max
 * that cannot be rounded up is left out. Zero floats follow parquet.thrift:
 * min -0.0, max +0.0. *has_min / *has_max say whether each is written and
 * *min_exact / *max_exact whether it is the actual value. */
typedef struct pqf__stats_enc {
    bool has_min, has_max, min_exact, max_exact;
} pqf__stats_enc;
pqf_err pqf__stats_encode(const pqf__stats *s, bool truncate, bool utf8, size_t max_bytes,
                          pqf__buf *min, pqf__buf *max, pqf__stats_enc *e);

#endif
