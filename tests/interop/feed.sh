#!/usr/bin/env bash
# Feeds as others read them: commit objects and _feed.json validate against
# docs/schema/*.json (ajv), and DuckDB reading each table's data folder with
# hive_partitioning gets the source's row set — for a snapshot, and for a
# snapshot plus hourly change commits (latest version per key, deletes removed).
. "$(dirname "$0")/../lib.sh"
HERE=$ROOT/tests/interop
if [ ! -d "$HERE/node_modules" ]; then not_ok "npm modules in tests/interop (run scripts/deps.sh)"; done_testing; exit 1; fi
duck() { node "$HERE/duck.mjs" "$@"; }

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 3 --rows 2000 --page-rows 300 --seed 5 >/dev/null
F=$T/feed
for h in 0 1 2 3; do
    "$PQF" export "$F" --table issues --schema "$G/issues.schema.json" --mode changes --key id \
        --watermark updated_at --delete-column deleted --created-column created_at \
        --target-file-size 32K --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >/dev/null
done
check "the feed has four commits" test -f "$F/issues/_log/00000000000000000004.json"

node "$HERE/jsonschema.mjs" "$ROOT/docs/schema/commit.schema.json" "$F"/issues/_log/*.json >"$T/v.out" 2>&1
check_eq "every commit object validates against docs/schema/commit.schema.json" "$?" 0
node "$HERE/jsonschema.mjs" "$ROOT/docs/schema/feed.schema.json" "$F/_feed.json" >"$T/v2.out" 2>&1
check_eq "_feed.json validates against docs/schema/feed.schema.json" "$?" 0
sed 's/"rows":[0-9]*,//' "$F/issues/_log/00000000000000000002.json" >"$T/broken.json"
node "$HERE/jsonschema.mjs" "$ROOT/docs/schema/commit.schema.json" "$T/broken.json" >"$T/v3.out" 2>&1
check_eq "a commit without 'rows' does not validate (the schema is not vacuous)" "$?" 1
# an older producer's commit names its input digest source_sha256: valid; both members: not
sed 's/"source_blake3":/"source_sha256":/' "$F/issues/_log/00000000000000000001.json" >"$T/legacy.json"
check_grep "the legacy commit has source_sha256" '"source_sha256":"[0-9a-f]{64}"' "$T/legacy.json"
node "$HERE/jsonschema.mjs" "$ROOT/docs/schema/commit.schema.json" "$T/legacy.json" >"$T/v4.out" 2>&1
check_eq "a commit with source_sha256 instead of source_blake3 validates" "$?" 0
sed 's/"source_blake3":\("[0-9a-f]*"\),/"source_blake3":\1,"source_sha256":\1,/' "$F/issues/_log/00000000000000000001.json" >"$T/both.json"
check_grep "the second has both" '"source_sha256":' "$T/both.json"
node "$HERE/jsonschema.mjs" "$ROOT/docs/schema/commit.schema.json" "$T/both.json" >"$T/v5.out" 2>&1
check_eq "a commit with both digests does not validate" "$?" 1

COLS="id, key, title, status, epoch_us(updated_at) AS upd, estimate_hours, story_points, labels, author.name AS author_name"
duck "CREATE VIEW ch AS SELECT * FROM read_parquet('$F/issues/data/**/*.parquet', hive_partitioning=true)" \
     "SELECT count(*) AS n, count(DISTINCT \"hour\") AS hours, min(\"date\") AS d FROM ch" >"$T/hive.json"
total=$(grep -oh '"rows":[0-9]*,"bytes"' "$F"/issues/_log/*.json | cut -d: -f2 | cut -d, -f1 | awk '{ s += $1 } END { print s }')
check_grep "DuckDB reads every committed row, with the hive partitions" "\"n\":\"?$total\"?,\"hours\":\"?4\"?,\"d\":\"2026-01-05" "$T/hive.json"
duck "CREATE VIEW ch AS SELECT * FROM read_parquet('$F/issues/data/**/*.parquet', hive_partitioning=true)" \
     "CREATE VIEW cur AS SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY _seq DESC) AS rn FROM ch) WHERE rn = 1 AND _op <> 'D'" \
     "CREATE VIEW src AS SELECT * FROM read_json('$G/issues.final.ndjson', columns={id:'BIGINT', key:'VARCHAR', project:'VARCHAR', title:'VARCHAR', status:'VARCHAR', created_at:'TIMESTAMPTZ', updated_at:'TIMESTAMPTZ', resolved_on:'DATE', estimate_hours:'DECIMAL(10,2)', story_points:'INTEGER', labels:'VARCHAR[]', author:'STRUCT(id BIGINT, name VARCHAR, email VARCHAR)', fields:'JSON', deleted:'BOOLEAN'})" \
     "SELECT (SELECT count(*) FROM src) AS src_rows, (SELECT count(*) FROM cur) AS feed_rows, (SELECT count(*) FROM ((SELECT $COLS FROM cur EXCEPT SELECT $COLS FROM src) UNION ALL (SELECT $COLS FROM src EXCEPT SELECT $COLS FROM cur))) AS diff" >"$T/cur.json" 2>&1
check_grep "snapshot plus increments: DuckDB's current state equals the source table" '"diff":"?0"?' "$T/cur.json"
check_grep "and both have the same number of rows" '"src_rows":"?([0-9]+)"?,"feed_rows":"?\1"?,' "$T/cur.json"

S=$T/snap
"$PQF" gen --out "$T/s" --table worklogs --rows 3000 --format ndjson --seed 9 >/dev/null
"$PQF" export "$S" --table worklogs --schema "$T/s/worklogs.schema.json" --key id --target-file-size 16K "$T/s/worklogs.ndjson" >/dev/null
W="id, issue_id, user_id, epoch_us(started_at) AS st, seconds, billable, rate, comment"
duck "CREATE VIEW p AS SELECT * FROM read_parquet('$S/worklogs/data/**/*.parquet', hive_partitioning=true)" \
     "CREATE VIEW j AS SELECT * FROM read_json('$T/s/worklogs.ndjson', columns={id:'BIGINT', issue_id:'BIGINT', user_id:'BIGINT', started_at:'TIMESTAMPTZ', seconds:'INTEGER', billable:'BOOLEAN', rate:'DECIMAL(12,2)', comment:'VARCHAR'})" \
     "SELECT (SELECT count(*) FROM p) AS n, (SELECT count(*) FROM ((SELECT $W FROM p EXCEPT ALL SELECT $W FROM j) UNION ALL (SELECT $W FROM j EXCEPT ALL SELECT $W FROM p))) AS diff" >"$T/snap.json" 2>&1
check_grep "snapshot: DuckDB's row set equals the source's" '"n":"?3000"?,"diff":"?0"?' "$T/snap.json"
done_testing
