/* Export: source records -> Parquet data files -> a published commit. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/base.h"
#include "base/timefmt.h"
#include "base/buf.h"
#include "base/blake3.h"
#include "base/crash.h"
#include "base/hash.h"
#include "source/json.h"
#include "base/strset.h"
#include "feed/contract_impl.h"
#include "feed/feed_impl.h"
#include "feed/hashstream.h"
#include "pqfeed/export.h"
#include "pqfeed/mapping.h"
#include "pqfeed/pqfeed.h"
#include "pqfeed/reader.h"
#include "source/source_int.h"
#include "source/value.h"

#define SCHEMA_READ_LIMIT (16u << 20)

void pqf_export_spec_init(pqf_export_spec *sp)
{
    memset(sp, 0, sizeof *sp);
    pqf_source_opts_init(&sp->source);
    pqf_dbsource_opts_init(&sp->db_opts);
    pqf_writer_opts_init(&sp->writer);
    sp->kind = PQF_COMMIT_SNAPSHOT;
    sp->target_file_bytes = 128ull << 20;
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
        if (!same_type(&oi, &ni) && (oi.is_group || ni.is_group || !pqf__schema_widens(&oi, &ni)))
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

/* The registered schema file carries the table's key as a top-level "key"
 * array (schema readers ignore unknown top-level keys). */
