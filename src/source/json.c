/* Strict JSON parser and writer. Written by hand rather than with a library
 * because we need a tree in our own capped arena, exact number text (decimals
 * must not go through double), precise error positions, and speed on NDJSON;
 * the libraries available here (yajl/jansson/cJSON) miss one or another. */
#include "source/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

struct pqf__json_chunk {
    pqf__json_chunk *next;
    size_t cap, used;
    max_align_t data[];
};

#define CHUNK_MIN (64u * 1024u)

void pqf__json_doc_init(pqf__json_doc *d, const pqf__json_limits *limits)
{
    memset(d, 0, sizeof *d);
    if (limits)
        d->lim = *limits;
    if (d->lim.max_depth <= 0)
        d->lim.max_depth = 64;
    if (d->lim.max_depth > 1000) /* the parser recurses */
        d->lim.max_depth = 1000;
    if (!d->lim.max_string)
        d->lim.max_string = 16u << 20;
    if (!d->lim.max_number)
        d->lim.max_number = 128;
    if (!d->lim.max_arena)
        d->lim.max_arena = 256u << 20;
}

void pqf__json_doc_reset(pqf__json_doc *d)
{
    pqf__json_chunk *keep = NULL;
    pqf__json_chunk *c = d->chunks;
    while (c) {
        pqf__json_chunk *n = c->next;
        if (!keep && c->cap == CHUNK_MIN) {
            keep = c;
            keep->next = NULL;
            keep->used = 0;
        } else {
            free(c);
        }
        c = n;
    }
    d->chunks = keep;
    d->used = 0;
    pqf_error_clear(&d->err);
}

void pqf__json_doc_free(pqf__json_doc *d)
{
    pqf__json_chunk *c = d->chunks;
    while (c) {
        pqf__json_chunk *n = c->next;
        free(c);
        c = n;
    }
    d->chunks = NULL;
    d->used = 0;
}

static void *arena_alloc(pqf__json_doc *d, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (n > d->lim.max_arena || d->used > d->lim.max_arena - n)
        return NULL;
    pqf__json_chunk *c = d->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        if (cap == CHUNK_MIN || !d->chunks) {
            c->next = d->chunks;
            d->chunks = c;
        } else { /* a big one-off: keep the current chunk first for small allocations */
            c->next = d->chunks->next;
            d->chunks->next = c;
            c->used = n;
            d->used += n;
            return (char *)c->data;
        }
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    d->used += n;
    return p;
}

/* ---- parser ------------------------------------------------------------------ */

typedef struct parser {
    pqf__json_doc *d;
    const char *s, *e, *p;
    const char *line_start;
    uint32_t line;
} parser;

static pqf_err perr(parser *ps, pqf_err code, const char *what)
{
    pqf_error_set(&ps->d->err, code, "line %u, column %zu: %s", ps->line,
                  (size_t)(ps->p - ps->line_start) + 1, what);
    return code;
}

static void skip_ws(parser *ps)
{
    const char *p = ps->p, *e = ps->e;
    while (p < e) {
        char c = *p;
        if (c == ' ' || c == '\t' || c == '\r') {
            p++;
        } else if (c == '\n') {
            p++;
            ps->line++;
            ps->line_start = p;
        } else {
            break;
        }
    }
    ps->p = p;
}

static pqf__json *new_node(parser *ps, pqf__jtype t)
{
    pqf__json *n = arena_alloc(ps->d, sizeof *n);
    if (!n)
        return NULL;
    memset(n, 0, sizeof *n);
    n->type = t;
    n->line = ps->line;
    return n;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int h;
        if (c >= '0' && c <= '9')
            h = c - '0';
        else if (c >= 'a' && c <= 'f')
            h = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            h = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | h;
    }
    return v;
}

