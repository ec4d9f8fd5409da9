/* pqfeed — table schemas (the Parquet schema tree).
 *
 * A pqf_schema is a tree of nodes as in parquet.thrift's SchemaElement list:
 * node 0 is the root (message); groups hold children; leaves are primitive
 * columns. Nodes are addressed by int ids handed out in creation order.
 * Leaves (columns) are also numbered 0..n-1 in depth-first order; leaf ids
 * are what column chunks, statistics and per-column options refer to.
 *
 * Ownership: a schema owns its names. The writer copies what it needs, so a
 * schema may be freed after pqf_writer_create().
 */
#ifndef PQFEED_SCHEMA_H
#define PQFEED_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* parquet.thrift Type; values are the wire values. */
typedef enum pqf_physical {
    PQF_BOOLEAN = 0,
    PQF_INT32 = 1,
    PQF_INT64 = 2,
    PQF_INT96 = 3,
    PQF_FLOAT = 4,
    PQF_DOUBLE = 5,
    PQF_BYTE_ARRAY = 6,
    PQF_FIXED_LEN_BYTE_ARRAY = 7
} pqf_physical;

/* parquet.thrift FieldRepetitionType; values are the wire values. */
typedef enum pqf_repetition { PQF_REQUIRED = 0, PQF_OPTIONAL = 1, PQF_REPEATED = 2 } pqf_repetition;

/* Logical type annotations (parquet.thrift LogicalType). */
typedef enum pqf_logical_kind {
    PQF_LT_NONE = 0,
    PQF_LT_STRING,
    PQF_LT_ENUM,
    PQF_LT_JSON,
    PQF_LT_BSON,
    PQF_LT_UUID,
    PQF_LT_DATE,
    PQF_LT_TIME,      /* unit, utc */
    PQF_LT_TIMESTAMP, /* unit, utc */
    PQF_LT_DECIMAL,   /* precision, scale */
    PQF_LT_INT,       /* bit_width 8/16/32/64, is_signed */
    PQF_LT_FLOAT16,
    PQF_LT_LIST,      /* groups only */
    PQF_LT_MAP,       /* groups only */
    PQF_LT_UNKNOWN    /* always-null column */
} pqf_logical_kind;

typedef enum pqf_time_unit { PQF_MILLIS = 0, PQF_MICROS = 1, PQF_NANOS = 2 } pqf_time_unit;

typedef struct pqf_logical {
    pqf_logical_kind kind;
    pqf_time_unit unit; /* TIME, TIMESTAMP */
    bool utc;           /* TIME, TIMESTAMP: isAdjustedToUTC */
    int32_t precision;  /* DECIMAL */
    int32_t scale;      /* DECIMAL */
    int8_t bit_width;   /* INT */
    bool is_signed;     /* INT */
} pqf_logical;

typedef struct pqf_schema pqf_schema;

/* Read-only view of one node. Strings live as long as the schema. */
typedef struct pqf_node_info {
    const char *name;
    int parent;          /* -1 for the root */
    bool is_group;
    pqf_repetition repetition;
    pqf_physical physical; /* leaves */
    int32_t type_length;   /* FIXED_LEN_BYTE_ARRAY */
    pqf_logical logical;
    int32_t field_id;      /* -1 if none */
    int leaf;              /* leaf index, -1 for groups */
    int16_t max_def;       /* definition level of this node when present */
    int16_t max_rep;       /* repetition level */
    int nchildren;
} pqf_node_info;

/* An empty schema with just the root, named "schema". NULL on OOM. */
pqf_schema *pqf_schema_create(void);
void pqf_schema_free(pqf_schema *s);
pqf_schema *pqf_schema_clone(const pqf_schema *s);

/* Add a primitive column under group `parent` (0 = root). lt may be NULL.
 * type_length is for FIXED_LEN_BYTE_ARRAY (else 0). field_id < 0: none.
 * Returns the new node id (> 0), or -1 with err set: duplicate name, logical
 * type not valid on that physical type (e.g. DECIMAL precision too large for
 * INT32), parent not a group. */
int pqf_schema_add_column(pqf_schema *s, int parent, const char *name, pqf_repetition rep,
                          pqf_physical physical, int32_t type_length, const pqf_logical *lt,
                          int32_t field_id, pqf_error *err);

/* Add a group (STRUCT when lt is NULL). Returns node id or -1. */
int pqf_schema_add_group(pqf_schema *s, int parent, const char *name, pqf_repetition rep,
                         const pqf_logical *lt, int32_t field_id, pqf_error *err);

/* Add a standard three-level LIST:
 *   <rep> group <name> (LIST) { repeated group list { <element> } }
 * Returns the id of the repeated "list" group; add exactly one child to it
 * (named "element", column or group) with pqf_schema_add_column/_group. */
int pqf_schema_add_list(pqf_schema *s, int parent, const char *name, pqf_repetition rep,
                        int32_t field_id, pqf_error *err);

/* Finish: compute levels and leaf numbering. Must be called once before use;
 * checks that every LIST has its one element and that the schema has at least
 * one column. */
pqf_err pqf_schema_finish(pqf_schema *s, pqf_error *err);

int pqf_schema_node_count(const pqf_schema *s);
int pqf_schema_leaf_count(const pqf_schema *s);
/* Node id of leaf i. */
int pqf_schema_leaf_node(const pqf_schema *s, int leaf);
/* Child `i` of group `node`. */
int pqf_schema_child(const pqf_schema *s, int node, int i);
/* Child of group `node` named `name`, or -1. */
int pqf_schema_find_child(const pqf_schema *s, int node, const char *name);
/* For a LIST-annotated group: the element node (list's only grandchild), else -1. */
int pqf_schema_list_element(const pqf_schema *s, int list_node);
/* Fill *info for a node; PQF_ERR_INVALID_ARG for a bad id. */
pqf_err pqf_schema_node(const pqf_schema *s, int node, pqf_node_info *info);
/* Dotted path of a node ("labels.list.element") into buf; returns needed length. */
size_t pqf_schema_path(const pqf_schema *s, int node, char *buf, size_t cap);
/* Node id for a dotted path, or -1. */
int pqf_schema_find_path(const pqf_schema *s, const char *path);

/* Names of enum values, for messages and JSON. */
const char *pqf_physical_name(pqf_physical t);
const char *pqf_logical_name(pqf_logical_kind k);

#ifdef __cplusplus
}
#endif
#endif
