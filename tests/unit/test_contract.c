/* Unit tests: schema changes and their compatibility verdicts
 * (pqf_schema_diff, pqf_schema_changes_keep), a contract against a schema
 * (pqf_contract_check_schema, pqf_contract_key_ok, pqf_contract_enforce_schema)
 * and contract files (pqf_contract_load). Rules: docs/SCHEMA.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pqfeed/contract.h"
#include "pqfeed/source.h"

#include "testutil.h"

static pqf_schema *schema(const char *cols)
{
    char json[4096];
    pqf_schema *s = NULL;
    pqf_error err = {0};
    snprintf(json, sizeof json, "{\"columns\": [%s]}", cols);
    if (pqf_schema_from_json(json, strlen(json), "test", &s, &err) != PQF_OK)
        fail_msg("schema %s: %s", cols, err.msg);
    return s;
}

/* ---- every compatibility rule, in every mode ------------------------------------- */

typedef struct {
    const char *what, *old, *next;
    pqf_change_kind kind;
    const char *column;
    bool widening, narrowing;
    bool backward, forward;
} rule_case;

#define ID "{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false}"

static const rule_case rules[] = {
    {"add a nullable column", ID, ID ", {\"name\": \"c\", \"type\": \"string\"}", PQF_CHANGE_ADDED,
     "c", false, false, true, true},
    {"add a required column", ID, ID ", {\"name\": \"c\", \"type\": \"string\", \"nullable\": false}",
     PQF_CHANGE_ADDED, "c", false, false, false, true},
    {"drop a nullable column", ID ", {\"name\": \"c\", \"type\": \"string\"}", ID,
     PQF_CHANGE_DROPPED, "c", false, false, true, true},
    {"drop a required column", ID ", {\"name\": \"c\", \"type\": \"string\", \"nullable\": false}", ID,
     PQF_CHANGE_DROPPED, "c", false, false, true, false},
    {"int32 -> int64", "{\"name\": \"c\", \"type\": \"int32\"}", "{\"name\": \"c\", \"type\": \"int64\"}",
     PQF_CHANGE_CHANGED, "c", true, false, true, false},
    {"int64 -> int32", "{\"name\": \"c\", \"type\": \"int64\"}", "{\"name\": \"c\", \"type\": \"int32\"}",
     PQF_CHANGE_CHANGED, "c", false, true, false, true},
    {"int8 -> int16", "{\"name\": \"c\", \"type\": \"int8\"}", "{\"name\": \"c\", \"type\": \"int16\"}",
     PQF_CHANGE_CHANGED, "c", true, false, true, false},
    {"uint8 -> uint32", "{\"name\": \"c\", \"type\": \"uint8\"}", "{\"name\": \"c\", \"type\": \"uint32\"}",
     PQF_CHANGE_CHANGED, "c", true, false, true, false},
    {"uint32 -> int64 (signedness)", "{\"name\": \"c\", \"type\": \"uint32\"}",
     "{\"name\": \"c\", \"type\": \"int64\"}", PQF_CHANGE_CHANGED, "c", false, false, false, false},
    {"float -> double", "{\"name\": \"c\", \"type\": \"float\"}", "{\"name\": \"c\", \"type\": \"double\"}",
     PQF_CHANGE_CHANGED, "c", true, false, true, false},
    {"double -> float", "{\"name\": \"c\", \"type\": \"double\"}", "{\"name\": \"c\", \"type\": \"float\"}",
     PQF_CHANGE_CHANGED, "c", false, true, false, true},
    {"decimal precision up", "{\"name\": \"c\", \"type\": \"decimal(10,2)\"}",
     "{\"name\": \"c\", \"type\": \"decimal(18,2)\"}", PQF_CHANGE_CHANGED, "c", true, false, true, false},
    {"decimal precision down", "{\"name\": \"c\", \"type\": \"decimal(18,2)\"}",
     "{\"name\": \"c\", \"type\": \"decimal(10,2)\"}", PQF_CHANGE_CHANGED, "c", false, true, false, true},
    {"decimal scale change", "{\"name\": \"c\", \"type\": \"decimal(10,2)\"}",
     "{\"name\": \"c\", \"type\": \"decimal(10,3)\"}", PQF_CHANGE_CHANGED, "c", false, false, false, false},
    {"decimal precision and scale up", "{\"name\": \"c\", \"type\": \"decimal(10,2)\"}",
     "{\"name\": \"c\", \"type\": \"decimal(12,4)\"}", PQF_CHANGE_CHANGED, "c", false, false, false, false},
    {"int64 -> string", "{\"name\": \"c\", \"type\": \"int64\"}", "{\"name\": \"c\", \"type\": \"string\"}",
     PQF_CHANGE_CHANGED, "c", false, false, false, false},
    {"int32 -> double", "{\"name\": \"c\", \"type\": \"int32\"}", "{\"name\": \"c\", \"type\": \"double\"}",
     PQF_CHANGE_CHANGED, "c", false, false, false, false},
    {"timestamp unit change", "{\"name\": \"c\", \"type\": \"timestamp_ms\"}",
     "{\"name\": \"c\", \"type\": \"timestamp_us\"}", PQF_CHANGE_CHANGED, "c", false, false, false, false},
    {"required -> nullable", "{\"name\": \"c\", \"type\": \"string\", \"nullable\": false}",
     "{\"name\": \"c\", \"type\": \"string\"}", PQF_CHANGE_CHANGED, "c", false, false, true, false},
    {"nullable -> required", "{\"name\": \"c\", \"type\": \"string\"}",
     "{\"name\": \"c\", \"type\": \"string\", \"nullable\": false}", PQF_CHANGE_CHANGED, "c", false, false,
     false, true},
    {"widened and made required", "{\"name\": \"c\", \"type\": \"int32\"}",
     "{\"name\": \"c\", \"type\": \"int64\", \"nullable\": false}", PQF_CHANGE_CHANGED, "c", true, false,
     false, false},
    {"narrowed and made required", "{\"name\": \"c\", \"type\": \"int64\"}",
     "{\"name\": \"c\", \"type\": \"int32\", \"nullable\": false}", PQF_CHANGE_CHANGED, "c", false, true,
     false, true},
    /* nested: compared inside */
    {"struct field added (nullable)", "{\"name\": \"s\", \"type\": {\"struct\": [" ID "]}}",
     "{\"name\": \"s\", \"type\": {\"struct\": [" ID ", {\"name\": \"n\", \"type\": \"string\"}]}}",
     PQF_CHANGE_ADDED, "s.n", false, false, true, true},
    {"struct field added (required)", "{\"name\": \"s\", \"type\": {\"struct\": [" ID "]}}",
     "{\"name\": \"s\", \"type\": {\"struct\": [" ID
     ", {\"name\": \"n\", \"type\": \"string\", \"nullable\": false}]}}",
     PQF_CHANGE_ADDED, "s.n", false, false, false, true},
    {"struct field dropped (required)",
     "{\"name\": \"s\", \"type\": {\"struct\": [" ID ", {\"name\": \"n\", \"type\": \"string\"}]}}",
     "{\"name\": \"s\", \"type\": {\"struct\": [{\"name\": \"n\", \"type\": \"string\"}]}}",
     PQF_CHANGE_DROPPED, "s.id", false, false, true, false},
    {"struct field widened", "{\"name\": \"s\", \"type\": {\"struct\": [{\"name\": \"x\", \"type\": \"int32\"}]}}",
     "{\"name\": \"s\", \"type\": {\"struct\": [{\"name\": \"x\", \"type\": \"int64\"}]}}",
     PQF_CHANGE_CHANGED, "s.x", true, false, true, false},
    {"list element narrowed", "{\"name\": \"l\", \"type\": {\"list\": \"double\"}}",
     "{\"name\": \"l\", \"type\": {\"list\": \"float\"}}", PQF_CHANGE_CHANGED, "l[]", false, true, false,
     true},
    {"list element made nullable",
     "{\"name\": \"l\", \"type\": {\"list\": {\"type\": \"string\", \"nullable\": false}}}",
     "{\"name\": \"l\", \"type\": {\"list\": \"string\"}}", PQF_CHANGE_CHANGED, "l[]", false, false, true,
     false},
    {"a list inside a struct, its element widened",
     "{\"name\": \"s\", \"type\": {\"struct\": [{\"name\": \"l\", \"type\": {\"list\": \"int32\"}}]}}",
     "{\"name\": \"s\", \"type\": {\"struct\": [{\"name\": \"l\", \"type\": {\"list\": \"int64\"}}]}}",
     PQF_CHANGE_CHANGED, "s.l[]", true, false, true, false},
    {"a struct that became a list", "{\"name\": \"s\", \"type\": {\"struct\": [" ID "]}}",
     "{\"name\": \"s\", \"type\": {\"list\": \"int64\"}}", PQF_CHANGE_CHANGED, "s", false, false, false,
     false},
    {"a struct that became a string", "{\"name\": \"s\", \"type\": {\"struct\": [" ID "]}}",
     "{\"name\": \"s\", \"type\": \"string\"}", PQF_CHANGE_CHANGED, "s", false, false, false, false},
};

