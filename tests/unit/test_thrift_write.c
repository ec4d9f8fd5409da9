/* Unit tests: the Thrift compact protocol encoder against hand-computed bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parquet/thrift_write.h"

#define EXPECT(buf, ...)                                                                           \
    do {                                                                                           \
        const uint8_t want_[] = {__VA_ARGS__};                                                     \
        assert_int_equal((buf).len, sizeof want_);                                                 \
        assert_memory_equal((buf).data, want_, sizeof want_);                                      \
    } while (0)

static void varints_and_zigzag(void **state)
{
    (void)state;
    pqf__buf b;
    pqf__buf_init(&b, 1 << 20);
    pqf__tw t;
    pqf__tw_init(&t, &b);
    pqf__tw_varint(&t, 0);
    pqf__tw_varint(&t, 127);
    pqf__tw_varint(&t, 128);
    pqf__tw_varint(&t, 300);
    pqf__tw_varint(&t, UINT64_MAX);
    EXPECT(b, 0x00, 0x7F, 0x80, 0x01, 0xAC, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
           0xFF, 0x01);
    assert_int_equal(pqf__zigzag64(0), 0);
    assert_int_equal(pqf__zigzag64(-1), 1);
    assert_int_equal(pqf__zigzag64(1), 2);
    assert_int_equal(pqf__zigzag64(-2), 3);
    assert_int_equal(pqf__zigzag64(INT64_MIN), UINT64_MAX);
    assert_int_equal(pqf__zigzag64(INT64_MAX), UINT64_MAX - 1);
    pqf__buf_free(&b);
}

static void fields_use_deltas_and_long_form(void **state)
{
    (void)state;
    pqf__buf b;
    pqf__buf_init(&b, 1 << 20);
    pqf__tw t;
    pqf__tw_init(&t, &b);
    pqf__tw_i32(&t, 1, 7);       /* 0x15 (delta 1, I32), zigzag 14 */
    pqf__tw_i64(&t, 2, -1);      /* 0x16, zigzag 1 */
    pqf__tw_i32(&t, 20, 150);    /* delta 18 > 15: 0x05, zigzag(20)=40, zigzag(150)=300 */
    pqf__tw_bool(&t, 21, true);  /* 0x11 */
    pqf__tw_bool(&t, 22, false); /* 0x12 */
    pqf__tw_binary(&t, 23, "ab", 2);
    pqf__tw_i8(&t, 24, -1);
    pqf__tw_i16(&t, 25, -300);
    pqf__tw_i32(&t, 3, 0); /* going backwards needs the long form too */
    pqf__tw_struct_end(&t);
    assert_int_equal(pqf__tw_err(&t), PQF_OK);
    EXPECT(b, 0x15, 0x0E, 0x16, 0x01, 0x05, 0x28, 0xAC, 0x02, 0x11, 0x12, 0x18, 0x02, 'a', 'b',
           0x13, 0xFF, 0x14, 0xD7, 0x04, 0x05, 0x06, 0x00, 0x00);
    pqf__buf_free(&b);
}

static void lists_and_structs(void **state)
{
    (void)state;
    pqf__buf b;
    pqf__buf_init(&b, 1 << 20);
    pqf__tw t;
    pqf__tw_init(&t, &b);
    pqf__tw_list_begin(&t, 1, PQF__CT_I32, 3);
    pqf__tw_elem_i32(&t, 1);
    pqf__tw_elem_i32(&t, 2);
    pqf__tw_elem_i32(&t, -3);
    pqf__tw_struct_begin(&t, 2);
    pqf__tw_i32(&t, 1, 5);
    pqf__tw_empty_struct(&t, 2);
    pqf__tw_struct_end(&t);
    pqf__tw_i32(&t, 3, 1); /* delta from 2, the outer struct's last field */
    pqf__tw_list_begin(&t, 4, PQF__CT_BOOL_TRUE, 2);
    pqf__tw_elem_bool(&t, true);
    pqf__tw_elem_bool(&t, false);
    pqf__tw_list_begin(&t, 5, PQF__CT_STRUCT, 1);
    pqf__tw_elem_struct_begin(&t);
    pqf__tw_binary(&t, 1, "k", 1);
    pqf__tw_struct_end(&t);
    pqf__tw_struct_end(&t);
    EXPECT(b, 0x19, 0x35, 0x02, 0x04, 0x05,    /* list<i32> */
           0x1C, 0x15, 0x0A, 0x1C, 0x00, 0x00, /* struct { 1: 5, 2: {} } */
           0x15, 0x02,                         /* 3: 1 */
           0x19, 0x21, 0x01, 0x02,             /* list<bool> */
           0x19, 0x1C, 0x18, 0x01, 'k', 0x00,  /* list<struct> */
           0x00);
    pqf__buf_free(&b);
}

static void long_lists_and_doubles(void **state)
{
    (void)state;
    pqf__buf b;
    pqf__buf_init(&b, 1 << 20);
    pqf__tw t;
    pqf__tw_init(&t, &b);
    pqf__tw_list_begin(&t, 1, PQF__CT_I64, 20);
    for (int i = 0; i < 20; i++)
        pqf__tw_elem_i64(&t, 0);
    assert_int_equal(b.len, 3 + 20);
    assert_memory_equal(b.data, "\x19\xF6\x14", 3);
    pqf__buf_reset(&b);
    pqf__tw_init(&t, &b);
    pqf__tw_double(&t, 1, 1.0); /* 0x17 then IEEE little-endian */
    EXPECT(b, 0x17, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F);
    pqf__buf_reset(&b);
    /* A struct body encoded on its own splices into a field. */
    pqf__buf body;
    pqf__buf_init(&body, 1 << 20);
    pqf__tw tb;
    pqf__tw_init(&tb, &body);
    pqf__tw_i32(&tb, 1, 1);
    pqf__tw_struct_end(&tb);
    pqf__tw_init(&t, &b);
    pqf__tw_i64(&t, 2, 0);
    pqf__tw_raw_struct(&t, 3, body.data, body.len);
    pqf__tw_i64(&t, 4, 1);
    pqf__tw_struct_end(&t);
    EXPECT(b, 0x26, 0x00, 0x1C, 0x15, 0x02, 0x00, 0x16, 0x02, 0x00);
    pqf__buf_free(&body);
    pqf__buf_free(&b);
}

static void errors_are_sticky(void **state)
{
    (void)state;
    pqf__buf b;
    pqf__buf_init(&b, 4);
    pqf__tw t;
    pqf__tw_init(&t, &b);
    pqf__tw_binary(&t, 1, "hello", 5);
    assert_int_equal(pqf__tw_err(&t), PQF_ERR_LIMIT);
    pqf__tw_i32(&t, 2, 1);
    assert_int_equal(pqf__tw_err(&t), PQF_ERR_LIMIT);
    pqf__buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(varints_and_zigzag), cmocka_unit_test(fields_use_deltas_and_long_form),
        cmocka_unit_test(lists_and_structs),  cmocka_unit_test(long_lists_and_doubles),
        cmocka_unit_test(errors_are_sticky),
    };
    return cmocka_run_group_tests_name("thrift_write", tests, NULL, NULL);
}
