/* pqfeed verify PRIMARY REPLICA: audit a replica against its primary. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pqfeed/feed.h"
#include "pqfeed/replicate.h"
#include "store_cli.h"

#define MAX_TABLES 256

static const char verify_usage[] =
    "usage: pqfeed verify PRIMARY REPLICA [--deep] [--tables a,b] [--json] [store options]\n"
    "\n"
    "Audit REPLICA against PRIMARY, per table: the replica's hash chain is intact and\n"
    "no seq is missing; every file of every published commit is present with its\n"
    "size (--deep: and its SHA-256, reading every file back); each replica commit is\n"
    "byte for byte the primary's commit of that seq; no replica commit lies beyond\n"
    "the primary's head; schema versions are present and equal. A replica behind\n"
    "its primary is fine (a prefix). Prints every difference to stderr; exits 0 when\n"
    "there are none, 6 when a checksum differs, 5 for any other difference.\n";

typedef struct {
    bool json, first;
    int worst; /* 0 none, 1 difference, 2 checksum */
} verify_ctx;

static const char *kind_name(pqf_audit_kind k)
{
    switch (k) {
    case PQF_AUDIT_CHAIN:
        return "broken hash chain";
    case PQF_AUDIT_GAP:
        return "missing commit";
    case PQF_AUDIT_MISSING:
        return "missing file";
    case PQF_AUDIT_SIZE:
        return "wrong size";
    case PQF_AUDIT_CHECKSUM:
        return "checksum mismatch";
    case PQF_AUDIT_INVALID:
        return "invalid commit";
    case PQF_AUDIT_DIVERGED:
        return "differs from the primary";
    case PQF_AUDIT_AHEAD:
        return "beyond the primary's head";
    case PQF_AUDIT_SCHEMA:
        return "schema";
    }
    return "?";
}

static void on_problem(void *ud, const pqf_audit_problem *p)
{
    verify_ctx *x = ud;
    if (p->kind == PQF_AUDIT_CHECKSUM)
        x->worst = 2;
    else if (x->worst < 1)
        x->worst = 1;
    fprintf(stderr, "pqfeed: %s: seq %" PRIu64 ": %s: %s (%s)\n", p->table, p->seq,
            kind_name(p->kind), p->key ? p->key : "", p->detail ? p->detail : "");
}

static void on_table(void *ud, const pqf_audit_table *t)
{
    verify_ctx *x = ud;
    if (x->json) {
        printf("%s{\"table\":", x->first ? "" : ",");
        pqf_cli_json_str(stdout, t->table);
        printf(",\"primary_head\":%" PRIu64 ",\"replica_head\":%" PRIu64 ",\"problems\":%" PRIu64
               "}",
               t->primary_head, t->replica_head, t->problems);
        x->first = false;
        return;
    }
    printf("%s: replica at %" PRIu64 " of %" PRIu64 ": %s\n", t->table, t->replica_head,
           t->primary_head,
           t->problems                          ? "DIFFERS"
           : t->replica_head == t->primary_head ? "equal to the primary"
                                                : "a valid prefix of the primary");
}

int pqf_cmd_verify(int argc, char **argv)
{
    pqf_cli_store_args sa;
    memset(&sa, 0, sizeof sa);
    const char *uris[2];
    size_t nuris = 0;
    const char *tables[MAX_TABLES];
    char *tables_arg = NULL;
    pqf_audit_opts ao;
    memset(&ao, 0, sizeof ao);
    verify_ctx x = {false, true, 0};
    int ret = 0;
    pqf_error err = {0};
    pqf_store *primary = NULL, *replica = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(verify_usage, stdout);
            pqf_cli_store_help(stdout);
            goto done;
        } else if (strcmp(a, "--deep") == 0) {
            ao.deep = true;
        } else if (strcmp(a, "--json") == 0) {
            x.json = true;
        } else if (strcmp(a, "--tables") == 0) {
            if (i + 1 >= argc) {
                ret = pqf_cli_usage("verify", "--tables needs a value");
                goto done;
            }
            free(tables_arg);
            tables_arg = strdup(argv[++i]);
            ao.ntables = 0;
            for (char *p = tables_arg; p && *p && ao.ntables < MAX_TABLES;) {
                char *comma = strchr(p, ',');
                if (comma)
                    *comma = '\0';
                if (*p)
                    tables[ao.ntables++] = p;
                p = comma ? comma + 1 : NULL;
            }
            if (!ao.ntables) {
                ret = pqf_cli_usage("verify", "bad --tables");
                goto done;
            }
            ao.tables = tables;
        } else {
            int r = pqf_cli_store_arg("verify", argc, argv, &i, &sa);
            if (r < 0) {
                ret = PQF_EXIT_USAGE;
                goto done;
            }
            if (r > 0)
                continue;
            if (a[0] == '-' && a[1]) {
                ret = pqf_cli_usage("verify", "unknown option '%s'", a);
                goto done;
            }
            if (nuris == 2) {
                ret = pqf_cli_usage("verify", "unexpected argument '%s'", a);
                goto done;
            }
            uris[nuris++] = a;
        }
    }
    if (nuris != 2) {
        ret = pqf_cli_usage("verify", "needs PRIMARY and REPLICA");
        goto done;
    }
    if (pqf_cli_store_open(uris[0], &sa, &primary, &err) != PQF_OK ||
        pqf_cli_store_open(uris[1], &sa, &replica, &err) != PQF_OK) {
        ret = pqf_cli_fail(&err);
        goto done;
    }
    ao.on_problem = on_problem;
    ao.on_table = on_table;
    ao.ud = &x;
    uint64_t problems = 0;
    if (x.json)
        printf("{\"primary\":\"%s\",\"replica\":\"%s\",\"tables\":[", pqf_store_uri(primary),
               pqf_store_uri(replica));
    pqf_err rc = pqf_replica_audit(primary, replica, &ao, &problems, &err);
    if (x.json)
        printf("],\"problems\":%" PRIu64 "}\n", problems);
    if (rc != PQF_OK) {
        ret = pqf_cli_fail(&err);
        goto done;
    }
    if (!x.json && problems)
        printf("%" PRIu64 " difference(s)\n", problems);
    if (x.worst == 2)
        ret = pqf_exit_code(PQF_ERR_CHECKSUM);
    else if (x.worst == 1 || problems)
        ret = pqf_exit_code(PQF_ERR_CORRUPT);
done:
    pqf_store_free(replica);
    pqf_store_free(primary);
    free(tables_arg);
    return ret;
}
