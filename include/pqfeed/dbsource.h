/* pqfeed — database sources: a PostgreSQL or SQLite table (or query) read
 * row by row into a pqf_writer.
 *
 *   pqf_dbsource_opts o; pqf_dbsource_opts_init(&o);
 *   o.table = "public.issues";              // or o.query = "SELECT ..."
 *   o.watermark_column = "updated";         // optional: ORDER BY it ...
 *   o.watermark_after = "2026-01-01T00:00:00Z";  // ... and only rows beyond it
 *   pqf_dbsource *src = NULL;
 *   pqf_dbsource_open_pg("host=/run/pg dbname=app", &o, &src, &err);
 *   const pqf_schema *s = pqf_dbsource_schema(src);   // finished; register it
 *   ... pqf_writer_create(s, out, &wo, &w, &err);
 *   pqf_dbsource_run(src, w, &rows);         // or pqf_dbsource_next() per row
 *   pqf_dbsource_watermarks(src, &min, &max);
 *   pqf_dbsource_free(src);
 *
 * Open connects, starts a read-only transaction (REPEATABLE READ by default,
 * so the description and every row come from one snapshot) and describes the
 * result: its columns become a finished pqf_schema. Rows are streamed: from
 * PostgreSQL with `COPY ... TO STDOUT (FORMAT binary)`, from SQLite by stepping
 * one statement, so memory stays bounded whatever the table size (one row at
 * a time plus what the writer buffers). The same contract as
 * pqf_source_next(): each call writes one row (row_begin, values, row_end).
 *
 * Type mapping, PostgreSQL (docs/DBSOURCE.md has the full table):
 *   smallint -> INT32 INT(16); integer -> INT32; bigint -> INT64; real -> FLOAT;
 *   double precision -> DOUBLE; numeric(p,s) -> DECIMAL(p,s) (INT32 for p <= 9,
 *   INT64 for p <= 18, else FIXED_LEN_BYTE_ARRAY); unconstrained numeric ->
 *   DECIMAL(38, numeric_scale) (default 9; a value with more fraction digits
 *   or more than 38 digits is an error, never rounded), or STRING with
 *   numeric_as_string; numeric with p > 38 -> STRING; text/varchar/char/name/
 *   enum/xml -> STRING; bool -> BOOLEAN; date -> DATE; time -> TIME(MICROS);
 *   timestamp -> TIMESTAMP(MICROS, not UTC); timestamptz -> TIMESTAMP(MICROS,
 *   UTC); uuid -> FIXED_LEN_BYTE_ARRAY(16) UUID; json/jsonb -> JSON string;
 *   bytea -> BYTE_ARRAY; one-dimensional arrays of these -> LIST (elements
 *   nullable; a multi-dimensional value is an error); domains -> their base
 *   type; other types (interval, inet, money, ranges, composites, ...) are
 *   read as their text output -> STRING. NOT NULL table columns are REQUIRED;
 *   columns of a query are all OPTIONAL (a join may null them).
 *
 * Type mapping, SQLite: by the declared type's affinity (SQLite's rules,
 * https://www.sqlite.org/datatype3.html section 3.1): "INT" -> INT64;
 * "CHAR"/"CLOB"/"TEXT" -> STRING; "BLOB" or no type -> BYTE_ARRAY;
 * "REAL"/"FLOA"/"DOUB" -> DOUBLE; otherwise NUMERIC affinity, refined by name:
 * BOOL* -> BOOLEAN, DATE -> DATE, DATETIME/TIMESTAMP* -> TIMESTAMP(MICROS,
 * UTC), TIME -> TIME(MICROS), DECIMAL(p,s)/NUMERIC(p,s) -> DECIMAL(p,s), any
 * other -> DECIMAL(38, numeric_scale) (or STRING with numeric_as_string).
 * Query columns without a declared type take the storage class of the first
 * row's value (INTEGER -> INT64, REAL -> DOUBLE, TEXT -> STRING, BLOB ->
 * BYTE_ARRAY; NULL or no rows -> STRING). Values are converted from whatever
 * storage class they have (SQLite is dynamically typed): a TEXT '12' in an
 * INT column is 12, a TEXT 'abc' there is an error naming the row.
 *
 * A target schema (opts.schema, e.g. from a schema file) may replace the
 * described one: source columns are matched to its top-level columns by
 * name, and every value is converted to the target column's type with range
 * checks (bigint into int16, numeric(20,4) into decimal(9,2), timestamps into
 * millis, anything into string, ...). A value that does not fit is
 * PQF_ERR_VALUE naming the table, row and column:
 *   "postgres table public.t: row 3: column 'n': cannot convert '40000' to
 *    int16: out of range"
 *
 * Watermarks: with watermark_column set, rows come ordered by that column
 * (NULLs last) and, with watermark_after, only rows whose column is greater
 * than that text (compared by the database, in the column's type) are read.
 * The first and last non-NULL watermark values read are reported as text that
 * the same database accepts back as watermark_after (timestamps as ISO 8601,
 * timestamptz with "Z").
 *
 * Ownership: the source owns its connection and its schema; the schema stays
 * valid until pqf_dbsource_free(). Strings in opts are copied at open.
 */
#ifndef PQFEED_DBSOURCE_H
#define PQFEED_DBSOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/schema.h"
#include "pqfeed/source.h"
#include "pqfeed/writer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Transaction the rows are read in (PostgreSQL; SQLite always reads one
 * snapshot inside a deferred read transaction). */
