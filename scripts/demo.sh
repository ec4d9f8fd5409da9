#!/usr/bin/env bash
# The main job on the embedded default (a local directory, no account
# needed): the issue-tracker data as hourly API pages becomes a feed of
# ordered, hash-chained Parquet commits; the log is verified; a table is
# read back. Installs what it needs; safe to repeat (it starts afresh).
# DEMO_DIR (default ./demo) holds everything; DEMO_ROWS sets the size.
set -eu
cd "$(dirname "$0")/.."
PQF_NO_NPM=1 scripts/deps.sh
make -j"$(nproc)" build/pqfeed >/dev/null
P=build/pqfeed
DIR=${DEMO_DIR:-demo}
ROWS=${DEMO_ROWS:-100000}
HOURS=${DEMO_HOURS:-4}
rm -rf "$DIR"
mkdir -p "$DIR"
echo "== 1. the source: $ROWS issues as hourly API pages ($HOURS hours of changes), seed 42"
$P gen --out "$DIR/api" --table issues --rows "$ROWS" --hours "$HOURS" --page-rows 5000 --seed 42
echo "   $(ls "$DIR"/api/hour-*/*.ndjson | wc -l) pages in $DIR/api"
echo "== 2. export each hour as the next commit of the feed in $DIR/feed"
for h in $(seq 0 "$HOURS"); do
    hh=$(printf '%04d' "$h")
    $P export "$DIR/feed" --table issues --schema "$DIR/api/issues.schema.json" --mode changes \
        --key id --watermark updated_at --delete-column deleted --created-column created_at \
        --as-of "2026-01-05T$(printf '%02d' "$h"):00:00Z" "$DIR/api/hour-$hh"
done
echo "== 3. a rerun of the last hour is a no-op (the watermark moved on)"
$P export "$DIR/feed" --table issues --schema "$DIR/api/issues.schema.json" --mode changes \
    --key id --watermark updated_at --delete-column deleted --created-column created_at \
    "$DIR/api/hour-$(printf '%04d' "$HOURS")"
echo "== 4. the log, verified: hash chain, every file and its SHA-256"
$P log "$DIR/feed" --deep
echo "== 5. the last commit's first file, as any Parquet reader sees it"
last=$(ls "$DIR"/feed/issues/data/*/hour=*/*.parquet | tail -1)
$P parquet inspect "$last" | sed -n '1,25p'
$P parquet cat "$last" --columns id,status,updated_at,_op,_seq --limit 5
echo "== 6. a whole table as one standalone Parquet file"
$P gen --out "$DIR/snap" --table worklogs --rows "$ROWS" --format csv --seed 42
$P convert "$DIR/snap/worklogs.csv" "$DIR/worklogs.parquet" --schema "$DIR/snap/worklogs.schema.json"
$P parquet validate "$DIR/worklogs.parquet"
echo "== done: feed in $DIR/feed ($(du -sh "$DIR/feed" | cut -f1)), $(ls "$DIR"/feed/issues/_log | wc -l) commits"
