/* pqfeed cp: copy objects between local paths, S3, and standard input/output,
 * like `aws s3 cp`. S3 to S3 on one endpoint copies server-side; everything
 * else streams (parallel ranged GETs into parallel multipart parts). With
 * --recursive, objects are copied by several workers at once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "store_cli.h"

typedef struct cp_opts {
    pqf_cli_store_args a;
    bool if_absent, resume;
    unsigned jobs;
} cp_opts;

/* ---- progress --------------------------------------------------------------------- */

typedef struct progress {
    bool on;
    atomic_ullong done, total;
    atomic_uint objects;
    unsigned nobjects;
    double start, last;
    pthread_mutex_t mu;
} progress;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_show(progress *p, bool final)
{
    if (!p->on)
        return;
    pthread_mutex_lock(&p->mu);
    double t = now_s();
    if (final || t - p->last >= 0.1) {
        p->last = t;
        unsigned long long d = atomic_load(&p->done), tot = atomic_load(&p->total);
        double rate = d / (t - p->start > 0.001 ? t - p->start : 0.001) / (1 << 20);
        int w = 30, fill = tot ? (int)(w * (double)d / (double)tot) : 0;
        if (fill > w)
            fill = w;
        fprintf(stderr, "\r[%.*s%*s] %5.1f%% %8.1f MiB / %.1f MiB  %7.1f MiB/s  %u/%u objects",
                fill, "==============================", w - fill, "",
                tot ? 100.0 * (double)d / (double)tot : 100.0, d / 1048576.0, tot / 1048576.0, rate,
                atomic_load(&p->objects), p->nobjects);
        if (final)
            fputc('\n', stderr);
    }
    pthread_mutex_unlock(&p->mu);
}

/* An ostream that counts into the progress bar and forwards to inner. */
typedef struct tee {
    pqf_ostream *inner;
    progress *p;
} tee;

static pqf_err tee_write(void *impl, const void *data, size_t len, pqf_error *err)
{
    tee *t = impl;
    pqf_err rc = pqf_ostream_write(t->inner, data, len);
    if (rc != PQF_OK)
        return pqf_error_set(err, rc, "%s", pqf_ostream_error(t->inner)->msg);
    atomic_fetch_add(&t->p->done, len);
    progress_show(t->p, false);
    return PQF_OK;
}

static const pqf_ostream_vt tee_vt = {tee_write, NULL, NULL, free};

/* ---- one object ------------------------------------------------------------------ */

typedef struct find_upload {
    const char *key;
    char id[256];
    long long when;
} find_upload;

static bool pick_upload(void *ud, const pqf_upload_info *u)
{
    find_upload *f = ud;
    if (strcmp(u->key, f->key) == 0 && u->initiated_ms >= f->when) {
        snprintf(f->id, sizeof f->id, "%s", u->upload_id);
        f->when = u->initiated_ms;
    }
    return true;
}

/* known (may be NULL): the source's size and ETag from a listing, which
 * saves a HEAD per object. */
