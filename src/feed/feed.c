/* Feeds on a store: log listing, commit read/publish, verification. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/hash.h"
#include "feed/feed_impl.h"
#include "pqfeed/feed.h"

#define COMMIT_READ_LIMIT (64u << 20)

struct pqf_feed {
    pqf_store *store;
};

pqf_err pqf_feed_open(pqf_store *store, pqf_feed **out, pqf_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    (*out)->store = store;
    return PQF_OK;
}

void pqf_feed_free(pqf_feed *f) { free(f); }

pqf_store *pqf_feed_store(const pqf_feed *f) { return f->store; }

bool pqf_table_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > PQF_TABLE_NAME_MAX || !isalpha((unsigned char)name[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
            return false;
    return true;
}

void pqf_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

char *pqf_feed_log_key(const char *table, uint64_t seq, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/_log/%020" PRIu64 ".json", table, seq);
    return buf;
}

char *pqf_feed_data_key(const char *table, uint64_t seq, unsigned part, int64_t as_of_ms,
                        const char *tag, char *buf, size_t cap)
{
    time_t s = (time_t)(as_of_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(buf, cap, "%s/data/date=%04d-%02d-%02d/hour=%02d/%020" PRIu64 "-%05u-%.8s.parquet",
             table, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, seq, part, tag);
    return buf;
}

/* ---- tables ---------------------------------------------------------------------- */

typedef struct {
    char **v;
    size_t n, cap;
    bool oom;
} strv;

static bool strv_push(strv *sv, const char *s, size_t len)
{
    if (!pqf__grow(&sv->v, sv->n, &sv->cap, sizeof *sv->v, 16))
        return false;
    char *c = strndup(s, len);
    if (!c)
        return false;
    sv->v[sv->n++] = c;
    return true;
}

static bool on_top_prefix(void *ud, const pqf_object_info *info)
{
    strv *sv = ud;
    if (!info->is_prefix)
        return true;
    size_t len = strlen(info->key);
    if (len && info->key[len - 1] == '/')
        len--;
    char name[PQF_TABLE_NAME_MAX + 1];
    if (len > PQF_TABLE_NAME_MAX)
        return true;
    memcpy(name, info->key, len);
    name[len] = '\0';
    if (!pqf_table_name_ok(name))
        return true;
    if (!strv_push(sv, info->key, len)) {
        sv->oom = true;
        return false;
    }
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

pqf_err pqf_feed_tables(pqf_feed *f, char ***names, size_t *n, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    strv all = {0};
    strv out = {0};
    pqf_list_options lo = {.delimiter = "/"};
    *names = NULL;
    *n = 0;
    PQF_TRY(pqf_store_list(f->store, "", &lo, on_top_prefix, &all, err));
    if (all.oom)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < all.n; i++) {
        uint64_t head = 0;
        pqf_error e2 = {0};
        pqf_err r2 = pqf_feed_head(f, all.v[i], &head, &e2);
        if (r2 != PQF_OK && r2 != PQF_ERR_CORRUPT) {
            rc = r2;
            *err = e2;
            goto done;
        }
        if (r2 == PQF_ERR_CORRUPT || head > 0) {
            if (!strv_push(&out, all.v[i], strlen(all.v[i])))
                PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        }
    }
    if (out.n)
        qsort(out.v, out.n, sizeof *out.v, cmp_str);
    *names = out.v;
    *n = out.n;
    out.v = NULL;
    out.n = 0;
done:
    pqf_strv_free(all.v, all.n);
    pqf_strv_free(out.v, out.n);
    return rc;
}

/* ---- head -------------------------------------------------------------------------- */

typedef struct {
    size_t prefix_len;
    uint64_t max, count;
} head_scan;

