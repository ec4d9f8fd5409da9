/* Schema contracts (YAML via the config's tree) and schema changes with their
 * compatibility verdicts. Rules: docs/SCHEMA.md. */
#include "pqfeed/contract.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fsutil.h"
#include "base/hash.h"
#include "feed/contract_impl.h"
#include "feed/feed_impl.h"
#include "feed/yamltree.h"
#include "pqfeed/export.h"
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
    if (!pqf__grow(v, *n, cap, sizeof **v, 16))
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    *out = &(*v)[(*n)++];
    memset(*out, 0, sizeof **out);
    return PQF_OK;
}

#define DIFF_MAX_DEPTH 64

typedef struct {
    pqf_schema_change *v;
    size_t n, cap;
    pqf_error *err;
} diffv;

static bool is_list(const pqf_schema *s, int node)
{
    return pqf_schema_list_element(s, node) >= 0;
}

static void join_path(char *out, size_t cap, const char *prefix, const char *name)
{
    if (prefix && *prefix)
        snprintf(out, cap, "%s.%s", prefix, name);
    else
        snprintf(out, cap, "%s", name);
}

static pqf_err diff_group(diffv *d, const pqf_schema *old, int on, const pqf_schema *next, int nn,
                          const char *prefix, int depth);

/* One node present in both: nested groups of the same shape are compared
 * inside; anything else by type name and nullability. */
static pqf_err diff_node(diffv *d, const pqf_schema *old, int ia, const pqf_schema *next, int ib,
                         const char *path, int depth)
{
    pqf_err rc = PQF_OK;
    pqf_node_info a, b;
    pqf_schema_change *c = NULL;
    char ta[PQF_CHANGE_TYPE_MAX], tb[PQF_CHANGE_TYPE_MAX];
    pqf_error *err = d->err;
    if (depth > DIFF_MAX_DEPTH)
        PQF_FAIL(err, PQF_ERR_LIMIT, "%s: nested deeper than %d levels", path, DIFF_MAX_DEPTH);
    PQF_TRY(pqf_schema_node(old, ia, &a));
    PQF_TRY(pqf_schema_node(next, ib, &b));
    pqf_schema_type_name(old, ia, ta, sizeof ta);
    pqf_schema_type_name(next, ib, tb, sizeof tb);
    bool na = a.repetition != PQF_REQUIRED, nb = b.repetition != PQF_REQUIRED;
    bool la = is_list(old, ia), lb = is_list(next, ib);
    bool nested = a.is_group && b.is_group && la == lb;
    bool tc = !nested && strcmp(ta, tb) != 0;
    if (tc || na != nb) {
        PQF_TRY(push(&d->v, &d->n, &d->cap, &c, err));
        c->kind = PQF_CHANGE_CHANGED;
        c->old_nullable = na;
        c->new_nullable = nb;
        c->type_changed = tc;
        c->widening = tc && pqf__schema_widens(&a, &b);
        c->narrowing = tc && pqf__schema_widens(&b, &a);
        snprintf(c->column, sizeof c->column, "%s", path);
        snprintf(c->old_type, sizeof c->old_type, "%s", ta);
        snprintf(c->new_type, sizeof c->new_type, "%s", tb);
        verdict(c);
    }
    if (!nested)
        goto done;
    if (la) {
        char ep[256];
        snprintf(ep, sizeof ep, "%s[]", path);
        PQF_TRY(diff_node(d, old, pqf_schema_list_element(old, ia), next,
                          pqf_schema_list_element(next, ib), ep, depth + 1));
    } else {
        PQF_TRY(diff_group(d, old, ia, next, ib, path, depth + 1));
    }
done:
    return rc;
}

/* The children of group on (old) against group nn (next). */
static pqf_err diff_group(diffv *d, const pqf_schema *old, int on, const pqf_schema *next, int nn,
                          const char *prefix, int depth)
{
    pqf_err rc = PQF_OK;
    pqf_node_info ro, rn, a, b;
    pqf_schema_change *c = NULL;
    char path[256];
    pqf_error *err = d->err;
    PQF_TRY(pqf_schema_node(old, on, &ro));
    PQF_TRY(pqf_schema_node(next, nn, &rn));
    for (int i = 0; i < ro.nchildren; i++) {
        int ia = pqf_schema_child(old, on, i);
        PQF_TRY(pqf_schema_node(old, ia, &a));
        int ib = pqf_schema_find_child(next, nn, a.name);
        join_path(path, sizeof path, prefix, a.name);
        if (ib >= 0) {
            PQF_TRY(diff_node(d, old, ia, next, ib, path, depth));
            continue;
        }
        PQF_TRY(push(&d->v, &d->n, &d->cap, &c, err));
        c->kind = PQF_CHANGE_DROPPED;
        c->old_nullable = a.repetition != PQF_REQUIRED;
        snprintf(c->column, sizeof c->column, "%s", path);
        pqf_schema_type_name(old, ia, c->old_type, sizeof c->old_type);
        verdict(c);
    }
    for (int i = 0; i < rn.nchildren; i++) {
        int ib = pqf_schema_child(next, nn, i);
        PQF_TRY(pqf_schema_node(next, ib, &b));
        if (pqf_schema_find_child(old, on, b.name) >= 0)
            continue;
        PQF_TRY(push(&d->v, &d->n, &d->cap, &c, err));
        c->kind = PQF_CHANGE_ADDED;
        c->new_nullable = b.repetition != PQF_REQUIRED;
        join_path(c->column, sizeof c->column, prefix, b.name);
        pqf_schema_type_name(next, ib, c->new_type, sizeof c->new_type);
        verdict(c);
    }
done:
    return rc;
}

