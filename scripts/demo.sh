#!/usr/bin/env bash
# The main job on the embedded default (a local directory, no account
# needed): generate the issue-tracker sample dataset and convert every table
# to Parquet, printing a summary. Installs what it needs; safe to repeat.
# DEMO_DIR (default ./demo) holds the output; DEMO_ROWS sets the size.
set -eu
cd "$(dirname "$0")/.."
PQF_NO_NPM=1 scripts/deps.sh
make -j"$(nproc)" build/pqfeed >/dev/null
DIR=${DEMO_DIR:-demo}
ROWS=${DEMO_ROWS:-100000}
rm -rf "$DIR"
mkdir -p "$DIR/source" "$DIR/parquet"
echo "== generating the issue-tracker dataset ($ROWS issues, seed 42) into $DIR/source"
build/pqfeed gen --table all --rows "$ROWS" --seed 42 --format ndjson --out "$DIR/source"
echo "== converting each table to Parquet (zstd) into $DIR/parquet"
for f in "$DIR"/source/*.ndjson; do
    t=$(basename "$f" .ndjson)
    printf '%-10s ' "$t"
    build/pqfeed convert "$f" "$DIR/parquet/$t.parquet" --schema "$DIR/source/$t.schema.json" --codec zstd
done
echo "== the issues table, as pqfeed reads it back"
build/pqfeed parquet inspect "$DIR/parquet/issues.parquet" | head -n 40
echo "== first rows"
build/pqfeed parquet cat "$DIR/parquet/issues.parquet" --limit 3
echo "== done: $(ls "$DIR"/parquet | wc -l) Parquet files in $DIR/parquet ($(du -sh "$DIR/parquet" | cut -f1))"
