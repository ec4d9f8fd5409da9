/* The SQLite sink's two ways of applying changes, driven through its
 * internal vtable with typed values (what pqf__colread hands it): rows in
 * _seq order applied directly; a row out of order refused with reorder set;
 * the staged path (the engine's retry) giving the in-order result whatever
 * the order. And the SQL walks over a table definition (src/consume/tdef.c)
 * the SQLite and PostgreSQL sinks share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consume/sink.h"
#include "pqfeed/apply.h"

static const char SCHEMA[] = "{\"columns\": [{\"name\": \"id\", \"type\": \"int64\", \"nullable\": "
                             "false}, {\"name\": \"name\", \"type\": \"string\"}], \"key\": [\"id\"]}";

typedef struct {
    int64_t id;
    const char *name;
    char op;
    int64_t seq;
} change;

static char path[256];

static void vals_of(const change *c, pqf__val v[4])
{
    memset(v, 0, 4 * sizeof *v);
    v[0].t = PQF__V_INT;
    v[0].i = c->id;
    if (c->name) {
        v[1].t = PQF__V_TEXT;
        v[1].s = c->name;
        v[1].n = strlen(c->name);
    }
    v[2].t = PQF__V_TEXT;
    v[2].s = &c->op;
    v[2].n = 1;
    v[3].t = PQF__V_INT;
    v[3].i = c->seq;
}

/* Apply the changes as one commit; returns the load's result. */
static pqf_err apply(pqf_sink *s, const pqf__tdef *t, const change *cs, size_t n, bool staged)
{
    pqf_error err = {0};
    pqf__val v[4];
    s->staged = staged;
    s->reorder = false;
    assert_int_equal(s->vt->begin(s, &err), PQF_OK);
    assert_int_equal(s->vt->sync_table(s, t, &err), PQF_OK);
    assert_int_equal(s->vt->load_begin(s, t, true, &err), PQF_OK);
    for (size_t i = 0; i < n; i++) {
        vals_of(&cs[i], v);
        pqf_err rc = s->vt->load_row(s, v, &err);
        if (rc != PQF_OK) {
            s->vt->rollback(s);
            return rc;
        }
    }
    assert_int_equal(s->vt->load_end(s, &err), PQF_OK);
    assert_int_equal(s->vt->commit(s, &err), PQF_OK);
    return PQF_OK;
}

static void dump(char *out, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT group_concat(id || '=' || coalesce(name, 'null'), "
                                        "' ') FROM (SELECT * FROM t ORDER BY id)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *txt = sqlite3_column_text(st, 0);
    snprintf(out, cap, "%s", txt ? (const char *)txt : "");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void changes_direct_and_staged(void **state)
{
    (void)state;
    pqf_error err = {0};
    pqf_sink *s = NULL;
    pqf__tdef *t = NULL;
    char got[256], uri[300];
    snprintf(path, sizeof path, "%s/pqf-sink-%d.db", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    unlink(path);
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    assert_int_equal(pqf_sink_open(uri, &s, &err), PQF_OK);
    assert_int_equal(pqf__tdef_from_schema_json("t", 1, SCHEMA, strlen(SCHEMA), "schema", &t, &err),
                     PQF_OK);

    /* in order: insert, update, delete, re-insert after a delete */
    const change c1[] = {{1, "a", 'I', 1}, {2, "b", 'I', 2}, {3, "c", 'I', 3}, {1, "A", 'U', 4},
                         {2, NULL, 'D', 5}, {3, NULL, 'U', 6}, {4, "d", 'U', 7}, {2, "B", 'I', 8}};
    assert_int_equal(apply(s, t, c1, 8, false), PQF_OK);
    dump(got, sizeof got);
    assert_string_equal(got, "1=A 2=B 3=null 4=d");

    /* out of order: refused with reorder set, nothing applied */
    const change c2[] = {{1, "x", 'U', 10}, {1, NULL, 'D', 12}, {5, "e", 'I', 11}, {1, "y", 'U', 9}};
    assert_int_equal(apply(s, t, c2, 4, false), PQF_ERR_VALUE);
    assert_true(s->reorder);
    dump(got, sizeof got);
    assert_string_equal(got, "1=A 2=B 3=null 4=d");

    /* the staged retry: the latest _seq per key wins (1 deleted at 12) */
    assert_int_equal(apply(s, t, c2, 4, true), PQF_OK);
    dump(got, sizeof got);
    assert_string_equal(got, "2=B 3=null 4=d 5=e");

    pqf__tdef_free(t);
    pqf_sink_free(s);
    unlink(path);
}

static const char *test_type(const pqf__col *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", c->kind == PQF__C_INT ? "INT" : "TXT");
    return buf;
}

/* The SQL walks both SQL sinks build their statements from, byte for byte
 * (identifiers quoted, embedded quotes doubled). */
static void sql_walks(void **state)
{
    (void)state;
    static const char schema[] =
        "{\"columns\": [{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false}, "
        "{\"name\": \"na\\\"me\", \"type\": \"string\"}], \"key\": [\"id\"]}";
    pqf_error err = {0};
    pqf__tdef *t = NULL;
    pqf__buf b;
    pqf__buf_init(&b, 4096);
    assert_int_equal(
        pqf__tdef_from_schema_json("t\"x", 1, schema, strlen(schema), "schema", &t, &err), PQF_OK);
    assert_int_equal(pqf__sql_col_list(&b, t), PQF_OK);
    assert_int_equal(pqf__buf_cstr(&b), PQF_OK);
    assert_string_equal((const char *)b.data, "\"id\", \"na\"\"me\"");
    pqf__buf_reset(&b);
    assert_int_equal(pqf__sql_col_defs(&b, t, test_type), PQF_OK);
    assert_int_equal(pqf__sql_primary_key(&b, t), PQF_OK);
    assert_int_equal(pqf__buf_cstr(&b), PQF_OK);
    assert_string_equal((const char *)b.data,
                        "\"id\" INT NOT NULL, \"na\"\"me\" TXT, PRIMARY KEY (\"id\")");
    pqf__buf_reset(&b);
    assert_int_equal(pqf__sql_add_column(&b, t, 1, test_type), PQF_OK);
    assert_int_equal(pqf__buf_cstr(&b), PQF_OK);
    assert_string_equal((const char *)b.data, "ALTER TABLE \"t\"\"x\" ADD COLUMN \"na\"\"me\" TXT");
    pqf__buf_free(&b);
    pqf__tdef_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(changes_direct_and_staged),
        cmocka_unit_test(sql_walks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
