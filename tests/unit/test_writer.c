/* Unit tests: the Parquet writer (shredding, pages, footer).
 *
 * Files are checked structurally here (magic, footer length, offsets that
 * point at page headers); an independent reader (DuckDB) checks values in
 * tests/interop/. With PQF_WRITER_OUT=<dir> the files are also saved there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "parquet/flat.h"
#include "source/value.h"
#include "pqfeed/pqfeed.h"
#include "pqfeed/reader.h"

typedef struct flat {
    pqf_schema *s;
    int id, i32, i8, u32, u64, f, d, b, str, bin, date, ts, ts_ms, ts_ns, t_ms, t_us, t_ns, dec9,
        dec18, dec38, uuid, json, en;
} flat;

static int col(pqf_schema *s, const char *name, pqf_repetition rep, pqf_physical t, int32_t len,
               pqf_logical lt)
{
    pqf_error err = {0};
    int id = pqf_schema_add_column(s, 0, name, rep, t, len, &lt, -1, &err);
    if (id < 0)
        fail_msg("%s: %s", name, err.msg);
    return id;
}

static void flat_schema(flat *f)
{
    pqf_error err = {0};
    pqf_schema *s = pqf_schema_create();
    f->s = s;
    pqf_logical none = {0};
    f->id = col(s, "id", PQF_REQUIRED, PQF_INT64, 0, none);
    f->i32 = col(s, "i32", PQF_OPTIONAL, PQF_INT32, 0, none);
    f->i8 = col(s, "i8", PQF_OPTIONAL, PQF_INT32, 0,
                (pqf_logical){.kind = PQF_LT_INT, .bit_width = 8, .is_signed = true});
    f->u32 = col(s, "u32", PQF_OPTIONAL, PQF_INT32, 0,
                 (pqf_logical){.kind = PQF_LT_INT, .bit_width = 32, .is_signed = false});
    f->u64 = col(s, "u64", PQF_OPTIONAL, PQF_INT64, 0,
                 (pqf_logical){.kind = PQF_LT_INT, .bit_width = 64, .is_signed = false});
    f->f = col(s, "f", PQF_OPTIONAL, PQF_FLOAT, 0, none);
    f->d = col(s, "d", PQF_OPTIONAL, PQF_DOUBLE, 0, none);
    f->b = col(s, "b", PQF_OPTIONAL, PQF_BOOLEAN, 0, none);
    f->str = col(s, "s", PQF_OPTIONAL, PQF_BYTE_ARRAY, 0, (pqf_logical){.kind = PQF_LT_STRING});
    f->bin = col(s, "bin", PQF_REQUIRED, PQF_BYTE_ARRAY, 0, none);
    f->date = col(s, "date", PQF_OPTIONAL, PQF_INT32, 0, (pqf_logical){.kind = PQF_LT_DATE});
    f->ts = col(s, "ts", PQF_OPTIONAL, PQF_INT64, 0,
                (pqf_logical){.kind = PQF_LT_TIMESTAMP, .unit = PQF_MICROS, .utc = true});
    f->ts_ms = col(s, "ts_ms", PQF_OPTIONAL, PQF_INT64, 0,
                   (pqf_logical){.kind = PQF_LT_TIMESTAMP, .unit = PQF_MILLIS, .utc = false});
    f->ts_ns = col(s, "ts_ns", PQF_OPTIONAL, PQF_INT64, 0,
                   (pqf_logical){.kind = PQF_LT_TIMESTAMP, .unit = PQF_NANOS, .utc = true});
    f->t_ms = col(s, "t_ms", PQF_OPTIONAL, PQF_INT32, 0,
                  (pqf_logical){.kind = PQF_LT_TIME, .unit = PQF_MILLIS});
    f->t_us = col(s, "t_us", PQF_OPTIONAL, PQF_INT64, 0,
                  (pqf_logical){.kind = PQF_LT_TIME, .unit = PQF_MICROS});
    f->t_ns = col(s, "t_ns", PQF_OPTIONAL, PQF_INT64, 0,
                  (pqf_logical){.kind = PQF_LT_TIME, .unit = PQF_NANOS});
    f->dec9 = col(s, "dec9", PQF_OPTIONAL, PQF_INT32, 0,
                  (pqf_logical){.kind = PQF_LT_DECIMAL, .precision = 9, .scale = 2});
    f->dec18 = col(s, "dec18", PQF_OPTIONAL, PQF_INT64, 0,
                   (pqf_logical){.kind = PQF_LT_DECIMAL, .precision = 18, .scale = 4});
    f->dec38 = col(s, "dec38", PQF_OPTIONAL, PQF_FIXED_LEN_BYTE_ARRAY, 16,
                   (pqf_logical){.kind = PQF_LT_DECIMAL, .precision = 38, .scale = 10});
    f->uuid = col(s, "uuid", PQF_OPTIONAL, PQF_FIXED_LEN_BYTE_ARRAY, 16,
                  (pqf_logical){.kind = PQF_LT_UUID});
    f->json = col(s, "json", PQF_OPTIONAL, PQF_BYTE_ARRAY, 0, (pqf_logical){.kind = PQF_LT_JSON});
    f->en = col(s, "en", PQF_OPTIONAL, PQF_BYTE_ARRAY, 0, (pqf_logical){.kind = PQF_LT_ENUM});
    assert_int_equal(pqf_schema_finish(s, &err), PQF_OK);
}

/* Row i of the flat table as cells by node id (1..NFLAT), with nulls: every
 * 7th row has nulls in the optional columns. tests/interop recomputes the
 * same values. bufs holds the row's byte values. */
#define NFLAT 23
typedef struct flat_cells {
    pqf__val v[NFLAT + 1];
    uint8_t null[NFLAT + 1];
    pqf_physical phys[NFLAT + 1];
    char bufs[5][64];
} flat_cells;

static void cell_bytes(flat_cells *c, int node, const void *p, size_t n)
{
    c->v[node].p = p;
    c->v[node].n = n;
    c->null[node] = 0;
    c->phys[node] = PQF_BYTE_ARRAY;
}

static void cell_i32(flat_cells *c, int node, int32_t x)
{
    c->v[node].u.i32 = x;
    c->null[node] = 0;
    c->phys[node] = PQF_INT32;
}

static void cell_i64(flat_cells *c, int node, int64_t x)
{
    c->v[node].u.i64 = x;
    c->null[node] = 0;
    c->phys[node] = PQF_INT64;
}

