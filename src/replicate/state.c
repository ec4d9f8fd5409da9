/* Replication state in SQLite: see state.h. WAL mode with synchronous=NORMAL:
 * a killed process loses nothing (the WAL is in the OS's cache); a power
 * loss may lose the last few updates, which the rerun rebuilds from the
 * replica's own log (the truth) at the cost of re-verifying a few objects. */
#include "replicate/state.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/base.h"
#include "base/timefmt.h"

enum { Q_OBJ_GET, Q_OBJ_SET, Q_PUB, Q_PUB_CLEAN, Q_ERR, Q_LINK_GET, Q_COUNT, Q_SET, Q_COUNTERS, Q_VER_GET, Q_VER_PUT, Q__N };

static const char *const sql[Q__N] = {
    [Q_OBJ_GET] = "SELECT state, bytes, sha256, attempts FROM objects "
                  "WHERE src=?1 AND dst=?2 AND key=?3",
    [Q_OBJ_SET] = "INSERT INTO objects(src,dst,key,tbl,seq,state,bytes,sha256,attempts,cause,"
                  "last_error,updated_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) "
                  "ON CONFLICT(src,dst,key) DO UPDATE SET tbl=?4, seq=?5, state=?6, bytes=?7, "
                  "sha256=?8, attempts=?9, cause=?10, last_error=?11, updated_ms=?12",
    [Q_PUB] = "INSERT INTO links(src,dst,tbl,published,hash,lag_ms,last_error,updated_ms) "
              "VALUES(?1,?2,?3,?4,?5,?6,'',?7) ON CONFLICT(src,dst,tbl) DO UPDATE SET "
              "published=?4, hash=?5, lag_ms=?6, last_error='', updated_ms=?7",
    [Q_PUB_CLEAN] = "DELETE FROM objects WHERE src=?1 AND dst=?2 AND tbl=?3 AND seq<=?4",
    [Q_ERR] = "INSERT INTO links(src,dst,tbl,last_error,updated_ms) VALUES(?1,?2,?3,?4,?5) "
              "ON CONFLICT(src,dst,tbl) DO UPDATE SET last_error=?4, updated_ms=?5",
    [Q_LINK_GET] = "SELECT published, lag_ms, last_error FROM links "
                   "WHERE src=?1 AND dst=?2 AND tbl=?3",
    [Q_COUNT] = "INSERT INTO counters(src,dst,tbl,name,value) VALUES(?1,?2,?3,?4,?5) "
                "ON CONFLICT(src,dst,tbl,name) DO UPDATE SET value=value+?5",
    [Q_SET] = "INSERT INTO counters(src,dst,tbl,name,value) VALUES(?1,?2,?3,?4,?5) "
              "ON CONFLICT(src,dst,tbl,name) DO UPDATE SET value=?5",
    [Q_VER_GET] = "SELECT dst_version FROM versions WHERE src=?1 AND dst=?2 AND key=?3 AND "
                  "src_version=?4",
    [Q_VER_PUT] = "INSERT INTO versions(src,dst,key,src_version,dst_version,ord,marker,updated_ms) "
                  "VALUES(?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT(src,dst,key,src_version) DO UPDATE "
                  "SET dst_version=?5, ord=?6, marker=?7, updated_ms=?8",
    [Q_COUNTERS] = "SELECT name, value FROM counters WHERE src=?1 AND dst=?2 AND tbl=?3 "
                   "ORDER BY name",
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS links(src TEXT NOT NULL, dst TEXT NOT NULL, tbl TEXT NOT NULL,"
    " published INTEGER NOT NULL DEFAULT 0, hash TEXT NOT NULL DEFAULT '',"
    " lag_ms INTEGER NOT NULL DEFAULT -1, last_error TEXT NOT NULL DEFAULT '',"
    " updated_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(src,dst,tbl));"
    "CREATE TABLE IF NOT EXISTS counters(src TEXT NOT NULL, dst TEXT NOT NULL,"
    " tbl TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(src,dst,tbl,name));"
    "CREATE TABLE IF NOT EXISTS objects(src TEXT NOT NULL, dst TEXT NOT NULL, key TEXT NOT NULL,"
    " tbl TEXT NOT NULL, seq INTEGER NOT NULL, state TEXT NOT NULL, bytes INTEGER NOT NULL,"
    " sha256 TEXT NOT NULL, attempts INTEGER NOT NULL, cause TEXT NOT NULL DEFAULT '',"
    " last_error TEXT NOT NULL DEFAULT '', updated_ms INTEGER NOT NULL,"
    " PRIMARY KEY(src,dst,key));"
    "CREATE INDEX IF NOT EXISTS objects_seq ON objects(src,dst,tbl,seq);"
    "CREATE TABLE IF NOT EXISTS versions(src TEXT NOT NULL, dst TEXT NOT NULL, key TEXT NOT NULL,"
    " src_version TEXT NOT NULL, dst_version TEXT NOT NULL, ord INTEGER NOT NULL,"
    " marker INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    " PRIMARY KEY(src,dst,key,src_version));";

struct pqf__rstate {
    sqlite3 *db;
    sqlite3_stmt *q[Q__N];
    char *path;
    bool batch; /* writes join one transaction until pqf__rstate_commit */
    bool open;  /* a transaction is open */
};

static pqf_err db_fail(pqf__rstate *st, pqf_error *err, const char *what)
{
    int ec = sqlite3_extended_errcode(st->db);
    pqf_err code = (ec & 0xff) == SQLITE_NOMEM ? PQF_ERR_NOMEM : PQF_ERR_IO;
    if ((ec & 0xff) == SQLITE_CORRUPT || (ec & 0xff) == SQLITE_NOTADB)
        code = PQF_ERR_CORRUPT;
    return pqf_error_set(err, code, "state file %s: %s: %s", st->path, what,
                         sqlite3_errmsg(st->db));
}

pqf_err pqf__rstate_open(const char *path, bool create, pqf__rstate **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__rstate *st = NULL;
    struct stat sb;
    *out = NULL;
    if (!create && stat(path, &sb) != 0)
        PQF_FAIL(err, PQF_ERR_NOT_FOUND, "state file %s does not exist", path);
    st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path)))
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        rc = st->db ? db_fail(st, err, "open")
                    : pqf_error_set(err, PQF_ERR_NOMEM, "state file %s: out of memory", path);
        goto done;
    }
    sqlite3_busy_timeout(st->db, 10000);
    if (sqlite3_exec(st->db, "PRAGMA synchronous=NORMAL; PRAGMA journal_mode=WAL;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(st->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(st, err, "set up");
        goto done;
    }
    for (int i = 0; i < Q__N; i++) {
        if (sqlite3_prepare_v2(st->db, sql[i], -1, &st->q[i], NULL) != SQLITE_OK) {
            rc = db_fail(st, err, "prepare");
            goto done;
        }
    }
    *out = st;
    st = NULL;
done:
    pqf__rstate_close(st);
    return rc;
}

