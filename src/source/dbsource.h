/* Internal: the part of the database sources (include/pqfeed/dbsource.h)
 * shared by the PostgreSQL (pg.c) and SQLite (sqlite.c) drivers.
 *
 * A driver describes its result as columns (pqf__dbcol: name, source type,
 * nullability), then for each row decodes every column into a pqf__dbval and
 * hands it to pqf__db_put() / the list calls. The common code (dbsource.c)
 * builds the default schema from the description, maps the columns onto a
 * target schema, converts values to the target column's type with range
 * checks, writes them to the pqf_writer, tracks the watermark and words the
 * errors ("postgres table public.t: row 3: column 'n': ..."). */
#ifndef PQF_SOURCE_DBSOURCE_H
#define PQF_SOURCE_DBSOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pqfeed/dbsource.h"
#include "source/changes.h"
#include "source/json.h"
#include "source/value.h"

/* Source column types (what the default schema maps each one to). */
typedef enum pqf__dbtype {
    PQF__DBT_BOOL,
    PQF__DBT_INT16,
    PQF__DBT_INT32,
    PQF__DBT_INT64,
    PQF__DBT_FLOAT,
    PQF__DBT_DOUBLE,
    PQF__DBT_DECIMAL, /* precision, scale */
    PQF__DBT_TEXT,
    PQF__DBT_JSON,
    PQF__DBT_BYTES,
    PQF__DBT_DATE,
    PQF__DBT_TIME,        /* micros */
    PQF__DBT_TIMESTAMP,   /* micros, local */
    PQF__DBT_TIMESTAMPTZ, /* micros, UTC */
    PQF__DBT_UUID
} pqf__dbtype;

typedef struct pqf__dbcol {
    char *name; /* malloc'd */
    pqf__dbtype type;
    int precision, scale;
    bool is_list; /* one-dimensional array of `type` (elements nullable) */
    bool notnull;
    char type_name[64]; /* the database's name for messages ("integer[]") */
    /* Filled by pqf__db_bind: */
    int node;           /* target top-level node, -1: not written */
    int leaf;           /* node of the leaf (the element for lists) */
    bool required;      /* target column REQUIRED */
    bool elem_required; /* list element REQUIRED */
    pqf__conv conv;     /* converter of the leaf */
    char *label;        /* "n", or "tags[]" for elements */
} pqf__dbcol;

/* A decoded value. Byte values point into the driver's row buffer. */
typedef enum pqf__dvkind {
    PQF__DV_NULL,
    PQF__DV_BOOL,
    PQF__DV_INT,     /* u.i */
    PQF__DV_DOUBLE,  /* u.d; is_float for float4 */
    PQF__DV_NUMERIC, /* p,n: PostgreSQL's binary numeric (ndigits, weight, sign, dscale,
                        base-10000 digits, all big-endian int16) */
    PQF__DV_TEXT,    /* p,n: text; utf8_ok when known valid; json when JSON text */
    PQF__DV_BYTES,   /* p,n */
    PQF__DV_DATE,    /* u.i: days since 1970-01-01 */
    PQF__DV_TIME,    /* u.i: microseconds since midnight */
    PQF__DV_TS,      /* u.i: microseconds since 1970-01-01 (utc: an instant) */
    PQF__DV_UUID     /* p: 16 bytes */
} pqf__dvkind;

typedef struct pqf__dbval {
    pqf__dvkind kind;
    bool utc, is_float, utf8_ok, json;
    union {
        bool b;
        int64_t i;
        double d;
    } u;
    const void *p;
    size_t n;
} pqf__dbval;

typedef struct pqf__dbdriver {
    const char *name; /* "postgres", "sqlite" */
    /* Step to the next row (*eof after the last); sets src->err on failure. */
    pqf_err (*fetch)(pqf_dbsource *src, bool *eof);
    /* Decode scalar column col of the current row (change capture reads the
     * key, watermark, created and delete columns before the row is written).
     * Byte values stay valid until the next fetch. */
    pqf_err (*get)(pqf_dbsource *src, int col, pqf__dbval *v);
    /* Write the current row's columns with the put calls (the caller does
     * row_begin and row_end). */
    pqf_err (*put)(pqf_dbsource *src, pqf_writer *w);
    void (*close)(void *impl);
} pqf__dbdriver;

