/* pqfeed — the Parquet reader.
 *
 * Reads a Parquet file through a random-access pqf_istream: the footer first
 * (the last 8 bytes, then the footer, capped), then only the column chunks a
 * caller asks for, so a file on S3 is read with range requests, never whole.
 * Every length, offset and count in the file is checked against the file size
 * and caps before use; malformed input is an error (PQF_ERR_CORRUPT,
 * PQF_ERR_CHECKSUM, PQF_ERR_LIMIT, PQF_ERR_UNSUPPORTED), never a crash.
 *
 *   pqf_reader *r;
 *   pqf_reader_open(in, NULL, &r, &err);
 *   for (int g = 0; g < pqf_reader_row_group_count(r); g++) {
 *       pqf_column_reader *c;
 *       pqf_column_open(r, g, leaf, &c);
 *       pqf_batch b;
 *       while (pqf_column_next(c, 4096, &b) == PQF_OK && b.nlevels) ...;
 *       pqf_column_free(c);
 *   }
 *   pqf_reader_free(r);
 *
 * The schema is the file's own tree (pqf_node_info from schema.h, node 0 the
 * root), legacy list layouts, MAP and bare repeated fields included: the
 * reader does not require what pqf_schema_finish() would (a three-level LIST).
 *
 * Ownership: everything a getter returns (names, paths, statistics bytes,
 * page indexes) lives in the reader and stays valid until pqf_reader_free().
 * Batch values stay valid until the next pqf_column_next() or free.
 */
#ifndef PQFEED_READER_H
#define PQFEED_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/schema.h"
#include "pqfeed/stream.h"
#include "pqfeed/writer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pqf_reader pqf_reader;

typedef struct pqf_reader_opts {
    uint64_t max_footer_bytes;   /* default 64 MiB */
    uint64_t max_meta_memory;    /* decoded metadata, default 1 GiB */
    uint64_t max_page_bytes;     /* one page, compressed or not; default 256 MiB */
    uint64_t max_chunk_bytes;    /* one column chunk read at once; default 2 GiB */
    bool verify_crc;             /* check page CRCs when present (default true) */
} pqf_reader_opts;

void pqf_reader_opts_init(pqf_reader_opts *o);

/* Open: reads and decodes the footer. in is borrowed and must outlive the
 * reader. opts may be NULL (defaults). Encrypted files (PARE magic, or an
 * encryption_algorithm / encrypted column in a plaintext footer) give
 * PQF_ERR_UNSUPPORTED "encrypted, not supported". */
pqf_err pqf_reader_open(pqf_istream *in, const pqf_reader_opts *opts, pqf_reader **out,
                        pqf_error *err);
void pqf_reader_free(pqf_reader *r);
/* The last error of any call on r (names row group, column and page). */
const pqf_error *pqf_reader_error(const pqf_reader *r);

/* ---- file ---------------------------------------------------------------------- */

int64_t pqf_reader_num_rows(const pqf_reader *r);
int32_t pqf_reader_version(const pqf_reader *r);
const char *pqf_reader_created_by(const pqf_reader *r); /* NULL if absent */
uint64_t pqf_reader_footer_size(const pqf_reader *r);
size_t pqf_reader_kv_count(const pqf_reader *r);
/* Key i; *value NULL when absent. */
pqf_err pqf_reader_kv(const pqf_reader *r, size_t i, const char **key, const char **value);

/* ---- schema -------------------------------------------------------------------- */

int pqf_reader_node_count(const pqf_reader *r);
pqf_err pqf_reader_node(const pqf_reader *r, int node, pqf_node_info *info);
int pqf_reader_node_child(const pqf_reader *r, int node, int i);
/* The node's ConvertedType wire value, -1 if none. */
int pqf_reader_node_converted(const pqf_reader *r, int node);
/* A logical annotation the reader cannot interpret (VARIANT, GEOMETRY, ...):
 * its name, else NULL. */
const char *pqf_reader_node_logical_other(const pqf_reader *r, int node);
int pqf_reader_leaf_count(const pqf_reader *r);
int pqf_reader_leaf_node(const pqf_reader *r, int leaf);
/* Dotted path of a leaf ("a.list.element"), owned by the reader. */
const char *pqf_reader_leaf_path(const pqf_reader *r, int leaf);
/* Leaf by dotted path, or by top-level name for a leaf directly under the
 * root; -1 if none. */
