/* The Parquet snapshot sink: a compacted current-state copy of each table as
 * Parquet files in a store (local directory or S3), for engines that read
 * files (DuckDB, Spark, pandas).
 *
 * Layout under the store root, per table:
 *   <table>/data/<seq>-<8 hex>.parquet   the table's rows after commit seq
 *   <table>/_manifest/<seq>.json         names that file and holds the
 *                                        checkpoint (table, seq, hash, ...)
 *   <table>/_quarantine/<seq>-<sha>.json a file that hashed wrong
 * Each applied commit rewrites the table: the current state (read back from
 * the files the latest manifest names) with the commit's changes merged by
 * key, or a snapshot commit's rows, goes to one new data file (put-if-absent
 * under a fresh name); then the manifest is written last, put-if-absent: that
 * one object publishes data and checkpoint together. Only after it, the
 * manifests of earlier commits and then their files are deleted. A crash before the manifest
 * leaves an unnamed file (deleted by the next publish) and the previous
 * state intact; after it, the commit is applied. Readers take the highest
 * manifest and read the files it names (a glob of data/ is right too once
 * apply has finished).
 *
 * The state is built in memory (rows as NDJSON lines by key, capped at
 * MAX_STATE bytes), written to a temporary NDJSON file and converted with
 * the feed's schema by the NDJSON source and the Parquet writer, so nested
 * columns round-trip. Changes in _seq order are merged as they come; out of
 * order, the engine retries with base.staged and the changes are sorted by
 * _seq first.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/crash.h"
#include "base/hash.h"
#include "consume/sink.h"
#include "pqfeed/reader.h"
#include "pqfeed/source.h"
#include "pqfeed/store.h"
#include "pqfeed/writer.h"
#include "source/json.h"

#define MAX_STATE ((size_t)4 << 30)
#define MANIFEST_LIMIT ((size_t)64 << 20)
#define MAX_STATE_FILE ((size_t)2 << 30)

typedef struct {
    size_t koff, klen, loff, llen;
    bool live;
} entry;

typedef struct {
    int64_t seq;
    size_t ord;
    char op;
    size_t koff, klen, loff, llen;
} change;

typedef struct parquet_sink {
    pqf_sink base;
    pqf_store *st;
    const pqf__tdef *t;
    bool changes, in_tx;
    pqf__buf arena; /* keys and NDJSON lines */
    entry *ents;
    size_t nents, capents;
    uint32_t *slots; /* open addressing: entry index + 1, 0 empty */
    size_t nslots;
    change *chg;
    size_t nchg, capchg;
    int64_t last_seq;
    bool have_seq;
    pqf__buf line, key;
    char file_key[PQF_TABLE_NAME_MAX + 96];
    bool file_written;
    uint64_t file_rows;
    const pqf__ckpt_put *ck; /* valid from put_checkpoint to commit */
    pqf__buf manifest;
    char ck_hash[65], ck_kind[16], ck_created[48], ck_applied[48];
    uint64_t ck_seq, ck_rows;
    int ck_version;
} parquet_sink;

static pqf_err oom(pqf_error *err)
{
    return pqf_error_set(err, PQF_ERR_LIMIT,
                         "the parquet sink holds a table's current state in memory, capped at "
                         "%zu MiB: this table is larger",
                         MAX_STATE >> 20);
}

/* ---- the state ---------------------------------------------------------------------- */

static void state_reset(parquet_sink *s)
{
    pqf__buf_reset(&s->arena);
    s->nents = 0;
    s->nchg = 0;
    s->have_seq = false;
    if (s->slots)
        memset(s->slots, 0, s->nslots * sizeof *s->slots);
}

static entry *lookup(parquet_sink *s, const char *k, size_t n, size_t *slot)
{
    size_t mask = s->nslots - 1, i = (size_t)pqf__xxh64(k, n) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t e = s->slots[i];
        if (!e) {
            *slot = i;
            return NULL;
        }
        entry *en = &s->ents[e - 1];
        if (en->klen == n && memcmp(s->arena.data + en->koff, k, n) == 0) {
            *slot = i;
            return en;
        }
    }
}

