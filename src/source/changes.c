/* Change capture shared by the file and database sources (changes.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "source/changes.h"

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

/* A plain top-level column named name[0..n), or -1. */
static int top_leaf(const pqf_schema *s, const char *name, size_t n, bool *group)
{
    pqf_node_info root, ci;
    *group = false;
    if (pqf_schema_node(s, 0, &root) != PQF_OK)
        return -1;
    for (int i = 0; i < root.nchildren; i++) {
        int c = pqf_schema_child(s, 0, i);
        if (pqf_schema_node(s, c, &ci) != PQF_OK)
            continue;
        if (strlen(ci.name) == n && memcmp(ci.name, name, n) == 0) {
            *group = ci.is_group;
            return c;
        }
    }
    return -1;
}

static pqf_err parse_bound(pqf__cc *cc, const char *text, const char *what, pqf__val *dst,
                           pqf__buf *store, pqf_error *err)
{
    pqf__val v;
    const char *why = pqf__value_parse(&cc->wm_conv, text, strlen(text), &v);
    if (why)
        return pqf_error_set(err, PQF_ERR_VALUE, "%s '%s' of '%s' does not parse: %s", what, text,
                             cc->wm_name, why);
    if (val_keep(dst, store, &cc->wm_conv, &v) != PQF_OK)
        return pqf_error_set(err, PQF_ERR_LIMIT, "%s '%.40s...' is too long", what, text);
    return PQF_OK;
}

pqf_err pqf__cc_init(pqf__cc *cc, const pqf_schema *schema, const pqf_change_opts *co,
                     pqf_error *err)
{
    pqf_err rc = PQF_OK;
    memset(cc, 0, sizeof *cc);
    pqf__buf_init(&cc->after_bytes, 1u << 20);
    pqf__buf_init(&cc->floor_bytes, 1u << 20);
    pqf__buf_init(&cc->keybuf, 1u << 20);
    pqf__buf_init(&cc->wm_min_bytes, 1u << 20);
    pqf__buf_init(&cc->wm_max_bytes, 1u << 20);
    pqf__buf_init(&cc->wm_min_text, 1u << 20);
    pqf__buf_init(&cc->wm_max_text, 1u << 20);
    cc->co = co;
    cc->seq_next = co->seq_base;
    struct {
        const char *name;
        int *node;
    } cols[] = {{co->watermark, &cc->wm_node}, {co->delete_column, &cc->del_node},
                {co->created_column, &cc->cre_node}, {"_op", &cc->op_node},
                {"_seq", &cc->seq_node}, {"_ts", &cc->ts_node}};
    for (const char *k = co->key; k && *k;) {
        size_t n = strcspn(k, ",");
        bool group = false;
        if (cc->nkey == 8)
            PQF_FAIL(err, PQF_ERR_INVALID_ARG, "change capture: at most 8 key columns");
        int id = top_leaf(schema, k, n, &group);
        if (id < 0 || group)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "change capture: key column '%.*s' is not a plain "
                     "top-level column of the schema", (int)n, k);
        cc->key_node[cc->nkey++] = id;
        k += n + (k[n] == ',');
    }
    if (!co->watermark)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "change capture needs a watermark column");
    for (size_t k = 0; k < PQF_ARRAY_LEN(cols); k++) {
        bool group = false;
        *cols[k].node = -1;
        if (!cols[k].name)
            continue;
        *cols[k].node = top_leaf(schema, cols[k].name, strlen(cols[k].name), &group);
        if (*cols[k].node < 0)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "change capture: column '%s' is not in the schema",
                     cols[k].name);
        if (group)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "change capture: column '%s' must be a plain column",
                     cols[k].name);
    }
    cc->wm_name = co->watermark;
    {
        pqf_node_info wi;
        PQF_TRY(pqf_schema_node(schema, cc->wm_node, &wi));
        const char *why = pqf__conv_init(&cc->wm_conv, &wi);
        if (why)
            PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "column '%s': %s", co->watermark, why);
    }
    if (co->after) {
        PQF_TRY(parse_bound(cc, co->after, "the last exported watermark", &cc->after,
                            &cc->after_bytes, err));
        cc->has_after = true;
    }
    if (co->floor) {
        PQF_TRY(parse_bound(cc, co->floor, "watermark floor", &cc->floor, &cc->floor_bytes, err));
        cc->has_floor = true;
        cc->floor_text = co->floor;
    }
done:
    if (rc != PQF_OK)
        pqf__cc_free(cc);
    return rc;
}

void pqf__cc_free(pqf__cc *cc)
{
    if (!cc)
        return;
    pqf__buf_free(&cc->after_bytes);
    pqf__buf_free(&cc->floor_bytes);
    pqf__buf_free(&cc->keybuf);
    pqf__buf_free(&cc->wm_min_bytes);
    pqf__buf_free(&cc->wm_max_bytes);
    pqf__buf_free(&cc->wm_min_text);
    pqf__buf_free(&cc->wm_max_text);
}

void pqf__cc_key_reset(pqf__cc *cc)
{
    pqf__buf_reset(&cc->keybuf);
}