static void flat_values(const flat *f, int64_t i, flat_cells *c)
{
    assert_true(f->id == 1 && f->en == NFLAT);
    memset(c->null, 1, sizeof c->null);
    cell_i64(c, f->id, i);
    int n = snprintf(c->bufs[0], sizeof c->bufs[0], "bin-%lld", (long long)(i % 1000));
    cell_bytes(c, f->bin, c->bufs[0], (size_t)n);
    if (i % 7 == 3)
        return; /* the rest null */
    cell_i32(c, f->i32, (int32_t)(i * 37 % 2001) - 1000);
    cell_i32(c, f->i8, (int32_t)(i % 256) - 128);
    cell_i32(c, f->u32, (int32_t)(uint32_t)(4000000000u - (uint32_t)i));
    cell_i64(c, f->u64, (int64_t)(UINT64_C(18000000000000000000) + (uint64_t)i));
    c->v[f->f].u.f = (float)i / 4.0f;
    c->null[f->f] = 0;
    c->phys[f->f] = PQF_FLOAT;
    c->v[f->d].u.d = (double)i * 1.5 - 100;
    c->null[f->d] = 0;
    c->phys[f->d] = PQF_DOUBLE;
    c->v[f->b].u.b = i % 3 == 0;
    c->null[f->b] = 0;
    c->phys[f->b] = PQF_BOOLEAN;
    n = snprintf(c->bufs[1], sizeof c->bufs[1], "str-%lld", (long long)(i % 50));
    cell_bytes(c, f->str, c->bufs[1], (size_t)n);
    cell_i32(c, f->date, 19000 + (int32_t)(i % 400));
    int64_t us = INT64_C(1700000000000000) + i * 1000003;
    cell_i64(c, f->ts, us);
    cell_i64(c, f->ts_ms, us / 1000);
    cell_i64(c, f->ts_ns, us * 1000 + 7);
    cell_i32(c, f->t_ms, (int32_t)(i * 1000 % 86400000));
    cell_i64(c, f->t_us, i * 1000001 % INT64_C(86400000000));
    cell_i64(c, f->t_ns, i * 1000001001 % INT64_C(86400000000000));
    cell_i32(c, f->dec9, (int32_t)(i * 12345 % 100000000) - 50000000);
    cell_i64(c, f->dec18, i * INT64_C(123456789) - INT64_C(99999999999));
    /* dec38: unscaled value -i * 10^12 as 16-byte big-endian two's complement */
    __int128 v = -(__int128)i * 1000000000000LL;
    for (int k = 0; k < 16; k++)
        c->bufs[2][15 - k] = (char)(uint8_t)(v >> (8 * k));
    cell_bytes(c, f->dec38, c->bufs[2], 16);
    for (int k = 0; k < 16; k++)
        c->bufs[3][k] = (char)(uint8_t)(i * 31 + k);
    cell_bytes(c, f->uuid, c->bufs[3], 16);
    n = snprintf(c->bufs[4], sizeof c->bufs[4], "{\"k\":%lld}", (long long)(i % 10));
    cell_bytes(c, f->json, c->bufs[4], (size_t)n);
    const char *e = i % 2 ? "RED" : "GREEN";
    cell_bytes(c, f->en, e, strlen(e));
}

/* Row i through the per-value calls (nulls left unwritten). */
static void flat_row(pqf_writer *w, const flat *f, int64_t i)
{
    flat_cells c;
    flat_values(f, i, &c);
    assert_int_equal(pqf_writer_row_begin(w), PQF_OK);
    for (int node = 1; node <= NFLAT; node++) {
        if (c.null[node])
            continue;
        const pqf__conv conv = {.phys = c.phys[node]};
        pqf_err rc = pqf__write_value(w, node, &conv, &c.v[node]);
        assert_int_equal(rc, PQF_OK);
    }
    assert_int_equal(pqf_writer_row_end(w), PQF_OK);
}

/* Cells by node id -> the leaf order pqf__writer_flat_row takes. */
static void to_leaf_order(const pqf_writer *w, const flat_cells *c, pqf__val *vals,
                          uint8_t *nulls)
{
    for (int node = 1; node <= NFLAT; node++) {
        int l = pqf__writer_leaf(w, node);
        assert_true(l >= 0 && l < NFLAT);
        vals[l] = c->v[node];
        nulls[l] = c->null[node];
    }
}

/* Row i through pqf__writer_flat_row. */
static void flat_row_at_once(pqf_writer *w, const flat *f, int64_t i)
{
    flat_cells c;
    flat_values(f, i, &c);
    pqf__val vals[NFLAT];
    uint8_t nulls[NFLAT];
    to_leaf_order(w, &c, vals, nulls);
    assert_int_equal(pqf__writer_flat_row(w, vals, nulls), PQF_OK);
}

typedef struct nested {
    pqf_schema *s;
    int id, author, name, age, labels, label, points, point, x, y, matrix, row, cell;
} nested;

static void nested_schema(nested *n)
{
    pqf_error err = {0};
    pqf_schema *s = pqf_schema_create();
    n->s = s;
    pqf_logical str = {.kind = PQF_LT_STRING};
    n->id = pqf_schema_add_column(s, 0, "id", PQF_REQUIRED, PQF_INT64, 0, NULL, 1, &err);
    n->author = pqf_schema_add_group(s, 0, "author", PQF_OPTIONAL, NULL, 2, &err);
    n->name =
        pqf_schema_add_column(s, n->author, "name", PQF_OPTIONAL, PQF_BYTE_ARRAY, 0, &str, 3, &err);
    n->age = pqf_schema_add_column(s, n->author, "age", PQF_REQUIRED, PQF_INT32, 0, NULL, 4, &err);
    int l = pqf_schema_add_list(s, 0, "labels", PQF_OPTIONAL, 5, &err);
    n->labels = pqf_schema_find_path(s, "labels");
    n->label =
        pqf_schema_add_column(s, l, "element", PQF_OPTIONAL, PQF_BYTE_ARRAY, 0, &str, 6, &err);
    l = pqf_schema_add_list(s, 0, "points", PQF_OPTIONAL, 7, &err);
    n->points = pqf_schema_find_path(s, "points");
    n->point = pqf_schema_add_group(s, l, "element", PQF_REQUIRED, NULL, -1, &err);
    n->x = pqf_schema_add_column(s, n->point, "x", PQF_REQUIRED, PQF_DOUBLE, 0, NULL, -1, &err);
    n->y = pqf_schema_add_column(s, n->point, "y", PQF_OPTIONAL, PQF_DOUBLE, 0, NULL, -1, &err);
    l = pqf_schema_add_list(s, 0, "matrix", PQF_OPTIONAL, -1, &err);
    n->matrix = pqf_schema_find_path(s, "matrix");
    int inner = pqf_schema_add_group(s, l, "element", PQF_OPTIONAL,
                                     &(pqf_logical){.kind = PQF_LT_LIST}, -1, &err);
    n->row = inner;
    int il = pqf_schema_add_group(s, inner, "list", PQF_REPEATED, NULL, -1, &err);
    n->cell = pqf_schema_add_column(s, il, "element", PQF_OPTIONAL, PQF_INT32, 0, NULL, -1, &err);
    assert_true(n->cell > 0);
    assert_int_equal(pqf_schema_finish(s, &err), PQF_OK);
}

