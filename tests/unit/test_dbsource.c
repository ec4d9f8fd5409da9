/* Unit and integration tests: database sources (include/pqfeed/dbsource.h).
 *
 * SQLite tests always run (a database is a file). PostgreSQL tests connect
 * to the server whose conninfo is in PQF_TEST_PG and are skipped without it
 * (tests/integration/pg_source.sh starts one with scripts/pg.sh).
 *
 * Each test exports a source to an in-memory Parquet file and reads it back
 * with the row reader, so what is checked is what a consumer gets.
 *
 * Also a driver used by the shell suites (tests/cli/sqlite_source.sh,
 * tests/integration/pg_source.sh):
 *   test_dbsource export pg|sqlite CONNINFO|FILE table|query NAME|SQL OUT.parquet
 *       [--schema FILE] [--wm COL] [--after TEXT] [--row-group-mb N]
 * prints "rows N" and "watermark MIN MAX". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pqfeed/dbsource.h"
#include "pqfeed/reader.h"
#include "pqfeed/source.h"
#include "pqfeed/stream.h"
#include "pqfeed/writer.h"

/* ---- helpers ----------------------------------------------------------------------- */

typedef struct dump {
    char *rows;   /* NDJSON, one line per row */
    char *schema; /* schema-file JSON of the source's schema */
    uint64_t n;
    pqf_err rc;
    pqf_error err;
    char wm_min[128], wm_max[128];
} dump;

static void dump_free(dump *d)
{
    free(d->rows);
    free(d->schema);
    memset(d, 0, sizeof *d);
}

/* Export src to memory and read it back as NDJSON (frees src). */
static void export_src(pqf_dbsource *src, dump *d)
{
    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    pqf_istream *in = NULL;
    pqf_reader *r = NULL;
    pqf_row_reader *rr = NULL;
    pqf_writer_opts wo;
    pqf_writer_opts_init(&wo);
    size_t len = 0, cap = 0;
    assert_int_equal(pqf_schema_to_json(pqf_dbsource_schema(src), &d->schema, &len, &d->err),
                     PQF_OK);
    assert_int_equal(pqf_ostream_mem(256u << 20, &out, &d->err), PQF_OK);
    assert_int_equal(pqf_writer_create(pqf_dbsource_schema(src), out, &wo, &w, &d->err), PQF_OK);
    d->rc = pqf_dbsource_run(src, w, &d->n);
    const char *mn, *mx;
    pqf_dbsource_watermarks(src, &mn, &mx);
    snprintf(d->wm_min, sizeof d->wm_min, "%s", mn ? mn : "(none)");
    snprintf(d->wm_max, sizeof d->wm_max, "%s", mx ? mx : "(none)");
    if (d->rc != PQF_OK) {
        d->err = *pqf_dbsource_error(src);
        goto done;
    }
    assert_int_equal(pqf_writer_close(w), PQF_OK);
    const uint8_t *data = pqf_ostream_mem_data(out, &len);
    assert_int_equal(pqf_istream_mem(data, len, "mem.parquet", &in, &d->err), PQF_OK);
    assert_int_equal(pqf_reader_open(in, NULL, &r, &d->err), PQF_OK);
    pqf_row_opts ro = {0};
    assert_int_equal(pqf_row_reader_open(r, &ro, &rr, &d->err), PQF_OK);
    d->rows = calloc(1, 1);
    len = 0;
    for (;;) {
        const char *line;
        size_t n;
        assert_int_equal(pqf_row_reader_next(rr, &line, &n), PQF_OK);
        if (!line)
            break;
        if (len + n + 2 > cap) {
            cap = (len + n + 2) * 2;
            d->rows = realloc(d->rows, cap);
            assert_non_null(d->rows);
        }
        memcpy(d->rows + len, line, n);
        len += n;
        d->rows[len++] = '\n';
        d->rows[len] = 0;
    }
done:
    pqf_row_reader_free(rr);
    pqf_reader_free(r);
    pqf_istream_free(in);
    pqf_writer_free(w);
    pqf_ostream_free(out);
    pqf_dbsource_free(src);
}

#define assert_dump_ok(d)                                                                          \
    do {                                                                                           \
        if ((d).rc != PQF_OK)                                                                      \
            fail_msg("export failed: %s", (d).err.msg);                                            \
    } while (0)

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("expected '%s' in:\n%s", (needle), (hay));                                    \
    } while (0)

/* ---- SQLite ------------------------------------------------------------------------ */

static char sqlite_path[256];

