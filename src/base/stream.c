/* Stream wrappers: buffering, sticky errors, and the file and memory
 * implementations of pqf_ostream / pqf_istream. */
#include "pqfeed/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/crash.h"
#include "base/fsutil.h"
#include "base/ostream_fault.h"

enum { OS_OPEN, OS_COMMITTED, OS_ABORTED };

struct pqf_ostream {
    const pqf_ostream_vt *vt;
    void *impl;
    uint8_t *buf;
    size_t buf_len, buf_cap;
    uint64_t written;
    int state;
    pqf_error err;
};

int pqf__ostream_create_fault;

pqf_ostream *pqf_ostream_create(const pqf_ostream_vt *vt, void *impl, size_t buffer_bytes)
{
    pqf_ostream *s = NULL;
    if (pqf__ostream_create_fault)
        pqf__ostream_create_fault = 0; /* a test: this one fails as out of memory */
    else
        s = calloc(1, sizeof *s);
    if (s && buffer_bytes) {
        s->buf = malloc(buffer_bytes);
        if (!s->buf) {
            free(s);
            s = NULL;
        }
    }
    if (!s) {
        if (vt->destroy)
            vt->destroy(impl);
        return NULL;
    }
    s->vt = vt;
    s->impl = impl;
    s->buf_cap = buffer_bytes;
    return s;
}

static pqf_err os_flush(pqf_ostream *s)
{
    if (s->buf_len == 0)
        return PQF_OK;
    pqf_err rc = s->vt->write(s->impl, s->buf, s->buf_len, &s->err);
    s->buf_len = 0;
    if (rc != PQF_OK && s->err.code == PQF_OK)
        s->err.code = rc;
    return rc;
}

pqf_err pqf_ostream_write(pqf_ostream *s, const void *data, size_t len)
{
    if (s->err.code != PQF_OK)
        return s->err.code;
    if (s->state != OS_OPEN)
        return pqf_error_set(&s->err, PQF_ERR_INVALID_ARG, "write after commit or abort");
    s->written += len;
    if (len < s->buf_cap - s->buf_len) {
        memcpy(s->buf + s->buf_len, data, len);
        s->buf_len += len;
        return PQF_OK;
    }
    pqf_err rc = os_flush(s);
    if (rc != PQF_OK)
        return rc;
    if (len < s->buf_cap) {
        memcpy(s->buf, data, len);
        s->buf_len = len;
        return PQF_OK;
    }
    rc = s->vt->write(s->impl, data, len, &s->err);
    if (rc != PQF_OK && s->err.code == PQF_OK)
        s->err.code = rc;
    return rc;
}

pqf_err pqf_ostream_commit(pqf_ostream *s)
{
    if (s->err.code != PQF_OK)
        return s->err.code;
    if (s->state != OS_OPEN)
        return pqf_error_set(&s->err, PQF_ERR_INVALID_ARG, "commit after commit or abort");
    pqf_err rc = os_flush(s);
    if (rc == PQF_OK && s->vt->commit)
        rc = s->vt->commit(s->impl, &s->err);
    if (rc != PQF_OK) {
        if (s->err.code == PQF_OK)
            s->err.code = rc;
        pqf_ostream_abort(s);
        return rc;
    }
    s->state = OS_COMMITTED;
    return PQF_OK;
}

void pqf_ostream_abort(pqf_ostream *s)
{
    if (!s || s->state != OS_OPEN)
        return;
    s->state = OS_ABORTED;
    s->buf_len = 0;
    if (s->vt->abort)
        s->vt->abort(s->impl);
}

uint64_t pqf_ostream_tell(const pqf_ostream *s) { return s->written; }

const pqf_error *pqf_ostream_error(const pqf_ostream *s) { return &s->err; }

void pqf_ostream_free(pqf_ostream *s)
{
    if (!s)
        return;
    pqf_ostream_abort(s);
    if (s->vt->destroy)
        s->vt->destroy(s->impl);
    free(s->buf);
    free(s);
}

/* ---- file sink ---------------------------------------------------------------- */

/* A file sink collects the bytes in its own 4 MiB buffer, aligned for direct
 * I/O, and writes each full buffer with one write(2). From the first full
 * buffer on the file is switched to O_DIRECT: the data is fsynced at commit
 * anyway, so copying it into the page cache first (the kernel does that at
 * about 1 GB/s here, 10-20% of a CSV conversion's CPU time) buys nothing. A
 * file system that refuses O_DIRECT (fcntl or the first direct write fails
 * with EINVAL) gets buffered writes, as do the unaligned tail written at
 * commit and files smaller than the buffer. Only whole buffers are written
 * directly, so offsets, lengths and the buffer stay aligned. Standard output
 * keeps plain buffered writes. */
