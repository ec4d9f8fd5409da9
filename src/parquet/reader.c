/* The Parquet reader: footer, schema tree, metadata getters, page index,
 * bloom filters, statistics predicates and the column cursor; see
 * include/pqfeed/reader.h. Record assembly and rendering are in rows.c. */
#include "pqfeed/reader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/hash.h"
#include "parquet/codec.h"
#include "parquet/decode.h"
#include "parquet/meta.h"

#define MAX_SCHEMA_DEPTH 64
#define MAX_PAGE_VALUES (16u << 20) /* level slots in one page */
#define MAX_FLBA_LENGTH (1 << 20)

typedef struct rnode {
    pqf_node_info info;
    const pqf__schema_elem *elem;
    int first_child; /* index into child_ids */
    const char *logical_other;
} rnode;

typedef struct chunk_cache {
    bool loaded;
    pqf_err rc;
    pqf__column_index ci;
    pqf__offset_index oi;
    bool has_ci, has_oi;
    pqf_page_location *locs;
    pqf_byteview *mins, *maxs;
} chunk_cache;

struct pqf_reader {
    pqf_istream *in;
    pqf_reader_opts opts;
    pqf_error err;
    pqf__arena arena;
    uint64_t file_size;
    uint64_t footer_len;
    pqf__file_meta *meta;
    int nnodes;
    rnode *nodes;
    int *child_ids;
    int nleaves;
    int *leaf_nodes;
    const char **leaf_paths;
    chunk_cache *cache; /* [rg * nleaves + leaf] */
    pqf_kv **chunk_kv;  /* lazily converted column kv (same index) */
    /* The last freed cursor, buffers kept: the next pqf_column_open reuses
     * its chunk, page and value buffers instead of faulting in fresh pages
     * for every chunk. Holds at most one chunk's worth of memory. */
    struct pqf_column_reader *spare;
};

void pqf_reader_opts_init(pqf_reader_opts *o)
{
    o->max_footer_bytes = 64u << 20;
    o->max_meta_memory = 1u << 30;
    o->max_page_bytes = 256u << 20;
    o->max_chunk_bytes = 2ull << 30;
    o->verify_crc = true;
}

const pqf_error *pqf_reader_error(const pqf_reader *r) { return &r->err; }

static pqf_err read_at(pqf_reader *r, uint64_t off, void *buf, size_t len)
{
    pqf_err rc = pqf_istream_read_at(r->in, off, buf, len);
    if (rc != PQF_OK) {
        const pqf_error *ie = pqf_istream_error(r->in);
        pqf_error_set(&r->err, rc, "%s", ie->msg[0] ? ie->msg : pqf_strerror(rc));
    }
    return rc;
}

/* ---- schema ------------------------------------------------------------------- */

static pqf_logical logical_from_converted(const pqf__schema_elem *e)
{
    pqf_logical lt = {0};
    switch (e->converted_type) {
    case PQF__CT_UTF8: lt.kind = PQF_LT_STRING; break;
    case PQF__CT_ENUM: lt.kind = PQF_LT_ENUM; break;
    case PQF__CT_JSON: lt.kind = PQF_LT_JSON; break;
    case PQF__CT_BSON: lt.kind = PQF_LT_BSON; break;
    case PQF__CT_DATE: lt.kind = PQF_LT_DATE; break;
    case PQF__CT_LIST: lt.kind = PQF_LT_LIST; break;
    case PQF__CT_MAP:
    case PQF__CT_MAP_KEY_VALUE: lt.kind = PQF_LT_MAP; break;
    case PQF__CT_DECIMAL:
        lt.kind = PQF_LT_DECIMAL;
        lt.precision = e->precision;
        lt.scale = e->scale;
        break;
    case PQF__CT_TIME_MILLIS:
    case PQF__CT_TIME_MICROS:
        lt.kind = PQF_LT_TIME;
        lt.utc = true;
        lt.unit = e->converted_type == PQF__CT_TIME_MILLIS ? PQF_MILLIS : PQF_MICROS;
        break;
    case PQF__CT_TIMESTAMP_MILLIS:
    case PQF__CT_TIMESTAMP_MICROS:
        lt.kind = PQF_LT_TIMESTAMP;
        lt.utc = true;
        lt.unit = e->converted_type == PQF__CT_TIMESTAMP_MILLIS ? PQF_MILLIS : PQF_MICROS;
        break;
    default:
        if (e->converted_type >= PQF__CT_UINT_8 && e->converted_type <= PQF__CT_INT_64) {
            int k = e->converted_type - PQF__CT_UINT_8;
            lt.kind = PQF_LT_INT;
            lt.is_signed = k >= 4;
            lt.bit_width = (int8_t)(8 << (k % 4));
        }
    }
    return lt;
}

