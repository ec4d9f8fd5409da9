/* The record source: CSV or NDJSON records -> pqf_writer rows, per a schema.
 *
 * At open the schema is compiled into a plan indexed by node id: per leaf a
 * value converter, per struct its children and a slot array used to pair an
 * object's members with the schema's children in one pass, per list its
 * element. CSV fields go straight from the read buffer to the converter and
 * the writer; NDJSON lines are streamed: their tokens go through the plan
 * straight into the writer (see "NDJSON lines, streamed"). Array pages and
 * lines under change capture are parsed into a JSON tree (arena reset per
 * line) and shredded depth-first, as are CSV fields holding JSON. */
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "pqfeed/source.h"
#include "source/changes.h"
#include "source/csv.h"
#include "source/json.h"
#include "source/mapping.h"
#include "source/source_int.h"
#include "source/value.h"

typedef struct pnode {
    bool used;     /* part of the plan (not the middle group of a LIST) */
    bool generated; /* change-capture column (_op, _seq, _ts): not in the input */
    bool group, is_list, nullable;
    const char *name;
    size_t name_len;
    bool key_fast;  /* the name needs no escape in JSON: a member's key may match it raw */
    uint64_t kw[2], km[2]; /* key_fast, name_len <= 16: the name's bytes and mask, 8 a word */
    bool member_fast;      /* key_fast, name_len <= 13: `"name":` fits mw/mm */
    uint64_t mw[2], mm[2]; /* the same for the member's start, `"name":` */
    int elem;      /* LIST: element node id */
    int *kids;     /* struct/root: child node ids */
    int nkids;
    int cursor;    /* next kid expected (members usually come in schema order) */
    const pqf__json **slots;
    uint64_t *seen; /* js_members: a bit per child, set when its member is read */
    pqf__conv conv;
    pqf__parse_fn parse;  /* the conv's padded parser (text inside the read buffer) */
    bool scalar;          /* a leaf but not JSON text: js_members calls js_scalar itself */
    const char *conv_why; /* leaf type not supported for input, or NULL */
    char *label;   /* user-facing path: "author.name", "labels[]" */
    /* for the streaming shredder's levelled writes (parquet/flat.h) */
    int leaf;                 /* leaves: its index */
    int first_leaf, end_leaf; /* the leaves under it: [first_leaf, end_leaf) */
    int16_t def;              /* definition level when present (an empty list's) */
    int16_t null_def;         /* definition level when null: its parent's */
    int16_t rep;              /* repetition level (a list element's, for its repeats) */
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
    /* change capture (source/changes.h) */
    bool cc;
    pqf__cc chg;
    int wm_field, del_field, cre_field; /* CSV field index or -1 */
    int key_field[8];
    bool stream;              /* lines go through the streaming shredder */
    int max_depth;
    size_t max_string;
    pqf__buf sbuf, kbuf;      /* streaming: decoded strings with escapes */
    const pqf_writer *lv_w;   /* streaming: the writer checked by pqf__writer_lv_matches */
    /* mapping (NDJSON only; the tree path) */
    pqf__mapplan *map;
    uint64_t recno; /* 1-based record number in the file */
    /* NDJSON: every byte read, in order (pqf__source_open_tap) */
    pqf__source_tap tap;
    void *tap_ud;
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
    pn->leaf = info.leaf;
    pn->def = info.max_def;
    pn->rep = info.max_rep;
    if (info.parent >= 0) {
        pqf_node_info par;
        PQF_TRY(pqf_schema_node(src->schema, info.parent, &par));
        pn->null_def = par.max_def;
    }
    pn->name = info.name;
    pn->name_len = strlen(info.name);
    pn->key_fast = pn->name_len <= src->max_string && pqf__utf8_valid(pn->name, pn->name_len);
    for (size_t i = 0; i < pn->name_len; i++)
        if (pn->name[i] == '"' || pn->name[i] == '\\' || (unsigned char)pn->name[i] < 0x20)
            pn->key_fast = false;
    for (size_t i = 0; i < pn->name_len && i < 16; i++) {
        pn->kw[i / 8] |= (uint64_t)(unsigned char)pn->name[i] << (8 * (i % 8));
        pn->km[i / 8] |= (uint64_t)0xff << (8 * (i % 8));
    }
    pn->member_fast = pn->key_fast && pn->name_len <= 13;
    for (size_t i = 0; pn->member_fast && i < pn->name_len + 3; i++) {
        unsigned char ch = i == 0 || i == pn->name_len + 1 ? '"'
                         : i == pn->name_len + 2         ? ':'
                                                         : (unsigned char)pn->name[i - 1];
        pn->mw[i / 8] |= (uint64_t)ch << (8 * (i % 8));
        pn->mm[i / 8] |= (uint64_t)0xff << (8 * (i % 8));
    }
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
        pn->parse = pqf__value_padded_fn(&pn->conv);
        pn->scalar = pn->conv.kind != PQF__V_JSON;
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
    pn->seen = calloc((size_t)pn->nkids / 64 + 1, sizeof *pn->seen);
    if (!pn->kids || !pn->slots || !pn->seen)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < pn->nkids; i++) {
        pn->kids[i] = pqf_schema_child(src->schema, id, i);
        PQF_TRY(build_node(src, pn->kids[i], pn->label, false, err));
    }
