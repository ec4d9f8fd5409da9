/* pqfeed apply STORE SINK: apply a feed's commits to SQLite, PostgreSQL or Parquet, in
 * order, exactly once; pqfeed apply status: how far each table is. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pqfeed/apply.h"
#include "pqfeed/config.h"
#include "pqfeed/contract.h"
#include "pqfeed/feed.h"
#include "store_cli.h"

/* Exit codes of apply beyond pqf_exit_code() (docs/CLI.md). */
#define EXIT_LATE 20
#define EXIT_CORRUPT 21
#define EXIT_CHAIN 22

static const char apply_usage[] =
    "usage: pqfeed apply STORE SINK [--tables a,b] [--until SEQ] [--max-delay DURATION]\n"
    "                    [--backoff DURATION] [--watch] [--poll DURATION] [--quiet]\n"
    "                    [--contract FILE]\n"
    "                    [store options]\n"
    "       pqfeed apply status STORE SINK [--tables a,b] [--json] [store options]\n"
    "\n"
    "Apply each table's commits after the sink's checkpoint, in order, each in one\n"
    "transaction with its checkpoint (_pqfeed_checkpoint), so a rerun after a crash\n"
    "applies every commit exactly once. Snapshots replace a table's rows; changes\n"
    "upsert I/U and delete D rows by key. Tables are created from the feed's schema;\n"
    "a new nullable column in a later schema version is added with ALTER TABLE,\n"
    "a widened one (int32 -> int64, float -> double, decimal precision up) retyped.\n"
    "\n"
    "SINK  sqlite:PATH, or PATH ending in .db/.sqlite/.sqlite3   (SQLite file)\n"
    "      postgres://... or postgresql://...  (libpq URI)\n"
    "      postgres:'host=... dbname=...'     (libpq conninfo)\n"
    "      parquet:DIR or parquet:s3://bucket/prefix  (each table's current state as\n"
    "            Parquet files, named by TABLE/_manifest/<seq>.json, written last)\n"
    "\n"
    "Before commit N is applied: N's prev must be the hash of N-1 (and the sink's\n"
    "checkpoint must match the feed), and every file must be present with its size\n"
    "and SHA-256. A missing file (or commit object) is late: apply waits with\n"
    "exponential backoff (from --backoff, default 200ms) up to --max-delay (default\n"
    "30m) and then stops. A file with a wrong checksum is recorded in\n"
    "_pqfeed_quarantine, nothing of its commit is applied, and it is waited for too.\n"
    "\n"
    "  --tables a,b      only these tables (default: every table of the feed)\n"
    "  --until SEQ       stop after commit SEQ\n"
    "  --watch           keep following the feed, looking every --poll (default 10s);\n"
    "                    SIGTERM / SIGINT stop it cleanly between commits\n"
    "  --quiet           print only problems\n"
    "  --contract FILE   enforce a schema contract (docs/SCHEMA.md): a commit whose\n"
    "                    schema, key or values break it is not applied; apply stops\n"
    "                    before it (exit 24)\n"
    "  status            per table: applied seq, the feed's head, lag (now minus the\n"
    "                    created_at of the last applied and of the head commit) and\n"
    "                    what the next commit waits for\n"
    "\n"
    "Exit codes: 0 done (or stopped by a signal), 20 a file or commit still missing\n"
    "after --max-delay, 21 a file corrupt (wrong SHA-256), 22 broken hash chain or\n"
    "rewritten feed, 24 a commit breaks --contract; others as docs/CLI.md.\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    bool quiet;
} ev_ctx;

static void on_event(void *ud, const pqf_apply_event *ev)
{
    ev_ctx *x = ud;
    switch (ev->kind) {
    case PQF_APPLY_EV_APPLIED:
        if (!x->quiet)
            printf("%s: commit %" PRIu64 " (%s) applied: %" PRIu64 " rows\n", ev->table, ev->seq,
                   ev->detail, ev->rows);
        break;
    case PQF_APPLY_EV_WAITING:
        fprintf(stderr, "pqfeed: %s: commit %" PRIu64 ": waiting %" PRId64 " ms for %s: %s\n",
                ev->table, ev->seq, ev->wait_ms, ev->key ? ev->key : "?", ev->detail);
        break;
    case PQF_APPLY_EV_QUARANTINED:
        fprintf(stderr, "pqfeed: %s: commit %" PRIu64 ": %s is corrupt (%s): quarantined\n",
                ev->table, ev->seq, ev->key ? ev->key : "?", ev->detail);
        break;
    }
    fflush(stdout);
}

