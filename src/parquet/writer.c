/* The Parquet writer (include/pqfeed/writer.h).
 *
 * Values arrive one call at a time and are shredded at once into per-leaf
 * page buffers: definition/repetition levels (bytes, only for leaves that
 * have them), and either dictionary indices or PLAIN-layout values. At a row
 * boundary a leaf whose page passed page_bytes is encoded, compressed and
 * appended, with its header, to the leaf's chunk buffer; a row group whose
 * buffered bytes passed row_group_bytes is written out column by column
 * (dictionary page, data pages), followed by its Bloom filters. Column and
 * offset indexes are serialised per chunk and written before the footer.
 *
 * Levels follow Dremel. Each leaf keeps a pending repetition level: row_begin
 * sets it to 0 for every repeated leaf; element k > 0 of a list sets it, for
 * all leaves under the element, to the list's repetition level; every level
 * entry a leaf emits uses it. Children a struct or row did not write get a
 * null at the struct's own definition level; an empty list gives each leaf
 * under it one entry at the list's definition level.
 */
#include "pqfeed/writer.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/hash.h"
#include "parquet/bloom.h"
#include "parquet/codec.h"
#include "parquet/encode.h"
#include "parquet/flat.h"
#include "parquet/stats.h"
#include "parquet/thrift_write.h"
#include "pqfeed/pqfeed.h"

#define BUF_LIMIT ((size_t)1 << 40)
#define PAGE_MAX_VALUES (1u << 20) /* level entries per page, whatever their size */
#define DICT_MAX_ENTRIES (1u << 24)
/* AUTO columns give up the dictionary early when the first DICT_PROBE
 * distinct values arrive within 3% more values than that: a (nearly) unique
 * column would only fill the table to the limit and fall back anyway, while
 * a column of, say, 100k distinct values in 1M rows still gets one. */
#define DICT_PROBE 16384u
#define DQ_MAX 64 /* deferred dictionary puts (struct pqf_writer, dq) */
/* zstd level for level 0. Level 1 compresses the pages of a typical export
 * (docs/BENCHMARKS.md, `mixed`) about 3% larger than level 3 at about twice
 * the speed; the pages zstd cannot shrink are stored (page_probe). */
#define PQF_ZSTD_DEFAULT_LEVEL 1

enum { NK_LEAF, NK_STRUCT, NK_LIST, NK_REPEATED };
enum { FR_ROOT, FR_STRUCT, FR_LIST };
enum { PT_DATA = 0, PT_DICT = 2, PT_DATA_V2 = 3 };

typedef struct wnode {
    int parent;
    int leaf;
    int first_leaf, end_leaf; /* leaves under this node: [first_leaf, end_leaf) */
    int16_t def, rep;         /* max definition/repetition level of the node */
    int16_t parent_def;       /* definition level when this node is null */
    uint8_t kind;
    bool required;
    pqf_physical phys;
    int elem;         /* NK_LIST: the element node */
    uint32_t written; /* generation of the frame that wrote it */
    int nkids;
    int *kids;
} wnode;

typedef struct frame {
    int node;
    int kind;
    uint32_t gen;
    int nwritten;
    int elem;
    uint32_t count;
} frame;

typedef struct pagerec {
    uint64_t off; /* in the chunk buffer */
    uint32_t size;
    int64_t first_row;
    int64_t nulls;
    bool null_page, has_minmax;
    uint32_t min_off, min_len, max_off, max_len; /* in col.ci_vals */
} pagerec;

typedef struct col {
    int node, leaf;
    char *path;
    pqf_physical phys;
    size_t width; /* fixed bytes per value; 0 BYTE_ARRAY; 1 BOOLEAN (as a byte) */
    int16_t max_def, max_rep;
    int def_bw, rep_bw;
    pqf__order ord;
    bool utf8;
    bool range_check;
    int64_t lo, hi;
    pqf_encoding enc; /* for non-dictionary pages */
    bool dict_enabled, dict_on, dict_used, auto_enc;
    bool bloom;
    uint64_t bloom_ndv;
    double bloom_fpp;
    pqf__dict dict;
    uint32_t page_no;
    uint64_t dict_vals; /* values this chunk sent to the dictionary */
    int16_t pending_rep;
    bool flagged; /* on the writer's pending list */
    bool dict_full;
    /* current page */
    pqf__buf def, rep, vals, idx;
    uint32_t nlevels, nvals;
    uint64_t page_est;
    int64_t page_first_row;
    pqf__stats pst, cst;
    /* current chunk */
    pqf__buf chunk;
    pagerec *pages;
    size_t npages, cappages;
    pqf__buf ci_vals;
    pqf__buf bhash; /* uint64 hashes of values written while the dictionary was off */
    uint64_t num_values, unc_bytes, comp_bytes;
    uint32_t enc_counts[10]; /* data pages per encoding */
    bool ci_ok;
    uint64_t rg_bytes; /* bytes this column added to the row group estimate */
    /* Incompressible pages (random ids, hashes, timestamps): after a page
     * whose compression saved almost nothing, the next raw_left pages are
     * stored without trying; each failed retry doubles the stretch. */
    uint32_t raw_left, raw_span;
    pqf_encoding raw_enc; /* the encoding of the page that started the stretch */
} col;

typedef struct chunkmeta {
    pqf__buf cmd; /* ColumnMetaData body */
    pqf__buf ci, oi;
    uint64_t ci_off, oi_off;
} chunkmeta;

typedef struct rgmeta {
    int64_t num_rows, total_byte_size, total_compressed, file_offset;
    chunkmeta *chunks;
} rgmeta;

struct pqf_writer {
    pqf_schema *schema;
    pqf_ostream *out;
    pqf_writer_opts o;
    char *created_by;
    pqf__compressor *comp;
    wnode *nodes;
    int nnodes;
    int *kids_all;
    col *cols;
    int ncols;
    int *rep_leaves;
    int nrep;
    frame *stack;
    int depth, maxdepth;
    uint32_t gen;
    uint64_t pos;
    uint64_t rows, rg_rows, rg_est;
    int *pending;
    int npending;
    /* Dictionary puts of fixed-width values, deferred to the row's end (or
     * until DQ_MAX wait): each slot is prefetched when its put is queued, so
     * the probes' cache misses overlap instead of coming one by one. The
     * results and bytes are the same: puts go in in order, and a dictionary
     * that fills takes effect at the row's end either way (service_pending). */
    struct dqent {
        uint64_t key;
        uint32_t pos; /* its entry in the column's idx buffer */
        int leaf;
    } dq[DQ_MAX];
    int ndq;
    rgmeta *rgs;
    size_t nrg, caprg;
    char **kv;
    size_t nkv, capkv;
    pqf__buf s_page, s_val, s_comp, s_hdr, s_min, s_max, s_meta;
    pqf_writer_stats st;
    bool started, closed;
    bool flat; /* every field under the root a leaf (parquet/flat.h) */
    pqf_error err;
};

/* ---- small helpers --------------------------------------------------------- */

