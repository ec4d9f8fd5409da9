/* pqfeed — mapping files: API records (JSON objects) onto a table's columns,
 * and inference of a schema and a mapping from sample API pages.
 *
 * A mapping (YAML, the pipeline config's format family; docs/MAPPING.md)
 * says per output column which field path of the record (`a.b.c`) it comes
 * from, an optional cast and a default for a missing field, and what happens
 * to fields no column reads: `keep` (gathered into one JSON column), `drop`,
 * or `fail` (the record is an error naming the file, record and field):
 *
 *   pqf_mapping *m = NULL;
 *   pqf_mapping_load("issues.mapping.yaml", &m, &err);
 *   pqf_source_opts so; pqf_source_opts_init(&so); so.mapping = m;
 *   pqf_source_open("page-00001.ndjson", schema, &so, &src, &err);  // checks m against schema
 *   ...
 *   pqf_mapping_free(m);
 *
 * The mapping is immutable once loaded; a source binds it to its schema at
 * open (every mapped column must be in the schema, casts must suit the
 * column's type, defaults must parse as it) and applies it to each record.
 */
#ifndef PQFEED_MAPPING_H
#define PQFEED_MAPPING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pqf_mapping pqf_mapping;

typedef enum pqf_unknown_rule {
    PQF_UNKNOWN_FAIL = 0, /* default: a field no column reads is an error */
    PQF_UNKNOWN_DROP = 1,
    PQF_UNKNOWN_KEEP = 2  /* into the JSON column `unknown_column` (default "_unknown") */
} pqf_unknown_rule;

/* Parse mapping text; `name` names it in errors ("m.yaml:7: columns.id.cast:
 * unknown cast 'integer'"). Errors are PQF_ERR_PARSE. */
pqf_err pqf_mapping_parse(const char *name, const char *text, size_t len, pqf_mapping **out,
                          pqf_error *err);
/* Read (at most 4 MiB) and parse a mapping file. */
pqf_err pqf_mapping_load(const char *path, pqf_mapping **out, pqf_error *err);
void pqf_mapping_free(pqf_mapping *m);

/* The file name given at load, and the SHA-256 (hex) of its text: export
 * names data files by it, so another mapping writes other files. */
const char *pqf_mapping_name(const pqf_mapping *m);
const char *pqf_mapping_digest(const pqf_mapping *m);
pqf_unknown_rule pqf_mapping_unknown(const pqf_mapping *m);

/* Check the mapping against a finished schema without reading data (what a
 * source does at open): the same errors, naming the mapping file, line and
 * key. generated: also accept the change-capture columns _op, _seq, _ts. */
pqf_err pqf_mapping_check(const pqf_mapping *m, const pqf_schema *s, bool generated,
                          pqf_error *err);

/* ---- inference from API pages ------------------------------------------------ */

typedef struct pqf_infer_opts {
    bool flatten;          /* nested objects -> a_b columns (true) or STRUCT (false, default) */
    uint64_t sample;       /* records to read over all pages (0: all) */
    unsigned max_enum;     /* a string field with at most this many distinct values (and
                              more records than values) is noted as an enum (default 8) */
    size_t max_fields;     /* distinct field paths tracked (default 10000); more is an error */
    size_t max_record_bytes; /* one NDJSON line or one array page (default 64 MiB) */
    int max_depth;         /* JSON nesting (default 64) */
    const pqf_mapping *mapping; /* infer the mapped records' columns instead (no mapping is
                                   proposed then) */
} pqf_infer_opts;

void pqf_infer_opts_init(pqf_infer_opts *o);

typedef struct pqf_infer pqf_infer;

/* What inference saw of one field path. */
typedef struct pqf_infer_field {
    const char *path;      /* "author.login", "labels[]" (array elements) */
    const char *column;    /* the proposed column ("author_login" flattened), or NULL for a
                              field inside a STRUCT or LIST column */
    uint64_t seen;         /* records (or elements) in which the field is present */
    uint64_t of;           /* records (or parent objects / elements) it could appear in */
    uint64_t nulls;        /* of those, null */
    const char *type;      /* chosen type ("int64", "decimal(9,2)", "struct", "list") */
    const char *kinds;     /* JSON kinds seen with counts: "int 7, string 3" */
    bool varies;           /* more than one non-null kind was seen (integers mixed with
                              fractions do not count: they are numbers, chosen double) */
    const char *cast;      /* the proposed cast, or NULL */
    const char *note;      /* "enum: closed, open", "numeric strings", ... or NULL */
} pqf_infer_field;

pqf_err pqf_infer_create(const pqf_infer_opts *o, pqf_infer **out, pqf_error *err);
/* Read the records of one page (NDJSON lines or one JSON array of objects);
 * stops early once `sample` records were read. Memory is bounded: one line
 * (or one array page) at a time, and per field a capped set of distinct
 * values. */
pqf_err pqf_infer_page(pqf_infer *ix, const char *path, pqf_error *err);
/* Build the proposal: *schema (finished), and unless opts.mapping was given
 * the mapping's YAML text (*mapping_yaml, malloc'd; may be NULL to skip).
 * Callable once. */
pqf_err pqf_infer_finish(pqf_infer *ix, pqf_schema **schema, char **mapping_yaml,
                         pqf_error *err);
/* Records read; after finish: the report, one entry per field path in first-seen order
 * (valid until free). */
uint64_t pqf_infer_records(const pqf_infer *ix);
size_t pqf_infer_nfields(const pqf_infer *ix);
const pqf_infer_field *pqf_infer_field_at(const pqf_infer *ix, size_t i);
void pqf_infer_free(pqf_infer *ix);

#ifdef __cplusplus
}
#endif
#endif
