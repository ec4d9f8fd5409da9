/* Internal: AWS Signature Version 4 (header and query signing).
 *
 * Written here rather than taken from libcurl's CURLOPT_AWS_SIGV4 because we
 * need the signed-payload mode with our own hashes, presigned URLs, session
 * tokens and the published test suite, which curl's built-in does not cover. */
#ifndef PQF_STORE_SIGV4_H
#define PQF_STORE_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "pqfeed/error.h"

#define PQF__SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define PQF__UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

typedef struct pqf__sigv4_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" without */
} pqf__sigv4_creds;

typedef struct pqf__sigv4_header {
    const char *name;  /* any case */
    const char *value; /* raw; trimmed and space-collapsed when signing */
} pqf__sigv4_header;

typedef struct pqf__sigv4_req {
    const char *method;
    /* Decoded path ("/bucket/my key"). It is URI-encoded once (segment by
     * segment, '/' kept) for the canonical request. */
    const char *path;
    /* Query string without '?' ("a=1&b"), percent-encoded or raw; each key and
     * value is decoded, then encoded strictly, then sorted. NULL: none. */
    const char *query;
    const pqf__sigv4_header *headers; /* the headers to sign (include host) */
    size_t nheaders;
    const char *payload_hash; /* hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
    const char *region;
    const char *service;  /* "s3" */
    const char *amz_date; /* "20150830T123600Z" */
    /* S3 signs the path as sent; other services normalise it first
     * (collapse "//", resolve "." and ".."). */
    bool normalize_path;
} pqf__sigv4_req;

/* Build the canonical request, the string to sign and the Authorization header
 * value ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...").
 * creq and sts may be NULL (tests pass buffers to compare them). authz is
 * capped by its limit. */
pqf_err pqf__sigv4_sign(const pqf__sigv4_req *r, const pqf__sigv4_creds *c, pqf__buf *authz,
                        pqf__buf *creq, pqf__buf *sts, pqf_error *err);

/* Query-string authentication ("presigned URL"): appends the X-Amz-* query
 * parameters and X-Amz-Signature to *query_out (a canonical query string
 * including any in r->query). Signs host only, UNSIGNED-PAYLOAD. */
pqf_err pqf__sigv4_presign(const pqf__sigv4_req *r, const pqf__sigv4_creds *c, unsigned expires,
                           pqf__buf *query_out, pqf_error *err);

/* Signature (hex, 64 chars + NUL) of a string to sign, scoped to date8
 * ("YYYYMMDD"), region and service. */
void pqf__sigv4_signature(const char *secret, const char *date8, const char *region,
                          const char *service, const char *sts, size_t sts_len, char hex[65]);

/* Percent-encode per SigV4 (unreserved A-Z a-z 0-9 - . _ ~ kept); with
 * keep_slash, '/' is kept too (paths). */
pqf_err pqf__uri_encode(pqf__buf *out, const char *s, size_t n, bool keep_slash);

/* "YYYYMMDDTHHMMSSZ" for Unix time t. out holds 17 bytes. */
void pqf__amz_date(long long t, char out[17]);

#endif
