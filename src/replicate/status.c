/* Replication status (from the live logs and the state file) and the audit
 * of a replica against its primary (include/pqfeed/replicate.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "pqfeed/feed.h"
#include "pqfeed/replicate.h"
#include "replicate/repl_impl.h"
#include "replicate/state.h"

#define COMMIT_MAX_BYTES PQF__REPL_COMMIT_MAX_BYTES
#define SMALL_MAX_BYTES (16u << 20)

/* ---- status -------------------------------------------------------------------------- */

typedef struct {
    pqf_repl_status *s;
    char names[8][48];
} counters_ud;

static void on_counter(void *ud, const char *name, int64_t value)
{
    counters_ud *c = ud;
    pqf_repl_status *s = c->s;
    uint64_t v = value > 0 ? (uint64_t)value : 0;
    if (strcmp(name, "copied") == 0)
        s->objects_copied = v;
    else if (strcmp(name, "bytes") == 0)
        s->bytes_copied = v;
    else if (strcmp(name, "retries") == 0)
        s->retries = v;
    else if (strcmp(name, "gave-up") == 0)
        s->failed_objects = v;
    else if (strcmp(name, "wait:window") == 0)
        s->window_opens_ms = value;
    else if (strncmp(name, "stage:", 6) == 0) {
        int k = atoi(name + 6);
        if (k >= 0 && k < PQF_STAGE__COUNT)
            s->stage_ms[k] = v;
    } else if (strncmp(name, "fail:", 5) == 0 && s->ncauses < PQF_ARRAY_LEN(s->causes)) {
        snprintf(c->names[s->ncauses], sizeof c->names[0], "%s", name + 5);
        s->causes[s->ncauses].cause = c->names[s->ncauses];
        s->causes[s->ncauses].count = v;
        s->ncauses++;
    }
}

static pqf_err status_one(pqf__rstate *st, pqf_feed *sf, pqf_feed *df, const pqf__rlink *l,
                          pqf_repl_status_cb cb, void *ud, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_repl_status s;
    counters_ud cu;
    char last_error[PQF_ERROR_MSG_MAX] = "";
    char live_error[PQF_ERROR_MSG_MAX] = "";
    pqf_commit *c = NULL;
    pqf_error e2 = {0};
    memset(&s, 0, sizeof s);
    memset(&cu, 0, sizeof cu);
    cu.s = &s;
    s.replica = l->dst;
    s.table = l->tbl;
    s.lag_ms = -1;
    PQF_TRY(pqf_feed_head(sf, l->tbl, &s.head, err));
    if (pqf_feed_head(df, l->tbl, &s.published, &e2) != PQF_OK)
        snprintf(live_error, sizeof live_error, "%s", e2.msg);
    if (st) {
        uint64_t rec = 0;
        PQF_TRY(pqf__rstate_link_get(st, l, &rec, &s.lag_ms, last_error, sizeof last_error, err));
        PQF_TRY(pqf__rstate_counters(st, l, on_counter, &cu, err));
    }
    s.pending_commits = s.head > s.published ? s.head - s.published : 0;
    int64_t now = pqf__repl_now_ms();
    if (s.window_opens_ms <= now)
        s.window_opens_ms = 0; /* a run that died waiting, the window since open */
    for (uint64_t seq = s.published + 1; seq <= s.head; seq++) {
        PQF_TRY(pqf_feed_read_commit(sf, l->tbl, seq, &c, err));
        if (seq == s.published + 1)
            s.oldest_pending_ms = now - c->created_ms;
        for (size_t i = 0; i < c->nfiles; i++) {
            pqf__robj o;
            bool found = false;
            if (st)
                PQF_TRY(pqf__rstate_obj_get(st, l, c->files[i].key, &o, &found, err));
            if (found && strcmp(o.state, "verified") == 0 &&
                strcmp(o.sha256, c->files[i].sha256) == 0) {
                s.ready_objects++;
            } else {
                s.pending_objects++;
                s.pending_bytes += c->files[i].bytes;
            }
        }
        pqf_commit_free(c);
        c = NULL;
    }
    s.bottleneck = PQF_STAGE_LISTING;
    for (int k = 1; k < PQF_STAGE__COUNT; k++)
        if (s.stage_ms[k] > s.stage_ms[s.bottleneck])
            s.bottleneck = (pqf_repl_stage)k;
    s.last_error = live_error[0] ? live_error : last_error;
    cb(ud, &s);
done:
    pqf_commit_free(c);
    return rc;
}

