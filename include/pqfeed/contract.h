/* pqfeed — schema contracts and schema changes.
 *
 * A contract (YAML, the pipeline config's format; docs/SCHEMA.md) lists per
 * table the columns a consumer needs (schema-file type, nullability, an
 * optional value check), the key and the compatibility mode that future
 * schema changes must keep:
 *
 *   pqf_contract *c = NULL;
 *   pqf_contract_load("contract.yaml", &c, &err);
 *   ...
 *   pqf_contract_free(c);
 *
 * pqf_schema_diff() compares two schemas column by column and says, for each
 * change, whether it keeps backward and forward compatibility; the same rules
 * serve `pqfeed schema diff` and `pqfeed schema check`.
 */
#ifndef PQFEED_CONTRACT_H
#define PQFEED_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/feed.h"
#include "pqfeed/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqf_compat_mode {
    PQF_COMPAT_NONE = 0,     /* any change */
    PQF_COMPAT_BACKWARD = 1, /* consumers on the new schema read old data */
    PQF_COMPAT_FORWARD = 2,  /* consumers on the old schema read new data */
    PQF_COMPAT_FULL = 3      /* both */
} pqf_compat_mode;

/* "none", "backward", "forward", "full". */
const char *pqf_compat_mode_name(pqf_compat_mode m);

/* Value checks of a contract column (pqf_contract_check_values). */
typedef struct pqf_contract_check {
    char **allowed; /* allowed values as text, or NULL */
    size_t nallowed;
    char *min, *max;       /* inclusive bounds as text, or NULL */
    char *regex;           /* POSIX extended regular expression (strings), or NULL */
    double not_null_ratio; /* 0..1; < 0: none */
} pqf_contract_check;

typedef struct pqf_contract_column {
    char *name;
    char *type;    /* canonical schema-file type name ("int64", "decimal(18,2)") */
    bool nullable; /* false: the feed must have the column required */
    bool has_check;
    pqf_contract_check check;
    unsigned line; /* in the contract file */
} pqf_contract_column;

typedef struct pqf_contract_table {
    char *name;
    char *key; /* comma-separated column names, or NULL */
    pqf_compat_mode compat;
    pqf_contract_column *columns;
    size_t ncolumns;
    unsigned line;
} pqf_contract_table;

typedef struct pqf_contract {
    char *path;
    pqf_contract_table *tables;
    size_t ntables;
} pqf_contract;

/* Read and validate a contract file. Unknown keys, unknown type names, bad
 * values and missing required keys are PQF_ERR_PARSE with a message naming
 * the file, the line and the key ("c.yaml:7: tables.issues.columns[2].type:
 * unknown type 'int65'"). On success *out is owned by the caller. */
pqf_err pqf_contract_load(const char *path, pqf_contract **out, pqf_error *err);
/* Free a contract (NULL ok). */
void pqf_contract_free(pqf_contract *c);

/* What the value checks of one contract column found. */
typedef struct pqf_value_stats {
    bool present;          /* the column is in the data files read */
    uint64_t rows, nulls;  /* rows read; NULL (or absent) values among them */
    uint64_t not_allowed;  /* values not in `allowed` */
    uint64_t out_of_range; /* values below `min` or above `max` */
    uint64_t no_match;     /* string values that `regex` does not match */
    char example[128];     /* the first failing value, as rendered (JSON text) */
} pqf_value_stats;

/* Run the value checks of table t over every row of the data files of the
 * feed's latest commit of that table (the files it names; for a changes feed
 * that is the last increment). stats[i] is for t->columns[i]; columns without
 * a check are not read. *seq is the commit read (0: the table has no commit
 * and stats stay zero). Values compare as text with `allowed`; with min/max
 * numerically when both are numbers, else as text (ISO dates and timestamps
 * of one form order as text). */
pqf_err pqf_contract_check_values(pqf_feed *f, const pqf_contract_table *t, pqf_value_stats *stats,
                                  uint64_t *seq, pqf_error *err);

