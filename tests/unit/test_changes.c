/* Unit tests: change capture shared by the file and database sources
 * (src/source/changes.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pqfeed/source.h"
#include "source/changes.h"

#define S(x) x, strlen(x)

static const char schema_text[] =
    "{\"columns\": [{\"name\": \"id\", \"type\": \"int64\"}, {\"name\": \"tag\", \"type\": "
    "\"string\"}, {\"name\": \"updated\", \"type\": \"timestamp_us\"}, {\"name\": \"created\", "
    "\"type\": \"timestamp_us\"}, {\"name\": \"deleted\", \"type\": \"bool\"}, {\"name\": "
    "\"meta\", \"type\": {\"struct\": [{\"name\": \"a\", \"type\": \"int32\"}]}}, {\"name\": "
    "\"_op\", \"type\": \"string\", \"nullable\": false}, {\"name\": \"_seq\", \"type\": "
    "\"int64\", \"nullable\": false}, {\"name\": \"_ts\", \"type\": \"timestamp_us\"}]}";

static pqf_schema *schema(void)
{
    pqf_schema *s = NULL;
    pqf_error err = {0};
    assert_int_equal(pqf_schema_from_json(S(schema_text), "t", &s, &err), PQF_OK);
    return s;
}

static void init_resolves_columns_and_rejects_bad_ones(void **state)
{
    (void)state;
    pqf_schema *s = schema();
    pqf__cc cc;
    pqf_error err = {0};
    pqf_change_opts co = {.watermark = "updated", .key = "id,tag", .delete_column = "deleted",
                          .created_column = "created"};
    assert_int_equal(pqf__cc_init(&cc, s, &co, &err), PQF_OK);
    assert_int_equal(cc.nkey, 2);
    assert_true(cc.wm_node > 0 && cc.del_node > 0 && cc.cre_node > 0 && cc.op_node > 0 &&
                cc.seq_node > 0 && cc.ts_node > 0);
    pqf__cc_free(&cc);

    co.key = "meta";
    assert_int_equal(pqf__cc_init(&cc, s, &co, &err), PQF_ERR_SCHEMA);
    assert_non_null(strstr(err.msg, "key column 'meta' is not a plain top-level column"));
    co.key = "id";
    co.watermark = "nope";
    assert_int_equal(pqf__cc_init(&cc, s, &co, &err), PQF_ERR_SCHEMA);
    assert_non_null(strstr(err.msg, "column 'nope' is not in the schema"));
    co.watermark = "updated";
    co.after = "yesterday";
    assert_int_equal(pqf__cc_init(&cc, s, &co, &err), PQF_ERR_VALUE);
    assert_non_null(strstr(err.msg, "the last exported watermark 'yesterday' of 'updated' does not parse"));
    pqf_schema_free(s);
}

static bool seen_odd(void *ud, const char *key, size_t kn, const char *wm, size_t wn)
{
    (void)ud;
    (void)wm;
    (void)wn;
    return kn == 1 && (key[0] - '0') % 2 == 1;
}

static void filter_skips_dedups_and_orders(void **state)
{
    (void)state;
    pqf_schema *s = schema();
    pqf__cc cc;
    pqf_error err = {0};
    pqf_change_opts co = {.watermark = "updated", .key = "id", .after = "2026-01-05T10:00:00Z",
                          .seen = seen_odd};
    assert_int_equal(pqf__cc_init(&cc, s, &co, &err), PQF_OK);
    cc.ordered = true;
    bool skip = false;
    const char *why = NULL;
    /* at or before `after`: skipped */
    pqf__cc_key_reset(&cc);
    assert_int_equal(pqf__cc_key_part(&cc, 0, S("2"), true), PQF_OK);
    assert_int_equal(pqf__cc_filter(&cc, S("2026-01-05T10:00:00Z"), true, &skip, &why), PQF_OK);
    assert_true(skip);
    assert_int_equal(cc.skipped, 1);
    /* an odd key is "already exported" */
    pqf__cc_key_reset(&cc);
    assert_int_equal(pqf__cc_key_part(&cc, 0, S("3"), true), PQF_OK);
    assert_int_equal(pqf__cc_filter(&cc, S("2026-01-05T11:00:00Z"), true, &skip, &why), PQF_OK);
    assert_true(skip);
    assert_int_equal(cc.duplicates, 1);
    /* written: the range follows */
    pqf__cc_key_reset(&cc);
    assert_int_equal(pqf__cc_key_part(&cc, 0, S("4"), true), PQF_OK);
    assert_int_equal(pqf__cc_filter(&cc, S("2026-01-05 11:30:00"), true, &skip, &why), PQF_OK);
    assert_false(skip);
    const char *lo, *hi;
    pqf__cc_watermarks(&cc, &lo, &hi);
    assert_string_equal(lo, "2026-01-05 11:30:00");
    assert_string_equal(hi, "2026-01-05 11:30:00");
    /* ordered: an older one after it is an error naming both */
    assert_int_equal(pqf__cc_filter(&cc, S("2026-01-05T11:00:00Z"), true, &skip, &why),
                     PQF_ERR_VALUE);
    assert_null(why);
    assert_non_null(strstr(cc.err.msg, "watermark 'updated' goes backwards: 2026-01-05T11:00:00Z "
                                       "is older than 2026-01-05 11:30:00"));
    /* missing, or not parsing */
    assert_int_equal(pqf__cc_filter(&cc, S(""), false, &skip, &why), PQF_ERR_VALUE);
    assert_non_null(strstr(cc.err.msg, "the watermark column 'updated' is missing or null"));
    assert_int_equal(pqf__cc_filter(&cc, S("soon"), true, &skip, &why), PQF_ERR_VALUE);
    assert_non_null(why);
    /* a missing key part */
    assert_int_equal(pqf__cc_key_part(&cc, 0, S(""), false), PQF_ERR_VALUE);
    assert_string_equal(cc.err.msg, "key column 'id' is missing or null");
    pqf__cc_free(&cc);
    pqf_schema_free(s);
}

