/* pqfeed log STORE [TABLE]: list commits and verify the log. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "pqfeed/feed.h"
#include "feed_cli.h"

static const char log_usage[] =
    "usage: pqfeed log STORE [TABLE] [--deep] [--json] [store options]\n"
    "\n"
    "List each table's commits (seq, kind, rows, bytes, watermark range, age) and\n"
    "verify the log: the hash chain, no missing seq, and every file a commit names\n"
    "present with its size (--deep: and its SHA-256, reading every file back).\n"
    "Exits 0 when all holds; otherwise prints each problem and exits with the code\n"
    "for a checksum failure (6) or corrupt data (5). A STORE that is not there (no\n"
    "such directory; on S3 no object under it) or a TABLE the store holds nothing of\n"
    "is exit 9; a table without commits is listed as head 0, \"no commits yet\".\n";

typedef struct {
    bool json;
    bool first_commit;
    int64_t now;
    uint64_t worst; /* exit-code class */
} log_ctx;

static void on_commit(void *ud, const pqf_commit *c)
{
    log_ctx *x = ud;
    if (x->json) {
        printf("%s{\"seq\":%" PRIu64 ",\"kind\":\"%s\",\"schema_version\":%d,\"rows\":%" PRIu64
               ",\"bytes\":%" PRIu64 ",\"files\":%zu,\"created_ms\":%" PRId64 ",\"hash\":\"%s\"",
               x->first_commit ? "" : ",", c->seq,
               c->kind == PQF_COMMIT_CHANGES ? "changes" : "snapshot", c->schema_version, c->rows,
               c->bytes, c->nfiles, c->created_ms, c->hash);
        if (c->wm_column) {
            printf(",\"watermark\":{\"column\":");
            pqf_cli_json_str(stdout, c->wm_column);
            printf(",\"from\":");
            if (c->wm_from)
                pqf_cli_json_str(stdout, c->wm_from);
            else
                printf("null");
            printf(",\"to\":");
            if (c->wm_to)
                pqf_cli_json_str(stdout, c->wm_to);
            else
                printf("null");
            printf("}");
        }
        printf("}");
        x->first_commit = false;
        return;
    }
    char a[32];
    pqf_cli_fmt_age(x->now - c->created_ms, a, sizeof a);
    char wm[256] = "-";
    if (c->wm_column)
        snprintf(wm, sizeof wm, "%s %s .. %s", c->wm_column, c->wm_from ? c->wm_from : "?",
                 c->wm_to ? c->wm_to : "?");
    printf("  %6" PRIu64 "  %-8s  v%-3d %12" PRIu64 " %14" PRIu64 " %5zu  %6s  %s\n", c->seq,
           c->kind == PQF_COMMIT_CHANGES ? "changes" : "snapshot", c->schema_version, c->rows,
           c->bytes, c->nfiles, a, wm);
}

static const char *problem_name(pqf_problem_kind k)
{
    switch (k) {
    case PQF_PROBLEM_CHAIN:
        return "broken hash chain";
    case PQF_PROBLEM_GAP:
        return "missing commit";
    case PQF_PROBLEM_MISSING:
        return "missing file";
    case PQF_PROBLEM_SIZE:
        return "wrong size";
    case PQF_PROBLEM_CHECKSUM:
        return "checksum mismatch";
    default:
        return "invalid commit";
    }
}

static void on_problem(void *ud, const pqf_problem *p)
{
    log_ctx *x = ud;
    if (p->kind == PQF_PROBLEM_CHECKSUM)
        x->worst = 2;
    else if (x->worst < 1)
        x->worst = 1;
    fprintf(stderr, "pqfeed: %s: seq %" PRIu64 ": %s: %s (%s)\n", p->table, p->seq,
            problem_name(p->kind), p->key ? p->key : "", p->detail ? p->detail : "");
}

static bool on_any_key(void *ud, const pqf_object_info *info)
{
    (void)info;
    *(bool *)ud = true;
    return false;
}

/* Is there any object under prefix ("" the whole store)? */
static pqf_err has_objects(pqf_store *s, const char *prefix, bool *yes, pqf_error *err)
{
    pqf_list_options lo = {.max_keys = 1};
    *yes = false;
    return pqf_store_list(s, prefix, &lo, on_any_key, yes, err);
}

/* Is the store there at all: a local store's directory, an S3 prefix with
 * some object under it (S3 has no empty folders)? */
static pqf_err store_exists(pqf_store *store, bool *yes, pqf_error *err)
{
    const char *uri = pqf_store_uri(store);
    struct stat st;
    if (pqf_store_is_s3(store))
        return has_objects(store, "", yes, err);
    *yes = strncmp(uri, "file://", 7) != 0 || (stat(uri + 7, &st) == 0 && S_ISDIR(st.st_mode));
    return PQF_OK;
}