enum { FS_BUF = 4u << 20, FS_ALIGN = 4096 };
enum { FS_UNDECIDED, FS_DIRECT, FS_BUFFERED };

int pqf__ostream_direct_fault;

typedef struct {
    int fd;
    /* written straight to fd, not atomically: "-" (stdout), or an existing
     * device or FIFO (a file renamed over it would replace the node) */
    bool in_place;
    bool own_fd; /* in place on a node we opened: close it */
    int mode; /* FS_UNDECIDED until the first full buffer */
    char *path;
    char *tmp;
    uint8_t *buf; /* FS_BUF bytes, FS_ALIGN-aligned (not for stdout) */
    size_t len;
} file_sink;

static pqf_err fs_write_all(file_sink *f, const uint8_t *p, size_t len, pqf_error *err)
{
    while (len) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return pqf__errno(err, "write",
                              f->in_place ? (f->path ? f->path : "<stdout>") : f->tmp);
        }
        p += n;
        len -= (size_t)n;
    }
    return PQF_OK;
}

static bool fs_set_direct(file_sink *f, bool on)
{
    int fl = fcntl(f->fd, F_GETFL);
    if (fl < 0)
        return false;
    fl = on ? fl | O_DIRECT : fl & ~O_DIRECT;
    return fcntl(f->fd, F_SETFL, fl) == 0;
}

/* Write the first n bytes of the buffer (n a multiple of FS_ALIGN), directly
 * when the file takes it. */
static pqf_err fs_write_aligned(file_sink *f, size_t n, pqf_error *err)
{
    if (f->mode == FS_UNDECIDED)
        f->mode =
            pqf__ostream_direct_fault != 1 && fs_set_direct(f, true) ? FS_DIRECT : FS_BUFFERED;
    if (f->mode == FS_DIRECT) {
        size_t done = 0;
        while (done < n) {
            ssize_t w = pqf__ostream_direct_fault == 2 ? (errno = EINVAL, -1)
                                                       : write(f->fd, f->buf + done, n - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && errno == EINVAL && done == 0) {
                /* accepted O_DIRECT but not this I/O: buffered from now on */
                pqf__ostream_direct_fault = 0;
                if (!fs_set_direct(f, false))
                    return pqf__errno(err, "fcntl", f->tmp);
                f->mode = FS_BUFFERED;
                break;
            }
            if (w < 0)
                return pqf__errno(err, "write", f->tmp);
            done += (size_t)w;
            if (done < n && (done % FS_ALIGN) != 0) {
                /* a short direct write left an unaligned offset: finish buffered */
                if (!fs_set_direct(f, false))
                    return pqf__errno(err, "fcntl", f->tmp);
                f->mode = FS_BUFFERED;
                return fs_write_all(f, f->buf + done, n - done, err);
            }
        }
        if (f->mode == FS_DIRECT) {
            pqf__crashpoint("file.direct-written");
            return PQF_OK;
        }
    }
    return fs_write_all(f, f->buf, n, err);
}

static pqf_err fs_write(void *impl, const void *data, size_t len, pqf_error *err)
{
    file_sink *f = impl;
    const uint8_t *p = data;
    if (f->in_place)
        return fs_write_all(f, p, len, err);
    while (len) {
        size_t k = FS_BUF - f->len;
        if (k > len)
            k = len;
        memcpy(f->buf + f->len, p, k);
        f->len += k;
        p += k;
        len -= k;
        if (f->len == FS_BUF) {
            pqf_err rc = fs_write_aligned(f, FS_BUF, err);
            if (rc != PQF_OK)
                return rc;
            f->len = 0;
        }
    }
    return PQF_OK;
}

