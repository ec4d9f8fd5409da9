/* Unit tests: every Parquet decoder against hand-made bytes (spec examples
 * where the spec has them), then hostile inputs: truncated, bit widths out of
 * range, counts larger than the data, dictionary indices out of range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "parquet/decode.h"

static void rle_hybrid_runs(void **state)
{
    (void)state;
    /* RLE run: 5 x 4, then one bit-packed group 0..7 (spec example bytes) */
    const uint8_t b[] = {0x0a, 0x04, 0x03, 0x88, 0xc6, 0xfa};
    pqf_error err = {0};
    pqf__rle r;
    uint32_t out[13];
    assert_int_equal(pqf__rle_init(&r, b, sizeof b, 3, &err), PQF_OK);
    assert_int_equal(pqf__rle_get(&r, out, 13, &err), PQF_OK);
    const uint32_t want[13] = {4, 4, 4, 4, 4, 0, 1, 2, 3, 4, 5, 6, 7};
    assert_memory_equal(out, want, sizeof want);
    /* asking past the data is an error */
    assert_int_equal(pqf__rle_get(&r, out, 1, &err), PQF_ERR_CORRUPT);
    /* levels above the maximum */
    int16_t lv[13];
    assert_int_equal(pqf__rle_init(&r, b, sizeof b, 3, &err), PQF_OK);
    assert_int_equal(pqf__rle_levels(&r, lv, 13, 5, &err), PQF_ERR_CORRUPT);
    /* bit width > 32 */
    assert_int_equal(pqf__rle_init(&r, b, sizeof b, 33, &err), PQF_ERR_CORRUPT);
    /* RLE value wider than its bit width */
    const uint8_t wide[] = {0x02, 0x09};
    assert_int_equal(pqf__rle_init(&r, wide, sizeof wide, 3, &err), PQF_OK);
    assert_int_equal(pqf__rle_get(&r, out, 1, &err), PQF_ERR_CORRUPT);
    /* a huge run count in few bytes: served lazily, no allocation */
    const uint8_t huge[] = {0xfe, 0xff, 0xff, 0xff, 0x0f, 0x01};
    assert_int_equal(pqf__rle_init(&r, huge, sizeof huge, 1, &err), PQF_OK);
    assert_int_equal(pqf__rle_get(&r, out, 13, &err), PQF_OK);
    assert_int_equal(out[12], 1);
    /* a bit-packed run claiming more groups than bytes keeps what is there */
    const uint8_t trunc[] = {0x07, 0xff};
    assert_int_equal(pqf__rle_init(&r, trunc, sizeof trunc, 1, &err), PQF_OK);
    assert_int_equal(pqf__rle_get(&r, out, 8, &err), PQF_OK);
    assert_int_equal(pqf__rle_get(&r, out, 1, &err), PQF_ERR_CORRUPT);
}

static void bit_packed_legacy_levels(void **state)
{
    (void)state;
    const uint8_t b[] = {0x05, 0x39, 0x77}; /* spec example: 0..7, 3 bits, MSB first */
    int16_t out[8];
    size_t used;
    pqf_error err = {0};
    assert_int_equal(pqf__bitpacked_levels(b, sizeof b, 3, out, 8, 7, &used, &err), PQF_OK);
    for (int i = 0; i < 8; i++)
        assert_int_equal(out[i], i);
    assert_int_equal(used, 3);
    assert_int_equal(pqf__bitpacked_levels(b, 2, 3, out, 8, 7, &used, &err), PQF_ERR_CORRUPT);
    assert_int_equal(pqf__bitpacked_levels(b, 3, 3, out, 8, 6, &used, &err), PQF_ERR_CORRUPT);
}

