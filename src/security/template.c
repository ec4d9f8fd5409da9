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

/* The two statements every permissions policy starts with. principal: "" for
 * an identity policy, else the Principal member ("\"Principal\":\"*\","). */
static void deny_tls(pqf_err *rc, pqf__buf *b, const char *principal, const char *action,
                     const char *resources)
{
    pf(rc, b,
       "{\"Sid\":\"DenyInsecureTransport\",\"Effect\":\"Deny\",%s\"Action\":\"%s\","
       "\"Resource\":%s,\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}",
       principal, action, resources);
}

static void deny_unencrypted(pqf_err *rc, pqf__buf *b, const char *principal, const char *objects,
                             const char *key)
{
    pf(rc, b,
       ",{\"Sid\":\"DenyUnencryptedUploads\",\"Effect\":\"Deny\",%s\"Action\":\"s3:PutObject\","
       "\"Resource\":%s,\"Condition\":{\"StringNotEquals\":{\"s3:x-amz-server-side-encryption\":"
       "\"aws:kms\"}}}"
       ",{\"Sid\":\"DenyUploadsWithAnotherKey\",\"Effect\":\"Deny\",%s\"Action\":\"s3:PutObject\","
       "\"Resource\":%s,\"Condition\":{\"StringNotEquals\":{"
       "\"s3:x-amz-server-side-encryption-aws-kms-key-id\":\"%s\"}}}",
       principal, objects, principal, objects, key);
}

static void kms_via(pqf_err *rc, pqf__buf *b, const char *region, const char *obj_arn)
{
    pf(rc, b,
       "\"Condition\":{\"StringEquals\":{\"kms:ViaService\":\"s3.%s.amazonaws.com\"},"
       "\"StringLike\":{\"kms:EncryptionContext:aws:s3:arn\":\"%s\"}}",
       region, obj_arn);
}

static void list_prefix(pqf_err *rc, pqf__buf *b, const char *sid, const char *principal,
                        const char *bucket_arn, const char *prefix)
{
    if (*prefix)
        pf(rc, b,
           ",{\"Sid\":\"%s\",\"Effect\":\"Allow\",%s\"Action\":\"s3:ListBucket\","
           "\"Resource\":\"%s\",\"Condition\":{\"StringLike\":{\"s3:prefix\":\"%s*\"}}}",
           sid, principal, bucket_arn, prefix);
    else
        pf(rc, b,
           ",{\"Sid\":\"%s\",\"Effect\":\"Allow\",%s\"Action\":\"s3:ListBucket\","
           "\"Resource\":\"%s\"}",
           sid, principal, bucket_arn);
}