static pqf_err fs_commit(void *impl, pqf_error *err)
{
    file_sink *f = impl;
    if (f->in_place)
        return PQF_OK;
    size_t head = f->mode == FS_DIRECT ? f->len / FS_ALIGN * FS_ALIGN : 0;
    if (head) {
        pqf_err rc = fs_write_aligned(f, head, err);
        if (rc != PQF_OK)
            return rc;
    }
    if (f->mode == FS_DIRECT && f->len > head && !fs_set_direct(f, false))
        return pqf__errno(err, "fcntl", f->tmp);
    if (f->len > head) {
        pqf_err rc = fs_write_all(f, f->buf + head, f->len - head, err);
        if (rc != PQF_OK)
            return rc;
    }
    f->len = 0;
    if (fsync(f->fd) != 0)
        return pqf__errno(err, "fsync", f->tmp);
    if (close(f->fd) != 0) {
        f->fd = -1;
        return pqf__errno(err, "close", f->tmp);
    }
    f->fd = -1;
    if (rename(f->tmp, f->path) != 0)
        return pqf__errno(err, "rename to", f->path);
    free(f->tmp);
    f->tmp = NULL;
    return pqf__fsync_parent(f->path, err);
}

static void fs_abort(void *impl)
{
    file_sink *f = impl;
    if (f->in_place)
        return;
    f->len = 0;
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->tmp) {
        unlink(f->tmp);
        free(f->tmp);
        f->tmp = NULL;
    }
}

/* Also the cleanup of a sink never committed nor aborted (pqf_ostream_create
 * calls it when it fails): a temporary still there is removed. */
static void fs_destroy(void *impl)
{
    file_sink *f = impl;
    if (!f)
        return;
    if (f->fd >= 0 && (!f->in_place || f->own_fd))
        close(f->fd);
    if (f->tmp && !f->in_place)
        unlink(f->tmp);
    free(f->path);
    free(f->tmp);
    free(f->buf);
    free(f);
}

static const pqf_ostream_vt file_vt = {fs_write, fs_commit, fs_abort, fs_destroy};

pqf_err pqf_ostream_file(const char *path, pqf_ostream **out, pqf_error *err)
{
    static atomic_uint counter;
    pqf_err rc = PQF_OK;
    *out = NULL;
    file_sink *f = calloc(1, sizeof *f);
    if (!f)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    f->fd = -1;
    struct stat st;
    if (strcmp(path, "-") == 0) {
        f->in_place = true;
        f->fd = STDOUT_FILENO;
    } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        f->in_place = true;
        f->path = strdup(path);
        if (!f->path)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        f->fd = open(path, O_WRONLY | O_CLOEXEC);
        if (f->fd < 0) {
            rc = pqf__errno(err, "open", path);
            goto done;
        }
        f->own_fd = true;
    } else {
        /* through a symlink (/dev/stdout redirected to a file) the file it
         * names is replaced, not the link */
        if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
            f->path = realpath(path, NULL);
        if (!f->path)
            f->path = strdup(path);
        size_t n = (f->path ? strlen(f->path) : 0) + 64;
        void *b = NULL;
        f->tmp = malloc(n);
        if (posix_memalign(&b, FS_ALIGN, FS_BUF) != 0)
            b = NULL;
        f->buf = b;
        if (!f->path || !f->tmp || !f->buf) {
            free(f->tmp); /* not named yet: nothing to remove */
            f->tmp = NULL;
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        }
        snprintf(f->tmp, n, "%s.tmp-%ld-%u", f->path, (long)getpid(),
                 atomic_fetch_add(&counter, 1));
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (f->fd < 0) {
            rc = pqf__errno(err, "create", f->tmp);
            goto done;
        }
    }
    /* in place: the stream's 1 MiB buffer; a file: the sink's own */
    *out = pqf_ostream_create(&file_vt, f, f->in_place ? 1u << 20 : 0);
    f = NULL;
    if (!*out)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
done:
    if (f) {
        fs_abort(f);
        fs_destroy(f);
    }
    return rc;
}

/* ---- memory sink ------------------------------------------------------------- */

static pqf_err ms_write(void *impl, const void *data, size_t len, pqf_error *err)
{
    pqf__buf *b = impl;
    pqf_err rc = pqf__buf_append(b, data, len);
    if (rc == PQF_ERR_LIMIT)
        return pqf_error_set(err, rc, "memory sink: output exceeds its cap of %zu bytes", b->limit);
    if (rc != PQF_OK)
        return pqf_error_set(err, rc, "memory sink: %s", pqf_strerror(rc));
    return PQF_OK;
}

static void ms_destroy(void *impl)
{
    pqf__buf_free(impl);
    free(impl);
}

static const pqf_ostream_vt mem_vt = {ms_write, NULL, NULL, ms_destroy};

