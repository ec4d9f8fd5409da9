/* The PostgreSQL sink (libpq).
 *
 * Types: smallint, integer, bigint (numeric(20,0) for uint64), real, double
 * precision, boolean, numeric(p,s), text, uuid, date, time, timestamp /
 * timestamptz, jsonb (JSON and nested STRUCT/LIST values), bytea. The key is
 * the PRIMARY KEY. Tables live in the connection's current schema.
 *
 * Rows go with COPY ... FROM STDIN: a snapshot straight into the emptied
 * table (text format), changes into a temporary stage table (binary format,
 * unless a column is a TIME or PQF_PG_COPY=text) merged into the table
 * inside the commit's transaction, one of two ways:
 *  - in place: one DELETE of the stage's keys and one INSERT ... SELECT of
 *    each key's last change unless it is a delete;
 *  - rewrite, when the stage holds at least pqfeed.rewrite_ratio (a server
 *    setting, default 0.3) times the table's rows and the table is only
 *    what the sink made: a new table with the untouched rows and the same
 *    INSERT ... SELECT, its primary key built after the load, swapped in;
 *    for one integer key, when the commit's row count decides it before
 *    the load, "direct": the engine's plan pass gives every row's key and
 *    _seq first, so the rows go by COPY straight into the new table (each
 *    key's last change; superseded changes and deletes skipped), no stage.
 * Each key's last change: the stage as it is when the client saw each key
 * once; for one integer key with repeats, the stage minus the superseded
 * changes the client lists in _pqfeed_gone; else DISTINCT ON (key) ...
 * ORDER BY key, _seq DESC.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/crash.h"
#include "base/strset.h"
#include "base/timefmt.h"
#include "consume/sink.h"

#define COPY_CHUNK (1u << 20)

typedef struct pg_sink {
    pqf_sink base;
    PGconn *conn;
    bool in_tx;
    const pqf__tdef *t;
    bool changes;
    bool copying;
    bool binary;      /* the stage's COPY in binary format (PQF_PG_COPY=text: never) */
    bool copy_binary; /* the COPY in progress is binary: end_copy sends the trailer */
    bool no_direct;   /* PQF_PG_DIRECT=off: a rewrite always goes through the stage */
    pqf__buf sql;
    pqf__buf copy; /* COPY data waiting to be sent */
    /* changes: the stage's keys while they are all distinct (then the merge
     * needs no DISTINCT and no sort); capped, past the cap assumed not */
    pqf__strset keys; /* keys as text */
    struct kseq {
        int64_t k, seq;
    } *ikeys; /* or, for one integer key, the keys with their _seq (sorted at the end) */
    size_t nikeys, capikeys;
    bool keys_distinct;
    pqf__buf keybuf;
    uint64_t nstage; /* rows in the stage */
    /* The direct rewrite (one integer key, decided before the load from the
     * commit's row count): the plan pass gives every row's (key, _seq) in
     * ikeys; load_begin lists the superseded changes (gone, ascending _seq)
     * and loads the new table's untouched rows; load_row COPYs each key's
     * last change straight into the new table. */
    bool planned;   /* plan begin chose the direct rewrite; plan rows follow */
    bool plan_ok;   /* every plan row had an integer key and a higher _seq */
    bool direct;    /* the load in progress goes to the new table */
    int64_t last_seq;
    uint64_t nplan; /* plan rows */
    int64_t *gone;  /* superseded changes' _seq, ascending */
    size_t ngone, gonepos;
    pqf__buf pk; /* the primary key constraint's name (want_rewrite) */
} pg_sink;

#define STAGE_KEYS_LIMIT ((size_t)256 << 20) /* bytes of key text tracked at most */
#define STAGE_IKEYS_MAX ((size_t)16 << 20)   /* integer keys tracked at most (256 MiB) */

/* How the merge finds each key's last change in the stage */
typedef enum dedup {
    DEDUP_NONE,  /* each key once: the stage as it is */
    DEDUP_GONE,  /* the client listed the superseded rows in _pqfeed_gone */
    DEDUP_SERVER /* DISTINCT ON (key) ... ORDER BY key, _seq DESC */
} dedup;

static void keys_reset(pg_sink *s)
{
    pqf__strset_free(&s->keys);
    pqf__strset_init(&s->keys, STAGE_KEYS_LIMIT);
    s->nikeys = 0;
}

/* Server message without the trailing newline. */
static const char *pg_msg(pg_sink *s, const PGresult *r)
{
    static _Thread_local char buf[400];
    const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn);
    if (!m || !*m)
        m = PQerrorMessage(s->conn);
    snprintf(buf, sizeof buf, "%s", m ? m : "");
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return buf;
}

static pqf_err exec(pg_sink *s, const char *sql, pqf_error *err)
{
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    pqf_err rc = PQF_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pqf_error_set(err, PQF_ERR_REMOTE, "%s: %s", s->base.name, pg_msg(s, r));
    PQclear(r);
    return rc;
}

static pqf_err exec_buf(pg_sink *s, pqf_error *err)
{
    if (pqf__buf_cstr(&s->sql) != PQF_OK)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    return exec(s, (const char *)s->sql.data, err);
}

/* Parameterised statement; *out (may be NULL) receives a TUPLES_OK result. */
static pqf_err exec_params(pg_sink *s, const char *sql, int n, const char *const *vals,
                           PGresult **out, pqf_error *err)
{
    PGresult *r = PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pqf_err rc = pqf_error_set(err, PQF_ERR_REMOTE, "%s: %s", s->base.name, pg_msg(s, r));
        PQclear(r);
        return rc;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return PQF_OK;
}

static const char *pg_type(const pqf__col *c, char *buf, size_t cap)
{
    switch (c->kind) {
    case PQF__C_INT:
        if (c->bits <= 16 && !c->is_unsigned)
            return "smallint";
        if (c->bits <= 16 || (c->bits == 32 && !c->is_unsigned))
            return "integer";
        return "bigint";
    case PQF__C_UINT64:
        return "numeric(20,0)";
    case PQF__C_FLOAT:
        return "real";
    case PQF__C_DOUBLE:
        return "double precision";
    case PQF__C_BOOL:
        return "boolean";
    case PQF__C_DECIMAL:
        snprintf(buf, cap, "numeric(%d,%d)", c->precision, c->scale);
        return buf;
    case PQF__C_UUID:
        return "uuid";
    case PQF__C_DATE:
        return "date";
    case PQF__C_TIME:
        return "time";
    case PQF__C_TIMESTAMP:
        return c->utc ? "timestamptz" : "timestamp";
    case PQF__C_JSON:
    case PQF__C_NESTED:
        return "jsonb";
    case PQF__C_BINARY:
        return "bytea";
    default:
        return "text";
    }
}

/* Rank of an integer type pg_type() declares (0: not one). */
static int int_rank(const char *t)
{
    static const char *const ranks[] = {"smallint", "integer", "bigint", "numeric(20,0)"};
    for (int i = 0; i < 4; i++)
        if (strcmp(t, ranks[i]) == 0)
            return i + 1;
    return 0;
}

/* Does type `want` (as pg_type() spells it) hold every value of `cur` (as
 * information_schema spells it, numerics as numeric(p,s))? The widenings
 * a compatible schema change may make. */
static bool pg_widens(const char *cur, const char *want)
{
    int a = int_rank(cur), b = int_rank(want);
    if (a && b)
        return b > a;
    if (strcmp(cur, "real") == 0 && strcmp(want, "double precision") == 0)
        return true;
    int p1, s1, p2, s2;
    if (sscanf(cur, "numeric(%d,%d)", &p1, &s1) == 2 &&
        sscanf(want, "numeric(%d,%d)", &p2, &s2) == 2)
        return s2 >= s1 && p2 - s2 >= p1 - s1;
    return false;
}

static pqf_err pg_setup(pqf_sink *base, pqf_error *err)
{
    pg_sink *s = (pg_sink *)base;
    return exec(s,
                "SET client_min_messages = warning;"
                "CREATE TABLE IF NOT EXISTS _pqfeed_checkpoint ("
                " table_name text NOT NULL, seq bigint NOT NULL, commit_hash text NOT NULL,"
                " schema_version integer NOT NULL, kind text NOT NULL, rows bigint NOT NULL,"
                " commit_created_at timestamptz, applied_at timestamptz NOT NULL,"
                " PRIMARY KEY (table_name, seq));"
                "CREATE TABLE IF NOT EXISTS _pqfeed_quarantine ("
                " table_name text NOT NULL, seq bigint NOT NULL, file_key text NOT NULL,"
                " expected_sha256 text NOT NULL, got_sha256 text NOT NULL,"
                " detected_at timestamptz NOT NULL,"
                " UNIQUE (table_name, seq, file_key, got_sha256));",
                err);
}

