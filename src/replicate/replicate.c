/* Replication engine (include/pqfeed/replicate.h).
 *
 * One coordinator thread per run walks the (replica, table) links one after
 * the other. For a link it keeps a window of the next `lookahead` commits of
 * the primary; their files become jobs, dispatched in seq order to a pool of
 * worker threads within the concurrency and memory budgets, so the files of
 * commits N..N+k are in flight while N waits for its last file. Workers only
 * move and check bytes; every state write, every publication and every
 * decision (retry, give up) is the coordinator's, so SQLite sees one thread
 * and commit objects are written strictly in order.
 */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/crash.h"
#include "base/hash.h"
#include "feed/feed_impl.h"
#include "pqfeed/feed.h"
#include "pqfeed/replicate.h"
#include "replicate/repl_impl.h"
#include "replicate/state.h"

#define COMMIT_MAX_BYTES (64u << 20)
#define SMALL_MAX_BYTES (16u << 20) /* schema files, _feed.json */
#define LOOKAHEAD_MAX 1024
#define BACKOFF_CAP_MS 10000

void pqf_replicate_opts_init(pqf_replicate_opts *o)
{
    memset(o, 0, sizeof *o);
}

const char *pqf_repl_stage_name(pqf_repl_stage s)
{
    switch (s) {
    case PQF_STAGE_LISTING:
        return "listing";
    case PQF_STAGE_READ:
        return "reading source";
    case PQF_STAGE_WRITE:
        return "writing target";
    case PQF_STAGE_VERIFY:
        return "verifying";
    default:
        return "?";
    }
}

int64_t pqf__repl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pqf__schema_key(const char *table, int version, char *buf, size_t cap)
{
    /* The layout export.c writes (docs/DESIGN.md "A feed in a store"). */
    snprintf(buf, cap, "%s/_schema/%06d.json", table, version);
}

/* ---- jobs and the worker pool ------------------------------------------------------ */

typedef enum { J_WAIT, J_RUNNING, J_DONE, J_FAILED } job_state;

typedef struct link_ctx link_ctx;
typedef struct wcommit wcommit;

typedef struct job {
    struct job *next;
    link_ctx *L;
    wcommit *wc;
    const pqf_commit_file *f;
    job_state st;
    unsigned attempts;    /* this run */
    bool verified_before; /* state says verified: a HEAD suffices */
    bool probe;           /* an earlier attempt started: the object may be there */
    int64_t due_ms;       /* a retry waits until then */
    uint64_t reserve;     /* budget held while running */
    /* Filled by the worker: */
    pqf_err rc;
    pqf_error err;
    const char *cause;
    bool retryable;
    bool transferred; /* false: found at the replica already */
    uint64_t stage_ns[PQF_STAGE__COUNT];
} job;

struct wcommit {
    pqf_commit *c;
    uint8_t *raw; /* the primary's exact commit object bytes */
    size_t rawlen;
    job *jobs;
    size_t left; /* jobs not done */
    bool failed;
};

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    job *work_head, *work_tail;
    job *done;
    bool quit;
    pthread_t *threads;
    unsigned nthreads;
} pool;

typedef struct run_ctx {
    const pqf_replicate_opts *o;
    unsigned concurrency, lookahead, max_attempts, retry_base_ms;
    uint64_t max_inflight, transfer_bytes;
    pqf__rstate *st;
    pool pool;
    pqf_replicate_result res;
    pqf_err first_rc;
    pqf_error first_err;
    uint64_t rng;
} run_ctx;

struct link_ctx {
    run_ctx *r;
    pqf_store *src, *dst;
    pqf_feed *sf, *df;
    pqf__rlink id;
    const char *table;
    uint64_t head;      /* the primary's */
    uint64_t published; /* the replica's */
    uint64_t next_load;
    char prev_hash[65]; /* of the last commit loaded (or published) */
    int schema_ok;      /* schema version known present at the replica */
    wcommit *win;       /* ring of r->lookahead */
    size_t win_first, win_n;
    unsigned inflight;
    uint64_t inflight_bytes;
    bool failed;
    uint64_t fail_seq; /* jobs of commits at or past this are not started */
    pqf_err rc;
    pqf_error err;
    /* counters not yet flushed to the state file */
    uint64_t stage_ns[PQF_STAGE__COUNT];
    uint64_t copied, skipped, bytes;
};

/* ---- the bytes: copy, check ------------------------------------------------------------ */

typedef struct tee {
    pqf_ostream *dst;
    pqf__sha256_ctx sha;
    uint64_t bytes, cap;
    uint64_t write_ns;
    bool dst_failed, too_big;
} tee;

static pqf_err tee_write(void *impl, const void *data, size_t len, pqf_error *err)
{
    tee *t = impl;
    if (len > t->cap - t->bytes) {
        t->too_big = true;
        return pqf_error_set(err, PQF_ERR_CORRUPT, "the source is larger than the commit says");
    }
    uint64_t t0 = mono_ns();
    pqf_err rc = pqf_ostream_write(t->dst, data, len);
    t->write_ns += mono_ns() - t0;
    if (rc != PQF_OK) {
        t->dst_failed = true;
        *err = *pqf_ostream_error(t->dst);
        return rc;
    }
    pqf__sha256_update(&t->sha, data, len);
    t->bytes += len;
    return PQF_OK;
}