done:
    /* leaves are numbered depth-first: a node's are one run */
    if (rc == PQF_OK && !info.is_group) {
        pn->first_leaf = pn->leaf;
        pn->end_leaf = pn->leaf + 1;
    } else if (rc == PQF_OK && pn->is_list) {
        pn->first_leaf = src->nodes[pn->elem].first_leaf;
        pn->end_leaf = src->nodes[pn->elem].end_leaf;
    } else if (rc == PQF_OK && pn->nkids > 0) {
        pn->first_leaf = src->nodes[pn->kids[0]].first_leaf;
        pn->end_leaf = src->nodes[pn->kids[pn->nkids - 1]].end_leaf;
    }
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

/* A JSON-typed column's value: its JSON text in src->tmp. */
static pqf_err json_column_text(pqf_source *src, const pnode *pn, const pqf__json *v, uint64_t line)
{
    pqf__buf_reset(&src->tmp);
    pqf_err rc = pqf__json_write(&src->tmp, v);
    if (rc != PQF_OK)
        return pqf_error_set(&src->err, rc, "%s:%llu: field '%s': JSON value too large",
                             src->name, (unsigned long long)line, pn->label);
    return PQF_OK;
}

static pqf_err shred_leaf(pqf_source *src, pqf_writer *w, int id, const pqf__json *v, uint64_t line)
{
    pnode *pn = &src->nodes[id];
    pqf__val val;
    const char *why = NULL;
    pqf_err rc;
    switch (pn->conv.kind) {
    case PQF__V_JSON:
        rc = json_column_text(src, pn, v, line);
        if (rc != PQF_OK)
            return rc;
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

/* The change-capture decision for a record whose texts the caller found:
 * errors get this file's "name:line: " prefix, and a watermark that does not
 * parse is worded like any value error. */
static pqf_err cc_filter(pqf_source *src, const char *wm, size_t n, bool present, uint64_t line,
                         bool *skip)
{
    const char *why = NULL;
    pqf_err rc = pqf__cc_filter(&src->chg, wm, n, present, skip, &why);
    if (rc == PQF_OK)
        return PQF_OK;
    if (why) {
        const pnode *wn = &src->nodes[src->chg.wm_node];
        return value_error(src, line, wn->label, wn, wm, n, why);
    }
    src->err = src->chg.err;
    return pqf_error_prefix(&src->err, "%s:%llu: ", src->name, (unsigned long long)line);
}

/* Write _op, _seq and _ts for the current record. */
static pqf_err cc_write(pqf_source *src, pqf_writer *w, char op, const char *wm, size_t n,
                        uint64_t line)
{
    pqf_err rc = pqf__cc_write(&src->chg, w, op, wm, n);
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
    if (pqf__cc_key_part(&src->chg, k, s, n, present) == PQF_OK)
        return PQF_OK;
    src->err = src->chg.err;
    return pqf_error_prefix(&src->err, "%s:%llu: ", src->name, (unsigned long long)line);
}

static pqf_err cc_json(pqf_source *src, const pqf__json *rec, uint64_t line, bool *skip,
                       char *op, const char **wm, size_t *wn)
{
    pqf__cc *cc = &src->chg;
    pqf__cc_key_reset(cc);
    for (int k = 0; k < cc->nkey; k++) {
        const char *ks = NULL;
        size_t kn = 0;
        bool p = json_text(pqf__json_get(rec, src->nodes[cc->key_node[k]].name), &ks, &kn);
        pqf_err r = key_part(src, k, ks, kn, p, line);
        if (r != PQF_OK)
            return r;
    }
    const pqf__json *v = pqf__json_get(rec, src->nodes[cc->wm_node].name);
    bool present = json_text(v, wm, wn);
    pqf_err rc = cc_filter(src, *wm, *wn, present, line, skip);
    if (rc != PQF_OK || *skip)
        return rc;
    const char *cs = NULL;
    size_t cn = 0;
    bool cp = cc->cre_node > 0 &&
              json_text(pqf__json_get(rec, src->nodes[cc->cre_node].name), &cs, &cn);
    bool del = false;
    if (cc->del_node > 0) {
        const pqf__json *d = pqf__json_get(rec, src->nodes[cc->del_node].name);
        const char *ds;
        size_t dn;
        del = d && ((d->type == PQF__JBOOL && d->b) ||
                    (json_text(d, &ds, &dn) && pqf__cc_truthy(ds, dn)));
    }
    *op = pqf__cc_op(cc, *wm, *wn, cs, cn, cp, del);
    return PQF_OK;
}

static pqf_err cc_csv(pqf_source *src, uint64_t line, bool *skip, char *op, const char **wm,
                      size_t *wn)
{
    const pqf__csv *c = src->csv;
    pqf__cc *cc = &src->chg;
    pqf__cc_key_reset(cc);
    for (int k = 0; k < cc->nkey; k++) {
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
    const pqf__csv_field *cf = src->cre_field >= 0 && (size_t)src->cre_field < c->nfields
                                   ? &c->fields[src->cre_field]
                                   : NULL;
    const pqf__csv_field *df = src->del_field >= 0 && (size_t)src->del_field < c->nfields
                                   ? &c->fields[src->del_field]
                                   : NULL;
    bool del = df && !pqf__csv_is_null(c, df) && pqf__cc_truthy(df->p, df->len);
    *op = pqf__cc_op(cc, *wm, *wn, cf ? cf->p : "", cf ? cf->len : 0, cf != NULL, del);
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

/* pqf__input_fill, showing the bytes it read to the tap. */
static pqf_err nd_fill(pqf_source *src, size_t keep, pqf_error *err)
{
    pqf__input *in = &src->in;
    size_t kept = in->len - (keep < in->len ? keep : in->len);
    pqf_err rc = pqf__input_fill(in, keep, err);
    if (rc == PQF_OK && src->tap && in->len > kept)
        src->tap(src->tap_ud, in->buf + kept, in->len - kept);
    return rc;
}

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
            pqf_err rc = nd_fill(src, in->pos, &src->err);
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

/* ---- NDJSON lines, streamed ------------------------------------------------------
 *
 * NDJSON lines without change capture skip the tree: the line's tokens go
 * through the plan straight into the writer, and strings without escapes go
 * as pointers into the read buffer. Only the values of JSON-typed columns and
 * of ignored fields are parsed as a tree (their text is needed whole, or only
 * checked). On any error the line is parsed again as a tree, so that a syntax
 * error anywhere in it is reported first and worded as before; otherwise the
 * streamed error stands. The writer is poisoned either way. Change capture
 * keeps the tree path: it must see the key and watermark before writing. */

typedef struct jscan {
    const char *p, *e;
    int depth; /* of the container being read (the record is 1) */
} jscan;

#define JS_SYNTAX PQF_ERR_PARSE /* worded by the tree parser's second pass */

/* The byte at e (a line's end) is readable and is '\n' or '\r' (ndjson_line:
 * the line's newline, the '\r' before it, or the read buffer's sentinel
 * '\n'), never a token: a test of *s->p for a token needs no s->p < s->e
 * first, which the hot paths below rely on (s->p never passes e). */
static inline void js_ws(jscan *s)
{
    /* compact NDJSON has no whitespace between tokens: one test for that */
    if (PQF_LIKELY((unsigned char)*s->p > ' '))
        return;
    while (s->p < s->e && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Past the byte `t` (true), or false if the next token is another. */
static inline bool js_tok(jscan *s, char t)
{
    if (PQF_UNLIKELY(*s->p != t)) {
        js_ws(s);
        if (*s->p != t)
            return false;
    }
    s->p++;
    return true;
}

/* After a member or element: past a ',' (1: another follows), past `close`
 * (0: the container ends), or -1 (a syntax error). */
static inline int js_next(jscan *s, char close)
{
    js_ws(s);
    char c = *s->p;
    if (c == ',' || c == close) {
        s->p++;
        return c == ',';
    }
    return -1;
}

static inline bool js_lit(jscan *s, const char *lit, size_t n)
{
    if ((size_t)(s->e - s->p) < n || memcmp(s->p, lit, n) != 0)
        return false;
    s->p += n;
    return true;
}

/* js_string past the first '\\' or control byte, or the line's end, at p
 * (high: a byte >= 0x80 came before p): escapes decoded into b. */
static __attribute__((noinline)) pqf_err
js_string_slow(pqf_source *src, jscan *s, pqf__buf *b, const char **out, size_t *n,
               const char *start, const char *p, bool high)
{
    const char *e = s->e;
    while (p < e && *p != '"' && *p != '\\') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20)
            return JS_SYNTAX;
        high |= c >= 0x80;
        p++;
    }
    if (p >= e)
        return JS_SYNTAX;
    if (*p == '"') {
        *out = start;
        *n = (size_t)(p - start);
    } else {
        pqf__buf_reset(b);
        if (pqf__buf_append(b, start, (size_t)(p - start)) != PQF_OK)
            return JS_SYNTAX;
        while (p < e && *p != '"') {
            unsigned char c = (unsigned char)*p;
            if (c < 0x20)
                return JS_SYNTAX;
            if (c != '\\') {
                high |= c >= 0x80;
                if (pqf__buf_append_byte(b, c) != PQF_OK)
                    return JS_SYNTAX;
                p++;
                continue;
            }
            if (e - p < 2)
                return JS_SYNTAX;
            char x = p[1], ch = 0, u[4];
            size_t un = 0;
            p += 2;
            switch (x) {
            case '"': case '\\': case '/': ch = x; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u': {
                uint32_t cp;
                int used = pqf__json_u_escape(p, e, &cp);
                if (used < 0)
                    return JS_SYNTAX;
                p += used;
                un = pqf__utf8_put(u, cp);
                break;
            }
            default:
                return JS_SYNTAX;
            }
            if (un ? pqf__buf_append(b, u, un) != PQF_OK : pqf__buf_append_byte(b, (uint8_t)ch) != PQF_OK)
                return JS_SYNTAX;
        }
        if (p >= e)
            return JS_SYNTAX;
        *out = b->data ? (const char *)b->data : "";
        *n = b->len;
    }
    if (*n > src->max_string || (high && !pqf__utf8_valid(*out, *n)))
        return JS_SYNTAX;
    s->p = p + 1;
    return PQF_OK;
}

/* The string at s->p (a '"'), decoded: a pointer into the line when it has
 * no escapes, else into b (capped like the tree parser's strings). The
 * common case (no escape) inline, the rest in js_string_slow. */
static inline pqf_err js_string(pqf_source *src, jscan *s, pqf__buf *b, const char **out,
                                size_t *n)
{
    const char *p = s->p + 1, *e = s->e, *start = p;
    bool high = false;
#if defined(__SSE2__)
    /* 16 bytes at a time to the first '"', '\\' or control byte: the loads
     * may pass e (the line is in the read buffer, PQF__INPUT_PAD bytes of pad
     * after its data), what lies past e is masked off */
    const __m128i vq = _mm_set1_epi8('"'), vbs = _mm_set1_epi8('\\'), vc = _mm_set1_epi8(0x1f);
    while (p < e) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vq), _mm_cmpeq_epi8(x, vbs)),
                                 _mm_cmpeq_epi8(_mm_min_epu8(x, vc), x));
        size_t lim = e - p < 16 ? (size_t)(e - p) : 16;
        unsigned valid = lim == 16 ? 0xffffu : (1u << lim) - 1;
        unsigned stop = (unsigned)_mm_movemask_epi8(m) & valid;
        unsigned hb = (unsigned)_mm_movemask_epi8(x);
        if (stop) {
            int k = __builtin_ctz(stop);
            high |= (hb & ((1u << k) - 1)) != 0;
            p += k;
            break;
        }
        high |= (hb & valid) != 0;
        p += lim;
    }
    /* *e is the line's '\n' or '\r', never '"' (see js_ws) */
    if (PQF_UNLIKELY(*p != '"'))
        return js_string_slow(src, s, b, out, n, start, p, high);
    *out = start;
    *n = (size_t)(p - start);
    if (PQF_UNLIKELY(*n > src->max_string || (high && !pqf__utf8_valid(start, *n))))
        return JS_SYNTAX;
    s->p = p + 1;
    return PQF_OK;
