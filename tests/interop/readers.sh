#!/usr/bin/env bash
# The three interop readers agree with each other on apache/parquet-testing
# files (every physical and logical type, codec, encoding and nesting those
# files cover): a check on the canonical form the matrix relies on.
. "$(dirname "$0")/../lib.sh"
HERE=$ROOT/tests/interop
TD=$PQF_SHARED/testdata/parquet-testing
if [ ! -d "$TD" ]; then skip "parquet-testing files" "not found at $TD"; done_testing; exit 0; fi
if [ ! -d "$HERE/node_modules" ]; then not_ok "npm modules in tests/interop (run scripts/deps.sh)"; done_testing; exit 1; fi
files=()
for f in alltypes_plain alltypes_dictionary alltypes_plain.snappy alltypes_tiny_pages nested_lists.snappy \
    nested_structs.rust nested_maps.snappy list_columns null_list nullable.impala nonnullable.impala \
    byte_array_decimal fixed_length_decimal int32_decimal int64_decimal datapage_v2.snappy \
    delta_binary_packed delta_byte_array delta_length_byte_array delta_encoding_optional_column \
    delta_encoding_required_column byte_stream_split.zstd byte_stream_split_extended.gzip \
    lz4_raw_compressed lz4_raw_compressed_larger nan_in_stats int32_with_null_pages rle_boolean_encoding \
    single_nan data_index_bloom_encoding_stats fixed_length_byte_array int96_from_spark binary \
    plain-dict-uncompressed-checksum datapage_v1-snappy-compressed-checksum page_v2_empty_compressed \
    repeated_no_annotation; do
    [ -f "$TD/$f.parquet" ] && files+=("$TD/$f.parquet")
done
node "$HERE/agree.mjs" "${files[@]}" >"$T/agree.out" 2>"$T/agree.err"
rc=$?
while IFS=$'\t' read -r status desc rest; do
    case $status in
    ok) ok "$desc" ;;
    skip) skip "$desc" "$rest" ;;
    not_ok) diags=(); IFS=$'\t' read -r -a diags <<<"$rest"; not_ok "$desc" "${diags[@]}" ;;
    esac
done <"$T/agree.out"
[ "$rc" -eq 0 ] || not_ok "agree.mjs exited with $rc" "$(tail -n 5 "$T/agree.err")"

# CRC32 of pages is checked: a file with corrupt checksums is caught.
if [ -f "$TD/datapage_v1-corrupt-checksum.parquet" ]; then
    node "$HERE/meta.mjs" "$TD/datapage_v1-corrupt-checksum.parquet" >"$T/meta.json" 2>&1
    check_grep "meta.mjs reports a corrupt page CRC" '"crc": "BAD"' "$T/meta.json"
    node "$HERE/meta.mjs" "$TD/datapage_v1-snappy-compressed-checksum.parquet" >"$T/meta2.json" 2>&1
    if grep -q '"crc": "BAD"' "$T/meta2.json"; then not_ok "meta.mjs accepts valid page CRCs"; else check_grep "meta.mjs accepts valid page CRCs" '"crc": "ok"' "$T/meta2.json"; fi
fi
# Bloom filter probing: a present value hits, an absent one misses.
if [ -f "$TD/data_index_bloom_encoding_stats.parquet" ]; then
    node "$HERE/meta.mjs" "$TD/data_index_bloom_encoding_stats.parquet" --probe String=Hello --probe String=nope >"$T/meta3.json" 2>&1
    check_grep "bloom filter probe finds a present value" '"Hello": true' "$T/meta3.json"
    check_grep "bloom filter probe misses an absent value" '"nope": false' "$T/meta3.json"
fi
done_testing
