/* The security lint: rules over policy documents (IAM identity, S3 bucket,
 * KMS key, role trust), replication configurations, bucket settings and
 * credential files. Documents are parsed with the strict JSON parser
 * (src/source/json.h) under its caps; nothing here ever reads a secret's
 * value into a finding. Rule ids are stable: tests and users match on them
 * (docs/SECURITY.md lists them). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fsutil.h"
#include "pqfeed/security.h"
#include "security/sec_impl.h"
#include "source/json.h"

#define FILE_CAP (8u << 20)

/* ---- findings ------------------------------------------------------------------ */

struct pqf_findings {
    pqf_finding *v;
    size_t n, cap;
    bool oom;
};

pqf_findings *pqf_findings_new(void)
{
    return calloc(1, sizeof(pqf_findings));
}

void pqf_findings_free(pqf_findings *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free((char *)f->v[i].where);
        free((char *)f->v[i].what);
        free((char *)f->v[i].fix);
    }
    free(f->v);
    free(f);
}

size_t pqf_findings_count(const pqf_findings *f)
{
    return f ? f->n : 0;
}

const pqf_finding *pqf_findings_at(const pqf_findings *f, size_t i)
{
    return f && i < f->n ? &f->v[i] : NULL;
}

size_t pqf_findings_failures(const pqf_findings *f, pqf_severity min)
{
    size_t n = 0;
    for (size_t i = 0; f && i < f->n; i++)
        n += f->v[i].status == PQF_CHECK_FAIL && f->v[i].severity >= min;
    return n;
}

size_t pqf_findings_unsupported(const pqf_findings *f)
{
    size_t n = 0;
    for (size_t i = 0; f && i < f->n; i++)
        n += f->v[i].status == PQF_CHECK_UNSUPPORTED;
    return n;
}

const char *pqf_severity_name(pqf_severity s)
{
    static const char *const names[] = {"info", "low", "medium", "high", "critical"};
    return (unsigned)s < PQF_ARRAY_LEN(names) ? names[s] : "?";
}

const char *pqf_check_status_name(pqf_check_status s)
{
    static const char *const names[] = {"fail", "pass", "unsupported", "info"};
    return (unsigned)s < PQF_ARRAY_LEN(names) ? names[s] : "?";
}

