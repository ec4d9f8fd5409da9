/* AWS credential chain and profile files; see creds.h. */
#include "store/creds.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fsutil.h"

#define INI_LIMIT (1 << 20)
#define PROC_LIMIT (64 << 10)

void pqf__creds_clear(pqf__creds *c)
{
    if (!c)
        return;
    if (c->secret_access_key)
        memset(c->secret_access_key, 0, strlen(c->secret_access_key));
    free(c->access_key_id);
    free(c->secret_access_key);
    free(c->session_token);
    memset(c, 0, sizeof *c);
}

void pqf__profile_clear(pqf__profile *p)
{
    if (!p)
        return;
    free(p->region);
    free(p->endpoint_url);
    free(p->ca_bundle);
    memset(p, 0, sizeof *p);
}

static char *dupe(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* ---- INI files ------------------------------------------------------------------ */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

/* Value of key in [section] of an INI file: malloc'd, NULL when absent. */
static char *ini_get(const char *path, const char *section, const char *key)
{
    char *data = NULL, *val = NULL;
    size_t len;
    if (!path || pqf__read_file(path, INI_LIMIT, &data, &len, NULL) != PQF_OK)
        return NULL;
    bool in = false;
    for (char *line = strtok(data, "\n"); line && !val; line = strtok(NULL, "\n")) {
        char *l = trim(line);
        if (*l == '#' || *l == ';' || !*l)
            continue;
        if (*l == '[') {
            char *e = strchr(l, ']');
            if (e)
                *e = 0;
            in = strcmp(trim(l + 1), section) == 0;
            continue;
        }
        char *eq = strchr(l, '=');
        if (!in || !eq)
            continue;
        *eq = 0;
        if (strcmp(trim(l), key) == 0)
            val = dupe(trim(eq + 1));
    }
    if (data)
        memset(data, 0, len);
    free(data);
    return val;
}

static char *home_file(const char *env, const char *name)
{
    const char *p = getenv(env);
    if (p && *p)
        return strdup(p);
    const char *home = getenv("HOME");
    if (!home)
        return NULL;
    size_t n = strlen(home) + strlen(name) + 8;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/.aws/%s", home, name);
    return s;
}

static const char *profile_name(const char *opt)
{
    if (opt && *opt)
        return opt;
    const char *p = getenv("AWS_PROFILE");
    return p && *p ? p : "default";
}

/* Setting of a profile: ~/.aws/credentials [name] first, then ~/.aws/config
 * [profile name] ([default] for default). */
static char *profile_get(const char *profile, const char *key, bool creds_file)
{
    char *v = NULL;
    if (creds_file) {
        char *cf = home_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        v = ini_get(cf, profile, key);
        free(cf);
    }
    if (!v) {
        char *cfg = home_file("AWS_CONFIG_FILE", "config");
        char sect[300];
        if (strcmp(profile, "default") == 0)
            snprintf(sect, sizeof sect, "default");
        else
            snprintf(sect, sizeof sect, "profile %s", profile);
        v = ini_get(cfg, sect, key);
        free(cfg);
    }
    return v;
}

pqf_err pqf__profile_load(const char *profile, pqf__profile *out, pqf_error *err)
{
    (void)err;
    const char *name = profile_name(profile);
    memset(out, 0, sizeof *out);
    out->region = profile_get(name, "region", false);
    out->endpoint_url = profile_get(name, "endpoint_url", false);
    out->ca_bundle = profile_get(name, "ca_bundle", false);
    return PQF_OK;
}

/* ---- a minimal JSON string lookup ------------------------------------------------ */

/* Written by hand: only flat objects of strings from credential_process and
 * IMDS are read, and no JSON library is among our dependencies. Handles
 * escapes (\" \\ \/ \b \f \n \r \t, \u00XX as a byte). */
char *pqf__json_string(const char *json, const char *name)
{
    if (!json || !name)
        return NULL;
    size_t nl = strlen(name);
    const char *p = json;
    while ((p = strchr(p, '"'))) {
        p++;
        if (strncmp(p, name, nl) == 0 && p[nl] == '"') {
            const char *q = p + nl + 1;
            while (isspace((unsigned char)*q))
                q++;
            if (*q != ':')
                continue;
            q++;
            while (isspace((unsigned char)*q))
                q++;
            if (*q != '"')
                return NULL;
            q++;
            pqf__buf b;
            pqf__buf_init(&b, PROC_LIMIT);
            for (; *q && *q != '"'; q++) {
                char c = *q;
                if (c == '\\') {
                    q++;
                    switch (*q) {
                    case 'n':
                        c = '\n';
                        break;
                    case 't':
                        c = '\t';
                        break;
                    case 'r':
                        c = '\r';
                        break;
                    case 'b':
                        c = '\b';
                        break;
                    case 'f':
                        c = '\f';
                        break;
                    case 'u': {
                        unsigned v = 0;
                        for (int i = 1; i <= 4; i++) {
                            char h = q[i];
                            if (!isxdigit((unsigned char)h)) {
                                pqf__buf_free(&b);
                                return NULL;
                            }
                            v = v * 16 + (unsigned)(isdigit((unsigned char)h)
                                                        ? h - '0'
                                                        : (tolower(h) - 'a' + 10));
                        }
                        q += 4;
                        c = (char)(v & 0xff);
                        break;
                    }
                    case 0:
                        pqf__buf_free(&b);
                        return NULL;
                    default:
                        c = *q;
                        break;
                    }
                }
                if (pqf__buf_append_byte(&b, (uint8_t)c) != PQF_OK) {
                    pqf__buf_free(&b);
                    return NULL;
                }
            }
            if (*q != '"' || pqf__buf_cstr(&b) != PQF_OK) {
                pqf__buf_free(&b);
                return NULL;
            }
            if (!b.data)
                return strdup("");
            return (char *)pqf__buf_steal(&b, NULL);
        }
    }
    return NULL;
}

/* "2024-01-01T00:00:00Z" -> Unix seconds; 0 when unparsable. */
static int64_t parse_iso8601(const char *s)
{
    struct tm tm = {0};
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    return (int64_t)timegm(&tm);
}

static pqf_err creds_from_json(const char *json, const char *token_field, pqf__creds *out,
                               const char *what, pqf_error *err)
{
    out->access_key_id = pqf__json_string(json, "AccessKeyId");
    out->secret_access_key = pqf__json_string(json, "SecretAccessKey");
    out->session_token = pqf__json_string(json, token_field);
    char *exp = pqf__json_string(json, "Expiration");
    out->expires = parse_iso8601(exp);
    free(exp);
    if (!out->access_key_id || !out->secret_access_key) {
        pqf__creds_clear(out);
        /* Never echo the output: it holds secrets. */
        return pqf_error_set(err, PQF_ERR_AUTH, "%s: output lacks AccessKeyId/SecretAccessKey",
                             what);
    }
    return PQF_OK;
}

static pqf_err run_process(const char *cmd, pqf__creds *out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf b;
    pqf__buf_init(&b, PROC_LIMIT);
    FILE *f = popen(cmd, "r");
    if (!f)
        return pqf_error_set(err, PQF_ERR_AUTH, "credential_process: cannot run it");
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (pqf__buf_append(&b, chunk, n) != PQF_OK) {
            rc = pqf_error_set(err, PQF_ERR_LIMIT, "credential_process: output over 64 KiB");
            break;
        }
    int st = pclose(f);
    if (rc == PQF_OK && (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0))
        rc = pqf_error_set(err, PQF_ERR_AUTH, "credential_process: exited with status %d",
                           st == -1 ? -1 : WEXITSTATUS(st));
    if (rc == PQF_OK && pqf__buf_cstr(&b) != PQF_OK)
        rc = pqf_error_set(err, PQF_ERR_LIMIT, "credential_process: output over 64 KiB");
    if (rc == PQF_OK)
        rc = creds_from_json((const char *)b.data, "SessionToken", out, "credential_process", err);
    if (b.data)
        memset(b.data, 0, b.len);
    pqf__buf_free(&b);
    return rc;
}

/* ---- IMDSv2 ------------------------------------------------------------------- */

static size_t imds_write(char *p, size_t sz, size_t n, void *ud)
{
    return pqf__buf_append(ud, p, sz * n) == PQF_OK ? sz * n : 0;
}

static bool imds_call(const char *url, const char *method, const char *hdr, pqf__buf *out)
{
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    long status = 0;
    if (!e)
        return false;
    pqf__buf_reset(out);
    h = curl_slist_append(h, hdr);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, imds_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    }
    bool ok = curl_easy_perform(e) == CURLE_OK &&
              curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200 &&
              pqf__buf_cstr(out) == PQF_OK;
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return ok;
}

