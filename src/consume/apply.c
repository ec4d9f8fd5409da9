/* The ordered consumer: the gate (hash chain, files present with size and
 * SHA-256), waiting for late files, and one sink transaction per commit with
 * its checkpoint. See include/pqfeed/apply.h. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/timefmt.h"
#include "base/crash.h"
#include "base/hash.h"
#include "consume/sink.h"
#include "pqfeed/apply.h"
#include "pqfeed/contract.h"
#include "pqfeed/reader.h"
#include "source/json.h"

#define MAX_BACKOFF_MS 30000
#define SCHEMA_READ_LIMIT ((size_t)16 << 20)

/* ---- sinks --------------------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static pqf_err sink_open(const char *uri, bool readonly, pqf_sink **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_sink *s = NULL;
    *out = NULL;
    if (!uri || !*uri)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "no sink given");
    if (strncmp(uri, "postgres://", 11) == 0 || strncmp(uri, "postgresql://", 13) == 0)
        PQF_TRY(pqf__sink_pg_open(uri, &s, err));
    else if (strncmp(uri, "postgres:", 9) == 0)
        PQF_TRY(pqf__sink_pg_open(uri + 9, &s, err));
    else if (strncmp(uri, "parquet:", 8) == 0 && uri[8])
        PQF_TRY(pqf__sink_parquet_open(uri + 8, &s, err));
    else if (strncmp(uri, "sqlite:", 7) == 0 && uri[7])
        PQF_TRY(pqf__sink_sqlite_open(uri + 7, readonly, &s, err));
    else if (ends_with(uri, ".db") || ends_with(uri, ".sqlite") || ends_with(uri, ".sqlite3"))
        PQF_TRY(pqf__sink_sqlite_open(uri, readonly, &s, err));
    else
        PQF_FAIL(err, PQF_ERR_INVALID_ARG,
                 "sink '%s': expected sqlite:PATH, a .db/.sqlite file, postgres://..., "
                 "postgres:CONNINFO or parquet:STORE-URL",
                 uri);
    s->readonly = readonly;
    if (!readonly)
        PQF_TRY(s->vt->setup(s, err));
    *out = s;
    s = NULL;
done:
    pqf_sink_free(s);
    return rc;
}

pqf_err pqf_sink_open(const char *uri, pqf_sink **out, pqf_error *err)
{
    return sink_open(uri, false, out, err);
}

pqf_err pqf_sink_open_readonly(const char *uri, pqf_sink **out, pqf_error *err)
{
    return sink_open(uri, true, out, err);
}

void pqf_sink_free(pqf_sink *s)
{
    if (s)
        s->vt->destroy(s);
}

const char *pqf_sink_kind(const pqf_sink *s)
{
    return s->vt->kind;
}
const char *pqf_sink_name(const pqf_sink *s)
{
    return s->name;
}

void pqf_apply_opts_init(pqf_apply_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_delay_ms = 30 * 60 * 1000;
    o->backoff_ms = 200;
    o->poll_ms = 10000;
    o->max_file_bytes = (uint64_t)1 << 30;
}

/* ---- clocks ------------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static bool stopped(const pqf_apply_opts *o)
{
    return o->stop && *o->stop;
}

/* Sleep ms in short slices; false when *stop was set meanwhile. */
static bool nap(const pqf_apply_opts *o, int64_t ms)
{
    int64_t end = mono_ms() + ms;
    while (!stopped(o)) {
        int64_t left = end - mono_ms();
        if (left <= 0)
            return true;
        int64_t slice = PQF_MIN(left, (int64_t)100);
        struct timespec ts = {(time_t)(slice / 1000), (long)(slice % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

/* ---- the log ------------------------------------------------------------------------ */

typedef struct {
    size_t prefix_len;
    uint64_t max;
} log_scan;

static bool on_log_key(void *ud, const pqf_object_info *info)
{
    log_scan *h = ud;
    const char *name = info->key + h->prefix_len;
    if (info->is_prefix || strlen(info->key) < h->prefix_len || strlen(name) != 25 ||
        strcmp(name + 20, ".json") != 0)
        return true;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (!isdigit((unsigned char)name[i]))
            return true;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    if (v > h->max)
        h->max = v;
    return true;
}

/* Highest seq in the log; unlike pqf_feed_head a gap is no error here: at a
 * replica a commit object can arrive after later ones (it is then late). */
static pqf_err log_max(pqf_feed *f, const char *table, uint64_t *max, pqf_error *err)
{
    char prefix[PQF_TABLE_NAME_MAX + 16];
    snprintf(prefix, sizeof prefix, "%s/_log/", table);
    log_scan h = {strlen(prefix), 0};
    pqf_list_options lo = {.delimiter = "/"};
    pqf_err rc = pqf_store_list(pqf_feed_store(f), prefix, &lo, on_log_key, &h, err);
    *max = h.max;
    return rc;
}

/* ---- one run -------------------------------------------------------------------------- */

typedef enum { OUT_APPLIED, OUT_LATE, OUT_CORRUPT } outcome;

typedef struct {
    pqf_feed *f;
    pqf_sink *s;
    const pqf_apply_opts *o;
    pqf_apply_result *res;
    pqf__tdef *tdef; /* the current table's definition at tdef->schema_version */
    pqf__val *vals;
    size_t nvals;
    /* what the current commit waits for (OUT_LATE / OUT_CORRUPT) */
    char key[1024];
    char detail[PQF_ERROR_MSG_MAX];
    char got_sha[65], want_sha[65];
} run;

static void emit(run *r, pqf_apply_event_kind kind, const char *table, uint64_t seq,
                 const char *key, const char *detail, uint64_t rows, int64_t wait_ms)
{
    if (!r->o->on_event)
        return;
    pqf_apply_event ev = {kind, table, seq, key, detail, rows, wait_ms};
    r->o->on_event(r->o->ud, &ev);
}

static pqf_err load_tdef(run *r, const char *table, int version, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char key[PQF_TABLE_NAME_MAX + 40];
    uint8_t *data = NULL;
    size_t len = 0;
    if (r->tdef && r->tdef->schema_version == version && strcmp(r->tdef->table, table) == 0)
        return PQF_OK;
    pqf__tdef_free(r->tdef);
    r->tdef = NULL;
    snprintf(key, sizeof key, "%s/_schema/%06d.json", table, version);
    PQF_TRY(
        pqf_store_get_bytes(pqf_feed_store(r->f), key, NULL, SCHEMA_READ_LIMIT, &data, &len, err));
    PQF_TRY(
        pqf__tdef_from_schema_json(table, version, (const char *)data, len, key, &r->tdef, err));
    if (r->nvals < r->tdef->ncols + 2) {
        pqf__val *v = realloc(r->vals, (r->tdef->ncols + 2) * sizeof *v);
        if (!v)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        r->vals = v;
        r->nvals = r->tdef->ncols + 2;
    }
done:
    free(data);
    return rc;
}

typedef pqf_err (*row_fn)(pqf_sink *s, const pqf__val *vals, pqf_error *err);

/* Parse one data file's bytes (already verified) as table t: typed values
 * column by column (pqf__colread), fn called once per row; the row count
 * must be the commit's. */
static pqf_err each_row(run *r, const pqf_commit_file *cf, const uint8_t *data, size_t len,
                        const pqf__tdef *t, bool changes, row_fn fn, uint64_t *rows,
                        pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_istream *in = NULL;
    pqf_reader *rd = NULL;
    pqf__colread *cr = NULL;
    uint64_t n = 0;
    PQF_TRY(pqf_istream_mem(data, len, cf->key, &in, err));
    PQF_TRY(pqf_reader_open(in, NULL, &rd, err));
    PQF_TRY(pqf__colread_open(rd, t, changes, cf->key, &cr, err));
    for (;;) {
        bool got = false;
        PQF_TRY(pqf__colread_next(cr, r->vals, &got, err));
        if (!got)
            break;
        rc = fn(r->s, r->vals, err);
        if (rc != PQF_OK) {
            pqf_error_prefix(err, "%s: row %" PRIu64 ": ", cf->key, n + 1);
            goto done;
        }
        n++;
    }
    if (n != cf->rows)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: %" PRIu64 " rows, the commit says %" PRIu64, cf->key, n,
                 cf->rows);
    *rows += n;
done:
    pqf__colread_free(cr);
    pqf_reader_free(rd);
    pqf_istream_free(in);
    return rc;
}

/* Read commit file cf whole and check its hash: *out stays OUT_APPLIED
 * when *data holds its verified bytes, else OUT_LATE or OUT_CORRUPT (r->key,
 * r->detail say which file and why). */
static pqf_err fetch_file(run *r, const pqf_commit_file *cf, uint8_t **data, size_t *len,
                          outcome *out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_store *st = pqf_feed_store(r->f);
    pqf_error e2 = {0};
    free(*data);
    *data = NULL;
    *len = 0;
    if (cf->bytes > r->o->max_file_bytes)
        PQF_FAIL(err, PQF_ERR_LIMIT,
                 "%s: %" PRIu64 " bytes, more than the largest file apply reads (%" PRIu64 ")",
                 cf->key, cf->bytes, r->o->max_file_bytes);
    /* One read: the bytes hashed are the bytes parsed. */
    pqf_err r2 = pqf_store_get_bytes(st, cf->key, NULL, (size_t)cf->bytes + 1, data, len, &e2);
    if (r2 == PQF_ERR_NOT_FOUND || r2 == PQF_ERR_LIMIT || (r2 == PQF_OK && *len != cf->bytes)) {
        *out = OUT_LATE;
        snprintf(r->key, sizeof r->key, "%s", cf->key);
        snprintf(r->detail, sizeof r->detail, "%s",
                 r2 == PQF_ERR_NOT_FOUND ? "missing" : "size changed while reading");
        goto done;
    }
    if (r2 != PQF_OK) {
        *err = e2;
        rc = r2;
        goto done;
    }
    uint8_t d[32];
    char hex[65];
    pqf__sha256(*data, *len, d);
    pqf__hex(d, 32, hex);
    if (strcmp(hex, cf->sha256) != 0) {
        *out = OUT_CORRUPT;
        snprintf(r->key, sizeof r->key, "%s", cf->key);
        memcpy(r->got_sha, hex, sizeof r->got_sha);
        memcpy(r->want_sha, cf->sha256, sizeof r->want_sha);
        snprintf(r->detail, sizeof r->detail, "sha256 is %s, the commit says %s", hex, cf->sha256);
    }
done:
    return rc;
}

/* The sink's plan pass over a changes commit: every file read (and checked)
 * once before the load, only its key columns, _op and _seq parsed, each row
 * handed to plan->row in the order load_row will see it. */
static pqf_err plan_commit(run *r, const pqf_commit *c, outcome *out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    const pqf__tdef *t = r->tdef;
    pqf__tdef kt = {0};
    uint8_t *data = NULL;
    size_t len = 0;
    kt.table = t->table;
    kt.schema_version = t->schema_version;
    kt.cols = calloc(t->nkeys, sizeof *kt.cols);
    kt.keys = calloc(t->nkeys, sizeof *kt.keys);
    if (!kt.cols || !kt.keys)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < t->nkeys; k++) {
        kt.cols[k] = t->cols[t->keys[k]]; /* borrowed: kt is not freed with tdef_free */
        kt.keys[k] = k;
    }
    kt.ncols = kt.nkeys = t->nkeys;
    for (size_t i = 0; i < c->nfiles && *out == OUT_APPLIED; i++) {
        const pqf_commit_file *cf = &c->files[i];
        PQF_TRY(fetch_file(r, cf, &data, &len, out, err));
        if (*out != OUT_APPLIED)
            break;
        uint64_t n = 0;
        PQF_TRY(each_row(r, cf, data, len, &kt, true, r->s->plan->row, &n, err));
    }
done:
    free(data);
    free(kt.cols);
    free(kt.keys);
    return rc;
}

/* The gate and the transaction for commit c. *out says whether it was
 * applied, or which file is late or corrupt (r->key, r->detail). */
static pqf_err apply_commit_once(run *r, const pqf_commit *c, outcome *out, uint64_t *rows,
                                 pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_store *st = pqf_feed_store(r->f);
    pqf_sink *s = r->s;
    uint8_t *data = NULL;
    size_t len = 0;
    bool changes = c->kind == PQF_COMMIT_CHANGES;
    bool in_tx = false;
    *out = OUT_APPLIED;
    *rows = 0;
    /* Presence and size first: cheap, and nothing is read while a file is late. */
    for (size_t i = 0; i < c->nfiles; i++) {
        const pqf_commit_file *cf = &c->files[i];
        pqf_object_info info;
        pqf_error e2 = {0};
        memset(&info, 0, sizeof info);
        pqf_err r2 = pqf_store_head(st, cf->key, NULL, &info, &e2);
        if (r2 == PQF_ERR_NOT_FOUND || (r2 == PQF_OK && info.size != cf->bytes)) {
            *out = OUT_LATE;
            snprintf(r->key, sizeof r->key, "%s", cf->key);
            if (r2 == PQF_ERR_NOT_FOUND)
                snprintf(r->detail, sizeof r->detail, "missing");
            else
                snprintf(r->detail, sizeof r->detail, "size %" PRIu64 ", the commit says %" PRIu64,
                         info.size, cf->bytes);
            goto done;
        }
        if (r2 != PQF_OK) {
            *err = e2;
            rc = r2;
            goto done;
        }
    }
    rc = load_tdef(r, c->table, c->schema_version, err);
    if (rc == PQF_ERR_NOT_FOUND) { /* at a replica the schema file can be late too */
        rc = PQF_OK;
        *out = OUT_LATE;
        snprintf(r->key, sizeof r->key, "%s/_schema/%06d.json", c->table, c->schema_version);
        snprintf(r->detail, sizeof r->detail, "missing (schema version %d)", c->schema_version);
        goto done;
    }
    PQF_TRY(rc);
    if (changes && r->tdef->nkeys == 0)
        PQF_FAIL(err, PQF_ERR_SCHEMA,
                 "table %s: commit %" PRIu64 " holds changes but schema version %d has no key",
                 c->table, c->seq, c->schema_version);
    PQF_TRY(s->vt->begin(s, err));
    in_tx = true;
    PQF_TRY(s->vt->sync_table(s, r->tdef, err));
    if (changes && s->plan) {
        bool want = false;
        PQF_TRY(s->plan->begin(s, r->tdef, c->rows, &want, err));
        if (want) {
            PQF_TRY(plan_commit(r, c, out, err));
            if (*out != OUT_APPLIED)
                goto done;
        }
    }
    PQF_TRY(s->vt->load_begin(s, r->tdef, changes, err));
    for (size_t i = 0; i < c->nfiles; i++) {
        const pqf_commit_file *cf = &c->files[i];
        PQF_TRY(fetch_file(r, cf, &data, &len, out, err));
        if (*out != OUT_APPLIED)
            goto done;
        PQF_TRY(each_row(r, cf, data, len, r->tdef, changes, r->s->vt->load_row, rows, err));
        pqf__crashpoint("apply.file-loaded");
    }
    PQF_TRY(s->vt->load_end(s, err));
    char created[48], applied[48];
    pqf__iso_ms(c->created_ms, created);
    pqf__iso_ms(pqf__now_ms(), applied);
    pqf__ckpt_put cp = {
        c->table, c->seq,  c->hash, c->schema_version, changes ? "changes" : "snapshot",
        *rows,    created, applied};
    PQF_TRY(s->vt->put_checkpoint(s, &cp, err));
    pqf__crashpoint("apply.before-commit");
    PQF_TRY(s->vt->commit(s, err));
    in_tx = false;
    pqf__crashpoint("apply.after-commit");
done:
    if (in_tx)
        s->vt->rollback(s);
    if (rc != PQF_OK)
        pqf_error_prefix(err, "table %s: commit %" PRIu64 ": ", c->table, c->seq);
    free(data);
    return rc;
}

/* Apply c; when the sink met its rows out of _seq order (it rolled back),
 * once more through the sink's staged path. */
static pqf_err apply_commit(run *r, const pqf_commit *c, outcome *out, uint64_t *rows,
                            pqf_error *err)
{
    r->s->reorder = r->s->staged = false;
    pqf_err rc = apply_commit_once(r, c, out, rows, err);
    if (rc != PQF_OK && r->s->reorder) {
        memset(err, 0, sizeof *err);
        *rows = 0;
        r->s->staged = true;
        rc = apply_commit_once(r, c, out, rows, err);
    }
    r->s->reorder = r->s->staged = false;
    return rc;
}

static void stop_at(run *r, pqf_apply_stop why, const char *table, uint64_t seq, const char *key)
{
    r->res->stop = why;
    snprintf(r->res->table, sizeof r->res->table, "%s", table);
    r->res->seq = seq;
    snprintf(r->res->key, sizeof r->res->key, "%s", key ? key : "");
}

/* The contract (o->contract) on commit c before apply_commit: a breach stops
 * the run (PQF_APPLY_CONTRACT); a file the check cannot read yet makes the
 * commit late or corrupt (*out), like apply_commit's own gate would. */
static pqf_err contract_gate(run *r, const pqf_commit *c, outcome *out, pqf_error *err)
{
    pqf_contract_unready u;
    char logkey[PQF_TABLE_NAME_MAX + 64];
    pqf_err rc = pqf_contract_enforce_commit(r->f, r->o->contract, c, r->o->max_file_bytes, &u, err);
    if (rc == PQF_ERR_CONTRACT) {
        pqf_feed_log_key(c->table, c->seq, logkey, sizeof logkey);
        stop_at(r, PQF_APPLY_CONTRACT, c->table, c->seq, logkey);
    }
    if (rc != PQF_OK || u.wait == PQF_CONTRACT_READY)
        return rc;
    snprintf(r->key, sizeof r->key, "%s", u.key);
    if (u.wait == PQF_CONTRACT_CORRUPT) {
        *out = OUT_CORRUPT;
        memcpy(r->got_sha, u.got_sha256, sizeof r->got_sha);
        for (size_t i = 0; i < c->nfiles; i++)
            if (strcmp(c->files[i].key, u.key) == 0)
                memcpy(r->want_sha, c->files[i].sha256, sizeof r->want_sha);
        snprintf(r->detail, sizeof r->detail, "sha256 is %s, the commit says %s", r->got_sha,
                 r->want_sha);
    } else {
        *out = OUT_LATE;
        snprintf(r->detail, sizeof r->detail, "missing (or not yet its size)");
    }
    return PQF_OK;
}

/* Waiting for one commit: exponential backoff up to max_delay. */
typedef struct {
    bool active;
    int64_t start, delay;
} waiter;

/* false: the deadline passed (or *stop was set) — do not look again. */
static bool wait_more(run *r, waiter *w, const char *table, uint64_t seq, const char *key,
                      const char *why)
{
    int64_t now = mono_ms();
    if (!w->active) {
        w->active = true;
        w->start = now;
        w->delay = r->o->backoff_ms > 0 ? r->o->backoff_ms : 200;
    }
    int64_t left = r->o->max_delay_ms - (now - w->start);
    if (left <= 0)
        return false;
    int64_t d = PQF_MIN(w->delay, left);
    char detail[PQF_ERROR_MSG_MAX + 64];
    snprintf(detail, sizeof detail, "%s (waited %" PRId64 " ms of %" PRId64 ")", why,
             now - w->start, r->o->max_delay_ms);
    emit(r, PQF_APPLY_EV_WAITING, table, seq, key, detail, 0, d);
    w->delay = PQF_MIN(w->delay * 2, (int64_t)MAX_BACKOFF_MS);
    return nap(r->o, d);
}

/* Apply table's commits after its checkpoint. *idle: nothing new (watch). */
static pqf_err apply_table(run *r, const char *table, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_commit *c = NULL;
    pqf__ckpt ck;
    char prev[65] = "";
    char logkey[PQF_TABLE_NAME_MAX + 64];
    waiter w = {0};
    PQF_TRY(r->s->vt->checkpoint(r->s, table, &ck, err));
    if (ck.seq > 0) {
        pqf_error e2 = {0};
        pqf_err r2 = pqf_feed_read_commit(r->f, table, ck.seq, &c, &e2);
        pqf_feed_log_key(table, ck.seq, logkey, sizeof logkey);
        if (r2 == PQF_ERR_NOT_FOUND || (r2 == PQF_OK && strcmp(c->hash, ck.hash) != 0)) {
            stop_at(r, PQF_APPLY_CHAIN, table, ck.seq, logkey);
            PQF_FAIL(err, PQF_ERR_CORRUPT,
                     "table %s: the sink applied commit %" PRIu64 " (%.12s...) but the feed %s: "
                     "the feed was rewritten; refusing to apply",
                     table, ck.seq, ck.hash,
                     r2 == PQF_ERR_NOT_FOUND ? "has no such commit" : "holds another one there");
        }
        if (r2 != PQF_OK) {
            *err = e2;
            rc = r2;
            goto done;
        }
        memcpy(prev, c->hash, sizeof prev);
        pqf_commit_free(c);
        c = NULL;
    }
    for (uint64_t seq = ck.seq + 1;;) {
        if (stopped(r->o)) {
            stop_at(r, PQF_APPLY_INTERRUPTED, table, seq, NULL);
            goto done;
        }
        if (r->o->until_seq && seq > r->o->until_seq)
            goto done;
        pqf_feed_log_key(table, seq, logkey, sizeof logkey);
        if (!c) {
            pqf_error e2 = {0};
            pqf_err r2 = pqf_feed_read_commit(r->f, table, seq, &c, &e2);
            if (r2 == PQF_ERR_NOT_FOUND) {
                uint64_t max = 0;
                PQF_TRY(log_max(r->f, table, &max, err));
                if (max <= seq)
                    goto done; /* the head: nothing more (yet) */
                /* later commits are there, this one is not: late */
                if (!wait_more(r, &w, table, seq, logkey, "commit object missing")) {
                    if (stopped(r->o)) {
                        stop_at(r, PQF_APPLY_INTERRUPTED, table, seq, NULL);
                        goto done;
                    }
                    stop_at(r, PQF_APPLY_LATE, table, seq, logkey);
                    PQF_FAIL(err, PQF_ERR_TIMEOUT,
                             "table %s: commit %" PRIu64
                             " is late: %s is still missing after %" PRId64
                             " ms (commits up to %" PRIu64 " exist)",
                             table, seq, logkey, r->o->max_delay_ms, max);
                }
                continue;
            }
            if (r2 == PQF_ERR_CORRUPT || r2 == PQF_ERR_UNSUPPORTED || r2 == PQF_ERR_LIMIT) {
                stop_at(r, PQF_APPLY_CHAIN, table, seq, logkey);
                *err = e2;
                rc = PQF_ERR_CORRUPT;
                goto done;
            }
            if (r2 != PQF_OK) {
                *err = e2;
                rc = r2;
                goto done;
            }
            if (strcmp(c->prev, prev) != 0) {
                stop_at(r, PQF_APPLY_CHAIN, table, seq, logkey);
                PQF_FAIL(err, PQF_ERR_CORRUPT,
                         "table %s: commit %" PRIu64
                         " breaks the hash chain: %s has prev %.12s..., "
                         "commit %" PRIu64 " hashes to %.12s...",
                         table, seq, logkey, c->prev[0] ? c->prev : "(none)", seq - 1,
                         prev[0] ? prev : "(none)");
            }
        }
        outcome oc = OUT_APPLIED;
        uint64_t rows = 0;
        if (r->o->contract) /* contract hook: before the commit enters the sink */
            PQF_TRY(contract_gate(r, c, &oc, err));
        if (oc == OUT_APPLIED)
            PQF_TRY(apply_commit(r, c, &oc, &rows, err));
        if (oc == OUT_APPLIED) {
            r->res->commits++;
            r->res->rows += rows;
            emit(r, PQF_APPLY_EV_APPLIED, table, seq, NULL,
                 c->kind == PQF_COMMIT_CHANGES ? "changes" : "snapshot", rows, 0);
            memcpy(prev, c->hash, sizeof prev);
            pqf_commit_free(c);
            c = NULL;
            memset(&w, 0, sizeof w);
            seq++;
            continue;
        }
        if (oc == OUT_CORRUPT) {
            char at[48];
            pqf__iso_ms(pqf__now_ms(), at);
            pqf__quarantine_put q = {table, seq, r->key, r->want_sha, r->got_sha, at};
            PQF_TRY(r->s->vt->quarantine(r->s, &q, err));
            emit(r, PQF_APPLY_EV_QUARANTINED, table, seq, r->key, r->detail, 0, 0);
        }
        char why[PQF_ERROR_MSG_MAX + 32];
        snprintf(why, sizeof why, "%s: %s", oc == OUT_CORRUPT ? "corrupt" : "late", r->detail);
        if (!wait_more(r, &w, table, seq, r->key, why)) {
            if (stopped(r->o)) {
                stop_at(r, PQF_APPLY_INTERRUPTED, table, seq, NULL);
                goto done;
            }
            if (oc == OUT_CORRUPT) {
                stop_at(r, PQF_APPLY_CORRUPT, table, seq, r->key);
                PQF_FAIL(err, PQF_ERR_CHECKSUM,
                         "table %s: commit %" PRIu64 ": file %s is corrupt: %s (quarantined; "
                         "nothing of commit %" PRIu64 " was applied)",
                         table, seq, r->key, r->detail, seq);
            }
            stop_at(r, PQF_APPLY_LATE, table, seq, r->key);
            PQF_FAIL(err, PQF_ERR_TIMEOUT,
                     "table %s: commit %" PRIu64 ": file %s is late: %s after %" PRId64 " ms",
                     table, seq, r->key, r->detail, r->o->max_delay_ms);
        }
    }
done:
    pqf_commit_free(c);
    return rc;
}

static pqf_err table_list(pqf_feed *f, const char *const *want, size_t nwant, char ***names,
                          size_t *n, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    if (!want)
        return pqf_feed_tables(f, names, n, err);
    *names = calloc(nwant + 1, sizeof **names);
    *n = 0;
    if (!*names)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nwant; i++) {
        if (!pqf_table_name_ok(want[i]))
            PQF_FAIL(err, PQF_ERR_INVALID_ARG, "'%s' is not a valid table name", want[i]);
        if (!((*names)[i] = strdup(want[i])))
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        (*n)++;
    }
done:
    if (rc != PQF_OK) {
        pqf_strv_free(*names, *n);
        *names = NULL;
        *n = 0;
    }
    return rc;
}

pqf_err pqf_apply(pqf_feed *f, pqf_sink *s, const pqf_apply_opts *o, pqf_apply_result *res,
                  pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_apply_opts defaults;
    char **tables = NULL;
    size_t ntables = 0;
    run r;
    memset(&r, 0, sizeof r);
    memset(res, 0, sizeof *res);
    if (!o) {
        pqf_apply_opts_init(&defaults);
        o = &defaults;
    }
    if (s->readonly)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: opened read-only (for status): cannot apply",
                 s->name);
    r.f = f;
    r.s = s;
    r.o = o;
    r.res = res;
    for (;;) {
        pqf_strv_free(tables, ntables);
        tables = NULL;
        ntables = 0;
        /* re-listed each round: in watch mode new tables appear */
        PQF_TRY(table_list(f, o->tables, o->ntables, &tables, &ntables, err));
        for (size_t i = 0; i < ntables; i++) {
            PQF_TRY(apply_table(&r, tables[i], err));
            if (res->stop != PQF_APPLY_DONE)
                goto done;
        }
        if (!o->watch)
            break;
        if (!nap(o, o->poll_ms > 0 ? o->poll_ms : 10000)) {
            res->stop = PQF_APPLY_INTERRUPTED;
            break;
        }
    }
done:
    pqf_strv_free(tables, ntables);
    pqf__tdef_free(r.tdef);
    free(r.vals);
    return rc;
}