static pqf_err grow_slots(parquet_sink *s)
{
    size_t n = s->nslots ? s->nslots * 2 : 1024;
    uint32_t *sl = calloc(n, sizeof *sl);
    if (!sl)
        return PQF_ERR_NOMEM;
    free(s->slots);
    s->slots = sl;
    s->nslots = n;
    for (size_t e = 0; e < s->nents; e++) {
        entry *en = &s->ents[e];
        if (!en->klen && s->t->nkeys)
            continue;
        size_t i = (size_t)pqf__xxh64(s->arena.data + en->koff, en->klen) & (n - 1);
        while (sl[i])
            i = (i + 1) & (n - 1);
        sl[i] = (uint32_t)(e + 1);
    }
    return PQF_OK;
}

static pqf_err append(parquet_sink *s, const void *p, size_t n, size_t *off)
{
    *off = s->arena.len;
    return pqf__buf_append(&s->arena, p, n);
}

/* The row in s->line under the key in s->key (keyless: appended). */
static pqf_err put_row(parquet_sink *s, bool keyed)
{
    pqf_err rc = PQF_OK;
    size_t slot = 0;
    entry *en = NULL;
    if (keyed) {
        if ((s->nents + 1) * 2 > s->nslots)
            PQF_TRY(grow_slots(s));
        en = lookup(s, (const char *)s->key.data, s->key.len, &slot);
    }
    if (!en) {
        if (s->nents == s->capents) {
            size_t nc = s->capents ? s->capents * 2 : 1024;
            entry *p = realloc(s->ents, nc * sizeof *p);
            if (!p)
                return PQF_ERR_NOMEM;
            s->ents = p;
            s->capents = nc;
        }
        if (s->nents >= UINT32_MAX - 1)
            return PQF_ERR_LIMIT;
        en = &s->ents[s->nents];
        memset(en, 0, sizeof *en);
        if (keyed) {
            PQF_TRY(append(s, s->key.data, s->key.len, &en->koff));
            en->klen = s->key.len;
            s->slots[slot] = (uint32_t)(s->nents + 1);
        }
        s->nents++;
    }
    PQF_TRY(append(s, s->line.data, s->line.len, &en->loff));
    en->llen = s->line.len;
    en->live = true;
done:
    return rc;
}

static void del_row(parquet_sink *s)
{
    size_t slot;
    if (!s->nslots)
        return;
    entry *en = lookup(s, (const char *)s->key.data, s->key.len, &slot);
    if (en)
        en->live = false;
}

/* ---- rendering ---------------------------------------------------------------------- */

