/* pqfeed gc STORE [TABLE]: remove orphan data files. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pqfeed/config.h"
#include "pqfeed/feed.h"
#include "feed_cli.h"

static const char gc_usage[] =
    "usage: pqfeed gc STORE [TABLE] [--grace DURATION] [--dry-run] [--json] [store options]\n"
    "\n"
    "Remove data files that no commit names (left by failed or racing exports) and\n"
    "unfinished uploads (S3 multipart uploads; a killed writer's temporaries in a\n"
    "local store) that are older than the grace period (default 24h; e.g. 30m, 2h, 7d, 0s). A file\n"
    "a commit names is never touched; a damaged log stops gc.\n";

typedef struct {
    bool json, dry, first;
} gc_print;

static void on_orphan(void *ud, const char *key, uint64_t size, int64_t age_ms)
{
    gc_print *p = ud;
    if (p->json)
        return;
    printf("%s %s (%" PRIu64 " bytes, %" PRId64 " s old)\n", p->dry ? "would remove" : "remove",
           key, size, age_ms / 1000);
}

int pqf_cmd_gc(int argc, char **argv)
{
    pqf_cli_store_args sa;
    memset(&sa, 0, sizeof sa);
    const char *uri = NULL, *table = NULL;
    pqf_gc_opts go = {0};
    bool grace_set = false;
    int ret = 0;
    pqf_error err = {0};
    pqf_store *store = NULL;
    pqf_feed *feed = NULL;
    char **tables = NULL;
    size_t ntables = 0;
    gc_print pr = {false, false, true};
    for (int i = 1; i < argc; i++) {
        int r = pqf_cli_store_arg("gc", argc, argv, &i, &sa);
        if (r < 0)
            return PQF_EXIT_USAGE;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(gc_usage, stdout);
            pqf_cli_store_help(stdout);
            return 0;
        } else if (strcmp(argv[i], "--grace") == 0) {
            if (i + 1 >= argc || !pqf_duration_parse(argv[++i], &go.grace_ms))
                return pqf_cli_usage("gc", "--grace: expected a duration like 30m, 2h, 7d");
            grace_set = true;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            go.dry_run = true;
        } else if (strcmp(argv[i], "--json") == 0) {
            sa.json = true;
        } else if (pqf_cli_operand("gc", argv[i], (const char **const[]){&uri, &table}, 2)) {
            return PQF_EXIT_USAGE;
        }
    }
    if (!uri)
        return pqf_cli_usage("gc", "needs STORE");
    if (grace_set && go.grace_ms == 0)
        go.grace_ms = -1; /* "0s": everything, even what was written just now */
    pr.json = sa.json;
    pr.dry = go.dry_run;
    go.on_orphan = on_orphan;
    go.ud = &pr;
    ret = pqf_cli_open_feed(uri, &sa, &store, &feed);
    if (ret == 0)
        ret = pqf_cli_feed_tables("gc", feed, table, &tables, &ntables);
    if (ret != 0)
        goto done;
    if (sa.json)
        printf("{\"tables\":[");
    for (size_t t = 0; t < ntables; t++) {
        pqf_gc_result res;
        if (pqf_feed_gc(feed, tables[t], &go, &res, &err) != PQF_OK) {
            if (sa.json)
                printf("]}\n");
            ret = pqf_cli_fail(&err);
            goto done;
        }
        if (sa.json)
            printf("%s{\"table\":\"%s\",\"named\":%" PRIu64 ",\"orphans\":%" PRIu64
                   ",\"young\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"deleted\":%" PRIu64
                   ",\"uploads\":%" PRIu64 ",\"uploads_aborted\":%" PRIu64 "}",
                   t ? "," : "", tables[t], res.named, res.orphans, res.young, res.bytes,
                   res.deleted, res.uploads, res.uploads_aborted);
        else
            printf("%s: %" PRIu64 " files named by commits, %" PRIu64 " orphans (%" PRIu64
                   " bytes) %s, %" PRIu64 " unfinished uploads %s, %" PRIu64
                   " younger than the grace period kept\n",
                   tables[t], res.named, res.orphans, res.bytes,
                   go.dry_run ? "found" : "removed", res.uploads,
                   go.dry_run ? "found" : "aborted", res.young);
    }
    if (sa.json)
        printf("]}\n");
done:
    pqf_strv_free(tables, ntables);
    pqf_feed_free(feed);
    pqf_store_free(store);
    return ret;
}
