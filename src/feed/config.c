/* The pipeline config file: libyaml events -> a small tree with line numbers
 * -> pqf_config, with strict keys and messages naming file, line and key. */
#include "pqfeed/config.h"
#include "pqfeed/contract.h"

#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/base.h"
#include "base/fsutil.h"
#include "feed/yamltree.h"
#include "pqfeed/export.h"
#include "pqfeed/mapping.h"

#define CONFIG_MAX_BYTES (4u << 20)
#define CONFIG_MAX_DEPTH 16
#define CONFIG_MAX_NODES 100000

typedef pqf__ynode ynode;

typedef struct {
    const char *file;
    char dir[4096];
    pqf_error *err;
    size_t nodes;
} cctx;

static void node_free(ynode *n)
{
    while (n) {
        ynode *next = n->next;
        node_free(n->child);
        free(n->text);
        free(n->key);
        free(n);
        n = next;
    }
}

static void add_child(ynode *p, ynode *c)
{
    if (p->last)
        p->last->next = c;
    else
        p->child = c;
    p->last = c;
}

/* Build the tree from parser events, recursively. *out is the node that
 * starts with event ev (already read). */
static pqf_err build(cctx *x, yaml_parser_t *ps, yaml_event_t *ev, int depth, ynode **out)
{
    pqf_err rc = PQF_OK;
    ynode *n = NULL;
    yaml_event_t e;
    bool have = false;
    if (depth > CONFIG_MAX_DEPTH || ++x->nodes > CONFIG_MAX_NODES)
        return pqf_error_set(x->err, PQF_ERR_LIMIT, "%s:%zu: nested too deeply or too large",
                             x->file, ev->start_mark.line + 1);
    n = calloc(1, sizeof *n);
    if (!n)
        return pqf_error_set(x->err, PQF_ERR_NOMEM, "out of memory");
    n->line = (unsigned)ev->start_mark.line + 1;
    if (ev->type == YAML_SCALAR_EVENT) {
        n->type = PQF__Y_SCALAR;
        n->text = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!n->text)
            PQF_FAIL(x->err, PQF_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (ev->type == YAML_ALIAS_EVENT)
        PQF_FAIL(x->err, PQF_ERR_PARSE, "%s:%u: aliases are not supported", x->file, n->line);
    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    if (!is_map && ev->type != YAML_SEQUENCE_START_EVENT)
        PQF_FAIL(x->err, PQF_ERR_PARSE, "%s:%u: unexpected YAML event", x->file, n->line);
    n->type = is_map ? PQF__Y_MAP : PQF__Y_SEQ;
    for (;;) {
        if (!yaml_parser_parse(ps, &e))
            PQF_FAIL(x->err, PQF_ERR_PARSE, "%s:%zu: %s", x->file, ps->problem_mark.line + 1,
                     ps->problem ? ps->problem : "YAML syntax error");
        have = true;
        if (e.type == (is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT))
            break;
        char *key = NULL;
        unsigned key_line = 0;
        if (is_map) {
            key_line = (unsigned)e.start_mark.line + 1;
            if (e.type != YAML_SCALAR_EVENT)
                PQF_FAIL(x->err, PQF_ERR_PARSE, "%s:%zu: a key must be a plain string", x->file,
                         e.start_mark.line + 1);
            key = strndup((const char *)e.data.scalar.value, e.data.scalar.length);
            if (!key)
                PQF_FAIL(x->err, PQF_ERR_NOMEM, "out of memory");
            for (ynode *c = n->child; c; c = c->next)
                if (strcmp(c->key, key) == 0) {
                    rc = pqf_error_set(x->err, PQF_ERR_PARSE, "%s:%zu: key '%s' appears twice",
                                       x->file, e.start_mark.line + 1, key);
                    free(key);
                    goto done;
                }
            yaml_event_delete(&e);
            have = false;
            if (!yaml_parser_parse(ps, &e)) {
                free(key);
                PQF_FAIL(x->err, PQF_ERR_PARSE, "%s:%zu: %s", x->file, ps->problem_mark.line + 1,
                         ps->problem ? ps->problem : "YAML syntax error");
            }
            have = true;
        }
        ynode *c = NULL;
        rc = build(x, ps, &e, depth + 1, &c);
        if (rc != PQF_OK) {
            free(key);
            goto done;
        }
        c->key = key;
        if (key)
            c->line = key_line; /* a member is reported where its key stands */
        add_child(n, c);
        yaml_event_delete(&e);
        have = false;
    }
done:
    if (have)
        yaml_event_delete(&e);
    if (rc != PQF_OK) {
        node_free(n);
        n = NULL;
    }
    *out = n;
    return rc;
}

static pqf_err parse_tree(cctx *x, const char *text, size_t len, ynode **root)
{
    pqf_err rc = PQF_OK;
    yaml_parser_t ps;
    yaml_event_t e;
    bool have = false;
    *root = NULL;
    if (!yaml_parser_initialize(&ps))
        return pqf_error_set(x->err, PQF_ERR_NOMEM, "out of memory");
    yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&ps, &e))
            PQF_FAIL(x->err, PQF_ERR_PARSE, "%s:%zu: %s", x->file, ps.problem_mark.line + 1,
                     ps.problem ? ps.problem : "YAML syntax error");
        have = true;
        if (e.type == YAML_STREAM_END_EVENT)
            break;
        if (e.type == YAML_MAPPING_START_EVENT || e.type == YAML_SEQUENCE_START_EVENT ||
            e.type == YAML_SCALAR_EVENT) {
            if (*root)
                PQF_FAIL(x->err, PQF_ERR_PARSE, "%s:%zu: only one YAML document is allowed",
                         x->file, e.start_mark.line + 1);
            PQF_TRY(build(x, &ps, &e, 0, root));
        }
        yaml_event_delete(&e);
        have = false;
    }
    if (!*root || (*root)->type != PQF__Y_MAP)
        PQF_FAIL(x->err, PQF_ERR_PARSE, "%s: the config must be a mapping (key: value lines)",
                 x->file);
