/* pqfeed — apply: a feed's commits applied to a sink, in order, exactly once.
 *
 *   pqf_sink *sink; pqf_sink_open("sqlite:/var/lib/app.db", &sink, &err);
 *   pqf_apply_opts o; pqf_apply_opts_init(&o);
 *   pqf_apply_result res;
 *   pqf_apply(feed, sink, &o, &res, &err);
 *
 * Sinks: SQLite ("sqlite:PATH", or a path ending in .db, .sqlite or
 * .sqlite3) and PostgreSQL ("postgres://..." / "postgresql://..." libpq URIs,
 * or "postgres:" followed by a key=value conninfo), and a Parquet snapshot
 * in a store ("parquet:" followed by a store URL: each table's current state
 * as Parquet files, published with the checkpoint by a manifest written
 * last; see docs/CLI.md). A sink's tables are created from the feed's schema
 * with the closest native types; a later schema version's new (nullable)
 * columns are added with ALTER TABLE, widened ones retyped.
 * Top-level STRUCT and LIST columns are stored as JSON (text in SQLite,
 * jsonb in PostgreSQL).
 *
 * For each table, commit N is applied only after N-1, in one sink
 * transaction that also writes the checkpoint (_pqfeed_checkpoint: table,
 * seq, commit hash, applied_at), so a crash at any point followed by a rerun
 * applies every commit exactly once. A snapshot commit replaces the table's
 * rows; a changes commit upserts I/U rows and deletes D rows by key, the
 * latest _seq per key winning.
 *
 * The gate, before commit N enters the sink: the hash chain holds (N's prev
 * is the SHA-256 of N-1's object; the sink's last checkpoint hash equals the
 * feed's commit at that seq, else the feed was rewritten), every file is
 * present with its size, and its SHA-256 (computed from the very bytes that
 * are then parsed) matches; with a contract, the commit keeps it. A missing or short file, or a missing commit
 * object below the log's head, is late: the engine waits with exponential
 * backoff up to max_delay_ms and then stops (PQF_APPLY_LATE). A file whose
 * bytes hash wrong is recorded in _pqfeed_quarantine, nothing of its commit
 * enters the sink, and it too is waited for (a replica may still replace it)
 * before stopping with PQF_APPLY_CORRUPT.
 *
 * Ownership: a sink is created by pqf_sink_open() and freed by
 * pqf_sink_free(); pqf_apply borrows the feed and the sink.
 */
#ifndef PQFEED_APPLY_H
#define PQFEED_APPLY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/feed.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pqf_sink pqf_sink;

/* Open (and for SQLite create) the sink named by uri; creates the
 * bookkeeping tables. Secrets in a conninfo never appear in messages. */
pqf_err pqf_sink_open(const char *uri, pqf_sink **out, pqf_error *err);
/* Open the sink named by uri only to read its checkpoints (pqf_apply_status):
 * nothing is created or written. A SQLite file that does not exist is
 * PQF_ERR_NOT_FOUND naming it; a sink without the bookkeeping tables has
 * nothing applied. pqf_apply refuses such a sink (PQF_ERR_INVALID_ARG). */
pqf_err pqf_sink_open_readonly(const char *uri, pqf_sink **out, pqf_error *err);
void pqf_sink_free(pqf_sink *s); /* NULL is fine */
/* "sqlite", "postgres" or "parquet". */
const char *pqf_sink_kind(const pqf_sink *s);
/* The sink for messages: a path, or host and database (no password). */
const char *pqf_sink_name(const pqf_sink *s);

/* Why pqf_apply stopped. */
typedef enum pqf_apply_stop {
    PQF_APPLY_DONE = 0,       /* every commit up to the head (or until_seq) applied */
    PQF_APPLY_LATE = 1,       /* a file or commit object still missing after max_delay */
    PQF_APPLY_CORRUPT = 2,    /* a file present with a wrong checksum after max_delay */
    PQF_APPLY_CHAIN = 3,      /* the hash chain is broken or the feed was rewritten */
    PQF_APPLY_INTERRUPTED = 4, /* *stop was set: stopped cleanly between commits */
    PQF_APPLY_CONTRACT = 5     /* the next commit breaks opts.contract: not applied */
} pqf_apply_stop;

