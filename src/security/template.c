/* Templates for a primary and a replica in two accounts: the documents are
 * composed once as compact JSON (every input is validated to a character set
 * that needs no escaping) and then laid out as a JSON bundle, CloudFormation
 * (JSON) or Terraform (HCL written by hand: no HCL library exists for C, and
 * the few block shapes used here are fixed). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "pqfeed/security.h"
#include "security/sec_impl.h"

#define OUT_CAP (4u << 20)
#define DOC_CAP (256u << 10)

/* Everything the documents need, derived once from the options. */
typedef struct tpl {
    const pqf_template_opts *o;
    pqf_lifecycle_opts lc;
    char pa[16], ra[16];       /* accounts */
    char pb[64], rb[64];       /* buckets */
    char prefix[256];          /* "" or "feed/" */
    char preg[32], rreg[32];   /* regions */
    char pkey[300], rkey[300]; /* KMS key ARNs */
    char repl_role[128];       /* arn:aws:iam::P:role/pqfeed-replication */
    char exporter[128], replicator[128], consumer[128];
    char pb_arn[96], rb_arn[96];   /* arn:aws:s3:::bucket */
    char pb_obj[400], rb_obj[400]; /* arn:aws:s3:::bucket/prefix* */
    char pb_all[100], rb_all[100]; /* every object: arn:aws:s3:::bucket/ and a star */
    /* the documents, compact JSON */
    pqf__buf doc[PQF__TPL_NDOCS];
} tpl;

const char *const pqf__tpl_doc_names[PQF__TPL_NDOCS] = {
    "replication_configuration", "replication_role_trust_policy",
    "replication_role_policy",   "primary_bucket_policy",
    "replica_bucket_policy",     "exporter_policy",
    "replicator_policy",         "consumer_policy",
    "primary_kms_key_policy",    "replica_kms_key_policy",
};

/* ---- validation ------------------------------------------------------------------ */

static bool all_in(const char *s, const char *extra)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
            return false;
    return true;
}

static bool valid_account(const char *a)
{
    if (!a || strlen(a) != 12)
        return false;
    for (; *a; a++)
        if (!isdigit((unsigned char)*a))
            return false;
    return true;
}

static bool valid_bucket(const char *b)
{
    size_t n = b ? strlen(b) : 0;
    if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
        return false;
    for (; *b; b++)
        if (!(islower((unsigned char)*b) || isdigit((unsigned char)*b) || *b == '-' || *b == '.'))
            return false;
    return true;
}

static bool valid_region(const char *r)
{
    return r && *r && strlen(r) < 32 && all_in(r, "-");
}

static bool valid_arn(const char *a)
{
    return a && strncmp(a, "arn:", 4) == 0 && strlen(a) < 290 && all_in(a, ":/_+=,.@-");
}

static pqf_err setup(tpl *t, const pqf_template_opts *o, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    memset(t, 0, sizeof *t);
    t->o = o;
    for (int i = 0; i < PQF__TPL_NDOCS; i++)
        pqf__buf_init(&t->doc[i], DOC_CAP);
    if (!valid_account(o->primary_account))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "--primary-account: a 12-digit AWS account id");
    if (!valid_account(o->replica_account))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "--replica-account: a 12-digit AWS account id");
    if (strcmp(o->primary_account, o->replica_account) == 0)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG,
                 "the primary and the replica are in two accounts: give two account ids");
    if (!valid_bucket(o->primary_bucket))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "--primary-bucket: 3-63 of a-z 0-9 . -");
    if (!valid_bucket(o->replica_bucket))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "--replica-bucket: 3-63 of a-z 0-9 . -");
    const char *pre = o->prefix ? o->prefix : "";
    while (*pre == '/')
        pre++;
    size_t pl = strlen(pre);
    while (pl && pre[pl - 1] == '/')
        pl--;
    if (pl > 200 || !all_in(pre, "!_.'()/-") || strstr(pre, "//"))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG,
                 "--prefix: at most 200 of A-Z a-z 0-9 ! _ . ' ( ) - and '/' between segments");
    snprintf(t->prefix, sizeof t->prefix, "%.*s%s", (int)pl, pre, pl ? "/" : "");
    const char *preg = o->primary_region ? o->primary_region : "us-east-1";
    const char *rreg = o->replica_region ? o->replica_region : "us-east-1";
    if (!valid_region(preg) || !valid_region(rreg))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "--primary-region / --replica-region: like eu-west-1");
    snprintf(t->pa, sizeof t->pa, "%s", o->primary_account);
    snprintf(t->ra, sizeof t->ra, "%s", o->replica_account);
    snprintf(t->pb, sizeof t->pb, "%s", o->primary_bucket);
    snprintf(t->rb, sizeof t->rb, "%s", o->replica_bucket);
    snprintf(t->preg, sizeof t->preg, "%s", preg);
    snprintf(t->rreg, sizeof t->rreg, "%s", rreg);
    if (o->primary_kms_key && !valid_arn(o->primary_kms_key))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "--primary-kms-key: a KMS key ARN");
    if (o->replica_kms_key && !valid_arn(o->replica_kms_key))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "--replica-kms-key: a KMS key ARN");
    if (o->primary_kms_key)
        snprintf(t->pkey, sizeof t->pkey, "%s", o->primary_kms_key);
    else
        snprintf(t->pkey, sizeof t->pkey, "arn:aws:kms:%s:%s:alias/pqfeed", preg, t->pa);
    if (o->replica_kms_key)
        snprintf(t->rkey, sizeof t->rkey, "%s", o->replica_kms_key);
    else
        snprintf(t->rkey, sizeof t->rkey, "arn:aws:kms:%s:%s:alias/pqfeed", rreg, t->ra);
    t->lc = o->lifecycle;
    if (!t->lc.noncurrent_days && !t->lc.keep_newest && !t->lc.abort_mpu_days &&
        !t->lc.expired_delete_markers)
        pqf_lifecycle_defaults(&t->lc);
    /* S3 wants both positive: 0 (unset) is written as 1 */
    if (!t->lc.noncurrent_days)
        t->lc.noncurrent_days = 1;
    if (!t->lc.abort_mpu_days)
        t->lc.abort_mpu_days = 1;
    snprintf(t->repl_role, sizeof t->repl_role, "arn:aws:iam::%s:role/pqfeed-replication", t->pa);
    snprintf(t->exporter, sizeof t->exporter, "arn:aws:iam::%s:role/pqfeed-exporter", t->pa);
    snprintf(t->replicator, sizeof t->replicator, "arn:aws:iam::%s:role/pqfeed-replicator", t->ra);
    snprintf(t->consumer, sizeof t->consumer, "arn:aws:iam::%s:role/pqfeed-consumer", t->ra);
    snprintf(t->pb_arn, sizeof t->pb_arn, "arn:aws:s3:::%s", t->pb);
    snprintf(t->rb_arn, sizeof t->rb_arn, "arn:aws:s3:::%s", t->rb);
    snprintf(t->pb_obj, sizeof t->pb_obj, "arn:aws:s3:::%s/%s*", t->pb, t->prefix);
    snprintf(t->rb_obj, sizeof t->rb_obj, "arn:aws:s3:::%s/%s*", t->rb, t->prefix);
    snprintf(t->pb_all, sizeof t->pb_all, "arn:aws:s3:::%s/*", t->pb);
    snprintf(t->rb_all, sizeof t->rb_all, "arn:aws:s3:::%s/*", t->rb);