done:
    if (have)
        yaml_event_delete(&e);
    yaml_parser_delete(&ps);
    return rc;
}

pqf_err pqf__yaml_load(const char *file, const char *text, size_t len, pqf__ynode **root,
                       pqf_error *err)
{
    cctx x;
    memset(&x, 0, sizeof x);
    x.file = file;
    x.err = err;
    pqf_err rc = parse_tree(&x, text, len, root);
    if (rc != PQF_OK) {
        node_free(*root);
        *root = NULL;
    }
    return rc;
}

void pqf__yaml_free(pqf__ynode *n)
{
    node_free(n);
}

/* ---- typed access --------------------------------------------------------------- */

static pqf_err bad(cctx *x, const ynode *n, const char *path, const char *why)
{
    return pqf_error_set(x->err, PQF_ERR_PARSE, "%s:%u: %s: %s", x->file, n->line, path, why);
}

static pqf_err get_str(cctx *x, const ynode *n, const char *path, char **out)
{
    if (n->type != PQF__Y_SCALAR)
        return bad(x, n, path, "expected a string");
    free(*out);
    *out = strdup(n->text);
    return *out ? PQF_OK : pqf_error_set(x->err, PQF_ERR_NOMEM, "out of memory");
}

/* A path relative to the config file's folder (URLs and absolute paths as they are). */
static pqf_err get_path(cctx *x, const ynode *n, const char *path, char **out)
{
    if (n->type != PQF__Y_SCALAR || !n->text[0])
        return bad(x, n, path, "expected a path");
    const char *t = n->text;
    /* "sqlite:REL" is a path too; URLs and absolute paths stay as they are */
    const char *scheme = strncmp(t, "sqlite:", 7) == 0 ? "sqlite:" : "";
    t += strlen(scheme);
    bool url = strstr(t, "://") != NULL || strncmp(t, "postgres", 8) == 0;
    free(*out);
    if (url || t[0] == '/' || !x->dir[0]) {
        size_t l = strlen(scheme) + strlen(t) + 1;
        *out = malloc(l);
        if (*out)
            snprintf(*out, l, "%s%s", scheme, t);
    } else {
        while (t[0] == '.' && t[1] == '/')
            t += 2; /* "./feed" -> "feed" */
        size_t l = strlen(scheme) + strlen(x->dir) + strlen(t) + 2;
        *out = malloc(l);
        if (*out)
            snprintf(*out, l, "%s%s/%s", scheme, x->dir, t);
    }
    return *out ? PQF_OK : pqf_error_set(x->err, PQF_ERR_NOMEM, "out of memory");
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *s == '-')
        return -1;
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1ull << 10;
    else if (*end == 'M' || *end == 'm')
        mul = 1ull << 20;
    else if (*end == 'G' || *end == 'g')
        mul = 1ull << 30;
    else if (*end)
        return -1;
    if (*end && end[1] && strcmp(end + 1, "B") != 0 && strcmp(end + 1, "iB") != 0)
        return -1;
    *out = v * mul;
    return 0;
}

