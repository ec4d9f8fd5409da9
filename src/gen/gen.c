/* Deterministic data generator (include/pqfeed/gen.h). Output is formatted by
 * hand into one buffer (no printf per field): millions of rows per second. */
#include "pqfeed/gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fsutil.h"
#include "source/json.h"
#include "source/value.h"

/* ---- PRNG: splitmix64 seeds xoshiro256** ------------------------------------- */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed, uint64_t table, uint64_t row)
{
    uint64_t x = seed ^ (table * 0xD1B54A32D192ED03ull) ^ (row * 0x8CB92BA72F3D8DD7ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t next(rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) (Lemire's multiply; the tiny bias is irrelevant here). */
static inline uint64_t below(rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)next(r) * n) >> 64);
}

/* ---- output buffer ----------------------------------------------------------- */

typedef struct out {
    char *buf;
    size_t len, cap;
    pqf_ostream *os;
    pqf_format fmt;
    bool first; /* first field of the row */
    pqf_err rc;
    bool incr;       /* increment mode: updated_at forced, "deleted" emitted */
    int64_t upd;     /* increment mode: the row's updated_at */
    bool del;        /* increment mode: the row is a tombstone */
    bool ins;        /* increment mode: the row's first version (created_at = updated_at) */
} gout;

#define OUT_CAP (1u << 20)
#define OUT_SLACK 4096 /* room for one formatted scalar */

static void flush(gout *o)
{
    if (o->len && o->rc == PQF_OK)
        o->rc = pqf_ostream_write(o->os, o->buf, o->len);
    o->len = 0;
}

static inline void room(gout *o, size_t n)
{
    if (o->len + n > o->cap)
        flush(o);
}

