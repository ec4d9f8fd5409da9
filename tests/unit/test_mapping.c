/* Unit tests: mapping files (src/source/mapping.c) applied by the NDJSON
 * source, and inference from API pages (src/source/apiinfer.c) on messy
 * records: mixed types, missing fields, nulls, deep nesting, huge arrays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pqfeed/mapping.h"
#include "pqfeed/pqfeed.h"
#include "pqfeed/source.h"
#include "source/json.h"
#include "source/mapping.h"

#include "testutil.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir(dir, sizeof dir, "mapping");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(dir);
}

static const char *put(const char *name, const char *text)
{
    static char path[256];
    return tu_write(path, sizeof path, dir, name, text);
}

static pqf_mapping *parse_ok(const char *yaml)
{
    pqf_mapping *m = NULL;
    pqf_error e = {0};
    pqf_err rc = pqf_mapping_parse("m.yaml", yaml, strlen(yaml), &m, &e);
    if (rc != PQF_OK)
        fail_msg("parse failed: %s", e.msg);
    return m;
}

static const char *parse_err(const char *yaml)
{
    static pqf_error e;
    pqf_mapping *m = NULL;
    memset(&e, 0, sizeof e);
    pqf_err rc = pqf_mapping_parse("m.yaml", yaml, strlen(yaml), &m, &e);
    assert_int_equal(rc, PQF_ERR_PARSE);
    assert_null(m);
    return e.msg;
}

/* Map one JSON record (unbound or bound to schema json) and return the output as compact JSON. */
static char *map_one(pqf_mapping *m, const char *schema_json, const char *rec, pqf_error *e)
{
    static char out[4096];
    pqf_schema *s = NULL;
    pqf__mapplan *p = NULL;
    pqf__json_doc d;
    pqf__json_doc_init(&d, NULL);
    pqf__json *v = NULL;
    const pqf__json *o = NULL;
    out[0] = 0;
    if (schema_json)
        assert_int_equal(pqf_schema_from_json(schema_json, strlen(schema_json), "s", &s, e), PQF_OK);
    if (pqf__mapplan_create(m, s, false, &p, e) == PQF_OK) {
        assert_int_equal(pqf__json_parse(&d, rec, strlen(rec), &v), PQF_OK);
        if (pqf__mapplan_apply(p, v, "page.ndjson", 4, 2, &o, e) == PQF_OK) {
            pqf__buf b;
            pqf__buf_init(&b, 1 << 20);
            assert_int_equal(pqf__json_write(&b, o), PQF_OK);
            snprintf(out, sizeof out, "%.*s", (int)b.len, (const char *)b.data);
            pqf__buf_free(&b);
        } else {
            snprintf(out, sizeof out, "ERR %s", e->msg);
        }
    } else {
        snprintf(out, sizeof out, "ERR %s", e->msg);
    }
    pqf__mapplan_free(p);
    pqf_schema_free(s);
    pqf__json_doc_free(&d);
    return out;
}

static void parse_errors_name_line_and_key(void **state)
{
    (void)state;
    assert_non_null(strstr(parse_err("columns:\n  id: {cast: integer}\n"),
                           "m.yaml:2: columns.id.cast: unknown cast"));
    assert_non_null(strstr(parse_err("columns:\n  id:\n    frm: x\n"),
                           "m.yaml:3: columns.id.frm: unknown key"));
    assert_non_null(strstr(parse_err("unknown: maybe\ncolumns: {}\n"),
                           "m.yaml:1: unknown: expected keep, drop or fail"));
    assert_non_null(strstr(parse_err("unknown: drop\nunknown_column: x\ncolumns: {}\n"),
                           "m.yaml:2: unknown_column: only with unknown: keep"));
    assert_non_null(strstr(parse_err("columns:\n  a: x.\n"), "m.yaml:2: columns.a: not a field path"));
    assert_non_null(strstr(parse_err("ignore: x\ncolumns: {}\n"), "m.yaml:1: ignore: expected a list"));
    assert_non_null(strstr(parse_err("unknown: keep\ncolumns:\n  _unknown: a\n"),
                           "also the unknown_column"));
    assert_non_null(strstr(parse_err("unknown: keep\n"), "needs 'columns'"));
    assert_non_null(strstr(parse_err("columns: [a]\n"), "m.yaml:1: columns: expected a mapping"));
    assert_non_null(strstr(parse_err("columns: {a: *x}\n"), "m.yaml"));
}