static pqf_err get_u64(cctx *x, const ynode *n, const char *path, bool size, uint64_t *out)
{
    if (n->type != PQF__Y_SCALAR)
        return bad(x, n, path, size ? "expected a size like 64M" : "expected a number");
    if (size) {
        if (parse_size(n->text, out) != 0)
            return bad(x, n, path, "expected a size like 64M");
        return PQF_OK;
    }
    char *end;
    unsigned long long v = strtoull(n->text, &end, 10);
    if (end == n->text || *end || n->text[0] == '-')
        return bad(x, n, path, "expected a non-negative number");
    *out = v;
    return PQF_OK;
}

/* A replica: a store, or a map of `store:` and its replication settings. */
static pqf_err parse_replica(cctx *x, const ynode *r, char **uri, pqf_config_replica *o)
{
    pqf_err rc = PQF_OK;
    o->verify = -1;
    o->line = r->line;
    if (r->type != PQF__Y_MAP)
        return get_path(x, r, "replicas", uri);
    for (const ynode *m = r->child; m; m = m->next) {
        const char *k = m->key;
        uint64_t v = 0;
        if (strcmp(k, "store") == 0) {
            PQF_TRY(get_path(x, m, "replicas.store", uri));
            continue;
        }
        o->set = true;
        if (strcmp(k, "concurrency") == 0) {
            PQF_TRY(get_u64(x, m, "replicas.concurrency", false, &v));
            if (v == 0 || v > 100000)
                PQF_TRY(bad(x, m, "replicas.concurrency", "expected 1 to 100000"));
            o->concurrency = (unsigned)v;
        } else if (strcmp(k, "part_size") == 0) {
            PQF_TRY(get_u64(x, m, "replicas.part_size", true, &v));
            if (v < (5u << 20) || v > (5ull << 30))
                PQF_TRY(bad(x, m, "replicas.part_size", "expected 5M to 5G (S3 part sizes)"));
            o->part_size = v;
        } else if (strcmp(k, "max_inflight_bytes") == 0) {
            PQF_TRY(get_u64(x, m, "replicas.max_inflight_bytes", true, &v));
            if (v < 1024)
                PQF_TRY(bad(x, m, "replicas.max_inflight_bytes", "expected at least 1K"));
            o->max_inflight_bytes = v;
        } else if (strcmp(k, "bwlimit") == 0) {
            PQF_TRY(get_u64(x, m, "replicas.bwlimit", true, &v));
            if (v < 1024)
                PQF_TRY(bad(x, m, "replicas.bwlimit", "expected at least 1K (bytes per second)"));
            o->bwlimit = v;
        } else if (strcmp(k, "verify") == 0) {
            if (m->type != PQF__Y_SCALAR ||
                (strcmp(m->text, "size") != 0 && strcmp(m->text, "full") != 0))
                PQF_TRY(bad(x, m, "replicas.verify", "expected size or full"));
            o->verify = strcmp(m->text, "full") == 0;
        } else {
            PQF_TRY(bad(x, m, k, "unknown replica setting (store, concurrency, part_size, "
                                 "max_inflight_bytes, bwlimit, verify)"));
        }
    }
    if (!*uri)
        PQF_TRY(bad(x, r, "replicas", "a replica written as a map needs store:"));
done:
    return rc;
}

