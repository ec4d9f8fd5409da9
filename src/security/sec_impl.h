/* Internal: shared between the template renderer and the auditor. */
#ifndef PQF_SECURITY_SEC_IMPL_H
#define PQF_SECURITY_SEC_IMPL_H

#include <stddef.h>

#include "base/buf.h"
#include "pqfeed/error.h"

/* The documents of a template bundle ("documents" member), in order. */
enum {
    PQF__TPL_REPLICATION = 0,
    PQF__TPL_TRUST,
    PQF__TPL_REPL_POLICY,
    PQF__TPL_PRIMARY_BUCKET,
    PQF__TPL_REPLICA_BUCKET,
    PQF__TPL_EXPORTER,
    PQF__TPL_REPLICATOR,
    PQF__TPL_CONSUMER,
    PQF__TPL_PRIMARY_KEY,
    PQF__TPL_REPLICA_KEY,
    PQF__TPL_NDOCS
};
extern const char *const pqf__tpl_doc_names[PQF__TPL_NDOCS];

/* Append compact, well-formed JSON j[0..n) laid out with two-space indents,
 * continuation lines base levels deep. */
pqf_err pqf__json_pretty(pqf__buf *o, const char *j, size_t n, int base);

#endif
