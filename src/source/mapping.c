/* Mapping files (docs/MAPPING.md): API record field paths -> table columns,
 * with casts, defaults and a rule for fields no column reads.
 *
 * The file is parsed once into a pqf_mapping (immutable). A plan binds it to
 * a schema: per column the field path split into segments, the cast checked
 * against the column's type, the default prepared as a JSON value; and a trie
 * of every path some column reads (or `ignore` lists), which finds the
 * unknown fields of a record in one walk. Applying builds the output object
 * in a per-record arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/fsutil.h"
#include "base/hash.h"
#include "feed/yamltree.h"
#include "pqfeed/mapping.h"
#include "source/mapping.h"
#include "source/value.h"

#define MAPPING_MAX_BYTES (4u << 20)
#define MAPPING_MAX_COLUMNS 10000
#define MAPPING_MAX_SEGMENTS 64
#define MAPPING_ARENA_MAX (64u << 20)

typedef enum mcast {
    CAST_NONE,
    CAST_STRING,
    CAST_INT,
    CAST_DECIMAL,
    CAST_DOUBLE,
    CAST_BOOL,
    CAST_TIMESTAMP,
    CAST_DATE,
    CAST_JSON
} mcast;

static const char *const cast_names[] = {"none", "string", "int", "decimal", "double",
                                         "bool", "timestamp", "date", "json"};

/* A field path: n segments, each NUL-terminated, back to back in buf. */
typedef struct segpath {
    char *buf;
    size_t len, n;
} segpath;

typedef struct mcol {
    char *column;
    char *from; /* the path as written (for messages) */
    segpath path;
    mcast cast;
    char *def;  /* default (YAML scalar text), or NULL */
    unsigned line, cast_line, def_line;
} mcol;

struct pqf_mapping {
    char *name;
    char digest[65];
    pqf_unknown_rule unknown;
    char *unknown_column;
    unsigned unknown_line;
    mcol *cols;
    size_t ncols;
    char **ignore;
    segpath *ignore_path;
    unsigned *ignore_line;
    size_t nignore;
};

/* ---- parsing ---------------------------------------------------------------- */

typedef struct {
    const char *file;
    pqf_error *err;
} mctx;

static pqf_err bad(mctx *x, unsigned line, const char *path, const char *why, const char *what)
{
    if (what)
        return pqf_error_set(x->err, PQF_ERR_PARSE, "%s:%u: %s: %s '%.200s'", x->file, line, path,
                             why, what);
    return pqf_error_set(x->err, PQF_ERR_PARSE, "%s:%u: %s: %s", x->file, line, path, why);
}

static pqf_err nomem(mctx *x)
{
    return pqf_error_set(x->err, PQF_ERR_NOMEM, "out of memory");
}

/* a.b.c: non-empty segments, at most MAPPING_MAX_SEGMENTS */
static bool path_ok(const char *p)
{
    if (!*p)
        return false;
    int segs = 1;
    for (const char *q = p; *q; q++) {
        if (*q == '.') {
            if (q == p || q[1] == 0 || q[1] == '.')
                return false;
            segs++;
        }
    }
    return segs <= MAPPING_MAX_SEGMENTS;
}

/* "a.b.c" (checked with path_ok) or one name taken whole -> segments */
static bool seg_set(segpath *sp, const char *text, bool dotted)
{
    size_t len = strlen(text) + 1;
    free(sp->buf);
    sp->buf = malloc(len);
    if (!sp->buf)
        return false;
    memcpy(sp->buf, text, len);
    sp->len = len;
    sp->n = 1;
    if (dotted)
        for (char *q = sp->buf; *q; q++)
            if (*q == '.') {
                *q = 0;
                sp->n++;
            }
    return true;
}

/* [a, "b.c"]: each item one field name */
static bool seg_from_seq(segpath *sp, const pqf__ynode *seq, char **text)
{
    size_t len = 0, n = 0;
    for (const pqf__ynode *c = seq->child; c; c = c->next) {
        if (c->type != PQF__Y_SCALAR || !c->text[0])
            return false;
        len += strlen(c->text) + 1;
        n++;
    }
    if (n == 0 || n > MAPPING_MAX_SEGMENTS)
        return false;
    free(sp->buf);
    free(*text);
    sp->buf = malloc(len);
    *text = malloc(len);
    if (!sp->buf || !*text)
        return false;
    sp->len = len;
    sp->n = n;
    size_t at = 0;
    for (const pqf__ynode *c = seq->child; c; c = c->next) {
        size_t l = strlen(c->text) + 1;
        memcpy(sp->buf + at, c->text, l);
        memcpy(*text + at, c->text, l);
        at += l;
        (*text)[at - 1] = '.';
    }
    (*text)[len - 1] = 0;
    return true;
}

