/* Thrift compact protocol encoder; see thrift_write.h. */
#include "parquet/thrift_write.h"

#include <string.h>

void pqf__tw_init(pqf__tw *t, pqf__buf *b)
{
    t->b = b;
    t->depth = 0;
    t->last[0] = 0;
    t->err = PQF_OK;
}

static void put(pqf__tw *t, const void *p, size_t n)
{
    if (t->err == PQF_OK)
        t->err = pqf__buf_append(t->b, p, n);
}

void pqf__tw_varint(pqf__tw *t, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    put(t, tmp, n);
}

static void field(pqf__tw *t, int type, int16_t id)
{
    int delta = id - t->last[t->depth];
    if (delta > 0 && delta <= 15) {
        uint8_t c = (uint8_t)(delta << 4 | type);
        put(t, &c, 1);
    } else {
        uint8_t c = (uint8_t)type;
        put(t, &c, 1);
        pqf__tw_varint(t, pqf__zigzag64(id));
    }
    t->last[t->depth] = id;
}

static void push(pqf__tw *t)
{
    if (t->depth + 1 >= PQF__TW_DEPTH) {
        if (t->err == PQF_OK)
            t->err = PQF_ERR_INTERNAL;
        return;
    }
    t->last[++t->depth] = 0;
}

void pqf__tw_bool(pqf__tw *t, int16_t id, bool v)
{
    field(t, v ? PQF__CT_BOOL_TRUE : PQF__CT_BOOL_FALSE, id);
}

void pqf__tw_i8(pqf__tw *t, int16_t id, int8_t v)
{
    field(t, PQF__CT_BYTE, id);
    uint8_t c = (uint8_t)v;
    put(t, &c, 1);
}

void pqf__tw_i16(pqf__tw *t, int16_t id, int16_t v)
{
    field(t, PQF__CT_I16, id);
    pqf__tw_varint(t, pqf__zigzag64(v));
}

void pqf__tw_i32(pqf__tw *t, int16_t id, int32_t v)
{
    field(t, PQF__CT_I32, id);
    pqf__tw_varint(t, pqf__zigzag64(v));
}

void pqf__tw_i64(pqf__tw *t, int16_t id, int64_t v)
{
    field(t, PQF__CT_I64, id);
    pqf__tw_varint(t, pqf__zigzag64(v));
}

void pqf__tw_double(pqf__tw *t, int16_t id, double v)
{
    field(t, PQF__CT_DOUBLE, id);
    uint64_t u;
    memcpy(&u, &v, 8);
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(u >> (8 * i));
    put(t, b, 8);
}

void pqf__tw_binary(pqf__tw *t, int16_t id, const void *p, size_t n)
{
    field(t, PQF__CT_BINARY, id);
    pqf__tw_elem_binary(t, p, n);
}

void pqf__tw_string(pqf__tw *t, int16_t id, const char *s)
{
    pqf__tw_binary(t, id, s, strlen(s));
}

void pqf__tw_struct_begin(pqf__tw *t, int16_t id)
{
    field(t, PQF__CT_STRUCT, id);
    push(t);
}

void pqf__tw_struct_end(pqf__tw *t)
{
    uint8_t c = PQF__CT_STOP;
    put(t, &c, 1);
    if (t->depth > 0)
        t->depth--;
}

void pqf__tw_empty_struct(pqf__tw *t, int16_t id)
{
    pqf__tw_struct_begin(t, id);
    pqf__tw_struct_end(t);
}

void pqf__tw_raw_struct(pqf__tw *t, int16_t id, const void *body, size_t n)
{
    field(t, PQF__CT_STRUCT, id);
    put(t, body, n);
}

void pqf__tw_list_begin(pqf__tw *t, int16_t id, int elem, uint32_t n)
{
    field(t, PQF__CT_LIST, id);
    if (n < 15) {
        uint8_t c = (uint8_t)(n << 4 | (unsigned)elem);
        put(t, &c, 1);
    } else {
        uint8_t c = (uint8_t)(0xF0 | (unsigned)elem);
        put(t, &c, 1);
        pqf__tw_varint(t, n);
    }
}

/* Booleans inside lists are one byte each: 1 true, 2 false, as the C++ and
 * Java implementations write them (their readers take anything but 1 as
 * false). */
void pqf__tw_elem_bool(pqf__tw *t, bool v)
{
    uint8_t c = v ? PQF__CT_BOOL_TRUE : PQF__CT_BOOL_FALSE;
    put(t, &c, 1);
}

void pqf__tw_elem_i32(pqf__tw *t, int32_t v)
{
    pqf__tw_varint(t, pqf__zigzag64(v));
}
void pqf__tw_elem_i64(pqf__tw *t, int64_t v)
{
    pqf__tw_varint(t, pqf__zigzag64(v));
}

void pqf__tw_elem_binary(pqf__tw *t, const void *p, size_t n)
{
    pqf__tw_varint(t, n);
    put(t, p, n);
}

void pqf__tw_elem_struct_begin(pqf__tw *t)
{
    push(t);
}
