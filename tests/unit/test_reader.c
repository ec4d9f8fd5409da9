/* Unit tests: the reader's public API on files written by pqf_writer —
 * pqf_reader_schema(), row-group predicates on statistics, the bloom filter
 * probe, column projection (only the chunks asked for are read) and footer-
 * first access through the random-access input vtable. */
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

#define NROWS 6000

/* ---- a recording input: a memory region behind the public vtable ---------------- */

typedef struct rec_in {
    const uint8_t *data;
    size_t len;
    int nreads;
    uint64_t first_off, first_len;
} rec_in;

static pqf_err rec_read(void *impl, uint64_t off, void *buf, size_t len, pqf_error *err)
{
    rec_in *r = impl;
    if (off > r->len || len > r->len - off)
        return pqf_error_set(err, PQF_ERR_IO, "read past the end");
    if (r->nreads++ == 0) {
        r->first_off = off;
        r->first_len = len;
    }
    memcpy(buf, r->data + off, len);
    return PQF_OK;
}

static void rec_destroy(void *impl) { (void)impl; }

static const pqf_istream_vt rec_vt = {rec_read, rec_destroy};

/* ---- files ------------------------------------------------------------------------ */

typedef struct file {
    pqf_ostream *out;
    const uint8_t *data;
    size_t len;
} file;

static void name_of(char *buf, size_t cap, int i) { snprintf(buf, cap, "name%06d", i); }

/* id INT64 (ascending), name STRING (ascending), opt INT32 (nullable),
 * payload STRING (large, incompressible-ish): several row groups, bloom
 * filters on id and name. */
static void write_flat(file *f)
{
    pqf_error err = {0};
    pqf_schema *s = pqf_schema_create();
    pqf_logical none = {0}, str = {.kind = PQF_LT_STRING};
    int id = pqf_schema_add_column(s, 0, "id", PQF_REQUIRED, PQF_INT64, 0, &none, -1, &err);
    int name = pqf_schema_add_column(s, 0, "name", PQF_REQUIRED, PQF_BYTE_ARRAY, 0, &str, -1, &err);
    int opt = pqf_schema_add_column(s, 0, "opt", PQF_OPTIONAL, PQF_INT32, 0, &none, -1, &err);
    int pay = pqf_schema_add_column(s, 0, "payload", PQF_REQUIRED, PQF_BYTE_ARRAY, 0, &str, -1,
                                    &err);
    assert_true(id > 0 && name > 0 && opt > 0 && pay > 0);
    assert_int_equal(pqf_schema_finish(s, &err), PQF_OK);
    pqf_column_opts cols[2] = {PQF_COLUMN_OPTS_INIT("id"), PQF_COLUMN_OPTS_INIT("name")};
    cols[0].bloom_filter = cols[1].bloom_filter = true;
    pqf_writer_opts o;
    pqf_writer_opts_init(&o);
    o.codec = PQF_CODEC_UNCOMPRESSED;
    o.row_group_bytes = 64 << 10; /* several row groups */
    o.page_bytes = 8 << 10;
    o.columns = cols;
    o.ncolumns = 2;
    assert_int_equal(pqf_ostream_mem(64u << 20, &f->out, &err), PQF_OK);
    pqf_writer *w = NULL;
    assert_int_equal(pqf_writer_create(s, f->out, &o, &w, &err), PQF_OK);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < NROWS; i++) {
        char nb[32], pb[64];
        name_of(nb, sizeof nb, i);
        for (size_t k = 0; k + 1 < sizeof pb; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            pb[k] = (char)('a' + x % 26);
        }
        pb[sizeof pb - 1] = 0;
        assert_int_equal(pqf_writer_row_begin(w), PQF_OK);
        assert_int_equal(pqf_writer_i64(w, id, i), PQF_OK);
        assert_int_equal(pqf_writer_bytes(w, name, nb, strlen(nb)), PQF_OK);
        if (i % 3)
            assert_int_equal(pqf_writer_i32(w, opt, i), PQF_OK);
        else
            assert_int_equal(pqf_writer_null(w, opt), PQF_OK);
        assert_int_equal(pqf_writer_bytes(w, pay, pb, strlen(pb)), PQF_OK);
        assert_int_equal(pqf_writer_row_end(w), PQF_OK);
    }
    if (pqf_writer_close(w) != PQF_OK)
        fail_msg("close: %s", pqf_writer_error(w)->msg);
    pqf_writer_free(w);
    pqf_schema_free(s);
    f->data = pqf_ostream_mem_data(f->out, &f->len);
}

