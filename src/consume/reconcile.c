/* pqfeed reconcile: per table and bucket, row counts and an order-independent
 * hash of the rows of two sources, and the keys that differ. See
 * include/pqfeed/reconcile.h.
 *
 * Each side is loaded into a hash map of key -> (row hash, bucket, order),
 * keeping per key the latest version (feed: highest _seq; NDJSON: greatest
 * watermark; SQL: the row). The maps are compared; for the listed changed
 * keys both sources are read a second time to find the first differing
 * column, so no row is held in memory beyond its hash. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fsutil.h"
#include "base/hash.h"
#include "consume/sink.h"
#include "pqfeed/feed.h"
#include "pqfeed/reader.h"
#include "pqfeed/reconcile.h"
#include "source/json.h"

#define FEED_FILE_LIMIT ((size_t)1 << 30)
#define SCHEMA_LIMIT ((size_t)16 << 20)
#define LINE_LIMIT ((size_t)64 << 20)
#define ARRAY_PAGE_LIMIT ((size_t)256 << 20)
#define US_PER_DAY INT64_C(86400000000)
#define US_PER_HOUR INT64_C(3600000000)

void pqf_reconcile_opts_init(pqf_reconcile_opts *o)
{
    memset(o, 0, sizeof *o);
    o->delete_column = "deleted";
    o->max_diffs = 20;
    o->max_keys = UINT64_C(4) << 20;
}

/* ---- column kinds and values ---------------------------------------------------------- */

typedef enum kind {
    K_UNKNOWN, /* the source does not say (NDJSON) */
    K_DYN,     /* render by the value's own type */
    K_INT,
    K_DOUBLE,
    K_BOOL,
    K_DECIMAL,
    K_TEXT,
    K_UUID,
    K_DATE,
    K_TIME,
    K_TIMESTAMP,
    K_JSON,
    K_BINARY
} kind;

typedef struct ctype {
    kind k;
    int scale;   /* K_DECIMAL; -1 unknown */
    bool strong; /* the source's type is authoritative */
} ctype;

/* One value as a source hands it over. */
typedef enum { G_NULL, G_JSON, G_INT, G_DBL, G_TEXT, G_BLOB } gtype;
typedef struct gval {
    gtype t;
    const pqf__json *j;
    int64_t i;
    double d;
    const char *s;
    size_t n;
} gval;

