/* BLAKE3 (the 256-bit hash mode of the spec, "BLAKE3: one function, fast
 * everywhere", 2020); see blake3.h. Written here rather than linked because
 * Debian ships BLAKE3 for C in no package (only b3sum and Rust and Go
 * sources), and the part needed (one mode, one output length) is small.
 *
 * The input is cut into 1024-byte chunks of 16 64-byte blocks; each chunk is
 * hashed from the IV into a chaining value (CV), and the CVs are the leaves
 * of a binary tree whose left subtrees are complete and as large as possible.
 * The state buffers the current chunk and keeps a stack of the CVs of the
 * complete subtrees left of it; a CV is merged into its parent when the chunk
 * count says the sibling subtree is complete. The last chunk (even a whole
 * one) is never hashed in update: only final knows it ends the input (it, or
 * the top parent, then gets the ROOT flag).
 *
 * The SIMD kernels keep one chunk (or parent node) per 32-bit lane: word i of
 * the compression state is element `lane` of vector v_i, and each 64-byte
 * block of the 8 (16) inputs is transposed so vector m_w holds message word
 * w of every lane. update gives them up to MAX_SUBTREE whole chunks at once
 * (the buffered chunk, once more input follows, in lane 0 with the input's
 * chunks after it), then the parents above them a tree level at a time
 * (every parent block is its two children's CVs side by side), until each
 * complete subtree of the batch is one CV for the stack. A lone chunk or
 * parent goes through the C code. */
#include "base/blake3.h"
#include "base/base.h"
#include "base/cpu.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define B3_X86 1
#include <immintrin.h>
#endif

enum {
    CHUNK_LEN = 1024,
    BLOCK_LEN = 64,
    CHUNK_START = 1,
    CHUNK_END = 2,
    PARENT = 4,
    ROOT = 8,
    /* the largest subtree update hashes at once (its CVs are on the stack) */
    MAX_SUBTREE = 128,
};

/* SHA-256's IV, as the spec takes it. */
static const uint32_t IV[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                               0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};

/* The quarter-round on state words a, b, c, d with message words x, y. */
#define B3_G(ADD, XOR, R16, R12, R8, R7, a, b, c, d, x, y)                                         \
    do {                                                                                           \
        a = ADD(ADD(a, b), x);                                                                     \
        d = R16(XOR(d, a));                                                                        \
        c = ADD(c, d);                                                                             \
        b = R12(XOR(b, c));                                                                        \
        a = ADD(ADD(a, b), y);                                                                     \
        d = R8(XOR(d, a));                                                                         \
        c = ADD(c, d);                                                                             \
        b = R7(XOR(b, c));                                                                         \
    } while (0)

/* One round: the columns, then the diagonals, with the message words in the
 * order s0..s15 (the round's permutation of the block). */
#define B3_ROUND(G, m, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15)       \
    G(v0, v4, v8, v12, m[s0], m[s1]);                                                              \
    G(v1, v5, v9, v13, m[s2], m[s3]);                                                              \
    G(v2, v6, v10, v14, m[s4], m[s5]);                                                             \
    G(v3, v7, v11, v15, m[s6], m[s7]);                                                             \
    G(v0, v5, v10, v15, m[s8], m[s9]);                                                             \
    G(v1, v6, v11, v12, m[s10], m[s11]);                                                           \
    G(v2, v7, v8, v13, m[s12], m[s13]);                                                            \
    G(v3, v4, v9, v14, m[s14], m[s15])

/* The 7 rounds. Round r+1 reads the block through the permutation
 * [2,6,3,10,7,0,4,13,1,11,12,5,9,14,15,8] applied r+1 times (the spec
 * permutes the message between rounds; indexing it so is the same). */
#define B3_ROUNDS(G, m)                                                                            \
    B3_ROUND(G, m, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);                          \
    B3_ROUND(G, m, 2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8);                          \
    B3_ROUND(G, m, 3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1);                          \
    B3_ROUND(G, m, 10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6);                          \
    B3_ROUND(G, m, 12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4);                          \
    B3_ROUND(G, m, 9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7);                          \
    B3_ROUND(G, m, 11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13)

/* ---- portable C ------------------------------------------------------------------- */