pqf_err pqf_replicate_status(pqf_store *primary, pqf_store *const *replicas, size_t nreplicas,
                             const pqf_replicate_opts *opts, pqf_repl_status_cb cb, void *ud,
                             pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__rstate *st = NULL;
    pqf_feed *sf = NULL, *df = NULL;
    char **tables = NULL;
    size_t ntables = 0;
    pqf_error e2 = {0};
    if (opts && opts->state_path) {
        pqf_err r2 = pqf__rstate_open(opts->state_path, false, &st, &e2);
        if (r2 != PQF_OK && r2 != PQF_ERR_NOT_FOUND) {
            rc = r2;
            *err = e2;
            goto done;
        }
    }
    PQF_TRY(pqf_feed_open(primary, &sf, err));
    pqf_replicate_opts none;
    pqf_replicate_opts_init(&none);
    PQF_TRY(pqf__repl_tables(sf, opts ? opts : &none, &tables, &ntables, err));
    for (size_t k = 0; k < nreplicas; k++) {
        pqf_feed_free(df);
        df = NULL;
        PQF_TRY(pqf_feed_open(replicas[k], &df, err));
        for (size_t t = 0; t < ntables; t++) {
            if (!tables[t][0])
                continue;
            pqf__rlink l = {pqf_store_uri(primary), pqf_store_uri(replicas[k]), tables[t]};
            PQF_TRY(status_one(st, sf, df, &l, cb, ud, err));
        }
    }
done:
    pqf_strv_free(tables, ntables);
    pqf_feed_free(df);
    pqf_feed_free(sf);
    pqf__rstate_close(st);
    return rc;
}

/* ---- audit ------------------------------------------------------------------------------ */

typedef struct {
    uint64_t seq;
    int schema_version;
    char hash[65];
} seen_commit;

typedef struct {
    const pqf_audit_opts *o;
    seen_commit *v;
    size_t n, cap;
    bool oom;
    uint64_t problems;
} audit_ctx;

static void audit_problem(audit_ctx *a, pqf_audit_kind kind, const char *table, uint64_t seq,
                          const char *key, const char *detail)
{
    a->problems++;
    if (a->o && a->o->on_problem) {
        pqf_audit_problem p = {kind, table, seq, key, detail};
        a->o->on_problem(a->o->ud, &p);
    }
}

static void on_replica_commit(void *ud, const pqf_commit *c)
{
    audit_ctx *a = ud;
    if (!pqf__grow(&a->v, a->n, &a->cap, sizeof *a->v, 64)) {
        a->oom = true;
        return;
    }
    seen_commit *s = &a->v[a->n++];
    s->seq = c->seq;
    s->schema_version = c->schema_version;
    memcpy(s->hash, c->hash, sizeof s->hash);
}

static void on_replica_problem(void *ud, const pqf_problem *p)
{
    /* pqf_problem_kind and the first pqf_audit_kind values are the same. */
    audit_problem(ud, (pqf_audit_kind)p->kind, p->table, p->seq, p->key, p->detail);
}

static bool has_table(char **v, size_t n, const char *t)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], t) == 0)
            return true;
    return false;
}

