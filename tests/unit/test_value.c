/* Unit tests: text -> typed value conversion (src/source/value.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "source/value.h"

#define S(x) x, strlen(x)

static void integers_with_range_checks(void **state)
{
    (void)state;
    int64_t v;
    assert_true(pqf__parse_i64(S("0"), &v) && v == 0);
    assert_true(pqf__parse_i64(S("-9223372036854775808"), &v) && v == INT64_MIN);
    assert_true(pqf__parse_i64(S("+9223372036854775807"), &v) && v == INT64_MAX);
    assert_false(pqf__parse_i64(S("9223372036854775808"), &v));
    assert_false(pqf__parse_i64(S("12a"), &v));
    assert_false(pqf__parse_i64(S("-"), &v));
    assert_false(pqf__parse_i64(S(""), &v));
    assert_false(pqf__parse_i64(S("1.0"), &v));

    pqf_node_info ni = {.physical = PQF_INT32,
                        .logical = {.kind = PQF_LT_INT, .bit_width = 8, .is_signed = true}};
    pqf__conv c;
    pqf__val val;
    assert_null(pqf__conv_init(&c, &ni));
    assert_null(pqf__value_parse(&c, S("-128"), &val));
    assert_int_equal(val.u.i32, -128);
    assert_string_equal(pqf__value_parse(&c, S("128"), &val), "out of range");
    assert_string_equal(pqf__value_parse(&c, S("x"), &val), "not an integer");
    ni.logical.is_signed = false;
    ni.logical.bit_width = 32;
    assert_null(pqf__conv_init(&c, &ni));
    assert_null(pqf__value_parse(&c, S("4294967295"), &val));
    assert_int_equal((uint32_t)val.u.i32, 4294967295u);
    assert_string_equal(pqf__value_parse(&c, S("-1"), &val), "out of range");
    char d[32];
    pqf__conv_describe(&c, d, sizeof d);
    assert_string_equal(d, "uint32");
}

static void doubles_exact_and_fallback(void **state)
{
    (void)state;
    double d;
    assert_true(pqf__parse_double(S("1234.567"), &d) && d == 1234.567);
    assert_true(pqf__parse_double(S("-0.1"), &d) && d == -0.1);
    assert_true(pqf__parse_double(S("1e22"), &d) && d == 1e22);
    assert_true(pqf__parse_double(S("2.2250738585072014e-308"), &d) && d == 2.2250738585072014e-308);
    assert_true(pqf__parse_double(S("0.30000000000000004441"), &d) && d == 0.30000000000000004441);
    assert_true(pqf__parse_double(S(".5"), &d) && d == 0.5);
    assert_true(pqf__parse_double(S("-inf"), &d) && isinf(d) && d < 0);
    assert_true(pqf__parse_double(S("NaN"), &d) && isnan(d));
    assert_false(pqf__parse_double(S("1e"), &d));
    assert_false(pqf__parse_double(S("0x10"), &d));
    assert_false(pqf__parse_double(S("."), &d));
    assert_false(pqf__parse_double(S("1.2.3"), &d));
}

static void booleans(void **state)
{
    (void)state;
    bool b;
    assert_true(pqf__parse_bool(S("TRUE"), &b) && b);
    assert_true(pqf__parse_bool(S("f"), &b) && !b);
    assert_true(pqf__parse_bool(S("1"), &b) && b);
    assert_false(pqf__parse_bool(S("yes"), &b));
    assert_false(pqf__parse_bool(S("2"), &b));
}

static void decimals_are_exact(void **state)
{
    (void)state;
    __int128 x;
    assert_null(pqf__parse_decimal(S("123.45"), 18, 2, &x));
    assert_true(x == 12345);
    assert_null(pqf__parse_decimal(S("-0.5"), 18, 2, &x));
    assert_true(x == -50);
    assert_null(pqf__parse_decimal(S("7"), 18, 2, &x));
    assert_true(x == 700);
    assert_null(pqf__parse_decimal(S("1.2300"), 5, 2, &x)); /* trailing zeros are fine */
    assert_true(x == 123);
    assert_string_equal(pqf__parse_decimal(S("1.234"), 18, 2, &x), "has too many decimal places");
    assert_string_equal(pqf__parse_decimal(S("1234"), 5, 2, &x), "out of range");
    assert_null(pqf__parse_decimal(S("00999.99"), 5, 2, &x));
    assert_string_equal(pqf__parse_decimal(S("1e3"), 18, 2, &x), "not a decimal number");
    assert_string_equal(pqf__parse_decimal(S("-"), 18, 2, &x), "not a decimal number");
    /* 38 digits */
    assert_null(pqf__parse_decimal(S("99999999999999999999999999999999999999"), 38, 0, &x));

    /* big-endian two's complement on FIXED_LEN_BYTE_ARRAY */
    pqf_node_info ni = {.physical = PQF_FIXED_LEN_BYTE_ARRAY,
                        .type_length = 9,
                        .logical = {.kind = PQF_LT_DECIMAL, .precision = 20, .scale = 2}};
    pqf__conv c;
    pqf__val v;
    assert_null(pqf__conv_init(&c, &ni));
    assert_null(pqf__value_parse(&c, S("-0.01"), &v));
    assert_int_equal(v.n, 9);
    assert_memory_equal(v.p, "\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9);
    assert_null(pqf__value_parse(&c, S("2.56"), &v));
    assert_memory_equal(v.p, "\0\0\0\0\0\0\0\x01\x00", 9);
    ni.physical = PQF_INT64;
    ni.logical.precision = 18;
    assert_null(pqf__conv_init(&c, &ni));
    assert_null(pqf__value_parse(&c, S("-12.30"), &v));
    assert_int_equal(v.u.i64, -1230);
}