static pqf_err tee_commit(void *impl, pqf_error *err)
{
    return PQF_OK;
}
static void tee_abort(void *impl) {}
static void tee_destroy(void *impl) {}
static const pqf_ostream_vt tee_vt = {tee_write, tee_commit, tee_abort, tee_destroy};

static bool retryable_code(pqf_err rc)
{
    return rc == PQF_ERR_NET || rc == PQF_ERR_REMOTE || rc == PQF_ERR_TIMEOUT || rc == PQF_ERR_IO ||
           rc == PQF_ERR_NOMEM || rc == PQF_ERR_PRECONDITION;
}

static void job_fail(job *j, pqf_err rc, const char *cause, bool retryable)
{
    j->rc = rc;
    j->cause = cause;
    j->retryable = retryable;
    if (j->err.code == PQF_OK)
        j->err.code = rc;
}

static void add_ns(job *j, pqf_repl_stage s, uint64_t t0)
{
    j->stage_ns[s] += mono_ns() - t0;
}

/* Hash the replica's copy; PQF_OK and *match. */
static pqf_err hash_at_replica(job *j, bool *match)
{
    char hex[65];
    uint64_t t0 = mono_ns();
    pqf_err rc = pqf__hash_object(j->L->dst, j->f->key, j->f->bytes, hex, &j->err);
    add_ns(j, PQF_STAGE_VERIFY, t0);
    *match = rc == PQF_OK && strcmp(hex, j->f->sha256) == 0;
    if (rc == PQF_OK && !*match)
        pqf_error_set(&j->err, PQF_ERR_CHECKSUM,
                      "%s: read back from the replica, sha256 is %.12s..., the commit says "
                      "%.12s...",
                      j->f->key, hex, j->f->sha256);
    return rc;
}

static void copy_streamed(job *j)
{
    link_ctx *L = j->L;
    const pqf_commit_file *f = j->f;
    pqf_ostream *os = NULL, *ts = NULL;
    tee t;
    memset(&t, 0, sizeof t);
    pqf_object_info info;
    memset(&info, 0, sizeof info);
    pqf_put_options po = {.size_hint = f->bytes};
    bool match = false;
    uint8_t d[32];
    char hex[65];
    if (pqf__sha256_init(&t.sha) != 0) {
        pqf_error_set(&j->err, PQF_ERR_NOMEM, "out of memory");
        job_fail(j, PQF_ERR_NOMEM, "read-source", true);
        goto done;
    }
    t.cap = f->bytes;
    uint64_t t0 = mono_ns();
    pqf_err rc = pqf_store_put(L->dst, f->key, &po, &os, &j->err);
    if (rc != PQF_OK) {
        add_ns(j, PQF_STAGE_WRITE, t0);
        job_fail(j, rc, "write-target", retryable_code(rc));
        goto done;
    }
    t.dst = os;
    ts = pqf_ostream_create(&tee_vt, &t, 0);
    if (!ts) {
        pqf_error_set(&j->err, PQF_ERR_NOMEM, "out of memory");
        job_fail(j, PQF_ERR_NOMEM, "read-source", true);
        goto done;
    }
    rc = pqf_store_get_to(L->src, f->key, NULL, ts, &info, &j->err);
    uint64_t total = mono_ns() - t0;
    j->stage_ns[PQF_STAGE_WRITE] += t.write_ns;
    j->stage_ns[PQF_STAGE_READ] += total > t.write_ns ? total - t.write_ns : 0;
    if (rc != PQF_OK) {
        if (t.too_big)
            job_fail(j, PQF_ERR_CORRUPT, "size", false);
        else if (t.dst_failed)
            job_fail(j, rc, "write-target", retryable_code(rc));
        else if (rc == PQF_ERR_NOT_FOUND)
            job_fail(j, rc, "missing-at-source", false);
        else
            job_fail(j, rc, "read-source", retryable_code(rc));
        pqf_error_prefix(&j->err, "%s: ", f->key);
        goto done;
    }
    if (t.bytes != f->bytes) {
        pqf_error_set(&j->err, PQF_ERR_CORRUPT,
                      "%s: the source has %" PRIu64 " bytes, the commit says %" PRIu64, f->key,
                      t.bytes, f->bytes);
        job_fail(j, PQF_ERR_CORRUPT, "size", false);
        goto done;
    }
    pqf__sha256_final(&t.sha, d);
    t.sha.ctx = NULL;
    pqf__hex(d, 32, hex);
    if (strcmp(hex, f->sha256) != 0) {
        /* Aborted below: the corrupted bytes never become visible at the replica. */
        pqf_error_set(&j->err, PQF_ERR_CHECKSUM,
                      "%s: the source's sha256 is %.12s..., the commit says %.12s... (the "
                      "object changed after its commit)",
                      f->key, hex, f->sha256);
        job_fail(j, PQF_ERR_CHECKSUM, "checksum", false);
        goto done;
    }
    t0 = mono_ns();
    rc = pqf_ostream_commit(os);
    add_ns(j, PQF_STAGE_WRITE, t0);
    if (rc != PQF_OK) {
        j->err = *pqf_ostream_error(os);
        pqf_error_prefix(&j->err, "%s: ", f->key);
        job_fail(j, rc, "write-target", retryable_code(rc));
        goto done;
    }
    pqf__crashpoint("replicate.file-copied");
    j->transferred = true;
    if (L->r->o->verify == PQF_VERIFY_FULL) {
        rc = hash_at_replica(j, &match);
        if (rc != PQF_OK)
            job_fail(j, rc, "verify", retryable_code(rc));
        else if (!match)
            job_fail(j, PQF_ERR_CHECKSUM, "checksum", true); /* the write went wrong: again */
    }
done:
    pqf__sha256_free(&t.sha);
    pqf_ostream_free(ts);
    pqf_ostream_free(os); /* aborts unless committed */
}

