/* Export: source records -> Parquet data files -> a published commit. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/hash.h"
#include "feed/hashstream.h"
#include "pqfeed/export.h"
#include "pqfeed/pqfeed.h"

#define SCHEMA_READ_LIMIT (16u << 20)

void pqf_export_spec_init(pqf_export_spec *sp)
{
    memset(sp, 0, sizeof *sp);
    pqf_source_opts_init(&sp->source);
    pqf_writer_opts_init(&sp->writer);
    sp->kind = PQF_COMMIT_SNAPSHOT;
    sp->target_file_bytes = 128ull << 20;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- schema registry -------------------------------------------------------------- */

static void schema_key(const char *table, int version, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/_schema/%06d.json", table, version);
}

typedef struct {
    size_t prefix_len;
    int max;
} ver_scan;

static bool on_schema_key(void *ud, const pqf_object_info *info)
{
    ver_scan *v = ud;
    const char *name = info->key + v->prefix_len;
    if (info->is_prefix || strlen(info->key) < v->prefix_len || strlen(name) != 11 ||
        strcmp(name + 6, ".json") != 0)
        return true;
    int x = 0;
    for (int i = 0; i < 6; i++) {
        if (name[i] < '0' || name[i] > '9')
            return true;
        x = x * 10 + (name[i] - '0');
    }
    if (x > v->max)
        v->max = x;
    return true;
}

pqf_err pqf_feed_schema_get(pqf_feed *f, const char *table, int version, pqf_schema **out,
                            pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char key[PQF_TABLE_NAME_MAX + 64];
    uint8_t *data = NULL;
    size_t len = 0;
    schema_key(table, version, key, sizeof key);
    PQF_TRY(pqf_store_get_bytes(pqf_feed_store(f), key, NULL, SCHEMA_READ_LIMIT, &data, &len, err));
    PQF_TRY(pqf_schema_from_json((const char *)data, len, key, out, err));
done:
    free(data);
    return rc;
}

pqf_err pqf_feed_schema_latest(pqf_feed *f, const char *table, int *version, pqf_schema **out,
                               pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char prefix[PQF_TABLE_NAME_MAX + 16];
    snprintf(prefix, sizeof prefix, "%s/_schema/", table);
    ver_scan v = {strlen(prefix), 0};
    pqf_list_options lo = {.delimiter = "/"};
    if (out)
        *out = NULL;
    PQF_TRY(pqf_store_list(pqf_feed_store(f), prefix, &lo, on_schema_key, &v, err));
    *version = v.max;
    if (out && v.max > 0)
        PQF_TRY(pqf_feed_schema_get(f, table, v.max, out, err));
done:
    return rc;
}

/* Widening order of integer logical widths on the same signedness. */
static int int_width(const pqf_node_info *n)
{
    if (n->logical.kind == PQF_LT_INT)
        return n->logical.bit_width;
    if (n->logical.kind != PQF_LT_NONE)
        return -1;
    if (n->physical == PQF_INT32)
        return 32;
    if (n->physical == PQF_INT64)
        return 64;
    return -1;
}

static bool widens(const pqf_node_info *a, const pqf_node_info *b)
{
    int wa = int_width(a), wb = int_width(b);
    bool sa = a->logical.kind != PQF_LT_INT || a->logical.is_signed;
    bool sb = b->logical.kind != PQF_LT_INT || b->logical.is_signed;
    if (wa > 0 && wb > 0)
        return sa == sb && wb >= wa;
    if (a->physical == PQF_FLOAT && b->physical == PQF_DOUBLE && a->logical.kind == PQF_LT_NONE &&
        b->logical.kind == PQF_LT_NONE)
        return true;
    if (a->logical.kind == PQF_LT_DECIMAL && b->logical.kind == PQF_LT_DECIMAL)
        return a->logical.scale == b->logical.scale && b->logical.precision >= a->logical.precision;
    return false;
}

