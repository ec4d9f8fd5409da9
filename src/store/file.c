/* The local directory store: one file per key under a root directory.
 *
 * Writes are durable and atomic: data goes to a temporary file beside the
 * target, which is fsynced, then renamed over the target (plain put), linked
 * to it (put-if-absent: link(2) fails with EEXIST when the key exists, so of
 * two racers exactly one wins) or renamed after checking the current ETag
 * under an flock (conditional put); the directory is fsynced last.
 *
 * A local ETag is derived from (size, mtime, inode): it changes whenever the
 * file is replaced, without reading the file. Reads pin the inode through
 * their open descriptor, so a reader never sees two versions mixed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/crash.h"
#include "base/fsutil.h"
#include "store/store_impl.h"

/* A put committed with defer_sync: complete under tmp, to be renamed to path. */
typedef struct deferred_put {
    char *tmp, *path;
} deferred_put;

#define DEFER_MAX 1024

typedef struct file_store {
    struct pqf_store base;
    char *root; /* absolute, no trailing slash */
    pthread_mutex_t mu; /* guards the deferred puts */
    deferred_put *pend; /* [DEFER_MAX] */
    size_t npend;
} file_store;

/* What goes between root and a key: nothing when the root is "/" (the
 * object commands open the whole file system), so that paths, and the
 * messages naming them, read /tmp/x and not //tmp/x. */
static const char *sep(const char *root)
{
    return root[0] == '/' && root[1] == '\0' ? "" : "/";
}

static pqf_err key_path(file_store *fs, const char *key, char **out, pqf_error *err)
{
    size_t n = strlen(fs->root) + strlen(key) + 2;
    *out = malloc(n);
    if (!*out)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    snprintf(*out, n, "%s%s%s", fs->root, sep(fs->root), key);
    return PQF_OK;
}

