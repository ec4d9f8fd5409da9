/* Fuzz target: the streaming NDJSON shredder against the tree path, on
 * arbitrary NDJSON. Both read the same bytes with one schema (nested structs,
 * lists, a JSON column, decimals, timestamps, strings) into in-memory Parquet;
 * they must agree: both fail with the same code and message (for a record
 * with several value errors, the same file:line: prefix), or both succeed
 * with the same bytes. The first byte picks options (ignored fields, a small
 * read buffer so lines cross refills, small depth and string caps). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqfeed/pqfeed.h"
#include "pqfeed/source.h"
#include "source/source_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char schema_json[] =
    "{\"columns\": ["
    "{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false},"
    "{\"name\": \"s\", \"type\": \"string\"},"
    "{\"name\": \"b\", \"type\": \"bool\"},"
    "{\"name\": \"d\", \"type\": \"decimal(10,2)\"},"
    "{\"name\": \"f\", \"type\": \"double\"},"
    "{\"name\": \"t\", \"type\": \"timestamp_us\"},"
    "{\"name\": \"u\", \"type\": \"uuid\"},"
    "{\"name\": \"l\", \"type\": {\"list\": \"string\"}},"
    "{\"name\": \"n\", \"type\": {\"list\": {\"type\": \"int32\", \"nullable\": false}}},"
    "{\"name\": \"o\", \"type\": {\"struct\": ["
    "  {\"name\": \"a\", \"type\": \"int32\"},"
    "  {\"name\": \"r\", \"type\": \"int64\", \"nullable\": false},"
    "  {\"name\": \"p\", \"type\": {\"struct\": [{\"name\": \"c\", \"type\": \"string\"}]}}"
    "]}},"
    "{\"name\": \"j\", \"type\": \"json\"}"
    "]}";

typedef struct {
    pqf_err rc;
    char msg[PQF_ERROR_MSG_MAX];
    uint8_t *bytes;
    size_t len;
    uint64_t rows;
} outcome;

static void run(const uint8_t *data, size_t size, const pqf_schema *s, const pqf_source_opts *o,
                bool tree, outcome *out)
{
    pqf_error err = {0};
    pqf_source *src = NULL;
    pqf_ostream *os = NULL;
    pqf_writer *w = NULL;
    memset(out, 0, sizeof *out);
    out->rc = pqf__source_open_mem(data, size, "fuzz.ndjson", tree, s, o, &src, &err);
    if (out->rc == PQF_OK)
        out->rc = pqf_ostream_mem(64u << 20, &os, &err);
    if (out->rc == PQF_OK)
        out->rc = pqf_writer_create(s, os, NULL, &w, &err);
    if (out->rc != PQF_OK) {
        snprintf(out->msg, sizeof out->msg, "%s", err.msg);
        goto done;
    }
    out->rc = pqf_source_run(src, w, &out->rows);
    if (out->rc != PQF_OK) {
        snprintf(out->msg, sizeof out->msg, "%s", pqf_source_error(src)->msg);
        goto done;
    }
    out->rc = pqf_writer_close(w);
    if (out->rc == PQF_OK) {
        size_t n = 0;
        const uint8_t *b = pqf_ostream_mem_data(os, &n);
        out->bytes = malloc(n ? n : 1);
        if (!out->bytes)
            abort();
        memcpy(out->bytes, b, n);
        out->len = n;
    } else {
        snprintf(out->msg, sizeof out->msg, "%s", pqf_writer_error(w)->msg);
    }
done:
    pqf_writer_free(w);
    pqf_ostream_free(os);
    pqf_source_free(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pqf_schema *s;
    if (!s) {
        pqf_error err = {0};
        if (pqf_schema_from_json(schema_json, strlen(schema_json), "fuzz", &s, &err) != PQF_OK)
            abort();
    }
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    pqf_source_opts o;
    pqf_source_opts_init(&o);
    o.format = PQF_FORMAT_NDJSON;
    o.ignore_unknown = (mode & 1) != 0;
    o.buffer_bytes = (mode & 2) ? 16 : 4096;
    o.max_record_bytes = 1u << 16;
    o.max_depth = (mode & 4) ? 4 : 0;
    o.max_string_bytes = (mode & 8) ? 8 : 0;
    outcome a, b;
    run(data + 1, size - 1, s, &o, false, &a);
    run(data + 1, size - 1, s, &o, true, &b);
    /* A record with two value errors may report either: the stream meets them
     * in the record's order, the tree in the schema's. The line must agree. */
    size_t pa = strcspn(a.msg, " "), pb = strcspn(b.msg, " ");
    bool msg_ok = a.rc == PQF_ERR_VALUE ? pa == pb && memcmp(a.msg, b.msg, pa) == 0
                                        : strcmp(a.msg, b.msg) == 0;
    if (a.rc != b.rc || !msg_ok || a.rows != b.rows || a.len != b.len ||
        (a.len && memcmp(a.bytes, b.bytes, a.len) != 0)) {
        fprintf(stderr, "streamed: %d %s (%llu rows, %zu bytes)\ntree:     %d %s (%llu rows, %zu bytes)\n",
                (int)a.rc, a.msg, (unsigned long long)a.rows, a.len, (int)b.rc, b.msg,
                (unsigned long long)b.rows, b.len);
        abort();
    }
    free(a.bytes);
    free(b.bytes);
    return 0;
}