static void dates_times_timestamps(void **state)
{
    (void)state;
    int32_t days;
    assert_true(pqf__parse_date(S("1970-01-01"), &days) && days == 0);
    assert_true(pqf__parse_date(S("2000-02-29"), &days) && days == 11016);
    assert_true(pqf__parse_date(S("1969-12-31"), &days) && days == -1);
    assert_false(pqf__parse_date(S("1900-02-29"), &days));
    assert_false(pqf__parse_date(S("2024-13-01"), &days));
    assert_false(pqf__parse_date(S("2024-1-01"), &days));
    int64_t ns;
    assert_true(pqf__parse_time(S("23:59:59.5"), &ns) && ns == 86399500000000LL);
    assert_false(pqf__parse_time(S("24:00:00"), &ns));

    pqf_node_info ni = {.physical = PQF_INT64,
                        .logical = {.kind = PQF_LT_TIMESTAMP, .unit = PQF_MICROS, .utc = true}};
    pqf__conv c;
    pqf__val v;
    assert_null(pqf__conv_init(&c, &ni));
    assert_null(pqf__value_parse(&c, S("2024-03-01T12:00:00Z"), &v));
    assert_int_equal(v.u.i64, 1709294400000000LL);
    assert_null(pqf__value_parse(&c, S("2024-03-01T14:30:00.25+02:30"), &v));
    assert_int_equal(v.u.i64, 1709294400250000LL);
    assert_null(pqf__value_parse(&c, S("2024-03-01 07:00:00-0500"), &v));
    assert_int_equal(v.u.i64, 1709294400000000LL);
    assert_null(pqf__value_parse(&c, S("2024-03-01"), &v));
    assert_int_equal(v.u.i64, 1709251200000000LL);
    assert_string_equal(pqf__value_parse(&c, S("2024-03-01T12:00:00.0000001Z"), &v),
                        "more precise than the column's unit");
    assert_null(pqf__value_parse(&c, S("2024-03-01T12:00"), &v));
    assert_string_equal(pqf__value_parse(&c, S("2024-03-01T25:00:00"), &v),
                        "not an ISO-8601 timestamp");
    ni.logical.utc = false;
    assert_null(pqf__conv_init(&c, &ni));
    assert_string_equal(pqf__value_parse(&c, S("2024-03-01T12:00:00Z"), &v),
                        "has a UTC offset but the column is a local timestamp");
    ni.logical.unit = PQF_NANOS;
    assert_null(pqf__conv_init(&c, &ni));
    assert_string_equal(pqf__value_parse(&c, S("2500-01-01T00:00:00"), &v), "out of range");
}

