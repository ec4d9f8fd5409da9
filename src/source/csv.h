/* Internal: buffered input and the RFC 4180 streaming CSV tokenizer.
 *
 * pqf__input reads a file descriptor (or a memory region) through one buffer.
 * The tokenizer hands out a record's fields as pointers into that buffer,
 * valid until the next call: no per-field allocation. A record that crosses
 * the end of the buffer is re-scanned after the buffer is refilled (its bytes
 * moved to the front); the buffer grows only when one record is longer than
 * the buffer, up to a cap.
 */
#ifndef PQF_SOURCE_CSV_H
#define PQF_SOURCE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqfeed/error.h"
#include "pqfeed/source.h"

/* Bytes allocated past the sentinel (zeroed once, never data), so that the
 * tokenizer's 64-byte blocks and the padded value parsers (value.h) may read a
 * little past the end of a field. */
#define PQF__INPUT_PAD 64

typedef struct pqf__input {
    int fd;          /* -1 for memory input */
    bool own_fd;
    const uint8_t *mem;
    size_t mem_len, mem_pos;
    char *buf;       /* cap + 1 + PQF__INPUT_PAD bytes: a sentinel, then the pad */
    size_t cap, len; /* valid data is buf[0..len) */
    size_t pos;      /* next unread byte */
    size_t max_cap;
    bool eof;        /* no more data after buf[len) */
    uint64_t base;   /* input offset of buf[0] */
    char name[256];
} pqf__input;

/* Open path ("-" = stdin) or, when path is NULL, the memory region mem[0..len)
 * (borrowed) named `name`. buffer >= 16; max_cap >= buffer. */
pqf_err pqf__input_open(pqf__input *in, const char *path, const void *mem, size_t len,
                        const char *name, size_t buffer, size_t max_cap, pqf_error *err);
/* Keep buf[keep..len) (moved to the front), then read more. Sets eof at end of
 * input. PQF_ERR_LIMIT when keep == 0, the buffer is full and at max_cap. */
pqf_err pqf__input_fill(pqf__input *in, size_t keep, pqf_error *err);
/* The next line that is not blank (only spaces, tabs, CRs) as [*p, *le), the
 * '\n' not included; *line counts the lines passed, blank ones too. At the
 * end PQF_OK with *p NULL. Errors are pqf__input_fill's (PQF_ERR_LIMIT: a line
 * longer than max_cap, *line not counting it). Shared by the inferrers. */
pqf_err pqf__input_next_line(pqf__input *in, uint64_t *line, const char **p, const char **le,
                             pqf_error *err);
void pqf__input_close(pqf__input *in);

typedef struct pqf__csv_field {
    const char *p; /* into the buffer; not NUL-terminated */
    uint32_t len;
    uint32_t quoted; /* 1 if the field was quoted (never NULL then) */
} pqf__csv_field;

typedef struct pqf__csv {
    pqf__input in;
    char delim, quote;
    bool header;
    char *null_marker;
    size_t null_len;
    size_t max_fields;
    pqf__csv_field *fields;
    size_t nfields, fields_cap;
    size_t width;   /* fields per record (header or first record); 0 until known */
    char **names;   /* header names (width of them) or NULL */
    uint64_t line;  /* line where the current record starts (1-based) */
    uint64_t next_line;
    uint64_t records;
    unsigned char special[256];
    uint8_t simd; /* record scanner: 2 AVX2, 1 SSE2, 0 byte by byte only */
    pqf_error err;
} pqf__csv;

/* Tests: the record scanner of readers opened from now on; -1 (default) the
 * best the CPU has, 0 byte by byte, 1 SSE2, 2 AVX2 (lowered to what the CPU
 * has). */
extern int pqf__csv_simd_override;

/* Open a CSV reader (path or memory as pqf__input_open). Reads the header
 * record when opts->header. */
pqf_err pqf__csv_open(const char *path, const void *mem, size_t len, const char *name,
                      const pqf_csv_opts *opts, size_t buffer, size_t max_record,
                      size_t max_fields, pqf__csv **out, pqf_error *err);
/* Next record into c->fields / c->nfields; *eof at end. Blank lines are
 * skipped (unless records have a single field). A record whose field count
 * differs from the header's (or the first record's) is PQF_ERR_PARSE. */
pqf_err pqf__csv_next(pqf__csv *c, bool *eof);
/* Is the field the NULL marker (unquoted, equal to it)? */
static inline bool pqf__csv_is_null(const pqf__csv *c, const pqf__csv_field *f)
{
    return !f->quoted && f->len == c->null_len &&
           (c->null_len == 0 || __builtin_memcmp(f->p, c->null_marker, c->null_len) == 0);
}
/* Human name of field i (0-based) for messages: "3 (amount)" or "3". */
void pqf__csv_field_label(const pqf__csv *c, size_t i, char *buf, size_t cap);
void pqf__csv_free(pqf__csv *c);

#endif
