/* pqfeed — the input side: CSV and NDJSON readers, schema files, inference.
 *
 * A pqf_source reads records from a CSV or NDJSON file and feeds them to a
 * pqf_writer according to a pqf_schema:
 *
 *   pqf_source_opts so; pqf_source_opts_init(&so);
 *   pqf_schema *s = NULL;   pqf_schema_load_json("t.schema.json", &s, &err);
 *   pqf_source *src = NULL; pqf_source_open("t.csv", s, &so, &src, &err);
 *   ... pqf_writer_create(s, out, &wo, &w, &err);
 *   pqf_source_run(src, w, &rows);          // every record, one writer row each
 *
 * Memory is bounded whatever the input size: CSV and NDJSON are read through
 * one fixed buffer (grown only for a single record longer than it, up to
 * max_record_bytes), and values go to the writer as pointers into it.
 *
 * Errors name the file, the line and the field: "in.csv:12: field 'amount':
 * 12.345 has more than 2 decimal places (decimal(18,2))" (PQF_ERR_VALUE), or
 * "in.csv:7: column 9: unterminated quoted field" (PQF_ERR_PARSE).
 *
 * NDJSON input is one JSON object per line, or (an API page) one JSON array of
 * objects; the array form is read whole, so it is capped by max_record_bytes.
 *
 * Schema files are JSON; the format is described in docs/SCHEMA-FILE.md.
 */
#ifndef PQFEED_SOURCE_H
#define PQFEED_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/schema.h"
#include "pqfeed/writer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqf_format {
    PQF_FORMAT_AUTO = 0, /* from the file name: .csv/.tsv -> CSV, .ndjson/.jsonl/.json -> NDJSON */
    PQF_FORMAT_CSV = 1,
    PQF_FORMAT_NDJSON = 2
} pqf_format;

/* CSV dialect (RFC 4180 by default). */
typedef struct pqf_csv_opts {
    char delimiter;          /* default ',' */
    char quote;              /* default '"'; doubled inside a quoted field */
    bool header;             /* first record names the columns (default true) */
    const char *null_marker; /* an unquoted field equal to this is NULL (default ""); a
                                quoted field is never NULL, so "" is an empty string */
} pqf_csv_opts;

/* Fill defaults. */
void pqf_csv_opts_init(pqf_csv_opts *o);

/* Change capture (export's changes mode). The schema then carries three
 * generated top-level columns that the input does not: _op (string: "I", "U"
 * or "D"), _seq (int64) and _ts (timestamp_us utc, nullable: the watermark
 * when it is a timestamp). Records whose watermark is not beyond `after` are
 * skipped, so a rerun after a published commit finds nothing new. */
typedef struct pqf_change_opts {
    const char *watermark;      /* top-level leaf column ordering the changes (required) */
    const char *after;          /* export only records with a greater watermark (NULL: all) */
    const char *delete_column;  /* top-level column whose true value marks a delete (_op D) */
    const char *created_column; /* top-level column equal to the watermark marks an insert
                                   (_op I); otherwise, and without it, _op is U */
    const char *floor;          /* a record beyond `after` but older than this is an error:
                                   the watermark went backwards (NULL: no check) */
    int64_t seq_base;           /* _seq = seq_base + 1-based ordinal of the written record */
    /* De-duplication: for each record beyond `after`, seen() gets its key
     * (the values of the comma-separated key columns, joined by 0x1f) and its
     * watermark text; true means "already exported": the record is skipped
     * and counted as a duplicate. NULL: no de-duplication. */
    const char *key;
    bool (*seen)(void *ud, const char *key, size_t key_len, const char *wm, size_t wm_len);
    void *seen_ud;
} pqf_change_opts;

struct pqf_mapping;

typedef struct pqf_source_opts {
    pqf_format format;       /* default AUTO */
    const struct pqf_mapping *mapping; /* NDJSON/JSON pages: records go through this mapping
                                          (pqfeed/mapping.h, docs/MAPPING.md) first; bound to
                                          the schema at open. NULL: none. Borrowed. */
    const pqf_change_opts *changes; /* NULL: no change capture */
    pqf_csv_opts csv;
    bool ignore_unknown;     /* fields/columns not in the schema: ignored (true) or an error
                                (false, the default) */
    size_t buffer_bytes;     /* read buffer (default 1 MiB, at least 16 bytes) */
    size_t max_record_bytes; /* one CSV record / NDJSON line may grow the buffer up to this
                                (default 64 MiB); longer is PQF_ERR_LIMIT. CSV: at most
                                UINT32_MAX (and so buffer_bytes), else opening is
                                PQF_ERR_INVALID_ARG */
    size_t max_fields;       /* fields per CSV record (default 16384) */
    int max_depth;           /* JSON nesting (default 64) */
    size_t max_string_bytes; /* one JSON string (default 16 MiB) */
} pqf_source_opts;

