/* pqfeed replicate PRIMARY REPLICA..: copy a feed to replicas, commits in
 * order; pqfeed replicate status PRIMARY REPLICA..: where each one stands. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "pqfeed/feed.h"
#include "pqfeed/metrics.h"
#include "pqfeed/repl_native.h"
#include "pqfeed/replicate.h"
#include "store_cli.h"

#define MAX_REPLICAS 64
#define MAX_TABLES 256

static const char replicate_usage[] =
    "usage: pqfeed replicate PRIMARY REPLICA [REPLICA..] [options] [store options]\n"
    "       pqfeed replicate status PRIMARY REPLICA [REPLICA..] [--tables a,b] [--state FILE]\n"
    "                                  [--shard I/N] [--json]\n"
    "\n"
    "Copy a feed from PRIMARY to each REPLICA so that the replica is always a valid\n"
    "prefix of the primary: commit N's object (the primary's exact bytes) is written\n"
    "at the replica only after every file it names was copied and verified (size and\n"
    "the commit's SHA-256) and after commit N-1. Files of the next commits are copied\n"
    "in parallel, ahead of publication. A rerun (after a failure or kill -9) resumes\n"
    "from the replica's own log and the state file, and copies nothing again that is\n"
    "already there and verified. Every replica is served from one read of PRIMARY.\n"
    "\n"
    "A store may be another account: s3://bucket/prefix?profile=P (also region=,\n"
    "endpoint-url=, ca-bundle=) overrides the store options for that store alone;\n"
    "copies between stores with different settings are streamed and hashed.\n"
    "\n"
    "options:\n"
    "  --tables a,b            only these tables (default: every table of PRIMARY)\n"
    "  --concurrency N         objects copied at once (default 8)\n"
    "  --max-inflight-bytes SIZE  transfer memory budget (default 80M: two streamed\n"
    "                          transfers of large objects at the default part size)\n"
    "  --lookahead N           commits whose files may be in flight (default 32, at\n"
    "                          most 1024)\n"
    "  --verify size|full      full: also read every copy back and hash it (default size;\n"
    "                          streamed copies are always hashed on the way)\n"
    "  --no-server-copy        stream S3 -> S3 copies through pqfeed (default: server-side)\n"
    "  --object-attempts N     tries per object before giving up (default 4)\n"
    "  --backoff-ms N          retry backoff base (default 200, doubling, capped at 10 s)\n"
    "  --bwlimit RATE          bytes per second over all transfers (50M = 50 MiB/s;\n"
    "                          default none)\n"
    "  --window HH:MM-HH:MM    copy only inside this daily window, local time (e.g.\n"
    "                          22:00-06:00); outside it the run waits (status says so)\n"
    "  --shard I/N             only the tables of shard I of N (0 <= I < N): N workers\n"
    "                          with their own state files share a backfill\n"
    "  --versions              versioned buckets: replay every version and delete marker\n"
    "                          of the tables' objects at the replica, in order, and record\n"
    "                          source -> replica version ids in the state file\n"
    "  --state FILE            SQLite state file (default $XDG_STATE_HOME/pqfeed/replicate.db\n"
    "                          when XDG_STATE_HOME is set, else ./.pqfeed-replicate.db)\n"
    "  --watch [--interval S]  keep polling for new commits every S seconds (default 5);\n"
    "                          SIGTERM/SIGINT finish the objects in flight and exit 0\n"
    "  --native                the bucket's own replication engine copies the data files:\n"
    "                          copy nothing, verify them as they arrive at REPLICA and\n"
    "                          publish each commit in order once complete\n"
    "  --report                with --native: publish nothing, report each pending commit\n"
    "                          as complete, waiting or corrupt\n"
    "  --max-wait S            with --native: repeat passes (every --interval) for up to S\n"
    "                          seconds until nothing is waiting (default 0: one pass)\n"
    "  --replica-endpoint-url URL  --replica-region R  --replica-profile P\n"
    "                          S3 settings of the replicas where they differ from the\n"
    "                          primary's (another region, zone or account; no server-side\n"
    "                          copy then)\n"
    "  --metrics-addr HOST:PORT  serve Prometheus metrics (GET /metrics) while running;\n"
    "                          HOST defaults to 127.0.0.1, port 0 picks one (printed)\n"
    "  --json                  one JSON object per event, and a summary\n"
    "  --quiet                 only errors\n"
    "\n"
    "status: per replica and table, published seq against the primary's head, objects\n"
    "and bytes pending, lag (commit created to published), retries, failures by cause\n"
    "and the stage where time went (the bottleneck).\n"
    "\n"
    "exit codes: 0 every table reached the primary's head (or a clean stop); 6 a source\n"
    "object's SHA-256 differs from its commit (corrupted after commit; not published);\n"
    "9 a commit names a file the primary does not have (not published); 5 a size\n"
    "mismatch or a broken primary log; 11 the replica diverged from the primary; 13\n"
    "network or server errors after retries; 2 usage; others as in docs/CLI.md.\n"
    "--native (without --watch): 20 a commit still waits for files, 21 a file arrived\n"
    "with the wrong size or SHA-256 (not published), 11 the engine replicated a commit\n"
    "object before its files (misconfigured rule) or the replica diverged.\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

typedef struct {
    bool json, quiet;
    pqf_repl_metrics *metrics; /* --metrics-addr: fed every event */
} out_ctx;

