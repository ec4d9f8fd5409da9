/* The schema tree (include/pqfeed/schema.h): nodes in creation order, each
 * group with its children in insertion order; pqf_schema_finish() walks the
 * tree depth-first to number leaves and compute definition and repetition
 * levels. */
#include "pqfeed/schema.h"

#include <stdlib.h>
#include <string.h>

#include "base/base.h"

typedef struct node {
    char *name;
    int parent;
    bool is_group;
    pqf_repetition rep;
    pqf_physical physical;
    int32_t type_length;
    pqf_logical lt;
    int32_t field_id;
    int leaf;
    int16_t max_def, max_rep;
    int *kids;
    int nkids, capkids;
} node;

struct pqf_schema {
    node *nodes;
    int n, cap;
    int *leaves; /* leaf index -> node id */
    int nleaves;
    bool finished;
};

pqf_schema *pqf_schema_create(void)
{
    pqf_schema *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cap = 16;
    s->nodes = calloc((size_t)s->cap, sizeof *s->nodes);
    char *nm = strdup("schema");
    if (!s->nodes || !nm) {
        free(nm);
        free(s->nodes);
        free(s);
        return NULL;
    }
    s->n = 1;
    s->nodes[0].name = nm;
    s->nodes[0].parent = -1;
    s->nodes[0].is_group = true;
    s->nodes[0].field_id = -1;
    s->nodes[0].leaf = -1;
    return s;
}

void pqf_schema_free(pqf_schema *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++) {
        free(s->nodes[i].name);
        free(s->nodes[i].kids);
    }
    free(s->nodes);
    free(s->leaves);
    free(s);
}

pqf_schema *pqf_schema_clone(const pqf_schema *s)
{
    pqf_schema *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cap = s->cap;
    c->n = s->n;
    c->finished = s->finished;
    c->nleaves = s->nleaves;
    c->nodes = calloc((size_t)s->cap, sizeof *c->nodes);
    if (!c->nodes)
        goto oom;
    for (int i = 0; i < s->n; i++) {
        c->nodes[i] = s->nodes[i];
        c->nodes[i].name = NULL;
        c->nodes[i].kids = NULL;
    }
    for (int i = 0; i < s->n; i++) {
        c->nodes[i].name = strdup(s->nodes[i].name);
        if (!c->nodes[i].name)
            goto oom;
        if (s->nodes[i].capkids) {
            c->nodes[i].kids = malloc((size_t)s->nodes[i].capkids * sizeof(int));
            if (!c->nodes[i].kids)
                goto oom;
            memcpy(c->nodes[i].kids, s->nodes[i].kids, (size_t)s->nodes[i].nkids * sizeof(int));
        }
    }
    if (s->nleaves) {
        c->leaves = malloc((size_t)s->nleaves * sizeof(int));
        if (!c->leaves)
            goto oom;
        memcpy(c->leaves, s->leaves, (size_t)s->nleaves * sizeof(int));
    }
    return c;
oom:
    pqf_schema_free(c);
    return NULL;
}

static bool valid_node(const pqf_schema *s, int id)
{
    return id >= 0 && id < s->n;
}

/* Largest decimal precision that fits a two's complement integer of n bytes:
 * floor(log10(2^(8n-1) - 1)). */
static int32_t flba_max_precision(int32_t n)
{
    if (n <= 0)
        return 0;
    if (n > 128)
        n = 128;
    return (int32_t)((8.0 * n - 1) * 0.30102999566398119521);
}

