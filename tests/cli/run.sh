#!/usr/bin/env bash
# pqfeed run: the whole pipeline from a config file, on local stores: hourly
# API pages arrive, each cycle exports, replicates to the DR copy and applies
# to SQLite; the sink ends equal to the source table, the replica equal to
# the primary; a cycle with nothing new changes nothing; a bad config fails.
. "$(dirname "$0")/../lib.sh"
EQ=$ROOT/tests/cli/sink_equals.mjs
W=$T/w
mkdir -p "$W/inbox"
"$PQF" gen --out "$W/api" --table issues --hours 3 --rows 2500 --page-rows 400 --seed 8 >/dev/null
cat >"$W/pipeline.yaml" <<'YAML'
primary: ./feed
replicas: [./dr]
sink: sqlite:./warehouse.db
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
    target_file_size: 48K
YAML
cycles_ok=1
for h in 0 1 2 3; do
    for f in "$W"/api/hour-000$h/*.ndjson; do cp "$f" "$W/inbox/h$h-$(basename "$f")"; done
    "$PQF" run "$W/pipeline.yaml" --once --as-of "2026-01-05T0$h" --json >"$T/c$h.json" 2>"$T/c$h.err" || { cycles_ok=0; cat "$T/c$h.err"; }
done
check_eq "four hourly cycles succeed" "$cycles_ok" 1
check_grep "a cycle exports, replicates and applies one commit" '"exported_commits":1,.*"replicated_commits":1,.*"applied_commits":1,' "$T/c2.json"
check "the replica equals the primary" "$PQF" verify "$W/feed" "$W/dr"
check "the replica's log verifies with checksums" "$PQF" log "$W/dr" --deep
sqlite3 -json "$W/warehouse.db" "SELECT * FROM issues ORDER BY id" >"$T/dump.json"
check "the sink equals the source table's final state" node "$EQ" "$W/api/issues.schema.json" "$W/api/issues.final.ndjson" "$T/dump.json"
"$PQF" run "$W/pipeline.yaml" --once --json >"$T/again.json" 2>&1
check_grep "a cycle with nothing new changes nothing" '"exported_commits":0,.*"replicated_commits":0,.*"applied_commits":0,.*"exit":0' "$T/again.json"
check_eq "the sink's checkpoint is at the head" "$(sqlite3 "$W/warehouse.db" "SELECT max(seq) FROM _pqfeed_checkpoint")" 4
"$PQF" run "$W/pipeline.yaml" --once >"$T/text.out" 2>&1
check_grep "the text summary names each stage" "^replicate 1 replica" "$T/text.out"
printf 'primary: ./feed\ntables:\n  issues:\n    source: {path: inbox}\n    infer_rows: 10\n    moed: changes\n' >"$W/bad.yaml"
check_exit "a config error stops before any work" 3 "$PQF" run "$W/bad.yaml" --once
check_grep "naming file, line and key" "bad.yaml:6: tables.issues.moed: unknown key" "$T/last.out"
# Replica entries with settings of their own (a pass each), beside a plain one.
sed 's|^replicas: \[./dr\]|replicas:\n  - ./dr\n  - {store: ./dr-full, concurrency: 2, verify: full, bwlimit: 512M, max_inflight_bytes: 8M}\n  - store: ./dr-s3like\n    part_size: 16M|' \
    "$W/pipeline.yaml" >"$W/multi.yaml"
"$PQF" run "$W/multi.yaml" --once --json >"$T/multi.json" 2>"$T/multi.err"
check_eq "a cycle with per-replica settings succeeds" "$?" 0
check_grep "it replicates the four commits to each new replica" '"replicated_commits":8' "$T/multi.json"
check "the replica with its own settings equals the primary" "$PQF" verify "$W/feed" "$W/dr-full" --deep
check "the replica with its own part size too" "$PQF" verify "$W/feed" "$W/dr-s3like" --deep
check "and the plain one still does" "$PQF" verify "$W/feed" "$W/dr"
sed 's|^replicas: \[./dr\]|replicas:\n  - {store: ./dr-x, concurrency: 0}|' "$W/pipeline.yaml" >"$W/badrep.yaml"
check_exit "a bad replica setting stops before any work" 3 "$PQF" run "$W/badrep.yaml" --once
check_grep "naming file, line and setting" "badrep.yaml:3: replicas.concurrency: expected 1 to 100000" "$T/last.out"
sed 's|^replicas: \[./dr\]|replicas:\n  - {concurrency: 4}|' "$W/pipeline.yaml" >"$W/norep.yaml"
check_exit "a replica map without store: is refused" 3 "$PQF" run "$W/norep.yaml" --once
check_grep "naming it" "norep.yaml:3: replicas: a replica written as a map needs store:" "$T/last.out"
sed 's|^replicas: \[./dr\]|replicas:\n  - {store: ./dr-y, parts: 4}|' "$W/pipeline.yaml" >"$W/unk.yaml"
check_exit "an unknown replica setting is refused" 3 "$PQF" run "$W/unk.yaml" --once
check_grep "naming it" "unk.yaml:3: parts: unknown replica setting" "$T/last.out"
test ! -e "$W/dr-x" -a ! -e "$W/dr-y"
check_eq "nothing was written for the refused configs" "$?" 0
# SIGTERM while waiting for the next cycle: a clean exit
"$PQF" run "$W/pipeline.yaml" >"$T/loop.out" 2>&1 &
pid=$!
sleep 1.5
kill -TERM "$pid"
wait "$pid"
check_eq "SIGTERM between cycles exits 0" "$?" 0
done_testing