/* key: [a, b] or key: a or key: "a,b" -> "a,b" */
static pqf_err get_list_csv(cctx *x, const ynode *n, const char *path, char **out)
{
    if (n->type == PQF__Y_SCALAR)
        return get_str(x, n, path, out);
    if (n->type != PQF__Y_SEQ)
        return bad(x, n, path, "expected a list");
    size_t len = 1;
    for (const ynode *c = n->child; c; c = c->next) {
        if (c->type != PQF__Y_SCALAR)
            return bad(x, c, path, "expected a list of names");
        len += strlen(c->text) + 1;
    }
    free(*out);
    *out = calloc(1, len);
    if (!*out)
        return pqf_error_set(x->err, PQF_ERR_NOMEM, "out of memory");
    for (const ynode *c = n->child; c; c = c->next) {
        if (c != n->child)
            strcat(*out, ",");
        strcat(*out, c->text);
    }
    return PQF_OK;
}

static pqf_err parse_table(cctx *x, const ynode *tn, pqf_config_table *t)
{
    pqf_err rc = PQF_OK;
    char path[512];
    pqf_writer_opts_init(&t->writer);
    t->line = tn->line;
    if (!pqf_table_name_ok(tn->key))
        return bad(x, tn, "tables", "a table name is letters, digits, _ and -, from a letter");
    t->name = strdup(tn->key);
    if (!t->name)
        return pqf_error_set(x->err, PQF_ERR_NOMEM, "out of memory");
    if (tn->type != PQF__Y_MAP)
        return bad(x, tn, "tables", "each table is a mapping");
    bool have_source = false;
    for (const ynode *m = tn->child; m; m = m->next) {
        snprintf(path, sizeof path, "tables.%s.%s", t->name, m->key);
        const char *k = m->key;
        if (strcmp(k, "source") == 0) {
            have_source = true;
            if (m->type != PQF__Y_MAP)
                PQF_TRY(bad(x, m, path, "expected a mapping (format, path)"));
            for (const ynode *s = m->child; s; s = s->next) {
                snprintf(path, sizeof path, "tables.%s.source.%s", t->name, s->key);
                if (strcmp(s->key, "format") == 0) {
                    const char *f = s->type == PQF__Y_SCALAR ? s->text : "";
                    if (strcmp(f, "csv") == 0)
                        t->format = PQF_FORMAT_CSV;
                    else if (strcmp(f, "ndjson") == 0)
                        t->format = PQF_FORMAT_NDJSON;
                    else if (strcmp(f, "postgres") == 0 || strcmp(f, "sqlite") == 0)
                        PQF_TRY(get_str(x, s, path, &t->db_driver));
                    else
                        PQF_TRY(bad(x, s, path, "expected csv, ndjson, postgres or sqlite"));
                } else if (strcmp(s->key, "path") == 0) {
                    PQF_TRY(get_path(x, s, path, &t->path));
                } else if (strcmp(s->key, "conninfo") == 0) {
                    PQF_TRY(get_str(x, s, path, &t->conninfo));
                } else if (strcmp(s->key, "table") == 0) {
                    PQF_TRY(get_str(x, s, path, &t->db_table));
                } else if (strcmp(s->key, "query") == 0) {
                    PQF_TRY(get_str(x, s, path, &t->db_query));
                } else {
                    PQF_TRY(bad(x, s, path, "unknown key"));
                }
            }
            snprintf(path, sizeof path, "tables.%s.source", t->name);
            bool pg = t->db_driver && strcmp(t->db_driver, "postgres") == 0;
            if (t->db_driver && !t->db_table == !t->db_query)
                PQF_TRY(bad(x, m, path, "a database source needs exactly one of table and query"));
            if (!t->db_driver && (t->db_table || t->db_query || t->conninfo))
                PQF_TRY(bad(x, m, path, "table, query and conninfo need format postgres or sqlite"));
            if (pg && !t->conninfo)
                PQF_TRY(bad(x, m, path, "format postgres needs a conninfo"));
            if (!pg && t->conninfo)
                PQF_TRY(bad(x, m, path, "conninfo is for format postgres"));
            if (!pg && !t->path)
                PQF_TRY(bad(x, m, path, "needs a path"));
            if (pg && t->path)
                PQF_TRY(bad(x, m, path, "format postgres takes a conninfo, not a path"));
        } else if (strcmp(k, "schema") == 0) {
            PQF_TRY(get_path(x, m, path, &t->schema_path));
        } else if (strcmp(k, "mapping") == 0) {
            PQF_TRY(get_path(x, m, path, &t->mapping_path));
        } else if (strcmp(k, "infer_rows") == 0) {
            PQF_TRY(get_u64(x, m, path, false, &t->infer_rows));
        } else if (strcmp(k, "key") == 0) {
            PQF_TRY(get_list_csv(x, m, path, &t->key));
            t->key_line = m->line;
        } else if (strcmp(k, "mode") == 0) {
            if (m->type == PQF__Y_SCALAR && strcmp(m->text, "snapshot") == 0)
                t->mode = PQF_COMMIT_SNAPSHOT;
            else if (m->type == PQF__Y_SCALAR && strcmp(m->text, "changes") == 0)
                t->mode = PQF_COMMIT_CHANGES;
            else
                PQF_TRY(bad(x, m, path, "expected snapshot or changes"));
        } else if (strcmp(k, "watermark") == 0) {
            PQF_TRY(get_str(x, m, path, &t->watermark));
        } else if (strcmp(k, "delete_column") == 0) {
            PQF_TRY(get_str(x, m, path, &t->delete_column));
        } else if (strcmp(k, "created_column") == 0) {
            PQF_TRY(get_str(x, m, path, &t->created_column));
        } else if (strcmp(k, "overlap") == 0) {
            if (m->type != PQF__Y_SCALAR || !pqf_duration_parse(m->text, &t->overlap_ms) ||
                t->overlap_ms <= 0)
                PQF_TRY(bad(x, m, path, "expected a duration like 10m"));
        } else if (strcmp(k, "target_file_size") == 0) {
            PQF_TRY(get_u64(x, m, path, true, &t->target_file_bytes));
        } else if (strcmp(k, "row_group_size") == 0) {
            PQF_TRY(get_u64(x, m, path, true, &t->writer.row_group_bytes));
        } else if (strcmp(k, "page_size") == 0) {
            PQF_TRY(get_u64(x, m, path, true, &t->writer.page_bytes));
        } else if (strcmp(k, "codec") == 0) {
            if (m->type != PQF__Y_SCALAR || pqf_codec_from_name(m->text, &t->writer.codec) != PQF_OK)
                PQF_TRY(bad(x, m, path, "expected zstd, snappy, gzip, lz4_raw, brotli or none"));
        } else if (strcmp(k, "level") == 0) {
            uint64_t v = 0;
            PQF_TRY(get_u64(x, m, path, false, &v));
            t->writer.level = (int)(v > 22 ? 22 : v);
        } else if (strcmp(k, "page_version") == 0) {
            uint64_t v = 0;
            PQF_TRY(get_u64(x, m, path, false, &v));
            if (v != 1 && v != 2)
                PQF_TRY(bad(x, m, path, "expected 1 or 2"));
            t->writer.page_version = (int)v;
        } else if (strcmp(k, "schedule") == 0) {
            /* a per-table hint, accepted for documentation */
        } else {
            PQF_TRY(bad(x, m, path, "unknown key"));
        }
    }
    snprintf(path, sizeof path, "tables.%s", t->name);
    if (!have_source)
        PQF_TRY(bad(x, tn, path, "needs a source"));
    if (t->db_driver && t->infer_rows)
        PQF_TRY(bad(x, tn, path, "a database source is described by the database: no infer_rows"));
    if (!t->db_driver && !t->schema_path == !t->infer_rows)
        PQF_TRY(bad(x, tn, path, "needs exactly one of schema and infer_rows"));
    if (t->mapping_path && !t->schema_path)
        PQF_TRY(bad(x, tn, path, "mapping needs a schema (the feed's columns), not infer_rows"));
    if (t->overlap_ms && (t->mode != PQF_COMMIT_CHANGES || !t->key))
        PQF_TRY(bad(x, tn, path, "overlap needs mode changes and a key"));
    if (t->mode == PQF_COMMIT_CHANGES && !t->watermark)
        PQF_TRY(bad(x, tn, path, "mode changes needs a watermark"));
    if (t->format == PQF_FORMAT_AUTO)
        t->format = pqf_format_for_path(t->path, PQF_FORMAT_AUTO) == PQF_FORMAT_NDJSON
                        ? PQF_FORMAT_NDJSON
                        : PQF_FORMAT_AUTO;
done:
    return rc;
}

