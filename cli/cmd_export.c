/* pqfeed export: source files -> the next commit of a table's feed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pqfeed/config.h"
#include "pqfeed/contract.h"
#include "pqfeed/export.h"
#include "pqfeed/mapping.h"
#include "store_cli.h"
#include "table_opts.h"

static const char export_usage[] =
    "usage: pqfeed export STORE --table NAME (--schema FILE | --infer-rows N) INPUT... [options]\n"
    "       pqfeed export --config PIPELINE.yaml [--tables a,b] [--as-of TIME] [--json]\n"
    "\n"
    "Export CSV or NDJSON files (API pages, in the order they were fetched: one JSON\n"
    "object per line or one JSON array; a folder means its .csv/.ndjson/.jsonl/.json\n"
    "files in name order) as the next commit of TABLE in the feed at STORE (a directory, file:///path or s3://bucket/prefix).\n"
    "Data files are written first, the commit object last (put-if-absent): a crash\n"
    "leaves either the old head or the complete new commit, and a rerun completes it.\n"
    "\n"
    "  --table NAME            table name (letters, digits, _ and -)\n"
    "  --schema FILE           schema file (docs/SCHEMA-FILE.md)\n"
    "  --infer-rows N          infer the schema from the first N records of the first input\n"
    "  --mapping FILE          map NDJSON/JSON page records onto the schema's columns first\n"
    "                          (docs/MAPPING.md; needs --schema)\n"
    "  --as-of TIME            the hour the data belongs to, ISO-8601 UTC (default: now);\n"
    "                          names the data/date=/hour= folder\n"
    "  --target-file-size SIZE split data into files of about this size (default 128M)\n"
    "  --mode snapshot|changes the whole table (default), or records changed since the\n"
    "                          last commit's watermark, with _op, _seq and _ts columns\n"
    "  --key COL[,COL..]       the table's key, recorded with its schema; each a column\n"
    "                          of the schema (else exit 4, nothing written)\n"
    "  --watermark COL         changes: the column that orders changes (e.g. updated)\n"
    "  --delete-column COL     changes: a true value marks a deleted record (_op D)\n"
    "  --created-column COL    changes: equal to the watermark marks an insert (_op I)\n"
    "  --overlap DURATION      changes: re-read records up to this long (e.g. 10m) before the\n"
    "                          last watermark and drop those already exported (same key and\n"
    "                          watermark), and repeats within the run; needs --key\n"
    "  --allow-incompatible    register an incompatible schema change anyway\n"
    "  --contract FILE         enforce a schema contract (docs/SCHEMA.md): a commit that\n"
    "                          breaks it is not published (exit 24); with --config it\n"
    "                          replaces the config's contract:\n"
    "  --pg CONNINFO           read a PostgreSQL table (--pg-table T) or query (--pg-query Q)\n"
    "                          instead of files (docs/DBSOURCE.md for the types); with\n"
    "                          --mode changes the database returns only the rows beyond the\n"
    "                          last watermark, in watermark order\n"
    "  --sqlite FILE           read a SQLite table (--sqlite-table T) instead of files\n"
    "  --config FILE           export every table of a pipeline config (docs/CONFIG.md)\n"
    "  --tables a,b            with --config: only these tables\n"
    "  --json                  print the result as JSON\n";

typedef struct {
    char **v;
    size_t n;
} paths;

/* A file, or a folder's data files in name order, appended to p. */
static pqf_err add_input(paths *p, const char *path, pqf_error *err)
{
    char **v = NULL;
    size_t n = 0;
    pqf_err rc = pqf_input_files(path, &v, &n, err);
    if (rc != PQF_OK)
        return rc;
    char **nv = realloc(p->v, (p->n + n + 1) * sizeof *nv);
    if (!nv) {
        pqf_strv_free(v, n);
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    }
    p->v = nv;
    memcpy(p->v + p->n, v, n * sizeof *v);
    p->n += n;
    free(v);
    return PQF_OK;
}

static int parse_as_of(const char *s, int64_t *ms)
{
    int Y, M, D, h = 0, m = 0, sec = 0;
    char tail[8] = "";
    int n = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%7s", &Y, &M, &D, &h, &m, &sec, tail);
    if (n < 3 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    if (n == 7 && strcmp(tail, "Z") != 0)
        return -1;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h,
                    .tm_min = m, .tm_sec = sec};
    *ms = (int64_t)timegm(&tm) * 1000;
    return 0;
}

