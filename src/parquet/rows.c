/* Record assembly (Dremel levels back to nested values) and rendering as
 * JSON or CSV, built on the public column cursor API; see
 * pqf_row_reader_open() in include/pqfeed/reader.h.
 *
 * Assembly walks the schema once per row. For a node, the first leaf under it
 * (its representative) tells by its definition level whether the node is
 * present here; a node absent at this slot has exactly one slot in every leaf
 * beneath it, which is skipped. A repeated node goes on while the
 * representative's next repetition level equals the node's own. Every step
 * consumes at least one slot, so a malformed file cannot loop; leaves that
 * disagree with each other are caught at the row boundary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/timefmt.h"
#include "base/buf.h"
#include "pqfeed/reader.h"
#include "parquet/render.h"

#define LINE_CAP (256u << 20)
#define BATCH 4096

typedef struct leaf_stream {
    bool open, eof;
    pqf_column_reader *c;
    pqf_batch b;
    size_t pos, vpos;
    int node;
} leaf_stream;

struct pqf_row_reader {
    pqf_reader *r;
    pqf_row_format format;
    pqf_predicate pred;
    bool has_pred;
    int nnodes, nleaves;
    pqf_node_info *info;
    int *lo, *hi; /* leaf range per node */
    int nfields;
    int *fields;
    bool *want_leaf;
    leaf_stream *ls;
    int rg;
    int64_t rows_left;
    pqf__buf line, header, scratch;
    pqf_error err;
};

const pqf_error *pqf_row_reader_error(const pqf_row_reader *rr) { return &rr->err; }

static pqf_err from_reader(pqf_row_reader *rr, pqf_err rc)
{
    const pqf_error *e = pqf_reader_error(rr->r);
    return pqf_error_set(&rr->err, rc, "%s", e->msg[0] ? e->msg : pqf_strerror(rc));
}

static pqf_err oom(pqf_row_reader *rr)
{
    return pqf_error_set(&rr->err, PQF_ERR_LIMIT, "a rendered row exceeds %u bytes", LINE_CAP);
}

#define OUT(b, s, n)                                                                               \
    do {                                                                                           \
        if (pqf__buf_append((b), (s), (n)) != PQF_OK)                                               \
            return oom(rr);                                                                        \
    } while (0)
#define OUTS(b, s) OUT(b, s, strlen(s))
#define OUTC(b, ch)                                                                                \
    do {                                                                                           \
        if (pqf__buf_append_byte((b), (uint8_t)(ch)) != PQF_OK)                                     \
            return oom(rr);                                                                        \
    } while (0)

/* ---- value rendering ----------------------------------------------------------- */

static pqf_err json_string(pqf_row_reader *rr, pqf__buf *b, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    OUTC(b, '"');
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            OUTC(b, '\\');
            OUTC(b, c);
            i++;
        } else if (c < 0x20) {
            char e[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            if (c == '\n')
                OUTS(b, "\\n");
            else if (c == '\t')
                OUTS(b, "\\t");
            else if (c == '\r')
                OUTS(b, "\\r");
            else
                OUTS(b, e);
            i++;
        } else if (c < 0x80) {
            OUTC(b, c);
            i++;
        } else {
            /* validate one UTF-8 sequence; invalid bytes become U+FFFD */
            int len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
            bool ok = len > 0 && i + (size_t)len <= n;
            for (int k = 1; ok && k < len; k++)
                ok = (s[i + (size_t)k] & 0xc0) == 0x80;
            if (ok && len == 3) {
                uint32_t cp = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f);
                ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
            } else if (ok && len == 4) {
                uint32_t cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3f) << 12;
                ok = cp >= 0x10000 && cp <= 0x10ffff;
            }
            if (ok) {
                OUT(b, s + i, (size_t)len);
                i += (size_t)len;
            } else {
                OUTS(b, "\xef\xbf\xbd");
                i++;
            }
        }
    }
    OUTC(b, '"');
    return PQF_OK;
}