/* base64 SHA-256 (x-amz-checksum-sha256) to hex; false if it is not one. */
static bool b64_sha_hex(const char *b64, char hex[65])
{
    unsigned char raw[48];
    size_t n = strlen(b64);
    if (n != 44)
        return false;
    if (EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n) != 33)
        return false;
    pqf__hex(raw, 32, hex);
    return true;
}

static void copy_server(job *j)
{
    link_ctx *L = j->L;
    const pqf_commit_file *f = j->f;
    pqf_object_info info;
    pqf_error e2 = {0};
    bool match = false;
    char hex[65];
    uint64_t t0 = mono_ns();
    pqf_put_options po = {.size_hint = f->bytes}; /* spares the store a HEAD of the source */
    pqf_err rc = pqf_store_copy(L->src, f->key, L->dst, f->key, &po, &j->err);
    add_ns(j, PQF_STAGE_WRITE, t0);
    if (rc != PQF_OK) {
        if (rc == PQF_ERR_NOT_FOUND)
            job_fail(j, rc, "missing-at-source", false);
        else
            job_fail(j, rc, "write-target", retryable_code(rc));
        pqf_error_prefix(&j->err, "%s: ", f->key);
        goto done;
    }
    pqf__crashpoint("replicate.file-copied");
    j->transferred = true;
    t0 = mono_ns();
    rc = pqf_store_head(L->dst, f->key, NULL, &info, &j->err);
    add_ns(j, PQF_STAGE_VERIFY, t0);
    if (rc != PQF_OK) {
        job_fail(j, rc, "verify", retryable_code(rc) || rc == PQF_ERR_NOT_FOUND);
    } else if (info.size != f->bytes) {
        pqf_error_set(&j->err, PQF_ERR_CORRUPT,
                      "%s: the copy has %" PRIu64 " bytes, the commit says %" PRIu64, f->key,
                      info.size, f->bytes);
        job_fail(j, PQF_ERR_CORRUPT, "size", false);
    } else if (info.checksum_sha256[0] && b64_sha_hex(info.checksum_sha256, hex) &&
               strcmp(hex, f->sha256) != 0) {
        pqf_error_set(&j->err, PQF_ERR_CHECKSUM,
                      "%s: the server's sha256 is %.12s..., the commit says %.12s...", f->key, hex,
                      f->sha256);
        job_fail(j, PQF_ERR_CHECKSUM, "checksum", false);
    } else if (L->r->o->verify == PQF_VERIFY_FULL) {
        rc = hash_at_replica(j, &match);
        if (rc != PQF_OK)
            job_fail(j, rc, "verify", retryable_code(rc));
        else if (!match)
            /* A server-side copy is exact: the source itself is wrong. */
            job_fail(j, PQF_ERR_CHECKSUM, "checksum", false);
    }
    if (j->rc != PQF_OK && !j->retryable)
        pqf_store_delete(L->dst, f->key, NULL, &e2); /* named by no published commit */
done:;
}

/* Already at the replica? (recorded verified: its size suffices; an attempt
 * started before: its size and SHA-256, read back). */
static bool found_at_replica(job *j)
{
    pqf_object_info info;
    pqf_error e2 = {0};
    bool match = false;
    uint64_t t0 = mono_ns();
    pqf_err rc = pqf_store_head(j->L->dst, j->f->key, NULL, &info, &e2);
    add_ns(j, PQF_STAGE_LISTING, t0);
    if (rc != PQF_OK || info.size != j->f->bytes)
        goto done;
    if (j->verified_before) {
        match = true;
        goto done;
    }
    /* Copied by a run that died before recording it: adopt it if its bytes
     * are right, instead of copying it again. */
    if (hash_at_replica(j, &match) != PQF_OK)
        match = false;
    pqf_error_clear(&j->err);
done:
    return match;
}

static void run_job(job *j)
{
    j->rc = PQF_OK;
    pqf_error_clear(&j->err);
    j->cause = NULL;
    j->retryable = false;
    j->transferred = false;
    bool there = (j->verified_before || j->probe) && found_at_replica(j);
    if (!there && j->L->r->o->server_copy)
        copy_server(j);
    else if (!there)
        copy_streamed(j);
}

static void *worker(void *arg)
{
    pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && !p->work_head)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (!p->work_head)
            break;
        job *j = p->work_head;
        p->work_head = j->next;
        if (!p->work_head)
            p->work_tail = NULL;
        pthread_mutex_unlock(&p->mu);
        run_job(j);
        pthread_mutex_lock(&p->mu);
        j->next = p->done;
        p->done = j;
        pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static pqf_err pool_start(pool *p, unsigned n, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->threads = calloc(n, sizeof *p->threads);
    if (!p->threads)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (unsigned i = 0; i < n; i++) {
        int e = pthread_create(&p->threads[i], NULL, worker, p);
        if (e != 0) {
            errno = e;
            rc = pqf__errno(err, "pthread_create", "replication worker");
            goto done;
        }
        p->nthreads++;
    }
done:
    return rc;
}