void pqf_source_opts_init(pqf_source_opts *o);

/* Format for a path given AUTO (by extension; "-" and unknown extensions are CSV). */
pqf_format pqf_format_for_path(const char *path, pqf_format f);

typedef struct pqf_source pqf_source;

/* Open path ("-" reads standard input) for reading records of `schema`
 * (finished; borrowed, must outlive the source). For CSV with a header the
 * header's names are matched to the schema's top-level columns: columns the
 * file lacks are written as NULL (an error for non-nullable ones), file columns
 * the schema lacks are an error unless ignore_unknown. Without a header the
 * fields are the schema's top-level columns in order. A top-level STRUCT or
 * LIST column in CSV holds JSON text. On error *out is NULL and err is set. */
pqf_err pqf_source_open(const char *path, const pqf_schema *schema, const pqf_source_opts *opts,
                        pqf_source **out, pqf_error *err);

/* Read one record and write it to w as one row (row_begin ... row_end).
 * Sets *eof (and writes nothing) at the end of input. On error the message
 * (pqf_source_error) names file, line and field; the writer may be poisoned. */
pqf_err pqf_source_next(pqf_source *src, pqf_writer *w, bool *eof);

/* Write every remaining record; *rows (may be NULL) counts rows written. */
pqf_err pqf_source_run(pqf_source *src, pqf_writer *w, uint64_t *rows);

/* With change capture: the smallest and largest watermark written, as the
 * input spelt them (NULL before any record); valid until free. */
void pqf_source_watermarks(const pqf_source *src, const char **min, const char **max);
/* With change capture: records skipped as not beyond `after`, and as
 * duplicates (see pqf_change_opts.seen). */
uint64_t pqf_source_skipped(const pqf_source *src);
uint64_t pqf_source_duplicates(const pqf_source *src);

/* 1-based line number where the current (last read) record starts. */
uint64_t pqf_source_line(const pqf_source *src);
/* Input bytes consumed so far. */
uint64_t pqf_source_bytes(const pqf_source *src);
const pqf_error *pqf_source_error(const pqf_source *src);
/* Closes the file. NULL is fine. */
void pqf_source_free(pqf_source *src);

/* ---- schema files (docs/SCHEMA-FILE.md) ------------------------------------- */

/* Build a finished schema from schema-file JSON text; name is used in errors
 * ("t.schema.json: columns[2].type: unknown type 'int128'"). */
pqf_err pqf_schema_from_json(const char *text, size_t len, const char *name, pqf_schema **out,
                             pqf_error *err);
/* Read and parse a schema file (at most 16 MiB). */
pqf_err pqf_schema_load_json(const char *path, pqf_schema **out, pqf_error *err);
/* Serialise a schema to schema-file JSON (pretty, one column per line). *out
 * is malloc'd and NUL-terminated; the caller frees it. Schemas that the format
 * cannot express (e.g. MAP, INT96) are PQF_ERR_UNSUPPORTED. */
pqf_err pqf_schema_to_json(const pqf_schema *s, char **out, size_t *len, pqf_error *err);
/* pqf_schema_to_json written atomically to path. */
pqf_err pqf_schema_save_json(const pqf_schema *s, const char *path, pqf_error *err);

/* ---- inference -------------------------------------------------------------- */

/* Infer a schema from the first sample_rows records (0: 1000) of path.
 * Rules (docs/SCHEMA-FILE.md, "Inference"): integers -> int64; numbers with a
 * fraction -> decimal(18,s) when every such value has the same number s of
 * fraction digits and fits 18 digits (CSV text only), else double; true/false
 * -> bool; ISO dates -> date; ISO timestamps -> timestamp_us utc; other text ->
 * string; NDJSON objects -> struct, arrays -> list. Conflicts widen int ->
 * decimal/double -> string (date -> timestamp); nested conflicts -> json. A
 * column is nullable when the sample has a NULL for it or a record lacks it. */
pqf_err pqf_schema_infer(const char *path, const pqf_source_opts *opts, uint64_t sample_rows,
                         pqf_schema **out, pqf_error *err);

#ifdef __cplusplus
}
#endif
#endif
