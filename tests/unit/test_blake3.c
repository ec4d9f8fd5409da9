/* Unit tests: BLAKE3 (src/base/blake3.c) for every kernel this CPU has:
 * the official test-vector inputs (byte i is i % 251) at lengths around the
 * block, chunk and subtree boundaries, hashed in one call, in pieces of
 * random sizes and a byte at a time, against digests b3sum printed; and,
 * where b3sum is installed, random buffers against b3sum run live. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/blake3.h"
#include "base/hash.h"
#include "testutil.h"

static const int kernels[] = {PQF_B3_PORTABLE, PQF_B3_AVX2, PQF_B3_AVX512};
#define NKERNELS (sizeof kernels / sizeof kernels[0])

/* The digests of the test-vector inputs, from b3sum 1.2.0 (Debian's):
 *   python3 -c "import sys; sys.stdout.buffer.write(bytes(i % 251 for i in
 *   range(N)))" | b3sum --no-names
 * The first 35 lengths are those of the official test_vectors.json; the rest
 * fill the 16-chunk kernel and build deep trees. */
static const struct {
    size_t len;
    const char *hex;
} vectors[] = {
    {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
    {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
    {2, "7b7015bb92cf0b318037702a6cdd81dee41224f734684c2c122cd6359cb1ee63"},
    {3, "e1be4d7a8ab5560aa4199eea339849ba8e293d55ca0a81006726d184519e647f"},
    {4, "f30f5ab28fe047904037f77b6da4fea1e27241c5d132638d8bedce9d40494f32"},
    {5, "b40b44dfd97e7a84a996a91af8b85188c66c126940ba7aad2e7ae6b385402aa2"},
    {6, "06c4e8ffb6872fad96f9aaca5eee1553eb62aed0ad7198cef42e87f6a616c844"},
    {7, "3f8770f387faad08faa9d8414e9f449ac68e6ff0417f673f602a646a891419fe"},
    {8, "2351207d04fc16ade43ccab08600939c7c1fa70a5c0aaca76063d04c3228eaeb"},
    {63, "e9bc37a594daad83be9470df7f7b3798297c3d834ce80ba85d6e207627b7db7b"},
    {64, "4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98"},
    {65, "de1e5fa0be70df6d2be8fffd0e99ceaa8eb6e8c93a63f2d8d1c30ecb6b263dee"},
    {127, "d81293fda863f008c09e92fc382a81f5a0b4a1251cba1634016a0f86a6bd640d"},
    {128, "f17e570564b26578c33bb7f44643f539624b05df1a76c81f30acd548c44b45ef"},
    {129, "683aaae9f3c5ba37eaaf072aed0f9e30bac0865137bae68b1fde4ca2aebdcb12"},
    {1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
    {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
    {1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
    {2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"},
    {2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"},
    {3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"},
    {3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"},
    {4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969"},
    {4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995"},
    {5120, "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833"},
    {5121, "628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff"},
    {6144, "3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca205"},
    {6145, "f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f"},
    {7168, "61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a"},
    {7169, "a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817"},
    {8192, "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63"},
    {8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"},
    {16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4"},
    {31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"},
    {102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"},
    {16385, "1dabe216be2578830263b049de1639f39f05a4da616b9b78c7a5e4e41662fd1f"},
    {17408, "993924ff3dcbd868be9cf3fed98d4538fe579ffccf390a5aa1ddba0f6a20bfed"},
    {33791, "fd1eb52386162a68746cd6a4ce3e10a6bb1b401a7f2eaece3af90130842867b0"},
    {1048576, "74cb441fd087764ca9c3694da742ebe30cbeb3060a17009ca81825c7a8d10343"},
    {1049599, "eaa3f5b2c68920a8c8ac30b5bc789102a3794c94c20d20db466b51a6dec41fe9"},
    {5242887, "4ad8fff7183fb6486dc1a2d368d5bd3daa4f8fca845648ec36b78934559989cd"},
};


static uint8_t *pattern(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i % 251);
    return p;
}

/* A piece size: mostly small and odd, sometimes around a chunk or many. */
static size_t piece(void)
{
    switch (tu_rnd() % 4) {
    case 0:
        return 1 + tu_rnd() % 70;
    case 1:
        return 1 + tu_rnd() % 3000;
    case 2:
        return 1024 * (1 + tu_rnd() % 20) + (tu_rnd() % 3) - 1;
    default:
        return 1 + tu_rnd() % (1u << 20);
    }
}

static void dispatch_picks_a_kernel_the_cpu_has(void **state)
{
    (void)state;
    int k = pqf__blake3_kernel();
    assert_int_not_equal(k, PQF_B3_AUTO);
    assert_true(pqf__blake3_force(k));
    assert_true(pqf__blake3_force(PQF_B3_PORTABLE));
    assert_int_equal(pqf__blake3_kernel(), PQF_B3_PORTABLE);
    assert_true(pqf__blake3_force(PQF_B3_AUTO));
    assert_int_equal(pqf__blake3_kernel(), k);
    print_message("blake3 kernel: %s\n", pqf__blake3_kernel_name(k));
}

/* Each vector in one call, in random pieces (three different splits) and,
 * up to 100 KiB, a byte at a time; each kernel must give b3sum's digest. */
static void official_vectors_any_split_any_kernel(void **state)
{
    (void)state;
    size_t nv = sizeof vectors / sizeof vectors[0];
    uint8_t *data = pattern(vectors[nv - 1].len);
    for (size_t k = 0; k < NKERNELS; k++) {
        if (!pqf__blake3_force(kernels[k])) {
            print_message("kernel %s: not on this CPU\n", pqf__blake3_kernel_name(kernels[k]));
            continue;
        }
        const char *kn = pqf__blake3_kernel_name(kernels[k]);
        for (size_t v = 0; v < nv; v++) {
            size_t n = vectors[v].len;
            uint8_t d[32];
            char hex[65];
            pqf__blake3_hash(data, n, d);
            pqf__hex(d, 32, hex);
            if (strcmp(hex, vectors[v].hex) != 0)
                fail_msg("kernel %s, %zu bytes in one call: %s, want %s", kn, n, hex,
                         vectors[v].hex);
            for (int split = 0; split < 3; split++) {
                pqf__blake3 h;
                pqf__blake3_init(&h);
                for (size_t at = 0; at < n;) {
                    size_t take = piece();
                    take = take < n - at ? take : n - at;
                    pqf__blake3_update(&h, data + at, take);
                    if (tu_rnd() % 8 == 0)
                        pqf__blake3_update(&h, data + at + take, 0);
                    at += take;
                }
                pqf__blake3_final(&h, d);
                pqf__hex(d, 32, hex);
                if (strcmp(hex, vectors[v].hex) != 0)
                    fail_msg("kernel %s, %zu bytes in random pieces: %s, want %s", kn, n, hex,
                             vectors[v].hex);
            }
            if (n <= 102400) {
                pqf__blake3 h;
                pqf__blake3_init(&h);
                for (size_t at = 0; at < n; at++)
                    pqf__blake3_update(&h, data + at, 1);
                pqf__blake3_final(&h, d);
                pqf__hex(d, 32, hex);
                if (strcmp(hex, vectors[v].hex) != 0)
                    fail_msg("kernel %s, %zu bytes one at a time: %s, want %s", kn, n, hex,
                             vectors[v].hex);
            }
        }
    }
    pqf__blake3_force(PQF_B3_AUTO);
    free(data);
}

/* Streams of whole-chunk pieces (as a reader's buffers are) put the current
 * chunk at every offset against the subtree alignment; and final in the
 * middle leaves the state as it was. */
static void chunk_pieces_and_final_midway(void **state)
{
    (void)state;
    size_t n = vectors[sizeof vectors / sizeof vectors[0] - 1].len;
    uint8_t *data = pattern(n);
    uint8_t want[32];
    assert_true(pqf__blake3_force(PQF_B3_PORTABLE));
    pqf__blake3_hash(data, n, want);
    for (size_t k = 0; k < NKERNELS; k++) {
        if (!pqf__blake3_force(kernels[k]))
            continue;
        static const size_t sizes[] = {1024, 3 * 1024, 16 * 1024, 64 * 1024, 1 << 20};
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            pqf__blake3 h;
            pqf__blake3_init(&h);
            size_t next_check = n / 3;
            for (size_t at = 0; at < n;) {
                size_t take = sizes[s] < n - at ? sizes[s] : n - at;
                pqf__blake3_update(&h, data + at, take);
                at += take;
                if (at >= next_check && at < n) { /* a prefix's digest on the way */
                    uint8_t mid[32], ref[32];
                    pqf__blake3_final(&h, mid);
                    pqf__blake3_hash(data, at, ref);
                    assert_memory_equal(mid, ref, 32);
                    next_check += n / 3;
                }
            }
            uint8_t got[32];
            pqf__blake3_final(&h, got);
            if (memcmp(got, want, 32) != 0)
                fail_msg("kernel %s, %zu-byte pieces differ", pqf__blake3_kernel_name(kernels[k]),
                         sizes[s]);
        }
    }
    pqf__blake3_force(PQF_B3_AUTO);
    free(data);
}

/* Random buffers of random lengths up to 3 MiB against b3sum itself, from
 * unaligned addresses, each kernel, in one call and in random pieces. */
static void random_buffers_against_b3sum(void **state)
{
    (void)state;
    if (system("command -v b3sum >/dev/null 2>&1") != 0) {
        print_message("b3sum not on PATH: the live comparison is skipped\n");
        skip();
    }
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[512];
    snprintf(path, sizeof path, "%s/pqf-blake3-%d.bin", tmp, (int)getpid());
    enum { MAXLEN = 3 << 20 };
    uint8_t *buf = malloc(MAXLEN + 16);
    assert_non_null(buf);
    for (int round = 0; round < 20; round++) {
        size_t n = round < 4 ? tu_rnd() % 5000 : tu_rnd() % MAXLEN;
        size_t off = tu_rnd() % 16;
        for (size_t i = 0; i < n; i++)
            buf[off + i] = (uint8_t)tu_rnd();
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf + off, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
        char cmd[600], want[80] = "";
        snprintf(cmd, sizeof cmd, "b3sum --no-names '%s'", path);
        tu_cmd_line(cmd, want, sizeof want);
        for (size_t k = 0; k < NKERNELS; k++) {
            if (!pqf__blake3_force(kernels[k]))
                continue;
            uint8_t d[32];
            char hex[65];
            pqf__blake3_hash(buf + off, n, d);
            pqf__hex(d, 32, hex);
            if (strcmp(hex, want) != 0)
                fail_msg("kernel %s, %zu random bytes: %s, b3sum %s",
                         pqf__blake3_kernel_name(kernels[k]), n, hex, want);
            pqf__blake3 h;
            pqf__blake3_init(&h);
            for (size_t at = 0; at < n;) {
                size_t take = piece();
                take = take < n - at ? take : n - at;
                pqf__blake3_update(&h, buf + off + at, take);
                at += take;
            }
            pqf__blake3_final(&h, d);
            pqf__hex(d, 32, hex);
            if (strcmp(hex, want) != 0)
                fail_msg("kernel %s, %zu random bytes in pieces: %s, b3sum %s",
                         pqf__blake3_kernel_name(kernels[k]), n, hex, want);
        }
    }
    pqf__blake3_force(PQF_B3_AUTO);
    unlink(path);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dispatch_picks_a_kernel_the_cpu_has),
        cmocka_unit_test(official_vectors_any_split_any_kernel),
        cmocka_unit_test(chunk_pieces_and_final_midway),
        cmocka_unit_test(random_buffers_against_b3sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
