/* Table definitions from a feed's schema files, and values as the Parquet
 * row reader renders them in JSON turned into typed values for the sinks
 * (for the columns src/consume/colread.c does not read directly). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "consume/sink.h"
#include "pqfeed/source.h"
#include "source/json.h"

void pqf__tdef_free(pqf__tdef *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ncols; i++)
        free(t->cols[i].name);
    free(t->cols);
    free(t->keys);
    free(t->table);
    free(t->schema_json);
    free(t);
}

pqf_err pqf__sql_ident(pqf__buf *b, const char *name)
{
    pqf_err rc = PQF_OK;
    PQF_TRY(pqf__buf_append_byte(b, '"'));
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            PQF_TRY(pqf__buf_append_byte(b, '"'));
        PQF_TRY(pqf__buf_append_byte(b, (uint8_t)*p));
    }
    PQF_TRY(pqf__buf_append_byte(b, '"'));
done:
    return rc;
}

pqf_err pqf__sql_col_list(pqf__buf *b, const pqf__tdef *t)
{
    pqf_err rc = PQF_OK;
    for (size_t i = 0; i < t->ncols; i++) {
        PQF_TRY(pqf__buf_printf(b, "%s", i ? ", " : ""));
        PQF_TRY(pqf__sql_ident(b, t->cols[i].name));
    }
done:
    return rc;
}

pqf_err pqf__sql_key_list(pqf__buf *b, const pqf__tdef *t, const char *prefix)
{
    pqf_err rc = PQF_OK;
    for (size_t k = 0; k < t->nkeys; k++) {
        PQF_TRY(pqf__buf_printf(b, "%s%s", k ? ", " : "", prefix));
        PQF_TRY(pqf__sql_ident(b, t->cols[t->keys[k]].name));
    }
done:
    return rc;
}

pqf_err pqf__sql_col_defs(pqf__buf *b, const pqf__tdef *t, pqf__sql_type_fn type)
{
    pqf_err rc = PQF_OK;
    char tb[64];
    for (size_t i = 0; i < t->ncols; i++) {
        PQF_TRY(pqf__buf_printf(b, "%s", i ? ", " : ""));
        PQF_TRY(pqf__sql_ident(b, t->cols[i].name));
        PQF_TRY(pqf__buf_printf(b, " %s%s", type(&t->cols[i], tb, sizeof tb),
                                t->cols[i].nullable ? "" : " NOT NULL"));
    }
done:
    return rc;
}

pqf_err pqf__sql_primary_key(pqf__buf *b, const pqf__tdef *t)
{
    pqf_err rc = PQF_OK;
    if (!t->nkeys)
        return PQF_OK;
    PQF_TRY(pqf__buf_printf(b, ", PRIMARY KEY ("));
    PQF_TRY(pqf__sql_key_list(b, t, ""));
    PQF_TRY(pqf__buf_printf(b, ")"));
done:
    return rc;
}

pqf_err pqf__sql_add_column(pqf__buf *b, const pqf__tdef *t, size_t i, pqf__sql_type_fn type)
{
    pqf_err rc = PQF_OK;
    char tb[64];
    PQF_TRY(pqf__buf_printf(b, "ALTER TABLE "));
    PQF_TRY(pqf__sql_ident(b, t->table));
    PQF_TRY(pqf__buf_printf(b, " ADD COLUMN "));
    PQF_TRY(pqf__sql_ident(b, t->cols[i].name));
    PQF_TRY(pqf__buf_printf(b, " %s", type(&t->cols[i], tb, sizeof tb)));
done:
    return rc;
}

static int unit_digits(pqf_time_unit u)
{
    return u == PQF_MILLIS ? 3 : u == PQF_MICROS ? 6 : 9;
}

pqf_err pqf__col_from_info(const pqf_node_info *nip, pqf__col *c, pqf_error *err)
{
    pqf_node_info ni = *nip;
    c->nullable = ni.repetition != PQF_REQUIRED;
    if (ni.is_group || ni.repetition == PQF_REPEATED) {
        c->kind = PQF__C_NESTED;
        return PQF_OK;
    }
    const pqf_logical *lt = &ni.logical;
    switch (lt->kind) {
    case PQF_LT_STRING:
    case PQF_LT_ENUM:
        c->kind = PQF__C_TEXT;
        return PQF_OK;
    case PQF_LT_JSON:
        c->kind = PQF__C_JSON;
        return PQF_OK;
    case PQF_LT_UUID:
        c->kind = PQF__C_UUID;
        return PQF_OK;
    case PQF_LT_DATE:
        c->kind = PQF__C_DATE;
        return PQF_OK;
    case PQF_LT_TIME:
        c->kind = PQF__C_TIME;
        c->digits = unit_digits(lt->unit);
        return PQF_OK;
    case PQF_LT_TIMESTAMP:
        c->kind = PQF__C_TIMESTAMP;
        c->digits = unit_digits(lt->unit);
        c->utc = lt->utc;
        return PQF_OK;
    case PQF_LT_DECIMAL:
        c->kind = PQF__C_DECIMAL;
        c->precision = lt->precision;
        c->scale = lt->scale;
        return PQF_OK;
    case PQF_LT_INT:
        c->bits = lt->bit_width;
        c->is_unsigned = !lt->is_signed;
        c->kind = (c->is_unsigned && c->bits == 64) ? PQF__C_UINT64 : PQF__C_INT;
        return PQF_OK;
    default:
        break;
    }
    switch (ni.physical) {
    case PQF_BOOLEAN:
        c->kind = PQF__C_BOOL;
        return PQF_OK;
    case PQF_INT32:
    case PQF_INT64:
        c->kind = PQF__C_INT;
        c->bits = ni.physical == PQF_INT32 ? 32 : 64;
        return PQF_OK;
    case PQF_FLOAT:
        c->kind = PQF__C_FLOAT;
        return PQF_OK;
    case PQF_DOUBLE:
        c->kind = PQF__C_DOUBLE;
        return PQF_OK;
    case PQF_BYTE_ARRAY:
    case PQF_FIXED_LEN_BYTE_ARRAY:
        c->kind = PQF__C_BINARY;
        return PQF_OK;
    default:
        return pqf_error_set(err, PQF_ERR_UNSUPPORTED, "column '%s': type %s has no sink type",
                             ni.name, pqf_physical_name(ni.physical));
    }
}

pqf_err pqf__tdef_from_schema_json(const char *table, int version, const char *text, size_t len,
                                   const char *name, pqf__tdef **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_schema *s = NULL;
    pqf__json_doc doc;
    pqf__json *root = NULL;
    pqf__tdef *t = calloc(1, sizeof *t);
    pqf__json_doc_init(&doc, NULL);
    *out = NULL;
    if (!t || !(t->table = strdup(table)))
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    t->schema_version = version;
    if (!(t->schema_json = malloc(len + 1)))
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    memcpy(t->schema_json, text, len);
    t->schema_json[len] = 0;
    t->schema_len = len;
    PQF_TRY(pqf_schema_from_json(text, len, name, &s, err));
    pqf_node_info root_info;
    if (pqf_schema_node(s, 0, &root_info) != PQF_OK || root_info.nchildren > PQF__MAX_COLS)
        PQF_FAIL(err, PQF_ERR_LIMIT, "%s: more than %d top-level columns", name, PQF__MAX_COLS);
    t->cols = calloc((size_t)root_info.nchildren + 1, sizeof *t->cols);
    if (!t->cols)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < root_info.nchildren; i++) {
        int node = pqf_schema_child(s, 0, i);
        pqf_node_info ni;
        pqf_schema_node(s, node, &ni);
        pqf__col *c = &t->cols[t->ncols];
        if (!(c->name = strdup(ni.name)))
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        t->ncols++;
        PQF_TRY(pqf__col_from_info(&ni, c, err));
    }
    /* The key: the top-level "key" array the feed adds to the schema file. */
    rc = pqf__json_parse(&doc, text, len, &root);
    if (rc != PQF_OK)
        PQF_FAIL(err, rc, "%s: %s", name, doc.err.msg);
    const pqf__json *key = pqf__json_get(root, "key");
    if (key && key->type != PQF__JNULL) {
        if (key->type != PQF__JARR)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: \"key\" is not an array", name);
        t->keys = calloc(key->len + 1, sizeof *t->keys);
        if (!t->keys)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        for (const pqf__json *k = key->child; k; k = k->next) {
            if (k->type != PQF__JSTR)
                PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: \"key\" holds a %s, not a column name", name,
                         pqf__json_type_name(k->type));
            size_t j = 0;
            while (j < t->ncols && strcmp(t->cols[j].name, k->str) != 0)
                j++;
            if (j == t->ncols)
                PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: key column '%s' is not a top-level column", name,
                         k->str);
            if (t->cols[j].kind == PQF__C_NESTED)
                PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: key column '%s' is nested", name, k->str);
            if (t->cols[j].key)
                PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: key column '%s' is named twice", name, k->str);
            t->cols[j].key = true;
            t->keys[t->nkeys++] = j;
        }
    }
    *out = t;
    t = NULL;
