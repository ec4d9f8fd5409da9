/* PostgreSQL source (include/pqfeed/dbsource.h) over libpq.
 *
 * Open: connect, BEGIN ... READ ONLY at the chosen isolation, describe the
 * result (a table from pg_attribute, so NOT NULL is known; a query from
 * PQdescribePrepared) and resolve every type through pg_type (domains to
 * their base type, arrays to their element, enums to text). Rows: one
 * `COPY (...) TO STDOUT (FORMAT binary)`, read a message at a time with
 * PQgetCopyData, so memory is one row whatever the table size. Binary rather
 * than text format: values come exact and typed (timestamps as microseconds,
 * numerics as base-10000 digits) whatever the session's DateStyle, TimeZone
 * or extra_float_digits, with no escaping to undo, and the server spends less
 * time formatting. Types we do not decode are cast to text in the SELECT.
 *
 * Binary formats decoded here are the *_send functions of PostgreSQL's
 * src/backend/utils/adt (int2send, numeric_send, timestamp_send, array_send,
 * ...) and the COPY BINARY file format (docs: sql-copy.html). */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "source/dbsource.h"

/* Days and microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01. */
#define PG_EPOCH_DAYS 10957
#define PG_EPOCH_US 946684800000000LL
#define SQL_CAP (16u << 20)
/* Read-ahead: COPY messages received but not yet written. While the writer
 * compresses a page or flushes a row group the server keeps sending into
 * this queue instead of stalling on a full socket, so server and client run
 * in parallel; it bounds the extra memory. */
#define QUEUE_BYTES (32u << 20)
#define QUEUE_SLOTS 8192
/* Hand-over in batches: the consumer is woken when this many messages (or
 * WAKE_BYTES) wait, the producer when the ring is half empty, and the
 * consumer takes up to LOCAL_SLOTS messages (LOCAL_BYTES) per lock. Waking
 * per row made every row a context switch when the server is the slower
 * side (a third of the client's CPU went to the scheduler). */
#define WAKE_MSGS 256
#define WAKE_BYTES (1u << 20)
#define LOCAL_SLOTS 512
#define LOCAL_BYTES (4u << 20)

typedef enum pgdec {
    D_BOOL,
    D_INT2,
    D_INT4,
    D_INT8,
    D_OID,
    D_FLOAT4,
    D_FLOAT8,
    D_NUMERIC,
    D_TEXT, /* text, varchar, bpchar, name, enum, xml, and anything cast to text */
    D_CHAR, /* "char": one byte */
    D_JSON,
    D_JSONB, /* version byte 1, then JSON text */
    D_BYTEA,
    D_DATE,
    D_TIME,
    D_TS,
    D_TSTZ,
    D_UUID
} pgdec;

typedef struct pgcol {
    pgdec dec;
    bool list;
    bool cast; /* selected as ::text (or ::text[] for lists) */
} pgcol;

typedef struct qmsg {
    char *data; /* PQfreemem; NULL for the end */
    int len;    /* PQgetCopyData's result: bytes, -1 end, -2 error */
} qmsg;

/* Messages from the reader thread, a ring of QUEUE_SLOTS and QUEUE_BYTES. */
typedef struct pgqueue {
    pthread_mutex_t mu;
    pthread_cond_t can_put, can_get;
    qmsg slots[QUEUE_SLOTS];
    size_t head, count, bytes;
    bool stop;
    bool get_waiting, put_waiting;
    /* the consumer's side: messages taken from the ring in one lock */
    qmsg local[LOCAL_SLOTS];
    size_t lhead, lcount;
} pgqueue;

typedef struct pg {
    PGconn *conn;
    pgcol *cols;
    pqf__buf sql; /* the COPY statement */
    bool copying, header_done, trailer;
    bool thread_on; /* the reader thread owns the connection */
    pthread_t thread;
    pgqueue *q;
    PGcancel *cancel; /* taken before the thread starts: conn is then the thread's */
    char *cur;            /* the current row's CopyData message (PQfreemem) */
    const uint8_t *tp;    /* its tuple, after the field count */
    size_t tn;
} pg;

typedef struct pgtype {
    pqf__dbtype type;
    int precision, scale;
    pgdec dec;
    bool list, cast;
} pgtype;

/* ---- errors ----------------------------------------------------------------------- */

static const char *trim_msg(const char *m, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", m ? m : "");
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return buf;
}

/* A failed result: code from the SQLSTATE class, the server's primary message. */
static pqf_err result_error(pqf_dbsource *src, PGconn *conn, PGresult *res, const char *what,
                            pqf_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *prim = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char m[400];
    trim_msg(prim ? prim : PQerrorMessage(conn), m, sizeof m);
    pqf_err code = PQF_ERR_REMOTE;
    if (!state && PQstatus(conn) != CONNECTION_OK)
        code = PQF_ERR_NET;
    else if (state && strcmp(state, "42P01") == 0)
        code = PQF_ERR_NOT_FOUND;
    else if (state && strncmp(state, "22", 2) == 0)
        code = PQF_ERR_VALUE;
    else if (state && strncmp(state, "28", 2) == 0)
        code = PQF_ERR_AUTH;
    return pqf_error_set(err, code, "%s: %s: %s%s%s%s", src->label, what, m,
                         state ? " (SQLSTATE " : "", state ? state : "", state ? ")" : "");
}

