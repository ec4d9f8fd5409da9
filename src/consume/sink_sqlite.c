/* The SQLite sink (libsqlite3).
 *
 * Types: integers and booleans INTEGER (declared BOOLEAN for booleans),
 * floats REAL, decimals DECIMAL(p,s) up to 15 digits (NUMERIC affinity:
 * exact as a number) and DECIMAL TEXT(p,s) beyond (TEXT affinity: SQLite
 * would round a longer number to a REAL), dates and timestamps as ISO 8601 text
 * (declared DATE / TIMESTAMP; timestamps with a fixed number of fraction
 * digits so text order is time order), strings, UUIDs, JSON and nested values
 * TEXT, binary BLOB. The key is the PRIMARY KEY.
 *
 * Changes whose rows come in _seq order (what export writes) are applied
 * row by row with two prepared statements: INSERT OR REPLACE for I/U (a
 * replaced row loses the values of columns the schema dropped, as in the
 * merge) and DELETE by key for D, typed values bound directly. A row out of
 * _seq order makes the load fail with base.reorder set; the engine then
 * applies the commit again with base.staged: the rows go to a temporary
 * stage table, and one DELETE and one INSERT ... SELECT keep, per key, only
 * the row with the highest _seq. Both give the result of applying the
 * changes one by one in _seq order.
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/base.h"
#include "consume/sink.h"

typedef struct sqlite_sink {
    pqf_sink base;
    sqlite3 *db;
    bool in_tx;
    /* the load in progress */
    const pqf__tdef *t;
    bool changes;
    sqlite3_stmt *ins;
    sqlite3_stmt *del; /* direct changes: DELETE by key */
    bool direct;       /* changes applied row by row, in _seq order */
    int64_t last_seq;
    bool have_seq;
    /* direct changes of a table keyed by one integer: rows gathered in a
     * chunk, applied in key order (the B-tree's order, so each page is
     * visited once per chunk instead of once per row) */
    bool chunked;
    pqf__buf chunk;  /* rows serialised: per value a type byte and its bytes */
    struct chunk_row {
        int64_t key;
        size_t off;
    } *crows;
    size_t ncrows, capcrows;
    pqf__val *cvals;
    pqf__buf sql;
} sqlite_sink;

#define CHUNK_BYTES ((size_t)256 << 20)

static pqf_err db_fail(sqlite_sink *s, pqf_error *err, const char *what)
{
    return pqf_error_set(err, PQF_ERR_IO, "%s: %s: %s", s->base.name, what, sqlite3_errmsg(s->db));
}

/* Prepare sql (NUL-terminated) into *st. */
static pqf_err prepare(sqlite_sink *s, const char *sql, sqlite3_stmt **st, pqf_error *err)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return pqf_error_set(err, PQF_ERR_IO, "%s: %s", s->base.name, sqlite3_errmsg(s->db));
    return PQF_OK;
}

static pqf_err exec(sqlite_sink *s, const char *sql, pqf_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        pqf_err rc = pqf_error_set(err, PQF_ERR_IO, "%s: %s", s->base.name,
                                   msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return rc;
    }
    return PQF_OK;
}

/* Run the statement in s->sql (NUL-terminated). */
static pqf_err exec_buf(sqlite_sink *s, pqf_error *err)
{
    if (pqf__buf_cstr(&s->sql) != PQF_OK)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    return exec(s, (const char *)s->sql.data, err);
}

static const char *decl_type(const pqf__col *c, char *buf, size_t cap)
{
    switch (c->kind) {
    case PQF__C_INT:
    case PQF__C_UINT64:
        return "INTEGER";
    case PQF__C_FLOAT:
    case PQF__C_DOUBLE:
        return "REAL";
    case PQF__C_BOOL:
        return "BOOLEAN";
    case PQF__C_DECIMAL:
        /* NUMERIC affinity keeps 15 significant digits exactly and rounds
         * longer numbers to REAL; beyond 15 the type name holds TEXT, so
         * the affinity is TEXT and the digits stay exact. */
        snprintf(buf, cap, c->precision <= 15 ? "DECIMAL(%d,%d)" : "DECIMAL TEXT(%d,%d)",
                 c->precision, c->scale);
        return buf;
    case PQF__C_DATE:
        return "DATE";
    case PQF__C_TIMESTAMP:
        return "TIMESTAMP";
    case PQF__C_BINARY:
        return "BLOB";
    default: /* TEXT affinity: JSON like "12" must stay text */
        return "TEXT";
    }
}

