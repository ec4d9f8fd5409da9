/* The S3 store: AWS S3 and compatible servers (Ceph RGW, MinIO, R2, ...).
 *
 * Requests go through the HTTP engine (http.c: libcurl multi, retries) and
 * are signed per attempt with SigV4 (sigv4.c). XML bodies are read with the
 * streaming reader (xml.c). Every upload carries a signed Content-MD5 and
 * UNSIGNED-PAYLOAD, as the AWS SDKs do over TLS; over plain HTTP the signed
 * MD5 still binds the bytes to the signature (a second preimage of MD5 is out
 * of reach), and sign_payload adds the signed SHA-256 (one more hash per byte
 * on both ends). Returned ETags are checked:
 * the part MD5 for each part and for single PUTs, MD5-of-MD5s for multipart. */
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/crash.h"
#include "base/fsutil.h"
#include "base/hash.h"
#include "base/md5mb.h"
#include "store/creds.h"
#include "store/http.h"
#include "store/sigv4.h"
#include "store/store_impl.h"
#include "store/xml.h"

#define MIB (1ull << 20)
#define XML_RESP_LIMIT (16u << 20)
#define ERR_RESP_LIMIT (64u << 10)
#define MAX_HDRS 20
#define MAX_PARTS 10000

typedef struct s3_store {
    struct pqf_store base;
    char *bucket;
    char *prefix;      /* "" or ending in '/' */
    char *scheme;      /* "http" / "https" */
    char *host;        /* Host header */
    char *url_base;    /* scheme://host[/bucket] */
    char *path_base;   /* "/bucket" (path style) or "" */
    char *endpoint_id; /* identity for server-side copy: endpoint + region */
    char *region;
    char *profile;
    bool no_sign, tls, sign_payload;
    pthread_mutex_t cmu;
    pqf__creds creds;
    pqf__http *http;
    unsigned concurrency;
    uint64_t part_size, copy_threshold;
    pqf_sse sse;
    char *kms_key_id;
    char *kms_context_b64;
    char ssec_key_b64[48], ssec_md5_b64[32];
    /* The server compares a write's If-Match with its stored ETag as is, so
     * the RFC 7232 quoted form never matches (Ceph RGW 16: GET and HEAD
     * unquote, PUT does not). Learned once per store, see put_single. */
    atomic_bool unquoted_if_match;
} s3_store;

/* ---- small helpers ------------------------------------------------------------ */

