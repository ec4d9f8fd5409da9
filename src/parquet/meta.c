/* Parquet metadata decoding (parquet.thrift) over the compact protocol
 * decoder; see meta.h. Unknown fields, and known fields of an unexpected wire
 * type, are skipped (forward compatibility: newer writers add fields). */
#include "parquet/meta.h"

#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "parquet/thrift_read.h"

/* ---- arena ------------------------------------------------------------------ */

struct pqf__arena_blk {
    pqf__arena_blk *next;
    size_t cap, used;
    _Alignas(16) uint8_t data[];
};

#define ARENA_BLOCK (64 * 1024)

void pqf__arena_init(pqf__arena *a, size_t limit)
{
    a->head = NULL;
    a->used = 0;
    a->limit = limit;
}

void *pqf__arena_alloc(pqf__arena *a, size_t n, pqf_error *err)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n || need > a->limit - a->used || a->used > a->limit) {
        pqf_error_set(err, PQF_ERR_LIMIT, "metadata needs more than the %zu byte memory cap",
                      a->limit);
        return NULL;
    }
    pqf__arena_blk *b = a->head;
    if (!b || b->cap - b->used < need) {
        size_t cap = need > ARENA_BLOCK / 4 ? need : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b) {
            pqf_error_set(err, PQF_ERR_NOMEM, "out of memory decoding metadata (%zu bytes)", cap);
            return NULL;
        }
        b->cap = cap;
        b->used = 0;
        if (need > ARENA_BLOCK / 4 && a->head) {
            /* A big block goes behind the current one, which keeps its room. */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used += need;
    memset(p, 0, n);
    return p;
}

void *pqf__arena_array(pqf__arena *a, size_t count, size_t size, pqf_error *err)
{
    if (size && count > SIZE_MAX / size) {
        pqf_error_set(err, PQF_ERR_LIMIT, "metadata array of %zu elements too large", count);
        return NULL;
    }
    return pqf__arena_alloc(a, count * size != 0 ? count * size : 1, err);
}

char *pqf__arena_strdup(pqf__arena *a, const void *p, size_t n, pqf_error *err)
{
    char *s = pqf__arena_alloc(a, n + 1, err);
    if (s && n)
        memcpy(s, p, n);
    return s;
}