/* ---- canonical text ------------------------------------------------------------------ */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, size_t *pos, int count, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < count; i++) {
        if (*pos >= n || !isdigit((unsigned char)s[*pos]))
            return -1;
        v = v * 10 + (s[(*pos)++] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DD" at s[*pos]: days since the epoch. */
static int parse_date_at(const char *s, size_t n, size_t *pos, int64_t *days)
{
    int64_t y, m, d;
    bool neg = *pos < n && s[*pos] == '-';
    if (neg)
        (*pos)++;
    if (digits(s, n, pos, 4, &y) || *pos >= n || s[(*pos)++] != '-' || digits(s, n, pos, 2, &m) ||
        *pos >= n || s[(*pos)++] != '-' || digits(s, n, pos, 2, &d) || m < 1 || m > 12 || d < 1 ||
        d > 31)
        return -1;
    *days = days_from_civil(neg ? -y : y, (int)m, (int)d);
    return 0;
}

/* "HH:MM[:SS[.f]]" at s[*pos]: microseconds. */
static int parse_time_at(const char *s, size_t n, size_t *pos, int64_t *us)
{
    int64_t h, mi, sec = 0, frac = 0;
    if (digits(s, n, pos, 2, &h) || *pos >= n || s[(*pos)++] != ':' || digits(s, n, pos, 2, &mi))
        return -1;
    if (*pos < n && s[*pos] == ':') {
        (*pos)++;
        if (digits(s, n, pos, 2, &sec))
            return -1;
        if (*pos < n && (s[*pos] == '.' || s[*pos] == ',')) {
            (*pos)++;
            int nd = 0;
            while (*pos < n && isdigit((unsigned char)s[*pos])) {
                if (nd < 6)
                    frac = frac * 10 + (s[*pos] - '0');
                nd++;
                (*pos)++;
            }
            if (nd == 0)
                return -1;
            for (; nd < 6; nd++)
                frac *= 10;
        }
    }
    if (h > 24 || mi > 59 || sec > 60)
        return -1;
    *us = ((h * 60 + mi) * 60 + sec) * 1000000 + frac;
    return 0;
}

/* ISO 8601 / PostgreSQL timestamp text: epoch microseconds UTC (no zone: UTC). */
static int parse_ts(const char *s, size_t n, int64_t *us)
{
    size_t pos = 0;
    int64_t days, t = 0;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (parse_date_at(s, n, &pos, &days))
        return -1;
    if (pos < n && (s[pos] == 'T' || s[pos] == 't' || s[pos] == ' ')) {
        pos++;
        if (parse_time_at(s, n, &pos, &t))
            return -1;
    }
    int64_t off = 0;
    if (pos < n && (s[pos] == 'Z' || s[pos] == 'z')) {
        pos++;
    } else if (pos < n && (s[pos] == '+' || s[pos] == '-')) {
        int sign = s[pos++] == '-' ? -1 : 1;
        int64_t oh, om = 0;
        if (digits(s, n, &pos, 2, &oh))
            return -1;
        if (pos < n && s[pos] == ':')
            pos++;
        if (pos < n && digits(s, n, &pos, 2, &om))
            return -1;
        off = sign * (oh * 60 + om) * 60 * 1000000;
    }
    if (pos != n)
        return -1;
    *us = days * US_PER_DAY + t - off;
    return 0;
}

static bool is_plain_number(const char *s, size_t n)
{
    size_t i = 0, nd = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    for (; i < n && isdigit((unsigned char)s[i]); i++)
        nd++;
    if (i < n && s[i] == '.')
        for (i++; i < n && isdigit((unsigned char)s[i]); i++)
            nd++;
    return nd > 0 && i == n;
}

static pqf_err put_double(pqf__buf *b, double d)
{
    char tmp[40];
    if (isnan(d))
        return pqf__buf_printf(b, "nan");
    if (isinf(d))
        return pqf__buf_printf(b, d < 0 ? "-inf" : "inf");
    if (d == 0)
        return pqf__buf_printf(b, "0");
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*g", p, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    return pqf__buf_printf(b, "%s", tmp);
}

/* A decimal number's text without sign noise, leading zeros or trailing
 * fraction zeros ("+011.2200" -> "11.22", "-0.0" -> "0"). Exponent forms go
 * through a double. */
static pqf_err put_number(pqf__buf *b, const char *s, size_t n)
{
    pqf_err rc = PQF_OK;
    if (!is_plain_number(s, n)) {
        char tmp[128];
        if (n == 0 || n >= sizeof tmp)
            return pqf__buf_append(b, s, n);
        memcpy(tmp, s, n);
        tmp[n] = 0;
        char *end;
        double d = strtod(tmp, &end);
        if (*end)
            return pqf__buf_append(b, s, n);
        return put_double(b, d);
    }
    bool neg = s[0] == '-';
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    while (i + 1 < n && s[i] == '0' && s[i + 1] != '.')
        i++;
    const char *dot = memchr(s + i, '.', n - i);
    size_t end = n;
    if (dot) {
        while (end > (size_t)(dot - s) + 1 && s[end - 1] == '0')
            end--;
        if (end == (size_t)(dot - s) + 1)
            end--;
    }
    bool zero = true;
    for (size_t k = i; k < end; k++)
        if (s[k] != '0' && s[k] != '.')
            zero = false;
    if (zero)
        return pqf__buf_append_byte(b, '0');
    if (neg)
        PQF_TRY(pqf__buf_append_byte(b, '-'));
    if (s[i] == '.')
        PQF_TRY(pqf__buf_append_byte(b, '0'));
    PQF_TRY(pqf__buf_append(b, s + i, end - i));
done:
    return rc;
}

static int cmp_member(const void *x, const void *y)
{
    const pqf__json *a = *(const pqf__json *const *)x, *c = *(const pqf__json *const *)y;
    size_t n = PQF_MIN(a->key_len, c->key_len);
    int r = memcmp(a->key, c->key, n);
    return r ? r : (a->key_len > c->key_len) - (a->key_len < c->key_len);
}

/* Canonical JSON: compact, object keys sorted, numbers as put_number. */
static pqf_err put_json(pqf__buf *b, const pqf__json *v)
{
    pqf_err rc = PQF_OK;
    const pqf__json **kids = NULL;
    switch (v->type) {
    case PQF__JNULL:
        return pqf__buf_printf(b, "null");
    case PQF__JBOOL:
        return pqf__buf_printf(b, v->b ? "true" : "false");
    case PQF__JNUM:
        return put_number(b, v->str, v->len);
    case PQF__JSTR:
        return pqf__json_write_str(b, v->str, v->len);
    case PQF__JARR:
        PQF_TRY(pqf__buf_append_byte(b, '['));
        for (const pqf__json *c = v->child; c; c = c->next) {
            if (c != v->child)
                PQF_TRY(pqf__buf_append_byte(b, ','));
            PQF_TRY(put_json(b, c));
        }
        PQF_TRY(pqf__buf_append_byte(b, ']'));
        break;
    case PQF__JOBJ: {
        size_t n = 0;
        kids = malloc((v->len + 1) * sizeof *kids);
        if (!kids)
            return PQF_ERR_NOMEM;
        for (const pqf__json *c = v->child; c; c = c->next)
            kids[n++] = c;
        qsort(kids, n, sizeof *kids, cmp_member);
        PQF_TRY(pqf__buf_append_byte(b, '{'));
        for (size_t i = 0; i < n; i++) {
            if (i)
                PQF_TRY(pqf__buf_append_byte(b, ','));
            PQF_TRY(pqf__json_write_str(b, kids[i]->key, kids[i]->key_len));
            PQF_TRY(pqf__buf_append_byte(b, ':'));
            PQF_TRY(put_json(b, kids[i]));
        }
        PQF_TRY(pqf__buf_append_byte(b, '}'));
        break;
    }
    }
done:
    free(kids);
    return rc;
}

/* JSON text (a string that holds JSON) in canonical form; -1 if it does not parse. */
static int put_json_text(pqf__buf *b, pqf__json_doc *doc, const char *s, size_t n, pqf_err *rc)
{
    pqf__json *root = NULL;
    pqf__json_doc_reset(doc);
    if (pqf__json_parse(doc, s, n, &root) != PQF_OK)
        return -1;
    *rc = put_json(b, root);
    return 0;
}

static bool looks_like_container(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    return i < n && (s[i] == '{' || s[i] == '[');
}

/* base64 text -> lower-case hex of the bytes; -1 when not base64. */
static int put_b64_hex(pqf__buf *b, const char *s, size_t n, pqf_err *rc)
{
    pqf__buf raw;
    pqf__buf_init(&raw, n);
    pqf_err e = pqf__buf_append_base64(&raw, s, n);
    if (e == PQF_OK)
        e = pqf__buf_append_hex(b, raw.data, raw.len);
    pqf__buf_free(&raw);
    if (e == PQF_ERR_VALUE)
        return -1;
    *rc = e;
    return 0;
}

/* The value's text, whatever it is (for the fallbacks). */
static pqf_err put_raw(pqf__buf *b, const gval *v)
{
    switch (v->t) {
    case G_JSON:
        return v->j->type == PQF__JSTR ? pqf__buf_append(b, v->j->str, v->j->len)
                                       : put_json(b, v->j);
    case G_INT:
        return pqf__buf_printf(b, "%" PRId64, v->i);
    case G_DBL:
        return put_double(b, v->d);
    case G_BLOB:
        return pqf__buf_append_hex(b, (const uint8_t *)v->s, v->n);
    case G_TEXT:
        return pqf__buf_append(b, v->s, v->n);
    default:
        return PQF_OK;
    }
}

/* Text of a scalar (a JSON string or number, or SQL text) for parsing; NULL otherwise. */
static const char *scalar_text(const gval *v, size_t *n)
{
    if (v->t == G_TEXT) {
        *n = v->n;
        return v->s;
    }
    if (v->t == G_JSON && (v->j->type == PQF__JSTR || v->j->type == PQF__JNUM)) {
        *n = v->j->len;
        return v->j->str;
    }
    return NULL;
}

typedef struct canon_ctx {
    pqf__json_doc doc; /* for JSON held in text */
} canon_ctx;

/* Canonical text of a non-NULL value under type t. Values that do not fit
 * the type are rendered as "\x01" + their own text: they then differ from
 * every well-formed value, so they show up as differences. */
static pqf_err canon(canon_ctx *cx, const ctype *t, const gval *v, pqf__buf *b)
{
    pqf_err rc = PQF_OK;
    size_t n = 0;
    const char *s = scalar_text(v, &n);
    const pqf__json *j = v->t == G_JSON ? v->j : NULL;
    char tmp[64];
    switch (t->k) {
    case K_INT:
        if (v->t == G_INT)
            return pqf__buf_printf(b, "%" PRId64, v->i);
        if (v->t == G_DBL && v->d == floor(v->d) && fabs(v->d) < 9e15)
            return pqf__buf_printf(b, "%.0f", v->d);
        if (s && is_plain_number(s, n))
            return put_number(b, s, n);
        break;
    case K_DOUBLE:
        if (v->t == G_DBL)
            return put_double(b, v->d);
        if (v->t == G_INT)
            return put_double(b, (double)v->i);
        if (s && n < sizeof tmp) {
            memcpy(tmp, s, n);
            tmp[n] = 0;
            char *end;
            double d = strtod(tmp, &end);
            if (!*end && n)
                return put_double(b, d);
        }
        break;
    case K_BOOL: {
        int val = -1;
        if (j && j->type == PQF__JBOOL)
            val = j->b;
        else if (v->t == G_INT && (v->i == 0 || v->i == 1))
            val = (int)v->i;
        else if (s &&
                 ((n == 1 && (s[0] == 't' || s[0] == '1')) || (n == 4 && !memcmp(s, "true", 4))))
            val = 1;
        else if (s &&
                 ((n == 1 && (s[0] == 'f' || s[0] == '0')) || (n == 5 && !memcmp(s, "false", 5))))
            val = 0;
        if (val >= 0)
            return pqf__buf_printf(b, val ? "true" : "false");
        break;
    }
    case K_DECIMAL:
        if (v->t == G_INT)
            return pqf__buf_printf(b, "%" PRId64, v->i);
        if (v->t == G_DBL) {
            /* SQLite keeps DECIMAL as REAL: round at the column's scale. */
            char num[400];
            if (t->scale >= 0 && t->scale <= 38 && fabs(v->d) < 1e300) {
                snprintf(num, sizeof num, "%.*f", t->scale, v->d);
                return put_number(b, num, strlen(num));
            }
            return put_double(b, v->d);
        }
        if (s && (j == NULL || j->type == PQF__JNUM || is_plain_number(s, n)))
            return put_number(b, s, n);
        break;
    case K_TEXT:
        if (s)
            return pqf__buf_append(b, s, n);
        return put_raw(b, v);
    case K_UUID:
        if (s) {
            for (size_t i = 0; i < n; i++)
                PQF_TRY(pqf__buf_append_byte(b, (uint8_t)tolower((unsigned char)s[i])));
            return PQF_OK;
        }
        break;
    case K_DATE: {
        int64_t days, us;
        size_t pos = 0;
        if (v->t == G_INT)
            return pqf__buf_printf(b, "%" PRId64, v->i);
        if (s && parse_date_at(s, n, &pos, &days) == 0 && pos == n)
            return pqf__buf_printf(b, "%" PRId64, days);
        if (s && parse_ts(s, n, &us) == 0)
            return pqf__buf_printf(
                b, "%" PRId64, us >= 0 ? us / US_PER_DAY : -((-us + US_PER_DAY - 1) / US_PER_DAY));
        break;
    }
    case K_TIME: {
        int64_t us;
        size_t pos = 0;
        if (v->t == G_INT)
            return pqf__buf_printf(b, "%" PRId64, v->i);
        if (s && parse_time_at(s, n, &pos, &us) == 0 && pos == n)
            return pqf__buf_printf(b, "%" PRId64, us);
        break;
    }
    case K_TIMESTAMP: {
        int64_t us;
        if (v->t == G_INT)
            return pqf__buf_printf(b, "%" PRId64, v->i);
        if (s && j && j->type == PQF__JNUM && is_plain_number(s, n))
            return put_number(b, s, n);
        if (s && parse_ts(s, n, &us) == 0)
            return pqf__buf_printf(b, "%" PRId64, us);
        break;
    }
    case K_JSON:
        if (j && j->type != PQF__JSTR)
            return put_json(b, j);
        if (s && put_json_text(b, &cx->doc, s, n, &rc) == 0)
            return rc;
        break;
    case K_BINARY:
        if (v->t == G_BLOB)
            return pqf__buf_append_hex(b, (const uint8_t *)v->s, v->n);
        if (v->t == G_TEXT && n >= 2 && s[0] == '\\' && s[1] == 'x') { /* PostgreSQL bytea */
            for (size_t i = 2; i < n; i++)
                PQF_TRY(pqf__buf_append_byte(b, (uint8_t)tolower((unsigned char)s[i])));
            return PQF_OK;
        }
        if (s && put_b64_hex(b, s, n, &rc) == 0)
            return rc;
        break;
    case K_UNKNOWN:
    case K_DYN:
        if (j && j->type == PQF__JNUM)
            return put_number(b, s, n);
        if (j && j->type != PQF__JSTR)
            return put_json(b, j);
        if (s && looks_like_container(s, n) && put_json_text(b, &cx->doc, s, n, &rc) == 0)
            return rc;
        return put_raw(b, v);
    }
    PQF_TRY(pqf__buf_append_byte(b, 1));
    PQF_TRY(put_raw(b, v));
done:
    return rc;
}

/* ---- sources --------------------------------------------------------------------------- */

typedef enum { SRC_FEED, SRC_SQLITE, SRC_PG, SRC_NDJSON } src_type;

typedef struct src {
    src_type type;
    const char *spec;
    char label[600]; /* "feed file:///x", "sqlite x.db", ... */
    pqf_store *store;
    pqf_feed *feed;
    sqlite3 *db;
    PGconn *pg;
    char **files;
    size_t nfiles;
    /* the current table */
    char **cols;
    ctype *types;
    size_t ncols;
    char **keys;
    size_t nkeys;
} src;

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void src_clear_table(src *s)
{
    strv_free(s->cols, s->ncols);
    strv_free(s->keys, s->nkeys);
    free(s->types);
    s->cols = s->keys = NULL;
    s->types = NULL;
    s->ncols = s->nkeys = 0;
}

static void src_free(src *s)
{
    src_clear_table(s);
    pqf_feed_free(s->feed);
    pqf_store_free(s->store);
    sqlite3_close(s->db);
    if (s->pg)
        PQfinish(s->pg);
    strv_free(s->files, s->nfiles);
    memset(s, 0, sizeof *s);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_ndjson_name(const char *p)
{
    return ends_with(p, ".ndjson") || ends_with(p, ".jsonl") || ends_with(p, ".json");
}

static pqf_err add_file(src *s, const char *path, size_t *cap, pqf_error *err)
{
    if (!pqf__grow(&s->files, s->nfiles, cap, sizeof *s->files, 16))
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    if (!(s->files[s->nfiles] = strdup(path)))
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    s->nfiles++;
    return PQF_OK;
}

/* Files of an NDJSON source: path, or the .ndjson/.jsonl/.json files under it. */
static pqf_err collect(src *s, const char *path, size_t *cap, int depth, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    struct stat st;
    DIR *d = NULL;
    char *sub = NULL;
    if (stat(path, &st) != 0)
        return pqf__errno(err, "stat", path);
    if (!S_ISDIR(st.st_mode))
        return add_file(s, path, cap, err);
    if (depth > 32)
        PQF_FAIL(err, PQF_ERR_LIMIT, "%s: folders nested too deep", path);
    if (!(d = opendir(path)))
        PQF_TRY(pqf__errno(err, "opendir", path));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        free(sub);
        size_t n = strlen(path) + strlen(e->d_name) + 2;
        if (!(sub = malloc(n)))
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        snprintf(sub, n, "%s%s%s", path, pqf__path_sep(path), e->d_name);
        if (stat(sub, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            PQF_TRY(collect(s, sub, cap, depth + 1, err));
        else if (is_ndjson_name(e->d_name))
            PQF_TRY(add_file(s, sub, cap, err));
    }
done:
    free(sub);
    if (d)
        closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A local directory holds a feed when it has _feed.json or a <table>/_log. */
static bool dir_is_feed(const char *path)
{
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s%s_feed.json", path, pqf__path_sep(path));
    if (stat(p, &st) == 0)
        return true;
    DIR *d = opendir(path);
    bool yes = false;
    struct dirent *e;
    while (d && !yes && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s%s%s/_log", path, pqf__path_sep(path), e->d_name);
        yes = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (d)
        closedir(d);
    return yes;
}

static pqf_err src_open(src *s, const char *spec, const pqf_reconcile_opts *o, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    size_t cap = 0;
    glob_t g;
    bool globbed = false;
    memset(s, 0, sizeof *s);
    s->spec = spec;
    if (strncmp(spec, "postgres://", 11) == 0 || strncmp(spec, "postgresql://", 13) == 0 ||
        strncmp(spec, "postgres:", 9) == 0) {
        const char *ci = strncmp(spec, "postgres:", 9) == 0 && spec[9] != '/' ? spec + 9 : spec;
        s->type = SRC_PG;
        s->pg = PQconnectdb(ci);
        if (!s->pg || PQstatus(s->pg) != CONNECTION_OK) {
            const char *m = s->pg ? PQerrorMessage(s->pg) : "out of memory";
            char msg[300];
            snprintf(msg, sizeof msg, "%s", m);
            msg[strcspn(msg, "\n")] = 0;
            PQF_FAIL(err, PQF_ERR_NET, "PostgreSQL %s: %s",
                     s->pg && PQdb(s->pg) ? PQdb(s->pg) : "?", msg);
        }
        snprintf(s->label, sizeof s->label, "postgres %s@%s", PQdb(s->pg),
                 PQhost(s->pg) ? PQhost(s->pg) : "local");
        PGresult *r = PQexec(s->pg, "SET TimeZone = 'UTC'; SET extra_float_digits = 3; "
                                    "SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex'");
        ExecStatusType est = PQresultStatus(r);
        PQclear(r);
        if (est != PGRES_COMMAND_OK)
            PQF_FAIL(err, PQF_ERR_REMOTE, "%s: %s", s->label, PQerrorMessage(s->pg));
        goto done;
    }
    if (strncmp(spec, "sqlite:", 7) == 0 || ends_with(spec, ".db") || ends_with(spec, ".sqlite") ||
        ends_with(spec, ".sqlite3")) {
        const char *path = strncmp(spec, "sqlite:", 7) == 0 ? spec + 7 : spec;
        s->type = SRC_SQLITE;
        snprintf(s->label, sizeof s->label, "sqlite %s", path);
        if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
            PQF_FAIL(err, PQF_ERR_IO, "%s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "cannot open");
        sqlite3_busy_timeout(s->db, 10000);
        goto done;
    }
    const char *path = spec;
    bool ndjson = false;
    if (strncmp(spec, "ndjson:", 7) == 0) {
        path = spec + 7;
        ndjson = true;
    } else if (strncmp(spec, "feed:", 5) == 0) {
        path = spec + 5;
    } else if (strpbrk(spec, "*?[") && strncmp(spec, "s3://", 5) != 0) {
        ndjson = true;
    } else if (strncmp(spec, "s3://", 5) != 0 && strncmp(spec, "file://", 7) != 0) {
        struct stat st;
        if (stat(spec, &st) == 0 && !S_ISDIR(st.st_mode))
            ndjson = true;
        else if (stat(spec, &st) == 0 && !dir_is_feed(spec))
            ndjson = true;
    }
    if (!ndjson) {
        s->type = SRC_FEED;
        PQF_TRY(pqf_store_open(path, o->store_opt, &s->store, err));
        PQF_TRY(pqf_feed_open(s->store, &s->feed, err));
        snprintf(s->label, sizeof s->label, "feed %s", pqf_store_uri(s->store));
        goto done;
    }
    s->type = SRC_NDJSON;
    snprintf(s->label, sizeof s->label, "ndjson %s", path);
    if (strpbrk(path, "*?[")) {
        int gr = glob(path, 0, NULL, &g);
        globbed = true;
        if (gr == GLOB_NOMATCH)
            PQF_FAIL(err, PQF_ERR_NOT_FOUND, "%s: no file matches", path);
        if (gr != 0)
            PQF_FAIL(err, PQF_ERR_IO, "%s: glob failed", path);
        for (size_t i = 0; i < g.gl_pathc; i++)
            PQF_TRY(collect(s, g.gl_pathv[i], &cap, 0, err));
    } else {
        PQF_TRY(collect(s, path, &cap, 0, err));
    }
    if (s->nfiles == 0)
        PQF_FAIL(err, PQF_ERR_NOT_FOUND, "%s: no .ndjson, .jsonl or .json file", path);
    qsort(s->files, s->nfiles, sizeof *s->files, cmp_str);
done:
    if (globbed)
        globfree(&g);
    return rc;
}

static pqf_err push_col(src *s, const char *name, ctype t, pqf_error *err)
{
    char **c = realloc(s->cols, (s->ncols + 1) * sizeof *c);
    if (c)
        s->cols = c;
    ctype *ty = realloc(s->types, (s->ncols + 1) * sizeof *ty);
    if (ty)
        s->types = ty;
    if (!c || !ty || !(s->cols[s->ncols] = strdup(name)))
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    s->types[s->ncols++] = t;
    return PQF_OK;
}

static pqf_err push_key(src *s, const char *name, pqf_error *err)
{
    char **k = realloc(s->keys, (s->nkeys + 1) * sizeof *k);
    if (!k)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    s->keys = k;
    if (!(s->keys[s->nkeys] = strdup(name)))
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    s->nkeys++;
    return PQF_OK;
}

static ctype type_of_ckind(const pqf__col *c)
{
    ctype t = {K_TEXT, -1, true};
    switch (c->kind) {
    case PQF__C_INT:
    case PQF__C_UINT64:
        t.k = K_INT;
        break;
    case PQF__C_FLOAT:
    case PQF__C_DOUBLE:
        t.k = K_DOUBLE;
        break;
    case PQF__C_BOOL:
        t.k = K_BOOL;
        break;
    case PQF__C_DECIMAL:
        t.k = K_DECIMAL;
        t.scale = c->scale;
        break;
    case PQF__C_UUID:
        t.k = K_UUID;
        break;
    case PQF__C_DATE:
        t.k = K_DATE;
        break;
    case PQF__C_TIME:
        t.k = K_TIME;
        break;
    case PQF__C_TIMESTAMP:
        t.k = K_TIMESTAMP;
        break;
    case PQF__C_JSON:
    case PQF__C_NESTED:
        t.k = K_JSON;
        break;
    case PQF__C_BINARY:
        t.k = K_BINARY;
        break;
    default:
        break;
    }
    return t;
}

/* A declared SQL type (SQLite decl or PostgreSQL format_type) as a kind. */
static ctype type_of_decl(const char *decl)
{
    ctype t = {K_TEXT, -1, true};
    char low[128];
    size_t n = 0;
    for (; decl && decl[n] && n + 1 < sizeof low; n++)
        low[n] = (char)tolower((unsigned char)decl[n]);
    low[n] = 0;
    const char *paren = strchr(low, '(');
    if (strstr(low, "timestamp"))
        t.k = K_TIMESTAMP;
    else if (strncmp(low, "date", 4) == 0)
        t.k = K_DATE;
    else if (strncmp(low, "time", 4) == 0)
        t.k = K_TIME;
    else if (strncmp(low, "bool", 4) == 0)
        t.k = K_BOOL;
    else if (strncmp(low, "decimal", 7) == 0 || strncmp(low, "numeric", 7) == 0) {
        t.k = K_DECIMAL;
        const char *comma = paren ? strchr(paren, ',') : NULL;
        t.scale = comma ? atoi(comma + 1) : paren ? 0 : -1;
        if (strcmp(low, "numeric(20,0)") == 0)
            t.k = K_INT;
    } else if (strstr(low, "int"))
        t.k = K_INT;
    else if (strstr(low, "real") || strstr(low, "double") || strstr(low, "float"))
        t.k = K_DOUBLE;
    else if (strncmp(low, "json", 4) == 0)
        t.k = K_JSON;
    else if (strstr(low, "blob") || strncmp(low, "bytea", 5) == 0)
        t.k = K_BINARY;
    else if (strcmp(low, "uuid") == 0)
        t.k = K_UUID;
    else
        t.strong = false; /* TEXT: may hold JSON (the sinks store nested values so) */
    return t;
}

static pqf_err describe_feed(src *s, const char *table, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_commit *c = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    pqf__tdef *t = NULL;
    uint64_t head = 0;
    char key[PQF_TABLE_NAME_MAX + 40];
    if (!pqf_table_name_ok(table))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "'%s' is not a valid table name", table);
    PQF_TRY(pqf_feed_head(s->feed, table, &head, err));
    if (head == 0)
        PQF_FAIL(err, PQF_ERR_NOT_FOUND, "%s: no table '%s' (no commits)", s->label, table);
    PQF_TRY(pqf_feed_read_commit(s->feed, table, head, &c, err));
    snprintf(key, sizeof key, "%s/_schema/%06d.json", table, c->schema_version);
    PQF_TRY(pqf_store_get_bytes(s->store, key, NULL, SCHEMA_LIMIT, &data, &len, err));
    PQF_TRY(pqf__tdef_from_schema_json(table, c->schema_version, (const char *)data, len, key, &t,
                                       err));
    for (size_t i = 0; i < t->ncols; i++)
        PQF_TRY(push_col(s, t->cols[i].name, type_of_ckind(&t->cols[i]), err));
    for (size_t k = 0; k < t->nkeys; k++)
        PQF_TRY(push_key(s, t->cols[t->keys[k]].name, err));
done:
    pqf__tdef_free(t);
    free(data);
    pqf_commit_free(c);
    return rc;
}

static pqf_err describe_sqlite(src *s, const char *table, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    sqlite3_stmt *st = NULL;
    int pk[PQF__MAX_COLS + 1];
    size_t npk = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT name, type, pk FROM pragma_table_info(?1)", -1, &st,
                           NULL) != SQLITE_OK)
        PQF_FAIL(err, PQF_ERR_IO, "%s: %s", s->label, sqlite3_errmsg(s->db));
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *nm = (const char *)sqlite3_column_text(st, 0);
        const char *decl = (const char *)sqlite3_column_text(st, 1);
        if (s->ncols >= PQF__MAX_COLS)
            PQF_FAIL(err, PQF_ERR_LIMIT, "%s: table %s: too many columns", s->label, table);
        PQF_TRY(push_col(s, nm ? nm : "", type_of_decl(decl ? decl : ""), err));
        int p = sqlite3_column_int(st, 2);
        if (p > 0 && p <= PQF__MAX_COLS) {
            pk[npk++] = p * 4096 + (int)(s->ncols - 1);
        }
    }
    if (r != SQLITE_DONE)
        PQF_FAIL(err, PQF_ERR_IO, "%s: %s", s->label, sqlite3_errmsg(s->db));
    if (s->ncols == 0)
        PQF_FAIL(err, PQF_ERR_NOT_FOUND, "%s: no table '%s'", s->label, table);
    /* primary key columns in key order (pk is the 1-based position in the key) */
    for (size_t i = 1; i < npk; i++)
        for (size_t j = i; j > 0 && pk[j - 1] > pk[j]; j--) {
            int x = pk[j];
            pk[j] = pk[j - 1];
            pk[j - 1] = x;
        }
    for (size_t i = 0; i < npk; i++)
        PQF_TRY(push_key(s, s->cols[pk[i] % 4096], err));
done:
    sqlite3_finalize(st);
    return rc;
}

static pqf_err pg_query(src *s, const char *sql, const char *param, PGresult **out, pqf_error *err)
{
    const char *p[1] = {param};
    PGresult *r = PQexecParams(s->pg, sql, param ? 1 : 0, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
        msg[strcspn(msg, "\n")] = 0;
        PQclear(r);
        return pqf_error_set(err, PQF_ERR_REMOTE, "%s: %s", s->label, msg);
    }
    *out = r;
    return PQF_OK;
}

static pqf_err describe_pg(src *s, const char *table, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    PGresult *r = NULL;
    pqf__buf q;
    pqf__buf_init(&q, 4096);
    if (pqf__sql_ident(&q, table) != PQF_OK || pqf__buf_cstr(&q) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_LIMIT, "table name too long");
    PQF_TRY(pg_query(s,
                     "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                     "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
                     "ORDER BY a.attnum",
                     (const char *)q.data, &r, err));
    for (int i = 0; i < PQntuples(r); i++)
        PQF_TRY(push_col(s, PQgetvalue(r, i, 0), type_of_decl(PQgetvalue(r, i, 1)), err));
    if (s->ncols == 0)
        PQF_FAIL(err, PQF_ERR_NOT_FOUND, "%s: no table '%s'", s->label, table);
    PQclear(r);
    r = NULL;
    PQF_TRY(pg_query(s,
                     "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                     "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass($1) "
                     "AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
                     (const char *)q.data, &r, err));
    for (int i = 0; i < PQntuples(r); i++)
        PQF_TRY(push_key(s, PQgetvalue(r, i, 0), err));
done:
    PQclear(r);
    pqf__buf_free(&q);
    return rc;
}

/* Reads NDJSON records: one object per line, or a page holding one array. */
typedef struct ndreader {
    FILE *f;
    const char *path;
    char *line;
    size_t cap;
    uint64_t lineno;
    bool array_mode;
    pqf__json_doc doc;
    pqf__json *arr;           /* array mode: the page */
    const pqf__json *next_el; /* array mode: the next element */
} ndreader;

static pqf_err nd_open(ndreader *r, const char *path, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    memset(r, 0, sizeof *r);
    pqf__json_doc_init(&r->doc, NULL);
    r->path = path;
    if (!(r->f = fopen(path, "rb")))
        return pqf__errno(err, "open", path);
    int c;
    while ((c = getc(r->f)) != EOF && isspace(c))
        ;
    if (c == '[') {
        /* an API page: one array, read whole */
        pqf__buf all;
        pqf__buf_init(&all, ARRAY_PAGE_LIMIT);
        rewind(r->f);
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, r->f)) > 0 && rc == PQF_OK)
            rc = pqf__buf_append(&all, chunk, n);
        if (rc == PQF_OK &&
            pqf__json_parse(&r->doc, (const char *)all.data, all.len, &r->arr) != PQF_OK)
            rc = pqf_error_set(err, PQF_ERR_PARSE, "%s: %s", path, r->doc.err.msg);
        else if (rc != PQF_OK)
            pqf_error_set(err, rc, "%s: page larger than %zu bytes", path, ARRAY_PAGE_LIMIT);
        pqf__buf_free(&all);
        r->array_mode = true;
        r->next_el = r->arr ? r->arr->child : NULL;
        return rc;
    }
    if (c != EOF)
        ungetc(c, r->f);
    return PQF_OK;
}

