#!/usr/bin/env bash
# pqfeed export from a SQLite table: a snapshot commit with the table's types,
# a second snapshot after changes, and clear errors; then changes mode: a
# snapshot and hours of increments made by SQL (updates, inserts, soft
# deletes), kill -9 at crash points with reruns, an overlap window for a late
# row, and DuckDB reading the data folder equal to the table.
. "$(dirname "$0")/../lib.sh"
DB=$T/src.db
sqlite3 "$DB" "CREATE TABLE issues(id INTEGER PRIMARY KEY NOT NULL, title TEXT NOT NULL, points INTEGER, est DECIMAL(10,2), updated DATETIME);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
INSERT INTO issues SELECT i, 'issue ' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE i % 13 END, (i % 1000) / 4.0, datetime(1767571200 + i * 60, 'unixepoch') FROM n;"
F=$T/feed
check "export a SQLite table" "$PQF" export "$F" --table issues --sqlite "$DB" --sqlite-table issues --key id --target-file-size 32K
check "the log verifies" "$PQF" log "$F" --deep
for f in $(grep -oh '"key":"[^"]*\.parquet"' "$F"/issues/_log/*1.json | cut -d'"' -f4); do "$PQF" parquet cat "$F/$f"; done >"$T/rows.ndjson"
check_eq "every row is in the commit" "$(wc -l <"$T/rows.ndjson")" 4000
check_grep "types: integer, text, decimal, timestamp" '^\{"id":7,"title":"issue 7","points":null,"est":1\.75,"updated":"2026-01-05T00:07:00' "$T/rows.ndjson"
sqlite3 "$DB" "DELETE FROM issues WHERE id > 3990; UPDATE issues SET title = 'changed' WHERE id = 1;"
check "a second snapshot" "$PQF" export "$F" --table issues --sqlite "$DB" --sqlite-table issues --key id
"$PQF" log "$F" --json >"$T/log.json"
check_grep "two commits, the second with 3990 rows" '"seq":2,"kind":"snapshot","schema_version":1,"rows":3990' "$T/log.json"
check_exit "a missing table is an error naming it" 9 "$PQF" export "$F" --table issues --sqlite "$DB" --sqlite-table nope
check_grep "the message names the table" "nope" "$T/last.out"

# ---- changes mode ---------------------------------------------------------------------------
D=$T/ch.db
B=1767571200 # 2026-01-05T00:00:00Z
sqlite3 "$D" "CREATE TABLE issues(id INTEGER PRIMARY KEY NOT NULL, title TEXT NOT NULL, points INTEGER, updated DATETIME NOT NULL, created DATETIME NOT NULL, deleted BOOLEAN NOT NULL DEFAULT 0);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO issues SELECT i, 'issue ' || i, i % 13, datetime($B + i, 'unixepoch'), datetime($B + i, 'unixepoch'), 0 FROM n;"
C=$T/chfeed
CH=(--table issues --sqlite "$D" --sqlite-table issues --key id --watermark updated --target-file-size 16K)
CHG=("${CH[@]}" --mode changes --delete-column deleted --created-column created)
check "a snapshot read in watermark order" "$PQF" export "$C" "${CH[@]}" --as-of 2026-01-05T00:00:00Z
"$PQF" log "$C" --json >"$T/chlog.json"
check_grep "the snapshot records its watermark range" '"watermark":\{"column":"updated","from":"2026-01-05 00:00:01","to":"2026-01-05 00:50:00"\}' "$C/issues/_log/00000000000000000001.json"
# hour h: updates, inserts and soft deletes, every watermark inside [base, base + 1100 s)
hour() {
    local base=$((B + 3600 * $1))
    sqlite3 "$D" "UPDATE issues SET title = title || ' h$1', points = points + 1, updated = datetime($base + id % 600, 'unixepoch') WHERE id % 5 = $1 % 5;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO issues SELECT 3000 + $1 * 100 + i, 'new ' || i, NULL, datetime($base + i, 'unixepoch'), datetime($base + i, 'unixepoch'), 0 FROM n;
UPDATE issues SET deleted = 1, updated = datetime($base + 1000 + id % 100, 'unixepoch') WHERE id % 97 = $1;"
}
changed_since() {
    sqlite3 "$D" "SELECT count(*) FROM issues WHERE updated >= datetime($((B + 3600 * $1)), 'unixepoch')"
}
export_hours_with_crashes 1
check_eq "kill -9 at three crash points, each followed by a rerun that completes" "$crash_ok" 1
check "the log verifies" "$PQF" log "$C" --deep
check_eq "a snapshot and five change commits" "$(ls "$C"/issues/_log | grep -c '^[0-9]*\.json$')" 6
got_changes=$("$PQF" log "$C" --json | grep -o '"kind":"changes","schema_version":1,"rows":[0-9]*' | awk -F: '{ s += $NF } END { print s }')
check_eq "the change commits hold every changed row once" "$got_changes" "$want_changes"
check_grep "the rerun after a publish finds nothing new" '"committed":false' "$T/h4.json"
for f in $(grep -oh '"key":"[^"]*\.parquet"' "$C"/issues/_log/0000000000000000000[2-9].json | cut -d'"' -f4); do "$PQF" parquet cat "$C/$f"; done >"$T/changes.ndjson"
check_eq "no (id, watermark) twice among the change rows" "$(grep -o '"id":[0-9]*,.*"updated":"[^"]*"' "$T/changes.ndjson" | sed 's/"title".*"updated"/"updated"/' | sort | uniq -d | wc -l)" 0
check_grep "inserts are I" '"title":"new 1","points":null,"updated":"2026-01-05T01:00:01Z","created":"2026-01-05T01:00:01Z","deleted":false,"_op":"I"' "$T/changes.ndjson"
check_grep "soft deletes are D" '"deleted":true,"_op":"D"' "$T/changes.ndjson"
check_grep "updates are U, with _seq and _ts" '"_op":"U","_seq":[0-9]+,"_ts":"2026-01-05T0' "$T/changes.ndjson"

# a row committed late (its watermark before the last one): only an overlap window finds it
last=$(sqlite3 "$D" "SELECT max(updated) FROM issues")
sqlite3 "$D" "INSERT INTO issues VALUES (99999, 'late', 1, datetime('$last', '-5 minutes'), datetime('$last', '-5 minutes'), 0)"
check "without overlap the late row is not seen" "$PQF" export "$C" "${CHG[@]}" --as-of 2026-01-05T05:00:00Z --json
check_grep "(nothing new)" '"committed":false' "$T/last.out"
check "with --overlap 10m it is exported, the re-read rows dropped" "$PQF" export "$C" "${CHG[@]}" --overlap 10m --as-of 2026-01-05T05:00:00Z --json
check_grep "one row, the rest duplicates" '"committed":true,"seq":7,"rows":1,"skipped":0,"duplicates":[1-9]' "$T/last.out"

if [ -d "$ROOT/tests/interop/node_modules/@duckdb" ] && command -v node >/dev/null; then
    sqlite3 -json "$D" "SELECT id, title, points, updated FROM issues WHERE deleted = 0" >"$T/src.json"
    node "$ROOT/tests/interop/duck.mjs" \
        "CREATE VIEW ch AS SELECT * FROM read_parquet('$C/issues/data/**/*.parquet', hive_partitioning=true, union_by_name=true)" \
        "CREATE VIEW cur AS SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY coalesce(_seq, -1) DESC) AS rn FROM ch) WHERE rn = 1 AND coalesce(_op, '') <> 'D'" \
        "CREATE VIEW src AS SELECT * FROM read_json('$T/src.json', columns={id:'BIGINT', title:'VARCHAR', points:'BIGINT', updated:'TIMESTAMP'})" \
        "SELECT (SELECT count(*) FROM src) AS src_rows, (SELECT count(*) FROM cur) AS feed_rows, (SELECT count(DISTINCT \"hour\") FROM ch) AS hours, (SELECT count(*) FROM ((SELECT id, title, points, epoch_us(updated) FROM cur EXCEPT SELECT id, title, points, epoch_us(updated) FROM src) UNION ALL (SELECT id, title, points, epoch_us(updated) FROM src EXCEPT SELECT id, title, points, epoch_us(updated) FROM cur))) AS diff" >"$T/duck.json" 2>&1
    check_grep "DuckDB: snapshot plus increments equal the table (hive partitions of 6 hours)" '"src_rows":"?([0-9]+)"?,"feed_rows":"?\1"?,"hours":"?6"?,"diff":"?0"?' "$T/duck.json"
else
    skip "DuckDB: snapshot plus increments equal the table" "no node/DuckDB in tests/interop"
fi

# ---- from a pipeline config: pqfeed run exports the SQLite table's changes and applies them ----
P=$T/pipe
mkdir -p "$P"
sqlite3 "$D" ".backup '$P/app.db'"
cat >"$P/pipeline.yaml" <<'YAML'
primary: ./feed
sink: sqlite:./warehouse.db
tables:
  issues:
    source: {format: sqlite, path: app.db, table: issues}
    key: [id]
    mode: changes
    watermark: updated
    delete_column: deleted
    created_column: created
    overlap: 10m
    target_file_size: 16K
YAML
sink_eq() { # the sink's rows equal the source's live rows
    [ "$(sqlite3 "$P/warehouse.db" "SELECT id, title, points FROM issues ORDER BY id")" = \
      "$(sqlite3 "$P/app.db" "SELECT id, title, points FROM issues WHERE NOT deleted ORDER BY id")" ]
}
check "pqfeed run --once: a config table from SQLite in changes mode" "$PQF" run "$P/pipeline.yaml" --once --as-of 2026-01-05T06:00:00Z
check "the sink equals the table" sink_eq
nchanged=$(sqlite3 "$P/app.db" "SELECT count(*) FROM issues WHERE id % 10 = 3 OR (id % 10 = 4 AND NOT deleted)")
sqlite3 "$P/app.db" "UPDATE issues SET title = 'cycle 2', updated = datetime(updated, '+3 hours') WHERE id % 10 = 3;
UPDATE issues SET deleted = 1, updated = datetime(updated, '+3 hours') WHERE id % 10 = 4 AND NOT deleted;"
check "a second cycle after SQL updates and deletes" "$PQF" run "$P/pipeline.yaml" --once --as-of 2026-01-05T07:00:00Z
check "the sink equals the table again" sink_eq
"$PQF" log "$P/feed" issues --json >"$T/plog.json"
check_grep "the second commit holds only the changed rows" '"seq":2,"kind":"changes","schema_version":1,"rows":'"$nchanged"',' "$T/plog.json"
printf 'primary: x\ntables:\n  t:\n    source: {format: postgres, table: t}\n' >"$T/badpg.yaml"
check_exit "a config postgres source without a conninfo" 3 "$PQF" export --config "$T/badpg.yaml"
check_grep "names the file, line and key" "badpg.yaml:4: tables.t.source: format postgres needs a conninfo" "$T/last.out"

# bad input: named with the table and row, nothing committed
E=$T/efeed
sqlite3 "$T/bad.db" "CREATE TABLE nokey(k INTEGER, updated DATETIME); INSERT INTO nokey VALUES (1, '2026-01-05 00:00:01'), (NULL, '2026-01-05 00:00:02');
CREATE TABLE back(k INTEGER, updated DATETIME); INSERT INTO back VALUES (1, '2026-01-05 10:00:00'), (2, '2026-01-05T09:00:00Z');
CREATE TABLE nowm(k INTEGER, updated DATETIME); INSERT INTO nowm VALUES (1, '2026-01-05 10:00:00'), (2, NULL);"
check_exit "a row missing its key" 3 "$PQF" export "$E" --table nokey --sqlite "$T/bad.db" --sqlite-table nokey --key k --watermark updated --mode changes
check_grep "is named with the table and row" "sqlite table nokey: row 2: key column 'k' is missing or null" "$T/last.out"
check_exit "a watermark going backwards (mixed spellings order otherwise as text)" 3 "$PQF" export "$E" --table back --sqlite "$T/bad.db" --sqlite-table back --key k --watermark updated --mode changes
check_grep "is named with the table and row" "sqlite table back: row 2: watermark 'updated' goes backwards: 2026-01-05T09:00:00Z is older than 2026-01-05 10:00:00" "$T/last.out"
check_exit "a NULL watermark" 3 "$PQF" export "$E" --table nowm --sqlite "$T/bad.db" --sqlite-table nowm --key k --watermark updated --mode changes
check_grep "is named with the table and row" "sqlite table nowm: row 2: the watermark column 'updated' is missing or null" "$T/last.out"
check_eq "nothing was committed" "$(ls "$E"/*/_log 2>/dev/null | grep -c '^[0-9]*\.json$')" 0
done_testing
