/* pqfeed template: the bucket, replication, IAM and KMS documents for a
 * primary and a replica in two accounts, as JSON, Terraform or
 * CloudFormation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "pqfeed/security.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pqfeed template --primary-account ID --replica-account ID\n"
            "         --primary-bucket B --replica-bucket B [--prefix P]\n"
            "         [--primary-region R] [--replica-region R]\n"
            "         [--primary-kms-key ARN] [--replica-kms-key ARN]\n"
            "         [--replicate-delete-markers] [--noncurrent-days N] [--keep-newest K]\n"
            "         [--abort-days D]\n"
            "         [--format json|terraform|cloudformation-primary|cloudformation-replica]\n"
            "         [--out DIR]\n\n"
            "Writes native S3 replication (RTC and metrics on, SSE-KMS objects re-encrypted\n"
            "with the replica's key), the replication role and its trust policy, both bucket\n"
            "policies, least-privilege IAM policies for exporter, replicator and consumer, and\n"
            "both KMS key policies. Every policy denies requests without TLS and unencrypted\n"
            "uploads. To stdout in one --format (default json), or with --out DIR all four:\n"
            "DIR/pqfeed-template.json, DIR/main.tf, DIR/primary.cfn.json, DIR/replica.cfn.json.\n"
            "Delete markers are not replicated unless --replicate-delete-markers (a delete at\n"
            "the primary then stays recoverable at the DR copy). docs/SECURITY.md explains.\n");
}

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    if (!fp || fputs(text, fp) == EOF || fclose(fp) != 0) {
        fprintf(stderr, "pqfeed: %s: %s\n", path, strerror(errno));
        return pqf_exit_code(PQF_ERR_IO);
    }
    return 0;
}

int pqf_cmd_template(int argc, char **argv)
{
    pqf_template_opts o = {0};
    const char *format = "json", *out = NULL;
    pqf_lifecycle_defaults(&o.lifecycle);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **dst = NULL;
        unsigned long long n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--replicate-delete-markers") == 0) {
            o.replicate_delete_markers = true;
            continue;
        }
        if (strcmp(a, "--primary-account") == 0)
            dst = &o.primary_account;
        else if (strcmp(a, "--replica-account") == 0)
            dst = &o.replica_account;
        else if (strcmp(a, "--primary-bucket") == 0)
            dst = &o.primary_bucket;
        else if (strcmp(a, "--replica-bucket") == 0)
            dst = &o.replica_bucket;
        else if (strcmp(a, "--prefix") == 0)
            dst = &o.prefix;
        else if (strcmp(a, "--primary-region") == 0)
            dst = &o.primary_region;
        else if (strcmp(a, "--replica-region") == 0)
            dst = &o.replica_region;
        else if (strcmp(a, "--primary-kms-key") == 0)
            dst = &o.primary_kms_key;
        else if (strcmp(a, "--replica-kms-key") == 0)
            dst = &o.replica_kms_key;
        else if (strcmp(a, "--format") == 0)
            dst = &format;
        else if (strcmp(a, "--out") == 0)
            dst = &out;
        if (dst) {
            if (!v)
                return pqf_cli_usage("template", "%s needs a value", a);
            *dst = v;
            i++;
        } else if (strcmp(a, "--noncurrent-days") == 0 || strcmp(a, "--keep-newest") == 0 ||
                   strcmp(a, "--abort-days") == 0) {
            if (!v || pqf_cli_parse_u64(v, &n) != 0 || n > 36500 || (n == 0 && a[2] != 'k'))
                return pqf_cli_usage("template", "bad number for %s", a);
            i++;
            if (a[2] == 'n')
                o.lifecycle.noncurrent_days = (unsigned)n;
            else if (a[2] == 'k')
                o.lifecycle.keep_newest = (unsigned)n;
            else
                o.lifecycle.abort_mpu_days = (unsigned)n;
        } else {
            return pqf_cli_usage("template", "unknown option %s", a);
        }
    }
    static const struct {
        const char *name, *file;
        pqf_template_format fmt;
    } fmts[] = {
        {"json", "pqfeed-template.json", PQF_TEMPLATE_JSON},
        {"terraform", "main.tf", PQF_TEMPLATE_TERRAFORM},
        {"cloudformation-primary", "primary.cfn.json", PQF_TEMPLATE_CFN_PRIMARY},
        {"cloudformation-replica", "replica.cfn.json", PQF_TEMPLATE_CFN_REPLICA},
    };
    int rc = 0;
    pqf_error err = {0};
    if (out && mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "pqfeed: %s: %s\n", out, strerror(errno));
        return pqf_exit_code(PQF_ERR_IO);
    }
    bool known = false;
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0] && rc == 0; i++) {
        if (!out && strcmp(format, fmts[i].name) != 0)
            continue;
        known = true;
        char *text = NULL;
        if (pqf_template_render(&o, fmts[i].fmt, &text, &err) != PQF_OK)
            return pqf_cli_fail(&err);
        if (out)
            rc = write_file(out, fmts[i].file, text);
        else
            fputs(text, stdout);
        free(text);
    }
    if (!known)
        return pqf_cli_usage("template", "--format is json, terraform, cloudformation-primary "
                                         "or cloudformation-replica");
    if (out && rc == 0)
        fprintf(stderr,
                "pqfeed: wrote %s/{pqfeed-template.json,main.tf,primary.cfn.json,"
                "replica.cfn.json}\n",
                out);
    return rc;
}
