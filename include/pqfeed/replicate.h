/* pqfeed — replication: a feed copied from a primary store to replica stores
 * so that every replica is always a valid prefix of the primary.
 *
 *   pqf_replicate_opts o; pqf_replicate_opts_init(&o);
 *   o.state_path = ".pqfeed-replicate.db";
 *   pqf_replicate(primary, replicas, nreplicas, &o, &res, &err);
 *
 * Per replica and table: the replica's published position is its own log's
 * head (the commit objects are the truth; the state file remembers progress
 * and statistics). From there the primary's commits are read in order; the
 * data files of the next commits (up to `lookahead` of them) are copied by a
 * pool of `concurrency` threads, ahead of publication and in parallel, within
 * `max_inflight_bytes` of transfer memory. Commit N's object -- the primary's
 * exact bytes, so the hash chain holds -- is written at the replica
 * (put-if-absent) only after every file it names was copied and verified
 * (size, and the commit's SHA-256), its schema version is present, and N-1 is
 * published. A file that cannot be copied after max_attempts (or at once when
 * the failure cannot heal: the source is missing, has the wrong size or the
 * wrong SHA-256) stops that table before the commit naming it; the other
 * tables go on, and the first such failure is returned.
 *
 * Verification: streamed copies hash the bytes as they pass and the object
 * becomes visible at the replica only when size and SHA-256 match, so a
 * corrupted source object never lands under its key. Server-side copies
 * (server_copy, both ends S3) are checked by HEAD size and, when the server
 * returns one, its SHA-256 checksum; PQF_VERIFY_FULL additionally reads every
 * copied object back from the replica and hashes it (recommended with
 * server-side copies, where the bytes do not pass through pqfeed).
 *
 * State (SQLite, WAL mode, one file; see pqf_replicate_opts.state_path): per
 * (primary, replica, table) the published seq and counters; per object its
 * state (copying, verified, failed), attempts, bytes, cause and last error. An
 * object is recorded "copying" before its transfer starts; after a kill -9 the
 * rerun finds such an object at the replica, and if it has the commit's size
 * and SHA-256 (read back) adopts it instead of copying it again; when it is
 * not there but an unfinished multipart upload of it is (S3), that upload is
 * continued from its ListParts (the source is read again, for the SHA-256;
 * parts already stored are not sent again). An object recorded verified is
 * checked by HEAD (size) and not copied again.
 *
 * Ownership: stores are the caller's and must outlive the call. Strings in
 * events and status rows are valid only during the callback.
 */
#ifndef PQFEED_REPLICATE_H
#define PQFEED_REPLICATE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqf_verify_mode {
    PQF_VERIFY_SIZE = 0, /* size (+ SHA-256 of streamed bytes, + server checksum if any) */
    PQF_VERIFY_FULL = 1  /* also read each copied object back and hash it */
} pqf_verify_mode;

/* Where replication spends its time (for "which stage is the bottleneck"). */
typedef enum pqf_repl_stage {
    PQF_STAGE_LISTING = 0, /* listing logs, reading commit objects, HEADs */
    PQF_STAGE_READ = 1,    /* reading source objects */
    PQF_STAGE_WRITE = 2,   /* writing target objects (server-side copies count here) */
    PQF_STAGE_VERIFY = 3,  /* reading back and hashing */
    PQF_STAGE__COUNT
} pqf_repl_stage;

/* "listing", "reading source", "writing target", "verifying". */
const char *pqf_repl_stage_name(pqf_repl_stage s);

typedef enum pqf_repl_event_kind {
    PQF_REPL_PUBLISHED = 1, /* commit seq published at replica */
    PQF_REPL_RETRY = 2,     /* an object failed and will be tried again */
    PQF_REPL_FAILED = 3,    /* an object failed for good: its commit is not published */
    PQF_REPL_TABLE_DONE = 4, /* a (replica, table) pass ended; seq = published position */
    PQF_REPL_WINDOW_WAIT = 5 /* copying waits for the window, which opens at opens_ms */
} pqf_repl_event_kind;

