/* Unit tests: statistics in each column order (parquet.thrift ColumnOrder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "base/base.h"
#include "parquet/stats.h"
#include "testutil.h"

typedef struct enc {
    pqf__buf min, max;
    pqf__stats_enc e;
} enc;

static void encode(const pqf__stats *s, bool utf8, size_t max_bytes, enc *o)
{
    pqf__buf_init(&o->min, 1 << 20);
    pqf__buf_init(&o->max, 1 << 20);
    assert_int_equal(pqf__stats_encode(s, true, utf8, max_bytes, &o->min, &o->max, &o->e), PQF_OK);
}

static void enc_free(enc *o)
{
    pqf__buf_free(&o->min);
    pqf__buf_free(&o->max);
}

static void orders_follow_the_logical_type(void **state)
{
    (void)state;
    pqf_logical u = {.kind = PQF_LT_INT, .bit_width = 32, .is_signed = false};
    pqf_logical dec = {.kind = PQF_LT_DECIMAL, .precision = 10, .scale = 2};
    pqf_logical str = {.kind = PQF_LT_STRING};
    assert_int_equal(pqf__order_for(PQF_INT32, NULL), PQF__ORD_I32);
    assert_int_equal(pqf__order_for(PQF_INT32, &u), PQF__ORD_U32);
    u.bit_width = 64;
    assert_int_equal(pqf__order_for(PQF_INT64, &u), PQF__ORD_U64);
    assert_int_equal(pqf__order_for(PQF_FIXED_LEN_BYTE_ARRAY, &dec), PQF__ORD_DECIMAL);
    assert_int_equal(pqf__order_for(PQF_FIXED_LEN_BYTE_ARRAY, NULL), PQF__ORD_BYTES);
    assert_int_equal(pqf__order_for(PQF_BYTE_ARRAY, &str), PQF__ORD_BYTES);
    assert_int_equal(pqf__order_for(PQF_INT32, &dec), PQF__ORD_I32);
}

static void signed_and_unsigned_integers(void **state)
{
    (void)state;
    pqf__stats s, u;
    pqf__stats_init(&s, PQF__ORD_I32);
    pqf__stats_init(&u, PQF__ORD_U32);
    int32_t vals[] = {5, -1, 7, 0};
    for (int i = 0; i < 4; i++) {
        pqf__stats_int(&s, vals[i]);
        pqf__stats_uint(&u, (uint32_t)vals[i]);
    }
    enc a, b;
    encode(&s, false, 64, &a);
    encode(&u, false, 64, &b);
    assert_int_equal((int32_t)pqf__load32le(a.min.data), -1);
    assert_int_equal((int32_t)pqf__load32le(a.max.data), 7);
    assert_int_equal(pqf__load32le(b.min.data), 0);
    assert_int_equal(pqf__load32le(b.max.data), 0xFFFFFFFFu); /* -1 is the largest unsigned */
    assert_true(a.e.min_exact && a.e.max_exact);
    enc_free(&a);
    enc_free(&b);
    pqf__stats_free(&s);
    pqf__stats_free(&u);

    pqf__stats_init(&u, PQF__ORD_U64);
    pqf__stats_uint(&u, UINT64_C(18000000000000000000));
    pqf__stats_uint(&u, 3);
    encode(&u, false, 64, &a);
    assert_int_equal(pqf__load64le(a.min.data), 3);
    assert_int_equal(pqf__load64le(a.max.data), UINT64_C(18000000000000000000));
    enc_free(&a);
    pqf__stats_free(&u);
}

static void strings_compare_bytewise_unsigned(void **state)
{
    (void)state;
    pqf__stats s;
    pqf__stats_init(&s, PQF__ORD_BYTES);
    const char *v[] = {"b", "\xc3\xa9", "B", "ba", ""};
    for (int i = 0; i < 5; i++)
        assert_int_equal(pqf__stats_bytes(&s, v[i], strlen(v[i])), PQF_OK);
    enc a;
    encode(&s, true, 64, &a);
    assert_int_equal(a.min.len, 0); /* the empty string is smallest */
    assert_int_equal(a.max.len, 2);
    assert_memory_equal(a.max.data, "\xc3\xa9", 2); /* 0xC3 > 'b' unsigned */
    enc_free(&a);
    pqf__stats_free(&s);
}

/* Byte minimum and maximum against a plain memcmp over many short values
 * whose first 8 bytes often tie or hold zero bytes (the stats skip the full
 * compare when 8-byte prefixes decide). */
