/* pqfeed — feeds: tables as ordered, hash-chained logs of Parquet commits.
 *
 * Layout under a store's root (docs/FORMAT.md):
 *   _feed.json                                  format version, tables, producer
 *   <table>/_schema/<version>.json              schema file per version
 *   <table>/_log/<seq, 20 digits>.json          commit objects, written last
 *   <table>/data/date=YYYY-MM-DD/hour=HH/<seq 20 digits>-<part 5 digits>-<input 8 hex>.parquet
 *
 * A commit object names its files with sizes, row counts and checksums, and
 * carries `prev`, the SHA-256 of the previous commit object's bytes, so a
 * missing, replaced or reordered commit breaks the chain. Commit objects are
 * written with put-if-absent: two producers racing for one seq cannot both
 * win. Data files no commit names are orphans (invisible; removed by gc).
 *
 * Ownership: a pqf_feed borrows its store (which must outlive it). Commits
 * returned by the read functions are the caller's (pqf_commit_free).
 */
#ifndef PQFEED_FEED_H
#define PQFEED_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQF_FEED_FORMAT "pqfeed/1"
/* Longest table name: letters, digits, '_' and '-', starting with a letter. */
#define PQF_TABLE_NAME_MAX 128

typedef enum pqf_commit_kind { PQF_COMMIT_SNAPSHOT = 0, PQF_COMMIT_CHANGES = 1 } pqf_commit_kind;

typedef struct pqf_commit_file {
    char *key;          /* relative to the feed root */
    uint64_t bytes;
    uint64_t rows;
    char sha256[65];    /* lower-case hex */
    char crc32c[9];     /* lower-case hex, 8 digits */
} pqf_commit_file;

typedef struct pqf_commit {
    char *table;
    uint64_t seq;            /* 1, 2, ... without gaps */
    char prev[65];           /* SHA-256 hex of commit seq-1's bytes; "" for seq 1 */
    pqf_commit_kind kind;
    int schema_version;      /* >= 1 */
    char *wm_column;         /* watermark column; NULL for none */
    char *wm_from, *wm_to;   /* watermark range of the rows (text, as in the source) */
    int64_t created_ms;      /* Unix ms */
    char *producer;
    char source_blake3[65];  /* BLAKE3 (hex) of the export's input and settings; "" if unknown */
    uint64_t rows, bytes;    /* sums over files */
    pqf_commit_file *files;
    size_t nfiles;
    /* Filled when read from a store (pqf_feed_read_commit / decode): */
    char hash[65];           /* SHA-256 hex of the object's bytes */
} pqf_commit;

/* A new empty commit (all zero, strings NULL). NULL on OOM. */
pqf_commit *pqf_commit_new(void);
/* Add a file (strings copied); updates rows and bytes. */
pqf_err pqf_commit_add_file(pqf_commit *c, const char *key, uint64_t bytes, uint64_t rows,
                            const char *sha256, const char *crc32c, pqf_error *err);
void pqf_commit_free(pqf_commit *c);

/* Canonical JSON of a commit (fixed key order, compact, trailing newline);
 * *out malloc'd. The bytes are what the hash chain hashes. */
pqf_err pqf_commit_encode(const pqf_commit *c, char **out, size_t *len, pqf_error *err);
/* Parse and validate a commit object (every field's type and range); name
 * appears in errors. Fills c->hash from the bytes. */
pqf_err pqf_commit_decode(const char *text, size_t len, const char *name, pqf_commit **out,
                          pqf_error *err);

typedef struct pqf_feed pqf_feed;

pqf_err pqf_feed_open(pqf_store *store, pqf_feed **out, pqf_error *err);
void pqf_feed_free(pqf_feed *f);
pqf_store *pqf_feed_store(const pqf_feed *f);

/* True if name is a valid table name. */
bool pqf_table_name_ok(const char *name);

/* Tables of the feed (from the store's top-level prefixes that hold a _log),
 * sorted. *names is a malloc'd array of malloc'd strings; free with
 * pqf_strv_free. */
pqf_err pqf_feed_tables(pqf_feed *f, char ***names, size_t *n, pqf_error *err);
void pqf_strv_free(char **v, size_t n);

/* List table in _feed.json (created if missing), with conditional puts so
 * concurrent exporters of other tables keep their entries. */
pqf_err pqf_feed_register_table(pqf_feed *f, const char *table, pqf_error *err);

