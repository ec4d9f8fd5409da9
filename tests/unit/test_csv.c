/* Unit tests: the CSV tokenizer (src/source/csv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/csv.h"

/* Tokenize text and render records as "a|b|c\n" with NULL fields as "<N>"
 * and quoted fields as [x]. buffer is the read buffer size. */
static char *render(const char *text, const pqf_csv_opts *o, size_t buffer, pqf_error *err)
{
    static char out[1 << 17];
    pqf__csv *c = NULL;
    size_t w = 0;
    out[0] = 0;
    if (pqf__csv_open(NULL, text, strlen(text), "t.csv", o, buffer, 1 << 20, 0, &c, err) != PQF_OK)
        return NULL;
    if (c->names) {
        for (size_t i = 0; i < c->width; i++)
            w += (size_t)snprintf(out + w, sizeof out - w, "%s%s", i ? "|" : "H:", c->names[i]);
        w += (size_t)snprintf(out + w, sizeof out - w, "\n");
    }
    for (;;) {
        bool eof;
        if (pqf__csv_next(c, &eof) != PQF_OK) {
            *err = c->err;
            pqf__csv_free(c);
            return NULL;
        }
        if (eof)
            break;
        w += (size_t)snprintf(out + w, sizeof out - w, "%llu:", (unsigned long long)c->line);
        for (size_t i = 0; i < c->nfields; i++) {
            const pqf__csv_field *f = &c->fields[i];
            if (i)
                w += (size_t)snprintf(out + w, sizeof out - w, "|");
            if (pqf__csv_is_null(c, f))
                w += (size_t)snprintf(out + w, sizeof out - w, "<N>");
            else if (f->quoted)
                w += (size_t)snprintf(out + w, sizeof out - w, "[%.*s]", (int)f->len, f->p);
            else
                w += (size_t)snprintf(out + w, sizeof out - w, "%.*s", (int)f->len, f->p);
        }
        w += (size_t)snprintf(out + w, sizeof out - w, "\n");
    }
    pqf__csv_free(c);
    return out;
}

static void plain_records_with_header(void **state)
{
    (void)state;
    pqf_csv_opts o;
    pqf_csv_opts_init(&o);
    pqf_error e = {0};
    assert_string_equal(render("id,name\n1,ann\n2,bob\n", &o, 1 << 20, &e),
                        "H:id|name\n2:1|ann\n3:2|bob\n");
    /* no final newline, CRLF, empty field = NULL */
    assert_string_equal(render("a,b\r\n1,\r\n,2", &o, 1 << 20, &e), "H:a|b\n2:1|<N>\n3:<N>|2\n");
}

static void quoting_rfc4180(void **state)
{
    (void)state;
    pqf_csv_opts o;
    pqf_csv_opts_init(&o);
    o.header = false;
    pqf_error e = {0};
    const char *in = "\"a,b\",\"say \"\"hi\"\"\",\"\"\n\"multi\nline\",x,\"crlf\r\n\"\r\nz,y,w\n";
    const char *want = "1:[a,b]|[say \"hi\"]|[]\n2:[multi\nline]|x|[crlf\r\n]\n5:z|y|w\n";
    assert_string_equal(render(in, &o, 1 << 20, &e), want);
    /* the same through a tiny buffer: records cross the buffer end everywhere */
    for (size_t b = 16; b < 40; b++)
        assert_string_equal(render(in, &o, b, &e), want);
}

static void delimiter_and_null_marker(void **state)
{
    (void)state;
    pqf_csv_opts o;
    pqf_csv_opts_init(&o);
    o.delimiter = '\t';
    o.null_marker = "\\N";
    pqf_error e = {0};
    assert_string_equal(render("a\tb\n\\N\t\n\"\\N\"\tx,y\n", &o, 1 << 20, &e),
                        "H:a|b\n2:<N>|\n3:[\\N]|x,y\n");
}

