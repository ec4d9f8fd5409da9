/* A data file's rows as typed values for the sinks, read column by column.
 *
 * Flat top-level columns are read with the column cursor API (one cursor per
 * column, advanced in lockstep, one level slot per row) and turned straight
 * into typed values: integers, doubles and booleans as numbers, strings and
 * binary as pointers into the decoded page (no copy), dates and timestamps
 * formatted once. Nested columns, and any column whose type in the file is
 * not the one the schema version gives it, go through the row reader's JSON
 * (only those columns) and pqf__json_to_val, as every column did before; so
 * both paths give the same values. See pqf__colread_open() in sink.h.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/timefmt.h"
#include "consume/sink.h"
#include "parquet/render.h"
#include "pqfeed/reader.h"
#include "source/json.h"

#define BATCH 4096
#define SCRATCH_CAP ((size_t)512 << 20)

typedef enum {
    M_ABSENT, /* not in the file: NULL */
    M_I32,
    M_U32,
    M_I64,
    M_U64,
    M_BOOL,
    M_FLOAT,
    M_DOUBLE,
    M_TEXT, /* UTF-8; invalid sequences become U+FFFD, as the row reader renders them */
    M_BLOB,
    M_DATE,
    M_TS,
    M_RENDER, /* decimals, UUIDs, times: the row reader's text */
    M_JSON    /* through the row reader */
} mode;

typedef struct {
    const pqf__col *col;
    mode m;
    int leaf;
    pqf_node_info ni;
    int64_t per_sec; /* M_TS: file units per second */
    pqf_column_reader *c;
    pqf_batch b;
    size_t pos, vpos;
} ccol;

struct pqf__colread {
    pqf_reader *rd;
    const pqf__tdef *t;
    bool changes;
    const char *name;
    size_t n; /* values per row */
    ccol *cols;
    int rg, nrg;
    int64_t rows_left;
    uint64_t row; /* rows returned */
    pqf_row_reader *rr;
    const char **jnames;
    size_t njson;
    pqf__json_doc doc;
    pqf__buf scratch;
    pqf__span *spans;
};

static const pqf__col op_col = {.name = "_op", .kind = PQF__C_TEXT, .nullable = true};
static const pqf__col seq_col = {.name = "_seq", .kind = PQF__C_INT, .bits = 64, .nullable = true};

/* ---- choosing a path per column ---------------------------------------------------- */

static int unit_digits(pqf_time_unit u)
{
    return u == PQF_MILLIS ? 3 : u == PQF_MICROS ? 6 : 9;
}

static mode pick(const pqf__col *c, const pqf_node_info *ni, int64_t *per_sec)
{
    pqf__col fc;
    pqf_error e = {0};
    memset(&fc, 0, sizeof fc);
    if (ni->is_group || ni->repetition == PQF_REPEATED || ni->max_rep != 0 || ni->max_def > 1)
        return M_JSON;
    if (c == &op_col)
        return ni->physical == PQF_BYTE_ARRAY ? M_TEXT : M_JSON;
    if (c == &seq_col)
        return ni->physical == PQF_INT64 ? M_I64 : ni->physical == PQF_INT32 ? M_I32 : M_JSON;
    if (pqf__col_from_info(ni, &fc, &e) != PQF_OK || fc.kind != c->kind)
        return M_JSON;
    const pqf_logical *lt = &ni->logical;
    switch (c->kind) {
    case PQF__C_INT:
        if (ni->physical == PQF_INT32)
            return lt->kind == PQF_LT_INT && !lt->is_signed ? M_U32 : M_I32;
        return ni->physical == PQF_INT64 ? M_I64 : M_JSON;
    case PQF__C_UINT64:
        return ni->physical == PQF_INT64 ? M_U64 : M_JSON;
    case PQF__C_FLOAT:
        return ni->physical == PQF_FLOAT ? M_FLOAT : M_JSON;
    case PQF__C_DOUBLE:
        return ni->physical == PQF_DOUBLE ? M_DOUBLE : M_JSON;
    case PQF__C_BOOL:
        return ni->physical == PQF_BOOLEAN ? M_BOOL : M_JSON;
    case PQF__C_TEXT:
    case PQF__C_JSON:
        return ni->physical == PQF_BYTE_ARRAY ? M_TEXT : M_JSON;
    case PQF__C_DATE:
        return ni->physical == PQF_INT32 ? M_DATE : M_JSON;
    case PQF__C_TIMESTAMP:
        if (ni->physical != PQF_INT64 || fc.digits != c->digits || fc.utc != c->utc)
            return M_JSON;
        *per_sec = lt->unit == PQF_MILLIS ? 1000 : lt->unit == PQF_MICROS ? 1000000 : 1000000000;
        return unit_digits(lt->unit) == c->digits ? M_TS : M_JSON;
    case PQF__C_DECIMAL:
    case PQF__C_UUID:
    case PQF__C_TIME:
        return M_RENDER;
    case PQF__C_BINARY:
        return lt->kind == PQF_LT_NONE ? M_BLOB : M_JSON;
    default:
        return M_JSON;
    }
}