static pqf_err parse_column(mctx *x, const pqf__ynode *n, mcol *c)
{
    char path[512];
    snprintf(path, sizeof path, "columns.%.200s", n->key);
    c->line = n->line;
    if (!n->key[0])
        return bad(x, n->line, "columns", "a column name is empty", NULL);
    if (!(c->column = strdup(n->key)))
        return nomem(x);
    if (n->type == PQF__Y_SCALAR && n->text[0]) {
        if (!path_ok(n->text))
            return bad(x, n->line, path, "not a field path (a.b.c)", n->text);
        c->from = strdup(n->text);
        return c->from && seg_set(&c->path, n->text, true) ? PQF_OK : nomem(x);
    }
    if (n->type == PQF__Y_SEQ) {
        if (!seg_from_seq(&c->path, n, &c->from))
            return bad(x, n->line, path, "expected a list of field names", NULL);
        return PQF_OK;
    }
    if (n->type != PQF__Y_MAP && n->type != PQF__Y_SCALAR)
        return bad(x, n->line, path,
                   "expected a field path or a mapping (from, cast, default)", NULL);
    for (const pqf__ynode *m = n->child; m; m = m->next) {
        char sub[600];
        snprintf(sub, sizeof sub, "%s.%s", path, m->key);
        if (strcmp(m->key, "from") == 0 && m->type == PQF__Y_SEQ) {
            if (!seg_from_seq(&c->path, m, &c->from))
                return bad(x, m->line, sub, "expected a list of field names", NULL);
            continue;
        }
        if (m->type != PQF__Y_SCALAR)
            return bad(x, m->line, sub, "expected a scalar", NULL);
        if (strcmp(m->key, "from") == 0) {
            if (!path_ok(m->text))
                return bad(x, m->line, sub, "not a field path (a.b.c)", m->text);
            free(c->from);
            if (!(c->from = strdup(m->text)) || !seg_set(&c->path, m->text, true))
                return nomem(x);
        } else if (strcmp(m->key, "cast") == 0) {
            c->cast = CAST_NONE;
            for (size_t i = 1; i < PQF_ARRAY_LEN(cast_names); i++)
                if (strcmp(m->text, cast_names[i]) == 0)
                    c->cast = (mcast)i;
            if (c->cast == CAST_NONE)
                return bad(x, m->line, sub,
                           "unknown cast (string, int, decimal, double, bool, timestamp, date, "
                           "json)",
                           m->text);
            c->cast_line = m->line;
        } else if (strcmp(m->key, "default") == 0) {
            free(c->def);
            if (!(c->def = strdup(m->text)))
                return nomem(x);
            c->def_line = m->line;
        } else {
            return bad(x, m->line, sub, "unknown key (from, cast, default)", NULL);
        }
    }
    if (!c->from && (!(c->from = strdup(c->column)) || !seg_set(&c->path, c->column, false)))
        return nomem(x);
    return PQF_OK;
}

void pqf_mapping_free(pqf_mapping *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->ncols; i++) {
        free(m->cols[i].column);
        free(m->cols[i].from);
        free(m->cols[i].path.buf);
        free(m->cols[i].def);
    }
    free(m->cols);
    for (size_t i = 0; i < m->nignore; i++) {
        free(m->ignore[i]);
        free(m->ignore_path[i].buf);
    }
    free(m->ignore);
    free(m->ignore_path);
    free(m->ignore_line);
    free(m->unknown_column);
    free(m->name);
    free(m);
}

