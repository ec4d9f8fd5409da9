/* Internal: a mapping bound to a schema (a plan), applied to one JSON record
 * at a time. The output is a JSON object whose members are the schema's
 * columns, built in the plan's arena (valid until the next apply or free);
 * values not cast point into the input record. */
#ifndef PQF_SOURCE_MAPPING_H
#define PQF_SOURCE_MAPPING_H

#include <stdbool.h>
#include <stdint.h>

#include "pqfeed/mapping.h"
#include "source/json.h"

typedef struct pqf__mapplan pqf__mapplan;

/* schema NULL: no binding (casts alone shape values, defaults are typed as
 * YAML scalars would be: numbers, true/false, else strings). generated: the
 * schema's _op, _seq and _ts columns are the change capture's. */
pqf_err pqf__mapplan_create(const pqf_mapping *m, const pqf_schema *schema, bool generated,
                            pqf__mapplan **out, pqf_error *err);
/* Map rec (an object) to *out. file/line/recno name the record in errors
 * (PQF_ERR_VALUE for an unknown field under `fail` or a failed cast). */
pqf_err pqf__mapplan_apply(pqf__mapplan *p, const pqf__json *rec, const char *file,
                           uint64_t line, uint64_t recno, const pqf__json **out, pqf_error *err);
void pqf__mapplan_free(pqf__mapplan *p);
/* The cast a column of the mapping names ("int", "decimal", ...), or NULL. */
const char *pqf__mapping_cast(const pqf_mapping *m, const char *column);
/* The JSON column of `unknown: keep`, or NULL. */
const char *pqf__mapping_keep_column(const pqf_mapping *m);

#endif