/* One row as an NDJSON object (NULLs left out) in s->line; its key in s->key. */
static pqf_err render(parquet_sink *s, const pqf__val *vals, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    const pqf__tdef *t = s->t;
    char num[48];
    pqf__buf_reset(&s->line);
    pqf__buf_reset(&s->key);
    PQF_TRY(pqf__buf_append_byte(&s->line, '{'));
    bool first = true;
    for (size_t i = 0; i < t->ncols; i++) {
        const pqf__val *v = &vals[i];
        const pqf__col *c = &t->cols[i];
        if (v->t == PQF__V_NULL)
            continue;
        if (!first)
            PQF_TRY(pqf__buf_append_byte(&s->line, ','));
        first = false;
        PQF_TRY(pqf__json_write_str(&s->line, c->name, strlen(c->name)));
        PQF_TRY(pqf__buf_append_byte(&s->line, ':'));
        size_t vstart = s->line.len;
        switch (v->t) {
        case PQF__V_INT:
            PQF_TRY(pqf__buf_printf(&s->line, "%" PRId64, v->i));
            break;
        case PQF__V_BOOL:
            PQF_TRY(pqf__buf_printf(&s->line, "%s", v->i ? "true" : "false"));
            break;
        case PQF__V_DOUBLE:
            if (isnan(v->d) || isinf(v->d))
                PQF_TRY(pqf__buf_printf(&s->line, "\"%s\"",
                                        isnan(v->d) ? "nan"
                                        : v->d > 0  ? "inf"
                                                    : "-inf"));
            else {
                snprintf(num, sizeof num, "%.17g", v->d);
                PQF_TRY(pqf__buf_printf(&s->line, "%s", num));
            }
            break;
        case PQF__V_TEXT:
            if (c->kind == PQF__C_NESTED || c->kind == PQF__C_JSON)
                PQF_TRY(pqf__buf_append(&s->line, v->s, v->n)); /* JSON text already */
            else
                PQF_TRY(pqf__json_write_str(&s->line, v->s, v->n));
            break;
        case PQF__V_BLOB:
            PQF_TRY(pqf__json_write_str(&s->line, v->s, v->n));
            break;
        default:
            break;
        }
        if (c->key) { /* key text: the value as rendered, columns joined by 0x1f */
            if (s->key.len)
                PQF_TRY(pqf__buf_append_byte(&s->key, 0x1f));
            PQF_TRY(pqf__buf_append(&s->key, s->line.data + vstart, s->line.len - vstart));
        }
    }
    PQF_TRY(pqf__buf_append(&s->line, "}\n", 2));
done:
    if (rc != PQF_OK)
        return oom(err);
    return rc;
}

/* ---- manifests ---------------------------------------------------------------------- */

typedef struct {
    size_t plen;
    uint64_t max;
    size_t count; /* manifests seen */
    char **keys; /* data/ listing */
    size_t nkeys, cap;
    bool collect;
} scan;

static bool on_key(void *ud, const pqf_object_info *info)
{
    scan *h = ud;
    if (info->is_prefix || strlen(info->key) <= h->plen)
        return true;
    if (h->collect) {
        if (!pqf__grow(&h->keys, h->nkeys, &h->cap, sizeof *h->keys, 16))
            return false;
        if (!(h->keys[h->nkeys] = strdup(info->key)))
            return false;
        h->nkeys++;
        return true;
    }
    const char *name = info->key + h->plen;
    if (strlen(name) != 25 || strcmp(name + 20, ".json") != 0)
        return true;
    uint64_t v = strtoull(name, NULL, 10);
    if (v > h->max)
        h->max = v;
    h->count++;
    return true;
}

static void manifest_key(const char *table, uint64_t seq, char *out, size_t cap)
{
    snprintf(out, cap, "%s/_manifest/%020" PRIu64 ".json", table, seq);
}

/* The latest manifest of table: its checkpoint and (files may be NULL) the
 * data files it names; *nmanifests (may be NULL) how many manifests there
 * are. seq 0 when there is none. */