void pqf__colread_free(pqf__colread *cr)
{
    if (!cr)
        return;
    for (size_t i = 0; cr->cols && i < cr->n; i++)
        pqf_column_free(cr->cols[i].c);
    pqf_row_reader_free(cr->rr);
    free(cr->cols);
    free(cr->jnames);
    free(cr->spans);
    pqf__json_doc_free(&cr->doc);
    pqf__buf_free(&cr->scratch);
    free(cr);
}

pqf_err pqf__colread_open(pqf_reader *rd, const pqf__tdef *t, bool changes, const char *name,
                          pqf__colread **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__colread *cr = calloc(1, sizeof *cr);
    *out = NULL;
    if (!cr)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    pqf__json_doc_init(&cr->doc, NULL);
    pqf__buf_init(&cr->scratch, SCRATCH_CAP);
    cr->rd = rd;
    cr->t = t;
    cr->changes = changes;
    cr->name = name;
    cr->n = t->ncols + (changes ? 2 : 0);
    cr->nrg = pqf_reader_row_group_count(rd);
    cr->rg = -1;
    cr->cols = calloc(cr->n, sizeof *cr->cols);
    cr->jnames = calloc(cr->n + 1, sizeof *cr->jnames);
    cr->spans = calloc(cr->n, sizeof *cr->spans);
    if (!cr->cols || !cr->jnames || !cr->spans)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    pqf_node_info rootinfo;
    if (pqf_reader_node(rd, 0, &rootinfo) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "no schema root");
    for (size_t i = 0; i < cr->n; i++) {
        ccol *cc = &cr->cols[i];
        cc->col = i < t->ncols ? &t->cols[i] : i == t->ncols ? &op_col : &seq_col;
        cc->leaf = -1;
        cc->m = M_ABSENT;
        /* a top-level column of the file: a leaf right under the root, or a group */
        int node = -1;
        for (int k = 0; k < rootinfo.nchildren && node < 0; k++) {
            int ch = pqf_reader_node_child(rd, 0, k);
            pqf_node_info ni;
            if (ch >= 0 && pqf_reader_node(rd, ch, &ni) == PQF_OK &&
                strcmp(ni.name, cc->col->name) == 0) {
                node = ch;
                cc->ni = ni;
            }
        }
        if (node < 0)
            continue;
        cc->m = pick(cc->col, &cc->ni, &cc->per_sec);
        cc->leaf = cc->ni.leaf;
        if (cc->m == M_JSON)
            cr->jnames[cr->njson++] = cc->col->name;
    }
    if (cr->njson) {
        pqf_row_opts ro = {0};
        ro.format = PQF_ROW_JSON;
        ro.columns = cr->jnames;
        ro.ncolumns = cr->njson;
        PQF_TRY(pqf_row_reader_open(rd, &ro, &cr->rr, err));
    }
    *out = cr;
    cr = NULL;
done:
    if (rc != PQF_OK)
        pqf_error_prefix(err, "%s: ", name);
    pqf__colread_free(cr);
    return rc;
}

/* ---- values ------------------------------------------------------------------------ */

static pqf_err put(pqf__buf *b, const char *s, size_t n, pqf__span *sp)
{
    sp->off = b->len;
    sp->n = n;
    sp->set = true;
    return pqf__buf_append(b, s, n);
}

/* n digits of v, zero-padded, at p; returns p + n. (snprintf costs more
 * than the rest of a row.) */
