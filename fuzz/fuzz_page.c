/* Fuzz target: page decoders. The first byte picks the decoder and the
 * physical type, the second a bit width or fixed length, the rest is the
 * encoded data; the value count comes from the input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "parquet/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NMAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    int which = data[0] % 9;
    pqf_physical t = (pqf_physical)((data[0] >> 4) % 8);
    int param = data[1];
    size_t n = ((size_t)data[2] << 8 | data[3]) % NMAX;
    const uint8_t *p = data + 4;
    size_t len = size - 4;
    pqf_error err = {0};
    size_t used, cnt;
    static uint8_t out[NMAX * 16];
    static uint32_t idx[NMAX * 2];
    static int16_t lev[NMAX];
    pqf__buf mem;
    pqf__buf_init(&mem, 1u << 22);
    switch (which) {
    case 0: {
        pqf__rle r;
        if (pqf__rle_init(&r, p, len, param % 40, &err) == PQF_OK)
            (void)pqf__rle_get(&r, idx, n, &err);
        break;
    }
    case 1: {
        pqf__rle r;
        if (pqf__rle_init(&r, p, len, param % 17, &err) == PQF_OK)
            (void)pqf__rle_levels(&r, lev, n, (int16_t)param, &err);
        break;
    }
    case 2:
        (void)pqf__bitpacked_levels(p, len, param % 20, lev, n, (int16_t)param, &used, &err);
        break;
    case 3:
        (void)pqf__plain_decode(t, param, p, len, out, n, &used, &err);
        break;
    case 4: {
        /* dictionary of the first values (plain), indices after */
        size_t half = len / 2;
        static uint8_t dict[NMAX * 16];
        size_t nd = (size_t)param % 64;
        if (pqf__plain_decode(t, 4, p, half, dict, nd, &used, &err) == PQF_OK)
            (void)pqf__dict_decode(t, dict, (uint32_t)nd, p + half, len - half, idx, out, n, &err);
        break;
    }
    case 5:
        (void)pqf__delta_binary_decode(p, len, param & 1, out, n, &cnt, &used, &err);
        break;
    case 6:
        (void)pqf__delta_length_decode(p, len, (pqf_byteview *)out, n % 1024, (int32_t *)idx,
                                       &used, &err);
        break;
    case 7:
        (void)pqf__delta_byte_array_decode(p, len, param % 5, (pqf_byteview *)out, n % 1024,
                                           (int32_t *)idx, &mem, &err);
        break;
    case 8:
        (void)pqf__byte_stream_split_decode(t, param % 16, p, len, out, n % 1024, &mem, &err);
        break;
    }
    pqf__buf_free(&mem);
    return 0;
}
