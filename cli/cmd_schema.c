/* pqfeed schema check CONTRACT STORE / schema diff A.json B.json: a feed's
 * registered schemas against a contract, and two schema files in words, each
 * with the compatibility verdicts of docs/SCHEMA.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "feed_cli.h"
#include "pqfeed/contract.h"
#include "pqfeed/export.h"
#include "pqfeed/feed.h"
#include "pqfeed/source.h"
#include "schema_pages.h"

/* docs/CLI.md: the feed does not meet the contract (pqf_exit_code(PQF_ERR_CONTRACT)) */
#define PQF_EXIT_SCHEMA_CHECK 24
/* value checks read about this many rows over all commits unless --sample/--all */
#define CHECK_DEFAULT_SAMPLE 100000

/* Check-and-forward (src/base/base.h's PQF_TRY is internal to the library). */
#define SCHEMA_TRY(expr)                                                                           \
    do {                                                                                           \
        rc = (expr);                                                                               \
        if (rc != PQF_OK)                                                                          \
            goto done;                                                                             \
    } while (0)

static const char schema_usage[] =
    "usage: pqfeed schema check CONTRACT STORE [--table T] [--sample N | --all] [--json]\n"
    "                           [store options]\n"
    "       pqfeed schema check CONTRACT PAGES... [--table T] [--mapping M] [--schema S]\n"
    "                           [--sample N | --all] [--json]\n"
    "       pqfeed schema infer PAGES... [--flatten | --struct] [--sample N] [--json] (--help)\n"
    "       pqfeed schema diff OLD.json NEW.json [--json]\n"
    "       pqfeed schema diff STORE --table T [--from V] [--to V] [--json] [store options]\n"
    "       pqfeed schema diff CONTRACT.yaml STORE [--table T] [--json] [store options]\n"
    "\n"
    "check: for each table of the contract (YAML, docs/SCHEMA.md), every schema\n"
    "version registered in the feed is checked: each contract column present, of\n"
    "the contract's type, and required when the contract says nullable: false; each\n"
    "change between consecutive versions must keep the table's compatibility mode;\n"
    "the key registered with each version must be the contract's key. Nested types\n"
    "(struct fields, list elements) are compared field by field. Value checks\n"
    "(allowed, min/max, regex, not_null_ratio) run over the data of every commit:\n"
    "a sample of about N rows (--sample N, default 100000) spread over all data\n"
    "files in proportion to their rows, or every row (--all).\n"
    "Exits 0 when everything holds, 24 otherwise.\n"
    "\n"
    "With PAGES (NDJSON/JSON API pages, regular files) instead of STORE, the pages\n"
    "are exported through the mapping (docs/MAPPING.md) into a temporary feed with\n"
    "schema S (or one inferred from the mapped pages) and checked the same way.\n"
    "\n"
    "diff: the changes from OLD to NEW (schema files, docs/SCHEMA-FILE.md) in words,\n"
    "and whether they keep backward, forward and full compatibility; or between two\n"
    "schema versions of a feed's table (default: the last two); or a feed's latest\n"
    "schema against a contract: each contract column as check reports it, the key,\n"
    "and the feed's columns the contract does not name. Exits 0 whatever it finds\n"
    "(schema check enforces).\n";

static const char *null_word(bool nullable)
{
    return nullable ? "nullable" : "required";
}

/* "dropped column title (string, required)", "story_points: int32 -> int64 (widening)" */
static void change_text(const pqf_schema_change *c, char *buf, size_t cap)
{
    size_t len = 0;
    switch (c->kind) {
    case PQF_CHANGE_ADDED:
        snprintf(buf, cap, "added %s column %s (%s)", null_word(c->new_nullable), c->column,
                 c->new_type);
        return;
    case PQF_CHANGE_DROPPED:
        snprintf(buf, cap, "dropped column %s (%s, %s)", c->column, c->old_type,
                 null_word(c->old_nullable));
        return;
    case PQF_CHANGE_CHANGED:
        len = (size_t)snprintf(buf, cap, "%s:", c->column);
        if (c->type_changed && len < cap)
            len +=
                (size_t)snprintf(buf + len, cap - len, " %s -> %s (%s)", c->old_type, c->new_type,
                                 c->widening    ? "widening"
                                 : c->narrowing ? "narrowing"
                                                : "type change");
        if (c->old_nullable != c->new_nullable && len < cap)
            snprintf(buf + len, cap - len, "%s %s -> %s", c->type_changed ? "," : "",
                     null_word(c->old_nullable), null_word(c->new_nullable));
        return;
    }
}