/* "a,b" -> a malloc'd vector of pointers into a malloc'd copy. */
static int split_tables(const char *arg, char **copy, const char ***v, size_t *n)
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

typedef struct {
    bool json, first;
    int64_t now;
} status_ctx;

static void on_status(void *ud, const pqf_apply_table_status *st)
{
    status_ctx *x = ud;
    int64_t lag_a = st->applied_created_ms ? x->now - st->applied_created_ms : -1;
    int64_t lag_h = st->head_created_ms ? x->now - st->head_created_ms : -1;
    if (x->json) {
        printf("%s{\"table\":", x->first ? "" : ",");
        pqf_cli_json_str(stdout, st->table);
        printf(",\"applied_seq\":%" PRIu64 ",\"head_seq\":%" PRIu64 ",\"behind\":%" PRIu64,
               st->applied_seq, st->head_seq,
               st->head_seq > st->applied_seq ? st->head_seq - st->applied_seq : 0);
        printf(",\"applied_at\":");
        if (st->applied_at && *st->applied_at)
            pqf_cli_json_str(stdout, st->applied_at);
        else
            printf("null");
        if (lag_a >= 0)
            printf(",\"applied_lag_ms\":%" PRId64, lag_a);
        else
            printf(",\"applied_lag_ms\":null");
        if (lag_h >= 0)
            printf(",\"head_lag_ms\":%" PRId64, lag_h);
        else
            printf(",\"head_lag_ms\":null");
        printf(",\"waiting_for\":");
        if (st->waiting_for)
            pqf_cli_json_str(stdout, st->waiting_for);
        else
            printf("null");
        printf("}");
        x->first = false;
        return;
    }
    char a[32] = "-", h[32] = "-";
    if (lag_a >= 0)
        pqf_cli_fmt_age(lag_a, a, sizeof a);
    if (lag_h >= 0)
        pqf_cli_fmt_age(lag_h, h, sizeof h);
    printf("%-24s %10" PRIu64 " %10" PRIu64 " %8s %8s  %s\n", st->table, st->applied_seq,
           st->head_seq, a, h, st->waiting_for ? st->waiting_for : "up to date");
}

