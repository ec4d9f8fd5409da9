/* Unit tests: the Thrift compact protocol decoder and metadata decoding on
 * hand-made bytes, hostile ones included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "parquet/meta.h"
#include "parquet/thrift_read.h"

static void reads_fields_of_every_type(void **state)
{
    (void)state;
    /* struct { 1: i32 = -3; 2: bool true; 3: binary "hi"; 5: i64 = 300;
     *          20 (long form): byte 7; 21: double 1.5; 22: list<bool> [t, f] } */
    const uint8_t b[] = {0x15, 0x05, 0x11, 0x18, 0x02, 'h', 'i', 0x26, 0xd8, 0x04, 0x03, 0x28, 0x07,
                         0x17, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x19, 0x21, 0x01, 0x02, 0x00};
    pqf_error err = {0};
    pqf__tr t;
    pqf__tr_init(&t, b, sizeof b, &err);
    int16_t last, id;
    int ty;
    assert_int_equal(pqf__tr_struct_begin(&t, &last), PQF_OK);
    int32_t i32;
    int64_t i64;
    bool bv;
    const uint8_t *p;
    uint32_t n;
    int8_t i8;
    double d;
    assert_int_equal(pqf__tr_field(&t, &last, &ty, &id), PQF_OK);
    assert_int_equal(id, 1);
    assert_int_equal(pqf__tr_i32(&t, &i32), PQF_OK);
    assert_int_equal(i32, -3);
    assert_int_equal(pqf__tr_field(&t, &last, &ty, &id), PQF_OK);
    assert_int_equal(pqf__tr_bool(&t, ty, &bv), PQF_OK);
    assert_true(bv);
    assert_int_equal(pqf__tr_field(&t, &last, &ty, &id), PQF_OK);
    assert_int_equal(pqf__tr_binary(&t, &p, &n), PQF_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(p, "hi", 2);
    assert_int_equal(pqf__tr_field(&t, &last, &ty, &id), PQF_OK);
    assert_int_equal(id, 5);
    assert_int_equal(pqf__tr_i64(&t, &i64), PQF_OK);
    assert_int_equal(i64, 300);
    assert_int_equal(pqf__tr_field(&t, &last, &ty, &id), PQF_OK);
    assert_int_equal(ty, PQF__TT_BYTE);
    assert_int_equal(id, 20);
    assert_int_equal(pqf__tr_i8(&t, &i8), PQF_OK);
    assert_int_equal(i8, 7);
    assert_int_equal(pqf__tr_field(&t, &last, &ty, &id), PQF_OK);
    assert_int_equal(id, 21);
    assert_int_equal(pqf__tr_double(&t, &d), PQF_OK);
    assert_true(d == 1.5);
    assert_int_equal(pqf__tr_field(&t, &last, &ty, &id), PQF_OK);
    int et;
    assert_int_equal(pqf__tr_list_begin(&t, &et, &n), PQF_OK);
    assert_int_equal(n, 2);
    assert_int_equal(pqf__tr_bool(&t, PQF__TT_BOOL_ELEM, &bv), PQF_OK);
    assert_true(bv);
    assert_int_equal(pqf__tr_bool(&t, PQF__TT_BOOL_ELEM, &bv), PQF_OK);
    assert_false(bv);
    pqf__tr_list_end(&t);
    assert_int_equal(pqf__tr_field(&t, &last, &ty, &id), PQF_OK);
    assert_int_equal(ty, PQF__TT_STOP);
    assert_int_equal(pqf__tr_left(&t), 0);
}

static void skips_unknown_fields_of_every_type(void **state)
{
    (void)state;
    /* field 1 struct { list<i32>[1,2], map<binary,i32>{"a":1}, set<struct>{ {} }, uuid } */
    const uint8_t b[] = {0x1c, 0x19, 0x25, 0x02, 0x04, 0x1b, 0x01, 0x85, 0x01, 'a', 0x02,
                         0x1a, 0x1c, 0x00, 0x1d, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                         15, 16, 0x00, 0x00};
    pqf_error err = {0};
    pqf__tr t;
    pqf__tr_init(&t, b, sizeof b, &err);
    assert_int_equal(pqf__tr_skip(&t, PQF__TT_STRUCT), PQF_OK);
    assert_int_equal(pqf__tr_left(&t), 0);
    assert_int_equal(err.code, PQF_OK);
}