#else
    /* eight bytes at a time while none is '"', '\\' or a control byte */
    uint64_t hi_acc = 0;
    while (e - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
        uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
        uint64_t special = ((q - ones) & ~q) | ((bs - ones) & ~bs) | ((x - ones * 0x20) & ~x);
        if (special & highs)
            break;
        hi_acc |= x;
        p += 8;
    }
    high = (hi_acc & 0x8080808080808080ull) != 0;
    return js_string_slow(src, s, b, out, n, start, p, high);
#endif
}

static pqf_err js_number(jscan *s, const char **out, size_t *n)
{
    const char *p;
    if (pqf__json_number_scan(s->p, s->e, &p))
        return JS_SYNTAX;
    *out = s->p;
    *n = (size_t)(p - s->p);
    if (*n > 128) /* the tree parser's default number cap */
        return JS_SYNTAX;
    s->p = p;
    return PQF_OK;
}

static pqf__jtype js_type(char c)
{
    return c == '"' ? PQF__JSTR : c == '{' ? PQF__JOBJ : c == '[' ? PQF__JARR
         : c == 't' || c == 'f' ? PQF__JBOOL : c == 'n' ? PQF__JNULL : PQF__JNUM;
}

static pqf_err js_mismatch(pqf_source *src, uint64_t line, const pnode *pn, const char *want,
                           char c)
{
    return pqf_error_set(&src->err, PQF_ERR_VALUE, "%s:%llu: field '%s': expected %s, found %s",
                         src->name, (unsigned long long)line, pn->label, want,
                         pqf__json_type_name(js_type(c)));
}