/* Highest seq in table's log (0 when the table has none). Gaps in the log
 * (seq k missing while k+1 exists) are PQF_ERR_CORRUPT. */
pqf_err pqf_feed_head(pqf_feed *f, const char *table, uint64_t *seq, pqf_error *err);
/* Read and decode commit seq of table (PQF_ERR_NOT_FOUND if absent). The
 * decoded table and seq must match the object's name (else PQF_ERR_CORRUPT). */
pqf_err pqf_feed_read_commit(pqf_feed *f, const char *table, uint64_t seq, pqf_commit **out,
                             pqf_error *err);
/* Write commit c as table/_log/<seq>.json with put-if-absent. If the object
 * exists with exactly these bytes, that is success (a rerun); with other bytes,
 * PQF_ERR_CONFLICT naming the seq. */
pqf_err pqf_feed_publish(pqf_feed *f, const pqf_commit *c, pqf_error *err);

/* Key of a commit object / data file (written into buf; returns buf). */
char *pqf_feed_log_key(const char *table, uint64_t seq, char *buf, size_t cap);
/* tag: 8 hex digits of the export's input digest, so that a rerun with the
 * same input writes the same names (and bytes), and one with other input
 * (a crashed run's orphans, a racing producer) other names. */
char *pqf_feed_data_key(const char *table, uint64_t seq, unsigned part, int64_t as_of_ms,
                        const char *tag, char *buf, size_t cap);

/* ---- verification -------------------------------------------------------------- */

typedef enum pqf_problem_kind {
    PQF_PROBLEM_CHAIN = 1,     /* prev does not match the previous commit's hash */
    PQF_PROBLEM_GAP = 2,       /* a seq is missing */
    PQF_PROBLEM_MISSING = 3,   /* a named file does not exist */
    PQF_PROBLEM_SIZE = 4,      /* a named file has the wrong size */
    PQF_PROBLEM_CHECKSUM = 5,  /* a named file's bytes do not hash to its sha256 (deep only) */
    PQF_PROBLEM_INVALID = 6    /* a commit object does not parse or contradicts its name */
} pqf_problem_kind;

typedef struct pqf_problem {
    pqf_problem_kind kind;
    const char *table;
    uint64_t seq;
    const char *key; /* the object at fault */
    const char *detail;
} pqf_problem;

typedef void (*pqf_problem_cb)(void *ud, const pqf_problem *p);
/* Called for every commit read (in seq order), problems or not. */
typedef void (*pqf_commit_cb)(void *ud, const pqf_commit *c);

typedef struct pqf_verify_opts {
    bool deep;              /* read every file back and check its SHA-256 */
    pqf_commit_cb on_commit;
    pqf_problem_cb on_problem;
    void *ud;
} pqf_verify_opts;

/* Walk table's log from seq 1: chain, gaps, files present with their sizes
 * (and checksums if deep). *problems counts what was found; returns PQF_OK
 * when the walk itself worked (problems or not). */
pqf_err pqf_feed_verify(pqf_feed *f, const char *table, const pqf_verify_opts *opts,
                        uint64_t *problems, pqf_error *err);

/* ---- garbage collection ---------------------------------------------------------- */

typedef struct pqf_gc_opts {
    int64_t grace_ms;  /* only objects older than this are removed (default 24 h when 0) */
    bool dry_run;      /* report, delete nothing */
    /* Called for each orphan found (removed unless dry_run). */
    void (*on_orphan)(void *ud, const char *key, uint64_t size, int64_t age_ms);
    void *ud;
} pqf_gc_opts;

typedef struct pqf_gc_result {
    uint64_t named;    /* data files named by commits */
    uint64_t orphans;  /* data files named by none, old enough */
    uint64_t young;    /* orphans younger than the grace period (kept) */
    uint64_t bytes;    /* bytes of the old orphans */
    uint64_t deleted;
    uint64_t uploads;         /* unfinished uploads older than the grace period */
    uint64_t uploads_aborted;
} pqf_gc_result;

/* Remove the table's data files that no commit names (failed or racing
 * exports) and its unfinished uploads (S3 multipart uploads; a killed
 * writer's temporaries on local stores), when older than the grace period.
 * A data file a commit names is never touched. */
pqf_err pqf_feed_gc(pqf_feed *f, const char *table, const pqf_gc_opts *opts, pqf_gc_result *res,
                    pqf_error *err);

#ifdef __cplusplus
}
#endif
#endif