static void fill_info(const struct stat *st, pqf_object_info *info)
{
    info->size = (uint64_t)st->st_size;
    info->mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    snprintf(info->etag, sizeof info->etag, "%llx-%llx%09lx-%llx", (unsigned long long)st->st_size,
             (unsigned long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec,
             (unsigned long long)st->st_ino);
}

static bool is_temp_name(const char *name)
{
    /* pqf_ostream_file and this store write "<name>.tmp-<pid>-<n>". */
    const char *t = strstr(name, ".tmp-");
    if (!t)
        return false;
    t += 5;
    while (*t >= '0' && *t <= '9')
        t++;
    if (*t != '-')
        return false;
    t++;
    if (!*t)
        return false;
    while (*t >= '0' && *t <= '9')
        t++;
    return *t == '\0';
}

/* ---- put -------------------------------------------------------------------- */

typedef struct file_put {
    file_store *fs;
    char *path;
    pqf_ostream *inner; /* plain put: pqf_ostream_file does it all */
    int fd;             /* conditional put: our own temporary */
    char *tmp;
    bool if_absent, deferred;
    char *if_match;
    pqf_object_info *result;
} file_put;

static pqf_err fp_write(void *impl, const void *data, size_t len, pqf_error *err)
{
    file_put *p = impl;
    if (p->inner) {
        pqf_err rc = pqf_ostream_write(p->inner, data, len);
        if (rc != PQF_OK)
            pqf_error_set(err, rc, "%s", pqf_ostream_error(p->inner)->msg);
        return rc;
    }
    const uint8_t *b = data;
    while (len) {
        ssize_t n = write(p->fd, b, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return pqf__errno(err, "write", p->tmp);
        }
        b += n;
        len -= (size_t)n;
    }
    return PQF_OK;
}

static pqf_err fp_commit_conditional(file_put *p, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    int lockfd = -1;
    if (fsync(p->fd) != 0)
        PQF_FAIL(err, PQF_ERR_IO, "fsync %s: %s", p->tmp, strerror(errno));
    if (p->if_absent) {
        if (link(p->tmp, p->path) != 0) {
            if (errno == EEXIST)
                PQF_FAIL(err, PQF_ERR_EXISTS, "%s: already exists", p->path);
            rc = pqf__errno(err, "link to", p->path);
            goto done;
        }
        unlink(p->tmp);
    } else {
        /* Lock the current file, then compare its ETag by path: a writer
         * that replaced it meanwhile changed the inode, so we see it. */
        lockfd = open(p->path, O_RDONLY | O_CLOEXEC);
        if (lockfd < 0) {
            if (errno == ENOENT)
                PQF_FAIL(err, PQF_ERR_PRECONDITION, "%s: does not exist (If-Match %s)", p->path,
                         p->if_match);
            rc = pqf__errno(err, "open", p->path);
            goto done;
        }
        if (flock(lockfd, LOCK_EX) != 0) {
            rc = pqf__errno(err, "flock", p->path);
            goto done;
        }
        struct stat st;
        pqf_object_info cur = {0};
        if (stat(p->path, &st) != 0) {
            rc = pqf__errno(err, "stat", p->path);
            if (rc == PQF_ERR_NOT_FOUND)
                rc = pqf_error_set(err, PQF_ERR_PRECONDITION, "%s: was deleted", p->path);
            goto done;
        }
        fill_info(&st, &cur);
        if (strcmp(cur.etag, p->if_match) != 0)
            PQF_FAIL(err, PQF_ERR_PRECONDITION, "%s: ETag is %s, not %s", p->path, cur.etag,
                     p->if_match);
        if (rename(p->tmp, p->path) != 0) {
            rc = pqf__errno(err, "rename to", p->path);
            goto done;
        }
    }
    free(p->tmp);
    p->tmp = NULL;
    PQF_TRY(pqf__fsync_parent(p->path, err));
done:
    if (lockfd >= 0)
        close(lockfd);
    return rc;
}

static pqf_err fs_sync_locked(file_store *fs, pqf_error *err);

/* defer_sync: close the complete temporary and queue its rename. */
static pqf_err fp_commit_deferred(file_put *p, pqf_error *err)
{
    file_store *fs = p->fs;
    pqf_err rc = PQF_OK;
    int fd = p->fd;
    p->fd = -1;
    if (close(fd) != 0)
        return pqf__errno(err, "close", p->tmp);
    if (p->result) {
        struct stat st;
        memset(p->result, 0, sizeof *p->result);
        if (stat(p->tmp, &st) == 0) /* rename keeps size, mtime and inode */
            fill_info(&st, p->result);
    }
    pthread_mutex_lock(&fs->mu);
    if (!fs->pend && !(fs->pend = calloc(DEFER_MAX, sizeof *fs->pend)))
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    fs->pend[fs->npend].tmp = p->tmp;
    fs->pend[fs->npend].path = p->path;
    fs->npend++;
    p->tmp = p->path = NULL;
    if (fs->npend == DEFER_MAX)
        PQF_TRY(fs_sync_locked(fs, err));
done:
    pthread_mutex_unlock(&fs->mu);
    return rc;
}

static pqf_err fp_commit(void *impl, pqf_error *err)
{
    file_put *p = impl;
    pqf_err rc = PQF_OK;
    if (p->deferred)
        return fp_commit_deferred(p, err);
    if (p->inner) {
        rc = pqf_ostream_commit(p->inner);
        if (rc != PQF_OK)
            return pqf_error_set(err, rc, "%s", pqf_ostream_error(p->inner)->msg);
    } else {
        rc = fp_commit_conditional(p, err);
        if (rc != PQF_OK)
            return rc;
    }
    if (p->result) {
        struct stat st;
        memset(p->result, 0, sizeof *p->result);
        if (stat(p->path, &st) == 0)
            fill_info(&st, p->result);
    }
    return PQF_OK;
}

static void fp_abort(void *impl)
{
    file_put *p = impl;
    if (p->inner)
        pqf_ostream_abort(p->inner);
    if (p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
    }
    if (p->tmp) {
        unlink(p->tmp);
        free(p->tmp);
        p->tmp = NULL;
    }
}

static void fp_destroy(void *impl)
{
    file_put *p = impl;
    if (!p)
        return;
    pqf_ostream_free(p->inner);
    if (p->fd >= 0)
        close(p->fd);
    if (p->tmp)
        unlink(p->tmp);
    free(p->tmp);
    free(p->path);
    free(p->if_match);
    free(p);
}

static const pqf_ostream_vt file_put_vt = {fp_write, fp_commit, fp_abort, fp_destroy};

static pqf_err fs_put(pqf_store *s, const char *key, const pqf_put_options *opt, pqf_ostream **out,
                      pqf_error *err)
{
    static atomic_uint counter;
    file_store *fs = (file_store *)s;
    pqf_err rc = PQF_OK;
    file_put *p = calloc(1, sizeof *p);
    char *dir = NULL;
    if (!p)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    p->fd = -1;
    p->fs = fs;
    p->result = opt->result;
    p->if_absent = opt->if_absent;
    PQF_TRY(key_path(fs, key, &p->path, err));
    dir = strdup(p->path);
    if (!dir)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    *strrchr(dir, '/') = '\0';
    PQF_TRY(pqf__mkdirs(dir, err));
    if (opt->if_match) {
        p->if_match = strdup(opt->if_match);
        if (!p->if_match)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
    p->deferred = opt->defer_sync && !opt->if_absent && !opt->if_match;
    if (!opt->if_absent && !opt->if_match && !p->deferred) {
        PQF_TRY(pqf_ostream_file(p->path, &p->inner, err));
    } else {
        size_t n = strlen(p->path) + 48;
        p->tmp = malloc(n);
        if (!p->tmp)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        snprintf(p->tmp, n, "%s.tmp-%ld-%u", p->path, (long)getpid(),
                 atomic_fetch_add(&counter, 1) + 1000000u);
        p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (p->fd < 0) {
            rc = pqf__errno(err, "create", p->tmp);
            free(p->tmp);
            p->tmp = NULL;
            goto done;
        }
    }
    *out = pqf_ostream_create(&file_put_vt, p, p->inner ? 0 : 1 << 20);
    p = NULL;
    if (!*out)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
done:
    free(dir);
    fp_destroy(p);
    return rc;
}

/* ---- reading ------------------------------------------------------------------ */

static pqf_err open_checked(file_store *fs, const char *key, const pqf_get_options *opt, int *fdp,
                            pqf_object_info *info, char **pathp, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char *path = NULL;
    int fd = -1;
    struct stat st;
    *fdp = -1;
    if (opt->version_id)
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "%s: local stores keep no versions", fs->base.uri);
    PQF_TRY(key_path(fs, key, &path, err));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = pqf__errno(err, "open", path);
        goto done;
    }
    if (fstat(fd, &st) != 0) {
        rc = pqf__errno(err, "stat", path);
        goto done;
    }
    if (!S_ISREG(st.st_mode))
        PQF_FAIL(err, PQF_ERR_NOT_FOUND, "%s: not a regular file", path);
    fill_info(&st, info);
    if (opt->if_match && strcmp(opt->if_match, info->etag) != 0)
        PQF_FAIL(err, PQF_ERR_PRECONDITION, "%s: ETag is %s, not %s", path, info->etag,
                 opt->if_match);
    *fdp = fd;
    fd = -1;
    if (pathp) {
        *pathp = path;
        path = NULL;
    }
done:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

static pqf_err fs_head(pqf_store *s, const char *key, const pqf_get_options *opt,
                       pqf_object_info *info, pqf_error *err)
{
    int fd;
    pqf_err rc = open_checked((file_store *)s, key, opt, &fd, info, NULL, err);
    if (fd >= 0)
        close(fd);
    return rc;
}

static pqf_err fs_open_read(pqf_store *s, const char *key, const pqf_get_options *opt,
                            pqf_istream **out, pqf_object_info *info, pqf_error *err)
{
    pqf_object_info tmp = {0};
    char *path = NULL;
    int fd;
    pqf_err rc = PQF_OK;
    PQF_TRY(open_checked((file_store *)s, key, opt, &fd, info ? info : &tmp, &path, err));
    /* pqf_istream_file opens by path; to keep the checked inode, go through
     * /proc/self/fd when it exists, else the path (a rename race is benign:
     * the new file is read whole). */
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    rc = pqf_istream_file(access(proc, R_OK) == 0 ? proc : path, out, err);
    close(fd);
done:
    free(path);
    return rc;
}

static pqf_err fs_get_to(pqf_store *s, const char *key, const pqf_get_options *opt,
                         pqf_ostream *dst, pqf_object_info *info, pqf_error *err)
{
    pqf_object_info tmp = {0};
    pqf_object_info *inf = info ? info : &tmp;
    char *path = NULL;
    uint8_t *buf = NULL;
    int fd = -1;
    pqf_err rc = PQF_OK;
    PQF_TRY(open_checked((file_store *)s, key, opt, &fd, inf, &path, err));
    uint64_t off = opt->offset, end = inf->size;
    if (off > end)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: offset %llu is past the end (%llu bytes)", path,
                 (unsigned long long)off, (unsigned long long)end);
    if (opt->length && opt->length < end - off)
        end = off + opt->length;
    const size_t chunk = 1 << 20;
    buf = malloc(chunk);
    if (!buf)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    while (off < end) {
        size_t want = (size_t)PQF_MIN((uint64_t)chunk, end - off);
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = pqf__errno(err, "read", path);
            goto done;
        }
        if (n == 0)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: file shrank while reading", path);
        rc = pqf_ostream_write(dst, buf, (size_t)n);
        if (rc != PQF_OK)
            PQF_FAIL(err, rc, "%s", pqf_ostream_error(dst)->msg);
        off += (uint64_t)n;
        atomic_fetch_add(&s->bytes_down, (uint64_t)n);
    }
