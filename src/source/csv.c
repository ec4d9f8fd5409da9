/* Buffered input and the CSV tokenizer (RFC 4180: quotes, doubled quotes,
 * delimiters and newlines inside quotes, CRLF; configurable delimiter, quote
 * and NULL marker).
 *
 * The scan of an unquoted field is a table lookup per byte with a sentinel at
 * the end of the buffer, which is as fast as memchr for the short fields of
 * typical tables and needs no bound check in the loop. Quoted fields use
 * memchr for the closing quote. Doubled quotes are removed in place once the
 * whole record is in the buffer (a record cut by the buffer end is re-scanned
 * from its start after the refill, so the bytes must still be pristine). */
#include "source/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- input ------------------------------------------------------------------- */

pqf_err pqf__input_open(pqf__input *in, const char *path, const void *mem, size_t len,
                        const char *name, size_t buffer, size_t max_cap, pqf_error *err)
{
    memset(in, 0, sizeof *in);
    in->fd = -1;
    if (buffer < 16)
        buffer = 16;
    if (max_cap < buffer)
        max_cap = buffer;
    snprintf(in->name, sizeof in->name, "%s", path ? path : name ? name : "input");
    if (path) {
        if (strcmp(path, "-") == 0) {
            in->fd = 0;
            snprintf(in->name, sizeof in->name, "<stdin>");
        } else {
            in->fd = open(path, O_RDONLY | O_CLOEXEC);
            if (in->fd < 0)
                return pqf__errno(err, "open", path);
            in->own_fd = true;
#ifdef POSIX_FADV_SEQUENTIAL
            (void)posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
        }
    } else {
        in->mem = mem;
        in->mem_len = len;
    }
    in->buf = malloc(buffer + 1 + PQF__INPUT_PAD);
    if (!in->buf) {
        pqf__input_close(in);
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory for the read buffer of %s",
                             in->name);
    }
    memset(in->buf + buffer + 1, 0, PQF__INPUT_PAD);
    in->cap = buffer;
    in->max_cap = max_cap;
    in->buf[0] = '\n';
    return PQF_OK;
}

pqf_err pqf__input_fill(pqf__input *in, size_t keep, pqf_error *err)
{
    if (keep > in->len)
        keep = in->len;
    if (keep > 0) {
        memmove(in->buf, in->buf + keep, in->len - keep);
        in->len -= keep;
        in->pos = in->pos >= keep ? in->pos - keep : 0;
        in->base += keep;
    }
    if (in->len == in->cap) {
        if (in->cap >= in->max_cap)
            return pqf_error_set(err, PQF_ERR_LIMIT,
                                 "%s: a record is longer than the limit of %zu bytes", in->name,
                                 in->max_cap);
        size_t ncap = in->cap * 2 > in->max_cap ? in->max_cap : in->cap * 2;
        char *nb = realloc(in->buf, ncap + 1 + PQF__INPUT_PAD);
        if (!nb)
            return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory reading %s", in->name);
        memset(nb + ncap + 1, 0, PQF__INPUT_PAD);
        in->buf = nb;
        in->cap = ncap;
    }
    while (!in->eof && in->len < in->cap) {
        size_t want = in->cap - in->len;
        if (in->fd < 0) {
            size_t n = in->mem_len - in->mem_pos;
            if (n > want)
                n = want;
            memcpy(in->buf + in->len, in->mem + in->mem_pos, n);
            in->mem_pos += n;
            in->len += n;
            if (in->mem_pos == in->mem_len)
                in->eof = true;
            break;
        }
        ssize_t n = read(in->fd, in->buf + in->len, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return pqf__errno(err, "read", in->name);
        if (n == 0) {
            in->eof = true;
            break;
        }
        in->len += (size_t)n;
        break; /* enough to make progress; pipes deliver less than asked */
    }
    in->buf[in->len] = '\n'; /* sentinel */
    return PQF_OK;
}

pqf_err pqf__input_next_line(pqf__input *in, uint64_t *line, const char **lp, const char **lep,
                             pqf_error *err)
{
    *lp = *lep = NULL;
    for (;;) {
        const char *p = in->buf + in->pos, *e = in->buf + in->len;
        const char *nl = p < e ? memchr(p, '\n', (size_t)(e - p)) : NULL;
        if (!nl && !in->eof) {
            pqf_err rc = pqf__input_fill(in, in->pos, err);
            if (rc != PQF_OK)
                return rc;
            continue;
        }
        if (!nl && p == e)
            return PQF_OK;
        const char *le = nl ? nl : e;
        in->pos = (size_t)(le - in->buf) + (nl ? 1 : 0);
        (*line)++;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q == le)
            continue;
        *lp = p;
        *lep = le;
        return PQF_OK;
    }
}

