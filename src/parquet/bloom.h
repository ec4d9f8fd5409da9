/* Internal: split-block Bloom filters (parquet-format BloomFilter.md).
 *
 * The filter is an array of 256-bit blocks of eight 32-bit words. A value's
 * xxHash64 (seed 0) of its PLAIN encoding (BYTE_ARRAY without the length
 * prefix) picks a block with its upper 32 bits and one bit per word with
 * the lower 32 bits times eight salt constants.
 */
#ifndef PQF_PARQUET_BLOOM_H
#define PQF_PARQUET_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pqfeed/error.h"

typedef struct pqf__bloom {
    uint32_t *words; /* nblocks * 8, little-endian on the wire */
    uint32_t nblocks;
} pqf__bloom;

/* Bitset bytes for ndv distinct values at false-positive rate fpp:
 * m = -8 ndv / ln(1 - fpp^(1/8)) bits, rounded up to a power of two bytes,
 * between 32 bytes and 128 MiB. */
size_t pqf__bloom_bytes_for(uint64_t ndv, double fpp);

/* bytes must be a multiple of 32. */
pqf_err pqf__bloom_init(pqf__bloom *b, size_t bytes);
void pqf__bloom_free(pqf__bloom *b);
void pqf__bloom_insert(pqf__bloom *b, uint64_t hash);
bool pqf__bloom_check(const pqf__bloom *b, uint64_t hash);

/* Append the BloomFilterHeader (Thrift) and the bitset to out. */
pqf_err pqf__bloom_serialize(const pqf__bloom *b, pqf__buf *out);

#endif
