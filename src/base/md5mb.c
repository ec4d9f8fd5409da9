/* MD5 (RFC 1321) with an explicit state and multi-buffer SIMD kernels; see
 * md5mb.h. The kernels keep one message per 32-bit lane: lane i's A, B, C, D
 * are element i of four vectors, and each 64-byte block of the 8 (16)
 * messages is transposed so vector w holds message word w of every lane.
 * The lanes run in lockstep over the block count they all still have; a
 * lane that runs out drops out (its register lanes then repeat another
 * lane's data and are discarded), partial blocks go through the C code. */
#include "base/md5mb.h"
#include "base/base.h"
#include "base/cpu.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define MD5MB_X86 1
#include <immintrin.h>
#endif

#define MD5_ROUNDS(STEP)                                                                           \
    STEP(F1, a, b, c, d, 0, 0xd76aa478u, 7);                                                       \
    STEP(F1, d, a, b, c, 1, 0xe8c7b756u, 12);                                                      \
    STEP(F1, c, d, a, b, 2, 0x242070dbu, 17);                                                      \
    STEP(F1, b, c, d, a, 3, 0xc1bdceeeu, 22);                                                      \
    STEP(F1, a, b, c, d, 4, 0xf57c0fafu, 7);                                                       \
    STEP(F1, d, a, b, c, 5, 0x4787c62au, 12);                                                      \
    STEP(F1, c, d, a, b, 6, 0xa8304613u, 17);                                                      \
    STEP(F1, b, c, d, a, 7, 0xfd469501u, 22);                                                      \
    STEP(F1, a, b, c, d, 8, 0x698098d8u, 7);                                                       \
    STEP(F1, d, a, b, c, 9, 0x8b44f7afu, 12);                                                      \
    STEP(F1, c, d, a, b, 10, 0xffff5bb1u, 17);                                                     \
    STEP(F1, b, c, d, a, 11, 0x895cd7beu, 22);                                                     \
    STEP(F1, a, b, c, d, 12, 0x6b901122u, 7);                                                      \
    STEP(F1, d, a, b, c, 13, 0xfd987193u, 12);                                                     \
    STEP(F1, c, d, a, b, 14, 0xa679438eu, 17);                                                     \
    STEP(F1, b, c, d, a, 15, 0x49b40821u, 22);                                                     \
    STEP(F2, a, b, c, d, 1, 0xf61e2562u, 5);                                                       \
    STEP(F2, d, a, b, c, 6, 0xc040b340u, 9);                                                       \
    STEP(F2, c, d, a, b, 11, 0x265e5a51u, 14);                                                     \
    STEP(F2, b, c, d, a, 0, 0xe9b6c7aau, 20);                                                      \
    STEP(F2, a, b, c, d, 5, 0xd62f105du, 5);                                                       \
    STEP(F2, d, a, b, c, 10, 0x02441453u, 9);                                                      \
    STEP(F2, c, d, a, b, 15, 0xd8a1e681u, 14);                                                     \
    STEP(F2, b, c, d, a, 4, 0xe7d3fbc8u, 20);                                                      \
    STEP(F2, a, b, c, d, 9, 0x21e1cde6u, 5);                                                       \
    STEP(F2, d, a, b, c, 14, 0xc33707d6u, 9);                                                      \
    STEP(F2, c, d, a, b, 3, 0xf4d50d87u, 14);                                                      \
    STEP(F2, b, c, d, a, 8, 0x455a14edu, 20);                                                      \
    STEP(F2, a, b, c, d, 13, 0xa9e3e905u, 5);                                                      \
    STEP(F2, d, a, b, c, 2, 0xfcefa3f8u, 9);                                                       \
    STEP(F2, c, d, a, b, 7, 0x676f02d9u, 14);                                                      \
    STEP(F2, b, c, d, a, 12, 0x8d2a4c8au, 20);                                                     \
    STEP(F3, a, b, c, d, 5, 0xfffa3942u, 4);                                                       \
    STEP(F3, d, a, b, c, 8, 0x8771f681u, 11);                                                      \
    STEP(F3, c, d, a, b, 11, 0x6d9d6122u, 16);                                                     \
    STEP(F3, b, c, d, a, 14, 0xfde5380cu, 23);                                                     \
    STEP(F3, a, b, c, d, 1, 0xa4beea44u, 4);                                                       \
    STEP(F3, d, a, b, c, 4, 0x4bdecfa9u, 11);                                                      \
    STEP(F3, c, d, a, b, 7, 0xf6bb4b60u, 16);                                                      \
    STEP(F3, b, c, d, a, 10, 0xbebfbc70u, 23);                                                     \
    STEP(F3, a, b, c, d, 13, 0x289b7ec6u, 4);                                                      \
    STEP(F3, d, a, b, c, 0, 0xeaa127fau, 11);                                                      \
    STEP(F3, c, d, a, b, 3, 0xd4ef3085u, 16);                                                      \
    STEP(F3, b, c, d, a, 6, 0x04881d05u, 23);                                                      \
    STEP(F3, a, b, c, d, 9, 0xd9d4d039u, 4);                                                       \
    STEP(F3, d, a, b, c, 12, 0xe6db99e5u, 11);                                                     \
    STEP(F3, c, d, a, b, 15, 0x1fa27cf8u, 16);                                                     \
    STEP(F3, b, c, d, a, 2, 0xc4ac5665u, 23);                                                      \
    STEP(F4, a, b, c, d, 0, 0xf4292244u, 6);                                                       \
    STEP(F4, d, a, b, c, 7, 0x432aff97u, 10);                                                      \
    STEP(F4, c, d, a, b, 14, 0xab9423a7u, 15);                                                     \
    STEP(F4, b, c, d, a, 5, 0xfc93a039u, 21);                                                      \
    STEP(F4, a, b, c, d, 12, 0x655b59c3u, 6);                                                      \
    STEP(F4, d, a, b, c, 3, 0x8f0ccc92u, 10);                                                      \
    STEP(F4, c, d, a, b, 10, 0xffeff47du, 15);                                                     \
    STEP(F4, b, c, d, a, 1, 0x85845dd1u, 21);                                                      \
    STEP(F4, a, b, c, d, 8, 0x6fa87e4fu, 6);                                                       \
    STEP(F4, d, a, b, c, 15, 0xfe2ce6e0u, 10);                                                     \
    STEP(F4, c, d, a, b, 6, 0xa3014314u, 15);                                                      \
    STEP(F4, b, c, d, a, 13, 0x4e0811a1u, 21);                                                     \
    STEP(F4, a, b, c, d, 4, 0xf7537e82u, 6);                                                       \
    STEP(F4, d, a, b, c, 11, 0xbd3af235u, 10);                                                     \
    STEP(F4, c, d, a, b, 2, 0x2ad7d2bbu, 15);                                                      \
    STEP(F4, b, c, d, a, 9, 0xeb86d391u, 21);

