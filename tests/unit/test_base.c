/* Unit tests: errors, capped buffers, hashes, streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/ostream_fault.h"
#include "base/hash.h"
#include "pqfeed/pqfeed.h"
#include "testutil.h"

static void error_codes_have_names_and_exit_codes(void **state)
{
    (void)state;
    for (int c = 0; c < PQF_ERR__COUNT; c++) {
        assert_non_null(pqf_strerror((pqf_err)c));
        assert_string_not_equal(pqf_errname((pqf_err)c), "PQF_ERR_UNKNOWN");
    }
    assert_int_equal(pqf_exit_code(PQF_OK), 0);
    assert_int_not_equal(pqf_exit_code(PQF_ERR_CORRUPT), 0);
    assert_string_equal(pqf_strerror((pqf_err)999), "unknown error");
}

static void error_set_and_prefix(void **state)
{
    (void)state;
    pqf_error e = {0};
    assert_int_equal(pqf_error_set(&e, PQF_ERR_PARSE, "line %d: bad quote", 7), PQF_ERR_PARSE);
    pqf_error_prefix(&e, "%s: ", "in.csv");
    assert_string_equal(e.msg, "in.csv: line 7: bad quote");
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    pqf_error_set(&e, PQF_ERR_IO, "%s", big);
    assert_int_equal(strlen(e.msg), PQF_ERROR_MSG_MAX - 1);
    pqf_error_prefix(&e, "p: ");
    assert_int_equal(strlen(e.msg), PQF_ERROR_MSG_MAX - 1);
    assert_memory_equal(e.msg, "p: xxx", 6);
    assert_int_equal(pqf_error_set(NULL, PQF_ERR_IO, "ignored"), PQF_ERR_IO);
}

static void buf_respects_its_cap(void **state)
{
    (void)state;
    pqf__buf b;
    pqf__buf_init(&b, 10);
    assert_int_equal(pqf__buf_append(&b, "12345", 5), PQF_OK);
    assert_int_equal(pqf__buf_append(&b, "67890", 5), PQF_OK);
    assert_int_equal(pqf__buf_append(&b, "x", 1), PQF_ERR_LIMIT);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "1234567890", 10);
    assert_int_equal(pqf__buf_reserve(&b, SIZE_MAX), PQF_ERR_LIMIT);
    pqf__buf_free(&b);
    pqf__buf_init(&b, 1 << 20);
    assert_int_equal(pqf__buf_printf(&b, "%d-%s", 42, "x"), PQF_OK);
    assert_int_equal(pqf__buf_cstr(&b), PQF_OK);
    assert_string_equal((char *)b.data, "42-x");
    pqf__buf_free(&b);
}

/* Bitwise reflected CRC, the definition the fast ones must match. */
static uint32_t crc_ref(uint32_t poly, uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ poly : crc >> 1;
    }
    return ~crc;
}

/* CRC-32 and CRC-32C at every length to 1100 bytes, four alignments, chained
 * from an arbitrary crc, equal the bitwise definition. */
static void crcs_match_the_definition(void **state)
{
    (void)state;
    uint8_t buf[1200];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t n = 0; n <= 1100; n++)
        for (size_t off = 0; off < 4; off++) {
            uint32_t seed = (uint32_t)(n * 2654435761u);
            assert_int_equal(pqf__crc32(seed, buf + off, n),
                             crc_ref(0xEDB88320u, seed, buf + off, n));
            assert_int_equal(pqf__crc32c(seed, buf + off, n),
                             crc_ref(0x82F63B78u, seed, buf + off, n));
        }
}

static void buf_base64_and_hex(void **state)
{
    (void)state;
    pqf__buf b;
    pqf__buf_init(&b, 1 << 10);
    assert_int_equal(pqf__buf_append(&b, "x:", 2), PQF_OK);
    /* standard and URL alphabets, padding ends the text */
    assert_int_equal(pqf__buf_append_base64(&b, "+/8A-_w==", 9), PQF_OK);
    assert_int_equal(b.len, 2 + 5);
    assert_memory_equal(b.data, "x:\xfb\xff\x00\xfb\xfc", 7);
    /* not base64: an error and the buffer as it was */
    assert_int_equal(pqf__buf_append_base64(&b, "QUJD*", 5), PQF_ERR_VALUE);
    assert_int_equal(b.len, 7);
    pqf__buf_reset(&b);
    assert_int_equal(pqf__buf_append_base64(&b, "QUJDRA", 6), PQF_OK);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "ABCD", 4);
    assert_int_equal(pqf__buf_append_hex(&b, (const uint8_t *)"\x00\x9f\xff", 3), PQF_OK);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "ABCD009fff", 10);
    pqf__buf_free(&b);
    /* the cap holds for both */
    pqf__buf_init(&b, 4);
    assert_int_equal(pqf__buf_append_hex(&b, (const uint8_t *)"ab", 2), PQF_ERR_LIMIT);
    assert_int_equal(pqf__buf_append_base64(&b, "QUJDREVG", 8), PQF_ERR_LIMIT);
    assert_int_equal(b.len, 0);
    pqf__buf_free(&b);
}

