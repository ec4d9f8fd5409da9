/* Inference of a schema and a mapping from sample API pages (docs/MAPPING.md,
 * "Inference").
 *
 * One tree node per field path counts the JSON kinds it held (null, bool,
 * integer, fraction number, string, object, array) and, for strings, how
 * many looked like timestamps, dates or plain decimal numbers, the widest
 * digits and scale seen and up to max_enum distinct values (the set is
 * dropped once it overflows, so memory per field is bounded). Records are
 * read one NDJSON line at a time (an array page whole, capped), so memory is
 * bounded by the longest record and the number of distinct field paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "pqfeed/mapping.h"
#include "source/csv.h"
#include "source/json.h"
#include "source/mapping.h"
#include "source/value.h"

#define ENUM_VALUE_MAX 64

enum { KN_NULL, KN_BOOL, KN_INT, KN_FRAC, KN_STR, KN_OBJ, KN_ARR, KN__N };
static const char *const kind_names[KN__N] = {"null", "bool", "int", "number", "string",
                                              "object", "array"};

typedef enum {
    T_NONE, T_BOOL, T_INT, T_DOUBLE, T_DECIMAL, T_STRING, T_TS, T_DATE, T_JSON, T_STRUCT, T_LIST
} ctype;

typedef struct fnode fnode;
struct fnode {
    char *name;
    char *path;
    fnode *parent;
    bool is_elem;
    fnode **kids;
    size_t nkids, cap;
    fnode *elem;
    uint64_t present;   /* times the field was there (with any value) */
    uint64_t objects;   /* as an object: objects seen (members could appear in) */
    uint64_t elems;     /* as an array: elements seen */
    uint64_t kinds[KN__N];
    /* strings */
    uint64_t s_ts, s_date, s_num;
    bool s_offset;     /* some timestamp had a non-Z offset */
    int s_frac_ts;     /* most fraction digits of a timestamp */
    int s_idig, s_scale;
    /* numbers */
    int n_idig;
    /* distinct string values (enums) */
    char **vals;
    unsigned nvals;
    bool many;
    /* decision */
    bool force_null;
    bool varies; /* non-null kinds other than integer/fraction mixed */
    ctype t;
    int prec, scale;
    char type_text[64], kinds_text[160], note[400];
    const char *cast;
    char *column;
};

struct pqf_infer {
    pqf_infer_opts o;
    fnode root;
    fnode **order; /* every field node in first-seen order */
    size_t norder, cap_order;
    uint64_t records;
    pqf__json_doc doc, page_doc;
    pqf__mapplan *map;
    bool finished;
    pqf_infer_field *report;
    size_t nreport;
};

void pqf_infer_opts_init(pqf_infer_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_enum = 8;
    o->max_fields = 10000;
    o->max_record_bytes = 64u << 20;
    o->max_depth = 64;
}

static void fnode_free_kids(fnode *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        fnode_free_kids(n->kids[i]);
        free(n->kids[i]);
    }
    free(n->kids);
    if (n->elem) {
        fnode_free_kids(n->elem);
        free(n->elem);
    }
    for (unsigned i = 0; i < n->nvals; i++)
        free(n->vals[i]);
    free(n->vals);
    free(n->name);
    free(n->path);
    free(n->column);
}

void pqf_infer_free(pqf_infer *ix)
{
    if (!ix)
        return;
    fnode_free_kids(&ix->root);
    free(ix->order);
    free(ix->report);
    pqf__json_doc_free(&ix->doc);
    pqf__json_doc_free(&ix->page_doc);
    pqf__mapplan_free(ix->map);
    free(ix);
}

pqf_err pqf_infer_create(const pqf_infer_opts *o, pqf_infer **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf_infer *ix = calloc(1, sizeof *ix);
    *out = NULL;
    if (!ix)
        return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
    if (o)
        ix->o = *o;
    else
        pqf_infer_opts_init(&ix->o);
    if (!ix->o.max_fields)
        ix->o.max_fields = 10000;
    if (!ix->o.max_record_bytes)
        ix->o.max_record_bytes = 64u << 20;
    if (ix->o.max_enum > 64)
        ix->o.max_enum = 64;
    pqf__json_limits jl = {ix->o.max_depth, 0, 0, 0};
    pqf__json_doc_init(&ix->doc, &jl);
    pqf__json_doc_init(&ix->page_doc, &jl);
    ix->root.path = strdup("");
    ix->root.name = strdup("");
    if (!ix->root.path || !ix->root.name)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    if (ix->o.mapping) {
        PQF_TRY(pqf__mapplan_create(ix->o.mapping, NULL, false, &ix->map, err));
        ix->o.flatten = false;
    }
    *out = ix;
    ix = NULL;
done:
    pqf_infer_free(ix);
    return rc;
}