static pqf_err sq_setup(pqf_sink *base, pqf_error *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    return exec(
        s,
        "CREATE TABLE IF NOT EXISTS _pqfeed_checkpoint ("
        " table_name TEXT NOT NULL, seq INTEGER NOT NULL, commit_hash TEXT NOT NULL,"
        " schema_version INTEGER NOT NULL, kind TEXT NOT NULL, rows INTEGER NOT NULL,"
        " commit_created_at TEXT, applied_at TEXT NOT NULL,"
        " PRIMARY KEY (table_name, seq));"
        "CREATE TABLE IF NOT EXISTS _pqfeed_quarantine ("
        " table_name TEXT NOT NULL, seq INTEGER NOT NULL, file_key TEXT NOT NULL,"
        " expected_sha256 TEXT NOT NULL, got_sha256 TEXT NOT NULL, detected_at TEXT NOT NULL,"
        " UNIQUE (table_name, seq, file_key, got_sha256));",
        err);
}

static pqf_err sq_checkpoint(pqf_sink *base, const char *table, pqf__ckpt *out, pqf_error *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    pqf_err rc = PQF_OK;
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    if (s->base.readonly) { /* status: a sink apply never set up has nothing applied */
        PQF_TRY(prepare(s,
                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                        "name = '_pqfeed_checkpoint'",
                        &st, err));
        int r0 = sqlite3_step(st);
        sqlite3_finalize(st);
        st = NULL;
        if (r0 == SQLITE_DONE)
            goto done;
        if (r0 != SQLITE_ROW)
            PQF_FAIL(err, PQF_ERR_IO, "%s: reading the checkpoint: %s", s->base.name,
                     sqlite3_errmsg(s->db));
    }
    PQF_TRY(prepare(s,
                    "SELECT seq, commit_hash, schema_version, applied_at FROM "
                    "_pqfeed_checkpoint WHERE table_name = ?1 ORDER BY seq DESC LIMIT 1",
                    &st, err));
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        out->seq = (uint64_t)sqlite3_column_int64(st, 0);
        const unsigned char *h = sqlite3_column_text(st, 1);
        snprintf(out->hash, sizeof out->hash, "%s", h ? (const char *)h : "");
        out->schema_version = sqlite3_column_int(st, 2);
        const unsigned char *a = sqlite3_column_text(st, 3);
        snprintf(out->applied_at, sizeof out->applied_at, "%s", a ? (const char *)a : "");
    } else if (r != SQLITE_DONE) {
        PQF_FAIL(err, PQF_ERR_IO, "%s: reading the checkpoint: %s", s->base.name,
                 sqlite3_errmsg(s->db));
    }
done:
    sqlite3_finalize(st);
    return rc;
}

static pqf_err sq_begin(pqf_sink *base, pqf_error *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    /* IMMEDIATE: take the write lock now, not halfway through a commit. */
    pqf_err rc = exec(s, "BEGIN IMMEDIATE", err);
    s->in_tx = rc == PQF_OK;
    return rc;
}

/* One column of the sink's table as it is (pragma table_info). */
typedef struct {
    char *name, *type;
    bool notnull;
    int want; /* index in the tdef, -1: a column the schema dropped */
} have_col;

/* ?,?,...: n parameter markers. */
static pqf_err placeholders(pqf__buf *b, size_t n)
{
    pqf_err rc = PQF_OK;
    for (size_t i = 0; i < n; i++)
        PQF_TRY(pqf__buf_printf(b, "%s?", i ? "," : ""));
done:
    return rc;
}

