/* Unit tests: schema inference (src/source/infer.c) and schema files
 * (src/source/schemafile.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pqfeed/source.h"

#include "testutil.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir(dir, sizeof dir, "infer");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(dir);
}

/* Write text to dir/name, infer, return the schema file JSON without spaces/newlines. */
static char *infer(const char *name, const char *text, uint64_t rows)
{
    static char out[8192];
    char path[256];
    tu_write(path, sizeof path, dir, name, text);
    pqf_schema *s = NULL;
    pqf_error e = {0};
    if (pqf_schema_infer(path, NULL, rows, &s, &e) != PQF_OK) {
        snprintf(out, sizeof out, "ERR %s", e.msg);
        return out;
    }
    char *js;
    size_t n;
    assert_int_equal(pqf_schema_to_json(s, &js, &n, &e), PQF_OK);
    size_t w = 0;
    for (size_t i = 0; i < n && w + 1 < sizeof out; i++)
        if (js[i] != ' ' && js[i] != '\n')
            out[w++] = js[i];
    out[w] = 0;
    free(js);
    pqf_schema_free(s);
    return out;
}

static void csv_scalar_types_and_widening(void **state)
{
    (void)state;
    const char *csv = "i,d,mix,f,b,day,ts,s,n\n"
                      "1,1.50,1,1e3,true,2024-01-01,2024-01-01T00:00:00Z,x,\n"
                      "-2,2.25,2.5,0.5,false,2024-02-29,2024-01-01,y,\n"
                      "3,7,abc,2,TRUE,2024-03-01,2024-01-01 10:00:00.5+01:00,3,\n";
    assert_string_equal(infer("a.csv", csv, 100),
                        "{\"columns\":["
                        "{\"name\":\"i\",\"type\":\"int64\",\"nullable\":false},"
                        "{\"name\":\"d\",\"type\":\"decimal(18,2)\",\"nullable\":false},"
                        "{\"name\":\"mix\",\"type\":\"string\",\"nullable\":false},"
                        "{\"name\":\"f\",\"type\":\"double\",\"nullable\":false},"
                        "{\"name\":\"b\",\"type\":\"bool\",\"nullable\":false},"
                        "{\"name\":\"day\",\"type\":\"date\",\"nullable\":false},"
                        "{\"name\":\"ts\",\"type\":\"timestamp_us\",\"nullable\":false},"
                        "{\"name\":\"s\",\"type\":\"string\",\"nullable\":false},"
                        "{\"name\":\"n\",\"type\":\"string\"}]}");
}

static void decimal_rule_and_sample_size(void **state)
{
    (void)state;
    /* different scales -> double; only the first row sampled -> decimal(18,1) */
    const char *csv = "x,y\n1.5,1\n1.25,\n";
    assert_string_equal(infer("b.csv", csv, 100),
                        "{\"columns\":[{\"name\":\"x\",\"type\":\"double\",\"nullable\":false},"
                        "{\"name\":\"y\",\"type\":\"int64\"}]}");
    assert_string_equal(infer("b.csv", csv, 1),
                        "{\"columns\":[{\"name\":\"x\",\"type\":\"decimal(18,1)\",\"nullable\":false},"
                        "{\"name\":\"y\",\"type\":\"int64\",\"nullable\":false}]}");
    /* more than 18 digits in total -> double */
    assert_string_equal(infer("c.csv", "v\n1234567890123456.789\n", 10),
                        "{\"columns\":[{\"name\":\"v\",\"type\":\"double\",\"nullable\":false}]}");
}

static void ndjson_nested(void **state)
{
    (void)state;
    const char *nd = "{\"id\":1,\"tags\":[\"a\"],\"author\":{\"id\":7,\"name\":\"ann\"},\"v\":1}\n"
                     "{\"id\":2,\"tags\":[],\"author\":{\"id\":8},\"v\":2.5,\"odd\":1}\n"
                     "{\"id\":3,\"tags\":null,\"author\":{\"id\":9,\"name\":null},\"v\":3,\"odd\":[1]}\n";
    assert_string_equal(
        infer("d.ndjson", nd, 100),
        "{\"columns\":["
        "{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
        "{\"name\":\"tags\",\"type\":{\"list\":\"string\"}},"
        "{\"name\":\"author\",\"type\":{\"struct\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
        "{\"name\":\"name\",\"type\":\"string\"}]},\"nullable\":false},"
        "{\"name\":\"v\",\"type\":\"double\",\"nullable\":false},"
        "{\"name\":\"odd\",\"type\":\"json\"}]}");
    char want[256];
    snprintf(want, sizeof want, "ERR %s/e.ndjson:1: expected an object, found array", dir);
    assert_string_equal(infer("e.ndjson", "[1]\n", 10), want);
}