static void uuid_and_utf8(void **state)
{
    (void)state;
    uint8_t u[16];
    assert_true(pqf__parse_uuid(S("123e4567-e89b-12d3-a456-426614174000"), u));
    assert_memory_equal(u, "\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00", 16);
    assert_true(pqf__parse_uuid(S("{123E4567-E89B-12D3-A456-426614174000}"), u));
    assert_false(pqf__parse_uuid(S("123e4567-e89b-12d3-a456-42661417400"), u));
    assert_false(pqf__parse_uuid(S("123e4567xe89b-12d3-a456-426614174000"), u));
    assert_true(pqf__utf8_valid(S("plain ascii text, long enough")));
    assert_true(pqf__utf8_valid(S("h\xc3\xa9llo \xf0\x9f\x98\x80")));
    assert_false(pqf__utf8_valid(S("\xc0\xaf")));         /* overlong */
    assert_false(pqf__utf8_valid(S("\xed\xa0\x80")));     /* surrogate */
    assert_false(pqf__utf8_valid(S("abcdefgh\xe2\x82"))); /* truncated */
    pqf_node_info ni = {.physical = PQF_BYTE_ARRAY, .logical = {.kind = PQF_LT_STRING}};
    pqf__conv c;
    pqf__val v;
    assert_null(pqf__conv_init(&c, &ni));
    assert_string_equal(pqf__value_parse(&c, S("\xff"), &v), "invalid UTF-8");
}

/* The padded fast path (CSV hot loop) must agree with the reference parser
 * on every input: same result, same value, same error text. A deterministic
 * mix of valid, edge and mutated spellings per column type. */
static void padded_parser_agrees_with_reference(void **state)
{
    (void)state;
    static const pqf_node_info types[] = {
        {.physical = PQF_INT64},
        {.physical = PQF_INT32},
        {.physical = PQF_INT32, .logical = {.kind = PQF_LT_INT, .bit_width = 16, .is_signed = true}},
        {.physical = PQF_DOUBLE},
        {.physical = PQF_BOOLEAN},
        {.physical = PQF_INT64, .logical = {.kind = PQF_LT_DECIMAL, .precision = 18, .scale = 2}},
        {.physical = PQF_INT32, .logical = {.kind = PQF_LT_DATE}},
        {.physical = PQF_INT64,
         .logical = {.kind = PQF_LT_TIMESTAMP, .unit = PQF_MICROS, .utc = true}},
        {.physical = PQF_BYTE_ARRAY, .logical = {.kind = PQF_LT_STRING}},
        /* each timestamp unit has its own fast path */
        {.physical = PQF_INT64,
         .logical = {.kind = PQF_LT_TIMESTAMP, .unit = PQF_MILLIS, .utc = true}},
        {.physical = PQF_INT64,
         .logical = {.kind = PQF_LT_TIMESTAMP, .unit = PQF_NANOS, .utc = true}},
        {.physical = PQF_INT64,
         .logical = {.kind = PQF_LT_TIMESTAMP, .unit = PQF_MICROS, .utc = false}},
    };
    static const char *seeds[] = {
        "0", "-1", "42", "+7", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "2147483647", "2147483648", "-32768", "32768", "007",
        "1.5", "-0.25", "1e10", "1.7976931348623157e308", "nan", "inf", "-", "", " 1",
        "true", "false", "t", "f", "1", "0", "TRUE", "yes",
        "123.45", "-123.45", "123.456", "99999999999999999.99", "0.1", ".5", "5.",
        "2026-01-05", "2026-02-30", "1970-01-01", "9999-12-31", "2026-1-5",
        "2026-01-05T01:02:03Z", "2026-01-05T01:02:03.123456Z", "2026-01-05T01:02:03.1234567Z",
        "2026-01-05 01:02:03+02:00", "2026-01-05T24:00:00Z", "2026-01-05T01:02:03",
        "hello", "h\xc3\xa9llo", "bad\xff", "a,b",
        /* calendar edges: year 0, leap rules, the last day */
        "0000-01-01", "0000-02-29", "0000-03-01", "0001-01-01", "1900-02-29", "2000-02-29",
        "2023-02-29", "2024-02-29", "2100-02-29", "9999-12-31", "1969-12-31",
        /* unit edges: sub-unit digits, int64 nanoseconds' range and past it */
        "2026-01-05T01:02:03.123Z", "2026-01-05T01:02:03.1234Z", "2026-01-05T01:02:03.000001Z",
        "2262-04-11T23:47:16.854775807Z", "2262-04-11T23:47:16.854775808Z",
        "1677-09-21T00:12:43.145224192Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z",
        "2026-01-05T01:02:03.123456789",
        /* signs (the fast paths take them without a branch), zeros, digit counts */
        "-0", "+0", "-0.0", "+0.5", "+-1", "--1", "-+1", "+", "0.00", "-0.00", "00.5", "-00",
        "-9999999999999999", "-99999999999999999", "9999999999999999.9", "1234567890123456.5",
        "9007199254740992", "9007199254740993", "-9007199254740992.0", "-2147483648", "-2147483649",
        "-32769", "true ", "truee", "fals", "falsee", "False",
        /* ASCII test at 32 bytes (one SIMD test) and past it (the loop) */
        "abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz0123456",
        "abcdefghijklmnopqrstuvwxyz01234\xc3\xa9", "abcdefghijklmnopqrstuvwxyz0123\xc3\xa9",
        "abcdefghijklmnopqrstuvwxyz012345\xff", "abcdefghijklmnopqrstuvwxyz01234\xff", "\x80"};
    uint64_t x = 0x9E3779B97F4A7C15ull;
    long checked = 0;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        pqf__conv c;
        assert_null(pqf__conv_init(&c, &types[t]));
        for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
            for (int m = 0; m < 40; m++) {
                char in[96];
                size_t n = strlen(seeds[k]);
                memcpy(in, seeds[k], n);
                if (m > 0 && n > 0) { /* mutate one byte, or cut the tail */
                    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                    size_t at = (size_t)(x % n);
                    if (m % 3 == 0)
                        n = at;
                    else
                        in[at] = "0123456789.-+eE:TZ x"[(x >> 32) % 20];
                }
                char padded[96 + PQF__PARSE_PAD];
                memset(padded, 0, sizeof padded);
                memcpy(padded, in, n);
                pqf__val a, b;
                memset(&a, 0, sizeof a);
                memset(&b, 0, sizeof b);
                const char *ea = pqf__value_parse(&c, in, n, &a);
                const char *eb = pqf__value_parse_padded(&c, padded, n, &b);
                if ((ea == NULL) != (eb == NULL) || (ea && strcmp(ea, eb) != 0))
                    fail_msg("type %zu input '%.*s': reference says %s, fast path %s", t, (int)n,
                             in, ea ? ea : "ok", eb ? eb : "ok");
                if (!ea) {
                    if (c.phys == PQF_BYTE_ARRAY)
                        assert_true(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
                    else if (c.phys == PQF_DOUBLE)
                        assert_true(memcmp(&a.u.d, &b.u.d, sizeof a.u.d) == 0 ||
                                    (isnan(a.u.d) && isnan(b.u.d)));
                    else if (c.phys == PQF_BOOLEAN)
                        assert_int_equal(a.u.b, b.u.b);
                    else if (c.phys == PQF_INT32)
                        assert_int_equal(a.u.i32, b.u.i32);
                    else
                        assert_true(a.u.i64 == b.u.i64);
                }
                checked++;
            }
        }
    }
    assert_true(checked > 10000);
}