done:
    if (fd >= 0)
        close(fd);
    free(buf);
    free(path);
    return rc;
}

/* ---- listing ------------------------------------------------------------------ */

typedef struct keylist {
    char **v;
    size_t n, cap;
} keylist;

static pqf_err kl_push(keylist *kl, const char *k, pqf_error *err)
{
    if (!pqf__grow(&kl->v, kl->n, &kl->cap, sizeof *kl->v, 256))
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    kl->v[kl->n] = strdup(k);
    if (!kl->v[kl->n])
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    kl->n++;
    return PQF_OK;
}

/* Collect every regular file below root/rel whose key starts with prefix
 * (temps: only the temporaries of unfinished puts, else everything else). */
static pqf_err walk(const char *root, const char *rel, const char *prefix, keylist *kl, int depth,
                    bool temps, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char path[PATH_MAX], key[PATH_MAX];
    DIR *d = NULL;
    if (depth > 64)
        return pqf_error_set(err, PQF_ERR_LIMIT, "%s%s%s: directories nested too deep", root,
                             sep(root), rel);
    int pn = snprintf(path, sizeof path, "%s%s%s", root, *rel ? sep(root) : "", rel);
    if (pn < 0 || (size_t)pn >= sizeof path)
        return pqf_error_set(err, PQF_ERR_LIMIT, "%s%s%s: path too long", root, sep(root), rel);
    d = opendir(path);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR)
            return PQF_OK;
        return pqf__errno(err, "open directory", path);
    }
    size_t pl = strlen(prefix);
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e)
            break;
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        int kn = snprintf(key, sizeof key, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        if (kn < 0 || (size_t)kn >= sizeof key)
            continue;
        /* Prune: the key (as a directory) must be compatible with prefix. */
        size_t kl_ = (size_t)kn;
        size_t cmp = kl_ < pl ? kl_ : pl;
        if (strncmp(key, prefix, cmp) != 0)
            continue;
        char full[PATH_MAX];
        int fn = snprintf(full, sizeof full, "%s%s%s", root, sep(root), key);
        struct stat st;
        if (fn < 0 || (size_t)fn >= sizeof full || stat(full, &st) != 0)
            continue; /* vanished meanwhile */
        if (S_ISDIR(st.st_mode)) {
            PQF_TRY(walk(root, key, prefix, kl, depth + 1, temps, err));
        } else if (S_ISREG(st.st_mode) && kl_ >= pl && is_temp_name(e->d_name) == temps) {
            PQF_TRY(kl_push(kl, key, err));
        }
    }
