/* pqfeed — errors.
 *
 * Every fallible function returns a pqf_err; 0 (PQF_OK) is success. Values
 * are stable: they are part of the ABI and map to documented CLI exit codes
 * (see pqf_exit_code()). Alongside the code, a pqf_error carries a bounded
 * sentence that names the object, file, line or field at fault. Handles keep
 * their last pqf_error; constructors take a caller-owned pqf_error *.
 */
#ifndef PQFEED_ERROR_H
#define PQFEED_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqf_err {
    PQF_OK = 0,
    PQF_ERR_NOMEM = 1,        /* allocation failed */
    PQF_ERR_INVALID_ARG = 2,  /* caller passed something wrong (API misuse, bad option) */
    PQF_ERR_IO = 3,           /* local I/O failed (errno text in the message) */
    PQF_ERR_PARSE = 4,        /* malformed input text: CSV, JSON, XML, config */
    PQF_ERR_VALUE = 5,        /* a value does not fit its column (range, type, format) */
    PQF_ERR_SCHEMA = 6,       /* schema invalid or incompatible */
    PQF_ERR_CORRUPT = 7,      /* malformed binary data (Parquet, Thrift, pages) */
    PQF_ERR_CHECKSUM = 8,     /* checksum or hash mismatch */
    PQF_ERR_UNSUPPORTED = 9,  /* valid, but a feature pqfeed does not implement */
    PQF_ERR_LIMIT = 10,       /* a configured or sanity cap was exceeded */
    PQF_ERR_NOT_FOUND = 11,   /* object, file, key or table does not exist */
    PQF_ERR_EXISTS = 12,      /* put-if-absent lost: the object already exists */
    PQF_ERR_PRECONDITION = 13,/* conditional request failed (ETag, version) */
    PQF_ERR_CONFLICT = 14,    /* a concurrent writer won (commit race) */
    PQF_ERR_AUTH = 15,        /* credentials missing or rejected */
    PQF_ERR_NET = 16,         /* network failure after retries */
    PQF_ERR_REMOTE = 17,      /* a server returned an error (S3 code in the message) */
    PQF_ERR_TIMEOUT = 18,     /* waited past a deadline */
    PQF_ERR_INTERNAL = 19,    /* a bug in pqfeed: please report */
    PQF_ERR_CONTRACT = 20,    /* the data breaks a schema contract (contract.h) */
    PQF_ERR__COUNT
} pqf_err;

/* Capacity of pqf_error.msg, including the terminating NUL. */
#define PQF_ERROR_MSG_MAX 512

/* A code and a sentence. Zero-initialise (or pqf_error_clear()) before use. */
typedef struct pqf_error {
    pqf_err code;
    char msg[PQF_ERROR_MSG_MAX];
} pqf_error;

/* Short, static description of a code ("corrupt data"). Never NULL. */
const char *pqf_strerror(pqf_err code);

/* Symbolic name of a code ("PQF_ERR_CORRUPT"). Never NULL. */
const char *pqf_errname(pqf_err code);

/* Process exit code that the pqfeed CLI uses for a code; see docs/CLI.md. */
int pqf_exit_code(pqf_err code);

/* Reset to PQF_OK with an empty message. err may be NULL. */
void pqf_error_clear(pqf_error *err);

/* Set code and printf-style message (truncated to fit). err may be NULL.
 * Returns code, so `return pqf_error_set(err, PQF_ERR_X, "...")` reads well. */
pqf_err pqf_error_set(pqf_error *err, pqf_err code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefix the existing message with context ("file.csv: " + old message). */
pqf_err pqf_error_prefix(pqf_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