/* A typo must not look like an empty log: a store that is not there, or a
 * named table of which the store holds nothing, is PQF_ERR_NOT_FOUND (exit
 * 9). A table with objects but no commit yet (a schema registered, orphaned
 * data) is listed as head 0 with no commits; a store that is there without
 * tables says so. */
static pqf_err check_exists(pqf_feed *feed, const char *table, size_t ntables, pqf_error *err)
{
    pqf_store *store = pqf_feed_store(feed);
    char prefix[PQF_TABLE_NAME_MAX + 2];
    bool any = false, there = false;
    uint64_t head = 0;
    pqf_err rc = PQF_OK;
    if (table) {
        if (pqf_feed_head(feed, table, &head, err) != PQF_OK || head > 0)
            return PQF_OK; /* a damaged log is verify's to report */
        snprintf(prefix, sizeof prefix, "%s/", table);
        rc = has_objects(store, prefix, &any, err);
        if (rc != PQF_OK || any)
            return rc;
    } else if (ntables > 0) {
        return PQF_OK;
    }
    rc = store_exists(store, &there, err);
    if (rc != PQF_OK)
        return rc;
    if (!there)
        return pqf_error_set(err, PQF_ERR_NOT_FOUND, "store %s not found (%s)",
                             pqf_store_uri(store),
                             pqf_store_is_s3(store) ? "no object under it" : "no such directory");
    if (table)
        return pqf_error_set(err, PQF_ERR_NOT_FOUND, "table %s not found in %s", table,
                             pqf_store_uri(store));
    return PQF_OK;
}

int pqf_cmd_log(int argc, char **argv)
{
    pqf_cli_store_args sa;
    memset(&sa, 0, sizeof sa);
    const char *uri = NULL, *table = NULL;
    bool deep = false;
    int ret = 0;
    pqf_error err = {0};
    pqf_store *store = NULL;
    pqf_feed *feed = NULL;
    char **tables = NULL;
    size_t ntables = 0;
    for (int i = 1; i < argc; i++) {
        int r = pqf_cli_store_arg("log", argc, argv, &i, &sa);
        if (r < 0)
            return PQF_EXIT_USAGE;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(log_usage, stdout);
            pqf_cli_store_help(stdout);
            return 0;
        } else if (strcmp(argv[i], "--deep") == 0) {
            deep = true;
        } else if (strcmp(argv[i], "--json") == 0) {
            sa.json = true;
        } else if (pqf_cli_operand("log", argv[i], (const char **const[]){&uri, &table}, 2)) {
            return PQF_EXIT_USAGE;
        }
    }
    if (!uri)
        return pqf_cli_usage("log", "needs STORE");
    ret = pqf_cli_open_feed(uri, &sa, &store, &feed);
    if (ret == 0)
        ret = pqf_cli_feed_tables("log", feed, table, &tables, &ntables);
    if (ret != 0)
        goto done;
    if (check_exists(feed, table, ntables, &err) != PQF_OK) {
        ret = pqf_cli_fail(&err);
        goto done;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    log_ctx x = {sa.json, true, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, 0};
    if (sa.json)
        printf("{\"store\":\"%s\",\"tables\":[", pqf_store_uri(store));
    for (size_t t = 0; t < ntables; t++) {
        uint64_t problems = 0, head = 0;
        pqf_verify_opts vo = {deep, on_commit, on_problem, &x};
        pqf_error e2 = {0};
        pqf_feed_head(feed, tables[t], &head, &e2); /* a gap is reported by verify */
        if (sa.json) {
            printf("%s{\"table\":", t ? "," : "");
            pqf_cli_json_str(stdout, tables[t]);
            printf(",\"commits\":[");
            x.first_commit = true;
        } else {
            printf("%s (head %" PRIu64 ")\n     seq  kind      schema       rows          bytes files     age  watermark\n",
                   tables[t], head);
        }
        if (pqf_feed_verify(feed, tables[t], &vo, &problems, &err) != PQF_OK) {
            if (sa.json)
                printf("]}]}\n");
            ret = pqf_cli_fail(&err);
            goto done;
        }
        if (sa.json)
            printf("],\"head\":%" PRIu64 ",\"problems\":%" PRIu64 "}", head, problems);
        else if (head == 0 && !problems)
            printf("  no commits yet\n");
        else if (problems)
            printf("  %" PRIu64 " problem(s) in %s\n", problems, tables[t]);
        else
            printf("  log verified: hash chain intact, every file present%s\n",
                   deep ? " with its checksum" : " with its size");
    }
    if (sa.json)
        printf("]}\n");
    else if (ntables == 0)
        printf("no tables with commits in %s\n", pqf_store_uri(store));
    if (x.worst == 2)
        ret = pqf_exit_code(PQF_ERR_CHECKSUM);
    else if (x.worst == 1)
        ret = pqf_exit_code(PQF_ERR_CORRUPT);
done:
    pqf_strv_free(tables, ntables);
    pqf_feed_free(feed);
    pqf_store_free(store);
    return ret;
}