#define C_ADD(a, b) ((a) + (b))
#define C_XOR(a, b) ((a) ^ (b))
#define C_ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define C_R16(x) C_ROTR(x, 16)
#define C_R12(x) C_ROTR(x, 12)
#define C_R8(x) C_ROTR(x, 8)
#define C_R7(x) C_ROTR(x, 7)
#define C_G(a, b, c, d, x, y) B3_G(C_ADD, C_XOR, C_R16, C_R12, C_R8, C_R7, a, b, c, d, x, y)

/* The compression function, truncated to the 8 words that are a CV or, with
 * ROOT and counter 0, the 256-bit output: out = compress(cv, block)[0..8). */
static void compress(const uint32_t cv[8], const uint8_t block[64], unsigned block_len,
                     uint64_t counter, unsigned flags, uint32_t out[8])
{
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = pqf__load32le(block + 4 * i);
    uint32_t v0 = cv[0], v1 = cv[1], v2 = cv[2], v3 = cv[3];
    uint32_t v4 = cv[4], v5 = cv[5], v6 = cv[6], v7 = cv[7];
    uint32_t v8 = IV[0], v9 = IV[1], v10 = IV[2], v11 = IV[3];
    uint32_t v12 = (uint32_t)counter, v13 = (uint32_t)(counter >> 32);
    uint32_t v14 = block_len, v15 = flags;
    B3_ROUNDS(C_G, m);
    out[0] = v0 ^ v8;
    out[1] = v1 ^ v9;
    out[2] = v2 ^ v10;
    out[3] = v3 ^ v11;
    out[4] = v4 ^ v12;
    out[5] = v5 ^ v13;
    out[6] = v6 ^ v14;
    out[7] = v7 ^ v15;
}

/* The CV of the parent of left and right (not the root). */
static void parent_cv(const uint32_t left[8], const uint32_t right[8], unsigned flags,
                      uint32_t out[8])
{
    uint8_t block[64];
    for (int i = 0; i < 8; i++) {
        pqf__store32le(block + 4 * i, left[i]);
        pqf__store32le(block + 32 + 4 * i, right[i]);
    }
    compress(IV, block, BLOCK_LEN, 0, PARENT | flags, out);
}

/* kernel(in, n, nblocks, ctr, flags, fstart, fend, out): lane i < n hashes
 * the nblocks whole blocks at in[i] from the IV with counter ctr[i] and the
 * flags (fstart also on the first block, fend also on the last) into the CV
 * out[i] (little-endian bytes, as a parent block holds it). The SIMD kernels
 * always run all their lanes; hash_many pads. */
typedef void kernel_fn(const uint8_t *const *in, unsigned n, size_t nblocks, const uint64_t *ctr,
                       unsigned flags, unsigned fstart, unsigned fend, uint8_t (*out)[32]);

static void kernel_portable(const uint8_t *const *in, unsigned n, size_t nblocks,
                            const uint64_t *ctr, unsigned flags, unsigned fstart, unsigned fend,
                            uint8_t (*out)[32])
{
    for (unsigned i = 0; i < n; i++) {
        uint32_t cv[8];
        memcpy(cv, IV, sizeof cv);
        for (size_t b = 0; b < nblocks; b++) {
            unsigned f = flags | (b == 0 ? fstart : 0) | (b == nblocks - 1 ? fend : 0);
            compress(cv, in[i] + b * BLOCK_LEN, BLOCK_LEN, ctr[i], f, cv);
        }
        for (int w = 0; w < 8; w++)
            pqf__store32le(out[i] + 4 * w, cv[w]);
    }
}

/* ---- SIMD kernels ----------------------------------------------------------------- */

#ifdef B3_X86

/* The kernels' helpers are inlined and their short loops unrolled, so the
 * arrays of vectors stay in registers (GCC at -O2 leaves such loops over
 * stack arrays). */
#define B3_INLINE static inline __attribute__((always_inline))

/* The chunks of a subtree are side by side, so the kernel call after this
 * one hashes the width chunks after these: while this one hashes block b of
 * its chunks, it asks for block b of those. The hardware prefetcher does not
 * follow 8 or 16 streams 1 KiB apart well enough (a 256 MiB input hashed a
 * third slower than one in L2). A prefetch past the input's end does not
 * fault, and the address is made as an integer (no out-of-bounds pointer). */