void pqf__arena_free(pqf__arena *a)
{
    pqf__arena_blk *b = a->head;
    while (b) {
        pqf__arena_blk *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->used = 0;
}

/* ---- helpers ---------------------------------------------------------------- */

#define IS_BOOL(ty) ((ty) == PQF__TT_BOOL_TRUE || (ty) == PQF__TT_BOOL_FALSE)

/* Field loop: `id` and `ty` name the current field; unmatched ones are
 * skipped in the closing FIELDS_END. */
#define FIELDS_BEGIN                                                                               \
    int16_t last_ = 0, id = 0;                                                                     \
    int ty = 0;                                                                                    \
    PQF_TRY(pqf__tr_struct_begin(t, &last_));                                                      \
    for (;;) {                                                                                     \
        PQF_TRY(pqf__tr_field(t, &last_, &ty, &id));                                               \
        if (ty == PQF__TT_STOP)                                                                    \
            break;                                                                                 \
        if (0) {                                                                                   \
        }
#define FIELDS_END                                                                                 \
    else PQF_TRY(pqf__tr_skip(t, ty));                                                             \
    }                                                                                              \
    PQF_TRY(pqf__tr_struct_end(t))

#define F_I32(n, dst) else if (id == (n) && ty == PQF__TT_I32) PQF_TRY(pqf__tr_i32(t, (dst)))
#define F_I64(n, dst) else if (id == (n) && ty == PQF__TT_I64) PQF_TRY(pqf__tr_i64(t, (dst)))
#define F_BOOL(n, dst) else if (id == (n) && IS_BOOL(ty)) PQF_TRY(pqf__tr_bool(t, ty, (dst)))
#define F_BIN(n, dst) else if (id == (n) && ty == PQF__TT_BINARY) PQF_TRY(read_bytes(t, (dst)))

static pqf_err read_bytes(pqf__tr *t, pqf__bytes *b)
{
    return pqf__tr_binary(t, &b->p, &b->n);
}

static pqf_err read_str(pqf__tr *t, pqf__arena *a, const char **out)
{
    const uint8_t *p;
    uint32_t n;
    pqf_err rc = pqf__tr_binary(t, &p, &n);
    if (rc != PQF_OK)
        return rc;
    char *s = pqf__arena_strdup(a, p, n, t->err);
    if (!s)
        return t->err ? t->err->code : PQF_ERR_NOMEM;
    *out = s;
    return PQF_OK;
}

static pqf_err arena_fail(pqf__tr *t) { return t->err && t->err->code ? t->err->code : PQF_ERR_NOMEM; }

/* list<T>: header with element type check, array in the arena. */
static pqf_err list_header(pqf__tr *t, pqf__arena *a, int want, size_t elem_size, uint32_t *count,
                           void **arr)
{
    int et;
    pqf_err rc = pqf__tr_list_begin(t, &et, count);
    if (rc != PQF_OK)
        return rc;
    if (et != want)
        return pqf_error_set(t->err, PQF_ERR_CORRUPT, "thrift: list of %s where %s expected at byte %zu",
                             pqf__tr_type_name(et), pqf__tr_type_name(want), pqf__tr_pos(t));
    if (a) {
        *arr = pqf__arena_array(a, *count, elem_size, t->err);
        if (!*arr)
            return arena_fail(t);
    }
    return PQF_OK;
}

/* Skip an empty-struct union member, returning its field id (0 if none). */
static pqf_err union_member(pqf__tr *t, int *member)
{
    pqf_err rc = PQF_OK;
    *member = 0;
    FIELDS_BEGIN
    else if (ty == PQF__TT_STRUCT)
    {
        *member = id;
        PQF_TRY(pqf__tr_skip(t, ty));
    }
    FIELDS_END;
done:
    return rc;
}

/* ---- structs ---------------------------------------------------------------- */

static pqf_err decode_stats(pqf__tr *t, pqf__stats *s)
{
    pqf_err rc = PQF_OK;
    s->present = true;
    FIELDS_BEGIN
    else if (id == 1 && ty == PQF__TT_BINARY)
    {
        s->has_max = true;
        PQF_TRY(read_bytes(t, &s->max));
    }
    else if (id == 2 && ty == PQF__TT_BINARY)
    {
        s->has_min = true;
        PQF_TRY(read_bytes(t, &s->min));
    }
    else if (id == 3 && ty == PQF__TT_I64)
    {
        s->has_null_count = true;
        PQF_TRY(pqf__tr_i64(t, &s->null_count));
    }
    else if (id == 4 && ty == PQF__TT_I64)
    {
        s->has_distinct_count = true;
        PQF_TRY(pqf__tr_i64(t, &s->distinct_count));
    }
    else if (id == 5 && ty == PQF__TT_BINARY)
    {
        s->has_max_value = true;
        PQF_TRY(read_bytes(t, &s->max_value));
    }
    else if (id == 6 && ty == PQF__TT_BINARY)
    {
        s->has_min_value = true;
        PQF_TRY(read_bytes(t, &s->min_value));
    }
    else if (id == 7 && IS_BOOL(ty))
    {
        s->has_max_exact = true;
        PQF_TRY(pqf__tr_bool(t, ty, &s->max_exact));
    }
    else if (id == 8 && IS_BOOL(ty))
    {
        s->has_min_exact = true;
        PQF_TRY(pqf__tr_bool(t, ty, &s->min_exact));
    }
    FIELDS_END;
done:
    return rc;
}

static pqf_err decode_time_unit(pqf__tr *t, pqf_time_unit *u)
{
    int m;
    pqf_err rc = union_member(t, &m);
    if (rc == PQF_OK)
        *u = m == 1 ? PQF_MILLIS : m == 2 ? PQF_MICROS : PQF_NANOS;
    if (rc == PQF_OK && (m < 1 || m > 3))
        rc = pqf_error_set(t->err, PQF_ERR_CORRUPT, "thrift: unknown time unit %d", m);
    return rc;
}

static pqf_err decode_timeish(pqf__tr *t, pqf_logical *lt)
{
    pqf_err rc = PQF_OK;
    FIELDS_BEGIN
    F_BOOL(1, &lt->utc);
    else if (id == 2 && ty == PQF__TT_STRUCT) PQF_TRY(decode_time_unit(t, &lt->unit));
    FIELDS_END;
done:
    return rc;
}

static pqf_err decode_decimal(pqf__tr *t, pqf_logical *lt)
{
    pqf_err rc = PQF_OK;
    FIELDS_BEGIN
    F_I32(1, &lt->scale);
    F_I32(2, &lt->precision);
    FIELDS_END;
done:
    return rc;
}

static pqf_err decode_int_type(pqf__tr *t, pqf_logical *lt)
{
    pqf_err rc = PQF_OK;
    FIELDS_BEGIN
    else if (id == 1 && ty == PQF__TT_BYTE) PQF_TRY(pqf__tr_i8(t, &lt->bit_width));
    F_BOOL(2, &lt->is_signed);
    FIELDS_END;
done:
    return rc;
}

static pqf_err decode_logical(pqf__tr *t, pqf_logical *lt, int *extra)
{
    pqf_err rc = PQF_OK;
    memset(lt, 0, sizeof *lt);
    *extra = PQF__LTX_NONE;
    FIELDS_BEGIN
    else if (ty == PQF__TT_STRUCT)
    {
        switch (id) {
        case 5:
            lt->kind = PQF_LT_DECIMAL;
            PQF_TRY(decode_decimal(t, lt));
            break;
        case 7:
            lt->kind = PQF_LT_TIME;
            PQF_TRY(decode_timeish(t, lt));
            break;
        case 8:
            lt->kind = PQF_LT_TIMESTAMP;
            PQF_TRY(decode_timeish(t, lt));
            break;
        case 10:
            lt->kind = PQF_LT_INT;
            PQF_TRY(decode_int_type(t, lt));
            break;
        default: {
            static const pqf_logical_kind simple[19] = {
                [1] = PQF_LT_STRING, [2] = PQF_LT_MAP,      [3] = PQF_LT_LIST,
                [4] = PQF_LT_ENUM,   [6] = PQF_LT_DATE,     [11] = PQF_LT_UNKNOWN,
                [12] = PQF_LT_JSON,  [13] = PQF_LT_BSON,    [14] = PQF_LT_UUID,
                [15] = PQF_LT_FLOAT16};
            if (id > 0 && id < 19 && simple[id])
                lt->kind = simple[id];
            else
                *extra = id == 16 ? PQF__LTX_VARIANT
                         : id == 17 ? PQF__LTX_GEOMETRY
                         : id == 18 ? PQF__LTX_GEOGRAPHY
                                    : PQF__LTX_OTHER;
            PQF_TRY(pqf__tr_skip(t, ty));
        }
        }
    }
    FIELDS_END;
done:
    return rc;
}

static pqf_err decode_schema_elem(pqf__tr *t, pqf__arena *a, pqf__schema_elem *e)
{
    pqf_err rc = PQF_OK;
    e->num_children = -1;
    e->converted_type = -1;
    FIELDS_BEGIN
    else if (id == 1 && ty == PQF__TT_I32)
    {
        e->has_type = true;
        PQF_TRY(pqf__tr_i32(t, &e->type));
    }
    F_I32(2, &e->type_length);
    else if (id == 3 && ty == PQF__TT_I32)
    {
        e->has_repetition = true;
        PQF_TRY(pqf__tr_i32(t, &e->repetition));
    }
    else if (id == 4 && ty == PQF__TT_BINARY) PQF_TRY(read_str(t, a, &e->name));
    F_I32(5, &e->num_children);
    F_I32(6, &e->converted_type);
    F_I32(7, &e->scale);
    F_I32(8, &e->precision);
    else if (id == 9 && ty == PQF__TT_I32)
    {
        e->has_field_id = true;
        PQF_TRY(pqf__tr_i32(t, &e->field_id));
    }
    else if (id == 10 && ty == PQF__TT_STRUCT)
    {
        e->has_logical = true;
        PQF_TRY(decode_logical(t, &e->logical, &e->logical_extra));
    }
    FIELDS_END;
    if (!e->name)
        PQF_FAIL(t->err, PQF_ERR_CORRUPT, "thrift: schema element without a name at byte %zu",
                 pqf__tr_pos(t));
done:
    return rc;
}

static pqf_err decode_kv(pqf__tr *t, pqf__arena *a, pqf__kv *kv)
{
    pqf_err rc = PQF_OK;
    FIELDS_BEGIN
    else if (id == 1 && ty == PQF__TT_BINARY) PQF_TRY(read_str(t, a, &kv->key));
    else if (id == 2 && ty == PQF__TT_BINARY)
    {
        const uint8_t *p;
        uint32_t n;
        PQF_TRY(pqf__tr_binary(t, &p, &n));
        kv->value = pqf__arena_strdup(a, p, n, t->err);
        if (!kv->value)
            PQF_TRY(arena_fail(t));
        kv->value_len = n;
    }
    FIELDS_END;
    if (!kv->key)
        kv->key = "";
done:
    return rc;
}

static pqf_err decode_kv_list(pqf__tr *t, pqf__arena *a, uint32_t *n, pqf__kv **kv)
{
    pqf_err rc = PQF_OK;
    void *arr = NULL;
    PQF_TRY(list_header(t, a, PQF__TT_STRUCT, sizeof **kv, n, &arr));
    *kv = arr;
    for (uint32_t i = 0; i < *n; i++)
        PQF_TRY(decode_kv(t, a, &(*kv)[i]));
    PQF_TRY(pqf__tr_list_end(t));
done:
    return rc;
}

static pqf_err decode_i32_list(pqf__tr *t, pqf__arena *a, uint32_t *n, int32_t **out)
{
    pqf_err rc = PQF_OK;
    void *arr = NULL;
    PQF_TRY(list_header(t, a, PQF__TT_I32, sizeof **out, n, &arr));
    *out = arr;
    for (uint32_t i = 0; i < *n; i++)
        PQF_TRY(pqf__tr_i32(t, &(*out)[i]));
    PQF_TRY(pqf__tr_list_end(t));
done:
    return rc;
}

static pqf_err decode_enc_stats(pqf__tr *t, pqf__page_enc_stats *s)
{
    pqf_err rc = PQF_OK;
    FIELDS_BEGIN
    F_I32(1, &s->page_type);
    F_I32(2, &s->encoding);
    F_I32(3, &s->count);
    FIELDS_END;
done:
    return rc;
}

static pqf_err decode_column_meta(pqf__tr *t, pqf__arena *a, pqf__column_meta *m)
{
    pqf_err rc = PQF_OK;
    void *arr = NULL;
    m->index_page_offset = -1;
    m->dictionary_page_offset = -1;
    m->bloom_filter_offset = -1;
    m->bloom_filter_length = -1;
    m->type = -1;
    m->codec = -1;
    m->data_page_offset = -1;
    FIELDS_BEGIN
    F_I32(1, &m->type);
    else if (id == 2 && ty == PQF__TT_LIST) PQF_TRY(decode_i32_list(t, a, &m->nencodings, &m->encodings));
    else if (id == 3 && ty == PQF__TT_LIST)
    {
        PQF_TRY(list_header(t, a, PQF__TT_BINARY, sizeof *m->path, &m->npath, &arr));
        m->path = arr;
        for (uint32_t i = 0; i < m->npath; i++)
            PQF_TRY(read_str(t, a, &m->path[i]));
        PQF_TRY(pqf__tr_list_end(t));
    }
    F_I32(4, &m->codec);
    F_I64(5, &m->num_values);
    F_I64(6, &m->total_uncompressed_size);
    F_I64(7, &m->total_compressed_size);
    else if (id == 8 && ty == PQF__TT_LIST) PQF_TRY(decode_kv_list(t, a, &m->nkv, &m->kv));
    F_I64(9, &m->data_page_offset);
    F_I64(10, &m->index_page_offset);
    F_I64(11, &m->dictionary_page_offset);
    else if (id == 12 && ty == PQF__TT_STRUCT) PQF_TRY(decode_stats(t, &m->stats));
    else if (id == 13 && ty == PQF__TT_LIST)
    {
        PQF_TRY(list_header(t, a, PQF__TT_STRUCT, sizeof *m->enc_stats, &m->nenc_stats, &arr));
        m->enc_stats = arr;
        for (uint32_t i = 0; i < m->nenc_stats; i++)
            PQF_TRY(decode_enc_stats(t, &m->enc_stats[i]));
        PQF_TRY(pqf__tr_list_end(t));
    }
    F_I64(14, &m->bloom_filter_offset);
    F_I32(15, &m->bloom_filter_length);
    else if (id == 16 && ty == PQF__TT_STRUCT)
    {
        m->has_size_stats = true;
        PQF_TRY(pqf__tr_skip(t, ty));
    }
    else if (id == 17 && ty == PQF__TT_STRUCT)
    {
        m->has_geo_stats = true;
        PQF_TRY(pqf__tr_skip(t, ty));
    }
    FIELDS_END;
done:
    return rc;
}

static pqf_err decode_column_chunk(pqf__tr *t, pqf__arena *a, pqf__column_chunk *c)
{
    pqf_err rc = PQF_OK;
    c->offset_index_offset = -1;
    c->column_index_offset = -1;
    FIELDS_BEGIN
    else if (id == 1 && ty == PQF__TT_BINARY) PQF_TRY(read_str(t, a, &c->file_path));
    F_I64(2, &c->file_offset);
    else if (id == 3 && ty == PQF__TT_STRUCT)
    {
        c->has_meta = true;
        PQF_TRY(decode_column_meta(t, a, &c->meta));
    }
    F_I64(4, &c->offset_index_offset);
    F_I32(5, &c->offset_index_length);
    F_I64(6, &c->column_index_offset);
    F_I32(7, &c->column_index_length);
    else if ((id == 8 && ty == PQF__TT_STRUCT) || (id == 9 && ty == PQF__TT_BINARY))
    {
        c->encrypted = true;
        PQF_TRY(pqf__tr_skip(t, ty));
    }
    FIELDS_END;
done:
    return rc;
}

static pqf_err decode_sorting(pqf__tr *t, pqf__sorting_column *s)
{
    pqf_err rc = PQF_OK;
    FIELDS_BEGIN
    F_I32(1, &s->column_idx);
    F_BOOL(2, &s->descending);
    F_BOOL(3, &s->nulls_first);
    FIELDS_END;
done:
    return rc;
}

static pqf_err decode_row_group(pqf__tr *t, pqf__arena *a, pqf__row_group *g)
{
    pqf_err rc = PQF_OK;
    void *arr = NULL;
    g->file_offset = -1;
    g->total_compressed_size = -1;
    g->ordinal = -1;
    FIELDS_BEGIN
    else if (id == 1 && ty == PQF__TT_LIST)
    {
        PQF_TRY(list_header(t, a, PQF__TT_STRUCT, sizeof *g->columns, &g->ncolumns, &arr));
        g->columns = arr;
        for (uint32_t i = 0; i < g->ncolumns; i++)
            PQF_TRY(decode_column_chunk(t, a, &g->columns[i]));
        PQF_TRY(pqf__tr_list_end(t));
    }
    F_I64(2, &g->total_byte_size);
    F_I64(3, &g->num_rows);
    else if (id == 4 && ty == PQF__TT_LIST)
    {
        PQF_TRY(list_header(t, a, PQF__TT_STRUCT, sizeof *g->sorting, &g->nsorting, &arr));
        g->sorting = arr;
        for (uint32_t i = 0; i < g->nsorting; i++)
            PQF_TRY(decode_sorting(t, &g->sorting[i]));
        PQF_TRY(pqf__tr_list_end(t));
    }
    F_I64(5, &g->file_offset);
    F_I64(6, &g->total_compressed_size);
    else if (id == 7 && ty == PQF__TT_I16)
    {
        int16_t v;
        PQF_TRY(pqf__tr_i16(t, &v));
        g->ordinal = v;
    }
    FIELDS_END;
done:
    return rc;
}

pqf_err pqf__meta_file(pqf__arena *a, const uint8_t *data, size_t len, pqf__file_meta **out,
                       pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__tr tr, *t = &tr;
    void *arr = NULL;
    bool have_schema = false, have_rg = false, have_rows = false;
    pqf__tr_init(t, data, len, err);
    pqf__file_meta *m = pqf__arena_alloc(a, sizeof *m, err);
    if (!m)
        PQF_TRY(err && err->code ? err->code : PQF_ERR_NOMEM);
    FIELDS_BEGIN
    F_I32(1, &m->version);
    else if (id == 2 && ty == PQF__TT_LIST)
    {
        have_schema = true;
        PQF_TRY(list_header(t, a, PQF__TT_STRUCT, sizeof *m->schema, &m->nschema, &arr));
        m->schema = arr;
        for (uint32_t i = 0; i < m->nschema; i++)
            PQF_TRY(decode_schema_elem(t, a, &m->schema[i]));
        PQF_TRY(pqf__tr_list_end(t));
    }
    else if (id == 3 && ty == PQF__TT_I64)
    {
        have_rows = true;
        PQF_TRY(pqf__tr_i64(t, &m->num_rows));
    }
    else if (id == 4 && ty == PQF__TT_LIST)
    {
        have_rg = true;
        PQF_TRY(list_header(t, a, PQF__TT_STRUCT, sizeof *m->row_groups, &m->nrow_groups, &arr));
        m->row_groups = arr;
        for (uint32_t i = 0; i < m->nrow_groups; i++)
            PQF_TRY(decode_row_group(t, a, &m->row_groups[i]));
        PQF_TRY(pqf__tr_list_end(t));
    }
    else if (id == 5 && ty == PQF__TT_LIST) PQF_TRY(decode_kv_list(t, a, &m->nkv, &m->kv));
    else if (id == 6 && ty == PQF__TT_BINARY) PQF_TRY(read_str(t, a, &m->created_by));
    else if (id == 7 && ty == PQF__TT_LIST)
    {
        PQF_TRY(list_header(t, a, PQF__TT_STRUCT, sizeof *m->column_orders, &m->ncolumn_orders,
                            &arr));
        m->column_orders = arr;
        for (uint32_t i = 0; i < m->ncolumn_orders; i++) {
            int member;
            PQF_TRY(union_member(t, &member));
            m->column_orders[i] = member;
        }
        PQF_TRY(pqf__tr_list_end(t));
    }
    else if (id == 8 && ty == PQF__TT_STRUCT)
    {
        m->encrypted = true;
        PQF_TRY(pqf__tr_skip(t, ty));
    }
    FIELDS_END;
    if (!have_schema || !have_rg || !have_rows)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "footer lacks %s", !have_schema ? "the schema"
                                                          : !have_rg  ? "the row groups"
                                                                      : "num_rows");
    *out = m;
done:
    return rc;
}