static inline void raw(gout *o, const char *s, size_t n)
{
    if (n > o->cap / 2) {
        flush(o);
        if (o->rc == PQF_OK)
            o->rc = pqf_ostream_write(o->os, s, n);
        return;
    }
    room(o, n);
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static inline void ch(gout *o, char c)
{
    room(o, 1);
    o->buf[o->len++] = c;
}

static void u64(gout *o, uint64_t v)
{
    char t[24];
    int n = 0;
    do {
        t[23 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    raw(o, t + 24 - n, (size_t)n);
}

static void i64(gout *o, int64_t v)
{
    if (v < 0) {
        ch(o, '-');
        u64(o, 0 - (uint64_t)v);
    } else {
        u64(o, (uint64_t)v);
    }
}

static void pad(gout *o, unsigned v, int width)
{
    char t[12];
    for (int i = width - 1; i >= 0; i--) {
        t[i] = (char)('0' + v % 10);
        v /= 10;
    }
    raw(o, t, (size_t)width);
}

/* Fixed-point: v / 10^scale with exactly `scale` fraction digits. */
static void fixed(gout *o, int64_t v, int scale)
{
    uint64_t p = 1;
    for (int i = 0; i < scale; i++)
        p *= 10;
    uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    if (v < 0)
        ch(o, '-');
    u64(o, a / p);
    ch(o, '.');
    pad(o, (unsigned)(a % p), scale);
}

static void civil(gout *o, int64_t days)
{
    int64_t y;
    unsigned m, d;
    pqf__civil_from_days(days, &y, &m, &d);
    pad(o, (unsigned)y, 4);
    ch(o, '-');
    pad(o, m, 2);
    ch(o, '-');
    pad(o, d, 2);
}

/* microseconds since the epoch, ISO-8601 UTC with 6 fraction digits */
static void ts_us(gout *o, int64_t us)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    int64_t days = secs / 86400, sod = secs % 86400;
    civil(o, days);
    ch(o, 'T');
    pad(o, (unsigned)(sod / 3600), 2);
    ch(o, ':');
    pad(o, (unsigned)(sod / 60 % 60), 2);
    ch(o, ':');
    pad(o, (unsigned)(sod % 60), 2);
    ch(o, '.');
    pad(o, (unsigned)frac, 6);
    ch(o, 'Z');
}

/* A text value: CSV-quoted when needed, or a JSON string. */
static void text(gout *o, const char *s, size_t n)
{
    if (o->fmt == PQF_FORMAT_NDJSON) {
        bool plain = true;
        for (size_t i = 0; i < n && plain; i++)
            plain = (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\';
        if (plain) {
            ch(o, '"');
            raw(o, s, n);
            ch(o, '"');
            return;
        }
        pqf__buf b;
        pqf__buf_init(&b, 2 * n + 16);
        if (pqf__json_write_str(&b, s, n) == PQF_OK)
            raw(o, (const char *)b.data, b.len);
        pqf__buf_free(&b);
        return;
    }
    bool q = false;
    for (size_t i = 0; i < n && !q; i++)
        q = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!q && n > 0) {
        raw(o, s, n);
        return;
    }
    ch(o, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            raw(o, s + run, i + 1 - run);
            ch(o, '"');
            run = i + 1;
        }
    }
    raw(o, s + run, n - run);
    ch(o, '"');
}

static void textz(gout *o, const char *s)
{
    text(o, s, strlen(s));
}

/* Field separator and (NDJSON) key. */
static void key(gout *o, const char *k)
{
    if (o->fmt == PQF_FORMAT_NDJSON) {
        if (!o->first)
            ch(o, ',');
        ch(o, '"');
        raw(o, k, strlen(k));
        raw(o, "\":", 2);
    } else if (!o->first) {
        ch(o, ',');
    }
    o->first = false;
}

static void null_value(gout *o)
{
    if (o->fmt == PQF_FORMAT_NDJSON)
        raw(o, "null", 4);
}

static void row_start(gout *o)
{
    o->first = true;
    if (o->fmt == PQF_FORMAT_NDJSON)
        ch(o, '{');
}

static void row_end(gout *o)
{
    if (o->fmt == PQF_FORMAT_NDJSON)
        ch(o, '}');
    ch(o, '\n');
}

static void boolean(gout *o, bool b)
{
    if (b)
        raw(o, "true", 4);
    else
        raw(o, "false", 5);
}

/* Timestamp and date as JSON strings in NDJSON, bare in CSV. */
static void ts_field(gout *o, int64_t us)
{
    if (o->fmt == PQF_FORMAT_NDJSON)
        ch(o, '"');
    ts_us(o, us);
    if (o->fmt == PQF_FORMAT_NDJSON)
        ch(o, '"');
}

static void date_field(gout *o, int64_t days)
{
    if (o->fmt == PQF_FORMAT_NDJSON)
        ch(o, '"');
    civil(o, days);
    if (o->fmt == PQF_FORMAT_NDJSON)
        ch(o, '"');
}

/* ---- vocabulary -------------------------------------------------------------- */

static const char *first_names[] = {"Ann",  "Bob",   "Chen", "Dana",  "Emil", "Fatima", "Goran",
                                    "Hana", "Ivan",  "Jun",  "Kofi",  "Lena", "Mateo",  "Nia",
                                    "Olga", "Pavel", "Quinn", "Rosa", "Sven", "Tomas"};
static const char *last_names[] = {"Smith", "Ng",     "Garcia", "Müller", "Kowalski", "Ito",
                                   "Okafor", "Silva", "Novak",  "Larsen", "O'Brien",  "Dubois"};
static const char *words[] = {"crash",   "login",  "timeout", "export", "parquet", "upload",
                              "retry",   "cache",  "memory",  "leak",   "slow",    "query",
                              "button",  "report", "sync",    "token",  "replica", "schema"};
static const char *projects[] = {"CORE", "WEB", "API", "OPS", "DATA", "MOB"};
static const char *statuses[] = {"open", "in_progress", "review", "resolved", "closed"};
static const char *priorities[] = {"blocker", "critical", "major", "minor", "trivial"};
static const char *labels[] = {"bug",  "regression", "perf",     "security", "ux",
                               "docs", "flaky-test", "customer", "backend",  "frontend"};
static const char *components[] = {"auth", "storage", "ingest", "ui", "billing", "search"};
static const char *zones[] = {"UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo",
                              "Australia/Sydney"};
static const char *categories[] = {"alpha", "bravo", "charlie", "delta",
                                   "echo",  "foxtrot", "golf",  "hotel"};

#define PICK(r, arr) (arr[below(r, PQF_ARRAY_LEN(arr))])

/* 2020-01-01T00:00:00Z in microseconds, and a 4-year window */
#define T0 1577836800000000LL
#define TSPAN (4LL * 365 * 86400 * 1000000)

static uint64_t nusers(uint64_t rows)
{
    return rows / 20 ? rows / 20 : 1;
}

static void user_name(gout *o, uint64_t uid)
{
    rng r;
    rng_seed(&r, 0x5EED, 99, uid); /* names depend on the id only */
    char b[64];
    const char *first = PICK(&r, first_names); /* in this order: the email uses the same */
    const char *last = PICK(&r, last_names);
    int n = snprintf(b, sizeof b, "%s %s", first, last);
    text(o, b, (size_t)n);
}

static void user_email(gout *o, uint64_t uid)
{
    rng r;
    rng_seed(&r, 0x5EED, 99, uid);
    const char *f = PICK(&r, first_names);
    char b[64];
    int n = snprintf(b, sizeof b, "%s.%llu@example.com", f, (unsigned long long)uid);
    for (int i = 0; i < n; i++)
        if (b[i] >= 'A' && b[i] <= 'Z')
            b[i] = (char)(b[i] + 32);
    text(o, b, (size_t)n);
}

static void sentence(gout *o, rng *r, int nwords, bool fancy)
{
    char b[512];
    size_t n = 0;
    for (int i = 0; i < nwords; i++) {
        const char *w = PICK(r, words);
        size_t wl = strlen(w);
        if (n + wl + 4 >= sizeof b)
            break;
        if (i)
            b[n++] = ' ';
        memcpy(b + n, w, wl);
        n += wl;
    }
    if (fancy) { /* exercise CSV quoting: commas, quotes, newlines */
        switch (below(r, 8)) {
        case 0:
            memcpy(b + n, ", see \"logs\"", 12);
            n += 12;
            break;
        case 1:
            memcpy(b + n, "\nsecond line", 12);
            n += 12;
            break;
        default:
            break;
        }
    }
    text(o, b, n);
}

/* ---- tables ------------------------------------------------------------------ */

static void row_users(gout *o, rng *r, uint64_t id, uint64_t rows)
{
    (void)rows;
    row_start(o);
    key(o, "id");
    u64(o, id);
    key(o, "name");
    user_name(o, id);
    key(o, "email");
    user_email(o, id);
    key(o, "created_at");
    ts_field(o, T0 + (int64_t)below(r, (uint64_t)TSPAN));
    key(o, "active");
    boolean(o, below(r, 10) != 0);
    key(o, "timezone");
    if (below(r, 5) == 0)
        null_value(o);
    else
        textz(o, PICK(r, zones));
    row_end(o);
}

/* JSON text of an issue's nested parts, into a small buffer. For CSV the
 * whole JSON goes through text() (quoted); for NDJSON it is raw. */
typedef struct jb {
    char b[1024];
    size_t n;
} jb;

static void jb_add(jb *j, const char *s)
{
    size_t l = strlen(s);
    if (j->n + l < sizeof j->b) {
        memcpy(j->b + j->n, s, l);
        j->n += l;
    }
}

static void nested_value(gout *o, jb *j)
{
    if (o->fmt == PQF_FORMAT_NDJSON)
        raw(o, j->b, j->n);
    else
        text(o, j->b, j->n);
}

static void row_issues(gout *o, rng *r, uint64_t id, uint64_t rows)
{
    const char *proj = PICK(r, projects);
    int64_t created = T0 + (int64_t)below(r, (uint64_t)TSPAN);
    uint64_t author = 1 + below(r, nusers(rows));
    if (o->incr && (o->ins || created > o->upd))
        created = o->upd; /* an insert is created when it appears */
    row_start(o);
    key(o, "id");
    u64(o, id);
    key(o, "key");
    {
        char b[32];
        int n = snprintf(b, sizeof b, "%s-%llu", proj, (unsigned long long)id);
        text(o, b, (size_t)n);
    }
    key(o, "project");
    textz(o, proj);
    key(o, "title");
    sentence(o, r, 3 + (int)below(r, 5), false);
    key(o, "status");
    const char *st = PICK(r, statuses);
    textz(o, st);
    key(o, "created_at");
    ts_field(o, created);
    key(o, "updated_at");
    if (o->incr) {
        ts_field(o, o->upd);
    } else if (below(r, 4) == 0)
        null_value(o);
    else
        ts_field(o, created + (int64_t)below(r, 90ull * 86400 * 1000000));
    key(o, "resolved_on");
    if (strcmp(st, "resolved") != 0 && strcmp(st, "closed") != 0)
        null_value(o);
    else
        date_field(o, created / 86400000000LL + (int64_t)below(r, 60));
    key(o, "estimate_hours");
    if (below(r, 3) == 0)
        null_value(o);
    else
        fixed(o, (int64_t)below(r, 40000), 2);
    key(o, "story_points");
    if (below(r, 3) == 0)
        null_value(o);
    else
        u64(o, 1 + below(r, 13));
    /* labels: JSON array */
    key(o, "labels");
    jb j = {.n = 0};
    jb_add(&j, "[");
    int nl = (int)below(r, 4);
    for (int i = 0; i < nl; i++) {
        if (i)
            jb_add(&j, ",");
        jb_add(&j, "\"");
        jb_add(&j, PICK(r, labels));
        jb_add(&j, "\"");
    }
    jb_add(&j, "]");
    nested_value(o, &j);
    /* author: {id, name, email} */
    key(o, "author");
    {
        gout tmp = *o; /* format the name/email through the JSON path */
        char nb[128];
        tmp.buf = nb;
        tmp.len = 0;
        tmp.cap = sizeof nb;
        tmp.fmt = PQF_FORMAT_NDJSON;
        tmp.os = NULL;
        j.n = 0;
        char idb[48];
        snprintf(idb, sizeof idb, "{\"id\":%llu,\"name\":", (unsigned long long)author);
        jb_add(&j, idb);
        user_name(&tmp, author);
        nb[tmp.len] = 0;
        jb_add(&j, nb);
        jb_add(&j, ",\"email\":");
        tmp.len = 0;
        user_email(&tmp, author);
        nb[tmp.len] = 0;
        jb_add(&j, nb);
        jb_add(&j, "}");
        nested_value(o, &j);
    }
    /* fields: {priority, components[]} */
    key(o, "fields");
    j.n = 0;
    jb_add(&j, "{\"priority\":\"");
    jb_add(&j, PICK(r, priorities));
    jb_add(&j, "\",\"components\":[");
    int nc = 1 + (int)below(r, 2);
    for (int i = 0; i < nc; i++) {
        if (i)
            jb_add(&j, ",");
        jb_add(&j, "\"");
        jb_add(&j, PICK(r, components));
        jb_add(&j, "\"");
    }
    jb_add(&j, "]}");
    nested_value(o, &j);
    if (o->incr) {
        key(o, "deleted");
        boolean(o, o->del);
    }
    row_end(o);
}

static void row_comments(gout *o, rng *r, uint64_t id, uint64_t rows)
{
    row_start(o);
    key(o, "id");
    u64(o, id);
    key(o, "issue_id");
    u64(o, 1 + below(r, rows));
    key(o, "author_id");
    u64(o, 1 + below(r, nusers(rows)));
    key(o, "created_at");
    ts_field(o, T0 + (int64_t)below(r, (uint64_t)TSPAN));
    key(o, "body");
    sentence(o, r, 4 + (int)below(r, 12), true);
    key(o, "edited");
    boolean(o, below(r, 6) == 0);
    row_end(o);
}

static void row_worklogs(gout *o, rng *r, uint64_t id, uint64_t rows)
{
    row_start(o);
    key(o, "id");
    u64(o, id);
    key(o, "issue_id");
    u64(o, 1 + below(r, rows));
    key(o, "user_id");
    u64(o, 1 + below(r, nusers(rows)));
    key(o, "started_at");
    ts_field(o, T0 + (int64_t)below(r, (uint64_t)TSPAN));
    key(o, "seconds");
    u64(o, 60 * (1 + below(r, 480)));
    key(o, "billable");
    boolean(o, below(r, 3) != 0);
    key(o, "rate");
    if (below(r, 4) == 0)
        null_value(o);
    else
        fixed(o, 2000 + (int64_t)below(r, 20000), 2);
    key(o, "comment");
    if (below(r, 2) == 0)
        null_value(o);
    else
        sentence(o, r, 2 + (int)below(r, 6), false);
    row_end(o);
}

static void row_mixed(gout *o, rng *r, uint64_t id, uint64_t rows)
{
    (void)rows;
    uint64_t a = next(r), b = next(r), c = next(r);
    row_start(o);
    key(o, "id");
    u64(o, id);
    key(o, "i32");
    i64(o, (int32_t)(uint32_t)a);
    key(o, "f64");
    fixed(o, (int64_t)((a >> 32) % 2000001) - 1000000, 3);
    key(o, "flag");
    boolean(o, b & 1);
    key(o, "ts");
    ts_field(o, T0 + (int64_t)((b >> 1) % (uint64_t)TSPAN));
    key(o, "day");
    date_field(o, 18262 + (int64_t)(c % 1461));
    key(o, "category");
    raw(o, o->fmt == PQF_FORMAT_NDJSON ? "\"" : "", o->fmt == PQF_FORMAT_NDJSON);
    raw(o, categories[(c >> 16) & 7], strlen(categories[(c >> 16) & 7]));
    raw(o, "\"", o->fmt == PQF_FORMAT_NDJSON);
    key(o, "uid");
    {
        /* "usr_" + 16 hex of a bijective mix of the id + "_" + 7-digit id: unique */
        static const char hex[] = "0123456789abcdef";
        uint64_t x = id * 0x9E3779B97F4A7C15ull;
        x ^= x >> 29;
        char t[40];
        size_t n = 0;
        if (o->fmt == PQF_FORMAT_NDJSON)
            t[n++] = '"';
        memcpy(t + n, "usr_", 4);
        n += 4;
        for (int i = 15; i >= 0; i--)
            t[n++] = hex[(x >> (4 * i)) & 15];
        t[n++] = '_';
        uint64_t v = id % 10000000;
        for (int i = 6; i >= 0; i--) {
            t[n + (size_t)i] = (char)('0' + v % 10);
            v /= 10;
        }
        n += 7;
        if (o->fmt == PQF_FORMAT_NDJSON)
            t[n++] = '"';
        raw(o, t, n);
    }
    key(o, "maybe_int");
    if (c % 10 == 0)
        null_value(o);
    else
        i64(o, (int64_t)(c >> 40) - 8000000);
    key(o, "amount");
    fixed(o, (int64_t)(a % 100000000000ull) - 50000000000ll, 2);
    row_end(o);
}

typedef void (*row_fn)(gout *, rng *, uint64_t, uint64_t);

static const struct {
    const char *name;
    row_fn fn;
    const char *csv_header;
    const char *schema_csv;
    const char *schema_ndjson; /* NULL: same as CSV */
} tables[PQF_GEN__COUNT] = {
    [PQF_GEN_USERS] = {"users", row_users, "id,name,email,created_at,active,timezone",
                       "{\"columns\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
                       "{\"name\":\"name\",\"type\":\"string\",\"nullable\":false},"
                       "{\"name\":\"email\",\"type\":\"string\",\"nullable\":false},"
                       "{\"name\":\"created_at\",\"type\":\"timestamp_us\",\"nullable\":false},"
                       "{\"name\":\"active\",\"type\":\"bool\",\"nullable\":false},"
                       "{\"name\":\"timezone\",\"type\":\"string\"}]}",
                       NULL},
    [PQF_GEN_ISSUES] =
        {"issues", row_issues,
         "id,key,project,title,status,created_at,updated_at,resolved_on,estimate_hours,"
         "story_points,labels,author,fields",
         "{\"columns\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
         "{\"name\":\"key\",\"type\":\"string\",\"nullable\":false},"
         "{\"name\":\"project\",\"type\":\"enum\",\"nullable\":false},"
         "{\"name\":\"title\",\"type\":\"string\",\"nullable\":false},"
         "{\"name\":\"status\",\"type\":\"string\",\"nullable\":false},"
         "{\"name\":\"created_at\",\"type\":\"timestamp_us\",\"nullable\":false},"
         "{\"name\":\"updated_at\",\"type\":\"timestamp_us\"},"
         "{\"name\":\"resolved_on\",\"type\":\"date\"},"
         "{\"name\":\"estimate_hours\",\"type\":\"decimal(10,2)\"},"
         "{\"name\":\"story_points\",\"type\":\"int32\"},"
         "{\"name\":\"labels\",\"type\":\"json\",\"nullable\":false},"
         "{\"name\":\"author\",\"type\":\"json\",\"nullable\":false},"
         "{\"name\":\"fields\",\"type\":\"json\",\"nullable\":false}]}",
         "{\"columns\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
         "{\"name\":\"key\",\"type\":\"string\",\"nullable\":false},"
         "{\"name\":\"project\",\"type\":\"enum\",\"nullable\":false},"
         "{\"name\":\"title\",\"type\":\"string\",\"nullable\":false},"
         "{\"name\":\"status\",\"type\":\"string\",\"nullable\":false},"
         "{\"name\":\"created_at\",\"type\":\"timestamp_us\",\"nullable\":false},"
         "{\"name\":\"updated_at\",\"type\":\"timestamp_us\"},"
         "{\"name\":\"resolved_on\",\"type\":\"date\"},"
         "{\"name\":\"estimate_hours\",\"type\":\"decimal(10,2)\"},"
         "{\"name\":\"story_points\",\"type\":\"int32\"},"
         "{\"name\":\"labels\",\"type\":{\"list\":{\"type\":\"string\",\"nullable\":false}},"
         "\"nullable\":false},"
         "{\"name\":\"author\",\"nullable\":false,\"type\":{\"struct\":["
         "{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
         "{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"email\",\"type\":\"string\"}]}},"
         "{\"name\":\"fields\",\"type\":{\"struct\":[{\"name\":\"priority\",\"type\":\"string\"},"
         "{\"name\":\"components\",\"type\":{\"list\":\"string\"}}]}}]}"},
    [PQF_GEN_COMMENTS] = {"comments", row_comments, "id,issue_id,author_id,created_at,body,edited",
                          "{\"columns\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
                          "{\"name\":\"issue_id\",\"type\":\"int64\",\"nullable\":false},"
                          "{\"name\":\"author_id\",\"type\":\"int64\",\"nullable\":false},"
                          "{\"name\":\"created_at\",\"type\":\"timestamp_us\",\"nullable\":false},"
                          "{\"name\":\"body\",\"type\":\"string\",\"nullable\":false},"
                          "{\"name\":\"edited\",\"type\":\"bool\",\"nullable\":false}]}",
                          NULL},
    [PQF_GEN_WORKLOGS] =
        {"worklogs", row_worklogs, "id,issue_id,user_id,started_at,seconds,billable,rate,comment",
         "{\"columns\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
         "{\"name\":\"issue_id\",\"type\":\"int64\",\"nullable\":false},"
         "{\"name\":\"user_id\",\"type\":\"int64\",\"nullable\":false},"
         "{\"name\":\"started_at\",\"type\":\"timestamp_us\",\"nullable\":false},"
         "{\"name\":\"seconds\",\"type\":\"int32\",\"nullable\":false},"
         "{\"name\":\"billable\",\"type\":\"bool\",\"nullable\":false},"
         "{\"name\":\"rate\",\"type\":\"decimal(12,2)\"},"
         "{\"name\":\"comment\",\"type\":\"string\"}]}",
         NULL},
    [PQF_GEN_MIXED] = {"mixed", row_mixed,
                       "id,i32,f64,flag,ts,day,category,uid,maybe_int,amount",
                       "{\"columns\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
                       "{\"name\":\"i32\",\"type\":\"int32\",\"nullable\":false},"
                       "{\"name\":\"f64\",\"type\":\"double\",\"nullable\":false},"
                       "{\"name\":\"flag\",\"type\":\"bool\",\"nullable\":false},"
                       "{\"name\":\"ts\",\"type\":\"timestamp_us\",\"nullable\":false},"
                       "{\"name\":\"day\",\"type\":\"date\",\"nullable\":false},"
                       "{\"name\":\"category\",\"type\":\"string\",\"nullable\":false},"
                       "{\"name\":\"uid\",\"type\":\"string\",\"nullable\":false},"
                       "{\"name\":\"maybe_int\",\"type\":\"int64\"},"
                       "{\"name\":\"amount\",\"type\":\"decimal(18,2)\",\"nullable\":false}]}",
                       NULL},
};

void pqf_gen_opts_init(pqf_gen_opts *o)
{
    o->rows = 1000;
    o->seed = 1;
    o->format = PQF_FORMAT_CSV;
}

const char *pqf_gen_table_name(pqf_gen_table t)
{
    return (unsigned)t < PQF_GEN__COUNT ? tables[t].name : "?";
}

pqf_err pqf_gen_table_from_name(const char *name, pqf_gen_table *t)
{
    for (int i = 0; i < PQF_GEN__COUNT; i++)
        if (name && strcmp(name, tables[i].name) == 0) {
            *t = (pqf_gen_table)i;
            return PQF_OK;
        }
    return PQF_ERR_INVALID_ARG;
}

pqf_err pqf_gen_schema(pqf_gen_table t, pqf_format format, pqf_schema **out, pqf_error *err)
{
    if ((unsigned)t >= PQF_GEN__COUNT)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "unknown generator table %d", (int)t);
    const char *js = format == PQF_FORMAT_NDJSON && tables[t].schema_ndjson
                         ? tables[t].schema_ndjson
                         : tables[t].schema_csv;
    return pqf_schema_from_json(js, strlen(js), tables[t].name, out, err);
}