static void every_rule_in_every_mode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const rule_case *rc = &rules[i];
        pqf_schema *a = schema(rc->old), *b = schema(rc->next);
        pqf_schema_change *v = NULL;
        size_t n = 0;
        pqf_error err = {0};
        assert_int_equal(pqf_schema_diff(a, b, &v, &n, &err), PQF_OK);
        if (n != 1)
            fail_msg("%s: %zu changes, want 1", rc->what, n);
        if (v[0].kind != rc->kind || strcmp(v[0].column, rc->column) != 0)
            fail_msg("%s: change %d of '%s', want %d of '%s'", rc->what, (int)v[0].kind, v[0].column,
                     (int)rc->kind, rc->column);
        if (v[0].widening != rc->widening || v[0].narrowing != rc->narrowing)
            fail_msg("%s: widening %d narrowing %d", rc->what, v[0].widening, v[0].narrowing);
        if (v[0].backward_ok != rc->backward || v[0].forward_ok != rc->forward)
            fail_msg("%s: backward %d forward %d, want %d %d", rc->what, v[0].backward_ok,
                     v[0].forward_ok, rc->backward, rc->forward);
        /* the modes over the same change */
        assert_true(pqf_schema_changes_keep(v, n, PQF_COMPAT_NONE));
        if (pqf_schema_changes_keep(v, n, PQF_COMPAT_BACKWARD) != rc->backward ||
            pqf_schema_changes_keep(v, n, PQF_COMPAT_FORWARD) != rc->forward ||
            pqf_schema_changes_keep(v, n, PQF_COMPAT_FULL) != (rc->backward && rc->forward))
            fail_msg("%s: a mode's verdict differs from the change's", rc->what);
        /* the reverse change swaps the two directions (add <-> drop, widen <-> narrow) */
        pqf_schema_change *r = NULL;
        size_t rn = 0;
        assert_int_equal(pqf_schema_diff(b, a, &r, &rn, &err), PQF_OK);
        assert_int_equal(rn, 1);
        if (r[0].backward_ok != rc->forward || r[0].forward_ok != rc->backward)
            fail_msg("%s, reversed: backward %d forward %d", rc->what, r[0].backward_ok,
                     r[0].forward_ok);
        free(r);
        free(v);
        pqf_schema_free(a);
        pqf_schema_free(b);
    }
}