static fnode *new_node(pqf_infer *ix, fnode *parent, const char *name, size_t len, bool elem)
{
    if (ix->norder >= ix->o.max_fields)
        return NULL;
    if (ix->norder == ix->cap_order) {
        size_t nc = ix->cap_order ? ix->cap_order * 2 : 64;
        fnode **v = realloc(ix->order, nc * sizeof *v);
        if (!v)
            return NULL;
        ix->order = v;
        ix->cap_order = nc;
    }
    fnode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->parent = parent;
    n->is_elem = elem;
    n->name = strndup(name, len);
    size_t pl = strlen(parent->path);
    n->path = malloc(pl + len + 3);
    if (!n->name || !n->path) {
        free(n->name);
        free(n->path);
        free(n);
        return NULL;
    }
    if (elem)
        snprintf(n->path, pl + 3, "%s[]", parent->path);
    else
        snprintf(n->path, pl + len + 2, "%s%s%.*s", parent->path, pl ? "." : "", (int)len, name);
    ix->order[ix->norder++] = n;
    return n;
}

static fnode *kid(pqf_infer *ix, fnode *n, const char *name, size_t len)
{
    for (size_t i = 0; i < n->nkids; i++)
        if (strlen(n->kids[i]->name) == len && memcmp(n->kids[i]->name, name, len) == 0)
            return n->kids[i];
    if (!pqf__grow(&n->kids, n->nkids, &n->cap, sizeof *n->kids, 8))
        return NULL;
    fnode *c = new_node(ix, n, name, len, false);
    if (c)
        n->kids[n->nkids++] = c;
    return c;
}

/* [-]digits[.digits], no leading zero before more digits ("007" is an id, not a number) */
static bool numeric_string(const char *s, size_t n, int *idig, int *scale)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    size_t ip = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    size_t il = i - ip;
    if (il == 0 || (il > 1 && s[ip] == '0'))
        return false;
    *scale = 0;
    if (i < n && s[i] == '.') {
        size_t fp = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == fp)
            return false;
        *scale = (int)(i - fp);
    }
    if (i != n)
        return false;
    *idig = pqf__count_digits(s + ip, il);
    return true;
}

static void note_value(pqf_infer *ix, fnode *f, const char *s, size_t n)
{
    if (f->many || ix->o.max_enum == 0)
        return;
    if (n > ENUM_VALUE_MAX) {
        f->many = true;
        goto drop;
    }
    for (unsigned i = 0; i < f->nvals; i++)
        if (strlen(f->vals[i]) == n && memcmp(f->vals[i], s, n) == 0)
            return;
    if (f->nvals >= ix->o.max_enum) {
        f->many = true;
        goto drop;
    }
    if (!f->vals && !(f->vals = calloc(ix->o.max_enum, sizeof *f->vals)))
        return;
    if ((f->vals[f->nvals] = strndup(s, n)))
        f->nvals++;
    return;
drop:
    for (unsigned i = 0; i < f->nvals; i++)
        free(f->vals[i]);
    free(f->vals);
    f->vals = NULL;
    f->nvals = 0;
}

static void observe_string(pqf_infer *ix, fnode *f, const char *s, size_t n)
{
    int32_t days;
    int64_t secs;
    int32_t ns, off;
    bool has_off;
    int idig, scale;
    f->kinds[KN_STR]++;
    if (n == 10 && pqf__parse_date(s, n, &days)) {
        f->s_date++;
    } else if (n > 10 && pqf__parse_timestamp(s, n, &secs, &ns, &has_off, &off)) {
        f->s_ts++;
        if (has_off && off != 0)
            f->s_offset = true;
        const char *dot = memchr(s, '.', n);
        if (dot) {
            int fd = 0;
            for (const char *q = dot + 1; q < s + n && *q >= '0' && *q <= '9'; q++)
                fd++;
            if (fd > f->s_frac_ts)
                f->s_frac_ts = fd;
        }
    } else if (numeric_string(s, n, &idig, &scale)) {
        f->s_num++;
        if (idig > f->s_idig)
            f->s_idig = idig;
        if (scale > f->s_scale)
            f->s_scale = scale;
    }
    note_value(ix, f, s, n);
}