void pqf__input_close(pqf__input *in)
{
    if (in->own_fd && in->fd >= 0)
        close(in->fd);
    in->fd = -1;
    free(in->buf);
    in->buf = NULL;
}

void pqf_csv_opts_init(pqf_csv_opts *o)
{
    o->delimiter = ',';
    o->quote = '"';
    o->header = true;
    o->null_marker = "";
}

void pqf_source_opts_init(pqf_source_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = PQF_FORMAT_AUTO;
    pqf_csv_opts_init(&o->csv);
    o->buffer_bytes = 1u << 20;
    o->max_record_bytes = 64u << 20;
    o->max_fields = 16384;
    o->max_depth = 64;
    o->max_string_bytes = 16u << 20;
}

/* ---- tokenizer --------------------------------------------------------------- */

enum { SCAN_DONE, SCAN_MORE, SCAN_EOF, SCAN_ERR };

void pqf__csv_field_label(const pqf__csv *c, size_t i, char *buf, size_t cap)
{
    if (c->names && i < c->width)
        snprintf(buf, cap, "%zu (%s)", i + 1, c->names[i]);
    else
        snprintf(buf, cap, "%zu", i + 1);
}

static int scan_fail(pqf__csv *c, uint64_t line, size_t field, const char *what)
{
    char lab[160];
    pqf__csv_field_label(c, field, lab, sizeof lab);
    pqf_error_set(&c->err, PQF_ERR_PARSE, "%s:%llu: field %s: %s", c->in.name,
                  (unsigned long long)line, lab, what);
    return SCAN_ERR;
}

static int grow_fields(pqf__csv *c)
{
    if (c->fields_cap >= c->max_fields) {
        char msg[80];
        snprintf(msg, sizeof msg, "more than %zu fields in a record", c->max_fields);
        return scan_fail(c, c->line, c->max_fields - 1, msg);
    }
    size_t ncap = c->fields_cap ? c->fields_cap * 2 : 64;
    if (ncap > c->max_fields)
        ncap = c->max_fields;
    pqf__csv_field *nf = realloc(c->fields, ncap * sizeof *nf);
    if (!nf) {
        pqf_error_set(&c->err, PQF_ERR_NOMEM, "out of memory reading %s", c->in.name);
        return SCAN_ERR;
    }
    c->fields = nf;
    c->fields_cap = ncap;
    return SCAN_DONE;
}

#if defined(__SSE2__)
enum { SCAN_SLOW = 100, SCAN_CONT = 101 };

int pqf__csv_simd_override = -1;

/* The common record: no quote and no CR anywhere in it, scanned 64 bytes at a
 * time. Per block, three bit masks (delimiter or newline, newline, quote or
 * CR) come from SSE2 or AVX2 compares; the fields are the delimiter bits
 * before the block's first newline, so the loop per field has no branch but
 * its own, and there is one record-end test per block, not per field.
 * scan_bits returns SCAN_SLOW (having changed nothing but the field array)
 * when a quote or CR comes before the record's end: scan_record then does it
 * byte by byte. Loads stay inside the allocation: a block starts at or before
 * the sentinel '\n' at buf[len], and PQF__INPUT_PAD (64) bytes follow it. */