/* Row i of the nested table (recomputed in tests/interop):
 *  author: null if i%5==1, else {name: null if i%3==0 else "n<i%4>", age: i%90}
 *  labels: null if i%4==3, [] if i%4==2, else ["a<i%3>", null (if i even), "b"]
 *  points: i%3 points {x: i+k, y: null if k==1 else -k}; null if i%6==5
 *  matrix: [[i, null], [], null] if i%2 else [[i]] */
static void nested_row(pqf_writer *w, const nested *n, int64_t i)
{
    char buf[32];
    assert_int_equal(pqf_writer_row_begin(w), PQF_OK);
    assert_int_equal(pqf_writer_i64(w, n->id, i), PQF_OK);
    if (i % 5 == 1) {
        assert_int_equal(pqf_writer_null(w, n->author), PQF_OK);
    } else {
        assert_int_equal(pqf_writer_struct_begin(w, n->author), PQF_OK);
        if (i % 3 != 0) {
            int l = snprintf(buf, sizeof buf, "n%d", (int)(i % 4));
            assert_int_equal(pqf_writer_bytes(w, n->name, buf, (size_t)l), PQF_OK);
        }
        assert_int_equal(pqf_writer_i32(w, n->age, (int32_t)(i % 90)), PQF_OK);
        assert_int_equal(pqf_writer_struct_end(w), PQF_OK);
    }
    if (i % 4 == 3) {
        assert_int_equal(pqf_writer_null(w, n->labels), PQF_OK);
    } else {
        assert_int_equal(pqf_writer_list_begin(w, n->labels), PQF_OK);
        if (i % 4 != 2) {
            int l = snprintf(buf, sizeof buf, "a%d", (int)(i % 3));
            assert_int_equal(pqf_writer_bytes(w, n->label, buf, (size_t)l), PQF_OK);
            if (i % 2 == 0)
                assert_int_equal(pqf_writer_null(w, n->label), PQF_OK);
            assert_int_equal(pqf_writer_bytes(w, n->label, "b", 1), PQF_OK);
        }
        assert_int_equal(pqf_writer_list_end(w), PQF_OK);
    }
    if (i % 6 != 5) {
        assert_int_equal(pqf_writer_list_begin(w, n->points), PQF_OK);
        for (int k = 0; k < i % 3; k++) {
            assert_int_equal(pqf_writer_struct_begin(w, n->point), PQF_OK);
            assert_int_equal(pqf_writer_double(w, n->x, (double)(i + k)), PQF_OK);
            if (k != 1)
                assert_int_equal(pqf_writer_double(w, n->y, -(double)k), PQF_OK);
            assert_int_equal(pqf_writer_struct_end(w), PQF_OK);
        }
        assert_int_equal(pqf_writer_list_end(w), PQF_OK);
    } /* else left out: null */
    assert_int_equal(pqf_writer_list_begin(w, n->matrix), PQF_OK);
    assert_int_equal(pqf_writer_list_begin(w, n->row), PQF_OK);
    assert_int_equal(pqf_writer_i32(w, n->cell, (int32_t)i), PQF_OK);
    if (i % 2) {
        assert_int_equal(pqf_writer_null(w, n->cell), PQF_OK);
        assert_int_equal(pqf_writer_list_end(w), PQF_OK);
        assert_int_equal(pqf_writer_list_begin(w, n->row), PQF_OK);
        assert_int_equal(pqf_writer_list_end(w), PQF_OK);
        assert_int_equal(pqf_writer_null(w, n->row), PQF_OK);
    } else {
        assert_int_equal(pqf_writer_list_end(w), PQF_OK);
    }
    assert_int_equal(pqf_writer_list_end(w), PQF_OK);
    assert_int_equal(pqf_writer_row_end(w), PQF_OK);
}

/* Check magic, footer length and that the file is self-consistent. */
static void check_file(const uint8_t *d, size_t n)
{
    assert_true(n > 12);
    assert_memory_equal(d, "PAR1", 4);
    assert_memory_equal(d + n - 4, "PAR1", 4);
    uint32_t flen = pqf__load32le(d + n - 8);
    assert_true(flen > 0 && flen <= n - 12);
    /* The footer starts with FileMetaData.version (field 1, i32): 0x15. */
    assert_int_equal(d[n - 8 - flen], 0x15);
}

static void save(const char *name, const uint8_t *d, size_t n)
{
    const char *dir = getenv("PQF_WRITER_OUT");
    if (!dir)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

/* The flat table written with row function rowf; returns a copy of the file. */
static uint8_t *write_flat_with(pqf_writer_opts *o, int64_t rows,
                                void (*rowf)(pqf_writer *, const flat *, int64_t), size_t *outlen)
{
    flat f;
    flat_schema(&f);
    pqf_error err = {0};
    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    assert_int_equal(pqf_ostream_mem((size_t)1 << 30, &out, &err), PQF_OK);
    if (pqf_writer_create(f.s, out, o, &w, &err) != PQF_OK)
        fail_msg("create: %s", err.msg);
    pqf_schema_free(f.s); /* the writer keeps its own copy */
    f.s = NULL;
    assert_true(pqf__writer_flat(w));
    for (int64_t i = 0; i < rows; i++)
        rowf(w, &f, i);
    if (pqf_writer_close(w) != PQF_OK)
        fail_msg("close: %s", pqf_writer_error(w)->msg);
    pqf_writer_stats st;
    pqf_writer_get_stats(w, &st);
    assert_int_equal(st.rows, rows);
    size_t len;
    const uint8_t *d = pqf_ostream_mem_data(out, &len);
    assert_int_equal(st.bytes, len);
    check_file(d, len);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, d, len);
    *outlen = len;
    pqf_writer_free(w);
    pqf_ostream_free(out);
    return copy;
}

static void write_flat(const char *name, pqf_writer_opts *o, int64_t rows)
{
    size_t len;
    uint8_t *d = write_flat_with(o, rows, flat_row, &len);
    save(name, d, len);
    free(d);
}

