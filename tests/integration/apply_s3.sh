#!/usr/bin/env bash
# pqfeed apply --watch from a replica bucket on a real Ceph RGW (started here,
# stopped on exit) while the objects of commits 1..6 (data files and commit
# objects) are uploaded by the test in random order with random delays, as
# bucket replication delivers them: the sink applies in order, never a
# partial commit, waits, and ends equal to the source. Then the same feed into the
# Parquet snapshot sink in the bucket (parquet:s3://...), read back by DuckDB.
. "$(dirname "$0")/../lib.sh"
EQ=$ROOT/tests/cli/sink_equals.mjs

start_rgw
/usr/bin/aws --endpoint-url "$RGW_ENDPOINT" s3 mb s3://pqf-replica >/dev/null 2>&1
S3=s3://pqf-replica/dr/feed

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 5 --rows 2000 --page-rows 250 --seed 11 >/dev/null
SCHEMA=$G/issues.schema.json
CH=(--table issues --schema "$SCHEMA" --mode changes --key id --watermark updated_at
    --delete-column deleted --created-column created_at --target-file-size 16K)
F=$T/feed
for h in 0 1 2 3 4 5; do
    "$PQF" export "$F" "${CH[@]}" --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >/dev/null
done
check "six commits in the source feed" test -f "$F/issues/_log/$(printf '%020d' 6).json"
"$PQF" apply "$F" "$T/ref.db" >/dev/null
rows_of() { sqlite3 "$1" "SELECT group_concat(seq || ':' || rows) FROM (SELECT seq, rows FROM _pqfeed_checkpoint ORDER BY seq)"; }

# The feed's description and schema first; then every data file and commit
# object of commits 1..6, shuffled, each after a random pause.
(cd "$F" && find . -type f ! -path './issues/data/*' ! -path './issues/_log/*' | sed 's|^\./||') >"$T/meta"
(cd "$F" && find issues/data issues/_log -type f | shuf --random-source=<(yes 11)) >"$T/order"
nobj=$(wc -l <"$T/order")
check "many objects to deliver ($nobj)" test "$nobj" -ge 20
while read -r k; do "$PQF" cp --quiet "$F/$k" "$S3/$k"; done <"$T/meta"

DB=$T/sink.db
"$PQF" apply "$S3" "sqlite:$DB" --watch --poll 200ms --backoff 100ms --max-delay 60s \
    >"$T/watch.out" 2>"$T/watch.err" &
apid=$!
# Sample the sink while objects arrive: the checkpoints must always be a
# prefix 1..k of the commits, each with all its rows (never a partial commit).
sampling_ok=1 samples=0
prefix_ok() {
    local got want
    got=$(rows_of "$DB" 2>/dev/null) || return 0 # the sink may not exist yet
    [ -z "$got" ] && return 0
    want=$(rows_of "$T/ref.db" | cut -d, -f1-"$(echo "$got" | tr ',' '\n' | wc -l)")
    [ "$got" = "$want" ] || { echo "# sink has $got, want a prefix of $(rows_of "$T/ref.db")"; return 1; }
}
i=0
while read -r k; do
    i=$((i + 1))
    "$PQF" cp --quiet "$F/$k" "$S3/$k"
    sleep "$(awk -v i="$i" 'BEGIN { srand(i); printf "%.3f", rand() * 0.25 }')"
    if [ $((i % 3)) -eq 0 ]; then
        prefix_ok || sampling_ok=0
        samples=$((samples + 1))
    fi
done <"$T/order"
check_eq "while objects arrived ($samples samples): applied commits were always 1..k, each whole" "$sampling_ok" 1
# then wait for the last commit to be applied
for _ in $(seq 1 150); do
    [ "$(sqlite3 "$DB" "SELECT coalesce(max(seq), 0) FROM _pqfeed_checkpoint" 2>/dev/null)" = 6 ] && break
    sleep 0.2
done
kill -TERM "$apid" 2>/dev/null
wait "$apid"
check_eq "--watch stopped cleanly on SIGTERM" "$?" 0
check_eq "every commit applied once, in order, with all its rows" "$(rows_of "$DB")" "$(rows_of "$T/ref.db")"
check_eq "applied in seq order (applied_at never goes back)" \
    "$(sqlite3 "$DB" "SELECT count(*) FROM _pqfeed_checkpoint a JOIN _pqfeed_checkpoint b ON b.seq = a.seq + 1 WHERE b.applied_at < a.applied_at")" 0
check_grep "it said what it waited for" "waiting [0-9]+ ms for issues/" "$T/watch.err"
sqlite3 -json "$DB" "SELECT * FROM issues ORDER BY id" >"$T/dump.json"
check "the sink equals the source table's final state" node "$EQ" "$SCHEMA" "$G/issues.final.ndjson" "$T/dump.json"

# ---- the Parquet snapshot sink in a bucket --------------------------------------------------------
PQ=s3://pqf-replica/snapshot
check "apply the replica to parquet:s3://..." "$PQF" apply "$S3" "parquet:$PQ" --max-delay 5s
"$PQF" cp --recursive --quiet "$PQ/" "$T/snap"
check_eq "one manifest (commit 6) and the one data file it names" \
    "$(ls "$T/snap/issues/_manifest"),$(find "$T/snap/issues/data" -type f | wc -l)" "00000000000000000006.json,1"
"$PQF" apply "$S3" "parquet:$PQ" >"$T/pq-rerun.out" 2>&1
check_grep "a rerun on S3 applies nothing" "nothing to apply" "$T/pq-rerun.out"
if [ -d "$ROOT/tests/interop/node_modules/@duckdb" ]; then
    node "$ROOT/tests/interop/duck.mjs" "SELECT count(*) AS n, sum(id) AS s FROM read_parquet('$T/snap/issues/data/*.parquet')" >"$T/pq.json"
    want=$(sqlite3 "$T/ref.db" "SELECT '\"n\":\"' || count(*) || '\",\"s\":\"' || sum(id) || '\"' FROM issues")
    check_grep "DuckDB reads the snapshot: the reference's row count and key sum" "$want" "$T/pq.json"
fi

done_testing
