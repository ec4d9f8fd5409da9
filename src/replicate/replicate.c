/* Replication engine (include/pqfeed/replicate.h).
 *
 * One coordinator thread per run walks the tables one after the other, each
 * with every replica at once. For a table it keeps a window of the next
 * `lookahead` commits of the primary, from the position of the replica
 * furthest behind; their files become jobs, dispatched in seq order to a pool
 * of worker threads within the concurrency and memory budgets, so the files
 * of commits N..N+k are in flight while N waits for its last file. A job
 * serves every replica that needs its file: a streamed copy reads the source
 * once and writes each of them (the primary is listed and read once however
 * many replicas there are); each replica keeps its own position, retries,
 * failures and state rows, and publishes its commits in order as soon as its
 * copies are verified. Workers only move and check bytes; every state write,
 * every publication and every decision (retry, give up) is the coordinator's,
 * so SQLite sees one thread and commit objects are written strictly in order.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
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
#include "replicate/pace.h"
#include "replicate/repl_impl.h"
#include "replicate/state.h"
#include "replicate/versions.h"

#define COMMIT_MAX_BYTES PQF__REPL_COMMIT_MAX_BYTES
#define SMALL_MAX_BYTES (16u << 20) /* schema files, _feed.json */
#define LOOKAHEAD_MAX PQF_REPL_LOOKAHEAD_MAX
#define BACKOFF_CAP_MS 10000
#define SERVER_COPY_RESERVE (256u << 10)
#define DEFAULT_MAX_INFLIGHT (80u << 20)

/* Part buffers (5 MiB and up) are allocated per transfer by many threads.
 * glibc's dynamic mmap threshold rises to the largest chunk freed, after
 * which such buffers come from the per-thread arenas and stay resident there
 * once freed (147 MiB for 32 streams of 64 KiB objects, against 65 MiB with
 * a fixed threshold). A fixed 4 MiB threshold maps each part buffer on demand
 * and unmaps it when freed, so memory follows what is in flight, which
 * --max-inflight-bytes bounds. Below it stay the buffers every request
 * allocates and frees (libcurl's 1 MiB upload and 256 KiB download buffers,
 * the store's 1 MiB part table): at a 1 MiB threshold each of them was an
 * mmap, page faults on first touch and an munmap (with a TLB shootdown on
 * every core) per request, about 10% of the CPU time of a streamed copy of
 * 64 KiB objects. The fixed threshold also fixes the trim threshold at its
 * 128 KiB default, so an arena would give such a freed buffer back to the
 * kernel (madvise) and fault it in again at the next request: 8 MiB keeps
 * them (a few per arena). Process-wide, set once, before the workers start. */
static void malloc_tune_once(void)
{
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
#ifdef M_TRIM_THRESHOLD
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
#endif
}

static void malloc_tune(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, malloc_tune_once);
}

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
typedef struct tbl_ctx tbl_ctx;
typedef struct wcommit wcommit;

/* A window commit's file at one replica. */
typedef struct jdst {
    job_state st;         /* J_DONE from the start when the replica has the commit */
    unsigned attempts;    /* this run */
    bool verified_before; /* state says verified: a HEAD suffices */
    bool probe;           /* an earlier attempt started: the object may be there */
    bool running;         /* part of the task in flight */
    bool want;            /* worker: not found at the replica, to be copied */
    bool resumed;         /* worker: continued an interrupted multipart upload */
    int64_t due_ms;       /* a retry waits until then */
    /* Filled by the worker: */
    pqf_err rc;
    pqf_error err;
    const char *cause;
    bool retryable;
    bool transferred; /* false: found at the replica already */
} jdst;

/* A window commit's file: one task in flight at a time serves every replica
 * whose jdst was due when it was dispatched. */
typedef struct job {
    struct job *next;
    tbl_ctx *T;
    wcommit *wc;
    const pqf_commit_file *f;
    bool in_flight;
    uint64_t reserve; /* budget held while in flight */
    uint64_t stage_ns[PQF_STAGE__COUNT];
    jdst *d; /* one per link of the table */
} job;

struct wcommit {
    pqf_commit *c;
    uint8_t *raw; /* the primary's exact commit object bytes */
    size_t rawlen;
    job *jobs;
    jdst *dsts;      /* nfiles x nlinks */
    size_t *left;    /* per link: files not yet done there */
    unsigned running; /* jobs in flight */
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
    pqf__bucket bw; /* --bwlimit, shared by the workers */
    _Atomic uint64_t copy_heads;
} run_ctx;

/* One (replica, table): its position, failure and counters. */
struct link_ctx {
    run_ctx *r;
    tbl_ctx *T;
    size_t k; /* index in T->links and in each job's d[] */
    pqf_store *dst;
    pqf_feed *df;
    pqf__rlink id;
    const char *table;
    uint64_t published;  /* the replica's */
    char pub_hash[65];   /* the primary's commit at published */
    int schema_ok;       /* schema version known present at the replica */
    bool failed;
    uint64_t fail_seq;       /* commits at or past this are not copied nor published */
    int64_t window_opens_ms; /* waiting for the --window (recorded in the state file) */
    bool held;               /* dispatch: a transfer waits for the window */
    pqf_err rc;
    pqf_error err;
    /* counters not yet flushed to the state file */
    uint64_t stage_ns[PQF_STAGE__COUNT];
    uint64_t copied, skipped, bytes;
};

/* Server-side copies: the source's ETag and size of the table's data files,
 * from listings (one request per 1,000 files), so a CopyObject can be pinned
 * to the listed object (x-amz-copy-source-if-match) and its answer's ETag
 * checked against it without a HEAD of the copy. An entry is taken out when
 * a copy uses it; at most ETAGS_MAX are kept (past that the cache starts
 * afresh). */
#define ETAGS_BUCKETS 4096
#define ETAGS_MAX 8192 /* about 1.5 MiB */

typedef struct etag_ent {
    struct etag_ent *next;
    uint64_t size;
    char etag[72];
    char key[]; /* relative to the feed root */
} etag_ent;

typedef struct etag_cache {
    pthread_mutex_t mu;      /* the map */
    pthread_mutex_t list_mu; /* one listing at a time */
    etag_ent **b;            /* ETAGS_BUCKETS chains; NULL: not in use */
    size_t n;
    uint64_t listings; /* requests made (tests, --json counters) */
    /* Under list_mu: where the last listing ended, to read ahead from there. */
    char prefix[1100];
    char last[1100];
    size_t listed; /* entries the last listing returned */
} etag_cache;

/* One table of the primary, replicated to every link at once. */
struct tbl_ctx {
    run_ctx *r;
    pqf_store *src;
    pqf_feed *sf;
    const char *table;
    uint64_t head; /* the primary's */
    uint64_t next_load;
    char prev_hash[65]; /* of the last commit loaded */
    bool load_failed;   /* the primary's log is broken at next_load */
    wcommit *win;       /* ring of r->lookahead */
    size_t win_first, win_n;
    link_ctx *links;
    size_t nlinks;
    unsigned inflight; /* jobs */
    uint64_t inflight_bytes;
    job *held_head, *held_tail; /* dispatched, started once their rows are committed */
    etag_cache etags; /* server_copy only */
};

/* Does link L still have to publish commit seq in this run? */
static bool link_needs(const link_ctx *L, uint64_t seq)
{
    return seq > L->published && !(L->failed && seq >= L->fail_seq);
}

/* ---- the bytes: copy, check ------------------------------------------------------------ */

static bool retryable_code(pqf_err rc)
{
    return rc == PQF_ERR_NET || rc == PQF_ERR_REMOTE || rc == PQF_ERR_TIMEOUT || rc == PQF_ERR_IO ||
           rc == PQF_ERR_NOMEM || rc == PQF_ERR_PRECONDITION;
}

static void job_fail(jdst *d, pqf_err rc, const char *cause, bool retryable)
{
    d->rc = rc;
    d->cause = cause;
    d->retryable = retryable;
    if (d->err.code == PQF_OK)
        d->err.code = rc;
}

/* Fail every replica of the task still going (a source failure). */
static void job_fail_all(job *j, pqf_err rc, const pqf_error *e, const char *cause, bool retryable)
{
    for (size_t k = 0; k < j->T->nlinks; k++) {
        jdst *d = &j->d[k];
        if (!d->want || d->rc != PQF_OK)
            continue;
        d->err = *e;
        job_fail(d, rc, cause, retryable);
    }
}

