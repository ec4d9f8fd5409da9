#!/usr/bin/env bash
# pqfeed's reading of each apache/parquet-testing file against DuckDB's
# (tests/interop/read.mjs duckdb): the same number of rows for every file
# both can read. Value-by-value comparison needs pqfeed's NDJSON mapped to
# the canonical form of lib/canon.mjs (maps as [[k, v]], integers as
# strings, full timestamp digits); until then rows are compared by count.
. "$(dirname "$0")/../lib.sh"
HERE=$ROOT/tests/interop
TD=$PQF_SHARED/testdata/parquet-testing
if [ ! -d "$TD" ]; then skip "parquet-testing files" "not found at $TD (../shared from the repo)"; done_testing; exit 0; fi
if [ ! -d "$HERE/node_modules/@duckdb/node-api" ]; then
    skip "DuckDB comparison" "tests/interop/node_modules/@duckdb/node-api missing (scripts/deps.sh installs it)"
    done_testing; exit 0
fi
for p in "$TD"/*.parquet "$TD"/geospatial/*.parquet; do
    f=${p#"$TD"/}
    if ! node "$HERE/read.mjs" duckdb "$p" >"$T/duck.ndjson" 2>"$T/duck.err"; then
        skip "$f: DuckDB reads it" "$(head -c 200 "$T/duck.err")"
        continue
    fi
    case $f in
    # DuckDB does not verify page CRCs; nation.dict-malformed's chunk size
    # is wrong and DuckDB reads past it. pqfeed refuses all three, by design.
    datapage_v1-corrupt-checksum.parquet | rle-dict-uncompressed-corrupt-checksum.parquet | nation.dict-malformed.parquet)
        check_exit "$f: pqfeed refuses what DuckDB reads without checking" 0 \
            bash -c '! "$1" parquet cat "$2" >/dev/null 2>&1' _ "$PQF" "$p"
        continue ;;
    esac
    if ! "$PQF" parquet cat "$p" >"$T/pqf.ndjson" 2>"$T/pqf.err"; then
        not_ok "$f: pqfeed reads what DuckDB reads" "$(head -c 300 "$T/pqf.err")"
        continue
    fi
    check_eq "$f: pqfeed and DuckDB read the same number of rows" \
        "$(wc -l <"$T/pqf.ndjson")" "$(wc -l <"$T/duck.ndjson")"
done
done_testing
