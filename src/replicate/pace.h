/* Internal: pacing of replication -- the bandwidth limit's token bucket
 * (the window functions are public, include/pqfeed/replicate.h). */
#ifndef PQF_REPLICATE_PACE_H
#define PQF_REPLICATE_PACE_H

#include <pthread.h>
#include <stdint.h>

#include "pqfeed/replicate.h"

/* One bucket shared by every worker of a run. rate 0: unlimited (take is free). */
typedef struct pqf__bucket {
    pthread_mutex_t mu;
    uint64_t rate; /* bytes per second */
    double tokens, burst;
    uint64_t last_ns;
} pqf__bucket;

void pqf__bucket_init(pqf__bucket *b, uint64_t rate);
void pqf__bucket_destroy(pqf__bucket *b);
/* Take n bytes' worth, sleeping as long as the rate requires (thread-safe).
 * Returns the nanoseconds slept. */
uint64_t pqf__bucket_take(pqf__bucket *b, uint64_t n);

#endif
