/* Prometheus metrics of replication (include/pqfeed/metrics.h).
 *
 * The HTTP server is written by hand: it answers one fixed GET on loopback
 * with a text page, which is less code than binding an HTTP library (none is
 * packaged with a blocking single-route server that fits here); it reads at
 * most REQ_MAX bytes of a request head within IO_TIMEOUT_S, and closes each
 * connection after one response.
 *
 * The refresher follows each (replica, table) link incrementally: after a
 * first scan (both heads, the pending commits' file sums), it probes the next
 * seq on each side with a HEAD and reads only commits it has not seen, so a
 * refresh costs O(changes), not O(backlog).
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "pqfeed/feed.h"
#include "pqfeed/metrics.h"
#include "replicate/repl_impl.h"
#include "replicate/state.h"

#define REQ_MAX 8192
#define IO_TIMEOUT_S 5
#define BODY_MAX (8u << 20)
#define REFRESH_MS 1000
#define MAX_SERIES 4096
#define MAX_CAUSES 12
#define READS_PER_REFRESH 2000 /* commit reads per link and refresh (a backlog converges) */

static const double lat_buckets[] = {0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600};
#define NBUCKETS (sizeof lat_buckets / sizeof lat_buckets[0])

typedef struct cause_count {
    char cause[32];
    uint64_t n;
} cause_count;

typedef struct series {
    char *replica, *table;
    /* refresher */
    bool scanned, live;
    uint64_t lo, hi;                 /* sums cover commits lo < seq <= hi */
    uint64_t pend_files, pend_bytes; /* of those commits */
    uint64_t ready_files, ready_bytes;
    uint64_t oldest_seq;
    int64_t oldest_created_ms;
    /* events */
    uint64_t published_total, bytes_published_total;
    int64_t last_latency_ms;
    uint64_t lat_counts[NBUCKETS + 1];
    double lat_sum_s;
    uint64_t lat_n;
    cause_count failed[MAX_CAUSES], retries[MAX_CAUSES];
    size_t nfailed, nretries;
} series;

struct pqf_repl_metrics {
    pqf_store *primary;
    pqf_store *const *replicas;
    size_t nreplicas;
    const pqf_replicate_opts *opts;
    int lfd;
    char addr[128];
    pthread_mutex_t mu; /* guards series and the counters below */
    series *s;
    size_t ns;
    uint64_t refresh_errors;
    pqf__rstate *st;            /* the refresher's connection to the state file */
    pthread_mutex_t refresh_mu; /* one refresh at a time */
    pthread_mutex_t quit_mu;
    pthread_cond_t quit_cv;
    bool quit;
    pthread_t server_th, refresh_th;
    bool server_up, refresh_up;
};

/* ---- series ------------------------------------------------------------------------------ */

/* Under m->mu. NULL on OOM or past MAX_SERIES. */
static series *series_get(pqf_repl_metrics *m, const char *replica, const char *table)
{
    for (size_t i = 0; i < m->ns; i++)
        if (strcmp(m->s[i].replica, replica) == 0 && strcmp(m->s[i].table, table) == 0)
            return &m->s[i];
    if (m->ns == MAX_SERIES)
        return NULL;
    series *nv = realloc(m->s, (m->ns + 1) * sizeof *nv);
    if (!nv)
        return NULL;
    m->s = nv;
    series *s = &m->s[m->ns];
    memset(s, 0, sizeof *s);
    s->replica = strdup(replica);
    s->table = strdup(table);
    s->last_latency_ms = -1;
    if (!s->replica || !s->table) {
        free(s->replica);
        free(s->table);
        return NULL;
    }
    m->ns++;
    return s;
}

static void cause_add(cause_count *v, size_t *n, const char *cause)
{
    const char *c = cause && *cause ? cause : "other";
    for (size_t i = 0; i < *n; i++)
        if (strcmp(v[i].cause, c) == 0) {
            v[i].n++;
            return;
        }
    if (*n == MAX_CAUSES)
        return;
    snprintf(v[*n].cause, sizeof v[*n].cause, "%s", c);
    v[*n].n = 1;
    (*n)++;
}