static pqf_err observe(pqf_infer *ix, fnode *f, const pqf__json *v)
{
    switch (v->type) {
    case PQF__JNULL:
        f->kinds[KN_NULL]++;
        return PQF_OK;
    case PQF__JBOOL:
        f->kinds[KN_BOOL]++;
        return PQF_OK;
    case PQF__JNUM: {
        int64_t i;
        if (pqf__parse_i64(v->str, v->len, &i)) {
            f->kinds[KN_INT]++;
            int d = pqf__count_digits(v->str, v->len);
            if (d > f->n_idig)
                f->n_idig = d;
        } else {
            f->kinds[KN_FRAC]++;
        }
        return PQF_OK;
    }
    case PQF__JSTR:
        observe_string(ix, f, v->str, v->len);
        return PQF_OK;
    case PQF__JARR:
        f->kinds[KN_ARR]++;
        if (!f->elem && !(f->elem = new_node(ix, f, "element", 7, true)))
            return PQF_ERR_LIMIT;
        for (const pqf__json *e = v->child; e; e = e->next) {
            f->elems++;
            f->elem->present++;
            pqf_err rc = observe(ix, f->elem, e);
            if (rc != PQF_OK)
                return rc;
        }
        return PQF_OK;
    case PQF__JOBJ:
        f->kinds[KN_OBJ]++;
        f->objects++;
        for (const pqf__json *m = v->child; m; m = m->next) {
            fnode *c = kid(ix, f, m->key, m->key_len);
            if (!c)
                return PQF_ERR_LIMIT;
            c->present++;
            pqf_err rc = observe(ix, c, m);
            if (rc != PQF_OK)
                return rc;
        }
        return PQF_OK;
    }
    return PQF_OK;
}

static pqf_err record(pqf_infer *ix, const pqf__json *v, const char *name, uint64_t line,
                      uint64_t recno, pqf_error *err)
{
    if (v->type != PQF__JOBJ)
        return pqf_error_set(err, PQF_ERR_VALUE, "%s:%llu: expected an object, found %s", name,
                             (unsigned long long)line, pqf__json_type_name(v->type));
    if (ix->map) {
        const pqf__json *mv = NULL;
        pqf_err rc = pqf__mapplan_apply(ix->map, v, name, line, recno, &mv, err);
        if (rc != PQF_OK)
            return rc;
        v = mv;
    }
    ix->records++;
    pqf_err rc = observe(ix, &ix->root, v);
    if (rc == PQF_ERR_LIMIT)
        return pqf_error_set(err, rc, "%s:%llu: more than %zu distinct field paths", name,
                             (unsigned long long)line, ix->o.max_fields);
    if (rc != PQF_OK)
        return pqf_error_set(err, rc, "out of memory");
    return PQF_OK;
}

static bool sampled_enough(const pqf_infer *ix)
{
    return ix->o.sample && ix->records >= ix->o.sample;
}

pqf_err pqf_infer_page(pqf_infer *ix, const char *path, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__input in;
    bool open = false;
    uint64_t line = 0, recno = 0;
    if (ix->finished)
        return pqf_error_set(err, PQF_ERR_INVALID_ARG, "pqf_infer_page after finish");
    if (sampled_enough(ix))
        return PQF_OK;
    PQF_TRY(pqf__input_open(&in, path, NULL, 0, NULL, 1u << 20, ix->o.max_record_bytes, err));
    open = true;
    PQF_TRY(pqf__input_fill(&in, 0, err));
    if (in.len >= 3 && memcmp(in.buf, "\xEF\xBB\xBF", 3) == 0)
        in.pos = 3;
    size_t i = in.pos;
    while (i < in.len && (in.buf[i] == ' ' || in.buf[i] == '\t' || in.buf[i] == '\n' ||
                          in.buf[i] == '\r'))
        i++;
    if (i < in.len && in.buf[i] == '[') { /* one JSON array of records, read whole */
        while (!in.eof) {
            rc = pqf__input_fill(&in, in.pos, err);
            if (rc == PQF_ERR_LIMIT)
                PQF_FAIL(err, rc, "%s: a JSON array page is larger than the limit of %zu bytes",
                         in.name, in.max_cap);
            PQF_TRY(rc);
        }
        pqf__json_doc_reset(&ix->page_doc);
        pqf__json *root;
        if (pqf__json_parse(&ix->page_doc, in.buf + in.pos, in.len - in.pos, &root) != PQF_OK)
            PQF_FAIL(err, PQF_ERR_PARSE, "%s: %s", in.name, ix->page_doc.err.msg);
        for (const pqf__json *e = root->child; e && !sampled_enough(ix); e = e->next)
            PQF_TRY(record(ix, e, in.name, e->line, ++recno, err));
        goto done;
    }
    while (!sampled_enough(ix)) {
        const char *p, *le;
        rc = pqf__input_next_line(&in, &line, &p, &le, err);
        if (rc == PQF_ERR_LIMIT)
            PQF_FAIL(err, rc, "%s:%llu: line longer than the limit of %zu bytes", in.name,
                     (unsigned long long)line + 1, in.max_cap);
        PQF_TRY(rc);
        if (!p)
            break;
        pqf__json_doc_reset(&ix->doc);
        pqf__json *v;
        rc = pqf__json_parse(&ix->doc, p, (size_t)(le - p), &v);
        if (rc != PQF_OK)
            PQF_FAIL(err, rc, "%s:%llu: %s", in.name, (unsigned long long)line,
                     ix->doc.err.msg + (strncmp(ix->doc.err.msg, "line 1, ", 8) == 0 ? 8 : 0));
        PQF_TRY(record(ix, v, in.name, line, ++recno, err));
    }
done:
    if (open)
        pqf__input_close(&in);
    return rc;
}

