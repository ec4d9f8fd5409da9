/* pqfeed run PIPELINE.yaml: the whole pipeline, cycle after cycle: export
 * every table to the primary, replicate to the replicas, apply to the sink. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pqfeed/apply.h"
#include "pqfeed/config.h"
#include "pqfeed/contract.h"
#include "pqfeed/export.h"
#include "pqfeed/replicate.h"
#include "store_cli.h"

static const char run_usage[] =
    "usage: pqfeed run PIPELINE.yaml [--once | --cycles N] [--state FILE] [--max-delay DUR]\n"
    "                  [--as-of TIME] [--contract FILE] [--json] [store options]\n"
    "\n"
    "Run the pipeline of a config file (docs/CONFIG.md): each cycle exports every\n"
    "table to the primary, replicates the new commits to each replica (published in\n"
    "order, verified), and applies them to the sink from the last replica (or the\n"
    "primary when there is none); then it waits for the schedule (hourly by default)\n"
    "and goes again, until SIGTERM/SIGINT. A summary line per stage and cycle.\n"
    "\n"
    "  --once                  one cycle, then exit (its status: the first failure's code)\n"
    "  --cycles N              N cycles\n"
    "  --state FILE            replication state (default: .pqfeed-replicate.db beside the config)\n"
    "  --max-delay DUR         how long apply waits for a late file (default 5m)\n"
    "  --as-of TIME            the hour the exported data belongs to (default: now)\n"
    "  --contract FILE         enforce this schema contract (docs/SCHEMA.md) in export\n"
    "                          and apply instead of the config's contract: key; a commit\n"
    "                          that breaks it is not published / not applied (exit 24)\n"
    "  --json                  one JSON object per cycle\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_as_of(const char *s, int64_t *ms)
{
    int Y, M, D, h = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d", &Y, &M, &D, &h) < 3 || M < 1 || M > 12 || D < 1 || D > 31 ||
        h > 23)
        return -1;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h};
    *ms = (int64_t)timegm(&tm) * 1000;
    return 0;
}

typedef struct {
    bool json;
    uint64_t cycle;
} run_ctx;

/* One cycle. Returns 0 or the first failure's exit code (later stages still
 * run on what is already there: a failed export does not stop the replica
 * and the sink from catching up). */