static pqf_err fail(pqf_writer *w, pqf_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static pqf_err fail(pqf_writer *w, pqf_err code, const char *fmt, ...)
{
    if (w->err.code != PQF_OK)
        return w->err.code;
    char msg[PQF_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return pqf_error_set(&w->err, code, "%s", msg);
}

static pqf_err nomem(pqf_writer *w, pqf_err rc, const col *c)
{
    if (c)
        return fail(w, rc, "column %s, row %" PRIu64 ": %s", c->path, w->rows + 1,
                    pqf_strerror(rc));
    return fail(w, rc, "parquet writer: %s", pqf_strerror(rc));
}

static inline pqf_err push_u8(pqf__buf *b, uint8_t v)
{
    if (PQF_LIKELY(b->len < b->cap)) {
        b->data[b->len++] = v;
        return PQF_OK;
    }
    return pqf__buf_append(b, &v, 1);
}

static inline pqf_err push_n(pqf__buf *b, const void *p, size_t n)
{
    if (PQF_LIKELY(b->cap - b->len >= n)) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        return PQF_OK;
    }
    return pqf__buf_append(b, p, n);
}

static pqf_err out_write(pqf_writer *w, const void *p, size_t n)
{
    pqf_err rc = pqf_ostream_write(w->out, p, n);
    if (rc != PQF_OK) {
        const pqf_error *e = pqf_ostream_error(w->out);
        return fail(w, rc, "writing parquet: %s", e->msg[0] ? e->msg : pqf_strerror(rc));
    }
    w->pos += n;
    return PQF_OK;
}

/* ---- options ----------------------------------------------------------------- */

void pqf_writer_opts_init(pqf_writer_opts *o)
{
    memset(o, 0, sizeof *o);
    o->codec = PQF_CODEC_ZSTD;
    o->row_group_bytes = (uint64_t)128 << 20;
    o->page_bytes = (uint64_t)1 << 20;
    o->dict_page_bytes = (uint64_t)1 << 20;
    o->dictionary = true;
    o->page_version = 1;
    o->page_crc = true;
    o->statistics = true;
    o->page_index = true;
    o->stats_max_bytes = 64;
}

/* The most specific column option (longest matching path) for a leaf path. */
static const pqf_column_opts *match_opts(const pqf_writer_opts *o, const char *path)
{
    const pqf_column_opts *best = NULL;
    size_t bestlen = 0;
    for (size_t i = 0; i < o->ncolumns; i++) {
        const char *p = o->columns[i].path;
        if (!p)
            continue;
        size_t l = strlen(p);
        if (strncmp(path, p, l) == 0 && (path[l] == 0 || path[l] == '.') && l >= bestlen) {
            best = &o->columns[i];
            bestlen = l;
        }
    }
    return best;
}

static bool enc_valid(pqf_encoding e, pqf_physical t)
{
    switch (e) {
    case PQF_ENC_PLAIN:
        return true;
    case PQF_ENC_RLE:
        return t == PQF_BOOLEAN;
    case PQF_ENC_DELTA_BINARY_PACKED:
        return t == PQF_INT32 || t == PQF_INT64;
    case PQF_ENC_DELTA_LENGTH_BYTE_ARRAY:
        return t == PQF_BYTE_ARRAY;
    case PQF_ENC_BYTE_STREAM_SPLIT:
        return t == PQF_FLOAT || t == PQF_DOUBLE || t == PQF_INT32 || t == PQF_INT64 ||
               t == PQF_FIXED_LEN_BYTE_ARRAY;
    default:
        return false;
    }
}

/* What a column falls back to when its dictionary stops paying off. */
static pqf_encoding auto_fallback(pqf_physical t, pqf_codec codec)
{
    switch (t) {
    case PQF_INT32:
    case PQF_INT64:
        return PQF_ENC_DELTA_BINARY_PACKED;
    /* FLOAT/DOUBLE: BYTE_STREAM_SPLIT helps zstd on smooth measurements but
     * loses on decimal-looking values (prices), which are the common case
     * in exported tables; it stays available per column. */
    default:
        return PQF_ENC_PLAIN;
    }
}

/* ---- creation ------------------------------------------------------------------ */

static void col_free(col *c)
{
    free(c->path);
    pqf__dict_free(&c->dict);
    pqf__buf_free(&c->def);
    pqf__buf_free(&c->rep);
    pqf__buf_free(&c->vals);
    pqf__buf_free(&c->idx);
    pqf__stats_free(&c->pst);
    pqf__stats_free(&c->cst);
    pqf__buf_free(&c->chunk);
    free(c->pages);
    pqf__buf_free(&c->ci_vals);
    pqf__buf_free(&c->bhash);
}

static size_t phys_width(pqf_physical t, int32_t type_length)
{
    switch (t) {
    case PQF_BOOLEAN:
        return 1;
    case PQF_INT32:
    case PQF_FLOAT:
        return 4;
    case PQF_INT64:
    case PQF_DOUBLE:
        return 8;
    case PQF_FIXED_LEN_BYTE_ARRAY:
        return (size_t)type_length;
    default:
        return 0;
    }
}

static pqf_err setup_col(pqf_writer *w, col *c, int node, const pqf_node_info *ni, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char path[1024];
    pqf_schema_path(w->schema, node, path, sizeof path);
    c->path = strdup(path);
    if (!c->path)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    c->node = node;
    c->leaf = ni->leaf;
    c->phys = ni->physical;
    c->width = phys_width(ni->physical, ni->type_length);
    c->max_def = ni->max_def;
    c->max_rep = ni->max_rep;
    c->def_bw = pqf__bit_width((uint64_t)ni->max_def);
    c->rep_bw = pqf__bit_width((uint64_t)ni->max_rep);
    c->ord = pqf__order_for(ni->physical, &ni->logical);
    c->utf8 = ni->logical.kind == PQF_LT_STRING || ni->logical.kind == PQF_LT_JSON ||
              ni->logical.kind == PQF_LT_ENUM;
    if (ni->logical.kind == PQF_LT_INT && ni->logical.bit_width < 32) {
        c->range_check = true;
        int bw = ni->logical.bit_width;
        c->lo = ni->logical.is_signed ? -((int64_t)1 << (bw - 1)) : 0;
        c->hi = ni->logical.is_signed ? ((int64_t)1 << (bw - 1)) - 1 : ((int64_t)1 << bw) - 1;
    }
    pqf__dict_init(&c->dict, ni->physical == PQF_BYTE_ARRAY ? 0 : c->width);
    pqf__buf_init(&c->def, BUF_LIMIT);
    pqf__buf_init(&c->rep, BUF_LIMIT);
    pqf__buf_init(&c->vals, BUF_LIMIT);
    pqf__buf_init(&c->idx, BUF_LIMIT);
    pqf__stats_init(&c->pst, c->ord);
    pqf__stats_init(&c->cst, c->ord);
    pqf__buf_init(&c->chunk, BUF_LIMIT);
    pqf__buf_init(&c->ci_vals, BUF_LIMIT);
    pqf__buf_init(&c->bhash, BUF_LIMIT);
    c->ci_ok = true;

    const pqf_column_opts *co = match_opts(&w->o, path);
    pqf_encoding enc = co ? co->encoding : PQF_ENC_AUTO;
    int dict = co ? co->dictionary : -1;
    bool dict_on = dict < 0 ? w->o.dictionary : dict > 0;
    if (enc == PQF_ENC_RLE_DICTIONARY || enc == PQF_ENC_PLAIN_DICTIONARY) {
        dict_on = dict != 0;
        enc = PQF_ENC_AUTO;
    }
    if (c->phys == PQF_BOOLEAN)
        dict_on = false; /* two values: bit-packing is as small */
    c->auto_enc = enc == PQF_ENC_AUTO;
    if (enc == PQF_ENC_AUTO)
        enc = auto_fallback(c->phys, w->o.codec);
    else
        dict_on = dict > 0; /* an explicit encoding turns the dictionary off unless asked */
    if (!enc_valid(enc, c->phys))
        PQF_FAIL(err, enc == PQF_ENC_DELTA_BYTE_ARRAY ? PQF_ERR_UNSUPPORTED : PQF_ERR_INVALID_ARG,
                 "column %s: encoding %s is not available for %s", path, pqf_encoding_name(enc),
                 pqf_physical_name(c->phys));
    c->enc = enc;
    c->dict_enabled = c->dict_on = dict_on;
    if (co && co->bloom_filter && c->phys != PQF_BOOLEAN) {
        c->bloom = true;
        c->bloom_ndv = co->bloom_ndv;
        c->bloom_fpp = co->bloom_fpp > 0 && co->bloom_fpp < 1 ? co->bloom_fpp : 0.01;
    }
done:
    return rc;
}

static int count_nodes_depth(const pqf_schema *s, int node, int depth)
{
    int best = depth;
    for (int i = 0;; i++) {
        int k = pqf_schema_child(s, node, i);
        if (k < 0)
            break;
        int d = count_nodes_depth(s, k, depth + 1);
        if (d > best)
            best = d;
    }
    return best;
}

static bool is_flat(const pqf_writer *w);

static pqf_err setup_nodes(pqf_writer *w, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    int n = pqf_schema_node_count(w->schema);
    w->nnodes = n;
    w->nodes = calloc((size_t)n, sizeof *w->nodes);
    w->kids_all = calloc((size_t)n, sizeof(int));
    if (!w->nodes || !w->kids_all)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    int kpos = 0;
    for (int i = 0; i < n; i++) {
        pqf_node_info ni;
        pqf_schema_node(w->schema, i, &ni);
        wnode *wn = &w->nodes[i];
        wn->parent = ni.parent;
        wn->leaf = ni.leaf;
        wn->def = ni.max_def;
        wn->rep = ni.max_rep;
        wn->required = i == 0 || ni.repetition == PQF_REQUIRED;
        wn->phys = ni.physical;
        wn->elem = -1;
        wn->nkids = ni.nchildren;
        wn->kids = w->kids_all + kpos;
        for (int k = 0; k < ni.nchildren; k++)
            wn->kids[k] = pqf_schema_child(w->schema, i, k);
        kpos += ni.nchildren;
        if (ni.parent >= 0) {
            pqf_node_info pi;
            pqf_schema_node(w->schema, ni.parent, &pi);
            wn->parent_def = pi.max_def;
        }
        char path[512];
        pqf_schema_path(w->schema, i, path, sizeof path);
        if (!ni.is_group) {
            wn->kind = NK_LEAF;
        } else if (ni.logical.kind == PQF_LT_LIST) {
            wn->kind = NK_LIST;
            wn->elem = pqf_schema_list_element(w->schema, i);
        } else if (ni.logical.kind == PQF_LT_MAP) {
            PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "group %s: MAP is not supported by the writer",
                     path);
        } else if (ni.repetition == PQF_REPEATED) {
            pqf_node_info pi;
            pqf_schema_node(w->schema, ni.parent, &pi);
            if (pi.logical.kind != PQF_LT_LIST)
                PQF_FAIL(err, PQF_ERR_UNSUPPORTED,
                         "group %s: repeated groups are only written inside a LIST", path);
            wn->kind = NK_REPEATED;
        } else {
            wn->kind = NK_STRUCT;
        }
        if (!ni.is_group && ni.repetition == PQF_REPEATED)
            PQF_FAIL(err, PQF_ERR_UNSUPPORTED,
                     "column %s: repeated columns must be written as a LIST", path);
    }
    /* Leaf ranges, children before parents (ids grow with depth within a
     * parent, but a parent's id is always smaller than its children's). */
    for (int i = n - 1; i >= 0; i--) {
        wnode *wn = &w->nodes[i];
        if (wn->kind == NK_LEAF) {
            wn->first_leaf = wn->leaf;
            wn->end_leaf = wn->leaf + 1;
        } else {
            wn->first_leaf = INT32_MAX;
            wn->end_leaf = -1;
            for (int k = 0; k < wn->nkids; k++) {
                wnode *kn = &w->nodes[wn->kids[k]];
                if (kn->first_leaf < wn->first_leaf)
                    wn->first_leaf = kn->first_leaf;
                if (kn->end_leaf > wn->end_leaf)
                    wn->end_leaf = kn->end_leaf;
            }
        }
    }
done:
    return rc;
}

pqf_err pqf_writer_create(const pqf_schema *schema, pqf_ostream *out, const pqf_writer_opts *opts,
                          pqf_writer **wp, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_writer *w = NULL;
    *wp = NULL;
    if (!schema || !out || pqf_schema_leaf_count(schema) == 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "writer needs a finished schema with columns");
    w = calloc(1, sizeof *w);
    if (!w)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    if (opts)
        w->o = *opts;
    else
        pqf_writer_opts_init(&w->o);
    if (w->o.page_version == 0)
        w->o.page_version = 1;
    if (w->o.page_version != 1 && w->o.page_version != 2)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "page_version must be 1 or 2");
    if (!w->o.row_group_bytes)
        w->o.row_group_bytes = (uint64_t)128 << 20;
    if (!w->o.page_bytes)
        w->o.page_bytes = (uint64_t)1 << 20;
    if (!w->o.dict_page_bytes)
        w->o.dict_page_bytes = (uint64_t)1 << 20;
    if (!w->o.stats_max_bytes)
        w->o.stats_max_bytes = 64;
    w->out = out;
    w->pos = pqf_ostream_tell(out);
    w->depth = -1;
    w->schema = pqf_schema_clone(schema);
    if (!w->schema)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < w->o.ncolumns; i++) {
        const char *p = w->o.columns[i].path;
        if (!p || pqf_schema_find_path(w->schema, p) < 0)
            PQF_FAIL(err, PQF_ERR_INVALID_ARG, "column option for unknown column \"%s\"",
                     p ? p : "(null)");
    }
    char cb[128];
    snprintf(cb, sizeof cb, "pqfeed version %s", PQF_VERSION);
    w->created_by = strdup(w->o.created_by ? w->o.created_by : cb);
    if (!w->created_by)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    w->o.created_by = NULL;
    for (size_t i = 0; i < w->o.nkv; i++)
        PQF_TRY(pqf_writer_add_kv(w, w->o.kv[i].key, w->o.kv[i].value));
    w->o.kv = NULL;
    w->o.nkv = 0;
    if (w->o.codec != PQF_CODEC_UNCOMPRESSED) {
        int level = w->o.level;
        if (w->o.codec == PQF_CODEC_ZSTD && level == 0)
            level = PQF_ZSTD_DEFAULT_LEVEL;
        w->comp = pqf__compressor_create(w->o.codec, level, err);
        if (!w->comp) {
            rc = err && err->code ? err->code : PQF_ERR_UNSUPPORTED;
            if (err && !err->code)
                pqf_error_set(err, rc, "codec %s is not available", pqf_codec_name(w->o.codec));
            goto done;
        }
    }
    PQF_TRY(setup_nodes(w, err));
    w->flat = is_flat(w);
    w->ncols = pqf_schema_leaf_count(w->schema);
    w->cols = calloc((size_t)w->ncols, sizeof *w->cols);
    w->pending = calloc((size_t)w->ncols, sizeof(int));
    w->rep_leaves = calloc((size_t)w->ncols, sizeof(int));
    w->maxdepth = count_nodes_depth(w->schema, 0, 0) + 2;
    w->stack = calloc((size_t)w->maxdepth, sizeof *w->stack);
    if (!w->cols || !w->pending || !w->rep_leaves || !w->stack)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    w->stack[0].node = 0;
    w->stack[0].kind = FR_ROOT;
    w->stack[0].elem = -1;
    for (int i = 0; i < w->ncols; i++) {
        int node = pqf_schema_leaf_node(w->schema, i);
        pqf_node_info ni;
        pqf_schema_node(w->schema, node, &ni);
        PQF_TRY(setup_col(w, &w->cols[i], node, &ni, err));
        if (ni.max_rep > 0)
            w->rep_leaves[w->nrep++] = i;
    }
    w->o.columns = NULL;
    w->o.ncolumns = 0;
    pqf__buf_init(&w->s_page, BUF_LIMIT);
    pqf__buf_init(&w->s_val, BUF_LIMIT);
    pqf__buf_init(&w->s_comp, BUF_LIMIT);
    pqf__buf_init(&w->s_hdr, BUF_LIMIT);
    pqf__buf_init(&w->s_min, BUF_LIMIT);
    pqf__buf_init(&w->s_max, BUF_LIMIT);
    pqf__buf_init(&w->s_meta, BUF_LIMIT);
    *wp = w;
    w = NULL;
