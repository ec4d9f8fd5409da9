/* Schema contracts (YAML via the config's tree) and schema changes with their
 * compatibility verdicts. Rules: docs/SCHEMA.md. */
#include "pqfeed/contract.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "feed/feed_impl.h"
#include "base/fsutil.h"
#include "feed/yamltree.h"
#include "pqfeed/feed.h"
#include "pqfeed/reader.h"
#include "pqfeed/source.h"
#include "pqfeed/store.h"
#include "source/json.h"

#define CONTRACT_MAX_BYTES (4u << 20)

const char *pqf_compat_mode_name(pqf_compat_mode m)
{
    switch (m) {
    case PQF_COMPAT_BACKWARD:
        return "backward";
    case PQF_COMPAT_FORWARD:
        return "forward";
    case PQF_COMPAT_FULL:
        return "full";
    default:
        return "none";
    }
}

/* ---- type names ------------------------------------------------------------------- */

static void leaf_name(const pqf_node_info *in, char *buf, size_t cap)
{
    static const char *units[] = {"ms", "us", "ns"};
    const pqf_logical *lt = &in->logical;
    switch (lt->kind) {
    case PQF_LT_STRING:
        snprintf(buf, cap, "string");
        return;
    case PQF_LT_ENUM:
        snprintf(buf, cap, "enum");
        return;
    case PQF_LT_JSON:
        snprintf(buf, cap, "json");
        return;
    case PQF_LT_BSON:
        snprintf(buf, cap, "bson");
        return;
    case PQF_LT_UUID:
        snprintf(buf, cap, "uuid");
        return;
    case PQF_LT_DATE:
        snprintf(buf, cap, "date");
        return;
    case PQF_LT_TIME:
    case PQF_LT_TIMESTAMP: {
        bool ts = lt->kind == PQF_LT_TIMESTAMP;
        /* the schema-file default is utc for timestamps, local for times */
        snprintf(buf, cap, "%s_%s%s", ts ? "timestamp" : "time", units[lt->unit % 3],
                 lt->utc == ts ? ""
                 : lt->utc     ? " (utc)"
                               : " (local)");
        return;
    }
    case PQF_LT_DECIMAL:
        snprintf(buf, cap, "decimal(%d,%d)", (int)lt->precision, (int)lt->scale);
        return;
    case PQF_LT_INT:
        snprintf(buf, cap, "%sint%d", lt->is_signed ? "" : "u", (int)lt->bit_width);
        return;
    default:
        break;
    }
    switch (in->physical) {
    case PQF_BOOLEAN:
        snprintf(buf, cap, "bool");
        return;
    case PQF_INT32:
        snprintf(buf, cap, "int32");
        return;
    case PQF_INT64:
        snprintf(buf, cap, "int64");
        return;
    case PQF_FLOAT:
        snprintf(buf, cap, "float");
        return;
    case PQF_DOUBLE:
        snprintf(buf, cap, "double");
        return;
    case PQF_BYTE_ARRAY:
        snprintf(buf, cap, "binary");
        return;
    case PQF_FIXED_LEN_BYTE_ARRAY:
        snprintf(buf, cap, "fixed(%d)", (int)in->type_length);
        return;
    default:
        snprintf(buf, cap, "int96");
        return;
    }
}

const char *pqf_schema_type_name(const pqf_schema *s, int node, char *buf, size_t cap)
{
    pqf_node_info in;
    if (cap == 0)
        return buf;
    buf[0] = 0;
    if (pqf_schema_node(s, node, &in) != PQF_OK)
        return buf;
    if (!in.is_group) {
        leaf_name(&in, buf, cap);
        return buf;
    }
    int el = pqf_schema_list_element(s, node);
    if (el >= 0) {
        char inner[PQF_CHANGE_TYPE_MAX];
        pqf_schema_type_name(s, el, inner, sizeof inner);
        snprintf(buf, cap, "list<%s>", inner);
        return buf;
    }
    /* struct<a:T,b:U>, truncated to cap */
    size_t len = (size_t)snprintf(buf, cap, "struct<");
    for (int i = 0; i < in.nchildren && len < cap; i++) {
        int c = pqf_schema_child(s, node, i);
        pqf_node_info ci;
        char inner[PQF_CHANGE_TYPE_MAX];
        if (pqf_schema_node(s, c, &ci) != PQF_OK)
            continue;
        pqf_schema_type_name(s, c, inner, sizeof inner);
        len += (size_t)snprintf(buf + len, cap - len, "%s%s:%s", i ? "," : "", ci.name, inner);
    }
    if (len < cap)
        snprintf(buf + len, cap - len, ">");
    return buf;
}

