/* pqfeed — reconcile: prove that two sources hold the same table data.
 *
 *   pqf_reconcile_opts o; pqf_reconcile_opts_init(&o);
 *   o.table = "issues"; o.bucket_column = "updated_at"; o.bucket_unit = PQF_BUCKET_HOUR;
 *   bool equal;
 *   pqf_reconcile("feed:/srv/feed", "sqlite:/var/lib/app.db", &o, on_table, ud, &equal, &err);
 *
 * A source is one of:
 *   feed:STORE, or a store URI / directory holding a feed: the table's
 *       current state (snapshots and change commits replayed: the latest _seq
 *       per key wins, D rows removed; every file's SHA-256 checked);
 *   sqlite:PATH, or a path ending in .db / .sqlite / .sqlite3: the table of
 *       that name (opened read-only);
 *   postgres://..., postgresql://..., postgres:CONNINFO: the table of that
 *       name in the connection's search path;
 *   ndjson:PATH, a .ndjson / .jsonl / .json file, a folder of them (searched
 *       recursively), or a glob pattern of files and folders ("pages/hour-*"):
 *       API pages; per key the record with the greatest watermark wins (ties:
 *       the later record, files in path order).
 * In every source a row whose delete column is true counts as deleted.
 *
 * Each row is rendered in one canonical form per type so that the same value
 * compares equal whichever way a source stores it: integers decimal, decimals
 * without trailing zeros, floats shortest round-trip, booleans true/false,
 * timestamps epoch microseconds UTC, dates days since 1970-01-01, strings as
 * UTF-8, nested values canonical JSON (object keys sorted), binary lower-case
 * hex. A column's type comes from the source that knows it (a feed's schema,
 * PostgreSQL's types, SQLite's declared types); where neither does (NDJSON
 * against a TEXT column), strings holding a JSON object or array compare as
 * JSON. A row's hash is xxHash64 of its canonical form; a bucket's hash is
 * the sum (mod 2^64) of its rows' hashes, so it does not depend on order.
 *
 * Memory: one hash map entry per key and side (about 80 bytes plus the key),
 * capped by max_keys; past it PQF_ERR_LIMIT.
 *
 * Ownership: everything handed to the callback is valid during the call only.
 */
#ifndef PQFEED_RECONCILE_H
#define PQFEED_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqf_bucket_unit {
    PQF_BUCKET_NONE = 0, /* the whole table is one bucket */
    PQF_BUCKET_HOUR = 1, /* timestamp column, by UTC hour */
    PQF_BUCKET_DAY = 2,  /* timestamp or date column, by UTC day */
    PQF_BUCKET_WIDTH = 3 /* integer column: width units; timestamp column: width seconds */
} pqf_bucket_unit;

typedef struct pqf_reconcile_opts {
    const char *table;      /* NULL: every table of a feed side */
    const char *const *key; /* key columns; NULL: the sources' own key */
    size_t nkey;
    const char *const *columns; /* compared columns; NULL: those both sides have */
    size_t ncolumns;
    const char *bucket_column; /* NULL: no buckets */
    pqf_bucket_unit bucket_unit;
    int64_t bucket_width;               /* PQF_BUCKET_WIDTH */
    const char *delete_column;          /* default "deleted"; "" for none */
    const char *watermark;              /* NDJSON latest-per-key column; default: the bucket
                                           column, else "updated_at" when present, else
                                           record order */
    size_t max_diffs;                   /* differing keys listed (default 20) */
    uint64_t max_keys;                  /* keys per side held in memory (default 4M) */
    const pqf_store_options *store_opt; /* for feed sources; may be NULL */
} pqf_reconcile_opts;

void pqf_reconcile_opts_init(pqf_reconcile_opts *o);

typedef struct pqf_reconcile_bucket {
    const char *label; /* "2026-01-05T01:00:00Z", "2026-01-05", "1000", "null" or "all" */
    uint64_t rows_a, rows_b;
    uint64_t hash_a, hash_b;
    uint64_t diffs; /* differing keys whose row (on either side) falls in this bucket */
    bool equal;
} pqf_reconcile_bucket;

typedef enum pqf_reconcile_diff_kind {
    PQF_DIFF_ONLY_A = 1, /* the key is in A only */
    PQF_DIFF_ONLY_B = 2, /* the key is in B only */
    PQF_DIFF_CHANGED = 3 /* in both, with other values */
} pqf_reconcile_diff_kind;

typedef struct pqf_reconcile_diff {
    pqf_reconcile_diff_kind kind;
    const char *key;    /* "id=17" ("a=1,b=x" for a composite key), canonical values */
    const char *bucket; /* label of the row's bucket (A's for CHANGED) */
    /* CHANGED: the first compared column that differs, and its canonical
     * values (NULL for SQL NULL); column NULL if no single column differs. */
    const char *column;
    const char *value_a, *value_b;
} pqf_reconcile_diff;

typedef struct pqf_reconcile_table {
    const char *table;
    const char *source_a, *source_b; /* kind and name, for messages */
    const char *const *key;
    size_t nkey;
    const char *const *columns; /* compared, in this order */
    size_t ncolumns;
    const char *bucket; /* "updated_at:hour" or NULL */
    uint64_t rows_a, rows_b;
    uint64_t hash_a, hash_b;
    const pqf_reconcile_bucket *buckets; /* sorted; "null" first */
    size_t nbuckets;
    uint64_t diffs;                   /* differing keys in all */
    const pqf_reconcile_diff *listed; /* the first max_diffs of them, by key */
    size_t nlisted;
    bool equal;
} pqf_reconcile_table;

typedef void (*pqf_reconcile_cb)(void *ud, const pqf_reconcile_table *t);

/* Compare table(s) of sources a and b (see above), calling cb once per table.
 * *equal is true when every table matched. Returns PQF_OK when the
 * comparison ran (equal or not); errors: a source that cannot be opened or
 * read, a table or column not found (PQF_ERR_NOT_FOUND), no key
 * (PQF_ERR_INVALID_ARG), a value that cannot be interpreted as its type
 * where it matters (key, watermark, bucket: PQF_ERR_VALUE), too many keys
 * (PQF_ERR_LIMIT), a feed file with a wrong checksum (PQF_ERR_CHECKSUM). */
pqf_err pqf_reconcile(const char *a, const char *b, const pqf_reconcile_opts *o,
                      pqf_reconcile_cb cb, void *ud, bool *equal, pqf_error *err);

#ifdef __cplusplus
}
#endif
#endif