/* Run a statement expecting `want`; *out keeps the result when not NULL. */
static pqf_err run(pqf_dbsource *src, PGconn *conn, const char *sql, int nparams,
                   const char *const *params, ExecStatusType want, const char *what, PGresult **out,
                   pqf_error *err)
{
    PGresult *res =
        nparams ? PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0) : PQexec(conn, sql);
    pqf_err rc = PQF_OK;
    if (!res || PQresultStatus(res) != want)
        rc = result_error(src, conn, res, what, err);
    if (rc == PQF_OK && out)
        *out = res;
    else
        PQclear(res);
    return rc;
}

/* ---- types ------------------------------------------------------------------------ */

static bool builtin(uint32_t oid, int32_t typmod, const pqf_dbsource *src, pgtype *t)
{
    memset(t, 0, sizeof *t);
    t->type = PQF__DBT_TEXT;
    t->dec = D_TEXT;
    switch (oid) {
    case 16:
        t->type = PQF__DBT_BOOL;
        t->dec = D_BOOL;
        break;
    case 17:
        t->type = PQF__DBT_BYTES;
        t->dec = D_BYTEA;
        break;
    case 18:
        t->dec = D_CHAR;
        break;
    case 19:
    case 25:
    case 142:
    case 705:
    case 1042:
    case 1043:
        break; /* name text xml unknown bpchar varchar */
    case 20:
        t->type = PQF__DBT_INT64;
        t->dec = D_INT8;
        break;
    case 21:
        t->type = PQF__DBT_INT16;
        t->dec = D_INT2;
        break;
    case 23:
        t->type = PQF__DBT_INT32;
        t->dec = D_INT4;
        break;
    case 26:
        t->type = PQF__DBT_INT64;
        t->dec = D_OID;
        break;
    case 114:
        t->type = PQF__DBT_JSON;
        t->dec = D_JSON;
        break;
    case 3802:
        t->type = PQF__DBT_JSON;
        t->dec = D_JSONB;
        break;
    case 700:
        t->type = PQF__DBT_FLOAT;
        t->dec = D_FLOAT4;
        break;
    case 701:
        t->type = PQF__DBT_DOUBLE;
        t->dec = D_FLOAT8;
        break;
    case 1082:
        t->type = PQF__DBT_DATE;
        t->dec = D_DATE;
        break;
    case 1083:
        t->type = PQF__DBT_TIME;
        t->dec = D_TIME;
        break;
    case 1114:
        t->type = PQF__DBT_TIMESTAMP;
        t->dec = D_TS;
        break;
    case 1184:
        t->type = PQF__DBT_TIMESTAMPTZ;
        t->dec = D_TSTZ;
        break;
    case 2950:
        t->type = PQF__DBT_UUID;
        t->dec = D_UUID;
        break;
    case 1700: {
        t->dec = D_NUMERIC;
        int p = 38, s = src->numeric_scale;
        if (typmod >= 4) {
            /* typmod = (precision << 16 | scale & 0x7ff) + 4; scale is 11-bit signed */
            p = ((typmod - 4) >> 16) & 0xffff;
            s = (((typmod - 4) & 0x7ff) ^ 1024) - 1024;
            if (s < 0) { /* numeric(2,-3): multiples of 1000, up to 5 integer digits */
                p -= s;
                s = 0;
            }
            if (s > p) /* numeric(3,5): 0.00xyz */
                p = s;
        } else if (src->numeric_as_string) {
            break; /* TEXT, rendered from the binary digits */
        }
        if (p > 38)
            break; /* more digits than DECIMAL holds: exact text */
        t->type = PQF__DBT_DECIMAL;
        t->precision = p;
        t->scale = s;
        break;
    }
    default:
        return false;
    }
    return true;
}

