#!/usr/bin/env bash
# Issue 2's benchmark: the `mixed` table (pqfeed gen) as CSV to Parquet, pqfeed
# with zstd and with snappy against DuckDB (SET threads=1; COPY ... TO ...
# (FORMAT parquet, COMPRESSION zstd|snappy)) through @duckdb/node-api, in one
# run. Reports wall and CPU time (user + sys), rows/s, output bytes and peak
# RSS (/usr/bin/time -v) of each, and the encode ceiling: zstd's own
# single-thread compression rate (zstd -b1, level 1 = pqfeed's default) on the
# uncompressed Parquet bytes, against pqfeed's compression stage (the CPU time
# zstd adds over --codec none, on the same bytes).
#
#   ROWS=10000000 (default)  BENCH_DIR=build/bench  SEED=1
#   PQF_BASE=path/to/older/pqfeed: also runs that binary (zstd and snappy, each
#   right after the current one's run), for before/after in the same sitting.
# Results: $BENCH_DIR/convert.md (also printed). Copy them into docs/BENCHMARKS.md.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
ROWS=${ROWS:-10000000}
SEED=${SEED:-1}
DIR=${BENCH_DIR:-$ROOT/build/bench}
PQF=${PQF:-$ROOT/build/pqfeed}
mkdir -p "$DIR"
[ -x "$PQF" ] || make -j2 >/dev/null
[ -x /usr/bin/time ] || { SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo; $SUDO apt-get install -y -qq time >/dev/null; }
command -v zstd >/dev/null || { SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo; $SUDO apt-get install -y -qq zstd >/dev/null; }
[ -d tests/interop/node_modules ] || scripts/deps.sh

CSV=$DIR/mixed.csv
SCHEMA=$DIR/mixed.schema.json
if [ ! -f "$CSV" ] || [ "$(cat "$DIR/.rows" 2>/dev/null)" != "$ROWS:$SEED" ]; then
    echo "bench: generating $ROWS rows" >&2
    "$PQF" gen --table mixed --rows "$ROWS" --seed "$SEED" --format csv --out "$DIR"
    echo "$ROWS:$SEED" >"$DIR/.rows"
fi
csv_bytes=$(stat -c %s "$CSV")
# read the CSV once first, so that the first measured run does not pay for
# bringing it into the page cache (on a loaded VM the file may have been evicted)
cat "$CSV" >/dev/null