/* The value at s->p as a tree (src->doc), for JSON-typed columns and ignored
 * fields: its end is found by bracket matching, then the tree parser checks
 * it with the depth that is left. */
static pqf_err js_tree(pqf_source *src, jscan *s, pqf__json **v)
{
    const char *p = s->p, *e = s->e;
    char c = *p;
    if (c == '{' || c == '[') {
        if (s->depth + 1 > src->max_depth)
            return JS_SYNTAX;
        int d = 0;
        while (p < e) {
            c = *p;
            if (c == '"') {
                for (p++; p < e && *p != '"'; p++)
                    if (*p == '\\')
                        p++;
                if (p >= e)
                    return JS_SYNTAX;
            } else if (c == '{' || c == '[') {
                d++;
            } else if (c == '}' || c == ']') {
                if (--d == 0)
                    break;
            }
            p++;
        }
        if (p >= e)
            return JS_SYNTAX;
        p++;
    } else if (c == '"') {
        for (p++; p < e && *p != '"'; p++)
            if (*p == '\\')
                p++;
        if (p >= e)
            return JS_SYNTAX;
        p++;
    } else {
        while (p < e && !strchr(",}] \t\r\n", *p))
            p++;
    }
    /* the arena is kept; only the depth left changes (>= 1 for a container) */
    pqf__json_doc_reset(&src->doc);
    src->doc.lim.max_depth = src->max_depth - s->depth;
    if (pqf__json_parse(&src->doc, s->p, (size_t)(p - s->p), v) != PQF_OK)
        return JS_SYNTAX;
    s->p = p;
    return PQF_OK;
}

static pqf_err js_members(pqf_source *src, jscan *s, pqf_writer *w, int id, uint64_t line);

