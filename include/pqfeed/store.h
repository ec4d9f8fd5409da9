/* pqfeed — object stores.
 *
 * A store is where objects live: a local directory ("file:///path" or a plain
 * path) or an S3 bucket ("s3://bucket/prefix", AWS or any S3-compatible
 * endpoint). Every command, the exporter and the replicator work through this
 * one small interface, so they treat both alike.
 *
 * Keys are relative to the store's root (the directory, or the URI's prefix):
 * the object "s3://b/feed/t/_log/1.json" of the store "s3://b/feed" has the
 * key "t/_log/1.json". Keys use '/' and never start with it.
 *
 * Ownership: a pqf_store is created by pqf_store_open() and freed by
 * pqf_store_free(). Streams returned by put/get belong to the caller and must
 * be freed before the store. Every function takes a caller-owned pqf_error
 * and returns its code. A store may be used from several threads at once,
 * each call with its own streams.
 *
 * Secrets (secret keys, session tokens, SSE-C keys) never appear in error
 * messages or logs.
 */
#ifndef PQFEED_STORE_H
#define PQFEED_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pqf_store pqf_store;

typedef enum pqf_addressing {
    PQF_ADDR_AUTO = 0,   /* virtual-hosted on AWS with a DNS-safe bucket, else path-style */
    PQF_ADDR_PATH = 1,   /* https://endpoint/bucket/key */
    PQF_ADDR_VIRTUAL = 2 /* https://bucket.endpoint/key */
} pqf_addressing;

typedef enum pqf_sse {
    PQF_SSE_NONE = 0,
    PQF_SSE_S3 = 1,  /* x-amz-server-side-encryption: AES256 */
    PQF_SSE_KMS = 2, /* aws:kms with sse_kms_key_id and sse_kms_context */
    PQF_SSE_C = 3    /* customer key read from sse_c_key_file (32 raw bytes) */
} pqf_sse;

/* How to reach a store. Zero-initialise; every field is optional. Strings are
 * copied by pqf_store_open(). Unset S3 fields fall back to what AWS's tools
 * read: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION / AWS_DEFAULT_REGION,
 * AWS_PROFILE, AWS_CA_BUNDLE, AWS_MAX_ATTEMPTS, ~/.aws/config and
 * ~/.aws/credentials. Local stores ignore the S3 fields. */
typedef struct pqf_store_options {
    const char *endpoint_url; /* "http://127.0.0.1:8000"; NULL: env, config, AWS */
    const char *region;       /* NULL: env, profile, "us-east-1" */
    const char *profile;      /* NULL: AWS_PROFILE or "default" */
    const char *ca_bundle;    /* PEM file of trusted CAs; NULL: AWS_CA_BUNDLE or system */
    bool insecure;            /* do not verify TLS certificates (prints a warning) */
    bool no_sign;             /* anonymous requests (public buckets) */
    /* Over plain HTTP, sign each upload's payload SHA-256 as well as its
     * Content-MD5 (default: UNSIGNED-PAYLOAD with the signed Content-MD5, as
     * over TLS). */
    bool sign_payload;
    pqf_addressing addressing;
    /* Explicit credentials: first in the chain when access_key_id is set. */
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;
    unsigned concurrency; /* parallel requests per transfer; 0: 8 */
    uint64_t part_size;   /* multipart part size; 0: 8 MiB, grown so 10,000 parts suffice */
    /* Server-side copies larger than this use UploadPartCopy; 0: 5 GiB. (Streams
     * go multipart once they outgrow one part.) */
    uint64_t multipart_threshold;
    unsigned max_attempts;      /* per request, first try included; 0: env or 5 */
    unsigned retry_base_ms;     /* backoff base; 0: 100 ms (full jitter, capped at 20 s) */
    unsigned connect_timeout_s; /* 0: 10 s */
    unsigned read_timeout_s;    /* no byte for this long aborts an attempt; 0: 60 s */
    /* Encryption applied to every put (and needed again to read SSE-C objects). */
    pqf_sse sse;
    const char *sse_kms_key_id;  /* PQF_SSE_KMS: key id; NULL: server default */
    const char *sse_kms_context; /* PQF_SSE_KMS: JSON object, sent base64-encoded */
    const char *sse_c_key_file;  /* PQF_SSE_C: file holding the 32-byte key */
} pqf_store_options;