static void plain_values(void **state)
{
    (void)state;
    pqf_error err = {0};
    size_t used;
    const uint8_t ba[] = {2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0, 3, 0, 0, 0, 'a', 'b', 'c'};
    pqf_byteview v[3];
    assert_int_equal(pqf__plain_decode(PQF_BYTE_ARRAY, 0, ba, sizeof ba, v, 3, &used, &err), PQF_OK);
    assert_int_equal(v[0].len, 2);
    assert_memory_equal(v[0].ptr, "hi", 2);
    assert_int_equal(v[1].len, 0);
    assert_memory_equal(v[2].ptr, "abc", 3);
    assert_int_equal(used, sizeof ba);
    for (size_t k = 0; k < sizeof ba; k++)
        assert_int_equal(pqf__plain_decode(PQF_BYTE_ARRAY, 0, ba, k, v, 3, &used, &err),
                         PQF_ERR_CORRUPT);
    /* a length of 4 GiB - 1 */
    const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 'x'};
    assert_int_equal(pqf__plain_decode(PQF_BYTE_ARRAY, 0, big, sizeof big, v, 1, &used, &err),
                     PQF_ERR_CORRUPT);
    const uint8_t bools[] = {0x05};
    uint8_t bo[8];
    assert_int_equal(pqf__plain_decode(PQF_BOOLEAN, 0, bools, 1, bo, 8, &used, &err), PQF_OK);
    assert_int_equal(bo[0], 1);
    assert_int_equal(bo[1], 0);
    assert_int_equal(bo[2], 1);
    assert_int_equal(pqf__plain_decode(PQF_BOOLEAN, 0, bools, 1, bo, 9, &used, &err), PQF_ERR_CORRUPT);
    const uint8_t i32[] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    int32_t o32[2];
    assert_int_equal(pqf__plain_decode(PQF_INT32, 0, i32, 8, o32, 2, &used, &err), PQF_OK);
    assert_int_equal(o32[1], -1);
    assert_int_equal(pqf__plain_decode(PQF_INT32, 0, i32, 7, o32, 2, &used, &err), PQF_ERR_CORRUPT);
    /* a count that would overflow n * width */
    assert_int_equal(pqf__plain_decode(PQF_INT64, 0, i32, 8, o32, SIZE_MAX / 4, &used, &err),
                     PQF_ERR_CORRUPT);
    uint8_t i96[24] = {0};
    pqf_int96 o96[2];
    i96[12] = 9;
    assert_int_equal(pqf__plain_decode(PQF_INT96, 0, i96, 24, o96, 2, &used, &err), PQF_OK);
    assert_int_equal(o96[1].b[0], 9);
    pqf_byteview f[2];
    assert_int_equal(pqf__plain_decode(PQF_FIXED_LEN_BYTE_ARRAY, 3, ba, 6, f, 2, &used, &err), PQF_OK);
    assert_int_equal(f[1].len, 3);
    assert_ptr_equal(f[1].ptr, ba + 3);
    assert_int_equal(pqf__plain_decode(PQF_FIXED_LEN_BYTE_ARRAY, 0, ba, 6, f, 2, &used, &err),
                     PQF_ERR_CORRUPT);
}

static void dictionary_indices(void **state)
{
    (void)state;
    pqf_error err = {0};
    const int64_t dict[3] = {10, 20, 30};
    /* bit width 2, bit-packed group: 2,1,0,2,... */
    const uint8_t b[] = {2, 0x03, 0x86, 0x00};
    uint32_t idx[8];
    int64_t out[8];
    assert_int_equal(pqf__dict_decode(PQF_INT64, dict, 3, b, sizeof b, idx, out, 4, &err), PQF_OK);
    assert_int_equal(out[0], 30);
    assert_int_equal(out[1], 20);
    assert_int_equal(out[2], 10);
    assert_int_equal(out[3], 30);
    /* index 3 of a 3-entry dictionary */
    const uint8_t oob[] = {2, 0x02, 0x03};
    assert_int_equal(pqf__dict_decode(PQF_INT64, dict, 3, oob, sizeof oob, idx, out, 1, &err),
                     PQF_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "out of range"));
    const uint8_t w[] = {33, 0x02, 0x00};
    assert_int_equal(pqf__dict_decode(PQF_INT64, dict, 3, w, sizeof w, idx, out, 1, &err),
                     PQF_ERR_CORRUPT);
    assert_int_equal(pqf__dict_decode(PQF_INT64, dict, 3, b, 0, idx, out, 1, &err), PQF_ERR_CORRUPT);
}

