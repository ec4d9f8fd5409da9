/* Unit tests: Parquet encodings (hand-computed bytes from Encodings.md, and
 * round trips through small decoders written here from the spec) and the
 * split-block Bloom filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "base/hash.h"
#include "parquet/bloom.h"
#include "parquet/encode.h"

#define EXPECT(buf, ...)                                                                           \
    do {                                                                                           \
        const uint8_t want_[] = {__VA_ARGS__};                                                     \
        assert_int_equal((buf).len, sizeof want_);                                                 \
        assert_memory_equal((buf).data, want_, sizeof want_);                                      \
    } while (0)

static uint64_t rd_uleb(const uint8_t **p)
{
    uint64_t v = 0;
    int s = 0;
    while (**p & 0x80) {
        v |= (uint64_t)(**p & 0x7F) << s;
        s += 7;
        (*p)++;
    }
    v |= (uint64_t) * *p << s;
    (*p)++;
    return v;
}

static uint64_t rd_bits(const uint8_t *p, size_t bitpos, int bw)
{
    uint64_t v = 0;
    for (int i = 0; i < bw; i++, bitpos++)
        v |= (uint64_t)(p[bitpos >> 3] >> (bitpos & 7) & 1) << i;
    return v;
}

/* RLE/bit-packed hybrid decoder (Encodings.md), for round trips. */
static void rle_decode(const uint8_t *p, const uint8_t *end, int bw, uint32_t *out, size_t n)
{
    size_t i = 0;
    while (i < n) {
        assert_true(p < end);
        uint64_t h = rd_uleb(&p);
        if (h & 1) {
            size_t cnt = (size_t)(h >> 1) * 8;
            for (size_t k = 0; k < cnt; k++)
                if (i < n)
                    out[i++] = (uint32_t)rd_bits(p, k * (size_t)bw, bw);
            p += cnt * (size_t)bw / 8;
        } else {
            size_t cnt = (size_t)(h >> 1);
            uint32_t v = 0;
            for (int b = 0; b < (bw + 7) / 8; b++)
                v |= (uint32_t)*p++ << (8 * b);
            for (size_t k = 0; k < cnt && i < n; k++)
                out[i++] = v;
        }
    }
    assert_true(p <= end);
}

/* DELTA_BINARY_PACKED decoder, 64-bit wrapping. */
static size_t dbp_decode(const uint8_t *p, int64_t *out, size_t cap)
{
    uint64_t bs = rd_uleb(&p), mbs = rd_uleb(&p), n = rd_uleb(&p);
    uint64_t zz = rd_uleb(&p);
    int64_t cur = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
    assert_true(n <= cap);
    size_t i = 0;
    if (n)
        out[i++] = cur;
    size_t per = (size_t)(bs / mbs);
    while (i < n) {
        zz = rd_uleb(&p);
        int64_t mn = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
        const uint8_t *w = p;
        p += mbs;
        for (size_t m = 0; m < mbs && i < n; m++) {
            for (size_t k = 0; k < per && i < n; k++) {
                uint64_t d = rd_bits(p, k * w[m], w[m]);
                cur = (int64_t)((uint64_t)cur + (uint64_t)mn + d);
                out[i++] = cur;
            }
            p += per * w[m] / 8;
        }
    }
    return i;
}