/* Names are short: a loop beats a call to memcmp. */
static inline bool js_key_eq(const pnode *kn, const char *key, size_t n)
{
    if (kn->name_len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (kn->name[i] != key[i])
            return false;
    return true;
}

/* The name's bytes at p (a key_fast node's, which the line holds whole). Names
 * of up to 16 bytes are compared as two masked words: the 16 bytes from p are
 * inside the read buffer, which ends in PQF__INPUT_PAD bytes past its data. */
_Static_assert(PQF__INPUT_PAD >= 16, "js_key_raw and js_string read 16 bytes at a time");
static inline bool js_words_eq(const char *p, const uint64_t w[2], const uint64_t m[2])
{
    uint64_t w0, w1;
    memcpy(&w0, p, 8);
    memcpy(&w1, p + 8, 8);
    return (((w0 ^ w[0]) & m[0]) | ((w1 ^ w[1]) & m[1])) == 0;
}

static inline bool js_key_raw(const pnode *kn, const char *p)
{
    if (kn->name_len > 16)
        return memcmp(p, kn->name, kn->name_len) == 0;
    return js_words_eq(p, kn->kw, kn->km);
}

/* A member_fast node's compact member start, `"name":`, at p. It cannot run
 * past the line: *e is its '\n', which the pattern does not hold. */
static inline bool js_member_raw(const pnode *kn, const char *p)
{
    return js_words_eq(p, kn->mw, kn->mm);
}

/* The streaming shredder writes through the levelled leaf calls
 * (parquet/flat.h): it walks the schema itself, so the writer's struct/list
 * frames and per-value checks are skipped; the bytes are the per-value
 * calls' (tests/cli/ndjson_stream.sh compares them with the tree path's). */
static inline pqf_err lv_rc(pqf_source *src, pqf_writer *w, pqf_err rc, uint64_t line)
{
    return PQF_LIKELY(rc == PQF_OK) ? PQF_OK : writer_error(src, w, rc, line);
}

static inline pqf_err lv_put(pqf_source *src, pqf_writer *w, const pnode *pn, const pqf__val *v,
                             uint64_t line)
{
    return lv_rc(src, w, pqf__writer_lv_value(w, pn->leaf, v), line);
}

static inline pqf_err lv_null(pqf_source *src, pqf_writer *w, const pnode *pn, int16_t def,
                              uint64_t line)
{
    return lv_rc(src, w, pqf__writer_lv_null(w, pn->first_leaf, pn->end_leaf, def), line);
}

/* A leaf's value other than null or JSON text, starting with c (= *s->p): a
 * bool, number or string, converted and written. Inline in js_members (most
 * members are such) and js_value. */
static inline __attribute__((always_inline)) pqf_err
js_scalar(pqf_source *src, jscan *s, pqf_writer *w, const pnode *pn, int id, uint64_t line, char c)
{
    pqf_err rc;
    const char *t = NULL;
    size_t n = 0;
    switch (pn->conv.kind) {
    case PQF__V_BOOL: {
        bool b = c == 't';
        if (c != 't' && c != 'f')
            return js_mismatch(src, line, pn, "a boolean", c);
        if (!js_lit(s, b ? "true" : "false", b ? 4 : 5))
            return JS_SYNTAX;
        pqf__val bv;
        bv.u.b = b;
        return lv_put(src, w, pn, &bv, line);
    }
    case PQF__V_INT:
        if (!pn->conv.is_unsigned && c != '"') {
            /* a plain integer of up to 18 digits in range: parsed as it is
             * scanned; anything else (a fraction, an exponent, a leading
             * zero, out of range) goes the general way, for its error */
            const char *p = s->p + (c == '-'), *e = s->e, *d = p;
            int64_t x = 0;
            while (p < e && (unsigned)(*p - '0') <= 9 && p - d < 18)
                x = x * 10 + (*p++ - '0');
            if (p > d && (p == e || ((unsigned)(*p - '0') > 9 && *p != '.' && *p != 'e' &&
                                     *p != 'E')) &&
                (*d != '0' || p == d + 1)) {
                x = c == '-' ? -x : x;
                if (x >= pn->conv.imin && x <= pn->conv.imax) {
                    s->p = p;
                    return lv_rc(src, w, pqf__writer_lv_int(w, pn->leaf, x), line);
                }
            }
        }
        /* fall through */
    case PQF__V_FLOAT:
    case PQF__V_DOUBLE:
    case PQF__V_DECIMAL:
        if (c == '"')
            rc = js_string(src, s, &src->sbuf, &t, &n);
        else if (c == '-' || (unsigned)(c - '0') <= 9)
            rc = js_number(s, &t, &n);
        else
            return js_mismatch(src, line, pn, "a number", c);
        break;
    default:
        if (c != '"')
            return js_mismatch(src, line, pn, "a string", c);
        rc = js_string(src, s, &src->sbuf, &t, &n);
        break;
    }
    if (rc != PQF_OK)
        return rc;
    pqf__val val;
    const char *why = NULL;
    if (pn->conv.kind == PQF__V_STRING) {
        /* js_string checked the UTF-8 already (pqf__value_parse would again) */
        return lv_rc(src, w, pqf__writer_lv_bytes(w, pn->leaf, t, n), line);
    } else if (PQF_LIKELY(t != (const char *)src->sbuf.data)) {
        /* text in the line (js_string decodes escapes into sbuf), so in the
         * read buffer: PQF__INPUT_PAD readable bytes follow its data, as the
         * padded parsers need */
        why = pn->parse(&pn->conv, t, n, &val);
    } else {
        why = pqf__value_parse(&pn->conv, t, n, &val); /* escapes decoded into sbuf */
    }
    if (PQF_UNLIKELY(why != NULL)) {
        char lab[300];
        snprintf(lab, sizeof lab, "'%s'", pn->label);
        return value_error(src, line, lab, pn, t, n, why);
    }
    return lv_put(src, w, pn, &val, line);
}

static pqf_err js_value(pqf_source *src, jscan *s, pqf_writer *w, int id, uint64_t line)
{
    pnode *pn = &src->nodes[id];
    pqf_err rc;
    js_ws(s);
    if (s->p >= s->e)
        return JS_SYNTAX;
    char c = *s->p;
    if (c == 'n') {
        if (!js_lit(s, "null", 4))
            return JS_SYNTAX;
        if (!pn->nullable)
            return pqf_error_set(&src->err, PQF_ERR_VALUE, "%s:%llu: field '%s' is null but not nullable",
                                 src->name, (unsigned long long)line, pn->label);
        return lv_null(src, w, pn, pn->null_def, line);
    }
    if (!pn->group) {
        if (pn->conv.kind == PQF__V_JSON) {
            pqf__json *v;
            rc = js_tree(src, s, &v);
            if (rc == PQF_OK)
                rc = json_column_text(src, pn, v, line);
            if (rc != PQF_OK)
                return rc;
            return lv_rc(src, w, pqf__writer_lv_bytes(w, pn->leaf, src->tmp.data, src->tmp.len),
                         line);
        }
        return js_scalar(src, s, w, pn, id, line, c);
    }
    if (pn->is_list) {
        if (c != '[')
            return js_mismatch(src, line, pn, "an array", c);
        if (++s->depth > src->max_depth)
            return JS_SYNTAX;
        s->p++;
        js_ws(s);
        if (s->p < s->e && *s->p == ']') {
            s->p++;
            s->depth--;
            return lv_null(src, w, pn, pn->def, line); /* empty: the list is there, no element */
        }
        const pnode *en = &src->nodes[pn->elem];
        for (bool first = true;; first = false) {
            if (!first) /* a later element repeats at the element's level */
                pqf__writer_lv_repeat(w, en->first_leaf, en->end_leaf, en->rep);
            rc = js_value(src, s, w, pn->elem, line);
            if (rc != PQF_OK)
                return rc;
            int more = js_next(s, ']');
            if (more < 0)
                return JS_SYNTAX;
            if (!more)
                break;
        }
        s->depth--;
        return PQF_OK;
    }
    if (c != '{')
        return js_mismatch(src, line, pn, "an object", c);
    return js_members(src, s, w, id, line);
}

/* The object at s->p ('{'): members matched to the children like
 * shred_members (in order first), each seen at most once. */
static pqf_err js_members(pqf_source *src, jscan *s, pqf_writer *w, int id, uint64_t line)
{
    pnode *pn = &src->nodes[id];
    uint64_t *seen = pn->seen;
    pqf_err rc = PQF_OK;
    if (++s->depth > src->max_depth)
        return JS_SYNTAX;
    s->p++;
    for (int k = 0; k <= pn->nkids / 64; k++)
        seen[k] = 0;
    js_ws(s);
    if (s->p < s->e && *s->p == '}') {
        s->p++;
    } else {
        for (;;) {
            const char *key;
            size_t kl;
            js_ws(s);
            if (*s->p != '"')
                return JS_SYNTAX;
            int k = -1, c = pn->cursor;
            bool colon = false;
            const pnode *ck = c < pn->nkids ? &src->nodes[pn->kids[c]] : NULL;
            if (ck && ck->member_fast && js_member_raw(ck, s->p)) {
                /* the expected member, compact: its key and ':' in one compare */
                key = ck->name;
                kl = ck->name_len;
                s->p += kl + 3;
                k = c;
                colon = true;
            } else if (ck && ck->key_fast && (size_t)(s->e - s->p) >= ck->name_len + 2 &&
                       s->p[ck->name_len + 1] == '"' && js_key_raw(ck, s->p + 1)) {
                /* the expected member, spelt without escapes: no scan, no search */
                key = ck->name;
                kl = ck->name_len;
                s->p += kl + 2;
                k = c;
            } else {
                rc = js_string(src, s, &src->kbuf, &key, &kl);
                if (rc != PQF_OK)
                    return rc;
                if (ck && js_key_eq(ck, key, kl))
                    k = c;
                for (int i = 0; k < 0 && i < pn->nkids; i++)
                    if (js_key_eq(&src->nodes[pn->kids[i]], key, kl))
                        k = i;
            }
            if (!colon && !js_tok(s, ':'))
                return JS_SYNTAX;
            /* (no change-capture columns here: streaming is off under change capture) */
            if (k < 0) {
                if (!src->ignore_unknown)
                    return pqf_error_set(&src->err, PQF_ERR_VALUE,
                                         "%s:%llu: unknown field '%s%s%.*s' (not in the schema)",
                                         src->name, (unsigned long long)line, pn->label,
                                         *pn->label ? "." : "", (int)kl, key);
                /* checked, not written (a duplicate key in it is the tree parser's error) */
                pqf__json *v;
                js_ws(s);
                if (s->p >= s->e)
                    return JS_SYNTAX;
                rc = js_tree(src, s, &v);
                if (rc != PQF_OK)
                    return rc;
            } else {
                const uint64_t bit = 1ull << (k & 63);
                if (seen[k >> 6] & bit)
                    return JS_SYNTAX; /* a duplicate key */
                seen[k >> 6] |= bit;
                pn->cursor = k + 1;
                const int kid = pn->kids[k];
                const pnode *kn = &src->nodes[kid];
                const char vc = *s->p;
                /* a bool, number or string (most members): what js_value
                 * would do, without its call and dispatch */
                rc = kn->scalar && vc > ' ' && vc != 'n' ? js_scalar(src, s, w, kn, kid, line, vc)
                                                         : js_value(src, s, w, kid, line);
                if (rc != PQF_OK)
                    return rc;
            }
            int more = js_next(s, '}');
            if (more < 0)
                return JS_SYNTAX;
            if (!more)
                break;
        }
    }
    s->depth--;
    pn->cursor = 0;
    /* members not in the object are null, at the object's level */
    if (pn->nkids < 64 && seen[0] == (1ull << pn->nkids) - 1)
        return PQF_OK; /* all there (the usual record) */
    for (int k = 0; k < pn->nkids; k++) {
        if (seen[k >> 6] >> (k & 63) & 1)
            continue;
        const pnode *kn = &src->nodes[pn->kids[k]];
        if (!kn->nullable)
            return pqf_error_set(&src->err, PQF_ERR_VALUE,
                                 "%s:%llu: field '%s' is missing and not nullable", src->name,
                                 (unsigned long long)line, kn->label);
        rc = lv_null(src, w, kn, pn->def, line);
        if (rc != PQF_OK)
            return rc;
    }
    return PQF_OK;
}

/* One NDJSON line, streamed into one row. */
static pqf_err ndjson_stream(pqf_source *src, pqf_writer *w, bool *eof)
{
    const char *line = NULL;
    size_t n = 0;
    pqf_err rc = ndjson_line(src, &line, &n, eof);
    if (rc != PQF_OK || *eof)
        return rc;
    jscan s = {line, line + n, 0};
    js_ws(&s);
    if (s.p >= s.e || *s.p != '{') {
        rc = JS_SYNTAX; /* not an object: the tree pass words it (after a syntax check) */
    } else {
        if (PQF_UNLIKELY(w != src->lv_w)) { /* the levelled writes need the source's shape */
            if (!pqf__writer_lv_matches(w, src->schema))
                return pqf_error_set(&src->err, PQF_ERR_INVALID_ARG,
                                     "%s: the writer's schema is not the source's", src->name);
            src->lv_w = w;
        }
        rc = pqf_writer_row_begin(w);
        if (rc != PQF_OK)
            return writer_error(src, w, rc, src->line);
        rc = js_members(src, &s, w, 0, src->line);
        if (rc == PQF_OK) {
            js_ws(&s);
            if (s.p != s.e)
                rc = JS_SYNTAX;
        }
        if (rc == PQF_OK) {
            rc = pqf__writer_lv_row_end(w);
            return rc != PQF_OK ? writer_error(src, w, rc, src->line) : PQF_OK;
        }
    }
    /* an error: a syntax error anywhere in the line comes first, worded by the tree parser */
    pqf__json_doc_reset(&src->doc);
    src->doc.lim.max_depth = src->max_depth;
    pqf__json *v;
    pqf_err prc = pqf__json_parse(&src->doc, line, n, &v);
    if (prc != PQF_OK)
        return pqf_error_set(&src->err, prc, "%s:%llu: %s", src->name, (unsigned long long)src->line,
                             src->doc.err.msg + (strncmp(src->doc.err.msg, "line 1, ", 8) == 0 ? 8 : 0));
    if (v->type != PQF__JOBJ)
        return pqf_error_set(&src->err, PQF_ERR_VALUE, "%s:%llu: expected an object, found %s",
                             src->name, (unsigned long long)src->line, pqf__json_type_name(v->type));
    if (rc == JS_SYNTAX && src->err.code == PQF_OK) /* should not happen: the two disagree */
        return pqf_error_set(&src->err, PQF_ERR_PARSE, "%s:%llu: invalid JSON", src->name,
                             (unsigned long long)src->line);
    return rc;
}

static pqf_err ndjson_next(pqf_source *src, pqf_writer *w, bool *eof)
{
    if (src->stream)
        return ndjson_stream(src, w, eof);
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
        pqf_err rc = nd_fill(src, in->pos, err);
        if (rc == PQF_ERR_LIMIT)
            return pqf_error_set(err, rc, "%s: a JSON array page is larger than the limit of %zu bytes",
                                 src->name, in->max_cap);
        if (rc != PQF_OK)
            return rc;
    }
    pqf__json_limits jl = {opts->max_depth, opts->max_string_bytes, 0, 0};
    pqf__json_doc_init(&src->page_doc, &jl);
    pqf__json *root;
    if (pqf__json_parse(&src->page_doc, in->buf + in->pos, in->len - in->pos, &root) != PQF_OK) {
        pqf_err rc = pqf_error_set(err, PQF_ERR_PARSE, "%s: %s", src->name, src->page_doc.err.msg);
        pqf__json_doc_free(&src->page_doc); /* not an array page yet: free would not see it */
        return rc;
    }
    src->array_page = true;
    src->next_elem = root->child;
    return PQF_OK;
}