static void nd_close(ndreader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->line);
    pqf__json_doc_free(&r->doc);
}

/* Next record (an object), or *rec NULL at the end. */
static pqf_err nd_next(ndreader *r, const pqf__json **rec, pqf_error *err)
{
    *rec = NULL;
    if (r->array_mode) {
        if (!r->next_el)
            return PQF_OK;
        *rec = r->next_el;
        r->next_el = r->next_el->next;
        r->lineno = (*rec)->line;
        if ((*rec)->type != PQF__JOBJ)
            return pqf_error_set(err, PQF_ERR_PARSE, "%s:%" PRIu64 ": a record is not an object",
                                 r->path, r->lineno);
        return PQF_OK;
    }
    for (;;) {
        ssize_t n = getline(&r->line, &r->cap, r->f);
        if (n < 0)
            return ferror(r->f) ? pqf__errno(err, "read", r->path) : PQF_OK;
        r->lineno++;
        if ((size_t)n > LINE_LIMIT)
            return pqf_error_set(err, PQF_ERR_LIMIT, "%s:%" PRIu64 ": line longer than %zu bytes",
                                 r->path, r->lineno, LINE_LIMIT);
        size_t i = 0;
        while (i < (size_t)n && isspace((unsigned char)r->line[i]))
            i++;
        if (i == (size_t)n)
            continue;
        pqf__json *root = NULL;
        pqf__json_doc_reset(&r->doc);
        if (pqf__json_parse(&r->doc, r->line, (size_t)n, &root) != PQF_OK)
            return pqf_error_set(err, PQF_ERR_PARSE, "%s:%" PRIu64 ": %s", r->path, r->lineno,
                                 r->doc.err.msg);
        if (root->type != PQF__JOBJ)
            return pqf_error_set(err, PQF_ERR_PARSE, "%s:%" PRIu64 ": a record is not an object",
                                 r->path, r->lineno);
        *rec = root;
        return PQF_OK;
    }
}

