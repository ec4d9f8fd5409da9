/* Split-block Bloom filters; see bloom.h. */
#include "parquet/bloom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "parquet/thrift_write.h"

static const uint32_t salt[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
                                 0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};

#define BLOOM_MIN_BYTES 32
#define BLOOM_MAX_BYTES ((size_t)128 << 20)

size_t pqf__bloom_bytes_for(uint64_t ndv, double fpp)
{
    if (!(fpp > 0 && fpp < 1))
        fpp = 0.01;
    if (ndv == 0)
        ndv = 1;
    double bits = -8.0 * (double)ndv / log(1.0 - pow(fpp, 1.0 / 8.0));
    double bytes = bits / 8.0;
    size_t n = BLOOM_MIN_BYTES;
    while ((double)n < bytes && n < BLOOM_MAX_BYTES)
        n <<= 1;
    return n;
}

pqf_err pqf__bloom_init(pqf__bloom *b, size_t bytes)
{
    b->words = NULL;
    b->nblocks = 0;
    if (bytes < BLOOM_MIN_BYTES || bytes % 32 || bytes > BLOOM_MAX_BYTES)
        return PQF_ERR_INVALID_ARG;
    b->words = calloc(bytes / 4, 4);
    if (!b->words)
        return PQF_ERR_NOMEM;
    b->nblocks = (uint32_t)(bytes / 32);
    return PQF_OK;
}

void pqf__bloom_free(pqf__bloom *b)
{
    free(b->words);
    b->words = NULL;
    b->nblocks = 0;
}

static inline uint32_t *block_of(const pqf__bloom *b, uint64_t hash)
{
    uint64_t i = ((hash >> 32) * b->nblocks) >> 32;
    return b->words + i * 8;
}

void pqf__bloom_insert(pqf__bloom *b, uint64_t hash)
{
    uint32_t *blk = block_of(b, hash);
    uint32_t key = (uint32_t)hash;
    for (int i = 0; i < 8; i++)
        blk[i] |= 1u << ((key * salt[i]) >> 27);
}

bool pqf__bloom_check(const pqf__bloom *b, uint64_t hash)
{
    const uint32_t *blk = block_of(b, hash);
    uint32_t key = (uint32_t)hash;
    for (int i = 0; i < 8; i++)
        if (!(blk[i] & (1u << ((key * salt[i]) >> 27))))
            return false;
    return true;
}

pqf_err pqf__bloom_serialize(const pqf__bloom *b, pqf__buf *out)
{
    size_t bytes = (size_t)b->nblocks * 32;
    pqf__tw t;
    pqf__tw_init(&t, out);
    pqf__tw_i32(&t, 1, (int32_t)bytes); /* numBytes */
    pqf__tw_struct_begin(&t, 2);        /* algorithm: BLOCK */
    pqf__tw_empty_struct(&t, 1);
    pqf__tw_struct_end(&t);
    pqf__tw_struct_begin(&t, 3); /* hash: XXHASH */
    pqf__tw_empty_struct(&t, 1);
    pqf__tw_struct_end(&t);
    pqf__tw_struct_begin(&t, 4); /* compression: UNCOMPRESSED */
    pqf__tw_empty_struct(&t, 1);
    pqf__tw_struct_end(&t);
    pqf__tw_struct_end(&t);
    pqf_err rc = pqf__tw_err(&t);
    if (rc == PQF_OK)
        rc = pqf__buf_reserve(out, bytes);
    if (rc != PQF_OK)
        return rc;
    uint8_t *o = out->data + out->len;
    for (size_t i = 0; i < bytes / 4; i++)
        pqf__store32le(o + 4 * i, b->words[i]);
    out->len += bytes;
    return PQF_OK;
}