static char *digits(char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* "YYYY-MM-DD" (years outside 0..9999 as rows.c renders them); returns the length. */
static int fmt_date(char *out, size_t cap, int64_t days)
{
    int64_t y;
    unsigned mo, d;
    pqf__civil_from_days(days, &y, &mo, &d);
    if (y < 0 || y > 9999)
        return snprintf(out, cap, "%04lld-%02u-%02u", (long long)y, mo, d);
    char *p = digits(out, (uint64_t)y, 4);
    *p++ = '-';
    p = digits(p, mo, 2);
    *p++ = '-';
    p = digits(p, d, 2);
    return (int)(p - out);
}

/* Text of a timestamp with exactly `ndig` fraction digits (what the JSON
 * path gives after pqf__tdef's normalisation): text order is time order. */
static int fmt_ts(char *out, size_t cap, int64_t v, int64_t per_sec, int ndig, bool utc)
{
    int64_t secs = pqf__floordiv(v, per_sec);
    int64_t frac = v - secs * per_sec;
    int64_t days = pqf__floordiv(secs, 86400);
    int64_t sod = secs - days * 86400;
    int n = fmt_date(out, cap, days);
    if (n < 0 || (size_t)n + 12 + (size_t)ndig > cap)
        return 0;
    char *p = out + n;
    *p++ = 'T';
    p = digits(p, (uint64_t)(sod / 3600), 2);
    *p++ = ':';
    p = digits(p, (uint64_t)(sod / 60 % 60), 2);
    *p++ = ':';
    p = digits(p, (uint64_t)(sod % 60), 2);
    *p++ = '.';
    p = digits(p, (uint64_t)frac, ndig);
    if (utc)
        *p++ = 'Z';
    return (int)(p - out);
}

/* Length of the valid UTF-8 prefix of s. */
static size_t utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        bool ok = len > 0 && c < 0xf5 && i + (size_t)len <= n;
        for (int k = 1; ok && k < len; k++)
            ok = (s[i + (size_t)k] & 0xc0) == 0x80;
        if (ok && len == 3) {
            uint32_t cp =
                (uint32_t)(c & 0x0f) << 12 | (uint32_t)(s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f);
            ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
        } else if (ok && len == 4) {
            uint32_t cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3f) << 12;
            ok = cp >= 0x10000 && cp <= 0x10ffff;
        }
        if (!ok)
            return i;
        i += (size_t)len;
    }
    return n;
}

/* s with each invalid UTF-8 byte replaced by U+FFFD, into b. */
static pqf_err put_sanitized(pqf__buf *b, const uint8_t *s, size_t n, pqf__span *sp)
{
    pqf_err rc = PQF_OK;
    sp->off = b->len;
    sp->set = true;
    while (n) {
        size_t ok = utf8_valid(s, n);
        PQF_TRY(pqf__buf_append(b, s, ok));
        if (ok == n)
            break;
        PQF_TRY(pqf__buf_append(b, "\xef\xbf\xbd", 3));
        s += ok + 1;
        n -= ok + 1;
    }
    sp->n = b->len - sp->off;
done:
    return rc;
}

static pqf_err fast_value(pqf__colread *cr, ccol *cc, size_t k, pqf__val *v, pqf__span *sp)
{
    pqf_err rc = PQF_OK;
    char t[96];
    const void *vals = cc->b.values;
    switch (cc->m) {
    case M_I32:
        v->t = PQF__V_INT;
        v->i = ((const int32_t *)vals)[k];
        break;
    case M_U32:
        v->t = PQF__V_INT;
        v->i = (uint32_t)((const int32_t *)vals)[k];
        break;
    case M_I64:
        v->t = PQF__V_INT;
        v->i = ((const int64_t *)vals)[k];
        break;
    case M_U64: {
        uint64_t u = (uint64_t)((const int64_t *)vals)[k];
        if (u > (uint64_t)INT64_MAX) { /* beyond int64: the exact text */
            v->t = PQF__V_TEXT;
            int n = snprintf(t, sizeof t, "%" PRIu64, u);
            PQF_TRY(put(&cr->scratch, t, (size_t)n, sp));
        } else {
            v->t = PQF__V_INT;
            v->i = (int64_t)u;
        }
        break;
    }
    case M_BOOL:
        v->t = PQF__V_BOOL;
        v->i = ((const uint8_t *)vals)[k] != 0;
        break;
    case M_FLOAT: {
        /* the shortest text that reads back as the float, then that text as
         * a double: what the JSON path stored (0.1, not 0.100000001490116) */
        float f = ((const float *)vals)[k];
        v->t = PQF__V_DOUBLE;
        if (isnan(f) || isinf(f)) {
            snprintf(t, sizeof t, "%s", isnan(f) ? "NaN" : f > 0 ? "Infinity" : "-Infinity");
        } else {
            for (int prec = 6; prec <= 9; prec++) {
                snprintf(t, sizeof t, "%.*g", prec, (double)f);
                if ((float)strtod(t, NULL) == f)
                    break;
            }
        }
        v->d = strtod(t, NULL);
        PQF_TRY(put(&cr->scratch, t, strlen(t), sp));
        break;
    }
    case M_DOUBLE:
        v->t = PQF__V_DOUBLE;
        v->d = ((const double *)vals)[k];
        break;
    case M_TEXT: {
        pqf_byteview bv = ((const pqf_byteview *)vals)[k];
        v->t = PQF__V_TEXT;
        if (utf8_valid(bv.ptr, bv.len) == bv.len) {
            v->s = (const char *)bv.ptr;
            v->n = bv.len;
        } else {
            PQF_TRY(put_sanitized(&cr->scratch, bv.ptr, bv.len, sp));
        }
        break;
    }
    case M_BLOB: {
        pqf_byteview bv = ((const pqf_byteview *)vals)[k];
        v->t = PQF__V_BLOB;
        v->s = (const char *)bv.ptr;
        v->n = bv.len;
        break;
    }
    case M_DATE: {
        int n = fmt_date(t, sizeof t, ((const int32_t *)vals)[k]);
        v->t = PQF__V_TEXT;
        PQF_TRY(put(&cr->scratch, t, (size_t)n, sp));
        break;
    }
    case M_TS: {
        int n = fmt_ts(t, sizeof t, ((const int64_t *)vals)[k], cc->per_sec, cc->col->digits,
                       cc->col->utc);
        v->t = PQF__V_TEXT;
        PQF_TRY(put(&cr->scratch, t, (size_t)n, sp));
        break;
    }
    case M_RENDER:
        v->t = PQF__V_TEXT;
        sp->off = cr->scratch.len;
        PQF_TRY(pqf__render_value(&cr->scratch, &cc->ni, vals, k));
        sp->n = cr->scratch.len - sp->off;
        sp->set = true;
        break;
    default:
        break;
    }
done:
    return rc;
}

