/* Parquet encodings, decoding side; see decode.h. Written by hand: no C
 * library packaged here decodes Parquet encodings on untrusted input (Arrow's
 * C++ is a C++ dependency of its own). */
#include "parquet/decode.h"

#include <string.h>

#include "base/base.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pqfeed's decoders assume a little-endian host"
#endif

size_t pqf__value_size(pqf_physical t)
{
    switch (t) {
    case PQF_BOOLEAN:
        return 1;
    case PQF_INT32:
    case PQF_FLOAT:
        return 4;
    case PQF_INT64:
    case PQF_DOUBLE:
        return 8;
    case PQF_INT96:
        return 12;
    default:
        return sizeof(pqf_byteview);
    }
}

int pqf__bit_width(uint32_t max)
{
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

static pqf_err corrupt(pqf_error *err, const char *what)
{
    return pqf_error_set(err, PQF_ERR_CORRUPT, "%s", what);
}

static pqf_err uleb(const uint8_t **pp, const uint8_t *end, uint64_t *out, pqf_error *err)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (p >= end)
            return corrupt(err, "truncated varint");
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            *pp = p;
            return PQF_OK;
        }
    }
    return corrupt(err, "varint too long");
}

/* Load up to 8 bytes at p (fewer when near end), little-endian. */
static inline uint64_t load_upto8(const uint8_t *p, const uint8_t *end)
{
    if (end - p >= 8)
        return pqf__load64le(p);
    uint8_t tmp[8] = {0};
    if (end > p)
        memcpy(tmp, p, (size_t)(end - p));
    return pqf__load64le(tmp);
}

/* Value i of width bw (<= 64) from LSB-first packed bits; caller ensured the
 * bits lie within [base, end). */
static inline uint64_t unpack_one(const uint8_t *base, const uint8_t *end, uint64_t i, int bw)
{
    uint64_t bit = i * (uint64_t)bw;
    const uint8_t *p = base + (bit >> 3);
    int shift = (int)(bit & 7);
    uint64_t v = load_upto8(p, end) >> shift;
    if (shift + bw > 64)
        v |= load_upto8(p + 8, end) << (64 - shift);
    return bw == 64 ? v : v & ((UINT64_C(1) << bw) - 1);
}

#if defined(__GNUC__)
#define PQF_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define PQF_ALWAYS_INLINE inline
#endif

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8); /* little-endian host, checked above */
    return v;
}

/* Bit-packed values come in groups of 8 that fill exactly W bytes. With W a
 * constant (one instantiation per width, the loop unrolled) every shift and
 * offset is a constant: one unaligned load, shift and mask per value, no
 * branch. Each load reads 8 bytes, up to 7 past the group: callers only use
 * these when at least 8 readable bytes follow the last group. W <= 56 so a
 * value with its bit shift fits one 64-bit load. */
static PQF_ALWAYS_INLINE void groups32_w(const uint8_t *p, const int W, uint32_t *out, size_t ng)
{
    const uint64_t mask = (UINT64_C(1) << W) - 1;
    for (size_t g = 0; g < ng; g++, p += W, out += 8) {
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            out[j] = (uint32_t)((load64(p + (j * W) / 8) >> ((j * W) % 8)) & mask);
    }
}

static PQF_ALWAYS_INLINE void groups64_w(const uint8_t *p, const int W, uint64_t *out, size_t ng)
{
    const uint64_t mask = (UINT64_C(1) << W) - 1;
    for (size_t g = 0; g < ng; g++, p += W, out += 8) {
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            out[j] = (load64(p + (j * W) / 8) >> ((j * W) % 8)) & mask;
    }
}

#define PQF_W8(F, b) F(b + 1) F(b + 2) F(b + 3) F(b + 4) F(b + 5) F(b + 6) F(b + 7) F(b + 8)

/* ng groups of 8 values of width bw (1..32). */
static void groups32(const uint8_t *p, int bw, uint32_t *out, size_t ng)
{
    switch (bw) {
#define PQF_G32(W)                                                                                 \
    case W:                                                                                        \
        groups32_w(p, W, out, ng);                                                                 \
        break;
        PQF_W8(PQF_G32, 0)
        PQF_W8(PQF_G32, 8)
        PQF_W8(PQF_G32, 16)
        PQF_W8(PQF_G32, 24)
#undef PQF_G32
    default:
        memset(out, 0, ng * 8 * sizeof *out);
    }
}