static pqf_err base64(pqf_row_reader *rr, pqf__buf *b, const uint8_t *s, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? s[i + 2] : 0);
        char q[4] = {t[v >> 18], t[(v >> 12) & 63], i + 1 < n ? t[(v >> 6) & 63] : '=',
                     i + 2 < n ? t[v & 63] : '='};
        OUT(b, q, 4);
    }
    return PQF_OK;
}

/* Fraction digits without trailing zeros (".5", ".123456"). */
static int frac_text(char *out, size_t cap, int64_t frac, int digits)
{
    if (!frac)
        return 0;
    while (digits > 0 && frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    return snprintf(out, cap, ".%0*lld", digits, (long long)frac);
}

static void fmt_ts_parts(char *out, size_t cap, int64_t days, int64_t sod, int64_t frac, int digits,
                         bool utc)
{
    int64_t y;
    unsigned mo, d;
    pqf__civil_from_days(days, &y, &mo, &d);
    int n = snprintf(out, cap, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, mo, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    if (n > 0 && (size_t)n < cap)
        n += frac_text(out + n, cap - (size_t)n, frac, digits);
    if (utc && n > 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n, "Z");
}

/* Render a point in time: v in units per second (1e3, 1e6, 1e9). */
static void fmt_timestamp(char *out, size_t cap, int64_t v, int64_t per_sec, int digits, bool utc)
{
    int64_t secs = pqf__floordiv(v, per_sec);
    int64_t frac = v - secs * per_sec;
    int64_t days = pqf__floordiv(secs, 86400);
    fmt_ts_parts(out, cap, days, secs - days * 86400, frac, digits, utc);
}

static void fmt_time(char *out, size_t cap, int64_t v, int64_t per_sec, int digits)
{
    int64_t secs = pqf__floordiv(v, per_sec), frac = v - secs * per_sec;
    int n = snprintf(out, cap, "%02lld:%02d:%02d", (long long)(secs / 3600), (int)(secs / 60 % 60),
                     (int)(secs % 60));
    if (n > 0 && (size_t)n < cap)
        frac_text(out + n, cap - (size_t)n, frac, digits);
}

/* Shortest text that reads back as the same double/float. */
static void fmt_double(char *out, size_t cap, double v, bool is_float)
{
    for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (is_float ? (float)strtod(out, NULL) == (float)v : strtod(out, NULL) == v)
            break;
    }
}

/* Exact decimal of a big-endian two's complement integer with a scale. */
static pqf_err decimal_be(pqf_row_reader *rr, pqf__buf *b, const uint8_t *s, size_t n, int scale)
{
    uint8_t mag[64];
    char digits[160];
    size_t nd = 0;
    if (n == 0) {
        OUTC(b, '0');
        return PQF_OK;
    }
    if (n > sizeof mag)
        return base64(rr, b, s, n);
    bool neg = s[0] & 0x80;
    memcpy(mag, s, n);
    if (neg) { /* two's complement negate */
        for (size_t i = 0; i < n; i++)
            mag[i] = (uint8_t)~mag[i];
        for (size_t i = n; i-- > 0;)
            if (++mag[i] != 0)
                break;
    }
    for (;;) {
        bool zero = true;
        unsigned rem = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned cur = rem * 256 + mag[i];
            mag[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
            zero &= mag[i] == 0;
        }
        digits[nd++] = (char)('0' + rem);
        if (zero || nd >= sizeof digits)
            break;
    }
    if (scale < 0)
        scale = 0;
    if (neg)
        OUTC(b, '-');
    if ((size_t)scale >= nd) {
        OUTS(b, "0.");
        for (size_t i = nd; i < (size_t)scale; i++)
            OUTC(b, '0');
        for (size_t i = nd; i-- > 0;)
            OUTC(b, digits[i]);
    } else {
        for (size_t i = nd; i-- > 0;) {
            OUTC(b, digits[i]);
            if (i == (size_t)scale && scale > 0)
                OUTC(b, '.');
        }
    }
    return PQF_OK;
}

static pqf_err decimal_int(pqf_row_reader *rr, pqf__buf *b, int64_t v, int scale)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    return decimal_be(rr, b, be, 8, scale);
}

