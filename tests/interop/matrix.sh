#!/usr/bin/env bash
# Interop matrix: pqfeed writes every type x codec x encoding x page version x
# nullability x nesting (one table, many columns per file); DuckDB, hyparquet
# and parquet-wasm read every file and each cell is compared with the input;
# footer types, statistics, pages (codec, version, encoding, CRC32), page index
# and bloom filters are checked from the bytes. See matrix.mjs.
#   PQF_MATRIX_FILTER=<regex>  run only the cells whose name matches
#   PQF_MATRIX_KEEP=DIR        keep inputs and Parquet files in DIR
. "$(dirname "$0")/../lib.sh"
HERE=$ROOT/tests/interop

if [ ! -x "$PQF" ]; then not_ok "pqfeed binary at $PQF"; done_testing; exit 1; fi
if [ ! -d "$HERE/node_modules" ]; then not_ok "npm modules in tests/interop (run scripts/deps.sh)"; done_testing; exit 1; fi
if ! "$PQF" convert --help >/dev/null 2>&1; then
    not_ok "pqfeed convert exists" "$("$PQF" convert --help 2>&1 | head -3)"
    done_testing; exit 1
fi

WORK=${PQF_MATRIX_KEEP:-$T/matrix}
node "$HERE/matrix.mjs" "$PQF" "$WORK" "${PQF_MATRIX_FILTER:-}" >"$T/matrix.out" 2>"$T/matrix.err"
rc=$?
while IFS=$'\t' read -r status desc rest; do
    case $status in
    ok) ok "$desc" ;;
    skip) skip "$desc" "$rest" ;;
    not_ok)
        diags=()
        IFS=$'\t' read -r -a diags <<<"$rest"
        not_ok "$desc" "${diags[@]}" ;;
    esac
done <"$T/matrix.out"
if [ "$rc" -ne 0 ]; then not_ok "matrix driver exited with $rc" "$(tail -n 8 "$T/matrix.err")"; fi
done_testing
