/* Parquet encodings, writer side; see encode.h and Encodings.md. */
#include "parquet/encode.h"

#include <stdlib.h>
#include <string.h>
/* XXH3 inlined (the same values as libxxhash's): most dictionary values are
 * short, and a call per value through the PLT cost more than the hash */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "base/base.h"

#define BUF_LIMIT ((size_t)1 << 40)

static inline uint8_t *put_uleb(uint8_t *o, uint64_t v)
{
    while (v >= 0x80) {
        *o++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *o++ = (uint8_t)v;
    return o;
}

pqf_err pqf__put_uleb(pqf__buf *out, uint64_t v)
{
    pqf_err rc = pqf__buf_reserve(out, 10);
    if (rc != PQF_OK)
        return rc;
    out->len = (size_t)(put_uleb(out->data + out->len, v) - out->data);
    return PQF_OK;
}

/* ---- RLE / bit-packed hybrid ---------------------------------------------- */

/* Bit-pack `total` values (a multiple of 8) of bw <= 32 bits, LSB first; values
 * past n are zero padding. */
#define DEFINE_PACK(NAME, T)                                                                       \
    static uint8_t *NAME(uint8_t *o, const T *v, size_t n, size_t total, int bw)                   \
    {                                                                                              \
        /* whole groups of 8: no bounds test per value */                                          \
        size_t full = n / 8 * 8;                                                                   \
        for (size_t g = 0; g < full; g += 8) {                                                     \
            uint64_t acc = 0;                                                                      \
            int bits = 0;                                                                          \
            for (int k = 0; k < 8; k++) {                                                          \
                acc |= (uint64_t)v[g + (size_t)k] << bits;                                         \
                bits += bw;                                                                        \
                if (bits >= 32) {                                                                  \
                    pqf__store32le(o, (uint32_t)acc);                                              \
                    o += 4;                                                                        \
                    acc >>= 32;                                                                    \
                    bits -= 32;                                                                    \
                }                                                                                  \
            }                                                                                      \
            while (bits > 0) { /* 8 * bw bits is a whole number of bytes */                        \
                *o++ = (uint8_t)acc;                                                               \
                acc >>= 8;                                                                         \
                bits -= 8;                                                                         \
            }                                                                                      \
        }                                                                                          \
        uint64_t acc = 0;                                                                          \
        int bits = 0;                                                                              \
        for (size_t i = full; i < total; i++) {                                                    \
            uint64_t x = i < n ? (uint64_t)v[i] : 0;                                               \
            acc |= x << bits;                                                                      \
            bits += bw;                                                                            \
            while (bits >= 8) {                                                                    \
                *o++ = (uint8_t)acc;                                                               \
                acc >>= 8;                                                                         \
                bits -= 8;                                                                         \
            }                                                                                      \
        }                                                                                          \
        if (bits > 0)                                                                              \
            *o++ = (uint8_t)acc;                                                                   \
        return o;                                                                                  \
    }
DEFINE_PACK(pack_u8, uint8_t)
DEFINE_PACK(pack_u32, uint32_t)

/* Runs of 8 or more equal values become RLE runs; everything else goes into
 * bit-packed groups of 8. A literal stretch that a run interrupts first takes
 * values from the run until it is a whole number of groups, because padding
 * is only allowed at the end of the stream. */
#define DEFINE_RLE(NAME, T, PACK)                                                                  \
    pqf_err NAME(const T *v, size_t n, int bw, pqf__buf *out)                                      \
    {                                                                                              \
        if (bw < 0 || bw > 32)                                                                     \
            return PQF_ERR_INTERNAL;                                                               \
        size_t worst = (n / 8 + 2) * (size_t)(12 + bw) + 16;                                       \
        pqf_err rc = pqf__buf_reserve(out, worst);                                                 \
        if (rc != PQF_OK)                                                                          \
            return rc;                                                                             \
        uint8_t *o = out->data + out->len;                                                         \
        size_t vbytes = (size_t)(bw + 7) / 8;                                                      \
        size_t i = 0, lit = 0;                                                                     \
        while (i < n) {                                                                            \
            T x = v[i];                                                                            \
            size_t j = i + 1;                                                                      \
            while (j < n && v[j] == x)                                                             \
                j++;                                                                               \
            size_t run = j - i;                                                                    \
            if (run >= 8) {                                                                        \
                size_t l = i - lit;                                                                \
                if (l % 8) {                                                                       \
                    size_t k = 8 - l % 8;                                                          \
                    if (k > run)                                                                   \
                        k = run;                                                                   \
                    i += k;                                                                        \
                    run -= k;                                                                      \
                    l += k;                                                                        \
                }                                                                                  \
                if (run >= 8) {                                                                    \
                    if (l) {                                                                       \
                        o = put_uleb(o, (uint64_t)(l / 8) << 1 | 1);                               \
                        o = PACK(o, v + lit, l, l, bw);                                            \
                    }                                                                              \
                    o = put_uleb(o, (uint64_t)run << 1);                                           \
                    for (size_t b = 0; b < vbytes; b++)                                            \
                        *o++ = (uint8_t)((uint64_t)x >> (8 * b));                                  \
                    lit = j;                                                                       \
                }                                                                                  \
            }                                                                                      \
            i = j;                                                                                 \
        }                                                                                          \
        if (lit < n) {                                                                             \
            size_t l = n - lit, groups = (l + 7) / 8;                                              \
            o = put_uleb(o, (uint64_t)groups << 1 | 1);                                            \
            o = PACK(o, v + lit, l, groups * 8, bw);                                               \
        }                                                                                          \
        out->len = (size_t)(o - out->data);                                                        \
        return PQF_OK;                                                                             \
    }
DEFINE_RLE(pqf__rle_encode_u8, uint8_t, pack_u8)
DEFINE_RLE(pqf__rle_encode_u32, uint32_t, pack_u32)

pqf_err pqf__plain_bool(const uint8_t *v, size_t n, pqf__buf *out)
{
    pqf_err rc = pqf__buf_reserve(out, n / 8 + 1);
    if (rc != PQF_OK)
        return rc;
    uint8_t *o = out->data + out->len;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        *o++ = (uint8_t)(v[i] | v[i + 1] << 1 | v[i + 2] << 2 | v[i + 3] << 3 | v[i + 4] << 4 |
                         v[i + 5] << 5 | v[i + 6] << 6 | v[i + 7] << 7);
    if (i < n) {
        uint8_t c = 0;
        for (int k = 0; i < n; i++, k++)
            c |= (uint8_t)(v[i] << k);
        *o++ = c;
    }
    out->len = (size_t)(o - out->data);
    return PQF_OK;
}

/* ---- DELTA_BINARY_PACKED ------------------------------------------------ */

enum { DBP_BLOCK = 128, DBP_MINI = 4, DBP_MINI_VALUES = 32 };

/* Pack 32 values of bw (0..64) bits. */
static uint8_t *pack32_u64(uint8_t *o, const uint64_t *v, int bw)
{
    if (bw == 0)
        return o;
    if (bw <= 56) {
        uint64_t acc = 0;
        int bits = 0;
        for (int i = 0; i < DBP_MINI_VALUES; i++) {
            acc |= v[i] << bits;
            bits += bw;
            while (bits >= 8) {
                *o++ = (uint8_t)acc;
                acc >>= 8;
                bits -= 8;
            }
            /* values keep at most bw bits, so the part shifted out is empty */
        }
        return o;
    }
    /* Wide deltas: bit by bit is slow but only hit by wild data. */
    memset(o, 0, (size_t)bw * 4);
    size_t pos = 0;
    for (int i = 0; i < DBP_MINI_VALUES; i++)
        for (int b = 0; b < bw; b++, pos++)
            if (v[i] >> b & 1)
                o[pos >> 3] |= (uint8_t)(1u << (pos & 7));
    return o + (size_t)bw * 4;
}

/* Shared body: deltas are computed in the value's own width (BITS) with
 * wrapping, as readers add them back. */
#define DEFINE_DBP(NAME, T, UT, BITS)                                                              \
    pqf_err NAME(const T *v, size_t n, pqf__buf *out)                                              \
    {                                                                                              \
        size_t worst = 40 + (n / DBP_BLOCK + 1) * (20 + 4 + DBP_BLOCK * (BITS / 8));               \
        pqf_err rc = pqf__buf_reserve(out, worst);                                                 \
        if (rc != PQF_OK)                                                                          \
            return rc;                                                                             \
        uint8_t *o = out->data + out->len;                                                         \
        o = put_uleb(o, DBP_BLOCK);                                                                \
        o = put_uleb(o, DBP_MINI);                                                                 \
        o = put_uleb(o, n);                                                                        \
        o = put_uleb(o, n ? pqf__zz((int64_t)v[0]) : 0);                                           \
        uint64_t rel[DBP_BLOCK];                                                                   \
        UT d[DBP_BLOCK];                                                                           \
        for (size_t i = 1; i < n;) {                                                               \
            size_t m = n - i < DBP_BLOCK ? n - i : DBP_BLOCK;                                      \
            T mn = 0;                                                                              \
            for (size_t k = 0; k < m; k++) {                                                       \
                d[k] = (UT)((UT)v[i + k] - (UT)v[i + k - 1]);                                      \
                T s = (T)d[k];                                                                     \
                if (k == 0 || s < mn)                                                              \
                    mn = s;                                                                        \
            }                                                                                      \
            for (size_t k = 0; k < DBP_BLOCK; k++)                                                 \
                rel[k] = k < m ? (uint64_t)(UT)(d[k] - (UT)mn) : 0;                                \
            o = put_uleb(o, pqf__zz((int64_t)mn));                                                 \
            uint8_t *widths = o;                                                                   \
            o += DBP_MINI;                                                                         \
            for (int mb = 0; mb < DBP_MINI; mb++) {                                                \
                size_t start = (size_t)mb * DBP_MINI_VALUES;                                       \
                if (start >= m) {                                                                  \
                    widths[mb] = 0;                                                                \
                    continue;                                                                      \
                }                                                                                  \
                uint64_t all = 0;                                                                  \
                for (int k = 0; k < DBP_MINI_VALUES; k++)                                          \
                    all |= rel[start + (size_t)k];                                                 \
                int bw = pqf__bit_width(all);                                                      \
                widths[mb] = (uint8_t)bw;                                                          \
                o = pack32_u64(o, rel + start, bw);                                                \
            }                                                                                      \
            i += m;                                                                                \
        }                                                                                          \
        out->len = (size_t)(o - out->data);                                                        \
        return PQF_OK;                                                                             \
    }

static inline uint64_t pqf__zz(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

DEFINE_DBP(pqf__dbp_encode_i32, int32_t, uint32_t, 32)
DEFINE_DBP(pqf__dbp_encode_i64, int64_t, uint64_t, 64)

pqf_err pqf__dlba_encode(const uint8_t *plain, size_t plain_len, size_t n, pqf__buf *out)
{
    pqf_err rc = PQF_OK;
    int32_t *lens = malloc((n ? n : 1) * sizeof *lens);
    if (!lens)
        return PQF_ERR_NOMEM;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (plain_len - off < 4 || pqf__load32le(plain + off) > plain_len - off - 4) {
            rc = PQF_ERR_CORRUPT;
            goto done;
        }
        uint32_t l = pqf__load32le(plain + off);
        lens[i] = (int32_t)l;
        off += 4 + l;
    }
    PQF_TRY(pqf__dbp_encode_i32(lens, n, out));
    PQF_TRY(pqf__buf_reserve(out, off - 4 * n));
    off = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(out->data + out->len, plain + off + 4, (size_t)lens[i]);
        out->len += (size_t)lens[i];
        off += 4 + (size_t)lens[i];
    }
done:
    free(lens);
    return rc;
}