/* ---- rows -------------------------------------------------------------------------- */

static pqf_err reader_fail(pqf__colread *cr, pqf_err rc, pqf_error *err)
{
    const pqf_error *e = pqf_reader_error(cr->rd);
    return pqf_error_set(err, rc, "%s: %s", cr->name, e->msg[0] ? e->msg : pqf_strerror(rc));
}

static bool is_fast(const ccol *cc)
{
    return cc->m != M_ABSENT && cc->m != M_JSON;
}

/* Close the row group's cursors, checking each ended with the group. */
static pqf_err end_group(pqf__colread *cr, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    for (size_t i = 0; i < cr->n; i++) {
        ccol *cc = &cr->cols[i];
        if (!cc->c)
            continue;
        if (cc->pos == cc->b.nlevels) {
            rc = pqf_column_next(cc->c, BATCH, &cc->b);
            if (rc != PQF_OK)
                return reader_fail(cr, rc, err);
            cc->pos = 0;
        }
        if (cc->pos < cc->b.nlevels)
            PQF_FAIL(err, PQF_ERR_CORRUPT,
                     "%s: row group %d: column '%s' holds more values than the group's rows",
                     cr->name, cr->rg, cc->col->name);
        pqf_column_free(cc->c);
        cc->c = NULL;
    }
done:
    return rc;
}

static pqf_err next_group(pqf__colread *cr, bool *eof, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    *eof = false;
    while (cr->rows_left == 0) {
        if (cr->rg >= 0)
            PQF_TRY(end_group(cr, err));
        if (cr->rg + 1 >= cr->nrg) {
            *eof = true;
            goto done;
        }
        cr->rg++;
        pqf_row_group_info gi;
        rc = pqf_reader_row_group(cr->rd, cr->rg, &gi);
        if (rc != PQF_OK)
            return reader_fail(cr, rc, err);
        cr->rows_left = gi.num_rows;
        if (gi.num_rows < 0)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: row group %d: negative row count", cr->name,
                     cr->rg);
        if (gi.num_rows == 0)
            continue;
        for (size_t i = 0; i < cr->n; i++) {
            ccol *cc = &cr->cols[i];
            if (!is_fast(cc))
                continue;
            rc = pqf_column_open(cr->rd, cr->rg, cc->leaf, &cc->c);
            if (rc != PQF_OK)
                return reader_fail(cr, rc, err);
            memset(&cc->b, 0, sizeof cc->b);
            cc->pos = cc->vpos = 0;
        }
    }
done:
    return rc;
}

/* The row reader's next JSON line (*line NULL at its end); its error named. */
static pqf_err json_row_next(pqf__colread *cr, const char **line, size_t *ll, pqf_error *err)
{
    pqf_err rc = pqf_row_reader_next(cr->rr, line, ll);
    if (rc != PQF_OK) {
        *err = *pqf_row_reader_error(cr->rr);
        pqf_error_prefix(err, "%s: ", cr->name);
    }
    return rc;
}

