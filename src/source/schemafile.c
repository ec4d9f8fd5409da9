/* Schema files: JSON <-> pqf_schema (format in docs/SCHEMA-FILE.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fsutil.h"
#include "pqfeed/source.h"
#include "pqfeed/stream.h"
#include "source/json.h"

#define SCHEMA_FILE_MAX (16u << 20)

typedef struct sload {
    pqf_schema *s;
    const char *name;
    pqf_error *err;
} sload;

static int min_decimal_bytes(int precision)
{
    for (int n = 1; n <= 16; n++) {
        /* floor(log10(2^(8n-1)-1)) */
        if ((int)((8.0 * n - 1) * 0.30102999566398119521) >= precision)
            return n;
    }
    return 16;
}

/* Parse "name(a)" or "name(a,b)" -> number of args (0 if no parens), or -1. */
static int type_args(const char *t, const char *name, int *a, int *b)
{
    size_t n = strlen(name);
    if (strncmp(t, name, n) != 0)
        return -1;
    t += n;
    if (!*t)
        return 0;
    if (*t != '(')
        return -1;
    char *end;
    long x = strtol(t + 1, &end, 10);
    if (end == t + 1)
        return -1;
    *a = (int)x;
    while (*end == ' ')
        end++;
    if (*end == ')' && !end[1])
        return 1;
    if (*end != ',')
        return -1;
    const char *q = end + 1;
    while (*q == ' ')
        q++;
    long y = strtol(q, &end, 10);
    if (end == q || *end != ')' || end[1])
        return -1;
    *b = (int)y;
    return 2;
}

static bool get_bool(const pqf__json *obj, const char *key, bool dflt, bool *ok)
{
    const pqf__json *v = pqf__json_get(obj, key);
    if (!v)
        return dflt;
    if (v->type != PQF__JBOOL) {
        *ok = false;
        return dflt;
    }
    return v->b;
}

static int add_typed(sload *L, int parent, const char *name, pqf_repetition rep,
                     const pqf__json *type, const pqf__json *col, const char *where);

/* Add an element/column described by a type or by a column-like object. */
static int add_spec(sload *L, int parent, const char *name, const pqf__json *spec, bool dflt_null,
                    const char *where)
{
    const pqf__json *col = NULL, *type = spec;
    if (spec->type == PQF__JOBJ && pqf__json_get(spec, "type")) {
        col = spec;
        type = pqf__json_get(spec, "type");
    }
    bool ok = true;
    bool nullable = col ? get_bool(col, "nullable", dflt_null, &ok) : dflt_null;
    if (!ok) {
        pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s.nullable: expected true or false", L->name,
                      where);
        return -1;
    }
    return add_typed(L, parent, name, nullable ? PQF_OPTIONAL : PQF_REQUIRED, type, col, where);
}

static pqf_err add_columns(sload *L, int parent, const pqf__json *arr, const char *where);

