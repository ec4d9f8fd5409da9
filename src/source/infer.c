/* Schema inference from a sample of records (rules in docs/SCHEMA-FILE.md).
 *
 * Each column (and each nested field) keeps the narrowest kind that holds
 * every sampled value, widened on conflict along
 *     int -> decimal (same scale, <= 18 digits) -> double -> string
 *     date -> timestamp -> string
 * and object/array against anything else -> json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "pqfeed/source.h"
#include "source/csv.h"
#include "source/json.h"
#include "source/value.h"

typedef enum ikind { K_NONE, K_BOOL, K_INT, K_DECIMAL, K_DOUBLE, K_DATE, K_TS, K_STRING,
                     K_STRUCT, K_LIST, K_JSON } ikind;

typedef struct inode inode;
struct inode {
    ikind k;
    bool saw_null;
    int scale;      /* K_DECIMAL */
    int int_digits; /* K_INT, K_DECIMAL: most integer digits seen */
    uint64_t present, objects;
    char *name;
    inode **kids;
    int nkids, cap;
    inode *elem;
};

#define MAX_INFER_FIELDS 10000

static void inode_free(inode *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->nkids; i++)
        inode_free(n->kids[i]);
    free(n->kids);
    inode_free(n->elem);
    free(n->name);
    free(n);
}

static inode *inode_new(const char *name, size_t len)
{
    inode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->name = malloc(len + 1);
    if (!n->name) {
        free(n);
        return NULL;
    }
    if (len)
        memcpy(n->name, name, len);
    n->name[len] = 0;
    return n;
}

static inode *kid(inode *n, const char *name, size_t len)
{
    for (int i = 0; i < n->nkids; i++)
        if (strlen(n->kids[i]->name) == len && memcmp(n->kids[i]->name, name, len) == 0)
            return n->kids[i];
    if (n->nkids >= MAX_INFER_FIELDS)
        return NULL;
    if (n->nkids == n->cap) {
        int nc = n->cap ? n->cap * 2 : 8;
        inode **k = realloc(n->kids, (size_t)nc * sizeof *k);
        if (!k)
            return NULL;
        n->kids = k;
        n->cap = nc;
    }
    inode *c = inode_new(name, len);
    if (c)
        n->kids[n->nkids++] = c;
    return c;
}

static bool nested(ikind k)
{
    return k == K_STRUCT || k == K_LIST || k == K_JSON;
}

/* Merge a scalar observation into n. */
static void merge(inode *n, ikind k, int scale, int int_digits)
{
    if (n->k == K_NONE) {
        n->k = k;
        n->scale = scale;
        n->int_digits = int_digits;
    } else if (n->k == k) {
        if (k == K_DECIMAL && scale != n->scale)
            n->k = K_DOUBLE;
        if (int_digits > n->int_digits)
            n->int_digits = int_digits;
    } else if ((n->k == K_INT && k == K_DECIMAL) || (n->k == K_DECIMAL && k == K_INT)) {
        if (k == K_DECIMAL)
            n->scale = scale;
        n->k = K_DECIMAL;
        if (int_digits > n->int_digits)
            n->int_digits = int_digits;
    } else if ((n->k == K_INT || n->k == K_DECIMAL || n->k == K_DOUBLE) &&
               (k == K_INT || k == K_DECIMAL || k == K_DOUBLE)) {
        n->k = K_DOUBLE;
    } else if ((n->k == K_DATE && k == K_TS) || (n->k == K_TS && k == K_DATE)) {
        n->k = K_TS;
    } else if (nested(n->k) || nested(k)) {
        n->k = K_JSON;
    } else {
        n->k = K_STRING;
    }
    if (n->k == K_DECIMAL && n->int_digits + n->scale > 18)
        n->k = K_DOUBLE;
}

/* Classify CSV text (or a JSON string when strings_only). */
static void observe_text(inode *n, const char *s, size_t len, bool strings_only)
{
    int32_t days;
    int64_t secs;
    int32_t ns, off;
    bool has_off;
    if (!strings_only) {
        int64_t i;
        bool b;
        if ((len == 4 || len == 5) && pqf__parse_bool(s, len, &b)) {
            merge(n, K_BOOL, 0, 0);
            return;
        }
        if (pqf__parse_i64(s, len, &i)) {
            merge(n, K_INT, 0, pqf__count_digits(s, len));
            return;
        }
        /* [-+]digits.digits -> decimal-looking */
        size_t k = 0;
        if (k < len && (s[k] == '-' || s[k] == '+'))
            k++;
        size_t ip = k;
        while (k < len && s[k] >= '0' && s[k] <= '9')
            k++;
        size_t idig = k - ip;
        if (k < len && s[k] == '.' && idig > 0) {
            size_t fp = ++k;
            while (k < len && s[k] >= '0' && s[k] <= '9')
                k++;
            if (k == len && k > fp) {
                int scale = (int)(k - fp);
                int id = pqf__count_digits(s + ip, idig);
                if (scale <= 18)
                    merge(n, K_DECIMAL, scale, id);
                else
                    merge(n, K_DOUBLE, 0, 0);
                return;
            }
        }
        double d;
        bool has_digit = false;
        for (size_t q = 0; q < len; q++)
            has_digit |= s[q] >= '0' && s[q] <= '9';
        if (has_digit && pqf__parse_double(s, len, &d)) {
            merge(n, K_DOUBLE, 0, 0);
            return;
        }
    }
    if (len == 10 && pqf__parse_date(s, len, &days)) {
        merge(n, K_DATE, 0, 0);
        return;
    }
    if (len > 10 && pqf__parse_timestamp(s, len, &secs, &ns, &has_off, &off)) {
        merge(n, K_TS, 0, 0);
        return;
    }
    merge(n, K_STRING, 0, 0);
}

