/* pqfeed convert: CSV or NDJSON -> one Parquet file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pqfeed/source.h"

static const char convert_usage[] =
    "usage: pqfeed convert IN OUT.parquet [options]\n"
    "\n"
    "Convert a CSV or NDJSON file (IN '-' = stdin) to Parquet. The output is written\n"
    "atomically: on any error no OUT file exists.\n"
    "\n"
    "  --schema FILE           schema file (docs/SCHEMA-FILE.md)\n"
    "  --infer-rows N          infer the schema from the first N records (default 1000)\n"
    "  --schema-out FILE       also save the schema used (e.g. the inferred one)\n"
    "  --format csv|ndjson     input format (default: by extension, else csv)\n"
    "  --delimiter C           CSV delimiter (default ','; 'tab' or '\\t' for TAB)\n"
    "  --quote C               CSV quote character (default '\"')\n"
    "  --null STR              CSV NULL marker (default: empty unquoted field)\n"
    "  --no-header             CSV has no header; fields are the schema's columns in order\n"
    "  --unknown-fields error|ignore  columns/fields not in the schema (default error)\n"
    "  --codec zstd|snappy|gzip|lz4_raw|brotli|none  (default zstd)\n"
    "  --level N               codec level\n"
    "  --row-group-size SIZE   target uncompressed bytes per row group (default 128M)\n"
    "  --page-size SIZE        target bytes per data page (default 1M)\n"
    "  --dictionary on|off     dictionary encoding (default on)\n"
    "  --bloom COL[,COL..]     write bloom filters for these columns\n"
    "  --page-version 1|2      data page version (default 1)\n"
    "  --encoding COL=ENC      column encoding (plain, delta_binary_packed, ...); repeatable\n"
    "  --json                  print the summary as JSON\n";

#define MAX_COLOPTS 256

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pqf_column_opts *colopt(pqf_column_opts *cols, size_t *n, const char *path)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(cols[i].path, path) == 0)
            return &cols[i];
    if (*n >= MAX_COLOPTS)
        return NULL;
    pqf_column_opts *c = &cols[(*n)++];
    memset(c, 0, sizeof *c);
    c->path = path;
    c->encoding = PQF_ENC_AUTO;
    c->dictionary = -1;
    return c;
}

int pqf_cmd_convert(int argc, char **argv)
{
    const char *in = NULL, *outp = NULL, *schema_path = NULL, *schema_out = NULL;
    unsigned long long infer_rows = 0, v;
    bool json = false;
    pqf_source_opts so;
    pqf_writer_opts wo;
    pqf_column_opts *cols = calloc(MAX_COLOPTS, sizeof *cols);
    size_t ncols = 0;
    char *bloom_copy = NULL;
    pqf_error err = {0};
    pqf_schema *schema = NULL;
    pqf_source *src = NULL;
    pqf_ostream *os = NULL;
    pqf_writer *w = NULL;
    int ret = 0;
    char delim_buf[2] = {0};
    pqf_source_opts_init(&so);
    pqf_writer_opts_init(&wo);
    if (!cols) {
        pqf_error_set(&err, PQF_ERR_NOMEM, "out of memory");
        ret = pqf_cli_fail(&err);
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED()                                                                                     \
    do {                                                                                           \
        if (!val) {                                                                                \
            ret = pqf_cli_usage("convert", "%s needs a value", a);                               \
            goto done;                                                                             \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(convert_usage, stdout);
            goto done;
        } else if (strcmp(a, "--schema") == 0) {
            NEED();
            schema_path = val;
        } else if (strcmp(a, "--schema-out") == 0) {
            NEED();
            schema_out = val;
        } else if (strcmp(a, "--infer-rows") == 0) {
            NEED();
            if (pqf_cli_parse_u64(val, &infer_rows) != 0 || infer_rows == 0) {
                ret = pqf_cli_usage("convert", "--infer-rows: expected a positive number");
                goto done;
            }
        } else if (strcmp(a, "--format") == 0) {
            NEED();
            if (strcmp(val, "csv") == 0)
                so.format = PQF_FORMAT_CSV;
            else if (strcmp(val, "ndjson") == 0 || strcmp(val, "jsonl") == 0)
                so.format = PQF_FORMAT_NDJSON;
            else {
                ret = pqf_cli_usage("convert", "--format: expected csv or ndjson, not '%s'", val);
                goto done;
            }
        } else if (strcmp(a, "--delimiter") == 0 || strcmp(a, "--quote") == 0) {
            NEED();
            char c;
            if (strcmp(val, "tab") == 0 || strcmp(val, "\\t") == 0)
                c = '\t';
            else if (strlen(val) == 1)
                c = val[0];
            else {
                ret = pqf_cli_usage("convert", "%s: expected one character", a);
                goto done;
            }
            if (a[2] == 'd')
                so.csv.delimiter = c;
            else
                so.csv.quote = c;
            delim_buf[0] = c;
        } else if (strcmp(a, "--null") == 0) {
            NEED();
            so.csv.null_marker = val;
        } else if (strcmp(a, "--no-header") == 0) {
            so.csv.header = false;
        } else if (strcmp(a, "--unknown-fields") == 0) {
            NEED();
            if (strcmp(val, "error") == 0)
                so.ignore_unknown = false;
            else if (strcmp(val, "ignore") == 0)
                so.ignore_unknown = true;
            else {
                ret = pqf_cli_usage("convert", "--unknown-fields: expected error or ignore");
                goto done;
            }
        } else if (strcmp(a, "--codec") == 0) {
            NEED();
            if (pqf_codec_from_name(val, &wo.codec) != PQF_OK) {
                ret = pqf_cli_usage("convert", "--codec: unknown codec '%s'", val);
                goto done;
            }
        } else if (strcmp(a, "--level") == 0) {
            NEED();
            char *end;
            long lv = strtol(val, &end, 10);
            if (*end || end == val || lv < -100 || lv > 100) {
                ret = pqf_cli_usage("convert", "--level: expected a number");
                goto done;
            }
            wo.level = (int)lv;
        } else if (strcmp(a, "--row-group-size") == 0 || strcmp(a, "--page-size") == 0) {
            NEED();
            if (pqf_cli_parse_size(val, &v) != 0 || v == 0) {
                ret = pqf_cli_usage("convert", "%s: expected a size like 64M", a);
                goto done;
            }
            if (a[2] == 'r')
                wo.row_group_bytes = v;
            else
                wo.page_bytes = v;
        } else if (strcmp(a, "--dictionary") == 0) {
            NEED();
            if (strcmp(val, "on") == 0)
                wo.dictionary = true;
            else if (strcmp(val, "off") == 0)
                wo.dictionary = false;
            else {
                ret = pqf_cli_usage("convert", "--dictionary: expected on or off");
                goto done;
            }
        } else if (strcmp(a, "--page-version") == 0) {
            NEED();
            if (strcmp(val, "1") != 0 && strcmp(val, "2") != 0) {
                ret = pqf_cli_usage("convert", "--page-version: expected 1 or 2");
                goto done;
            }
            wo.page_version = val[0] - '0';
        } else if (strcmp(a, "--bloom") == 0) {
            NEED();
            free(bloom_copy);
            bloom_copy = strdup(val);
            if (!bloom_copy) {
                pqf_error_set(&err, PQF_ERR_NOMEM, "out of memory");
                ret = pqf_cli_fail(&err);
                goto done;
            }
            char *save = NULL;
            for (char *t = strtok_r(bloom_copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                pqf_column_opts *c = colopt(cols, &ncols, t);
                if (!c) {
                    ret = pqf_cli_usage("convert", "too many column options");
                    goto done;
                }
                c->bloom_filter = true;
            }
        } else if (strcmp(a, "--encoding") == 0) {
            NEED();
            char *eq = strchr(val, '=');
            if (!eq || eq == val) {
                ret = pqf_cli_usage("convert", "--encoding: expected COL=ENC");
                goto done;
            }
            *eq = 0; /* argv strings are writable */
            pqf_column_opts *c = colopt(cols, &ncols, val);
            if (!c || pqf_encoding_from_name(eq + 1, &c->encoding) != PQF_OK) {
                ret = pqf_cli_usage("convert", "--encoding: unknown encoding '%s'", eq + 1);
                goto done;
            }
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (a[0] == '-' && a[1] == '-') {
            ret = pqf_cli_usage("convert", "unknown option '%s'", a);
            goto done;
        } else if (!in) {
            in = a;
        } else if (!outp) {
            outp = a;
        } else {
            ret = pqf_cli_usage("convert", "unexpected argument '%s'", a);
            goto done;
        }
#undef NEED
    }
    (void)delim_buf;
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
    wo.columns = cols;
    wo.ncolumns = ncols;
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
    if (json)
        printf("{\"input\":\"%s\",\"output\":\"%s\",\"rows\":%llu,\"row_groups\":%llu,"
               "\"bytes\":%llu,\"input_bytes\":%llu,\"seconds\":%.3f,\"rows_per_second\":%.0f}\n",
               in, outp, (unsigned long long)rows, (unsigned long long)st.row_groups,
               (unsigned long long)st.bytes, (unsigned long long)pqf_source_bytes(src), secs,
               rps);
    else
        printf("%s: %llu rows, %llu row groups, %llu bytes in %.3f s (%.0f rows/s)\n", outp,
               (unsigned long long)rows, (unsigned long long)st.row_groups,
               (unsigned long long)st.bytes, secs, rps);
done:
    pqf_writer_free(w);
    pqf_ostream_free(os);
    pqf_source_free(src);
    pqf_schema_free(schema);
    free(cols);
    free(bloom_copy);
    return ret;
}