static pqf_err from_imds(pqf__creds *out, pqf_error *err)
{
    pqf_err rc = PQF_ERR_AUTH;
    const char *dis = getenv("AWS_EC2_METADATA_DISABLED");
    if (dis && strcasecmp(dis, "true") == 0)
        return PQF_ERR_NOT_FOUND;
    const char *base = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (!base || !*base)
        base = "http://169.254.169.254";
    /* "http://host/" (as botocore wants it) and "http://host" alike. */
    int blen = (int)strnlen(base, 512);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    pqf__buf tok, body;
    pqf__buf_init(&tok, 4096);
    pqf__buf_init(&body, PROC_LIMIT);
    char url[1024], hdr[4200];
    snprintf(url, sizeof url, "%.*s/latest/api/token", blen, base);
    if (!imds_call(url, "PUT", "X-aws-ec2-metadata-token-ttl-seconds: 21600", &tok)) {
        rc = PQF_ERR_NOT_FOUND;
        goto done;
    }
    snprintf(hdr, sizeof hdr, "X-aws-ec2-metadata-token: %s", (char *)tok.data);
    snprintf(url, sizeof url, "%.*s/latest/meta-data/iam/security-credentials/", blen, base);
    if (!imds_call(url, "GET", hdr, &body)) {
        rc = PQF_ERR_NOT_FOUND;
        goto done;
    }
    char role[256];
    snprintf(role, sizeof role, "%s", trim((char *)body.data));
    char *nl = strchr(role, '\n');
    if (nl)
        *nl = 0;
    snprintf(url, sizeof url, "%.*s/latest/meta-data/iam/security-credentials/%s", blen, base,
             role);
    if (!imds_call(url, "GET", hdr, &body)) {
        rc = pqf_error_set(err, PQF_ERR_AUTH, "instance metadata: no credentials for the role");
        goto done;
    }
    rc = creds_from_json((char *)body.data, "Token", out, "instance metadata", err);
done:
    if (body.data)
        memset(body.data, 0, body.len);
    pqf__buf_free(&tok);
    pqf__buf_free(&body);
    return rc;
}

