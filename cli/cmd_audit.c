/* pqfeed audit: the security lint, over template and policy files and over
 * live buckets, plus the permissions of the AWS credentials files. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pqfeed/bucket.h"
#include "pqfeed/security.h"
#include "store_cli.h"

#define EXIT_FINDINGS 20

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pqfeed audit [FILE|s3://BUCKET[/PREFIX]]... [--role primary|replica]\n"
            "         [--account ID] [--kms-key ARN] [--credentials-file F] [--no-credentials]\n"
            "         [--min-severity low|medium|high|critical] [--all] [--json]\n\n"
            "FILE: an IAM, bucket or KMS key policy, a `pqfeed template` bundle, CloudFormation\n"
            "or Terraform, a replication configuration, or an AWS credentials file. s3://: the\n"
            "live bucket's settings and policy (as `pqfeed bucket check`). Always checks the\n"
            "permissions of ~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE,\n"
            "AWS_CONFIG_FILE) unless --no-credentials. --account is the owner account (other\n"
            "accounts count as cross-account); --kms-key the key uploads must use.\n"
            "Each finding: severity, rule, the statement or setting at fault, the fix.\n"
            "Exit 0: no finding at or above --min-severity (default low); %d otherwise.\n\n",
            EXIT_FINDINGS);
    pqf_cli_store_help(f);
}

static void print_json(const pqf_finding *x)
{
    printf("{\"rule\":");
    pqf_cli_json_str(stdout, x->rule);
    printf(",\"status\":\"%s\",\"severity\":\"%s\",\"where\":", pqf_check_status_name(x->status),
           pqf_severity_name(x->severity));
    pqf_cli_json_str(stdout, x->where);
    printf(",\"what\":");
    pqf_cli_json_str(stdout, x->what);
    printf(",\"fix\":");
    pqf_cli_json_str(stdout, x->fix);
    printf("}");
}

static pqf_err audit_bucket_url(const char *uri, pqf_cli_store_args *s, pqf_bucket_role role,
                                const pqf_audit_ctx *ctx, pqf_findings *f, pqf_error *err)
{
    pqf_store *st = NULL;
    pqf_bucket_config *cfg = NULL;
    pqf_err rc = pqf_store_open(uri, &s->opt, &st, err);
    if (rc == PQF_OK)
        rc = pqf_bucket_read(st, &cfg, err);
    if (rc == PQF_OK)
        rc = pqf_audit_bucket(cfg, role, ctx, f, err);
    pqf_bucket_config_free(cfg);
    pqf_store_free(st);
    return rc;
}

int pqf_cmd_audit(int argc, char **argv)
{
    pqf_cli_store_args s = {0};
    pqf_audit_ctx ctx = {0};
    pqf_bucket_role role = PQF_ROLE_PRIMARY;
    pqf_severity min = PQF_SEV_LOW;
    bool creds = true, all = false;
    const char *cred_file = NULL;
    const char **targets = calloc((size_t)argc, sizeof *targets);
    size_t nt = 0;
    int rc = 0;
    pqf_error err = {0};
    pqf_findings *f = pqf_findings_new();
    if (!targets || !f) {
        fprintf(stderr, "pqfeed: out of memory\n");
        rc = pqf_exit_code(PQF_ERR_NOMEM);
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        int r = pqf_cli_store_arg("audit", argc, argv, &i, &s);
        if (r < 0) {
            rc = PQF_EXIT_USAGE;
            goto done;
        }
        if (r)
            continue;
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            goto done;
        } else if (strcmp(a, "--role") == 0 && v) {
            i++;
            if (strcmp(v, "primary") != 0 && strcmp(v, "replica") != 0) {
                rc = pqf_cli_usage("audit", "--role is primary or replica");
                goto done;
            }
            role = strcmp(v, "replica") == 0 ? PQF_ROLE_REPLICA : PQF_ROLE_PRIMARY;
        } else if (strcmp(a, "--account") == 0 && v) {
            ctx.account = argv[++i];
        } else if (strcmp(a, "--kms-key") == 0 && v) {
            ctx.kms_key = argv[++i];
        } else if (strcmp(a, "--credentials-file") == 0 && v) {
            cred_file = argv[++i];
        } else if (strcmp(a, "--no-credentials") == 0) {
            creds = false;
        } else if (strcmp(a, "--all") == 0) {
            all = true;
        } else if (strcmp(a, "--min-severity") == 0 && v) {
            i++;
            static const char *const names[] = {"info", "low", "medium", "high", "critical"};
            size_t k = 0;
            while (k < 5 && strcmp(v, names[k]) != 0)
                k++;
            if (k == 5) {
                rc = pqf_cli_usage("audit", "--min-severity is low, medium, high or critical");
                goto done;
            }
            min = (pqf_severity)k;
        } else if (a[0] == '-' && a[1]) {
            rc = pqf_cli_usage("audit", "unknown option %s (or a missing value)", a);
            goto done;
        } else {
            targets[nt++] = a;
        }
    }
    if (nt == 0 && !creds && !cred_file) {
        rc = pqf_cli_usage("audit", "nothing to audit");
        goto done;
    }
    for (size_t i = 0; i < nt; i++) {
        pqf_err e = pqf_cli_is_s3(targets[i])
                        ? audit_bucket_url(targets[i], &s, role, &ctx, f, &err)
                        : pqf_audit_file(targets[i], &ctx, f, &err);
        if (e != PQF_OK) {
            rc = pqf_cli_fail(&err);
            goto done;
        }
    }
    if (cred_file && pqf_audit_credentials_file(cred_file, f, &err) != PQF_OK) {
        rc = pqf_cli_fail(&err);
        goto done;
    }
    if (creds) {
        const char *home = getenv("HOME");
        const char *cf = getenv("AWS_SHARED_CREDENTIALS_FILE"), *cc = getenv("AWS_CONFIG_FILE");
        char p1[4096], p2[4096];
        snprintf(p1, sizeof p1, "%s", cf && *cf ? cf : "");
        snprintf(p2, sizeof p2, "%s", cc && *cc ? cc : "");
        if (!p1[0] && home)
            snprintf(p1, sizeof p1, "%s/.aws/credentials", home);
        if (!p2[0] && home)
            snprintf(p2, sizeof p2, "%s/.aws/config", home);
        if ((p1[0] && pqf_audit_credentials_file(p1, f, &err) != PQF_OK) ||
            (p2[0] && pqf_audit_credentials_file(p2, f, &err) != PQF_OK)) {
            rc = pqf_cli_fail(&err);
            goto done;
        }
    }
    size_t n = pqf_findings_count(f), bad = pqf_findings_failures(f, min), shown = 0;
    if (s.json)
        printf("{\"findings\":[");
    for (size_t i = 0; i < n; i++) {
        const pqf_finding *x = pqf_findings_at(f, i);
        bool show = all || (x->status == PQF_CHECK_FAIL && x->severity >= min) ||
                    x->status == PQF_CHECK_UNSUPPORTED;
        if (!show)
            continue;
        if (s.json) {
            if (shown)
                printf(",");
            print_json(x);
        } else if (x->status == PQF_CHECK_FAIL) {
            printf("%-8s %-24s %s\n         %s\n         fix: %s\n", pqf_severity_name(x->severity),
                   x->rule, x->where, x->what, x->fix);
        } else {
            printf("%-8s %-24s %s: %s\n", pqf_check_status_name(x->status), x->rule, x->where,
                   x->what);
        }
        shown++;
    }
    if (s.json)
        printf("],\"failures\":%zu}\n", bad);
    else
        printf("%zu finding(s) at or above %s\n", bad, pqf_severity_name(min));
    rc = bad ? EXIT_FINDINGS : 0;
done:
    free(targets);
    pqf_findings_free(f);
    return rc;
}
