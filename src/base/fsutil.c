#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"

pqf_err pqf__fsync_parent(const char *path, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char *dir = strdup(path);
    int fd = -1;
    if (!dir)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = pqf__errno(err, "open directory", dir);
        goto done;
    }
    if (fsync(fd) != 0 && errno != EINVAL) {
        rc = pqf__errno(err, "fsync directory", dir);
        goto done;
    }
done:
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

pqf_err pqf__mkdirs(const char *path, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char *p = strdup(path);
    if (!p)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            rc = pqf__errno(err, "mkdir", p);
            goto done;
        }
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        rc = pqf__errno(err, "mkdir", p);
done:
    free(p);
    return rc;
}

pqf_err pqf__read_file(const char *path, size_t limit, char **data, size_t *len, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char *buf = NULL;
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pqf__errno(err, "open", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = pqf__errno(err, "stat", path);
        goto done;
    }
    if ((uint64_t)st.st_size > limit)
        PQF_FAIL(err, PQF_ERR_LIMIT, "%s: file is %lld bytes, over the limit of %zu", path,
                 (long long)st.st_size, limit);
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory reading %s", path);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = pqf__errno(err, "read", path);
            goto done;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    buf = NULL;
done:
    free(buf);
    close(fd);
    return rc;
}
