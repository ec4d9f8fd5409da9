/* pqfeed — the Parquet writer.
 *
 * Writes one Parquet file to a pqf_ostream, row by row, with memory bounded
 * by the row group being built (row_group_bytes) whatever the input size.
 *
 * Values go in through a streaming "shredding" interface that computes
 * definition and repetition levels itself (Dremel), so a CSV reader and a
 * nested NDJSON reader drive it the same way:
 *
 *   pqf_writer_row_begin(w);
 *   pqf_writer_i64(w, id_node, 42);                 // leaf under the root
 *   pqf_writer_struct_begin(w, author_node);        // optional/required group
 *     pqf_writer_bytes(w, name_node, "ann", 3);
 *   pqf_writer_struct_end(w);
 *   pqf_writer_list_begin(w, labels_node);          // the LIST-annotated group
 *     pqf_writer_bytes(w, elem_node, "bug", 3);     // each call on the element = one element
 *     pqf_writer_null(w, elem_node);                // a null element (if element is optional)
 *   pqf_writer_list_end(w);
 *   pqf_writer_row_end(w);
 *
 * Rules: a value call names a node that is a child of the current context
 * (the root, the struct being written, or, inside a list, the list's element
 * node). Children not written before the enclosing struct_end/row_end are
 * null (an error for REQUIRED ones). pqf_writer_null on a group makes it null.
 * A list with no element calls is an empty list; pqf_writer_null on the LIST
 * node makes it null. Calling a value function whose C type does not match
 * the leaf's physical type is PQF_ERR_INVALID_ARG; INT32 leaves take
 * pqf_writer_i32 (DATE, TIME millis, INT(8/16/32), DECIMAL <= 9 digits), INT64
 * leaves pqf_writer_i64, FIXED_LEN_BYTE_ARRAY and BYTE_ARRAY take
 * pqf_writer_bytes (DECIMAL on FLBA: big-endian two's complement, exactly
 * type_length bytes; UUID: 16 bytes).
 *
 * After an error the writer is poisoned: only pqf_writer_abort/free remain.
 */
#ifndef PQFEED_WRITER_H
#define PQFEED_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/schema.h"
#include "pqfeed/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* parquet.thrift CompressionCodec wire values. */
typedef enum pqf_codec {
    PQF_CODEC_UNCOMPRESSED = 0,
    PQF_CODEC_SNAPPY = 1,
    PQF_CODEC_GZIP = 2,
    PQF_CODEC_LZO = 3,
    PQF_CODEC_BROTLI = 4,
    PQF_CODEC_LZ4 = 5, /* deprecated Hadoop framing; read only */
    PQF_CODEC_ZSTD = 6,
    PQF_CODEC_LZ4_RAW = 7
} pqf_codec;

/* parquet.thrift Encoding wire values. */
typedef enum pqf_encoding {
    PQF_ENC_PLAIN = 0,
    PQF_ENC_PLAIN_DICTIONARY = 2,
    PQF_ENC_RLE = 3,
    PQF_ENC_BIT_PACKED = 4,
    PQF_ENC_DELTA_BINARY_PACKED = 5,
    PQF_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQF_ENC_DELTA_BYTE_ARRAY = 7,
    PQF_ENC_RLE_DICTIONARY = 8,
    PQF_ENC_BYTE_STREAM_SPLIT = 9,
    PQF_ENC_AUTO = 100 /* writer's choice (not a wire value) */
} pqf_encoding;

/* Per-column settings, matched by dotted path of the leaf or of any ancestor
 * (e.g. "author" applies to "author.name" too); the longest matching path
 * wins. A path naming no node makes pqf_writer_create fail.
 *
 * encoding PQF_ENC_AUTO (or RLE_DICTIONARY) uses the dictionary unless
 * `dictionary` is 0; when the dictionary grows past dict_page_bytes, or the
 * first 16384 distinct values show a (nearly) unique column, the rest of the
 * column chunk falls back to DELTA_BINARY_PACKED (INT32/INT64) or PLAIN.
 * An explicit encoding (PLAIN, DELTA_BINARY_PACKED on INT32/INT64,
 * DELTA_LENGTH_BYTE_ARRAY on BYTE_ARRAY, BYTE_STREAM_SPLIT on FLOAT, DOUBLE,
 * INT32, INT64, FLBA, RLE on BOOLEAN) is used for every page unless
 * `dictionary` is 1, in which case it is the fallback. An encoding the type
 * does not allow makes pqf_writer_create fail. BOOLEAN columns never use a
 * dictionary.
 *
 * Start from PQF_COLUMN_OPTS_INIT: a zeroed struct means encoding PLAIN
 * with the dictionary off. */