static pqf_err observe_json(inode *n, const pqf__json *v)
{
    switch (v->type) {
    case PQF__JNULL:
        n->saw_null = true;
        return PQF_OK;
    case PQF__JBOOL:
        merge(n, K_BOOL, 0, 0);
        return PQF_OK;
    case PQF__JNUM: {
        int64_t i;
        if (pqf__parse_i64(v->str, v->len, &i))
            merge(n, K_INT, 0, pqf__count_digits(v->str, v->len));
        else
            merge(n, K_DOUBLE, 0, 0);
        return PQF_OK;
    }
    case PQF__JSTR:
        observe_text(n, v->str, v->len, true);
        return PQF_OK;
    case PQF__JARR:
        if (n->k != K_NONE && n->k != K_LIST) {
            merge(n, K_JSON, 0, 0);
            return PQF_OK;
        }
        n->k = K_LIST;
        if (!n->elem && !(n->elem = inode_new("element", 7)))
            return PQF_ERR_NOMEM;
        for (const pqf__json *e = v->child; e; e = e->next) {
            pqf_err rc = observe_json(n->elem, e);
            if (rc != PQF_OK)
                return rc;
        }
        return PQF_OK;
    case PQF__JOBJ:
        if (n->k != K_NONE && n->k != K_STRUCT) {
            merge(n, K_JSON, 0, 0);
            return PQF_OK;
        }
        n->k = K_STRUCT;
        n->objects++;
        for (const pqf__json *m = v->child; m; m = m->next) {
            inode *c = kid(n, m->key, m->key_len);
            if (!c)
                return PQF_ERR_LIMIT;
            c->present++;
            pqf_err rc = observe_json(c, m);
            if (rc != PQF_OK)
                return rc;
        }
        return PQF_OK;
    }
    return PQF_OK;
}

static pqf_err add_inode(pqf_schema *s, int parent, const inode *n, bool nullable, pqf_error *err)
{
    pqf_repetition rep = nullable ? PQF_OPTIONAL : PQF_REQUIRED;
    pqf_logical lt = {0};
    pqf_physical ph = PQF_BYTE_ARRAY;
    ikind k = n->k;
    if (k == K_STRUCT && n->nkids == 0)
        k = K_JSON; /* only empty objects seen: a group needs a child */
    switch (k) {
    case K_STRUCT: {
        int g = pqf_schema_add_group(s, parent, n->name, rep, NULL, -1, err);
        if (g < 0)
            return err->code;
        for (int i = 0; i < n->nkids; i++) {
            const inode *c = n->kids[i];
            pqf_err rc = add_inode(s, g, c, c->saw_null || c->present < n->objects, err);
            if (rc != PQF_OK)
                return rc;
        }
        return PQF_OK;
    }
    case K_LIST: {
        int g = pqf_schema_add_list(s, parent, n->name, rep, -1, err);
        if (g < 0)
            return err->code;
        inode none = {.name = (char *)"element"};
        const inode *e = n->elem ? n->elem : &none;
        return add_inode(s, g, e, true, err);
    }
    case K_BOOL:
        ph = PQF_BOOLEAN;
        break;
    case K_INT:
        ph = PQF_INT64;
        break;
    case K_DECIMAL:
        ph = PQF_INT64;
        lt.kind = PQF_LT_DECIMAL;
        lt.precision = 18;
        lt.scale = n->scale;
        break;
    case K_DOUBLE:
        ph = PQF_DOUBLE;
        break;
    case K_DATE:
        ph = PQF_INT32;
        lt.kind = PQF_LT_DATE;
        break;
    case K_TS:
        ph = PQF_INT64;
        lt.kind = PQF_LT_TIMESTAMP;
        lt.unit = PQF_MICROS;
        lt.utc = true;
        break;
    case K_JSON:
        lt.kind = PQF_LT_JSON;
        break;
    case K_NONE:
    case K_STRING:
        lt.kind = PQF_LT_STRING;
        break;
    }
    if (k == K_NONE)
        rep = PQF_OPTIONAL;
    return pqf_schema_add_column(s, parent, n->name, rep, ph, 0, &lt, -1, err) < 0 ? err->code
                                                                                   : PQF_OK;
}