B3_INLINE void prefetch_next(const uint8_t *const *in, unsigned width, size_t b)
{
#pragma GCC unroll 16
    for (unsigned i = 0; i < width; i++)
        _mm_prefetch((const char *)((uintptr_t)in[i] + width * CHUNK_LEN + b * BLOCK_LEN),
                     _MM_HINT_T0);
}

/* The lanes' 8 CV vectors (h[w] holds word w of every lane) out to the
 * lanes' CVs: little-endian on x86, so the words are copied as they are. */
#define STORE_CVS(h, width, store, out)                                                            \
    do {                                                                                           \
        uint32_t st_[8][16];                                                                       \
        for (int w_ = 0; w_ < 8; w_++)                                                             \
            store(st_[w_], h[w_]);                                                                 \
        for (unsigned i_ = 0; i_ < (width); i_++)                                                  \
            for (int w_ = 0; w_ < 8; w_++)                                                         \
                memcpy(out[i_] + 4 * w_, &st_[w_][i_], 4);                                         \
    } while (0)

/* Transposes 8 rows of 8 words (rows r[i] = 8 words of lane i) so w[j] holds
 * word j of lanes 0..7. */
#define TRANSPOSE8(r, w)                                                                           \
    do {                                                                                           \
        __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);    \
        __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);    \
        __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);    \
        __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);    \
        __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);            \
        __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);            \
        __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);            \
        __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);            \
        w[0] = _mm256_permute2x128_si256(u0, u4, 0x20);                                            \
        w[4] = _mm256_permute2x128_si256(u0, u4, 0x31);                                            \
        w[1] = _mm256_permute2x128_si256(u1, u5, 0x20);                                            \
        w[5] = _mm256_permute2x128_si256(u1, u5, 0x31);                                            \
        w[2] = _mm256_permute2x128_si256(u2, u6, 0x20);                                            \
        w[6] = _mm256_permute2x128_si256(u2, u6, 0x31);                                            \
        w[3] = _mm256_permute2x128_si256(u3, u7, 0x20);                                            \
        w[7] = _mm256_permute2x128_si256(u3, u7, 0x31);                                            \
    } while (0)

/* Message words of lanes 0..7 at byte offset off of their inputs: the block's
 * words 0..7 (off = block start) or 8..15 (32 further) into w[0..7]. */
