/* Database sources, the part shared by the drivers: the default schema of a
 * described result, mapping onto a target schema, value conversion with
 * range checks, watermarks, errors and the public entry points.
 *
 * Values arrive typed (binary COPY, sqlite3_column_*), so the common cases
 * (an int4 into an INT32 column, a timestamptz into TIMESTAMP(MICROS, UTC))
 * are a switch and a writer call. Any other pairing (a user's schema file
 * asking for a string where the database has an integer, a SQLite TEXT in an
 * INTEGER column) goes through the value's text and the same parsers the CSV
 * reader uses (source/value.h), so the rules and messages are the same. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "source/dbsource.h"

#define DEFAULT_MAX_ROW (256u << 20)
#define TEXT_CAP (1u << 30)

void pqf_dbsource_opts_init(pqf_dbsource_opts *o)
{
    memset(o, 0, sizeof *o);
    o->isolation = PQF_DB_REPEATABLE_READ;
    o->numeric_scale = 9;
    o->max_row_bytes = DEFAULT_MAX_ROW;
}

/* ---- construction --------------------------------------------------------------- */

pqf_err pqf__db_new(const pqf__dbdriver *drv, const pqf_dbsource_opts *o, pqf_dbsource **out,
                    pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_dbsource *src = NULL;
    *out = NULL;
    if ((o->table == NULL) == (o->query == NULL))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: give exactly one of a table and a query",
                 drv->name);
    if ((o->table && !*o->table) || (o->query && !*o->query))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: empty table name or query", drv->name);
    if (o->numeric_scale < 0 || o->numeric_scale > 38)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: numeric_scale %d is not in 0..38", drv->name,
                 o->numeric_scale);
    if (o->watermark_after && !o->watermark_column)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: watermark_after needs watermark_column", drv->name);
    src = calloc(1, sizeof *src);
    if (!src)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    src->drv = drv;
    src->wm_col = -1;
    src->numeric_scale = o->numeric_scale;
    src->numeric_as_string = o->numeric_as_string;
    src->max_row_bytes = o->max_row_bytes ? o->max_row_bytes : DEFAULT_MAX_ROW;
    for (int i = 0; i < 2; i++) {
        pqf__buf_init(&src->wm_raw[i], src->max_row_bytes);
        pqf__buf_init(&src->wm_text[i], TEXT_CAP);
    }
    pqf__buf_init(&src->tmp, TEXT_CAP);
    pqf__buf_init(&src->cc_wm, src->max_row_bytes);
    pqf__buf_init(&src->cc_cre_text, src->max_row_bytes);
    pqf__buf_init(&src->cc_part, src->max_row_bytes);
    pqf__json_doc_init(&src->doc, NULL);
    {
        const char *what = o->table ? "table " : "query";
        const char *name = o->table ? o->table : "";
        size_t len = strlen(drv->name) + strlen(what) + strlen(name) + 2;
        src->label = malloc(len);
        if (!src->label)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        snprintf(src->label, len, "%s %s%s", drv->name, what, name);
    }
    *out = src;
    src = NULL;
done:
    pqf_dbsource_free(src);
    return rc;
}

int pqf__db_add_col(pqf_dbsource *src, const char *name, pqf__dbtype type, int precision, int scale,
                    bool is_list, bool notnull, const char *type_name)
{
    pqf__dbcol *c = realloc(src->cols, (size_t)(src->ncols + 1) * sizeof *c);
    if (!c)
        return -1;
    src->cols = c;
    c = &src->cols[src->ncols];
    memset(c, 0, sizeof *c);
    c->name = strdup(name);
    if (!c->name)
        return -1;
    c->type = type;
    c->precision = precision;
    c->scale = scale;
    c->is_list = is_list;
    c->notnull = notnull;
    c->node = -1;
    c->leaf = -1;
    snprintf(c->type_name, sizeof c->type_name, "%s", type_name ? type_name : "");
    return src->ncols++;
}

/* ---- the described schema ------------------------------------------------------- */

/* Fewest bytes whose two's complement holds every value of `precision` digits. */
static int decimal_bytes(int precision)
{
    unsigned __int128 p = 1, lim = 128;
    int n = 1;
    for (int i = 0; i < precision; i++)
        p *= 10;
    while (lim < p && n < 16) {
        n++;
        lim <<= 8;
    }
    return n;
}

static int add_leaf(pqf_schema *s, int parent, const char *name, pqf_repetition rep,
                    const pqf__dbcol *c, pqf_error *err)
{
    pqf_logical lt = {0};
    pqf_physical ph = PQF_BYTE_ARRAY;
    int32_t len = 0;
    switch (c->type) {
    case PQF__DBT_BOOL:
        ph = PQF_BOOLEAN;
        break;
    case PQF__DBT_INT16:
        ph = PQF_INT32;
        lt.kind = PQF_LT_INT;
        lt.bit_width = 16;
        lt.is_signed = true;
        break;
    case PQF__DBT_INT32:
        ph = PQF_INT32;
        break;
    case PQF__DBT_INT64:
        ph = PQF_INT64;
        break;
    case PQF__DBT_FLOAT:
        ph = PQF_FLOAT;
        break;
    case PQF__DBT_DOUBLE:
        ph = PQF_DOUBLE;
        break;
    case PQF__DBT_DECIMAL:
        lt.kind = PQF_LT_DECIMAL;
        lt.precision = c->precision;
        lt.scale = c->scale;
        if (c->precision <= 9) {
            ph = PQF_INT32;
        } else if (c->precision <= 18) {
            ph = PQF_INT64;
        } else {
            ph = PQF_FIXED_LEN_BYTE_ARRAY;
            len = decimal_bytes(c->precision);
        }
        break;
    case PQF__DBT_TEXT:
        lt.kind = PQF_LT_STRING;
        break;
    case PQF__DBT_JSON:
        lt.kind = PQF_LT_JSON;
        break;
    case PQF__DBT_BYTES:
        break;
    case PQF__DBT_DATE:
        ph = PQF_INT32;
        lt.kind = PQF_LT_DATE;
        break;
    case PQF__DBT_TIME:
        ph = PQF_INT64;
        lt.kind = PQF_LT_TIME;
        lt.unit = PQF_MICROS;
        break;
    case PQF__DBT_TIMESTAMP:
    case PQF__DBT_TIMESTAMPTZ:
        ph = PQF_INT64;
        lt.kind = PQF_LT_TIMESTAMP;
        lt.unit = PQF_MICROS;
        lt.utc = c->type == PQF__DBT_TIMESTAMPTZ;
        break;
    case PQF__DBT_UUID:
        ph = PQF_FIXED_LEN_BYTE_ARRAY;
        len = 16;
        lt.kind = PQF_LT_UUID;
        break;
    }
    return pqf_schema_add_column(s, parent, name, rep, ph, len, &lt, -1, err);
}

