/* Internal: decoded Parquet metadata (parquet.thrift) for the reader.
 *
 * Ownership: FileMetaData, ColumnIndex and OffsetIndex are decoded into a
 * pqf__arena and live until the arena is freed, all at once. Binary fields
 * (pqf__bytes) point into the input buffer, which the caller keeps alive as
 * long as the decoded structs (the reader copies the footer into the arena
 * first). Names and key/value strings are copied into the arena and
 * NUL-terminated. Page headers and bloom filter headers are decoded into a
 * caller's struct without allocating; their binaries point into the page
 * buffer.
 *
 * Every list count is checked by the Thrift decoder against the bytes left,
 * and the arena has a byte cap, so a hostile footer cannot make the decoder
 * allocate more than the cap.
 */
#ifndef PQF_PARQUET_META_H
#define PQF_PARQUET_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/schema.h"

/* ---- arena ------------------------------------------------------------------ */

typedef struct pqf__arena_blk pqf__arena_blk;
typedef struct pqf__arena {
    pqf__arena_blk *head;
    size_t used;  /* bytes handed out, all blocks */
    size_t limit; /* cap on used */
} pqf__arena;

void pqf__arena_init(pqf__arena *a, size_t limit);
/* Zeroed, 16-byte aligned. NULL on OOM or past the cap (err says which). */
void *pqf__arena_alloc(pqf__arena *a, size_t n, pqf_error *err);
/* Allocate count*size with an overflow check. */
void *pqf__arena_array(pqf__arena *a, size_t count, size_t size, pqf_error *err);
/* NUL-terminated copy. */
char *pqf__arena_strdup(pqf__arena *a, const void *p, size_t n, pqf_error *err);
void pqf__arena_free(pqf__arena *a);

/* ---- structs ---------------------------------------------------------------- */

typedef struct pqf__bytes {
    const uint8_t *p;
    uint32_t n;
} pqf__bytes;

typedef struct pqf__stats {
    bool present;
    bool has_max, has_min;             /* deprecated fields 1, 2 (signed order) */
    bool has_max_value, has_min_value; /* fields 5, 6 (column order) */
    bool has_null_count, has_distinct_count;
    bool has_max_exact, has_min_exact;
    bool max_exact, min_exact;
    pqf__bytes max, min, max_value, min_value;
    int64_t null_count, distinct_count;
} pqf__stats;

/* ConvertedType wire values. */
enum {
    PQF__CT_UTF8 = 0, PQF__CT_MAP = 1, PQF__CT_MAP_KEY_VALUE = 2, PQF__CT_LIST = 3,
    PQF__CT_ENUM = 4, PQF__CT_DECIMAL = 5, PQF__CT_DATE = 6, PQF__CT_TIME_MILLIS = 7,
    PQF__CT_TIME_MICROS = 8, PQF__CT_TIMESTAMP_MILLIS = 9, PQF__CT_TIMESTAMP_MICROS = 10,
    PQF__CT_UINT_8 = 11, PQF__CT_UINT_16 = 12, PQF__CT_UINT_32 = 13, PQF__CT_UINT_64 = 14,
    PQF__CT_INT_8 = 15, PQF__CT_INT_16 = 16, PQF__CT_INT_32 = 17, PQF__CT_INT_64 = 18,
    PQF__CT_JSON = 19, PQF__CT_BSON = 20, PQF__CT_INTERVAL = 21
};

/* LogicalType union members beyond what pqf_logical names. */
enum {
    PQF__LTX_NONE = 0,
    PQF__LTX_VARIANT,
    PQF__LTX_GEOMETRY,
    PQF__LTX_GEOGRAPHY,
    PQF__LTX_OTHER /* a union member this reader does not know */
};

typedef struct pqf__schema_elem {
    const char *name;
    bool has_type;
    int32_t type; /* pqf_physical */
    int32_t type_length;
    bool has_repetition;
    int32_t repetition;
    int32_t num_children; /* -1: absent */
    int32_t converted_type; /* -1: absent */
    int32_t scale, precision;
    bool has_field_id;
    int32_t field_id;
    bool has_logical;
    pqf_logical logical; /* PQF_LT_NONE if absent or not mappable */
    int logical_extra;   /* PQF__LTX_* */
} pqf__schema_elem;

typedef struct pqf__kv {
    const char *key;
    const char *value; /* NULL if absent */
    uint32_t value_len;
} pqf__kv;

typedef struct pqf__page_enc_stats {
    int32_t page_type, encoding, count;
} pqf__page_enc_stats;