static void sq_exec(const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(sqlite_path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("sqlite: %s: %s", sql, msg);
    sqlite3_close(db);
}

static int sqlite_setup(void **state)
{
    (void)state;
    snprintf(sqlite_path, sizeof sqlite_path, "%s/pqf-dbsource-%d.db",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    unlink(sqlite_path);
    sq_exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INT NOT NULL, r REAL, s TEXT, "
            "v VARCHAR(10), blob BLOB, flag BOOLEAN, d DATE, ts DATETIME, tm TIME, "
            "amount DECIMAL(10,2), num NUMERIC, x, updated INTEGER);"
            "INSERT INTO t VALUES (1, 42, 1.5, 'héllo ☃ 𝄞', 'abc', x'00ff00', 1, '2024-02-29', "
            "'2024-01-01 12:34:56.789', '23:59:59.5', '12.34', 7, 'free', 100);"
            "INSERT INTO t VALUES (2, -9223372036854775808, -0.1, '', '', x'', 0, '1970-01-01', "
            "'2024-03-10T01:30:00-08:00', '00:00', -0.01, '0.000000001', 5, 300);"
            "INSERT INTO t VALUES (3, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
            "NULL, NULL, 200);"
            "INSERT INTO t VALUES (4, '17', 3, 'z', 'y', 'text-in-blob', 'true', NULL, 1700000000, "
            "NULL, 5, 12345678901234567890, 2.5, NULL);"
            "CREATE TABLE bad (id INTEGER PRIMARY KEY, n INT);"
            "INSERT INTO bad VALUES (1, 5), (2, 'abc');"
            "CREATE TABLE big (id INTEGER PRIMARY KEY, n INT);"
            "INSERT INTO big VALUES (1, 1), (2, 40000);");
    return 0;
}

static int sqlite_teardown(void **state)
{
    (void)state;
    unlink(sqlite_path);
    return 0;
}

static void sqlite_open(const pqf_dbsource_opts *o, pqf_dbsource **src)
{
    pqf_error err = {0};
    pqf_err rc = pqf_dbsource_open_sqlite(sqlite_path, o, src, &err);
    if (rc != PQF_OK)
        fail_msg("open: %s", err.msg);
}

static void sqlite_types_follow_affinity(void **state)
{
    (void)state;
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.table = "t";
    pqf_dbsource *src;
    sqlite_open(&o, &src);
    dump d = {0};
    export_src(src, &d);
    assert_dump_ok(d);
    const char *want_schema[] = {
        "{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false}",
        "{\"name\": \"n\", \"type\": \"int64\", \"nullable\": false}",
        "{\"name\": \"r\", \"type\": \"double\"}",
        "{\"name\": \"s\", \"type\": \"string\"}",
        "{\"name\": \"v\", \"type\": \"string\"}",
        "{\"name\": \"blob\", \"type\": \"binary\"}",
        "{\"name\": \"flag\", \"type\": \"bool\"}",
        "{\"name\": \"d\", \"type\": \"date\"}",
        "{\"name\": \"ts\", \"type\": \"timestamp_us\"}",
        "{\"name\": \"tm\", \"type\": \"time_us\"}",
        "{\"name\": \"amount\", \"type\": \"decimal(10,2)\"}",
        "{\"name\": \"num\", \"type\": \"decimal(38,9)\"}",
        "{\"name\": \"x\", \"type\": \"binary\"}",
    };
    for (size_t i = 0; i < sizeof want_schema / sizeof *want_schema; i++)
        assert_contains(d.schema, want_schema[i]);
    assert_int_equal(d.n, 4);
    assert_string_equal(
        d.rows,
        "{\"id\":1,\"n\":42,\"r\":1.5,\"s\":\"héllo ☃ 𝄞\",\"v\":\"abc\",\"blob\":\"AP8A\","
        "\"flag\":true,\"d\":\"2024-02-29\",\"ts\":\"2024-01-01T12:34:56.789Z\","
        "\"tm\":\"23:59:59.5\",\"amount\":12.34,\"num\":7.000000000,\"x\":\"ZnJlZQ==\","
        "\"updated\":100}\n"
        "{\"id\":2,\"n\":-9223372036854775808,\"r\":-0.1,\"s\":\"\",\"v\":\"\",\"blob\":\"\","
        "\"flag\":false,\"d\":\"1970-01-01\",\"ts\":\"2024-03-10T09:30:00Z\","
        "\"tm\":\"00:00:00\",\"amount\":-0.01,\"num\":0.000000001,\"x\":\"NQ==\","
        "\"updated\":300}\n"
        "{\"id\":3,\"n\":0,\"r\":null,\"s\":null,\"v\":null,\"blob\":null,\"flag\":null,"
        "\"d\":null,\"ts\":null,\"tm\":null,\"amount\":null,\"num\":null,\"x\":null,"
        "\"updated\":200}\n"
        "{\"id\":4,\"n\":17,\"r\":3,\"s\":\"z\",\"v\":\"y\",\"blob\":\"dGV4dC1pbi1ibG9i\","
        "\"flag\":true,\"d\":null,\"ts\":\"2023-11-14T22:13:20Z\",\"tm\":null,"
        "\"amount\":5.00,\"num\":12345678901234567000.000000000,\"x\":\"Mi41\","
        "\"updated\":null}\n");
    dump_free(&d);
}

static void sqlite_query_types_expressions_by_first_value(void **state)
{
    (void)state;
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.query = "SELECT id, id * 2 AS twice, s || '!' AS bang, r / 2 AS half FROM t WHERE id <= 2 "
              "ORDER BY id;";
    pqf_dbsource *src;
    sqlite_open(&o, &src);
    dump d = {0};
    export_src(src, &d);
    assert_dump_ok(d);
    assert_contains(d.schema, "{\"name\": \"id\", \"type\": \"int64\"}");
    assert_contains(d.schema, "{\"name\": \"twice\", \"type\": \"int64\"}");
    assert_contains(d.schema, "{\"name\": \"bang\", \"type\": \"string\"}");
    assert_contains(d.schema, "{\"name\": \"half\", \"type\": \"double\"}");
    assert_string_equal(d.rows, "{\"id\":1,\"twice\":2,\"bang\":\"héllo ☃ 𝄞!\",\"half\":0.75}\n"
                                "{\"id\":2,\"twice\":4,\"bang\":\"!\",\"half\":-0.05}\n");
    dump_free(&d);
}

static void sqlite_watermark_filters_and_orders(void **state)
{
    (void)state;
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.table = "t";
    o.watermark_column = "updated";
    o.watermark_after = "100";
    pqf_dbsource *src;
    sqlite_open(&o, &src);
    dump d = {0};
    export_src(src, &d);
    assert_dump_ok(d);
    assert_int_equal(d.n, 2); /* 200 and 300; 100 is not beyond, NULL never is */
    assert_non_null(strstr(d.rows, "\"id\":3"));
    assert_true(strstr(d.rows, "\"id\":3") < strstr(d.rows, "\"id\":2"));
    assert_string_equal(d.wm_min, "200");
    assert_string_equal(d.wm_max, "300");
    dump_free(&d);

    /* without a lower bound: every row, NULL watermarks last */
    o.watermark_after = NULL;
    sqlite_open(&o, &src);
    export_src(src, &d);
    assert_int_equal(d.n, 4);
    assert_string_equal(d.wm_min, "100");
    assert_string_equal(d.wm_max, "300");
    assert_true(strstr(d.rows, "\"id\":4") > strstr(d.rows, "\"id\":2"));
    dump_free(&d);
}

static void sqlite_missing_table_and_file(void **state)
{
    (void)state;
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.table = "nosuch";
    pqf_dbsource *src = NULL;
    pqf_error err = {0};
    assert_int_equal(pqf_dbsource_open_sqlite(sqlite_path, &o, &src, &err), PQF_ERR_NOT_FOUND);
    assert_null(src);
    assert_contains(err.msg, "table 'nosuch' does not exist");
    pqf_error_clear(&err);
    o.table = "t";
    assert_int_equal(pqf_dbsource_open_sqlite("/nonexistent/x.db", &o, &src, &err),
                     PQF_ERR_NOT_FOUND);
    assert_contains(err.msg, "/nonexistent/x.db");
    pqf_error_clear(&err);
    o.table = NULL;
    o.query = "SELECT * FROM nosuch";
    assert_int_equal(pqf_dbsource_open_sqlite(sqlite_path, &o, &src, &err), PQF_ERR_IO);
    assert_contains(err.msg, "no such table: nosuch");
    pqf_error_clear(&err);
    o.query = "DELETE FROM t";
    assert_int_equal(pqf_dbsource_open_sqlite(sqlite_path, &o, &src, &err), PQF_ERR_INVALID_ARG);
}

static void sqlite_bad_value_names_row_and_column(void **state)
{
    (void)state;
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.table = "bad";
    pqf_dbsource *src;
    sqlite_open(&o, &src);
    dump d = {0};
    export_src(src, &d);
    assert_int_equal(d.rc, PQF_ERR_VALUE);
    assert_string_equal(d.err.msg, "sqlite table bad: row 2: column 'n': cannot convert 'abc' "
                                   "(INT) to int64: not an integer");
    dump_free(&d);
}

static void sqlite_schema_file_narrows_with_range_checks(void **state)
{
    (void)state;
    const char *js = "{\"columns\":[{\"name\":\"id\",\"type\":\"int32\",\"nullable\":false},"
                     "{\"name\":\"n\",\"type\":\"int16\"}]}";
    pqf_schema *s = NULL;
    pqf_error err = {0};
    assert_int_equal(pqf_schema_from_json(js, strlen(js), "narrow.json", &s, &err), PQF_OK);
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.table = "big";
    o.schema = s;
    pqf_dbsource *src;
    sqlite_open(&o, &src);
    dump d = {0};
    export_src(src, &d);
    assert_int_equal(d.rc, PQF_ERR_VALUE);
    assert_string_equal(d.err.msg, "sqlite table big: row 2: column 'n': cannot convert '40000' "
                                   "(INT) to int16: out of range");
    dump_free(&d);
    /* a schema column the table lacks must be nullable; a table column the
     * schema lacks is an error unless ignored */
    pqf_schema_free(s);
    js = "{\"columns\":[{\"name\":\"id\",\"type\":\"int32\",\"nullable\":false},"
         "{\"name\":\"n\",\"type\":\"int64\"},{\"name\":\"extra\",\"type\":\"string\"}]}";
    assert_int_equal(pqf_schema_from_json(js, strlen(js), "narrow.json", &s, &err), PQF_OK);
    o.schema = s;
    o.table = "t";
    pqf_dbsource *none = NULL;
    assert_int_equal(pqf_dbsource_open_sqlite(sqlite_path, &o, &none, &err), PQF_ERR_SCHEMA);
    assert_contains(err.msg, "column 'r' is not in the schema");
    o.ignore_unknown = true;
    sqlite_open(&o, &src);
    export_src(src, &d);
    assert_dump_ok(d);
    assert_string_equal(d.rows, "{\"id\":1,\"n\":42,\"extra\":null}\n"
                                "{\"id\":2,\"n\":-9223372036854775808,\"extra\":null}\n"
                                "{\"id\":3,\"n\":0,\"extra\":null}\n"
                                "{\"id\":4,\"n\":17,\"extra\":null}\n");
    dump_free(&d);
    pqf_schema_free(s);
}

/* ---- PostgreSQL ---------------------------------------------------------------------- */

static const char *pg_conninfo(void)
{
    const char *c = getenv("PQF_TEST_PG");
    return c && *c ? c : NULL;
}

static void pg_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("postgres: %s", PQresultErrorMessage(r));
    PQclear(r);
}