pqf_err pqf__bss_encode(const uint8_t *v, size_t n, size_t width, pqf__buf *out)
{
    pqf_err rc = pqf__buf_reserve(out, n * width);
    if (rc != PQF_OK)
        return rc;
    uint8_t *o = out->data + out->len;
    if (width == 8) {
        for (size_t i = 0; i < n; i++) {
            const uint8_t *s = v + i * 8;
            for (size_t k = 0; k < 8; k++)
                o[k * n + i] = s[k];
        }
    } else if (width == 4) {
        for (size_t i = 0; i < n; i++) {
            const uint8_t *s = v + i * 4;
            o[i] = s[0];
            o[n + i] = s[1];
            o[2 * n + i] = s[2];
            o[3 * n + i] = s[3];
        }
    } else {
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < width; k++)
                o[k * n + i] = v[i * width + k];
    }
    out->len += n * width;
    return PQF_OK;
}

/* ---- dictionary ------------------------------------------------------------ */

enum { DICT_INIT_SLOTS = 1024 };

void pqf__dict_init(pqf__dict *d, size_t width)
{
    memset(d, 0, sizeof *d);
    d->width = width;
    pqf__buf_init(&d->plain, BUF_LIMIT);
    pqf__buf_init(&d->offs, BUF_LIMIT);
}

