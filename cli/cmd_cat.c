/* pqfeed cat: an object's bytes (or a range) to standard output. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store_cli.h"

int pqf_cmd_cat(int argc, char **argv)
{
    pqf_cli_store_args a = {0};
    const char *uri = NULL;
    unsigned long long off = 0, len = 0;
    for (int i = 1; i < argc; i++) {
        int r = pqf_cli_store_arg("cat", argc, argv, &i, &a);
        if (r < 0)
            return PQF_EXIT_USAGE;
        if (r)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: pqfeed cat [--offset N] [--length N] [--version-id V] URI\n\n");
            pqf_cli_store_help(stdout);
            return 0;
        } else if ((strcmp(argv[i], "--offset") == 0 || strcmp(argv[i], "--length") == 0) &&
                   i + 1 < argc) {
            if (pqf_cli_parse_size(argv[i + 1], argv[i][2] == 'o' ? &off : &len) != 0)
                return pqf_cli_usage("cat", "bad number '%s'", argv[i + 1]);
            i++;
        } else if (argv[i][0] == '-') {
            return pqf_cli_usage("cat", "unknown option %s", argv[i]);
        } else if (!uri) {
            uri = argv[i];
        } else {
            return pqf_cli_usage("cat", "one URI only");
        }
    }
    if (!uri)
        return pqf_cli_usage("cat", "which object?");
    pqf_error err = {0};
    pqf_store *st = NULL;
    pqf_ostream *out = NULL;
    char *key = NULL;
    int rc = 0;
    pqf_get_options g = {.version_id = a.version_id, .offset = off, .length = len};
    if (pqf_cli_target(uri, &a, &st, &key, &err) != PQF_OK ||
        pqf_ostream_file("-", &out, &err) != PQF_OK ||
        pqf_store_get_to(st, key, &g, out, NULL, &err) != PQF_OK) {
        rc = pqf_cli_fail(&err);
        goto done;
    }
    if (pqf_ostream_commit(out) != PQF_OK)
        rc = pqf_cli_fail(pqf_ostream_error(out));
done:
    pqf_ostream_free(out);
    free(key);
    pqf_store_free(st);
    return rc;
}