static void write_nested(const char *name, pqf_writer_opts *o, int64_t rows)
{
    nested n;
    nested_schema(&n);
    pqf_error err = {0};
    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    assert_int_equal(pqf_ostream_mem((size_t)1 << 30, &out, &err), PQF_OK);
    if (pqf_writer_create(n.s, out, o, &w, &err) != PQF_OK)
        fail_msg("create: %s", err.msg);
    for (int64_t i = 0; i < rows; i++)
        nested_row(w, &n, i);
    assert_int_equal(pqf_writer_add_kv(w, "pqfeed.test", "nested"), PQF_OK);
    if (pqf_writer_close(w) != PQF_OK)
        fail_msg("close: %s", pqf_writer_error(w)->msg);
    size_t len;
    const uint8_t *d = pqf_ostream_mem_data(out, &len);
    check_file(d, len);
    save(name, d, len);
    pqf_writer_free(w);
    pqf_ostream_free(out);
    pqf_schema_free(n.s);
}

static void flat_uncompressed_v1(void **state)
{
    (void)state;
    pqf_writer_opts o;
    pqf_writer_opts_init(&o);
    o.codec = PQF_CODEC_UNCOMPRESSED;
    write_flat("flat_v1_none.parquet", &o, 1000);
}

static void flat_small_pages_and_row_groups(void **state)
{
    (void)state;
    pqf_writer_opts o;
    pqf_writer_opts_init(&o);
    o.codec = PQF_CODEC_UNCOMPRESSED;
    o.page_bytes = 2000;
    o.row_group_bytes = 100000;
    o.dict_page_bytes = 4000; /* forces fallback on the wide columns */
    write_flat("flat_small.parquet", &o, 20000);
    o.page_crc = false;
    o.statistics = false;
    o.page_index = false;
    o.codec = PQF_CODEC_SNAPPY;
    write_flat("flat_bare.parquet", &o, 3000);
}

/* A failing stream fails close with the stream's reason; nothing is committed. */
static void stream_errors_reach_the_caller(void **state)
{
    (void)state;
    flat f;
    flat_schema(&f);
    pqf_error err = {0};
    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    assert_int_equal(pqf_ostream_mem(5000, &out, &err), PQF_OK);
    pqf_writer_opts o;
    pqf_writer_opts_init(&o);
    o.row_group_bytes = 4000;
    assert_int_equal(pqf_writer_create(f.s, out, &o, &w, &err), PQF_OK);
    pqf_err rc = PQF_OK;
    for (int64_t i = 0; i < 1000 && rc == PQF_OK; i++) {
        rc = pqf_writer_row_begin(w);
        if (rc == PQF_OK)
            rc = pqf_writer_i64(w, f.id, i);
        if (rc == PQF_OK)
            rc = pqf_writer_bytes(w, f.bin, "x", 1);
        if (rc == PQF_OK)
            rc = pqf_writer_row_end(w);
    }
    if (rc == PQF_OK)
        rc = pqf_writer_close(w);
    assert_int_equal(rc, PQF_ERR_LIMIT);
    assert_non_null(strstr(pqf_writer_error(w)->msg, "cap of 5000"));
    assert_int_equal(pqf_writer_close(w), PQF_ERR_LIMIT); /* poisoned */
    pqf_writer_free(w);
    pqf_ostream_free(out);
    pqf_schema_free(f.s);
}

static void flat_every_codec_and_page_version(void **state)
{
    (void)state;
    static const struct {
        pqf_codec c;
        const char *name;
    } codecs[] = {{PQF_CODEC_UNCOMPRESSED, "none"}, {PQF_CODEC_SNAPPY, "snappy"},
                  {PQF_CODEC_GZIP, "gzip"},         {PQF_CODEC_BROTLI, "brotli"},
                  {PQF_CODEC_ZSTD, "zstd"},         {PQF_CODEC_LZ4_RAW, "lz4raw"}};
    for (size_t i = 0; i < PQF_ARRAY_LEN(codecs); i++)
        for (int v = 1; v <= 2; v++) {
            pqf_writer_opts o;
            pqf_writer_opts_init(&o);
            o.codec = codecs[i].c;
            o.page_version = v;
            o.page_bytes = 8000;
            char name[64];
            snprintf(name, sizeof name, "flat_v%d_%s.parquet", v, codecs[i].name);
            write_flat(name, &o, 5000);
        }
}

static void flat_explicit_encodings(void **state)
{
    (void)state;
    pqf_column_opts cols[] = {
        {.path = "id", .encoding = PQF_ENC_DELTA_BINARY_PACKED, .dictionary = -1},
        {.path = "i32", .encoding = PQF_ENC_DELTA_BINARY_PACKED, .dictionary = -1},
        {.path = "ts", .encoding = PQF_ENC_DELTA_BINARY_PACKED, .dictionary = -1},
        {.path = "s", .encoding = PQF_ENC_DELTA_LENGTH_BYTE_ARRAY, .dictionary = -1},
        {.path = "bin", .encoding = PQF_ENC_DELTA_LENGTH_BYTE_ARRAY, .dictionary = -1},
        {.path = "f", .encoding = PQF_ENC_BYTE_STREAM_SPLIT, .dictionary = -1},
        {.path = "d", .encoding = PQF_ENC_BYTE_STREAM_SPLIT, .dictionary = -1},
        {.path = "b", .encoding = PQF_ENC_RLE, .dictionary = -1},
        {.path = "u64", .encoding = PQF_ENC_PLAIN, .dictionary = 0},
        {.path = "en", .encoding = PQF_ENC_AUTO, .dictionary = -1, .bloom_filter = true},
        {.path = "id",
         .encoding = PQF_ENC_DELTA_BINARY_PACKED,
         .bloom_filter = true,
         .dictionary = -1},
    };
    for (int v = 1; v <= 2; v++) {
        pqf_writer_opts o;
        pqf_writer_opts_init(&o);
        o.codec = PQF_CODEC_ZSTD;
        o.page_version = v;
        o.page_bytes = 4000;
        o.columns = cols;
        o.ncolumns = PQF_ARRAY_LEN(cols);
        write_flat(v == 1 ? "flat_enc_v1.parquet" : "flat_enc_v2.parquet", &o, 3000);
    }
}

static void nested_files(void **state)
{
    (void)state;
    for (int v = 1; v <= 2; v++) {
        pqf_writer_opts o;
        pqf_writer_opts_init(&o);
        o.page_version = v;
        o.page_bytes = 500;
        write_nested(v == 1 ? "nested_v1.parquet" : "nested_v2.parquet", &o, 1000);
    }
    pqf_writer_opts o;
    pqf_writer_opts_init(&o);
    o.codec = PQF_CODEC_UNCOMPRESSED;
    o.dictionary = false;
    write_nested("nested_plain.parquet", &o, 50);
}