static pqf_err pg_checkpoint(pqf_sink *base, const char *table, pqf__ckpt *out, pqf_error *err)
{
    pg_sink *s = (pg_sink *)base;
    pqf_err rc = PQF_OK;
    PGresult *r = NULL;
    const char *p[1] = {table};
    memset(out, 0, sizeof *out);
    if (s->base.readonly) { /* status: a sink apply never set up has nothing applied */
        PQF_TRY(exec_params(s, "SELECT to_regclass('_pqfeed_checkpoint') IS NULL", 0, NULL, &r,
                            err));
        bool none = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        r = NULL;
        if (none)
            goto done;
    }
    PQF_TRY(exec_params(s,
                        "SELECT seq, commit_hash, schema_version, to_char(applied_at AT TIME ZONE "
                        "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM _pqfeed_checkpoint "
                        "WHERE table_name = $1 ORDER BY seq DESC LIMIT 1",
                        1, p, &r, err));
    if (PQntuples(r) == 1) {
        out->seq = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        snprintf(out->hash, sizeof out->hash, "%s", PQgetvalue(r, 0, 1));
        out->schema_version = atoi(PQgetvalue(r, 0, 2));
        snprintf(out->applied_at, sizeof out->applied_at, "%s", PQgetvalue(r, 0, 3));
    }
done:
    PQclear(r);
    return rc;
}

static pqf_err pg_begin(pqf_sink *base, pqf_error *err)
{
    pg_sink *s = (pg_sink *)base;
    pqf_err rc = exec(s, "BEGIN", err);
    s->in_tx = rc == PQF_OK;
    return rc;
}

/* ALTER TABLE table ALTER COLUMN col <what><arg>, run. */
static pqf_err alter_column(pg_sink *s, const char *table, const char *col, const char *what,
                            const char *arg, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "ALTER TABLE "));
    PQF_TRY(pqf__sql_ident(&s->sql, table));
    PQF_TRY(pqf__buf_printf(&s->sql, " ALTER COLUMN "));
    PQF_TRY(pqf__sql_ident(&s->sql, col));
    PQF_TRY(pqf__buf_printf(&s->sql, "%s%s", what, arg));
    PQF_TRY(exec_buf(s, err));
done:
    return rc;
}

static pqf_err pg_sync_table(pqf_sink *base, const pqf__tdef *t, pqf_error *err)
{
    pg_sink *s = (pg_sink *)base;
    pqf_err rc = PQF_OK;
    PGresult *r = NULL;
    bool *have = calloc(t->ncols + 1, sizeof *have);
    char tb[64];
    const char *p[1] = {t->table};
    if (!have)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(exec_params(s,
                        "SELECT column_name, CASE WHEN data_type = 'numeric' THEN 'numeric(' || "
                        "numeric_precision || ',' || numeric_scale || ')' ELSE data_type END, "
                        "is_nullable FROM information_schema.columns WHERE table_schema = "
                        "current_schema() AND table_name = $1",
                        1, p, &r, err));
    int nhave = PQntuples(r);
    int *row_of = calloc(t->ncols + 1, sizeof *row_of);
    if (!row_of)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (int row = 0; row < nhave; row++)
        for (size_t i = 0; i < t->ncols; i++)
            if (strcmp(t->cols[i].name, PQgetvalue(r, row, 0)) == 0) {
                have[i] = true;
                row_of[i] = row;
            }
    /* A compatible schema change widens a column (int32 -> int64, float ->
     * double, decimal precision up) or makes it nullable: retype it, inside
     * the commit's transaction. A column of any other type (an operator's
     * own choice) is left alone. */
    for (size_t i = 0; nhave && i < t->ncols && rc == PQF_OK; i++) {
        if (!have[i])
            continue;
        const char *cur = PQgetvalue(r, row_of[i], 1);
        const char *want = pg_type(&t->cols[i], tb, sizeof tb);
        if (strcmp(cur, want) != 0 && pg_widens(cur, want))
            rc = alter_column(s, t->table, t->cols[i].name, " TYPE ", want, err);
        if (rc == PQF_OK && t->cols[i].nullable && !t->cols[i].key &&
            strcmp(PQgetvalue(r, row_of[i], 2), "NO") == 0)
            rc = alter_column(s, t->table, t->cols[i].name, " DROP NOT NULL", "", err);
    }
    free(row_of);
    PQF_TRY(rc);
    pqf__buf_reset(&s->sql);
    if (nhave == 0) {
        PQF_TRY(pqf__buf_printf(&s->sql, "CREATE TABLE "));
        PQF_TRY(pqf__sql_ident(&s->sql, t->table));
        PQF_TRY(pqf__buf_printf(&s->sql, " ("));
        PQF_TRY(pqf__sql_col_defs(&s->sql, t, pg_type));
        PQF_TRY(pqf__sql_primary_key(&s->sql, t));
        PQF_TRY(pqf__buf_printf(&s->sql, ")"));
        PQF_TRY(exec_buf(s, err));
    } else {
        for (size_t i = 0; i < t->ncols; i++) {
            if (have[i])
                continue;
            pqf__buf_reset(&s->sql);
            PQF_TRY(pqf__sql_add_column(&s->sql, t, i, pg_type));
            PQF_TRY(exec_buf(s, err));
        }
    }
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory");
    PQclear(r);
    free(have);
    return rc;
}

static pqf_err start_copy(pg_sink *s, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    PQF_TRY(pqf__buf_cstr(&s->sql));
    PGresult *r = PQexec(s->conn, (const char *)s->sql.data);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        rc = pqf_error_set(err, PQF_ERR_REMOTE, "%s: %s", s->base.name, pg_msg(s, r));
        PQclear(r);
        goto done;
    }
    PQclear(r);
    s->copying = true;
    s->copy_binary = false;
    pqf__buf_reset(&s->copy);
done:
    return rc;
}

/* ---- COPY binary format ------------------------------------------------------------
 * Signature, flags and header extension length; per row an int16 field
 * count, per field an int32 length (-1: NULL) and the type's send format in
 * network byte order; an int16 -1 after the last row. The stage's column
 * types are the ones pg_type() declares, so each column's encoding is known
 * from its kind. */

static size_t fmt_int(char *t, int64_t x);
static size_t fmt_double(char *t, size_t cap, double d);

static const uint8_t copy_sig[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n',
                                     0,   0,   0,   0,   0,   0,   0,    0,    0};

/* Can every column of t (and the stage's _op, _seq) go in binary? TIME has
 * no encoder here: such a table's stage goes as text. */
static bool binary_ok(const pqf__tdef *t)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (t->cols[i].kind == PQF__C_TIME)
            return false;
    return true;
}

static inline uint8_t *put_be16(uint8_t *p, uint16_t x)
{
    p[0] = (uint8_t)(x >> 8);
    p[1] = (uint8_t)x;
    return p + 2;
}

static inline uint8_t *put_be32(uint8_t *p, uint32_t x)
{
    p[0] = (uint8_t)(x >> 24);
    p[1] = (uint8_t)(x >> 16);
    p[2] = (uint8_t)(x >> 8);
    p[3] = (uint8_t)x;
    return p + 4;
}

static inline uint8_t *put_be64(uint8_t *p, uint64_t x)
{
    p = put_be32(p, (uint32_t)(x >> 32));
    return put_be32(p, (uint32_t)x);
}

/* A field of n bytes: its length, then p. */
static pqf_err bin_field(pqf__buf *b, const void *p, size_t n)
{
    pqf_err rc = PQF_OK;
    if (n > (size_t)INT32_MAX)
        return PQF_ERR_LIMIT;
    PQF_TRY(pqf__buf_reserve(b, 4 + n));
    put_be32(b->data + b->len, (uint32_t)n);
    b->len += 4;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
done:
    return rc;
}

static pqf_err bin_i16(pqf__buf *b, int16_t x)
{
    uint8_t t[2];
    put_be16(t, (uint16_t)x);
    return bin_field(b, t, 2);
}

static pqf_err bin_i32(pqf__buf *b, int32_t x)
{
    uint8_t t[4];
    put_be32(t, (uint32_t)x);
    return bin_field(b, t, 4);
}

static pqf_err bin_i64(pqf__buf *b, int64_t x)
{
    uint8_t t[8];
    put_be64(t, (uint64_t)x);
    return bin_field(b, t, 8);
}

/* Decimal digits at p[*i..], at least min and at most max, into *out. */
static bool scan_uint(const char *p, size_t n, size_t *i, int min, int max, int64_t *out)
{
    int64_t v = 0;
    int k = 0;
    while (*i < n && k < max && p[*i] >= '0' && p[*i] <= '9') {
        v = v * 10 + (p[*i] - '0');
        (*i)++;
        k++;
    }
    *out = v;
    return k >= min;
}

static bool scan_char(const char *p, size_t n, size_t *i, char c)
{
    if (*i < n && p[*i] == c) {
        (*i)++;
        return true;
    }
    return false;
}

#define PG_EPOCH_DAYS 10957 /* 2000-01-01 in days since 1970-01-01 */

/* "[-]YYYY-MM-DD" at p[*i..]: days since 2000-01-01 (proleptic Gregorian,
 * year 0 = 1 BC). */
