/* pqfeed presign: a presigned URL (SigV4 query authentication) for one
 * object, as `aws s3 presign` prints it; --method PUT for an upload URL. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store_cli.h"

int pqf_cmd_presign(int argc, char **argv)
{
    pqf_cli_store_args a = {0};
    const char *uri = NULL, *method = "GET";
    unsigned long long expires = 3600;
    for (int i = 1; i < argc; i++) {
        int r = pqf_cli_store_arg("presign", argc, argv, &i, &a);
        if (r < 0)
            return PQF_EXIT_USAGE;
        if (r)
            continue;
        const char *o = argv[i];
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            printf(
                "usage: pqfeed presign [--expires-in SECONDS] [--method GET|PUT] "
                "s3://BUCKET/KEY\n\n"
                "Prints a URL that lets anyone holding it GET (or PUT) that one object until it\n"
                "expires (default 3600 s, at most 604800 = 7 days), signed with the resolved\n"
                "credentials. No request is made. A URL signed with temporary credentials ends\n"
                "with them.\n\n");
            pqf_cli_store_help(stdout);
            return 0;
        } else if (strcmp(o, "--expires-in") == 0 && i + 1 < argc) {
            if (pqf_cli_parse_u64(argv[++i], &expires) != 0 || expires < 1 || expires > 604800)
                return pqf_cli_usage("presign", "--expires-in is 1..604800 seconds");
        } else if (strcmp(o, "--method") == 0 && i + 1 < argc) {
            method = argv[++i];
            if (strcmp(method, "GET") != 0 && strcmp(method, "PUT") != 0)
                return pqf_cli_usage("presign", "--method is GET or PUT");
        } else if (o[0] == '-') {
            return pqf_cli_usage("presign", "unknown option %s (or a missing value)", o);
        } else if (!uri) {
            uri = o;
        } else {
            return pqf_cli_usage("presign", "one URI only");
        }
    }
    if (!uri || !pqf_cli_is_s3(uri))
        return pqf_cli_usage("presign", "which s3://bucket/key?");
    pqf_error err = {0};
    pqf_store *st = NULL;
    char *key = NULL, *url = NULL;
    int rc = 0;
    if (pqf_cli_target(uri, &a, &st, &key, &err) != PQF_OK ||
        pqf_store_presign(st, method, key, (unsigned)expires, &url, &err) != PQF_OK) {
        rc = pqf_cli_fail(&err);
        goto done;
    }
    printf("%s\n", url);
done:
    free(url);
    free(key);
    pqf_store_free(st);
    return rc;
}