pqf_err pqf_schema_diff(const pqf_schema *old, const pqf_schema *next, pqf_schema_change **changes,
                        size_t *n, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    diffv d = {NULL, 0, 0, err};
    *changes = NULL;
    *n = 0;
    PQF_TRY(diff_group(&d, old, 0, next, 0, "", 0));
    *changes = d.v;
    *n = d.n;
    d.v = NULL;
done:
    free(d.v);
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
 * written as pqf_schema_type_name writes them ("list<string>",
 * "struct<id:int64,name:string>"); each leaf inside is canonicalised the same
 * way and compared with the feed field by field (pqf_contract_check_schema). */
#define TYPE_TEXT_MAX 4096
#define TYPE_MAX_DEPTH 32

/* Leaf type name t[0..n) to its canonical name; false when unknown. */
static bool canon_leaf(const char *t, size_t n, char *out, size_t cap)
{
    char name[80], json[256];
    const char *utc = "";
    pqf_schema *s = NULL;
    pqf_error e2 = {0};
    while (n && t[n - 1] == ' ')
        n--;
    while (n && *t == ' ')
        t++, n--;
    if (n == 0 || n >= sizeof name)
        return false;
    memcpy(name, t, n);
    name[n] = 0;
    /* "timestamp_us (local)", "time_ms (utc)": the suffix pqf_schema_type_name writes */
    char *sp = strstr(name, " (");
    if (sp) {
        utc = strcmp(sp, " (local)") == 0 ? ", \"utc\": false"
              : strcmp(sp, " (utc)") == 0 ? ", \"utc\": true"
                                          : NULL;
        if (!utc)
            return false;
        *sp = 0;
    }
    if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_(),") != strlen(name))
        return false;
    snprintf(json, sizeof json, "{\"columns\": [{\"name\": \"c\", \"type\": \"%s\"%s}]}", name,
             utc);
    if (pqf_schema_from_json(json, strlen(json), "contract", &s, &e2) != PQF_OK)
        return false;
    int c = pqf_schema_child(s, 0, 0);
    pqf_node_info in;
    bool ok = c >= 0 && pqf_schema_node(s, c, &in) == PQF_OK && !in.is_group;
    if (ok)
        pqf_schema_type_name(s, c, out, cap);
    pqf_schema_free(s);
    return ok;
}

typedef struct {
    char *out;
    size_t len, cap;
    char why[160];
} tbuf;

static bool tput(tbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        snprintf(b->why, sizeof b->why, "the type is longer than %zu characters", b->cap - 1);
        return false;
    }
    memcpy(b->out + b->len, s, n);
    b->len += n;
    b->out[b->len] = 0;
    return true;
}

static void skip_sp(const char **p)
{
    while (**p == ' ')
        (*p)++;
}

/* type := list<type> | struct<name:type,...> | leaf; canonical text to b. */
static bool canon_type(const char **p, tbuf *b, int depth)
{
    skip_sp(p);
    if (depth > TYPE_MAX_DEPTH) {
        snprintf(b->why, sizeof b->why, "nested deeper than %d levels", TYPE_MAX_DEPTH);
        return false;
    }
    if (strncmp(*p, "list<", 5) == 0) {
        *p += 5;
        if (!tput(b, "list<", 5) || !canon_type(p, b, depth + 1))
            return false;
        skip_sp(p);
        if (**p != '>') {
            snprintf(b->why, sizeof b->why, "expected '>' to close list<");
            return false;
        }
        (*p)++;
        return tput(b, ">", 1);
    }
    if (strncmp(*p, "struct<", 7) == 0) {
        *p += 7;
        if (!tput(b, "struct<", 7))
            return false;
        for (int i = 0;; i++) {
            skip_sp(p);
            size_t n = strcspn(*p, ":,<>");
            size_t m = n;
            while (m && (*p)[m - 1] == ' ')
                m--;
            if (m == 0 || (*p)[n] != ':') {
                snprintf(b->why, sizeof b->why, "expected 'field:type' in struct<");
                return false;
            }
            for (size_t k = 0; k < m; k++)
                if ((unsigned char)(*p)[k] < 0x20 || (*p)[k] == 0x7f) {
                    snprintf(b->why, sizeof b->why,
                             "a struct field name holds a control character");
                    return false;
                }
            if ((i && !tput(b, ",", 1)) || !tput(b, *p, m) || !tput(b, ":", 1))
                return false;
            *p += n + 1;
            if (!canon_type(p, b, depth + 1))
                return false;
            skip_sp(p);
            if (**p == ',') {
                (*p)++;
                continue;
            }
            if (**p == '>') {
                (*p)++;
                return tput(b, ">", 1);
            }
            snprintf(b->why, sizeof b->why, "expected ',' or '>' in struct<");
            return false;
        }
    }
    /* a leaf: up to ',' or '>' outside parentheses */
    const char *t = *p;
    int paren = 0;
    while (**p && !(paren == 0 && (**p == ',' || **p == '>' || **p == '<'))) {
        paren += **p == '(' ? 1 : **p == ')' ? -1 : 0;
        (*p)++;
    }
    char leaf[PQF_CHANGE_TYPE_MAX];
    if (!canon_leaf(t, (size_t)(*p - t), leaf, sizeof leaf)) {
        snprintf(b->why, sizeof b->why, "unknown type '%.*s'", (int)PQF_MIN(*p - t, 64), t);
        return false;
    }
    return tput(b, leaf, strlen(leaf));
}