static const char *change_kind_name(pqf_change_kind k)
{
    return k == PQF_CHANGE_ADDED ? "added" : k == PQF_CHANGE_DROPPED ? "dropped" : "changed";
}

static void print_changes_json(const pqf_schema_change *v, size_t n)
{
    char text[1024];
    printf("[");
    for (size_t i = 0; i < n; i++) {
        const pqf_schema_change *c = &v[i];
        change_text(c, text, sizeof text);
        printf("%s{\"column\":", i ? "," : "");
        pqf_cli_json_str(stdout, c->column);
        printf(",\"change\":\"%s\",\"old_type\":", change_kind_name(c->kind));
        if (c->kind == PQF_CHANGE_ADDED)
            printf("null");
        else
            pqf_cli_json_str(stdout, c->old_type);
        printf(",\"new_type\":");
        if (c->kind == PQF_CHANGE_DROPPED)
            printf("null");
        else
            pqf_cli_json_str(stdout, c->new_type);
        printf(",\"old_nullable\":%s,\"new_nullable\":%s,\"widening\":%s,\"narrowing\":%s,"
               "\"backward\":%s,\"forward\":%s,\"text\":",
               c->kind == PQF_CHANGE_ADDED ? "null"
               : c->old_nullable           ? "true"
                                           : "false",
               c->kind == PQF_CHANGE_DROPPED ? "null"
               : c->new_nullable             ? "true"
                                             : "false",
               c->widening ? "true" : "false", c->narrowing ? "true" : "false",
               c->backward_ok ? "true" : "false", c->forward_ok ? "true" : "false");
        pqf_cli_json_str(stdout, text);
        printf("}");
    }
    printf("]");
}

/* ---- diff -------------------------------------------------------------------------- */


/* ---- check ------------------------------------------------------------------------- */

typedef struct {
    bool json;
    size_t problems;
    bool first_table;
    uint64_t sample; /* value checks: rows to sample over all commits; 0: all */
} check_ctx;

/* One contract column against one schema version (ck from
 * pqf_contract_check_schema); returns true when it holds. */
static bool check_column(check_ctx *x, const pqf_contract_column *cc, const pqf_column_check *ck,
                         bool first)
{
    bool ok = ck->status == PQF_COLUMN_OK;
    if (!ok)
        x->problems++;
    if (x->json) {
        printf("%s{\"name\":", first ? "" : ",");
        pqf_cli_json_str(stdout, cc->name);
        printf(",\"status\":\"%s\",\"type\":",
               ck->status == PQF_COLUMN_WRONG_TYPE ? "wrong_type" : pqf_column_status_name(ck->status));
        if (!ck->present)
            printf("null,\"nullable\":null");
        else {
            pqf_cli_json_str(stdout, ck->type);
            printf(",\"nullable\":%s", ck->nullable ? "true" : "false");
        }
        printf(",\"want_type\":");
        pqf_cli_json_str(stdout, cc->type);
        printf(",\"want_nullable\":%s,\"field\":", cc->nullable ? "true" : "false");
        pqf_cli_json_str(stdout, ck->field[0] ? ck->field : cc->name);
        printf(",\"detail\":");
        pqf_cli_json_str(stdout, ck->detail);
        printf("}");
    } else {
        printf("    %-20s %-12s %s\n", cc->name, ok ? "ok" : pqf_column_status_name(ck->status),
               ck->detail);
    }
    return ok;
}

/* The contract's key against the one registered with a version. */
static void check_key(check_ctx *x, const pqf_contract_table *t, const char *key)
{
    bool ok = pqf_contract_key_ok(t, key);
    if (!ok)
        x->problems++;
    if (x->json) {
        printf(",\"key\":{\"want\":");
        if (t->key)
            pqf_cli_json_str(stdout, t->key);
        else
            printf("null");
        printf(",\"have\":");
        pqf_cli_json_str(stdout, key);
        printf(",\"ok\":%s}", ok ? "true" : "false");
    } else if (t->key) {
        printf("    %-20s %-12s contract %s, feed %s\n", "(key)", ok ? "ok" : "wrong key", t->key,
               *key ? key : "(none)");
    }
}