bool pqf_duration_parse(const char *s, int64_t *ms)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    uint64_t whole = 0, frac = 0, scale = 1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (whole > 1000000000000000ull)
            return false;
        whole = whole * 10 + (uint64_t)(*s - '0');
    }
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return false;
        for (; *s >= '0' && *s <= '9'; s++)
            if (scale < 1000000000ull) { /* digits past 9 do not matter at ms */
                frac = frac * 10 + (uint64_t)(*s - '0');
                scale *= 10;
            }
    }
    uint64_t mul = strcmp(s, "ms") == 0                 ? 1
                   : (*s == 0 || strcmp(s, "s") == 0) ? 1000
                   : strcmp(s, "m") == 0                ? 60000
                   : strcmp(s, "h") == 0                ? 3600000
                   : strcmp(s, "d") == 0                ? 86400000
                                                        : 0;
    if (!mul || whole > 1000000000000000ull / mul)
        return false;
    uint64_t v = whole * mul + frac * mul / scale;
    if (v > 1000000000000000ull)
        return false;
    *ms = (int64_t)v;
    return true;
}

static pqf_err parse_schedule(cctx *x, const ynode *n, unsigned *out)
{
    if (n->type != PQF__Y_SCALAR)
        return bad(x, n, "schedule", "expected hourly, daily or a duration like 15m");
    const char *s = n->text;
    if (strcmp(s, "hourly") == 0) {
        *out = 3600;
        return PQF_OK;
    }
    if (strcmp(s, "daily") == 0) {
        *out = 86400;
        return PQF_OK;
    }
    int64_t ms;
    if (!pqf_duration_parse(s, &ms) || ms < 1000 || ms > 7 * 86400000LL || ms % 1000)
        return bad(x, n, "schedule",
                   "expected hourly, daily or a duration like 15m (whole seconds, at most 7d)");
    *out = (unsigned)(ms / 1000);
    return PQF_OK;
}

