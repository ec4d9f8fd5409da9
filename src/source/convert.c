/* The record source: CSV or NDJSON records -> pqf_writer rows, per a schema.
 *
 * At open the schema is compiled into a plan indexed by node id: per leaf a
 * value converter, per struct its children and a slot array used to pair an
 * object's members with the schema's children in one pass, per list its
 * element. CSV fields go straight from the read buffer to the converter and
 * the writer; NDJSON lines are parsed into a JSON tree (arena reset per line)
 * and shredded depth-first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "pqfeed/source.h"
#include "source/csv.h"
#include "source/json.h"
#include "source/mapping.h"
#include "source/value.h"

typedef struct pnode {
    bool used;     /* part of the plan (not the middle group of a LIST) */
    bool generated; /* change-capture column (_op, _seq, _ts): not in the input */
    bool group, is_list, nullable;
    const char *name;
    size_t name_len;
    int elem;      /* LIST: element node id */
    int *kids;     /* struct/root: child node ids */
    int nkids;
    int cursor;    /* next kid expected (members usually come in schema order) */
    const pqf__json **slots;
    pqf__conv conv;
    const char *conv_why; /* leaf type not supported for input, or NULL */
    char *label;   /* user-facing path: "author.name", "labels[]" */
} pnode;

/* The flat CSV path's plan for one field. */
typedef struct flatcol {
    int leaf; /* -1: ignored */
    bool nullable;
    pqf__parse_fn parse;
    const pqf__conv *conv;
} flatcol;

struct pqf_source {
    pqf_error err;
    const pqf_schema *schema;
    pqf_format fmt;
    bool ignore_unknown;
    pnode *nodes;
    int nnodes;
    /* CSV */
    pqf__csv *csv;
    int *col_node; /* per CSV field: top-level node id, -1 = ignored */
    int flat;      /* 0 undecided, 1 whole rows to pqf__writer_flat_row, -1 value by value */
    struct flatcol *flatcols; /* flat: per CSV field */
    pqf__val *fvals; /* flat: one row, per leaf */
    uint8_t *fnull;  /* flat: per leaf, nonzero = null (unmapped leaves stay null) */
    /* NDJSON */
    pqf__input in;
    bool in_open;
    uint64_t line, next_line;
    bool array_page;          /* the file is one JSON array of records */
    const pqf__json *next_elem;
    pqf__json_doc page_doc;   /* holds the whole array page */
    /* change capture */
    bool cc;
    int wm_node, del_node, cre_node, op_node, seq_node, ts_node;
    int wm_field, del_field, cre_field; /* CSV field index or -1 */
    bool has_after, has_floor;
    pqf__val after, floor;
    pqf__buf after_bytes, floor_bytes;
    const char *floor_text;
    int64_t seq_next;
    bool have_wm;
    pqf__val wm_min, wm_max;
    pqf__buf wm_min_bytes, wm_max_bytes;
    pqf__buf wm_min_text, wm_max_text;
    uint64_t skipped, duplicates;
    int key_node[8], key_field[8];
    int nkey;
    pqf__buf keybuf;
    const pqf_change_opts *co;
    /* mapping (NDJSON only) */
    pqf__mapplan *map;
    uint64_t recno; /* 1-based record number in the file */
    /* both */
    pqf__json_doc doc;
    pqf__buf tmp;
    uint64_t rows;
    const char *name;
};

pqf_format pqf_format_for_path(const char *path, pqf_format f)
{
    if (f != PQF_FORMAT_AUTO)
        return f;
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (dot && (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0 ||
                strcmp(dot, ".json") == 0))
        return PQF_FORMAT_NDJSON;
    return PQF_FORMAT_CSV;
}

/* ---- plan -------------------------------------------------------------------- */

static pqf_err build_node(pqf_source *src, int id, const char *parent_label, bool in_list,
                          pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_node_info info;
    PQF_TRY(pqf_schema_node(src->schema, id, &info));
    pnode *pn = &src->nodes[id];
    pn->used = true;
    pn->name = info.name;
    pn->name_len = strlen(info.name);
    pn->nullable = info.repetition == PQF_OPTIONAL;
    pn->group = info.is_group;
    size_t ll = (parent_label ? strlen(parent_label) + 1 : 0) + pn->name_len + 3;
    pn->label = malloc(ll);
    if (!pn->label)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    if (id == 0)
        snprintf(pn->label, ll, "%s", "");
    else if (in_list)
        snprintf(pn->label, ll, "%s[]", parent_label);
    else if (parent_label && *parent_label)
        snprintf(pn->label, ll, "%s.%s", parent_label, info.name);
    else
        snprintf(pn->label, ll, "%s", info.name);
    if (id != 0 && info.repetition == PQF_REPEATED)
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED,
                 "column '%s': repeated fields outside a LIST are not supported for input",
                 pn->label);
    if (!info.is_group) {
        pn->conv_why = pqf__conv_init(&pn->conv, &info);
        if (pn->conv_why)
            PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "column '%s': %s", pn->label, pn->conv_why);
        goto done;
    }
    if (info.logical.kind == PQF_LT_MAP)
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "column '%s': MAP columns are not supported for input",
                 pn->label);
    if (info.logical.kind == PQF_LT_LIST) {
        pn->is_list = true;
        pn->elem = pqf_schema_list_element(src->schema, id);
        if (pn->elem < 0)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "column '%s': LIST without an element", pn->label);
        PQF_TRY(build_node(src, pn->elem, pn->label, true, err));
        goto done;
    }
    pn->nkids = info.nchildren;
    pn->kids = calloc((size_t)(pn->nkids ? pn->nkids : 1), sizeof *pn->kids);
    pn->slots = calloc((size_t)(pn->nkids ? pn->nkids : 1), sizeof *pn->slots);
    if (!pn->kids || !pn->slots)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < pn->nkids; i++) {
        pn->kids[i] = pqf_schema_child(src->schema, id, i);
        PQF_TRY(build_node(src, pn->kids[i], pn->label, false, err));
    }
