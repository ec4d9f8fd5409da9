/* Fuzz target: the contract parser (pqf__contract_parse: the YAML tree, keys,
 * type names with nested list<>/struct<> parsed and canonicalised, checks and
 * their regexes), then every parsed table checked against a fixed schema with
 * nested columns (the type matcher) and keys compared. A contract it accepts
 * must hold only canonical types: parsing a column's type again gives it back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed/contract_impl.h"
#include "pqfeed/contract.h"
#include "pqfeed/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char schema_json[] =
    "{\"columns\": ["
    "{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false},"
    "{\"name\": \"amount\", \"type\": \"decimal(18,2)\"},"
    "{\"name\": \"at\", \"type\": \"timestamp_ms\", \"utc\": false},"
    "{\"name\": \"tags\", \"type\": {\"list\": \"string\"}},"
    "{\"name\": \"a\", \"type\": {\"struct\": [{\"name\": \"id\", \"type\": \"int32\"},"
    "  {\"name\": \"l\", \"type\": {\"list\": {\"struct\": [{\"name\": \"x\", \"type\": \"double\"}]}}}]}}"
    "]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pqf_schema *s;
    pqf_contract *c = NULL;
    pqf_error err = {0};
    if (!s && pqf_schema_from_json(schema_json, strlen(schema_json), "fuzz", &s, &err) != PQF_OK)
        abort();
    if (pqf__contract_parse("fuzz.yaml", (const char *)data, size, &c, &err) != PQF_OK) {
        if (c || !err.msg[0])
            abort(); /* a failure names why and returns nothing */
        return 0;
    }
    if (!c || c->ntables == 0)
        abort();
    for (size_t i = 0; i < c->ntables; i++) {
        const pqf_contract_table *t = &c->tables[i];
        pqf_column_check *ck = calloc(t->ncolumns + 1, sizeof *ck);
        if (!ck)
            abort();
        size_t bad = pqf_contract_check_schema(t, s, ck);
        size_t n = 0;
        for (size_t j = 0; j < t->ncolumns; j++) {
            n += ck[j].status != PQF_COLUMN_OK;
            if (!t->columns[j].name || !t->columns[j].type)
                abort();
            /* the stored type is canonical: it reads back as itself */
            char yaml[8192];
            pqf_contract *c2 = NULL;
            pqf_error e2 = {0};
            int w = snprintf(yaml, sizeof yaml,
                             "tables:\n  t:\n    columns:\n      - name: c\n        type: '%s'\n",
                             t->columns[j].type);
            if (w > 0 && (size_t)w < sizeof yaml && !strchr(t->columns[j].type, '\'')) {
                if (pqf__contract_parse("again.yaml", yaml, (size_t)w, &c2, &e2) != PQF_OK ||
                    strcmp(c2->tables[0].columns[0].type, t->columns[j].type) != 0)
                    abort();
                pqf_contract_free(c2);
            }
        }
        if (n != bad)
            abort();
        (void)pqf_contract_key_ok(t, "id");
        (void)pqf_contract_key_ok(t, NULL);
        (void)pqf_contract_table_find(c, t->name);
        free(ck);
    }
    pqf_contract_free(c);
    return 0;
}