static float half_to_float(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v;
    if (e == 0)
        v = ldexpf((float)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m | 0x400), e - 25);
    return (h & 0x8000) ? -v : v;
}

/* Render value i of a batch; json: quoted strings; otherwise bare text. */
static pqf_err render(pqf_row_reader *rr, pqf__buf *b, const pqf_node_info *in, const void *vals,
                      size_t i, bool json)
{
    char t[128];
    const pqf_logical *lt = &in->logical;
    bool text = false; /* t holds a string value (quoted in JSON) */
    t[0] = 0;
    switch (in->physical) {
    case PQF_BOOLEAN:
        snprintf(t, sizeof t, "%s", ((const uint8_t *)vals)[i] ? "true" : "false");
        break;
    case PQF_INT32: {
        int32_t v = ((const int32_t *)vals)[i];
        if (lt->kind == PQF_LT_DATE) {
            int64_t y;
            unsigned m, d;
            pqf__civil_from_days(v, &y, &m, &d);
            snprintf(t, sizeof t, "%04lld-%02u-%02u", (long long)y, m, d);
            text = true;
        } else if (lt->kind == PQF_LT_TIME) {
            fmt_time(t, sizeof t, v, 1000, 3);
            text = true;
        } else if (lt->kind == PQF_LT_DECIMAL) {
            return decimal_int(rr, b, v, lt->scale);
        } else if (lt->kind == PQF_LT_INT && !lt->is_signed) {
            snprintf(t, sizeof t, "%u", (unsigned)v);
        } else {
            snprintf(t, sizeof t, "%d", (int)v);
        }
        break;
    }
    case PQF_INT64: {
        int64_t v = ((const int64_t *)vals)[i];
        int64_t per = lt->unit == PQF_MILLIS ? 1000 : lt->unit == PQF_MICROS ? 1000000 : 1000000000;
        int dig = lt->unit == PQF_MILLIS ? 3 : lt->unit == PQF_MICROS ? 6 : 9;
        if (lt->kind == PQF_LT_TIMESTAMP) {
            fmt_timestamp(t, sizeof t, v, per, dig, lt->utc);
            text = true;
        } else if (lt->kind == PQF_LT_TIME) {
            fmt_time(t, sizeof t, v, per, dig);
            text = true;
        } else if (lt->kind == PQF_LT_DECIMAL) {
            return decimal_int(rr, b, v, lt->scale);
        } else if (lt->kind == PQF_LT_INT && !lt->is_signed) {
            snprintf(t, sizeof t, "%llu", (unsigned long long)v);
        } else {
            snprintf(t, sizeof t, "%lld", (long long)v);
        }
        break;
    }
    case PQF_INT96: {
        const uint8_t *p = ((const pqf_int96 *)vals)[i].b;
        uint64_t nanos;
        uint32_t jd;
        memcpy(&nanos, p, 8);
        memcpy(&jd, p + 8, 4);
        /* Julian day 2440588 is 1970-01-01 */
        int64_t days = (int64_t)jd - 2440588;
        if (nanos >= 86400000000000ull)
            snprintf(t, sizeof t, "invalid INT96");
        else
            fmt_ts_parts(t, sizeof t, days, (int64_t)(nanos / 1000000000u),
                         (int64_t)(nanos % 1000000000u), 9, false);
        text = true;
        break;
    }
    case PQF_FLOAT:
    case PQF_DOUBLE: {
        double v = in->physical == PQF_FLOAT ? ((const float *)vals)[i] : ((const double *)vals)[i];
        if (isnan(v) || isinf(v)) {
            snprintf(t, sizeof t, "%s", isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
            text = true;
        } else {
            fmt_double(t, sizeof t, v, in->physical == PQF_FLOAT);
        }
        break;
    }
    case PQF_BYTE_ARRAY:
    case PQF_FIXED_LEN_BYTE_ARRAY: {
        pqf_byteview v = ((const pqf_byteview *)vals)[i];
        if (lt->kind == PQF_LT_DECIMAL)
            return decimal_be(rr, b, v.ptr, v.len, lt->scale);
        if (lt->kind == PQF_LT_STRING || lt->kind == PQF_LT_ENUM || lt->kind == PQF_LT_JSON) {
            if (json)
                return json_string(rr, b, v.ptr, v.len);
            OUT(b, v.ptr, v.len);
            return PQF_OK;
        }
        if (lt->kind == PQF_LT_UUID && v.len == 16) {
            const uint8_t *u = v.ptr;
            snprintf(t, sizeof t,
                     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
                     u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
                     u[13], u[14], u[15]);
            text = true;
            break;
        }
        if (lt->kind == PQF_LT_FLOAT16 && v.len == 2) {
            float f = half_to_float((uint16_t)(v.ptr[0] | v.ptr[1] << 8));
            if (isnan(f) || isinf(f)) {
                snprintf(t, sizeof t, "%s", isnan(f) ? "NaN" : f > 0 ? "Infinity" : "-Infinity");
                text = true;
            } else {
                fmt_double(t, sizeof t, f, true);
            }
            break;
        }
        if (json)
            OUTC(b, '"');
        {
            pqf_err rc = base64(rr, b, v.ptr, v.len);
            if (rc != PQF_OK)
                return rc;
        }
        if (json)
            OUTC(b, '"');
        return PQF_OK;
    }
    }
    if (text && json)
        OUTC(b, '"');
    OUTS(b, t);
    if (text && json)
        OUTC(b, '"');
    return PQF_OK;
}

pqf_err pqf__render_value(pqf__buf *b, const pqf_node_info *in, const void *vals, size_t i)
{
    pqf_row_reader rr; /* only its error slot is used */
    memset(&rr, 0, sizeof rr);
    return render(&rr, b, in, vals, i, false);
}

/* ---- leaf streams --------------------------------------------------------------- */

static pqf_err ls_fill(pqf_row_reader *rr, int leaf)
{
    leaf_stream *s = &rr->ls[leaf];
    while (!s->eof && s->pos >= s->b.nlevels) {
        pqf_err rc = pqf_column_next(s->c, BATCH, &s->b);
        if (rc != PQF_OK)
            return from_reader(rr, rc);
        s->pos = s->vpos = 0;
        if (s->b.nlevels == 0)
            s->eof = true;
    }
    return PQF_OK;
}

static pqf_err ls_peek(pqf_row_reader *rr, int leaf, int *def, int *rep)
{
    pqf_err rc = ls_fill(rr, leaf);
    if (rc != PQF_OK)
        return rc;
    leaf_stream *s = &rr->ls[leaf];
    if (s->eof)
        return pqf_error_set(&rr->err, PQF_ERR_CORRUPT,
                             "row group %d, column %s ends before the row group's rows",
                             rr->rg, pqf_reader_leaf_path(rr->r, leaf));
    const pqf_node_info *in = &rr->info[s->node];
    *def = s->b.def ? s->b.def[s->pos] : in->max_def;
    *rep = s->b.rep ? s->b.rep[s->pos] : 0;
    return PQF_OK;
}

static void ls_advance(pqf_row_reader *rr, int leaf, int def)
{
    leaf_stream *s = &rr->ls[leaf];
    if (def == rr->info[s->node].max_def)
        s->vpos++;
    s->pos++;
}

/* The node is absent here: one slot in every leaf under it. */
static pqf_err skip_slot(pqf_row_reader *rr, int node)
{
    for (int l = rr->lo[node]; l < rr->hi[node]; l++) {
        int d = 0, r = 0;
        pqf_err rc = ls_peek(rr, l, &d, &r);
        if (rc != PQF_OK)
            return rc;
        ls_advance(rr, l, d);
    }
    return PQF_OK;
}

/* ---- assembly -------------------------------------------------------------------- */

enum { INST_SELF, INST_CHILD, INST_MAP };

static pqf_err emit_value(pqf_row_reader *rr, pqf__buf *b, int node);
static pqf_err emit_field(pqf_row_reader *rr, pqf__buf *b, int node);

static int child(pqf_row_reader *rr, int node, int i) { return pqf_reader_node_child(rr->r, node, i); }

static pqf_err emit_leaf(pqf_row_reader *rr, pqf__buf *b, int node, bool json)
{
    int leaf = rr->info[node].leaf, d = 0, r = 0;
    pqf_err rc = ls_peek(rr, leaf, &d, &r);
    if (rc != PQF_OK)
        return rc;
    leaf_stream *s = &rr->ls[leaf];
    if (d == rr->info[node].max_def) {
        if (s->vpos >= s->b.nvalues)
            return pqf_error_set(&rr->err, PQF_ERR_CORRUPT, "row group %d, column %s: values and levels disagree",
                                 rr->rg, pqf_reader_leaf_path(rr->r, leaf));
        rc = render(rr, b, &rr->info[node], s->b.values, s->vpos, json);
    } else if (json) {
        OUTS(b, "null");
    }
    ls_advance(rr, leaf, d);
    return rc;
}

static pqf_err emit_struct(pqf_row_reader *rr, pqf__buf *b, int node)
{
    pqf_err rc = PQF_OK;
    OUTC(b, '{');
    for (int i = 0; i < rr->info[node].nchildren; i++) {
        int c = child(rr, node, i);
        if (i)
            OUTC(b, ',');
        PQF_TRY(json_string(rr, b, (const uint8_t *)rr->info[c].name, strlen(rr->info[c].name)));
        OUTC(b, ':');
        PQF_TRY(emit_field(rr, b, c));
    }
    OUTC(b, '}');
done:
    return rc;
}

static pqf_err emit_instance(pqf_row_reader *rr, pqf__buf *b, int rnode, int mode)
{
    pqf_err rc = PQF_OK;
    if (mode == INST_CHILD)
        return emit_field(rr, b, child(rr, rnode, 0));
    if (mode == INST_MAP) {
        int k = child(rr, rnode, 0), v = child(rr, rnode, 1);
        pqf__buf kb;
        pqf__buf_init(&kb, LINE_CAP);
        rc = emit_field(rr, &kb, k);
        if (rc == PQF_OK) {
            if (kb.len && kb.data[0] == '"')
                rc = pqf__buf_append(b, kb.data, kb.len) == PQF_OK ? PQF_OK : oom(rr);
            else
                rc = json_string(rr, b, kb.data, kb.len);
        }
        pqf__buf_free(&kb);
        if (rc != PQF_OK)
            return rc;
        OUTC(b, ':');
        if (v >= 0)
            return emit_field(rr, b, v);
        OUTS(b, "null");
        return PQF_OK;
    }
    if (!rr->info[rnode].is_group)
        return emit_leaf(rr, b, rnode, true);
    return emit_struct(rr, b, rnode);
}

static pqf_err emit_repeated(pqf_row_reader *rr, pqf__buf *b, int rnode, int mode)
{
    pqf_err rc = PQF_OK;
    int L = rr->lo[rnode], d = 0, r = 0;
    const pqf_node_info *in = &rr->info[rnode];
    char open = mode == INST_MAP ? '{' : '[', close = mode == INST_MAP ? '}' : ']';
    PQF_TRY(ls_peek(rr, L, &d, &r));
    OUTC(b, open);
    if (d < in->max_def) {
        PQF_TRY(skip_slot(rr, rnode));
    } else {
        for (bool first = true;; first = false) {
            if (!first)
                OUTC(b, ',');
            PQF_TRY(emit_instance(rr, b, rnode, mode));
            PQF_TRY(ls_fill(rr, L));
            if (rr->ls[L].eof)
                break;
            PQF_TRY(ls_peek(rr, L, &d, &r));
            if (r != in->max_rep)
                break;
        }
    }
    OUTC(b, close);
done:
    return rc;
}

static bool is_list(pqf_row_reader *rr, int node)
{
    const pqf_node_info *in = &rr->info[node];
    if (in->logical.kind != PQF_LT_LIST || in->nchildren != 1)
        return false;
    return rr->info[child(rr, node, 0)].repetition == PQF_REPEATED;
}

static bool is_map(pqf_row_reader *rr, int node)
{
    const pqf_node_info *in = &rr->info[node];
    if (in->logical.kind != PQF_LT_MAP || in->nchildren != 1)
        return false;
    const pqf_node_info *kv = &rr->info[child(rr, node, 0)];
    return kv->repetition == PQF_REPEATED && kv->is_group && kv->nchildren >= 1 &&
           kv->nchildren <= 2;
}

static pqf_err emit_value(pqf_row_reader *rr, pqf__buf *b, int node)
{
    pqf_err rc = PQF_OK;
    const pqf_node_info *in = &rr->info[node];
    int d = 0, r = 0;
    PQF_TRY(ls_peek(rr, rr->lo[node], &d, &r));
    if (d < in->max_def) {
        OUTS(b, "null");
        PQF_TRY(skip_slot(rr, node));
    } else if (!in->is_group) {
        PQF_TRY(emit_leaf(rr, b, node, true));
    } else if (is_list(rr, node)) {
        int rep = child(rr, node, 0);
        const pqf_node_info *ri = &rr->info[rep];
        size_t nl = strlen(in->name);
        bool self = !ri->is_group || ri->nchildren > 1 || strcmp(ri->name, "array") == 0 ||
                    (strncmp(ri->name, in->name, nl) == 0 && strcmp(ri->name + nl, "_tuple") == 0);
        PQF_TRY(emit_repeated(rr, b, rep, self ? INST_SELF : INST_CHILD));
    } else if (is_map(rr, node)) {
        PQF_TRY(emit_repeated(rr, b, child(rr, node, 0), INST_MAP));
    } else {
        PQF_TRY(emit_struct(rr, b, node));
    }
done:
    return rc;
}

static pqf_err emit_field(pqf_row_reader *rr, pqf__buf *b, int node)
{
    if (rr->info[node].repetition == PQF_REPEATED)
        return emit_repeated(rr, b, node, INST_SELF);
    return emit_value(rr, b, node);
}

/* ---- row reader ------------------------------------------------------------------- */

static void close_streams(pqf_row_reader *rr)
{
    for (int l = 0; l < rr->nleaves; l++) {
        pqf_column_free(rr->ls[l].c);
        rr->ls[l].c = NULL;
        rr->ls[l].open = false;
    }
}

void pqf_row_reader_free(pqf_row_reader *rr)
{
    if (!rr)
        return;
    if (rr->ls)
        close_streams(rr);
    free(rr->ls);
    free(rr->info);
    free(rr->lo);
    free(rr->hi);
    free(rr->fields);
    free(rr->want_leaf);
    pqf__buf_free(&rr->line);
    pqf__buf_free(&rr->header);
    pqf__buf_free(&rr->scratch);
    free(rr);
}

static pqf_err csv_field(pqf_row_reader *rr, pqf__buf *b, const uint8_t *s, size_t n)
{
    bool q = false;
    for (size_t i = 0; i < n && !q; i++)
        q = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!q) {
        OUT(b, s, n);
        return PQF_OK;
    }
    OUTC(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            OUTC(b, '"');
        OUTC(b, s[i]);
    }
    OUTC(b, '"');
    return PQF_OK;
}

