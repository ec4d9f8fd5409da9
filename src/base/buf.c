#include "base/buf.h"
#include "base/hash.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pqf__buf_init(pqf__buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void pqf__buf_free(pqf__buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

pqf_err pqf__buf_reserve(pqf__buf *b, size_t n)
{
    if (n <= b->cap - b->len)
        return PQF_OK;
    if (n > b->limit || b->len > b->limit - n)
        return PQF_ERR_LIMIT;
    size_t want = b->len + n;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < want)
        ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
    if (ncap > b->limit)
        ncap = b->limit;
    uint8_t *p = realloc(b->data, ncap);
    if (!p)
        return PQF_ERR_NOMEM;
    b->data = p;
    b->cap = ncap;
    return PQF_OK;
}

pqf_err pqf__buf_append(pqf__buf *b, const void *p, size_t n)
{
    pqf_err rc = pqf__buf_reserve(b, n);
    if (rc != PQF_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return PQF_OK;
}

pqf_err pqf__buf_append_byte(pqf__buf *b, uint8_t c)
{
    return pqf__buf_append(b, &c, 1);
}

bool pqf__grow(void *pv, size_t n, size_t *cap, size_t elem, size_t first)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : first;
    if (nc < n + 1 || nc > SIZE_MAX / elem)
        return false;
    void *p = realloc(*(void **)pv, nc * elem);
    if (!p)
        return false;
    *(void **)pv = p;
    *cap = nc;
    return true;
}

static int b64v(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

pqf_err pqf__buf_append_base64(pqf__buf *b, const char *s, size_t n)
{
    size_t at = b->len;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        int v = b64v((unsigned char)s[i]);
        pqf_err rc = v < 0 ? PQF_ERR_VALUE : PQF_OK;
        acc = acc << 6 | (uint32_t)(v & 63);
        bits += 6;
        if (rc == PQF_OK && bits >= 8) {
            bits -= 8;
            rc = pqf__buf_append_byte(b, (uint8_t)(acc >> bits));
        }
        if (rc != PQF_OK) {
            b->len = at;
            return rc;
        }
    }
    return PQF_OK;
}

pqf_err pqf__buf_append_hex(pqf__buf *b, const uint8_t *p, size_t n)
{
    pqf_err rc = pqf__buf_reserve(b, 2 * n + 1);
    if (rc != PQF_OK)
        return rc;
    pqf__hex(p, n, (char *)b->data + b->len);
    b->len += 2 * n;
    return PQF_OK;
}

pqf_err pqf__buf_printf(pqf__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return PQF_ERR_INTERNAL;
    pqf_err rc = pqf__buf_reserve(b, (size_t)n + 1);
    if (rc != PQF_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return PQF_OK;
}

pqf_err pqf__buf_cstr(pqf__buf *b)
{
    pqf_err rc = pqf__buf_reserve(b, 1);
    if (rc != PQF_OK)
        return rc;
    b->data[b->len] = '\0';
    return PQF_OK;
}

uint8_t *pqf__buf_steal(pqf__buf *b, size_t *len)
{
    uint8_t *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