static void rejects_hostile_input(void **state)
{
    (void)state;
    pqf_error err = {0};
    pqf__tr t;
    const uint8_t *p;
    uint32_t n;
    int et;
    /* binary claiming 1000 bytes with 2 left */
    const uint8_t b1[] = {0xe8, 0x07, 'a', 'b'};
    pqf__tr_init(&t, b1, sizeof b1, &err);
    assert_int_equal(pqf__tr_binary(&t, &p, &n), PQF_ERR_CORRUPT);
    /* a list of 2^31 i32s in a 6-byte buffer: no allocation, an error */
    const uint8_t b2[] = {0xf5, 0x80, 0x80, 0x80, 0x80, 0x08};
    pqf__tr_init(&t, b2, sizeof b2, &err);
    assert_int_equal(pqf__tr_list_begin(&t, &et, &n), PQF_ERR_CORRUPT);
    /* invalid field type 14 */
    const uint8_t b3[] = {0x1e, 0x00};
    int16_t last, id;
    int ty;
    pqf__tr_init(&t, b3, sizeof b3, &err);
    pqf__tr_struct_begin(&t, &last);
    assert_int_equal(pqf__tr_field(&t, &last, &ty, &id), PQF_ERR_CORRUPT);
    /* 11-byte varint */
    const uint8_t b4[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    int64_t v;
    pqf__tr_init(&t, b4, sizeof b4, &err);
    assert_int_equal(pqf__tr_i64(&t, &v), PQF_ERR_CORRUPT);
    /* i32 out of range */
    const uint8_t b5[] = {0xff, 0xff, 0xff, 0xff, 0x7f};
    int32_t v32;
    pqf__tr_init(&t, b5, sizeof b5, &err);
    assert_int_equal(pqf__tr_i32(&t, &v32), PQF_ERR_CORRUPT);
    /* deeply nested structs: depth limit, not a stack overflow */
    uint8_t deep[4000];
    for (size_t i = 0; i < sizeof deep; i++)
        deep[i] = 0x1c; /* field 1, struct, forever */
    pqf__tr_init(&t, deep, sizeof deep, &err);
    assert_int_equal(pqf__tr_skip(&t, PQF__TT_STRUCT), PQF_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "nesting too deep"));
    /* truncated struct: no stop byte */
    const uint8_t b6[] = {0x15, 0x02};
    pqf__tr_init(&t, b6, sizeof b6, &err);
    assert_int_equal(pqf__tr_skip(&t, PQF__TT_STRUCT), PQF_ERR_CORRUPT);
    /* bool element byte that is not 0/1/2 */
    const uint8_t b7[] = {0x07};
    bool bv;
    pqf__tr_init(&t, b7, sizeof b7, &err);
    assert_int_equal(pqf__tr_bool(&t, PQF__TT_BOOL_ELEM, &bv), PQF_ERR_CORRUPT);
    /* a map claiming more entries than bytes */
    const uint8_t b8[] = {0x64, 0x55, 0x02};
    int kt, vt;
    pqf__tr_init(&t, b8, sizeof b8, &err);
    assert_int_equal(pqf__tr_map_begin(&t, &kt, &vt, &n), PQF_ERR_CORRUPT);
}

static void decodes_a_page_header(void **state)
{
    (void)state;
    /* PageHeader { 1: type 0, 2: uncompressed 10, 3: compressed 10, 4: crc 7,
     *   5: DataPageHeader { 1: num_values 3, 2: encoding 0, 3: 3, 4: 3 }, 99: i32 (unknown) } */
    const uint8_t b[] = {0x15, 0x00, 0x15, 0x14, 0x15, 0x14, 0x15, 0x0e, 0x1c, 0x15, 0x06,
                         0x15, 0x00, 0x15, 0x06, 0x15, 0x06, 0x00, 0x05, 0xc6, 0x01, 0x02, 0x00};
    pqf__page_header h;
    size_t hl;
    pqf_error err = {0};
    assert_int_equal(pqf__meta_page_header(b, sizeof b, &h, &hl, &err), PQF_OK);
    assert_int_equal(hl, sizeof b);
    assert_int_equal(h.type, 0);
    assert_int_equal(h.uncompressed_size, 10);
    assert_true(h.has_crc);
    assert_int_equal(h.crc, 7);
    assert_true(h.has_data);
    assert_int_equal(h.data.num_values, 3);
    /* every truncation is an error, never a crash */
    for (size_t k = 0; k < sizeof b - 1; k++)
        assert_int_not_equal(pqf__meta_page_header(b, k, &h, &hl, &err), PQF_OK);
    /* a negative size */
    const uint8_t neg[] = {0x15, 0x00, 0x15, 0x01, 0x15, 0x14, 0x00};
    assert_int_equal(pqf__meta_page_header(neg, sizeof neg, &h, &hl, &err), PQF_ERR_CORRUPT);
}