typedef struct pqf_column_opts {
    const char *path;
    pqf_encoding encoding; /* PQF_ENC_AUTO: dictionary, falling back as configured */
    int dictionary;        /* -1 inherit, 0 off, 1 on */
    bool bloom_filter;     /* write a split-block bloom filter (not for BOOLEAN) */
    uint64_t bloom_ndv;    /* expected distinct values (0: from the row group) */
    double bloom_fpp;      /* false-positive probability (0: 0.01) */
} pqf_column_opts;

/* Defaults for one column: AUTO encoding, inherited dictionary setting. */
#define PQF_COLUMN_OPTS_INIT(p)                                                                    \
    ((pqf_column_opts){.path = (p), .encoding = PQF_ENC_AUTO, .dictionary = -1})

typedef struct pqf_kv {
    const char *key;
    const char *value;
} pqf_kv;

typedef struct pqf_writer_opts {
    pqf_codec codec;          /* default ZSTD */
    int level;                /* codec level; 0 = default (zstd 1, gzip 6, brotli 5). zstd
                                 data pages that compression does not shrink by 2% are
                                 followed by a few pages stored as raw zstd blocks
                                 (doubling while that holds): valid zstd frames that
                                 skip the match search on random ids, hashes and
                                 timestamps. */
    uint64_t row_group_bytes; /* target uncompressed bytes per row group (default 128 MiB) */
    uint64_t page_bytes;      /* target uncompressed bytes per data page (default 1 MiB) */
    uint64_t dict_page_bytes; /* dictionary size limit before falling back (default 1 MiB) */
    bool dictionary;          /* default true */
    int page_version;         /* 1 or 2 (default 1) */
    bool page_crc;            /* write page CRC32 (default true) */
    bool statistics;          /* page and chunk statistics (default true) */
    bool page_index;          /* ColumnIndex and OffsetIndex (default true) */
    uint32_t stats_max_bytes; /* longer min/max values are truncated (default 64) */
    const pqf_column_opts *columns;
    size_t ncolumns;
    const pqf_kv *kv;         /* key-value metadata, copied */
    size_t nkv;
    const char *created_by;   /* default "pqfeed version X" */
} pqf_writer_opts;

/* Fill defaults. */
void pqf_writer_opts_init(pqf_writer_opts *o);

typedef struct pqf_writer pqf_writer;

/* Create a writer for a finished schema. out is borrowed: the writer writes
 * to it but does not commit or free it (pqf_writer_close writes the footer,
 * the caller then commits). Options are copied. */
pqf_err pqf_writer_create(const pqf_schema *schema, pqf_ostream *out, const pqf_writer_opts *opts,
                          pqf_writer **w, pqf_error *err);

pqf_err pqf_writer_row_begin(pqf_writer *w);
pqf_err pqf_writer_row_end(pqf_writer *w);
pqf_err pqf_writer_struct_begin(pqf_writer *w, int node);
pqf_err pqf_writer_struct_end(pqf_writer *w);
pqf_err pqf_writer_list_begin(pqf_writer *w, int node);
pqf_err pqf_writer_list_end(pqf_writer *w);
pqf_err pqf_writer_null(pqf_writer *w, int node);
pqf_err pqf_writer_bool(pqf_writer *w, int node, bool v);
pqf_err pqf_writer_i32(pqf_writer *w, int node, int32_t v);
pqf_err pqf_writer_i64(pqf_writer *w, int node, int64_t v);
pqf_err pqf_writer_float(pqf_writer *w, int node, float v);
pqf_err pqf_writer_double(pqf_writer *w, int node, double v);
pqf_err pqf_writer_bytes(pqf_writer *w, int node, const void *p, size_t n);

/* Add key-value metadata (copied) before close. */
pqf_err pqf_writer_add_kv(pqf_writer *w, const char *key, const char *value);

/* Flush the last row group and write the footer to the stream. The stream is
 * not committed: the caller does that (so a failed close leaves nothing). */
pqf_err pqf_writer_close(pqf_writer *w);

typedef struct pqf_writer_stats {
    uint64_t rows;
    uint64_t row_groups;
    uint64_t bytes;              /* file bytes written so far */
    uint64_t uncompressed_bytes; /* page payload bytes before compression */
    uint64_t peak_buffered;      /* largest row group buffer, bytes */
} pqf_writer_stats;
void pqf_writer_get_stats(const pqf_writer *w, pqf_writer_stats *st);

/* The last error (names the column and row where it can). */
const pqf_error *pqf_writer_error(const pqf_writer *w);
/* Free; NULL is fine. Does not touch the stream. */
void pqf_writer_free(pqf_writer *w);

/* Parse names used by the CLI: "zstd", "snappy", "gzip", "lz4_raw" (also
 * "lz4raw"), "none"/"uncompressed", "brotli". */
pqf_err pqf_codec_from_name(const char *name, pqf_codec *out);
const char *pqf_codec_name(pqf_codec c);
pqf_err pqf_encoding_from_name(const char *name, pqf_encoding *out);
const char *pqf_encoding_name(pqf_encoding e);

#ifdef __cplusplus
}
#endif
#endif