done:
    return rc;
}

/* ---- errors ------------------------------------------------------------------ */

static pqf_err value_error(pqf_source *src, uint64_t line, const char *field, const pnode *pn,
                           const char *text, size_t n, const char *why)
{
    char ty[64];
    pqf__conv_describe(&pn->conv, ty, sizeof ty);
    int shown = n > 60 ? 60 : (int)n;
    return pqf_error_set(&src->err, PQF_ERR_VALUE, "%s:%llu: field %s: cannot convert '%.*s%s' to %s: %s",
                         src->name, (unsigned long long)line, field, shown, text,
                         n > 60 ? "..." : "", ty, why);
}

static pqf_err writer_error(pqf_source *src, pqf_writer *w, pqf_err rc, uint64_t line)
{
    const pqf_error *we = pqf_writer_error(w);
    return pqf_error_set(&src->err, rc, "%s:%llu: %s", src->name, (unsigned long long)line,
                         we && we->msg[0] ? we->msg : pqf_strerror(rc));
}

/* ---- JSON shredding ---------------------------------------------------------- */

static pqf_err shred(pqf_source *src, pqf_writer *w, int id, const pqf__json *v, uint64_t line);

static pqf_err type_mismatch(pqf_source *src, uint64_t line, const pnode *pn, const char *want,
                             const pqf__json *v)
{
    return pqf_error_set(&src->err, PQF_ERR_VALUE, "%s:%llu: field '%s': expected %s, found %s",
                         src->name, (unsigned long long)line, pn->label, want,
                         pqf__json_type_name(v->type));
}

static pqf_err shred_members(pqf_source *src, pqf_writer *w, int id, const pqf__json *obj,
                             uint64_t line)
{
    pnode *pn = &src->nodes[id];
    pqf_err rc = PQF_OK;
    for (int k = 0; k < pn->nkids; k++)
        pn->slots[k] = NULL;
    for (const pqf__json *m = obj->child; m; m = m->next) {
        int k = -1;
        int c = pn->cursor;
        if (c < pn->nkids) {
            const pnode *kn = &src->nodes[pn->kids[c]];
            if (kn->name_len == m->key_len && memcmp(kn->name, m->key, m->key_len) == 0)
                k = c;
        }
        if (k < 0) {
            for (int i = 0; i < pn->nkids; i++) {
                const pnode *kn = &src->nodes[pn->kids[i]];
                if (kn->name_len == m->key_len && memcmp(kn->name, m->key, m->key_len) == 0) {
                    k = i;
                    break;
                }
            }
        }
        if (k < 0) {
            if (src->ignore_unknown)
                continue;
            return pqf_error_set(&src->err, PQF_ERR_VALUE,
                                 "%s:%llu: unknown field '%s%s%s' (not in the schema)", src->name,
                                 (unsigned long long)line, pn->label, *pn->label ? "." : "",
                                 m->key);
        }
        pn->slots[k] = m;
        pn->cursor = k + 1;
    }
    pn->cursor = 0;
    for (int k = 0; k < pn->nkids; k++) {
        const pqf__json *m = pn->slots[k];
        const pnode *kn = &src->nodes[pn->kids[k]];
        if (kn->generated)
            continue; /* written by the change capture */
        if (!m) {
            if (!kn->nullable)
                return pqf_error_set(&src->err, PQF_ERR_VALUE,
                                     "%s:%llu: field '%s' is missing and not nullable", src->name,
                                     (unsigned long long)line, kn->label);
            continue;
        }
        rc = shred(src, w, pn->kids[k], m, line);
        if (rc != PQF_OK)
            return rc;
    }
    return rc;
}

static pqf_err shred_leaf(pqf_source *src, pqf_writer *w, int id, const pqf__json *v, uint64_t line)
{
    pnode *pn = &src->nodes[id];
    pqf__val val;
    const char *why = NULL;
    pqf_err rc;
    switch (pn->conv.kind) {
    case PQF__V_JSON:
        pqf__buf_reset(&src->tmp);
        rc = pqf__json_write(&src->tmp, v);
        if (rc != PQF_OK)
            return pqf_error_set(&src->err, rc, "%s:%llu: field '%s': JSON value too large",
                                 src->name, (unsigned long long)line, pn->label);
        rc = pqf_writer_bytes(w, id, src->tmp.data, src->tmp.len);
        return rc != PQF_OK ? writer_error(src, w, rc, line) : PQF_OK;
    case PQF__V_BOOL:
        if (v->type != PQF__JBOOL)
            return type_mismatch(src, line, pn, "a boolean", v);
        rc = pqf_writer_bool(w, id, v->b);
        return rc != PQF_OK ? writer_error(src, w, rc, line) : PQF_OK;
    case PQF__V_INT:
    case PQF__V_FLOAT:
    case PQF__V_DOUBLE:
    case PQF__V_DECIMAL:
        if (v->type != PQF__JNUM && v->type != PQF__JSTR)
            return type_mismatch(src, line, pn, "a number", v);
        break;
    default:
        if (v->type != PQF__JSTR)
            return type_mismatch(src, line, pn, "a string", v);
        break;
    }
    why = pqf__value_parse(&pn->conv, v->str, v->len, &val);
    if (why) {
        char lab[300];
        snprintf(lab, sizeof lab, "'%s'", pn->label);
        return value_error(src, line, lab, pn, v->str, v->len, why);
    }
    rc = pqf__write_value(w, id, &pn->conv, &val);
    return rc != PQF_OK ? writer_error(src, w, rc, line) : PQF_OK;
}