pqf_err pqf__cc_key_part(pqf__cc *cc, int k, const char *s, size_t n, bool present)
{
    if (!present) {
        const char *name = cc->co->key;
        for (int i = 0; i < k && name; i++) {
            name = strchr(name, ',');
            name = name ? name + 1 : NULL;
        }
        return pqf_error_set(&cc->err, PQF_ERR_VALUE, "key column '%.*s' is missing or null",
                             name ? (int)strcspn(name, ",") : 0, name ? name : "");
    }
    pqf_err rc = PQF_OK;
    if (k)
        rc = pqf__buf_append_byte(&cc->keybuf, 0x1f);
    if (rc == PQF_OK)
        rc = pqf__buf_append(&cc->keybuf, s, n);
    return rc == PQF_OK ? PQF_OK : pqf_error_set(&cc->err, rc, "key too long");
}

pqf_err pqf__cc_filter(pqf__cc *cc, const char *wm, size_t n, bool present, bool *skip,
                       const char **why)
{
    const pqf_change_opts *co = cc->co;
    pqf__val v;
    *skip = false;
    *why = NULL;
    if (!present)
        return pqf_error_set(&cc->err, PQF_ERR_VALUE, "the watermark column '%s' is missing or null",
                             cc->wm_name);
    *why = pqf__value_parse(&cc->wm_conv, wm, n, &v);
    if (*why)
        return PQF_ERR_VALUE;
    if (cc->has_after && pqf__val_cmp(&cc->wm_conv, &v, &cc->after) <= 0) {
        *skip = true;
        cc->skipped++;
        return PQF_OK;
    }
    if (co->seen && co->seen(co->seen_ud, (const char *)cc->keybuf.data, cc->keybuf.len, wm, n)) {
        *skip = true;
        cc->duplicates++;
        return PQF_OK;
    }
    int shown = n > 60 ? 60 : (int)n;
    if (cc->has_floor && pqf__val_cmp(&cc->wm_conv, &v, &cc->floor) < 0)
        return pqf_error_set(&cc->err, PQF_ERR_VALUE,
                             "watermark '%s' goes backwards: %.*s is older than %s, already seen "
                             "in an earlier page",
                             cc->wm_name, shown, wm, cc->floor_text);
    if (cc->ordered && cc->have_wm && pqf__val_cmp(&cc->wm_conv, &v, &cc->wm_max) < 0)
        return pqf_error_set(&cc->err, PQF_ERR_VALUE,
                             "watermark '%s' goes backwards: %.*s is older than %s, read in an "
                             "earlier row (the database orders the column otherwise than its "
                             "values: mixed spellings or types?)",
                             cc->wm_name, shown, wm, (const char *)cc->wm_max_text.data);
    pqf_err rc = PQF_OK;
    if (!cc->have_wm || pqf__val_cmp(&cc->wm_conv, &v, &cc->wm_min) < 0) {
        rc = val_keep(&cc->wm_min, &cc->wm_min_bytes, &cc->wm_conv, &v);
        if (rc == PQF_OK)
            rc = keep_text(&cc->wm_min_text, wm, n);
    }
    if (rc == PQF_OK && (!cc->have_wm || pqf__val_cmp(&cc->wm_conv, &v, &cc->wm_max) > 0)) {
        rc = val_keep(&cc->wm_max, &cc->wm_max_bytes, &cc->wm_conv, &v);
        if (rc == PQF_OK)
            rc = keep_text(&cc->wm_max_text, wm, n);
    }
    cc->have_wm = true;
    if (rc != PQF_OK)
        return pqf_error_set(&cc->err, rc, "watermark value too large");
    return PQF_OK;
}

bool pqf__cc_truthy(const char *s, size_t n)
{
    bool b = false;
    return pqf__parse_bool(s, n, &b) && b;
}

char pqf__cc_op(const pqf__cc *cc, const char *wm, size_t n, const char *created, size_t cn,
                bool created_present, bool deleted)
{
    if (cc->del_node > 0 && deleted)
        return 'D';
    if (cc->cre_node > 0 && created_present && cn == n && memcmp(created, wm, n) == 0)
        return 'I';
    return 'U';
}

pqf_err pqf__cc_write(pqf__cc *cc, pqf_writer *w, char op, const char *wm, size_t n)
{
    char ops[1] = {op};
    pqf_err rc = pqf_writer_bytes(w, cc->op_node, ops, 1);
    if (rc == PQF_OK)
        rc = pqf_writer_i64(w, cc->seq_node, ++cc->seq_next);
    if (rc == PQF_OK) {
        pqf__val v;
        if (cc->wm_conv.kind == PQF__V_TIMESTAMP && !pqf__value_parse(&cc->wm_conv, wm, n, &v)) {
            int64_t us = v.u.i64;
            if (cc->wm_conv.unit == PQF_MILLIS)
                us *= 1000;
            else if (cc->wm_conv.unit == PQF_NANOS)
                us /= 1000;
            rc = pqf_writer_i64(w, cc->ts_node, us);
        } else {
            rc = pqf_writer_null(w, cc->ts_node);
        }
    }
    return rc;
}

void pqf__cc_watermarks(const pqf__cc *cc, const char **min, const char **max)
{
    *min = cc->have_wm ? (const char *)cc->wm_min_text.data : NULL;
    *max = cc->have_wm ? (const char *)cc->wm_max_text.data : NULL;
}
