/* pqfeed gen: deterministic issue-tracker and benchmark data. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pqfeed/gen.h"

static const char gen_usage[] =
    "usage: pqfeed gen --out DIR [--table issues|comments|worklogs|users|mixed|all]\n"
    "                  [--rows N] [--seed S] [--format csv|ndjson]\n"
    "       pqfeed gen --out DIR --table issues --hours H [--rows N] [--page-rows P] [--seed S]\n"
    "\n"
    "Write DIR/<table>.csv (or .ndjson) and DIR/<table>.schema.json. The same seed,\n"
    "rows and format always give the same bytes. Defaults: --table all (the four\n"
    "issue-tracker tables), --rows 1000, --seed 1, --format csv. In CSV, nested\n"
    "values (issue labels, author, fields) are JSON text columns.\n"
    "\n"
    "With --hours: hourly API pages of the issues table (NDJSON), as a \"changed since\"\n"
    "API returns them: DIR/hour-0000/ the initial load, DIR/hour-0001/ .. the changes\n"
    "of each hour (about 10% updates, 5% inserts, 1% deletes with \"deleted\": true),\n"
    "sorted by updated_at, --page-rows records per page (default 500);\n"
    "DIR/issues.schema.json, and DIR/issues.final.ndjson: the table's state at the end.\n";

int pqf_cmd_gen(int argc, char **argv)
{
    const char *table = "all", *dir = NULL;
    unsigned long long hours = 0, page_rows = 0;
    bool incr = false;
    pqf_gen_opts o;
    pqf_gen_opts_init(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(gen_usage, stdout);
            return 0;
        }
        if (strcmp(a, "--table") != 0 && strcmp(a, "--rows") != 0 && strcmp(a, "--seed") != 0 &&
            strcmp(a, "--format") != 0 && strcmp(a, "--out") != 0 && strcmp(a, "--hours") != 0 &&
            strcmp(a, "--page-rows") != 0)
            return pqf_cli_usage("gen", "unknown argument '%s'", a);
        if (!val)
            return pqf_cli_usage("gen", "%s needs a value", a);
        i++;
        unsigned long long v;
        if (strcmp(a, "--table") == 0) {
            table = val;
        } else if (strcmp(a, "--out") == 0) {
            dir = val;
        } else if (strcmp(a, "--format") == 0) {
            if (strcmp(val, "csv") == 0)
                o.format = PQF_FORMAT_CSV;
            else if (strcmp(val, "ndjson") == 0)
                o.format = PQF_FORMAT_NDJSON;
            else
                return pqf_cli_usage("gen", "--format: expected csv or ndjson, not '%s'", val);
        } else if (strcmp(a, "--hours") == 0 || strcmp(a, "--page-rows") == 0) {
            if (pqf_cli_parse_u64(val, &v) != 0 || v > 100000)
                return pqf_cli_usage("gen", "%s: expected a number up to 100000", a);
            if (a[2] == 'h') {
                hours = v;
                incr = true;
            } else {
                page_rows = v;
            }
        } else {
            if (pqf_cli_parse_u64(val, &v) != 0)
                return pqf_cli_usage("gen", "%s: expected a non-negative number", a);
            if (a[2] == 'r')
                o.rows = v;
            else
                o.seed = v;
        }
    }
    if (!dir)
        return pqf_cli_usage("gen", "needs --out DIR");
    if (incr) {
        pqf_error err = {0};
        if (strcmp(table, "issues") != 0)
            return pqf_cli_usage("gen", "--hours needs --table issues");
        if (pqf_gen_increments(&o, (unsigned)hours, page_rows, dir, &err) != PQF_OK)
            return pqf_cli_fail(&err);
        return 0;
    }
    pqf_gen_table only = PQF_GEN_USERS;
    bool all = strcmp(table, "all") == 0;
    if (!all && pqf_gen_table_from_name(table, &only) != PQF_OK)
        return pqf_cli_usage("gen", "--table: unknown table '%s'", table);
    for (int t = 0; t < PQF_GEN__COUNT; t++) {
        if (all ? t == PQF_GEN_MIXED : t != (int)only)
            continue;
        pqf_error err = {0};
        if (pqf_gen_to_dir((pqf_gen_table)t, &o, dir, &err) != PQF_OK)
            return pqf_cli_fail(&err);
    }
    return 0;
}