/* ---- decisions -------------------------------------------------------------- */

static unsigned nonnull_kinds(const fnode *f)
{
    unsigned k = 0;
    for (int i = 1; i < KN__N; i++)
        k += f->kinds[i] > 0;
    return k;
}

static void set_note(fnode *f, const char *text)
{
    size_t l = strlen(f->note);
    snprintf(f->note + l, sizeof f->note - l, "%s%s", l ? "; " : "", text);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void decide(pqf_infer *ix, fnode *f)
{
    uint64_t *k = f->kinds;
    uint64_t nn = 0;
    for (int i = 1; i < KN__N; i++)
        nn += k[i];
    size_t l = 0;
    f->kinds_text[0] = 0;
    for (int i = 0; i < KN__N; i++)
        if (k[i] && l < sizeof f->kinds_text)
            l += (size_t)snprintf(f->kinds_text + l, sizeof f->kinds_text - l, "%s%s %llu",
                                  l ? ", " : "", kind_names[i], (unsigned long long)k[i]);
    bool numbers_only = nn == k[KN_INT] + k[KN_FRAC];
    f->cast = NULL;
    if (nn == 0) {
        f->t = T_STRING;
        set_note(f, "only nulls seen");
    } else if (nn == k[KN_OBJ]) {
        f->t = f->nkids ? T_STRUCT : T_JSON;
        if (!f->nkids)
            set_note(f, "only empty objects seen: kept as json");
    } else if (nn == k[KN_ARR]) {
        f->t = T_LIST;
    } else if (nn == k[KN_BOOL]) {
        f->t = T_BOOL;
    } else if (numbers_only) {
        f->t = k[KN_FRAC] ? T_DOUBLE : T_INT;
        if (k[KN_FRAC] && k[KN_INT])
            set_note(f, "integers and fractions: double");
    } else if (nn == k[KN_STR]) {
        if (f->s_ts && f->s_ts + f->s_date == k[KN_STR]) {
            f->t = T_TS;
            f->cast = "timestamp";
            set_note(f, f->s_offset ? "ISO-8601 timestamps with UTC offsets: stored as UTC"
                                 : "ISO-8601 timestamps");
        } else if (f->s_date == k[KN_STR]) {
            f->t = T_DATE;
            f->cast = "date";
        } else if (f->s_num == k[KN_STR] && f->s_scale == 0 && f->s_idig <= 18) {
            f->t = T_INT;
            f->cast = "int";
            set_note(f, "integer strings");
        } else if (f->s_num == k[KN_STR] && f->s_idig + f->s_scale <= 38) {
            f->t = T_DECIMAL;
            f->prec = f->s_idig + f->s_scale;
            if (f->prec < 1)
                f->prec = 1;
            f->scale = f->s_scale;
            f->cast = "decimal";
            set_note(f, "numeric strings: every sample fits");
        } else {
            f->t = T_STRING;
            if (f->s_num || f->s_ts || f->s_date) {
                char why[160];
                snprintf(why, sizeof why, "mixed text (%llu numeric, %llu timestamps, %llu dates "
                         "of %llu)", (unsigned long long)f->s_num, (unsigned long long)f->s_ts,
                         (unsigned long long)f->s_date, (unsigned long long)k[KN_STR]);
                set_note(f, why);
            }
        }
        if (f->t == T_STRING && !f->many && f->nvals && f->nvals < k[KN_STR] &&
            f->nvals <= ix->o.max_enum) {
            qsort(f->vals, f->nvals, sizeof *f->vals, cmp_str);
            char list[300] = "";
            size_t ll = 0;
            for (unsigned i = 0; i < f->nvals && ll < sizeof list; i++)
                ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s%s", i ? ", " : "",
                                       f->vals[i]);
            char what[340];
            snprintf(what, sizeof what, "enum of %u values: %s", f->nvals, list);
            set_note(f, what);
        }
    } else if (k[KN_OBJ] || k[KN_ARR]) {
        f->t = T_JSON;
        f->cast = "json";
    } else {
        f->t = T_STRING;
        f->cast = "string";
    }
    f->varies = nonnull_kinds(f) > 1 && !numbers_only;
    if (f->varies) {
        char what[200];
        snprintf(what, sizeof what, "type varies between records: chose %s",
                 f->t == T_JSON ? "json" : "string");
        set_note(f, what);
    }
    switch (f->t) {
    case T_NONE:
    case T_STRING:
        snprintf(f->type_text, sizeof f->type_text, "string");
        break;
    case T_BOOL:
        snprintf(f->type_text, sizeof f->type_text, "bool");
        break;
    case T_INT:
        snprintf(f->type_text, sizeof f->type_text, "int64");
        break;
    case T_DOUBLE:
        snprintf(f->type_text, sizeof f->type_text, "double");
        break;
    case T_DECIMAL:
        snprintf(f->type_text, sizeof f->type_text, "decimal(%d,%d)", f->prec, f->scale);
        break;
    case T_TS:
        snprintf(f->type_text, sizeof f->type_text, f->s_frac_ts > 6 ? "timestamp_ns" : "timestamp_us");
        break;
    case T_DATE:
        snprintf(f->type_text, sizeof f->type_text, "date");
        break;
    case T_JSON:
        snprintf(f->type_text, sizeof f->type_text, "json");
        break;
    case T_STRUCT:
        snprintf(f->type_text, sizeof f->type_text, "struct");
        break;
    case T_LIST:
        snprintf(f->type_text, sizeof f->type_text, "list");
        break;
    }
    for (size_t i = 0; i < f->nkids; i++)
        decide(ix, f->kids[i]);
    if (f->elem)
        decide(ix, f->elem);
    if (f->t == T_LIST && f->elem)
        snprintf(f->type_text, sizeof f->type_text, "list<%.50s>", f->elem->type_text);
}