static pqf_err get_type(kctx *x, const pqf__ynode *n, const char *path, char **out)
{
    char text[TYPE_TEXT_MAX];
    tbuf b = {text, 0, sizeof text, ""};
    if (n->type != PQF__Y_SCALAR || !n->text[0])
        return bad(x, n, path, "expected a type name such as int64 or decimal(18,2)");
    const char *p = n->text;
    text[0] = 0;
    bool ok = canon_type(&p, &b, 0);
    skip_sp(&p);
    if (ok && *p) {
        snprintf(b.why, sizeof b.why, "unexpected '%.32s' after the type", p);
        ok = false;
    }
    if (!ok) {
        /* a plain unknown name reads best as itself */
        if (!strchr(n->text, '<') && strlen(n->text) <= 64)
            snprintf(b.why, sizeof b.why, "unknown type '%s'%s", n->text,
                     strchr(n->text, '(') && !strchr(n->text, ')')
                         ? " (in a {flow} mapping a comma ends the value: quote it, "
                           "\"decimal(18,2)\")"
                         : "");
        return bad(x, n, path, b.why);
    }
    free(*out);
    *out = strdup(text);
    return *out ? PQF_OK : nomem(x);
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
    *out = NULL;
    PQF_TRY(pqf__read_file(path, CONTRACT_MAX_BYTES, &text, &len, err));
    PQF_TRY(pqf__contract_parse(path, text, len, out, err));
done:
    free(text);
    return rc;
}

