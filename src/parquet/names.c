/* Names of Parquet enums, for the CLI, messages and JSON. */
#include <strings.h>

#include "base/base.h"
#include "pqfeed/schema.h"
#include "pqfeed/writer.h"

const char *pqf_physical_name(pqf_physical t)
{
    static const char *const names[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                        "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return (unsigned)t < PQF_ARRAY_LEN(names) ? names[t] : "UNKNOWN_TYPE";
}

const char *pqf_logical_name(pqf_logical_kind k)
{
    static const char *const names[] = {"NONE", "STRING",  "ENUM", "JSON",      "BSON",
                                        "UUID", "DATE",    "TIME", "TIMESTAMP", "DECIMAL",
                                        "INT",  "FLOAT16", "LIST", "MAP",       "UNKNOWN"};
    return (unsigned)k < PQF_ARRAY_LEN(names) ? names[k] : "INVALID";
}

static const struct {
    const char *name;
    pqf_codec codec;
} codec_names[] = {
    {"uncompressed", PQF_CODEC_UNCOMPRESSED},
    {"none", PQF_CODEC_UNCOMPRESSED},
    {"snappy", PQF_CODEC_SNAPPY},
    {"gzip", PQF_CODEC_GZIP},
    {"lzo", PQF_CODEC_LZO},
    {"brotli", PQF_CODEC_BROTLI},
    {"lz4_hadoop", PQF_CODEC_LZ4},
    {"zstd", PQF_CODEC_ZSTD},
    {"lz4_raw", PQF_CODEC_LZ4_RAW},
    {"lz4raw", PQF_CODEC_LZ4_RAW},
    /* As in DuckDB and Arrow's option names, "lz4" means the raw block format. */
    {"lz4", PQF_CODEC_LZ4_RAW},
};

pqf_err pqf_codec_from_name(const char *name, pqf_codec *out)
{
    if (!name)
        return PQF_ERR_INVALID_ARG;
    for (size_t i = 0; i < PQF_ARRAY_LEN(codec_names); i++) {
        if (strcasecmp(name, codec_names[i].name) == 0) {
            if (codec_names[i].codec == PQF_CODEC_LZO || codec_names[i].codec == PQF_CODEC_LZ4)
                return PQF_ERR_UNSUPPORTED;
            *out = codec_names[i].codec;
            return PQF_OK;
        }
    }
    return PQF_ERR_INVALID_ARG;
}

const char *pqf_codec_name(pqf_codec c)
{
    switch (c) {
    case PQF_CODEC_UNCOMPRESSED:
        return "uncompressed";
    case PQF_CODEC_SNAPPY:
        return "snappy";
    case PQF_CODEC_GZIP:
        return "gzip";
    case PQF_CODEC_LZO:
        return "lzo";
    case PQF_CODEC_BROTLI:
        return "brotli";
    case PQF_CODEC_LZ4:
        return "lz4_hadoop";
    case PQF_CODEC_ZSTD:
        return "zstd";
    case PQF_CODEC_LZ4_RAW:
        return "lz4_raw";
    }
    return "unknown";
}

static const struct {
    const char *name;
    pqf_encoding enc;
} enc_names[] = {
    {"auto", PQF_ENC_AUTO},
    {"plain", PQF_ENC_PLAIN},
    {"plain_dictionary", PQF_ENC_PLAIN_DICTIONARY},
    {"rle", PQF_ENC_RLE},
    {"bit_packed", PQF_ENC_BIT_PACKED},
    {"delta_binary_packed", PQF_ENC_DELTA_BINARY_PACKED},
    {"delta", PQF_ENC_DELTA_BINARY_PACKED},
    {"delta_length_byte_array", PQF_ENC_DELTA_LENGTH_BYTE_ARRAY},
    {"delta_byte_array", PQF_ENC_DELTA_BYTE_ARRAY},
    {"rle_dictionary", PQF_ENC_RLE_DICTIONARY},
    {"dictionary", PQF_ENC_RLE_DICTIONARY},
    {"dict", PQF_ENC_RLE_DICTIONARY},
    {"byte_stream_split", PQF_ENC_BYTE_STREAM_SPLIT},
};

pqf_err pqf_encoding_from_name(const char *name, pqf_encoding *out)
{
    if (!name)
        return PQF_ERR_INVALID_ARG;
    for (size_t i = 0; i < PQF_ARRAY_LEN(enc_names); i++) {
        if (strcasecmp(name, enc_names[i].name) == 0) {
            *out = enc_names[i].enc;
            return PQF_OK;
        }
    }
    return PQF_ERR_INVALID_ARG;
}

const char *pqf_encoding_name(pqf_encoding e)
{
    switch (e) {
    case PQF_ENC_PLAIN:
        return "PLAIN";
    case PQF_ENC_PLAIN_DICTIONARY:
        return "PLAIN_DICTIONARY";
    case PQF_ENC_RLE:
        return "RLE";
    case PQF_ENC_BIT_PACKED:
        return "BIT_PACKED";
    case PQF_ENC_DELTA_BINARY_PACKED:
        return "DELTA_BINARY_PACKED";
    case PQF_ENC_DELTA_LENGTH_BYTE_ARRAY:
        return "DELTA_LENGTH_BYTE_ARRAY";
    case PQF_ENC_DELTA_BYTE_ARRAY:
        return "DELTA_BYTE_ARRAY";
    case PQF_ENC_RLE_DICTIONARY:
        return "RLE_DICTIONARY";
    case PQF_ENC_BYTE_STREAM_SPLIT:
        return "BYTE_STREAM_SPLIT";
    case PQF_ENC_AUTO:
        return "AUTO";
    }
    return "UNKNOWN";
}