pqf_err pqf_row_reader_open(pqf_reader *r, const pqf_row_opts *opts, pqf_row_reader **out,
                            pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_row_reader *rr = calloc(1, sizeof *rr);
    *out = NULL;
    if (!rr)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    rr->r = r;
    rr->format = opts ? opts->format : PQF_ROW_JSON;
    if (opts && opts->predicate) {
        rr->pred = *opts->predicate;
        rr->has_pred = true;
    }
    rr->nnodes = pqf_reader_node_count(r);
    rr->nleaves = pqf_reader_leaf_count(r);
    rr->rg = -1;
    pqf__buf_init(&rr->line, LINE_CAP);
    pqf__buf_init(&rr->header, LINE_CAP);
    pqf__buf_init(&rr->scratch, LINE_CAP);
    rr->info = calloc((size_t)rr->nnodes, sizeof *rr->info);
    rr->lo = calloc((size_t)rr->nnodes, sizeof *rr->lo);
    rr->hi = calloc((size_t)rr->nnodes, sizeof *rr->hi);
    rr->fields = calloc((size_t)rr->nnodes, sizeof *rr->fields);
    rr->want_leaf = calloc((size_t)rr->nleaves + 1, sizeof *rr->want_leaf);
    rr->ls = calloc((size_t)rr->nleaves + 1, sizeof *rr->ls);
    if (!rr->info || !rr->lo || !rr->hi || !rr->fields || !rr->want_leaf || !rr->ls)
        PQF_FAIL(&rr->err, PQF_ERR_NOMEM, "out of memory");
    for (int n = 0; n < rr->nnodes; n++) {
        pqf_reader_node(r, n, &rr->info[n]);
        rr->lo[n] = rr->nleaves;
        rr->hi[n] = -1;
    }
    for (int l = 0; l < rr->nleaves; l++) {
        int n = pqf_reader_leaf_node(r, l);
        rr->ls[l].node = n;
        for (; n >= 0; n = rr->info[n].parent) {
            rr->lo[n] = PQF_MIN(rr->lo[n], l);
            rr->hi[n] = PQF_MAX(rr->hi[n], l + 1);
        }
    }
    if (opts && opts->columns && opts->ncolumns) {
        for (size_t i = 0; i < opts->ncolumns; i++) {
            int f = -1;
            for (int k = 0; k < rr->info[0].nchildren && f < 0; k++) {
                int c = pqf_reader_node_child(r, 0, k);
                if (strcmp(rr->info[c].name, opts->columns[i]) == 0)
                    f = c;
            }
            if (f < 0)
                PQF_FAIL(&rr->err, PQF_ERR_NOT_FOUND, "no top-level column '%s'", opts->columns[i]);
            rr->fields[rr->nfields++] = f;
            if (rr->nfields >= rr->nnodes)
                break;
        }
    } else {
        for (int k = 0; k < rr->info[0].nchildren; k++)
            rr->fields[rr->nfields++] = pqf_reader_node_child(r, 0, k);
    }
    for (int i = 0; i < rr->nfields; i++) {
        int f = rr->fields[i];
        for (int l = rr->lo[f]; l < rr->hi[f]; l++)
            rr->want_leaf[l] = true;
        if (i && pqf__buf_append_byte(&rr->header, ',') != PQF_OK)
            PQF_FAIL(&rr->err, PQF_ERR_LIMIT, "header too long");
        PQF_TRY(csv_field(rr, &rr->header, (const uint8_t *)rr->info[f].name,
                          strlen(rr->info[f].name)));
    }
    if (pqf__buf_cstr(&rr->header) != PQF_OK)
        PQF_FAIL(&rr->err, PQF_ERR_LIMIT, "header too long");
    if (rr->has_pred && (rr->pred.leaf < 0 || rr->pred.leaf >= rr->nleaves))
        PQF_FAIL(&rr->err, PQF_ERR_INVALID_ARG, "predicate names no column");
    *out = rr;
    rr = NULL;
done:
    if (rr && err)
        *err = rr->err;
    pqf_row_reader_free(rr);
    return rc;
}

