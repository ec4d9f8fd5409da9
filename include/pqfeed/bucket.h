/* pqfeed — bucket configuration (S3).
 *
 * Reads what a feed's bucket is configured with (versioning, MFA delete,
 * lifecycle, replication, default encryption, public access block, policy,
 * object lock, ownership controls), plans and applies the settings a feed
 * needs (versioning on, the lifecycle rules below), and prices what the
 * bucket holds from a listing of its versions.
 *
 * Servers differ: Ceph RGW, MinIO and others implement only part of the
 * bucket API. Every setting read carries a state, and one the server does
 * not implement is PQF_BCFG_UNSUPPORTED, never mistaken for "configured" or
 * for "absent".
 *
 * Ownership: pqf_bucket_read(), pqf_bucket_plan_setup() and pqf_bucket_cost()
 * return objects the caller frees with the matching *_free() (NULL is fine).
 * All work on S3 stores only (PQF_ERR_UNSUPPORTED otherwise). Nothing here
 * puts a credential or key into a message or a returned document.
 */
#ifndef PQFEED_BUCKET_H
#define PQFEED_BUCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a bucket does in a feed. */
typedef enum pqf_bucket_role {
    PQF_ROLE_PRIMARY = 0, /* the exporter writes here; the source of replication */
    PQF_ROLE_REPLICA = 1  /* the DR copy that consumers read */
} pqf_bucket_role;

/* Bucket configuration subresources, in the order they are read and shown. */
typedef enum pqf_bucket_sub {
    PQF_BSUB_VERSIONING = 0,
    PQF_BSUB_LIFECYCLE,
    PQF_BSUB_REPLICATION,
    PQF_BSUB_ENCRYPTION,
    PQF_BSUB_PUBLIC_ACCESS_BLOCK,
    PQF_BSUB_POLICY,
    PQF_BSUB_OBJECT_LOCK,
    PQF_BSUB_OWNERSHIP,
    PQF_BSUB__COUNT
} pqf_bucket_sub;

/* "versioning", "lifecycle", ... (the S3 query subresource name). */
const char *pqf_bucket_sub_name(pqf_bucket_sub sub);

typedef enum pqf_bcfg_state {
    PQF_BCFG_ABSENT = 0,      /* the server implements it; nothing configured */
    PQF_BCFG_SET = 1,         /* configured (see the parsed fields / doc) */
    PQF_BCFG_UNSUPPORTED = 2, /* the server does not implement it */
    PQF_BCFG_DENIED = 3,      /* the credentials may not read it */
    PQF_BCFG_ERROR = 4        /* another error (see detail) */
} pqf_bcfg_state;

typedef struct pqf_bucket_item {
    pqf_bcfg_state state;
    char detail[600]; /* why UNSUPPORTED / DENIED / ERROR: S3 code, HTTP status */
    char *doc;        /* the document as the server sent it (XML; JSON for the policy); or NULL */
    size_t doc_len;
} pqf_bucket_item;

/* One lifecycle rule as read back. Unset numbers are -1. */
typedef struct pqf_lifecycle_rule {
    char id[256];
    char prefix[1024]; /* Prefix, Filter/Prefix or Filter/And/Prefix */
    bool enabled;
    bool has_filter_tags;       /* the rule applies only to tagged objects */
    int expiration_days;        /* Expiration/Days */
    bool expired_delete_marker; /* Expiration/ExpiredObjectDeleteMarker */
    int noncurrent_days;        /* NoncurrentVersionExpiration/NoncurrentDays */
    int newer_noncurrent;       /* NoncurrentVersionExpiration/NewerNoncurrentVersions */
    int abort_mpu_days;         /* AbortIncompleteMultipartUpload/DaysAfterInitiation */
} pqf_lifecycle_rule;

#define PQF_BUCKET_MAX_RULES 64

/* Everything pqf_bucket_read() learnt. Strings are "" when unknown. */
typedef struct pqf_bucket_config {
    char bucket[64];
    char prefix[1024]; /* the store's prefix ("" or ending in '/') */
    pqf_bucket_item item[PQF_BSUB__COUNT];
    /* versioning */
    pqf_versioning versioning;
    int mfa_delete; /* -1: not reported, 0: Disabled, 1: Enabled */
    /* lifecycle */
    size_t nrules; /* at most PQF_BUCKET_MAX_RULES are kept */
    pqf_lifecycle_rule rules[PQF_BUCKET_MAX_RULES];
    /* default encryption */
    char sse_algorithm[32]; /* "aws:kms", "AES256", "aws:kms:dsse" */
    char sse_kms_key[256];
    bool bucket_key;
    /* public access block */
    bool block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets;
    /* object lock */
    bool object_lock;
    char object_lock_mode[24]; /* default retention: "GOVERNANCE", "COMPLIANCE" */
    int object_lock_days;      /* -1 when none */
    /* ownership controls */
    char ownership[48]; /* "BucketOwnerEnforced", ... */
    /* replication (first rule) */
    char repl_role[256];
    size_t repl_rules;
    char repl_dest[256];
    char repl_kms_key[256];
    bool repl_rtc, repl_metrics, repl_delete_markers, repl_sse_kms;
} pqf_bucket_config;

