/* Internal: one Parquet value rendered as text, the way the row reader
 * renders it (src/parquet/rows.c), for callers that read columns with the
 * cursor API and want the same text for some logical types (decimals,
 * UUIDs, times) without assembling rows. */
#ifndef PQF_PARQUET_RENDER_H
#define PQF_PARQUET_RENDER_H

#include <stddef.h>

#include "base/buf.h"
#include "pqfeed/reader.h"

/* Append value i of a batch's values (typed by in->physical) to b as bare
 * text (strings unquoted, decimals exact, UUIDs 8-4-4-4-12, times
 * HH:MM:SS[.f], binary base64). PQF_ERR_LIMIT when b is full. */
pqf_err pqf__render_value(pqf__buf *b, const pqf_node_info *in, const void *vals, size_t i);

#endif
