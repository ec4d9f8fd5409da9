/* Internal: the export's contract hook (src/feed/export.c) and the parser
 * entry of fuzz/fuzz_contract.c. */
#ifndef PQF_FEED_CONTRACT_IMPL_H
#define PQF_FEED_CONTRACT_IMPL_H

#include "pqfeed/contract.h"
#include "pqfeed/export.h"

/* sp->contract (not NULL) against an export of sp->table. cm NULL: the
 * schema, the key and the compatibility mode, before the schema is
 * registered; cm: the value checks over cm's data files, before the commit
 * object is written. PQF_ERR_CONTRACT names the commit, the contract, the
 * column and the rule; PQF_OK when the contract has no such table. */
pqf_err pqf__contract_check_export(pqf_feed *f, const pqf_export_spec *sp, const pqf_commit *cm,
                                   pqf_error *err);

/* pqf_contract_load on text already read (path names it in messages); the
 * fuzz target's entry. */
pqf_err pqf__contract_parse(const char *path, const char *text, size_t len, pqf_contract **out,
                            pqf_error *err);

#endif