/* ---- status ------------------------------------------------------------------------- */

pqf_err pqf_apply_status(pqf_feed *f, pqf_sink *s, const char *const *want, size_t nwant,
                         pqf_apply_status_cb cb, void *ud, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char **tables = NULL;
    size_t ntables = 0;
    pqf_commit *c = NULL;
    char waiting[1200];
    PQF_TRY(table_list(f, want, nwant, &tables, &ntables, err));
    for (size_t t = 0; t < ntables; t++) {
        pqf__ckpt ck;
        uint64_t head = 0;
        pqf_apply_table_status st;
        memset(&st, 0, sizeof st);
        st.table = tables[t];
        PQF_TRY(s->vt->checkpoint(s, tables[t], &ck, err));
        PQF_TRY(log_max(f, tables[t], &head, err));
        st.applied_seq = ck.seq;
        st.head_seq = head;
        st.applied_at = ck.applied_at;
        pqf_error e2 = {0};
        if (ck.seq && pqf_feed_read_commit(f, tables[t], ck.seq, &c, &e2) == PQF_OK) {
            st.applied_created_ms = c->created_ms;
            if (strcmp(c->hash, ck.hash) != 0) {
                snprintf(waiting, sizeof waiting,
                         "nothing: the feed's commit %" PRIu64 " differs from the applied one "
                         "(rewritten feed)",
                         ck.seq);
                st.waiting_for = waiting;
            }
        }
        pqf_commit_free(c);
        c = NULL;
        if (head && pqf_feed_read_commit(f, tables[t], head, &c, &e2) == PQF_OK)
            st.head_created_ms = c->created_ms;
        pqf_commit_free(c);
        c = NULL;
        if (!st.waiting_for && head > ck.seq) {
            pqf_err r2 = pqf_feed_read_commit(f, tables[t], ck.seq + 1, &c, &e2);
            char key[PQF_TABLE_NAME_MAX + 64];
            pqf_feed_log_key(tables[t], ck.seq + 1, key, sizeof key);
            if (r2 == PQF_ERR_NOT_FOUND) {
                snprintf(waiting, sizeof waiting, "%s: missing (commit object)", key);
            } else if (r2 != PQF_OK) {
                snprintf(waiting, sizeof waiting, "%s: %s", key, e2.msg);
            } else {
                snprintf(waiting, sizeof waiting, "commit %" PRIu64 ": ready", ck.seq + 1);
                for (size_t i = 0; i < c->nfiles; i++) {
                    pqf_object_info info;
                    memset(&info, 0, sizeof info);
                    r2 = pqf_store_head(pqf_feed_store(f), c->files[i].key, NULL, &info, &e2);
                    if (r2 == PQF_ERR_NOT_FOUND) {
                        snprintf(waiting, sizeof waiting, "%s: missing", c->files[i].key);
                        break;
                    }
                    if (r2 == PQF_OK && info.size != c->files[i].bytes) {
                        snprintf(waiting, sizeof waiting,
                                 "%s: size %" PRIu64 ", the commit says %" PRIu64, c->files[i].key,
                                 info.size, c->files[i].bytes);
                        break;
                    }
                }
            }
            st.waiting_for = waiting;
            pqf_commit_free(c);
            c = NULL;
        }
        cb(ud, &st);
    }
done:
    pqf_commit_free(c);
    pqf_strv_free(tables, ntables);
    return rc;
}