static void decodes_file_metadata_into_an_arena(void **state)
{
    (void)state;
    /* FileMetaData { 1: version 1, 2: [ {4: "schema", 5: 1}, {1: 1 (INT32), 3: 0, 4: "a"} ],
     *                3: num_rows 0, 4: [] } */
    const uint8_t b[] = {0x15, 0x02, 0x19, 0x2c, 0x48, 0x06, 's', 'c', 'h', 'e', 'm', 'a', 0x15,
                         0x02, 0x00, 0x15, 0x02, 0x25, 0x00, 0x18, 0x01, 'a', 0x00, 0x16, 0x00,
                         0x19, 0x0c, 0x00};
    pqf__arena a;
    pqf__arena_init(&a, 1 << 20);
    pqf__file_meta *m = NULL;
    pqf_error err = {0};
    assert_int_equal(pqf__meta_file(&a, b, sizeof b, &m, &err), PQF_OK);
    assert_int_equal(m->version, 1);
    assert_int_equal(m->nschema, 2);
    assert_string_equal(m->schema[0].name, "schema");
    assert_int_equal(m->schema[0].num_children, 1);
    assert_string_equal(m->schema[1].name, "a");
    assert_int_equal(m->schema[1].type, 1);
    assert_int_equal(m->nrow_groups, 0);
    pqf__arena_free(&a);
    /* the arena cap stops a footer whose lists would need more memory */
    pqf__arena_init(&a, 64);
    assert_int_equal(pqf__meta_file(&a, b, sizeof b, &m, &err), PQF_ERR_LIMIT);
    pqf__arena_free(&a);
    /* missing required parts */
    const uint8_t nors[] = {0x15, 0x02, 0x00};
    pqf__arena_init(&a, 1 << 20);
    assert_int_equal(pqf__meta_file(&a, nors, sizeof nors, &m, &err), PQF_ERR_CORRUPT);
    /* every truncation fails cleanly */
    for (size_t k = 0; k < sizeof b - 1; k++)
        assert_int_not_equal(pqf__meta_file(&a, b, k, &m, &err), PQF_OK);
    pqf__arena_free(&a);
}

static void column_index_lists_agree_in_any_field_order(void **state)
{
    (void)state;
    /* ColumnIndex { 1: null_pages [f, f, f], 2: min ["", "", ""], 3: max ["", "", ""],
     *               4: boundary 0, 5: null_counts [0, 0, 0] } */
    const uint8_t ok[] = {0x19, 0x31, 0x02, 0x02, 0x02, 0x19, 0x38, 0x00, 0x00, 0x00, 0x19,
                          0x38, 0x00, 0x00, 0x00, 0x15, 0x00, 0x19, 0x36, 0x00, 0x00, 0x00, 0x00};
    /* the same with null_counts first and one entry short: field 5, then 1 in long form */
    const uint8_t short_counts[] = {0x59, 0x26, 0x00, 0x00, 0x09, 0x02, 0x31, 0x02, 0x02, 0x02,
                                    0x19, 0x38, 0x00, 0x00, 0x00, 0x19, 0x38, 0x00, 0x00, 0x00,
                                    0x15, 0x00, 0x00};
    pqf__arena a;
    pqf__arena_init(&a, 1 << 20);
    pqf__column_index ci;
    pqf_error err = {0};
    assert_int_equal(pqf__meta_column_index(&a, ok, sizeof ok, &ci, &err), PQF_OK);
    assert_int_equal(ci.npages, 3);
    assert_true(ci.has_null_counts);
    assert_int_equal(pqf__meta_column_index(&a, short_counts, sizeof short_counts, &ci, &err),
                     PQF_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "null_counts"));
    pqf__arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_fields_of_every_type),
        cmocka_unit_test(skips_unknown_fields_of_every_type),
        cmocka_unit_test(rejects_hostile_input),
        cmocka_unit_test(decodes_a_page_header),
        cmocka_unit_test(decodes_file_metadata_into_an_arena),
        cmocka_unit_test(column_index_lists_agree_in_any_field_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
