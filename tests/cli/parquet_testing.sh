#!/usr/bin/env bash
# What pqfeed reads from each file of Apache parquet-testing
# ($PQF_SHARED/testdata/parquet-testing, i.e. ../shared from the repo):
# row count, number of leaf columns and whether `parquet validate` passes,
# values against *_expect.csv where the corpus ships them, selected values
# checked by hand against the corpus's .md descriptions, and the clear errors
# for encrypted, corrupt-checksum and malformed files. Files in the folder
# that this table does not know fail the suite, so a corpus update is seen.
. "$(dirname "$0")/../lib.sh"
D=$PQF_SHARED/testdata/parquet-testing
if [ ! -d "$D" ]; then
    skip "parquet-testing corpus" "$D is absent (expected at ../shared/testdata/parquet-testing)"
    done_testing
    exit 0
fi

# file rows leaf_columns validate_exit
read -r -d '' TABLE <<'T'
alltypes_dictionary.parquet 2 11 0
alltypes_plain.parquet 8 11 0
alltypes_plain.snappy.parquet 2 11 0
alltypes_tiny_pages.parquet 7300 13 0
alltypes_tiny_pages_plain.parquet 7300 13 0
binary.parquet 12 1 0
binary_truncated_min_max.parquet 12 6 0
byte_array_decimal.parquet 24 1 0
byte_stream_split.zstd.parquet 300 2 0
byte_stream_split_extended.gzip.parquet 200 14 0
column_chunk_key_value_metadata.parquet 0 2 0
concatenated_gzip_members.parquet 513 1 0
data_index_bloom_encoding_stats.parquet 14 1 0
data_index_bloom_encoding_with_length.parquet 14 1 0
datapage_v1-snappy-compressed-checksum.parquet 5120 2 0
datapage_v1-uncompressed-checksum.parquet 5120 2 0
datapage_v2.snappy.parquet 5 5 0
datapage_v2_empty_datapage.snappy.parquet 1 1 0
delta_binary_packed.parquet 200 66 0
delta_byte_array.parquet 1000 9 0
delta_encoding_optional_column.parquet 100 17 0
delta_encoding_required_column.parquet 100 17 0
delta_length_byte_array.parquet 1000 1 0
dict-page-offset-zero.parquet 39 1 0
fixed_length_byte_array.parquet 1000 1 0
fixed_length_decimal.parquet 24 1 0
fixed_length_decimal_legacy.parquet 24 1 0
float16_nonzeros_and_nans.parquet 8 1 0
float16_zeros_and_nans.parquet 3 1 0
floating_orders_nan_count.parquet 50 6 0
hadoop_lz4_compressed.parquet 4 3 0
hadoop_lz4_compressed_larger.parquet 10000 1 0
incorrect_map_schema.parquet 1 2 0
int32_decimal.parquet 24 1 0
int32_with_null_pages.parquet 1000 1 0
int64_decimal.parquet 24 1 0
int96_from_spark.parquet 6 1 0
list_columns.parquet 3 2 0
lz4_raw_compressed.parquet 4 3 0
lz4_raw_compressed_larger.parquet 10000 1 0
map_no_value.parquet 3 4 0
nan_in_stats.parquet 2 1 0
nested_lists.snappy.parquet 3 2 0
nested_maps.snappy.parquet 6 5 0
nested_structs.rust.parquet 1 216 0
non_hadoop_lz4_compressed.parquet 4 3 0
nonnullable.impala.parquet 1 13 0
null_list.parquet 1 1 0
nullable.impala.parquet 7 13 0
nulls.snappy.parquet 8 1 0
old_list_structure.parquet 1 1 0
overflow_i16_page_cnt.parquet 40000 1 0
page_v2_empty_compressed.parquet 10 1 0
plain-dict-uncompressed-checksum.parquet 1000 2 0
repeated_no_annotation.parquet 6 3 5
repeated_primitive_no_list.parquet 4 4 0
rle-dict-snappy-checksum.parquet 1000 2 0
rle_boolean_encoding.parquet 68 1 0
single_nan.parquet 1 1 0
sort_columns.parquet 6 2 0
unknown-logical-type.parquet 3 2 0
geospatial/crs-arbitrary-value.parquet 1 2 0
geospatial/crs-default.parquet 1 2 0
geospatial/crs-geography.parquet 1 2 0
geospatial/crs-projjson.parquet 1 2 0
geospatial/crs-srid.parquet 1 2 0
geospatial/geography-lines.parquet 499 2 0
geospatial/geography-points.parquet 500 2 0
geospatial/geography-polygons.parquet 500 2 0
geospatial/geospatial-with-nan.parquet 3 3 0
geospatial/geospatial.parquet 196 3 0
T