void pqf__dict_free(pqf__dict *d)
{
    free(d->slots);
    d->slots = NULL;
    free(d->fslots);
    d->fslots = NULL;
    pqf__buf_free(&d->plain);
    pqf__buf_free(&d->offs);
    d->count = 0;
}

void pqf__dict_reset(pqf__dict *d)
{
    if (d->slots && d->count)
        memset(d->slots, 0, ((size_t)d->mask + 1) * sizeof *d->slots);
    if (d->fslots && d->count)
        memset(d->fslots, 0, ((size_t)d->mask + 1) * sizeof *d->fslots);
    d->count = 0;
    pqf__buf_reset(&d->plain);
    pqf__buf_reset(&d->offs);
}

#define slot_of pqf__dict_slot_of

/* The slots a table grows to (the first table, or twice the last); 0 past the cap. */
static size_t grown_slots(bool have, uint32_t mask)
{
    size_t n = have ? ((size_t)mask + 1) * 2 : DICT_INIT_SLOTS;
    return n > ((size_t)1 << 31) ? 0 : n;
}

/* Load factor up to 3/4: linear probes mostly stay in one cache line. */
static inline bool over_load(const pqf__dict *d)
{
    return (uint64_t)(d->count + 1) * 4 > ((uint64_t)d->mask + 1) * 3;
}