static void no_change_and_several_changes(void **state)
{
    (void)state;
    pqf_schema *a = schema(ID ", {\"name\": \"c\", \"type\": \"int32\"}");
    pqf_schema *b = schema(ID ", {\"name\": \"c\", \"type\": \"int32\"}");
    pqf_schema *c = schema("{\"name\": \"c\", \"type\": \"int64\"}, {\"name\": \"z\", \"type\": \"bool\"}");
    pqf_schema_change *v = NULL;
    size_t n = 9;
    pqf_error err = {0};
    assert_int_equal(pqf_schema_diff(a, b, &v, &n, &err), PQF_OK);
    assert_int_equal(n, 0);
    assert_null(v);
    assert_true(pqf_schema_changes_keep(v, n, PQF_COMPAT_FULL));
    /* dropped and changed in old order, then added */
    assert_int_equal(pqf_schema_diff(a, c, &v, &n, &err), PQF_OK);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].column, "id");
    assert_int_equal(v[0].kind, PQF_CHANGE_DROPPED);
    assert_string_equal(v[1].column, "c");
    assert_string_equal(v[1].old_type, "int32");
    assert_string_equal(v[1].new_type, "int64");
    assert_string_equal(v[2].column, "z");
    assert_int_equal(v[2].kind, PQF_CHANGE_ADDED);
    /* backward holds (drop + widen + nullable add), forward does not (required id dropped) */
    assert_true(pqf_schema_changes_keep(v, n, PQF_COMPAT_BACKWARD));
    assert_false(pqf_schema_changes_keep(v, n, PQF_COMPAT_FORWARD));
    assert_false(pqf_schema_changes_keep(v, n, PQF_COMPAT_FULL));
    free(v);
    pqf_schema_free(a);
    pqf_schema_free(b);
    pqf_schema_free(c);
}