static pqf_err shred(pqf_source *src, pqf_writer *w, int id, const pqf__json *v, uint64_t line)
{
    pnode *pn = &src->nodes[id];
    pqf_err rc;
    if (v->type == PQF__JNULL) {
        if (!pn->nullable)
            return pqf_error_set(&src->err, PQF_ERR_VALUE, "%s:%llu: field '%s' is null but not nullable",
                                 src->name, (unsigned long long)line, pn->label);
        rc = pqf_writer_null(w, id);
        return rc != PQF_OK ? writer_error(src, w, rc, line) : PQF_OK;
    }
    if (!pn->group)
        return shred_leaf(src, w, id, v, line);
    if (pn->is_list) {
        if (v->type != PQF__JARR)
            return type_mismatch(src, line, pn, "an array", v);
        rc = pqf_writer_list_begin(w, id);
        if (rc != PQF_OK)
            return writer_error(src, w, rc, line);
        for (const pqf__json *e = v->child; e; e = e->next) {
            rc = shred(src, w, pn->elem, e, line);
            if (rc != PQF_OK)
                return rc;
        }
        rc = pqf_writer_list_end(w);
        return rc != PQF_OK ? writer_error(src, w, rc, line) : PQF_OK;
    }
    if (v->type != PQF__JOBJ)
        return type_mismatch(src, line, pn, "an object", v);
    rc = pqf_writer_struct_begin(w, id);
    if (rc != PQF_OK)
        return writer_error(src, w, rc, line);
    rc = shred_members(src, w, id, v, line);
    if (rc != PQF_OK)
        return rc;
    rc = pqf_writer_struct_end(w);
    return rc != PQF_OK ? writer_error(src, w, rc, line) : PQF_OK;
}

/* ---- change capture ---------------------------------------------------------- */

/* Keep a copy of v (its bytes in store). */
static pqf_err val_keep(pqf__val *dst, pqf__buf *store, const pqf__conv *c, const pqf__val *v)
{
    *dst = *v;
    dst->p = NULL;
    dst->n = 0;
    if (c->phys != PQF_BYTE_ARRAY && c->phys != PQF_FIXED_LEN_BYTE_ARRAY)
        return PQF_OK;
    dst->n = v->n;
    pqf__buf_reset(store);
    pqf_err rc = pqf__buf_append(store, v->p, v->n);
    dst->p = store->data;
    return rc;
}

static pqf_err keep_text(pqf__buf *b, const char *s, size_t n)
{
    pqf__buf_reset(b);
    pqf_err rc = pqf__buf_append(b, s, n);
    return rc == PQF_OK ? pqf__buf_cstr(b) : rc;
}

/* Decide for one record: *skip when its watermark is not beyond `after`;
 * otherwise track the range. wm is the watermark's text. */
static pqf_err cc_filter(pqf_source *src, const char *wm, size_t n, bool present, uint64_t line,
                         bool *skip)
{
    const pqf_change_opts *co = src->co;
    const pnode *wn = &src->nodes[src->wm_node];
    pqf__val v;
    *skip = false;
    if (!present)
        return pqf_error_set(&src->err, PQF_ERR_VALUE,
                             "%s:%llu: the watermark column '%s' is missing or null", src->name,
                             (unsigned long long)line, wn->label);
    const char *why = pqf__value_parse(&wn->conv, wm, n, &v);
    if (why)
        return value_error(src, line, wn->label, wn, wm, n, why);
    if (src->has_after && pqf__val_cmp(&wn->conv, &v, &src->after) <= 0) {
        *skip = true;
        src->skipped++;
        return PQF_OK;
    }
    if (co->seen && co->seen(co->seen_ud, (const char *)src->keybuf.data, src->keybuf.len, wm, n)) {
        *skip = true;
        src->duplicates++;
        return PQF_OK;
    }
    if (src->has_floor && pqf__val_cmp(&wn->conv, &v, &src->floor) < 0)
        return pqf_error_set(&src->err, PQF_ERR_VALUE,
                             "%s:%llu: watermark '%s' goes backwards: %.*s is older than %s, "
                             "already seen in an earlier page",
                             src->name, (unsigned long long)line, wn->label, (int)(n > 60 ? 60 : n), wm,
                             src->floor_text);
    pqf_err rc = PQF_OK;
    if (!src->have_wm || pqf__val_cmp(&wn->conv, &v, &src->wm_min) < 0) {
        rc = val_keep(&src->wm_min, &src->wm_min_bytes, &wn->conv, &v);
        if (rc == PQF_OK)
            rc = keep_text(&src->wm_min_text, wm, n);
    }
    if (rc == PQF_OK && (!src->have_wm || pqf__val_cmp(&wn->conv, &v, &src->wm_max) > 0)) {
        rc = val_keep(&src->wm_max, &src->wm_max_bytes, &wn->conv, &v);
        if (rc == PQF_OK)
            rc = keep_text(&src->wm_max_text, wm, n);
    }
    src->have_wm = true;
    if (rc != PQF_OK)
        return pqf_error_set(&src->err, rc, "%s:%llu: watermark value too large", src->name,
                             (unsigned long long)line);
    return PQF_OK;
}

static bool truthy(const char *s, size_t n)
{
    bool b = false;
    return pqf__parse_bool(s, n, &b) && b;
}

/* Write _op, _seq and _ts for the current record. */
static pqf_err cc_write(pqf_source *src, pqf_writer *w, char op, const char *wm, size_t n,
                        uint64_t line)
{
    const pnode *wn = &src->nodes[src->wm_node];
    char ops[1] = {op};
    pqf_err rc = pqf_writer_bytes(w, src->op_node, ops, 1);
    if (rc == PQF_OK)
        rc = pqf_writer_i64(w, src->seq_node, ++src->seq_next);
    if (rc == PQF_OK) {
        pqf__val v;
        if (wn->conv.kind == PQF__V_TIMESTAMP && !pqf__value_parse(&wn->conv, wm, n, &v)) {
            int64_t us = v.u.i64;
            if (wn->conv.unit == PQF_MILLIS)
                us *= 1000;
            else if (wn->conv.unit == PQF_NANOS)
                us /= 1000;
            rc = pqf_writer_i64(w, src->ts_node, us);
        } else {
            rc = pqf_writer_null(w, src->ts_node);
        }
    }
    return rc != PQF_OK ? writer_error(src, w, rc, line) : PQF_OK;
}

