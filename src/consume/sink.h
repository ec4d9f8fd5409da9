/* Internal: the consumer's sinks (SQLite, PostgreSQL, Parquet snapshot)
 * behind one small vtable, and the table definitions and row values the
 * apply engine hands them.
 *
 * The engine (apply.c) drives one transaction per commit:
 *   begin -> sync_table [-> plan begin -> plan row*] -> load_begin -> load_row* -> load_end
 *         -> put_checkpoint -> commit        (or rollback on any failure)
 * so the data and the checkpoint become visible together or not at all.
 * Sinks never see the feed; the engine never sees SQL.
 */
#ifndef PQF_CONSUME_SINK_H
#define PQF_CONSUME_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pqfeed/apply.h"
#include "pqfeed/error.h"
#include "pqfeed/reader.h"
#include "pqfeed/schema.h"

/* What a top-level column holds, independent of the sink. */
typedef enum pqf__ckind {
    PQF__C_INT,    /* int8..int64, uint8..uint32 (bits, is_unsigned) */
    PQF__C_UINT64, /* does not fit int64 in general */
    PQF__C_FLOAT,  /* 32-bit */
    PQF__C_DOUBLE,
    PQF__C_BOOL,
    PQF__C_DECIMAL, /* precision, scale; exact text */
    PQF__C_TEXT,    /* string, enum */
    PQF__C_UUID,
    PQF__C_DATE,
    PQF__C_TIME,      /* digits */
    PQF__C_TIMESTAMP, /* digits, utc */
    PQF__C_JSON,      /* JSON text (the Parquet JSON logical type) */
    PQF__C_NESTED,    /* STRUCT, LIST, MAP: stored as JSON text */
    PQF__C_BINARY     /* binary, fixed(n) */
} pqf__ckind;

typedef struct pqf__col {
    char *name;
    pqf__ckind kind;
    bool nullable;
    bool key;
    int bits;
    bool is_unsigned;
    int precision, scale;
    int digits; /* fraction digits of TIME / TIMESTAMP (3, 6, 9) */
    bool utc;
} pqf__col;

/* A table as the sink stores it: the top-level columns of one schema
 * version, and which of them form the key. Owns its strings. */
typedef struct pqf__tdef {
    char *table;
    int schema_version;
    pqf__col *cols;
    size_t ncols;
    size_t *keys; /* indexes into cols */
    size_t nkeys;
    char *schema_json; /* the schema file's text (the Parquet snapshot sink writes with it) */
    size_t schema_len;
} pqf__tdef;

void pqf__tdef_free(pqf__tdef *t);

/* Build a table definition from schema-file JSON (docs/SCHEMA-FILE.md plus
 * the feed's top-level "key" array). name appears in errors. */
pqf_err pqf__tdef_from_schema_json(const char *table, int version, const char *text, size_t len,
                                   const char *name, pqf__tdef **out, pqf_error *err);

/* Most top-level columns a sink table may have (SQLite's default limit). */
#define PQF__MAX_COLS 2000

/* One value of a row. Text and blob bytes, and the number text of INT and
 * DOUBLE values (what a text protocol such as COPY sends), point into the
 * row's buffer and stay valid until the next row. */
typedef enum pqf__vtype {
    PQF__V_NULL,
    PQF__V_INT,
    PQF__V_DOUBLE,
    PQF__V_BOOL,
    PQF__V_TEXT,
    PQF__V_BLOB
} pqf__vtype;

typedef struct pqf__val {
    pqf__vtype t;
    int64_t i;     /* INT, BOOL (0/1) */
    double d;      /* DOUBLE */
    const char *s; /* TEXT, BLOB bytes; INT and DOUBLE: the number as text */
    size_t n;
} pqf__val;

struct pqf__json;

/* The column kind (and nullability) of a top-level schema node, as
 * pqf__tdef_from_schema_json derives it; a type with no sink type is
 * PQF_ERR_UNSUPPORTED. */