done:
    pqf_writer_free(w);
    return rc;
}

/* ---- pages ------------------------------------------------------------------------ */

/* Statistics struct (parquet.thrift Statistics) from s; encoded bounds go
 * through w->s_min / w->s_max. Returns whether min/max were written. */
static bool tw_statistics(pqf_writer *w, pqf__tw *t, int16_t id, const col *c, const pqf__stats *s)
{
    pqf__stats_enc e;
    bool trunc = c->phys == PQF_BYTE_ARRAY;
    if (pqf__stats_encode(s, trunc, c->utf8, w->o.stats_max_bytes, &w->s_min, &w->s_max, &e) !=
        PQF_OK)
        memset(&e, 0, sizeof e);
    pqf__tw_struct_begin(t, id);
    bool legacy = c->ord == PQF__ORD_I32 || c->ord == PQF__ORD_I64 || c->ord == PQF__ORD_FLOAT ||
                  c->ord == PQF__ORD_DOUBLE || c->ord == PQF__ORD_BOOL;
    if (legacy && e.has_max)
        pqf__tw_binary(t, 1, w->s_max.data, w->s_max.len);
    if (legacy && e.has_min)
        pqf__tw_binary(t, 2, w->s_min.data, w->s_min.len);
    pqf__tw_i64(t, 3, (int64_t)s->nulls);
    if (e.has_max)
        pqf__tw_binary(t, 5, w->s_max.data, w->s_max.len);
    if (e.has_min)
        pqf__tw_binary(t, 6, w->s_min.data, w->s_min.len);
    if (e.has_max)
        pqf__tw_bool(t, 7, e.max_exact);
    if (e.has_min)
        pqf__tw_bool(t, 8, e.min_exact);
    if (c->ord == PQF__ORD_FLOAT || c->ord == PQF__ORD_DOUBLE)
        pqf__tw_i64(t, 9, (int64_t)s->nans);
    pqf__tw_struct_end(t);
    return e.has_min && e.has_max;
}

/* A page is worth compressing when it saves at least 1/RAW_SAVING of its bytes. */
#define RAW_SAVING 50
#define RAW_SPAN_MAX 64u
#define ZSTD_RAW_BLOCK ((size_t)128 << 10)

/* A zstd frame of raw blocks (RFC 8878 section 3.1.1) holding src as it is:
 * what libzstd itself emits for incompressible input, without the match
 * search that would find nothing. libzstd has no "store" level, hence by
 * hand. Single segment, 4-byte content size, no checksum. */
static pqf_err zstd_store(pqf__buf *out, const uint8_t *src, size_t n)
{
    size_t nblocks = n ? (n + ZSTD_RAW_BLOCK - 1) / ZSTD_RAW_BLOCK : 1;
    if (n > UINT32_MAX)
        return PQF_ERR_LIMIT;
    pqf_err rc = pqf__buf_reserve(out, 9 + 3 * nblocks + n);
    if (rc != PQF_OK)
        return rc;
    uint8_t *o = out->data + out->len;
    pqf__store32le(o, 0xFD2FB528u); /* magic */
    o[4] = 0xA0;                    /* Frame_Content_Size_flag 2, Single_Segment_flag */
    pqf__store32le(o + 5, (uint32_t)n);
    o += 9;
    size_t off = 0;
    do {
        size_t b = n - off < ZSTD_RAW_BLOCK ? n - off : ZSTD_RAW_BLOCK;
        uint32_t h = (uint32_t)(off + b == n) | (uint32_t)b << 3; /* Last_Block, Raw, size */
        o[0] = (uint8_t)h;
        o[1] = (uint8_t)(h >> 8);
        o[2] = (uint8_t)(h >> 16);
        if (b)
            memcpy(o + 3, src + off, b);
        o += 3 + b;
        off += b;
    } while (off < n);
    out->len = (size_t)(o - out->data);
    return PQF_OK;
}

/* Should this data page skip compression (raw zstd frame in v1, is_compressed
 * false in v2)? Counts down the column's stretch of stored pages. A change of
 * encoding (dictionary indices to PLAIN values) ends the stretch. */
static bool page_raw(col *c, pqf_encoding enc)
{
    if (c->raw_left == 0 || c->raw_enc != enc)
        return false;
    c->raw_left--;
    return true;
}

/* After compressing a data page of n bytes to clen: start or end a stretch of
 * stored pages. */
static void page_probe(col *c, pqf_encoding enc, size_t n, size_t clen)
{
    c->raw_enc = enc;
    if (n >= 4096 && clen > n - n / RAW_SAVING) {
        c->raw_span = c->raw_span ? PQF_MIN(c->raw_span * 2, RAW_SPAN_MAX) : 2;
        c->raw_left = c->raw_span;
    } else {
        c->raw_span = c->raw_left = 0;
    }
}

/* Compress src into w->s_comp. */
static pqf_err compress(pqf_writer *w, const col *c, const uint8_t *src, size_t n)
{
    pqf_err rc = PQF_OK;
    pqf_error e = {0};
    pqf__buf_reset(&w->s_comp);
    size_t bound = pqf__compress_bound(w->comp, n);
    PQF_TRY(pqf__buf_reserve(&w->s_comp, bound));
    size_t olen = 0;
    rc = pqf__compress(w->comp, src, n, w->s_comp.data, w->s_comp.cap, &olen, &e);
    if (rc != PQF_OK)
        return fail(w, rc, "column %s: compressing a page: %s", c->path, e.msg);
    w->s_comp.len = olen;
done:
    if (rc != PQF_OK)
        return nomem(w, rc, c);
    return rc;
}

/* Encode the non-dictionary values of the current page into out. */
static pqf_err encode_values(col *c, pqf__buf *out)
{
    const uint8_t *v = c->vals.data;
    switch (c->enc) {
    case PQF_ENC_PLAIN:
        if (c->phys == PQF_BOOLEAN)
            return pqf__plain_bool(v, c->nvals, out);
        return pqf__buf_append(out, v, c->vals.len);
    case PQF_ENC_RLE: {
        /* BOOLEAN RLE in data pages carries a 4-byte length prefix. */
        size_t at = out->len;
        pqf_err rc = pqf__buf_append(out, "\0\0\0\0", 4);
        if (rc == PQF_OK)
            rc = pqf__rle_encode_u8(v, c->nvals, 1, out);
        if (rc == PQF_OK)
            pqf__store32le(out->data + at, (uint32_t)(out->len - at - 4));
        return rc;
    }
    case PQF_ENC_DELTA_BINARY_PACKED:
        if (c->phys == PQF_INT32)
            return pqf__dbp_encode_i32((const int32_t *)(const void *)v, c->nvals, out);
        return pqf__dbp_encode_i64((const int64_t *)(const void *)v, c->nvals, out);
    case PQF_ENC_DELTA_LENGTH_BYTE_ARRAY:
        return pqf__dlba_encode(v, c->vals.len, c->nvals, out);
    case PQF_ENC_BYTE_STREAM_SPLIT:
        return pqf__bss_encode(v, c->nvals, c->width, out);
    default:
        return PQF_ERR_INTERNAL;
    }
}

static pqf_err encode_levels(const col *c, pqf__buf *out, bool prefix, size_t *rep_len,
                             size_t *def_len)
{
    pqf_err rc = PQF_OK;
    *rep_len = *def_len = 0;
    for (int which = 0; which < 2; which++) {
        int bw = which == 0 ? c->rep_bw : c->def_bw;
        const pqf__buf *b = which == 0 ? &c->rep : &c->def;
        if (bw == 0)
            continue;
        size_t at = out->len;
        if (prefix)
            PQF_TRY(pqf__buf_append(out, "\0\0\0\0", 4));
        PQF_TRY(pqf__rle_encode_u8(b->data, c->nlevels, bw, out));
        size_t l = out->len - at - (prefix ? 4 : 0);
        if (prefix)
            pqf__store32le(out->data + at, (uint32_t)l);
        *(which == 0 ? rep_len : def_len) = l;
    }
done:
    return rc;
}

static pqf_err add_pagerec(pqf_writer *w, col *c, const pagerec *pr)
{
    if (c->npages == c->cappages) {
        size_t nc = c->cappages ? c->cappages * 2 : 16;
        pagerec *p = realloc(c->pages, nc * sizeof *p);
        if (!p)
            return nomem(w, PQF_ERR_NOMEM, c);
        c->pages = p;
        c->cappages = nc;
    }
    c->pages[c->npages++] = *pr;
    return PQF_OK;
}

static void fallback_to_plain(col *c)
{
    c->dict_on = false;
}