/* Text of a JSON member for the change rules (numbers and strings). */
static bool json_text(const pqf__json *v, const char **s, size_t *n)
{
    if (!v || (v->type != PQF__JSTR && v->type != PQF__JNUM))
        return false;
    *s = v->str;
    *n = v->len;
    return true;
}

static pqf_err key_part(pqf_source *src, int k, const char *s, size_t n, bool present,
                        uint64_t line)
{
    if (!present)
        return pqf_error_set(&src->err, PQF_ERR_VALUE, "%s:%llu: key column '%s' is missing or null",
                             src->name, (unsigned long long)line,
                             src->nodes[src->key_node[k]].label);
    pqf_err rc = PQF_OK;
    if (k)
        rc = pqf__buf_append_byte(&src->keybuf, 0x1f);
    if (rc == PQF_OK)
        rc = pqf__buf_append(&src->keybuf, s, n);
    return rc == PQF_OK ? PQF_OK
                        : pqf_error_set(&src->err, rc, "%s:%llu: key too long", src->name,
                                        (unsigned long long)line);
}

static pqf_err cc_json(pqf_source *src, const pqf__json *rec, uint64_t line, bool *skip,
                       char *op, const char **wm, size_t *wn)
{
    pqf__buf_reset(&src->keybuf);
    for (int k = 0; k < src->nkey; k++) {
        const char *ks = NULL;
        size_t kn = 0;
        bool p = json_text(pqf__json_get(rec, src->nodes[src->key_node[k]].name), &ks, &kn);
        pqf_err r = key_part(src, k, ks, kn, p, line);
        if (r != PQF_OK)
            return r;
    }
    const pqf__json *v = pqf__json_get(rec, src->nodes[src->wm_node].name);
    bool present = json_text(v, wm, wn);
    pqf_err rc = cc_filter(src, *wm, *wn, present, line, skip);
    if (rc != PQF_OK || *skip)
        return rc;
    *op = 'U';
    if (src->cre_node > 0) {
        const char *cs;
        size_t cn;
        if (json_text(pqf__json_get(rec, src->nodes[src->cre_node].name), &cs, &cn) &&
            cn == *wn && memcmp(cs, *wm, cn) == 0)
            *op = 'I';
    }
    if (src->del_node > 0) {
        const pqf__json *d = pqf__json_get(rec, src->nodes[src->del_node].name);
        const char *ds;
        size_t dn;
        if (d && ((d->type == PQF__JBOOL && d->b) || (json_text(d, &ds, &dn) && truthy(ds, dn))))
            *op = 'D';
    }
    return PQF_OK;
}

static pqf_err cc_csv(pqf_source *src, uint64_t line, bool *skip, char *op, const char **wm,
                      size_t *wn)
{
    const pqf__csv *c = src->csv;
    pqf__buf_reset(&src->keybuf);
    for (int k = 0; k < src->nkey; k++) {
        int fi = src->key_field[k];
        const pqf__csv_field *kf = fi >= 0 && (size_t)fi < c->nfields ? &c->fields[fi] : NULL;
        bool p = kf && !pqf__csv_is_null(c, kf);
        pqf_err r = key_part(src, k, p ? kf->p : "", p ? kf->len : 0, p, line);
        if (r != PQF_OK)
            return r;
    }
    const pqf__csv_field *f = src->wm_field >= 0 && (size_t)src->wm_field < c->nfields
                                  ? &c->fields[src->wm_field]
                                  : NULL;
    bool present = f && !pqf__csv_is_null(c, f);
    *wm = present ? f->p : "";
    *wn = present ? f->len : 0;
    pqf_err rc = cc_filter(src, *wm, *wn, present, line, skip);
    if (rc != PQF_OK || *skip)
        return rc;
    *op = 'U';
    if (src->cre_field >= 0 && (size_t)src->cre_field < c->nfields) {
        const pqf__csv_field *cf = &c->fields[src->cre_field];
        if (cf->len == *wn && memcmp(cf->p, *wm, *wn) == 0)
            *op = 'I';
    }
    if (src->del_field >= 0 && (size_t)src->del_field < c->nfields) {
        const pqf__csv_field *df = &c->fields[src->del_field];
        if (!pqf__csv_is_null(c, df) && truthy(df->p, df->len))
            *op = 'D';
    }
    return PQF_OK;
}

/* ---- CSV rows ---------------------------------------------------------------- */

_Static_assert(PQF__INPUT_PAD >= PQF__PARSE_PAD, "CSV fields must be padded for the fast parsers");

static pqf_err csv_json_field(pqf_source *src, pqf_writer *w, int id, const pqf__csv_field *f,
                              size_t i, uint64_t line)
{
    pnode *pn = &src->nodes[id];
    pqf__json_doc_reset(&src->doc);
    pqf__json *v;
    pqf_err rc = pqf__json_parse(&src->doc, f->p, f->len, &v);
    if (rc != PQF_OK) {
        char lab[160];
        pqf__csv_field_label(src->csv, i, lab, sizeof lab);
        return pqf_error_set(&src->err, PQF_ERR_VALUE, "%s:%llu: field %s: invalid JSON: %s",
                             src->name, (unsigned long long)line, lab, src->doc.err.msg);
    }
    (void)pn;
    return shred(src, w, id, v, line);
}

/* Whole rows in one writer call when the schema is flat, every field a plain
 * leaf, and no change-capture columns are added. */
