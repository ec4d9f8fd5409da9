/* pqfeed bucket check|setup|cost: a feed bucket's configuration against
 * what a primary or a replica needs; versioning and lifecycle set up
 * idempotently; what the versions cost. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pqfeed/bucket.h"
#include "pqfeed/security.h"
#include "store_cli.h"

#define EXIT_GAPS 20       /* check: at least one gap */
#define EXIT_UNVERIFIED 21 /* check: no gap, but settings the server does not support */

typedef struct bucket_args {
    pqf_cli_store_args s;
    const char *uri;
    pqf_bucket_role role;
    const char *kms_key, *account;
    pqf_lifecycle_opts lc;
    bool dry_run, replace, force;
    const char *versioning; /* versioning: "enable", "suspend" or NULL (show) */
    double price;
    unsigned in_days; /* cost: evaluate the lifecycle rule this many days from now */
} bucket_args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pqfeed bucket check URL [--role primary|replica] [--kms-key ARN] "
            "[--account ID] [--json]\n"
            "       pqfeed bucket setup URL [--role primary|replica] [--dry-run] [LIFECYCLE] "
            "[--replace-lifecycle] [--force]\n"
            "       pqfeed bucket cost URL [--price USD-PER-GB-MONTH] [--in-days N] [LIFECYCLE] "
            "[--json]\n"
            "       pqfeed bucket versioning URL [--enable|--suspend] [--json]\n\n"
            "check  reads versioning, MFA delete, lifecycle, replication, default encryption,\n"
            "       public access block, policy, object lock and ownership controls and reports\n"
            "       each against what the role needs, with the fix. Exit 0: all met; %d: gaps;\n"
            "       %d: no gap, but settings this server does not support (unverified).\n"
            "setup  enables versioning and applies pqfeed's lifecycle rule, showing the change\n"
            "       first; a second run changes nothing. --dry-run prints the XML it would send.\n"
            "cost   current and noncurrent bytes per top-level prefix, what the lifecycle rule\n"
            "       would remove today, and a monthly estimate (default $0.023 per GB-month,\n"
            "       S3 Standard's list price; GB = 2^30 bytes as AWS bills). --in-days N: what\n"
            "       the rule would have removed N days from now.\n"
            "versioning  shows the bucket's versioning state (off, enabled, suspended);\n"
            "       --enable or --suspend sets it first.\n\n"
            "LIFECYCLE: --noncurrent-days N (30)  --keep-newest K (3)  --abort-days D (7)\n"
            "           --no-delete-markers (keep expired delete markers)\n"
            "docs/SECURITY.md explains the defaults.\n\n",
            EXIT_GAPS, EXIT_UNVERIFIED);
    pqf_cli_store_help(f);
}

