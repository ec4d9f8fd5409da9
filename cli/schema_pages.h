/* pqfeed schema infer (API pages -> a proposed schema and mapping) and the
 * API-page side of schema check (pages exported through a mapping into a
 * temporary local feed, then checked like any feed). Public API only. */
#ifndef PQF_CLI_SCHEMA_PAGES_H
#define PQF_CLI_SCHEMA_PAGES_H

#include <stdbool.h>

/* pqfeed schema infer PAGES... (argv[0] = "infer"). */
int pqf_cmd_schema_infer(int argc, char **argv);

/* Export pages as one snapshot commit of `table` into a new temporary local
 * feed (mkdtemp under $TMPDIR): through the mapping when given, with the
 * schema file when given, else with a schema inferred from the (mapped)
 * pages; key (comma-separated columns, or NULL) is registered as the
 * table's key, as export --key would. On success *dir is the feed's directory (malloc'd; remove with
 * pqf_cli_pages_remove) and 0 is returned; on failure the error is printed
 * and its exit code returned. */
int pqf_cli_pages_feed(const char *table, const char *key, char *const *pages, int npages,
                       const char *schema_path, const char *mapping_path, char **dir);
/* Remove the temporary feed directory and free dir (NULL ok). */
void pqf_cli_pages_remove(char *dir);

#endif