/* <verb> INTO main."table" ("c1", ...) VALUES (?, ...): every column. */
static pqf_err insert_sql(pqf__buf *b, const char *verb, const pqf__tdef *t)
{
    pqf_err rc = PQF_OK;
    PQF_TRY(pqf__buf_printf(b, "%s INTO main.", verb));
    PQF_TRY(pqf__sql_ident(b, t->table));
    PQF_TRY(pqf__buf_printf(b, " ("));
    PQF_TRY(pqf__sql_col_list(b, t));
    PQF_TRY(pqf__buf_printf(b, ") VALUES ("));
    PQF_TRY(placeholders(b, t->ncols));
    PQF_TRY(pqf__buf_printf(b, ")"));
done:
    return rc;
}

static pqf_err create_table(sqlite_sink *s, const pqf__tdef *t, const char *name,
                            const have_col *extra, size_t nextra, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "CREATE TABLE "));
    PQF_TRY(pqf__sql_ident(&s->sql, name));
    PQF_TRY(pqf__buf_printf(&s->sql, " ("));
    PQF_TRY(pqf__sql_col_defs(&s->sql, t, decl_type));
    for (size_t i = 0; i < nextra; i++) { /* dropped by the schema: kept, nullable */
        PQF_TRY(pqf__buf_printf(&s->sql, ", "));
        PQF_TRY(pqf__sql_ident(&s->sql, extra[i].name));
        PQF_TRY(pqf__buf_printf(&s->sql, " %s", extra[i].type)); /* as SQLite keeps it */
    }
    PQF_TRY(pqf__sql_primary_key(&s->sql, t));
    PQF_TRY(pqf__buf_printf(&s->sql, ")"));
    PQF_TRY(exec_buf(s, err));
done:
    return rc;
}

/* "h1", "h2", ...: the columns the table has. */
static pqf_err have_list(pqf__buf *b, const have_col *hv, size_t nhave)
{
    pqf_err rc = PQF_OK;
    for (size_t i = 0; i < nhave; i++) {
        PQF_TRY(pqf__buf_printf(b, "%s", i ? ", " : ""));
        PQF_TRY(pqf__sql_ident(b, hv[i].name));
    }
done:
    return rc;
}

/* Rebuild the table with t's declared types and nullability (SQLite has no
 * ALTER COLUMN): a new table, the rows copied, the old one dropped, the new
 * one renamed, all inside the commit's transaction. */
static pqf_err rebuild_table(sqlite_sink *s, const pqf__tdef *t, const have_col *hv, size_t nhave,
                             pqf_error *err)
{
    pqf_err rc = PQF_OK;
    have_col *extra = calloc(nhave + 1, sizeof *extra);
    size_t nextra = 0;
    if (!extra)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nhave; i++)
        if (hv[i].want < 0)
            extra[nextra++] = hv[i];
    PQF_TRY(exec(s, "DROP TABLE IF EXISTS main._pqfeed_rebuild", err));
    PQF_TRY(create_table(s, t, "_pqfeed_rebuild", extra, nextra, err));
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "INSERT INTO main._pqfeed_rebuild ("));
    PQF_TRY(have_list(&s->sql, hv, nhave));
    PQF_TRY(pqf__buf_printf(&s->sql, ") SELECT "));
    PQF_TRY(have_list(&s->sql, hv, nhave));
    PQF_TRY(pqf__buf_printf(&s->sql, " FROM main."));
    PQF_TRY(pqf__sql_ident(&s->sql, t->table));
    PQF_TRY(exec_buf(s, err));
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "DROP TABLE main."));
    PQF_TRY(pqf__sql_ident(&s->sql, t->table));
    PQF_TRY(exec_buf(s, err));
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "ALTER TABLE main._pqfeed_rebuild RENAME TO "));
    PQF_TRY(pqf__sql_ident(&s->sql, t->table));
    PQF_TRY(exec_buf(s, err));
done:
    free(extra);
    return rc;
}

