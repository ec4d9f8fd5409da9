/* pqfeed — byte streams at the seams (after redis's rio).
 *
 * pqf_ostream: a sequential sink. The Parquet writer, exporters and copy
 * commands write through it, so a local file, a memory buffer or an S3
 * multipart upload are the same to them. Errors are sticky: after the first
 * failure every call returns the same code, and pqf_ostream_error() tells why.
 * A sink is finished with pqf_ostream_commit() (data made durable and visible,
 * e.g. temp file fsynced and renamed) or pqf_ostream_abort() (nothing becomes
 * visible: no half-written output). pqf_ostream_free() on an uncommitted
 * stream aborts it.
 *
 * pqf_istream: a random-access source with a known size (read_at), so that a
 * Parquet reader fetches the footer first and then only the column chunks it
 * needs; on S3 each read is a ranged GET.
 */
#ifndef PQFEED_STREAM_H
#define PQFEED_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- output ---------------------------------------------------------------- */

typedef struct pqf_ostream pqf_ostream;

/* Implementation hooks. Each returns PQF_OK or fills err. */
typedef struct pqf_ostream_vt {
    pqf_err (*write)(void *impl, const void *data, size_t len, pqf_error *err);
    pqf_err (*commit)(void *impl, pqf_error *err); /* make durable + visible */
    void (*abort)(void *impl);                     /* discard, best effort */
    void (*destroy)(void *impl);                   /* free impl (after commit/abort) */
} pqf_ostream_vt;

/* Wrap an implementation. The stream takes ownership of impl (destroy is
 * called from pqf_ostream_free). Returns NULL on allocation failure (impl is
 * then destroyed). buffer_bytes > 0 adds a write buffer of that size in front
 * of vt->write (0: unbuffered). */
pqf_ostream *pqf_ostream_create(const pqf_ostream_vt *vt, void *impl, size_t buffer_bytes);

/* Append bytes. Sticky error. */
pqf_err pqf_ostream_write(pqf_ostream *s, const void *data, size_t len);
/* Flush buffered bytes and commit. After this only free is valid. */
pqf_err pqf_ostream_commit(pqf_ostream *s);
/* Discard everything written. Idempotent; safe after an error. */
void pqf_ostream_abort(pqf_ostream *s);
/* Bytes accepted so far (including buffered ones). */
uint64_t pqf_ostream_tell(const pqf_ostream *s);
/* The sticky error (code PQF_OK if none). */
const pqf_error *pqf_ostream_error(const pqf_ostream *s);
/* Aborts if neither committed nor aborted, then frees. NULL is fine. */
void pqf_ostream_free(pqf_ostream *s);

/* A local file written atomically: data goes to "<path>.tmp-<pid>-<n>", and
 * commit fsyncs it, renames it over path and fsyncs the directory. Abort
 * unlinks the temporary. path "-" writes to standard output, and an existing
 * path that is neither a regular file nor a directory (a device such as
 * /dev/null, a FIFO) is opened and written in place: neither is atomic. A
 * symlink to an existing file replaces that file, not the link. */
pqf_err pqf_ostream_file(const char *path, pqf_ostream **out, pqf_error *err);

/* An in-memory sink, capped at limit bytes (PQF_ERR_LIMIT past it). The bytes
 * stay readable with pqf_ostream_mem_data() until free. */
pqf_err pqf_ostream_mem(size_t limit, pqf_ostream **out, pqf_error *err);
const uint8_t *pqf_ostream_mem_data(const pqf_ostream *s, size_t *len);

/* ---- random-access input --------------------------------------------------- */

typedef struct pqf_istream pqf_istream;

typedef struct pqf_istream_vt {
    /* Read exactly len bytes at offset off (a short read is an error). */
    pqf_err (*read_at)(void *impl, uint64_t off, void *buf, size_t len, pqf_error *err);
    void (*destroy)(void *impl);
} pqf_istream_vt;

/* Wrap an implementation of known total size; takes ownership of impl.
 * name is used in error messages (copied). */
pqf_istream *pqf_istream_create(const pqf_istream_vt *vt, void *impl, uint64_t size,
                                const char *name);
pqf_err pqf_istream_read_at(pqf_istream *s, uint64_t off, void *buf, size_t len);
uint64_t pqf_istream_size(const pqf_istream *s);
const char *pqf_istream_name(const pqf_istream *s);
const pqf_error *pqf_istream_error(const pqf_istream *s);
/* Bytes read and read calls so far (to prove a reader fetched only what it needed). */
uint64_t pqf_istream_bytes_read(const pqf_istream *s);
uint64_t pqf_istream_reads(const pqf_istream *s);
void pqf_istream_free(pqf_istream *s);

/* A local file (pread). */
pqf_err pqf_istream_file(const char *path, pqf_istream **out, pqf_error *err);
/* A caller-owned memory region that must outlive the stream. */
pqf_err pqf_istream_mem(const void *data, size_t len, const char *name, pqf_istream **out,
                        pqf_error *err);

#ifdef __cplusplus
}
#endif
#endif
