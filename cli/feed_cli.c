#include "feed_cli.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

int pqf_cli_open_feed(const char *uri, const pqf_cli_store_args *a, pqf_store **store,
                      pqf_feed **feed)
{
    pqf_error err = {0};
    *store = NULL;
    *feed = NULL;
    if (pqf_store_open(uri, &a->opt, store, &err) == PQF_OK &&
        pqf_feed_open(*store, feed, &err) == PQF_OK)
        return 0;
    pqf_store_free(*store);
    *store = NULL;
    return pqf_cli_fail(&err);
}

int pqf_cli_feed_tables(const char *cmd, pqf_feed *feed, const char *table, char ***tables,
                        size_t *n)
{
    pqf_error err = {0};
    *tables = NULL;
    *n = 0;
    if (!table) {
        if (pqf_feed_tables(feed, tables, n, &err) != PQF_OK)
            return pqf_cli_fail(&err);
        return 0;
    }
    if (!pqf_table_name_ok(table))
        return pqf_cli_usage(cmd, "'%s' is not a valid table name", table);
    *tables = calloc(1, sizeof **tables);
    if (!*tables || !((*tables)[0] = strdup(table))) {
        free(*tables);
        *tables = NULL;
        pqf_error_set(&err, PQF_ERR_NOMEM, "out of memory");
        return pqf_cli_fail(&err);
    }
    *n = 1;
    return 0;
}