static pqf_err resolve(pqf_dbsource *src, PGconn *conn, uint32_t oid, int32_t typmod, bool in_array,
                       int depth, pgtype *t, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    PGresult *res = NULL;
    if (builtin(oid, typmod, src, t))
        goto done;
    t->cast = true; /* unless found below: read as text */
    if (depth > 8)
        goto done;
    char ob[16];
    snprintf(ob, sizeof ob, "%u", oid);
    const char *params[1] = {ob};
    PQF_TRY(run(src, conn,
                "SELECT t.typtype, t.typbasetype, t.typtypmod, t.typelem, t.typcategory, t.typlen "
                "FROM pg_catalog.pg_type t WHERE t.oid = $1::pg_catalog.oid",
                1, params, PGRES_TUPLES_OK, "looking up a type", &res, err));
    if (PQntuples(res) != 1)
        goto done;
    char typtype = PQgetvalue(res, 0, 0)[0];
    uint32_t base = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
    int32_t basemod = (int32_t)strtol(PQgetvalue(res, 0, 2), NULL, 10);
    uint32_t elem = (uint32_t)strtoul(PQgetvalue(res, 0, 3), NULL, 10);
    char cat = PQgetvalue(res, 0, 4)[0];
    int typlen = (int)strtol(PQgetvalue(res, 0, 5), NULL, 10);
    if (typtype == 'd') {
        PQF_TRY(resolve(src, conn, base, basemod, in_array, depth + 1, t, err));
    } else if (typtype == 'e') {
        memset(t, 0, sizeof *t);
        t->type = PQF__DBT_TEXT;
        t->dec = D_TEXT; /* enum_send is the label's text */
    } else if (cat == 'A' && elem != 0 && typlen == -1 && !in_array) {
        PQF_TRY(resolve(src, conn, elem, typmod, true, depth + 1, t, err));
        t->list = true;
    }
done:
    PQclear(res);
    return rc;
}

static pqf_err type_name(pqf_dbsource *src, PGconn *conn, uint32_t oid, int32_t typmod, char *out,
                         size_t cap, pqf_error *err)
{
    char ob[16], mb[16];
    snprintf(ob, sizeof ob, "%u", oid);
    snprintf(mb, sizeof mb, "%d", typmod);
    const char *params[2] = {ob, mb};
    PGresult *res = NULL;
    pqf_err rc = run(src, conn, "SELECT pg_catalog.format_type($1::pg_catalog.oid, $2::int4)", 2,
                     params, PGRES_TUPLES_OK, "looking up a type", &res, err);
    if (rc == PQF_OK)
        snprintf(out, cap, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "?");
    PQclear(res);
    return rc;
}

static pqf_err add_column(pqf_dbsource *src, pg *g, const char *name, uint32_t oid, int32_t typmod,
                          bool notnull, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pgtype t;
    char tn[64];
    PQF_TRY(resolve(src, g->conn, oid, typmod, false, 0, &t, err));
    PQF_TRY(type_name(src, g->conn, oid, typmod, tn, sizeof tn, err));
    if (t.cast) {
        /* read as text (or text[] when the unknown type is an array's element) */
        bool list = t.list;
        memset(&t, 0, sizeof t);
        t.type = PQF__DBT_TEXT;
        t.dec = D_TEXT;
        t.cast = true;
        t.list = list;
    }
    int i = pqf__db_add_col(src, name, t.type, t.precision, t.scale, t.list, notnull, tn);
    pgcol *cols = i < 0 ? NULL : realloc(g->cols, (size_t)(i + 1) * sizeof *cols);
    if (!cols)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    g->cols = cols;
    cols[i] = (pgcol){t.dec, t.list, t.cast};
done:
    return rc;
}

/* ---- describe ------------------------------------------------------------------------ */

static pqf_err append_ident(pqf__buf *b, PGconn *conn, const char *name, pqf_error *err)
{
    char *q = PQescapeIdentifier(conn, name, strlen(name));
    if (!q)
        return pqf_error_set(err, PQF_ERR_NOMEM, "escaping an identifier failed");
    pqf_err rc = pqf__buf_append(b, q, strlen(q));
    PQfreemem(q);
    return rc == PQF_OK ? rc : pqf_error_set(err, rc, "SQL statement too long");
}

/* Table: resolve the name, list its columns. Appends the FROM target to from. */
static pqf_err describe_table(pqf_dbsource *src, pg *g, const char *table, pqf__buf *from,
                              bool *direct, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    PGresult *res = NULL;
    const char *p1[1] = {table};
    PQF_TRY(
        run(src, g->conn,
            "SELECT c.oid, c.relkind, c.relhassubclass, n.nspname, c.relname "
            "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.oid = pg_catalog.to_regclass($1)",
            1, p1, PGRES_TUPLES_OK, "looking up the table", &res, err));
    if (PQntuples(res) != 1)
        PQF_FAIL(err, PQF_ERR_NOT_FOUND,
                 "%s: table '%s' does not exist (or is not visible "
                 "on the search_path)",
                 src->label, table);
    char kind = PQgetvalue(res, 0, 1)[0];
    if (!strchr("rvmpf", kind))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: '%s' is not a table or view", src->label, table);
    /* COPY t TO reads only an ordinary table's own rows (not a partitioned table's
     * or an inheritance parent's children); SELECT reads them all. */
    *direct = kind == 'r' && PQgetvalue(res, 0, 2)[0] == 'f';
    char oid[16];
    snprintf(oid, sizeof oid, "%s", PQgetvalue(res, 0, 0));
    PQF_TRY(append_ident(from, g->conn, PQgetvalue(res, 0, 3), err));
    PQF_TRY(pqf__buf_append_byte(from, '.'));
    PQF_TRY(append_ident(from, g->conn, PQgetvalue(res, 0, 4), err));
    PQclear(res);
    res = NULL;
    const char *p2[1] = {oid};
    PQF_TRY(run(src, g->conn,
                "SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull, a.attgenerated <> '' "
                "FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::pg_catalog.oid "
                "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                1, p2, PGRES_TUPLES_OK, "listing the columns", &res, err));
    for (int i = 0; i < PQntuples(res); i++) {
        if (PQgetvalue(res, i, 4)[0] == 't')
            *direct = false; /* COPY refuses generated columns in its column list */
        PQF_TRY(add_column(src, g, PQgetvalue(res, i, 0),
                           (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10),
                           (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10),
                           PQgetvalue(res, i, 3)[0] == 't', err));
    }
done:
    PQclear(res);
    return rc;
}

static pqf_err describe_query(pqf_dbsource *src, pg *g, const char *query, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    PGresult *res = PQprepare(g->conn, "", query, 0, NULL);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = result_error(src, g->conn, res, "preparing the query", err);
        goto done;
    }
    PQclear(res);
    res = PQdescribePrepared(g->conn, "");
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = result_error(src, g->conn, res, "describing the query", err);
        goto done;
    }
    if (PQnfields(res) == 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: the statement returns no rows (not a SELECT?)",
                 src->label);
    /* columns of a query are nullable: an outer join may null a NOT NULL column */
    for (int i = 0; i < PQnfields(res); i++)
        PQF_TRY(add_column(src, g, PQfname(res, i), (uint32_t)PQftype(res, i), PQfmod(res, i),
                           false, err));
done:
    PQclear(res);
    return rc;
}