__attribute__((target("avx2"))) B3_INLINE void load8(const uint8_t *const *p, size_t off,
                                                     __m256i *w)
{
    __m256i r[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        r[i] = _mm256_loadu_si256((const __m256i *)(p[i] + off));
    TRANSPOSE8(r, w);
}

/* AVX2 has no rotate: by 16 and 8 (whole bytes) a byte shuffle, by 12 and 7
 * two shifts and an or. */
#define A2_ADD(a, b) _mm256_add_epi32(a, b)
#define A2_XOR(a, b) _mm256_xor_si256(a, b)
#define A2_R16(x) _mm256_shuffle_epi8(x, rot16)
#define A2_R8(x) _mm256_shuffle_epi8(x, rot8)
#define A2_R12(x) _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20))
#define A2_R7(x) _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25))
#define A2_G(a, b, c, d, x, y) B3_G(A2_ADD, A2_XOR, A2_R16, A2_R12, A2_R8, A2_R7, a, b, c, d, x, y)

/* AVX-512VL: the same on 256-bit registers with vprord for every rotate. */
#define VL_R16(x) _mm256_ror_epi32(x, 16)
#define VL_R12(x) _mm256_ror_epi32(x, 12)
#define VL_R8(x) _mm256_ror_epi32(x, 8)
#define VL_R7(x) _mm256_ror_epi32(x, 7)
#define VL_G(a, b, c, d, x, y) B3_G(A2_ADD, A2_XOR, VL_R16, VL_R12, VL_R8, VL_R7, a, b, c, d, x, y)

#define STORE256(dst, x) _mm256_storeu_si256((__m256i *)(dst), x)

/* The 8-lane kernel's body, the same for AVX2 and AVX-512VL but for the
 * quarter-round (and the target the function is compiled for). */
#define KERNEL8_BODY(G)                                                                            \
    uint32_t lo_[8], hi_[8];                                                                       \
    for (int i = 0; i < 8; i++) {                                                                  \
        lo_[i] = (uint32_t)ctr[i];                                                                 \
        hi_[i] = (uint32_t)(ctr[i] >> 32);                                                         \
    }                                                                                              \
    const __m256i clo = _mm256_loadu_si256((const __m256i *)lo_);                                  \
    const __m256i chi = _mm256_loadu_si256((const __m256i *)hi_);                                  \
    __m256i h[8];                                                                                  \
    for (int i = 0; i < 8; i++)                                                                    \
        h[i] = _mm256_set1_epi32((int)IV[i]);                                                      \
    for (size_t b = 0; b < nblocks; b++) {                                                         \
        __m256i m[16];                                                                             \
        load8(in, BLOCK_LEN *b, m);                                                                \
        load8(in, BLOCK_LEN *b + 32, m + 8);                                                       \
        prefetch_next(in, 8, b);                                                                   \
        unsigned f = flags | (b == 0 ? fstart : 0) | (b == nblocks - 1 ? fend : 0);                \
        __m256i v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3];                                        \
        __m256i v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];                                        \
        __m256i v8 = _mm256_set1_epi32((int)IV[0]), v9 = _mm256_set1_epi32((int)IV[1]);            \
        __m256i v10 = _mm256_set1_epi32((int)IV[2]), v11 = _mm256_set1_epi32((int)IV[3]);          \
        __m256i v12 = clo, v13 = chi;                                                              \
        __m256i v14 = _mm256_set1_epi32(BLOCK_LEN), v15 = _mm256_set1_epi32((int)f);               \
        B3_ROUNDS(G, m);                                                                           \
        h[0] = _mm256_xor_si256(v0, v8);                                                           \
        h[1] = _mm256_xor_si256(v1, v9);                                                           \
        h[2] = _mm256_xor_si256(v2, v10);                                                          \
        h[3] = _mm256_xor_si256(v3, v11);                                                          \
        h[4] = _mm256_xor_si256(v4, v12);                                                          \
        h[5] = _mm256_xor_si256(v5, v13);                                                          \
        h[6] = _mm256_xor_si256(v6, v14);                                                          \
        h[7] = _mm256_xor_si256(v7, v15);                                                          \
    }                                                                                              \
    STORE_CVS(h, 8, STORE256, out)

__attribute__((target("avx2"))) static void kernel_avx2(const uint8_t *const *in, unsigned n,
                                                        size_t nblocks, const uint64_t *ctr,
                                                        unsigned flags, unsigned fstart,
                                                        unsigned fend, uint8_t (*out)[32])
{
    /* byte shuffles that rotate each 32-bit word right by 16 and by 8 */
    const __m256i rot16 = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2,
                                           3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    const __m256i rot8 = _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1,
                                          2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12);
    KERNEL8_BODY(A2_G);
}

__attribute__((target("avx2,avx512f,avx512vl"))) static void
kernel_avx512vl(const uint8_t *const *in, unsigned n, size_t nblocks, const uint64_t *ctr,
                unsigned flags, unsigned fstart, unsigned fend, uint8_t (*out)[32])
{
    KERNEL8_BODY(VL_G);
}

/* Transposes 16 rows of 16 words (r[i] = block of lane i) so w[j] holds word
 * j of lanes 0..15: within each 128-bit quarter as TRANSPOSE8 does, then the
 * quarters across registers with two rounds of vshufi32x4. */
__attribute__((target("avx2,avx512f"))) B3_INLINE void transpose16(const __m512i *r, __m512i *w)
{
    __m512i t[16], u[16];
#pragma GCC unroll 8
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    /* u[4g + j]: quarter k holds word 4k + j of lanes 4g..4g+3 */
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
        u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        /* x0 = quarters 0,1 of groups 0,1; x1 = 2,3 of 0,1; x2, x3 the same of 2,3 */
        __m512i x0 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x44);
        __m512i x1 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xee);
        __m512i x2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x44);
        __m512i x3 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xee);
        w[j] = _mm512_shuffle_i32x4(x0, x2, 0x88);
        w[4 + j] = _mm512_shuffle_i32x4(x0, x2, 0xdd);
        w[8 + j] = _mm512_shuffle_i32x4(x1, x3, 0x88);
        w[12 + j] = _mm512_shuffle_i32x4(x1, x3, 0xdd);
    }
}

