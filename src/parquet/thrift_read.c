/* Thrift compact protocol decoder; see thrift_read.h. */
#include "parquet/thrift_read.h"

#include <string.h>

#include "base/base.h"

void pqf__tr_init(pqf__tr *t, const void *data, size_t len, pqf_error *err)
{
    t->start = t->p = data;
    t->end = t->p + len;
    t->depth = 0;
    t->max_depth = PQF__TR_DEFAULT_DEPTH;
    t->max_elems = UINT32_MAX;
    t->err = err;
}

const char *pqf__tr_type_name(int type)
{
    static const char *const names[] = {"stop", "bool", "bool", "byte", "i16",
                                        "i32",  "i64",  "double", "binary", "list",
                                        "set",  "map",  "struct", "uuid"};
    if (type == PQF__TT_BOOL_ELEM)
        return "bool";
    if (type < 0 || type >= (int)PQF_ARRAY_LEN(names))
        return "invalid";
    return names[type];
}

static pqf_err corrupt(pqf__tr *t, const char *what)
{
    return pqf_error_set(t->err, PQF_ERR_CORRUPT, "thrift: %s at byte %zu", what, pqf__tr_pos(t));
}

static pqf_err varint(pqf__tr *t, uint64_t *out, int max_bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; i++) {
        if (t->p >= t->end)
            return corrupt(t, "truncated varint");
        uint8_t b = *t->p++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return PQF_OK;
        }
    }
    return corrupt(t, "varint too long");
}

static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

pqf_err pqf__tr_struct_begin(pqf__tr *t, int16_t *last)
{
    if (t->depth >= t->max_depth)
        return corrupt(t, "nesting too deep");
    t->depth++;
    *last = 0;
    return PQF_OK;
}

pqf_err pqf__tr_struct_end(pqf__tr *t)
{
    if (t->depth > 0)
        t->depth--;
    return PQF_OK;
}

pqf_err pqf__tr_field(pqf__tr *t, int16_t *last, int *type, int16_t *id)
{
    if (t->p >= t->end)
        return corrupt(t, "truncated struct (no stop byte)");
    uint8_t b = *t->p++;
    if (b == 0) {
        *type = PQF__TT_STOP;
        *id = 0;
        return PQF_OK;
    }
    int ty = b & 0x0f;
    int delta = b >> 4;
    if (ty > PQF__TT_UUID)
        return corrupt(t, "invalid field type");
    if (delta) {
        int next = *last + delta;
        if (next > INT16_MAX)
            return corrupt(t, "field id out of range");
        *id = (int16_t)next;
    } else {
        int16_t v;
        pqf_err rc = pqf__tr_i16(t, &v);
        if (rc != PQF_OK)
            return rc;
        *id = v;
    }
    *last = *id;
    *type = ty;
    return PQF_OK;
}

pqf_err pqf__tr_i8(pqf__tr *t, int8_t *v)
{
    if (t->p >= t->end)
        return corrupt(t, "truncated byte");
    *v = (int8_t)*t->p++;
    return PQF_OK;
}

pqf_err pqf__tr_i16(pqf__tr *t, int16_t *v)
{
    uint64_t u = 0;
    pqf_err rc = varint(t, &u, 3);
    if (rc != PQF_OK)
        return rc;
    int64_t s = unzigzag(u);
    if (s < INT16_MIN || s > INT16_MAX)
        return corrupt(t, "i16 out of range");
    *v = (int16_t)s;
    return PQF_OK;
}

pqf_err pqf__tr_i32(pqf__tr *t, int32_t *v)
{
    uint64_t u = 0;
    pqf_err rc = varint(t, &u, 5);
    if (rc != PQF_OK)
        return rc;
    if (u > UINT32_MAX)
        return corrupt(t, "i32 out of range");
    *v = (int32_t)unzigzag(u);
    return PQF_OK;
}

pqf_err pqf__tr_i64(pqf__tr *t, int64_t *v)
{
    uint64_t u = 0;
    pqf_err rc = varint(t, &u, 10);
    if (rc != PQF_OK)
        return rc;
    *v = unzigzag(u);
    return PQF_OK;
}

pqf_err pqf__tr_double(pqf__tr *t, double *v)
{
    if (pqf__tr_left(t) < 8)
        return corrupt(t, "truncated double");
    uint64_t u = pqf__load64le(t->p);
    memcpy(v, &u, 8);
    t->p += 8;
    return PQF_OK;
}

pqf_err pqf__tr_binary(pqf__tr *t, const uint8_t **p, uint32_t *len)
{
    uint64_t n = 0;
    pqf_err rc = varint(t, &n, 5);
    if (rc != PQF_OK)
        return rc;
    if (n > pqf__tr_left(t))
        return corrupt(t, "binary length past the end");
    *p = t->p;
    *len = (uint32_t)n;
    t->p += n;
    return PQF_OK;
}

pqf_err pqf__tr_bool(pqf__tr *t, int type, bool *v)
{
    if (type == PQF__TT_BOOL_TRUE || type == PQF__TT_BOOL_FALSE) {
        *v = type == PQF__TT_BOOL_TRUE;
        return PQF_OK;
    }
    if (type != PQF__TT_BOOL_ELEM)
        return corrupt(t, "bool expected");
    if (t->p >= t->end)
        return corrupt(t, "truncated bool");
    uint8_t b = *t->p++;
    if (b > 2)
        return corrupt(t, "invalid bool byte");
    *v = b == 1;
    return PQF_OK;
}

static bool valid_elem_type(int ty) { return ty >= PQF__TT_BOOL_TRUE && ty <= PQF__TT_UUID; }