static void file_free(file *f) { pqf_ostream_free(f->out); }

static pqf_reader *open_mem(const file *f, pqf_istream **in)
{
    pqf_error err = {0};
    pqf_reader *r = NULL;
    assert_int_equal(pqf_istream_mem(f->data, f->len, "mem", in, &err), PQF_OK);
    if (pqf_reader_open(*in, NULL, &r, &err) != PQF_OK)
        fail_msg("open: %s", err.msg);
    return r;
}

/* ---- pqf_reader_schema ------------------------------------------------------------ */

static void same_schema(const pqf_schema *a, const pqf_schema *b)
{
    assert_int_equal(pqf_schema_node_count(a), pqf_schema_node_count(b));
    assert_int_equal(pqf_schema_leaf_count(a), pqf_schema_leaf_count(b));
    for (int n = 1; n < pqf_schema_node_count(a); n++) {
        pqf_node_info x, y;
        assert_int_equal(pqf_schema_node(a, n, &x), PQF_OK);
        assert_int_equal(pqf_schema_node(b, n, &y), PQF_OK);
        assert_string_equal(x.name, y.name);
        assert_int_equal(x.is_group, y.is_group);
        assert_int_equal(x.repetition, y.repetition);
        assert_int_equal(x.logical.kind, y.logical.kind);
        assert_int_equal(x.max_def, y.max_def);
        assert_int_equal(x.max_rep, y.max_rep);
        assert_int_equal(x.parent, y.parent);
        if (!x.is_group) {
            assert_int_equal(x.physical, y.physical);
            assert_int_equal(x.type_length, y.type_length);
            assert_int_equal(x.logical.precision, y.logical.precision);
            assert_int_equal(x.logical.scale, y.logical.scale);
            assert_int_equal(x.logical.unit, y.logical.unit);
        }
    }
}

static void schema_round_trips(void **state)
{
    (void)state;
    pqf_error err = {0};
    pqf_schema *s = pqf_schema_create(), *back = NULL;
    pqf_logical none = {0}, str = {.kind = PQF_LT_STRING};
    pqf_logical dec = {.kind = PQF_LT_DECIMAL, .precision = 20, .scale = 3};
    pqf_logical ts = {.kind = PQF_LT_TIMESTAMP, .unit = PQF_NANOS, .utc = false};
    assert_true(pqf_schema_add_column(s, 0, "id", PQF_REQUIRED, PQF_INT64, 0, &none, 7, &err) > 0);
    int st = pqf_schema_add_group(s, 0, "point", PQF_OPTIONAL, NULL, -1, &err);
    assert_true(pqf_schema_add_column(s, st, "x", PQF_REQUIRED, PQF_DOUBLE, 0, &none, -1, &err) > 0);
    assert_true(pqf_schema_add_column(s, st, "label", PQF_OPTIONAL, PQF_BYTE_ARRAY, 0, &str, -1,
                                      &err) > 0);
    int l = pqf_schema_add_list(s, 0, "tags", PQF_OPTIONAL, -1, &err);
    assert_true(pqf_schema_add_column(s, l, "element", PQF_OPTIONAL, PQF_BYTE_ARRAY, 0, &str, -1,
                                      &err) > 0);
    assert_true(pqf_schema_add_column(s, 0, "amount", PQF_OPTIONAL, PQF_FIXED_LEN_BYTE_ARRAY, 9,
                                      &dec, -1, &err) > 0);
    assert_true(pqf_schema_add_column(s, 0, "at", PQF_OPTIONAL, PQF_INT64, 0, &ts, -1, &err) > 0);
    assert_int_equal(pqf_schema_finish(s, &err), PQF_OK);

    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    assert_int_equal(pqf_ostream_mem(1u << 20, &out, &err), PQF_OK);
    assert_int_equal(pqf_writer_create(s, out, NULL, &w, &err), PQF_OK);
    assert_int_equal(pqf_writer_close(w), PQF_OK);
    pqf_writer_free(w);
    file f = {.out = out};
    f.data = pqf_ostream_mem_data(out, &f.len);
    pqf_istream *in = NULL;
    pqf_reader *r = open_mem(&f, &in);
    assert_int_equal(pqf_reader_schema(r, &back, &err), PQF_OK);
    same_schema(s, back);
    pqf_node_info id;
    assert_int_equal(pqf_schema_node(back, 1, &id), PQF_OK);
    assert_int_equal(id.field_id, 7);
    pqf_schema_free(back);
    pqf_reader_free(r);
    pqf_istream_free(in);
    pqf_ostream_free(out);
    pqf_schema_free(s);
}