done:
    return rc;
}

static void teardown(tpl *t)
{
    for (int i = 0; i < PQF__TPL_NDOCS; i++)
        pqf__buf_free(&t->doc[i]);
}

/* ---- documents ------------------------------------------------------------------- */

/* Statements are appended with a comma between them; pf() keeps the first
 * failure in *rc so the composition reads straight. */
static void pf(pqf_err *rc, pqf__buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void pf(pqf_err *rc, pqf__buf *b, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    if (*rc != PQF_OK)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        *rc = PQF_ERR_LIMIT;
    else
        *rc = pqf__buf_append(b, tmp, (size_t)n);
}

/* Append document doc (compact JSON) to b. */
static void put_doc(pqf_err *rc, pqf__buf *b, const tpl *t, int doc)
{
    if (*rc == PQF_OK)
        *rc = pqf__buf_append(b, t->doc[doc].data, t->doc[doc].len);
}

/* The JSON values of the action lists more than one statement grants. */
static const char S3_REPLICATE[] = "[\"s3:ReplicateObject\",\"s3:ReplicateDelete\","
                                   "\"s3:ReplicateTags\",\"s3:ObjectOwnerOverrideToBucketOwner\"]";
static const char S3_READ_WRITE[] =
    "[\"s3:GetObject\",\"s3:PutObject\",\"s3:AbortMultipartUpload\","
    "\"s3:ListMultipartUploadParts\"]";
static const char S3_READ_VERSIONS[] = "[\"s3:GetObject\",\"s3:GetObjectVersion\"]";
static const char S3_LIST_UPLOADS[] = "\"s3:ListBucketMultipartUploads\"";
static const char KMS_DECRYPT[] = "\"kms:Decrypt\"";
static const char KMS_USE[] = "[\"kms:GenerateDataKey\",\"kms:Decrypt\"]";
static const char KMS_ENCRYPT[] = "[\"kms:Encrypt\",\"kms:GenerateDataKey\"]";

typedef enum { POL_IDENTITY, POL_BUCKET, POL_KEY } pol_kind;

/* How every permissions policy starts: the statement list and the deny of
 * requests without TLS, then for S3 the denies of uploads that are not
 * SSE-KMS with the side's key (primary or replica). A bucket or key policy
 * denies everyone ("Principal":"*") on the bucket and its objects, or on the
 * key; an identity policy denies its holder everything in S3. */
static void policy_open(pqf_err *rc, pqf__buf *b, const tpl *t, pol_kind kind, bool primary)
{
    const char *who = kind == POL_IDENTITY ? "" : "\"Principal\":\"*\",";
    const char *all = primary ? t->pb_all : t->rb_all;
    char res[256];
    if (kind == POL_BUCKET)
        snprintf(res, sizeof res, "[\"%s\",\"%s\"]", primary ? t->pb_arn : t->rb_arn, all);
    else
        snprintf(res, sizeof res, "\"*\"");
    pf(rc, b,
       "{\"Version\":\"2012-10-17\",\"Statement\":["
       "{\"Sid\":\"DenyInsecureTransport\",\"Effect\":\"Deny\",%s\"Action\":\"%s\","
       "\"Resource\":%s,\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}",
       who, kind == POL_KEY ? "kms:*" : "s3:*", res);
    if (kind == POL_KEY)
        return;
    pf(rc, b,
       ",{\"Sid\":\"DenyUnencryptedUploads\",\"Effect\":\"Deny\",%s\"Action\":\"s3:PutObject\","
       "\"Resource\":\"%s\",\"Condition\":{\"StringNotEquals\":{"
       "\"s3:x-amz-server-side-encryption\":\"aws:kms\"}}}"
       ",{\"Sid\":\"DenyUploadsWithAnotherKey\",\"Effect\":\"Deny\",%s\"Action\":\"s3:PutObject\","
       "\"Resource\":\"%s\",\"Condition\":{\"StringNotEquals\":{"
       "\"s3:x-amz-server-side-encryption-aws-kms-key-id\":\"%s\"}}}",
       who, all, who, all, primary ? t->pkey : t->rkey);
}

/* One Allow statement after the first. principal: "" in an identity policy,
 * else the whole member ("\"Principal\":{\"AWS\":\"arn\"},"); actions: a JSON
 * string or list; cond: "" or the Condition member with its leading comma. */
static void allow(pqf_err *rc, pqf__buf *b, const char *sid, const char *principal,
                  const char *actions, const char *resource, const char *cond)
{
    pf(rc, b, ",{\"Sid\":\"%s\",\"Effect\":\"Allow\",%s\"Action\":%s,\"Resource\":\"%s\"%s}", sid,
       principal, actions, resource, cond);
}

/* Listing a bucket, under the feed's prefix where there is one. */
static void allow_list(pqf_err *rc, pqf__buf *b, const char *sid, const char *principal,
                       const char *bucket_arn, const char *prefix)
{
    char cond[320] = "";
    if (*prefix)
        snprintf(cond, sizeof cond, ",\"Condition\":{\"StringLike\":{\"s3:prefix\":\"%s*\"}}",
                 prefix);
    allow(rc, b, sid, principal, "\"s3:ListBucket\"", bucket_arn, cond);
}

/* Use of the side's KMS key, only through S3 in its region and only for the
 * feed's objects. The resource is the key: its ARN in an identity policy
 * (principal ""), "*" in the key's own policy. */
static void allow_kms(pqf_err *rc, pqf__buf *b, const tpl *t, bool primary, const char *sid,
                      const char *principal, const char *actions)
{
    char cond[1024];
    snprintf(cond, sizeof cond,
             ",\"Condition\":{\"StringEquals\":{\"kms:ViaService\":\"s3.%s.amazonaws.com\"},"
             "\"StringLike\":{\"kms:EncryptionContext:aws:s3:arn\":\"%s\"}}",
             primary ? t->preg : t->rreg, primary ? t->pb_obj : t->rb_obj);
    allow(rc, b, sid, principal, actions, *principal ? "*" : primary ? t->pkey : t->rkey, cond);
}

/* The Principal member naming one AWS principal. */
static const char *aws_principal(char *dst, size_t n, const char *arn)
{
    snprintf(dst, n, "\"Principal\":{\"AWS\":\"%s\"},", arn);
    return dst;
}

/* The replication configuration: PutBucketReplication names the rule's id
 * "ID", CloudFormation "Id". */
static void replication_config(pqf_err *rc, pqf__buf *b, const tpl *t, const char *id)
{
    pf(rc, b,
       "{\"Role\":\"%s\",\"Rules\":[{\"%s\":\"pqfeed-dr\",\"Priority\":1,\"Status\":\"Enabled\","
       "\"Filter\":{\"Prefix\":\"%s\"},\"DeleteMarkerReplication\":{\"Status\":\"%s\"},"
       "\"SourceSelectionCriteria\":{\"SseKmsEncryptedObjects\":{\"Status\":\"Enabled\"}},"
       "\"Destination\":{\"Bucket\":\"%s\",\"Account\":\"%s\","
       "\"AccessControlTranslation\":{\"Owner\":\"Destination\"},"
       "\"EncryptionConfiguration\":{\"ReplicaKmsKeyID\":\"%s\"},"
       "\"ReplicationTime\":{\"Status\":\"Enabled\",\"Time\":{\"Minutes\":15}},"
       "\"Metrics\":{\"Status\":\"Enabled\",\"EventThreshold\":{\"Minutes\":15}}}}]}",
       t->repl_role, id, t->prefix, t->o->replicate_delete_markers ? "Enabled" : "Disabled",
       t->rb_arn, t->ra, t->rkey);
}

static pqf_err compose(tpl *t)
{
    pqf_err rc = PQF_OK;
    pqf__buf *b;
    char res[400], who[512];

    /* 1. replication configuration (PutBucketReplication, as `aws s3api` takes it) */
    replication_config(&rc, &t->doc[PQF__TPL_REPLICATION], t, "ID");

    /* 2. trust policy: only S3, only for the primary bucket of the primary account */
    b = &t->doc[PQF__TPL_TRUST];
    pf(&rc, b,
       "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"S3ReplicationAssumesRole\","
       "\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"s3.amazonaws.com\"},"
       "\"Action\":\"sts:AssumeRole\",\"Condition\":{\"StringEquals\":{\"aws:SourceAccount\":"
       "\"%s\"},\"ArnEquals\":{\"aws:SourceArn\":\"%s\"}}}]}",
       t->pa, t->pb_arn);

    /* 3. the replication role's permissions */
    b = &t->doc[PQF__TPL_REPL_POLICY];
    policy_open(&rc, b, t, POL_IDENTITY, false);
    allow(&rc, b, "ReadReplicationConfiguration", "",
          "[\"s3:GetReplicationConfiguration\",\"s3:ListBucket\"]", t->pb_arn, "");
    allow(&rc, b, "ReadSourceVersions", "",
          "[\"s3:GetObjectVersionForReplication\",\"s3:GetObjectVersionAcl\","
          "\"s3:GetObjectVersionTagging\"]",
          t->pb_obj, "");
    allow(&rc, b, "WriteReplicas", "", S3_REPLICATE, t->rb_obj, "");
    allow_kms(&rc, b, t, true, "DecryptSource", "", KMS_DECRYPT);
    allow_kms(&rc, b, t, false, "EncryptReplicas", "", KMS_ENCRYPT);
    pf(&rc, b, "]}");

    /* 4. primary bucket policy */
    b = &t->doc[PQF__TPL_PRIMARY_BUCKET];
    policy_open(&rc, b, t, POL_BUCKET, true);
    aws_principal(who, sizeof who, t->replicator);
    allow_list(&rc, b, "ReplicaAccountReplicatorLists", who, t->pb_arn, t->prefix);
    allow(&rc, b, "ReplicaAccountReplicatorReads", who, S3_READ_VERSIONS, t->pb_obj, "");
    pf(&rc, b, "]}");

    /* 5. replica bucket policy */
    b = &t->doc[PQF__TPL_REPLICA_BUCKET];
    policy_open(&rc, b, t, POL_BUCKET, false);
    aws_principal(who, sizeof who, t->repl_role);
    allow(&rc, b, "SourceReplicationChecksVersioning", who, "\"s3:GetBucketVersioning\"", t->rb_arn,
          "");
    allow(&rc, b, "SourceReplicationWrites", who, S3_REPLICATE, t->rb_obj, "");
    pf(&rc, b, "]}");

    /* 6. exporter (primary account): feed objects, conditional puts, gc of data files */
    b = &t->doc[PQF__TPL_EXPORTER];
    policy_open(&rc, b, t, POL_IDENTITY, true);
    allow_list(&rc, b, "ListFeed", "", t->pb_arn, t->prefix);
    allow(&rc, b, "ListOwnUploads", "", S3_LIST_UPLOADS, t->pb_arn, "");
    allow(&rc, b, "ReadWriteFeed", "", S3_READ_WRITE, t->pb_obj, "");
    snprintf(res, sizeof res, "arn:aws:s3:::%s/%s*/data/*", t->pb, t->prefix);
    allow(&rc, b, "GcDeletesDataFiles", "", "\"s3:DeleteObject\"", res, "");
    allow_kms(&rc, b, t, true, "EncryptWithFeedKey", "", KMS_USE);
    pf(&rc, b, "]}");

    /* 7. replicator (replica account): reads the primary, writes the replica */
    b = &t->doc[PQF__TPL_REPLICATOR];
    policy_open(&rc, b, t, POL_IDENTITY, false);
    allow_list(&rc, b, "ListPrimaryFeed", "", t->pb_arn, t->prefix);
    allow_list(&rc, b, "ListReplicaFeed", "", t->rb_arn, t->prefix);
    allow(&rc, b, "ReadPrimaryFeed", "", S3_READ_VERSIONS, t->pb_obj, "");
    allow(&rc, b, "ListOwnUploads", "", S3_LIST_UPLOADS, t->rb_arn, "");
    allow(&rc, b, "WriteReplicaFeed", "", S3_READ_WRITE, t->rb_obj, "");
    allow_kms(&rc, b, t, true, "DecryptPrimary", "", KMS_DECRYPT);
    allow_kms(&rc, b, t, false, "EncryptReplica", "", KMS_USE);
    pf(&rc, b, "]}");

    /* 8. consumer (replica account): reads the replica only */
    b = &t->doc[PQF__TPL_CONSUMER];
    policy_open(&rc, b, t, POL_IDENTITY, false);
    allow_list(&rc, b, "ListReplicaFeed", "", t->rb_arn, t->prefix);
    allow(&rc, b, "ReadReplicaFeed", "", "\"s3:GetObject\"", t->rb_obj, "");
    allow_kms(&rc, b, t, false, "DecryptReplica", "", KMS_DECRYPT);
    pf(&rc, b, "]}");

    /* 9, 10. key policies: administration by the owner account, use by name */
    static const char admin[] =
        "[\"kms:DescribeKey\",\"kms:GetKeyPolicy\",\"kms:PutKeyPolicy\",\"kms:"
        "GetKeyRotationStatus\","
        "\"kms:EnableKeyRotation\",\"kms:ListResourceTags\",\"kms:TagResource\","
        "\"kms:UntagResource\",\"kms:UpdateKeyDescription\",\"kms:ListGrants\","
        "\"kms:RevokeGrant\",\"kms:EnableKey\",\"kms:DisableKey\",\"kms:ScheduleKeyDeletion\","
        "\"kms:CancelKeyDeletion\"]";
    for (int primary = 1; primary >= 0; primary--) {
        b = &t->doc[primary ? PQF__TPL_PRIMARY_KEY : PQF__TPL_REPLICA_KEY];
        policy_open(&rc, b, t, POL_KEY, primary);
        snprintf(res, sizeof res, "arn:aws:iam::%s:root", primary ? t->pa : t->ra);
        allow(&rc, b, "OwnerAdministers", aws_principal(who, sizeof who, res), admin, "*", "");
        if (primary) {
            allow_kms(&rc, b, t, true, "ExporterEncrypts",
                      aws_principal(who, sizeof who, t->exporter), KMS_USE);
            snprintf(who, sizeof who, "\"Principal\":{\"AWS\":[\"%s\",\"%s\"]},", t->repl_role,
                     t->replicator);
            allow_kms(&rc, b, t, true, "ReplicationAndReplicatorDecrypt", who, KMS_DECRYPT);
        } else {
            allow_kms(&rc, b, t, false, "SourceReplicationEncrypts",
                      aws_principal(who, sizeof who, t->repl_role), KMS_ENCRYPT);
            allow_kms(&rc, b, t, false, "ReplicatorEncrypts",
                      aws_principal(who, sizeof who, t->replicator), KMS_USE);
            allow_kms(&rc, b, t, false, "ConsumerDecrypts",
                      aws_principal(who, sizeof who, t->consumer), KMS_DECRYPT);
        }
        pf(&rc, b, "]}");
    }
    return rc;
}

/* ---- pretty printing ----------------------------------------------------------- */

static pqf_err indent(pqf__buf *o, int n)
{
    pqf_err rc = pqf__buf_append_byte(o, '\n');
    for (int i = 0; i < n && rc == PQF_OK; i++)
        rc = pqf__buf_append(o, "  ", 2);
    return rc;
}

/* Lay out compact JSON (our own, well-formed) with two-space indents, each
 * line after the first starting base levels deep. */
pqf_err pqf__json_pretty(pqf__buf *o, const char *j, size_t n, int base)
{
    pqf_err rc = PQF_OK;
    int d = base;
    bool in_str = false;
    for (size_t i = 0; i < n && rc == PQF_OK; i++) {
        char c = j[i];
        if (in_str) {
            rc = pqf__buf_append_byte(o, (uint8_t)c);
            if (c == '\\' && i + 1 < n)
                rc = rc ? rc : pqf__buf_append_byte(o, (uint8_t)j[++i]);
            else if (c == '"')
                in_str = false;
            continue;
        }
        switch (c) {
        case '"':
            in_str = true;
            rc = pqf__buf_append_byte(o, '"');
            break;
        case '{':
        case '[':
            if (i + 1 < n && (j[i + 1] == '}' || j[i + 1] == ']')) {
                rc = pqf__buf_append(o, j + i, 2);
                i++;
                break;
            }
            rc = pqf__buf_append_byte(o, (uint8_t)c);
            if (rc == PQF_OK)
                rc = indent(o, ++d);
            break;
        case '}':
        case ']':
            rc = indent(o, --d);
            if (rc == PQF_OK)
                rc = pqf__buf_append_byte(o, (uint8_t)c);
            break;
        case ',':
            rc = pqf__buf_append_byte(o, ',');
            if (rc == PQF_OK)
                rc = indent(o, d);
            break;
        case ':':
            rc = pqf__buf_append(o, ": ", 2);
            break;
        default:
            rc = pqf__buf_append_byte(o, (uint8_t)c);
        }
    }
    return rc;
}

/* ---- JSON bundle ------------------------------------------------------------------- */

static void settings_json(pqf_err *rc, pqf__buf *b, const tpl *t, const char *key)
{
    pf(rc, b,
       "{\"versioning\":{\"Status\":\"Enabled\"},"
       "\"lifecycle\":{\"Rules\":[{\"ID\":\"%s\",\"Status\":\"Enabled\",\"Filter\":{\"Prefix\":"
       "\"%s\"},\"Expiration\":{\"ExpiredObjectDeleteMarker\":%s},\"NoncurrentVersionExpiration\":"
       "{\"NoncurrentDays\":%u,\"NewerNoncurrentVersions\":%u},\"AbortIncompleteMultipartUpload\":"
       "{\"DaysAfterInitiation\":%u}}]},"
       "\"encryption\":{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":"
       "\"aws:kms\",\"KMSMasterKeyID\":\"%s\"},\"BucketKeyEnabled\":true}]},"
       "\"public_access_block\":{\"BlockPublicAcls\":true,\"IgnorePublicAcls\":true,"
       "\"BlockPublicPolicy\":true,\"RestrictPublicBuckets\":true},"
       "\"ownership_controls\":{\"Rules\":[{\"ObjectOwnership\":\"BucketOwnerEnforced\"}]}}",
       PQF_LIFECYCLE_RULE_ID, t->prefix, t->lc.expired_delete_markers ? "true" : "false",
       t->lc.noncurrent_days, t->lc.keep_newest, t->lc.abort_mpu_days, key);
}

/* The output of the JSON formats: compact JSON b laid out, and a newline. */
static pqf_err pretty_out(pqf__buf *out, const pqf__buf *b)
{
    pqf_err rc = pqf__json_pretty(out, (const char *)b->data, b->len, 0);
    return rc == PQF_OK ? pqf__buf_append_byte(out, '\n') : rc;
}

static pqf_err render_json(tpl *t, pqf__buf *out)
{
    pqf_err rc = PQF_OK;
    pqf__buf b;
    pqf__buf_init(&b, OUT_CAP);
    pf(&rc, &b,
       "{\"pqfeed_template\":1,\"primary\":{\"account\":\"%s\",\"bucket\":\"%s\",\"region\":"
       "\"%s\",\"kms_key\":\"%s\",\"settings\":",
       t->pa, t->pb, t->preg, t->pkey);
    settings_json(&rc, &b, t, t->pkey);
    pf(&rc, &b,
       "},\"replica\":{\"account\":\"%s\",\"bucket\":\"%s\",\"region\":\"%s\","
       "\"kms_key\":\"%s\",\"settings\":",
       t->ra, t->rb, t->rreg, t->rkey);
    settings_json(&rc, &b, t, t->rkey);
    pf(&rc, &b, "},\"prefix\":\"%s\",\"documents\":{", t->prefix);
    for (int i = 0; i < PQF__TPL_NDOCS && rc == PQF_OK; i++) {
        pf(&rc, &b, "%s\"%s\":", i ? "," : "", pqf__tpl_doc_names[i]);
        put_doc(&rc, &b, t, i);
    }
    pf(&rc, &b, "}}");
    if (rc == PQF_OK)
        rc = pretty_out(out, &b);
    pqf__buf_free(&b);
    return rc;
}

/* ---- CloudFormation ------------------------------------------------------------ */

static void cfn_bucket(pqf_err *rc, pqf__buf *b, const tpl *t, bool primary)
{
    pf(rc, b,
       "\"%s\":{\"Type\":\"AWS::S3::Bucket\",\"DeletionPolicy\":\"Retain\",%s\"Properties\":{"
       "\"BucketName\":\"%s\",\"VersioningConfiguration\":{\"Status\":\"Enabled\"},"
       "\"LifecycleConfiguration\":{\"Rules\":[{\"Id\":\"%s\",\"Status\":\"Enabled\","
       "\"Prefix\":\"%s\",\"ExpiredObjectDeleteMarker\":%s,\"NoncurrentVersionExpiration\":{"
       "\"NoncurrentDays\":%u,\"NewerNoncurrentVersions\":%u},\"AbortIncompleteMultipartUpload\":"
       "{\"DaysAfterInitiation\":%u}}]},"
       "\"BucketEncryption\":{\"ServerSideEncryptionConfiguration\":[{"
       "\"ServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":"
       "\"%s\"},\"BucketKeyEnabled\":true}]},"
       "\"PublicAccessBlockConfiguration\":{\"BlockPublicAcls\":true,\"IgnorePublicAcls\":true,"
       "\"BlockPublicPolicy\":true,\"RestrictPublicBuckets\":true},"
       "\"OwnershipControls\":{\"Rules\":[{\"ObjectOwnership\":\"BucketOwnerEnforced\"}]}",
       primary ? "PrimaryBucket" : "ReplicaBucket",
       primary ? "\"DependsOn\":\"ReplicationRole\"," : "", primary ? t->pb : t->rb,
       PQF_LIFECYCLE_RULE_ID, t->prefix, t->lc.expired_delete_markers ? "true" : "false",
       t->lc.noncurrent_days, t->lc.keep_newest, t->lc.abort_mpu_days, primary ? t->pkey : t->rkey);
    if (primary) {
        pf(rc, b, ",\"ReplicationConfiguration\":");
        replication_config(rc, b, t, "Id");
    }
    pf(rc, b, "}}");
}

static void cfn_policy(pqf_err *rc, pqf__buf *b, const tpl *t, const char *name, int doc,
                       const char *desc)
{
    pf(rc, b,
       ",\"%sPolicy\":{\"Type\":\"AWS::IAM::ManagedPolicy\",\"Properties\":{"
       "\"ManagedPolicyName\":\"pqfeed-%s\",\"Description\":\"%s\",\"PolicyDocument\":",
       name, pqf__tpl_doc_names[doc], desc);
    put_doc(rc, b, t, doc);
    pf(rc, b, "}}");
}

static pqf_err render_cfn(tpl *t, bool primary, pqf__buf *out)
{
    pqf_err rc = PQF_OK;
    pqf__buf b;
    pqf__buf_init(&b, OUT_CAP);
    pf(&rc, &b,
       "{\"AWSTemplateFormatVersion\":\"2010-09-09\",\"Description\":\"pqfeed %s account "
       "(%s): bucket %s with versioning, lifecycle, SSE-KMS, public access block and policy%s. "
       "The KMS key policy (pqfeed template --format json: %s_kms_key_policy) is applied with "
       "aws kms put-key-policy: CloudFormation cannot attach a policy to an existing key.\","
       "\"Metadata\":{\"pqfeed\":{\"account\":\"%s\",\"kms_key\":\"%s\",\"prefix\":\"%s\"}},"
       "\"Resources\":{",
       primary ? "primary" : "replica", primary ? t->pa : t->ra, primary ? t->pb : t->rb,
       primary ? ", native replication to the replica, the replication role and the exporter "
                 "policy"
               : ", replicator and consumer policies",
       primary ? "primary" : "replica", primary ? t->pa : t->ra, primary ? t->pkey : t->rkey,
       t->prefix);
    if (primary) {
        pf(&rc, &b,
           "\"ReplicationRole\":{\"Type\":\"AWS::IAM::Role\",\"Properties\":{\"RoleName\":"
           "\"pqfeed-replication\",\"AssumeRolePolicyDocument\":");
        put_doc(&rc, &b, t, PQF__TPL_TRUST);
        pf(&rc, &b, ",\"Policies\":[{\"PolicyName\":\"pqfeed-replication\",\"PolicyDocument\":");
        put_doc(&rc, &b, t, PQF__TPL_REPL_POLICY);
        pf(&rc, &b, "}]}},");
    }
    cfn_bucket(&rc, &b, t, primary);
    pf(&rc, &b,
       ",\"%sBucketPolicy\":{\"Type\":\"AWS::S3::BucketPolicy\",\"Properties\":{\"Bucket\":"
       "{\"Ref\":\"%sBucket\"},\"PolicyDocument\":",
       primary ? "Primary" : "Replica", primary ? "Primary" : "Replica");
    put_doc(&rc, &b, t, primary ? PQF__TPL_PRIMARY_BUCKET : PQF__TPL_REPLICA_BUCKET);
    pf(&rc, &b, "}}");
    if (primary) {
        cfn_policy(&rc, &b, t, "Exporter", PQF__TPL_EXPORTER,
                   "pqfeed export and gc: attach to the role named pqfeed-exporter");
    } else {
        cfn_policy(&rc, &b, t, "Replicator", PQF__TPL_REPLICATOR,
                   "pqfeed replicate: attach to the role named pqfeed-replicator");
        cfn_policy(&rc, &b, t, "Consumer", PQF__TPL_CONSUMER,
                   "pqfeed consumers: attach to the role named pqfeed-consumer");
    }
    pf(&rc, &b,
       "},\"Outputs\":{\"BucketArn\":{\"Value\":{\"Fn::GetAtt\":[\"%sBucket\",\"Arn\"]}}}}",
       primary ? "Primary" : "Replica");
    if (rc == PQF_OK)
        rc = pretty_out(out, &b);
    pqf__buf_free(&b);
    return rc;
}

/* ---- Terraform ----------------------------------------------------------------------- */

/* A block's last attribute, a policy document as a heredoc, and the block's end. */
static void tf_heredoc(pqf_err *rc, pqf__buf *b, const char *attr, const pqf__buf *doc)
{
    pf(rc, b, "  %s = <<-EOT\n    ", attr);
    if (*rc == PQF_OK)
        *rc = pqf__json_pretty(b, (const char *)doc->data, doc->len, 2);
    pf(rc, b, "\n  EOT\n}\n\n");
}

static void tf_bucket(pqf_err *rc, pqf__buf *b, const tpl *t, bool primary)
{
    const char *side = primary ? "primary" : "replica";
    const char *bucket = primary ? t->pb : t->rb;
    const char *key = primary ? t->pkey : t->rkey;
    pf(rc, b,
       "resource \"aws_s3_bucket_versioning\" \"%s\" {\n"
       "  provider = aws.%s\n"
       "  bucket   = \"%s\"\n"
       "  versioning_configuration {\n    status = \"Enabled\"\n  }\n}\n\n",
       side, side, bucket);
    pf(rc, b,
       "resource \"aws_s3_bucket_lifecycle_configuration\" \"%s\" {\n"
       "  provider   = aws.%s\n"
       "  bucket     = \"%s\"\n"
       "  depends_on = [aws_s3_bucket_versioning.%s]\n"
       "  rule {\n    id     = \"%s\"\n    status = \"Enabled\"\n"
       "    filter {\n      prefix = \"%s\"\n    }\n"
       "    expiration {\n      expired_object_delete_marker = %s\n    }\n"
       "    noncurrent_version_expiration {\n      noncurrent_days           = %u\n"
       "      newer_noncurrent_versions = %u\n    }\n"
       "    abort_incomplete_multipart_upload {\n      days_after_initiation = %u\n    }\n"
       "  }\n}\n\n",
       side, side, bucket, side, PQF_LIFECYCLE_RULE_ID, t->prefix,
       t->lc.expired_delete_markers ? "true" : "false", t->lc.noncurrent_days, t->lc.keep_newest,
       t->lc.abort_mpu_days);
    pf(rc, b,
       "resource \"aws_s3_bucket_server_side_encryption_configuration\" \"%s\" {\n"
       "  provider = aws.%s\n"
       "  bucket   = \"%s\"\n"
       "  rule {\n    apply_server_side_encryption_by_default {\n"
       "      sse_algorithm     = \"aws:kms\"\n      kms_master_key_id = \"%s\"\n    }\n"
       "    bucket_key_enabled = true\n  }\n}\n\n",
       side, side, bucket, key);
    pf(rc, b,
       "resource \"aws_s3_bucket_public_access_block\" \"%s\" {\n"
       "  provider                = aws.%s\n"
       "  bucket                  = \"%s\"\n"
       "  block_public_acls       = true\n  ignore_public_acls      = true\n"
       "  block_public_policy     = true\n  restrict_public_buckets = true\n}\n\n",
       side, side, bucket);
    pf(rc, b,
       "resource \"aws_s3_bucket_ownership_controls\" \"%s\" {\n"
       "  provider = aws.%s\n"
       "  bucket   = \"%s\"\n"
       "  rule {\n    object_ownership = \"BucketOwnerEnforced\"\n  }\n}\n\n",
       side, side, bucket);
    pf(rc, b,
       "# pqfeed-audit: kind=bucket account=%s kms_key=%s\n"
       "resource \"aws_s3_bucket_policy\" \"%s\" {\n"
       "  provider = aws.%s\n"
       "  bucket   = \"%s\"\n",
       primary ? t->pa : t->ra, key, side, side, bucket);
    tf_heredoc(rc, b, "policy",
               &t->doc[primary ? PQF__TPL_PRIMARY_BUCKET : PQF__TPL_REPLICA_BUCKET]);
}

static void tf_iam_policy(pqf_err *rc, pqf__buf *b, const tpl *t, const char *name,
                          const char *side, const char *account, const char *key, int doc)
{
    pf(rc, b,
       "# pqfeed-audit: kind=identity account=%s kms_key=%s\n"
       "resource \"aws_iam_policy\" \"%s\" {\n"
       "  provider    = aws.%s\n"
       "  name        = \"pqfeed-%s\"\n"
       "  description = \"pqfeed %s: attach to the role named pqfeed-%s\"\n",
       account, key, name, side, name, name, name);
    tf_heredoc(rc, b, "policy", &t->doc[doc]);
}

static void tf_key_policy(pqf_err *rc, pqf__buf *b, const tpl *t, bool primary)
{
    const char *side = primary ? "primary" : "replica";
    pf(rc, b,
       "# pqfeed-audit: kind=key account=%s\n"
       "resource \"aws_kms_key_policy\" \"%s\" {\n"
       "  provider = aws.%s\n"
       "  key_id   = \"%s\"\n",
       primary ? t->pa : t->ra, side, side, primary ? t->pkey : t->rkey);
    tf_heredoc(rc, b, "policy", &t->doc[primary ? PQF__TPL_PRIMARY_KEY : PQF__TPL_REPLICA_KEY]);
}

static pqf_err render_tf(tpl *t, pqf__buf *out)
{
    pqf_err rc = PQF_OK;
    pqf__buf *b = out;
    pf(&rc, b,
       "# pqfeed: a feed's primary (account %s, bucket %s) and replica (account %s,\n"
       "# bucket %s), written by `pqfeed template --format terraform`. The buckets and\n"
       "# the KMS keys exist already; the roles pqfeed-exporter, pqfeed-replicator and\n"
       "# pqfeed-consumer are yours to create (attach the policies below).\n"
       "# docs/SECURITY.md explains every statement.\n\n"
       "terraform {\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n"
       "      version = \">= 5.0\"\n    }\n  }\n}\n\n"
       "variable \"primary_profile\" {\n  type    = string\n  default = \"primary\"\n}\n\n"
       "variable \"replica_profile\" {\n  type    = string\n  default = \"replica\"\n}\n\n"
       "provider \"aws\" {\n  alias   = \"primary\"\n  region  = \"%s\"\n"
       "  profile = var.primary_profile\n  allowed_account_ids = [\"%s\"]\n}\n\n"
       "provider \"aws\" {\n  alias   = \"replica\"\n  region  = \"%s\"\n"
       "  profile = var.replica_profile\n  allowed_account_ids = [\"%s\"]\n}\n\n",
       t->pa, t->pb, t->ra, t->rb, t->preg, t->pa, t->rreg, t->ra);
    tf_bucket(&rc, b, t, true);
    tf_bucket(&rc, b, t, false);
    pf(&rc, b,
       "# pqfeed-audit: kind=trust account=%s\n"
       "resource \"aws_iam_role\" \"replication\" {\n"
       "  provider = aws.primary\n"
       "  name     = \"pqfeed-replication\"\n",
       t->pa);
    tf_heredoc(&rc, b, "assume_role_policy", &t->doc[PQF__TPL_TRUST]);
    pf(&rc, b,
       "# pqfeed-audit: kind=identity account=%s kms_key=%s\n"
       "resource \"aws_iam_role_policy\" \"replication\" {\n"
       "  provider = aws.primary\n"
       "  name     = \"pqfeed-replication\"\n"
       "  role     = aws_iam_role.replication.id\n",
       t->pa, t->rkey);
    tf_heredoc(&rc, b, "policy", &t->doc[PQF__TPL_REPL_POLICY]);
    tf_iam_policy(&rc, b, t, "exporter", "primary", t->pa, t->pkey, PQF__TPL_EXPORTER);
    tf_iam_policy(&rc, b, t, "replicator", "replica", t->ra, t->rkey, PQF__TPL_REPLICATOR);
    tf_iam_policy(&rc, b, t, "consumer", "replica", t->ra, t->rkey, PQF__TPL_CONSUMER);
    tf_key_policy(&rc, b, t, true);
    tf_key_policy(&rc, b, t, false);
    pf(&rc, b,
       "resource \"aws_s3_bucket_replication_configuration\" \"primary\" {\n"
       "  provider   = aws.primary\n"
       "  depends_on = [aws_s3_bucket_versioning.primary, aws_s3_bucket_versioning.replica]\n"
       "  role       = aws_iam_role.replication.arn\n"
       "  bucket     = \"%s\"\n"
       "  rule {\n    id       = \"pqfeed-dr\"\n    priority = 1\n    status   = \"Enabled\"\n"
       "    filter {\n      prefix = \"%s\"\n    }\n"
       "    delete_marker_replication {\n      status = \"%s\"\n    }\n"
       "    source_selection_criteria {\n      sse_kms_encrypted_objects {\n"
       "        status = \"Enabled\"\n      }\n    }\n"
       "    destination {\n      bucket  = \"%s\"\n      account = \"%s\"\n"
       "      access_control_translation {\n        owner = \"Destination\"\n      }\n"
       "      encryption_configuration {\n        replica_kms_key_id = \"%s\"\n      }\n"
       "      replication_time {\n        status = \"Enabled\"\n        time {\n"
       "          minutes = 15\n        }\n      }\n"
       "      metrics {\n        status = \"Enabled\"\n        event_threshold {\n"
       "          minutes = 15\n        }\n      }\n    }\n  }\n}\n",
       t->pb, t->prefix, t->o->replicate_delete_markers ? "Enabled" : "Disabled", t->rb_arn, t->ra,
       t->rkey);
    return rc;
}

pqf_err pqf_template_render(const pqf_template_opts *o, pqf_template_format fmt, char **out,
                            pqf_error *err)
{
    pqf_err rc = PQF_OK;
    tpl t;
    pqf__buf b;
    pqf__buf_init(&b, OUT_CAP);
    *out = NULL;
    PQF_TRY(setup(&t, o, err));
    if (compose(&t) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_LIMIT, "template: a document outgrew its buffer");
    switch (fmt) {
    case PQF_TEMPLATE_JSON:
        rc = render_json(&t, &b);
        break;
    case PQF_TEMPLATE_TERRAFORM:
        rc = render_tf(&t, &b);
        break;
    case PQF_TEMPLATE_CFN_PRIMARY:
    case PQF_TEMPLATE_CFN_REPLICA:
        rc = render_cfn(&t, fmt == PQF_TEMPLATE_CFN_PRIMARY, &b);
        break;
    default:
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "template: unknown format %d", (int)fmt);
    }
    if (rc == PQF_OK)
        rc = pqf__buf_cstr(&b);
    if (rc != PQF_OK)
        PQF_FAIL(err, rc, "template: output too large");
    *out = (char *)pqf__buf_steal(&b, NULL);
done:
    teardown(&t);
    pqf__buf_free(&b);
    return rc;
}