static pqf_err audit_table(pqf_feed *sf, pqf_feed *df, const char *table, audit_ctx *a,
                           pqf_error *err)
{
    pqf_err rc = PQF_OK;
    uint64_t ph = 0, vprob = 0, before = a->problems;
    char key[PQF_TABLE_NAME_MAX + 64];
    char detail[256];
    pqf_commit *pc = NULL;
    uint8_t *x = NULL, *y = NULL;
    size_t xl = 0, yl = 0;
    int last_schema = 0;
    a->n = 0;
    PQF_TRY(pqf_feed_head(sf, table, &ph, err));
    pqf_verify_opts vo = {a->o ? a->o->deep : false, on_replica_commit, on_replica_problem, a};
    PQF_TRY(pqf_feed_verify(df, table, &vo, &vprob, err));
    if (a->oom)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    uint64_t rh = 0;
    for (size_t i = 0; i < a->n; i++) {
        seen_commit *s = &a->v[i];
        pqf_feed_log_key(table, s->seq, key, sizeof key);
        if (s->seq > rh)
            rh = s->seq;
        if (s->seq > ph) {
            snprintf(detail, sizeof detail, "the primary's head is %" PRIu64, ph);
            audit_problem(a, PQF_AUDIT_AHEAD, table, s->seq, key, detail);
            continue;
        }
        pqf_error e2 = {0};
        pqf_err r2 = pqf_feed_read_commit(sf, table, s->seq, &pc, &e2);
        if (r2 == PQF_ERR_NOT_FOUND || r2 == PQF_ERR_CORRUPT) {
            audit_problem(a, PQF_AUDIT_DIVERGED, table, s->seq, key, e2.msg);
        } else if (r2 != PQF_OK) {
            rc = r2;
            *err = e2;
            goto done;
        } else if (strcmp(pc->hash, s->hash) != 0) {
            snprintf(detail, sizeof detail,
                     "the replica's commit hashes to %.12s..., the primary's to %.12s...", s->hash,
                     pc->hash);
            audit_problem(a, PQF_AUDIT_DIVERGED, table, s->seq, key, detail);
        }
        pqf_commit_free(pc);
        pc = NULL;
        if (s->schema_version == last_schema)
            continue;
        last_schema = s->schema_version;
        pqf__schema_key(table, s->schema_version, key, sizeof key);
        r2 = pqf_store_get_bytes(pqf_feed_store(df), key, NULL, SMALL_MAX_BYTES, &y, &yl, &e2);
        if (r2 == PQF_ERR_NOT_FOUND) {
            audit_problem(a, PQF_AUDIT_SCHEMA, table, s->seq, key,
                          "the commit's schema version is missing at the replica");
        } else if (r2 != PQF_OK) {
            rc = r2;
            *err = e2;
            goto done;
        } else if (pqf_store_get_bytes(pqf_feed_store(sf), key, NULL, SMALL_MAX_BYTES, &x, &xl,
                                       &e2) == PQF_OK &&
                   (xl != yl || memcmp(x, y, xl) != 0)) {
            audit_problem(a, PQF_AUDIT_SCHEMA, table, s->seq, key,
                          "the schema version differs from the primary's");
        }
        free(x);
        free(y);
        x = y = NULL;
    }
    if (a->o && a->o->on_table) {
        pqf_audit_table at = {table, ph, rh, a->problems - before};
        a->o->on_table(a->o->ud, &at);
    }
done:
    free(x);
    free(y);
    pqf_commit_free(pc);
    return rc;
}

pqf_err pqf_replica_audit(pqf_store *primary, pqf_store *replica, const pqf_audit_opts *opts,
                          uint64_t *problems, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_feed *sf = NULL, *df = NULL;
    char **pt = NULL, **rt = NULL;
    size_t np = 0, nr = 0;
    audit_ctx a;
    memset(&a, 0, sizeof a);
    a.o = opts;
    *problems = 0;
    PQF_TRY(pqf_feed_open(primary, &sf, err));
    PQF_TRY(pqf_feed_open(replica, &df, err));
    if (opts && opts->tables) {
        for (size_t i = 0; i < opts->ntables; i++) {
            if (!pqf_table_name_ok(opts->tables[i]))
                PQF_FAIL(err, PQF_ERR_INVALID_ARG, "'%s' is not a valid table name",
                         opts->tables[i]);
            PQF_TRY(audit_table(sf, df, opts->tables[i], &a, err));
        }
        goto done;
    }
    PQF_TRY(pqf_feed_tables(sf, &pt, &np, err));
    PQF_TRY(pqf_feed_tables(df, &rt, &nr, err));
    for (size_t i = 0; i < np; i++)
        PQF_TRY(audit_table(sf, df, pt[i], &a, err));
    for (size_t i = 0; i < nr; i++)
        if (!has_table(pt, np, rt[i]))
            PQF_TRY(audit_table(sf, df, rt[i], &a, err));
done:
    *problems = a.problems;
    free(a.v);
    pqf_strv_free(pt, np);
    pqf_strv_free(rt, nr);
    pqf_feed_free(df);
    pqf_feed_free(sf);
    return rc;
}
