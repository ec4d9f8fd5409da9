#!/usr/bin/env bash
# Issue 3's benchmark: decode every column of the 10-million-row `mixed` file
# (written by `pqfeed convert`, zstd and snappy), pqfeed against DuckDB, in
# one run:
#   pqfeed: `pqfeed parquet scan FILE` (decodes every value of every column
#           and sums them: integers, true count, byte lengths and a hash of
#           every byte; prints time and rows/s);
#   DuckDB: `SET threads=1; SELECT count(*), sum(id), ..., sum(length(uid)),
#           count(maybe_int), sum(amount) FROM read_parquet(FILE)`, an
#           aggregate over all columns, through @duckdb/node-api.
# Each run under /usr/bin/time -v (wall, user+sys CPU, peak RSS). DuckDB's
# numbers include starting Node (~0.1 s, ~40 MiB); its query alone is
# reported too (wall and CPU from inside Node). Best of RUNS runs (default 3)
# by CPU time, since the machine is shared and wall time is noisy.
#
#   ROWS=10000000 (default)  BENCH_DIR=build/bench  SEED=1  RUNS=3
# Results: $BENCH_DIR/read.md (also printed). Copy them into docs/BENCHMARKS.md.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
ROWS=${ROWS:-10000000}
SEED=${SEED:-1}
RUNS=${RUNS:-3}
DIR=${BENCH_DIR:-$ROOT/build/bench}
PQF=${PQF:-$ROOT/build/pqfeed}
mkdir -p "$DIR"
[ -x "$PQF" ] || make -j2 >/dev/null
[ -x /usr/bin/time ] || { SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo; $SUDO apt-get install -y -qq time >/dev/null; }
[ -d tests/interop/node_modules/@duckdb/node-api ] || scripts/deps.sh

CSV=$DIR/mixed.csv
SCHEMA=$DIR/mixed.schema.json
if [ ! -f "$CSV" ] || [ "$(cat "$DIR/.rows" 2>/dev/null)" != "$ROWS:$SEED" ]; then
    echo "bench: generating $ROWS rows" >&2
    "$PQF" gen --table mixed --rows "$ROWS" --seed "$SEED" --format csv --out "$DIR"
    echo "$ROWS:$SEED" >"$DIR/.rows"
    rm -f "$DIR"/read.*.parquet
fi
for codec in zstd snappy; do
    f=$DIR/read.$codec.parquet
    [ -f "$f" ] || "$PQF" convert "$CSV" "$f" --schema "$SCHEMA" --codec "$codec" >/dev/null
done