typedef enum pqf_db_isolation {
    PQF_DB_REPEATABLE_READ = 0, /* default: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY */
    PQF_DB_SERIALIZABLE = 1,    /* SERIALIZABLE READ ONLY DEFERRABLE: waits for a snapshot
                                   that no serializable transaction can invalidate */
    PQF_DB_READ_COMMITTED = 2   /* READ COMMITTED READ ONLY: the COPY still reads one
                                   snapshot, but the description may come from another */
} pqf_db_isolation;

typedef struct pqf_dbsource_opts {
    const char *table;            /* a table or view; PostgreSQL: "name" or "schema.name",
                                     parsed as SQL (unquoted names fold to lower case,
                                     "\"Mixed\"" keeps its case) */
    const char *query;            /* or a SELECT (exactly one of table and query) */
    const char *watermark_column; /* result column to order by (NULL: none) */
    const char *watermark_after;  /* only rows with watermark_column > this (NULL: all) */
    pqf_db_isolation isolation;
    const pqf_schema *schema; /* target schema (finished; borrowed, must outlive the
                                 source), or NULL to use the described one */
    bool ignore_unknown;      /* with a target schema: source columns it lacks are
                                 skipped (true) or an error at open (false, default) */
    int numeric_scale;        /* scale of unconstrained numeric (0..38, default 9) */
    bool numeric_as_string;   /* unconstrained numeric -> STRING, exact text */
    size_t max_row_bytes;     /* one row larger than this is PQF_ERR_LIMIT
                                 (default 256 MiB) */
} pqf_dbsource_opts;

/* Fill defaults. */
void pqf_dbsource_opts_init(pqf_dbsource_opts *o);

typedef struct pqf_dbsource pqf_dbsource;

/* Connect to PostgreSQL with a libpq conninfo string or URI, start the
 * transaction and describe the table or query. A missing table is
 * PQF_ERR_NOT_FOUND naming it; a connection failure PQF_ERR_NET (PQF_ERR_AUTH
 * when the server rejected the credentials); a query the server rejects
 * PQF_ERR_REMOTE with the server's message. On error *out is NULL. */
pqf_err pqf_dbsource_open_pg(const char *conninfo, const pqf_dbsource_opts *opts,
                             pqf_dbsource **out, pqf_error *err);

/* Open a SQLite database file read-only and describe the table or query.
 * A missing file or table is PQF_ERR_NOT_FOUND. */
pqf_err pqf_dbsource_open_sqlite(const char *path, const pqf_dbsource_opts *opts,
                                 pqf_dbsource **out, pqf_error *err);

/* The schema rows are written with: opts.schema if one was given, else the
 * described one (finished; owned by the source). */
const pqf_schema *pqf_dbsource_schema(const pqf_dbsource *src);

/* Read one row and write it to w (row_begin ... row_end); *eof is set (and
 * nothing written) after the last row. w must have been created with
 * pqf_dbsource_schema(src) (or an identical schema); successive calls may
 * use different writers (one per output file). On error the message names
 * the table, the 1-based row and the column; the writer may be poisoned and
 * the source is finished (only free remains). */
pqf_err pqf_dbsource_next(pqf_dbsource *src, pqf_writer *w, bool *eof);

/* Write every remaining row; *rows (may be NULL) counts the rows written. */
pqf_err pqf_dbsource_run(pqf_dbsource *src, pqf_writer *w, uint64_t *rows);

/* Change capture (export's changes mode; pqf_change_opts in source.h,
 * borrowed): call once, before the first row. `schema` (finished, borrowed,
 * must outlive the source) is pqf_dbsource_schema(src) with the generated
 * top-level columns _op, _seq and _ts appended (as pqf_export builds it);
 * rows are then written with it. Each row's key, watermark, created and
 * delete columns are read first: a row not beyond co->after, or already
 * exported (co->seen), is skipped; otherwise it is written with _op (D when
 * the delete column is true, I when the created column equals the
 * watermark, else U), _seq = co->seq_base + its ordinal and _ts (the
 * watermark when it is a timestamp). The source must have been opened with
 * watermark_column = co->watermark (the database filters and orders by it).
 * A NULL key or watermark, or a watermark older than an earlier row's (the
 * database's order disagrees with the values', as with mixed spellings in a
 * SQLite TEXT column), is PQF_ERR_VALUE naming the table and row:
 *   "sqlite table t: row 7: watermark 'updated' goes backwards: ..." */
pqf_err pqf_dbsource_set_changes(pqf_dbsource *src, const pqf_schema *schema,
                                 const pqf_change_opts *co, pqf_error *err);
/* With change capture: rows skipped as not beyond co->after, and as duplicates. */
void pqf_dbsource_change_counts(const pqf_dbsource *src, uint64_t *skipped, uint64_t *duplicates);

/* Rows written so far. */
uint64_t pqf_dbsource_rows(const pqf_dbsource *src);

/* With watermark_column: the first and last non-NULL watermark values read
 * (rows come in watermark order, so these are the minimum and the maximum),
 * as text; NULL before any. Valid until the next call on src. */
void pqf_dbsource_watermarks(const pqf_dbsource *src, const char **min, const char **max);

/* "postgres table public.t", "sqlite query", ... for messages. */
const char *pqf_dbsource_label(const pqf_dbsource *src);

const pqf_error *pqf_dbsource_error(const pqf_dbsource *src);

/* End the transaction (read-only: rolled back), close the connection, free.
 * Freeing before the last row cancels the transfer. NULL is fine. */
void pqf_dbsource_free(pqf_dbsource *src);

#ifdef __cplusplus
}
#endif
#endif