pqf_err pqf_mapping_parse(const char *name, const char *text, size_t len, pqf_mapping **out,
                          pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__ynode *root = NULL;
    pqf_mapping *m = NULL;
    mctx x = {name, err};
    bool have_columns = false;
    *out = NULL;
    PQF_TRY(pqf__yaml_load(name, text, len, &root, err));
    m = calloc(1, sizeof *m);
    if (!m || !(m->name = strdup(name)))
        PQF_TRY(nomem(&x));
    uint8_t d[32];
    pqf__sha256(text, len, d);
    pqf__hex(d, 32, m->digest);
    for (const pqf__ynode *n = root->child; n; n = n->next) {
        if (strcmp(n->key, "columns") == 0) {
            have_columns = true;
            if (n->type != PQF__Y_MAP && !(n->type == PQF__Y_SCALAR && !n->text[0]))
                PQF_TRY(bad(&x, n->line, "columns", "expected a mapping of column names", NULL));
            size_t cnt = 0;
            for (const pqf__ynode *c = n->child; c; c = c->next)
                cnt++;
            if (cnt > MAPPING_MAX_COLUMNS)
                PQF_TRY(bad(&x, n->line, "columns", "more than 10000 columns", NULL));
            m->cols = calloc(cnt ? cnt : 1, sizeof *m->cols);
            if (!m->cols)
                PQF_TRY(nomem(&x));
            for (const pqf__ynode *c = n->child; c; c = c->next)
                PQF_TRY(parse_column(&x, c, &m->cols[m->ncols++]));
        } else if (strcmp(n->key, "unknown") == 0) {
            const char *t = n->type == PQF__Y_SCALAR ? n->text : "";
            if (strcmp(t, "keep") == 0)
                m->unknown = PQF_UNKNOWN_KEEP;
            else if (strcmp(t, "drop") == 0)
                m->unknown = PQF_UNKNOWN_DROP;
            else if (strcmp(t, "fail") == 0)
                m->unknown = PQF_UNKNOWN_FAIL;
            else
                PQF_TRY(bad(&x, n->line, "unknown", "expected keep, drop or fail", NULL));
            if (!m->unknown_line)
                m->unknown_line = n->line;
        } else if (strcmp(n->key, "unknown_column") == 0) {
            if (n->type != PQF__Y_SCALAR || !n->text[0])
                PQF_TRY(bad(&x, n->line, "unknown_column", "expected a column name", NULL));
            free(m->unknown_column);
            if (!(m->unknown_column = strdup(n->text)))
                PQF_TRY(nomem(&x));
            m->unknown_line = n->line; /* unknown_column's line wins */
        } else if (strcmp(n->key, "ignore") == 0) {
            if (n->type != PQF__Y_SEQ)
                PQF_TRY(bad(&x, n->line, "ignore", "expected a list of field paths", NULL));
            size_t cnt = 0;
            for (const pqf__ynode *c = n->child; c; c = c->next)
                cnt++;
            if (cnt > MAPPING_MAX_COLUMNS)
                PQF_TRY(bad(&x, n->line, "ignore", "more than 10000 paths", NULL));
            m->ignore = calloc(cnt ? cnt : 1, sizeof *m->ignore);
            m->ignore_path = calloc(cnt ? cnt : 1, sizeof *m->ignore_path);
            m->ignore_line = calloc(cnt ? cnt : 1, sizeof *m->ignore_line);
            if (!m->ignore || !m->ignore_path || !m->ignore_line)
                PQF_TRY(nomem(&x));
            for (const pqf__ynode *c = n->child; c; c = c->next) {
                size_t k = m->nignore++;
                m->ignore_line[k] = c->line;
                if (c->type == PQF__Y_SEQ) {
                    if (!seg_from_seq(&m->ignore_path[k], c, &m->ignore[k]))
                        PQF_TRY(bad(&x, c->line, "ignore", "expected a list of field names", NULL));
                    continue;
                }
                if (c->type != PQF__Y_SCALAR || !path_ok(c->text))
                    PQF_TRY(bad(&x, c->line, "ignore", "expected a field path (a.b.c)",
                                c->type == PQF__Y_SCALAR ? c->text : NULL));
                if (!(m->ignore[k] = strdup(c->text)) || !seg_set(&m->ignore_path[k], c->text, true))
                    PQF_TRY(nomem(&x));
            }
        } else {
            PQF_TRY(bad(&x, n->line, n->key,
                        "unknown key (columns, unknown, unknown_column, ignore)", NULL));
        }
    }
    if (!have_columns)
        PQF_FAIL(err, PQF_ERR_PARSE, "%s: needs 'columns' (a mapping of column names)", name);
    if (m->unknown_column && m->unknown != PQF_UNKNOWN_KEEP)
        PQF_TRY(bad(&x, m->unknown_line, "unknown_column", "only with unknown: keep", NULL));
    if (m->unknown == PQF_UNKNOWN_KEEP && !m->unknown_column &&
        !(m->unknown_column = strdup("_unknown")))
        PQF_TRY(nomem(&x));
    for (size_t i = 0; m->unknown_column && i < m->ncols; i++)
        if (strcmp(m->cols[i].column, m->unknown_column) == 0)
            PQF_TRY(bad(&x, m->cols[i].line, "columns",
                        "this column is also the unknown_column", m->cols[i].column));
    *out = m;
    m = NULL;
done:
    pqf__yaml_free(root);
    pqf_mapping_free(m);
    return rc;
}

pqf_err pqf_mapping_load(const char *path, pqf_mapping **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    PQF_TRY(pqf__read_file(path, MAPPING_MAX_BYTES, &text, &len, err));
    PQF_TRY(pqf_mapping_parse(path, text, len, out, err));
done:
    free(text);
    return rc;
}

const char *pqf_mapping_name(const pqf_mapping *m) { return m->name; }
const char *pqf_mapping_digest(const pqf_mapping *m) { return m->digest; }
pqf_unknown_rule pqf_mapping_unknown(const pqf_mapping *m) { return m->unknown; }
const char *pqf__mapping_cast(const pqf_mapping *m, const char *column)
{
    for (size_t i = 0; i < m->ncols; i++)
        if (strcmp(m->cols[i].column, column) == 0)
            return m->cols[i].cast == CAST_NONE ? NULL : cast_names[m->cols[i].cast];
    return NULL;
}

const char *pqf__mapping_keep_column(const pqf_mapping *m)
{
    return m->unknown == PQF_UNKNOWN_KEEP ? m->unknown_column : NULL;
}

/* ---- plan ------------------------------------------------------------------- */

typedef struct tnode tnode;
struct tnode {
    char *key;
    size_t key_len;
    bool terminal; /* some column reads (or `ignore` names) this whole path */
    tnode **kids;
    size_t nkids, cap;
};

/* What a column needs from its value. */
typedef enum { SHAPE_ANY, SHAPE_STRING, SHAPE_NUMBER, SHAPE_BOOL, SHAPE_NESTED } shape;

