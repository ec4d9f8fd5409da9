/* Internal: checksums and hashes used across pqfeed. */
#ifndef PQF_BASE_HASH_H
#define PQF_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32 (IEEE, as zlib and Parquet page CRCs). Start with crc = 0. */
uint32_t pqf__crc32(uint32_t crc, const void *data, size_t len);
/* CRC-32C (Castagnoli, as S3's x-amz-checksum-crc32c). Start with crc = 0. */
uint32_t pqf__crc32c(uint32_t crc, const void *data, size_t len);
/* xxHash64 with seed 0 (Parquet bloom filters). */
uint64_t pqf__xxh64(const void *data, size_t len);

/* Incremental SHA-256 (OpenSSL underneath). */
typedef struct pqf__sha256_ctx {
    void *ctx;
} pqf__sha256_ctx;
int pqf__sha256_init(pqf__sha256_ctx *h); /* 0 on success */
void pqf__sha256_update(pqf__sha256_ctx *h, const void *data, size_t len);
void pqf__sha256_final(pqf__sha256_ctx *h, uint8_t out[32]); /* also frees */
void pqf__sha256_free(pqf__sha256_ctx *h);                    /* without a result */
void pqf__sha256(const void *data, size_t len, uint8_t out[32]);
/* Lower-case hex of n bytes into out (2n+1 chars, NUL-terminated). */
void pqf__hex(const uint8_t *in, size_t n, char *out);

#endif