void pqf__rstate_close(pqf__rstate *st)
{
    if (!st)
        return;
    for (int i = 0; i < Q__N; i++)
        sqlite3_finalize(st->q[i]);
    sqlite3_close(st->db);
    free(st->path);
    free(st);
}

pqf_err pqf__rstate_begin(pqf__rstate *st, pqf_error *err)
{
    if (st->open)
        return PQF_OK; /* joins the batch */
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(st, err, "begin");
    st->open = true;
    return PQF_OK;
}

pqf_err pqf__rstate_commit(pqf__rstate *st, pqf_error *err)
{
    if (!st->open)
        return PQF_OK;
    st->open = false;
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        pqf_err rc = db_fail(st, err, "commit");
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return PQF_OK;
}

pqf_err pqf__rstate_batch(pqf__rstate *st, bool on, pqf_error *err)
{
    pqf_err rc = on ? PQF_OK : pqf__rstate_commit(st, err);
    st->batch = on;
    return rc;
}

/* Reset q and bind the link's three keys (src, dst[, tbl]). */
static sqlite3_stmt *q_link(pqf__rstate *st, int which, const pqf__rlink *l, bool tbl)
{
    sqlite3_stmt *q = st->q[which];
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    sqlite3_bind_text(q, 1, l->src, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, l->dst, -1, SQLITE_TRANSIENT);
    if (tbl)
        sqlite3_bind_text(q, 3, l->tbl, -1, SQLITE_TRANSIENT);
    return q;
}