#define Z_ADD(a, b) _mm512_add_epi32(a, b)
#define Z_XOR(a, b) _mm512_xor_si512(a, b)
#define Z_R16(x) _mm512_ror_epi32(x, 16)
#define Z_R12(x) _mm512_ror_epi32(x, 12)
#define Z_R8(x) _mm512_ror_epi32(x, 8)
#define Z_R7(x) _mm512_ror_epi32(x, 7)
#define Z_G(a, b, c, d, x, y) B3_G(Z_ADD, Z_XOR, Z_R16, Z_R12, Z_R8, Z_R7, a, b, c, d, x, y)
#define STORE512(dst, x) _mm512_storeu_si512(dst, x)

__attribute__((target("avx2,avx512f"))) static void
kernel_avx512(const uint8_t *const *in, unsigned n, size_t nblocks, const uint64_t *ctr,
              unsigned flags, unsigned fstart, unsigned fend, uint8_t (*out)[32])
{
    uint32_t lo[16], hi[16];
    for (int i = 0; i < 16; i++) {
        lo[i] = (uint32_t)ctr[i];
        hi[i] = (uint32_t)(ctr[i] >> 32);
    }
    const __m512i clo = _mm512_loadu_si512(lo), chi = _mm512_loadu_si512(hi);
    __m512i h[8];
    for (int i = 0; i < 8; i++)
        h[i] = _mm512_set1_epi32((int)IV[i]);
    for (size_t b = 0; b < nblocks; b++) {
        __m512i r[16], m[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            r[i] = _mm512_loadu_si512(in[i] + b * BLOCK_LEN);
        transpose16(r, m);
        prefetch_next(in, 16, b);
        unsigned f = flags | (b == 0 ? fstart : 0) | (b == nblocks - 1 ? fend : 0);
        __m512i v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3];
        __m512i v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
        __m512i v8 = _mm512_set1_epi32((int)IV[0]), v9 = _mm512_set1_epi32((int)IV[1]);
        __m512i v10 = _mm512_set1_epi32((int)IV[2]), v11 = _mm512_set1_epi32((int)IV[3]);
        __m512i v12 = clo, v13 = chi;
        __m512i v14 = _mm512_set1_epi32(BLOCK_LEN), v15 = _mm512_set1_epi32((int)f);
        B3_ROUNDS(Z_G, m);
        h[0] = _mm512_xor_si512(v0, v8);
        h[1] = _mm512_xor_si512(v1, v9);
        h[2] = _mm512_xor_si512(v2, v10);
        h[3] = _mm512_xor_si512(v3, v11);
        h[4] = _mm512_xor_si512(v4, v12);
        h[5] = _mm512_xor_si512(v5, v13);
        h[6] = _mm512_xor_si512(v6, v14);
        h[7] = _mm512_xor_si512(v7, v15);
    }
    STORE_CVS(h, 16, STORE512, out);
}

#endif

/* What each kernel needs of the CPU (base/cpu.h). */
static const pqf__cpu_level need[] = {
    [PQF_B3_PORTABLE] = PQF_CPU_BASE,
    [PQF_B3_AVX2] = PQF_CPU_AVX2,
    [PQF_B3_AVX512] = PQF_CPU_AVX512,
};

static pqf__cpu_choice choice = {
    .n = PQF_B3_AVX512, .need = need, .name = pqf__blake3_kernel_name, .env = "PQF_B3_KERNEL"};

/* PQF_B3_KERNEL=portable|avx2|avx512 picks a lesser kernel than the best (tests, A/B runs). */
int pqf__blake3_kernel(void)
{
    return pqf__cpu_kernel(&choice);
}