done:
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static pqf_err fs_list(pqf_store *s, const char *prefix, const pqf_list_options *opt,
                       pqf_list_cb cb, void *ud, pqf_error *err)
{
    file_store *fs = (file_store *)s;
    keylist kl = {0};
    pqf_err rc = PQF_OK;
    char *last_prefix = NULL;
    uint64_t emitted = 0;
    PQF_TRY(walk(fs->root, "", prefix, &kl, 0, false, err));
    if (kl.n)
        qsort(kl.v, kl.n, sizeof *kl.v, cmp_str);
    size_t pl = strlen(prefix);
    const char *delim = opt->delimiter && *opt->delimiter ? opt->delimiter : NULL;
    for (size_t i = 0; i < kl.n; i++) {
        const char *k = kl.v[i];
        if (opt->start_after && strcmp(k, opt->start_after) <= 0)
            continue;
        if (opt->max_keys && emitted >= opt->max_keys)
            break;
        pqf_object_info info = {0};
        const char *dp = delim ? strstr(k + pl, delim) : NULL;
        if (dp) {
            size_t cl = (size_t)(dp - k) + strlen(delim);
            if (last_prefix && strlen(last_prefix) == cl && strncmp(last_prefix, k, cl) == 0)
                continue;
            free(last_prefix);
            last_prefix = strndup(k, cl);
            if (!last_prefix)
                PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
            info.key = last_prefix;
            info.is_prefix = true;
        } else {
            char full[PATH_MAX];
            struct stat st;
            int fn = snprintf(full, sizeof full, "%s%s%s", fs->root, sep(fs->root), k);
            if (fn < 0 || (size_t)fn >= sizeof full || stat(full, &st) != 0)
                continue;
            fill_info(&st, &info);
            info.key = k;
        }
        emitted++;
        if (!cb(ud, &info))
            break;
    }
done:
    for (size_t i = 0; i < kl.n; i++)
        free(kl.v[i]);
    free(kl.v);
    free(last_prefix);
    return rc;
}

