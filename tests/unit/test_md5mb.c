/* Unit tests: the explicit-state MD5 and its multi-buffer SIMD kernels
 * (src/base/md5mb.c) against OpenSSL's MD5, for every kernel this CPU has:
 * known vectors, every length around the block and padding boundaries, many
 * lanes of random lengths fed in random pieces from unaligned addresses and
 * partial blocks, lanes dropping out at different block counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/md5mb.h"
#include "testutil.h"

static const int kernels[] = {PQF_MD5_SCALAR, PQF_MD5_AVX2, PQF_MD5_AVX512VL, PQF_MD5_AVX512};

static void ossl_md5(const void *d, size_t n, uint8_t out[16])
{
    unsigned int ol = 16;
    assert_int_equal(EVP_Digest(d, n, out, &ol, EVP_md5(), NULL), 1);
}


static uint8_t *random_bytes(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)tu_rnd();
    return p;
}

static void known_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *hex;
    } v[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
        if (!pqf__md5_force(kernels[k]))
            continue;
        pqf__md5 m[7];
        pqf__md5 *mp[7];
        const uint8_t *d[7];
        size_t l[7];
        for (int i = 0; i < 7; i++) {
            pqf__md5_init(&m[i]);
            mp[i] = &m[i];
            d[i] = (const uint8_t *)v[i].in;
            l[i] = strlen(v[i].in);
        }
        pqf__md5_update_many(mp, d, l, 7);
        for (int i = 0; i < 7; i++) {
            uint8_t out[16];
            char hex[33];
            pqf__md5_final(&m[i], out);
            pqf__hex(out, 16, hex);
            assert_string_equal(hex, v[i].hex);
        }
    }
    pqf__md5_force(PQF_MD5_AUTO);
}

/* Every length 0..300 and around multiples of 64 up to 4 KiB, in single and
 * many-lane calls. */
static void every_length_near_the_boundaries(void **state)
{
    (void)state;
    uint8_t *data = random_bytes(8192);
    for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
        if (!pqf__md5_force(kernels[k]))
            continue;
        for (size_t n = 0; n < 4200; n = n < 300 ? n + 1 : n + 61) {
            /* 17 lanes: lane i hashes n + i bytes from offset i (unaligned). */
            pqf__md5 m[17];
            pqf__md5 *mp[17];
            const uint8_t *d[17];
            size_t l[17];
            for (unsigned i = 0; i < 17; i++) {
                pqf__md5_init(&m[i]);
                mp[i] = &m[i];
                d[i] = data + i;
                l[i] = n + i;
            }
            pqf__md5_update_many(mp, d, l, 17);
            for (unsigned i = 0; i < 17; i++) {
                uint8_t a[16], b[16];
                pqf__md5_final(&m[i], a);
                ossl_md5(data + i, n + i, b);
                if (memcmp(a, b, 16) != 0)
                    fail_msg("kernel %s: lane %u, %zu bytes differ from OpenSSL",
                             pqf__md5_kernel_name(kernels[k]), i, n + i);
            }
        }
    }
    pqf__md5_force(PQF_MD5_AUTO);
    free(data);
}

/* Random lane counts (1..40), random lengths up to 64 KiB, each state fed in
 * 1..6 update_many calls of random pieces (so states start with partial
 * blocks and lanes drop out at different block counts), some lanes starting
 * with a plain update. */