static pqf_err build_schema(pqf_reader *r)
{
    pqf_err rc = PQF_OK;
    pqf_error *err = &r->err;
    pqf__file_meta *m = r->meta;
    int stack[MAX_SCHEMA_DEPTH + 1], left[MAX_SCHEMA_DEPTH + 1];
    int sp = 0, nchild_total = 0;
    if (m->nschema < 2)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "schema has no columns");
    if (m->nschema > (1u << 24))
        PQF_FAIL(err, PQF_ERR_LIMIT, "schema has %u elements", m->nschema);
    r->nnodes = (int)m->nschema;
    r->nodes = pqf__arena_array(&r->arena, m->nschema, sizeof *r->nodes, err);
    r->child_ids = pqf__arena_array(&r->arena, m->nschema, sizeof *r->child_ids, err);
    r->leaf_nodes = pqf__arena_array(&r->arena, m->nschema, sizeof *r->leaf_nodes, err);
    if (!r->nodes || !r->child_ids || !r->leaf_nodes)
        PQF_TRY(err->code);
    for (int i = 0; i < r->nnodes; i++) {
        const pqf__schema_elem *e = &m->schema[i];
        rnode *n = &r->nodes[i];
        pqf_node_info *in = &n->info;
        n->elem = e;
        in->name = e->name;
        in->field_id = e->has_field_id ? e->field_id : -1;
        in->leaf = -1;
        in->parent = i == 0 ? -1 : stack[sp - 1];
        in->is_group = i == 0 || e->num_children > 0 || !e->has_type;
        in->repetition = PQF_REQUIRED;
        if (i > 0) {
            if (!e->has_repetition && i > 0)
                in->repetition = PQF_OPTIONAL; /* missing: as Arrow reads it */
            else if (e->repetition < 0 || e->repetition > 2)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "schema element '%s' has repetition %d", e->name,
                         (int)e->repetition);
            else
                in->repetition = (pqf_repetition)e->repetition;
        }
        if (e->has_logical && e->logical.kind != PQF_LT_NONE) {
            in->logical = e->logical;
            if (in->logical.kind == PQF_LT_INT && in->logical.bit_width != 8 &&
                in->logical.bit_width != 16 && in->logical.bit_width != 32 &&
                in->logical.bit_width != 64)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "column '%s' has INT bit width %d", e->name,
                         in->logical.bit_width);
        } else {
            in->logical = logical_from_converted(e);
        }
        if (e->has_logical && e->logical_extra)
            n->logical_other = e->logical_extra == PQF__LTX_VARIANT    ? "VARIANT"
                               : e->logical_extra == PQF__LTX_GEOMETRY ? "GEOMETRY"
                               : e->logical_extra == PQF__LTX_GEOGRAPHY ? "GEOGRAPHY"
                                                                        : "UNKNOWN_LOGICAL_TYPE";
        if (in->parent >= 0) {
            const pqf_node_info *p = &r->nodes[in->parent].info;
            in->max_def = (int16_t)(p->max_def + (in->repetition != PQF_REQUIRED));
            in->max_rep = (int16_t)(p->max_rep + (in->repetition == PQF_REPEATED));
            r->nodes[in->parent].info.nchildren++;
            r->child_ids[nchild_total++] = i;
            left[sp - 1]--;
        }
        if (in->is_group) {
            if (e->num_children <= 0)
                PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "schema group '%s' has no children", e->name);
            if (sp >= MAX_SCHEMA_DEPTH)
                PQF_FAIL(err, PQF_ERR_LIMIT, "schema nested deeper than %d levels",
                         MAX_SCHEMA_DEPTH);
            n->first_child = nchild_total;
            stack[sp] = i;
            left[sp] = e->num_children;
            sp++;
            if (e->num_children > r->nnodes - i - 1)
                PQF_FAIL(err, PQF_ERR_CORRUPT,
                         "schema group '%s' claims %d children, %d elements remain", e->name,
                         (int)e->num_children, r->nnodes - i - 1);
        } else {
            if (e->type < 0 || e->type > PQF_FIXED_LEN_BYTE_ARRAY)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "column '%s' has physical type %d", e->name,
                         (int)e->type);
            in->physical = (pqf_physical)e->type;
            in->type_length = e->type_length;
            if (in->physical == PQF_FIXED_LEN_BYTE_ARRAY &&
                (e->type_length <= 0 || e->type_length > MAX_FLBA_LENGTH))
                PQF_FAIL(err, PQF_ERR_CORRUPT, "column '%s' has fixed length %d", e->name,
                         (int)e->type_length);
            in->leaf = r->nleaves;
            r->leaf_nodes[r->nleaves++] = i;
        }
        while (sp > 0 && left[sp - 1] == 0)
            sp--;
        if (sp == 0 && i != r->nnodes - 1)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "schema has %d elements after the tree ends",
                     r->nnodes - i - 1);
    }
    if (sp != 0)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "schema ends inside a group (truncated schema)");
    /* Child lists in preorder are not contiguous per group; rebuild them. */
    {
        int pos = 0;
        for (int i = 0; i < r->nnodes; i++) {
            r->nodes[i].first_child = pos;
            pos += r->nodes[i].info.nchildren;
            r->nodes[i].info.nchildren = 0;
        }
        for (int i = 1; i < r->nnodes; i++) {
            rnode *p = &r->nodes[r->nodes[i].info.parent];
            r->child_ids[p->first_child + p->info.nchildren++] = i;
        }
    }
    r->leaf_paths = pqf__arena_array(&r->arena, (size_t)r->nleaves, sizeof(char *), err);
    if (!r->leaf_paths)
        PQF_TRY(err->code);
    for (int l = 0; l < r->nleaves; l++) {
        int chain[MAX_SCHEMA_DEPTH + 1], nc = 0;
        size_t len = 0;
        for (int n = r->leaf_nodes[l]; n > 0; n = r->nodes[n].info.parent) {
            chain[nc++] = n;
            len += strlen(r->nodes[n].info.name) + 1;
        }
        char *s = pqf__arena_alloc(&r->arena, len + 1, err);
        if (!s)
            PQF_TRY(err->code);
        size_t o = 0;
        for (int k = nc - 1; k >= 0; k--) {
            size_t nl = strlen(r->nodes[chain[k]].info.name);
            memcpy(s + o, r->nodes[chain[k]].info.name, nl);
            o += nl;
            if (k)
                s[o++] = '.';
        }
        s[o] = 0;
        r->leaf_paths[l] = s;
    }
done:
    return rc;
}

/* ---- open ---------------------------------------------------------------------- */

pqf_err pqf_reader_open(pqf_istream *in, const pqf_reader_opts *opts, pqf_reader **out,
                        pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_reader *r = calloc(1, sizeof *r);
    uint8_t tail[8], head[4];
    *out = NULL;
    if (!r)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    r->in = in;
    if (opts)
        r->opts = *opts;
    else
        pqf_reader_opts_init(&r->opts);
    r->file_size = pqf_istream_size(in);
    pqf__arena_init(&r->arena, (size_t)PQF_MIN(r->opts.max_meta_memory, (uint64_t)SIZE_MAX / 2));
    if (r->file_size < 12)
        PQF_FAIL(&r->err, PQF_ERR_CORRUPT, "not a Parquet file: %llu bytes is too small",
                 (unsigned long long)r->file_size);
    PQF_TRY(read_at(r, r->file_size - 8, tail, 8));
    PQF_TRY(read_at(r, 0, head, 4));
    if (memcmp(tail + 4, "PARE", 4) == 0)
        PQF_FAIL(&r->err, PQF_ERR_UNSUPPORTED,
                 "encrypted, not supported: the footer is encrypted (PARE)");
    if (memcmp(tail + 4, "PAR1", 4) != 0 || memcmp(head, "PAR1", 4) != 0)
        PQF_FAIL(&r->err, PQF_ERR_CORRUPT, "not a Parquet file: no PAR1 magic at %s",
                 memcmp(head, "PAR1", 4) != 0 ? "the start" : "the end");
    r->footer_len = pqf__load32le(tail);
    if (r->footer_len > r->file_size - 12)
        PQF_FAIL(&r->err, PQF_ERR_CORRUPT, "footer of %llu bytes does not fit a %llu byte file",
                 (unsigned long long)r->footer_len, (unsigned long long)r->file_size);
    if (r->footer_len > r->opts.max_footer_bytes)
        PQF_FAIL(&r->err, PQF_ERR_LIMIT, "footer of %llu bytes exceeds the cap of %llu",
                 (unsigned long long)r->footer_len, (unsigned long long)r->opts.max_footer_bytes);
    {
        uint8_t *fb = pqf__arena_alloc(&r->arena, (size_t)r->footer_len, &r->err);
        if (!fb)
            PQF_TRY(r->err.code);
        PQF_TRY(read_at(r, r->file_size - 8 - r->footer_len, fb, (size_t)r->footer_len));
        rc = pqf__meta_file(&r->arena, fb, (size_t)r->footer_len, &r->meta, &r->err);
        if (rc != PQF_OK) {
            pqf_error_prefix(&r->err, "footer: ");
            goto done;
        }
    }
    if (r->meta->encrypted)
        PQF_FAIL(&r->err, PQF_ERR_UNSUPPORTED,
                 "encrypted, not supported: the file has an encryption algorithm "
                 "(plaintext footer)");
    PQF_TRY(build_schema(r));
    if (r->meta->num_rows < 0)
        PQF_FAIL(&r->err, PQF_ERR_CORRUPT, "footer: negative row count");
    for (uint32_t g = 0; g < r->meta->nrow_groups; g++) {
        const pqf__row_group *rg = &r->meta->row_groups[g];
        if (rg->ncolumns != (uint32_t)r->nleaves)
            PQF_FAIL(&r->err, PQF_ERR_CORRUPT, "row group %u has %u column chunks for %d columns",
                     g, rg->ncolumns, r->nleaves);
        if (rg->num_rows < 0)
            PQF_FAIL(&r->err, PQF_ERR_CORRUPT, "row group %u has a negative row count", g);
        for (uint32_t c = 0; c < rg->ncolumns; c++)
            if (rg->columns[c].encrypted)
                PQF_FAIL(&r->err, PQF_ERR_UNSUPPORTED,
                         "encrypted, not supported: column '%s' is encrypted", r->leaf_paths[c]);
    }
    {
        size_t ncache = (size_t)r->meta->nrow_groups * (size_t)r->nleaves;
        r->cache = pqf__arena_array(&r->arena, ncache, sizeof *r->cache, &r->err);
        r->chunk_kv = pqf__arena_array(&r->arena, ncache, sizeof *r->chunk_kv, &r->err);
        if (!r->cache || !r->chunk_kv)
            PQF_TRY(r->err.code);
    }
    *out = r;
    r = NULL;
done:
    if (r) {
        if (err && err != &r->err)
            *err = r->err;
        pqf__arena_free(&r->arena);
        free(r);
    }
    return rc;
}

