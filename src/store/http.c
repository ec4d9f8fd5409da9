/* The HTTP engine: one thread, one curl multi handle; see http.h. */
#include "store/http.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "store/store_impl.h"

#define HDRS_LIMIT (64 << 10)
#define RETRY_CAP_MS 20000u

typedef struct ack_sock {
    curl_socket_t fd;
    long port; /* local; 0 until looked up */
} ack_sock;

struct pqf__http {
    pqf__http_opts o;
    ack_sock socks[256]; /* the sockets curl opened through open_cb (ack_now) */
    unsigned nsocks;
    char *ca_bundle;
    CURLM *multi;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pqf__http_req *pending; /* waiting to start (due_ms) */
    unsigned running;
    bool stop;
    uint64_t rng;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

unsigned pqf__http_backoff_ms(unsigned base_ms, unsigned n, uint64_t *rng)
{
    uint64_t cap = base_ms;
    for (unsigned i = 0; i < n && cap < RETRY_CAP_MS; i++)
        cap *= 2;
    if (cap > RETRY_CAP_MS)
        cap = RETRY_CAP_MS;
    /* xorshift64*: jitter needs no cryptographic quality. */
    uint64_t x = *rng ? *rng : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *rng = x;
    return (unsigned)((x * 2685821657736338717ull) % (cap + 1));
}

void pqf__http_req_init(pqf__http_req *r)
{
    r->status = 0;
    if (!r->resp.limit)
        pqf__buf_init(&r->resp, r->resp_limit ? r->resp_limit : 1 << 20);
    r->resp.limit = r->resp_limit ? r->resp_limit : 1 << 20;
    pqf__buf_reset(&r->resp);
    if (!r->hdrs.limit)
        pqf__buf_init(&r->hdrs, HDRS_LIMIT);
    pqf__buf_reset(&r->hdrs);
    r->dst_len = 0;
    r->attempts = 0;
    r->curl_rc = CURLE_OK;
    r->curl_err[0] = 0;
    pqf_error_clear(&r->err);
    r->body_off = 0;
    r->due_ms = 0;
    r->done = r->overflow = false;
    r->waiter = NULL;
    r->next = NULL;
}

void pqf__http_req_free(pqf__http_req *r)
{
    if (!r)
        return;
    pqf__buf_free(&r->resp);
    pqf__buf_free(&r->hdrs);
    curl_slist_free_all(r->req_hdrs);
    r->req_hdrs = NULL;
    if (r->easy)
        curl_easy_cleanup(r->easy);
    r->easy = NULL;
}

/* ---- curl callbacks ----------------------------------------------------------- */

static size_t write_cb(char *p, size_t sz, size_t n, void *ud)
{
    pqf__http_req *r = ud;
    size_t len = sz * n;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (r->dst && status >= 200 && status < 300) {
        if (len > r->dst_cap - r->dst_len) {
            r->overflow = true;
            return 0;
        }
        memcpy(r->dst + r->dst_len, p, len);
        r->dst_len += len;
    } else if (pqf__buf_append(&r->resp, p, len) != PQF_OK) {
        r->overflow = true;
        return 0;
    }
    return len;
}

/* The end of a response's headers: acknowledge them now. A server that
 * writes headers and body separately with Nagle's algorithm on (RGW's beast
 * frontend by default) holds a small body until the headers are acknowledged,
 * and on a reused connection Linux delays that ACK by up to 40 ms: every small
 * GET paid it (a replication of four small commits took 0.43 s, 0.05 s with
 * it gone). TCP_QUICKACK sends the pending ACK at once. curl does not say
 * which socket a transfer is on until it is done, so the engine keeps the
 * sockets it opened (open_cb/close_cb, engine thread only) and finds this
 * transfer's by its local port. */
static void ack_now(pqf__http_req *r)
{
#ifdef TCP_QUICKACK
    pqf__http *h = r->engine;
    long port = 0;
    if (!h || curl_easy_getinfo(r->easy, CURLINFO_LOCAL_PORT, &port) != CURLE_OK || port <= 0)
        return;
    for (unsigned i = 0; i < h->nsocks; i++) {
        if (!h->socks[i].port) {
            struct sockaddr_storage a;
            socklen_t al = sizeof a;
            if (getsockname(h->socks[i].fd, (struct sockaddr *)&a, &al) != 0)
                continue;
            if (a.ss_family == AF_INET)
                h->socks[i].port = ntohs(((struct sockaddr_in *)&a)->sin_port);
            else if (a.ss_family == AF_INET6)
                h->socks[i].port = ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
        }
        if (h->socks[i].port == port) {
            int one = 1;
            (void)setsockopt(h->socks[i].fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
            return;
        }
    }
#else
    (void)r;
#endif
}

static curl_socket_t open_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    pqf__http *h = ud;
    (void)purpose;
    curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd != CURL_SOCKET_BAD && h->nsocks < PQF_ARRAY_LEN(h->socks))
        h->socks[h->nsocks++] = (ack_sock){fd, 0};
    return fd;
}

