/* Column statistics; see stats.h. */
#include "parquet/stats.h"

#include <string.h>

#include "base/base.h"

#define STAT_LIMIT ((size_t)1 << 31)

pqf__order pqf__order_for(pqf_physical t, const pqf_logical *lt)
{
    bool is_unsigned = lt && lt->kind == PQF_LT_INT && !lt->is_signed;
    switch (t) {
    case PQF_BOOLEAN:
        return PQF__ORD_BOOL;
    case PQF_INT32:
        return is_unsigned ? PQF__ORD_U32 : PQF__ORD_I32;
    case PQF_INT64:
        return is_unsigned ? PQF__ORD_U64 : PQF__ORD_I64;
    case PQF_FLOAT:
        return PQF__ORD_FLOAT;
    case PQF_DOUBLE:
        return PQF__ORD_DOUBLE;
    case PQF_FIXED_LEN_BYTE_ARRAY:
        return lt && lt->kind == PQF_LT_DECIMAL ? PQF__ORD_DECIMAL : PQF__ORD_BYTES;
    default:
        return PQF__ORD_BYTES;
    }
}

void pqf__stats_init(pqf__stats *s, pqf__order ord)
{
    memset(s, 0, sizeof *s);
    s->ord = ord;
    pqf__buf_init(&s->bmin, STAT_LIMIT);
    pqf__buf_init(&s->bmax, STAT_LIMIT);
}

void pqf__stats_free(pqf__stats *s)
{
    pqf__buf_free(&s->bmin);
    pqf__buf_free(&s->bmax);
}

void pqf__stats_reset(pqf__stats *s)
{
    s->has = false;
    s->nulls = s->nans = 0;
    s->min.u = s->max.u = 0;
    pqf__buf_reset(&s->bmin);
    pqf__buf_reset(&s->bmax);
}

static int cmp_unsigned_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    size_t n = na < nb ? na : nb;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return na < nb ? -1 : na > nb;
}

/* Big-endian two's complement of possibly different lengths: compare the
 * sign first, then sign-extend the shorter one. */