static pqf_err compose(tpl *t)
{
    pqf_err rc = PQF_OK;
    pqf__buf *b;
    char res[1024], pfx[512];
    const char *dm = t->o->replicate_delete_markers ? "Enabled" : "Disabled";

    /* 1. replication configuration (PutBucketReplication, as `aws s3api` takes it) */
    b = &t->doc[PQF__TPL_REPLICATION];
    pf(&rc, b,
       "{\"Role\":\"%s\",\"Rules\":[{\"ID\":\"pqfeed-dr\",\"Priority\":1,\"Status\":\"Enabled\","
       "\"Filter\":{\"Prefix\":\"%s\"},\"DeleteMarkerReplication\":{\"Status\":\"%s\"},"
       "\"SourceSelectionCriteria\":{\"SseKmsEncryptedObjects\":{\"Status\":\"Enabled\"}},"
       "\"Destination\":{\"Bucket\":\"%s\",\"Account\":\"%s\","
       "\"AccessControlTranslation\":{\"Owner\":\"Destination\"},"
       "\"EncryptionConfiguration\":{\"ReplicaKmsKeyID\":\"%s\"},"
       "\"ReplicationTime\":{\"Status\":\"Enabled\",\"Time\":{\"Minutes\":15}},"
       "\"Metrics\":{\"Status\":\"Enabled\",\"EventThreshold\":{\"Minutes\":15}}}}]}",
       t->repl_role, t->prefix, dm, t->rb_arn, t->ra, t->rkey);

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
    pf(&rc, b, "{\"Version\":\"2012-10-17\",\"Statement\":[");
    deny_tls(&rc, b, "", "s3:*", "\"*\"");
    snprintf(res, sizeof res, "\"%s\"", t->rb_all);
    deny_unencrypted(&rc, b, "", res, t->rkey);
    pf(&rc, b,
       ",{\"Sid\":\"ReadReplicationConfiguration\",\"Effect\":\"Allow\",\"Action\":"
       "[\"s3:GetReplicationConfiguration\",\"s3:ListBucket\"],\"Resource\":\"%s\"}"
       ",{\"Sid\":\"ReadSourceVersions\",\"Effect\":\"Allow\",\"Action\":"
       "[\"s3:GetObjectVersionForReplication\",\"s3:GetObjectVersionAcl\","
       "\"s3:GetObjectVersionTagging\"],\"Resource\":\"%s\"}"
       ",{\"Sid\":\"WriteReplicas\",\"Effect\":\"Allow\",\"Action\":[\"s3:ReplicateObject\","
       "\"s3:ReplicateDelete\",\"s3:ReplicateTags\",\"s3:ObjectOwnerOverrideToBucketOwner\"],"
       "\"Resource\":\"%s\"}"
       ",{\"Sid\":\"DecryptSource\",\"Effect\":\"Allow\",\"Action\":\"kms:Decrypt\","
       "\"Resource\":\"%s\",",
       t->pb_arn, t->pb_obj, t->rb_obj, t->pkey);
    kms_via(&rc, b, t->preg, t->pb_obj);
    pf(&rc, b,
       "},{\"Sid\":\"EncryptReplicas\",\"Effect\":\"Allow\",\"Action\":[\"kms:Encrypt\","
       "\"kms:GenerateDataKey\"],\"Resource\":\"%s\",",
       t->rkey);
    kms_via(&rc, b, t->rreg, t->rb_obj);
    pf(&rc, b, "}]}");

    /* 4. primary bucket policy */
    b = &t->doc[PQF__TPL_PRIMARY_BUCKET];
    snprintf(res, sizeof res, "[\"%s\",\"%s\"]", t->pb_arn, t->pb_all);
    pf(&rc, b, "{\"Version\":\"2012-10-17\",\"Statement\":[");
    deny_tls(&rc, b, "\"Principal\":\"*\",", "s3:*", res);
    snprintf(res, sizeof res, "\"%s\"", t->pb_all);
    deny_unencrypted(&rc, b, "\"Principal\":\"*\",", res, t->pkey);
    snprintf(pfx, sizeof pfx, "\"Principal\":{\"AWS\":\"%s\"},", t->replicator);
    list_prefix(&rc, b, "ReplicaAccountReplicatorLists", pfx, t->pb_arn, t->prefix);
    pf(&rc, b,
       ",{\"Sid\":\"ReplicaAccountReplicatorReads\",\"Effect\":\"Allow\",%s"
       "\"Action\":[\"s3:GetObject\",\"s3:GetObjectVersion\"],\"Resource\":\"%s\"}]}",
       pfx, t->pb_obj);

    /* 5. replica bucket policy */
    b = &t->doc[PQF__TPL_REPLICA_BUCKET];
    snprintf(res, sizeof res, "[\"%s\",\"%s\"]", t->rb_arn, t->rb_all);
    pf(&rc, b, "{\"Version\":\"2012-10-17\",\"Statement\":[");
    deny_tls(&rc, b, "\"Principal\":\"*\",", "s3:*", res);
    snprintf(res, sizeof res, "\"%s\"", t->rb_all);
    deny_unencrypted(&rc, b, "\"Principal\":\"*\",", res, t->rkey);
    snprintf(pfx, sizeof pfx, "\"Principal\":{\"AWS\":\"%s\"},", t->repl_role);
    pf(&rc, b,
       ",{\"Sid\":\"SourceReplicationChecksVersioning\",\"Effect\":\"Allow\",%s"
       "\"Action\":\"s3:GetBucketVersioning\",\"Resource\":\"%s\"}"
       ",{\"Sid\":\"SourceReplicationWrites\",\"Effect\":\"Allow\",%s"
       "\"Action\":[\"s3:ReplicateObject\",\"s3:ReplicateDelete\",\"s3:ReplicateTags\","
       "\"s3:ObjectOwnerOverrideToBucketOwner\"],\"Resource\":\"%s\"}]}",
       pfx, t->rb_arn, pfx, t->rb_obj);

    /* 6. exporter (primary account): feed objects, conditional puts, gc of data files */
    b = &t->doc[PQF__TPL_EXPORTER];
    pf(&rc, b, "{\"Version\":\"2012-10-17\",\"Statement\":[");
    deny_tls(&rc, b, "", "s3:*", "\"*\"");
    snprintf(res, sizeof res, "\"%s\"", t->pb_all);
    deny_unencrypted(&rc, b, "", res, t->pkey);
    list_prefix(&rc, b, "ListFeed", "", t->pb_arn, t->prefix);
    pf(&rc, b,
       ",{\"Sid\":\"ListOwnUploads\",\"Effect\":\"Allow\",\"Action\":"
       "\"s3:ListBucketMultipartUploads\",\"Resource\":\"%s\"}"
       ",{\"Sid\":\"ReadWriteFeed\",\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\","
       "\"s3:PutObject\",\"s3:AbortMultipartUpload\",\"s3:ListMultipartUploadParts\"],"
       "\"Resource\":\"%s\"}"
       ",{\"Sid\":\"GcDeletesDataFiles\",\"Effect\":\"Allow\",\"Action\":\"s3:DeleteObject\","
       "\"Resource\":\"arn:aws:s3:::%s/%s*/data/*\"}"
       ",{\"Sid\":\"EncryptWithFeedKey\",\"Effect\":\"Allow\",\"Action\":[\"kms:GenerateDataKey\","
       "\"kms:Decrypt\"],\"Resource\":\"%s\",",
       t->pb_arn, t->pb_obj, t->pb, t->prefix, t->pkey);
    kms_via(&rc, b, t->preg, t->pb_obj);
    pf(&rc, b, "}]}");

    /* 7. replicator (replica account): reads the primary, writes the replica */
    b = &t->doc[PQF__TPL_REPLICATOR];
    pf(&rc, b, "{\"Version\":\"2012-10-17\",\"Statement\":[");
    deny_tls(&rc, b, "", "s3:*", "\"*\"");
    snprintf(res, sizeof res, "\"%s\"", t->rb_all);
    deny_unencrypted(&rc, b, "", res, t->rkey);
    list_prefix(&rc, b, "ListPrimaryFeed", "", t->pb_arn, t->prefix);
    list_prefix(&rc, b, "ListReplicaFeed", "", t->rb_arn, t->prefix);
    pf(&rc, b,
       ",{\"Sid\":\"ReadPrimaryFeed\",\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\","
       "\"s3:GetObjectVersion\"],\"Resource\":\"%s\"}"
       ",{\"Sid\":\"ListOwnUploads\",\"Effect\":\"Allow\",\"Action\":"
       "\"s3:ListBucketMultipartUploads\",\"Resource\":\"%s\"}"
       ",{\"Sid\":\"WriteReplicaFeed\",\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\","
       "\"s3:PutObject\",\"s3:AbortMultipartUpload\",\"s3:ListMultipartUploadParts\"],"
       "\"Resource\":\"%s\"}"
       ",{\"Sid\":\"DecryptPrimary\",\"Effect\":\"Allow\",\"Action\":\"kms:Decrypt\","
       "\"Resource\":\"%s\",",
       t->pb_obj, t->rb_arn, t->rb_obj, t->pkey);
    kms_via(&rc, b, t->preg, t->pb_obj);
    pf(&rc, b,
       "},{\"Sid\":\"EncryptReplica\",\"Effect\":\"Allow\",\"Action\":[\"kms:GenerateDataKey\","
       "\"kms:Decrypt\"],\"Resource\":\"%s\",",
       t->rkey);
    kms_via(&rc, b, t->rreg, t->rb_obj);
    pf(&rc, b, "}]}");

    /* 8. consumer (replica account): reads the replica only */
    b = &t->doc[PQF__TPL_CONSUMER];
    pf(&rc, b, "{\"Version\":\"2012-10-17\",\"Statement\":[");
    deny_tls(&rc, b, "", "s3:*", "\"*\"");
    snprintf(res, sizeof res, "\"%s\"", t->rb_all);
    deny_unencrypted(&rc, b, "", res, t->rkey);
    list_prefix(&rc, b, "ListReplicaFeed", "", t->rb_arn, t->prefix);
    pf(&rc, b,
       ",{\"Sid\":\"ReadReplicaFeed\",\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\","
       "\"Resource\":\"%s\"}"
       ",{\"Sid\":\"DecryptReplica\",\"Effect\":\"Allow\",\"Action\":\"kms:Decrypt\","
       "\"Resource\":\"%s\",",
       t->rb_obj, t->rkey);
    kms_via(&rc, b, t->rreg, t->rb_obj);
    pf(&rc, b, "}]}");

    /* 9, 10. key policies: administration by the owner account, use by name */
    static const char admin[] =
        "[\"kms:DescribeKey\",\"kms:GetKeyPolicy\",\"kms:PutKeyPolicy\",\"kms:"
        "GetKeyRotationStatus\","
        "\"kms:EnableKeyRotation\",\"kms:ListResourceTags\",\"kms:TagResource\","
        "\"kms:UntagResource\",\"kms:UpdateKeyDescription\",\"kms:ListGrants\","
        "\"kms:RevokeGrant\",\"kms:EnableKey\",\"kms:DisableKey\",\"kms:ScheduleKeyDeletion\","
        "\"kms:CancelKeyDeletion\"]";
    b = &t->doc[PQF__TPL_PRIMARY_KEY];
    pf(&rc, b, "{\"Version\":\"2012-10-17\",\"Statement\":[");
    deny_tls(&rc, b, "\"Principal\":\"*\",", "kms:*", "\"*\"");
    pf(&rc, b,
       ",{\"Sid\":\"OwnerAdministers\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
       "\"arn:aws:iam::%s:root\"},\"Action\":%s,\"Resource\":\"*\"}"
       ",{\"Sid\":\"ExporterEncrypts\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"%s\"},"
       "\"Action\":[\"kms:GenerateDataKey\",\"kms:Decrypt\"],\"Resource\":\"*\",",
       t->pa, admin, t->exporter);
    kms_via(&rc, b, t->preg, t->pb_obj);
    pf(&rc, b,
       "},{\"Sid\":\"ReplicationAndReplicatorDecrypt\",\"Effect\":\"Allow\",\"Principal\":"
       "{\"AWS\":[\"%s\",\"%s\"]},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",",
       t->repl_role, t->replicator);
    kms_via(&rc, b, t->preg, t->pb_obj);
    pf(&rc, b, "}]}");

    b = &t->doc[PQF__TPL_REPLICA_KEY];
    pf(&rc, b, "{\"Version\":\"2012-10-17\",\"Statement\":[");
    deny_tls(&rc, b, "\"Principal\":\"*\",", "kms:*", "\"*\"");
    pf(&rc, b,
       ",{\"Sid\":\"OwnerAdministers\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
       "\"arn:aws:iam::%s:root\"},\"Action\":%s,\"Resource\":\"*\"}"
       ",{\"Sid\":\"SourceReplicationEncrypts\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
       "\"%s\"},\"Action\":[\"kms:Encrypt\",\"kms:GenerateDataKey\"],\"Resource\":\"*\",",
       t->ra, admin, t->repl_role);
    kms_via(&rc, b, t->rreg, t->rb_obj);
    pf(&rc, b,
       "},{\"Sid\":\"ReplicatorEncrypts\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"%s\"},"
       "\"Action\":[\"kms:GenerateDataKey\",\"kms:Decrypt\"],\"Resource\":\"*\",",
       t->replicator);
    kms_via(&rc, b, t->rreg, t->rb_obj);
    pf(&rc, b,
       "},{\"Sid\":\"ConsumerDecrypts\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"%s\"},"
       "\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",",
       t->consumer);
    kms_via(&rc, b, t->rreg, t->rb_obj);
    pf(&rc, b, "}]}");
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
       t->lc.noncurrent_days ? t->lc.noncurrent_days : 1, t->lc.keep_newest,
       t->lc.abort_mpu_days ? t->lc.abort_mpu_days : 1, key);
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
        if (rc == PQF_OK)
            rc = pqf__buf_append(&b, t->doc[i].data, t->doc[i].len);
    }
    pf(&rc, &b, "}}");
    if (rc == PQF_OK)
        rc = pqf__json_pretty(out, (const char *)b.data, b.len, 0);
    if (rc == PQF_OK)
        rc = pqf__buf_append_byte(out, '\n');
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
       t->lc.noncurrent_days ? t->lc.noncurrent_days : 1, t->lc.keep_newest,
       t->lc.abort_mpu_days ? t->lc.abort_mpu_days : 1, primary ? t->pkey : t->rkey);
    if (primary)
        pf(rc, b,
           ",\"ReplicationConfiguration\":{\"Role\":\"%s\",\"Rules\":[{\"Id\":\"pqfeed-dr\","
           "\"Priority\":1,\"Status\":\"Enabled\",\"Filter\":{\"Prefix\":\"%s\"},"
           "\"DeleteMarkerReplication\":{\"Status\":\"%s\"},\"SourceSelectionCriteria\":{"
           "\"SseKmsEncryptedObjects\":{\"Status\":\"Enabled\"}},\"Destination\":{\"Bucket\":"
           "\"%s\",\"Account\":\"%s\",\"AccessControlTranslation\":{\"Owner\":\"Destination\"},"
           "\"EncryptionConfiguration\":{\"ReplicaKmsKeyID\":\"%s\"},\"ReplicationTime\":{"
           "\"Status\":\"Enabled\",\"Time\":{\"Minutes\":15}},\"Metrics\":{\"Status\":"
           "\"Enabled\",\"EventThreshold\":{\"Minutes\":15}}}}]}",
           t->repl_role, t->prefix, t->o->replicate_delete_markers ? "Enabled" : "Disabled",
           t->rb_arn, t->ra, t->rkey);
    pf(rc, b, "}}");
}

