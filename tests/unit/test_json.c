/* Unit tests: the strict JSON parser and writer (src/source/json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "source/json.h"

/* Parse then re-serialise; returns the compact text or "ERR: <message>". */
static const char *roundtrip(const char *text, const pqf__json_limits *lim)
{
    static char out[4096];
    pqf__json_doc d;
    pqf__json_doc_init(&d, lim);
    pqf__json *v;
    if (pqf__json_parse(&d, text, strlen(text), &v) != PQF_OK) {
        snprintf(out, sizeof out, "ERR: %s", d.err.msg);
    } else {
        pqf__buf b;
        pqf__buf_init(&b, 1 << 20);
        assert_int_equal(pqf__json_write(&b, v), PQF_OK);
        snprintf(out, sizeof out, "%.*s", (int)b.len, (char *)b.data);
        pqf__buf_free(&b);
    }
    pqf__json_doc_free(&d);
    return out;
}

static void parses_and_reserialises(void **state)
{
    (void)state;
    assert_string_equal(roundtrip(" {\"a\" : [1, -2.5e3, true, false, null], \"b\":{}} ", NULL),
                        "{\"a\":[1,-2.5e3,true,false,null],\"b\":{}}");
    assert_string_equal(roundtrip("\"\\u00e9\\ud83d\\ude00\\n\\\"\\/\"", NULL),
                        "\"\xc3\xa9\xf0\x9f\x98\x80\\n\\\"/\"");
    assert_string_equal(roundtrip("\"\\u0001\"", NULL), "\"\\u0001\"");
    assert_string_equal(roundtrip("[]", NULL), "[]");
    assert_string_equal(roundtrip("123456789012345678901234567890.5", NULL),
                        "123456789012345678901234567890.5");
}

static void lookups(void **state)
{
    (void)state;
    pqf__json_doc d;
    pqf__json_doc_init(&d, NULL);
    pqf__json *v;
    const char *t = "{\"id\": 7, \"tags\": [\"x\", \"y\"], \"author\": {\"name\": \"ann\"}}";
    assert_int_equal(pqf__json_parse(&d, t, strlen(t), &v), PQF_OK);
    assert_int_equal(v->len, 3);
    assert_string_equal(pqf__json_get(v, "id")->str, "7");
    assert_string_equal(pqf__json_at(pqf__json_get(v, "tags"), 1)->str, "y");
    assert_null(pqf__json_at(pqf__json_get(v, "tags"), 2));
    assert_string_equal(pqf__json_get(pqf__json_get(v, "author"), "name")->str, "ann");
    assert_null(pqf__json_get(v, "missing"));
    assert_null(pqf__json_get(pqf__json_get(v, "id"), "x"));
    pqf__json_doc_reset(&d);
    assert_int_equal(pqf__json_parse(&d, "[1]", 3, &v), PQF_OK);
    pqf__json_doc_free(&d);
}

static void strictness_with_positions(void **state)
{
    (void)state;
    assert_string_equal(roundtrip("{\"a\":1,}", NULL), "ERR: line 1, column 8: trailing comma");
    assert_string_equal(roundtrip("[01]", NULL), "ERR: line 1, column 3: leading zero in a number");
    assert_string_equal(roundtrip("{\"a\" 1}", NULL),
                        "ERR: line 1, column 6: expected ':' after an object key");
    assert_string_equal(roundtrip("{\n  \"a\": tru\n}", NULL),
                        "ERR: line 2, column 8: unexpected character");
    assert_string_equal(roundtrip("{\"a\":1,\"a\":2}", NULL),
                        "ERR: line 1, column 14: duplicate key in an object");
    assert_string_equal(roundtrip("\"a\tb\"", NULL),
                        "ERR: line 1, column 3: control character in a string");
    assert_string_equal(roundtrip("\"\\ud800\"", NULL),
                        "ERR: line 1, column 2: lone surrogate in \\u escape");
    assert_string_equal(roundtrip("\"\xc3\x28\"", NULL),
                        "ERR: line 1, column 2: invalid UTF-8 in a string");
    assert_string_equal(roundtrip("1 2", NULL),
                        "ERR: line 1, column 3: unexpected text after the JSON value");
    assert_string_equal(roundtrip("NaN", NULL), "ERR: line 1, column 1: unexpected character");
    assert_string_equal(roundtrip("[1.]", NULL),
                        "ERR: line 1, column 4: digit expected after the decimal point");
    assert_string_equal(roundtrip("", NULL), "ERR: line 1, column 1: unexpected end of input");
    assert_string_equal(roundtrip("[1", NULL), "ERR: line 1, column 3: expected ',' or ']'");
    assert_string_equal(roundtrip("// c\n1", NULL), "ERR: line 1, column 1: unexpected character");
}

static void limits(void **state)
{
    (void)state;
    pqf__json_limits lim = {.max_depth = 3, .max_string = 4, .max_number = 5};
    assert_string_equal(roundtrip("[[[1]]]", &lim), "[[[1]]]");
    assert_string_equal(roundtrip("[[[[1]]]]", &lim), "ERR: line 1, column 4: nesting too deep");
    assert_string_equal(roundtrip("\"abcd\"", &lim), "\"abcd\"");
    assert_string_equal(roundtrip("\"abcde\"", &lim), "ERR: line 1, column 1: string too long");
    assert_string_equal(roundtrip("123456", &lim), "ERR: line 1, column 1: number too long");
    pqf__json_limits small = {.max_arena = 1024};
    char big[4000];
    size_t n = 0;
    big[n++] = '[';
    for (int i = 0; i < 500; i++) {
        big[n++] = '1';
        big[n++] = ',';
    }
    big[n++] = '1';
    big[n++] = ']';
    big[n] = 0;
    const char *r = roundtrip(big, &small); /* the column depends on the node size */
    assert_memory_equal(r, "ERR: line 1, column ", 20);
    assert_string_equal(r + strlen(r) - 20, ": document too large");
    /* a deep bomb never recurses past the cap */
    char deep[20001];
    memset(deep, '[', 20000);
    deep[20000] = 0;
    assert_string_equal(roundtrip(deep, NULL), "ERR: line 1, column 65: nesting too deep");
}

static void writer_escapes(void **state)
{
    (void)state;
    pqf__buf b;
    pqf__buf_init(&b, 64);
    assert_int_equal(pqf__json_write_str(&b, "a\"b\\c\n\x7f\x1f", 8), PQF_OK);
    assert_int_equal(b.len, strlen("\"a\\\"b\\\\c\\n\x7f\\u001f\""));
    assert_memory_equal(b.data, "\"a\\\"b\\\\c\\n\x7f\\u001f\"", b.len);
    pqf__buf_free(&b);
    pqf__buf_init(&b, 4);
    assert_int_equal(pqf__json_write_str(&b, "abcdef", 6), PQF_ERR_LIMIT);
    pqf__buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_and_reserialises),
        cmocka_unit_test(lookups),
        cmocka_unit_test(strictness_with_positions),
        cmocka_unit_test(limits),
        cmocka_unit_test(writer_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