static void column_destroy(struct pqf_column_reader *c);

void pqf_reader_free(pqf_reader *r)
{
    if (!r)
        return;
    column_destroy(r->spare);
    pqf__arena_free(&r->arena);
    free(r);
}

/* ---- getters -------------------------------------------------------------------- */

int64_t pqf_reader_num_rows(const pqf_reader *r) { return r->meta->num_rows; }
int32_t pqf_reader_version(const pqf_reader *r) { return r->meta->version; }
const char *pqf_reader_created_by(const pqf_reader *r) { return r->meta->created_by; }
uint64_t pqf_reader_footer_size(const pqf_reader *r) { return r->footer_len; }
size_t pqf_reader_kv_count(const pqf_reader *r) { return r->meta->nkv; }

pqf_err pqf_reader_kv(const pqf_reader *r, size_t i, const char **key, const char **value)
{
    if (i >= r->meta->nkv)
        return PQF_ERR_INVALID_ARG;
    *key = r->meta->kv[i].key;
    *value = r->meta->kv[i].value;
    return PQF_OK;
}

int pqf_reader_node_count(const pqf_reader *r) { return r->nnodes; }

pqf_err pqf_reader_node(const pqf_reader *r, int node, pqf_node_info *info)
{
    if (node < 0 || node >= r->nnodes)
        return PQF_ERR_INVALID_ARG;
    *info = r->nodes[node].info;
    return PQF_OK;
}

int pqf_reader_node_child(const pqf_reader *r, int node, int i)
{
    if (node < 0 || node >= r->nnodes || i < 0 || i >= r->nodes[node].info.nchildren)
        return -1;
    return r->child_ids[r->nodes[node].first_child + i];
}

int pqf_reader_node_converted(const pqf_reader *r, int node)
{
    if (node < 0 || node >= r->nnodes)
        return -1;
    return r->nodes[node].elem->converted_type;
}

const char *pqf_reader_node_logical_other(const pqf_reader *r, int node)
{
    if (node < 0 || node >= r->nnodes)
        return NULL;
    return r->nodes[node].logical_other;
}

int pqf_reader_leaf_count(const pqf_reader *r) { return r->nleaves; }

int pqf_reader_leaf_node(const pqf_reader *r, int leaf)
{
    return leaf >= 0 && leaf < r->nleaves ? r->leaf_nodes[leaf] : -1;
}

const char *pqf_reader_leaf_path(const pqf_reader *r, int leaf)
{
    return leaf >= 0 && leaf < r->nleaves ? r->leaf_paths[leaf] : NULL;
}

int pqf_reader_find_leaf(const pqf_reader *r, const char *path)
{
    for (int l = 0; l < r->nleaves; l++)
        if (strcmp(r->leaf_paths[l], path) == 0)
            return l;
    return -1;
}

static pqf_err add_node_to_schema(const pqf_reader *r, pqf_schema *s, int node, int parent_id,
                                  pqf_error *err)
{
    const pqf_node_info *in = &r->nodes[node].info;
    const pqf_logical *lt = in->logical.kind != PQF_LT_NONE ? &in->logical : NULL;
    if (!in->is_group)
        return pqf_schema_add_column(s, parent_id, in->name, in->repetition, in->physical,
                                     in->type_length, lt, in->field_id, err) < 0
                   ? err->code
                   : PQF_OK;
    int id;
    if (in->logical.kind == PQF_LT_LIST) {
        int rep = pqf_reader_node_child(r, node, 0);
        if (in->nchildren != 1 || rep < 0 || r->nodes[rep].info.nchildren != 1 ||
            !r->nodes[rep].info.is_group || r->nodes[rep].info.repetition != PQF_REPEATED)
            return pqf_error_set(err, PQF_ERR_UNSUPPORTED,
                                 "list '%s' uses a legacy layout the schema builder does not take",
                                 in->name);
        id = pqf_schema_add_list(s, parent_id, in->name, in->repetition, in->field_id, err);
        if (id < 0)
            return err->code;
        return add_node_to_schema(r, s, pqf_reader_node_child(r, rep, 0), id, err);
    }
    id = pqf_schema_add_group(s, parent_id, in->name, in->repetition, lt, in->field_id, err);
    if (id < 0)
        return err->code;
    for (int i = 0; i < in->nchildren; i++) {
        pqf_err rc = add_node_to_schema(r, s, pqf_reader_node_child(r, node, i), id, err);
        if (rc != PQF_OK)
            return rc;
    }
    return PQF_OK;
}

pqf_err pqf_reader_schema(const pqf_reader *r, pqf_schema **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_schema *s = pqf_schema_create();
    if (!s)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < r->nodes[0].info.nchildren; i++)
        PQF_TRY(add_node_to_schema(r, s, pqf_reader_node_child(r, 0, i), 0, err));
    PQF_TRY(pqf_schema_finish(s, err));
    *out = s;
    s = NULL;
done:
    pqf_schema_free(s);
    return rc;
}

int pqf_reader_row_group_count(const pqf_reader *r) { return (int)r->meta->nrow_groups; }

pqf_err pqf_reader_row_group(const pqf_reader *r, int rg, pqf_row_group_info *info)
{
    if (rg < 0 || (uint32_t)rg >= r->meta->nrow_groups)
        return PQF_ERR_INVALID_ARG;
    const pqf__row_group *g = &r->meta->row_groups[rg];
    info->num_rows = g->num_rows;
    info->total_byte_size = g->total_byte_size;
    info->total_compressed_size = g->total_compressed_size;
    info->file_offset = g->file_offset;
    info->ordinal = g->ordinal;
    info->nsorting = (int)g->nsorting;
    return PQF_OK;
}

static void stats_view(const pqf__stats *s, pqf_stats *v)
{
    memset(v, 0, sizeof *v);
    v->present = s->present;
    if (s->has_min_value || s->has_max_value) {
        v->has_min = s->has_min_value;
        v->has_max = s->has_max_value;
        v->min = (pqf_byteview){s->min_value.p, s->min_value.n};
        v->max = (pqf_byteview){s->max_value.p, s->max_value.n};
    } else if (s->has_min || s->has_max) {
        v->legacy = true;
        v->has_min = s->has_min;
        v->has_max = s->has_max;
        v->min = (pqf_byteview){s->min.p, s->min.n};
        v->max = (pqf_byteview){s->max.p, s->max.n};
    }
    v->min_exact = s->has_min_exact ? s->min_exact : true;
    v->max_exact = s->has_max_exact ? s->max_exact : true;
    v->has_null_count = s->has_null_count;
    v->null_count = s->null_count;
    v->has_distinct_count = s->has_distinct_count;
    v->distinct_count = s->distinct_count;
}

static const pqf__column_chunk *chunk_of(const pqf_reader *r, int rg, int leaf)
{
    if (rg < 0 || (uint32_t)rg >= r->meta->nrow_groups || leaf < 0 || leaf >= r->nleaves)
        return NULL;
    return &r->meta->row_groups[rg].columns[leaf];
}

