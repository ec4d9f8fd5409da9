/* Internal: BLAKE3 (the 256-bit default hash; no keyed or derive-key mode)
 * with an explicit state that needs no allocation and lives on the stack.
 * Whole chunks are hashed many at a time in SIMD lanes (AVX-512: 16 chunks,
 * AVX2 or AVX-512VL: 8), and so are the parent nodes of the tree above them;
 * the kernel is chosen at run time, so the build needs no -m flags. Meant as
 * the input digest where SHA-256 (1.1 GB/s here, OpenSSL with SHA-NI) is the
 * bottleneck; the result is the one b3sum prints. */
#ifndef PQF_BASE_BLAKE3_H
#define PQF_BASE_BLAKE3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* BLAKE3's tree holds at most 2^54 chunks of 1024 bytes (2^64 bytes). */
#define PQF_B3_MAX_DEPTH 54

typedef struct pqf__blake3 {
    uint64_t chunk;   /* the current chunk's index: the chunks before it are all in stack */
    uint16_t buf_len; /* its bytes in buf; hashed (as a lane of the next SIMD batch) only
                         once more input follows, since the last chunk is hashed apart */
    uint8_t depth;    /* entries in stack (the number of 1 bits of chunk) */
    uint8_t buf[1024];
    /* the roots of the complete subtrees left of the current chunk, largest
     * first: one per 1 bit of chunk */
    uint32_t stack[PQF_B3_MAX_DEPTH][8];
} pqf__blake3;

void pqf__blake3_init(pqf__blake3 *h);
/* Adds len bytes; any split of the input gives the same digest. */
void pqf__blake3_update(pqf__blake3 *h, const void *data, size_t len);
/* The digest of all the input so far. h is unchanged: more may be added and
 * final called again. */
void pqf__blake3_final(const pqf__blake3 *h, uint8_t out[32]);
/* One-shot: the digest of len bytes at data. (Not pqf__blake3(): C has one
 * name space for the type and functions.) */
void pqf__blake3_hash(const void *data, size_t len, uint8_t out[32]);

/* Kernels for whole chunks and parent nodes: the best one the CPU has is used
 * unless one is forced. Every kernel gives the same digests. */
enum {
    PQF_B3_AUTO = 0,
    PQF_B3_PORTABLE, /* portable C, one chunk after another */
    PQF_B3_AVX2,     /* 8 lanes */
    PQF_B3_AVX512,   /* 16 lanes on 512-bit registers (vprord), 8 on 256-bit ones (AVX-512VL) */
};
/* The kernel update uses now (never AUTO). The environment variable
 * PQF_B3_KERNEL=portable|avx2|avx512, read once, picks a lesser one than the
 * best (A/B runs). */
int pqf__blake3_kernel(void);
const char *pqf__blake3_kernel_name(int k);
/* For tests and benchmarks: force kernel k (PQF_B3_PORTABLE forces the
 * portable path; AUTO: the best again). false when the CPU lacks it (nothing
 * changes). Not thread-safe against update. */
bool pqf__blake3_force(int k);

#endif
