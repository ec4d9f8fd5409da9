#!/usr/bin/env bash
# Issue 7's speed benchmark: `pqfeed apply` of one changes commit of ROWS
# change rows (70% updates of existing keys, 20% inserts of new keys, 10%
# deletes) into a SQLite and a PostgreSQL table that already holds ROWS rows,
# against the ceiling of each sink's own bulk path for the same rows:
#   - SQLite: `sqlite3 DB ".import --csv changes.csv t"` into an empty table;
#   - PostgreSQL: `psql -c "\copy t FROM changes.csv CSV HEADER"` into an
#     empty table with the same column types and no index.
# The table is the `mixed` shape of bench/export_pg.sh plus the change-capture
# columns: bigint id (the key), int, double, bool, timestamptz, date, 8-value
# text, unique ~27-char text, nullable bigint, numeric(18,2), created_at,
# updated_at, deleted. Rows are generated with awk, exported with
# `pqfeed export --mode changes` (commit 1: the ROWS base rows, commit 2: the
# ROWS changes); commit 1 is applied untimed, then commit 2 is timed.
# Each step is measured with /usr/bin/time -v (wall, CPU of the client
# process, peak RSS); PostgreSQL's server CPU is not in the client's numbers,
# so compare wall times. The PostgreSQL cluster is a throwaway one
# (scripts/pg.sh).
#
#   ROWS=10000000 (default)  BENCH_DIR=build/bench  SINKS="sqlite postgres"
#   OLD_PQF=path/to/an/older/pqfeed   also time that binary (before/after)
#   UNIQUE_KEYS=1   updates and deletes touch each existing key at most once (as
#                   an API's hourly pages or a database's changes do), not random keys
#   PG_TEXT=1       also time this pqfeed with PQF_PG_COPY=text (the stage loaded by
#                   text COPY instead of binary)
#   PG_INPLACE=1    also time the PostgreSQL apply with pqfeed.rewrite_ratio=off (the
#                   in-place DELETE + INSERT merge instead of rewriting the table)
#   PG_STAGE=1      also time this pqfeed with PQF_PG_DIRECT=off (the rewrite through
#                   the stage instead of straight into the new table); md5 of both tables
# Results: $BENCH_DIR/apply.md (also printed). Copy them into docs/BENCHMARKS.md.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
ROWS=${ROWS:-10000000}
SINKS=${SINKS:-sqlite postgres}
DIR=${BENCH_DIR:-$ROOT/build/bench}/apply
PQF=$ROOT/build/pqfeed
OLD_PQF=${OLD_PQF:-}
mkdir -p "$DIR"
[ -x "$PQF" ] || make -j2 >/dev/null
[ -x /usr/bin/time ] || { SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo; $SUDO apt-get install -y -qq time >/dev/null; }
REPORT=$DIR/apply.md