static const char schema1[] =
    "{\"columns\": ["
    "{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false},"
    "{\"name\": \"login\", \"type\": \"string\"},"
    "{\"name\": \"n\", \"type\": \"int32\"},"
    "{\"name\": \"flag\", \"type\": \"bool\"},"
    "{\"name\": \"amount\", \"type\": \"decimal(9,2)\"},"
    "{\"name\": \"txt\", \"type\": \"string\"},"
    "{\"name\": \"at\", \"type\": \"timestamp_us\"},"
    "{\"name\": \"extra\", \"type\": \"json\"}]}";

static void apply_paths_casts_defaults_and_keep(void **state)
{
    (void)state;
    pqf_error e = {0};
    pqf_mapping *m = parse_ok("unknown: keep\nunknown_column: extra\ncolumns:\n"
                              "  login: user.profile.login\n"
                              "  n: {from: count, cast: int, default: 7}\n"
                              "  flag: {from: f, cast: bool}\n"
                              "  amount: {from: amt, cast: decimal}\n"
                              "  txt: {from: num, cast: string}\n"
                              "  at: {from: ts, cast: timestamp}\n"
                              "ignore: [user.profile.avatar]\n");
    const char *out = map_one(m, schema1,
                              "{\"id\":1,\"user\":{\"profile\":{\"login\":\"ann\",\"avatar\":\"x\","
                              "\"bio\":\"hi\"},\"z\":1},\"count\":\" 12 \",\"f\":\"TRUE\","
                              "\"amt\":\"3.50\",\"num\":42,\"ts\":\"2024-01-01T01:00:00+01:00\","
                              "\"new\":[1]}",
                              &e);
    assert_string_equal(out, "{\"login\":\"ann\",\"n\":12,\"flag\":true,\"amount\":\"3.50\","
                             "\"txt\":\"42\",\"at\":\"2024-01-01T01:00:00+01:00\",\"id\":1,"
                             "\"extra\":{\"user.profile.bio\":\"hi\",\"user.z\":1,\"new\":[1]}}");
    /* missing: the default; nothing unknown: no extra column */
    out = map_one(m, schema1, "{\"id\":2}", &e);
    assert_string_equal(out, "{\"n\":7,\"id\":2}");
    /* null takes the default too; a prefix holding a non-object reads as missing */
    out = map_one(m, schema1, "{\"id\":3,\"count\":null,\"user\":5}", &e);
    assert_string_equal(out, "{\"n\":7,\"id\":3}");
    /* failing casts name file, line, record, field and column */
    out = map_one(m, schema1, "{\"id\":4,\"count\":\"12a\"}", &e);
    assert_string_equal(out, "ERR page.ndjson:4: record 2: field 'count' (column n, cast int): "
                             "string '12a' is not an integer");
    out = map_one(m, schema1, "{\"id\":4,\"f\":\"maybe\"}", &e);
    assert_non_null(strstr(out, "field 'f' (column flag, cast bool): string 'maybe' is not a boolean"));
    out = map_one(m, schema1, "{\"id\":4,\"ts\":\"yesterday\"}", &e);
    assert_non_null(strstr(out, "is not an ISO-8601 timestamp"));
    out = map_one(m, schema1, "{\"id\":4,\"amt\":{\"a\":1}}", &e);
    assert_non_null(strstr(out, "field 'amt' (column amount, cast decimal): object is not a number"));
    pqf_mapping_free(m);
}