/* ng groups of 8 values of width bw (1..56). */
static void groups64(const uint8_t *p, int bw, uint64_t *out, size_t ng)
{
    switch (bw) {
#define PQF_G64(W)                                                                                 \
    case W:                                                                                        \
        groups64_w(p, W, out, ng);                                                                 \
        break;
        PQF_W8(PQF_G64, 0)
        PQF_W8(PQF_G64, 8)
        PQF_W8(PQF_G64, 16)
        PQF_W8(PQF_G64, 24)
        PQF_W8(PQF_G64, 32)
        PQF_W8(PQF_G64, 40)
        PQF_W8(PQF_G64, 48)
#undef PQF_G64
    default:
        memset(out, 0, ng * 8 * sizeof *out);
    }
}

/* Unpack n values of width bw (<= 32) starting at value index first. The
 * values lie within [base, end); loads stay within [base, end) too. */
static void unpack32(const uint8_t *base, const uint8_t *end, uint32_t first, int bw,
                     uint32_t *out, size_t n)
{
    if (bw == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    uint64_t mask = (UINT64_C(1) << bw) - 1;
    uint64_t bit = (uint64_t)first * (uint64_t)bw;
    size_t i = 0;
    /* head: up to the next group boundary */
    for (; i < n && ((first + i) & 7); i++, bit += (uint64_t)bw) {
        const uint8_t *p = base + (bit >> 3);
        out[i] = (uint32_t)((load_upto8(p, end) >> (bit & 7)) & mask);
    }
    /* whole groups with 8 bytes of slack after them */
    if (n - i >= 8) {
        const uint8_t *p = base + (bit >> 3);
        size_t ng = (n - i) / 8, room = (size_t)(end - p);
        size_t fit = room >= 8 ? (room - 8) / (size_t)bw : 0;
        ng = PQF_MIN(ng, fit);
        groups32(p, bw, out + i, ng);
        i += ng * 8;
        bit += (uint64_t)ng * 8 * (uint64_t)bw;
    }
    for (; i < n; i++, bit += (uint64_t)bw) {
        const uint8_t *p = base + (bit >> 3);
        out[i] = (uint32_t)((load_upto8(p, end) >> (bit & 7)) & mask);
    }
}

/* ---- RLE / bit-packed hybrid ---------------------------------------------------- */

pqf_err pqf__rle_init(pqf__rle *r, const uint8_t *p, size_t len, int bit_width, pqf_error *err)
{
    memset(r, 0, sizeof *r);
    if (bit_width < 0 || bit_width > 32)
        return pqf_error_set(err, PQF_ERR_CORRUPT, "RLE bit width %d out of range", bit_width);
    r->p = p;
    r->end = p + len;
    r->bit_width = bit_width;
    return PQF_OK;
}

static pqf_err rle_next_run(pqf__rle *r, pqf_error *err)
{
    uint64_t h = 0;
    pqf_err rc = uleb(&r->p, r->end, &h, err);
    if (rc != PQF_OK)
        return pqf_error_set(err, PQF_ERR_CORRUPT, "RLE data exhausted");
    if (h & 1) {
        uint64_t groups = h >> 1;
        uint64_t values = groups * 8;
        size_t avail = (size_t)(r->end - r->p);
        uint64_t bytes = groups * (uint64_t)r->bit_width;
        if (groups > UINT32_MAX / 8)
            return corrupt(err, "RLE bit-packed run too long");
        if (bytes > avail) {
            /* A truncated last run: keep the values that are there. */
            values = r->bit_width ? (uint64_t)avail * 8 / (uint64_t)r->bit_width : values;
            bytes = avail;
        }
        r->bp = r->p;
        r->bp_bytes = (size_t)bytes;
        r->bp_left = (uint32_t)values;
        r->bp_pos = 0;
        r->p += bytes;
    } else {
        uint64_t count = h >> 1;
        int nb = (r->bit_width + 7) / 8;
        if (count > UINT32_MAX)
            return corrupt(err, "RLE run too long");
        if (r->end - r->p < nb)
            return corrupt(err, "RLE run value truncated");
        uint32_t v = 0;
        for (int i = 0; i < nb; i++)
            v |= (uint32_t)r->p[i] << (8 * i);
        r->p += nb;
        if (r->bit_width < 32 && (v >> r->bit_width) != 0)
            return corrupt(err, "RLE run value wider than the bit width");
        r->rle_left = (uint32_t)count;
        r->rle_value = v;
    }
    return PQF_OK;
}

pqf_err pqf__rle_get(pqf__rle *r, uint32_t *out, size_t n, pqf_error *err)
{
    size_t got = 0;
    while (got < n) {
        if (r->rle_left) {
            size_t k = PQF_MIN((size_t)r->rle_left, n - got);
            uint32_t v = r->rle_value;
            for (size_t i = 0; i < k; i++)
                out[got + i] = v;
            r->rle_left -= (uint32_t)k;
            got += k;
        } else if (r->bp_left) {
            size_t k = PQF_MIN((size_t)r->bp_left, n - got);
            /* the run's values lie in its bp_bytes; loads may read on to
             * the end of the RLE data, which is just as readable */
            unpack32(r->bp, r->end, r->bp_pos, r->bit_width, out + got, k);
            r->bp_pos += (uint32_t)k;
            r->bp_left -= (uint32_t)k;
            got += k;
        } else {
            pqf_err rc = rle_next_run(r, err);
            if (rc != PQF_OK)
                return rc;
        }
    }
    return PQF_OK;
}

pqf_err pqf__rle_levels(pqf__rle *r, int16_t *out, size_t n, int16_t max_level, pqf_error *err)
{
    uint32_t tmp[512];
    size_t done_n = 0;
    while (done_n < n) {
        size_t k = PQF_MIN(n - done_n, PQF_ARRAY_LEN(tmp));
        pqf_err rc = pqf__rle_get(r, tmp, k, err);
        if (rc != PQF_OK)
            return rc;
        uint32_t bad = 0;
        for (size_t i = 0; i < k; i++) {
            bad |= tmp[i] > (uint32_t)max_level;
            out[done_n + i] = (int16_t)tmp[i];
        }
        if (bad)
            return pqf_error_set(err, PQF_ERR_CORRUPT, "level above the maximum %d", max_level);
        done_n += k;
    }
    return PQF_OK;
}

pqf_err pqf__bitpacked_levels(const uint8_t *p, size_t len, int bit_width, int16_t *out, size_t n,
                              int16_t max_level, size_t *used, pqf_error *err)
{
    if (bit_width < 0 || bit_width > 16)
        return pqf_error_set(err, PQF_ERR_CORRUPT, "BIT_PACKED bit width %d out of range",
                             bit_width);
    uint64_t bits = (uint64_t)n * (uint64_t)bit_width;
    uint64_t bytes = (bits + 7) / 8;
    if (bytes > len)
        return corrupt(err, "BIT_PACKED levels truncated");
    for (size_t i = 0; i < n; i++) {
        uint32_t v = 0;
        uint64_t bit = (uint64_t)i * (uint64_t)bit_width;
        for (int b = 0; b < bit_width; b++, bit++)
            v = (v << 1) | ((p[bit >> 3] >> (7 - (bit & 7))) & 1u);
        if (v > (uint32_t)max_level)
            return pqf_error_set(err, PQF_ERR_CORRUPT, "level above the maximum %d", max_level);
        out[i] = (int16_t)v;
    }
    *used = (size_t)bytes;
    return PQF_OK;
}

/* ---- PLAIN ---------------------------------------------------------------------- */

pqf_err pqf__plain_decode(pqf_physical t, int32_t type_length, const uint8_t *p, size_t len,
                          void *out, size_t n, size_t *used, pqf_error *err)
{
    switch (t) {
    case PQF_BOOLEAN: {
        if ((n + 7) / 8 > len)
            return corrupt(err, "PLAIN booleans truncated");
        uint8_t *o = out;
        for (size_t i = 0; i < n; i++)
            o[i] = (p[i >> 3] >> (i & 7)) & 1;
        *used = (n + 7) / 8;
        return PQF_OK;
    }
    case PQF_INT32:
    case PQF_INT64:
    case PQF_INT96:
    case PQF_FLOAT:
    case PQF_DOUBLE: {
        size_t w = pqf__value_size(t);
        if (n > len / w)
            return corrupt(err, "PLAIN values truncated");
        if (n)
            memcpy(out, p, n * w);
        *used = n * w;
        return PQF_OK;
    }
    case PQF_BYTE_ARRAY: {
        pqf_byteview *o = out;
        size_t pos = 0;
        for (size_t i = 0; i < n; i++) {
            if (len - pos < 4)
                return corrupt(err, "PLAIN byte array length truncated");
            uint32_t l = pqf__load32le(p + pos);
            pos += 4;
            if (l > len - pos)
                return corrupt(err, "PLAIN byte array past the end of the page");
            o[i].ptr = p + pos;
            o[i].len = l;
            pos += l;
        }
        *used = pos;
        return PQF_OK;
    }
    case PQF_FIXED_LEN_BYTE_ARRAY: {
        if (type_length <= 0)
            return corrupt(err, "FIXED_LEN_BYTE_ARRAY without a positive length");
        size_t w = (size_t)type_length;
        if (n > len / w)
            return corrupt(err, "PLAIN fixed-length values truncated");
        pqf_byteview *o = out;
        for (size_t i = 0; i < n; i++) {
            o[i].ptr = p + i * w;
            o[i].len = w;
        }
        *used = n * w;
        return PQF_OK;
    }
    }
    return corrupt(err, "unknown physical type");
}

/* ---- dictionary ------------------------------------------------------------------- */

pqf_err pqf__dict_decode(pqf_physical t, const void *dict, uint32_t ndict, const uint8_t *p,
                         size_t len, uint32_t *idx, void *out, size_t n, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__rle r;
    if (n == 0)
        return PQF_OK;
    if (len < 1)
        return corrupt(err, "dictionary indices missing");
    int bw = p[0];
    if (bw > 32)
        return pqf_error_set(err, PQF_ERR_CORRUPT, "dictionary index bit width %d > 32", bw);
    rc = pqf__rle_init(&r, p + 1, len - 1, bw, err);
    if (rc != PQF_OK)
        return rc;
    rc = pqf__rle_get(&r, idx, n, err);
    if (rc != PQF_OK)
        return rc;
    uint32_t maxi = 0;
    for (size_t i = 0; i < n; i++)
        maxi = idx[i] > maxi ? idx[i] : maxi;
    if (maxi >= ndict)
        return pqf_error_set(err, PQF_ERR_CORRUPT,
                             "dictionary index %u out of range (dictionary has %u values)", maxi,
                             ndict);
    switch (pqf__value_size(t)) {
    case 1:
        for (size_t i = 0; i < n; i++)
            ((uint8_t *)out)[i] = ((const uint8_t *)dict)[idx[i]];
        break;
    case 4:
        for (size_t i = 0; i < n; i++)
            ((uint32_t *)out)[i] = ((const uint32_t *)dict)[idx[i]];
        break;
    case 8:
        for (size_t i = 0; i < n; i++)
            ((uint64_t *)out)[i] = ((const uint64_t *)dict)[idx[i]];
        break;
    case 12:
        for (size_t i = 0; i < n; i++)
            memcpy((uint8_t *)out + 12 * i, (const uint8_t *)dict + 12 * (size_t)idx[i], 12);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            ((pqf_byteview *)out)[i] = ((const pqf_byteview *)dict)[idx[i]];
    }
    return PQF_OK;
}

/* ---- DELTA_BINARY_PACKED ---------------------------------------------------------- */

pqf_err pqf__delta_binary_decode(const uint8_t *p, size_t len, bool is32, void *out, size_t cap,
                                 size_t *count, size_t *used, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    const uint8_t *s = p, *end = p + len;
    uint64_t block = 0, minis = 0, total = 0, first = 0;
    PQF_TRY(uleb(&s, end, &block, err));
    PQF_TRY(uleb(&s, end, &minis, err));
    PQF_TRY(uleb(&s, end, &total, err));
    PQF_TRY(uleb(&s, end, &first, err));
    if (block == 0 || block % 128 != 0 || block > (1u << 20))
        PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_BINARY_PACKED block size %llu invalid",
                 (unsigned long long)block);
    if (minis == 0 || minis > block || block % minis != 0 || (block / minis) % 32 != 0)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_BINARY_PACKED miniblock count %llu invalid",
                 (unsigned long long)minis);
    if (total > cap)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_BINARY_PACKED announces %llu values, %zu expected",
                 (unsigned long long)total, cap);
    {
        uint64_t per_mini = block / minis;
        uint64_t v = (uint64_t)((int64_t)(first >> 1) ^ -(int64_t)(first & 1));
        int32_t *o32 = out;
        int64_t *o64 = out;
        size_t k = 0;
        int maxw = is32 ? 32 : 64;
        if (total > 0) {
            if (is32)
                o32[k++] = (int32_t)(uint32_t)v;
            else
                o64[k++] = (int64_t)v;
        }
        while (k < total) {
            uint64_t zz = 0;
            PQF_TRY(uleb(&s, end, &zz, err));
            uint64_t min_delta = (uint64_t)((int64_t)(zz >> 1) ^ -(int64_t)(zz & 1));
            if ((uint64_t)(end - s) < minis)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_BINARY_PACKED bit widths truncated");
            const uint8_t *widths = s;
            s += minis;
            for (uint64_t m = 0; m < minis && k < total; m++) {
                int bw = widths[m];
                if (bw > maxw)
                    PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_BINARY_PACKED bit width %d > %d", bw,
                             maxw);
                uint64_t bytes = per_mini * (uint64_t)bw / 8;
                size_t avail = (size_t)(end - s);
                uint64_t n_here = PQF_MIN(per_mini, (uint64_t)(total - k));
                if ((n_here * (uint64_t)bw + 7) / 8 > avail)
                    PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_BINARY_PACKED miniblock truncated");
                const uint8_t *mend = s + (bytes <= avail ? bytes : avail);
                uint64_t i = 0;
                if (bw > 0 && bw <= 56) {
                    /* whole groups through the fast unpacker, in pieces;
                     * loads may read on to the end of the page data */
                    uint64_t dl[256];
                    for (;;) {
                        size_t room = (size_t)(end - (s + i / 8 * (uint64_t)bw));
                        uint64_t ng = PQF_MIN((n_here - i) / 8, (uint64_t)PQF_ARRAY_LEN(dl) / 8);
                        if (room < 8)
                            break;
                        ng = PQF_MIN(ng, (uint64_t)((room - 8) / (size_t)bw));
                        if (ng == 0)
                            break;
                        groups64(s + i / 8 * (uint64_t)bw, bw, dl, (size_t)ng);
                        if (is32) {
                            for (uint64_t j = 0; j < ng * 8; j++) {
                                v = (uint64_t)(uint32_t)(v + min_delta + dl[j]);
                                o32[k++] = (int32_t)(uint32_t)v;
                            }
                        } else {
                            for (uint64_t j = 0; j < ng * 8; j++) {
                                v = v + min_delta + dl[j];
                                o64[k++] = (int64_t)v;
                            }
                        }
                        i += ng * 8;
                    }
                }
                if (is32) {
                    for (; i < n_here; i++) {
                        uint64_t d = bw ? unpack_one(s, mend, i, bw) : 0;
                        v = (uint64_t)(uint32_t)(v + min_delta + d);
                        o32[k++] = (int32_t)(uint32_t)v;
                    }
                } else {
                    for (; i < n_here; i++) {
                        uint64_t d = bw ? unpack_one(s, mend, i, bw) : 0;
                        v = v + min_delta + d;
                        o64[k++] = (int64_t)v;
                    }
                }
                s = mend;
            }
        }
        *count = (size_t)total;
    }
    *used = (size_t)(s - p);