/* ---- portable C ------------------------------------------------------------------- */

#define C_F1(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define C_F2(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define C_F3(x, y, z) ((x) ^ (y) ^ (z))
#define C_F4(x, y, z) ((y) ^ ((x) | ~(z)))
#define C_STEP(f, a, b, c, d, g, k, s)                                                             \
    do {                                                                                           \
        a += C_##f(b, c, d) + w[g] + (k);                                                          \
        a = ((a << (s)) | (a >> (32 - (s)))) + b;                                                  \
    } while (0)

static void compress_c(uint32_t h[4], const uint8_t *p, size_t nblocks)
{
    for (; nblocks; nblocks--, p += 64) {
        uint32_t w[16];
        for (int i = 0; i < 16; i++)
            w[i] = pqf__load32le(p + 4 * i);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
        MD5_ROUNDS(C_STEP)
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
    }
}

void pqf__md5_init(pqf__md5 *m)
{
    m->h[0] = 0x67452301u;
    m->h[1] = 0xefcdab89u;
    m->h[2] = 0x98badcfeu;
    m->h[3] = 0x10325476u;
    m->len = 0;
}

/* Fills the partial block from *p (at most *n bytes), compressing it when full. */
static void fill_partial(pqf__md5 *m, const uint8_t **p, size_t *n)
{
    size_t used = (size_t)(m->len % 64);
    if (!used || !*n)
        return;
    size_t take = PQF_MIN(64 - used, *n);
    memcpy(m->buf + used, *p, take);
    m->len += take;
    *p += take;
    *n -= take;
    if (used + take == 64)
        compress_c(m->h, m->buf, 1);
}