/* "3 not allowed, 2 out of range (e.g. \"wontfix\")" or the passing summary. */
static void value_detail(const pqf_contract_column *c, const pqf_value_stats *s, char *buf,
                         size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    if (!s->present) {
        snprintf(buf, cap, "not in the data files");
        return;
    }
    if (s->not_allowed)
        len += (size_t)snprintf(buf + len, cap - len, "%llu not allowed, ",
                                (unsigned long long)s->not_allowed);
    if (s->out_of_range && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, "%llu out of range, ",
                                (unsigned long long)s->out_of_range);
    if (s->no_match && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, "%llu not matching the regex, ",
                                (unsigned long long)s->no_match);
    double ratio = s->rows ? (double)(s->rows - s->nulls) / (double)s->rows : 1.0;
    if (len < cap)
        len += (size_t)snprintf(buf + len, cap - len, "not-null %.4f", ratio);
    if (c->check.not_null_ratio >= 0 && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, " (want >= %g)", c->check.not_null_ratio);
    if (s->example[0] && len < cap)
        snprintf(buf + len, cap - len, ", e.g. \"%s\"", s->example);
}

static void print_values(check_ctx *x, const pqf_contract_table *t, const pqf_value_stats *stats,
                         const pqf_value_scan *sc)
{
    char detail[512];
    bool first = true;
    if (x->json) {
        printf(",\"values\":{\"commits\":%llu,\"files\":%llu,\"rows_total\":%llu,"
               "\"rows_read\":%llu,\"sample\":",
               (unsigned long long)sc->commits, (unsigned long long)sc->files,
               (unsigned long long)sc->rows_total, (unsigned long long)sc->rows_read);
        if (x->sample)
            printf("%llu", (unsigned long long)x->sample);
        else
            printf("null");
        printf(",\"columns\":[");
    } else if (sc->commits == 0) {
        printf("  values: no commit yet, nothing to check\n");
    } else {
        printf("  values (%llu commit%s, %llu file%s: %llu of %llu rows read%s)\n",
               (unsigned long long)sc->commits, sc->commits == 1 ? "" : "s",
               (unsigned long long)sc->files, sc->files == 1 ? "" : "s",
               (unsigned long long)sc->rows_read, (unsigned long long)sc->rows_total,
               x->sample && sc->rows_read < sc->rows_total ? ", a sample" : "");
    }
    for (size_t i = 0; i < t->ncolumns && sc->commits; i++) {
        const pqf_contract_column *c = &t->columns[i];
        const pqf_value_stats *s = &stats[i];
        if (!c->has_check)
            continue;
        bool ok = pqf_value_stats_ok(c, s);
        if (!ok)
            x->problems++;
        value_detail(c, s, detail, sizeof detail);
        if (x->json) {
            printf("%s{\"name\":", first ? "" : ",");
            pqf_cli_json_str(stdout, c->name);
            printf(",\"ok\":%s,\"present\":%s,\"rows\":%llu,\"nulls\":%llu,"
                   "\"not_allowed\":%llu,\"out_of_range\":%llu,\"no_match\":%llu,\"example\":",
                   ok ? "true" : "false", s->present ? "true" : "false",
                   (unsigned long long)s->rows, (unsigned long long)s->nulls,
                   (unsigned long long)s->not_allowed, (unsigned long long)s->out_of_range,
                   (unsigned long long)s->no_match);
            if (s->example[0])
                pqf_cli_json_str(stdout, s->example);
            else
                printf("null");
            printf("}");
        } else {
            printf("    %-20s %-14s %s\n", c->name, ok ? "ok" : "failing values", detail);
        }
        first = false;
    }
    if (x->json)
        printf("]}");
}

