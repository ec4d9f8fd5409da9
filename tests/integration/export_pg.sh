#!/usr/bin/env bash
# pqfeed export from a real PostgreSQL (a throwaway cluster from scripts/pg.sh,
# stopped on exit): a table and a query become snapshot commits; DuckDB-free
# checks read the Parquet back with pqfeed.
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
done_testing
