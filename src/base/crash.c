#include "base/crash.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *want;
static size_t want_len;
static long want_hit = 1;
static long hits;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void init(void)
{
    want = getenv("PQF_CRASHPOINT");
    if (!want || !*want) {
        want = NULL;
        return;
    }
    const char *colon = strchr(want, ':');
    want_len = colon ? (size_t)(colon - want) : strlen(want);
    if (colon)
        want_hit = strtol(colon + 1, NULL, 10);
}

void pqf__crashpoint(const char *name)
{
    pthread_once(&once, init);
    if (!want || strlen(name) != want_len || memcmp(name, want, want_len) != 0)
        return;
    pthread_mutex_lock(&lock);
    long n = ++hits;
    pthread_mutex_unlock(&lock);
    if (n == want_hit)
        kill(getpid(), SIGKILL);
}