leaves() { # FILE: leaf column count from inspect --json
    "$PQF" parquet inspect --json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def c(n): return sum(c(x) for x in n["children"]) if "children" in n else 1
print(c(d["schema"]))'
}

declare -A known
while read -r f rows nleaf vexit; do
    [ -n "$f" ] || continue
    known[$f]=1
    p=$D/$f
    if [ ! -f "$p" ]; then not_ok "$f: present in the corpus"; continue; fi
    got=$("$PQF" parquet cat "$p" 2>"$T/err" | wc -l)
    check_eq "$f: cat gives $rows rows" "$got" "$rows"
    check_eq "$f: schema has $nleaf leaf columns" "$(leaves "$p" 2>&1)" "$nleaf"
    check_exit "$f: validate exits $vexit" "$vexit" "$PQF" parquet validate "$p"
done <<<"$TABLE"

# repeated_no_annotation's footer says num_rows 0 while its row group holds 6.
"$PQF" parquet validate "$D/repeated_no_annotation.parquet" >"$T/last.out" 2>&1
check_grep "repeated_no_annotation: validate names the row count" "footer says 0 rows, row groups hold 6" "$T/last.out"

# Values against the corpus's expected CSVs.
for e in "$D"/*_expect.csv; do
    b=$(basename "$e" _expect.csv)
    known[$b.parquet]=${known[$b.parquet]:-0}
    "$PQF" parquet cat "$D/$b.parquet" --format csv >"$T/$b.csv" 2>"$T/err"
    if python3 - "$e" "$T/$b.csv" <<'PY'
import csv, sys
exp = list(csv.reader(open(sys.argv[1])))
got = list(csv.reader(open(sys.argv[2])))
ok = len(exp) == len(got) and exp[1:] == got[1:] and len(exp[0]) == len(got[0])
if not ok:
    for i, (a, b) in enumerate(zip(exp, got)):
        if i and a != b:
            print("# row", i, "want", a[:6], "got", b[:6]); break
    print("# rows want", len(exp), "got", len(got))
sys.exit(0 if ok else 1)
PY
    then ok "$b: every value equals ${b}_expect.csv"; else not_ok "$b: every value equals ${b}_expect.csv"; fi
done

# Values checked by hand against the corpus's descriptions.
cat_eq() { # DESC FILE WANT [ARGS...]
    local desc=$1 f=$2 want=$3; shift 3
    check_eq "$desc" "$("$PQF" parquet cat "$D/$f" "$@" 2>&1)" "$want"
}
cat_eq "int96_from_spark: INT96 timestamps (first four; the fifth is null)" int96_from_spark.parquet \
    '{"a":"2024-01-01T20:34:56.123456"}
{"a":"2024-01-01T01:00:00"}
{"a":"9999-12-31T03:00:00"}
{"a":"2024-12-30T23:00:00"}
{"a":null}' --limit 5
cat_eq "nested_lists: three-level nested lists with a null inner list" nested_lists.snappy.parquet \
    '{"a":[[["a","b"],["c"]],[null,["d"]]],"b":1}' --limit 1
cat_eq "old_list_structure: legacy 2-level list of 'array' groups" old_list_structure.parquet \
    '{"a":[{"array":[1,2]},{"array":[3,4]}]}'
check_eq "repeated_no_annotation: bare repeated group inside an optional struct" \
    "$("$PQF" parquet cat "$D/repeated_no_annotation.parquet" | sed -n '3p;6p')" \
    '{"id":3,"phoneNumbers":{"phone":[]}}
{"id":6,"phoneNumbers":{"phone":[{"number":1111111111,"kind":"home"},{"number":2222222222,"kind":null},{"number":3333333333,"kind":"mobile"}]}}'
check_eq "map_no_value: a MAP whose key_value has no value" \
    "$("$PQF" parquet cat "$D/map_no_value.parquet" --columns my_map_no_v,my_list --limit 1)" \
    '{"my_map_no_v":{"1":null,"2":null,"3":null},"my_list":[1,2,3]}'
cat_eq "alltypes_plain: projection, CSV and timestamps" alltypes_plain.parquet \
    'id,bool_col,timestamp_col
4,true,2009-03-01T00:00:00
5,false,2009-03-01T00:01:00' --columns id,bool_col,timestamp_col --format csv --limit 2
cat_eq "int32_decimal: DECIMAL(4,2) on INT32, exact" int32_decimal.parquet '{"value":1.00}' --limit 1
cat_eq "fixed_length_decimal: DECIMAL(25,2) on FLBA, exact" fixed_length_decimal.parquet '{"value":1.00}' --limit 1
cat_eq "byte_array_decimal: DECIMAL on BYTE_ARRAY, exact" byte_array_decimal.parquet '{"value":1.00}' --limit 1
cat_eq "nulls.snappy: a struct of all nulls" nulls.snappy.parquet '{"b_struct":{"b_c_int":null}}' --limit 1

# Encrypted files: a clear error, exit code of PQF_ERR_UNSUPPORTED (7).
for p in "$D"/*.parquet.encrypted "$D"/aes256/*.parquet.encrypted; do
    [ -f "$p" ] || continue
    f=${p#"$D"/}; known[$f]=1
    check_exit "$f: encrypted files are refused" 7 "$PQF" parquet cat "$p"
    check_grep "$f: the message says encrypted, not supported" "encrypted, not supported" "$T/last.out"
done

# Corrupt page checksums: PQF_ERR_CHECKSUM (6) naming row group, column and page.
known[datapage_v1-corrupt-checksum.parquet]=1
check_exit "datapage_v1-corrupt-checksum: cat fails with the checksum code" 6 "$PQF" parquet cat "$D/datapage_v1-corrupt-checksum.parquet"
check_grep "datapage_v1-corrupt-checksum: message names row group, column and page" "row group 0, column a, page 0: page CRC mismatch" "$T/last.out"
check_exit "datapage_v1-corrupt-checksum: validate fails with the checksum code" 6 "$PQF" parquet validate "$D/datapage_v1-corrupt-checksum.parquet"
known[rle-dict-uncompressed-corrupt-checksum.parquet]=1
check_exit "rle-dict-uncompressed-corrupt-checksum: the dictionary page CRC is caught" 6 "$PQF" parquet cat "$D/rle-dict-uncompressed-corrupt-checksum.parquet"
check_grep "rle-dict-uncompressed-corrupt-checksum: message names the dictionary page" "row group 0, column long_field, dictionary page: dictionary page CRC mismatch" "$T/last.out"

# Malformed or oversized on purpose: clean errors.
known[nation.dict-malformed.parquet]=1
check_exit "nation.dict-malformed: corrupt data (exit 5)" 5 "$PQF" parquet cat "$D/nation.dict-malformed.parquet"
check_grep "nation.dict-malformed: message names the page" "row group 0, column name, page 0" "$T/last.out"
known[large_string_map.brotli.parquet]=1
check_exit "large_string_map.brotli: a 2 GiB page hits the page cap (exit 8), no allocation" 8 "$PQF" parquet cat "$D/large_string_map.brotli.parquet"

# Inspect works on every readable file and its JSON parses.
known[inspect]=1
bad=
while read -r f _; do
    [ -n "$f" ] || continue
    "$PQF" parquet inspect --json "$D/$f" | python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null || bad="$bad $f"
    "$PQF" parquet inspect "$D/$f" >/dev/null 2>&1 || bad="$bad $f(text)"
done <<<"$TABLE"
check_eq "inspect (text and --json) works on every readable corpus file" "$bad" ""
check_grep "inspect shows column chunk key-value metadata" "thisiskeywithoutvalue" <("$PQF" parquet inspect "$D/column_chunk_key_value_metadata.parquet")
"$PQF" parquet inspect "$D/data_index_bloom_encoding_stats.parquet" >"$T/i.txt"
check_grep "inspect shows bloom filter presence" "bloom filter: yes" "$T/i.txt"
"$PQF" parquet inspect "$D/alltypes_tiny_pages.parquet" >"$T/i.txt"
check_grep "inspect shows page index presence" "column index \+ offset index" "$T/i.txt"

# Every file in the corpus folder has a statement above.
unknown=
while IFS= read -r p; do
    f=${p#"$D"/}
    [ -n "${known[$f]:-}" ] || unknown="$unknown $f"
done < <(find "$D" -name '*.parquet' -o -name '*.parquet.encrypted' | sort)
check_eq "every corpus file is covered by a test" "$unknown" ""
done_testing