typedef struct pqf_repl_event {
    pqf_repl_event_kind kind;
    const char *replica; /* store URI */
    const char *table;
    uint64_t seq;
    const char *key;     /* RETRY, FAILED: the object */
    const char *cause;   /* RETRY, FAILED: see pqf_replicate_opts (causes) */
    const char *message; /* RETRY, FAILED: the error's sentence */
    unsigned attempts;
    uint64_t files, bytes; /* PUBLISHED: of the commit */
    int64_t lag_ms;        /* PUBLISHED: commit created_at to published */
    uint64_t head;         /* TABLE_DONE: the primary's head */
    int64_t opens_ms;      /* WINDOW_WAIT: when the window opens (Unix ms) */
} pqf_repl_event;

typedef void (*pqf_repl_event_cb)(void *ud, const pqf_repl_event *ev);

/* Failure causes recorded per object and counted per table:
 *   "missing-at-source"  the commit names a file the primary does not have
 *   "size"               the source's size differs from the commit's
 *   "checksum"           the source's (or the copy's) SHA-256 differs from the commit's
 *   "read-source"        reading the source failed (network, server, I/O)
 *   "write-target"       writing the replica failed
 *   "verify"             reading back the replica failed
 *   "schema"             the commit's schema version is missing or conflicts
 *   "conflict"           the replica holds other bytes under a commit's key
 */

/* A daily time window, minutes after local midnight. start > end wraps past
 * midnight ("22:00-06:00"); start == end is the whole day. */
typedef struct pqf_repl_window {
    bool enabled;
    unsigned start_min, end_min; /* 0..1439 */
} pqf_repl_window;

/* Parse "HH:MM-HH:MM" (24-hour clock, local time) into *w. PQF_ERR_INVALID_ARG
 * with a sentence naming the text when it is not one. */
pqf_err pqf_repl_window_parse(const char *text, pqf_repl_window *w, pqf_error *err);

/* Milliseconds from now_ms (Unix ms) until the window opens, in the process's
 * local time zone (TZ); 0 when now_ms is inside it or the window is not
 * enabled. */
int64_t pqf_repl_window_wait_ms(const pqf_repl_window *w, int64_t now_ms);

/* The largest pqf_replicate_opts.lookahead (the CLI refuses more). */
#define PQF_REPL_LOOKAHEAD_MAX 1024