static pqf_err step_done(pqf__rstate *st, sqlite3_stmt *q, const char *what, pqf_error *err)
{
    if (st->batch && !st->open) {
        pqf_err rc = pqf__rstate_begin(st, err);
        if (rc != PQF_OK) {
            sqlite3_reset(q);
            return rc;
        }
    }
    int r = sqlite3_step(q);
    pqf_err rc = r == SQLITE_DONE ? PQF_OK : db_fail(st, err, what);
    sqlite3_reset(q);
    return rc;
}

static void copy_col(sqlite3_stmt *q, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

pqf_err pqf__rstate_obj_get(pqf__rstate *st, const pqf__rlink *l, const char *key, pqf__robj *o,
                            bool *found, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    memset(o, 0, sizeof *o);
    *found = false;
    sqlite3_stmt *q = q_link(st, Q_OBJ_GET, l, false);
    sqlite3_bind_text(q, 3, key, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        copy_col(q, 0, o->state, sizeof o->state);
        o->bytes = (uint64_t)sqlite3_column_int64(q, 1);
        copy_col(q, 2, o->sha256, sizeof o->sha256);
        o->attempts = (unsigned)sqlite3_column_int(q, 3);
        *found = true;
    } else if (r != SQLITE_DONE) {
        rc = db_fail(st, err, "read object");
    }
    sqlite3_reset(q);
    return rc;
}

pqf_err pqf__rstate_obj_set(pqf__rstate *st, const pqf__rlink *l, uint64_t seq, const char *key,
                            const char *state, uint64_t bytes, const char *sha256,
                            unsigned attempts, const char *cause, const char *msg, pqf_error *err)
{
    sqlite3_stmt *q = q_link(st, Q_OBJ_SET, l, false);
    sqlite3_bind_text(q, 3, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 4, l->tbl, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 5, (sqlite3_int64)seq);
    sqlite3_bind_text(q, 6, state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 7, (sqlite3_int64)bytes);
    sqlite3_bind_text(q, 8, sha256 ? sha256 : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 9, (int)attempts);
    sqlite3_bind_text(q, 10, cause ? cause : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 11, msg ? msg : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 12, pqf__now_ms());
    return step_done(st, q, "write object", err);
}

pqf_err pqf__rstate_published(pqf__rstate *st, const pqf__rlink *l, uint64_t seq, const char *hash,
                              int64_t lag_ms, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    sqlite3_stmt *q = q_link(st, Q_PUB, l, true);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)seq);
    sqlite3_bind_text(q, 5, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 6, lag_ms);
    sqlite3_bind_int64(q, 7, pqf__now_ms());
    PQF_TRY(step_done(st, q, "record publication", err));
    q = q_link(st, Q_PUB_CLEAN, l, true);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)seq);
    PQF_TRY(step_done(st, q, "forget published objects", err));
done:
    return rc;
}

pqf_err pqf__rstate_set_error(pqf__rstate *st, const pqf__rlink *l, const char *msg, pqf_error *err)
{
    sqlite3_stmt *q = q_link(st, Q_ERR, l, true);
    sqlite3_bind_text(q, 4, msg, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 5, pqf__now_ms());
    return step_done(st, q, "record error", err);
}

pqf_err pqf__rstate_link_get(pqf__rstate *st, const pqf__rlink *l, uint64_t *published,
                             int64_t *lag_ms, char *last_error, size_t cap, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    *published = 0;
    *lag_ms = -1;
    if (cap)
        last_error[0] = '\0';
    sqlite3_stmt *q = q_link(st, Q_LINK_GET, l, true);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        *published = (uint64_t)sqlite3_column_int64(q, 0);
        *lag_ms = sqlite3_column_int64(q, 1);
        if (cap)
            copy_col(q, 2, last_error, cap);
    } else if (r != SQLITE_DONE) {
        rc = db_fail(st, err, "read link");
    }
    sqlite3_reset(q);
    return rc;
}

