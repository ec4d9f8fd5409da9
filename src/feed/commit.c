/* Commit objects: canonical JSON encoding and strict decoding. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/timefmt.h"
#include "base/buf.h"
#include "base/hash.h"
#include "pqfeed/feed.h"
#include "source/json.h"

#define COMMIT_MAX_BYTES (64u << 20)

pqf_commit *pqf_commit_new(void) { return calloc(1, sizeof(pqf_commit)); }

void pqf_commit_free(pqf_commit *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nfiles; i++)
        free(c->files[i].key);
    free(c->files);
    free(c->table);
    free(c->wm_column);
    free(c->wm_from);
    free(c->wm_to);
    free(c->producer);
    free(c);
}

static bool is_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

pqf_err pqf_commit_add_file(pqf_commit *c, const char *key, uint64_t bytes, uint64_t rows,
                            const char *sha256, const char *crc32c, pqf_error *err)
{
    if (!is_hex(sha256, 64) || !is_hex(crc32c, 8))
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "commit file %s: bad checksum text", key);
    pqf_commit_file *nf = realloc(c->files, (c->nfiles + 1) * sizeof *nf);
    if (!nf)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    c->files = nf;
    pqf_commit_file *f = &c->files[c->nfiles];
    memset(f, 0, sizeof *f);
    f->key = strdup(key);
    if (!f->key)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    f->bytes = bytes;
    f->rows = rows;
    memcpy(f->sha256, sha256, 65);
    memcpy(f->crc32c, crc32c, 9);
    c->nfiles++;
    c->rows += rows;
    c->bytes += bytes;
    return PQF_OK;
}

static pqf_err put_str(pqf__buf *b, const char *key, const char *v)
{
    pqf_err rc = pqf__buf_printf(b, "\"%s\":", key);
    if (rc != PQF_OK)
        return rc;
    if (!v)
        return pqf__buf_append(b, "null", 4);
    return pqf__json_write_str(b, v, strlen(v));
}


pqf_err pqf_commit_encode(const pqf_commit *c, char **out, size_t *len, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf b;
    pqf__buf_init(&b, COMMIT_MAX_BYTES);
    char ts[48];
    pqf__iso_ms(c->created_ms, ts);
    PQF_TRY(pqf__buf_printf(&b, "{\"format\":\"%s\",", PQF_FEED_FORMAT));
    PQF_TRY(put_str(&b, "table", c->table));
    PQF_TRY(pqf__buf_printf(&b, ",\"seq\":%" PRIu64 ",", c->seq));
    PQF_TRY(put_str(&b, "prev", c->prev[0] ? c->prev : NULL));
    PQF_TRY(pqf__buf_printf(&b, ",\"kind\":\"%s\",\"schema_version\":%d,",
                            c->kind == PQF_COMMIT_CHANGES ? "changes" : "snapshot",
                            c->schema_version));
    if (c->wm_column) {
        PQF_TRY(pqf__buf_printf(&b, "\"watermark\":{"));
        PQF_TRY(put_str(&b, "column", c->wm_column));
        PQF_TRY(pqf__buf_append_byte(&b, ','));
        PQF_TRY(put_str(&b, "from", c->wm_from));
        PQF_TRY(pqf__buf_append_byte(&b, ','));
        PQF_TRY(put_str(&b, "to", c->wm_to));
        PQF_TRY(pqf__buf_printf(&b, "},"));
    } else {
        PQF_TRY(pqf__buf_printf(&b, "\"watermark\":null,"));
    }
    PQF_TRY(pqf__buf_printf(&b, "\"created_at\":\"%s\",", ts));
    PQF_TRY(put_str(&b, "producer", c->producer));
    PQF_TRY(pqf__buf_append_byte(&b, ','));
    PQF_TRY(put_str(&b, "source_blake3", c->source_blake3[0] ? c->source_blake3 : NULL));
    PQF_TRY(pqf__buf_printf(&b, ",\"rows\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"files\":[",
                            c->rows, c->bytes));
    for (size_t i = 0; i < c->nfiles; i++) {
        const pqf_commit_file *f = &c->files[i];
        PQF_TRY(pqf__buf_printf(&b, "%s{", i ? "," : ""));
        PQF_TRY(put_str(&b, "key", f->key));
        PQF_TRY(pqf__buf_printf(&b,
                                ",\"bytes\":%" PRIu64 ",\"rows\":%" PRIu64
                                ",\"sha256\":\"%s\",\"crc32c\":\"%s\"}",
                                f->bytes, f->rows, f->sha256, f->crc32c));
    }
    PQF_TRY(pqf__buf_printf(&b, "]}\n"));
    PQF_TRY(pqf__buf_cstr(&b));
    *out = (char *)pqf__buf_steal(&b, len);
done:
    if (rc != PQF_OK && err && err->code == PQF_OK)
        pqf_error_set(err, rc, "encoding commit %" PRIu64 " of %s: %s", c->seq,
                      c->table ? c->table : "?", pqf_strerror(rc));
    pqf__buf_free(&b);
    return rc;
}

/* ---- decoding ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    pqf_error *err;
} dctx;

static pqf_err bad(dctx *d, const char *field, const char *why)
{
    return pqf_error_set(d->err, PQF_ERR_CORRUPT, "%s: commit field '%s' %s", d->name, field, why);
}

static pqf_err get_u64(dctx *d, const pqf__json *o, const char *k, uint64_t *out)
{
    const pqf__json *v = pqf__json_get(o, k);
    if (!v || v->type != PQF__JNUM)
        return bad(d, k, "is missing or not a number");
    const char *s = v->str;
    if (v->len == 0 || v->len > 20 || s[0] == '-')
        return bad(d, k, "is not a non-negative integer");
    uint64_t x = 0;
    for (uint32_t i = 0; i < v->len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return bad(d, k, "is not an integer");
        unsigned dgt = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - dgt) / 10)
            return bad(d, k, "is out of range");
        x = x * 10 + dgt;
    }
    *out = x;
    return PQF_OK;
}

static pqf_err get_str(dctx *d, const pqf__json *o, const char *k, bool nullable, char **out)
{
    const pqf__json *v = pqf__json_get(o, k);
    *out = NULL;
    if (v && v->type == PQF__JNULL && nullable)
        return PQF_OK;
    if (!v || v->type != PQF__JSTR)
        return bad(d, k, nullable ? "is missing or not a string or null" : "is missing or not a string");
    if (strlen(v->str) != v->len)
        return bad(d, k, "contains a NUL byte");
    *out = strdup(v->str);
    if (!*out)
        return pqf_error_set(d->err, PQF_ERR_NOMEM, "out of memory");
    return PQF_OK;
}

static pqf_err get_hex(dctx *d, const pqf__json *o, const char *k, size_t n, bool nullable,
                       char *out)
{
    char *s = NULL;
    pqf_err rc = get_str(d, o, k, nullable, &s);
    if (rc != PQF_OK)
        return rc;
    if (!s) {
        out[0] = '\0';
        return PQF_OK;
    }
    if (!is_hex(s, n)) {
        free(s);
        return bad(d, k, "is not lower-case hex of the right length");
    }
    memcpy(out, s, n + 1);
    free(s);
    return PQF_OK;
}

static bool parse_iso_ms(const char *s, int64_t *ms)
{
    /* %d alone would take a sign or a blank ("T-1:00"): check the digits first */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (strlen(s) != sizeof shape - 1)
        return false;
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return false;
    int Y, M, D, h, m, sec, frac; /* the shape holds the separators and the Z */
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &Y, &M, &D, &h, &m, &sec, &frac) != 7 ||
        M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return false;
    *ms = ((pqf__days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec) *
           1000) +
          frac;
    return true;
}

