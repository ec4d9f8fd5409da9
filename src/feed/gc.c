/* gc: orphan data files (named by no commit) older than a grace period. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/buf.h"
#include "pqfeed/feed.h"

typedef struct {
    char **v;
    size_t n, cap;
    bool oom;
} keyset;

static bool ks_add(keyset *k, const char *s)
{
    if (!pqf__grow(&k->v, k->n, &k->cap, sizeof *k->v, 256))
        return false;
    return (k->v[k->n++] = strdup(s)) != NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void on_named(void *ud, const pqf_commit *c)
{
    keyset *k = ud;
    for (size_t i = 0; i < c->nfiles && !k->oom; i++)
        if (!ks_add(k, c->files[i].key))
            k->oom = true;
}

typedef struct {
    keyset *named;
    keyset orphans;
    keyset uploads; /* key, upload id, key, upload id, ... */
    const pqf_gc_opts *o;
    pqf_gc_result *res;
    int64_t now, grace;
} gc_ctx;

static bool on_data(void *ud, const pqf_object_info *info)
{
    gc_ctx *g = ud;
    if (info->is_prefix)
        return true;
    const char *key = info->key;
    if (bsearch(&key, g->named->v, g->named->n, sizeof *g->named->v, cmp_str))
        return true;
    int64_t age = g->now - info->mtime_ms;
    if (age < g->grace) {
        g->res->young++;
        return true;
    }
    g->res->orphans++;
    g->res->bytes += info->size;
    if (g->o && g->o->on_orphan)
        g->o->on_orphan(g->o->ud, key, info->size, age);
    if (!ks_add(&g->orphans, key)) {
        g->orphans.oom = true;
        return false;
    }
    return true;
}

static bool on_upload(void *ud, const pqf_upload_info *info)
{
    gc_ctx *g = ud;
    if (g->now - info->initiated_ms < g->grace)
        return true;
    g->res->uploads++;
    if (g->o && g->o->on_orphan)
        g->o->on_orphan(g->o->ud, info->key, 0, g->now - info->initiated_ms);
    if (!ks_add(&g->uploads, info->key) || !ks_add(&g->uploads, info->upload_id)) {
        g->uploads.oom = true;
        return false;
    }
    return true;
}

static void ks_free(keyset *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    free(k->v);
}

pqf_err pqf_feed_gc(pqf_feed *f, const char *table, const pqf_gc_opts *opts, pqf_gc_result *res,
                    pqf_error *err)
{
    pqf_err rc = PQF_OK;
    keyset named = {0};
    gc_ctx g;
    memset(&g, 0, sizeof g);
    memset(res, 0, sizeof *res);
    char prefix[PQF_TABLE_NAME_MAX + 16];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    g.now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    g.grace = opts && opts->grace_ms ? opts->grace_ms : 24LL * 3600 * 1000;
    g.named = &named;
    g.o = opts;
    g.res = res;
    /* Every commit, problems or not: a file named by a damaged commit is
     * still not ours to delete. A log that cannot be walked stops gc. */
    uint64_t problems = 0;
    pqf_verify_opts vo = {.on_commit = on_named, .ud = &named};
    PQF_TRY(pqf_feed_verify(f, table, &vo, &problems, err));
    if (named.oom)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    if (problems)
        PQF_FAIL(err, PQF_ERR_CORRUPT,
                 "table %s: the log has %" PRIu64 " problem(s) (see pqfeed log); gc removes "
                 "nothing until it is intact", table, problems);
    res->named = named.n;
    if (named.n)
        qsort(named.v, named.n, sizeof *named.v, cmp_str);
    snprintf(prefix, sizeof prefix, "%s/data/", table);
    PQF_TRY(pqf_store_list(pqf_feed_store(f), prefix, NULL, on_data, &g, err));
    if (g.orphans.oom)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    /* unfinished uploads under the table: S3 multipart uploads, and on local
     * stores the temporaries of killed writers */
    snprintf(prefix, sizeof prefix, "%s/", table);
    PQF_TRY(pqf_store_list_uploads(pqf_feed_store(f), prefix, on_upload, &g, err));
    if (g.uploads.oom)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i + 1 < g.uploads.n; i += 2) {
        if (opts && opts->dry_run)
            break;
        PQF_TRY(pqf_store_abort_upload(pqf_feed_store(f), g.uploads.v[i], g.uploads.v[i + 1], err));
        res->uploads_aborted++;
    }
    if (!(opts && opts->dry_run) && g.orphans.n) {
        size_t deleted = 0;
        rc = pqf_store_delete_many(pqf_feed_store(f), (const char *const *)g.orphans.v,
                                   g.orphans.n, &deleted, err);
        res->deleted = deleted;
    }
done:
    ks_free(&named);
    ks_free(&g.orphans);
    ks_free(&g.uploads);
    return rc;
}
