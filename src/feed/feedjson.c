/* _feed.json: the feed's format version and table list, kept current with
 * conditional puts (put-if-absent to create, If-Match on the ETag to update),
 * so that concurrent exporters of different tables do not lose each other's
 * entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "pqfeed/feed.h"
#include "pqfeed/pqfeed.h"
#include "source/json.h"

#define FEED_JSON "_feed.json"
#define FEED_JSON_LIMIT (4u << 20)

static pqf_err encode(const pqf__json *tables, const char *add, pqf__buf *b)
{
    pqf_err rc = PQF_OK;
    /* names sorted, unique */
    const char *names[4096];
    size_t n = 0;
    for (const pqf__json *t = tables ? tables->child : NULL; t && n < 4095; t = t->next)
        if (t->type == PQF__JSTR)
            names[n++] = t->str;
    if (add)
        names[n++] = add;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *tmp = names[j];
            names[j] = names[j - 1];
            names[j - 1] = tmp;
        }
    PQF_TRY(pqf__buf_printf(b, "{\"format\":\"%s\",\"producer\":\"pqfeed %s\",\"tables\":[",
                            PQF_FEED_FORMAT, pqf_version()));
    for (size_t i = 0; i < n; i++) {
        if (i && strcmp(names[i], names[i - 1]) == 0)
            continue;
        if (i)
            PQF_TRY(pqf__buf_append_byte(b, ','));
        PQF_TRY(pqf__json_write_str(b, names[i], strlen(names[i])));
    }
    PQF_TRY(pqf__buf_printf(b, "]}\n"));
done:
    return rc;
}

pqf_err pqf_feed_register_table(pqf_feed *f, const char *table, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf b;
    pqf__json_doc doc;
    uint8_t *data = NULL;
    pqf__buf_init(&b, FEED_JSON_LIMIT);
    pqf__json_doc_init(&doc, NULL);
    for (int attempt = 0; attempt < 20; attempt++) {
        size_t len = 0;
        pqf_object_info info;
        memset(&info, 0, sizeof info);
        free(data);
        data = NULL;
        pqf__json_doc_reset(&doc);
        pqf__buf_reset(&b);
        pqf_error e2 = {0};
        pqf_err r = pqf_store_head(pqf_feed_store(f), FEED_JSON, NULL, &info, &e2);
        const pqf__json *tables = NULL;
        if (r == PQF_OK) {
            pqf_get_options go = {.if_match = info.etag};
            r = pqf_store_get_bytes(pqf_feed_store(f), FEED_JSON, &go, FEED_JSON_LIMIT, &data, &len,
                                    &e2);
            if (r == PQF_ERR_PRECONDITION || r == PQF_ERR_NOT_FOUND)
                continue; /* changed under us */
            if (r != PQF_OK) {
                *err = e2;
                rc = r;
                goto done;
            }
            pqf__json *root;
            if (pqf__json_parse(&doc, (const char *)data, len, &root) != PQF_OK ||
                root->type != PQF__JOBJ)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: not a JSON object: %s", FEED_JSON, doc.err.msg);
            const pqf__json *fmt = pqf__json_get(root, "format");
            if (!fmt || fmt->type != PQF__JSTR || strcmp(fmt->str, PQF_FEED_FORMAT) != 0)
                PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "%s: the feed's format is not %s", FEED_JSON,
                         PQF_FEED_FORMAT);
            tables = pqf__json_get(root, "tables");
            if (!tables || tables->type != PQF__JARR)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: 'tables' is not an array", FEED_JSON);
            for (const pqf__json *t = tables->child; t; t = t->next)
                if (t->type == PQF__JSTR && strcmp(t->str, table) == 0)
                    goto done; /* already listed */
        } else if (r != PQF_ERR_NOT_FOUND) {
            *err = e2;
            rc = r;
            goto done;
        }
        PQF_TRY(encode(tables, table, &b));
        pqf_put_options po = {.content_type = "application/json"};
        if (r == PQF_ERR_NOT_FOUND)
            po.if_absent = true;
        else
            po.if_match = info.etag;
        r = pqf_store_put_bytes(pqf_feed_store(f), FEED_JSON, b.data, b.len, &po, &e2);
        if (r == PQF_OK)
            goto done;
        /* lost to a concurrent writer (CONFLICT: AWS's ConditionalRequestConflict) */
        if (r != PQF_ERR_EXISTS && r != PQF_ERR_PRECONDITION && r != PQF_ERR_CONFLICT) {
            *err = e2;
            rc = r;
            goto done;
        }
    }
    rc = pqf_error_set(err, PQF_ERR_CONFLICT, "%s: kept changing under concurrent updates",
                       FEED_JSON);
done:
    if (rc != PQF_OK && err->code == PQF_OK)
        pqf_error_set(err, rc, "%s: %s", FEED_JSON, pqf_strerror(rc));
    free(data);
    pqf__json_doc_free(&doc);
    pqf__buf_free(&b);
    return rc;
}