static void b64(const uint8_t *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static void md5(const void *data, size_t n, uint8_t out[16])
{
    unsigned int ol = 16;
    EVP_Digest(data, n, out, &ol, EVP_md5(), NULL);
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void strip_quotes(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in);
    if (n >= 2 && in[0] == '"' && in[n - 1] == '"') {
        in++;
        n -= 2;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(out, in, n);
    out[n] = 0;
}

static int64_t parse_http_date(const char *s)
{
    struct tm tm = {0};
    if (!s || !strptime(s, "%a, %d %b %Y %H:%M:%S", &tm))
        return 0;
    return (int64_t)timegm(&tm) * 1000;
}

static int64_t parse_iso(const char *s)
{
    struct tm tm = {0};
    const char *e = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!e)
        return 0;
    int64_t ms = 0;
    if (*e == '.') {
        int mul = 100;
        for (e++; isdigit((unsigned char)*e); e++, mul /= 10)
            ms += (*e - '0') * mul;
    }
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static pqf_err xml_escape(pqf__buf *b, const char *s)
{
    pqf_err rc = PQF_OK;
    for (; *s && rc == PQF_OK; s++) {
        switch (*s) {
        case '&':
            rc = pqf__buf_printf(b, "&amp;");
            break;
        case '<':
            rc = pqf__buf_printf(b, "&lt;");
            break;
        case '>':
            rc = pqf__buf_printf(b, "&gt;");
            break;
        case '"':
            rc = pqf__buf_printf(b, "&quot;");
            break;
        case '\'':
            rc = pqf__buf_printf(b, "&apos;");
            break;
        default:
            rc = pqf__buf_append_byte(b, (uint8_t)*s);
        }
    }
    return rc;
}

/* An XML answer of which one element's text is wanted: the element's path,
 * and where its text goes (cap bytes; ETags with their quotes stripped). */
typedef struct leaf_xml {
    const char *path;
    char *out;
    size_t cap;
    bool unquote;
} leaf_xml;

static bool leaf_end(void *ud, const char *path, const char *text, size_t len)
{
    leaf_xml *x = ud;
    (void)len;
    if (strcmp(path, x->path) != 0)
        return true;
    if (x->unquote)
        strip_quotes(text, x->out, x->cap);
    else
        snprintf(x->out, x->cap, "%s", text);
    return true;
}

/* ---- one S3 call ---------------------------------------------------------------- */

typedef struct s3_call {
    pqf__http_req http; /* first: the engine hands it back to sign() */
    s3_store *s;
    char *path;  /* decoded, as signed */
    char *query; /* canonical, encoded */
    char *url;
    char *hname[MAX_HDRS], *hval[MAX_HDRS];
    size_t nh;
    char payload_hash[65];
    char what[160]; /* "PUT s3://b/k" for messages */
} s3_call;

static void call_free(s3_call *c)
{
    if (!c)
        return;
    pqf__http_req_free(&c->http);
    free(c->path);
    free(c->query);
    free(c->url);
    for (size_t i = 0; i < c->nh; i++) {
        free(c->hname[i]);
        if (c->hval[i])
            memset(c->hval[i], 0, strlen(c->hval[i])); /* may be an SSE-C key */
        free(c->hval[i]);
    }
    memset(c, 0, sizeof *c);
}

/* Ends the download slots: waits for the calls still in flight, frees each
 * call and part buffer, then the arrays (busy stays the caller's). */
static void slots_free(s3_store *s, s3_call *calls, const bool *busy, uint8_t **bufs,
                       unsigned nslots)
{
    for (unsigned i = 0; calls && i < nslots; i++) {
        if (busy && busy[i])
            pqf__http_wait(s->http, &calls[i].http);
        call_free(&calls[i]);
        if (bufs)
            free(bufs[i]);
    }
    free(calls);
    free(bufs);
}

/* Appends the header line "name: value" (vlen bytes of value) to *l,
 * formatted in line (the caller wipes it: it may hold a key or the
 * signature). */
static pqf_err slist_hdr(struct curl_slist **l, pqf__buf *line, const char *name, const char *value,
                         size_t vlen, const s3_call *c, pqf_error *err)
{
    pqf__buf_reset(line);
    if (pqf__buf_printf(line, "%s: %.*s", name, (int)vlen, value) != PQF_OK ||
        pqf__buf_cstr(line) != PQF_OK)
        return pqf_error_set(err, PQF_ERR_LIMIT, "%s: header too long", c->what);
    struct curl_slist *nl = curl_slist_append(*l, (char *)line->data);
    if (!nl)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    *l = nl;
    return PQF_OK;
}

static pqf_err sign_cb(void *ud, pqf__http_req *r, struct curl_slist **out, pqf_error *err)
{
    s3_call *c = (s3_call *)r;
    (void)ud;
    s3_store *s = c->s;
    pqf_err rc = PQF_OK;
    pqf__sigv4_header h[MAX_HDRS + 4];
    size_t n = 0;
    char date[17];
    pqf__buf authz, line;
    pqf__buf_init(&authz, 4096);
    pqf__buf_init(&line, 16 << 10);
    struct curl_slist *l = NULL;
    pqf__amz_date((long long)time(NULL), date);
    h[n++] = (pqf__sigv4_header){"host", s->host};
    h[n++] = (pqf__sigv4_header){"x-amz-date", date};
    h[n++] = (pqf__sigv4_header){"x-amz-content-sha256", c->payload_hash};
    for (size_t i = 0; i < c->nh; i++)
        h[n++] = (pqf__sigv4_header){c->hname[i], c->hval[i]};
    pthread_mutex_lock(&s->cmu);
    if (!s->no_sign && s->creds.expires && (int64_t)time(NULL) > s->creds.expires - 300) {
        pqf__creds fresh;
        pqf_store_options o = {.profile = s->profile};
        if (pqf__creds_resolve(&o, &fresh, err) == PQF_OK) {
            pqf__creds_clear(&s->creds);
            s->creds = fresh;
        }
    }
    if (!s->no_sign && s->creds.session_token)
        h[n++] = (pqf__sigv4_header){"x-amz-security-token", s->creds.session_token};
    if (!s->no_sign) {
        pqf__sigv4_creds sc = {s->creds.access_key_id, s->creds.secret_access_key,
                               s->creds.session_token};
        pqf__sigv4_req sr = {.method = c->http.method,
                             .path = c->path,
                             .query = c->query,
                             .headers = h,
                             .nheaders = n,
                             .payload_hash = c->payload_hash,
                             .region = s->region,
                             .service = "s3",
                             .amz_date = date};
        rc = pqf__sigv4_sign(&sr, &sc, &authz, NULL, NULL, err);
    }
    pthread_mutex_unlock(&s->cmu);
    if (rc != PQF_OK)
        goto done;
    for (size_t i = 0; i < n; i++)
        PQF_TRY(slist_hdr(&l, &line, h[i].name, h[i].value, strlen(h[i].value), c, err));
    if (!s->no_sign)
        PQF_TRY(slist_hdr(&l, &line, "Authorization", (char *)authz.data, authz.len, c, err));
    *out = l;
    l = NULL;
done:
    curl_slist_free_all(l);
    if (line.data)
        memset(line.data, 0, line.cap);
    pqf__buf_free(&authz);
    pqf__buf_free(&line);
    return rc;
}

/* key: full object key (with the store prefix) or NULL for the bucket. */
static pqf_err call_init(s3_call *c, s3_store *s, const char *method, const char *key,
                         const char *query, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf p, u;
    memset(c, 0, sizeof *c);
    pqf__buf_init(&p, 8192);
    pqf__buf_init(&u, 16384);
    c->s = s;
    c->http.method = method;
    c->http.sign = sign_cb;
    c->http.resp_limit = ERR_RESP_LIMIT;
    snprintf(c->payload_hash, sizeof c->payload_hash, "%s", PQF__SHA256_EMPTY);
    snprintf(c->what, sizeof c->what, "%s s3://%s/%s", method, s->bucket, key ? key : "");
    if (pqf__buf_printf(&p, "%s/%s", s->path_base, key ? key : "") != PQF_OK ||
        pqf__buf_cstr(&p) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_LIMIT, "%s: key too long", c->what);
    if (pqf__buf_printf(&u, "%s://%s", s->scheme, s->host) != PQF_OK ||
        pqf__uri_encode(&u, (char *)p.data, p.len, true) != PQF_OK ||
        (query && *query && pqf__buf_printf(&u, "?%s", query) != PQF_OK) ||
        pqf__buf_cstr(&u) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_LIMIT, "%s: URL too long", c->what);
    c->path = (char *)pqf__buf_steal(&p, NULL);
    c->url = (char *)pqf__buf_steal(&u, NULL);
    c->query = query ? strdup(query) : NULL;
    if (query && !c->query)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    c->http.url = c->url;
done:
    pqf__buf_free(&p);
    pqf__buf_free(&u);
    return rc;
}

static pqf_err call_hdr(s3_call *c, const char *name, const char *value, pqf_error *err)
{
    if (c->nh == MAX_HDRS)
        return pqf_error_set(err, PQF_ERR_INTERNAL, "%s: too many headers", c->what);
    c->hname[c->nh] = strdup(name);
    c->hval[c->nh] = strdup(value);
    if (!c->hname[c->nh] || !c->hval[c->nh]) {
        free(c->hname[c->nh]);
        free(c->hval[c->nh]);
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    }
    c->nh++;
    return PQF_OK;
}

/* Body with Content-MD5 (md5_out, may be NULL, receives the digest) and the
 * payload hash (UNSIGNED-PAYLOAD, or signed over HTTP with sign_payload; sha_hex:
 * the payload's SHA-256 when the caller knows it, NULL: hashed here). */
static pqf_err call_body_md5(s3_call *c, const uint8_t *data, size_t len, const uint8_t d[16],
                             const char *sha_hex, pqf_error *err)
{
    char m64[32];
    c->http.body = data;
    c->http.body_len = len;
    b64(d, 16, m64);
    if (c->s->tls || !c->s->sign_payload) {
        snprintf(c->payload_hash, sizeof c->payload_hash, "%s", PQF__UNSIGNED_PAYLOAD);
    } else if (sha_hex) {
        snprintf(c->payload_hash, sizeof c->payload_hash, "%s", sha_hex);
    } else {
        uint8_t h[32];
        pqf__sha256(data, len, h);
        pqf__hex(h, 32, c->payload_hash);
    }
    return call_hdr(c, "Content-MD5", m64, err);
}

static pqf_err call_body(s3_call *c, const uint8_t *data, size_t len, uint8_t md5_out[16],
                         pqf_error *err)
{
    uint8_t d[16];
    md5(data, len, d);
    if (md5_out)
        memcpy(md5_out, d, 16);
    return call_body_md5(c, data, len, d, NULL, err);
}

static pqf_err add_ssec(s3_call *c, pqf_error *err)
{
    s3_store *s = c->s;
    pqf_err rc = PQF_OK;
    if (s->sse != PQF_SSE_C)
        return PQF_OK;
    PQF_TRY(call_hdr(c, "x-amz-server-side-encryption-customer-algorithm", "AES256", err));
    PQF_TRY(call_hdr(c, "x-amz-server-side-encryption-customer-key", s->ssec_key_b64, err));
    PQF_TRY(call_hdr(c, "x-amz-server-side-encryption-customer-key-MD5", s->ssec_md5_b64, err));
done:
    return rc;
}

/* Encryption headers for PutObject / CreateMultipartUpload / CopyObject. */
static pqf_err add_sse(s3_call *c, pqf_error *err)
{
    s3_store *s = c->s;
    pqf_err rc = PQF_OK;
    switch (s->sse) {
    case PQF_SSE_S3:
        PQF_TRY(call_hdr(c, "x-amz-server-side-encryption", "AES256", err));
        break;
    case PQF_SSE_KMS:
        PQF_TRY(call_hdr(c, "x-amz-server-side-encryption", "aws:kms", err));
        if (s->kms_key_id)
            PQF_TRY(call_hdr(c, "x-amz-server-side-encryption-aws-kms-key-id", s->kms_key_id, err));
        if (s->kms_context_b64)
            PQF_TRY(call_hdr(c, "x-amz-server-side-encryption-context", s->kms_context_b64, err));
        break;
    case PQF_SSE_C:
        PQF_TRY(add_ssec(c, err));
        break;
    default:
        break;
    }
done:
    return rc;
}

/* ---- errors --------------------------------------------------------------------- */

typedef struct err_xml {
    char code[64], message[256], request_id[128];
} err_xml;

static bool err_end(void *ud, const char *path, const char *text, size_t len)
{
    err_xml *e = ud;
    (void)len;
    if (strcmp(path, "Error/Code") == 0)
        snprintf(e->code, sizeof e->code, "%s", text);
    else if (strcmp(path, "Error/Message") == 0)
        snprintf(e->message, sizeof e->message, "%s", text);
    else if (strcmp(path, "Error/RequestId") == 0)
        snprintf(e->request_id, sizeof e->request_id, "%s", text);
    return true;
}

static pqf_err map_code(long status, const char *code)
{
    static const struct {
        const char *code;
        pqf_err err;
    } map[] = {
        {"NoSuchKey", PQF_ERR_NOT_FOUND},
        {"NoSuchBucket", PQF_ERR_NOT_FOUND},
        {"NoSuchUpload", PQF_ERR_NOT_FOUND},
        {"NoSuchVersion", PQF_ERR_NOT_FOUND},
        {"PreconditionFailed", PQF_ERR_PRECONDITION},
        {"SignatureDoesNotMatch", PQF_ERR_AUTH},
        {"InvalidAccessKeyId", PQF_ERR_AUTH},
        {"AccessDenied", PQF_ERR_AUTH},
        {"ExpiredToken", PQF_ERR_AUTH},
        {"InvalidToken", PQF_ERR_AUTH},
        {"RequestTimeTooSkewed", PQF_ERR_AUTH},
        {"BadDigest", PQF_ERR_CHECKSUM},
        {"InvalidDigest", PQF_ERR_CHECKSUM},
        {"XAmzContentSHA256Mismatch", PQF_ERR_CHECKSUM},
        {"ConditionalRequestConflict", PQF_ERR_CONFLICT},
        {"OperationAborted", PQF_ERR_CONFLICT},
        {"EntityTooLarge", PQF_ERR_LIMIT},
        {"NotImplemented", PQF_ERR_UNSUPPORTED},
        {"InvalidArgument", PQF_ERR_INVALID_ARG},
        {"InvalidRequest", PQF_ERR_INVALID_ARG},
        {"InvalidBucketName", PQF_ERR_INVALID_ARG},
        {"RequestTimeout", PQF_ERR_TIMEOUT},
    };
    for (size_t i = 0; code && *code && i < PQF_ARRAY_LEN(map); i++)
        if (strcmp(code, map[i].code) == 0)
            return map[i].err;
    switch (status) {
    case 404:
        return PQF_ERR_NOT_FOUND;
    case 412:
        return PQF_ERR_PRECONDITION;
    case 401:
    case 403:
        return PQF_ERR_AUTH;
    case 409:
        return PQF_ERR_CONFLICT;
    case 501:
        return PQF_ERR_UNSUPPORTED;
    default:
        return PQF_ERR_REMOTE;
    }
}

/* Turn a finished call into PQF_OK or a pqf_error naming the S3 code, message,
 * request id and attempts. A 200 with an <Error> body (CompleteMultipartUpload,
 * CopyObject) is an error too. */
static pqf_err call_result(s3_call *c, pqf_error *err)
{
    pqf__http_req *r = &c->http;
    if (r->err.code != PQF_OK)
        return pqf_error_set(err, r->err.code, "%s: %s", c->what, r->err.msg);
    if (r->curl_rc == CURLE_PEER_FAILED_VERIFICATION || r->curl_rc == CURLE_SSL_CACERT_BADFILE ||
        r->curl_rc == CURLE_SSL_ISSUER_ERROR || r->curl_rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
        /* The server failed to prove who it is: an authentication failure,
         * never retried. */
        return pqf_error_set(err, PQF_ERR_AUTH,
                             "%s: TLS certificate of %s not verified: %s; trust its CA with "
                             "--ca-bundle FILE or AWS_CA_BUNDLE",
                             c->what, c->s->host,
                             r->curl_err[0] ? r->curl_err : curl_easy_strerror(r->curl_rc));
    if (r->curl_rc != CURLE_OK) {
        pqf_err code = r->curl_rc == CURLE_OPERATION_TIMEDOUT ? PQF_ERR_TIMEOUT : PQF_ERR_NET;
        return pqf_error_set(err, code, "%s: %s (%u attempt%s)", c->what,
                             r->curl_err[0] ? r->curl_err : curl_easy_strerror(r->curl_rc),
                             r->attempts, r->attempts == 1 ? "" : "s");
    }
    bool error_body = r->status == 200 && r->resp.len && !r->dst &&
                      memmem(r->resp.data, PQF_MIN(r->resp.len, (size_t)512), "<Error>", 7);
    if (r->status >= 200 && r->status < 300 && !error_body)
        return PQF_OK;
    err_xml e = {0};
    if (r->resp.len)
        pqf__xml_parse(r->resp.data, r->resp.len, NULL, err_end, &e, NULL);
    if (!e.request_id[0])
        pqf__http_header(r, "x-amz-request-id", e.request_id, sizeof e.request_id);
    if (!e.code[0]) /* HEAD responses have no body: name the status */
        snprintf(e.code, sizeof e.code, "%s",
                 r->status == 403   ? "Forbidden"
                 : r->status == 404 ? "NotFound"
                 : r->status == 412 ? "PreconditionFailed"
                 : r->status == 304 ? "NotModified"
                                    : "error");
    pqf_err code = map_code(r->status, e.code);
    return pqf_error_set(err, code, "%s: %s%s%s (HTTP %ld, request id %s, %u attempt%s)", c->what,
                         e.code[0] ? e.code : "error", e.message[0] ? ": " : "", e.message,
                         r->status, e.request_id[0] ? e.request_id : "-", r->attempts,
                         r->attempts == 1 ? "" : "s");
}

static pqf_err call_run(s3_call *c, pqf_error *err)
{
    pqf__http_run(c->s->http, &c->http);
    return call_result(c, err);
}

static pqf_err full_key(s3_store *s, const char *key, char **out, pqf_error *err)
{
    size_t n = strlen(s->prefix) + strlen(key) + 1;
    *out = malloc(n);
    if (!*out)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    snprintf(*out, n, "%s%s", s->prefix, key);
    return PQF_OK;
}

/* Query builder: "k=v&k2=v2", values encoded. */
static pqf_err q_add(pqf__buf *q, const char *k, const char *v)
{
    pqf_err rc = PQF_OK;
    if (q->len)
        rc = pqf__buf_append_byte(q, '&');
    if (rc == PQF_OK)
        rc = pqf__uri_encode(q, k, strlen(k), false);
    if (rc == PQF_OK && v) {
        rc = pqf__buf_append_byte(q, '=');
        if (rc == PQF_OK)
            rc = pqf__uri_encode(q, v, strlen(v), false);
    }
    if (rc == PQF_OK)
        rc = pqf__buf_cstr(q);
    return rc;
}

/* ---- head ---------------------------------------------------------------------- */

/* The part layout of a multipart upload is recorded in this user metadata,
 * so a download can check the multipart ETag with that one layout instead of
 * inferring candidates: "<bytes>" (equal parts but the last) or "<bytes>
 * doubling" (pqfeed's streams: the part size doubles every 1,000 parts). */
#define PART_SIZE_META "x-amz-meta-pqfeed-part-size"

static void part_meta_value(uint64_t part, bool doubling, char *out, size_t cap)
{
    snprintf(out, cap, "%llu%s", (unsigned long long)part, doubling ? " doubling" : "");
}

/* Anything malformed (or out of S3's part range) is ignored: the ETag is then
 * checked by inference, as for objects other tools wrote. */
static void parse_part_meta(const char *v, pqf_object_info *info)
{
    char *e = NULL;
    if (*v < '0' || *v > '9')
        return;
    unsigned long long n = strtoull(v, &e, 10);
    bool dbl = false;
    if (strcmp(e, " doubling") == 0)
        dbl = true;
    else if (*e)
        return;
    if (n < 1 || n > (5ull << 30))
        return;
    info->part_size = n;
    info->part_doubling = dbl;
}

static void info_from_headers(const pqf__http_req *r, pqf_object_info *info)
{
    char v[256];
    if (pqf__http_header(r, "content-length", v, sizeof v))
        info->size = strtoull(v, NULL, 10);
    if (pqf__http_header(r, "content-range", v, sizeof v)) {
        const char *sl = strchr(v, '/');
        if (sl && sl[1] != '*')
            info->size = strtoull(sl + 1, NULL, 10);
    }
    if (pqf__http_header(r, "etag", v, sizeof v))
        strip_quotes(v, info->etag, sizeof info->etag);
    if (pqf__http_header(r, "last-modified", v, sizeof v))
        info->mtime_ms = parse_http_date(v);
    pqf__http_header(r, "x-amz-version-id", info->version_id, sizeof info->version_id);
    pqf__http_header(r, "x-amz-checksum-crc32c", info->checksum_crc32c,
                     sizeof info->checksum_crc32c);
    pqf__http_header(r, "x-amz-checksum-sha256", info->checksum_sha256,
                     sizeof info->checksum_sha256);
    pqf__http_header(r, "content-type", info->content_type, sizeof info->content_type);
    if (!pqf__http_header(r, "x-amz-server-side-encryption", info->sse, sizeof info->sse) &&
        pqf__http_header(r, "x-amz-server-side-encryption-customer-algorithm", v, sizeof v))
        snprintf(info->sse, sizeof info->sse, "SSE-C");
    if (pqf__http_header(r, "x-amz-delete-marker", v, sizeof v) && strcmp(v, "true") == 0)
        info->is_delete_marker = true;
    if (pqf__http_header(r, PART_SIZE_META, v, sizeof v))
        parse_part_meta(v, info);
}

static pqf_err version_query(const pqf_get_options *opt, char **q, pqf_error *err)
{
    pqf__buf b;
    pqf__buf_init(&b, 4096);
    *q = NULL;
    if (!opt->version_id)
        return PQF_OK;
    if (q_add(&b, "versionId", opt->version_id) != PQF_OK) {
        pqf__buf_free(&b);
        return pqf_error_set(err, PQF_ERR_LIMIT, "version id too long");
    }
    *q = (char *)pqf__buf_steal(&b, NULL);
    return PQF_OK;
}

static pqf_err s3_head(pqf_store *st, const char *key, const pqf_get_options *opt,
                       pqf_object_info *info, pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    s3_call c;
    char *fk = NULL, *q = NULL;
    pqf_err rc = PQF_OK;
    memset(&c, 0, sizeof c);
    PQF_TRY(full_key(s, key, &fk, err));
    PQF_TRY(version_query(opt, &q, err));
    PQF_TRY(call_init(&c, s, "HEAD", fk, q, err));
    if (opt->if_match)
        PQF_TRY(call_hdr(&c, "If-Match", opt->if_match, err));
    PQF_TRY(add_ssec(&c, err));
    PQF_TRY(call_run(&c, err));
    info_from_headers(&c.http, info);
done:
    call_free(&c);
    free(fk);
    free(q);
    return rc;
}

/* ---- ranged GET ------------------------------------------------------------------ */

/* Prepare (not run) a GET of [off, off+len) into dst. */
static pqf_err get_range_init(s3_call *c, s3_store *s, const char *fk, const char *q,
                              const char *etag, uint64_t off, size_t len, uint8_t *dst,
                              pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char range[64];
    PQF_TRY(call_init(c, s, "GET", fk, q, err));
    snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)off,
             (unsigned long long)(off + len - 1));
    PQF_TRY(call_hdr(c, "Range", range, err));
    if (etag && *etag) {
        char quoted[80];
        snprintf(quoted, sizeof quoted, "\"%s\"", etag);
        PQF_TRY(call_hdr(c, "If-Match", quoted, err));
    }
    PQF_TRY(add_ssec(c, err));
    c->http.dst = dst;
    c->http.dst_cap = len;
done:
    return rc;
}

/* Waits for a submitted ranged GET (get_range_init) of len bytes at off and
 * checks that it brought them all; frees the call when it did. */
static pqf_err get_range_wait(s3_store *s, s3_call *c, bool *busy, uint64_t off, size_t len,
                              pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__http_wait(s->http, &c->http);
    *busy = false;
    PQF_TRY(call_result(c, err));
    if (c->http.dst_len != len)
        PQF_FAIL(err, PQF_ERR_NET, "%s: short read at %llu", c->what, (unsigned long long)off);
    call_free(c);
done:
    return rc;
}

typedef struct s3_reader {
    s3_store *s;
    char *fk, *q;
    char etag[72];
} s3_reader;

static pqf_err rd_read_at(void *impl, uint64_t off, void *buf, size_t len, pqf_error *err)
{
    s3_reader *r = impl;
    s3_call c;
    pqf_err rc = PQF_OK;
    memset(&c, 0, sizeof c);
    if (len == 0)
        return PQF_OK;
    PQF_TRY(get_range_init(&c, r->s, r->fk, r->q, r->etag, off, len, buf, err));
    PQF_TRY(call_run(&c, err));
    if (c.http.dst_len != len)
        PQF_FAIL(err, PQF_ERR_NET, "%s: short read (%zu of %zu bytes at %llu)", c.what,
                 c.http.dst_len, len, (unsigned long long)off);
done:
    call_free(&c);
    return rc;
}

static void rd_destroy(void *impl)
{
    s3_reader *r = impl;
    free(r->fk);
    free(r->q);
    free(r);
}

static const pqf_istream_vt s3_reader_vt = {rd_read_at, rd_destroy};

static pqf_err s3_open_read(pqf_store *st, const char *key, const pqf_get_options *opt,
                            pqf_istream **out, pqf_object_info *info, pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_object_info tmp = {0};
    pqf_object_info *inf = info ? info : &tmp;
    pqf_err rc = PQF_OK;
    char name[1200];
    s3_reader *r = calloc(1, sizeof *r);
    if (!r)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    r->s = s;
    memset(inf, 0, sizeof *inf);
    PQF_TRY(s3_head(st, key, opt, inf, err));
    PQF_TRY(full_key(s, key, &r->fk, err));
    PQF_TRY(version_query(opt, &r->q, err));
    snprintf(r->etag, sizeof r->etag, "%s", inf->etag);
    snprintf(name, sizeof name, "s3://%s/%s", s->bucket, r->fk);
    *out = pqf_istream_create(&s3_reader_vt, r, inf->size, name);
    r = NULL;
    if (!*out)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
done:
    if (r)
        rd_destroy(r);
    return rc;
}

/* ---- multipart ETag check on download ---------------------------------------------- */

/* A multipart ETag is MD5(MD5(part 1) .. MD5(part N))-N, so checking it needs
 * the part boundaries, which S3 does not list for a finished object (AWS
 * answers GET ?partNumber=N, Ceph RGW 16 ignores it). They are inferred from
 * N and the size instead: every tool splits an object into equal parts but
 * the last, of a whole number of MiB (awscli, boto3, rclone, mc, pqfeed) or
 * of MB, and pqfeed's streams of unknown length double their part size every
 * 1,000 parts. Each layout of those kinds that fits N parts and the size is
 * hashed as the bytes stream by, likeliest first: the part size pqfeed itself
 * would use, the common defaults (8 MiB: awscli, boto3; 5 MiB: rclone; 16 and
 * 64 MiB), then whole MiB and MB upwards. With many parts only one or two
 * sizes fit at all; a few parts fit more, so at most 8 layouts are hashed up
 * to 64 MiB, 4 up to 1 GiB and 2 beyond, which bounds the MD5 work to that
 * many times the object. The download is good when one layout gives the ETag;
 * it fails when none does and every fitting layout was tried; when more fit
 * than were tried, a mismatch leaves the ETag unverified, as before. */
#define MPV_MAX 8

typedef struct mpv_layout {
    uint64_t part;     /* size of part 1 */
    bool dbl;          /* doubling every 1,000 parts */
    uint64_t part_end; /* offset where the current part ends */
    unsigned cur;      /* current part, 1-based */
    EVP_MD_CTX *pctx, *all;
} mpv_layout;

typedef struct mpv {
    unsigned nparts, n, max;
    bool truncated; /* a fitting layout was not tried */
    bool recorded;  /* the one layout is the recorded one */
    uint64_t total, pos;
    mpv_layout l[MPV_MAX];
} mpv;

static uint64_t mpv_part_size(const mpv_layout *l, unsigned i)
{
    unsigned shift = l->dbl ? (i - 1) / 1000 : 0;
    uint64_t sz = l->part << (shift > 10 ? 10 : shift);
    return sz > (5ull << 30) ? 5ull << 30 : sz;
}

/* End offset of part i (sum of parts 1..i); saturates past the total. */
static uint64_t mpv_end(const mpv_layout *l, unsigned i, uint64_t total)
{
    uint64_t e = 0;
    for (unsigned k = 1; k <= i && e <= total; k++)
        e += mpv_part_size(l, k);
    return e;
}

static void mpv_free(mpv *v)
{
    for (unsigned i = 0; i < v->n; i++) {
        EVP_MD_CTX_free(v->l[i].pctx);
        EVP_MD_CTX_free(v->l[i].all);
    }
    v->n = 0;
}

/* Adds the layout if it fits and there is room. false: out of memory. */
static bool mpv_add(mpv *v, uint64_t part, bool dbl)
{
    if (part < 1)
        return true;
    for (unsigned i = 0; i < v->n; i++)
        if (v->l[i].part == part && v->l[i].dbl == dbl)
            return true;
    mpv_layout t = {.part = part, .dbl = dbl};
    /* N parts must be needed, and enough: parts 1..N-1 end before the total. */
    if (mpv_end(&t, v->nparts - 1, v->total) >= v->total ||
        mpv_end(&t, v->nparts, v->total) < v->total)
        return true;
    if (v->n == v->max) {
        v->truncated = true;
        return true;
    }
    mpv_layout *l = &v->l[v->n];
    *l = t;
    l->pctx = EVP_MD_CTX_new();
    l->all = EVP_MD_CTX_new();
    if (!l->pctx || !l->all) {
        EVP_MD_CTX_free(l->pctx);
        EVP_MD_CTX_free(l->all);
        return false;
    }
    EVP_DigestInit_ex(l->pctx, EVP_md5(), NULL);
    EVP_DigestInit_ex(l->all, EVP_md5(), NULL);
    l->cur = 1;
    l->part_end = PQF_MIN(mpv_part_size(l, 1), v->total);
    v->n++;
    return true;
}

/* Layouts for an object of total bytes in nparts parts; own: the store's
 * part size (what pqfeed starts a stream of unknown length with). false: out
 * of memory. */
static bool mpv_init(mpv *v, unsigned nparts, uint64_t total, uint64_t own,
                     const pqf_object_info *inf)
{
    memset(v, 0, sizeof *v);
    v->nparts = nparts;
    v->total = total;
    v->max = total <= (64ull << 20) ? MPV_MAX : total <= (1ull << 30) ? 4 : 2;
    if (nparts == 1)
        return mpv_add(v, total, false);
    /* The layout pqfeed recorded at upload: hash only that one when it fits
     * N parts and the size (a mismatch then fails the download). */
    if (inf->part_size) {
        v->max = 1;
        if (!mpv_add(v, inf->part_size, inf->part_doubling))
            return false;
        if (v->n == 1) {
            v->recorded = true;
            return true;
        }
        v->max = total <= (64ull << 20) ? MPV_MAX : total <= (1ull << 30) ? 4 : 2;
    }
    if (nparts > 1000 && !mpv_add(v, own, true)) /* pqfeed's streams of unknown length */
        return false;
    const uint64_t mib = 1ull << 20;
    const uint64_t common[] = {pqf_store_part_size(own, total),
                               8 * mib,
                               5 * mib,
                               16 * mib,
                               64 * mib,
                               10 * mib,
                               32 * mib,
                               100 * mib,
                               128 * mib};
    for (size_t i = 0; i < PQF_ARRAY_LEN(common); i++)
        if (!mpv_add(v, common[i], false))
            return false;
    /* Equal parts of P with (N-1)P < total <= NP. */
    uint64_t lo = (total + nparts - 1) / nparts, hi = (total - 1) / (nparts - 1);
    static const uint64_t units[] = {1ull << 20, 1000000};
    for (size_t u = 0; u < PQF_ARRAY_LEN(units); u++)
        for (uint64_t p = (lo + units[u] - 1) / units[u] * units[u]; p <= hi && !v->truncated;
             p += units[u])
            if (!mpv_add(v, p, false))
                return false;
    return true;
}

static void mpv_feed(mpv *v, const uint8_t *d, size_t len)
{
    uint64_t start = v->pos;
    v->pos += len;
    for (unsigned i = 0; i < v->n; i++) {
        mpv_layout *l = &v->l[i];
        uint64_t pos = start;
        const uint8_t *p = d;
        size_t left = len;
        while (left && l->cur <= v->nparts) {
            size_t take = (size_t)PQF_MIN((uint64_t)left, l->part_end - pos);
            EVP_DigestUpdate(l->pctx, p, take);
            p += take;
            pos += take;
            left -= take;
            if (pos == l->part_end) {
                uint8_t md[16];
                unsigned int ml = 16;
                EVP_DigestFinal_ex(l->pctx, md, &ml);
                EVP_DigestUpdate(l->all, md, 16);
                EVP_DigestInit_ex(l->pctx, EVP_md5(), NULL);
                l->cur++;
                l->part_end = l->cur == v->nparts
                                  ? v->total
                                  : PQF_MIN(pos + mpv_part_size(l, l->cur), v->total);
            }
        }
    }
}

/* The layout whose composite MD5 is etag_hex: its part size, or 0 for none. */
static uint64_t mpv_match(mpv *v, const char *etag_hex)
{
    for (unsigned i = 0; i < v->n; i++) {
        mpv_layout *l = &v->l[i];
        if (l->cur != v->nparts + 1)
            continue;
        uint8_t md[16];
        unsigned int ml = 16;
        char hex[33];
        EVP_DigestFinal_ex(l->all, md, &ml);
        pqf__hex(md, 16, hex);
        if (strncasecmp(hex, etag_hex, 32) == 0)
            return l->part;
    }
    return 0;
}

#define GET_CHUNK ((size_t)1 << 20)

/* ---- multipart ETag check in SIMD lanes ------------------------------------------ */

/* When one layout is hashed (the recorded one, or the only one that fits)
 * and a few of its parts fit in the download's memory (part size x
 * concurrency), the rest of the object is fetched one layout part per ranged
 * GET, and the parts in hand are hashed together, one per SIMD lane
 * (md5mb.c): several times OpenSSL's speed on one core. Each part is written
 * to dst as soon as it arrives, in order; its buffer is held until the batch
 * is hashed. Without SIMD (scalar kernel) the OpenSSL path below is used. */
static unsigned lanes_slots(const s3_store *s, const mpv *v)
{
    if (v->n != 1 || v->nparts < 3 || pqf__md5_kernel() == PQF_MD5_SCALAR)
        return 0;
    const mpv_layout *l = &v->l[0];
    uint64_t maxp = PQF_MIN(mpv_part_size(l, v->nparts), v->total);
    uint64_t budget = s->part_size * s->concurrency;
    uint64_t n = PQF_MIN((uint64_t)s->concurrency, budget / maxp);
    return n >= 2 ? (unsigned)n : 0;
}

/* Fetches [next, end) (end = the object's size) into dst and feeds it to the
 * single layout of v in lanes; v's layout then stands where mpv_feed would
 * have left it. The bytes before next were fed by mpv_feed. */
static pqf_err get_lanes(s3_store *s, const char *fk, const char *q, const char *etag,
                         pqf_ostream *dst, mpv *v, unsigned nslots, uint64_t next, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    mpv_layout *l = &v->l[0];
    const uint64_t end = v->total;
    size_t maxp = (size_t)PQF_MIN(mpv_part_size(l, v->nparts), v->total);
    s3_call *calls = calloc(nslots, sizeof *calls);
    uint8_t **bufs = calloc(nslots, sizeof *bufs);
    uint64_t *offs = calloc(nslots, sizeof *offs);
    size_t *lens = calloc(nslots, sizeof *lens);
    bool *busy = calloc(nslots, sizeof *busy);
    uint8_t(*md)[16] = calloc(nslots, sizeof *md);
    uint8_t **mp = calloc(nslots, sizeof *mp);
    const uint8_t **dp = calloc(nslots, sizeof *dp);
    size_t *hl = calloc(nslots, sizeof *hl);
    if (!calls || !bufs || !offs || !lens || !busy || !md || !mp || !dp || !hl)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    /* The submit cursor: ranges end where layout parts end. The first one
     * finishes a part mpv_feed began (cont), when next is inside one. */
    unsigned sub_part = l->cur;
    uint64_t sub_end = l->part_end;
    bool cont = next < end && next != mpv_end(l, l->cur - 1, end);
    unsigned head = 0, held = 0, inflight = 0;
    while (next < end || inflight || held) {
        while (next < end && held + inflight < nslots) {
            unsigned k = (head + held + inflight) % nslots;
            if (!bufs[k]) {
                bufs[k] = malloc(maxp);
                if (!bufs[k])
                    PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory for a %zu-byte part", maxp);
            }
            size_t len = (size_t)(sub_end - next);
            PQF_TRY(get_range_init(&calls[k], s, fk, q, etag, next, len, bufs[k], err));
            offs[k] = next;
            lens[k] = len;
            busy[k] = true;
            pqf__http_submit(s->http, &calls[k].http);
            next = sub_end;
            sub_part++;
            sub_end = sub_part >= v->nparts ? end : PQF_MIN(next + mpv_part_size(l, sub_part), end);
            inflight++;
        }
        if (held && (held == nslots || !inflight)) {
            /* Hash the held parts, one per lane, and chain their MD5s in order. */
            for (unsigned i = 0; i < held; i++) {
                unsigned k = (head + i) % nslots;
                dp[i] = bufs[k];
                hl[i] = lens[k];
                mp[i] = md[i];
            }
            pqf__md5_many(dp, hl, mp, held);
            for (unsigned i = 0; i < held; i++) {
                EVP_DigestUpdate(l->all, md[i], 16);
                l->cur++;
            }
            head = (head + held) % nslots;
            held = 0;
            pqf__crashpoint("s3.get-lanes-batch");
            continue;
        }
        unsigned k = (head + held) % nslots;
        inflight--;
        PQF_TRY(get_range_wait(s, &calls[k], &busy[k], offs[k], lens[k], err));
        /* 1 MiB writes: one 8 MiB write costs the kernel several times the
         * system time here (measured: 1.4 to 2.5 s against 0.6 to 0.8 s per GiB). */
        for (size_t o = 0; o < lens[k] && rc == PQF_OK; o += GET_CHUNK)
            rc = pqf_ostream_write(dst, bufs[k] + o, PQF_MIN(GET_CHUNK, lens[k] - o));
        if (rc != PQF_OK)
            PQF_FAIL(err, rc, "%s", pqf_ostream_error(dst)->msg);
        if (cont) { /* the rest of a part begun by mpv_feed: through it */
            mpv_feed(v, bufs[k], lens[k]);
            cont = false;
            head = (head + 1) % nslots;
        } else {
            held++;
        }
    }
    v->pos = end;
done:
    slots_free(s, calls, busy, bufs, nslots);
    free(offs);
    free(lens);
    free(busy);
    free(md);
    free(mp);
    free(dp);
    free(hl);
    return rc;
}

/* Parallel ranged GETs written in order into dst. The first request learns the
 * size and ETag; the others are pinned to that ETag. A whole object is checked
 * against its ETag: a single-part one against its MD5, a multipart one against
 * the MD5 of its parts' MD5s (see mpv above); not for SSE-KMS/SSE-C, whose
 * ETags are not MD5s. */
static pqf_err s3_get_to(pqf_store *st, const char *key, const pqf_get_options *opt,
                         pqf_ostream *dst, pqf_object_info *info, pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_err rc = PQF_OK;
    char *fk = NULL, *q = NULL;
    unsigned nslots = s->concurrency;
    size_t part = (size_t)s->part_size;
    s3_call *calls = calloc(nslots, sizeof *calls);
    uint8_t **bufs = calloc(nslots, sizeof *bufs);
    uint64_t *offs = calloc(nslots, sizeof *offs);
    size_t *lens = calloc(nslots, sizeof *lens);
    bool *busy = calloc(nslots, sizeof *busy);
    pqf_object_info tmp = {0};
    pqf_object_info *inf = info ? info : &tmp;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    uint8_t *pend = NULL, *spare = NULL; /* see the ring below */
    size_t pend_len = 0;
    bool check_md5 = false, check_mp = false;
    mpv mp = {0};
    if (!calls || !bufs || !offs || !lens || !busy || !mctx)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    memset(inf, 0, sizeof *inf);
    PQF_TRY(full_key(s, key, &fk, err));
    PQF_TRY(version_query(opt, &q, err));
    uint64_t start = opt->offset;
    size_t first = part;
    if (opt->length && opt->length < first)
        first = (size_t)opt->length;
    if (opt->size_hint > start && opt->size_hint - start < first)
        first = (size_t)(opt->size_hint - start); /* small objects: no part-sized buffer */
    bufs[0] = malloc(first);
    if (!bufs[0])
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory for a %zu-byte part", first);
    PQF_TRY(get_range_init(&calls[0], s, fk, q, opt->if_match, start, first, bufs[0], err));
    pqf__http_run(s->http, &calls[0].http);
    if (calls[0].http.status == 416) {
        /* An empty object has no byte 0: check it is empty. */
        call_free(&calls[0]);
        pqf_get_options ho = *opt;
        PQF_TRY(s3_head(st, key, &ho, inf, err));
        if (inf->size != 0 || start != 0)
            PQF_FAIL(err, PQF_ERR_INVALID_ARG, "s3://%s/%s: range starts past the end (%llu bytes)",
                     s->bucket, fk, (unsigned long long)inf->size);
        goto done;
    }
    PQF_TRY(call_result(&calls[0], err));
    info_from_headers(&calls[0].http, inf);
    uint64_t total = inf->size;
    uint64_t end = total;
    if (opt->length && start + opt->length < end)
        end = start + opt->length;
    size_t got = calls[0].http.dst_len;
    if (got != PQF_MIN((uint64_t)first, end - start))
        PQF_FAIL(err, PQF_ERR_NET, "%s: short read (%zu bytes)", calls[0].what, got);
    bool whole = start == 0 && end == total && !inf->sse[0] && s->sse != PQF_SSE_C &&
                 s->sse != PQF_SSE_KMS && !opt->no_etag_check;
    size_t hexlen = strspn(inf->etag, "0123456789abcdefABCDEF");
    check_md5 = whole && hexlen == 32 && inf->etag[32] == 0;
    if (check_md5)
        EVP_DigestInit_ex(mctx, EVP_md5(), NULL);
    unsigned long nparts = 0;
    if (whole && hexlen == 32 && inf->etag[32] == '-' && total > 0) {
        char *e = NULL;
        nparts = strtoul(inf->etag + 33, &e, 10);
        check_mp = e && !*e && nparts >= 1 && nparts <= MAX_PARTS && nparts <= total;
        if (check_mp && !mpv_init(&mp, (unsigned)nparts, total, s->part_size, inf))
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
    char etag[72];
    snprintf(etag, sizeof etag, "%s", inf->etag);
    call_free(&calls[0]);
    uint64_t next = start + got;
    /* Ring of slots: submit in order, complete in order. A completed part
     * moves to pend, and its slot takes the spare buffer and is sent again
     * before pend is hashed and written, so every slot stays busy while this
     * thread hashes (concurrency + 1 buffers). The first part is pend at once. */
    pend = bufs[0];
    pend_len = got;
    bufs[0] = NULL;
    bool pend_small = first < part; /* not reused for later parts */
    unsigned lane_slots = check_mp && next < end ? lanes_slots(s, &mp) : 0;
    if (lane_slots) {
        /* The first part as below, then the rest in lanes (get_lanes). */
        for (size_t o = 0; o < pend_len && rc == PQF_OK; o += GET_CHUNK) {
            size_t n = PQF_MIN(GET_CHUNK, pend_len - o);
            mpv_feed(&mp, pend + o, n);
            rc = pqf_ostream_write(dst, pend + o, n);
        }
        free(pend);
        pend = NULL;
        if (rc != PQF_OK)
            PQF_FAIL(err, rc, "%s", pqf_ostream_error(dst)->msg);
        PQF_TRY(get_lanes(s, fk, q, etag, dst, &mp, lane_slots, next, err));
        next = end;
    }
    unsigned head = 0, inflight = 0;
    while (next < end || inflight || pend) {
        while (next < end && inflight < nslots) {
            unsigned k = (head + inflight) % nslots;
            if (!bufs[k]) {
                bufs[k] = malloc(part);
                if (!bufs[k])
                    PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory for a %zu-byte part", part);
            }
            size_t len = (size_t)PQF_MIN((uint64_t)part, end - next);
            PQF_TRY(get_range_init(&calls[k], s, fk, q, etag, next, len, bufs[k], err));
            offs[k] = next;
            lens[k] = len;
            busy[k] = true;
            pqf__http_submit(s->http, &calls[k].http);
            next += len;
            inflight++;
        }
        if (pend) {
            /* Hash and write 1 MiB at a time, so the write copies bytes the
             * hash just brought into the cache instead of reading the part
             * from memory a second time. */
            for (size_t o = 0; o < pend_len && rc == PQF_OK; o += GET_CHUNK) {
                size_t n = PQF_MIN(GET_CHUNK, pend_len - o);
                if (check_md5)
                    EVP_DigestUpdate(mctx, pend + o, n);
                if (check_mp)
                    mpv_feed(&mp, pend + o, n);
                rc = pqf_ostream_write(dst, pend + o, n);
            }
            spare = pend;
            pend = NULL;
            if (pend_small) {
                free(spare);
                spare = NULL;
                pend_small = false;
            }
            if (rc != PQF_OK)
                PQF_FAIL(err, rc, "%s", pqf_ostream_error(dst)->msg);
        }
        if (!inflight)
            continue;
        unsigned k = head;
        inflight--;
        head = (head + 1) % nslots;
        PQF_TRY(get_range_wait(s, &calls[k], &busy[k], offs[k], lens[k], err));
        pend = bufs[k];
        pend_len = lens[k];
        bufs[k] = spare;
        spare = NULL;
    }
    if (check_md5) {
        uint8_t d[16];
        char hex[33];
        unsigned int dl = 16;
        EVP_DigestFinal_ex(mctx, d, &dl);
        pqf__hex(d, 16, hex);
        if (strcasecmp(hex, inf->etag) != 0)
            PQF_FAIL(err, PQF_ERR_CHECKSUM, "s3://%s/%s: downloaded bytes have MD5 %s, ETag is %s",
                     s->bucket, fk, hex, inf->etag);
    }
    if (check_mp)
        inf->etag_layouts_tried = mp.n;
    if (check_mp && mp.recorded && !mpv_match(&mp, inf->etag))
        PQF_FAIL(err, PQF_ERR_CHECKSUM,
                 "s3://%s/%s: downloaded bytes do not give the multipart ETag %s for the recorded "
                 "layout (%lu parts of %llu bytes%s): corrupt",
                 s->bucket, fk, inf->etag, nparts, (unsigned long long)inf->part_size,
                 inf->part_doubling ? ", doubling every 1,000" : "");
    else if (check_mp && !mp.recorded && !mpv_match(&mp, inf->etag) && !mp.truncated)
        PQF_FAIL(err, PQF_ERR_CHECKSUM,
                 "s3://%s/%s: downloaded bytes do not give the multipart ETag %s for any layout of "
                 "%lu equal parts of whole MiB or MB (all %u tried): corrupt, or uploaded in parts "
                 "of other sizes",
                 s->bucket, fk, inf->etag, nparts, mp.n);
done:
    mpv_free(&mp);
    free(pend);
    free(spare);
    slots_free(s, calls, busy, bufs, nslots);
    EVP_MD_CTX_free(mctx);
    free(offs);
    free(lens);
    free(busy);
    free(fk);
    free(q);
    return rc;
}

/* ---- put ------------------------------------------------------------------------- */

#define MD5_BATCH_MAX 16 /* parts of an upload hashed together at most */

typedef struct part_rec {
    char etag[72];
    uint8_t md5[16];
    uint64_t size;
    bool have;
} part_rec;

typedef struct put_slot {
    uint8_t *buf;
    size_t len, cap;
    s3_call call;
    unsigned part_no;
    uint8_t md5[16];
    bool busy, skipped;
    bool ready; /* full, numbered, not hashed or sent yet (see seal_part) */
} put_slot;

typedef struct s3_put {
    s3_store *s;
    char *fk;
    bool if_absent;
    char *if_match, *content_type, *upload_id;
    bool crc32c, sha256, resuming;
    char payload_sha[65]; /* opt->payload_sha256, or "" */
    pqf_object_info *result;
    uint64_t base_part;
    bool fixed_parts; /* UploadPartCopy: equal parts, no doubling */
    unsigned nslots;
    put_slot *slots;
    unsigned cur;       /* slot being filled */
    unsigned next_part; /* next part number to hand out (1-based) */
    part_rec *parts;    /* [MAX_PARTS + 1] */
    part_rec *existing; /* resume: what ListParts returned */
    uint64_t total;
    bool aborted;
    /* The nready slots ready to hash and send, in part order. */
    unsigned nready;
    unsigned ready[MD5_BATCH_MAX];
} s3_put;

static uint64_t part_size_for(const s3_put *p, unsigned part_no)
{
    /* Unknown length: double every 1,000 parts so 10,000 parts reach 5 TiB+. */
    unsigned shift = (part_no - 1) / 1000;
    uint64_t sz = p->base_part << (shift > 10 ? 10 : shift);
    return sz > (5ull << 30) ? 5ull << 30 : sz;
}

/* The part table (1.6 MB) only for a multipart upload: a single PUT, the
 * common case for small objects, does not pay for clearing it. */
static pqf_err parts_alloc(s3_put *p, pqf_error *err)
{
    if (!p->parts)
        p->parts = calloc(MAX_PARTS + 1, sizeof *p->parts);
    return p->parts ? PQF_OK : pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
}

static pqf_err mp_initiate(s3_put *p, pqf_error *err)
{
    s3_call c;
    pqf_err rc = PQF_OK;
    char upload_id[256] = "";
    leaf_xml x = {"InitiateMultipartUploadResult/UploadId", upload_id, sizeof upload_id, false};
    char meta[64];
    memset(&c, 0, sizeof c);
    PQF_TRY(call_init(&c, p->s, "POST", p->fk, "uploads=", err));
    c.http.resp_limit = ERR_RESP_LIMIT;
    /* Without one, curl would label the POST as a form. */
    PQF_TRY(call_hdr(&c, "Content-Type", p->content_type ? p->content_type : "binary/octet-stream",
                     err));
    part_meta_value(p->base_part, !p->fixed_parts, meta, sizeof meta);
    PQF_TRY(call_hdr(&c, PART_SIZE_META, meta, err));
    PQF_TRY(add_sse(&c, err));
    PQF_TRY(call_run(&c, err));
    PQF_TRY(pqf__xml_parse(c.http.resp.data, c.http.resp.len, NULL, leaf_end, &x, err));
    if (!upload_id[0])
        PQF_FAIL(err, PQF_ERR_REMOTE, "%s: no UploadId in the response", c.what);
    p->upload_id = strdup(upload_id);
    if (!p->upload_id)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(parts_alloc(p, err));
done:
    call_free(&c);
    return rc;
}

typedef struct parts_xml {
    part_rec *parts;
    unsigned cur_no;
    char cur_etag[72];
    uint64_t cur_size;
    bool truncated;
    char next_marker[32];
} parts_xml;

static bool parts_end(void *ud, const char *path, const char *text, size_t len)
{
    parts_xml *x = ud;
    (void)len;
    if (strcmp(path, "ListPartsResult/Part/PartNumber") == 0)
        x->cur_no = (unsigned)strtoul(text, NULL, 10);
    else if (strcmp(path, "ListPartsResult/Part/ETag") == 0)
        strip_quotes(text, x->cur_etag, sizeof x->cur_etag);
    else if (strcmp(path, "ListPartsResult/Part/Size") == 0)
        x->cur_size = strtoull(text, NULL, 10);
    else if (strcmp(path, "ListPartsResult/Part") == 0) {
        if (x->cur_no >= 1 && x->cur_no <= MAX_PARTS) {
            part_rec *r = &x->parts[x->cur_no];
            snprintf(r->etag, sizeof r->etag, "%s", x->cur_etag);
            r->size = x->cur_size;
            r->have = true;
        }
        x->cur_no = 0;
    } else if (strcmp(path, "ListPartsResult/IsTruncated") == 0)
        x->truncated = strcmp(text, "true") == 0;
    else if (strcmp(path, "ListPartsResult/NextPartNumberMarker") == 0)
        snprintf(x->next_marker, sizeof x->next_marker, "%s", text);
    return true;
}

static pqf_err mp_list_parts(s3_put *p, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    s3_call c;
    pqf__buf q;
    char marker[32] = "";
    memset(&c, 0, sizeof c);
    pqf__buf_init(&q, 4096);
    p->existing = calloc(MAX_PARTS + 1, sizeof *p->existing);
    if (!p->existing)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (;;) {
        parts_xml x = {.parts = p->existing};
        pqf__buf_reset(&q);
        if (q_add(&q, "max-parts", "1000") != PQF_OK ||
            (marker[0] && q_add(&q, "part-number-marker", marker) != PQF_OK) ||
            q_add(&q, "uploadId", p->upload_id) != PQF_OK)
            PQF_FAIL(err, PQF_ERR_LIMIT, "upload id too long");
        PQF_TRY(call_init(&c, p->s, "GET", p->fk, (char *)q.data, err));
        c.http.resp_limit = XML_RESP_LIMIT;
        PQF_TRY(call_run(&c, err));
        PQF_TRY(pqf__xml_parse(c.http.resp.data, c.http.resp.len, NULL, parts_end, &x, err));
        call_free(&c);
        if (!x.truncated || !x.next_marker[0] || strcmp(x.next_marker, marker) == 0)
            break;
        snprintf(marker, sizeof marker, "%s", x.next_marker);
    }
done:
    call_free(&c);
    pqf__buf_free(&q);
    return rc;
}

/* The query of an UploadPart / UploadPartCopy. false: too long. */
static bool part_query(pqf__buf *q, unsigned part_no, const char *upload_id)
{
    char no[16];
    snprintf(no, sizeof no, "%u", part_no);
    pqf__buf_reset(q);
    return q_add(q, "partNumber", no) == PQF_OK && q_add(q, "uploadId", upload_id) == PQF_OK;
}

/* Wait for the slot's part and record it; checks the returned ETag. */
static pqf_err slot_finish(s3_put *p, put_slot *sl, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    if (!sl->busy)
        return PQF_OK;
    if (!sl->skipped)
        pqf__http_wait(p->s->http, &sl->call.http);
    sl->busy = false;
    part_rec *r = &p->parts[sl->part_no];
    if (sl->skipped) {
        *r = p->existing[sl->part_no];
        memcpy(r->md5, sl->md5, 16);
        goto done;
    }
    PQF_TRY(call_result(&sl->call, err));
    char etag[128], hex[33];
    pqf__http_header(&sl->call.http, "etag", etag, sizeof etag);
    strip_quotes(etag, r->etag, sizeof r->etag);
    pqf__hex(sl->md5, 16, hex);
    if (p->s->sse != PQF_SSE_C && p->s->sse != PQF_SSE_KMS && strcasecmp(r->etag, hex) != 0)
        PQF_FAIL(err, PQF_ERR_CHECKSUM, "%s: part %u ETag %s is not the MD5 %s of what was sent",
                 sl->call.what, sl->part_no, r->etag, hex);
    memcpy(r->md5, sl->md5, 16);
    r->size = sl->len;
    r->have = true;
done:
    call_free(&sl->call);
    return rc;
}

static pqf_err slot_send(s3_put *p, put_slot *sl, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf q;
    pqf__buf_init(&q, 4096);
    sl->ready = false;
    sl->busy = true;
    sl->skipped = false;
    if (p->existing && p->existing[sl->part_no].have && p->existing[sl->part_no].size == sl->len) {
        char hex[33];
        pqf__hex(sl->md5, 16, hex);
        if (strcasecmp(hex, p->existing[sl->part_no].etag) == 0) {
            sl->skipped = true; /* resumed: already stored, same bytes */
            goto done;
        }
    }
    if (!part_query(&q, sl->part_no, p->upload_id))
        PQF_FAIL(err, PQF_ERR_LIMIT, "upload id too long");
    PQF_TRY(call_init(&sl->call, p->s, "PUT", p->fk, (char *)q.data, err));
    PQF_TRY(call_body_md5(&sl->call, sl->buf, sl->len, sl->md5, NULL, err));
    PQF_TRY(add_ssec(&sl->call, err));
    pqf__http_submit(p->s->http, &sl->call.http);
done:
    if (rc != PQF_OK)
        sl->busy = false;
    pqf__buf_free(&q);
    return rc;
}

/* Full parts wait in their slots (ready) until half the slots hold one, so
 * their Content-MD5s are computed together in SIMD lanes (md5mb.c; OpenSSL
 * one by one without SIMD), then each is sent. The other half stay in
 * flight meanwhile. */
static pqf_err flush_ready(s3_put *p, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    unsigned n = p->nready;
    if (!n)
        return PQF_OK;
    put_slot *sl[MD5_BATCH_MAX];
    for (unsigned i = 0; i < n; i++)
        sl[i] = &p->slots[p->ready[i]];
    if (n >= 2 && pqf__md5_kernel() != PQF_MD5_SCALAR) {
        const uint8_t *dp[MD5_BATCH_MAX];
        size_t lp[MD5_BATCH_MAX];
        uint8_t *op[MD5_BATCH_MAX];
        for (unsigned i = 0; i < n; i++) {
            dp[i] = sl[i]->buf;
            lp[i] = sl[i]->len;
            op[i] = sl[i]->md5;
        }
        pqf__md5_many(dp, lp, op, n);
    } else {
        for (unsigned i = 0; i < n; i++)
            md5(sl[i]->buf, sl[i]->len, sl[i]->md5);
    }
    p->nready = 0;
    for (unsigned i = 0; i < n; i++)
        PQF_TRY(slot_send(p, sl[i], err));
done:
    return rc;
}

/* The current slot is full (or the last): it takes the next part number and
 * waits for its batch (flush_ready). */
static pqf_err seal_part(s3_put *p, pqf_error *err)
{
    put_slot *sl = &p->slots[p->cur];
    if (p->next_part > MAX_PARTS)
        return pqf_error_set(err, PQF_ERR_LIMIT, "s3://%s/%s: more than 10,000 parts", p->s->bucket,
                             p->fk);
    sl->part_no = p->next_part++;
    sl->ready = true;
    p->ready[p->nready++] = p->cur;
    unsigned batch = PQF_MIN(PQF_MAX(p->nslots / 2, 1u), (unsigned)MD5_BATCH_MAX);
    return p->nready >= batch ? flush_ready(p, err) : PQF_OK;
}

/* The slot to fill next: the current one, or a free one once it is sent. */
static pqf_err next_slot(s3_put *p, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    /* Slots are used round-robin, so the next one holds the oldest part. */
    unsigned k = (p->cur + 1) % p->nslots;
    put_slot *sl = &p->slots[k];
    if (sl->ready) /* every slot waits for its batch: send them */
        PQF_TRY(flush_ready(p, err));
    PQF_TRY(slot_finish(p, sl, err));
    uint64_t want = part_size_for(p, p->next_part);
    if (sl->cap < want) {
        free(sl->buf);
        sl->buf = malloc((size_t)want);
        sl->cap = sl->buf ? (size_t)want : 0;
        if (!sl->buf)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory for a %llu-byte part",
                     (unsigned long long)want);
    }
    sl->len = 0;
    p->cur = k;
done:
    return rc;
}

static pqf_err put_write(void *impl, const void *data, size_t len, pqf_error *err)
{
    s3_put *p = impl;
    const uint8_t *d = data;
    pqf_err rc = PQF_OK;
    while (len) {
        put_slot *sl = &p->slots[p->cur];
        size_t limit = p->upload_id ? (size_t)part_size_for(p, p->next_part) : sl->cap;
        if (sl->len == limit && !p->upload_id && sl->cap < p->base_part) {
            /* More than the size hint said: the first buffer becomes a part. */
            uint8_t *nb = realloc(sl->buf, (size_t)p->base_part);
            if (!nb)
                PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory for a %llu-byte part",
                         (unsigned long long)p->base_part);
            sl->buf = nb;
            sl->cap = (size_t)p->base_part;
            continue;
        }
        if (sl->len == limit) {
            /* A full buffer and more data: this is a multipart upload. A
             * stream of exactly one part stays a single PUT at commit. */
            if (!p->upload_id)
                PQF_TRY(mp_initiate(p, err));
            PQF_TRY(seal_part(p, err));
            PQF_TRY(next_slot(p, err));
            continue;
        }
        size_t n = PQF_MIN(len, limit - sl->len);
        memcpy(sl->buf + sl->len, d, n);
        sl->len += n;
        d += n;
        len -= n;
        p->total += n;
    }
done:
    return rc;
}

