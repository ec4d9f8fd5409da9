/* Unit tests: page codecs round-trip and reject what is not what it claims. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "parquet/codec.h"

static uint8_t *sample(size_t n)
{
    uint8_t *p = malloc(n);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(i % 7 == 0 ? x : 'a' + i % 13); /* compressible, not trivial */
    }
    return p;
}

static void every_codec_round_trips(void **state)
{
    (void)state;
    const pqf_codec codecs[] = {PQF_CODEC_UNCOMPRESSED, PQF_CODEC_SNAPPY, PQF_CODEC_GZIP,
                                PQF_CODEC_ZSTD, PQF_CODEC_LZ4_RAW, PQF_CODEC_BROTLI};
    const size_t sizes[] = {0, 1, 100, 65536, 1 << 20};
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            pqf_error err = {0};
            size_t n = sizes[s];
            uint8_t *in = sample(n ? n : 1);
            pqf__compressor *z = pqf__compressor_create(codecs[c], 0, &err);
            assert_non_null(z);
            size_t cap = pqf__compress_bound(z, n);
            uint8_t *out = malloc(cap + 1), *back = malloc(n + 1);
            size_t len = 0;
            assert_int_equal(pqf__compress(z, in, n, out, cap, &len, &err), PQF_OK);
            if (codecs[c] != PQF_CODEC_UNCOMPRESSED && n >= 65536)
                assert_true(len < n); /* it really compressed */
            assert_int_equal(pqf__decompress(codecs[c], out, len, back, n, &err), PQF_OK);
            assert_memory_equal(in, back, n);
            /* a wrong expected size is caught, not trusted */
            if (n > 0) {
                assert_int_equal(pqf__decompress(codecs[c], out, len, back, n - 1, &err),
                                 PQF_ERR_CORRUPT);
            }
            pqf__compressor_free(z);
            free(in);
            free(out);
            free(back);
        }
    }
}

static void garbage_is_corrupt_not_a_crash(void **state)
{
    (void)state;
    const pqf_codec codecs[] = {PQF_CODEC_SNAPPY, PQF_CODEC_GZIP, PQF_CODEC_ZSTD,
                                PQF_CODEC_LZ4_RAW, PQF_CODEC_LZ4, PQF_CODEC_BROTLI};
    uint8_t junk[64], out[256];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        pqf_error err = {0};
        assert_int_equal(pqf__decompress(codecs[c], junk, sizeof junk, out, sizeof out, &err),
                         PQF_ERR_CORRUPT);
        assert_true(err.msg[0] != '\0');
    }
}

static void gzip_concatenated_members(void **state)
{
    (void)state;
    /* two gzip members back to back decode to the concatenation */
    pqf_error err = {0};
    pqf__compressor *z = pqf__compressor_create(PQF_CODEC_GZIP, 0, &err);
    uint8_t a[128], b[128], buf[512], back[8];
    size_t la, lb;
    assert_int_equal(pqf__compress(z, "abcd", 4, a, sizeof a, &la, &err), PQF_OK);
    assert_int_equal(pqf__compress(z, "efgh", 4, b, sizeof b, &lb, &err), PQF_OK);
    memcpy(buf, a, la);
    memcpy(buf + la, b, lb);
    assert_int_equal(pqf__decompress(PQF_CODEC_GZIP, buf, la + lb, back, 8, &err), PQF_OK);
    assert_memory_equal(back, "abcdefgh", 8);
    /* truncated member */
    assert_int_equal(pqf__decompress(PQF_CODEC_GZIP, buf, la + lb - 3, back, 8, &err),
                     PQF_ERR_CORRUPT);
    pqf__compressor_free(z);
}

static void lz4_hadoop_framing_and_raw_fallback(void **state)
{
    (void)state;
    const char *text = "hello hello hello hello hello hello";
    size_t n = strlen(text);
    uint8_t block[128], framed[160], back[64];
    int clen = LZ4_compress_default(text, (char *)block, (int)n, sizeof block);
    assert_true(clen > 0);
    /* [u32 BE raw][u32 BE compressed][block] */
    framed[0] = 0, framed[1] = 0, framed[2] = 0, framed[3] = (uint8_t)n;
    framed[4] = 0, framed[5] = 0, framed[6] = 0, framed[7] = (uint8_t)clen;
    memcpy(framed + 8, block, (size_t)clen);
    pqf_error err = {0};
    assert_int_equal(pqf__decompress(PQF_CODEC_LZ4, framed, (size_t)clen + 8, back, n, &err),
                     PQF_OK);
    assert_memory_equal(back, text, n);
    memset(back, 0, sizeof back);
    assert_int_equal(pqf__decompress(PQF_CODEC_LZ4, block, (size_t)clen, back, n, &err), PQF_OK);
    assert_memory_equal(back, text, n);
}

static void bad_levels_are_rejected(void **state)
{
    (void)state;
    pqf_error err = {0};
    assert_null(pqf__compressor_create(PQF_CODEC_ZSTD, 99, &err));
    assert_int_equal(err.code, PQF_ERR_INVALID_ARG);
    assert_null(pqf__compressor_create(PQF_CODEC_GZIP, 12, &err));
    assert_null(pqf__compressor_create(PQF_CODEC_LZO, 0, &err));
    assert_int_equal(err.code, PQF_ERR_UNSUPPORTED);
    pqf__compressor *z = pqf__compressor_create(PQF_CODEC_ZSTD, 19, &err);
    assert_non_null(z);
    pqf__compressor_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_codec_round_trips),
        cmocka_unit_test(garbage_is_corrupt_not_a_crash),
        cmocka_unit_test(gzip_concatenated_members),
        cmocka_unit_test(lz4_hadoop_framing_and_raw_fallback),
        cmocka_unit_test(bad_levels_are_rejected),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
