/* Page codecs. Each library is used through its one-shot API: Parquet pages
 * are compressed independently and their sizes are known up front. */
#include "parquet/codec.h"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <lz4.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "base/base.h"

struct pqf__compressor {
    pqf_codec codec;
    int level;
    ZSTD_CCtx *zstd;
    z_stream *gz;
};

pqf__compressor *pqf__compressor_create(pqf_codec codec, int level, pqf_error *err)
{
    switch (codec) {
    case PQF_CODEC_UNCOMPRESSED:
    case PQF_CODEC_SNAPPY:
    case PQF_CODEC_GZIP:
    case PQF_CODEC_BROTLI:
    case PQF_CODEC_ZSTD:
    case PQF_CODEC_LZ4_RAW:
        break;
    default:
        pqf_error_set(err, PQF_ERR_UNSUPPORTED, "compression codec %s is not supported for writing",
                      pqf_codec_name(codec));
        return NULL;
    }
    pqf__compressor *c = calloc(1, sizeof *c);
    if (!c) {
        pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->codec = codec;
    c->level = level;
    if (codec == PQF_CODEC_ZSTD) {
        if (level == 0)
            c->level = 3;
        if (c->level < ZSTD_minCLevel() || c->level > ZSTD_maxCLevel()) {
            pqf_error_set(err, PQF_ERR_INVALID_ARG, "zstd level %d is outside %d..%d", level,
                          ZSTD_minCLevel(), ZSTD_maxCLevel());
            free(c);
            return NULL;
        }
        c->zstd = ZSTD_createCCtx();
        if (!c->zstd) {
            free(c);
            pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
            return NULL;
        }
        ZSTD_CCtx_setParameter(c->zstd, ZSTD_c_compressionLevel, c->level);
    } else if (codec == PQF_CODEC_GZIP) {
        if (level == 0)
            c->level = 6;
        if (c->level < 1 || c->level > 9) {
            pqf_error_set(err, PQF_ERR_INVALID_ARG, "gzip level %d is outside 1..9", level);
            free(c);
            return NULL;
        }
        c->gz = calloc(1, sizeof *c->gz);
        if (!c->gz || deflateInit2(c->gz, c->level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
                          Z_OK) {
            free(c->gz);
            free(c);
            pqf_error_set(err, PQF_ERR_NOMEM, "cannot initialise gzip");
            return NULL;
        }
    } else if (codec == PQF_CODEC_BROTLI) {
        if (level == 0)
            c->level = 5;
        if (c->level < BROTLI_MIN_QUALITY || c->level > BROTLI_MAX_QUALITY) {
            pqf_error_set(err, PQF_ERR_INVALID_ARG, "brotli level %d is outside 0..11", level);
            free(c);
            return NULL;
        }
    }
    return c;
}

void pqf__compressor_free(pqf__compressor *c)
{
    if (!c)
        return;
    ZSTD_freeCCtx(c->zstd);
    if (c->gz) {
        deflateEnd(c->gz);
        free(c->gz);
    }
    free(c);
}

size_t pqf__compress_bound(const pqf__compressor *c, size_t n)
{
    switch (c->codec) {
    case PQF_CODEC_SNAPPY:
        return snappy_max_compressed_length(n);
    case PQF_CODEC_GZIP:
        return deflateBound(c->gz, (uLong)n) + 32;
    case PQF_CODEC_ZSTD:
        return ZSTD_compressBound(n);
    case PQF_CODEC_LZ4_RAW:
        return (size_t)LZ4_compressBound((int)PQF_MIN(n, (size_t)LZ4_MAX_INPUT_SIZE));
    case PQF_CODEC_BROTLI:
        return BrotliEncoderMaxCompressedSize(n) + 64;
    default:
        return n;
    }
}

pqf_err pqf__compress(pqf__compressor *c, const void *src, size_t n, void *dst, size_t cap,
                      size_t *out_len, pqf_error *err)
{
    switch (c->codec) {
    case PQF_CODEC_UNCOMPRESSED:
        if (cap < n)
            return pqf_error_set(err, PQF_ERR_INTERNAL, "compress: output buffer too small");
        memcpy(dst, src, n);
        *out_len = n;
        return PQF_OK;
    case PQF_CODEC_SNAPPY: {
        size_t len = cap;
        if (snappy_compress(src, n, dst, &len) != SNAPPY_OK)
            return pqf_error_set(err, PQF_ERR_INTERNAL, "snappy compression failed");
        *out_len = len;
        return PQF_OK;
    }
    case PQF_CODEC_GZIP: {
        if (deflateReset(c->gz) != Z_OK)
            return pqf_error_set(err, PQF_ERR_INTERNAL, "gzip reset failed");
        c->gz->next_in = (Bytef *)(uintptr_t)src;
        c->gz->avail_in = (uInt)n;
        c->gz->next_out = dst;
        c->gz->avail_out = (uInt)cap;
        if (n > UINT32_MAX || cap > UINT32_MAX || deflate(c->gz, Z_FINISH) != Z_STREAM_END)
            return pqf_error_set(err, PQF_ERR_INTERNAL, "gzip compression failed");
        *out_len = cap - c->gz->avail_out;
        return PQF_OK;
    }
    case PQF_CODEC_ZSTD: {
        size_t r = ZSTD_compress2(c->zstd, dst, cap, src, n);
        if (ZSTD_isError(r))
            return pqf_error_set(err, PQF_ERR_INTERNAL, "zstd compression failed: %s",
                                 ZSTD_getErrorName(r));
        *out_len = r;
        return PQF_OK;
    }
    case PQF_CODEC_LZ4_RAW: {
        if (n > LZ4_MAX_INPUT_SIZE)
            return pqf_error_set(err, PQF_ERR_LIMIT, "lz4: page of %zu bytes is too large", n);
        int r = LZ4_compress_default(src, dst, (int)n, (int)PQF_MIN(cap, (size_t)INT32_MAX));
        if (r <= 0 && n > 0)
            return pqf_error_set(err, PQF_ERR_INTERNAL, "lz4 compression failed");
        *out_len = (size_t)r;
        return PQF_OK;
    }
    case PQF_CODEC_BROTLI: {
        size_t len = cap;
        if (!BrotliEncoderCompress(c->level, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, n, src,
                                   &len, dst))
            return pqf_error_set(err, PQF_ERR_INTERNAL, "brotli compression failed");
        *out_len = len;
        return PQF_OK;
    }
    default:
        return pqf_error_set(err, PQF_ERR_UNSUPPORTED, "codec %d not supported", (int)c->codec);
    }
}

static pqf_err size_mismatch(pqf_error *err, const char *codec, size_t got, size_t expect)
{
    return pqf_error_set(err, PQF_ERR_CORRUPT,
                         "%s page decompresses to %zu bytes, header says %zu", codec, got, expect);
}

/* GZIP pages may hold several concatenated members (as some writers emit);
 * zlib's auto-detecting inflate is reset after each member. */
static pqf_err gunzip(const uint8_t *src, size_t n, uint8_t *dst, size_t expect, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (n > UINT32_MAX || expect > UINT32_MAX)
        return pqf_error_set(err, PQF_ERR_LIMIT, "gzip page too large");
    if (inflateInit2(&z, 15 + 32) != Z_OK)
        return pqf_error_set(err, PQF_ERR_NOMEM, "cannot initialise gzip");
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)expect;
    for (;;) {
        int r = inflate(&z, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            /* another member may follow; trailing zero padding is tolerated */
            size_t i = 0;
            while (i < z.avail_in && z.next_in[i] == 0)
                i++;
            if (i == z.avail_in)
                break;
            if (inflateReset(&z) != Z_OK)
                PQF_FAIL(err, PQF_ERR_CORRUPT, "gzip: cannot reset for the next member");
            continue;
        }
        if (r == Z_OK)
            continue;
        if (r == Z_BUF_ERROR && z.avail_out == 0)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "gzip page decompresses to more than %zu bytes", expect);
        if (r == Z_BUF_ERROR)
            PQF_FAIL(err, PQF_ERR_CORRUPT, "gzip: truncated data");
        PQF_FAIL(err, PQF_ERR_CORRUPT, "gzip: %s", z.msg ? z.msg : "invalid data");
    }
    /* total_out restarts with each member; count what the output holds */
    if (z.avail_out != 0)
        rc = size_mismatch(err, "gzip", expect - z.avail_out, expect);
done:
    inflateEnd(&z);
    return rc;
}

