#!/usr/bin/env bash
# Issue 5's speed benchmark: a PostgreSQL table of ROWS rows mirroring the
# `mixed` table of `pqfeed gen` (bigint id, int, double, bool, timestamptz,
# date, 8-value text, unique ~27-char text, nullable bigint with 10% nulls,
# numeric(18,2)), generated with generate_series in a throwaway cluster
# (scripts/pg.sh), then in one run:
#   - the ceiling: psql -c "COPY mixed TO STDOUT" > /dev/null (what libpq
#     delivers in text format, nothing done with it);
#   - pqfeed: bench/pg_export_bench.c (the database source API into one
#     Parquet file, zstd level 3, default writer options), built here against
#     build/libpqfeed.a.
# Each measured with /usr/bin/time -v (wall, CPU, peak RSS), the ceiling
# before and after pqfeed (the cache is warm for both).
#
#   ROWS=10000000 (default)  BENCH_DIR=build/bench
# Results: $BENCH_DIR/export_pg.md (also printed). Copy them into docs/BENCHMARKS.md.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
ROWS=${ROWS:-10000000}
DIR=${BENCH_DIR:-$ROOT/build/bench}
mkdir -p "$DIR"
[ -f build/libpqfeed.a ] || make -j2 >/dev/null
[ -x /usr/bin/time ] || { SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo; $SUDO apt-get install -y -qq time >/dev/null; }

BIN=$DIR/pg_export_bench
# shellcheck disable=SC2046
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude -o "$BIN" bench/pg_export_bench.c build/libpqfeed.a \
    $(make -s print-libs)

eval "$(scripts/pg.sh start)"
trap 'scripts/pg.sh stop "$PQF_PG_DIR"' EXIT
PSQL=(psql -X -q -v ON_ERROR_STOP=1 "$PQF_TEST_PG")

echo "bench: generating $ROWS rows" >&2
"${PSQL[@]}" <<EOF
CREATE FUNCTION h(bigint, bigint) RETURNS bigint IMMUTABLE LANGUAGE sql
  AS 'SELECT pg_catalog.hashint8extended(\$1, \$2) & 9223372036854775807';
CREATE TABLE mixed (
  id bigint NOT NULL, i32 integer NOT NULL, f64 double precision NOT NULL, flag boolean NOT NULL,
  ts timestamptz NOT NULL, day date NOT NULL, category text NOT NULL, uid text NOT NULL,
  maybe_int bigint, amount numeric(18,2) NOT NULL);
INSERT INTO mixed
SELECT g,
       hashint8(g),
       ((h(g, 1) % 2000001) - 1000000) / 1000.0,
       h(g, 2) % 2 = 0,
       timestamptz '2024-01-01 00:00:00+00' + (h(g, 3) % 63072000000000) * interval '1 microsecond',
       date '2020-01-01' + (h(g, 4) % 1461)::int,
       (ARRAY['alpha','beta','gamma','delta','epsilon','zeta','eta','theta'])[1 + h(g, 5) % 8],
       'usr_' || lpad(to_hex(hashint8extended(g, 6)), 16, '0') || '_' || lpad((g % 10000000)::text, 7, '0'),
       CASE WHEN h(g, 7) % 10 = 0 THEN NULL ELSE (h(g, 8) % 16000000) - 8000000 END,
       (h(g, 9) % 2000000) / 100.0
FROM generate_series(1, $ROWS) g;
VACUUM (FREEZE, ANALYZE) mixed;
EOF
table_bytes=$("${PSQL[@]}" -At -c "SELECT pg_total_relation_size('mixed')")
copy_bytes=$(psql -X "$PQF_TEST_PG" -c "COPY mixed TO STDOUT" | wc -c) # also warms the cache

measure() { # name cmd...: sets wall, cpu, rss_kb
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

lines=()
row() { # name bytes
    lines+=("$(printf '| %s | %.2f | %s | %s | %s | %.1f |' "$1" "$wall" "$cpu" \
        "$(awk -v r="$ROWS" -v w="$wall" 'BEGIN { printf "%.0f", r / w }')" "$2" \
        "$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')")")
}

measure ceiling-1 sh -c "psql -X \"\$0\" -c 'COPY mixed TO STDOUT' > /dev/null" "$PQF_TEST_PG"
wall_c1=$wall; row "psql COPY text (ceiling), before" "$copy_bytes"
measure pqfeed "$BIN" "$PQF_TEST_PG" mixed "$DIR/mixed.pg.parquet" zstd
wall_p=$wall; out_bytes=$(stat -c %s "$DIR/mixed.pg.parquet"); row "pqfeed dbsource -> Parquet zstd" "$out_bytes"
rows_out=$(sed -n 's/^rows \([0-9]*\).*/\1/p' "$DIR/pqfeed.log")
[ "$rows_out" = "$ROWS" ] || { echo "bench: pqfeed wrote $rows_out rows, expected $ROWS"; exit 1; }
measure ceiling-2 sh -c "psql -X \"\$0\" -c 'COPY mixed TO STDOUT' > /dev/null" "$PQF_TEST_PG"
wall_c2=$wall; row "psql COPY text (ceiling), after" "$copy_bytes"
measure pqfeed-snappy "$BIN" "$PQF_TEST_PG" mixed "$DIR/mixed.pg.snappy.parquet" snappy
row "pqfeed dbsource -> Parquet snappy" "$(stat -c %s "$DIR/mixed.pg.snappy.parquet")"
measure binary-copy sh -c "psql -X \"\$0\" -c 'COPY mixed TO STDOUT (FORMAT binary)' > /dev/null" "$PQF_TEST_PG"
row "psql COPY binary (what pqfeed reads)" "-"

best_c=$(awk -v a="$wall_c1" -v b="$wall_c2" 'BEGIN { print (a < b ? a : b) }')
{
    echo "### export_pg: $ROWS rows of \`mixed\` in PostgreSQL $("${PSQL[@]}" -At -c 'SHOW server_version' | cut -d' ' -f1) ($(awk -v b="$table_bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB table, $(awk -v b="$copy_bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB COPY text), $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m)"
    echo
    echo "| run | wall s | CPU s (client) | rows/s | output bytes | peak RSS MiB (client) |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${lines[@]}"
    echo
    echo "- pqfeed zstd vs the ceiling (the faster of its two runs): $(awk -v c="$best_c" -v p="$wall_p" 'BEGIN { printf "%.2fx", c / p }') the rows/s (target >= 0.8x)."
    echo "- CPU and RSS are the client's (psql or the driver); the server's work is not in them."
} | tee "$DIR/export_pg.md"