/* The COPY statement: the plain table when nothing needs a SELECT. */
static pqf_err build_copy(pqf_dbsource *src, pg *g, const pqf_dbsource_opts *o, const char *from,
                          bool direct, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf *b = &g->sql;
    bool cast = false;
    for (int i = 0; i < src->ncols; i++)
        cast |= g->cols[i].cast;
    if (o->table && direct && !cast && !o->watermark_column) {
        PQF_TRY(pqf__buf_printf(b, "COPY %s (", from));
        for (int i = 0; i < src->ncols; i++) {
            PQF_TRY(pqf__buf_printf(b, "%s", i ? ", " : ""));
            PQF_TRY(append_ident(b, g->conn, src->cols[i].name, err));
        }
        PQF_TRY(pqf__buf_printf(b, ") TO STDOUT (FORMAT binary)"));
        goto done;
    }
    if (o->query && !cast && !o->watermark_column) {
        PQF_TRY(pqf__buf_printf(b, "COPY (%s) TO STDOUT (FORMAT binary)", from));
        goto done;
    }
    PQF_TRY(pqf__buf_printf(b, "COPY (SELECT "));
    for (int i = 0; i < src->ncols; i++) {
        PQF_TRY(pqf__buf_printf(b, "%s", i ? ", " : ""));
        PQF_TRY(append_ident(b, g->conn, src->cols[i].name, err));
        if (g->cols[i].cast)
            PQF_TRY(pqf__buf_printf(b, "::pg_catalog.text%s", g->cols[i].list ? "[]" : ""));
    }
    PQF_TRY(pqf__buf_printf(b, o->table ? " FROM %s" : " FROM (%s) AS pqf_q", from));
    if (o->watermark_column) {
        if (o->watermark_after) {
            PQF_TRY(pqf__buf_printf(b, " WHERE "));
            PQF_TRY(append_ident(b, g->conn, o->watermark_column, err));
            char *lit = PQescapeLiteral(g->conn, o->watermark_after, strlen(o->watermark_after));
            if (!lit)
                PQF_FAIL(err, PQF_ERR_NOMEM, "escaping the watermark failed");
            rc = pqf__buf_printf(b, " > %s", lit);
            PQfreemem(lit);
            PQF_TRY(rc);
        }
        PQF_TRY(pqf__buf_printf(b, " ORDER BY "));
        PQF_TRY(append_ident(b, g->conn, o->watermark_column, err));
        PQF_TRY(pqf__buf_printf(b, " ASC NULLS LAST"));
    }
    PQF_TRY(pqf__buf_printf(b, ") TO STDOUT (FORMAT binary)"));
done:
    if (rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "%s: SQL statement too long", src->label);
    return rc;
}

/* ---- rows ---------------------------------------------------------------------------- */