typedef struct pcol {
    const char *column;
    const char *from;
    size_t column_len;
    char **segs;
    size_t *seg_len;
    size_t nsegs;
    mcast cast;
    pqf__json def; /* type PQF__JNULL with has_def false: no default */
    bool has_def;
    char *def_text;
} pcol;

typedef struct achunk achunk;
struct achunk {
    achunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct pqf__mapplan {
    const pqf_mapping *m;
    pcol *cols;
    size_t ncols;
    tnode root;
    const char *keep_column;
    achunk *chunks;
    size_t arena_total;
    char path[4096]; /* the dotted path while walking */
    pqf__json *keep_last;
    pqf__json *keep_obj;
    bool unbound;              /* no schema: top-level fields no column reads are columns */
    pqf__json *out, *out_last; /* the output object while applying */
};

static void tnode_free_kids(tnode *t)
{
    for (size_t i = 0; i < t->nkids; i++) {
        tnode_free_kids(t->kids[i]);
        free(t->kids[i]->key);
        free(t->kids[i]);
    }
    free(t->kids);
}

static tnode *tnode_find(const tnode *t, const char *k, size_t n)
{
    for (size_t i = 0; i < t->nkids; i++)
        if (t->kids[i]->key_len == n && memcmp(t->kids[i]->key, k, n) == 0)
            return t->kids[i];
    return NULL;
}

static pqf_err trie_add(tnode *root, const segpath *sp)
{
    tnode *t = root;
    const char *p = sp->buf;
    for (size_t seg = 0; seg < sp->n; seg++) {
        size_t n = strlen(p);
        tnode *c = tnode_find(t, p, n);
        if (!c) {
            if (t->nkids == t->cap) {
                size_t nc = t->cap ? t->cap * 2 : 4;
                tnode **k = realloc(t->kids, nc * sizeof *k);
                if (!k)
                    return PQF_ERR_NOMEM;
                t->kids = k;
                t->cap = nc;
            }
            c = calloc(1, sizeof *c);
            if (!c || !(c->key = strndup(p, n))) {
                free(c);
                return PQF_ERR_NOMEM;
            }
            c->key_len = n;
            t->kids[t->nkids++] = c;
        }
        t = c;
        p += n + 1;
    }
    t->terminal = true;
    return PQF_OK;
}

static void *arena_alloc(pqf__mapplan *p, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    achunk *c = p->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > (64u << 10) ? n : (64u << 10);
        if (p->arena_total + cap > MAPPING_ARENA_MAX)
            return NULL;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = p->chunks;
        p->chunks = c;
        p->arena_total += cap;
    }
    void *r = (char *)c->data + c->used;
    c->used += n;
    return r;
}

/* Keep the newest chunk, drop the rest. */
static void arena_reset(pqf__mapplan *p)
{
    achunk *c = p->chunks;
    if (!c)
        return;
    achunk *rest = c->next;
    while (rest) {
        achunk *nx = rest->next;
        p->arena_total -= rest->cap;
        free(rest);
        rest = nx;
    }
    c->next = NULL;
    c->used = 0;
}

void pqf__mapplan_free(pqf__mapplan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ncols; i++) {
        for (size_t k = 0; k < p->cols[i].nsegs; k++)
            free(p->cols[i].segs[k]);
        free(p->cols[i].segs);
        free(p->cols[i].seg_len);
        free(p->cols[i].def_text);
    }
    free(p->cols);
    tnode_free_kids(&p->root);
    while (p->chunks) {
        achunk *nx = p->chunks->next;
        free(p->chunks);
        p->chunks = nx;
    }
    free(p);
}

static shape shape_of(const pqf_schema *s, int node, pqf__conv *conv, bool *is_json)
{
    pqf_node_info in;
    *is_json = false;
    pqf_schema_node(s, node, &in);
    if (in.is_group)
        return SHAPE_NESTED;
    if (pqf__conv_init(conv, &in))
        return SHAPE_ANY;
    switch (conv->kind) {
    case PQF__V_BOOL:
        return SHAPE_BOOL;
    case PQF__V_INT:
    case PQF__V_FLOAT:
    case PQF__V_DOUBLE:
    case PQF__V_DECIMAL:
        return SHAPE_NUMBER;
    case PQF__V_JSON:
        *is_json = true;
        return SHAPE_ANY;
    default:
        return SHAPE_STRING;
    }
}

/* Does cast c suit a column of this shape/converter? */
static bool cast_fits(mcast c, shape sh, const pqf__conv *conv, bool is_json)
{
    switch (c) {
    case CAST_NONE:
        return true;
    case CAST_JSON:
        return is_json || sh == SHAPE_NESTED;
    case CAST_STRING:
        return sh == SHAPE_STRING && conv->kind != PQF__V_DATE && conv->kind != PQF__V_TIMESTAMP &&
               conv->kind != PQF__V_TIME;
    case CAST_INT:
        return sh == SHAPE_NUMBER;
    case CAST_DECIMAL:
        return sh == SHAPE_NUMBER;
    case CAST_DOUBLE:
        return sh == SHAPE_NUMBER && (conv->kind == PQF__V_DOUBLE || conv->kind == PQF__V_FLOAT);
    case CAST_BOOL:
        return sh == SHAPE_BOOL;
    case CAST_TIMESTAMP:
        return sh == SHAPE_STRING && conv->kind == PQF__V_TIMESTAMP;
    case CAST_DATE:
        return sh == SHAPE_STRING && conv->kind == PQF__V_DATE;
    }
    return false;
}