static bool window_ok(const char *w)
{
    int a, b, c, d;
    char tail;
    return sscanf(w, "%2d:%2d-%2d:%2d%c", &a, &b, &c, &d, &tail) == 4 && a < 24 && c < 24 &&
           b < 60 && d < 60;
}

pqf_err pqf_config_load(const char *path, pqf_config **out, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char *text = NULL;
    size_t len = 0;
    ynode *root = NULL;
    pqf_config *c = NULL;
    cctx x;
    memset(&x, 0, sizeof x);
    x.file = path;
    x.err = err;
    *out = NULL;
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(x.dir, sizeof x.dir, "%.*s", (int)(slash - path), path);
    PQF_TRY(pqf__read_file(path, CONFIG_MAX_BYTES, &text, &len, err));
    PQF_TRY(parse_tree(&x, text, len, &root));
    c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path)))
        PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
    c->schedule_s = 3600;
    for (const ynode *m = root->child; m; m = m->next) {
        const char *k = m->key;
        if (strcmp(k, "primary") == 0) {
            PQF_TRY(get_path(&x, m, k, &c->primary));
        } else if (strcmp(k, "sink") == 0) {
            PQF_TRY(get_path(&x, m, k, &c->sink));
        } else if (strcmp(k, "replicas") == 0) {
            if (m->type != PQF__Y_SEQ)
                PQF_TRY(bad(&x, m, k, "expected a list of stores"));
            size_t n = 0;
            for (const ynode *r = m->child; r; r = r->next)
                n++;
            c->replicas = calloc(n ? n : 1, sizeof *c->replicas);
            c->replica_opts = calloc(n ? n : 1, sizeof *c->replica_opts);
            if (!c->replicas || !c->replica_opts)
                PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
            for (const ynode *r = m->child; r; r = r->next) {
                size_t i = c->nreplicas++;
                PQF_TRY(parse_replica(&x, r, &c->replicas[i], &c->replica_opts[i]));
            }
        } else if (strcmp(k, "contract") == 0) {
            PQF_TRY(get_path(&x, m, k, &c->contract_path));
        } else if (strcmp(k, "schedule") == 0) {
            PQF_TRY(parse_schedule(&x, m, &c->schedule_s));
        } else if (strcmp(k, "window") == 0) {
            PQF_TRY(get_str(&x, m, k, &c->window));
            if (!window_ok(c->window))
                PQF_TRY(bad(&x, m, k, "expected HH:MM-HH:MM"));
        } else if (strcmp(k, "tables") == 0) {
            if (m->type != PQF__Y_MAP)
                PQF_TRY(bad(&x, m, k, "expected a mapping of table names"));
            size_t n = 0;
            for (const ynode *t = m->child; t; t = t->next)
                n++;
            c->tables = calloc(n ? n : 1, sizeof *c->tables);
            if (!c->tables)
                PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
            for (const ynode *t = m->child; t; t = t->next)
                PQF_TRY(parse_table(&x, t, &c->tables[c->ntables++]));
        } else {
            PQF_TRY(bad(&x, m, k, "unknown key"));
        }
    }
    if (!c->primary)
        PQF_FAIL(err, PQF_ERR_PARSE, "%s: needs 'primary' (the feed's store)", path);
    if (c->ntables == 0)
        PQF_FAIL(err, PQF_ERR_PARSE, "%s: needs 'tables' with at least one table", path);
    if (c->contract_path) {
        PQF_TRY(pqf_contract_load(c->contract_path, &c->contract, err));
        for (size_t i = 0; i < c->ntables; i++)
            c->tables[i].contract = c->contract;
    }
    *out = c;
    c = NULL;