static pqf_err check_put_etag(s3_put *p, const char *got, const char *want, const char *what,
                              pqf_error *err)
{
    if (p->s->sse == PQF_SSE_C || p->s->sse == PQF_SSE_KMS || !got[0])
        return PQF_OK; /* those ETags are not MD5s */
    if (strcasecmp(got, want) != 0)
        return pqf_error_set(err, PQF_ERR_CHECKSUM, "%s: ETag %s is not the expected %s", what, got,
                             want);
    return PQF_OK;
}

static void fill_result(s3_put *p, const pqf__http_req *r, const char *etag)
{
    if (!p->result)
        return;
    memset(p->result, 0, sizeof *p->result);
    p->result->size = p->total;
    snprintf(p->result->etag, sizeof p->result->etag, "%s", etag);
    pqf__http_header(r, "x-amz-version-id", p->result->version_id, sizeof p->result->version_id);
    p->result->mtime_ms = (int64_t)time(NULL) * 1000;
}

/* The conditions of a write: put-if-absent as If-None-Match: *, and
 * If-Match as the quoted entity tag of RFC 7232, which AWS and MinIO take,
 * or (bare) the ETag alone, once this server was seen to need it. */
static pqf_err add_write_conditions(s3_call *c, const s3_put *p, bool bare, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char v[80];
    if (p->if_absent)
        PQF_TRY(call_hdr(c, "If-None-Match", "*", err));
    if (p->if_match) {
        if (bare)
            snprintf(v, sizeof v, "%s", p->if_match);
        else
            snprintf(v, sizeof v, "\"%s\"", p->if_match);
        PQF_TRY(call_hdr(c, "If-Match", v, err));
    }
done:
    return rc;
}