/* ---- delete ------------------------------------------------------------------- */

static pqf_err fs_del(pqf_store *s, const char *key, const char *version_id, pqf_error *err)
{
    file_store *fs = (file_store *)s;
    char *path = NULL;
    pqf_err rc = PQF_OK;
    if (version_id)
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "%s: local stores keep no versions", s->uri);
    PQF_TRY(key_path(fs, key, &path, err));
    if (unlink(path) != 0 && errno != ENOENT) {
        rc = pqf__errno(err, "unlink", path);
        goto done;
    }
    /* Like S3, a key's "directories" exist only while they hold keys. */
    size_t rl = strlen(fs->root);
    for (char *sl = strrchr(path, '/'); sl && (size_t)(sl - path) > rl; sl = strrchr(path, '/')) {
        *sl = '\0';
        if (rmdir(path) != 0)
            break;
    }
done:
    free(path);
    return rc;
}

static int pend_cmp(const void *a, const void *b)
{
    return strcmp(((const deferred_put *)a)->path, ((const deferred_put *)b)->path);
}

/* Drop the deferred puts from i on, removing their temporaries. */
static void pend_drop(file_store *fs, size_t i)
{
    for (; i < fs->npend; i++) {
        unlink(fs->pend[i].tmp);
        free(fs->pend[i].tmp);
        free(fs->pend[i].path);
    }
    fs->npend = 0;
}

/* One syncfs for every deferred temporary (all under root, one file system:
 * a different mount under root would not be covered, so those are fsynced
 * one by one), then the renames in path order, then an fsync of each
 * directory that got one. fs->mu held. */
static pqf_err fs_sync_locked(file_store *fs, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    size_t i = 0;
    struct stat rst;
    if (!fs->npend)
        return PQF_OK;
    int rfd = open(fs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0 || fstat(rfd, &rst) != 0) {
        rc = pqf__errno(err, "open", fs->root);
        goto done;
    }
    if (syncfs(rfd) != 0) {
        rc = pqf__errno(err, "syncfs", fs->root);
        goto done;
    }
    for (size_t k = 0; k < fs->npend; k++) {
        struct stat st;
        if (stat(fs->pend[k].tmp, &st) != 0) {
            rc = pqf__errno(err, "stat", fs->pend[k].tmp);
            goto done;
        }
        if (st.st_dev != rst.st_dev) {
            int fd = open(fs->pend[k].tmp, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || fsync(fd) != 0) {
                rc = pqf__errno(err, "fsync", fs->pend[k].tmp);
                if (fd >= 0)
                    close(fd);
                goto done;
            }
            close(fd);
        }
    }
    pqf__crashpoint("file.deferred-before-rename");
    qsort(fs->pend, fs->npend, sizeof *fs->pend, pend_cmp);
    for (; i < fs->npend; i++) {
        deferred_put *d = &fs->pend[i];
        if (rename(d->tmp, d->path) != 0) {
            rc = pqf__errno(err, "rename to", d->path);
            goto done;
        }
        const char *sl = strrchr(d->path, '/');
        size_t dl = (size_t)(sl - d->path);
        bool last_in_dir = i + 1 == fs->npend ||
                           strncmp(fs->pend[i + 1].path, d->path, dl + 1) != 0 ||
                           strchr(fs->pend[i + 1].path + dl + 1, '/');
        if (last_in_dir)
            PQF_TRY(pqf__fsync_parent(d->path, err));
        free(d->tmp);
        free(d->path);
        d->tmp = d->path = NULL;
    }
done:
    if (rfd >= 0)
        close(rfd);
    pend_drop(fs, i);
    return rc;
}

static pqf_err fs_sync(pqf_store *s, pqf_error *err)
{
    file_store *fs = (file_store *)s;
    pthread_mutex_lock(&fs->mu);
    pqf_err rc = fs_sync_locked(fs, err);
    pthread_mutex_unlock(&fs->mu);
    return rc;
}

static void fs_destroy(pqf_store *s)
{
    file_store *fs = (file_store *)s;
    pend_drop(fs, 0);
    free(fs->pend);
    pthread_mutex_destroy(&fs->mu);
    free(fs->root);
    free(fs);
}