static void print_result(const pqf_export_spec *sp, const pqf_export_result *res, bool json)
{
    const char *kind_name = sp->kind == PQF_COMMIT_CHANGES ? "changes" : "snapshot";
    if (json)
        printf("{\"table\":\"%s\",\"committed\":%s,\"seq\":%" PRIu64 ",\"rows\":%" PRIu64
               ",\"skipped\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"files\":%" PRIu64
               ",\"bytes\":%" PRIu64 ",\"schema_version\":%d,\"schema_changed\":%s,"
               "\"hash\":\"%s\"}\n",
               sp->table, res->committed ? "true" : "false", res->seq, res->rows, res->skipped,
               res->duplicates,
               res->files, res->bytes, res->schema_version, res->schema_changed ? "true" : "false",
               res->hash);
    else if (res->committed)
        printf("%s: commit %" PRIu64 " (%s): %" PRIu64 " rows in %" PRIu64 " files, %" PRIu64
               " bytes, schema v%d%s\n",
               sp->table, res->seq, kind_name, res->rows, res->files, res->bytes,
               res->schema_version, res->schema_changed ? " (new)" : "");
    else if (sp->kind == PQF_COMMIT_CHANGES)
        printf("%s: nothing new after the watermark of commit %" PRIu64 " (%" PRIu64
               " records skipped)\n", sp->table, res->seq, res->skipped);
    else
        printf("%s: nothing new (the snapshot equals commit %" PRIu64 ")\n", sp->table, res->seq);
}

static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        size_t l = strcspn(p, ",");
        if (l == n && strncmp(p, name, n) == 0)
            return true;
        p += l + (p[l] == ',');
    }
    return false;
}

/* Every table of a pipeline config, in file order; stops at the first failure. */
static int export_config(const char *path, const char *only, int64_t as_of,
                         const pqf_contract *contract, const pqf_cli_store_args *sa)
{
    int ret = 0;
    pqf_error err = {0};
    pqf_config *cfg = NULL;
    pqf_store *store = NULL;
    pqf_feed *feed = NULL;
    if (pqf_config_load(path, &cfg, &err) != PQF_OK ||
        pqf_store_open(cfg->primary, &sa->opt, &store, &err) != PQF_OK ||
        pqf_feed_open(store, &feed, &err) != PQF_OK) {
        ret = pqf_cli_fail(&err);
        goto done;
    }
    /* every table's key up front: a bad one exports nothing */
    for (size_t i = 0; i < cfg->ntables && ret == 0; i++)
        if ((!only || in_list(only, cfg->tables[i].name)) &&
            pqf_config_check_table(cfg, &cfg->tables[i], &err) != PQF_OK)
            ret = pqf_cli_fail(&err);
    for (size_t i = 0; i < cfg->ntables && ret == 0; i++) {
        pqf_config_table *t = &cfg->tables[i];
        if (contract)
            t->contract = contract;
        if (only && !in_list(only, t->name))
            continue;
        pqf_export_result res;
        pqf_export_spec sp; /* for printing */
        pqf_export_spec_init(&sp);
        sp.table = t->name;
        sp.kind = t->mode;
        if (pqf_config_export_table(feed, t, as_of, &res, &err) == PQF_OK)
            print_result(&sp, &res, sa->json);
        else
            ret = pqf_cli_fail(&err);
    }
done:
    pqf_feed_free(feed);
    pqf_store_free(store);
    pqf_config_free(cfg);
    return ret;
}