int pqf__json_u_escape(const char *p, const char *e, uint32_t *cp)
{
    int h = e - p >= 4 ? hex4(p) : -1;
    if (h < 0)
        return -1;
    uint32_t c = (uint32_t)h;
    int used = 4;
    if (c >= 0xD800 && c <= 0xDBFF) {
        p += 4;
        int lo = (e - p >= 6 && p[0] == '\\' && p[1] == 'u') ? hex4(p + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return -2;
        used += 6;
        c = 0x10000 + ((c - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
    } else if (c >= 0xDC00 && c <= 0xDFFF) {
        return -2;
    }
    *cp = c;
    return used;
}

size_t pqf__utf8_put(char *w, uint32_t cp)
{
    if (cp < 0x80) {
        w[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (char)(0xC0 | cp >> 6);
        w[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        w[0] = (char)(0xE0 | cp >> 12);
        w[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        w[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    w[0] = (char)(0xF0 | cp >> 18);
    w[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    w[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    w[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of a valid UTF-8 sequence at p (< e), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *e)
{
    unsigned c = p[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(e - p) < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* At the opening quote. Decodes into the arena. */
static pqf_err parse_string(parser *ps, const char **out, uint32_t *out_len)
{
    const char *p = ps->p + 1, *e = ps->e;
    /* find the closing quote, validating as we go */
    const char *q = p;
    bool esc = false;
    while (q < e && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c == '\\') {
            esc = true;
            q += 2;
            continue;
        }
        if (c < 0x20) {
            ps->p = q;
            return perr(ps, PQF_ERR_PARSE, "control character in a string");
        }
        if (c >= 0x80) {
            size_t k = utf8_seq((const unsigned char *)q, (const unsigned char *)e);
            if (!k) {
                ps->p = q;
                return perr(ps, PQF_ERR_PARSE, "invalid UTF-8 in a string");
            }
            q += k;
            continue;
        }
        q++;
    }
    if (q >= e)
        return perr(ps, PQF_ERR_PARSE, "unterminated string");
    size_t raw = (size_t)(q - p);
    if (raw / 6 > ps->d->lim.max_string) /* escapes shrink at most 6:1 */
        return perr(ps, PQF_ERR_LIMIT, "string too long");
    char *w = arena_alloc(ps->d, raw + 1);
    if (!w)
        return perr(ps, PQF_ERR_LIMIT, "document too large");
    char *w0 = w;
    if (!esc) {
        memcpy(w, p, raw);
        w += raw;
    } else {
        const char *r = p;
        while (r < q) {
            if (*r != '\\') {
                *w++ = *r++;
                continue;
            }
            r++;
            char c = *r++;
            switch (c) {
            case '"':
            case '\\':
            case '/':
                *w++ = c;
                break;
            case 'b':
                *w++ = '\b';
                break;
            case 'f':
                *w++ = '\f';
                break;
            case 'n':
                *w++ = '\n';
                break;
            case 'r':
                *w++ = '\r';
                break;
            case 't':
                *w++ = '\t';
                break;
            case 'u': {
                uint32_t cp;
                int used = pqf__json_u_escape(r, q, &cp);
                if (used < 0) {
                    ps->p = r - 2;
                    return perr(ps, PQF_ERR_PARSE,
                                used == -1 ? "bad \\u escape" : "lone surrogate in \\u escape");
                }
                r += used;
                w += pqf__utf8_put(w, cp);
                break;
            }
            default:
                ps->p = r - 2;
                return perr(ps, PQF_ERR_PARSE, "bad escape in a string");
            }
        }
    }
    *w = 0;
    if ((size_t)(w - w0) > ps->d->lim.max_string)
        return perr(ps, PQF_ERR_LIMIT, "string too long");
    *out = w0;
    *out_len = (uint32_t)(w - w0);
    ps->p = q + 1;
    return PQF_OK;
}

const char *pqf__json_number_scan(const char *p, const char *e, const char **end)
{
    const char *s = p;
    *end = s;
    if (p < e && *p == '-')
        p++;
    if (p == e || (unsigned)(*p - '0') > 9)
        return "invalid number";
    if (*p == '0') {
        p++;
        if (p < e && (unsigned)(*p - '0') <= 9) {
            *end = p;
            return "leading zero in a number";
        }
    } else {
        while (p < e && (unsigned)(*p - '0') <= 9)
            p++;
    }
    if (p < e && *p == '.') {
        p++;
        if (p == e || (unsigned)(*p - '0') > 9) {
            *end = p;
            return "digit expected after the decimal point";
        }
        while (p < e && (unsigned)(*p - '0') <= 9)
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p == e || (unsigned)(*p - '0') > 9) {
            *end = p;
            return "digit expected in the exponent";
        }
        while (p < e && (unsigned)(*p - '0') <= 9)
            p++;
    }
    *end = p;
    return NULL;
}

static pqf_err parse_number(parser *ps, pqf__json *n)
{
    const char *s = ps->p, *p, *e = ps->e;
    const char *why = pqf__json_number_scan(s, e, &p);
    if (why) {
        ps->p = p;
        return perr(ps, PQF_ERR_PARSE, why);
    }
    size_t len = (size_t)(p - s);
    if (len > ps->d->lim.max_number)
        return perr(ps, PQF_ERR_LIMIT, "number too long");
    char *t = arena_alloc(ps->d, len + 1);
    if (!t)
        return perr(ps, PQF_ERR_LIMIT, "document too large");
    memcpy(t, s, len);
    t[len] = 0;
    n->str = t;
    n->len = (uint32_t)len;
    ps->p = p;
    return PQF_OK;
}

static int key_cmp(const void *a, const void *b)
{
    const pqf__json *x = *(const pqf__json *const *)a, *y = *(const pqf__json *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

static bool has_duplicate_keys(const pqf__json *obj)
{
    if (obj->len < 2)
        return false;
    if (obj->len <= 16) {
        for (const pqf__json *a = obj->child; a; a = a->next)
            for (const pqf__json *b = a->next; b; b = b->next)
                if (a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0)
                    return true;
        return false;
    }
    const pqf__json **v = malloc(obj->len * sizeof *v);
    if (!v)
        return false; /* cannot check; the caller's lookups return the first */
    size_t i = 0;
    for (const pqf__json *a = obj->child; a; a = a->next)
        v[i++] = a;
    qsort(v, i, sizeof *v, key_cmp);
    bool dup = false;
    for (size_t k = 1; k < i && !dup; k++)
        dup = key_cmp(&v[k - 1], &v[k]) == 0;
    free(v);
    return dup;
}

static pqf_err parse_value(parser *ps, int depth, pqf__json **out);

static pqf_err parse_container(parser *ps, int depth, pqf__json *n, bool is_obj)
{
    pqf_err rc;
    char close = is_obj ? '}' : ']';
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->e && *ps->p == close) {
        ps->p++;
        return PQF_OK;
    }
    pqf__json **tail = &n->child;
    for (;;) {
        const char *key = NULL;
        uint32_t key_len = 0;
        if (is_obj) {
            if (ps->p >= ps->e || *ps->p != '"')
                return perr(ps, PQF_ERR_PARSE, "expected a string key");
            rc = parse_string(ps, &key, &key_len);
            if (rc != PQF_OK)
                return rc;
            skip_ws(ps);
            if (ps->p >= ps->e || *ps->p != ':')
                return perr(ps, PQF_ERR_PARSE, "expected ':' after an object key");
            ps->p++;
            skip_ws(ps);
        }
        pqf__json *child;
        rc = parse_value(ps, depth + 1, &child);
        if (rc != PQF_OK)
            return rc;
        if (is_obj) {
            child->key = key;
            child->key_len = key_len;
        }
        *tail = child;
        tail = &child->next;
        n->len++;
        skip_ws(ps);
        if (ps->p < ps->e && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            if (ps->p < ps->e && *ps->p == close)
                return perr(ps, PQF_ERR_PARSE, "trailing comma");
            continue;
        }
        if (ps->p < ps->e && *ps->p == close) {
            ps->p++;
            break;
        }
        return perr(ps, PQF_ERR_PARSE, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    if (is_obj && has_duplicate_keys(n))
        return perr(ps, PQF_ERR_PARSE, "duplicate key in an object");
    return PQF_OK;
}

static bool lit(parser *ps, const char *w, size_t n)
{
    if ((size_t)(ps->e - ps->p) < n || memcmp(ps->p, w, n) != 0)
        return false;
    ps->p += n;
    return true;
}

static pqf_err parse_value(parser *ps, int depth, pqf__json **out)
{
    if (ps->p >= ps->e)
        return perr(ps, PQF_ERR_PARSE, "unexpected end of input");
    pqf__json *n;
    char c = *ps->p;
    if ((c == '[' || c == '{') && depth > ps->d->lim.max_depth)
        return perr(ps, PQF_ERR_LIMIT, "nesting too deep");
    pqf__jtype t;
    switch (c) {
    case '{':
        t = PQF__JOBJ;
        break;
    case '[':
        t = PQF__JARR;
        break;
    case '"':
        t = PQF__JSTR;
        break;
    case 't':
    case 'f':
        t = PQF__JBOOL;
        break;
    case 'n':
        t = PQF__JNULL;
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            t = PQF__JNUM;
        else
            return perr(ps, PQF_ERR_PARSE, "unexpected character");
    }
    n = new_node(ps, t);
    if (!n)
        return perr(ps, PQF_ERR_LIMIT, "document too large");
    *out = n;
    switch (t) {
    case PQF__JOBJ:
    case PQF__JARR:
        return parse_container(ps, depth, n, t == PQF__JOBJ);
    case PQF__JSTR:
        return parse_string(ps, &n->str, &n->len);
    case PQF__JNUM:
        return parse_number(ps, n);
    case PQF__JBOOL:
        if (lit(ps, "true", 4)) {
            n->b = true;
            return PQF_OK;
        }
        if (lit(ps, "false", 5))
            return PQF_OK;
        return perr(ps, PQF_ERR_PARSE, "unexpected character");
    case PQF__JNULL:
        if (lit(ps, "null", 4))
            return PQF_OK;
        return perr(ps, PQF_ERR_PARSE, "unexpected character");
    }
    return PQF_ERR_INTERNAL;
}

pqf_err pqf__json_parse(pqf__json_doc *d, const char *text, size_t len, pqf__json **root)
{
    parser ps = {d, text, text + len, text, text, 1};
    *root = NULL;
    pqf_error_clear(&d->err);
    skip_ws(&ps);
    pqf__json *v = NULL;
    pqf_err rc = parse_value(&ps, 1, &v);
    if (rc != PQF_OK)
        return rc;
    skip_ws(&ps);
    if (ps.p != ps.e)
        return perr(&ps, PQF_ERR_PARSE, "unexpected text after the JSON value");
    *root = v;
    return PQF_OK;
}

const pqf__json *pqf__json_get(const pqf__json *obj, const char *key)
{
    if (!obj || obj->type != PQF__JOBJ)
        return NULL;
    size_t n = strlen(key);
    for (const pqf__json *c = obj->child; c; c = c->next)
        if (c->key_len == n && memcmp(c->key, key, n) == 0)
            return c;
    return NULL;
}

const pqf__json *pqf__json_at(const pqf__json *arr, size_t i)
{
    if (!arr || arr->type != PQF__JARR)
        return NULL;
    const pqf__json *c = arr->child;
    while (c && i--)
        c = c->next;
    return c;
}

const char *pqf__json_type_name(pqf__jtype t)
{
    static const char *names[] = {"null", "boolean", "number", "string", "array", "object"};
    return (unsigned)t < PQF_ARRAY_LEN(names) ? names[t] : "?";
}

/* ---- writer ------------------------------------------------------------------ */

pqf_err pqf__json_write_str(pqf__buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    pqf_err rc = pqf__buf_reserve(b, n + 2);
    if (rc != PQF_OK)
        return rc;
    b->data[b->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = pqf__buf_append(b, s + run, i - run);
        if (rc != PQF_OK)
            return rc;
        run = i + 1;
        char e[7] = {'\\', 0};
        size_t el = 2;
        switch (c) {
        case '"':
            e[1] = '"';
            break;
        case '\\':
            e[1] = '\\';
            break;
        case '\n':
            e[1] = 'n';
            break;
        case '\r':
            e[1] = 'r';
            break;
        case '\t':
            e[1] = 't';
            break;
        case '\b':
            e[1] = 'b';
            break;
        case '\f':
            e[1] = 'f';
            break;
        default:
            e[1] = 'u';
            e[2] = '0';
            e[3] = '0';
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            el = 6;
        }
        rc = pqf__buf_append(b, e, el);
        if (rc != PQF_OK)
            return rc;
    }
    rc = pqf__buf_append(b, s + run, n - run);
    if (rc != PQF_OK)
        return rc;
    return pqf__buf_append_byte(b, '"');
}

pqf_err pqf__json_write(pqf__buf *b, const pqf__json *v)
{
    pqf_err rc = PQF_OK;
    switch (v->type) {
    case PQF__JNULL:
        return pqf__buf_append(b, "null", 4);
    case PQF__JBOOL:
        return v->b ? pqf__buf_append(b, "true", 4) : pqf__buf_append(b, "false", 5);
    case PQF__JNUM:
        return pqf__buf_append(b, v->str, v->len);
    case PQF__JSTR:
        return pqf__json_write_str(b, v->str, v->len);
    case PQF__JARR:
    case PQF__JOBJ: {
        bool obj = v->type == PQF__JOBJ;
        PQF_TRY(pqf__buf_append_byte(b, obj ? '{' : '['));
        for (const pqf__json *c = v->child; c; c = c->next) {
            if (c != v->child)
                PQF_TRY(pqf__buf_append_byte(b, ','));
            if (obj) {
                PQF_TRY(pqf__json_write_str(b, c->key, c->key_len));
                PQF_TRY(pqf__buf_append_byte(b, ':'));
            }
            PQF_TRY(pqf__json_write(b, c));
        }
        PQF_TRY(pqf__buf_append_byte(b, obj ? '}' : ']'));
        break;
    }
    }
done:
    return rc;
}