static void pool_stop(pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
}

/* ---- the coordinator --------------------------------------------------------------- */

static void emit(link_ctx *L, pqf_repl_event *ev)
{
    ev->replica = L->id.dst;
    ev->table = L->table;
    if (L->r->o->on_event)
        L->r->o->on_event(L->r->o->ud, ev);
}

static bool stopping(const link_ctx *L)
{
    return L->r->o->stop && *L->r->o->stop;
}

/* The link stops before commit seq; the first failure is kept. */
static void link_fail(link_ctx *L, uint64_t seq, pqf_err rc, const pqf_error *e)
{
    if (!L->failed) {
        L->failed = true;
        L->fail_seq = seq;
        L->rc = rc;
        pqf_error_set(&L->err, rc, "replica %s: table %s: commit %" PRIu64 " not published: %s",
                      L->id.dst, L->table, seq, e->msg);
    } else if (seq < L->fail_seq) {
        L->fail_seq = seq;
    }
}

static wcommit *win_at(link_ctx *L, size_t i)
{
    return &L->win[(L->win_first + i) % L->r->lookahead];
}

static void wcommit_clear(wcommit *wc)
{
    pqf_commit_free(wc->c);
    free(wc->raw);
    free(wc->jobs);
    memset(wc, 0, sizeof *wc);
}

/* Read the primary's commit seq: its exact bytes and the decoded object. */
static pqf_err read_raw_commit(pqf_store *s, const char *table, uint64_t seq, uint8_t **raw,
                               size_t *len, pqf_commit **c, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char key[PQF_TABLE_NAME_MAX + 64];
    pqf_feed_log_key(table, seq, key, sizeof key);
    *raw = NULL;
    *c = NULL;
    PQF_TRY(pqf_store_get_bytes(s, key, NULL, COMMIT_MAX_BYTES, raw, len, err));
    PQF_TRY(pqf_commit_decode((const char *)*raw, *len, key, c, err));
    if (strcmp((*c)->table, table) != 0 || (*c)->seq != seq)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: the object names another commit", key);
done:
    if (rc != PQF_OK) {
        free(*raw);
        *raw = NULL;
        pqf_commit_free(*c);
        *c = NULL;
    }
    return rc;
}

static pqf_err load_one(link_ctx *L, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    wcommit *wc = win_at(L, L->win_n);
    uint64_t seq = L->next_load;
    uint64_t t0 = mono_ns();
    rc = read_raw_commit(L->src, L->table, seq, &wc->raw, &wc->rawlen, &wc->c, err);
    L->stage_ns[PQF_STAGE_LISTING] += mono_ns() - t0;
    if (rc != PQF_OK) {
        link_fail(L, seq, rc, err);
        rc = PQF_OK; /* the link stops; the run goes on */
        goto done;
    }
    if (seq > 1 && strcmp(wc->c->prev, L->prev_hash) != 0) {
        pqf_error e2 = {0};
        pqf_error_set(&e2, PQF_ERR_CORRUPT,
                      "the primary's hash chain is broken: prev is %.12s..., commit %" PRIu64
                      " hashes to %.12s...",
                      wc->c->prev, seq - 1, L->prev_hash);
        link_fail(L, seq, PQF_ERR_CORRUPT, &e2);
        wcommit_clear(wc);
        goto done;
    }
    memcpy(L->prev_hash, wc->c->hash, sizeof L->prev_hash);
    if (wc->c->nfiles) {
        wc->jobs = calloc(wc->c->nfiles, sizeof *wc->jobs);
        if (!wc->jobs)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < wc->c->nfiles; i++) {
        job *j = &wc->jobs[i];
        pqf__robj o;
        bool found = false;
        j->L = L;
        j->wc = wc;
        j->f = &wc->c->files[i];
        j->st = J_WAIT;
        PQF_TRY(pqf__rstate_obj_get(L->r->st, &L->id, j->f->key, &o, &found, err));
        if (found && strcmp(o.state, "verified") == 0 && o.bytes == j->f->bytes &&
            strcmp(o.sha256, j->f->sha256) == 0)
            j->verified_before = true;
        else if (found)
            j->probe = true;
    }
    wc->left = wc->c->nfiles;
    L->win_n++;
    L->next_load++;
done:
    return rc;
}

/* A small immutable object (schema version): copy unless present; present
 * with other bytes is a conflict. */
