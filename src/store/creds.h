/* Internal: AWS credentials and profile settings, found the way AWS's tools
 * find them: explicit options; AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN; the profile (option, AWS_PROFILE, "default") in
 * ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE) and ~/.aws/config
 * (AWS_CONFIG_FILE), including credential_process; the EC2 instance metadata
 * service (IMDSv2) last. Error messages never contain secrets. */
#ifndef PQF_STORE_CREDS_H
#define PQF_STORE_CREDS_H

#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/store.h"

typedef struct pqf__creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL without */
    int64_t expires;     /* Unix seconds; 0: never */
    const char *source;  /* "options", "environment", "profile NAME", ... (static) */
} pqf__creds;

/* Profile settings besides credentials (malloc'd, NULL when unset). */
typedef struct pqf__profile {
    char *region;
    char *endpoint_url;
    char *ca_bundle;
} pqf__profile;

pqf_err pqf__creds_resolve(const pqf_store_options *o, pqf__creds *out, pqf_error *err);
pqf_err pqf__profile_load(const char *profile, pqf__profile *out, pqf_error *err);
void pqf__creds_clear(pqf__creds *c); /* wipes the secret */
void pqf__profile_clear(pqf__profile *p);

/* Value of a top-level string member of a JSON object (credential_process and
 * IMDS output); malloc'd, NULL when absent or malformed. */
char *pqf__json_string(const char *json, const char *name);

#endif