/* Parse "<20 digits>.json" after the prefix; other names (temporaries) are ignored. */
static bool parse_log_name(const char *name, uint64_t *seq)
{
    if (strlen(name) != 25 || strcmp(name + 20, ".json") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (!isdigit((unsigned char)name[i]))
            return false;
        unsigned d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *seq = v;
    return v > 0;
}

static bool on_log_key(void *ud, const pqf_object_info *info)
{
    head_scan *h = ud;
    uint64_t seq;
    if (info->is_prefix || strlen(info->key) < h->prefix_len)
        return true;
    if (!parse_log_name(info->key + h->prefix_len, &seq))
        return true;
    h->count++;
    if (seq > h->max)
        h->max = seq;
    return true;
}

pqf_err pqf_feed_head(pqf_feed *f, const char *table, uint64_t *seq, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char prefix[PQF_TABLE_NAME_MAX + 16];
    *seq = 0;
    if (!pqf_table_name_ok(table))
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "'%s' is not a valid table name", table);
    snprintf(prefix, sizeof prefix, "%s/_log/", table);
    head_scan h = {strlen(prefix), 0, 0};
    pqf_list_options lo = {.delimiter = "/"};
    PQF_TRY(pqf_store_list(f->store, prefix, &lo, on_log_key, &h, err));
    if (h.count != h.max)
        PQF_FAIL(err, PQF_ERR_CORRUPT,
                 "table %s: the log has %" PRIu64 " commits but its highest seq is %" PRIu64
                 ": commits are missing",
                 table, h.count, h.max);
    *seq = h.max;
done:
    return rc;
}

pqf_err pqf_feed_read_commit(pqf_feed *f, const char *table, uint64_t seq, pqf_commit **out,
                             pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char key[PQF_TABLE_NAME_MAX + 64];
    uint8_t *data = NULL;
    size_t len = 0;
    *out = NULL;
    pqf_feed_log_key(table, seq, key, sizeof key);
    PQF_TRY(pqf_store_get_bytes(f->store, key, NULL, COMMIT_READ_LIMIT, &data, &len, err));
    PQF_TRY(pqf_commit_decode((const char *)data, len, key, out, err));
    if (strcmp((*out)->table, table) != 0 || (*out)->seq != seq) {
        pqf_commit_free(*out);
        *out = NULL;
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: the object names another commit (table or seq differ)",
                 key);
    }
done:
    free(data);
    return rc;
}

pqf_err pqf_feed_publish(pqf_feed *f, const pqf_commit *c, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char key[PQF_TABLE_NAME_MAX + 64];
    char *json = NULL;
    size_t len = 0;
    uint8_t *have = NULL;
    size_t have_len = 0;
    PQF_TRY(pqf_commit_encode(c, &json, &len, err));
    pqf_feed_log_key(c->table, c->seq, key, sizeof key);
    pqf_put_options po = {.if_absent = true, .content_type = "application/json"};
    rc = pqf_store_put_bytes(f->store, key, json, len, &po, err);
    if (rc == PQF_ERR_EXISTS) {
        pqf_error e2 = {0};
        if (pqf_store_get_bytes(f->store, key, NULL, COMMIT_READ_LIMIT, &have, &have_len, &e2) ==
                PQF_OK &&
            have_len == len && memcmp(have, json, len) == 0) {
            rc = PQF_OK;
            pqf_error_clear(err);
            goto done;
        }
        PQF_FAIL(err, PQF_ERR_CONFLICT,
                 "table %s: commit %" PRIu64 " was published by another producer (%s exists)",
                 c->table, c->seq, key);
    }
done:
    free(json);
    free(have);
    return rc;
}

/* ---- verify -------------------------------------------------------------------------- */

static void problem(const pqf_verify_opts *o, uint64_t *count, pqf_problem_kind kind,
                    const char *table, uint64_t seq, const char *key, const char *detail)
{
    (*count)++;
    if (o && o->on_problem) {
        pqf_problem p = {kind, table, seq, key, detail};
        o->on_problem(o->ud, &p);
    }
}

pqf_err pqf__hash_object(pqf_store *s, const char *key, uint64_t size, char hex[65],
                           pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_istream *in = NULL;
    uint8_t *buf = malloc(1 << 20);
    pqf__sha256_ctx h = {0};
    if (!buf || pqf__sha256_init(&h) != 0)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(pqf_store_open_read(s, key, NULL, &in, NULL, err));
    for (uint64_t off = 0; off < size;) {
        size_t n = (size_t)PQF_MIN((uint64_t)(1 << 20), size - off);
        rc = pqf_istream_read_at(in, off, buf, n);
        if (rc != PQF_OK) {
            *err = *pqf_istream_error(in);
            goto done;
        }
        pqf__sha256_update(&h, buf, n);
        off += n;
    }
    uint8_t d[32];
    pqf__sha256_final(&h, d);
    pqf__hex(d, 32, hex);
done:
    pqf__sha256_free(&h);
    pqf_istream_free(in);
    free(buf);
    return rc;
}

