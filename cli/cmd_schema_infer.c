/* pqfeed schema infer PAGES...: a proposed schema and mapping from sample API
 * pages, with a report of every field path (docs/MAPPING.md); and the
 * temporary feed behind `pqfeed schema check CONTRACT PAGES...`. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "pqfeed/export.h"
#include "pqfeed/mapping.h"
#include "pqfeed/source.h"
#include "schema_pages.h"
#include "store_cli.h"

static const char infer_usage[] =
    "usage: pqfeed schema infer PAGES... [--flatten | --struct] [--sample N] [--max-enum N]\n"
    "                           [--schema-out FILE] [--mapping-out FILE] [--mapping FILE] [--json]\n"
    "\n"
    "Read sample API pages (NDJSON: one object per line, or one JSON array of\n"
    "objects) and propose a schema (docs/SCHEMA-FILE.md) and a mapping\n"
    "(docs/MAPPING.md): nested objects as STRUCT columns (--struct, the default) or\n"
    "flattened to a_b columns (--flatten), arrays as LIST, ISO-8601 strings as\n"
    "timestamp_us (UTC; offsets converted), date strings as date, numeric strings as\n"
    "decimal(p,s) when every sample fits. The report lists every field path with\n"
    "the records it was seen in, its JSON kinds, the chosen type and notes (enums\n"
    "of few values; types that vary between records and what was chosen).\n"
    "\n"
    "  --sample N          read at most N records over all pages (default: all)\n"
    "  --max-enum N        note strings with at most N distinct values (default 8)\n"
    "  --schema-out FILE   write the schema there (atomically) instead of printing it\n"
    "  --mapping-out FILE  write the mapping there (atomically) instead of printing it\n"
    "  --mapping FILE      infer the columns of the records as this mapping maps them\n"
    "                      (the schema for it; no mapping is proposed)\n"
    "  --json              the report, schema and mapping as one JSON object\n";

static int write_file(const char *path, const char *text)
{
    pqf_error err = {0};
    pqf_ostream *o = NULL;
    if (pqf_ostream_file(path, &o, &err) != PQF_OK)
        return pqf_cli_fail(&err);
    if (pqf_ostream_write(o, text, strlen(text)) != PQF_OK || pqf_ostream_commit(o) != PQF_OK) {
        err = *pqf_ostream_error(o);
        pqf_ostream_free(o);
        return pqf_cli_fail(&err);
    }
    pqf_ostream_free(o);
    return 0;
}

static void json_opt(const char *s)
{
    if (s)
        pqf_cli_json_str(stdout, s);
    else
        fputs("null", stdout);
}

int pqf_cmd_schema_infer(int argc, char **argv)
{
    pqf_infer_opts o;
    pqf_infer_opts_init(&o);
    const char *schema_out = NULL, *mapping_out = NULL, *mapping_in = NULL;
    pqf_mapping *min = NULL;
    bool json = false, have_mode = false;
    int ret = 0, npages = 0;
    char **pages = calloc((size_t)argc + 1, sizeof *pages);
    pqf_error err = {0};
    pqf_infer *ix = NULL;
    pqf_schema *s = NULL;
    char *yaml = NULL, *sj = NULL;
    size_t sjl = 0;
    unsigned long long v;
    if (!pages)
        return pqf_cli_usage("schema infer", "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool needs = strcmp(a, "--sample") == 0 || strcmp(a, "--max-enum") == 0 ||
                     strcmp(a, "--schema-out") == 0 || strcmp(a, "--mapping-out") == 0 ||
                     strcmp(a, "--mapping") == 0;
        if (needs && i + 1 >= argc) {
            ret = pqf_cli_usage("schema infer", "%s needs a value", a);
            goto done;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(infer_usage, stdout);
            goto done;
        } else if (strcmp(a, "--flatten") == 0 || strcmp(a, "--struct") == 0) {
            bool fl = strcmp(a, "--flatten") == 0;
            if (have_mode && o.flatten != fl) {
                ret = pqf_cli_usage("schema infer", "give one of --flatten and --struct");
                goto done;
            }
            have_mode = true;
            o.flatten = fl;
        } else if (strcmp(a, "--sample") == 0) {
            if (pqf_cli_parse_u64(argv[++i], &v) != 0 || v == 0) {
                ret = pqf_cli_usage("schema infer", "--sample: expected a positive number");
                goto done;
            }
            o.sample = v;
        } else if (strcmp(a, "--max-enum") == 0) {
            if (pqf_cli_parse_u64(argv[++i], &v) != 0 || v > 64) {
                ret = pqf_cli_usage("schema infer", "--max-enum: expected 0 to 64");
                goto done;
            }
            o.max_enum = (unsigned)v;
        } else if (strcmp(a, "--schema-out") == 0) {
            schema_out = argv[++i];
        } else if (strcmp(a, "--mapping-out") == 0) {
            mapping_out = argv[++i];
        } else if (strcmp(a, "--mapping") == 0) {
            mapping_in = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (a[0] == '-' && a[1]) {
            ret = pqf_cli_usage("schema infer", "unknown option '%s'", a);
            goto done;
        } else {
            pages[npages++] = argv[i];
        }
    }
    if (npages == 0) {
        ret = pqf_cli_usage("schema infer", "needs at least one page (NDJSON or JSON array)");
        goto done;
    }
    if (mapping_in && (mapping_out || o.flatten)) {
        ret = pqf_cli_usage("schema infer", "--mapping takes no --mapping-out or --flatten");
        goto done;
    }
    if (mapping_in) {
        if (pqf_mapping_load(mapping_in, &min, &err) != PQF_OK)
            goto fail;
        o.mapping = min;
    }
    if (pqf_infer_create(&o, &ix, &err) != PQF_OK)
        goto fail;
    for (int i = 0; i < npages; i++)
        if (pqf_infer_page(ix, pages[i], &err) != PQF_OK)
            goto fail;
    if (pqf_infer_finish(ix, &s, &yaml, &err) != PQF_OK ||
        pqf_schema_to_json(s, &sj, &sjl, &err) != PQF_OK)
        goto fail;
    if (schema_out && (ret = write_file(schema_out, sj)) != 0)
        goto done;
    if (mapping_out && (ret = write_file(mapping_out, yaml)) != 0)
        goto done;
    size_t nf = pqf_infer_nfields(ix), nvary = 0;
    if (json) {
        printf("{\"records\":%llu,\"pages\":%d,\"mode\":\"%s\",\"fields\":[",
               (unsigned long long)pqf_infer_records(ix), npages, o.flatten ? "flatten" : "struct");
        for (size_t i = 0; i < nf; i++) {
            const pqf_infer_field *f = pqf_infer_field_at(ix, i);
            printf("%s{\"path\":", i ? "," : "");
            pqf_cli_json_str(stdout, f->path);
            printf(",\"column\":");
            json_opt(f->column);
            printf(",\"seen\":%llu,\"of\":%llu,\"nulls\":%llu,\"type\":",
                   (unsigned long long)f->seen, (unsigned long long)f->of,
                   (unsigned long long)f->nulls);
            pqf_cli_json_str(stdout, f->type);
            printf(",\"kinds\":");
            pqf_cli_json_str(stdout, f->kinds);
            printf(",\"varies\":%s,\"cast\":", f->varies ? "true" : "false");
            json_opt(f->cast);
            printf(",\"note\":");
            json_opt(f->note);
            printf("}");
        }
        printf("],\"schema\":%s,\"mapping\":", sj);
        json_opt(yaml);
        printf("}\n");
        goto done;
    }
    printf("%llu records from %d page%s; nested objects %s\n",
           (unsigned long long)pqf_infer_records(ix), npages, npages == 1 ? "" : "s",
           o.flatten ? "flattened to a_b columns" : "as STRUCT columns");
    printf("  %-32s %-15s %-8s %-18s %s\n", "field", "seen", "nulls", "type", "notes");
    for (size_t i = 0; i < nf; i++) {
        const pqf_infer_field *f = pqf_infer_field_at(ix, i);
        char seen[48];
        snprintf(seen, sizeof seen, "%llu/%llu", (unsigned long long)f->seen,
                 (unsigned long long)f->of);
        nvary += f->varies;
        char nulls[24];
        snprintf(nulls, sizeof nulls, "%llu", (unsigned long long)f->nulls);
        printf("  %-32s %-15s %-8s %-18s %s%s%s%s\n", f->path, seen, nulls, f->type,
               f->column && strcmp(f->column, f->path) ? "column " : "",
               f->column && strcmp(f->column, f->path) ? f->column : "",
               f->column && strcmp(f->column, f->path) && f->note ? "; " : "",
               f->note ? f->note : "");
        if (f->varies)
            printf("  %-32s %-15s %-8s %-18s seen as: %s\n", "", "", "", "", f->kinds);
    }
    if (nvary)
        printf("%zu field%s vary in type between records (see notes)\n", nvary,
               nvary == 1 ? "" : "s");
    if (!schema_out)
        printf("\n# schema (docs/SCHEMA-FILE.md)\n%s", sj);
    if (!mapping_out && yaml)
        printf("\n# mapping (docs/MAPPING.md)\n%s", yaml);
    goto done;
fail:
    ret = pqf_cli_fail(&err);
done:
    free(sj);
    free(yaml);
    pqf_schema_free(s);
    pqf_infer_free(ix);
    pqf_mapping_free(min);
    free(pages);
    return ret;
}

/* ---- pages as a temporary feed (schema check) ------------------------------ */

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            size_t l = strlen(path) + strlen(e->d_name) + 2;
            char *sub = malloc(l);
            if (!sub)
                break;
            snprintf(sub, l, "%s%s%s", path, pqf_cli_path_sep(path), e->d_name);
            remove_tree(sub);
            free(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

void pqf_cli_pages_remove(char *dir)
{
    if (dir)
        remove_tree(dir);
    free(dir);
}

int pqf_cli_pages_feed(const char *table, const char *key, char *const *pages, int npages,
                       const char *schema_path, const char *mapping_path, char **dir)
{
    int ret = 0;
    pqf_error err = {0};
    pqf_mapping *m = NULL;
    pqf_schema *s = NULL;
    pqf_infer *ix = NULL;
    pqf_store *store = NULL;
    pqf_feed *feed = NULL;
    const char *tmp = getenv("TMPDIR");
    char *d = malloc(strlen(tmp && *tmp ? tmp : "/tmp") + 32);
    *dir = NULL;
    if (!d) {
        pqf_error_set(&err, PQF_ERR_NOMEM, "out of memory");
        goto fail;
    }
    sprintf(d, "%s/pqfeed-pages-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(d)) {
        pqf_error_set(&err, PQF_ERR_IO, "%s: cannot create a temporary folder", d);
        free(d);
        d = NULL;
        goto fail;
    }
    if (mapping_path && pqf_mapping_load(mapping_path, &m, &err) != PQF_OK)
        goto fail;
    if (schema_path) {
        if (pqf_schema_load_json(schema_path, &s, &err) != PQF_OK)
            goto fail;
    } else {
        pqf_infer_opts io;
        pqf_infer_opts_init(&io);
        io.mapping = m;
        if (pqf_infer_create(&io, &ix, &err) != PQF_OK)
            goto fail;
        for (int i = 0; i < npages; i++)
            if (pqf_infer_page(ix, pages[i], &err) != PQF_OK)
                goto fail;
        if (pqf_infer_finish(ix, &s, NULL, &err) != PQF_OK)
            goto fail;
    }
    if (pqf_store_open(d, NULL, &store, &err) != PQF_OK ||
        pqf_feed_open(store, &feed, &err) != PQF_OK)
        goto fail;
    pqf_export_spec sp;
    pqf_export_spec_init(&sp);
    sp.table = table;
    sp.key = key;
    sp.inputs = (const char *const *)pages;
    sp.ninputs = (size_t)npages;
    sp.schema = s;
    sp.source.format = PQF_FORMAT_NDJSON;
    sp.source.mapping = m;
    pqf_export_result res;
    if (pqf_export(feed, &sp, &res, &err) != PQF_OK)
        goto fail;
    *dir = d;
    d = NULL;
    goto done;
fail:
    ret = pqf_cli_fail(&err);
done:
    pqf_feed_free(feed);
    pqf_store_free(store);
    pqf_infer_free(ix);
    pqf_schema_free(s);
    pqf_mapping_free(m);
    pqf_cli_pages_remove(d);
    return ret;
}