static void unknown_rules(void **state)
{
    (void)state;
    pqf_error e = {0};
    pqf_mapping *m = parse_ok("columns:\n  login: a.b\n");
    const char *out = map_one(m, schema1, "{\"id\":1,\"a\":{\"b\":\"x\",\"c\":{\"d\":1}}}", &e);
    assert_string_equal(out, "ERR page.ndjson:4: record 2: unknown field 'a.c' (the mapping m.yaml "
                             "says unknown: fail)");
    /* schema columns not listed come from the same-named field */
    out = map_one(m, schema1, "{\"id\":1,\"n\":5,\"a\":{\"b\":\"x\"}}", &e);
    assert_string_equal(out, "{\"login\":\"x\",\"id\":1,\"n\":5}");
    pqf_mapping_free(m);
    m = parse_ok("unknown: drop\ncolumns:\n  login: a.b\n");
    out = map_one(m, schema1, "{\"id\":1,\"a\":{\"b\":\"x\",\"c\":1},\"zz\":[]}", &e);
    assert_string_equal(out, "{\"login\":\"x\",\"id\":1}");
    /* unbound (inference): top-level fields nobody reads are columns; nested ones follow the rule */
    out = map_one(m, NULL, "{\"id\":1,\"a\":{\"b\":\"x\",\"c\":1},\"zz\":[]}", &e);
    assert_string_equal(out, "{\"login\":\"x\",\"id\":1,\"zz\":[]}");
    pqf_mapping_free(m);
}

/* names holding '.': the list form of from and ignore; unlisted columns take their name whole */
static void dotted_names(void **state)
{
    (void)state;
    pqf_error e = {0};
    static const char sch[] = "{\"columns\": [{\"name\": \"a.b\", \"type\": \"int64\"},"
                              "{\"name\": \"c\", \"type\": \"string\"}]}";
    pqf_mapping *m = parse_ok("columns:\n  c: {from: [x, \"y.z\"]}\nignore: [[q, \"r.s\"]]\n");
    const char *out = map_one(m, sch, "{\"a.b\":1,\"x\":{\"y.z\":\"v\"},\"q\":{\"r.s\":1}}", &e);
    assert_string_equal(out, "{\"c\":\"v\",\"a.b\":1}");
    out = map_one(m, sch, "{\"x\":{\"y\":{\"z\":\"v\"}}}", &e);
    assert_non_null(strstr(out, "unknown field 'x.y'"));
    pqf_mapping_free(m);
    assert_non_null(strstr(parse_err("columns:\n  c: {from: [x, \"\"]}\n"),
                           "m.yaml:2: columns.c.from: expected a list of field names"));
}

static void bind_errors(void **state)
{
    (void)state;
    pqf_error e = {0};
    pqf_mapping *m = parse_ok("columns:\n  nope: a\n");
    assert_string_equal(map_one(m, schema1, "{}", &e),
                        "ERR m.yaml:2: columns.nope: no such column in the schema 'nope'");
    pqf_mapping_free(m);
    m = parse_ok("columns:\n  login:\n    from: x\n    cast: int\n");
    assert_string_equal(map_one(m, schema1, "{}", &e),
                        "ERR m.yaml:4: columns.login: cast int does not fit the column's type string");
    pqf_mapping_free(m);
    m = parse_ok("columns:\n  amount: {from: x, default: 1.234}\n");
    assert_non_null(strstr(map_one(m, schema1, "{}", &e), "ERR m.yaml:2: columns.amount.default: "));
    pqf_mapping_free(m);
    m = parse_ok("unknown: keep\ncolumns: {}\n");
    assert_non_null(strstr(map_one(m, schema1, "{}", &e),
                           "m.yaml:1: unknown: keep needs a nullable json column '_unknown'"));
    pqf_mapping_free(m);
    m = parse_ok("unknown: keep\nunknown_column: txt\ncolumns: {}\n");
    assert_non_null(strstr(map_one(m, schema1, "{}", &e), "must be nullable json"));
    pqf_mapping_free(m);
    m = parse_ok("columns:\n  extra: {from: x, default: a}\n");
    assert_non_null(strstr(map_one(m, schema1, "{}", &e), "a default is only for a scalar column"));
    pqf_mapping_free(m);
}