static int add_typed(sload *L, int parent, const char *name, pqf_repetition rep,
                     const pqf__json *type, const pqf__json *col, const char *where)
{
    int32_t field_id = -1;
    const pqf__json *fid = col ? pqf__json_get(col, "field_id") : NULL;
    if (fid) {
        if (fid->type != PQF__JNUM || fid->len > 10 || strchr(fid->str, '.') ||
            strchr(fid->str, 'e') || fid->str[0] == '-') {
            pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s.field_id: expected a non-negative integer",
                          L->name, where);
            return -1;
        }
        long long v = strtoll(fid->str, NULL, 10);
        if (v > INT32_MAX) {
            pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s.field_id: out of range", L->name, where);
            return -1;
        }
        field_id = (int32_t)v;
    }
    if (type->type == PQF__JOBJ) {
        const pqf__json *lst = pqf__json_get(type, "list");
        const pqf__json *st = pqf__json_get(type, "struct");
        if (lst && !st && type->len == 1) {
            int g = pqf_schema_add_list(L->s, parent, name, rep, field_id, L->err);
            if (g < 0)
                goto fail;
            char w[400];
            snprintf(w, sizeof w, "%s.list", where);
            return add_spec(L, g, "element", lst, true, w) < 0 ? -1 : g;
        }
        if (st && !lst && type->len == 1) {
            if (st->type != PQF__JARR) {
                pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s.struct: expected an array of columns",
                              L->name, where);
                return -1;
            }
            int g = pqf_schema_add_group(L->s, parent, name, rep, NULL, field_id, L->err);
            if (g < 0)
                goto fail;
            char w[400];
            snprintf(w, sizeof w, "%s.struct", where);
            if (add_columns(L, g, st, w) != PQF_OK)
                return -1;
            return g;
        }
        pqf_error_set(L->err, PQF_ERR_SCHEMA,
                      "%s: %s: a type object has exactly one key, \"list\" or \"struct\"", L->name,
                      where);
        return -1;
    }
    if (type->type != PQF__JSTR) {
        pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s: expected a type name or object", L->name,
                      where);
        return -1;
    }
    const char *t = type->str;
    pqf_logical lt = {0};
    pqf_physical ph = PQF_BYTE_ARRAY;
    int32_t len = 0;
    int a = 0, b = 0;
    bool ok = true;
    static const struct {
        const char *n;
        int bits;
        bool sign;
    } ints[] = {{"int8", 8, true},    {"int16", 16, true},   {"int32", 32, true},
                {"int64", 64, true},  {"uint8", 8, false},   {"uint16", 16, false},
                {"uint32", 32, false}, {"uint64", 64, false}};
    for (size_t i = 0; i < PQF_ARRAY_LEN(ints); i++) {
        if (strcmp(t, ints[i].n) == 0) {
            ph = ints[i].bits == 64 ? PQF_INT64 : PQF_INT32;
            if (ints[i].bits < 32 || !ints[i].sign) {
                lt.kind = PQF_LT_INT;
                lt.bit_width = (int8_t)ints[i].bits;
                lt.is_signed = ints[i].sign;
            }
            goto add;
        }
    }
    if (strcmp(t, "float") == 0) {
        ph = PQF_FLOAT;
    } else if (strcmp(t, "double") == 0) {
        ph = PQF_DOUBLE;
    } else if (strcmp(t, "bool") == 0 || strcmp(t, "boolean") == 0) {
        ph = PQF_BOOLEAN;
    } else if (strcmp(t, "string") == 0) {
        lt.kind = PQF_LT_STRING;
    } else if (strcmp(t, "enum") == 0) {
        lt.kind = PQF_LT_ENUM;
    } else if (strcmp(t, "json") == 0) {
        lt.kind = PQF_LT_JSON;
    } else if (strcmp(t, "binary") == 0) {
        ph = PQF_BYTE_ARRAY;
    } else if (strcmp(t, "uuid") == 0) {
        ph = PQF_FIXED_LEN_BYTE_ARRAY;
        len = 16;
        lt.kind = PQF_LT_UUID;
    } else if (strcmp(t, "date") == 0) {
        ph = PQF_INT32;
        lt.kind = PQF_LT_DATE;
    } else if (strncmp(t, "time_", 5) == 0 || strncmp(t, "timestamp_", 10) == 0) {
        bool ts = t[4] == 's';
        const char *u = t + (ts ? 10 : 5);
        lt.kind = ts ? PQF_LT_TIMESTAMP : PQF_LT_TIME;
        if (strcmp(u, "ms") == 0)
            lt.unit = PQF_MILLIS;
        else if (strcmp(u, "us") == 0)
            lt.unit = PQF_MICROS;
        else if (strcmp(u, "ns") == 0)
            lt.unit = PQF_NANOS;
        else
            goto unknown;
        ph = (!ts && lt.unit == PQF_MILLIS) ? PQF_INT32 : PQF_INT64;
        lt.utc = col ? get_bool(col, "utc", ts, &ok) : ts;
        if (!ok) {
            pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s.utc: expected true or false", L->name,
                          where);
            return -1;
        }
    } else if (type_args(t, "decimal", &a, &b) >= 1) {
        if (type_args(t, "decimal", &a, &b) == 1)
            b = 0;
        if (a < 1 || a > 38 || b < 0 || b > a) {
            pqf_error_set(L->err, PQF_ERR_SCHEMA,
                          "%s: %s: decimal(p,s) needs 1 <= p <= 38 and 0 <= s <= p", L->name, where);
            return -1;
        }
        lt.kind = PQF_LT_DECIMAL;
        lt.precision = a;
        lt.scale = b;
        ph = a <= 9 ? PQF_INT32 : a <= 18 ? PQF_INT64 : PQF_FIXED_LEN_BYTE_ARRAY;
        const pqf__json *phys = col ? pqf__json_get(col, "physical") : NULL;
        if (phys) {
            const char *pn = phys->type == PQF__JSTR ? phys->str : "";
            if (strcmp(pn, "int32") == 0)
                ph = PQF_INT32;
            else if (strcmp(pn, "int64") == 0)
                ph = PQF_INT64;
            else if (strcmp(pn, "fixed") == 0)
                ph = PQF_FIXED_LEN_BYTE_ARRAY;
            else {
                pqf_error_set(L->err, PQF_ERR_SCHEMA,
                              "%s: %s.physical: expected \"int32\", \"int64\" or \"fixed\"",
                              L->name, where);
                return -1;
            }
        }
        if (ph == PQF_FIXED_LEN_BYTE_ARRAY) {
            len = min_decimal_bytes(a);
            const pqf__json *lj = col ? pqf__json_get(col, "length") : NULL;
            if (lj) {
                if (lj->type != PQF__JNUM || !strchr("123456789", lj->str[0]) || lj->len > 2) {
                    pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s.length: expected 1..32",
                                  L->name, where);
                    return -1;
                }
                len = atoi(lj->str);
            }
        }
    } else if (type_args(t, "fixed", &a, &b) == 1) {
        if (a < 1 || a > (1 << 20)) {
            pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s: fixed(n) needs 1 <= n <= 1048576",
                          L->name, where);
            return -1;
        }
        ph = PQF_FIXED_LEN_BYTE_ARRAY;
        len = a;
    } else {
        goto unknown;
    }