static void random_lanes_and_pieces(void **state)
{
    (void)state;
    enum { MAXL = 40 };
    for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
        if (!pqf__md5_force(kernels[k]))
            continue;
        assert_int_equal(pqf__md5_kernel(), kernels[k]);
        for (int round = 0; round < 60; round++) {
            unsigned n = 1 + (unsigned)(tu_rnd() % MAXL);
            uint8_t *buf[MAXL];
            size_t total[MAXL], pos[MAXL];
            pqf__md5 m[MAXL];
            for (unsigned i = 0; i < n; i++) {
                uint64_t r = tu_rnd();
                total[i] = r % 3 == 0 ? tu_rnd() % 200 : tu_rnd() % 65536;
                buf[i] = random_bytes(total[i] + 7);
                pqf__md5_init(&m[i]);
                pos[i] = 0;
                if (r % 5 == 0 && total[i]) { /* a plain update first */
                    pos[i] = tu_rnd() % total[i];
                    pqf__md5_update(&m[i], buf[i] + 3, pos[i]);
                }
            }
            int calls = 1 + (int)(tu_rnd() % 6);
            for (int c = 0; c < calls; c++) {
                pqf__md5 *mp[MAXL];
                const uint8_t *d[MAXL];
                size_t l[MAXL];
                for (unsigned i = 0; i < n; i++) {
                    size_t rest = total[i] - pos[i];
                    size_t take = c == calls - 1 ? rest : rest ? tu_rnd() % (rest + 1) : 0;
                    mp[i] = &m[i];
                    d[i] = buf[i] + 3 + pos[i];
                    l[i] = take;
                    pos[i] += take;
                }
                pqf__md5_update_many(mp, d, l, n);
            }
            for (unsigned i = 0; i < n; i++) {
                uint8_t a[16], b[16];
                pqf__md5_final(&m[i], a);
                ossl_md5(buf[i] + 3, total[i], b);
                if (memcmp(a, b, 16) != 0)
                    fail_msg("kernel %s: round %d, lane %u of %u, %zu bytes differ from OpenSSL",
                             pqf__md5_kernel_name(kernels[k]), round, i, n, total[i]);
                free(buf[i]);
            }
        }
    }
    pqf__md5_force(PQF_MD5_AUTO);
}

/* Long runs: 16 lanes of 1 MiB plus a few bytes each, as the download's
 * multipart check hashes parts. */
static void long_lanes(void **state)
{
    (void)state;
    enum { L = 16, SZ = 1 << 20 };
    uint8_t *data = random_bytes((size_t)L * SZ + L * 100);
    for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
        if (!pqf__md5_force(kernels[k]))
            continue;
        pqf__md5 m[L];
        pqf__md5 *mp[L];
        const uint8_t *d[L];
        size_t l[L];
        for (unsigned i = 0; i < L; i++) {
            pqf__md5_init(&m[i]);
            mp[i] = &m[i];
            d[i] = data + (size_t)i * SZ + i * 100;
            l[i] = SZ - (i == L - 1 ? SZ / 3 : 0) + i;
        }
        pqf__md5_update_many(mp, d, l, L);
        for (unsigned i = 0; i < L; i++) {
            uint8_t a[16], b[16];
            pqf__md5_final(&m[i], a);
            ossl_md5(d[i], l[i], b);
            assert_memory_equal(a, b, 16);
        }
    }
    pqf__md5_force(PQF_MD5_AUTO);
    free(data);
}

/* pqf__md5_many: whole buffers, more than one batch of 16, any kernel. */
static void many_whole_buffers(void **state)
{
    (void)state;
    enum { N = 37 };
    uint8_t *data = random_bytes(N * 3000);
    const uint8_t *d[N];
    size_t l[N];
    uint8_t got[N][16], want[16];
    uint8_t *o[N];
    for (unsigned i = 0; i < N; i++) {
        d[i] = data + i * 3000;
        l[i] = (size_t)i * 81;
        o[i] = got[i];
    }
    pqf__md5_many(d, l, o, N);
    for (unsigned i = 0; i < N; i++) {
        ossl_md5(d[i], l[i], want);
        assert_memory_equal(got[i], want, 16);
    }
    free(data);
}

static void dispatch_picks_a_kernel_the_cpu_has(void **state)
{
    (void)state;
    int k = pqf__md5_kernel();
    assert_int_not_equal(k, PQF_MD5_AUTO);
    assert_true(pqf__md5_force(k));
    assert_true(pqf__md5_force(PQF_MD5_SCALAR));
    assert_int_equal(pqf__md5_kernel(), PQF_MD5_SCALAR);
    assert_true(pqf__md5_force(PQF_MD5_AUTO));
    assert_int_equal(pqf__md5_kernel(), k);
    print_message("md5 kernel: %s\n", pqf__md5_kernel_name(k));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dispatch_picks_a_kernel_the_cpu_has),
        cmocka_unit_test(known_vectors),
        cmocka_unit_test(every_length_near_the_boundaries),
        cmocka_unit_test(random_lanes_and_pieces),
        cmocka_unit_test(long_lanes),
        cmocka_unit_test(many_whole_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