/* ---- contracts against schemas ---------------------------------------------------- */

static char dir[64];

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir(dir, sizeof dir, "contract");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(dir);
}

static pqf_err load(const char *yaml, pqf_contract **c, pqf_error *err)
{
    char path[128];
    tu_write(path, sizeof path, dir, "c.yaml", yaml);
    return pqf_contract_load(path, c, err);
}

static const char contract_yaml[] =
    "tables:\n"
    "  t:\n"
    "    key: [id]\n"
    "    compatibility: MODE\n"
    "    columns:\n"
    "      - {name: id, type: int64, nullable: false}\n"
    "      - {name: amount, type: \"decimal(18,2)\"}\n"
    "      - {name: flag, type: boolean}\n"
    "      - {name: author, type: \"struct<id: int64, name:string>\", nullable: false}\n"
    "      - {name: tags, type: list<string>}\n";

static pqf_contract *contract_with(const char *mode)
{
    char text[1024];
    const char *at = strstr(contract_yaml, "MODE");
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - contract_yaml), contract_yaml, mode, at + 4);
    pqf_contract *c = NULL;
    pqf_error err = {0};
    if (load(text, &c, &err) != PQF_OK)
        fail_msg("%s", err.msg);
    return c;
}

#define GOOD_COLS                                                                                  \
    "{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false},"                                \
    "{\"name\": \"amount\", \"type\": \"decimal(18,2)\"},"                                         \
    "{\"name\": \"flag\", \"type\": \"bool\", \"nullable\": false},"                               \
    "{\"name\": \"author\", \"type\": {\"struct\": [{\"name\": \"id\", \"type\": \"int64\"},"      \
    "  {\"name\": \"name\", \"type\": \"string\"}, {\"name\": \"email\", \"type\": \"string\"}]}," \
    "  \"nullable\": false},"                                                                      \
    "{\"name\": \"tags\", \"type\": {\"list\": \"string\"}},"                                      \
    "{\"name\": \"extra\", \"type\": \"string\"}"

static void load_canonicalises_types(void **state)
{
    (void)state;
    pqf_contract *c = contract_with("backward");
    assert_int_equal(c->ntables, 1);
    const pqf_contract_table *t = pqf_contract_table_find(c, "t");
    assert_non_null(t);
    assert_null(pqf_contract_table_find(c, "u"));
    assert_string_equal(t->key, "id");
    assert_int_equal(t->compat, PQF_COMPAT_BACKWARD);
    assert_string_equal(t->columns[2].type, "bool");
    assert_string_equal(t->columns[3].type, "struct<id:int64,name:string>");
    assert_false(t->columns[3].nullable);
    assert_true(t->columns[4].nullable);
    assert_int_equal(t->columns[1].line, 7);
    pqf_contract_free(c);
}