/* HEAD of the object the put writes, into *cur (cleared first); the error
 * message is dropped: callers decide by the code. */
static pqf_err put_head(s3_put *p, pqf_object_info *cur)
{
    pqf_get_options go = {0};
    pqf_error e2 = {0};
    memset(cur, 0, sizeof *cur);
    return s3_head(&p->s->base, p->fk + strlen(p->s->prefix), &go, cur, &e2);
}

/* A write with If-Match failed its condition (412). Is the object's ETag the
 * one we sent all the same? Then the server, not a concurrent writer, refused
 * it. Sent quoted: learn to send it bare and return PQF_OK, the caller retries
 * once (the server still checks the condition then). Sent bare already:
 * PQF_ERR_UNSUPPORTED, no retry would help. Otherwise the object really
 * changed (or went): PQF_ERR_PRECONDITION, err untouched, the caller re-reads. */
static pqf_err if_match_misread(s3_put *p, bool bare, pqf_error *err)
{
    pqf_object_info cur;
    if (put_head(p, &cur) != PQF_OK || strcmp(cur.etag, p->if_match) != 0)
        return PQF_ERR_PRECONDITION;
    if (bare)
        return pqf_error_set(err, PQF_ERR_UNSUPPORTED,
                             "s3://%s/%s: the server refuses If-Match with the current ETag %s, "
                             "quoted or not (no conditional writes)",
                             p->s->bucket, p->fk, p->if_match);
    atomic_store(&p->s->unquoted_if_match, true);
    pqf_error_clear(err);
    return PQF_OK;
}