static bool same_type(const pqf_node_info *a, const pqf_node_info *b)
{
    if (a->is_group != b->is_group)
        return false;
    if (a->is_group)
        return a->logical.kind == b->logical.kind;
    return a->physical == b->physical && a->type_length == b->type_length &&
           memcmp(&a->logical, &b->logical, sizeof a->logical) == 0;
}

static pqf_err compat_node(const pqf_schema *old, int on, const pqf_schema *next, int nn,
                           const char *path, pqf_error *err)
{
    pqf_node_info oi, ni;
    pqf_schema_node(old, on, &oi);
    pqf_schema_node(next, nn, &ni);
    char sub[1024];
    if (on != 0) {
        if (!same_type(&oi, &ni) && (oi.is_group || ni.is_group || !widens(&oi, &ni)))
            return pqf_error_set(err, PQF_ERR_SCHEMA, "column '%s' changed type from %s%s%s to %s%s%s", path,
                                 oi.is_group ? "group" : pqf_physical_name(oi.physical),
                                 oi.logical.kind ? " " : "", oi.logical.kind ? pqf_logical_name(oi.logical.kind) : "",
                                 ni.is_group ? "group" : pqf_physical_name(ni.physical),
                                 ni.logical.kind ? " " : "", ni.logical.kind ? pqf_logical_name(ni.logical.kind) : "");
        if (oi.repetition != ni.repetition &&
            !(oi.repetition == PQF_REQUIRED && ni.repetition == PQF_OPTIONAL))
            return pqf_error_set(err, PQF_ERR_SCHEMA,
                                 "column '%s' changed from %s to %s", path,
                                 oi.repetition == PQF_OPTIONAL ? "nullable" : oi.repetition == PQF_REQUIRED ? "required" : "repeated",
                                 ni.repetition == PQF_OPTIONAL ? "nullable" : ni.repetition == PQF_REQUIRED ? "required" : "repeated");
    }
    if (!oi.is_group)
        return PQF_OK;
    for (int i = 0; i < oi.nchildren; i++) {
        int oc = pqf_schema_child(old, on, i);
        pqf_node_info ci;
        pqf_schema_node(old, oc, &ci);
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", ci.name);
        int nc = pqf_schema_find_child(next, nn, ci.name);
        if (nc < 0)
            return pqf_error_set(err, PQF_ERR_SCHEMA, "column '%s' was dropped", sub);
        pqf_err rc = compat_node(old, oc, next, nc, sub, err);
        if (rc != PQF_OK)
            return rc;
    }
    for (int i = 0; i < ni.nchildren; i++) {
        int nc = pqf_schema_child(next, nn, i);
        pqf_node_info ci;
        pqf_schema_node(next, nc, &ci);
        if (pqf_schema_find_child(old, on, ci.name) >= 0)
            continue;
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", ci.name);
        if (ci.repetition == PQF_REQUIRED)
            return pqf_error_set(err, PQF_ERR_SCHEMA,
                                 "new column '%s' is required; a new column must be nullable", sub);
    }
    return PQF_OK;
}

pqf_err pqf_schema_check_compatible(const pqf_schema *old, const pqf_schema *next,
                                    pqf_error *err)
{
    return compat_node(old, 0, next, 0, "", err);
}

