/* Native replication: the bucket's engine moves the bytes, pqfeed verifies
 * arrivals and publishes commits in order (include/pqfeed/repl_native.h).
 *
 * One pass per call. Per (replica, table): the replica's head is the
 * published position, checked against the primary (same commit bytes); a
 * head beyond what the state file recorded is checked to be complete (else
 * the engine replicated commit objects itself: misconfigured). Then the
 * primary's commits after it are examined in order; each file is HEADed at
 * the replica and, when it has the commit's size, verified (read back and
 * hashed, or its ETag compared with the primary's) by up to `concurrency`
 * threads; a verified file is recorded in the state file and later only
 * HEADed. Commits complete from the first on are published; examination goes
 * on `lookahead` commits past the first incomplete one so that their files
 * are verified as they arrive and reported.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/crash.h"
#include "feed/feed_impl.h"
#include "pqfeed/feed.h"
#include "pqfeed/repl_native.h"
#include "replicate/repl_impl.h"
#include "replicate/state.h"

#define COMMIT_MAX_BYTES PQF__REPL_COMMIT_MAX_BYTES
#define MAX_THREADS 64

void pqf_native_opts_init(pqf_native_opts *o)
{
    memset(o, 0, sizeof *o);
}

const char *pqf_native_state_name(pqf_native_state s)
{
    switch (s) {
    case PQF_NATIVE_PUBLISHED:
        return "published";
    case PQF_NATIVE_COMPLETE:
        return "complete";
    case PQF_NATIVE_WAITING:
        return "waiting";
    case PQF_NATIVE_CORRUPT:
        return "corrupt";
    }
    return "?";
}

typedef enum { FC_UNKNOWN, FC_OK, FC_MISSING, FC_BAD_SIZE, FC_BAD_SUM, FC_ERROR } fstate;

typedef struct fcheck {
    const pqf_commit_file *f;
    bool known; /* the state file says verified: HEAD only */
    fstate st;
    bool verified_now;
    pqf_err rc;
    char detail[PQF_ERROR_MSG_MAX];
} fcheck;

typedef struct nlink {
    pqf_store *src, *dst;
    pqf_feed *sf, *df;
    pqf__rlink id;
    const pqf_replicate_opts *o;
    const pqf_native_opts *no;
    pqf__rstate *st;
    pqf_native_result *res;
    unsigned concurrency;
    int schema_ok;
    uint64_t stage_ns[PQF_STAGE__COUNT]; /* for status's bottleneck */
} nlink;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Stage times as the copying engine records them ("stage:<n>", ms). */
static pqf_err flush_stages(nlink *L, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    static const char *const names[PQF_STAGE__COUNT] = {"stage:0", "stage:1", "stage:2", "stage:3"};
    for (int s = 0; s < PQF_STAGE__COUNT; s++) {
        uint64_t ms = L->stage_ns[s] / 1000000;
        if (ms)
            PQF_TRY(pqf__rstate_count(L->st, &L->id, names[s], (int64_t)ms, err));
        L->stage_ns[s] -= ms * 1000000;
    }
done:
    return rc;
}

/* ---- checking one file ----------------------------------------------------------------- */

