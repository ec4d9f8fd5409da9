#include "table_opts.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

void pqf_cli_table_opts_init(pqf_cli_table_opts *t)
{
    memset(t, 0, sizeof *t);
    pqf_source_opts_init(&t->source);
    pqf_writer_opts_init(&t->writer);
    t->writer.columns = t->cols;
}

void pqf_cli_table_opts_free(pqf_cli_table_opts *t)
{
    for (size_t i = 0; i < t->nnames; i++)
        free(t->names[i]);
    t->nnames = 0;
}

static pqf_column_opts *colopt(pqf_cli_table_opts *t, const char *path)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].path, path) == 0)
            return &t->cols[i];
    if (t->ncols >= PQF_CLI_MAX_COLOPTS)
        return NULL;
    pqf_column_opts *c = &t->cols[t->ncols++];
    memset(c, 0, sizeof *c);
    c->path = path;
    c->encoding = PQF_ENC_AUTO;
    c->dictionary = -1;
    t->writer.ncolumns = t->ncols;
    return c;
}

void pqf_cli_table_help(FILE *f)
{
    fputs("input:\n"
          "  --format csv|ndjson     input format (default: by extension, else csv)\n"
          "  --delimiter C           CSV delimiter (default ','; 'tab' or '\\t' for TAB)\n"
          "  --quote C               CSV quote character (default '\"')\n"
          "  --null STR              CSV NULL marker (default: empty unquoted field)\n"
          "  --no-header             CSV has no header; fields are the schema's columns in order\n"
          "  --unknown-fields error|ignore  columns/fields not in the schema (default error)\n"
          "parquet:\n"
          "  --codec zstd|snappy|gzip|lz4_raw|brotli|none  (default zstd)\n"
          "  --level N               codec level\n"
          "  --row-group-size SIZE   target uncompressed bytes per row group (default 128M)\n"
          "  --page-size SIZE        target bytes per data page (default 1M)\n"
          "  --dictionary on|off     dictionary encoding (default on)\n"
          "  --bloom COL[,COL..]     write bloom filters for these columns\n"
          "  --page-version 1|2      data page version (default 1)\n"
          "  --encoding COL=ENC      column encoding (plain, delta_binary_packed, ...); repeatable\n",
          f);
}

int pqf_cli_table_arg(const char *cmd, int argc, char **argv, int *i, pqf_cli_table_opts *t)
{
    const char *a = argv[*i];
    const char *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    unsigned long long v;
    static const char *const with_value[] = {
        "--format", "--delimiter", "--quote", "--null", "--unknown-fields", "--codec", "--level",
        "--row-group-size", "--page-size", "--dictionary", "--page-version", "--bloom",
        "--encoding"};
    bool known = strcmp(a, "--no-header") == 0;
    for (size_t k = 0; !known && k < sizeof with_value / sizeof with_value[0]; k++)
        known = strcmp(a, with_value[k]) == 0;
    if (!known)
        return 0;
    if (strcmp(a, "--no-header") == 0) {
        t->source.csv.header = false;
        return 1;
    }
    if (!val)
        return pqf_cli_usage(cmd, "%s needs a value", a), -1;
    (*i)++;
    if (strcmp(a, "--format") == 0) {
        if (strcmp(val, "csv") == 0)
            t->source.format = PQF_FORMAT_CSV;
        else if (strcmp(val, "ndjson") == 0 || strcmp(val, "jsonl") == 0)
            t->source.format = PQF_FORMAT_NDJSON;
        else
            return pqf_cli_usage(cmd, "--format: expected csv or ndjson, not '%s'", val), -1;
    } else if (strcmp(a, "--delimiter") == 0 || strcmp(a, "--quote") == 0) {
        char c;
        if (strcmp(val, "tab") == 0 || strcmp(val, "\\t") == 0)
            c = '\t';
        else if (strlen(val) == 1)
            c = val[0];
        else
            return pqf_cli_usage(cmd, "%s: expected one character", a), -1;
        if (a[2] == 'd')
            t->source.csv.delimiter = c;
        else
            t->source.csv.quote = c;
    } else if (strcmp(a, "--null") == 0) {
        t->source.csv.null_marker = val;
    } else if (strcmp(a, "--unknown-fields") == 0) {
        if (strcmp(val, "error") == 0)
            t->source.ignore_unknown = false;
        else if (strcmp(val, "ignore") == 0)
            t->source.ignore_unknown = true;
        else
            return pqf_cli_usage(cmd, "--unknown-fields: expected error or ignore"), -1;
    } else if (strcmp(a, "--codec") == 0) {
        if (pqf_codec_from_name(val, &t->writer.codec) != PQF_OK)
            return pqf_cli_usage(cmd, "--codec: unknown codec '%s'", val), -1;
    } else if (strcmp(a, "--level") == 0) {
        char *end;
        long lv = strtol(val, &end, 10);
        if (*end || end == val || lv < -100 || lv > 100)
            return pqf_cli_usage(cmd, "--level: expected a number"), -1;
        t->writer.level = (int)lv;
    } else if (strcmp(a, "--row-group-size") == 0 || strcmp(a, "--page-size") == 0) {
        if (pqf_cli_parse_size(val, &v) != 0 || v == 0)
            return pqf_cli_usage(cmd, "%s: expected a size like 64M", a), -1;
        if (a[2] == 'r')
            t->writer.row_group_bytes = v;
        else
            t->writer.page_bytes = v;
    } else if (strcmp(a, "--dictionary") == 0) {
        if (strcmp(val, "on") == 0)
            t->writer.dictionary = true;
        else if (strcmp(val, "off") == 0)
            t->writer.dictionary = false;
        else
            return pqf_cli_usage(cmd, "--dictionary: expected on or off"), -1;
    } else if (strcmp(a, "--page-version") == 0) {
        if (strcmp(val, "1") != 0 && strcmp(val, "2") != 0)
            return pqf_cli_usage(cmd, "--page-version: expected 1 or 2"), -1;
        t->writer.page_version = val[0] - '0';
    } else if (strcmp(a, "--bloom") == 0) {
        for (const char *s = val; *s;) {
            size_t n = strcspn(s, ",");
            if (n == 0) {
                s++;
                continue;
            }
            if (t->nnames >= PQF_CLI_MAX_COLOPTS)
                return pqf_cli_usage(cmd, "too many column options"), -1;
            char *name = strndup(s, n);
            if (!name)
                return pqf_cli_usage(cmd, "out of memory"), -1;
            t->names[t->nnames++] = name;
            s += n;
            pqf_column_opts *c = colopt(t, name);
            if (!c)
                return pqf_cli_usage(cmd, "too many column options"), -1;
            c->bloom_filter = true;
        }
    } else if (strcmp(a, "--encoding") == 0) {
        char *eq = strchr(val, '=');
        if (!eq || eq == val)
            return pqf_cli_usage(cmd, "--encoding: expected COL=ENC"), -1;
        *eq = 0; /* argv strings are writable */
        pqf_column_opts *c = colopt(t, val);
        if (!c || pqf_encoding_from_name(eq + 1, &c->encoding) != PQF_OK)
            return pqf_cli_usage(cmd, "--encoding: unknown encoding '%s'", eq + 1), -1;
    }
    return 1;
}
