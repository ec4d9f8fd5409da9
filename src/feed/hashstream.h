/* Internal: an ostream wrapper that counts bytes and computes SHA-256 and
 * CRC-32C of everything written through it (for commit file entries). */
#ifndef PQF_FEED_HASHSTREAM_H
#define PQF_FEED_HASHSTREAM_H

#include <stdint.h>

#include "pqfeed/stream.h"

typedef struct pqf__hashsum {
    char sha256[65]; /* lower-case hex */
    char crc32c[9];  /* lower-case hex */
    uint64_t bytes;
} pqf__hashsum;

/* Wrap inner (ownership passes to the wrapper: commit commits it, free frees
 * it). *sum (caller-owned, must outlive the stream) is filled at commit.
 * NULL on OOM (inner is then freed). */
pqf_ostream *pqf__hashstream(pqf_ostream *inner, pqf__hashsum *sum);

#endif