static int cycle(const pqf_config *cfg, const pqf_cli_store_args *sa, const char *state,
                 int64_t max_delay, int64_t as_of, run_ctx *rc)
{
    int ret = 0;
    pqf_error err = {0};
    pqf_store *primary = NULL;
    pqf_store **replicas = NULL;
    pqf_feed *pfeed = NULL, *cfeed = NULL;
    pqf_sink *sink = NULL;
    uint64_t exported = 0, rows = 0, failed_tables = 0;
    pqf_replicate_result rr;
    pqf_apply_result ar;
    memset(&rr, 0, sizeof rr);
    memset(&ar, 0, sizeof ar);
    int64_t t0 = now_ms();
    rc->cycle++;
    if (!rc->json)
        printf("== cycle %" PRIu64 "\n", rc->cycle);
    if (pqf_store_open(cfg->primary, &sa->opt, &primary, &err) != PQF_OK ||
        pqf_feed_open(primary, &pfeed, &err) != PQF_OK) {
        ret = pqf_cli_fail(&err);
        goto done;
    }
    /* 1. export */
    for (size_t i = 0; i < cfg->ntables && !stop_flag; i++) {
        pqf_export_result res;
        pqf_error e2 = {0};
        if (pqf_config_export_table(pfeed, &cfg->tables[i], as_of, &res, &e2) != PQF_OK) {
            int code = pqf_cli_fail(&e2);
            if (!ret)
                ret = code;
            failed_tables++;
            continue;
        }
        exported += res.committed;
        rows += res.rows;
        if (!rc->json && res.committed)
            printf("export    %-16s commit %" PRIu64 ": %" PRIu64 " rows, %" PRIu64 " files\n",
                   cfg->tables[i].name, res.seq, res.rows, res.files);
        else if (!rc->json)
            printf("export    %-16s nothing new\n", cfg->tables[i].name);
    }
    /* 2. replicate */
    if (cfg->nreplicas && !stop_flag) {
        replicas = calloc(cfg->nreplicas, sizeof *replicas);
        if (!replicas) {
            pqf_error_set(&err, PQF_ERR_NOMEM, "out of memory");
            ret = pqf_cli_fail(&err);
            goto done;
        }
        for (size_t i = 0; i < cfg->nreplicas; i++) {
            /* A replica's own part size applies to its store. */
            pqf_store_options so = sa->opt;
            if (cfg->replica_opts[i].part_size)
                so.part_size = cfg->replica_opts[i].part_size;
            if (pqf_store_open(cfg->replicas[i], &so, &replicas[i], &err) != PQF_OK) {
                ret = pqf_cli_fail(&err);
                goto done;
            }
        }
        /* Replicas without settings of their own in one pass (one read of the
         * primary for all of them); each with settings in a pass of its own. */
        for (size_t g = 0; g <= cfg->nreplicas && !stop_flag; g++) {
            pqf_store *grp[64];
            size_t ng = 0;
            const pqf_config_replica *rs = g ? &cfg->replica_opts[g - 1] : NULL;
            if (rs && !rs->set)
                continue;
            for (size_t i = 0; i < cfg->nreplicas && ng < 64; i++)
                if (rs ? i == g - 1 : !cfg->replica_opts[i].set)
                    grp[ng++] = replicas[i];
            if (!ng)
                continue;
            pqf_replicate_opts ro;
            pqf_replicate_result gr;
            pqf_replicate_opts_init(&ro);
            ro.state_path = state;
            ro.stop = &stop_flag;
            bool any_s3 = pqf_store_is_s3(primary);
            for (size_t i = 0; i < ng; i++)
                any_s3 = any_s3 || pqf_store_is_s3(grp[i]);
            uint64_t part = rs && rs->part_size ? rs->part_size
                            : sa->opt.part_size ? sa->opt.part_size
                                                : (8u << 20);
            unsigned sc = sa->opt.concurrency ? sa->opt.concurrency : 8; /* the S3 store's */
            /* What one streamed transfer holds (as in replicate). */
            ro.transfer_bytes = any_s3 ? (2 * (uint64_t)sc + 1) * part : (2u << 20);
            if (rs) {
                ro.concurrency = rs->concurrency;
                ro.max_inflight_bytes = rs->max_inflight_bytes;
                ro.bwlimit = rs->bwlimit;
                if (rs->verify >= 0)
                    ro.verify = rs->verify ? PQF_VERIFY_FULL : PQF_VERIFY_SIZE;
            }
            memset(&gr, 0, sizeof gr);
            pqf_error e2 = {0};
            if (pqf_replicate(primary, grp, ng, &ro, &gr, &e2) != PQF_OK) {
                int code = pqf_cli_fail(&e2);
                if (!ret)
                    ret = code;
            }
            rr.published += gr.published;
            rr.objects_copied += gr.objects_copied;
            rr.bytes_copied += gr.bytes_copied;
            rr.retries += gr.retries;
            rr.failed += gr.failed;
        }
        if (!rc->json)
            printf("replicate %zu replica(s): %" PRIu64 " commits published, %" PRIu64
                   " files copied (%" PRIu64 " bytes), %" PRIu64 " retries, %" PRIu64 " failed\n",
                   cfg->nreplicas, rr.published, rr.objects_copied, rr.bytes_copied, rr.retries,
                   rr.failed);
        if (rr.failed && !ret)
            ret = pqf_exit_code(PQF_ERR_CHECKSUM);
    }
    /* 3. apply, from the last replica (the consumer's side) or the primary */
    if (cfg->sink && !stop_flag) {
        pqf_store *from = cfg->nreplicas ? replicas[cfg->nreplicas - 1] : primary;
        pqf_apply_opts ao;
        pqf_apply_opts_init(&ao);
        ao.max_delay_ms = max_delay;
        ao.stop = &stop_flag;
        ao.contract = cfg->ntables ? cfg->tables[0].contract : NULL; /* the run's contract */
        pqf_error e2 = {0};
        if (pqf_feed_open(from, &cfeed, &e2) != PQF_OK || pqf_sink_open(cfg->sink, &sink, &e2) != PQF_OK ||
            pqf_apply(cfeed, sink, &ao, &ar, &e2) != PQF_OK || e2.code != PQF_OK) {
            int code = pqf_cli_fail(&e2);
            if (!ret)
                ret = code;
        }
        if (!rc->json)
            printf("apply     %s: %" PRIu64 " commits, %" PRIu64 " rows\n", pqf_store_uri(from),
                   ar.commits, ar.rows);
    }
done:
    if (rc->json)
        printf("{\"cycle\":%" PRIu64 ",\"exported_commits\":%" PRIu64 ",\"exported_rows\":%" PRIu64
               ",\"failed_tables\":%" PRIu64 ",\"replicated_commits\":%" PRIu64
               ",\"copied_files\":%" PRIu64 ",\"applied_commits\":%" PRIu64
               ",\"applied_rows\":%" PRIu64 ",\"seconds\":%.3f,\"exit\":%d}\n",
               rc->cycle, exported, rows, failed_tables, rr.published, rr.objects_copied,
               ar.commits, ar.rows, (double)(now_ms() - t0) / 1000.0, ret);
    else
        printf("cycle %" PRIu64 " done in %.1f s%s\n", rc->cycle, (double)(now_ms() - t0) / 1000.0,
               ret ? " (with failures)" : "");
    fflush(stdout);
    pqf_sink_free(sink);
    pqf_feed_free(cfeed);
    pqf_feed_free(pfeed);
    if (replicas)
        for (size_t i = 0; i < cfg->nreplicas; i++)
            pqf_store_free(replicas[i]);
    free(replicas);
    pqf_store_free(primary);
    return ret;
}