static bool is_number_text(const char *s, size_t n)
{
    double d;
    if (!n || !((s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '+' || s[0] == '.'))
        return false;
    return pqf__parse_double(s, n, &d);
}

/* The default as a JSON value of the column's shape (without a schema: as
 * YAML would read the scalar, or per the cast). */
static pqf_err prep_default(mctx *x, const mcol *mc, pcol *pc, shape sh, const pqf__conv *conv,
                            bool have_conv, bool is_json)
{
    char path[600];
    snprintf(path, sizeof path, "columns.%.200s.default", mc->column);
    const char *t = mc->def;
    size_t n = strlen(t);
    if (!(pc->def_text = strdup(t)))
        return nomem(x);
    pc->has_def = true;
    pc->def.key = pc->column;
    pc->def.key_len = (uint32_t)pc->column_len;
    pc->def.str = pc->def_text;
    pc->def.len = (uint32_t)n;
    if (sh == SHAPE_NESTED || is_json)
        return bad(x, mc->def_line, path, "a default is only for a scalar column", NULL);
    if (sh == SHAPE_ANY) { /* no schema: the cast, else the scalar's look */
        bool b;
        if (mc->cast == CAST_BOOL || (mc->cast == CAST_NONE && (strcmp(t, "true") == 0 ||
                                                                 strcmp(t, "false") == 0))) {
            if (!pqf__parse_bool(t, n, &b))
                return bad(x, mc->def_line, path, "not a boolean", t);
            pc->def.type = PQF__JBOOL;
            pc->def.b = b;
        } else if (mc->cast == CAST_INT || mc->cast == CAST_DOUBLE || mc->cast == CAST_DECIMAL ||
                   (mc->cast == CAST_NONE && is_number_text(t, n))) {
            if (!is_number_text(t, n))
                return bad(x, mc->def_line, path, "not a number", t);
            pc->def.type = PQF__JNUM;
        } else {
            pc->def.type = PQF__JSTR;
        }
        return PQF_OK;
    }
    if (have_conv) {
        pqf__val v;
        const char *why = pqf__value_parse(conv, t, n, &v);
        if (why) {
            char tn[64];
            pqf__conv_describe(conv, tn, sizeof tn);
            char msg[200];
            snprintf(msg, sizeof msg, "%s for the column's type %s", why, tn);
            return bad(x, mc->def_line, path, msg, t);
        }
    }
    if (sh == SHAPE_BOOL) {
        bool b = false;
        pqf__parse_bool(t, n, &b);
        pc->def.type = PQF__JBOOL;
        pc->def.b = b;
    } else if (sh == SHAPE_NUMBER) {
        pc->def.type = is_number_text(t, n) ? PQF__JNUM : PQF__JSTR;
    } else {
        pc->def.type = PQF__JSTR;
    }
    return PQF_OK;
}

static bool is_generated(const char *n)
{
    return strcmp(n, "_op") == 0 || strcmp(n, "_seq") == 0 || strcmp(n, "_ts") == 0;
}

static pqf_err add_pcol(pqf__mapplan *p, const char *column, const char *from,
                        const segpath *sp, mcast cast)
{
    pcol *pc = &p->cols[p->ncols];
    memset(pc, 0, sizeof *pc);
    pc->column = column;
    pc->column_len = strlen(column);
    pc->from = from;
    pc->cast = cast;
    pc->segs = calloc(sp->n, sizeof *pc->segs);
    pc->seg_len = calloc(sp->n, sizeof *pc->seg_len);
    p->ncols++;
    if (!pc->segs || !pc->seg_len)
        return PQF_ERR_NOMEM;
    const char *q = sp->buf;
    for (size_t k = 0; k < sp->n; k++) {
        size_t n = strlen(q);
        if (!(pc->segs[pc->nsegs] = strndup(q, n)))
            return PQF_ERR_NOMEM;
        pc->seg_len[pc->nsegs++] = n;
        q += n + 1;
    }
    return trie_add(&p->root, sp);
}

pqf_err pqf__mapplan_create(const pqf_mapping *m, const pqf_schema *s, bool generated,
                            pqf__mapplan **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    mctx x = {m->name, err};
    pqf__mapplan *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return nomem(&x);
    p->m = m;
    size_t extra = 0;
    int top = 0;
    if (s) {
        pqf_node_info ri;
        pqf_schema_node(s, 0, &ri);
        top = ri.nchildren;
        extra = (size_t)top;
    }
    p->cols = calloc(m->ncols + extra + 1, sizeof *p->cols);
    if (!p->cols)
        PQF_TRY(nomem(&x));
    for (size_t i = 0; i < m->ncols; i++) {
        const mcol *mc = &m->cols[i];
        char path[600];
        snprintf(path, sizeof path, "columns.%.200s", mc->column);
        if (add_pcol(p, mc->column, mc->from, &mc->path, mc->cast) != PQF_OK)
            PQF_TRY(nomem(&x));
        pcol *pc = &p->cols[p->ncols - 1];
        shape sh = SHAPE_ANY;
        pqf__conv conv;
        memset(&conv, 0, sizeof conv);
        bool is_json = false, have_conv = false;
        if (s) {
            int node = pqf_schema_find_child(s, 0, mc->column);
            if (node < 0 || (generated && is_generated(mc->column)))
                PQF_TRY(bad(&x, mc->line, path, "no such column in the schema", mc->column));
            sh = shape_of(s, node, &conv, &is_json);
            have_conv = sh != SHAPE_NESTED;
            if (!cast_fits(mc->cast, sh, &conv, is_json)) {
                char tn[128] = "a group";
                if (have_conv)
                    pqf__conv_describe(&conv, tn, sizeof tn);
                char msg[300];
                snprintf(msg, sizeof msg, "cast %s does not fit the column's type %s",
                         cast_names[mc->cast], tn);
                PQF_TRY(bad(&x, mc->cast_line ? mc->cast_line : mc->line, path, msg, NULL));
            }
        }
        if (mc->def)
            PQF_TRY(prep_default(&x, mc, pc, sh, &conv, have_conv, is_json));
    }
    for (size_t i = 0; i < m->nignore; i++)
        if (trie_add(&p->root, &m->ignore_path[i]) != PQF_OK)
            PQF_TRY(nomem(&x));
    p->keep_column = m->unknown == PQF_UNKNOWN_KEEP ? m->unknown_column : NULL;
    p->unbound = s == NULL;
    if (s) {
        /* the schema's other columns come from the same-named field */
        for (int i = 0; i < top; i++) {
            pqf_node_info ci;
            pqf_schema_node(s, pqf_schema_child(s, 0, i), &ci);
            bool listed = false;
            for (size_t k = 0; k < m->ncols && !listed; k++)
                listed = strcmp(m->cols[k].column, ci.name) == 0;
            if (listed || (generated && is_generated(ci.name)) ||
                (p->keep_column && strcmp(ci.name, p->keep_column) == 0))
                continue;
            segpath one = {(char *)ci.name, strlen(ci.name) + 1, 1}; /* the name whole */
            if (add_pcol(p, ci.name, ci.name, &one, CAST_NONE) != PQF_OK)
                PQF_TRY(nomem(&x));
        }
        if (p->keep_column) {
            int node = pqf_schema_find_child(s, 0, p->keep_column);
            pqf__conv conv;
            bool is_json = false;
            pqf_node_info ki;
            if (node < 0)
                PQF_FAIL(err, PQF_ERR_PARSE,
                         "%s:%u: unknown: keep needs a nullable json column '%s' in the schema",
                         m->name, m->unknown_line, p->keep_column);
            pqf_schema_node(s, node, &ki);
            if (shape_of(s, node, &conv, &is_json) != SHAPE_ANY || !is_json ||
                ki.repetition != PQF_OPTIONAL)
                PQF_FAIL(err, PQF_ERR_PARSE,
                         "%s:%u: unknown_column: the schema's column '%s' must be nullable json",
                         m->name, m->unknown_line, p->keep_column);
        }
    }
    *out = p;
    p = NULL;
done:
    pqf__mapplan_free(p);
    return rc;
}

/* ---- apply ------------------------------------------------------------------ */

static const pqf__json *member(const pqf__json *obj, const char *k, size_t n)
{
    if (!obj || obj->type != PQF__JOBJ)
        return NULL;
    for (const pqf__json *c = obj->child; c; c = c->next)
        if (c->key_len == n && memcmp(c->key, k, n) == 0)
            return c;
    return NULL;
}

static pqf__json *node_copy(pqf__mapplan *p, const pqf__json *v, const char *key, size_t key_len)
{
    pqf__json *o = arena_alloc(p, sizeof *o);
    if (!o)
        return NULL;
    *o = *v;
    o->next = NULL;
    o->key = key;
    o->key_len = (uint32_t)key_len;
    return o;
}

static char *arena_str(pqf__mapplan *p, const char *s, size_t n)
{
    char *d = arena_alloc(p, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

typedef struct {
    const char *file;
    uint64_t line, recno;
    pqf_error *err;
} actx;

static pqf_err cast_fail(pqf__mapplan *p, const actx *a, const pcol *pc, const char *why,
                         const pqf__json *v)
{
    char shown[80] = "";
    if (v->type == PQF__JSTR || v->type == PQF__JNUM)
        snprintf(shown, sizeof shown, " '%.60s'", v->str);
    return pqf_error_set(a->err, PQF_ERR_VALUE,
                         "%s:%llu: record %llu: field '%s' (column %s, cast %s): %s%s%s", a->file,
                         (unsigned long long)a->line, (unsigned long long)a->recno,
                         pc->from, pc->column,
                         cast_names[pc->cast], pqf__json_type_name(v->type), shown, why);
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* Plain decimal text: [-+]digits[.digits] */
static bool decimal_text(const char *s, size_t n)
{
    size_t i = 0, d = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, d++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, d++;
    }
    return d > 0 && i == n;
}

static pqf_err cast_value(pqf__mapplan *p, const actx *a, const pcol *pc, const pqf__json *v,
                          pqf__json **out)
{
    pqf__json *o = node_copy(p, v, pc->column, pc->column_len);
    if (!o)
        goto nomem;
    *out = o;
    if (v->type == PQF__JNULL || pc->cast == CAST_NONE || pc->cast == CAST_JSON)
        return PQF_OK;
    const char *s = v->str;
    size_t n = v->len;
    switch (pc->cast) {
    case CAST_STRING:
        if (v->type == PQF__JSTR)
            return PQF_OK;
        if (v->type == PQF__JNUM) {
            o->type = PQF__JSTR;
            return PQF_OK;
        }
        if (v->type == PQF__JBOOL) {
            o->type = PQF__JSTR;
            o->str = v->b ? "true" : "false";
            o->len = v->b ? 4 : 5;
            return PQF_OK;
        }
        {
            pqf__buf b;
            pqf__buf_init(&b, MAPPING_ARENA_MAX / 4);
            pqf_err rc = pqf__json_write(&b, v);
            if (rc == PQF_OK) {
                o->str = arena_str(p, (const char *)b.data, b.len);
                o->len = (uint32_t)b.len;
            }
            pqf__buf_free(&b);
            if (rc != PQF_OK || !o->str)
                goto nomem;
            o->type = PQF__JSTR;
            o->child = NULL;
            return PQF_OK;
        }
    case CAST_INT: {
        int64_t i;
        if (v->type == PQF__JSTR)
            trim(&s, &n);
        if ((v->type != PQF__JSTR && v->type != PQF__JNUM) || !pqf__parse_i64(s, n, &i))
            return cast_fail(p, a, pc, " is not an integer", v);
        o->type = PQF__JNUM;
        o->str = arena_str(p, s, n);
        o->len = (uint32_t)n;
        return o->str ? PQF_OK : PQF_ERR_NOMEM;
    }
    case CAST_DECIMAL:
    case CAST_DOUBLE:
        if (v->type == PQF__JSTR)
            trim(&s, &n);
        if ((v->type != PQF__JSTR && v->type != PQF__JNUM) ||
            !(pc->cast == CAST_DECIMAL ? decimal_text(s, n) || v->type == PQF__JNUM
                                       : is_number_text(s, n)))
            return cast_fail(p, a, pc, " is not a number", v);
        /* decimals stay text so the column's converter reads every digit */
        o->type = pc->cast == CAST_DECIMAL ? PQF__JSTR : PQF__JNUM;
        o->str = arena_str(p, s, n);
        o->len = (uint32_t)n;
        return o->str ? PQF_OK : PQF_ERR_NOMEM;
    case CAST_BOOL: {
        bool b;
        if (v->type == PQF__JBOOL)
            return PQF_OK;
        if (v->type == PQF__JSTR)
            trim(&s, &n);
        if ((v->type != PQF__JSTR && v->type != PQF__JNUM) || !pqf__parse_bool(s, n, &b))
            return cast_fail(p, a, pc, " is not a boolean (true/false/t/f/1/0)", v);
        o->type = PQF__JBOOL;
        o->b = b;
        return PQF_OK;
    }
    case CAST_TIMESTAMP: {
        int64_t secs;
        int32_t ns, off;
        bool has_off;
        if (v->type != PQF__JSTR || !pqf__parse_timestamp(s, n, &secs, &ns, &has_off, &off))
            return cast_fail(p, a, pc, " is not an ISO-8601 timestamp", v);
        return PQF_OK;
    }
    case CAST_DATE: {
        int32_t days;
        if (v->type != PQF__JSTR || !pqf__parse_date(s, n, &days))
            return cast_fail(p, a, pc, " is not a date (YYYY-MM-DD)", v);
        return PQF_OK;
    }
    default:
        return PQF_OK;
    }
nomem:
    return pqf_error_set(a->err, PQF_ERR_LIMIT, "%s:%llu: record %llu: mapped record too large",
                         a->file, (unsigned long long)a->line, (unsigned long long)a->recno);
}

/* Walk obj below trie node t; unknown members go to the rule. plen: length
 * of the dotted path in p->path so far. */
static pqf_err walk_unknown(pqf__mapplan *p, const actx *a, const tnode *t, const pqf__json *obj,
                            size_t plen)
{
    for (const pqf__json *c = obj->child; c; c = c->next) {
        const tnode *k = tnode_find(t, c->key, c->key_len);
        if (k && k->terminal)
            continue;
        size_t need = plen + (plen ? 1 : 0) + c->key_len;
        if (need + 1 > sizeof p->path)
            return pqf_error_set(a->err, PQF_ERR_LIMIT, "%s:%llu: record %llu: field path too long",
                                 a->file, (unsigned long long)a->line,
                                 (unsigned long long)a->recno);
        size_t at = plen;
        if (plen)
            p->path[at++] = '.';
        memcpy(p->path + at, c->key, c->key_len);
        p->path[need] = 0;
        if (k && c->type == PQF__JOBJ) {
            pqf_err rc = walk_unknown(p, a, k, c, need);
            if (rc != PQF_OK)
                return rc;
            continue;
        }
        if (k)
            continue; /* a prefix of a read path holding a non-object: read as missing */
        if (p->unbound && t == &p->root && !member(p->out, c->key, c->key_len) &&
            !(p->keep_column && strcmp(c->key, p->keep_column) == 0)) {
            pqf__json *o = node_copy(p, c, c->key, c->key_len);
            if (!o)
                return pqf_error_set(a->err, PQF_ERR_NOMEM, "out of memory");
            if (p->out_last)
                p->out_last->next = o;
            else
                p->out->child = o;
            p->out_last = o;
            p->out->len++;
            continue;
        }
        if (p->m->unknown == PQF_UNKNOWN_DROP)
            continue;
        if (p->m->unknown == PQF_UNKNOWN_FAIL)
            return pqf_error_set(a->err, PQF_ERR_VALUE,
                                 "%s:%llu: record %llu: unknown field '%.300s' (the mapping %s "
                                 "says unknown: fail)",
                                 a->file, (unsigned long long)a->line,
                                 (unsigned long long)a->recno, p->path, p->m->name);
        char *key = arena_str(p, p->path, need);
        pqf__json *o = key ? node_copy(p, c, key, need) : NULL;
        if (!o)
            return pqf_error_set(a->err, PQF_ERR_LIMIT,
                                 "%s:%llu: record %llu: mapped record too large", a->file,
                                 (unsigned long long)a->line, (unsigned long long)a->recno);
        if (!p->keep_obj) {
            p->keep_obj = arena_alloc(p, sizeof *p->keep_obj);
            if (!p->keep_obj)
                return PQF_ERR_NOMEM;
            memset(p->keep_obj, 0, sizeof *p->keep_obj);
            p->keep_obj->type = PQF__JOBJ;
            p->keep_obj->key = p->keep_column;
            p->keep_obj->key_len = (uint32_t)strlen(p->keep_column);
            p->keep_obj->line = (uint32_t)a->line;
        }
        if (p->keep_last)
            p->keep_last->next = o;
        else
            p->keep_obj->child = o;
        p->keep_last = o;
        p->keep_obj->len++;
    }
    return PQF_OK;
}

pqf_err pqf__mapplan_apply(pqf__mapplan *p, const pqf__json *rec, const char *file,
                           uint64_t line, uint64_t recno, const pqf__json **out, pqf_error *err)
{
    actx a = {file, line, recno, err};
    pqf__json *last = NULL;
    arena_reset(p);
    p->keep_obj = p->keep_last = NULL;
    pqf__json *o = arena_alloc(p, sizeof *o);
    if (!o)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    memset(o, 0, sizeof *o);
    o->type = PQF__JOBJ;
    o->line = rec->line;
    for (size_t i = 0; i < p->ncols; i++) {
        const pcol *pc = &p->cols[i];
        const pqf__json *v = rec;
        for (size_t k = 0; k < pc->nsegs && v; k++)
            v = member(v, pc->segs[k], pc->seg_len[k]);
        pqf__json *nv = NULL;
        if (!v || (v->type == PQF__JNULL && pc->has_def)) {
            if (!pc->has_def)
                continue;
            nv = node_copy(p, &pc->def, pc->column, pc->column_len);
            if (!nv)
                return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
        } else {
            pqf_err rc = cast_value(p, &a, pc, v, &nv);
            if (rc != PQF_OK)
                return err->code ? rc : pqf_error_set(err, rc, "out of memory");
        }
        if (last)
            last->next = nv;
        else
            o->child = nv;
        last = nv;
        o->len++;
    }
    if (p->m->unknown != PQF_UNKNOWN_DROP || p->unbound) {
        p->path[0] = 0;
        p->out = o;
        p->out_last = last;
        pqf_err rc = walk_unknown(p, &a, &p->root, rec, 0);
        if (rc != PQF_OK)
            return err->code ? rc : pqf_error_set(err, rc, "out of memory");
        last = p->out_last;
        if (p->keep_obj) {
            if (last)
                last->next = p->keep_obj;
            else
                o->child = p->keep_obj;
            o->len++;
        }
    }
    *out = o;
    return PQF_OK;
}

pqf_err pqf_mapping_check(const pqf_mapping *m, const pqf_schema *s, bool generated,
                          pqf_error *err)
{
    pqf__mapplan *p = NULL;
    pqf_err rc = pqf__mapplan_create(m, s, generated, &p, err);
    pqf__mapplan_free(p);
    return rc;
}