static pqf_err with_key(char **json, size_t *len, const char *key, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf b;
    pqf__buf_init(&b, SCHEMA_READ_LIMIT);
    const char *p = *json;
    if (*len == 0 || p[0] != '{')
        PQF_FAIL(err, PQF_ERR_INTERNAL, "schema JSON does not start with an object");
    static const char head[] = "{\n  \"key\": [";
    PQF_TRY(pqf__buf_append(&b, head, strlen(head)));
    for (const char *k = key; *k;) {
        size_t n = strcspn(k, ",");
        if (k != key)
            PQF_TRY(pqf__buf_append(&b, ", ", 2));
        PQF_TRY(pqf__json_write_str(&b, k, n));
        k += n;
        if (*k == ',')
            k++;
    }
    PQF_TRY(pqf__buf_append(&b, "],", 2));
    PQF_TRY(pqf__buf_append(&b, p + 1, *len - 1));
    PQF_TRY(pqf__buf_cstr(&b));
    free(*json);
    *json = (char *)pqf__buf_steal(&b, len);
done:
    if (rc != PQF_OK && err->code == PQF_OK)
        pqf_error_set(err, rc, "schema key: %s", pqf_strerror(rc));
    pqf__buf_free(&b);
    return rc;
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
    if (sp->key && *sp->key)
        PQF_TRY(with_key(&want, &want_len, sp->key, err));
    PQF_TRY(pqf_feed_schema_latest(f, sp->table, &v, &latest, err));
    if (latest) {
        PQF_TRY(pqf_schema_to_json(latest, &have, &have_len, err));
        if (sp->key && *sp->key)
            PQF_TRY(with_key(&have, &have_len, sp->key, err));
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
    const pqf_schema *file_schema; /* sp->schema, plus _op/_seq/_ts for changes */
    pqf_change_opts co;
    pqf__conv wm_conv;
    char *wm_min, *wm_max;         /* changes: range written so far */
    uint64_t skipped, duplicates;
    pqf__strset seen;              /* key 0x1f canonical watermark, of exported records */
    bool seen_oom;
    char after_buf[64];
    pqf_commit *c;
    char digest[65];  /* input + settings: names the files, and sits in the commit */
    /* The digest taken in the parsing pass (NDJSON inputs: the sources' reads
     * feed it, see input_digest): final once every byte went in; a data file
     * opened before that (its first row group) finishes it by reading the rest. */
    pqf__blake3 dh;
    FILE *dump;        /* PQF_EXPORT_DIGEST_DUMP: the digest's input, for tests */
    bool digest_final; /* digest[] is known */
    bool unchanged;    /* the digest equals the head snapshot's: nothing to write */
    const pqf_commit *head;
    int schema_version;
    size_t din;        /* input whose bytes are going into dh */
    bool din_open;     /* its header went in, and dgot of its bytes */
    uint64_t dsize, dgot;
    int64_t as_of;
    pqf_ostream *out; /* hash stream over the store's put stream */
    pqf__hashsum sum;
    pqf_writer *w;
    unsigned part;
    char key[PQF_TABLE_NAME_MAX + 128];
} exp_ctx;

/* Data files are put-if-absent: a rerun rewrites a name only with the same
 * bytes (checked in file_close), and a racing producer cannot replace a file
 * that the winner's commit names. */
static pqf_err digest_finish(exp_ctx *x, pqf_error *err);

/* The file's name holds the input digest: a file opened before the sources
 * read every input finishes the digest first. */
static pqf_err open_put(void *ctx, pqf_ostream **inner, pqf_error *err)
{
    exp_ctx *x = ctx;
    pqf_put_options po = {.if_absent = true, .content_type = "application/vnd.apache.parquet"};
    if (!x->digest_final) {
        pqf_err rc = digest_finish(x, err);
        if (rc != PQF_OK)
            return rc;
        if (x->unchanged) /* nothing is written: pqf_export sees the flag */
            return pqf_error_set(err, PQF_ERR_EXISTS, "table %s: the snapshot is unchanged",
                                 x->sp->table);
    }
    pqf_feed_data_key(x->sp->table, x->c->seq, x->part, x->as_of, x->digest, x->key,
                      sizeof x->key);
    return pqf_store_put(pqf_feed_store(x->f), x->key, &po, inner, err);
}

static pqf_err file_open(exp_ctx *x, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_writer_opts wo = x->sp->writer;
    if (wo.row_group_bytes == 0 || wo.row_group_bytes > x->sp->target_file_bytes)
        wo.row_group_bytes = x->sp->target_file_bytes;
    /* the name, until open_put knows it (the digest is in it) */
    snprintf(x->key, sizeof x->key, "table %s, data file %u", x->sp->table, x->part);
    x->out = pqf__hashstream(open_put, x, &x->sum);
    if (!x->out)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(pqf_writer_create(x->file_schema, x->out, &wo, &x->w, err));
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
    if (pqf_ostream_commit(x->out) != PQF_OK) {
        pqf_err code = pqf_ostream_error(x->out)->code;
        if (code != PQF_ERR_EXISTS)
            PQF_FAIL(err, code, "%s: %s", x->key, pqf_ostream_error(x->out)->msg);
        /* the name exists: a rerun (same bytes: fine) or another producer */
        pqf_object_info info;
        char have[65] = "";
        memset(&info, 0, sizeof info);
        PQF_TRY(pqf_store_head(pqf_feed_store(x->f), x->key, NULL, &info, err));
        if (info.size == x->sum.bytes)
            PQF_TRY(pqf__hash_object(pqf_feed_store(x->f), x->key, info.size, have, err));
        if (strcmp(have, x->sum.sha256) != 0)
            PQF_FAIL(err, PQF_ERR_CONFLICT,
                     "table %s: data file %s already exists with other bytes: another producer "
                     "is exporting commit %" PRIu64 ", or an earlier run with other input left it "
                     "(if no other producer runs, 'pqfeed gc --grace 0s' removes it)",
                     x->sp->table, x->key, x->c->seq);
    }
    PQF_TRY(pqf_commit_add_file(x->c, x->key, x->sum.bytes, st.rows, x->sum.sha256,
                                x->sum.crc32c, err));
    x->part++;
    pqf__crashpoint("export.file-written");
done:
    pqf_writer_free(x->w);
    x->w = NULL;
    pqf_ostream_free(x->out);
    x->out = NULL;
    return rc;
}

static int wm_cmp(exp_ctx *x, const char *a, const char *b)
{
    pqf__val va, vb; /* their bytes point into a, b or their own scratch */
    if (pqf__value_parse(&x->wm_conv, a, strlen(a), &va) ||
        pqf__value_parse(&x->wm_conv, b, strlen(b), &vb))
        return 0;
    return pqf__val_cmp(&x->wm_conv, &va, &vb);
}

static pqf_err widen_range(exp_ctx *x, const char *lo, const char *hi, pqf_error *err)
{
    if (!x->wm_min || wm_cmp(x, lo, x->wm_min) < 0) {
        free(x->wm_min);
        x->wm_min = strdup(lo);
    }
    if (!x->wm_max || wm_cmp(x, hi, x->wm_max) > 0) {
        free(x->wm_max);
        x->wm_max = strdup(hi);
    }
    if (!x->wm_min || !x->wm_max)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    return PQF_OK;
}

/* "key 0x1f watermark", the watermark in a canonical spelling (integers and
 * timestamps by value), so that the pages' text and the reader's rendering
 * of the same value agree. */
static pqf_err seen_key(exp_ctx *x, const char *key, size_t kn, const char *wm, size_t wn,
                        char *out, size_t cap, size_t *len)
{
    char canon[40];
    const char *w = wm;
    pqf__val v;
    if ((x->wm_conv.phys == PQF_INT64 || x->wm_conv.phys == PQF_INT32) &&
        !pqf__value_parse(&x->wm_conv, wm, wn, &v)) {
        long long iv = x->wm_conv.phys == PQF_INT64 ? (long long)v.u.i64 : (long long)v.u.i32;
        wn = (size_t)snprintf(canon, sizeof canon, "%lld", iv);
        w = canon;
    }
    if (kn + 1 + wn > cap)
        return PQF_ERR_LIMIT;
    memcpy(out, key, kn);
    out[kn] = 0x1f;
    memcpy(out + kn + 1, w, wn);
    *len = kn + 1 + wn;
    return PQF_OK;
}

static bool on_seen(void *ud, const char *key, size_t kn, const char *wm, size_t wn)
{
    exp_ctx *x = ud;
    char buf[4096];
    size_t len;
    bool added = false;
    if (seen_key(x, key, kn, wm, wn, buf, sizeof buf, &len) != PQF_OK ||
        pqf__strset_add(&x->seen, buf, len, &added) != PQF_OK) {
        x->seen_oom = true; /* reported after the source stops */
        return false;
    }
    return !added;
}

/* Timestamp text for a column value (as the column's unit), UTC. */
static void ts_text(int64_t v, pqf_time_unit unit, char *out, size_t cap)
{
    int64_t per = unit == PQF_MILLIS ? 1000 : unit == PQF_MICROS ? 1000000 : 1000000000;
    int64_t secs = v / per, frac = v % per;
    if (frac < 0) {
        frac += per;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%0*lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             unit == PQF_MILLIS ? 3 : unit == PQF_MICROS ? 6 : 9, (long long)frac);
}

/* Remember the (key, watermark) of every record of the commits that reach
 * into [after, head's watermark], so that the overlap re-reads drop them. */
static pqf_err load_seen(exp_ctx *x, uint64_t head_seq, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_commit *c = NULL;
    pqf_istream *in = NULL;
    pqf_reader *r = NULL;
    pqf_row_reader *rr = NULL;
    pqf__json_doc doc;
    const char *cols[9];
    size_t ncols = 0;
    char names[9][PQF_TABLE_NAME_MAX * 2];
    pqf__buf key;
    pqf__buf_init(&key, 1u << 20);
    pqf__json_doc_init(&doc, NULL);
    for (const char *k = x->sp->key; k && *k && ncols < 8;) {
        size_t n = strcspn(k, ",");
        snprintf(names[ncols], sizeof names[ncols], "%.*s", (int)n, k);
        cols[ncols] = names[ncols];
        ncols++;
        k += n + (k[n] == ',');
    }
    cols[ncols++] = x->sp->watermark;
    for (uint64_t seq = head_seq; seq >= 1; seq--) {
        pqf_commit_free(c);
        c = NULL;
        PQF_TRY(pqf_feed_read_commit(x->f, x->sp->table, seq, &c, err));
        /* a snapshot with a watermark range (a database's) holds the rows
         * before the changes: its records in the window count too */
        if (!c->wm_to || !c->wm_column || strcmp(c->wm_column, x->sp->watermark) != 0 ||
            wm_cmp(x, c->wm_to, x->co.after) <= 0)
            break;
        for (size_t i = 0; i < c->nfiles; i++) {
            PQF_TRY(pqf_store_open_read(pqf_feed_store(x->f), c->files[i].key, NULL, &in, NULL, err));
            PQF_TRY(pqf_reader_open(in, NULL, &r, err));
            pqf_row_opts ro = {.columns = cols, .ncolumns = ncols, .format = PQF_ROW_JSON};
            PQF_TRY(pqf_row_reader_open(r, &ro, &rr, err));
            for (;;) {
                const char *line;
                size_t len;
                if (pqf_row_reader_next(rr, &line, &len) != PQF_OK) {
                    *err = *pqf_row_reader_error(rr);
                    rc = err->code;
                    goto done;
                }
                if (!line)
                    break;
                pqf__json *row;
                pqf__json_doc_reset(&doc);
                if (pqf__json_parse(&doc, line, len, &row) != PQF_OK)
                    PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: cannot read back a row", c->files[i].key);
                pqf__buf_reset(&key);
                const char *wm = NULL;
                size_t wn = 0;
                for (size_t k = 0; k < ncols; k++) {
                    const pqf__json *v = pqf__json_get(row, cols[k]);
                    const char *s = v && (v->type == PQF__JSTR || v->type == PQF__JNUM) ? v->str : "";
                    size_t n = v && (v->type == PQF__JSTR || v->type == PQF__JNUM) ? v->len : 0;
                    if (k + 1 == ncols) {
                        wm = s;
                        wn = n;
                    } else {
                        if (k)
                            PQF_TRY(pqf__buf_append_byte(&key, 0x1f));
                        PQF_TRY(pqf__buf_append(&key, s, n));
                    }
                }
                on_seen(x, key.data ? (const char *)key.data : "", key.len, wm, wn);
            }
            pqf_row_reader_free(rr);
            rr = NULL;
            pqf_reader_free(r);
            r = NULL;
            pqf_istream_free(in);
            in = NULL;
        }
        if (c->kind != PQF_COMMIT_CHANGES)
            break;
    }
done:
    pqf_row_reader_free(rr);
    pqf_reader_free(r);
    pqf_istream_free(in);
    pqf_commit_free(c);
    pqf__json_doc_free(&doc);
    pqf__buf_free(&key);
    return rc;
}

/* A copy of s through the builder, with the change columns appended. */
static pqf_err copy_node(const pqf_schema *s, int node, pqf_schema *d, int dparent,
                         pqf_error *err)
{
    pqf_node_info ni;
    pqf_schema_node(s, node, &ni);
    int id;
    if (!ni.is_group) {
        id = pqf_schema_add_column(d, dparent, ni.name, ni.repetition, ni.physical, ni.type_length,
                                   &ni.logical, ni.field_id, err);
        return id < 0 ? err->code : PQF_OK;
    }
    if (ni.logical.kind == PQF_LT_LIST) {
        id = pqf_schema_add_list(d, dparent, ni.name, ni.repetition, ni.field_id, err);
        if (id < 0)
            return err->code;
        return copy_node(s, pqf_schema_list_element(s, node), d, id, err);
    }
    id = pqf_schema_add_group(d, dparent, ni.name, ni.repetition,
                              ni.logical.kind ? &ni.logical : NULL, ni.field_id, err);
    if (id < 0)
        return err->code;
    for (int i = 0; i < ni.nchildren; i++) {
        pqf_err rc = copy_node(s, pqf_schema_child(s, node, i), d, id, err);
        if (rc != PQF_OK)
            return rc;
    }
    return PQF_OK;
}

static pqf_err change_schema(const pqf_schema *s, pqf_schema **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_schema *d = pqf_schema_create();
    pqf_node_info root;
    const pqf_logical str = {.kind = PQF_LT_STRING};
    const pqf_logical ts = {.kind = PQF_LT_TIMESTAMP, .unit = PQF_MICROS, .utc = true};
    if (!d)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    pqf_schema_node(s, 0, &root);
    for (int i = 0; i < root.nchildren; i++) {
        int c = pqf_schema_child(s, 0, i);
        pqf_node_info ci;
        pqf_schema_node(s, c, &ci);
        if (strcmp(ci.name, "_op") == 0 || strcmp(ci.name, "_seq") == 0 ||
            strcmp(ci.name, "_ts") == 0)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "column '%s' is reserved for change rows", ci.name);
        PQF_TRY(copy_node(s, c, d, 0, err));
    }
    if (pqf_schema_add_column(d, 0, "_op", PQF_REQUIRED, PQF_BYTE_ARRAY, 0, &str, -1, err) < 0 ||
        pqf_schema_add_column(d, 0, "_seq", PQF_REQUIRED, PQF_INT64, 0, NULL, -1, err) < 0 ||
        pqf_schema_add_column(d, 0, "_ts", PQF_OPTIONAL, PQF_INT64, 0, &ts, -1, err) < 0) {
        rc = err->code;
        goto done;
    }
    PQF_TRY(pqf_schema_finish(d, err));
    *out = d;
    d = NULL;
done:
    pqf_schema_free(d);
    return rc;
}

