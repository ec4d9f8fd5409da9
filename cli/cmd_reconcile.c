/* pqfeed reconcile A B: per table and bucket, row counts and an
 * order-independent hash of two sources' rows, and the keys that differ. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pqfeed/reconcile.h"
#include "store_cli.h"

/* Exit code when the sources differ (docs/CLI.md). */
#define EXIT_DIFFERENT 23

static const char reconcile_usage[] =
    "usage: pqfeed reconcile A B [--table T] [--key COLS] [--bucket COL:hour|day|N]\n"
    "                        [--columns a,b,..] [--delete-column COL] [--watermark COL]\n"
    "                        [--max-diffs N] [--max-keys N] [--json] [store options]\n"
    "\n"
    "Prove two sources hold the same data: per table and per bucket, row counts and\n"
    "an order-independent hash of the rows (each row in one canonical text per type:\n"
    "integers decimal, decimals without trailing zeros, floats shortest round-trip,\n"
    "booleans true/false, timestamps epoch microseconds UTC, dates days, nested values\n"
    "canonical JSON), then the differing keys.\n"
    "\n"
    "A, B  feed:STORE or a feed's store/directory   the table's current state\n"
    "      sqlite:PATH or PATH.db/.sqlite/.sqlite3  an applied sink (or any SQLite table)\n"
    "      postgres://... or postgres:CONNINFO      a PostgreSQL table\n"
    "      ndjson:PATH, a .ndjson/.jsonl file, a folder of them, or a quoted glob\n"
    "      ('pages/hour-*'): API pages; the latest record per key by --watermark wins\n"
    "A row whose --delete-column (default deleted) is true counts as deleted.\n"
    "\n"
    "  --table T          the table (default: every table of a feed source)\n"
    "  --key COLS         key columns (default: the feed's key or the table's primary key)\n"
    "  --bucket COL:UNIT  per UTC hour or day of a timestamp/date column, or per N of\n"
    "                     an integer column (N seconds of a timestamp column)\n"
    "  --columns a,b      compared columns (default: those both sides have, without\n"
    "                     _op, _seq, _ts and the delete column)\n"
    "  --watermark COL    NDJSON: which record of a key is the latest (default: the\n"
    "                     bucket column, else updated_at, else the last one read)\n"
    "  --max-diffs N      differing keys listed (default 20)\n"
    "  --max-keys N       keys per side held in memory (default 4194304)\n"
    "  --json             one JSON object\n"
    "\n"
    "Exit codes: 0 equal, 23 differences found; others as docs/CLI.md.\n";

typedef struct {
    bool json;
    bool first;
} out_ctx;

static void json_str_or_null(const char *s)
{
    if (s)
        pqf_cli_json_str(stdout, s);
    else
        fputs("null", stdout);
}

static const char *kind_name(pqf_reconcile_diff_kind k)
{
    return k == PQF_DIFF_ONLY_A ? "only_a" : k == PQF_DIFF_ONLY_B ? "only_b" : "changed";
}

static void print_json(out_ctx *x, const pqf_reconcile_table *t)
{
    printf("%s{\"table\":", x->first ? "" : ",");
    pqf_cli_json_str(stdout, t->table);
    printf(",\"a\":");
    pqf_cli_json_str(stdout, t->source_a);
    printf(",\"b\":");
    pqf_cli_json_str(stdout, t->source_b);
    printf(",\"key\":[");
    for (size_t i = 0; i < t->nkey; i++) {
        printf("%s", i ? "," : "");
        pqf_cli_json_str(stdout, t->key[i]);
    }
    printf("],\"columns\":[");
    for (size_t i = 0; i < t->ncolumns; i++) {
        printf("%s", i ? "," : "");
        pqf_cli_json_str(stdout, t->columns[i]);
    }
    printf("],\"bucket\":");
    json_str_or_null(t->bucket);
    printf(",\"equal\":%s,\"rows_a\":%" PRIu64 ",\"rows_b\":%" PRIu64 ",\"hash_a\":\"%016" PRIx64
           "\",\"hash_b\":\"%016" PRIx64 "\",\"diffs\":%" PRIu64 ",\"buckets\":[",
           t->equal ? "true" : "false", t->rows_a, t->rows_b, t->hash_a, t->hash_b, t->diffs);
    for (size_t i = 0; i < t->nbuckets; i++) {
        const pqf_reconcile_bucket *b = &t->buckets[i];
        printf("%s{\"bucket\":", i ? "," : "");
        pqf_cli_json_str(stdout, b->label);
        printf(",\"rows_a\":%" PRIu64 ",\"rows_b\":%" PRIu64 ",\"hash_a\":\"%016" PRIx64
               "\",\"hash_b\":\"%016" PRIx64 "\",\"diffs\":%" PRIu64 ",\"equal\":%s}",
               b->rows_a, b->rows_b, b->hash_a, b->hash_b, b->diffs, b->equal ? "true" : "false");
    }
    printf("],\"listed\":[");
    for (size_t i = 0; i < t->nlisted; i++) {
        const pqf_reconcile_diff *d = &t->listed[i];
        printf("%s{\"key\":", i ? "," : "");
        pqf_cli_json_str(stdout, d->key);
        printf(",\"kind\":\"%s\",\"bucket\":", kind_name(d->kind));
        pqf_cli_json_str(stdout, d->bucket);
        if (d->kind == PQF_DIFF_CHANGED) {
            printf(",\"column\":");
            json_str_or_null(d->column);
            printf(",\"a\":");
            json_str_or_null(d->value_a);
            printf(",\"b\":");
            json_str_or_null(d->value_b);
        }
        printf("}");
    }
    printf("]}");
}