/* A conditional write answered by a server error, or no answer: did it take
 * effect? (RGW 16 answers a conditional PUT that lost a race with another
 * writer HTTP 500, its ECANCELED/EEXIST.) HEAD says: our bytes there (by MD5
 * ETag): success; another object there (put-if-absent) or another ETag
 * (If-Match): the race was lost, PQF_ERR_EXISTS / PQF_ERR_PRECONDITION, so
 * the caller re-reads. Otherwise (unchanged, or the HEAD fails too) the
 * original error stands; *again when the server's own final answer was 500
 * and the object is as before, so sending the write again is safe (not
 * after no answer or a gateway's 502/504: the write may still land). With
 * SSE-C/KMS the ETag is no MD5: no "ours". */
static pqf_err resolve_unsure_put(s3_put *p, pqf_err rc, long status, const char *md5hex,
                                  bool *again, pqf_error *err)
{
    pqf_object_info cur;
    pqf_err hr = put_head(p, &cur);
    if (hr != PQF_OK && hr != PQF_ERR_NOT_FOUND)
        return rc;
    bool md5_etags = p->s->sse != PQF_SSE_C && p->s->sse != PQF_SSE_KMS;
    char said[sizeof err->msg];
    snprintf(said, sizeof said, "%s", err->msg);
    if (hr == PQF_OK && md5_etags && strcasecmp(cur.etag, md5hex) == 0) {
        pqf_error_clear(err);
        if (p->result) {
            memset(p->result, 0, sizeof *p->result);
            p->result->size = p->total;
            snprintf(p->result->etag, sizeof p->result->etag, "%s", md5hex);
            snprintf(p->result->version_id, sizeof p->result->version_id, "%s", cur.version_id);
            p->result->mtime_ms = (int64_t)time(NULL) * 1000;
        }
        return PQF_OK;
    }
    if (p->if_absent && hr == PQF_OK)
        return pqf_error_set(err, PQF_ERR_EXISTS,
                             "s3://%s/%s: already exists (created by a concurrent writer; the "
                             "server answered: %s)",
                             p->s->bucket, p->fk, said);
    if (p->if_match && (hr == PQF_ERR_NOT_FOUND || strcmp(cur.etag, p->if_match) != 0))
        return pqf_error_set(err, PQF_ERR_PRECONDITION,
                             "s3://%s/%s: ETag is no longer %s (a concurrent writer won; the "
                             "server answered: %s)",
                             p->s->bucket, p->fk, p->if_match, said);
    *again = status == 500;
    return rc;
}

static pqf_err put_single_once(s3_put *p, bool bare, bool *again, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    s3_call c;
    put_slot *sl = &p->slots[p->cur];
    uint8_t d[16];
    char hex[33], etag[128], got[72];
    memset(&c, 0, sizeof c);
    PQF_TRY(call_init(&c, p->s, "PUT", p->fk, NULL, err));
    md5(sl->buf, sl->len, d);
    PQF_TRY(call_body_md5(&c, sl->buf, sl->len, d, p->payload_sha[0] ? p->payload_sha : NULL, err));
    if (p->content_type)
        PQF_TRY(call_hdr(&c, "Content-Type", p->content_type, err));
    PQF_TRY(add_write_conditions(&c, p, bare, err));
    if (p->crc32c) {
        uint32_t crc = pqf__crc32c(0, sl->buf, sl->len);
        uint8_t be[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
                         (uint8_t)crc};
        char v[16];
        b64(be, 4, v);
        PQF_TRY(call_hdr(&c, "x-amz-checksum-crc32c", v, err));
    }
    if (p->sha256) {
        uint8_t h[32];
        char v[48];
        pqf__sha256(sl->buf, sl->len, h);
        b64(h, 32, v);
        PQF_TRY(call_hdr(&c, "x-amz-checksum-sha256", v, err));
    }
    PQF_TRY(add_sse(&c, err));
    /* A conditional put retried after an unseen success would fail its own
     * condition: retry it only when it surely was not processed. */
    c.http.unsafe = p->if_absent || p->if_match;
    rc = call_run(&c, err);
    pqf__hex(d, 16, hex);
    if (rc == PQF_ERR_PRECONDITION && p->if_absent) {
        rc = pqf_error_set(err, PQF_ERR_EXISTS, "s3://%s/%s: already exists (If-None-Match)",
                           p->s->bucket, p->fk);
        goto done;
    }
    if ((rc == PQF_ERR_REMOTE || rc == PQF_ERR_NET || rc == PQF_ERR_TIMEOUT) &&
        (p->if_absent || p->if_match)) {
        rc = resolve_unsure_put(p, rc, c.http.status, hex, again, err);
        goto done;
    }
    PQF_TRY(rc);
    pqf__http_header(&c.http, "etag", etag, sizeof etag);
    strip_quotes(etag, got, sizeof got);
    PQF_TRY(check_put_etag(p, got, hex, c.what, err));
    fill_result(p, &c.http, got);
done:
    call_free(&c);
    return rc;
}

static pqf_err put_single(s3_put *p, pqf_error *err)
{
    bool bare = atomic_load(&p->s->unquoted_if_match), again = false;
    pqf_err rc = put_single_once(p, bare, &again, err);
    for (int i = 1; again && i <= 3; i++) { /* a 500 that changed nothing */
        struct timespec ts = {0, 100000000L * i};
        nanosleep(&ts, NULL);
        again = false;
        pqf_error_clear(err);
        rc = put_single_once(p, bare, &again, err);
    }
    if (rc == PQF_ERR_PRECONDITION && p->if_match) {
        rc = if_match_misread(p, bare, err);
        if (rc == PQF_OK)
            rc = put_single_once(p, true, &again, err);
    }
    return rc;
}

static pqf_err mp_complete(s3_put *p, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    s3_call c;
    pqf__buf body, q;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    char etag[72] = "";
    leaf_xml x = {"CompleteMultipartUploadResult/ETag", etag, sizeof etag, true};
    char want[72];
    memset(&c, 0, sizeof c);
    pqf__buf_init(&body, 2u << 20);
    pqf__buf_init(&q, 4096);
    if (!m)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    EVP_DigestInit_ex(m, EVP_md5(), NULL);
    unsigned nparts = p->next_part - 1;
    if (pqf__buf_printf(&body, "<CompleteMultipartUpload>") != PQF_OK)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (unsigned i = 1; i <= nparts; i++) {
        if (!p->parts[i].have)
            PQF_FAIL(err, PQF_ERR_INTERNAL, "part %u missing at completion", i);
        EVP_DigestUpdate(m, p->parts[i].md5, 16);
        if (pqf__buf_printf(&body, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag></Part>", i,
                            p->parts[i].etag) != PQF_OK)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
    if (pqf__buf_printf(&body, "</CompleteMultipartUpload>") != PQF_OK)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    uint8_t d[16];
    char hex[33];
    unsigned int dl = 16;
    EVP_DigestFinal_ex(m, d, &dl);
    pqf__hex(d, 16, hex);
    snprintf(want, sizeof want, "%s-%u", hex, nparts);
    if (q_add(&q, "uploadId", p->upload_id) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_LIMIT, "upload id too long");
    if (p->if_absent || p->if_match) {
        /* Servers without conditional completion (RGW 16) ignore the header:
         * check first as well; the window in between is documented. */
        pqf_object_info cur;
        pqf_err hr = put_head(p, &cur);
        if (p->if_absent && hr == PQF_OK)
            PQF_FAIL(err, PQF_ERR_EXISTS, "s3://%s/%s: already exists", p->s->bucket, p->fk);
        if (p->if_match && (hr != PQF_OK || strcmp(cur.etag, p->if_match) != 0))
            PQF_FAIL(err, PQF_ERR_PRECONDITION, "s3://%s/%s: ETag is not %s", p->s->bucket, p->fk,
                     p->if_match);
    }
    bool bare = atomic_load(&p->s->unquoted_if_match);
    for (;;) { /* twice at most: see put_single */
        PQF_TRY(call_init(&c, p->s, "POST", p->fk, (char *)q.data, err));
        PQF_TRY(call_body(&c, body.data, body.len, NULL, err));
        PQF_TRY(call_hdr(&c, "Content-Type", "application/xml", err));
        PQF_TRY(add_write_conditions(&c, p, bare, err));
        c.http.resp_limit = ERR_RESP_LIMIT;
        rc = call_run(&c, err);
        if (rc != PQF_ERR_PRECONDITION || !p->if_match)
            break;
        PQF_TRY(if_match_misread(p, bare, err));
        bare = true;
        call_free(&c);
        memset(&c, 0, sizeof c);
    }
    if (rc == PQF_ERR_NOT_FOUND && c.http.attempts > 1) {
        /* NoSuchUpload on a retry: the first attempt may have completed it. */
        pqf_object_info cur;
        if (put_head(p, &cur) == PQF_OK && strcasecmp(cur.etag, want) == 0) {
            rc = PQF_OK;
            pqf_error_clear(err);
            snprintf(etag, sizeof etag, "%s", cur.etag);
        }
    } else if (rc == PQF_ERR_PRECONDITION && p->if_absent) {
        rc = pqf_error_set(err, PQF_ERR_EXISTS, "s3://%s/%s: already exists", p->s->bucket, p->fk);
    } else if (rc == PQF_OK) {
        PQF_TRY(pqf__xml_parse(c.http.resp.data, c.http.resp.len, NULL, leaf_end, &x, err));
    }
    PQF_TRY(rc);
    PQF_TRY(check_put_etag(p, etag, want, c.what, err));
    fill_result(p, &c.http, etag);
    free(p->upload_id);
    p->upload_id = NULL;
done:
    EVP_MD_CTX_free(m);
    call_free(&c);
    pqf__buf_free(&body);
    pqf__buf_free(&q);
    return rc;
}

static pqf_err put_commit(void *impl, pqf_error *err)
{
    s3_put *p = impl;
    pqf_err rc = PQF_OK;
    if (!p->upload_id) {
        PQF_TRY(put_single(p, err));
        goto done;
    }
    put_slot *sl = &p->slots[p->cur];
    if (sl->len || p->next_part == 1)
        PQF_TRY(seal_part(p, err));
    PQF_TRY(flush_ready(p, err));
    for (unsigned i = 0; i < p->nslots; i++) {
        pqf_err r = slot_finish(p, &p->slots[i], rc == PQF_OK ? err : NULL);
        if (rc == PQF_OK)
            rc = r;
    }
    PQF_TRY(rc);
    PQF_TRY(mp_complete(p, err));
done:
    return rc;
}

static void put_abort(void *impl)
{
    s3_put *p = impl;
    for (unsigned i = 0; i < p->nslots; i++)
        slot_finish(p, &p->slots[i], NULL);
    if (p->upload_id && !p->aborted) {
        pqf_error e = {0};
        p->aborted = true;
        pqf_store_abort_upload(&p->s->base, p->fk + strlen(p->s->prefix), p->upload_id, &e);
    }
}

static void put_destroy(void *impl)
{
    s3_put *p = impl;
    if (!p)
        return;
    for (unsigned i = 0; p->slots && i < p->nslots; i++) {
        if (p->slots[i].busy && !p->slots[i].skipped)
            pqf__http_wait(p->s->http, &p->slots[i].call.http);
        call_free(&p->slots[i].call);
        free(p->slots[i].buf);
    }
    free(p->slots);
    free(p->parts);
    free(p->existing);
    free(p->fk);
    free(p->if_match);
    free(p->content_type);
    free(p->upload_id);
    free(p);
}

static const pqf_ostream_vt s3_put_vt = {put_write, put_commit, put_abort, put_destroy};

static pqf_err s3_put_open(pqf_store *st, const char *key, const pqf_put_options *opt,
                           pqf_ostream **out, pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_err rc = PQF_OK;
    s3_put *p = calloc(1, sizeof *p);
    if (!p)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    p->s = s;
    p->if_absent = opt->if_absent;
    p->crc32c = opt->checksum_crc32c;
    p->sha256 = opt->checksum_sha256;
    if (opt->payload_sha256 && strlen(opt->payload_sha256) == 64 &&
        strspn(opt->payload_sha256, "0123456789abcdef") == 64)
        memcpy(p->payload_sha, opt->payload_sha256, 65);
    p->result = opt->result;
    p->next_part = 1;
    p->nslots = s->concurrency;
    p->base_part = pqf_store_part_size(s->part_size, opt->size_hint);
    PQF_TRY(full_key(s, key, &p->fk, err));
    p->if_match = xstrdup(opt->if_match);
    p->content_type = xstrdup(opt->content_type);
    p->slots = calloc(p->nslots, sizeof *p->slots);
    if (!p->slots || (opt->if_match && !p->if_match) ||
        (opt->content_type && !p->content_type))
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    /* An object expected smaller than a part gets a buffer of its size (put_write
     * grows it to a part if more comes): a whole part per small put was an
     * 8 MiB mmap, page faults and an munmap per object. */
    uint64_t first = p->base_part;
    if (opt->size_hint && opt->size_hint < first && !opt->resume_upload_id)
        first = opt->size_hint;
    p->slots[0].buf = malloc((size_t)first);
    p->slots[0].cap = (size_t)first;
    if (!p->slots[0].buf)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory for a %llu-byte part",
                 (unsigned long long)first);
    if (opt->resume_upload_id) {
        p->upload_id = strdup(opt->resume_upload_id);
        if (!p->upload_id)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        PQF_TRY(parts_alloc(p, err));
        PQF_TRY(mp_list_parts(p, err));
    }
    *out = pqf_ostream_create(&s3_put_vt, p, 0);
    p = NULL;
    if (!*out)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
done:
    put_destroy(p);
    return rc;
}

