/* pqfeed stat: an object's metadata (HEAD). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store_cli.h"

int pqf_cmd_stat(int argc, char **argv)
{
    pqf_cli_store_args a = {0};
    const char *uri = NULL;
    for (int i = 1; i < argc; i++) {
        int r = pqf_cli_store_arg("stat", argc, argv, &i, &a);
        if (r < 0)
            return PQF_EXIT_USAGE;
        if (r)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: pqfeed stat [--json] [--version-id V] URI\n\nPrints size, ETag, "
                   "last-modified time, version id, checksums and encryption of one object.\n\n");
            pqf_cli_store_help(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            return pqf_cli_usage("stat", "unknown option %s", argv[i]);
        } else if (!uri) {
            uri = argv[i];
        } else {
            return pqf_cli_usage("stat", "one URI only");
        }
    }
    if (!uri)
        return pqf_cli_usage("stat", "which object?");
    pqf_error err = {0};
    pqf_store *st = NULL;
    char *key = NULL;
    int rc = 0;
    pqf_object_info o;
    pqf_get_options g = {.version_id = a.version_id};
    if (pqf_cli_target(uri, &a, &st, &key, &err) != PQF_OK ||
        pqf_store_head(st, key, &g, &o, &err) != PQF_OK) {
        rc = pqf_cli_fail(&err);
        goto done;
    }
    char t[32];
    pqf_cli_time(o.mtime_ms, t);
    if (a.json) {
        printf("{\"uri\":");
        pqf_cli_json_str(stdout, uri);
        printf(",\"size\":%llu,\"etag\":", (unsigned long long)o.size);
        pqf_cli_json_str(stdout, o.etag);
        printf(",\"mtime_ms\":%lld,\"version_id\":", (long long)o.mtime_ms);
        pqf_cli_json_str(stdout, o.version_id);
        printf(",\"content_type\":");
        pqf_cli_json_str(stdout, o.content_type);
        printf(",\"sse\":");
        pqf_cli_json_str(stdout, o.sse);
        printf(",\"checksum_crc32c\":");
        pqf_cli_json_str(stdout, o.checksum_crc32c);
        printf(",\"checksum_sha256\":");
        pqf_cli_json_str(stdout, o.checksum_sha256);
        printf("}\n");
    } else {
        printf("uri:           %s\nsize:          %llu\netag:          %s\nlast-modified: %s UTC\n",
               uri, (unsigned long long)o.size, o.etag, t);
        if (o.version_id[0])
            printf("version-id:    %s\n", o.version_id);
        if (o.content_type[0])
            printf("content-type:  %s\n", o.content_type);
        if (o.sse[0])
            printf("encryption:    %s\n", o.sse);
        if (o.checksum_crc32c[0])
            printf("crc32c:        %s\n", o.checksum_crc32c);
        if (o.checksum_sha256[0])
            printf("sha256:        %s\n", o.checksum_sha256);
    }
done:
    free(key);
    pqf_store_free(st);
    return rc;
}