static void grow_doubles_from_first(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    assert_true(pqf__grow(&v, 0, &cap, sizeof *v, 4));
    assert_int_equal(cap, 4);
    for (int i = 0; i < 4; i++)
        v[i] = i;
    assert_true(pqf__grow(&v, 3, &cap, sizeof *v, 4)); /* room left: unchanged */
    assert_int_equal(cap, 4);
    assert_true(pqf__grow(&v, 4, &cap, sizeof *v, 4));
    assert_int_equal(cap, 8);
    for (int i = 0; i < 4; i++)
        assert_int_equal(v[i], i);
    free(v);
    void *big = NULL;
    size_t bcap = 0;
    assert_false(pqf__grow(&big, 0, &bcap, SIZE_MAX / 2, 4)); /* size overflow */
    assert_null(big);
    assert_int_equal(bcap, 0);
}

static void hashes_match_known_vectors(void **state)
{
    (void)state;
    const char *s = "123456789";
    assert_int_equal(pqf__crc32(0, s, 9), 0xCBF43926u);
    assert_int_equal(pqf__crc32c(0, s, 9), 0xE3069283u);
    /* incremental crc32c equals one-shot */
    assert_int_equal(pqf__crc32c(pqf__crc32c(0, s, 4), s + 4, 5), 0xE3069283u);
    uint8_t d[32];
    char hex[65];
    pqf__sha256("abc", 3, d);
    pqf__hex(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    pqf__sha256_ctx h;
    assert_int_equal(pqf__sha256_init(&h), 0);
    pqf__sha256_update(&h, "a", 1);
    pqf__sha256_update(&h, "bc", 2);
    uint8_t d2[32];
    pqf__sha256_final(&h, d2);
    assert_memory_equal(d, d2, 32);
    assert_true(pqf__xxh64("", 0) == 0xEF46DB3751D8E999ull);
}

static void file_stream_commit_is_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/pqf-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    pqf_error err = {0};
    pqf_ostream *s = NULL;
    assert_int_equal(pqf_ostream_file(path, &s, &err), PQF_OK);
    assert_int_equal(pqf_ostream_write(s, "hello ", 6), PQF_OK);
    assert_int_equal(pqf_ostream_write(s, "world", 5), PQF_OK);
    assert_int_equal(access(path, F_OK), -1); /* not visible before commit */
    assert_int_equal(pqf_ostream_tell(s), 11);
    assert_int_equal(pqf_ostream_commit(s), PQF_OK);
    pqf_ostream_free(s);
    pqf_istream *in = NULL;
    assert_int_equal(pqf_istream_file(path, &in, &err), PQF_OK);
    assert_int_equal(pqf_istream_size(in), 11);
    char got[5];
    assert_int_equal(pqf_istream_read_at(in, 6, got, 5), PQF_OK);
    assert_memory_equal(got, "world", 5);
    assert_int_equal(pqf_istream_read_at(in, 8, got, 5), PQF_ERR_CORRUPT);
    assert_non_null(strstr(pqf_istream_error(in)->msg, "past the end"));
    pqf_istream_free(in);

    /* abort leaves nothing behind, and the old file is untouched */
    assert_int_equal(pqf_ostream_file(path, &s, &err), PQF_OK);
    assert_int_equal(pqf_ostream_write(s, "junk", 4), PQF_OK);
    pqf_ostream_free(s); /* aborts */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 11);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Pages of path's first `len` bytes in the page cache. */
static size_t cached_pages(const char *path, size_t len)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = (len + pg - 1) / pg, r = 0;
    unsigned char *v = malloc(n);
    assert_non_null(v);
    assert_int_equal(mincore(m, len, v), 0);
    for (size_t i = 0; i < n; i++)
        r += v[i] & 1;
    free(v);
    munmap(m, len);
    close(fd);
    return r;
}

