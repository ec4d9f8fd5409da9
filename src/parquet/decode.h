/* Internal: Parquet value and level decoders (batch, typed, no per-value
 * indirection). Every decoder takes its input as (pointer, length) and the
 * number of values the caller expects; reading past the input, a bit width
 * out of range, a count larger than the output or a dictionary index out of
 * range is PQF_ERR_CORRUPT with a message; nothing reads or writes out of
 * bounds whatever the bytes.
 *
 * Outputs by physical type: BOOLEAN uint8_t (0/1), INT32 int32_t, INT64
 * int64_t, INT96 12 bytes, FLOAT float, DOUBLE double, BYTE_ARRAY and
 * FIXED_LEN_BYTE_ARRAY pqf_byteview (pointing into the input, or into a
 * buffer the decoder fills when values must be materialised).
 */
#ifndef PQF_PARQUET_DECODE_H
#define PQF_PARQUET_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pqfeed/error.h"
#include "pqfeed/reader.h"

/* Size of one decoded value in memory for a physical type. */
size_t pqf__value_size(pqf_physical t);

/* ---- RLE / bit-packed hybrid -------------------------------------------------- */

typedef struct pqf__rle {
    const uint8_t *p, *end;
    int bit_width;
    uint32_t rle_left, rle_value;
    uint32_t bp_left;      /* values left in the current bit-packed run */
    const uint8_t *bp;     /* start of the current bit-packed run */
    size_t bp_bytes;       /* bytes available for it */
    uint32_t bp_pos;       /* next value index in it */
} pqf__rle;

/* bit_width 0..32. */
pqf_err pqf__rle_init(pqf__rle *r, const uint8_t *p, size_t len, int bit_width, pqf_error *err);
/* Exactly n values, else PQF_ERR_CORRUPT (input exhausted). */
pqf_err pqf__rle_get(pqf__rle *r, uint32_t *out, size_t n, pqf_error *err);
/* Levels: exactly n values, each <= max_level. */
pqf_err pqf__rle_levels(pqf__rle *r, int16_t *out, size_t n, int16_t max_level, pqf_error *err);

/* Legacy BIT_PACKED levels (MSB first): n values; *used gets the bytes read. */
pqf_err pqf__bitpacked_levels(const uint8_t *p, size_t len, int bit_width, int16_t *out, size_t n,
                              int16_t max_level, size_t *used, pqf_error *err);

/* Bits needed to store max (0 for 0). */
int pqf__bit_width(uint32_t max);

/* ---- PLAIN ------------------------------------------------------------------- */

/* n values of type t (type_length for FLBA) from [p, p+len) into out; *used
 * gets the bytes consumed. Byte views point into p. */
pqf_err pqf__plain_decode(pqf_physical t, int32_t type_length, const uint8_t *p, size_t len,
                          void *out, size_t n, size_t *used, pqf_error *err);

/* ---- dictionary -------------------------------------------------------------- */

/* RLE_DICTIONARY / PLAIN_DICTIONARY data: bit-width byte then RLE indices;
 * gathers n values from dict (ndict values of type t) into out. idx is
 * scratch for n indices. */
pqf_err pqf__dict_decode(pqf_physical t, const void *dict, uint32_t ndict, const uint8_t *p,
                         size_t len, uint32_t *idx, void *out, size_t n, pqf_error *err);

/* ---- DELTA ------------------------------------------------------------------- */

/* DELTA_BINARY_PACKED: decodes all values the header announces into out
 * (int32_t when is32, else int64_t), at most cap, and sets *count; *used
 * gets the bytes consumed. */
pqf_err pqf__delta_binary_decode(const uint8_t *p, size_t len, bool is32, void *out, size_t cap,
                                 size_t *count, size_t *used, pqf_error *err);
/* DELTA_LENGTH_BYTE_ARRAY: n values; lens is scratch for n int32s. */
pqf_err pqf__delta_length_decode(const uint8_t *p, size_t len, pqf_byteview *out, size_t n,
                                 int32_t *lens, size_t *used, pqf_error *err);
/* DELTA_BYTE_ARRAY: n values (BYTE_ARRAY or FLBA when type_length > 0),
 * materialised into mem (reset first, capped by its limit); scratch holds
 * 2n int32s. */
pqf_err pqf__delta_byte_array_decode(const uint8_t *p, size_t len, int32_t type_length,
                                     pqf_byteview *out, size_t n, int32_t *scratch, pqf__buf *mem,
                                     pqf_error *err);

/* ---- BYTE_STREAM_SPLIT --------------------------------------------------------- */

/* n values of width bytes each (FLOAT/INT32 4, DOUBLE/INT64 8, FLBA
 * type_length). For FLBA, values are materialised into mem and out is a
 * pqf_byteview array; otherwise out is the typed array. */
pqf_err pqf__byte_stream_split_decode(pqf_physical t, int32_t type_length, const uint8_t *p,
                                      size_t len, void *out, size_t n, pqf__buf *mem,
                                      pqf_error *err);

#endif