add:;
    int id = pqf_schema_add_column(L->s, parent, name, rep, ph, len, &lt, field_id, L->err);
    if (id < 0)
        goto fail;
    return id;
unknown:
    pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s: unknown type '%s'", L->name, where, t);
    return -1;
fail:
    pqf_error_prefix(L->err, "%s: %s: ", L->name, where);
    return -1;
}

static pqf_err add_columns(sload *L, int parent, const pqf__json *arr, const char *where)
{
    static const char *known[] = {"name", "type", "nullable", "field_id", "utc", "physical",
                                  "length", "doc"};
    size_t i = 0;
    for (const pqf__json *c = arr->child; c; c = c->next, i++) {
        char w[400];
        snprintf(w, sizeof w, "%s[%zu]", where, i);
        if (c->type != PQF__JOBJ)
            return pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s: expected an object", L->name, w);
        for (const pqf__json *m = c->child; m; m = m->next) {
            bool k = false;
            for (size_t j = 0; j < PQF_ARRAY_LEN(known); j++)
                k |= strcmp(m->key, known[j]) == 0;
            if (!k)
                return pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s: unknown key '%s'", L->name,
                                     w, m->key);
        }
        const pqf__json *nm = pqf__json_get(c, "name");
        if (!nm || nm->type != PQF__JSTR || nm->len == 0 || strlen(nm->str) != nm->len)
            return pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s.name: expected a non-empty string",
                                 L->name, w);
        snprintf(w, sizeof w, "%s[%zu] (%s)", where, i, nm->str);
        if (!pqf__json_get(c, "type"))
            return pqf_error_set(L->err, PQF_ERR_SCHEMA, "%s: %s: missing \"type\"", L->name, w);
        if (add_spec(L, parent, nm->str, c, true, w) < 0)
            return L->err->code ? L->err->code : PQF_ERR_SCHEMA;
    }
    return PQF_OK;
}

pqf_err pqf_schema_from_json(const char *text, size_t len, const char *name, pqf_schema **out,
                             pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__json_doc doc;
    pqf__json_doc_init(&doc, NULL);
    sload L = {NULL, name ? name : "schema", err};
    *out = NULL;
    pqf__json *root;
    rc = pqf__json_parse(&doc, text, len, &root);
    if (rc != PQF_OK)
        PQF_FAIL(err, rc, "%s: %s", L.name, doc.err.msg);
    const pqf__json *cols = pqf__json_get(root, "columns");
    if (!cols || cols->type != PQF__JARR)
        PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: expected an object with a \"columns\" array", L.name);
    if (cols->len == 0)
        PQF_FAIL(err, PQF_ERR_SCHEMA, "%s: \"columns\" is empty", L.name);
    L.s = pqf_schema_create();
    if (!L.s)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(add_columns(&L, 0, cols, "columns"));
    rc = pqf_schema_finish(L.s, err);
    if (rc != PQF_OK) {
        pqf_error_prefix(err, "%s: ", L.name);
        goto done;
    }
    *out = L.s;
    L.s = NULL;