typedef enum pqf_apply_event_kind {
    PQF_APPLY_EV_APPLIED = 1,     /* commit applied: table, seq, rows */
    PQF_APPLY_EV_WAITING = 2,     /* waiting for key: detail says why, wait_ms how long */
    PQF_APPLY_EV_QUARANTINED = 3, /* key of seq hashed wrong: recorded in _pqfeed_quarantine */
} pqf_apply_event_kind;

/* Strings are valid during the callback only. */
typedef struct pqf_apply_event {
    pqf_apply_event_kind kind;
    const char *table;
    uint64_t seq;
    const char *key;    /* the object waited for or quarantined; NULL otherwise */
    const char *detail; /* human-readable */
    uint64_t rows;      /* APPLIED: rows read from the commit's files */
    int64_t wait_ms;    /* WAITING: the delay before the next look */
} pqf_apply_event;

typedef struct pqf_apply_opts {
    const char *const *tables; /* NULL: every table of the feed */
    size_t ntables;
    uint64_t until_seq;          /* 0: up to the head */
    int64_t max_delay_ms;        /* how long a late file is waited for (default 30 min) */
    int64_t backoff_ms;          /* first wait; doubles up to 30 s (default 200 ms) */
    bool watch;                  /* follow the feed: poll for new commits until *stop */
    int64_t poll_ms;             /* watch: pause between looks (default 10 s) */
    uint64_t max_file_bytes;     /* largest data file read (into memory; default 1 GiB) */
    volatile sig_atomic_t *stop; /* set (e.g. from a signal handler) to stop between commits */
    /* A schema contract (contract.h), or NULL: a commit whose schema, key or
     * values break it is not applied; the run stops before it
     * (PQF_APPLY_CONTRACT, PQF_ERR_CONTRACT), the sink untouched. */
    const struct pqf_contract *contract;
    void (*on_event)(void *ud, const pqf_apply_event *ev);
    void *ud;
} pqf_apply_opts;

void pqf_apply_opts_init(pqf_apply_opts *o);

typedef struct pqf_apply_result {
    pqf_apply_stop stop;
    uint64_t commits; /* applied by this call */
    uint64_t rows;
    /* Where it stopped (LATE, CORRUPT, CHAIN): */
    char table[PQF_TABLE_NAME_MAX + 1];
    uint64_t seq;
    char key[1024]; /* the file or commit object at fault */
} pqf_apply_result;

/* Apply every table's commits after its checkpoint. Returns PQF_OK when the
 * run ended as res->stop says (LATE, CORRUPT and CHAIN also fill err with a
 * message naming the commit and the file, code PQF_ERR_TIMEOUT,
 * PQF_ERR_CHECKSUM or PQF_ERR_CORRUPT); other codes are failures of the
 * store, the sink or the data (the commit being applied is rolled back). */
pqf_err pqf_apply(pqf_feed *f, pqf_sink *s, const pqf_apply_opts *o, pqf_apply_result *res,
                  pqf_error *err);

/* ---- status ---------------------------------------------------------------- */

typedef struct pqf_apply_table_status {
    const char *table;
    uint64_t applied_seq;       /* 0: nothing applied */
    uint64_t head_seq;          /* the feed's highest seq */
    int64_t applied_created_ms; /* created_at of the last applied commit (0: none) */
    int64_t head_created_ms;    /* created_at of the head commit (0: none) */
    const char *applied_at;     /* when the sink applied it (ISO 8601), "" if none */
    /* NULL when nothing waits; else what commit applied_seq+1 waits for
     * ("issues/data/...parquet: missing", "ready"). */
    const char *waiting_for;
} pqf_apply_table_status;

typedef void (*pqf_apply_status_cb)(void *ud, const pqf_apply_table_status *st);

/* Per table (tables NULL: every table of the feed) the applied seq against
 * the feed's head, the commits' created_at and what the next commit waits for
 * (files checked by presence and size, not read). */
pqf_err pqf_apply_status(pqf_feed *f, pqf_sink *s, const char *const *tables, size_t ntables,
                         pqf_apply_status_cb cb, void *ud, pqf_error *err);

#ifdef __cplusplus
}
#endif
#endif