typedef struct pqf__column_meta {
    int32_t type;
    uint32_t nencodings;
    int32_t *encodings;
    uint32_t npath;
    const char **path;
    int32_t codec;
    int64_t num_values;
    int64_t total_uncompressed_size;
    int64_t total_compressed_size;
    uint32_t nkv;
    pqf__kv *kv;
    int64_t data_page_offset;
    int64_t index_page_offset;      /* -1 absent */
    int64_t dictionary_page_offset; /* -1 absent */
    pqf__stats stats;
    uint32_t nenc_stats;
    pqf__page_enc_stats *enc_stats;
    int64_t bloom_filter_offset; /* -1 absent */
    int32_t bloom_filter_length; /* -1 absent */
    bool has_geo_stats;
    bool has_size_stats;
} pqf__column_meta;

typedef struct pqf__column_chunk {
    const char *file_path; /* NULL: this file */
    int64_t file_offset;
    bool has_meta;
    pqf__column_meta meta;
    int64_t offset_index_offset; /* -1 absent */
    int32_t offset_index_length;
    int64_t column_index_offset; /* -1 absent */
    int32_t column_index_length;
    bool encrypted; /* crypto_metadata or encrypted_column_metadata present */
} pqf__column_chunk;

typedef struct pqf__sorting_column {
    int32_t column_idx;
    bool descending, nulls_first;
} pqf__sorting_column;

typedef struct pqf__row_group {
    uint32_t ncolumns;
    pqf__column_chunk *columns;
    int64_t total_byte_size;
    int64_t num_rows;
    uint32_t nsorting;
    pqf__sorting_column *sorting;
    int64_t file_offset;           /* -1 absent */
    int64_t total_compressed_size; /* -1 absent */
    int32_t ordinal;               /* -1 absent */
} pqf__row_group;

typedef struct pqf__file_meta {
    int32_t version;
    uint32_t nschema;
    pqf__schema_elem *schema;
    int64_t num_rows;
    uint32_t nrow_groups;
    pqf__row_group *row_groups;
    uint32_t nkv;
    pqf__kv *kv;
    const char *created_by; /* NULL if absent */
    uint32_t ncolumn_orders;
    int32_t *column_orders; /* 1 = TypeDefinedOrder, 0 = unknown member */
    bool encrypted;         /* encryption_algorithm present */
} pqf__file_meta;

/* PageType */
enum {
    PQF__PAGE_DATA = 0,
    PQF__PAGE_INDEX = 1,
    PQF__PAGE_DICTIONARY = 2,
    PQF__PAGE_DATA_V2 = 3
};

typedef struct pqf__page_header {
    int32_t type;
    int32_t uncompressed_size;
    int32_t compressed_size;
    bool has_crc;
    uint32_t crc;
    bool has_data, has_dict, has_data_v2, has_index;
    struct {
        int32_t num_values, encoding, def_encoding, rep_encoding;
        pqf__stats stats;
    } data;
    struct {
        int32_t num_values, encoding;
        bool is_sorted;
    } dict;
    struct {
        int32_t num_values, num_nulls, num_rows, encoding;
        int32_t def_length, rep_length;
        bool is_compressed; /* default true */
        pqf__stats stats;
    } v2;
} pqf__page_header;

typedef struct pqf__column_index {
    uint32_t npages;
    bool *null_pages;
    pqf__bytes *min_values, *max_values;
    int32_t boundary_order; /* 0 unordered, 1 ascending, 2 descending */
    bool has_null_counts;
    int64_t *null_counts;
} pqf__column_index;

typedef struct pqf__page_location {
    int64_t offset;
    int32_t compressed_page_size;
    int64_t first_row_index;
} pqf__page_location;

typedef struct pqf__offset_index {
    uint32_t npages;
    pqf__page_location *locations;
} pqf__offset_index;

typedef struct pqf__bloom_header {
    int32_t num_bytes;
    int algorithm;   /* 1 = BLOCK, 0 unknown */
    int hash;        /* 1 = XXHASH, 0 unknown */
    int compression; /* 1 = UNCOMPRESSED, 0 unknown */
} pqf__bloom_header;

/* ---- decoders --------------------------------------------------------------- */

/* FileMetaData from [data, data+len); data must outlive the arena's use. */
pqf_err pqf__meta_file(pqf__arena *a, const uint8_t *data, size_t len, pqf__file_meta **out,
                       pqf_error *err);
/* A PageHeader at the start of [data, data+len); *hdr_len gets its size. */
pqf_err pqf__meta_page_header(const uint8_t *data, size_t len, pqf__page_header *out,
                              size_t *hdr_len, pqf_error *err);
pqf_err pqf__meta_column_index(pqf__arena *a, const uint8_t *data, size_t len,
                               pqf__column_index *out, pqf_error *err);
pqf_err pqf__meta_offset_index(pqf__arena *a, const uint8_t *data, size_t len,
                               pqf__offset_index *out, pqf_error *err);
pqf_err pqf__meta_bloom_header(const uint8_t *data, size_t len, pqf__bloom_header *out,
                               size_t *hdr_len, pqf_error *err);

#endif