static pqf_err csv_flat_setup(pqf_source *src, pqf_writer *w)
{
    src->flat = -1;
    if (src->cc || !pqf__writer_flat(w))
        return PQF_OK;
    const size_t width = src->csv->width;
    const int nleaves = pqf_schema_leaf_count(src->schema);
    for (size_t i = 0; i < width; i++) {
        int id = src->col_node[i];
        if (id >= 0 && (src->nodes[id].group || src->nodes[id].conv.kind == PQF__V_JSON))
            return PQF_OK;
    }
    src->flatcols = calloc(width ? width : 1, sizeof *src->flatcols);
    src->fvals = calloc((size_t)nleaves, sizeof *src->fvals);
    src->fnull = malloc((size_t)nleaves);
    if (!src->flatcols || !src->fvals || !src->fnull)
        return pqf_error_set(&src->err, PQF_ERR_NOMEM, "out of memory");
    memset(src->fnull, 1, (size_t)nleaves);
    for (size_t i = 0; i < width; i++) {
        const int id = src->col_node[i];
        flatcol *fc = &src->flatcols[i];
        fc->leaf = id < 0 ? -1 : pqf__writer_leaf(w, id);
        if (id >= 0) {
            fc->nullable = src->nodes[id].nullable;
            fc->conv = &src->nodes[id].conv;
            fc->parse = pqf__value_padded_fn(fc->conv);
        }
    }
    src->flat = 1;
    return PQF_OK;
}

/* The flat form of csv_next's field loop: parse every field of the record
 * into its leaf's cell, then write the row at once. */
static pqf_err csv_flat_row(pqf_source *src, pqf_writer *w, uint64_t line)
{
    const pqf__csv *c = src->csv;
    const size_t nf = c->nfields;
    const pqf__csv_field *fields = c->fields;
    const flatcol *fcs = src->flatcols;
    pqf__val *vals = src->fvals;
    uint8_t *nulls = src->fnull;
    for (size_t i = 0; i < nf; i++) {
        const flatcol *fc = &fcs[i];
        const int l = fc->leaf;
        if (l < 0)
            continue;
        const pqf__csv_field *f = &fields[i];
        if (pqf__csv_is_null(c, f)) {
            if (PQF_UNLIKELY(!fc->nullable)) {
                char lab[160];
                pqf__csv_field_label(c, i, lab, sizeof lab);
                return pqf_error_set(&src->err, PQF_ERR_VALUE,
                                     "%s:%llu: field %s: NULL in a non-nullable column",
                                     src->name, (unsigned long long)line, lab);
            }
            nulls[l] = 1;
            continue;
        }
        const char *why = fc->parse(fc->conv, f->p, f->len, &vals[l]);
        if (PQF_UNLIKELY(why != NULL)) {
            char lab[160];
            pqf__csv_field_label(c, i, lab, sizeof lab);
            return value_error(src, line, lab, &src->nodes[src->col_node[i]], f->p, f->len, why);
        }
        nulls[l] = 0;
    }
    pqf_err rc = pqf__writer_flat_row(w, vals, nulls);
    if (PQF_UNLIKELY(rc != PQF_OK))
        return writer_error(src, w, rc, line);
    return PQF_OK;
}

static pqf_err csv_next(pqf_source *src, pqf_writer *w, bool *eof)
{
    pqf__csv *c = src->csv;
    pqf_err rc;
    bool skip = false;
    char op = 'U';
    const char *wm = NULL;
    size_t wmn = 0;
    do {
        rc = pqf__csv_next(c, eof);
        if (rc != PQF_OK)
            return pqf_error_set(&src->err, rc, "%s", c->err.msg);
        if (*eof)
            return PQF_OK;
        if (src->cc) {
            rc = cc_csv(src, c->line, &skip, &op, &wm, &wmn);
            if (rc != PQF_OK)
                return rc;
        }
    } while (skip);
    const uint64_t line = c->line;
    if (PQF_UNLIKELY(src->flat == 0)) {
        rc = csv_flat_setup(src, w);
        if (rc != PQF_OK)
            return rc;
    }
    if (src->flat > 0)
        return csv_flat_row(src, w, line);
    rc = pqf_writer_row_begin(w);
    if (PQF_UNLIKELY(rc != PQF_OK))
        return writer_error(src, w, rc, line);
    const size_t nf = c->nfields;
    const pqf__csv_field *fields = c->fields;
    for (size_t i = 0; i < nf; i++) {
        int id = src->col_node[i];
        if (id < 0)
            continue;
        const pqf__csv_field *f = &fields[i];
        pnode *pn = &src->nodes[id];
        if (pqf__csv_is_null(c, f)) {
            if (PQF_UNLIKELY(!pn->nullable)) {
                char lab[160];
                pqf__csv_field_label(c, i, lab, sizeof lab);
                return pqf_error_set(&src->err, PQF_ERR_VALUE,
                                     "%s:%llu: field %s: NULL in a non-nullable column",
                                     src->name, (unsigned long long)line, lab);
            }
            continue; /* unwritten children are null */
        }
        if (PQF_UNLIKELY(pn->group || pn->conv.kind == PQF__V_JSON)) {
            if (pn->group) {
                rc = csv_json_field(src, w, id, f, i, line);
                if (rc != PQF_OK)
                    return rc;
                continue;
            }
            pqf__json_doc_reset(&src->doc);
            pqf__json *v;
            rc = pqf__json_parse(&src->doc, f->p, f->len, &v);
            if (rc != PQF_OK) {
                char lab[160];
                pqf__csv_field_label(c, i, lab, sizeof lab);
                return pqf_error_set(&src->err, PQF_ERR_VALUE,
                                     "%s:%llu: field %s: invalid JSON: %s", src->name,
                                     (unsigned long long)line, lab, src->doc.err.msg);
            }
            rc = shred_leaf(src, w, id, v, line);
            if (rc != PQF_OK)
                return rc;
            continue;
        }
        pqf__val val;
        const char *why = pqf__value_parse_padded(&pn->conv, f->p, f->len, &val);
        if (PQF_UNLIKELY(why != NULL)) {
            char lab[160];
            pqf__csv_field_label(c, i, lab, sizeof lab);
            return value_error(src, line, lab, pn, f->p, f->len, why);
        }
        rc = pqf__write_value(w, id, &pn->conv, &val);
        if (PQF_UNLIKELY(rc != PQF_OK))
            return writer_error(src, w, rc, line);
    }
    if (src->cc) {
        rc = cc_write(src, w, op, wm, wmn, line);
        if (rc != PQF_OK)
            return rc;
    }
    rc = pqf_writer_row_end(w);
    if (PQF_UNLIKELY(rc != PQF_OK))
        return writer_error(src, w, rc, line);
    return PQF_OK;
}