static pqf_err check_logical(const pqf_logical *lt, pqf_physical t, int32_t len, const char *name,
                             pqf_error *err)
{
    const char *bad = NULL;
    switch (lt->kind) {
    case PQF_LT_NONE:
    case PQF_LT_UNKNOWN:
        break;
    case PQF_LT_STRING:
    case PQF_LT_ENUM:
    case PQF_LT_JSON:
    case PQF_LT_BSON:
        if (t != PQF_BYTE_ARRAY)
            bad = "needs BYTE_ARRAY";
        break;
    case PQF_LT_UUID:
        if (t != PQF_FIXED_LEN_BYTE_ARRAY || len != 16)
            bad = "needs FIXED_LEN_BYTE_ARRAY(16)";
        break;
    case PQF_LT_FLOAT16:
        if (t != PQF_FIXED_LEN_BYTE_ARRAY || len != 2)
            bad = "needs FIXED_LEN_BYTE_ARRAY(2)";
        break;
    case PQF_LT_DATE:
        if (t != PQF_INT32)
            bad = "needs INT32";
        break;
    case PQF_LT_TIME:
        if (lt->unit == PQF_MILLIS ? t != PQF_INT32 : t != PQF_INT64)
            bad = "needs INT32 for millis, INT64 for micros and nanos";
        if (lt->unit > PQF_NANOS)
            bad = "has an unknown unit";
        break;
    case PQF_LT_TIMESTAMP:
        if (t != PQF_INT64)
            bad = "needs INT64";
        if (lt->unit > PQF_NANOS)
            bad = "has an unknown unit";
        break;
    case PQF_LT_DECIMAL:
        if (lt->precision < 1 || lt->scale < 0 || lt->scale > lt->precision)
            bad = "needs precision >= 1 and 0 <= scale <= precision";
        else if (t == PQF_INT32 && lt->precision > 9)
            bad = "on INT32 allows precision <= 9";
        else if (t == PQF_INT64 && lt->precision > 18)
            bad = "on INT64 allows precision <= 18";
        else if (t == PQF_FIXED_LEN_BYTE_ARRAY && lt->precision > flba_max_precision(len))
            bad = "precision does not fit type_length bytes";
        else if (t != PQF_INT32 && t != PQF_INT64 && t != PQF_FIXED_LEN_BYTE_ARRAY)
            bad = "needs INT32, INT64 or FIXED_LEN_BYTE_ARRAY";
        break;
    case PQF_LT_INT:
        if (lt->bit_width != 8 && lt->bit_width != 16 && lt->bit_width != 32 && lt->bit_width != 64)
            bad = "needs bit width 8, 16, 32 or 64";
        else if (lt->bit_width == 64 ? t != PQF_INT64 : t != PQF_INT32)
            bad = "needs INT32 (8-32 bits) or INT64 (64 bits)";
        break;
    case PQF_LT_LIST:
    case PQF_LT_MAP:
        bad = "is for groups only";
        break;
    default:
        bad = "is unknown";
        break;
    }
    if (bad)
        return pqf_error_set(err, PQF_ERR_SCHEMA, "column %s: logical type %s %s", name,
                             pqf_logical_name(lt->kind), bad);
    return PQF_OK;
}

static int add_node(pqf_schema *s, int parent, const char *name, pqf_repetition rep, bool group,
                    pqf_error *err)
{
    if (s->finished) {
        pqf_error_set(err, PQF_ERR_INVALID_ARG, "schema already finished");
        return -1;
    }
    if (!valid_node(s, parent) || !s->nodes[parent].is_group) {
        pqf_error_set(err, PQF_ERR_SCHEMA, "%s: parent %d is not a group", name ? name : "?",
                      parent);
        return -1;
    }
    if (!name || !*name) {
        pqf_error_set(err, PQF_ERR_SCHEMA, "empty field name");
        return -1;
    }
    if ((unsigned)rep > PQF_REPEATED) {
        pqf_error_set(err, PQF_ERR_SCHEMA, "%s: bad repetition %d", name, (int)rep);
        return -1;
    }
    if (pqf_schema_find_child(s, parent, name) >= 0) {
        pqf_error_set(err, PQF_ERR_SCHEMA, "duplicate field name \"%s\"", name);
        return -1;
    }
    if (s->n == s->cap) {
        int ncap = s->cap * 2;
        node *nn = realloc(s->nodes, (size_t)ncap * sizeof *nn);
        if (!nn)
            goto oom;
        s->nodes = nn;
        s->cap = ncap;
    }
    node *p = &s->nodes[parent];
    if (p->nkids == p->capkids) {
        int nc = p->capkids ? p->capkids * 2 : 4;
        int *k = realloc(p->kids, (size_t)nc * sizeof *k);
        if (!k)
            goto oom;
        p->kids = k;
        p->capkids = nc;
    }
    node *n = &s->nodes[s->n];
    memset(n, 0, sizeof *n);
    n->name = strdup(name);
    if (!n->name)
        goto oom;
    n->parent = parent;
    n->is_group = group;
    n->rep = rep;
    n->field_id = -1;
    n->leaf = -1;
    p->kids[p->nkids++] = s->n;
    return s->n++;
oom:
    pqf_error_set(err, PQF_ERR_NOMEM, "out of memory adding field \"%s\"", name);
    return -1;
}