typedef struct pqf_replicate_opts {
    const char *state_path;    /* SQLite state file (required) */
    const char *const *tables; /* only these tables; NULL: every table of the primary */
    size_t ntables;
    unsigned concurrency;        /* copy threads; 0: 8 */
    uint64_t max_inflight_bytes; /* transfer memory budget; 0: 80 MiB */
    /* Memory one streamed transfer of a large object holds (buffers, parts in
     * flight); an object of B bytes reserves min(2 B + 64 KiB, this) of the
     * budget per replica it is written to, a server-side copy 256 KiB.
     * 0: 2 MiB. The CLI passes (2 x store concurrency + 1) x part size when
     * a store is S3. pqf_replicate sets glibc's M_MMAP_THRESHOLD to 1 MiB
     * (once per process), so freed part buffers go back to the system and
     * the budget bounds what is resident. */
    uint64_t transfer_bytes;
    unsigned lookahead; /* commits whose files may be in flight; 0: 32; at most
                           PQF_REPL_LOOKAHEAD_MAX (larger values are taken as it) */
    pqf_verify_mode verify;
    /* Both stores S3: use pqf_store_copy (server-side when the endpoint and
     * credentials are the same). Otherwise bytes are streamed and hashed. */
    bool server_copy;
    unsigned max_attempts;  /* per object, first included; 0: 4 */
    unsigned retry_base_ms; /* backoff base (full jitter, x2 per attempt, cap 10 s); 0: 200 */
    /* Bandwidth limit over all transfers of the run, bytes per second (one
     * token bucket shared by every worker); 0: none. Streamed copies are paced
     * as their bytes pass; a server-side copy takes its object's size from
     * the bucket before it starts. Reading copies back to verify them is not
     * counted. */
    uint64_t bwlimit;
    /* Bulk copying only inside this daily window (local time); outside it no
     * new transfer starts (those in flight finish), commits whose files are
     * all there are still published, and the run waits for the window to
     * open (status says so), or for opts.stop. window.enabled false: always. */
    pqf_repl_window window;
    /* Run only the tables of shard shard_index of shard_count (0 <= index <
     * count): a table belongs to shard FNV-1a(name) mod count, so independent
     * workers given 0/n .. n-1/n cover every table exactly once. Each worker
     * needs a state file of its own. shard_count 0 or 1: every table. */
    unsigned shard_index, shard_count;
    /* Versioned buckets (both stores S3, the replica's bucket versioned, else
     * PQF_ERR_UNSUPPORTED before anything is copied): before a table's
     * commits, every version and delete marker of its objects (all but its
     * commit objects, which are immutable and published in order as always)
     * and of _feed.json is replayed at the replica, oldest first per key, and
     * the source -> replica version ids are recorded in the state file
     * (table versions). A rerun replays only versions newer than the newest
     * already replicated. The commit path then finds each current file at the
     * replica and checks it by SHA-256 (read back) instead of copying it. */
    bool versions;
    /* Set (e.g. from a signal handler) to stop: no new transfer starts, the
     * ones in flight finish, complete commits are published, then return. */
    const volatile sig_atomic_t *stop;
    pqf_repl_event_cb on_event;
    void *ud;
} pqf_replicate_opts;

void pqf_replicate_opts_init(pqf_replicate_opts *o);

typedef struct pqf_replicate_result {
    uint64_t published;       /* commits published, all replicas and tables */
    uint64_t objects_copied;  /* data files transferred */
    uint64_t objects_skipped; /* already at the replica (verified or adopted) */
    uint64_t bytes_copied;
    uint64_t retries;
    uint64_t failed;        /* objects that failed for good */
    uint64_t tables_failed; /* (replica, table) passes that stopped on a failure */
    bool stopped;           /* opts.stop was set */
    /* Copies that continued a multipart upload an earlier run left unfinished
     * (kill -9 mid-upload): only the parts missing at the replica were sent. */
    uint64_t uploads_resumed;
    /* versions: versions put at the replica, delete markers created, and
     * versions found there already (mapped, not copied) */
    uint64_t versions_copied, delete_markers, versions_adopted;
    /* Server-side copies: listings of the source for ETags (one per up to
     * 1,000 files), and copies checked by a HEAD because the CopyObject
     * answer's ETag could not vouch for them (not listed, or another ETag). */
    uint64_t source_listings, copy_heads;
} pqf_replicate_result;

/* One pass: bring every replica up to the primary's current heads. Returns
 * PQF_OK when every (replica, table) reached the head (or was stopped);
 * otherwise the first failure, whose message names replica, table, seq and
 * object: PQF_ERR_CHECKSUM (a source object's SHA-256 differs from its
 * commit), PQF_ERR_NOT_FOUND (a commit names a file the primary lacks),
 * PQF_ERR_CORRUPT (wrong size, or the primary's own log is broken),
 * PQF_ERR_CONFLICT (the replica diverged: it holds another commit under a
 * seq), or the transport's error after retries. res may be NULL. */
pqf_err pqf_replicate(pqf_store *primary, pqf_store *const *replicas, size_t nreplicas,
                      const pqf_replicate_opts *opts, pqf_replicate_result *res, pqf_error *err);

/* ---- status -------------------------------------------------------------------- */

typedef struct pqf_repl_cause_count {
    const char *cause;
    uint64_t count;
} pqf_repl_cause_count;