/* Resolve the change-capture columns (source/changes.c) and mark the
 * generated ones, which the input does not carry. */
static pqf_err open_changes(pqf_source *src, const pqf_change_opts *co, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    src->cc = true;
    src->wm_field = src->del_field = src->cre_field = -1;
    for (int k = 0; k < 8; k++)
        src->key_field[k] = -1;
    PQF_TRY(pqf__cc_init(&src->chg, src->schema, co, err));
    src->nodes[src->chg.op_node].generated = true;
    src->nodes[src->chg.seq_node].generated = true;
    src->nodes[src->chg.ts_node].generated = true;
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
            if (id == src->chg.wm_node)
                src->wm_field = (int)i;
            for (int k = 0; k < src->chg.nkey; k++)
                if (id == src->chg.key_node[k])
                    src->key_field[k] = (int)i;
            if (id == src->chg.del_node)
                src->del_field = (int)i;
            if (id == src->chg.cre_node)
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
    pqf__cc_watermarks(&src->chg, min, max);
}

uint64_t pqf_source_skipped(const pqf_source *src) { return src->chg.skipped; }
uint64_t pqf_source_duplicates(const pqf_source *src) { return src->chg.duplicates; }

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
            free(src->nodes[i].seen);
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
    pqf__buf_free(&src->sbuf);
    pqf__buf_free(&src->kbuf);
    if (src->cc)
        pqf__cc_free(&src->chg);
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