/* All versions of one table; problems are counted in x, errors returned. */
static pqf_err check_table(check_ctx *x, pqf_feed *feed, const pqf_contract_table *t,
                           pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_schema *prev = NULL, *cur = NULL;
    pqf_schema_change *ch = NULL;
    pqf_value_stats *stats = NULL;
    pqf_column_check *cks = NULL;
    size_t nch = 0;
    int latest = 0;
    char text[1024];
    bool first_change = true;
    SCHEMA_TRY(pqf_feed_schema_latest(feed, t->name, &latest, NULL, err));
    if (x->json) {
        printf("%s{\"table\":", x->first_table ? "" : ",");
        pqf_cli_json_str(stdout, t->name);
        printf(",\"compatibility\":\"%s\",\"schema_versions\":%d,\"in_feed\":%s,\"versions\":[",
               pqf_compat_mode_name(t->compat), latest, latest ? "true" : "false");
    } else {
        printf("%s: %d schema version%s, compatibility %s\n", t->name, latest,
               latest == 1 ? "" : "s", pqf_compat_mode_name(t->compat));
    }
    x->first_table = false;
    if (latest == 0) {
        x->problems++;
        if (!x->json)
            printf("  missing table: no schema registered under %s/_schema/\n", t->name);
    }
    cks = calloc(t->ncolumns + 1, sizeof *cks);
    if (!cks) {
        rc = pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int v = 1; v <= latest; v++) {
        char key[1024];
        SCHEMA_TRY(pqf_feed_schema_get(feed, t->name, v, &cur, err));
        SCHEMA_TRY(pqf_feed_schema_key(feed, t->name, v, key, sizeof key, err));
        if (x->json)
            printf("%s{\"version\":%d,\"columns\":[", v > 1 ? "," : "", v);
        else
            printf("  v%d\n", v);
        pqf_contract_check_schema(t, cur, cks);
        for (size_t i = 0; i < t->ncolumns; i++)
            check_column(x, &t->columns[i], &cks[i], i == 0);
        if (x->json)
            printf("]");
        check_key(x, t, key);
        if (x->json)
            printf("}");
        pqf_schema_free(prev);
        prev = cur;
        cur = NULL;
    }
    if (x->json)
        printf("],\"changes\":[");
    /* each step between consecutive versions must keep the table's mode */
    for (int v = 2; v <= latest && t->compat != PQF_COMPAT_NONE; v++) {
        pqf_schema_free(prev);
        prev = NULL;
        SCHEMA_TRY(pqf_feed_schema_get(feed, t->name, v - 1, &prev, err));
        SCHEMA_TRY(pqf_feed_schema_get(feed, t->name, v, &cur, err));
        free(ch);
        ch = NULL;
        SCHEMA_TRY(pqf_schema_diff(prev, cur, &ch, &nch, err));
        bool keeps = pqf_schema_changes_keep(ch, nch, t->compat);
        if (!keeps)
            x->problems++;
        if (x->json) {
            printf("%s{\"from\":%d,\"to\":%d,\"keeps\":%s,\"changes\":", first_change ? "" : ",",
                   v - 1, v, keeps ? "true" : "false");
            print_changes_json(ch, nch);
            printf("}");
        } else {
            printf("  v%d -> v%d: %s %s\n", v - 1, v, keeps ? "keeps" : "breaks",
                   pqf_compat_mode_name(t->compat));
            for (size_t i = 0; i < nch; i++) {
                change_text(&ch[i], text, sizeof text);
                printf("    %s\n", text);
            }
        }
        first_change = false;
        pqf_schema_free(cur);
        cur = NULL;
    }
    size_t nvalue = 0;
    for (size_t i = 0; i < t->ncolumns; i++)
        nvalue += t->columns[i].has_check;
    if (x->json)
        printf("]");
    if (nvalue) {
        pqf_value_scan sc;
        stats = calloc(t->ncolumns, sizeof *stats);
        if (!stats) {
            rc = pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
            goto done;
        }
        SCHEMA_TRY(pqf_contract_scan_values(feed, t, x->sample, stats, &sc, err));
        print_values(x, t, stats, &sc);
    }
    if (x->json)
        printf("}");
done:
    if (rc != PQF_OK && x->json)
        printf("]}]}\n");
    free(stats);
    free(cks);
    free(ch);
    pqf_schema_free(prev);
    pqf_schema_free(cur);
    return rc;
}

