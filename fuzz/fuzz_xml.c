/* Fuzz target: the streaming XML reader and the S3 response shapes built on
 * it, fed in two chunks split at a byte taken from the input. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool on_any(void *ud, const char *path, const char *text, size_t len)
{
    size_t *n = ud;
    *n += strlen(path) + (text ? len : 0);
    return *n < (1u << 30);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = 0;
    pqf_error err = {0};
    pqf__xml_parse(data, size, on_any, on_any, &n, &err);
    if (size > 1) {
        size_t cut = data[0] % size;
        pqf__xml *x = NULL;
        if (pqf__xml_new(on_any, on_any, &n, &x, &err) == PQF_OK) {
            if (pqf__xml_feed(x, data, cut, false, &err) == PQF_OK)
                pqf__xml_feed(x, data + cut, size - cut, true, &err);
            pqf__xml_free(x);
        }
    }
    return 0;
}
