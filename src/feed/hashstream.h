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

/* Opens the inner stream; called when the bytes written pass 64 (the first
 * ones are held until then) or at commit, so a file that never gets a byte is
 * never created, and a Parquet file's stream opens at its first row group. */
typedef pqf_err (*pqf__open_fn)(void *ctx, pqf_ostream **inner, pqf_error *err);

/* A stream whose inner stream is opened lazily by open(ctx) and then owned by
 * the wrapper (commit commits it, free frees it). *sum (caller-owned, must
 * outlive the stream) is filled at commit. NULL on OOM. */
pqf_ostream *pqf__hashstream(pqf__open_fn open, void *ctx, pqf__hashsum *sum);

#endif