static bool scan_date(const char *p, size_t n, size_t *i, int64_t *days)
{
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool neg = scan_char(p, n, i, '-');
    int64_t y, m, d;
    if (!scan_uint(p, n, i, 1, 9, &y) || !scan_char(p, n, i, '-') ||
        !scan_uint(p, n, i, 2, 2, &m) || !scan_char(p, n, i, '-') || !scan_uint(p, n, i, 2, 2, &d))
        return false;
    if (neg)
        y = -y;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
        return false;
    *days = pqf__days_from_civil(y, (unsigned)m, (unsigned)d) - PG_EPOCH_DAYS;
    return true;
}

static bool parse_date(const char *p, size_t n, int32_t *out)
{
    size_t i = 0;
    int64_t days;
    if (!scan_date(p, n, &i, &days) || i != n || days < INT32_MIN || days > INT32_MAX)
        return false;
    *out = (int32_t)days;
    return true;
}

/* "DATE[T ]HH:MM:SS[.f...][Z]": microseconds since 2000-01-01, the
 * fraction rounded as PostgreSQL's input does (rint of the fraction's
 * double times 10^6), so 9-digit fractions land where text COPY puts them. */
static bool parse_ts(const char *p, size_t n, int64_t *out)
{
    size_t i = 0;
    int64_t days, h, mi, sec;
    if (!scan_date(p, n, &i, &days) || !(scan_char(p, n, &i, 'T') || scan_char(p, n, &i, ' ')) ||
        !scan_uint(p, n, &i, 2, 2, &h) || !scan_char(p, n, &i, ':') ||
        !scan_uint(p, n, &i, 2, 2, &mi) || !scan_char(p, n, &i, ':') ||
        !scan_uint(p, n, &i, 2, 2, &sec))
        return false;
    if (h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi || sec)))
        return false;
    double us = 0;
    if (i < n && p[i] == '.') {
        char f[40] = "0.";
        size_t k = 2;
        i++;
        while (k < sizeof f - 1 && i < n && p[i] >= '0' && p[i] <= '9')
            f[k++] = p[i++];
        if (i < n && p[i] >= '0' && p[i] <= '9')
            return false; /* more fraction digits than any unit has */
        f[k] = 0;
        us = rint(strtod(f, NULL) * 1000000.0);
    }
    scan_char(p, n, &i, 'Z');
    if (i != n || days > INT64_MAX / 86400000000 - 1 || days < INT64_MIN / 86400000000 + 1)
        return false;
    *out = ((days * 24 + h) * 60 + mi) * 60 * 1000000 + sec * 1000000 + (int64_t)us;
    return true;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* 32 hex digits, dashes anywhere between pairs, optional braces. */
static bool parse_uuid(const char *p, size_t n, uint8_t out[16])
{
    size_t i = 0, k = 0;
    bool brace = scan_char(p, n, &i, '{');
    while (k < 16 && i + 1 < n) {
        if (k && p[i] == '-')
            i++;
        int a = i < n ? hexval(p[i]) : -1, b = i + 1 < n ? hexval(p[i + 1]) : -1;
        if (a < 0 || b < 0)
            return false;
        out[k++] = (uint8_t)(a << 4 | b);
        i += 2;
    }
    if (brace && !scan_char(p, n, &i, '}'))
        return false;
    return k == 16 && i == n;
}

#define NUMERIC_MAX_DIGITS 1000
#define NUMERIC_MAX_GROUPS 600

/* A decimal number's text ([+-]digits[.digits][e[+-]N]) as numeric_send
 * writes it: ndigits, weight, sign, dscale, base-10000 digits. dscale is the
 * text's fraction digits, as numeric_in takes it; the server rounds to the
 * column's declared scale the same way for both. */
static bool bin_numeric(pqf__buf *b, const char *p, size_t n, pqf_err *rc)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (p[i] == '-' || p[i] == '+'))
        neg = p[i++] == '-';
    uint8_t dig[NUMERIC_MAX_DIGITS];
    int total = 0, intn = -1;
    bool seen = false; /* a digit */
    for (; i < n; i++) {
        if (p[i] == '.' && intn < 0) {
            intn = total;
        } else if (p[i] >= '0' && p[i] <= '9') {
            seen = true;
            if (total == 0 && p[i] == '0' && intn < 0)
                continue; /* leading zeros of the integer part */
            if (total == NUMERIC_MAX_DIGITS)
                return false;
            dig[total++] = (uint8_t)(p[i] - '0');
        } else {
            break;
        }
    }
    if (!seen)
        return false;
    if (intn < 0)
        intn = total;
    int64_t e = 0;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (p[i] == '-' || p[i] == '+'))
            eneg = p[i++] == '-';
        if (!scan_uint(p, n, &i, 1, 4, &e) || e > NUMERIC_MAX_DIGITS)
            return false;
        if (eneg)
            e = -e;
    }
    if (i != n)
        return false;
    /* digit j has the decimal exponent pos - 1 - j */
    int64_t pos = intn + e;
    int64_t dscale = (int64_t)total - pos;
    if (dscale < 0)
        dscale = 0;
    int16_t groups[NUMERIC_MAX_GROUPS];
    int64_t maxw = 0, minw = 0, ng = 0;
    if (total) {
        maxw = (pos - 1 >= 0) ? (pos - 1) / 4 : -((-(pos - 1) + 3) / 4);
        int64_t lo = pos - total;
        minw = lo >= 0 ? lo / 4 : -((-lo + 3) / 4);
        ng = maxw - minw + 1;
        if (ng > NUMERIC_MAX_GROUPS)
            return false;
        memset(groups, 0, sizeof groups);
        static const int16_t pow10[4] = {1, 10, 100, 1000};
        for (int j = 0; j < total; j++) {
            int64_t pw = pos - 1 - j;
            int64_t w = pw >= 0 ? pw / 4 : -((-pw + 3) / 4);
            groups[maxw - w] = (int16_t)(groups[maxw - w] + dig[j] * pow10[pw - 4 * w]);
        }
    }
    /* leading and trailing zero groups off (make_result does the same) */
    int64_t first = 0, last = ng;
    while (first < last && groups[first] == 0)
        first++;
    while (last > first && groups[last - 1] == 0)
        last--;
    int64_t weight = first < last ? maxw - first : 0;
    uint8_t t[8 + 2 * NUMERIC_MAX_GROUPS], *q = t;
    q = put_be16(q, (uint16_t)(last - first));
    q = put_be16(q, (uint16_t)(int16_t)weight);
    q = put_be16(q, first < last && neg ? 0x4000 : 0x0000);
    q = put_be16(q, (uint16_t)dscale);
    for (int64_t g = first; g < last; g++)
        q = put_be16(q, (uint16_t)groups[g]);
    *rc = bin_field(b, t, (size_t)(q - t));
    return true;
}

/* The stage row in binary; a value the column's type cannot take is
 * PQF_ERR_VALUE naming the column. */