/* A value for the text report: quoted, cut at 60 bytes. */
static void print_value(const char *v)
{
    if (!v) {
        fputs("null", stdout);
        return;
    }
    size_t n = strlen(v);
    putchar('"');
    for (size_t i = 0; i < n && i < 60; i++)
        putchar((unsigned char)v[i] < 0x20 ? '?' : v[i]);
    fputs(n > 60 ? "\"..." : "\"", stdout);
}

static void print_text(const pqf_reconcile_table *t)
{
    printf("table %s: A %s, B %s\n", t->table, t->source_a, t->source_b);
    printf("  key ");
    for (size_t i = 0; i < t->nkey; i++)
        printf("%s%s", i ? "," : "", t->key[i]);
    printf("; %zu columns compared; buckets %s\n", t->ncolumns, t->bucket ? t->bucket : "none");
    printf("  %-22s %10s %10s  %-16s  %-16s %8s  %s\n", "bucket", "rows A", "rows B", "hash A",
           "hash B", "diffs", "status");
    for (size_t i = 0; i < t->nbuckets; i++) {
        const pqf_reconcile_bucket *b = &t->buckets[i];
        printf("  %-22s %10" PRIu64 " %10" PRIu64 "  %016" PRIx64 "  %016" PRIx64 " %8" PRIu64
               "  %s\n",
               b->label, b->rows_a, b->rows_b, b->hash_a, b->hash_b, b->diffs,
               b->equal ? "equal" : "DIFFERENT");
    }
    printf("  %-22s %10" PRIu64 " %10" PRIu64 "  %016" PRIx64 "  %016" PRIx64 " %8" PRIu64 "  %s\n",
           "total", t->rows_a, t->rows_b, t->hash_a, t->hash_b, t->diffs,
           t->equal ? "equal" : "DIFFERENT");
    if (t->diffs) {
        printf("  %" PRIu64 " differing key(s)%s:\n", t->diffs,
               t->nlisted < t->diffs ? " (the first listed; --max-diffs for more)" : "");
        for (size_t i = 0; i < t->nlisted; i++) {
            const pqf_reconcile_diff *d = &t->listed[i];
            printf("    %s  [%s]  ", d->key, d->bucket);
            if (d->kind == PQF_DIFF_ONLY_A) {
                printf("only in A\n");
            } else if (d->kind == PQF_DIFF_ONLY_B) {
                printf("only in B\n");
            } else if (d->column) {
                printf("changed: %s: A ", d->column);
                print_value(d->value_a);
                printf(", B ");
                print_value(d->value_b);
                putchar('\n');
            } else {
                printf("changed\n");
            }
        }
    }
}

static void on_table(void *ud, const pqf_reconcile_table *t)
{
    out_ctx *x = ud;
    if (x->json)
        print_json(x, t);
    else
        print_text(t);
    x->first = false;
}

