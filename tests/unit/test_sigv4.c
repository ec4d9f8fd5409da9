/* SigV4 signer: every case of AWS's published test suite, read from
 * $PQF_SHARED/testdata/sigv4/ (../shared/testdata/sigv4 from the repo root).
 * This test reads ../shared/testdata: without it, the suite cases are
 * skipped (cmocka skip), the built-in S3 vectors still run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/hash.h"
#include "store/sigv4.h"

static const pqf__sigv4_creds suite_creds = {"AKIDEXAMPLE",
                                             "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};

typedef struct tcase {
    char dir[1024];
    char name[256];
} tcase;

static char *slurp(const char *dir, const char *name, const char *ext)
{
    char path[1600];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    char *data = NULL;
    size_t len;
    pqf_error e = {0};
    if (pqf__read_file(path, 1 << 20, &data, &len, &e) != PQF_OK)
        return NULL;
    /* The published files end without a newline; tolerate one. */
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        data[--len] = 0;
    return data;
}

/* Parse NAME.req: request line, headers (a line starting with blanks
 * continues the previous header's value, joined with ','), blank, body. */
typedef struct parsed {
    char method[16];
    char path[1024];
    char query[1024];
    pqf__sigv4_header h[32];
    char *names[32], *values[32];
    size_t nh;
    const char *body;
} parsed;

static int parse_req(char *req, parsed *p)
{
    memset(p, 0, sizeof *p);
    char *nl = strchr(req, '\n');
    if (!nl)
        return -1;
    *nl = 0;
    char *line = req, *rest = nl + 1;
    char *sp = strchr(line, ' ');
    char *http = strstr(line, " HTTP/");
    if (!sp || !http || http < sp)
        return -1;
    snprintf(p->method, sizeof p->method, "%.*s", (int)(sp - line), line);
    char target[1024];
    snprintf(target, sizeof target, "%.*s", (int)(http - sp - 1), sp + 1);
    char *q = strchr(target, '?');
    if (q) {
        *q = 0;
        snprintf(p->query, sizeof p->query, "%s", q + 1);
    }
    snprintf(p->path, sizeof p->path, "%s", target);
    p->body = "";
    for (char *l = rest; l && *l;) {
        char *e = strchr(l, '\n');
        if (e)
            *e = 0;
        if (*l == 0) {
            p->body = e ? e + 1 : "";
            break;
        }
        if ((*l == ' ' || *l == '\t') && p->nh) {
            char *v = l;
            while (*v == ' ' || *v == '\t')
                v++;
            char *old = p->values[p->nh - 1];
            size_t n = strlen(old) + strlen(v) + 2;
            char *nv = malloc(n);
            snprintf(nv, n, "%s,%s", old, v);
            free(old);
            p->values[p->nh - 1] = nv;
        } else {
            char *c = strchr(l, ':');
            if (!c || p->nh == 32)
                return -1;
            p->names[p->nh] = strndup(l, (size_t)(c - l));
            p->values[p->nh] = strdup(c + 1);
            p->nh++;
        }
        l = e ? e + 1 : NULL;
    }
    for (size_t i = 0; i < p->nh; i++) {
        p->h[i].name = p->names[i];
        p->h[i].value = p->values[i];
    }
    return 0;
}