/* ---- predicates -------------------------------------------------------------------- */

static void predicates_skip_row_groups(void **state)
{
    (void)state;
    file f;
    write_flat(&f);
    pqf_istream *in = NULL;
    pqf_reader *r = open_mem(&f, &in);
    int ng = pqf_reader_row_group_count(r);
    if (ng < 3)
        fail_msg("want at least 3 row groups, have %d", ng);
    int lid = pqf_reader_find_leaf(r, "id"), lname = pqf_reader_find_leaf(r, "name");
    assert_true(lid >= 0 && lname >= 0);
    int64_t first = 0;
    for (int g = 0; g < ng; g++) {
        pqf_row_group_info gi;
        assert_int_equal(pqf_reader_row_group(r, g, &gi), PQF_OK);
        int64_t lo = first, hi = first + gi.num_rows - 1; /* ids in this group */
        first += gi.num_rows;
        for (int k = 0; k < ng; k++) {
            /* probe with the bounds of row group k */
            pqf_row_group_info ki;
            int64_t klo = 0;
            for (int j = 0; j < k; j++) {
                pqf_reader_row_group(r, j, &ki);
                klo += ki.num_rows;
            }
            pqf_reader_row_group(r, k, &ki);
            int64_t khi = klo + ki.num_rows - 1;
            pqf_predicate eq = {lid, PQF_EQ, &klo, 8}, lt = {lid, PQF_LT, &klo, 8},
                          gt = {lid, PQF_GT, &khi, 8};
            assert_int_equal(pqf_reader_row_group_may_match(r, g, &eq), klo >= lo && klo <= hi);
            assert_int_equal(pqf_reader_row_group_may_match(r, g, &lt), lo < klo);
            assert_int_equal(pqf_reader_row_group_may_match(r, g, &gt), hi > khi);
            char sl[32], sh[32];
            name_of(sl, sizeof sl, (int)klo);
            name_of(sh, sizeof sh, (int)khi);
            pqf_predicate seq = {lname, PQF_EQ, sl, strlen(sl)},
                          slt = {lname, PQF_LT, sl, strlen(sl)},
                          sgt = {lname, PQF_GT, sh, strlen(sh)};
            assert_int_equal(pqf_reader_row_group_may_match(r, g, &seq), klo >= lo && klo <= hi);
            assert_int_equal(pqf_reader_row_group_may_match(r, g, &slt), lo < klo);
            assert_int_equal(pqf_reader_row_group_may_match(r, g, &sgt), hi > khi);
        }
    }
    assert_int_equal(first, NROWS);
    /* outside every group */
    int64_t big = NROWS + 100, neg = -1;
    pqf_predicate eqbig = {lid, PQF_EQ, &big, 8}, ltneg = {lid, PQF_LT, &neg, 8};
    for (int g = 0; g < ng; g++) {
        assert_false(pqf_reader_row_group_may_match(r, g, &eqbig));
        assert_false(pqf_reader_row_group_may_match(r, g, &ltneg));
    }
    /* a string between two names of group 0 ("name000000x") may match only there */
    pqf_predicate mid = {lname, PQF_EQ, "name000000x", 11};
    assert_true(pqf_reader_row_group_may_match(r, 0, &mid));
    assert_false(pqf_reader_row_group_may_match(r, ng - 1, &mid));
    /* the row reader skips what the predicate rules out */
    pqf_row_reader *rr = NULL;
    pqf_error err = {0};
    const char *cols[] = {"id"};
    pqf_row_opts ro = {.columns = cols, .ncolumns = 1, .predicate = &eqbig};
    assert_int_equal(pqf_row_reader_open(r, &ro, &rr, &err), PQF_OK);
    const char *line;
    size_t len;
    assert_int_equal(pqf_row_reader_next(rr, &line, &len), PQF_OK);
    assert_null(line);
    pqf_row_reader_free(rr);
    pqf_reader_free(r);
    pqf_istream_free(in);
    file_free(&f);
}

/* ---- bloom filters ------------------------------------------------------------------ */