static void check_schema_statuses(void **state)
{
    (void)state;
    pqf_contract *c = contract_with("none");
    const pqf_contract_table *t = &c->tables[0];
    pqf_column_check ck[5];
    pqf_schema *s = schema(GOOD_COLS);
    assert_int_equal(pqf_contract_check_schema(t, s, ck), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ck[i].status, PQF_COLUMN_OK);
    assert_string_equal(ck[0].detail, "int64, required");
    pqf_schema_free(s);

    /* missing, wrong type, nullability, a nested field missing, a list element */
    s = schema("{\"name\": \"amount\", \"type\": \"decimal(18,3)\"},"
               "{\"name\": \"flag\", \"type\": \"bool\"},"
               "{\"name\": \"author\", \"type\": {\"struct\": [{\"name\": \"id\", \"type\": \"int64\"}]}, "
               "\"nullable\": false},"
               "{\"name\": \"tags\", \"type\": {\"list\": \"int32\"}}");
    assert_int_equal(pqf_contract_check_schema(t, s, ck), 4);
    assert_int_equal(ck[0].status, PQF_COLUMN_MISSING);
    assert_false(ck[0].present);
    assert_string_equal(ck[0].detail, "not in the feed's schema");
    assert_int_equal(ck[1].status, PQF_COLUMN_WRONG_TYPE);
    assert_string_equal(ck[1].detail, "contract decimal(18,2), feed decimal(18,3)");
    assert_int_equal(ck[2].status, PQF_COLUMN_OK); /* nullable contract column: either is fine */
    assert_int_equal(ck[3].status, PQF_COLUMN_MISSING);
    assert_true(ck[3].present);
    assert_string_equal(ck[3].field, "author.name");
    assert_string_equal(ck[3].detail, "field author.name is not in the feed's schema");
    assert_int_equal(ck[4].status, PQF_COLUMN_WRONG_TYPE);
    assert_string_equal(ck[4].field, "tags[]");
    assert_string_equal(ck[4].detail, "tags[]: contract string, feed int32");
    pqf_schema_free(s);

    /* a required contract column that the feed has nullable; a struct that is a string */
    s = schema("{\"name\": \"id\", \"type\": \"int64\"}, {\"name\": \"author\", \"type\": \"string\"}");
    pqf_contract_check_schema(t, s, ck);
    assert_int_equal(ck[0].status, PQF_COLUMN_NULLABILITY);
    assert_string_equal(ck[0].detail, "contract requires non-null, the feed's column is nullable");
    assert_int_equal(ck[3].status, PQF_COLUMN_WRONG_TYPE);
    assert_string_equal(ck[3].detail,
                        "contract struct<id:int64,name:string>, feed string; contract requires "
                        "non-null, the feed's column is nullable");
    pqf_schema_free(s);
    pqf_contract_free(c);
}

static void keys(void **state)
{
    (void)state;
    pqf_contract_table t;
    memset(&t, 0, sizeof t);
    assert_true(pqf_contract_key_ok(&t, NULL)); /* no key in the contract: anything */
    assert_true(pqf_contract_key_ok(&t, "x"));
    t.key = "a,b";
    assert_true(pqf_contract_key_ok(&t, "a,b"));
    assert_true(pqf_contract_key_ok(&t, "b, a"));
    assert_false(pqf_contract_key_ok(&t, "a"));
    assert_false(pqf_contract_key_ok(&t, "a,b,c"));
    assert_false(pqf_contract_key_ok(&t, "a,c"));
    assert_false(pqf_contract_key_ok(&t, ""));
    assert_false(pqf_contract_key_ok(&t, NULL));
}