static void rle_runs_and_literals(void **state)
{
    (void)state;
    pqf__buf b;
    pqf__buf_init(&b, 1 << 20);
    uint8_t ten[10];
    memset(ten, 1, sizeof ten);
    assert_int_equal(pqf__rle_encode_u8(ten, 10, 1, &b), PQF_OK);
    EXPECT(b, 0x14, 0x01); /* run of 10 ones */
    pqf__buf_reset(&b);
    /* Encodings.md: 0..7 at bit width 3 -> 10001000 11000110 11111010 */
    uint32_t seq[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    assert_int_equal(pqf__rle_encode_u32(seq, 8, 3, &b), PQF_OK);
    EXPECT(b, 0x03, 0x88, 0xC6, 0xFA);
    pqf__buf_reset(&b);
    /* A literal interrupted by a run takes values from it to fill its group. */
    uint8_t mix[16] = {1, 2, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    assert_int_equal(pqf__rle_encode_u8(mix, 16, 3, &b), PQF_OK);
    EXPECT(b, 0x03, 0xD1, 0xDA, 0xB6, 0x10, 0x05);
    pqf__buf_reset(&b);
    /* Short tail literal padded with zeros; wide values take several bytes. */
    uint32_t wide[3] = {70000, 70000, 1};
    assert_int_equal(pqf__rle_encode_u32(wide, 3, 17, &b), PQF_OK);
    assert_int_equal(b.len, 1 + 17);
    pqf__buf_reset(&b);
    uint32_t same[20];
    for (int i = 0; i < 20; i++)
        same[i] = 70000;
    assert_int_equal(pqf__rle_encode_u32(same, 20, 17, &b), PQF_OK);
    EXPECT(b, 0x28, 0x70, 0x11, 0x01);
    pqf__buf_free(&b);
}

static void rle_round_trips(void **state)
{
    (void)state;
    srand(7);
    for (int bw = 1; bw <= 32; bw++) {
        size_t n = 1000 + (size_t)bw * 37;
        uint32_t *v = malloc(n * 4), *back = malloc(n * 4);
        uint32_t mask = bw == 32 ? UINT32_MAX : (1u << bw) - 1;
        for (size_t i = 0; i < n;) {
            uint32_t x = ((uint32_t)rand() * 2654435761u) & mask;
            size_t run = rand() % 3 == 0 ? (size_t)(rand() % 30) : 1;
            for (size_t k = 0; k <= run && i < n; k++)
                v[i++] = x;
        }
        pqf__buf b;
        pqf__buf_init(&b, 1 << 24);
        assert_int_equal(pqf__rle_encode_u32(v, n, bw, &b), PQF_OK);
        rle_decode(b.data, b.data + b.len, bw, back, n);
        assert_memory_equal(v, back, n * 4);
        pqf__buf_free(&b);
        free(v);
        free(back);
    }
}

static void plain_bools_pack_lsb_first(void **state)
{
    (void)state;
    pqf__buf b;
    pqf__buf_init(&b, 1 << 20);
    uint8_t v[9] = {1, 0, 1, 1, 0, 0, 0, 0, 1};
    assert_int_equal(pqf__plain_bool(v, 9, &b), PQF_OK);
    EXPECT(b, 0x0D, 0x01);
    pqf__buf_free(&b);
}

static void delta_binary_packed_spec_examples(void **state)
{
    (void)state;
    pqf__buf b;
    pqf__buf_init(&b, 1 << 20);
    int32_t ex1[5] = {1, 2, 3, 4, 5};
    assert_int_equal(pqf__dbp_encode_i32(ex1, 5, &b), PQF_OK);
    EXPECT(b, 0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00);
    pqf__buf_reset(&b);
    int64_t ex2[8] = {7, 5, 3, 1, 2, 3, 4, 5};
    assert_int_equal(pqf__dbp_encode_i64(ex2, 8, &b), PQF_OK);
    EXPECT(b, 0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 0x02, 0x00, 0x00, 0x00, 0xC0, 0x3F, 0, 0, 0, 0, 0,
           0);
    pqf__buf_reset(&b);
    assert_int_equal(pqf__dbp_encode_i64(ex2, 1, &b), PQF_OK);
    EXPECT(b, 0x80, 0x01, 0x04, 0x01, 0x0E);
    pqf__buf_free(&b);
}

static void delta_binary_packed_round_trips(void **state)
{
    (void)state;
    size_t n = 5000;
    int64_t *v = malloc(n * 8), *back = malloc(n * 8);
    uint64_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = i % 500 < 10 ? (int64_t)x : (i % 3 ? INT64_MIN : INT64_MAX) / (int64_t)(i % 7 + 1);
    }
    pqf__buf b;
    pqf__buf_init(&b, 1 << 24);
    assert_int_equal(pqf__dbp_encode_i64(v, n, &b), PQF_OK);
    assert_int_equal(dbp_decode(b.data, back, n), n);
    assert_memory_equal(v, back, n * 8);
    /* int32 deltas wrap at 32 bits, so no width exceeds 32 */
    int32_t *v32 = malloc(n * 4);
    for (size_t i = 0; i < n; i++)
        v32[i] = i % 2 ? INT32_MAX : INT32_MIN;
    pqf__buf_reset(&b);
    assert_int_equal(pqf__dbp_encode_i32(v32, n, &b), PQF_OK);
    assert_int_equal(dbp_decode(b.data, back, n), n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal((int32_t)back[i], v32[i]);
    /* sorted timestamps pack small */
    for (size_t i = 0; i < n; i++)
        v[i] = INT64_C(1700000000000000) + (int64_t)i * 1000;
    pqf__buf_reset(&b);
    assert_int_equal(pqf__dbp_encode_i64(v, n, &b), PQF_OK);
    assert_true(b.len < 300); /* 40 blocks of 6 bytes */
    assert_int_equal(dbp_decode(b.data, back, n), n);
    assert_memory_equal(v, back, n * 8);
    pqf__buf_free(&b);
    free(v);
    free(v32);
    free(back);
}

static void delta_length_byte_array(void **state)
{
    (void)state;
    pqf__buf in, out;
    pqf__buf_init(&in, 1 << 20);
    pqf__buf_init(&out, 1 << 20);
    const char *s[4] = {"Hello", "World", "Foobar", "ABCDEF"};
    for (int i = 0; i < 4; i++) {
        uint8_t l[4];
        pqf__store32le(l, (uint32_t)strlen(s[i]));
        pqf__buf_append(&in, l, 4);
        pqf__buf_append(&in, s[i], strlen(s[i]));
    }
    assert_int_equal(pqf__dlba_encode(in.data, in.len, 4, &out), PQF_OK);
    int64_t lens[4];
    assert_int_equal(dbp_decode(out.data, lens, 4), 4);
    assert_int_equal(lens[0], 5);
    assert_int_equal(lens[2], 6);
    assert_int_equal(lens[3], 6);
    assert_true(out.len > 22);
    assert_memory_equal(out.data + out.len - 22, "HelloWorldFoobarABCDEF", 22);
    pqf__buf_reset(&out);
    assert_int_equal(pqf__dlba_encode(in.data, in.len - 1, 4, &out), PQF_ERR_CORRUPT);
    pqf__buf_free(&in);
    pqf__buf_free(&out);
}

static void byte_stream_split(void **state)
{
    (void)state;
    pqf__buf b;
    pqf__buf_init(&b, 1 << 20);
    const uint8_t v[8] = {0x00, 0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x13};
    assert_int_equal(pqf__bss_encode(v, 2, 4, &b), PQF_OK);
    EXPECT(b, 0x00, 0x10, 0x01, 0x11, 0x02, 0x12, 0x03, 0x13);
    pqf__buf_reset(&b);
    assert_int_equal(pqf__bss_encode(v, 4, 2, &b), PQF_OK); /* FLBA(2) */
    EXPECT(b, 0x00, 0x02, 0x10, 0x12, 0x01, 0x03, 0x11, 0x13);
    pqf__buf_free(&b);
}

static void dictionary_finds_and_adds(void **state)
{
    (void)state;
    pqf__dict d;
    pqf__dict_init(&d, 8);
    uint32_t idx;
    bool added;
    for (uint64_t i = 0; i < 5000; i++) {
        assert_int_equal(pqf__dict_put64(&d, i * 977, &idx, &added), PQF_OK);
        assert_true(added);
        assert_int_equal(idx, i);
    }
    for (uint64_t i = 0; i < 5000; i += 7) {
        assert_int_equal(pqf__dict_put64(&d, i * 977, &idx, &added), PQF_OK);
        assert_false(added);
        assert_int_equal(idx, i);
    }
    assert_int_equal(pqf__dict_bytes(&d), 5000 * 8);
    assert_int_equal(pqf__load64le(d.plain.data + 8 * 3), 3 * 977);
    pqf__dict_reset(&d);
    assert_int_equal(pqf__dict_put64(&d, 977, &idx, &added), PQF_OK);
    assert_true(added);
    assert_int_equal(idx, 0);
    pqf__dict_free(&d);

    pqf__dict_init(&d, 0);
    uint32_t *aux;
    assert_int_equal(pqf__dict_put_bytes(&d, "ab", 2, &idx, &added, &aux), PQF_OK);
    assert_int_equal(pqf__dict_put_bytes(&d, "", 0, &idx, &added, &aux), PQF_OK);
    assert_int_equal(idx, 1);
    assert_int_equal(pqf__dict_put_bytes(&d, "ab", 2, &idx, &added, &aux), PQF_OK);
    assert_false(added);
    assert_int_equal(idx, 0);
    /* the dictionary page body is PLAIN: length-prefixed values */
    EXPECT(d.plain, 2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0);
    size_t l;
    const uint8_t *e = pqf__dict_entry(&d, 0, &l);
    assert_int_equal(l, 2);
    assert_memory_equal(e, "ab", 2);
    pqf__dict_free(&d);

    pqf__dict_init(&d, 4);
    assert_int_equal(pqf__dict_put32(&d, 0x80000000u, &idx, &added), PQF_OK); /* -0.0f */
    assert_int_equal(pqf__dict_put32(&d, 0, &idx, &added), PQF_OK);           /* +0.0f */
    assert_true(added);
    assert_int_equal(idx, 1);
    pqf__dict_free(&d);
}

/* Byte values whose hashes share the tag (or are equal) are told apart by
 * their bytes and lengths; the caller's word follows each entry through grows. */
static void dictionary_bytes_same_hash(void **state)
{
    (void)state;
    pqf__dict d;
    pqf__dict_init(&d, 0);
    uint32_t idx, *aux;
    bool added;
    char v[64];
    /* 3000 values, all with one hash: every probe meets equal tags; lengths
     * 1..40 (memcmp, the 8-16 and 17-32 byte compares; equal lengths
     * differing in the last or first bytes) */
    for (uint32_t i = 0; i < 3000; i++) {
        int n = snprintf(v, sizeof v, "%0*u", (int)(1 + i % 40), i);
        assert_int_equal(pqf__dict_put_hashed(&d, v, (size_t)n, 0x1234567800000000ull, &idx,
                                              &added, &aux),
                         PQF_OK);
        assert_true(added);
        assert_int_equal(idx, i);
        assert_int_equal(*aux, UINT32_MAX);
        *aux = i;
    }
    for (uint32_t i = 0; i < 3000; i += 7) {
        int n = snprintf(v, sizeof v, "%0*u", (int)(1 + i % 40), i);
        assert_int_equal(pqf__dict_put_hashed(&d, v, (size_t)n, 0x1234567800000000ull, &idx,
                                              &added, &aux),
                         PQF_OK);
        assert_false(added);
        assert_int_equal(idx, i);
        assert_int_equal(*aux, i);
    }
    /* only the hash's high half is kept: another low half finds the entry */
    assert_int_equal(pqf__dict_put_hashed(&d, "00000007", 8, 0x12345678ffffffffull, &idx, &added,
                                          &aux),
                     PQF_OK);
    assert_false(added);
    assert_int_equal(idx, 7);
    /* values differing from an entry only in their first, a middle or last byte */
    char e32[33];
    snprintf(e32, sizeof e32, "%032u", 31u); /* i = 31 has 32 digits */
    for (int k = 0; k < 4; k++) {
        memcpy(v, e32, 33);
        if (k > 0)
            v[k == 1 ? 0 : k == 2 ? 13 : 31] ^= 1;
        assert_int_equal(pqf__dict_put_hashed(&d, v, 32, 0x1234567800000000ull, &idx, &added, &aux),
                         PQF_OK);
        assert_int_equal(added, k > 0);
        assert_int_equal(idx, k == 0 ? 31 : 3000 + (uint32_t)k - 1);
    }
    pqf__dict_free(&d);

    /* real hashes: 100k distinct values through several grows, then found */
    pqf__dict_init(&d, 0);
    for (uint32_t i = 0; i < 100000; i++) {
        int n = snprintf(v, sizeof v, "name %u@example.com", i);
        assert_int_equal(pqf__dict_put_bytes(&d, v, (size_t)n, &idx, &added, &aux), PQF_OK);
        assert_true(added);
        *aux = i ^ 0x5555u;
    }
    for (uint32_t i = 0; i < 100000; i += 13) {
        int n = snprintf(v, sizeof v, "name %u@example.com", i);
        assert_int_equal(pqf__dict_put_bytes(&d, v, (size_t)n, &idx, &added, &aux), PQF_OK);
        assert_false(added);
        assert_int_equal(idx, i);
        assert_int_equal(*aux, i ^ 0x5555u);
        size_t l;
        const uint8_t *e = pqf__dict_entry(&d, idx, &l);
        assert_int_equal(l, (size_t)n);
        assert_memory_equal(e, v, (size_t)n);
    }
    pqf__dict_free(&d);

    /* FLBA(4): entries by index, same hash */
    pqf__dict_init(&d, 4);
    assert_int_equal(pqf__dict_put_hashed(&d, "abcd", 4, 7, &idx, &added, &aux), PQF_OK);
    assert_int_equal(pqf__dict_put_hashed(&d, "abce", 4, 7, &idx, &added, &aux), PQF_OK);
    assert_true(added);
    assert_int_equal(pqf__dict_put_hashed(&d, "abcd", 4, 7, &idx, &added, &aux), PQF_OK);
    assert_false(added);
    assert_int_equal(idx, 0);
    for (uint32_t i = 0; i < 5000; i++) /* grows with FLBA entries */
        assert_int_equal(pqf__dict_put_bytes(&d, &i, 4, &idx, &added, &aux), PQF_OK);
    assert_int_equal(pqf__dict_put_hashed(&d, "abce", 4, 7, &idx, &added, &aux), PQF_OK);
    assert_false(added);
    assert_int_equal(idx, 1);
    pqf__dict_free(&d);
}

static void bloom_sizes_and_bits(void **state)
{
    (void)state;
    assert_int_equal(pqf__bloom_bytes_for(1000000, 0.01), 2097152);
    assert_int_equal(pqf__bloom_bytes_for(1, 0.01), 32);
    assert_int_equal(pqf__bloom_bytes_for(UINT64_C(1) << 40, 0.01), (size_t)128 << 20);
    pqf__bloom bf;
    assert_int_equal(pqf__bloom_init(&bf, 64), PQF_OK);
    /* hash 1: block (0 * 2) >> 32 = 0, word i gets bit (1 * salt[i]) >> 27 */
    pqf__bloom_insert(&bf, 1);
    static const uint32_t salt[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
                                     0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(bf.words[i], 1u << (salt[i] >> 27));
        assert_int_equal(bf.words[8 + i], 0);
    }
    /* upper half 0xFFFFFFFF picks the last block */
    pqf__bloom_insert(&bf, UINT64_C(0xFFFFFFFF00000001));
    assert_int_equal(bf.words[8], 1u << (salt[0] >> 27));
    pqf__bloom_free(&bf);

    assert_int_equal(pqf__bloom_init(&bf, pqf__bloom_bytes_for(10000, 0.01)), PQF_OK);
    for (int i = 0; i < 10000; i++)
        pqf__bloom_insert(&bf, pqf__xxh64(&i, 4));
    int fp = 0;
    for (int i = 0; i < 10000; i++) {
        assert_true(pqf__bloom_check(&bf, pqf__xxh64(&i, 4)));
        int j = i + 1000000;
        fp += pqf__bloom_check(&bf, pqf__xxh64(&j, 4));
    }
    assert_true(fp < 300); /* ~1% expected */
    pqf__buf b;
    pqf__buf_init(&b, 1 << 24);
    assert_int_equal(pqf__bloom_serialize(&bf, &b), PQF_OK);
    /* header: numBytes, then BLOCK, XXHASH, UNCOMPRESSED unions */
    assert_int_equal(b.data[0], 0x15);
    assert_int_equal(b.len - 17, (size_t)bf.nblocks * 32); /* 0x15 + varint(3) + 12 + stop */
    assert_memory_equal(b.data + b.len - (size_t)bf.nblocks * 32 - 13,
                        "\x1c\x1c\x00\x00\x1c\x1c\x00\x00\x1c\x1c\x00\x00\x00", 13);
    pqf__buf_free(&b);
    pqf__bloom_free(&bf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rle_runs_and_literals),
        cmocka_unit_test(rle_round_trips),
        cmocka_unit_test(plain_bools_pack_lsb_first),
        cmocka_unit_test(delta_binary_packed_spec_examples),
        cmocka_unit_test(delta_binary_packed_round_trips),
        cmocka_unit_test(delta_length_byte_array),
        cmocka_unit_test(byte_stream_split),
        cmocka_unit_test(dictionary_finds_and_adds),
        cmocka_unit_test(dictionary_bytes_same_hash),
        cmocka_unit_test(bloom_sizes_and_bits),
    };
    return cmocka_run_group_tests_name("encode", tests, NULL, NULL);
}