/* NDJSON: the columns of the first record; types unknown. */
static pqf_err describe_ndjson(src *s, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    ndreader r;
    const pqf__json *rec = NULL;
    ctype unk = {K_UNKNOWN, -1, false};
    for (size_t f = 0; f < s->nfiles && !rec; f++) {
        PQF_TRY(nd_open(&r, s->files[f], err));
        rc = nd_next(&r, &rec, err);
        for (const pqf__json *m = rec ? rec->child : NULL; rc == PQF_OK && m; m = m->next)
            rc = push_col(s, m->key, unk, err);
        nd_close(&r);
        PQF_TRY(rc);
    }
    if (!rec)
        PQF_FAIL(err, PQF_ERR_NOT_FOUND, "%s: no records", s->label);
done:
    return rc;
}

static pqf_err src_describe(src *s, const char *table, pqf_error *err)
{
    src_clear_table(s);
    switch (s->type) {
    case SRC_FEED:
        return describe_feed(s, table, err);
    case SRC_SQLITE:
        return describe_sqlite(s, table, err);
    case SRC_PG:
        return describe_pg(s, table, err);
    default:
        return describe_ndjson(s, err);
    }
}

static int src_col(const src *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->cols[i], name) == 0)
            return (int)i;
    return -1;
}

/* ---- one side: the key map ------------------------------------------------------------- */

typedef struct entry {
    char *key;
    uint32_t klen;
    bool deleted;
    bool bnull;
    uint64_t khash, rhash;
    int64_t bucket;
    int64_t order;
    uint64_t ordinal; /* of the winning row in the scan */
    int32_t cap;      /* index into the capture slots, -1 none */
} entry;

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    char data[];
} arena_chunk;

typedef struct recon recon;

typedef struct side {
    recon *rc;
    src *s;
    char name; /* 'A' or 'B' */
    entry *e;
    size_t n, cap;
    uint32_t *slots; /* 1-based entry index, 0 empty */
    size_t nslots;
    arena_chunk *arena;
    /* per compared column / key / bucket / delete / watermark: the source's column index */
    int *colmap;
    int *keymap;
    int bucket_col, delete_col, wm_col;
    bool capture;     /* second pass: fill capture slots */
    char ***captured; /* [slot][compared column] canonical text, NULL for NULL */
    uint64_t ordinal;
} side;

struct recon {
    const pqf_reconcile_opts *o;
    const char *table;
    char **cols; /* compared columns */
    ctype *types;
    size_t ncols;
    char **key;
    ctype *ktypes;
    size_t nkey;
    ctype btype;
    canon_ctx cx;
    pqf__buf row, kb, tmp;
    side a, b;
};