/* ---- schema changes --------------------------------------------------------------- */

static int int_width(const pqf_node_info *n)
{
    if (n->is_group)
        return -1;
    if (n->logical.kind == PQF_LT_INT)
        return n->logical.bit_width;
    if (n->logical.kind != PQF_LT_NONE)
        return -1;
    return n->physical == PQF_INT32 ? 32 : n->physical == PQF_INT64 ? 64 : -1;
}

/* Does b hold every value of a? The widenings of pqf_schema_check_compatible:
 * integers of the same signedness to a wider width, float to double, decimal
 * precision up at the same scale. */
bool pqf__schema_widens(const pqf_node_info *a, const pqf_node_info *b)
{
    int wa = int_width(a), wb = int_width(b);
    bool sa = a->logical.kind != PQF_LT_INT || a->logical.is_signed;
    bool sb = b->logical.kind != PQF_LT_INT || b->logical.is_signed;
    if (wa > 0 && wb > 0)
        return sa == sb && wb >= wa;
    if (a->is_group || b->is_group)
        return false;
    if (a->physical == PQF_FLOAT && b->physical == PQF_DOUBLE && a->logical.kind == PQF_LT_NONE &&
        b->logical.kind == PQF_LT_NONE)
        return true;
    if (a->logical.kind == PQF_LT_DECIMAL && b->logical.kind == PQF_LT_DECIMAL)
        return a->logical.scale == b->logical.scale && b->logical.precision >= a->logical.precision;
    return false;
}

/* The verdict of one change: the one place the rules of docs/SCHEMA.md live. */
static void verdict(pqf_schema_change *c)
{
    switch (c->kind) {
    case PQF_CHANGE_ADDED:
        c->backward_ok = c->new_nullable; /* old data has no value for it */
        c->forward_ok = true;             /* old readers ignore it */
        return;
    case PQF_CHANGE_DROPPED:
        c->backward_ok = true;           /* new readers do not ask for it */
        c->forward_ok = c->old_nullable; /* old readers see NULLs */
        return;
    case PQF_CHANGE_CHANGED:
        c->backward_ok = !c->type_changed || c->widening;
        c->forward_ok = !c->type_changed || c->narrowing;
        if (c->old_nullable && !c->new_nullable)
            c->backward_ok = false; /* old data has NULLs */
        if (!c->old_nullable && c->new_nullable)
            c->forward_ok = false; /* old readers meet NULLs */
        return;
    }
}

static pqf_err push(pqf_schema_change **v, size_t *n, size_t *cap, pqf_schema_change **out,
                    pqf_error *err)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        pqf_schema_change *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
        *v = nv;
        *cap = nc;
    }
    *out = &(*v)[(*n)++];
    memset(*out, 0, sizeof **out);
    return PQF_OK;
}