static inline uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* One binary value -> v. Returns NULL or why the bytes are not a valid value. */
static const char *decode(pgdec dec, const uint8_t *p, size_t n, pqf__dbval *v)
{
    memset(v, 0, sizeof *v);
    switch (dec) {
    case D_BOOL:
        if (n != 1)
            return "bad bool length";
        v->kind = PQF__DV_BOOL;
        v->u.b = p[0] != 0;
        return NULL;
    case D_INT2:
        if (n != 2)
            return "bad int2 length";
        v->kind = PQF__DV_INT;
        v->u.i = (int16_t)be16(p);
        return NULL;
    case D_INT4:
        if (n != 4)
            return "bad int4 length";
        v->kind = PQF__DV_INT;
        v->u.i = (int32_t)be32(p);
        return NULL;
    case D_OID:
        if (n != 4)
            return "bad oid length";
        v->kind = PQF__DV_INT;
        v->u.i = be32(p);
        return NULL;
    case D_INT8:
        if (n != 8)
            return "bad int8 length";
        v->kind = PQF__DV_INT;
        v->u.i = (int64_t)be64(p);
        return NULL;
    case D_FLOAT4: {
        if (n != 4)
            return "bad float4 length";
        uint32_t u = be32(p);
        float f;
        memcpy(&f, &u, 4);
        v->kind = PQF__DV_DOUBLE;
        v->u.d = f;
        v->is_float = true;
        return NULL;
    }
    case D_FLOAT8: {
        if (n != 8)
            return "bad float8 length";
        uint64_t u = be64(p);
        memcpy(&v->u.d, &u, 8);
        v->kind = PQF__DV_DOUBLE;
        return NULL;
    }
    case D_NUMERIC:
        if (!pqf__pgnumeric_valid(p, n))
            return "malformed numeric";
        v->kind = PQF__DV_NUMERIC;
        v->p = p;
        v->n = n;
        return NULL;
    case D_TEXT:
    case D_JSON:
        v->kind = PQF__DV_TEXT;
        v->p = p;
        v->n = n;
        v->utf8_ok = true; /* the server converts text to the client encoding, UTF8 */
        v->json = dec == D_JSON;
        return NULL;
    case D_CHAR:
        v->kind = PQF__DV_TEXT;
        v->p = p;
        v->n = n;
        return NULL;
    case D_JSONB:
        if (n < 1 || p[0] != 1)
            return "unknown jsonb version";
        v->kind = PQF__DV_TEXT;
        v->p = p + 1;
        v->n = n - 1;
        v->utf8_ok = v->json = true;
        return NULL;
    case D_BYTEA:
        v->kind = PQF__DV_BYTES;
        v->p = p;
        v->n = n;
        return NULL;
    case D_DATE: {
        if (n != 4)
            return "bad date length";
        int32_t d = (int32_t)be32(p);
        if (d == INT32_MAX || d == INT32_MIN)
            return "infinity";
        v->kind = PQF__DV_DATE;
        v->u.i = (int64_t)d + PG_EPOCH_DAYS;
        return NULL;
    }
    case D_TIME:
        if (n != 8)
            return "bad time length";
        v->kind = PQF__DV_TIME;
        v->u.i = (int64_t)be64(p);
        return NULL;
    case D_TS:
    case D_TSTZ: {
        if (n != 8)
            return "bad timestamp length";
        int64_t t = (int64_t)be64(p);
        if (t == INT64_MAX || t == INT64_MIN)
            return "infinity";
        if (__builtin_add_overflow(t, PG_EPOCH_US, &v->u.i))
            return "out of range";
        v->kind = PQF__DV_TS;
        v->utc = dec == D_TSTZ;
        return NULL;
    }
    case D_UUID:
        if (n != 16)
            return "bad uuid length";
        v->kind = PQF__DV_UUID;
        v->p = p;
        v->n = 16;
        return NULL;
    }
    return "unknown type";
}

static pqf_err put_array(pqf_dbsource *src, pqf_writer *w, int col, pgdec dec, const uint8_t *p,
                         size_t n)
{
    pqf_err rc;
    if (n < 12)
        return pqf__db_row_error(src, PQF_ERR_CORRUPT, col, "malformed binary array");
    int32_t ndim = (int32_t)be32(p);
    if (ndim > 1)
        return pqf__db_row_error(src, PQF_ERR_VALUE, col,
                                 "a %d-dimensional array does not fit a list column", ndim);
    rc = pqf__db_list_begin(src, w, col);
    if (rc != PQF_OK || ndim == 0)
        return rc != PQF_OK ? rc : pqf__db_list_end(src, w, col);
    if (ndim < 0 || n < 20)
        return pqf__db_row_error(src, PQF_ERR_CORRUPT, col, "malformed binary array");
    int32_t count = (int32_t)be32(p + 12);
    size_t off = 20;
    for (int32_t k = 0; k < count; k++) {
        if (n - off < 4)
            return pqf__db_row_error(src, PQF_ERR_CORRUPT, col, "truncated binary array");
        int32_t len = (int32_t)be32(p + off);
        off += 4;
        pqf__dbval v = {.kind = PQF__DV_NULL};
        if (len >= 0) {
            if ((size_t)len > n - off)
                return pqf__db_row_error(src, PQF_ERR_CORRUPT, col, "truncated binary array");
            const char *why = decode(dec, p + off, (size_t)len, &v);
            if (why)
                return pqf__db_row_error(src, PQF_ERR_VALUE, col, "element %d: %s", k + 1, why);
            off += (size_t)len;
        }
        rc = pqf__db_put_elem(src, w, col, &v);
        if (rc != PQF_OK)
            return rc;
    }
    if (off != n)
        return pqf__db_row_error(src, PQF_ERR_CORRUPT, col, "trailing bytes after a binary array");
    return pqf__db_list_end(src, w, col);
}