static inline __attribute__((always_inline)) int scan_bits(pqf__csv *c, bool at_eof, const char *p,
                                                           uint64_t dn, uint64_t nl, uint64_t st,
                                                           const char **sp, size_t *nfp)
{
    /* the bits before the record's end (all of them when it is not here) */
    const uint64_t lim = nl ? (nl & (0 - nl)) - 1 : ~0ull;
    if (st & lim)
        return SCAN_SLOW;
    uint64_t m = dn & lim;
    size_t nf = *nfp;
    const char *s = *sp;
    const size_t k = (size_t)__builtin_popcountll(m) + (nl != 0);
    while (PQF_UNLIKELY(nf + k > c->fields_cap)) {
        c->nfields = nf;
        if (grow_fields(c) != SCAN_DONE)
            return SCAN_ERR;
    }
    pqf__csv_field *fields = c->fields;
    while (m) {
        const char *q = p + __builtin_ctzll(m);
        m &= m - 1;
        pqf__csv_field *f = &fields[nf++];
        f->p = s;
        f->len = (uint32_t)(q - s);
        f->quoted = 0;
        s = q + 1;
    }
    *nfp = nf;
    *sp = s;
    if (!nl)
        return SCAN_CONT;
    const char *q = p + __builtin_ctzll(nl);
    pqf__csv_field *f = &fields[nf++];
    f->p = s;
    f->len = (uint32_t)(q - s);
    f->quoted = 0;
    const char *buf = c->in.buf, *end = buf + c->in.len;
    if (PQF_UNLIKELY(q == end)) { /* the sentinel */
        if (!at_eof)
            return SCAN_MORE;
        c->in.pos = (size_t)(end - buf);
    } else {
        c->in.pos = (size_t)(q + 1 - buf);
    }
    c->nfields = nf;
    c->next_line = c->line + 1;
    return SCAN_DONE;
}

static inline uint64_t mask16(__m128i x, __m128i v)
{
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, v));
}

static int scan_record_sse2(pqf__csv *c, bool at_eof)
{
    const char *p = c->in.buf + c->in.pos, *s = p;
    const __m128i vd = _mm_set1_epi8(c->delim), vn = _mm_set1_epi8('\n');
    const __m128i vq = _mm_set1_epi8(c->quote), vr = _mm_set1_epi8('\r');
    size_t nf = 0;
    for (;;) {
        uint64_t d = 0, n = 0, st = 0;
        for (int i = 0; i < 4; i++) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
            d |= mask16(x, vd) << (16 * i);
            n |= mask16(x, vn) << (16 * i);
            st |= (mask16(x, vq) | mask16(x, vr)) << (16 * i);
        }
        int r = scan_bits(c, at_eof, p, d | n, n, st, &s, &nf);
        if (r != SCAN_CONT)
            return r;
        p += 64;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PQF_CSV_AVX2 1

__attribute__((target("avx2"))) static inline uint64_t mask32x2(__m256i a, __m256i b, __m256i v)
{
    uint32_t lo = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, v));
    uint32_t hi = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, v));
    return (uint64_t)hi << 32 | lo;
}

__attribute__((target("avx2"))) static int scan_record_avx2(pqf__csv *c, bool at_eof)
{
    const char *p = c->in.buf + c->in.pos, *s = p;
    const __m256i vd = _mm256_set1_epi8(c->delim), vn = _mm256_set1_epi8('\n');
    const __m256i vq = _mm256_set1_epi8(c->quote), vr = _mm256_set1_epi8('\r');
    size_t nf = 0;
    for (;;) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
        uint64_t n = mask32x2(a, b, vn);
        uint64_t d = mask32x2(a, b, vd);
        uint64_t st = mask32x2(a, b, vq) | mask32x2(a, b, vr);
        int r = scan_bits(c, at_eof, p, d | n, n, st, &s, &nf);
        if (r != SCAN_CONT)
            return r;
        p += 64;
    }
}
#endif

/* The scanner for this CPU: 2 AVX2, 1 SSE2; pqf__csv_simd_override (tests)
 * picks one, 0 none (byte by byte). */
static uint8_t simd_level(void)
{
    int want = pqf__csv_simd_override;
    int have = 1;
#ifdef PQF_CSV_AVX2
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        have = 2;
#endif
    if (want >= 0 && want < have)
        have = want;
    return (uint8_t)have;
}
#else
int pqf__csv_simd_override = -1;
static uint8_t simd_level(void)
{
    return 0;
}
#endif