const char *pqf__blake3_kernel_name(int k)
{
    switch (k) {
    case PQF_B3_PORTABLE:
        return "portable";
    case PQF_B3_AVX2:
        return "avx2";
    case PQF_B3_AVX512:
        return "avx512";
    default:
        return "auto";
    }
}

bool pqf__blake3_force(int k)
{
    return pqf__cpu_force(&choice, k);
}

/* n inputs of nblocks blocks each through kernel k, 16 or 8 lanes at a time;
 * lane i's counter is counter + i when inc, else counter. The last batch's
 * idle lanes repeat input 0 and are dropped. out may be the inputs' own
 * memory so long as out[i] does not overlap in[j] for j > i (a parent level
 * written over its children): a batch reads all its inputs before it writes. */
static void hash_many(int k, const uint8_t *const *in, unsigned n, size_t nblocks, uint64_t counter,
                      bool inc, unsigned flags, unsigned fstart, unsigned fend, uint8_t (*out)[32])
{
    for (unsigned at = 0; at < n;) {
        unsigned left = n - at, width = 1;
        kernel_fn *fn = kernel_portable;
#ifdef B3_X86
        if (k == PQF_B3_AVX512 && left > 8) {
            fn = kernel_avx512;
            width = 16;
        } else if (k != PQF_B3_PORTABLE && left > 1) {
            fn = k == PQF_B3_AVX512 ? kernel_avx512vl : kernel_avx2;
            width = 8;
        }
#endif
        unsigned lanes = PQF_MIN(left, width);
        const uint8_t *lp[16];
        uint64_t ctr[16];
        uint8_t cv[16][32];
        for (unsigned i = 0; i < width; i++) {
            lp[i] = in[at + (i < lanes ? i : 0)];
            ctr[i] = counter + (inc ? at + i : 0);
        }
        fn(lp, width, nblocks, ctr, flags, fstart, fend, cv);
        memcpy(out + at, cv, (size_t)lanes * 32);
        at += lanes;
    }
}

/* Reduces nsub complete subtrees side by side to their roots' CVs (not the
 * root of the tree: more input follows). Subtree j has size[j] (a power of
 * two) chunks whose CVs are at cvs[start[j]...]; one level of parents at a
 * time over the level below, parent i's block being its children 2i and 2i+1
 * (64 bytes side by side), all the subtrees' parents of a level in one
 * hash_many, each level written over the start of the one below. The root of
 * subtree j ends at cvs[start[j]]. */
static void reduce_subtrees(int k, uint8_t (*cvs)[32], const unsigned *start, const unsigned *size,
                            unsigned nsub)
{
    const uint8_t *in[MAX_SUBTREE / 2];
    uint8_t par[MAX_SUBTREE / 2][32];
    for (unsigned w = 1;; w *= 2) { /* the level below holds size[j] / w nodes */
        unsigned m = 0;
        for (unsigned j = 0; j < nsub; j++)
            for (unsigned i = 0; i < size[j] / w / 2; i++)
                in[m++] = cvs[start[j] + 2 * i];
        if (!m)
            break;
        hash_many(k, in, m, 1, 0, false, PARENT, 0, 0, par);
        m = 0;
        for (unsigned j = 0; j < nsub; j++)
            for (unsigned i = 0; i < size[j] / w / 2; i++)
                memcpy(cvs[start[j] + i], par[m++], 32);
    }
}

/* ---- the tree --------------------------------------------------------------------- */

void pqf__blake3_init(pqf__blake3 *h)
{
    h->chunk = 0;
    h->buf_len = 0;
    h->depth = 0;
}

/* Pushes the CV of the complete subtree of n (a power of two) chunks that
 * starts at the current chunk (whose index is a multiple of n), then merges:
 * while the chunk count, in units of n, ends in a 0 bit, the top of the stack
 * is the subtree's left sibling. Neither is the root: more input follows.
 * The current chunk becomes the one after the subtree. */
static void push_subtree(pqf__blake3 *h, const uint32_t cv[8], uint64_t n)
{
    uint32_t c[8];
    memcpy(c, cv, sizeof c);
    h->chunk += n;
    for (uint64_t total = h->chunk / n; (total & 1) == 0; total >>= 1)
        parent_cv(h->stack[--h->depth], c, 0, c);
    memcpy(h->stack[h->depth++], c, sizeof c);
}