pqf_err pqf__contract_parse(const char *path, const char *text, size_t len, pqf_contract **out,
                            pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__ynode *root = NULL;
    pqf_contract *c = NULL;
    kctx x = {path, err};
    *out = NULL;
    if (len > CONTRACT_MAX_BYTES)
        PQF_FAIL(err, PQF_ERR_LIMIT, "%s: larger than %u bytes", path, CONTRACT_MAX_BYTES);
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

/* One data file (read from in, which this takes): its first `limit` rows (0:
 * all) through check_value for each present checked column. */
static pqf_err check_stream(pqf_istream *in, const pqf_contract_table *t, const char *key,
                            const regex_t *res, uint64_t limit, pqf_value_stats *stats,
                            pqf__json_doc *doc, uint64_t *nread, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_reader *r = NULL;
    pqf_row_reader *rr = NULL;
    const char **cols = NULL;
    size_t *idx = NULL, ncols = 0;
    uint64_t n = 0;
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
    for (; limit == 0 || n < limit; n++) {
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
    if (nread)
        *nread += n;
    pqf_row_reader_free(rr);
    pqf_reader_free(r);
    pqf_istream_free(in);
    free(cols);
    free(idx);
    return rc;
}

static pqf_err check_file(pqf_feed *f, const pqf_contract_table *t, const char *key,
                          const regex_t *res, uint64_t limit, pqf_value_stats *stats,
                          pqf__json_doc *doc, uint64_t *nread, pqf_error *err)
{
    pqf_istream *in = NULL;
    pqf_err rc = pqf_store_open_read(pqf_feed_store(f), key, NULL, &in, NULL, err);
    if (rc != PQF_OK)
        return rc;
    return check_stream(in, t, key, res, limit, stats, doc, nread, err);
}

/* The regexes of t's columns, compiled in column order (NULL-regex slots
 * unused); free with free_res. */
static pqf_err compile_res(const pqf_contract_table *t, regex_t **out, size_t *ncompiled,
                           pqf_error *err)
{
    *ncompiled = 0;
    *out = calloc(t->ncolumns + 1, sizeof **out);
    if (!*out)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    for (; *ncompiled < t->ncolumns; (*ncompiled)++) {
        const char *rx = t->columns[*ncompiled].check.regex;
        if (rx && regcomp(&(*out)[*ncompiled], rx, REG_EXTENDED | REG_NOSUB) != 0)
            return pqf_error_set(err, PQF_ERR_INVALID_ARG, "table %s: column %s: bad regex",
                                 t->name, t->columns[*ncompiled].name);
    }
    return PQF_OK;
}

static void free_res(const pqf_contract_table *t, regex_t *res, size_t ncompiled)
{
    for (size_t i = 0; i < ncompiled && res; i++)
        if (t->columns[i].check.regex)
            regfree(&res[i]);
    free(res);
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
    PQF_TRY(compile_res(t, &res, &ncompiled, err));
    uint64_t head = 0;
    PQF_TRY(pqf_feed_head(f, t->name, &head, err));
    if (head == 0)
        goto done;
    PQF_TRY(pqf_feed_read_commit(f, t->name, head, &c, err));
    *seq = head;
    for (size_t i = 0; i < c->nfiles; i++)
        PQF_TRY(check_file(f, t, c->files[i].key, res, 0, stats, &doc, NULL, err));
done:
    free_res(t, res, ncompiled);
    pqf__json_doc_free(&doc);
    pqf_commit_free(c);
    return rc;
}

pqf_err pqf_contract_scan_values(pqf_feed *f, const pqf_contract_table *t, uint64_t sample_rows,
                                 pqf_value_stats *stats, pqf_value_scan *scan, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_commit *c = NULL;
    regex_t *res = NULL;
    size_t ncompiled = 0;
    uint64_t head = 0;
    pqf__json_doc doc;
    pqf__json_doc_init(&doc, NULL);
    memset(stats, 0, t->ncolumns * sizeof *stats);
    memset(scan, 0, sizeof *scan);
    PQF_TRY(compile_res(t, &res, &ncompiled, err));
    PQF_TRY(pqf_feed_head(f, t->name, &head, err));
    /* first pass: the commit objects only, for the row count the sample is
     * spread over */
    for (uint64_t seq = 1; seq <= head && sample_rows; seq++) {
        PQF_TRY(pqf_feed_read_commit(f, t->name, seq, &c, err));
        scan->rows_total += c->rows;
        pqf_commit_free(c);
        c = NULL;
    }
    uint64_t total = scan->rows_total;
    scan->rows_total = 0;
    for (uint64_t seq = 1; seq <= head; seq++) {
        PQF_TRY(pqf_feed_read_commit(f, t->name, seq, &c, err));
        scan->commits++;
        scan->rows_total += c->rows;
        for (size_t i = 0; i < c->nfiles; i++) {
            const pqf_commit_file *cf = &c->files[i];
            uint64_t limit = 0; /* all */
            scan->files++;
            if (sample_rows && total > sample_rows) {
                /* this file's share of the sample, rounded up */
                long double q = (long double)sample_rows * (long double)cf->rows / (long double)total;
                limit = (uint64_t)q + ((long double)(uint64_t)q < q ? 1 : 0);
                if (limit == 0)
                    limit = 1;
            }
            if (cf->rows == 0)
                continue;
            PQF_TRY(check_file(f, t, cf->key, res, limit, stats, &doc, &scan->rows_read, err));
        }
        pqf_commit_free(c);
        c = NULL;
    }
done:
    free_res(t, res, ncompiled);
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

/* ---- a contract against a schema ---------------------------------------------------- */

const pqf_contract_table *pqf_contract_table_find(const pqf_contract *c, const char *table)
{
    for (size_t i = 0; c && table && i < c->ntables; i++)
        if (strcmp(c->tables[i].name, table) == 0)
            return &c->tables[i];
    return NULL;
}

const char *pqf_column_status_name(pqf_column_status s)
{
    switch (s) {
    case PQF_COLUMN_MISSING:
        return "missing";
    case PQF_COLUMN_WRONG_TYPE:
        return "wrong type";
    case PQF_COLUMN_NULLABILITY:
        return "nullability";
    default:
        return "ok";
    }
}

static void set_fail(pqf_column_check *ck, pqf_column_status st, const char *field,
                     const char *want, const char *have)
{
    ck->status = st;
    snprintf(ck->field, sizeof ck->field, "%s", field);
    if (st == PQF_COLUMN_MISSING)
        snprintf(ck->detail, sizeof ck->detail, "field %.200s is not in the feed's schema", field);
    else
        snprintf(ck->detail, sizeof ck->detail, "%.200s: contract %.140s, feed %.140s", field, want,
                 have);
}

/* The contract type text at *p against node of s (path names it). Stops at
 * the first difference, recorded in ck; true when everything matches. */
static bool match_type(const char **p, const pqf_schema *s, int node, const char *path,
                       pqf_column_check *ck, int depth)
{
    char have[PQF_CHANGE_TYPE_MAX], sub[256];
    pqf_node_info in;
    pqf_schema_type_name(s, node, have, sizeof have);
    if (depth > TYPE_MAX_DEPTH || pqf_schema_node(s, node, &in) != PQF_OK) {
        set_fail(ck, PQF_COLUMN_WRONG_TYPE, path, *p, have);
        return false;
    }
    skip_sp(p);
    if (strncmp(*p, "list<", 5) == 0) {
        int el = pqf_schema_list_element(s, node);
        if (el < 0) {
            set_fail(ck, PQF_COLUMN_WRONG_TYPE, path, "a list", have);
            return false;
        }
        *p += 5;
        snprintf(sub, sizeof sub, "%.250s[]", path);
        if (!match_type(p, s, el, sub, ck, depth + 1))
            return false;
        skip_sp(p);
        if (**p == '>')
            (*p)++;
        return true;
    }
    if (strncmp(*p, "struct<", 7) == 0) {
        if (!in.is_group || pqf_schema_list_element(s, node) >= 0) {
            set_fail(ck, PQF_COLUMN_WRONG_TYPE, path, "a struct", have);
            return false;
        }
        *p += 7;
        for (;;) {
            skip_sp(p);
            size_t n = strcspn(*p, ":,<>");
            size_t m = n;
            while (m && (*p)[m - 1] == ' ')
                m--;
            if ((*p)[n] != ':') {
                set_fail(ck, PQF_COLUMN_WRONG_TYPE, path, "(a malformed struct type)", have);
                return false;
            }
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)PQF_MIN(m, sizeof name - 1), *p);
            snprintf(sub, sizeof sub, "%.120s.%.120s", path, name);
            *p += n + 1;
            int c = pqf_schema_find_child(s, node, name);
            if (c < 0) {
                set_fail(ck, PQF_COLUMN_MISSING, sub, "", "");
                return false;
            }
            if (!match_type(p, s, c, sub, ck, depth + 1))
                return false;
            skip_sp(p);
            if (**p == ',') {
                (*p)++;
                continue;
            }
            if (**p == '>')
                (*p)++;
            return true;
        }
    }
    const char *t = *p;
    int paren = 0;
    while (**p && !(paren == 0 && (**p == ',' || **p == '>' || **p == '<'))) {
        paren += **p == '(' ? 1 : **p == ')' ? -1 : 0;
        (*p)++;
    }
    size_t n = (size_t)(*p - t);
    while (n && t[n - 1] == ' ')
        n--;
    char want[PQF_CHANGE_TYPE_MAX];
    snprintf(want, sizeof want, "%.*s", (int)PQF_MIN(n, sizeof want - 1), t);
    if (in.is_group || strcmp(want, have) != 0) {
        set_fail(ck, PQF_COLUMN_WRONG_TYPE, path, want, have);
        return false;
    }
    return true;
}

size_t pqf_contract_check_schema(const pqf_contract_table *t, const pqf_schema *s,
                                 pqf_column_check *out)
{
    size_t bad = 0;
    for (size_t i = 0; i < t->ncolumns; i++) {
        const pqf_contract_column *cc = &t->columns[i];
        pqf_column_check *ck = &out[i];
        pqf_node_info in;
        memset(ck, 0, sizeof *ck);
        int node = pqf_schema_find_child(s, 0, cc->name);
        if (node < 0 || pqf_schema_node(s, node, &in) != PQF_OK) {
            ck->status = PQF_COLUMN_MISSING;
            snprintf(ck->field, sizeof ck->field, "%s", cc->name);
            snprintf(ck->detail, sizeof ck->detail, "not in the feed's schema");
            bad++;
            continue;
        }
        ck->present = true;
        pqf_schema_type_name(s, node, ck->type, sizeof ck->type);
        ck->nullable = in.repetition != PQF_REQUIRED;
        const char *p = cc->type ? cc->type : "";
        bool type_ok = match_type(&p, s, node, cc->name, ck, 0);
        skip_sp(&p);
        if (type_ok && *p) {
            set_fail(ck, PQF_COLUMN_WRONG_TYPE, cc->name, cc->type, ck->type);
            type_ok = false;
        }
        if (!type_ok && strcmp(ck->field, cc->name) == 0 && ck->status == PQF_COLUMN_WRONG_TYPE)
            /* the column itself: both whole types, as before nesting was compared */
            snprintf(ck->detail, sizeof ck->detail, "contract %.200s, feed %.200s", cc->type,
                     ck->type);
        bool null_ok = cc->nullable || !ck->nullable;
        if (type_ok && !null_ok) {
            ck->status = PQF_COLUMN_NULLABILITY;
            snprintf(ck->field, sizeof ck->field, "%s", cc->name);
            snprintf(ck->detail, sizeof ck->detail,
                     "contract requires non-null, the feed's column is nullable");
        } else if (!type_ok && !null_ok) {
            size_t l = strlen(ck->detail);
            snprintf(ck->detail + l, sizeof ck->detail - l,
                     "; contract requires non-null, the feed's column is nullable");
        }
        if (type_ok && null_ok)
            snprintf(ck->detail, sizeof ck->detail, "%s, %s", ck->type,
                     ck->nullable ? "nullable" : "required");
        else
            bad++;
    }
    return bad;
}

/* ---- keys ---------------------------------------------------------------------------- */

/* Is "a,b" the same set of names as "b, a"? */
static bool same_names(const char *a, const char *b)
{
    char x[1024], y[1024];
    const char *lists[2] = {a ? a : "", b ? b : ""};
    char *bufs[2] = {x, y};
    size_t counts[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        /* normalise: no spaces, ',' separated, then compare token by token */
        size_t o = 0;
        for (const char *p = lists[k]; *p && o + 1 < sizeof x; p++)
            if (*p != ' ')
                bufs[k][o++] = *p;
        bufs[k][o] = 0;
        if (o)
            counts[k] = 1;
        for (size_t i = 0; i < o; i++)
            counts[k] += bufs[k][i] == ',';
    }
    if (counts[0] != counts[1])
        return false;
    /* every name of x is in y (names in a key are distinct) */
    for (char *tok = x; tok && *tok;) {
        char *comma = strchr(tok, ',');
        size_t n = comma ? (size_t)(comma - tok) : strlen(tok);
        bool found = false;
        for (const char *q = y; *q;) {
            size_t m = strcspn(q, ",");
            if (m == n && strncmp(q, tok, n) == 0)
                found = true;
            q += m;
            if (*q == ',')
                q++;
        }
        if (!found)
            return false;
        tok = comma ? comma + 1 : NULL;
    }
    return true;
}

bool pqf_contract_key_ok(const pqf_contract_table *t, const char *key)
{
    return !t->key || same_names(t->key, key);
}

pqf_err pqf_feed_schema_key(pqf_feed *f, const char *table, int version, char *buf, size_t cap,
                            pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char key[PQF_TABLE_NAME_MAX + 40];
    uint8_t *data = NULL;
    size_t len = 0, o = 0;
    pqf__json *root = NULL;
    pqf__json_doc doc;
    pqf__json_doc_init(&doc, NULL);
    if (cap)
        buf[0] = 0;
    snprintf(key, sizeof key, "%s/_schema/%06d.json", table, version);
    PQF_TRY(pqf_store_get_bytes(pqf_feed_store(f), key, NULL, (size_t)16 << 20, &data, &len, err));
    if (pqf__json_parse(&doc, (const char *)data, len, &root) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: %s", key, doc.err.msg);
    const pqf__json *k = pqf__json_get(root, "key");
    if (!k)
        goto done;
    if (k->type != PQF__JARR)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: \"key\" is not an array", key);
    for (const pqf__json *e = k->child; e; e = e->next) {
        if (e->type != PQF__JSTR)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: \"key\" holds a non-string", key);
        int w = snprintf(buf + o, cap - o, "%s%s", o ? "," : "", e->str);
        if (w < 0 || (size_t)w >= cap - o)
            PQF_FAIL(err, PQF_ERR_LIMIT, "%s: the key is longer than %zu bytes", key, cap);
        o += (size_t)w;
    }
done:
    free(data);
    pqf__json_doc_free(&doc);
    return rc;
}

