#include "feed/hashstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/hash.h"

typedef struct {
    pqf_ostream *inner;
    pqf__open_fn open;
    void *ctx;
    pqf__sha256_ctx sha;
    uint32_t crc;
    pqf__hashsum *sum;
    /* the first writes, while they are this small, are held (the writer's
     * 4-byte magic at its first row), so the inner stream is opened at the
     * first row group, when the export's input digest may be known */
    uint8_t held[64];
    size_t nheld;
} hs;

static pqf_err hs_open(hs *h, pqf_error *err)
{
    if (h->inner)
        return PQF_OK;
    pqf_err rc = h->open(h->ctx, &h->inner, err);
    if (rc == PQF_OK && h->nheld) {
        rc = pqf_ostream_write(h->inner, h->held, h->nheld);
        if (rc != PQF_OK)
            *err = *pqf_ostream_error(h->inner);
        h->nheld = 0;
    }
    return rc;
}

static pqf_err hs_write(void *impl, const void *data, size_t len, pqf_error *err)
{
    hs *h = impl;
    if (!h->inner && h->nheld + len <= sizeof h->held) {
        memcpy(h->held + h->nheld, data, len);
        h->nheld += len;
    } else {
        pqf_err rc = hs_open(h, err);
        if (rc != PQF_OK)
            return rc;
        rc = pqf_ostream_write(h->inner, data, len);
        if (rc != PQF_OK) {
            *err = *pqf_ostream_error(h->inner);
            return rc;
        }
    }
    pqf__sha256_update(&h->sha, data, len);
    h->crc = pqf__crc32c(h->crc, data, len);
    h->sum->bytes += len;
    return PQF_OK;
}

static pqf_err hs_commit(void *impl, pqf_error *err)
{
    hs *h = impl;
    uint8_t d[32];
    pqf__sha256_final(&h->sha, d);
    pqf__hex(d, 32, h->sum->sha256);
    snprintf(h->sum->crc32c, sizeof h->sum->crc32c, "%08x", (unsigned)h->crc);
    pqf_err rc = hs_open(h, err);
    if (rc != PQF_OK)
        return rc;
    rc = pqf_ostream_commit(h->inner);
    if (rc != PQF_OK)
        *err = *pqf_ostream_error(h->inner);
    return rc;
}

static void hs_abort(void *impl)
{
    hs *h = impl;
    if (h->inner)
        pqf_ostream_abort(h->inner);
}

static void hs_destroy(void *impl)
{
    hs *h = impl;
    pqf__sha256_free(&h->sha);
    pqf_ostream_free(h->inner);
    free(h);
}

static const pqf_ostream_vt hs_vt = {hs_write, hs_commit, hs_abort, hs_destroy};

pqf_ostream *pqf__hashstream(pqf__open_fn open, void *ctx, pqf__hashsum *sum)
{
    hs *h = calloc(1, sizeof *h);
    if (!h || pqf__sha256_init(&h->sha) != 0) {
        free(h);
        return NULL;
    }
    h->open = open;
    h->ctx = ctx;
    h->sum = sum;
    memset(sum, 0, sizeof *sum);
    return pqf_ostream_create(&hs_vt, h, 0);
}