done:
    pqf_schema_free(L.s);
    pqf__json_doc_free(&doc);
    return rc;
}

pqf_err pqf_schema_load_json(const char *path, pqf_schema **out, pqf_error *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    pqf_err rc = pqf__read_file(path, SCHEMA_FILE_MAX, &text, &len, err);
    if (rc == PQF_OK)
        rc = pqf_schema_from_json(text, len, path, out, err);
    free(text);
    return rc;
}

/* ---- saving ------------------------------------------------------------------ */

static pqf_err type_json(const pqf_schema *s, int id, pqf__buf *b, pqf_error *err);

/* Writes ', "type": ...' plus per-column keys (without name/nullable). */
static pqf_err leaf_type(const pqf_node_info *in, pqf__buf *b, pqf_error *err)
{
    const pqf_logical *lt = &in->logical;
    static const char *units[] = {"ms", "us", "ns"};
    pqf_err rc = PQF_OK;
    switch (lt->kind) {
    case PQF_LT_STRING:
        return pqf__buf_printf(b, "\"string\"");
    case PQF_LT_ENUM:
        return pqf__buf_printf(b, "\"enum\"");
    case PQF_LT_JSON:
        return pqf__buf_printf(b, "\"json\"");
    case PQF_LT_UUID:
        return pqf__buf_printf(b, "\"uuid\"");
    case PQF_LT_DATE:
        return pqf__buf_printf(b, "\"date\"");
    case PQF_LT_TIME:
    case PQF_LT_TIMESTAMP: {
        bool ts = lt->kind == PQF_LT_TIMESTAMP;
        rc = pqf__buf_printf(b, "\"%s_%s\"", ts ? "timestamp" : "time", units[lt->unit % 3]);
        if (rc == PQF_OK && lt->utc != ts)
            rc = pqf__buf_printf(b, ", \"utc\": %s", lt->utc ? "true" : "false");
        return rc;
    }
    case PQF_LT_DECIMAL: {
        rc = pqf__buf_printf(b, "\"decimal(%d,%d)\"", lt->precision, lt->scale);
        pqf_physical dflt = lt->precision <= 9    ? PQF_INT32
                            : lt->precision <= 18 ? PQF_INT64
                                                  : PQF_FIXED_LEN_BYTE_ARRAY;
        if (rc == PQF_OK && in->physical != dflt)
            rc = pqf__buf_printf(b, ", \"physical\": \"%s\"",
                                 in->physical == PQF_INT32   ? "int32"
                                 : in->physical == PQF_INT64 ? "int64"
                                                             : "fixed");
        if (rc == PQF_OK && in->physical == PQF_FIXED_LEN_BYTE_ARRAY &&
            in->type_length != min_decimal_bytes(lt->precision))
            rc = pqf__buf_printf(b, ", \"length\": %d", (int)in->type_length);
        return rc;
    }
    case PQF_LT_INT:
        return pqf__buf_printf(b, "\"%sint%d\"", lt->is_signed ? "" : "u", lt->bit_width);
    case PQF_LT_NONE:
        break;
    default:
        return pqf_error_set(err, PQF_ERR_UNSUPPORTED,
                             "column '%s': logical type %s has no schema-file form", in->name,
                             pqf_logical_name(lt->kind));
    }
    switch (in->physical) {
    case PQF_BOOLEAN:
        return pqf__buf_printf(b, "\"bool\"");
    case PQF_INT32:
        return pqf__buf_printf(b, "\"int32\"");
    case PQF_INT64:
        return pqf__buf_printf(b, "\"int64\"");
    case PQF_FLOAT:
        return pqf__buf_printf(b, "\"float\"");
    case PQF_DOUBLE:
        return pqf__buf_printf(b, "\"double\"");
    case PQF_BYTE_ARRAY:
        return pqf__buf_printf(b, "\"binary\"");
    case PQF_FIXED_LEN_BYTE_ARRAY:
        return pqf__buf_printf(b, "\"fixed(%d)\"", (int)in->type_length);
    default:
        return pqf_error_set(err, PQF_ERR_UNSUPPORTED, "column '%s': INT96 has no schema-file form",
                             in->name);
    }
}

