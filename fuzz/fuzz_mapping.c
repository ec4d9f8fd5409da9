/* Fuzz target: mapping files (src/source/mapping.c). The input is a mapping,
 * optionally followed by a line "%%" and one JSON record. A mapping that
 * parses is bound to a fixed schema and also left unbound, and each plan is
 * applied to a few fixed records and the input's own record. Invariants: a failure
 * names why and returns nothing; an applied record is an object whose
 * members each have a key; every plan and mapping is freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pqfeed/mapping.h"
#include "pqfeed/source.h"
#include "source/json.h"
#include "source/mapping.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char schema_json[] =
    "{\"columns\": [{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false},"
    "{\"name\": \"name\", \"type\": \"string\"}, {\"name\": \"n\", \"type\": \"int32\"},"
    "{\"name\": \"ok\", \"type\": \"bool\"}, {\"name\": \"amount\", \"type\": \"decimal(9,2)\"},"
    "{\"name\": \"at\", \"type\": \"timestamp_us\"}, {\"name\": \"day\", \"type\": \"date\"},"
    "{\"name\": \"tags\", \"type\": {\"list\": \"string\"}},"
    "{\"name\": \"a\", \"type\": {\"struct\": [{\"name\": \"b\", \"type\": \"string\"}]}},"
    "{\"name\": \"_unknown\", \"type\": \"json\"}]}";

static const char *const records[] = {
    "{\"id\":1,\"name\":\"x\",\"n\":\"5\",\"ok\":\"true\",\"amount\":\"1.5\",\"at\":\"2024-01-01T00:00:00Z\","
    "\"day\":\"2024-01-01\",\"tags\":[\"a\"],\"a\":{\"b\":\"c\",\"d\":{\"e\":[1,{\"f\":null}]}},\"zz\":1}",
    "{}",
    "{\"a\":null,\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{}}}}},\"n\":1.5e300,\"ok\":7,\"at\":[],\"id\":\"q\"}",
};

static void check_plan(const pqf_mapping *m, const pqf_schema *s, const char *rec, size_t rec_len)
{
    pqf__mapplan *p = NULL;
    pqf_error err = {0};
    if (pqf__mapplan_create(m, s, false, &p, &err) != PQF_OK) {
        if (!err.msg[0] || p)
            abort();
        return;
    }
    pqf__json_doc d;
    pqf__json_doc_init(&d, NULL);
    size_t nfixed = sizeof records / sizeof records[0];
    for (size_t i = 0; i < nfixed + (rec != NULL); i++) {
        pqf__json *v = NULL;
        const pqf__json *o = NULL;
        pqf__json_doc_reset(&d);
        if (i == nfixed) {
            if (pqf__json_parse(&d, rec, rec_len, &v) != PQF_OK || v->type != PQF__JOBJ)
                break;
        } else if (pqf__json_parse(&d, records[i], strlen(records[i]), &v) != PQF_OK) {
            abort();
        }
        memset(&err, 0, sizeof err);
        if (pqf__mapplan_apply(p, v, "fuzz.ndjson", 1, i + 1, &o, &err) != PQF_OK) {
            if (!err.msg[0])
                abort();
            continue;
        }
        if (!o || o->type != PQF__JOBJ)
            abort();
        uint32_t n = 0;
        for (const pqf__json *c = o->child; c; c = c->next, n++)
            if (!c->key)
                abort();
        if (n != o->len)
            abort();
    }
    pqf__json_doc_free(&d);
    pqf__mapplan_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pqf_schema *schema;
    pqf_error err = {0};
    if (!schema &&
        pqf_schema_from_json(schema_json, strlen(schema_json), "fuzz.schema.json", &schema, &err) != PQF_OK)
        abort();
    const char *text = (const char *)data, *rec = NULL;
    size_t len = size, rec_len = 0;
    for (size_t i = 0; i + 4 <= size; i++)
        if (memcmp(data + i, "\n%%\n", 4) == 0) {
            len = i + 1;
            rec = text + i + 4;
            rec_len = size - i - 4;
            break;
        }
    pqf_mapping *m = NULL;
    if (pqf_mapping_parse("fuzz.yaml", text, len, &m, &err) != PQF_OK) {
        if (!err.msg[0] || m)
            abort();
        return 0;
    }
    if (strlen(pqf_mapping_digest(m)) != 64)
        abort();
    check_plan(m, schema, rec, rec_len);
    check_plan(m, NULL, rec, rec_len);
    pqf_mapping_free(m);
    return 0;
}