static pqf_err sq_sync_table(pqf_sink *base, const pqf__tdef *t, pqf_error *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    pqf_err rc = PQF_OK;
    sqlite3_stmt *st = NULL;
    bool *have = calloc(t->ncols + 1, sizeof *have);
    have_col *hv = NULL;
    size_t nhave = 0, caphave = 0;
    bool rebuild = false;
    char tb[64];
    if (!have)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(prepare(s, "SELECT name, type, \"notnull\" FROM pragma_table_info(?1)", &st, err));
    sqlite3_bind_text(st, 1, t->table, -1, SQLITE_STATIC);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *nm = (const char *)sqlite3_column_text(st, 0);
        const char *ty = (const char *)sqlite3_column_text(st, 1);
        if (nhave == caphave) {
            size_t nc = caphave ? caphave * 2 : 16;
            have_col *p = realloc(hv, nc * sizeof *p);
            if (!p)
                PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
            hv = p;
            caphave = nc;
        }
        have_col *h = &hv[nhave++];
        h->name = strdup(nm ? nm : "");
        h->type = strdup(ty ? ty : "");
        h->notnull = sqlite3_column_int(st, 2) != 0;
        h->want = -1;
        if (!h->name || !h->type)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < t->ncols; i++)
            if (strcmp(t->cols[i].name, h->name) == 0) {
                have[i] = true;
                h->want = (int)i;
            }
    }
    if (r != SQLITE_DONE)
        PQF_FAIL(err, PQF_ERR_IO, "%s: %s", s->base.name, sqlite3_errmsg(s->db));
    if (nhave == 0) {
        PQF_TRY(create_table(s, t, t->table, NULL, 0, err));
        goto done;
    }
    /* A later schema version's new columns (compatible changes add only
     * nullable ones); columns the schema dropped stay and get NULLs. */
    for (size_t i = 0; i < t->ncols; i++) {
        if (have[i])
            continue;
        pqf__buf_reset(&s->sql);
        PQF_TRY(pqf__sql_add_column(&s->sql, t, i, decl_type));
        PQF_TRY(exec_buf(s, err));
    }
    /* Widenings (int32 -> int64, float -> double) keep the declared type
     * and its affinity: INTEGER and REAL store every value of the wider
     * type, so nothing changes. A decimal's precision going up changes the
     * declared DECIMAL(p,s) only (NUMERIC affinity either way); a column
     * becoming nullable, or dropped by the schema while NOT NULL, must lose
     * its constraint: for those the table is rebuilt. */
    for (size_t i = 0; i < nhave && !rebuild; i++) {
        if (hv[i].want < 0) {
            rebuild = hv[i].notnull;
            continue;
        }
        const pqf__col *c = &t->cols[hv[i].want];
        const char *want = decl_type(c, tb, sizeof tb);
        rebuild = (hv[i].notnull && c->nullable) ||
                  (strncasecmp(hv[i].type, "DECIMAL", 7) == 0 &&
                   strncmp(want, "DECIMAL", 7) == 0 && strcasecmp(hv[i].type, want) != 0);
    }
    if (rebuild)
        PQF_TRY(rebuild_table(s, t, hv, nhave, err));
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory");
    sqlite3_finalize(st);
    for (size_t i = 0; i < nhave; i++) {
        free(hv[i].name);
        free(hv[i].type);
    }
    free(hv);
    free(have);
    return rc;
}