/* --sample N (N >= 1) or --all (0: every row). */
static int check_sample_arg(int argc, char **argv, int *i, uint64_t *sample)
{
    unsigned long long v = 0;
    if (strcmp(argv[*i], "--all") == 0) {
        *sample = 0;
        return 0;
    }
    if (*i + 1 >= argc || pqf_cli_parse_u64(argv[++*i], &v) != 0 || v == 0)
        return -1;
    *sample = v;
    return 0;
}

static int cmd_check(int argc, char **argv)
{
    pqf_cli_store_args sa;
    memset(&sa, 0, sizeof sa);
    const char *cpath = NULL, *uri = NULL, *table = NULL;
    uint64_t sample = CHECK_DEFAULT_SAMPLE;
    int ret = 0;
    pqf_error err = {0};
    pqf_contract *c = NULL;
    pqf_store *store = NULL;
    pqf_feed *feed = NULL;
    const char *mapping = NULL, *schema = NULL; /* API pages */
    char **pages = calloc((size_t)argc, sizeof *pages), *pages_dir = NULL;
    int npages = 0;
    if (!pages)
        return pqf_cli_usage("schema check", "out of memory");
    for (int i = 1; i < argc; i++) {
        int r = pqf_cli_store_arg("schema check", argc, argv, &i, &sa);
        if (r < 0) {
            free(pages);
            return PQF_EXIT_USAGE;
        }
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--json") == 0) {
            sa.json = true;
        } else if (strcmp(argv[i], "--table") == 0) {
            if (++i >= argc) {
                free(pages);
                return pqf_cli_usage("schema check", "--table needs a table name");
            }
            table = argv[i];
        } else if (strcmp(argv[i], "--sample") == 0 || strcmp(argv[i], "--all") == 0) {
            if (check_sample_arg(argc, argv, &i, &sample) != 0) {
                free(pages);
                return pqf_cli_usage("schema check", "--sample: expected a number of rows >= 1");
            }
        } else if (strcmp(argv[i], "--mapping") == 0 || strcmp(argv[i], "--schema") == 0) {
            if (++i >= argc) {
                free(pages);
                return pqf_cli_usage("schema check", "%s needs a file", argv[i - 1]);
            }
            *(argv[i - 1][2] == 'm' ? &mapping : &schema) = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            free(pages);
            return pqf_cli_usage("schema check", "unknown option '%s'", argv[i]);
        } else if (!cpath) {
            cpath = argv[i];
        } else {
            pages[npages++] = argv[i];
        }
    }
    /* one regular file (or more than one argument): API pages, else one STORE */
    struct stat st;
    const char *ext = npages == 1 ? strrchr(pages[0], '.') : NULL;
    bool page_mode = npages > 1 || (npages == 1 && stat(pages[0], &st) == 0 && S_ISREG(st.st_mode)) ||
                     (ext && (strcmp(ext, ".ndjson") == 0 || strcmp(ext, ".jsonl") == 0 ||
                              strcmp(ext, ".json") == 0));
    uri = npages == 1 && !page_mode ? pages[0] : NULL;
    if (!page_mode && !uri) {
        free(pages);
        return pqf_cli_usage("schema check", "needs CONTRACT and STORE (or API pages)");
    }
    if (!page_mode && (mapping || schema)) {
        free(pages);
        return pqf_cli_usage("schema check", "--mapping and --schema are for API pages");
    }
    if (pqf_contract_load(cpath, &c, &err) != PQF_OK) {
        ret = pqf_cli_fail(&err);
        goto done;
    }
    if (page_mode) {
        if (!table && c->ntables != 1) {
            ret = pqf_cli_usage("schema check", "pages hold one table: give --table T");
            goto done;
        }
        const pqf_contract_table *ct = &c->tables[0];
        for (size_t k = 0; table && k < c->ntables; k++)
            if (strcmp(c->tables[k].name, table) == 0)
                ct = &c->tables[k];
        /* the pages' feed gets the contract's key: the pages have none of their own */
        ret = pqf_cli_pages_feed(table ? table : ct->name, ct->key, pages, npages, schema,
                                 mapping, &pages_dir);
        if (ret != 0)
            goto done;
        uri = pages_dir;
    }
    ret = pqf_cli_open_feed(uri, &sa, &store, &feed);
    if (ret != 0)
        goto done;
    check_ctx x = {sa.json, 0, true, sample};
    size_t nchecked = 0;
    if (x.json) {
        printf("{\"contract\":");
        pqf_cli_json_str(stdout, cpath);
        if (page_mode) {
            printf(",\"pages\":[");
            for (int i = 0; i < npages; i++) {
                printf("%s", i ? "," : "");
                pqf_cli_json_str(stdout, pages[i]);
            }
            printf("]");
        } else {
            printf(",\"store\":");
            pqf_cli_json_str(stdout, pqf_store_uri(store));
        }
        printf(",\"tables\":[");
    }
    for (size_t i = 0; i < c->ntables; i++) {
        if (table && strcmp(table, c->tables[i].name) != 0)
            continue;
        nchecked++;
        if (check_table(&x, feed, &c->tables[i], &err) != PQF_OK) {
            ret = pqf_cli_fail(&err);
            goto done;
        }
    }
    if (table && nchecked == 0) {
        if (x.json)
            printf("]}\n");
        ret = pqf_cli_usage("schema check", "the contract has no table '%s'", table);
        goto done;
    }
    if (x.json)
        printf("],\"problems\":%zu,\"ok\":%s}\n", x.problems, x.problems ? "false" : "true");
    else if (x.problems)
        printf("schema check failed: %zu problem%s\n", x.problems, x.problems == 1 ? "" : "s");
    else
        printf("schema check passed: every contract column present with its type and "
               "nullability\n");
    if (x.problems)
        ret = PQF_EXIT_SCHEMA_CHECK;