/* enforce_schema: the message names contract, table, column and rule. */
static void expect_enforce(const pqf_contract *c, const pqf_schema *prev, const pqf_schema *next,
                           const char *key, const char *want)
{
    pqf_error err = {0};
    pqf_err rc = pqf_contract_enforce_schema(c, &c->tables[0], prev, next, key, &err);
    if (!want) {
        if (rc != PQF_OK)
            fail_msg("want ok, got: %s", err.msg);
        return;
    }
    if (rc != PQF_ERR_CONTRACT || !strstr(err.msg, want))
        fail_msg("want PQF_ERR_CONTRACT with '%s', got %d: %s", want, (int)rc, err.msg);
    assert_non_null(strstr(err.msg, "table t: "));
    assert_non_null(strstr(err.msg, "c.yaml"));
}

static void enforce_in_each_mode(void **state)
{
    (void)state;
    static const char *modes[] = {"none", "backward", "forward", "full"};
    pqf_schema *base = schema(GOOD_COLS);
    /* each change, and whether it breaks backward / forward */
    struct {
        const char *cols, *column;
        bool bw, fw;
    } ch[] = {
        {GOOD_COLS ", {\"name\": \"n\", \"type\": \"int32\"}", NULL, true, true},
        {GOOD_COLS ", {\"name\": \"n\", \"type\": \"int32\", \"nullable\": false}", "column n", false, true},
        {"{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false},"
         "{\"name\": \"amount\", \"type\": \"decimal(18,2)\"},"
         "{\"name\": \"flag\", \"type\": \"bool\", \"nullable\": false},"
         "{\"name\": \"author\", \"type\": {\"struct\": [{\"name\": \"id\", \"type\": \"int64\"},"
         "  {\"name\": \"name\", \"type\": \"string\"}]}, \"nullable\": false},"
         "{\"name\": \"tags\", \"type\": {\"list\": \"string\"}}, {\"name\": \"extra\", \"type\": \"string\"}",
         "column author.email", true, true}, /* a nullable struct field dropped */
        {"{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false},"
         "{\"name\": \"amount\", \"type\": \"decimal(18,2)\"},"
         "{\"name\": \"flag\", \"type\": \"bool\"},"
         "{\"name\": \"author\", \"type\": {\"struct\": [{\"name\": \"id\", \"type\": \"int64\"},"
         "  {\"name\": \"name\", \"type\": \"string\"}, {\"name\": \"email\", \"type\": \"string\"}]},"
         "  \"nullable\": false},"
         "{\"name\": \"tags\", \"type\": {\"list\": \"string\"}}, {\"name\": \"extra\", \"type\": \"string\"}",
         "column flag", true, false}, /* required -> nullable */
        {"{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false},"
         "{\"name\": \"amount\", \"type\": \"decimal(18,2)\"},"
         "{\"name\": \"flag\", \"type\": \"bool\", \"nullable\": false},"
         "{\"name\": \"author\", \"type\": {\"struct\": [{\"name\": \"id\", \"type\": \"int64\"},"
         "  {\"name\": \"name\", \"type\": \"string\"}, {\"name\": \"email\", \"type\": \"string\"}]},"
         "  \"nullable\": false},"
         "{\"name\": \"tags\", \"type\": {\"list\": \"string\"}}",
         "column extra", true, true}, /* a nullable column the contract does not name, dropped */
    };
    for (size_t m = 0; m < 4; m++) {
        pqf_contract *c = contract_with(modes[m]);
        bool want_bw = m == 1 || m == 3, want_fw = m == 2 || m == 3;
        expect_enforce(c, NULL, base, "id", NULL);
        expect_enforce(c, base, base, "id", NULL);
        for (size_t i = 0; i < sizeof ch / sizeof ch[0]; i++) {
            pqf_schema *next = schema(ch[i].cols);
            bool breaks = (want_bw && !ch[i].bw) || (want_fw && !ch[i].fw);
            char want[128];
            snprintf(want, sizeof want, "%s: compatibility %s: ", ch[i].column ? ch[i].column : "",
                     modes[m]);
            expect_enforce(c, base, next, "id", breaks ? want : NULL);
            pqf_schema_free(next);
        }
        /* the contract's own checks hold in every mode, none included */
        pqf_schema *wrong = schema("{\"name\": \"id\", \"type\": \"int32\", \"nullable\": false}");
        expect_enforce(c, NULL, wrong, "id", "column id: wrong type: contract int64, feed int32");
        pqf_schema_free(wrong);
        expect_enforce(c, NULL, base, "other", "key: the contract's key is id, the feed's is other");
        expect_enforce(c, NULL, base, NULL, "the feed's is (none)");
        pqf_contract_free(c);
    }
    pqf_schema_free(base);
}

