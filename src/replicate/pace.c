/* Pacing of replication: the daily copy window and the bandwidth limit's
 * token bucket (include/pqfeed/replicate.h, replicate/pace.h). */
#include "replicate/pace.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/base.h"

/* ---- window ------------------------------------------------------------------------ */

static int hhmm(const char *p, unsigned *min)
{
    /* "H:MM" or "HH:MM"; returns characters read, 0 when not one. */
    unsigned h = 0, m = 0;
    int n = 0;
    if (p[n] < '0' || p[n] > '9')
        return 0;
    h = (unsigned)(p[n++] - '0');
    if (p[n] >= '0' && p[n] <= '9')
        h = h * 10 + (unsigned)(p[n++] - '0');
    if (p[n++] != ':')
        return 0;
    for (int k = 0; k < 2; k++) {
        if (p[n] < '0' || p[n] > '9')
            return 0;
        m = m * 10 + (unsigned)(p[n++] - '0');
    }
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return 0;
    *min = (h * 60 + m) % 1440; /* 24:00 is midnight */
    return n;
}

pqf_err pqf_repl_window_parse(const char *text, pqf_repl_window *w, pqf_error *err)
{
    unsigned a = 0, b = 0;
    int n = text ? hhmm(text, &a) : 0;
    int m = n && text[n] == '-' ? hhmm(text + n + 1, &b) : 0;
    memset(w, 0, sizeof *w);
    if (!n || !m || text[n + 1 + m] != '\0')
        return pqf_error_set(err, PQF_ERR_INVALID_ARG,
                             "window '%.64s' is not HH:MM-HH:MM (24-hour clock, local time)",
                             text ? text : "");
    w->enabled = true;
    w->start_min = a;
    w->end_min = b;
    return PQF_OK;
}

int64_t pqf_repl_window_wait_ms(const pqf_repl_window *w, int64_t now_ms)
{
    if (!w || !w->enabled || w->start_min == w->end_min)
        return 0;
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    /* Position within the local day, in ms (DST jumps make a day 23 or 25
     * hours; the wait is then off by that hour at most once a year). */
    int64_t day_ms = ((int64_t)tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) * 1000 +
                     now_ms % 1000;
    int64_t s = (int64_t)w->start_min * 60000, e = (int64_t)w->end_min * 60000;
    bool inside = s < e ? (day_ms >= s && day_ms < e) : (day_ms >= s || day_ms < e);
    if (inside)
        return 0;
    int64_t wait = s - day_ms;
    if (wait <= 0)
        wait += 86400000;
    return wait;
}

/* ---- token bucket ------------------------------------------------------------------ */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pqf__bucket_init(pqf__bucket *b, uint64_t rate)
{
    memset(b, 0, sizeof *b);
    b->rate = rate;
    if (!rate)
        return;
    pthread_mutex_init(&b->mu, NULL);
    /* A tenth of a second's worth, at least 64 KiB: small enough that a
     * limit shows within a second, large enough for one read's chunk. */
    b->burst = PQF_MAX((double)rate / 10, 65536.0);
    b->tokens = b->burst;
    b->last_ns = mono_ns();
}

void pqf__bucket_destroy(pqf__bucket *b)
{
    if (b->rate)
        pthread_mutex_destroy(&b->mu);
}

uint64_t pqf__bucket_take(pqf__bucket *b, uint64_t n)
{
    if (!b->rate || !n)
        return 0;
    pthread_mutex_lock(&b->mu);
    uint64_t now = mono_ns();
    b->tokens += (double)(now - b->last_ns) * 1e-9 * (double)b->rate;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
    b->last_ns = now;
    /* Take now, pay later: the bucket goes into debt and the taker sleeps
     * it off, so later takers queue behind it and the rate holds whatever
     * the chunk sizes. */
    b->tokens -= (double)n;
    double debt = b->tokens < 0 ? -b->tokens : 0;
    pthread_mutex_unlock(&b->mu);
    uint64_t wait_ns = (uint64_t)(debt / (double)b->rate * 1e9);
    if (wait_ns) {
        struct timespec ts = {(time_t)(wait_ns / 1000000000u), (long)(wait_ns % 1000000000u)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    return wait_ns;
}