/* API misuse is reported with the column and row, and poisons the writer. */
static void misuse_is_reported(void **state)
{
    (void)state;
    nested n;
    nested_schema(&n);
    pqf_error err = {0};
    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    assert_int_equal(pqf_ostream_mem(1 << 20, &out, &err), PQF_OK);
    assert_int_equal(pqf_writer_create(n.s, out, NULL, &w, &err), PQF_OK);
    assert_int_equal(pqf_writer_row_begin(w), PQF_OK);
    assert_int_equal(pqf_writer_i32(w, n.id, 1), PQF_ERR_INVALID_ARG);
    assert_non_null(strstr(pqf_writer_error(w)->msg, "column id, row 1"));
    assert_int_equal(pqf_writer_row_end(w), PQF_ERR_INVALID_ARG); /* poisoned */
    pqf_writer_free(w);

    w = NULL;
    assert_int_equal(pqf_writer_create(n.s, out, NULL, &w, &err), PQF_OK);
    assert_int_equal(pqf_writer_row_begin(w), PQF_OK);
    assert_int_equal(pqf_writer_i64(w, n.id, 1), PQF_OK);
    assert_int_equal(pqf_writer_i64(w, n.id, 2), PQF_ERR_INVALID_ARG);
    assert_non_null(strstr(pqf_writer_error(w)->msg, "written twice"));
    pqf_writer_free(w);

    w = NULL;
    assert_int_equal(pqf_writer_create(n.s, out, NULL, &w, &err), PQF_OK);
    assert_int_equal(pqf_writer_row_begin(w), PQF_OK);
    assert_int_equal(pqf_writer_row_end(w), PQF_ERR_INVALID_ARG); /* id is REQUIRED */
    assert_non_null(strstr(pqf_writer_error(w)->msg, "column id"));
    pqf_writer_free(w);

    w = NULL;
    assert_int_equal(pqf_writer_create(n.s, out, NULL, &w, &err), PQF_OK);
    assert_int_equal(pqf_writer_row_begin(w), PQF_OK);
    assert_int_equal(pqf_writer_i64(w, n.id, 1), PQF_OK);
    assert_int_equal(pqf_writer_struct_begin(w, n.author), PQF_OK);
    assert_int_equal(pqf_writer_struct_end(w), PQF_ERR_INVALID_ARG); /* age REQUIRED */
    assert_non_null(strstr(pqf_writer_error(w)->msg, "author.age"));
    pqf_writer_free(w);

    w = NULL;
    assert_int_equal(pqf_writer_create(n.s, out, NULL, &w, &err), PQF_OK);
    assert_int_equal(pqf_writer_row_begin(w), PQF_OK);
    assert_int_equal(pqf_writer_list_begin(w, n.labels), PQF_OK);
    assert_int_equal(pqf_writer_i64(w, n.id, 1), PQF_ERR_INVALID_ARG); /* not the element */
    pqf_writer_free(w);

    w = NULL;
    pqf_writer_opts o;
    pqf_writer_opts_init(&o);
    pqf_column_opts co = {.path = "nope", .dictionary = -1};
    o.columns = &co;
    o.ncolumns = 1;
    assert_int_equal(pqf_writer_create(n.s, out, &o, &w, &err), PQF_ERR_INVALID_ARG);
    assert_non_null(strstr(err.msg, "nope"));
    co.path = "labels";
    co.encoding = PQF_ENC_DELTA_BINARY_PACKED;
    assert_int_equal(pqf_writer_create(n.s, out, &o, &w, &err), PQF_ERR_INVALID_ARG);
    assert_non_null(strstr(err.msg, "labels.list.element"));
    assert_null(w);

    pqf_ostream_free(out);
    pqf_schema_free(n.s);
}

static void int8_range_is_checked(void **state)
{
    (void)state;
    flat f;
    flat_schema(&f);
    pqf_error err = {0};
    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    assert_int_equal(pqf_ostream_mem(1 << 20, &out, &err), PQF_OK);
    assert_int_equal(pqf_writer_create(f.s, out, NULL, &w, &err), PQF_OK);
    assert_int_equal(pqf_writer_row_begin(w), PQF_OK);
    assert_int_equal(pqf_writer_i32(w, f.i8, 300), PQF_ERR_VALUE);
    assert_non_null(strstr(pqf_writer_error(w)->msg, "column i8, row 1"));
    pqf_writer_free(w);
    pqf_ostream_free(out);
    pqf_schema_free(f.s);
}

/* pqf__writer_flat_row writes the same bytes as the per-value calls, with
 * every option that changes the per-value path (dictionary and its
 * fallback, explicit encodings, page v2, Bloom filters, small pages and row
 * groups). */