static void bad_contracts(void **state)
{
    (void)state;
    struct {
        const char *yaml, *want;
    } cases[] = {
        {"tables:\n  t:\n    columns:\n      - {name: a, type: int65}\n",
         "c.yaml:4: tables.t.columns[0].type: unknown type 'int65'"},
        {"tables:\n  t:\n    columns:\n      - {name: a, type: \"list<int65>\"}\n", "unknown type 'int65'"},
        {"tables:\n  t:\n    columns:\n      - {name: a, type: \"struct<a:int64\"}\n",
         "expected ',' or '>' in struct<"},
        {"tables:\n  t:\n    columns:\n      - {name: a, type: \"struct<>\"}\n",
         "expected 'field:type' in struct<"},
        {"tables:\n  t:\n    columns:\n      - {name: a, type: \"list<>\"}\n", "unknown type ''"},
        {"tables:\n  t:\n    columns:\n      - {name: a, type: \"timestamp_us (sideways)\"}\n",
         "unknown type 'timestamp_us (sideways)'"},
        {"tables:\n  t:\n    columns:\n      - {name: a, type: int64}\n      - {name: a, type: int64}\n",
         "c.yaml:5: tables.t.columns[1]: the column is listed twice"},
        {"tables:\n  t:\n    columns:\n      - {name: a, type: string, check: {regex: \"(\"}}\n",
         "not a valid POSIX extended regular expression"},
        {"tables:\n  t:\n    key: {a: 1}\n    columns:\n      - {name: a, type: int64}\n",
         "tables.t.key: expected a column name or a list of them"},
        {"tables: {}\n", "tables: expected a mapping of table names"},
        {"tables:\n  t:\n    columns:\n      - {name: a, type: \"struct<a\\tb:int64>\"}\n",
         "a struct field name holds a control character"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pqf_contract *c = NULL;
        pqf_error err = {0};
        pqf_err rc = load(cases[i].yaml, &c, &err);
        if (rc != PQF_ERR_PARSE || !strstr(err.msg, cases[i].want))
            fail_msg("case %zu: want '%s', got %d: %s", i, cases[i].want, (int)rc, err.msg);
        assert_null(c);
    }
    /* nesting deeper than the cap */
    {
        char yaml[1024], type[600] = "";
        for (int i = 0; i < 40; i++)
            strcat(type, "list<");
        strcat(type, "int64");
        for (int i = 0; i < 40; i++)
            strcat(type, ">");
        snprintf(yaml, sizeof yaml, "tables:\n  t:\n    columns:\n      - {name: a, type: \"%s\"}\n",
                 type);
        pqf_contract *d = NULL;
        pqf_error e3 = {0};
        assert_int_equal(load(yaml, &d, &e3), PQF_ERR_PARSE);
        assert_non_null(strstr(e3.msg, "nested deeper than 32 levels"));
    }
    /* nesting, local timestamps and spaces are canonicalised */
    pqf_contract *c = NULL;
    pqf_error err = {0};
    assert_int_equal(load("tables:\n  t:\n    columns:\n"
                          "      - {name: a, type: \"list< struct<x: timestamp_ms (local), y:list<boolean>> >\"}\n",
                          &c, &err),
                     PQF_OK);
    assert_string_equal(c->tables[0].columns[0].type,
                        "list<struct<x:timestamp_ms (local),y:list<bool>>>");
    pqf_contract_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_rule_in_every_mode),
        cmocka_unit_test(no_change_and_several_changes),
        cmocka_unit_test(load_canonicalises_types),
        cmocka_unit_test(check_schema_statuses),
        cmocka_unit_test(keys),
        cmocka_unit_test(enforce_in_each_mode),
        cmocka_unit_test(bad_contracts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
