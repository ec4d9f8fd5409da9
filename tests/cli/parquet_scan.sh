#!/usr/bin/env bash
# pqfeed parquet scan: decodes every value of the chosen columns without
# printing rows; per column the value and null counts and sums (integers,
# true count, byte lengths), then rows, time and rows/s.
. "$(dirname "$0")/../lib.sh"
D=$PQF_SHARED/testdata/parquet-testing

cat >"$T/s.json" <<'J'
{"columns": [
  {"name": "id", "type": "int64", "nullable": false},
  {"name": "n", "type": "int32"},
  {"name": "ok", "type": "bool", "nullable": false},
  {"name": "s", "type": "string"},
  {"name": "tags", "type": {"list": "string"}}
]}
J
printf '%s\n' '{"id":1,"n":-5,"ok":true,"s":"ab","tags":["x","yz"]}' \
    '{"id":2,"n":null,"ok":false,"s":null,"tags":[]}' \
    '{"id":-10,"n":7,"ok":true,"s":"cdef","tags":null}' >"$T/in.ndjson"
for pv in 1 2; do
    "$PQF" convert "$T/in.ndjson" "$T/t$pv.parquet" --schema "$T/s.json" --page-version $pv >/dev/null
    "$PQF" parquet scan "$T/t$pv.parquet" >"$T/scan$pv.out"
    check_eq "scan (page v$pv): counts and sums of every column" "$(grep '^column' "$T/scan$pv.out" | sed 's/, hash [0-9a-f]*$//')" \
        'column id INT64: 3 values, 0 nulls, sum -7
column n INT32: 2 values, 1 nulls, sum 2
column ok BOOLEAN: 3 values, 0 nulls, 2 true
column s BYTE_ARRAY: 2 values, 1 nulls, 6 bytes
column tags.list.element BYTE_ARRAY: 2 values, 2 nulls, 3 bytes'
    check_grep "scan (page v$pv): the summary line has rows, time and rows/s" \
        '^scan: .*t[12]\.parquet: 3 rows, 1 row groups, 5 columns, [0-9.]+ s wall, [0-9.]+ s CPU, [0-9]+ rows/s \(wall\), [0-9]+ rows/s \(CPU\)$' "$T/scan$pv.out"
done
check_eq "scan: the byte hash does not depend on the page version" \
    "$(grep '^column' "$T/scan1.out")" "$(grep '^column' "$T/scan2.out")"
"$PQF" parquet scan "$T/t1.parquet" --columns id,tags >"$T/cols.out"
check_eq "scan --columns: top-level names, every leaf under them" "$(grep -c '^column' "$T/cols.out") $(grep -c '^column tags.list.element' "$T/cols.out")" "2 1"
check_grep "scan --columns: the summary counts the chosen columns" ', 2 columns,' "$T/cols.out"
check_exit "scan --columns: an unknown column is a usage error" 2 "$PQF" parquet scan "$T/t1.parquet" --columns nope
check_exit "scan: a missing file fails with the not-found code" 9 "$PQF" parquet scan "$T/absent.parquet"

if [ -d "$D" ]; then
    bad=
    for f in alltypes_plain.parquet alltypes_tiny_pages.parquet delta_byte_array.parquet \
        byte_stream_split_extended.gzip.parquet nested_maps.snappy.parquet datapage_v2.snappy.parquet \
        hadoop_lz4_compressed_larger.parquet rle_boolean_encoding.parquet int96_from_spark.parquet; do
        "$PQF" parquet scan "$D/$f" >"$T/c.out" 2>&1 || bad="$bad $f"
    done
    check_eq "scan reads corpus files of every encoding and codec" "$bad" ""
    check_eq "scan: alltypes_plain id column" "$("$PQF" parquet scan "$D/alltypes_plain.parquet" --columns id | head -1)" \
        'column id INT32: 8 values, 0 nulls, sum 28'
    check_exit "scan: a corrupt page checksum fails with the checksum code" 6 \
        "$PQF" parquet scan "$D/datapage_v1-corrupt-checksum.parquet"
    check_grep "scan: the message names row group, column and page" "row group 0, column a, page 0" "$T/last.out"
else
    skip "scan on the parquet-testing corpus" "$D is absent"
fi
done_testing