static uint32_t load32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Hadoop's LZ4 framing: repeated [u32 BE raw size][u32 BE compressed size][block].
 * Returns -1 if src is not in that framing. */
static int lz4_hadoop(const uint8_t *src, size_t n, uint8_t *dst, size_t expect)
{
    size_t in = 0, out = 0;
    while (in < n) {
        if (n - in < 8)
            return -1;
        uint32_t raw = load32be(src + in), comp = load32be(src + in + 4);
        in += 8;
        if (comp > n - in || raw > expect - out || comp > INT32_MAX || raw > INT32_MAX)
            return -1;
        int r = LZ4_decompress_safe((const char *)src + in, (char *)dst + out, (int)comp,
                                    (int)raw);
        if (r < 0 || (uint32_t)r != raw)
            return -1;
        in += comp;
        out += raw;
    }
    return out == expect ? 0 : -1;
}

pqf_err pqf__decompress(pqf_codec codec, const void *src, size_t n, void *dst, size_t expect,
                        pqf_error *err)
{
    switch (codec) {
    case PQF_CODEC_UNCOMPRESSED:
        if (n != expect)
            return size_mismatch(err, "uncompressed", n, expect);
        memcpy(dst, src, n);
        return PQF_OK;
    case PQF_CODEC_SNAPPY: {
        size_t len;
        if (snappy_uncompressed_length(src, n, &len) != SNAPPY_OK)
            return pqf_error_set(err, PQF_ERR_CORRUPT, "snappy: invalid data");
        if (len != expect)
            return size_mismatch(err, "snappy", len, expect);
        if (snappy_uncompress(src, n, dst, &len) != SNAPPY_OK)
            return pqf_error_set(err, PQF_ERR_CORRUPT, "snappy: invalid data");
        return PQF_OK;
    }
    case PQF_CODEC_GZIP:
        return gunzip(src, n, dst, expect, err);
    case PQF_CODEC_ZSTD: {
        size_t r = ZSTD_decompress(dst, expect, src, n);
        if (ZSTD_isError(r))
            return pqf_error_set(err, PQF_ERR_CORRUPT, "zstd: %s", ZSTD_getErrorName(r));
        if (r != expect)
            return size_mismatch(err, "zstd", r, expect);
        return PQF_OK;
    }
    case PQF_CODEC_LZ4:
        /* parquet-mr's Hadoop framing; some writers put raw LZ4 blocks under
         * the old codec id, so fall back to that as Arrow does. */
        if (lz4_hadoop(src, n, dst, expect) == 0)
            return PQF_OK;
        return pqf__decompress(PQF_CODEC_LZ4_RAW, src, n, dst, expect, err);
    case PQF_CODEC_LZ4_RAW: {
        if (n > INT32_MAX || expect > INT32_MAX)
            return pqf_error_set(err, PQF_ERR_LIMIT, "lz4 page too large");
        int r = LZ4_decompress_safe(src, dst, (int)n, (int)expect);
        if (r < 0)
            return pqf_error_set(err, PQF_ERR_CORRUPT, "lz4: invalid data");
        if ((size_t)r != expect)
            return size_mismatch(err, "lz4", (size_t)r, expect);
        return PQF_OK;
    }
    case PQF_CODEC_BROTLI: {
        size_t len = expect;
        BrotliDecoderResult r = BrotliDecoderDecompress(n, src, &len, dst);
        if (r != BROTLI_DECODER_RESULT_SUCCESS)
            return pqf_error_set(err, PQF_ERR_CORRUPT, "brotli: invalid data or larger than %zu bytes",
                                 expect);
        if (len != expect)
            return size_mismatch(err, "brotli", len, expect);
        return PQF_OK;
    }
    default:
        return pqf_error_set(err, PQF_ERR_UNSUPPORTED, "compression codec %s is not supported",
                             pqf_codec_name(codec));
    }
}