int pqf_cmd_apply(int argc, char **argv)
{
    pqf_cli_store_args sa;
    memset(&sa, 0, sizeof sa);
    pqf_apply_opts ao;
    pqf_apply_opts_init(&ao);
    const char *uri = NULL, *sink_uri = NULL, *contract_path = NULL;
    pqf_contract *contract = NULL;
    bool status = false;
    ev_ctx ev = {false};
    char *tables_copy = NULL;
    const char **tables = NULL;
    size_t ntables = 0;
    int ret = 0;
    pqf_error err = {0};
    pqf_store *store = NULL;
    pqf_feed *feed = NULL;
    pqf_sink *sink = NULL;
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "status") == 0) {
        status = true;
        first = 2;
    }
    for (int i = first; i < argc; i++) {
        int r = pqf_cli_store_arg("apply", argc, argv, &i, &sa);
        if (r < 0) {
            ret = PQF_EXIT_USAGE;
            goto done;
        }
        if (r > 0)
            continue;
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(apply_usage, stdout);
            pqf_cli_store_help(stdout);
            goto done;
        } else if (strcmp(a, "--json") == 0) {
            sa.json = true;
        } else if (strcmp(a, "--watch") == 0) {
            ao.watch = true;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            ev.quiet = true;
        } else if (strcmp(a, "--tables") == 0) {
            if (i + 1 >= argc || tables ||
                split_tables(argv[++i], &tables_copy, &tables, &ntables) != 0) {
                ret = pqf_cli_usage("apply", "--tables: expected a,b,...");
                goto done;
            }
        } else if (strcmp(a, "--contract") == 0) {
            if (i + 1 >= argc || contract_path) {
                ret = pqf_cli_usage("apply", "--contract: expected one contract file");
                goto done;
            }
            contract_path = argv[++i];
        } else if (strcmp(a, "--until") == 0) {
            unsigned long long v;
            if (i + 1 >= argc || pqf_cli_parse_u64(argv[++i], &v) != 0 || v == 0) {
                ret = pqf_cli_usage("apply", "--until: expected a seq (1, 2, ...)");
                goto done;
            }
            ao.until_seq = v;
        } else if (strcmp(a, "--max-delay") == 0 || strcmp(a, "--backoff") == 0 ||
                   strcmp(a, "--poll") == 0) {
            int64_t ms;
            if (i + 1 >= argc || !pqf_duration_parse(argv[++i], &ms)) {
                ret = pqf_cli_usage("apply", "%s: expected a duration like 500ms, 20s, 30m, 2h", a);
                goto done;
            }
            if (strcmp(a, "--max-delay") == 0)
                ao.max_delay_ms = ms;
            else if (strcmp(a, "--backoff") == 0)
                ao.backoff_ms = ms > 0 ? ms : 1;
            else
                ao.poll_ms = ms > 0 ? ms : 1;
        } else if ((ret = pqf_cli_operand("apply", a, (const char **const[]){&uri, &sink_uri},
                                          2)) != 0) {
            goto done;
        }
    }
    if (!uri || !sink_uri) {
        ret = pqf_cli_usage("apply", "needs STORE and SINK");
        goto done;
    }
    ao.tables = tables;
    ao.ntables = ntables;
    if (contract_path && pqf_contract_load(contract_path, &contract, &err) != PQF_OK) {
        ret = pqf_cli_fail(&err);
        goto done;
    }
    ao.contract = contract;
    if (pqf_store_open(uri, &sa.opt, &store, &err) != PQF_OK ||
        pqf_feed_open(store, &feed, &err) != PQF_OK ||
        (status ? pqf_sink_open_readonly(sink_uri, &sink, &err)
                : pqf_sink_open(sink_uri, &sink, &err)) != PQF_OK) {
        ret = pqf_cli_fail(&err);
        goto done;
    }
    if (status) {
        status_ctx x = {sa.json, true, wall_ms()};
        if (sa.json) {
            printf("{\"store\":");
            pqf_cli_json_str(stdout, pqf_store_uri(store));
            printf(",\"sink\":");
            pqf_cli_json_str(stdout, pqf_sink_name(sink));
            printf(",\"tables\":[");
        } else {
            printf("%-24s %10s %10s %8s %8s  %s\n", "table", "applied", "head", "lag", "head lag",
                   "waiting for");
        }
        pqf_err rc = pqf_apply_status(feed, sink, tables, ntables, on_status, &x, &err);
        if (sa.json)
            printf("]}\n");
        if (rc != PQF_OK)
            ret = pqf_cli_fail(&err);
        goto done;
    }
    struct sigaction sig;
    memset(&sig, 0, sizeof sig);
    sig.sa_handler = on_signal;
    sigemptyset(&sig.sa_mask);
    sigaction(SIGTERM, &sig, NULL);
    sigaction(SIGINT, &sig, NULL);
    ao.stop = &stop_flag;
    ao.on_event = on_event;
    ao.ud = &ev;
    pqf_apply_result res;
    pqf_err rc = pqf_apply(feed, sink, &ao, &res, &err);
    if (rc != PQF_OK) {
        fprintf(stderr, "pqfeed: %s\n", err.msg[0] ? err.msg : pqf_strerror(err.code));
        switch (res.stop) {
        case PQF_APPLY_LATE:
            ret = EXIT_LATE;
            break;
        case PQF_APPLY_CORRUPT:
            ret = EXIT_CORRUPT;
            break;
        case PQF_APPLY_CHAIN:
            ret = EXIT_CHAIN;
            break;
        default:
            ret = pqf_exit_code(rc);
            break;
        }
        goto done;
    }
    if (!ev.quiet) {
        if (res.stop == PQF_APPLY_INTERRUPTED)
            printf("stopped by a signal after %" PRIu64 " commit(s), %" PRIu64 " rows\n",
                   res.commits, res.rows);
        else if (res.commits == 0)
            printf("nothing to apply: %s is up to date\n", pqf_sink_name(sink));
        else
            printf("applied %" PRIu64 " commit(s), %" PRIu64 " rows to %s\n", res.commits, res.rows,
                   pqf_sink_name(sink));
    }
done:
    pqf_sink_free(sink);
    pqf_feed_free(feed);
    pqf_store_free(store);
    pqf_contract_free(contract);
    free(tables);
    free(tables_copy);
    return ret;
}
