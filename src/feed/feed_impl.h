/* Internal: helpers shared by the feed modules. */
#ifndef PQF_FEED_FEED_IMPL_H
#define PQF_FEED_FEED_IMPL_H

#include <stdint.h>

#include "pqfeed/store.h"

/* SHA-256 (hex) of the first size bytes of key, read back in 1 MiB ranges. */
pqf_err pqf__hash_object(pqf_store *s, const char *key, uint64_t size, char hex[65],
                         pqf_error *err);

#endif