/* Open the store named by uri ("s3://bucket[/prefix]", "file:///dir", or a
 * path). opt may be NULL. Local directories are created on first put. On
 * success *out is a new store (free with pqf_store_free). Fails with
 * PQF_ERR_INVALID_ARG on a malformed URI, PQF_ERR_AUTH when no credentials are
 * found for S3 (unless no_sign). */
pqf_err pqf_store_open(const char *uri, const pqf_store_options *opt, pqf_store **out,
                       pqf_error *err);
void pqf_store_free(pqf_store *s); /* NULL is fine */
/* The URI of the store's root, normalised ("s3://b/prefix", "file:///abs"). */
const char *pqf_store_uri(const pqf_store *s);
/* True for S3 stores. */
bool pqf_store_is_s3(const pqf_store *s);

/* What a head or a listing knows about one object. All strings are
 * NUL-terminated and empty when unknown. In list callbacks, key points into
 * the listing and is valid only during the callback. */
typedef struct pqf_object_info {
    const char *key; /* relative to the store root */
    uint64_t size;
    int64_t mtime_ms;         /* last modified, Unix milliseconds */
    char etag[72];            /* without quotes; "<md5hex>" or "<md5hex>-<parts>" */
    char version_id[136];     /* versioned buckets */
    char checksum_crc32c[16]; /* base64, when the server returns one */
    char checksum_sha256[48]; /* base64 */
    char content_type[96];
    char sse[16];          /* "AES256", "aws:kms", "SSE-C" or "" */
    bool is_prefix;        /* listing with a delimiter: a common prefix */
    bool is_delete_marker; /* version listings */
    bool is_latest;        /* version listings */
    /* S3: the part layout pqfeed recorded at upload (x-amz-meta-pqfeed-part-size):
     * part 1's size in bytes (0: none recorded), doubling every 1,000 parts when
     * part_doubling (streams of unknown length). */
    uint64_t part_size;
    bool part_doubling;
    /* get_to: how many multipart layouts were hashed to check the ETag (0: no
     * multipart check; 1 when the recorded layout was used). */
    unsigned etag_layouts_tried;
} pqf_object_info;

/* ---- writing --------------------------------------------------------------- */

typedef struct pqf_put_options {
    bool if_absent;       /* fail with PQF_ERR_EXISTS when the key exists */
    const char *if_match; /* ETag: fail with PQF_ERR_PRECONDITION unless current */
    const char *content_type;
    uint64_t size_hint;   /* expected length (0: unknown); sizes the parts */
    bool checksum_crc32c; /* send x-amz-checksum-crc32c (single part) */
    bool checksum_sha256; /* send x-amz-checksum-sha256 (single part) */
    /* The SHA-256 (64 lowercase hex digits) of all the bytes that will be
     * written, when the caller knows it (replication: the commit's, checked
     * before it commits the put). A single-part put that signs its payload
     * (plain HTTP with sign_payload) signs it instead of hashing the bytes
     * again; a wrong value
     * makes the server refuse the put (XAmzContentSHA256Mismatch), never
     * store other bytes. Copied at open. NULL: hashed as usual. */
    const char *payload_sha256;
    /* Continue the interrupted multipart upload with this id: parts already
     * stored (per ListParts, verified by MD5) are not sent again. The data
     * written must be the same bytes as before. */
    const char *resume_upload_id;
    /* pqf_store_copy, server-side: copy only while the source's ETag is this
     * one (x-amz-copy-source-if-match), else PQF_ERR_PRECONDITION. */
    const char *copy_source_if_match;
    /* Filled at commit: etag, version id, size. May be NULL. Must outlive
     * the stream. A server-side copy fills etag (and checksum_sha256 when
     * the server returns one) from the CopyObject answer, and size with the
     * size it was told (size_hint) or found by HEAD. */
    pqf_object_info *result;
    /* Local stores, plain puts only (S3: ignored): commit writes and closes
     * the temporary but leaves it unsynced under its temporary name; the next
     * pqf_store_sync() makes every such file durable with one syncfs(2), then
     * renames them into place and fsyncs their directories. A crash before
     * then leaves only temporaries (never a partial file under the key). At
     * most 1,024 files wait: the commit that fills the batch syncs it. */
    bool defer_sync;
} pqf_put_options;