pqf_err pqf_schema_diff(const pqf_schema *old, const pqf_schema *next, pqf_schema_change **changes,
                        size_t *n, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_schema_change *v = NULL, *c = NULL;
    size_t cnt = 0, cap = 0;
    pqf_node_info ro, rn, a, b;
    *changes = NULL;
    *n = 0;
    PQF_TRY(pqf_schema_node(old, 0, &ro));
    PQF_TRY(pqf_schema_node(next, 0, &rn));
    for (int i = 0; i < ro.nchildren; i++) {
        int ia = pqf_schema_child(old, 0, i);
        PQF_TRY(pqf_schema_node(old, ia, &a));
        int ib = pqf_schema_find_child(next, 0, a.name);
        char ta[PQF_CHANGE_TYPE_MAX], tb[PQF_CHANGE_TYPE_MAX] = "";
        pqf_schema_type_name(old, ia, ta, sizeof ta);
        bool na = a.repetition != PQF_REQUIRED;
        if (ib < 0) {
            PQF_TRY(push(&v, &cnt, &cap, &c, err));
            c->kind = PQF_CHANGE_DROPPED;
            c->old_nullable = na;
        } else {
            PQF_TRY(pqf_schema_node(next, ib, &b));
            pqf_schema_type_name(next, ib, tb, sizeof tb);
            bool nb = b.repetition != PQF_REQUIRED;
            bool tc = strcmp(ta, tb) != 0;
            if (!tc && na == nb)
                continue;
            PQF_TRY(push(&v, &cnt, &cap, &c, err));
            c->kind = PQF_CHANGE_CHANGED;
            c->old_nullable = na;
            c->new_nullable = nb;
            c->type_changed = tc;
            c->widening = tc && pqf__schema_widens(&a, &b);
            c->narrowing = tc && pqf__schema_widens(&b, &a);
        }
        snprintf(c->column, sizeof c->column, "%s", a.name);
        snprintf(c->old_type, sizeof c->old_type, "%s", ta);
        snprintf(c->new_type, sizeof c->new_type, "%s", tb);
        verdict(c);
    }
    for (int i = 0; i < rn.nchildren; i++) {
        int ib = pqf_schema_child(next, 0, i);
        PQF_TRY(pqf_schema_node(next, ib, &b));
        if (pqf_schema_find_child(old, 0, b.name) >= 0)
            continue;
        PQF_TRY(push(&v, &cnt, &cap, &c, err));
        c->kind = PQF_CHANGE_ADDED;
        c->new_nullable = b.repetition != PQF_REQUIRED;
        snprintf(c->column, sizeof c->column, "%s", b.name);
        pqf_schema_type_name(next, ib, c->new_type, sizeof c->new_type);
        verdict(c);
    }
    *changes = v;
    *n = cnt;
    v = NULL;
done:
    free(v);
    return rc;
}

bool pqf_schema_changes_keep(const pqf_schema_change *changes, size_t n, pqf_compat_mode m)
{
    for (size_t i = 0; i < n; i++) {
        if ((m & PQF_COMPAT_BACKWARD) && !changes[i].backward_ok)
            return false;
        if ((m & PQF_COMPAT_FORWARD) && !changes[i].forward_ok)
            return false;
    }
    return true;
}

/* ---- contract files --------------------------------------------------------------- */

typedef struct {
    const char *file;
    pqf_error *err;
} kctx;

static pqf_err bad(kctx *x, const pqf__ynode *n, const char *path, const char *why)
{
    return pqf_error_set(x->err, PQF_ERR_PARSE, "%s:%u: %s: %s", x->file, n->line, path, why);
}

static pqf_err nomem(kctx *x)
{
    return pqf_error_set(x->err, PQF_ERR_NOMEM, "out of memory");
}

static pqf_err get_str(kctx *x, const pqf__ynode *n, const char *path, char **out)
{
    if (n->type != PQF__Y_SCALAR || !n->text[0])
        return bad(x, n, path, "expected a non-empty string");
    free(*out);
    *out = strdup(n->text);
    return *out ? PQF_OK : nomem(x);
}

static pqf_err get_bool(kctx *x, const pqf__ynode *n, const char *path, bool *out)
{
    const char *t = n->type == PQF__Y_SCALAR ? n->text : "";
    if (strcmp(t, "true") == 0 || strcmp(t, "yes") == 0)
        *out = true;
    else if (strcmp(t, "false") == 0 || strcmp(t, "no") == 0)
        *out = false;
    else
        return bad(x, n, path, "expected true or false");
    return PQF_OK;
}

/* key: id, key: [a, b] or key: "a,b" -> "a,b" */
static pqf_err get_names(kctx *x, const pqf__ynode *n, const char *path, char **out)
{
    if (n->type == PQF__Y_SCALAR)
        return get_str(x, n, path, out);
    if (n->type != PQF__Y_SEQ || !n->child)
        return bad(x, n, path, "expected a column name or a list of them");
    size_t len = 1;
    for (const pqf__ynode *c = n->child; c; c = c->next) {
        if (c->type != PQF__Y_SCALAR || !c->text[0])
            return bad(x, c, path, "expected a list of column names");
        len += strlen(c->text) + 1;
    }
    free(*out);
    *out = calloc(1, len);
    if (!*out)
        return nomem(x);
    for (const pqf__ynode *c = n->child; c; c = c->next) {
        if (c != n->child)
            strcat(*out, ",");
        strcat(*out, c->text);
    }
    return PQF_OK;
}