done:
    pqf_feed_free(feed);
    pqf_store_free(store);
    pqf_contract_free(c);
    pqf_cli_pages_remove(pages_dir);
    free(pages);
    return ret;
}

/* ---- schema diff ------------------------------------------------------------- */

/* The changes from sa (named na) to sb, in words or JSON (docs/CLI.md). */
static void print_diff(const char *na, const char *nb, pqf_schema_change *v, size_t n, bool json)
{
    char text[1024];
    bool bw = pqf_schema_changes_keep(v, n, PQF_COMPAT_BACKWARD);
    bool fw = pqf_schema_changes_keep(v, n, PQF_COMPAT_FORWARD);
    if (json) {
        printf("{\"old\":");
        pqf_cli_json_str(stdout, na);
        printf(",\"new\":");
        pqf_cli_json_str(stdout, nb);
        printf(",\"changes\":");
        print_changes_json(v, n);
        printf(",\"compatible\":{\"backward\":%s,\"forward\":%s,\"full\":%s}}\n",
               bw ? "true" : "false", fw ? "true" : "false", bw && fw ? "true" : "false");
        return;
    }
    printf("%s -> %s: %zu change%s\n", na, nb, n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        change_text(&v[i], text, sizeof text);
        const char *breaks = !v[i].backward_ok && !v[i].forward_ok
                                 ? " (breaks backward and forward)"
                             : !v[i].backward_ok ? " (breaks backward)"
                             : !v[i].forward_ok  ? " (breaks forward)"
                                                 : "";
        printf("  %s%s\n", text, breaks);
    }
    printf("backward: %s\nforward: %s\nfull: %s\n", bw ? "compatible" : "incompatible",
           fw ? "compatible" : "incompatible", bw && fw ? "compatible" : "incompatible");
}

static bool is_contract_path(const char *p)
{
    const char *e = strrchr(p, '.');
    return e && (strcmp(e, ".yaml") == 0 || strcmp(e, ".yml") == 0);
}

/* A feed's latest schema against a contract table: each contract column as
 * `schema check` reports it, the key, then the feed's top-level columns the
 * contract does not name. */