int pqf_cmd_export(int argc, char **argv)
{
    pqf_cli_store_args sa;
    pqf_cli_table_opts to;
    memset(&sa, 0, sizeof sa);
    pqf_cli_table_opts_init(&to);
    const char *uri = NULL, *schema_path = NULL, *config = NULL, *only = NULL;
    const char *contract_path = NULL;
    pqf_contract *contract = NULL;
    const char *pg = NULL, *pg_table = NULL, *pg_query = NULL, *sqlite = NULL, *sqlite_table = NULL;
    unsigned long long infer_rows = 0, v;
    paths in = {0};
    int ret = 0;
    pqf_error err = {0};
    pqf_store *store = NULL;
    pqf_feed *feed = NULL;
    pqf_schema *schema = NULL;
    const char *mapping_path = NULL;
    pqf_mapping *mapping = NULL;
    pqf_export_spec sp;
    pqf_export_spec_init(&sp);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int r = pqf_cli_store_arg("export", argc, argv, &i, &sa);
        if (r == 0)
            r = pqf_cli_table_arg("export", argc, argv, &i, &to);
        if (r < 0) {
            ret = PQF_EXIT_USAGE;
            goto done;
        }
        if (r > 0)
            continue;
        bool needs = strcmp(a, "--table") == 0 || strcmp(a, "--schema") == 0 ||
                     strcmp(a, "--infer-rows") == 0 || strcmp(a, "--as-of") == 0 ||
                     strcmp(a, "--target-file-size") == 0 || strcmp(a, "--mode") == 0 ||
                     strcmp(a, "--key") == 0 || strcmp(a, "--watermark") == 0 ||
                     strcmp(a, "--delete-column") == 0 || strcmp(a, "--created-column") == 0 ||
                     strcmp(a, "--config") == 0 || strcmp(a, "--tables") == 0 ||
                     strcmp(a, "--overlap") == 0 || strcmp(a, "--pg") == 0 ||
                     strcmp(a, "--pg-table") == 0 || strcmp(a, "--pg-query") == 0 ||
                     strcmp(a, "--sqlite") == 0 || strcmp(a, "--sqlite-table") == 0 ||
                     strcmp(a, "--contract") == 0 || strcmp(a, "--mapping") == 0;
        if (needs && !val) {
            ret = pqf_cli_usage("export", "%s needs a value", a);
            goto done;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(export_usage, stdout);
            pqf_cli_table_help(stdout);
            pqf_cli_store_help(stdout);
            goto done;
        } else if (strcmp(a, "--table") == 0) {
            sp.table = argv[++i];
        } else if (strcmp(a, "--schema") == 0) {
            schema_path = argv[++i];
        } else if (strcmp(a, "--infer-rows") == 0) {
            if (pqf_cli_parse_u64(argv[++i], &infer_rows) != 0 || infer_rows == 0) {
                ret = pqf_cli_usage("export", "--infer-rows: expected a positive number");
                goto done;
            }
        } else if (strcmp(a, "--as-of") == 0) {
            if (parse_as_of(argv[++i], &sp.as_of_ms) != 0) {
                ret = pqf_cli_usage("export", "--as-of: expected YYYY-MM-DD[THH:MM:SSZ]");
                goto done;
            }
        } else if (strcmp(a, "--target-file-size") == 0) {
            if (pqf_cli_parse_size(argv[++i], &v) != 0 || v < 1024) {
                ret = pqf_cli_usage("export", "--target-file-size: expected a size like 64M");
                goto done;
            }
            sp.target_file_bytes = v;
        } else if (strcmp(a, "--mode") == 0) {
            const char *m = argv[++i];
            if (strcmp(m, "snapshot") == 0)
                sp.kind = PQF_COMMIT_SNAPSHOT;
            else if (strcmp(m, "changes") == 0)
                sp.kind = PQF_COMMIT_CHANGES;
            else {
                ret = pqf_cli_usage("export", "--mode: expected snapshot or changes");
                goto done;
            }
        } else if (strcmp(a, "--overlap") == 0) {
            if (!pqf_duration_parse(argv[++i], &sp.overlap_ms) || sp.overlap_ms <= 0) {
                ret = pqf_cli_usage("export", "--overlap: expected a duration like 10m");
                goto done;
            }
        } else if (strcmp(a, "--pg") == 0) {
            pg = argv[++i];
        } else if (strcmp(a, "--pg-table") == 0) {
            pg_table = argv[++i];
        } else if (strcmp(a, "--pg-query") == 0) {
            pg_query = argv[++i];
        } else if (strcmp(a, "--sqlite") == 0) {
            sqlite = argv[++i];
        } else if (strcmp(a, "--sqlite-table") == 0) {
            sqlite_table = argv[++i];
        } else if (strcmp(a, "--mapping") == 0) {
            mapping_path = argv[++i];
        } else if (strcmp(a, "--config") == 0) {
            config = argv[++i];
        } else if (strcmp(a, "--tables") == 0) {
            only = argv[++i];
        } else if (strcmp(a, "--key") == 0) {
            sp.key = argv[++i];
        } else if (strcmp(a, "--watermark") == 0) {
            sp.watermark = argv[++i];
        } else if (strcmp(a, "--delete-column") == 0) {
            sp.delete_column = argv[++i];
        } else if (strcmp(a, "--created-column") == 0) {
            sp.created_column = argv[++i];
        } else if (strcmp(a, "--allow-incompatible") == 0) {
            sp.allow_incompatible = true;
        } else if (strcmp(a, "--contract") == 0) {
            contract_path = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            sa.json = true;
        } else if (a[0] == '-' && a[1] == '-') {
            ret = pqf_cli_usage("export", "unknown option '%s'", a);
            goto done;
        } else if (!uri) {
            uri = a;
        } else if (add_input(&in, a, &err) != PQF_OK) {
            ret = pqf_cli_fail(&err);
            goto done;
        }
    }
    if (contract_path && pqf_contract_load(contract_path, &contract, &err) != PQF_OK) {
        ret = pqf_cli_fail(&err);
        goto done;
    }
    sp.contract = contract;
    if (mapping_path && (config || pg || sqlite || !schema_path)) {
        ret = pqf_cli_usage("export", "--mapping needs --schema (the feed's columns) and INPUT "
                            "pages (with --config, give mapping: per table)");
        goto done;
    }
    if (config) {
        if (uri || sp.table || in.n) {
            ret = pqf_cli_usage("export", "--config takes no STORE, --table or INPUT");
            goto done;
        }
        ret = export_config(config, only, sp.as_of_ms, contract, &sa);
        goto done;
    }
    if (pg || sqlite) {
        if (!uri || !sp.table || in.n || (pg && sqlite) || (pg && !pg_table == !pg_query) ||
            (sqlite && !sqlite_table) || infer_rows) {
            ret = pqf_cli_usage("export", "a database export needs STORE, --table, and --pg "
                                "CONNINFO with one of --pg-table/--pg-query, or --sqlite FILE "
                                "--sqlite-table T (and no INPUT or --infer-rows)");
            goto done;
        }
        if (sp.kind == PQF_COMMIT_CHANGES && !sp.watermark) {
            ret = pqf_cli_usage("export", "--mode changes needs --watermark");
            goto done;
        }
        if (sp.overlap_ms && (sp.kind != PQF_COMMIT_CHANGES || !sp.key)) {
            ret = pqf_cli_usage("export", "--overlap needs --mode changes and --key");
            goto done;
        }
        /* export opens the database itself: in changes mode the last
         * watermark is pushed down into the query */
        sp.db_driver = pg ? "postgres" : "sqlite";
        sp.db_conninfo = pg ? pg : sqlite;
        sp.db_opts.table = pg ? pg_table : sqlite_table;
        sp.db_opts.query = pg_query;
        pqf_err r = schema_path ? pqf_schema_load_json(schema_path, &schema, &err) : PQF_OK;
        sp.db_opts.schema = schema;
        if (r == PQF_OK)
            r = pqf_store_open(uri, &sa.opt, &store, &err);
        if (r == PQF_OK)
            r = pqf_feed_open(store, &feed, &err);
        pqf_export_result dres;
        if (r == PQF_OK) {
            sp.source = to.source;
            sp.writer = to.writer;
            r = pqf_export(feed, &sp, &dres, &err);
        }
        if (r != PQF_OK)
            ret = pqf_cli_fail(&err);
        else
            print_result(&sp, &dres, sa.json);
        goto done;
    }
    if (!uri || !sp.table || in.n == 0) {
        ret = pqf_cli_usage("export", "needs STORE, --table and at least one INPUT file");
        goto done;
    }
    if (sp.overlap_ms && (sp.kind != PQF_COMMIT_CHANGES || !sp.key)) {
        ret = pqf_cli_usage("export", "--overlap needs --mode changes and --key");
        goto done;
    }
    if (sp.kind == PQF_COMMIT_CHANGES && !sp.watermark) {
        ret = pqf_cli_usage("export", "--mode changes needs --watermark");
        goto done;
    }
    if (!!schema_path == !!infer_rows) {
        ret = pqf_cli_usage("export", "needs exactly one of --schema and --infer-rows");
        goto done;
    }
    pqf_err rc = schema_path ? pqf_schema_load_json(schema_path, &schema, &err)
                             : pqf_schema_infer(in.v[0], &to.source, infer_rows, &schema, &err);
    if (rc == PQF_OK && mapping_path) /* checked before the store is touched */
        rc = pqf_mapping_load(mapping_path, &mapping, &err);
    if (rc == PQF_OK && mapping)
        rc = pqf_mapping_check(mapping, schema, false, &err);
    if (rc == PQF_OK)
        rc = pqf_store_open(uri, &sa.opt, &store, &err);
    if (rc == PQF_OK)
        rc = pqf_feed_open(store, &feed, &err);
    pqf_export_result res;
    if (rc == PQF_OK) {
        sp.inputs = (const char *const *)in.v;
        sp.ninputs = in.n;
        sp.schema = schema;
        sp.source = to.source;
        sp.source.mapping = mapping;
        sp.writer = to.writer;
        rc = pqf_export(feed, &sp, &res, &err);
    }
    if (rc != PQF_OK) {
        ret = pqf_cli_fail(&err);
        goto done;
    }
    print_result(&sp, &res, sa.json);
done:
    for (size_t k = 0; k < in.n; k++)
        free(in.v[k]);
    free(in.v);
    pqf_mapping_free(mapping);
    pqf_schema_free(schema);
    pqf_feed_free(feed);
    pqf_store_free(store);
    pqf_cli_table_opts_free(&to);
    pqf_contract_free(contract);
    return ret;
}
