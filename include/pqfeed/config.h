/* pqfeed — the pipeline config file (YAML, parsed with libyaml).
 *
 *   primary: ./feed                  # store of the feed (path, file://, s3://)
 *   replicas: [./dr]                 # stores the feed is replicated to
 *   sink: sqlite:./warehouse.db      # where the consumer applies it
 *   schedule: hourly                 # hint: hourly (default) | every N minutes ("15m")
 *   window: "22:00-06:00"            # optional; checked, not used by run yet
 *   contract: ./contract.yaml        # optional schema contract export and apply enforce
 *   tables:
 *     issues:
 *       source: {format: ndjson, path: ./pages/issues}   # file or folder; csv|ndjson
 *       # or {format: postgres, conninfo: "host=... dbname=...", table: public.t}
 *       # or {format: sqlite, path: ./app.db, table: t}       (query: "SELECT ..." for either)
 *       schema: ./issues.schema.json # or infer_rows: 1000
 *       mapping: ./issues.mapping.yaml # optional: API fields -> columns (docs/MAPPING.md)
 *       key: [id]
 *       mode: changes                # snapshot (default) | changes
 *       watermark: updated_at
 *       delete_column: deleted
 *       created_column: created_at
 *       overlap: 10m                 # changes: re-read window, de-duplicated by key
 *       target_file_size: 128M
 *       codec: zstd                  # and level, row_group_size, page_size, page_version
 *
 * Relative paths are relative to the config file's folder. Every error names
 * the file, line and key ("pipeline.yaml:7: tables.issues.mode: expected
 * snapshot or changes"); an unknown key is an error (it catches typos).
 * Ownership: a pqf_config owns all its strings; free with pqf_config_free.
 */
#ifndef PQFEED_CONFIG_H
#define PQFEED_CONFIG_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/feed.h"
#include "pqfeed/source.h"
#include "pqfeed/writer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pqf_config_table {
    char *name;
    pqf_format format;      /* CSV or NDJSON */
    char *path;             /* input file or folder (resolved) */
    char *schema_path;      /* resolved; NULL with infer_rows */
    char *mapping_path;     /* resolved mapping file (docs/MAPPING.md), or NULL */
    uint64_t infer_rows;
    char *key;              /* comma-separated */
    pqf_commit_kind mode;
    char *watermark, *delete_column, *created_column;
    uint64_t target_file_bytes; /* 0: default */
    pqf_writer_opts writer; /* codec, level, sizes, page version from the file */
    unsigned line;          /* where the table is defined */
    /* the config's contract (borrowed from pqf_config.contract), or NULL;
     * pqf_config_export_table enforces it */
    const struct pqf_contract *contract;
    /* a database source (format postgres or sqlite): */
    char *db_driver;        /* "postgres" or "sqlite"; NULL: files */
    char *conninfo;         /* postgres: libpq conninfo or URI (sqlite: path holds the file) */
    char *db_table, *db_query; /* one of them */
    int64_t overlap_ms;     /* changes: the overlap window (0: none) */
    unsigned key_line;      /* where its key is given (0: no key) */
} pqf_config_table;

/* Replication settings of one replica entry (`replicas:` items written as
 * maps with `store:`); 0 / -1: not set, the run's defaults. */
typedef struct pqf_config_replica {
    unsigned concurrency;        /* objects copied at once */
    uint64_t part_size;          /* S3 part size of the transfers */
    uint64_t max_inflight_bytes; /* transfer memory budget */
    uint64_t bwlimit;            /* bytes per second */
    int verify;                  /* -1: not set; 0 size; 1 full */
    bool set;                    /* any setting given */
    unsigned line;
} pqf_config_replica;

typedef struct pqf_config {
    char *path;             /* the config file */
    char *primary;
    char **replicas;
    pqf_config_replica *replica_opts; /* one per replica */
    size_t nreplicas;
    char *sink;
    unsigned schedule_s;    /* seconds between cycles (3600 for hourly) */
    char *window;           /* "HH:MM-HH:MM" or NULL (checked only) */
    pqf_config_table *tables;
    size_t ntables;
    char *contract_path;            /* `contract:` (resolved), or NULL */
    struct pqf_contract *contract;  /* loaded from it (owned), or NULL */
} pqf_config;

/* A duration as configs and the command line spell it: a non-negative
 * number, a fraction allowed, and a unit: ms, s, m, h or d ("500ms", "20s",
 * "1.5h", "7d"); a bare number is seconds. false if s is not one, or is
 * past 10^15 ms. */
bool pqf_duration_parse(const char *s, int64_t *ms);

/* Parse the file at path (at most 4 MiB). */
pqf_err pqf_config_load(const char *path, pqf_config **out, pqf_error *err);
void pqf_config_free(pqf_config *c);
/* Check a table before exporting anything: its schema (loaded or inferred
 * as export would) has every key column, else PQF_ERR_SCHEMA naming the
 * file, line, key and column. */
pqf_err pqf_config_check_table(const pqf_config *c, const pqf_config_table *t, pqf_error *err);
/* The files a source path names: the path itself, or a folder's .csv,
 * .tsv, .ndjson, .jsonl and .json files in name order. *paths is a malloc'd
 * array of malloc'd strings (pqf_strv_free). */
pqf_err pqf_input_files(const char *path, char ***paths, size_t *n, pqf_error *err);

/* Export one table of a config as the next commit of feed f (as_of_ms 0:
 * now): its source files, schema (file or inferred), key, mode and writer
 * settings. */
struct pqf_export_result;
pqf_err pqf_config_export_table(pqf_feed *f, const pqf_config_table *t, int64_t as_of_ms,
                                struct pqf_export_result *res, pqf_error *err);

/* The table named name, or NULL. */
const pqf_config_table *pqf_config_table_find(const pqf_config *c, const char *name);

#ifdef __cplusplus
}
#endif
#endif