/* rule must be a string literal (findings keep the pointer). */
static void add(pqf_findings *f, const char *rule, pqf_severity sev, pqf_check_status st,
                const char *where, const char *fix, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;
static void add(pqf_findings *f, const char *rule, pqf_severity sev, pqf_check_status st,
                const char *where, const char *fix, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (!pqf__grow(&f->v, f->n, &f->cap, sizeof *f->v, 32)) {
        f->oom = true;
        return;
    }
    pqf_finding *x = &f->v[f->n];
    x->rule = rule;
    x->severity = sev;
    x->status = st;
    x->where = strdup(where);
    x->what = strdup(what);
    x->fix = strdup(fix ? fix : "");
    if (!x->where || !x->what || !x->fix) {
        free((char *)x->where);
        free((char *)x->what);
        free((char *)x->fix);
        f->oom = true;
        return;
    }
    f->n++;
}

#define FAIL(f, rule, sev, where, fix, ...)                                                        \
    add(f, rule, sev, PQF_CHECK_FAIL, where, fix, __VA_ARGS__)

/* ---- JSON helpers ---------------------------------------------------------------- */

typedef const pqf__json jv;

static const char *str(jv *v)
{
    return v && v->type == PQF__JSTR ? v->str : NULL;
}

/* A string or an array of strings: call fn on each; stop when it returns true. */
typedef bool (*each_fn)(const char *s, void *ud);
static bool each_str(jv *v, each_fn fn, void *ud)
{
    if (!v)
        return false;
    if (v->type == PQF__JSTR)
        return fn(v->str, ud);
    if (v->type == PQF__JARR)
        for (jv *c = v->child; c; c = c->next)
            if (c->type == PQF__JSTR && fn(c->str, ud))
                return true;
    return false;
}

static bool is_str_ci(const char *s, void *ud)
{
    return strcasecmp(s, (const char *)ud) == 0;
}

static bool has_ci(jv *v, const char *s)
{
    return each_str(v, is_str_ci, (void *)s);
}

/* Condition value as a lower-case word: "false" for "false" or false. */
static bool cond_is(jv *v, const char *want)
{
    if (!v)
        return false;
    if (v->type == PQF__JBOOL)
        return strcmp(want, v->b ? "true" : "false") == 0;
    return has_ci(v, want);
}

/* The value of condition key k under any operator in ops (NULL-terminated). */
static jv *cond_get(jv *cond, const char *const *ops, const char *k)
{
    for (; *ops; ops++) {
        jv *op = NULL;
        for (jv *c = cond ? cond->child : NULL; c; c = c->next)
            if (c->type == PQF__JOBJ && strcasecmp(c->key, *ops) == 0)
                op = c;
        for (jv *c = op ? op->child : NULL; c; c = c->next)
            if (strcasecmp(c->key, k) == 0)
                return c;
    }
    return NULL;
}

static const char *account_of(const char *p, char out[13])
{
    /* arn:aws:iam::123456789012:role/x, arn:aws:sts::123456789012:..., or a bare id */
    const char *a = p;
    if (strncmp(p, "arn:", 4) == 0) {
        int colons = 0;
        for (a = p; *a && colons < 4; a++)
            colons += *a == ':';
    }
    size_t n = 0;
    while (n < 12 && isdigit((unsigned char)a[n]))
        n++;
    if (n != 12 || (a[12] && a[12] != ':'))
        return NULL;
    memcpy(out, a, 12);
    out[12] = 0;
    return out;
}

/* ---- policies ---------------------------------------------------------------------- */

static const char *const kind_names[] = {"policy", "IAM policy", "bucket policy", "KMS key policy",
                                         "trust policy"};

/* Actions a principal of another account may be granted: what native
 * replication and a pqfeed replicator reading the primary need. */
static const char *const cross_ok[] = {
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
    "s3:ObjectOwnerOverrideToBucketOwner",
    "s3:GetBucketVersioning",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:ListBucket",
    "s3:GetObjectVersionForReplication",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionTagging",
    "s3:GetReplicationConfiguration",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:DescribeKey",
};

typedef struct pol_state {
    pqf_policy_kind kind;
    const pqf_audit_ctx *ctx;
    pqf_findings *f;
    const char *doc;
    bool tls_deny, enc_deny, enc_aes_only, allows_put;
    bool key_pin;          /* a deny pins the KMS key id */
    char pinned_key[300];  /* ... to this one */
    char tls_partial[512]; /* a TLS deny that covers only some actions */
} pol_state;

static bool principal_wild(jv *p)
{
    if (!p)
        return false;
    if (p->type == PQF__JSTR)
        return strcmp(p->str, "*") == 0;
    return has_ci(pqf__json_get(p, "AWS"), "*");
}

static bool action_wild_any(const char *a, void *ud)
{
    (void)ud;
    return strchr(a, '*') || strchr(a, '?');
}

static bool covers_put(const char *a, void *ud)
{
    (void)ud;
    return strcmp(a, "*") == 0 || strcasecmp(a, "s3:*") == 0 ||
           strcasecmp(a, "s3:PutObject") == 0 || strcasecmp(a, "s3:Put*") == 0 ||
           strcasecmp(a, "s3:P*") == 0;
}

static bool covers_all(jv *actions, pqf_policy_kind kind)
{
    return has_ci(actions, "*") || has_ci(actions, kind == PQF_POLICY_KEY ? "kms:*" : "s3:*");
}

static void audit_deny(pol_state *ps, jv *s, const char *where)
{
    static const char *const bool_ops[] = {"Bool", "BoolIfExists", NULL};
    static const char *const ne_ops[] = {"StringNotEquals", "StringNotEqualsIfExists",
                                         "StringNotLike", "StringNotLikeIfExists", NULL};
    static const char *const null_ops[] = {"Null", NULL};
    jv *cond = pqf__json_get(s, "Condition");
    jv *act = pqf__json_get(s, "Action");
    bool resource_policy = ps->kind == PQF_POLICY_BUCKET || ps->kind == PQF_POLICY_KEY;
    bool everyone = !resource_policy || principal_wild(pqf__json_get(s, "Principal"));
    if (cond_is(cond_get(cond, bool_ops, "aws:SecureTransport"), "false") && everyone) {
        if (covers_all(act, ps->kind))
            ps->tls_deny = true;
        else
            snprintf(ps->tls_partial, sizeof ps->tls_partial, "%s", where);
    }
    if (!each_str(act, covers_put, NULL))
        return;
    jv *alg = cond_get(cond, ne_ops, "s3:x-amz-server-side-encryption");
    jv *nul = cond_get(cond, null_ops, "s3:x-amz-server-side-encryption");
    if ((alg || cond_is(nul, "true")) && everyone) {
        ps->enc_deny = true;
        if (alg && has_ci(alg, "AES256") && !has_ci(alg, "aws:kms"))
            ps->enc_aes_only = true;
    }
    jv *key = cond_get(cond, ne_ops, "s3:x-amz-server-side-encryption-aws-kms-key-id");
    if (key && everyone) {
        ps->key_pin = true;
        const char *k = key->type == PQF__JSTR ? key->str : str(pqf__json_at(key, 0));
        snprintf(ps->pinned_key, sizeof ps->pinned_key, "%s", k ? k : "");
    }
}

typedef struct cross_ctx {
    char bad[400];
    size_t n;
} cross_ctx;

static bool collect_not_ok(const char *a, void *ud)
{
    cross_ctx *c = ud;
    for (size_t i = 0; i < PQF_ARRAY_LEN(cross_ok); i++)
        if (strcasecmp(a, cross_ok[i]) == 0)
            return false;
    size_t l = strlen(c->bad);
    snprintf(c->bad + l, sizeof c->bad - l, "%s%s", l ? ", " : "", a);
    c->n++;
    return false;
}

typedef struct acct_ctx {
    const char *owner;
    char other[13];
    bool root;
} acct_ctx;

static bool find_other_account(const char *p, void *ud)
{
    acct_ctx *c = ud;
    char a[13];
    if (!account_of(p, a) || strcmp(a, c->owner) == 0)
        return false;
    snprintf(c->other, sizeof c->other, "%s", a);
    c->root = strstr(p, ":root") != NULL || strchr(p, ':') == NULL;
    return true;
}

static bool owner_root_only(const char *p, void *ud)
{
    /* true (stop) when p is NOT the owner's root */
    char a[13];
    const char *owner = ud;
    return !(account_of(p, a) && owner && strcmp(a, owner) == 0 && strstr(p, ":root"));
}

static void audit_allow(pol_state *ps, jv *s, const char *where)
{
    pqf_findings *f = ps->f;
    jv *pr = pqf__json_get(s, "Principal");
    jv *act = pqf__json_get(s, "Action");
    jv *res = pqf__json_get(s, "Resource");
    jv *cond = pqf__json_get(s, "Condition");
    bool has_cond = cond && cond->type == PQF__JOBJ && cond->len > 0;
    if (pqf__json_get(s, "NotAction"))
        FAIL(f, "allow-not-action", PQF_SEV_HIGH, where,
             "list the actions to allow in Action; NotAction grants every other action, "
             "including ones AWS adds later",
             "Allow with NotAction grants everything except the listed actions");
    if (pqf__json_get(s, "NotPrincipal"))
        FAIL(f, "allow-not-principal", PQF_SEV_HIGH, where,
             "name the principals in Principal; never Allow with NotPrincipal",
             "Allow with NotPrincipal grants every principal but the listed ones");
    if (pqf__json_get(s, "NotResource"))
        FAIL(f, "allow-not-resource", PQF_SEV_MEDIUM, where, "list the resources in Resource",
             "Allow with NotResource applies to every other resource");
    if (principal_wild(pr) && !has_cond)
        FAIL(f, "public-access", PQF_SEV_CRITICAL, where,
             "name the account or role ARNs that need access; keep S3 Block Public Access on",
             "Allow to Principal \"*\" with no condition: anyone on the internet");
    else if (principal_wild(pr))
        FAIL(f, "wildcard-principal", PQF_SEV_HIGH, where,
             "name the principals (role ARNs) instead of \"*\" restricted by conditions",
             "Allow to Principal \"*\", limited only by a condition");
    if (act && each_str(act, covers_put, NULL))
        ps->allows_put = true;
    if (has_ci(act, "*")) {
        FAIL(f, "wildcard-action", PQF_SEV_HIGH, where,
             "list only the actions the role uses (docs/SECURITY.md lists them per role)",
             "Action \"*\" grants every action of every service");
    } else if (act && each_str(act, action_wild_any, NULL)) {
        bool svc_all = has_ci(act, "s3:*") || has_ci(act, "kms:*") || has_ci(act, "iam:*") ||
                       has_ci(act, "sts:*");
        bool owner_admin = ps->kind == PQF_POLICY_KEY && has_ci(act, "kms:*") &&
                           !each_str(pqf__json_get(pr, "AWS"), owner_root_only,
                                     (void *)(ps->ctx ? ps->ctx->account : NULL)) &&
                           ps->ctx && ps->ctx->account;
        FAIL(f, "wildcard-action", svc_all && !owner_admin ? PQF_SEV_HIGH : PQF_SEV_MEDIUM, where,
             "list only the actions the role uses (docs/SECURITY.md lists them per role)",
             "Action with a wildcard (%s)", svc_all ? "a whole service" : "a family of actions");
    }
    if (ps->kind != PQF_POLICY_KEY && ps->kind != PQF_POLICY_TRUST &&
        (has_ci(res, "*") || has_ci(res, "arn:aws:s3:::*")))
        FAIL(f, "wildcard-resource", PQF_SEV_HIGH, where,
             "name the bucket and the feed's prefix (arn:aws:s3:::BUCKET/PREFIX*)",
             "Allow on every resource (\"*\")");
    /* cross-account grants */
    const char *owner = ps->ctx ? ps->ctx->account : NULL;
    acct_ctx ac = {.owner = owner};
    if (owner && ps->kind != PQF_POLICY_IDENTITY &&
        each_str(pqf__json_get(pr, "AWS"), find_other_account, &ac)) {
        if (ps->kind == PQF_POLICY_TRUST) {
            static const char *const eq_ops[] = {"StringEquals", "StringLike", NULL};
            if (!cond_get(cond, eq_ops, "sts:ExternalId") && !has_cond)
                FAIL(f, "cross-account-trust", PQF_SEV_MEDIUM, where,
                     "trust one role ARN of the other account and require sts:ExternalId or "
                     "aws:PrincipalArn",
                     "account %s may assume this role with no condition", ac.other);
        } else {
            cross_ctx cc = {{0}, 0};
            each_str(act, collect_not_ok, &cc);
            if (cc.n || pqf__json_get(s, "NotAction"))
                FAIL(f, "cross-account-wide", PQF_SEV_HIGH, where,
                     "grant another account only what replication needs (s3:Replicate*, "
                     "s3:ObjectOwnerOverrideToBucketOwner, s3:GetBucketVersioning; reads: "
                     "s3:GetObject, s3:GetObjectVersion, s3:ListBucket; kms:Decrypt/Encrypt/"
                     "GenerateDataKey)",
                     "account %s is granted more than replication needs: %s", ac.other,
                     cc.n ? cc.bad : "NotAction");
            else if (ac.root)
                FAIL(f, "cross-account-wide", PQF_SEV_MEDIUM, where,
                     "name the replication or replicator role ARN, not the whole account",
                     "the whole account %s (every principal it delegates to) is granted access",
                     ac.other);
        }
    }
    if (ps->kind == PQF_POLICY_TRUST) {
        static const char *const src_ops[] = {"StringEquals", "StringLike", "ArnEquals", "ArnLike",
                                              NULL};
        jv *svc = pqf__json_get(pr, "Service");
        if (svc && !cond_get(cond, src_ops, "aws:SourceAccount") &&
            !cond_get(cond, src_ops, "aws:SourceArn"))
            FAIL(f, "confused-deputy", PQF_SEV_MEDIUM, where,
                 "add Condition StringEquals aws:SourceAccount (and ArnEquals aws:SourceArn "
                 "the source bucket)",
                 "a service may assume this role on behalf of any account");
    }
}

static void audit_statements(pol_state *ps, jv *stmts)
{
    size_t i = 0;
    for (jv *s = stmts->type == PQF__JARR ? stmts->child : stmts; s;
         s = stmts->type == PQF__JARR ? s->next : NULL, i++) {
        char where[512];
        const char *sid = str(pqf__json_get(s, "Sid"));
        snprintf(where, sizeof where, "%s: statement %zu%s%s%s", ps->doc, i + 1,
                 sid ? " (Sid " : "", sid ? sid : "", sid ? ")" : "");
        const char *eff = str(pqf__json_get(s, "Effect"));
        if (s->type != PQF__JOBJ || !eff) {
            FAIL(ps->f, "invalid-policy", PQF_SEV_HIGH, where, "give every statement an Effect",
                 "a statement without Effect");
        } else if (strcmp(eff, "Deny") == 0) {
            audit_deny(ps, s, where);
        } else if (strcmp(eff, "Allow") == 0) {
            audit_allow(ps, s, where);
        } else {
            FAIL(ps->f, "invalid-policy", PQF_SEV_HIGH, where, "Effect is Allow or Deny",
                 "unknown Effect");
        }
    }
}

static void audit_policy_tree(jv *root, pqf_policy_kind kind, const char *doc,
                              const pqf_audit_ctx *ctx, pqf_findings *f)
{
    jv *stmts = pqf__json_get(root, "Statement");
    if (!stmts || (stmts->type != PQF__JARR && stmts->type != PQF__JOBJ)) {
        FAIL(f, "invalid-policy", PQF_SEV_HIGH, doc, "a policy has a Statement array",
             "no Statement");
        return;
    }
    if (kind == PQF_POLICY_AUTO) {
        bool principal = false;
        for (jv *s = stmts->type == PQF__JARR ? stmts->child : stmts; s;
             s = stmts->type == PQF__JARR ? s->next : NULL)
            principal |=
                pqf__json_get(s, "Principal") != NULL || pqf__json_get(s, "NotPrincipal") != NULL;
        kind = principal ? PQF_POLICY_BUCKET : PQF_POLICY_IDENTITY;
        for (jv *s = stmts->type == PQF__JARR ? stmts->child : stmts; s;
             s = stmts->type == PQF__JARR ? s->next : NULL) {
            jv *a = pqf__json_get(s, "Action");
            if (has_ci(a, "sts:AssumeRole") || has_ci(a, "sts:AssumeRoleWithWebIdentity"))
                kind = PQF_POLICY_TRUST;
            else if (principal && a && a->type == PQF__JSTR && strncasecmp(a->str, "kms:", 4) == 0)
                kind = PQF_POLICY_KEY;
            else if (principal && a && a->type == PQF__JARR && a->child && str(a->child) &&
                     strncasecmp(a->child->str, "kms:", 4) == 0)
                kind = PQF_POLICY_KEY;
        }
    }
    const char *ver = str(pqf__json_get(root, "Version"));
    if (!ver || strcmp(ver, "2012-10-17") != 0)
        FAIL(f, "policy-version", PQF_SEV_LOW, doc, "set \"Version\": \"2012-10-17\"",
             "%s Version is %s: policy variables and some conditions do not work", kind_names[kind],
             ver ? ver : "missing");
    pol_state ps = {.kind = kind, .ctx = ctx, .f = f, .doc = doc};
    audit_statements(&ps, stmts);
    bool perm = kind == PQF_POLICY_BUCKET || kind == PQF_POLICY_IDENTITY || kind == PQF_POLICY_KEY;
    if (perm && !ps.tls_deny)
        FAIL(f, "missing-tls-deny", PQF_SEV_HIGH, doc,
             "add {\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\" (kms:* in a key "
             "policy),\"Resource\":[bucket, bucket/*],\"Condition\":{\"Bool\":"
             "{\"aws:SecureTransport\":\"false\"}}}",
             "%s does not deny requests without TLS (aws:SecureTransport false)%s%s",
             kind_names[kind], ps.tls_partial[0] ? "; a deny covers only some actions at " : "",
             ps.tls_partial);
    bool needs_enc = kind == PQF_POLICY_BUCKET || (kind == PQF_POLICY_IDENTITY && ps.allows_put);
    if (needs_enc && !ps.enc_deny)
        FAIL(f, "missing-encryption-deny", PQF_SEV_HIGH, doc,
             "deny s3:PutObject when s3:x-amz-server-side-encryption is not aws:kms "
             "(StringNotEquals) and when the key id is not the feed's key",
             "%s does not deny unencrypted uploads", kind_names[kind]);
    else if (needs_enc && ps.enc_aes_only)
        FAIL(f, "wrong-kms-key", PQF_SEV_MEDIUM, doc,
             "require aws:kms with the feed's key: SSE-S3 (AES256) cannot be limited by a key "
             "policy",
             "%s requires SSE-S3 (AES256), not SSE-KMS", kind_names[kind]);
    if (needs_enc && ps.enc_deny && ctx && ctx->kms_key) {
        if (ps.key_pin && strcmp(ps.pinned_key, ctx->kms_key) != 0)
            FAIL(f, "wrong-kms-key", PQF_SEV_HIGH, doc,
                 "pin s3:x-amz-server-side-encryption-aws-kms-key-id to the feed's key",
                 "uploads are pinned to key %s, not the feed's key %s", ps.pinned_key,
                 ctx->kms_key);
        else if (!ps.key_pin)
            FAIL(f, "wrong-kms-key", PQF_SEV_MEDIUM, doc,
                 "deny s3:PutObject when s3:x-amz-server-side-encryption-aws-kms-key-id is not "
                 "the feed's key",
                 "uploads may use any KMS key, not only %s", ctx->kms_key);
    }
}

pqf_err pqf_audit_policy(const char *json, size_t len, pqf_policy_kind kind, const char *where,
                         const pqf_audit_ctx *ctx, pqf_findings *f, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__json_doc d;
    pqf__json *root = NULL;
    pqf__json_limits lim = {.max_depth = 32, .max_string = 64 << 10, .max_arena = 32 << 20};
    pqf__json_doc_init(&d, &lim);
    if (pqf__json_parse(&d, json, len, &root) != PQF_OK)
        FAIL(f, "invalid-policy", PQF_SEV_HIGH, where, "fix the JSON", "not valid JSON: %s",
             d.err.msg);
    else if (root->type != PQF__JOBJ)
        FAIL(f, "invalid-policy", PQF_SEV_HIGH, where, "a policy is a JSON object",
             "not a JSON object");
    else
        audit_policy_tree(root, kind, where, ctx, f);
    if (f->oom)
        rc = pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    pqf__json_doc_free(&d);
    return rc;
}

/* ---- replication configuration and bucket settings (JSON) ------------------------ */

/* S3 API shape (Rules[].Destination...) and CloudFormation's (the same names
 * with Id for ID) both. */
static void audit_replication_json(jv *rc_, const char *doc, const pqf_audit_ctx *ctx,
                                   pqf_findings *f)
{
    jv *rules = pqf__json_get(rc_, "Rules");
    size_t i = 0;
    for (jv *r = rules && rules->type == PQF__JARR ? rules->child : NULL; r; r = r->next, i++) {
        char where[400];
        snprintf(where, sizeof where, "%s: rule %zu", doc, i + 1);
        jv *dst = pqf__json_get(r, "Destination");
        jv *rtc = pqf__json_get(dst, "ReplicationTime");
        jv *met = pqf__json_get(dst, "Metrics");
        jv *kms = pqf__json_get(
            pqf__json_get(pqf__json_get(r, "SourceSelectionCriteria"), "SseKmsEncryptedObjects"),
            "Status");
        const char *rk =
            str(pqf__json_get(pqf__json_get(dst, "EncryptionConfiguration"), "ReplicaKmsKeyID"));
        const char *st = str(pqf__json_get(rtc, "Status"));
        if (!st || strcmp(st, "Enabled") != 0)
            FAIL(f, "replication-rtc-off", PQF_SEV_LOW, where,
                 "set Destination.ReplicationTime {Status Enabled, Time 15 minutes}",
                 "Replication Time Control is off: no 15-minute objective, no missed-threshold "
                 "events");
        st = str(pqf__json_get(met, "Status"));
        if (!st || strcmp(st, "Enabled") != 0)
            FAIL(f, "replication-metrics-off", PQF_SEV_LOW, where,
                 "set Destination.Metrics {Status Enabled, EventThreshold 15 minutes}",
                 "replication metrics are off: pending bytes and latency are not visible");
        if (!str(kms) || strcmp(str(kms), "Enabled") != 0 || !rk)
            FAIL(f, "replication-kms-off", PQF_SEV_HIGH, where,
                 "set SourceSelectionCriteria.SseKmsEncryptedObjects Enabled and "
                 "Destination.EncryptionConfiguration.ReplicaKmsKeyID the replica's key",
                 "SSE-KMS objects are %s",
                 !rk ? "not re-encrypted with a replica key"
                     : "not selected: they are not replicated");
        else if (ctx && ctx->kms_key && strcmp(rk, ctx->kms_key) != 0)
            FAIL(f, "wrong-kms-key", PQF_SEV_HIGH, where,
                 "set ReplicaKmsKeyID to the replica account's key",
                 "replicas are encrypted with %s, not the replica's key %s", rk, ctx->kms_key);
    }
    if (i == 0)
        FAIL(f, "invalid-policy", PQF_SEV_MEDIUM, doc, "give the configuration a rule",
             "a replication configuration without rules");
}

static jv *first_rule(jv *v, const char *k)
{
    jv *r = pqf__json_get(v, k);
    return r && r->type == PQF__JARR ? r->child : NULL;
}

/* Bucket settings as the template bundle (S3 API shapes) or CloudFormation
 * (AWS::S3::Bucket properties) spell them. */
static void audit_settings_json(jv *p, bool cfn, const char *doc, const pqf_audit_ctx *ctx,
                                pqf_findings *f)
{
    char where[400];
    jv *ver = pqf__json_get(p, cfn ? "VersioningConfiguration" : "versioning");
    snprintf(where, sizeof where, "%s: versioning", doc);
    if (!str(pqf__json_get(ver, "Status")) || strcmp(str(pqf__json_get(ver, "Status")), "Enabled"))
        FAIL(f, "versioning-off", PQF_SEV_HIGH, where, "set versioning Status Enabled",
             "versioning is not enabled: an overwrite or delete loses data, and replication "
             "needs it on both buckets");
    bool noncurrent = false, abort_mpu = false;
    jv *lc = pqf__json_get(p, cfn ? "LifecycleConfiguration" : "lifecycle");
    for (jv *r = first_rule(lc, "Rules"); r; r = r->next) {
        const char *st = str(pqf__json_get(r, "Status"));
        if (!st || strcmp(st, "Enabled") != 0)
            continue;
        noncurrent |= pqf__json_get(r, "NoncurrentVersionExpiration") != NULL ||
                      pqf__json_get(r, "NoncurrentVersionExpirationInDays") != NULL;
        abort_mpu |= pqf__json_get(r, "AbortIncompleteMultipartUpload") != NULL;
    }
    snprintf(where, sizeof where, "%s: lifecycle", doc);
    if (!noncurrent)
        FAIL(f, "no-noncurrent-lifecycle", PQF_SEV_MEDIUM, where,
             "add NoncurrentVersionExpiration (pqfeed bucket setup does)",
             "no lifecycle rule expires noncurrent versions: they are kept and billed forever");
    if (!abort_mpu)
        FAIL(f, "no-abort-multipart", PQF_SEV_LOW, where,
             "add AbortIncompleteMultipartUpload (pqfeed bucket setup does)",
             "incomplete multipart uploads are kept and billed forever");
    jv *enc = cfn ? pqf__json_get(p, "BucketEncryption") : pqf__json_get(p, "encryption");
    jv *er = first_rule(enc, cfn ? "ServerSideEncryptionConfiguration" : "Rules");
    jv *def = pqf__json_get(er, cfn ? "ServerSideEncryptionByDefault"
                                    : "ApplyServerSideEncryptionByDefault");
    const char *alg = str(pqf__json_get(def, "SSEAlgorithm"));
    const char *key = str(pqf__json_get(def, "KMSMasterKeyID"));
    snprintf(where, sizeof where, "%s: default encryption", doc);
    if (!alg)
        FAIL(f, "no-default-encryption", PQF_SEV_HIGH, where,
             "set default encryption SSE-KMS with the feed's key", "no default encryption");
    else if (ctx && ctx->kms_key && (!key || strcmp(key, ctx->kms_key) != 0))
        FAIL(f, "wrong-kms-key", PQF_SEV_HIGH, where, "set KMSMasterKeyID to the feed's key",
             "default encryption uses %s, not %s", key ? key : alg, ctx->kms_key);
    jv *pab = pqf__json_get(p, cfn ? "PublicAccessBlockConfiguration" : "public_access_block");
    static const char *const pabk[] = {"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                       "RestrictPublicBuckets"};
    snprintf(where, sizeof where, "%s: public access block", doc);
    for (size_t i = 0; i < PQF_ARRAY_LEN(pabk); i++) {
        jv *v = pqf__json_get(pab, pabk[i]);
        if (!v || v->type != PQF__JBOOL || !v->b) {
            FAIL(f, "public-access-block-off", PQF_SEV_HIGH, where,
                 "turn on all four Block Public Access settings", "%s is not true", pabk[i]);
            break;
        }
    }
}

/* ---- live buckets ---------------------------------------------------------------- */

static void unsupported(pqf_findings *f, const char *rule, const char *where,
                        const pqf_bucket_item *it)
{
    add(f, rule, PQF_SEV_INFO, PQF_CHECK_UNSUPPORTED, where,
        "check it with the storage provider: pqfeed cannot verify it here",
        "not supported by this server (%s)", it->detail);
}

/* DENIED or ERROR: a setting that could not be read is not a pass. */
static bool unreadable(pqf_findings *f, const char *where, const pqf_bucket_item *it)
{
    if (it->state != PQF_BCFG_DENIED && it->state != PQF_BCFG_ERROR)
        return false;
    FAIL(f, "unreadable-setting", PQF_SEV_MEDIUM, where,
         "grant the checking identity s3:GetBucket* / s3:GetLifecycleConfiguration / "
         "s3:GetEncryptionConfiguration / s3:GetReplicationConfiguration on the bucket",
         "%s: %s", it->state == PQF_BCFG_DENIED ? "access denied" : "could not be read",
         it->detail);
    return true;
}

static bool rule_covers(const pqf_lifecycle_rule *r, const char *prefix)
{
    return r->enabled && !r->has_filter_tags && strncmp(prefix, r->prefix, strlen(r->prefix)) == 0;
}

pqf_err pqf_audit_bucket(const pqf_bucket_config *c, pqf_bucket_role role, const pqf_audit_ctx *ctx,
                         pqf_findings *f, pqf_error *err)
{
    char fix[512], fix_enc[640], fix_pab[400], fix_own[400];
    const pqf_bucket_item *it;
    const char *rname = role == PQF_ROLE_PRIMARY ? "primary" : "replica";
    snprintf(fix, sizeof fix, "pqfeed bucket setup s3://%s%s%.*s --role %s", c->bucket,
             c->prefix[0] ? "/" : "", c->prefix[0] ? (int)strlen(c->prefix) - 1 : 0, c->prefix,
             rname);
    snprintf(fix_enc, sizeof fix_enc,
             "aws s3api put-bucket-encryption --bucket %s --server-side-encryption-configuration "
             "'{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\","
             "\"KMSMasterKeyID\":\"%s\"},\"BucketKeyEnabled\":true}]}'",
             c->bucket, ctx && ctx->kms_key ? ctx->kms_key : "KEY-ARN");
    snprintf(fix_pab, sizeof fix_pab,
             "aws s3api put-public-access-block --bucket %s --public-access-block-configuration "
             "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,"
             "RestrictPublicBuckets=true",
             c->bucket);
    snprintf(fix_own, sizeof fix_own,
             "aws s3api put-bucket-ownership-controls --bucket %s --ownership-controls "
             "Rules=[{ObjectOwnership=BucketOwnerEnforced}]",
             c->bucket);

    it = &c->item[PQF_BSUB_VERSIONING];
    if (!unreadable(f, "versioning", it)) {
        if (it->state == PQF_BCFG_UNSUPPORTED)
            unsupported(f, "versioning-off", "versioning", it);
        else if (c->versioning == PQF_VERSIONING_ENABLED)
            add(f, "versioning-off", PQF_SEV_HIGH, PQF_CHECK_PASS, "versioning", "", "Enabled");
        else
            FAIL(f, "versioning-off", PQF_SEV_HIGH, "versioning", fix,
                 "%s: a %s needs versioning Enabled (an overwrite or delete is recoverable; "
                 "replication needs it on both buckets)",
                 c->versioning == PQF_VERSIONING_SUSPENDED ? "Suspended" : "never enabled", rname);
        add(f, "mfa-delete", PQF_SEV_INFO, PQF_CHECK_INFO, "MFA delete",
            c->mfa_delete == 1 ? "" : "optional: only the root user can enable it (with MFA)", "%s",
            c->mfa_delete == 1   ? "Enabled"
            : c->mfa_delete == 0 ? "Disabled"
                                 : "not reported by this server (Disabled on AWS when "
                                   "absent)");
    }

    it = &c->item[PQF_BSUB_LIFECYCLE];
    if (!unreadable(f, "lifecycle", it)) {
        if (it->state == PQF_BCFG_UNSUPPORTED) {
            unsupported(f, "no-noncurrent-lifecycle", "lifecycle", it);
        } else {
            const pqf_lifecycle_rule *nc = NULL, *mpu = NULL, *dm = NULL;
            for (size_t i = 0; i < c->nrules; i++) {
                const pqf_lifecycle_rule *r = &c->rules[i];
                if (!rule_covers(r, c->prefix))
                    continue;
                if (r->noncurrent_days >= 0 && !nc)
                    nc = r;
                if (r->abort_mpu_days >= 0 && !mpu)
                    mpu = r;
                if (r->expired_delete_marker && !dm)
                    dm = r;
            }
            if (nc)
                add(f, "no-noncurrent-lifecycle", PQF_SEV_MEDIUM, PQF_CHECK_PASS, "lifecycle", "",
                    "rule '%s': noncurrent versions expire after %d day(s)%s", nc->id,
                    nc->noncurrent_days, nc->newer_noncurrent >= 0 ? ", newest ones kept" : "");
            else
                FAIL(f, "no-noncurrent-lifecycle", PQF_SEV_MEDIUM, "lifecycle", fix,
                     "no enabled rule on '%s' expires noncurrent versions: every replaced or "
                     "deleted version is kept and billed forever",
                     c->prefix);
            if (mpu)
                add(f, "no-abort-multipart", PQF_SEV_LOW, PQF_CHECK_PASS, "lifecycle", "",
                    "incomplete multipart uploads aborted after %d day(s)", mpu->abort_mpu_days);
            else
                FAIL(f, "no-abort-multipart", PQF_SEV_LOW, "lifecycle", fix,
                     "incomplete multipart uploads are never aborted: their parts are billed");
            if (dm)
                add(f, "no-delete-marker-cleanup", PQF_SEV_LOW, PQF_CHECK_PASS, "lifecycle", "",
                    "expired delete markers removed");
            else
                FAIL(f, "no-delete-marker-cleanup", PQF_SEV_LOW, "lifecycle", fix,
                     "expired delete markers stay (they slow listings of versions)");
        }
    }

    it = &c->item[PQF_BSUB_REPLICATION];
    if (!unreadable(f, "replication", it)) {
        if (it->state == PQF_BCFG_UNSUPPORTED) {
            unsupported(f, "replication", "replication", it);
        } else if (it->state == PQF_BCFG_SET) {
            add(f, "replication", PQF_SEV_INFO, PQF_CHECK_INFO, "replication", "",
                "%zu rule(s) to %s; RTC %s, metrics %s, SSE-KMS objects %s, delete markers %s",
                c->repl_rules, c->repl_dest, c->repl_rtc ? "on" : "off",
                c->repl_metrics ? "on" : "off", c->repl_sse_kms ? "replicated" : "not selected",
                c->repl_delete_markers ? "replicated" : "not replicated");
            if (!c->repl_rtc)
                FAIL(f, "replication-rtc-off", PQF_SEV_LOW, "replication",
                     "pqfeed template writes a configuration with RTC on",
                     "Replication Time Control is off");
            if (!c->repl_sse_kms || !c->repl_kms_key[0])
                FAIL(f, "replication-kms-off", PQF_SEV_HIGH, "replication",
                     "pqfeed template writes a configuration that replicates SSE-KMS objects",
                     "SSE-KMS objects are not replicated (or not re-encrypted with a replica key)");
        } else {
            add(f, "replication", PQF_SEV_INFO, PQF_CHECK_INFO, "replication",
                role == PQF_ROLE_PRIMARY ? "for native S3 replication: pqfeed template" : "", "%s",
                role == PQF_ROLE_PRIMARY ? "none: fine when `pqfeed replicate` copies the feed"
                                         : "none (a replica needs none)");
        }
    }

    it = &c->item[PQF_BSUB_ENCRYPTION];
    if (!unreadable(f, "default encryption", it)) {
        if (it->state == PQF_BCFG_UNSUPPORTED)
            unsupported(f, "no-default-encryption", "default encryption", it);
        else if (it->state != PQF_BCFG_SET || !c->sse_algorithm[0])
            FAIL(f, "no-default-encryption", PQF_SEV_HIGH, "default encryption", fix_enc,
                 "no default encryption");
        else if (ctx && ctx->kms_key && strcmp(c->sse_kms_key, ctx->kms_key) != 0)
            FAIL(f, "wrong-kms-key", PQF_SEV_HIGH, "default encryption",
                 "set KMSMasterKeyID to the feed's key", "default encryption uses %s, not %s",
                 c->sse_kms_key[0] ? c->sse_kms_key : c->sse_algorithm, ctx->kms_key);
        else
            add(f, "no-default-encryption", PQF_SEV_HIGH, PQF_CHECK_PASS, "default encryption", "",
                "%s%s%s%s", c->sse_algorithm, c->sse_kms_key[0] ? " with " : "", c->sse_kms_key,
                c->bucket_key ? ", bucket key on" : "");
    }

    it = &c->item[PQF_BSUB_PUBLIC_ACCESS_BLOCK];
    if (!unreadable(f, "public access block", it)) {
        bool all = c->block_public_acls && c->ignore_public_acls && c->block_public_policy &&
                   c->restrict_public_buckets;
        if (it->state == PQF_BCFG_UNSUPPORTED)
            unsupported(f, "public-access-block-off", "public access block", it);
        else if (it->state == PQF_BCFG_SET && all)
            add(f, "public-access-block-off", PQF_SEV_HIGH, PQF_CHECK_PASS, "public access block",
                "", "all four settings on");
        else
            FAIL(f, "public-access-block-off", PQF_SEV_HIGH, "public access block", fix_pab, "%s",
                 it->state == PQF_BCFG_SET ? "not all four settings are on" : "not set");
    }

    it = &c->item[PQF_BSUB_POLICY];
    if (!unreadable(f, "policy", it)) {
        if (it->state == PQF_BCFG_UNSUPPORTED) {
            unsupported(f, "missing-tls-deny", "policy", it);
        } else if (it->state != PQF_BCFG_SET) {
            FAIL(f, "missing-tls-deny", PQF_SEV_HIGH, "policy",
                 "apply the bucket policy of `pqfeed template` (denies non-TLS and unencrypted "
                 "uploads)",
                 "no bucket policy: nothing denies requests without TLS or unencrypted uploads");
        } else {
            size_t before = pqf_findings_failures(f, PQF_SEV_INFO);
            pqf_audit_ctx pc = {.account = ctx ? ctx->account : NULL,
                                .kms_key = ctx ? ctx->kms_key : NULL};
            pqf_err rc =
                pqf_audit_policy(it->doc, it->doc_len, PQF_POLICY_BUCKET, "policy", &pc, f, err);
            if (rc != PQF_OK)
                return rc;
            if (pqf_findings_failures(f, PQF_SEV_INFO) == before)
                add(f, "policy", PQF_SEV_HIGH, PQF_CHECK_PASS, "policy", "",
                    "denies non-TLS requests and unencrypted uploads; no wide grants");
        }
    }

    it = &c->item[PQF_BSUB_OBJECT_LOCK];
    if (!unreadable(f, "object lock", it)) {
        if (it->state == PQF_BCFG_UNSUPPORTED)
            unsupported(f, "object-lock", "object lock", it);
        else
            add(f, "object-lock", PQF_SEV_INFO, PQF_CHECK_INFO, "object lock",
                c->object_lock ? ""
                               : "optional: object lock (governance, N days) makes a replica's "
                                 "versions undeletable; it can only be enabled at bucket creation "
                                 "on most servers",
                "%s%s%s", c->object_lock ? "Enabled" : "not enabled",
                c->object_lock_mode[0] ? ", default retention " : "", c->object_lock_mode);
    }

    it = &c->item[PQF_BSUB_OWNERSHIP];
    if (!unreadable(f, "ownership controls", it)) {
        if (it->state == PQF_BCFG_UNSUPPORTED)
            unsupported(f, "acl-ownership", "ownership controls", it);
        else if (strcmp(c->ownership, "BucketOwnerEnforced") == 0)
            add(f, "acl-ownership", PQF_SEV_MEDIUM, PQF_CHECK_PASS, "ownership controls", "",
                "BucketOwnerEnforced (ACLs disabled)");
        else
            FAIL(f, "acl-ownership", role == PQF_ROLE_REPLICA ? PQF_SEV_HIGH : PQF_SEV_MEDIUM,
                 "ownership controls", fix_own, "%s: ACLs are in force%s",
                 c->ownership[0] ? c->ownership : "not set",
                 role == PQF_ROLE_REPLICA ? " and objects written by another account may stay "
                                            "owned by it"
                                          : "");
    }
    return f->oom ? pqf_error_set(err, PQF_ERR_NOMEM, "out of memory") : PQF_OK;
}

/* ---- credentials files --------------------------------------------------------------- */

pqf_err pqf_audit_credentials_file(const char *path, pqf_findings *f, pqf_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return PQF_OK;
    if (st.st_mode & 077)
        FAIL(f, "credentials-readable", PQF_SEV_HIGH, path, "chmod 600 the file",
             "mode %03o: the credentials in it can be read or changed by %s",
             (unsigned)(st.st_mode & 0777),
             (st.st_mode & 007) ? "every user of this machine" : "the file's group");
    else
        add(f, "credentials-readable", PQF_SEV_HIGH, PQF_CHECK_PASS, path, "", "mode %03o",
            (unsigned)(st.st_mode & 0777));
    return f->oom ? pqf_error_set(err, PQF_ERR_NOMEM, "out of memory") : PQF_OK;
}

/* ---- files ------------------------------------------------------------------------- */

static void audit_bundle(jv *root, const char *path, pqf_findings *f)
{
    static const struct {
        int doc;
        pqf_policy_kind kind;
        bool primary_account, primary_key;
    } map[] = {
        {PQF__TPL_TRUST, PQF_POLICY_TRUST, true, true},
        {PQF__TPL_REPL_POLICY, PQF_POLICY_IDENTITY, true, false},
        {PQF__TPL_PRIMARY_BUCKET, PQF_POLICY_BUCKET, true, true},
        {PQF__TPL_REPLICA_BUCKET, PQF_POLICY_BUCKET, false, false},
        {PQF__TPL_EXPORTER, PQF_POLICY_IDENTITY, true, true},
        {PQF__TPL_REPLICATOR, PQF_POLICY_IDENTITY, false, false},
        {PQF__TPL_CONSUMER, PQF_POLICY_IDENTITY, false, false},
        {PQF__TPL_PRIMARY_KEY, PQF_POLICY_KEY, true, true},
        {PQF__TPL_REPLICA_KEY, PQF_POLICY_KEY, false, false},
    };
    jv *pr = pqf__json_get(root, "primary"), *rp = pqf__json_get(root, "replica");
    jv *docs = pqf__json_get(root, "documents");
    const char *prefix = str(pqf__json_get(root, "prefix"));
    char where[512];
    for (size_t i = 0; i < PQF_ARRAY_LEN(map); i++) {
        const char *name = pqf__tpl_doc_names[map[i].doc];
        jv *d = pqf__json_get(docs, name);
        pqf_audit_ctx c = {.account =
                               str(pqf__json_get(map[i].primary_account ? pr : rp, "account")),
                           .kms_key = str(pqf__json_get(map[i].primary_key ? pr : rp, "kms_key")),
                           .prefix = prefix};
        snprintf(where, sizeof where, "%s: %s", path, name);
        if (!d)
            FAIL(f, "invalid-policy", PQF_SEV_HIGH, where, "render the template again",
                 "document missing from the bundle");
        else
            audit_policy_tree(d, map[i].kind, where, &c, f);
    }
    jv *repl = pqf__json_get(docs, pqf__tpl_doc_names[PQF__TPL_REPLICATION]);
    pqf_audit_ctx rc = {.account = str(pqf__json_get(pr, "account")),
                        .kms_key = str(pqf__json_get(rp, "kms_key"))};
    snprintf(where, sizeof where, "%s: replication_configuration", path);
    if (repl)
        audit_replication_json(repl, where, &rc, f);
    for (int side = 0; side < 2; side++) {
        jv *s = side ? rp : pr;
        pqf_audit_ctx c = {.account = str(pqf__json_get(s, "account")),
                           .kms_key = str(pqf__json_get(s, "kms_key"))};
        snprintf(where, sizeof where, "%s: %s bucket settings", path, side ? "replica" : "primary");
        audit_settings_json(pqf__json_get(s, "settings"), false, where, &c, f);
    }
}

static void audit_cfn(jv *root, const char *path, pqf_findings *f)
{
    jv *meta = pqf__json_get(pqf__json_get(root, "Metadata"), "pqfeed");
    pqf_audit_ctx c = {.account = str(pqf__json_get(meta, "account")),
                       .kms_key = str(pqf__json_get(meta, "kms_key")),
                       .prefix = str(pqf__json_get(meta, "prefix"))};
    jv *res = pqf__json_get(root, "Resources");
    char where[512];
    for (jv *r = res ? res->child : NULL; r; r = r->next) {
        const char *type = str(pqf__json_get(r, "Type"));
        jv *p = pqf__json_get(r, "Properties");
        snprintf(where, sizeof where, "%s: %s", path, r->key);
        if (!type)
            continue;
        if (strcmp(type, "AWS::S3::BucketPolicy") == 0) {
            audit_policy_tree(pqf__json_get(p, "PolicyDocument"), PQF_POLICY_BUCKET, where, &c, f);
        } else if (strcmp(type, "AWS::IAM::ManagedPolicy") == 0 ||
                   strcmp(type, "AWS::IAM::Policy") == 0) {
            audit_policy_tree(pqf__json_get(p, "PolicyDocument"), PQF_POLICY_IDENTITY, where, &c,
                              f);
        } else if (strcmp(type, "AWS::IAM::Role") == 0) {
            audit_policy_tree(pqf__json_get(p, "AssumeRolePolicyDocument"), PQF_POLICY_TRUST, where,
                              &c, f);
            jv *pols = pqf__json_get(p, "Policies");
            for (jv *x = pols && pols->type == PQF__JARR ? pols->child : NULL; x; x = x->next) {
                /* the replication role's policy pins the replica's key: skip the pin check */
                pqf_audit_ctx rc2 = {.account = c.account};
                audit_policy_tree(pqf__json_get(x, "PolicyDocument"), PQF_POLICY_IDENTITY, where,
                                  &rc2, f);
            }
        } else if (strcmp(type, "AWS::KMS::Key") == 0) {
            audit_policy_tree(pqf__json_get(p, "KeyPolicy"), PQF_POLICY_KEY, where, &c, f);
        } else if (strcmp(type, "AWS::S3::Bucket") == 0) {
            audit_settings_json(p, true, where, &c, f);
            jv *repl = pqf__json_get(p, "ReplicationConfiguration");
            if (repl) {
                pqf_audit_ctx rc2 = {.account = c.account};
                audit_replication_json(repl, where, &rc2, f);
            }
        }
    }
}

/* pqfeed's Terraform: "# pqfeed-audit: kind=K account=A kms_key=ARN" before a
 * resource gives the context of the heredoc JSON documents in it. Other
 * Terraform is audited without context (kind from the resource type). */
static pqf_err audit_tf(const char *text, size_t len, const char *path, pqf_findings *f,
                        pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char account[16] = "", key[300] = "", type[96] = "", attr[64] = "", where[600];
    pqf_policy_kind kind = PQF_POLICY_AUTO;
    pqf__buf doc;
    pqf__buf_init(&doc, 1 << 20);
    bool in_doc = false;
    size_t lineno = 0;
    for (const char *p = text, *end = text + len; p < end && rc == PQF_OK;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char line[1200];
        snprintf(line, sizeof line, "%.*s", (int)PQF_MIN(n, sizeof line - 1), p);
        p += n + (nl ? 1 : 0);
        lineno++;
        const char *t = line;
        while (*t == ' ' || *t == '\t')
            t++;
        if (in_doc) {
            if (strcmp(t, "EOT") == 0) {
                in_doc = false;
                snprintf(where, sizeof where, "%s: %s.%s", path, type, attr);
                pqf_audit_ctx c = {.account = account[0] ? account : NULL,
                                   .kms_key = key[0] ? key : NULL};
                rc = pqf_audit_policy((const char *)doc.data, doc.len, kind, where, &c, f, err);
                pqf__buf_reset(&doc);
            } else if (pqf__buf_append(&doc, line, strlen(line)) != PQF_OK ||
                       pqf__buf_append_byte(&doc, '\n') != PQF_OK) {
                rc = pqf_error_set(err, PQF_ERR_LIMIT, "%s:%zu: heredoc too long", path, lineno);
            }
            continue;
        }
        if (strncmp(t, "# pqfeed-audit:", 15) == 0) {
            const char *k = strstr(t, "kind="), *a = strstr(t, "account="),
                       *m = strstr(t, "kms_key=");
            kind = !k                                   ? PQF_POLICY_AUTO
                   : strncmp(k + 5, "bucket", 6) == 0   ? PQF_POLICY_BUCKET
                   : strncmp(k + 5, "identity", 8) == 0 ? PQF_POLICY_IDENTITY
                   : strncmp(k + 5, "key", 3) == 0      ? PQF_POLICY_KEY
                   : strncmp(k + 5, "trust", 5) == 0    ? PQF_POLICY_TRUST
                                                        : PQF_POLICY_AUTO;
            snprintf(account, sizeof account, "%.12s", a ? a + 8 : "");
            if (m)
                snprintf(key, sizeof key, "%.*s", (int)strcspn(m + 8, " "), m + 8);
            else
                key[0] = 0;
            continue;
        }
        if (strncmp(t, "resource \"", 10) == 0) {
            snprintf(type, sizeof type, "%.*s", (int)strcspn(t + 10, "\""), t + 10);
            continue;
        }
        const char *h = strstr(t, "= <<");
        if (h) {
            snprintf(attr, sizeof attr, "%.*s", (int)strcspn(t, " ="), t);
            if (kind == PQF_POLICY_AUTO)
                kind = strstr(type, "bucket_policy")             ? PQF_POLICY_BUCKET
                       : strcmp(attr, "assume_role_policy") == 0 ? PQF_POLICY_TRUST
                       : strstr(type, "kms")                     ? PQF_POLICY_KEY
                                                                 : PQF_POLICY_IDENTITY;
            in_doc = true;
        }
        if (t[0] == '}' && !in_doc && line[0] == '}') {
            kind = PQF_POLICY_AUTO; /* a resource ended: its comment context too */
            account[0] = key[0] = 0;
        }
    }
    pqf__buf_free(&doc);
    return rc;
}

pqf_err pqf_audit_file(const char *path, const pqf_audit_ctx *ctx, pqf_findings *f, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char *text = NULL;
    size_t len = 0;
    pqf__json_doc d;
    pqf__json *root = NULL;
    pqf__json_limits lim = {.max_depth = 48, .max_string = 256 << 10, .max_arena = 64 << 20};
    pqf__json_doc_init(&d, &lim);
    PQF_TRY(pqf__read_file(path, FILE_CAP, &text, &len, err));
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    if (i < len && text[i] == '{') {
        if (pqf__json_parse(&d, text, len, &root) != PQF_OK)
            PQF_FAIL(err, PQF_ERR_PARSE, "%s: %s", path, d.err.msg);
        if (pqf__json_get(root, "pqfeed_template"))
            audit_bundle(root, path, f);
        else if (pqf__json_get(root, "AWSTemplateFormatVersion") ||
                 pqf__json_get(root, "Resources"))
            audit_cfn(root, path, f);
        else if (pqf__json_get(root, "Statement"))
            audit_policy_tree(root, PQF_POLICY_AUTO, path, ctx, f);
        else if (pqf__json_get(root, "Rules") && pqf__json_get(root, "Role"))
            audit_replication_json(root, path, ctx, f);
        else
            PQF_FAIL(err, PQF_ERR_PARSE,
                     "%s: not a policy, a pqfeed template, a CloudFormation template or a "
                     "replication configuration",
                     path);
    } else if (memmem(text, len, "aws_secret_access_key", 21) ||
               memmem(text, len, "aws_session_token", 17) ||
               memmem(text, len, "credential_process", 18) || (i < len && text[i] == '[')) {
        PQF_TRY(pqf_audit_credentials_file(path, f, err));
    } else if (memmem(text, len, "resource \"", 10)) {
        PQF_TRY(audit_tf(text, len, path, f, err));
    } else {
        PQF_FAIL(err, PQF_ERR_PARSE, "%s: not JSON, Terraform or an AWS credentials file", path);
    }
    if (f->oom)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
done:
    if (text)
        memset(text, 0, len); /* it may have been a credentials file */
    free(text);
    pqf__json_doc_free(&d);
    return rc;
}