static pqf_err copy_small(link_ctx *L, const char *key, bool immutable, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    pqf_error e2 = {0};
    PQF_TRY(pqf_store_get_bytes(L->src, key, NULL, SMALL_MAX_BYTES, &a, &alen, err));
    pqf_err r2 = pqf_store_get_bytes(L->dst, key, NULL, SMALL_MAX_BYTES, &b, &blen, &e2);
    if (r2 == PQF_OK && blen == alen && memcmp(a, b, alen) == 0)
        goto done;
    if (r2 == PQF_OK && immutable)
        PQF_FAIL(err, PQF_ERR_CONFLICT, "%s at the replica holds other bytes than the primary's",
                 key);
    if (r2 != PQF_OK && r2 != PQF_ERR_NOT_FOUND) {
        *err = e2;
        rc = r2;
        goto done;
    }
    pqf_put_options po = {.if_absent = immutable, .content_type = "application/json"};
    rc = pqf_store_put_bytes(L->dst, key, a, alen, &po, err);
    if (rc == PQF_ERR_EXISTS) {
        /* A retried put whose first attempt landed (its answer was lost), or
         * a racing replicator: fine if the bytes are the same. */
        free(b);
        b = NULL;
        r2 = pqf_store_get_bytes(L->dst, key, NULL, SMALL_MAX_BYTES, &b, &blen, &e2);
        if (r2 == PQF_OK && blen == alen && memcmp(a, b, alen) == 0) {
            rc = PQF_OK;
            pqf_error_clear(err);
        } else {
            PQF_FAIL(err, PQF_ERR_CONFLICT,
                     "%s at the replica holds other bytes than the primary's", key);
        }
    }
done:
    free(a);
    free(b);
    return rc;
}

static pqf_err flush_counters(link_ctx *L, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    static const char *const names[PQF_STAGE__COUNT] = {"stage:0", "stage:1", "stage:2", "stage:3"};
    for (int s = 0; s < PQF_STAGE__COUNT; s++) {
        uint64_t ms = L->stage_ns[s] / 1000000;
        PQF_TRY(pqf__rstate_count(L->r->st, &L->id, names[s], (int64_t)ms, err));
        L->stage_ns[s] -= ms * 1000000;
    }
    PQF_TRY(pqf__rstate_count(L->r->st, &L->id, "copied", (int64_t)L->copied, err));
    PQF_TRY(pqf__rstate_count(L->r->st, &L->id, "bytes", (int64_t)L->bytes, err));
    PQF_TRY(pqf__rstate_count(L->r->st, &L->id, "skipped", (int64_t)L->skipped, err));
    L->copied = L->bytes = L->skipped = 0;
done:
    return rc;
}

/* Publish the window's first commit (all its files verified). */
static pqf_err publish_first(link_ctx *L, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    wcommit *wc = win_at(L, 0);
    const pqf_commit *c = wc->c;
    char key[PQF_TABLE_NAME_MAX + 64];
    uint8_t *have = NULL;
    size_t have_len = 0;
    pqf_error e2 = {0};
    uint64_t t0 = mono_ns();
    if (c->schema_version != L->schema_ok) {
        pqf__schema_key(L->table, c->schema_version, key, sizeof key);
        pqf_err r2 = copy_small(L, key, true, &e2);
        if (r2 != PQF_OK) {
            pqf_error_prefix(&e2, "schema version %d: ", c->schema_version);
            link_fail(L, c->seq, r2, &e2);
            pqf__rstate_count(L->r->st, &L->id, "fail:schema", 1, &e2);
            goto done;
        }
        L->schema_ok = c->schema_version;
    }
    pqf__crashpoint("replicate.before-publish");
    pqf_feed_log_key(L->table, c->seq, key, sizeof key);
    pqf_put_options po = {.if_absent = true, .content_type = "application/json"};
    pqf_err r2 = pqf_store_put_bytes(L->dst, key, wc->raw, wc->rawlen, &po, &e2);
    if (r2 == PQF_ERR_EXISTS) {
        /* A rerun after a crash between the put and the state update. */
        r2 = pqf_store_get_bytes(L->dst, key, NULL, COMMIT_MAX_BYTES, &have, &have_len, &e2);
        if (r2 == PQF_OK && (have_len != wc->rawlen || memcmp(have, wc->raw, have_len) != 0)) {
            pqf_error_set(&e2, PQF_ERR_CONFLICT,
                          "%s exists at the replica with other bytes (another writer)", key);
            pqf__rstate_count(L->r->st, &L->id, "fail:conflict", 1, &e2);
            r2 = PQF_ERR_CONFLICT;
        }
    }
    L->stage_ns[PQF_STAGE_WRITE] += mono_ns() - t0;
    if (r2 != PQF_OK) {
        link_fail(L, c->seq, r2, &e2);
        goto done;
    }
    pqf__crashpoint("replicate.after-publish");
    int64_t lag = pqf__repl_now_ms() - c->created_ms;
    PQF_TRY(pqf__rstate_begin(L->r->st, err));
    PQF_TRY(pqf__rstate_published(L->r->st, &L->id, c->seq, c->hash, lag, err));
    PQF_TRY(flush_counters(L, err));
    PQF_TRY(pqf__rstate_commit(L->r->st, err));
    L->published = c->seq;
    L->r->res.published++;
    pqf_repl_event ev = {.kind = PQF_REPL_PUBLISHED,
                         .seq = c->seq,
                         .files = c->nfiles,
                         .bytes = c->bytes,
                         .lag_ms = lag};
    emit(L, &ev);
    wcommit_clear(wc);
    L->win_first = (L->win_first + 1) % L->r->lookahead;
    L->win_n--;
done:
    free(have);
    return rc;
}

static uint64_t backoff_ms(run_ctx *r, unsigned attempt)
{
    uint64_t cap = (uint64_t)r->retry_base_ms << PQF_MIN(attempt, 16u);
    if (cap > BACKOFF_CAP_MS)
        cap = BACKOFF_CAP_MS;
    /* xorshift: full jitter, as the store's own retries */
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return cap / 2 + r->rng % (cap / 2 + 1);
}