static int pg_setup(void **state)
{
    (void)state;
    if (!pg_conninfo())
        return 0;
    PGconn *c = PQconnectdb(pg_conninfo());
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "# cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    pg_exec(
        c,
        "SET client_min_messages = warning;"
        "DROP SCHEMA IF EXISTS pqft CASCADE; CREATE SCHEMA pqft;"
        "CREATE TYPE pqft.mood AS ENUM ('sad', 'happy');"
        "CREATE DOMAIN pqft.posint AS integer CHECK (VALUE > 0);"
        "CREATE TABLE pqft.alltypes (id bigint PRIMARY KEY, i2 smallint, i4 integer NOT NULL,"
        " i8 bigint, n38 numeric(38,10), n52 numeric(5,2), nfree numeric, f4 real,"
        " f8 double precision, t text, vc varchar(10), ch char(3), b boolean, d date,"
        " tm time, ts timestamp, tstz timestamptz, u uuid, j json, jb jsonb, by bytea,"
        " ia integer[], ta text[], e pqft.mood, dom pqft.posint, iv interval);"
        "INSERT INTO pqft.alltypes VALUES"
        " (1, 32767, 2147483647, 9223372036854775807,"
        "  9999999999999999999999999999.9999999999, 999.99, 1.5, 1.5, 1e308,"
        "  'héllo ☃ 𝄞', 'abc', 'ab', true, '2024-02-29', '23:59:59.999999',"
        "  '2024-01-01 12:34:56.789012', '2024-03-10 01:30:00-08',"
        "  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}', '{\"b\": 1, \"a\": \"x\"}',"
        "  '\\x00ff00', '{1,NULL,3}', '{\"x y\",NULL,\"ü\"}', 'happy', 5, '1 day 02:00:00'),"
        " (2, -32768, -2147483648, -9223372036854775808,"
        "  -9999999999999999999999999999.9999999999, -999.99, -0.000000001, -1.25, -2.5e-300,"
        "  '', '', '', false, '1970-01-01', '00:00:00', '1969-12-31 23:59:59.5',"
        "  '2024-03-10 12:00:00+05:30', '00000000-0000-0000-0000-000000000000', '[]', 'null',"
        "  '\\x', '{}', '{}', 'sad', 1, '-3 mons'),"
        " (3, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
        "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
        " (4, 0, 7, 0, 0.0000000001, -0.01, 12345678901234567890.123456789, 'NaN', '-Infinity',"
        "  E'tab\\there \"q\" \\\\ nl\\n', 'x', 'xyz', NULL, '0001-01-01', '12:00',"
        "  '0001-01-01 00:00:00', '1900-06-30 23:59:59.000001+00', NULL, NULL, NULL,"
        "  '\\x000000', '{NULL}', '{NULL,\"\"}', NULL, NULL, NULL);"
        "CREATE TABLE pqft.events (id integer NOT NULL, at timestamptz NOT NULL, v text);"
        "INSERT INTO pqft.events SELECT g, timestamptz '2026-01-01 00:00:00+00' + g * "
        " interval '1 hour', 'e' || g FROM generate_series(1, 10) g;"
        "CREATE TABLE pqft.wide (n integer, big numeric);"
        "INSERT INTO pqft.wide VALUES (1, 1), (40000, 1.0000000001);"
        "CREATE TABLE pqft.arr2 (a int[]); INSERT INTO pqft.arr2 VALUES ('{{1,2},{3,4}}');");
    PQfinish(c);
    return 0;
}