int pqf_reader_find_leaf(const pqf_reader *r, const char *path);
/* Build an equivalent pqf_schema with the public builder (for a writer
 * copying this file). Legacy layouts the builder does not accept give
 * PQF_ERR_UNSUPPORTED. */
pqf_err pqf_reader_schema(const pqf_reader *r, pqf_schema **out, pqf_error *err);

/* ---- row groups and column chunks ------------------------------------------------ */

int pqf_reader_row_group_count(const pqf_reader *r);

typedef struct pqf_row_group_info {
    int64_t num_rows;
    int64_t total_byte_size;
    int64_t total_compressed_size; /* -1 if absent */
    int64_t file_offset;           /* -1 if absent */
    int ordinal;                   /* -1 if absent */
    int nsorting;                  /* sorting columns */
} pqf_row_group_info;
pqf_err pqf_reader_row_group(const pqf_reader *r, int rg, pqf_row_group_info *info);

/* Bytes as stored in the file (statistics min/max: PLAIN encoding of the
 * value, without a length prefix for BYTE_ARRAY). */
typedef struct pqf_byteview {
    const uint8_t *ptr;
    size_t len;
} pqf_byteview;

typedef struct pqf_stats {
    bool present;
    bool has_min, has_max;     /* min/max below valid */
    bool legacy;               /* only deprecated min/max (signed order) */
    bool min_exact, max_exact; /* not truncated */
    pqf_byteview min, max;
    bool has_null_count, has_distinct_count;
    int64_t null_count, distinct_count;
} pqf_stats;

typedef struct pqf_chunk_info {
    int leaf;
    const char *path;
    pqf_physical physical;
    pqf_codec codec;
    int64_t num_values;
    int64_t total_compressed_size, total_uncompressed_size;
    int64_t data_page_offset;
    int64_t dictionary_page_offset; /* -1 if none */
    int nencodings;
    const int32_t *encodings; /* pqf_encoding wire values */
    pqf_stats stats;
    int64_t bloom_offset; /* -1 if none */
    int32_t bloom_length; /* -1 if unknown */
    int64_t column_index_offset, offset_index_offset; /* -1 if none */
    int32_t column_index_length, offset_index_length;
    const char *file_path; /* NULL: this file */
    size_t nkv;            /* column-chunk key/value metadata */
    const pqf_kv *kv;
} pqf_chunk_info;
pqf_err pqf_reader_chunk(const pqf_reader *r, int rg, int leaf, pqf_chunk_info *info);

/* ---- page index and bloom filter -------------------------------------------------- */

typedef struct pqf_page_location {
    int64_t offset;
    int32_t compressed_size;
    int64_t first_row;
} pqf_page_location;

typedef struct pqf_page_index {
    int npages;
    const pqf_page_location *locations; /* NULL without an offset index */
    bool has_column_index;
    const bool *null_pages;
    const pqf_byteview *mins, *maxs;
    const int64_t *null_counts; /* NULL if absent */
    int boundary_order;         /* 0 unordered, 1 ascending, 2 descending */
} pqf_page_index;
/* Read (once, cached) the offset and column index of a chunk. PQF_ERR_NOT_FOUND
 * when the chunk has neither. */
pqf_err pqf_reader_page_index(pqf_reader *r, int rg, int leaf, pqf_page_index *out);

/* Probe the chunk's split-block bloom filter for a value given in PLAIN
 * encoding (INT32 as 4 little-endian bytes, BYTE_ARRAY as its bytes without
 * the length prefix). *maybe = false means definitely absent.
 * PQF_ERR_NOT_FOUND when the chunk has no bloom filter. */
pqf_err pqf_reader_bloom_check(pqf_reader *r, int rg, int leaf, const void *value, size_t len,
                               bool *maybe);

/* ---- predicates ------------------------------------------------------------------ */

typedef enum pqf_pred_op { PQF_EQ, PQF_LT, PQF_LE, PQF_GT, PQF_GE } pqf_pred_op;

/* leaf OP value, value PLAIN-encoded as for pqf_reader_bloom_check. */
typedef struct pqf_predicate {
    int leaf;
    pqf_pred_op op;
    const void *value;
    size_t len;
} pqf_predicate;