static pqf_err decode_data_v1(pqf__tr *t, pqf__page_header *h)
{
    pqf_err rc = PQF_OK;
    FIELDS_BEGIN
    F_I32(1, &h->data.num_values);
    F_I32(2, &h->data.encoding);
    F_I32(3, &h->data.def_encoding);
    F_I32(4, &h->data.rep_encoding);
    else if (id == 5 && ty == PQF__TT_STRUCT) PQF_TRY(decode_stats(t, &h->data.stats));
    FIELDS_END;
done:
    return rc;
}

static pqf_err decode_dict_hdr(pqf__tr *t, pqf__page_header *h)
{
    pqf_err rc = PQF_OK;
    FIELDS_BEGIN
    F_I32(1, &h->dict.num_values);
    F_I32(2, &h->dict.encoding);
    F_BOOL(3, &h->dict.is_sorted);
    FIELDS_END;
done:
    return rc;
}

static pqf_err decode_data_v2(pqf__tr *t, pqf__page_header *h)
{
    pqf_err rc = PQF_OK;
    FIELDS_BEGIN
    F_I32(1, &h->v2.num_values);
    F_I32(2, &h->v2.num_nulls);
    F_I32(3, &h->v2.num_rows);
    F_I32(4, &h->v2.encoding);
    F_I32(5, &h->v2.def_length);
    F_I32(6, &h->v2.rep_length);
    F_BOOL(7, &h->v2.is_compressed);
    else if (id == 8 && ty == PQF__TT_STRUCT) PQF_TRY(decode_stats(t, &h->v2.stats));
    FIELDS_END;
done:
    return rc;
}

