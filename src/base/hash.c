#include "base/hash.h"

#include <isa-l/crc.h>
#include <openssl/evp.h>
#include <xxhash.h>

/* CRC-32 and CRC-32C through Intel's ISA-L (libisal): folding with
 * carry-less multiplication where the CPU has it, several GB/s; page CRCs
 * and S3 checksums are on every byte pqfeed writes and reads. */
uint32_t pqf__crc32(uint32_t crc, const void *data, size_t len)
{
    /* zlib's crc32() convention: pre- and post-inverted, crc 0 to start */
    return crc32_gzip_refl(crc, data, (uint64_t)len);
}

uint32_t pqf__crc32c(uint32_t crc, const void *data, size_t len)
{
    /* crc32_iscsi neither pre- nor post-inverts, and takes int lengths */
    const unsigned char *p = data;
    crc = ~crc;
    while (len) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        crc = crc32_iscsi((unsigned char *)p, n, crc);
        p += n;
        len -= (size_t)n;
    }
    return ~crc;
}

uint64_t pqf__xxh64(const void *data, size_t len) { return (uint64_t)XXH64(data, len, 0); }

int pqf__sha256_init(pqf__sha256_ctx *h)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c)
        return -1;
    if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        return -1;
    }
    h->ctx = c;
    return 0;
}

void pqf__sha256_update(pqf__sha256_ctx *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->ctx, data, len);
}

void pqf__sha256_final(pqf__sha256_ctx *h, uint8_t out[32])
{
    unsigned int n = 32;
    EVP_DigestFinal_ex(h->ctx, out, &n);
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

void pqf__sha256_free(pqf__sha256_ctx *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

void pqf__sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 32;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void pqf__hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}