/* Unfinished puts (a killed writer's "<name>.tmp-<pid>-<n>") are this store's
 * abandoned uploads: listed with the final key and the temporary's name as
 * the upload id, so gc can remove them like S3's incomplete multipart uploads. */
static pqf_err fs_list_uploads(pqf_store *s, const char *prefix, pqf_upload_cb cb, void *ud,
                               pqf_error *err)
{
    file_store *fs = (file_store *)s;
    pqf_err rc = PQF_OK;
    keylist kl = {0};
    PQF_TRY(walk(fs->root, "", prefix, &kl, 0, true, err));
    for (size_t i = 0; i < kl.n; i++) {
        char full[PATH_MAX];
        struct stat st;
        snprintf(full, sizeof full, "%s%s%s", fs->root, sep(fs->root), kl.v[i]);
        if (stat(full, &st) != 0)
            continue;
        char *t = strstr(kl.v[i], ".tmp-");
        const char *base = strrchr(kl.v[i], '/');
        base = base ? base + 1 : kl.v[i];
        char id[PATH_MAX];
        snprintf(id, sizeof id, "%s", base);
        *t = '\0';
        pqf_upload_info info = {kl.v[i], id,
                                (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000};
        if (!cb(ud, &info))
            break;
    }
done:
    for (size_t i = 0; i < kl.n; i++)
        free(kl.v[i]);
    free(kl.v);
    return rc;
}

static pqf_err fs_abort_upload(pqf_store *s, const char *key, const char *upload_id,
                               pqf_error *err)
{
    file_store *fs = (file_store *)s;
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    size_t bl = strlen(base);
    if (strncmp(upload_id, base, bl) != 0 || !is_temp_name(upload_id) || strchr(upload_id, '/'))
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "%s: '%s' is not an upload of this key",
                             key, upload_id);
    char full[PATH_MAX];
    int n = snprintf(full, sizeof full, "%s%s%.*s%s", fs->root, sep(fs->root), (int)(base - key),
                     key, upload_id);
    if (n < 0 || (size_t)n >= sizeof full)
        return pqf_error_set(err, PQF_ERR_LIMIT, "%s: path too long", key);
    if (unlink(full) != 0 && errno != ENOENT)
        return pqf__errno(err, "remove", full);
    return PQF_OK;
}

static const pqf__store_vt file_vt = {
    .list_uploads = fs_list_uploads,
    .abort_upload = fs_abort_upload,
    .kind = "file",
    .put = fs_put,
    .open_read = fs_open_read,
    .get_to = fs_get_to,
    .head = fs_head,
    .list = fs_list,
    .del = fs_del,
    .sync = fs_sync,
    .destroy = fs_destroy,
};

pqf_err pqf__store_file_open(const char *dir, const pqf_store_options *opt, pqf_store **out,
                             pqf_error *err)
{
    (void)opt;
    pqf_err rc = PQF_OK;
    file_store *fs = calloc(1, sizeof *fs);
    pqf__buf b;
    pqf__buf_init(&b, PATH_MAX);
    if (!fs)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    fs->base.vt = &file_vt;
    pthread_mutex_init(&fs->mu, NULL);
    if (dir[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            rc = pqf__errno(err, "getcwd", NULL);
            goto done;
        }
        if (pqf__buf_printf(&b, "%s%s", cwd, sep(cwd)) != PQF_OK)
            PQF_FAIL(err, PQF_ERR_LIMIT, "%s: path too long", dir);
    }
    /* one slash between segments and none at the end (but for "/" itself) */
    for (const char *d = dir; *d; d++)
        if ((*d != '/' || b.len == 0 || b.data[b.len - 1] != '/') &&
            pqf__buf_printf(&b, "%c", *d) != PQF_OK)
            PQF_FAIL(err, PQF_ERR_LIMIT, "%s: path too long", dir);
    while (b.len > 1 && b.data[b.len - 1] == '/')
        b.len--;
    if (pqf__buf_cstr(&b) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_LIMIT, "%s: path too long", dir);
    fs->root = strdup((char *)b.data);
    size_t ul = b.len + 8;
    fs->base.uri = malloc(ul);
    if (!fs->root || !fs->base.uri)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    snprintf(fs->base.uri, ul, "file://%s", fs->root);
    *out = &fs->base;
    fs = NULL;
done:
    pqf__buf_free(&b);
    if (fs) {
        free(fs->base.uri);
        fs_destroy(&fs->base);
    }
    return rc;
}