pqf_err pqf_commit_decode(const char *text, size_t len, const char *name, pqf_commit **out,
                          pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__json_doc doc;
    pqf__json_limits lim = {.max_depth = 8, .max_arena = COMMIT_MAX_BYTES * 4};
    pqf__json *root = NULL;
    pqf_commit *c = NULL;
    char *s = NULL;
    dctx d = {name, err};
    *out = NULL;
    pqf__json_doc_init(&doc, &lim);
    if (len > COMMIT_MAX_BYTES)
        PQF_FAIL(err, PQF_ERR_LIMIT, "%s: commit object of %zu bytes is over the limit", name, len);
    if (pqf__json_parse(&doc, text, len, &root) != PQF_OK)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: not valid JSON: %s", name, doc.err.msg);
    if (root->type != PQF__JOBJ)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit object is not a JSON object", name);
    c = pqf_commit_new();
    if (!c)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(get_str(&d, root, "format", false, &s));
    if (strcmp(s, PQF_FEED_FORMAT) != 0)
        PQF_FAIL(err, PQF_ERR_UNSUPPORTED, "%s: commit format '%s' is not supported (want %s)",
                 name, s, PQF_FEED_FORMAT);
    PQF_TRY(get_str(&d, root, "table", false, &c->table));
    if (!pqf_table_name_ok(c->table))
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit field 'table' is not a valid table name", name);
    PQF_TRY(get_u64(&d, root, "seq", &c->seq));
    if (c->seq == 0)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit field 'seq' must be at least 1", name);
    PQF_TRY(get_hex(&d, root, "prev", 64, true, c->prev));
    if ((c->seq == 1) != (c->prev[0] == '\0'))
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit field 'prev' must be null exactly for seq 1",
                 name);
    free(s);
    s = NULL;
    PQF_TRY(get_str(&d, root, "kind", false, &s));
    if (strcmp(s, "snapshot") == 0)
        c->kind = PQF_COMMIT_SNAPSHOT;
    else if (strcmp(s, "changes") == 0)
        c->kind = PQF_COMMIT_CHANGES;
    else
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit field 'kind' is '%s', not snapshot or changes",
                 name, s);
    uint64_t sv;
    PQF_TRY(get_u64(&d, root, "schema_version", &sv));
    if (sv < 1 || sv > 1000000)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit field 'schema_version' out of range", name);
    c->schema_version = (int)sv;
    const pqf__json *wm = pqf__json_get(root, "watermark");
    if (!wm)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit field 'watermark' is missing", name);
    if (wm->type == PQF__JOBJ) {
        PQF_TRY(get_str(&d, wm, "column", false, &c->wm_column));
        PQF_TRY(get_str(&d, wm, "from", true, &c->wm_from));
        PQF_TRY(get_str(&d, wm, "to", true, &c->wm_to));
    } else if (wm->type != PQF__JNULL) {
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit field 'watermark' is not an object or null",
                 name);
    }
    free(s);
    s = NULL;
    PQF_TRY(get_str(&d, root, "created_at", false, &s));
    if (!parse_iso_ms(s, &c->created_ms))
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit field 'created_at' is not YYYY-MM-DDTHH:MM:SS.mmmZ",
                 name);
    PQF_TRY(get_str(&d, root, "producer", true, &c->producer));
    /* commits written before the digest became BLAKE3 carry `source_sha256`
     * (docs/FORMAT.md): read, checked and not kept (it never equals a BLAKE3
     * digest, so such a head snapshot is simply not recognised as unchanged) */
    bool legacy = pqf__json_get(root, "source_sha256") != NULL;
    if (legacy && pqf__json_get(root, "source_blake3"))
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit has both 'source_blake3' and 'source_sha256'",
                 name);
    PQF_TRY(get_hex(&d, root, legacy ? "source_sha256" : "source_blake3", 64, true,
                    c->source_blake3));
    if (legacy)
        c->source_blake3[0] = '\0';
    uint64_t rows, bytes;
    PQF_TRY(get_u64(&d, root, "rows", &rows));
    PQF_TRY(get_u64(&d, root, "bytes", &bytes));
    const pqf__json *files = pqf__json_get(root, "files");
    if (!files || files->type != PQF__JARR)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit field 'files' is missing or not an array", name);
    for (const pqf__json *f = files->child; f; f = f->next) {
        char key[64];
        snprintf(key, sizeof key, "files[%zu]", c->nfiles);
        if (f->type != PQF__JOBJ)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit field '%s' is not an object", name, key);
        char *fkey = NULL;
        uint64_t fb, fr;
        char sha[65], crc[9];
        PQF_TRY(get_str(&d, f, "key", false, &fkey));
        free(s);
        s = fkey;
        if (!fkey[0] || fkey[0] == '/' || strstr(fkey, "..") || strncmp(fkey, c->table, strlen(c->table)) != 0 ||
            fkey[strlen(c->table)] != '/')
            PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: %s.key '%s' is not a key under the table", name, key,
                     fkey);
        PQF_TRY(get_u64(&d, f, "bytes", &fb));
        PQF_TRY(get_u64(&d, f, "rows", &fr));
        PQF_TRY(get_hex(&d, f, "sha256", 64, false, sha));
        PQF_TRY(get_hex(&d, f, "crc32c", 8, false, crc));
        PQF_TRY(pqf_commit_add_file(c, fkey, fb, fr, sha, crc, err));
    }
    if (rows != c->rows || bytes != c->bytes)
        PQF_FAIL(err, PQF_ERR_CORRUPT, "%s: commit totals (rows %" PRIu64 ", bytes %" PRIu64
                 ") do not add up to its files (%" PRIu64 ", %" PRIu64 ")",
                 name, rows, bytes, c->rows, c->bytes);
    uint8_t h[32];
    pqf__sha256(text, len, h);
    pqf__hex(h, 32, c->hash);
    *out = c;
    c = NULL;
done:
    free(s);
    pqf_commit_free(c);
    pqf__json_doc_free(&doc);
    return rc;
}