static void add_ns(job *j, pqf_repl_stage s, uint64_t t0)
{
    j->stage_ns[s] += mono_ns() - t0;
}

/* Hash link k's copy; PQF_OK and *match. */
static pqf_err hash_at_replica(job *j, size_t k, bool *match)
{
    char hex[65];
    jdst *d = &j->d[k];
    uint64_t t0 = mono_ns();
    pqf_err rc = pqf__hash_object(j->T->links[k].dst, j->f->key, j->f->bytes, hex, &d->err);
    add_ns(j, PQF_STAGE_VERIFY, t0);
    *match = rc == PQF_OK && strcmp(hex, j->f->sha256) == 0;
    if (rc == PQF_OK && !*match)
        pqf_error_set(&d->err, PQF_ERR_CHECKSUM,
                      "%s: read back from the replica, sha256 is %.12s..., the commit says "
                      "%.12s...",
                      j->f->key, hex, j->f->sha256);
    return rc;
}

/* The source's bytes, hashed once, written to every replica still going. */
typedef struct tee {
    job *j;
    pqf_ostream **os; /* per link; NULL: not written */
    pqf__bucket *bw;
    pqf__sha256_ctx sha;
    uint64_t bytes, cap;
    uint64_t write_ns, pace_ns;
    size_t alive; /* replicas whose writes still go */
    bool too_big, half;
} tee;

static pqf_err tee_write(void *impl, const void *data, size_t len, pqf_error *err)
{
    tee *t = impl;
    job *j = t->j;
    if (len > t->cap - t->bytes) {
        t->too_big = true;
        return pqf_error_set(err, PQF_ERR_CORRUPT, "the source is larger than the commit says");
    }
    t->pace_ns += pqf__bucket_take(t->bw, len);
    uint64_t t0 = mono_ns();
    for (size_t k = 0; k < j->T->nlinks; k++) {
        jdst *d = &j->d[k];
        if (!t->os[k] || d->rc != PQF_OK)
            continue;
        pqf_err rc = pqf_ostream_write(t->os[k], data, len);
        if (rc != PQF_OK) {
            /* This replica fails; the others go on with the same read. */
            d->err = *pqf_ostream_error(t->os[k]);
            pqf_error_prefix(&d->err, "%s: ", j->f->key);
            job_fail(d, rc, "write-target", retryable_code(rc));
            t->alive--;
        }
    }
    t->write_ns += mono_ns() - t0;
    if (!t->alive)
        return pqf_error_set(err, PQF_ERR_IO, "every replica's write failed");
    pqf__sha256_update(&t->sha, data, len);
    t->bytes += len;
    if (!t->half && t->bytes >= t->cap / 2) {
        t->half = true;
        pqf__crashpoint("replicate.copy-half"); /* the parts so far are at the replica */
    }
    return PQF_OK;
}

typedef struct upload_find {
    const char *key;
    char id[256];
    int64_t initiated_ms;
} upload_find;

static bool on_upload(void *ud, const pqf_upload_info *u)
{
    upload_find *x = ud;
    if (strcmp(u->key, x->key) == 0 && (!x->id[0] || u->initiated_ms >= x->initiated_ms)) {
        snprintf(x->id, sizeof x->id, "%s", u->upload_id);
        x->initiated_ms = u->initiated_ms;
    }
    return true;
}

/* Open the put of f at link k's replica. After an attempt that did not
 * finish (a kill -9 mid-upload), the newest unfinished multipart upload of
 * the key is continued: the store lists its parts and sends only those that
 * are missing or differ (by MD5), instead of sending the object again. */
static pqf_err open_put(job *j, size_t k, pqf_ostream **os)
{
    link_ctx *L = &j->T->links[k];
    jdst *d = &j->d[k];
    /* The commit's SHA-256: the tee checks the bytes against it before the
     * put commits, so a single-part put that signs its payload (sign_payload)
     * need not hash them again. */
    pqf_put_options po = {.size_hint = j->f->bytes, .payload_sha256 = j->f->sha256};
    upload_find x = {.key = j->f->key};
    pqf_error e2 = {0};
    d->resumed = false;
    if (d->probe && pqf_store_is_s3(L->dst) &&
        pqf_store_list_uploads(L->dst, j->f->key, on_upload, &x, &e2) == PQF_OK && x.id[0]) {
        po.resume_upload_id = x.id;
        if (pqf_store_put(L->dst, j->f->key, &po, os, &e2) == PQF_OK) {
            d->resumed = true;
            return PQF_OK;
        }
        /* The upload is gone or unusable (aborted, expired): start afresh. */
        po.resume_upload_id = NULL;
    }
    return pqf_store_put(L->dst, j->f->key, &po, os, &d->err);
}

static pqf_err tee_commit(void *impl, pqf_error *err)
{
    return PQF_OK;
}
static void tee_abort(void *impl) {}
static void tee_destroy(void *impl) {}
static const pqf_ostream_vt tee_vt = {tee_write, tee_commit, tee_abort, tee_destroy};

/* Streamed: one ranged read of the source into a put at every wanted replica. */
static void copy_streamed(job *j)
{
    tbl_ctx *T = j->T;
    const pqf_commit_file *f = j->f;
    pqf_ostream *ts = NULL;
    tee t;
    memset(&t, 0, sizeof t);
    pqf_object_info info;
    memset(&info, 0, sizeof info);
    pqf_error e = {0};
    uint8_t dg[32];
    char hex[65];
    t.j = j;
    t.cap = f->bytes;
    t.bw = &T->r->bw;
    t.os = calloc(T->nlinks, sizeof *t.os);
    if (!t.os || pqf__sha256_init(&t.sha) != 0) {
        pqf_error_set(&e, PQF_ERR_NOMEM, "out of memory");
        job_fail_all(j, PQF_ERR_NOMEM, &e, "read-source", true);
        goto done;
    }
    uint64_t t0 = mono_ns();
    for (size_t k = 0; k < T->nlinks; k++) {
        jdst *d = &j->d[k];
        if (!d->want)
            continue;
        pqf_err rc = open_put(j, k, &t.os[k]);
        if (rc != PQF_OK) {
            t.os[k] = NULL;
            job_fail(d, rc, "write-target", retryable_code(rc));
            continue;
        }
        t.alive++;
    }
    add_ns(j, PQF_STAGE_WRITE, t0);
    if (!t.alive)
        goto done;
    ts = pqf_ostream_create(&tee_vt, &t, 0);
    if (!ts) {
        pqf_error_set(&e, PQF_ERR_NOMEM, "out of memory");
        job_fail_all(j, PQF_ERR_NOMEM, &e, "read-source", true);
        goto done;
    }
    t0 = mono_ns();
    /* The commit's size: a small object gets a buffer of its size, not a part.
     * The bytes are checked against the commit's SHA-256 below (stronger than
     * the source's ETag, which the store would check with an MD5 of every
     * byte, about 9% of the CPU time of a streamed copy of small objects). */
    pqf_get_options go = {.size_hint = f->bytes, .no_etag_check = true};
    pqf_err rc = pqf_store_get_to(T->src, f->key, &go, ts, &info, &e);
    /* Time spent paced by --bwlimit is no stage's: it is not a bottleneck. */
    uint64_t total = mono_ns() - t0, busy = t.write_ns + t.pace_ns;
    j->stage_ns[PQF_STAGE_WRITE] += t.write_ns;
    j->stage_ns[PQF_STAGE_READ] += total > busy ? total - busy : 0;
    if (rc != PQF_OK) {
        pqf_error_prefix(&e, "%s: ", f->key);
        if (t.too_big)
            job_fail_all(j, PQF_ERR_CORRUPT, &e, "size", false);
        else if (rc == PQF_ERR_NOT_FOUND)
            job_fail_all(j, rc, &e, "missing-at-source", false);
        else if (t.alive)
            job_fail_all(j, rc, &e, "read-source", retryable_code(rc));
        goto done; /* (no replica alive: each has its write error) */
    }
    if (t.bytes != f->bytes) {
        pqf_error_set(&e, PQF_ERR_CORRUPT,
                      "%s: the source has %" PRIu64 " bytes, the commit says %" PRIu64, f->key,
                      t.bytes, f->bytes);
        job_fail_all(j, PQF_ERR_CORRUPT, &e, "size", false);
        goto done;
    }
    pqf__sha256_final(&t.sha, dg);
    t.sha.ctx = NULL;
    pqf__hex(dg, 32, hex);
    if (strcmp(hex, f->sha256) != 0) {
        /* Aborted below: the corrupted bytes never become visible at a replica. */
        pqf_error_set(&e, PQF_ERR_CHECKSUM,
                      "%s: the source's sha256 is %.12s..., the commit says %.12s... (the "
                      "object changed after its commit, or its bytes were damaged on the way)",
                      f->key, hex, f->sha256);
        job_fail_all(j, PQF_ERR_CHECKSUM, &e, "checksum", false);
        goto done;
    }
    for (size_t k = 0; k < T->nlinks; k++) {
        jdst *d = &j->d[k];
        bool match = false;
        if (!t.os[k] || d->rc != PQF_OK)
            continue;
        t0 = mono_ns();
        rc = pqf_ostream_commit(t.os[k]);
        add_ns(j, PQF_STAGE_WRITE, t0);
        if (rc != PQF_OK) {
            d->err = *pqf_ostream_error(t.os[k]);
            pqf_error_prefix(&d->err, "%s: ", f->key);
            job_fail(d, rc, "write-target", retryable_code(rc));
            continue;
        }
        pqf__crashpoint("replicate.file-copied");
        d->transferred = true;
        if (T->r->o->verify == PQF_VERIFY_FULL) {
            rc = hash_at_replica(j, k, &match);
            if (rc != PQF_OK)
                job_fail(d, rc, "verify", retryable_code(rc));
            else if (!match)
                job_fail(d, PQF_ERR_CHECKSUM, "checksum", true); /* the write went wrong: again */
        }
    }
done:
    pqf__sha256_free(&t.sha);
    pqf_ostream_free(ts);
    if (t.os)
        for (size_t k = 0; k < T->nlinks; k++)
            pqf_ostream_free(t.os[k]); /* aborts unless committed */
    free(t.os);
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

static size_t etag_hash(const char *key)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h % ETAGS_BUCKETS;
}