/* The file sink writes whole 4 MiB buffers with O_DIRECT (they bypass the
 * page cache) and the tail buffered; a file system that refuses O_DIRECT at
 * fcntl (hook 1) or at the first write (hook 2) gets buffered writes. All
 * three give the same bytes, whatever the sizes of the writes. */
static void file_stream_direct_io_and_fallbacks(void **state)
{
    (void)state;
    char dir[] = "/tmp/pqf-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct statfs sf;
    assert_int_equal(statfs(dir, &sf), 0);
    const bool tmpfs = sf.f_type == 0x01021994; /* TMPFS_MAGIC: direct I/O still cached */
    const size_t total = (9u << 20) + 777;
    uint8_t *data = malloc(total);
    assert_non_null(data);
    for (size_t i = 0; i < total; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 13));
    static const size_t chunks[] = {1, 4095, (1u << 20) + 3, 3u << 20, 17, 5u << 20};
    size_t resident[3];
    for (int mode = 0; mode <= 2; mode++) {
        char path[256];
        snprintf(path, sizeof path, "%s/out%d.bin", dir, mode);
        pqf_error err = {0};
        pqf_ostream *s = NULL;
        pqf__ostream_direct_fault = mode;
        assert_int_equal(pqf_ostream_file(path, &s, &err), PQF_OK);
        size_t off = 0;
        for (int i = 0; off < total; i++) {
            size_t k = chunks[i % 6] < total - off ? chunks[i % 6] : total - off;
            assert_int_equal(pqf_ostream_write(s, data + off, k), PQF_OK);
            off += k;
        }
        /* two whole buffers are in the temporary by now */
        char cmd[600], tmp[300];
        snprintf(cmd, sizeof cmd, "ls %s/out%d.bin.tmp-* 2>/dev/null", dir, mode);
        tu_cmd_line(cmd, tmp, sizeof tmp);
        resident[mode] = cached_pages(tmp, 8u << 20);
        assert_int_equal(pqf_ostream_tell(s), total);
        assert_int_equal(pqf_ostream_commit(s), PQF_OK);
        pqf_ostream_free(s);
        assert_int_equal(pqf__ostream_direct_fault, mode == 2 ? 0 : mode);
        pqf__ostream_direct_fault = 0;
        pqf_istream *in = NULL;
        assert_int_equal(pqf_istream_file(path, &in, &err), PQF_OK);
        assert_int_equal(pqf_istream_size(in), total);
        uint8_t *got = malloc(total);
        assert_non_null(got);
        assert_int_equal(pqf_istream_read_at(in, 0, got, total), PQF_OK);
        assert_memory_equal(got, data, total);
        free(got);
        pqf_istream_free(in);
    }
    if (!tmpfs) {
        assert_true(resident[0] < 64);   /* direct: not in the page cache */
        assert_true(resident[1] > 1000); /* buffered: 2048 pages of 4 KiB */
        assert_true(resident[2] > 1000);
    }
    free(data);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 3 && rm -rf %s", dir, dir);
    assert_int_equal(system(cmd), 0);
}

static void mem_stream_caps_and_errors_are_sticky(void **state)
{
    (void)state;
    pqf_error err = {0};
    pqf_ostream *s = NULL;
    assert_int_equal(pqf_ostream_mem(8, &s, &err), PQF_OK);
    assert_int_equal(pqf_ostream_write(s, "12345", 5), PQF_OK);
    assert_int_equal(pqf_ostream_write(s, "6789", 4), PQF_ERR_LIMIT);
    assert_int_equal(pqf_ostream_write(s, "x", 1), PQF_ERR_LIMIT);
    assert_non_null(strstr(pqf_ostream_error(s)->msg, "cap of 8"));
    assert_int_equal(pqf_ostream_commit(s), PQF_ERR_LIMIT);
    pqf_ostream_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_codes_have_names_and_exit_codes),
        cmocka_unit_test(error_set_and_prefix),
        cmocka_unit_test(buf_respects_its_cap),
        cmocka_unit_test(buf_base64_and_hex),
        cmocka_unit_test(grow_doubles_from_first),
        cmocka_unit_test(hashes_match_known_vectors),
        cmocka_unit_test(crcs_match_the_definition),
        cmocka_unit_test(file_stream_commit_is_atomic),
        cmocka_unit_test(file_stream_direct_io_and_fallbacks),
        cmocka_unit_test(mem_stream_caps_and_errors_are_sticky),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