static pqf_err build_own(pqf_dbsource *src, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_schema *s = pqf_schema_create();
    if (!s)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    if (src->ncols == 0)
        PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: the result has no columns", src->label);
    for (int i = 0; i < src->ncols; i++) {
        const pqf__dbcol *c = &src->cols[i];
        pqf_repetition rep = c->notnull ? PQF_REQUIRED : PQF_OPTIONAL;
        int id;
        if (c->is_list) {
            id = pqf_schema_add_list(s, 0, c->name, rep, -1, err);
            if (id >= 0)
                id = add_leaf(s, id, "element", PQF_OPTIONAL, c, err);
        } else {
            id = add_leaf(s, 0, c->name, rep, c, err);
        }
        if (id < 0) {
            rc = err->code ? err->code : PQF_ERR_SCHEMA;
            pqf_error_prefix(err, "%s: column '%s' (%s): ", src->label, c->name, c->type_name);
            goto done;
        }
    }
    PQF_TRY(pqf_schema_finish(s, err));
    src->own = s;
    s = NULL;
done:
    pqf_schema_free(s);
    return rc;
}

/* ---- binding onto the target schema --------------------------------------------- */

static pqf_err bind_col(pqf_dbsource *src, pqf__dbcol *c, int node, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    const pqf_schema *s = src->schema;
    pqf_node_info in;
    PQF_TRY(pqf_schema_node(s, node, &in));
    c->node = node;
    c->required = in.repetition == PQF_REQUIRED;
    c->leaf = node;
    size_t ll = strlen(c->name) + 3;
    c->label = malloc(ll);
    if (!c->label)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    snprintf(c->label, ll, "%s", c->name);
    if (in.is_group) {
        if (in.logical.kind != PQF_LT_LIST)
            PQF_FAIL(err, PQF_ERR_UNSUPPORTED,
                     "%s: column '%s': struct and map columns cannot be read from a database",
                     src->label, c->name);
        if (!c->is_list)
            PQF_FAIL(err, PQF_ERR_SCHEMA,
                     "%s: column '%s' is a list in the schema but %s in the database", src->label,
                     c->name, c->type_name);
        c->leaf = pqf_schema_list_element(s, node);
        PQF_TRY(pqf_schema_node(s, c->leaf, &in));
        if (in.is_group)
            PQF_FAIL(err, PQF_ERR_UNSUPPORTED,
                     "%s: column '%s': only lists of scalars can be read from a database",
                     src->label, c->name);
        c->elem_required = in.repetition == PQF_REQUIRED;
        snprintf(c->label, ll, "%s[]", c->name);
    } else if (c->is_list) {
        PQF_FAIL(err, PQF_ERR_SCHEMA,
                 "%s: column '%s' is an array (%s) in the database but not a list in the schema",
                 src->label, c->name, c->type_name);
    }
    const char *why = pqf__conv_init(&c->conv, &in);
    if (why)
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "%s: column '%s': %s", src->label, c->name, why);
done:
    return rc;
}

pqf_err pqf__db_bind(pqf_dbsource *src, const pqf_dbsource_opts *o, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    PQF_TRY(build_own(src, err));
    src->schema = o->schema ? o->schema : src->own;
    if (o->schema && pqf_schema_leaf_count(o->schema) == 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: the target schema is not finished", src->label);
    for (int i = 0; i < src->ncols; i++) {
        pqf__dbcol *c = &src->cols[i];
        int node = pqf_schema_find_child(src->schema, 0, c->name);
        if (node < 0) {
            if (!o->ignore_unknown)
                PQF_FAIL(err, PQF_ERR_SCHEMA,
                         "%s: column '%s' is not in the schema (ignore_unknown skips it)",
                         src->label, c->name);
            continue;
        }
        for (int j = 0; j < i; j++)
            if (src->cols[j].node == node)
                PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: the result has two columns named '%s'",
                         src->label, c->name);
        PQF_TRY(bind_col(src, c, node, err));
    }
    if (o->schema) {
        pqf_node_info root, in;
        PQF_TRY(pqf_schema_node(o->schema, 0, &root));
        for (int k = 0; k < root.nchildren; k++) {
            int node = pqf_schema_child(o->schema, 0, k);
            bool found = false;
            for (int i = 0; i < src->ncols && !found; i++)
                found = src->cols[i].node == node;
            PQF_TRY(pqf_schema_node(o->schema, node, &in));
            if (!found && in.repetition == PQF_REQUIRED)
                PQF_FAIL(err, PQF_ERR_SCHEMA,
                         "%s: column '%s' is not nullable in the schema but the result has no "
                         "such column",
                         src->label, in.name);
        }
    }
    if (o->watermark_column) {
        for (int i = 0; i < src->ncols && src->wm_col < 0; i++)
            if (strcmp(src->cols[i].name, o->watermark_column) == 0)
                src->wm_col = i;
        if (src->wm_col < 0)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: watermark column '%s' is not a column of the result",
                     src->label, o->watermark_column);
        if (src->cols[src->wm_col].is_list)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: watermark column '%s' is an array", src->label,
                     o->watermark_column);
    }
done:
    return rc;
}

/* ---- text of values ------------------------------------------------------------- */

