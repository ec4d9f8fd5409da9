/* Benchmark helper for bench/replicate.sh: writes a synthetic feed of
 * NFILES data files of FILE_BYTES pseudo-random bytes each (so every tool
 * moves exactly that many bytes), PER_COMMIT files per commit, with valid
 * commit objects (sizes, SHA-256, CRC-32C, hash chain), a schema version and
 * _feed.json, into STORE (any pqfeed store URI; S3 settings from AWS_*).
 * Built against build/libpqfeed.a by the script and by
 * tests/integration/replicate_s3_copy.sh (large objects for its memory bound).
 *
 *   replicate_feedgen STORE TABLE NFILES FILE_BYTES PER_COMMIT [SEED]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hash.h"
#include "pqfeed/feed.h"
#include "pqfeed/store.h"
#include "pqfeed/stream.h"

static uint64_t rng;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static int fail(const pqf_error *e)
{
    fprintf(stderr, "replicate_feedgen: %s\n", e->msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s STORE TABLE NFILES FILE_BYTES PER_COMMIT [SEED]\n", argv[0]);
        return 2;
    }
    const char *table = argv[2];
    uint64_t nfiles = strtoull(argv[3], NULL, 10), fbytes = strtoull(argv[4], NULL, 10);
    uint64_t per = strtoull(argv[5], NULL, 10);
    rng = argc > 6 ? strtoull(argv[6], NULL, 10) | 1 : 88172645463325252ull;
    pqf_error err = {0};
    pqf_store *st = NULL;
    pqf_feed *f = NULL;
    pqf_store_options so;
    memset(&so, 0, sizeof so);
    if (pqf_store_open(argv[1], &so, &st, &err) != PQF_OK || pqf_feed_open(st, &f, &err) != PQF_OK)
        return fail(&err);
    char key[512], prev[65] = "";
    snprintf(key, sizeof key, "%s/_schema/000001.json", table);
    const char *schema = "{\n  \"key\": [\"id\"],\n  \"columns\": [\n    {\"name\": \"id\", "
                         "\"type\": \"int64\", \"nullable\": false},\n    {\"name\": \"payload\", "
                         "\"type\": \"binary\"}\n  ]\n}\n";
    char feedjson[256];
    snprintf(feedjson, sizeof feedjson,
             "{\"format\":\"pqfeed/1\",\"producer\":\"replicate_feedgen\",\"tables\":[\"%s\"]}\n",
             table);
    if (pqf_store_put_bytes(st, key, schema, strlen(schema), NULL, &err) != PQF_OK ||
        pqf_store_put_bytes(st, "_feed.json", feedjson, strlen(feedjson), NULL, &err) != PQF_OK)
        return fail(&err);
    size_t chunk = 1 << 20;
    uint64_t *buf = malloc(chunk);
    if (!buf)
        return 1;
    uint64_t seq = 0;
    for (uint64_t i = 0; i < nfiles;) {
        pqf_commit *c = pqf_commit_new();
        c->table = strdup(table);
        c->seq = ++seq;
        memcpy(c->prev, prev, sizeof prev);
        c->kind = PQF_COMMIT_SNAPSHOT;
        c->schema_version = 1;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        c->created_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        c->producer = strdup("replicate_feedgen");
        for (uint64_t k = 0; k < per && i < nfiles; k++, i++) {
            snprintf(key, sizeof key, "%s/data/date=2026-01-05/hour=%02" PRIu64 "/%020" PRIu64
                                      "-%05" PRIu64 "-00000000.parquet",
                     table, seq % 24, seq, k);
            pqf_ostream *os = NULL;
            pqf_put_options po = {.size_hint = fbytes};
            if (pqf_store_put(st, key, &po, &os, &err) != PQF_OK)
                return fail(&err);
            pqf__sha256_ctx h;
            pqf__sha256_init(&h);
            uint32_t crc = 0;
            for (uint64_t off = 0; off < fbytes; off += chunk) {
                size_t n = (size_t)(fbytes - off < chunk ? fbytes - off : chunk);
                for (size_t w = 0; w < (n + 7) / 8; w++)
                    buf[w] = next_u64();
                pqf__sha256_update(&h, buf, n);
                crc = pqf__crc32c(crc, buf, n);
                if (pqf_ostream_write(os, buf, n) != PQF_OK)
                    return fail(pqf_ostream_error(os));
            }
            if (pqf_ostream_commit(os) != PQF_OK)
                return fail(pqf_ostream_error(os));
            pqf_ostream_free(os);
            uint8_t d[32];
            char sha[65], crchex[9];
            pqf__sha256_final(&h, d);
            hex(d, 32, sha);
            snprintf(crchex, sizeof crchex, "%08" PRIx32, crc);
            if (pqf_commit_add_file(c, key, fbytes, 1, sha, crchex, &err) != PQF_OK)
                return fail(&err);
        }
        c->rows = c->nfiles;
        char *json = NULL;
        size_t len = 0;
        if (pqf_commit_encode(c, &json, &len, &err) != PQF_OK ||
            pqf_feed_publish(f, c, &err) != PQF_OK)
            return fail(&err);
        uint8_t d[32];
        pqf__sha256(json, len, d);
        hex(d, 32, prev);
        free(json);
        pqf_commit_free(c);
    }
    printf("%" PRIu64 " files of %" PRIu64 " bytes in %" PRIu64 " commits\n", nfiles, fbytes, seq);
    free(buf);
    pqf_feed_free(f);
    pqf_store_free(st);
    return 0;
}
