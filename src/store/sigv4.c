/* AWS Signature Version 4, after the AWS documentation's "Create a canonical
 * request" / "Create a string to sign" / "Calculate the signature" steps. */
#include "store/sigv4.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/hash.h"

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if ((expr) != PQF_OK)                                                                      \
            PQF_FAIL(err, PQF_ERR_LIMIT, "sigv4: request too large to sign");                      \
    } while (0)

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

pqf_err pqf__uri_encode(pqf__buf *out, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    pqf_err rc = PQF_OK;
    for (size_t i = 0; i < n && rc == PQF_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            rc = pqf__buf_append_byte(out, c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = pqf__buf_append(out, e, 3);
        }
    }
    return rc;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode %XX (invalid escapes stay literal), then encode strictly. */
static pqf_err reencode(pqf__buf *out, const char *s, size_t n)
{
    pqf_err rc = PQF_OK;
    pqf__buf tmp;
    pqf__buf_init(&tmp, n + 1);
    for (size_t i = 0; i < n && rc == PQF_OK; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            rc = pqf__buf_append_byte(&tmp, (uint8_t)(hexval(s[i + 1]) << 4 | hexval(s[i + 2])));
            i += 2;
        } else {
            rc = pqf__buf_append_byte(&tmp, (uint8_t)s[i]);
        }
    }
    if (rc == PQF_OK)
        rc = pqf__uri_encode(out, (const char *)tmp.data, tmp.len, false);
    pqf__buf_free(&tmp);
    return rc;
}

void pqf__amz_date(long long t, char out[17])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* ---- canonical URI ------------------------------------------------------------ */

static pqf_err canonical_uri(pqf__buf *out, const char *path, bool normalize)
{
    pqf_err rc = PQF_OK;
    if (!path || !*path)
        return pqf__buf_append_byte(out, '/');
    if (!normalize)
        return pqf__uri_encode(out, path, strlen(path), true);
    /* Resolve "." and "..", drop empty segments; keep a trailing slash. */
    size_t n = strlen(path);
    const char **seg = calloc(n + 1, sizeof *seg);
    size_t *len = calloc(n + 1, sizeof *len);
    size_t ns = 0;
    if (!seg || !len) {
        rc = PQF_ERR_NOMEM;
        goto done;
    }
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 1 && p[0] == '.') {
        } else if (l == 2 && p[0] == '.' && p[1] == '.') {
            if (ns)
                ns--;
        } else {
            seg[ns] = p;
            len[ns++] = l;
        }
        p += l;
    }
    for (size_t i = 0; i < ns && rc == PQF_OK; i++) {
        rc = pqf__buf_append_byte(out, '/');
        if (rc == PQF_OK)
            rc = pqf__uri_encode(out, seg[i], len[i], false);
    }
    if (rc == PQF_OK && (ns == 0 || path[n - 1] == '/'))
        rc = pqf__buf_append_byte(out, '/');
done:
    free(seg);
    free(len);
    return rc;
}

/* ---- canonical query ---------------------------------------------------------- */

typedef struct qparam {
    char *kv; /* "key=value", encoded */
    size_t klen;
} qparam;

static int qcmp(const void *a, const void *b)
{
    const qparam *x = a, *y = b;
    size_t m = PQF_MIN(x->klen, y->klen);
    int c = memcmp(x->kv, y->kv, m);
    if (c)
        return c;
    if (x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    return strcmp(x->kv + x->klen, y->kv + y->klen);
}

static pqf_err canonical_query(pqf__buf *out, const char *q)
{
    pqf_err rc = PQF_OK;
    qparam *ps = NULL;
    size_t np = 0;
    if (!q || !*q)
        return PQF_OK;
    size_t n = strlen(q);
    ps = calloc(n + 1, sizeof *ps);
    if (!ps)
        return PQF_ERR_NOMEM;
    for (const char *p = q; *p && rc == PQF_OK;) {
        const char *e = strchr(p, '&');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l) {
            const char *eq = memchr(p, '=', l);
            size_t kl = eq ? (size_t)(eq - p) : l;
            pqf__buf b;
            pqf__buf_init(&b, 3 * l + 2);
            rc = reencode(&b, p, kl);
            size_t klen = b.len;
            if (rc == PQF_OK)
                rc = pqf__buf_append_byte(&b, '=');
            if (rc == PQF_OK && eq)
                rc = reencode(&b, eq + 1, l - kl - 1);
            if (rc == PQF_OK)
                rc = pqf__buf_cstr(&b);
            if (rc == PQF_OK) {
                ps[np].klen = klen;
                ps[np++].kv = (char *)pqf__buf_steal(&b, NULL);
            }
            pqf__buf_free(&b);
        }
        p += l;
        if (*p == '&')
            p++;
    }
    if (rc == PQF_OK && np)
        qsort(ps, np, sizeof *ps, qcmp);
    for (size_t i = 0; i < np && rc == PQF_OK; i++) {
        if (i)
            rc = pqf__buf_append_byte(out, '&');
        if (rc == PQF_OK)
            rc = pqf__buf_append(out, ps[i].kv, strlen(ps[i].kv));
    }
    for (size_t i = 0; i < np; i++)
        free(ps[i].kv);
    free(ps);
    return rc;
}