void pqf_repl_metrics_on_event(void *ud, const pqf_repl_event *ev)
{
    pqf_repl_metrics *m = ud;
    if (!m || !ev->replica || !ev->table)
        return;
    pthread_mutex_lock(&m->mu);
    series *s = series_get(m, ev->replica, ev->table);
    if (!s)
        goto done;
    switch (ev->kind) {
    case PQF_REPL_PUBLISHED: {
        s->published_total++;
        s->bytes_published_total += ev->bytes;
        int64_t ms = ev->lag_ms < 0 ? 0 : ev->lag_ms;
        double sec = (double)ms / 1000;
        s->last_latency_ms = ms;
        size_t b = 0;
        while (b < NBUCKETS && sec > lat_buckets[b])
            b++;
        s->lat_counts[b]++;
        s->lat_sum_s += sec;
        s->lat_n++;
        break;
    }
    case PQF_REPL_RETRY:
        cause_add(s->retries, &s->nretries, ev->cause);
        break;
    case PQF_REPL_FAILED:
        cause_add(s->failed, &s->nfailed, ev->cause);
        break;
    default:
        break;
    }
done:
    pthread_mutex_unlock(&m->mu);
}

/* ---- the refresher ---------------------------------------------------------------------- */

typedef struct link_view {
    uint64_t lo, hi, pend_files, pend_bytes, ready_files, ready_bytes, oldest_seq;
    int64_t oldest_created_ms;
    bool scanned;
} link_view;

static bool log_has(pqf_store *st, const char *table, uint64_t seq)
{
    char key[PQF_TABLE_NAME_MAX + 64];
    pqf_object_info info;
    pqf_error e = {0};
    pqf_feed_log_key(table, seq, key, sizeof key);
    return pqf_store_head(st, key, NULL, &info, &e) == PQF_OK;
}

/* Add (sign +1) or subtract (-1) commit seq's files to the view. */
static pqf_err account(pqf_feed *sf, const char *table, uint64_t seq, int sign, link_view *v,
                       int64_t *created_ms, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_commit *c = NULL;
    PQF_TRY(pqf_feed_read_commit(sf, table, seq, &c, err));
    if (sign > 0) {
        v->pend_files += c->nfiles;
        v->pend_bytes += c->bytes;
    } else {
        v->pend_files -= PQF_MIN(v->pend_files, (uint64_t)c->nfiles);
        v->pend_bytes -= PQF_MIN(v->pend_bytes, c->bytes);
    }
    if (created_ms)
        *created_ms = c->created_ms;
done:
    pqf_commit_free(c);
    return rc;
}

static pqf_err refresh_link(pqf_feed *sf, pqf_feed *df, pqf__rstate *st, const pqf__rlink *l,
                            link_view *v, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    unsigned reads = 0;
    if (!v->scanned) {
        uint64_t h = 0, p = 0;
        PQF_TRY(pqf_feed_head(sf, l->tbl, &h, err));
        PQF_TRY(pqf_feed_head(df, l->tbl, &p, err));
        memset(v, 0, sizeof *v);
        v->lo = v->hi = PQF_MIN(p, h);
        v->scanned = true;
        /* hi grows below, within the per-refresh read cap */
        while (v->hi < h && reads < READS_PER_REFRESH) {
            PQF_TRY(account(sf, l->tbl, v->hi + 1, 1, v, NULL, err));
            v->hi++;
            reads++;
        }
    }
    /* The primary's new commits. */
    while (reads < READS_PER_REFRESH && log_has(pqf_feed_store(sf), l->tbl, v->hi + 1)) {
        PQF_TRY(account(sf, l->tbl, v->hi + 1, 1, v, NULL, err));
        v->hi++;
        reads++;
    }
    /* The replica's publications (not past what was summed). */
    while (v->lo < v->hi && reads < READS_PER_REFRESH &&
           log_has(pqf_feed_store(df), l->tbl, v->lo + 1)) {
        PQF_TRY(account(sf, l->tbl, v->lo + 1, -1, v, NULL, err));
        v->lo++;
        reads++;
    }
    if (v->lo == v->hi) {
        v->pend_files = v->pend_bytes = 0;
        v->oldest_seq = 0;
        v->oldest_created_ms = 0;
    } else if (v->oldest_seq != v->lo + 1) {
        pqf_commit *c = NULL;
        PQF_TRY(pqf_feed_read_commit(sf, l->tbl, v->lo + 1, &c, err));
        v->oldest_seq = c->seq;
        v->oldest_created_ms = c->created_ms;
        pqf_commit_free(c);
    }
    v->ready_files = v->ready_bytes = 0;
    if (st && v->lo < v->hi)
        PQF_TRY(pqf__rstate_ready(st, l, v->lo, v->hi, &v->ready_files, &v->ready_bytes, err));
done:
    return rc;
}