static pqf_err sq_load_begin(pqf_sink *base, const pqf__tdef *t, bool changes, pqf_error *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    pqf_err rc = PQF_OK;
    s->t = t;
    s->changes = changes;
    s->direct = changes && !s->base.staged;
    s->have_seq = false;
    s->chunked = s->direct && t->nkeys == 1 && t->cols[t->keys[0]].kind == PQF__C_INT;
    s->ncrows = 0;
    pqf__buf_reset(&s->chunk);
    if (s->chunked) {
        pqf__val *cv = realloc(s->cvals, (t->ncols + 2) * sizeof *cv);
        if (!cv)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        memset(cv, 0, (t->ncols + 2) * sizeof *cv);
        s->cvals = cv;
    }
    pqf__buf_reset(&s->sql);
    sqlite3_finalize(s->del);
    s->del = NULL;
    if (s->direct) {
        PQF_TRY(pqf__buf_printf(&s->sql, "DELETE FROM main."));
        PQF_TRY(pqf__sql_ident(&s->sql, t->table));
        for (size_t k = 0; k < t->nkeys; k++) {
            PQF_TRY(pqf__buf_printf(&s->sql, " %s ", k ? "AND" : "WHERE"));
            PQF_TRY(pqf__sql_ident(&s->sql, t->cols[t->keys[k]].name));
            PQF_TRY(pqf__buf_printf(&s->sql, " = ?%zu", t->keys[k] + 1));
        }
        PQF_TRY(pqf__buf_cstr(&s->sql));
        PQF_TRY(prepare(s, (const char *)s->sql.data, &s->del, err));
        pqf__buf_reset(&s->sql);
        PQF_TRY(insert_sql(&s->sql, "INSERT OR REPLACE", t));
    } else if (changes) {
        PQF_TRY(exec(s, "DROP TABLE IF EXISTS temp._pqfeed_stage", err));
        /* Untyped columns: values keep what was bound; the target's
         * affinities apply at the merge. */
        PQF_TRY(pqf__buf_printf(&s->sql, "CREATE TEMP TABLE _pqfeed_stage ("));
        for (size_t i = 0; i < t->ncols; i++) {
            PQF_TRY(pqf__sql_ident(&s->sql, t->cols[i].name));
            PQF_TRY(pqf__buf_printf(&s->sql, ", "));
        }
        PQF_TRY(pqf__buf_printf(&s->sql, "_pqfeed_op, _pqfeed_seq)"));
        PQF_TRY(exec_buf(s, err));
        pqf__buf_reset(&s->sql);
        PQF_TRY(pqf__buf_printf(&s->sql, "INSERT INTO temp._pqfeed_stage VALUES ("));
        PQF_TRY(placeholders(&s->sql, t->ncols + 2));
        PQF_TRY(pqf__buf_printf(&s->sql, ")"));
    } else {
        PQF_TRY(pqf__buf_printf(&s->sql, "DELETE FROM main."));
        PQF_TRY(pqf__sql_ident(&s->sql, t->table));
        PQF_TRY(exec_buf(s, err));
        pqf__buf_reset(&s->sql);
        PQF_TRY(insert_sql(&s->sql, "INSERT", t));
    }
    PQF_TRY(pqf__buf_cstr(&s->sql));
    sqlite3_finalize(s->ins);
    s->ins = NULL;
    PQF_TRY(prepare(s, (const char *)s->sql.data, &s->ins, err));
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory");
    return rc;
}

static int bind(sqlite3_stmt *st, int c, const pqf__val *v)
{
    switch (v->t) {
    case PQF__V_INT:
    case PQF__V_BOOL:
        return sqlite3_bind_int64(st, c, v->i);
    case PQF__V_DOUBLE:
        return sqlite3_bind_double(st, c, v->d);
    case PQF__V_TEXT:
        return sqlite3_bind_text64(st, c, v->s, v->n, SQLITE_STATIC, SQLITE_UTF8);
    case PQF__V_BLOB:
        return sqlite3_bind_blob64(st, c, v->s, v->n, SQLITE_STATIC);
    default:
        return sqlite3_bind_null(st, c);
    }
}

/* One change: I/U replace the key's row, D deletes it. */
static pqf_err step_change(sqlite_sink *s, const pqf__val *vals, pqf_error *err)
{
    const pqf__tdef *t = s->t;
    sqlite3_stmt *st = vals[t->ncols].s[0] == 'D' ? s->del : s->ins;
    sqlite3_reset(st);
    if (st == s->del) {
        for (size_t k = 0; k < t->nkeys; k++)
            if (bind(st, (int)t->keys[k] + 1, &vals[t->keys[k]]) != SQLITE_OK)
                return db_fail(s, err, "binding a value");
    } else {
        for (size_t i = 0; i < t->ncols; i++)
            if (bind(st, (int)i + 1, &vals[i]) != SQLITE_OK)
                return db_fail(s, err, "binding a value");
    }
    if (sqlite3_step(st) != SQLITE_DONE)
        return pqf_error_set(err, PQF_ERR_VALUE, "%s: table %s: %s", s->base.name, t->table,
                             sqlite3_errmsg(s->db));
    return PQF_OK;
}

