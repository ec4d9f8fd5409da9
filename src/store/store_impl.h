/* Internal: the store vtable behind include/pqfeed/store.h. Each store
 * implementation embeds struct pqf_store as its first member. A NULL hook
 * means the operation is unsupported by that kind of store. */
#ifndef PQF_STORE_STORE_IMPL_H
#define PQF_STORE_STORE_IMPL_H

#include <stdatomic.h>

#include "pqfeed/store.h"

typedef struct pqf__store_vt {
    const char *kind; /* "file", "s3" */
    pqf_err (*put)(pqf_store *s, const char *key, const pqf_put_options *opt, pqf_ostream **out,
                   pqf_error *err);
    pqf_err (*open_read)(pqf_store *s, const char *key, const pqf_get_options *opt,
                         pqf_istream **out, pqf_object_info *info, pqf_error *err);
    pqf_err (*get_to)(pqf_store *s, const char *key, const pqf_get_options *opt, pqf_ostream *dst,
                      pqf_object_info *info, pqf_error *err);
    pqf_err (*head)(pqf_store *s, const char *key, const pqf_get_options *opt,
                    pqf_object_info *info, pqf_error *err);
    pqf_err (*list)(pqf_store *s, const char *prefix, const pqf_list_options *opt, pqf_list_cb cb,
                    void *ud, pqf_error *err);
    pqf_err (*del)(pqf_store *s, const char *key, const char *version_id, pqf_error *err);
    pqf_err (*del_many)(pqf_store *s, const char *const *keys, size_t n, size_t *deleted,
                        pqf_error *err);
    /* Server-side copy when both stores allow it; PQF_ERR_UNSUPPORTED makes
     * the caller fall back to get + put. */
    pqf_err (*copy)(pqf_store *src, const char *src_key, pqf_store *dst, const char *dst_key,
                    const pqf_put_options *opt, pqf_error *err);
    pqf_err (*get_versioning)(pqf_store *s, pqf_versioning *out, pqf_error *err);
    pqf_err (*set_versioning)(pqf_store *s, pqf_versioning v, pqf_error *err);
    pqf_err (*list_versions)(pqf_store *s, const char *prefix, pqf_list_cb cb, void *ud,
                             pqf_error *err);
    pqf_err (*list_uploads)(pqf_store *s, const char *prefix, pqf_upload_cb cb, void *ud,
                            pqf_error *err);
    pqf_err (*abort_upload)(pqf_store *s, const char *key, const char *upload_id, pqf_error *err);
    pqf_err (*presign)(pqf_store *s, const char *method, const char *key, unsigned expires_s,
                       char **url, pqf_error *err);
    pqf_err (*sync)(pqf_store *s, pqf_error *err); /* deferred puts; NULL: none */
    void (*destroy)(pqf_store *s);
} pqf__store_vt;

struct pqf_store {
    const pqf__store_vt *vt;
    char *uri;
    atomic_uint_fast64_t requests, retries, bytes_up, bytes_down;
};

/* Constructors, called by pqf_store_open() with the URI's parts. */
pqf_err pqf__store_file_open(const char *dir, const pqf_store_options *opt, pqf_store **out,
                             pqf_error *err);
pqf_err pqf__store_s3_open(const char *bucket, const char *prefix, const pqf_store_options *opt,
                           pqf_store **out, pqf_error *err);

/* Key checks shared by both stores: non-empty, no leading '/', at most 1024
 * bytes, no NUL; no "." or ".." segments (they would escape a directory). */
pqf_err pqf__store_check_key(const char *key, pqf_error *err);

/* A signed request to an S3 store's bucket with a query subresource
 * ("versioning", "lifecycle", "policy", "encryption", "publicAccessBlock",
 * "replication", "object-lock", "ownershipControls"), for bucket
 * configuration (src/store/bucket.c). method is "GET", "PUT" or "DELETE";
 * body (may be NULL) is sent with Content-MD5. The response is kept in out
 * whatever the status: out->status (0 when no response arrived), out->code
 * (the S3 error code, "" on 2xx) and out->body (malloc'd, NUL-terminated, at
 * most cap bytes; free() it; NULL when empty). Returns PQF_OK on 2xx, else
 * the mapped error with a message naming the call (never a secret).
 * PQF_ERR_UNSUPPORTED for a non-S3 store. */
typedef struct pqf__s3_resp {
    long status;
    char code[64];
    char *body;
    size_t len;
} pqf__s3_resp;
pqf_err pqf__s3_bucket_call(pqf_store *s, const char *method, const char *subresource,
                            const char *body, size_t len, size_t cap, pqf__s3_resp *out,
                            pqf_error *err);
/* "bucket" and "prefix/" ("" or ending in '/') of an S3 store; NULL for others. */
const char *pqf__s3_bucket_name(const pqf_store *s);
const char *pqf__s3_prefix(const pqf_store *s);

#endif
