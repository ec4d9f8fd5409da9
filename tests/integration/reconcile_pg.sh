#!/usr/bin/env bash
# pqfeed reconcile against PostgreSQL (a throwaway cluster from scripts/pg.sh):
# a feed applied to PostgreSQL equals the feed, the API pages and the same
# feed applied to SQLite; a changed, a deleted and an inserted row are listed.
. "$(dirname "$0")/../lib.sh"

start_pg
PG="postgres:$PQF_TEST_PG"
psql_ -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS issues, _pqfeed_checkpoint, _pqfeed_quarantine"

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 2 --rows 1500 --seed 7 >/dev/null
CH=(--table issues --schema "$G/issues.schema.json" --mode changes --key id --watermark updated_at
    --delete-column deleted --created-column created_at)
F=$T/feed
for h in 0 1 2; do
    "$PQF" export "$F" "${CH[@]}" --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >/dev/null
done
check "applied to PostgreSQL" "$PQF" apply "$F" "$PG"
check "applied to SQLite" "$PQF" apply "$F" "$T/sink.db"
check_exit "feed vs PostgreSQL: equal" 0 "$PQF" reconcile "$F" "$PG" --bucket updated_at:hour
check_exit "pages vs PostgreSQL: equal" 0 "$PQF" reconcile "$G/hour-*" "$PG" --table issues
check_exit "PostgreSQL vs SQLite: equal" 0 "$PQF" reconcile "$PG" "$T/sink.db" --table issues
psql_ -c "UPDATE issues SET title = 'edited' WHERE id = 5" -c "DELETE FROM issues WHERE id = 7" \
    -c "INSERT INTO issues SELECT 99999, key, project, title, status, created_at, updated_at,
        resolved_on, estimate_hours, story_points, labels, author, fields, deleted FROM issues WHERE id = 8"
"$PQF" reconcile "$F" "$PG" --json >"$T/d.json"
check_eq "a damaged PostgreSQL table: exit 23" "$?" 23
check_eq "the three keys with kind and column" \
    "$(node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        console.log(j.tables[0].listed.map((d) => d.key + ":" + d.kind + ":" + (d.column || "")).join(" "))' "$T/d.json")" \
    "id=5:changed:title id=7:only_a: id=99999:only_b:"
done_testing