pqf_err pqf__col_from_info(const pqf_node_info *ni, pqf__col *c, pqf_error *err);

/* Where a value's bytes were appended to a row's buffer (set: they were). */
typedef struct pqf__span {
    size_t off, n;
    bool set;
} pqf__span;

/* One JSON value v (NULL when missing: a NULL value) of column c, as the
 * row reader renders it, into *out; its text is appended to b (recorded in
 * *sp: point out->s into b only once the row is complete, b may move). */
pqf_err pqf__json_to_val(const pqf__col *c, const struct pqf__json *v, pqf__buf *b, pqf__val *out,
                         pqf__span *sp, pqf_error *err);

/* A data file's rows as typed values, read column by column (src/consume/
 * colread.c): flat columns straight from the column cursors, nested ones
 * (and any whose file type is not the schema's) through the row reader's
 * JSON. The reader is borrowed and must outlive the handle. */
typedef struct pqf__colread pqf__colread;
pqf_err pqf__colread_open(pqf_reader *rd, const pqf__tdef *t, bool changes, const char *name,
                          pqf__colread **out, pqf_error *err);
/* The next row's values (ncols, plus _op and _seq with changes) into vals,
 * valid until the next call; *got false at the end. Errors name the row. */
pqf_err pqf__colread_next(pqf__colread *cr, pqf__val *vals, bool *got, pqf_error *err);
void pqf__colread_free(pqf__colread *cr);

/* The last applied commit of a table, as the sink recorded it. */
typedef struct pqf__ckpt {
    uint64_t seq; /* 0: nothing applied */
    char hash[65];
    int schema_version;
    char applied_at[48]; /* ISO 8601 UTC, as the sink wrote it */
} pqf__ckpt;

/* What the engine writes with a commit's data. */
typedef struct pqf__ckpt_put {
    const char *table;
    uint64_t seq;
    const char *hash;
    int schema_version;
    const char *kind;       /* "snapshot" | "changes" */
    uint64_t rows;          /* rows read from the commit's files */
    const char *created_at; /* the commit's created_at, ISO 8601 UTC */
    const char *applied_at; /* now, ISO 8601 UTC */
} pqf__ckpt_put;

typedef struct pqf__quarantine_put {
    const char *table;
    uint64_t seq;
    const char *key;
    const char *expected_sha256;
    const char *got_sha256;
    const char *at; /* ISO 8601 UTC */
} pqf__quarantine_put;

typedef struct pqf__sink_vt {
    const char *kind; /* "sqlite", "postgres" */
    /* Create _pqfeed_checkpoint and _pqfeed_quarantine if missing. */
    pqf_err (*setup)(pqf_sink *s, pqf_error *err);
    /* Latest checkpoint of table (seq 0 when none). */
    pqf_err (*checkpoint)(pqf_sink *s, const char *table, pqf__ckpt *out, pqf_error *err);
    pqf_err (*begin)(pqf_sink *s, pqf_error *err);
    /* Create the table if missing; add the columns it lacks (ALTER TABLE). */
    pqf_err (*sync_table)(pqf_sink *s, const pqf__tdef *t, pqf_error *err);
    /* Start loading rows of one commit: a snapshot replaces the table's rows;
     * changes rows carry two more values, _op (TEXT) and _seq (INT). */
    pqf_err (*load_begin)(pqf_sink *s, const pqf__tdef *t, bool changes, pqf_error *err);
    pqf_err (*load_row)(pqf_sink *s, const pqf__val *vals, pqf_error *err);
    /* Finish the load (changes: merge by key, the latest _seq per key wins). */
    pqf_err (*load_end)(pqf_sink *s, pqf_error *err);
    pqf_err (*put_checkpoint)(pqf_sink *s, const pqf__ckpt_put *c, pqf_error *err);
    pqf_err (*commit)(pqf_sink *s, pqf_error *err);
    void (*rollback)(pqf_sink *s); /* best effort; no-op outside a transaction */
    /* In its own transaction (outside begin/commit). A repeat of the same
     * record is not an error. */
    pqf_err (*quarantine)(pqf_sink *s, const pqf__quarantine_put *q, pqf_error *err);
    void (*destroy)(pqf_sink *s);
} pqf__sink_vt;