/* ---- NDJSON rows ------------------------------------------------------------- */

/* Next non-blank line into [*s, *s + *n). */
static pqf_err ndjson_line(pqf_source *src, const char **s, size_t *n, bool *eof)
{
    pqf__input *in = &src->in;
    *eof = false;
    for (;;) {
        const char *p = in->buf + in->pos;
        const char *e = in->buf + in->len;
        const char *nl = p < e ? memchr(p, '\n', (size_t)(e - p)) : NULL;
        if (!nl && !in->eof) {
            pqf_err rc = pqf__input_fill(in, in->pos, &src->err);
            if (rc == PQF_ERR_LIMIT)
                return pqf_error_set(&src->err, rc, "%s:%llu: line longer than the limit of %zu bytes",
                                     src->name, (unsigned long long)src->next_line, in->max_cap);
            if (rc != PQF_OK)
                return rc;
            continue;
        }
        if (!nl && p == e) {
            *eof = true;
            return PQF_OK;
        }
        const char *le = nl ? nl : e;
        in->pos = (size_t)(le - in->buf) + (nl ? 1 : 0);
        src->line = src->next_line++;
        if (le > p && le[-1] == '\r')
            le--;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t'))
            q++;
        if (q == le)
            continue; /* blank line */
        *s = p;
        *n = (size_t)(le - p);
        return PQF_OK;
    }
}

/* The next record: a line of NDJSON, or the next element of an array page. */
static pqf_err ndjson_record(pqf_source *src, const pqf__json **rec, bool *eof)
{
    if (src->array_page) {
        if (!src->next_elem) {
            *eof = true;
            return PQF_OK;
        }
        *rec = src->next_elem;
        src->next_elem = src->next_elem->next;
        src->line = (*rec)->line;
        return PQF_OK;
    }
    const char *s = NULL;
    size_t n = 0;
    pqf_err rc = ndjson_line(src, &s, &n, eof);
    if (rc != PQF_OK || *eof)
        return rc;
    pqf__json_doc_reset(&src->doc);
    pqf__json *v;
    rc = pqf__json_parse(&src->doc, s, n, &v);
    if (rc != PQF_OK)
        return pqf_error_set(&src->err, rc, "%s:%llu: %s", src->name,
                             (unsigned long long)src->line, src->doc.err.msg + (strncmp(src->doc.err.msg, "line 1, ", 8) == 0 ? 8 : 0));
    *rec = v;
    return PQF_OK;
}

static pqf_err ndjson_next(pqf_source *src, pqf_writer *w, bool *eof)
{
    const pqf__json *v = NULL;
    bool skip = false;
    char op = 'U';
    const char *wm = NULL;
    size_t wmn = 0;
    pqf_err rc;
    do {
        rc = ndjson_record(src, &v, eof);
        if (rc != PQF_OK || *eof)
            return rc;
        if (v->type != PQF__JOBJ)
            return pqf_error_set(&src->err, PQF_ERR_VALUE, "%s:%llu: expected an object, found %s",
                                 src->name, (unsigned long long)src->line,
                                 pqf__json_type_name(v->type));
        src->recno++;
        if (src->map) {
            const pqf__json *mv = NULL;
            rc = pqf__mapplan_apply(src->map, v, src->name, src->line, src->recno, &mv, &src->err);
            if (rc != PQF_OK)
                return rc;
            v = mv;
        }
        if (src->cc) {
            rc = cc_json(src, v, src->line, &skip, &op, &wm, &wmn);
            if (rc != PQF_OK)
                return rc;
        }
    } while (skip);
    rc = pqf_writer_row_begin(w);
    if (rc != PQF_OK)
        return writer_error(src, w, rc, src->line);
    rc = shred_members(src, w, 0, v, src->line);
    if (rc != PQF_OK)
        return rc;
    if (src->cc) {
        rc = cc_write(src, w, op, wm, wmn, src->line);
        if (rc != PQF_OK)
            return rc;
    }
    rc = pqf_writer_row_end(w);
    return rc != PQF_OK ? writer_error(src, w, rc, src->line) : PQF_OK;
}

/* An NDJSON file whose first byte (after a BOM and blanks) is '[' is one JSON
 * array of records, as an API page often is: read it whole (capped). */
static pqf_err open_array_page(pqf_source *src, const pqf_source_opts *opts, pqf_error *err)
{
    pqf__input *in = &src->in;
    size_t i = in->pos;
    while (i < in->len && (in->buf[i] == ' ' || in->buf[i] == '\t' || in->buf[i] == '\n' ||
                           in->buf[i] == '\r'))
        i++;
    if (i >= in->len || in->buf[i] != '[')
        return PQF_OK;
    while (!in->eof) {
        pqf_err rc = pqf__input_fill(in, in->pos, err);
        if (rc == PQF_ERR_LIMIT)
            return pqf_error_set(err, rc, "%s: a JSON array page is larger than the limit of %zu bytes",
                                 src->name, in->max_cap);
        if (rc != PQF_OK)
            return rc;
    }
    pqf__json_limits jl = {opts->max_depth, opts->max_string_bytes, 0, 0};
    pqf__json_doc_init(&src->page_doc, &jl);
    pqf__json *root;
    if (pqf__json_parse(&src->page_doc, in->buf + in->pos, in->len - in->pos, &root) != PQF_OK)
        return pqf_error_set(err, PQF_ERR_PARSE, "%s: %s", src->name, src->page_doc.err.msg);
    src->array_page = true;
    src->next_elem = root->child;
    return PQF_OK;
}