/* ---- enforcement ----------------------------------------------------------------------- */

pqf_err pqf_contract_enforce_schema(const pqf_contract *c, const pqf_contract_table *t,
                                    const pqf_schema *prev, const pqf_schema *next,
                                    const char *key, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_column_check *ck = NULL;
    pqf_schema_change *ch = NULL;
    size_t nch = 0;
    const char *cname = c && c->path ? c->path : "(contract)";
    ck = calloc(t->ncolumns + 1, sizeof *ck);
    if (!ck)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    if (pqf_contract_check_schema(t, next, ck) > 0) {
        for (size_t i = 0; i < t->ncolumns; i++) {
            if (ck[i].status == PQF_COLUMN_OK)
                continue;
            if (ck[i].status == PQF_COLUMN_MISSING && strcmp(ck[i].field, t->columns[i].name) == 0)
                PQF_FAIL(err, PQF_ERR_CONTRACT,
                         "contract %s: table %s: column %s: missing (the contract needs it: "
                         "line %u)",
                         cname, t->name, t->columns[i].name, t->columns[i].line);
            PQF_FAIL(err, PQF_ERR_CONTRACT, "contract %s: table %s: column %s: %s: %s", cname,
                     t->name, t->columns[i].name, pqf_column_status_name(ck[i].status),
                     ck[i].detail);
        }
    }
    if (!pqf_contract_key_ok(t, key))
        PQF_FAIL(err, PQF_ERR_CONTRACT, "contract %s: table %s: key: the contract's key is %s, "
                 "the feed's is %s", cname, t->name, t->key, key && *key ? key : "(none)");
    if (prev && t->compat != PQF_COMPAT_NONE) {
        PQF_TRY(pqf_schema_diff(prev, next, &ch, &nch, err));
        for (size_t i = 0; i < nch; i++) {
            bool bw = !(t->compat & PQF_COMPAT_BACKWARD) || ch[i].backward_ok;
            bool fw = !(t->compat & PQF_COMPAT_FORWARD) || ch[i].forward_ok;
            if (bw && fw)
                continue;
            const pqf_schema_change *x = &ch[i];
            char what[700];
            if (x->kind == PQF_CHANGE_ADDED)
                snprintf(what, sizeof what, "added %s column (%s)",
                         x->new_nullable ? "nullable" : "required", x->new_type);
            else if (x->kind == PQF_CHANGE_DROPPED)
                snprintf(what, sizeof what, "dropped (%s, %s)", x->old_type,
                         x->old_nullable ? "nullable" : "required");
            else if (x->type_changed)
                snprintf(what, sizeof what, "%s -> %s (%s)", x->old_type, x->new_type,
                         x->widening    ? "widening"
                         : x->narrowing ? "narrowing"
                                        : "type change");
            else
                snprintf(what, sizeof what, "%s -> %s", x->old_nullable ? "nullable" : "required",
                         x->new_nullable ? "nullable" : "required");
            PQF_FAIL(err, PQF_ERR_CONTRACT,
                     "contract %s: table %s: column %s: compatibility %s: %s breaks %s "
                     "compatibility",
                     cname, t->name, x->column, pqf_compat_mode_name(t->compat), what,
                     !bw ? "backward" : "forward");
        }
    }
done:
    free(ck);
    free(ch);
    return rc;
}

