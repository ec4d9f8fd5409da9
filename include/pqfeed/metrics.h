/* pqfeed — Prometheus metrics of replication, served over HTTP while a
 * replication runs (pqfeed replicate --watch --metrics-addr HOST:PORT).
 *
 *   pqf_repl_metrics *m;
 *   pqf_repl_metrics_start("127.0.0.1:9464", primary, replicas, n, &opts, &m, &err);
 *   opts.on_event = pqf_repl_metrics_on_event; opts.ud = m;   (or call it from your own)
 *   ... pqf_replicate(...) ...
 *   pqf_repl_metrics_free(m);
 *
 * Two threads: an HTTP/1.1 server answering GET /metrics (text exposition
 * format 0.0.4; any other request 404, a malformed or oversized one 400/431;
 * one connection at a time, request head capped at 8 KiB and 5 s) from a
 * snapshot, and a refresher that, once a second, follows both sides' logs
 * incrementally (one HEAD per side and table when nothing changed, one read
 * per new commit) and the state file (objects already verified ahead of
 * publication). Engine events add the counters and the latency histogram.
 *
 * Series, labels {replica, table} (and {cause} for failures):
 *   pqf_replication_bytes_pending          gauge  bytes of data files of unpublished
 *                                                 commits not yet verified at the replica
 *   pqf_replication_operations_pending     gauge  those files (object copies to do)
 *   pqf_replication_commits_pending        gauge  head_seq - published_seq
 *   pqf_replication_published_seq          gauge  the replica's head
 *   pqf_replication_head_seq               gauge  the primary's head
 *   pqf_replication_oldest_pending_seconds gauge  age of the oldest unpublished commit
 *   pqf_replication_last_latency_seconds   gauge  last publication: commit created -> published
 *   pqf_replication_latency_seconds        histogram of the same, per publication
 *   pqf_replication_commits_published_total, pqf_replication_bytes_published_total
 *   pqf_replication_operations_failed_total{cause}  objects given up on
 *   pqf_replication_retries_total{cause}
 *   pqf_replication_refresh_errors_total (no labels)
 * Counters and the histogram count from the start of the process.
 *
 * Ownership: the stores and opts (state_path, tables) are the caller's and
 * must outlive the handle.
 */
#ifndef PQFEED_METRICS_H
#define PQFEED_METRICS_H

#include <stddef.h>

#include "pqfeed/error.h"
#include "pqfeed/replicate.h"
#include "pqfeed/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pqf_repl_metrics pqf_repl_metrics;

/* Bind addr ("HOST:PORT", "[V6]:PORT", ":PORT" or "PORT"; the default host is
 * 127.0.0.1; port 0 picks a free one) and start both threads. Errors:
 * PQF_ERR_INVALID_ARG (bad address), PQF_ERR_IO (bind/listen, naming the
 * address). */
pqf_err pqf_repl_metrics_start(const char *addr, pqf_store *primary, pqf_store *const *replicas,
                               size_t nreplicas, const pqf_replicate_opts *opts,
                               pqf_repl_metrics **out, pqf_error *err);

/* The bound address as HOST:PORT (valid until free). */
const char *pqf_repl_metrics_addr(const pqf_repl_metrics *m);

/* Feed one engine event (a pqf_repl_event_cb; ud is the handle). Thread-safe. */
void pqf_repl_metrics_on_event(void *ud, const pqf_repl_event *ev);

/* Refresh now (the refresher also does it every second). */
void pqf_repl_metrics_refresh(pqf_repl_metrics *m);

/* Stop the threads, close the socket, free. NULL is fine. */
void pqf_repl_metrics_free(pqf_repl_metrics *m);

#ifdef __cplusplus
}
#endif
#endif