pqf_err pqf_feed_verify(pqf_feed *f, const char *table, const pqf_verify_opts *opts,
                        uint64_t *problems, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char prefix[PQF_TABLE_NAME_MAX + 16];
    char prev_hash[65] = "";
    char detail[PQF_ERROR_MSG_MAX + 128];
    char key[PQF_TABLE_NAME_MAX + 64];
    *problems = 0;
    snprintf(prefix, sizeof prefix, "%s/_log/", table);
    head_scan h = {strlen(prefix), 0, 0};
    pqf_list_options lo = {.delimiter = "/"};
    PQF_TRY(pqf_store_list(f->store, prefix, &lo, on_log_key, &h, err));
    for (uint64_t seq = 1; seq <= h.max; seq++) {
        pqf_commit *c = NULL;
        pqf_error e2 = {0};
        pqf_err r2 = pqf_feed_read_commit(f, table, seq, &c, &e2);
        pqf_feed_log_key(table, seq, key, sizeof key);
        if (r2 == PQF_ERR_NOT_FOUND) {
            problem(opts, problems, PQF_PROBLEM_GAP, table, seq, key, "commit object is missing");
            prev_hash[0] = '\0';
            continue;
        }
        if (r2 == PQF_ERR_CORRUPT || r2 == PQF_ERR_UNSUPPORTED || r2 == PQF_ERR_LIMIT) {
            problem(opts, problems, PQF_PROBLEM_INVALID, table, seq, key, e2.msg);
            prev_hash[0] = '\0';
            continue;
        }
        if (r2 != PQF_OK) {
            *err = e2;
            rc = r2;
            goto done;
        }
        if (seq > 1 && prev_hash[0] && strcmp(c->prev, prev_hash) != 0) {
            snprintf(detail, sizeof detail, "prev is %.12s..., commit %" PRIu64 " hashes to %.12s...",
                     c->prev, seq - 1, prev_hash);
            problem(opts, problems, PQF_PROBLEM_CHAIN, table, seq, key, detail);
        }
        for (size_t i = 0; i < c->nfiles; i++) {
            const pqf_commit_file *cf = &c->files[i];
            pqf_object_info info;
            memset(&info, 0, sizeof info);
            r2 = pqf_store_head(f->store, cf->key, NULL, &info, &e2);
            if (r2 == PQF_ERR_NOT_FOUND) {
                problem(opts, problems, PQF_PROBLEM_MISSING, table, seq, cf->key,
                        "file named by the commit does not exist");
                continue;
            }
            if (r2 != PQF_OK) {
                pqf_commit_free(c);
                *err = e2;
                rc = r2;
                goto done;
            }
            if (info.size != cf->bytes) {
                snprintf(detail, sizeof detail, "size is %" PRIu64 ", the commit says %" PRIu64,
                         info.size, cf->bytes);
                problem(opts, problems, PQF_PROBLEM_SIZE, table, seq, cf->key, detail);
                continue;
            }
            if (opts && opts->deep) {
                char hex[65];
                r2 = pqf__hash_object(f->store, cf->key, cf->bytes, hex, &e2);
                if (r2 != PQF_OK) {
                    pqf_commit_free(c);
                    *err = e2;
                    rc = r2;
                    goto done;
                }
                if (strcmp(hex, cf->sha256) != 0) {
                    snprintf(detail, sizeof detail, "sha256 is %.12s..., the commit says %.12s...",
                             hex, cf->sha256);
                    problem(opts, problems, PQF_PROBLEM_CHECKSUM, table, seq, cf->key, detail);
                }
            }
        }
        if (opts && opts->on_commit)
            opts->on_commit(opts->ud, c);
        memcpy(prev_hash, c->hash, sizeof prev_hash);
        pqf_commit_free(c);
    }
done:
    return rc;
}
