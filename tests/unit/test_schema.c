/* Unit tests: schema building, validation, levels and names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pqfeed/pqfeed.h"

static void levels_and_leaf_order(void **state)
{
    (void)state;
    pqf_error err = {0};
    pqf_schema *s = pqf_schema_create();
    int id = pqf_schema_add_column(s, 0, "id", PQF_REQUIRED, PQF_INT64, 0, NULL, 1, &err);
    int a = pqf_schema_add_group(s, 0, "a", PQF_OPTIONAL, NULL, -1, &err);
    int l = pqf_schema_add_list(s, a, "tags", PQF_OPTIONAL, -1, &err);
    int el = pqf_schema_add_group(s, l, "element", PQF_OPTIONAL, NULL, -1, &err);
    int x = pqf_schema_add_column(s, el, "x", PQF_REQUIRED, PQF_INT32, 0, NULL, -1, &err);
    int y = pqf_schema_add_column(s, el, "y", PQF_OPTIONAL, PQF_INT32, 0, NULL, -1, &err);
    int z = pqf_schema_add_column(s, 0, "z", PQF_OPTIONAL, PQF_DOUBLE, 0, NULL, -1, &err);
    assert_true(id > 0 && a > 0 && l > 0 && el > 0 && x > 0 && y > 0 && z > 0);
    assert_int_equal(pqf_schema_finish(s, &err), PQF_OK);
    assert_int_equal(pqf_schema_leaf_count(s), 4);
    assert_int_equal(pqf_schema_leaf_node(s, 0), id);
    assert_int_equal(pqf_schema_leaf_node(s, 1), x);
    assert_int_equal(pqf_schema_leaf_node(s, 3), z);
    pqf_node_info ni;
    assert_int_equal(pqf_schema_node(s, y, &ni), PQF_OK);
    /* a(opt) tags(opt) list(rep) element(opt) y(opt) */
    assert_int_equal(ni.max_def, 5);
    assert_int_equal(ni.max_rep, 1);
    assert_int_equal(ni.leaf, 2);
    pqf_schema_node(s, x, &ni);
    assert_int_equal(ni.max_def, 4);
    pqf_schema_node(s, id, &ni);
    assert_int_equal(ni.max_def, 0);
    assert_int_equal(ni.field_id, 1);
    char p[64];
    assert_int_equal(pqf_schema_path(s, y, p, sizeof p), strlen("a.tags.list.element.y"));
    assert_string_equal(p, "a.tags.list.element.y");
    assert_int_equal(pqf_schema_path(s, y, p, 5), strlen("a.tags.list.element.y"));
    assert_string_equal(p, "a.ta");
    assert_int_equal(pqf_schema_find_path(s, "a.tags.list.element.y"), y);
    assert_int_equal(pqf_schema_find_path(s, "a.nope"), -1);
    pqf_schema_node(s, 0, &ni);
    assert_string_equal(ni.name, "schema");
    assert_int_equal(pqf_schema_list_element(s, pqf_schema_find_path(s, "a.tags")), el);
    assert_int_equal(pqf_schema_list_element(s, a), -1);
    pqf_schema *c = pqf_schema_clone(s);
    assert_non_null(c);
    pqf_schema_free(s);
    assert_int_equal(pqf_schema_find_path(c, "a.tags.list.element.x"), x);
    pqf_schema_free(c);
}