/* Scan one record starting at in.pos. On SCAN_DONE in.pos is past it. */
static int scan_record(pqf__csv *c, bool at_eof, bool *has_dq)
{
    char *buf = c->in.buf;
    const char *p = buf + c->in.pos;
    const char *end = buf + c->in.len;
    const unsigned char *special = c->special;
    const char delim = c->delim, quote = c->quote;
    size_t nf = 0;
    uint64_t nl = 0; /* newlines inside quoted fields */
    *has_dq = false;
    if (p == end)
        return at_eof ? SCAN_EOF : SCAN_MORE;
#if defined(__SSE2__)
    if (*p != quote && c->simd) {
        int r;
#ifdef PQF_CSV_AVX2
        if (c->simd == 2)
            r = scan_record_avx2(c, at_eof);
        else
#endif
            r = scan_record_sse2(c, at_eof);
        if (r != SCAN_SLOW)
            return r;
    }
#endif
    for (;;) {
        if (PQF_UNLIKELY(nf == c->fields_cap) && grow_fields(c) != SCAN_DONE)
            return SCAN_ERR;
        pqf__csv_field *f = &c->fields[nf++];
        if (*p == quote && p < end) {
            const char *q = p + 1;
            for (;;) {
                q = memchr(q, quote, (size_t)(end - q));
                if (!q) {
                    if (!at_eof)
                        return SCAN_MORE;
                    return scan_fail(c, c->line + nl, nf - 1, "unterminated quoted field");
                }
                if (q + 1 == end && !at_eof)
                    return SCAN_MORE;
                if (q + 1 < end && q[1] == quote) {
                    *has_dq = true;
                    q += 2;
                    continue;
                }
                break;
            }
            for (const char *x = p + 1; x < q; x++) {
                x = memchr(x, '\n', (size_t)(q - x));
                if (!x)
                    break;
                nl++;
            }
            f->p = p + 1;
            f->len = (uint32_t)(q - p - 1);
            f->quoted = 1;
            p = q + 1;
            if (p == end) {
                c->in.pos = (size_t)(p - buf);
                break; /* at_eof holds here */
            }
            if (*p == delim) {
                p++;
                continue;
            }
            if (*p == '\n') {
                p++;
                c->in.pos = (size_t)(p - buf);
                break;
            }
            if (*p == '\r') {
                if (p + 1 == end && !at_eof)
                    return SCAN_MORE;
                p++;
                if (p < end && *p == '\n')
                    p++;
                c->in.pos = (size_t)(p - buf);
                break;
            }
            return scan_fail(c, c->line + nl, nf - 1, "unexpected character after closing quote");
        }
        const char *s = p;
        while (!special[(unsigned char)*p])
            p++;
        f->p = s;
        f->len = (uint32_t)(p - s);
        f->quoted = 0;
        if (PQF_UNLIKELY(p == end)) {
            if (!at_eof)
                return SCAN_MORE;
            c->in.pos = (size_t)(p - buf);
            break;
        }
        if (*p == delim) {
            p++;
            continue;
        }
        if (*p == '\n') {
            p++;
            c->in.pos = (size_t)(p - buf);
            break;
        }
        /* '\r' */
        if (p + 1 == end && !at_eof)
            return SCAN_MORE;
        p++;
        if (p < end && *p == '\n')
            p++;
        c->in.pos = (size_t)(p - buf);
        break;
    }
    c->nfields = nf;
    c->next_line = c->line + 1 + nl;
    return SCAN_DONE;
}

static void unescape(pqf__csv *c)
{
    for (size_t i = 0; i < c->nfields; i++) {
        pqf__csv_field *f = &c->fields[i];
        if (!f->quoted || !memchr(f->p, c->quote, f->len))
            continue;
        char *w = (char *)f->p, *r = (char *)f->p, *e = r + f->len;
        while (r < e) {
            char ch = *r++;
            *w++ = ch;
            if (ch == c->quote)
                r++; /* skip the second of a doubled quote */
        }
        f->len = (uint32_t)(w - f->p);
    }
}