pqf_err pqf_ostream_mem(size_t limit, pqf_ostream **out, pqf_error *err)
{
    pqf__buf *b = malloc(sizeof *b);
    if (!b)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    pqf__buf_init(b, limit);
    *out = pqf_ostream_create(&mem_vt, b, 0);
    if (!*out)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    return PQF_OK;
}

const uint8_t *pqf_ostream_mem_data(const pqf_ostream *s, size_t *len)
{
    const pqf__buf *b = s->impl;
    *len = b->len;
    return b->data;
}

/* ---- input ------------------------------------------------------------------- */

struct pqf_istream {
    const pqf_istream_vt *vt;
    void *impl;
    uint64_t size;
    char *name;
    uint64_t bytes_read, reads;
    pqf_error err;
};

pqf_istream *pqf_istream_create(const pqf_istream_vt *vt, void *impl, uint64_t size,
                                const char *name)
{
    pqf_istream *s = calloc(1, sizeof *s);
    char *nm = strdup(name ? name : "<input>");
    if (!s || !nm) {
        free(s);
        free(nm);
        if (vt->destroy)
            vt->destroy(impl);
        return NULL;
    }
    s->vt = vt;
    s->impl = impl;
    s->size = size;
    s->name = nm;
    return s;
}

pqf_err pqf_istream_read_at(pqf_istream *s, uint64_t off, void *buf, size_t len)
{
    if (off > s->size || len > s->size - off)
        return pqf_error_set(&s->err, PQF_ERR_CORRUPT,
                             "%s: read of %zu bytes at offset %llu is past the end (%llu bytes)",
                             s->name, len, (unsigned long long)off, (unsigned long long)s->size);
    s->reads++;
    s->bytes_read += len;
    return s->vt->read_at(s->impl, off, buf, len, &s->err);
}

uint64_t pqf_istream_size(const pqf_istream *s) { return s->size; }
const char *pqf_istream_name(const pqf_istream *s) { return s->name; }
const pqf_error *pqf_istream_error(const pqf_istream *s) { return &s->err; }
uint64_t pqf_istream_bytes_read(const pqf_istream *s) { return s->bytes_read; }
uint64_t pqf_istream_reads(const pqf_istream *s) { return s->reads; }

void pqf_istream_free(pqf_istream *s)
{
    if (!s)
        return;
    if (s->vt->destroy)
        s->vt->destroy(s->impl);
    free(s->name);
    free(s);
}

typedef struct {
    int fd;
    char *path;
} file_src;

static pqf_err fsrc_read_at(void *impl, uint64_t off, void *buf, size_t len, pqf_error *err)
{
    file_src *f = impl;
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(f->fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return pqf__errno(err, "read", f->path);
        }
        if (n == 0)
            return pqf_error_set(err, PQF_ERR_CORRUPT, "%s: unexpected end of file", f->path);
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return PQF_OK;
}

static void fsrc_destroy(void *impl)
{
    file_src *f = impl;
    close(f->fd);
    free(f->path);
    free(f);
}

static const pqf_istream_vt file_src_vt = {fsrc_read_at, fsrc_destroy};

pqf_err pqf_istream_file(const char *path, pqf_istream **out, pqf_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pqf__errno(err, "open", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        pqf_err rc = pqf__errno(err, "stat", path);
        close(fd);
        return rc;
    }
    file_src *f = malloc(sizeof *f);
    char *p = strdup(path);
    if (!f || !p) {
        free(f);
        free(p);
        close(fd);
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    }
    f->fd = fd;
    f->path = p;
    *out = pqf_istream_create(&file_src_vt, f, (uint64_t)st.st_size, path);
    if (!*out)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    return PQF_OK;
}

typedef struct {
    const uint8_t *data;
} mem_src;

static pqf_err msrc_read_at(void *impl, uint64_t off, void *buf, size_t len, pqf_error *err)
{
    (void)err;
    mem_src *m = impl;
    memcpy(buf, m->data + off, len);
    return PQF_OK;
}

static const pqf_istream_vt mem_src_vt = {msrc_read_at, free};

pqf_err pqf_istream_mem(const void *data, size_t len, const char *name, pqf_istream **out,
                        pqf_error *err)
{
    mem_src *m = malloc(sizeof *m);
    if (!m)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    m->data = data;
    *out = pqf_istream_create(&mem_src_vt, m, len, name);
    if (!*out)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    return PQF_OK;
}
