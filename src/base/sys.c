#include <errno.h>
#include <string.h>

#include "base/base.h"

pqf_err pqf__errno(pqf_error *err, const char *op, const char *path)
{
    int e = errno;
    pqf_err code = PQF_ERR_IO;
    if (e == ENOENT)
        code = PQF_ERR_NOT_FOUND;
    else if (e == ENOMEM)
        code = PQF_ERR_NOMEM;
    else if (e == EEXIST)
        code = PQF_ERR_EXISTS;
    if (path)
        return pqf_error_set(err, code, "%s %s: %s", op, path, strerror(e));
    return pqf_error_set(err, code, "%s: %s", op, strerror(e));
}