static int close_cb(void *ud, curl_socket_t fd)
{
    pqf__http *h = ud;
    for (unsigned i = 0; i < h->nsocks; i++)
        if (h->socks[i].fd == fd) {
            h->socks[i] = h->socks[--h->nsocks];
            break;
        }
    return close(fd);
}

static size_t header_cb(char *p, size_t sz, size_t n, void *ud)
{
    pqf__http_req *r = ud;
    size_t len = sz * n;
    /* A new status line (100 Continue, then the real one): start over. */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        pqf__buf_reset(&r->hdrs);
    if (pqf__buf_append(&r->hdrs, p, len) != PQF_OK) {
        r->overflow = true;
        return 0;
    }
    if (len <= 2 && (p[0] == '\r' || p[0] == '\n'))
        ack_now(r);
    return len;
}

static size_t read_cb(char *buf, size_t sz, size_t n, void *ud)
{
    pqf__http_req *r = ud;
    size_t want = sz * n, left = r->body_len - r->body_off;
    if (want > left)
        want = left;
    if (want)
        memcpy(buf, r->body + r->body_off, want);
    r->body_off += want;
    return want;
}

static int seek_cb(void *ud, curl_off_t off, int origin)
{
    pqf__http_req *r = ud;
    if (origin != SEEK_SET || off < 0 || (size_t)off > r->body_len)
        return CURL_SEEKFUNC_FAIL;
    r->body_off = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

/* ---- attempts ----------------------------------------------------------------- */

static bool start_attempt(pqf__http *h, pqf__http_req *r)
{
    r->attempts++;
    r->status = 0;
    r->body_off = 0;
    r->dst_len = 0;
    r->overflow = false;
    r->curl_rc = CURLE_OK;
    r->curl_err[0] = 0;
    pqf__buf_reset(&r->resp);
    pqf__buf_reset(&r->hdrs);
    curl_slist_free_all(r->req_hdrs);
    r->req_hdrs = NULL;
    if (r->sign && r->sign(r->sign_ud, r, &r->req_hdrs, &r->err) != PQF_OK)
        return false;
    struct curl_slist *l = curl_slist_append(r->req_hdrs, "Expect:");
    if (!l) {
        pqf_error_set(&r->err, PQF_ERR_NOMEM, "out of memory");
        return false;
    }
    r->req_hdrs = l;
    if (!r->easy)
        r->easy = curl_easy_init();
    else
        curl_easy_reset(r->easy);
    CURL *e = r->easy;
    r->engine = h;
    if (!e) {
        pqf_error_set(&r->err, PQF_ERR_NOMEM, "curl_easy_init failed");
        return false;
    }
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->req_hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_cb);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, h);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, h);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_err);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)h->o.connect_timeout_s);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)h->o.read_timeout_s);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L << 10);
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
    curl_easy_setopt(e, CURLOPT_USERAGENT,
                     "pqfeed/"
                     "0.1");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (h->ca_bundle)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_bundle);
    if (h->o.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, r);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, r);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
    } else if (strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        pqf_error_set(&r->err, PQF_ERR_INTERNAL, "curl_multi_add_handle failed");
        return false;
    }
    h->running++;
    if (h->o.stats)
        atomic_fetch_add(&h->o.stats->requests, 1);
    return true;
}