/* The first failing value check of column c, in words. */
static void value_rule(const pqf_contract_column *c, const pqf_value_stats *s, char *buf,
                       size_t cap)
{
    const pqf_contract_check *k = &c->check;
    if (!s->present)
        snprintf(buf, cap, "check: the column is not in the data files");
    else if (s->not_allowed)
        snprintf(buf, cap, "check allowed: %llu value%s not allowed, e.g. \"%.130s\"",
                 (unsigned long long)s->not_allowed, s->not_allowed == 1 ? "" : "s", s->example);
    else if (s->out_of_range)
        snprintf(buf, cap, "check min/max [%.40s, %.40s]: %llu value%s out of range, e.g. \"%.130s\"",
                 k->min ? k->min : "-", k->max ? k->max : "-", (unsigned long long)s->out_of_range,
                 s->out_of_range == 1 ? "" : "s", s->example);
    else if (s->no_match)
        snprintf(buf, cap, "check regex %.100s: %llu value%s not matching, e.g. \"%.130s\"",
                 k->regex, (unsigned long long)s->no_match, s->no_match == 1 ? "" : "s",
                 s->example);
    else
        snprintf(buf, cap, "check not_null_ratio %g: %llu of %llu rows not null", k->not_null_ratio,
                 (unsigned long long)(s->rows - s->nulls), (unsigned long long)s->rows);
}

