/* Internal: the replicator's state in SQLite (WAL mode).
 *
 * Rows are keyed by (src, dst): the primary's and the replica's store URIs,
 * so one state file can serve several replication links. Tables:
 *   links(src, dst, tbl, published, hash, lag_ms, last_error, updated_ms)
 *   counters(src, dst, tbl, name, value)      retries, copied, fail:<cause>, stage:<n> ...
 *   objects(src, dst, key, tbl, seq, state, bytes, sha256, attempts, cause, last_error, ...)
 *   versions(src, dst, key, src_version, dst_version, ord, marker)   --versions
 * Object rows of published commits are deleted at publication: the replica's
 * log is then the record, and the file stays small.
 *
 * One connection, used by one thread at a time (the replication coordinator).
 * The coordinator batches a table's writes (pqf__rstate_batch) and commits
 * them before it starts the transfers they announce, see replicate.c. */
#ifndef PQF_REPLICATE_STATE_H
#define PQF_REPLICATE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "pqfeed/error.h"

typedef struct pqf__rstate pqf__rstate;

typedef struct pqf__rlink {
    const char *src, *dst, *tbl;
} pqf__rlink;

typedef struct pqf__robj {
    char state[16]; /* "copying", "verified", "failed" */
    uint64_t bytes;
    char sha256[65];
    unsigned attempts;
} pqf__robj;

/* Open (creating when create is true) the state file at path. With create
 * false a missing file gives PQF_ERR_NOT_FOUND. */
pqf_err pqf__rstate_open(const char *path, bool create, pqf__rstate **out, pqf_error *err);
void pqf__rstate_close(pqf__rstate *st); /* NULL is fine */

/* A transaction: begin joins one already open (a batch); commit commits
 * what is open (nothing: PQF_OK). */
pqf_err pqf__rstate_begin(pqf__rstate *st, pqf_error *err);
pqf_err pqf__rstate_commit(pqf__rstate *st, pqf_error *err);
/* Batching on: every write joins one transaction, opened by the first write
 * after a commit and held until the next pqf__rstate_commit, so the caller
 * decides when its rows must be durable (a kill -9 loses the writes since).
 * Off: commits what is open first; writes are their own transactions. */
pqf_err pqf__rstate_batch(pqf__rstate *st, bool on, pqf_error *err);

/* *found false (and o zeroed) when there is no row. */
pqf_err pqf__rstate_obj_get(pqf__rstate *st, const pqf__rlink *l, const char *key, pqf__robj *o,
                            bool *found, pqf_error *err);
pqf_err pqf__rstate_obj_set(pqf__rstate *st, const pqf__rlink *l, uint64_t seq, const char *key,
                            const char *state, uint64_t bytes, const char *sha256,
                            unsigned attempts, const char *cause, const char *msg, pqf_error *err);

/* Record commit seq published (hash, lag) and forget the object rows of
 * commits up to seq. */
pqf_err pqf__rstate_published(pqf__rstate *st, const pqf__rlink *l, uint64_t seq, const char *hash,
                              int64_t lag_ms, pqf_error *err);
/* Remember (or clear, with "") the link's last error. */
pqf_err pqf__rstate_set_error(pqf__rstate *st, const pqf__rlink *l, const char *msg,
                              pqf_error *err);
/* Published seq, lag and last error as recorded (zero/-1/"" without a row). */
pqf_err pqf__rstate_link_get(pqf__rstate *st, const pqf__rlink *l, uint64_t *published,
                             int64_t *lag_ms, char *last_error, size_t cap, pqf_error *err);

pqf_err pqf__rstate_count(pqf__rstate *st, const pqf__rlink *l, const char *name, int64_t delta,
                          pqf_error *err);
/* Set a counter to value (a gauge, e.g. "wait:window"). */
pqf_err pqf__rstate_set(pqf__rstate *st, const pqf__rlink *l, const char *name, int64_t value,
                        pqf_error *err);
/* --versions: the replica's version id for a source version of key. */
pqf_err pqf__rstate_version_get(pqf__rstate *st, const pqf__rlink *l, const char *key,
                                const char *src_version, char *dst_version, size_t cap,
                                bool *found, pqf_error *err);
/* Record source version -> replica version (ord: position in the key's
 * history, oldest 0; marker: a delete marker). */
pqf_err pqf__rstate_version_put(pqf__rstate *st, const pqf__rlink *l, const char *key,
                                const char *src_version, const char *dst_version, unsigned ord,
                                bool marker, pqf_error *err);
/* Every counter of the link. */
pqf_err pqf__rstate_counters(pqf__rstate *st, const pqf__rlink *l,
                             void (*cb)(void *ud, const char *name, int64_t value), void *ud,
                             pqf_error *err);

/* Objects recorded verified for commits lo < seq <= hi (copied ahead of
 * publication): their number and bytes. */
pqf_err pqf__rstate_ready(pqf__rstate *st, const pqf__rlink *l, uint64_t lo, uint64_t hi,
                          uint64_t *objects, uint64_t *bytes, pqf_error *err);

#endif