static void schema_file_roundtrip_and_errors(void **state)
{
    (void)state;
    const char *js =
        "{\"columns\":[{\"name\":\"a\",\"type\":\"uint16\",\"field_id\":3},"
        "{\"name\":\"b\",\"type\":\"decimal(30,4)\"},"
        "{\"name\":\"c\",\"type\":\"decimal(8,2)\",\"physical\":\"int64\"},"
        "{\"name\":\"t\",\"type\":\"timestamp_ns\",\"utc\":false},"
        "{\"name\":\"u\",\"type\":\"uuid\",\"nullable\":false},"
        "{\"name\":\"l\",\"type\":{\"list\":{\"type\":{\"list\":\"int32\"},\"nullable\":false}}},"
        "{\"name\":\"s\",\"type\":{\"struct\":[{\"name\":\"x\",\"type\":\"fixed(3)\"},"
        "{\"name\":\"tm\",\"type\":\"time_ms\"}]}}]}";
    pqf_schema *s = NULL;
    pqf_error e = {0};
    assert_int_equal(pqf_schema_from_json(js, strlen(js), "t.json", &s, &e), PQF_OK);
    char *out;
    size_t n;
    assert_int_equal(pqf_schema_to_json(s, &out, &n, &e), PQF_OK);
    pqf_schema_free(s);
    /* the saved text parses to the same saved text */
    assert_int_equal(pqf_schema_from_json(out, n, "t2.json", &s, &e), PQF_OK);
    char *out2;
    assert_int_equal(pqf_schema_to_json(s, &out2, &n, &e), PQF_OK);
    assert_string_equal(out, out2);
    assert_non_null(strstr(out, "{\"name\": \"a\", \"type\": \"uint16\", \"field_id\": 3}"));
    assert_non_null(strstr(out, "{\"name\": \"c\", \"type\": \"decimal(8,2)\", \"physical\": \"int64\"}"));
    assert_non_null(strstr(out, "{\"name\": \"t\", \"type\": \"timestamp_ns\", \"utc\": false}"));
    assert_non_null(strstr(out, "{\"list\": {\"type\": {\"list\": \"int32\"}, \"nullable\": false}}"));
    free(out);
    free(out2);
    pqf_schema_free(s);

    struct {
        const char *js, *msg;
    } bad[] = {
        {"{\"columns\":[{\"name\":\"a\",\"type\":\"int128\"}]}",
         "t.json: columns[0] (a): unknown type 'int128'"},
        {"{\"columns\":[{\"name\":\"a\",\"type\":\"decimal(40,2)\"}]}",
         "t.json: columns[0] (a): decimal(p,s) needs 1 <= p <= 38 and 0 <= s <= p"},
        {"{\"columns\":[{\"name\":\"a\",\"type\":\"int8\",\"nulable\":true}]}",
         "t.json: columns[0]: unknown key 'nulable'"},
        {"{\"columns\":[{\"name\":\"a\",\"type\":{\"struct\":[{\"type\":\"int8\"}]}}]}",
         "t.json: columns[0] (a).struct[0].name: expected a non-empty string"},
        {"{\"columns\":[]}", "t.json: \"columns\" is empty"},
        {"{\"columns\":[{\"name\":\"a\",\"type\":\"int8\"},{\"name\":\"a\",\"type\":\"int8\"}]}",
         "t.json: columns[1] (a): duplicate field name \"a\""},
        {"{\"columns\":[", "t.json: line 1, column 13: unexpected end of input"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pqf_error_clear(&e);
        assert_int_not_equal(pqf_schema_from_json(bad[i].js, strlen(bad[i].js), "t.json", &s, &e),
                             PQF_OK);
        assert_null(s);
        assert_string_equal(e.msg, bad[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_scalar_types_and_widening),
        cmocka_unit_test(decimal_rule_and_sample_size),
        cmocka_unit_test(ndjson_nested),
        cmocka_unit_test(schema_file_roundtrip_and_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
