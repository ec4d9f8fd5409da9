/* pqfeed gen: deterministic issue-tracker and benchmark data. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pqfeed/gen.h"

static const char gen_usage[] =
    "usage: pqfeed gen --out DIR [--table issues|comments|worklogs|users|mixed|all]\n"
    "                  [--rows N] [--seed S] [--format csv|ndjson]\n"
    "\n"
    "Write DIR/<table>.csv (or .ndjson) and DIR/<table>.schema.json. The same seed,\n"
    "rows and format always give the same bytes. Defaults: --table all (the four\n"
    "issue-tracker tables), --rows 1000, --seed 1, --format csv. In CSV, nested\n"
    "values (issue labels, author, fields) are JSON text columns.\n";

int pqf_cmd_gen(int argc, char **argv)
{
    const char *table = "all", *dir = NULL;
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
            strcmp(a, "--format") != 0 && strcmp(a, "--out") != 0)
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