static pqf_err finish_job(link_ctx *L, job *j, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    run_ctx *r = L->r;
    const pqf_commit_file *f = j->f;
    L->inflight--;
    L->inflight_bytes -= j->reserve;
    for (int s = 0; s < PQF_STAGE__COUNT; s++)
        L->stage_ns[s] += j->stage_ns[s];
    memset(j->stage_ns, 0, sizeof j->stage_ns);
    if (j->rc == PQF_OK) {
        j->st = J_DONE;
        j->wc->left--;
        if (j->transferred) {
            L->copied++;
            L->bytes += f->bytes;
            r->res.objects_copied++;
            r->res.bytes_copied += f->bytes;
        } else {
            L->skipped++;
            r->res.objects_skipped++;
        }
        if (!j->verified_before || j->transferred)
            PQF_TRY(pqf__rstate_obj_set(r->st, &L->id, j->wc->c->seq, f->key, "verified", f->bytes,
                                        f->sha256, j->attempts, "", "", err));
        goto done;
    }
    char name[64];
    snprintf(name, sizeof name, "fail:%s", j->cause ? j->cause : "other");
    PQF_TRY(pqf__rstate_count(r->st, &L->id, name, 1, err));
    PQF_TRY(pqf__rstate_obj_set(r->st, &L->id, j->wc->c->seq, f->key, "failed", f->bytes, f->sha256,
                                j->attempts, j->cause, j->err.msg, err));
    pqf_repl_event ev = {.seq = j->wc->c->seq,
                         .key = f->key,
                         .cause = j->cause,
                         .message = j->err.msg,
                         .attempts = j->attempts};
    /* While stopping, a retry is scheduled but not started: the object stays
     * pending for the next run instead of counting as failed. */
    if (j->retryable && j->attempts < r->max_attempts) {
        j->st = J_WAIT;
        j->probe = true;
        j->verified_before = false;
        j->due_ms = pqf__repl_now_ms() + (int64_t)backoff_ms(r, j->attempts);
        r->res.retries++;
        PQF_TRY(pqf__rstate_count(r->st, &L->id, "retries", 1, err));
        ev.kind = PQF_REPL_RETRY;
        emit(L, &ev);
        goto done;
    }
    j->st = J_FAILED;
    j->wc->failed = true;
    r->res.failed++;
    PQF_TRY(pqf__rstate_count(r->st, &L->id, "gave-up", 1, err));
    pqf_error e2 = j->err;
    pqf_error_prefix(&e2, "after %u attempt%s (%s): ", j->attempts, j->attempts == 1 ? "" : "s",
                     j->cause ? j->cause : "other");
    link_fail(L, j->wc->c->seq, j->rc, &e2);
    ev.kind = PQF_REPL_FAILED;
    emit(L, &ev);
done:
    return rc;
}

/* Start waiting jobs in seq order within the budgets. *next_due: the
 * earliest retry not yet due (0: none). */