static int cmp_decimal(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    bool nega = na && (a[0] & 0x80), negb = nb && (b[0] & 0x80);
    if (nega != negb)
        return nega ? -1 : 1;
    uint8_t ext = nega ? 0xFF : 0x00;
    size_t n = na > nb ? na : nb;
    for (size_t i = 0; i < n; i++) {
        uint8_t x = i + na >= n ? a[i + na - n] : ext;
        uint8_t y = i + nb >= n ? b[i + nb - n] : ext;
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

int pqf__stats_cmp(pqf__order ord, const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    switch (ord) {
    case PQF__ORD_BOOL:
        return (na ? a[0] : 0) - (nb ? b[0] : 0);
    case PQF__ORD_I32: {
        int32_t x = (int32_t)pqf__load32le(a), y = (int32_t)pqf__load32le(b);
        return x < y ? -1 : x > y;
    }
    case PQF__ORD_U32: {
        uint32_t x = pqf__load32le(a), y = pqf__load32le(b);
        return x < y ? -1 : x > y;
    }
    case PQF__ORD_I64: {
        int64_t x = (int64_t)pqf__load64le(a), y = (int64_t)pqf__load64le(b);
        return x < y ? -1 : x > y;
    }
    case PQF__ORD_U64: {
        uint64_t x = pqf__load64le(a), y = pqf__load64le(b);
        return x < y ? -1 : x > y;
    }
    case PQF__ORD_FLOAT: {
        float x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return x < y ? -1 : x > y;
    }
    case PQF__ORD_DOUBLE: {
        double x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return x < y ? -1 : x > y;
    }
    case PQF__ORD_DECIMAL:
        return cmp_decimal(a, na, b, nb);
    case PQF__ORD_BYTES:
        break;
    }
    return cmp_unsigned_bytes(a, na, b, nb);
}

static inline int cmp_b(pqf__order ord, const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    return ord == PQF__ORD_DECIMAL ? cmp_decimal(a, na, b, nb) : cmp_unsigned_bytes(a, na, b, nb);
}

static pqf_err set_buf(pqf__buf *b, const void *p, size_t n)
{
    pqf__buf_reset(b);
    return pqf__buf_append(b, p, n);
}

/* The first 8 bytes of p[0..n) as a big-endian number, zeros past n: when
 * two values' prefixes differ, they are ordered as the values are (a value
 * that ends first has 0 where the other has a byte, and is the lesser unless
 * that byte is 0, which makes the prefixes equal). */
static inline uint64_t prefix8(const void *p, size_t n)
{
    uint8_t b[8] = {0};
    if (n) /* an empty value may come without bytes (p NULL, from an empty buffer) */
        memcpy(b, p, n < 8 ? n : 8);
    uint64_t v;
    memcpy(&v, b, 8);
    return __builtin_bswap64(v);
}

pqf_err pqf__stats_bytes(pqf__stats *s, const void *p, size_t n)
{
    pqf_err rc = PQF_OK;
    const bool bytes = s->ord == PQF__ORD_BYTES;
    const uint64_t k = bytes ? prefix8(p, n) : 0;
    if (!s->has) {
        rc = set_buf(&s->bmin, p, n);
        if (rc == PQF_OK)
            rc = set_buf(&s->bmax, p, n);
        s->has = rc == PQF_OK;
        s->pmin = s->pmax = k;
        return rc;
    }
    /* strictly between the two by their prefixes (most values): no change */
    if (bytes && k > s->pmin && k < s->pmax)
        return PQF_OK;
    if (cmp_b(s->ord, p, n, s->bmin.data, s->bmin.len) < 0) {
        rc = set_buf(&s->bmin, p, n);
        s->pmin = k;
    } else if (cmp_b(s->ord, p, n, s->bmax.data, s->bmax.len) > 0) {
        rc = set_buf(&s->bmax, p, n);
        s->pmax = k;
    }
    return rc;
}

pqf_err pqf__stats_merge(pqf__stats *dst, const pqf__stats *src)
{
    pqf_err rc = PQF_OK;
    dst->nulls += src->nulls;
    dst->nans += src->nans;
    if (!src->has)
        return PQF_OK;
    switch (src->ord) {
    case PQF__ORD_BOOL:
    case PQF__ORD_I32:
    case PQF__ORD_I64:
        pqf__stats_int(dst, src->min.i);
        pqf__stats_int(dst, src->max.i);
        break;
    case PQF__ORD_U32:
    case PQF__ORD_U64:
        pqf__stats_uint(dst, src->min.u);
        pqf__stats_uint(dst, src->max.u);
        break;
    case PQF__ORD_FLOAT:
    case PQF__ORD_DOUBLE:
        pqf__stats_real(dst, src->min.d);
        pqf__stats_real(dst, src->max.d);
        break;
    case PQF__ORD_BYTES:
    case PQF__ORD_DECIMAL:
        rc = pqf__stats_bytes(dst, src->bmin.data, src->bmin.len);
        if (rc == PQF_OK)
            rc = pqf__stats_bytes(dst, src->bmax.data, src->bmax.len);
        break;
    }
    return rc;
}

static size_t utf8_boundary(const uint8_t *p, size_t len)
{
    while (len > 0 && (p[len] & 0xC0) == 0x80)
        len--;
    return len;
}

pqf_err pqf__stats_encode(const pqf__stats *s, bool truncate, bool utf8, size_t max_bytes,
                          pqf__buf *min, pqf__buf *max, pqf__stats_enc *e)
{
    pqf_err rc = PQF_OK;
    uint8_t a[8], b[8];
    size_t n = 0;
    memset(e, 0, sizeof *e);
    pqf__buf_reset(min);
    pqf__buf_reset(max);
    if (!s->has)
        return PQF_OK;
    e->has_min = e->has_max = e->min_exact = e->max_exact = true;
    switch (s->ord) {
    case PQF__ORD_BOOL:
        a[0] = (uint8_t)s->min.i;
        b[0] = (uint8_t)s->max.i;
        n = 1;
        break;
    case PQF__ORD_I32:
    case PQF__ORD_U32:
        pqf__store32le(a, (uint32_t)s->min.u);
        pqf__store32le(b, (uint32_t)s->max.u);
        n = 4;
        break;
    case PQF__ORD_I64:
    case PQF__ORD_U64:
        pqf__store64le(a, s->min.u);
        pqf__store64le(b, s->max.u);
        n = 8;
        break;
    case PQF__ORD_FLOAT: {
        float x = (float)s->min.d, y = (float)s->max.d;
        if (x == 0)
            x = -0.0f;
        if (y == 0)
            y = 0.0f;
        memcpy(a, &x, 4);
        memcpy(b, &y, 4);
        n = 4;
        break;
    }
    case PQF__ORD_DOUBLE: {
        double x = s->min.d, y = s->max.d;
        if (x == 0)
            x = -0.0;
        if (y == 0)
            y = 0.0;
        memcpy(a, &x, 8);
        memcpy(b, &y, 8);
        n = 8;
        break;
    }
    case PQF__ORD_DECIMAL:
        PQF_TRY(pqf__buf_append(min, s->bmin.data, s->bmin.len));
        PQF_TRY(pqf__buf_append(max, s->bmax.data, s->bmax.len));
        goto done;
    case PQF__ORD_BYTES: {
        const uint8_t *lo = s->bmin.data, *hi = s->bmax.data;
        size_t nlo = s->bmin.len, nhi = s->bmax.len;
        if (truncate && nlo > max_bytes) {
            nlo = utf8 ? utf8_boundary(lo, max_bytes) : max_bytes;
            e->min_exact = false;
        }
        PQF_TRY(pqf__buf_append(min, lo, nlo));
        if (truncate && nhi > max_bytes) {
            size_t l = utf8 ? utf8_boundary(hi, max_bytes) : max_bytes;
            e->max_exact = false;
            /* Round up: bump the last byte that can be bumped, drop what
             * follows. For UTF-8 only an ASCII byte below 0x7F is bumped so
             * the result stays valid. */
            size_t i = l;
            while (i > 0) {
                uint8_t c = hi[i - 1];
                if (utf8 ? c < 0x7F : c < 0xFF)
                    break;
                i--;
            }
            if (i == 0) {
                e->has_max = false;
                goto done;
            }
            PQF_TRY(pqf__buf_append(max, hi, i));
            max->data[i - 1]++;
        } else {
            PQF_TRY(pqf__buf_append(max, hi, nhi));
        }
        goto done;
    }
    }
    PQF_TRY(pqf__buf_append(min, a, n));
    PQF_TRY(pqf__buf_append(max, b, n));
done:
    return rc;
}