pqf_err pqf__colread_next(pqf__colread *cr, pqf__val *vals, bool *got, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    const pqf__json *row = NULL;
    bool eof = false;
    *got = false;
    PQF_TRY(next_group(cr, &eof, err));
    if (eof) {
        if (cr->rr) { /* the row reader must end with the cursors */
            const char *line = NULL;
            size_t ll = 0;
            PQF_TRY(json_row_next(cr, &line, &ll, err));
            if (line)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: more rows than its row groups hold", cr->name);
        }
        goto done;
    }
    pqf__buf_reset(&cr->scratch);
    if (cr->rr) {
        const char *line = NULL;
        size_t ll = 0;
        PQF_TRY(json_row_next(cr, &line, &ll, err));
        if (!line)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: row %" PRIu64 ": the row reader ended early",
                     cr->name, cr->row + 1);
        pqf__json_doc_reset(&cr->doc);
        pqf__json *r = NULL;
        rc = pqf__json_parse(&cr->doc, line, ll, &r);
        if (rc != PQF_OK)
            PQF_FAIL(err, PQF_ERR_INTERNAL, "%s: row %" PRIu64 ": %s", cr->name, cr->row + 1,
                     cr->doc.err.msg);
        row = r;
    }
    for (size_t i = 0; i < cr->n; i++) {
        ccol *cc = &cr->cols[i];
        pqf__val *v = &vals[i];
        pqf__span *sp = &cr->spans[i];
        memset(v, 0, sizeof *v);
        sp->set = false;
        if (cc->m == M_ABSENT)
            continue;
        if (cc->m == M_JSON) {
            PQF_TRY(pqf__json_to_val(cc->col, pqf__json_get(row, cc->col->name), &cr->scratch, v,
                                     sp, err));
            continue;
        }
        if (cc->pos == cc->b.nlevels) {
            rc = pqf_column_next(cc->c, BATCH, &cc->b);
            if (rc != PQF_OK)
                return reader_fail(cr, rc, err);
            if (cc->b.nlevels == 0 || cc->b.rep)
                PQF_FAIL(err, PQF_ERR_CORRUPT,
                         "%s: row group %d: column '%s' ends before the group's rows", cr->name,
                         cr->rg, cc->col->name);
            cc->pos = cc->vpos = 0;
        }
        bool present = !cc->b.def || cc->b.def[cc->pos] == cc->ni.max_def;
        cc->pos++;
        if (!present)
            continue; /* NULL */
        if (cc->vpos >= cc->b.nvalues)
            PQF_FAIL(err, PQF_ERR_CORRUPT,
                     "%s: row group %d: column '%s': levels and values disagree", cr->name, cr->rg,
                     cc->col->name);
        rc = fast_value(cr, cc, cc->vpos++, v, sp);
        if (rc != PQF_OK)
            PQF_FAIL(err, rc, "column '%s': a row's text exceeds %zu bytes", cc->col->name,
                     SCRATCH_CAP);
    }
    /* the buffer may have moved while it grew: point into it only now */
    for (size_t i = 0; i < cr->n; i++) {
        if (cr->spans[i].set) {
            vals[i].s = (const char *)cr->scratch.data + cr->spans[i].off;
            vals[i].n = cr->spans[i].n;
        }
    }
    for (size_t k = 0; k < cr->t->nkeys; k++)
        if (vals[cr->t->keys[k]].t == PQF__V_NULL)
            PQF_FAIL(err, PQF_ERR_VALUE, "key column '%s' is null",
                     cr->t->cols[cr->t->keys[k]].name);
    if (cr->changes) {
        const pqf__val *op = &vals[cr->t->ncols], *seq = &vals[cr->t->ncols + 1];
        if (op->t != PQF__V_TEXT || op->n != 1 || !strchr("IUD", op->s[0]))
            PQF_FAIL(err, PQF_ERR_VALUE, "column '_op': expected I, U or D");
        if (seq->t != PQF__V_INT)
            PQF_FAIL(err, PQF_ERR_VALUE, "column '_seq': expected an integer");
    }
    cr->rows_left--;
    cr->row++;
    *got = true;
done:
    if (rc == PQF_ERR_VALUE || rc == PQF_ERR_LIMIT || rc == PQF_ERR_NOMEM)
        pqf_error_prefix(err, "%s: row %" PRIu64 ": ", cr->name, cr->row + 1);
    return rc;
}