static void type_text(fnode *f)
{
    static const char *const names[] = {"string", "bool", "int64", "double", "decimal",
                                        "string", "timestamp_us", "date", "json", "struct",
                                        "list"};
    if (f->t == T_DECIMAL)
        snprintf(f->type_text, sizeof f->type_text, "decimal(%d,%d)", f->prec, f->scale);
    else if (f->t != T_LIST)
        snprintf(f->type_text, sizeof f->type_text, "%s", names[f->t]);
}

/* Inferring mapped records: a column's cast decides its type family (the
 * values were already cast, so "10" from `cast: string` stays a string). */
static void apply_cast(fnode *f, const char *cast)
{
    if (!cast || f->t == T_NONE)
        return;
    ctype was = f->t;
    if (strcmp(cast, "string") == 0)
        f->t = T_STRING;
    else if (strcmp(cast, "int") == 0)
        f->t = T_INT;
    else if (strcmp(cast, "double") == 0)
        f->t = T_DOUBLE;
    else if (strcmp(cast, "bool") == 0)
        f->t = T_BOOL;
    else if (strcmp(cast, "json") == 0)
        f->t = T_JSON;
    else if (strcmp(cast, "timestamp") == 0)
        f->t = T_TS;
    else if (strcmp(cast, "date") == 0)
        f->t = T_DATE;
    else if (strcmp(cast, "decimal") == 0 && f->t != T_DECIMAL) {
        if (f->t == T_INT && f->n_idig + f->s_idig <= 38) {
            f->t = T_DECIMAL;
            f->prec = PQF_MAX(PQF_MAX(f->n_idig, f->s_idig), 1);
            f->scale = 0;
        } else {
            f->t = T_DOUBLE;
        }
    }
    if (f->t != was) {
        type_text(f);
        snprintf(f->note, sizeof f->note, "type from the mapping's cast %s", cast);
    }
}