static void cfn_policy(pqf_err *rc, pqf__buf *b, const tpl *t, const char *name, int doc,
                       const char *desc)
{
    pf(rc, b,
       ",\"%sPolicy\":{\"Type\":\"AWS::IAM::ManagedPolicy\",\"Properties\":{"
       "\"ManagedPolicyName\":\"pqfeed-%s\",\"Description\":\"%s\",\"PolicyDocument\":",
       name, pqf__tpl_doc_names[doc], desc);
    if (*rc == PQF_OK)
        *rc = pqf__buf_append(b, t->doc[doc].data, t->doc[doc].len);
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
        if (rc == PQF_OK)
            rc = pqf__buf_append(&b, t->doc[PQF__TPL_TRUST].data, t->doc[PQF__TPL_TRUST].len);
        pf(&rc, &b, ",\"Policies\":[{\"PolicyName\":\"pqfeed-replication\",\"PolicyDocument\":");
        if (rc == PQF_OK)
            rc = pqf__buf_append(&b, t->doc[PQF__TPL_REPL_POLICY].data,
                                 t->doc[PQF__TPL_REPL_POLICY].len);
        pf(&rc, &b, "}]}},");
    }
    cfn_bucket(&rc, &b, t, primary);
    pf(&rc, &b,
       ",\"%sBucketPolicy\":{\"Type\":\"AWS::S3::BucketPolicy\",\"Properties\":{\"Bucket\":"
       "{\"Ref\":\"%sBucket\"},\"PolicyDocument\":",
       primary ? "Primary" : "Replica", primary ? "Primary" : "Replica");
    int bp = primary ? PQF__TPL_PRIMARY_BUCKET : PQF__TPL_REPLICA_BUCKET;
    if (rc == PQF_OK)
        rc = pqf__buf_append(&b, t->doc[bp].data, t->doc[bp].len);
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
        rc = pqf__json_pretty(out, (const char *)b.data, b.len, 0);
    if (rc == PQF_OK)
        rc = pqf__buf_append_byte(out, '\n');
    pqf__buf_free(&b);
    return rc;
}