static void *arena_alloc(side *sd, size_t n)
{
    arena_chunk *c = sd->arena;
    if (!c || c->size - c->used < n) {
        size_t sz = PQF_MAX(n, (size_t)1 << 20);
        c = malloc(sizeof *c + sz);
        if (!c)
            return NULL;
        c->next = sd->arena;
        c->used = 0;
        c->size = sz;
        sd->arena = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

static void side_free(side *sd)
{
    for (arena_chunk *c = sd->arena, *nx; c; c = nx) {
        nx = c->next;
        free(c);
    }
    if (sd->captured && sd->rc) {
        for (size_t i = 0; i < sd->rc->o->max_diffs; i++) {
            for (size_t c = 0; sd->captured[i] && c < sd->rc->ncols; c++)
                free(sd->captured[i][c]);
            free(sd->captured[i]);
        }
    }
    free(sd->captured);
    free(sd->e);
    free(sd->slots);
    free(sd->colmap);
    free(sd->keymap);
    memset(sd, 0, sizeof *sd);
}

static entry *side_find(const side *sd, const char *key, size_t klen, uint64_t h)
{
    if (!sd->nslots)
        return NULL;
    for (size_t i = h & (sd->nslots - 1);; i = (i + 1) & (sd->nslots - 1)) {
        uint32_t x = sd->slots[i];
        if (!x)
            return NULL;
        entry *e = &sd->e[x - 1];
        if (e->khash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    }
}

static pqf_err side_grow(side *sd, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    if (sd->n + 1 > sd->cap) {
        size_t nc = sd->cap ? sd->cap * 2 : 1024;
        entry *e = realloc(sd->e, nc * sizeof *e);
        if (!e)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory (%zu keys)", sd->n);
        sd->e = e;
        sd->cap = nc;
    }
    if ((sd->n + 1) * 2 > sd->nslots) {
        size_t ns = sd->nslots ? sd->nslots * 2 : 2048;
        uint32_t *sl = calloc(ns, sizeof *sl);
        if (!sl)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory (%zu keys)", sd->n);
        for (size_t k = 0; k < sd->n; k++) {
            size_t i = sd->e[k].khash & (ns - 1);
            while (sl[i])
                i = (i + 1) & (ns - 1);
            sl[i] = (uint32_t)(k + 1);
        }
        free(sd->slots);
        sd->slots = sl;
        sd->nslots = ns;
    }
done:
    return rc;
}

static pqf_err map_columns(recon *r, side *sd, pqf_error *err)
{
    src *s = sd->s;
    const pqf_reconcile_opts *o = r->o;
    sd->colmap = calloc(r->ncols + 1, sizeof *sd->colmap);
    sd->keymap = calloc(r->nkey + 1, sizeof *sd->keymap);
    if (!sd->colmap || !sd->keymap)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->ncols; i++)
        sd->colmap[i] = src_col(s, r->cols[i]);
    for (size_t i = 0; i < r->nkey; i++)
        if ((sd->keymap[i] = src_col(s, r->key[i])) < 0)
            return pqf_error_set(err, PQF_ERR_NOT_FOUND, "%s: table %s has no key column '%s'",
                                 s->label, r->table, r->key[i]);
    sd->bucket_col = -1;
    if (o->bucket_column && (sd->bucket_col = src_col(s, o->bucket_column)) < 0)
        return pqf_error_set(err, PQF_ERR_NOT_FOUND, "%s: table %s has no bucket column '%s'",
                             s->label, r->table, o->bucket_column);
    sd->delete_col = o->delete_column && *o->delete_column ? src_col(s, o->delete_column) : -1;
    sd->wm_col = -1;
    if (s->type == SRC_NDJSON) {
        const char *wm = o->watermark       ? o->watermark
                         : o->bucket_column ? o->bucket_column
                                            : "updated_at";
        sd->wm_col = src_col(s, wm);
        if (o->watermark && sd->wm_col < 0)
            return pqf_error_set(err, PQF_ERR_NOT_FOUND, "%s: no watermark column '%s'", s->label,
                                 o->watermark);
    }
    return PQF_OK;
}

static bool gv_null(const gval *v)
{
    return v->t == G_NULL || (v->t == G_JSON && (!v->j || v->j->type == PQF__JNULL));
}

static bool gv_true(const gval *v)
{
    if (gv_null(v))
        return false;
    if (v->t == G_JSON)
        return v->j->type == PQF__JBOOL ? v->j->b
                                        : v->j->type == PQF__JSTR && strcmp(v->j->str, "true") == 0;
    if (v->t == G_INT)
        return v->i != 0;
    if (v->t == G_TEXT)
        return (v->n == 1 && (v->s[0] == 't' || v->s[0] == '1')) ||
               (v->n == 4 && memcmp(v->s, "true", 4) == 0);
    return false;
}

/* Bucket of the row from its bucket column's canonical value. */
static pqf_err bucket_of(recon *r, side *sd, const gval *vals, int64_t *bucket, bool *bnull,
                         pqf_error *err)
{
    pqf_err rc = PQF_OK;
    const pqf_reconcile_opts *o = r->o;
    *bucket = 0;
    *bnull = false;
    if (sd->bucket_col < 0)
        return PQF_OK;
    const gval *v = &vals[sd->bucket_col];
    if (gv_null(v)) {
        *bnull = true;
        return PQF_OK;
    }
    pqf__buf_reset(&r->tmp);
    PQF_TRY(canon(&r->cx, &r->btype, v, &r->tmp));
    PQF_TRY(pqf__buf_cstr(&r->tmp));
    char *end;
    errno = 0;
    long long x = strtoll((const char *)r->tmp.data, &end, 10);
    if (*end || errno || r->tmp.len == 0) {
        pqf__buf_reset(&r->tmp);
        PQF_TRY(put_raw(&r->tmp, v));
        PQF_TRY(pqf__buf_cstr(&r->tmp));
        PQF_FAIL(err, PQF_ERR_VALUE, "%s: bucket column '%s': '%.80s' is not a %s", sd->s->label,
                 o->bucket_column, (const char *)r->tmp.data,
                 o->bucket_unit == PQF_BUCKET_WIDTH ? "number or timestamp" : "timestamp or date");
    }
    int64_t w = 1;
    bool is_date = r->btype.k == K_DATE;
    if (o->bucket_unit == PQF_BUCKET_HOUR)
        w = is_date ? 1 : US_PER_HOUR;
    else if (o->bucket_unit == PQF_BUCKET_DAY)
        w = is_date ? 1 : US_PER_DAY;
    else if (o->bucket_unit == PQF_BUCKET_WIDTH)
        w = r->btype.k == K_TIMESTAMP ? o->bucket_width * 1000000 : o->bucket_width;
    if (w <= 0)
        w = 1;
    int64_t q = x / w;
    if (x % w < 0)
        q--;
    *bucket = q * w;
done:
    if (rc == PQF_ERR_NOMEM || rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "out of memory");
    return rc;
}

/* One row of a scan. order: the version's rank (feed _seq, NDJSON watermark,
 * SQL ordinal); op_delete: a feed D row. */
static pqf_err side_row(side *sd, const gval *vals, int64_t order, bool op_delete, pqf_error *err)
{
    recon *r = sd->rc;
    pqf_err rc = PQF_OK;
    uint64_t ordinal = ++sd->ordinal;
    /* the key */
    pqf__buf_reset(&r->kb);
    for (size_t i = 0; i < r->nkey; i++) {
        const gval *v = &vals[sd->keymap[i]];
        if (gv_null(v))
            PQF_FAIL(err, PQF_ERR_VALUE, "%s: table %s: key column '%s' is null (row %" PRIu64 ")",
                     sd->s->label, r->table, r->key[i], ordinal);
        if (i)
            PQF_TRY(pqf__buf_append_byte(&r->kb, 0x1f));
        PQF_TRY(canon(&r->cx, &r->ktypes[i], v, &r->kb));
    }
    uint64_t kh = pqf__xxh64(r->kb.data, r->kb.len);
    entry *e = side_find(sd, (const char *)r->kb.data, r->kb.len, kh);
    if (sd->capture) {
        if (!e || e->cap < 0 || e->ordinal != ordinal)
            goto done;
        char **vals_out = calloc(r->ncols + 1, sizeof *vals_out);
        if (!vals_out)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        sd->captured[e->cap] = vals_out;
        for (size_t i = 0; i < r->ncols; i++) {
            int c = sd->colmap[i];
            if (c < 0 || gv_null(&vals[c]))
                continue;
            pqf__buf_reset(&r->tmp);
            PQF_TRY(canon(&r->cx, &r->types[i], &vals[c], &r->tmp));
            if (!(vals_out[i] = malloc(r->tmp.len + 1)))
                PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
            memcpy(vals_out[i], r->tmp.data, r->tmp.len);
            vals_out[i][r->tmp.len] = 0;
        }
        goto done;
    }
    if (e && (order < e->order || (order == e->order && ordinal < e->ordinal)))
        goto done; /* an older version */
    bool deleted = op_delete || (sd->delete_col >= 0 && gv_true(&vals[sd->delete_col]));
    /* the row's canonical form: per column N (NULL) or V<len>:<text> */
    pqf__buf_reset(&r->row);
    for (size_t i = 0; i < r->ncols && !deleted; i++) {
        int c = sd->colmap[i];
        if (c < 0 || gv_null(&vals[c])) {
            PQF_TRY(pqf__buf_append_byte(&r->row, 'N'));
            continue;
        }
        pqf__buf_reset(&r->tmp);
        PQF_TRY(canon(&r->cx, &r->types[i], &vals[c], &r->tmp));
        PQF_TRY(pqf__buf_printf(&r->row, "V%zu:", r->tmp.len));
        PQF_TRY(pqf__buf_append(&r->row, r->tmp.data, r->tmp.len));
    }
    int64_t bucket = 0;
    bool bnull = false;
    if (!deleted)
        PQF_TRY(bucket_of(r, sd, vals, &bucket, &bnull, err));
    if (!e) {
        if (sd->n >= r->o->max_keys)
            PQF_FAIL(err, PQF_ERR_LIMIT,
                     "%s: table %s has more than %" PRIu64
                     " keys, the most reconcile holds in memory (raise --max-keys)",
                     sd->s->label, r->table, r->o->max_keys);
        PQF_TRY(side_grow(sd, err));
        e = &sd->e[sd->n];
        memset(e, 0, sizeof *e);
        if (!(e->key = arena_alloc(sd, r->kb.len + 1)))
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        memcpy(e->key, r->kb.data, r->kb.len);
        e->key[r->kb.len] = 0;
        e->klen = (uint32_t)r->kb.len;
        e->khash = kh;
        e->cap = -1;
        size_t i = kh & (sd->nslots - 1);
        while (sd->slots[i])
            i = (i + 1) & (sd->nslots - 1);
        sd->slots[i] = (uint32_t)(sd->n + 1);
        sd->n++;
    }
    e->deleted = deleted;
    e->rhash = deleted ? 0 : pqf__xxh64(r->row.data, r->row.len);
    e->bucket = bucket;
    e->bnull = bnull;
    e->order = order;
    e->ordinal = ordinal;
done:
    if (rc == PQF_ERR_NOMEM || (rc == PQF_ERR_LIMIT && err->code != PQF_ERR_LIMIT))
        pqf_error_set(err, rc, "%s: out of memory", sd->s->label);
    return rc;
}

/* A snapshot commit replaces the table: every key so far is gone. */
static void side_reset(side *sd)
{
    if (sd->capture)
        return;
    for (size_t i = 0; i < sd->n; i++)
        sd->e[i].deleted = true;
}

/* ---- scans ------------------------------------------------------------------------------ */

static pqf_err json_vals(const src *s, const pqf__json *rec, gval *vals)
{
    for (size_t i = 0; i < s->ncols; i++) {
        const pqf__json *v = pqf__json_get(rec, s->cols[i]);
        memset(&vals[i], 0, sizeof vals[i]);
        vals[i].t = v ? G_JSON : G_NULL;
        vals[i].j = v;
    }
    return PQF_OK;
}

static pqf_err scan_feed_file(side *sd, const pqf_commit *c, const pqf_commit_file *cf, gval *vals,
                              uint64_t *n, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    src *s = sd->s;
    uint8_t *data = NULL;
    size_t len = 0;
    pqf_istream *in = NULL;
    pqf_reader *rd = NULL;
    pqf_row_reader *rr = NULL;
    pqf__json_doc doc;
    pqf__json_doc_init(&doc, NULL);
    bool changes = c->kind == PQF_COMMIT_CHANGES;
    if (cf->bytes > FEED_FILE_LIMIT)
        PQF_FAIL(err, PQF_ERR_LIMIT, "%s: %" PRIu64 " bytes, more than reconcile reads (%zu)",
                 cf->key, cf->bytes, FEED_FILE_LIMIT);
    PQF_TRY(pqf_store_get_bytes(s->store, cf->key, NULL, (size_t)cf->bytes + 1, &data, &len, err));
    uint8_t d[32];
    char hex[65];
    pqf__sha256(data, len, d);
    pqf__hex(d, 32, hex);
    if (len != cf->bytes || strcmp(hex, cf->sha256) != 0)
        PQF_FAIL(err, PQF_ERR_CHECKSUM, "%s: commit %" PRIu64 ": %s: sha256 %s, the commit says %s",
                 s->label, c->seq, cf->key, hex, cf->sha256);
    PQF_TRY(pqf_istream_mem(data, len, cf->key, &in, err));
    PQF_TRY(pqf_reader_open(in, NULL, &rd, err));
    pqf_row_opts ro = {0};
    ro.format = PQF_ROW_JSON;
    PQF_TRY(pqf_row_reader_open(rd, &ro, &rr, err));
    for (;;) {
        const char *line = NULL;
        size_t ll = 0;
        rc = pqf_row_reader_next(rr, &line, &ll);
        if (rc != PQF_OK) {
            *err = *pqf_row_reader_error(rr);
            pqf_error_prefix(err, "%s: ", cf->key);
            goto done;
        }
        if (!line)
            break;
        pqf__json *row = NULL;
        pqf__json_doc_reset(&doc);
        if (pqf__json_parse(&doc, line, ll, &row) != PQF_OK)
            PQF_FAIL(err, PQF_ERR_INTERNAL, "%s: row %" PRIu64 ": %s", cf->key, *n + 1,
                     doc.err.msg);
        json_vals(s, row, vals);
        (*n)++;
        int64_t order = (int64_t)(c->seq << 32) + (int64_t)*n;
        bool del = false;
        if (changes) {
            const pqf__json *op = pqf__json_get(row, "_op");
            const pqf__json *seq = pqf__json_get(row, "_seq");
            if (!seq || seq->type != PQF__JNUM || !op || op->type != PQF__JSTR)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: row %" PRIu64 ": no _op/_seq", cf->key, *n);
            order = strtoll(seq->str, NULL, 10);
            del = op->len == 1 && op->str[0] == 'D';
        }
        PQF_TRY(side_row(sd, vals, order, del, err));
    }
done:
    pqf__json_doc_free(&doc);
    pqf_row_reader_free(rr);
    pqf_reader_free(rd);
    pqf_istream_free(in);
    free(data);
    return rc;
}

static pqf_err scan_feed(side *sd, const char *table, gval *vals, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_commit *c = NULL;
    uint64_t head = 0;
    char prev[65] = "";
    PQF_TRY(pqf_feed_head(sd->s->feed, table, &head, err));
    for (uint64_t seq = 1; seq <= head; seq++) {
        pqf_commit_free(c);
        c = NULL;
        PQF_TRY(pqf_feed_read_commit(sd->s->feed, table, seq, &c, err));
        if (strcmp(c->prev, prev) != 0)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: table %s: commit %" PRIu64 " breaks the hash chain",
                     sd->s->label, table, seq);
        memcpy(prev, c->hash, sizeof prev);
        if (c->kind == PQF_COMMIT_SNAPSHOT)
            side_reset(sd);
        uint64_t n = 0;
        for (size_t i = 0; i < c->nfiles; i++)
            PQF_TRY(scan_feed_file(sd, c, &c->files[i], vals, &n, err));
    }
done:
    pqf_commit_free(c);
    return rc;
}

static pqf_err scan_ndjson(side *sd, gval *vals, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    src *s = sd->s;
    recon *r = sd->rc;
    ndreader nr;
    bool open = false;
    ctype ts = {K_TIMESTAMP, -1, true};
    for (size_t f = 0; f < s->nfiles; f++) {
        PQF_TRY(nd_open(&nr, s->files[f], err));
        open = true;
        for (;;) {
            const pqf__json *rec = NULL;
            PQF_TRY(nd_next(&nr, &rec, err));
            if (!rec)
                break;
            json_vals(s, rec, vals);
            int64_t order = INT64_MIN;
            if (sd->wm_col >= 0 && !gv_null(&vals[sd->wm_col])) {
                const pqf__json *w = vals[sd->wm_col].j;
                pqf__buf_reset(&r->tmp);
                if (w->type == PQF__JNUM) {
                    order = strtoll(w->str, NULL, 10);
                } else {
                    PQF_TRY(canon(&r->cx, &ts, &vals[sd->wm_col], &r->tmp));
                    PQF_TRY(pqf__buf_cstr(&r->tmp));
                    char *end;
                    order = strtoll((const char *)r->tmp.data, &end, 10);
                    if (*end || !r->tmp.len)
                        PQF_FAIL(err, PQF_ERR_VALUE,
                                 "%s:%" PRIu64 ": watermark '%s' is not a timestamp or number",
                                 nr.path, nr.lineno, s->cols[sd->wm_col]);
                }
            }
            rc = side_row(sd, vals, order, false, err);
            if (rc != PQF_OK) {
                pqf_error_prefix(err, "%s:%" PRIu64 ": ", nr.path, nr.lineno);
                goto done;
            }
        }
        nd_close(&nr);
        open = false;
    }
done:
    if (open)
        nd_close(&nr);
    return rc;
}

static pqf_err select_sql(const src *s, const char *table, pqf__buf *q)
{
    pqf_err rc = PQF_OK;
    PQF_TRY(pqf__buf_printf(q, "SELECT "));
    for (size_t i = 0; i < s->ncols; i++) {
        PQF_TRY(pqf__buf_printf(q, "%s", i ? ", " : ""));
        PQF_TRY(pqf__sql_ident(q, s->cols[i]));
    }
    PQF_TRY(pqf__buf_printf(q, " FROM "));
    PQF_TRY(pqf__sql_ident(q, table));
    PQF_TRY(pqf__buf_cstr(q));
done:
    return rc;
}

static pqf_err scan_sqlite(side *sd, const char *table, gval *vals, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    src *s = sd->s;
    sqlite3_stmt *st = NULL;
    pqf__buf q;
    pqf__buf_init(&q, (size_t)16 << 20);
    if (select_sql(s, table, &q) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    if (sqlite3_prepare_v2(s->db, (const char *)q.data, -1, &st, NULL) != SQLITE_OK)
        PQF_FAIL(err, PQF_ERR_IO, "%s: %s", s->label, sqlite3_errmsg(s->db));
    int r;
    int64_t n = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        for (size_t i = 0; i < s->ncols; i++) {
            gval *v = &vals[i];
            memset(v, 0, sizeof *v);
            switch (sqlite3_column_type(st, (int)i)) {
            case SQLITE_INTEGER:
                v->t = G_INT;
                v->i = sqlite3_column_int64(st, (int)i);
                break;
            case SQLITE_FLOAT:
                v->t = G_DBL;
                v->d = sqlite3_column_double(st, (int)i);
                break;
            case SQLITE_TEXT:
                v->t = G_TEXT;
                v->s = (const char *)sqlite3_column_text(st, (int)i);
                v->n = (size_t)sqlite3_column_bytes(st, (int)i);
                break;
            case SQLITE_BLOB:
                v->t = G_BLOB;
                v->s = sqlite3_column_blob(st, (int)i);
                v->n = (size_t)sqlite3_column_bytes(st, (int)i);
                break;
            default:
                v->t = G_NULL;
                break;
            }
        }
        PQF_TRY(side_row(sd, vals, ++n, false, err));
    }
    if (r != SQLITE_DONE)
        PQF_FAIL(err, PQF_ERR_IO, "%s: table %s: %s", s->label, table, sqlite3_errmsg(s->db));
done:
    sqlite3_finalize(st);
    pqf__buf_free(&q);
    return rc;
}

static pqf_err scan_pg(side *sd, const char *table, gval *vals, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    src *s = sd->s;
    PGresult *res = NULL;
    bool sent = false;
    pqf__buf q;
    pqf__buf_init(&q, (size_t)16 << 20);
    if (select_sql(s, table, &q) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    /* Single-row mode: memory stays at one row whatever the table's size. */
    if (!PQsendQuery(s->pg, (const char *)q.data) || !PQsetSingleRowMode(s->pg))
        PQF_FAIL(err, PQF_ERR_REMOTE, "%s: %s", s->label, PQerrorMessage(s->pg));
    sent = true;
    int64_t n = 0;
    while ((res = PQgetResult(s->pg)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE) {
            for (size_t i = 0; i < s->ncols; i++) {
                gval *v = &vals[i];
                memset(v, 0, sizeof *v);
                if (PQgetisnull(res, 0, (int)i)) {
                    v->t = G_NULL;
                } else {
                    v->t = G_TEXT;
                    v->s = PQgetvalue(res, 0, (int)i);
                    v->n = (size_t)PQgetlength(res, 0, (int)i);
                }
            }
            PQF_TRY(side_row(sd, vals, ++n, false, err));
        } else if (st != PGRES_TUPLES_OK) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(res));
            msg[strcspn(msg, "\n")] = 0;
            PQF_FAIL(err, PQF_ERR_REMOTE, "%s: table %s: %s", s->label, table, msg);
        }
        PQclear(res);
        res = NULL;
    }
    sent = false;
done:
    PQclear(res);
    if (sent) { /* drain the rest so the connection stays usable */
        while ((res = PQgetResult(s->pg)) != NULL)
            PQclear(res);
    }
    pqf__buf_free(&q);
    return rc;
}