pqf_err pqf_gen_write(pqf_gen_table t, const pqf_gen_opts *opts, pqf_ostream *os, pqf_error *err)
{
    pqf_gen_opts d;
    if (!opts) {
        pqf_gen_opts_init(&d);
        opts = &d;
    }
    if ((unsigned)t >= PQF_GEN__COUNT)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "unknown generator table %d", (int)t);
    gout o = {0};
    o.buf = malloc(OUT_CAP);
    if (!o.buf)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    o.cap = OUT_CAP;
    o.os = os;
    o.fmt = opts->format == PQF_FORMAT_NDJSON ? PQF_FORMAT_NDJSON : PQF_FORMAT_CSV;
    if (o.fmt == PQF_FORMAT_CSV) {
        raw(&o, tables[t].csv_header, strlen(tables[t].csv_header));
        ch(&o, '\n');
    }
    uint64_t rows = opts->rows;
    for (uint64_t i = 1; i <= rows && o.rc == PQF_OK; i++) {
        rng r;
        rng_seed(&r, opts->seed, (uint64_t)t + 1, i);
        room(&o, OUT_SLACK);
        tables[t].fn(&o, &r, i, rows);
    }
    flush(&o);
    free(o.buf);
    if (o.rc != PQF_OK)
        return pqf_error_set(err, o.rc, "%s", pqf_ostream_error(os)->msg);
    return PQF_OK;
}