static pqf_err read_manifest(parquet_sink *s, const char *table, pqf__ckpt *ck, char ***files,
                             size_t *nfiles, size_t *nmanifests, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char prefix[PQF_TABLE_NAME_MAX + 16], key[PQF_TABLE_NAME_MAX + 64];
    uint8_t *data = NULL;
    size_t len = 0;
    pqf__json_doc doc;
    pqf__json *root = NULL;
    pqf__json_doc_init(&doc, NULL);
    memset(ck, 0, sizeof *ck);
    if (files) {
        *files = NULL;
        *nfiles = 0;
    }
    snprintf(prefix, sizeof prefix, "%s/_manifest/", table);
    scan h = {.plen = strlen(prefix)};
    pqf_list_options lo = {.delimiter = "/"};
    PQF_TRY(pqf_store_list(s->st, prefix, &lo, on_key, &h, err));
    if (nmanifests)
        *nmanifests = h.count;
    if (!h.max)
        goto done;
    manifest_key(table, h.max, key, sizeof key);
    PQF_TRY(pqf_store_get_bytes(s->st, key, NULL, MANIFEST_LIMIT, &data, &len, err));
    rc = pqf__json_parse(&doc, (const char *)data, len, &root);
    if (rc != PQF_OK)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: %s", key, doc.err.msg);
    const pqf__json *seq = pqf__json_get(root, "seq"), *hash = pqf__json_get(root, "commit_hash"),
                    *ver = pqf__json_get(root, "schema_version"),
                    *at = pqf__json_get(root, "applied_at"), *fl = pqf__json_get(root, "files");
    if (!seq || seq->type != PQF__JNUM || !hash || hash->type != PQF__JSTR || hash->len != 64 ||
        !fl || fl->type != PQF__JARR)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: not a pqfeed manifest (seq, commit_hash, files)", key);
    ck->seq = strtoull(seq->str, NULL, 10);
    if (ck->seq != h.max)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: holds seq %" PRIu64, key, ck->seq);
    memcpy(ck->hash, hash->str, 65);
    ck->schema_version = ver && ver->type == PQF__JNUM ? atoi(ver->str) : 0;
    snprintf(ck->applied_at, sizeof ck->applied_at, "%s",
             at && at->type == PQF__JSTR ? at->str : "");
    if (files) {
        *files = calloc(fl->len + 1, sizeof **files);
        if (!*files)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        for (const pqf__json *f = fl->child; f; f = f->next) {
            const pqf__json *k = pqf__json_get(f, "key");
            if (!k || k->type != PQF__JSTR)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: a file without a key", key);
            if (!((*files)[*nfiles] = strdup(k->str)))
                PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
            (*nfiles)++;
        }
    }
done:
    if (rc != PQF_OK && files) {
        pqf_strv_free(*files, *nfiles);
        *files = NULL;
        *nfiles = 0;
    }
    pqf__json_doc_free(&doc);
    free(data);
    return rc;
}

/* ---- the vtable --------------------------------------------------------------------- */

static pqf_err pq_setup(pqf_sink *base, pqf_error *err)
{
    return PQF_OK;
}

static void tidy(parquet_sink *s, const char *table, uint64_t seq, char *const *keep,
                 size_t nkeep);

static pqf_err pq_checkpoint(pqf_sink *base, const char *table, pqf__ckpt *out, pqf_error *err)
{
    parquet_sink *s = (parquet_sink *)base;
    char **files = NULL;
    size_t nfiles = 0, nmanifests = 0;
    pqf_err rc = read_manifest(s, table, out, &files, &nfiles, &nmanifests, err);
    /* a crash after a manifest, before its tidy: finish it now, or a rerun
     * with nothing to apply would leave the old state beside the new */
    if (rc == PQF_OK && nmanifests > 1 && !base->readonly)
        tidy(s, table, out->seq, files, nfiles);
    pqf_strv_free(files, nfiles);
    return rc;
}

static pqf_err pq_begin(pqf_sink *base, pqf_error *err)
{
    parquet_sink *s = (parquet_sink *)base;
    s->in_tx = true;
    s->file_written = false;
    s->file_key[0] = 0;
    state_reset(s);
    return PQF_OK;
}

static pqf_err pq_sync_table(pqf_sink *base, const pqf__tdef *t, pqf_error *err)
{
    ((parquet_sink *)base)->t = t;
    return PQF_OK;
}