void pqf__md5_update(pqf__md5 *m, const void *data, size_t len)
{
    const uint8_t *p = data;
    fill_partial(m, &p, &len);
    if (!len)
        return;
    compress_c(m->h, p, len / 64);
    memcpy(m->buf, p + len / 64 * 64, len % 64);
    m->len += len;
}

void pqf__md5_final(pqf__md5 *m, uint8_t out[16])
{
    uint64_t bits = m->len * 8;
    size_t used = (size_t)(m->len % 64);
    m->buf[used++] = 0x80;
    if (used > 56) {
        memset(m->buf + used, 0, 64 - used);
        compress_c(m->h, m->buf, 1);
        used = 0;
    }
    memset(m->buf + used, 0, 56 - used);
    for (int i = 0; i < 8; i++)
        m->buf[56 + i] = (uint8_t)(bits >> (8 * i));
    compress_c(m->h, m->buf, 1);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (uint8_t)(m->h[i] >> (8 * j));
}

/* ---- SIMD kernels ----------------------------------------------------------------- */

/* kernel(st, p, nblocks): st[r][lane] is register r (A..D) of each lane;
 * p[lane] its next block; nblocks blocks of every lane. */
typedef void kernel_fn(uint32_t (*st)[16], const uint8_t *const *p, size_t nblocks);

#ifdef MD5MB_X86

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

/* Message words of lanes 0..7 at offset off of their blocks: words 0..7 (off
 * 0) or 8..15 (off 32) into w[0..7]. */
#define LOAD8(p, base, off, w)                                                                     \
    do {                                                                                           \
        __m256i r_[8];                                                                             \
        for (int i_ = 0; i_ < 8; i_++)                                                             \
            r_[i_] = _mm256_loadu_si256((const __m256i *)(p[(base) + i_] + (off)));                \
        TRANSPOSE8(r_, w);                                                                         \
    } while (0)