pqf_err pqf_gen_to_dir(pqf_gen_table t, const pqf_gen_opts *opts, const char *dir, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_schema *s = NULL;
    pqf_ostream *os = NULL;
    char path[4096];
    pqf_gen_opts d;
    if (!opts) {
        pqf_gen_opts_init(&d);
        opts = &d;
    }
    bool nd = opts->format == PQF_FORMAT_NDJSON;
    PQF_TRY(pqf__mkdirs(dir, err));
    PQF_TRY(pqf_gen_schema(t, opts->format, &s, err));
    snprintf(path, sizeof path, "%s%s%s.schema.json", dir, pqf__path_sep(dir),
             pqf_gen_table_name(t));
    PQF_TRY(pqf_schema_save_json(s, path, err));
    snprintf(path, sizeof path, "%s%s%s.%s", dir, pqf__path_sep(dir), pqf_gen_table_name(t),
             nd ? "ndjson" : "csv");
    PQF_TRY(pqf_ostream_file(path, &os, err));
    PQF_TRY(pqf_gen_write(t, opts, os, err));
    rc = pqf_ostream_commit(os);
    if (rc != PQF_OK)
        PQF_FAIL(err, rc, "%s", pqf_ostream_error(os)->msg);
done:
    pqf_ostream_free(os);
    pqf_schema_free(s);
    return rc;
}