static void refresh_all(pqf_repl_metrics *m)
{
    pqf_feed *sf = NULL, *df = NULL;
    char **tables = NULL;
    size_t ntables = 0;
    pqf_error e = {0};
    bool failed = false;
    pthread_mutex_lock(&m->refresh_mu);
    /* Kept open once it exists (before the first run it does not: then no
     * object is verified ahead). Only this thread uses the connection. */
    if (!m->st && m->opts->state_path &&
        pqf__rstate_open(m->opts->state_path, false, &m->st, &e) != PQF_OK)
        m->st = NULL;
    if (pqf_feed_open(m->primary, &sf, &e) != PQF_OK ||
        pqf__repl_tables(sf, m->opts, &tables, &ntables, &e) != PQF_OK) {
        failed = true;
        goto done;
    }
    for (size_t k = 0; k < m->nreplicas; k++) {
        pqf_feed_free(df);
        df = NULL;
        if (pqf_feed_open(m->replicas[k], &df, &e) != PQF_OK) {
            failed = true;
            continue;
        }
        for (size_t t = 0; t < ntables; t++) {
            if (!tables[t][0])
                continue;
            pqf__rlink l = {pqf_store_uri(m->primary), pqf_store_uri(m->replicas[k]), tables[t]};
            link_view v;
            memset(&v, 0, sizeof v);
            pthread_mutex_lock(&m->mu);
            series *s = series_get(m, l.dst, l.tbl);
            if (s) {
                v.scanned = s->scanned;
                v.lo = s->lo;
                v.hi = s->hi;
                v.pend_files = s->pend_files;
                v.pend_bytes = s->pend_bytes;
                v.oldest_seq = s->oldest_seq;
                v.oldest_created_ms = s->oldest_created_ms;
            }
            pthread_mutex_unlock(&m->mu);
            if (!s)
                continue;
            /* Outside the lock: store reads take time; only this thread
             * writes these fields. */
            bool was_scanned = v.scanned;
            if (refresh_link(sf, df, m->st, &l, &v, &e) != PQF_OK) {
                failed = true;
                if (!was_scanned)
                    v.scanned = false; /* half a first scan: start over */
            }
            pthread_mutex_lock(&m->mu);
            s = series_get(m, l.dst, l.tbl); /* the array may have moved */
            if (s) {
                s->live = true;
                s->scanned = v.scanned;
                s->lo = v.lo;
                s->hi = v.hi;
                s->pend_files = v.pend_files;
                s->pend_bytes = v.pend_bytes;
                s->ready_files = v.ready_files;
                s->ready_bytes = v.ready_bytes;
                s->oldest_seq = v.oldest_seq;
                s->oldest_created_ms = v.oldest_created_ms;
            }
            pthread_mutex_unlock(&m->mu);
        }
    }
done:
    if (failed) {
        pthread_mutex_lock(&m->mu);
        m->refresh_errors++;
        pthread_mutex_unlock(&m->mu);
    }
    pqf_strv_free(tables, ntables);
    pqf_feed_free(df);
    pqf_feed_free(sf);
    pthread_mutex_unlock(&m->refresh_mu);
}

