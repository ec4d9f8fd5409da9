/* Unit tests: the writer's deferred dictionary puts (src/parquet/writer.c,
 * dq): fixed-width values whose dictionary probes wait for the row's end (or
 * for 64 of them, mid-row) read back as written, when dictionaries fill
 * mid-row and fall back to PLAIN, with nulls, lists of more than 64 values
 * per row, small pages and row groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqfeed/pqfeed.h"
#include "pqfeed/reader.h"

enum { ROWS = 4000 };

typedef struct {
    pqf_schema *s;
    int v, x, l, e, n;
} sch;

static void make_schema(sch *h)
{
    pqf_error err = {0};
    h->s = pqf_schema_create();
    h->v = pqf_schema_add_column(h->s, 0, "v", PQF_OPTIONAL, PQF_INT64, 0, NULL, -1, &err);
    h->x = pqf_schema_add_column(h->s, 0, "x", PQF_REQUIRED, PQF_DOUBLE, 0, NULL, -1, &err);
    int list = pqf_schema_add_list(h->s, 0, "l", PQF_OPTIONAL, -1, &err);
    h->l = pqf_schema_find_path(h->s, "l");
    h->e = pqf_schema_add_column(h->s, list, "element", PQF_REQUIRED, PQF_INT64, 0, NULL, -1, &err);
    h->n = pqf_schema_add_column(h->s, 0, "n", PQF_REQUIRED, PQF_INT32, 0, NULL, -1, &err);
    if (pqf_schema_finish(h->s, &err) != PQF_OK)
        fail_msg("schema: %s", err.msg);
}

static int64_t v_of(int i) { return (int64_t)(i * 7 % 900) - 300; }
static double x_of(int i) { return (i % 37) * 0.25; }
static int l_len(int i) { return i % 11 == 0 ? -1 : i % 130; } /* -1: null list */
static int64_t e_of(int i, int k) { return (int64_t)((i * 31 + k * 17) % 3000) << 20; }
static int32_t n_of(int i) { return (int32_t)((unsigned)i * 2654435761u % 50000u); }

/* The rows into a file in memory. */
static uint8_t *write_file(const sch *h, const pqf_writer_opts *o, size_t *len)
{
    pqf_error err = {0};
    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    assert_int_equal(pqf_ostream_mem((size_t)1 << 28, &out, &err), PQF_OK);
    assert_int_equal(pqf_writer_create(h->s, out, o, &w, &err), PQF_OK);
    for (int i = 0; i < ROWS; i++) {
        assert_int_equal(pqf_writer_row_begin(w), PQF_OK);
        if (i % 9 == 0)
            assert_int_equal(pqf_writer_null(w, h->v), PQF_OK);
        else
            assert_int_equal(pqf_writer_i64(w, h->v, v_of(i)), PQF_OK);
        assert_int_equal(pqf_writer_double(w, h->x, x_of(i)), PQF_OK);
        int nl = l_len(i);
        if (nl < 0) {
            assert_int_equal(pqf_writer_null(w, h->l), PQF_OK);
        } else {
            assert_int_equal(pqf_writer_list_begin(w, h->l), PQF_OK);
            for (int k = 0; k < nl; k++)
                assert_int_equal(pqf_writer_i64(w, h->e, e_of(i, k)), PQF_OK);
            assert_int_equal(pqf_writer_list_end(w), PQF_OK);
        }
        assert_int_equal(pqf_writer_i32(w, h->n, n_of(i)), PQF_OK);
        if (pqf_writer_row_end(w) != PQF_OK)
            fail_msg("row %d: %s", i, pqf_writer_error(w)->msg);
    }
    assert_int_equal(pqf_writer_close(w), PQF_OK);
    const uint8_t *d = pqf_ostream_mem_data(out, len);
    uint8_t *copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, d, *len);
    pqf_writer_free(w);
    pqf_ostream_free(out);
    return copy;
}