static void bloom_probe(void **state)
{
    (void)state;
    file f;
    write_flat(&f);
    pqf_istream *in = NULL;
    pqf_reader *r = open_mem(&f, &in);
    int lid = pqf_reader_find_leaf(r, "id"), lname = pqf_reader_find_leaf(r, "name");
    int lopt = pqf_reader_find_leaf(r, "opt");
    bool maybe;
    int64_t first = 0;
    int false_pos = 0, probes = 0;
    for (int g = 0; g < pqf_reader_row_group_count(r); g++) {
        pqf_row_group_info gi;
        pqf_reader_row_group(r, g, &gi);
        for (int64_t i = first; i < first + gi.num_rows; i++) {
            char nb[32];
            name_of(nb, sizeof nb, (int)i);
            assert_int_equal(pqf_reader_bloom_check(r, g, lid, &i, 8, &maybe), PQF_OK);
            assert_true(maybe);
            assert_int_equal(pqf_reader_bloom_check(r, g, lname, nb, strlen(nb), &maybe), PQF_OK);
            assert_true(maybe);
        }
        /* values not in this group: mostly "definitely absent" */
        for (int64_t i = NROWS + 1000; i < NROWS + 1500; i++) {
            char nb[32];
            name_of(nb, sizeof nb, (int)i);
            assert_int_equal(pqf_reader_bloom_check(r, g, lid, &i, 8, &maybe), PQF_OK);
            false_pos += maybe;
            assert_int_equal(pqf_reader_bloom_check(r, g, lname, nb, strlen(nb), &maybe), PQF_OK);
            false_pos += maybe;
            probes += 2;
        }
        first += gi.num_rows;
        /* a column without a filter */
        assert_int_equal(pqf_reader_bloom_check(r, g, lopt, &first, 4, &maybe), PQF_ERR_NOT_FOUND);
    }
    if (false_pos * 20 > probes)
        fail_msg("%d false positives in %d probes of absent values", false_pos, probes);
    pqf_reader_free(r);
    pqf_istream_free(in);
    file_free(&f);
}

/* ---- projection and footer-first ---------------------------------------------------- */

static void projection_reads_only_requested_chunks(void **state)
{
    (void)state;
    file f;
    write_flat(&f);
    pqf_istream *in = NULL;
    pqf_reader *r = open_mem(&f, &in);
    uint64_t after_open = pqf_istream_bytes_read(in);
    assert_true(after_open < f.len / 10);
    pqf_row_reader *rr = NULL;
    pqf_error err = {0};
    const char *cols[] = {"id"};
    pqf_row_opts ro = {.columns = cols, .ncolumns = 1};
    assert_int_equal(pqf_row_reader_open(r, &ro, &rr, &err), PQF_OK);
    const char *line;
    size_t len;
    int n = 0;
    for (;;) {
        assert_int_equal(pqf_row_reader_next(rr, &line, &len), PQF_OK);
        if (!line)
            break;
        char want[48];
        snprintf(want, sizeof want, "{\"id\":%d}", n);
        assert_string_equal(line, want);
        n++;
    }
    assert_int_equal(n, NROWS);
    pqf_row_reader_free(rr);
    /* only the id chunks: their compressed sizes plus the footer */
    uint64_t want_bytes = after_open;
    int lid = pqf_reader_find_leaf(r, "id");
    for (int g = 0; g < pqf_reader_row_group_count(r); g++) {
        pqf_chunk_info ci;
        pqf_reader_chunk(r, g, lid, &ci);
        want_bytes += (uint64_t)ci.total_compressed_size;
    }
    uint64_t got = pqf_istream_bytes_read(in);
    if (got != want_bytes || got * 5 > f.len)
        fail_msg("read %llu bytes of a %zu byte file, the id chunks and footer are %llu",
                 (unsigned long long)got, f.len, (unsigned long long)want_bytes);
    /* a column cursor reads its one chunk */
    uint64_t before = pqf_istream_bytes_read(in);
    pqf_column_reader *c = NULL;
    pqf_chunk_info ci;
    pqf_reader_chunk(r, 1, pqf_reader_find_leaf(r, "opt"), &ci);
    assert_int_equal(pqf_column_open(r, 1, pqf_reader_find_leaf(r, "opt"), &c), PQF_OK);
    assert_int_equal(pqf_istream_bytes_read(in) - before, (uint64_t)ci.total_compressed_size);
    pqf_batch b;
    size_t levels = 0, values = 0;
    do {
        assert_int_equal(pqf_column_next(c, 1000, &b), PQF_OK);
        levels += b.nlevels;
        values += b.nvalues;
    } while (b.nlevels);
    pqf_row_group_info gi;
    pqf_reader_row_group(r, 1, &gi);
    assert_int_equal(levels, (size_t)gi.num_rows);
    assert_true(values < levels && values > 0); /* a third are null */
    pqf_column_free(c);
    pqf_reader_free(r);
    pqf_istream_free(in);
    file_free(&f);
}