static int by_key(const void *a, const void *b)
{
    const struct chunk_row *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off; /* a key's changes stay in _seq order */
}

/* Apply the chunk's rows in key order (stable: per key in _seq order, which
 * is all the order that matters), then empty it. */
static pqf_err chunk_flush(sqlite_sink *s, pqf_error *err)
{
    const pqf__tdef *t = s->t;
    size_t n = t->ncols + 1;
    qsort(s->crows, s->ncrows, sizeof *s->crows, by_key);
    for (size_t r = 0; r < s->ncrows; r++) {
        const uint8_t *p = s->chunk.data + s->crows[r].off;
        for (size_t i = 0; i < n; i++) {
            pqf__val *v = &s->cvals[i];
            v->t = (pqf__vtype)*p++;
            switch (v->t) {
            case PQF__V_INT:
            case PQF__V_BOOL:
                memcpy(&v->i, p, 8);
                p += 8;
                break;
            case PQF__V_DOUBLE:
                memcpy(&v->d, p, 8);
                p += 8;
                break;
            case PQF__V_TEXT:
            case PQF__V_BLOB: {
                uint64_t len;
                memcpy(&len, p, 8);
                v->s = (const char *)p + 8;
                v->n = (size_t)len;
                p += 8 + len;
                break;
            }
            default:
                break;
            }
        }
        pqf_err rc = step_change(s, s->cvals, err);
        if (rc != PQF_OK)
            return rc;
    }
    s->ncrows = 0;
    pqf__buf_reset(&s->chunk);
    return PQF_OK;
}

static pqf_err chunk_add(sqlite_sink *s, const pqf__val *vals, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    const pqf__tdef *t = s->t;
    size_t n = t->ncols + 1, need = 0;
    for (size_t i = 0; i < n; i++)
        need += 9 + (vals[i].t == PQF__V_TEXT || vals[i].t == PQF__V_BLOB ? vals[i].n : 0);
    if (s->ncrows && s->chunk.len + need > CHUNK_BYTES)
        PQF_TRY(chunk_flush(s, err));
    if (s->ncrows == s->capcrows) {
        size_t nc = s->capcrows ? s->capcrows * 2 : 4096;
        struct chunk_row *p = realloc(s->crows, nc * sizeof *p);
        if (!p)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        s->crows = p;
        s->capcrows = nc;
    }
    s->crows[s->ncrows].key = vals[t->keys[0]].i;
    s->crows[s->ncrows].off = s->chunk.len;
    for (size_t i = 0; i < n && rc == PQF_OK; i++) {
        const pqf__val *v = &vals[i];
        uint8_t ty = (uint8_t)v->t;
        rc = pqf__buf_append_byte(&s->chunk, ty);
        if (rc != PQF_OK)
            break;
        if (v->t == PQF__V_INT || v->t == PQF__V_BOOL)
            rc = pqf__buf_append(&s->chunk, &v->i, 8);
        else if (v->t == PQF__V_DOUBLE)
            rc = pqf__buf_append(&s->chunk, &v->d, 8);
        else if (v->t == PQF__V_TEXT || v->t == PQF__V_BLOB) {
            uint64_t len = v->n;
            rc = pqf__buf_append(&s->chunk, &len, 8);
            if (rc == PQF_OK)
                rc = pqf__buf_append(&s->chunk, v->s, v->n);
        }
    }
    if (rc != PQF_OK)
        PQF_FAIL(err, rc, "%s: table %s: a row larger than the %zu MiB chunk", s->base.name,
                 t->table, CHUNK_BYTES >> 20);
    s->ncrows++;
done:
    return rc;
}