/* Resolve the change-capture columns. */
static pqf_err open_changes(pqf_source *src, const pqf_change_opts *co, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    const pnode *root = &src->nodes[0];
    struct {
        const char *name;
        int *node;
        bool generated;
    } cols[] = {{co->watermark, &src->wm_node, false}, {co->delete_column, &src->del_node, false},
                {co->created_column, &src->cre_node, false}, {"_op", &src->op_node, true},
                {"_seq", &src->seq_node, true}, {"_ts", &src->ts_node, true}};
    src->cc = true;
    src->co = co;
    src->seq_next = co->seq_base;
    for (const char *k = co->key; k && *k;) {
        size_t n = strcspn(k, ",");
        if (src->nkey == 8)
            PQF_FAIL(err, PQF_ERR_INVALID_ARG, "change capture: at most 8 key columns");
        int id = -1;
        for (int j = 0; j < root->nkids; j++) {
            const pnode *kn = &src->nodes[root->kids[j]];
            if (kn->name_len == n && memcmp(kn->name, k, n) == 0)
                id = root->kids[j];
        }
        if (id < 0 || src->nodes[id].group)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "change capture: key column '%.*s' is not a plain "
                     "top-level column of the schema", (int)n, k);
        src->key_field[src->nkey] = -1;
        src->key_node[src->nkey++] = id;
        k += n + (k[n] == ',');
    }
    src->wm_field = src->del_field = src->cre_field = -1;
    if (!co->watermark)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "change capture needs a watermark column");
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
        *cols[k].node = -1;
        if (!cols[k].name)
            continue;
        for (int j = 0; j < root->nkids; j++)
            if (strcmp(src->nodes[root->kids[j]].name, cols[k].name) == 0)
                *cols[k].node = root->kids[j];
        if (*cols[k].node < 0)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "change capture: column '%s' is not in the schema",
                     cols[k].name);
        pnode *pn = &src->nodes[*cols[k].node];
        if (pn->group)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "change capture: column '%s' must be a plain column",
                     cols[k].name);
        pn->generated = cols[k].generated;
    }
    if (co->after) {
        const pnode *wn = &src->nodes[src->wm_node];
        pqf__val v;
        const char *why = pqf__value_parse(&wn->conv, co->after, strlen(co->after), &v);
        if (why)
            PQF_FAIL(err, PQF_ERR_VALUE, "the last exported watermark '%s' of '%s' does not parse: %s",
                     co->after, wn->label, why);
        PQF_TRY(val_keep(&src->after, &src->after_bytes, &wn->conv, &v));
        src->has_after = true;
    }
    if (co->floor) {
        const pnode *wn = &src->nodes[src->wm_node];
        pqf__val v;
        const char *why = pqf__value_parse(&wn->conv, co->floor, strlen(co->floor), &v);
        if (why)
            PQF_FAIL(err, PQF_ERR_VALUE, "watermark floor '%s' of '%s' does not parse: %s",
                     co->floor, wn->label, why);
        PQF_TRY(val_keep(&src->floor, &src->floor_bytes, &wn->conv, &v));
        src->has_floor = true;
        src->floor_text = co->floor;
    }
done:
    return rc;
}

/* CSV field positions of the change-capture columns (after the header). */
static pqf_err open_changes_csv(pqf_source *src, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    if (!src->csv->header)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: change capture needs a CSV header", src->name);
    {
        for (size_t i = 0; i < src->csv->width; i++) {
            int id = src->col_node[i];
            if (id < 0)
                continue;
            if (id == src->wm_node)
                src->wm_field = (int)i;
            for (int k = 0; k < src->nkey; k++)
                if (id == src->key_node[k])
                    src->key_field[k] = (int)i;
            if (id == src->del_node)
                src->del_field = (int)i;
            if (id == src->cre_node)
                src->cre_field = (int)i;
            if (src->nodes[id].generated)
                PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: the input has a column '%s', which change "
                         "capture generates", src->name, src->nodes[id].name);
        }
    }
done:
    return rc;
}

void pqf_source_watermarks(const pqf_source *src, const char **min, const char **max)
{
    *min = src->have_wm ? (const char *)src->wm_min_text.data : NULL;
    *max = src->have_wm ? (const char *)src->wm_max_text.data : NULL;
}

uint64_t pqf_source_skipped(const pqf_source *src) { return src->skipped; }

uint64_t pqf_source_duplicates(const pqf_source *src) { return src->duplicates; }

/* ---- public ------------------------------------------------------------------ */

pqf_err pqf_source_next(pqf_source *src, pqf_writer *w, bool *eof)
{
    pqf_err rc = src->fmt == PQF_FORMAT_CSV ? csv_next(src, w, eof) : ndjson_next(src, w, eof);
    if (rc == PQF_OK && !*eof)
        src->rows++;
    return rc;
}

pqf_err pqf_source_run(pqf_source *src, pqf_writer *w, uint64_t *rows)
{
    uint64_t start = src->rows;
    pqf_err rc = PQF_OK;
    bool eof = false;
    if (src->fmt == PQF_FORMAT_CSV) {
        for (;;) {
            rc = csv_next(src, w, &eof);
            if (rc != PQF_OK || eof)
                break;
            src->rows++;
        }
    } else {
        for (;;) {
            rc = ndjson_next(src, w, &eof);
            if (rc != PQF_OK || eof)
                break;
            src->rows++;
        }
    }
    if (rows)
        *rows = src->rows - start;
    return rc;
}

uint64_t pqf_source_line(const pqf_source *src)
{
    return src->fmt == PQF_FORMAT_CSV ? src->csv->line : src->line;
}

uint64_t pqf_source_bytes(const pqf_source *src)
{
    const pqf__input *in = src->fmt == PQF_FORMAT_CSV ? &src->csv->in : &src->in;
    return in->base + in->pos;
}

const pqf_error *pqf_source_error(const pqf_source *src)
{
    return &src->err;
}

