/* Unit tests: the replication state file's batching (src/replicate/state.c)
 * on a real SQLite file -- writes of a batch are invisible to another
 * connection until committed, a transaction joins an open batch, turning
 * batching off commits, and a process that dies (_exit) mid-batch leaves
 * exactly what it committed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replicate/state.h"

static const pqf__rlink L = {"s3://p/feed", "s3://r/feed", "t"};

typedef struct {
    char dir[64];
    char path[96];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pqf-rstate.XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Rows of the objects table another connection sees. */
static int rows_seen(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int n = -1;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM objects", -1, &q, NULL),
                     SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

static void set_obj(pqf__rstate *st, const char *key)
{
    pqf_error e = {0};
    assert_int_equal(pqf__rstate_obj_set(st, &L, 1, key, "copying", 10, "", 1, "", "", &e),
                     PQF_OK);
}

static void batch_is_invisible_until_commit(void **state)
{
    fixture *f = *state;
    pqf__rstate *st = NULL;
    pqf_error e = {0};
    assert_int_equal(pqf__rstate_open(f->path, true, &st, &e), PQF_OK);
    assert_int_equal(pqf__rstate_batch(st, true, &e), PQF_OK);
    set_obj(st, "a");
    set_obj(st, "b");
    assert_int_equal(rows_seen(f->path), 0);
    assert_int_equal(pqf__rstate_commit(st, &e), PQF_OK);
    assert_int_equal(rows_seen(f->path), 2);
    /* a transaction begun while a batch is open joins it */
    set_obj(st, "c");
    assert_int_equal(pqf__rstate_begin(st, &e), PQF_OK);
    set_obj(st, "d");
    assert_int_equal(rows_seen(f->path), 2);
    assert_int_equal(pqf__rstate_commit(st, &e), PQF_OK);
    assert_int_equal(rows_seen(f->path), 4);
    /* nothing open: commit is a no-op */
    assert_int_equal(pqf__rstate_commit(st, &e), PQF_OK);
    /* batching off commits what is open, then each write is its own */
    set_obj(st, "e");
    assert_int_equal(pqf__rstate_batch(st, false, &e), PQF_OK);
    assert_int_equal(rows_seen(f->path), 5);
    set_obj(st, "f");
    assert_int_equal(rows_seen(f->path), 6);
    pqf__rstate_close(st);
}

static void death_mid_batch_keeps_the_committed(void **state)
{
    fixture *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pqf__rstate *st = NULL;
        pqf_error e = {0};
        if (pqf__rstate_open(f->path, true, &st, &e) != PQF_OK ||
            pqf__rstate_batch(st, true, &e) != PQF_OK)
            _exit(2);
        set_obj(st, "kept-1");
        set_obj(st, "kept-2");
        if (pqf__rstate_commit(st, &e) != PQF_OK)
            _exit(3);
        set_obj(st, "lost");
        _exit(0); /* as kill -9: no commit, no close */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pqf__rstate *st = NULL;
    pqf_error e = {0};
    pqf__robj o;
    bool found = false;
    assert_int_equal(pqf__rstate_open(f->path, false, &st, &e), PQF_OK);
    assert_int_equal(pqf__rstate_obj_get(st, &L, "kept-2", &o, &found, &e), PQF_OK);
    assert_true(found);
    assert_string_equal(o.state, "copying");
    assert_int_equal(pqf__rstate_obj_get(st, &L, "lost", &o, &found, &e), PQF_OK);
    assert_false(found);
    pqf__rstate_close(st);
    assert_int_equal(rows_seen(f->path), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(batch_is_invisible_until_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(death_mid_batch_keeps_the_committed, setup, teardown),
    };
    return cmocka_run_group_tests_name("repl_state", tests, NULL, NULL);
}