/* The byte values' table, doubled (or first made), each slot placed anew by
 * its tag. */
static pqf_err dict_grow(pqf__dict *d)
{
    size_t nslots = grown_slots(d->slots != NULL, d->mask);
    if (!nslots)
        return PQF_ERR_LIMIT;
    pqf__dict_slot *ns = calloc(nslots, sizeof *ns);
    if (!ns)
        return PQF_ERR_NOMEM;
    uint32_t nmask = (uint32_t)(nslots - 1);
    if (d->slots) {
        for (size_t i = 0; i <= d->mask; i++) {
            if (!d->slots[i].idx)
                continue;
            uint32_t s = slot_of(d->slots[i].key & 0xFFFFFFFF00000000ull, nmask);
            while (ns[s].idx)
                s = (s + 1) & nmask;
            ns[s] = d->slots[i];
        }
    }
    free(d->slots);
    d->slots = ns;
    d->mask = nmask;
    return PQF_OK;
}

static inline pqf_err dict_room(pqf__dict *d)
{
    return !d->slots || over_load(d) ? dict_grow(d) : PQF_OK;
}

static inline uint64_t fixed_entry(const pqf__dict *d, uint32_t i, size_t w)
{
    uint64_t v = 0;
    memcpy(&v, d->plain.data + (size_t)i * w, w); /* little-endian host */
    return v;
}

/* The fixed-width table, doubled (or first made), its entries placed anew
 * from plain. */
static pqf_err fixed_grow(pqf__dict *d, size_t w)
{
    size_t nslots = grown_slots(d->fslots != NULL, d->mask);
    if (!nslots)
        return PQF_ERR_LIMIT;
    uint32_t *ns = calloc(nslots, sizeof *ns);
    if (!ns)
        return PQF_ERR_NOMEM;
    uint32_t nmask = (uint32_t)(nslots - 1);
    for (uint32_t i = 0; i < d->count; i++) {
        uint32_t s = slot_of(fixed_entry(d, i, w), nmask);
        while (ns[s])
            s = (s + 1) & nmask;
        ns[s] = i + 1;
    }
    free(d->fslots);
    d->fslots = ns;
    d->mask = nmask;
    return PQF_OK;
}

#define DEFINE_PUT_FIXED(NAME, T, W)                                                               \
    pqf_err NAME(pqf__dict *d, T v, uint32_t *idx, bool *added)                                    \
    {                                                                                              \
        pqf_err rc = !d->fslots || over_load(d) ? fixed_grow(d, W) : PQF_OK;                       \
        if (rc != PQF_OK)                                                                          \
            return rc;                                                                             \
        uint32_t s = slot_of(v, d->mask);                                                          \
        for (;;) {                                                                                 \
            const uint32_t e = d->fslots[s];                                                       \
            if (!e)                                                                                \
                break;                                                                             \
            if (fixed_entry(d, e - 1, W) == (uint64_t)v) {                                         \
                *idx = e - 1;                                                                      \
                *added = false;                                                                    \
                return PQF_OK;                                                                     \
            }                                                                                      \
            s = (s + 1) & d->mask;                                                                 \
        }                                                                                          \
        rc = pqf__buf_reserve(&d->plain, W);                                                       \
        if (rc != PQF_OK)                                                                          \
            return rc;                                                                             \
        memcpy(d->plain.data + d->plain.len, &v, W); /* little-endian host */                      \
        d->plain.len += W;                                                                         \
        d->fslots[s] = ++d->count;                                                                 \
        *idx = d->count - 1;                                                                       \
        *added = true;                                                                             \
        return PQF_OK;                                                                             \
    }