static void etags_clear(etag_cache *c)
{
    for (size_t i = 0; c->b && i < ETAGS_BUCKETS; i++) {
        etag_ent *e = c->b[i];
        while (e) {
            etag_ent *nx = e->next;
            free(e);
            e = nx;
        }
        c->b[i] = NULL;
    }
    c->n = 0;
}

static void etags_init(etag_cache *c)
{
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->list_mu, NULL);
    c->b = calloc(ETAGS_BUCKETS, sizeof *c->b); /* NULL: copies are checked by HEAD */
}

static void etags_free(etag_cache *c)
{
    etags_clear(c);
    free(c->b);
    c->b = NULL;
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->list_mu);
}

/* Take key's entry out (under c->mu); false when there is none. *left
 * (may be NULL): the entries left. */
static bool etags_take(etag_cache *c, const char *key, char etag[72], uint64_t *size, size_t *left)
{
    bool found = false;
    pthread_mutex_lock(&c->mu);
    for (etag_ent **pp = &c->b[etag_hash(key)]; *pp; pp = &(*pp)->next) {
        etag_ent *e = *pp;
        if (strcmp(e->key, key) == 0) {
            memcpy(etag, e->etag, 72);
            *size = e->size;
            *pp = e->next;
            free(e);
            c->n--;
            found = true;
            break;
        }
    }
    if (left)
        *left = c->n;
    pthread_mutex_unlock(&c->mu);
    return found;
}

#define ETAGS_PAGE 1000
#define ETAGS_LOW 500 /* read ahead when fewer are left */

static bool on_listed(void *ud, const pqf_object_info *info);

/* One listing of prefix after `after` into c (the caller holds list_mu). */
static void etags_list(job *j, etag_cache *c, const char *prefix, const char *after)
{
    pqf_list_options lo = {.start_after = after, .page_size = ETAGS_PAGE, .max_keys = ETAGS_PAGE};
    pqf_error e2 = {0};
    uint64_t t0 = mono_ns();
    snprintf(c->prefix, sizeof c->prefix, "%s", prefix);
    c->listed = 0;
    c->last[0] = '\0';
    if (pqf_store_list(j->T->src, prefix, &lo, on_listed, c, &e2) == PQF_OK)
        c->listings++;
    else
        c->listed = 0; /* no read-ahead from a failed listing */
    add_ns(j, PQF_STAGE_LISTING, t0);
}

static bool on_listed(void *ud, const pqf_object_info *info)
{
    etag_cache *c = ud;
    snprintf(c->last, sizeof c->last, "%s", info->key);
    c->listed++;
    if (info->is_prefix || !info->etag[0])
        return true;
    size_t kl = strlen(info->key);
    etag_ent *e = malloc(sizeof *e + kl + 1);
    if (!e)
        return false;
    memcpy(e->key, info->key, kl + 1);
    memcpy(e->etag, info->etag, sizeof e->etag);
    e->size = info->size;
    pthread_mutex_lock(&c->mu);
    if (c->n >= ETAGS_MAX)
        etags_clear(c);
    size_t h = etag_hash(e->key);
    /* A key listed again replaces its entry. */
    for (etag_ent **pp = &c->b[h]; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, e->key) == 0) {
            etag_ent *old = *pp;
            *pp = old->next;
            free(old);
            c->n--;
            break;
        }
    e->next = c->b[h];
    c->b[h] = e;
    c->n++;
    pthread_mutex_unlock(&c->mu);
    return true;
}

/* The source's listed ETag and size of j's file; false when the listing
 * does not have it (the copy is then checked by HEAD). One listing of the
 * table from the file's commit on (data files are named
 * <seq 20>-<part>-<digest> in folders that sort in time, so later commits
 * come with it, up to 1,000 keys) serves the next copies too. */
static bool source_etag(job *j, char etag[72], uint64_t *size)
{
    etag_cache *c = &j->T->etags;
    const char *key = j->f->key;
    size_t left = 0;
    if (!c->b)
        return false;
    if (etags_take(c, key, etag, size, &left)) {
        /* Read ahead while the entries last, so that no worker waits for a
         * listing at the end of them (a worker that finds one in progress
         * goes on). Only after a listing that filled its page: the table's
         * end has been seen otherwise. */
        if (left < ETAGS_LOW && pthread_mutex_trylock(&c->list_mu) == 0) {
            if (c->listed == ETAGS_PAGE && c->last[0]) {
                char after[sizeof c->last], prefix[sizeof c->prefix];
                memcpy(after, c->last, sizeof after);
                memcpy(prefix, c->prefix, sizeof prefix);
                etags_list(j, c, prefix, after);
            }
            pthread_mutex_unlock(&c->list_mu);
        }
        return true;
    }
    pthread_mutex_lock(&c->list_mu);
    if (!etags_take(c, key, etag, size, NULL)) {
        /* prefix: the table's folder, so that the keys after this one come
         * with it across data folders (an hourly feed has one commit per
         * folder: a listing of the folder served 200 files of the benchmark,
         * one of the table 1,000); start after: the key up to the first '-'
         * of its base name (a prefix of the key, which sorts before it), else
         * the key less its last byte. */
        const char *slash = strrchr(key, '/');
        size_t dl = slash ? (size_t)(slash - key) + 1 : 0;
        size_t tl = strlen(j->T->table);
        size_t pl = strncmp(key, j->T->table, tl) == 0 && key[tl] == '/' ? tl + 1 : dl;
        const char *dash = strchr(key + dl, '-');
        size_t sl = dash && dash > key + dl ? (size_t)(dash - key) : strlen(key) - 1;
        char *prefix = strndup(key, pl), *after = strndup(key, sl);
        if (prefix && after && pl < sizeof c->prefix)
            etags_list(j, c, prefix, after);
        free(prefix);
        free(after);
        pthread_mutex_unlock(&c->list_mu);
        return etags_take(c, key, etag, size, NULL);
    }
    pthread_mutex_unlock(&c->list_mu);
    return true;
}

/* base64 CRC-32C (x-amz-checksum-crc32c, 4 bytes big-endian) to 8 hex
 * digits; false if it is not one. */
static bool b64_crc_hex(const char *b64, char hex[9])
{
    unsigned char raw[8];
    if (strlen(b64) != 8 || EVP_DecodeBlock(raw, (const unsigned char *)b64, 8) != 6)
        return false;
    pqf__hex(raw, 4, hex);
    return true;
}