/* Read one raw record (header included). */
static pqf_err read_record(pqf__csv *c, bool *eof)
{
    *eof = false;
    for (;;) {
        c->line = c->next_line;
        bool dq;
        int r = scan_record(c, c->in.eof, &dq);
        if (r == SCAN_DONE) {
            if (dq)
                unescape(c);
            /* blank line: one empty unquoted field */
            if (c->nfields == 1 && c->fields[0].len == 0 && !c->fields[0].quoted &&
                c->width != 1) {
                c->line = c->next_line;
                continue;
            }
            return PQF_OK;
        }
        if (r == SCAN_EOF) {
            *eof = true;
            return PQF_OK;
        }
        if (r == SCAN_ERR)
            return c->err.code;
        /* SCAN_MORE: keep the record's bytes, read more */
        pqf_err rc = pqf__input_fill(&c->in, c->in.pos, &c->err);
        if (rc != PQF_OK) {
            if (rc == PQF_ERR_LIMIT)
                pqf_error_set(&c->err, PQF_ERR_LIMIT,
                              "%s:%llu: record longer than the limit of %zu bytes", c->in.name,
                              (unsigned long long)c->line, c->in.max_cap);
            return rc;
        }
    }
}

pqf_err pqf__csv_next(pqf__csv *c, bool *eof)
{
    pqf_err rc = read_record(c, eof);
    if (rc != PQF_OK || *eof)
        return rc;
    if (c->width == 0)
        c->width = c->nfields;
    if (PQF_UNLIKELY(c->nfields != c->width))
        return pqf_error_set(&c->err, PQF_ERR_PARSE, "%s:%llu: expected %zu fields, found %zu",
                             c->in.name, (unsigned long long)c->line, c->width, c->nfields);
    c->records++;
    return PQF_OK;
}

void pqf__csv_free(pqf__csv *c)
{
    if (!c)
        return;
    pqf__input_close(&c->in);
    if (c->names)
        for (size_t i = 0; i < c->width; i++)
            free(c->names[i]);
    free(c->names);
    free(c->fields);
    free(c->null_marker);
    free(c);
}

pqf_err pqf__csv_open(const char *path, const void *mem, size_t len, const char *name,
                      const pqf_csv_opts *opts, size_t buffer, size_t max_record,
                      size_t max_fields, pqf__csv **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_csv_opts defaults;
    pqf__csv *c = NULL;
    *out = NULL;
    if (!opts) {
        pqf_csv_opts_init(&defaults);
        opts = &defaults;
    }
    if (opts->delimiter == opts->quote || opts->delimiter == '\n' || opts->delimiter == '\r' ||
        opts->quote == '\n' || opts->quote == '\r' || opts->delimiter == 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "CSV delimiter and quote must differ and not be newlines");
    c = calloc(1, sizeof *c);
    if (!c)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    c->in.fd = -1;
    c->delim = opts->delimiter;
    c->quote = opts->quote;
    c->header = opts->header;
    c->simd = simd_level();
    c->max_fields = max_fields ? max_fields : 16384;
    /* field lengths are 32-bit; a record may grow to the larger of the two */
    if (max_record > UINT32_MAX || buffer > UINT32_MAX)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG,
                 "%s: CSV max_record_bytes %zu and buffer_bytes %zu must be at most %u",
                 path ? path : name ? name : "input", max_record, buffer, UINT32_MAX);
    c->line = c->next_line = 1;
    const char *nm = opts->null_marker ? opts->null_marker : "";
    c->null_marker = strdup(nm);
    if (!c->null_marker)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    c->null_len = strlen(nm);
    c->special[(unsigned char)c->delim] = 1;
    c->special['\n'] = 1;
    c->special['\r'] = 1;
    PQF_TRY(pqf__input_open(&c->in, path, mem, len, name, buffer, max_record, err));
    PQF_TRY(pqf__input_fill(&c->in, 0, err));
    if (c->in.len >= 3 && memcmp(c->in.buf, "\xEF\xBB\xBF", 3) == 0)
        c->in.pos = 3; /* UTF-8 byte order mark */
    if (c->header) {
        bool eof;
        rc = read_record(c, &eof);
        if (rc != PQF_OK) {
            pqf_error_set(err, rc, "%s", c->err.msg);
            goto done;
        }
        if (!eof) {
            c->width = c->nfields;
            c->names = calloc(c->width, sizeof *c->names);
            if (!c->names)
                PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
            for (size_t i = 0; i < c->width; i++) {
                c->names[i] = malloc((size_t)c->fields[i].len + 1);
                if (!c->names[i])
                    PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
                memcpy(c->names[i], c->fields[i].p, c->fields[i].len);
                c->names[i][c->fields[i].len] = 0;
            }
        }
    }
    *out = c;
    c = NULL;
done:
    pqf__csv_free(c);
    return rc;
}
