/* SQLite source (include/pqfeed/dbsource.h) over libsqlite3.
 *
 * The file is opened read-only and read inside one deferred transaction, so
 * every row comes from one snapshot (in WAL mode writers carry on meanwhile).
 * Rows are stepped one at a time from a single statement: memory is one row.
 *
 * Types: SQLite is dynamically typed, so a column's Parquet type comes from
 * its declared type by SQLite's affinity rules (datatype3.html, 3.1), refined
 * for names that say more (BOOLEAN, DATE, DATETIME, DECIMAL(p,s)); each value
 * is then converted from whatever storage class it has. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/base.h"
#include "base/buf.h"
#include "source/dbsource.h"

#define SQL_CAP (16u << 20)

typedef struct sq {
    sqlite3 *db;
    sqlite3_stmt *st;
    bool pending; /* a row was stepped at open (to type expression columns) */
    bool in_tx;
} sq;

static pqf_err sqlite_error(pqf_dbsource *src, sqlite3 *db, int code, const char *what,
                            pqf_error *err)
{
    int prim = code & 0xff;
    pqf_err c = prim == SQLITE_NOMEM                              ? PQF_ERR_NOMEM
                : prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB ? PQF_ERR_CORRUPT
                : prim == SQLITE_BUSY || prim == SQLITE_LOCKED    ? PQF_ERR_TIMEOUT
                                                                  : PQF_ERR_IO;
    return pqf_error_set(err, c, "%s: %s: %s", src->label, what,
                         db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
}

/* ---- types ------------------------------------------------------------------------- */

/* Declared type -> source type. Affinity first (the order of SQLite's rules
 * matters: "CHARINT" is INTEGER), then NUMERIC-affinity names refined. */
static void decl_type(const pqf_dbsource *src, const char *decl, pqf__dbtype *t, int *p, int *s)
{
    char u[128];
    size_t n = 0;
    for (; decl && decl[n] && n + 1 < sizeof u; n++)
        u[n] = (char)(decl[n] >= 'a' && decl[n] <= 'z' ? decl[n] - 32 : decl[n]);
    u[n] = 0;
    *p = *s = 0;
    if (strstr(u, "INT")) {
        *t = PQF__DBT_INT64;
    } else if (strstr(u, "CHAR") || strstr(u, "CLOB") || strstr(u, "TEXT")) {
        *t = PQF__DBT_TEXT;
    } else if (strstr(u, "BLOB") || n == 0) {
        *t = PQF__DBT_BYTES;
    } else if (strstr(u, "REAL") || strstr(u, "FLOA") || strstr(u, "DOUB")) {
        *t = PQF__DBT_DOUBLE;
    } else {
        /* NUMERIC affinity */
        const char *paren = strchr(u, '(');
        size_t word = paren ? (size_t)(paren - u) : n;
        while (word && u[word - 1] == ' ')
            word--;
        int pp = -1, ss = 0;
        if (paren && sscanf(paren, "(%d , %d )", &pp, &ss) < 1)
            pp = -1;
        if (strncmp(u, "BOOL", 4) == 0) {
            *t = PQF__DBT_BOOL;
        } else if (word == 4 && strncmp(u, "DATE", 4) == 0) {
            *t = PQF__DBT_DATE;
        } else if (strncmp(u, "DATETIME", 8) == 0 || strncmp(u, "TIMESTAMP", 9) == 0) {
            *t = PQF__DBT_TIMESTAMPTZ;
        } else if (word == 4 && strncmp(u, "TIME", 4) == 0) {
            *t = PQF__DBT_TIME;
        } else if ((strncmp(u, "DECIMAL", 7) == 0 || strncmp(u, "NUMERIC", 7) == 0) && pp >= 1 &&
                   pp <= 38 && ss >= 0 && ss <= pp) {
            *t = PQF__DBT_DECIMAL;
            *p = pp;
            *s = ss;
        } else if (src->numeric_as_string) {
            *t = PQF__DBT_TEXT;
        } else {
            *t = PQF__DBT_DECIMAL;
            *p = 38;
            *s = src->numeric_scale;
        }
    }
}

/* A column without a declared type (an expression): the storage class of the
 * value in the first row. */
static pqf__dbtype class_type(int cls)
{
    switch (cls) {
    case SQLITE_INTEGER:
        return PQF__DBT_INT64;
    case SQLITE_FLOAT:
        return PQF__DBT_DOUBLE;
    case SQLITE_BLOB:
        return PQF__DBT_BYTES;
    default:
        return PQF__DBT_TEXT;
    }
}

static pqf_err append_ident(pqf__buf *b, const char *name)
{
    pqf_err rc = pqf__buf_append_byte(b, '"');
    for (const char *c = name; *c && rc == PQF_OK; c++)
        rc = *c == '"' ? pqf__buf_append(b, "\"\"", 2) : pqf__buf_append_byte(b, (uint8_t)*c);
    return rc == PQF_OK ? pqf__buf_append_byte(b, '"') : rc;
}

/* ---- describe ----------------------------------------------------------------------- */

static pqf_err describe_table(pqf_dbsource *src, sq *q, const char *table, const char *path,
                              pqf__buf *sql, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    sqlite3_stmt *st = NULL;
    char *name = NULL;
    pqf__buf pragma;
    pqf__buf_init(&pragma, SQL_CAP);
    int r = sqlite3_prepare_v2(q->db,
                               "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                               "AND name = ?1 COLLATE NOCASE",
                               -1, &st, NULL);
    if (r != SQLITE_OK)
        PQF_FAIL(err, PQF_ERR_IO, "%s: reading the schema: %s", src->label, sqlite3_errmsg(q->db));
    sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
    r = sqlite3_step(st);
    if (r == SQLITE_DONE)
        PQF_FAIL(err, PQF_ERR_NOT_FOUND, "%s: table '%s' does not exist in %s", src->label, table,
                 path);
    if (r != SQLITE_ROW) {
        rc = sqlite_error(src, q->db, r, "reading the schema", err);
        goto done;
    }
    name = strdup((const char *)sqlite3_column_text(st, 0));
    if (!name)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    sqlite3_finalize(st);
    st = NULL;
    PQF_TRY(pqf__buf_printf(&pragma, "PRAGMA table_info("));
    PQF_TRY(append_ident(&pragma, name));
    PQF_TRY(pqf__buf_printf(&pragma, ")"));
    PQF_TRY(pqf__buf_cstr(&pragma));
    r = sqlite3_prepare_v2(q->db, (const char *)pragma.data, -1, &st, NULL);
    if (r != SQLITE_OK) {
        rc = sqlite_error(src, q->db, r, "listing the columns", err);
        goto done;
    }
    /* A lone INTEGER PRIMARY KEY is the rowid: never NULL, though not declared so. */
    int npk = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        npk += sqlite3_column_int(st, 5) > 0;
    sqlite3_reset(st);
    PQF_TRY(pqf__buf_printf(sql, "SELECT "));
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cname = (const char *)sqlite3_column_text(st, 1);
        const char *decl = (const char *)sqlite3_column_text(st, 2);
        bool notnull =
            sqlite3_column_int(st, 3) != 0 || (npk == 1 && sqlite3_column_int(st, 5) == 1 && decl &&
                                               strcasecmp(decl, "INTEGER") == 0);
        pqf__dbtype t;
        int p, s;
        decl_type(src, decl, &t, &p, &s);
        if (pqf__db_add_col(src, cname, t, p, s, false, notnull, decl && *decl ? decl : "(none)") <
            0)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        PQF_TRY(pqf__buf_printf(sql, "%s", src->ncols > 1 ? ", " : ""));
        PQF_TRY(append_ident(sql, cname));
    }
    if (r != SQLITE_DONE) {
        rc = sqlite_error(src, q->db, r, "listing the columns", err);
        goto done;
    }
    PQF_TRY(pqf__buf_printf(sql, " FROM "));
    PQF_TRY(append_ident(sql, name));
done:
    if (rc == PQF_ERR_LIMIT && err->code == PQF_OK)
        pqf_error_set(err, rc, "%s: SQL statement too long", src->label);
    sqlite3_finalize(st);
    free(name);
    pqf__buf_free(&pragma);
    return rc;
}