pqf_err pqf_reader_chunk(const pqf_reader *r, int rg, int leaf, pqf_chunk_info *info)
{
    const pqf__column_chunk *c = chunk_of(r, rg, leaf);
    if (!c)
        return PQF_ERR_INVALID_ARG;
    const pqf__column_meta *m = &c->meta;
    memset(info, 0, sizeof *info);
    info->leaf = leaf;
    info->path = r->leaf_paths[leaf];
    info->physical = c->has_meta ? (pqf_physical)m->type : r->nodes[r->leaf_nodes[leaf]].info.physical;
    info->codec = (pqf_codec)m->codec;
    info->num_values = m->num_values;
    info->total_compressed_size = m->total_compressed_size;
    info->total_uncompressed_size = m->total_uncompressed_size;
    info->data_page_offset = m->data_page_offset;
    info->dictionary_page_offset = m->dictionary_page_offset;
    info->nencodings = (int)m->nencodings;
    info->encodings = m->encodings;
    stats_view(&m->stats, &info->stats);
    info->bloom_offset = m->bloom_filter_offset;
    info->bloom_length = m->bloom_filter_length;
    info->column_index_offset = c->column_index_offset;
    info->column_index_length = c->column_index_length;
    info->offset_index_offset = c->offset_index_offset;
    info->offset_index_length = c->offset_index_length;
    info->file_path = c->file_path;
    if (m->nkv) {
        pqf_reader *rw = (pqf_reader *)r;
        size_t idx = (size_t)rg * (size_t)r->nleaves + (size_t)leaf;
        if (!rw->chunk_kv[idx]) {
            pqf_kv *kv = pqf__arena_array(&rw->arena, m->nkv, sizeof *kv, &rw->err);
            if (!kv)
                return rw->err.code;
            for (uint32_t i = 0; i < m->nkv; i++)
                kv[i] = (pqf_kv){m->kv[i].key, m->kv[i].value};
            rw->chunk_kv[idx] = kv;
        }
        info->nkv = m->nkv;
        info->kv = rw->chunk_kv[idx];
    }
    return PQF_OK;
}

/* ---- page index ------------------------------------------------------------------ */

/* Read a metadata structure at [off, off+len) of the file into the arena. */
static pqf_err read_region(pqf_reader *r, int64_t off, int64_t len, const char *what, uint8_t **out)
{
    pqf_err rc = PQF_OK;
    if (off < 4 || len <= 0 || (uint64_t)off > r->file_size || (uint64_t)len > r->file_size - (uint64_t)off)
        PQF_FAIL(&r->err, PQF_ERR_CORRUPT, "%s at offset %lld, %lld bytes, lies outside the file",
                 what, (long long)off, (long long)len);
    if ((uint64_t)len > r->opts.max_footer_bytes)
        PQF_FAIL(&r->err, PQF_ERR_LIMIT, "%s of %lld bytes exceeds the cap", what, (long long)len);
    *out = pqf__arena_alloc(&r->arena, (size_t)len, &r->err);
    if (!*out)
        PQF_TRY(r->err.code);
    PQF_TRY(read_at(r, (uint64_t)off, *out, (size_t)len));
done:
    return rc;
}

pqf_err pqf_reader_page_index(pqf_reader *r, int rg, int leaf, pqf_page_index *out)
{
    pqf_err rc = PQF_OK;
    const pqf__column_chunk *c = chunk_of(r, rg, leaf);
    chunk_cache *cc;
    memset(out, 0, sizeof *out);
    if (!c)
        return pqf_error_set(&r->err, PQF_ERR_INVALID_ARG, "no row group %d column %d", rg, leaf);
    cc = &r->cache[(size_t)rg * (size_t)r->nleaves + (size_t)leaf];
    if (!cc->loaded) {
        uint8_t *buf;
        cc->loaded = true;
        if (c->offset_index_offset >= 0) {
            rc = read_region(r, c->offset_index_offset, c->offset_index_length, "offset index", &buf);
            if (rc == PQF_OK)
                rc = pqf__meta_offset_index(&r->arena, buf, (size_t)c->offset_index_length, &cc->oi,
                                            &r->err);
            if (rc == PQF_OK) {
                cc->has_oi = true;
                cc->locs = pqf__arena_array(&r->arena, cc->oi.npages, sizeof *cc->locs, &r->err);
                if (!cc->locs)
                    rc = r->err.code;
                for (uint32_t i = 0; rc == PQF_OK && i < cc->oi.npages; i++)
                    cc->locs[i] = (pqf_page_location){cc->oi.locations[i].offset,
                                                      cc->oi.locations[i].compressed_page_size,
                                                      cc->oi.locations[i].first_row_index};
            }
        }
        if (rc == PQF_OK && c->column_index_offset >= 0) {
            rc = read_region(r, c->column_index_offset, c->column_index_length, "column index", &buf);
            if (rc == PQF_OK)
                rc = pqf__meta_column_index(&r->arena, buf, (size_t)c->column_index_length, &cc->ci,
                                            &r->err);
            if (rc == PQF_OK) {
                cc->has_ci = true;
                cc->mins = pqf__arena_array(&r->arena, cc->ci.npages, sizeof *cc->mins, &r->err);
                cc->maxs = pqf__arena_array(&r->arena, cc->ci.npages, sizeof *cc->maxs, &r->err);
                if (!cc->mins || !cc->maxs)
                    rc = r->err.code;
                for (uint32_t i = 0; rc == PQF_OK && i < cc->ci.npages; i++) {
                    cc->mins[i] = (pqf_byteview){cc->ci.min_values[i].p, cc->ci.min_values[i].n};
                    cc->maxs[i] = (pqf_byteview){cc->ci.max_values[i].p, cc->ci.max_values[i].n};
                }
            }
        }
        if (rc == PQF_OK && cc->has_oi && cc->has_ci && cc->oi.npages != cc->ci.npages)
            rc = pqf_error_set(&r->err, PQF_ERR_CORRUPT,
                               "row group %d, column %s: offset index has %u pages, column index %u",
                               rg, r->leaf_paths[leaf], cc->oi.npages, cc->ci.npages);
        if (rc != PQF_OK && r->err.msg[0] && !strstr(r->err.msg, "row group"))
            pqf_error_prefix(&r->err, "row group %d, column %s: ", rg, r->leaf_paths[leaf]);
        cc->rc = rc;
    }
    if (cc->rc != PQF_OK)
        return cc->rc;
    if (!cc->has_oi && !cc->has_ci)
        return pqf_error_set(&r->err, PQF_ERR_NOT_FOUND,
                             "row group %d, column %s has no page index", rg, r->leaf_paths[leaf]);
    out->npages = (int)(cc->has_oi ? cc->oi.npages : cc->ci.npages);
    out->locations = cc->locs;
    out->has_column_index = cc->has_ci;
    if (cc->has_ci) {
        out->null_pages = cc->ci.null_pages;
        out->mins = cc->mins;
        out->maxs = cc->maxs;
        out->null_counts = cc->ci.has_null_counts ? cc->ci.null_counts : NULL;
        out->boundary_order = cc->ci.boundary_order;
    }
    return PQF_OK;
}

/* ---- bloom filter ------------------------------------------------------------------ */