static void pg_open(const pqf_dbsource_opts *o, pqf_dbsource **src)
{
    pqf_error err = {0};
    pqf_err rc = pqf_dbsource_open_pg(pg_conninfo(), o, src, &err);
    if (rc != PQF_OK)
        fail_msg("open: %s", err.msg);
}

#define NEED_PG()                                                                                  \
    do {                                                                                           \
        if (!pg_conninfo())                                                                        \
            skip();                                                                                \
    } while (0)

static void pg_every_type_maps_exactly(void **state)
{
    (void)state;
    NEED_PG();
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.table = "pqft.alltypes";
    pqf_dbsource *src;
    pg_open(&o, &src);
    dump d = {0};
    export_src(src, &d);
    assert_dump_ok(d);
    const char *want_schema[] = {
        "{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false}",
        "{\"name\": \"i2\", \"type\": \"int16\"}",
        "{\"name\": \"i4\", \"type\": \"int32\", \"nullable\": false}",
        "{\"name\": \"i8\", \"type\": \"int64\"}",
        "{\"name\": \"n38\", \"type\": \"decimal(38,10)\"}",
        "{\"name\": \"n52\", \"type\": \"decimal(5,2)\"}",
        "{\"name\": \"nfree\", \"type\": \"decimal(38,9)\"}",
        "{\"name\": \"f4\", \"type\": \"float\"}",
        "{\"name\": \"f8\", \"type\": \"double\"}",
        "{\"name\": \"t\", \"type\": \"string\"}",
        "{\"name\": \"vc\", \"type\": \"string\"}",
        "{\"name\": \"ch\", \"type\": \"string\"}",
        "{\"name\": \"b\", \"type\": \"bool\"}",
        "{\"name\": \"d\", \"type\": \"date\"}",
        "{\"name\": \"tm\", \"type\": \"time_us\"}",
        "{\"name\": \"ts\", \"type\": \"timestamp_us\", \"utc\": false}",
        "{\"name\": \"tstz\", \"type\": \"timestamp_us\"}",
        "{\"name\": \"u\", \"type\": \"uuid\"}",
        "{\"name\": \"j\", \"type\": \"json\"}",
        "{\"name\": \"jb\", \"type\": \"json\"}",
        "{\"name\": \"by\", \"type\": \"binary\"}",
        "{\"name\": \"ia\", \"type\": {\"list\": \"int32\"}}",
        "{\"name\": \"ta\", \"type\": {\"list\": \"string\"}}",
        "{\"name\": \"e\", \"type\": \"string\"}",
        "{\"name\": \"dom\", \"type\": \"int32\"}",
        "{\"name\": \"iv\", \"type\": \"string\"}",
    };
    for (size_t i = 0; i < sizeof want_schema / sizeof *want_schema; i++)
        assert_contains(d.schema, want_schema[i]);
    assert_int_equal(d.n, 4);
    assert_string_equal(
        d.rows,
        "{\"id\":1,\"i2\":32767,\"i4\":2147483647,\"i8\":9223372036854775807,"
        "\"n38\":9999999999999999999999999999.9999999999,\"n52\":999.99,\"nfree\":1.500000000,"
        "\"f4\":1.5,\"f8\":1e+308,\"t\":\"héllo ☃ 𝄞\",\"vc\":\"abc\",\"ch\":\"ab \",\"b\":true,"
        "\"d\":\"2024-02-29\",\"tm\":\"23:59:59.999999\",\"ts\":\"2024-01-01T12:34:56.789012\","
        "\"tstz\":\"2024-03-10T09:30:00Z\",\"u\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\","
        "\"j\":\"{\\\"a\\\": [1, 2]}\",\"jb\":\"{\\\"a\\\": \\\"x\\\", \\\"b\\\": 1}\","
        "\"by\":\"AP8A\",\"ia\":[1,null,3],\"ta\":[\"x y\",null,\"ü\"],\"e\":\"happy\",\"dom\":5,"
        "\"iv\":\"1 day 02:00:00\"}\n"
        "{\"id\":2,\"i2\":-32768,\"i4\":-2147483648,\"i8\":-9223372036854775808,"
        "\"n38\":-9999999999999999999999999999.9999999999,\"n52\":-999.99,\"nfree\":-0.000000001,"
        "\"f4\":-1.25,\"f8\":-2.5e-300,\"t\":\"\",\"vc\":\"\",\"ch\":\"   \",\"b\":false,"
        "\"d\":\"1970-01-01\",\"tm\":\"00:00:00\",\"ts\":\"1969-12-31T23:59:59.5\","
        "\"tstz\":\"2024-03-10T06:30:00Z\",\"u\":\"00000000-0000-0000-0000-000000000000\","
        "\"j\":\"[]\",\"jb\":\"null\",\"by\":\"\",\"ia\":[],\"ta\":[],\"e\":\"sad\",\"dom\":1,"
        "\"iv\":\"-3 mons\"}\n"
        "{\"id\":3,\"i2\":null,\"i4\":0,\"i8\":null,\"n38\":null,\"n52\":null,\"nfree\":null,"
        "\"f4\":null,\"f8\":null,\"t\":null,\"vc\":null,\"ch\":null,\"b\":null,\"d\":null,"
        "\"tm\":null,\"ts\":null,\"tstz\":null,\"u\":null,\"j\":null,\"jb\":null,\"by\":null,"
        "\"ia\":null,\"ta\":null,\"e\":null,\"dom\":null,\"iv\":null}\n"
        "{\"id\":4,\"i2\":0,\"i4\":7,\"i8\":0,\"n38\":0.0000000001,\"n52\":-0.01,"
        "\"nfree\":12345678901234567890.123456789,\"f4\":\"NaN\",\"f8\":\"-Infinity\","
        "\"t\":\"tab\\there \\\"q\\\" \\\\ nl\\n\",\"vc\":\"x\",\"ch\":\"xyz\",\"b\":null,"
        "\"d\":\"0001-01-01\",\"tm\":\"12:00:00\",\"ts\":\"0001-01-01T00:00:00\","
        "\"tstz\":\"1900-06-30T23:59:59.000001Z\",\"u\":null,\"j\":null,\"jb\":null,"
        "\"by\":\"AAAA\",\"ia\":[null],\"ta\":[null,\"\"],\"e\":null,\"dom\":null,\"iv\":null}\n");
    dump_free(&d);
}

