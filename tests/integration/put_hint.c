/* Driver of tests/integration/store_put_hint.sh: put_hint STORE KEY BYTES HINT
 * writes BYTES pseudo-random bytes (seeded by BYTES) to KEY through
 * pqf_store_put with size_hint HINT, in 64 KiB writes, commits, and prints
 * the SHA-256 of what it wrote. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "pqfeed/store.h"
#include "pqfeed/stream.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: put_hint STORE KEY BYTES HINT\n");
        return 2;
    }
    uint64_t n = strtoull(argv[3], NULL, 10), hint = strtoull(argv[4], NULL, 10);
    uint64_t x = n * 2654435761u + 1;
    pqf_error err = {0};
    pqf_store *st = NULL;
    pqf_ostream *os = NULL;
    pqf_store_options so;
    pqf__sha256_ctx sha;
    static uint8_t buf[65536];
    uint8_t d[32];
    char hex[65];
    memset(&so, 0, sizeof so);
    if (pqf_store_open(argv[1], &so, &st, &err) != PQF_OK) {
        fprintf(stderr, "put_hint: %s\n", err.msg);
        return 1;
    }
    pqf_put_options po = {.size_hint = hint};
    if (pqf_store_put(st, argv[2], &po, &os, &err) != PQF_OK || pqf__sha256_init(&sha) != 0) {
        fprintf(stderr, "put_hint: %s\n", err.msg);
        return 1;
    }
    for (uint64_t done = 0; done < n;) {
        size_t len = (size_t)(n - done < sizeof buf ? n - done : sizeof buf);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        if (pqf_ostream_write(os, buf, len) != PQF_OK) {
            fprintf(stderr, "put_hint: %s\n", pqf_ostream_error(os)->msg);
            return 1;
        }
        pqf__sha256_update(&sha, buf, len);
        done += len;
    }
    if (pqf_ostream_commit(os) != PQF_OK) {
        fprintf(stderr, "put_hint: %s\n", pqf_ostream_error(os)->msg);
        return 1;
    }
    pqf__sha256_final(&sha, d);
    pqf__hex(d, 32, hex);
    printf("%s\n", hex);
    pqf_ostream_free(os);
    pqf_store_free(st);
    return 0;
}
