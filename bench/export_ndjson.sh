#!/usr/bin/env bash
# Issue 5's NDJSON benchmark: API pages (NDJSON, nested objects and arrays)
# to Parquet, `pqfeed export` (one snapshot commit of a local feed, zstd)
# against DuckDB `SET threads=1; COPY (SELECT * FROM read_json(...)) TO ...
# (FORMAT parquet, COMPRESSION zstd)` through @duckdb/node-api, in one run;
# also pqfeed's tree path (PQF_NDJSON_TREE=1), which the streaming shredder replaced.
#
#   ROWS=1000000 (default)  BENCH_DIR=build/bench  PQF=build/pqfeed
#   OLD_PQF=path: also the same export by another (older) binary, for before/after
#   ROUNDS=3 (default): pqfeed and DuckDB alternate this many times; the table
#     has each one's median run, and every round's ratio is listed (a shared
#     VM's speed drifts between runs: medians of alternating pairs compare
#     two programs at the same moments)
# Results: $BENCH_DIR/export_ndjson.md (also printed).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
ROWS=${ROWS:-1000000}
ROUNDS=${ROUNDS:-3}
DIR=${BENCH_DIR:-$ROOT/build/bench}/ndjson
PQF=${PQF:-$ROOT/build/pqfeed}
mkdir -p "$DIR"
[ -x "$PQF" ] || make -j2 >/dev/null
[ -x /usr/bin/time ] || { SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo; $SUDO apt-get install -y -qq time >/dev/null; }
[ -d tests/interop/node_modules ] || scripts/deps.sh
if [ "$(cat "$DIR/.rows" 2>/dev/null)" != "$ROWS" ]; then
    rm -rf "$DIR/api"
    "$PQF" gen --out "$DIR/api" --table issues --rows "$ROWS" --hours 0 --page-rows 10000 --seed 1
    echo "$ROWS" >"$DIR/.rows"
fi
PAGES=$DIR/api/hour-0000
bytes_in=$(cat "$PAGES"/*.ndjson | wc -c)

measure() { # name cmd...: sets wall, cpu, rss_mb
    local name=$1; shift
    /usr/bin/time -v -o "$DIR/$name.time" "$@" >"$DIR/$name.log" 2>&1 || { echo "bench: $name failed"; tail -5 "$DIR/$name.log"; exit 1; }
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$DIR/$name.time" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$DIR/$name.time")
    rss_mb=$(awk -F': ' '/Maximum resident/ { printf "%.1f", $2 / 1024 }' "$DIR/$name.time")
}
COLS="{id:'BIGINT', key:'VARCHAR', project:'VARCHAR', title:'VARCHAR', status:'VARCHAR', created_at:'TIMESTAMPTZ', updated_at:'TIMESTAMPTZ', resolved_on:'DATE', estimate_hours:'DECIMAL(10,2)', story_points:'INTEGER', labels:'VARCHAR[]', author:'STRUCT(id BIGINT, name VARCHAR, email VARCHAR)', fields:'STRUCT(priority VARCHAR, components VARCHAR[])', deleted:'BOOLEAN'}"
median() { sort -g | awk '{ v[NR] = $0 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rounds=""
: >"$DIR/rounds.txt"
for r in $(seq "$ROUNDS"); do
    rm -rf "$DIR/feed" "$DIR/duck.parquet"
    measure pqfeed "$PQF" export "$DIR/feed" --table issues --schema "$DIR/api/issues.schema.json" --codec zstd "$PAGES"
    pw=$wall pc=$cpu pr=$rss_mb
    p_bytes=$(du -cb "$DIR"/feed/issues/data/*/*/*.parquet | tail -1 | cut -f1)
    rm -rf "$DIR/feed"
    measure duckdb node tests/interop/duck.mjs "COPY (SELECT * FROM read_json('$PAGES/*.ndjson', format='newline_delimited', columns=$COLS)) TO '$DIR/duck.parquet' (FORMAT parquet, COMPRESSION zstd)"
    echo "$pw $pc $pr $wall $cpu $rss_mb" >>"$DIR/rounds.txt"
    rounds="$rounds $(awk -v a="$pw" -v b="$wall" 'BEGIN { printf "%.2fx", b / a }')"
done
col() { awk -v k="$1" '{ print $k }' "$DIR/rounds.txt" | median; }
p_wall=$(col 1) p_cpu=$(col 2) p_rss=$(col 3) d_wall=$(col 4) d_cpu=$(col 5) d_rss=$(col 6)
d_bytes=$(stat -c %s "$DIR/duck.parquet")
r_med=$(awk '{ print $4 / $1 }' "$DIR/rounds.txt" | median)
# the same export through the tree path the streaming shredder replaced (reference)
measure pqfeed_tree env PQF_NDJSON_TREE=1 "$PQF" export "$DIR/feed" --table issues --schema "$DIR/api/issues.schema.json" --codec zstd "$PAGES"
t_wall=$wall t_cpu=$cpu t_rss=$rss_mb
if [ -n "${OLD_PQF:-}" ]; then
    rm -rf "$DIR/feed"
    measure pqfeed_old "$OLD_PQF" export "$DIR/feed" --table issues --schema "$DIR/api/issues.schema.json" --codec zstd "$PAGES"
    o_wall=$wall o_cpu=$cpu o_rss=$rss_mb
    o_bytes=$(du -cb "$DIR"/feed/issues/data/*/*/*.parquet | tail -1 | cut -f1)
    rm -rf "$DIR/feed"
fi
{
    echo "### NDJSON API pages to Parquet: $ROWS rows, $(ls "$PAGES" | wc -l) pages, $bytes_in bytes"
    echo
    echo "pqfeed and DuckDB alternating, $ROUNDS rounds: medians below (the tree path and OLD_PQF: one run)."
    echo
    echo "| run | wall s | CPU s | rows/s (wall) | output bytes | peak RSS MiB |"
    echo "|---|---|---|---|---|---|"
    printf '| pqfeed export (zstd) | %.2f | %.2f | %.0f | %s | %s |\n' "$p_wall" "$p_cpu" "$(awk -v r="$ROWS" -v w="$p_wall" 'BEGIN{print r/w}')" "$p_bytes" "$p_rss"
    printf '| pqfeed export, tree path (PQF_NDJSON_TREE=1) | %.2f | %.2f | %.0f | %s | %s |\n' "$t_wall" "$t_cpu" "$(awk -v r="$ROWS" -v w="$t_wall" 'BEGIN{print r/w}')" "$p_bytes" "$t_rss"
    [ -z "${OLD_PQF:-}" ] || printf '| pqfeed export, OLD_PQF | %.2f | %.2f | %.0f | %s | %s |\n' "$o_wall" "$o_cpu" "$(awk -v r="$ROWS" -v w="$o_wall" 'BEGIN{print r/w}')" "$o_bytes" "$o_rss"
    printf '| DuckDB read_json -> COPY (zstd, 1 thread) | %.2f | %.2f | %.0f | %s | %s |\n' "$d_wall" "$d_cpu" "$(awk -v r="$ROWS" -v w="$d_wall" 'BEGIN{print r/w}')" "$d_bytes" "$d_rss"
    echo
    awk -v a="$p_wall" -v b="$d_wall" -v c="$p_cpu" -v d="$d_cpu" 'BEGIN { printf "pqfeed / DuckDB rows/s (medians): %.2fx by wall time, %.2fx by CPU time (target 2x).\n", b / a, d / c }'
    printf 'Per round, DuckDB wall / pqfeed wall:%s; median %.2fx.\n' "$rounds" "$r_med"
} | tee "$DIR/../export_ndjson.md"