static void copy_server(job *j, size_t k)
{
    link_ctx *L = &j->T->links[k];
    jdst *d = &j->d[k];
    const pqf_commit_file *f = j->f;
    pqf_object_info info, res;
    memset(&res, 0, sizeof res);
    pqf_error e2 = {0};
    bool match = false;
    char hex[65], src_etag[72] = "";
    uint64_t src_size = 0;
    bool pinned = source_etag(j, src_etag, &src_size);
    if (pinned && src_size != f->bytes) {
        /* Nothing is copied: the listed source is not the commit's file. */
        pqf_error_set(&d->err, PQF_ERR_CORRUPT,
                      "%s: the source has %" PRIu64 " bytes, the commit says %" PRIu64, f->key,
                      src_size, f->bytes);
        job_fail(d, PQF_ERR_CORRUPT, "size", false);
        goto done;
    }
    pqf__bucket_take(&L->r->bw, f->bytes); /* the server moves them: pay up front */
    uint64_t t0 = mono_ns();
    /* The size spares the store a HEAD of the source; the listed ETag pins
     * the copy to the object listed (412 if it was replaced since). */
    pqf_put_options po = {
        .size_hint = f->bytes, .copy_source_if_match = pinned ? src_etag : NULL, .result = &res};
    pqf_err rc = pqf_store_copy(j->T->src, f->key, L->dst, f->key, &po, &d->err);
    add_ns(j, PQF_STAGE_WRITE, t0);
    if (rc != PQF_OK) {
        if (rc == PQF_ERR_NOT_FOUND)
            job_fail(d, rc, "missing-at-source", false);
        else
            job_fail(d, rc, "write-target", retryable_code(rc)); /* 412: listed again next time */
        pqf_error_prefix(&d->err, "%s: ", f->key);
        goto done;
    }
    pqf__crashpoint("replicate.file-copied");
    d->transferred = true;
    /* The answer's ETag is the listed source's: the copy is of that object,
     * whose listed size is the commit's; no HEAD. Otherwise (not listed, or
     * ETags that differ, as SSE-KMS or a re-layout of a multipart copy give)
     * a HEAD checks the copy's size. */
    bool answered = pinned && res.etag[0] && strcmp(res.etag, src_etag) == 0;
    char crc[9];
    if (res.checksum_sha256[0] && b64_sha_hex(res.checksum_sha256, hex) &&
        strcmp(hex, f->sha256) != 0) {
        pqf_error_set(&d->err, PQF_ERR_CHECKSUM,
                      "%s: the server's sha256 is %.12s..., the commit says %.12s...", f->key, hex,
                      f->sha256);
        job_fail(d, PQF_ERR_CHECKSUM, "checksum", false);
    } else if (res.checksum_crc32c[0] && f->crc32c[0] && b64_crc_hex(res.checksum_crc32c, crc) &&
               strcmp(crc, f->crc32c) != 0) {
        pqf_error_set(&d->err, PQF_ERR_CHECKSUM,
                      "%s: the server's crc32c is %s, the commit says %s", f->key, crc, f->crc32c);
        job_fail(d, PQF_ERR_CHECKSUM, "checksum", false);
    } else if (!answered) {
        atomic_fetch_add_explicit(&L->r->copy_heads, 1, memory_order_relaxed);
        t0 = mono_ns();
        rc = pqf_store_head(L->dst, f->key, NULL, &info, &d->err);
        add_ns(j, PQF_STAGE_VERIFY, t0);
        if (rc != PQF_OK) {
            job_fail(d, rc, "verify", retryable_code(rc) || rc == PQF_ERR_NOT_FOUND);
        } else if (info.size != f->bytes) {
            pqf_error_set(&d->err, PQF_ERR_CORRUPT,
                          "%s: the copy has %" PRIu64 " bytes, the commit says %" PRIu64, f->key,
                          info.size, f->bytes);
            job_fail(d, PQF_ERR_CORRUPT, "size", false);
        } else if (info.checksum_sha256[0] && b64_sha_hex(info.checksum_sha256, hex) &&
                   strcmp(hex, f->sha256) != 0) {
            pqf_error_set(&d->err, PQF_ERR_CHECKSUM,
                          "%s: the server's sha256 is %.12s..., the commit says %.12s...", f->key,
                          hex, f->sha256);
            job_fail(d, PQF_ERR_CHECKSUM, "checksum", false);
        }
    }
    if (d->rc == PQF_OK && L->r->o->verify == PQF_VERIFY_FULL) {
        rc = hash_at_replica(j, k, &match);
        if (rc != PQF_OK)
            job_fail(d, rc, "verify", retryable_code(rc));
        else if (!match)
            /* A server-side copy is exact: the source itself is wrong. */
            job_fail(d, PQF_ERR_CHECKSUM, "checksum", false);
    }
    if (d->rc != PQF_OK && !d->retryable)
        pqf_store_delete(L->dst, f->key, NULL, &e2); /* named by no published commit */
done:;
}

/* Already at link k's replica? (recorded verified: its size suffices; an
 * attempt started before: its size and SHA-256, read back). */
static bool found_at_replica(job *j, size_t k)
{
    jdst *d = &j->d[k];
    pqf_object_info info;
    pqf_error e2 = {0};
    bool match = false;
    uint64_t t0 = mono_ns();
    pqf_err rc = pqf_store_head(j->T->links[k].dst, j->f->key, NULL, &info, &e2);
    add_ns(j, PQF_STAGE_LISTING, t0);
    if (rc != PQF_OK || info.size != j->f->bytes)
        goto done;
    if (d->verified_before) {
        match = true;
        goto done;
    }
    /* Copied by a run that died before recording it: adopt it if its bytes
     * are right, instead of copying it again. */
    if (hash_at_replica(j, k, &match) != PQF_OK)
        match = false;
    pqf_error_clear(&d->err);
done:
    return match;
}