static void human_bytes(uint64_t b, char *out, size_t cap)
{
    if (b < 1024)
        snprintf(out, cap, "%" PRIu64 " B", b);
    else if (b < (1u << 20))
        snprintf(out, cap, "%.1f KiB", (double)b / 1024);
    else if (b < (1u << 30))
        snprintf(out, cap, "%.1f MiB", (double)b / (1 << 20));
    else
        snprintf(out, cap, "%.2f GiB", (double)b / (1 << 30));
}

/* Every duration of the command's human output, one way: [Hh][MMm]S.Ss
 * (0.4s, 10.0s, 1m05.0s, 2h03m04.5s), to a tenth of a second. */
static void human_ms(int64_t ms, char *out, size_t cap)
{
    if (ms < 0) {
        snprintf(out, cap, "-");
        return;
    }
    int64_t t = (ms + 50) / 100; /* tenths, rounded */
    int64_t h = t / 36000, m = t / 600 % 60, s = t % 600;
    if (h)
        snprintf(out, cap, "%" PRId64 "h%02" PRId64 "m%02" PRId64 ".%" PRId64 "s", h, m, s / 10,
                 s % 10);
    else if (m)
        snprintf(out, cap, "%" PRId64 "m%02" PRId64 ".%" PRId64 "s", m, s / 10, s % 10);
    else
        snprintf(out, cap, "%" PRId64 ".%" PRId64 "s", s / 10, s % 10);
}