/* What pqf_contract_scan_values read. */
typedef struct pqf_value_scan {
    uint64_t commits;    /* commits of the table (1..head) */
    uint64_t files;      /* data files they name */
    uint64_t rows_total; /* rows the commits say they hold */
    uint64_t rows_read;  /* rows read (all of them, or the sample) */
} pqf_value_scan;

/* The value checks of table t over the data of every commit of the table
 * (1..head), not only the latest. sample_rows 0: every row; else about that
 * many rows, taken from each file in proportion to its share of the rows
 * (the first rows of each file, at least one per non-empty file), so every
 * commit is represented. stats as for pqf_contract_check_values. */
pqf_err pqf_contract_scan_values(pqf_feed *f, const pqf_contract_table *t, uint64_t sample_rows,
                                 pqf_value_stats *stats, pqf_value_scan *scan, pqf_error *err);
/* Does column c pass its checks given s? (Also false when the column has a
 * check and is not in the data.) */
bool pqf_value_stats_ok(const pqf_contract_column *c, const pqf_value_stats *s);

/* Schema-file type name of node `node` into buf (truncated to cap):
 * "int64", "decimal(18,2)", "timestamp_us", "timestamp_us (local)",
 * "list<string>", "struct<id:int64,name:string>". Returns buf. */
const char *pqf_schema_type_name(const pqf_schema *s, int node, char *buf, size_t cap);

typedef enum pqf_change_kind {
    PQF_CHANGE_ADDED = 0,   /* the column is only in the new schema */
    PQF_CHANGE_DROPPED = 1, /* the column is only in the old schema */
    PQF_CHANGE_CHANGED = 2  /* type and/or nullability differ */
} pqf_change_kind;

#define PQF_CHANGE_TYPE_MAX 256

/* One column's (or nested field's) change between two schemas. */
typedef struct pqf_schema_change {
    pqf_change_kind kind;
    char column[256]; /* "title", nested "assignee.login", list elements "labels[]" */
    char old_type[PQF_CHANGE_TYPE_MAX], new_type[PQF_CHANGE_TYPE_MAX]; /* "" when absent */
    bool old_nullable, new_nullable;
    bool type_changed;
    bool widening;    /* type_changed, and the new type holds every old value */
    bool narrowing;   /* type_changed, and the old type holds every new value */
    bool backward_ok; /* a reader on the new schema reads data of the old one */
    bool forward_ok;  /* a reader on the old schema reads data of the new one */
} pqf_schema_change;

/* Compare the columns of two finished schemas. Nested columns of the same
 * shape are compared inside: struct fields by name ("assignee.login"), list
 * elements as "labels[]"; a struct that became a list (or a leaf) is a type
 * change of the column. *changes (malloc'd, caller frees; NULL when n is 0)
 * lists, per group, dropped and changed fields in old order (a struct's
 * inner changes right after it), then added ones in new order; each carries
 * its verdict (rules in docs/SCHEMA.md). */
pqf_err pqf_schema_diff(const pqf_schema *old, const pqf_schema *next, pqf_schema_change **changes,
                        size_t *n, pqf_error *err);

/* Does a set of changes keep mode m? (NONE: always true.) */
bool pqf_schema_changes_keep(const pqf_schema_change *changes, size_t n, pqf_compat_mode m);

/* ---- a contract against a schema, and enforcement ------------------------------ */

/* The contract's table of that name, or NULL. */
const pqf_contract_table *pqf_contract_table_find(const pqf_contract *c, const char *table);

typedef enum pqf_column_status {
    PQF_COLUMN_OK = 0,
    PQF_COLUMN_MISSING = 1,     /* not in the schema, or a field of its struct is not */
    PQF_COLUMN_WRONG_TYPE = 2,  /* its type, or a nested field's or element's, differs */
    PQF_COLUMN_NULLABILITY = 3  /* the contract says nullable: false, the column is nullable */
} pqf_column_status;

/* "ok", "missing", "wrong type", "nullability". */
const char *pqf_column_status_name(pqf_column_status s);

