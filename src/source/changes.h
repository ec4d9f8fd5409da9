/* Internal: change capture (pqf_change_opts, include/pqfeed/source.h), the
 * part shared by the file sources (convert.c) and the database sources
 * (dbsource.c).
 *
 * Per record the source hands over the texts it has for the key columns,
 * the watermark, the created column and whether the delete column is true;
 * this module decides: skip (not beyond `after`, or already exported), error
 * (watermark missing, not parsing, going backwards; key missing), or write,
 * with which _op, and then writes _op, _seq and _ts. It tracks the range of
 * watermarks written and counts the skipped records and the duplicates.
 *
 * Messages are set in cc->err without a location; the caller prefixes its
 * own ("pages/0003.ndjson:17: ", "postgres table public.t: row 9: "). */
#ifndef PQF_SOURCE_CHANGES_H
#define PQF_SOURCE_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pqfeed/source.h"
#include "source/value.h"

typedef struct pqf__cc {
    const pqf_change_opts *co;
    pqf_error err;
    /* top-level nodes of the schema records are written with (-1: none) */
    int wm_node, del_node, cre_node, op_node, seq_node, ts_node;
    int key_node[8];
    int nkey;
    const char *wm_name;
    pqf__conv wm_conv;
    bool ordered; /* each record's watermark must not be older than the newest written
                     (sources that read in watermark order: databases) */
    bool has_after, has_floor;
    pqf__val after, floor;
    pqf__buf after_bytes, floor_bytes;
    const char *floor_text;
    int64_t seq_next;
    bool have_wm;
    pqf__val wm_min, wm_max;
    pqf__buf wm_min_bytes, wm_max_bytes;
    pqf__buf wm_min_text, wm_max_text;
    uint64_t skipped, duplicates;
    pqf__buf keybuf; /* the current record's key: parts joined by 0x1f */
} pqf__cc;

/* Resolve co's columns in `schema` (finished, with the generated _op, _seq
 * and _ts top-level columns) and parse co->after and co->floor. co must
 * outlive cc. On error err names the column. */
pqf_err pqf__cc_init(pqf__cc *cc, const pqf_schema *schema, const pqf_change_opts *co,
                     pqf_error *err);
void pqf__cc_free(pqf__cc *cc);

/* The current record's key: reset, then each part in key order (k = 0..nkey-1).
 * A part that is absent or null is PQF_ERR_VALUE naming the key column. */
void pqf__cc_key_reset(pqf__cc *cc);
pqf_err pqf__cc_key_part(pqf__cc *cc, int k, const char *s, size_t n, bool present);

/* Decide on the current record by its watermark text wm[0..n). *skip: not
 * beyond `after`, or a duplicate (co->seen). A watermark that does not parse
 * returns PQF_ERR_VALUE with *why set (the caller words it, like any value
 * error); other errors (missing, backwards, too large) are in cc->err with
 * *why NULL. */
pqf_err pqf__cc_filter(pqf__cc *cc, const char *wm, size_t n, bool present, bool *skip,
                       const char **why);

/* _op of a record that passed the filter: 'D' when deleted, 'I' when the
 * created column's text equals the watermark's, else 'U'. */
char pqf__cc_op(const pqf__cc *cc, const char *wm, size_t n, const char *created, size_t cn,
                bool created_present, bool deleted);

/* Write _op, _seq and _ts of the current record (between the record's
 * row_begin and row_end). Returns the writer's code. */
pqf_err pqf__cc_write(pqf__cc *cc, pqf_writer *w, char op, const char *wm, size_t n);

/* The smallest and largest watermark written, as the source spelt them
 * (NULL before any). */
void pqf__cc_watermarks(const pqf__cc *cc, const char **min, const char **max);

/* A delete column's text that means true: "true", "t", "1" (any case; pqf__parse_bool). */
bool pqf__cc_truthy(const char *s, size_t n);

#endif