static pqf_err bin_row(pg_sink *s, const pqf__val *vals, size_t n, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf *b = &s->copy;
    const pqf__tdef *t = s->t;
    const char *why = NULL;
    size_t i = 0;
    uint8_t hdr[2];
    put_be16(hdr, (uint16_t)n);
    PQF_TRY(pqf__buf_append(b, hdr, 2));
    for (i = 0; i < n; i++) {
        const pqf__val *v = &vals[i];
        if (v->t == PQF__V_NULL) {
            uint8_t m1[4] = {0xff, 0xff, 0xff, 0xff};
            PQF_TRY(pqf__buf_append(b, m1, 4));
            continue;
        }
        if (i == t->ncols) { /* _op char(1) */
            PQF_TRY(bin_field(b, v->s, v->n));
            continue;
        }
        if (i == t->ncols + 1) { /* _seq bigint */
            PQF_TRY(bin_i64(b, v->i));
            continue;
        }
        const pqf__col *c = &t->cols[i];
        char num[64];
        switch (c->kind) {
        case PQF__C_INT:
            if (v->t != PQF__V_INT) {
                why = "not an integer";
                goto bad;
            }
            if (c->bits <= 16 && !c->is_unsigned) {
                if (v->i < INT16_MIN || v->i > INT16_MAX) {
                    why = "out of range for smallint";
                    goto bad;
                }
                PQF_TRY(bin_i16(b, (int16_t)v->i));
            } else if (c->bits <= 16 || (c->bits == 32 && !c->is_unsigned)) {
                if (v->i < INT32_MIN || v->i > INT32_MAX) {
                    why = "out of range for integer";
                    goto bad;
                }
                PQF_TRY(bin_i32(b, (int32_t)v->i));
            } else {
                PQF_TRY(bin_i64(b, v->i));
            }
            break;
        case PQF__C_UINT64:
        case PQF__C_DECIMAL: {
            const char *p = v->s;
            size_t len = v->n;
            if (v->t == PQF__V_INT && !v->s) {
                len = fmt_int(num, v->i);
                p = num;
            } else if (v->t != PQF__V_INT && v->t != PQF__V_TEXT) {
                why = "not a number";
                goto bad;
            }
            if (!bin_numeric(b, p, len, &rc)) {
                why = "not a decimal number";
                goto bad;
            }
            PQF_TRY(rc);
            break;
        }
        case PQF__C_FLOAT: {
            /* what float4in makes of the text the text path would send */
            if (v->t != PQF__V_DOUBLE) {
                why = "not a number";
                goto bad;
            }
            float f;
            if (v->s && v->n < sizeof num) {
                memcpy(num, v->s, v->n);
                num[v->n] = 0;
            } else {
                fmt_double(num, sizeof num, v->d);
            }
            f = strtof(num, NULL);
            if (isnan(f))
                f = NAN;
            uint32_t u;
            memcpy(&u, &f, 4);
            PQF_TRY(bin_i32(b, (int32_t)u));
            break;
        }
        case PQF__C_DOUBLE: {
            if (v->t != PQF__V_DOUBLE) {
                why = "not a number";
                goto bad;
            }
            double d = isnan(v->d) ? (double)NAN : v->d;
            uint64_t u;
            memcpy(&u, &d, 8);
            PQF_TRY(bin_i64(b, (int64_t)u));
            break;
        }
        case PQF__C_BOOL: {
            if (v->t != PQF__V_BOOL) {
                why = "not a boolean";
                goto bad;
            }
            uint8_t x = v->i != 0;
            PQF_TRY(bin_field(b, &x, 1));
            break;
        }
        case PQF__C_UUID: {
            uint8_t u[16];
            if (v->t != PQF__V_TEXT || !parse_uuid(v->s, v->n, u)) {
                why = "not a UUID";
                goto bad;
            }
            PQF_TRY(bin_field(b, u, 16));
            break;
        }
        case PQF__C_DATE: {
            int32_t d;
            if (v->t != PQF__V_TEXT || !parse_date(v->s, v->n, &d)) {
                why = "not a date";
                goto bad;
            }
            PQF_TRY(bin_i32(b, d));
            break;
        }
        case PQF__C_TIMESTAMP: {
            int64_t us;
            if (v->t != PQF__V_TEXT || !parse_ts(v->s, v->n, &us)) {
                why = "not a timestamp";
                goto bad;
            }
            PQF_TRY(bin_i64(b, us));
            break;
        }
        case PQF__C_JSON:
        case PQF__C_NESTED: { /* jsonb: version 1, then the text */
            if (v->t != PQF__V_TEXT) {
                why = "not JSON text";
                goto bad;
            }
            if (v->n >= (size_t)INT32_MAX)
                PQF_TRY(PQF_ERR_LIMIT);
            uint8_t h[5];
            put_be32(h, (uint32_t)v->n + 1);
            h[4] = 1;
            PQF_TRY(pqf__buf_append(b, h, 5));
            PQF_TRY(pqf__buf_append(b, v->s, v->n));
            break;
        }
        case PQF__C_BINARY:
        case PQF__C_TEXT:
            if (v->t != PQF__V_BLOB && v->t != PQF__V_TEXT) {
                why = "not text or bytes";
                goto bad;
            }
            PQF_TRY(bin_field(b, v->s, v->n));
            break;
        default: /* binary_ok() keeps other kinds on the text path */
            why = "has no binary encoding";
            goto bad;
        }
    }
    goto done;
bad:
    rc = pqf_error_set(err, PQF_ERR_VALUE, "%s: table %s: column '%s': value '%.*s' %s",
                       s->base.name, t->table, t->cols[i].name,
                       vals[i].s ? (int)(vals[i].n < 60 ? vals[i].n : 60) : 0,
                       vals[i].s ? vals[i].s : "", why);
done:
    return rc;
}

/* The temporary stage table of a changes commit: t's columns, _op, _seq. */
static pqf_err create_stage(pg_sink *s, const pqf__tdef *t, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char tb[64];
    PQF_TRY(exec(s, "DROP TABLE IF EXISTS pg_temp._pqfeed_stage", err));
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "CREATE TEMP TABLE _pqfeed_stage ("));
    for (size_t i = 0; i < t->ncols; i++) {
        PQF_TRY(pqf__sql_ident(&s->sql, t->cols[i].name));
        PQF_TRY(pqf__buf_printf(&s->sql, " %s, ", pg_type(&t->cols[i], tb, sizeof tb)));
    }
    PQF_TRY(pqf__buf_printf(&s->sql, "_pqfeed_op char(1), _pqfeed_seq bigint) ON COMMIT DROP"));
    PQF_TRY(exec_buf(s, err));
done:
    return rc;
}

static void plan_reset(pg_sink *s)
{
    s->planned = s->plan_ok = s->direct = false;
    free(s->gone);
    s->gone = NULL;
    s->ngone = s->gonepos = 0;
    s->nplan = 0;
}

static pqf_err direct_begin(pg_sink *s, pqf_error *err);

static pqf_err pg_load_begin(pqf_sink *base, const pqf__tdef *t, bool changes, pqf_error *err)
{
    pg_sink *s = (pg_sink *)base;
    pqf_err rc = PQF_OK;
    if (changes && s->planned && s->plan_ok && s->t == t) {
        s->changes = true;
        s->keys_distinct = false;
        s->nstage = 0;
        PQF_TRY(direct_begin(s, err));
        goto done;
    }
    plan_reset(s);
    s->t = t;
    s->changes = changes;
    pqf__buf_reset(&s->sql);
    keys_reset(s);
    s->nstage = 0;
    s->keys_distinct = changes && t->nkeys > 0;
    if (changes) {
        PQF_TRY(create_stage(s, t, err));
        pqf__buf_reset(&s->sql);
        PQF_TRY(pqf__buf_printf(&s->sql, "COPY pg_temp._pqfeed_stage FROM STDIN%s",
                                s->binary && binary_ok(t) ? " (FORMAT binary)" : ""));
    } else {
        PQF_TRY(pqf__buf_printf(&s->sql, "DELETE FROM "));
        PQF_TRY(pqf__sql_ident(&s->sql, t->table));
        PQF_TRY(exec_buf(s, err));
        pqf__buf_reset(&s->sql);
        PQF_TRY(pqf__buf_printf(&s->sql, "COPY "));
        PQF_TRY(pqf__sql_ident(&s->sql, t->table));
        PQF_TRY(pqf__buf_printf(&s->sql, " ("));
        PQF_TRY(pqf__sql_col_list(&s->sql, t));
        PQF_TRY(pqf__buf_printf(&s->sql, ") FROM STDIN"));
    }
    PQF_TRY(start_copy(s, err));
    if (changes && s->binary && binary_ok(t)) {
        s->copy_binary = true;
        PQF_TRY(pqf__buf_append(&s->copy, copy_sig, sizeof copy_sig));
    }
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory");
    return rc;
}

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static pqf_err copy_text(pqf__buf *b, const char *p, size_t n)
{
    pqf_err rc = PQF_OK;
    PQF_TRY(pqf__buf_reserve(b, n));
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
            char e[2] = {'\\', c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\'};
            PQF_TRY(pqf__buf_append(b, e, 2));
        } else {
            PQF_TRY(pqf__buf_append_byte(b, (uint8_t)c));
        }
    }
done:
    return rc;
}

static pqf_err flush_copy(pg_sink *s, pqf_error *err)
{
    if (s->copy.len && PQputCopyData(s->conn, (const char *)s->copy.data, (int)s->copy.len) != 1)
        return pqf_error_set(err, PQF_ERR_REMOTE, "%s: COPY: %s", s->base.name, pg_msg(s, NULL));
    pqf__buf_reset(&s->copy);
    return PQF_OK;
}

/* Decimal text of x into t (room for 21 bytes); returns its length. */
static size_t fmt_int(char *t, int64_t x)
{
    char tmp[24];
    size_t n = 0, len = 0;
    uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (x < 0)
        t[len++] = '-';
    while (n)
        t[len++] = tmp[--n];
    return len;
}

/* The shortest text that reads back as the same double, NaN and the
 * infinities as PostgreSQL spells them (what the row reader renders). */
static size_t fmt_double(char *t, size_t cap, double d)
{
    if (isnan(d) || isinf(d))
        return (size_t)snprintf(t, cap, "%s", isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(t, cap, "%.*g", prec, d);
        if (strtod(t, NULL) == d)
            break;
    }
    return (size_t)n;
}

/* Append (k, seq) to ikeys; false when the cap or memory runs out. */
static bool ikeys_push(pg_sink *s, int64_t k, int64_t seq)
{
    if (s->nikeys == s->capikeys) {
        size_t nc = s->capikeys ? s->capikeys * 2 : 65536;
        struct kseq *p = nc <= STAGE_IKEYS_MAX ? realloc(s->ikeys, nc * sizeof *p) : NULL;
        if (!p)
            return false;
        s->ikeys = p;
        s->capikeys = nc;
    }
    s->ikeys[s->nikeys].k = k;
    s->ikeys[s->nikeys++].seq = seq;
    return true;
}

/* Note the row's key: one integer key goes to a vector that load_end sorts
 * and scans, other keys into a set of their texts. A repeat, or a cap, ends
 * the tracking: the merge then deduplicates on the server. */