pqf_err pqf__tr_list_begin(pqf__tr *t, int *elem_type, uint32_t *count)
{
    if (t->p >= t->end)
        return corrupt(t, "truncated list header");
    uint8_t b = *t->p++;
    uint64_t n = b >> 4;
    int ty = b & 0x0f;
    if (n == 15) {
        pqf_err rc = varint(t, &n, 5);
        if (rc != PQF_OK)
            return rc;
    }
    if (!valid_elem_type(ty))
        return corrupt(t, "invalid list element type");
    /* Every element takes at least one byte: a count beyond the bytes left is
     * a lie, caught before anyone allocates for it. */
    if (n > pqf__tr_left(t))
        return corrupt(t, "list count past the end");
    if (n > t->max_elems)
        return pqf_error_set(t->err, PQF_ERR_LIMIT, "thrift: list of %llu elements at byte %zu",
                             (unsigned long long)n, pqf__tr_pos(t));
    if (t->depth >= t->max_depth)
        return corrupt(t, "nesting too deep");
    t->depth++;
    *elem_type = ty == PQF__TT_BOOL_FALSE ? PQF__TT_BOOL_TRUE : ty;
    *count = (uint32_t)n;
    return PQF_OK;
}

pqf_err pqf__tr_map_begin(pqf__tr *t, int *key_type, int *val_type, uint32_t *count)
{
    uint64_t n = 0;
    pqf_err rc = varint(t, &n, 5);
    if (rc != PQF_OK)
        return rc;
    int kt = 0, vt = 0;
    if (n) {
        if (t->p >= t->end)
            return corrupt(t, "truncated map header");
        uint8_t b = *t->p++;
        kt = b >> 4;
        vt = b & 0x0f;
        if (!valid_elem_type(kt) || !valid_elem_type(vt))
            return corrupt(t, "invalid map key/value type");
    }
    if (n > pqf__tr_left(t) / 2)
        return corrupt(t, "map count past the end");
    if (n > t->max_elems)
        return pqf_error_set(t->err, PQF_ERR_LIMIT, "thrift: map of %llu entries at byte %zu",
                             (unsigned long long)n, pqf__tr_pos(t));
    if (t->depth >= t->max_depth)
        return corrupt(t, "nesting too deep");
    t->depth++;
    *key_type = kt == PQF__TT_BOOL_FALSE ? PQF__TT_BOOL_TRUE : kt;
    *val_type = vt == PQF__TT_BOOL_FALSE ? PQF__TT_BOOL_TRUE : vt;
    *count = (uint32_t)n;
    return PQF_OK;
}

pqf_err pqf__tr_list_end(pqf__tr *t)
{
    if (t->depth > 0)
        t->depth--;
    return PQF_OK;
}

static pqf_err skip_any(pqf__tr *t, int type, bool elem)
{
    pqf_err rc = PQF_OK;
    uint64_t u = 0;
    switch (type) {
    case PQF__TT_BOOL_TRUE:
    case PQF__TT_BOOL_FALSE:
        if (elem) {
            bool b;
            rc = pqf__tr_bool(t, PQF__TT_BOOL_ELEM, &b);
        }
        return rc;
    case PQF__TT_BYTE:
        if (t->p >= t->end)
            return corrupt(t, "truncated byte");
        t->p++;
        return PQF_OK;
    case PQF__TT_I16:
    case PQF__TT_I32:
    case PQF__TT_I64:
        return varint(t, &u, 10);
    case PQF__TT_DOUBLE:
        if (pqf__tr_left(t) < 8)
            return corrupt(t, "truncated double");
        t->p += 8;
        return PQF_OK;
    case PQF__TT_UUID:
        if (pqf__tr_left(t) < 16)
            return corrupt(t, "truncated uuid");
        t->p += 16;
        return PQF_OK;
    case PQF__TT_BINARY: {
        const uint8_t *p;
        uint32_t n;
        return pqf__tr_binary(t, &p, &n);
    }
    case PQF__TT_LIST:
    case PQF__TT_SET: {
        int et = 0;
        uint32_t n = 0;
        rc = pqf__tr_list_begin(t, &et, &n);
        for (uint32_t i = 0; rc == PQF_OK && i < n; i++)
            rc = skip_any(t, et, true);
        if (rc == PQF_OK)
            rc = pqf__tr_list_end(t);
        return rc;
    }
    case PQF__TT_MAP: {
        int kt = 0, vt = 0;
        uint32_t n = 0;
        rc = pqf__tr_map_begin(t, &kt, &vt, &n);
        for (uint32_t i = 0; rc == PQF_OK && i < n; i++) {
            rc = skip_any(t, kt, true);
            if (rc == PQF_OK)
                rc = skip_any(t, vt, true);
        }
        if (rc == PQF_OK)
            rc = pqf__tr_list_end(t);
        return rc;
    }
    case PQF__TT_STRUCT: {
        int16_t last = 0, id = 0;
        int ft = 0;
        rc = pqf__tr_struct_begin(t, &last);
        while (rc == PQF_OK) {
            rc = pqf__tr_field(t, &last, &ft, &id);
            if (rc != PQF_OK || ft == PQF__TT_STOP)
                break;
            rc = skip_any(t, ft, false);
        }
        if (rc == PQF_OK)
            rc = pqf__tr_struct_end(t);
        return rc;
    }
    default:
        return corrupt(t, "cannot skip invalid type");
    }
}

pqf_err pqf__tr_skip(pqf__tr *t, int type) { return skip_any(t, type, false); }
pqf_err pqf__tr_skip_elem(pqf__tr *t, int type) { return skip_any(t, type, true); }