static pqf_err enforce_values(pqf_feed *f, const pqf_contract *c, const pqf_contract_table *t,
                              const pqf_commit *cm, uint64_t max_file_bytes,
                              pqf_contract_unready *u, pqf_error *err);

pqf_err pqf_contract_enforce_values(pqf_feed *f, const pqf_contract *c,
                                    const pqf_contract_table *t, const pqf_commit *cm,
                                    uint64_t max_file_bytes, pqf_error *err)
{
    return enforce_values(f, c, t, cm, max_file_bytes, NULL, err);
}

static pqf_err enforce_values(pqf_feed *f, const pqf_contract *c, const pqf_contract_table *t,
                              const pqf_commit *cm, uint64_t max_file_bytes,
                              pqf_contract_unready *u, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_value_stats *stats = NULL;
    regex_t *res = NULL;
    size_t ncompiled = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    pqf__json_doc doc;
    pqf__json_doc_init(&doc, NULL);
    const char *cname = c && c->path ? c->path : "(contract)";
    size_t nchecks = 0;
    for (size_t i = 0; i < t->ncolumns; i++)
        nchecks += t->columns[i].has_check;
    if (nchecks == 0)
        goto done;
    if (max_file_bytes == 0)
        max_file_bytes = (uint64_t)1 << 30;
    stats = calloc(t->ncolumns, sizeof *stats);
    if (!stats)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(compile_res(t, &res, &ncompiled, err));
    for (size_t i = 0; i < cm->nfiles; i++) {
        const pqf_commit_file *cf = &cm->files[i];
        pqf_istream *in = NULL;
        if (cf->bytes > max_file_bytes)
            PQF_FAIL(err, PQF_ERR_LIMIT, "%s: %llu bytes, more than the largest file read (%llu)",
                     cf->key, (unsigned long long)cf->bytes, (unsigned long long)max_file_bytes);
        free(data);
        data = NULL;
        rc = pqf_store_get_bytes(pqf_feed_store(f), cf->key, NULL, (size_t)cf->bytes + 1, &data,
                                 &len, err);
        if ((rc == PQF_ERR_NOT_FOUND || rc == PQF_ERR_LIMIT) && u) {
            u->wait = PQF_CONTRACT_MISSING; /* absent, or not its size yet */
            snprintf(u->key, sizeof u->key, "%s", cf->key);
            rc = PQF_OK;
            goto done;
        }
        PQF_TRY(rc);
        uint8_t d[32];
        char hex[65];
        pqf__sha256(data, len, d);
        pqf__hex(d, 32, hex);
        if ((len != cf->bytes || strcmp(hex, cf->sha256) != 0) && u) {
            u->wait = len != cf->bytes ? PQF_CONTRACT_MISSING : PQF_CONTRACT_CORRUPT;
            snprintf(u->key, sizeof u->key, "%s", cf->key);
            memcpy(u->got_sha256, hex, sizeof u->got_sha256);
            goto done;
        }
        if (len != cf->bytes || strcmp(hex, cf->sha256) != 0)
            PQF_FAIL(err, PQF_ERR_CHECKSUM, "%s: its bytes do not hash to the commit's sha256",
                     cf->key);
        PQF_TRY(pqf_istream_mem(data, len, cf->key, &in, err));
        PQF_TRY(check_stream(in, t, cf->key, res, 0, stats, &doc, NULL, err));
    }
    for (size_t i = 0; i < t->ncolumns; i++) {
        if (pqf_value_stats_ok(&t->columns[i], &stats[i]))
            continue;
        char rule[400];
        value_rule(&t->columns[i], &stats[i], rule, sizeof rule);
        PQF_FAIL(err, PQF_ERR_CONTRACT, "contract %s: table %s: column %s: %s", cname, t->name,
                 t->columns[i].name, rule);
    }
done:
    free(data);
    free(stats);
    free_res(t, res, ncompiled);
    pqf__json_doc_free(&doc);
    return rc;
}