static void free_parsed(parsed *p)
{
    for (size_t i = 0; i < p->nh; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
}

static void run_case(void **state)
{
    const tcase *tc = *state;
    char *req = slurp(tc->dir, tc->name, "req");
    char *creq = slurp(tc->dir, tc->name, "creq");
    char *sts = slurp(tc->dir, tc->name, "sts");
    char *authz = slurp(tc->dir, tc->name, "authz");
    assert_non_null(req);
    assert_non_null(creq);
    assert_non_null(sts);
    assert_non_null(authz);
    parsed p;
    assert_int_equal(parse_req(req, &p), 0);
    /* "-after": the session token header is added after signing. */
    size_t nh = p.nh;
    if (strstr(tc->name, "-after"))
        for (size_t i = 0; i < nh; i++)
            if (strcasecmp(p.h[i].name, "X-Amz-Security-Token") == 0)
                nh = i;
    char date[32] = "";
    for (size_t i = 0; i < p.nh; i++)
        if (strcasecmp(p.h[i].name, "X-Amz-Date") == 0)
            snprintf(date, sizeof date, "%s", p.h[i].value);
    uint8_t hash[32];
    char hex[65];
    pqf__sha256(p.body, strlen(p.body), hash);
    pqf__hex(hash, 32, hex);
    pqf__sigv4_req r = {.method = p.method,
                        .path = p.path,
                        .query = p.query,
                        .headers = p.h,
                        .nheaders = nh,
                        .payload_hash = hex,
                        .region = "us-east-1",
                        .service = "service",
                        .amz_date = date,
                        .normalize_path = true};
    pqf__buf a, c, s;
    pqf__buf_init(&a, 4096);
    pqf__buf_init(&c, 1 << 16);
    pqf__buf_init(&s, 4096);
    pqf_error e = {0};
    assert_int_equal(pqf__sigv4_sign(&r, &suite_creds, &a, &c, &s, &e), PQF_OK);
    pqf__buf_cstr(&a);
    pqf__buf_cstr(&c);
    pqf__buf_cstr(&s);
    assert_string_equal((char *)c.data, creq);
    /* Two published cases (post-x-www-form-urlencoded*) are inconsistent: their
     * .sts was hashed from a canonical request other than their .creq (without
     * content-length; "charset=utf8"). For those, check that our string to
     * sign is the one for the published .creq, and that signing the published
     * .sts gives the published signature. */
    char creq_hex[65];
    pqf__sha256(creq, strlen(creq), hash);
    pqf__hex(hash, 32, creq_hex);
    const char *sts_hash = strrchr(sts, '\n');
    if (sts_hash && strcmp(sts_hash + 1, creq_hex) == 0) {
        assert_string_equal((char *)s.data, sts);
        assert_string_equal((char *)a.data, authz);
    } else {
        print_message("# %s: published .sts does not hash the published .creq (suite erratum)\n",
                      tc->name);
        assert_non_null(strstr((char *)s.data, creq_hex));
        char sig[65];
        pqf__sigv4_signature(suite_creds.secret_access_key, date, "us-east-1", "service", sts,
                             strlen(sts), sig);
        const char *want = strstr(authz, "Signature=");
        assert_non_null(want);
        assert_string_equal(sig, want + 10);
    }
    pqf__buf_free(&a);
    pqf__buf_free(&c);
    pqf__buf_free(&s);
    free_parsed(&p);
    free(req);
    free(creq);
    free(sts);
    free(authz);
}

static void find_cases(const char *dir, tcase **v, size_t *n, size_t *cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[1024], req[1400];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        snprintf(req, sizeof req, "%s/%s.req", sub, e->d_name);
        if (stat(req, &st) == 0) {
            if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 64;
                *v = realloc(*v, *cap * sizeof **v);
            }
            snprintf((*v)[*n].dir, sizeof(*v)[*n].dir, "%s", sub);
            snprintf((*v)[*n].name, sizeof(*v)[*n].name, "%s", e->d_name);
            (*n)++;
        }
        find_cases(sub, v, n, cap);
    }
    closedir(d);
}

static int cmp_case(const void *a, const void *b)
{
    return strcmp(((const tcase *)a)->dir, ((const tcase *)b)->dir);
}

/* AWS S3 documentation example: GET /test.txt with a Range header. */
static void s3_get_object_example(void **state)
{
    (void)state;
    pqf__sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                             {"Range", "bytes=0-9"},
                             {"x-amz-content-sha256", PQF__SHA256_EMPTY},
                             {"x-amz-date", "20130524T000000Z"}};
    pqf__sigv4_creds c = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};
    pqf__sigv4_req r = {.method = "GET",
                        .path = "/test.txt",
                        .headers = h,
                        .nheaders = 4,
                        .payload_hash = PQF__SHA256_EMPTY,
                        .region = "us-east-1",
                        .service = "s3",
                        .amz_date = "20130524T000000Z"};
    pqf__buf a;
    pqf__buf_init(&a, 4096);
    pqf_error e = {0};
    assert_int_equal(pqf__sigv4_sign(&r, &c, &a, NULL, NULL, &e), PQF_OK);
    pqf__buf_cstr(&a);
    assert_string_equal(
        (char *)a.data,
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
        "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    pqf__buf_free(&a);
}