int pqf_schema_add_column(pqf_schema *s, int parent, const char *name, pqf_repetition rep,
                          pqf_physical physical, int32_t type_length, const pqf_logical *lt,
                          int32_t field_id, pqf_error *err)
{
    pqf_logical none = {0};
    if (!lt)
        lt = &none;
    if ((unsigned)physical > PQF_FIXED_LEN_BYTE_ARRAY) {
        pqf_error_set(err, PQF_ERR_SCHEMA, "column %s: bad physical type %d", name ? name : "?",
                      (int)physical);
        return -1;
    }
    if (physical == PQF_INT96) {
        pqf_error_set(err, PQF_ERR_UNSUPPORTED, "column %s: INT96 is deprecated and not written",
                      name ? name : "?");
        return -1;
    }
    if (physical == PQF_FIXED_LEN_BYTE_ARRAY && (type_length <= 0 || type_length > (1 << 20))) {
        pqf_error_set(err, PQF_ERR_SCHEMA, "column %s: FIXED_LEN_BYTE_ARRAY needs a type_length",
                      name ? name : "?");
        return -1;
    }
    if (check_logical(lt, physical, type_length, name ? name : "?", err) != PQF_OK)
        return -1;
    int id = add_node(s, parent, name, rep, false, err);
    if (id < 0)
        return -1;
    node *n = &s->nodes[id];
    n->physical = physical;
    n->type_length = physical == PQF_FIXED_LEN_BYTE_ARRAY ? type_length : 0;
    n->lt = *lt;
    n->field_id = field_id < 0 ? -1 : field_id;
    return id;
}

int pqf_schema_add_group(pqf_schema *s, int parent, const char *name, pqf_repetition rep,
                         const pqf_logical *lt, int32_t field_id, pqf_error *err)
{
    if (lt && lt->kind != PQF_LT_NONE && lt->kind != PQF_LT_LIST && lt->kind != PQF_LT_MAP) {
        pqf_error_set(err, PQF_ERR_SCHEMA, "group %s: logical type %s is for columns only",
                      name ? name : "?", pqf_logical_name(lt->kind));
        return -1;
    }
    int id = add_node(s, parent, name, rep, true, err);
    if (id < 0)
        return -1;
    if (lt)
        s->nodes[id].lt = *lt;
    s->nodes[id].field_id = field_id < 0 ? -1 : field_id;
    return id;
}

int pqf_schema_add_list(pqf_schema *s, int parent, const char *name, pqf_repetition rep,
                        int32_t field_id, pqf_error *err)
{
    if (rep == PQF_REPEATED) {
        pqf_error_set(err, PQF_ERR_SCHEMA, "list %s: must be REQUIRED or OPTIONAL",
                      name ? name : "?");
        return -1;
    }
    pqf_logical lt = {.kind = PQF_LT_LIST};
    int g = pqf_schema_add_group(s, parent, name, rep, &lt, field_id, err);
    if (g < 0)
        return -1;
    return pqf_schema_add_group(s, g, "list", PQF_REPEATED, NULL, -1, err);
}

static pqf_err finish_node(pqf_schema *s, int id, int16_t def, int16_t rep, int depth,
                           pqf_error *err)
{
    node *n = &s->nodes[id];
    if (depth > 64)
        return pqf_error_set(err, PQF_ERR_SCHEMA, "schema nested deeper than 64 levels");
    if (id != 0) {
        if (n->rep != PQF_REQUIRED)
            def++;
        if (n->rep == PQF_REPEATED)
            rep++;
    }
    n->max_def = def;
    n->max_rep = rep;
    if (!n->is_group) {
        if (s->nleaves % 64 == 0) {
            int *l = realloc(s->leaves, (size_t)(s->nleaves + 64) * sizeof *l);
            if (!l)
                return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
            s->leaves = l;
        }
        n->leaf = s->nleaves;
        s->leaves[s->nleaves++] = id;
        return PQF_OK;
    }
    if (n->nkids == 0)
        return pqf_error_set(err, PQF_ERR_SCHEMA, "group %s has no fields", n->name);
    if (n->lt.kind == PQF_LT_LIST) {
        const node *r = &s->nodes[n->kids[0]];
        if (n->nkids != 1 || !r->is_group || r->rep != PQF_REPEATED || r->nkids != 1)
            return pqf_error_set(err, PQF_ERR_SCHEMA,
                                 "list %s: needs one repeated group with exactly one element",
                                 n->name);
        if (n->rep == PQF_REPEATED)
            return pqf_error_set(err, PQF_ERR_SCHEMA, "list %s: must not be repeated", n->name);
    }
    for (int i = 0; i < n->nkids; i++) {
        pqf_err rc = finish_node(s, n->kids[i], def, rep, depth + 1, err);
        if (rc != PQF_OK)
            return rc;
        n = &s->nodes[id];
    }
    return PQF_OK;
}