static void blank_lines_and_bom_are_skipped(void **state)
{
    (void)state;
    pqf_csv_opts o;
    pqf_csv_opts_init(&o);
    pqf_error e = {0};
    assert_string_equal(render("\xEF\xBB\xBFid,v\n\n1,2\n\r\n3,4\n", &o, 1 << 20, &e),
                        "H:id|v\n3:1|2\n5:3|4\n");
}

static void unterminated_quote_names_line_and_field(void **state)
{
    (void)state;
    pqf_csv_opts o;
    pqf_csv_opts_init(&o);
    pqf_error e = {0};
    assert_null(render("id,name\n1,ann\n2,\"bob\n3,x\n", &o, 1 << 20, &e));
    assert_int_equal(e.code, PQF_ERR_PARSE);
    assert_string_equal(e.msg, "t.csv:3: field 2 (name): unterminated quoted field");
    assert_null(render("id,name\n1,\"a\"b\n", &o, 1 << 20, &e));
    assert_string_equal(e.msg, "t.csv:2: field 2 (name): unexpected character after closing quote");
}

static void wrong_field_count_is_an_error(void **state)
{
    (void)state;
    pqf_csv_opts o;
    pqf_csv_opts_init(&o);
    pqf_error e = {0};
    assert_null(render("a,b,c\n1,2,3\n\"x\ny\",2\n", &o, 1 << 20, &e));
    assert_int_equal(e.code, PQF_ERR_PARSE);
    assert_string_equal(e.msg, "t.csv:3: expected 3 fields, found 2");
}

static void record_longer_than_the_cap(void **state)
{
    (void)state;
    pqf_csv_opts o;
    pqf_csv_opts_init(&o);
    o.header = false;
    char big[300];
    memset(big, 'x', sizeof big - 2);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = 0;
    pqf__csv *c = NULL;
    pqf_error e = {0};
    assert_int_equal(pqf__csv_open(NULL, big, strlen(big), "big.csv", &o, 16, 128, 0, &c, &e),
                     PQF_OK);
    bool eof;
    assert_int_equal(pqf__csv_next(c, &eof), PQF_ERR_LIMIT);
    assert_string_equal(c->err.msg, "big.csv:1: record longer than the limit of 128 bytes");
    pqf__csv_free(c);
    /* within the cap the buffer grows */
    assert_int_equal(pqf__csv_open(NULL, big, strlen(big), "big.csv", &o, 16, 1024, 0, &c, &e),
                     PQF_OK);
    assert_int_equal(pqf__csv_next(c, &eof), PQF_OK);
    assert_false(eof);
    assert_int_equal(c->fields[0].len, 298);
    pqf__csv_free(c);
}

static void too_many_fields(void **state)
{
    (void)state;
    pqf_csv_opts o;
    pqf_csv_opts_init(&o);
    o.header = false;
    pqf__csv *c = NULL;
    pqf_error e = {0};
    const char *t = "1,2,3,4,5\n";
    assert_int_equal(pqf__csv_open(NULL, t, strlen(t), "w.csv", &o, 64, 1024, 4, &c, &e), PQF_OK);
    bool eof;
    assert_int_equal(pqf__csv_next(c, &eof), PQF_ERR_PARSE);
    assert_string_equal(c->err.msg, "w.csv:1: field 4: more than 4 fields in a record");
    pqf__csv_free(c);
}

/* The 16-bytes-at-a-time scanner and the byte-by-byte path give the same
 * records whatever the buffer size, so records cut at every possible place
 * (inside quotes, between CR and LF, inside a doubled quote) parse alike. */