static pqf_err side_scan(side *sd, const char *table, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    gval *vals = calloc(sd->s->ncols + 1, sizeof *vals);
    sd->ordinal = 0;
    if (!vals)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    switch (sd->s->type) {
    case SRC_FEED:
        rc = scan_feed(sd, table, vals, err);
        break;
    case SRC_SQLITE:
        rc = scan_sqlite(sd, table, vals, err);
        break;
    case SRC_PG:
        rc = scan_pg(sd, table, vals, err);
        break;
    default:
        rc = scan_ndjson(sd, vals, err);
        break;
    }
done:
    free(vals);
    return rc;
}

/* ---- resolving columns and types -------------------------------------------------------- */

static bool excluded(const pqf_reconcile_opts *o, const char *c)
{
    return strcmp(c, "_op") == 0 || strcmp(c, "_seq") == 0 || strcmp(c, "_ts") == 0 ||
           (o->delete_column && strcmp(c, o->delete_column) == 0);
}

static ctype merge_type(const src *a, int ia, const src *b, int ib)
{
    ctype ta = ia >= 0 ? a->types[ia] : (ctype){K_UNKNOWN, -1, false};
    ctype tb = ib >= 0 ? b->types[ib] : (ctype){K_UNKNOWN, -1, false};
    ctype t;
    if (ta.strong)
        t = ta;
    else if (tb.strong)
        t = tb;
    else
        t = (ctype){K_DYN, -1, false};
    if (t.k == K_DECIMAL && t.scale < 0)
        t.scale = ta.k == K_DECIMAL && ta.scale >= 0 ? ta.scale : tb.scale;
    return t;
}