static pqf_err numeric_text(const uint8_t *p, size_t n, pqf__buf *b)
{
    if (!pqf__pgnumeric_valid(p, n))
        return pqf__buf_printf(b, "<invalid numeric>");
    int nd = (int16_t)(p[0] << 8 | p[1]);
    int weight = (int16_t)(p[2] << 8 | p[3]);
    unsigned sign = (unsigned)(p[4] << 8 | p[5]);
    int dscale = (int16_t)(p[6] << 8 | p[7]);
    const uint8_t *dg = p + 8;
    pqf_err rc = PQF_OK;
    if (sign == 0xC000)
        return pqf__buf_printf(b, "NaN");
    if (sign == 0xD000)
        return pqf__buf_printf(b, "Infinity");
    if (sign == 0xF000)
        return pqf__buf_printf(b, "-Infinity");
    if (sign == 0x4000)
        rc = pqf__buf_append_byte(b, '-');
    if (weight < 0) {
        rc = rc ? rc : pqf__buf_append_byte(b, '0');
    } else {
        for (int i = 0; i <= weight && rc == PQF_OK; i++) {
            int d = i < nd ? (dg[2 * i] << 8 | dg[2 * i + 1]) : 0;
            rc = pqf__buf_printf(b, i == 0 ? "%d" : "%04d", d);
        }
    }
    if (dscale > 0 && rc == PQF_OK) {
        rc = pqf__buf_append_byte(b, '.');
        int written = 0;
        for (int i = weight + 1; written < dscale && rc == PQF_OK; i++) {
            int d = (i >= 0 && i < nd) ? (dg[2 * i] << 8 | dg[2 * i + 1]) : 0;
            char g[4] = {(char)('0' + d / 1000), (char)('0' + d / 100 % 10),
                         (char)('0' + d / 10 % 10), (char)('0' + d % 10)};
            int take = PQF_MIN(4, dscale - written);
            rc = pqf__buf_append(b, g, (size_t)take);
            written += take;
        }
    }
    return rc;
}

static pqf_err double_text(double d, bool is_float, pqf__buf *b)
{
    if (isnan(d))
        return pqf__buf_printf(b, "NaN");
    if (isinf(d))
        return pqf__buf_printf(b, d > 0 ? "Infinity" : "-Infinity");
    char t[64];
    /* the shortest %g spelling that reads back as the same value */
    for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, d);
        if (is_float ? strtof(t, NULL) == (float)d : strtod(t, NULL) == d)
            break;
    }
    return pqf__buf_printf(b, "%s", t);
}