/* Optional: a sink that wants a changes commit's keys before its rows
 * (the PostgreSQL rewrite loads each key's last change straight into the new
 * table). Between sync_table and load_begin the engine calls begin with the
 * commit's row count; when *want comes back true it reads every file of the
 * commit once more before the load (hash-checked again) and calls row for
 * each row, in the order load_row will see them, with vals holding only the
 * key columns (in key order), then _op (TEXT) and _seq (INT). */
typedef struct pqf__sink_plan_vt {
    pqf_err (*begin)(pqf_sink *s, const pqf__tdef *t, uint64_t rows, bool *want, pqf_error *err);
    pqf_err (*row)(pqf_sink *s, const pqf__val *vals, pqf_error *err);
} pqf__sink_plan_vt;

/* Every sink's handle starts with this. */
struct pqf_sink {
    const pqf__sink_vt *vt;
    const pqf__sink_plan_vt *plan; /* NULL: no plan pass */
    char name[256]; /* for messages: the path, or host/dbname without secrets */
    /* A sink that applies changes row by row in file order (SQLite) needs
     * them in _seq order; meeting a row out of order it sets reorder and
     * fails the load, and the engine rolls back and applies the commit
     * again with staged set (stage table and merge, any order). */
    bool reorder, staged;
    /* Opened by pqf_sink_open_readonly: no setup, checkpoints only, nothing
     * written or created (a sink without _pqfeed_checkpoint: nothing applied). */
    bool readonly;
};

/* readonly: the file must exist (else PQF_ERR_NOT_FOUND) and is opened
 * read-only. */
pqf_err pqf__sink_sqlite_open(const char *path, bool readonly, pqf_sink **out, pqf_error *err);
pqf_err pqf__sink_pg_open(const char *conninfo, pqf_sink **out, pqf_error *err);
/* The Parquet snapshot sink: a current-state copy of each table as Parquet
 * files in the store at url (src/consume/sink_parquet.c). */
pqf_err pqf__sink_parquet_open(const char *url, pqf_sink **out, pqf_error *err);

/* "name" with embedded double quotes doubled: a safe SQL identifier for
 * SQLite and PostgreSQL alike. */
pqf_err pqf__sql_ident(pqf__buf *b, const char *name);

/* SQL walks over a table definition shared by the SQLite and PostgreSQL sinks
 * (src/consume/tdef.c); each appends to b. */
/* "c1", "c2", ...: every column. */
pqf_err pqf__sql_col_list(pqf__buf *b, const pqf__tdef *t);
/* prefix"k1", prefix"k2", ...: the key columns in key order. */
pqf_err pqf__sql_key_list(pqf__buf *b, const pqf__tdef *t, const char *prefix);
/* The sink's type of a column (may write into buf[0..cap)). */
typedef const char *(*pqf__sql_type_fn)(const pqf__col *c, char *buf, size_t cap);
/* "c1" TYPE[ NOT NULL], ...: the column definitions of CREATE TABLE. */
pqf_err pqf__sql_col_defs(pqf__buf *b, const pqf__tdef *t, pqf__sql_type_fn type);
/* ", PRIMARY KEY (k1, ...)" when t has a key, else nothing. */
pqf_err pqf__sql_primary_key(pqf__buf *b, const pqf__tdef *t);
/* ALTER TABLE "table" ADD COLUMN "c" TYPE: column i of t, without NOT NULL
 * (a later schema version's new column; compatible changes add only nullable
 * ones). */
pqf_err pqf__sql_add_column(pqf__buf *b, const pqf__tdef *t, size_t i, pqf__sql_type_fn type);

#endif