/* A contract type is a schema-file type name; it is canonicalised by reading
 * it as a one-column schema, so "boolean" and "bool" compare equal and a typo
 * fails here rather than as a mismatch against every feed. Nested types are
 * given as pqf_schema_type_name writes them ("list<string>") and compared as
 * text. */
static pqf_err get_type(kctx *x, const pqf__ynode *n, const char *path, char **out)
{
    pqf_err rc = PQF_OK;
    pqf_schema *s = NULL;
    char json[256], name[PQF_CHANGE_TYPE_MAX];
    pqf_error e2 = {0};
    if (n->type != PQF__Y_SCALAR || !n->text[0])
        return bad(x, n, path, "expected a type name such as int64 or decimal(18,2)");
    const char *t = n->text;
    if (strncmp(t, "list<", 5) == 0 || strncmp(t, "struct<", 7) == 0)
        return get_str(x, n, path, out);
    if (strlen(t) > 64 || strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_(), ") != strlen(t)) {
        snprintf(json, sizeof json, "unknown type '%.64s'", t);
        return bad(x, n, path, json);
    }
    snprintf(json, sizeof json, "{\"columns\": [{\"name\": \"c\", \"type\": \"%s\"}]}", t);
    if (pqf_schema_from_json(json, strlen(json), "contract", &s, &e2) != PQF_OK) {
        snprintf(json, sizeof json, "unknown type '%s'", t);
        PQF_TRY(bad(x, n, path, json));
    }
    pqf_schema_type_name(s, pqf_schema_child(s, 0, 0), name, sizeof name);
    free(*out);
    *out = strdup(name);
    if (!*out)
        PQF_TRY(nomem(x));
done:
    pqf_schema_free(s);
    return rc;
}

static pqf_err parse_check(kctx *x, const pqf__ynode *n, const char *base, pqf_contract_check *k)
{
    pqf_err rc = PQF_OK;
    char path[512];
    if (n->type != PQF__Y_MAP)
        return bad(x, n, base, "expected a mapping (allowed, min, max, regex, not_null_ratio)");
    for (const pqf__ynode *m = n->child; m; m = m->next) {
        snprintf(path, sizeof path, "%.400s.%.100s", base, m->key);
        if (strcmp(m->key, "allowed") == 0) {
            if (m->type != PQF__Y_SEQ || !m->child)
                PQF_TRY(bad(x, m, path, "expected a non-empty list of values"));
            size_t cnt = 0;
            for (const pqf__ynode *c = m->child; c; c = c->next) {
                if (c->type != PQF__Y_SCALAR)
                    PQF_TRY(bad(x, c, path, "expected a list of values"));
                cnt++;
            }
            pqf_strv_free(k->allowed, k->nallowed);
            k->nallowed = 0;
            k->allowed = calloc(cnt, sizeof *k->allowed);
            if (!k->allowed)
                PQF_TRY(nomem(x));
            for (const pqf__ynode *c = m->child; c; c = c->next) {
                if (!(k->allowed[k->nallowed] = strdup(c->text)))
                    PQF_TRY(nomem(x));
                k->nallowed++;
            }
        } else if (strcmp(m->key, "min") == 0) {
            PQF_TRY(get_str(x, m, path, &k->min));
        } else if (strcmp(m->key, "max") == 0) {
            PQF_TRY(get_str(x, m, path, &k->max));
        } else if (strcmp(m->key, "regex") == 0) {
            regex_t re;
            PQF_TRY(get_str(x, m, path, &k->regex));
            if (regcomp(&re, k->regex, REG_EXTENDED | REG_NOSUB) != 0)
                PQF_TRY(bad(x, m, path, "not a valid POSIX extended regular expression"));
            regfree(&re);
        } else if (strcmp(m->key, "not_null_ratio") == 0) {
            char *end = NULL;
            double r = m->type == PQF__Y_SCALAR ? strtod(m->text, &end) : -1;
            if (!end || end == m->text || *end || !(r >= 0 && r <= 1))
                PQF_TRY(bad(x, m, path, "expected a number from 0 to 1"));
            k->not_null_ratio = r;
        } else {
            PQF_TRY(bad(x, m, path, "unknown key"));
        }
    }
done:
    return rc;
}

