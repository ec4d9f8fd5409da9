/* Store dispatch: URI parsing, the public entry points, and the operations
 * built from others (put_bytes, get_bytes, copy by streaming). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "store/store_impl.h"

pqf_err pqf__store_check_key(const char *key, pqf_error *err)
{
    if (!key || !*key)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "empty object key");
    size_t n = strlen(key);
    if (n > 1024)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "object key longer than 1024 bytes");
    if (key[0] == '/')
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "object key '%s' starts with '/'", key);
    const char *p = key;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t sl = e ? (size_t)(e - p) : strlen(p);
        if ((sl == 1 && p[0] == '.') || (sl == 2 && p[0] == '.' && p[1] == '.'))
            return pqf_error_set(err, PQF_ERR_INVALID_ARG,
                                 "object key '%s' has a '.' or '..' segment", key);
        if (!e)
            break;
        p = e + 1;
    }
    return PQF_OK;
}

pqf_err pqf_store_open(const char *uri, const pqf_store_options *opt, pqf_store **out,
                       pqf_error *err)
{
    static const pqf_store_options none;
    pqf_err rc = PQF_OK;
    char *bucket = NULL;
    *out = NULL;
    if (!opt)
        opt = &none;
    if (!uri || !*uri)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "empty store URI");
    if (strncmp(uri, "s3://", 5) == 0) {
        const char *b = uri + 5;
        const char *slash = strchr(b, '/');
        size_t bl = slash ? (size_t)(slash - b) : strlen(b);
        if (bl < 3 || bl > 63)
            PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: bucket names have 3 to 63 characters", uri);
        bucket = strndup(b, bl);
        if (!bucket)
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        const char *prefix = slash ? slash + 1 : "";
        PQF_TRY(pqf__store_s3_open(bucket, prefix, opt, out, err));
    } else if (strncmp(uri, "file://", 7) == 0) {
        const char *path = uri + 7;
        if (path[0] != '/')
            PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: file URIs need an absolute path (file:///dir)",
                     uri);
        PQF_TRY(pqf__store_file_open(path, opt, out, err));
    } else if (strstr(uri, "://")) {
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "%s: unknown store scheme (use s3:// or file://)", uri);
    } else {
        PQF_TRY(pqf__store_file_open(uri, opt, out, err));
    }
done:
    free(bucket);
    return rc;
}

void pqf_store_free(pqf_store *s)
{
    if (!s)
        return;
    char *uri = s->uri;
    s->vt->destroy(s);
    free(uri);
}

const char *pqf_store_uri(const pqf_store *s)
{
    return s->uri;
}
bool pqf_store_is_s3(const pqf_store *s)
{
    return strcmp(s->vt->kind, "s3") == 0;
}

static pqf_err unsupported(const pqf_store *s, const char *what, pqf_error *err)
{
    return pqf_error_set(err, PQF_ERR_UNSUPPORTED, "%s: %s is not supported by %s stores", s->uri,
                         what, s->vt->kind);
}

pqf_err pqf_store_put(pqf_store *s, const char *key, const pqf_put_options *opt, pqf_ostream **out,
                      pqf_error *err)
{
    static const pqf_put_options none;
    *out = NULL;
    pqf_err rc = pqf__store_check_key(key, err);
    if (rc != PQF_OK)
        return rc;
    return s->vt->put(s, key, opt ? opt : &none, out, err);
}

pqf_err pqf_store_sync(pqf_store *s, pqf_error *err)
{
    return s->vt->sync ? s->vt->sync(s, err) : PQF_OK;
}

pqf_err pqf_store_put_bytes(pqf_store *s, const char *key, const void *data, size_t len,
                            const pqf_put_options *opt, pqf_error *err)
{
    pqf_put_options o = opt ? *opt : (pqf_put_options){0};
    pqf_ostream *os = NULL;
    pqf_err rc = PQF_OK;
    if (!o.size_hint)
        o.size_hint = len;
    PQF_TRY(pqf_store_put(s, key, &o, &os, err));
    rc = pqf_ostream_write(os, data, len);
    if (rc == PQF_OK)
        rc = pqf_ostream_commit(os);
    if (rc != PQF_OK) {
        const pqf_error *e = pqf_ostream_error(os);
        pqf_error_set(err, e->code ? e->code : rc, "%s", e->msg);
        rc = err ? err->code : rc;
    }
done:
    pqf_ostream_free(os);
    return rc;
}

pqf_err pqf_store_open_read(pqf_store *s, const char *key, const pqf_get_options *opt,
                            pqf_istream **out, pqf_object_info *info, pqf_error *err)
{
    static const pqf_get_options none;
    *out = NULL;
    pqf_err rc = pqf__store_check_key(key, err);
    if (rc != PQF_OK)
        return rc;
    return s->vt->open_read(s, key, opt ? opt : &none, out, info, err);
}

pqf_err pqf_store_get_to(pqf_store *s, const char *key, const pqf_get_options *opt,
                         pqf_ostream *dst, pqf_object_info *info, pqf_error *err)
{
    static const pqf_get_options none;
    pqf_err rc = pqf__store_check_key(key, err);
    if (rc != PQF_OK)
        return rc;
    return s->vt->get_to(s, key, opt ? opt : &none, dst, info, err);
}

pqf_err pqf_store_get_bytes(pqf_store *s, const char *key, const pqf_get_options *opt, size_t limit,
                            uint8_t **data, size_t *len, pqf_error *err)
{
    pqf_ostream *os = NULL;
    pqf_err rc = PQF_OK;
    *data = NULL;
    *len = 0;
    PQF_TRY(pqf_ostream_mem(limit, &os, err));
    PQF_TRY(pqf_store_get_to(s, key, opt, os, NULL, err));
    size_t n;
    const uint8_t *p = pqf_ostream_mem_data(os, &n);
    *data = malloc(n + 1);
    if (!*data)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    if (n)
        memcpy(*data, p, n);
    (*data)[n] = 0;
    *len = n;
done:
    pqf_ostream_free(os);
    return rc;
}

pqf_err pqf_store_head(pqf_store *s, const char *key, const pqf_get_options *opt,
                       pqf_object_info *info, pqf_error *err)
{
    static const pqf_get_options none;
    pqf_err rc = pqf__store_check_key(key, err);
    if (rc != PQF_OK)
        return rc;
    memset(info, 0, sizeof *info);
    return s->vt->head(s, key, opt ? opt : &none, info, err);
}

pqf_err pqf_store_list(pqf_store *s, const char *prefix, const pqf_list_options *opt,
                       pqf_list_cb cb, void *ud, pqf_error *err)
{
    static const pqf_list_options none;
    return s->vt->list(s, prefix ? prefix : "", opt ? opt : &none, cb, ud, err);
}

pqf_err pqf_store_delete(pqf_store *s, const char *key, const char *version_id, pqf_error *err)
{
    pqf_err rc = pqf__store_check_key(key, err);
    if (rc != PQF_OK)
        return rc;
    return s->vt->del(s, key, version_id, err);
}

pqf_err pqf_store_delete_many(pqf_store *s, const char *const *keys, size_t n, size_t *deleted,
                              pqf_error *err)
{
    size_t d = 0;
    pqf_err rc = PQF_OK;
    for (size_t i = 0; i < n && rc == PQF_OK; i++)
        rc = pqf__store_check_key(keys[i], err);
    if (rc == PQF_OK && n) {
        if (s->vt->del_many) {
            rc = s->vt->del_many(s, keys, n, &d, err);
        } else {
            for (size_t i = 0; i < n && rc == PQF_OK; i++) {
                rc = s->vt->del(s, keys[i], NULL, err);
                d += rc == PQF_OK;
            }
        }
    }
    if (deleted)
        *deleted = d;
    return rc;
}

pqf_err pqf_store_copy(pqf_store *src, const char *src_key, pqf_store *dst, const char *dst_key,
                       const pqf_put_options *opt, pqf_error *err)
{
    static const pqf_put_options none;
    pqf_ostream *os = NULL;
    pqf_object_info info;
    pqf_err rc = PQF_OK;
    pqf_put_options o;
    if (!opt)
        opt = &none;
    PQF_TRY(pqf__store_check_key(src_key, err));
    PQF_TRY(pqf__store_check_key(dst_key, err));
    if (src->vt == dst->vt && src->vt->copy) {
        rc = src->vt->copy(src, src_key, dst, dst_key, opt, err);
        if (rc != PQF_ERR_UNSUPPORTED)
            goto done;
        pqf_error_clear(err);
        rc = PQF_OK;
    }
    /* Streamed: pin the source's ETag so the copy cannot mix two versions. */
    PQF_TRY(pqf_store_head(src, src_key, NULL, &info, err));
    o = *opt;
    if (!o.size_hint)
        o.size_hint = info.size;
    PQF_TRY(pqf_store_put(dst, dst_key, &o, &os, err));
    pqf_get_options g = {.if_match = info.etag[0] ? info.etag : NULL};
    PQF_TRY(pqf_store_get_to(src, src_key, &g, os, NULL, err));
    rc = pqf_ostream_commit(os);
    if (rc != PQF_OK) {
        const pqf_error *e = pqf_ostream_error(os);
        PQF_FAIL(err, e->code ? e->code : rc, "%s", e->msg);
    }