/* The source applies the mapping, then writes the schema's columns. */
static void source_applies_mapping(void **state)
{
    (void)state;
    pqf_error e = {0};
    pqf_schema *s = NULL;
    assert_int_equal(pqf_schema_from_json(schema1, strlen(schema1), "s", &s, &e), PQF_OK);
    pqf_mapping *m = parse_ok("unknown: fail\ncolumns:\n  login: u.login\n  n: {from: c, cast: int}\n");
    const char *in = put("p.ndjson", "{\"id\":1,\"u\":{\"login\":\"a\"},\"c\":\"5\"}\n"
                                     "{\"id\":2,\"u\":{\"login\":\"b\"}}\n"
                                     "{\"id\":3,\"u\":{\"login\":\"c\",\"x\":1}}\n");
    char out[300];
    snprintf(out, sizeof out, "%s/p.parquet", dir);
    pqf_ostream *os = NULL;
    pqf_writer *w = NULL;
    pqf_source *src = NULL;
    pqf_source_opts so;
    pqf_source_opts_init(&so);
    so.mapping = m;
    assert_int_equal(pqf_ostream_file(out, &os, &e), PQF_OK);
    assert_int_equal(pqf_writer_create(s, os, NULL, &w, &e), PQF_OK);
    assert_int_equal(pqf_source_open(in, s, &so, &src, &e), PQF_OK);
    bool eof = false;
    assert_int_equal(pqf_source_next(src, w, &eof), PQF_OK);
    assert_int_equal(pqf_source_next(src, w, &eof), PQF_OK);
    assert_int_equal(pqf_source_next(src, w, &eof), PQF_ERR_VALUE);
    assert_non_null(strstr(pqf_source_error(src)->msg, "p.ndjson:3: record 3: unknown field 'u.x'"));
    pqf_source_free(src);
    pqf_writer_free(w);
    pqf_ostream_free(os);
    /* a mapping on CSV is refused */
    const char *csv = put("p.csv", "id\n1\n");
    assert_int_equal(pqf_source_open(csv, s, &so, &src, &e), PQF_ERR_INVALID_ARG);
    assert_null(src);
    pqf_mapping_free(m);
    pqf_schema_free(s);
}

/* The streaming shredder writes levelled entries (parquet/flat.h), which need
 * a writer of the source's schema: another one is refused, not written to. */
static void source_refuses_a_writer_of_another_schema(void **state)
{
    (void)state;
    pqf_error e = {0};
    pqf_schema *s = NULL, *other = NULL;
    const char *two = "{\"columns\": [{\"name\": \"id\", \"type\": \"int64\"}, "
                      "{\"name\": \"x\", \"type\": \"string\"}]}";
    const char *wide = "{\"columns\": [{\"name\": \"id\", \"type\": \"int64\"}, "
                       "{\"name\": \"x\", \"type\": \"int32\"}]}";
    assert_int_equal(pqf_schema_from_json(two, strlen(two), "s", &s, &e), PQF_OK);
    assert_int_equal(pqf_schema_from_json(wide, strlen(wide), "o", &other, &e), PQF_OK);
    const char *in = put("w.ndjson", "{\"id\":1,\"x\":\"a\"}\n");
    pqf_ostream *os = NULL;
    pqf_writer *w = NULL;
    pqf_source *src = NULL;
    assert_int_equal(pqf_ostream_mem(1 << 20, &os, &e), PQF_OK);
    assert_int_equal(pqf_writer_create(other, os, NULL, &w, &e), PQF_OK);
    assert_int_equal(pqf_source_open(in, s, NULL, &src, &e), PQF_OK);
    bool eof = false;
    assert_int_equal(pqf_source_next(src, w, &eof), PQF_ERR_INVALID_ARG);
    assert_non_null(strstr(pqf_source_error(src)->msg, "w.ndjson: the writer's schema is not the source's"));
    pqf_writer_stats st;
    pqf_writer_get_stats(w, &st);
    assert_int_equal(st.rows, 0);
    pqf_source_free(src);
    pqf_writer_free(w);
    pqf_ostream_free(os);
    pqf_schema_free(other);
    pqf_schema_free(s);
}