pqf_err pqf_reader_bloom_check(pqf_reader *r, int rg, int leaf, const void *value, size_t len,
                               bool *maybe)
{
    pqf_err rc = PQF_OK;
    const pqf__column_chunk *c = chunk_of(r, rg, leaf);
    uint8_t *buf = NULL;
    pqf__bloom_header h;
    size_t hl = 0, want;
    *maybe = true;
    if (!c)
        PQF_FAIL(&r->err, PQF_ERR_INVALID_ARG, "no row group %d column %d", rg, leaf);
    if (c->meta.bloom_filter_offset < 0)
        PQF_FAIL(&r->err, PQF_ERR_NOT_FOUND, "row group %d, column %s has no bloom filter", rg,
                 r->leaf_paths[leaf]);
    {
        int64_t off = c->meta.bloom_filter_offset;
        if (off < 4 || (uint64_t)off >= r->file_size)
            PQF_FAIL(&r->err, PQF_ERR_CORRUPT, "row group %d, column %s: bloom filter offset %lld outside the file",
                     rg, r->leaf_paths[leaf], (long long)off);
        /* Without a length, read the header generously, then the bitset. */
        want = c->meta.bloom_filter_length > 0 ? (size_t)c->meta.bloom_filter_length : 256;
        want = (size_t)PQF_MIN((uint64_t)want, r->file_size - (uint64_t)off);
        if (want > (128u << 20))
            PQF_FAIL(&r->err, PQF_ERR_LIMIT, "bloom filter of %zu bytes exceeds the cap", want);
        buf = malloc(want ? want : 1);
        if (!buf)
            PQF_FAIL(&r->err, PQF_ERR_NOMEM, "out of memory");
        PQF_TRY(read_at(r, (uint64_t)off, buf, want));
        rc = pqf__meta_bloom_header(buf, want, &h, &hl, &r->err);
        if (rc != PQF_OK) {
            pqf_error_prefix(&r->err, "row group %d, column %s: bloom filter: ", rg, r->leaf_paths[leaf]);
            goto done;
        }
        if (h.algorithm != 1 || h.hash != 1 || h.compression != 1)
            PQF_FAIL(&r->err, PQF_ERR_UNSUPPORTED, "row group %d, column %s: bloom filter algorithm, hash or compression not supported",
                     rg, r->leaf_paths[leaf]);
        if (h.num_bytes < 32 || h.num_bytes % 32 != 0 || h.num_bytes > (128 << 20) ||
            (uint64_t)h.num_bytes > r->file_size - (uint64_t)off - hl)
            PQF_FAIL(&r->err, PQF_ERR_CORRUPT, "row group %d, column %s: bloom filter of %d bytes invalid",
                     rg, r->leaf_paths[leaf], (int)h.num_bytes);
        if (hl + (size_t)h.num_bytes > want) {
            uint8_t *nb = realloc(buf, hl + (size_t)h.num_bytes);
            if (!nb)
                PQF_FAIL(&r->err, PQF_ERR_NOMEM, "out of memory");
            buf = nb;
            PQF_TRY(read_at(r, (uint64_t)off + hl, buf + hl, (size_t)h.num_bytes));
        }
    }
    {
        /* Split-block bloom filter (parquet-format BloomFilter.md). */
        static const uint32_t salt[8] = {0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU,
                                         0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U};
        uint64_t hash = pqf__xxh64(value, len);
        uint64_t nblocks = (uint64_t)h.num_bytes / 32;
        uint64_t bi = ((hash >> 32) * nblocks) >> 32;
        uint32_t key = (uint32_t)hash;
        const uint8_t *blk = buf + hl + bi * 32;
        for (int i = 0; i < 8; i++) {
            uint32_t bit = (key * salt[i]) >> 27;
            uint32_t word = pqf__load32le(blk + 4 * i);
            if (!(word & (1u << bit))) {
                *maybe = false;
                break;
            }
        }
    }
done:
    free(buf);
    return rc;
}

/* ---- comparisons and predicates ----------------------------------------------------- */

static bool leaf_unsigned(const pqf_node_info *in)
{
    return in->logical.kind == PQF_LT_INT && !in->logical.is_signed;
}

/* Compare PLAIN values in the leaf's type-defined order. */
int pqf_reader_compare(const pqf_reader *r, int leaf, const void *a, size_t alen, const void *b,
                       size_t blen)
{
    const pqf_node_info *in = &r->nodes[r->leaf_nodes[leaf]].info;
    const uint8_t *pa = a, *pb = b;
    switch (in->physical) {
    case PQF_BOOLEAN:
        return (alen ? pa[0] : 0) - (blen ? pb[0] : 0);
    case PQF_INT32:
        if (alen < 4 || blen < 4)
            return (int)alen - (int)blen;
        if (leaf_unsigned(in)) {
            uint32_t x = pqf__load32le(pa), y = pqf__load32le(pb);
            return x < y ? -1 : x > y;
        } else {
            int32_t x = (int32_t)pqf__load32le(pa), y = (int32_t)pqf__load32le(pb);
            return x < y ? -1 : x > y;
        }
    case PQF_INT64:
        if (alen < 8 || blen < 8)
            return (int)alen - (int)blen;
        if (leaf_unsigned(in)) {
            uint64_t x = pqf__load64le(pa), y = pqf__load64le(pb);
            return x < y ? -1 : x > y;
        } else {
            int64_t x = (int64_t)pqf__load64le(pa), y = (int64_t)pqf__load64le(pb);
            return x < y ? -1 : x > y;
        }
    case PQF_FLOAT: {
        if (alen < 4 || blen < 4)
            return (int)alen - (int)blen;
        float x, y;
        memcpy(&x, pa, 4);
        memcpy(&y, pb, 4);
        return x < y ? -1 : x > y;
    }
    case PQF_DOUBLE: {
        if (alen < 8 || blen < 8)
            return (int)alen - (int)blen;
        double x, y;
        memcpy(&x, pa, 8);
        memcpy(&y, pb, 8);
        return x < y ? -1 : x > y;
    }
    default:
        if (in->logical.kind == PQF_LT_DECIMAL && alen && blen && alen == blen) {
            /* big-endian two's complement: signed first byte */
            if ((int8_t)pa[0] != (int8_t)pb[0])
                return (int8_t)pa[0] < (int8_t)pb[0] ? -1 : 1;
            int c = memcmp(pa + 1, pb + 1, alen - 1);
            return c < 0 ? -1 : c > 0;
        }
        {
            size_t n = alen < blen ? alen : blen;
            int c = n ? memcmp(pa, pb, n) : 0;
            if (c)
                return c < 0 ? -1 : 1;
            return alen < blen ? -1 : alen > blen;
        }
    }
}

bool pqf_reader_row_group_may_match(const pqf_reader *r, int rg, const pqf_predicate *p)
{
    const pqf__column_chunk *c = chunk_of(r, rg, p ? p->leaf : -1);
    if (!c || !c->has_meta)
        return true;
    if (r->meta->row_groups[rg].num_rows == 0)
        return false;
    pqf_stats st;
    stats_view(&c->meta.stats, &st);
    const pqf_node_info *in = &r->nodes[r->leaf_nodes[p->leaf]].info;
    if (!st.has_min || !st.has_max)
        return true;
    if (st.legacy && (in->physical == PQF_BYTE_ARRAY || in->physical == PQF_FIXED_LEN_BYTE_ARRAY ||
                      leaf_unsigned(in)))
        return true; /* deprecated fields used signed byte order: unusable */
    if (in->physical == PQF_INT96)
        return true;
    int cmin = pqf_reader_compare(r, p->leaf, p->value, p->len, st.min.ptr, st.min.len);
    int cmax = pqf_reader_compare(r, p->leaf, p->value, p->len, st.max.ptr, st.max.len);
    switch (p->op) {
    case PQF_EQ:
        return cmin >= 0 && cmax <= 0;
    case PQF_LT:
        return cmin > 0;
    case PQF_LE:
        return cmin >= 0;
    case PQF_GT:
        return cmax < 0 || !st.max_exact;
    case PQF_GE:
        return cmax <= 0 || !st.max_exact;
    }
    return true;
}

/* ---- column cursor ------------------------------------------------------------------ */

struct pqf_column_reader {
    pqf_reader *r;
    int rg, leaf;
    pqf_node_info info;
    pqf_codec codec;
    uint8_t *chunk; /* the chunk's bytes */
    size_t chunk_cap, chunk_len, pos;
    uint64_t chunk_off;
    int64_t values_left; /* from the column metadata */
    int page;            /* data pages seen */
    /* dictionary */
    bool has_dict;
    uint8_t *dict_buf;
    void *dict_vals;
    uint32_t ndict;
    /* current page */
    uint8_t *page_buf;
    size_t page_cap;
    int16_t *def, *rep;
    size_t lev_cap, rep_cap;
    void *vals;
    size_t vals_cap;
    uint32_t *idx;
    size_t idx_cap;
    pqf__buf mem;
    size_t nlevels, nvalues, lpos, vpos;
    pqf_page_cb cb;
    void *cb_ud;
};