static pqf_err infer_csv(const char *path, const pqf_source_opts *o, uint64_t rows, inode *root,
                         pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__csv *c = NULL;
    PQF_TRY(pqf__csv_open(path, NULL, 0, NULL, &o->csv, o->buffer_bytes, o->max_record_bytes,
                          o->max_fields, &c, err));
    bool first = true;
    for (uint64_t r = 0; r < rows; r++) {
        bool eof;
        rc = pqf__csv_next(c, &eof);
        if (rc != PQF_OK)
            PQF_FAIL(err, rc, "%s", c->err.msg);
        if (eof)
            break;
        if (first) {
            for (size_t i = 0; i < c->width; i++) {
                char nm[32];
                const char *name = c->names ? c->names[i] : nm;
                if (!c->names)
                    snprintf(nm, sizeof nm, "column%zu", i + 1);
                inode *k = kid(root, name, strlen(name));
                if (!k)
                    PQF_FAIL(err, PQF_ERR_LIMIT, "%s: too many columns", c->in.name);
                if (k != root->kids[root->nkids - 1] || (size_t)root->nkids != i + 1)
                    PQF_FAIL(err, PQF_ERR_SCHEMA, "%s:1: column '%s' appears twice in the header",
                             c->in.name, name);
            }
            first = false;
        }
        for (size_t i = 0; i < c->nfields; i++) {
            const pqf__csv_field *f = &c->fields[i];
            inode *k = root->kids[i];
            if (pqf__csv_is_null(c, f))
                k->saw_null = true;
            else
                observe_text(k, f->p, f->len, false);
        }
    }
    if (first && c->names) { /* header only: all string columns */
        for (size_t i = 0; i < c->width; i++)
            if (!kid(root, c->names[i], strlen(c->names[i])))
                PQF_FAIL(err, PQF_ERR_LIMIT, "too many columns");
    }
done:
    pqf__csv_free(c);
    return rc;
}

static pqf_err infer_ndjson(const char *path, const pqf_source_opts *o, uint64_t rows,
                            inode *root, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__input in;
    pqf__json_doc doc;
    pqf__json_limits jl = {o->max_depth, o->max_string_bytes, 0, 0};
    pqf__json_doc_init(&doc, &jl);
    bool open = false;
    uint64_t line = 0, r = 0;
    PQF_TRY(pqf__input_open(&in, path, NULL, 0, NULL, o->buffer_bytes, o->max_record_bytes, err));
    open = true;
    root->k = K_STRUCT;
    while (r < rows) {
        const char *p, *le;
        PQF_TRY(pqf__input_next_line(&in, &line, &p, &le, err));
        if (!p)
            break;
        pqf__json_doc_reset(&doc);
        pqf__json *v;
        rc = pqf__json_parse(&doc, p, (size_t)(le - p), &v);
        if (rc != PQF_OK)
            PQF_FAIL(err, rc, "%s:%llu: %s", in.name, (unsigned long long)line, doc.err.msg);
        if (v->type != PQF__JOBJ)
            PQF_FAIL(err, PQF_ERR_VALUE, "%s:%llu: expected an object, found %s", in.name,
                     (unsigned long long)line, pqf__json_type_name(v->type));
        rc = observe_json(root, v);
        if (rc != PQF_OK)
            PQF_FAIL(err, rc, "%s:%llu: %s", in.name, (unsigned long long)line,
                     rc == PQF_ERR_LIMIT ? "too many fields" : "out of memory");
        r++;
    }
done:
    if (open)
        pqf__input_close(&in);
    pqf__json_doc_free(&doc);
    return rc;
}

pqf_err pqf_schema_infer(const char *path, const pqf_source_opts *opts, uint64_t sample_rows,
                         pqf_schema **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_source_opts o;
    pqf_schema *s = NULL;
    inode *root = inode_new("schema", 6);
    *out = NULL;
    if (opts)
        o = *opts;
    else
        pqf_source_opts_init(&o);
    if (!o.buffer_bytes)
        o.buffer_bytes = 1u << 20;
    if (!o.max_record_bytes)
        o.max_record_bytes = 64u << 20;
    if (!sample_rows)
        sample_rows = 1000;
    if (!root)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    if (pqf_format_for_path(path, o.format) == PQF_FORMAT_CSV)
        PQF_TRY(infer_csv(path, &o, sample_rows, root, err));
    else
        PQF_TRY(infer_ndjson(path, &o, sample_rows, root, err));
    if (root->nkids == 0)
        PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: no columns to infer a schema from", path);
    s = pqf_schema_create();
    if (!s)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < root->nkids; i++) {
        const inode *c = root->kids[i];
        bool nullable = c->saw_null || (root->objects && c->present < root->objects);
        PQF_TRY(add_inode(s, 0, c, nullable, err));
    }
    PQF_TRY(pqf_schema_finish(s, err));
    *out = s;
    s = NULL;
done:
    pqf_schema_free(s);
    inode_free(root);
    return rc;
}
