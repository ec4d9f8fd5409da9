/* Bucket configuration: read every subresource, plan and apply pqfeed's
 * versioning and lifecycle settings, price a bucket from its versions.
 * Requests go through pqf__s3_bucket_call() (s3.c); XML is read with the
 * streaming reader (xml.c), every response body capped. */
#include "pqfeed/bucket.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/buf.h"
#include "store/store_impl.h"
#include "store/xml.h"

#define CFG_CAP (1u << 20) /* a bucket policy is at most 20 KiB, lifecycle 1000 rules */
#define XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
#define DAY_MS (86400LL * 1000)
#define MAX_GROUPS 10000

static const char *const sub_names[PQF_BSUB__COUNT] = {
    "versioning",        "lifecycle", "replication", "encryption",
    "publicAccessBlock", "policy",    "object-lock", "ownershipControls",
};
/* The root element a server that implements the subresource answers with.
 * Ceph RGW answers a ListBucketResult to subresources it does not know. */
static const char *const sub_roots[PQF_BSUB__COUNT] = {
    "VersioningConfiguration",
    "LifecycleConfiguration",
    "ReplicationConfiguration",
    "ServerSideEncryptionConfiguration",
    "PublicAccessBlockConfiguration", /* RGW: BlockPublicAccessBlockConfiguration */
    NULL,                             /* JSON */
    "ObjectLockConfiguration",
    "OwnershipControls",
};

const char *pqf_bucket_sub_name(pqf_bucket_sub sub)
{
    return (unsigned)sub < PQF_BSUB__COUNT ? sub_names[sub] : "?";
}

/* ---- parsing ------------------------------------------------------------------ */

typedef struct cfg_xml {
    pqf_bucket_config *c;
    pqf_bucket_sub sub;
    char root[80];
    pqf_lifecycle_rule *rule;
} cfg_xml;

