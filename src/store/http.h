/* Internal: HTTP over the libcurl multi interface, with retries.
 *
 * One engine per S3 store: a thread drives a curl multi handle, so many
 * transfers are in flight at once over reused connections, while callers
 * submit requests and wait for them. Each attempt is (re)signed through a
 * callback, so a retry after a backoff carries a fresh date. Retries use
 * exponential backoff with full jitter (delay = random(0, min(20 s, base x
 * 2^attempt))) on connection failures, timeouts, 500, 502, 503 (SlowDown),
 * 504 and RequestTimeout; a request marked unsafe (not idempotent) is retried
 * only when it surely was not processed (no connection, or 503).
 *
 * Every body read from the network lands in a capped buffer. */
#ifndef PQF_STORE_HTTP_H
#define PQF_STORE_HTTP_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "pqfeed/error.h"

struct pqf_store;
typedef struct pqf__http pqf__http;
typedef struct pqf__http_req pqf__http_req;

typedef struct pqf__http_opts {
    const char *ca_bundle;
    bool insecure;
    unsigned max_attempts;      /* >= 1 */
    unsigned retry_base_ms;     /* > 0 */
    unsigned connect_timeout_s; /* > 0 */
    unsigned read_timeout_s;    /* > 0 */
    struct pqf_store *stats;    /* counters to bump (may be NULL) */
} pqf__http_opts;

/* Builds the request headers of one attempt (signing them); called on the
 * engine thread before every attempt. */
typedef pqf_err (*pqf__http_sign_fn)(void *ud, pqf__http_req *r, struct curl_slist **hdrs,
                                     pqf_error *err);

struct pqf__http_req {
    /* ---- set by the caller (pointers must stay valid until done) ---- */
    const char *method; /* "GET", "HEAD", "PUT", "POST", "DELETE" */
    const char *url;
    const uint8_t *body; /* PUT/POST payload */
    size_t body_len;
    uint8_t *dst; /* GET: a 2xx body goes here (at most dst_cap bytes) */
    size_t dst_cap;
    size_t resp_limit; /* cap of resp (error bodies and non-dst bodies); 0: 1 MiB */
    bool unsafe;       /* not idempotent: see above */
    pqf__http_sign_fn sign;
    void *sign_ud;
    /* ---- results (valid after pqf__http_wait) ---- */
    long status;    /* HTTP status of the last attempt; 0 on transport failure */
    pqf__buf resp;  /* response body (capped) */
    size_t dst_len; /* bytes written to dst */
    pqf__buf hdrs;  /* raw response headers of the last attempt (capped) */
    unsigned attempts;
    CURLcode curl_rc;
    char curl_err[CURL_ERROR_SIZE];
    pqf_error err; /* set when the request could not be made at all (signing, limits) */
    /* ---- engine private ---- */
    CURL *easy;
    struct curl_slist *req_hdrs;
    size_t body_off;
    uint64_t due_ms;
    bool done, overflow;
    pqf__http *engine; /* set per attempt (the socket ACK in the header callback) */
    pthread_cond_t *waiter; /* the waiting thread's own: finish wakes it alone */
    pqf__http_req *next;
};

pqf_err pqf__http_new(const pqf__http_opts *o, pqf__http **out, pqf_error *err);
/* Stops the engine; every request must be done. NULL is fine. */
void pqf__http_free(pqf__http *h);

/* Prepare r for (re)use: results cleared, buffers kept. */
void pqf__http_req_init(pqf__http_req *r);
void pqf__http_req_free(pqf__http_req *r);

/* Hand r to the engine. It is done when pqf__http_wait returns. */
void pqf__http_submit(pqf__http *h, pqf__http_req *r);
void pqf__http_wait(pqf__http *h, pqf__http_req *r);
/* true once r is done (no waiting). */
bool pqf__http_is_done(pqf__http *h, pqf__http_req *r);
/* submit + wait. */
void pqf__http_run(pqf__http *h, pqf__http_req *r);

/* Value of response header name (case-insensitive), trimmed, into out.
 * Returns false when absent (out is then ""). */
bool pqf__http_header(const pqf__http_req *r, const char *name, char *out, size_t cap);

/* The backoff before attempt n (n >= 1 is the first retry), full jitter. */
unsigned pqf__http_backoff_ms(unsigned base_ms, unsigned n, uint64_t *rng);

#endif
