/* Internal: helpers shared by the feed modules. */
#ifndef PQF_FEED_FEED_IMPL_H
#define PQF_FEED_FEED_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "pqfeed/schema.h"
#include "pqfeed/store.h"

/* SHA-256 (hex) of the first size bytes of key, read back in 1 MiB ranges. */
pqf_err pqf__hash_object(pqf_store *s, const char *key, uint64_t size, char hex[65],
                         pqf_error *err);

/* Does column b hold every value of column a (a widening): integers of the
 * same signedness to a wider width, float to double, decimal precision up at
 * the same scale. Used by export's compatibility check and by contracts. */
bool pqf__schema_widens(const pqf_node_info *a, const pqf_node_info *b);

#endif