static void pg_query_source_with_watermark(void **state)
{
    (void)state;
    NEED_PG();
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.query = "SELECT id, at, upper(v) AS v FROM pqft.events WHERE id % 2 = 0;";
    o.watermark_column = "at";
    o.watermark_after = "2026-01-01T04:00:00Z";
    pqf_dbsource *src;
    pg_open(&o, &src);
    dump d = {0};
    export_src(src, &d);
    assert_dump_ok(d);
    /* query columns are nullable */
    assert_contains(d.schema, "{\"name\": \"id\", \"type\": \"int32\"}");
    assert_int_equal(d.n, 3); /* 6, 8, 10; 4 is not beyond the watermark */
    assert_string_equal(d.rows, "{\"id\":6,\"at\":\"2026-01-01T06:00:00Z\",\"v\":\"E6\"}\n"
                                "{\"id\":8,\"at\":\"2026-01-01T08:00:00Z\",\"v\":\"E8\"}\n"
                                "{\"id\":10,\"at\":\"2026-01-01T10:00:00Z\",\"v\":\"E10\"}\n");
    assert_string_equal(d.wm_min, "2026-01-01T06:00:00Z");
    assert_string_equal(d.wm_max, "2026-01-01T10:00:00Z");
    dump_free(&d);

    /* the reported maximum is a valid lower bound for the next run: nothing new */
    o.watermark_after = "2026-01-01T10:00:00Z";
    pg_open(&o, &src);
    export_src(src, &d);
    assert_dump_ok(d);
    assert_int_equal(d.n, 0);
    assert_string_equal(d.wm_max, "(none)");
    dump_free(&d);
}