static pqf_err parse_column(kctx *x, const pqf__ynode *n, const char *base,
                            pqf_contract_column *col)
{
    pqf_err rc = PQF_OK;
    char path[512];
    col->line = n->line;
    col->nullable = true;
    col->check.not_null_ratio = -1;
    if (n->type != PQF__Y_MAP)
        return bad(x, n, base, "expected a mapping (name, type, nullable, check)");
    for (const pqf__ynode *m = n->child; m; m = m->next) {
        snprintf(path, sizeof path, "%.400s.%.100s", base, m->key);
        if (strcmp(m->key, "name") == 0) {
            PQF_TRY(get_str(x, m, path, &col->name));
        } else if (strcmp(m->key, "type") == 0) {
            PQF_TRY(get_type(x, m, path, &col->type));
        } else if (strcmp(m->key, "nullable") == 0) {
            PQF_TRY(get_bool(x, m, path, &col->nullable));
        } else if (strcmp(m->key, "check") == 0) {
            col->has_check = true;
            PQF_TRY(parse_check(x, m, path, &col->check));
        } else if (strcmp(m->key, "doc") == 0) {
            /* free text */
        } else {
            PQF_TRY(bad(x, m, path, "unknown key"));
        }
    }
    if (!col->name)
        PQF_TRY(bad(x, n, base, "needs a name"));
    if (!col->type)
        PQF_TRY(bad(x, n, base, "needs a type"));
done:
    return rc;
}

static pqf_err parse_table(kctx *x, const pqf__ynode *tn, pqf_contract_table *t)
{
    pqf_err rc = PQF_OK;
    char path[512];
    t->line = tn->line;
    if (!pqf_table_name_ok(tn->key))
        return bad(x, tn, "tables", "a table name is letters, digits, _ and -, from a letter");
    if (!(t->name = strdup(tn->key)))
        return nomem(x);
    snprintf(path, sizeof path, "tables.%s", t->name);
    if (tn->type != PQF__Y_MAP)
        return bad(x, tn, path, "expected a mapping (key, compatibility, columns)");
    const pqf__ynode *cols = NULL;
    for (const pqf__ynode *m = tn->child; m; m = m->next) {
        snprintf(path, sizeof path, "tables.%s.%s", t->name, m->key);
        if (strcmp(m->key, "key") == 0) {
            PQF_TRY(get_names(x, m, path, &t->key));
        } else if (strcmp(m->key, "compatibility") == 0) {
            static const char *names[] = {"none", "backward", "forward", "full"};
            size_t i = 0;
            while (i < PQF_ARRAY_LEN(names) &&
                   (m->type != PQF__Y_SCALAR || strcmp(m->text, names[i]) != 0))
                i++;
            if (i == PQF_ARRAY_LEN(names))
                PQF_TRY(bad(x, m, path, "expected none, backward, forward or full"));
            t->compat = (pqf_compat_mode)i;
        } else if (strcmp(m->key, "columns") == 0) {
            if (m->type != PQF__Y_SEQ || !m->child)
                PQF_TRY(bad(x, m, path, "expected a non-empty list of columns"));
            cols = m;
        } else {
            PQF_TRY(bad(x, m, path, "unknown key"));
        }
    }
    snprintf(path, sizeof path, "tables.%s", t->name);
    if (!cols)
        PQF_TRY(bad(x, tn, path, "needs columns"));
    size_t cnt = 0;
    for (const pqf__ynode *c = cols->child; c; c = c->next)
        cnt++;
    t->columns = calloc(cnt, sizeof *t->columns);
    if (!t->columns)
        PQF_TRY(nomem(x));
    for (const pqf__ynode *c = cols->child; c; c = c->next) {
        snprintf(path, sizeof path, "tables.%s.columns[%zu]", t->name, t->ncolumns);
        pqf_contract_column *col = &t->columns[t->ncolumns++];
        PQF_TRY(parse_column(x, c, path, col));
        for (size_t j = 0; j + 1 < t->ncolumns; j++)
            if (strcmp(t->columns[j].name, col->name) == 0)
                PQF_TRY(bad(x, c, path, "the column is listed twice"));
    }
done:
    return rc;
}