static void flat_rows_match_per_value_calls(void **state)
{
    (void)state;
    for (int variant = 0; variant < 4; variant++) {
        pqf_writer_opts o;
        pqf_writer_opts_init(&o);
        pqf_column_opts cols[3] = {PQF_COLUMN_OPTS_INIT("s"), PQF_COLUMN_OPTS_INIT("ts"),
                                   PQF_COLUMN_OPTS_INIT("d")};
        if (variant == 1) {
            o.page_bytes = 4096;
            o.row_group_bytes = 1 << 16;
            o.dict_page_bytes = 2048; /* dictionaries fall back */
            o.codec = PQF_CODEC_SNAPPY;
        } else if (variant == 2) {
            o.page_version = 2;
            o.codec = PQF_CODEC_ZSTD;
            cols[0].bloom_filter = true;
            cols[1].encoding = PQF_ENC_DELTA_BINARY_PACKED;
            cols[1].dictionary = 0;
            cols[2].encoding = PQF_ENC_BYTE_STREAM_SPLIT;
            cols[2].dictionary = 0;
            o.columns = cols;
            o.ncolumns = 3;
        } else if (variant == 3) {
            o.dictionary = false;
            o.page_bytes = 1000;
        }
        size_t n1, n2;
        uint8_t *a = write_flat_with(&o, 3000, flat_row, &n1);
        uint8_t *b = write_flat_with(&o, 3000, flat_row_at_once, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(a, b, n1);
        free(a);
        free(b);
    }
}

/* Errors through flat rows: the same messages as the per-value calls. */
static void flat_row_errors(void **state)
{
    (void)state;
    flat f;
    flat_schema(&f);
    pqf_error err = {0};
    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    flat_cells c;
    pqf__val vals[NFLAT];
    uint8_t nulls[NFLAT];

    /* a null for the REQUIRED id */
    assert_int_equal(pqf_ostream_mem(1 << 20, &out, &err), PQF_OK);
    assert_int_equal(pqf_writer_create(f.s, out, NULL, &w, &err), PQF_OK);
    flat_values(&f, 5, &c);
    to_leaf_order(w, &c, vals, nulls);
    nulls[pqf__writer_leaf(w, f.id)] = 1;
    assert_int_equal(pqf__writer_flat_row(w, vals, nulls), PQF_ERR_INVALID_ARG);
    assert_non_null(strstr(pqf_writer_error(w)->msg, "null for a REQUIRED field"));
    assert_non_null(strstr(pqf_writer_error(w)->msg, "id"));
    pqf_writer_free(w);
    pqf_ostream_free(out);

    /* int8 out of range, and a FIXED_LEN_BYTE_ARRAY of the wrong length */
    for (int k = 0; k < 2; k++) {
        assert_int_equal(pqf_ostream_mem(1 << 20, &out, &err), PQF_OK);
        assert_int_equal(pqf_writer_create(f.s, out, NULL, &w, &err), PQF_OK);
        flat_values(&f, 0, &c);
        to_leaf_order(w, &c, vals, nulls);
        if (k == 0)
            vals[pqf__writer_leaf(w, f.i8)].u.i32 = 300;
        else
            vals[pqf__writer_leaf(w, f.uuid)].n = 15;
        assert_int_equal(pqf__writer_flat_row(w, vals, nulls), PQF_ERR_VALUE);
        assert_non_null(strstr(pqf_writer_error(w)->msg,
                               k == 0 ? "column i8, row 1: 300 out of range"
                                      : "column uuid, row 1: 15 bytes for FIXED_LEN_BYTE_ARRAY(16)"));
        pqf_writer_free(w);
        pqf_ostream_free(out);
    }
    pqf_schema_free(f.s);

    /* a nested schema has no flat rows */
    nested n;
    nested_schema(&n);
    assert_int_equal(pqf_ostream_mem(1 << 20, &out, &err), PQF_OK);
    assert_int_equal(pqf_writer_create(n.s, out, NULL, &w, &err), PQF_OK);
    assert_false(pqf__writer_flat(w));
    assert_int_equal(pqf__writer_leaf(w, n.author), -1);
    memset(nulls, 1, sizeof nulls);
    assert_int_equal(pqf__writer_flat_row(w, vals, nulls), PQF_ERR_INVALID_ARG);
    pqf_writer_free(w);
    pqf_ostream_free(out);
    pqf_schema_free(n.s);
}

/* An empty file (no rows) is still valid: magic, schema, no row groups. */
static void empty_file(void **state)
{
    (void)state;
    flat f;
    flat_schema(&f);
    pqf_error err = {0};
    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    assert_int_equal(pqf_ostream_mem(1 << 20, &out, &err), PQF_OK);
    assert_int_equal(pqf_writer_create(f.s, out, NULL, &w, &err), PQF_OK);
    assert_int_equal(pqf_writer_close(w), PQF_OK);
    size_t len;
    const uint8_t *d = pqf_ostream_mem_data(out, &len);
    check_file(d, len);
    save("empty.parquet", d, len);
    pqf_writer_free(w);
    pqf_ostream_free(out);
    pqf_schema_free(f.s);
}

/* Levels of leaf `leaf` read back with the library's reader. */
static size_t read_levels(pqf_reader *r, int leaf, int16_t *def, int16_t *rep, size_t cap)
{
    pqf_column_reader *c = NULL;
    assert_int_equal(pqf_column_open(r, 0, leaf, &c), PQF_OK);
    size_t n = 0;
    for (;;) {
        pqf_batch b;
        assert_int_equal(pqf_column_next(c, 1000, &b), PQF_OK);
        if (b.nlevels == 0)
            break;
        assert_true(n + b.nlevels <= cap);
        for (size_t i = 0; i < b.nlevels; i++) {
            def[n + i] = b.def ? b.def[i] : 0;
            rep[n + i] = b.rep ? b.rep[i] : 0;
        }
        n += b.nlevels;
    }
    pqf_column_free(c);
    return n;
}

/* Dremel levels of the first four nested rows, worked out by hand from
 * nested_row's comment. */
static void nested_levels_match_hand_computed(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        size_t n;
        int16_t def[12], rep[12];
    } want[] = {
        {"author.name", 4, {1, 0, 2, 1}, {0}}, /* i%3==0: name null */
        {"author.age", 4, {1, 0, 1, 1}, {0}},
        {"labels.list.element", 7, {3, 2, 3, 3, 3, 1, 0}, {0, 1, 1, 0, 1, 0, 0}},
        {"points.list.element.x", 5, {1, 2, 2, 2, 1}, {0, 0, 0, 1, 0}},
        {"points.list.element.y", 5, {1, 3, 3, 2, 1}, {0, 0, 0, 1, 0}},
        {"matrix.list.element.list.element",
         10,
         {5, 5, 4, 3, 2, 5, 5, 4, 3, 2},
         {0, 0, 2, 1, 1, 0, 0, 2, 1, 1}},
    };
    for (int v = 1; v <= 2; v++) {
        nested n;
        nested_schema(&n);
        pqf_error err = {0};
        pqf_ostream *out = NULL;
        pqf_writer *w = NULL;
        assert_int_equal(pqf_ostream_mem(1 << 24, &out, &err), PQF_OK);
        pqf_writer_opts o;
        pqf_writer_opts_init(&o);
        o.page_version = v;
        o.page_bytes = 1; /* a page per row */
        assert_int_equal(pqf_writer_create(n.s, out, &o, &w, &err), PQF_OK);
        for (int64_t i = 0; i < 4; i++)
            nested_row(w, &n, i);
        assert_int_equal(pqf_writer_close(w), PQF_OK);
        size_t len;
        const uint8_t *d = pqf_ostream_mem_data(out, &len);
        pqf_istream *in = NULL;
        pqf_reader *r = NULL;
        assert_int_equal(pqf_istream_mem(d, len, "nested", &in, &err), PQF_OK);
        if (pqf_reader_open(in, NULL, &r, &err) != PQF_OK)
            fail_msg("reader: %s", err.msg);
        assert_int_equal(pqf_reader_num_rows(r), 4);
        for (size_t k = 0; k < PQF_ARRAY_LEN(want); k++) {
            int leaf = pqf_reader_find_leaf(r, want[k].path);
            assert_true(leaf >= 0);
            int16_t def[64], rep[64];
            size_t got = read_levels(r, leaf, def, rep, 64);
            assert_int_equal(got, want[k].n);
            for (size_t i = 0; i < got; i++) {
                if (def[i] != want[k].def[i] || rep[i] != want[k].rep[i])
                    fail_msg("%s level %zu: def %d rep %d, want %d %d", want[k].path, i, def[i],
                             rep[i], want[k].def[i], want[k].rep[i]);
            }
        }
        pqf_page_index pi;
        int leaf = pqf_reader_find_leaf(r, "matrix.list.element.list.element");
        assert_int_equal(pqf_reader_page_index(r, 0, leaf, &pi), PQF_OK);
        assert_int_equal(pi.npages, 4); /* one page per row, each starting a row */
        assert_non_null(pi.locations);
        for (int p = 0; p < 4; p++)
            assert_int_equal(pi.locations[p].first_row, p);
        assert_true(pi.has_column_index);
        assert_int_equal(pi.null_counts[1], 3); /* row 1: null, [], null list */
        assert_int_equal(pi.boundary_order, 1);
        pqf_reader_free(r);
        pqf_istream_free(in);
        pqf_writer_free(w);
        pqf_ostream_free(out);
        pqf_schema_free(n.s);
    }
}