static void pg_table_watermark_and_isolation(void **state)
{
    (void)state;
    NEED_PG();
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.table = "pqft.events";
    o.watermark_column = "id";
    o.watermark_after = "7";
    o.isolation = PQF_DB_SERIALIZABLE;
    pqf_dbsource *src;
    pg_open(&o, &src);
    dump d = {0};
    export_src(src, &d);
    assert_dump_ok(d);
    assert_contains(d.schema, "{\"name\": \"id\", \"type\": \"int32\", \"nullable\": false}");
    assert_int_equal(d.n, 3);
    assert_string_equal(d.wm_min, "8");
    assert_string_equal(d.wm_max, "10");
    dump_free(&d);
}

static void pg_snapshot_is_consistent(void **state)
{
    (void)state;
    NEED_PG();
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.table = "pqft.events";
    pqf_dbsource *src;
    pg_open(&o, &src); /* the snapshot is taken here, by the description's queries */
    PGconn *c = PQconnectdb(pg_conninfo());
    pg_exec(c, "INSERT INTO pqft.events VALUES (99, now(), 'late')");
    dump d = {0};
    export_src(src, &d);
    assert_dump_ok(d);
    assert_int_equal(d.n, 10);
    dump_free(&d);
    pg_exec(c, "DELETE FROM pqft.events WHERE id = 99");
    PQfinish(c);
}