pqf_err pqf_contract_load(const char *path, pqf_contract **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char *text = NULL;
    size_t len = 0;
    pqf__ynode *root = NULL;
    pqf_contract *c = NULL;
    kctx x = {path, err};
    *out = NULL;
    PQF_TRY(pqf__read_file(path, CONTRACT_MAX_BYTES, &text, &len, err));
    PQF_TRY(pqf__yaml_load(path, text, len, &root, err));
    c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path)))
        PQF_TRY(nomem(&x));
    for (const pqf__ynode *m = root->child; m; m = m->next) {
        if (strcmp(m->key, "tables") == 0) {
            if (m->type != PQF__Y_MAP || !m->child)
                PQF_TRY(bad(&x, m, m->key, "expected a mapping of table names"));
            size_t n = 0;
            for (const pqf__ynode *t = m->child; t; t = t->next)
                n++;
            c->tables = calloc(n, sizeof *c->tables);
            if (!c->tables)
                PQF_TRY(nomem(&x));
            for (const pqf__ynode *t = m->child; t; t = t->next)
                PQF_TRY(parse_table(&x, t, &c->tables[c->ntables++]));
        } else {
            PQF_TRY(bad(&x, m, m->key, "unknown key"));
        }
    }
    if (c->ntables == 0)
        PQF_FAIL(err, PQF_ERR_PARSE, "%s: needs 'tables' with at least one table", path);
    *out = c;
    c = NULL;
done:
    pqf__yaml_free(root);
    free(text);
    pqf_contract_free(c);
    return rc;
}

void pqf_contract_free(pqf_contract *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ntables; i++) {
        pqf_contract_table *t = &c->tables[i];
        for (size_t j = 0; j < t->ncolumns; j++) {
            pqf_contract_column *col = &t->columns[j];
            free(col->name);
            free(col->type);
            pqf_strv_free(col->check.allowed, col->check.nallowed);
            free(col->check.min);
            free(col->check.max);
            free(col->check.regex);
        }
        free(t->columns);
        free(t->name);
        free(t->key);
    }
    free(c->tables);
    free(c->path);
    free(c);
}

/* ---- value checks ----------------------------------------------------------------- */

/* <0, 0, >0: numerically when both are whole numbers, else as text. */
static int cmp_bound(const char *v, const char *bound)
{
    char *e1 = NULL, *e2 = NULL;
    double a = strtod(v, &e1), b = strtod(bound, &e2);
    if (*v && *bound && !*e1 && !*e2)
        return a < b ? -1 : a > b ? 1 : 0;
    return strcmp(v, bound);
}

static void note_example(pqf_value_stats *s, const char *v)
{
    if (!s->example[0])
        snprintf(s->example, sizeof s->example, "%s", v);
}

static void check_value(const pqf_contract_column *c, const regex_t *re, pqf_value_stats *s,
                        const pqf__json *v)
{
    const pqf_contract_check *k = &c->check;
    s->rows++;
    if (!v || v->type == PQF__JNULL) {
        s->nulls++;
        return;
    }
    const char *text = v->type == PQF__JSTR || v->type == PQF__JNUM ? v->str
                       : v->type == PQF__JBOOL                      ? (v->b ? "true" : "false")
                                                                    : NULL;
    if (!text)
        return; /* nested values: only the not-null ratio applies */
    if (k->nallowed) {
        size_t i = 0;
        while (i < k->nallowed && strcmp(k->allowed[i], text) != 0)
            i++;
        if (i == k->nallowed) {
            s->not_allowed++;
            note_example(s, text);
        }
    }
    if ((k->min && cmp_bound(text, k->min) < 0) || (k->max && cmp_bound(text, k->max) > 0)) {
        s->out_of_range++;
        note_example(s, text);
    }
    if (re && v->type == PQF__JSTR && regexec(re, text, 0, NULL, 0) != 0) {
        s->no_match++;
        note_example(s, text);
    }
}