static void op_and_truthiness(void **state)
{
    (void)state;
    pqf_schema *s = schema();
    pqf__cc cc;
    pqf_error err = {0};
    pqf_change_opts co = {.watermark = "updated", .delete_column = "deleted",
                          .created_column = "created"};
    assert_int_equal(pqf__cc_init(&cc, s, &co, &err), PQF_OK);
    assert_int_equal(pqf__cc_op(&cc, S("t1"), S("t1"), true, false), 'I');
    assert_int_equal(pqf__cc_op(&cc, S("t2"), S("t1"), true, false), 'U');
    assert_int_equal(pqf__cc_op(&cc, S("t1"), S("t1"), false, false), 'U');
    assert_int_equal(pqf__cc_op(&cc, S("t1"), S("t1"), true, true), 'D');
    assert_true(pqf__cc_truthy(S("true")) && pqf__cc_truthy(S("1")) && pqf__cc_truthy(S("TRUE")) && pqf__cc_truthy(S("t")));
    assert_false(pqf__cc_truthy(S("false")) || pqf__cc_truthy(S("0")) || pqf__cc_truthy(S("x")) || pqf__cc_truthy(S("yes")));
    pqf__cc_free(&cc);
    /* without the rules every change is an update */
    pqf_change_opts plain = {.watermark = "updated"};
    assert_int_equal(pqf__cc_init(&cc, s, &plain, &err), PQF_OK);
    assert_int_equal(pqf__cc_op(&cc, S("t1"), S("t1"), true, true), 'U');
    pqf__cc_free(&cc);
    pqf_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_resolves_columns_and_rejects_bad_ones),
        cmocka_unit_test(filter_skips_dedups_and_orders),
        cmocka_unit_test(op_and_truthiness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
