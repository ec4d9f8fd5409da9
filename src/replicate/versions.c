/* --versions: every version and delete marker of the primary's objects in
 * scope, replayed at a versioned replica in their order (see
 * replicate/versions.h). */
#include "replicate/versions.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

#define KEY_VERSIONS_MAX 100000 /* versions of one key held at once */

typedef struct ver {
    char *id;
    uint64_t size;
    int64_t mtime_ms;
    char etag[72];
    bool marker;
} ver;

typedef struct vctx {
    pqf__rstate *st;
    pqf_store *src, *dst;
    const pqf__rlink *id;
    const char *only_key; /* NULL: every key under the prefix */
    pqf__vres *res;
    char *key; /* the group being collected */
    ver *v;    /* newest first, as listed */
    size_t n, cap;
    pqf_err rc;
    pqf_error err;
} vctx;

static void group_clear(vctx *x)
{
    for (size_t i = 0; i < x->n; i++)
        free(x->v[i].id);
    x->n = 0;
    free(x->key);
    x->key = NULL;
}

typedef struct latest_find {
    const char *key;
    char id[136];
    bool marker, found;
} latest_find;

static bool on_dst_version(void *ud, const pqf_object_info *i)
{
    latest_find *f = ud;
    if (strcmp(i->key, f->key) == 0 && i->is_latest) {
        snprintf(f->id, sizeof f->id, "%s", i->version_id);
        f->marker = i->is_delete_marker;
        f->found = true;
        return false;
    }
    return true;
}

/* Replay version i of the group at the replica and record its id there. */
static pqf_err replay(vctx *x, size_t i, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    const ver *v = &x->v[i];
    unsigned ord = (unsigned)(x->n - 1 - i);
    pqf_ostream *os = NULL;
    pqf_object_info have, got;
    pqf_error e2 = {0};
    memset(&got, 0, sizeof got);
    if (v->marker) {
        PQF_TRY(pqf_store_delete(x->dst, x->key, NULL, err));
        latest_find f = {.key = x->key};
        PQF_TRY(pqf_store_list_versions(x->dst, x->key, on_dst_version, &f, err));
        if (!f.found || !f.marker)
            PQF_FAIL(err, PQF_ERR_REMOTE,
                     "%s: the replica shows no delete marker after the delete (is versioning "
                     "enabled on its bucket?)",
                     x->key);
        PQF_TRY(pqf__rstate_version_put(x->st, x->id, x->key, v->id, f.id, ord, true, err));
        x->res->markers++;
        goto done;
    }
    /* The replica's current version already holds these bytes (copied by a
     * run without --versions, or by the commit path): map it, do not add a
     * duplicate version. */
    if (pqf_store_head(x->dst, x->key, NULL, &have, &e2) == PQF_OK && have.size == v->size &&
        v->etag[0] && strcmp(have.etag, v->etag) == 0) {
        PQF_TRY(pqf__rstate_version_put(x->st, x->id, x->key, v->id, have.version_id, ord, false,
                                        err));
        x->res->adopted++;
        goto done;
    }
    pqf_put_options po = {.size_hint = v->size, .result = &got};
    pqf_get_options go = {.version_id = v->id};
    PQF_TRY(pqf_store_put(x->dst, x->key, &po, &os, err));
    rc = pqf_store_get_to(x->src, x->key, &go, os, NULL, err);
    if (rc != PQF_OK) {
        pqf_error_prefix(err, "%s version %s: ", x->key, v->id);
        goto done;
    }
    rc = pqf_ostream_commit(os);
    if (rc != PQF_OK) {
        *err = *pqf_ostream_error(os);
        pqf_error_prefix(err, "%s version %s: ", x->key, v->id);
        goto done;
    }
    if (got.size != v->size)
        PQF_FAIL(err, PQF_ERR_CORRUPT,
                 "%s version %s: the copy has %" PRIu64 " bytes, the source %" PRIu64, x->key,
                 v->id, got.size, v->size);
    PQF_TRY(pqf__rstate_version_put(x->st, x->id, x->key, v->id, got.version_id, ord, false, err));
    x->res->copied++;
    x->res->bytes += v->size;
done:
    pqf_ostream_free(os); /* aborts unless committed */
    return rc;
}

/* One key's versions (newest first): replay those after the newest already
 * replicated, oldest first. Older ones not replicated cannot be put into the
 * replica's past: counted as skipped. */