void pqf_repl_metrics_refresh(pqf_repl_metrics *m)
{
    if (m)
        refresh_all(m);
}

static void *refresher(void *arg)
{
    pqf_repl_metrics *m = arg;
    for (;;) {
        refresh_all(m);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)REFRESH_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&m->quit_mu);
        while (!m->quit && pthread_cond_timedwait(&m->quit_cv, &m->quit_mu, &ts) == 0)
            ;
        bool q = m->quit;
        pthread_mutex_unlock(&m->quit_mu);
        if (q)
            break;
    }
    return NULL;
}

/* ---- exposition text ------------------------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped. */
static pqf_err put_label(pqf__buf *b, const char *v)
{
    pqf_err rc = PQF_OK;
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            PQF_TRY(pqf__buf_append_byte(b, '\\'));
        if (*p == '\n') {
            PQF_TRY(pqf__buf_append(b, "\\n", 2));
            continue;
        }
        PQF_TRY(pqf__buf_append_byte(b, (uint8_t)*p));
    }
done:
    return rc;
}

static pqf_err put_labels(pqf__buf *b, const series *s, const char *extra_k, const char *extra_v)
{
    pqf_err rc = PQF_OK;
    PQF_TRY(pqf__buf_append(b, "{replica=\"", 10));
    PQF_TRY(put_label(b, s->replica));
    PQF_TRY(pqf__buf_append(b, "\",table=\"", 9));
    PQF_TRY(put_label(b, s->table));
    if (extra_k) {
        PQF_TRY(pqf__buf_printf(b, "\",%s=\"", extra_k));
        PQF_TRY(put_label(b, extra_v));
    }
    PQF_TRY(pqf__buf_append(b, "\"}", 2));
done:
    return rc;
}

typedef enum {
    F_PEND_BYTES,
    F_PEND_OPS,
    F_PEND_COMMITS,
    F_PUB,
    F_HEAD,
    F_OLDEST,
    F_LAST_LAT,
    F_PUB_TOTAL,
    F_BYTES_TOTAL
} field;

static const struct {
    const char *name, *type, *help;
    field f;
} gauges[] = {
    {"pqf_replication_bytes_pending", "gauge",
     "Bytes of data files of unpublished commits not yet verified at the replica.", F_PEND_BYTES},
    {"pqf_replication_operations_pending", "gauge",
     "Data files of unpublished commits not yet verified at the replica.", F_PEND_OPS},
    {"pqf_replication_commits_pending", "gauge", "Commits of the primary not yet published.",
     F_PEND_COMMITS},
    {"pqf_replication_published_seq", "gauge", "The replica's head seq.", F_PUB},
    {"pqf_replication_head_seq", "gauge", "The primary's head seq.", F_HEAD},
    {"pqf_replication_oldest_pending_seconds", "gauge",
     "Age of the oldest unpublished commit (0: none).", F_OLDEST},
    {"pqf_replication_last_latency_seconds", "gauge",
     "Last publication: commit created to published at the replica.", F_LAST_LAT},
    {"pqf_replication_commits_published_total", "counter", "Commits published by this process.",
     F_PUB_TOTAL},
    {"pqf_replication_bytes_published_total", "counter",
     "Bytes of data files of the commits published by this process.", F_BYTES_TOTAL},
};