done:
    pqf__json_doc_free(&doc);
    pqf_schema_free(s);
    pqf__tdef_free(t);
    return rc;
}

/* ---- values ------------------------------------------------------------------------ */

/* "YYYY-MM-DDTHH:MM:SS[.f][Z]" with exactly `digits` fraction digits, so that
 * text order is time order in sinks that keep the text (SQLite). */
static pqf_err norm_timestamp(pqf__buf *b, const char *s, size_t n, int digits)
{
    pqf_err rc = PQF_OK;
    size_t z = n;
    bool utc = n && s[n - 1] == 'Z';
    if (utc)
        z = n - 1;
    const char *dot = memchr(s, '.', z);
    size_t whole = dot ? (size_t)(dot - s) : z;
    size_t frac = dot ? z - whole - 1 : 0;
    if ((int)frac > digits)
        return PQF_ERR_VALUE;
    PQF_TRY(pqf__buf_append(b, s, whole));
    PQF_TRY(pqf__buf_append_byte(b, '.'));
    if (frac)
        PQF_TRY(pqf__buf_append(b, dot + 1, frac));
    for (int i = (int)frac; i < digits; i++)
        PQF_TRY(pqf__buf_append_byte(b, '0'));
    if (utc)
        PQF_TRY(pqf__buf_append_byte(b, 'Z'));
done:
    return rc;
}

