/* pqfeed — native replication: the bucket's own replication engine (AWS S3
 * replication, Ceph RGW multisite) moves the data files; pqfeed copies none.
 * It watches the replica, verifies each commit's files as they arrive (size,
 * and the commit's SHA-256 by reading them back), and publishes the commit
 * object at the replica -- the primary's exact bytes, put-if-absent --
 * strictly in order once all its files are there and verified. Or, with
 * report_only, it only says which pending commits are complete, waiting or
 * corrupt.
 *
 * The engine must replicate the data files (and may replicate schema
 * versions and _feed.json) but not the commit objects: a rule on the prefix
 * "<table>/data/" per table (AWS: a replication rule per prefix; Ceph: a
 * sync-policy pipe per prefix), see docs/DESIGN.md "Native replication".
 * pqfeed writes only publication metadata at the replica: _feed.json, schema
 * versions and commit objects.
 *
 *   pqf_native_opts no; pqf_native_opts_init(&no);
 *   pqf_replicate_native(primary, replicas, n, &opts, &no, &res, &err);
 *
 * It uses of pqf_replicate_opts: state_path (required), tables,
 * concurrency (files verified at once; 0: 8), lookahead (commits examined
 * past the first incomplete one; 0: 32), verify (PQF_VERIFY_SIZE: size and
 * the replica's ETag equal to the primary's; PQF_VERIFY_FULL: read back and
 * SHA-256), stop, on_event (PQF_REPL_PUBLISHED, PQF_REPL_TABLE_DONE) and ud.
 * Files verified once are remembered in the state file and only HEADed
 * again.
 */
#ifndef PQFEED_REPL_NATIVE_H
#define PQFEED_REPL_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/replicate.h"
#include "pqfeed/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqf_native_state {
    PQF_NATIVE_PUBLISHED = 1, /* published by this pass */
    PQF_NATIVE_COMPLETE = 2,  /* every file there and verified (report_only, or behind a gap) */
    PQF_NATIVE_WAITING = 3,   /* some file has not arrived yet */
    PQF_NATIVE_CORRUPT = 4    /* a file arrived with the wrong size or SHA-256 */
} pqf_native_state;

/* "published", "complete", "waiting", "corrupt". */
const char *pqf_native_state_name(pqf_native_state s);

typedef struct pqf_native_commit {
    const char *replica, *table;
    uint64_t seq;
    pqf_native_state state;
    uint64_t files, files_ok; /* named by the commit; there and verified */
    uint64_t bytes, bytes_ok;
    int64_t age_ms;     /* since the commit was created */
    const char *key;    /* WAITING, CORRUPT: the first file at fault */
    const char *detail; /* WAITING, CORRUPT: what is wrong with it */
} pqf_native_commit;

typedef struct pqf_native_opts {
    bool report_only; /* publish nothing; report every pending commit (up to lookahead) */
    void (*on_commit)(void *ud, const pqf_native_commit *c);
    void *ud;
} pqf_native_opts;

void pqf_native_opts_init(pqf_native_opts *o);

typedef struct pqf_native_result {
    uint64_t published;        /* commits published by this pass */
    uint64_t complete;         /* pending commits complete but not published (report_only) */
    uint64_t waiting, corrupt; /* pending commits in those states */
    uint64_t files_verified;   /* files verified by this pass (read back or HEAD+ETag) */
    uint64_t bytes_verified;
    bool up_to_date; /* every (replica, table) at the primary's head */
} pqf_native_result;

/* One pass over every replica and table. PQF_OK when the pass ran, whatever
 * it found (see res: waiting, corrupt, up_to_date); otherwise the first
 * failure: PQF_ERR_CONFLICT (the replica holds another commit than the
 * primary's under a seq, or a commit object whose files are missing --
 * the engine replicates commit objects: misconfigured), PQF_ERR_CORRUPT
 * (the primary's log is broken), or the transport's error. res may be NULL. */
pqf_err pqf_replicate_native(pqf_store *primary, pqf_store *const *replicas, size_t nreplicas,
                             const pqf_replicate_opts *opts, const pqf_native_opts *nopts,
                             pqf_native_result *res, pqf_error *err);

#ifdef __cplusplus
}
#endif
#endif