/* Describe a query; fills probe[i] for columns typed by their first value. */
static pqf_err describe_query(pqf_dbsource *src, sq *q, const char *query, bool **probe,
                              pqf_error *err)
{
    pqf_err rc = PQF_OK;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int r = sqlite3_prepare_v2(q->db, query, -1, &st, &tail);
    if (r != SQLITE_OK || !st) {
        rc = r != SQLITE_OK
                 ? sqlite_error(src, q->db, r, "preparing the query", err)
                 : pqf_error_set(err, PQF_ERR_INVALID_ARG, "%s: empty query", src->label);
        goto done;
    }
    for (; tail && *tail; tail++)
        if (!strchr(" \t\r\n;", *tail))
            PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: more than one statement", src->label);
    if (!sqlite3_stmt_readonly(st) || sqlite3_column_count(st) == 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: not a SELECT", src->label);
    int n = sqlite3_column_count(st);
    *probe = calloc((size_t)n, sizeof **probe);
    if (!*probe)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const char *decl = sqlite3_column_decltype(st, i);
        pqf__dbtype t;
        int p, s;
        decl_type(src, decl, &t, &p, &s);
        (*probe)[i] = decl == NULL;
        if (pqf__db_add_col(src, sqlite3_column_name(st, i), t, p, s, false, false,
                            decl ? decl : "(expression)") < 0)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
done:
    sqlite3_finalize(st);
    return rc;
}

/* ---- rows --------------------------------------------------------------------------- */

static pqf_err sq_fetch(pqf_dbsource *src, bool *eof)
{
    sq *q = src->impl;
    if (q->pending) {
        q->pending = false;
        return PQF_OK;
    }
    int r = sqlite3_step(q->st);
    if (r == SQLITE_DONE) {
        *eof = true;
        return PQF_OK;
    }
    if (r != SQLITE_ROW) {
        pqf_err rc = sqlite_error(src, q->db, r, "reading the rows", &src->err);
        pqf_error_prefix(&src->err, "after row %llu: ", (unsigned long long)src->read);
        return rc;
    }
    return PQF_OK;
}

static pqf_err sq_get(pqf_dbsource *src, int i, pqf__dbval *v)
{
    sq *q = src->impl;
    memset(v, 0, sizeof *v);
    switch (sqlite3_column_type(q->st, i)) {
    case SQLITE_INTEGER:
        v->kind = PQF__DV_INT;
        v->u.i = sqlite3_column_int64(q->st, i);
        break;
    case SQLITE_FLOAT:
        v->kind = PQF__DV_DOUBLE;
        v->u.d = sqlite3_column_double(q->st, i);
        break;
    case SQLITE_TEXT:
        v->kind = PQF__DV_TEXT;
        v->p = sqlite3_column_text(q->st, i);
        v->n = (size_t)sqlite3_column_bytes(q->st, i);
        break;
    case SQLITE_BLOB:
        v->kind = PQF__DV_BYTES;
        v->p = sqlite3_column_blob(q->st, i);
        v->n = (size_t)sqlite3_column_bytes(q->st, i);
        if (!v->p)
            v->p = "";
        break;
    default:
        v->kind = PQF__DV_NULL;
        break;
    }
    return PQF_OK;
}

static pqf_err sq_put(pqf_dbsource *src, pqf_writer *w)
{
    pqf_err rc = PQF_OK;
    size_t bytes = 0;
    for (int i = 0; i < src->ncols && rc == PQF_OK; i++) {
        if (src->cols[i].node < 0 && i != src->wm_col)
            continue;
        pqf__dbval v;
        sq_get(src, i, &v);
        bytes += v.n;
        if (bytes > src->max_row_bytes)
            return pqf__db_row_error(src, PQF_ERR_LIMIT, i, "the row is larger than %zu bytes",
                                     src->max_row_bytes);
        rc = pqf__db_put(src, w, i, &v);
    }
    return rc;
}

static void sq_close(void *impl)
{
    sq *q = impl;
    sqlite3_finalize(q->st);
    if (q->in_tx)
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(q->db);
    free(q);
}

static const pqf__dbdriver sqlite_driver = {"sqlite", sq_fetch, sq_get, sq_put, sq_close};

/* ---- open ----------------------------------------------------------------------------- */

pqf_err pqf_dbsource_open_sqlite(const char *path, const pqf_dbsource_opts *opts,
                                 pqf_dbsource **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_dbsource *src = NULL;
    pqf_dbsource_opts defaults;
    bool *probe = NULL;
    pqf__buf sql;
    pqf__buf_init(&sql, SQL_CAP);
    *out = NULL;
    if (!opts) {
        pqf_dbsource_opts_init(&defaults);
        opts = &defaults;
    }
    PQF_TRY(pqf__db_new(&sqlite_driver, opts, &src, err));
    sq *q = calloc(1, sizeof *q);
    if (!q)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    src->impl = q;
    struct stat sb;
    if (!path || stat(path, &sb) != 0)
        PQF_FAIL(err, PQF_ERR_NOT_FOUND, "%s: database file '%s' does not exist", src->label,
                 path ? path : "");
    int r = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READONLY, NULL);
    if (r != SQLITE_OK) {
        rc = sqlite_error(src, q->db, r, path, err);
        goto done;
    }
    sqlite3_busy_timeout(q->db, 10000);
    r = sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL);
    if (r != SQLITE_OK) {
        rc = sqlite_error(src, q->db, r, "starting the transaction", err);
        goto done;
    }
    q->in_tx = true;
    if (opts->table) {
        PQF_TRY(describe_table(src, q, opts->table, path, &sql, err));
    } else {
        size_t n = strlen(opts->query);
        while (n && strchr(" \t\r\n;", opts->query[n - 1]))
            n--;
        PQF_TRY(pqf__buf_append(&sql, opts->query, n));
        PQF_TRY(pqf__buf_cstr(&sql));
        PQF_TRY(describe_query(src, q, (const char *)sql.data, &probe, err));
        if (opts->watermark_column) {
            pqf__buf_reset(&sql);
            PQF_TRY(pqf__buf_printf(&sql, "SELECT * FROM ("));
            PQF_TRY(pqf__buf_append(&sql, opts->query, n));
            PQF_TRY(pqf__buf_printf(&sql, ")"));
        }
    }
    if (opts->watermark_column) {
        if (opts->watermark_after) {
            PQF_TRY(pqf__buf_printf(&sql, " WHERE "));
            PQF_TRY(append_ident(&sql, opts->watermark_column));
            PQF_TRY(pqf__buf_printf(&sql, " > ?1"));
        }
        PQF_TRY(pqf__buf_printf(&sql, " ORDER BY "));
        PQF_TRY(append_ident(&sql, opts->watermark_column));
        PQF_TRY(pqf__buf_printf(&sql, " IS NULL, "));
        PQF_TRY(append_ident(&sql, opts->watermark_column));
    }
    PQF_TRY(pqf__buf_cstr(&sql));
    r = sqlite3_prepare_v2(q->db, (const char *)sql.data, -1, &q->st, NULL);
    if (r != SQLITE_OK) {
        rc = sqlite_error(src, q->db, r, "preparing the read", err);
        goto done;
    }
    if (opts->watermark_after) {
        int wm = -1;
        for (int i = 0; i < src->ncols && wm < 0; i++)
            if (strcmp(src->cols[i].name, opts->watermark_column) == 0)
                wm = i;
        int64_t iv;
        const char *a = opts->watermark_after;
        /* a bound value has no affinity; an integer compares as one in any column */
        if (wm >= 0 && src->cols[wm].type == PQF__DBT_INT64 && pqf__parse_i64(a, strlen(a), &iv))
            sqlite3_bind_int64(q->st, 1, iv);
        else
            sqlite3_bind_text(q->st, 1, a, -1, SQLITE_TRANSIENT);
    }
    if (probe) {
        bool any = false;
        for (int i = 0; i < src->ncols; i++)
            any |= probe[i];
        if (any) {
            r = sqlite3_step(q->st);
            if (r != SQLITE_ROW && r != SQLITE_DONE) {
                rc = sqlite_error(src, q->db, r, "reading the first row", err);
                goto done;
            }
            if (r == SQLITE_ROW) {
                q->pending = true;
                for (int i = 0; i < src->ncols; i++)
                    if (probe[i])
                        src->cols[i].type = class_type(sqlite3_column_type(q->st, i));
            } else {
                for (int i = 0; i < src->ncols; i++)
                    if (probe[i])
                        src->cols[i].type = PQF__DBT_TEXT;
                /* the next step runs it again: still no rows (same snapshot) */
                sqlite3_reset(q->st);
            }
        }
    }
    PQF_TRY(pqf__db_bind(src, opts, err));
    *out = src;
    src = NULL;
done:
    if (rc != PQF_OK && err && err->code == PQF_OK)
        pqf_error_set(err, rc, "%s: %s", src ? src->label : "sqlite", pqf_strerror(rc));
    free(probe);
    pqf__buf_free(&sql);
    pqf_dbsource_free(src);
    return rc;
}