const char *pqf_row_reader_header(pqf_row_reader *rr) { return (const char *)rr->header.data; }

/* End of a row group: every stream must be used up. */
static pqf_err check_rg_end(pqf_row_reader *rr)
{
    for (int l = 0; l < rr->nleaves; l++) {
        if (!rr->ls[l].c)
            continue;
        pqf_err rc = ls_fill(rr, l);
        if (rc != PQF_OK)
            return rc;
        if (!rr->ls[l].eof)
            return pqf_error_set(&rr->err, PQF_ERR_CORRUPT,
                                 "row group %d, column %s has values beyond the row group's %s",
                                 rr->rg, pqf_reader_leaf_path(rr->r, l), "rows");
    }
    return PQF_OK;
}

static pqf_err next_group(pqf_row_reader *rr, bool *eof)
{
    pqf_err rc = PQF_OK;
    *eof = false;
    if (rr->rg >= 0)
        PQF_TRY(check_rg_end(rr));
    close_streams(rr);
    for (;;) {
        rr->rg++;
        if (rr->rg >= pqf_reader_row_group_count(rr->r)) {
            *eof = true;
            goto done;
        }
        pqf_row_group_info gi = {0};
        pqf_reader_row_group(rr->r, rr->rg, &gi);
        if (gi.num_rows == 0)
            continue;
        if (rr->has_pred && !pqf_reader_row_group_may_match(rr->r, rr->rg, &rr->pred))
            continue;
        rr->rows_left = gi.num_rows;
        break;
    }
    for (int l = 0; l < rr->nleaves; l++) {
        if (!rr->want_leaf[l])
            continue;
        rc = pqf_column_open(rr->r, rr->rg, l, &rr->ls[l].c);
        if (rc != PQF_OK)
            PQF_TRY(from_reader(rr, rc));
        rr->ls[l].eof = false;
        rr->ls[l].pos = rr->ls[l].vpos = 0;
        memset(&rr->ls[l].b, 0, sizeof rr->ls[l].b);
    }
done:
    return rc;
}