/* The length word of the next field of a COPY row p[0..n) at *off (-1: NULL),
 * *off moved past it; an error when the row ends inside the field. */
static pqf_err field_len(pqf_dbsource *src, const uint8_t *p, size_t n, size_t *off, int32_t *len)
{
    if (n - *off < 4)
        return pqf__db_row_error(src, PQF_ERR_CORRUPT, -1, "truncated COPY row");
    *len = (int32_t)be32(p + *off);
    *off += 4;
    if (*len >= 0 && (size_t)*len > n - *off)
        return pqf__db_row_error(src, PQF_ERR_CORRUPT, -1, "truncated COPY row");
    return PQF_OK;
}

static const uint8_t copy_sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xFF, '\r', '\n', 0};

/* Write the current tuple's fields. */
static pqf_err pg_put(pqf_dbsource *src, pqf_writer *w)
{
    pg *g = src->impl;
    const uint8_t *p = g->tp;
    size_t n = g->tn;
    pqf_err rc = PQF_OK;
    size_t off = 0;
    for (int i = 0; i < src->ncols && rc == PQF_OK; i++) {
        int32_t len = -1; /* set by field_len on success */
        pqf_err frc = field_len(src, p, n, &off, &len);
        if (frc != PQF_OK)
            return frc;
        const pgcol *pc = &g->cols[i];
        if (src->cols[i].node < 0 && i != src->wm_col) {
            off += len > 0 ? (size_t)len : 0;
            continue;
        }
        if (len < 0) {
            pqf__dbval nul = {.kind = PQF__DV_NULL};
            rc = pc->list ? pqf__db_list_null(src, w, i) : pqf__db_put(src, w, i, &nul);
            continue;
        }
        if (pc->list) {
            rc = put_array(src, w, i, pc->dec, p + off, (size_t)len);
        } else {
            pqf__dbval v;
            const char *why = decode(pc->dec, p + off, (size_t)len, &v);
            rc = why ? pqf__db_row_error(src, PQF_ERR_VALUE, i, "%s (%s)", why,
                                         src->cols[i].type_name)
                     : pqf__db_put(src, w, i, &v);
        }
        off += (size_t)len;
    }
    if (rc == PQF_OK && off != n)
        rc = pqf__db_row_error(src, PQF_ERR_CORRUPT, -1, "trailing bytes in a COPY row");
    return rc;
}

/* Decode one scalar field of the current tuple (walking the lengths to it). */
static pqf_err pg_get(pqf_dbsource *src, int col, pqf__dbval *v)
{
    pg *g = src->impl;
    const uint8_t *p = g->tp;
    size_t n = g->tn, off = 0;
    for (int i = 0;; i++) {
        int32_t len = -1; /* set by field_len on success */
        pqf_err frc = field_len(src, p, n, &off, &len);
        if (frc != PQF_OK)
            return frc;
        if (i < col) {
            off += len > 0 ? (size_t)len : 0;
            continue;
        }
        if (len < 0) {
            memset(v, 0, sizeof *v);
            v->kind = PQF__DV_NULL;
            return PQF_OK;
        }
        if (g->cols[col].list)
            return pqf__db_row_error(src, PQF_ERR_SCHEMA, col, "an array cannot be a key, "
                                     "watermark, created or delete column");
        const char *why = decode(g->cols[col].dec, p + off, (size_t)len, v);
        return why ? pqf__db_row_error(src, PQF_ERR_VALUE, col, "%s (%s)", why,
                                       src->cols[col].type_name)
                   : PQF_OK;
    }
}

/* The reader thread: the only user of the connection while it runs. */
static void *reader_main(void *arg)
{
    pg *g = arg;
    pgqueue *q = g->q;
    for (;;) {
        char *buf = NULL;
        int len = PQgetCopyData(g->conn, &buf, 0);
        size_t n = len > 0 ? (size_t)len : 0;
        pthread_mutex_lock(&q->mu);
        while (!q->stop && (q->count == QUEUE_SLOTS || (q->bytes + n > QUEUE_BYTES && q->count))) {
            if (q->get_waiting) /* whatever the batch size: the ring is full */
                pthread_cond_signal(&q->can_get);
            q->put_waiting = true;
            pthread_cond_wait(&q->can_put, &q->mu);
            q->put_waiting = false;
        }
        if (q->stop) {
            pthread_mutex_unlock(&q->mu);
            PQfreemem(buf);
            break;
        }
        q->slots[(q->head + q->count) % QUEUE_SLOTS] = (qmsg){buf, len};
        q->count++;
        q->bytes += n;
        if (q->get_waiting && (q->count >= WAKE_MSGS || q->bytes >= WAKE_BYTES || len < 0))
            pthread_cond_signal(&q->can_get);
        pthread_mutex_unlock(&q->mu);
        if (len < 0)
            break;
    }
    return NULL;
}