pqf_err pqf_contract_enforce_commit(pqf_feed *f, const pqf_contract *c, const pqf_commit *cm,
                                    uint64_t max_file_bytes, pqf_contract_unready *u,
                                    pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_schema *prev = NULL, *next = NULL;
    pqf_error e2 = {0};
    char key[1024];
    memset(u, 0, sizeof *u);
    const pqf_contract_table *t = pqf_contract_table_find(c, cm->table);
    if (!t)
        return PQF_OK;
    rc = pqf_feed_schema_get(f, cm->table, cm->schema_version, &next, &e2);
    if (rc == PQF_OK)
        rc = pqf_feed_schema_key(f, cm->table, cm->schema_version, key, sizeof key, &e2);
    if (rc == PQF_ERR_NOT_FOUND) { /* at a replica the schema file can be late */
        u->wait = PQF_CONTRACT_MISSING;
        snprintf(u->key, sizeof u->key, "%s/_schema/%06d.json", cm->table, cm->schema_version);
        rc = PQF_OK;
        goto done;
    }
    if (rc != PQF_OK) {
        *err = e2;
        goto done;
    }
    /* the version before, for the mode; a replica need not hold versions no
     * commit names, so without it only the mode goes unchecked */
    if (cm->schema_version > 1 && t->compat != PQF_COMPAT_NONE) {
        rc = pqf_feed_schema_get(f, cm->table, cm->schema_version - 1, &prev, &e2);
        if (rc == PQF_ERR_NOT_FOUND)
            rc = PQF_OK;
        if (rc != PQF_OK) {
            *err = e2;
            goto done;
        }
    }
    PQF_TRY(pqf_contract_enforce_schema(c, t, prev, next, key, err));
    PQF_TRY(enforce_values(f, c, t, cm, max_file_bytes, u, err));
done:
    if (rc == PQF_ERR_CONTRACT)
        pqf_error_prefix(err, "commit %llu breaks ", (unsigned long long)cm->seq);
    pqf_schema_free(prev);
    pqf_schema_free(next);
    return rc;
}

pqf_err pqf__contract_check_export(pqf_feed *f, const pqf_export_spec *sp, const pqf_commit *cm,
                                   pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_schema *latest = NULL;
    int v = 0;
    const pqf_contract_table *t = pqf_contract_table_find(sp->contract, sp->table);
    if (!t)
        return PQF_OK;
    if (!cm) {
        /* before the schema is registered: a breaking schema leaves no version behind */
        PQF_TRY(pqf_feed_schema_latest(f, sp->table, &v, &latest, err));
        PQF_TRY(pqf_contract_enforce_schema(sp->contract, t, latest, sp->schema, sp->key, err));
    } else {
        /* before the commit object is written: the data files are there, unnamed */
        PQF_TRY(pqf_contract_enforce_values(f, sp->contract, t, cm, 0, err));
    }
done:
    if (rc == PQF_ERR_CONTRACT) {
        uint64_t seq = 0;
        pqf_error e2 = {0};
        if (cm)
            seq = cm->seq;
        else if (pqf_feed_head(f, sp->table, &seq, &e2) == PQF_OK)
            seq++;
        pqf_error_prefix(err, "table %s: commit %llu not published: ", sp->table,
                         (unsigned long long)seq);
    }
    pqf_schema_free(latest);
    return rc;
}
