/* Internal: the record source (include/pqfeed/source.h) over memory, with the
 * NDJSON path chosen, for the streaming shredder's fuzz target and tests; and
 * over a file with a tap on its reads, for export. */
#ifndef PQF_SOURCE_SOURCE_INT_H
#define PQF_SOURCE_SOURCE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "pqfeed/source.h"

/* pqf_source_open over data[0..len) (borrowed; must outlive the source),
 * named `name` in messages; opts->format must not be AUTO. tree: NDJSON lines
 * are parsed as a tree and then shredded (the reference), else streamed. */
pqf_err pqf__source_open_mem(const void *data, size_t len, const char *name, bool tree,
                             const pqf_schema *schema, const pqf_source_opts *opts,
                             pqf_source **out, pqf_error *err);

/* Every byte an NDJSON source reads from its input, in order, once (the BOM
 * and blank lines too): export's input digest is taken in the parsing pass. */
typedef void (*pqf__source_tap)(void *ud, const void *data, size_t len);

/* pqf_source_open of an NDJSON input (the format resolved for path must be
 * NDJSON: PQF_ERR_INTERNAL otherwise) with tap(tap_ud, ...) called on every
 * read, from the first one inside this call on. At the end of the input the
 * tap has seen every byte of it. */
pqf_err pqf__source_open_tap(const char *path, const pqf_schema *schema,
                             const pqf_source_opts *opts, pqf__source_tap tap, void *tap_ud,
                             pqf_source **out, pqf_error *err);

#endif
