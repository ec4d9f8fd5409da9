/* Internal: durable local file operations. */
#ifndef PQF_BASE_FSUTIL_H
#define PQF_BASE_FSUTIL_H

#include <stddef.h>
#include <string.h>

#include "pqfeed/error.h"

/* fsync the directory that contains path (after a rename or create). */
pqf_err pqf__fsync_parent(const char *path, pqf_error *err);
/* mkdir -p; existing directories are fine. */
pqf_err pqf__mkdirs(const char *path, pqf_error *err);
/* What goes between a directory and a name in it: "/", or nothing when dir
 * already ends with one ("/", "out/"), so joined paths never read "//". */
static inline const char *pqf__path_sep(const char *dir)
{
    size_t n = strlen(dir);
    return n && dir[n - 1] == '/' ? "" : "/";
}
/* Read a whole file into a malloc'd, NUL-terminated buffer, at most limit bytes
 * (PQF_ERR_LIMIT past it). */
pqf_err pqf__read_file(const char *path, size_t limit, char **data, size_t *len, pqf_error *err);

#endif
