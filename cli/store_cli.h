/* Shared by the object commands (ls, stat, cat, cp, rm): store options as
 * `aws s3` spells them, and resolving "s3://bucket/key" or a local path into
 * a store and a key. Public API only. */
#ifndef PQF_CLI_STORE_CLI_H
#define PQF_CLI_STORE_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "pqfeed/store.h"

typedef struct pqf_cli_store_args {
    pqf_store_options opt;
    bool json, recursive, quiet, progress;
    const char *version_id;
} pqf_cli_store_args;

/* If argv[*i] is a store option, consume it (and its value) and return 1;
 * 0 when it is not one; -1 on a bad value (message printed). */
int pqf_cli_store_arg(const char *cmd, int argc, char **argv, int *i, pqf_cli_store_args *a);
/* Help text for the store options. */
void pqf_cli_store_help(FILE *f);

/* "s3://b/k" -> store "s3://b", key "k"; "file:///a/b" or "a/b" -> store
 * file:/// and key "abs/path". *key is malloc'd (may be ""). */
pqf_err pqf_cli_target(const char *uri, const pqf_cli_store_args *a, pqf_store **store, char **key,
                       pqf_error *err);
bool pqf_cli_is_s3(const char *uri);

/* Open a store given as a command's argument. An S3 URI may carry settings of
 * its own after '?', overriding the command's store options for that store
 * alone, so two stores can be two accounts:
 *   s3://bucket/prefix?profile=dr&region=eu-west-1&endpoint-url=https://...
 * Settings: profile, region, endpoint-url, ca-bundle (secrets never go in a
 * URI: a profile names them in ~/.aws/credentials). The store's URI is the
 * part before '?'. Unknown settings: PQF_ERR_INVALID_ARG. */
pqf_err pqf_cli_store_open(const char *uri, const pqf_cli_store_args *a, pqf_store **out,
                           pqf_error *err);
/* The per-store settings of uri ("" when none), to tell whether two stores
 * are reached the same way (same endpoint and credentials). */
const char *pqf_cli_store_settings(const char *uri);

/* JSON string (quoted, escaped) to f. */
void pqf_cli_json_str(FILE *f, const char *s);
/* "2024-01-02 03:04:05" (UTC) for Unix milliseconds. */
void pqf_cli_time(long long ms, char out[32]);

#endif