struct pqf_dbsource {
    pqf_error err;
    const pqf__dbdriver *drv;
    void *impl;
    char *label; /* "postgres table public.t" */
    pqf__dbcol *cols;
    int ncols;
    pqf_schema *own;          /* the described schema */
    const pqf_schema *schema; /* the one rows are written with */
    int wm_col;               /* index into cols, -1: none */
    int numeric_scale;
    bool numeric_as_string;
    size_t max_row_bytes;
    bool done;     /* eof or error: no more rows */
    uint64_t rows; /* rows written */
    uint64_t row;  /* 1-based number of the row being read */
    uint64_t read; /* rows read (written or skipped) */
    /* change capture (pqf_dbsource_set_changes) */
    bool changes;
    pqf__cc cc;
    int cc_key[8], cc_del, cc_cre; /* source column indexes (-1: none) */
    pqf__buf cc_wm, cc_cre_text, cc_part; /* the current row's texts */
    /* watermark: first and last non-NULL values (raw copies, rendered lazily) */
    pqf__dbval wm_v[2];
    pqf__buf wm_raw[2];
    pqf__buf wm_text[2];
    bool wm_have[2], wm_stale[2];
    pqf__buf tmp;      /* text renderings */
    pqf__json_doc doc; /* JSON validation */
};

/* Allocate a source with its label ("<driver> table <t>" / "<driver> query");
 * copies numeric options from o. */
pqf_err pqf__db_new(const pqf__dbdriver *drv, const pqf_dbsource_opts *o, pqf_dbsource **out,
                    pqf_error *err);
/* Add a described column (name copied). Returns its index or -1 (OOM). */
int pqf__db_add_col(pqf_dbsource *src, const char *name, pqf__dbtype type, int precision, int scale,
                    bool is_list, bool notnull, const char *type_name);
/* After the description: build the schema, map onto opts->schema, compile
 * converters, find the watermark column. */
pqf_err pqf__db_bind(pqf_dbsource *src, const pqf_dbsource_opts *o, pqf_error *err);

/* Row protocol for drivers. Each returns PQF_OK or sets src->err. */
pqf_err pqf__db_row_begin(pqf_dbsource *src, pqf_writer *w);
pqf_err pqf__db_row_end(pqf_dbsource *src, pqf_writer *w);
/* A scalar column's value (or NULL). */
pqf_err pqf__db_put(pqf_dbsource *src, pqf_writer *w, int col, const pqf__dbval *v);
/* A list column: NULL list, or begin, elements, end. */
pqf_err pqf__db_list_null(pqf_dbsource *src, pqf_writer *w, int col);
pqf_err pqf__db_list_begin(pqf_dbsource *src, pqf_writer *w, int col);
pqf_err pqf__db_put_elem(pqf_dbsource *src, pqf_writer *w, int col, const pqf__dbval *v);
pqf_err pqf__db_list_end(pqf_dbsource *src, pqf_writer *w, int col);
/* Error about the current row: "<label>: row N: column 'c': <message>". col may be -1. */
pqf_err pqf__db_row_error(pqf_dbsource *src, pqf_err code, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Text of a value (watermarks, string targets, messages): integers and
 * numerics in decimal, doubles shortest round-trip, dates ISO, timestamps ISO
 * 8601 with 'T' (and 'Z' when utc), UUIDs 8-4-4-4-12, text and bytes as they
 * are. Appends to b. */
pqf_err pqf__dbval_text(const pqf__dbval *v, pqf__buf *b);

/* PostgreSQL binary numeric -> unscaled integer at `scale`, at most
 * `precision` digits. Returns NULL or a reason. */
const char *pqf__pgnumeric_unscaled(const uint8_t *p, size_t n, int precision, int scale,
                                    __int128 *out);
/* Check the layout of a binary numeric (lengths, digit range). */
bool pqf__pgnumeric_valid(const uint8_t *p, size_t n);

#endif
