/* pqfeed rm: delete objects (--recursive: every key under a prefix, in
 * batches), a version (--version-id), or unfinished uploads (--uploads). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store_cli.h"

typedef struct rm_ctx {
    char **keys;
    size_t n, cap;
    bool oom;
} rm_ctx;

static bool collect(void *ud, const pqf_object_info *o)
{
    rm_ctx *c = ud;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 1024;
        char **nk = realloc(c->keys, nc * sizeof *nk);
        if (!nk)
            return !(c->oom = true);
        c->keys = nk;
        c->cap = nc;
    }
    c->keys[c->n] = strdup(o->key);
    if (!c->keys[c->n])
        return !(c->oom = true);
    c->n++;
    return true;
}

typedef struct up_ctx {
    pqf_store *st;
    const pqf_cli_store_args *a;
    pqf_error *err;
    size_t n;
    pqf_err rc;
} up_ctx;

static bool abort_one(void *ud, const pqf_upload_info *u)
{
    up_ctx *c = ud;
    c->rc = pqf_store_abort_upload(c->st, u->key, u->upload_id, c->err);
    if (c->rc == PQF_OK && !c->a->quiet)
        printf("abort: %s %s\n", u->key, u->upload_id);
    c->n++;
    return c->rc == PQF_OK;
}

int pqf_cmd_rm(int argc, char **argv)
{
    pqf_cli_store_args a = {0};
    const char *uri = NULL;
    bool uploads = false;
    for (int i = 1; i < argc; i++) {
        int r = pqf_cli_store_arg("rm", argc, argv, &i, &a);
        if (r < 0)
            return PQF_EXIT_USAGE;
        if (r)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: pqfeed rm [--recursive] [--version-id V] [--uploads] [--quiet] URI\n\n");
            pqf_cli_store_help(stdout);
            return 0;
        } else if (strcmp(argv[i], "--uploads") == 0) {
            uploads = true;
        } else if (argv[i][0] == '-') {
            return pqf_cli_usage("rm", "unknown option %s", argv[i]);
        } else if (!uri) {
            uri = argv[i];
        } else {
            return pqf_cli_usage("rm", "one URI only");
        }
    }
    if (!uri)
        return pqf_cli_usage("rm", "which object?");
    pqf_error err = {0};
    pqf_store *st = NULL;
    char *key = NULL;
    int rc = 0;
    rm_ctx c = {0};
    if (pqf_cli_target(uri, &a, &st, &key, &err) != PQF_OK) {
        rc = pqf_cli_fail(&err);
        goto done;
    }
    if (uploads) {
        up_ctx u = {st, &a, &err, 0, PQF_OK};
        if (pqf_store_list_uploads(st, key, abort_one, &u, &err) != PQF_OK || u.rc != PQF_OK)
            rc = pqf_cli_fail(&err);
        goto done;
    }
    if (!a.recursive) {
        if (pqf_store_delete(st, key, a.version_id, &err) != PQF_OK)
            rc = pqf_cli_fail(&err);
        else if (!a.quiet)
            printf("delete: %s\n", uri);
        goto done;
    }
    if (pqf_store_list(st, key, NULL, collect, &c, &err) != PQF_OK) {
        rc = pqf_cli_fail(&err);
        goto done;
    }
    if (c.oom) {
        pqf_error_set(&err, PQF_ERR_NOMEM, "out of memory");
        rc = pqf_cli_fail(&err);
        goto done;
    }
    size_t deleted = 0;
    if (pqf_store_delete_many(st, (const char *const *)c.keys, c.n, &deleted, &err) != PQF_OK)
        rc = pqf_cli_fail(&err);
    if (!a.quiet)
        for (size_t i = 0; i < deleted && i < c.n; i++)
            printf("delete: %s\n", c.keys[i]);
done:
    for (size_t i = 0; i < c.n; i++)
        free(c.keys[i]);
    free(c.keys);
    free(key);
    pqf_store_free(st);
    return rc;
}