static void pg_missing_table_is_named(void **state)
{
    (void)state;
    NEED_PG();
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.table = "pqft.nosuch";
    pqf_dbsource *src = NULL;
    pqf_error err = {0};
    assert_int_equal(pqf_dbsource_open_pg(pg_conninfo(), &o, &src, &err), PQF_ERR_NOT_FOUND);
    assert_null(src);
    assert_string_equal(err.msg, "postgres table pqft.nosuch: table 'pqft.nosuch' does not exist "
                                 "(or is not visible on the search_path)");
    o.table = NULL;
    o.query = "SELECT * FROM pqft.nosuch";
    pqf_error_clear(&err);
    assert_int_equal(pqf_dbsource_open_pg(pg_conninfo(), &o, &src, &err), PQF_ERR_NOT_FOUND);
    assert_contains(err.msg, "relation \"pqft.nosuch\" does not exist");
    o.query = "SELEKT 1";
    pqf_error_clear(&err);
    assert_int_equal(pqf_dbsource_open_pg(pg_conninfo(), &o, &src, &err), PQF_ERR_REMOTE);
    assert_contains(err.msg, "syntax error");
    pqf_error_clear(&err);
    assert_int_equal(pqf_dbsource_open_pg("host=/nonexistent port=1", &o, &src, &err), PQF_ERR_NET);
    o.query = NULL;
    o.table = "pqft.events";
    o.watermark_column = "nope";
    pqf_error_clear(&err);
    assert_int_equal(pqf_dbsource_open_pg(pg_conninfo(), &o, &src, &err), PQF_ERR_SCHEMA);
    assert_contains(err.msg, "watermark column 'nope'");
}

static void pg_schema_file_narrowing_overflows(void **state)
{
    (void)state;
    NEED_PG();
    const char *js = "{\"columns\":[{\"name\":\"n\",\"type\":\"int16\"},"
                     "{\"name\":\"big\",\"type\":\"decimal(20,10)\"}]}";
    pqf_schema *s = NULL;
    pqf_error err = {0};
    assert_int_equal(pqf_schema_from_json(js, strlen(js), "narrow.json", &s, &err), PQF_OK);
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.query = "SELECT n, big FROM pqft.wide ORDER BY n";
    o.schema = s;
    pqf_dbsource *src;
    pg_open(&o, &src);
    dump d = {0};
    export_src(src, &d);
    assert_int_equal(d.rc, PQF_ERR_VALUE);
    assert_string_equal(d.err.msg, "postgres query: row 2: column 'n': cannot convert '40000' "
                                   "(integer) to int16: out of range");
    dump_free(&d);
    pqf_schema_free(s);

    /* the default scale of unconstrained numeric: more digits are an error, not rounding */
    pqf_dbsource_opts_init(&o);
    o.table = "pqft.wide";
    pg_open(&o, &src);
    export_src(src, &d);
    assert_int_equal(d.rc, PQF_ERR_VALUE);
    assert_string_equal(d.err.msg, "postgres table pqft.wide: row 2: column 'big': cannot convert "
                                   "'1.0000000001' (numeric) to decimal(38,9): has too many "
                                   "decimal places");
    dump_free(&d);
    o.numeric_as_string = true;
    pg_open(&o, &src);
    export_src(src, &d);
    assert_dump_ok(d);
    assert_string_equal(d.rows,
                        "{\"n\":1,\"big\":\"1\"}\n{\"n\":40000,\"big\":\"1.0000000001\"}\n");
    dump_free(&d);
}