static pqf_err group_run(vctx *x, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char dv[136];
    bool found = false;
    size_t m = x->n; /* newest mapped; n: none */
    /* Newest first by time; a stable insertion sort keeps the listing's
     * order (newest first) for equal times, and is a no-op when the server
     * lists versions and delete markers in one ordered sequence. */
    for (size_t i = 1; i < x->n; i++) {
        ver t = x->v[i];
        size_t k = i;
        for (; k > 0 && x->v[k - 1].mtime_ms < t.mtime_ms; k--)
            x->v[k] = x->v[k - 1];
        x->v[k] = t;
    }
    for (size_t i = 0; i < x->n; i++) {
        PQF_TRY(pqf__rstate_version_get(x->st, x->id, x->key, x->v[i].id, dv, sizeof dv, &found,
                                        err));
        if (found) {
            m = i;
            break;
        }
    }
    for (size_t i = m + 1; i < x->n && m < x->n; i++) {
        PQF_TRY(pqf__rstate_version_get(x->st, x->id, x->key, x->v[i].id, dv, sizeof dv, &found,
                                        err));
        x->res->skipped += !found;
    }
    for (size_t i = m; i-- > 0;)
        PQF_TRY(replay(x, i, err));
done:
    return rc;
}

static bool in_scope(const vctx *x, const char *key)
{
    if (x->only_key)
        return strcmp(key, x->only_key) == 0;
    /* Commit objects are the commit path's: published only after their files. */
    return strstr(key, "/_log/") == NULL;
}

static bool on_src_version(void *ud, const pqf_object_info *i)
{
    vctx *x = ud;
    if (!in_scope(x, i->key))
        return true;
    if (x->key && strcmp(x->key, i->key) != 0) {
        x->rc = group_run(x, &x->err);
        group_clear(x);
        if (x->rc != PQF_OK)
            return false;
    }
    if (!x->key && !(x->key = strdup(i->key)))
        goto oom;
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 16;
        if (nc > KEY_VERSIONS_MAX) {
            x->rc = pqf_error_set(&x->err, PQF_ERR_LIMIT, "%s: more than %d versions", i->key,
                                  KEY_VERSIONS_MAX);
            return false;
        }
        ver *nv = realloc(x->v, nc * sizeof *nv);
        if (!nv)
            goto oom;
        x->v = nv;
        x->cap = nc;
    }
    ver *v = &x->v[x->n];
    memset(v, 0, sizeof *v);
    if (!(v->id = strdup(i->version_id)))
        goto oom;
    v->size = i->size;
    v->mtime_ms = i->mtime_ms;
    v->marker = i->is_delete_marker;
    snprintf(v->etag, sizeof v->etag, "%s", i->etag);
    x->n++;
    return true;
oom:
    x->rc = pqf_error_set(&x->err, PQF_ERR_NOMEM, "out of memory");
    return false;
}

pqf_err pqf__repl_versions_check(pqf_store *src, pqf_store *dst, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_versioning v = PQF_VERSIONING_OFF;
    if (!pqf_store_is_s3(src) || !pqf_store_is_s3(dst))
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED,
                 "--versions needs S3 stores with versioned buckets (%s -> %s)",
                 pqf_store_uri(src), pqf_store_uri(dst));
    PQF_TRY(pqf_store_get_versioning(dst, &v, err));
    if (v != PQF_VERSIONING_ENABLED)
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED,
                 "--versions: versioning is not enabled on the replica's bucket (%s): its "
                 "history would be overwritten",
                 pqf_store_uri(dst));
done:
    return rc;
}

pqf_err pqf__repl_versions(pqf__rstate *st, pqf_store *src, pqf_store *dst, const pqf__rlink *id,
                           const char *prefix, bool exact, pqf__vres *res, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    vctx x;
    memset(&x, 0, sizeof x);
    x.st = st;
    x.src = src;
    x.dst = dst;
    x.id = id;
    x.only_key = exact ? prefix : NULL;
    x.res = res;
    PQF_TRY(pqf_store_list_versions(src, prefix, on_src_version, &x, err));
    if (x.rc == PQF_OK && x.key)
        x.rc = group_run(&x, &x.err);
    if (x.rc != PQF_OK) {
        rc = x.rc;
        *err = x.err;
    }
done:
    group_clear(&x);
    free(x.v);
    return rc;
}