static void footer_first(void **state)
{
    (void)state;
    file f;
    write_flat(&f);
    rec_in ri = {.data = f.data, .len = f.len};
    pqf_istream *in = pqf_istream_create(&rec_vt, &ri, f.len, "recorded");
    pqf_reader *r = NULL;
    pqf_error err = {0};
    assert_non_null(in);
    assert_int_equal(pqf_reader_open(in, NULL, &r, &err), PQF_OK);
    assert_int_equal(ri.first_off, f.len - 8);
    assert_int_equal(ri.first_len, 8);
    /* opening reads the tail, the head magic and the footer: nothing else */
    assert_true(ri.nreads <= 3);
    assert_int_equal(pqf_istream_bytes_read(in), 8 + 4 + pqf_reader_footer_size(r));
    assert_int_equal(pqf_reader_num_rows(r), NROWS);
    pqf_reader_free(r);
    pqf_istream_free(in);
    /* a footer length claiming more than the file: an error, no allocation */
    uint8_t *bad = malloc(f.len);
    assert_non_null(bad);
    memcpy(bad, f.data, f.len);
    bad[f.len - 8] = 0xff, bad[f.len - 7] = 0xff, bad[f.len - 6] = 0xff, bad[f.len - 5] = 0x7f;
    assert_int_equal(pqf_istream_mem(bad, f.len, "bad", &in, &err), PQF_OK);
    assert_int_equal(pqf_reader_open(in, NULL, &r, &err), PQF_ERR_CORRUPT);
    pqf_istream_free(in);
    free(bad);
    file_free(&f);
}

/* Cursor after cursor over columns of different types: each reuses the
 * buffers of the one freed before it (sizes in values of another type), and
 * every value still comes back right. */
static void cursors_in_turn(void **state)
{
    (void)state;
    file f;
    write_flat(&f);
    pqf_istream *in = NULL;
    pqf_reader *r = open_mem(&f, &in);
    int64_t first = 0;
    for (int g = 0; g < pqf_reader_row_group_count(r); g++) {
        pqf_row_group_info gi;
        pqf_reader_row_group(r, g, &gi);
        for (int pass = 0; pass < 2; pass++) {
            for (int l = 0; l < pqf_reader_leaf_count(r); l++) {
                int leaf = pass ? pqf_reader_leaf_count(r) - 1 - l : l;
                pqf_column_reader *c = NULL;
                pqf_batch b;
                int64_t row = first;
                assert_int_equal(pqf_column_open(r, g, leaf, &c), PQF_OK);
                for (;;) {
                    assert_int_equal(pqf_column_next(c, 700, &b), PQF_OK);
                    if (!b.nlevels)
                        break;
                    size_t v = 0;
                    for (size_t i = 0; i < b.nlevels; i++, row++) {
                        const char *path = pqf_reader_leaf_path(r, leaf);
                        char nb[32];
                        if (strcmp(path, "id") == 0) {
                            assert_int_equal(((const int64_t *)b.values)[v++], row);
                        } else if (strcmp(path, "name") == 0) {
                            const pqf_byteview *bv = (const pqf_byteview *)b.values + v++;
                            name_of(nb, sizeof nb, (int)row);
                            assert_int_equal(bv->len, strlen(nb));
                            assert_memory_equal(bv->ptr, nb, bv->len);
                        } else if (strcmp(path, "opt") == 0) {
                            assert_int_equal(b.def[i] == 1, row % 3 != 0);
                            if (b.def[i] == 1)
                                assert_int_equal(((const int32_t *)b.values)[v++], row);
                        } else {
                            assert_int_equal(((const pqf_byteview *)b.values)[v++].len, 63);
                        }
                    }
                    assert_int_equal(v, b.nvalues);
                }
                assert_int_equal(row, first + gi.num_rows);
                pqf_column_free(c);
            }
        }
        first += gi.num_rows;
    }
    pqf_reader_free(r);
    pqf_istream_free(in);
    file_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schema_round_trips),
        cmocka_unit_test(predicates_skip_row_groups),
        cmocka_unit_test(bloom_probe),
        cmocka_unit_test(projection_reads_only_requested_chunks),
        cmocka_unit_test(footer_first),
        cmocka_unit_test(cursors_in_turn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