static qmsg queue_get(pgqueue *q)
{
    if (q->lcount == 0) {
        pthread_mutex_lock(&q->mu);
        while (q->count == 0) {
            q->get_waiting = true;
            pthread_cond_wait(&q->can_get, &q->mu);
            q->get_waiting = false;
        }
        size_t bytes = 0;
        q->lhead = 0;
        while (q->count && q->lcount < LOCAL_SLOTS && (q->lcount == 0 || bytes < LOCAL_BYTES)) {
            qmsg m = q->slots[q->head];
            size_t n = m.len > 0 ? (size_t)m.len : 0;
            q->local[q->lcount++] = m;
            q->head = (q->head + 1) % QUEUE_SLOTS;
            q->count--;
            q->bytes -= n;
            bytes += n;
        }
        if (q->put_waiting && q->count <= QUEUE_SLOTS / 2 && q->bytes <= QUEUE_BYTES / 2)
            pthread_cond_signal(&q->can_put);
        pthread_mutex_unlock(&q->mu);
    }
    q->lcount--;
    return q->local[q->lhead++];
}

/* Stop and join the reader thread; drop what it queued. */
static void reader_stop(pg *g)
{
    if (!g->thread_on)
        return;
    pgqueue *q = g->q;
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_signal(&q->can_put);
    pthread_mutex_unlock(&q->mu);
    pthread_join(g->thread, NULL);
    g->thread_on = false;
    for (; q->count; q->count--, q->head = (q->head + 1) % QUEUE_SLOTS)
        PQfreemem(q->slots[q->head].data);
    for (; q->lcount; q->lcount--, q->lhead++)
        PQfreemem(q->local[q->lhead].data);
}

static pqf_err pg_finish_copy(pqf_dbsource *src, pg *g)
{
    reader_stop(g); /* it has ended: the connection is ours again */
    PGresult *res = PQgetResult(g->conn);
    pqf_err rc = PQF_OK;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = result_error(src, g->conn, res, "reading the rows", &src->err);
        pqf_error_prefix(&src->err, "after row %llu: ", (unsigned long long)src->read);
    }
    PQclear(res);
    while ((res = PQgetResult(g->conn)) != NULL)
        PQclear(res);
    g->copying = false;
    return rc;
}

static pqf_err pg_fetch(pqf_dbsource *src, bool *eof)
{
    pg *g = src->impl;
    pqf_err rc = PQF_OK;
    char *msg = NULL;
    PQfreemem(g->cur);
    g->cur = NULL;
    if (!g->copying) {
        PGresult *res = PQexec(g->conn, (const char *)g->sql.data);
        if (!res || PQresultStatus(res) != PGRES_COPY_OUT) {
            rc = result_error(src, g->conn, res, "starting COPY", &src->err);
            PQclear(res);
            goto done;
        }
        PQclear(res);
        g->copying = true;
        g->cancel = PQgetCancel(g->conn);
        g->q = calloc(1, sizeof *g->q);
        if (!g->q)
            PQF_FAIL(&src->err, PQF_ERR_NOMEM, "out of memory");
        pthread_mutex_init(&g->q->mu, NULL);
        pthread_cond_init(&g->q->can_put, NULL);
        pthread_cond_init(&g->q->can_get, NULL);
        if (pthread_create(&g->thread, NULL, reader_main, g) != 0)
            PQF_FAIL(&src->err, PQF_ERR_INTERNAL, "%s: cannot start the reader thread", src->label);
        g->thread_on = true;
    }
    for (;;) {
        qmsg qm = queue_get(g->q);
        int len = qm.len;
        msg = qm.data;
        if (len == -1) {
            rc = pg_finish_copy(src, g);
            if (rc == PQF_OK && !g->trailer)
                rc = pqf_error_set(&src->err, PQF_ERR_CORRUPT, "%s: COPY ended without its trailer",
                                   src->label);
            *eof = rc == PQF_OK;
            goto done;
        }
        if (len < 0) {
            char m[300];
            reader_stop(g);
            rc = pqf_error_set(&src->err, PQF_ERR_NET, "%s: after row %llu: reading COPY data: %s",
                               src->label, (unsigned long long)src->read,
                               trim_msg(PQerrorMessage(g->conn), m, sizeof m));
            goto done;
        }
        const uint8_t *p = (const uint8_t *)msg;
        size_t n = (size_t)len;
        if (n > src->max_row_bytes)
            PQF_FAIL(&src->err, PQF_ERR_LIMIT,
                     "%s: row %llu: %zu bytes, more than the limit of %zu", src->label,
                     (unsigned long long)src->read + 1, n, src->max_row_bytes);
        if (!g->header_done) {
            if (n < 19 || memcmp(p, copy_sig, 11) != 0)
                PQF_FAIL(&src->err, PQF_ERR_CORRUPT, "%s: not a binary COPY stream", src->label);
            uint32_t ext = be32(p + 15);
            if (ext > n - 19)
                PQF_FAIL(&src->err, PQF_ERR_CORRUPT, "%s: truncated binary COPY header",
                         src->label);
            p += 19 + ext;
            n -= 19 + ext;
            g->header_done = true;
        }
        if (n == 0) {
            PQfreemem(msg);
            msg = NULL;
            continue;
        }
        if (n < 2)
            PQF_FAIL(&src->err, PQF_ERR_CORRUPT, "%s: truncated COPY row", src->label);
        int16_t nf = (int16_t)be16(p);
        if (nf == -1) { /* trailer; the end of the stream follows */
            g->trailer = true;
            PQfreemem(msg);
            msg = NULL;
            continue;
        }
        if (nf != src->ncols)
            PQF_FAIL(&src->err, PQF_ERR_CORRUPT, "%s: row %llu has %d fields, expected %d",
                     src->label, (unsigned long long)src->read + 1, nf, src->ncols);
        g->cur = msg; /* freed by the next fetch or close */
        msg = NULL;
        g->tp = p + 2;
        g->tn = n - 2;
        goto done;
    }
done:
    PQfreemem(msg);
    return rc;
}