/* Register sp->schema: same as the latest -> that version; else a new one. */
static pqf_err register_schema(pqf_feed *f, const pqf_export_spec *sp, int *version,
                               bool *changed, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_schema *latest = NULL;
    char *want = NULL, *have = NULL;
    size_t want_len = 0, have_len = 0;
    char key[PQF_TABLE_NAME_MAX + 64];
    int v = 0;
    *changed = false;
    PQF_TRY(pqf_schema_to_json(sp->schema, &want, &want_len, err));
    PQF_TRY(pqf_feed_schema_latest(f, sp->table, &v, &latest, err));
    if (latest) {
        PQF_TRY(pqf_schema_to_json(latest, &have, &have_len, err));
        if (have_len == want_len && memcmp(have, want, want_len) == 0) {
            *version = v;
            goto done;
        }
        pqf_error e2 = {0};
        if (pqf_schema_check_compatible(latest, sp->schema, &e2) != PQF_OK) {
            if (!sp->allow_incompatible)
                PQF_FAIL(err, PQF_ERR_SCHEMA,
                         "table %s: incompatible schema change: %s (schema version %d is the "
                         "feed's; allow it explicitly to register a new version anyway)",
                         sp->table, e2.msg, v);
        }
    }
    schema_key(sp->table, v + 1, key, sizeof key);
    pqf_put_options po = {.if_absent = true, .content_type = "application/json"};
    rc = pqf_store_put_bytes(pqf_feed_store(f), key, want, want_len, &po, err);
    if (rc == PQF_ERR_EXISTS) {
        /* a rerun, or a racing producer: identical bytes are fine */
        uint8_t *cur = NULL;
        size_t cur_len = 0;
        pqf_error e2 = {0};
        bool same = pqf_store_get_bytes(pqf_feed_store(f), key, NULL, SCHEMA_READ_LIMIT, &cur,
                                        &cur_len, &e2) == PQF_OK &&
                    cur_len == want_len && memcmp(cur, want, want_len) == 0;
        free(cur);
        if (!same)
            PQF_FAIL(err, PQF_ERR_CONFLICT, "table %s: schema version %d was registered by "
                     "another producer", sp->table, v + 1);
        rc = PQF_OK;
        pqf_error_clear(err);
    }
    if (rc != PQF_OK)
        goto done;
    *version = v + 1;
    *changed = true;
done:
    pqf_schema_free(latest);
    free(want);
    free(have);
    return rc;
}

/* ---- data files -------------------------------------------------------------------- */

typedef struct {
    pqf_feed *f;
    const pqf_export_spec *sp;
    pqf_commit *c;
    int64_t as_of;
    pqf_ostream *out; /* hash stream over the store's put stream */
    pqf__hashsum sum;
    pqf_writer *w;
    unsigned part;
    char key[PQF_TABLE_NAME_MAX + 128];
} exp_ctx;

static pqf_err file_open(exp_ctx *x, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_ostream *put = NULL;
    pqf_writer_opts wo = x->sp->writer;
    if (wo.row_group_bytes == 0 || wo.row_group_bytes > x->sp->target_file_bytes)
        wo.row_group_bytes = x->sp->target_file_bytes;
    pqf_feed_data_key(x->sp->table, x->c->seq, x->part, x->as_of, x->key, sizeof x->key);
    pqf_put_options po = {.content_type = "application/vnd.apache.parquet"};
    PQF_TRY(pqf_store_put(pqf_feed_store(x->f), x->key, &po, &put, err));
    x->out = pqf__hashstream(put, &x->sum);
    if (!x->out)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(pqf_writer_create(x->sp->schema, x->out, &wo, &x->w, err));
done:
    return rc;
}

static pqf_err file_close(exp_ctx *x, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_writer_stats st;
    if (pqf_writer_close(x->w) != PQF_OK) {
        *err = *pqf_writer_error(x->w);
        PQF_FAIL(err, err->code, "%s: %s", x->key, pqf_writer_error(x->w)->msg);
    }
    pqf_writer_get_stats(x->w, &st);
    if (pqf_ostream_commit(x->out) != PQF_OK)
        PQF_FAIL(err, pqf_ostream_error(x->out)->code, "%s: %s", x->key,
                 pqf_ostream_error(x->out)->msg);
    PQF_TRY(pqf_commit_add_file(x->c, x->key, x->sum.bytes, st.rows, x->sum.sha256,
                                x->sum.crc32c, err));
    x->part++;
done:
    pqf_writer_free(x->w);
    x->w = NULL;
    pqf_ostream_free(x->out);
    x->out = NULL;
    return rc;
}