/* ---- the chain ----------------------------------------------------------------- */

pqf_err pqf__creds_resolve(const pqf_store_options *o, pqf__creds *out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char *proc = NULL;
    memset(out, 0, sizeof *out);
    if (o->access_key_id && *o->access_key_id) {
        out->access_key_id = dupe(o->access_key_id);
        out->secret_access_key = dupe(o->secret_access_key);
        out->session_token = dupe(o->session_token);
        out->source = "options";
        goto check;
    }
    /* An explicit profile wins over the environment's keys, as in the AWS CLI. */
    if (!(o->profile && *o->profile) && getenv("AWS_ACCESS_KEY_ID") &&
        *getenv("AWS_ACCESS_KEY_ID")) {
        out->access_key_id = dupe(getenv("AWS_ACCESS_KEY_ID"));
        out->secret_access_key = dupe(getenv("AWS_SECRET_ACCESS_KEY"));
        out->session_token = dupe(getenv("AWS_SESSION_TOKEN"));
        out->source = "environment";
        goto check;
    }
    const char *name = profile_name(o->profile);
    out->access_key_id = profile_get(name, "aws_access_key_id", true);
    if (out->access_key_id) {
        out->secret_access_key = profile_get(name, "aws_secret_access_key", true);
        out->session_token = profile_get(name, "aws_session_token", true);
        out->source = "profile";
        goto check;
    }
    proc = profile_get(name, "credential_process", true);
    if (proc) {
        PQF_TRY(run_process(proc, out, err));
        out->source = "credential_process";
        goto check;
    }
    rc = from_imds(out, err);
    if (rc == PQF_OK) {
        out->source = "instance metadata";
        goto check;
    }
    if (rc == PQF_ERR_NOT_FOUND)
        rc = pqf_error_set(err, PQF_ERR_AUTH,
                           "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                           "a profile in ~/.aws (profile '%s'), or run on EC2",
                           name);
    goto done;
check:
    if (!out->access_key_id || !out->secret_access_key)
        PQF_FAIL(err, PQF_ERR_AUTH, "credentials from %s lack a secret access key", out->source);
done:
    free(proc);
    if (rc != PQF_OK)
        pqf__creds_clear(out);
    return rc;
}