static pqf_err source_open(const char *path, const void *mem, size_t mem_len, const char *name,
                           bool tree, const pqf_schema *schema, const pqf_source_opts *opts,
                           pqf__source_tap tap, void *tap_ud, pqf_source **out, pqf_error *err);

pqf_err pqf_source_open(const char *path, const pqf_schema *schema, const pqf_source_opts *opts,
                        pqf_source **out, pqf_error *err)
{
    return source_open(path, NULL, 0, NULL, getenv("PQF_NDJSON_TREE") != NULL, schema, opts, NULL,
                       NULL, out, err);
}

pqf_err pqf__source_open_tap(const char *path, const pqf_schema *schema,
                             const pqf_source_opts *opts, pqf__source_tap tap, void *tap_ud,
                             pqf_source **out, pqf_error *err)
{
    return source_open(path, NULL, 0, NULL, getenv("PQF_NDJSON_TREE") != NULL, schema, opts, tap,
                       tap_ud, out, err);
}

pqf_err pqf__source_open_mem(const void *data, size_t len, const char *name, bool tree,
                             const pqf_schema *schema, const pqf_source_opts *opts,
                             pqf_source **out, pqf_error *err)
{
    return source_open(NULL, data, len, name, tree, schema, opts, NULL, NULL, out, err);
}

