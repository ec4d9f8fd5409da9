/* Shared by the feed commands (log, gc): opening a feed and resolving the
 * TABLE argument. Public API only. */
#ifndef PQF_CLI_FEED_CLI_H
#define PQF_CLI_FEED_CLI_H

#include <stddef.h>

#include "pqfeed/feed.h"
#include "store_cli.h"

/* Open the store at uri and a feed on it. On failure prints the error and
 * returns its exit code (*store and *feed NULL); 0 on success. */
int pqf_cli_open_feed(const char *uri, const pqf_cli_store_args *a, pqf_store **store,
                      pqf_feed **feed);
/* The tables to work on: just `table` when given (checked), else every table
 * of the feed. Free with pqf_strv_free. Prints the error and returns its exit
 * code on failure; 0 on success. */
int pqf_cli_feed_tables(const char *cmd, pqf_feed *feed, const char *table, char ***tables,
                        size_t *n);

#endif
