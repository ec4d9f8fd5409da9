/* Internal: MD5 with an explicit state, and a multi-buffer update that hashes
 * several independent messages at once in SIMD lanes (AVX-512: 16 lanes or 8
 * with AVX-512VL, AVX2: 8), chosen at run time, so the build needs no -m
 * flags. Used where many parts are hashed at once (the multipart ETag check
 * of a download); a single message is hashed faster by OpenSSL. */
#ifndef PQF_BASE_MD5MB_H
#define PQF_BASE_MD5MB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pqf__md5 {
    uint32_t h[4];
    uint64_t len;    /* bytes so far */
    uint8_t buf[64]; /* the last len % 64 of them, not yet compressed */
} pqf__md5;

void pqf__md5_init(pqf__md5 *m);
void pqf__md5_update(pqf__md5 *m, const void *data, size_t len); /* portable C */
void pqf__md5_final(pqf__md5 *m, uint8_t out[16]);

/* Updates n independent states: m[i] with len[i] bytes at data[i] (lengths
 * may differ; the states may hold partial blocks). The same result as n calls
 * of pqf__md5_update; the m[i] must be distinct. */
void pqf__md5_update_many(pqf__md5 *const *m, const uint8_t *const *data, const size_t *len,
                          unsigned n);

/* The digests of n whole buffers (data[i], len[i]) into out[i], hashed
 * together by update_many, 16 at a time. */
void pqf__md5_many(const uint8_t *const *data, const size_t *len, uint8_t *const *out,
                   unsigned n);

/* Kernels: the best one the CPU has is used unless one is forced. */
enum {
    PQF_MD5_AUTO = 0,
    PQF_MD5_SCALAR,   /* one state after another */
    PQF_MD5_AVX2,     /* 8 lanes */
    PQF_MD5_AVX512VL, /* 8 lanes: vprold, vpternlogd on 256-bit registers */
    PQF_MD5_AVX512,   /* 16 lanes on 512-bit registers, 8 lanes for 8 or fewer states */
};
/* The kernel update_many uses now (never AUTO). */
int pqf__md5_kernel(void);
const char *pqf__md5_kernel_name(int k);
/* For tests and benchmarks: force kernel k (AUTO: the best again). false when
 * the CPU lacks it (nothing changes). Not thread-safe against update_many. */
bool pqf__md5_force(int k);

#endif
