/* Internal: a set of byte strings (open addressing, xxHash64), with a cap on
 * its total size so that a hostile input cannot grow it without bound. */
#ifndef PQF_BASE_STRSET_H
#define PQF_BASE_STRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"

typedef struct pqf__strset {
    uint64_t *hashes;   /* 0 = empty slot */
    uint32_t *offs;     /* into arena */
    uint32_t *lens;
    size_t cap, n;
    char *arena;
    size_t arena_len, arena_cap, limit;
} pqf__strset;

/* limit: bytes of strings at most (PQF_ERR_LIMIT beyond). */
void pqf__strset_init(pqf__strset *s, size_t limit);
void pqf__strset_free(pqf__strset *s);
/* Add s[0..n); *added false when it was there already. */
pqf_err pqf__strset_add(pqf__strset *set, const void *s, size_t n, bool *added);
bool pqf__strset_has(const pqf__strset *set, const void *s, size_t n);

#endif