static bool ends(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    return n >= m && strcmp(path + n - m, suffix) == 0 && (n == m || path[n - m - 1] == '/');
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

static bool cfg_start(void *ud, const char *path, const char *text, size_t len)
{
    cfg_xml *x = ud;
    (void)text;
    (void)len;
    if (!strchr(path, '/')) {
        copy(x->root, sizeof x->root, path);
        return true;
    }
    if (x->sub == PQF_BSUB_LIFECYCLE && strcmp(path, "LifecycleConfiguration/Rule") == 0) {
        pqf_bucket_config *c = x->c;
        x->rule = NULL;
        if (c->nrules < PQF_BUCKET_MAX_RULES) {
            x->rule = &c->rules[c->nrules++];
            memset(x->rule, 0, sizeof *x->rule);
            x->rule->expiration_days = x->rule->noncurrent_days = -1;
            x->rule->newer_noncurrent = x->rule->abort_mpu_days = -1;
        }
    }
    return true;
}

static int num(const char *t)
{
    long v = strtol(t, NULL, 10);
    return v < 0 ? -1 : v > 1000000 ? 1000000 : (int)v;
}

static void lifecycle_end(cfg_xml *x, const char *path, const char *t)
{
    pqf_lifecycle_rule *r = x->rule;
    const char *p = path + strlen("LifecycleConfiguration/Rule/");
    if (!r || strncmp(path, "LifecycleConfiguration/Rule/", 28) != 0)
        return;
    if (strcmp(p, "ID") == 0)
        copy(r->id, sizeof r->id, t);
    else if (strcmp(p, "Status") == 0)
        r->enabled = strcmp(t, "Enabled") == 0;
    else if (strcmp(p, "Prefix") == 0 || strcmp(p, "Filter/Prefix") == 0 ||
             strcmp(p, "Filter/And/Prefix") == 0)
        copy(r->prefix, sizeof r->prefix, t);
    else if (strncmp(p, "Filter/Tag", 10) == 0 || strncmp(p, "Filter/And/Tag", 14) == 0)
        r->has_filter_tags = true;
    else if (strcmp(p, "Expiration/Days") == 0)
        r->expiration_days = num(t);
    else if (strcmp(p, "Expiration/ExpiredObjectDeleteMarker") == 0)
        r->expired_delete_marker = strcmp(t, "true") == 0;
    else if (strcmp(p, "NoncurrentVersionExpiration/NoncurrentDays") == 0)
        r->noncurrent_days = num(t);
    else if (strcmp(p, "NoncurrentVersionExpiration/NewerNoncurrentVersions") == 0)
        r->newer_noncurrent = num(t);
    else if (strcmp(p, "AbortIncompleteMultipartUpload/DaysAfterInitiation") == 0)
        r->abort_mpu_days = num(t);
}

static bool cfg_end(void *ud, const char *path, const char *t, size_t len)
{
    cfg_xml *x = ud;
    pqf_bucket_config *c = x->c;
    (void)len;
    switch (x->sub) {
    case PQF_BSUB_VERSIONING:
        if (strcmp(path, "VersioningConfiguration/Status") == 0)
            c->versioning = strcmp(t, "Enabled") == 0     ? PQF_VERSIONING_ENABLED
                            : strcmp(t, "Suspended") == 0 ? PQF_VERSIONING_SUSPENDED
                                                          : PQF_VERSIONING_OFF;
        else if (strcmp(path, "VersioningConfiguration/MfaDelete") == 0)
            c->mfa_delete = strcmp(t, "Enabled") == 0 ? 1 : 0;
        break;
    case PQF_BSUB_LIFECYCLE:
        lifecycle_end(x, path, t);
        break;
    case PQF_BSUB_REPLICATION:
        if (strcmp(path, "ReplicationConfiguration/Role") == 0)
            copy(c->repl_role, sizeof c->repl_role, t);
        else if (strcmp(path, "ReplicationConfiguration/Rule") == 0)
            c->repl_rules++;
        else if (c->repl_rules == 0 && ends(path, "Rule/Destination/Bucket"))
            copy(c->repl_dest, sizeof c->repl_dest, t);
        else if (c->repl_rules == 0 && ends(path, "EncryptionConfiguration/ReplicaKmsKeyID"))
            copy(c->repl_kms_key, sizeof c->repl_kms_key, t);
        else if (c->repl_rules == 0 && ends(path, "Destination/ReplicationTime/Status"))
            c->repl_rtc = strcmp(t, "Enabled") == 0;
        else if (c->repl_rules == 0 && ends(path, "Destination/Metrics/Status"))
            c->repl_metrics = strcmp(t, "Enabled") == 0;
        else if (c->repl_rules == 0 && ends(path, "Rule/DeleteMarkerReplication/Status"))
            c->repl_delete_markers = strcmp(t, "Enabled") == 0;
        else if (c->repl_rules == 0 && ends(path, "SseKmsEncryptedObjects/Status"))
            c->repl_sse_kms = strcmp(t, "Enabled") == 0;
        break;
    case PQF_BSUB_ENCRYPTION:
        if (ends(path, "ApplyServerSideEncryptionByDefault/SSEAlgorithm"))
            copy(c->sse_algorithm, sizeof c->sse_algorithm, t);
        else if (ends(path, "ApplyServerSideEncryptionByDefault/KMSMasterKeyID"))
            copy(c->sse_kms_key, sizeof c->sse_kms_key, t);
        else if (ends(path, "Rule/BucketKeyEnabled"))
            c->bucket_key = strcmp(t, "true") == 0;
        break;
    case PQF_BSUB_PUBLIC_ACCESS_BLOCK: {
        bool v = strcmp(t, "true") == 0;
        if (ends(path, "BlockPublicAcls"))
            c->block_public_acls = v;
        else if (ends(path, "IgnorePublicAcls"))
            c->ignore_public_acls = v;
        else if (ends(path, "BlockPublicPolicy"))
            c->block_public_policy = v;
        else if (ends(path, "RestrictPublicBuckets"))
            c->restrict_public_buckets = v;
        break;
    }
    case PQF_BSUB_OBJECT_LOCK:
        if (strcmp(path, "ObjectLockConfiguration/ObjectLockEnabled") == 0)
            c->object_lock = strcmp(t, "Enabled") == 0;
        else if (ends(path, "DefaultRetention/Mode"))
            copy(c->object_lock_mode, sizeof c->object_lock_mode, t);
        else if (ends(path, "DefaultRetention/Days"))
            c->object_lock_days = num(t);
        else if (ends(path, "DefaultRetention/Years"))
            c->object_lock_days = num(t) < 0 ? -1 : num(t) * 365;
        break;
    case PQF_BSUB_OWNERSHIP:
        if (ends(path, "Rule/ObjectOwnership"))
            copy(c->ownership, sizeof c->ownership, t);
        break;
    default:
        break;
    }
    return true;
}

/* ---- reading ------------------------------------------------------------------ */

static bool is_not_found_code(const char *code)
{
    static const char *const codes[] = {
        "NoSuchLifecycleConfiguration",
        "ReplicationConfigurationNotFoundError",
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchPublicAccessBlockConfiguration",
        "NoSuchBucketPolicy",
        "ObjectLockConfigurationNotFoundError",
        "OwnershipControlsNotFoundError",
    };
    for (size_t i = 0; i < PQF_ARRAY_LEN(codes); i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

/* One subresource into c->item[sub]. Returns an error only when the whole
 * reading should stop. */
static pqf_err read_sub(pqf_store *s, pqf_bucket_config *c, pqf_bucket_sub sub, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__s3_resp r;
    pqf_error e = {0};
    pqf_bucket_item *it = &c->item[sub];
    cfg_xml x = {.c = c, .sub = sub};
    pqf_err got = pqf__s3_bucket_call(s, "GET", sub_names[sub], NULL, 0, CFG_CAP, &r, &e);
    if (got == PQF_OK) {
        it->state = PQF_BCFG_SET;
        if (sub_roots[sub]) {
            if (r.body && pqf__xml_parse(r.body, r.len, cfg_start, cfg_end, &x, &e) != PQF_OK) {
                it->state = PQF_BCFG_ERROR;
                snprintf(it->detail, sizeof it->detail, "unreadable answer: %s", e.msg);
            } else if (!ends(x.root, sub_roots[sub]) &&
                       !(sub == PQF_BSUB_PUBLIC_ACCESS_BLOCK &&
                         strcmp(x.root, "BlockPublicAccessBlockConfiguration") == 0)) {
                it->state = PQF_BCFG_UNSUPPORTED;
                snprintf(it->detail, sizeof it->detail,
                         "the server answered ?%s with <%s>, not <%s>", sub_names[sub],
                         x.root[0] ? x.root : "nothing", sub_roots[sub]);
            }
        }
        if (sub == PQF_BSUB_VERSIONING && c->versioning == PQF_VERSIONING_OFF)
            it->state = PQF_BCFG_ABSENT;
        if (sub == PQF_BSUB_LIFECYCLE && c->nrules == 0 && it->state == PQF_BCFG_SET)
            it->state = PQF_BCFG_ABSENT;
        if (sub == PQF_BSUB_REPLICATION && it->state == PQF_BCFG_SET && c->repl_rules == 0) {
            /* AWS says 404 when there is none; Ceph RGW (Pacific) answers an
             * empty <Role/> and has no PutBucketReplication. */
            it->state = PQF_BCFG_UNSUPPORTED;
            snprintf(it->detail, sizeof it->detail,
                     "the server answers an empty replication configuration (no rules, "
                     "no role): bucket replication is not implemented");
        }
        if (sub == PQF_BSUB_POLICY && !r.body)
            it->state = PQF_BCFG_ABSENT;
        it->doc = r.body;
        it->doc_len = r.len;
        r.body = NULL;
    } else if (r.status == 404 && is_not_found_code(r.code)) {
        it->state = PQF_BCFG_ABSENT;
    } else if (r.status == 404 && strcmp(r.code, "NoSuchBucket") == 0) {
        rc = pqf_error_set(err, PQF_ERR_NOT_FOUND, "%s", e.msg);
    } else if (got == PQF_ERR_AUTH && strcmp(r.code, "AccessDenied") != 0) {
        rc = pqf_error_set(err, got, "%s", e.msg); /* wrong or expired credentials */
    } else if (got == PQF_ERR_AUTH) {
        it->state = PQF_BCFG_DENIED;
        snprintf(it->detail, sizeof it->detail, "%s", e.msg);
    } else if (got == PQF_ERR_NET || got == PQF_ERR_TIMEOUT) {
        rc = pqf_error_set(err, got, "%s", e.msg);
    } else if (r.status == 501 || r.status == 405 || strcmp(r.code, "NotImplemented") == 0 ||
               strcmp(r.code, "MethodNotAllowed") == 0 ||
               (r.status == 400 && strcmp(r.code, "InvalidRequest") == 0)) {
        it->state = PQF_BCFG_UNSUPPORTED;
        snprintf(it->detail, sizeof it->detail, "%s (HTTP %ld)", r.code[0] ? r.code : "error",
                 r.status);
    } else {
        it->state = PQF_BCFG_ERROR;
        snprintf(it->detail, sizeof it->detail, "%s", e.msg);
    }
    free(r.body);
    return rc;
}

pqf_err pqf_bucket_read(pqf_store *s, pqf_bucket_config **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_bucket_config *c = NULL;
    *out = NULL;
    if (!pqf__s3_bucket_name(s))
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "%s: bucket configuration needs an s3:// store",
                 pqf_store_uri(s));
    c = calloc(1, sizeof *c);
    if (!c)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    copy(c->bucket, sizeof c->bucket, pqf__s3_bucket_name(s));
    copy(c->prefix, sizeof c->prefix, pqf__s3_prefix(s));
    c->mfa_delete = -1;
    c->object_lock_days = -1;
    for (int i = 0; i < PQF_BSUB__COUNT; i++)
        PQF_TRY(read_sub(s, c, (pqf_bucket_sub)i, err));
    *out = c;
    c = NULL;
done:
    pqf_bucket_config_free(c);
    return rc;
}

void pqf_bucket_config_free(pqf_bucket_config *c)
{
    if (!c)
        return;
    for (int i = 0; i < PQF_BSUB__COUNT; i++)
        free(c->item[i].doc);
    free(c);
}

/* ---- lifecycle ---------------------------------------------------------------- */

void pqf_lifecycle_defaults(pqf_lifecycle_opts *o)
{
    o->noncurrent_days = 30;
    o->keep_newest = 3;
    o->abort_mpu_days = 7;
    o->expired_delete_markers = true;
}

static pqf_err xml_text(pqf__buf *b, const char *s)
{
    pqf_err rc = PQF_OK;
    for (; *s && rc == PQF_OK; s++) {
        if (*s == '&')
            rc = pqf__buf_printf(b, "&amp;");
        else if (*s == '<')
            rc = pqf__buf_printf(b, "&lt;");
        else if (*s == '>')
            rc = pqf__buf_printf(b, "&gt;");
        else
            rc = pqf__buf_append_byte(b, (uint8_t)*s);
    }
    return rc;
}

pqf_err pqf_lifecycle_xml(const pqf_lifecycle_opts *o, const char *prefix, char **xml,
                          pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf b;
    pqf__buf_init(&b, 16384);
    bool ok = pqf__buf_printf(&b,
                              "<LifecycleConfiguration xmlns=\"" XMLNS "\"><Rule><ID>%s</ID>"
                              "<Filter><Prefix>",
                              PQF_LIFECYCLE_RULE_ID) == PQF_OK &&
              xml_text(&b, prefix ? prefix : "") == PQF_OK &&
              pqf__buf_printf(&b, "</Prefix></Filter><Status>Enabled</Status>") == PQF_OK;
    if (ok && o->expired_delete_markers)
        ok = pqf__buf_printf(&b, "<Expiration><ExpiredObjectDeleteMarker>true"
                                 "</ExpiredObjectDeleteMarker></Expiration>") == PQF_OK;
    if (ok)
        ok = pqf__buf_printf(&b, "<NoncurrentVersionExpiration><NoncurrentDays>%u</NoncurrentDays>",
                             o->noncurrent_days ? o->noncurrent_days : 1) == PQF_OK;
    if (ok && o->keep_newest)
        ok = pqf__buf_printf(&b, "<NewerNoncurrentVersions>%u</NewerNoncurrentVersions>",
                             o->keep_newest) == PQF_OK;
    if (ok)
        ok = pqf__buf_printf(&b,
                             "</NoncurrentVersionExpiration><AbortIncompleteMultipartUpload>"
                             "<DaysAfterInitiation>%u</DaysAfterInitiation>"
                             "</AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>",
                             o->abort_mpu_days ? o->abort_mpu_days : 1) == PQF_OK &&
             pqf__buf_cstr(&b) == PQF_OK;
    if (!ok)
        PQF_FAIL(err, PQF_ERR_LIMIT, "lifecycle prefix too long");
    *xml = (char *)pqf__buf_steal(&b, NULL);
done:
    pqf__buf_free(&b);
    return rc;
}

static void rule_words(const pqf_lifecycle_rule *r, char *out, size_t cap)
{
    char k[48] = "", dm[48] = "";
    if (r->newer_noncurrent >= 0)
        snprintf(k, sizeof k, ", keeping the newest %d", r->newer_noncurrent);
    if (r->expired_delete_marker)
        snprintf(dm, sizeof dm, "; expired delete markers removed");
    snprintf(out, cap,
             "rule '%s' (%s) on prefix '%s': noncurrent versions expire after %d day(s)%s%s; "
             "incomplete multipart uploads aborted after %d day(s)",
             r->id, r->enabled ? "enabled" : "disabled", r->prefix, r->noncurrent_days, k, dm,
             r->abort_mpu_days);
}

/* Compare pqfeed's rule on the bucket with want; fill the plan's lifecycle part. */
static void plan_lifecycle(const pqf_bucket_config *cur, const pqf_lifecycle_rule *wantp,
                           bool replace_other_rules, bool force, pqf_bucket_plan *p)
{
    const pqf_lifecycle_rule want = *wantp;
    const pqf_lifecycle_rule *mine = NULL;
    size_t others = 0;
    for (size_t i = 0; i < cur->nrules; i++) {
        if (strcmp(cur->rules[i].id, PQF_LIFECYCLE_RULE_ID) == 0)
            mine = &cur->rules[i];
        else
            others++;
    }
    if (mine)
        rule_words(mine, p->lifecycle_from, sizeof p->lifecycle_from);
    else
        copy(p->lifecycle_from, sizeof p->lifecycle_from, "none");
    bool same = mine && mine->enabled && !mine->has_filter_tags &&
                strcmp(mine->prefix, want.prefix) == 0 && mine->expiration_days < 0 &&
                mine->expired_delete_marker == want.expired_delete_marker &&
                mine->noncurrent_days == want.noncurrent_days &&
                mine->abort_mpu_days == want.abort_mpu_days;
    if (same && mine->newer_noncurrent != want.newer_noncurrent) {
        if (mine->newer_noncurrent < 0 && !force)
            snprintf(p->note, sizeof p->note,
                     "the bucket's rule has no NewerNoncurrentVersions: this server accepts the "
                     "field and drops it (Ceph RGW before Reef does), so every noncurrent version "
                     "expires after %d day(s); --force sends the rule again",
                     want.noncurrent_days);
        else
            same = false;
    }
    if (!same || others) {
        p->lifecycle_change = true;
        if (others && !replace_other_rules) {
            p->lifecycle_blocked = true;
            snprintf(p->note, sizeof p->note,
                     "the bucket has %zu other lifecycle rule(s); S3 replaces the whole "
                     "configuration at once, so pqfeed changes nothing unless told to replace "
                     "them (--replace-lifecycle)",
                     others);
        }
    }
}

pqf_err pqf_bucket_plan_setup(const pqf_bucket_config *cur, pqf_bucket_role role,
                              const pqf_lifecycle_opts *o, bool replace_other_rules, bool force,
                              pqf_bucket_plan **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_bucket_plan *p = calloc(1, sizeof *p);
    (void)role; /* a primary and a replica need the same two settings */
    *out = NULL;
    if (!p)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    p->versioning_from = cur->versioning;
    if (cur->versioning != PQF_VERSIONING_ENABLED) {
        p->versioning_change = true;
        p->versioning_xml = strdup("<VersioningConfiguration xmlns=\"" XMLNS "\">"
                                   "<Status>Enabled</Status></VersioningConfiguration>");
        if (!p->versioning_xml)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
    pqf_lifecycle_rule want = {.enabled = true,
                               .expiration_days = -1,
                               .expired_delete_marker = o->expired_delete_markers,
                               .noncurrent_days =
                                   (int)(o->noncurrent_days ? o->noncurrent_days : 1),
                               .newer_noncurrent = o->keep_newest ? (int)o->keep_newest : -1,
                               .abort_mpu_days = (int)(o->abort_mpu_days ? o->abort_mpu_days : 1)};
    copy(want.id, sizeof want.id, PQF_LIFECYCLE_RULE_ID);
    copy(want.prefix, sizeof want.prefix, cur->prefix);
    rule_words(&want, p->lifecycle_to, sizeof p->lifecycle_to);
    PQF_TRY(pqf_lifecycle_xml(o, cur->prefix, &p->lifecycle_xml, err));
    if (cur->item[PQF_BSUB_LIFECYCLE].state == PQF_BCFG_UNSUPPORTED) {
        p->lifecycle_unsupported = true;
        copy(p->lifecycle_from, sizeof p->lifecycle_from, "not supported by this server");
    } else {
        plan_lifecycle(cur, &want, replace_other_rules, force, p);
    }
    *out = p;
    p = NULL;
done:
    pqf_bucket_plan_free(p);
    return rc;
}

pqf_err pqf_bucket_apply(pqf_store *s, const pqf_bucket_plan *p, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__s3_resp r = {0};
    if (p->versioning_change)
        PQF_TRY(pqf_store_set_versioning(s, PQF_VERSIONING_ENABLED, err));
    if (p->lifecycle_change && !p->lifecycle_blocked && !p->lifecycle_unsupported)
        PQF_TRY(pqf__s3_bucket_call(s, "PUT", "lifecycle", p->lifecycle_xml,
                                    strlen(p->lifecycle_xml), 64 << 10, &r, err));
done:
    free(r.body);
    return rc;
}

void pqf_bucket_plan_free(pqf_bucket_plan *p)
{
    if (!p)
        return;
    free(p->versioning_xml);
    free(p->lifecycle_xml);
    free(p);
}

/* ---- cost --------------------------------------------------------------------- */

typedef struct cost_ctx {
    pqf_bucket_cost *c;
    const pqf_lifecycle_opts *o;
    int64_t now;
    pqf_err fail;
    /* the key being walked: versions arrive newest first */
    pqf__buf key;
    int64_t newer_mtime; /* mtime of the previous (newer) version of this key */
    unsigned index;      /* 0: the current version */
    uint64_t kept;       /* versions of this key that stay */
    bool current_is_marker;
    pqf_cost_group *g;
} cost_ctx;

static int group_cmp(const void *a, const void *b)
{
    return strcmp(((const pqf_cost_group *)a)->prefix, ((const pqf_cost_group *)b)->prefix);
}

static pqf_cost_group *group_for(cost_ctx *x, const char *key)
{
    pqf_bucket_cost *c = x->c;
    char name[256];
    const char *sl = strchr(key, '/');
    if (!sl)
        copy(name, sizeof name, "(root)");
    else
        snprintf(name, sizeof name, "%.*s/", (int)PQF_MIN((size_t)(sl - key), sizeof name - 2),
                 key);
    for (size_t i = c->ngroups; i > 0; i--) /* keys come sorted: the match is near the end */
        if (strcmp(c->groups[i - 1].prefix, name) == 0)
            return &c->groups[i - 1];
    if (c->ngroups == MAX_GROUPS)
        copy(name, sizeof name, "(other)");
    for (size_t i = 0; i < c->ngroups; i++)
        if (strcmp(c->groups[i].prefix, name) == 0)
            return &c->groups[i];
    if (c->ngroups % 64 == 0) {
        pqf_cost_group *ng = realloc(c->groups, (c->ngroups + 64) * sizeof *ng);
        if (!ng)
            return NULL;
        c->groups = ng;
    }
    pqf_cost_group *g = &c->groups[c->ngroups++];
    memset(g, 0, sizeof *g);
    copy(g->prefix, sizeof g->prefix, name);
    return g;
}

/* A key's walk ended: a current delete marker with no versions left behind
 * it is an "expired object delete marker" that the rule removes. */
static void key_done(cost_ctx *x)
{
    if (x->g && x->current_is_marker && x->kept == 1 && x->o->expired_delete_markers)
        x->g->expire_markers++;
}

static bool cost_cb(void *ud, const pqf_object_info *v)
{
    cost_ctx *x = ud;
    size_t kl = strlen(v->key);
    if (!x->key.data || x->key.len != kl || memcmp(x->key.data, v->key, kl) != 0) {
        key_done(x);
        pqf__buf_reset(&x->key);
        if (pqf__buf_append(&x->key, v->key, kl) != PQF_OK) {
            x->fail = PQF_ERR_LIMIT;
            return false;
        }
        x->g = group_for(x, v->key);
        if (!x->g) {
            x->fail = PQF_ERR_NOMEM;
            return false;
        }
        x->index = 0;
        x->kept = 0;
        x->current_is_marker = false;
    }
    pqf_cost_group *g = x->g;
    if (v->is_latest || x->index == 0) {
        x->current_is_marker = v->is_delete_marker;
        if (v->is_delete_marker) {
            g->delete_markers++;
        } else {
            g->current_objects++;
            g->current_bytes += v->size;
        }
        x->kept++;
    } else {
        /* Noncurrent since its successor was written; newer noncurrent
         * versions of this key: index - 1. */
        unsigned newer = x->index - 1;
        bool old = x->now - x->newer_mtime >= (int64_t)x->o->noncurrent_days * DAY_MS;
        bool expire = old && newer >= x->o->keep_newest;
        if (v->is_delete_marker) {
            g->delete_markers++;
            if (expire)
                g->expire_markers++;
        } else {
            g->noncurrent_versions++;
            g->noncurrent_bytes += v->size;
            if (expire) {
                g->expire_versions++;
                g->expire_bytes += v->size;
            }
        }
        if (!expire)
            x->kept++;
    }
    x->newer_mtime = v->mtime_ms;
    x->index++;
    return true;
}

static bool upload_cb(void *ud, const pqf_upload_info *u)
{
    cost_ctx *x = ud;
    x->c->uploads++;
    if (x->now - u->initiated_ms >= (int64_t)x->o->abort_mpu_days * DAY_MS)
        x->c->uploads_expired++;
    return true;
}

pqf_err pqf_bucket_cost_read(pqf_store *s, const pqf_lifecycle_opts *o, int64_t now_ms,
                             pqf_bucket_cost **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    cost_ctx x = {.o = o, .now = now_ms ? now_ms : (int64_t)time(NULL) * 1000};
    pqf__buf_init(&x.key, 4096);
    *out = NULL;
    if (!pqf__s3_bucket_name(s))
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "%s: bucket cost needs an s3:// store",
                 pqf_store_uri(s));
    x.c = calloc(1, sizeof *x.c);
    if (!x.c)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(pqf_store_list_versions(s, "", cost_cb, &x, err));
    if (x.fail)
        PQF_FAIL(err, x.fail, "%s: listing versions: a key too long or out of memory",
                 pqf_store_uri(s));
    key_done(&x);
    PQF_TRY(pqf_store_list_uploads(s, "", upload_cb, &x, err));
    if (x.c->ngroups)
        qsort(x.c->groups, x.c->ngroups, sizeof *x.c->groups, group_cmp);
    pqf_cost_group *t = &x.c->total;
    copy(t->prefix, sizeof t->prefix, "(total)");
    for (size_t i = 0; i < x.c->ngroups; i++) {
        const pqf_cost_group *g = &x.c->groups[i];
        t->current_objects += g->current_objects;
        t->current_bytes += g->current_bytes;
        t->noncurrent_versions += g->noncurrent_versions;
        t->noncurrent_bytes += g->noncurrent_bytes;
        t->delete_markers += g->delete_markers;
        t->expire_versions += g->expire_versions;
        t->expire_bytes += g->expire_bytes;
        t->expire_markers += g->expire_markers;
    }
    *out = x.c;
    x.c = NULL;
done:
    pqf__buf_free(&x.key);
    pqf_bucket_cost_free(x.c);
    return rc;
}

void pqf_bucket_cost_free(pqf_bucket_cost *c)
{
    if (!c)
        return;
    free(c->groups);
    free(c);
}