pqf_err pqf__meta_page_header(const uint8_t *data, size_t len, pqf__page_header *h,
                              size_t *hdr_len, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__tr tr, *t = &tr;
    bool have_type = false, have_u = false, have_c = false;
    pqf__tr_init(t, data, len, err);
    memset(h, 0, sizeof *h);
    h->v2.is_compressed = true;
    FIELDS_BEGIN
    else if (id == 1 && ty == PQF__TT_I32)
    {
        have_type = true;
        PQF_TRY(pqf__tr_i32(t, &h->type));
    }
    else if (id == 2 && ty == PQF__TT_I32)
    {
        have_u = true;
        PQF_TRY(pqf__tr_i32(t, &h->uncompressed_size));
    }
    else if (id == 3 && ty == PQF__TT_I32)
    {
        have_c = true;
        PQF_TRY(pqf__tr_i32(t, &h->compressed_size));
    }
    else if (id == 4 && ty == PQF__TT_I32)
    {
        int32_t crc;
        PQF_TRY(pqf__tr_i32(t, &crc));
        h->has_crc = true;
        h->crc = (uint32_t)crc;
    }
    else if (id == 5 && ty == PQF__TT_STRUCT)
    {
        h->has_data = true;
        PQF_TRY(decode_data_v1(t, h));
    }
    else if (id == 6 && ty == PQF__TT_STRUCT)
    {
        h->has_index = true;
        PQF_TRY(pqf__tr_skip(t, ty));
    }
    else if (id == 7 && ty == PQF__TT_STRUCT)
    {
        h->has_dict = true;
        PQF_TRY(decode_dict_hdr(t, h));
    }
    else if (id == 8 && ty == PQF__TT_STRUCT)
    {
        h->has_data_v2 = true;
        PQF_TRY(decode_data_v2(t, h));
    }
    FIELDS_END;
    if (!have_type || !have_u || !have_c)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "page header lacks its %s",
                 !have_type ? "type" : !have_u ? "uncompressed size" : "compressed size");
    if (h->uncompressed_size < 0 || h->compressed_size < 0)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "page header has a negative size");
    *hdr_len = pqf__tr_pos(t);