/* ---- hourly increments ------------------------------------------------------- */

/* 2026-01-05T00:00:00Z: the increments' first hour (after every created_at). */
#define INCR_T0 1767571200000000LL
#define HOUR_US 3600000000LL

typedef struct {
    uint64_t id;
    int64_t upd;
    uint32_t version;
    bool del;
} gevent;

static int ev_cmp(const void *a, const void *b)
{
    const gevent *x = a, *y = b;
    return x->upd < y->upd ? -1 : x->upd > y->upd;
}

static pqf_err write_page(const pqf_gen_opts *opts, const char *path, const gevent *ev, size_t n,
                          uint64_t base_rows, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_ostream *os = NULL;
    gout o = {0};
    PQF_TRY(pqf_ostream_file(path, &os, err));
    o.buf = malloc(OUT_CAP);
    if (!o.buf)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    o.cap = OUT_CAP;
    o.os = os;
    o.fmt = PQF_FORMAT_NDJSON;
    o.incr = true;
    for (size_t i = 0; i < n && o.rc == PQF_OK; i++) {
        rng r;
        /* version 0 is the row as the snapshot generator makes it */
        rng_seed(&r, opts->seed + ev[i].version * 0x9E3779B97F4A7C15ull, (uint64_t)PQF_GEN_ISSUES + 1,
                 ev[i].id);
        o.upd = ev[i].upd;
        o.del = ev[i].del;
        o.ins = ev[i].version == 0;
        room(&o, OUT_SLACK);
        row_issues(&o, &r, ev[i].id, base_rows);
    }
    flush(&o);
    if (o.rc != PQF_OK)
        PQF_FAIL(err, o.rc, "%s", pqf_ostream_error(os)->msg);
    rc = pqf_ostream_commit(os);
    if (rc != PQF_OK)
        PQF_FAIL(err, rc, "%s", pqf_ostream_error(os)->msg);
done:
    free(o.buf);
    pqf_ostream_free(os);
    return rc;
}