static pqf_err push_name(char ***v, ctype **types, size_t *n, const char *name, ctype t,
                         pqf_error *err)
{
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (nv)
        *v = nv;
    ctype *nt = realloc(*types, (*n + 1) * sizeof *nt);
    if (nt)
        *types = nt;
    if (!nv || !nt || !((*v)[*n] = strdup(name)))
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    (*types)[(*n)++] = t;
    return PQF_OK;
}

static pqf_err resolve(recon *r, src *a, src *b, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    const pqf_reconcile_opts *o = r->o;
    /* the key */
    if (o->nkey) {
        for (size_t i = 0; i < o->nkey; i++)
            PQF_TRY(push_name(&r->key, &r->ktypes, &r->nkey, o->key[i],
                              merge_type(a, src_col(a, o->key[i]), b, src_col(b, o->key[i])), err));
    } else {
        const src *k = a->nkeys ? a : b->nkeys ? b : NULL;
        if (!k)
            PQF_FAIL(err, PQF_ERR_INVALID_ARG,
                     "table %s: neither %s nor %s has a key: give --key COLS", r->table, a->label,
                     b->label);
        for (size_t i = 0; i < k->nkeys; i++)
            PQF_TRY(push_name(&r->key, &r->ktypes, &r->nkey, k->keys[i],
                              merge_type(a, src_col(a, k->keys[i]), b, src_col(b, k->keys[i])),
                              err));
    }
    /* key types: a DYN key still has to compare, numbers and text alike */
    /* the compared columns */
    if (o->ncolumns) {
        for (size_t i = 0; i < o->ncolumns; i++) {
            int ia = src_col(a, o->columns[i]), ib = src_col(b, o->columns[i]);
            if (ia < 0 || ib < 0)
                PQF_FAIL(err, PQF_ERR_NOT_FOUND, "table %s: %s has no column '%s'", r->table,
                         ia < 0 ? a->label : b->label, o->columns[i]);
            PQF_TRY(push_name(&r->cols, &r->types, &r->ncols, o->columns[i],
                              merge_type(a, ia, b, ib), err));
        }
    } else {
        for (size_t i = 0; i < a->ncols; i++) {
            int ib = src_col(b, a->cols[i]);
            if (ib < 0 || excluded(o, a->cols[i]))
                continue;
            PQF_TRY(push_name(&r->cols, &r->types, &r->ncols, a->cols[i],
                              merge_type(a, (int)i, b, ib), err));
        }
        if (!r->ncols)
            PQF_FAIL(err, PQF_ERR_NOT_FOUND, "table %s: %s and %s have no column in common",
                     r->table, a->label, b->label);
    }
    if (o->bucket_column) {
        r->btype = merge_type(a, src_col(a, o->bucket_column), b, src_col(b, o->bucket_column));
        if (r->btype.k == K_DYN || r->btype.k == K_UNKNOWN || r->btype.k == K_TEXT)
            r->btype.k = o->bucket_unit == PQF_BUCKET_WIDTH ? K_INT : K_TIMESTAMP;
    }
done:
    return rc;
}

/* ---- comparing -------------------------------------------------------------------------- */

typedef struct bstat {
    int64_t b;
    bool null;
    uint64_t rows_a, rows_b, hash_a, hash_b, diffs;
} bstat;

typedef struct btable {
    bstat *v;
    size_t n, cap;
    uint32_t *slots;
    size_t nslots;
} btable;

static bstat *bt_get(btable *t, int64_t b, bool null)
{
    if ((t->n + 1) * 2 > t->nslots) {
        size_t ns = t->nslots ? t->nslots * 2 : 64;
        uint32_t *sl = calloc(ns, sizeof *sl);
        if (!sl)
            return NULL;
        for (size_t k = 0; k < t->n; k++) {
            size_t i = pqf__xxh64(&t->v[k].b, sizeof t->v[k].b) & (ns - 1);
            while (sl[i])
                i = (i + 1) & (ns - 1);
            sl[i] = (uint32_t)(k + 1);
        }
        free(t->slots);
        t->slots = sl;
        t->nslots = ns;
    }
    int64_t key = null ? INT64_MIN : b;
    size_t i = pqf__xxh64(&key, sizeof key) & (t->nslots - 1);
    for (; t->slots[i]; i = (i + 1) & (t->nslots - 1)) {
        bstat *s = &t->v[t->slots[i] - 1];
        if (s->null == null && s->b == key)
            return s;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        bstat *v = realloc(t->v, nc * sizeof *v);
        if (!v)
            return NULL;
        t->v = v;
        t->cap = nc;
    }
    bstat *s = &t->v[t->n];
    memset(s, 0, sizeof *s);
    s->b = key;
    s->null = null;
    t->slots[i] = (uint32_t)(++t->n);
    return s;
}

