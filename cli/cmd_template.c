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
    snprintf(path, sizeof path, "%s%s%s", dir, pqf_cli_path_sep(dir), name);
    FILE *fp = fopen(path, "w");
    bool ok = fp && fputs(text, fp) != EOF;
    if (fp && fclose(fp) != 0)
        ok = false;
    if (!ok) {
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
    const struct {
        const char *name, **str; /* a string option, or */
        unsigned *num, min;      /* a number from min to 36500 */
    } opts[] = {
        {"--primary-account", &o.primary_account, NULL, 0},
        {"--replica-account", &o.replica_account, NULL, 0},
        {"--primary-bucket", &o.primary_bucket, NULL, 0},
        {"--replica-bucket", &o.replica_bucket, NULL, 0},
        {"--prefix", &o.prefix, NULL, 0},
        {"--primary-region", &o.primary_region, NULL, 0},
        {"--replica-region", &o.replica_region, NULL, 0},
        {"--primary-kms-key", &o.primary_kms_key, NULL, 0},
        {"--replica-kms-key", &o.replica_kms_key, NULL, 0},
        {"--format", &format, NULL, 0},
        {"--out", &out, NULL, 0},
        {"--noncurrent-days", NULL, &o.lifecycle.noncurrent_days, 1},
        {"--keep-newest", NULL, &o.lifecycle.keep_newest, 0},
        {"--abort-days", NULL, &o.lifecycle.abort_mpu_days, 1},
    };
    const size_t nopts = sizeof opts / sizeof opts[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long n;
        size_t k = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--replicate-delete-markers") == 0) {
            o.replicate_delete_markers = true;
            continue;
        }
        while (k < nopts && strcmp(a, opts[k].name) != 0)
            k++;
        if (k == nopts)
            return pqf_cli_usage("template", "unknown option %s", a);
        if (opts[k].str && !v)
            return pqf_cli_usage("template", "%s needs a value", a);
        if (opts[k].str)
            *opts[k].str = v;
        else if (!v || pqf_cli_parse_u64(v, &n) != 0 || n > 36500 || n < opts[k].min)
            return pqf_cli_usage("template", "bad number for %s", a);
        else
            *opts[k].num = (unsigned)n;
        i++;
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