/* The fast date path's inlined day count agrees with pqf__value_parse on the
 * first, the 28th and the 29th to 31st of every month of years 0 to 9999
 * (valid or not). */
static void fast_dates_agree_for_every_year(void **state)
{
    (void)state;
    pqf_node_info date = {.physical = PQF_INT32, .logical = {.kind = PQF_LT_DATE}};
    pqf__conv c;
    assert_null(pqf__conv_init(&c, &date));
    static const int days[] = {1, 28, 29, 30, 31};
    long ok = 0;
    for (int y = 0; y <= 9999; y++)
        for (int m = 1; m <= 12; m++)
            for (int k = 0; k < 5; k++) {
                char padded[16 + PQF__PARSE_PAD];
                memset(padded, 0, sizeof padded);
                snprintf(padded, sizeof padded, "%04d-%02d-%02d", y, m, days[k]);
                pqf__val a, b;
                const char *ea = pqf__value_parse(&c, padded, 10, &a);
                const char *eb = pqf__value_parse_padded(&c, padded, 10, &b);
                if ((ea == NULL) != (eb == NULL) || (!ea && a.u.i32 != b.u.i32))
                    fail_msg("%s: reference %s %d, fast path %s %d", padded, ea ? ea : "ok",
                             ea ? 0 : a.u.i32, eb ? eb : "ok", eb ? 0 : b.u.i32);
                ok += ea == NULL;
            }
    assert_true(ok > 10000L * 12 * 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_with_range_checks),
        cmocka_unit_test(doubles_exact_and_fallback),
        cmocka_unit_test(booleans),
        cmocka_unit_test(decimals_are_exact),
        cmocka_unit_test(dates_times_timestamps),
        cmocka_unit_test(uuid_and_utf8),
        cmocka_unit_test(padded_parser_agrees_with_reference),
        cmocka_unit_test(fast_dates_agree_for_every_year),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