done:
    pqf_ostream_free(os);
    return rc;
}

pqf_err pqf_store_get_versioning(pqf_store *s, pqf_versioning *out, pqf_error *err)
{
    if (!s->vt->get_versioning)
        return unsupported(s, "versioning", err);
    return s->vt->get_versioning(s, out, err);
}

pqf_err pqf_store_set_versioning(pqf_store *s, pqf_versioning v, pqf_error *err)
{
    if (!s->vt->set_versioning)
        return unsupported(s, "versioning", err);
    if (v != PQF_VERSIONING_ENABLED && v != PQF_VERSIONING_SUSPENDED)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "versioning can be enabled or suspended");
    return s->vt->set_versioning(s, v, err);
}

pqf_err pqf_store_list_versions(pqf_store *s, const char *prefix, pqf_list_cb cb, void *ud,
                                pqf_error *err)
{
    if (!s->vt->list_versions)
        return unsupported(s, "listing object versions", err);
    return s->vt->list_versions(s, prefix ? prefix : "", cb, ud, err);
}

pqf_err pqf_store_list_uploads(pqf_store *s, const char *prefix, pqf_upload_cb cb, void *ud,
                               pqf_error *err)
{
    if (!s->vt->list_uploads)
        return PQF_OK;
    return s->vt->list_uploads(s, prefix ? prefix : "", cb, ud, err);
}