/* "a,b" -> a malloc'd vector of pointers into a malloc'd copy. */
static int split_list(const char *arg, char **copy, const char ***v, size_t *n)
{
    *copy = strdup(arg);
    size_t cap = 1;
    for (const char *p = arg; *p; p++)
        cap += *p == ',';
    *v = calloc(cap, sizeof **v);
    *n = 0;
    if (!*copy || !*v)
        return -1;
    for (char *save = NULL, *t = strtok_r(*copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        (*v)[(*n)++] = t;
    return *n ? 0 : -1;
}

static int parse_bucket(const char *arg, char **col, pqf_reconcile_opts *o)
{
    const char *colon = strrchr(arg, ':');
    if (!colon || colon == arg || !colon[1])
        return -1;
    const char *u = colon + 1;
    unsigned long long w;
    if (strcmp(u, "hour") == 0)
        o->bucket_unit = PQF_BUCKET_HOUR;
    else if (strcmp(u, "day") == 0)
        o->bucket_unit = PQF_BUCKET_DAY;
    else if (pqf_cli_parse_u64(u, &w) == 0 && w > 0 && w < (1ULL << 40)) {
        o->bucket_unit = PQF_BUCKET_WIDTH;
        o->bucket_width = (int64_t)w;
    } else
        return -1;
    *col = strndup(arg, (size_t)(colon - arg));
    if (!*col)
        return -1;
    o->bucket_column = *col;
    return 0;
}

int pqf_cmd_reconcile(int argc, char **argv)
{
    pqf_cli_store_args sa;
    memset(&sa, 0, sizeof sa);
    pqf_reconcile_opts o;
    pqf_reconcile_opts_init(&o);
    const char *src_a = NULL, *src_b = NULL;
    char *key_copy = NULL, *cols_copy = NULL, *bucket_col = NULL;
    const char **keyv = NULL, **colv = NULL;
    size_t nkey = 0, ncols = 0;
    int ret = 0;
    pqf_error err = {0};
    out_ctx x = {false, true};
    for (int i = 1; i < argc; i++) {
        int r = pqf_cli_store_arg("reconcile", argc, argv, &i, &sa);
        if (r < 0) {
            ret = PQF_EXIT_USAGE;
            goto done;
        }
        if (r > 0)
            continue;
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(reconcile_usage, stdout);
            pqf_cli_store_help(stdout);
            goto done;
        } else if (strcmp(a, "--json") == 0) {
            x.json = true;
        } else if (strcmp(a, "--table") == 0 && v) {
            o.table = argv[++i];
        } else if (strcmp(a, "--key") == 0 && v) {
            if (keyv || split_list(argv[++i], &key_copy, &keyv, &nkey) != 0) {
                ret = pqf_cli_usage("reconcile", "--key: expected a,b,...");
                goto done;
            }
        } else if (strcmp(a, "--columns") == 0 && v) {
            if (colv || split_list(argv[++i], &cols_copy, &colv, &ncols) != 0) {
                ret = pqf_cli_usage("reconcile", "--columns: expected a,b,...");
                goto done;
            }
        } else if (strcmp(a, "--bucket") == 0 && v) {
            if (bucket_col || parse_bucket(argv[++i], &bucket_col, &o) != 0) {
                ret = pqf_cli_usage("reconcile", "--bucket: expected COL:hour, COL:day or COL:N");
                goto done;
            }
        } else if (strcmp(a, "--delete-column") == 0 && v) {
            o.delete_column = argv[++i];
        } else if (strcmp(a, "--watermark") == 0 && v) {
            o.watermark = argv[++i];
        } else if ((strcmp(a, "--max-diffs") == 0 || strcmp(a, "--max-keys") == 0) && v) {
            if (pqf_cli_parse_u64(argv[++i], &n) != 0 || (a[6] == 'k' && n == 0) ||
                n > (1ULL << 32)) {
                ret = pqf_cli_usage("reconcile", "%s: expected a number", a);
                goto done;
            }
            if (a[6] == 'k')
                o.max_keys = n;
            else
                o.max_diffs = (size_t)n;
        } else if ((ret = pqf_cli_operand("reconcile", a, (const char **const[]){&src_a, &src_b},
                                          2)) != 0) {
            goto done;
        }
    }
    if (!src_a || !src_b) {
        ret = pqf_cli_usage("reconcile", "needs two sources A and B");
        goto done;
    }
    x.json = x.json || sa.json; /* the store options parse --json too */
    o.key = keyv;
    o.nkey = nkey;
    o.columns = colv;
    o.ncolumns = ncols;
    o.store_opt = &sa.opt;
    bool equal = true;
    if (x.json)
        printf("{\"tables\":[");
    pqf_err rc = pqf_reconcile(src_a, src_b, &o, on_table, &x, &equal, &err);
    if (x.json)
        printf("],\"equal\":%s}\n", rc == PQF_OK && equal ? "true" : "false");
    fflush(stdout);
    if (rc != PQF_OK)
        ret = pqf_cli_fail(&err);
    else
        ret = equal ? 0 : EXIT_DIFFERENT;
done:
    free(keyv);
    free(colv);
    free(key_copy);
    free(cols_copy);
    free(bucket_col);
    return ret;
}