static pqf_err ts_text(int64_t us, bool utc, pqf__buf *b)
{
    int64_t days = us / 86400000000LL, rem = us % 86400000000LL;
    if (rem < 0) {
        rem += 86400000000LL;
        days--;
    }
    int64_t y;
    unsigned m, d;
    pqf__civil_from_days(days, &y, &m, &d);
    int64_t secs = rem / 1000000, frac = rem % 1000000;
    pqf_err rc = pqf__buf_printf(b, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, m, d,
                                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    if (rc == PQF_OK && frac)
        rc = pqf__buf_printf(b, ".%06d", (int)frac);
    if (rc == PQF_OK && utc)
        rc = pqf__buf_append_byte(b, 'Z');
    return rc;
}

pqf_err pqf__dbval_text(const pqf__dbval *v, pqf__buf *b)
{
    switch (v->kind) {
    case PQF__DV_NULL:
        return pqf__buf_printf(b, "NULL");
    case PQF__DV_BOOL:
        return pqf__buf_printf(b, "%s", v->u.b ? "true" : "false");
    case PQF__DV_INT:
        return pqf__buf_printf(b, "%lld", (long long)v->u.i);
    case PQF__DV_DOUBLE:
        return double_text(v->u.d, v->is_float, b);
    case PQF__DV_NUMERIC:
        return numeric_text(v->p, v->n, b);
    case PQF__DV_TEXT:
    case PQF__DV_BYTES:
        return pqf__buf_append(b, v->p, v->n);
    case PQF__DV_DATE: {
        int64_t y;
        unsigned m, d;
        pqf__civil_from_days(v->u.i, &y, &m, &d);
        return pqf__buf_printf(b, "%04lld-%02u-%02u", (long long)y, m, d);
    }
    case PQF__DV_TIME: {
        int64_t us = v->u.i, secs = us / 1000000;
        pqf_err rc = pqf__buf_printf(b, "%02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60),
                                     (int)(secs % 60));
        if (rc == PQF_OK && us % 1000000)
            rc = pqf__buf_printf(b, ".%06d", (int)(us % 1000000));
        return rc;
    }
    case PQF__DV_TS:
        return ts_text(v->u.i, v->utc, b);
    case PQF__DV_UUID: {
        const uint8_t *u = v->p;
        return pqf__buf_printf(
            b, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
            u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
            u[15]);
    }
    }
    return PQF_ERR_INTERNAL;
}

/* ---- PostgreSQL numeric --------------------------------------------------------- */

bool pqf__pgnumeric_valid(const uint8_t *p, size_t n)
{
    if (n < 8)
        return false;
    int nd = (int16_t)(p[0] << 8 | p[1]);
    unsigned sign = (unsigned)(p[4] << 8 | p[5]);
    int dscale = (int16_t)(p[6] << 8 | p[7]);
    if (nd < 0 || n != 8 + 2 * (size_t)nd || dscale < 0)
        return false;
    if (sign != 0 && sign != 0x4000 && sign != 0xC000 && sign != 0xD000 && sign != 0xF000)
        return false;
    for (int i = 0; i < nd; i++)
        if ((p[8 + 2 * i] << 8 | p[9 + 2 * i]) > 9999)
            return false;
    return true;
}

/* 10^0 .. 10^38 */
static const unsigned __int128 p10[39] = {
    (unsigned __int128)1ull,
    (unsigned __int128)10ull,
    (unsigned __int128)100ull,
    (unsigned __int128)1000ull,
    (unsigned __int128)10000ull,
    (unsigned __int128)100000ull,
    (unsigned __int128)1000000ull,
    (unsigned __int128)10000000ull,
    (unsigned __int128)100000000ull,
    (unsigned __int128)1000000000ull,
    (unsigned __int128)10000000000ull,
    (unsigned __int128)100000000000ull,
    (unsigned __int128)1000000000000ull,
    (unsigned __int128)10000000000000ull,
    (unsigned __int128)100000000000000ull,
    (unsigned __int128)1000000000000000ull,
    (unsigned __int128)10000000000000000ull,
    (unsigned __int128)100000000000000000ull,
    (unsigned __int128)1000000000000000000ull,
    (unsigned __int128)10000000000000000000ull,
    (unsigned __int128)10000000000000000000ull * 10ull,
    (unsigned __int128)10000000000000000000ull * 100ull,
    (unsigned __int128)10000000000000000000ull * 1000ull,
    (unsigned __int128)10000000000000000000ull * 10000ull,
    (unsigned __int128)10000000000000000000ull * 100000ull,
    (unsigned __int128)10000000000000000000ull * 1000000ull,
    (unsigned __int128)10000000000000000000ull * 10000000ull,
    (unsigned __int128)10000000000000000000ull * 100000000ull,
    (unsigned __int128)10000000000000000000ull * 1000000000ull,
    (unsigned __int128)10000000000000000000ull * 10000000000ull,
    (unsigned __int128)10000000000000000000ull * 100000000000ull,
    (unsigned __int128)10000000000000000000ull * 1000000000000ull,
    (unsigned __int128)10000000000000000000ull * 10000000000000ull,
    (unsigned __int128)10000000000000000000ull * 100000000000000ull,
    (unsigned __int128)10000000000000000000ull * 1000000000000000ull,
    (unsigned __int128)10000000000000000000ull * 10000000000000000ull,
    (unsigned __int128)10000000000000000000ull * 100000000000000000ull,
    (unsigned __int128)10000000000000000000ull * 1000000000000000000ull,
    (unsigned __int128)10000000000000000000ull * 10000000000000000000ull,
};

const char *pqf__pgnumeric_unscaled(const uint8_t *p, size_t n, int precision, int scale,
                                    __int128 *out)
{
    if (!pqf__pgnumeric_valid(p, n))
        return "malformed binary numeric";
    int nd = (int16_t)(p[0] << 8 | p[1]);
    int weight = (int16_t)(p[2] << 8 | p[3]);
    unsigned sign = (unsigned)(p[4] << 8 | p[5]);
    if (sign == 0xC000 || sign == 0xD000 || sign == 0xF000)
        return "NaN and infinity do not fit a decimal";
    unsigned __int128 acc = 0;
    for (int i = 0; i < nd; i++) {
        unsigned d = (unsigned)(p[8 + 2 * i] << 8 | p[9 + 2 * i]);
        if (d == 0)
            continue;
        int e = 4 * (weight - i) + scale; /* this digit group is worth d * 10^e unscaled */
        if (e < 0) {
            if (e <= -4 || d % (unsigned)p10[-e])
                return "has too many decimal places";
            acc += d / (unsigned)p10[-e];
        } else {
            if (e >= precision)
                return "out of range";
            unsigned __int128 term;
            if (__builtin_mul_overflow((unsigned __int128)d, p10[e], &term) ||
                __builtin_add_overflow(acc, term, &acc))
                return "out of range";
        }
        if (acc >= p10[precision])
            return "out of range";
    }
    *out = sign == 0x4000 ? -(__int128)acc : (__int128)acc;
    return NULL;
}

/* ---- errors ------------------------------------------------------------------------ */

pqf_err pqf__db_row_error(pqf_dbsource *src, pqf_err code, int col, const char *fmt, ...)
{
    char msg[PQF_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    src->done = true;
    if (col >= 0)
        return pqf_error_set(&src->err, code, "%s: row %llu: column '%s': %s", src->label,
                             (unsigned long long)src->row,
                             src->cols[col].label ? src->cols[col].label : src->cols[col].name,
                             msg);
    return pqf_error_set(&src->err, code, "%s: row %llu: %s", src->label,
                         (unsigned long long)src->row, msg);
}

static pqf_err writer_failed(pqf_dbsource *src, pqf_writer *w, pqf_err rc, int col)
{
    const pqf_error *we = pqf_writer_error(w);
    return pqf__db_row_error(src, rc, col, "%s", we && we->msg[0] ? we->msg : pqf_strerror(rc));
}

static pqf_err convert_failed(pqf_dbsource *src, int col, const pqf__dbval *v, const char *why)
{
    const pqf__dbcol *c = &src->cols[col];
    char ty[64];
    pqf__conv_describe(&c->conv, ty, sizeof ty);
    pqf__buf_reset(&src->tmp);
    if (pqf__dbval_text(v, &src->tmp) != PQF_OK)
        pqf__buf_reset(&src->tmp);
    int shown = src->tmp.len > 60 ? 60 : (int)src->tmp.len;
    return pqf__db_row_error(src, PQF_ERR_VALUE, col, "cannot convert '%.*s%s' (%s) to %s: %s",
                             shown, src->tmp.data ? (const char *)src->tmp.data : "",
                             src->tmp.len > 60 ? "..." : "", c->type_name, ty, why);
}

/* ---- conversion --------------------------------------------------------------------- */

/* An unscaled decimal into the column's physical representation. */
static void decimal_out(const pqf__conv *c, __int128 x, pqf__val *out)
{
    if (c->phys == PQF_INT32) {
        out->u.i32 = (int32_t)x;
        return;
    }
    if (c->phys == PQF_INT64) {
        out->u.i64 = (int64_t)x;
        return;
    }
    int len = c->fixed_len;
    if (c->phys == PQF_BYTE_ARRAY) { /* minimal two's complement */
        len = 1;
        while (len < 16) {
            __int128 lim = (__int128)1 << (8 * len - 1);
            if (x >= -lim && x < lim)
                break;
            len++;
        }
    }
    unsigned __int128 ux = (unsigned __int128)x;
    for (int i = 0; i < len; i++) /* i = 0: least significant byte */
        out->scratch[len - 1 - i] = i < 16 ? (uint8_t)(ux >> (8 * i)) : (uint8_t)(x < 0 ? 0xFF : 0);
    out->p = out->scratch;
    out->n = (size_t)len;
}

/* Micros -> the column's unit, exactly. */
static const char *micros_to_unit(int64_t us, pqf_time_unit unit, int64_t *out)
{
    if (unit == PQF_MICROS) {
        *out = us;
    } else if (unit == PQF_MILLIS) {
        if (us % 1000)
            return "more precise than the column's unit";
        *out = us / 1000;
    } else if (__builtin_mul_overflow(us, (int64_t)1000, out)) {
        return "out of range";
    }
    return NULL;
}

/* A finite double as plain decimal text without an exponent (the shortest
 * digits that read back as the same double), for decimal and integer
 * columns, whose parsers take no exponent: 1e-09 -> 0.000000001. */
static pqf_err double_plain(double d, pqf__buf *b)
{
    char t[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*e", prec - 1, d);
        if (strtod(t, NULL) == d)
            break;
    }
    char digits[24];
    int nd = 0;
    const char *p = t;
    pqf_err rc = PQF_OK;
    if (*p == '-') {
        rc = pqf__buf_append_byte(b, '-');
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < (int)sizeof digits)
            digits[nd++] = *p;
    int e = *p == 'e' ? atoi(p + 1) : 0; /* value = d.ddd x 10^e */
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int point = e + 1; /* digits before the decimal point */
    if (point <= 0) {
        rc = rc ? rc : pqf__buf_printf(b, "0.");
        for (int i = 0; i < -point && rc == PQF_OK; i++)
            rc = pqf__buf_append_byte(b, '0');
        rc = rc ? rc : pqf__buf_append(b, digits, (size_t)nd);
    } else {
        for (int i = 0; i < PQF_MAX(point, nd) && rc == PQF_OK; i++) {
            if (i == point)
                rc = pqf__buf_append_byte(b, '.');
            rc = rc ? rc : pqf__buf_append_byte(b, i < nd ? (uint8_t)digits[i] : '0');
        }
    }
    return rc;
}

/* Convert through the value's text and the CSV parsers (source/value.h). */
static const char *via_text(pqf_dbsource *src, const pqf__conv *c, const pqf__dbval *v,
                            pqf__val *out)
{
    pqf__buf_reset(&src->tmp);
    bool plain = v->kind == PQF__DV_DOUBLE && isfinite(v->u.d) &&
                 (c->kind == PQF__V_DECIMAL || c->kind == PQF__V_INT);
    if ((plain ? double_plain(v->u.d, &src->tmp) : pqf__dbval_text(v, &src->tmp)) != PQF_OK)
        return "value too large";
    return pqf__value_parse(c, src->tmp.len ? (const char *)src->tmp.data : "", src->tmp.len, out);
}

static const char *convert(pqf_dbsource *src, const pqf__conv *c, const pqf__dbval *v,
                           pqf__val *out)
{
    switch (c->kind) {
    case PQF__V_INT:
        if (v->kind == PQF__DV_INT || v->kind == PQF__DV_NUMERIC) {
            int64_t x = v->u.i;
            if (v->kind == PQF__DV_NUMERIC) {
                __int128 big;
                const char *why = pqf__pgnumeric_unscaled(v->p, v->n, 38, 0, &big);
                if (why)
                    return why;
                if (big > INT64_MAX || big < INT64_MIN)
                    return "out of range";
                x = (int64_t)big;
            }
            if (c->is_unsigned ? (x < 0 || (uint64_t)x > c->umax) : (x < c->imin || x > c->imax))
                return "out of range";
            if (c->phys == PQF_INT32)
                out->u.i32 = (int32_t)x;
            else
                out->u.i64 = x;
            return NULL;
        }
        break;
    case PQF__V_DOUBLE:
    case PQF__V_FLOAT:
        if (v->kind == PQF__DV_DOUBLE || v->kind == PQF__DV_INT) {
            double d = v->kind == PQF__DV_DOUBLE ? v->u.d : (double)v->u.i;
            if (c->kind == PQF__V_FLOAT)
                out->u.f = (float)d;
            else
                out->u.d = d;
            return NULL;
        }
        break;
    case PQF__V_BOOL:
        if (v->kind == PQF__DV_BOOL) {
            out->u.b = v->u.b;
            return NULL;
        }
        if (v->kind == PQF__DV_INT) {
            if (v->u.i != 0 && v->u.i != 1)
                return "not a boolean (0 or 1)";
            out->u.b = v->u.i == 1;
            return NULL;
        }
        break;
    case PQF__V_DECIMAL: {
        __int128 x;
        if (v->kind == PQF__DV_NUMERIC) {
            const char *why = pqf__pgnumeric_unscaled(v->p, v->n, c->precision, c->scale, &x);
            if (why)
                return why;
        } else if (v->kind == PQF__DV_INT) {
            x = (__int128)v->u.i * (__int128)p10[c->scale];
            unsigned __int128 mag = x < 0 ? (unsigned __int128)(-x) : (unsigned __int128)x;
            if (mag >= p10[c->precision])
                return "out of range";
        } else if (v->kind == PQF__DV_DOUBLE && isfinite(v->u.d) && fabs(v->u.d) < 1e38) {
            /* A binary double stands for a decimal only up to rounding noise:
             * accept it when rounding it to `scale` places moves it by at most
             * 4 units in its last place (SQLite keeps DECIMAL(12,2) values as
             * REAL: 35 * 0.01 = 0.35000000000000003 is 0.35); a real extra
             * digit (0.351) falls through to the error. */
            const char *why = via_text(src, c, v, out); /* shortest digits first */
            if (!why)
                return NULL;
            char t[64];
            snprintf(t, sizeof t, "%.*f", c->scale, v->u.d);
            double r = strtod(t, NULL), ulp = nextafter(fabs(v->u.d), INFINITY) - fabs(v->u.d);
            if (fabs(r - v->u.d) > 4 * ulp)
                return why;
            return pqf__value_parse(c, t, strlen(t), out);
        } else {
            break;
        }
        decimal_out(c, x, out);
        return NULL;
    }
    case PQF__V_STRING:
        if (v->kind == PQF__DV_TEXT || v->kind == PQF__DV_BYTES) {
            if (!v->utf8_ok && !pqf__utf8_valid(v->p, v->n))
                return "invalid UTF-8";
            out->p = v->p;
            out->n = v->n;
            return NULL;
        }
        pqf__buf_reset(&src->tmp);
        if (pqf__dbval_text(v, &src->tmp) != PQF_OK)
            return "value too large";
        out->p = src->tmp.data ? (const void *)src->tmp.data : "";
        out->n = src->tmp.len;
        return NULL;
    case PQF__V_JSON:
        if (v->kind == PQF__DV_TEXT && v->json) {
            out->p = v->p;
            out->n = v->n;
            return NULL;
        }
        if (v->kind == PQF__DV_TEXT || v->kind == PQF__DV_BYTES) {
            pqf__json *root;
            pqf__json_doc_reset(&src->doc);
            if (pqf__json_parse(&src->doc, v->p, v->n, &root) != PQF_OK)
                return "not valid JSON";
            out->p = v->p;
            out->n = v->n;
            return NULL;
        }
        pqf__buf_reset(&src->tmp);
        if (v->kind == PQF__DV_BOOL || v->kind == PQF__DV_INT || v->kind == PQF__DV_NUMERIC ||
            (v->kind == PQF__DV_DOUBLE && isfinite(v->u.d))) {
            if (pqf__dbval_text(v, &src->tmp) != PQF_OK)
                return "value too large";
        } else {
            pqf__buf tmp2;
            pqf__buf_init(&tmp2, TEXT_CAP);
            pqf_err rc = pqf__dbval_text(v, &tmp2);
            if (rc == PQF_OK)
                rc = pqf__json_write_str(&src->tmp, tmp2.len ? (const char *)tmp2.data : "",
                                         tmp2.len);
            pqf__buf_free(&tmp2);
            if (rc != PQF_OK)
                return "value too large";
        }
        out->p = src->tmp.data;
        out->n = src->tmp.len;
        return NULL;
    case PQF__V_BINARY:
        if (v->kind == PQF__DV_TEXT || v->kind == PQF__DV_BYTES || v->kind == PQF__DV_UUID) {
            out->p = v->p;
            out->n = v->kind == PQF__DV_UUID ? 16 : v->n;
            return NULL;
        }
        break;
    case PQF__V_FIXED:
    case PQF__V_UUID:
        if (v->kind == PQF__DV_UUID || (v->kind == PQF__DV_BYTES && c->kind == PQF__V_FIXED) ||
            (v->kind == PQF__DV_BYTES && v->n == 16)) {
            size_t n = v->kind == PQF__DV_UUID ? 16 : v->n;
            if (n != (size_t)c->fixed_len)
                return "wrong length for a fixed-length column";
            out->p = v->p;
            out->n = n;
            return NULL;
        }
        break;
    case PQF__V_DATE:
        if (v->kind == PQF__DV_DATE) {
            if (v->u.i < INT32_MIN || v->u.i > INT32_MAX)
                return "out of range";
            out->u.i32 = (int32_t)v->u.i;
            return NULL;
        }
        break;
    case PQF__V_TIME:
        if (v->kind == PQF__DV_TIME) {
            int64_t x;
            const char *why = micros_to_unit(v->u.i, c->unit, &x);
            if (why)
                return why;
            if (c->unit == PQF_MILLIS)
                out->u.i32 = (int32_t)x;
            else
                out->u.i64 = x;
            return NULL;
        }
        break;
    case PQF__V_TIMESTAMP: {
        int64_t us;
        if (v->kind == PQF__DV_TS) {
            if (v->utc && !c->utc)
                return "an instant (with time zone) does not fit a local timestamp column";
            us = v->u.i;
        } else if (v->kind == PQF__DV_DATE) {
            if (__builtin_mul_overflow(v->u.i, (int64_t)86400000000LL, &us))
                return "out of range";
        } else if (v->kind == PQF__DV_INT) { /* Unix seconds (SQLite's unixepoch()) */
            if (__builtin_mul_overflow(v->u.i, (int64_t)1000000, &us))
                return "out of range";
        } else {
            break;
        }
        return micros_to_unit(us, c->unit, &out->u.i64);
    }
    }
    return via_text(src, c, v, out);
}

static pqf_err put_leaf(pqf_dbsource *src, pqf_writer *w, int col, int node, const pqf__dbval *v)
{
    const pqf__dbcol *c = &src->cols[col];
    pqf__val out;
    const char *why = convert(src, &c->conv, v, &out);
    if (PQF_UNLIKELY(why != NULL))
        return convert_failed(src, col, v, why);
    pqf_err rc = pqf__write_value(w, node, &c->conv, &out);
    if (PQF_UNLIKELY(rc != PQF_OK))
        return writer_failed(src, w, rc, col);
    return PQF_OK;
}

/* ---- watermark ------------------------------------------------------------------- */

static pqf_err wm_keep(pqf_dbsource *src, int slot, const pqf__dbval *v)
{
    pqf__buf *raw = &src->wm_raw[slot];
    pqf__buf_reset(raw);
    src->wm_v[slot] = *v;
    if (v->kind == PQF__DV_TEXT || v->kind == PQF__DV_BYTES || v->kind == PQF__DV_NUMERIC ||
        v->kind == PQF__DV_UUID) {
        size_t n = v->kind == PQF__DV_UUID ? 16 : v->n;
        pqf_err rc = pqf__buf_append(raw, v->p, n);
        if (rc != PQF_OK)
            return pqf__db_row_error(src, rc, src->wm_col, "watermark value too large");
        src->wm_v[slot].p = raw->data;
    }
    src->wm_have[slot] = true;
    src->wm_stale[slot] = true;
    return PQF_OK;
}

/* ---- row protocol ----------------------------------------------------------------- */

pqf_err pqf__db_row_begin(pqf_dbsource *src, pqf_writer *w)
{
    pqf_err rc = pqf_writer_row_begin(w);
    return rc != PQF_OK ? writer_failed(src, w, rc, -1) : PQF_OK;
}

pqf_err pqf__db_row_end(pqf_dbsource *src, pqf_writer *w)
{
    pqf_err rc = pqf_writer_row_end(w);
    if (rc != PQF_OK)
        return writer_failed(src, w, rc, -1);
    src->rows++;
    return PQF_OK;
}

pqf_err pqf__db_put(pqf_dbsource *src, pqf_writer *w, int col, const pqf__dbval *v)
{
    const pqf__dbcol *c = &src->cols[col];
    if (PQF_UNLIKELY(col == src->wm_col) && v->kind != PQF__DV_NULL) {
        pqf_err rc = wm_keep(src, 1, v);
        if (rc == PQF_OK && !src->wm_have[0])
            rc = wm_keep(src, 0, v);
        if (rc != PQF_OK)
            return rc;
    }
    if (c->node < 0)
        return PQF_OK;
    if (v->kind == PQF__DV_NULL) {
        if (PQF_UNLIKELY(c->required))
            return pqf__db_row_error(src, PQF_ERR_VALUE, col, "NULL in a non-nullable column");
        return PQF_OK; /* unwritten columns are null */
    }
    return put_leaf(src, w, col, c->node, v);
}

pqf_err pqf__db_list_null(pqf_dbsource *src, pqf_writer *w, int col)
{
    const pqf__dbcol *c = &src->cols[col];
    if (c->node < 0)
        return PQF_OK;
    if (c->required)
        return pqf__db_row_error(src, PQF_ERR_VALUE, col, "NULL in a non-nullable column");
    return PQF_OK;
}

pqf_err pqf__db_list_begin(pqf_dbsource *src, pqf_writer *w, int col)
{
    const pqf__dbcol *c = &src->cols[col];
    if (c->node < 0)
        return PQF_OK;
    pqf_err rc = pqf_writer_list_begin(w, c->node);
    return rc != PQF_OK ? writer_failed(src, w, rc, col) : PQF_OK;
}

pqf_err pqf__db_put_elem(pqf_dbsource *src, pqf_writer *w, int col, const pqf__dbval *v)
{
    const pqf__dbcol *c = &src->cols[col];
    if (c->node < 0)
        return PQF_OK;
    if (v->kind == PQF__DV_NULL) {
        if (c->elem_required)
            return pqf__db_row_error(src, PQF_ERR_VALUE, col,
                                     "NULL element in a list whose "
                                     "elements are not nullable");
        pqf_err rc = pqf_writer_null(w, c->leaf);
        return rc != PQF_OK ? writer_failed(src, w, rc, col) : PQF_OK;
    }
    return put_leaf(src, w, col, c->leaf, v);
}

pqf_err pqf__db_list_end(pqf_dbsource *src, pqf_writer *w, int col)
{
    if (src->cols[col].node < 0)
        return PQF_OK;
    pqf_err rc = pqf_writer_list_end(w);
    return rc != PQF_OK ? writer_failed(src, w, rc, col) : PQF_OK;
}

/* ---- public ---------------------------------------------------------------------- */

const pqf_schema *pqf_dbsource_schema(const pqf_dbsource *src)
{
    return src->schema;
}

/* ---- change capture --------------------------------------------------------------- */

/* The text of column col of the current row into b (present: not NULL). */
static pqf_err cc_text(pqf_dbsource *src, int col, pqf__buf *b, pqf__dbval *v, bool *present)
{
    pqf__buf_reset(b);
    pqf_err rc = src->drv->get(src, col, v);
    if (rc != PQF_OK)
        return rc;
    *present = v->kind != PQF__DV_NULL;
    if (*present && (pqf__dbval_text(v, b) != PQF_OK || pqf__buf_cstr(b) != PQF_OK))
        return pqf__db_row_error(src, PQF_ERR_LIMIT, col, "value too large");
    return PQF_OK;
}

static pqf_err cc_failed(pqf_dbsource *src)
{
    return pqf__db_row_error(src, src->cc.err.code, -1, "%s", src->cc.err.msg);
}

/* Decide on the current row from its key, watermark, created and delete
 * columns, read before anything of the row is written. */
static pqf_err cc_decide(pqf_dbsource *src, bool *skip, char *op)
{
    pqf__cc *cc = &src->cc;
    pqf__dbval v;
    bool present = false;
    pqf_err rc = PQF_OK;
    pqf__cc_key_reset(cc);
    for (int k = 0; k < cc->nkey; k++) {
        PQF_TRY(cc_text(src, src->cc_key[k], &src->cc_part, &v, &present));
        const char *t = src->cc_part.data ? (const char *)src->cc_part.data : "";
        if (pqf__cc_key_part(cc, k, t, src->cc_part.len, present) != PQF_OK)
            return cc_failed(src);
    }
    PQF_TRY(cc_text(src, src->wm_col, &src->cc_wm, &v, &present));
    const char *wm = src->cc_wm.data ? (const char *)src->cc_wm.data : "";
    const char *why = NULL;
    if (pqf__cc_filter(cc, wm, src->cc_wm.len, present, skip, &why) != PQF_OK)
        return why ? pqf__db_row_error(src, PQF_ERR_VALUE, src->wm_col,
                                       "watermark '%.60s' does not parse: %s", wm, why)
                   : cc_failed(src);
    if (*skip)
        return PQF_OK;
    bool cp = false, del = false;
    if (src->cc_cre >= 0)
        PQF_TRY(cc_text(src, src->cc_cre, &src->cc_cre_text, &v, &cp));
    if (src->cc_del >= 0) {
        PQF_TRY(src->drv->get(src, src->cc_del, &v));
        del = v.kind == PQF__DV_BOOL ? v.u.b
              : v.kind == PQF__DV_INT ? v.u.i != 0
              : v.kind == PQF__DV_TEXT ? pqf__cc_truthy(v.p, v.n)
                                       : false;
    }
    *op = pqf__cc_op(cc, wm, src->cc_wm.len,
                     src->cc_cre_text.data ? (const char *)src->cc_cre_text.data : "",
                     src->cc_cre_text.len, cp, del);
done:
    return rc;
}

static int col_index(const pqf_dbsource *src, const char *name)
{
    for (int i = 0; name && i < src->ncols; i++)
        if (strcmp(src->cols[i].name, name) == 0)
            return i;
    return -1;
}

pqf_err pqf_dbsource_set_changes(pqf_dbsource *src, const pqf_schema *schema,
                                 const pqf_change_opts *co, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    if (src->read || src->changes)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: change capture is set before the first row, once",
                 src->label);
    if (src->wm_col < 0 || !co->watermark || strcmp(src->cols[src->wm_col].name, co->watermark) != 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: change capture needs the source opened with "
                 "watermark_column '%s'", src->label, co->watermark ? co->watermark : "");
    /* the same columns, bound again by name onto the schema with _op, _seq, _ts */
    src->schema = schema;
    for (int i = 0; i < src->ncols; i++) {
        pqf__dbcol *c = &src->cols[i];
        if (c->node < 0)
            continue;
        int node = pqf_schema_find_child(schema, 0, c->name);
        if (node < 0)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: column '%s' is not in the change schema",
                     src->label, c->name);
        free(c->label);
        c->label = NULL;
        PQF_TRY(bind_col(src, c, node, err));
    }
    PQF_TRY(pqf__cc_init(&src->cc, schema, co, err));
    src->changes = true;
    src->cc.ordered = true; /* the database reads in watermark order */
    src->cc_del = col_index(src, co->delete_column);
    src->cc_cre = col_index(src, co->created_column);
    for (int k = 0; k < src->cc.nkey; k++) {
        pqf_node_info ki;
        PQF_TRY(pqf_schema_node(schema, src->cc.key_node[k], &ki));
        src->cc_key[k] = col_index(src, ki.name);
    }
    {
        const char *names[] = {co->delete_column, co->created_column};
        const int idx[] = {src->cc_del, src->cc_cre};
        for (int k = 0; k < 2; k++)
            if (names[k] && idx[k] < 0)
                PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: column '%s' is not a column of the result",
                         src->label, names[k]);
        for (int k = 0; k < src->cc.nkey; k++)
            if (src->cc_key[k] < 0)
                PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: key column %d is not a column of the result",
                         src->label, k + 1);
        int gen[] = {src->cc.op_node, src->cc.seq_node, src->cc.ts_node};
        for (int i = 0; i < src->ncols; i++)
            for (int k = 0; k < 3; k++)
                if (src->cols[i].node == gen[k])
                    PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: the result has a column '%s', which "
                             "change capture generates", src->label, src->cols[i].name);
    }