static void invalid_types_are_refused(void **state)
{
    (void)state;
    pqf_error err = {0};
    pqf_schema *s = pqf_schema_create();
    pqf_logical d10 = {.kind = PQF_LT_DECIMAL, .precision = 10, .scale = 2};
    assert_int_equal(pqf_schema_add_column(s, 0, "d", PQF_OPTIONAL, PQF_INT32, 0, &d10, -1, &err),
                     -1);
    assert_int_equal(err.code, PQF_ERR_SCHEMA);
    assert_non_null(strstr(err.msg, "column d"));
    assert_true(pqf_schema_add_column(s, 0, "d", PQF_OPTIONAL, PQF_INT64, 0, &d10, -1, &err) > 0);
    pqf_logical d39 = {.kind = PQF_LT_DECIMAL, .precision = 39, .scale = 0};
    assert_int_equal(pqf_schema_add_column(s, 0, "e", PQF_OPTIONAL, PQF_FIXED_LEN_BYTE_ARRAY, 16,
                                           &d39, -1, &err),
                     -1);
    d39.precision = 38;
    assert_true(pqf_schema_add_column(s, 0, "e", PQF_OPTIONAL, PQF_FIXED_LEN_BYTE_ARRAY, 16, &d39,
                                      -1, &err) > 0);
    pqf_logical uuid = {.kind = PQF_LT_UUID};
    assert_int_equal(
        pqf_schema_add_column(s, 0, "u", PQF_OPTIONAL, PQF_BYTE_ARRAY, 0, &uuid, -1, &err), -1);
    pqf_logical tms = {.kind = PQF_LT_TIME, .unit = PQF_MILLIS};
    assert_int_equal(pqf_schema_add_column(s, 0, "t", PQF_OPTIONAL, PQF_INT64, 0, &tms, -1, &err),
                     -1);
    pqf_logical i16 = {.kind = PQF_LT_INT, .bit_width = 16, .is_signed = true};
    assert_int_equal(pqf_schema_add_column(s, 0, "i", PQF_OPTIONAL, PQF_INT64, 0, &i16, -1, &err),
                     -1);
    pqf_logical str = {.kind = PQF_LT_STRING};
    assert_int_equal(pqf_schema_add_column(s, 0, "s", PQF_OPTIONAL, PQF_INT32, 0, &str, -1, &err),
                     -1);
    assert_int_equal(pqf_schema_add_column(s, 0, "d", PQF_OPTIONAL, PQF_INT32, 0, NULL, -1, &err),
                     -1); /* duplicate */
    assert_non_null(strstr(err.msg, "duplicate"));
    assert_int_equal(
        pqf_schema_add_column(s, 0, "f", PQF_OPTIONAL, PQF_FIXED_LEN_BYTE_ARRAY, 0, NULL, -1, &err),
        -1);
    int leaf = pqf_schema_add_column(s, 0, "ok", PQF_OPTIONAL, PQF_INT32, 0, NULL, -1, &err);
    assert_int_equal(
        pqf_schema_add_column(s, leaf, "x", PQF_OPTIONAL, PQF_INT32, 0, NULL, -1, &err),
        -1);                                                /* parent is not a group */
    pqf_schema_add_list(s, 0, "l", PQF_OPTIONAL, -1, &err); /* no element */
    assert_int_equal(pqf_schema_finish(s, &err), PQF_ERR_SCHEMA);
    pqf_schema_free(s);

    s = pqf_schema_create();
    assert_int_equal(pqf_schema_finish(s, &err), PQF_ERR_SCHEMA); /* root without columns */
    pqf_schema_free(s);
}

static void names_parse_and_print(void **state)
{
    (void)state;
    pqf_codec c;
    assert_int_equal(pqf_codec_from_name("ZSTD", &c), PQF_OK);
    assert_int_equal(c, PQF_CODEC_ZSTD);
    assert_int_equal(pqf_codec_from_name("lz4raw", &c), PQF_OK);
    assert_int_equal(c, PQF_CODEC_LZ4_RAW);
    assert_int_equal(pqf_codec_from_name("none", &c), PQF_OK);
    assert_int_equal(c, PQF_CODEC_UNCOMPRESSED);
    assert_int_equal(pqf_codec_from_name("lzo", &c), PQF_ERR_UNSUPPORTED);
    assert_int_equal(pqf_codec_from_name("zip", &c), PQF_ERR_INVALID_ARG);
    assert_string_equal(pqf_codec_name(PQF_CODEC_SNAPPY), "snappy");
    pqf_encoding e;
    assert_int_equal(pqf_encoding_from_name("delta_binary_packed", &e), PQF_OK);
    assert_int_equal(e, PQF_ENC_DELTA_BINARY_PACKED);
    assert_int_equal(pqf_encoding_from_name("dictionary", &e), PQF_OK);
    assert_int_equal(e, PQF_ENC_RLE_DICTIONARY);
    assert_string_equal(pqf_encoding_name(PQF_ENC_BYTE_STREAM_SPLIT), "BYTE_STREAM_SPLIT");
    assert_string_equal(pqf_physical_name(PQF_FIXED_LEN_BYTE_ARRAY), "FIXED_LEN_BYTE_ARRAY");
    assert_string_equal(pqf_logical_name(PQF_LT_TIMESTAMP), "TIMESTAMP");
    assert_string_equal(pqf_physical_name((pqf_physical)99), "UNKNOWN_TYPE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(levels_and_leaf_order),
        cmocka_unit_test(invalid_types_are_refused),
        cmocka_unit_test(names_parse_and_print),
    };
    return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