static pqf_err flush_page(pqf_writer *w, col *c)
{
    pqf_err rc = PQF_OK;
    if (c->nlevels == 0)
        return PQF_OK;
    bool v2 = w->o.page_version == 2;
    /* A page of nulls only has no values to look up: PLAIN, so that a chunk
     * without values never needs an empty dictionary page. */
    bool dict = c->dict_on && c->nvals > 0;
    pqf_encoding enc = dict ? PQF_ENC_RLE_DICTIONARY : c->nvals ? c->enc : PQF_ENC_PLAIN;
    pqf__buf *page = &w->s_page, *vals = &w->s_val;
    size_t rep_len, def_len;
    pqf__buf_reset(page);
    pqf__buf_reset(vals);

    /* v1: levels with length prefixes, then values, all compressed.
     * v2: levels without prefixes, uncompressed; values compressed. */
    PQF_TRY(encode_levels(c, page, !v2, &rep_len, &def_len));
    pqf__buf *vdst = v2 ? vals : page;
    if (dict) {
        int bw = pqf__bit_width(c->dict.count > 1 ? c->dict.count - 1 : 1);
        PQF_TRY(pqf__buf_append_byte(vdst, (uint8_t)bw));
        PQF_TRY(
            pqf__rle_encode_u32((const uint32_t *)(const void *)c->idx.data, c->nvals, bw, vdst));
    } else if (c->nvals) {
        PQF_TRY(encode_values(c, vdst));
    }
    size_t unc = page->len + (v2 ? vals->len : 0);
    const uint8_t *body = page->data; /* v1: whole page; v2: levels */
    size_t body_len = page->len;
    const uint8_t *vbody = vals->data; /* v2 only */
    size_t vbody_len = vals->len;
    bool compressed = false;
    if (w->comp) {
        if (!v2) {
            if (w->o.codec == PQF_CODEC_ZSTD && page_raw(c, enc)) {
                pqf__buf_reset(&w->s_comp);
                PQF_TRY(zstd_store(&w->s_comp, page->data, page->len));
            } else {
                PQF_TRY(compress(w, c, page->data, page->len));
                if (w->o.codec == PQF_CODEC_ZSTD)
                    page_probe(c, enc, page->len, w->s_comp.len);
            }
            body = w->s_comp.data;
            body_len = w->s_comp.len;
            compressed = true;
        } else if (vals->len && !page_raw(c, enc)) {
            PQF_TRY(compress(w, c, vals->data, vals->len));
            page_probe(c, enc, vals->len, w->s_comp.len);
            /* v2 may store values raw when compression does not help. */
            if (w->s_comp.len < vals->len) {
                vbody = w->s_comp.data;
                vbody_len = w->s_comp.len;
                compressed = true;
            }
        }
    }
    size_t comp_len = body_len + (v2 ? vbody_len : 0);
    if (comp_len > INT32_MAX || unc > INT32_MAX)
        return fail(w, PQF_ERR_LIMIT, "column %s: page larger than 2 GiB", c->path);
    uint32_t crc = 0;
    if (w->o.page_crc) {
        crc = pqf__crc32(0, body, body_len);
        if (v2)
            crc = pqf__crc32(crc, vbody, vbody_len);
    }

    /* Header. */
    pqf__buf_reset(&w->s_hdr);
    pqf__tw t;
    pqf__tw_init(&t, &w->s_hdr);
    pqf__tw_i32(&t, 1, v2 ? PT_DATA_V2 : PT_DATA);
    pqf__tw_i32(&t, 2, (int32_t)unc);
    pqf__tw_i32(&t, 3, (int32_t)comp_len);
    if (w->o.page_crc)
        pqf__tw_i32(&t, 4, (int32_t)crc);
    int64_t rows = (int64_t)w->rg_rows - c->page_first_row;
    bool has_mm = false;
    if (!v2) {
        pqf__tw_struct_begin(&t, 5);
        pqf__tw_i32(&t, 1, (int32_t)c->nlevels);
        pqf__tw_i32(&t, 2, (int32_t)enc);
        pqf__tw_i32(&t, 3, PQF_ENC_RLE);
        pqf__tw_i32(&t, 4, PQF_ENC_RLE);
        if (w->o.statistics)
            has_mm = tw_statistics(w, &t, 5, c, &c->pst);
        pqf__tw_struct_end(&t);
    } else {
        pqf__tw_struct_begin(&t, 8);
        pqf__tw_i32(&t, 1, (int32_t)c->nlevels);
        pqf__tw_i32(&t, 2, (int32_t)(c->nlevels - c->nvals));
        pqf__tw_i32(&t, 3, (int32_t)rows);
        pqf__tw_i32(&t, 4, (int32_t)enc);
        pqf__tw_i32(&t, 5, (int32_t)def_len);
        pqf__tw_i32(&t, 6, (int32_t)rep_len);
        pqf__tw_bool(&t, 7, compressed);
        if (w->o.statistics)
            has_mm = tw_statistics(w, &t, 8, c, &c->pst);
        pqf__tw_struct_end(&t);
    }
    pqf__tw_struct_end(&t);
    PQF_TRY(pqf__tw_err(&t));

    /* Column index entry (needs the encoded bounds tw_statistics left). */
    pagerec pr = {0};
    pr.off = c->chunk.len;
    pr.size = (uint32_t)(w->s_hdr.len + comp_len);
    pr.first_row = c->page_first_row;
    pr.nulls = (int64_t)c->pst.nulls;
    pr.null_page = c->nvals == 0;
    if (!w->o.statistics) {
        pqf__stats_enc e;
        PQF_TRY(pqf__stats_encode(&c->pst, c->phys == PQF_BYTE_ARRAY, c->utf8, w->o.stats_max_bytes,
                                  &w->s_min, &w->s_max, &e));
        has_mm = e.has_min && e.has_max;
    }
    pr.has_minmax = has_mm;
    if (!pr.null_page && !has_mm)
        c->ci_ok = false; /* all NaN, or a max that could not be rounded up */
    if (has_mm) {
        pr.min_off = (uint32_t)c->ci_vals.len;
        pr.min_len = (uint32_t)w->s_min.len;
        PQF_TRY(pqf__buf_append(&c->ci_vals, w->s_min.data, w->s_min.len));
        pr.max_off = (uint32_t)c->ci_vals.len;
        pr.max_len = (uint32_t)w->s_max.len;
        PQF_TRY(pqf__buf_append(&c->ci_vals, w->s_max.data, w->s_max.len));
    }
    PQF_TRY(add_pagerec(w, c, &pr));

    PQF_TRY(pqf__buf_append(&c->chunk, w->s_hdr.data, w->s_hdr.len));
    PQF_TRY(pqf__buf_append(&c->chunk, body, body_len));
    if (v2)
        PQF_TRY(pqf__buf_append(&c->chunk, vbody, vbody_len));
    c->unc_bytes += w->s_hdr.len + unc;
    c->comp_bytes += w->s_hdr.len + comp_len;
    c->num_values += c->nlevels;
    c->enc_counts[enc]++;
    w->st.uncompressed_bytes += unc;
    if (dict)
        c->dict_used = true;

    /* AUTO: after the first dictionary page, keep the dictionary only if it
     * beats the plain size. */
    if (dict && c->auto_enc && c->npages == 1 && c->nvals > 0) {
        uint64_t plain = c->phys == PQF_BYTE_ARRAY ? c->page_est : (uint64_t)c->nvals * c->width;
        uint64_t dsize = pqf__dict_bytes(&c->dict) +
                         (uint64_t)c->nvals * (uint64_t)pqf__bit_width(c->dict.count) / 8;
        if (dsize >= plain)
            fallback_to_plain(c);
    }

    PQF_TRY(pqf__stats_merge(&c->cst, &c->pst));
    pqf__stats_reset(&c->pst);
    pqf__buf_reset(&c->def);
    pqf__buf_reset(&c->rep);
    pqf__buf_reset(&c->vals);
    pqf__buf_reset(&c->idx);
    c->nlevels = c->nvals = 0;
    c->page_est = 0;
    c->page_first_row = (int64_t)w->rg_rows;
    c->page_no++;
done:
    if (rc != PQF_OK && w->err.code == PQF_OK)
        return nomem(w, rc, c);
    return rc;
}

/* ---- row groups ------------------------------------------------------------------- */

