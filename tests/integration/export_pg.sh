#!/usr/bin/env bash
# pqfeed export from a real PostgreSQL (a throwaway cluster from scripts/pg.sh,
# stopped on exit): a table and a query become snapshot commits; DuckDB-free
# checks read the Parquet back with pqfeed. Then changes mode: a snapshot and
# hours of increments made by SQL (updates, inserts, soft deletes), kill -9 at
# crash points with reruns, a query source, an overlap window for a late row,
# bad rows named by table and row, DuckDB reading the data folder.
. "$(dirname "$0")/../lib.sh"
start_pg
psql -X -q -v ON_ERROR_STOP=1 "$PQF_TEST_PG" -c "
CREATE TABLE issues(id bigint PRIMARY KEY, title text NOT NULL, points int, est numeric(10,2), labels text[], updated timestamptz NOT NULL);
INSERT INTO issues SELECT i, 'issue ' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE i % 13 END, (i % 1000) / 4.0,
  ARRAY['l' || (i % 3)], timestamptz '2026-01-05 00:00:00+00' + i * interval '1 minute' FROM generate_series(1, 20000) i;" >/dev/null
F=$T/feed
check "export a PostgreSQL table" "$PQF" export "$F" --table issues --pg "$PQF_TEST_PG" --pg-table issues --key id --target-file-size 128K
check "the log verifies" "$PQF" log "$F" --deep
"$PQF" log "$F" --json >"$T/log.json"
check_grep "one snapshot commit with every row" '"seq":1,"kind":"snapshot","schema_version":1,"rows":20000' "$T/log.json"
for f in $(grep -oh '"key":"[^"]*\.parquet"' "$F"/issues/_log/*.json | cut -d'"' -f4); do "$PQF" parquet cat "$F/$f"; done >"$T/rows.ndjson"
check_grep "types: bigint, text, int, numeric, text[], timestamptz" '^\{"id":7,"title":"issue 7","points":null,"est":1\.75,"labels":\["l1"\],"updated":"2026-01-05T00:07:00Z"\}$' "$T/rows.ndjson"
check "a query source" "$PQF" export "$F" --table recent --pg "$PQF_TEST_PG" --pg-query "SELECT id, title FROM issues WHERE id > 19000"
"$PQF" log "$F" recent --json >"$T/q.json"
check_grep "the query's rows" '"rows":1000' "$T/q.json"
check_exit "a missing table fails, naming it" 9 "$PQF" export "$F" --table x --pg "$PQF_TEST_PG" --pg-table no_such_table
check_grep "the message names the table" "no_such_table" "$T/last.out"

# ---- changes mode ---------------------------------------------------------------------------
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$PQF_TEST_PG" "$@"; }
psql_ -c "
CREATE TABLE tickets(id bigint PRIMARY KEY, title text NOT NULL, points int, labels text[], updated timestamptz NOT NULL, created timestamptz NOT NULL, deleted bool NOT NULL DEFAULT false);
INSERT INTO tickets SELECT i, 'ticket ' || i, i % 13, ARRAY['l' || (i % 3)], timestamptz '2026-01-05 00:00:00+00' + i * interval '500 ms',
  timestamptz '2026-01-05 00:00:00+00' + i * interval '500 ms', false FROM generate_series(1, 6000) i;" >/dev/null
C=$T/chfeed
CH=(--table tickets --pg "$PQF_TEST_PG" --pg-table tickets --key id --watermark updated --target-file-size 32K)
CHG=("${CH[@]}" --mode changes --delete-column deleted --created-column created --target-file-size 8K)
check "a snapshot read in watermark order" "$PQF" export "$C" "${CH[@]}" --as-of 2026-01-05T00:00:00Z
check_grep "records its watermark range" '"watermark":\{"column":"updated","from":"2026-01-05T00:00:00.500000Z","to":"2026-01-05T00:50:00Z"\}' "$C/tickets/_log/00000000000000000001.json"
# hour h: updates, inserts and soft deletes, watermarks inside [h:00, h:20)
hour() {
    psql_ -c "
UPDATE tickets SET title = title || ' h$1', points = points + 1, labels = labels || 'h$1'::text,
  updated = timestamptz '2026-01-05 0$1:00:00+00' + (id % 600) * interval '1 s' + (id % 7) * interval '1 us' WHERE id % 5 = $1 % 5;
INSERT INTO tickets SELECT 10000 * $1 + i, 'new ' || i, NULL, NULL, timestamptz '2026-01-05 0$1:00:00+00' + i * interval '1 s',
  timestamptz '2026-01-05 0$1:00:00+00' + i * interval '1 s', false FROM generate_series(1, 200) i;
UPDATE tickets SET deleted = true, updated = timestamptz '2026-01-05 0$1:15:00+00' + (id % 100) * interval '1 s' WHERE id % 97 = $1;" >/dev/null
}
changed_since() {
    psql -X -At "$PQF_TEST_PG" -c "SELECT count(*) FROM tickets WHERE updated >= timestamptz '2026-01-05 0$1:00:00+00'"
}
export_hours_with_crashes 2
check_eq "kill -9 at three crash points, each followed by a rerun that completes" "$crash_ok" 1
check "the log verifies" "$PQF" log "$C" --deep
check_eq "a snapshot and five change commits" "$(ls "$C"/tickets/_log | grep -c '^[0-9]*\.json$')" 6
got_changes=$("$PQF" log "$C" tickets --json | grep -o '"kind":"changes","schema_version":1,"rows":[0-9]*' | awk -F: '{ s += $NF } END { print s }')
check_eq "the change commits hold every changed row once" "$got_changes" "$want_changes"
check_grep "the database filtered by the watermark (nothing skipped client-side)" '"committed":true,.*"skipped":0,' "$T/h5.json"
check_grep "the rerun after a publish finds nothing new" '"committed":false' "$T/h4.json"
for f in $(grep -oh '"key":"[^"]*\.parquet"' "$C"/tickets/_log/0000000000000000000[2-9].json | cut -d'"' -f4); do "$PQF" parquet cat "$C/$f"; done >"$T/changes.ndjson"
check_eq "no (id, watermark) twice among the change rows" "$(sed 's/"title".*"updated"/"updated"/; s/,"created".*//' "$T/changes.ndjson" | sort | uniq -d | wc -l)" 0
check_grep "inserts are I" '"title":"new 1","points":null,"labels":null,"updated":"2026-01-05T01:00:01Z","created":"2026-01-05T01:00:01Z","deleted":false,"_op":"I"' "$T/changes.ndjson"
check_grep "soft deletes are D" '"deleted":true,"_op":"D"' "$T/changes.ndjson"
check_grep "updates are U, microseconds kept" '"updated":"2026-01-05T0[0-9]:[0-9:]*\.000006Z",.*"_op":"U","_seq":[0-9]+,"_ts":"' "$T/changes.ndjson"

# a query source in changes mode: the watermark is pushed into the wrapped query
Q=$T/qfeed
QS=(--table open --pg "$PQF_TEST_PG" --pg-query "SELECT id, title, updated FROM tickets WHERE NOT deleted" --key id --watermark updated --mode changes)
check "a query in changes mode" "$PQF" export "$Q" "${QS[@]}" --json
check_grep "its rows" "\"rows\":$(psql -X -At "$PQF_TEST_PG" -c "SELECT count(*) FROM tickets WHERE NOT deleted")," "$T/last.out"
psql_ -c "UPDATE tickets SET title = 'q', updated = timestamptz '2026-01-05 06:00:00+00' + id * interval '1 us' WHERE id BETWEEN 11 AND 20" >/dev/null
check "the next run" "$PQF" export "$Q" "${QS[@]}" --json
check_grep "reads only what changed" '"rows":10,"skipped":0,' "$T/last.out"

# a row committed late (its watermark before the last one): only an overlap window finds it
psql_ -c "INSERT INTO tickets VALUES (99999, 'late', 1, NULL, timestamptz '2026-01-05 05:12:00+00', timestamptz '2026-01-05 05:12:00+00', false)" >/dev/null
check "without overlap the late row is not seen" "$PQF" export "$C" "${CHG[@]}" --as-of 2026-01-05T06:00:00Z --json
check_grep "(only the ten rows changed since)" '"committed":true,"seq":7,"rows":10,' "$T/last.out"
check "with --overlap 1h it is exported, the re-read rows dropped" "$PQF" export "$C" "${CHG[@]}" --overlap 1h --as-of 2026-01-05T06:00:00Z --json
check_grep "one row, the rest duplicates" '"committed":true,"seq":8,"rows":1,"skipped":0,"duplicates":[1-9]' "$T/last.out"

if [ -d "$ROOT/tests/interop/node_modules/@duckdb" ] && command -v node >/dev/null; then
    psql -X -At "$PQF_TEST_PG" -c "COPY (SELECT row_to_json(t) FROM (SELECT id, title, points, labels, updated FROM tickets WHERE NOT deleted) t) TO STDOUT" >"$T/src.ndjson"
    V="id, title, points, labels, epoch_us(updated)"
    node "$ROOT/tests/interop/duck.mjs" \
        "CREATE VIEW ch AS SELECT * FROM read_parquet('$C/tickets/data/**/*.parquet', hive_partitioning=true, union_by_name=true)" \
        "CREATE VIEW cur AS SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY coalesce(_seq, -1) DESC) AS rn FROM ch) WHERE rn = 1 AND coalesce(_op, '') <> 'D'" \
        "CREATE VIEW src AS SELECT * FROM read_json('$T/src.ndjson', columns={id:'BIGINT', title:'VARCHAR', points:'INTEGER', labels:'VARCHAR[]', updated:'TIMESTAMPTZ'})" \
        "SELECT (SELECT count(*) FROM src) AS src_rows, (SELECT count(*) FROM cur) AS feed_rows, (SELECT count(DISTINCT \"hour\") FROM ch) AS hours, (SELECT count(*) FROM ((SELECT $V FROM cur EXCEPT SELECT $V FROM src) UNION ALL (SELECT $V FROM src EXCEPT SELECT $V FROM cur))) AS diff" >"$T/duck.json" 2>&1
    check_grep "DuckDB: snapshot plus increments equal the table (hive partitions of 7 hours)" '"src_rows":"?([0-9]+)"?,"feed_rows":"?\1"?,"hours":"?7"?,"diff":"?0"?' "$T/duck.json"
else
    skip "DuckDB: snapshot plus increments equal the table" "no node/DuckDB in tests/interop"
fi

# from a pipeline config: the same table in changes mode, twice
mkdir -p "$T/pipe"
cat >"$T/pipe/pipeline.yaml" <<YAML
primary: ./feed
tables:
  tickets:
    source: {format: postgres, conninfo: "$PQF_TEST_PG", table: tickets}
    key: [id]
    mode: changes
    watermark: updated
    delete_column: deleted
YAML
check "export --config with a postgres source" "$PQF" export --config "$T/pipe/pipeline.yaml" --json
check_grep "every row" "\"rows\":$(psql -X -At "$PQF_TEST_PG" -c "SELECT count(*) FROM tickets")," "$T/last.out"
psql_ -c "UPDATE tickets SET points = 0, updated = now() WHERE id BETWEEN 100 AND 149" >/dev/null
check "and again after an update" "$PQF" export --config "$T/pipe/pipeline.yaml" --json
check_grep "only the changed rows" '"seq":2,"rows":50,"skipped":0,' "$T/last.out"

# bad rows: named with the table (or query) and row, nothing committed
E=$T/efeed
check_exit "a row missing its key" 3 "$PQF" export "$E" --table nokey --pg "$PQF_TEST_PG" --pg-query "SELECT * FROM (VALUES (1, timestamptz '2026-01-05 00:00:01+00'), (NULL, timestamptz '2026-01-05 00:00:02+00')) v(k, updated)" --key k --watermark updated --mode changes
check_grep "is named with the query and row" "postgres query: row 2: key column 'k' is missing or null" "$T/last.out"
psql_ -c "CREATE TABLE back(k int, updated text); INSERT INTO back VALUES (1, '2026-01-05 10:00:00Z'), (2, '2026-01-05T09:00:00Z')" >/dev/null
cat >"$T/back.schema.json" <<'JSON'
{"columns": [{"name": "k", "type": "int32"}, {"name": "updated", "type": "timestamp_us"}]}
JSON
check_exit "a watermark going backwards (a text column the database orders as text)" 3 "$PQF" export "$E" --table back --pg "$PQF_TEST_PG" --pg-table back --schema "$T/back.schema.json" --key k --watermark updated --mode changes
check_grep "is named with the table and row" "postgres table back: row 2: watermark 'updated' goes backwards: 2026-01-05T09:00:00Z is older than 2026-01-05 10:00:00Z" "$T/last.out"
check_eq "nothing was committed" "$(ls "$E"/*/_log 2>/dev/null | grep -c '^[0-9]*\.json$')" 0
done_testing