static void any_buffer_size_gives_the_same_records(void **state)
{
    (void)state;
    pqf_csv_opts o;
    pqf_csv_opts_init(&o);
    static char text[4096];
    size_t n = 0;
    uint64_t x = 88172645463325252ull;
    n += (size_t)snprintf(text + n, sizeof text - n, "a,b,c\n");
    for (int r = 0; r < 60; r++) {
        for (int f = 0; f < 3; f++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            switch (x % 6) {
            case 0:
                n += (size_t)snprintf(text + n, sizeof text - n, "plain%d", r);
                break;
            case 1:
                n += (size_t)snprintf(text + n, sizeof text - n, "\"q,u\"\"o\nted%d\"", r);
                break;
            case 2:
                break; /* empty: NULL */
            case 3:
                n += (size_t)snprintf(text + n, sizeof text - n, "\"\"");
                break;
            case 4:
                n += (size_t)snprintf(text + n, sizeof text - n, "%0*d", (int)(x >> 40) % 40 + 1, r);
                break;
            default:
                n += (size_t)snprintf(text + n, sizeof text - n, "\"\r\n\"");
                break;
            }
            if (f < 2)
                text[n++] = ',';
        }
        n += (size_t)snprintf(text + n, sizeof text - n, r % 4 == 0 ? "\r\n" : "\n");
    }
    text[n] = 0;
    pqf_error err = {0};
    char *want_p = render(text, &o, 1 << 16, &err);
    assert_non_null(want_p);
    char *want = strdup(want_p);
    assert_true(strlen(want) > 500);
    for (size_t buffer = 16; buffer <= 300; buffer += 7) {
        char *got = render(text, &o, buffer, &err);
        assert_non_null(got);
        if (strcmp(got, want) != 0)
            fail_msg("buffer %zu gives other records", buffer);
    }
    free(want);
}

/* The record scanners (byte by byte, SSE2, AVX2: pqf__csv_simd_override)
 * give the same records for records of every length from 1 to 200 bytes, so
 * delimiters, newlines, quotes and CRs fall at every place of the 64-byte
 * blocks, with 1 to 40 fields, blank lines between them, and the read buffer
 * cutting records anywhere. Quotes and CRs in a record send the SIMD scanners
 * to the byte-by-byte path, at whatever offset they come. */
static void every_scanner_gives_the_same_records(void **state)
{
    (void)state;
    pqf_csv_opts o;
    pqf_csv_opts_init(&o);
    o.header = false;
    static char text[1 << 16];
    size_t n = 0;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int len = 1; len <= 200; len++) {
        /* each record: 5 fields of lengths adding up to about len bytes */
        for (int f = 0; f < 5; f++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int fl = (int)(x % (uint64_t)(len / 5 + 1));
            int kind = (int)((x >> 20) % 23);
            if (kind == 0 && fl > 2) { /* a quoted field with a delimiter in it */
                text[n++] = '"';
                for (int i = 0; i < fl - 2; i++)
                    text[n++] = i == fl / 2 ? ',' : (char)('a' + i % 26);
                text[n++] = '"';
            } else if (kind == 1 && fl > 4) { /* quoted: a CR and a doubled quote */
                text[n++] = '"';
                for (int i = 0; i < fl - 4; i++)
                    text[n++] = i == fl / 2 ? '\r' : 'r';
                text[n++] = '"';
                text[n++] = '"';
                text[n++] = '"';
            } else {
                for (int i = 0; i < fl; i++)
                    text[n++] = (char)('0' + (i + len) % 10);
            }
            if (f < 4)
                text[n++] = ',';
        }
        if (len % 7 == 0)
            text[n++] = '\r';
        text[n++] = '\n';
        if (len % 31 == 0)
            text[n++] = '\n'; /* a blank line */
    }
    text[n] = 0;
    assert_true(n < sizeof text);
    pqf_error err = {0};
    pqf__csv_simd_override = 0;
    char *want_p = render(text, &o, 1 << 16, &err);
    assert_non_null(want_p);
    char *want = strdup(want_p);
    assert_true(strlen(want) > 5000);
    for (int level = 0; level <= 2; level++) {
        pqf__csv_simd_override = level;
        for (size_t buffer = 16; buffer <= 600; buffer += 13) {
            char *got = render(text, &o, buffer, &err);
            if (!got)
                fail_msg("scanner %d with buffer %zu: %s", level, buffer, err.msg);
            if (strcmp(got, want) != 0)
                fail_msg("scanner %d with buffer %zu gives other records", level, buffer);
        }
    }
    /* one record of 300 fields (many 64-byte blocks, the field array grown
     * within a block) and the field cap hit inside a block */
    n = 0;
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%d", i ? "," : "", i);
    text[n++] = '\n';
    text[n] = 0;
    for (int level = 0; level <= 2; level++) {
        pqf__csv_simd_override = level;
        pqf__csv *c = NULL;
        assert_int_equal(pqf__csv_open(NULL, text, n, "w.csv", &o, 1 << 12, 1 << 16, 0, &c, &err),
                         PQF_OK);
        bool eof;
        assert_int_equal(pqf__csv_next(c, &eof), PQF_OK);
        assert_int_equal(c->nfields, 300);
        assert_int_equal(c->fields[299].len, 3);
        assert_memory_equal(c->fields[299].p, "299", 3);
        assert_int_equal(c->fields[64].len, 2);
        assert_memory_equal(c->fields[64].p, "64", 2);
        pqf__csv_free(c);
        assert_int_equal(pqf__csv_open(NULL, text, n, "w.csv", &o, 1 << 12, 1 << 16, 100, &c, &err),
                         PQF_OK);
        assert_int_equal(pqf__csv_next(c, &eof), PQF_ERR_PARSE);
        assert_string_equal(c->err.msg, "w.csv:1: field 100: more than 100 fields in a record");
        pqf__csv_free(c);
    }
    pqf__csv_simd_override = -1;
    free(want);
}