pqf_err pqf__rstate_count(pqf__rstate *st, const pqf__rlink *l, const char *name, int64_t delta,
                          pqf_error *err)
{
    if (delta == 0)
        return PQF_OK;
    sqlite3_stmt *q = q_link(st, Q_COUNT, l, true);
    sqlite3_bind_text(q, 4, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 5, delta);
    return step_done(st, q, "count", err);
}

pqf_err pqf__rstate_set(pqf__rstate *st, const pqf__rlink *l, const char *name, int64_t value,
                        pqf_error *err)
{
    sqlite3_stmt *q = q_link(st, Q_SET, l, true);
    sqlite3_bind_text(q, 4, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 5, value);
    return step_done(st, q, "set", err);
}

pqf_err pqf__rstate_counters(pqf__rstate *st, const pqf__rlink *l,
                             void (*cb)(void *ud, const char *name, int64_t value), void *ud,
                             pqf_error *err)
{
    pqf_err rc = PQF_OK;
    sqlite3_stmt *q = q_link(st, Q_COUNTERS, l, true);
    int r;
    for (;;) {
        r = sqlite3_step(q);
        if (r != SQLITE_ROW)
            break;
        const unsigned char *name = sqlite3_column_text(q, 0);
        cb(ud, name ? (const char *)name : "", sqlite3_column_int64(q, 1));
    }
    if (r != SQLITE_DONE)
        rc = db_fail(st, err, "read counters");
    sqlite3_reset(q);
    return rc;
}

pqf_err pqf__rstate_version_get(pqf__rstate *st, const pqf__rlink *l, const char *key,
                                const char *src_version, char *dst_version, size_t cap,
                                bool *found, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    sqlite3_stmt *q = q_link(st, Q_VER_GET, l, false);
    sqlite3_bind_text(q, 3, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 4, src_version, -1, SQLITE_TRANSIENT);
    *found = false;
    if (cap)
        dst_version[0] = '\0';
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        *found = true;
        copy_col(q, 0, dst_version, cap);
    } else if (r != SQLITE_DONE) {
        rc = db_fail(st, err, "read a version");
    }
    sqlite3_reset(q);
    return rc;
}

pqf_err pqf__rstate_version_put(pqf__rstate *st, const pqf__rlink *l, const char *key,
                                const char *src_version, const char *dst_version, unsigned ord,
                                bool marker, pqf_error *err)
{
    sqlite3_stmt *q = q_link(st, Q_VER_PUT, l, false);
    sqlite3_bind_text(q, 3, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 4, src_version, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 5, dst_version, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 6, ord);
    sqlite3_bind_int(q, 7, marker ? 1 : 0);
    sqlite3_bind_int64(q, 8, (sqlite3_int64)time(NULL) * 1000);
    return step_done(st, q, "record a version", err);
}

pqf_err pqf__rstate_ready(pqf__rstate *st, const pqf__rlink *l, uint64_t lo, uint64_t hi,
                          uint64_t *objects, uint64_t *bytes, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    sqlite3_stmt *q = NULL;
    *objects = *bytes = 0;
    /* Prepared per call: used by the metrics refresher only, once a second. */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT count(*), coalesce(sum(bytes),0) FROM objects WHERE src=?1 AND "
                           "dst=?2 AND tbl=?3 AND seq>?4 AND seq<=?5 AND state='verified'",
                           -1, &q, NULL) != SQLITE_OK) {
        rc = db_fail(st, err, "prepare");
        goto done;
    }
    sqlite3_bind_text(q, 1, l->src, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, l->dst, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, l->tbl, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)lo);
    sqlite3_bind_int64(q, 5, (sqlite3_int64)hi);
    if (sqlite3_step(q) != SQLITE_ROW) {
        rc = db_fail(st, err, "count ready objects");
        goto done;
    }
    *objects = (uint64_t)sqlite3_column_int64(q, 0);
    *bytes = (uint64_t)sqlite3_column_int64(q, 1);
done:
    sqlite3_finalize(q);
    return rc;
}