pqf_err pqf_gen_increments(const pqf_gen_opts *opts, unsigned hours, uint64_t page_rows,
                           const char *dir, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    uint64_t n = opts->rows ? opts->rows : 1000;
    uint64_t ups = n / 10 ? n / 10 : 1, ins = n / 20 ? n / 20 : 1, dels = n / 100 ? n / 100 : 1;
    uint64_t cap = n + (uint64_t)hours * ins;
    uint32_t *ver = calloc(cap + 1, sizeof *ver);
    uint8_t *state = calloc(cap + 1, 1); /* 0 absent, 1 live, 2 deleted */
    int64_t *upd = calloc(cap + 1, sizeof *upd);
    gevent *ev = malloc((n > ups + ins + dels ? n : ups + ins + dels) * sizeof *ev);
    pqf_schema *s = NULL;
    char path[4096];
    page_rows = page_rows ? page_rows : 500;
    if (!ver || !state || !upd || !ev)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(pqf__mkdirs(dir, err));
    {
        /* the issues schema plus the tombstone column */
        const char *js = tables[PQF_GEN_ISSUES].schema_ndjson;
        size_t jl = strlen(js);
        char *full = malloc(jl + 64);
        if (!full)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        memcpy(full, js, jl - 2); /* drop "]}" */
        strcpy(full + jl - 2, ",{\"name\":\"deleted\",\"type\":\"bool\"}]}");
        rc = pqf_schema_from_json(full, strlen(full), "issues increments", &s, err);
        free(full);
        if (rc != PQF_OK)
            goto done;
        snprintf(path, sizeof path, "%s/issues.schema.json", dir);
        PQF_TRY(pqf_schema_save_json(s, path, err));
    }
    uint64_t next_id = n + 1;
    for (unsigned h = 0; h <= hours; h++) {
        size_t ne = 0;
        int64_t t = INCR_T0 + (int64_t)h * HOUR_US;
        rng r;
        rng_seed(&r, opts->seed, 1000 + h, 7);
        if (h == 0) {
            for (uint64_t id = 1; id <= n; id++)
                ev[ne++] = (gevent){id, t + (int64_t)(id * (uint64_t)(HOUR_US / 2) / n), 0, false};
        } else {
            /* candidates first, then times, then versions in time order, so
             * that a row changed twice in an hour gets its versions in order */
            for (uint64_t k = 0; k < ups + dels; k++)
                ev[ne++] = (gevent){1 + below(&r, next_id - 1), 0, 0, k >= ups};
            for (uint64_t k = 0; k < ins; k++)
                ev[ne++] = (gevent){next_id++, 0, UINT32_MAX, false};
            for (size_t i = 0; i < ne; i++)
                ev[i].upd = t + 1 + (int64_t)below(&r, (uint64_t)HOUR_US - 2);
            qsort(ev, ne, sizeof *ev, ev_cmp); /* an API sorts by updated_at */
            size_t kept = 0;
            for (size_t i = 0; i < ne; i++) {
                gevent e = ev[i];
                if (e.version == UINT32_MAX) {
                    e.version = 0; /* an insert */
                    state[e.id] = 1;
                } else if (state[e.id] != 1) {
                    continue; /* the row was deleted: no more changes */
                } else {
                    e.version = ++ver[e.id];
                    if (e.del)
                        state[e.id] = 2;
                }
                ev[kept++] = e;
            }
            ne = kept;
        }
        for (size_t i = 0; i < ne; i++) {
            if (h == 0)
                state[ev[i].id] = 1;
            upd[ev[i].id] = ev[i].upd;
        }
        snprintf(path, sizeof path, "%s/hour-%04u", dir, h);
        PQF_TRY(pqf__mkdirs(path, err));
        for (size_t p = 0; p * page_rows < ne || (ne == 0 && p == 0); p++) {
            size_t from = p * page_rows, cnt = ne - from < page_rows ? ne - from : page_rows;
            snprintf(path, sizeof path, "%s/hour-%04u/page-%05zu.ndjson", dir, h, p + 1);
            PQF_TRY(write_page(opts, path, ev + from, cnt, n, err));
            if (ne == 0)
                break;
        }
    }
    /* the source table's current state: every live row at its latest version */
    {
        size_t ne = 0;
        gevent *all = realloc(ev, (next_id) * sizeof *ev);
        if (!all)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        ev = all;
        for (uint64_t id = 1; id < next_id; id++)
            if (state[id] == 1)
                ev[ne++] = (gevent){id, upd[id], ver[id], false};
        snprintf(path, sizeof path, "%s/issues.final.ndjson", dir);
        PQF_TRY(write_page(opts, path, ev, ne, n, err));
    }
done:
    pqf_schema_free(s);
    free(ver);
    free(state);
    free(upd);
    free(ev);
    return rc;
}