static pqf_err note_key(pg_sink *s, const pqf__val *vals)
{
    pqf_err rc = PQF_OK;
    const pqf__val *v0 = &vals[s->t->keys[0]];
    if (s->t->nkeys == 1 && v0->t == PQF__V_INT && !v0->s) {
        if (!ikeys_push(s, v0->i, vals[s->t->ncols + 1].i))
            s->keys_distinct = false;
        goto done;
    }
    if (s->nikeys) { /* mixed representations: give up */
        s->keys_distinct = false;
        goto done;
    }
    pqf__buf *k = &s->keybuf;
    pqf__buf_reset(k);
    for (size_t i = 0; i < s->t->nkeys; i++) {
        const pqf__val *v = &vals[s->t->keys[i]];
        if (v->t == PQF__V_NULL) {
            PQF_TRY(pqf__buf_append(k, "\x01N", 2));
        } else if ((v->t == PQF__V_INT || v->t == PQF__V_BOOL) && !v->s) {
            char t[24];
            PQF_TRY(pqf__buf_append(k, t, fmt_int(t, v->i)));
        } else if (v->t == PQF__V_DOUBLE && !v->s) {
            char t[40];
            PQF_TRY(pqf__buf_append(k, t, fmt_double(t, sizeof t, v->d)));
        } else {
            PQF_TRY(pqf__buf_append(k, v->s, v->n));
        }
        PQF_TRY(pqf__buf_append_byte(k, 0)); /* separator */
    }
    bool added = false;
    if (pqf__strset_add(&s->keys, k->data, k->len, &added) != PQF_OK || !added)
        s->keys_distinct = false;
done:
    if (!s->keys_distinct)
        keys_reset(s);
    return rc;
}

static int cmp_kseq(const void *a, const void *b)
{
    const struct kseq *x = a, *y = b;
    if (x->k != y->k)
        return (x->k > y->k) - (x->k < y->k);
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static pqf_err end_copy(pg_sink *s, pqf_error *err);

/* At the end of the stage: were all its keys distinct? With one integer
 * key the client saw every (key, _seq): it sorts them and COPYs each
 * superseded change (a key's changes but its last) into _pqfeed_gone, so
 * the merge drops them with a hash anti-join instead of sorting the whole
 * stage on the server (the same rows: a key's highest _seq wins). */
static pqf_err stage_dedup(pg_sink *s, dedup *out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    bool d = s->keys_distinct;
    size_t ngone = 0;
    *out = d ? DEDUP_NONE : DEDUP_SERVER;
    if (!d || s->nikeys < 2)
        goto done;
    qsort(s->ikeys, s->nikeys, sizeof *s->ikeys, cmp_kseq);
    for (size_t i = 1; i < s->nikeys; i++) {
        if (s->ikeys[i].k != s->ikeys[i - 1].k)
            continue;
        if (s->ikeys[i].seq == s->ikeys[i - 1].seq) { /* a tie: let the server decide */
            *out = DEDUP_SERVER;
            goto done;
        }
        ngone++;
    }
    if (ngone == 0)
        goto done;
    *out = DEDUP_GONE;
    PQF_TRY(exec(s, "DROP TABLE IF EXISTS pg_temp._pqfeed_gone", err));
    PQF_TRY(exec(s, "CREATE TEMP TABLE _pqfeed_gone (k bigint, seq bigint) ON COMMIT DROP", err));
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "COPY pg_temp._pqfeed_gone FROM STDIN"));
    PQF_TRY(start_copy(s, err));
    for (size_t i = 0; i + 1 < s->nikeys; i++) {
        if (s->ikeys[i + 1].k != s->ikeys[i].k)
            continue;
        char t[48];
        size_t n = fmt_int(t, s->ikeys[i].k);
        t[n++] = '\t';
        n += fmt_int(t + n, s->ikeys[i].seq);
        t[n++] = '\n';
        PQF_TRY(pqf__buf_append(&s->copy, t, n));
        if (s->copy.len >= COPY_CHUNK)
            PQF_TRY(flush_copy(s, err));
    }
    PQF_TRY(end_copy(s, err));
    /* its size, so the planner hashes it (not a merge join sorting the stage) */
    PQF_TRY(exec(s, "ANALYZE pg_temp._pqfeed_gone", err));
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory");
    keys_reset(s);
    return rc;
}

static pqf_err pg_load_row(pqf_sink *base, const pqf__val *vals, pqf_error *err)
{
    pg_sink *s = (pg_sink *)base;
    pqf_err rc = PQF_OK;
    pqf__buf *b = &s->copy;
    size_t n = s->t->ncols + (s->changes ? 2 : 0);
    static const char hex[] = "0123456789abcdef";
    if (s->direct) { /* the new table takes each key's last change unless a delete */
        const pqf__val *q = &vals[s->t->ncols + 1], *op = &vals[s->t->ncols];
        s->nstage++;
        if (q->t != PQF__V_INT || q->i <= s->last_seq ||
            (s->gonepos < s->ngone && s->gone[s->gonepos] < q->i))
            PQF_FAIL(err, PQF_ERR_CORRUPT,
                     "%s: table %s: row %" PRIu64 " differs from the plan pass's read of it",
                     s->base.name, s->t->table, s->nstage);
        s->last_seq = q->i;
        if (s->gonepos < s->ngone && s->gone[s->gonepos] == q->i) {
            s->gonepos++; /* superseded by a later change of its key */
            goto done;
        }
        if (op->t == PQF__V_NULL || (op->n == 1 && op->s[0] == 'D'))
            goto done;
        PQF_TRY(bin_row(s, vals, s->t->ncols, err));
        if (b->len >= COPY_CHUNK)
            PQF_TRY(flush_copy(s, err));
        goto done;
    }
    if (s->copy_binary) {
        PQF_TRY(bin_row(s, vals, n, err));
        goto row_done;
    }
    for (size_t i = 0; i < n; i++) {
        const pqf__val *v = &vals[i];
        if (i)
            PQF_TRY(pqf__buf_append_byte(b, '\t'));
        switch (v->t) {
        case PQF__V_NULL:
            PQF_TRY(pqf__buf_append(b, "\\N", 2));
            break;
        case PQF__V_BOOL:
            PQF_TRY(pqf__buf_append_byte(b, v->i ? 't' : 'f'));
            break;
        case PQF__V_BLOB:
            PQF_TRY(pqf__buf_append(b, "\\\\x", 3));
            for (size_t k = 0; k < v->n; k++) {
                uint8_t c = (uint8_t)v->s[k];
                char h[2] = {hex[c >> 4], hex[c & 15]};
                PQF_TRY(pqf__buf_append(b, h, 2));
            }
            break;
        case PQF__V_INT:
            if (!v->s) { /* typed straight from the column */
                char t[24];
                PQF_TRY(pqf__buf_append(b, t, fmt_int(t, v->i)));
                break;
            }
            PQF_TRY(copy_text(b, v->s, v->n));
            break;
        case PQF__V_DOUBLE:
            if (!v->s) {
                char t[40];
                PQF_TRY(pqf__buf_append(b, t, fmt_double(t, sizeof t, v->d)));
                break;
            }
            PQF_TRY(copy_text(b, v->s, v->n));
            break;
        default: /* TEXT */
            PQF_TRY(copy_text(b, v->s, v->n));
            break;
        }
    }
    PQF_TRY(pqf__buf_append_byte(b, '\n'));
row_done:
    s->nstage++;
    if (s->keys_distinct)
        PQF_TRY(note_key(s, vals));
    if (b->len >= COPY_CHUNK)
        PQF_TRY(flush_copy(s, err));
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory (COPY buffer)");
    return rc;
}

static pqf_err end_copy(pg_sink *s, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    PGresult *r = NULL;
    if (s->copy_binary) {
        uint8_t trailer[2] = {0xff, 0xff};
        PQF_TRY(pqf__buf_append(&s->copy, trailer, 2));
        s->copy_binary = false;
    }
    PQF_TRY(flush_copy(s, err));
    s->copying = false;
    if (PQputCopyEnd(s->conn, NULL) != 1)
        PQF_FAIL(err, PQF_ERR_REMOTE, "%s: COPY: %s", s->base.name, pg_msg(s, NULL));
    r = PQgetResult(s->conn);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        PQF_FAIL(err, PQF_ERR_VALUE, "%s: table %s: %s", s->base.name, s->t->table, pg_msg(s, r));
done:
    PQclear(r);
    /* drain: libpq wants NULL before the next command */
    while ((r = PQgetResult(s->conn)) != NULL)
        PQclear(r);
    return rc;
}

/* The merge's source of new rows: each key's last change unless it is a
 * delete (the stage as it is when each key is there once). */