void pqf__blake3_update(pqf__blake3 *h, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (!len)
        return;
    if (h->buf_len) {
        size_t take = PQF_MIN((size_t)(CHUNK_LEN - h->buf_len), len);
        memcpy(h->buf + h->buf_len, p, take);
        h->buf_len = (uint16_t)(h->buf_len + take);
        p += take;
        len -= take;
        if (!len)
            return; /* the chunk, whole or not, may be the last */
    }
    /* Whole chunks with more input after them (the buffered one first, when
     * whole), up to MAX_SUBTREE a round: their CVs all at once, then the
     * parents above them level by level. */
    int k = pqf__blake3_kernel();
    while (h->buf_len == CHUNK_LEN || len > CHUNK_LEN) {
        const uint8_t *in[MAX_SUBTREE];
        uint8_t cvs[MAX_SUBTREE][32];
        unsigned n = 0;
        if (h->buf_len == CHUNK_LEN)
            in[n++] = h->buf;
        size_t whole = PQF_MIN((len - 1) / CHUNK_LEN, (size_t)(MAX_SUBTREE - n));
        for (size_t i = 0; i < whole; i++)
            in[n++] = p + i * CHUNK_LEN;
        hash_many(k, in, n, CHUNK_LEN / BLOCK_LEN, h->chunk, true, 0, CHUNK_START, CHUNK_END, cvs);
        h->buf_len = 0;
        p += whole * CHUNK_LEN;
        len -= whole * CHUNK_LEN;
        /* the largest complete subtrees the chunk indices allow, left to
         * right (at most 2 log2(MAX_SUBTREE) of them) */
        unsigned start[16], size[16], nsub = 0;
        for (unsigned at = 0; at < n; nsub++) {
            unsigned sub = MAX_SUBTREE;
            while (sub > n - at || ((h->chunk + at) & (sub - 1)) != 0)
                sub /= 2;
            start[nsub] = at;
            size[nsub] = sub;
            at += sub;
        }
        reduce_subtrees(k, cvs, start, size, nsub);
        for (unsigned j = 0; j < nsub; j++) {
            uint32_t cv[8];
            for (int w = 0; w < 8; w++)
                cv[w] = pqf__load32le(cvs[start[j]] + 4 * w);
            push_subtree(h, cv, size[j]);
        }
    }
    memcpy(h->buf, p, len); /* 1..CHUNK_LEN bytes: the current chunk */
    h->buf_len = (uint16_t)len;
}

void pqf__blake3_final(const pqf__blake3 *h, uint8_t out[32])
{
    /* the current chunk: its whole blocks but the last, then the last (maybe
     * partial, zero-padded; empty for empty input) with CHUNK_END, and ROOT
     * when it is the only chunk (whose index is 0) */
    uint32_t cv[8];
    memcpy(cv, IV, sizeof cv);
    size_t nb = h->buf_len ? (h->buf_len - 1u) / BLOCK_LEN : 0;
    for (size_t b = 0; b < nb; b++)
        compress(cv, h->buf + b * BLOCK_LEN, BLOCK_LEN, h->chunk, b ? 0 : CHUNK_START, cv);
    uint8_t last[64] = {0};
    size_t last_len = h->buf_len - nb * BLOCK_LEN;
    memcpy(last, h->buf + nb * BLOCK_LEN, last_len);
    unsigned flags = CHUNK_END | (nb ? 0 : CHUNK_START) | (h->depth ? 0 : ROOT);
    compress(cv, last, (unsigned)last_len, h->chunk, flags, cv);
    /* the stack holds the chunk's left siblings up the tree; the top-most
     * parent is the root */
    for (int i = h->depth - 1; i >= 0; i--)
        parent_cv(h->stack[i], cv, i == 0 ? ROOT : 0, cv);
    for (int w = 0; w < 8; w++)
        pqf__store32le(out + 4 * w, cv[w]);
}

void pqf__blake3_hash(const void *data, size_t len, uint8_t out[32])
{
    pqf__blake3 h;
    pqf__blake3_init(&h);
    pqf__blake3_update(&h, data, len);
    pqf__blake3_final(&h, out);
}