done:
    return rc;
}

pqf_err pqf__delta_length_decode(const uint8_t *p, size_t len, pqf_byteview *out, size_t n,
                                 int32_t *lens, size_t *used, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    size_t cnt = 0, hdr = 0;
    PQF_TRY(pqf__delta_binary_decode(p, len, true, lens, n, &cnt, &hdr, err));
    if (cnt != n)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_LENGTH_BYTE_ARRAY has %zu lengths for %zu values",
                 cnt, n);
    {
        size_t pos = hdr;
        for (size_t i = 0; i < n; i++) {
            if (lens[i] < 0 || (size_t)lens[i] > len - pos)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_LENGTH_BYTE_ARRAY value %zu past the end", i);
            out[i].ptr = p + pos;
            out[i].len = (size_t)lens[i];
            pos += (size_t)lens[i];
        }
        *used = pos;
    }
done:
    return rc;
}

pqf_err pqf__delta_byte_array_decode(const uint8_t *p, size_t len, int32_t type_length,
                                     pqf_byteview *out, size_t n, int32_t *scratch, pqf__buf *mem,
                                     pqf_error *err)
{
    pqf_err rc = PQF_OK;
    size_t cnt = 0, used = 0, used2 = 0;
    int32_t *prefix = scratch, *lens = scratch + n;
    PQF_TRY(pqf__delta_binary_decode(p, len, true, prefix, n, &cnt, &used, err));
    if (cnt != n)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_BYTE_ARRAY has %zu prefixes for %zu values", cnt, n);
    /* suffixes: a DELTA_LENGTH_BYTE_ARRAY; out holds them for now */
    PQF_TRY(pqf__delta_length_decode(p + used, len - used, out, n, lens, &used2, err));
    {
        uint64_t total = 0;
        size_t prev = 0;
        for (size_t i = 0; i < n; i++) {
            if (prefix[i] < 0 || (size_t)prefix[i] > prev)
                PQF_FAIL(err, PQF_ERR_CORRUPT,
                         "DELTA_BYTE_ARRAY prefix %d longer than the previous value (%zu)",
                         (int)prefix[i], prev);
            prev = (size_t)prefix[i] + out[i].len;
            total += prev;
            if (type_length > 0 && prev != (size_t)type_length)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_BYTE_ARRAY value of %zu bytes for FLBA(%d)",
                         prev, (int)type_length);
        }
        pqf__buf_reset(mem);
        if (total > SIZE_MAX / 2 || pqf__buf_reserve(mem, (size_t)total + 1) != PQF_OK)
            PQF_FAIL(err, PQF_ERR_LIMIT, "DELTA_BYTE_ARRAY values need %llu bytes, above the cap",
                     (unsigned long long)total);
        uint8_t *dst = mem->data;
        size_t pos = 0;
        const uint8_t *last = NULL;
        for (size_t i = 0; i < n; i++) {
            size_t pl = (size_t)prefix[i];
            if (pl)
                memcpy(dst + pos, last, pl);
            if (out[i].len)
                memcpy(dst + pos + pl, out[i].ptr, out[i].len);
            last = dst + pos;
            out[i].ptr = dst + pos;
            out[i].len += pl;
            pos += out[i].len;
        }
        mem->len = pos;
    }