static int parse(int argc, char **argv, bucket_args *a)
{
    pqf_lifecycle_defaults(&a->lc);
    a->price = 0.023;
    for (int i = 2; i < argc; i++) {
        int r = pqf_cli_store_arg("bucket", argc, argv, &i, &a->s);
        unsigned long long n;
        if (r < 0)
            return PQF_EXIT_USAGE;
        if (r)
            continue;
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            return -1;
        } else if (strcmp(o, "--role") == 0 && v) {
            i++;
            if (strcmp(v, "primary") == 0)
                a->role = PQF_ROLE_PRIMARY;
            else if (strcmp(v, "replica") == 0)
                a->role = PQF_ROLE_REPLICA;
            else
                return pqf_cli_usage("bucket", "--role is primary or replica");
        } else if (strcmp(o, "--kms-key") == 0 && v) {
            a->kms_key = argv[++i];
        } else if (strcmp(o, "--account") == 0 && v) {
            a->account = argv[++i];
        } else if ((strcmp(o, "--noncurrent-days") == 0 || strcmp(o, "--keep-newest") == 0 ||
                    strcmp(o, "--abort-days") == 0) &&
                   v) {
            if (pqf_cli_parse_u64(v, &n) != 0 || n > 36500)
                return pqf_cli_usage("bucket", "bad number '%s' for %s", v, o);
            i++;
            if (o[2] == 'n')
                a->lc.noncurrent_days = (unsigned)n;
            else if (o[2] == 'k')
                a->lc.keep_newest = (unsigned)n;
            else
                a->lc.abort_mpu_days = (unsigned)n;
            if (o[2] != 'k' && n == 0)
                return pqf_cli_usage("bucket", "%s is at least 1 (S3's minimum)", o);
        } else if (strcmp(o, "--no-delete-markers") == 0) {
            a->lc.expired_delete_markers = false;
        } else if (strcmp(o, "--price") == 0 && v) {
            char *end;
            a->price = strtod(argv[++i], &end);
            if (*end || a->price < 0)
                return pqf_cli_usage("bucket", "--price is a number of dollars per GB-month");
        } else if (strcmp(o, "--in-days") == 0 && v) {
            if (pqf_cli_parse_u64(v, &n) != 0 || n > 36500)
                return pqf_cli_usage("bucket", "bad number '%s' for %s", v, o);
            a->in_days = (unsigned)n;
            i++;
        } else if (strcmp(o, "--dry-run") == 0) {
            a->dry_run = true;
        } else if (strcmp(o, "--replace-lifecycle") == 0) {
            a->replace = true;
        } else if (strcmp(o, "--force") == 0) {
            a->force = true;
        } else if (strcmp(o, "--enable") == 0 || strcmp(o, "--suspend") == 0) {
            a->versioning = o + 2;
        } else if (o[0] == '-' && o[1]) {
            return pqf_cli_usage("bucket", "unknown option %s (or a missing value)", o);
        } else if (!a->uri) {
            a->uri = o;
        } else {
            return pqf_cli_usage("bucket", "one URL only");
        }
    }
    if (!a->uri)
        return pqf_cli_usage("bucket", "which s3:// URL?");
    if (!pqf_cli_is_s3(a->uri))
        return pqf_cli_usage("bucket", "bucket commands take an s3:// URL");
    return 0;
}

static void finding_json(const pqf_finding *x)
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

static int do_check(pqf_store *st, const bucket_args *a)
{
    pqf_error err = {0};
    pqf_bucket_config *cfg = NULL;
    pqf_findings *f = pqf_findings_new();
    int rc = 0;
    pqf_audit_ctx ctx = {.account = a->account, .kms_key = a->kms_key};
    if (!f) {
        pqf_error_set(&err, PQF_ERR_NOMEM, "out of memory");
        rc = pqf_cli_fail(&err);
        goto done;
    }
    if (pqf_bucket_read(st, &cfg, &err) != PQF_OK ||
        pqf_audit_bucket(cfg, a->role, &ctx, f, &err) != PQF_OK) {
        rc = pqf_cli_fail(&err);
        goto done;
    }
    size_t n = pqf_findings_count(f), gaps = pqf_findings_failures(f, PQF_SEV_INFO);
    size_t unsup = pqf_findings_unsupported(f);
    const char *role = a->role == PQF_ROLE_PRIMARY ? "primary" : "replica";
    if (a->s.json) {
        printf("{\"url\":");
        pqf_cli_json_str(stdout, pqf_store_uri(st));
        printf(",\"role\":\"%s\",\"gaps\":%zu,\"unsupported\":%zu,\"findings\":[", role, gaps,
               unsup);
        for (size_t i = 0; i < n; i++) {
            if (i)
                printf(",");
            finding_json(pqf_findings_at(f, i));
        }
        printf("]}\n");
    } else {
        printf("%s as a %s:\n", pqf_store_uri(st), role);
        for (size_t i = 0; i < n; i++) {
            const pqf_finding *x = pqf_findings_at(f, i);
            const char *tag = x->status == PQF_CHECK_PASS   ? "ok"
                              : x->status == PQF_CHECK_FAIL ? "GAP"
                              : x->status == PQF_CHECK_INFO ? "info"
                                                            : "unsupported";
            printf("  %-11s %-20s %s", tag, x->where, x->what);
            if (x->status == PQF_CHECK_FAIL)
                printf(" [%s, %s]", x->rule, pqf_severity_name(x->severity));
            printf("\n");
            if (x->status != PQF_CHECK_PASS && x->fix[0])
                printf("  %-11s %-20s fix: %s\n", "", "", x->fix);
        }
        printf("%zu gap(s), %zu setting(s) not supported by this server (unverified)\n", gaps,
               unsup);
    }
    rc = gaps ? EXIT_GAPS : unsup ? EXIT_UNVERIFIED : 0;
done:
    pqf_findings_free(f);
    pqf_bucket_config_free(cfg);
    return rc;
}