void pqf_source_free(pqf_source *src)
{
    if (!src)
        return;
    if (src->nodes) {
        for (int i = 0; i < src->nnodes; i++) {
            free(src->nodes[i].kids);
            free(src->nodes[i].slots);
            free(src->nodes[i].label);
        }
        free(src->nodes);
    }
    pqf__mapplan_free(src->map);
    pqf__csv_free(src->csv);
    free(src->col_node);
    free(src->flatcols);
    free(src->fvals);
    free(src->fnull);
    if (src->in_open)
        pqf__input_close(&src->in);
    pqf__json_doc_free(&src->doc);
    if (src->array_page)
        pqf__json_doc_free(&src->page_doc);
    pqf__buf_free(&src->tmp);
    pqf__buf_free(&src->after_bytes);
    pqf__buf_free(&src->floor_bytes);
    pqf__buf_free(&src->keybuf);
    pqf__buf_free(&src->wm_min_bytes);
    pqf__buf_free(&src->wm_max_bytes);
    pqf__buf_free(&src->wm_min_text);
    pqf__buf_free(&src->wm_max_text);
    free(src);
}

static pqf_err map_csv_columns(pqf_source *src, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__csv *c = src->csv;
    const pnode *root = &src->nodes[0];
    bool *seen = NULL;
    size_t width = c->width;
    if (!c->header) {
        /* positional; width is known after the first record, so check it there */
        width = (size_t)root->nkids;
        c->width = width;
    }
    src->col_node = calloc(width ? width : 1, sizeof *src->col_node);
    seen = calloc((size_t)root->nkids + 1, sizeof *seen);
    if (!src->col_node || !seen)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < width; i++) {
        int k = -1;
        if (!c->header) {
            k = (int)i;
        } else {
            for (int j = 0; j < root->nkids; j++)
                if (strcmp(src->nodes[root->kids[j]].name, c->names[i]) == 0) {
                    k = j;
                    break;
                }
        }
        if (k >= 0 && seen[k])
            PQF_FAIL(err, PQF_ERR_SCHEMA, "%s:1: column '%s' appears twice in the header",
                     src->name, c->names[i]);
        if (k < 0 && !src->ignore_unknown)
            PQF_FAIL(err, PQF_ERR_SCHEMA,
                     "%s:1: column '%s' is not in the schema (use --unknown-fields ignore)",
                     src->name, c->names[i]);
        src->col_node[i] = k >= 0 ? root->kids[k] : -1;
        if (k >= 0)
            seen[k] = true;
    }
    if (c->header && width > 0) {
        for (int j = 0; j < root->nkids; j++) {
            const pnode *kn = &src->nodes[root->kids[j]];
            if (!seen[j] && !kn->nullable && !kn->generated)
                PQF_FAIL(err, PQF_ERR_SCHEMA,
                         "%s: column '%s' is not nullable but the file has no such column",
                         src->name, kn->name);
        }
    }
done:
    free(seen);
    return rc;
}

pqf_err pqf_source_open(const char *path, const pqf_schema *schema, const pqf_source_opts *opts,
                        pqf_source **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_source_opts defaults;
    pqf_source *src = NULL;
    *out = NULL;
    if (!opts) {
        pqf_source_opts_init(&defaults);
        opts = &defaults;
    }
    if (!schema || pqf_schema_leaf_count(schema) == 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "pqf_source_open: the schema is not finished");
    src = calloc(1, sizeof *src);
    if (!src)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    src->schema = schema;
    src->fmt = pqf_format_for_path(path, opts->format);
    src->ignore_unknown = opts->ignore_unknown;
    src->next_line = 1;
    pqf__json_limits jl = {opts->max_depth, opts->max_string_bytes, 0, 0};
    pqf__json_doc_init(&src->doc, &jl);
    pqf__buf_init(&src->tmp, opts->max_record_bytes ? opts->max_record_bytes * 2 : 128u << 20);
    pqf__buf_init(&src->after_bytes, 1u << 20);
    pqf__buf_init(&src->floor_bytes, 1u << 20);
    pqf__buf_init(&src->keybuf, 1u << 20);
    pqf__buf_init(&src->wm_min_bytes, 1u << 20);
    pqf__buf_init(&src->wm_max_bytes, 1u << 20);
    pqf__buf_init(&src->wm_min_text, 1u << 20);
    pqf__buf_init(&src->wm_max_text, 1u << 20);
    src->nnodes = pqf_schema_node_count(schema);
    src->nodes = calloc((size_t)src->nnodes, sizeof *src->nodes);
    if (!src->nodes)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(build_node(src, 0, NULL, false, err));
    if (opts->changes)
        PQF_TRY(open_changes(src, opts->changes, err));
    if (opts->mapping && src->fmt == PQF_FORMAT_CSV)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG,
                 "%s: a mapping applies to JSON pages (NDJSON or a JSON array), not CSV", path);
    if (opts->mapping)
        PQF_TRY(pqf__mapplan_create(opts->mapping, schema, opts->changes != NULL, &src->map, err));
    size_t buffer = opts->buffer_bytes ? opts->buffer_bytes : 1u << 20;
    size_t maxrec = opts->max_record_bytes ? opts->max_record_bytes : 64u << 20;
    if (src->fmt == PQF_FORMAT_CSV) {
        PQF_TRY(pqf__csv_open(path, NULL, 0, NULL, &opts->csv, buffer, maxrec, opts->max_fields,
                              &src->csv, err));
        src->name = src->csv->in.name;
        PQF_TRY(map_csv_columns(src, err));
    } else {
        PQF_TRY(pqf__input_open(&src->in, path, NULL, 0, NULL, buffer, maxrec, err));
        src->in_open = true;
        src->name = src->in.name;
        PQF_TRY(pqf__input_fill(&src->in, 0, err));
        if (src->in.len >= 3 && memcmp(src->in.buf, "\xEF\xBB\xBF", 3) == 0)
            src->in.pos = 3;
        PQF_TRY(open_array_page(src, opts, err));
    }
    if (opts->changes && src->fmt == PQF_FORMAT_CSV)
        PQF_TRY(open_changes_csv(src, err));
    *out = src;
    src = NULL;
done:
    pqf_source_free(src);
    return rc;
}