static bool body_has_code(const pqf__http_req *r, const char *code)
{
    char pat[64];
    snprintf(pat, sizeof pat, "<Code>%s</Code>", code);
    if (!r->resp.len)
        return false;
    return memmem(r->resp.data, r->resp.len, pat, strlen(pat)) != NULL;
}

static bool should_retry(const pqf__http *h, const pqf__http_req *r)
{
    if (r->attempts >= h->o.max_attempts || r->overflow || r->err.code)
        return false;
    if (r->curl_rc != CURLE_OK) {
        switch (r->curl_rc) {
        case CURLE_COULDNT_CONNECT:
            return true;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_PARTIAL_FILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_WEIRD_SERVER_REPLY:
            return !r->unsafe;
        default:
            return false;
        }
    }
    if (r->status == 503)
        return true; /* SlowDown / ServiceUnavailable: not processed */
    if (r->unsafe)
        return false;
    if (r->status == 500 || r->status == 502 || r->status == 504)
        return true;
    return r->status == 400 && body_has_code(r, "RequestTimeout");
}

/* Wake the request's own waiter only: a broadcast on one condition for all
 * requests woke every waiting thread at each answer (with 16 streams, 15 went
 * back to sleep each time). */
static void finish(pqf__http *h, pqf__http_req *r)
{
    pthread_mutex_lock(&h->mu);
    r->done = true;
    if (r->waiter)
        pthread_cond_signal(r->waiter);
    pthread_mutex_unlock(&h->mu);
}

static void on_complete(pqf__http *h, CURL *e, CURLcode res)
{
    pqf__http_req *r = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
    curl_multi_remove_handle(h->multi, e);
    h->running--;
    r->curl_rc = res;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    if (h->o.stats) {
        curl_off_t up = 0, down = 0;
        curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &up);
        curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &down);
        atomic_fetch_add(&h->o.stats->bytes_up, (uint64_t)up);
        atomic_fetch_add(&h->o.stats->bytes_down, (uint64_t)down);
    }
    if (r->overflow && r->err.code == PQF_OK)
        pqf_error_set(&r->err, PQF_ERR_LIMIT, "%s %s: response larger than expected", r->method,
                      r->url);
    if (should_retry(h, r)) {
        if (h->o.stats)
            atomic_fetch_add(&h->o.stats->retries, 1);
        r->due_ms = now_ms() + pqf__http_backoff_ms(h->o.retry_base_ms, r->attempts, &h->rng);
        pthread_mutex_lock(&h->mu);
        r->next = h->pending;
        h->pending = r;
        pthread_mutex_unlock(&h->mu);
        return;
    }
    finish(h, r);
}

static void *engine(void *ud)
{
    pqf__http *h = ud;
    for (;;) {
        /* Take what is due out of the pending list. */
        uint64_t now = now_ms(), next_due = UINT64_MAX;
        pqf__http_req *start = NULL;
        pthread_mutex_lock(&h->mu);
        if (h->stop && !h->pending && h->running == 0) {
            pthread_mutex_unlock(&h->mu);
            break;
        }
        for (pqf__http_req **pp = &h->pending; *pp;) {
            pqf__http_req *r = *pp;
            if (r->due_ms <= now) {
                *pp = r->next;
                r->next = start;
                start = r;
            } else {
                if (r->due_ms < next_due)
                    next_due = r->due_ms;
                pp = &r->next;
            }
        }
        pthread_mutex_unlock(&h->mu);
        while (start) {
            pqf__http_req *r = start;
            start = r->next;
            r->next = NULL;
            if (!start_attempt(h, r))
                finish(h, r);
        }
        int still = 0;
        curl_multi_perform(h->multi, &still);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(h->multi, &left)))
            if (m->msg == CURLMSG_DONE)
                on_complete(h, m->easy_handle, m->data.result);
        int timeout = 1000;
        if (next_due != UINT64_MAX) {
            uint64_t t = now_ms();
            timeout = next_due <= t ? 0 : (int)PQF_MIN(next_due - t, (uint64_t)1000);
        }
        pthread_mutex_lock(&h->mu);
        bool more = h->pending != NULL && h->pending->due_ms <= now_ms();
        pthread_mutex_unlock(&h->mu);
        if (!more)
            curl_multi_poll(h->multi, NULL, 0, timeout, NULL);
    }
    return NULL;
}