pqf_err pqf_row_reader_next(pqf_row_reader *rr, const char **line, size_t *len)
{
    pqf_err rc = PQF_OK;
    pqf__buf *b = &rr->line;
    *line = NULL;
    *len = 0;
    while (rr->rows_left <= 0) {
        bool eof;
        PQF_TRY(next_group(rr, &eof));
        if (eof)
            goto done;
    }
    pqf__buf_reset(b);
    for (int l = 0; l < rr->nleaves; l++) {
        int d = 0, r = 0;
        if (!rr->ls[l].c)
            continue;
        PQF_TRY(ls_peek(rr, l, &d, &r));
        if (r != 0)
            PQF_FAIL(&rr->err, PQF_ERR_CORRUPT,
                     "row group %d, column %s: repetition levels disagree with other columns",
                     rr->rg, pqf_reader_leaf_path(rr->r, l));
    }
    if (rr->format == PQF_ROW_JSON)
        PQF_TRY(pqf__buf_append_byte(b, '{') == PQF_OK ? PQF_OK : oom(rr));
    for (int i = 0; i < rr->nfields; i++) {
        int f = rr->fields[i];
        const pqf_node_info *in = &rr->info[f];
        if (i)
            PQF_TRY(pqf__buf_append_byte(b, ',') == PQF_OK ? PQF_OK : oom(rr));
        if (rr->format == PQF_ROW_JSON) {
            PQF_TRY(json_string(rr, b, (const uint8_t *)in->name, strlen(in->name)));
            PQF_TRY(pqf__buf_append_byte(b, ':') == PQF_OK ? PQF_OK : oom(rr));
            PQF_TRY(emit_field(rr, b, f));
        } else {
            pqf__buf_reset(&rr->scratch);
            if (!in->is_group && in->repetition != PQF_REPEATED)
                PQF_TRY(emit_leaf(rr, &rr->scratch, f, false));
            else
                PQF_TRY(emit_field(rr, &rr->scratch, f));
            PQF_TRY(csv_field(rr, b, rr->scratch.data, rr->scratch.len));
        }
    }
    if (rr->format == PQF_ROW_JSON)
        PQF_TRY(pqf__buf_append_byte(b, '}') == PQF_OK ? PQF_OK : oom(rr));
    PQF_TRY(pqf__buf_cstr(b) == PQF_OK ? PQF_OK : oom(rr));
    rr->rows_left--;
    if (rr->rows_left == 0 && rr->rg + 1 >= pqf_reader_row_group_count(rr->r))
        PQF_TRY(check_rg_end(rr));
    *line = (const char *)b->data;
    *len = b->len;
done:
    return rc;
}