done:
    return rc;
}

/* ---- BYTE_STREAM_SPLIT ------------------------------------------------------------ */

pqf_err pqf__byte_stream_split_decode(pqf_physical t, int32_t type_length, const uint8_t *p,
                                      size_t len, void *out, size_t n, pqf__buf *mem,
                                      pqf_error *err)
{
    size_t w;
    switch (t) {
    case PQF_FLOAT:
    case PQF_INT32:
        w = 4;
        break;
    case PQF_DOUBLE:
    case PQF_INT64:
        w = 8;
        break;
    case PQF_FIXED_LEN_BYTE_ARRAY:
        if (type_length <= 0)
            return corrupt(err, "FIXED_LEN_BYTE_ARRAY without a positive length");
        w = (size_t)type_length;
        break;
    default:
        return pqf_error_set(err, PQF_ERR_CORRUPT, "BYTE_STREAM_SPLIT on %s",
                             pqf_physical_name(t));
    }
    if (n > len / w)
        return corrupt(err, "BYTE_STREAM_SPLIT data truncated");
    uint8_t *dst = out;
    if (t == PQF_FIXED_LEN_BYTE_ARRAY) {
        pqf__buf_reset(mem);
        if (pqf__buf_reserve(mem, n * w + 1) != PQF_OK)
            return pqf_error_set(err, PQF_ERR_LIMIT, "BYTE_STREAM_SPLIT values above the cap");
        dst = mem->data;
        mem->len = n * w;
    }
    /* The stream count is the page's value count; n may be fewer only if
     * the page says so, so the stride is n. */
    for (size_t b = 0; b < w; b++) {
        const uint8_t *src = p + b * n;
        for (size_t i = 0; i < n; i++)
            dst[i * w + b] = src[i];
    }
    if (t == PQF_FIXED_LEN_BYTE_ARRAY) {
        pqf_byteview *o = out;
        for (size_t i = 0; i < n; i++) {
            o[i].ptr = dst + i * w;
            o[i].len = w;
        }
    }
    return PQF_OK;
}