pqf_err pqf__http_new(const pqf__http_opts *o, pqf__http **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    *out = NULL;
    pthread_once(&curl_once, curl_init_once);
    pqf__http *h = calloc(1, sizeof *h);
    if (!h)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    h->o = *o;
    h->rng = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)h;
    pthread_mutex_init(&h->mu, NULL);
    if (o->ca_bundle) {
        h->ca_bundle = strdup(o->ca_bundle);
        if (!h->ca_bundle)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
    h->o.ca_bundle = h->ca_bundle;
    h->multi = curl_multi_init();
    if (!h->multi)
        PQF_FAIL(err, PQF_ERR_NOMEM, "curl_multi_init failed");
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
    /* Keep as many idle connections as may be open: by default curl keeps 4
     * per transfer in progress, so each lull (a commit published, a window
     * refilled) closed most of them and the next requests connected again
     * (one new connection per 13 requests in a streamed copy of 64 KiB
     * objects). */
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 64L);
    if (pthread_create(&h->thread, NULL, engine, h) != 0)
        PQF_FAIL(err, PQF_ERR_NOMEM, "cannot start the HTTP thread");
    h->started = true;
    *out = h;
    h = NULL;
done:
    pqf__http_free(h);
    return rc;
}

void pqf__http_free(pqf__http *h)
{
    if (!h)
        return;
    if (h->started) {
        pthread_mutex_lock(&h->mu);
        h->stop = true;
        pthread_mutex_unlock(&h->mu);
        curl_multi_wakeup(h->multi);
        pthread_join(h->thread, NULL);
    }
    if (h->multi)
        curl_multi_cleanup(h->multi);
    pthread_mutex_destroy(&h->mu);
    free(h->ca_bundle);
    free(h);
}

void pqf__http_submit(pqf__http *h, pqf__http_req *r)
{
    pqf__http_req_init(r);
    pthread_mutex_lock(&h->mu);
    r->next = h->pending;
    h->pending = r;
    pthread_mutex_unlock(&h->mu);
    curl_multi_wakeup(h->multi);
}

/* Each waiter sleeps on a condition of its own, so a finished request wakes
 * its one thread, not every thread waiting on the engine (with 16 workers
 * that was 16 wake-ups per request, a fifth of a small upload's CPU). */
void pqf__http_wait(pqf__http *h, pqf__http_req *r)
{
    pthread_mutex_lock(&h->mu);
    if (!r->done) {
        pthread_cond_t cv;
        pthread_cond_init(&cv, NULL);
        r->waiter = &cv;
        while (!r->done)
            pthread_cond_wait(&cv, &h->mu);
        r->waiter = NULL;
        pthread_cond_destroy(&cv);
    }
    pthread_mutex_unlock(&h->mu);
}

bool pqf__http_is_done(pqf__http *h, pqf__http_req *r)
{
    pthread_mutex_lock(&h->mu);
    bool d = r->done;
    pthread_mutex_unlock(&h->mu);
    return d;
}

void pqf__http_run(pqf__http *h, pqf__http_req *r)
{
    pqf__http_submit(h, r);
    pqf__http_wait(h, r);
}

bool pqf__http_header(const pqf__http_req *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = (const char *)r->hdrs.data, *end = p + r->hdrs.len;
    if (cap)
        out[0] = 0;
    while (p && p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        const char *le = e ? e : end;
        if ((size_t)(le - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (v < le && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = le;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            size_t n = (size_t)(ve - v);
            if (cap) {
                if (n >= cap)
                    n = cap - 1;
                memcpy(out, v, n);
                out[n] = 0;
            }
            return true;
        }
        p = e ? e + 1 : NULL;
    }
    return false;
}