static int do_versioning(pqf_store *st, const bucket_args *a)
{
    static const char *const names[] = {"off", "enabled", "suspended"};
    pqf_error err = {0};
    pqf_versioning v = PQF_VERSIONING_OFF;
    if (a->versioning &&
        pqf_store_set_versioning(st,
                                 strcmp(a->versioning, "enable") == 0 ? PQF_VERSIONING_ENABLED
                                                                      : PQF_VERSIONING_SUSPENDED,
                                 &err) != PQF_OK)
        return pqf_cli_fail(&err);
    if (pqf_store_get_versioning(st, &v, &err) != PQF_OK)
        return pqf_cli_fail(&err);
    if (a->s.json) {
        printf("{\"url\":");
        pqf_cli_json_str(stdout, pqf_store_uri(st));
        printf(",\"versioning\":\"%s\"}\n", names[v]);
    } else {
        printf("%s: versioning %s\n", pqf_store_uri(st), names[v]);
    }
    return 0;
}

static int do_setup(pqf_store *st, const bucket_args *a)
{
    pqf_error err = {0};
    pqf_bucket_config *cfg = NULL;
    pqf_bucket_plan *p = NULL;
    int rc = 0;
    if (pqf_bucket_read(st, &cfg, &err) != PQF_OK ||
        pqf_bucket_plan_setup(cfg, a->role, &a->lc, a->replace, a->force, &p, &err) != PQF_OK) {
        rc = pqf_cli_fail(&err);
        goto done;
    }
    static const char *const vnames[] = {"never enabled", "Enabled", "Suspended"};
    printf("%s (%s):\n", pqf_store_uri(st), a->role == PQF_ROLE_PRIMARY ? "primary" : "replica");
    if (p->versioning_change)
        printf("  versioning: %s -> Enabled\n", vnames[p->versioning_from]);
    else
        printf("  versioning: Enabled (no change)\n");
    if (p->lifecycle_unsupported)
        printf("  lifecycle: not supported by this server (nothing sent)\n");
    else if (!p->lifecycle_change)
        printf("  lifecycle: %s (no change)\n", p->lifecycle_from);
    else
        printf("  lifecycle: %s\n          -> %s%s\n", p->lifecycle_from, p->lifecycle_to,
               p->lifecycle_blocked ? " (BLOCKED)" : "");
    if (p->note[0])
        printf("  note: %s\n", p->note);
    if (a->dry_run) {
        if (p->versioning_change)
            printf("\nPUT ?versioning\n%s\n", p->versioning_xml);
        if (p->lifecycle_change && !p->lifecycle_blocked)
            printf("\nPUT ?lifecycle\n%s\n", p->lifecycle_xml);
        printf("\ndry run: nothing changed\n");
    } else if (!p->versioning_change && (!p->lifecycle_change || p->lifecycle_blocked)) {
        printf("nothing to change\n");
    } else if (pqf_bucket_apply(st, p, &err) != PQF_OK) {
        rc = pqf_cli_fail(&err);
        goto done;
    } else {
        printf("applied\n");
    }
    if (p->lifecycle_blocked)
        rc = pqf_exit_code(PQF_ERR_CONFLICT);
done:
    pqf_bucket_plan_free(p);
    pqf_bucket_config_free(cfg);
    return rc;
}

static double gb(uint64_t bytes)
{
    return (double)bytes / (double)(1ull << 30);
}

static void cost_row(const pqf_cost_group *g, double price, bool json)
{
    double now = gb(g->current_bytes + g->noncurrent_bytes) * price;
    double after = gb(g->current_bytes + g->noncurrent_bytes - g->expire_bytes) * price;
    if (json) {
        printf("{\"prefix\":");
        pqf_cli_json_str(stdout, g->prefix);
        printf(",\"current_objects\":%llu,\"current_bytes\":%llu,\"noncurrent_versions\":%llu,"
               "\"noncurrent_bytes\":%llu,\"delete_markers\":%llu,\"expire_versions\":%llu,"
               "\"expire_bytes\":%llu,\"expire_delete_markers\":%llu,\"monthly_usd\":%.4f,"
               "\"monthly_usd_after_lifecycle\":%.4f}",
               (unsigned long long)g->current_objects, (unsigned long long)g->current_bytes,
               (unsigned long long)g->noncurrent_versions, (unsigned long long)g->noncurrent_bytes,
               (unsigned long long)g->delete_markers, (unsigned long long)g->expire_versions,
               (unsigned long long)g->expire_bytes, (unsigned long long)g->expire_markers, now,
               after);
    } else {
        printf("%-24s %8llu %14llu %8llu %14llu %7llu %8llu %14llu %10.2f %10.2f\n", g->prefix,
               (unsigned long long)g->current_objects, (unsigned long long)g->current_bytes,
               (unsigned long long)g->noncurrent_versions, (unsigned long long)g->noncurrent_bytes,
               (unsigned long long)g->delete_markers, (unsigned long long)g->expire_versions,
               (unsigned long long)g->expire_bytes, now, after);
    }
}