static pqf_err diff_contract(check_ctx *x, pqf_feed *feed, const char *cpath,
                             const pqf_contract_table *t, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_schema *s = NULL;
    pqf_column_check *cks = NULL;
    int latest = 0;
    char key[1024];
    SCHEMA_TRY(pqf_feed_schema_latest(feed, t->name, &latest, &s, err));
    if (latest == 0) {
        rc = pqf_error_set(err, PQF_ERR_NOT_FOUND, "table %s: no schema registered in the feed",
                           t->name);
        goto done;
    }
    SCHEMA_TRY(pqf_feed_schema_key(feed, t->name, latest, key, sizeof key, err));
    cks = calloc(t->ncolumns + 1, sizeof *cks);
    if (!cks) {
        rc = pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
        goto done;
    }
    pqf_contract_check_schema(t, s, cks);
    if (x->json) {
        printf("{\"contract\":");
        pqf_cli_json_str(stdout, cpath);
        printf(",\"table\":");
        pqf_cli_json_str(stdout, t->name);
        printf(",\"version\":%d,\"columns\":[", latest);
    } else {
        printf("contract %s, table %s -> the feed's schema v%d\n", cpath, t->name, latest);
    }
    for (size_t i = 0; i < t->ncolumns; i++)
        check_column(x, &t->columns[i], &cks[i], i == 0);
    if (x->json)
        printf("]");
    check_key(x, t, key);
    /* what the feed has beyond the contract */
    if (x->json)
        printf(",\"not_in_contract\":[");
    int nk = 0;
    pqf_node_info root;
    SCHEMA_TRY(pqf_schema_node(s, 0, &root) == PQF_OK
                   ? PQF_OK
                   : pqf_error_set(err, PQF_ERR_INTERNAL, "table %s: no schema root", t->name));
    for (int k = 0; k < root.nchildren; k++) {
        pqf_node_info ni;
        if (pqf_schema_node(s, pqf_schema_child(s, 0, k), &ni) != PQF_OK)
            continue;
        bool named = false;
        for (size_t i = 0; i < t->ncolumns && !named; i++)
            named = strcmp(t->columns[i].name, ni.name) == 0;
        if (named)
            continue;
        if (x->json) {
            printf("%s", nk ? "," : "");
            pqf_cli_json_str(stdout, ni.name);
        } else {
            printf("%s%s", nk ? ", " : "    not in the contract: ", ni.name);
        }
        nk++;
    }
    if (x->json)
        printf("],\"differences\":%zu}\n", x->problems);
    else
        printf("%s%zu difference%s from the contract\n", nk ? "\n" : "", x->problems,
               x->problems == 1 ? "" : "s");
done:
    free(cks);
    pqf_schema_free(s);
    return rc;
}