pqf_err pqf_schema_finish(pqf_schema *s, pqf_error *err)
{
    if (s->finished)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "schema already finished");
    s->nleaves = 0;
    pqf_err rc = finish_node(s, 0, 0, 0, 0, err);
    if (rc != PQF_OK)
        return rc;
    s->finished = true;
    return PQF_OK;
}

int pqf_schema_node_count(const pqf_schema *s)
{
    return s->n;
}
int pqf_schema_leaf_count(const pqf_schema *s)
{
    return s->finished ? s->nleaves : 0;
}

int pqf_schema_leaf_node(const pqf_schema *s, int leaf)
{
    if (!s->finished || leaf < 0 || leaf >= s->nleaves)
        return -1;
    return s->leaves[leaf];
}

int pqf_schema_child(const pqf_schema *s, int node_id, int i)
{
    if (!valid_node(s, node_id) || i < 0 || i >= s->nodes[node_id].nkids)
        return -1;
    return s->nodes[node_id].kids[i];
}

int pqf_schema_find_child(const pqf_schema *s, int node_id, const char *name)
{
    if (!valid_node(s, node_id) || !name)
        return -1;
    const node *n = &s->nodes[node_id];
    for (int i = 0; i < n->nkids; i++)
        if (strcmp(s->nodes[n->kids[i]].name, name) == 0)
            return n->kids[i];
    return -1;
}

int pqf_schema_list_element(const pqf_schema *s, int list_node)
{
    if (!valid_node(s, list_node))
        return -1;
    const node *n = &s->nodes[list_node];
    if (!n->is_group || n->lt.kind != PQF_LT_LIST || n->nkids != 1)
        return -1;
    const node *r = &s->nodes[n->kids[0]];
    if (!r->is_group || r->nkids != 1)
        return -1;
    return r->kids[0];
}

pqf_err pqf_schema_node(const pqf_schema *s, int id, pqf_node_info *info)
{
    if (!valid_node(s, id))
        return PQF_ERR_INVALID_ARG;
    const node *n = &s->nodes[id];
    info->name = n->name;
    info->parent = n->parent;
    info->is_group = n->is_group;
    info->repetition = n->rep;
    info->physical = n->physical;
    info->type_length = n->type_length;
    info->logical = n->lt;
    info->field_id = n->field_id;
    info->leaf = n->leaf;
    info->max_def = n->max_def;
    info->max_rep = n->max_rep;
    info->nchildren = n->nkids;
    return PQF_OK;
}

size_t pqf_schema_path(const pqf_schema *s, int id, char *buf, size_t cap)
{
    if (!valid_node(s, id) || id == 0) {
        if (cap)
            buf[0] = 0;
        return 0;
    }
    /* Collect ancestors (excluding the root), then join them. */
    int chain[80];
    int depth = 0;
    for (int i = id; i > 0 && depth < (int)PQF_ARRAY_LEN(chain); i = s->nodes[i].parent)
        chain[depth++] = i;
    size_t need = 0;
    for (int d = depth - 1; d >= 0; d--) {
        const char *nm = s->nodes[chain[d]].name;
        size_t l = strlen(nm);
        if (need > 0) {
            if (need < cap)
                buf[need] = '.';
            need++;
        }
        for (size_t k = 0; k < l; k++, need++)
            if (need < cap)
                buf[need] = nm[k];
    }
    if (cap)
        buf[need < cap ? need : cap - 1] = 0;
    return need;
}

int pqf_schema_find_path(const pqf_schema *s, const char *path)
{
    if (!path)
        return -1;
    int cur = 0;
    const char *p = path;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        const node *n = &s->nodes[cur];
        int next = -1;
        for (int i = 0; i < n->nkids; i++) {
            const char *nm = s->nodes[n->kids[i]].name;
            if (strlen(nm) == l && memcmp(nm, p, l) == 0) {
                next = n->kids[i];
                break;
            }
        }
        if (next < 0)
            return -1;
        cur = next;
        if (!dot)
            break;
        p = dot + 1;
    }
    return cur == 0 ? -1 : cur;
}