/* {"name": .., "type": .., "nullable": false, "field_id": n} */
static pqf_err column_json(const pqf_schema *s, int id, pqf__buf *b, bool with_name,
                           pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_node_info in;
    PQF_TRY(pqf_schema_node(s, id, &in));
    PQF_TRY(pqf__buf_append_byte(b, '{'));
    if (with_name) {
        PQF_TRY(pqf__buf_printf(b, "\"name\": "));
        PQF_TRY(pqf__json_write_str(b, in.name, strlen(in.name)));
        PQF_TRY(pqf__buf_printf(b, ", "));
    }
    PQF_TRY(pqf__buf_printf(b, "\"type\": "));
    PQF_TRY(type_json(s, id, b, err));
    if (in.repetition == PQF_REQUIRED)
        PQF_TRY(pqf__buf_printf(b, ", \"nullable\": false"));
    if (in.field_id >= 0)
        PQF_TRY(pqf__buf_printf(b, ", \"field_id\": %d", (int)in.field_id));
    PQF_TRY(pqf__buf_append_byte(b, '}'));
done:
    if (rc == PQF_ERR_LIMIT)
        pqf_error_set(err, rc, "schema JSON too large");
    return rc;
}

static pqf_err type_json(const pqf_schema *s, int id, pqf__buf *b, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_node_info in;
    PQF_TRY(pqf_schema_node(s, id, &in));
    if (!in.is_group) {
        PQF_TRY(leaf_type(&in, b, err));
        goto done;
    }
    if (in.logical.kind == PQF_LT_LIST) {
        int el = pqf_schema_list_element(s, id);
        if (el < 0)
            PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "column '%s': not a three-level list", in.name);
        pqf_node_info ei;
        PQF_TRY(pqf_schema_node(s, el, &ei));
        PQF_TRY(pqf__buf_printf(b, "{\"list\": "));
        if (ei.repetition == PQF_OPTIONAL && ei.field_id < 0)
            PQF_TRY(type_json(s, el, b, err));
        else
            PQF_TRY(column_json(s, el, b, false, err));
        PQF_TRY(pqf__buf_append_byte(b, '}'));
        goto done;
    }
    if (in.logical.kind != PQF_LT_NONE)
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "column '%s': %s groups have no schema-file form",
                 in.name, pqf_logical_name(in.logical.kind));
    PQF_TRY(pqf__buf_printf(b, "{\"struct\": ["));
    for (int i = 0; i < in.nchildren; i++) {
        if (i)
            PQF_TRY(pqf__buf_printf(b, ", "));
        PQF_TRY(column_json(s, pqf_schema_child(s, id, i), b, true, err));
    }
    PQF_TRY(pqf__buf_printf(b, "]}"));
done:
    return rc;
}

pqf_err pqf_schema_to_json(const pqf_schema *s, char **out, size_t *len, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf b;
    pqf__buf_init(&b, SCHEMA_FILE_MAX);
    *out = NULL;
    if (len)
        *len = 0;
    pqf_node_info root;
    PQF_TRY(pqf_schema_node(s, 0, &root));
    PQF_TRY(pqf__buf_printf(&b, "{\n  \"columns\": [\n"));
    for (int i = 0; i < root.nchildren; i++) {
        PQF_TRY(pqf__buf_printf(&b, "    "));
        PQF_TRY(column_json(s, pqf_schema_child(s, 0, i), &b, true, err));
        PQF_TRY(pqf__buf_printf(&b, "%s\n", i + 1 < root.nchildren ? "," : ""));
    }
    PQF_TRY(pqf__buf_printf(&b, "  ]\n}\n"));
    PQF_TRY(pqf__buf_cstr(&b));
    *out = (char *)pqf__buf_steal(&b, len);
done:
    if (rc != PQF_OK && err && err->code == PQF_OK)
        pqf_error_set(err, rc, "cannot serialise the schema: %s", pqf_strerror(rc));
    pqf__buf_free(&b);
    return rc;
}

pqf_err pqf_schema_save_json(const pqf_schema *s, const char *path, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char *text = NULL;
    size_t len = 0;
    pqf_ostream *os = NULL;
    PQF_TRY(pqf_schema_to_json(s, &text, &len, err));
    PQF_TRY(pqf_ostream_file(path, &os, err));
    rc = pqf_ostream_write(os, text, len);
    if (rc == PQF_OK)
        rc = pqf_ostream_commit(os);
    if (rc != PQF_OK)
        pqf_error_set(err, rc, "%s", pqf_ostream_error(os)->msg);
done:
    pqf_ostream_free(os);
    free(text);
    return rc;
}