static void pg_multidimensional_array_is_an_error(void **state)
{
    (void)state;
    NEED_PG();
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.table = "pqft.arr2";
    pqf_dbsource *src;
    pg_open(&o, &src);
    dump d = {0};
    export_src(src, &d);
    assert_int_equal(d.rc, PQF_ERR_VALUE);
    assert_string_equal(d.err.msg, "postgres table pqft.arr2: row 1: column 'a[]': a 2-dimensional "
                                   "array does not fit a list column");
    dump_free(&d);
}

/* ---- driver for the shell suites --------------------------------------------------------- */

static int export_main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr,
                "usage: %s export pg|sqlite CONN table|query NAME OUT [--schema F] "
                "[--wm COL] [--after X] [--row-group-mb N] [--codec C]\n",
                argv[0]);
        return 2;
    }
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    if (strcmp(argv[4], "table") == 0)
        o.table = argv[5];
    else
        o.query = argv[5];
    const char *out_path = argv[6];
    pqf_writer_opts wo;
    pqf_writer_opts_init(&wo);
    pqf_schema *schema = NULL;
    pqf_error err = {0};
    int status = 1;
    for (int i = 7; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--schema") == 0) {
            if (pqf_schema_load_json(argv[i + 1], &schema, &err) != PQF_OK)
                goto fail;
            o.schema = schema;
        } else if (strcmp(argv[i], "--wm") == 0) {
            o.watermark_column = argv[i + 1];
        } else if (strcmp(argv[i], "--after") == 0) {
            o.watermark_after = argv[i + 1];
        } else if (strcmp(argv[i], "--row-group-mb") == 0) {
            wo.row_group_bytes = strtoull(argv[i + 1], NULL, 10) << 20;
        } else if (strcmp(argv[i], "--codec") == 0) {
            pqf_codec_from_name(argv[i + 1], &wo.codec);
        }
    }
    pqf_dbsource *src = NULL;
    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    uint64_t rows = 0;
    pqf_err rc = strcmp(argv[2], "pg") == 0 ? pqf_dbsource_open_pg(argv[3], &o, &src, &err)
                                            : pqf_dbsource_open_sqlite(argv[3], &o, &src, &err);
    if (rc == PQF_OK)
        rc = pqf_ostream_file(out_path, &out, &err);
    if (rc == PQF_OK)
        rc = pqf_writer_create(pqf_dbsource_schema(src), out, &wo, &w, &err);
    if (rc == PQF_OK && (rc = pqf_dbsource_run(src, w, &rows)) != PQF_OK)
        err = *pqf_dbsource_error(src);
    if (rc == PQF_OK && (rc = pqf_writer_close(w)) != PQF_OK)
        err = *pqf_writer_error(w);
    if (rc == PQF_OK && (rc = pqf_ostream_commit(out)) != PQF_OK)
        err = *pqf_ostream_error(out);
    if (rc == PQF_OK) {
        const char *mn, *mx;
        pqf_dbsource_watermarks(src, &mn, &mx);
        printf("rows %llu\nwatermark %s %s\n", (unsigned long long)rows, mn ? mn : "-",
               mx ? mx : "-");
        status = 0;
    }
    pqf_writer_free(w);
    pqf_ostream_free(out);
    pqf_dbsource_free(src);
    if (status == 0)
        goto done;
fail:
    fprintf(stderr, "error: %s (%s)\n", err.msg, pqf_errname(err.code));
    status = err.code == PQF_ERR_NOT_FOUND ? 3 : 1;
done:
    pqf_schema_free(schema);
    return status;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "export") == 0)
        return export_main(argc, argv);
    const struct CMUnitTest sqlite_tests[] = {
        cmocka_unit_test(sqlite_types_follow_affinity),
        cmocka_unit_test(sqlite_query_types_expressions_by_first_value),
        cmocka_unit_test(sqlite_watermark_filters_and_orders),
        cmocka_unit_test(sqlite_missing_table_and_file),
        cmocka_unit_test(sqlite_bad_value_names_row_and_column),
        cmocka_unit_test(sqlite_schema_file_narrows_with_range_checks),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test(pg_every_type_maps_exactly),
        cmocka_unit_test(pg_query_source_with_watermark),
        cmocka_unit_test(pg_table_watermark_and_isolation),
        cmocka_unit_test(pg_snapshot_is_consistent),
        cmocka_unit_test(pg_missing_table_is_named),
        cmocka_unit_test(pg_schema_file_narrowing_overflows),
        cmocka_unit_test(pg_multidimensional_array_is_an_error),
    };
    int failed = cmocka_run_group_tests_name("sqlite", sqlite_tests, sqlite_setup, sqlite_teardown);
    failed += cmocka_run_group_tests_name("postgres", pg_tests, pg_setup, NULL);
    return failed;
}