static void on_event(void *ud, const pqf_repl_event *ev)
{
    out_ctx *o = ud;
    if (o->metrics)
        pqf_repl_metrics_on_event(o->metrics, ev);
    char a[32], b[32];
    if (o->json) {
        static const char *const kinds[] = {"",       "published", "retry",
                                            "failed", "table",     "window"};
        printf("{\"event\":\"%s\",\"replica\":", kinds[ev->kind]);
        pqf_cli_json_str(stdout, ev->replica);
        printf(",\"table\":");
        pqf_cli_json_str(stdout, ev->table);
        printf(",\"seq\":%" PRIu64, ev->seq);
        if (ev->kind == PQF_REPL_PUBLISHED)
            printf(",\"files\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"lag_ms\":%" PRId64, ev->files,
                   ev->bytes, ev->lag_ms);
        if (ev->kind == PQF_REPL_TABLE_DONE)
            printf(",\"head\":%" PRIu64, ev->head);
        if (ev->kind == PQF_REPL_WINDOW_WAIT)
            printf(",\"opens_ms\":%" PRId64, ev->opens_ms);
        if (ev->kind == PQF_REPL_RETRY || ev->kind == PQF_REPL_FAILED) {
            printf(",\"key\":");
            pqf_cli_json_str(stdout, ev->key);
            printf(",\"cause\":");
            pqf_cli_json_str(stdout, ev->cause);
            printf(",\"attempts\":%u,\"message\":", ev->attempts);
            pqf_cli_json_str(stdout, ev->message);
        }
        printf("}\n");
        fflush(stdout);
        return;
    }
    switch (ev->kind) {
    case PQF_REPL_PUBLISHED:
        if (o->quiet)
            break;
        human_bytes(ev->bytes, a, sizeof a);
        human_ms(ev->lag_ms, b, sizeof b);
        printf("%s: %s seq %" PRIu64 " published (%" PRIu64 " files, %s, lag %s)\n", ev->replica,
               ev->table, ev->seq, ev->files, a, b);
        break;
    case PQF_REPL_RETRY:
        if (!o->quiet)
            fprintf(stderr, "pqfeed: %s: %s seq %" PRIu64 ": retrying %s (attempt %u, %s): %s\n",
                    ev->replica, ev->table, ev->seq, ev->key, ev->attempts, ev->cause, ev->message);
        break;
    case PQF_REPL_FAILED:
        fprintf(stderr, "pqfeed: %s: %s seq %" PRIu64 ": gave up after %u attempt%s (%s): %s\n",
                ev->replica, ev->table, ev->seq, ev->attempts, ev->attempts == 1 ? "" : "s",
                ev->cause, ev->message);
        break;
    case PQF_REPL_WINDOW_WAIT:
        if (!o->quiet) {
            char when[32];
            time_t t = (time_t)(ev->opens_ms / 1000);
            struct tm tm;
            localtime_r(&t, &tm);
            strftime(when, sizeof when, "%H:%M", &tm);
            printf("%s: %s: outside the copy window, waiting until %s\n", ev->replica, ev->table,
                   when);
        }
        break;
    case PQF_REPL_TABLE_DONE:
        if (!o->quiet)
            printf("%s: %s at seq %" PRIu64 " of %" PRIu64 "%s\n", ev->replica, ev->table, ev->seq,
                   ev->head, ev->seq == ev->head ? " (up to date)" : "");
        break;
    }
    fflush(stdout);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- native mode ----------------------------------------------------------------------- */

typedef struct {
    out_ctx *oc;
    bool report, watch;
    char last_bad[1024]; /* watch: a corrupt file is reported once */
} native_ctx;

static void on_native_commit(void *ud, const pqf_native_commit *c)
{
    native_ctx *x = ud;
    char a[32], b[32];
    if (c->state == PQF_NATIVE_PUBLISHED)
        return; /* said by the PUBLISHED event */
    if (x->oc->json) {
        printf("{\"event\":\"commit\",\"replica\":");
        pqf_cli_json_str(stdout, c->replica);
        printf(",\"table\":");
        pqf_cli_json_str(stdout, c->table);
        printf(",\"seq\":%" PRIu64 ",\"state\":\"%s\",\"files\":%" PRIu64
               ",\"files_ok\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"bytes_ok\":%" PRIu64
               ",\"age_ms\":%" PRId64 ",\"key\":",
               c->seq, pqf_native_state_name(c->state), c->files, c->files_ok, c->bytes,
               c->bytes_ok, c->age_ms);
        pqf_cli_json_str(stdout, c->key);
        printf(",\"detail\":");
        pqf_cli_json_str(stdout, c->detail);
        printf("}\n");
        fflush(stdout);
        return;
    }
    bool bad = c->state == PQF_NATIVE_CORRUPT;
    if (x->watch && !x->report) {
        /* A watch says only what needs a human: a corrupt arrival, once. */
        if (!bad || strcmp(x->last_bad, c->key) == 0)
            return;
        snprintf(x->last_bad, sizeof x->last_bad, "%s", c->key);
    }
    if (x->oc->quiet && !bad)
        return;
    human_bytes(c->bytes_ok, a, sizeof a);
    human_bytes(c->bytes, b, sizeof b);
    FILE *out = bad ? stderr : stdout;
    fprintf(out, "%s%s: %s seq %" PRIu64 ": %s, %" PRIu64 " of %" PRIu64 " files (%s of %s)",
            bad ? "pqfeed: " : "", c->replica, c->table, c->seq, pqf_native_state_name(c->state),
            c->files_ok, c->files, a, b);
    if (c->key[0])
        fprintf(out, "; %s: %s", c->key, c->detail);
    fprintf(out, "\n");
    fflush(out);
}

/* --native: passes until nothing waits (or max_wait_s, or a signal); the
 * exit code of the last pass. */
static int run_native(pqf_store *primary, pqf_store *const *replicas, size_t nrep,
                      pqf_replicate_opts *o, out_ctx *oc, bool report, bool watch,
                      unsigned long long interval, unsigned long long max_wait_s)
{
    native_ctx x;
    memset(&x, 0, sizeof x);
    x.oc = oc;
    x.report = report;
    x.watch = watch;
    pqf_native_opts no;
    pqf_native_opts_init(&no);
    no.report_only = report;
    no.on_commit = on_native_commit;
    no.ud = &x;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ret = 0;
    for (;;) {
        pqf_native_result res;
        pqf_error err = {0};
        pqf_err rc = pqf_replicate_native(primary, replicas, nrep, o, &no, &res, &err);
        bool done = report ? res.waiting == 0 && res.corrupt == 0 : res.up_to_date;
        if (rc != PQF_OK)
            ret = pqf_cli_fail(&err);
        else if (res.corrupt)
            ret = 21;
        else if (!done)
            ret = 20;
        else
            ret = 0;
        if (oc->json) {
            printf("{\"event\":\"summary\",\"native\":true,\"published\":%" PRIu64
                   ",\"complete\":%" PRIu64 ",\"waiting\":%" PRIu64 ",\"corrupt\":%" PRIu64
                   ",\"files_verified\":%" PRIu64 ",\"bytes_verified\":%" PRIu64
                   ",\"up_to_date\":%s,\"exit\":%d}\n",
                   res.published, res.complete, res.waiting, res.corrupt, res.files_verified,
                   res.bytes_verified, res.up_to_date ? "true" : "false", ret);
            fflush(stdout);
        } else if (!oc->quiet && (!watch || res.published)) {
            printf("replicate --native: %" PRIu64 " commits published, %" PRIu64
                   " complete, %" PRIu64 " waiting, %" PRIu64 " corrupt; %" PRIu64
                   " files verified\n",
                   res.published, res.complete, res.waiting, res.corrupt, res.files_verified);
            fflush(stdout);
        }
        if (stop_flag)
            return ret == 20 || ret == 21 ? 0 : ret; /* a clean stop */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        unsigned long long el = (unsigned long long)(now.tv_sec - t0.tv_sec);
        if (!watch && (rc != PQF_OK || done || el >= max_wait_s))
            return ret;
        if (watch && rc != PQF_OK && rc != PQF_ERR_NET && rc != PQF_ERR_REMOTE &&
            rc != PQF_ERR_TIMEOUT)
            return ret;
        /* --interval is whole seconds elsewhere; native polls faster when
         * waiting for arrivals: at most 1 s. */
        unsigned long long ticks = done || interval < 1 ? interval * 10 : 10;
        for (unsigned long long t = 0; t < ticks && !stop_flag; t++)
            sleep_ms(100);
    }
}

/* ---- status output ------------------------------------------------------------------ */

typedef struct {
    bool json;
    bool first;
    const char *last_replica;
    char last_replica_buf[1024];
} status_ctx;

static void on_status(void *ud, const pqf_repl_status *s)
{
    status_ctx *x = ud;
    char a[32], b[32], c[32];
    if (x->json) {
        printf("%s{\"replica\":", x->first ? "" : ",");
        pqf_cli_json_str(stdout, s->replica);
        printf(",\"table\":");
        pqf_cli_json_str(stdout, s->table);
        printf(",\"published\":%" PRIu64 ",\"head\":%" PRIu64 ",\"pending_commits\":%" PRIu64
               ",\"pending_objects\":%" PRIu64 ",\"pending_bytes\":%" PRIu64
               ",\"ready_objects\":%" PRIu64 ",\"lag_ms\":%" PRId64
               ",\"oldest_pending_ms\":%" PRId64 ",\"objects_copied\":%" PRIu64
               ",\"bytes_copied\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"failed_objects\":%" PRIu64
               ",\"failures\":{",
               s->published, s->head, s->pending_commits, s->pending_objects, s->pending_bytes,
               s->ready_objects, s->lag_ms, s->oldest_pending_ms, s->objects_copied,
               s->bytes_copied, s->retries, s->failed_objects);
        for (size_t i = 0; i < s->ncauses; i++) {
            printf("%s", i ? "," : "");
            pqf_cli_json_str(stdout, s->causes[i].cause);
            printf(":%" PRIu64, s->causes[i].count);
        }
        printf("},\"stage_ms\":{\"listing\":%" PRIu64 ",\"read\":%" PRIu64 ",\"write\":%" PRIu64
               ",\"verify\":%" PRIu64 "},\"bottleneck\":",
               s->stage_ms[0], s->stage_ms[1], s->stage_ms[2], s->stage_ms[3]);
        pqf_cli_json_str(stdout, pqf_repl_stage_name(s->bottleneck));
        printf(",\"last_error\":");
        pqf_cli_json_str(stdout, s->last_error);
        printf(",\"window_opens_ms\":%" PRId64 "}", s->window_opens_ms);
        x->first = false;
        return;
    }
    if (!x->last_replica || strcmp(x->last_replica, s->replica) != 0) {
        printf("%s\n", s->replica);
        snprintf(x->last_replica_buf, sizeof x->last_replica_buf, "%s", s->replica);
        x->last_replica = x->last_replica_buf;
    }
    human_bytes(s->pending_bytes, a, sizeof a);
    human_ms(s->lag_ms, b, sizeof b);
    human_ms(s->oldest_pending_ms, c, sizeof c);
    printf("  %s: published %" PRIu64 " of %" PRIu64 "%s\n", s->table, s->published, s->head,
           s->published == s->head ? " (up to date)" : "");
    printf("    pending: %" PRIu64 " commits, %" PRIu64 " objects, %s (%" PRIu64
           " objects copied ahead)%s%s\n",
           s->pending_commits, s->pending_objects, a, s->ready_objects,
           s->pending_commits ? ", oldest " : "", s->pending_commits ? c : "");
    human_bytes(s->bytes_copied, a, sizeof a);
    printf("    lag of the last publication: %s; copied %" PRIu64 " objects, %s; retries %" PRIu64
           "; gave up on %" PRIu64 "\n",
           b, s->objects_copied, a, s->retries, s->failed_objects);
    if (s->ncauses) {
        printf("    failures by cause:");
        for (size_t i = 0; i < s->ncauses; i++)
            printf(" %s %" PRIu64, s->causes[i].cause, s->causes[i].count);
        printf("\n");
    }
    uint64_t total = 0;
    for (int i = 0; i < PQF_STAGE__COUNT; i++)
        total += s->stage_ms[i];
    if (total) {
        char st[PQF_STAGE__COUNT][32];
        for (int i = 0; i < PQF_STAGE__COUNT; i++)
            human_ms((int64_t)s->stage_ms[i], st[i], sizeof st[i]);
        printf("    time: listing %s, reading source %s, writing target %s, verifying %s; "
               "bottleneck: %s\n",
               st[0], st[1], st[2], st[3], pqf_repl_stage_name(s->bottleneck));
    }
    if (s->window_opens_ms > 0) {
        char when[32];
        time_t t = (time_t)(s->window_opens_ms / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(when, sizeof when, "%H:%M", &tm);
        printf("    waiting for the copy window: opens at %s (local time)\n", when);
    }
    if (s->last_error[0])
        printf("    last error: %s\n", s->last_error);
}

/* ---- arguments ---------------------------------------------------------------------- */

static int split_tables(char *list, const char **out, size_t *n)
{
    *n = 0;
    for (char *p = list; p && *p;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p) {
            if (*n == MAX_TABLES)
                return -1;
            out[(*n)++] = p;
        }
        p = comma ? comma + 1 : NULL;
    }
    return *n ? 0 : -1;
}

/* Default state file: $XDG_STATE_HOME/pqfeed/replicate.db, else
 * ./.pqfeed-replicate.db; with --shard I/N, replicate-shard-I-of-N.db there
 * (./.pqfeed-replicate-shard-I-of-N.db): a worker's state is its own. */
static const char *default_state(char *buf, size_t cap, const pqf_replicate_opts *o)
{
    char tag[48] = "";
    if (o->shard_count > 1)
        snprintf(tag, sizeof tag, "-shard-%u-of-%u", o->shard_index, o->shard_count);
    const char *x = getenv("XDG_STATE_HOME");
    if (x && *x) {
        snprintf(buf, cap, "%s/pqfeed", x);
        if (mkdir(buf, 0700) == 0 || errno == EEXIST) {
            snprintf(buf, cap, "%s/pqfeed/replicate%s.db", x, tag);
            return buf;
        }
    }
    snprintf(buf, cap, ".pqfeed-replicate%s.db", tag);
    return buf;
}


int pqf_cmd_replicate(int argc, char **argv)
{
    pqf_cli_store_args sa;
    memset(&sa, 0, sizeof sa);
    pqf_replicate_opts o;
    pqf_replicate_opts_init(&o);
    const char *uris[MAX_REPLICAS + 1];
    size_t nuris = 0;
    const char *tables[MAX_TABLES];
    char *tables_arg = NULL;
    bool status = false, watch = false, server_copy = true, native = false, report = false;
    bool verify_set = false;
    unsigned long long max_wait = 0;
    unsigned long long interval = 5, n;
    char state_buf[4096];
    const char *state = NULL;
    int ret = 0;
    pqf_error err = {0};
    pqf_store *primary = NULL;
    pqf_store *replicas[MAX_REPLICAS];
    size_t nrep = 0;
    out_ctx oc = {false, false, NULL};
    const char *metrics_addr = NULL;
    const char *rep_endpoint = NULL, *rep_region = NULL, *rep_profile = NULL;
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "status") == 0) {
        status = true;
        first = 2;
    }
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                               \
    do {                                                                                           \
        if (!v) {                                                                                  \
            ret = pqf_cli_usage("replicate", "%s needs a value", a);                               \
            goto done;                                                                             \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(replicate_usage, stdout);
            pqf_cli_store_help(stdout);
            goto done;
        } else if (strcmp(a, "--tables") == 0) {
            NEED_VALUE();
            free(tables_arg);
            tables_arg = strdup(v);
            if (!tables_arg || split_tables(tables_arg, tables, &o.ntables) != 0) {
                ret = pqf_cli_usage("replicate", "bad --tables '%s'", v);
                goto done;
            }
            o.tables = tables;
        } else if (strcmp(a, "--concurrency") == 0 || strcmp(a, "--lookahead") == 0 ||
                   strcmp(a, "--object-attempts") == 0 || strcmp(a, "--backoff-ms") == 0 ||
                   strcmp(a, "--interval") == 0 || strcmp(a, "--max-wait") == 0) {
            NEED_VALUE();
            if (pqf_cli_parse_u64(v, &n) != 0 || n == 0 || n > 100000) {
                ret = pqf_cli_usage("replicate", "bad number '%s' for %s", v, a);
                goto done;
            }
            if (strcmp(a, "--lookahead") == 0 && n > PQF_REPL_LOOKAHEAD_MAX) {
                ret = pqf_cli_usage("replicate", "--lookahead %s: at most %d commits", v,
                                    PQF_REPL_LOOKAHEAD_MAX);
                goto done;
            }
            if (strcmp(a, "--concurrency") == 0)
                o.concurrency = (unsigned)n;
            else if (strcmp(a, "--lookahead") == 0)
                o.lookahead = (unsigned)n;
            else if (strcmp(a, "--object-attempts") == 0)
                o.max_attempts = (unsigned)n;
            else if (strcmp(a, "--backoff-ms") == 0)
                o.retry_base_ms = (unsigned)n;
            else if (strcmp(a, "--max-wait") == 0)
                max_wait = n;
            else
                interval = n;
        } else if (strcmp(a, "--max-inflight-bytes") == 0) {
            NEED_VALUE();
            if (pqf_cli_parse_size(v, &n) != 0 || n < 1024) {
                ret = pqf_cli_usage("replicate", "bad size '%s' for %s", v, a);
                goto done;
            }
            o.max_inflight_bytes = n;
        } else if (strcmp(a, "--verify") == 0 || strncmp(a, "--verify=", 9) == 0) {
            const char *m = a[8] == '=' ? a + 9 : NULL;
            if (!m) {
                NEED_VALUE();
                m = v;
            }
            verify_set = true;
            if (strcmp(m, "size") == 0)
                o.verify = PQF_VERIFY_SIZE;
            else if (strcmp(m, "full") == 0)
                o.verify = PQF_VERIFY_FULL;
            else {
                ret = pqf_cli_usage("replicate", "--verify is size or full");
                goto done;
            }
        } else if (strcmp(a, "--bwlimit") == 0) {
            NEED_VALUE();
            char rate[64];
            snprintf(rate, sizeof rate, "%s", v);
            size_t rl = strlen(rate);
            if (rl > 2 && strcmp(rate + rl - 2, "/s") == 0)
                rate[rl - 2] = '\0';
            if (pqf_cli_parse_size(rate, &n) != 0 || n < 1024) {
                ret = pqf_cli_usage("replicate", "bad rate '%s' for --bwlimit (at least 1K)", v);
                goto done;
            }
            o.bwlimit = n;
        } else if (strcmp(a, "--window") == 0) {
            NEED_VALUE();
            if (pqf_repl_window_parse(v, &o.window, &err) != PQF_OK) {
                ret = pqf_cli_usage("replicate", "%s", err.msg);
                goto done;
            }
        } else if (strcmp(a, "--shard") == 0) {
            NEED_VALUE();
            unsigned si = 0, sn = 0;
            int used = 0;
            if (sscanf(v, "%u/%u%n", &si, &sn, &used) != 2 || v[used] != '\0' || sn == 0 ||
                sn > 100000 || si >= sn) {
                ret = pqf_cli_usage("replicate", "bad --shard '%s' (I/N with 0 <= I < N)", v);
                goto done;
            }
            o.shard_index = si;
            o.shard_count = sn;
        } else if (strcmp(a, "--versions") == 0) {
            o.versions = true;
        } else if (strcmp(a, "--no-server-copy") == 0) {
            server_copy = false;
        } else if (strcmp(a, "--state") == 0) {
            NEED_VALUE();
            state = v;
        } else if (strcmp(a, "--replica-endpoint-url") == 0) {
            NEED_VALUE();
            rep_endpoint = v;
        } else if (strcmp(a, "--replica-region") == 0) {
            NEED_VALUE();
            rep_region = v;
        } else if (strcmp(a, "--replica-profile") == 0) {
            NEED_VALUE();
            rep_profile = v;
        } else if (strcmp(a, "--native") == 0) {
            native = true;
        } else if (strcmp(a, "--report") == 0) {
            report = true;
        } else if (strcmp(a, "--metrics-addr") == 0) {
            NEED_VALUE();
            metrics_addr = v;
        } else if (strcmp(a, "--watch") == 0) {
            watch = true;
        } else if (strcmp(a, "--json") == 0) {
            oc.json = true;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            oc.quiet = true;
        } else {
            int r = pqf_cli_store_arg("replicate", argc, argv, &i, &sa);
            if (r < 0) {
                ret = PQF_EXIT_USAGE;
                goto done;
            }
            if (r > 0)
                continue;
            if (a[0] == '-' && a[1]) {
                ret = pqf_cli_usage("replicate", "unknown option '%s'", a);
                goto done;
            }
            if (nuris == MAX_REPLICAS + 1) {
                ret = pqf_cli_usage("replicate", "at most %d replicas", MAX_REPLICAS);
                goto done;
            }
            uris[nuris++] = a;
        }
#undef NEED_VALUE
    }
    if (nuris < 2) {
        ret = pqf_cli_usage("replicate", "needs PRIMARY and at least one REPLICA");
        goto done;
    }
    if ((report || max_wait) && !native) {
        ret = pqf_cli_usage("replicate", "--report and --max-wait go with --native");
        goto done;
    }
    /* Native: the bytes never passed through pqfeed, so read them back. */
    if (native && !verify_set)
        o.verify = PQF_VERIFY_FULL;
    o.state_path = state ? state : default_state(state_buf, sizeof state_buf, &o);
    /* Parts in flight per transfer: a few, since many objects move at once. */
    if (!sa.opt.concurrency)
        sa.opt.concurrency = 2;
    if (pqf_cli_store_open(uris[0], &sa, &primary, &err) != PQF_OK) {
        ret = pqf_cli_fail(&err);
        goto done;
    }
    bool all_s3 = pqf_store_is_s3(primary), any_s3 = all_s3;
    pqf_store_options ropt = sa.opt;
    if (rep_endpoint)
        ropt.endpoint_url = rep_endpoint;
    if (rep_region)
        ropt.region = rep_region;
    if (rep_profile)
        ropt.profile = rep_profile;
    bool same_ends = !rep_endpoint && !rep_region && !rep_profile;
    for (size_t i = 1; i < nuris; i++) {
        pqf_cli_store_args rsa = sa; /* --replica-* over the common options */
        rsa.opt = ropt;
        if (pqf_cli_store_open(uris[i], &rsa, &replicas[nrep], &err) != PQF_OK) {
            ret = pqf_cli_fail(&err);
            goto done;
        }
        /* Server-side copies need one endpoint and one set of credentials. */
        all_s3 = all_s3 && pqf_store_is_s3(replicas[nrep]) &&
                 strcmp(pqf_cli_store_settings(uris[i]), pqf_cli_store_settings(uris[0])) == 0;
        any_s3 = any_s3 || pqf_store_is_s3(replicas[nrep]);
        if (same_ends && strcmp(pqf_store_uri(replicas[nrep]), pqf_store_uri(primary)) == 0) {
            nrep++;
            ret = pqf_cli_usage("replicate", "replica %s is the primary", uris[i]);
            goto done;
        }
        for (size_t k = 0; k < nrep; k++) {
            if (strcmp(pqf_store_uri(replicas[nrep]), pqf_store_uri(replicas[k])) == 0) {
                nrep++;
                ret = pqf_cli_usage("replicate", "replica %s is named twice", uris[i]);
                goto done;
            }
        }
        nrep++;
    }
    if (status) {
        status_ctx x = {oc.json, true, NULL, ""};
        if (oc.json)
            printf("{\"primary\":\"%s\",\"status\":[", pqf_store_uri(primary));
        pqf_err rc = pqf_replicate_status(primary, replicas, nrep, &o, on_status, &x, &err);
        if (oc.json)
            printf("]}\n");
        if (rc != PQF_OK)
            ret = pqf_cli_fail(&err);
        goto done;
    }
    /* Every store S3 with the same settings: one endpoint and one set of
     * credentials, so server-side copy applies. Stores with settings of their
     * own (another account, --replica-*) are streamed through pqfeed and hashed. */
    o.server_copy = server_copy && all_s3 && same_ends;
    uint64_t part = sa.opt.part_size ? sa.opt.part_size : (8u << 20);
    /* Memory of one streamed transfer: an S3 read holds its parts in flight
     * and the one being written out (concurrency + 1 parts), an S3 write its
     * parts in flight (concurrency); local ends 1 MiB chunks. Touched only as
     * far as the object goes. */
    o.transfer_bytes = any_s3 ? (2 * (uint64_t)sa.opt.concurrency + 1) * part : (2u << 20);
    o.stop = &stop_flag;
    o.on_event = on_event;
    o.ud = &oc;
    if (metrics_addr) {
        if (pqf_repl_metrics_start(metrics_addr, primary, replicas, nrep, &o, &oc.metrics,
                                   &err) != PQF_OK) {
            ret = pqf_cli_fail(&err);
            goto done;
        }
        fprintf(stderr, "pqfeed: metrics on http://%s/metrics\n",
                pqf_repl_metrics_addr(oc.metrics));
    }
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal;
    sigemptyset(&act.sa_mask);
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    if (native) {
        ret = run_native(primary, replicas, nrep, &o, &oc, report, watch, interval, max_wait);
        goto done;
    }
    for (;;) {
        pqf_replicate_result res;
        pqf_store_stats s0, s1;
        pqf_error_clear(&err);
        uint64_t sent0 = 0, sent1 = 0;
        pqf_store_get_stats(primary, &s0);
        for (size_t k = 0; k < nrep; k++) {
            pqf_store_get_stats(replicas[k], &s1);
            sent0 += s1.bytes_up;
        }
        pqf_err rc = pqf_replicate(primary, replicas, nrep, &o, &res, &err);
        for (size_t k = 0; k < nrep; k++) {
            pqf_store_get_stats(replicas[k], &s1);
            sent1 += s1.bytes_up;
        }
        pqf_store_get_stats(primary, &s1);
        if (oc.json) {
            printf("{\"event\":\"summary\",\"published\":%" PRIu64 ",\"objects_copied\":%" PRIu64
                   ",\"objects_skipped\":%" PRIu64 ",\"bytes_copied\":%" PRIu64
                   ",\"retries\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"source_bytes_read\":%" PRIu64
                   ",\"target_bytes_sent\":%" PRIu64 ",\"uploads_resumed\":%" PRIu64
                   ",\"versions_copied\":%" PRIu64 ",\"delete_markers\":%" PRIu64
                   ",\"versions_adopted\":%" PRIu64 ",\"source_listings\":%" PRIu64
                   ",\"copy_heads\":%" PRIu64 ",\"stopped\":%s,\"error\":",
                   res.published, res.objects_copied, res.objects_skipped, res.bytes_copied,
                   res.retries, res.failed, s1.bytes_down - s0.bytes_down, sent1 - sent0,
                   res.uploads_resumed, res.versions_copied, res.delete_markers,
                   res.versions_adopted, res.source_listings, res.copy_heads,
                   res.stopped ? "true" : "false");
            if (rc != PQF_OK)
                pqf_cli_json_str(stdout, err.msg);
            else
                printf("null");
            printf(",\"exit\":%d}\n", rc != PQF_OK ? pqf_exit_code(rc) : 0);
            fflush(stdout);
        } else if (!oc.quiet) {
            char b[32];
            human_bytes(res.bytes_copied, b, sizeof b);
            printf("replicate: %" PRIu64 " commits published, %" PRIu64
                   " objects copied (%s), %" PRIu64 " already there, %" PRIu64 " retries, %" PRIu64
                   " failed%s\n",
                   res.published, res.objects_copied, b, res.objects_skipped, res.retries,
                   res.failed, res.stopped ? " (stopped)" : "");
            if (o.versions)
                printf("replicate: %" PRIu64 " versions and %" PRIu64
                       " delete markers replayed, %" PRIu64 " found at the replica\n",
                       res.versions_copied, res.delete_markers, res.versions_adopted);
            if (res.uploads_resumed)
                printf("replicate: %" PRIu64 " interrupted uploads continued\n",
                       res.uploads_resumed);
            fflush(stdout);
        }
        ret = rc == PQF_OK ? 0 : pqf_cli_fail(&err);
        if (!watch || stop_flag)
            break;
        for (unsigned long long t = 0; t < interval * 10 && !stop_flag; t++)
            sleep_ms(100);
        if (stop_flag)
            break;
    }
done:
    pqf_repl_metrics_free(oc.metrics); /* before the stores it reads */
    for (size_t i = 0; i < nrep; i++)
        pqf_store_free(replicas[i]);
    pqf_store_free(primary);
    free(tables_arg);
    return ret;
}
