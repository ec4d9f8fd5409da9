/* Internal: page compression codecs over libsnappy, zlib, libzstd, liblz4
 * and brotli. Compression is for the writer; decompression for the reader,
 * which treats every input as hostile: the caller gives the exact expected
 * output size (from the page header, itself capped), and a codec that
 * produces more or less is PQF_ERR_CORRUPT. */
#ifndef PQF_PARQUET_CODEC_H
#define PQF_PARQUET_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pqfeed/error.h"
#include "pqfeed/writer.h"

/* A reusable compression context (zstd keeps its state between pages). */
typedef struct pqf__compressor pqf__compressor;

/* level 0 = codec default. NULL on OOM or an unsupported codec (LZO, LZ4). */
pqf__compressor *pqf__compressor_create(pqf_codec codec, int level, pqf_error *err);
void pqf__compressor_free(pqf__compressor *c);
/* Worst-case compressed size for n input bytes. */
size_t pqf__compress_bound(const pqf__compressor *c, size_t n);
/* Compress src into dst (cap must be >= pqf__compress_bound). */
pqf_err pqf__compress(pqf__compressor *c, const void *src, size_t n, void *dst, size_t cap,
                      size_t *out_len, pqf_error *err);

/* Decompress exactly `expect` bytes into dst. Handles GZIP with concatenated
 * members, the Hadoop-framed LZ4 (PQF_CODEC_LZ4, with a fallback to raw LZ4
 * as parquet-mr does) and BROTLI. */
pqf_err pqf__decompress(pqf_codec codec, const void *src, size_t n, void *dst, size_t expect,
                        pqf_error *err);

#endif