static void check_file(const nlink *L, fcheck *fc)
{
    const pqf_commit_file *f = fc->f;
    pqf_object_info info, sinfo;
    pqf_error e = {0};
    char hex[65];
    pqf_err rc = pqf_store_head(L->dst, f->key, NULL, &info, &e);
    if (rc == PQF_ERR_NOT_FOUND) {
        fc->st = FC_MISSING;
        snprintf(fc->detail, sizeof fc->detail, "not at the replica yet");
        return;
    }
    if (rc != PQF_OK) {
        fc->st = FC_ERROR;
        fc->rc = rc;
        snprintf(fc->detail, sizeof fc->detail, "%s", e.msg);
        return;
    }
    if (info.size != f->bytes) {
        fc->st = FC_BAD_SIZE;
        snprintf(fc->detail, sizeof fc->detail,
                 "the replica's copy has %" PRIu64 " bytes, the commit says %" PRIu64, info.size,
                 f->bytes);
        return;
    }
    if (fc->known) {
        fc->st = FC_OK;
        return;
    }
    if (L->o->verify == PQF_VERIFY_FULL) {
        rc = pqf__hash_object(L->dst, f->key, f->bytes, hex, &e);
        if (rc == PQF_ERR_NOT_FOUND) { /* gone between HEAD and GET */
            fc->st = FC_MISSING;
            snprintf(fc->detail, sizeof fc->detail, "not at the replica yet");
            return;
        }
        if (rc != PQF_OK) {
            fc->st = rc == PQF_ERR_CORRUPT ? FC_BAD_SIZE : FC_ERROR;
            fc->rc = rc;
            snprintf(fc->detail, sizeof fc->detail, "%s", e.msg);
            return;
        }
        if (strcmp(hex, f->sha256) != 0) {
            fc->st = FC_BAD_SUM;
            snprintf(fc->detail, sizeof fc->detail,
                     "the replica's copy hashes to %.12s..., the commit says %.12s...", hex,
                     f->sha256);
            return;
        }
    } else {
        /* Engines keep the source's ETag; equal ETags and sizes are equal
         * bytes (MD5 of the object or of its parts). */
        rc = pqf_store_head(L->src, f->key, NULL, &sinfo, &e);
        if (rc != PQF_OK) {
            fc->st = FC_ERROR;
            fc->rc = rc;
            snprintf(fc->detail, sizeof fc->detail, "the primary's copy: %.400s", e.msg);
            return;
        }
        if (!info.etag[0] || strcmp(info.etag, sinfo.etag) != 0) {
            fc->st = FC_BAD_SUM;
            snprintf(fc->detail, sizeof fc->detail,
                     "the replica's ETag '%s' is not the primary's '%s' (--verify full reads "
                     "it back)",
                     info.etag, sinfo.etag);
            return;
        }
    }
    fc->st = FC_OK;
    fc->verified_now = true;
}

typedef struct {
    const nlink *L;
    fcheck *v;
    size_t n;
    atomic_size_t next;
} check_pool;

static void *check_worker(void *arg)
{
    check_pool *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            break;
        if (p->v[i].st == FC_UNKNOWN)
            check_file(p->L, &p->v[i]);
    }
    return NULL;
}

