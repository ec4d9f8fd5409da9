/* Internal: streaming XML (expat) reduced to what S3 responses need.
 *
 * The parser reports each element's end with its path (local names joined by
 * '/', e.g. "ListBucketResult/Contents/Key") and its text content, so a
 * caller matches paths without building a tree. Input is fed in chunks as it
 * arrives. Limits guard against hostile peers: depth 32, path 512 bytes, text
 * per element 64 KiB; DOCTYPE declarations (entity expansion) are refused. */
#ifndef PQF_STORE_XML_H
#define PQF_STORE_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "pqfeed/error.h"

typedef struct pqf__xml pqf__xml;

/* path and text are NUL-terminated and valid during the call. on_start gets
 * text NULL. Return false to stop parsing (pqf__xml_feed then returns
 * PQF_ERR_PARSE with the message the callback left, or "stopped"). */
typedef bool (*pqf__xml_cb)(void *ud, const char *path, const char *text, size_t len);

pqf_err pqf__xml_new(pqf__xml_cb on_start, pqf__xml_cb on_end, void *ud, pqf__xml **out,
                     pqf_error *err);
/* Feed the next chunk; final marks the end of the document. */
pqf_err pqf__xml_feed(pqf__xml *x, const void *data, size_t len, bool final, pqf_error *err);
void pqf__xml_free(pqf__xml *x);
/* One-shot: a whole document. */
pqf_err pqf__xml_parse(const void *data, size_t len, pqf__xml_cb on_start, pqf__xml_cb on_end,
                       void *ud, pqf_error *err);

#endif