static pqf_err latest_rows(pg_sink *s, dedup dd)
{
    const pqf__tdef *t = s->t;
    pqf_err rc = PQF_OK;
    PQF_TRY(pqf__buf_printf(&s->sql, "SELECT "));
    PQF_TRY(pqf__sql_col_list(&s->sql, t));
    if (dd == DEDUP_NONE) {
        PQF_TRY(pqf__buf_printf(&s->sql, " FROM pg_temp._pqfeed_stage WHERE _pqfeed_op <> 'D'"));
    } else if (dd == DEDUP_GONE) {
        PQF_TRY(pqf__buf_printf(&s->sql, " FROM pg_temp._pqfeed_stage AS s WHERE _pqfeed_op <> "
                                         "'D' AND NOT EXISTS (SELECT FROM pg_temp._pqfeed_gone "
                                         "AS g WHERE g.k = s."));
        PQF_TRY(pqf__sql_ident(&s->sql, t->cols[t->keys[0]].name));
        PQF_TRY(pqf__buf_printf(&s->sql, " AND g.seq = s._pqfeed_seq)"));
    } else {
        PQF_TRY(pqf__buf_printf(&s->sql, " FROM (SELECT DISTINCT ON ("));
        PQF_TRY(pqf__sql_key_list(&s->sql, t, ""));
        PQF_TRY(pqf__buf_printf(&s->sql, ") * FROM pg_temp._pqfeed_stage ORDER BY "));
        PQF_TRY(pqf__sql_key_list(&s->sql, t, ""));
        PQF_TRY(pqf__buf_printf(&s->sql, ", _pqfeed_seq DESC) AS l WHERE _pqfeed_op <> 'D'"));
    }
done:
    return rc;
}

/* " t.k1 = s.k1 AND ...": a table row t and a stage row s of the same key. */
static pqf_err key_match(pg_sink *s)
{
    const pqf__tdef *t = s->t;
    pqf_err rc = PQF_OK;
    for (size_t k = 0; k < t->nkeys; k++) {
        PQF_TRY(pqf__buf_printf(&s->sql, "%st.", k ? " AND " : " "));
        PQF_TRY(pqf__sql_ident(&s->sql, t->cols[t->keys[k]].name));
        PQF_TRY(pqf__buf_printf(&s->sql, " = s."));
        PQF_TRY(pqf__sql_ident(&s->sql, t->cols[t->keys[k]].name));
    }
done:
    return rc;
}

/* In place: DELETE every key the stage holds, INSERT the latest rows. */
static pqf_err merge_in_place(pg_sink *s, dedup dd, pqf_error *err)
{
    const pqf__tdef *t = s->t;
    pqf_err rc = PQF_OK;
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "DELETE FROM "));
    PQF_TRY(pqf__sql_ident(&s->sql, t->table));
    if (dd == DEDUP_NONE) {
        PQF_TRY(pqf__buf_printf(&s->sql, " AS t USING pg_temp._pqfeed_stage AS s WHERE"));
    } else {
        PQF_TRY(pqf__buf_printf(&s->sql, " AS t USING (SELECT DISTINCT "));
        PQF_TRY(pqf__sql_key_list(&s->sql, t, ""));
        PQF_TRY(pqf__buf_printf(&s->sql, " FROM pg_temp._pqfeed_stage) AS s WHERE"));
    }
    PQF_TRY(key_match(s));
    PQF_TRY(exec_buf(s, err));
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "INSERT INTO "));
    PQF_TRY(pqf__sql_ident(&s->sql, t->table));
    PQF_TRY(pqf__buf_printf(&s->sql, " ("));
    PQF_TRY(pqf__sql_col_list(&s->sql, t));
    PQF_TRY(pqf__buf_printf(&s->sql, ") "));
    PQF_TRY(latest_rows(s, dd));
    PQF_TRY(exec_buf(s, err));
done:
    return rc;
}

#define REWRITE_RATIO_DEFAULT 0.3
#define REWRITE_TABLE "_pqfeed_rewrite"

/* Rewrite or merge in place? A rewrite writes the whole table once, an
 * in-place merge a deleted and an inserted row version, with their index
 * entries, per change: past a fraction of the table (the setting
 * pqfeed.rewrite_ratio, default 0.3, 0 or off: never) rewriting is cheaper.
 * Only a table that is nothing but what the sink made of it (its columns,
 * NOT NULL, its primary key on the feed's key, owned by this user, in the
 * current schema) is rewritten: views, grants, other indexes, triggers,
 * foreign keys, rules, policies, publications (of the table, its schema or
 * all tables: logical replication does not carry the swap), comments, statistics,
 * defaults, storage options and inheritance would be lost or block the
 * DROP, so such a table is merged in place. nrows: the commit's change
 * rows. *pk receives the primary key constraint's name. */
static pqf_err want_rewrite(pg_sink *s, uint64_t nrows, bool *rewrite, pqf__buf *pk,
                            pqf_error *err)
{
    const pqf__tdef *t = s->t;
    pqf_err rc = PQF_OK;
    PGresult *r = NULL;
    pqf__buf keys;
    pqf__buf_init(&keys, (size_t)1 << 20);
    *rewrite = false;
    for (size_t k = 0; k < t->nkeys; k++) {
        if (k)
            PQF_TRY(pqf__buf_append_byte(&keys, 1));
        PQF_TRY(pqf__buf_printf(&keys, "%s", t->cols[t->keys[k]].name));
    }
    PQF_TRY(pqf__buf_cstr(&keys));
    const char *p[2] = {t->table, (const char *)keys.data};
    /* catalogs of later releases only where the server has them */
    const int ver = PQserverVersion(s->conn);
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(
        &s->sql,
        "SELECT current_setting('pqfeed.rewrite_ratio', true), (SELECT con.conname FROM "
        "pg_class c JOIN pg_constraint con ON con.conrelid = c.oid AND con.contype = 'p' "
        "WHERE c.relname = $1 AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname "
        "= current_schema()) AND c.relkind = 'r' AND c.relpersistence = 'p' AND NOT "
        "c.relispartition AND NOT c.relhassubclass AND NOT c.relhastriggers AND NOT "
        "c.relhasrules AND NOT c.relrowsecurity AND c.relacl IS NULL AND c.reloptions IS NULL "
        "AND c.reltablespace = 0 AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = "
        "current_user) "
        "AND (SELECT string_agg(a.attname, chr(1) ORDER BY k.n) FROM unnest(con.conkey) WITH "
        "ORDINALITY AS k(att, n) JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = "
        "k.att) = $2 "
        "AND (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid) = 1 "
        "AND NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = c.oid) "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass "
        "AND d.refobjid = c.oid AND d.deptype = 'n') "
        "AND NOT EXISTS (SELECT 1 FROM pg_publication_rel WHERE prrelid = c.oid) "
        "AND NOT EXISTS (SELECT 1 FROM pg_publication WHERE puballtables) "
        "%s"
        "AND NOT EXISTS (SELECT 1 FROM pg_statistic_ext WHERE stxrelid = c.oid) "
        "AND NOT EXISTS (SELECT 1 FROM pg_description WHERE objoid = c.oid AND classoid = "
        "'pg_class'::regclass) "
        "AND NOT EXISTS (SELECT 1 FROM pg_attrdef WHERE adrelid = c.oid) "
        "AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 "
        "AND (a.attidentity <> '' %s OR a.attoptions IS NOT NULL OR a.attacl IS NOT NULL)))",
        ver >= 150000 ? "AND NOT EXISTS (SELECT 1 FROM pg_publication_namespace WHERE pnnspid = "
                        "c.relnamespace) "
                      : "",
        ver >= 120000 ? "OR a.attgenerated <> ''" : ""));
    PQF_TRY(pqf__buf_cstr(&s->sql));
    PQF_TRY(exec_params(s, (const char *)s->sql.data, 2, p, &r, err));
    double ratio = REWRITE_RATIO_DEFAULT;
    if (!PQgetisnull(r, 0, 0) && *PQgetvalue(r, 0, 0)) {
        const char *v = PQgetvalue(r, 0, 0);
        char *end = NULL;
        ratio = strcmp(v, "off") == 0 ? 0 : strtod(v, &end);
        if ((end && (end == v || *end)) || !(ratio >= 0) || isinf(ratio))
            PQF_FAIL(err, PQF_ERR_INVALID_ARG,
                     "%s: setting pqfeed.rewrite_ratio: '%.40s' is not a number >= 0 or off",
                     s->base.name, v);
    }
    if (ratio == 0 || nrows == 0 || PQgetisnull(r, 0, 1))
        goto done;
    pqf__buf_reset(pk);
    PQF_TRY(pqf__buf_printf(pk, "%s", PQgetvalue(r, 0, 1)));
    PQF_TRY(pqf__buf_cstr(pk));
    PQclear(r);
    r = NULL;
    /* The table's rows, counted no further than the threshold */
    double lim = floor((double)nrows / ratio);
    char limit[32];
    snprintf(limit, sizeof limit, "%.0f", lim < 9e18 ? lim + 1 : 9e18);
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "SELECT count(*) FROM (SELECT FROM ONLY "));
    PQF_TRY(pqf__sql_ident(&s->sql, t->table));
    PQF_TRY(pqf__buf_printf(&s->sql, " LIMIT %s) AS n", limit));
    PQF_TRY(pqf__buf_cstr(&s->sql));
    PQF_TRY(exec_params(s, (const char *)s->sql.data, 0, NULL, &r, err));
    *rewrite = strtod(PQgetvalue(r, 0, 0), NULL) <= lim;
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory");
    pqf__buf_free(&keys);
    PQclear(r);
    return rc;
}

/* The rewrite's new table, empty, with the table's columns and NOT NULLs
 * (its primary key comes after the load). */