/* ---- inference ---------------------------------------------------------------- */

static const pqf_infer_field *field(const pqf_infer *ix, const char *path)
{
    for (size_t i = 0; i < pqf_infer_nfields(ix); i++)
        if (strcmp(pqf_infer_field_at(ix, i)->path, path) == 0)
            return pqf_infer_field_at(ix, i);
    fail_msg("no field %s", path);
    return NULL;
}

static char *schema_text(const pqf_schema *s)
{
    static char out[8192];
    char *js;
    size_t n;
    pqf_error e = {0};
    assert_int_equal(pqf_schema_to_json(s, &js, &n, &e), PQF_OK);
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof out; i++)
        if (js[i] != ' ' && js[i] != '\n')
            out[k++] = js[i];
    out[k] = 0;
    free(js);
    return out;
}

static void infer_messy_records(void **state)
{
    (void)state;
    const char *p = put("messy.ndjson",
                        "{\"id\":1,\"v\":5,\"amt\":\"12.50\",\"ts\":\"2024-03-01T10:00:00+02:00\","
                        "\"d\":\"2024-03-01\",\"st\":\"open\",\"deep\":{\"a\":{\"b\":{\"c\":{\"d\":1}}}},"
                        "\"arr\":[1,2],\"mix\":1}\n"
                        "\n"
                        "{\"id\":2,\"v\":\"five\",\"amt\":\"-7.125\",\"ts\":\"2024-03-01T09:00:00Z\","
                        "\"d\":null,\"st\":\"closed\",\"deep\":{\"a\":{\"b\":null}},\"arr\":[],\"mix\":[1]}\n"
                        "{\"id\":3,\"v\":null,\"st\":\"open\",\"deep\":null,\"arr\":null,\"mix\":{\"k\":1},"
                        "\"late\":true}\n");
    pqf_infer_opts o;
    pqf_infer_opts_init(&o);
    o.flatten = true;
    pqf_infer *ix = NULL;
    pqf_error e = {0};
    assert_int_equal(pqf_infer_create(&o, &ix, &e), PQF_OK);
    assert_int_equal(pqf_infer_page(ix, p, &e), PQF_OK);
    pqf_schema *s = NULL;
    char *yaml = NULL;
    assert_int_equal(pqf_infer_finish(ix, &s, &yaml, &e), PQF_OK);
    assert_int_equal(pqf_infer_records(ix), 3);
    const pqf_infer_field *f = field(ix, "v");
    assert_true(f->varies);
    assert_string_equal(f->type, "string");
    assert_string_equal(f->cast, "string");
    assert_string_equal(f->kinds, "null 1, int 1, string 1");
    assert_non_null(strstr(f->note, "type varies between records: chose string"));
    f = field(ix, "amt");
    assert_string_equal(f->type, "decimal(5,3)");
    assert_int_equal(f->seen, 2);
    assert_int_equal(f->of, 3);
    f = field(ix, "ts");
    assert_string_equal(f->type, "timestamp_us");
    assert_non_null(strstr(f->note, "UTC offsets"));
    f = field(ix, "st");
    assert_non_null(strstr(f->note, "enum of 2 values: closed, open"));
    f = field(ix, "mix");
    assert_string_equal(f->type, "json");
    assert_true(f->varies);
    f = field(ix, "deep.a.b.c.d");
    assert_string_equal(f->column, "deep_a_b_c_d");
    f = field(ix, "late");
    assert_int_equal(f->seen, 1);
    assert_string_equal(schema_text(s),
                        "{\"columns\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
                        "{\"name\":\"v\",\"type\":\"string\"},{\"name\":\"amt\",\"type\":\"decimal(5,3)\"},"
                        "{\"name\":\"ts\",\"type\":\"timestamp_us\"},{\"name\":\"d\",\"type\":\"date\"},"
                        "{\"name\":\"st\",\"type\":\"string\",\"nullable\":false},"
                        "{\"name\":\"deep_a_b_c_d\",\"type\":\"int64\"},"
                        "{\"name\":\"arr\",\"type\":{\"list\":{\"type\":\"int64\",\"nullable\":false}}},"
                        "{\"name\":\"mix\",\"type\":\"json\",\"nullable\":false},{\"name\":\"late\",\"type\":\"bool\"}]}");
    assert_non_null(strstr(yaml, "\n  deep_a_b_c_d: deep.a.b.c.d\n"));
    assert_non_null(strstr(yaml, "\n  amt: {from: amt, cast: decimal}\n"));
    assert_non_null(strstr(yaml, "\n  mix: {from: mix, cast: json}   # type varies"));
    /* the proposal maps the records it came from */
    pqf_mapping *m = NULL;
    assert_int_equal(pqf_mapping_parse("proposed", yaml, strlen(yaml), &m, &e), PQF_OK);
    assert_int_equal(pqf_mapping_check(m, s, false, &e), PQF_OK);
    pqf_mapping_free(m);
    free(yaml);
    pqf_schema_free(s);
    assert_int_equal(pqf_infer_finish(ix, &s, NULL, &e), PQF_ERR_INVALID_ARG);
    pqf_infer_free(ix);
}