static pqf_err export_db(exp_ctx *x, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_dbsource *db = x->sp->db;
    bool changes = x->sp->kind == PQF_COMMIT_CHANGES;
    if (changes)
        PQF_TRY(pqf_dbsource_set_changes(db, x->file_schema, &x->co, err));
    for (;;) {
        bool eof = false;
        if (!x->w)
            PQF_TRY(file_open(x, err));
        if (pqf_dbsource_next(db, x->w, &eof) != PQF_OK) {
            *err = *pqf_dbsource_error(db);
            rc = err->code;
            goto done;
        }
        if (eof)
            break;
        pqf_writer_stats st;
        pqf_writer_get_stats(x->w, &st);
        if (st.bytes >= x->sp->target_file_bytes)
            PQF_TRY(file_close(x, err));
    }
    if (x->w) {
        pqf_writer_stats st;
        pqf_writer_get_stats(x->w, &st);
        /* an empty snapshot still gets one (empty) file; no new changes, none */
        if (st.rows > 0 || (x->c->nfiles == 0 && !changes))
            PQF_TRY(file_close(x, err));
    }
    const char *lo = NULL, *hi = NULL;
    pqf_dbsource_watermarks(db, &lo, &hi);
    if (changes) {
        pqf_dbsource_change_counts(db, &x->skipped, &x->duplicates);
        if (lo)
            PQF_TRY(widen_range(x, lo, hi, err));
    } else if (x->sp->watermark && lo && hi) {
        x->wm_min = strdup(lo);
        x->wm_max = strdup(hi);
        if (!x->wm_min || !x->wm_max)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
done:
    return rc;
}

/* The pushed-down lower bound of an overlap window: `wm` (a timestamp as the
 * head commit recorded it) less ms, spelt like wm (date/time separator,
 * fraction, zone as Z), so that a database comparing text compares alike. */
static pqf_err overlap_bound(const char *table, const char *wm, int64_t ms, char *out, size_t cap,
                             pqf_error *err)
{
    int64_t secs = 0;
    int32_t nanos = 0, off = 0;
    bool has_off = false;
    size_t n = strlen(wm);
    if (!pqf__parse_timestamp(wm, n, &secs, &nanos, &has_off, &off))
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "table %s: an overlap window needs a "
                             "timestamp watermark ('%s' is not one)", table, wm);
    int64_t us = (secs - (has_off ? off : 0)) * 1000000 + nanos / 1000 - ms * 1000;
    int64_t days = us / 86400000000LL, rem = us % 86400000000LL;
    if (rem < 0) {
        rem += 86400000000LL;
        days--;
    }
    int64_t y;
    unsigned mo, d;
    pqf__civil_from_days(days, &y, &mo, &d);
    int64_t s = rem / 1000000;
    char sep = n > 10 && wm[10] == ' ' ? ' ' : 'T';
    int len = snprintf(out, cap, "%04lld-%02u-%02u%c%02d:%02d:%02d", (long long)y, mo, d, sep,
                       (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
    if (strchr(wm, '.') && len > 0 && (size_t)len < cap)
        len += snprintf(out + len, cap - (size_t)len, ".%06d", (int)(rem % 1000000));
    if (has_off && len > 0 && (size_t)len < cap)
        snprintf(out + len, cap - (size_t)len, "Z");
    return PQF_OK;
}

/* Open the database source of sp (db_driver), with the watermark pushed down. */
static pqf_err open_db(const pqf_export_spec *sp, const pqf_commit *head, char *bound, size_t cap,
                       pqf_dbsource **out, pqf_error *err)
{
    pqf_dbsource_opts o = sp->db_opts;
    o.watermark_column = sp->watermark;
    o.watermark_after = NULL;
    if (sp->kind == PQF_COMMIT_CHANGES && head && head->wm_column && head->wm_to &&
        strcmp(head->wm_column, sp->watermark) == 0) {
        o.watermark_after = head->wm_to;
        if (sp->overlap_ms > 0) {
            pqf_err rc = overlap_bound(sp->table, head->wm_to, sp->overlap_ms, bound, cap, err);
            if (rc != PQF_OK)
                return rc;
            o.watermark_after = bound;
        }
    }
    if (strcmp(sp->db_driver, "postgres") == 0)
        return pqf_dbsource_open_pg(sp->db_conninfo, &o, out, err);
    if (strcmp(sp->db_driver, "sqlite") == 0)
        return pqf_dbsource_open_sqlite(sp->db_conninfo, &o, out, err);
    return pqf_error_set(err, PQF_ERR_INVALID_ARG, "table %s: unknown database driver '%s' "
                         "(postgres or sqlite)", sp->table, sp->db_driver);
}

static void digest_update(exp_ctx *x, const void *data, size_t len)
{
    pqf__blake3_update(&x->dh, data, len);
    if (x->dump && fwrite(data, 1, len, x->dump) != len) {
        fclose(x->dump);
        x->dump = NULL;
    }
}

/* BLAKE3 over every setting that shapes the output and every input byte (in
 * order, each input after its length): the same digest means the same Parquet
 * bytes (the writer is deterministic; the hour folder is in the key, not
 * here, so an unchanged snapshot is one in any hour). It names the data files and is kept
 * in the commit, so that an unchanged snapshot is recognised before any
 * file is written. The definition is docs/FORMAT.md's `source_blake3`; it is
 * taken in one of two ways, with the same value:
 * - up front (digest_pass): every input read once more before the export
 *   (CSV inputs, stdin, or PQF_EXPORT_DIGEST_PASS set);
 * - in the parsing pass (NDJSON files): the sources' reads feed it (the tap),
 *   and it is final at the end of the last input, or when the first data file
 *   opens (its first row group: files are named by the digest), which then
 *   reads the inputs' remaining bytes (digest_finish). */
static pqf_err digest_begin(exp_ctx *x, const char *schema_json, pqf_error *err)
{
    const pqf_export_spec *sp = x->sp;
    char line[1024];
    pqf__blake3_init(&x->dh);
    const char *dump = getenv("PQF_EXPORT_DIGEST_DUMP");
    if (dump && !(x->dump = fopen(dump, "wb")))
        return pqf_error_set(err, PQF_ERR_IO, "PQF_EXPORT_DIGEST_DUMP: %s: %s", dump,
                             strerror(errno));
    const pqf_writer_opts *w = &sp->writer;
    int n = snprintf(line, sizeof line,
                     "pqfeed-export/1 table=%s kind=%d wm=%s del=%s cre=%s after=%s "
                     "target=%llu codec=%d level=%d rg=%llu page=%llu dict=%d dictpage=%llu pv=%d "
                     "crc=%d stats=%d pidx=%d statmax=%u fmt=%d delim=%d quote=%d header=%d "
                     "null=%s unknown=%d\n",
                     sp->table, (int)sp->kind, sp->watermark ? sp->watermark : "",
                     sp->delete_column ? sp->delete_column : "",
                     sp->created_column ? sp->created_column : "",
                     x->co.after ? x->co.after : "",
                     (unsigned long long)sp->target_file_bytes, (int)w->codec, w->level,
                     (unsigned long long)w->row_group_bytes, (unsigned long long)w->page_bytes,
                     (int)w->dictionary, (unsigned long long)w->dict_page_bytes, w->page_version,
                     (int)w->page_crc, (int)w->statistics, (int)w->page_index,
                     w->stats_max_bytes, (int)sp->source.format, sp->source.csv.delimiter,
                     sp->source.csv.quote, (int)sp->source.csv.header,
                     sp->source.csv.null_marker ? sp->source.csv.null_marker : "",
                     (int)sp->source.ignore_unknown);
    digest_update(x, line, (size_t)n);
    if (sp->source.mapping) {
        n = snprintf(line, sizeof line, "mapping %s\n", pqf_mapping_digest(sp->source.mapping));
        digest_update(x, line, (size_t)n);
    }
    for (size_t i = 0; i < w->ncolumns; i++) {
        const pqf_column_opts *c = &w->columns[i];
        n = snprintf(line, sizeof line, "col %s enc=%d dict=%d bloom=%d ndv=%llu fpp=%g\n",
                     c->path, (int)c->encoding, c->dictionary, (int)c->bloom_filter,
                     (unsigned long long)c->bloom_ndv, c->bloom_fpp);
        digest_update(x, line, (size_t)n);
    }
    digest_update(x, schema_json, strlen(schema_json));
    return PQF_OK;
}

static void digest_header(exp_ctx *x, uint64_t size)
{
    char line[64];
    int n = snprintf(line, sizeof line, "\ninput %llu\n", (unsigned long long)size);
    digest_update(x, line, (size_t)n);
}

/* Bytes [off, size) of input i into the digest (size: its header's). */
static pqf_err digest_read(exp_ctx *x, size_t i, uint64_t off, uint64_t size, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_istream *in = NULL;
    uint8_t *buf = malloc(1 << 20);
    if (!buf)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(pqf_istream_file(x->sp->inputs[i], &in, err));
    if (pqf_istream_size(in) != size)
        PQF_FAIL(err, PQF_ERR_IO, "%s: the input changed while it was read (%llu bytes, "
                 "then %llu)", x->sp->inputs[i], (unsigned long long)size,
                 (unsigned long long)pqf_istream_size(in));
    while (off < size) {
        size_t len = (size_t)PQF_MIN((uint64_t)(1 << 20), size - off);
        if (pqf_istream_read_at(in, off, buf, len) != PQF_OK) {
            *err = *pqf_istream_error(in);
            rc = err->code;
            goto done;
        }
        digest_update(x, buf, len);
        off += len;
    }
done:
    pqf_istream_free(in);
    free(buf);
    return rc;
}

static void digest_end(exp_ctx *x)
{
    uint8_t d[32];
    pqf__blake3_final(&x->dh, d);
    if (x->dump) {
        fclose(x->dump);
        x->dump = NULL;
    }
    pqf__hex(d, 32, x->digest);
    x->digest_final = true;
    /* the same snapshot again (a rerun after a crash that followed the
     * publish, or an unchanged source): nothing to write */
    const pqf_commit *h = x->head;
    x->unchanged = h && x->sp->kind == PQF_COMMIT_SNAPSHOT && h->kind == PQF_COMMIT_SNAPSHOT &&
                   strcmp(h->source_blake3, x->digest) == 0 &&
                   h->schema_version == x->schema_version;
}

/* Every input read once more, before the export. */
static pqf_err digest_pass(exp_ctx *x, const char *schema_json, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_istream *in = NULL;
    PQF_TRY(digest_begin(x, schema_json, err));
    for (size_t i = 0; i < x->sp->ninputs; i++) {
        PQF_TRY(pqf_istream_file(x->sp->inputs[i], &in, err));
        uint64_t size = pqf_istream_size(in);
        pqf_istream_free(in);
        in = NULL;
        digest_header(x, size);
        PQF_TRY(digest_read(x, i, 0, size, err));
    }
    digest_end(x);
done:
    pqf_istream_free(in);
    return rc;
}

/* The parsing pass: input din's header, before its source opens. */
static pqf_err digest_input_open(exp_ctx *x, size_t i, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_istream *in = NULL;
    if (x->digest_final)
        return PQF_OK;
    PQF_TRY(pqf_istream_file(x->sp->inputs[i], &in, err));
    x->din = i;
    x->dsize = pqf_istream_size(in);
    x->dgot = 0;
    x->din_open = true;
    digest_header(x, x->dsize);
done:
    pqf_istream_free(in);
    return rc;
}

static void digest_tap(void *ud, const void *data, size_t len)
{
    exp_ctx *x = ud;
    if (x->digest_final)
        return;
    x->dgot += len;
    if (x->dgot <= x->dsize)
        digest_update(x, data, len);
}

/* At the end of input din: the source read exactly the bytes its header counts. */
static pqf_err digest_input_end(exp_ctx *x, pqf_error *err)
{
    if (x->digest_final)
        return PQF_OK;
    x->din_open = false;
    x->din++;
    if (x->dgot != x->dsize)
        return pqf_error_set(err, PQF_ERR_IO, "%s: the input changed while it was read (%llu "
                             "bytes, then %llu)", x->sp->inputs[x->din - 1],
                             (unsigned long long)x->dsize, (unsigned long long)x->dgot);
    return PQF_OK;
}

/* Before the digest is known from the parsing pass alone: the rest of the
 * current input and all later ones, read here. */
static pqf_err digest_finish(exp_ctx *x, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    size_t i = x->din;
    if (x->din_open) {
        if (x->dgot > x->dsize)
            PQF_FAIL(err, PQF_ERR_IO, "%s: the input changed while it was read (%llu bytes, "
                     "then more)", x->sp->inputs[i], (unsigned long long)x->dsize);
        PQF_TRY(digest_read(x, i, x->dgot, x->dsize, err));
        i++;
    }
    for (; i < x->sp->ninputs; i++) {
        pqf_istream *in = NULL;
        PQF_TRY(pqf_istream_file(x->sp->inputs[i], &in, err));
        uint64_t size = pqf_istream_size(in);
        pqf_istream_free(in);
        digest_header(x, size);
        PQF_TRY(digest_read(x, i, 0, size, err));
    }
    digest_end(x);
done:
    return rc;
}

/* The digest is taken in the parsing pass when every input is a regular NDJSON
 * file (a pipe such as /dev/stdin has no size to check the reads against). */
static bool digest_folds(const pqf_export_spec *sp)
{
    struct stat st;
    if (getenv("PQF_EXPORT_DIGEST_PASS"))
        return false;
    for (size_t i = 0; i < sp->ninputs; i++)
        if (strcmp(sp->inputs[i], "-") == 0 ||
            pqf_format_for_path(sp->inputs[i], sp->source.format) != PQF_FORMAT_NDJSON ||
            stat(sp->inputs[i], &st) != 0 || !S_ISREG(st.st_mode))
            return false;
    return true;
}

static pqf_err export_rows(exp_ctx *x, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_source *src = NULL;
    if (x->sp->db)
        return export_db(x, err);
    pqf_source_opts so = x->sp->source;
    if (x->sp->kind == PQF_COMMIT_CHANGES)
        so.changes = &x->co;
    for (size_t i = 0; i < x->sp->ninputs; i++) {
        if (x->digest_final) {
            PQF_TRY(pqf_source_open(x->sp->inputs[i], x->file_schema, &so, &src, err));
        } else {
            PQF_TRY(digest_input_open(x, i, err));
            PQF_TRY(pqf__source_open_tap(x->sp->inputs[i], x->file_schema, &so, digest_tap, x,
                                         &src, err));
        }
        uint64_t n = 0;
        for (;; n++) {
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
            pqf_writer_stats st; /* bytes grow when a row group is flushed */
            pqf_writer_get_stats(x->w, &st);
            if (st.bytes >= x->sp->target_file_bytes)
                PQF_TRY(file_close(x, err));
        }
        if (so.changes) {
            const char *lo, *hi;
            pqf_source_watermarks(src, &lo, &hi);
            x->skipped += pqf_source_skipped(src);
            x->duplicates += pqf_source_duplicates(src);
            x->co.seq_base += (int64_t)n;
            if (lo)
                PQF_TRY(widen_range(x, lo, hi, err));
            x->co.floor = x->wm_max; /* later pages may not go back before this */
        }
        pqf_source_free(src);
        src = NULL;
        PQF_TRY(digest_input_end(x, err));
    }
    if (!x->digest_final) {
        digest_end(x);
        if (x->unchanged)
            goto done; /* nothing was written (no file opened before the digest was known) */
    }
    if (x->w) {
        pqf_writer_stats st;
        pqf_writer_get_stats(x->w, &st);
        /* an empty snapshot still gets one (empty) file; no new changes, none */
        if (st.rows > 0 || (x->c->nfiles == 0 && x->sp->kind == PQF_COMMIT_SNAPSHOT))
            PQF_TRY(file_close(x, err));
    }
done:
    pqf_source_free(src);
    return rc;
}

/* A database source's tag: random, since the source cannot be re-read. */
static pqf_err random_digest(exp_ctx *x, pqf_error *err)
{
    uint8_t r[32];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(r, 1, sizeof r, f) : 0;
    if (f)
        fclose(f);
    if (got != sizeof r)
        return pqf_error_set(err, PQF_ERR_IO, "cannot read /dev/urandom");
    pqf__hex(r, 32, x->digest);
    return PQF_OK;
}

pqf_err pqf_export_check_key(const pqf_schema *schema, const char *table, const char *key,
                            pqf_error *err)
{
    if (!schema && key && *key)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "table %s: a key needs a schema",
                             table ? table : "");
    for (const char *k = key; k && *k;) {
        size_t n = strcspn(k, ",");
        char name[PQF_TABLE_NAME_MAX * 2];
        snprintf(name, sizeof name, "%.*s", (int)PQF_MIN(n, sizeof name - 1), k);
        int node = n < sizeof name ? pqf_schema_find_child(schema, 0, name) : -1;
        pqf_node_info ni;
        if (node < 0 || pqf_schema_node(schema, node, &ni) != PQF_OK || ni.is_group) {
            char cols[512];
            size_t len = 0;
            pqf_node_info root;
            cols[0] = 0;
            if (pqf_schema_node(schema, 0, &root) == PQF_OK)
                for (int i = 0; i < root.nchildren && len < sizeof cols; i++) {
                    pqf_node_info ci;
                    if (pqf_schema_node(schema, pqf_schema_child(schema, 0, i), &ci) == PQF_OK &&
                        !ci.is_group)
                        len += (size_t)snprintf(cols + len, sizeof cols - len, "%s%s",
                                                len ? ", " : "", ci.name);
                }
            return pqf_error_set(err, PQF_ERR_SCHEMA,
                                 "table %s: key column '%s' is not a %scolumn of the schema "
                                 "(its columns: %s)",
                                 table, name, node >= 0 ? "leaf " : "", cols[0] ? cols : "none");
        }
        k += n + (k[n] == ',');
    }
    return PQF_OK;
}

pqf_err pqf_export(pqf_feed *f, const pqf_export_spec *sp, pqf_export_result *res,
                   pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_commit *head = NULL;
    pqf_schema *changes_schema = NULL;
    pqf_dbsource *opened = NULL; /* sp->db_driver: opened here */
    pqf_export_spec local;
    char bound[64];
    exp_ctx x;
    memset(&x, 0, sizeof x);
    pqf__strset_init(&x.seen, 256u << 20);
    memset(res, 0, sizeof *res);
    if (!pqf_table_name_ok(sp->table))
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "'%s' is not a valid table name (letters, digits, _ "
                 "and -, starting with a letter)", sp->table ? sp->table : "");
    if (!sp->schema && !sp->db_driver)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "table %s: no schema", sp->table);
    if (sp->db && sp->kind != PQF_COMMIT_SNAPSHOT)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "table %s: a database source opened by the caller "
                 "exports snapshots; for changes, give db_driver and let export open it (the "
                 "last watermark is pushed down)", sp->table);
    if (sp->db && sp->db_driver)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "table %s: give db or db_driver, not both", sp->table);
    if (sp->kind == PQF_COMMIT_CHANGES && !sp->watermark)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "table %s: changes mode needs a watermark column",
                 sp->table);
    uint64_t seq = 0;
    PQF_TRY(pqf_feed_head(f, sp->table, &seq, err));
    if (seq > 0)
        PQF_TRY(pqf_feed_read_commit(f, sp->table, seq, &head, err));
    if (sp->db_driver) {
        PQF_TRY(open_db(sp, head, bound, sizeof bound, &opened, err));
        local = *sp;
        local.db = opened;
        local.schema = pqf_dbsource_schema(opened);
        sp = &local;
    }
    /* before any write (a database source's schema is known once it is open) */
    PQF_TRY(pqf_export_check_key(sp->schema, sp->table, sp->key, err));
    if (sp->contract) /* contract hook 1: the schema, before it is registered */
        PQF_TRY(pqf__contract_check_export(f, sp, NULL, err));
    PQF_TRY(pqf_feed_register_table(f, sp->table, err));
    if (sp->source.mapping) /* a bad mapping stops before anything is written */
        PQF_TRY(pqf_mapping_check(sp->source.mapping, sp->schema, false, err));
    PQF_TRY(register_schema(f, sp, &res->schema_version, &res->schema_changed, err));
    pqf__crashpoint("export.schema-registered");
    x.f = f;
    x.sp = sp;
    x.file_schema = sp->schema;
    if (sp->kind == PQF_COMMIT_CHANGES) {
        int wn = pqf_schema_find_child(sp->schema, 0, sp->watermark);
        pqf_node_info wi;
        if (wn < 0 || pqf_schema_node(sp->schema, wn, &wi) != PQF_OK || wi.is_group)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "table %s: watermark column '%s' is not a top-level "
                     "column of the schema", sp->table, sp->watermark);
        const char *why = pqf__conv_init(&x.wm_conv, &wi);
        if (why)
            PQF_FAIL(err, PQF_ERR_SCHEMA, "table %s: watermark column '%s': %s", sp->table,
                     sp->watermark, why);
        PQF_TRY(change_schema(sp->schema, &changes_schema, err));
        x.file_schema = changes_schema;
        x.co.watermark = sp->watermark;
        x.co.delete_column = sp->delete_column;
        x.co.created_column = sp->created_column;
        x.co.seq_base = (int64_t)(seq + 1) << 32;
        if (head && head->wm_column && strcmp(head->wm_column, sp->watermark) == 0)
            x.co.after = head->wm_to;
        /* every change row needs its key (a consumer merges by it) */
        x.co.key = sp->key && *sp->key ? sp->key : NULL;
        if (sp->overlap_ms > 0 && sp->key && *sp->key) {
            /* memory for the set is capped (PQF_ERR_LIMIT past it), so a run
             * stays bounded however many records it re-reads */
            x.co.seen = on_seen;
            x.co.seen_ud = &x;
        }
        if (sp->overlap_ms > 0 && x.co.after) {
            pqf__val v;
            if (x.wm_conv.kind != PQF__V_TIMESTAMP || !sp->key)
                PQF_FAIL(err, PQF_ERR_INVALID_ARG, "table %s: an overlap window needs a timestamp "
                         "watermark and a key", sp->table);
            if (pqf__value_parse(&x.wm_conv, x.co.after, strlen(x.co.after), &v))
                PQF_FAIL(err, PQF_ERR_CORRUPT, "table %s: commit %" PRIu64 "'s watermark '%s' "
                         "does not parse", sp->table, seq, x.co.after);
            int64_t per_ms = x.wm_conv.unit == PQF_MILLIS ? 1 : x.wm_conv.unit == PQF_MICROS ? 1000 : 1000000;
            ts_text(v.u.i64 - sp->overlap_ms * per_ms, x.wm_conv.unit, x.after_buf, sizeof x.after_buf);
            x.co.after = x.after_buf;
            PQF_TRY(load_seen(&x, seq, err));
        }
    }
    x.as_of = sp->as_of_ms ? sp->as_of_ms : pqf__now_ms();
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
    x.head = head;
    x.schema_version = res->schema_version;
    if (sp->db) {
        PQF_TRY(random_digest(&x, err));
        x.digest_final = true;
    } else {
        char *sj = NULL;
        size_t sl = 0;
        PQF_TRY(pqf_schema_to_json(x.file_schema, &sj, &sl, err));
        rc = digest_folds(sp) ? digest_begin(&x, sj, err) : digest_pass(&x, sj, err);
        free(sj);
        if (rc != PQF_OK)
            goto done;
    }
    if (!x.unchanged) {
        rc = export_rows(&x, err);
        if (rc != PQF_OK && !x.unchanged)
            goto done;
    }
    if (x.unchanged) {
        rc = PQF_OK;
        res->seq = seq;
        memcpy(res->hash, head->hash, sizeof res->hash);
        goto done;
    }
    if (!sp->db)
        memcpy(x.c->source_blake3, x.digest, sizeof x.digest);
    res->skipped = x.skipped;
    res->duplicates = x.duplicates;
    if (x.seen_oom)
        PQF_FAIL(err, PQF_ERR_LIMIT, "table %s: too many records to de-duplicate in one run",
                 sp->table);
    if (sp->kind == PQF_COMMIT_CHANGES) {
        if (x.c->rows == 0) {
            /* nothing beyond the last watermark: no commit (the empty file
             * written is an orphan for gc) */
            res->seq = seq;
            if (head)
                memcpy(res->hash, head->hash, sizeof res->hash);
            goto done;
        }
    }
    if (x.wm_min && x.wm_max) {
        /* changes, or a database snapshot read in watermark order */
        x.c->wm_column = strdup(sp->watermark);
        x.c->wm_from = strdup(x.wm_min);
        x.c->wm_to = strdup(x.wm_max);
        if (!x.c->wm_column || !x.c->wm_from || !x.c->wm_to)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    }
    x.c->created_ms = pqf__now_ms();
    if (sp->contract) /* contract hook 2: the values, before the commit object */
        PQF_TRY(pqf__contract_check_export(f, sp, x.c, err));
    pqf__crashpoint("export.before-publish");
    PQF_TRY(pqf_feed_publish(f, x.c, err));
    pqf__crashpoint("export.after-publish");
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
    pqf_dbsource_free(opened);
    pqf_schema_free(changes_schema);
    pqf__strset_free(&x.seen);
    if (x.dump)
        fclose(x.dump);
    free(x.wm_min);
    free(x.wm_max);
    return rc;
}