/* AVX2: F, G, I with and/or/xor, rotate with two shifts and an or. */
#define A2_F1(x, y, z) _mm256_xor_si256(z, _mm256_and_si256(x, _mm256_xor_si256(y, z)))
#define A2_F2(x, y, z) _mm256_xor_si256(y, _mm256_and_si256(z, _mm256_xor_si256(x, y)))
#define A2_F3(x, y, z) _mm256_xor_si256(_mm256_xor_si256(x, y), z)
#define A2_F4(x, y, z) _mm256_xor_si256(y, _mm256_or_si256(x, _mm256_xor_si256(z, ones)))
#define A2_STEP(f, a, b, c, d, g, k, s)                                                            \
    do {                                                                                           \
        a = _mm256_add_epi32(_mm256_add_epi32(a, A2_##f(b, c, d)),                                 \
                             _mm256_add_epi32(w[g], _mm256_set1_epi32((int)(k))));                 \
        a = _mm256_add_epi32(                                                                      \
            _mm256_or_si256(_mm256_slli_epi32(a, s), _mm256_srli_epi32(a, 32 - (s))), b);          \
    } while (0)

/* The 8-lane kernel's body, the same for AVX2 and AVX-512VL but for the step
 * (and the target the function is compiled for). */
#define KERNEL8_BODY(STEP)                                                                         \
    const uint8_t *p[8];                                                                           \
    memcpy(p, p0, sizeof p);                                                                       \
    __m256i a = _mm256_loadu_si256((const __m256i *)st[0]);                                        \
    __m256i b = _mm256_loadu_si256((const __m256i *)st[1]);                                        \
    __m256i c = _mm256_loadu_si256((const __m256i *)st[2]);                                        \
    __m256i d = _mm256_loadu_si256((const __m256i *)st[3]);                                        \
    for (; nblocks; nblocks--) {                                                                   \
        __m256i w[16];                                                                             \
        LOAD8(p, 0, 0, w);                                                                         \
        LOAD8(p, 0, 32, (w + 8));                                                                  \
        __m256i aa = a, bb = b, cc = c, dd = d;                                                    \
        MD5_ROUNDS(STEP)                                                                           \
        a = _mm256_add_epi32(a, aa);                                                               \
        b = _mm256_add_epi32(b, bb);                                                               \
        c = _mm256_add_epi32(c, cc);                                                               \
        d = _mm256_add_epi32(d, dd);                                                               \
        for (int i = 0; i < 8; i++)                                                                \
            p[i] += 64;                                                                            \
    }                                                                                              \
    _mm256_storeu_si256((__m256i *)st[0], a);                                                      \
    _mm256_storeu_si256((__m256i *)st[1], b);                                                      \
    _mm256_storeu_si256((__m256i *)st[2], c);                                                      \
    _mm256_storeu_si256((__m256i *)st[3], d)

__attribute__((target("avx2"))) static void kernel_avx2(uint32_t (*st)[16],
                                                        const uint8_t *const *p0, size_t nblocks)
{
    const __m256i ones = _mm256_set1_epi32(-1); /* for A2_F4 */
    KERNEL8_BODY(A2_STEP);
}

/* AVX-512: the boolean functions are one vpternlogd each (F: x ? y : z =
 * 0xca, G: z ? x : y = 0xe4, H: x ^ y ^ z = 0x96, I: y ^ (x | ~z) = 0x39) and
 * the rotate one vprold. */
#define TL_F1 0xca
#define TL_F2 0xe4
#define TL_F3 0x96
#define TL_F4 0x39
#define VL_STEP(f, a, b, c, d, g, k, s)                                                            \
    do {                                                                                           \
        a = _mm256_add_epi32(_mm256_add_epi32(a, _mm256_ternarylogic_epi32(b, c, d, TL_##f)),      \
                             _mm256_add_epi32(w[g], _mm256_set1_epi32((int)(k))));                 \
        a = _mm256_add_epi32(_mm256_rol_epi32(a, s), b);                                           \
    } while (0)

__attribute__((target("avx2,avx512f,avx512vl"))) static void
kernel_avx512vl(uint32_t (*st)[16], const uint8_t *const *p0, size_t nblocks)
{
    KERNEL8_BODY(VL_STEP);
}

#define Z_STEP(f, a, b, c, d, g, k, s)                                                             \
    do {                                                                                           \
        a = _mm512_add_epi32(_mm512_add_epi32(a, _mm512_ternarylogic_epi32(b, c, d, TL_##f)),      \
                             _mm512_add_epi32(w[g], _mm512_set1_epi32((int)(k))));                 \
        a = _mm512_add_epi32(_mm512_rol_epi32(a, s), b);                                           \
    } while (0)

__attribute__((target("avx2,avx512f"))) static void
kernel_avx512(uint32_t (*st)[16], const uint8_t *const *p0, size_t nblocks)
{
    const uint8_t *p[16];
    memcpy(p, p0, sizeof p);
    __m512i a = _mm512_loadu_si512(st[0]);
    __m512i b = _mm512_loadu_si512(st[1]);
    __m512i c = _mm512_loadu_si512(st[2]);
    __m512i d = _mm512_loadu_si512(st[3]);
    for (; nblocks; nblocks--) {
        __m256i lo[16], hi[16];
        __m512i w[16];
        LOAD8(p, 0, 0, lo);
        LOAD8(p, 0, 32, (lo + 8));
        LOAD8(p, 8, 0, hi);
        LOAD8(p, 8, 32, (hi + 8));
        for (int i = 0; i < 16; i++)
            w[i] = _mm512_inserti64x4(_mm512_castsi256_si512(lo[i]), hi[i], 1);
        __m512i aa = a, bb = b, cc = c, dd = d;
        MD5_ROUNDS(Z_STEP)
        a = _mm512_add_epi32(a, aa);
        b = _mm512_add_epi32(b, bb);
        c = _mm512_add_epi32(c, cc);
        d = _mm512_add_epi32(d, dd);
        for (int i = 0; i < 16; i++)
            p[i] += 64;
    }
    _mm512_storeu_si512(st[0], a);
    _mm512_storeu_si512(st[1], b);
    _mm512_storeu_si512(st[2], c);
    _mm512_storeu_si512(st[3], d);
}

#endif

/* What each kernel needs of the CPU (base/cpu.h). */
static const pqf__cpu_level need[] = {
    [PQF_MD5_SCALAR] = PQF_CPU_BASE,
    [PQF_MD5_AVX2] = PQF_CPU_AVX2,
    [PQF_MD5_AVX512VL] = PQF_CPU_AVX512,
    [PQF_MD5_AVX512] = PQF_CPU_AVX512,
};

static pqf__cpu_choice choice = {
    .n = PQF_MD5_AVX512, .need = need, .name = pqf__md5_kernel_name, .env = "PQF_MD5_KERNEL"};

/* PQF_MD5_KERNEL=scalar|avx2|avx512vl|avx512 picks a lesser kernel than the best
 * (tests, A/B runs). */
int pqf__md5_kernel(void)
{
    return pqf__cpu_kernel(&choice);
}

const char *pqf__md5_kernel_name(int k)
{
    switch (k) {
    case PQF_MD5_SCALAR:
        return "scalar";
    case PQF_MD5_AVX2:
        return "avx2";
    case PQF_MD5_AVX512VL:
        return "avx512vl";
    case PQF_MD5_AVX512:
        return "avx512";
    default:
        return "auto";
    }
}

bool pqf__md5_force(int k)
{
    return pqf__cpu_force(&choice, k);
}

/* Up to `width` lanes (8 or 16) of states through kernel fn. */
static void update_lanes(kernel_fn *fn, unsigned width, pqf__md5 *const *m,
                         const uint8_t *const *data, const size_t *len, unsigned n)
{
    const uint8_t *p[16];
    size_t left[16], nb[16];
    for (unsigned i = 0; i < n; i++) {
        p[i] = data[i];
        left[i] = len[i];
        fill_partial(m[i], &p[i], &left[i]);
        nb[i] = left[i] / 64; /* the partial block is empty when left > 0 */
    }
    for (;;) {
        unsigned active = 0, first = 0;
        size_t run = SIZE_MAX;
        for (unsigned i = 0; i < n; i++)
            if (nb[i]) {
                if (!active++)
                    first = i;
                run = PQF_MIN(run, nb[i]);
            }
        if (!active)
            break;
        if (active == 1) { /* one lane left: the C code is as fast */
            compress_c(m[first]->h, p[first], nb[first]);
            p[first] += nb[first] * 64;
            nb[first] = 0;
            break;
        }
        uint32_t st[4][16];
        const uint8_t *lp[16];
        for (unsigned i = 0; i < width; i++) {
            unsigned src = i < n && nb[i] ? i : first; /* idle lanes repeat lane `first` */
            lp[i] = p[src];
            for (int r = 0; r < 4; r++)
                st[r][i] = m[src]->h[r];
        }
        fn(st, lp, run);
        for (unsigned i = 0; i < n; i++)
            if (nb[i]) {
                for (int r = 0; r < 4; r++)
                    m[i]->h[r] = st[r][i];
                p[i] += run * 64;
                nb[i] -= run;
            }
    }
    for (unsigned i = 0; i < n; i++) {
        size_t tail = left[i] % 64;
        memcpy(m[i]->buf, p[i], tail);
        m[i]->len += left[i];
    }
}

void pqf__md5_update_many(pqf__md5 *const *m, const uint8_t *const *data, const size_t *len,
                          unsigned n)
{
    int k = pqf__md5_kernel();
    unsigned done = 0;
#ifdef MD5MB_X86
    while (k != PQF_MD5_SCALAR && n - done >= 2) {
        unsigned g = n - done;
        if (k == PQF_MD5_AVX512 && g > 8) {
            g = PQF_MIN(g, 16u);
            update_lanes(kernel_avx512, 16, m + done, data + done, len + done, g);
        } else {
            g = PQF_MIN(g, 8u);
            update_lanes(k == PQF_MD5_AVX2 ? kernel_avx2 : kernel_avx512vl, 8, m + done,
                         data + done, len + done, g);
        }
        done += g;
    }
#else
    (void)k;
#endif
    for (; done < n; done++)
        pqf__md5_update(m[done], data[done], len[done]);
}

void pqf__md5_many(const uint8_t *const *data, const size_t *len, uint8_t *const *out,
                   unsigned n)
{
    enum { BATCH = 16 };
    for (unsigned at = 0; at < n; at += BATCH) {
        unsigned b = n - at < BATCH ? n - at : BATCH;
        pqf__md5 ctx[BATCH];
        pqf__md5 *cp[BATCH];
        for (unsigned i = 0; i < b; i++) {
            pqf__md5_init(&ctx[i]);
            cp[i] = &ctx[i];
        }
        pqf__md5_update_many(cp, data + at, len + at, b);
        for (unsigned i = 0; i < b; i++)
            pqf__md5_final(&ctx[i], out[at + i]);
    }
}