/* Check every file in v, up to L->concurrency at once. */
static void check_all(const nlink *L, fcheck *v, size_t n)
{
    check_pool p = {L, v, n, 0};
    pthread_t th[MAX_THREADS];
    unsigned nth = (unsigned)PQF_MIN((size_t)L->concurrency, n);
    unsigned started = 0;
    for (unsigned i = 1; i < nth; i++) {
        if (pthread_create(&th[started], NULL, check_worker, &p) != 0)
            break;
        started++;
    }
    check_worker(&p); /* this thread works too */
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

/* ---- one link ------------------------------------------------------------------------------- */

static pqf_err publish(nlink *L, const pqf_commit *c, const uint8_t *raw, size_t rawlen,
                       pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char key[PQF_TABLE_NAME_MAX + 64];
    uint8_t *have = NULL;
    size_t hl = 0;
    if (c->schema_version != L->schema_ok) {
        pqf__schema_key(L->id.tbl, c->schema_version, key, sizeof key);
        rc = pqf__repl_copy_small(L->src, L->dst, key, true, err);
        if (rc != PQF_OK) {
            pqf_error_prefix(err, "schema version %d: ", c->schema_version);
            goto done;
        }
        L->schema_ok = c->schema_version;
    }
    pqf__crashpoint("replicate.native.before-publish");
    pqf_feed_log_key(L->id.tbl, c->seq, key, sizeof key);
    pqf_put_options po = {.if_absent = true, .content_type = "application/json"};
    rc = pqf_store_put_bytes(L->dst, key, raw, rawlen, &po, err);
    if (rc == PQF_ERR_EXISTS) {
        pqf_error e2 = {0};
        rc = pqf_store_get_bytes(L->dst, key, NULL, COMMIT_MAX_BYTES, &have, &hl, &e2);
        if (rc != PQF_OK || hl != rawlen || memcmp(have, raw, hl) != 0)
            PQF_FAIL(err, PQF_ERR_CONFLICT, "%s exists at the replica with other bytes", key);
        pqf_error_clear(err);
    }
    PQF_TRY(rc);
    pqf__crashpoint("replicate.native.after-publish");
    int64_t lag = pqf__repl_now_ms() - c->created_ms;
    PQF_TRY(pqf__rstate_begin(L->st, err));
    PQF_TRY(pqf__rstate_published(L->st, &L->id, c->seq, c->hash, lag, err));
    PQF_TRY(pqf__rstate_commit(L->st, err));
    if (L->o->on_event) {
        pqf_repl_event ev = {.kind = PQF_REPL_PUBLISHED,
                             .replica = L->id.dst,
                             .table = L->id.tbl,
                             .seq = c->seq,
                             .files = c->nfiles,
                             .bytes = c->bytes,
                             .lag_ms = lag};
        L->o->on_event(L->o->ud, &ev);
    }
done:
    free(have);
    return rc;
}

/* Examine commit c: check its files, record the verified ones. *state out;
 * PQF_OK unless the state file or a transport failed. */
static pqf_err examine(nlink *L, const pqf_commit *c, pqf_native_commit *nc, char *keybuf,
                       size_t keycap, char *detail, size_t dcap, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    fcheck *v = NULL;
    memset(nc, 0, sizeof *nc);
    nc->replica = L->id.dst;
    nc->table = L->id.tbl;
    nc->seq = c->seq;
    nc->files = c->nfiles;
    nc->bytes = c->bytes;
    nc->age_ms = pqf__repl_now_ms() - c->created_ms;
    nc->key = "";
    nc->detail = "";
    if (c->nfiles) {
        v = calloc(c->nfiles, sizeof *v);
        if (!v)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->nfiles; i++) {
        pqf__robj o;
        bool found = false;
        v[i].f = &c->files[i];
        PQF_TRY(pqf__rstate_obj_get(L->st, &L->id, c->files[i].key, &o, &found, err));
        v[i].known = found && strcmp(o.state, "verified") == 0 && o.bytes == c->files[i].bytes &&
                     strcmp(o.sha256, c->files[i].sha256) == 0;
    }
    check_all(L, v, c->nfiles);
    pqf_native_state state = PQF_NATIVE_COMPLETE;
    for (size_t i = 0; i < c->nfiles; i++) {
        fcheck *fc = &v[i];
        if (fc->st == FC_ERROR)
            PQF_FAIL(err, fc->rc, "replica %s: %s: %s", L->id.dst, fc->f->key, fc->detail);
        if (fc->st == FC_OK) {
            nc->files_ok++;
            nc->bytes_ok += fc->f->bytes;
            if (fc->verified_now) {
                L->res->files_verified++;
                L->res->bytes_verified += fc->f->bytes;
                PQF_TRY(pqf__rstate_obj_set(L->st, &L->id, c->seq, fc->f->key, "verified",
                                            fc->f->bytes, fc->f->sha256, 1, "", "", err));
            }
            continue;
        }
        bool bad = fc->st == FC_BAD_SIZE || fc->st == FC_BAD_SUM;
        if (bad) {
            /* Counted once per object and cause, not once per pass. */
            const char *cause = fc->st == FC_BAD_SIZE ? "size" : "checksum";
            pqf__robj o;
            bool found = false;
            PQF_TRY(pqf__rstate_obj_get(L->st, &L->id, fc->f->key, &o, &found, err));
            if (!found || strcmp(o.state, "failed") != 0) {
                char name[32];
                snprintf(name, sizeof name, "fail:%s", cause);
                PQF_TRY(pqf__rstate_count(L->st, &L->id, name, 1, err));
                PQF_TRY(pqf__rstate_obj_set(L->st, &L->id, c->seq, fc->f->key, "failed",
                                            fc->f->bytes, fc->f->sha256, 1, cause, fc->detail,
                                            err));
            }
        }
        if ((bad && state != PQF_NATIVE_CORRUPT) || state == PQF_NATIVE_COMPLETE) {
            state = bad ? PQF_NATIVE_CORRUPT : PQF_NATIVE_WAITING;
            snprintf(keybuf, keycap, "%s", fc->f->key);
            snprintf(detail, dcap, "%s", fc->detail);
            nc->key = keybuf;
            nc->detail = detail;
        }
    }
    nc->state = state;
done:
    free(v);
    return rc;
}

/* A replica head the state file did not record: someone else published it,
 * or the engine replicated commit objects. Its files must all be there. */
static pqf_err check_foreign_head(nlink *L, uint64_t from, uint64_t head, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_commit *c = NULL;
    for (uint64_t seq = from + 1; seq <= head; seq++) {
        PQF_TRY(pqf_feed_read_commit(L->df, L->id.tbl, seq, &c, err));
        for (size_t i = 0; i < c->nfiles; i++) {
            pqf_object_info info;
            pqf_error e2 = {0};
            pqf_err r2 = pqf_store_head(L->dst, c->files[i].key, NULL, &info, &e2);
            if (r2 == PQF_ERR_NOT_FOUND || (r2 == PQF_OK && info.size != c->files[i].bytes))
                PQF_FAIL(err, PQF_ERR_CONFLICT,
                         "replica %s: table %s: commit %" PRIu64
                         " is at the replica but its file %s is not: the replication engine "
                         "copies commit objects (limit its rule to the \"<table>/data/\" "
                         "prefixes, see docs/DESIGN.md)",
                         L->id.dst, L->id.tbl, seq, c->files[i].key);
            if (r2 != PQF_OK) {
                rc = r2;
                *err = e2;
                goto done;
            }
        }
        pqf_commit_free(c);
        c = NULL;
    }
done:
    pqf_commit_free(c);
    return rc;
}

static pqf_err native_link(nlink *L, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    uint64_t head = 0, published = 0, rec = 0;
    int64_t lag = 0;
    uint8_t *ra = NULL, *rb = NULL;
    size_t la = 0, lb = 0;
    pqf_commit *ca = NULL, *cb = NULL;
    char prev[65] = "";
    char keybuf[1024], detail[PQF_ERROR_MSG_MAX];
    unsigned lookahead = L->o->lookahead ? L->o->lookahead : 32;
    PQF_TRY(pqf_feed_head(L->sf, L->id.tbl, &head, err));
    PQF_TRY(pqf_feed_head(L->df, L->id.tbl, &published, err));
    PQF_TRY(pqf__rstate_link_get(L->st, &L->id, &rec, &lag, NULL, 0, err));
    if (published > head)
        PQF_FAIL(err, PQF_ERR_CONFLICT,
                 "replica %s: table %s: the replica's head %" PRIu64
                 " is beyond the primary's %" PRIu64,
                 L->id.dst, L->id.tbl, published, head);
    if (published > 0) {
        PQF_TRY(pqf__repl_read_commit(L->src, L->id.tbl, published, &ra, &la, &ca, err));
        PQF_TRY(pqf__repl_read_commit(L->dst, L->id.tbl, published, &rb, &lb, &cb, err));
        if (strcmp(ca->hash, cb->hash) != 0)
            PQF_FAIL(err, PQF_ERR_CONFLICT,
                     "replica %s: table %s: commit %" PRIu64
                     " differs from the primary's: the replica diverged",
                     L->id.dst, L->id.tbl, published);
        memcpy(prev, ca->hash, sizeof prev);
        L->schema_ok = ca->schema_version;
        if (published > rec) {
            PQF_TRY(check_foreign_head(L, rec, published, err));
            PQF_TRY(pqf__rstate_published(L->st, &L->id, published, ca->hash, lag, err));
        }
    }
    free(ra);
    free(rb);
    ra = rb = NULL;
    pqf_commit_free(ca);
    pqf_commit_free(cb);
    ca = cb = NULL;
    bool can_publish = !L->no->report_only;
    unsigned past = 0; /* commits examined past the first incomplete one */
    for (uint64_t seq = published + 1; seq <= head; seq++) {
        if (L->o->stop && *L->o->stop)
            break;
        if (!can_publish && past++ >= lookahead)
            break;
        uint64_t t0 = mono_ns();
        PQF_TRY(pqf__repl_read_commit(L->src, L->id.tbl, seq, &ra, &la, &ca, err));
        L->stage_ns[PQF_STAGE_LISTING] += mono_ns() - t0;
        if (seq > 1 && strcmp(ca->prev, prev) != 0)
            PQF_FAIL(err, PQF_ERR_CORRUPT,
                     "table %s: the primary's hash chain is broken at commit %" PRIu64, L->id.tbl,
                     seq);
        memcpy(prev, ca->hash, sizeof prev);
        pqf_native_commit nc;
        t0 = mono_ns();
        PQF_TRY(examine(L, ca, &nc, keybuf, sizeof keybuf, detail, sizeof detail, err));
        /* HEADs and reading back: the replica's side is all there is to do */
        L->stage_ns[PQF_STAGE_VERIFY] += mono_ns() - t0;
        if (nc.state == PQF_NATIVE_COMPLETE && can_publish) {
            t0 = mono_ns();
            PQF_TRY(publish(L, ca, ra, la, err));
            L->stage_ns[PQF_STAGE_WRITE] += mono_ns() - t0;
            nc.state = PQF_NATIVE_PUBLISHED;
            L->res->published++;
            published = seq;
        } else {
            can_publish = false;
            if (nc.state == PQF_NATIVE_COMPLETE)
                L->res->complete++;
            else if (nc.state == PQF_NATIVE_WAITING)
                L->res->waiting++;
            else
                L->res->corrupt++;
        }
        if (L->no->on_commit)
            L->no->on_commit(L->no->ud, &nc);
        free(ra);
        ra = NULL;
        pqf_commit_free(ca);
        ca = NULL;
    }
    if (published != head)
        L->res->up_to_date = false;
    PQF_TRY(flush_stages(L, err));
    if (L->o->on_event) {
        pqf_repl_event ev = {.kind = PQF_REPL_TABLE_DONE,
                             .replica = L->id.dst,
                             .table = L->id.tbl,
                             .seq = published,
                             .head = head};
        L->o->on_event(L->o->ud, &ev);
    }
done:
    free(ra);
    free(rb);
    pqf_commit_free(ca);
    pqf_commit_free(cb);
    return rc;
}

pqf_err pqf_replicate_native(pqf_store *primary, pqf_store *const *replicas, size_t nreplicas,
                             const pqf_replicate_opts *opts, const pqf_native_opts *nopts,
                             pqf_native_result *res, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__rstate *st = NULL;
    pqf_feed *sf = NULL, *df = NULL;
    char **tables = NULL;
    size_t ntables = 0;
    pqf_native_result r0;
    pqf_native_opts n0;
    pqf_native_result *r = res ? res : &r0;
    memset(r, 0, sizeof *r);
    r->up_to_date = true;
    if (!nopts) {
        pqf_native_opts_init(&n0);
        nopts = &n0;
    }
    if (!opts || !opts->state_path || !*opts->state_path)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "replicate: a state file is required");
    PQF_TRY(pqf__rstate_open(opts->state_path, true, &st, err));
    PQF_TRY(pqf_feed_open(primary, &sf, err));
    PQF_TRY(pqf__repl_tables(sf, opts, &tables, &ntables, err));
    for (size_t k = 0; k < nreplicas; k++) {
        pqf_feed_free(df);
        df = NULL;
        PQF_TRY(pqf_feed_open(replicas[k], &df, err));
        if (!nopts->report_only) {
            pqf_object_info info;
            pqf_error e2 = {0};
            if (pqf_store_head(primary, "_feed.json", NULL, &info, &e2) == PQF_OK) {
                rc = pqf__repl_copy_small(primary, replicas[k], "_feed.json", false, err);
                if (rc != PQF_OK) {
                    pqf_error_prefix(err, "replica %s: _feed.json: ", pqf_store_uri(replicas[k]));
                    goto done;
                }
            }
        }
        for (size_t t = 0; t < ntables; t++) {
            if (!tables[t][0])
                continue;
            nlink L;
            memset(&L, 0, sizeof L);
            L.src = primary;
            L.dst = replicas[k];
            L.sf = sf;
            L.df = df;
            L.id.src = pqf_store_uri(primary);
            L.id.dst = pqf_store_uri(replicas[k]);
            L.id.tbl = tables[t];
            L.o = opts;
            L.no = nopts;
            L.st = st;
            L.res = r;
            L.concurrency = opts->concurrency ? PQF_MIN(opts->concurrency, MAX_THREADS) : 8;
            rc = native_link(&L, err);
            pqf_error e2 = {0};
            pqf__rstate_set_error(st, &L.id, rc == PQF_OK ? "" : err->msg, &e2);
            PQF_TRY(rc);
        }
    }
done:
    pqf_strv_free(tables, ntables);
    pqf_feed_free(df);
    pqf_feed_free(sf);
    pqf__rstate_close(st);
    return rc;
}