static pqf_err rewrite_create(pg_sink *s, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    /* the index build's sort in memory (512 MB, unless more is set) */
    PQF_TRY(exec(s,
                 "SELECT set_config('maintenance_work_mem', '512MB', true) WHERE "
                 "pg_size_bytes(current_setting('maintenance_work_mem')) < 512 * 1048576",
                 err));
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "CREATE TABLE " REWRITE_TABLE " (LIKE "));
    PQF_TRY(pqf__sql_ident(&s->sql, s->t->table));
    PQF_TRY(pqf__buf_printf(&s->sql, " INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING "
                                     "COMPRESSION)"));
    PQF_TRY(exec_buf(s, err));
done:
    return rc;
}

/* Into the new table: the table's rows whose key `from` does not hold,
 * every column (dropped ones too); `match` compares s (a row of from) with
 * t. */
static pqf_err rewrite_untouched(pg_sink *s, const char *from, bool keys_only, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "INSERT INTO " REWRITE_TABLE " SELECT t.* FROM ONLY "));
    PQF_TRY(pqf__sql_ident(&s->sql, s->t->table));
    PQF_TRY(pqf__buf_printf(&s->sql, " AS t WHERE NOT EXISTS (SELECT FROM %s AS s WHERE", from));
    if (keys_only) { /* _pqfeed_keys (k): the one integer key */
        PQF_TRY(pqf__buf_printf(&s->sql, " s.k = t."));
        PQF_TRY(pqf__sql_ident(&s->sql, s->t->cols[s->t->keys[0]].name));
    } else {
        PQF_TRY(key_match(s));
    }
    PQF_TRY(pqf__buf_printf(&s->sql, ")"));
    PQF_TRY(exec_buf(s, err));
done:
    return rc;
}

/* The loaded new table takes the table's place: DROP, RENAME, the primary
 * key under the old constraint name, ANALYZE. */
static pqf_err rewrite_swap(pg_sink *s, const char *pk, pqf_error *err)
{
    const pqf__tdef *t = s->t;
    pqf_err rc = PQF_OK;
    pqf__crashpoint("apply.pg-rewrite-loaded");
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "DROP TABLE "));
    PQF_TRY(pqf__sql_ident(&s->sql, t->table));
    PQF_TRY(pqf__buf_printf(&s->sql, "; ALTER TABLE " REWRITE_TABLE " RENAME TO "));
    PQF_TRY(pqf__sql_ident(&s->sql, t->table));
    PQF_TRY(pqf__buf_printf(&s->sql, "; ALTER TABLE "));
    PQF_TRY(pqf__sql_ident(&s->sql, t->table));
    PQF_TRY(pqf__buf_printf(&s->sql, " ADD CONSTRAINT "));
    PQF_TRY(pqf__sql_ident(&s->sql, pk));
    PQF_TRY(pqf__buf_printf(&s->sql, " PRIMARY KEY ("));
    PQF_TRY(pqf__sql_key_list(&s->sql, t, ""));
    /* statistics for the queries after it (a sample: 300 x the target rows) */
    PQF_TRY(pqf__buf_printf(&s->sql, "); ANALYZE "));
    PQF_TRY(pqf__sql_ident(&s->sql, t->table));
    PQF_TRY(exec_buf(s, err));
    pqf__crashpoint("apply.pg-rewrite-swapped");
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory");
    return rc;
}

/* Rewrite after the stage's load: a new table with the rows the stage
 * leaves alone and each key's latest row, its primary key built after the
 * load, swapped in for the old one, all in the commit's transaction. */
static pqf_err merge_rewrite(pg_sink *s, dedup dd, const char *pk, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    PQF_TRY(rewrite_create(s, err));
    PQF_TRY(rewrite_untouched(s, "pg_temp._pqfeed_stage", false, err));
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "INSERT INTO " REWRITE_TABLE " ("));
    PQF_TRY(pqf__sql_col_list(&s->sql, s->t));
    PQF_TRY(pqf__buf_printf(&s->sql, ") "));
    PQF_TRY(latest_rows(s, dd));
    PQF_TRY(exec_buf(s, err));
    PQF_TRY(rewrite_swap(s, pk, err));
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory");
    return rc;
}

/* ---- the direct rewrite: planned before the load -------------------------------------
 * A changes commit of one integer key that will rewrite the table (decided
 * from its row count before the load) has its keys and _seqs read first (the
 * engine's plan pass). Then the superseded changes are known before the rows
 * come, so the new table is loaded once: its untouched rows by one INSERT
 * ... SELECT anti-joined with the commit's distinct keys, each key's last
 * change (unless a delete) by binary COPY straight into it, not through the
 * stage. Memory: 16 bytes a row in the plan (the ikeys cap), 8 per
 * superseded change. */

/* Choose the direct rewrite for t and a commit of `rows` changes? It needs
 * binary COPY, one integer key, a rewrite by the ratio, and the table's
 * columns of exactly the types the stage would have (binary input is not
 * cast: an operator's retyped column sends the commit through the stage). */
static pqf_err pg_plan_begin(pqf_sink *base, const pqf__tdef *t, uint64_t rows, bool *want,
                             pqf_error *err)
{
    pg_sink *s = (pg_sink *)base;
    pqf_err rc = PQF_OK;
    PGresult *r = NULL;
    bool rewrite = false;
    const char *p[1] = {t->table};
    *want = false;
    plan_reset(s);
    keys_reset(s);
    s->t = t;
    if (!s->binary || s->no_direct || !binary_ok(t) || t->nkeys != 1 || t->cols[t->keys[0]].kind != PQF__C_INT ||
        rows < 2 || rows > STAGE_IKEYS_MAX)
        goto done;
    PQF_TRY(want_rewrite(s, rows, &rewrite, &s->pk, err));
    if (!rewrite)
        goto done;
    PQF_TRY(create_stage(s, t, err));
    PQF_TRY(exec_params(s,
                        "SELECT count(*) FROM pg_attribute s WHERE s.attrelid = "
                        "'pg_temp._pqfeed_stage'::regclass AND s.attnum > 0 AND s.attname NOT IN "
                        "('_pqfeed_op', '_pqfeed_seq') AND NOT EXISTS (SELECT FROM pg_attribute a "
                        "WHERE a.attrelid = (SELECT c.oid FROM pg_class c WHERE c.relname = $1 AND "
                        "c.relkind = 'r' AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE "
                        "nspname = current_schema())) AND a.attname = s.attname AND NOT "
                        "a.attisdropped AND a.atttypid = s.atttypid AND a.atttypmod = s.atttypmod)",
                        1, p, &r, err));
    if (strcmp(PQgetvalue(r, 0, 0), "0") != 0)
        goto done;
    s->planned = s->plan_ok = true;
    s->last_seq = INT64_MIN;
    *want = true;
done:
    PQclear(r);
    return rc;
}

/* One row of the plan pass: its key and _seq. A key that is not a plain
 * integer, a _seq not above the row before's (export writes changes in _seq
 * order; the load then walks the superseded list in step) or the cap turns
 * the plan off: the commit goes through the stage. */
static pqf_err pg_plan_row(pqf_sink *base, const pqf__val *vals, pqf_error *err)
{
    pg_sink *s = (pg_sink *)base;
    const pqf__val *k = &vals[0], *q = &vals[2];
    if (!s->plan_ok)
        return PQF_OK;
    s->nplan++;
    if (k->t != PQF__V_INT || k->s || q->t != PQF__V_INT || q->i <= s->last_seq) {
        s->plan_ok = false;
        return PQF_OK;
    }
    s->last_seq = q->i;
    if (!ikeys_push(s, k->i, q->i))
        s->plan_ok = false;
    return PQF_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* load_begin of a planned commit: the commit's distinct keys into
 * _pqfeed_keys, its superseded changes into gone, the new table with the
 * untouched rows, and the COPY into it started. */
static pqf_err direct_begin(pg_sink *s, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    const pqf__tdef *t = s->t;
    size_t nk = 0, ng = 0;
    qsort(s->ikeys, s->nikeys, sizeof *s->ikeys, cmp_kseq);
    for (size_t i = 0; i + 1 < s->nikeys; i++)
        ng += s->ikeys[i + 1].k == s->ikeys[i].k;
    if (ng && !(s->gone = malloc(ng * sizeof *s->gone)))
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(exec(s, "DROP TABLE IF EXISTS pg_temp._pqfeed_keys", err));
    PQF_TRY(exec(s, "CREATE TEMP TABLE _pqfeed_keys (k bigint) ON COMMIT DROP", err));
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "COPY pg_temp._pqfeed_keys FROM STDIN (FORMAT binary)"));
    PQF_TRY(start_copy(s, err));
    s->copy_binary = true;
    PQF_TRY(pqf__buf_append(&s->copy, copy_sig, sizeof copy_sig));
    for (size_t i = 0; i < s->nikeys; i++) {
        if (i + 1 < s->nikeys && s->ikeys[i + 1].k == s->ikeys[i].k) {
            s->gone[s->ngone++] = s->ikeys[i].seq;
            continue;
        }
        uint8_t one[2];
        put_be16(one, 1);
        PQF_TRY(pqf__buf_append(&s->copy, one, 2));
        PQF_TRY(bin_i64(&s->copy, s->ikeys[i].k));
        nk++;
        if (s->copy.len >= COPY_CHUNK)
            PQF_TRY(flush_copy(s, err));
    }
    PQF_TRY(end_copy(s, err));
    free(s->ikeys);
    s->ikeys = NULL;
    s->nikeys = s->capikeys = 0;
    if (s->ngone)
        qsort(s->gone, s->ngone, sizeof *s->gone, cmp_i64);
    PQF_TRY(exec(s, "ANALYZE pg_temp._pqfeed_keys", err));
    /* the anti-join's hash of the keys in memory (about 64 bytes a key),
     * work_mem raised for the transaction up to 256 MB, never lowered */
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql,
                            "SELECT set_config('work_mem', w || 'kB', true) FROM (SELECT "
                            "least(262144, ceil(%zu * 64 / 1024.0 / "
                            "current_setting('hash_mem_multiplier')::float8))::bigint AS w) AS x "
                            "WHERE pg_size_bytes(current_setting('work_mem')) < w * 1024",
                            nk));
    PQF_TRY(exec_buf(s, err));
    PQF_TRY(rewrite_create(s, err));
    PQF_TRY(rewrite_untouched(s, "pg_temp._pqfeed_keys", true, err));
    pqf__buf_reset(&s->sql);
    PQF_TRY(pqf__buf_printf(&s->sql, "COPY " REWRITE_TABLE " ("));
    PQF_TRY(pqf__sql_col_list(&s->sql, t));
    PQF_TRY(pqf__buf_printf(&s->sql, ") FROM STDIN (FORMAT binary)"));
    PQF_TRY(start_copy(s, err));
    s->copy_binary = true;
    PQF_TRY(pqf__buf_append(&s->copy, copy_sig, sizeof copy_sig));
    s->direct = true;
    s->gonepos = 0;
    s->last_seq = INT64_MIN;
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory");
    return rc;
}