/* Read the current state (the files the latest manifest names) into memory. */
static pqf_err load_state(parquet_sink *s, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__ckpt ck;
    char **files = NULL;
    size_t nfiles = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    pqf_istream *in = NULL;
    pqf_reader *rd = NULL;
    pqf__colread *cr = NULL;
    pqf__val *vals = calloc(s->t->ncols + 2, sizeof *vals);
    if (!vals)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(read_manifest(s, s->t->table, &ck, &files, &nfiles, NULL, err));
    for (size_t i = 0; i < nfiles; i++) {
        PQF_TRY(pqf_store_get_bytes(s->st, files[i], NULL, MAX_STATE_FILE, &data, &len, err));
        PQF_TRY(pqf_istream_mem(data, len, files[i], &in, err));
        PQF_TRY(pqf_reader_open(in, NULL, &rd, err));
        PQF_TRY(pqf__colread_open(rd, s->t, false, files[i], &cr, err));
        for (;;) {
            bool got = false;
            PQF_TRY(pqf__colread_next(cr, vals, &got, err));
            if (!got)
                break;
            PQF_TRY(render(s, vals, err));
            if (put_row(s, s->t->nkeys > 0) != PQF_OK) {
                rc = oom(err);
                goto done;
            }
        }
        pqf__colread_free(cr);
        cr = NULL;
        pqf_reader_free(rd);
        rd = NULL;
        pqf_istream_free(in);
        in = NULL;
        free(data);
        data = NULL;
    }
done:
    if (rc != PQF_OK)
        pqf_error_prefix(err, "%s: reading the current state: ", s->base.name);
    pqf__colread_free(cr);
    pqf_reader_free(rd);
    pqf_istream_free(in);
    free(data);
    free(vals);
    pqf_strv_free(files, nfiles);
    return rc;
}

static pqf_err pq_load_begin(pqf_sink *base, const pqf__tdef *t, bool changes, pqf_error *err)
{
    parquet_sink *s = (parquet_sink *)base;
    s->t = t;
    s->changes = changes;
    state_reset(s);
    return changes ? load_state(s, err) : PQF_OK;
}

static pqf_err apply_change(parquet_sink *s, char op, pqf_error *err)
{
    if (op == 'D') {
        del_row(s);
        return PQF_OK;
    }
    pqf_err rc = put_row(s, true);
    return rc == PQF_OK ? PQF_OK : oom(err);
}

static pqf_err pq_load_row(pqf_sink *base, const pqf__val *vals, pqf_error *err)
{
    parquet_sink *s = (parquet_sink *)base;
    const pqf__tdef *t = s->t;
    pqf_err rc = render(s, vals, err);
    if (rc != PQF_OK)
        return rc;
    if (!s->changes) {
        rc = put_row(s, false);
        return rc == PQF_OK ? PQF_OK : oom(err);
    }
    char op = vals[t->ncols].s[0];
    int64_t seq = vals[t->ncols + 1].i;
    if (!s->base.staged) {
        if (s->have_seq && seq < s->last_seq) {
            s->base.reorder = true;
            return pqf_error_set(err, PQF_ERR_VALUE,
                                 "%s: table %s: _seq %" PRId64 " after %" PRId64
                                 ": rows out of order (applied again in _seq order)",
                                 s->base.name, t->table, seq, s->last_seq);
        }
        s->have_seq = true;
        s->last_seq = seq;
        return apply_change(s, op, err);
    }
    /* staged: keep the change, sorted and merged at load_end */
    if (s->nchg == s->capchg) {
        size_t nc = s->capchg ? s->capchg * 2 : 1024;
        change *p = realloc(s->chg, nc * sizeof *p);
        if (!p)
            return oom(err);
        s->chg = p;
        s->capchg = nc;
    }
    change *c = &s->chg[s->nchg];
    c->seq = seq;
    c->ord = s->nchg;
    c->op = op;
    c->klen = s->key.len;
    c->llen = s->line.len;
    if (append(s, s->key.data, s->key.len, &c->koff) != PQF_OK ||
        append(s, s->line.data, s->line.len, &c->loff) != PQF_OK)
        return oom(err);
    s->nchg++;
    return PQF_OK;
}

