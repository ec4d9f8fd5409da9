/* Internal: --versions (include/pqfeed/replicate.h, pqf_replicate_opts.versions).
 *
 * For a replica whose bucket is versioned: every version and delete marker of
 * the primary's keys under a prefix (a table's, except its commit objects,
 * which the commit path publishes in order), replayed at the replica oldest
 * first per key, so the replica's history of each key is the primary's. The
 * replica assigns its own version ids; the state file's versions table maps
 * source to replica ids, so a rerun replays only what is newer than the
 * newest version already replicated. A replica's current version with the
 * same size and ETag is adopted (mapped) instead of duplicated. */
#ifndef PQF_REPLICATE_VERSIONS_H
#define PQF_REPLICATE_VERSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "pqfeed/store.h"
#include "replicate/state.h"

typedef struct pqf__vres {
    uint64_t copied, bytes; /* versions put at the replica */
    uint64_t markers;       /* delete markers created */
    uint64_t adopted;       /* found at the replica already, mapped */
    uint64_t skipped;       /* older than the replica's replicated history */
} pqf__vres;

/* Both stores S3 and the replica's bucket versioned, else PQF_ERR_UNSUPPORTED. */
pqf_err pqf__repl_versions_check(pqf_store *src, pqf_store *dst, pqf_error *err);
/* Replay the versions of keys under prefix (exact: the key prefix itself only). */
pqf_err pqf__repl_versions(pqf__rstate *st, pqf_store *src, pqf_store *dst, const pqf__rlink *id,
                           const char *prefix, bool exact, pqf__vres *res, pqf_error *err);

#endif