/* ---- listing ------------------------------------------------------------------- */

typedef struct list_xml {
    s3_store *s;
    pqf_list_cb cb;
    void *ud;
    pqf_object_info cur;
    pqf__buf key;
    bool truncated, stopped;
    char token[1100];
    char next_key[1100], next_version[200];
    uint64_t emitted, max;
    const char *root; /* element name of the result */
    pqf_err fail;
} list_xml;

static bool list_emit(list_xml *x)
{
    size_t pl = strlen(x->s->prefix);
    const char *k = x->key.data ? (const char *)x->key.data : "";
    if (strncmp(k, x->s->prefix, pl) != 0)
        return true;
    x->cur.key = k + pl;
    if (x->max && x->emitted >= x->max) {
        x->stopped = true;
        return false;
    }
    x->emitted++;
    if (!x->cb(x->ud, &x->cur)) {
        x->stopped = true;
        return false;
    }
    return true;
}

static bool list_start(void *ud, const char *path, const char *text, size_t len)
{
    list_xml *x = ud;
    (void)text;
    (void)len;
    const char *p = strchr(path, '/');
    if (p && (strcmp(p, "/Contents") == 0 || strcmp(p, "/Version") == 0 ||
              strcmp(p, "/DeleteMarker") == 0 || strcmp(p, "/CommonPrefixes") == 0)) {
        memset(&x->cur, 0, sizeof x->cur);
        pqf__buf_reset(&x->key);
        if (strcmp(p, "/DeleteMarker") == 0)
            x->cur.is_delete_marker = true;
        if (strcmp(p, "/CommonPrefixes") == 0)
            x->cur.is_prefix = true;
    }
    return true;
}

static bool list_end(void *ud, const char *path, const char *text, size_t len)
{
    list_xml *x = ud;
    const char *p = strchr(path, '/');
    if (!p)
        return true;
    p++;
    const char *leaf = strrchr(p, '/');
    leaf = leaf ? leaf + 1 : p;
    bool item = strncmp(p, "Contents/", 9) == 0 || strncmp(p, "Version/", 8) == 0 ||
                strncmp(p, "DeleteMarker/", 13) == 0 || strncmp(p, "CommonPrefixes/", 15) == 0;
    if (item) {
        if (strcmp(leaf, "Key") == 0 || strcmp(leaf, "Prefix") == 0) {
            pqf__buf_reset(&x->key);
            if (pqf__buf_append(&x->key, text, len) != PQF_OK || pqf__buf_cstr(&x->key) != PQF_OK) {
                x->fail = PQF_ERR_LIMIT;
                return false;
            }
        } else if (strcmp(leaf, "Size") == 0) {
            x->cur.size = strtoull(text, NULL, 10);
        } else if (strcmp(leaf, "ETag") == 0) {
            strip_quotes(text, x->cur.etag, sizeof x->cur.etag);
        } else if (strcmp(leaf, "LastModified") == 0) {
            x->cur.mtime_ms = parse_iso(text);
        } else if (strcmp(leaf, "VersionId") == 0) {
            snprintf(x->cur.version_id, sizeof x->cur.version_id, "%s", text);
        } else if (strcmp(leaf, "IsLatest") == 0) {
            x->cur.is_latest = strcmp(text, "true") == 0;
        }
        return true;
    }
    if (strcmp(p, "Contents") == 0 || strcmp(p, "Version") == 0 || strcmp(p, "DeleteMarker") == 0 ||
        strcmp(p, "CommonPrefixes") == 0)
        return list_emit(x);
    if (strcmp(p, "IsTruncated") == 0)
        x->truncated = strcmp(text, "true") == 0;
    else if (strcmp(p, "NextContinuationToken") == 0)
        snprintf(x->token, sizeof x->token, "%s", text);
    else if (strcmp(p, "NextKeyMarker") == 0)
        snprintf(x->next_key, sizeof x->next_key, "%s", text);
    else if (strcmp(p, "NextVersionIdMarker") == 0)
        snprintf(x->next_version, sizeof x->next_version, "%s", text);
    return true;
}

/* Runs one listing request and streams its XML through the parser. */
static pqf_err list_page(s3_store *s, const char *query, list_xml *x, pqf_error *err)
{
    s3_call c;
    pqf_err rc = PQF_OK;
    memset(&c, 0, sizeof c);
    PQF_TRY(call_init(&c, s, "GET", NULL, query, err));
    c.http.resp_limit = XML_RESP_LIMIT;
    PQF_TRY(call_run(&c, err));
    x->truncated = false;
    x->token[0] = x->next_key[0] = x->next_version[0] = 0;
    rc = pqf__xml_parse(c.http.resp.data, c.http.resp.len, list_start, list_end, x, err);
    if (rc != PQF_OK && x->stopped && !x->fail) {
        rc = PQF_OK;
        pqf_error_clear(err);
    } else if (rc != PQF_OK) {
        pqf_error_prefix(err, "%s: ", c.what);
    }
done:
    call_free(&c);
    return rc;
}

/* fp: the store's prefix and a listing's, as the query names it. */
static pqf_err list_prefix(s3_store *s, const char *prefix, pqf__buf *fp, pqf_error *err)
{
    if (pqf__buf_printf(fp, "%s%s", s->prefix, prefix) != PQF_OK || pqf__buf_cstr(fp) != PQF_OK)
        return pqf_error_set(err, PQF_ERR_LIMIT, "prefix too long");
    return PQF_OK;
}

static pqf_err s3_list(pqf_store *st, const char *prefix, const pqf_list_options *opt,
                       pqf_list_cb cb, void *ud, pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_err rc = PQF_OK;
    pqf__buf q, fp, sa;
    list_xml x = {.s = s, .cb = cb, .ud = ud, .max = opt->max_keys};
    pqf__buf_init(&x.key, 4096);
    pqf__buf_init(&q, 16384);
    pqf__buf_init(&fp, 4096);
    pqf__buf_init(&sa, 4096);
    char ps[16];
    snprintf(ps, sizeof ps, "%u", opt->page_size ? PQF_MIN(opt->page_size, 1000u) : 1000u);
    PQF_TRY(list_prefix(s, prefix, &fp, err));
    if (opt->start_after && (pqf__buf_printf(&sa, "%s%s", s->prefix, opt->start_after) != PQF_OK ||
                             pqf__buf_cstr(&sa) != PQF_OK))
        PQF_FAIL(err, PQF_ERR_LIMIT, "start-after key too long");
    for (;;) {
        pqf__buf_reset(&q);
        bool ok = q_add(&q, "list-type", "2") == PQF_OK && q_add(&q, "max-keys", ps) == PQF_OK &&
                  q_add(&q, "prefix", (char *)fp.data) == PQF_OK;
        if (ok && opt->delimiter && *opt->delimiter)
            ok = q_add(&q, "delimiter", opt->delimiter) == PQF_OK;
        if (ok && x.token[0])
            ok = q_add(&q, "continuation-token", x.token) == PQF_OK;
        else if (ok && opt->start_after)
            ok = q_add(&q, "start-after", (char *)sa.data) == PQF_OK;
        if (!ok)
            PQF_FAIL(err, PQF_ERR_LIMIT, "list query too long");
        PQF_TRY(list_page(s, (char *)q.data, &x, err));
        if (x.fail)
            PQF_FAIL(err, x.fail, "s3://%s: listing entry too long", s->bucket);
        if (x.stopped || !x.truncated || !x.token[0])
            break;
    }
done:
    pqf__buf_free(&x.key);
    pqf__buf_free(&q);
    pqf__buf_free(&fp);
    pqf__buf_free(&sa);
    return rc;
}

/* The query of a ListObjectVersions / ListMultipartUploads page: the
 * subresource, the prefix, and the two markers once a page set them. */
static bool marker_query(pqf__buf *q, const char *sub, const char *prefix, const char *key_marker,
                         const char *name2, const char *marker2)
{
    pqf__buf_reset(q);
    return q_add(q, sub, NULL) == PQF_OK && q_add(q, "prefix", prefix) == PQF_OK &&
           (!key_marker[0] || q_add(q, "key-marker", key_marker) == PQF_OK) &&
           (!marker2[0] || q_add(q, name2, marker2) == PQF_OK);
}

static pqf_err s3_list_versions(pqf_store *st, const char *prefix, pqf_list_cb cb, void *ud,
                                pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_err rc = PQF_OK;
    pqf__buf q, fp;
    list_xml x = {.s = s, .cb = cb, .ud = ud};
    char km[1100] = "", vm[200] = "";
    pqf__buf_init(&x.key, 4096);
    pqf__buf_init(&q, 16384);
    pqf__buf_init(&fp, 4096);
    PQF_TRY(list_prefix(s, prefix, &fp, err));
    for (;;) {
        if (!marker_query(&q, "versions", (char *)fp.data, km, "version-id-marker", vm))
            PQF_FAIL(err, PQF_ERR_LIMIT, "list query too long");
        PQF_TRY(list_page(s, (char *)q.data, &x, err));
        if (x.fail)
            PQF_FAIL(err, x.fail, "s3://%s: listing entry too long", s->bucket);
        if (x.stopped || !x.truncated || !x.next_key[0])
            break;
        snprintf(km, sizeof km, "%s", x.next_key);
        snprintf(vm, sizeof vm, "%s", x.next_version);
    }
done:
    pqf__buf_free(&x.key);
    pqf__buf_free(&q);
    pqf__buf_free(&fp);
    return rc;
}

/* ---- multipart uploads left behind ------------------------------------------------ */

typedef struct uploads_xml {
    s3_store *s;
    pqf_upload_cb cb;
    void *ud;
    pqf__buf key;
    char upload_id[256];
    int64_t initiated;
    bool truncated, stopped;
    char next_key[1100], next_id[256];
} uploads_xml;

static bool uploads_end(void *ud, const char *path, const char *text, size_t len)
{
    uploads_xml *x = ud;
    if (strcmp(path, "ListMultipartUploadsResult/Upload/Key") == 0) {
        pqf__buf_reset(&x->key);
        if (pqf__buf_append(&x->key, text, len) != PQF_OK || pqf__buf_cstr(&x->key) != PQF_OK)
            return false;
    } else if (strcmp(path, "ListMultipartUploadsResult/Upload/UploadId") == 0) {
        snprintf(x->upload_id, sizeof x->upload_id, "%s", text);
    } else if (strcmp(path, "ListMultipartUploadsResult/Upload/Initiated") == 0) {
        x->initiated = parse_iso(text);
    } else if (strcmp(path, "ListMultipartUploadsResult/Upload") == 0) {
        size_t pl = strlen(x->s->prefix);
        const char *k = x->key.data ? (const char *)x->key.data : "";
        if (strncmp(k, x->s->prefix, pl) == 0) {
            pqf_upload_info u = {k + pl, x->upload_id, x->initiated};
            if (!x->cb(x->ud, &u)) {
                x->stopped = true;
                return false;
            }
        }
    } else if (strcmp(path, "ListMultipartUploadsResult/IsTruncated") == 0) {
        x->truncated = strcmp(text, "true") == 0;
    } else if (strcmp(path, "ListMultipartUploadsResult/NextKeyMarker") == 0) {
        snprintf(x->next_key, sizeof x->next_key, "%s", text);
    } else if (strcmp(path, "ListMultipartUploadsResult/NextUploadIdMarker") == 0) {
        snprintf(x->next_id, sizeof x->next_id, "%s", text);
    }
    return true;
}