static const pqf__sink_plan_vt pg_plan_vt = {pg_plan_begin, pg_plan_row};

static pqf_err pg_load_end(pqf_sink *base, pqf_error *err)
{
    pg_sink *s = (pg_sink *)base;
    pqf_err rc = PQF_OK;
    pqf__buf pk;
    pqf__buf_init(&pk, 1024);
    PQF_TRY(end_copy(s, err));
    if (s->direct) {
        if (s->nstage != s->nplan || s->gonepos != s->ngone)
            PQF_FAIL(err, PQF_ERR_CORRUPT,
                     "%s: table %s: %" PRIu64 " rows loaded, the plan pass read %" PRIu64,
                     s->base.name, s->t->table, s->nstage, s->nplan);
        PQF_TRY(pqf__buf_cstr(&s->pk));
        PQF_TRY(rewrite_swap(s, (const char *)s->pk.data, err));
        PQF_TRY(exec(s, "DROP TABLE pg_temp._pqfeed_stage, pg_temp._pqfeed_keys", err));
        plan_reset(s);
        goto done;
    }
    if (!s->changes)
        goto done;

    /* Each key at most once in the stage: its row is the key's last change,
     * so no DISTINCT (a hash aggregate) and no sort (of the whole stage) */
    dedup dd = DEDUP_SERVER;
    PQF_TRY(stage_dedup(s, &dd, err));
    bool rewrite = false;
    PQF_TRY(want_rewrite(s, s->nstage, &rewrite, &pk, err));
    if (rewrite)
        PQF_TRY(merge_rewrite(s, dd, (const char *)pk.data, err));
    else
        PQF_TRY(merge_in_place(s, dd, err));
    PQF_TRY(exec(s, "DROP TABLE pg_temp._pqfeed_stage", err));
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory");
    pqf__buf_free(&pk);
    return rc;
}

static pqf_err pg_put_checkpoint(pqf_sink *base, const pqf__ckpt_put *c, pqf_error *err)
{
    pg_sink *s = (pg_sink *)base;
    char seq[24], ver[16], rows[24];
    snprintf(seq, sizeof seq, "%" PRIu64, c->seq);
    snprintf(ver, sizeof ver, "%d", c->schema_version);
    snprintf(rows, sizeof rows, "%" PRIu64, c->rows);
    const char *p[8] = {c->table, seq, c->hash, ver, c->kind, rows, c->created_at, c->applied_at};
    return exec_params(s,
                       "INSERT INTO _pqfeed_checkpoint (table_name, seq, commit_hash, "
                       "schema_version, kind, rows, commit_created_at, applied_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                       8, p, NULL, err);
}

static pqf_err pg_commit(pqf_sink *base, pqf_error *err)
{
    pg_sink *s = (pg_sink *)base;
    pqf_err rc = exec(s, "COMMIT", err);
    s->in_tx = false;
    return rc;
}

static void pg_rollback(pqf_sink *base)
{
    pg_sink *s = (pg_sink *)base;
    if (s->copying) {
        PQputCopyEnd(s->conn, "aborted by pqfeed");
        PGresult *r;
        while ((r = PQgetResult(s->conn)) != NULL)
            PQclear(r);
        s->copying = false;
        s->copy_binary = false;
    }
    if (s->in_tx)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    s->in_tx = false;
    plan_reset(s);
}

static pqf_err pg_quarantine(pqf_sink *base, const pqf__quarantine_put *q, pqf_error *err)
{
    pg_sink *s = (pg_sink *)base;
    char seq[24];
    snprintf(seq, sizeof seq, "%" PRIu64, q->seq);
    const char *p[6] = {q->table, seq, q->key, q->expected_sha256, q->got_sha256, q->at};
    return exec_params(s,
                       "INSERT INTO _pqfeed_quarantine (table_name, seq, file_key, "
                       "expected_sha256, got_sha256, detected_at) VALUES ($1,$2,$3,$4,$5,$6) "
                       "ON CONFLICT DO NOTHING",
                       6, p, NULL, err);
}

static void pg_destroy(pqf_sink *base)
{
    pg_sink *s = (pg_sink *)base;
    if (s->conn) {
        pg_rollback(base);
        PQfinish(s->conn);
    }
    pqf__buf_free(&s->sql);
    pqf__buf_free(&s->copy);
    pqf__buf_free(&s->keybuf);
    pqf__buf_free(&s->pk);
    plan_reset(s);
    pqf__strset_free(&s->keys);
    free(s->ikeys);
    free(s);
}

static const pqf__sink_vt pg_vt = {
    "postgres",    pg_setup,      pg_checkpoint, pg_begin,          pg_sync_table,
    pg_load_begin, pg_load_row,   pg_load_end,   pg_put_checkpoint, pg_commit,
    pg_rollback,   pg_quarantine, pg_destroy,
};

pqf_err pqf__sink_pg_open(const char *conninfo, pqf_sink **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pg_sink *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    s->base.vt = &pg_vt;
    s->base.plan = &pg_plan_vt;
    snprintf(s->base.name, sizeof s->base.name, "postgres");
    pqf__buf_init(&s->sql, (size_t)64 << 20);
    pqf__buf_init(&s->copy, (size_t)COPY_CHUNK * 2 + ((size_t)256 << 20));
    pqf__buf_init(&s->keybuf, (size_t)1 << 20);
    pqf__buf_init(&s->pk, 1024);
    pqf__strset_init(&s->keys, STAGE_KEYS_LIMIT);
    /* the stage's COPY: binary unless PQF_PG_COPY=text */
    const char *mode = getenv("PQF_PG_COPY");
    if (mode && *mode && strcmp(mode, "text") != 0 && strcmp(mode, "binary") != 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG,
                 "postgres: PQF_PG_COPY='%.20s': expected 'binary' or 'text'", mode);
    s->binary = !mode || strcmp(mode, "text") != 0;
    /* the direct rewrite: on unless PQF_PG_DIRECT=off */
    const char *direct = getenv("PQF_PG_DIRECT");
    if (direct && *direct && strcmp(direct, "on") != 0 && strcmp(direct, "off") != 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "postgres: PQF_PG_DIRECT='%.20s': expected 'on' or 'off'",
                 direct);
    s->no_direct = direct && strcmp(direct, "off") == 0;
    s->conn = PQconnectdb(conninfo);
    if (!s->conn)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    if (PQstatus(s->conn) != CONNECTION_OK) {
        /* libpq's message names host and port, never the password. */
        PQF_FAIL(err, PQF_ERR_NET, "postgres: cannot connect: %s", pg_msg(s, NULL));
    }
    const char *host = PQhost(s->conn);
    snprintf(s->base.name, sizeof s->base.name, "postgres %s/%s", host ? host : "", PQdb(s->conn));
    /* The stage table is a temporary one: its pages live in temp_buffers
     * (8 MB by default, then spilled to files); work_mem bounds the merge's
     * sort and hash. Both per session, set before the first temp table. */
    PQF_TRY(exec(s,
                 "SET client_min_messages = warning; SET temp_buffers = '256MB'; "
                 "SET work_mem = '128MB'",
                 err));
    *out = &s->base;
    s = NULL;
done:
    if (s)
        pg_destroy(&s->base);
    return rc;
}