/* PQF_NDJSON_TREE (any value) selects the tree path for NDJSON lines: the
 * reference the streaming shredder is tested against. */
static pqf_err source_open(const char *path, const void *mem, size_t mem_len, const char *name,
                           bool tree, const pqf_schema *schema, const pqf_source_opts *opts,
                           pqf__source_tap tap, void *tap_ud, pqf_source **out, pqf_error *err)
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
    if (tap && src->fmt == PQF_FORMAT_CSV)
        PQF_FAIL(err, PQF_ERR_INTERNAL, "%s: a read tap is for NDJSON input", path);
    src->tap = tap;
    src->tap_ud = tap_ud;
    src->ignore_unknown = opts->ignore_unknown;
    src->next_line = 1;
    pqf__json_limits jl = {opts->max_depth, opts->max_string_bytes, 0, 0};
    pqf__json_doc_init(&src->doc, &jl);
    src->max_depth = src->doc.lim.max_depth;
    src->max_string = src->doc.lim.max_string;
    pqf__buf_init(&src->sbuf, src->max_string + 8);
    pqf__buf_init(&src->kbuf, src->max_string + 8);
    pqf__buf_init(&src->tmp, opts->max_record_bytes ? opts->max_record_bytes * 2 : 128u << 20);
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
        PQF_TRY(pqf__csv_open(path, mem, mem_len, name, &opts->csv, buffer, maxrec, opts->max_fields,
                              &src->csv, err));
        src->name = src->csv->in.name;
        PQF_TRY(map_csv_columns(src, err));
    } else {
        PQF_TRY(pqf__input_open(&src->in, path, mem, mem_len, name, buffer, maxrec, err));
        src->in_open = true;
        src->name = src->in.name;
        PQF_TRY(nd_fill(src, 0, err));
        if (src->in.len >= 3 && memcmp(src->in.buf, "\xEF\xBB\xBF", 3) == 0)
            src->in.pos = 3;
        PQF_TRY(open_array_page(src, opts, err));
        /* a mapping rewrites the record as a tree first: the tree path */
        src->stream = !src->array_page && !src->cc && !src->map && !tree;
    }
    if (opts->changes && src->fmt == PQF_FORMAT_CSV)
        PQF_TRY(open_changes_csv(src, err));
    *out = src;
    src = NULL;
done:
    pqf_source_free(src);
    return rc;
}