int pqf_cmd_run(int argc, char **argv)
{
    pqf_cli_store_args sa;
    memset(&sa, 0, sizeof sa);
    const char *path = NULL, *state = NULL, *contract_path = NULL;
    pqf_contract *contract = NULL;
    unsigned long long cycles = 0;
    int64_t max_delay = 5 * 60000, as_of = 0;
    pqf_error err = {0};
    pqf_config *cfg = NULL;
    char *state_buf = NULL;
    int ret = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = pqf_cli_store_arg("run", argc, argv, &i, &sa);
        if (r < 0)
            return PQF_EXIT_USAGE;
        if (r > 0)
            continue;
        bool needs = strcmp(a, "--cycles") == 0 || strcmp(a, "--state") == 0 ||
                     strcmp(a, "--max-delay") == 0 || strcmp(a, "--as-of") == 0 ||
                     strcmp(a, "--contract") == 0;
        if (needs && i + 1 >= argc)
            return pqf_cli_usage("run", "%s needs a value", a);
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(run_usage, stdout);
            pqf_cli_store_help(stdout);
            return 0;
        } else if (strcmp(a, "--once") == 0) {
            cycles = 1;
        } else if (strcmp(a, "--cycles") == 0) {
            if (pqf_cli_parse_u64(argv[++i], &cycles) != 0 || cycles == 0)
                return pqf_cli_usage("run", "--cycles: expected a positive number");
        } else if (strcmp(a, "--state") == 0) {
            state = argv[++i];
        } else if (strcmp(a, "--contract") == 0) {
            contract_path = argv[++i];
        } else if (strcmp(a, "--max-delay") == 0) {
            if (!pqf_duration_parse(argv[++i], &max_delay))
                return pqf_cli_usage("run", "--max-delay: expected a duration like 5m");
        } else if (strcmp(a, "--as-of") == 0) {
            if (parse_as_of(argv[++i], &as_of) != 0)
                return pqf_cli_usage("run", "--as-of: expected YYYY-MM-DD[THH...]");
        } else if (strcmp(a, "--json") == 0) {
            sa.json = true;
        } else if (pqf_cli_operand("run", a, (const char **const[]){&path}, 1)) {
            return PQF_EXIT_USAGE;
        }
    }
    if (!path)
        return pqf_cli_usage("run", "needs PIPELINE.yaml");
    if (pqf_config_load(path, &cfg, &err) != PQF_OK)
        return pqf_cli_fail(&err);
    if (contract_path) {
        if (pqf_contract_load(contract_path, &contract, &err) != PQF_OK) {
            pqf_config_free(cfg);
            return pqf_cli_fail(&err);
        }
        for (size_t i = 0; i < cfg->ntables; i++)
            cfg->tables[i].contract = contract;
    }
    if (!state) {
        const char *slash = strrchr(path, '/');
        size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
        state_buf = malloc(dl + 32);
        if (!state_buf) {
            pqf_config_free(cfg);
            return pqf_cli_fail(&(pqf_error){PQF_ERR_NOMEM, "out of memory"});
        }
        snprintf(state_buf, dl + 32, "%.*s.pqfeed-replicate.db", (int)dl, path);
        state = state_buf;
    }
    struct sigaction sa_sig;
    memset(&sa_sig, 0, sizeof sa_sig);
    sa_sig.sa_handler = on_signal;
    sigaction(SIGTERM, &sa_sig, NULL);
    sigaction(SIGINT, &sa_sig, NULL);
    run_ctx rc = {sa.json, 0};
    for (uint64_t n = 0; !stop_flag && (cycles == 0 || n < cycles); n++) {
        int64_t start = now_ms();
        int r = cycle(cfg, &sa, state, max_delay, as_of, &rc);
        if (r && !ret)
            ret = r;
        if (cycles && n + 1 >= cycles)
            break;
        /* wait for the next slot of the schedule, waking for signals */
        int64_t next = start + (int64_t)cfg->schedule_s * 1000;
        while (!stop_flag && now_ms() < next)
            usleep(200000);
    }
    pqf_config_free(cfg);
    pqf_contract_free(contract);
    free(state_buf);
    return ret;
}