done:
    return rc;
}

pqf_err pqf__meta_column_index(pqf__arena *a, const uint8_t *data, size_t len,
                               pqf__column_index *ci, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__tr tr, *t = &tr;
    void *arr = NULL;
    uint32_t n, ncounts = 0;
    bool have_nulls = false, have_min = false, have_max = false;
    pqf__tr_init(t, data, len, err);
    memset(ci, 0, sizeof *ci);
    FIELDS_BEGIN
    else if (id == 1 && ty == PQF__TT_LIST)
    {
        PQF_TRY(list_header(t, a, PQF__TT_BOOL_TRUE, sizeof *ci->null_pages, &n, &arr));
        if (have_min || have_max) {
            if (n != ci->npages)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "column index lists differ in length");
        }
        ci->npages = n;
        ci->null_pages = arr;
        for (uint32_t i = 0; i < n; i++)
            PQF_TRY(pqf__tr_bool(t, PQF__TT_BOOL_ELEM, &ci->null_pages[i]));
        PQF_TRY(pqf__tr_list_end(t));
        have_nulls = true;
    }
    else if ((id == 2 || id == 3) && ty == PQF__TT_LIST)
    {
        PQF_TRY(list_header(t, a, PQF__TT_BINARY, sizeof(pqf__bytes), &n, &arr));
        if ((have_nulls || have_min || have_max) && n != ci->npages)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "column index lists differ in length");
        ci->npages = n;
        pqf__bytes *v = arr;
        for (uint32_t i = 0; i < n; i++)
            PQF_TRY(read_bytes(t, &v[i]));
        PQF_TRY(pqf__tr_list_end(t));
        if (id == 2) {
            ci->min_values = v;
            have_min = true;
        } else {
            ci->max_values = v;
            have_max = true;
        }
    }
    F_I32(4, &ci->boundary_order);
    else if (id == 5 && ty == PQF__TT_LIST)
    {
        PQF_TRY(list_header(t, a, PQF__TT_I64, sizeof *ci->null_counts, &n, &arr));
        ci->null_counts = arr;
        for (uint32_t i = 0; i < n; i++)
            PQF_TRY(pqf__tr_i64(t, &ci->null_counts[i]));
        PQF_TRY(pqf__tr_list_end(t));
        ci->has_null_counts = true;
        ncounts = n; /* checked against npages once every list is read */
    }
    FIELDS_END;
    if (!have_nulls || !have_min || !have_max)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "column index lacks null_pages, min_values or max_values");
    /* null_counts may come in any order: npages is the other lists' length */
    if (ci->has_null_counts && ncounts != ci->npages)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "column index null_counts length differs");