/* ---- random nested rows against levels derived independently ------------- */

typedef struct lv {
    int16_t def[200000], rep[200000];
    size_t n;
} lv;

static void lv_add(lv *l, int d, int r)
{
    assert_true(l->n < PQF_ARRAY_LEN(l->def));
    l->def[l->n] = (int16_t)d;
    l->rep[l->n] = (int16_t)r;
    l->n++;
}

/* Write one random row and append the levels each leaf must get, derived
 * straight from the shape of the data (not from the writer's bookkeeping). */
static void random_row(pqf_writer *w, const nested *n, unsigned *seed, lv *want)
{
    /* want[0] name, [1] age, [2] label, [3] x, [4] y, [5] cell */
    assert_int_equal(pqf_writer_row_begin(w), PQF_OK);
    assert_int_equal(pqf_writer_i64(w, n->id, 1), PQF_OK);
    int a = rand_r(seed) % 3;
    if (a == 0) { /* author left out: null */
        lv_add(&want[0], 0, 0);
        lv_add(&want[1], 0, 0);
    } else {
        assert_int_equal(pqf_writer_struct_begin(w, n->author), PQF_OK);
        if (a == 2) {
            assert_int_equal(pqf_writer_bytes(w, n->name, "nm", 2), PQF_OK);
            lv_add(&want[0], 2, 0);
        } else {
            lv_add(&want[0], 1, 0);
        }
        assert_int_equal(pqf_writer_i32(w, n->age, 5), PQF_OK);
        lv_add(&want[1], 1, 0);
        assert_int_equal(pqf_writer_struct_end(w), PQF_OK);
    }
    int k = rand_r(seed) % 5 - 1; /* -1 null, 0 empty, 1..3 elements */
    if (k < 0) {
        if (rand_r(seed) % 2)
            assert_int_equal(pqf_writer_null(w, n->labels), PQF_OK);
        lv_add(&want[2], 0, 0);
    } else {
        assert_int_equal(pqf_writer_list_begin(w, n->labels), PQF_OK);
        if (k == 0)
            lv_add(&want[2], 1, 0);
        for (int e = 0; e < k; e++) {
            if (rand_r(seed) % 3 == 0) {
                assert_int_equal(pqf_writer_null(w, n->label), PQF_OK);
                lv_add(&want[2], 2, e ? 1 : 0);
            } else {
                assert_int_equal(pqf_writer_bytes(w, n->label, "l", 1), PQF_OK);
                lv_add(&want[2], 3, e ? 1 : 0);
            }
        }
        assert_int_equal(pqf_writer_list_end(w), PQF_OK);
    }
    k = rand_r(seed) % 5 - 1;
    if (k < 0) {
        lv_add(&want[3], 0, 0);
        lv_add(&want[4], 0, 0);
    } else {
        assert_int_equal(pqf_writer_list_begin(w, n->points), PQF_OK);
        if (k == 0) {
            lv_add(&want[3], 1, 0);
            lv_add(&want[4], 1, 0);
        }
        for (int e = 0; e < k; e++) {
            assert_int_equal(pqf_writer_struct_begin(w, n->point), PQF_OK);
            int y = rand_r(seed) % 2;
            /* fields in either order */
            if (y && rand_r(seed) % 2) {
                assert_int_equal(pqf_writer_double(w, n->y, 1.0), PQF_OK);
                assert_int_equal(pqf_writer_double(w, n->x, 2.0), PQF_OK);
            } else {
                assert_int_equal(pqf_writer_double(w, n->x, 2.0), PQF_OK);
                if (y)
                    assert_int_equal(pqf_writer_double(w, n->y, 1.0), PQF_OK);
            }
            lv_add(&want[3], 2, e ? 1 : 0);
            lv_add(&want[4], y ? 3 : 2, e ? 1 : 0);
            assert_int_equal(pqf_writer_struct_end(w), PQF_OK);
        }
        assert_int_equal(pqf_writer_list_end(w), PQF_OK);
    }
    k = rand_r(seed) % 5 - 1;
    if (k < 0) {
        assert_int_equal(pqf_writer_null(w, n->matrix), PQF_OK);
        lv_add(&want[5], 0, 0);
    } else {
        assert_int_equal(pqf_writer_list_begin(w, n->matrix), PQF_OK);
        if (k == 0)
            lv_add(&want[5], 1, 0);
        for (int e = 0; e < k; e++) {
            int ro = e ? 1 : 0;
            int m = rand_r(seed) % 5 - 1;
            if (m < 0) {
                assert_int_equal(pqf_writer_null(w, n->row), PQF_OK);
                lv_add(&want[5], 2, ro);
                continue;
            }
            assert_int_equal(pqf_writer_list_begin(w, n->row), PQF_OK);
            if (m == 0)
                lv_add(&want[5], 3, ro);
            for (int j = 0; j < m; j++) {
                int r = j ? 2 : ro;
                if (rand_r(seed) % 4 == 0) {
                    assert_int_equal(pqf_writer_null(w, n->cell), PQF_OK);
                    lv_add(&want[5], 4, r);
                } else {
                    assert_int_equal(pqf_writer_i32(w, n->cell, j), PQF_OK);
                    lv_add(&want[5], 5, r);
                }
            }
            assert_int_equal(pqf_writer_list_end(w), PQF_OK);
        }
        assert_int_equal(pqf_writer_list_end(w), PQF_OK);
    }
    assert_int_equal(pqf_writer_row_end(w), PQF_OK);
}