static void delta_binary_packed(void **state)
{
    (void)state;
    pqf_error err = {0};
    /* spec example 7,5,3,1,2: block 128, 4 miniblocks, min delta -2, widths 2,0,0,0 */
    const uint8_t b[] = {0x80, 0x01, 0x04, 0x05, 0x0e, 0x03, 2, 0, 0, 0,
                         0xc0, 0, 0, 0, 0, 0, 0, 0};
    int64_t o64[8];
    int32_t o32[8];
    size_t n, used;
    assert_int_equal(pqf__delta_binary_decode(b, sizeof b, false, o64, 8, &n, &used, &err), PQF_OK);
    assert_int_equal(n, 5);
    const int64_t want[5] = {7, 5, 3, 1, 2};
    assert_memory_equal(o64, want, sizeof want);
    assert_int_equal(used, sizeof b);
    assert_int_equal(pqf__delta_binary_decode(b, sizeof b, true, o32, 8, &n, &used, &err), PQF_OK);
    assert_int_equal(o32[4], 2);
    /* more values announced than the caller expects */
    assert_int_equal(pqf__delta_binary_decode(b, sizeof b, false, o64, 4, &n, &used, &err),
                     PQF_ERR_CORRUPT);
    /* truncated miniblock */
    assert_int_equal(pqf__delta_binary_decode(b, 10, false, o64, 8, &n, &used, &err),
                     PQF_ERR_CORRUPT);
    /* bit width 33 on INT32, 65 on INT64 */
    uint8_t w[sizeof b];
    memcpy(w, b, sizeof b);
    w[6] = 33;
    assert_int_equal(pqf__delta_binary_decode(w, sizeof w, true, o32, 8, &n, &used, &err),
                     PQF_ERR_CORRUPT);
    w[6] = 65;
    assert_int_equal(pqf__delta_binary_decode(w, sizeof w, false, o64, 8, &n, &used, &err),
                     PQF_ERR_CORRUPT);
    /* block size not a multiple of 128; miniblocks not multiple of 32 values */
    const uint8_t bad1[] = {0x40, 0x04, 0x01, 0x00};
    assert_int_equal(pqf__delta_binary_decode(bad1, sizeof bad1, false, o64, 8, &n, &used, &err),
                     PQF_ERR_CORRUPT);
    const uint8_t bad2[] = {0x80, 0x01, 0x03, 0x01, 0x00};
    assert_int_equal(pqf__delta_binary_decode(bad2, sizeof bad2, false, o64, 8, &n, &used, &err),
                     PQF_ERR_CORRUPT);
    /* a huge announced count with a small output */
    const uint8_t huge[] = {0x80, 0x01, 0x04, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    assert_int_equal(pqf__delta_binary_decode(huge, sizeof huge, false, o64, 8, &n, &used, &err),
                     PQF_ERR_CORRUPT);
    /* 64-bit widths with wrapping arithmetic */
    uint8_t w64[6 + 4 + 32 * 8] = {0x80, 0x01, 0x04, 0x02, 0x00, 0x00, 64, 0, 0, 0};
    memset(w64 + 10, 0xff, 8); /* first delta: all ones = -1 + min delta 0 */
    assert_int_equal(pqf__delta_binary_decode(w64, sizeof w64, false, o64, 8, &n, &used, &err),
                     PQF_OK);
    assert_int_equal(n, 2);
    assert_int_equal(o64[1], -1);
}

static void delta_length_and_delta_byte_array(void **state)
{
    (void)state;
    pqf_error err = {0};
    /* lengths [2, 3] then "abxyz" */
    const uint8_t dl[] = {0x80, 0x01, 0x04, 0x02, 0x04, 0x02, 0, 0, 0, 0, 'a', 'b', 'x', 'y', 'z'};
    pqf_byteview v[2];
    int32_t scratch[4];
    size_t used;
    assert_int_equal(pqf__delta_length_decode(dl, sizeof dl, v, 2, scratch, &used, &err), PQF_OK);
    assert_int_equal(v[0].len, 2);
    assert_memory_equal(v[1].ptr, "xyz", 3);
    assert_int_equal(pqf__delta_length_decode(dl, sizeof dl - 1, v, 2, scratch, &used, &err),
                     PQF_ERR_CORRUPT);
    assert_int_equal(pqf__delta_length_decode(dl, sizeof dl, v, 1, scratch, &used, &err),
                     PQF_ERR_CORRUPT);
    /* "abc", "abd": prefixes [0, 2], suffixes ["abc", "d"] */
    const uint8_t db[] = {0x80, 0x01, 0x04, 0x02, 0x00, 0x04, 0, 0, 0, 0, 0x80, 0x01, 0x04, 0x02,
                          0x06, 0x03, 0, 0, 0, 0, 'a', 'b', 'c', 'd'};
    pqf__buf mem;
    pqf__buf_init(&mem, 1 << 20);
    assert_int_equal(pqf__delta_byte_array_decode(db, sizeof db, 0, v, 2, scratch, &mem, &err), PQF_OK);
    assert_int_equal(v[1].len, 3);
    assert_memory_equal(v[0].ptr, "abc", 3);
    assert_memory_equal(v[1].ptr, "abd", 3);
    /* FLBA(3) accepts them, FLBA(4) does not */
    assert_int_equal(pqf__delta_byte_array_decode(db, sizeof db, 3, v, 2, scratch, &mem, &err), PQF_OK);
    assert_int_equal(pqf__delta_byte_array_decode(db, sizeof db, 4, v, 2, scratch, &mem, &err),
                     PQF_ERR_CORRUPT);
    /* a prefix longer than the previous value */
    uint8_t bad[sizeof db];
    memcpy(bad, db, sizeof db);
    bad[5] = 0x08; /* delta 4: prefix 4 > 3 */
    assert_int_equal(pqf__delta_byte_array_decode(bad, sizeof bad, 0, v, 2, scratch, &mem, &err),
                     PQF_ERR_CORRUPT);
    /* the materialised values are capped */
    pqf__buf small;
    pqf__buf_init(&small, 4);
    assert_int_equal(pqf__delta_byte_array_decode(db, sizeof db, 0, v, 2, scratch, &small, &err),
                     PQF_ERR_LIMIT);
    pqf__buf_free(&small);
    pqf__buf_free(&mem);
}

static void byte_stream_split(void **state)
{
    (void)state;
    pqf_error err = {0};
    pqf__buf mem;
    pqf__buf_init(&mem, 1 << 20);
    const uint8_t fb[] = {0, 0, 0, 0, 0x80, 0, 0x3f, 0x40}; /* 1.0f, 2.0f */
    float f[2];
    assert_int_equal(pqf__byte_stream_split_decode(PQF_FLOAT, 0, fb, sizeof fb, f, 2, &mem, &err),
                     PQF_OK);
    assert_true(f[0] == 1.0f && f[1] == 2.0f);
    int32_t i[2];
    assert_int_equal(pqf__byte_stream_split_decode(PQF_INT32, 0, fb, sizeof fb, i, 2, &mem, &err),
                     PQF_OK);
    assert_int_equal(i[0], 0x3f800000);
    double d[1];
    const uint8_t db[] = {0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
    assert_int_equal(pqf__byte_stream_split_decode(PQF_DOUBLE, 0, db, 8, d, 1, &mem, &err), PQF_OK);
    assert_true(d[0] == 1.0);
    int64_t l[1];
    assert_int_equal(pqf__byte_stream_split_decode(PQF_INT64, 0, db, 8, l, 1, &mem, &err), PQF_OK);
    const uint8_t flba[] = {'a', 'd', 'b', 'e', 'c', 'f'};
    pqf_byteview v[2];
    assert_int_equal(pqf__byte_stream_split_decode(PQF_FIXED_LEN_BYTE_ARRAY, 3, flba, 6, v, 2, &mem, &err),
                     PQF_OK);
    assert_memory_equal(v[0].ptr, "abc", 3);
    assert_memory_equal(v[1].ptr, "def", 3);
    assert_int_equal(pqf__byte_stream_split_decode(PQF_FLOAT, 0, fb, 7, f, 2, &mem, &err),
                     PQF_ERR_CORRUPT);
    assert_int_equal(pqf__byte_stream_split_decode(PQF_BYTE_ARRAY, 0, fb, 8, f, 2, &mem, &err),
                     PQF_ERR_CORRUPT);
    pqf__buf_free(&mem);
}

/* ---- every bit width, through the fast (grouped) and the careful paths --------- */

static uint64_t rnd_state = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* LSB-first bit packing, as Parquet's bit-packed runs and miniblocks. */
static void pack_bits(uint8_t *dst, const uint64_t *v, size_t n, int bw)
{
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < bw; b++) {
            size_t bit = i * (size_t)bw + (size_t)b;
            if ((v[i] >> b) & 1)
                dst[bit >> 3] |= (uint8_t)(1u << (bit & 7));
        }
}

static size_t put_uleb(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        p[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

static void rle_bit_packed_every_width(void **state)
{
    (void)state;
    enum { N = 200 }; /* 25 groups */
    pqf_error err = {0};
    for (int bw = 1; bw <= 32; bw++) {
        uint64_t v[N];
        uint32_t out[N];
        for (size_t i = 0; i < N; i++)
            v[i] = bw == 32 ? (uint32_t)rnd() : rnd() & ((1ull << bw) - 1);
        /* exactly sized heap buffer: the sanitizer build sees any read past it */
        size_t len = 1 + (size_t)N / 8 * (size_t)bw;
        uint8_t *b = calloc(1, len);
        assert_non_null(b);
        b[0] = (uint8_t)((N / 8) << 1 | 1); /* 25 groups < 64: one byte */
        pack_bits(b + 1, v, N, bw);
        pqf__rle r;
        assert_int_equal(pqf__rle_init(&r, b, len, bw, &err), PQF_OK);
        /* uneven requests: heads, whole groups and tails */
        const size_t steps[] = {3, 5, 17, 64, 1, 40, 70};
        size_t got = 0;
        for (size_t k = 0; got < N; k++) {
            size_t want = PQF_MIN(steps[k % 7], (size_t)N - got);
            assert_int_equal(pqf__rle_get(&r, out + got, want, &err), PQF_OK);
            got += want;
        }
        for (size_t i = 0; i < N; i++)
            if (out[i] != (uint32_t)v[i])
                fail_msg("width %d value %zu: %u != %llu", bw, i, out[i],
                         (unsigned long long)v[i]);
        free(b);
    }
}

static void delta_every_width(void **state)
{
    (void)state;
    enum { N = 1 + 128 * 2 }; /* first value + two blocks of 4 x 32 */
    pqf_error err = {0};
    for (int is32 = 0; is32 < 2; is32++) {
        for (int bw = 0; bw <= (is32 ? 32 : 64); bw++) {
            uint8_t *b = calloc(1, 64 + 2 * (10 + 4 + 4 * 32 * 8));
            uint64_t want[N];
            size_t len = 0;
            assert_non_null(b);
            len += put_uleb(b + len, 128);
            len += put_uleb(b + len, 4);
            len += put_uleb(b + len, N);
            uint64_t first = rnd() & 0xffff;
            len += put_uleb(b + len, first << 1); /* zigzag of a positive value */
            want[0] = first;
            size_t k = 1;
            for (int blk = 0; blk < 2; blk++) {
                uint64_t min_delta = 3;
                len += put_uleb(b + len, min_delta << 1);
                for (int m = 0; m < 4; m++)
                    b[len++] = (uint8_t)bw;
                for (int m = 0; m < 4; m++) {
                    uint64_t d[32];
                    for (int i = 0; i < 32; i++) {
                        d[i] = bw == 64 ? rnd() : rnd() & ((1ull << bw) - 1);
                        want[k] = want[k - 1] + min_delta + d[i];
                        if (is32)
                            want[k] = (uint32_t)want[k];
                        k++;
                    }
                    pack_bits(b + len, d, 32, bw);
                    len += (size_t)4 * (size_t)bw;
                }
            }
            /* copy to an exactly sized buffer for the sanitizer */
            uint8_t *e = malloc(len);
            assert_non_null(e);
            memcpy(e, b, len);
            int64_t o64[N];
            int32_t o32[N];
            size_t n = 0, used = 0;
            assert_int_equal(pqf__delta_binary_decode(e, len, is32, is32 ? (void *)o32 : (void *)o64,
                                                      N, &n, &used, &err),
                             PQF_OK);
            assert_int_equal(n, N);
            assert_int_equal(used, len);
            for (size_t i = 0; i < N; i++) {
                uint64_t got = is32 ? (uint32_t)o32[i] : (uint64_t)o64[i];
                if (got != want[i])
                    fail_msg("%s width %d value %zu: %llu != %llu", is32 ? "INT32" : "INT64", bw,
                             i, (unsigned long long)got, (unsigned long long)want[i]);
            }
            free(e);
            free(b);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rle_hybrid_runs),
        cmocka_unit_test(rle_bit_packed_every_width),
        cmocka_unit_test(delta_every_width),
        cmocka_unit_test(bit_packed_legacy_levels),
        cmocka_unit_test(plain_values),
        cmocka_unit_test(dictionary_indices),
        cmocka_unit_test(delta_binary_packed),
        cmocka_unit_test(delta_length_and_delta_byte_array),
        cmocka_unit_test(byte_stream_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