done:
    node_free(root);
    free(text);
    pqf_config_free(c);
    return rc;
}

void pqf_config_free(pqf_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ntables; i++) {
        pqf_config_table *t = &c->tables[i];
        free(t->name);
        free(t->path);
        free(t->schema_path);
        free(t->mapping_path);
        free(t->key);
        free(t->watermark);
        free(t->delete_column);
        free(t->created_column);
        free(t->db_driver);
        free(t->conninfo);
        free(t->db_table);
        free(t->db_query);
    }
    free(c->tables);
    for (size_t i = 0; i < c->nreplicas; i++)
        free(c->replicas[i]);
    free(c->replicas);
    free(c->replica_opts);
    free(c->primary);
    free(c->sink);
    free(c->window);
    free(c->contract_path);
    pqf_contract_free(c->contract);
    free(c->path);
    free(c);
}

const pqf_config_table *pqf_config_table_find(const pqf_config *c, const char *name)
{
    for (size_t i = 0; i < c->ntables; i++)
        if (strcmp(c->tables[i].name, name) == 0)
            return &c->tables[i];
    return NULL;
}

/* ---- inputs and export ------------------------------------------------------------ */

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool data_name(const char *n)
{
    const char *dot = strrchr(n, '.');
    return n[0] != '.' && dot &&
           (strcmp(dot, ".csv") == 0 || strcmp(dot, ".ndjson") == 0 ||
            strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".json") == 0 || strcmp(dot, ".tsv") == 0);
}

pqf_err pqf_input_files(const char *path, char ***paths, size_t *n, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    struct stat st;
    DIR *d = NULL;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    *paths = NULL;
    *n = 0;
    if (stat(path, &st) != 0)
        return pqf_error_set(err, PQF_ERR_NOT_FOUND, "input %s does not exist", path);
    if (!S_ISDIR(st.st_mode)) {
        v = calloc(1, sizeof *v);
        if (!v || !(v[0] = strdup(path))) {
            free(v);
            return pqf_error_set(err, PQF_ERR_NOMEM, "out of memory");
        }
        *paths = v;
        *n = 1;
        return PQF_OK;
    }
    d = opendir(path);
    if (!d)
        return pqf__errno(err, "open folder", path);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!data_name(e->d_name))
            continue;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv)
                PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
            v = nv;
            cap = nc;
        }
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        if (!(v[cnt] = malloc(l)))
            PQF_FAIL(err, PQF_ERR_NOMEM, "out of memory");
        snprintf(v[cnt++], l, "%s%s%s", path, pqf__path_sep(path), e->d_name);
    }
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_path);
    *paths = v;
    *n = cnt;
    v = NULL;