static void infer_struct_mode_huge_arrays_and_limits(void **state)
{
    (void)state;
    /* one record with an array of 100000 elements, as a JSON array page */
    char path[256];
    snprintf(path, sizeof path, "%s/huge.json", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("[{\"id\":1,\"a\":{\"x\":1,\"y\":{\"z\":\"2024-01-01\"}},\"big\":[", fp);
    for (int i = 0; i < 100000; i++)
        fprintf(fp, "%s{\"k\":%d,\"s\":\"%s\"}", i ? "," : "", i, i % 2 ? "odd" : "even");
    fputs("]},\n{\"id\":2,\"a\":{\"x\":null}}]\n", fp);
    fclose(fp);
    pqf_infer *ix = NULL;
    pqf_error e = {0};
    assert_int_equal(pqf_infer_create(NULL, &ix, &e), PQF_OK);
    assert_int_equal(pqf_infer_page(ix, path, &e), PQF_OK);
    pqf_schema *s = NULL;
    assert_int_equal(pqf_infer_finish(ix, &s, NULL, &e), PQF_OK);
    assert_int_equal(field(ix, "big[]")->seen, 100000);
    assert_string_equal(field(ix, "big")->type, "list<struct>");
    assert_non_null(strstr(field(ix, "big[].s")->note, "enum of 2 values: even, odd"));
    assert_string_equal(field(ix, "a.y.z")->type, "date");
    assert_int_equal(field(ix, "a.y.z")->of, 1);
    assert_string_equal(schema_text(s),
                        "{\"columns\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
                        "{\"name\":\"a\",\"type\":{\"struct\":[{\"name\":\"x\",\"type\":\"int64\"},"
                        "{\"name\":\"y\",\"type\":{\"struct\":[{\"name\":\"z\",\"type\":\"date\","
                        "\"nullable\":false}]}}]},\"nullable\":false},"
                        "{\"name\":\"big\",\"type\":{\"list\":{\"type\":{\"struct\":[{\"name\":\"k\","
                        "\"type\":\"int64\",\"nullable\":false},{\"name\":\"s\",\"type\":\"string\","
                        "\"nullable\":false}]},\"nullable\":false}}}]}");
    pqf_schema_free(s);
    pqf_infer_free(ix);

    /* distinct field paths are capped */
    pqf_infer_opts o;
    pqf_infer_opts_init(&o);
    o.max_fields = 50;
    snprintf(path, sizeof path, "%s/wide.ndjson", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 60; i++)
        fprintf(fp, "{\"f%d\":1}\n", i);
    fclose(fp);
    assert_int_equal(pqf_infer_create(&o, &ix, &e), PQF_OK);
    assert_int_equal(pqf_infer_page(ix, path, &e), PQF_ERR_LIMIT);
    assert_non_null(strstr(e.msg, "wide.ndjson:51: more than 50 distinct field paths"));
    pqf_infer_free(ix);

    /* enum tracking stops at max_enum values; sample stops early */
    pqf_infer_opts_init(&o);
    o.max_enum = 3;
    o.sample = 5;
    const char *p = put("en.ndjson", "{\"s\":\"a\"}\n{\"s\":\"b\"}\n{\"s\":\"c\"}\n{\"s\":\"d\"}\n"
                                     "{\"s\":\"a\"}\n{\"s\":1}\n");
    assert_int_equal(pqf_infer_create(&o, &ix, &e), PQF_OK);
    assert_int_equal(pqf_infer_page(ix, p, &e), PQF_OK);
    assert_int_equal(pqf_infer_finish(ix, &s, NULL, &e), PQF_OK);
    assert_int_equal(pqf_infer_records(ix), 5);
    assert_null(field(ix, "s")->note);
    assert_false(field(ix, "s")->varies);
    pqf_schema_free(s);
    pqf_infer_free(ix);

    /* numeric strings that do not fit 38 digits stay strings; integer strings become int64 */
    p = put("num.ndjson", "{\"big\":\"123456789012345678901234567890123456789.5\",\"n\":\"42\",\"x\":1}\n"
                          "{\"x\":1.5}\n");
    assert_int_equal(pqf_infer_create(NULL, &ix, &e), PQF_OK);
    assert_int_equal(pqf_infer_page(ix, p, &e), PQF_OK);
    assert_int_equal(pqf_infer_finish(ix, &s, NULL, &e), PQF_OK);
    assert_string_equal(field(ix, "big")->type, "string");
    assert_string_equal(field(ix, "n")->type, "int64");
    assert_string_equal(field(ix, "n")->cast, "int");
    assert_string_equal(field(ix, "x")->type, "double"); /* integers and fractions: numbers */
    assert_false(field(ix, "x")->varies);
    assert_string_equal(field(ix, "x")->kinds, "int 1, number 1");
    pqf_schema_free(s);
    pqf_infer_free(ix);

    /* errors name the file and line; a non-object record is an error */
    p = put("bad.ndjson", "{\"a\":1}\n[1]\n");
    assert_int_equal(pqf_infer_create(NULL, &ix, &e), PQF_OK);
    assert_int_equal(pqf_infer_page(ix, p, &e), PQF_ERR_VALUE);
    assert_non_null(strstr(e.msg, "bad.ndjson:2: expected an object, found array"));
    pqf_infer_free(ix);
    p = put("empty.ndjson", "\n");
    assert_int_equal(pqf_infer_create(NULL, &ix, &e), PQF_OK);
    assert_int_equal(pqf_infer_page(ix, p, &e), PQF_OK);
    assert_int_equal(pqf_infer_finish(ix, &s, NULL, &e), PQF_ERR_SCHEMA);
    pqf_infer_free(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_errors_name_line_and_key),
        cmocka_unit_test(apply_paths_casts_defaults_and_keep),
        cmocka_unit_test(unknown_rules),
        cmocka_unit_test(dotted_names),
        cmocka_unit_test(bind_errors),
        cmocka_unit_test(source_applies_mapping),
        cmocka_unit_test(source_refuses_a_writer_of_another_schema),
        cmocka_unit_test(infer_messy_records),
        cmocka_unit_test(infer_struct_mode_huge_arrays_and_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