DEFINE_PUT_FIXED(pqf__dict_put32, uint32_t, 4)
DEFINE_PUT_FIXED(pqf__dict_put64, uint64_t, 8)

const uint8_t *pqf__dict_entry(const pqf__dict *d, uint32_t i, size_t *len)
{
    if (d->width) {
        *len = d->width;
        return d->plain.data + (size_t)i * d->width;
    }
    uint32_t off;
    memcpy(&off, d->offs.data + (size_t)i * 4, 4);
    *len = pqf__load32le(d->plain.data + off);
    return d->plain.data + off + 4;
}

/* Whether entry bytes e[0..n) equal p[0..n). Values up to 32 bytes (codes,
 * names, e-mail addresses) are compared as two or four overlapping words,
 * without a call into memcmp. */
static inline uint64_t load8(const void *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t load4(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline bool bytes_equal(const uint8_t *e, const void *pv, size_t n)
{
    const uint8_t *p = pv;
    if (n < 4) {
        for (size_t i = 0; i < n; i++)
            if (e[i] != p[i])
                return false;
        return true;
    }
    if (n < 8)
        return ((load4(e) ^ load4(p)) | (load4(e + n - 4) ^ load4(p + n - 4))) == 0;
    if (n <= 16)
        return ((load8(e) ^ load8(p)) | (load8(e + n - 8) ^ load8(p + n - 8))) == 0;
    if (n > 16 && n <= 32)
        return ((load8(e) ^ load8(p)) | (load8(e + 8) ^ load8(p + 8)) |
                (load8(e + n - 16) ^ load8(p + n - 16)) | (load8(e + n - 8) ^ load8(p + n - 8))) ==
               0;
    return memcmp(e, p, n) == 0;
}

static inline __attribute__((always_inline)) pqf_err
dict_put_hashed(pqf__dict *d, const void *p, size_t n, uint64_t h, uint32_t *idx, bool *added,
                uint32_t **aux)
{
    pqf_err rc = dict_room(d);
    if (rc != PQF_OK)
        return rc;
    uint64_t tag = h & 0xFFFFFFFF00000000ull;
    uint32_t s = slot_of(tag, d->mask);
    for (;;) {
        pqf__dict_slot *sl = &d->slots[s];
        if (!sl->idx)
            break;
        /* Only a slot whose tag matches touches the entry (about one probe in
         * 2^32 of the others). */
        if ((sl->key & 0xFFFFFFFF00000000ull) == tag) {
            const uint8_t *e;
            size_t len;
            if (d->width) {
                e = d->plain.data + (size_t)(sl->idx - 1) * d->width;
                len = d->width;
            } else {
                e = d->plain.data + (uint32_t)sl->key;
                len = pqf__load32le(e);
                e += 4;
            }
            if (len == n && bytes_equal(e, p, n)) {
                *idx = sl->idx - 1;
                *added = false;
                *aux = &sl->aux;
                return PQF_OK;
            }
        }
        s = (s + 1) & d->mask;
    }
    uint32_t off = 0;
    if (d->width) {
        if (n != d->width)
            return PQF_ERR_INTERNAL;
        rc = pqf__buf_append(&d->plain, p, n);
    } else {
        if (n > UINT32_MAX || d->plain.len > UINT32_MAX - 4 - n)
            return PQF_ERR_LIMIT;
        off = (uint32_t)d->plain.len;
        rc = pqf__buf_reserve(&d->plain, 4 + n);
        if (rc == PQF_OK)
            rc = pqf__buf_append(&d->offs, &off, 4);
        if (rc == PQF_OK) {
            pqf__store32le(d->plain.data + d->plain.len, (uint32_t)n);
            if (n)
                memcpy(d->plain.data + d->plain.len + 4, p, n);
            d->plain.len += 4 + n;
        }
    }
    if (rc != PQF_OK)
        return rc;
    d->slots[s].key = tag | off;
    d->slots[s].aux = UINT32_MAX;
    d->slots[s].idx = ++d->count;
    *idx = d->count - 1;
    *added = true;
    *aux = &d->slots[s].aux;
    return PQF_OK;
}

pqf_err pqf__dict_put_hashed(pqf__dict *d, const void *p, size_t n, uint64_t h, uint32_t *idx,
                             bool *added, uint32_t **aux)
{
    return dict_put_hashed(d, p, n, h, idx, added, aux);
}

pqf_err pqf__dict_put_bytes(pqf__dict *d, const void *p, size_t n, uint32_t *idx, bool *added,
                            uint32_t **aux)
{
    return dict_put_hashed(d, p, n, XXH3_64bits(p, n), idx, added, aux);
}