static int bytes_cmp(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

static void bytes_bounds_match_memcmp(void **state)
{
    (void)state;
    static const uint8_t alpha[] = {0x00, 0x01, 'a', 'b', 0x7f, 0x80, 0xff};
    for (int round = 0; round < 200; round++) {
        pqf__stats s;
        pqf__stats_init(&s, PQF__ORD_BYTES);
        uint8_t lo[16], hi[16], v[16];
        size_t nlo = 0, nhi = 0;
        int nvals = 1 + (int)(tu_rnd() % 40);
        for (int i = 0; i < nvals; i++) {
            size_t n = (size_t)(tu_rnd() % 13);
            /* a shared start makes prefixes tie */
            for (size_t k = 0; k < n; k++)
                v[k] = k < 6 && (tu_rnd() & 3) ? (uint8_t)'a' : alpha[tu_rnd() % sizeof alpha];
            assert_int_equal(pqf__stats_bytes(&s, v, n), PQF_OK);
            if (i == 0 || bytes_cmp(v, n, lo, nlo) < 0) {
                memcpy(lo, v, n);
                nlo = n;
            }
            if (i == 0 || bytes_cmp(v, n, hi, nhi) > 0) {
                memcpy(hi, v, n);
                nhi = n;
            }
        }
        assert_int_equal(s.bmin.len, nlo);
        assert_int_equal(s.bmax.len, nhi);
        if (nlo)
            assert_memory_equal(s.bmin.data, lo, nlo);
        if (nhi)
            assert_memory_equal(s.bmax.data, hi, nhi);
        pqf__stats_free(&s);
    }
}

static void decimals_compare_signed_big_endian(void **state)
{
    (void)state;
    pqf__stats s;
    pqf__stats_init(&s, PQF__ORD_DECIMAL);
    const uint8_t m1[2] = {0xFF, 0xFF}, p1[2] = {0x00, 0x01}, m256[2] = {0xFF, 0x00},
                  big[2] = {0x7F, 0xFF};
    pqf__stats_bytes(&s, p1, 2);
    pqf__stats_bytes(&s, m1, 2);
    pqf__stats_bytes(&s, big, 2);
    pqf__stats_bytes(&s, m256, 2);
    enc a;
    encode(&s, false, 1, &a); /* decimals are never truncated */
    assert_memory_equal(a.min.data, m256, 2);
    assert_memory_equal(a.max.data, big, 2);
    assert_true(pqf__stats_cmp(PQF__ORD_DECIMAL, m1, 2, p1, 2) < 0);
    assert_true(pqf__stats_cmp(PQF__ORD_BYTES, m1, 2, p1, 2) > 0);
    const uint8_t short_m1[1] = {0xFF};
    assert_int_equal(pqf__stats_cmp(PQF__ORD_DECIMAL, short_m1, 1, m1, 2), 0);
    enc_free(&a);
    pqf__stats_free(&s);
}

static void floats_skip_nan_and_normalise_zero(void **state)
{
    (void)state;
    pqf__stats s;
    pqf__stats_init(&s, PQF__ORD_DOUBLE);
    pqf__stats_real(&s, NAN);
    pqf__stats_real(&s, 0.0);
    pqf__stats_real(&s, -0.0);
    pqf__stats_real(&s, NAN);
    enc a;
    encode(&s, false, 64, &a);
    assert_int_equal(s.nans, 2);
    double mn, mx;
    memcpy(&mn, a.min.data, 8);
    memcpy(&mx, a.max.data, 8);
    assert_true(mn == 0 && signbit(mn));  /* min zero is written -0.0 */
    assert_true(mx == 0 && !signbit(mx)); /* max zero is written +0.0 */
    enc_free(&a);
    pqf__stats_reset(&s);
    pqf__stats_real(&s, NAN);
    encode(&s, false, 64, &a);
    assert_false(a.e.has_min); /* all NaN: no bounds */
    assert_false(a.e.has_max);
    enc_free(&a);
    pqf__stats_free(&s);

    pqf__stats_init(&s, PQF__ORD_FLOAT);
    pqf__stats_real(&s, 1.5f);
    pqf__stats_real(&s, -2.25f);
    pqf__stats_real(&s, INFINITY);
    encode(&s, false, 64, &a);
    float f;
    assert_int_equal(a.min.len, 4);
    memcpy(&f, a.min.data, 4);
    assert_true(f == -2.25f);
    memcpy(&f, a.max.data, 4);
    assert_true(isinf(f));
    enc_free(&a);
    pqf__stats_free(&s);
}

static void long_binary_bounds_are_truncated(void **state)
{
    (void)state;
    pqf__stats s;
    pqf__stats_init(&s, PQF__ORD_BYTES);
    char lo[100], hi[100];
    memset(lo, 'a', sizeof lo);
    memset(hi, 'z', sizeof hi);
    pqf__stats_bytes(&s, lo, sizeof lo);
    pqf__stats_bytes(&s, hi, sizeof hi);
    enc a;
    encode(&s, false, 8, &a);
    assert_int_equal(a.min.len, 8);
    assert_memory_equal(a.min.data, "aaaaaaaa", 8);
    assert_int_equal(a.max.len, 8);
    assert_memory_equal(a.max.data, "zzzzzzz{", 8); /* rounded up past every "zzzzzzzz..." */
    assert_false(a.e.min_exact);
    assert_false(a.e.max_exact);
    enc_free(&a);

    /* 0xFF bytes cannot be bumped: drop them; all 0xFF: no max at all */
    pqf__stats_reset(&s);
    uint8_t ff[20];
    memset(ff, 0xFF, sizeof ff);
    ff[0] = 0x10;
    pqf__stats_bytes(&s, ff, sizeof ff);
    encode(&s, false, 8, &a);
    assert_int_equal(a.max.len, 1);
    assert_int_equal(a.max.data[0], 0x11);
    enc_free(&a);
    pqf__stats_reset(&s);
    memset(ff, 0xFF, sizeof ff);
    pqf__stats_bytes(&s, ff, sizeof ff);
    encode(&s, false, 8, &a);
    assert_true(a.e.has_min);
    assert_false(a.e.has_max);
    enc_free(&a);

    /* UTF-8: cut at a character boundary, bump only ASCII */
    pqf__stats_reset(&s);
    const char *u = "ab\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"; /* ab + 4 x e-acute */
    pqf__stats_bytes(&s, u, strlen(u));
    encode(&s, true, 5, &a);
    assert_int_equal(a.min.len, 4); /* "ab\xc3\xa9", not half a character */
    assert_int_equal(a.max.len, 2);
    assert_memory_equal(a.max.data, "ac", 2);
    enc_free(&a);
    /* short values stay exact */
    pqf__stats_reset(&s);
    pqf__stats_bytes(&s, "abc", 3);
    encode(&s, true, 5, &a);
    assert_true(a.e.min_exact && a.e.max_exact);
    assert_int_equal(a.max.len, 3);
    enc_free(&a);
    pqf__stats_free(&s);
}

static void merge_combines_pages(void **state)
{
    (void)state;
    pqf__stats p1, p2, c;
    pqf__stats_init(&p1, PQF__ORD_I64);
    pqf__stats_init(&p2, PQF__ORD_I64);
    pqf__stats_init(&c, PQF__ORD_I64);
    pqf__stats_int(&p1, 10);
    p1.nulls = 2;
    pqf__stats_int(&p2, -5);
    pqf__stats_int(&p2, 3);
    p2.nulls = 1;
    pqf__stats_merge(&c, &p1);
    pqf__stats_merge(&c, &p2);
    assert_int_equal(c.min.i, -5);
    assert_int_equal(c.max.i, 10);
    assert_int_equal(c.nulls, 3);
    pqf__stats_free(&p1);
    pqf__stats_free(&p2);
    pqf__stats_free(&c);
    pqf__stats_init(&p1, PQF__ORD_BYTES);
    pqf__stats_init(&c, PQF__ORD_BYTES);
    pqf__stats_bytes(&p1, "m", 1);
    pqf__stats_merge(&c, &p1);
    pqf__stats_reset(&p1);
    pqf__stats_bytes(&p1, "a", 1);
    pqf__stats_bytes(&p1, "q", 1);
    pqf__stats_merge(&c, &p1);
    assert_memory_equal(c.bmin.data, "a", 1);
    assert_memory_equal(c.bmax.data, "q", 1);
    pqf__stats_free(&p1);
    pqf__stats_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(orders_follow_the_logical_type),
        cmocka_unit_test(bytes_bounds_match_memcmp),
        cmocka_unit_test(signed_and_unsigned_integers),
        cmocka_unit_test(strings_compare_bytewise_unsigned),
        cmocka_unit_test(decimals_compare_signed_big_endian),
        cmocka_unit_test(floats_skip_nan_and_normalise_zero),
        cmocka_unit_test(long_binary_bounds_are_truncated),
        cmocka_unit_test(merge_combines_pages),
    };
    return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