void pqf_column_on_page(pqf_column_reader *c, pqf_page_cb cb, void *ud)
{
    c->cb = cb;
    c->cb_ud = ud;
}

static pqf_err col_fail(pqf_column_reader *c, pqf_err code, int page, const char *fmt, const char *what)
{
    char where[160];
    if (page >= 0)
        snprintf(where, sizeof where, "page %d", page);
    else
        snprintf(where, sizeof where, "%s", page == -2 ? "dictionary page" : "chunk");
    return pqf_error_set(&c->r->err, code, "row group %d, column %s, %s: %s%s", c->rg,
                         c->r->leaf_paths[c->leaf], where, fmt, what ? what : "");
}

/* Give the message of a lower-level error the chunk and page context. */
static pqf_err col_wrap(pqf_column_reader *c, pqf_err rc, int page)
{
    char msg[PQF_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", c->r->err.msg);
    if (page >= 0)
        return pqf_error_set(&c->r->err, rc, "row group %d, column %s, page %d: %s", c->rg,
                             c->r->leaf_paths[c->leaf], page, msg);
    return pqf_error_set(&c->r->err, rc, "row group %d, column %s: %s", c->rg,
                         c->r->leaf_paths[c->leaf], msg);
}

static pqf_err grow(void **p, size_t *cap, size_t need, size_t elem, pqf_error *err)
{
    if (need <= *cap)
        return PQF_OK;
    size_t n = need < 1024 ? 1024 : need;
    if (n > SIZE_MAX / elem)
        return pqf_error_set(err, PQF_ERR_LIMIT, "buffer too large");
    void *q = realloc(*p, n * elem);
    if (!q)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory (%zu bytes)", n * elem);
    *p = q;
    *cap = n;
    return PQF_OK;
}

pqf_err pqf_column_open(pqf_reader *r, int rg, int leaf, pqf_column_reader **out)
{
    pqf_err rc = PQF_OK;
    const pqf__column_chunk *cc = chunk_of(r, rg, leaf);
    pqf_column_reader *c = NULL;
    size_t vals_bytes = 0;
    *out = NULL;
    if (!cc)
        PQF_FAIL(&r->err, PQF_ERR_INVALID_ARG, "no row group %d column %d", rg, leaf);
    if (r->spare) {
        /* keep the spare's buffers (and their capacities), reset the rest */
        pqf_column_reader *s = r->spare;
        r->spare = NULL;
        c = calloc(1, sizeof *c);
        if (!c) {
            column_destroy(s);
            PQF_FAIL(&r->err, PQF_ERR_NOMEM, "out of memory");
        }
        c->chunk = s->chunk, c->chunk_cap = s->chunk_cap;
        c->page_buf = s->page_buf, c->page_cap = s->page_cap;
        c->def = s->def, c->lev_cap = s->lev_cap;
        c->rep = s->rep, c->rep_cap = s->rep_cap;
        /* vals_cap counts values: carry it over in bytes (set below) */
        c->vals = s->vals;
        vals_bytes = s->vals_cap * pqf__value_size(s->info.physical);
        c->idx = s->idx, c->idx_cap = s->idx_cap;
        c->mem = s->mem;
        free(s->dict_buf);
        free(s->dict_vals);
        free(s);
    } else {
        c = calloc(1, sizeof *c);
        if (!c)
            PQF_FAIL(&r->err, PQF_ERR_NOMEM, "out of memory");
        pqf__buf_init(&c->mem, (size_t)PQF_MIN(r->opts.max_page_bytes * 4, (uint64_t)SIZE_MAX / 4));
    }
    c->r = r;
    c->rg = rg;
    c->leaf = leaf;
    c->info = r->nodes[r->leaf_nodes[leaf]].info;
    c->vals_cap = vals_bytes / pqf__value_size(c->info.physical);
    {
        const pqf__column_meta *m = &cc->meta;
        if (!cc->has_meta)
            PQF_TRY(col_fail(c, PQF_ERR_UNSUPPORTED, -1, "column metadata is not in the footer", NULL));
        if (cc->file_path)
            PQF_TRY(col_fail(c, PQF_ERR_UNSUPPORTED, -1, "data in another file: ", cc->file_path));
        if (m->type != (int32_t)c->info.physical)
            PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, -1, "chunk type differs from the schema type", NULL));
        if (m->codec < 0 || m->codec > PQF_CODEC_LZ4_RAW || m->codec == PQF_CODEC_LZO)
            PQF_TRY(col_fail(c, PQF_ERR_UNSUPPORTED, -1, "compression codec not supported: ",
                             m->codec == PQF_CODEC_LZO ? "LZO" : "unknown"));
        c->codec = (pqf_codec)m->codec;
        if (m->num_values < 0)
            PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, -1, "negative value count", NULL));
        c->values_left = m->num_values;
        /* Writers disagree on offsets: dictionary_page_offset 0 for "none",
         * data_page_offset 0 for a chunk with no data pages. The chunk starts
         * at the smaller valid one. */
        int64_t start = m->data_page_offset;
        if (m->dictionary_page_offset >= 4 && (start < 4 || m->dictionary_page_offset < start))
            start = m->dictionary_page_offset;
        int64_t len = m->total_compressed_size;
        uint64_t data_end = r->file_size - 8 - r->footer_len;
        if (start < 4 || (uint64_t)start > data_end || len < 0 ||
            (uint64_t)len > data_end - (uint64_t)start)
            PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, -1, "chunk offset or size lies outside the file's data", NULL));
        if ((uint64_t)len > r->opts.max_chunk_bytes)
            PQF_TRY(col_fail(c, PQF_ERR_LIMIT, -1, "chunk larger than the cap", NULL));
        c->chunk_len = (size_t)len;
        c->chunk_off = (uint64_t)start;
        if (c->chunk_cap < c->chunk_len || !c->chunk) {
            /* no realloc: the old bytes are not needed */
            free(c->chunk);
            c->chunk_cap = c->chunk_len ? c->chunk_len : 1;
            c->chunk = malloc(c->chunk_cap);
            if (!c->chunk) {
                c->chunk_cap = 0;
                PQF_TRY(col_fail(c, PQF_ERR_NOMEM, -1, "out of memory reading the chunk", NULL));
            }
        }
        rc = read_at(r, c->chunk_off, c->chunk, c->chunk_len);
        if (rc != PQF_OK)
            PQF_TRY(col_wrap(c, rc, -1));
    }
    *out = c;
    c = NULL;
done:
    pqf_column_free(c);
    return rc;
}

void pqf_column_free(pqf_column_reader *c)
{
    if (!c)
        return;
    if (!c->r->spare) {
        c->r->spare = c;
        return;
    }
    column_destroy(c);
}

static void column_destroy(pqf_column_reader *c)
{
    if (!c)
        return;
    free(c->chunk);
    free(c->dict_buf);
    free(c->dict_vals);
    free(c->page_buf);
    free(c->def);
    free(c->rep);
    free(c->vals);
    free(c->idx);
    pqf__buf_free(&c->mem);
    free(c);
}

/* Decode n levels (v1: with encoding and prefix; v2: raw RLE of len bytes). */
static pqf_err levels_v1(pqf_column_reader *c, const uint8_t **pp, const uint8_t *end, int enc,
                         int16_t max, int16_t *out, size_t n)
{
    pqf_err rc = PQF_OK;
    pqf_error *err = &c->r->err;
    int bw = pqf__bit_width((uint32_t)max);
    const uint8_t *p = *pp;
    if (enc == PQF_ENC_RLE) {
        if (end - p < 4)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "level length truncated");
        uint32_t l = pqf__load32le(p);
        p += 4;
        if (l > (size_t)(end - p))
            PQF_FAIL(err, PQF_ERR_CORRUPT, "levels of %u bytes past the end of the page", l);
        pqf__rle rl;
        PQF_TRY(pqf__rle_init(&rl, p, l, bw, err));
        PQF_TRY(pqf__rle_levels(&rl, out, n, max, err));
        p += l;
    } else if (enc == PQF_ENC_BIT_PACKED) {
        size_t used = 0;
        PQF_TRY(pqf__bitpacked_levels(p, (size_t)(end - p), bw, out, n, max, &used, err));
        p += used;
    } else {
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "level encoding %d not supported", enc);
    }
    *pp = p;