typedef pqf__span span;

static pqf_err put_text(pqf__buf *b, const char *s, size_t n, span *sp)
{
    sp->off = b->len;
    sp->n = n;
    sp->set = true;
    return pqf__buf_append(b, s, n);
}

static pqf_err bad_value(pqf_error *err, const pqf__col *c, const char *why)
{
    return pqf_error_set(err, PQF_ERR_VALUE, "column '%s': %s", c->name, why);
}

pqf_err pqf__json_to_val(const pqf__col *c, const pqf__json *v, pqf__buf *b, pqf__val *out,
                         pqf__span *sp, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    memset(out, 0, sizeof *out);
    sp->set = false;
    if (!v || v->type == PQF__JNULL) {
        out->t = PQF__V_NULL;
        return PQF_OK;
    }
    switch (c->kind) {
    case PQF__C_INT:
    case PQF__C_UINT64: {
        if (v->type != PQF__JNUM)
            return bad_value(err, c, "expected an integer");
        char num[32];
        if (v->len >= sizeof num)
            return bad_value(err, c, "integer too long");
        memcpy(num, v->str, v->len);
        num[v->len] = 0;
        errno = 0;
        char *end;
        long long x = strtoll(num, &end, 10);
        if (*end)
            return bad_value(err, c, "expected an integer");
        if (errno == ERANGE) { /* uint64 beyond int64: keep the exact text */
            out->t = PQF__V_TEXT;
        } else {
            out->t = PQF__V_INT;
            out->i = x;
        }
        PQF_TRY(put_text(b, v->str, v->len, sp));
        break;
    }
    case PQF__C_FLOAT:
    case PQF__C_DOUBLE: {
        if (v->type != PQF__JNUM && v->type != PQF__JSTR)
            return bad_value(err, c, "expected a number");
        char num[64];
        if (v->len >= sizeof num)
            return bad_value(err, c, "number too long");
        memcpy(num, v->str, v->len);
        num[v->len] = 0;
        char *end;
        out->d = strtod(num, &end);
        if (*end)
            return bad_value(err, c, "expected a number");
        out->t = PQF__V_DOUBLE;
        PQF_TRY(put_text(b, v->str, v->len, sp));
        break;
    }
    case PQF__C_BOOL:
        if (v->type != PQF__JBOOL)
            return bad_value(err, c, "expected true or false");
        out->t = PQF__V_BOOL;
        out->i = v->b;
        break;
    case PQF__C_DECIMAL:
        if (v->type != PQF__JNUM)
            return bad_value(err, c, "expected a decimal number");
        out->t = PQF__V_TEXT;
        PQF_TRY(put_text(b, v->str, v->len, sp));
        break;
    case PQF__C_TIMESTAMP:
        if (v->type != PQF__JSTR)
            return bad_value(err, c, "expected a timestamp");
        out->t = PQF__V_TEXT;
        sp->off = b->len;
        rc = norm_timestamp(b, v->str, v->len, c->digits);
        if (rc == PQF_ERR_VALUE)
            return bad_value(err, c, "malformed timestamp");
        PQF_TRY(rc);
        sp->n = b->len - sp->off;
        sp->set = true;
        break;
    case PQF__C_TEXT:
    case PQF__C_UUID:
    case PQF__C_DATE:
    case PQF__C_TIME:
    case PQF__C_JSON:
        if (v->type != PQF__JSTR)
            return bad_value(err, c, "expected a string");
        out->t = PQF__V_TEXT;
        PQF_TRY(put_text(b, v->str, v->len, sp));
        break;
    case PQF__C_NESTED:
        out->t = PQF__V_TEXT;
        sp->off = b->len;
        PQF_TRY(pqf__json_write(b, v));
        sp->n = b->len - sp->off;
        sp->set = true;
        break;
    case PQF__C_BINARY:
        if (v->type != PQF__JSTR)
            return bad_value(err, c, "expected base64 text");
        out->t = PQF__V_BLOB;
        sp->off = b->len;
        rc = pqf__buf_append_base64(b, v->str, v->len);
        if (rc == PQF_ERR_VALUE)
            return bad_value(err, c, "malformed base64");
        PQF_TRY(rc);
        sp->n = b->len - sp->off;
        sp->set = true;
        break;
    }
done:
    if (rc != PQF_OK && rc != PQF_ERR_VALUE)
        pqf_error_set(err, rc, "column '%s': %s", c->name, pqf_strerror(rc));
    return rc;
}