done:
    return rc;
}

void pqf_dbsource_change_counts(const pqf_dbsource *src, uint64_t *skipped, uint64_t *duplicates)
{
    *skipped = src->changes ? src->cc.skipped : 0;
    *duplicates = src->changes ? src->cc.duplicates : 0;
}

static pqf_err next_row(pqf_dbsource *src, pqf_writer *w, bool *eof)
{
    for (;;) {
        pqf_err rc = src->drv->fetch(src, eof);
        if (rc != PQF_OK || *eof)
            return rc;
        src->row = ++src->read;
        bool skip = false;
        char op = 'U';
        if (src->changes) {
            rc = cc_decide(src, &skip, &op);
            if (rc != PQF_OK)
                return rc;
            if (skip)
                continue;
        }
        rc = pqf__db_row_begin(src, w);
        if (rc == PQF_OK)
            rc = src->drv->put(src, w);
        if (rc == PQF_OK && src->changes) {
            rc = pqf__cc_write(&src->cc, w, op, (const char *)src->cc_wm.data, src->cc_wm.len);
            if (rc != PQF_OK)
                rc = writer_failed(src, w, rc, -1);
        }
        return rc == PQF_OK ? pqf__db_row_end(src, w) : rc;
    }
}

pqf_err pqf_dbsource_next(pqf_dbsource *src, pqf_writer *w, bool *eof)
{
    *eof = false;
    if (src->done) {
        if (src->err.code != PQF_OK)
            return src->err.code;
        *eof = true;
        return PQF_OK;
    }
    pqf_err rc = next_row(src, w, eof);
    if (rc != PQF_OK || *eof)
        src->done = true;
    return rc;
}