done:
    return rc;
}

static pqf_err decode_values(pqf_column_reader *c, int enc, const uint8_t *p, size_t len, size_t n)
{
    pqf_err rc = PQF_OK;
    pqf_error *err = &c->r->err;
    pqf_physical t = c->info.physical;
    size_t used = 0, cnt = 0;
    PQF_TRY(grow(&c->vals, &c->vals_cap, n ? n : 1, pqf__value_size(t), err));
    switch (enc) {
    case PQF_ENC_PLAIN:
        PQF_TRY(pqf__plain_decode(t, c->info.type_length, p, len, c->vals, n, &used, err));
        break;
    case PQF_ENC_PLAIN_DICTIONARY:
    case PQF_ENC_RLE_DICTIONARY:
        if (!c->has_dict)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "dictionary-encoded page without a dictionary page");
        PQF_TRY(grow((void **)&c->idx, &c->idx_cap, n ? n : 1, sizeof *c->idx, err));
        PQF_TRY(pqf__dict_decode(t, c->dict_vals, c->ndict, p, len, c->idx, c->vals, n, err));
        break;
    case PQF_ENC_RLE: {
        if (t != PQF_BOOLEAN)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "RLE values on a %s column", pqf_physical_name(t));
        if (len < 4)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "RLE boolean length truncated");
        uint32_t l = pqf__load32le(p);
        if (l > len - 4)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "RLE boolean data past the end of the page");
        pqf__rle rl;
        PQF_TRY(grow((void **)&c->idx, &c->idx_cap, n ? n : 1, sizeof *c->idx, err));
        PQF_TRY(pqf__rle_init(&rl, p + 4, l, 1, err));
        PQF_TRY(pqf__rle_get(&rl, c->idx, n, err));
        for (size_t i = 0; i < n; i++)
            ((uint8_t *)c->vals)[i] = (uint8_t)c->idx[i];
        break;
    }
    case PQF_ENC_DELTA_BINARY_PACKED:
        if (t != PQF_INT32 && t != PQF_INT64)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_BINARY_PACKED on a %s column", pqf_physical_name(t));
        PQF_TRY(pqf__delta_binary_decode(p, len, t == PQF_INT32, c->vals, n, &cnt, &used, err));
        if (cnt != n)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_BINARY_PACKED has %zu values, the levels say %zu",
                     cnt, n);
        break;
    case PQF_ENC_DELTA_LENGTH_BYTE_ARRAY:
        if (t != PQF_BYTE_ARRAY)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_LENGTH_BYTE_ARRAY on a %s column", pqf_physical_name(t));
        PQF_TRY(grow((void **)&c->idx, &c->idx_cap, n ? n : 1, sizeof *c->idx, err));
        PQF_TRY(pqf__delta_length_decode(p, len, c->vals, n, (int32_t *)c->idx, &used, err));
        break;
    case PQF_ENC_DELTA_BYTE_ARRAY:
        if (t != PQF_BYTE_ARRAY && t != PQF_FIXED_LEN_BYTE_ARRAY)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "DELTA_BYTE_ARRAY on a %s column", pqf_physical_name(t));
        PQF_TRY(grow((void **)&c->idx, &c->idx_cap, n ? 2 * n : 2, sizeof *c->idx, err));
        PQF_TRY(pqf__delta_byte_array_decode(p, len,
                                             t == PQF_FIXED_LEN_BYTE_ARRAY ? c->info.type_length : 0,
                                             c->vals, n, (int32_t *)c->idx, &c->mem, err));
        break;
    case PQF_ENC_BYTE_STREAM_SPLIT:
        PQF_TRY(pqf__byte_stream_split_decode(t, c->info.type_length, p, len, c->vals, n, &c->mem,
                                              err));
        break;
    default:
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "value encoding %s (%d) not supported",
                 pqf_encoding_name((pqf_encoding)enc), enc);
    }
done:
    return rc;
}

