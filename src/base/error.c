#include "pqfeed/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *text;
    int exit_code;
} err_table[PQF_ERR__COUNT] = {
    [PQF_OK] = {"PQF_OK", "success", 0},
    [PQF_ERR_NOMEM] = {"PQF_ERR_NOMEM", "out of memory", 1},
    [PQF_ERR_INVALID_ARG] = {"PQF_ERR_INVALID_ARG", "invalid argument", 2},
    [PQF_ERR_IO] = {"PQF_ERR_IO", "I/O error", 10},
    [PQF_ERR_PARSE] = {"PQF_ERR_PARSE", "malformed input", 3},
    [PQF_ERR_VALUE] = {"PQF_ERR_VALUE", "value does not fit its column", 3},
    [PQF_ERR_SCHEMA] = {"PQF_ERR_SCHEMA", "schema error", 4},
    [PQF_ERR_CORRUPT] = {"PQF_ERR_CORRUPT", "corrupt data", 5},
    [PQF_ERR_CHECKSUM] = {"PQF_ERR_CHECKSUM", "checksum mismatch", 6},
    [PQF_ERR_UNSUPPORTED] = {"PQF_ERR_UNSUPPORTED", "not supported", 7},
    [PQF_ERR_LIMIT] = {"PQF_ERR_LIMIT", "limit exceeded", 8},
    [PQF_ERR_NOT_FOUND] = {"PQF_ERR_NOT_FOUND", "not found", 9},
    [PQF_ERR_EXISTS] = {"PQF_ERR_EXISTS", "already exists", 11},
    [PQF_ERR_PRECONDITION] = {"PQF_ERR_PRECONDITION", "precondition failed", 11},
    [PQF_ERR_CONFLICT] = {"PQF_ERR_CONFLICT", "conflict with a concurrent writer", 11},
    [PQF_ERR_AUTH] = {"PQF_ERR_AUTH", "authentication failed", 12},
    [PQF_ERR_NET] = {"PQF_ERR_NET", "network error", 13},
    [PQF_ERR_REMOTE] = {"PQF_ERR_REMOTE", "server error", 13},
    [PQF_ERR_TIMEOUT] = {"PQF_ERR_TIMEOUT", "timed out", 14},
    [PQF_ERR_INTERNAL] = {"PQF_ERR_INTERNAL", "internal error", 70},
    [PQF_ERR_CONTRACT] = {"PQF_ERR_CONTRACT", "breaks the schema contract", 24},
};

const char *pqf_strerror(pqf_err code)
{
    if ((unsigned)code >= PQF_ERR__COUNT)
        return "unknown error";
    return err_table[code].text;
}

const char *pqf_errname(pqf_err code)
{
    if ((unsigned)code >= PQF_ERR__COUNT)
        return "PQF_ERR_UNKNOWN";
    return err_table[code].name;
}

int pqf_exit_code(pqf_err code)
{
    if ((unsigned)code >= PQF_ERR__COUNT)
        return 70;
    return err_table[code].exit_code;
}

void pqf_error_clear(pqf_error *err)
{
    if (!err)
        return;
    err->code = PQF_OK;
    err->msg[0] = '\0';
}

pqf_err pqf_error_set(pqf_error *err, pqf_err code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

pqf_err pqf_error_prefix(pqf_error *err, const char *fmt, ...)
{
    if (!err)
        return PQF_ERR_INTERNAL;
    char prefix[PQF_ERROR_MSG_MAX];
    char old[PQF_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n >= sizeof err->msg)
        n = sizeof err->msg - 1;
    memcpy(err->msg, prefix, n);
    size_t rest = sizeof err->msg - 1 - n;
    size_t ol = strnlen(old, sizeof old);
    if (ol > rest)
        ol = rest;
    memcpy(err->msg + n, old, ol);
    err->msg[n + ol] = '\0';
    return err->code;
}