/* AWS S3 documentation example of a presigned URL. */
static void s3_presign_example(void **state)
{
    (void)state;
    pqf__sigv4_header h[] = {{"host", "examplebucket.s3.amazonaws.com"}};
    pqf__sigv4_creds c = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};
    pqf__sigv4_req r = {.method = "GET",
                        .path = "/test.txt",
                        .headers = h,
                        .nheaders = 1,
                        .region = "us-east-1",
                        .service = "s3",
                        .amz_date = "20130524T000000Z"};
    pqf__buf q;
    pqf__buf_init(&q, 4096);
    pqf_error e = {0};
    assert_int_equal(pqf__sigv4_presign(&r, &c, 86400, &q, &e), PQF_OK);
    pqf__buf_cstr(&q);
    assert_non_null(strstr((char *)q.data, "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f9953"
                                           "30da4c265957d157751f604d404"));
    assert_non_null(strstr((char *)q.data, "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524"));
    pqf__buf_free(&q);
}

/* S3 paths are signed as sent: no "//" collapsing, no dot resolution. */
static void s3_paths_are_not_normalised(void **state)
{
    (void)state;
    pqf__sigv4_header h[] = {{"host", "h"}, {"x-amz-date", "20150830T123600Z"}};
    pqf__sigv4_req r = {.method = "GET",
                        .path = "/b/a//b/./c d",
                        .headers = h,
                        .nheaders = 2,
                        .region = "us-east-1",
                        .service = "s3",
                        .amz_date = "20150830T123600Z",
                        .query = "list-type=2&prefix=a%2Fb&continuation-token=x+y/z="};
    pqf__buf a, c;
    pqf__buf_init(&a, 4096);
    pqf__buf_init(&c, 4096);
    pqf_error e = {0};
    assert_int_equal(pqf__sigv4_sign(&r, &suite_creds, &a, &c, NULL, &e), PQF_OK);
    pqf__buf_cstr(&c);
    assert_non_null(strstr((char *)c.data, "GET\n/b/a//b/./c%20d\n"));
    assert_non_null(
        strstr((char *)c.data, "\ncontinuation-token=x%2By%2Fz%3D&list-type=2&prefix=a%2Fb\n"));
    pqf__buf_free(&a);
    pqf__buf_free(&c);
}

/* A wrong secret gives a different signature (the test can fail). */
static void secret_changes_signature(void **state)
{
    (void)state;
    pqf__sigv4_header h[] = {{"host", "h"}};
    pqf__sigv4_req r = {.method = "GET",
                        .path = "/",
                        .headers = h,
                        .nheaders = 1,
                        .region = "us-east-1",
                        .service = "s3",
                        .amz_date = "20150830T123600Z"};
    pqf__sigv4_creds c2 = suite_creds;
    c2.secret_access_key = "wrong";
    pqf__buf a, b;
    pqf__buf_init(&a, 4096);
    pqf__buf_init(&b, 4096);
    assert_int_equal(pqf__sigv4_sign(&r, &suite_creds, &a, NULL, NULL, NULL), PQF_OK);
    assert_int_equal(pqf__sigv4_sign(&r, &c2, &b, NULL, NULL, NULL), PQF_OK);
    pqf__buf_cstr(&a);
    pqf__buf_cstr(&b);
    assert_string_not_equal((char *)a.data, (char *)b.data);
    assert_null(strstr((char *)b.data, "wrong"));
    pqf__buf_free(&a);
    pqf__buf_free(&b);
}

int main(void)
{
    const char *shared = getenv("PQF_SHARED");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/testdata/sigv4", shared ? shared : "../shared");
    tcase *cases = NULL;
    size_t n = 0, cap = 0;
    find_cases(dir, &cases, &n, &cap);
    if (n)
        qsort(cases, n, sizeof *cases, cmp_case);
    struct CMUnitTest *tests = calloc(n + 5, sizeof *tests);
    size_t k = 0;
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(s3_get_object_example);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(s3_presign_example);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(s3_paths_are_not_normalised);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(secret_changes_signature);
    if (n == 0) {
        /* cmocka's TAP output prints skips as "not ok ... # SKIP", which the
         * runner would count as failures: print the TAP skip ourselves. */
        printf("ok - sigv4 test suite # SKIP %s absent\n", dir);
        fflush(stdout);
    }
    for (size_t i = 0; i < n; i++)
        tests[k++] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, &cases[i]};
    int rc = _cmocka_run_group_tests("sigv4", tests, k, NULL, NULL);
    free(tests);
    free(cases);
    return rc;
}