/* Read every subresource of s's bucket. A setting the server does not
 * implement, or that the credentials may not read, is recorded in its item;
 * only failures that make the whole reading pointless (no such bucket,
 * credentials rejected, network) are returned as errors. */
pqf_err pqf_bucket_read(pqf_store *s, pqf_bucket_config **out, pqf_error *err);
void pqf_bucket_config_free(pqf_bucket_config *c);

/* ---- lifecycle rules for a DR feed ------------------------------------------ */

/* The lifecycle rule pqfeed applies (ID "pqfeed-dr", scoped to the store's
 * prefix). Defaults (pqf_lifecycle_defaults) are explained in
 * docs/SECURITY.md. */
typedef struct pqf_lifecycle_opts {
    unsigned noncurrent_days;    /* noncurrent versions expire this many days after replacement */
    unsigned keep_newest;        /* ... but the newest K noncurrent versions stay (0: none kept) */
    unsigned abort_mpu_days;     /* incomplete multipart uploads aborted after D days */
    bool expired_delete_markers; /* remove delete markers with no versions left */
} pqf_lifecycle_opts;

#define PQF_LIFECYCLE_RULE_ID "pqfeed-dr"

void pqf_lifecycle_defaults(pqf_lifecycle_opts *o); /* 30 days, keep 3, 7 days, on */

/* The LifecycleConfiguration XML with pqfeed's one rule for prefix ("" for
 * the whole bucket). *xml is malloc'd; free() it. */
pqf_err pqf_lifecycle_xml(const pqf_lifecycle_opts *o, const char *prefix, char **xml,
                          pqf_error *err);

/* ---- setup ------------------------------------------------------------------ */

/* What pqf_bucket_apply() would change, computed from a reading. */
typedef struct pqf_bucket_plan {
    bool versioning_change; /* versioning is not Enabled yet */
    pqf_versioning versioning_from;
    char *versioning_xml;       /* body of PutBucketVersioning (when changing) */
    bool lifecycle_change;      /* pqfeed's rule is missing or differs */
    bool lifecycle_blocked;     /* other rules exist and replace_other_rules is off */
    char *lifecycle_xml;        /* body of PutBucketLifecycleConfiguration */
    char lifecycle_from[1600];  /* the current pqfeed rule (or "none"), in words */
    char lifecycle_to[1600];    /* the wanted rule, in words */
    char note[512];             /* e.g. a field the server is known to drop */
    bool lifecycle_unsupported; /* the server does not implement lifecycle */
} pqf_bucket_plan;

/* Plan enabling versioning and pqfeed's lifecycle rule on the bucket read in
 * cur. Other lifecycle rules are kept out of the way: when some exist, the
 * plan is blocked unless replace_other_rules (the S3 API replaces the whole
 * configuration at once). A rule already matching is no change; a matching
 * rule that lacks only NewerNoncurrentVersions counts as matching (servers
 * such as Ceph RGW before Reef accept and drop that field) and says so in
 * note, unless force. */
pqf_err pqf_bucket_plan_setup(const pqf_bucket_config *cur, pqf_bucket_role role,
                              const pqf_lifecycle_opts *o, bool replace_other_rules, bool force,
                              pqf_bucket_plan **out, pqf_error *err);
/* Make the plan's changes (versioning first: lifecycle on noncurrent versions
 * needs it). A blocked or empty plan changes nothing. */
pqf_err pqf_bucket_apply(pqf_store *s, const pqf_bucket_plan *p, pqf_error *err);
void pqf_bucket_plan_free(pqf_bucket_plan *p);

/* ---- cost ------------------------------------------------------------------- */

typedef struct pqf_cost_group {
    char prefix[256]; /* top-level prefix under the store root ("orders/"), or "(root)" */
    uint64_t current_objects, current_bytes;
    uint64_t noncurrent_versions, noncurrent_bytes;
    uint64_t delete_markers;
    /* what the lifecycle rule would remove today */
    uint64_t expire_versions, expire_bytes, expire_markers;
} pqf_cost_group;

typedef struct pqf_bucket_cost {
    size_t ngroups;
    pqf_cost_group *groups; /* sorted by prefix */
    pqf_cost_group total;
    uint64_t uploads;         /* incomplete multipart uploads */
    uint64_t uploads_expired; /* ... older than abort_mpu_days */
} pqf_bucket_cost;

/* List every version under s's root and sum the bytes per top-level prefix,
 * simulating o (at time now_ms, Unix ms; 0: now) as S3 evaluates it: a
 * noncurrent version expires once it has been noncurrent for noncurrent_days
 * and at least keep_newest newer noncurrent versions of its key exist. At
 * most 10,000 groups are kept (the rest are summed into "(other)"). */
pqf_err pqf_bucket_cost_read(pqf_store *s, const pqf_lifecycle_opts *o, int64_t now_ms,
                             pqf_bucket_cost **out, pqf_error *err);
void pqf_bucket_cost_free(pqf_bucket_cost *c);

#ifdef __cplusplus
}
#endif
#endif
