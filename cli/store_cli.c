/* Store options and target resolution for the object commands. */
#include "store_cli.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

bool pqf_cli_is_s3(const char *uri)
{
    return strncmp(uri, "s3://", 5) == 0;
}

const char *pqf_cli_store_settings(const char *uri)
{
    const char *q = pqf_cli_is_s3(uri) ? strchr(uri, '?') : NULL;
    return q ? q + 1 : "";
}

pqf_err pqf_cli_store_open(const char *uri, const pqf_cli_store_args *a, pqf_store **out,
                           pqf_error *err)
{
    const char *q = pqf_cli_is_s3(uri) ? strchr(uri, '?') : NULL;
    char base[2048], params[2048];
    pqf_store_options o = a->opt;
    *out = NULL;
    if (!q)
        return pqf_store_open(uri, &a->opt, out, err);
    if ((size_t)(q - uri) >= sizeof base || strlen(q + 1) >= sizeof params)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "%.64s...: store URI too long", uri);
    snprintf(base, sizeof base, "%.*s", (int)(q - uri), uri);
    snprintf(params, sizeof params, "%s", q + 1);
    for (char *save = NULL, *kv = strtok_r(params, "&", &save); kv;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv || !eq[1])
            return pqf_error_set(err, PQF_ERR_INVALID_ARG,
                                 "%s: store setting '%s' is not name=value", base, kv);
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(kv, "profile") == 0)
            o.profile = v;
        else if (strcmp(kv, "region") == 0)
            o.region = v;
        else if (strcmp(kv, "endpoint-url") == 0)
            o.endpoint_url = v;
        else if (strcmp(kv, "ca-bundle") == 0)
            o.ca_bundle = v;
        else
            return pqf_error_set(err, PQF_ERR_INVALID_ARG,
                                 "%s: unknown store setting '%s' (profile, region, endpoint-url, "
                                 "ca-bundle)",
                                 base, kv);
    }
    return pqf_store_open(base, &o, out, err); /* copies the strings */
}

