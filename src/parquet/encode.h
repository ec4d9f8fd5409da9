/* Internal: Parquet value and level encodings (Encodings.md), writer side.
 *
 * Every encoder appends to a pqf__buf and returns PQF_OK, or PQF_ERR_NOMEM /
 * PQF_ERR_LIMIT when the buffer cannot grow. Inputs are arrays the writer
 * buffered for one page; nothing allocates per value.
 *
 * The dictionary is an open-addressing hash table over entries kept in their
 * PLAIN encoding, so the dictionary page is the entry buffer as it is.
 */
#ifndef PQF_PARQUET_ENCODE_H
#define PQF_PARQUET_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pqfeed/error.h"

/* Bits needed for v (0 for 0). */
static inline int pqf__bit_width(uint64_t v)
{
    return v ? 64 - __builtin_clzll(v) : 0;
}

/* ULEB128. */
pqf_err pqf__put_uleb(pqf__buf *out, uint64_t v);

/* RLE/bit-packed hybrid of n values of bw bits (0..32), without the length
 * prefix (the caller adds the 4-byte prefix where a v1 page wants one).
 * Literal groups are padded with zeros only at the very end. */
pqf_err pqf__rle_encode_u8(const uint8_t *v, size_t n, int bw, pqf__buf *out);
pqf_err pqf__rle_encode_u32(const uint32_t *v, size_t n, int bw, pqf__buf *out);

/* PLAIN BOOLEAN: bit-packed LSB first; v holds 0/1 bytes. */
pqf_err pqf__plain_bool(const uint8_t *v, size_t n, pqf__buf *out);

/* DELTA_BINARY_PACKED with blocks of 128 values in 4 miniblocks of 32.
 * Deltas wrap in the value's own width, as readers reconstruct them. */
pqf_err pqf__dbp_encode_i32(const int32_t *v, size_t n, pqf__buf *out);
pqf_err pqf__dbp_encode_i64(const int64_t *v, size_t n, pqf__buf *out);

/* DELTA_LENGTH_BYTE_ARRAY from n values in PLAIN layout (4-byte length +
 * bytes each), plain_len bytes in all. PQF_ERR_CORRUPT if they do not parse. */
pqf_err pqf__dlba_encode(const uint8_t *plain, size_t plain_len, size_t n, pqf__buf *out);

/* BYTE_STREAM_SPLIT of n values of width bytes each (little-endian layout). */
pqf_err pqf__bss_encode(const uint8_t *v, size_t n, size_t width, pqf__buf *out);

/* ---- dictionary --------------------------------------------------------- */

/* Fixed-width values (put32/put64) probe fslots, 4 bytes a slot: the entry
 * index + 1, the value compared in plain; a table of 50,000 entries is then
 * 512 KiB and its entries 400 KiB, which stay in the L2 cache where 16-byte
 * slots (2 MiB) did not. Byte values keep the high 32 bits
 * of their hash in key's high half and, for BYTE_ARRAY, the entry's offset in
 * plain in its low half, so a probe reads only the slot until a tag matches,
 * and a match goes straight to the entry (no offsets array); aux is the
 * caller's word per entry (pqf__dict_put_bytes), kept in the slot so that it
 * costs no cache miss of its own. */
typedef struct pqf__dict_slot {
    uint64_t key;
    uint32_t idx; /* entry index + 1; 0 = empty */
    uint32_t aux; /* byte values: the caller's word */
} pqf__dict_slot;

typedef struct pqf__dict {
    size_t width; /* fixed value width in bytes, 0 for BYTE_ARRAY */
    pqf__dict_slot *slots; /* byte values */
    uint32_t *fslots;      /* fixed-width values: entry index + 1; 0 = empty */
    uint32_t mask;  /* slots (or fslots) - 1 (power of two) */
    uint32_t count; /* entries */
    pqf__buf plain; /* entries, PLAIN-encoded (the dictionary page body) */
    pqf__buf offs;  /* BYTE_ARRAY and wide FLBA: uint32 offset of each entry in plain */
} pqf__dict;

/* width: 4 or 8 for INT32/FLOAT/INT64/DOUBLE (compared as integers, so
 * -0.0/+0.0 and NaN payloads are distinct entries), n for FLBA(n), 0 for
 * BYTE_ARRAY. */
void pqf__dict_init(pqf__dict *d, size_t width);
void pqf__dict_free(pqf__dict *d);
/* Forget all entries, keep allocations. */
void pqf__dict_reset(pqf__dict *d);
/* Bytes of the dictionary page body. */
static inline size_t pqf__dict_bytes(const pqf__dict *d)
{
    return d->plain.len;
}

/* The slot where a fixed-width value's probe starts. */
static inline uint32_t pqf__dict_slot_of(uint64_t key, uint32_t mask)
{
    key *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(key >> 32) & mask;
}

/* Bring the slot of a fixed-width value (put32/put64 keys) into the cache
 * ahead of its put. */
static inline void pqf__dict_prefetch(const pqf__dict *d, uint64_t key)
{
    if (d->fslots)
        __builtin_prefetch(&d->fslots[pqf__dict_slot_of(key, d->mask)]);
}

/* Find or add a value; *idx gets its entry index, *added whether it is new. */
pqf_err pqf__dict_put32(pqf__dict *d, uint32_t v, uint32_t *idx, bool *added);
pqf_err pqf__dict_put64(pqf__dict *d, uint64_t v, uint32_t *idx, bool *added);
/* Byte values (BYTE_ARRAY, FLBA): *aux points at the entry's caller word,
 * UINT32_MAX for a new entry, valid until the next put or reset. */
pqf_err pqf__dict_put_bytes(pqf__dict *d, const void *p, size_t n, uint32_t *idx, bool *added,
                            uint32_t **aux);
/* The same with the value's 64-bit hash given (XXH3_64bits of the bytes for
 * pqf__dict_put_bytes); tests give equal hashes to distinct values. */
pqf_err pqf__dict_put_hashed(pqf__dict *d, const void *p, size_t n, uint64_t h, uint32_t *idx,
                             bool *added, uint32_t **aux);

/* Entry i as bytes (BYTE_ARRAY: without the length prefix). */
const uint8_t *pqf__dict_entry(const pqf__dict *d, uint32_t i, size_t *len);

#endif