static int cmd_diff(int argc, char **argv)
{
    pqf_cli_store_args sa;
    memset(&sa, 0, sizeof sa);
    const char *ops[2] = {NULL, NULL}, *table = NULL;
    int nops = 0, from = 0, to = 0, ret = 0;
    bool json = false;
    pqf_error err = {0};
    pqf_schema *s_old = NULL, *s_new = NULL;
    pqf_schema_change *v = NULL;
    pqf_contract *c = NULL;
    pqf_store *store = NULL;
    pqf_feed *feed = NULL;
    size_t n = 0;
    char na[512], nb[512];
    for (int i = 1; i < argc; i++) {
        int r = pqf_cli_store_arg("schema diff", argc, argv, &i, &sa);
        if (r < 0)
            return PQF_EXIT_USAGE;
        if (r > 0)
            continue;
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--table") == 0 || strcmp(a, "--from") == 0 ||
                   strcmp(a, "--to") == 0) {
            unsigned long long u = 0;
            if (++i >= argc)
                return pqf_cli_usage("schema diff", "%s needs a value", a);
            if (a[2] == 't' && a[3] == 'a') {
                table = argv[i];
            } else if (pqf_cli_parse_u64(argv[i], &u) != 0 || u == 0 || u > INT32_MAX) {
                return pqf_cli_usage("schema diff", "%s: expected a schema version >= 1", a);
            } else {
                *(a[2] == 'f' ? &from : &to) = (int)u;
            }
        } else if (a[0] == '-' && a[1]) {
            return pqf_cli_usage("schema diff", "unknown option '%s'", a);
        } else if (nops < 2) {
            ops[nops++] = a;
        } else {
            return pqf_cli_usage("schema diff", "unexpected argument '%s'", a);
        }
    }
    json = json || sa.json;
    if (nops == 0)
        return pqf_cli_usage("schema diff", "needs OLD.json NEW.json, STORE --table T, or "
                                            "CONTRACT.yaml STORE");
    if (nops == 2 && is_contract_path(ops[0])) { /* a feed against a contract */
        if (from || to)
            return pqf_cli_usage("schema diff", "--from/--to compare two versions of a feed");
        if (pqf_contract_load(ops[0], &c, &err) != PQF_OK) {
            ret = pqf_cli_fail(&err);
            goto done;
        }
        const pqf_contract_table *t = table ? pqf_contract_table_find(c, table)
                                      : c->ntables == 1 ? &c->tables[0] : NULL;
        if (!t) {
            ret = table ? pqf_cli_usage("schema diff", "the contract has no table '%s'", table)
                        : pqf_cli_usage("schema diff", "the contract has several tables: give "
                                                       "--table T");
            goto done;
        }
        ret = pqf_cli_open_feed(ops[1], &sa, &store, &feed);
        if (ret != 0)
            goto done;
        check_ctx x = {json, 0, true, 0};
        if (diff_contract(&x, feed, ops[0], t, &err) != PQF_OK)
            ret = pqf_cli_fail(&err);
        goto done;
    }
    if (nops == 1) { /* two versions of a feed's table */
        if (!table)
            return pqf_cli_usage("schema diff", "a feed needs --table T");
        ret = pqf_cli_open_feed(ops[0], &sa, &store, &feed);
        if (ret != 0)
            goto done;
        int latest = 0;
        if (pqf_feed_schema_latest(feed, table, &latest, NULL, &err) != PQF_OK) {
            ret = pqf_cli_fail(&err);
            goto done;
        }
        if (latest == 0) {
            err.code = PQF_OK;
            pqf_error_set(&err, PQF_ERR_NOT_FOUND, "table %s: no schema registered in the feed",
                          table);
            ret = pqf_cli_fail(&err);
            goto done;
        }
        if (!to)
            to = latest;
        if (!from)
            from = to - 1;
        if (latest < 2 && !(from && to)) {
            ret = pqf_cli_usage("schema diff", "table %s has %d schema version%s: nothing to "
                                "compare", table, latest, latest == 1 ? "" : "s");
            goto done;
        }
        if (from < 1 || to > latest || from >= to) {
            ret = pqf_cli_usage("schema diff", "table %s has versions 1..%d: --from %d --to %d "
                                "is not a range in it", table, latest, from, to);
            goto done;
        }
        if (pqf_feed_schema_get(feed, table, from, &s_old, &err) != PQF_OK ||
            pqf_feed_schema_get(feed, table, to, &s_new, &err) != PQF_OK) {
            ret = pqf_cli_fail(&err);
            goto done;
        }
        snprintf(na, sizeof na, "%s v%d", table, from);
        snprintf(nb, sizeof nb, "%s v%d", table, to);
    } else { /* two schema files */
        if (table || from || to)
            return pqf_cli_usage("schema diff", "--table/--from/--to are for a feed");
        if (pqf_schema_load_json(ops[0], &s_old, &err) != PQF_OK ||
            pqf_schema_load_json(ops[1], &s_new, &err) != PQF_OK) {
            ret = pqf_cli_fail(&err);
            goto done;
        }
        snprintf(na, sizeof na, "%s", ops[0]);
        snprintf(nb, sizeof nb, "%s", ops[1]);
    }
    if (pqf_schema_diff(s_old, s_new, &v, &n, &err) != PQF_OK) {
        ret = pqf_cli_fail(&err);
        goto done;
    }
    print_diff(na, nb, v, n, json);
done:
    free(v);
    pqf_schema_free(s_old);
    pqf_schema_free(s_new);
    pqf_feed_free(feed);
    pqf_store_free(store);
    pqf_contract_free(c);
    return ret;
}

int pqf_cmd_schema(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(schema_usage, argc < 2 ? stderr : stdout);
        if (argc >= 2)
            pqf_cli_store_help(stdout);
        return argc < 2 ? PQF_EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "diff") == 0)
        return cmd_diff(argc - 1, argv + 1);
    if (strcmp(argv[1], "infer") == 0)
        return pqf_cmd_schema_infer(argc - 1, argv + 1);
    return pqf_cli_usage("schema", "unknown subcommand '%s' (check, diff or infer)", argv[1]);
}
