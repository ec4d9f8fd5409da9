#!/usr/bin/env bash
# pqfeed export --config: several tables from one YAML pipeline file, and
# config errors that name the file, the line and the key.
. "$(dirname "$0")/../lib.sh"

W=$T/work
mkdir -p "$W"
"$PQF" gen --out "$W/pages" --table issues --hours 1 --rows 600 --page-rows 200 --seed 2 >/dev/null
"$PQF" gen --out "$W/snap" --table users --rows 300 --format csv --seed 2 >/dev/null
cat >"$W/pipeline.yaml" <<'YAML'
# the hourly feed of the issue tracker
primary: ./feed
replicas: [./dr]
sink: sqlite:./warehouse.db
schedule: hourly
window: "22:00-06:00"
tables:
  issues:
    source: {format: ndjson, path: pages/hour-0000}
    schema: pages/issues.schema.json
    key: [id]
    mode: changes
    watermark: updated_at
    delete_column: deleted
    created_column: created_at
    target_file_size: 64K
    codec: snappy
  users:
    source:
      format: csv
      path: snap/users.csv
    infer_rows: 100
    key: id
YAML
(cd "$T" && "$PQF" export --config work/pipeline.yaml --as-of 2026-01-05T00:00:00Z --json) >"$T/out.json" 2>&1
check_grep "the changes table is exported" '"table":"issues","committed":true,"seq":1,"rows":600' "$T/out.json"
check_grep "the snapshot table is exported" '"table":"users","committed":true,"seq":1,"rows":300' "$T/out.json"
check "paths are relative to the config file" test -f "$W/feed/_feed.json"
check_grep "both tables are in _feed.json" '"tables":\["issues","users"\]' "$W/feed/_feed.json"
f=$(ls "$W"/feed/issues/data/*/*/*.parquet | head -1)
"$PQF" parquet inspect "$f" >"$T/insp.out"
check_grep "the table's codec setting is used" "SNAPPY|snappy" "$T/insp.out"
check_grep "the key list is recorded" '"key": \["id"\]' "$W/feed/users/_schema/000001.json"
"$PQF" export --config "$W/pipeline.yaml" --tables users --json >"$T/again.json" 2>&1
check_grep "--tables limits the run; an unchanged snapshot is not committed again" '"table":"users","committed":false' "$T/again.json"
check "and issues was not touched" bash -c "! grep -q issues '$T/again.json'"

bad() { # DESC LINE-AND-KEY-PATTERN YAML
    printf '%s\n' "$3" >"$T/bad.yaml"
    check_exit "$1: exit 3" 3 "$PQF" export --config "$T/bad.yaml"
    check_grep "$1: the message names file, line and key" "bad.yaml:$2" "$T/last.out"
}
bad "a misspelt key" "4: tables.t.modee: unknown key" "$(printf 'primary: x\ntables:\n  t:\n    modee: changes\n    source: {path: a.csv}\n    infer_rows: 1')"
bad "a bad mode" "4: tables.t.mode: expected snapshot or changes" "$(printf 'primary: x\ntables:\n  t:\n    mode: sometimes\n    source: {path: a.csv}\n    infer_rows: 1')"
bad "changes without a watermark" "3: tables.t: mode changes needs a watermark" "$(printf 'primary: x\ntables:\n  t:\n    mode: changes\n    source: {path: a.csv}\n    infer_rows: 1')"
bad "a table without a source" "3: tables.t: needs a source" "$(printf 'primary: x\ntables:\n  t:\n    infer_rows: 1')"
bad "a bad size" "5: tables.t.target_file_size: expected a size" "$(printf 'primary: x\ntables:\n  t:\n    source: {path: a.csv}\n    target_file_size: lots\n    infer_rows: 1')"
bad "a duplicate key" "3: key 'primary' appears twice" "$(printf 'primary: x\ntables: {}\nprimary: y')"
bad "broken YAML" "[0-9]+: " "$(printf 'primary: [x\ntables:')"
bad "a bad window" "2: window: expected HH:MM-HH:MM" "$(printf 'primary: x\nwindow: nightly\ntables:\n  t: {source: {path: a.csv}, infer_rows: 1}')"
bad "a bad table name" "3: tables: a table name" "$(printf 'primary: x\ntables:\n  9lives: {source: {path: a.csv}, infer_rows: 1}')"
done_testing