static int by_seq(const void *a, const void *b)
{
    const change *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* Write the live rows to a temporary NDJSON file, then as Parquet to the store. */
static pqf_err write_state(parquet_sink *s, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char tmp[512];
    FILE *fp = NULL;
    int fd = -1;
    pqf_schema *schema = NULL;
    pqf_source *src = NULL;
    pqf_writer *w = NULL;
    pqf_ostream *out = NULL;
    const char *dir = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/pqfeed-sink-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(tmp);
    if (fd < 0 || !(fp = fdopen(fd, "w")))
        PQF_FAIL(err, PQF_ERR_IO, "%s: cannot create a temporary file", tmp);
    fd = -1;
    uint64_t rows = 0;
    for (size_t i = 0; i < s->nents; i++) {
        const entry *en = &s->ents[i];
        if (!en->live)
            continue;
        if (fwrite(s->arena.data + en->loff, 1, en->llen, fp) != en->llen)
            PQF_FAIL(err, PQF_ERR_IO, "%s: write failed", tmp);
        rows++;
    }
    if (fclose(fp) != 0) {
        fp = NULL;
        PQF_FAIL(err, PQF_ERR_IO, "%s: write failed", tmp);
    }
    fp = NULL;
    uint8_t rnd[4] = {0};
    FILE *ur = fopen("/dev/urandom", "rb");
    if (!ur || fread(rnd, 1, 4, ur) != 4) {
        if (ur)
            fclose(ur);
        PQF_FAIL(err, PQF_ERR_IO, "cannot read /dev/urandom");
    }
    fclose(ur);
    snprintf(s->file_key, sizeof s->file_key, "%s/data/%020" PRIu64 "-%02x%02x%02x%02x.parquet",
             s->t->table, s->ck_seq, rnd[0], rnd[1], rnd[2], rnd[3]);
    PQF_TRY(pqf_schema_from_json(s->t->schema_json, s->t->schema_len, s->t->table, &schema, err));
    pqf_source_opts so;
    pqf_source_opts_init(&so);
    so.format = PQF_FORMAT_NDJSON;
    so.max_record_bytes = (size_t)256 << 20;
    PQF_TRY(pqf_source_open(tmp, schema, &so, &src, err));
    pqf_put_options po = {.if_absent = true, .content_type = "application/vnd.apache.parquet"};
    PQF_TRY(pqf_store_put(s->st, s->file_key, &po, &out, err));
    pqf_writer_opts wo;
    pqf_writer_opts_init(&wo);
    PQF_TRY(pqf_writer_create(schema, out, &wo, &w, err));
    uint64_t n = 0;
    if (pqf_source_run(src, w, &n) != PQF_OK) {
        *err = *pqf_source_error(src);
        rc = err->code ? err->code : PQF_ERR_INTERNAL;
        goto done;
    }
    if (pqf_writer_close(w) != PQF_OK) {
        *err = *pqf_writer_error(w);
        rc = err->code;
        goto done;
    }
    if (pqf_ostream_commit(out) != PQF_OK) {
        *err = *pqf_ostream_error(out);
        rc = err->code;
        goto done;
    }
    if (n != rows)
        PQF_FAIL(err, PQF_ERR_INTERNAL, "%s: wrote %" PRIu64 " rows of %" PRIu64, s->file_key, n,
                 rows);
    s->file_written = true;
    s->file_rows = rows;
done:
    if (rc != PQF_OK)
        pqf_error_prefix(err, "%s: writing %s: ", s->base.name, s->file_key);
    pqf_writer_free(w);
    pqf_ostream_free(out);
    pqf_source_free(src);
    pqf_schema_free(schema);
    if (fp)
        fclose(fp);
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

static pqf_err pq_load_end(pqf_sink *base, pqf_error *err)
{
    parquet_sink *s = (parquet_sink *)base;
    if (s->changes && s->base.staged && s->nchg) {
        qsort(s->chg, s->nchg, sizeof *s->chg, by_seq);
        for (size_t i = 0; i < s->nchg; i++) {
            const change *c = &s->chg[i];
            /* copy out: the arena may move while rows are added */
            pqf__buf_reset(&s->key);
            pqf__buf_reset(&s->line);
            if (pqf__buf_append(&s->key, s->arena.data + c->koff, c->klen) != PQF_OK ||
                pqf__buf_append(&s->line, s->arena.data + c->loff, c->llen) != PQF_OK)
                return oom(err);
            pqf_err rc = apply_change(s, c->op, err);
            if (rc != PQF_OK)
                return rc;
        }
        s->nchg = 0;
    }
    return PQF_OK; /* written at put_checkpoint, when the seq is known */
}

static pqf_err pq_put_checkpoint(pqf_sink *base, const pqf__ckpt_put *c, pqf_error *err)
{
    parquet_sink *s = (parquet_sink *)base;
    pqf_err rc = PQF_OK;
    s->ck_seq = c->seq;
    s->ck_rows = c->rows;
    s->ck_version = c->schema_version;
    snprintf(s->ck_hash, sizeof s->ck_hash, "%s", c->hash);
    snprintf(s->ck_kind, sizeof s->ck_kind, "%s", c->kind);
    snprintf(s->ck_created, sizeof s->ck_created, "%s", c->created_at ? c->created_at : "");
    snprintf(s->ck_applied, sizeof s->ck_applied, "%s", c->applied_at);
    PQF_TRY(write_state(s, err));
    pqf__crashpoint("apply.parquet-file-written");
done:
    return rc;
}

/* Delete what the manifest of seq no longer needs: older manifests first,
 * then the data files other than keep[], so that no manifest ever names a
 * missing file, even after a crash in between (best effort: what is left
 * goes at the next publish, or when the checkpoint is next read). */
static void tidy(parquet_sink *s, const char *table, uint64_t seq, char *const *keep,
                 size_t nkeep)
{
    char prefix[PQF_TABLE_NAME_MAX + 16];
    const char *dirs[2] = {"_manifest", "data"};
    char mkey[PQF_TABLE_NAME_MAX + 64];
    manifest_key(table, seq, mkey, sizeof mkey);
    for (int d = 0; d < 2; d++) {
        pqf_error e = {0};
        snprintf(prefix, sizeof prefix, "%s/%s/", table, dirs[d]);
        scan h = {.plen = strlen(prefix), .collect = true};
        if (pqf_store_list(s->st, prefix, NULL, on_key, &h, &e) == PQF_OK) {
            for (size_t i = 0; i < h.nkeys; i++) {
                bool kept = strcmp(h.keys[i], mkey) == 0;
                for (size_t k = 0; k < nkeep && !kept; k++)
                    kept = strcmp(h.keys[i], keep[k]) == 0;
                if (!kept)
                    pqf_store_delete(s->st, h.keys[i], NULL, &e);
            }
        }
        pqf_strv_free(h.keys, h.nkeys);
    }
}

static pqf_err pq_commit(pqf_sink *base, pqf_error *err)
{
    parquet_sink *s = (parquet_sink *)base;
    pqf_err rc = PQF_OK;
    char key[PQF_TABLE_NAME_MAX + 64];
    pqf__buf *m = &s->manifest;
    if (!s->file_written)
        PQF_FAIL(err, PQF_ERR_INTERNAL, "%s: commit without a written state", s->base.name);
    pqf__buf_reset(m);
    PQF_TRY(pqf__buf_printf(m, "{\"format\":\"pqfeed-parquet-snapshot\",\"version\":1,\"table\":"));
    PQF_TRY(pqf__json_write_str(m, s->t->table, strlen(s->t->table)));
    PQF_TRY(pqf__buf_printf(m,
                            ",\"seq\":%" PRIu64 ",\"commit_hash\":\"%s\",\"schema_version\":%d,"
                            "\"kind\":\"%s\",\"commit_rows\":%" PRIu64
                            ",\"commit_created_at\":\"%s\",\"applied_at\":\"%s\",\"rows\":%" PRIu64
                            ",\"files\":[{\"key\":",
                            s->ck_seq, s->ck_hash, s->ck_version, s->ck_kind, s->ck_rows,
                            s->ck_created, s->ck_applied, s->file_rows));
    PQF_TRY(pqf__json_write_str(m, s->file_key, strlen(s->file_key)));
    PQF_TRY(pqf__buf_printf(m, ",\"rows\":%" PRIu64 "}]}\n", s->file_rows));
    manifest_key(s->t->table, s->ck_seq, key, sizeof key);
    pqf_put_options po = {.if_absent = true, .content_type = "application/json"};
    rc = pqf_store_put_bytes(s->st, key, m->data, m->len, &po, err);
    if (rc == PQF_ERR_EXISTS)
        PQF_FAIL(err, PQF_ERR_CONFLICT,
                 "%s: %s exists: another apply published commit %" PRIu64 " of %s first",
                 s->base.name, key, s->ck_seq, s->t->table);
    PQF_TRY(rc);
    s->in_tx = false;
    s->file_written = false; /* published: no longer ours to delete */
    pqf__crashpoint("apply.parquet-published"); /* published, not tidied */
    char *fk = s->file_key;
    tidy(s, s->t->table, s->ck_seq, &fk, 1);
    state_reset(s);
done:
    if (rc == PQF_ERR_LIMIT || rc == PQF_ERR_NOMEM)
        pqf_error_set(err, rc, "out of memory (manifest)");
    return rc;
}

static void pq_rollback(pqf_sink *base)
{
    parquet_sink *s = (parquet_sink *)base;
    if (s->in_tx && s->file_written) { /* never published: remove it now */
        pqf_error e = {0};
        pqf_store_delete(s->st, s->file_key, NULL, &e);
    }
    s->file_written = false;
    s->in_tx = false;
    state_reset(s);
}

static pqf_err pq_quarantine(pqf_sink *base, const pqf__quarantine_put *q, pqf_error *err)
{
    parquet_sink *s = (parquet_sink *)base;
    pqf_err rc = PQF_OK;
    char key[PQF_TABLE_NAME_MAX + 128];
    pqf__buf b;
    pqf__buf_init(&b, (size_t)1 << 20);
    snprintf(key, sizeof key, "%s/_quarantine/%020" PRIu64 "-%.16s.json", q->table, q->seq,
             q->got_sha256);
    PQF_TRY(pqf__buf_printf(&b, "{\"table\":"));
    PQF_TRY(pqf__json_write_str(&b, q->table, strlen(q->table)));
    PQF_TRY(pqf__buf_printf(&b, ",\"seq\":%" PRIu64 ",\"file_key\":", q->seq));
    PQF_TRY(pqf__json_write_str(&b, q->key, strlen(q->key)));
    PQF_TRY(pqf__buf_printf(
        &b, ",\"expected_sha256\":\"%s\",\"got_sha256\":\"%s\",\"detected_at\":\"%s\"}\n",
        q->expected_sha256, q->got_sha256, q->at));
    PQF_TRY(pqf_store_put_bytes(s->st, key, b.data, b.len, NULL, err));
done:
    pqf__buf_free(&b);
    return rc;
}

static void pq_destroy(pqf_sink *base)
{
    parquet_sink *s = (parquet_sink *)base;
    pq_rollback(base);
    pqf_store_free(s->st);
    pqf__buf_free(&s->arena);
    pqf__buf_free(&s->line);
    pqf__buf_free(&s->key);
    pqf__buf_free(&s->manifest);
    free(s->ents);
    free(s->slots);
    free(s->chg);
    free(s);
}

static const pqf__sink_vt parquet_vt = {
    "parquet",     pq_setup,      pq_checkpoint, pq_begin,          pq_sync_table,
    pq_load_begin, pq_load_row,   pq_load_end,   pq_put_checkpoint, pq_commit,
    pq_rollback,   pq_quarantine, pq_destroy,
};

pqf_err pqf__sink_parquet_open(const char *url, pqf_sink **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    parquet_sink *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    s->base.vt = &parquet_vt;
    pqf__buf_init(&s->arena, MAX_STATE);
    pqf__buf_init(&s->line, (size_t)256 << 20);
    pqf__buf_init(&s->key, (size_t)64 << 20);
    pqf__buf_init(&s->manifest, MANIFEST_LIMIT);
    PQF_TRY(pqf_store_open(url, NULL, &s->st, err));
    snprintf(s->base.name, sizeof s->base.name, "parquet:%s", pqf_store_uri(s->st));
    *out = &s->base;
    s = NULL;
done:
    if (s)
        pq_destroy(&s->base);
    return rc;
}
