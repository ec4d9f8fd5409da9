#!/usr/bin/env bash
# pqfeed's reading of each apache/parquet-testing file, value by value,
# against DuckDB's (tests/interop/read.mjs duckdb), or, for the files DuckDB
# cannot read, against parquet-wasm (arrow-rs) or hyparquet. pqfeed's NDJSON
# is mapped to the canonical form of lib/canon.mjs by lib/pqfcanon.mjs; the
# other reader's rows are canonical already (lib/readers.mjs). Where readers
# legitimately disagree the difference is listed below with the reason, and
# only the cells concerned are left out. Files with *_expect.csv are also
# checked against those in tests/cli/parquet_testing.sh.
. "$(dirname "$0")/../lib.sh"
HERE=$ROOT/tests/interop
TD=$PQF_SHARED/testdata/parquet-testing
if [ ! -d "$TD" ]; then skip "parquet-testing files" "not found at $TD (../shared from the repo)"; done_testing; exit 0; fi
if [ ! -d "$HERE/node_modules/@duckdb/node-api" ]; then
    skip "DuckDB comparison" "tests/interop/node_modules/@duckdb/node-api missing (scripts/deps.sh installs it)"
    done_testing; exit 0
fi

# compare.mjs FILE PQFEED.ndjson OTHER.ndjson SKIP_COLUMNS SKIP_ROWS: prints
# the first differences and exits 1 if any cell differs.
cat >"$T/compare.mjs" <<JS
import { readFileSync } from 'node:fs'
import { describeFile, toArrayBuffer } from '$HERE/lib/readers.mjs'
import { canonPqfeedLine } from '$HERE/lib/pqfcanon.mjs'
const [file, mineFile, otherFile, skipCols = '', skipRows = ''] = process.argv.slice(2)
const { columns } = describeFile(toArrayBuffer(readFileSync(file)))
const lines = f => readFileSync(f, 'utf8').split('\n').filter(Boolean)
const mine = lines(mineFile).map(l => canonPqfeedLine(columns, l))
const other = lines(otherFile).map(l => { const o = JSON.parse(l); return columns.map(c => o[c.name]) })
const sc = new Set(skipCols.split(',').filter(Boolean)), sr = new Set(skipRows.split(',').filter(Boolean).map(Number))
const bad = []
if (mine.length !== other.length) bad.push('rows: pqfeed ' + mine.length + ', other ' + other.length)
for (let i = 0; i < Math.min(mine.length, other.length) && bad.length < 4; i++) {
  if (sr.has(i)) continue
  columns.forEach((c, k) => {
    if (sc.has(c.name) || bad.length >= 4) return
    const a = JSON.stringify(mine[i][k]), b = JSON.stringify(other[i][k])
    if (a !== b) bad.push('row ' + i + ' ' + c.name + ': pqfeed ' + a.slice(0, 150) + ', other ' + b.slice(0, 150))
  })
}
for (const b of bad) console.log(b)
process.exitCode = bad.length ? 1 : 0
JS

# Known differences: FILE -> "columns|rows|reason".
declare -A known=(
    # The sixth value's nanoseconds-of-day field is 18446711564157935616
    # (-32509551616000 as signed), outside [0, 86400e9), with Julian day
    # 4189105064: Spark's overflow of 290000-12-31. DuckDB reads both fields
    # as signed and wraps into year -226413; pqfeed says "invalid INT96"
    # (checked below).
    [int96_from_spark.parquet]="|5|DuckDB wraps an out-of-range INT96"
    # The legacy 2-level list's repeated group is named "array", so by the
    # spec's backward-compatibility rules it is the element (a struct with a
    # field "array"); DuckDB reads it as the list itself. pqfeed's reading
    # is checked in tests/cli/parquet_testing.sh.
    [old_list_structure.parquet]="a||DuckDB drops the legacy 'array' element struct"
    # parquet-wasm reads the keys of a MAP without a value field as null;
    # the file stores 1,2,3 and 4,5,6 (as in my_map next to it).
    [map_no_value.parquet]="my_map_no_v||parquet-wasm loses the keys of a value-less MAP"
)

for p in "$TD"/*.parquet "$TD"/geospatial/*.parquet; do
    f=${p#"$TD"/}
    case $f in
    # DuckDB does not verify page CRCs; nation.dict-malformed's chunk size
    # is wrong and DuckDB reads past it. pqfeed refuses all three, by design.
    datapage_v1-corrupt-checksum.parquet | rle-dict-uncompressed-corrupt-checksum.parquet | nation.dict-malformed.parquet)
        check_exit "$f: pqfeed refuses what DuckDB reads without checking" 0 \
            bash -c '! "$1" parquet cat "$2" >/dev/null 2>&1' _ "$PQF" "$p"
        continue ;;
    # A 2 GiB page: pqfeed's page cap (tests/cli/parquet_testing.sh).
    large_string_map.brotli.parquet)
        check_exit "$f: pqfeed refuses a page above its cap" 8 "$PQF" parquet cat "$p"
        continue ;;
    esac
    other=
    for rd in duckdb parquet-wasm hyparquet; do
        if node "$HERE/read.mjs" "$rd" "$p" >"$T/other.ndjson" 2>"$T/other.err"; then other=$rd; break; fi
        echo "# $f: $rd cannot read it: $(head -c 200 "$T/other.err")"
    done
    if [ -z "$other" ]; then skip "$f: another reader reads it" "none of DuckDB, parquet-wasm, hyparquet"; continue; fi
    if ! "$PQF" parquet cat "$p" >"$T/pqf.ndjson" 2>"$T/pqf.err"; then
        not_ok "$f: pqfeed reads what $other reads" "$(head -c 300 "$T/pqf.err")"
        continue
    fi
    IFS='|' read -r kcols krows kwhy <<<"${known[$f]:-||}"
    desc="$f: pqfeed reads every value as $other does"
    [ -n "$kwhy" ] && desc="$desc (except: $kwhy)"
    if node "$T/compare.mjs" "$p" "$T/pqf.ndjson" "$T/other.ndjson" "$kcols" "$krows" >"$T/cmp.out" 2>&1; then
        ok "$desc"
    else
        mapfile -t diags <"$T/cmp.out"
        not_ok "$desc" "${diags[@]}"
    fi
done
check_eq "int96_from_spark.parquet: the out-of-range sixth INT96 is reported, not wrapped" \
    "$("$PQF" parquet cat "$TD/int96_from_spark.parquet" | sed -n 6p)" '{"a":"invalid INT96"}'
done_testing