/* One data file: its rows through check_value for each present checked column. */
static pqf_err check_file(pqf_feed *f, const pqf_contract_table *t, const char *key,
                          const regex_t *res, pqf_value_stats *stats, pqf__json_doc *doc,
                          pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_istream *in = NULL;
    pqf_reader *r = NULL;
    pqf_row_reader *rr = NULL;
    const char **cols = NULL;
    size_t *idx = NULL, ncols = 0;
    PQF_TRY(pqf_store_open_read(pqf_feed_store(f), key, NULL, &in, NULL, err));
    PQF_TRY(pqf_reader_open(in, NULL, &r, err));
    cols = calloc(t->ncolumns + 1, sizeof *cols);
    idx = calloc(t->ncolumns + 1, sizeof *idx);
    if (!cols || !idx)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    pqf_node_info root;
    PQF_TRY(pqf_reader_node(r, 0, &root));
    for (size_t i = 0; i < t->ncolumns; i++) {
        if (!t->columns[i].has_check)
            continue;
        for (int j = 0; j < root.nchildren; j++) {
            pqf_node_info in2;
            PQF_TRY(pqf_reader_node(r, pqf_reader_node_child(r, 0, j), &in2));
            if (strcmp(in2.name, t->columns[i].name) == 0) {
                stats[i].present = true;
                cols[ncols] = t->columns[i].name;
                idx[ncols++] = i;
                break;
            }
        }
    }
    if (ncols == 0)
        goto done;
    pqf_row_opts ro = {.columns = cols, .ncolumns = ncols, .format = PQF_ROW_JSON};
    PQF_TRY(pqf_row_reader_open(r, &ro, &rr, err));
    for (;;) {
        const char *line = NULL;
        size_t len = 0;
        pqf__json *row = NULL;
        if (pqf_row_reader_next(rr, &line, &len) != PQF_OK) {
            *err = *pqf_row_reader_error(rr);
            rc = err->code;
            pqf_error_prefix(err, "%s: ", key);
            goto done;
        }
        if (!line)
            break;
        pqf__json_doc_reset(doc);
        if (pqf__json_parse(doc, line, len, &row) != PQF_OK)
            PQF_FAIL(err, PQF_ERR_INTERNAL, "%s: cannot read back a row: %s", key, doc->err.msg);
        for (size_t c = 0; c < ncols; c++) {
            size_t i = idx[c];
            check_value(&t->columns[i], t->columns[i].check.regex ? &res[i] : NULL, &stats[i],
                        pqf__json_get(row, cols[c]));
        }
    }
done:
    pqf_row_reader_free(rr);
    pqf_reader_free(r);
    pqf_istream_free(in);
    free(cols);
    free(idx);
    return rc;
}

pqf_err pqf_contract_check_values(pqf_feed *f, const pqf_contract_table *t, pqf_value_stats *stats,
                                  uint64_t *seq, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_commit *c = NULL;
    regex_t *res = NULL;
    size_t ncompiled = 0;
    pqf__json_doc doc;
    pqf__json_doc_init(&doc, NULL);
    memset(stats, 0, t->ncolumns * sizeof *stats);
    *seq = 0;
    res = calloc(t->ncolumns + 1, sizeof *res);
    if (!res)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    /* compiled in column order; ncompiled counts the prefix to free */
    for (; ncompiled < t->ncolumns; ncompiled++) {
        const char *rx = t->columns[ncompiled].check.regex;
        if (rx && regcomp(&res[ncompiled], rx, REG_EXTENDED | REG_NOSUB) != 0)
            PQF_FAIL(err, PQF_ERR_INVALID_ARG, "table %s: column %s: bad regex", t->name,
                     t->columns[ncompiled].name);
    }
    uint64_t head = 0;
    PQF_TRY(pqf_feed_head(f, t->name, &head, err));
    if (head == 0)
        goto done;
    PQF_TRY(pqf_feed_read_commit(f, t->name, head, &c, err));
    *seq = head;
    for (size_t i = 0; i < c->nfiles; i++)
        PQF_TRY(check_file(f, t, c->files[i].key, res, stats, &doc, err));
done:
    for (size_t i = 0; i < ncompiled && res; i++)
        if (t->columns[i].check.regex)
            regfree(&res[i]);
    free(res);
    pqf__json_doc_free(&doc);
    pqf_commit_free(c);
    return rc;
}

bool pqf_value_stats_ok(const pqf_contract_column *c, const pqf_value_stats *s)
{
    if (!c->has_check)
        return true;
    if (!s->present)
        return false;
    if (s->not_allowed || s->out_of_range || s->no_match)
        return false;
    if (c->check.not_null_ratio >= 0 && s->rows > 0 &&
        (double)(s->rows - s->nulls) < c->check.not_null_ratio * (double)s->rows)
        return false;
    return true;
}