# ---- data -----------------------------------------------------------------------------------
gen_rows() { # MODE(base|changes) N  -> CSV on stdout
    awk -v mode="$1" -v n="$2" -v uniq="${UNIQUE_KEYS:-0}" 'BEGIN {
        srand(mode == "base" ? 1 : 2)
        split("alpha beta gamma delta epsilon zeta eta theta", cat, " ")
        print "id,i32,f64,flag,ts,day,category,uid,maybe_int,amount,created_at,updated_at,deleted"
        ins = n
        for (j = 1; j <= n; j++) {
            if (mode == "base") { id = j; op = "I" }
            else {
                r = rand()
                # uniq: 999983 is prime to n = 10^k, so (999983 j) mod n visits each key once
                old = uniq ? 1 + (999983 * j) % n : 1 + int(rand() * n)
                if (r < 0.7) { id = old; op = "U" }
                else if (r < 0.9) { id = ++ins; op = "I" }
                else { id = old; op = "D" }
            }
            sec = 1704067200 + int(rand() * 63072000)
            ts = strftime("%Y-%m-%dT%H:%M:%S", sec, 1) sprintf(".%06dZ", int(rand() * 1000000))
            day = strftime("%Y-%m-%d", 1577836800 + int(rand() * 1461) * 86400, 1)
            mi = rand() < 0.1 ? "" : int(rand() * 16000000) - 8000000
            if (mode == "base") wm = "2026-01-01T00:00:00.000000Z"
            else wm = sprintf("2026-01-02T%02d:%02d:%02d.%06dZ", int(j / 3600000000) % 24,
                              int(j / 60000000) % 60, int(j / 1000000) % 60, j % 1000000)
            created = op == "I" ? wm : "2025-12-31T00:00:00.000000Z"
            printf "%d,%d,%.3f,%s,%s,%s,%s,usr_%08x%08x_%07d,%s,%.2f,%s,%s,%s\n",
                id, int(rand() * 4294967296) - 2147483648, (rand() * 2000000 - 1000000) / 1000,
                rand() < 0.5 ? "true" : "false", ts, day, cat[1 + int(rand() * 8)],
                int(rand() * 4294967296), int(rand() * 4294967296), id % 10000000, mi, rand() * 20000, created, wm,
                op == "D" ? "true" : "false"
        }
    }'
}
cat >"$DIR/mixed.schema.json" <<'EOF'
{
  "columns": [
    {"name": "id", "type": "int64", "nullable": false},
    {"name": "i32", "type": "int32", "nullable": false},
    {"name": "f64", "type": "double", "nullable": false},
    {"name": "flag", "type": "bool", "nullable": false},
    {"name": "ts", "type": "timestamp_us", "nullable": false},
    {"name": "day", "type": "date", "nullable": false},
    {"name": "category", "type": "string", "nullable": false},
    {"name": "uid", "type": "string", "nullable": false},
    {"name": "maybe_int", "type": "int64"},
    {"name": "amount", "type": "decimal(18,2)", "nullable": false},
    {"name": "created_at", "type": "timestamp_us", "nullable": false},
    {"name": "updated_at", "type": "timestamp_us", "nullable": false},
    {"name": "deleted", "type": "bool", "nullable": false}
  ]
}
EOF
FEED=$DIR/feed
if [ ! -f "$DIR/.done-$ROWS" ]; then
    rm -rf "$FEED" "$DIR"/*.csv "$DIR"/.done-*
    echo "bench: generating $ROWS base rows and $ROWS change rows" >&2
    gen_rows base "$ROWS" >"$DIR/base.csv"
    gen_rows changes "$ROWS" >"$DIR/changes.csv"
    CH=(--table mixed --schema "$DIR/mixed.schema.json" --mode changes --key id
        --watermark updated_at --delete-column deleted --created-column created_at)
    echo "bench: exporting" >&2
    "$PQF" export "$FEED" "${CH[@]}" --as-of 2026-01-01T12:00:00Z "$DIR/base.csv" >/dev/null
    "$PQF" export "$FEED" "${CH[@]}" --as-of 2026-01-03T00:00:00Z "$DIR/changes.csv" >/dev/null
    touch "$DIR/.done-$ROWS"
fi
ops=$(awk -F, 'NR > 1 { n[$13 == "true" ? "D" : ($11 == $12 ? "I" : "U")]++ }
               END { printf "%d updates, %d inserts, %d deletes", n["U"], n["I"], n["D"] }' "$DIR/changes.csv")
feed_bytes=$(du -sb "$FEED/mixed/data" | cut -f1)

# ---- measuring ------------------------------------------------------------------------------
ROWS_MD=()
# CPU seconds of the PostgreSQL server so far: the postmaster, its live
# children and its reaped ones (a finished session's backend), from /proc
srv_cpu() {
    [ -n "${PQF_PG_DIR:-}" ] && [ -r "$PQF_PG_DIR/data/postmaster.pid" ] || { echo 0; return; }
    local pm
    pm=$(head -1 "$PQF_PG_DIR/data/postmaster.pid")
    { sed 's/^.*) //' "/proc/$pm/stat" | awk '{ print $12 + $13 + $14 + $15 }'
      for c in $(ps -o pid= --ppid "$pm"); do sed 's/^.*) //' "/proc/$c/stat" 2>/dev/null | awk '{ print $12 + $13 }'; done
    } | awk -v hz="$(getconf CLK_TCK)" '{ t += $1 } END { printf "%.2f", t / hz }'
}
measure() { # LABEL CMD... : one line of the report
    local label=$1 out=$DIR/time.txt srv0
    shift
    srv0=$(srv_cpu)
    /usr/bin/time -v "$@" >"$DIR/cmd.out" 2>"$out" || { cat "$DIR/cmd.out" "$out" >&2; return 1; }
    local srv
    sleep 0.5 # the session's backend reaped
    srv=$(awk -v a="$srv0" -v b="$(srv_cpu)" 'BEGIN { printf "%.2f", b - a }')
    local wall user sys rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
                      for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$out")
    user=$(awk -F': ' '/User time/ { print $2 }' "$out")
    sys=$(awk -F': ' '/System time/ { print $2 }' "$out")
    rss=$(awk -F': ' '/Maximum resident/ { printf "%d", $2 / 1024 }' "$out")
    LAST_WALL=$wall
    ROWS_MD+=("| $label | $wall | $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }') | $srv | $rss | $(awk -v w="$wall" -v n="$ROWS" 'BEGIN { printf "%.0f", n / w }') |")
    echo "bench: $label: ${wall}s" >&2
}
ratio() { awk -v c="$1" -v p="$2" 'BEGIN { printf "%.2f", c / p }'; }
SUMMARY=()

for sink in $SINKS; do
case $sink in
sqlite)
    rm -f "$DIR/base.db" "$DIR/ceil.db"
    "$PQF" apply "$FEED" "sqlite:$DIR/base.db" --until 1 >/dev/null
    sync
    cp "$DIR/base.db" "$DIR/run.db"
    measure "SQLite ceiling: sqlite3 .import --csv (empty table)" \
        sqlite3 "$DIR/ceil.db" ".import --csv $DIR/changes.csv t"
    ceil=$LAST_WALL
    measure "SQLite: pqfeed apply (commit 2 into $ROWS rows)" "$PQF" apply "$FEED" "sqlite:$DIR/run.db"
    ours=$LAST_WALL
    SUMMARY+=("SQLite: pqfeed apply = $(ratio "$ceil" "$ours")x the bulk-load ceiling")
    if [ -n "$OLD_PQF" ]; then
        cp "$DIR/base.db" "$DIR/old.db"
        measure "SQLite: older pqfeed apply ($OLD_PQF)" "$OLD_PQF" apply "$FEED" "sqlite:$DIR/old.db"
        SUMMARY+=("SQLite: older pqfeed apply = $(ratio "$ceil" "$LAST_WALL")x")
        rm -f "$DIR/old.db"
    fi
    rm -f "$DIR/base.db" "$DIR/run.db" "$DIR/ceil.db"
    ;;
postgres)
    eval "$(scripts/pg.sh start)"
    trap 'scripts/pg.sh stop "$PQF_PG_DIR"' EXIT
    PSQL=(psql -X -q -v ON_ERROR_STOP=1 "$PQF_TEST_PG")
    "${PSQL[@]}" -c "CREATE DATABASE pqf_old" 2>/dev/null || true
    "${PSQL[@]}" -c "CREATE DATABASE pqf_inplace" 2>/dev/null || true
    "$PQF" apply "$FEED" "postgres:$PQF_TEST_PG" --until 1 >/dev/null
    "${PSQL[@]}" -c "VACUUM ANALYZE mixed" -c "CHECKPOINT"
    "${PSQL[@]}" -c "CREATE TABLE ceil (id bigint, i32 integer, f64 double precision, flag boolean,
        ts timestamptz, day date, category text, uid text, maybe_int bigint, amount numeric(18,2),
        created_at timestamptz, updated_at timestamptz, deleted boolean)"
    measure "PostgreSQL ceiling: psql \\copy FROM csv (empty table, no index)" \
        "${PSQL[@]}" -c "\\copy ceil FROM '$DIR/changes.csv' CSV HEADER"
    ceil=$LAST_WALL
    "${PSQL[@]}" -c "CHECKPOINT"
    measure "PostgreSQL: pqfeed apply (commit 2 into $ROWS rows)" "$PQF" apply "$FEED" "postgres:$PQF_TEST_PG"
    ours=$LAST_WALL
    SUMMARY+=("PostgreSQL: pqfeed apply = $(ratio "$ceil" "$ours")x the bulk-load ceiling")
    if [ -n "$OLD_PQF" ]; then
        OLD_URL=$(echo "$PQF_TEST_PG" | sed "s/dbname=[^ ]*/dbname=pqf_old/")
        "$OLD_PQF" apply "$FEED" "postgres:$OLD_URL" --until 1 >/dev/null
        psql -X -q "$OLD_URL" -c "VACUUM ANALYZE mixed" -c "CHECKPOINT"
        measure "PostgreSQL: older pqfeed apply ($OLD_PQF)" "$OLD_PQF" apply "$FEED" "postgres:$OLD_URL"
        SUMMARY+=("PostgreSQL: older pqfeed apply = $(ratio "$ceil" "$LAST_WALL")x")
    fi
    if [ "${PG_TEXT:-0}" = 1 ]; then
        "${PSQL[@]}" -c "CREATE DATABASE pqf_text" 2>/dev/null || true
        TX_URL=$(echo "$PQF_TEST_PG" | sed "s/dbname=[^ ]*/dbname=pqf_text/")
        "$PQF" apply "$FEED" "postgres:$TX_URL" --until 1 >/dev/null
        psql -X -q "$TX_URL" -c "VACUUM ANALYZE mixed" -c "CHECKPOINT"
        measure "PostgreSQL: pqfeed apply, text COPY (PQF_PG_COPY=text)" env PQF_PG_COPY=text "$PQF" apply "$FEED" "postgres:$TX_URL"
        SUMMARY+=("PostgreSQL: pqfeed apply with PQF_PG_COPY=text = $(ratio "$ceil" "$LAST_WALL")x")
        d1=$("${PSQL[@]}" -At -c "SELECT md5(string_agg(m::text, ',' ORDER BY id)) FROM mixed m")
        d2=$(psql -X -At "$TX_URL" -c "SELECT md5(string_agg(m::text, ',' ORDER BY id)) FROM mixed m")
        [ "$d1" = "$d2" ] && SUMMARY+=("PostgreSQL: binary and text COPY give identical tables (md5 $d1)") ||
            SUMMARY+=("PostgreSQL: binary and text COPY give DIFFERENT tables!")
    fi
    if [ "${PG_STAGE:-0}" = 1 ]; then
        "${PSQL[@]}" -c "CREATE DATABASE pqf_stage" 2>/dev/null || true
        ST_URL=$(echo "$PQF_TEST_PG" | sed "s/dbname=[^ ]*/dbname=pqf_stage/")
        "$PQF" apply "$FEED" "postgres:$ST_URL" --until 1 >/dev/null
        psql -X -q "$ST_URL" -c "VACUUM ANALYZE mixed" -c "CHECKPOINT"
        measure "PostgreSQL: pqfeed apply, rewrite through the stage (PQF_PG_DIRECT=off)" env PQF_PG_DIRECT=off "$PQF" apply "$FEED" "postgres:$ST_URL"
        SUMMARY+=("PostgreSQL: pqfeed apply with PQF_PG_DIRECT=off = $(ratio "$ceil" "$LAST_WALL")x")
        # rows and the sum of each row's md5 (its first 60 bits): order-free, no 1 GB string
        sq="SELECT count(*) || ':' || sum(('x' || left(md5(m::text), 15))::bit(60)::bigint) FROM mixed m"
        d1=$("${PSQL[@]}" -At -c "$sq")
        d2=$(psql -X -At "$ST_URL" -c "$sq")
        [ "$d1" = "$d2" ] && SUMMARY+=("PostgreSQL: direct and staged rewrite give identical tables (rows:sum of row md5s $d1)") ||
            SUMMARY+=("PostgreSQL: direct and staged rewrite give DIFFERENT tables!")
        psql -X -q "$PQF_TEST_PG" -c "DROP DATABASE pqf_stage"
    fi
    if [ "${PG_INPLACE:-0}" = 1 ]; then
        IP_URL="$(echo "$PQF_TEST_PG" | sed "s/dbname=[^ ]*/dbname=pqf_inplace/") options='-c pqfeed.rewrite_ratio=off'"
        "$PQF" apply "$FEED" "postgres:$IP_URL" --until 1 >/dev/null
        psql -X -q "$IP_URL" -c "VACUUM ANALYZE mixed" -c "CHECKPOINT"
        measure "PostgreSQL: pqfeed apply in place (pqfeed.rewrite_ratio=off)" "$PQF" apply "$FEED" "postgres:$IP_URL"
        SUMMARY+=("PostgreSQL: pqfeed apply in place = $(ratio "$ceil" "$LAST_WALL")x")
        [ "$(psql -X -At "$IP_URL" -c "SELECT count(*) FROM mixed")" = "$("${PSQL[@]}" -At -c "SELECT count(*) FROM mixed")" ] ||
            SUMMARY+=("PostgreSQL: in place and rewrite hold different row counts!")
    fi
    n_sink=$("${PSQL[@]}" -At -c "SELECT count(*) FROM mixed")
    SUMMARY+=("PostgreSQL sink holds $n_sink rows after the commit")
    scripts/pg.sh stop "$PQF_PG_DIR"
    trap - EXIT
    ;;
esac
done

{
    echo "### apply: $ROWS change rows ($ops) into a table of $ROWS rows"
    echo
    echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end (shared with other jobs)."
    echo "Feed: 2 commits, data files $((feed_bytes / 1048576)) MiB in all (zstd)."
    echo
    echo "| step | wall s | CPU s (user+sys, client) | server CPU s (PostgreSQL) | peak RSS MiB | rows/s |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS_MD[@]}"
    echo
    printf -- '- %s\n' "${SUMMARY[@]}"
} | tee "$REPORT"