/* ---- Terraform ----------------------------------------------------------------------- */

static void tf_heredoc(pqf_err *rc, pqf__buf *b, const char *attr, const pqf__buf *doc)
{
    pf(rc, b, "  %s = <<-EOT\n    ", attr);
    if (*rc == PQF_OK)
        *rc = pqf__json_pretty(b, (const char *)doc->data, doc->len, 2);
    pf(rc, b, "\n  EOT\n");
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
       t->lc.expired_delete_markers ? "true" : "false",
       t->lc.noncurrent_days ? t->lc.noncurrent_days : 1, t->lc.keep_newest,
       t->lc.abort_mpu_days ? t->lc.abort_mpu_days : 1);
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
    pf(rc, b, "}\n\n");
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
    pf(rc, b, "}\n\n");
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
       "}\n\n# pqfeed-audit: kind=identity account=%s kms_key=%s\n"
       "resource \"aws_iam_role_policy\" \"replication\" {\n"
       "  provider = aws.primary\n"
       "  name     = \"pqfeed-replication\"\n"
       "  role     = aws_iam_role.replication.id\n",
       t->pa, t->rkey);
    tf_heredoc(&rc, b, "policy", &t->doc[PQF__TPL_REPL_POLICY]);
    pf(&rc, b, "}\n\n");
    tf_iam_policy(&rc, b, t, "exporter", "primary", t->pa, t->pkey, PQF__TPL_EXPORTER);
    tf_iam_policy(&rc, b, t, "replicator", "replica", t->ra, t->rkey, PQF__TPL_REPLICATOR);
    tf_iam_policy(&rc, b, t, "consumer", "replica", t->ra, t->rkey, PQF__TPL_CONSUMER);
    pf(&rc, b,
       "# pqfeed-audit: kind=key account=%s\n"
       "resource \"aws_kms_key_policy\" \"primary\" {\n"
       "  provider = aws.primary\n"
       "  key_id   = \"%s\"\n",
       t->pa, t->pkey);
    tf_heredoc(&rc, b, "policy", &t->doc[PQF__TPL_PRIMARY_KEY]);
    pf(&rc, b,
       "}\n\n# pqfeed-audit: kind=key account=%s\n"
       "resource \"aws_kms_key_policy\" \"replica\" {\n"
       "  provider = aws.replica\n"
       "  key_id   = \"%s\"\n",
       t->ra, t->rkey);
    tf_heredoc(&rc, b, "policy", &t->doc[PQF__TPL_REPLICA_KEY]);
    pf(&rc, b,
       "}\n\nresource \"aws_s3_bucket_replication_configuration\" \"primary\" {\n"
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
