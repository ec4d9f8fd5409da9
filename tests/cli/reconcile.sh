#!/usr/bin/env bash
# pqfeed reconcile: a feed (change commits), the SQLite sink it was applied
# to, the generator's final table and the hourly API pages all hold the same
# data, per table and per hour; a changed, a deleted and an inserted sink row
# are found and listed with their side and column; --json parses.
. "$(dirname "$0")/../lib.sh"

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 2 --rows 1500 --seed 7 >/dev/null
SCHEMA=$G/issues.schema.json
CH=(--table issues --schema "$SCHEMA" --mode changes --key id --watermark updated_at
    --delete-column deleted --created-column created_at)
F=$T/feed
DB=$T/sink.db
export_ok=1
for h in 0 1 2; do
    "$PQF" export "$F" "${CH[@]}" --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >/dev/null || export_ok=0
done
check_eq "three hourly change commits exported" "$export_ok" 1
check "applied to SQLite" "$PQF" apply "$F" "sqlite:$DB"

# ---- equal sources ----------------------------------------------------------------------
check_exit "feed vs sink: equal (exit 0)" 0 "$PQF" reconcile "feed:$F" "sqlite:$DB"
"$PQF" reconcile "$F" "$DB" >"$T/fs.out" 2>&1
check_grep "the report names both sources and the total" "^  total +1620 +1620 .* 0  equal$" "$T/fs.out"
check_exit "feed vs the generator's final table (NDJSON): equal" 0 \
    "$PQF" reconcile "$F" "$G/issues.final.ndjson"
"$PQF" reconcile "$G/hour-*" "sqlite:$DB" --table issues --bucket updated_at:hour >"$T/ps.out" 2>&1
check_eq "pages (latest per key, deletes removed) vs sink: equal" "$?" 0
final_by_hour() { # the final table's rows per updated_at hour, as "HH N"
    sed -E 's/.*"updated_at":"2026-01-05T(..):.*/\1/' "$G/issues.final.ndjson" | sort | uniq -c |
        awk '{ printf "%s %s\n", $2, $1 }'
}
grep -E '^  2026-01-05T' "$T/ps.out" | sed -E 's/^  2026-01-05T(..):00:00Z +([0-9]+) +([0-9]+) .*/\1 \2 \3/' >"$T/hours"
final_by_hour | awk '{ print $1, $2, $2 }' >"$T/want_hours"
check "--bucket updated_at:hour: one row per hour with the final table's counts" cmp "$T/hours" "$T/want_hours"
check_eq "three hours" "$(wc -l <"$T/hours")" 3
check_exit "--bucket updated_at:day" 0 "$PQF" reconcile "$F" "$DB" --bucket updated_at:day
check_exit "--columns a subset" 0 "$PQF" reconcile "$F" "$DB" --columns id,title,estimate_hours,labels

# ---- damage: one row changed, one deleted, one inserted -------------------------------------
D=$T/damaged.db
cp "$DB" "$D"
sqlite3 "$D" "UPDATE issues SET title = 'edited by hand' WHERE id = 5;
              DELETE FROM issues WHERE id = 7;
              INSERT INTO issues SELECT 99999, key, project, title, status, created_at, updated_at,
                  resolved_on, estimate_hours, story_points, labels, author, fields, deleted
                  FROM issues WHERE id = 8;"
"$PQF" reconcile "$F" "sqlite:$D" --bucket updated_at:hour >"$T/d.out" 2>&1
check_eq "a damaged sink: exit 23 (differences)" "$?" 23
check_grep "three differing keys" "^  3 differing key\(s\):$" "$T/d.out"
grep -E '^    id=' "$T/d.out" | sed -E 's/^ +//; s/  \[[^]]*\]  / /' >"$T/keys"
printf '%s\n' 'id=5 changed: title: A "'"$(sqlite3 "$DB" "SELECT title FROM issues WHERE id = 5")"'", B "edited by hand"' \
    'id=7 only in A' 'id=99999 only in B' >"$T/want_keys"
check "exactly those keys, with side and column" cmp "$T/keys" "$T/want_keys"
check_grep "the hour holding them differs" "^  2026-01-05T00:00:00Z .* 3  DIFFERENT$" "$T/d.out"
check_grep "the other hours are equal" "^  2026-01-05T01:00:00Z .* 0  equal$" "$T/d.out"
"$PQF" reconcile "$G/hour-*" "$D" --table issues --json >"$T/d.json"
check_eq "--json: exit 23 as well" "$?" 23
check "--json output parses" node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$T/d.json"
check_eq "--json lists the three keys with kind and column" \
    "$(node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        console.log(j.equal, j.tables[0].diffs, j.tables[0].listed.map((d) => d.key + ":" + d.kind + ":" + (d.column || "")).join(" "))' "$T/d.json")" \
    "false 3 id=5:changed:title id=7:only_a: id=99999:only_b:"
"$PQF" reconcile "$F" "$D" --max-diffs 1 >"$T/m.out" 2>&1
check_grep "--max-diffs bounds the list" "3 differing key\(s\) \(the first listed" "$T/m.out"
check_eq "one listed" "$(grep -c '^    id=' "$T/m.out")" 1
e=$(sqlite3 "$D" "SELECT min(id) FROM issues WHERE id > 8 AND estimate_hours IS NOT NULL")
sqlite3 "$D" "UPDATE issues SET estimate_hours = estimate_hours + 1 WHERE id = $e"
"$PQF" reconcile "$F" "$D" >"$T/e.out" 2>&1
check_grep "a decimal change names the column and both values" "id=$e .*changed: estimate_hours: A \"[0-9.]+\", B \"[0-9.]+\"" "$T/e.out"

# ---- limits and usage -----------------------------------------------------------------------
"$PQF" reconcile "$F" "$DB" --max-keys 100 >"$T/l.out" 2>&1
check_eq "more keys than --max-keys: exit 8 (limit)" "$?" 8
check_grep "with a clear message" "more than 100 keys.*--max-keys" "$T/l.out"
check_exit "an unknown column: exit 9" 9 "$PQF" reconcile "$F" "$DB" --columns id,nosuch
check_exit "no --table between two non-feeds: usage (2)" 2 "$PQF" reconcile "$G/hour-*" "$DB"
check_exit "a bad --bucket: usage (2)" 2 "$PQF" reconcile "$F" "$DB" --bucket updated_at:week
done_testing
