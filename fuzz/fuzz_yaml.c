/* Fuzz target: the YAML tree builder behind pipeline configs and schema
 * contracts (libyaml events -> nodes with lines; aliases refused, depth and
 * node count capped). Every tree it returns is walked and freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed/yamltree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const pqf__ynode *n, int depth)
{
    size_t count = 0;
    for (; n; n = n->next) {
        count++;
        if (n->type == PQF__Y_SCALAR && (!n->text || n->child))
            abort(); /* a scalar has text and no children */
        if (n->type != PQF__Y_SCALAR && n->text)
            abort();
        if (depth > 64)
            abort(); /* the cap is far below this */
        count += walk(n->child, depth + 1);
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pqf__ynode *root = NULL;
    pqf_error err = {0};
    if (pqf__yaml_load("fuzz.yaml", (const char *)data, size, &root, &err) == PQF_OK) {
        if (!root || root->type != PQF__Y_MAP)
            abort(); /* the root is always a mapping */
        (void)walk(root, 0);
    } else if (!err.msg[0] || root) {
        abort(); /* a failure names why and returns no tree */
    }
    pqf__yaml_free(root);
    return 0;
}