DUCK=$DIR/duckdb_scan.mjs
cat >"$DUCK" <<JS
// DuckDB's side of bench/read.sh: an aggregate over every column, 1 thread.
const { DuckDBInstance } = await import('$ROOT/tests/interop/node_modules/@duckdb/node-api/lib/index.js')
const file = process.argv[2].replace(/'/g, "''")
const inst = await DuckDBInstance.create(':memory:')
const conn = await inst.connect()
await conn.run('SET threads=1')
const t0 = performance.now(), c0 = process.cpuUsage()
const r = await conn.runAndReadAll(\`SELECT count(*) AS n, sum(id) AS id, sum(i32) AS i32,
  sum(f64) AS f64, sum(flag::INT) AS flag, max(ts) AS ts, max(day) AS day,
  sum(strlen(category)) AS category, sum(strlen(uid)) AS uid, count(maybe_int) AS maybe_n,
  sum(maybe_int) AS maybe_int, sum(amount) AS amount FROM read_parquet('\${file}')\`)
const cu = process.cpuUsage(c0)
console.log(JSON.stringify(r.getRowObjectsJson()[0]))
console.log('query: ' + ((performance.now() - t0) / 1000).toFixed(3) + ' s wall, ' +
  ((cu.user + cu.system) / 1e6).toFixed(3) + ' s CPU')
JS

# measure NAME CMD...: sets wall, cpu, rss_kb from /usr/bin/time -v.
measure() {
    local name=$1; shift
    /usr/bin/time -v -o "$DIR/$name.time" "$@" >"$DIR/$name.log" 2>&1 || { echo "bench: $name failed:"; tail -5 "$DIR/$name.log"; return 1; }
    local e u s
    e=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$DIR/$name.time")
    wall=$(echo "$e" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    u=$(sed -n 's/.*User time (seconds): //p' "$DIR/$name.time")
    s=$(sed -n 's/.*System time (seconds): //p' "$DIR/$name.time")
    cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
    rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$DIR/$name.time")
}

rows=()
run() { # name cmd...: best of RUNS by CPU time
    local name=$1; shift
    local best_cpu= best_wall= best_rss= extra=
    for _ in $(seq "$RUNS"); do
        measure "$name" "$@" || return 1
        if [ -z "$best_cpu" ] || awk -v a="$cpu" -v b="$best_cpu" 'BEGIN { exit !(a < b) }'; then
            best_cpu=$cpu best_wall=$wall best_rss=$rss_kb
            extra=$(grep -E '^query: ' "$DIR/$name.log" | sed 's/^query: //' || true)
            cp "$DIR/$name.log" "$DIR/$name.best.log"
        fi
    done
    rows+=("$(printf '| %s | %.2f | %.2f | %s | %s | %.1f | %s |' "$name" "$best_wall" "$best_cpu" \
        "$(awk -v r="$ROWS" -v w="$best_wall" 'BEGIN { printf "%.0f", r / w }')" \
        "$(awk -v r="$ROWS" -v c="$best_cpu" 'BEGIN { printf "%.0f", r / c }')" \
        "$(awk -v k="$best_rss" 'BEGIN { printf "%.1f", k / 1024 }')" "${extra:--}")")
    eval "cpu_${name//[^a-z0-9]/_}=$best_cpu; wall_${name//[^a-z0-9]/_}=$best_wall"
}

for codec in zstd snappy; do
    f=$DIR/read.$codec.parquet
    run "pqfeed-$codec" "$PQF" parquet scan "$f"
    run "duckdb-$codec" node "$DUCK" "$f"
done

{
    echo "### read: $ROWS rows of \`mixed\`, every column decoded, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m)"
    echo
    echo "| run | wall s | CPU s | rows/s (wall) | rows/s (CPU) | peak RSS MiB | query alone (DuckDB) |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    for codec in zstd snappy; do
        f=$DIR/read.$codec.parquet
        echo "- $codec ($(stat -c %s "$f") bytes, $("$PQF" parquet inspect "$f" | grep -c '^row group') row groups): pqfeed $(awk -v a="$(eval echo "\$cpu_duckdb_$codec")" -v b="$(eval echo "\$cpu_pqfeed_$codec")" 'BEGIN { printf "%.2fx", a / b }') DuckDB's rows/s by CPU time, $(awk -v a="$(eval echo "\$wall_duckdb_$codec")" -v b="$(eval echo "\$wall_pqfeed_$codec")" 'BEGIN { printf "%.2fx", a / b }') by wall time."
    done
    # The same aggregates from both sides (zstd run): integer sums, true
    # count, non-null count, byte lengths; amount is DECIMAL(18,2) on INT64,
    # so pqfeed sums the unscaled integers.
    agree=$(node -e '
const fs = require("fs")
const d = JSON.parse(fs.readFileSync(process.argv[1], "utf8").split("\n")[0])
const p = fs.readFileSync(process.argv[2], "utf8")
const col = n => (p.match(new RegExp("^column " + n + " [A-Z_0-9]+: (.*)$", "m")) || [])[1] || ""
const num = (n, re) => ((col(n).match(re) || [])[1])
const checks = [
  ["id", num("id", /sum (-?\d+)/), d.id], ["i32", num("i32", /sum (-?\d+)/), d.i32],
  ["flag", num("flag", /(\d+) true/), d.flag], ["maybe_int count", num("maybe_int", /^(\d+) values/), d.maybe_n],
  ["maybe_int", num("maybe_int", /sum (-?\d+)/), d.maybe_int],
  ["amount", num("amount", /sum (-?\d+)/), String(d.amount).replace(".", "")],
  ["category bytes", num("category", /(\d+) bytes/), d.category], ["uid bytes", num("uid", /(\d+) bytes/), d.uid]]
const bad = checks.filter(([, a, b]) => String(a) !== String(b))
console.log(bad.length ? "DIFFER: " + bad.map(([n, a, b]) => n + " pqfeed " + a + " DuckDB " + b).join("; ")
  : "agree (" + checks.map(c => c[0]).join(", ") + ")")' "$DIR/duckdb-zstd.best.log" "$DIR/pqfeed-zstd.best.log")
    echo "- pqfeed's sums and DuckDB's aggregates over the same file: $agree."
    echo "- pqfeed's output (zstd run):"
    echo
    sed 's/^/      /' "$DIR/pqfeed-zstd.best.log"
    echo
    echo "- DuckDB's aggregate (zstd run): \`$(head -1 "$DIR/duckdb-zstd.best.log")\`"
} | tee "$DIR/read.md"
