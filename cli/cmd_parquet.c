/* pqfeed parquet inspect | cat | validate: look at, print and deep-check a
 * Parquet file through the public reader API. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pqfeed/reader.h"

static const char usage_text[] =
    "usage: pqfeed parquet inspect FILE [--json]\n"
    "       pqfeed parquet cat FILE [--columns a,b] [--limit N] [--format ndjson|csv]\n"
    "       pqfeed parquet validate FILE\n"
    "       pqfeed parquet scan FILE [--columns a,b]\n"
    "\n"
    "inspect   schema, key-value metadata, row groups and per column chunk: encodings,\n"
    "          codec, sizes, statistics, page index and bloom filter presence\n"
    "cat       rows as NDJSON (nested values rebuilt) or CSV (nested values as JSON)\n"
    "validate  decode every page, check CRCs, value counts, statistics and the page\n"
    "          index against the data; exit 0 only if all holds\n"
    "scan      decode every value of the columns (all by default) without printing\n"
    "          rows: per column the values, the level slots without one (nulls, empty\n"
    "          lists) and sums (integers, true count, byte lengths and a hash of the\n"
    "          bytes), then rows, wall and CPU time and rows/s\n";

/* ---- small output helpers ------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static const char *rep_name(pqf_repetition r)
{
    return r == PQF_REQUIRED ? "required" : r == PQF_OPTIONAL ? "optional" : "repeated";
}

static void logical_text(const pqf_node_info *in, char *out, size_t cap)
{
    const pqf_logical *lt = &in->logical;
    static const char *const units[] = {"MILLIS", "MICROS", "NANOS"};
    switch (lt->kind) {
    case PQF_LT_NONE:
        out[0] = 0;
        break;
    case PQF_LT_DECIMAL:
        snprintf(out, cap, "DECIMAL(%d,%d)", (int)lt->precision, (int)lt->scale);
        break;
    case PQF_LT_TIME:
    case PQF_LT_TIMESTAMP:
        snprintf(out, cap, "%s(%s,%s)", pqf_logical_name(lt->kind), units[lt->unit % 3],
                 lt->utc ? "utc" : "local");
        break;
    case PQF_LT_INT:
        snprintf(out, cap, "INT(%d,%s)", lt->bit_width, lt->is_signed ? "signed" : "unsigned");
        break;
    default:
        snprintf(out, cap, "%s", pqf_logical_name(lt->kind));
    }
}

/* A statistics value (PLAIN bytes) as text. */
static void stat_text(const pqf_node_info *in, pqf_byteview v, char *out, size_t cap)
{
    const uint8_t *p = v.ptr;
    out[0] = 0;
    switch (in->physical) {
    case PQF_BOOLEAN:
        snprintf(out, cap, "%s", v.len && p[0] ? "true" : "false");
        return;
    case PQF_INT32:
        if (v.len == 4) {
            int32_t x;
            memcpy(&x, p, 4);
            if (in->logical.kind == PQF_LT_INT && !in->logical.is_signed)
                snprintf(out, cap, "%" PRIu32, (uint32_t)x);
            else
                snprintf(out, cap, "%" PRId32, x);
            return;
        }
        break;
    case PQF_INT64:
        if (v.len == 8) {
            int64_t x;
            memcpy(&x, p, 8);
            if (in->logical.kind == PQF_LT_INT && !in->logical.is_signed)
                snprintf(out, cap, "%" PRIu64, (uint64_t)x);
            else
                snprintf(out, cap, "%" PRId64, x);
            return;
        }
        break;
    case PQF_FLOAT:
        if (v.len == 4) {
            float x;
            memcpy(&x, p, 4);
            snprintf(out, cap, "%.9g", x);
            return;
        }
        break;
    case PQF_DOUBLE:
        if (v.len == 8) {
            double x;
            memcpy(&x, p, 8);
            snprintf(out, cap, "%.17g", x);
            return;
        }
        break;
    default:
        if (in->logical.kind == PQF_LT_STRING || in->logical.kind == PQF_LT_ENUM ||
            in->logical.kind == PQF_LT_JSON) {
            size_t n = v.len < cap - 1 ? v.len : cap - 1;
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                out[k++] = (p[i] >= 0x20 && p[i] != 0x7f) ? (char)p[i] : '?';
            out[k] = 0;
            return;
        }
    }
    size_t k = 0;
    if (cap > 3) {
        out[k++] = '0';
        out[k++] = 'x';
    }
    for (size_t i = 0; i < v.len && k + 3 < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%02x", p[i]);
    out[k] = 0;
}

static int open_file(const char *path, pqf_istream **in, pqf_reader **r)
{
    pqf_error err = {0};
    if (pqf_istream_file(path, in, &err) != PQF_OK)
        return pqf_cli_fail(&err);
    if (pqf_reader_open(*in, NULL, r, &err) != PQF_OK) {
        pqf_error_prefix(&err, "%s: ", path);
        pqf_istream_free(*in);
        *in = NULL;
        return pqf_cli_fail(&err);
    }
    return 0;
}

static int reader_fail(pqf_reader *r, const char *path)
{
    pqf_error e = *pqf_reader_error(r);
    pqf_error_prefix(&e, "%s: ", path);
    return pqf_cli_fail(&e);
}

/* ---- inspect ---------------------------------------------------------------------- */

static void print_schema_text(pqf_reader *r, int node, int depth)
{
    pqf_node_info in;
    char lt[96];
    pqf_reader_node(r, node, &in);
    logical_text(&in, lt, sizeof lt);
    if (node == 0) {
        printf("schema %s\n", in.name);
    } else {
        printf("%*s%s ", depth * 2, "", rep_name(in.repetition));
        if (in.is_group)
            printf("group %s", in.name);
        else if (in.physical == PQF_FIXED_LEN_BYTE_ARRAY)
            printf("FIXED_LEN_BYTE_ARRAY(%d) %s", (int)in.type_length, in.name);
        else
            printf("%s %s", pqf_physical_name(in.physical), in.name);
        if (lt[0])
            printf(" (%s)", lt);
        const char *other = pqf_reader_node_logical_other(r, node);
        if (other)
            printf(" (%s)", other);
        if (in.field_id >= 0)
            printf(" = %d", (int)in.field_id);
        if (!in.is_group)
            printf("  [leaf %d, def %d, rep %d]", in.leaf, in.max_def, in.max_rep);
        printf("\n");
    }
    for (int i = 0; i < in.nchildren; i++)
        print_schema_text(r, pqf_reader_node_child(r, node, i), depth + 1);
}

static void print_schema_json(pqf_reader *r, int node)
{
    pqf_node_info in;
    char lt[96];
    pqf_reader_node(r, node, &in);
    logical_text(&in, lt, sizeof lt);
    printf("{\"name\":");
    json_str(stdout, in.name);
    if (node)
        printf(",\"repetition\":\"%s\"", rep_name(in.repetition));
    if (!in.is_group) {
        printf(",\"type\":\"%s\"", pqf_physical_name(in.physical));
        if (in.physical == PQF_FIXED_LEN_BYTE_ARRAY)
            printf(",\"type_length\":%d", (int)in.type_length);
        printf(",\"leaf\":%d,\"max_def\":%d,\"max_rep\":%d", in.leaf, in.max_def, in.max_rep);
    }
    if (lt[0]) {
        printf(",\"logical\":");
        json_str(stdout, lt);
    }
    if (pqf_reader_node_converted(r, node) >= 0)
        printf(",\"converted_type\":%d", pqf_reader_node_converted(r, node));
    if (in.field_id >= 0)
        printf(",\"field_id\":%d", (int)in.field_id);
    if (in.is_group) {
        printf(",\"children\":[");
        for (int i = 0; i < in.nchildren; i++) {
            if (i)
                printf(",");
            print_schema_json(r, pqf_reader_node_child(r, node, i));
        }
        printf("]");
    }
    printf("}");
}

static int cmd_inspect(const char *path, bool json)
{
    pqf_istream *in = NULL;
    pqf_reader *r = NULL;
    int rc = open_file(path, &in, &r);
    if (rc)
        return rc;
    char a[160], b[160];
    if (json) {
        printf("{\"file\":");
        json_str(stdout, path);
        printf(",\"version\":%d,\"num_rows\":%" PRId64 ",\"created_by\":", pqf_reader_version(r),
               pqf_reader_num_rows(r));
        if (pqf_reader_created_by(r))
            json_str(stdout, pqf_reader_created_by(r));
        else
            printf("null");
        printf(",\"footer_bytes\":%" PRIu64 ",\"schema\":", pqf_reader_footer_size(r));
        print_schema_json(r, 0);
        printf(",\"key_value_metadata\":{");
        for (size_t i = 0; i < pqf_reader_kv_count(r); i++) {
            const char *k, *v;
            pqf_reader_kv(r, i, &k, &v);
            if (i)
                printf(",");
            json_str(stdout, k);
            printf(":");
            if (v)
                json_str(stdout, v);
            else
                printf("null");
        }
        printf("},\"row_groups\":[");
    } else {
        printf("file: %s\nversion: %d\nrows: %" PRId64 "\ncreated by: %s\nfooter: %" PRIu64
               " bytes\n",
               path, pqf_reader_version(r), pqf_reader_num_rows(r),
               pqf_reader_created_by(r) ? pqf_reader_created_by(r) : "-",
               pqf_reader_footer_size(r));
        print_schema_text(r, 0, 0);
        if (pqf_reader_kv_count(r)) {
            printf("key-value metadata:\n");
            for (size_t i = 0; i < pqf_reader_kv_count(r); i++) {
                const char *k, *v;
                pqf_reader_kv(r, i, &k, &v);
                printf("  %s = %.200s%s\n", k, v ? v : "(null)", v && strlen(v) > 200 ? "..." : "");
            }
        }
    }
    for (int g = 0; g < pqf_reader_row_group_count(r); g++) {
        pqf_row_group_info gi;
        pqf_reader_row_group(r, g, &gi);
        if (json)
            printf("%s{\"rows\":%" PRId64 ",\"total_byte_size\":%" PRId64
                   ",\"total_compressed_size\":%" PRId64 ",\"columns\":[",
                   g ? "," : "", gi.num_rows, gi.total_byte_size, gi.total_compressed_size);
        else
            printf("row group %d: %" PRId64 " rows, %" PRId64 " bytes\n", g, gi.num_rows,
                   gi.total_byte_size);
        for (int l = 0; l < pqf_reader_leaf_count(r); l++) {
            pqf_chunk_info ci;
            pqf_node_info ni;
            pqf_reader_chunk(r, g, l, &ci);
            pqf_reader_node(r, pqf_reader_leaf_node(r, l), &ni);
            if (json) {
                printf("%s{\"path\":", l ? "," : "");
                json_str(stdout, ci.path);
                printf(",\"type\":\"%s\",\"codec\":\"%s\",\"num_values\":%" PRId64
                       ",\"compressed\":%" PRId64 ",\"uncompressed\":%" PRId64
                       ",\"data_page_offset\":%" PRId64 ",\"dictionary_page_offset\":%" PRId64
                       ",\"encodings\":[",
                       pqf_physical_name(ci.physical), pqf_codec_name(ci.codec), ci.num_values,
                       ci.total_compressed_size, ci.total_uncompressed_size, ci.data_page_offset,
                       ci.dictionary_page_offset);
                for (int e = 0; e < ci.nencodings; e++)
                    printf("%s\"%s\"", e ? "," : "", pqf_encoding_name((pqf_encoding)ci.encodings[e]));
                printf("],\"statistics\":");
                if (ci.stats.present) {
                    printf("{");
                    bool comma = false;
                    if (ci.stats.has_null_count) {
                        printf("\"null_count\":%" PRId64, ci.stats.null_count);
                        comma = true;
                    }
                    if (ci.stats.has_distinct_count) {
                        printf("%s\"distinct_count\":%" PRId64, comma ? "," : "",
                               ci.stats.distinct_count);
                        comma = true;
                    }
                    if (ci.stats.has_min) {
                        stat_text(&ni, ci.stats.min, a, sizeof a);
                        printf("%s\"min\":", comma ? "," : "");
                        json_str(stdout, a);
                        comma = true;
                    }
                    if (ci.stats.has_max) {
                        stat_text(&ni, ci.stats.max, b, sizeof b);
                        printf("%s\"max\":", comma ? "," : "");
                        json_str(stdout, b);
                        comma = true;
                    }
                    if (ci.stats.legacy)
                        printf("%s\"legacy_min_max\":true", comma ? "," : "");
                    printf("}");
                } else {
                    printf("null");
                }
                printf(",\"column_index\":%s,\"offset_index\":%s,\"bloom_filter\":%s",
                       ci.column_index_offset >= 0 ? "true" : "false",
                       ci.offset_index_offset >= 0 ? "true" : "false",
                       ci.bloom_offset >= 0 ? "true" : "false");
                if (ci.nkv) {
                    printf(",\"key_value_metadata\":{");
                    for (size_t k = 0; k < ci.nkv; k++) {
                        printf("%s", k ? "," : "");
                        json_str(stdout, ci.kv[k].key);
                        printf(":");
                        if (ci.kv[k].value)
                            json_str(stdout, ci.kv[k].value);
                        else
                            printf("null");
                    }
                    printf("}");
                }
                printf("}");
            } else {
                printf("  column %s: %s %s, %" PRId64 " values, %" PRId64 " -> %" PRId64
                       " bytes, encodings",
                       ci.path, pqf_physical_name(ci.physical), pqf_codec_name(ci.codec),
                       ci.num_values, ci.total_uncompressed_size, ci.total_compressed_size);
                for (int e = 0; e < ci.nencodings; e++)
                    printf(" %s", pqf_encoding_name((pqf_encoding)ci.encodings[e]));
                printf("\n");
                if (ci.stats.present) {
                    printf("    statistics:");
                    if (ci.stats.has_null_count)
                        printf(" nulls %" PRId64, ci.stats.null_count);
                    if (ci.stats.has_distinct_count)
                        printf(" distinct %" PRId64, ci.stats.distinct_count);
                    if (ci.stats.has_min) {
                        stat_text(&ni, ci.stats.min, a, sizeof a);
                        printf(" min %s", a);
                    }
                    if (ci.stats.has_max) {
                        stat_text(&ni, ci.stats.max, b, sizeof b);
                        printf(" max %s", b);
                    }
                    if (ci.stats.legacy)
                        printf(" (legacy min/max)");
                    printf("\n");
                }
                printf("    page index: %s%s, bloom filter: %s\n",
                       ci.column_index_offset >= 0 ? "column index" : "no column index",
                       ci.offset_index_offset >= 0 ? " + offset index" : "",
                       ci.bloom_offset >= 0 ? "yes" : "no");
                for (size_t k = 0; k < ci.nkv; k++)
                    printf("    %s = %s\n", ci.kv[k].key, ci.kv[k].value ? ci.kv[k].value : "(null)");
            }
        }
        if (json)
            printf("]}");
    }
    if (json)
        printf("]}\n");
    pqf_reader_free(r);
    pqf_istream_free(in);
    return 0;
}

/* ---- cat ---------------------------------------------------------------------------- */

static int cmd_cat(const char *path, const char *columns, unsigned long long limit, bool has_limit,
                   pqf_row_format fmt)
{
    pqf_istream *in = NULL;
    pqf_reader *r = NULL;
    pqf_row_reader *rr = NULL;
    char *colbuf = NULL;
    const char **cols = NULL;
    size_t ncols = 0;
    pqf_error err = {0};
    int rc = open_file(path, &in, &r);
    if (rc)
        return rc;
    if (columns) {
        colbuf = strdup(columns);
        cols = calloc(strlen(columns) + 1, sizeof *cols);
        if (!colbuf || !cols) {
            pqf_error_set(&err, PQF_ERR_NOMEM, "out of memory");
            rc = pqf_cli_fail(&err);
            goto done;
        }
        for (char *save = NULL, *t = strtok_r(colbuf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            cols[ncols++] = t;
    }
    pqf_row_opts o = {.columns = cols, .ncolumns = ncols, .format = fmt};
    if (pqf_row_reader_open(r, &o, &rr, &err) != PQF_OK) {
        pqf_error_prefix(&err, "%s: ", path);
        rc = pqf_cli_fail(&err);
        goto done;
    }
    if (fmt == PQF_ROW_CSV)
        printf("%s\n", pqf_row_reader_header(rr));
    for (unsigned long long n = 0; !has_limit || n < limit; n++) {
        const char *line;
        size_t len;
        if (pqf_row_reader_next(rr, &line, &len) != PQF_OK) {
            fflush(stdout);
            err = *pqf_row_reader_error(rr);
            pqf_error_prefix(&err, "%s: ", path);
            rc = pqf_cli_fail(&err);
            goto done;
        }
        if (!line)
            break;
        fwrite(line, 1, len, stdout);
        fputc('\n', stdout);
    }
    if (fflush(stdout) != 0) {
        pqf_error_set(&err, PQF_ERR_IO, "writing standard output failed");
        rc = pqf_cli_fail(&err);
    }
done:
    pqf_row_reader_free(rr);
    free(cols);
    free(colbuf);
    pqf_reader_free(r);
    pqf_istream_free(in);
    return rc;
}

/* ---- validate ----------------------------------------------------------------------- */

typedef struct page_state {
    pqf_page_report rep;
    bool has_minmax;
    uint8_t min[64], max[64]; /* PLAIN value copies (truncated for long byte arrays) */
    size_t minlen, maxlen;
    bool min_trunc, max_trunc;
    int64_t nulls, values, rows;
} page_state;

typedef struct vstate {
    pqf_reader *r;
    int rg, leaf;
    pqf_node_info ni;
    page_state *pages;
    int npages, cap;
    bool oom;
} vstate;

static void on_page(void *ud, const pqf_page_report *p)
{
    vstate *v = ud;
    if (v->npages == v->cap) {
        int nc = v->cap ? v->cap * 2 : 16;
        page_state *np = realloc(v->pages, (size_t)nc * sizeof *np);
        if (!np) {
            v->oom = true;
            return;
        }
        v->pages = np;
        v->cap = nc;
    }
    page_state *ps = &v->pages[v->npages++];
    memset(ps, 0, sizeof *ps);
    ps->rep = *p;
    /* stats bytes point into the cursor's chunk, still alive while we check */
}

static void value_bytes(const pqf_batch *b, size_t i, const uint8_t **p, size_t *n)
{
    switch (b->physical) {
    case PQF_BOOLEAN: *p = (const uint8_t *)b->values + i; *n = 1; break;
    case PQF_INT32:
    case PQF_FLOAT: *p = (const uint8_t *)b->values + 4 * i; *n = 4; break;
    case PQF_INT64:
    case PQF_DOUBLE: *p = (const uint8_t *)b->values + 8 * i; *n = 8; break;
    case PQF_INT96: *p = (const uint8_t *)b->values + 12 * i; *n = 12; break;
    default: {
        const pqf_byteview *v = (const pqf_byteview *)b->values + i;
        *p = v->ptr;
        *n = v->len;
    }
    }
}

static bool is_nan_value(pqf_physical t, const uint8_t *p)
{
    if (t == PQF_FLOAT) {
        float f;
        memcpy(&f, p, 4);
        return isnan(f);
    }
    if (t == PQF_DOUBLE) {
        double d;
        memcpy(&d, p, 8);
        return isnan(d);
    }
    return false;
}

static void keep(uint8_t *dst, size_t *dlen, bool *trunc, const uint8_t *p, size_t n)
{
    *trunc = n > 64;
    *dlen = n > 64 ? 64 : n;
    memcpy(dst, p, *dlen);
}

/* Compare, treating a kept (possibly truncated) data value properly: for a
 * truncated copy the comparison is only trusted when it is decided within the
 * kept prefix. Returns <0, 0, >0, or 2 for "cannot tell". */
static int cmp_kept(pqf_reader *r, int leaf, const uint8_t *a, size_t an, bool atrunc,
                    pqf_byteview s)
{
    int c = pqf_reader_compare(r, leaf, a, an, s.ptr, s.len);
    if (atrunc && s.len >= an && memcmp(a, s.ptr, an) == 0)
        return 2;
    return c;
}

static bool stats_comparable(const pqf_node_info *ni, const pqf_stats *st)
{
    if (ni->physical == PQF_INT96)
        return false;
    if (st->legacy && (ni->physical == PQF_BYTE_ARRAY || ni->physical == PQF_FIXED_LEN_BYTE_ARRAY ||
                       (ni->logical.kind == PQF_LT_INT && !ni->logical.is_signed)))
        return false;
    if (ni->logical.kind == PQF_LT_FLOAT16)
        return false;
    return true;
}

static int vfail(const char *path, vstate *v, int page, const char *fmt, const char *detail)
{
    fprintf(stderr, "pqfeed: %s: row group %d, column %s, %s%d: %s%s\n", path, v->rg,
            pqf_reader_leaf_path(v->r, v->leaf), page >= 0 ? "page " : "chunk", page >= 0 ? page : 0,
            fmt, detail ? detail : "");
    return pqf_exit_code(PQF_ERR_CORRUPT);
}

static int check_minmax(const char *path, vstate *v, int page, const pqf_stats *st,
                        const uint8_t *mn, size_t mnl, bool mnt, const uint8_t *mx, size_t mxl,
                        bool mxt, const char *what)
{
    char msg[128];
    if (st->has_min && cmp_kept(v->r, v->leaf, mn, mnl, mnt, st->min) != 2 &&
        cmp_kept(v->r, v->leaf, mn, mnl, mnt, st->min) < 0) {
        snprintf(msg, sizeof msg, "%s min is above the smallest value", what);
        return vfail(path, v, page, msg, NULL);
    }
    if (st->has_max && cmp_kept(v->r, v->leaf, mx, mxl, mxt, st->max) != 2 &&
        cmp_kept(v->r, v->leaf, mx, mxl, mxt, st->max) > 0) {
        snprintf(msg, sizeof msg, "%s max is below the largest value", what);
        return vfail(path, v, page, msg, NULL);
    }
    return 0;
}

static int validate_chunk(const char *path, pqf_reader *r, int g, int l, int64_t rg_rows,
                          uint64_t *pages_total)
{
    vstate v = {.r = r, .rg = g, .leaf = l};
    pqf_column_reader *c = NULL;
    pqf_chunk_info ci;
    pqf_page_index pi;
    int rc = 0;
    int64_t levels = 0, nulls = 0, rows = 0;
    bool have = false, cmin_t = false, cmax_t = false;
    uint8_t cmin[64], cmax[64];
    size_t cminl = 0, cmaxl = 0;
    pqf_reader_node(r, pqf_reader_leaf_node(r, l), &v.ni);
    pqf_reader_chunk(r, g, l, &ci);
    if (pqf_column_open(r, g, l, &c) != PQF_OK) {
        rc = reader_fail(r, path);
        goto done;
    }
    pqf_column_on_page(c, on_page, &v);
    for (;;) {
        pqf_batch b;
        if (pqf_column_next(c, 8192, &b) != PQF_OK) {
            rc = reader_fail(r, path);
            goto done;
        }
        if (v.oom) {
            pqf_error e = {0};
            pqf_error_set(&e, PQF_ERR_NOMEM, "out of memory");
            rc = pqf_cli_fail(&e);
            goto done;
        }
        if (!b.nlevels)
            break;
        page_state *ps = &v.pages[v.npages - 1];
        levels += (int64_t)b.nlevels;
        nulls += (int64_t)(b.nlevels - b.nvalues);
        ps->nulls += (int64_t)(b.nlevels - b.nvalues);
        ps->values += (int64_t)b.nvalues;
        for (size_t i = 0; i < b.nlevels; i++)
            ps->rows += !b.rep || b.rep[i] == 0;
        for (size_t i = 0; i < b.nvalues; i++) {
            const uint8_t *p;
            size_t n;
            value_bytes(&b, i, &p, &n);
            if (is_nan_value(b.physical, p))
                continue;
            if (!ps->has_minmax) {
                keep(ps->min, &ps->minlen, &ps->min_trunc, p, n);
                keep(ps->max, &ps->maxlen, &ps->max_trunc, p, n);
                ps->has_minmax = true;
                continue;
            }
            if (pqf_reader_compare(r, l, p, n, ps->min, ps->minlen) < 0)
                keep(ps->min, &ps->minlen, &ps->min_trunc, p, n);
            if (pqf_reader_compare(r, l, p, n, ps->max, ps->maxlen) > 0)
                keep(ps->max, &ps->maxlen, &ps->max_trunc, p, n);
        }
        if (ps->has_minmax && stats_comparable(&v.ni, &ps->rep.stats) && ps->rep.stats.present &&
            (rc = check_minmax(path, &v, ps->rep.page, &ps->rep.stats, ps->min, ps->minlen,
                               ps->min_trunc, ps->max, ps->maxlen, ps->max_trunc,
                               "page statistics")))
            goto done;
    }
    for (int p = 0; p < v.npages; p++) {
        page_state *ps = &v.pages[p];
        rows += ps->rows;
        if (ps->rep.stats.has_null_count && v.ni.max_rep == 0 && ps->rep.stats.null_count != ps->nulls) {
            char d[96];
            snprintf(d, sizeof d, "%" PRId64 " in the header, %" PRId64 " in the data",
                     ps->rep.stats.null_count, ps->nulls);
            rc = vfail(path, &v, p, "page null count differs: ", d);
            goto done;
        }
        if (!ps->has_minmax)
            continue;
        if (!have) {
            memcpy(cmin, ps->min, ps->minlen), cminl = ps->minlen, cmin_t = ps->min_trunc;
            memcpy(cmax, ps->max, ps->maxlen), cmaxl = ps->maxlen, cmax_t = ps->max_trunc;
            have = true;
            continue;
        }
        if (pqf_reader_compare(r, l, ps->min, ps->minlen, cmin, cminl) < 0)
            memcpy(cmin, ps->min, ps->minlen), cminl = ps->minlen, cmin_t = ps->min_trunc;
        if (pqf_reader_compare(r, l, ps->max, ps->maxlen, cmax, cmaxl) > 0)
            memcpy(cmax, ps->max, ps->maxlen), cmaxl = ps->maxlen, cmax_t = ps->max_trunc;
    }
    *pages_total += (uint64_t)v.npages;
    if (levels != ci.num_values) {
        char d[96];
        snprintf(d, sizeof d, "metadata says %" PRId64 ", pages hold %" PRId64, ci.num_values, levels);
        rc = vfail(path, &v, -1, "value count differs: ", d);
        goto done;
    }
    if (rows != rg_rows) {
        char d[96];
        snprintf(d, sizeof d, "row group says %" PRId64 ", pages hold %" PRId64, rg_rows, rows);
        rc = vfail(path, &v, -1, "row count differs: ", d);
        goto done;
    }
    if (ci.stats.has_null_count && v.ni.max_rep == 0 && ci.stats.null_count != nulls) {
        char d[96];
        snprintf(d, sizeof d, "statistics say %" PRId64 ", data has %" PRId64, ci.stats.null_count, nulls);
        rc = vfail(path, &v, -1, "null count differs: ", d);
        goto done;
    }
    if (have && stats_comparable(&v.ni, &ci.stats) &&
        (rc = check_minmax(path, &v, -1, &ci.stats, cmin, cminl, cmin_t, cmax, cmaxl, cmax_t,
                           "chunk statistics")))
        goto done;
    pqf_err pe = pqf_reader_page_index(r, g, l, &pi);
    if (pe == PQF_OK) {
        if (pi.npages != v.npages) {
            char d[96];
            snprintf(d, sizeof d, "page index has %d pages, the chunk %d", pi.npages, v.npages);
            rc = vfail(path, &v, -1, "page index disagrees: ", d);
            goto done;
        }
        int64_t first = 0;
        for (int p = 0; p < v.npages; p++) {
            page_state *ps = &v.pages[p];
            if (pi.locations && (pi.locations[p].offset != ps->rep.offset ||
                                 pi.locations[p].first_row != first)) {
                rc = vfail(path, &v, p, "offset index location or first row differs from the page", NULL);
                goto done;
            }
            first += ps->rows;
            if (pi.has_column_index) {
                /* parquet-mr without statistics writes null_pages true with
                 * empty min/max for every page: no claim to check. */
                bool no_claim = pi.mins[p].len == 0 && pi.maxs[p].len == 0 &&
                                v.ni.physical != PQF_BYTE_ARRAY;
                if (!no_claim && pi.null_pages[p] != (ps->values == 0)) {
                    rc = vfail(path, &v, p, "column index null_pages differs from the data", NULL);
                    goto done;
                }
                if (!no_claim && pi.null_counts && pi.null_counts[p] >= 0 && v.ni.max_rep == 0 &&
                    pi.null_counts[p] != ps->nulls) {
                    rc = vfail(path, &v, p, "column index null count differs from the data", NULL);
                    goto done;
                }
                if (!no_claim && !pi.null_pages[p] && ps->has_minmax) {
                    pqf_stats st = {.present = true, .has_min = true, .has_max = true,
                                    .min = pi.mins[p], .max = pi.maxs[p]};
                    if (stats_comparable(&v.ni, &st) &&
                        (rc = check_minmax(path, &v, p, &st, ps->min, ps->minlen, ps->min_trunc,
                                           ps->max, ps->maxlen, ps->max_trunc, "column index")))
                        goto done;
                }
            }
        }
    } else if (pe != PQF_ERR_NOT_FOUND) {
        rc = reader_fail(r, path);
        goto done;
    }
    if (ci.bloom_offset >= 0) {
        /* every value must be in the bloom filter: probe the page minima */
        for (int p = 0; p < v.npages; p++) {
            bool maybe;
            page_state *ps = &v.pages[p];
            if (!ps->has_minmax || ps->min_trunc || v.ni.physical == PQF_BOOLEAN)
                continue;
            if (pqf_reader_bloom_check(r, g, l, ps->min, ps->minlen, &maybe) != PQF_OK) {
                rc = reader_fail(r, path);
                goto done;
            }
            if (!maybe) {
                rc = vfail(path, &v, p, "bloom filter does not contain a value of the page", NULL);
                goto done;
            }
        }
    }
done:
    pqf_column_free(c);
    free(v.pages);
    return rc;
}

static int cmd_validate(const char *path)
{
    pqf_istream *in = NULL;
    pqf_reader *r = NULL;
    int rc = open_file(path, &in, &r);
    uint64_t pages = 0;
    int64_t rows = 0;
    if (rc)
        return rc;
    for (int g = 0; g < pqf_reader_row_group_count(r) && !rc; g++) {
        pqf_row_group_info gi;
        pqf_reader_row_group(r, g, &gi);
        rows += gi.num_rows;
        for (int l = 0; l < pqf_reader_leaf_count(r) && !rc; l++)
            rc = validate_chunk(path, r, g, l, gi.num_rows, &pages);
    }
    if (!rc && rows != pqf_reader_num_rows(r)) {
        fprintf(stderr, "pqfeed: %s: footer says %" PRId64 " rows, row groups hold %" PRId64 "\n",
                path, pqf_reader_num_rows(r), rows);
        rc = pqf_exit_code(PQF_ERR_CORRUPT);
    }
    if (!rc)
        printf("ok: %s: %d row groups, %d columns, %" PRIu64 " pages, %" PRId64 " rows\n", path,
               pqf_reader_row_group_count(r), pqf_reader_leaf_count(r), pages, rows);
    pqf_reader_free(r);
    pqf_istream_free(in);
    return rc;
}

/* ---- scan ---------------------------------------------------------------------------- */

/* What scan sums per column, independent of page and batch boundaries and
 * cheap enough not to hide the decoder's cost: integers their wrapping sum
 * (INT32 sign-extended; a DuckDB sum() gives the same), BOOLEAN the count of
 * true, FLOAT/DOUBLE/INT96 the sum of their bit patterns, byte arrays their
 * total length and a sum of per-value hashes of every byte. */
static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return x;
}

/* Words are multiplied by per-position odd constants and summed: the
 * multiplies are independent, so a short string costs a few cycles. The
 * last word is loaded overlapping the one before (no variable-length copy);
 * values under 8 bytes are gathered byte by byte. */
static uint64_t bytes_hash(const uint8_t *p, size_t n)
{
    uint64_t a = n * UINT64_C(0x9e3779b97f4a7c15), k = UINT64_C(0xc2b2ae3d27d4eb4f), w;
    if (n < 8) {
        w = 0;
        for (size_t i = 0; i < n; i++)
            w |= (uint64_t)p[i] << (8 * i);
        return mix64(a + (w ^ (w >> 29)) * k);
    }
    size_t i = 0;
    for (; i + 8 < n; i += 8, k += UINT64_C(0x165667b19e3779f8)) {
        memcpy(&w, p + i, 8);
        a += (w ^ (w >> 29)) * k;
    }
    memcpy(&w, p + n - 8, 8);
    a += (w ^ (w >> 29)) * k;
    return mix64(a);
}

typedef struct scan_col {
    uint64_t levels, values;
    uint64_t sum;   /* see above */
    uint64_t bytes; /* byte arrays: total length */
} scan_col;

static void batch_sum(const pqf_batch *b, scan_col *sc)
{
    uint64_t s = 0;
    size_t n = b->nvalues;
    switch (b->physical) {
    case PQF_BOOLEAN: {
        const uint8_t *v = b->values;
        for (size_t i = 0; i < n; i++)
            s += v[i];
        break;
    }
    case PQF_INT32: {
        const int32_t *v = b->values;
        for (size_t i = 0; i < n; i++)
            s += (uint64_t)(int64_t)v[i];
        break;
    }
    case PQF_FLOAT: {
        const uint32_t *v = b->values;
        for (size_t i = 0; i < n; i++)
            s += v[i];
        break;
    }
    case PQF_INT64:
    case PQF_DOUBLE: {
        const uint64_t *v = b->values;
        for (size_t i = 0; i < n; i++)
            s += v[i];
        break;
    }
    case PQF_INT96: {
        const pqf_int96 *v = b->values;
        for (size_t i = 0; i < n; i++) {
            uint64_t lo;
            uint32_t hi;
            memcpy(&lo, v[i].b, 8);
            memcpy(&hi, v[i].b + 8, 4);
            s += lo + ((uint64_t)hi << 32);
        }
        break;
    }
    default: {
        const pqf_byteview *v = b->values;
        uint64_t bytes = 0;
        for (size_t i = 0; i < n; i++) {
            s += bytes_hash(v[i].ptr, v[i].len);
            bytes += v[i].len;
        }
        sc->bytes += bytes;
    }
    }
    sc->sum += s;
}

static double now_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Which leaves --columns names: top-level fields (every leaf under them) or
 * leaf paths. */
static int scan_select(pqf_reader *r, const char *columns, bool *want)
{
    int nl = pqf_reader_leaf_count(r);
    char *buf = strdup(columns);
    int rc = 0;
    if (!buf) {
        pqf_error e = {0};
        pqf_error_set(&e, PQF_ERR_NOMEM, "out of memory");
        return pqf_cli_fail(&e);
    }
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
        bool found = false;
        size_t tl = strlen(t);
        for (int l = 0; l < nl; l++) {
            const char *p = pqf_reader_leaf_path(r, l);
            if (strcmp(p, t) == 0 || (strncmp(p, t, tl) == 0 && p[tl] == '.')) {
                want[l] = true;
                found = true;
            }
        }
        if (!found)
            rc = pqf_cli_usage("parquet", "scan: no column '%s'", t);
    }
    free(buf);
    return rc;
}

static int cmd_scan(const char *path, const char *columns)
{
    pqf_istream *in = NULL;
    pqf_reader *r = NULL;
    bool *want = NULL;
    scan_col *cols = NULL;
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    int rc = open_file(path, &in, &r);
    if (rc)
        return rc;
    int nl = pqf_reader_leaf_count(r);
    want = calloc((size_t)nl + 1, sizeof *want);
    cols = calloc((size_t)nl + 1, sizeof *cols);
    if (!want || !cols) {
        pqf_error e = {0};
        pqf_error_set(&e, PQF_ERR_NOMEM, "out of memory");
        rc = pqf_cli_fail(&e);
        goto done;
    }
    if (columns) {
        rc = scan_select(r, columns, want);
        if (rc)
            goto done;
    } else {
        for (int l = 0; l < nl; l++)
            want[l] = true;
    }
    /* One column chunk at a time: memory stays at one chunk plus a page. */
    for (int g = 0; g < pqf_reader_row_group_count(r); g++) {
        for (int l = 0; l < nl; l++) {
            pqf_column_reader *c = NULL;
            pqf_batch b;
            if (!want[l])
                continue;
            if (pqf_column_open(r, g, l, &c) != PQF_OK) {
                rc = reader_fail(r, path);
                goto done;
            }
            for (;;) {
                if (pqf_column_next(c, (size_t)1 << 20, &b) != PQF_OK) {
                    pqf_column_free(c);
                    rc = reader_fail(r, path);
                    goto done;
                }
                if (!b.nlevels)
                    break;
                cols[l].levels += b.nlevels;
                cols[l].values += b.nvalues;
                batch_sum(&b, &cols[l]);
            }
            pqf_column_free(c);
        }
    }
    {
        double wall = now_s(CLOCK_MONOTONIC) - w0, cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        int64_t rows = pqf_reader_num_rows(r);
        int ncols = 0;
        for (int l = 0; l < nl; l++) {
            pqf_node_info ni;
            if (!want[l])
                continue;
            ncols++;
            pqf_reader_node(r, pqf_reader_leaf_node(r, l), &ni);
            printf("column %s %s: %" PRIu64 " values, %" PRIu64 " nulls, ", pqf_reader_leaf_path(r, l),
                   pqf_physical_name(ni.physical), cols[l].values, cols[l].levels - cols[l].values);
            switch (ni.physical) {
            case PQF_BOOLEAN: printf("%" PRIu64 " true\n", cols[l].sum); break;
            case PQF_INT32:
            case PQF_INT64: printf("sum %" PRId64 "\n", (int64_t)cols[l].sum); break;
            case PQF_BYTE_ARRAY:
            case PQF_FIXED_LEN_BYTE_ARRAY:
                printf("%" PRIu64 " bytes, hash %016" PRIx64 "\n", cols[l].bytes, cols[l].sum);
                break;
            default: printf("bit sum %016" PRIx64 "\n", cols[l].sum);
            }
        }
        printf("scan: %s: %" PRId64 " rows, %d row groups, %d columns, %.3f s wall, %.3f s CPU, "
               "%.0f rows/s (wall), %.0f rows/s (CPU)\n",
               path, rows, pqf_reader_row_group_count(r), ncols, wall, cpu,
               wall > 0 ? (double)rows / wall : 0.0, cpu > 0 ? (double)rows / cpu : 0.0);
    }
done:
    free(want);
    free(cols);
    pqf_reader_free(r);
    pqf_istream_free(in);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------------------ */

int pqf_cmd_parquet(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? PQF_EXIT_USAGE : 0;
    }
    const char *sub = argv[1], *file = NULL, *columns = NULL;
    bool json = false, has_limit = false;
    unsigned long long limit = 0;
    pqf_row_format fmt = PQF_ROW_JSON;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0 && strcmp(sub, "inspect") == 0) {
            json = true;
        } else if (strcmp(a, "--columns") == 0 &&
                   (strcmp(sub, "cat") == 0 || strcmp(sub, "scan") == 0) && i + 1 < argc) {
            columns = argv[++i];
        } else if (strcmp(a, "--limit") == 0 && strcmp(sub, "cat") == 0 && i + 1 < argc) {
            if (pqf_cli_parse_u64(argv[++i], &limit) != 0)
                return pqf_cli_usage("parquet", "--limit takes a number, not '%s'", argv[i]);
            has_limit = true;
        } else if (strcmp(a, "--format") == 0 && strcmp(sub, "cat") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            if (strcmp(f, "ndjson") == 0 || strcmp(f, "json") == 0)
                fmt = PQF_ROW_JSON;
            else if (strcmp(f, "csv") == 0)
                fmt = PQF_ROW_CSV;
            else
                return pqf_cli_usage("parquet", "--format is ndjson or csv, not '%s'", f);
        } else if (a[0] == '-' && a[1]) {
            return pqf_cli_usage("parquet", "unknown option '%s' for %s", a, sub);
        } else if (!file) {
            file = a;
        } else {
            return pqf_cli_usage("parquet", "one FILE only");
        }
    }
    if (strcmp(sub, "inspect") != 0 && strcmp(sub, "cat") != 0 && strcmp(sub, "validate") != 0 &&
        strcmp(sub, "scan") != 0)
        return pqf_cli_usage("parquet", "unknown subcommand '%s'", sub);
    if (!file)
        return pqf_cli_usage("parquet", "%s needs a FILE", sub);
    if (strcmp(sub, "inspect") == 0)
        return cmd_inspect(file, json);
    if (strcmp(sub, "cat") == 0)
        return cmd_cat(file, columns, limit, has_limit, fmt);
    if (strcmp(sub, "scan") == 0)
        return cmd_scan(file, columns);
    return cmd_validate(file);
}