pqf_err pqf_dbsource_run(pqf_dbsource *src, pqf_writer *w, uint64_t *rows)
{
    uint64_t start = src->rows;
    pqf_err rc;
    bool eof = false;
    do
        rc = pqf_dbsource_next(src, w, &eof);
    while (rc == PQF_OK && !eof);
    if (rows)
        *rows = src->rows - start;
    return rc;
}

uint64_t pqf_dbsource_rows(const pqf_dbsource *src)
{
    return src->rows;
}

void pqf_dbsource_watermarks(const pqf_dbsource *src, const char **min, const char **max)
{
    /* rendered on demand: the text costs more than keeping the raw value per row */
    pqf_dbsource *m = (pqf_dbsource *)src;
    const char **outs[2] = {min, max};
    if (src->changes) {
        /* the range of the rows written, as the change capture saw them */
        const char *lo, *hi;
        pqf__cc_watermarks(&src->cc, &lo, &hi);
        if (min)
            *min = lo;
        if (max)
            *max = hi;
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (!outs[i])
            continue;
        *outs[i] = NULL;
        if (!m->wm_have[i])
            continue;
        if (m->wm_stale[i]) {
            pqf__buf_reset(&m->wm_text[i]);
            if (pqf__dbval_text(&m->wm_v[i], &m->wm_text[i]) != PQF_OK ||
                pqf__buf_cstr(&m->wm_text[i]) != PQF_OK)
                continue;
            m->wm_stale[i] = false;
        }
        *outs[i] = (const char *)m->wm_text[i].data;
    }
}

const char *pqf_dbsource_label(const pqf_dbsource *src)
{
    return src->label;
}

const pqf_error *pqf_dbsource_error(const pqf_dbsource *src)
{
    return &src->err;
}

void pqf_dbsource_free(pqf_dbsource *src)
{
    if (!src)
        return;
    if (src->drv && src->impl)
        src->drv->close(src->impl);
    for (int i = 0; i < src->ncols; i++) {
        free(src->cols[i].name);
        free(src->cols[i].label);
    }
    free(src->cols);
    pqf_schema_free(src->own);
    for (int i = 0; i < 2; i++) {
        pqf__buf_free(&src->wm_raw[i]);
        pqf__buf_free(&src->wm_text[i]);
    }
    pqf__buf_free(&src->tmp);
    pqf__buf_free(&src->cc_wm);
    pqf__buf_free(&src->cc_cre_text);
    pqf__buf_free(&src->cc_part);
    if (src->changes)
        pqf__cc_free(&src->cc);
    pqf__json_doc_free(&src->doc);
    free(src->label);
    free(src);
}