static int cmp_bstat(const void *x, const void *y)
{
    const bstat *a = x, *b = y;
    if (a->null != b->null)
        return a->null ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

static void bucket_label(const recon *r, bool null, int64_t b, char *out, size_t cap)
{
    const pqf_reconcile_opts *o = r->o;
    if (!o->bucket_column) {
        snprintf(out, cap, "all");
        return;
    }
    if (null) {
        snprintf(out, cap, "null");
        return;
    }
    if (r->btype.k == K_TIMESTAMP || r->btype.k == K_DATE) {
        int64_t days = r->btype.k == K_DATE ? b
                       : b >= 0             ? b / US_PER_DAY
                                            : -((-b + US_PER_DAY - 1) / US_PER_DAY);
        int64_t rest = r->btype.k == K_DATE ? 0 : b - days * US_PER_DAY;
        int64_t y;
        int m, d;
        civil_from_days(days, &y, &m, &d);
        if (o->bucket_unit == PQF_BUCKET_DAY || r->btype.k == K_DATE)
            snprintf(out, cap, "%04" PRId64 "-%02d-%02d", y, m, d);
        else
            snprintf(out, cap, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
                     (int)(rest / US_PER_HOUR), (int)(rest / 60000000 % 60),
                     (int)(rest / 1000000 % 60));
        return;
    }
    snprintf(out, cap, "%" PRId64, b);
}

typedef struct dref {
    pqf_reconcile_diff_kind kind;
    entry *ea, *eb;
} dref;

/* Appends d to the growing diff list; false when out of memory. */
static bool dref_push(dref **v, size_t *n, size_t *cap, dref d)
{
    if (!pqf__grow(v, *n, cap, sizeof **v, 64))
        return false;
    (*v)[(*n)++] = d;
    return true;
}

/* The other side's live (not deleted) entry for e's key, or NULL. */
static entry *side_find_live(side *other, const entry *e)
{
    entry *o = side_find(other, e->key, e->klen, e->khash);
    return o && !o->deleted ? o : NULL;
}

static const char *dref_key(const dref *d)
{
    return d->ea ? d->ea->key : d->eb->key;
}

/* Keys in a natural order: numbers by value, then text. */
static int cmp_key(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    bool da = na && strspn(a, "0123456789") == na, db = nb && strspn(b, "0123456789") == nb;
    if (da && db && na != nb)
        return na < nb ? -1 : 1;
    return strcmp(a, b);
}

static int cmp_dref(const void *x, const void *y)
{
    return cmp_key(dref_key(x), dref_key(y));
}

static pqf_err key_display(const recon *r, const char *key, pqf__buf *b)
{
    pqf_err rc = PQF_OK;
    const char *p = key;
    for (size_t i = 0; i < r->nkey; i++) {
        const char *e = strchr(p, 0x1f);
        size_t n = e ? (size_t)(e - p) : strlen(p);
        PQF_TRY(pqf__buf_printf(b, "%s%s=", i ? "," : "", r->key[i]));
        PQF_TRY(pqf__buf_append(b, p, n));
        p = e ? e + 1 : p + n;
    }
    PQF_TRY(pqf__buf_cstr(b));
done:
    return rc;
}

static pqf_err table_run(recon *r, src *a, src *b, pqf_reconcile_cb cb, void *ud, bool *equal,
                         pqf_error *err)
{
    pqf_err rc = PQF_OK;
    btable bt = {0};
    dref *diffs = NULL;
    size_t nd = 0, capd = 0;
    pqf_reconcile_bucket *buckets = NULL;
    char(*labels)[48] = NULL;
    pqf_reconcile_diff *listed = NULL;
    char(*blabels)[48] = NULL;
    pqf__buf *keyv = NULL;
    size_t nlist = 0;
    PQF_TRY(resolve(r, a, b, err));
    r->a.rc = r->b.rc = r;
    r->a.s = a;
    r->b.s = b;
    r->a.name = 'A';
    r->b.name = 'B';
    PQF_TRY(map_columns(r, &r->a, err));
    PQF_TRY(map_columns(r, &r->b, err));
    PQF_TRY(side_scan(&r->a, r->table, err));
    PQF_TRY(side_scan(&r->b, r->table, err));
    uint64_t rows_a = 0, rows_b = 0, hash_a = 0, hash_b = 0;
    /* A's rows; keys missing from B or changed */
    for (size_t i = 0; i < r->a.n; i++) {
        entry *ea = &r->a.e[i];
        if (ea->deleted)
            continue;
        bstat *s = bt_get(&bt, ea->bucket, ea->bnull);
        if (!s)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        s->rows_a++;
        s->hash_a += ea->rhash;
        rows_a++;
        hash_a += ea->rhash;
        entry *eb = side_find_live(&r->b, ea);
        if (eb && eb->rhash == ea->rhash)
            continue;
        if (!dref_push(&diffs, &nd, &capd, (dref){eb ? PQF_DIFF_CHANGED : PQF_DIFF_ONLY_A, ea, eb}))
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        s->diffs++;
    }
    for (size_t i = 0; i < r->b.n; i++) {
        entry *eb = &r->b.e[i];
        if (eb->deleted)
            continue;
        bstat *s = bt_get(&bt, eb->bucket, eb->bnull);
        if (!s)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        s->rows_b++;
        s->hash_b += eb->rhash;
        rows_b++;
        hash_b += eb->rhash;
        entry *ea = side_find_live(&r->a, eb);
        if (ea && ea->rhash == eb->rhash)
            continue;
        if (ea && ea->bnull == eb->bnull && ea->bucket == eb->bucket)
            continue; /* changed, counted in this bucket already */
        s->diffs++;
        if (ea)
            continue; /* changed: listed once, from A */
        if (!dref_push(&diffs, &nd, &capd, (dref){PQF_DIFF_ONLY_B, NULL, eb}))
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
    if (nd)
        qsort(diffs, nd, sizeof *diffs, cmp_dref);
    nlist = PQF_MIN(nd, r->o->max_diffs);
    /* second pass: the values of the listed changed rows */
    bool any_changed = false;
    for (size_t i = 0; i < nlist; i++) {
        if (diffs[i].kind == PQF_DIFF_CHANGED) {
            diffs[i].ea->cap = (int32_t)i;
            diffs[i].eb->cap = (int32_t)i;
            any_changed = true;
        }
    }
    if (any_changed) {
        side *sides[2] = {&r->a, &r->b};
        for (int k = 0; k < 2; k++) {
            sides[k]->captured = calloc(r->o->max_diffs + 1, sizeof *sides[k]->captured);
            if (!sides[k]->captured)
                PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
            sides[k]->capture = true;
            PQF_TRY(side_scan(sides[k], r->table, err));
        }
    }
    /* the report */
    qsort(bt.v, bt.n, sizeof *bt.v, cmp_bstat);
    buckets = calloc(bt.n + 1, sizeof *buckets);
    labels = calloc(bt.n + 1, sizeof *labels);
    listed = calloc(nlist + 1, sizeof *listed);
    blabels = calloc(nlist + 1, sizeof *blabels);
    keyv = calloc(nlist + 1, sizeof *keyv);
    if (!buckets || !labels || !listed || !blabels || !keyv)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    bool all_equal = nd == 0;
    for (size_t i = 0; i < bt.n; i++) {
        bstat *s = &bt.v[i];
        bucket_label(r, s->null, s->b, labels[i], sizeof labels[i]);
        buckets[i] = (pqf_reconcile_bucket){labels[i],
                                            s->rows_a,
                                            s->rows_b,
                                            s->hash_a,
                                            s->hash_b,
                                            s->diffs,
                                            s->rows_a == s->rows_b && s->hash_a == s->hash_b &&
                                                s->diffs == 0};
        if (!buckets[i].equal)
            all_equal = false;
    }
    for (size_t i = 0; i < nlist; i++) {
        dref *d = &diffs[i];
        pqf__buf_init(&keyv[i], (size_t)1 << 20);
        PQF_TRY(key_display(r, dref_key(d), &keyv[i]));
        entry *e = d->ea ? d->ea : d->eb;
        bucket_label(r, e->bnull, e->bucket, blabels[i], sizeof blabels[i]);
        listed[i].kind = d->kind;
        listed[i].key = (const char *)keyv[i].data;
        listed[i].bucket = blabels[i];
        if (d->kind == PQF_DIFF_CHANGED && r->a.captured && r->b.captured) {
            char **ca = r->a.captured[i], **cb2 = r->b.captured[i];
            for (size_t c = 0; ca && cb2 && c < r->ncols; c++) {
                bool same = (!ca[c] && !cb2[c]) || (ca[c] && cb2[c] && strcmp(ca[c], cb2[c]) == 0);
                if (!same) {
                    listed[i].column = r->cols[c];
                    listed[i].value_a = ca[c];
                    listed[i].value_b = cb2[c];
                    break;
                }
            }
        }
    }
    char bucket_desc[300] = "";
    if (r->o->bucket_column) {
        const char *u = r->o->bucket_unit == PQF_BUCKET_HOUR  ? "hour"
                        : r->o->bucket_unit == PQF_BUCKET_DAY ? "day"
                                                              : NULL;
        if (u)
            snprintf(bucket_desc, sizeof bucket_desc, "%s:%s", r->o->bucket_column, u);
        else
            snprintf(bucket_desc, sizeof bucket_desc, "%s:%" PRId64, r->o->bucket_column,
                     r->o->bucket_width);
    }
    pqf_reconcile_table t = {
        .table = r->table,
        .source_a = a->label,
        .source_b = b->label,
        .key = (const char *const *)r->key,
        .nkey = r->nkey,
        .columns = (const char *const *)r->cols,
        .ncolumns = r->ncols,
        .bucket = r->o->bucket_column ? bucket_desc : NULL,
        .rows_a = rows_a,
        .rows_b = rows_b,
        .hash_a = hash_a,
        .hash_b = hash_b,
        .buckets = buckets,
        .nbuckets = bt.n,
        .diffs = nd,
        .listed = listed,
        .nlisted = nlist,
        .equal = all_equal,
    };
    if (!all_equal)
        *equal = false;
    if (cb)
        cb(ud, &t);
done:
    for (size_t i = 0; keyv && i < nlist; i++)
        pqf__buf_free(&keyv[i]);
    free(keyv);
    free(blabels);
    free(listed);
    free(labels);
    free(buckets);
    free(diffs);
    free(bt.v);
    free(bt.slots);
    return rc;
}

static void recon_clear(recon *r)
{
    side_free(&r->a);
    side_free(&r->b);
    strv_free(r->cols, r->ncols);
    strv_free(r->key, r->nkey);
    free(r->types);
    free(r->ktypes);
    r->cols = r->key = NULL;
    r->types = r->ktypes = NULL;
    r->ncols = r->nkey = 0;
}

pqf_err pqf_reconcile(const char *a, const char *b, const pqf_reconcile_opts *o,
                      pqf_reconcile_cb cb, void *ud, bool *equal, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_reconcile_opts defaults;
    src sa, sb;
    recon r;
    char **tables = NULL;
    size_t ntables = 0;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    memset(&r, 0, sizeof r);
    *equal = true;
    if (!o) {
        pqf_reconcile_opts_init(&defaults);
        o = &defaults;
    }
    r.o = o;
    pqf__json_doc_init(&r.cx.doc, NULL);
    pqf__buf_init(&r.row, (size_t)512 << 20);
    pqf__buf_init(&r.kb, (size_t)16 << 20);
    pqf__buf_init(&r.tmp, (size_t)256 << 20);
    if (!a || !b || !*a || !*b)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "reconcile needs two sources");
    if (o->bucket_column && o->bucket_unit == PQF_BUCKET_WIDTH && o->bucket_width <= 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "bucket width must be positive");
    PQF_TRY(src_open(&sa, a, o, err));
    PQF_TRY(src_open(&sb, b, o, err));
    if (o->table) {
        if (!(tables = calloc(1, sizeof *tables)) || !(tables[0] = strdup(o->table)))
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        ntables = 1;
    } else if (sa.type == SRC_FEED || sb.type == SRC_FEED) {
        PQF_TRY(pqf_feed_tables(sa.type == SRC_FEED ? sa.feed : sb.feed, &tables, &ntables, err));
        if (!ntables)
            PQF_FAIL(err, PQF_ERR_NOT_FOUND, "%s: no tables",
                     sa.type == SRC_FEED ? sa.label : sb.label);
        if ((sa.type == SRC_NDJSON || sb.type == SRC_NDJSON) && ntables > 1)
            PQF_FAIL(err, PQF_ERR_INVALID_ARG,
                     "the feed has %zu tables and NDJSON pages hold one: give --table", ntables);
    } else {
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "give --table T (neither source is a feed)");
    }
    for (size_t i = 0; i < ntables; i++) {
        r.table = tables[i];
        PQF_TRY(src_describe(&sa, tables[i], err));
        PQF_TRY(src_describe(&sb, tables[i], err));
        rc = table_run(&r, &sa, &sb, cb, ud, equal, err);
        recon_clear(&r);
        PQF_TRY(rc);
    }
done:
    recon_clear(&r);
    pqf__buf_free(&r.row);
    pqf__buf_free(&r.kb);
    pqf__buf_free(&r.tmp);
    pqf__json_doc_free(&r.cx.doc);
    if (tables)
        pqf_strv_free(tables, ntables);
    src_free(&sa);
    src_free(&sb);
    return rc;
}
