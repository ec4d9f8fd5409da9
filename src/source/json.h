/* Internal: a strict JSON parser (RFC 8259) into an arena-allocated tree, and
 * a JSON writer/escaper.
 *
 * Used for NDJSON lines, JSON-array pages, schema and config files and commit
 * objects, i.e. untrusted text: nesting depth, string length, number length
 * and the arena's total size are capped; duplicate keys, trailing commas,
 * comments, NaN, leading zeros, unescaped control characters, lone surrogates
 * and invalid UTF-8 are errors. Errors give line and column in the text.
 *
 * Ownership: every node and string belongs to the document's arena; they stay
 * valid until pqf__json_doc_reset() or pqf__json_doc_free().
 */
#ifndef PQF_SOURCE_JSON_H
#define PQF_SOURCE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pqfeed/error.h"

typedef enum pqf__jtype {
    PQF__JNULL,
    PQF__JBOOL,
    PQF__JNUM,
    PQF__JSTR,
    PQF__JARR,
    PQF__JOBJ
} pqf__jtype;

typedef struct pqf__json pqf__json;
struct pqf__json {
    pqf__jtype type;
    bool b;            /* JBOOL */
    uint32_t len;      /* JSTR: decoded bytes; JNUM: text length; JARR/JOBJ: children */
    const char *str;   /* JSTR: decoded, NUL-terminated (may contain NUL); JNUM: the text */
    pqf__json *child;  /* JARR/JOBJ: first child */
    pqf__json *next;   /* next sibling */
    const char *key;   /* member of an object: decoded key, NUL-terminated */
    uint32_t key_len;
    uint32_t line;     /* 1-based line where the value starts */
};

typedef struct pqf__json_limits {
    int max_depth;           /* default 64 */
    size_t max_string;       /* bytes of one string or key (default 16 MiB) */
    size_t max_number;       /* characters of one number (default 128) */
    size_t max_arena;        /* total bytes of the tree (default 256 MiB) */
} pqf__json_limits;

typedef struct pqf__json_chunk pqf__json_chunk;

typedef struct pqf__json_doc {
    pqf__json_limits lim;
    pqf__json_chunk *chunks; /* newest first */
    size_t used;             /* arena bytes handed out */
    pqf_error err;
} pqf__json_doc;

/* limits may be NULL (defaults); zero fields take defaults. */
void pqf__json_doc_init(pqf__json_doc *d, const pqf__json_limits *limits);
/* Drop every node; keeps one chunk for reuse. */
void pqf__json_doc_reset(pqf__json_doc *d);
void pqf__json_doc_free(pqf__json_doc *d);

/* Parse exactly one JSON value (surrounding whitespace allowed) from text.
 * On error returns PQF_ERR_PARSE (or PQF_ERR_LIMIT) with d->err.msg like
 * "line 1, column 9: expected ':' after an object key". */
pqf_err pqf__json_parse(pqf__json_doc *d, const char *text, size_t len, pqf__json **root);

/* Member of an object by key, or NULL (also when obj is not an object). */
const pqf__json *pqf__json_get(const pqf__json *obj, const char *key);
/* Element i of an array, or NULL. */
const pqf__json *pqf__json_at(const pqf__json *arr, size_t i);
/* Name of a type for messages ("object", "string", ...). */
const char *pqf__json_type_name(pqf__jtype t);

/* The \u escape whose four hex digits start at p (text ends at e), a
 * surrogate pair taken whole: the code point in *cp and the bytes read after
 * the "\u" (4, or 10 for a pair), or -1 (not four hex digits) or -2 (a lone
 * surrogate). Shared by the tree parser and the streaming shredder. */
int pqf__json_u_escape(const char *p, const char *e, uint32_t *cp);
/* Scan the JSON number at p (text ends at e): NULL and *end past it, or a
 * static reason ("leading zero in a number", ...) and *end where it went
 * wrong. Shared by the tree parser and the streaming shredder. */
const char *pqf__json_number_scan(const char *p, const char *e, const char **end);
/* cp (<= U+10FFFF) as UTF-8 into w (room for 4 bytes); returns its length. */
size_t pqf__utf8_put(char *w, uint32_t cp);

/* Append v, compact (no spaces; numbers as written). */
pqf_err pqf__json_write(pqf__buf *b, const pqf__json *v);
/* Append s[0..n) as a quoted JSON string (", \, control characters escaped;
 * other bytes as they are). */
pqf_err pqf__json_write_str(pqf__buf *b, const char *s, size_t n);

#endif