/* Start writing key. Bytes written to *out are buffered up to one part; a
 * stream that ends before the multipart threshold is sent as one PUT, a
 * longer one as a multipart upload whose parts go in parallel (memory at most
 * part size x concurrency). Every request carries the payload's SHA-256 and
 * Content-MD5, and every returned ETag is checked. Nothing is visible until
 * pqf_ostream_commit() succeeds; abort (or free without commit) aborts the
 * multipart upload. Locally: a temporary file, fsynced and renamed (if_absent:
 * linked, so exactly one racer wins). opt may be NULL. */
pqf_err pqf_store_put(pqf_store *s, const char *key, const pqf_put_options *opt, pqf_ostream **out,
                      pqf_error *err);
/* put of a memory buffer in one call. */
pqf_err pqf_store_put_bytes(pqf_store *s, const char *key, const void *data, size_t len,
                            const pqf_put_options *opt, pqf_error *err);
/* Finish the puts committed with defer_sync (see above); thread-safe. A store
 * freed before this removes their temporaries. No-op for S3 stores. */
pqf_err pqf_store_sync(pqf_store *s, pqf_error *err);

/* ---- reading --------------------------------------------------------------- */

typedef struct pqf_get_options {
    const char *version_id; /* a given version (versioned S3 buckets) */
    const char *if_match;   /* ETag the object must still have (else PQF_ERR_PRECONDITION) */
    uint64_t offset;        /* get_to: start here */
    uint64_t length;        /* get_to: this many bytes; 0: to the end */
    uint64_t size_hint;     /* get_to: the expected size (from a listing); a smaller object
                             * gets a first buffer of that size, not a whole part. 0: unknown */
    bool no_etag_check;     /* get_to: the caller checks the bytes itself (replication: their
                             * SHA-256 against the commit's), so they are not hashed for the
                             * ETag check (one MD5, or up to 8 multipart layouts, per byte) */
} pqf_get_options;

/* Random access: *out reads the object with ranged GETs (locally pread). The
 * object's ETag is pinned at open, so every read comes from the same version
 * (a replaced object gives PQF_ERR_PRECONDITION, never mixed bytes). info (may
 * be NULL) receives the head. opt may be NULL. */
pqf_err pqf_store_open_read(pqf_store *s, const char *key, const pqf_get_options *opt,
                            pqf_istream **out, pqf_object_info *info, pqf_error *err);
/* Stream the object (or a range) into dst, fetching parts in parallel and
 * writing them in order (memory: part size x (concurrency + 1)); dst is
 * written, not committed. A whole object is checked against its ETag (MD5,
 * or the MD5 of part MD5s for a multipart ETag): PQF_ERR_CHECKSUM when the
 * bytes do not match, after all of them were written to dst (so do not
 * commit it then). info may be NULL. */
pqf_err pqf_store_get_to(pqf_store *s, const char *key, const pqf_get_options *opt,
                         pqf_ostream *dst, pqf_object_info *info, pqf_error *err);
/* Read a whole object into a malloc'd buffer of at most limit bytes
 * (PQF_ERR_LIMIT beyond). *data is NUL-terminated; free() it. */
pqf_err pqf_store_get_bytes(pqf_store *s, const char *key, const pqf_get_options *opt, size_t limit,
                            uint8_t **data, size_t *len, pqf_error *err);
/* Metadata of one object (PQF_ERR_NOT_FOUND when absent). info->key is NULL. */
pqf_err pqf_store_head(pqf_store *s, const char *key, const pqf_get_options *opt,
                       pqf_object_info *info, pqf_error *err);

/* ---- listing --------------------------------------------------------------- */

/* Called once per object (or common prefix) in key order. Return false to
 * stop early (pqf_store_list then returns PQF_OK). */
typedef bool (*pqf_list_cb)(void *ud, const pqf_object_info *info);

typedef struct pqf_list_options {
    const char *delimiter;   /* "/" groups keys into common prefixes; NULL: flat */
    const char *start_after; /* keys after this one */
    unsigned page_size;      /* keys per request; 0: 1000 */
    uint64_t max_keys;       /* stop after this many entries; 0: all */
} pqf_list_options;