pqf_err pqf_store_abort_upload(pqf_store *s, const char *key, const char *upload_id, pqf_error *err)
{
    if (!s->vt->abort_upload)
        return unsupported(s, "multipart upload", err);
    pqf_err rc = pqf__store_check_key(key, err);
    if (rc != PQF_OK)
        return rc;
    return s->vt->abort_upload(s, key, upload_id, err);
}

pqf_err pqf_store_presign(pqf_store *s, const char *method, const char *key, unsigned expires_s,
                          char **url, pqf_error *err)
{
    *url = NULL;
    if (!s->vt->presign)
        return unsupported(s, "presigning", err);
    if (expires_s < 1 || expires_s > 604800)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "presign: expiry must be 1..604800 s");
    pqf_err rc = pqf__store_check_key(key, err);
    if (rc != PQF_OK)
        return rc;
    return s->vt->presign(s, method, key, expires_s, url, err);
}

void pqf_store_get_stats(const pqf_store *s, pqf_store_stats *out)
{
    out->requests = atomic_load(&s->requests);
    out->retries = atomic_load(&s->retries);
    out->bytes_up = atomic_load(&s->bytes_up);
    out->bytes_down = atomic_load(&s->bytes_down);
}

uint64_t pqf_store_part_size(uint64_t configured, uint64_t size)
{
    const uint64_t mib = 1ull << 20;
    uint64_t p = configured ? configured : 8 * mib;
    if (p < 5 * mib)
        p = 5 * mib;
    if (size) {
        uint64_t need = (size + 9999) / 10000;
        if (need > p)
            p = need;
    }
    p = (p + mib - 1) / mib * mib;
    if (p > 5ull << 30)
        p = 5ull << 30;
    return p;
}