typedef struct pqf_repl_status {
    const char *replica, *table;
    uint64_t published;       /* the replica's head */
    uint64_t head;            /* the primary's head */
    uint64_t pending_commits; /* head - published */
    uint64_t pending_objects; /* files of pending commits not yet verified at the replica */
    uint64_t pending_bytes;
    uint64_t ready_objects;    /* files of pending commits already verified (copied ahead) */
    int64_t lag_ms;            /* last published commit: created_at to published (-1: unknown) */
    int64_t oldest_pending_ms; /* age of the oldest unpublished commit (0: none) */
    uint64_t objects_copied, bytes_copied, retries, failed_objects;
    pqf_repl_cause_count causes[8]; /* failures by cause (retries included) */
    size_t ncauses;
    uint64_t stage_ms[PQF_STAGE__COUNT];
    pqf_repl_stage bottleneck; /* the stage with the most time */
    const char *last_error;    /* "" when none */
    /* > 0: a run is waiting for the --window, which opens at this time (Unix
     * ms); bulk copying is paused until then. */
    int64_t window_opens_ms;
} pqf_repl_status;

typedef void (*pqf_repl_status_cb)(void *ud, const pqf_repl_status *st);

/* One row per replica and table (opts: state_path, tables). Reads the live
 * heads of both sides, the pending commits' file lists and the state file
 * (which may not exist yet: counters are then zero). */
pqf_err pqf_replicate_status(pqf_store *primary, pqf_store *const *replicas, size_t nreplicas,
                             const pqf_replicate_opts *opts, pqf_repl_status_cb cb, void *ud,
                             pqf_error *err);

/* ---- audit ---------------------------------------------------------------------- */

typedef enum pqf_audit_kind {
    PQF_AUDIT_CHAIN = 1,    /* replica's hash chain broken */
    PQF_AUDIT_GAP = 2,      /* replica misses a seq below its head */
    PQF_AUDIT_MISSING = 3,  /* a file of a published commit is missing at the replica */
    PQF_AUDIT_SIZE = 4,     /* ... has the wrong size */
    PQF_AUDIT_CHECKSUM = 5, /* ... has the wrong SHA-256 (deep) */
    PQF_AUDIT_INVALID = 6,  /* a replica commit object does not parse */
    PQF_AUDIT_DIVERGED = 7, /* replica's commit seq differs from the primary's */
    PQF_AUDIT_AHEAD = 8,    /* replica has a commit the primary does not */
    PQF_AUDIT_SCHEMA = 9    /* a published commit's schema version is missing or differs */
} pqf_audit_kind;

typedef struct pqf_audit_problem {
    pqf_audit_kind kind;
    const char *table;
    uint64_t seq;
    const char *key;
    const char *detail;
} pqf_audit_problem;

typedef struct pqf_audit_table {
    const char *table;
    uint64_t primary_head, replica_head;
    uint64_t problems;
} pqf_audit_table;

typedef struct pqf_audit_opts {
    bool deep;                 /* hash every replica file */
    const char *const *tables; /* NULL: the union of both sides' tables */
    size_t ntables;
    void (*on_problem)(void *ud, const pqf_audit_problem *p);
    void (*on_table)(void *ud, const pqf_audit_table *t);
    void *ud;
} pqf_audit_opts;

/* Audit a replica against its primary: the replica's own log (pqf_feed_verify:
 * chain, gaps, files and sizes, checksums if deep), each replica commit equal
 * (same object bytes) to the primary's commit of that seq, no replica commit
 * beyond the primary's head, schema versions present and equal. A replica
 * behind the primary is not a problem (it is a prefix). *problems counts
 * differences; PQF_OK when the audit ran, whatever it found. */
pqf_err pqf_replica_audit(pqf_store *primary, pqf_store *replica, const pqf_audit_opts *opts,
                          uint64_t *problems, pqf_error *err);

#ifdef __cplusplus
}
#endif
#endif