static uint64_t of_count(const pqf_infer *ix, const fnode *f)
{
    if (f->is_elem)
        return f->parent->elems;
    return f->parent == &ix->root ? ix->records : f->parent->objects;
}

static bool nullable(const pqf_infer *ix, const fnode *f, bool flat)
{
    if (f->kinds[KN_NULL] || f->t == T_NONE || f->force_null)
        return true;
    if (flat) /* a flattened column: missing whenever any ancestor was missing or null */
        for (const fnode *a = f; a && a != &ix->root; a = a->parent)
            if (a->kinds[KN_NULL] || a->present < of_count(ix, a))
                return true;
    return f->present < of_count(ix, f);
}

static pqf_err add_leaf(pqf_schema *s, int parent, const char *name, const fnode *f,
                        pqf_repetition rep, pqf_error *err)
{
    pqf_logical lt = {0};
    pqf_physical ph = PQF_BYTE_ARRAY;
    switch (f->t) {
    case T_BOOL:
        ph = PQF_BOOLEAN;
        break;
    case T_INT:
        ph = PQF_INT64;
        break;
    case T_DOUBLE:
        ph = PQF_DOUBLE;
        break;
    case T_DECIMAL:
        lt.kind = PQF_LT_DECIMAL;
        lt.precision = f->prec;
        lt.scale = f->scale;
        ph = f->prec <= 9 ? PQF_INT32 : f->prec <= 18 ? PQF_INT64 : PQF_FIXED_LEN_BYTE_ARRAY;
        break;
    case T_TS:
        ph = PQF_INT64;
        lt.kind = PQF_LT_TIMESTAMP;
        lt.unit = f->s_frac_ts > 6 ? PQF_NANOS : PQF_MICROS;
        lt.utc = true;
        break;
    case T_DATE:
        ph = PQF_INT32;
        lt.kind = PQF_LT_DATE;
        break;
    case T_JSON:
    case T_STRUCT: /* empty struct */
        lt.kind = PQF_LT_JSON;
        break;
    default:
        lt.kind = PQF_LT_STRING;
        break;
    }
    int tl = 0;
    if (ph == PQF_FIXED_LEN_BYTE_ARRAY) { /* bytes for `prec` digits */
        static const int need[] = {0,  1,  1,  2,  2,  3,  3,  4,  4,  4,  5,  5,  6,
                                   6,  6,  7,  7,  8,  8,  9,  9,  9,  10, 10, 11, 11,
                                   11, 12, 12, 13, 13, 13, 14, 14, 15, 15, 16, 16, 16};
        tl = need[f->prec];
    }
    return pqf_schema_add_column(s, parent, name, rep, ph, tl, &lt, -1, err) < 0 ? err->code
                                                                                  : PQF_OK;
}

/* STRUCT mode (and everything inside lists) */
static pqf_err add_nested(pqf_infer *ix, pqf_schema *s, int parent, const char *name,
                          const fnode *f, bool is_nullable, pqf_error *err)
{
    pqf_repetition rep = is_nullable ? PQF_OPTIONAL : PQF_REQUIRED;
    if (f->t == T_STRUCT && f->nkids) {
        int g = pqf_schema_add_group(s, parent, name, rep, NULL, -1, err);
        if (g < 0)
            return err->code;
        for (size_t i = 0; i < f->nkids; i++) {
            pqf_err rc = add_nested(ix, s, g, f->kids[i]->name, f->kids[i],
                                    nullable(ix, f->kids[i], false), err);
            if (rc != PQF_OK)
                return rc;
        }
        return PQF_OK;
    }
    if (f->t == T_LIST) {
        int g = pqf_schema_add_list(s, parent, name, rep, -1, err);
        if (g < 0)
            return err->code;
        if (!f->elem || f->elem->t == T_NONE) {
            fnode none;
            memset(&none, 0, sizeof none);
            none.t = T_STRING;
            return add_leaf(s, g, "element", &none, PQF_OPTIONAL, err);
        }
        return add_nested(ix, s, g, "element", f->elem, f->elem->kinds[KN_NULL] > 0, err);
    }
    return add_leaf(s, parent, name, f, rep, err);
}

/* ---- the proposal ------------------------------------------------------------ */