/* List keys starting with prefix (may be "" or NULL), paging through the
 * server's continuation tokens. opt may be NULL. */
pqf_err pqf_store_list(pqf_store *s, const char *prefix, const pqf_list_options *opt,
                       pqf_list_cb cb, void *ud, pqf_error *err);

/* ---- deleting and copying -------------------------------------------------- */

/* Delete key (a missing key is not an error). version_id may be NULL; given,
 * that version (or delete marker) is removed for good. */
pqf_err pqf_store_delete(pqf_store *s, const char *key, const char *version_id, pqf_error *err);
/* Delete up to any number of keys, 1000 per request (DeleteObjects). The
 * first failure is reported; *deleted (may be NULL) counts the successes. */
pqf_err pqf_store_delete_many(pqf_store *s, const char *const *keys, size_t n, size_t *deleted,
                              pqf_error *err);

/* Copy src_key of src into dst_key of dst. Same S3 endpoint and credentials:
 * server-side (CopyObject; UploadPartCopy in parallel parts beyond 5 GiB);
 * otherwise a streamed get into a put. opt applies to the destination. */
pqf_err pqf_store_copy(pqf_store *src, const char *src_key, pqf_store *dst, const char *dst_key,
                       const pqf_put_options *opt, pqf_error *err);

/* ---- versioning (S3) ------------------------------------------------------- */

typedef enum pqf_versioning {
    PQF_VERSIONING_OFF = 0, /* never enabled */
    PQF_VERSIONING_ENABLED = 1,
    PQF_VERSIONING_SUSPENDED = 2
} pqf_versioning;

pqf_err pqf_store_get_versioning(pqf_store *s, pqf_versioning *out, pqf_error *err);
/* ENABLED or SUSPENDED. */
pqf_err pqf_store_set_versioning(pqf_store *s, pqf_versioning v, pqf_error *err);
/* Every version and delete marker of keys under prefix, newest first per key
 * (ListObjectVersions). Local stores: PQF_ERR_UNSUPPORTED. */
pqf_err pqf_store_list_versions(pqf_store *s, const char *prefix, pqf_list_cb cb, void *ud,
                                pqf_error *err);

/* ---- multipart uploads left behind (S3) ------------------------------------ */

typedef struct pqf_upload_info {
    const char *key;       /* relative to the store root; valid during the callback */
    const char *upload_id; /* valid during the callback */
    int64_t initiated_ms;
} pqf_upload_info;
typedef bool (*pqf_upload_cb)(void *ud, const pqf_upload_info *info);

/* Unfinished multipart uploads under prefix. Local stores list none. */
pqf_err pqf_store_list_uploads(pqf_store *s, const char *prefix, pqf_upload_cb cb, void *ud,
                               pqf_error *err);
pqf_err pqf_store_abort_upload(pqf_store *s, const char *key, const char *upload_id,
                               pqf_error *err);

/* ---- misc ------------------------------------------------------------------ */

/* A presigned URL (SigV4 query auth) for method ("GET", "PUT") on key, valid
 * for expires_s seconds (1..604800). *url is malloc'd. S3 only. */
pqf_err pqf_store_presign(pqf_store *s, const char *method, const char *key, unsigned expires_s,
                          char **url, pqf_error *err);

/* Transfer counters since open (for progress bars and metrics). */
typedef struct pqf_store_stats {
    uint64_t requests, retries, bytes_up, bytes_down;
} pqf_store_stats;
void pqf_store_get_stats(const pqf_store *s, pqf_store_stats *out);

/* Part size put starts with for a stream of about size bytes (0: unknown),
 * given the configured part size (0: 8 MiB): the smallest multiple of 1 MiB,
 * at least the configured size and 5 MiB, such that 10,000 parts hold size
 * bytes. With an unknown size, parts double in size every 1,000 parts, so
 * 10,000 parts reach past S3's 5 TiB object limit while a stream of a few GiB
 * keeps memory at part size x concurrency. */
uint64_t pqf_store_part_size(uint64_t configured, uint64_t size);

#ifdef __cplusplus
}
#endif
#endif