static pqf_err s3_list_uploads(pqf_store *st, const char *prefix, pqf_upload_cb cb, void *ud,
                               pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_err rc = PQF_OK;
    pqf__buf q, fp;
    s3_call c;
    uploads_xml x = {.s = s, .cb = cb, .ud = ud};
    char km[1100] = "", im[256] = "";
    memset(&c, 0, sizeof c);
    pqf__buf_init(&x.key, 4096);
    pqf__buf_init(&q, 16384);
    pqf__buf_init(&fp, 4096);
    PQF_TRY(list_prefix(s, prefix, &fp, err));
    for (;;) {
        if (!marker_query(&q, "uploads", (char *)fp.data, km, "upload-id-marker", im))
            PQF_FAIL(err, PQF_ERR_LIMIT, "list query too long");
        PQF_TRY(call_init(&c, s, "GET", NULL, (char *)q.data, err));
        c.http.resp_limit = XML_RESP_LIMIT;
        PQF_TRY(call_run(&c, err));
        x.truncated = false;
        x.next_key[0] = x.next_id[0] = 0;
        rc = pqf__xml_parse(c.http.resp.data, c.http.resp.len, NULL, uploads_end, &x, err);
        call_free(&c);
        if (rc != PQF_OK && x.stopped) {
            rc = PQF_OK;
            pqf_error_clear(err);
            break;
        }
        PQF_TRY(rc);
        if (!x.truncated || !x.next_key[0])
            break;
        snprintf(km, sizeof km, "%s", x.next_key);
        snprintf(im, sizeof im, "%s", x.next_id);
    }
done:
    call_free(&c);
    pqf__buf_free(&x.key);
    pqf__buf_free(&q);
    pqf__buf_free(&fp);
    return rc;
}

static pqf_err s3_abort_upload(pqf_store *st, const char *key, const char *upload_id,
                               pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_err rc = PQF_OK;
    s3_call c;
    char *fk = NULL;
    pqf__buf q;
    memset(&c, 0, sizeof c);
    pqf__buf_init(&q, 4096);
    PQF_TRY(full_key(s, key, &fk, err));
    if (q_add(&q, "uploadId", upload_id) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_LIMIT, "upload id too long");
    PQF_TRY(call_init(&c, s, "DELETE", fk, (char *)q.data, err));
    PQF_TRY(call_run(&c, err));
done:
    call_free(&c);
    free(fk);
    pqf__buf_free(&q);
    return rc;
}

/* ---- delete --------------------------------------------------------------------- */

static pqf_err s3_del(pqf_store *st, const char *key, const char *version_id, pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_err rc = PQF_OK;
    s3_call c;
    char *fk = NULL, *q = NULL;
    pqf_get_options o = {.version_id = version_id};
    memset(&c, 0, sizeof c);
    PQF_TRY(full_key(s, key, &fk, err));
    PQF_TRY(version_query(&o, &q, err));
    PQF_TRY(call_init(&c, s, "DELETE", fk, q, err));
    rc = call_run(&c, err);
    if (rc == PQF_ERR_NOT_FOUND && !version_id) {
        rc = PQF_OK; /* deleting a missing key is not an error */
        pqf_error_clear(err);
    }
done:
    call_free(&c);
    free(fk);
    free(q);
    return rc;
}

typedef struct delres_xml {
    char key[1100], code[64], message[256];
    bool error_seen;
    size_t errors;
} delres_xml;

static bool delres_end(void *ud, const char *path, const char *text, size_t len)
{
    delres_xml *x = ud;
    (void)len;
    if (strcmp(path, "DeleteResult/Error/Key") == 0 && !x->error_seen)
        snprintf(x->key, sizeof x->key, "%s", text);
    else if (strcmp(path, "DeleteResult/Error/Code") == 0 && !x->error_seen)
        snprintf(x->code, sizeof x->code, "%s", text);
    else if (strcmp(path, "DeleteResult/Error/Message") == 0 && !x->error_seen)
        snprintf(x->message, sizeof x->message, "%s", text);
    else if (strcmp(path, "DeleteResult/Error") == 0) {
        x->error_seen = true;
        x->errors++;
    }
    return true;
}

static pqf_err s3_del_many(pqf_store *st, const char *const *keys, size_t n, size_t *deleted,
                           pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_err rc = PQF_OK;
    s3_call c;
    pqf__buf body;
    memset(&c, 0, sizeof c);
    pqf__buf_init(&body, 8u << 20);
    *deleted = 0;
    for (size_t i = 0; i < n;) {
        size_t m = PQF_MIN(n - i, (size_t)1000);
        pqf__buf_reset(&body);
        bool ok = pqf__buf_printf(&body, "<Delete><Quiet>true</Quiet>") == PQF_OK;
        for (size_t k = 0; ok && k < m; k++)
            ok = pqf__buf_printf(&body, "<Object><Key>") == PQF_OK &&
                 xml_escape(&body, s->prefix) == PQF_OK &&
                 xml_escape(&body, keys[i + k]) == PQF_OK &&
                 pqf__buf_printf(&body, "</Key></Object>") == PQF_OK;
        ok = ok && pqf__buf_printf(&body, "</Delete>") == PQF_OK;
        if (!ok)
            PQF_FAIL(err, PQF_ERR_LIMIT, "delete request too large");
        PQF_TRY(call_init(&c, s, "POST", NULL, "delete=", err));
        PQF_TRY(call_body(&c, body.data, body.len, NULL, err));
        PQF_TRY(call_hdr(&c, "Content-Type", "application/xml", err));
        c.http.resp_limit = XML_RESP_LIMIT;
        PQF_TRY(call_run(&c, err));
        delres_xml x;
        memset(&x, 0, sizeof x);
        PQF_TRY(pqf__xml_parse(c.http.resp.data, c.http.resp.len, NULL, delres_end, &x, err));
        *deleted += m - x.errors;
        if (x.errors)
            PQF_FAIL(err, map_code(0, x.code),
                     "POST s3://%s/?delete: %zu key%s not deleted, first %s: %s %s", s->bucket,
                     x.errors, x.errors == 1 ? "" : "s", x.key, x.code, x.message);
        call_free(&c);
        i += m;
    }
done:
    call_free(&c);
    pqf__buf_free(&body);
    return rc;
}

/* ---- server-side copy ------------------------------------------------------------- */

typedef struct copy_xml {
    char etag[72];
    char sha256[48];
    char crc32c[16];
} copy_xml;

static bool copy_end(void *ud, const char *path, const char *text, size_t len)
{
    copy_xml *x = ud;
    (void)len;
    if (strcmp(path, "CopyObjectResult/ETag") == 0 || strcmp(path, "CopyPartResult/ETag") == 0)
        strip_quotes(text, x->etag, sizeof x->etag);
    else if (strcmp(path, "CopyObjectResult/ChecksumSHA256") == 0 && strlen(text) < sizeof x->sha256)
        snprintf(x->sha256, sizeof x->sha256, "%s", text);
    else if (strcmp(path, "CopyObjectResult/ChecksumCRC32C") == 0 && strlen(text) < sizeof x->crc32c)
        snprintf(x->crc32c, sizeof x->crc32c, "%s", text);
    return true;
}

/* Reads a copy's answer into x. false: a body that is empty, not XML or
 * names no ETag, which did not say the copy was made: a server failure
 * (retried), not a bad answer. */
static bool copy_answer(const s3_call *c, copy_xml *x)
{
    if (!c->http.resp.len ||
        pqf__xml_parse(c->http.resp.data, c->http.resp.len, NULL, copy_end, x, NULL) != PQF_OK)
        x->etag[0] = '\0';
    return x->etag[0] != '\0';
}

/* Copy only while the source's ETag is this one: x-amz-copy-source-if-match,
 * quoted as RFC 7232 has it, and the same value as x-amz-copy-if-match, the
 * name Ceph RGW 16 reads (it ignores the AWS name: a copy with a wrong ETag
 * there succeeded until this was sent; it takes quoted and bare values).
 * Servers ignore the header they do not know. */
static pqf_err add_copy_if_match(s3_call *c, const char *etag, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char quoted[80];
    if (!etag || !etag[0])
        return PQF_OK;
    snprintf(quoted, sizeof quoted, "\"%s\"", etag);
    PQF_TRY(call_hdr(c, "x-amz-copy-source-if-match", quoted, err));
    PQF_TRY(call_hdr(c, "x-amz-copy-if-match", quoted, err));
done:
    return rc;
}

static pqf_err copy_source(s3_store *src, const char *sfk, pqf__buf *out)
{
    pqf_err rc = pqf__buf_printf(out, "/%s/", src->bucket);
    if (rc == PQF_OK)
        rc = pqf__uri_encode(out, sfk, strlen(sfk), true);
    if (rc == PQF_OK)
        rc = pqf__buf_cstr(out);
    return rc;
}

static pqf_err add_copy_source_ssec(s3_call *c, s3_store *src, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    if (src->sse != PQF_SSE_C)
        return PQF_OK;
    PQF_TRY(
        call_hdr(c, "x-amz-copy-source-server-side-encryption-customer-algorithm", "AES256", err));
    PQF_TRY(call_hdr(c, "x-amz-copy-source-server-side-encryption-customer-key", src->ssec_key_b64,
                     err));
    PQF_TRY(call_hdr(c, "x-amz-copy-source-server-side-encryption-customer-key-MD5",
                     src->ssec_md5_b64, err));
done:
    return rc;
}

static pqf_err s3_copy(pqf_store *sst, const char *src_key, pqf_store *dstt, const char *dst_key,
                       const pqf_put_options *opt, pqf_error *err)
{
    s3_store *src = (s3_store *)sst, *dst = (s3_store *)dstt;
    pqf_err rc = PQF_OK;
    char *sfk = NULL;
    s3_put *p = NULL;
    s3_call *calls = NULL;
    bool *busy = NULL;
    pqf__buf cs, q;
    pqf__buf_init(&cs, 8192);
    pqf__buf_init(&q, 4096);
    pqf_object_info info;
    /* Same endpoint and the same access key: the server can read the source. */
    pthread_mutex_lock(&src->cmu);
    pthread_mutex_lock(&dst->cmu);
    bool same = strcmp(src->endpoint_id, dst->endpoint_id) == 0 && !src->no_sign && !dst->no_sign &&
                strcmp(src->creds.access_key_id, dst->creds.access_key_id) == 0;
    pthread_mutex_unlock(&dst->cmu);
    pthread_mutex_unlock(&src->cmu);
    if (!same || opt->if_match) {
        rc = PQF_ERR_UNSUPPORTED; /* the caller streams instead */
        goto done;
    }
    if (opt->size_hint && opt->size_hint <= dst->copy_threshold) {
        /* The caller knows the size (a commit names it): one CopyObject, no
         * HEAD of the source first; the caller checks the copy's size. */
        memset(&info, 0, sizeof info);
        info.size = opt->size_hint;
        if (opt->copy_source_if_match)
            snprintf(info.etag, sizeof info.etag, "%s", opt->copy_source_if_match);
    } else {
        PQF_TRY(s3_head(sst, src_key, &(pqf_get_options){0}, &info, err));
    }
    PQF_TRY(full_key(src, src_key, &sfk, err));
    if (copy_source(src, sfk, &cs) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_LIMIT, "copy source too long");
    if (opt->if_absent) {
        pqf_object_info cur;
        pqf_error e2 = {0};
        if (s3_head(dstt, dst_key, &(pqf_get_options){0}, &cur, &e2) == PQF_OK)
            PQF_FAIL(err, PQF_ERR_EXISTS, "s3://%s/%s%s: already exists", dst->bucket, dst->prefix,
                     dst_key);
    }
    p = calloc(1, sizeof *p);
    if (!p)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    p->s = dst;
    p->next_part = 1;
    p->result = opt->result;
    p->content_type = xstrdup(opt->content_type);
    p->total = info.size;
    PQF_TRY(full_key(dst, dst_key, &p->fk, err));
    if (info.size <= dst->copy_threshold) {
        s3_call c;
        copy_xml x = {{0}, {0}, {0}};
        memset(&c, 0, sizeof c);
        rc = call_init(&c, dst, "PUT", p->fk, NULL, err);
        if (rc == PQF_OK)
            rc = call_hdr(&c, "x-amz-copy-source", (char *)cs.data, err);
        if (rc == PQF_OK)
            rc = add_copy_if_match(&c, opt->copy_source_if_match, err);
        if (rc == PQF_OK)
            rc = add_sse(&c, err);
        if (rc == PQF_OK)
            rc = add_copy_source_ssec(&c, src, err);
        if (rc == PQF_OK) {
            c.http.resp_limit = ERR_RESP_LIMIT;
            rc = call_run(&c, err); /* (a 200 with an <Error> body is an error there) */
        }
        if (rc == PQF_OK && !copy_answer(&c, &x))
            rc = pqf_error_set(err, PQF_ERR_REMOTE,
                               "CopyObject s3://%s/%s: HTTP %ld without a CopyObjectResult ETag",
                               dst->bucket, p->fk, c.http.status);
        if (rc == PQF_OK) {
            fill_result(p, &c.http, x.etag);
            if (p->result) {
                snprintf(p->result->checksum_sha256, sizeof p->result->checksum_sha256, "%s",
                         x.sha256);
                snprintf(p->result->checksum_crc32c, sizeof p->result->checksum_crc32c, "%s",
                         x.crc32c);
            }
        }
        call_free(&c);
        goto done;
    }
    /* UploadPartCopy in parallel parts. */
    uint64_t part = pqf_store_part_size(
        PQF_MAX(dst->part_size, info.size > (5ull << 30) ? 256 * MIB : dst->part_size), info.size);
    unsigned nparts = (unsigned)((info.size + part - 1) / part);
    p->base_part = part;
    p->fixed_parts = true;
    p->parts = calloc(MAX_PARTS + 1, sizeof *p->parts);
    calls = calloc(dst->concurrency, sizeof *calls);
    busy = calloc(dst->concurrency, sizeof *busy);
    unsigned *nos = calloc(dst->concurrency, sizeof *nos);
    if (!p->parts || !calls || !busy || !nos) {
        free(nos);
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
    rc = mp_initiate(p, err);
    unsigned next = 1, head = 0, inflight = 0;
    while (rc == PQF_OK && (next <= nparts || inflight)) {
        while (rc == PQF_OK && next <= nparts && inflight < dst->concurrency) {
            unsigned k = (head + inflight) % dst->concurrency;
            char range[80];
            uint64_t a = (uint64_t)(next - 1) * part, b = PQF_MIN(a + part, info.size) - 1;
            snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)a,
                     (unsigned long long)b);
            if (!part_query(&q, next, p->upload_id)) {
                rc = pqf_error_set(err, PQF_ERR_LIMIT, "upload id too long");
                break;
            }
            rc = call_init(&calls[k], dst, "PUT", p->fk, (char *)q.data, err);
            if (rc == PQF_OK)
                rc = call_hdr(&calls[k], "x-amz-copy-source", (char *)cs.data, err);
            if (rc == PQF_OK)
                rc = call_hdr(&calls[k], "x-amz-copy-source-range", range, err);
            if (rc == PQF_OK)
                rc = add_copy_if_match(&calls[k], info.etag, err);
            if (rc == PQF_OK)
                rc = add_ssec(&calls[k], err);
            if (rc == PQF_OK)
                rc = add_copy_source_ssec(&calls[k], src, err);
            if (rc != PQF_OK)
                break;
            calls[k].http.resp_limit = ERR_RESP_LIMIT;
            nos[k] = next;
            busy[k] = true;
            pqf__http_submit(dst->http, &calls[k].http);
            p->parts[next].size = b - a + 1;
            next++;
            inflight++;
        }
        if (!inflight)
            break;
        unsigned k = head;
        pqf__http_wait(dst->http, &calls[k].http);
        busy[k] = false;
        inflight--;
        head = (head + 1) % dst->concurrency;
        copy_xml x = {{0}, {0}, {0}};
        if (rc == PQF_OK)
            rc = call_result(&calls[k], err);
        if (rc == PQF_OK && !copy_answer(&calls[k], &x))
            rc = pqf_error_set(err, PQF_ERR_REMOTE,
                               "UploadPartCopy s3://%s/%s part %u: HTTP %ld without a "
                               "CopyPartResult ETag",
                               dst->bucket, p->fk, nos[k], calls[k].http.status);
        if (rc == PQF_OK) {
            part_rec *r = &p->parts[nos[k]];
            snprintf(r->etag, sizeof r->etag, "%s", x.etag);
            /* The part ETag is the MD5 of its bytes (unencrypted objects). */
            for (int i = 0; i < 16 && strlen(x.etag) == 32; i++) {
                unsigned v;
                sscanf(x.etag + 2 * i, "%2x", &v);
                r->md5[i] = (uint8_t)v;
            }
            r->have = true;
        }
        call_free(&calls[k]);
    }
    free(nos);
    if (rc == PQF_OK) {
        p->next_part = nparts + 1;
        p->total = info.size;
        rc = mp_complete(p, err);
    }
    if (rc != PQF_OK && p->upload_id) {
        pqf_error e2 = {0};
        s3_abort_upload(dstt, dst_key, p->upload_id, &e2);
    }