static pqf_err copy_one(const cp_opts *o, pqf_store *src, const char *skey, pqf_store *dst,
                        const char *dkey, bool from_stdin, const pqf_object_info *known,
                        progress *pr, pqf_object_info *res, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_ostream *os = NULL, *t = NULL;
    uint8_t *buf = NULL;
    pqf_object_info si = {0};
    find_upload fu = {.key = dkey, .when = -1};
    /* A recursive copy to a local directory syncs all its files at once
     * (pqf_store_sync after the workers). */
    pqf_put_options po = {.if_absent = o->if_absent, .result = res,
                          .defer_sync = o->a.recursive && !pqf_store_is_s3(dst)};
    pqf_object_info gi = {0};
    memset(res, 0, sizeof *res);
    if (!from_stdin && !o->resume && pqf_store_is_s3(src) && pqf_store_is_s3(dst)) {
        rc = pqf_store_copy(src, skey, dst, dkey, &po, err);
        if (rc == PQF_OK)
            atomic_fetch_add(&pr->done, res->size);
        goto done;
    }
    if (known && !o->a.version_id) {
        si = *known;
        po.size_hint = si.size;
    } else if (!from_stdin) {
        rc = pqf_store_head(src, skey, NULL, &si, err);
        if (rc != PQF_OK)
            goto done;
        po.size_hint = si.size;
    }
    if (o->resume && pqf_store_is_s3(dst)) {
        rc = pqf_store_list_uploads(dst, dkey, pick_upload, &fu, err);
        if (rc != PQF_OK)
            goto done;
        if (fu.id[0]) {
            po.resume_upload_id = fu.id;
            if (!o->a.quiet && !o->a.json)
                fprintf(stderr, "pqfeed cp: resuming upload %s of %s\n", fu.id, dkey);
        }
    }
    rc = pqf_store_put(dst, dkey, &po, &os, err);
    if (rc != PQF_OK)
        goto done;
    tee *tt = malloc(sizeof *tt);
    if (!tt) {
        rc = pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
        goto done;
    }
    tt->inner = os;
    tt->p = pr;
    t = pqf_ostream_create(&tee_vt, tt, 0);
    if (!t) {
        rc = pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (from_stdin) {
        const size_t chunk = 1 << 20;
        buf = malloc(chunk);
        if (!buf) {
            rc = pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (;;) {
            ssize_t n = read(STDIN_FILENO, buf, chunk);
            if (n == 0)
                break;
            if (n < 0) {
                rc = pqf_error_set(err, PQF_ERR_IO, "reading standard input failed");
                goto done;
            }
            rc = pqf_ostream_write(t, buf, (size_t)n);
            if (rc != PQF_OK) {
                pqf_error_set(err, rc, "%s", pqf_ostream_error(t)->msg);
                goto done;
            }
        }
    } else {
        pqf_get_options g = {.if_match = si.etag[0] ? si.etag : NULL,
                             .version_id = o->a.version_id,
                             .size_hint = si.size};
        rc = pqf_store_get_to(src, skey, &g, t, &gi, err);
        if (rc != PQF_OK)
            goto done;
    }
    rc = pqf_ostream_commit(os);
    if (rc != PQF_OK)
        pqf_error_set(err, rc, "%s", pqf_ostream_error(os)->msg);
    res->etag_layouts_tried = gi.etag_layouts_tried;
done:
    pqf_ostream_free(t);
    pqf_ostream_free(os);
    free(buf);
    atomic_fetch_add(&pr->objects, 1);
    return rc;
}

/* ---- recursive -------------------------------------------------------------------- */

typedef struct job {
    char *skey, *dkey;
    unsigned long long size;
    char etag[72];
} job;

typedef struct plan {
    job *v;
    size_t n, cap;
    const char *sprefix, *dprefix;
    bool oom;
    progress *pr;
} plan;

static bool plan_add(void *ud, const pqf_object_info *o)
{
    plan *p = ud;
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 256;
        job *nv = realloc(p->v, nc * sizeof *nv);
        if (!nv)
            return !(p->oom = true);
        p->v = nv;
        p->cap = nc;
    }
    const char *rel = o->key + strlen(p->sprefix);
    size_t dl = strlen(p->dprefix) + strlen(rel) + 1;
    job *j = &p->v[p->n];
    j->skey = strdup(o->key);
    j->dkey = malloc(dl);
    j->size = o->size;
    snprintf(j->etag, sizeof j->etag, "%s", o->etag);
    if (!j->skey || !j->dkey) {
        free(j->skey);
        free(j->dkey);
        return !(p->oom = true);
    }
    snprintf(j->dkey, dl, "%s%s", p->dprefix, rel);
    p->n++;
    atomic_fetch_add(&p->pr->total, o->size);
    return true;
}

typedef struct workers {
    const cp_opts *o;
    pqf_store *src, *dst;
    const char *suri, *duri;
    plan *pl;
    atomic_size_t next;
    atomic_bool failed;
    pthread_mutex_t mu;
    pqf_error first;
    progress *pr;
    unsigned long long bytes;
} workers;

static void report(const cp_opts *o, const char *verb, const char *suri, const char *skey,
                   const char *duri, const char *dkey, const pqf_object_info *r,
                   pthread_mutex_t *mu)
{
    if (o->a.quiet)
        return;
    pthread_mutex_lock(mu);
    if (o->a.json) {
        printf("{\"op\":\"%s\",\"src\":", verb);
        char b[4200];
        snprintf(b, sizeof b, "%s%s", suri, skey);
        pqf_cli_json_str(stdout, b);
        printf(",\"dst\":");
        snprintf(b, sizeof b, "%s%s", duri, dkey);
        pqf_cli_json_str(stdout, b);
        printf(",\"bytes\":%llu,\"etag\":", (unsigned long long)r->size);
        pqf_cli_json_str(stdout, r->etag);
        if (r->etag_layouts_tried)
            printf(",\"etag_layouts_tried\":%u", r->etag_layouts_tried);
        if (r->version_id[0]) {
            printf(",\"version_id\":");
            pqf_cli_json_str(stdout, r->version_id);
        }
        printf("}\n");
    } else {
        printf("%s: %s%s to %s%s\n", verb, suri, skey, duri, dkey);
    }
    pthread_mutex_unlock(mu);
}

static const char *verb_for(pqf_store *src, pqf_store *dst)
{
    bool s = pqf_store_is_s3(src), d = pqf_store_is_s3(dst);
    return s && d ? "copy" : d ? "upload" : s ? "download" : "copy";
}

static void *worker(void *ud)
{
    workers *w = ud;
    for (;;) {
        size_t i = atomic_fetch_add(&w->next, 1);
        if (i >= w->pl->n || atomic_load(&w->failed))
            break;
        job *j = &w->pl->v[i];
        pqf_error err = {0};
        pqf_object_info r;
        pqf_object_info known = {.key = j->skey, .size = j->size};
        snprintf(known.etag, sizeof known.etag, "%s", j->etag);
        if (copy_one(w->o, w->src, j->skey, w->dst, j->dkey, false, &known, w->pr, &r, &err) !=
            PQF_OK) {
            pthread_mutex_lock(&w->mu);
            if (!atomic_exchange(&w->failed, true))
                w->first = err;
            pthread_mutex_unlock(&w->mu);
            break;
        }
        report(w->o, verb_for(w->src, w->dst), w->suri, j->skey, w->duri, j->dkey, &r, &w->mu);
        progress_show(w->pr, false);
    }
    return NULL;
}

/* "s3://b/x/y" -> "s3://b/"; local -> "/" (keys are absolute paths without '/'). */
static void uri_root(const char *uri, char *out, size_t cap)
{
    if (pqf_cli_is_s3(uri)) {
        const char *sl = strchr(uri + 5, '/');
        size_t n = sl ? (size_t)(sl - uri) : strlen(uri);
        snprintf(out, cap, "%.*s/", (int)n, uri);
    } else {
        snprintf(out, cap, "/");
    }
}

int pqf_cmd_cp(int argc, char **argv)
{
    cp_opts o = {.a = {.progress = true}};
    const char *suri = NULL, *duri = NULL;
    for (int i = 1; i < argc; i++) {
        int r = pqf_cli_store_arg("cp", argc, argv, &i, &o.a);
        if (r < 0)
            return PQF_EXIT_USAGE;
        if (r)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: pqfeed cp [--recursive] [--if-absent] [--resume] [--jobs N] [--json] "
                   "[--no-progress] SRC DST\n\n"
                   "SRC and DST are s3://bucket/key, local paths, or '-' (standard input or "
                   "output).\nA DST ending in '/' (or an existing directory) receives SRC's "
                   "name. --recursive copies\nevery key under SRC. --if-absent fails when the "
                   "target exists; --resume continues an\ninterrupted multipart upload of the "
                   "target. --jobs: objects copied at once (16).\n\n");
            pqf_cli_store_help(stdout);
            return 0;
        } else if (strcmp(argv[i], "--if-absent") == 0 || strcmp(argv[i], "--no-overwrite") == 0) {
            o.if_absent = true;
        } else if (strcmp(argv[i], "--resume") == 0) {
            o.resume = true;
        } else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc) {
            unsigned long long n;
            if (pqf_cli_parse_u64(argv[++i], &n) != 0 || n == 0 || n > 256)
                return pqf_cli_usage("cp", "bad --jobs");
            o.jobs = (unsigned)n;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return pqf_cli_usage("cp", "unknown option %s", argv[i]);
        } else if (!suri) {
            suri = argv[i];
        } else if (!duri) {
            duri = argv[i];
        } else {
            return pqf_cli_usage("cp", "SRC and DST only");
        }
    }
    if (!suri || !duri)
        return pqf_cli_usage("cp", "needs SRC and DST");
    bool from_stdin = strcmp(suri, "-") == 0, to_stdout = strcmp(duri, "-") == 0;
    if ((from_stdin || to_stdout) && o.a.recursive)
        return pqf_cli_usage("cp", "'-' cannot be used with --recursive");
    if (from_stdin && to_stdout)
        return pqf_cli_usage("cp", "use cat for that");
    pqf_error err = {0};
    pqf_store *src = NULL, *dst = NULL;
    char *skey = NULL, *dkey = NULL, *dfull = NULL;
    pthread_t *th = NULL;
    plan pl = {0};
    int rc = 0;
    progress pr = {.on = o.a.progress && !o.a.quiet && !o.a.json && !to_stdout &&
                         pqf_cli_isatty_err(),
                   .start = now_s()};
    pthread_mutex_init(&pr.mu, NULL);
    char sroot[128], droot[128];
    uri_root(from_stdin ? "/" : suri, sroot, sizeof sroot);
    uri_root(to_stdout ? "/" : duri, droot, sizeof droot);
    if ((!from_stdin && pqf_cli_target(suri, &o.a, &src, &skey, &err) != PQF_OK) ||
        (!to_stdout && pqf_cli_target(duri, &o.a, &dst, &dkey, &err) != PQF_OK)) {
        rc = pqf_cli_fail(&err);
        goto done;
    }
    if (to_stdout) {
        pqf_ostream *out = NULL;
        if (pqf_ostream_file("-", &out, &err) != PQF_OK ||
            pqf_store_get_to(src, skey, &(pqf_get_options){.version_id = o.a.version_id}, out, NULL,
                             &err) != PQF_OK ||
            pqf_ostream_commit(out) != PQF_OK) {
            if (out && pqf_ostream_error(out)->code)
                err = *pqf_ostream_error(out);
            rc = pqf_cli_fail(&err);
        }
        pqf_ostream_free(out);
        goto done;
    }
    /* A directory-like destination gets the source's name (or the tree). */
    size_t dl = strlen(dkey);
    struct stat st;
    bool dst_dir = dl == 0 || dkey[dl - 1] == '/' ||
                   (!pqf_store_is_s3(dst) && stat(duri, &st) == 0 && S_ISDIR(st.st_mode));
    if (!o.a.recursive) {
        const char *base = from_stdin ? "stdin" : strrchr(skey, '/');
        base = from_stdin ? base : base ? base + 1 : skey;
        size_t n = dl + strlen(base) + 2;
        dfull = malloc(n);
        if (!dfull) {
            pqf_error_set(&err, PQF_ERR_NOMEM, "out of memory");
            rc = pqf_cli_fail(&err);
            goto done;
        }
        if (dst_dir)
            snprintf(dfull, n, "%s%s%s", dkey, dl && dkey[dl - 1] != '/' ? "/" : "", base);
        else
            snprintf(dfull, n, "%s", dkey);
        pqf_object_info r, si = {0};
        pr.nobjects = 1;
        if (!from_stdin) {
            if (pqf_store_head(src, skey, &(pqf_get_options){.version_id = o.a.version_id}, &si,
                               &err) != PQF_OK) {
                rc = pqf_cli_fail(&err);
                goto done;
            }
            atomic_store(&pr.total, si.size);
        }
        if (copy_one(&o, src, skey, dst, dfull, from_stdin, from_stdin ? NULL : &si, &pr, &r,
                     &err) != PQF_OK) {
            if (pr.on)
                fputc('\n', stderr);
            rc = pqf_cli_fail(&err);
            goto done;
        }
        progress_show(&pr, true);
        report(&o, from_stdin ? "upload" : verb_for(src, dst), from_stdin ? "-" : sroot,
               from_stdin ? "" : skey, droot, dfull, &r, &pr.mu);
        goto done;
    }
    /* Recursive: SRC and DST are prefixes ("directories"). */
    size_t sl = strlen(skey);
    char *sp = malloc(sl + 2), *dp = malloc(dl + 2);
    if (!sp || !dp) {
        free(sp);
        free(dp);
        pqf_error_set(&err, PQF_ERR_NOMEM, "out of memory");
        rc = pqf_cli_fail(&err);
        goto done;
    }
    snprintf(sp, sl + 2, "%s%s", skey, sl && skey[sl - 1] != '/' ? "/" : "");
    snprintf(dp, dl + 2, "%s%s", dkey, dl && dkey[dl - 1] != '/' ? "/" : "");
    free(skey);
    free(dkey);
    skey = sp;
    dkey = dp;
    pl.sprefix = skey;
    pl.dprefix = dkey;
    pl.pr = &pr;
    if (pqf_store_list(src, skey, NULL, plan_add, &pl, &err) != PQF_OK || pl.oom) {
        if (pl.oom)
            pqf_error_set(&err, PQF_ERR_NOMEM, "out of memory");
        rc = pqf_cli_fail(&err);
        goto done;
    }
    pr.nobjects = (unsigned)pl.n;
    workers w = {
        .o = &o, .src = src, .dst = dst, .suri = sroot, .duri = droot, .pl = &pl, .pr = &pr};
    pthread_mutex_init(&w.mu, NULL);
    unsigned nt = o.jobs ? o.jobs : 16;
    if (nt > pl.n)
        nt = pl.n ? (unsigned)pl.n : 1;
    th = calloc(nt, sizeof *th);
    unsigned started = 0;
    for (unsigned i = 0; th && i < nt; i++)
        if (pthread_create(&th[i], NULL, worker, &w) == 0)
            started++;
    if (started == 0)
        worker(&w);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    /* Every downloaded file is complete under its temporary name: one sync,
     * then the renames (also after a failure, for the files that finished). */
    pqf_error serr = {0};
    bool sync_failed = pqf_store_sync(dst, &serr) != PQF_OK;
    progress_show(&pr, true);
    if (atomic_load(&w.failed))
        rc = pqf_cli_fail(&w.first);
    else if (sync_failed)
        rc = pqf_cli_fail(&serr);
    else if (o.a.json)
        printf("{\"objects\":%zu,\"bytes\":%llu,\"seconds\":%.3f}\n", pl.n,
               (unsigned long long)atomic_load(&pr.done), now_s() - pr.start);
    pthread_mutex_destroy(&w.mu);
done:
    for (size_t i = 0; i < pl.n; i++) {
        free(pl.v[i].skey);
        free(pl.v[i].dkey);
    }
    free(pl.v);
    free(th);
    free(skey);
    free(dkey);
    free(dfull);
    pqf_store_free(src);
    pqf_store_free(dst);
    pthread_mutex_destroy(&pr.mu);
    return rc;
}
