/* pqfeed convert: CSV or NDJSON -> one Parquet file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pqfeed/source.h"
#include "table_opts.h"

static const char convert_usage[] =
    "usage: pqfeed convert IN OUT.parquet [options]\n"
    "\n"
    "Convert a CSV or NDJSON file (IN '-' = stdin) to Parquet. The output is written\n"
    "atomically: on any error no OUT file exists. OUT '-' writes the Parquet bytes to\n"
    "stdout (not atomically) and the summary to stderr; an OUT that is a device or\n"
    "FIFO (/dev/stdout, a named pipe) is written in place, not atomically, too.\n"
    "\n"
    "  --schema FILE           schema file (docs/SCHEMA-FILE.md)\n"
    "  --infer-rows N          infer the schema from the first N records (default 1000)\n"
    "  --schema-out FILE       also save the schema used (e.g. the inferred one)\n"
    "  --json                  print the summary as JSON\n";

/* OUT is standard output ("-", or /dev/stdout and the like): the summary
 * must not go there too. */
static bool out_is_stdout(const char *outp)
{
    struct stat a, b;
    if (strcmp(outp, "-") == 0)
        return true;
    return stat(outp, &a) == 0 && fstat(STDOUT_FILENO, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pqf_cmd_convert(int argc, char **argv)
{
    const char *in = NULL, *outp = NULL, *schema_path = NULL, *schema_out = NULL;
    unsigned long long infer_rows = 0;
    bool json = false;
    pqf_cli_table_opts to;
    pqf_error err = {0};
    pqf_schema *schema = NULL;
    pqf_source *src = NULL;
    pqf_ostream *os = NULL;
    pqf_writer *w = NULL;
    int ret = 0;
    pqf_cli_table_opts_init(&to);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int r = pqf_cli_table_arg("convert", argc, argv, &i, &to);
        if (r < 0) {
            ret = PQF_EXIT_USAGE;
            goto done;
        }
        if (r > 0)
            continue;
        bool needs = strcmp(a, "--schema") == 0 || strcmp(a, "--schema-out") == 0 ||
                     strcmp(a, "--infer-rows") == 0;
        if (needs && !val) {
            ret = pqf_cli_usage("convert", "%s needs a value", a);
            goto done;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(convert_usage, stdout);
            pqf_cli_table_help(stdout);
            goto done;
        } else if (strcmp(a, "--schema") == 0) {
            schema_path = argv[++i];
        } else if (strcmp(a, "--schema-out") == 0) {
            schema_out = argv[++i];
        } else if (strcmp(a, "--infer-rows") == 0) {
            if (pqf_cli_parse_u64(argv[++i], &infer_rows) != 0 || infer_rows == 0) {
                ret = pqf_cli_usage("convert", "--infer-rows: expected a positive number");
                goto done;
            }
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if ((ret = pqf_cli_operand("convert", a, (const char **const[]){&in, &outp}, 2)) !=
                   0) {
            goto done;
        }
    }
    pqf_source_opts so = to.source;
    pqf_writer_opts wo = to.writer;
    if (!in || !outp) {
        ret = pqf_cli_usage("convert", "needs IN and OUT");
        goto done;
    }
    if (schema_path && infer_rows) {
        ret = pqf_cli_usage("convert", "--schema and --infer-rows exclude each other");
        goto done;
    }
    if (!schema_path && strcmp(in, "-") == 0) {
        ret = pqf_cli_usage("convert", "reading stdin needs --schema (inference reads twice)");
        goto done;
    }
    double t0 = now_s();
    pqf_err rc;
    if (schema_path)
        rc = pqf_schema_load_json(schema_path, &schema, &err);
    else
        rc = pqf_schema_infer(in, &so, infer_rows ? infer_rows : 1000, &schema, &err);
    if (rc == PQF_OK && schema_out)
        rc = pqf_schema_save_json(schema, schema_out, &err);
    if (rc == PQF_OK)
        rc = pqf_source_open(in, schema, &so, &src, &err);
    if (rc == PQF_OK)
        rc = pqf_ostream_file(outp, &os, &err);
    if (rc == PQF_OK)
        rc = pqf_writer_create(schema, os, &wo, &w, &err);
    uint64_t rows = 0;
    if (rc == PQF_OK) {
        rc = pqf_source_run(src, w, &rows);
        if (rc != PQF_OK)
            err = *pqf_source_error(src);
    }
    if (rc == PQF_OK) {
        rc = pqf_writer_close(w);
        if (rc != PQF_OK)
            err = *pqf_writer_error(w);
    }
    if (rc == PQF_OK) {
        rc = pqf_ostream_commit(os);
        if (rc != PQF_OK)
            err = *pqf_ostream_error(os);
    }
    if (rc != PQF_OK) {
        if (os)
            pqf_ostream_abort(os);
        if (err.code == PQF_OK)
            pqf_error_set(&err, rc, "%s", pqf_strerror(rc));
        ret = pqf_cli_fail(&err);
        goto done;
    }
    double secs = now_s() - t0;
    pqf_writer_stats st;
    pqf_writer_get_stats(w, &st);
    double rps = secs > 0 ? (double)rows / secs : 0;
    /* when stdout carries the Parquet file, the summary goes aside */
    FILE *sum = out_is_stdout(outp) ? stderr : stdout;
    if (json)
        fprintf(sum,
                "{\"input\":\"%s\",\"output\":\"%s\",\"rows\":%llu,\"row_groups\":%llu,"
                "\"bytes\":%llu,\"input_bytes\":%llu,\"seconds\":%.3f,\"rows_per_second\":%.0f}\n",
                in, outp, (unsigned long long)rows, (unsigned long long)st.row_groups,
                (unsigned long long)st.bytes, (unsigned long long)pqf_source_bytes(src), secs, rps);
    else
        fprintf(sum, "%s: %llu rows, %llu row groups, %llu bytes in %.3f s (%.0f rows/s)\n", outp,
                (unsigned long long)rows, (unsigned long long)st.row_groups,
                (unsigned long long)st.bytes, secs, rps);
done:
    pqf_writer_free(w);
    pqf_ostream_free(os);
    pqf_source_free(src);
    pqf_schema_free(schema);
    pqf_cli_table_opts_free(&to);
    return ret;
}