static const char *need(const char *cmd, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        pqf_cli_usage(cmd, "%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int pqf_cli_store_arg(const char *cmd, int argc, char **argv, int *i, pqf_cli_store_args *a)
{
    const char *o = argv[*i], *v;
    unsigned long long n;
#define VAL()                                                                                      \
    do {                                                                                           \
        v = need(cmd, argc, argv, i);                                                              \
        if (!v)                                                                                    \
            return -1;                                                                             \
    } while (0)
    if (strcmp(o, "--endpoint-url") == 0) {
        VAL();
        a->opt.endpoint_url = v;
    } else if (strcmp(o, "--region") == 0) {
        VAL();
        a->opt.region = v;
    } else if (strcmp(o, "--profile") == 0) {
        VAL();
        a->opt.profile = v;
    } else if (strcmp(o, "--ca-bundle") == 0) {
        VAL();
        a->opt.ca_bundle = v;
    } else if (strcmp(o, "--no-verify-ssl") == 0 || strcmp(o, "--insecure") == 0) {
        a->opt.insecure = true;
    } else if (strcmp(o, "--no-sign-request") == 0) {
        a->opt.no_sign = true;
    } else if (strcmp(o, "--sign-payload") == 0) {
        a->opt.sign_payload = true;
    } else if (strcmp(o, "--path-style") == 0) {
        a->opt.addressing = PQF_ADDR_PATH;
    } else if (strcmp(o, "--virtual-host") == 0) {
        a->opt.addressing = PQF_ADDR_VIRTUAL;
    } else if (strcmp(o, "--sse") == 0) {
        VAL();
        if (strcmp(v, "AES256") == 0)
            a->opt.sse = PQF_SSE_S3;
        else if (strcmp(v, "aws:kms") == 0)
            a->opt.sse = PQF_SSE_KMS;
        else
            return pqf_cli_usage(cmd, "--sse is AES256 or aws:kms"), -1;
    } else if (strcmp(o, "--sse-kms-key-id") == 0) {
        VAL();
        a->opt.sse = PQF_SSE_KMS;
        a->opt.sse_kms_key_id = v;
    } else if (strcmp(o, "--sse-kms-context") == 0) {
        VAL();
        a->opt.sse_kms_context = v;
    } else if (strcmp(o, "--sse-c-key-file") == 0) {
        VAL();
        a->opt.sse = PQF_SSE_C;
        a->opt.sse_c_key_file = v;
    } else if (strcmp(o, "--part-size") == 0 || strcmp(o, "--multipart-chunksize") == 0) {
        VAL();
        if (pqf_cli_parse_size(v, &n) != 0)
            return pqf_cli_usage(cmd, "bad size '%s'", v), -1;
        a->opt.part_size = n;
    } else if (strcmp(o, "--multipart-threshold") == 0) {
        VAL();
        if (pqf_cli_parse_size(v, &n) != 0)
            return pqf_cli_usage(cmd, "bad size '%s'", v), -1;
        a->opt.multipart_threshold = n;
    } else if (strcmp(o, "--concurrency") == 0 || strcmp(o, "--max-attempts") == 0 ||
               strcmp(o, "--read-timeout") == 0 || strcmp(o, "--connect-timeout") == 0 ||
               strcmp(o, "--retry-base-ms") == 0) {
        VAL();
        if (pqf_cli_parse_u64(v, &n) != 0 || n == 0 || n > 100000)
            return pqf_cli_usage(cmd, "bad number '%s' for %s", v, o), -1;
        if (o[2] == 'c' && o[3] == 'o' && o[4] == 'n' && o[5] == 'c')
            a->opt.concurrency = (unsigned)n;
        else if (o[2] == 'm')
            a->opt.max_attempts = (unsigned)n;
        else if (o[2] == 'r' && o[3] == 'e' && o[4] == 'a')
            a->opt.read_timeout_s = (unsigned)n;
        else if (o[2] == 'r')
            a->opt.retry_base_ms = (unsigned)n;
        else
            a->opt.connect_timeout_s = (unsigned)n;
    } else if (strcmp(o, "--json") == 0) {
        a->json = true;
    } else if (strcmp(o, "--recursive") == 0 || strcmp(o, "-r") == 0) {
        a->recursive = true;
    } else if (strcmp(o, "--quiet") == 0 || strcmp(o, "-q") == 0) {
        a->quiet = true;
    } else if (strcmp(o, "--no-progress") == 0) {
        a->progress = false;
    } else if (strcmp(o, "--version-id") == 0) {
        VAL();
        a->version_id = v;
    } else {
        return 0;
    }
#undef VAL
    return 1;
}

void pqf_cli_store_help(FILE *f)
{
    fprintf(f, "store options (as `aws s3`; unset ones come from AWS_* variables and ~/.aws):\n"
               "  --endpoint-url URL      S3 endpoint (also AWS_ENDPOINT_URL)\n"
               "  --region R  --profile P  --ca-bundle PEM\n"
               "  --no-verify-ssl         do not verify TLS certificates (insecure; warns)\n"
               "  --no-sign-request       anonymous requests\n"
               "  --sign-payload          plain HTTP: sign uploads' SHA-256 too\n"
               "  --path-style | --virtual-host   bucket addressing (default: auto)\n"
               "  --sse AES256|aws:kms  --sse-kms-key-id ID  --sse-kms-context JSON\n"
               "  --sse-c-key-file F      SSE-C with the 32-byte key in F\n"
               "  --part-size SIZE  --multipart-threshold SIZE  --concurrency N\n"
               "  --max-attempts N  --retry-base-ms N  --connect-timeout S  --read-timeout S\n"
               "  --version-id V  --json  --quiet\n");
}

pqf_err pqf_cli_target(const char *uri, const pqf_cli_store_args *a, pqf_store **store, char **key,
                       pqf_error *err)
{
    pqf_err rc = PQF_OK;
    *store = NULL;
    *key = NULL;
    if (pqf_cli_is_s3(uri)) {
        const char *b = uri + 5;
        const char *sl = strchr(b, '/');
        char root[80];
        size_t bl = sl ? (size_t)(sl - b) : strlen(b);
        if (bl >= sizeof root - 6)
            return pqf_error_set(err, PQF_ERR_INVALID_ARG, "%s: bucket name too long", uri);
        snprintf(root, sizeof root, "s3://%.*s", (int)bl, b);
        rc = pqf_store_open(root, &a->opt, store, err);
        if (rc == PQF_OK) {
            *key = strdup(sl ? sl + 1 : "");
            if (!*key)
                rc = pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
        }
        return rc;
    }
    const char *path = strncmp(uri, "file://", 7) == 0 ? uri + 7 : uri;
    char abs[PATH_MAX];
    if (path[0] == '/') {
        snprintf(abs, sizeof abs, "%s", path);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return pqf_error_set(err, PQF_ERR_IO, "getcwd failed");
        if ((size_t)snprintf(abs, sizeof abs, "%s/%s", cwd, path) >= sizeof abs)
            return pqf_error_set(err, PQF_ERR_LIMIT, "%s: path too long", uri);
    }
    /* Normalise: drop "." and empty segments, resolve "..". */
    char out[PATH_MAX] = "";
    size_t ol = 0;
    for (char *save = NULL, *seg = strtok_r(abs, "/", &save); seg;
         seg = strtok_r(NULL, "/", &save)) {
        if (strcmp(seg, ".") == 0)
            continue;
        if (strcmp(seg, "..") == 0) {
            char *s = strrchr(out, '/');
            ol = s ? (size_t)(s - out) : 0;
            out[ol] = 0;
            continue;
        }
        ol += (size_t)snprintf(out + ol, sizeof out - ol, "%s%s", ol ? "/" : "", seg);
        if (ol >= sizeof out)
            return pqf_error_set(err, PQF_ERR_LIMIT, "%s: path too long", uri);
    }
    size_t n = strlen(path);
    if (n && path[n - 1] == '/' && ol && ol + 1 < sizeof out) {
        out[ol++] = '/';
        out[ol] = 0;
    }
    rc = pqf_store_open("file:///", &a->opt, store, err);
    if (rc == PQF_OK) {
        *key = strdup(out);
        if (!*key)
            rc = pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    }
    return rc;
}

void pqf_cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void pqf_cli_time(long long ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}
