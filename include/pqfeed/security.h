/* pqfeed — security: templates for a two-account feed, and a security lint.
 *
 * Templates (pqf_template_render): for a primary bucket in one account and a
 * replica in another, everything native S3 replication and pqfeed's three
 * roles need (replication configuration, the replication role and its trust
 * policy, both bucket policies, least-privilege IAM policies for exporter,
 * replicator and consumer, both KMS key policies, the bucket settings), as a
 * JSON bundle, Terraform or CloudFormation. docs/SECURITY.md explains each.
 *
 * Audit (pqf_audit_*): rules over IAM, bucket and KMS key policies, S3
 * replication configurations, bucket settings (live or from a template) and
 * credential files. Each finding names a stable rule id, a severity, the
 * statement or setting at fault and the fix. Templates pqfeed renders pass.
 *
 * Ownership: a pqf_findings owns every string of its findings; free it with
 * pqf_findings_free() (NULL is fine). Rendered text is malloc'd; free() it.
 * No function here reads, prints or stores a credential's value.
 */
#ifndef PQFEED_SECURITY_H
#define PQFEED_SECURITY_H

#include <stdbool.h>
#include <stddef.h>

#include "pqfeed/bucket.h"
#include "pqfeed/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- findings ----------------------------------------------------------------- */

typedef enum pqf_severity {
    PQF_SEV_INFO = 0,
    PQF_SEV_LOW = 1,
    PQF_SEV_MEDIUM = 2,
    PQF_SEV_HIGH = 3,
    PQF_SEV_CRITICAL = 4
} pqf_severity;

typedef enum pqf_check_status {
    PQF_CHECK_FAIL = 0,        /* a gap or a security problem */
    PQF_CHECK_PASS = 1,        /* meets what the role needs */
    PQF_CHECK_UNSUPPORTED = 2, /* the server does not implement the setting: unverified */
    PQF_CHECK_INFO = 3         /* worth knowing; nothing needed */
} pqf_check_status;

typedef struct pqf_finding {
    const char *rule; /* stable id, e.g. "missing-tls-deny" */
    pqf_severity severity;
    pqf_check_status status;
    const char *where; /* "replica_bucket_policy: statement 2 (Sid AllowAll)", "versioning" */
    const char *what;  /* what was found */
    const char *fix;   /* what to do ("" for a pass) */
} pqf_finding;

typedef struct pqf_findings pqf_findings;

pqf_findings *pqf_findings_new(void); /* NULL when out of memory */
void pqf_findings_free(pqf_findings *f);
size_t pqf_findings_count(const pqf_findings *f);
const pqf_finding *pqf_findings_at(const pqf_findings *f, size_t i);
/* Failures at or above min severity. */
size_t pqf_findings_failures(const pqf_findings *f, pqf_severity min);
size_t pqf_findings_unsupported(const pqf_findings *f);
/* "info", "low", "medium", "high", "critical". */
const char *pqf_severity_name(pqf_severity s);
/* "fail", "pass", "unsupported", "info". */
const char *pqf_check_status_name(pqf_check_status s);

/* ---- audit -------------------------------------------------------------------- */

typedef enum pqf_policy_kind {
    PQF_POLICY_AUTO = 0, /* guess: Principal present -> resource policy */
    PQF_POLICY_IDENTITY, /* IAM policy attached to a user or role */
    PQF_POLICY_BUCKET,   /* S3 bucket policy */
    PQF_POLICY_KEY,      /* KMS key policy */
    PQF_POLICY_TRUST     /* IAM role trust (assume-role) policy */
} pqf_policy_kind;

/* What the auditor knows about the documents' context. Every field may be
 * NULL: rules that need it then stay silent. */
typedef struct pqf_audit_ctx {
    const char *account; /* the owner's 12-digit account: other accounts are cross-account */
    const char *kms_key; /* the KMS key (ARN or id) uploads and default encryption must use */
    const char *prefix;  /* the feed's prefix in the bucket ("feed/"), for lifecycle scope */
} pqf_audit_ctx;

/* Audit one policy document (JSON text). where names it in findings. */
pqf_err pqf_audit_policy(const char *json, size_t len, pqf_policy_kind kind, const char *where,
                         const pqf_audit_ctx *ctx, pqf_findings *f, pqf_error *err);
/* Audit a file: an IAM/bucket/key policy, a pqfeed template bundle, a
 * CloudFormation template, pqfeed's Terraform, an S3 replication or
 * lifecycle configuration (JSON), or an AWS credentials/config file (its
 * permissions only). PQF_ERR_PARSE when it is none of these. */
pqf_err pqf_audit_file(const char *path, const pqf_audit_ctx *ctx, pqf_findings *f, pqf_error *err);
/* A credentials or config file must not be readable or writable by group or
 * others. A missing file adds nothing. */
pqf_err pqf_audit_credentials_file(const char *path, pqf_findings *f, pqf_error *err);
/* Every setting of a live bucket against what a primary or a replica needs:
 * one finding per setting (pass, fail, unsupported or info), the policy
 * audited in full. */
pqf_err pqf_audit_bucket(const pqf_bucket_config *cfg, pqf_bucket_role role,
                         const pqf_audit_ctx *ctx, pqf_findings *f, pqf_error *err);

/* ---- templates ---------------------------------------------------------------- */

typedef enum pqf_template_format {
    PQF_TEMPLATE_JSON = 0,    /* one JSON bundle: every document, named */
    PQF_TEMPLATE_TERRAFORM,   /* main.tf for both accounts (two aliased providers) */
    PQF_TEMPLATE_CFN_PRIMARY, /* CloudFormation stack for the primary account */
    PQF_TEMPLATE_CFN_REPLICA  /* CloudFormation stack for the replica account */
} pqf_template_format;

typedef struct pqf_template_opts {
    const char *primary_account, *replica_account; /* 12 digits, different */
    const char *primary_bucket, *replica_bucket;
    const char *prefix; /* feed root in both buckets; "" or NULL: whole bucket */
    const char *primary_region, *replica_region;   /* NULL: "us-east-1" */
    const char *primary_kms_key, *replica_kms_key; /* ARNs; NULL: alias/pqfeed in each account */
    bool replicate_delete_markers;                 /* default false: see docs/SECURITY.md */
    pqf_lifecycle_opts lifecycle;                  /* zero: pqf_lifecycle_defaults */
} pqf_template_opts;

/* Render the template in format fmt. Validates the options (account ids,
 * bucket names, ARNs) first: PQF_ERR_INVALID_ARG names the bad one. */
pqf_err pqf_template_render(const pqf_template_opts *o, pqf_template_format fmt, char **out,
                            pqf_error *err);

#ifdef __cplusplus
}
#endif
#endif