static pqf_err put_value(pqf__buf *b, const series *s, field f, int64_t now)
{
    switch (f) {
    case F_PEND_BYTES:
        return pqf__buf_printf(b, " %" PRIu64 "\n",
                               s->pend_bytes - PQF_MIN(s->pend_bytes, s->ready_bytes));
    case F_PEND_OPS:
        return pqf__buf_printf(b, " %" PRIu64 "\n",
                               s->pend_files - PQF_MIN(s->pend_files, s->ready_files));
    case F_PEND_COMMITS:
        return pqf__buf_printf(b, " %" PRIu64 "\n", s->hi - PQF_MIN(s->hi, s->lo));
    case F_PUB:
        return pqf__buf_printf(b, " %" PRIu64 "\n", s->lo);
    case F_HEAD:
        return pqf__buf_printf(b, " %" PRIu64 "\n", s->hi);
    case F_OLDEST:
        return pqf__buf_printf(b, " %.3f\n",
                               s->oldest_seq && now > s->oldest_created_ms
                                   ? (double)(now - s->oldest_created_ms) / 1000
                                   : 0.0);
    case F_LAST_LAT:
        return pqf__buf_printf(b, " %.3f\n",
                               s->last_latency_ms < 0 ? 0.0 : (double)s->last_latency_ms / 1000);
    case F_PUB_TOTAL:
        return pqf__buf_printf(b, " %" PRIu64 "\n", s->published_total);
    case F_BYTES_TOTAL:
        return pqf__buf_printf(b, " %" PRIu64 "\n", s->bytes_published_total);
    }
    return PQF_OK;
}

static pqf_err put_causes(pqf__buf *b, pqf_repl_metrics *m, const char *name, const char *help,
                          bool failed)
{
    pqf_err rc = PQF_OK;
    PQF_TRY(pqf__buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name));
    for (size_t i = 0; i < m->ns; i++) {
        const series *s = &m->s[i];
        const cause_count *v = failed ? s->failed : s->retries;
        size_t n = failed ? s->nfailed : s->nretries;
        for (size_t k = 0; k < n; k++) {
            PQF_TRY(pqf__buf_append(b, name, strlen(name)));
            PQF_TRY(put_labels(b, s, "cause", v[k].cause));
            PQF_TRY(pqf__buf_printf(b, " %" PRIu64 "\n", v[k].n));
        }
    }
done:
    return rc;
}

/* Under m->mu. */
static pqf_err render(pqf_repl_metrics *m, pqf__buf *b)
{
    pqf_err rc = PQF_OK;
    int64_t now = pqf__repl_now_ms();
    for (size_t g = 0; g < PQF_ARRAY_LEN(gauges); g++) {
        PQF_TRY(pqf__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", gauges[g].name, gauges[g].help,
                                gauges[g].name, gauges[g].type));
        for (size_t i = 0; i < m->ns; i++) {
            const series *s = &m->s[i];
            bool from_refresh = gauges[g].f <= F_OLDEST;
            if (from_refresh && !s->scanned)
                continue; /* not known yet: absent rather than a wrong 0 */
            PQF_TRY(pqf__buf_append(b, gauges[g].name, strlen(gauges[g].name)));
            PQF_TRY(put_labels(b, s, NULL, NULL));
            PQF_TRY(put_value(b, s, gauges[g].f, now));
        }
    }
    static const char lat[] = "pqf_replication_latency_seconds";
    PQF_TRY(pqf__buf_printf(b,
                            "# HELP %s Commit created to published at the replica, per "
                            "publication.\n# TYPE %s histogram\n",
                            lat, lat));
    for (size_t i = 0; i < m->ns; i++) {
        const series *s = &m->s[i];
        uint64_t cum = 0;
        char le[32];
        for (size_t k = 0; k <= NBUCKETS; k++) {
            cum += s->lat_counts[k];
            if (k < NBUCKETS)
                snprintf(le, sizeof le, "%g", lat_buckets[k]);
            else
                snprintf(le, sizeof le, "+Inf");
            PQF_TRY(pqf__buf_printf(b, "%s_bucket", lat));
            PQF_TRY(put_labels(b, s, "le", le));
            PQF_TRY(pqf__buf_printf(b, " %" PRIu64 "\n", cum));
        }
        PQF_TRY(pqf__buf_printf(b, "%s_sum", lat));
        PQF_TRY(put_labels(b, s, NULL, NULL));
        PQF_TRY(pqf__buf_printf(b, " %.3f\n", s->lat_sum_s));
        PQF_TRY(pqf__buf_printf(b, "%s_count", lat));
        PQF_TRY(put_labels(b, s, NULL, NULL));
        PQF_TRY(pqf__buf_printf(b, " %" PRIu64 "\n", s->lat_n));
    }
    PQF_TRY(put_causes(b, m, "pqf_replication_operations_failed_total",
                       "Objects given up on (their commit is not published), by cause.", true));
    PQF_TRY(put_causes(b, m, "pqf_replication_retries_total", "Object retries, by cause.", false));
    PQF_TRY(pqf__buf_printf(b,
                            "# HELP pqf_replication_refresh_errors_total Refreshes of the "
                            "gauges that failed (store or state file errors).\n"
                            "# TYPE pqf_replication_refresh_errors_total counter\n"
                            "pqf_replication_refresh_errors_total %" PRIu64 "\n",
                            m->refresh_errors));
