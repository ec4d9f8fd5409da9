/* Internal: the record source (include/pqfeed/source.h) over memory, with the
 * NDJSON path chosen, for the streaming shredder's fuzz target and tests. */
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

#endif
