#!/usr/bin/env bash
# pqfeed export from a SQLite table: a snapshot commit with the table's types,
# a second snapshot after changes, and clear errors.
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
check_exit "changes mode from a database is refused clearly" 7 "$PQF" export "$F" --table issues --sqlite "$DB" --sqlite-table issues --mode changes --watermark updated
done_testing