/* False when the row group's statistics prove no row matches (it can be
 * skipped); true when it may match or statistics do not tell. */
bool pqf_reader_row_group_may_match(const pqf_reader *r, int rg, const pqf_predicate *p);

/* Compare two PLAIN-encoded values of a leaf in its column order: <0, 0, >0. */
int pqf_reader_compare(const pqf_reader *r, int leaf, const void *a, size_t alen, const void *b,
                       size_t blen);

/* ---- column cursor ---------------------------------------------------------------- */

typedef struct pqf_column_reader pqf_column_reader;

typedef struct pqf_int96 {
    uint8_t b[12];
} pqf_int96;

/* One batch of a leaf column: nlevels level slots, of which nvalues carry a
 * value (def == max_def). values is typed by physical: BOOLEAN uint8_t,
 * INT32 int32_t, INT64 int64_t, INT96 pqf_int96, FLOAT float, DOUBLE double,
 * BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY pqf_byteview. def is NULL when max_def is
 * 0 (all present), rep NULL when max_rep is 0. A batch never spans pages. */
typedef struct pqf_batch {
    size_t nlevels;
    size_t nvalues;
    const int16_t *def;
    const int16_t *rep;
    const void *values;
    pqf_physical physical;
    int page;      /* page ordinal within the chunk (dictionary not counted) */
} pqf_batch;

/* A cursor over one column chunk. Reads the chunk's bytes (one ranged read)
 * on open. */
pqf_err pqf_column_open(pqf_reader *r, int rg, int leaf, pqf_column_reader **out);
/* Next batch of at most max level slots; nlevels 0 at the end. */
pqf_err pqf_column_next(pqf_column_reader *c, size_t max, pqf_batch *b);
/* Free a cursor (NULL is fine); before its reader. The reader keeps the
 * buffers of the last freed cursor for the next pqf_column_open(), so
 * reading chunk after chunk does not allocate afresh each time; they are
 * released by pqf_reader_free(). */
void pqf_column_free(pqf_column_reader *c);

/* Pages decoded so far by a cursor, and their statistics (for validation). */
typedef struct pqf_page_report {
    int page;
    int32_t type; /* 0 data v1, 2 dictionary, 3 data v2 */
    int32_t encoding;
    int32_t num_values;
    int32_t num_nulls; /* counted from levels */
    int64_t num_rows;  /* rows that start in this page */
    bool has_crc;
    pqf_stats stats;   /* page header statistics */
    int64_t offset;    /* file offset of the page header */
} pqf_page_report;
/* Called after each page is decoded when set (validate uses it). */
typedef void (*pqf_page_cb)(void *ud, const pqf_page_report *p);
void pqf_column_on_page(pqf_column_reader *c, pqf_page_cb cb, void *ud);

/* ---- rows ---------------------------------------------------------------------------- */

typedef struct pqf_row_reader pqf_row_reader;

typedef enum pqf_row_format { PQF_ROW_JSON = 0, PQF_ROW_CSV = 1 } pqf_row_format;

typedef struct pqf_row_opts {
    const char *const *columns; /* top-level field names (or leaf paths); NULL: all */
    size_t ncolumns;
    pqf_row_format format;
    const pqf_predicate *predicate; /* row groups it rules out are skipped; may be NULL */
} pqf_row_opts;

/* Assemble records (nested LIST, MAP and STRUCT rebuilt from levels) and
 * render them: JSON objects (one per row), or CSV fields (nested values as
 * JSON text). Values render by logical type: timestamps ISO-8601, decimals
 * exact, dates, times, UUIDs, strings; binary as base64. */
pqf_err pqf_row_reader_open(pqf_reader *r, const pqf_row_opts *opts, pqf_row_reader **out,
                            pqf_error *err);
/* CSV header line (without newline), valid until free. */
const char *pqf_row_reader_header(pqf_row_reader *rr);
/* Next row rendered (no newline); *line NULL at the end. */
pqf_err pqf_row_reader_next(pqf_row_reader *rr, const char **line, size_t *len);
/* The last error (names row group and column). */
const pqf_error *pqf_row_reader_error(const pqf_row_reader *rr);
void pqf_row_reader_free(pqf_row_reader *rr);

#ifdef __cplusplus
}
#endif
#endif
