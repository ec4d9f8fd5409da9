/* Internal: the YAML tree that config.c builds from libyaml events (scalars,
 * sequences, mappings; each node with its 1-based line), shared with the
 * contract parser so both give the same file:line: key messages. */
#ifndef PQF_FEED_YAMLTREE_H
#define PQF_FEED_YAMLTREE_H

#include <stddef.h>

#include "pqfeed/error.h"

typedef enum { PQF__Y_SCALAR, PQF__Y_SEQ, PQF__Y_MAP } pqf__ytype;

typedef struct pqf__ynode pqf__ynode;
struct pqf__ynode {
    pqf__ytype type;
    char *text;    /* scalar */
    char *key;     /* as a map member: its key */
    unsigned line; /* 1-based; a member's is where its key stands */
    pqf__ynode *child, *last, *next;
};

/* Parse one YAML document whose root is a mapping (aliases refused; depth and
 * node count capped). `file` names it in messages. On success *root is the
 * tree, freed with pqf__yaml_free. */
pqf_err pqf__yaml_load(const char *file, const char *text, size_t len, pqf__ynode **root,
                       pqf_error *err);
/* Free a tree (NULL ok). */
void pqf__yaml_free(pqf__ynode *n);

#endif