static void random_nested_rows_round_trip(void **state)
{
    (void)state;
    static const char *paths[6] = {"author.name",           "author.age",
                                   "labels.list.element",   "points.list.element.x",
                                   "points.list.element.y", "matrix.list.element.list.element"};
    lv *want = calloc(6, sizeof *want);
    lv *got = calloc(1, sizeof *got);
    assert_non_null(want);
    assert_non_null(got);
    for (int round = 0; round < 4; round++) {
        nested n;
        nested_schema(&n);
        pqf_error err = {0};
        pqf_ostream *out = NULL;
        pqf_writer *w = NULL;
        assert_int_equal(pqf_ostream_mem((size_t)1 << 28, &out, &err), PQF_OK);
        pqf_writer_opts o;
        pqf_writer_opts_init(&o);
        o.page_version = round % 2 + 1;
        o.page_bytes = round < 2 ? 300 : 1 << 20;
        o.row_group_bytes = round == 1 ? 5000 : (uint64_t)1 << 27;
        assert_int_equal(pqf_writer_create(n.s, out, &o, &w, &err), PQF_OK);
        for (int i = 0; i < 6; i++)
            want[i].n = 0;
        unsigned seed = (unsigned)round * 7919u + 1;
        for (int i = 0; i < 5000; i++)
            random_row(w, &n, &seed, want);
        assert_int_equal(pqf_writer_close(w), PQF_OK);
        size_t len;
        const uint8_t *d = pqf_ostream_mem_data(out, &len);
        pqf_istream *in = NULL;
        pqf_reader *r = NULL;
        assert_int_equal(pqf_istream_mem(d, len, "random", &in, &err), PQF_OK);
        if (pqf_reader_open(in, NULL, &r, &err) != PQF_OK)
            fail_msg("reader: %s", err.msg);
        assert_int_equal(pqf_reader_num_rows(r), 5000);
        for (int k = 0; k < 6; k++) {
            int leaf = pqf_reader_find_leaf(r, paths[k]);
            got->n = 0;
            for (int rg = 0; rg < pqf_reader_row_group_count(r); rg++) {
                pqf_column_reader *c = NULL;
                assert_int_equal(pqf_column_open(r, rg, leaf, &c), PQF_OK);
                for (;;) {
                    pqf_batch b;
                    assert_int_equal(pqf_column_next(c, 777, &b), PQF_OK);
                    if (b.nlevels == 0)
                        break;
                    for (size_t i = 0; i < b.nlevels; i++)
                        lv_add(got, b.def ? b.def[i] : 0, b.rep ? b.rep[i] : 0);
                }
                pqf_column_free(c);
            }
            assert_int_equal(got->n, want[k].n);
            for (size_t i = 0; i < got->n; i++)
                if (got->def[i] != want[k].def[i] || got->rep[i] != want[k].rep[i])
                    fail_msg("round %d %s entry %zu: def %d rep %d, want %d %d", round, paths[k], i,
                             got->def[i], got->rep[i], want[k].def[i], want[k].rep[i]);
        }
        if (round == 1)
            assert_true(pqf_reader_row_group_count(r) > 1);
        pqf_reader_free(r);
        pqf_istream_free(in);
        pqf_writer_free(w);
        pqf_ostream_free(out);
        pqf_schema_free(n.s);
    }
    free(want);
    free(got);
}

/* Columns that never get a value: all-null pages, no dictionary page. */
static void all_null_columns(void **state)
{
    (void)state;
    pqf_error err = {0};
    pqf_schema *s = pqf_schema_create();
    int a = pqf_schema_add_column(s, 0, "a", PQF_REQUIRED, PQF_INT64, 0, NULL, -1, &err);
    int b = pqf_schema_add_column(s, 0, "b", PQF_OPTIONAL, PQF_BYTE_ARRAY, 0,
                                  &(pqf_logical){.kind = PQF_LT_STRING}, -1, &err);
    int l = pqf_schema_add_list(s, 0, "l", PQF_OPTIONAL, -1, &err);
    int e = pqf_schema_add_column(s, l, "element", PQF_OPTIONAL, PQF_DOUBLE, 0, NULL, -1, &err);
    assert_true(b > 0 && e > 0);
    assert_int_equal(pqf_schema_finish(s, &err), PQF_OK);
    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    assert_int_equal(pqf_ostream_mem(1 << 24, &out, &err), PQF_OK);
    pqf_writer_opts o;
    pqf_writer_opts_init(&o);
    o.page_bytes = 100;
    for (int v = 1; v <= 2; v++) {
        o.page_version = v;
        assert_int_equal(pqf_writer_create(s, out, &o, &w, &err), PQF_OK);
        for (int i = 0; i < 300; i++) {
            assert_int_equal(pqf_writer_row_begin(w), PQF_OK);
            assert_int_equal(pqf_writer_i64(w, a, i), PQF_OK);
            if (i % 2) {
                assert_int_equal(pqf_writer_list_begin(w, pqf_schema_find_path(s, "l")), PQF_OK);
                assert_int_equal(pqf_writer_null(w, e), PQF_OK);
                assert_int_equal(pqf_writer_list_end(w), PQF_OK);
            }
            assert_int_equal(pqf_writer_row_end(w), PQF_OK);
        }
        assert_int_equal(pqf_writer_close(w), PQF_OK);
        pqf_writer_free(w);
        w = NULL;
        size_t len;
        const uint8_t *d = pqf_ostream_mem_data(out, &len);
        check_file(d, len);
        save(v == 1 ? "allnull_v1.parquet" : "allnull_v2.parquet", d, len);
        pqf_ostream_free(out);
        assert_int_equal(pqf_ostream_mem(1 << 24, &out, &err), PQF_OK);
    }
    pqf_ostream_free(out);
    pqf_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flat_uncompressed_v1),
        cmocka_unit_test(flat_small_pages_and_row_groups),
        cmocka_unit_test(flat_every_codec_and_page_version),
        cmocka_unit_test(flat_explicit_encodings),
        cmocka_unit_test(nested_files),
        cmocka_unit_test(misuse_is_reported),
        cmocka_unit_test(int8_range_is_checked),
        cmocka_unit_test(empty_file),
        cmocka_unit_test(flat_rows_match_per_value_calls),
        cmocka_unit_test(flat_row_errors),
        cmocka_unit_test(all_null_columns),
        cmocka_unit_test(stream_errors_reach_the_caller),
        cmocka_unit_test(nested_levels_match_hand_computed),
        cmocka_unit_test(random_nested_rows_round_trip),
    };
    return cmocka_run_group_tests_name("writer", tests, NULL, NULL);
}