/* Field lengths are 32-bit: a record limit (or a read buffer, which a
 * record may fill) past UINT32_MAX is refused when the reader is opened,
 * naming the option, not silently lowered; UINT32_MAX itself is fine. */
static void record_limit_past_32_bits_is_refused(void **state)
{
    (void)state;
    const char *text = "a,b\n1,2\n";
    pqf__csv *c = NULL;
    pqf_error e = {0};
    assert_int_equal(pqf__csv_open(NULL, text, strlen(text), "t.csv", NULL, 1 << 10,
                                   (size_t)UINT32_MAX + 1, 0, &c, &e),
                     PQF_ERR_INVALID_ARG);
    assert_null(c);
    assert_non_null(strstr(e.msg, "t.csv"));
    assert_non_null(strstr(e.msg, "max_record_bytes 4294967296"));
    assert_non_null(strstr(e.msg, "at most 4294967295"));
    e = (pqf_error){0};
    assert_int_equal(pqf__csv_open(NULL, text, strlen(text), "t.csv", NULL,
                                   (size_t)UINT32_MAX + 16, 1 << 20, 0, &c, &e),
                     PQF_ERR_INVALID_ARG);
    assert_null(c);
    assert_non_null(strstr(e.msg, "buffer_bytes"));
    assert_int_equal(pqf__csv_open(NULL, text, strlen(text), "t.csv", NULL, 1 << 10, UINT32_MAX,
                                   0, &c, &e),
                     PQF_OK);
    bool eof = false;
    assert_int_equal(pqf__csv_next(c, &eof), PQF_OK);
    assert_false(eof);
    assert_int_equal(c->nfields, 2);
    pqf__csv_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_records_with_header),
        cmocka_unit_test(record_limit_past_32_bits_is_refused),
        cmocka_unit_test(any_buffer_size_gives_the_same_records),
        cmocka_unit_test(quoting_rfc4180),
        cmocka_unit_test(delimiter_and_null_marker),
        cmocka_unit_test(blank_lines_and_bom_are_skipped),
        cmocka_unit_test(unterminated_quote_names_line_and_field),
        cmocka_unit_test(wrong_field_count_is_an_error),
        cmocka_unit_test(record_longer_than_the_cap),
        cmocka_unit_test(too_many_fields),
        cmocka_unit_test(every_scanner_gives_the_same_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
