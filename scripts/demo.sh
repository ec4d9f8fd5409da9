#!/usr/bin/env bash
# The main job on the embedded default (local directories, no account
# needed): the issue-tracker data arrives as hourly API pages; each hour
# `pqfeed run` exports the new records as the next commit of the primary
# feed, replicates it to the DR copy (published in order, verified) and
# applies it to a SQLite warehouse; at the end the DR copy is audited and the
# warehouse reconciled with the source. Installs what it needs; safe to
# repeat (it starts afresh). DEMO_DIR (default ./demo), DEMO_ROWS, DEMO_HOURS.
set -eu
cd "$(dirname "$0")/.."
PQF_NO_NPM=1 scripts/deps.sh
make -j"$(nproc)" build/pqfeed >/dev/null
P=$PWD/build/pqfeed
DIR=${DEMO_DIR:-demo}
ROWS=${DEMO_ROWS:-100000}
HOURS=${DEMO_HOURS:-4}
rm -rf "$DIR"
mkdir -p "$DIR/inbox"
echo "== the source: $ROWS issues, then $HOURS hours of changes, as hourly API pages (seed 42)"
$P gen --out "$DIR/api" --table issues --rows "$ROWS" --hours "$HOURS" --page-rows 5000 --seed 42
cat >"$DIR/pipeline.yaml" <<'YAML'
# The demo pipeline: see docs/CONFIG.md
primary: ./primary            # the feed (s3://bucket/prefix works the same)
replicas: [./dr]              # the disaster-recovery copy
sink: sqlite:./warehouse.db   # the consumer
schedule: hourly
tables:
  issues:
    source: {format: ndjson, path: inbox}
    schema: api/issues.schema.json
    key: [id]
    mode: changes
    watermark: updated_at
    delete_column: deleted
    created_column: created_at
YAML
echo "== $DIR/pipeline.yaml:"
sed 's/^/   /' "$DIR/pipeline.yaml"
for h in $(seq 0 "$HOURS"); do
    hh=$(printf '%04d' "$h")
    n=$(ls "$DIR/api/hour-$hh" | wc -l)
    for f in "$DIR/api/hour-$hh"/*.ndjson; do cp "$f" "$DIR/inbox/$hh-$(basename "$f")"; done
    echo "== hour $h: $n new API page(s) arrive; pqfeed run --once"
    $P run "$DIR/pipeline.yaml" --once --as-of "2026-01-05T$(printf '%02d' "$h")"
done
echo "== the primary's log, verified (hash chain, every file and its SHA-256)"
$P log "$DIR/primary" --deep
echo "== the DR copy audited against the primary"
$P verify "$DIR/primary" "$DIR/dr"
echo "== the consumer"
$P apply status "$DIR/dr" "sqlite:$DIR/warehouse.db"
echo "== reconcile: the warehouse against the source table, hour by hour of updated_at"
$P reconcile "$DIR/api/issues.final.ndjson" "sqlite:$DIR/warehouse.db" --table issues --key id \
    --bucket updated_at:hour
echo "== done: primary $(du -sh "$DIR/primary" | cut -f1), DR copy $(du -sh "$DIR/dr" | cut -f1), warehouse $DIR/warehouse.db"