# measure NAME CMD...: runs CMD under /usr/bin/time -v; sets wall, cpu, rss_kb.
measure() {
    local name=$1; shift
    /usr/bin/time -v -o "$DIR/$name.time" "$@" >"$DIR/$name.log" 2>&1 || { echo "bench: $name failed:"; tail -5 "$DIR/$name.log"; return 1; }
    local e
    e=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$DIR/$name.time")
    wall=$(echo "$e" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$DIR/$name.time")
    cpu=$(awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ { s += $2 } END { printf "%.2f", s }' "$DIR/$name.time")
}

rows=()
run() { # name out cmd...
    local name=$1 out=$2; shift 2
    rm -f "$out"
    measure "$name" "$@" || return 1
    local bytes; bytes=$(stat -c %s "$out")
    rows+=("$(printf '| %s | %.2f | %.2f | %s | %s | %s | %.1f |' "$name" "$wall" "$cpu" \
        "$(awk -v r="$ROWS" -v w="$wall" 'BEGIN { printf "%.0f", r / w }')" \
        "$(awk -v r="$ROWS" -v w="$cpu" 'BEGIN { printf "%.0f", r / w }')" "$bytes" \
        "$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')")")
    eval "bytes_${name//[^a-z0-9]/_}=$bytes; wall_${name//[^a-z0-9]/_}=$wall; cpu_${name//[^a-z0-9]/_}=$cpu"
}

run "pqfeed-zstd" "$DIR/pqfeed.zstd.parquet" "$PQF" convert "$CSV" "$DIR/pqfeed.zstd.parquet" --schema "$SCHEMA" --codec zstd
[ -z "${PQF_BASE:-}" ] || run "base-zstd" "$DIR/base.zstd.parquet" "$PQF_BASE" convert "$CSV" "$DIR/base.zstd.parquet" --schema "$SCHEMA" --codec zstd
run "pqfeed-snappy" "$DIR/pqfeed.snappy.parquet" "$PQF" convert "$CSV" "$DIR/pqfeed.snappy.parquet" --schema "$SCHEMA" --codec snappy
[ -z "${PQF_BASE:-}" ] || run "base-snappy" "$DIR/base.snappy.parquet" "$PQF_BASE" convert "$CSV" "$DIR/base.snappy.parquet" --schema "$SCHEMA" --codec snappy
run "pqfeed-none" "$DIR/pqfeed.none.parquet" "$PQF" convert "$CSV" "$DIR/pqfeed.none.parquet" --schema "$SCHEMA" --codec none
run "duckdb-zstd" "$DIR/duckdb.zstd.parquet" node tests/interop/duckdb_copy.mjs "$CSV" "$DIR/duckdb.zstd.parquet" zstd
run "duckdb-snappy" "$DIR/duckdb.snappy.parquet" node tests/interop/duckdb_copy.mjs "$CSV" "$DIR/duckdb.snappy.parquet" snappy

# The ceiling: zstd alone, one thread, 1 MiB blocks (pqfeed's page size), on
# the uncompressed Parquet file (the same bytes pqfeed compresses, plus
# headers) and on the CSV; level 1 is pqfeed's default, level 3 for reference.
zstd_rate() { zstd -b"$2" -i3 -T1 -B1048576 "$1" 2>&1 | tr '\r' '\n' | grep -E 'MB/s' | tail -1 | sed -E 's/.*\(([^)]*)\),? *([0-9.]+ MB\/s).*/ratio \1, \2/'; }
z_parquet=$(zstd_rate "$DIR/pqfeed.none.parquet" 1)
z_parquet3=$(zstd_rate "$DIR/pqfeed.none.parquet" 3)
z_csv=$(zstd_rate "$CSV" 1)
none_bytes=$bytes_pqfeed_none

{
    echo "### convert: $ROWS rows of \`mixed\` ($(awk -v b="$csv_bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB CSV), $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m)"
    echo
    echo "| run | wall s | CPU s (user+sys) | rows/s (wall) | rows/s (CPU) | output bytes | peak RSS MiB |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "- pqfeed zstd vs DuckDB zstd: $(awk -v a="$wall_duckdb_zstd" -v b="$wall_pqfeed_zstd" 'BEGIN { printf "%.2fx", a / b }') the rows/s by wall time, $(awk -v a="$cpu_duckdb_zstd" -v b="$cpu_pqfeed_zstd" 'BEGIN { printf "%.2fx", a / b }') by CPU time; $(awk -v a="$bytes_pqfeed_zstd" -v b="$bytes_duckdb_zstd" 'BEGIN { printf "%.3fx", a / b }') the bytes."
    echo "- pqfeed snappy vs DuckDB snappy: $(awk -v a="$wall_duckdb_snappy" -v b="$wall_pqfeed_snappy" 'BEGIN { printf "%.2fx", a / b }') the rows/s by wall time, $(awk -v a="$cpu_duckdb_snappy" -v b="$cpu_pqfeed_snappy" 'BEGIN { printf "%.2fx", a / b }') by CPU time; $(awk -v a="$bytes_pqfeed_snappy" -v b="$bytes_duckdb_snappy" 'BEGIN { printf "%.3fx", a / b }') the bytes."
    if [ -n "${PQF_BASE:-}" ]; then
        echo "- against PQF_BASE ($PQF_BASE): zstd $(awk -v a="$cpu_base_zstd" -v b="$cpu_pqfeed_zstd" 'BEGIN { printf "%.2f", a / b }')x the rows/s by CPU time, $(awk -v a="$wall_base_zstd" -v b="$wall_pqfeed_zstd" 'BEGIN { printf "%.2f", a / b }')x by wall; snappy $(awk -v a="$cpu_base_snappy" -v b="$cpu_pqfeed_snappy" 'BEGIN { printf "%.2f", a / b }')x by CPU, $(awk -v a="$wall_base_snappy" -v b="$wall_pqfeed_snappy" 'BEGIN { printf "%.2f", a / b }')x by wall; output bytes $(cmp -s "$DIR/base.zstd.parquet" "$DIR/pqfeed.zstd.parquet" && cmp -s "$DIR/base.snappy.parquet" "$DIR/pqfeed.snappy.parquet" && echo identical || echo DIFFERENT)."
    fi
    echo "- pqfeed uncompressed: $(awk -v b="$none_bytes" -v w="$cpu_pqfeed_none" 'BEGIN { printf "%.1f MiB/s of Parquet bytes per CPU second", b / w / 1048576 }'), CSV parsing included."
    echo "- Encode rate without CSV parsing: zstd adds $(awk -v a="$cpu_pqfeed_zstd" -v b="$cpu_pqfeed_none" 'BEGIN { printf "%.2f CPU s", a - b }') to the uncompressed run, i.e. pqfeed's compression stage runs at $(awk -v n="$none_bytes" -v a="$cpu_pqfeed_zstd" -v b="$cpu_pqfeed_none" 'BEGIN { if (a > b) printf "%.1f MB/s", n / (a - b) / 1e6; else print "n/a" }') on the $none_bytes uncompressed Parquet bytes (pages zstd cannot shrink are stored, not compressed)."
    echo "- zstd's own rate on the same bytes, zstd -b1 -T1 -B1M: $z_parquet (level 3: $z_parquet3); zstd -b1 on the CSV: $z_csv."
} | tee "$DIR/convert.md"