static bool yaml_bare(const char *s)
{
    static const char *const words[] = {"true", "false", "yes", "no", "null", "on", "off",
                                        "y", "n", "~"};
    if (!*s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (const char *q = s; *q; q++)
        if (!((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
              *q == '_' || *q == '-' || *q == '.'))
            return false;
    for (size_t i = 0; i < PQF_ARRAY_LEN(words); i++)
        if (strcasecmp(s, words[i]) == 0)
            return false;
    return true;
}

static pqf_err yaml_str(pqf__buf *b, const char *s)
{
    if (yaml_bare(s))
        return pqf__buf_append(b, s, strlen(s));
    pqf_err rc = pqf__buf_append(b, "\"", 1);
    for (const unsigned char *q = (const unsigned char *)s; *q && rc == PQF_OK; q++) {
        if (*q == '"' || *q == '\\')
            rc = pqf__buf_printf(b, "\\%c", *q);
        else if (*q < 0x20 || *q == 0x7f)
            rc = pqf__buf_printf(b, "\\x%02x", *q);
        else
            rc = pqf__buf_append(b, (const char *)q, 1);
    }
    return rc == PQF_OK ? pqf__buf_append(b, "\"", 1) : rc;
}

/* A field path is addressable when no name on it is empty; a name holding
 * '.' needs the list form (from: [a, "b.c"]). */
static bool addressable(const fnode *f, bool *dotted)
{
    *dotted = false;
    for (; f && f->parent; f = f->parent) {
        if (!f->name[0])
            return false;
        if (strchr(f->name, '.'))
            *dotted = true;
    }
    return true;
}

static pqf_err emit_from(pqf__buf *y, const fnode *f, bool list)
{
    if (!list)
        return yaml_str(y, f->path);
    const fnode *chain[64];
    size_t n = 0;
    for (const fnode *a = f; a && a->parent && n < 64; a = a->parent)
        chain[n++] = a;
    pqf_err rc = pqf__buf_append(y, "[", 1);
    for (size_t i = n; i-- > 0 && rc == PQF_OK;) {
        rc = yaml_str(y, chain[i]->name);
        if (rc == PQF_OK && i)
            rc = pqf__buf_append(y, ", ", 2);
    }
    return rc == PQF_OK ? pqf__buf_append(y, "]", 1) : rc;
}

typedef struct {
    pqf_infer *ix;
    pqf_schema *s;
    pqf__buf *y;
    pqf_error *err;
} bctx;

static pqf_err emit_column(bctx *b, const char *column, const fnode *f)
{
    pqf_err rc = PQF_OK;
    bool dotted;
    if (!b->y)
        return PQF_OK;
    if (!addressable(f, &dotted))
        return pqf__buf_printf(b->y, "  # %s: field path '%s' holds an empty name, which a "
                                     "mapping cannot address\n", column, f->path);
    PQF_TRY(pqf__buf_append(b->y, "  ", 2));
    PQF_TRY(yaml_str(b->y, column));
    PQF_TRY(pqf__buf_append(b->y, ": ", 2));
    if (f->cast || (dotted && f->parent->parent)) {
        PQF_TRY(pqf__buf_append(b->y, "{from: ", 7));
        PQF_TRY(emit_from(b->y, f, dotted));
        if (f->cast)
            PQF_TRY(pqf__buf_printf(b->y, ", cast: %s", f->cast));
        PQF_TRY(pqf__buf_append(b->y, "}", 1));
    } else if (dotted) { /* a top-level name with '.': the column of the same name reads it */
        PQF_TRY(pqf__buf_append(b->y, "{}", 2));
    } else {
        PQF_TRY(yaml_str(b->y, f->path));
    }
    if (f->note[0] && strstr(f->note, "varies"))
        PQF_TRY(pqf__buf_printf(b->y, "   # type varies between records"));
    PQF_TRY(pqf__buf_append(b->y, "\n", 1));
done:
    return rc;
}

static pqf_err unique_name(pqf_schema *s, const char *want, char *out, size_t cap)
{
    snprintf(out, cap, "%s", want);
    for (int i = 2; pqf_schema_find_child(s, 0, out) >= 0; i++) {
        if (i > 1000)
            return PQF_ERR_LIMIT;
        snprintf(out, cap, "%s_%d", want, i);
    }
    return PQF_OK;
}

static pqf_err add_flat(bctx *b, fnode *f, const char *prefix)
{
    pqf_err rc = PQF_OK;
    char name[1024], col[1100];
    snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "_" : "", f->name);
    if (f->t == T_STRUCT && f->nkids && b->ix->o.flatten) {
        for (size_t i = 0; i < f->nkids; i++)
            PQF_TRY(add_flat(b, f->kids[i], name));
        return PQF_OK;
    }
    if (unique_name(b->s, name, col, sizeof col) != PQF_OK)
        return pqf_error_set(b->err, PQF_ERR_LIMIT, "too many columns named %s", name);
    if (!(f->column = strdup(col)))
        return pqf_error_set(b->err, PQF_ERR_NOMEM, "out of memory");
    PQF_TRY(add_nested(b->ix, b->s, 0, col, f, nullable(b->ix, f, b->ix->o.flatten), b->err));
    PQF_TRY(emit_column(b, col, f));
done:
    return rc;
}

pqf_err pqf_infer_finish(pqf_infer *ix, pqf_schema **schema, char **mapping_yaml,
                         pqf_error *err)
{
    pqf_err rc = PQF_OK;
    pqf__buf y;
    pqf__buf_init(&y, 64u << 20);
    pqf_schema *s = NULL;
    *schema = NULL;
    if (mapping_yaml)
        *mapping_yaml = NULL;
    if (ix->finished)
        PQF_FAIL(err, PQF_ERR_INVALID_ARG, "pqf_infer_finish called twice");
    ix->finished = true;
    if (ix->records == 0 || ix->root.nkids == 0)
        PQF_FAIL(err, PQF_ERR_SCHEMA, "no records with fields to infer a schema from");
    for (size_t i = 0; i < ix->root.nkids; i++) {
        fnode *f = ix->root.kids[i];
        decide(ix, f);
        const char *keep = ix->o.mapping ? pqf__mapping_keep_column(ix->o.mapping) : NULL;
        if (keep && strcmp(f->name, keep) == 0) { /* unknown fields, kept as JSON */
            f->t = T_JSON;
            f->force_null = true;
            type_text(f);
        }
        if (ix->o.mapping)
            apply_cast(f, pqf__mapping_cast(ix->o.mapping, f->name));
    }
    s = pqf_schema_create();
    if (!s)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    bool want_map = mapping_yaml && !ix->o.mapping;
    if (want_map)
        PQF_TRY(pqf__buf_printf(&y,
                                "# Proposed by pqfeed schema infer from %llu records (%s); "
                                "review before use.\n"
                                "# Field paths (a.b.c) -> columns; docs/MAPPING.md.\n"
                                "unknown: fail\ncolumns:\n",
                                (unsigned long long)ix->records,
                                ix->o.flatten ? "nested objects flattened to a_b columns"
                                              : "nested objects as STRUCT columns"));
    bctx b = {ix, s, want_map ? &y : NULL, err};
    for (size_t i = 0; i < ix->root.nkids; i++)
        PQF_TRY(add_flat(&b, ix->root.kids[i], ""));
    PQF_TRY(pqf_schema_finish(s, err));
    ix->report = calloc(ix->norder ? ix->norder : 1, sizeof *ix->report);
    if (!ix->report)
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < ix->norder; i++) {
        const fnode *f = ix->order[i];
        pqf_infer_field *r = &ix->report[ix->nreport++];
        r->path = f->path;
        r->column = f->column;
        r->seen = f->present;
        r->of = of_count(ix, f);
        r->nulls = f->kinds[KN_NULL];
        r->type = f->type_text;
        r->kinds = f->kinds_text;
        r->varies = f->varies;
        r->cast = f->cast;
        r->note = f->note[0] ? f->note : NULL;
    }
    if (want_map) {
        PQF_TRY(pqf__buf_cstr(&y));
        size_t n;
        *mapping_yaml = (char *)pqf__buf_steal(&y, &n);
    }
    *schema = s;
    s = NULL;
done:
    if (rc == PQF_ERR_LIMIT && !err->msg[0])
        pqf_error_set(err, rc, "the proposed mapping is too large");
    pqf__buf_free(&y);
    pqf_schema_free(s);
    return rc;
}

uint64_t pqf_infer_records(const pqf_infer *ix) { return ix->records; }
size_t pqf_infer_nfields(const pqf_infer *ix) { return ix->nreport; }
const pqf_infer_field *pqf_infer_field_at(const pqf_infer *ix, size_t i)
{
    return i < ix->nreport ? &ix->report[i] : NULL;
}