static pqf_err dispatch(link_ctx *L, int64_t *next_due, bool *waiting, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    run_ctx *r = L->r;
    pool *p = &r->pool;
    int64_t now = pqf__repl_now_ms();
    *next_due = 0;
    *waiting = false;
    for (size_t w = 0; w < L->win_n; w++) {
        wcommit *wc = win_at(L, w);
        if (L->failed && wc->c->seq >= L->fail_seq)
            break;
        for (size_t i = 0; i < wc->c->nfiles; i++) {
            job *j = &wc->jobs[i];
            if (j->st != J_WAIT)
                continue;
            *waiting = true;
            if (stopping(L))
                goto done;
            if (j->due_ms > now) {
                if (!*next_due || j->due_ms < *next_due)
                    *next_due = j->due_ms;
                continue;
            }
            uint64_t reserve = PQF_MIN(j->f->bytes, r->transfer_bytes);
            if (L->inflight >= r->concurrency ||
                (L->inflight && L->inflight_bytes + reserve > r->max_inflight))
                goto done;
            if (!j->verified_before)
                PQF_TRY(pqf__rstate_obj_set(r->st, &L->id, wc->c->seq, j->f->key, "copying",
                                            j->f->bytes, j->f->sha256, j->attempts + 1, "", "",
                                            err));
            j->attempts++;
            j->reserve = reserve;
            j->st = J_RUNNING;
            L->inflight++;
            L->inflight_bytes += reserve;
            pthread_mutex_lock(&p->mu);
            j->next = NULL;
            if (p->work_tail)
                p->work_tail->next = j;
            else
                p->work_head = j;
            p->work_tail = j;
            pthread_cond_signal(&p->work_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
done:
    return rc;
}

/* Wait for finished jobs (until deadline_ms, 0: up to 1 s) and handle them. */
static pqf_err collect(link_ctx *L, int64_t deadline_ms, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pool *p = &L->r->pool;
    job *list;
    struct timespec ts;
    int64_t until = deadline_ms ? deadline_ms : pqf__repl_now_ms() + 1000;
    ts.tv_sec = (time_t)(until / 1000);
    ts.tv_nsec = (long)(until % 1000) * 1000000;
    pthread_mutex_lock(&p->mu);
    while (!p->done) {
        if (pthread_cond_timedwait(&p->done_cv, &p->mu, &ts) == ETIMEDOUT)
            break;
    }
    list = p->done;
    p->done = NULL;
    pthread_mutex_unlock(&p->mu);
    while (list) {
        job *j = list;
        list = j->next;
        rc = finish_job(L, j, err);
        if (rc != PQF_OK) {
            /* Put the rest back so that the caller's drain still accounts for them. */
            pthread_mutex_lock(&p->mu);
            while (list) {
                job *k = list;
                list = k->next;
                k->next = p->done;
                p->done = k;
            }
            pthread_mutex_unlock(&p->mu);
            goto done;
        }
    }
done:
    return rc;
}

/* Wait until no job of this link is in flight (jobs point into its window). */
static void drain(link_ctx *L)
{
    pool *p = &L->r->pool;
    pthread_mutex_lock(&p->mu);
    /* Jobs never started can be taken back. */
    job **pp = &p->work_head;
    p->work_tail = NULL;
    while (*pp) {
        if ((*pp)->L == L) {
            (*pp)->st = J_WAIT;
            L->inflight--;
            *pp = (*pp)->next;
        } else {
            p->work_tail = *pp;
            pp = &(*pp)->next;
        }
    }
    while (L->inflight) {
        while (!p->done)
            pthread_cond_wait(&p->done_cv, &p->mu);
        while (p->done) {
            job *j = p->done;
            p->done = j->next;
            L->inflight--;
        }
    }
    pthread_mutex_unlock(&p->mu);
}

/* Published position of the replica, checked against the primary: the
 * replica's head commit must be the primary's commit of that seq. */
static pqf_err link_start(link_ctx *L, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    uint8_t *ra = NULL, *rb = NULL;
    size_t la = 0, lb = 0;
    pqf_commit *ca = NULL, *cb = NULL;
    uint64_t rec = 0;
    int64_t lag = 0;
    uint64_t t0 = mono_ns();
    PQF_TRY(pqf_feed_head(L->sf, L->table, &L->head, err));
    PQF_TRY(pqf_feed_head(L->df, L->table, &L->published, err));
    PQF_TRY(pqf__rstate_link_get(L->r->st, &L->id, &rec, &lag, NULL, 0, err));
    if (L->published > L->head)
        PQF_FAIL(err, PQF_ERR_CONFLICT,
                 "replica %s: table %s: the replica's head %" PRIu64
                 " is beyond the primary's %" PRIu64 " (another feed, or the primary lost commits)",
                 L->id.dst, L->table, L->published, L->head);
    if (L->published > 0) {
        PQF_TRY(read_raw_commit(L->src, L->table, L->published, &ra, &la, &ca, err));
        PQF_TRY(read_raw_commit(L->dst, L->table, L->published, &rb, &lb, &cb, err));
        if (strcmp(ca->hash, cb->hash) != 0)
            PQF_FAIL(err, PQF_ERR_CONFLICT,
                     "replica %s: table %s: commit %" PRIu64
                     " differs from the primary's (hash %.12s... vs %.12s...): the replica "
                     "diverged",
                     L->id.dst, L->table, L->published, cb->hash, ca->hash);
        memcpy(L->prev_hash, ca->hash, sizeof L->prev_hash);
        L->schema_ok = ca->schema_version; /* published with it */
    }
    if (rec != L->published)
        PQF_TRY(pqf__rstate_published(L->r->st, &L->id, L->published, L->prev_hash, lag, err));
    L->next_load = L->published + 1;
done:
    L->stage_ns[PQF_STAGE_LISTING] += mono_ns() - t0;
    free(ra);
    free(rb);
    pqf_commit_free(ca);
    pqf_commit_free(cb);
    return rc;
}

/* Replicate one table to one replica. Returns a failure of the run itself
 * (state file, memory); the link's own failures are in L->rc / L->err. */
static pqf_err replicate_link(link_ctx *L, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    run_ctx *r = L->r;
    pqf_error e2 = {0};
    L->win = calloc(r->lookahead, sizeof *L->win);
    if (!L->win)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    pqf_err r2 = link_start(L, &e2);
    if (r2 != PQF_OK) {
        L->failed = true;
        L->rc = r2;
        L->err = e2;
        goto done;
    }
    for (;;) {
        while (L->win_n > 0 && win_at(L, 0)->left == 0 && !win_at(L, 0)->failed &&
               !(L->failed && win_at(L, 0)->c->seq >= L->fail_seq))
            PQF_TRY(publish_first(L, err));
        while (!L->failed && !stopping(L) && L->next_load <= L->head && L->win_n < r->lookahead)
            PQF_TRY(load_one(L, err));
        int64_t next_due = 0;
        bool waiting = false;
        PQF_TRY(dispatch(L, &next_due, &waiting, err));
        bool can_load =
            !L->failed && !stopping(L) && L->next_load <= L->head && L->win_n < r->lookahead;
        bool publishable = L->win_n > 0 && win_at(L, 0)->left == 0 && !win_at(L, 0)->failed &&
                           !(L->failed && win_at(L, 0)->c->seq >= L->fail_seq);
        if (L->inflight == 0 && !can_load && !publishable && (!waiting || stopping(L)))
            break;
        if (L->inflight == 0 && !can_load && !publishable && waiting && !next_due)
            break; /* waiting jobs blocked by nothing: cannot happen; do not spin */
        PQF_TRY(collect(L, L->inflight ? 0 : next_due, err));
    }
done:
    if (L->inflight)
        drain(L);
    if (rc == PQF_OK)
        rc = flush_counters(L, err);
    if (rc == PQF_OK)
        rc = pqf__rstate_set_error(r->st, &L->id, L->failed ? L->err.msg : "", err);
    if (L->win) {
        for (size_t i = 0; i < r->lookahead; i++)
            wcommit_clear(&L->win[i]);
        free(L->win);
        L->win = NULL;
    }
    return rc;
}

pqf_err pqf__repl_tables(pqf_feed *f, const pqf_replicate_opts *o, char ***names, size_t *n,
                         pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char **all = NULL;
    size_t nall = 0;
    *names = NULL;
    *n = 0;
    if (o->tables) {
        *names = calloc(o->ntables ? o->ntables : 1, sizeof **names);
        if (!*names)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < o->ntables; i++) {
            if (!pqf_table_name_ok(o->tables[i]))
                PQF_FAIL(err, PQF_ERR_INVALID_ARG, "'%s' is not a valid table name", o->tables[i]);
            (*names)[i] = strdup(o->tables[i]);
            if (!(*names)[i])
                PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
            (*n)++;
        }
        goto done;
    }
    PQF_TRY(pqf_feed_tables(f, &all, &nall, err));
    *names = all;
    *n = nall;
    all = NULL;
done:
    if (rc != PQF_OK) {
        pqf_strv_free(*names, *n);
        *names = NULL;
        *n = 0;
    }
    pqf_strv_free(all, nall);
    return rc;
}

pqf_err pqf_replicate(pqf_store *primary, pqf_store *const *replicas, size_t nreplicas,
                      const pqf_replicate_opts *opts, pqf_replicate_result *res, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    run_ctx *r = NULL;
    pqf_feed *sf = NULL, *df = NULL;
    char **tables = NULL;
    size_t ntables = 0;
    bool pool_up = false;
    if (res)
        memset(res, 0, sizeof *res);
    if (!opts || !opts->state_path || !*opts->state_path)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "replicate: a state file is required");
    r = calloc(1, sizeof *r);
    if (!r)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    r->o = opts;
    r->concurrency = opts->concurrency ? opts->concurrency : 8;
    r->lookahead = opts->lookahead ? PQF_MIN(opts->lookahead, LOOKAHEAD_MAX) : 32;
    r->max_attempts = opts->max_attempts ? opts->max_attempts : 4;
    r->retry_base_ms = opts->retry_base_ms ? opts->retry_base_ms : 200;
    r->max_inflight = opts->max_inflight_bytes ? opts->max_inflight_bytes : (256u << 20);
    r->transfer_bytes = opts->transfer_bytes ? opts->transfer_bytes : (2u << 20);
    r->rng = (uint64_t)mono_ns() | 1;
    PQF_TRY(pqf__rstate_open(opts->state_path, true, &r->st, err));
    pool_up = true; /* pool_stop joins the threads that did start */
    PQF_TRY(pool_start(&r->pool, r->concurrency, err));
    PQF_TRY(pqf_feed_open(primary, &sf, err));
    PQF_TRY(pqf__repl_tables(sf, opts, &tables, &ntables, err));
    for (size_t k = 0; k < nreplicas; k++) {
        pqf_feed_free(df);
        df = NULL;
        PQF_TRY(pqf_feed_open(replicas[k], &df, err));
        link_ctx L0;
        memset(&L0, 0, sizeof L0);
        L0.r = r;
        L0.src = primary;
        L0.dst = replicas[k];
        L0.sf = sf;
        L0.df = df;
        L0.id.src = pqf_store_uri(primary);
        L0.id.dst = pqf_store_uri(replicas[k]);
        {
            /* Feed metadata first, so a consumer of the replica finds it. */
            pqf_error e2 = {0};
            pqf_object_info info;
            if (pqf_store_head(primary, "_feed.json", NULL, &info, &e2) == PQF_OK) {
                pqf_err r2 = copy_small(&L0, "_feed.json", false, &e2);
                if (r2 != PQF_OK && r->first_rc == PQF_OK) {
                    r->first_rc = r2;
                    r->first_err = e2;
                    pqf_error_prefix(&r->first_err, "replica %s: _feed.json: ", L0.id.dst);
                }
            }
        }
        for (size_t t = 0; t < ntables && !(opts->stop && *opts->stop); t++) {
            if (!tables[t][0])
                continue;
            link_ctx L = L0;
            L.table = tables[t];
            L.id.tbl = tables[t];
            PQF_TRY(replicate_link(&L, err));
            pqf_repl_event ev = {.kind = PQF_REPL_TABLE_DONE, .seq = L.published, .head = L.head};
            emit(&L, &ev);
            if (L.failed) {
                r->res.tables_failed++;
                if (r->first_rc == PQF_OK) {
                    r->first_rc = L.rc;
                    r->first_err = L.err;
                }
            }
        }
    }
    r->res.stopped = opts->stop && *opts->stop;
    if (r->first_rc != PQF_OK) {
        rc = r->first_rc;
        if (err)
            *err = r->first_err;
    }
done:
    if (r) {
        if (pool_up)
            pool_stop(&r->pool);
        if (res)
            *res = r->res;
        pqf__rstate_close(r->st);
    }
    pqf_strv_free(tables, ntables);
    pqf_feed_free(df);
    pqf_feed_free(sf);
    free(r);
    return rc;
}