done:
    slots_free(dst, calls, busy, NULL, dst->concurrency);
    free(busy);
    if (p) {
        p->slots = NULL;
        put_destroy(p);
    }
    free(sfk);
    pqf__buf_free(&cs);
    pqf__buf_free(&q);
    return rc;
}

/* ---- bucket versioning ---------------------------------------------------------- */

static pqf_err s3_get_versioning(pqf_store *st, pqf_versioning *out, pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_err rc = PQF_OK;
    s3_call c;
    char status[32] = "";
    leaf_xml x = {"VersioningConfiguration/Status", status, sizeof status, false};
    memset(&c, 0, sizeof c);
    PQF_TRY(call_init(&c, s, "GET", NULL, "versioning=", err));
    PQF_TRY(call_run(&c, err));
    PQF_TRY(pqf__xml_parse(c.http.resp.data, c.http.resp.len, NULL, leaf_end, &x, err));
    *out = strcmp(status, "Enabled") == 0     ? PQF_VERSIONING_ENABLED
           : strcmp(status, "Suspended") == 0 ? PQF_VERSIONING_SUSPENDED
                                              : PQF_VERSIONING_OFF;
done:
    call_free(&c);
    return rc;
}

static pqf_err s3_set_versioning(pqf_store *st, pqf_versioning v, pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_err rc = PQF_OK;
    s3_call c;
    char body[200];
    memset(&c, 0, sizeof c);
    int n = snprintf(body, sizeof body,
                     "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                     "<Status>%s</Status></VersioningConfiguration>",
                     v == PQF_VERSIONING_ENABLED ? "Enabled" : "Suspended");
    PQF_TRY(call_init(&c, s, "PUT", NULL, "versioning=", err));
    PQF_TRY(call_body(&c, (const uint8_t *)body, (size_t)n, NULL, err));
    PQF_TRY(call_run(&c, err));
done:
    call_free(&c);
    return rc;
}

/* ---- bucket configuration subresources (src/store/bucket.c) ---------------------- */

static const pqf__store_vt s3_vt; /* defined below */

pqf_err pqf__s3_bucket_call(pqf_store *st, const char *method, const char *subresource,
                            const char *body, size_t len, size_t cap, pqf__s3_resp *out,
                            pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_err rc = PQF_OK;
    s3_call c;
    char q[64];
    memset(&c, 0, sizeof c);
    memset(out, 0, sizeof *out);
    if (st->vt != &s3_vt)
        return pqf_error_set(err, PQF_ERR_UNSUPPORTED, "%s: not an S3 store", st->uri);
    snprintf(q, sizeof q, "%s=", subresource);
    PQF_TRY(call_init(&c, s, method, NULL, q, err));
    snprintf(c.what, sizeof c.what, "%s s3://%s/?%s", method, s->bucket, subresource);
    c.http.resp_limit = cap;
    if (body)
        PQF_TRY(call_body(&c, (const uint8_t *)body, len, NULL, err));
    pqf__http_run(s->http, &c.http);
    out->status = c.http.status;
    rc = call_result(&c, err);
    if (rc != PQF_OK && c.http.resp.len) {
        err_xml e = {0};
        pqf__xml_parse(c.http.resp.data, c.http.resp.len, NULL, err_end, &e, NULL);
        snprintf(out->code, sizeof out->code, "%s", e.code);
    }
    if (c.http.resp.len && pqf__buf_cstr(&c.http.resp) == PQF_OK)
        out->body = (char *)pqf__buf_steal(&c.http.resp, &out->len);
done:
    call_free(&c);
    return rc;
}

const char *pqf__s3_bucket_name(const pqf_store *st)
{
    return st->vt == &s3_vt ? ((const s3_store *)st)->bucket : NULL;
}

const char *pqf__s3_prefix(const pqf_store *st)
{
    return st->vt == &s3_vt ? ((const s3_store *)st)->prefix : NULL;
}

/* ---- presign -------------------------------------------------------------------- */

static pqf_err s3_presign(pqf_store *st, const char *method, const char *key, unsigned expires_s,
                          char **url, pqf_error *err)
{
    s3_store *s = (s3_store *)st;
    pqf_err rc = PQF_OK;
    char *fk = NULL;
    char date[17];
    pqf__buf path, q, u;
    pqf__buf_init(&path, 8192);
    pqf__buf_init(&q, 16384);
    pqf__buf_init(&u, 32768);
    if (s->no_sign)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "presign needs credentials");
    PQF_TRY(full_key(s, key, &fk, err));
    if (pqf__buf_printf(&path, "%s/%s", s->path_base, fk) != PQF_OK || pqf__buf_cstr(&path))
        PQF_FAIL(err, PQF_ERR_LIMIT, "key too long");
    pqf__amz_date((long long)time(NULL), date);
    pqf__sigv4_header h[] = {{"host", s->host}};
    pqf__sigv4_req r = {.method = method,
                        .path = (char *)path.data,
                        .headers = h,
                        .nheaders = 1,
                        .region = s->region,
                        .service = "s3",
                        .amz_date = date};
    pthread_mutex_lock(&s->cmu);
    pqf__sigv4_creds sc = {s->creds.access_key_id, s->creds.secret_access_key,
                           s->creds.session_token};
    rc = pqf__sigv4_presign(&r, &sc, expires_s, &q, err);
    pthread_mutex_unlock(&s->cmu);
    PQF_TRY(rc);
    if (pqf__buf_printf(&u, "%s://%s", s->scheme, s->host) != PQF_OK ||
        pqf__uri_encode(&u, (char *)path.data, path.len, true) != PQF_OK ||
        pqf__buf_printf(&u, "?%.*s", (int)q.len, (char *)q.data) != PQF_OK ||
        pqf__buf_cstr(&u) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_LIMIT, "URL too long");
    *url = (char *)pqf__buf_steal(&u, NULL);
done:
    free(fk);
    pqf__buf_free(&path);
    pqf__buf_free(&q);
    pqf__buf_free(&u);
    return rc;
}

/* ---- open ----------------------------------------------------------------------- */

static void s3_destroy(pqf_store *st)
{
    s3_store *s = (s3_store *)st;
    pqf__http_free(s->http);
    pqf__creds_clear(&s->creds);
    pthread_mutex_destroy(&s->cmu);
    free(s->bucket);
    free(s->prefix);
    free(s->scheme);
    free(s->host);
    free(s->url_base);
    free(s->path_base);
    free(s->endpoint_id);
    free(s->region);
    free(s->profile);
    free(s->kms_key_id);
    free(s->kms_context_b64);
    memset(s->ssec_key_b64, 0, sizeof s->ssec_key_b64);
    free(s);
}

static const pqf__store_vt s3_vt = {
    .kind = "s3",
    .put = s3_put_open,
    .open_read = s3_open_read,
    .get_to = s3_get_to,
    .head = s3_head,
    .list = s3_list,
    .del = s3_del,
    .del_many = s3_del_many,
    .copy = s3_copy,
    .get_versioning = s3_get_versioning,
    .set_versioning = s3_set_versioning,
    .list_versions = s3_list_versions,
    .list_uploads = s3_list_uploads,
    .abort_upload = s3_abort_upload,
    .presign = s3_presign,
    .destroy = s3_destroy,
};

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static bool dns_safe(const char *b)
{
    for (const char *p = b; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
            return false;
    return true;
}

static pqf_err load_ssec_key(s3_store *s, const char *file, pqf_error *err)
{
    char *data = NULL;
    size_t len = 0;
    pqf_err rc = PQF_OK;
    if (!file)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "SSE-C needs a key file");
    PQF_TRY(pqf__read_file(file, 4096, &data, &len, err));
    if (len != 32)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: an SSE-C key file holds exactly 32 bytes (has %zu)",
                 file, len);
    uint8_t d[16];
    b64((uint8_t *)data, 32, s->ssec_key_b64);
    md5(data, 32, d);
    b64(d, 16, s->ssec_md5_b64);
done:
    if (data)
        memset(data, 0, len);
    free(data);
    return rc;
}

pqf_err pqf__store_s3_open(const char *bucket, const char *prefix, const pqf_store_options *o,
                           pqf_store **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__profile prof = {0};
    pqf__buf b;
    pqf__buf_init(&b, 8192);
    s3_store *s = calloc(1, sizeof *s);
    if (!s)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&s->cmu, NULL);
    s->base.vt = &s3_vt;
    PQF_TRY(pqf__profile_load(o->profile, &prof, err));
    s->bucket = strdup(bucket);
    s->profile = xstrdup(o->profile);
    size_t pl = strlen(prefix);
    while (pl && prefix[pl - 1] == '/')
        pl--;
    s->prefix = malloc(pl + 2);
    if (!s->bucket || !s->prefix || (o->profile && !s->profile))
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    memcpy(s->prefix, prefix, pl);
    if (pl)
        s->prefix[pl++] = '/';
    s->prefix[pl] = 0;
    const char *region = o->region                   ? o->region
                         : env("AWS_REGION")         ? env("AWS_REGION")
                         : env("AWS_DEFAULT_REGION") ? env("AWS_DEFAULT_REGION")
                         : prof.region               ? prof.region
                                                     : "us-east-1";
    s->region = strdup(region);
    const char *ep = o->endpoint_url              ? o->endpoint_url
                     : env("AWS_ENDPOINT_URL_S3") ? env("AWS_ENDPOINT_URL_S3")
                     : env("AWS_ENDPOINT_URL")    ? env("AWS_ENDPOINT_URL")
                                                  : prof.endpoint_url;
    bool custom = ep != NULL;
    if (!ep) {
        if (pqf__buf_printf(&b, "https://s3.%s.amazonaws.com", region) != PQF_OK ||
            pqf__buf_cstr(&b) != PQF_OK)
            PQF_FAIL(err, PQF_ERR_LIMIT, "region name too long");
        ep = (const char *)b.data;
    }
    const char *sep = strstr(ep, "://");
    if (!sep || (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "endpoint '%s' is not an http:// or https:// URL", ep);
    s->scheme = strndup(ep, (size_t)(sep - ep));
    if (!s->scheme)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    s->tls = strcmp(s->scheme, "https") == 0;
    const char *hp = sep + 3;
    size_t hl = strcspn(hp, "/?#");
    if (hl == 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "endpoint '%s' has no host", ep);
    bool virt = o->addressing == PQF_ADDR_VIRTUAL ||
                (o->addressing == PQF_ADDR_AUTO && !custom && dns_safe(bucket));
    size_t n = hl + strlen(bucket) + 2;
    s->host = malloc(n);
    s->path_base = malloc(strlen(bucket) + 2);
    s->endpoint_id = malloc(hl + strlen(region) + strlen(s->scheme) + 8);
    if (!s->scheme || !s->region || !s->host || !s->path_base || !s->endpoint_id)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    if (virt) {
        snprintf(s->host, n, "%s.%.*s", bucket, (int)hl, hp);
        s->path_base[0] = 0;
    } else {
        snprintf(s->host, n, "%.*s", (int)hl, hp);
        snprintf(s->path_base, strlen(bucket) + 2, "/%s", bucket);
    }
    sprintf(s->endpoint_id, "%s://%.*s|%s", s->scheme, (int)hl, hp, region);
    s->no_sign = o->no_sign;
    s->sign_payload = o->sign_payload;
    if (!s->no_sign)
        PQF_TRY(pqf__creds_resolve(o, &s->creds, err));
    s->concurrency = o->concurrency ? PQF_MIN(o->concurrency, 64u) : 8;
    s->part_size = pqf_store_part_size(o->part_size, 0);
    s->copy_threshold =
        o->multipart_threshold ? PQF_MIN(o->multipart_threshold, 5ull << 30) : 5ull << 30;
    s->sse = o->sse;
    s->kms_key_id = xstrdup(o->sse_kms_key_id);
    if (o->sse_kms_context) {
        size_t cl = strlen(o->sse_kms_context);
        if (cl > 4096)
            PQF_FAIL(err, PQF_ERR_INVALID_ARG, "SSE-KMS context longer than 4 KiB");
        s->kms_context_b64 = malloc(4 * ((cl + 2) / 3) + 1);
        if (!s->kms_context_b64)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        b64((const uint8_t *)o->sse_kms_context, cl, s->kms_context_b64);
    }
    if (s->sse == PQF_SSE_C)
        PQF_TRY(load_ssec_key(s, o->sse_c_key_file, err));
    unsigned attempts = o->max_attempts;
    if (!attempts && env("AWS_MAX_ATTEMPTS"))
        attempts = (unsigned)strtoul(env("AWS_MAX_ATTEMPTS"), NULL, 10);
    const char *ca = o->ca_bundle           ? o->ca_bundle
                     : env("AWS_CA_BUNDLE") ? env("AWS_CA_BUNDLE")
                                            : prof.ca_bundle;
    if (ca && !o->insecure) {
        /* A bundle that cannot be read would surface as "verification
         * failed" on the first request: name the file instead. */
        FILE *cf = fopen(ca, "r");
        if (!cf)
            PQF_FAIL(err, PQF_ERR_IO, "CA bundle %s (from %s): %s", ca,
                     o->ca_bundle           ? "the options"
                     : env("AWS_CA_BUNDLE") ? "AWS_CA_BUNDLE"
                                            : "the profile's ca_bundle",
                     strerror(errno));
        fclose(cf);
    }
    if (o->insecure)
        fprintf(stderr,
                "pqfeed: WARNING: TLS certificate verification is OFF for %s "
                "(--insecure): anyone on the network path can read and alter the data\n",
                ep);
    pqf__http_opts ho = {.ca_bundle = ca,
                         .insecure = o->insecure,
                         .max_attempts = attempts ? attempts : 5,
                         .retry_base_ms = o->retry_base_ms ? o->retry_base_ms : 100,
                         .connect_timeout_s = o->connect_timeout_s ? o->connect_timeout_s : 10,
                         .read_timeout_s = o->read_timeout_s ? o->read_timeout_s : 60,
                         .stats = &s->base};
    PQF_TRY(pqf__http_new(&ho, &s->http, err));
    size_t ul = strlen(bucket) + pl + 8;
    s->base.uri = malloc(ul);
    if (!s->base.uri)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    snprintf(s->base.uri, ul, "s3://%s%s%.*s", bucket, pl ? "/" : "", pl ? (int)pl - 1 : 0,
             s->prefix);
    *out = &s->base;
    s = NULL;
done:
    pqf__profile_clear(&prof);
    pqf__buf_free(&b);
    if (s) {
        free(s->base.uri);
        s3_destroy(&s->base);
    }
    return rc;
}
