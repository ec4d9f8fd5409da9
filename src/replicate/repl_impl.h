/* Internal: helpers shared by the replication modules. */
#ifndef PQF_REPLICATE_REPL_IMPL_H
#define PQF_REPLICATE_REPL_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/feed.h"
#include "pqfeed/replicate.h"
#include "pqfeed/store.h"

/* Wall clock, Unix milliseconds. */
int64_t pqf__repl_now_ms(void);
/* Key of a table's schema version ("<table>/_schema/000001.json"). */
void pqf__schema_key(const char *table, int version, char *buf, size_t cap);
/* The shard (0..count-1) a table belongs to with --shard i/count. */
unsigned pqf__repl_shard_of(const char *table, unsigned count);
/* The tables a run covers: o->tables (validated) or every table of f, then
 * only those of shard o->shard_index when o->shard_count > 1. Free
 * with pqf_strv_free. */
pqf_err pqf__repl_tables(pqf_feed *f, const pqf_replicate_opts *o, char ***names, size_t *n,
                         pqf_error *err);
/* Largest commit object the replication modules read. */
#define PQF__REPL_COMMIT_MAX_BYTES (64u << 20)
/* Read commit seq of table from s: its exact bytes (*raw, *len; free) and the
 * decoded object (*c; pqf_commit_free); PQF_ERR_CORRUPT when the object names
 * another commit. On failure both are NULL. */
pqf_err pqf__repl_read_commit(pqf_store *s, const char *table, uint64_t seq, uint8_t **raw,
                              size_t *len, pqf_commit **c, pqf_error *err);
/* Copy a small object (a schema version, _feed.json; at most 16 MiB) unless
 * the replica already holds the same bytes. immutable: put-if-absent, and
 * other bytes at the replica are PQF_ERR_CONFLICT. */
pqf_err pqf__repl_copy_small(pqf_store *src, pqf_store *dst, const char *key, bool immutable,
                             pqf_error *err);

#endif