done:
    return rc;
}

/* ---- the HTTP server ---------------------------------------------------------------------- */

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, int code, const char *reason, const char *ctype, const char *body,
                    size_t blen, bool head_only)
{
    char h[256];
    int n = snprintf(h, sizeof h,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     code, reason, ctype, blen);
    send_all(fd, h, (size_t)n);
    if (!head_only)
        send_all(fd, body, blen);
}

static void serve_one(pqf_repl_metrics *m, int fd)
{
    char req[REQ_MAX + 1];
    size_t n = 0;
    bool complete = false;
    pqf__buf b;
    pqf__buf_init(&b, BODY_MAX);
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    /* The head only; a GET has no body we would read. The receive timeout
     * bounds each read; the deadline bounds a client sending a byte at a time. */
    int64_t deadline = pqf__repl_now_ms() + IO_TIMEOUT_S * 1000;
    while (n < REQ_MAX && pqf__repl_now_ms() < deadline) {
        ssize_t r = recv(fd, req + n, REQ_MAX - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) {
            complete = true;
            break;
        }
    }
    req[n] = '\0';
    static const char tp[] = "text/plain; charset=utf-8";
    if (!complete) {
        if (n >= REQ_MAX)
            respond(fd, 431, "Request Header Fields Too Large", tp, "request head too large\n", 23,
                    false);
        else if (n > 0)
            respond(fd, 400, "Bad Request", tp, "incomplete request\n", 19, false);
        goto done;
    }
    /* Request line: METHOD SP TARGET SP HTTP/1.x */
    char method[16], target[1024], version[16];
    if (sscanf(req, "%15s %1023s %15s", method, target, version) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0) {
        respond(fd, 400, "Bad Request", tp, "bad request line\n", 17, false);
        goto done;
    }
    char *q = strchr(target, '?');
    if (q)
        *q = '\0';
    bool head = strcmp(method, "HEAD") == 0;
    if ((strcmp(method, "GET") != 0 && !head) || strcmp(target, "/metrics") != 0) {
        respond(fd, 404, "Not Found", tp, "not found; try GET /metrics\n", 28, head);
        goto done;
    }
    pthread_mutex_lock(&m->mu);
    pqf_err rc = render(m, &b);
    pthread_mutex_unlock(&m->mu);
    if (rc != PQF_OK) {
        respond(fd, 500, "Internal Server Error", tp, "metrics page too large\n", 23, false);
        goto done;
    }
    respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", (const char *)b.data, b.len,
            head);
done:
    pqf__buf_free(&b);
}