static pqf_err export_rows(exp_ctx *x, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_source *src = NULL;
    for (size_t i = 0; i < x->sp->ninputs; i++) {
        PQF_TRY(pqf_source_open(x->sp->inputs[i], x->sp->schema, &x->sp->source, &src, err));
        for (uint64_t n = 0;; n++) {
            bool eof = false;
            if (!x->w)
                PQF_TRY(file_open(x, err));
            if (pqf_source_next(src, x->w, &eof) != PQF_OK) {
                *err = *pqf_source_error(src);
                rc = err->code;
                goto done;
            }
            if (eof)
                break;
            if ((n & 255) == 255) {
                pqf_writer_stats st;
                pqf_writer_get_stats(x->w, &st);
                if (st.bytes >= x->sp->target_file_bytes)
                    PQF_TRY(file_close(x, err));
            }
        }
        pqf_source_free(src);
        src = NULL;
    }
    if (x->w) {
        pqf_writer_stats st;
        pqf_writer_get_stats(x->w, &st);
        if (st.rows > 0 || x->c->nfiles == 0)
            PQF_TRY(file_close(x, err));
    }
done:
    pqf_source_free(src);
    return rc;
}

static bool same_files(const pqf_commit *a, const pqf_commit *b)
{
    if (a->nfiles != b->nfiles || a->kind != b->kind || a->schema_version != b->schema_version)
        return false;
    for (size_t i = 0; i < a->nfiles; i++)
        if (strcmp(a->files[i].sha256, b->files[i].sha256) != 0 ||
            a->files[i].rows != b->files[i].rows)
            return false;
    return true;
}

pqf_err pqf_export(pqf_feed *f, const pqf_export_spec *sp, pqf_export_result *res,
                   pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_commit *head = NULL;
    exp_ctx x;
    memset(&x, 0, sizeof x);
    memset(res, 0, sizeof *res);
    if (!pqf_table_name_ok(sp->table))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "'%s' is not a valid table name (letters, digits, _ "
                 "and -, starting with a letter)", sp->table ? sp->table : "");
    if (!sp->schema)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "table %s: no schema", sp->table);
    if (sp->kind != PQF_COMMIT_SNAPSHOT)
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "table %s: only snapshot exports are implemented",
                 sp->table);
    uint64_t seq = 0;
    PQF_TRY(pqf_feed_head(f, sp->table, &seq, err));
    if (seq > 0)
        PQF_TRY(pqf_feed_read_commit(f, sp->table, seq, &head, err));
    PQF_TRY(register_schema(f, sp, &res->schema_version, &res->schema_changed, err));
    x.f = f;
    x.sp = sp;
    x.as_of = sp->as_of_ms ? sp->as_of_ms : now_ms();
    x.c = pqf_commit_new();
    if (!x.c)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    x.c->seq = seq + 1;
    x.c->kind = sp->kind;
    x.c->schema_version = res->schema_version;
    x.c->table = strdup(sp->table);
    char producer[64];
    snprintf(producer, sizeof producer, "pqfeed %s", pqf_version());
    x.c->producer = strdup(sp->producer ? sp->producer : producer);
    if (!x.c->table || !x.c->producer)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    if (head)
        memcpy(x.c->prev, head->hash, sizeof x.c->prev);
    PQF_TRY(export_rows(&x, err));
    if (head && same_files(head, x.c)) {
        /* the same snapshot again: nothing new (the files just written are
         * orphans with the next seq's names; gc removes them) */
        res->seq = seq;
        memcpy(res->hash, head->hash, sizeof res->hash);
        goto done;
    }
    x.c->created_ms = now_ms();
    PQF_TRY(pqf_feed_publish(f, x.c, err));
    char *json = NULL;
    size_t len = 0;
    PQF_TRY(pqf_commit_encode(x.c, &json, &len, err));
    uint8_t h[32];
    pqf__sha256(json, len, h);
    pqf__hex(h, 32, res->hash);
    free(json);
    res->committed = true;
    res->seq = x.c->seq;
    res->rows = x.c->rows;
    res->files = x.c->nfiles;
    res->bytes = x.c->bytes;
done:
    if (x.w)
        pqf_writer_free(x.w);
    pqf_ostream_free(x.out); /* aborts an unfinished file */
    pqf_commit_free(x.c);
    pqf_commit_free(head);
    return rc;
}