/* Decode the next page into the cursor; *eof when the chunk is done. */
static pqf_err next_page(pqf_column_reader *c, bool *eof)
{
    pqf_err rc = PQF_OK;
    pqf_error *err = &c->r->err;
    pqf__page_header h;
    size_t hl = 0;
    int page = c->page;
    const uint8_t *body = NULL;
    *eof = false;
    for (;;) {
        if (c->pos >= c->chunk_len || c->values_left <= 0) {
            *eof = true;
            goto done;
        }
        rc = pqf__meta_page_header(c->chunk + c->pos, c->chunk_len - c->pos, &h, &hl, err);
        if (rc != PQF_OK)
            PQF_TRY(col_wrap(c, rc, page));
        body = c->chunk + c->pos + hl;
        size_t avail = c->chunk_len - c->pos - hl;
        if ((uint64_t)h.compressed_size > avail)
            PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, page, "page data runs past the end of the chunk", NULL));
        if ((uint64_t)h.compressed_size > c->r->opts.max_page_bytes ||
            (uint64_t)h.uncompressed_size > c->r->opts.max_page_bytes)
            PQF_TRY(col_fail(c, PQF_ERR_LIMIT, page, "page larger than the cap", NULL));
        c->pos += hl + (size_t)h.compressed_size;
        if (h.has_crc && c->r->opts.verify_crc) {
            uint32_t crc = pqf__crc32(0, body, (size_t)h.compressed_size);
            if (crc != h.crc) {
                char m[96];
                snprintf(m, sizeof m, "header %08x, data %08x", h.crc, crc);
                PQF_TRY(col_fail(c, PQF_ERR_CHECKSUM, h.type == PQF__PAGE_DICTIONARY ? -2 : page,
                                 h.type == PQF__PAGE_DICTIONARY ? "dictionary page CRC mismatch: "
                                                                : "page CRC mismatch: ",
                                 m));
            }
        }
        if (h.type == PQF__PAGE_INDEX)
            continue;
        if (h.type == PQF__PAGE_DICTIONARY) {
            if (c->has_dict || c->page > 0)
                PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, page, "a second or late dictionary page", NULL));
            if (!h.has_dict)
                PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, page, "dictionary page without its header", NULL));
            if (h.dict.num_values < 0 || (uint64_t)h.dict.num_values > (uint64_t)h.uncompressed_size * 8 + 8)
                PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, page, "dictionary value count out of range", NULL));
            if (h.dict.encoding != PQF_ENC_PLAIN && h.dict.encoding != PQF_ENC_PLAIN_DICTIONARY)
                PQF_TRY(col_fail(c, PQF_ERR_UNSUPPORTED, page, "dictionary page encoding not PLAIN", NULL));
            c->dict_buf = malloc(h.uncompressed_size ? (size_t)h.uncompressed_size : 1);
            if (!c->dict_buf)
                PQF_TRY(col_fail(c, PQF_ERR_NOMEM, page, "out of memory", NULL));
            if (h.uncompressed_size > 0 || h.compressed_size > 0) {
                rc = pqf__decompress(c->codec, body, (size_t)h.compressed_size, c->dict_buf,
                                     (size_t)h.uncompressed_size, err);
                if (rc != PQF_OK)
                    PQF_TRY(col_wrap(c, rc, -1));
            }
            size_t used, nd = (size_t)h.dict.num_values;
            c->dict_vals = malloc((nd ? nd : 1) * pqf__value_size(c->info.physical));
            if (!c->dict_vals)
                PQF_TRY(col_fail(c, PQF_ERR_NOMEM, page, "out of memory", NULL));
            rc = pqf__plain_decode(c->info.physical, c->info.type_length, c->dict_buf,
                                   (size_t)h.uncompressed_size, c->dict_vals, nd, &used, err);
            if (rc != PQF_OK)
                PQF_TRY(col_wrap(c, rc, -1));
            c->ndict = (uint32_t)nd;
            c->has_dict = true;
            continue;
        }
        if (h.type != PQF__PAGE_DATA && h.type != PQF__PAGE_DATA_V2)
            PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, page, "unknown page type", NULL));
        break;
    }
    {
        bool v2 = h.type == PQF__PAGE_DATA_V2;
        if ((v2 && !h.has_data_v2) || (!v2 && !h.has_data))
            PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, page, "data page without its header", NULL));
        int32_t nv = v2 ? h.v2.num_values : h.data.num_values;
        int enc = v2 ? h.v2.encoding : h.data.encoding;
        if (nv < 0 || (uint32_t)nv > MAX_PAGE_VALUES)
            PQF_TRY(col_fail(c, nv < 0 ? PQF_ERR_CORRUPT : PQF_ERR_LIMIT, page, "page value count out of range", NULL));
        if ((int64_t)nv > c->values_left)
            PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, page, "page has more values than the chunk", NULL));
        size_t n = (size_t)nv;
        int16_t maxd = c->info.max_def, maxr = c->info.max_rep;
        const uint8_t *vp, *vend;
        PQF_TRY(grow((void **)&c->def, &c->lev_cap, n ? n : 1, sizeof(int16_t), err));
        PQF_TRY(grow((void **)&c->rep, &c->rep_cap, n ? n : 1, sizeof(int16_t), err));
        if (!v2) {
            PQF_TRY(grow((void **)&c->page_buf, &c->page_cap, (size_t)h.uncompressed_size + 1, 1, err));
            if (h.uncompressed_size > 0 || h.compressed_size > 0) {
                rc = pqf__decompress(c->codec, body, (size_t)h.compressed_size, c->page_buf,
                                     (size_t)h.uncompressed_size, err);
                if (rc != PQF_OK)
                    PQF_TRY(col_wrap(c, rc, page));
            }
            vp = c->page_buf;
            vend = vp + h.uncompressed_size;
            if (maxr > 0) {
                rc = levels_v1(c, &vp, vend, h.data.rep_encoding, maxr, c->rep, n);
                if (rc != PQF_OK)
                    PQF_TRY(col_wrap(c, rc, page));
            }
            if (maxd > 0) {
                rc = levels_v1(c, &vp, vend, h.data.def_encoding, maxd, c->def, n);
                if (rc != PQF_OK)
                    PQF_TRY(col_wrap(c, rc, page));
            }
        } else {
            int32_t rl = h.v2.rep_length, dl = h.v2.def_length;
            if (rl < 0 || dl < 0 || (int64_t)rl + dl > h.compressed_size ||
                (int64_t)rl + dl > h.uncompressed_size)
                PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, page, "level lengths exceed the page", NULL));
            if (maxr > 0) {
                pqf__rle rlr;
                rc = pqf__rle_init(&rlr, body, (size_t)rl, pqf__bit_width((uint32_t)maxr), err);
                if (rc == PQF_OK)
                    rc = pqf__rle_levels(&rlr, c->rep, n, maxr, err);
                if (rc != PQF_OK)
                    PQF_TRY(col_wrap(c, rc, page));
            }
            if (maxd > 0) {
                pqf__rle rld;
                rc = pqf__rle_init(&rld, body + rl, (size_t)dl, pqf__bit_width((uint32_t)maxd), err);
                if (rc == PQF_OK)
                    rc = pqf__rle_levels(&rld, c->def, n, maxd, err);
                if (rc != PQF_OK)
                    PQF_TRY(col_wrap(c, rc, page));
            }
            size_t csz = (size_t)h.compressed_size - (size_t)rl - (size_t)dl;
            size_t usz = (size_t)h.uncompressed_size - (size_t)rl - (size_t)dl;
            const uint8_t *cb = body + rl + dl;
            PQF_TRY(grow((void **)&c->page_buf, &c->page_cap, usz + 1, 1, err));
            if (h.v2.is_compressed && c->codec != PQF_CODEC_UNCOMPRESSED) {
                if (usz > 0 || csz > 0) {
                    rc = pqf__decompress(c->codec, cb, csz, c->page_buf, usz, err);
                    if (rc != PQF_OK && usz == 0)
                        rc = PQF_OK, pqf_error_clear(err); /* empty values, any framing */
                    if (rc != PQF_OK)
                        PQF_TRY(col_wrap(c, rc, page));
                }
            } else {
                if (csz != usz)
                    PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, page, "uncompressed page sizes differ", NULL));
                if (usz)
                    memcpy(c->page_buf, cb, usz);
            }
            vp = c->page_buf;
            vend = vp + usz;
        }
        size_t nvals = n;
        if (maxd > 0) {
            nvals = 0;
            for (size_t i = 0; i < n; i++)
                nvals += c->def[i] == maxd;
        }
        if (maxr > 0 && n > 0 && c->rep[0] != 0 && c->page == 0)
            PQF_TRY(col_fail(c, PQF_ERR_CORRUPT, page, "first value does not start a row", NULL));
        rc = decode_values(c, enc, vp, (size_t)(vend - vp), nvals);
        if (rc != PQF_OK)
            PQF_TRY(col_wrap(c, rc, page));
        c->nlevels = n;
        c->nvalues = nvals;
        c->lpos = c->vpos = 0;
        c->values_left -= nv;
        if (c->cb) {
            pqf_page_report pr = {0};
            pr.page = page;
            pr.type = h.type;
            pr.encoding = enc;
            pr.num_values = nv;
            pr.num_nulls = (int32_t)(n - nvals);
            if (maxr > 0) {
                for (size_t i = 0; i < n; i++)
                    pr.num_rows += c->rep[i] == 0;
            } else {
                pr.num_rows = nv;
            }
            pr.has_crc = h.has_crc;
            /* page statistics point into the chunk buffer: valid as long as the cursor */
            pqf__stats *ps = v2 ? &h.v2.stats : &h.data.stats;
            stats_view(ps, &pr.stats);
            pr.offset = (int64_t)(c->chunk_off + c->pos - hl - (size_t)h.compressed_size);
            c->cb(c->cb_ud, &pr);
        }
        c->page++;
    }
done:
    return rc;
}

pqf_err pqf_column_next(pqf_column_reader *c, size_t max, pqf_batch *b)
{
    pqf_err rc = PQF_OK;
    memset(b, 0, sizeof *b);
    b->physical = c->info.physical;
    if (max == 0)
        max = 1;
    while (c->lpos >= c->nlevels) {
        bool eof;
        PQF_TRY(next_page(c, &eof));
        if (eof)
            goto done;
    }
    {
        size_t n = PQF_MIN(max, c->nlevels - c->lpos);
        size_t nv = n;
        if (c->info.max_def > 0) {
            nv = 0;
            for (size_t i = 0; i < n; i++)
                nv += c->def[c->lpos + i] == c->info.max_def;
            b->def = c->def + c->lpos;
        }
        if (c->info.max_rep > 0)
            b->rep = c->rep + c->lpos;
        b->nlevels = n;
        b->nvalues = nv;
        b->values = (const uint8_t *)c->vals + c->vpos * pqf__value_size(c->info.physical);
        b->page = c->page - 1;
        c->lpos += n;
        c->vpos += nv;
    }
done:
    return rc;
}
