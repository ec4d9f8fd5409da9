/* pqfeed — deterministic test data: an issue tracker (users, issues,
 * comments, worklogs) and a flat "mixed" benchmark table.
 *
 * The same (table, rows, seed, format) always gives the same bytes: every
 * row draws from its own splitmix64/xoshiro256** stream seeded by
 * (seed, table, row), so no global state and no rand().
 *
 * CSV output is flat: nested values (issue labels, author, fields) become
 * JSON text columns. NDJSON output keeps them as arrays and objects. Each
 * table has a matching schema (pqf_gen_schema) in the same shape.
 *
 * References are consistent within one seed and row count: issues.author.id,
 * comments.author_id and worklogs.user_id are in [1, max(1, rows/20)],
 * comments.issue_id and worklogs.issue_id in [1, rows].
 */
#ifndef PQFEED_GEN_H
#define PQFEED_GEN_H

#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/schema.h"
#include "pqfeed/source.h"
#include "pqfeed/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqf_gen_table {
    PQF_GEN_USERS,
    PQF_GEN_ISSUES,
    PQF_GEN_COMMENTS,
    PQF_GEN_WORKLOGS,
    PQF_GEN_MIXED, /* id int64, i32 int32, f64 double, flag bool, ts timestamp_us utc, day date,
                      category string (8 values), uid string (unique, 28 chars),
                      maybe_int int64 (10% NULL), amount decimal(18,2) */
    PQF_GEN__COUNT
} pqf_gen_table;

typedef struct pqf_gen_opts {
    uint64_t rows;     /* rows of the table (default 1000) */
    uint64_t seed;     /* default 1 */
    pqf_format format; /* PQF_FORMAT_CSV (default) or PQF_FORMAT_NDJSON */
} pqf_gen_opts;

void pqf_gen_opts_init(pqf_gen_opts *o);

/* "users", "issues", "comments", "worklogs", "mixed". */
const char *pqf_gen_table_name(pqf_gen_table t);
/* PQF_ERR_INVALID_ARG for an unknown name. */
pqf_err pqf_gen_table_from_name(const char *name, pqf_gen_table *t);

/* The table's schema for the format (finished; caller frees). */
pqf_err pqf_gen_schema(pqf_gen_table t, pqf_format format, pqf_schema **out, pqf_error *err);

/* Write the table's rows (CSV with a header line, or NDJSON) to out; out is
 * borrowed and not committed. */
pqf_err pqf_gen_write(pqf_gen_table t, const pqf_gen_opts *o, pqf_ostream *out, pqf_error *err);

/* Write DIR/<table>.csv (or .ndjson) and DIR/<table>.schema.json, each
 * atomically; DIR is created if missing. */
pqf_err pqf_gen_to_dir(pqf_gen_table t, const pqf_gen_opts *o, const char *dir, pqf_error *err);

/* Hourly API pages of the issues table, as an hourly "changed since" API
 * returns them: DIR/hour-0000/ holds every row (the initial load), each
 * DIR/hour-HHHH/ after it the hour's changes (updates of about 10% of the rows,
 * 5% inserts, 1% deletes as tombstones with "deleted": true), sorted by
 * updated_at, page_rows records per page (0: 500) in page-NNNNN.ndjson. A
 * row's first version has created_at = updated_at (it is an insert).
 * DIR/issues.schema.json is the issues schema plus the nullable bool column
 * "deleted"; DIR/issues.final.ndjson is the source table's state after the
 * last hour (live rows at their latest version), for reconciliation. The
 * same options always give the same bytes. */
pqf_err pqf_gen_increments(const pqf_gen_opts *o, unsigned hours, uint64_t page_rows,
                           const char *dir, pqf_error *err);

#ifdef __cplusplus
}
#endif
#endif