/* ---- canonical headers -------------------------------------------------------- */

typedef struct hdr {
    char *name; /* lower case */
    const char *value;
    size_t idx;
} hdr;

static int hcmp(const void *a, const void *b)
{
    const hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static pqf_err append_trimmed(pqf__buf *out, const char *v)
{
    pqf_err rc = PQF_OK;
    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
        v++;
    bool space = false;
    for (; *v && rc == PQF_OK; v++) {
        if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
            space = true;
            continue;
        }
        if (space)
            rc = pqf__buf_append_byte(out, ' ');
        space = false;
        if (rc == PQF_OK)
            rc = pqf__buf_append_byte(out, (uint8_t)*v);
    }
    return rc;
}

/* Appends "name:value\n" lines to ch and "a;b" to sh. */
static pqf_err canonical_headers(const pqf__sigv4_header *h, size_t n, pqf__buf *ch, pqf__buf *sh)
{
    pqf_err rc = PQF_OK;
    hdr *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return PQF_ERR_NOMEM;
    for (size_t i = 0; i < n && rc == PQF_OK; i++) {
        v[i].name = strdup(h[i].name);
        v[i].value = h[i].value ? h[i].value : "";
        v[i].idx = i;
        if (!v[i].name)
            rc = PQF_ERR_NOMEM;
        for (char *p = v[i].name; p && *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    if (rc == PQF_OK && n)
        qsort(v, n, sizeof *v, hcmp);
    for (size_t i = 0; i < n && rc == PQF_OK; i++) {
        bool same = i > 0 && strcmp(v[i].name, v[i - 1].name) == 0;
        if (same) {
            rc = pqf__buf_append_byte(ch, ',');
        } else {
            if (i > 0)
                rc = pqf__buf_append(ch, "\n", 1);
            if (rc == PQF_OK && i > 0)
                rc = pqf__buf_append_byte(sh, ';');
            if (rc == PQF_OK)
                rc = pqf__buf_printf(sh, "%s", v[i].name);
            if (rc == PQF_OK)
                rc = pqf__buf_printf(ch, "%s:", v[i].name);
        }
        if (rc == PQF_OK)
            rc = append_trimmed(ch, v[i].value);
    }
    if (rc == PQF_OK && n)
        rc = pqf__buf_append(ch, "\n", 1);
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    return rc;
}

/* ---- signing ------------------------------------------------------------------ */

static void hmac(const void *key, size_t klen, const void *data, size_t n, uint8_t out[32])
{
    unsigned int ol = 32;
    HMAC(EVP_sha256(), key, (int)klen, data, n, out, &ol);
}

static void signing_key(const char *secret, const char *date8, const char *region,
                        const char *service, uint8_t out[32])
{
    char k0[300];
    int n = snprintf(k0, sizeof k0, "AWS4%s", secret);
    uint8_t a[32], b[32];
    hmac(k0, (size_t)(n < 0 ? 0 : PQF_MIN((size_t)n, sizeof k0 - 1)), date8, 8, a);
    hmac(a, 32, region, strlen(region), b);
    hmac(b, 32, service, strlen(service), a);
    hmac(a, 32, "aws4_request", 12, out);
    /* The secret-derived material lives on the stack only. */
    memset(k0, 0, sizeof k0);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
}

static pqf_err build_creq(const pqf__sigv4_req *r, const char *query, pqf__buf *creq, pqf__buf *sh)
{
    pqf_err rc = PQF_OK;
    pqf__buf ch;
    pqf__buf_init(&ch, 1 << 20);
    rc = pqf__buf_printf(creq, "%s\n", r->method);
    if (rc == PQF_OK)
        rc = canonical_uri(creq, r->path, r->normalize_path);
    if (rc == PQF_OK)
        rc = pqf__buf_append_byte(creq, '\n');
    if (rc == PQF_OK)
        rc = canonical_query(creq, query);
    if (rc == PQF_OK)
        rc = pqf__buf_append_byte(creq, '\n');
    if (rc == PQF_OK)
        rc = canonical_headers(r->headers, r->nheaders, &ch, sh);
    if (rc == PQF_OK)
        rc = pqf__buf_append(creq, ch.data, ch.len);
    if (rc == PQF_OK)
        rc = pqf__buf_append_byte(creq, '\n');
    if (rc == PQF_OK)
        rc = pqf__buf_append(creq, sh->data, sh->len);
    if (rc == PQF_OK)
        rc = pqf__buf_printf(creq, "\n%s", r->payload_hash ? r->payload_hash : PQF__SHA256_EMPTY);
    pqf__buf_free(&ch);
    return rc;
}

static pqf_err build_sts(const pqf__sigv4_req *r, const pqf__buf *creq, pqf__buf *sts)
{
    uint8_t h[32];
    char hex[65];
    pqf__sha256(creq->data, creq->len, h);
    pqf__hex(h, 32, hex);
    return pqf__buf_printf(sts, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", r->amz_date,
                           r->amz_date, r->region, r->service, hex);
}

void pqf__sigv4_signature(const char *secret, const char *date8, const char *region,
                          const char *service, const char *sts, size_t sts_len, char hex[65])
{
    uint8_t key[32], sig[32];
    signing_key(secret, date8, region, service, key);
    hmac(key, 32, sts, sts_len, sig);
    memset(key, 0, sizeof key);
    pqf__hex(sig, 32, hex);
}

static void signature(const pqf__sigv4_req *r, const pqf__sigv4_creds *c, const pqf__buf *sts,
                      char hex[65])
{
    pqf__sigv4_signature(c->secret_access_key, r->amz_date, r->region, r->service,
                         (const char *)sts->data, sts->len, hex);
}

pqf_err pqf__sigv4_sign(const pqf__sigv4_req *r, const pqf__sigv4_creds *c, pqf__buf *authz,
                        pqf__buf *creq_out, pqf__buf *sts_out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf creq, sts, sh;
    pqf__buf_init(&creq, 4 << 20);
    pqf__buf_init(&sts, 4096);
    pqf__buf_init(&sh, 64 << 10);
    if (!r->amz_date || strlen(r->amz_date) != 16)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "sigv4: bad X-Amz-Date");
    CHECK(build_creq(r, r->query, &creq, &sh));
    CHECK(build_sts(r, &creq, &sts));
    char sig[65];
    signature(r, c, &sts, sig);
    CHECK(pqf__buf_cstr(&sh));
    CHECK(pqf__buf_printf(authz,
                          "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, "
                          "SignedHeaders=%s, Signature=%s",
                          c->access_key_id, r->amz_date, r->region, r->service, (char *)sh.data,
                          sig));
    if (creq_out)
        CHECK(pqf__buf_append(creq_out, creq.data, creq.len));
    if (sts_out)
        CHECK(pqf__buf_append(sts_out, sts.data, sts.len));
done:
    pqf__buf_free(&creq);
    pqf__buf_free(&sts);
    pqf__buf_free(&sh);
    return rc;
}

pqf_err pqf__sigv4_presign(const pqf__sigv4_req *r, const pqf__sigv4_creds *c, unsigned expires,
                           pqf__buf *query_out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf q, creq, sts, sh, cred;
    pqf__buf_init(&q, 64 << 10);
    pqf__buf_init(&creq, 4 << 20);
    pqf__buf_init(&sts, 4096);
    pqf__buf_init(&sh, 64 << 10);
    pqf__buf_init(&cred, 1024);
    CHECK(pqf__buf_printf(&cred, "%s/%.8s/%s/%s/aws4_request", c->access_key_id, r->amz_date,
                          r->region, r->service));
    if (r->query && *r->query)
        CHECK(pqf__buf_printf(&q, "%s&", r->query));
    CHECK(pqf__buf_printf(&q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="));
    CHECK(pqf__uri_encode(&q, (const char *)cred.data, cred.len, false));
    CHECK(pqf__buf_printf(&q, "&X-Amz-Date=%s&X-Amz-Expires=%u", r->amz_date, expires));
    if (c->session_token && *c->session_token) {
        CHECK(pqf__buf_printf(&q, "&X-Amz-Security-Token="));
        CHECK(pqf__uri_encode(&q, c->session_token, strlen(c->session_token), false));
    }
    pqf__buf sh0;
    pqf__buf_init(&sh0, 4096);
    pqf__buf ch0;
    pqf__buf_init(&ch0, 1 << 16);
    rc = canonical_headers(r->headers, r->nheaders, &ch0, &sh0);
    if (rc == PQF_OK)
        rc = pqf__buf_printf(&q, "&X-Amz-SignedHeaders=");
    if (rc == PQF_OK)
        rc = pqf__uri_encode(&q, (const char *)sh0.data, sh0.len, false);
    pqf__buf_free(&sh0);
    pqf__buf_free(&ch0);
    CHECK(rc);
    CHECK(pqf__buf_cstr(&q));
    pqf__sigv4_req rr = *r;
    rr.payload_hash = PQF__UNSIGNED_PAYLOAD;
    CHECK(build_creq(&rr, (const char *)q.data, &creq, &sh));
    CHECK(build_sts(&rr, &creq, &sts));
    char sig[65];
    signature(&rr, c, &sts, sig);
    /* Emit the canonical form of the query, then the signature. */
    CHECK(canonical_query(query_out, (const char *)q.data));
    CHECK(pqf__buf_printf(query_out, "&X-Amz-Signature=%s", sig));
done:
    pqf__buf_free(&q);
    pqf__buf_free(&creq);
    pqf__buf_free(&sts);
    pqf__buf_free(&sh);
    pqf__buf_free(&cred);
    return rc;
}
