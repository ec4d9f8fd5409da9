/* pqfeed ls: list objects, like `aws s3 ls`. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store_cli.h"

typedef struct ls_ctx {
    const pqf_cli_store_args *a;
    size_t strip; /* print keys relative to the listed "directory" */
    unsigned long long count, bytes;
} ls_ctx;

static bool ls_print(void *ud, const pqf_object_info *o)
{
    ls_ctx *c = ud;
    const char *name = strlen(o->key) >= c->strip ? o->key + c->strip : o->key;
    if (c->a->json) {
        printf("{\"key\":");
        pqf_cli_json_str(stdout, o->key);
        if (o->is_prefix) {
            printf(",\"prefix\":true}\n");
            return true;
        }
        printf(",\"size\":%llu,\"etag\":", (unsigned long long)o->size);
        pqf_cli_json_str(stdout, o->etag);
        printf(",\"mtime_ms\":%lld", (long long)o->mtime_ms);
        if (o->version_id[0]) {
            printf(",\"version_id\":");
            pqf_cli_json_str(stdout, o->version_id);
            printf(",\"latest\":%s,\"delete_marker\":%s", o->is_latest ? "true" : "false",
                   o->is_delete_marker ? "true" : "false");
        }
        printf("}\n");
    } else if (o->is_prefix) {
        printf("%30s %s\n", "PRE", name);
    } else {
        char t[32];
        pqf_cli_time(o->mtime_ms, t);
        if (o->version_id[0])
            printf("%s %10llu %s %s%s%s\n", t, (unsigned long long)o->size, name, o->version_id,
                   o->is_latest ? " latest" : "", o->is_delete_marker ? " delete-marker" : "");
        else
            printf("%s %10llu %s\n", t, (unsigned long long)o->size, name);
    }
    c->count += !o->is_prefix;
    c->bytes += o->size;
    return true;
}

static bool ls_upload(void *ud, const pqf_upload_info *u)
{
    ls_ctx *c = ud;
    char t[32];
    pqf_cli_time(u->initiated_ms, t);
    if (c->a->json) {
        printf("{\"key\":");
        pqf_cli_json_str(stdout, u->key);
        printf(",\"upload_id\":");
        pqf_cli_json_str(stdout, u->upload_id);
        printf(",\"initiated_ms\":%lld}\n", (long long)u->initiated_ms);
    } else {
        printf("%s %s %s\n", t, u->upload_id, u->key);
    }
    c->count++;
    return true;
}

int pqf_cmd_ls(int argc, char **argv)
{
    pqf_cli_store_args a = {0};
    const char *uri = NULL;
    bool versions = false, uploads = false, summarize = false;
    for (int i = 1; i < argc; i++) {
        int r = pqf_cli_store_arg("ls", argc, argv, &i, &a);
        if (r < 0)
            return PQF_EXIT_USAGE;
        if (r)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: pqfeed ls [--recursive] [--versions] [--uploads] [--summarize] "
                   "[--json] URI\n\nLists keys under s3://bucket/prefix or a local directory: "
                   "common prefixes (PRE) one level deep, or every key with --recursive.\n"
                   "--versions lists object versions and delete markers; --uploads unfinished "
                   "multipart uploads.\n\n");
            pqf_cli_store_help(stdout);
            return 0;
        } else if (strcmp(argv[i], "--versions") == 0) {
            versions = true;
        } else if (strcmp(argv[i], "--uploads") == 0) {
            uploads = true;
        } else if (strcmp(argv[i], "--summarize") == 0) {
            summarize = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return pqf_cli_usage("ls", "unknown option %s", argv[i]);
        } else if (!uri) {
            uri = argv[i];
        } else {
            return pqf_cli_usage("ls", "one URI only");
        }
    }
    if (!uri)
        return pqf_cli_usage("ls", "which URI?");
    pqf_error err = {0};
    pqf_store *st = NULL;
    char *key = NULL;
    int rc = 0;
    if (pqf_cli_target(uri, &a, &st, &key, &err) != PQF_OK) {
        rc = pqf_cli_fail(&err);
        goto done;
    }
    ls_ctx c = {.a = &a};
    if (!a.recursive) {
        const char *sl = strrchr(key, '/');
        c.strip = sl ? (size_t)(sl - key) + 1 : 0;
    }
    pqf_err e;
    if (uploads)
        e = pqf_store_list_uploads(st, key, ls_upload, &c, &err);
    else if (versions)
        e = pqf_store_list_versions(st, key, ls_print, &c, &err);
    else
        e = pqf_store_list(st, key, &(pqf_list_options){.delimiter = a.recursive ? NULL : "/"},
                           ls_print, &c, &err);
    if (e != PQF_OK) {
        rc = pqf_cli_fail(&err);
        goto done;
    }
    if (summarize && !a.json)
        printf("\nTotal Objects: %llu\n   Total Size: %llu\n", c.count, c.bytes);
done:
    free(key);
    pqf_store_free(st);
    return rc;
}