static void pg_close(void *impl)
{
    pg *g = impl;
    if (g->cancel && g->copying) {
        /* stop the server sending the rest of a table nobody will read; the
         * reader thread then sees the COPY end with an error and can be joined */
        char buf[256];
        PQcancel(g->cancel, buf, sizeof buf);
    }
    reader_stop(g);
    PQfreeCancel(g->cancel);
    if (g->q) {
        pthread_mutex_destroy(&g->q->mu);
        pthread_cond_destroy(&g->q->can_put);
        pthread_cond_destroy(&g->q->can_get);
        free(g->q);
    }
    PQfreemem(g->cur);
    PQfinish(g->conn);
    free(g->cols);
    pqf__buf_free(&g->sql);
    free(g);
}

static const pqf__dbdriver pg_driver = {"postgres", pg_fetch, pg_get, pg_put, pg_close};

/* ---- open ------------------------------------------------------------------------------ */

pqf_err pqf_dbsource_open_pg(const char *conninfo, const pqf_dbsource_opts *opts,
                             pqf_dbsource **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_dbsource *src = NULL;
    pqf_dbsource_opts defaults;
    pqf__buf from;
    pqf__buf_init(&from, SQL_CAP);
    *out = NULL;
    if (!opts) {
        pqf_dbsource_opts_init(&defaults);
        opts = &defaults;
    }
    PQF_TRY(pqf__db_new(&pg_driver, opts, &src, err));
    pg *g = calloc(1, sizeof *g);
    if (!g)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    src->impl = g;
    pqf__buf_init(&g->sql, SQL_CAP);
    g->conn = PQconnectdb(conninfo ? conninfo : "");
    if (!g->conn)
        PQF_FAIL(err, PQF_ERR_NOMEM, "%s: out of memory connecting", src->label);
    if (PQstatus(g->conn) != CONNECTION_OK) {
        char m[400];
        trim_msg(PQerrorMessage(g->conn), m, sizeof m);
        PQF_FAIL(err,
                 strstr(m, "authentication") || strstr(m, "password") ? PQF_ERR_AUTH : PQF_ERR_NET,
                 "%s: cannot connect: %s", src->label, m);
    }
    if (PQsetClientEncoding(g->conn, "UTF8") != 0)
        PQF_FAIL(err, PQF_ERR_REMOTE, "%s: cannot set client_encoding to UTF8", src->label);
    static const char *const begin[] = {
        [PQF_DB_REPEATABLE_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        [PQF_DB_SERIALIZABLE] = "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE",
        [PQF_DB_READ_COMMITTED] = "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY",
    };
    if ((unsigned)opts->isolation >= PQF_ARRAY_LEN(begin))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: unknown isolation level %d", src->label,
                 (int)opts->isolation);
    PQF_TRY(run(src, g->conn, begin[opts->isolation], 0, NULL, PGRES_COMMAND_OK,
                "starting the transaction", NULL, err));
    bool direct = false;
    if (opts->table) {
        PQF_TRY(describe_table(src, g, opts->table, &from, &direct, err));
    } else {
        /* a trailing ';' would end the statement inside COPY ( ... ) */
        size_t n = strlen(opts->query);
        while (n && strchr(" \t\r\n;", opts->query[n - 1]))
            n--;
        PQF_TRY(pqf__buf_append(&from, opts->query, n));
        PQF_TRY(pqf__buf_cstr(&from));
        PQF_TRY(describe_query(src, g, (const char *)from.data, err));
    }
    PQF_TRY(pqf__buf_cstr(&from));
    PQF_TRY(pqf__db_bind(src, opts, err));
    PQF_TRY(build_copy(src, g, opts, (const char *)from.data, direct, err));
    PQF_TRY(pqf__buf_cstr(&g->sql));
    *out = src;
    src = NULL;
done:
    if (rc != PQF_OK && err && err->code == PQF_OK)
        pqf_error_set(err, rc, "%s: %s", src ? src->label : "postgres", pqf_strerror(rc));
    pqf__buf_free(&from);
    pqf_dbsource_free(src);
    return rc;
}
