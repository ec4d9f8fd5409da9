/* pqfeed — export: a table's source data becomes the next commit of its feed.
 *
 *   pqf_export_spec sp; pqf_export_spec_init(&sp);
 *   sp.table = "issues"; sp.inputs = paths; sp.ninputs = n; sp.schema = s;
 *   pqf_export(feed, &sp, &res, &err);
 *
 * Steps: register the schema under <table>/_schema/ (a new version when it
 * changed compatibly; an incompatible change stops with PQF_ERR_SCHEMA naming
 * the column unless allow_incompatible), write the rows to Parquet files of
 * about target_file_bytes each under data/ (names deterministic per table, seq
 * and part, so a rerun writes the same names and the same bytes), then publish
 * the commit object with put-if-absent. A crash before the publish leaves only
 * orphan data files, which the rerun rewrites and gc removes; a crash after it
 * leaves a complete commit. A snapshot whose files are byte-identical to the
 * head commit's is not committed again (a rerun after a crash that followed
 * the publish). In changes mode only records whose watermark is beyond the
 * head commit's watermark are exported, so a rerun finds nothing new; the
 * files then carry the table's columns plus _op, _seq and _ts, and a page
 * whose records are older than an earlier page's newest is an error (the
 * watermark went backwards). Database sources in changes mode (db_driver)
 * push the last watermark down to the database and apply the same change
 * capture (source/changes.c) to the rows it returns.
 */
#ifndef PQFEED_EXPORT_H
#define PQFEED_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/dbsource.h"
#include "pqfeed/error.h"
#include "pqfeed/feed.h"
#include "pqfeed/schema.h"
#include "pqfeed/source.h"
#include "pqfeed/writer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pqf_export_spec {
    const char *table;
    const char *const *inputs; /* CSV/NDJSON files in the order they were fetched */
    size_t ninputs;
    /* Or a database source, opened by the caller (snapshot mode; schema =
     * pqf_dbsource_schema(db)). A live database cannot be read twice, so its
     * data files are named with a random tag instead of an input digest: a
     * rerun writes new names, and gc removes the orphans of a failed run. */
    pqf_dbsource *db;
    /* Or a database that export opens itself (snapshot and changes mode):
     * db_driver "postgres" (db_conninfo: a libpq conninfo or URI) or "sqlite"
     * (db_conninfo: the database file), db_opts its table or query and
     * options. Export sets db_opts.watermark_column to `watermark` and, in
     * changes mode, watermark_after to the head commit's last watermark
     * (less overlap_ms), so the database filters and orders the rows (WHERE
     * watermark > last ORDER BY watermark). schema may then be NULL (the
     * described one, or db_opts.schema). A snapshot with a watermark records
     * its watermark range, so that changes continue after it. */
    const char *db_driver;
    const char *db_conninfo;
    pqf_dbsource_opts db_opts;
    pqf_source_opts source;
    const pqf_schema *schema;  /* finished schema of the records */
    pqf_commit_kind kind;      /* PQF_COMMIT_SNAPSHOT (default) or PQF_COMMIT_CHANGES */
    const char *key;           /* key column(s), comma-separated: recorded with the schema */
    /* changes mode (see pqf_change_opts in source.h): */
    const char *watermark;     /* column ordering the changes; required for changes */
    const char *delete_column; /* true marks a deleted record (_op D) */
    const char *created_column;/* equal to the watermark marks an insert (_op I) */
    int64_t overlap_ms;        /* changes on a timestamp watermark: also read records up to
                                  this long before the last watermark (late commits at the
                                  source); those already exported (same key and watermark)
                                  are dropped, as are repeats within the run */
    uint64_t target_file_bytes; /* default 128 MiB */
    pqf_writer_opts writer;
    int64_t as_of_ms;          /* the hour the data belongs to (partition folder); 0: now */
    bool allow_incompatible;   /* register an incompatible schema change anyway */
    /* A schema contract (contract.h) to enforce, or NULL: a schema, key or
     * schema change that breaks its table's entry stops the export before the
     * schema is registered, failing values before the commit object is
     * written (the data files are then orphans for gc); PQF_ERR_CONTRACT. */
    const struct pqf_contract *contract;
    const char *producer;      /* default "pqfeed <version>" */
} pqf_export_spec;

void pqf_export_spec_init(pqf_export_spec *sp);

typedef struct pqf_export_result {
    bool committed;       /* false: nothing new (unchanged snapshot, or no new changes) */
    uint64_t skipped;     /* changes: records at or before the last watermark */
    uint64_t duplicates;  /* changes: records already exported (same key and watermark) */
    uint64_t seq;         /* the new commit's seq (or the head when nothing new) */
    uint64_t rows, files, bytes;
    int schema_version;
    bool schema_changed;  /* a new schema version was registered */
    char hash[65];        /* SHA-256 of the commit object */
} pqf_export_result;

pqf_err pqf_export(pqf_feed *f, const pqf_export_spec *sp, pqf_export_result *res,
                   pqf_error *err);

/* Is every column of key (comma-separated; NULL or "" passes) a top-level
 * leaf column of schema? Else PQF_ERR_SCHEMA naming the table, the column
 * and the schema's columns. pqf_export checks it before writing anything. */
pqf_err pqf_export_check_key(const pqf_schema *schema, const char *table, const char *key,
                             pqf_error *err);

/* Schema versions of a table: the latest version number (0: none) and, if out
 * is not NULL, that schema. */
pqf_err pqf_feed_schema_latest(pqf_feed *f, const char *table, int *version, pqf_schema **out,
                               pqf_error *err);
/* Read one schema version. */
pqf_err pqf_feed_schema_get(pqf_feed *f, const char *table, int version, pqf_schema **out,
                            pqf_error *err);

/* Can data written with `old` be read as `next`? PQF_OK, or PQF_ERR_SCHEMA
 * with a message naming the column: a dropped column, a changed type other
 * than a widening (int8/16 -> int32 -> int64, float -> double, decimal
 * precision up at the same scale), a nullable column made required, or a new
 * column that is required. */
pqf_err pqf_schema_check_compatible(const pqf_schema *old, const pqf_schema *next,
                                    pqf_error *err);

#ifdef __cplusplus
}
#endif
#endif