static void *server(void *arg)
{
    pqf_repl_metrics *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->quit_mu);
        bool q = m->quit;
        pthread_mutex_unlock(&m->quit_mu);
        if (q)
            break;
        struct pollfd pfd = {m->lfd, POLLIN, 0};
        int r = poll(&pfd, 1, 200);
        if (r <= 0)
            continue;
        int fd = accept(m->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_one(m, fd);
        close(fd);
    }
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static pqf_err parse_addr(const char *addr, char *host, size_t hcap, char *port, size_t pcap,
                          pqf_error *err)
{
    pqf_err rc = PQF_OK;
    const char *colon = strrchr(addr, ':');
    const char *h = "127.0.0.1";
    size_t hl = strlen(h);
    const char *p = addr;
    if (colon) {
        p = colon + 1;
        if (colon > addr) {
            h = addr;
            hl = (size_t)(colon - addr);
            if (h[0] == '[') {
                if (hl < 3 || h[hl - 1] != ']')
                    PQF_FAIL(err, PQF_ERR_INVALID_ARG, "metrics address '%s': bad [IPv6] host",
                             addr);
                h++;
                hl -= 2;
            }
        }
    }
    if (!*p || strlen(p) >= pcap || strspn(p, "0123456789") != strlen(p) || atol(p) > 65535)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "metrics address '%s': the port must be 0..65535", addr);
    if (hl == 0 || hl >= hcap)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "metrics address '%s': bad host", addr);
    memcpy(host, h, hl);
    host[hl] = '\0';
    snprintf(port, pcap, "%s", p);
done:
    return rc;
}

static pqf_err listen_on(pqf_repl_metrics *m, const char *addr, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char host[96], port[8];
    struct addrinfo hints, *ai = NULL;
    PQF_TRY(parse_addr(addr, host, sizeof host, port, sizeof port, err));
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "metrics address '%s': %s", addr, gai_strerror(g));
    m->lfd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (m->lfd < 0)
        PQF_FAIL(err, PQF_ERR_IO, "metrics address '%s': socket: %s", addr, strerror(errno));
    int one = 1;
    setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(m->lfd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(m->lfd, 16) != 0)
        PQF_FAIL(err, PQF_ERR_IO, "metrics address '%s': %s", addr, strerror(errno));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char nh[NI_MAXHOST], np[NI_MAXSERV];
    if (getsockname(m->lfd, (struct sockaddr *)&ss, &sl) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, nh, sizeof nh, np, sizeof np,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(m->addr, sizeof m->addr, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", nh, np);
    else
        snprintf(m->addr, sizeof m->addr, "%s", addr);
done:
    if (ai)
        freeaddrinfo(ai);
    return rc;
}

pqf_err pqf_repl_metrics_start(const char *addr, pqf_store *primary, pqf_store *const *replicas,
                               size_t nreplicas, const pqf_replicate_opts *opts,
                               pqf_repl_metrics **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_repl_metrics *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    m->primary = primary;
    m->replicas = replicas;
    m->nreplicas = nreplicas;
    m->opts = opts;
    m->lfd = -1;
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->refresh_mu, NULL);
    pthread_mutex_init(&m->quit_mu, NULL);
    pthread_cond_init(&m->quit_cv, NULL);
    PQF_TRY(listen_on(m, addr, err));
    if (pthread_create(&m->server_th, NULL, server, m) != 0)
        PQF_FAIL(err, PQF_ERR_NOMEM, "metrics: cannot start the server thread");
    m->server_up = true;
    if (pthread_create(&m->refresh_th, NULL, refresher, m) != 0)
        PQF_FAIL(err, PQF_ERR_NOMEM, "metrics: cannot start the refresher thread");
    m->refresh_up = true;
    *out = m;
    m = NULL;
done:
    pqf_repl_metrics_free(m);
    return rc;
}

const char *pqf_repl_metrics_addr(const pqf_repl_metrics *m)
{
    return m->addr;
}

void pqf_repl_metrics_free(pqf_repl_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->quit_mu);
    m->quit = true;
    pthread_cond_broadcast(&m->quit_cv);
    pthread_mutex_unlock(&m->quit_mu);
    if (m->server_up)
        pthread_join(m->server_th, NULL);
    if (m->refresh_up)
        pthread_join(m->refresh_th, NULL);
    if (m->lfd >= 0)
        close(m->lfd);
    pqf__rstate_close(m->st);
    for (size_t i = 0; i < m->ns; i++) {
        free(m->s[i].replica);
        free(m->s[i].table);
    }
    free(m->s);
    pthread_cond_destroy(&m->quit_cv);
    pthread_mutex_destroy(&m->quit_mu);
    pthread_mutex_destroy(&m->refresh_mu);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