static void tw_path(pqf__tw *t, int16_t id, const char *path)
{
    int n = 1;
    for (const char *p = path; *p; p++)
        n += *p == '.';
    pqf__tw_list_begin(t, id, PQF__CT_BINARY, (uint32_t)n);
    const char *s = path;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        pqf__tw_elem_binary(t, s, l);
        if (!dot)
            break;
        s = dot + 1;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Build and write the chunk's Bloom filter; off and len get its place. */
static pqf_err write_bloom(pqf_writer *w, col *c, uint64_t *off, uint32_t *len)
{
    pqf_err rc = PQF_OK;
    pqf__bloom bf = {0};
    size_t nh = c->bhash.len / 8;
    size_t total = nh + c->dict.count;
    uint64_t *h = malloc((total ? total : 1) * sizeof *h);
    if (!h)
        PQF_FAIL(&w->err, PQF_ERR_NOMEM, "out of memory");
    if (nh)
        memcpy(h, c->bhash.data, nh * 8);
    for (uint32_t i = 0; i < c->dict.count; i++) {
        size_t l;
        const uint8_t *p = pqf__dict_entry(&c->dict, i, &l);
        h[nh + i] = pqf__xxh64(p, l);
    }
    qsort(h, total, sizeof *h, cmp_u64);
    size_t ndv = 0;
    for (size_t i = 0; i < total; i++)
        if (i == 0 || h[i] != h[i - 1])
            h[ndv++] = h[i];
    size_t bytes = pqf__bloom_bytes_for(c->bloom_ndv ? c->bloom_ndv : ndv, c->bloom_fpp);
    PQF_TRY(pqf__bloom_init(&bf, bytes));
    for (size_t i = 0; i < ndv; i++)
        pqf__bloom_insert(&bf, h[i]);
    pqf__buf_reset(&w->s_meta);
    PQF_TRY(pqf__bloom_serialize(&bf, &w->s_meta));
    *off = w->pos;
    *len = (uint32_t)w->s_meta.len;
    PQF_TRY(out_write(w, w->s_meta.data, w->s_meta.len));
done:
    free(h);
    pqf__bloom_free(&bf);
    if (rc != PQF_OK && w->err.code == PQF_OK)
        return nomem(w, rc, c);
    return rc;
}

static pqf_err write_dict_page(pqf_writer *w, col *c)
{
    pqf_err rc = PQF_OK;
    const uint8_t *body = c->dict.plain.data;
    size_t unc = c->dict.plain.len, clen = unc;
    if (w->comp) {
        PQF_TRY(compress(w, c, body, unc));
        body = w->s_comp.data;
        clen = w->s_comp.len;
    }
    if (clen > INT32_MAX || unc > INT32_MAX)
        return fail(w, PQF_ERR_LIMIT, "column %s: dictionary larger than 2 GiB", c->path);
    pqf__buf_reset(&w->s_hdr);
    pqf__tw t;
    pqf__tw_init(&t, &w->s_hdr);
    pqf__tw_i32(&t, 1, PT_DICT);
    pqf__tw_i32(&t, 2, (int32_t)unc);
    pqf__tw_i32(&t, 3, (int32_t)clen);
    if (w->o.page_crc)
        pqf__tw_i32(&t, 4, (int32_t)pqf__crc32(0, body, clen));
    pqf__tw_struct_begin(&t, 7);
    pqf__tw_i32(&t, 1, (int32_t)c->dict.count);
    pqf__tw_i32(&t, 2, PQF_ENC_PLAIN);
    pqf__tw_struct_end(&t);
    pqf__tw_struct_end(&t);
    PQF_TRY(pqf__tw_err(&t));
    PQF_TRY(out_write(w, w->s_hdr.data, w->s_hdr.len));
    PQF_TRY(out_write(w, body, clen));
    c->unc_bytes += w->s_hdr.len + unc;
    c->comp_bytes += w->s_hdr.len + clen;
    w->st.uncompressed_bytes += unc;
done:
    if (rc != PQF_OK && w->err.code == PQF_OK)
        return nomem(w, rc, c);
    return rc;
}

static pqf_err build_indexes(pqf_writer *w, col *c, chunkmeta *cm, uint64_t data_off)
{
    pqf__tw t;
    /* OffsetIndex */
    pqf__tw_init(&t, &cm->oi);
    pqf__tw_list_begin(&t, 1, PQF__CT_STRUCT, (uint32_t)c->npages);
    for (size_t i = 0; i < c->npages; i++) {
        pqf__tw_elem_struct_begin(&t);
        pqf__tw_i64(&t, 1, (int64_t)(data_off + c->pages[i].off));
        pqf__tw_i32(&t, 2, (int32_t)c->pages[i].size);
        pqf__tw_i64(&t, 3, c->pages[i].first_row);
        pqf__tw_struct_end(&t);
    }
    pqf__tw_struct_end(&t);
    if (pqf__tw_err(&t) != PQF_OK)
        return nomem(w, pqf__tw_err(&t), c);
    if (!c->ci_ok)
        return PQF_OK;
    /* ColumnIndex */
    bool asc = true, desc = true;
    const pagerec *prev = NULL;
    /* empty strings only: no bytes were kept, and NULL + 0 is undefined */
    const uint8_t *v = c->ci_vals.data ? c->ci_vals.data : (const uint8_t *)"";
    for (size_t i = 0; i < c->npages; i++) {
        const pagerec *p = &c->pages[i];
        if (p->null_page)
            continue;
        if (prev) {
            int a = pqf__stats_cmp(c->ord, v + prev->min_off, prev->min_len, v + p->min_off,
                                   p->min_len);
            int b = pqf__stats_cmp(c->ord, v + prev->max_off, prev->max_len, v + p->max_off,
                                   p->max_len);
            if (a > 0 || b > 0)
                asc = false;
            if (a < 0 || b < 0)
                desc = false;
        }
        prev = p;
    }
    pqf__tw_init(&t, &cm->ci);
    pqf__tw_list_begin(&t, 1, PQF__CT_BOOL_TRUE, (uint32_t)c->npages);
    for (size_t i = 0; i < c->npages; i++)
        pqf__tw_elem_bool(&t, c->pages[i].null_page);
    for (int16_t f = 2; f <= 3; f++) {
        pqf__tw_list_begin(&t, f, PQF__CT_BINARY, (uint32_t)c->npages);
        for (size_t i = 0; i < c->npages; i++) {
            const pagerec *p = &c->pages[i];
            if (p->null_page)
                pqf__tw_elem_binary(&t, "", 0);
            else if (f == 2)
                pqf__tw_elem_binary(&t, v + p->min_off, p->min_len);
            else
                pqf__tw_elem_binary(&t, v + p->max_off, p->max_len);
        }
    }
    pqf__tw_i32(&t, 4, asc ? 1 : desc ? 2 : 0);
    pqf__tw_list_begin(&t, 5, PQF__CT_I64, (uint32_t)c->npages);
    for (size_t i = 0; i < c->npages; i++)
        pqf__tw_elem_i64(&t, c->pages[i].nulls);
    pqf__tw_struct_end(&t);
    if (pqf__tw_err(&t) != PQF_OK)
        return nomem(w, pqf__tw_err(&t), c);
    return PQF_OK;
}

static pqf_err build_column_meta(pqf_writer *w, col *c, chunkmeta *cm, uint64_t dict_off,
                                 uint64_t data_off, uint64_t bloom_off, uint32_t bloom_len)
{
    pqf__tw t;
    pqf__tw_init(&t, &cm->cmd);
    pqf__tw_i32(&t, 1, (int32_t)c->phys);
    /* encodings: RLE for levels, PLAIN for the dictionary page, plus data encodings */
    int encs[12], ne = 0;
    encs[ne++] = PQF_ENC_RLE;
    if (c->dict_used)
        encs[ne++] = PQF_ENC_PLAIN;
    for (int e = 0; e < 10; e++)
        if (c->enc_counts[e] && e != PQF_ENC_RLE && !(e == PQF_ENC_PLAIN && c->dict_used))
            encs[ne++] = e;
    pqf__tw_list_begin(&t, 2, PQF__CT_I32, (uint32_t)ne);
    for (int i = 0; i < ne; i++)
        pqf__tw_elem_i32(&t, encs[i]);
    tw_path(&t, 3, c->path);
    pqf__tw_i32(&t, 4, (int32_t)w->o.codec);
    pqf__tw_i64(&t, 5, (int64_t)c->num_values);
    pqf__tw_i64(&t, 6, (int64_t)c->unc_bytes);
    pqf__tw_i64(&t, 7, (int64_t)c->comp_bytes);
    pqf__tw_i64(&t, 9, (int64_t)data_off);
    if (c->dict_used)
        pqf__tw_i64(&t, 11, (int64_t)dict_off);
    if (w->o.statistics)
        tw_statistics(w, &t, 12, c, &c->cst);
    int nstats = c->dict_used ? 1 : 0;
    for (int e = 0; e < 10; e++)
        nstats += c->enc_counts[e] != 0;
    pqf__tw_list_begin(&t, 13, PQF__CT_STRUCT, (uint32_t)nstats);
    if (c->dict_used) {
        pqf__tw_elem_struct_begin(&t);
        pqf__tw_i32(&t, 1, PT_DICT);
        pqf__tw_i32(&t, 2, PQF_ENC_PLAIN);
        pqf__tw_i32(&t, 3, 1);
        pqf__tw_struct_end(&t);
    }
    for (int e = 0; e < 10; e++) {
        if (!c->enc_counts[e])
            continue;
        pqf__tw_elem_struct_begin(&t);
        pqf__tw_i32(&t, 1, w->o.page_version == 2 ? PT_DATA_V2 : PT_DATA);
        pqf__tw_i32(&t, 2, e);
        pqf__tw_i32(&t, 3, (int32_t)c->enc_counts[e]);
        pqf__tw_struct_end(&t);
    }
    if (bloom_len) {
        pqf__tw_i64(&t, 14, (int64_t)bloom_off);
        pqf__tw_i32(&t, 15, (int32_t)bloom_len);
    }
    pqf__tw_struct_end(&t);
    if (pqf__tw_err(&t) != PQF_OK)
        return nomem(w, pqf__tw_err(&t), c);
    return PQF_OK;
}

static void col_reset_chunk(pqf_writer *w, col *c)
{
    pqf__buf_reset(&c->chunk);
    pqf__buf_reset(&c->ci_vals);
    pqf__buf_reset(&c->bhash);
    pqf__dict_reset(&c->dict);
    pqf__stats_reset(&c->cst);
    c->npages = 0;
    c->num_values = c->unc_bytes = c->comp_bytes = 0;
    memset(c->enc_counts, 0, sizeof c->enc_counts);
    c->dict_on = c->dict_enabled;
    c->dict_used = false;
    c->dict_full = false;
    c->dict_vals = 0;
    c->ci_ok = true;
    c->page_first_row = 0;
    c->rg_bytes = 0;
    c->raw_left = c->raw_span = 0;
}

static pqf_err flush_row_group(pqf_writer *w)
{
    pqf_err rc = PQF_OK;
    if (w->rg_rows == 0)
        return PQF_OK;
    if (w->nrg == w->caprg) {
        size_t nc = w->caprg ? w->caprg * 2 : 8;
        rgmeta *r = realloc(w->rgs, nc * sizeof *r);
        if (!r)
            return nomem(w, PQF_ERR_NOMEM, NULL);
        w->rgs = r;
        w->caprg = nc;
    }
    rgmeta *rg = &w->rgs[w->nrg];
    memset(rg, 0, sizeof *rg);
    rg->chunks = calloc((size_t)w->ncols, sizeof *rg->chunks);
    if (!rg->chunks)
        return nomem(w, PQF_ERR_NOMEM, NULL);
    w->nrg++;
    for (int i = 0; i < w->ncols; i++) {
        pqf__buf_init(&rg->chunks[i].cmd, BUF_LIMIT);
        pqf__buf_init(&rg->chunks[i].ci, BUF_LIMIT);
        pqf__buf_init(&rg->chunks[i].oi, BUF_LIMIT);
    }
    rg->num_rows = (int64_t)w->rg_rows;
    rg->file_offset = (int64_t)w->pos;
    uint64_t buffered = 0;
    for (int i = 0; i < w->ncols; i++) {
        col *c = &w->cols[i];
        PQF_TRY(flush_page(w, c));
        buffered += c->chunk.len + pqf__dict_bytes(&c->dict);
    }
    if (buffered > w->st.peak_buffered)
        w->st.peak_buffered = buffered;
    uint64_t *dict_off = calloc((size_t)w->ncols * 4, sizeof(uint64_t));
    if (!dict_off)
        return nomem(w, PQF_ERR_NOMEM, NULL);
    uint64_t *data_off = dict_off + w->ncols, *bloom_off = data_off + w->ncols,
             *bloom_len = bloom_off + w->ncols;
    for (int i = 0; i < w->ncols && rc == PQF_OK; i++) {
        col *c = &w->cols[i];
        dict_off[i] = w->pos;
        if (c->dict_used)
            rc = write_dict_page(w, c);
        data_off[i] = w->pos;
        if (rc == PQF_OK)
            rc = out_write(w, c->chunk.data, c->chunk.len);
        rg->total_byte_size += (int64_t)c->unc_bytes;
        rg->total_compressed += (int64_t)c->comp_bytes;
    }
    for (int i = 0; i < w->ncols && rc == PQF_OK; i++) {
        col *c = &w->cols[i];
        uint32_t bl = 0;
        if (c->bloom)
            rc = write_bloom(w, c, &bloom_off[i], &bl);
        bloom_len[i] = bl;
    }
    for (int i = 0; i < w->ncols && rc == PQF_OK; i++) {
        col *c = &w->cols[i];
        rc = build_column_meta(w, c, &rg->chunks[i], dict_off[i], data_off[i], bloom_off[i],
                               (uint32_t)bloom_len[i]);
        if (rc == PQF_OK && w->o.page_index)
            rc = build_indexes(w, c, &rg->chunks[i], data_off[i]);
        col_reset_chunk(w, c);
    }
    free(dict_off);
    if (rc != PQF_OK)
        goto done;
    w->rg_rows = 0;
    w->rg_est = 0;
    w->st.row_groups++;
done:
    return rc;
}

/* ---- shredding ---------------------------------------------------------------------- */

static const char *node_path(pqf_writer *w, int node, char *buf, size_t cap)
{
    pqf_schema_path(w->schema, node, buf, cap);
    return buf;
}

static pqf_err ctx_error(pqf_writer *w, int node, const char *what)
{
    char p[256];
    if (node < 0 || node >= w->nnodes)
        return fail(w, PQF_ERR_INVALID_ARG, "row %" PRIu64 ": bad node id %d", w->rows + 1, node);
    return fail(w, PQF_ERR_INVALID_ARG, "column %s, row %" PRIu64 ": %s",
                node_path(w, node, p, sizeof p), w->rows + 1, what);
}

static inline void note_full(pqf_writer *w, col *c)
{
    if (!c->flagged) {
        c->flagged = true;
        w->pending[w->npending++] = c->leaf;
    }
}

static inline void account(pqf_writer *w, col *c, uint64_t bytes)
{
    c->page_est += bytes;
    w->rg_est += bytes;
    if (PQF_UNLIKELY(c->page_est >= w->o.page_bytes || c->nlevels >= PAGE_MAX_VALUES))
        note_full(w, c);
}

/* Levels for one entry of leaf c. */
static inline pqf_err put_levels(col *c, int16_t def)
{
    pqf_err rc = PQF_OK;
    if (c->max_def)
        rc = push_u8(&c->def, (uint8_t)def);
    if (c->max_rep && rc == PQF_OK)
        rc = push_u8(&c->rep, (uint8_t)c->pending_rep);
    c->nlevels++;
    return rc;
}

/* Null entries for every leaf under node n, at definition level def. */
static pqf_err emit_null(pqf_writer *w, const wnode *n, int16_t def)
{
    return pqf__writer_lv_null(w, n->first_leaf, n->end_leaf, def);
}

/* An element of the list in frame f starts: later elements repeat at the
 * list's level. */
static inline void list_element(pqf_writer *w, frame *f, const wnode *elem)
{
    if (f->count++ > 0)
        pqf__writer_lv_repeat(w, elem->first_leaf, elem->end_leaf, elem->rep);
}

static pqf_err claim_slow(pqf_writer *w, int node);

/* Check that node may be written in the current context and claim it. The
 * common case, a top-level field of a row written once, is tested first. */
static inline pqf_err claim(pqf_writer *w, int node)
{
    if (PQF_LIKELY(w->depth == 0 && (unsigned)node < (unsigned)w->nnodes &&
                   w->err.code == PQF_OK)) {
        wnode *n = &w->nodes[node];
        frame *f = &w->stack[0];
        if (PQF_LIKELY(n->parent == 0 && node != 0 && n->written != f->gen)) {
            n->written = f->gen;
            f->nwritten++;
            return PQF_OK;
        }
    }
    return claim_slow(w, node);
}

static pqf_err claim_slow(pqf_writer *w, int node)
{
    if (PQF_UNLIKELY(w->err.code != PQF_OK))
        return w->err.code;
    if (PQF_UNLIKELY(w->depth < 0))
        return fail(w, PQF_ERR_INVALID_ARG, "value outside pqf_writer_row_begin/row_end");
    if (PQF_UNLIKELY((unsigned)node >= (unsigned)w->nnodes || node == 0))
        return ctx_error(w, node, "not a field");
    frame *f = &w->stack[w->depth];
    wnode *n = &w->nodes[node];
    if (f->kind == FR_LIST) {
        if (PQF_UNLIKELY(node != f->elem))
            return ctx_error(w, node, "not the element of the list being written");
        list_element(w, f, n);
        return PQF_OK;
    }
    if (PQF_UNLIKELY(n->parent != f->node))
        return ctx_error(w, node, "not a field of the struct being written");
    if (PQF_UNLIKELY(n->written == f->gen))
        return ctx_error(w, node, "written twice");
    n->written = f->gen;
    f->nwritten++;
    return PQF_OK;
}

static inline pqf_err leaf_for(pqf_writer *w, int node, pqf_physical t, col **out)
{
    pqf_err rc = claim(w, node);
    if (PQF_UNLIKELY(rc != PQF_OK))
        return rc;
    const wnode *n = &w->nodes[node];
    if (PQF_UNLIKELY(
            n->kind != NK_LEAF ||
            (n->phys != t && !(t == PQF_BYTE_ARRAY && n->phys == PQF_FIXED_LEN_BYTE_ARRAY)))) {
        char msg[96];
        snprintf(msg, sizeof msg, "a %s value for a %s", pqf_physical_name(t),
                 n->kind == NK_LEAF ? pqf_physical_name(n->phys) : "group");
        return ctx_error(w, node, msg);
    }
    *out = &w->cols[n->leaf];
    return PQF_OK;
}

static pqf_err dict_full(pqf_writer *w, col *c)
{
    c->dict_full = true;
    note_full(w, c);
    return PQF_OK;
}

static inline pqf_err after_dict_add(pqf_writer *w, col *c)
{
    if (PQF_UNLIKELY(pqf__dict_bytes(&c->dict) >= w->o.dict_page_bytes ||
                     c->dict.count >= DICT_MAX_ENTRIES))
        return dict_full(w, c);
    if (PQF_UNLIKELY(c->dict.count == DICT_PROBE && c->auto_enc &&
                     c->dict_vals < DICT_PROBE + DICT_PROBE / 32))
        return dict_full(w, c);
    return PQF_OK;
}

static inline pqf_err bloom_hash(pqf_writer *w, col *c, const void *p, size_t n)
{
    uint64_t h = pqf__xxh64(p, n);
    pqf_err rc = push_n(&c->bhash, &h, 8);
    return rc == PQF_OK ? PQF_OK : nomem(w, rc, c);
}

/* The deferred dictionary puts (struct pqf_writer, dq), in order. */
static pqf_err dq_resolve(pqf_writer *w)
{
    pqf_err rc = PQF_OK;
    int n = w->ndq;
    w->ndq = 0;
    for (int i = 0; i < n; i++) {
        const struct dqent *q = &w->dq[i];
        col *c = &w->cols[q->leaf];
        uint32_t idx;
        bool added;
        rc = c->dict.width == 4 ? pqf__dict_put32(&c->dict, (uint32_t)q->key, &idx, &added)
                                : pqf__dict_put64(&c->dict, q->key, &idx, &added);
        c->dict_vals++;
        if (rc == PQF_OK) {
            memcpy(c->idx.data + (size_t)q->pos * 4, &idx, 4);
            if (added)
                rc = after_dict_add(w, c);
        }
        if (PQF_UNLIKELY(rc != PQF_OK))
            return nomem(w, rc, c);
    }
    return PQF_OK;
}

/* A fixed-width value: key is its bits (for the dictionary). */
static inline __attribute__((always_inline)) pqf_err put_fixed(pqf_writer *w, col *c, const void *p,
                                                               size_t width, uint64_t key)
{
    pqf_err rc = put_levels(c, c->max_def);
    if (PQF_LIKELY(rc == PQF_OK)) {
        if (c->dict_on) {
            uint32_t later = 0; /* the entry index, set by dq_resolve */
            rc = push_n(&c->idx, &later, 4);
            if (PQF_LIKELY(rc == PQF_OK)) {
                pqf__dict_prefetch(&c->dict, key);
                struct dqent *q = &w->dq[w->ndq++];
                q->key = key;
                q->pos = (uint32_t)(c->idx.len / 4 - 1);
                q->leaf = c->leaf;
                if (PQF_UNLIKELY(w->ndq == DQ_MAX)) {
                    rc = dq_resolve(w);
                    if (rc != PQF_OK)
                        return rc;
                }
            }
        } else {
            rc = push_n(&c->vals, p, width);
            if (rc == PQF_OK && c->bloom)
                rc = bloom_hash(w, c, p, width);
        }
    }
    if (PQF_UNLIKELY(rc != PQF_OK))
        return nomem(w, rc, c);
    c->nvals++;
    account(w, c, width);
    return PQF_OK;
}

/* The typed puts on a resolved leaf, shared by the per-value calls and
 * pqf__writer_flat_row. */
static inline __attribute__((always_inline)) pqf_err put_bool(pqf_writer *w, col *c, bool v)
{
    uint8_t b = v ? 1 : 0;
    pqf__stats_int(&c->pst, b);
    pqf_err rc = put_levels(c, c->max_def);
    if (rc == PQF_OK)
        rc = push_u8(&c->vals, b);
    if (rc != PQF_OK)
        return nomem(w, rc, c);
    c->nvals++;
    account(w, c, 1);
    return PQF_OK;
}

static inline __attribute__((always_inline)) pqf_err put_i32(pqf_writer *w, col *c, int32_t v)
{
    if (PQF_UNLIKELY(c->range_check)) {
        int64_t x = c->ord == PQF__ORD_U32 ? (int64_t)(uint32_t)v : v;
        if (x < c->lo || x > c->hi)
            return fail(w, PQF_ERR_VALUE, "column %s, row %" PRIu64 ": %" PRId64 " out of range",
                        c->path, w->rows + 1, x);
    }
    if (c->ord == PQF__ORD_U32)
        pqf__stats_uint(&c->pst, (uint32_t)v);
    else
        pqf__stats_int(&c->pst, v);
    return put_fixed(w, c, &v, 4, (uint32_t)v);
}

static inline __attribute__((always_inline)) pqf_err put_i64(pqf_writer *w, col *c, int64_t v)
{
    if (c->ord == PQF__ORD_U64)
        pqf__stats_uint(&c->pst, (uint64_t)v);
    else
        pqf__stats_int(&c->pst, v);
    return put_fixed(w, c, &v, 8, (uint64_t)v);
}

static inline __attribute__((always_inline)) pqf_err put_float(pqf_writer *w, col *c, float v)
{
    pqf__stats_real(&c->pst, v);
    uint32_t bits;
    memcpy(&bits, &v, 4);
    return put_fixed(w, c, &v, 4, bits);
}

static inline __attribute__((always_inline)) pqf_err put_double(pqf_writer *w, col *c, double v)
{
    pqf__stats_real(&c->pst, v);
    uint64_t bits;
    memcpy(&bits, &v, 8);
    return put_fixed(w, c, &v, 8, bits);
}

static pqf_err put_bytes(pqf_writer *w, col *c, const void *p, size_t n)
{
    if (c->phys == PQF_FIXED_LEN_BYTE_ARRAY && n != c->width)
        return fail(w, PQF_ERR_VALUE,
                    "column %s, row %" PRIu64 ": %zu bytes for FIXED_LEN_BYTE_ARRAY(%zu)", c->path,
                    w->rows + 1, n, c->width);
    if (n > INT32_MAX)
        return fail(w, PQF_ERR_LIMIT, "column %s, row %" PRIu64 ": value of %zu bytes", c->path,
                    w->rows + 1, n);
    if (!p)
        p = "";
    pqf_err rc = put_levels(c, c->max_def);
    if (rc != PQF_OK)
        return nomem(w, rc, c);
    if (c->dict_on) {
        uint32_t idx;
        bool added;
        uint32_t *seen; /* the entry's word in the dictionary: last page whose stats saw it */
        rc = pqf__dict_put_bytes(&c->dict, p, n, &idx, &added, &seen);
        c->dict_vals++;
        if (rc == PQF_OK)
            rc = push_n(&c->idx, &idx, 4);
        if (rc != PQF_OK)
            return nomem(w, rc, c);
        /* Stats see each entry once per page (read before after_dict_add, which
         * may fall back and reset the dictionary). */
        bool fresh = *seen != c->page_no;
        *seen = c->page_no;
        if (added) {
            rc = after_dict_add(w, c);
            if (rc != PQF_OK)
                return nomem(w, rc, c);
        }
        if (fresh)
            rc = pqf__stats_bytes(&c->pst, p, n);
    } else {
        if (c->phys == PQF_BYTE_ARRAY) {
            uint8_t l[4];
            pqf__store32le(l, (uint32_t)n);
            rc = push_n(&c->vals, l, 4);
        }
        if (rc == PQF_OK)
            rc = push_n(&c->vals, p, n);
        if (rc == PQF_OK)
            rc = pqf__stats_bytes(&c->pst, p, n);
        if (rc == PQF_OK && c->bloom)
            rc = bloom_hash(w, c, p, n);
    }
    if (rc != PQF_OK)
        return nomem(w, rc, c);
    c->nvals++;
    account(w, c, n + (c->phys == PQF_BYTE_ARRAY ? 4 : 0));
    return PQF_OK;
}

/* A typed cell (parquet/flat.h) on its resolved leaf: the flat rows' and the
 * levelled writes' dispatch. */
static inline __attribute__((always_inline)) pqf_err put_val(pqf_writer *w, col *c,
                                                             const pqf__val *v)
{
    switch (c->phys) {
    case PQF_BOOLEAN:
        return put_bool(w, c, v->u.b);
    case PQF_INT32:
        return put_i32(w, c, v->u.i32);
    case PQF_INT64:
        return put_i64(w, c, v->u.i64);
    case PQF_FLOAT:
        return put_float(w, c, v->u.f);
    case PQF_DOUBLE:
        return put_double(w, c, v->u.d);
    case PQF_BYTE_ARRAY:
    case PQF_FIXED_LEN_BYTE_ARRAY:
        return put_bytes(w, c, v->p, v->n);
    default:
        return ctx_error(w, c->node, "a value of an unsupported physical type");
    }
}

pqf_err pqf_writer_bool(pqf_writer *w, int node, bool v)
{
    col *c = NULL;
    pqf_err rc = leaf_for(w, node, PQF_BOOLEAN, &c);
    return rc != PQF_OK ? rc : put_bool(w, c, v);
}

pqf_err pqf_writer_i32(pqf_writer *w, int node, int32_t v)
{
    col *c = NULL;
    pqf_err rc = leaf_for(w, node, PQF_INT32, &c);
    return rc != PQF_OK ? rc : put_i32(w, c, v);
}

pqf_err pqf_writer_i64(pqf_writer *w, int node, int64_t v)
{
    col *c = NULL;
    pqf_err rc = leaf_for(w, node, PQF_INT64, &c);
    return rc != PQF_OK ? rc : put_i64(w, c, v);
}

pqf_err pqf_writer_float(pqf_writer *w, int node, float v)
{
    col *c = NULL;
    pqf_err rc = leaf_for(w, node, PQF_FLOAT, &c);
    return rc != PQF_OK ? rc : put_float(w, c, v);
}

pqf_err pqf_writer_double(pqf_writer *w, int node, double v)
{
    col *c = NULL;
    pqf_err rc = leaf_for(w, node, PQF_DOUBLE, &c);
    return rc != PQF_OK ? rc : put_double(w, c, v);
}

pqf_err pqf_writer_bytes(pqf_writer *w, int node, const void *p, size_t n)
{
    col *c = NULL;
    pqf_err rc = leaf_for(w, node, PQF_BYTE_ARRAY, &c); /* or FIXED_LEN_BYTE_ARRAY */
    return rc != PQF_OK ? rc : put_bytes(w, c, p, n);
}

pqf_err pqf_writer_null(pqf_writer *w, int node)
{
    pqf_err rc = claim(w, node);
    if (rc != PQF_OK)
        return rc;
    const wnode *n = &w->nodes[node];
    if (n->required)
        return ctx_error(w, node, "null for a REQUIRED field");
    return emit_null(w, n, n->parent_def);
}

static pqf_err push_frame(pqf_writer *w, int node, int kind)
{
    if (w->depth + 1 >= w->maxdepth)
        return ctx_error(w, node, "nested too deep");
    frame *f = &w->stack[++w->depth];
    f->node = node;
    f->kind = kind;
    f->gen = ++w->gen;
    f->nwritten = 0;
    f->count = 0;
    f->elem = kind == FR_LIST ? w->nodes[node].elem : -1;
    return PQF_OK;
}

/* Children of the frame's node not written: null, or an error if required. */
static pqf_err fill_missing(pqf_writer *w, const frame *f)
{
    const wnode *n = &w->nodes[f->node];
    if (f->nwritten == n->nkids)
        return PQF_OK;
    for (int k = 0; k < n->nkids; k++) {
        const wnode *kn = &w->nodes[n->kids[k]];
        if (kn->written == f->gen)
            continue;
        if (kn->required)
            return ctx_error(w, n->kids[k], "REQUIRED field not written");
        pqf_err rc = emit_null(w, kn, n->def);
        if (rc != PQF_OK)
            return rc;
    }
    return PQF_OK;
}

pqf_err pqf_writer_row_begin(pqf_writer *w)
{
    if (w->err.code != PQF_OK)
        return w->err.code;
    if (w->closed)
        return fail(w, PQF_ERR_INVALID_ARG, "writer already closed");
    if (w->depth >= 0)
        return fail(w, PQF_ERR_INVALID_ARG, "row %" PRIu64 ": row_begin inside a row", w->rows + 1);
    if (!w->started) {
        w->started = true;
        pqf_err rc = out_write(w, "PAR1", 4);
        if (rc != PQF_OK)
            return rc;
    }
    for (int i = 0; i < w->nrep; i++)
        w->cols[w->rep_leaves[i]].pending_rep = 0;
    /* stack[0] is always the root frame: only its generation changes */
    frame *f = &w->stack[0];
    f->gen = ++w->gen;
    f->nwritten = 0;
    w->depth = 0;
    return PQF_OK;
}

static pqf_err service_pending(pqf_writer *w)
{
    pqf_err rc = PQF_OK;
    for (int i = 0; i < w->npending && rc == PQF_OK; i++) {
        col *c = &w->cols[w->pending[i]];
        c->flagged = false;
        if (c->dict_full) {
            rc = flush_page(w, c);
            fallback_to_plain(c);
            c->dict_full = false;
        } else if (c->page_est >= w->o.page_bytes || c->nlevels >= PAGE_MAX_VALUES) {
            rc = flush_page(w, c);
        }
    }
    w->npending = 0;
    return rc;
}

pqf_err pqf_writer_row_end(pqf_writer *w)
{
    if (w->err.code != PQF_OK)
        return w->err.code;
    if (w->depth != 0)
        return fail(w, PQF_ERR_INVALID_ARG,
                    "row %" PRIu64 ": row_end with an open struct or list (or no row_begin)",
                    w->rows + 1);
    pqf_err rc = PQF_OK;
    if (w->stack[0].nwritten != w->nodes[0].nkids) {
        rc = fill_missing(w, &w->stack[0]);
        if (rc != PQF_OK)
            return rc;
    }
    if (w->ndq) {
        rc = dq_resolve(w);
        if (rc != PQF_OK)
            return rc;
    }
    w->depth = -1;
    w->rows++;
    w->rg_rows++;
    if (w->npending) {
        rc = service_pending(w);
        if (rc != PQF_OK)
            return rc;
    }
    if (w->rg_est >= w->o.row_group_bytes)
        rc = flush_row_group(w);
    return rc;
}

/* ---- flat rows (parquet/flat.h) ------------------------------------------ */

static bool is_flat(const pqf_writer *w)
{
    for (int i = 1; i < w->nnodes; i++)
        if (w->nodes[i].kind != NK_LEAF || w->nodes[i].parent != 0)
            return false;
    return w->nnodes > 1;
}

bool pqf__writer_flat(const pqf_writer *w) { return w->flat; }

int pqf__writer_leaf(const pqf_writer *w, int node)
{
    if (node <= 0 || node >= w->nnodes || w->nodes[node].kind != NK_LEAF)
        return -1;
    return w->nodes[node].leaf;
}

pqf_err pqf__writer_flat_row(pqf_writer *w, const pqf__val *vals, const uint8_t *nulls)
{
    pqf_err rc = pqf_writer_row_begin(w);
    if (PQF_UNLIKELY(rc != PQF_OK))
        return rc;
    if (PQF_UNLIKELY(!w->flat))
        return fail(w, PQF_ERR_INVALID_ARG, "flat rows for a nested schema");
    const int ncols = w->ncols;
    for (int l = 0; l < ncols && rc == PQF_OK; l++) {
        col *c = &w->cols[l];
        const pqf__val *v = &vals[l];
        if (nulls[l]) {
            const wnode *n = &w->nodes[c->node];
            rc = n->required ? ctx_error(w, c->node, "null for a REQUIRED field")
                             : emit_null(w, n, n->parent_def);
            continue;
        }
        rc = put_val(w, c, v);
    }
    if (PQF_UNLIKELY(rc != PQF_OK))
        return rc;
    return pqf__writer_lv_row_end(w); /* every leaf has its entry */
}

/* ---- levelled leaf writes (parquet/flat.h) -------------------------------- */

bool pqf__writer_lv_matches(const pqf_writer *w, const pqf_schema *s)
{
    if (pqf_schema_node_count(s) != w->nnodes || pqf_schema_leaf_count(s) != w->ncols)
        return false;
    for (int l = 0; l < w->ncols; l++) {
        pqf_node_info in;
        const col *c = &w->cols[l];
        if (pqf_schema_node(s, pqf_schema_leaf_node(s, l), &in) != PQF_OK || in.physical != c->phys ||
            in.max_def != c->max_def || in.max_rep != c->max_rep)
            return false;
    }
    return true;
}

pqf_err pqf__writer_lv_value(pqf_writer *w, int leaf, const pqf__val *v)
{
    return put_val(w, &w->cols[leaf], v);
}

pqf_err pqf__writer_lv_bytes(pqf_writer *w, int leaf, const void *p, size_t n)
{
    return put_bytes(w, &w->cols[leaf], p, n);
}

pqf_err pqf__writer_lv_int(pqf_writer *w, int leaf, int64_t v)
{
    col *c = &w->cols[leaf];
    return c->phys == PQF_INT32 ? put_i32(w, c, (int32_t)v) : put_i64(w, c, v);
}

pqf_err pqf__writer_lv_null(pqf_writer *w, int first_leaf, int end_leaf, int16_t def)
{
    for (int l = first_leaf; l < end_leaf; l++) {
        col *c = &w->cols[l];
        pqf_err rc = put_levels(c, def);
        if (PQF_UNLIKELY(rc != PQF_OK))
            return nomem(w, rc, c);
        c->pst.nulls++;
        account(w, c, 1);
    }
    return PQF_OK;
}

void pqf__writer_lv_repeat(pqf_writer *w, int first_leaf, int end_leaf, int16_t rep)
{
    for (int l = first_leaf; l < end_leaf; l++)
        w->cols[l].pending_rep = rep;
}

pqf_err pqf__writer_lv_row_end(pqf_writer *w)
{
    w->stack[0].nwritten = w->nodes[0].nkids; /* the caller gave every leaf its entries */
    return pqf_writer_row_end(w);
}

pqf_err pqf_writer_struct_begin(pqf_writer *w, int node)
{
    pqf_err rc = claim(w, node);
    if (rc != PQF_OK)
        return rc;
    if (w->nodes[node].kind != NK_STRUCT)
        return ctx_error(w, node, "struct_begin on something that is not a struct");
    return push_frame(w, node, FR_STRUCT);
}

pqf_err pqf_writer_struct_end(pqf_writer *w)
{
    if (w->err.code != PQF_OK)
        return w->err.code;
    if (w->depth <= 0 || w->stack[w->depth].kind != FR_STRUCT)
        return fail(w, PQF_ERR_INVALID_ARG, "row %" PRIu64 ": struct_end without struct_begin",
                    w->rows + 1);
    pqf_err rc = fill_missing(w, &w->stack[w->depth]);
    w->depth--;
    return rc;
}

pqf_err pqf_writer_list_begin(pqf_writer *w, int node)
{
    pqf_err rc = claim(w, node);
    if (rc != PQF_OK)
        return rc;
    if (w->nodes[node].kind != NK_LIST)
        return ctx_error(w, node, "list_begin on something that is not a LIST");
    return push_frame(w, node, FR_LIST);
}

pqf_err pqf_writer_list_end(pqf_writer *w)
{
    if (w->err.code != PQF_OK)
        return w->err.code;
    if (w->depth <= 0 || w->stack[w->depth].kind != FR_LIST)
        return fail(w, PQF_ERR_INVALID_ARG, "row %" PRIu64 ": list_end without list_begin",
                    w->rows + 1);
    frame *f = &w->stack[w->depth];
    pqf_err rc = PQF_OK;
    if (f->count == 0) {
        const wnode *n = &w->nodes[f->node];
        rc = emit_null(w, n, n->def); /* empty: the list is there, no element */
    }
    w->depth--;
    return rc;
}

/* ---- footer ------------------------------------------------------------------------- */

static int converted_type(const pqf_logical *lt)
{
    switch (lt->kind) {
    case PQF_LT_STRING:
        return 0;
    case PQF_LT_MAP:
        return 1;
    case PQF_LT_LIST:
        return 3;
    case PQF_LT_ENUM:
        return 4;
    case PQF_LT_DECIMAL:
        return 5;
    case PQF_LT_DATE:
        return 6;
    case PQF_LT_TIME:
        return lt->unit == PQF_MILLIS ? 7 : lt->unit == PQF_MICROS ? 8 : -1;
    case PQF_LT_TIMESTAMP:
        return lt->unit == PQF_MILLIS ? 9 : lt->unit == PQF_MICROS ? 10 : -1;
    case PQF_LT_INT: {
        int k = lt->bit_width == 8 ? 0 : lt->bit_width == 16 ? 1 : lt->bit_width == 32 ? 2 : 3;
        return (lt->is_signed ? 15 : 11) + k;
    }
    case PQF_LT_JSON:
        return 19;
    case PQF_LT_BSON:
        return 20;
    default:
        return -1;
    }
}

static void tw_logical(pqf__tw *t, const pqf_logical *lt)
{
    switch (lt->kind) {
    case PQF_LT_NONE:
        return;
    case PQF_LT_STRING:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_empty_struct(t, 1);
        break;
    case PQF_LT_MAP:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_empty_struct(t, 2);
        break;
    case PQF_LT_LIST:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_empty_struct(t, 3);
        break;
    case PQF_LT_ENUM:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_empty_struct(t, 4);
        break;
    case PQF_LT_DECIMAL:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_struct_begin(t, 5);
        pqf__tw_i32(t, 1, lt->scale);
        pqf__tw_i32(t, 2, lt->precision);
        pqf__tw_struct_end(t);
        break;
    case PQF_LT_DATE:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_empty_struct(t, 6);
        break;
    case PQF_LT_TIME:
    case PQF_LT_TIMESTAMP:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_struct_begin(t, lt->kind == PQF_LT_TIME ? 7 : 8);
        pqf__tw_bool(t, 1, lt->utc);
        pqf__tw_struct_begin(t, 2);
        pqf__tw_empty_struct(t, (int16_t)(lt->unit + 1));
        pqf__tw_struct_end(t);
        pqf__tw_struct_end(t);
        break;
    case PQF_LT_INT:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_struct_begin(t, 10);
        pqf__tw_i8(t, 1, lt->bit_width);
        pqf__tw_bool(t, 2, lt->is_signed);
        pqf__tw_struct_end(t);
        break;
    case PQF_LT_UNKNOWN:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_empty_struct(t, 11);
        break;
    case PQF_LT_JSON:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_empty_struct(t, 12);
        break;
    case PQF_LT_BSON:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_empty_struct(t, 13);
        break;
    case PQF_LT_UUID:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_empty_struct(t, 14);
        break;
    case PQF_LT_FLOAT16:
        pqf__tw_struct_begin(t, 10);
        pqf__tw_empty_struct(t, 15);
        break;
    }
    pqf__tw_struct_end(t); /* LogicalType */
}

static void tw_schema_elem(pqf_writer *w, pqf__tw *t, int node)
{
    pqf_node_info ni;
    pqf_schema_node(w->schema, node, &ni);
    pqf__tw_elem_struct_begin(t);
    if (!ni.is_group) {
        pqf__tw_i32(t, 1, (int32_t)ni.physical);
        if (ni.physical == PQF_FIXED_LEN_BYTE_ARRAY)
            pqf__tw_i32(t, 2, ni.type_length);
    }
    if (node != 0)
        pqf__tw_i32(t, 3, (int32_t)ni.repetition);
    pqf__tw_string(t, 4, ni.name);
    if (ni.is_group)
        pqf__tw_i32(t, 5, ni.nchildren);
    int ct = converted_type(&ni.logical);
    if (ct >= 0)
        pqf__tw_i32(t, 6, ct);
    if (ni.logical.kind == PQF_LT_DECIMAL) {
        pqf__tw_i32(t, 7, ni.logical.scale);
        pqf__tw_i32(t, 8, ni.logical.precision);
    }
    if (ni.field_id >= 0 && node != 0)
        pqf__tw_i32(t, 9, ni.field_id);
    tw_logical(t, &ni.logical);
    pqf__tw_struct_end(t);
    for (int k = 0; k < ni.nchildren; k++)
        tw_schema_elem(w, t, pqf_schema_child(w->schema, node, k));
}

static pqf_err write_footer(pqf_writer *w)
{
    pqf_err rc = PQF_OK;
    /* Page indexes: all column indexes, then all offset indexes. */
    for (size_t r = 0; r < w->nrg; r++)
        for (int i = 0; i < w->ncols; i++) {
            chunkmeta *cm = &w->rgs[r].chunks[i];
            cm->ci_off = w->pos;
            if (cm->ci.len)
                PQF_TRY(out_write(w, cm->ci.data, cm->ci.len));
        }
    for (size_t r = 0; r < w->nrg; r++)
        for (int i = 0; i < w->ncols; i++) {
            chunkmeta *cm = &w->rgs[r].chunks[i];
            cm->oi_off = w->pos;
            if (cm->oi.len)
                PQF_TRY(out_write(w, cm->oi.data, cm->oi.len));
        }

    pqf__buf fm;
    pqf__buf_init(&fm, BUF_LIMIT);
    pqf__tw t;
    pqf__tw_init(&t, &fm);
    pqf__tw_i32(&t, 1, w->o.page_version == 2 ? 2 : 1);
    pqf__tw_list_begin(&t, 2, PQF__CT_STRUCT, (uint32_t)w->nnodes);
    tw_schema_elem(w, &t, 0);
    pqf__tw_i64(&t, 3, (int64_t)w->rows);
    pqf__tw_list_begin(&t, 4, PQF__CT_STRUCT, (uint32_t)w->nrg);
    for (size_t r = 0; r < w->nrg; r++) {
        const rgmeta *rg = &w->rgs[r];
        pqf__tw_elem_struct_begin(&t);
        pqf__tw_list_begin(&t, 1, PQF__CT_STRUCT, (uint32_t)w->ncols);
        for (int i = 0; i < w->ncols; i++) {
            const chunkmeta *cm = &rg->chunks[i];
            pqf__tw_elem_struct_begin(&t);
            pqf__tw_i64(&t, 2, 0);
            pqf__tw_raw_struct(&t, 3, cm->cmd.data, cm->cmd.len);
            if (cm->oi.len) {
                pqf__tw_i64(&t, 4, (int64_t)cm->oi_off);
                pqf__tw_i32(&t, 5, (int32_t)cm->oi.len);
            }
            if (cm->ci.len) {
                pqf__tw_i64(&t, 6, (int64_t)cm->ci_off);
                pqf__tw_i32(&t, 7, (int32_t)cm->ci.len);
            }
            pqf__tw_struct_end(&t);
        }
        pqf__tw_i64(&t, 2, rg->total_byte_size);
        pqf__tw_i64(&t, 3, rg->num_rows);
        pqf__tw_i64(&t, 5, rg->file_offset);
        pqf__tw_i64(&t, 6, rg->total_compressed);
        pqf__tw_i16(&t, 7, (int16_t)r);
        pqf__tw_struct_end(&t);
    }
    if (w->nkv) {
        pqf__tw_list_begin(&t, 5, PQF__CT_STRUCT, (uint32_t)w->nkv);
        for (size_t i = 0; i < w->nkv; i++) {
            pqf__tw_elem_struct_begin(&t);
            pqf__tw_string(&t, 1, w->kv[2 * i]);
            if (w->kv[2 * i + 1])
                pqf__tw_string(&t, 2, w->kv[2 * i + 1]);
            pqf__tw_struct_end(&t);
        }
    }
    pqf__tw_string(&t, 6, w->created_by);
    pqf__tw_list_begin(&t, 7, PQF__CT_STRUCT, (uint32_t)w->ncols);
    for (int i = 0; i < w->ncols; i++) {
        pqf__tw_elem_struct_begin(&t);
        pqf__tw_empty_struct(&t, 1); /* TYPE_ORDER */
        pqf__tw_struct_end(&t);
    }
    pqf__tw_struct_end(&t);
    rc = pqf__tw_err(&t);
    if (rc == PQF_OK && fm.len > UINT32_MAX)
        rc = PQF_ERR_LIMIT;
    if (rc == PQF_OK) {
        uint8_t tail[8];
        pqf__store32le(tail, (uint32_t)fm.len);
        memcpy(tail + 4, "PAR1", 4);
        rc = out_write(w, fm.data, fm.len);
        if (rc == PQF_OK)
            rc = out_write(w, tail, 8);
    } else {
        nomem(w, rc, NULL);
    }
    pqf__buf_free(&fm);
done:
    return rc;
}

pqf_err pqf_writer_close(pqf_writer *w)
{
    pqf_err rc = PQF_OK;
    if (w->err.code != PQF_OK)
        return w->err.code;
    if (w->closed)
        return fail(w, PQF_ERR_INVALID_ARG, "writer already closed");
    if (w->depth >= 0)
        return fail(w, PQF_ERR_INVALID_ARG, "close inside a row");
    if (!w->started) {
        w->started = true;
        PQF_TRY(out_write(w, "PAR1", 4));
    }
    PQF_TRY(flush_row_group(w));
    PQF_TRY(write_footer(w));
    w->closed = true;
done:
    return rc;
}

pqf_err pqf_writer_add_kv(pqf_writer *w, const char *key, const char *value)
{
    if (w->err.code != PQF_OK)
        return w->err.code;
    if (!key)
        return fail(w, PQF_ERR_INVALID_ARG, "key-value metadata needs a key");
    /* A later value for the same key replaces the earlier one. */
    for (size_t i = 0; i < w->nkv; i++) {
        if (strcmp(w->kv[2 * i], key) == 0) {
            char *v = value ? strdup(value) : NULL;
            if (value && !v)
                return nomem(w, PQF_ERR_NOMEM, NULL);
            free(w->kv[2 * i + 1]);
            w->kv[2 * i + 1] = v;
            return PQF_OK;
        }
    }
    if (w->nkv == w->capkv) {
        size_t nc = w->capkv ? w->capkv * 2 : 8;
        char **k = realloc(w->kv, nc * 2 * sizeof *k);
        if (!k)
            return nomem(w, PQF_ERR_NOMEM, NULL);
        w->kv = k;
        w->capkv = nc;
    }
    char *k = strdup(key), *v = value ? strdup(value) : NULL;
    if (!k || (value && !v)) {
        free(k);
        free(v);
        return nomem(w, PQF_ERR_NOMEM, NULL);
    }
    w->kv[2 * w->nkv] = k;
    w->kv[2 * w->nkv + 1] = v;
    w->nkv++;
    return PQF_OK;
}

void pqf_writer_get_stats(const pqf_writer *w, pqf_writer_stats *st)
{
    *st = w->st;
    st->rows = w->rows;
    st->bytes = w->pos;
}

const pqf_error *pqf_writer_error(const pqf_writer *w)
{
    return &w->err;
}

void pqf_writer_free(pqf_writer *w)
{
    if (!w)
        return;
    if (w->cols)
        for (int i = 0; i < w->ncols; i++)
            col_free(&w->cols[i]);
    free(w->cols);
    for (size_t r = 0; r < w->nrg; r++) {
        for (int i = 0; i < w->ncols && w->rgs[r].chunks; i++) {
            pqf__buf_free(&w->rgs[r].chunks[i].cmd);
            pqf__buf_free(&w->rgs[r].chunks[i].ci);
            pqf__buf_free(&w->rgs[r].chunks[i].oi);
        }
        free(w->rgs[r].chunks);
    }
    free(w->rgs);
    for (size_t i = 0; i < 2 * w->nkv; i++)
        free(w->kv[i]);
    free(w->kv);
    pqf__compressor_free(w->comp);
    pqf_schema_free(w->schema);
    free(w->created_by);
    free(w->nodes);
    free(w->kids_all);
    free(w->pending);
    free(w->rep_leaves);
    free(w->stack);
    pqf__buf_free(&w->s_page);
    pqf__buf_free(&w->s_val);
    pqf__buf_free(&w->s_comp);
    pqf__buf_free(&w->s_hdr);
    pqf__buf_free(&w->s_min);
    pqf__buf_free(&w->s_max);
    pqf__buf_free(&w->s_meta);
    free(w);
}