static void run_job(job *j)
{
    size_t want = 0;
    for (size_t k = 0; k < j->T->nlinks; k++) {
        jdst *d = &j->d[k];
        d->want = false;
        if (!d->running)
            continue;
        d->rc = PQF_OK;
        pqf_error_clear(&d->err);
        d->cause = NULL;
        d->retryable = false;
        d->transferred = false;
        bool there = (d->verified_before || d->probe) && found_at_replica(j, k);
        if (!there) {
            d->want = true;
            want++;
        }
    }
    if (!want)
        return;
    if (j->T->r->o->server_copy) {
        for (size_t k = 0; k < j->T->nlinks; k++)
            if (j->d[k].want)
                copy_server(j, k);
    } else {
        copy_streamed(j);
    }
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

static bool stopping(const run_ctx *r)
{
    return r->o->stop && *r->o->stop;
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

static wcommit *win_at(tbl_ctx *T, size_t i)
{
    return &T->win[(T->win_first + i) % T->r->lookahead];
}

/* The window's commit seq, or NULL when it is not loaded. */
static wcommit *win_seq(tbl_ctx *T, uint64_t seq)
{
    if (!T->win_n)
        return NULL;
    uint64_t first = win_at(T, 0)->c->seq;
    if (seq < first || seq - first >= T->win_n)
        return NULL;
    return win_at(T, (size_t)(seq - first));
}

static void wcommit_clear(wcommit *wc)
{
    pqf_commit_free(wc->c);
    free(wc->raw);
    free(wc->jobs);
    free(wc->dsts);
    free(wc->left);
    memset(wc, 0, sizeof *wc);
}

pqf_err pqf__repl_read_commit(pqf_store *s, const char *table, uint64_t seq, uint8_t **raw,
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

/* The primary's log cannot go on at seq: every link that needs it stops there. */
static void load_fail(tbl_ctx *T, uint64_t seq, pqf_err rc, const pqf_error *e)
{
    T->load_failed = true;
    for (size_t k = 0; k < T->nlinks; k++)
        if (link_needs(&T->links[k], seq))
            link_fail(&T->links[k], seq, rc, e);
}

/* Load the primary's next commit into the window (read once for every link). */
static pqf_err load_one(tbl_ctx *T, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    wcommit *wc = win_at(T, T->win_n);
    uint64_t seq = T->next_load;
    uint64_t t0 = mono_ns();
    pqf_error e2 = {0};
    pqf_err r2 = pqf__repl_read_commit(T->src, T->table, seq, &wc->raw, &wc->rawlen, &wc->c, &e2);
    uint64_t dt = mono_ns() - t0;
    for (size_t k = 0; k < T->nlinks; k++)
        if (link_needs(&T->links[k], seq))
            T->links[k].stage_ns[PQF_STAGE_LISTING] += dt;
    if (r2 != PQF_OK) {
        load_fail(T, seq, r2, &e2); /* the links stop; the run goes on */
        goto done;
    }
    if (seq > 1 && strcmp(wc->c->prev, T->prev_hash) != 0) {
        pqf_error_set(&e2, PQF_ERR_CORRUPT,
                      "the primary's hash chain is broken: prev is %.12s..., commit %" PRIu64
                      " hashes to %.12s...",
                      wc->c->prev, seq - 1, T->prev_hash);
        load_fail(T, seq, PQF_ERR_CORRUPT, &e2);
        wcommit_clear(wc);
        goto done;
    }
    memcpy(T->prev_hash, wc->c->hash, sizeof T->prev_hash);
    size_t nf = wc->c->nfiles, nl = T->nlinks;
    wc->left = calloc(nl, sizeof *wc->left);
    wc->jobs = calloc(nf ? nf : 1, sizeof *wc->jobs);
    wc->dsts = calloc(nf && nl ? nf * nl : 1, sizeof *wc->dsts);
    if (!wc->left || !wc->jobs || !wc->dsts) {
        wcommit_clear(wc);
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nf; i++) {
        job *j = &wc->jobs[i];
        j->T = T;
        j->wc = wc;
        j->f = &wc->c->files[i];
        j->d = &wc->dsts[i * nl];
        for (size_t k = 0; k < nl; k++) {
            link_ctx *L = &T->links[k];
            jdst *d = &j->d[k];
            pqf__robj o;
            bool found = false;
            if (!link_needs(L, seq)) {
                d->st = J_DONE; /* the replica has the commit, or will not get it */
                continue;
            }
            d->st = J_WAIT;
            wc->left[k]++;
            PQF_TRY(pqf__rstate_obj_get(T->r->st, &L->id, j->f->key, &o, &found, err));
            if (found && strcmp(o.state, "verified") == 0 && o.bytes == j->f->bytes &&
                strcmp(o.sha256, j->f->sha256) == 0)
                d->verified_before = true;
            else if (found || T->r->o->versions)
                d->probe = true; /* versions: the history replay put it there */
        }
    }
    T->win_n++;
    T->next_load++;
done:
    return rc;
}

/* pqf__repl_copy_small; missing (may be NULL): set, with PQF_OK, when the
 * primary has no such object. */
static pqf_err copy_small(pqf_store *src, pqf_store *dst, const char *key, bool immutable,
                          bool *missing, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    pqf_error e2 = {0};
    rc = pqf_store_get_bytes(src, key, NULL, SMALL_MAX_BYTES, &a, &alen, err);
    if (rc == PQF_ERR_NOT_FOUND && missing) {
        *missing = true;
        pqf_error_clear(err);
        rc = PQF_OK;
        goto done;
    }
    PQF_TRY(rc);
    /* The replica's copy is read first even for an immutable object: a put
     * if absent first would save a request, but RGW 16 does not honour
     * If-None-Match in a versioned bucket (a new version of the same bytes). */
    pqf_err r2 = pqf_store_get_bytes(dst, key, NULL, SMALL_MAX_BYTES, &b, &blen, &e2);
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
    rc = pqf_store_put_bytes(dst, key, a, alen, &po, err);
    if (rc == PQF_ERR_EXISTS) {
        /* A retried put whose first attempt landed (its answer was lost), or
         * a racing replicator: fine if the bytes are the same. */
        free(b);
        b = NULL;
        r2 = pqf_store_get_bytes(dst, key, NULL, SMALL_MAX_BYTES, &b, &blen, &e2);
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

pqf_err pqf__repl_copy_small(pqf_store *src, pqf_store *dst, const char *key, bool immutable,
                             pqf_error *err)
{
    return copy_small(src, dst, key, immutable, NULL, err);
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

static uint64_t backoff_ms(run_ctx *r, unsigned attempt);

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Put the commit object at L's replica (put-if-absent); finding the same
 * bytes there is success (a rerun after a crash between the put and the
 * state update, or a retried put whose answer was lost). */
static pqf_err put_commit(link_ctx *L, wcommit *wc, const char *key, pqf_error *err)
{
    uint8_t *have = NULL;
    size_t have_len = 0;
    pqf_put_options po = {.if_absent = true, .content_type = "application/json"};
    pqf_err rc = pqf_store_put_bytes(L->dst, key, wc->raw, wc->rawlen, &po, err);
    if (rc == PQF_ERR_EXISTS) {
        rc = pqf_store_get_bytes(L->dst, key, NULL, COMMIT_MAX_BYTES, &have, &have_len, err);
        if (rc == PQF_OK && (have_len != wc->rawlen || memcmp(have, wc->raw, have_len) != 0))
            rc = pqf_error_set(err, PQF_ERR_CONFLICT,
                               "%s exists at the replica with other bytes (another writer)", key);
    }
    free(have);
    return rc;
}

/* Make sure commit c's schema version is at L's replica (copied from the
 * primary, put-if-absent), before c is published. A small put the store does
 * not retry on its own (conditional puts are not idempotent to it): transient
 * failures are retried here, with the objects' backoff and attempts. When it
 * cannot be copied, L fails at c (L->schema_ok stays another version). */
static pqf_err schema_ready(link_ctx *L, const pqf_commit *c, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    run_ctx *r = L->r;
    char key[PQF_TABLE_NAME_MAX + 64];
    pqf_error e2 = {0};
    pqf_err r2 = PQF_OK;
    if (c->schema_version == L->schema_ok)
        goto done;
    pqf__schema_key(L->table, c->schema_version, key, sizeof key);
    for (unsigned a = 1;; a++) {
        pqf_error_clear(&e2);
        r2 = pqf__repl_copy_small(L->T->src, L->dst, key, true, &e2);
        if (r2 == PQF_OK || !retryable_code(r2) || a >= r->max_attempts || stopping(r))
            break;
        r->res.retries++;
        PQF_TRY(pqf__rstate_count(r->st, &L->id, "retries", 1, err));
        sleep_ms(backoff_ms(r, a));
    }
    if (r2 != PQF_OK) {
        pqf_error_prefix(&e2, "schema version %d: ", c->schema_version);
        link_fail(L, c->seq, r2, &e2);
        PQF_TRY(pqf__rstate_count(r->st, &L->id, "fail:schema", 1, err));
        goto done;
    }
    L->schema_ok = c->schema_version;
done:
    return rc;
}

/* Publish wc (commit L->published + 1, every file verified) at L's replica.
 * The schema version and the commit object are small puts the store does not
 * retry on its own (conditional puts are not idempotent to it): transient
 * failures are retried here, with the objects' backoff and attempts. */
static pqf_err publish(link_ctx *L, wcommit *wc, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    run_ctx *r = L->r;
    const pqf_commit *c = wc->c;
    char key[PQF_TABLE_NAME_MAX + 64];
    pqf_error e2 = {0};
    pqf_err r2 = PQF_OK;
    uint64_t t0 = mono_ns();
    /* The batch first: the files' rows are durable before their commit is visible. */
    PQF_TRY(pqf__rstate_commit(r->st, err));
    PQF_TRY(schema_ready(L, c, err));
    if (L->schema_ok != c->schema_version)
        goto done; /* L failed */
    pqf__crashpoint("replicate.before-publish");
    pqf_feed_log_key(L->table, c->seq, key, sizeof key);
    for (unsigned a = 1;; a++) {
        pqf_error_clear(&e2);
        r2 = put_commit(L, wc, key, &e2);
        if (r2 == PQF_OK || !retryable_code(r2) || a >= r->max_attempts || stopping(r))
            break;
        r->res.retries++;
        PQF_TRY(pqf__rstate_count(r->st, &L->id, "retries", 1, err));
        sleep_ms(backoff_ms(r, a));
    }
    L->stage_ns[PQF_STAGE_WRITE] += mono_ns() - t0;
    if (r2 != PQF_OK) {
        if (r2 == PQF_ERR_CONFLICT)
            PQF_TRY(pqf__rstate_count(r->st, &L->id, "fail:conflict", 1, err));
        link_fail(L, c->seq, r2, &e2);
        goto done;
    }
    pqf__crashpoint("replicate.after-publish");
    int64_t lag = pqf__repl_now_ms() - c->created_ms;
    PQF_TRY(pqf__rstate_begin(r->st, err));
    PQF_TRY(pqf__rstate_published(r->st, &L->id, c->seq, c->hash, lag, err));
    PQF_TRY(flush_counters(L, err));
    PQF_TRY(pqf__rstate_commit(r->st, err));
    L->published = c->seq;
    r->res.published++;
    pqf_repl_event ev = {.kind = PQF_REPL_PUBLISHED,
                         .seq = c->seq,
                         .files = c->nfiles,
                         .bytes = c->bytes,
                         .lag_ms = lag};
    emit(L, &ev);
done:
    return rc;
}

/* L's next commit, when it is loaded and every file of it is at L's replica. */
static wcommit *ready_for(link_ctx *L)
{
    uint64_t seq = L->published + 1;
    wcommit *wc = link_needs(L, seq) ? win_seq(L->T, seq) : NULL;
    return wc && wc->left[L->k] == 0 ? wc : NULL;
}

/* Publish what each link can, in order; then drop the window's first
 * commits once no link needs them any more. */
static pqf_err publish_ready(tbl_ctx *T, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    for (size_t k = 0; k < T->nlinks; k++) {
        link_ctx *L = &T->links[k];
        wcommit *wc;
        while ((wc = ready_for(L)) != NULL)
            PQF_TRY(publish(L, wc, err));
    }
    while (T->win_n > 0) {
        wcommit *wc = win_at(T, 0);
        bool needed = wc->running > 0;
        for (size_t k = 0; k < T->nlinks && !needed; k++)
            needed = link_needs(&T->links[k], wc->c->seq);
        if (needed)
            break;
        wcommit_clear(wc);
        T->win_first = (T->win_first + 1) % T->r->lookahead;
        T->win_n--;
    }
done:
    return rc;
}

static bool any_ready(tbl_ctx *T)
{
    for (size_t k = 0; k < T->nlinks; k++)
        if (ready_for(&T->links[k]))
            return true;
    return false;
}

static bool can_load(tbl_ctx *T)
{
    if (T->load_failed || stopping(T->r) || T->next_load > T->head ||
        T->win_n >= T->r->lookahead)
        return false;
    for (size_t k = 0; k < T->nlinks; k++)
        if (link_needs(&T->links[k], T->next_load))
            return true;
    return false;
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

/* The outcome of job j at link L (its jdst d): state, counters, retry or give up. */
static pqf_err finish_dst(link_ctx *L, job *j, jdst *d, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    run_ctx *r = L->r;
    const pqf_commit_file *f = j->f;
    uint64_t seq = j->wc->c->seq;
    if (d->rc == PQF_OK) {
        d->st = J_DONE;
        j->wc->left[L->k]--;
        if (d->transferred) {
            L->copied++;
            L->bytes += f->bytes;
            r->res.objects_copied++;
            r->res.bytes_copied += f->bytes;
            if (d->resumed) {
                r->res.uploads_resumed++;
                PQF_TRY(pqf__rstate_count(r->st, &L->id, "resumed", 1, err));
            }
        } else {
            L->skipped++;
            r->res.objects_skipped++;
        }
        if (!d->verified_before || d->transferred)
            PQF_TRY(pqf__rstate_obj_set(r->st, &L->id, seq, f->key, "verified", f->bytes,
                                        f->sha256, d->attempts, "", "", err));
        goto done;
    }
    char name[64];
    snprintf(name, sizeof name, "fail:%s", d->cause ? d->cause : "other");
    PQF_TRY(pqf__rstate_count(r->st, &L->id, name, 1, err));
    PQF_TRY(pqf__rstate_obj_set(r->st, &L->id, seq, f->key, "failed", f->bytes, f->sha256,
                                d->attempts, d->cause, d->err.msg, err));
    pqf_repl_event ev = {.seq = seq,
                         .key = f->key,
                         .cause = d->cause,
                         .message = d->err.msg,
                         .attempts = d->attempts};
    /* While stopping, a retry is scheduled but not started: the object stays
     * pending for the next run instead of counting as failed. */
    if (d->retryable && d->attempts < r->max_attempts) {
        d->st = J_WAIT;
        d->probe = true;
        d->verified_before = false;
        d->due_ms = pqf__repl_now_ms() + (int64_t)backoff_ms(r, d->attempts);
        r->res.retries++;
        PQF_TRY(pqf__rstate_count(r->st, &L->id, "retries", 1, err));
        ev.kind = PQF_REPL_RETRY;
        emit(L, &ev);
        goto done;
    }
    d->st = J_FAILED;
    r->res.failed++;
    PQF_TRY(pqf__rstate_count(r->st, &L->id, "gave-up", 1, err));
    pqf_error e2 = d->err;
    pqf_error_prefix(&e2, "after %u attempt%s (%s): ", d->attempts, d->attempts == 1 ? "" : "s",
                     d->cause ? d->cause : "other");
    link_fail(L, seq, d->rc, &e2);
    ev.kind = PQF_REPL_FAILED;
    emit(L, &ev);
done:
    return rc;
}

/* A task came back: account for it at every link it served. */
static pqf_err finish_job(tbl_ctx *T, job *j, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    T->inflight--;
    T->inflight_bytes -= j->reserve;
    j->in_flight = false;
    j->wc->running--;
    for (size_t k = 0; k < T->nlinks; k++) {
        link_ctx *L = &T->links[k];
        jdst *d = &j->d[k];
        if (!d->running)
            continue;
        d->running = false;
        for (int s = 0; s < PQF_STAGE__COUNT; s++)
            L->stage_ns[s] += j->stage_ns[s];
        if (rc == PQF_OK)
            rc = finish_dst(L, j, d, err);
    }
    memset(j->stage_ns, 0, sizeof j->stage_ns);
    return rc;
}

/* Record in the state file (for status) whether the link waits for the
 * window, and until when (0: it does not). */
static pqf_err window_note(link_ctx *L, int64_t opens_ms, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    /* The same wait seen again a little later opens at the same minute:
     * write only changes. */
    int64_t d = opens_ms - L->window_opens_ms;
    if ((opens_ms == 0) == (L->window_opens_ms == 0) && (opens_ms == 0 || (d > -60000 && d < 60000)))
        goto done;
    PQF_TRY(pqf__rstate_set(L->r->st, &L->id, "wait:window", opens_ms, err));
    L->window_opens_ms = opens_ms;
    if (opens_ms) {
        pqf_repl_event ev = {.kind = PQF_REPL_WINDOW_WAIT, .seq = L->published, .opens_ms = opens_ms};
        emit(L, &ev);
    }
done:
    return rc;
}

/* Start jobs in seq order within the budgets, and within the window: each
 * task takes every link whose copy of the file is due. *next_due: the
 * earliest retry not yet due, or when to look at the window again (0:
 * none). *waiting: some file still waits to start at some link. */
static pqf_err dispatch(tbl_ctx *T, int64_t *next_due, bool *waiting, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    run_ctx *r = T->r;
    int64_t now = pqf__repl_now_ms();
    int64_t closed_ms = pqf_repl_window_wait_ms(&r->o->window, now);
    bool held = false;
    *next_due = 0;
    *waiting = false;
    for (size_t k = 0; k < T->nlinks; k++)
        T->links[k].held = false;
    for (size_t w = 0; w < T->win_n; w++) {
        wcommit *wc = win_at(T, w);
        uint64_t seq = wc->c->seq;
        for (size_t i = 0; i < wc->c->nfiles; i++) {
            job *j = &wc->jobs[i];
            size_t n = 0, nstream = 0;
            if (j->in_flight) {
                /* The worker owns the running jdsts; a link whose copy
                 * became due meanwhile joins the file's next task. */
                for (size_t k = 0; k < T->nlinks; k++)
                    if (j->d[k].st == J_WAIT && link_needs(&T->links[k], seq))
                        *waiting = true;
                continue;
            }
            for (size_t k = 0; k < T->nlinks; k++) {
                link_ctx *L = &T->links[k];
                jdst *d = &j->d[k];
                d->want = false;
                if (d->st != J_WAIT || !link_needs(L, seq))
                    continue;
                *waiting = true;
                if (stopping(r))
                    goto done;
                if (d->due_ms > now) {
                    if (!*next_due || d->due_ms < *next_due)
                        *next_due = d->due_ms;
                    continue;
                }
                /* Outside the window only objects recorded verified (a HEAD) go. */
                if (closed_ms > 0 && !d->verified_before) {
                    L->held = held = true;
                    continue;
                }
                d->want = true; /* picked (reset by the worker) */
                n++;
                nstream += !d->verified_before;
            }
            if (!n)
                continue;
            /* Each replica written holds its own put's buffers. A streamed
             * object of B bytes touches at most B of read buffers and B of
             * write buffers (part buffers are mapped on demand and returned
             * when freed: M_MMAP_THRESHOLD below), a large one transfer_bytes;
             * a server-side copy only a request and its answer. */
            uint64_t one = r->o->server_copy ? SERVER_COPY_RESERVE
                                             : PQF_MIN(2 * j->f->bytes + (64u << 10), r->transfer_bytes);
            uint64_t reserve = one * PQF_MAX(nstream, 1u);
            if (T->inflight >= r->concurrency ||
                (T->inflight && T->inflight_bytes + reserve > r->max_inflight)) {
                for (size_t k = 0; k < T->nlinks; k++)
                    j->d[k].want = false;
                goto done;
            }
            for (size_t k = 0; k < T->nlinks; k++) {
                link_ctx *L = &T->links[k];
                jdst *d = &j->d[k];
                if (!d->want)
                    continue;
                d->want = false;
                if (!d->verified_before)
                    PQF_TRY(pqf__rstate_obj_set(r->st, &L->id, seq, j->f->key, "copying",
                                                j->f->bytes, j->f->sha256, d->attempts + 1, "",
                                                "", err));
                d->attempts++;
                d->st = J_RUNNING;
                d->running = true;
            }
            j->in_flight = true;
            j->reserve = reserve;
            wc->running++;
            T->inflight++;
            T->inflight_bytes += reserve;
            /* Held until its "copying" rows are committed (start_held). */
            j->next = NULL;
            if (T->held_tail)
                T->held_tail->next = j;
            else
                T->held_head = j;
            T->held_tail = j;
        }
    }
done:
    for (size_t k = 0; k < T->nlinks && rc == PQF_OK; k++)
        rc = window_note(&T->links[k], T->links[k].held ? now + closed_ms : 0, err);
    if (rc == PQF_OK && held) {
        /* Look again within a second, so that a stop is seen promptly. */
        int64_t again = now + PQF_MIN(closed_ms, 1000);
        if (!*next_due || again < *next_due)
            *next_due = again;
    }
    return rc;
}

/* Hand the held jobs to the workers (their state rows are committed). */
static void start_held(tbl_ctx *T)
{
    pool *p = &T->r->pool;
    if (!T->held_head)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->work_tail)
        p->work_tail->next = T->held_head;
    else
        p->work_head = T->held_head;
    p->work_tail = T->held_tail;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    T->held_head = T->held_tail = NULL;
}

/* A job dispatched but not started goes back to waiting. */
static void unstart(tbl_ctx *T, job *j)
{
    for (size_t k = 0; k < T->nlinks; k++) {
        if (j->d[k].running) {
            j->d[k].running = false;
            j->d[k].st = J_WAIT;
        }
    }
    j->in_flight = false;
    j->wc->running--;
    T->inflight--;
    T->inflight_bytes -= j->reserve;
}

/* Wait for finished jobs (until deadline_ms, 0: up to 1 s) and handle them. */
static pqf_err collect(tbl_ctx *T, int64_t deadline_ms, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pool *p = &T->r->pool;
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
        rc = finish_job(T, j, err);
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

/* Wait until no job of this table is in flight (jobs point into its window). */
static void drain(tbl_ctx *T)
{
    pool *p = &T->r->pool;
    while (T->held_head) {
        job *j = T->held_head;
        T->held_head = j->next;
        unstart(T, j);
    }
    T->held_tail = NULL;
    pthread_mutex_lock(&p->mu);
    /* Jobs never started can be taken back. */
    job **pp = &p->work_head;
    p->work_tail = NULL;
    while (*pp) {
        job *j = *pp;
        if (j->T == T) {
            unstart(T, j);
            *pp = j->next;
        } else {
            p->work_tail = j;
            pp = &j->next;
        }
    }
    while (T->inflight) {
        while (!p->done)
            pthread_cond_wait(&p->done_cv, &p->mu);
        while (p->done) {
            job *j = p->done;
            p->done = j->next;
            j->in_flight = false;
            j->wc->running--;
            T->inflight--;
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
    PQF_TRY(pqf_feed_head(L->df, L->table, &L->published, err));
    PQF_TRY(pqf__rstate_link_get(L->r->st, &L->id, &rec, &lag, NULL, 0, err));
    if (L->published > L->T->head)
        PQF_FAIL(err, PQF_ERR_CONFLICT,
                 "replica %s: table %s: the replica's head %" PRIu64
                 " is beyond the primary's %" PRIu64 " (another feed, or the primary lost commits)",
                 L->id.dst, L->table, L->published, L->T->head);
    if (L->published > 0) {
        PQF_TRY(pqf__repl_read_commit(L->T->src, L->table, L->published, &ra, &la, &ca, err));
        PQF_TRY(pqf__repl_read_commit(L->dst, L->table, L->published, &rb, &lb, &cb, err));
        if (strcmp(ca->hash, cb->hash) != 0)
            PQF_FAIL(err, PQF_ERR_CONFLICT,
                     "replica %s: table %s: commit %" PRIu64
                     " differs from the primary's (hash %.12s... vs %.12s...): the replica "
                     "diverged",
                     L->id.dst, L->table, L->published, cb->hash, ca->hash);
        memcpy(L->pub_hash, ca->hash, sizeof L->pub_hash);
        L->schema_ok = ca->schema_version; /* published with it */
    }
    if (rec != L->published)
        PQF_TRY(pqf__rstate_published(L->r->st, &L->id, L->published, L->pub_hash, lag, err));
done:
    L->stage_ns[PQF_STAGE_LISTING] += mono_ns() - t0;
    free(ra);
    free(rb);
    pqf_commit_free(ca);
    pqf_commit_free(cb);
    return rc;
}

/* Replicate one table to every link. Returns a failure of the run itself
 * (state file, memory); the links' own failures are in L->rc / L->err. */
static pqf_err replicate_table(tbl_ctx *T, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    run_ctx *r = T->r;
    link_ctx *low = NULL; /* the link furthest behind: the window starts there */
    if (r->o->server_copy)
        etags_init(&T->etags);
    PQF_TRY(pqf__rstate_batch(r->st, true, err));
    T->win = calloc(r->lookahead, sizeof *T->win);
    if (!T->win)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    {
        uint64_t t0 = mono_ns();
        pqf_error e2 = {0};
        pqf_err r2 = pqf_feed_head(T->sf, T->table, &T->head, &e2);
        uint64_t dt = mono_ns() - t0;
        for (size_t k = 0; k < T->nlinks; k++) {
            T->links[k].stage_ns[PQF_STAGE_LISTING] += dt;
            if (r2 != PQF_OK) {
                link_ctx *L = &T->links[k];
                L->failed = true;
                L->fail_seq = 0;
                L->rc = r2;
                L->err = e2;
            }
        }
        if (r2 != PQF_OK)
            goto done;
    }
    for (size_t k = 0; k < T->nlinks; k++) {
        link_ctx *L = &T->links[k];
        pqf_error e2 = {0};
        if (L->failed)
            continue; /* before the table (versions) */
        pqf_err r2 = link_start(L, &e2);
        if (r2 != PQF_OK) {
            L->failed = true;
            L->fail_seq = 0;
            L->rc = r2;
            L->err = e2;
            continue;
        }
        if (!low || L->published < low->published)
            low = L;
    }
    if (!low)
        goto done;
    T->next_load = low->published + 1;
    memcpy(T->prev_hash, low->pub_hash, sizeof T->prev_hash);
    for (;;) {
        PQF_TRY(publish_ready(T, err));
        while (can_load(T))
            PQF_TRY(load_one(T, err));
        int64_t next_due = 0;
        bool waiting = false;
        PQF_TRY(dispatch(T, &next_due, &waiting, err));
        /* One transaction per round: the rows of the jobs just finished and
         * the "copying" rows of those dispatched, committed before these
         * start, so a rerun after a kill -9 knows of every transfer that may
         * have begun (and probes it); losing a finished job's row costs only
         * a read-back. Two transactions per object were 7% of the CPU time
         * of a streamed copy of small objects. */
        PQF_TRY(pqf__rstate_commit(r->st, err));
        start_held(T);
        /* While those transfers run, the schema version of each link's next
         * commit goes to its replica, instead of after them at publication. */
        for (size_t k = 0; k < T->nlinks && T->inflight; k++) {
            link_ctx *L = &T->links[k];
            wcommit *nx = link_needs(L, L->published + 1) ? win_seq(T, L->published + 1) : NULL;
            if (nx && nx->c->schema_version != L->schema_ok)
                PQF_TRY(schema_ready(L, nx->c, err));
        }
        bool loadable = can_load(T), publishable = any_ready(T);
        if (T->inflight == 0 && !loadable && !publishable && (!waiting || stopping(r)))
            break;
        if (T->inflight == 0 && !loadable && !publishable && waiting && !next_due)
            break; /* waiting jobs blocked by nothing: cannot happen; do not spin */
        PQF_TRY(collect(T, T->inflight ? 0 : next_due, err));
    }
done:
    if (T->inflight)
        drain(T);
    for (size_t k = 0; k < T->nlinks; k++) {
        link_ctx *L = &T->links[k];
        if (rc == PQF_OK)
            rc = window_note(L, 0, err);
        if (rc == PQF_OK)
            rc = flush_counters(L, err);
        if (rc == PQF_OK)
            rc = pqf__rstate_set_error(r->st, &L->id, L->failed ? L->err.msg : "", err);
    }
    {
        pqf_error e2 = {0};
        pqf_err r2 = pqf__rstate_batch(r->st, false, rc == PQF_OK ? err : &e2);
        if (rc == PQF_OK)
            rc = r2;
    }
    if (T->win) {
        for (size_t i = 0; i < r->lookahead; i++)
            wcommit_clear(&T->win[i]);
        free(T->win);
        T->win = NULL;
    }
    if (r->o->server_copy) {
        r->res.source_listings += T->etags.listings;
        etags_free(&T->etags);
    }
    return rc;
}

unsigned pqf__repl_shard_of(const char *table, unsigned count)
{
    /* FNV-1a (32 bits): stable across machines and versions, which the
     * split of a backfill among workers depends on. */
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)table; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return count ? h % count : 0;
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
    if (rc == PQF_OK && o->shard_count > 1) {
        /* Keep this shard's tables only. */
        size_t k = 0;
        for (size_t i = 0; i < *n; i++) {
            if (pqf__repl_shard_of((*names)[i], o->shard_count) == o->shard_index)
                (*names)[k++] = (*names)[i];
            else
                free((*names)[i]);
        }
        *n = k;
    }
    if (rc != PQF_OK) {
        pqf_strv_free(*names, *n);
        *names = NULL;
        *n = 0;
    }
    pqf_strv_free(all, nall);
    return rc;
}

/* --versions for one prefix of one replica, counted in the run's result. */
static pqf_err versions_run(run_ctx *r, pqf_store *src, pqf_store *dst, const pqf__rlink *id,
                            const char *prefix, bool exact, pqf_error *err)
{
    pqf__vres v;
    memset(&v, 0, sizeof v);
    pqf_err rc = pqf__repl_versions(r->st, src, dst, id, prefix, exact, &v, err);
    r->res.versions_copied += v.copied;
    r->res.delete_markers += v.markers;
    r->res.versions_adopted += v.adopted;
    return rc;
}

pqf_err pqf_replicate(pqf_store *primary, pqf_store *const *replicas, size_t nreplicas,
                      const pqf_replicate_opts *opts, pqf_replicate_result *res, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    run_ctx *r = NULL;
    pqf_feed *sf = NULL;
    pqf_feed **dfs = NULL;
    link_ctx *links = NULL;
    char **tables = NULL;
    size_t ntables = 0;
    bool pool_up = false;
    if (res)
        memset(res, 0, sizeof *res);
    if (!opts || !opts->state_path || !*opts->state_path)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "replicate: a state file is required");
    if (opts->shard_count > 1 && opts->shard_index >= opts->shard_count)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "replicate: shard %u/%u does not exist",
                             opts->shard_index, opts->shard_count);
    r = calloc(1, sizeof *r);
    if (!r)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    pqf__bucket_init(&r->bw, opts->bwlimit);
    r->o = opts;
    r->concurrency = opts->concurrency ? opts->concurrency : 8;
    r->lookahead = opts->lookahead ? PQF_MIN(opts->lookahead, LOOKAHEAD_MAX) : 32;
    r->max_attempts = opts->max_attempts ? opts->max_attempts : 4;
    r->retry_base_ms = opts->retry_base_ms ? opts->retry_base_ms : 200;
    r->max_inflight = opts->max_inflight_bytes ? opts->max_inflight_bytes : DEFAULT_MAX_INFLIGHT;
    malloc_tune();
    r->transfer_bytes = opts->transfer_bytes ? opts->transfer_bytes : (2u << 20);
    r->rng = (uint64_t)mono_ns() | 1;
    PQF_TRY(pqf__rstate_open(opts->state_path, true, &r->st, err));
    pool_up = true; /* pool_stop joins the threads that did start */
    PQF_TRY(pool_start(&r->pool, r->concurrency, err));
    PQF_TRY(pqf_feed_open(primary, &sf, err));
    PQF_TRY(pqf__repl_tables(sf, opts, &tables, &ntables, err));
    for (size_t k = 0; k < nreplicas && opts->versions; k++)
        PQF_TRY(pqf__repl_versions_check(primary, replicas[k], err));
    dfs = calloc(nreplicas ? nreplicas : 1, sizeof *dfs);
    links = calloc(nreplicas ? nreplicas : 1, sizeof *links);
    if (!dfs || !links)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < nreplicas; k++) {
        PQF_TRY(pqf_feed_open(replicas[k], &dfs[k], err));
        /* Feed metadata first, so a consumer of the replica finds it. */
        pqf_error e2 = {0};
        pqf_object_info info;
        /* Without --versions no HEAD first: the copy's read says whether
         * there is one. */
        if (!opts->versions || pqf_store_head(primary, "_feed.json", NULL, &info, &e2) == PQF_OK) {
            pqf_err r2 = PQF_OK;
            bool missing = false;
            if (opts->versions) {
                pqf__rlink id = {pqf_store_uri(primary), pqf_store_uri(replicas[k]), ""};
                r2 = versions_run(r, primary, replicas[k], &id, "_feed.json", true, &e2);
            }
            if (r2 == PQF_OK)
                r2 = copy_small(primary, replicas[k], "_feed.json", false, &missing, &e2);
            if (r2 != PQF_OK && r->first_rc == PQF_OK) {
                r->first_rc = r2;
                r->first_err = e2;
                pqf_error_prefix(&r->first_err, "replica %s: _feed.json: ",
                                 pqf_store_uri(replicas[k]));
            }
        }
    }
    for (size_t t = 0; t < ntables && !(opts->stop && *opts->stop); t++) {
        if (!tables[t][0])
            continue;
        tbl_ctx T;
        memset(&T, 0, sizeof T);
        T.r = r;
        T.src = primary;
        T.sf = sf;
        T.table = tables[t];
        T.links = links;
        T.nlinks = nreplicas;
        memset(links, 0, nreplicas * sizeof *links);
        for (size_t k = 0; k < nreplicas; k++) {
            link_ctx *L = &links[k];
            L->r = r;
            L->T = &T;
            L->k = k;
            L->dst = replicas[k];
            L->df = dfs[k];
            L->table = tables[t];
            L->id.src = pqf_store_uri(primary);
            L->id.dst = pqf_store_uri(replicas[k]);
            L->id.tbl = tables[t];
        }
        for (size_t k = 0; k < nreplicas && opts->versions; k++) {
            link_ctx *L = &links[k];
            char prefix[PQF_TABLE_NAME_MAX + 2];
            pqf_error e2 = {0};
            snprintf(prefix, sizeof prefix, "%s/", tables[t]);
            pqf_err r2 = versions_run(r, primary, replicas[k], &L->id, prefix, false, &e2);
            if (r2 != PQF_OK) {
                L->failed = true;
                L->fail_seq = 0;
                L->rc = r2;
                pqf_error_set(&L->err, r2, "replica %s: table %s: versions: %s", L->id.dst,
                              L->table, e2.msg);
            }
        }
        PQF_TRY(replicate_table(&T, err));
        for (size_t k = 0; k < nreplicas; k++) {
            link_ctx *L = &links[k];
            pqf_repl_event ev = {.kind = PQF_REPL_TABLE_DONE, .seq = L->published, .head = T.head};
            emit(L, &ev);
            if (L->failed) {
                r->res.tables_failed++;
                if (r->first_rc == PQF_OK) {
                    r->first_rc = L->rc;
                    r->first_err = L->err;
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
        r->res.copy_heads = atomic_load(&r->copy_heads);
        if (res)
            *res = r->res;
        pqf__rstate_close(r->st);
        pqf__bucket_destroy(&r->bw);
    }
    pqf_strv_free(tables, ntables);
    if (dfs)
        for (size_t k = 0; k < nreplicas; k++)
            pqf_feed_free(dfs[k]);
    free(dfs);
    free(links);
    pqf_feed_free(sf);
    free(r);
    return rc;
}
