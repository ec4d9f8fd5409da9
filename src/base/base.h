/* Internal: common macros for the library (not installed). */
#ifndef PQF_BASE_BASE_H
#define PQF_BASE_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"

/* Check-and-forward: evaluate an expression returning pqf_err and jump to the
 * function's single cleanup label on failure, keeping the code in `rc`.
 * Usage:   pqf_err rc = PQF_OK; ... PQF_TRY(step(x)); ... done: free(...); return rc; */
#define PQF_TRY(expr)                                                                              \
    do {                                                                                           \
        rc = (expr);                                                                               \
        if (rc != PQF_OK)                                                                          \
            goto done;                                                                             \
    } while (0)

/* Set err's code and message, keep the code in `rc`, jump to cleanup. */
#define PQF_FAIL(err, code, ...)                                                                   \
    do {                                                                                           \
        rc = pqf_error_set((err), (code), __VA_ARGS__);                                            \
        goto done;                                                                                 \
    } while (0)

#define PQF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PQF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PQF_MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define PQF_LIKELY(x) __builtin_expect(!!(x), 1)
#define PQF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define PQF_LIKELY(x) (x)
#define PQF_UNLIKELY(x) (x)
#endif

/* Convert errno into a pqf_error naming the operation and path. */
pqf_err pqf__errno(pqf_error *err, const char *op, const char *path);

/* Little-endian loads and stores (Parquet and Thrift are little-endian). */
static inline uint32_t pqf__load32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t pqf__load64le(const uint8_t *p)
{
    return (uint64_t)pqf__load32le(p) | (uint64_t)pqf__load32le(p + 4) << 32;
}
static inline void pqf__store32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void pqf__store64le(uint8_t *p, uint64_t v)
{
    pqf__store32le(p, (uint32_t)v);
    pqf__store32le(p + 4, (uint32_t)(v >> 32));
}

#endif