static int do_cost(pqf_store *st, const bucket_args *a)
{
    pqf_error err = {0};
    pqf_bucket_cost *c = NULL;
    int64_t now = ((int64_t)time(NULL) + (int64_t)a->in_days * 86400) * 1000;
    if (pqf_bucket_cost_read(st, &a->lc, now, &c, &err) != PQF_OK)
        return pqf_cli_fail(&err);
    if (a->s.json) {
        printf("{\"url\":");
        pqf_cli_json_str(stdout, pqf_store_uri(st));
        printf(",\"price_usd_per_gb_month\":%.6f,\"lifecycle\":{\"noncurrent_days\":%u,"
               "\"keep_newest\":%u,\"abort_days\":%u,\"expired_delete_markers\":%s},"
               "\"incomplete_uploads\":%llu,\"incomplete_uploads_to_abort\":%llu,\"prefixes\":[",
               a->price, a->lc.noncurrent_days, a->lc.keep_newest, a->lc.abort_mpu_days,
               a->lc.expired_delete_markers ? "true" : "false", (unsigned long long)c->uploads,
               (unsigned long long)c->uploads_expired);
        for (size_t i = 0; i < c->ngroups; i++) {
            if (i)
                printf(",");
            cost_row(&c->groups[i], a->price, true);
        }
        printf("],\"total\":");
        cost_row(&c->total, a->price, true);
        printf("}\n");
    } else {
        printf("%s at $%.4f per GB-month; lifecycle: noncurrent versions expire after %u day(s) "
               "keeping the newest %u, delete markers %s\n\n",
               pqf_store_uri(st), a->price, a->lc.noncurrent_days, a->lc.keep_newest,
               a->lc.expired_delete_markers ? "removed when expired" : "kept");
        printf("%-24s %8s %14s %8s %14s %7s %8s %14s %10s %10s\n", "prefix", "current",
               "current bytes", "noncur", "noncur bytes", "markers", "expire", "expire bytes",
               "$/month", "$ after");
        for (size_t i = 0; i < c->ngroups; i++)
            cost_row(&c->groups[i], a->price, false);
        cost_row(&c->total, a->price, false);
        printf("\nincomplete multipart uploads: %llu (%llu older than %u day(s) would be "
               "aborted; their parts are billed but not listed here)\n",
               (unsigned long long)c->uploads, (unsigned long long)c->uploads_expired,
               a->lc.abort_mpu_days);
    }
    pqf_bucket_cost_free(c);
    return 0;
}

int pqf_cmd_bucket(int argc, char **argv)
{
    bucket_args a = {0};
    pqf_error err = {0};
    pqf_store *st = NULL;
    int rc;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? PQF_EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "check") != 0 && strcmp(sub, "setup") != 0 && strcmp(sub, "cost") != 0 &&
        strcmp(sub, "versioning") != 0)
        return pqf_cli_usage("bucket", "unknown subcommand '%s' (check, setup, cost or versioning)",
                             sub);
    rc = parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (pqf_store_open(a.uri, &a.s.opt, &st, &err) != PQF_OK)
        return pqf_cli_fail(&err);
    if (strcmp(sub, "check") == 0)
        rc = do_check(st, &a);
    else if (strcmp(sub, "setup") == 0)
        rc = do_setup(st, &a);
    else if (strcmp(sub, "versioning") == 0)
        rc = do_versioning(st, &a);
    else
        rc = do_cost(st, &a);
    pqf_store_free(st);
    return rc;
}