/* One change, in _seq order (else reorder: the engine retries staged). */
static pqf_err direct_row(sqlite_sink *s, const pqf__val *vals, pqf_error *err)
{
    const pqf__tdef *t = s->t;
    int64_t seq = vals[t->ncols + 1].i;
    if (s->have_seq && seq < s->last_seq) {
        s->base.reorder = true;
        return pqf_error_set(err, PQF_ERR_VALUE,
                             "%s: table %s: _seq %" PRId64 " after %" PRId64
                             ": rows out of order (applied again through the stage table)",
                             s->base.name, t->table, seq, s->last_seq);
    }
    s->have_seq = true;
    s->last_seq = seq;
    if (s->chunked && vals[t->keys[0]].t == PQF__V_INT)
        return chunk_add(s, vals, err);
    if (s->chunked && s->ncrows) { /* keep the order: what is gathered goes first */
        pqf_err rc = chunk_flush(s, err);
        if (rc != PQF_OK)
            return rc;
    }
    return step_change(s, vals, err);
}

static pqf_err sq_load_row(pqf_sink *base, const pqf__val *vals, pqf_error *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    size_t n = s->t->ncols + (s->changes ? 2 : 0);
    if (s->direct)
        return direct_row(s, vals, err);
    sqlite3_reset(s->ins);
    for (size_t i = 0; i < n; i++)
        if (bind(s->ins, (int)i + 1, &vals[i]) != SQLITE_OK)
            return db_fail(s, err, "binding a value");
    if (sqlite3_step(s->ins) != SQLITE_DONE)
        return pqf_error_set(err, PQF_ERR_VALUE, "%s: table %s: %s", s->base.name, s->t->table,
                             sqlite3_errmsg(s->db));
    return PQF_OK;
}

static pqf_err sq_load_end(pqf_sink *base, pqf_error *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    const pqf__tdef *t = s->t;
    pqf_err rc = PQF_OK;
    if (s->direct && s->ncrows)
        PQF_TRY(chunk_flush(s, err));
    sqlite3_finalize(s->ins);
    s->ins = NULL;
    sqlite3_finalize(s->del);
    s->del = NULL;
    if (!s->changes || s->direct)
        goto done;
    /* Every key the commit touched leaves the table... */
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "DELETE FROM main."));
    PQF_TRY(pqf__sql_ident(&s->sql, t->table));
    PQF_TRY(pqf__buf_printf(&s->sql, " WHERE (%s", ""));
    PQF_TRY(pqf__sql_key_list(&s->sql, t, ""));
    PQF_TRY(pqf__buf_printf(&s->sql, ") IN (SELECT "));
    PQF_TRY(pqf__sql_key_list(&s->sql, t, ""));
    PQF_TRY(pqf__buf_printf(&s->sql, " FROM temp._pqfeed_stage)"));
    PQF_TRY(exec_buf(s, err));
    /* ...and comes back in its latest version, unless that is a delete. */
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "INSERT INTO main."));
    PQF_TRY(pqf__sql_ident(&s->sql, t->table));
    PQF_TRY(pqf__buf_printf(&s->sql, " ("));
    PQF_TRY(pqf__sql_col_list(&s->sql, t));
    PQF_TRY(pqf__buf_printf(&s->sql, ") SELECT "));
    PQF_TRY(pqf__sql_col_list(&s->sql, t));
    PQF_TRY(pqf__buf_printf(&s->sql, " FROM (SELECT *, row_number() OVER (PARTITION BY "));
    PQF_TRY(pqf__sql_key_list(&s->sql, t, ""));
    PQF_TRY(pqf__buf_printf(&s->sql,
                            " ORDER BY _pqfeed_seq DESC) AS _pqfeed_rn FROM "
                            "temp._pqfeed_stage) WHERE _pqfeed_rn = 1 AND _pqfeed_op <> 'D'"));
    PQF_TRY(exec_buf(s, err));
    PQF_TRY(exec(s, "DROP TABLE temp._pqfeed_stage", err));
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory");
    return rc;
}