/* Every non-null value of a leaf, in order, as 8 bytes each. */
static size_t read_leaf(const uint8_t *d, size_t len, const char *path, uint64_t *vals, size_t cap)
{
    pqf_error err = {0};
    pqf_istream *in = NULL;
    pqf_reader *r = NULL;
    assert_int_equal(pqf_istream_mem(d, len, "dq", &in, &err), PQF_OK);
    if (pqf_reader_open(in, NULL, &r, &err) != PQF_OK)
        fail_msg("reader: %s", err.msg);
    int leaf = pqf_reader_find_leaf(r, path);
    assert_true(leaf >= 0);
    size_t n = 0;
    for (int rg = 0; rg < pqf_reader_row_group_count(r); rg++) {
        pqf_column_reader *c = NULL;
        assert_int_equal(pqf_column_open(r, rg, leaf, &c), PQF_OK);
        for (;;) {
            pqf_batch b;
            assert_int_equal(pqf_column_next(c, 1000, &b), PQF_OK);
            if (b.nlevels == 0)
                break;
            for (size_t i = 0; i < b.nvalues; i++) {
                assert_true(n < cap);
                uint64_t x = 0;
                if (b.physical == PQF_INT32) {
                    int32_t v;
                    memcpy(&v, (const uint8_t *)b.values + i * 4, 4);
                    x = (uint64_t)(int64_t)v;
                } else {
                    memcpy(&x, (const uint8_t *)b.values + i * 8, 8);
                }
                vals[n++] = x;
            }
        }
        pqf_column_free(c);
    }
    pqf_reader_free(r);
    pqf_istream_free(in);
    return n;
}

static void check_values(const uint8_t *d, size_t len, const char *what)
{
    size_t cap = (size_t)ROWS * 130;
    uint64_t *got = malloc(cap * sizeof *got);
    assert_non_null(got);
    size_t n = read_leaf(d, len, "v", got, cap), j = 0;
    for (int i = 0; i < ROWS; i++)
        if (i % 9 != 0) {
            if (j >= n || (int64_t)got[j] != v_of(i))
                fail_msg("%s: v of row %d", what, i);
            j++;
        }
    assert_int_equal(j, n);
    n = read_leaf(d, len, "x", got, cap);
    assert_int_equal(n, ROWS);
    for (int i = 0; i < ROWS; i++) {
        double x;
        memcpy(&x, &got[i], 8);
        if (x != x_of(i))
            fail_msg("%s: x of row %d", what, i);
    }
    n = read_leaf(d, len, "l.list.element", got, cap);
    j = 0;
    for (int i = 0; i < ROWS; i++)
        for (int k = 0; k < l_len(i); k++) {
            if (j >= n || (int64_t)got[j] != e_of(i, k))
                fail_msg("%s: l[%d] of row %d", what, k, i);
            j++;
        }
    assert_int_equal(j, n);
    n = read_leaf(d, len, "n", got, cap);
    assert_int_equal(n, ROWS);
    for (int i = 0; i < ROWS; i++)
        if ((int32_t)got[i] != n_of(i))
            fail_msg("%s: n of row %d", what, i);
    free(got);
}

static void deferred_puts_read_back(void **state)
{
    (void)state;
    sch h;
    make_schema(&h);
    for (int round = 0; round < 4; round++) {
        pqf_writer_opts o;
        pqf_writer_opts_init(&o);
        /* small dictionaries fill mid-row (lists of up to 129 values) */
        o.dict_page_bytes = round & 1 ? 2048 : (uint64_t)1 << 20;
        o.page_bytes = round & 2 ? 700 : (uint64_t)1 << 20;
        o.row_group_bytes = round == 3 ? 60000 : (uint64_t)1 << 27;
        size_t len;
        uint8_t *d = write_file(&h, &o, &len);
        char what[32];
        snprintf(what, sizeof what, "round %d", round);
        check_values(d, len, what);
        free(d);
    }
    pqf_schema_free(h.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deferred_puts_read_back),
    };
    return cmocka_run_group_tests_name("dictdefer", tests, NULL, NULL);
}