done:
    if (d)
        closedir(d);
    if (v)
        pqf_strv_free(v, cnt);
    return rc;
}

pqf_err pqf_config_check_table(const pqf_config *c, const pqf_config_table *t, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char **in = NULL;
    size_t nin = 0;
    pqf_schema *schema = NULL;
    pqf_error e2 = {0};
    /* a database table's columns are known once its export opens it, and
     * that export checks the key then, before it writes anything */
    if (!t->key || !*t->key || t->db_driver)
        return PQF_OK;
    pqf_export_spec sp; /* for export's source defaults */
    pqf_export_spec_init(&sp);
    sp.source.format = t->format;
    PQF_TRY(pqf_input_files(t->path, &in, &nin, err));
    if (nin == 0)
        PQF_FAIL(err, PQF_ERR_NOT_FOUND, "table %s: no input files in %s", t->name, t->path);
    if (t->schema_path)
        PQF_TRY(pqf_schema_load_json(t->schema_path, &schema, err));
    else
        PQF_TRY(pqf_schema_infer(in[0], &sp.source, t->infer_rows, &schema, err));
    if (pqf_export_check_key(schema, t->name, t->key, &e2) != PQF_OK)
        PQF_FAIL(err, e2.code, "%s:%u: tables.%s.key: %s", c->path, t->key_line, t->name, e2.msg);
done:
    pqf_strv_free(in, nin);
    pqf_schema_free(schema);
    return rc;
}

pqf_err pqf_config_export_table(pqf_feed *f, const pqf_config_table *t, int64_t as_of_ms,
                                pqf_export_result *res, pqf_error *err)
{
    pqf_err rc = PQF_OK;
    char **in = NULL;
    size_t nin = 0;
    pqf_schema *schema = NULL;
    pqf_mapping *mapping = NULL;
    pqf_export_spec sp;
    pqf_export_spec_init(&sp);
    sp.table = t->name;
    sp.kind = t->mode;
    sp.key = t->key;
    sp.watermark = t->watermark;
    sp.delete_column = t->delete_column;
    sp.created_column = t->created_column;
    sp.as_of_ms = as_of_ms;
    sp.writer = t->writer;
    sp.source.format = t->format;
    sp.overlap_ms = t->overlap_ms;
    if (t->target_file_bytes)
        sp.target_file_bytes = t->target_file_bytes;
    if (t->db_driver) {
        /* export opens the database: the last watermark is pushed down */
        if (t->schema_path)
            PQF_TRY(pqf_schema_load_json(t->schema_path, &schema, err));
        sp.db_driver = t->db_driver;
        sp.db_conninfo = strcmp(t->db_driver, "postgres") == 0 ? t->conninfo : t->path;
        sp.db_opts.table = t->db_table;
        sp.db_opts.query = t->db_query;
        sp.db_opts.schema = schema;
        PQF_TRY(pqf_export(f, &sp, res, err));
        goto done;
    }
    PQF_TRY(pqf_input_files(t->path, &in, &nin, err));
    if (nin == 0)
        PQF_FAIL(err, PQF_ERR_NOT_FOUND, "table %s: no input files in %s", t->name, t->path);
    if (t->schema_path)
        PQF_TRY(pqf_schema_load_json(t->schema_path, &schema, err));
    else
        PQF_TRY(pqf_schema_infer(in[0], &sp.source, t->infer_rows, &schema, err));
    if (t->mapping_path) {
        PQF_TRY(pqf_mapping_load(t->mapping_path, &mapping, err));
        sp.source.mapping = mapping;
    }
    sp.inputs = (const char *const *)in;
    sp.ninputs = nin;
    sp.schema = schema;
    sp.contract = t->contract;
    PQF_TRY(pqf_export(f, &sp, res, err));
done:
    pqf_strv_free(in, nin);
    pqf_mapping_free(mapping);
    pqf_schema_free(schema);
    return rc;
}