typedef struct pqf_column_check {
    pqf_column_status status;
    bool present;                   /* the top-level column is in the schema */
    char type[PQF_CHANGE_TYPE_MAX]; /* the schema's type name ("" when absent) */
    bool nullable;                  /* the schema's column is nullable */
    char field[256];                /* where it fails: "title", "assignee.login", "labels[]" */
    char detail[512];               /* in words: "contract int64, feed int32" */
} pqf_column_check;

/* Check each column of t against the finished schema s; out[i] is for
 * t->columns[i]. Nested types (list<T>, struct<a:T,...>) are compared field
 * by field: every struct field the contract names must be in the schema's
 * struct with its type (the schema may have more fields), list elements
 * must have the contract's element type. Returns how many columns fail. */
size_t pqf_contract_check_schema(const pqf_contract_table *t, const pqf_schema *s,
                                 pqf_column_check *out);

/* Does key (comma-separated column names; NULL or "": none) equal the
 * contract's key, as a set? True when the contract names no key. */
bool pqf_contract_key_ok(const pqf_contract_table *t, const char *key);

/* The key registered with a schema version of a table (the "key" array of
 * <table>/_schema/<v>.json) as "a,b" into buf; "" when none. */
pqf_err pqf_feed_schema_key(pqf_feed *f, const char *table, int version, char *buf, size_t cap,
                            pqf_error *err);

/* Enforce the contract's table t on a schema `next` registered after
 * `prev` (NULL: the table's first version) with key `key`: every column
 * check, the key, and the compatibility mode from prev to next. PQF_OK, or
 * PQF_ERR_CONTRACT with a message naming the contract, the table, the
 * column and the rule ("contract c.yaml: table issues: column title: missing
 * (the contract needs it)"). */
pqf_err pqf_contract_enforce_schema(const pqf_contract *c, const pqf_contract_table *t,
                                    const pqf_schema *prev, const pqf_schema *next,
                                    const char *key, pqf_error *err);

/* The value checks of t over every row of the files of commit cm. Each file
 * is read whole (at most max_file_bytes; 0: 1 GiB) and its SHA-256 checked
 * against the commit before it is parsed: PQF_ERR_NOT_FOUND when a file is
 * missing, PQF_ERR_CHECKSUM when its bytes differ, PQF_ERR_CONTRACT when a
 * check fails (naming column, rule, count and an example). */
pqf_err pqf_contract_enforce_values(pqf_feed *f, const pqf_contract *c,
                                    const pqf_contract_table *t, const pqf_commit *cm,
                                    uint64_t max_file_bytes, pqf_error *err);

/* What kept pqf_contract_enforce_commit from judging a commit. */
typedef enum pqf_contract_wait {
    PQF_CONTRACT_READY = 0,   /* judged: PQF_OK or PQF_ERR_CONTRACT */
    PQF_CONTRACT_MISSING = 1, /* `key` (its schema file or a data file) is not there yet */
    PQF_CONTRACT_CORRUPT = 2  /* data file `key` does not hash to the commit's sha256 */
} pqf_contract_wait;

typedef struct pqf_contract_unready {
    pqf_contract_wait wait;
    char key[1024];
    char got_sha256[65]; /* CORRUPT: what its bytes hash to */
} pqf_contract_unready;

/* Both, for a commit as `pqfeed apply` meets it: its schema version (against
 * the version before it for the compatibility mode, when that one is there),
 * the key registered with it, and the values of its files. PQF_OK when the
 * contract has no table of that name. When the commit's schema file or a data
 * file is missing or hashes wrong the commit is not judged: PQF_OK with
 * u->wait saying why, and the caller must not apply it yet (apply treats it
 * as late or corrupt, and asks again). */
pqf_err pqf_contract_enforce_commit(pqf_feed *f, const pqf_contract *c, const pqf_commit *cm,
                                    uint64_t max_file_bytes, pqf_contract_unready *u,
                                    pqf_error *err);

#ifdef __cplusplus
}
#endif
#endif