static pqf_err sq_put_checkpoint(pqf_sink *base, const pqf__ckpt_put *c, pqf_error *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    pqf_err rc = PQF_OK;
    sqlite3_stmt *st = NULL;
    PQF_TRY(prepare(s,
                    "INSERT INTO _pqfeed_checkpoint (table_name, seq, commit_hash, "
                    "schema_version, kind, rows, commit_created_at, applied_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    &st, err));
    sqlite3_bind_text(st, 1, c->table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)c->seq);
    sqlite3_bind_text(st, 3, c->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, c->schema_version);
    sqlite3_bind_text(st, 5, c->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)c->rows);
    sqlite3_bind_text(st, 7, c->created_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, c->applied_at, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        PQF_FAIL(err, PQF_ERR_IO, "%s: writing the checkpoint of %s seq %" PRIu64 ": %s",
                 s->base.name, c->table, c->seq, sqlite3_errmsg(s->db));
done:
    sqlite3_finalize(st);
    return rc;
}

static pqf_err sq_commit(pqf_sink *base, pqf_error *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    pqf_err rc = exec(s, "COMMIT", err);
    if (rc == PQF_OK)
        s->in_tx = false;
    return rc;
}

static void sq_rollback(pqf_sink *base)
{
    sqlite_sink *s = (sqlite_sink *)base;
    sqlite3_finalize(s->ins);
    s->ins = NULL;
    sqlite3_finalize(s->del);
    s->del = NULL;
    s->ncrows = 0;
    pqf__buf_reset(&s->chunk);
    if (s->in_tx || !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = false;
}

static pqf_err sq_quarantine(pqf_sink *base, const pqf__quarantine_put *q, pqf_error *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    pqf_err rc = PQF_OK;
    sqlite3_stmt *st = NULL;
    PQF_TRY(prepare(s,
                    "INSERT OR IGNORE INTO _pqfeed_quarantine (table_name, seq, file_key, "
                    "expected_sha256, got_sha256, detected_at) VALUES (?1,?2,?3,?4,?5,?6)",
                    &st, err));
    sqlite3_bind_text(st, 1, q->table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)q->seq);
    sqlite3_bind_text(st, 3, q->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, q->expected_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, q->got_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, q->at, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        PQF_FAIL(err, PQF_ERR_IO, "%s: writing the quarantine record: %s", s->base.name,
                 sqlite3_errmsg(s->db));
done:
    sqlite3_finalize(st);
    return rc;
}

static void sq_destroy(pqf_sink *base)
{
    sqlite_sink *s = (sqlite_sink *)base;
    if (s->db) /* NULL: failed before the open */
        sq_rollback(base);
    sqlite3_close(s->db);
    pqf__buf_free(&s->sql);
    pqf__buf_free(&s->chunk);
    free(s->crows);
    free(s->cvals);
    free(s);
}

static const pqf__sink_vt sqlite_vt = {
    "sqlite",      sq_setup,      sq_checkpoint, sq_begin,          sq_sync_table,
    sq_load_begin, sq_load_row,   sq_load_end,   sq_put_checkpoint, sq_commit,
    sq_rollback,   sq_quarantine, sq_destroy,
};

pqf_err pqf__sink_sqlite_open(const char *path, bool readonly, pqf_sink **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    sqlite_sink *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    s->base.vt = &sqlite_vt;
    snprintf(s->base.name, sizeof s->base.name, "%s", path);
    pqf__buf_init(&s->sql, (size_t)64 << 20);
    pqf__buf_init(&s->chunk, CHUNK_BYTES);
    struct stat st;
    if (readonly && stat(path, &st) != 0 && errno == ENOENT)
        PQF_FAIL(err, PQF_ERR_NOT_FOUND,
                 "sqlite sink %s: does not exist (nothing applied; apply creates it)", path);
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK)
        PQF_FAIL(err, PQF_ERR_IO, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
    sqlite3_busy_timeout(s->db, 10000);
    if (!readonly) {
        /* Durable commits whatever the file's journal mode. */
        PQF_TRY(exec(s, "PRAGMA synchronous = FULL", err));
        /* A commit touches pages all over a big table: keep them in memory
         * until COMMIT rather than spilling and re-reading (bounded: 128 MiB). */
        PQF_TRY(exec(s, "PRAGMA cache_size = -131072", err));
    }
    *out = &s->base;
    s = NULL;
done:
    if (s)
        sq_destroy(&s->base);
    return rc;
}
