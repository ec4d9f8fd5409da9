/* Internal: a growable byte buffer with a hard cap (after curl's dynbuf).
 * Every buffer filled from untrusted input has a cap; growing past it fails
 * with PQF_ERR_LIMIT instead of allocating. */
#ifndef PQF_BASE_BUF_H
#define PQF_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"

typedef struct pqf__buf {
    uint8_t *data;
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t limit; /* never grow past this many bytes */
} pqf__buf;

/* Starts empty; allocation happens on first append. */
void pqf__buf_init(pqf__buf *b, size_t limit);
void pqf__buf_free(pqf__buf *b);
/* Keep the allocation, drop the contents. */
static inline void pqf__buf_reset(pqf__buf *b) { b->len = 0; }
/* Make room for n more bytes; returns PQF_ERR_LIMIT past the cap. */
pqf_err pqf__buf_reserve(pqf__buf *b, size_t n);
pqf_err pqf__buf_append(pqf__buf *b, const void *p, size_t n);
pqf_err pqf__buf_append_byte(pqf__buf *b, uint8_t c);
pqf_err pqf__buf_printf(pqf__buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Appends the bytes that base64 text s (standard or URL alphabet, '=' padding
 * ends it) stands for, plus pqf__buf_append_hex of raw bytes. On text that is not
 * base64, PQF_ERR_VALUE with b as it was. */
pqf_err pqf__buf_append_base64(pqf__buf *b, const char *s, size_t n);
pqf_err pqf__buf_append_hex(pqf__buf *b, const uint8_t *p, size_t n);
/* Room for element n of the array *pv (a T ** given as void *) of *cap elements of
 * elem bytes: doubles the capacity (first elements when empty) when n has reached
 * it. false when out of memory, with the array as it was. */
bool pqf__grow(void *pv, size_t n, size_t *cap, size_t elem, size_t first);
/* Ensure a NUL follows the contents (not counted in len). */
pqf_err pqf__buf_cstr(pqf__buf *b);
/* Hand the allocation to the caller; b is left empty. */
uint8_t *pqf__buf_steal(pqf__buf *b, size_t *len);

#endif