done:
    return rc;
}

static pqf_err decode_page_location(pqf__tr *t, pqf__page_location *l)
{
    pqf_err rc = PQF_OK;
    FIELDS_BEGIN
    F_I64(1, &l->offset);
    F_I32(2, &l->compressed_page_size);
    F_I64(3, &l->first_row_index);
    FIELDS_END;
done:
    return rc;
}

pqf_err pqf__meta_offset_index(pqf__arena *a, const uint8_t *data, size_t len,
                               pqf__offset_index *oi, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__tr tr, *t = &tr;
    void *arr = NULL;
    bool have = false;
    pqf__tr_init(t, data, len, err);
    memset(oi, 0, sizeof *oi);
    FIELDS_BEGIN
    else if (id == 1 && ty == PQF__TT_LIST)
    {
        PQF_TRY(list_header(t, a, PQF__TT_STRUCT, sizeof *oi->locations, &oi->npages, &arr));
        oi->locations = arr;
        for (uint32_t i = 0; i < oi->npages; i++)
            PQF_TRY(decode_page_location(t, &oi->locations[i]));
        PQF_TRY(pqf__tr_list_end(t));
        have = true;
    }
    FIELDS_END;
    if (!have)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "offset index lacks page_locations");
done:
    return rc;
}

pqf_err pqf__meta_bloom_header(const uint8_t *data, size_t len, pqf__bloom_header *h,
                               size_t *hdr_len, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__tr tr, *t = &tr;
    pqf__tr_init(t, data, len, err);
    memset(h, 0, sizeof *h);
    h->num_bytes = -1;
    FIELDS_BEGIN
    F_I32(1, &h->num_bytes);
    else if (id == 2 && ty == PQF__TT_STRUCT) PQF_TRY(union_member(t, &h->algorithm));
    else if (id == 3 && ty == PQF__TT_STRUCT) PQF_TRY(union_member(t, &h->hash));
    else if (id == 4 && ty == PQF__TT_STRUCT) PQF_TRY(union_member(t, &h->compression));
    FIELDS_END;
    if (h->num_bytes < 0)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "bloom filter header lacks numBytes");
    *hdr_len = pqf__tr_pos(t);
done:
    return rc;
}
