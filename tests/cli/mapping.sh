#!/usr/bin/env bash
# Mapping files (docs/MAPPING.md): export of API pages through a mapping,
# bad mappings and failing records, pqfeed schema infer, and schema check
# against API pages.
. "$(dirname "$0")/../lib.sh"

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 1 --rows 200 --page-rows 80 --seed 3 >/dev/null

cat >"$T/feed.schema.json" <<'EOF'
{"columns": [
 {"name": "id", "type": "int64", "nullable": false},
 {"name": "issue_key", "type": "string", "nullable": false},
 {"name": "status", "type": "string"},
 {"name": "created", "type": "timestamp_us"},
 {"name": "updated", "type": "timestamp_us", "nullable": false},
 {"name": "author_id", "type": "int64"},
 {"name": "author_name", "type": "string"},
 {"name": "priority", "type": "string"},
 {"name": "points", "type": "string"},
 {"name": "labels", "type": {"list": "string"}},
 {"name": "estimate", "type": "decimal(10,2)"},
 {"name": "deleted", "type": "bool"},
 {"name": "_unknown", "type": "json"}
]}
EOF
cat >"$T/m.yaml" <<'EOF'
# the issues API onto the feed's columns
unknown: keep
columns:
  issue_key: key
  created: {from: created_at, cast: timestamp}
  updated: {from: updated_at, cast: timestamp}
  author_id: author.id
  author_name: {from: author.name}
  priority: {from: fields.priority, default: none}
  points: {from: story_points, cast: string}
  estimate: {from: estimate_hours, cast: decimal}
ignore: [fields.components, project]
EOF

# ---- export through a mapping ----------------------------------------------------------
F=$T/feed
check "export --mapping over gen pages" "$PQF" export "$F" --table issues \
    --schema "$T/feed.schema.json" --mapping "$T/m.yaml" --as-of 2026-01-05T00:00:00Z \
    "$G/hour-0000"
check_grep "one commit of 200 rows" "commit 1 \(snapshot\): 200 rows" "$T/last.out"
PQ=$(find "$F/issues/data" -name '*.parquet' | head -1)
"$PQF" parquet cat "$PQ" | head -1 >"$T/row1.json"
check_grep "the row has exactly the feed's columns, in order" \
    '^\{"id":1,"issue_key":"[A-Z]+-1","status":"[a-z_]+","created":"2026-01-05T00:00:[0-9.]+Z","updated":"[^"]+","author_id":[0-9]+,"author_name":"[^"]+","priority":"[a-z]+","points":("[0-9]+"|null),"labels":\[[^]]*\],"estimate":[0-9.]+,"deleted":false,"_unknown":"\{\\"title\\":[^}]*\\"resolved_on\\":[^}]*\\"author.email\\":[^}]*\}"\}$' \
    "$T/row1.json"
if grep -q '\\"project\\"\|components' "$T/row1.json"; then
    not_ok "ignore: fields listed there are dropped" "$(cat "$T/row1.json")"
else
    ok "ignore: fields listed there are dropped"
fi
check "the same pages and mapping again: no new commit" "$PQF" export "$F" --table issues \
    --schema "$T/feed.schema.json" --mapping "$T/m.yaml" --as-of 2026-01-05T00:00:00Z \
    "$G/hour-0000"
check_grep "unchanged snapshot recognised (the mapping is part of the input digest)" \
    "unchanged|nothing new|no new" "$T/last.out"

if [ -d "$ROOT/tests/interop/node_modules/@duckdb" ] && command -v node >/dev/null; then
    node "$ROOT/tests/interop/read.mjs" duckdb "$PQ" >"$T/duck.out" 2>&1
    check_eq "DuckDB reads 200 mapped rows" "$(wc -l <"$T/duck.out")" "200"
    check_grep "DuckDB sees the mapped columns and values" \
        '^\{"id":"1","issue_key":"[A-Z]+-1",.*"author_id":"[0-9]+","author_name":.*"estimate":"[0-9]+\.[0-9]{2}","deleted":false,"_unknown":' \
        "$T/duck.out"
else
    skip "DuckDB reads 200 mapped rows" "no tests/interop/node_modules"
    skip "DuckDB sees the mapped columns and values" "no tests/interop/node_modules"
fi

# changes mode: the watermark and delete columns are mapped names
FC=$T/feedc
check "changes export through a mapping (hour 0)" "$PQF" export "$FC" --table issues \
    --schema "$T/feed.schema.json" --mapping "$T/m.yaml" --mode changes --key id \
    --watermark updated --delete-column deleted --as-of 2026-01-05T00:00:00Z "$G/hour-0000"
check "changes export through a mapping (hour 1)" "$PQF" export "$FC" --table issues \
    --schema "$T/feed.schema.json" --mapping "$T/m.yaml" --mode changes --key id \
    --watermark updated --delete-column deleted --as-of 2026-01-05T01:00:00Z "$G/hour-0001"
check_grep "hour 1 is commit 2" "commit 2 \(changes\)" "$T/last.out"
# applied to SQLite, the mapped changes give the source's final state under the feed's names
DB=$T/mapped.db
check "apply the mapped changes feed to SQLite" "$PQF" apply "$FC" "sqlite:$DB"
python3 - "$G/issues.final.ndjson" "$DB" >"$T/final.out" 2>&1 <<'PY'
import json, sqlite3, sys
want = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    want[r["id"]] = (r["key"], r["author"]["id"], r["fields"]["priority"] or "none")
db = sqlite3.connect(sys.argv[2])
got = {i: (k, a, p) for i, k, a, p in db.execute(
    "select id, issue_key, author_id, priority from issues")}
print("rows", len(got), "want", len(want), "same", got == want)
PY
check_grep "SQLite holds the final state in the mapped columns" "^rows ([0-9]+) want \1 same True$" "$T/final.out"

# the pipeline config's mapping: key
cat >"$T/pipe.yaml" <<EOF
primary: $T/feedcfg
tables:
  issues:
    source: {format: ndjson, path: $G/hour-0000}
    schema: $T/feed.schema.json
    mapping: $T/m.yaml
    key: [id]
EOF
check "export --config with a table's mapping:" "$PQF" export --config "$T/pipe.yaml" \
    --as-of 2026-01-05T00:00:00Z
PQC=$(find "$T/feedcfg/issues/data" -name '*.parquet' | head -1)
"$PQF" parquet cat "$PQC" | head -1 >"$T/cfgrow.json"
check_eq "the config's export gives the same rows as --mapping" "$(cat "$T/cfgrow.json")" \
    "$(cat "$T/row1.json")"
sed 's|schema: .*|infer_rows: 10|' "$T/pipe.yaml" >"$T/pipe-infer.yaml"
check_exit "a mapping with infer_rows is a config error (exit 3)" 3 "$PQF" export \
    --config "$T/pipe-infer.yaml"
check_grep "the error names the file, line and table" \
    "pipe-infer.yaml:3: tables.issues: mapping needs a schema" "$T/last.out"

# ---- bad mapping files: clear errors, nothing written -----------------------------------
bad_mapping() { # DESC PATTERN YAML
    local desc=$1 pat=$2
    printf '%s\n' "$3" >"$T/bad.yaml"
    rm -rf "$T/badfeed"
    check_exit "$desc: exit 3" 3 "$PQF" export "$T/badfeed" --table issues \
        --schema "$T/feed.schema.json" --mapping "$T/bad.yaml" "$G/hour-0000"
    check_grep "$desc: the message" "$pat" "$T/last.out"
    if [ -n "$(find "$T/badfeed" -type f 2>/dev/null)" ]; then
        not_ok "$desc: nothing written" "$(find "$T/badfeed" -type f)"
    else
        ok "$desc: nothing written"
    fi
}
bad_mapping "unknown cast" "bad.yaml:3: columns.id.cast: unknown cast .*'integer'" \
'columns:
  id:
    cast: integer'
bad_mapping "column not in the schema" "bad.yaml:2: columns.team: no such column in the schema 'team'" \
'columns:
  team: fields.team'
bad_mapping "cast that does not fit the column" \
    "bad.yaml:3: columns.points: cast int does not fit the column's type string" \
'columns:
  points: {from: story_points,
    cast: int}'
bad_mapping "default that does not parse" \
    "bad.yaml:4: columns.author_id.default: not an integer for the column's type int64 'nobody'" \
'columns:
  author_id:
    from: author.id
    default: nobody'
bad_mapping "keep without its column" "bad.yaml:2: unknown: keep needs a nullable json column 'extra'" \
'unknown: keep
unknown_column: extra
columns: {issue_key: key}'
bad_mapping "unknown top-level key" "bad.yaml:1: colums: unknown key" 'colums: {}'
bad_mapping "bad field path" "bad.yaml:2: columns.issue_key: not a field path .*'a..b'" \
'columns:
  issue_key: a..b'
bad_mapping "YAML syntax error" "bad.yaml:" 'columns: [a, b'

# ---- failing records: the record and field are named, no commit -------------------------
# the feed's schema without the _unknown column
python3 - "$T/feed.schema.json" "$T/strict.schema.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s["columns"] = [c for c in s["columns"] if c["name"] != "_unknown"]
json.dump(s, open(sys.argv[2], "w"))
EOF
mkdir -p "$T/p"
head -2 "$G/hour-0000/page-00001.ndjson" >"$T/p/page.ndjson"
printf '%s\n' '{"id":999,"key":"X-1","created_at":"2026-01-05T00:00:00Z","updated_at":"2026-01-05T00:00:00Z","author":{"id":1,"nick":"x"}}' >>"$T/p/page.ndjson"
cat >"$T/strict2.yaml" <<'EOF'
unknown: fail
columns:
  issue_key: key
  created: {from: created_at, cast: timestamp}
  updated: {from: updated_at, cast: timestamp}
  author_id: author.id
  author_name: author.name
  priority: fields.priority
  points: {from: story_points, cast: string}
  estimate: {from: estimate_hours, cast: decimal}
ignore: [fields.components, project, title, resolved_on, author.email]
EOF
rm -rf "$T/sf"
check_exit "unknown: fail on an unknown field: exit 3" 3 "$PQF" export "$T/sf" --table issues \
    --schema "$T/strict.schema.json" --mapping "$T/strict2.yaml" "$T/p/page.ndjson"
check_grep "the error names the file, line, record and field" \
    "page.ndjson:3: record 3: unknown field 'author.nick' \(the mapping .*strict2.yaml says unknown: fail\)" \
    "$T/last.out"
check_eq "no commit was published" "$(find "$T/sf" -path '*_log*' -type f 2>/dev/null | wc -l)" "0"
check_eq "no data file is left visible" "$(find "$T/sf" -name '*.parquet' 2>/dev/null | wc -l)" "0"

sed 's/^unknown: fail/unknown: drop/' "$T/strict2.yaml" >"$T/drop.yaml"
check "unknown: drop exports the same page" "$PQF" export "$T/sf" --table issues \
    --schema "$T/strict.schema.json" --mapping "$T/drop.yaml" "$T/p/page.ndjson"
check_grep "3 rows" "3 rows" "$T/last.out"

printf '%s\n' '{"id":5,"key":"K-5","created_at":"2026-01-05T00:00:00Z","updated_at":"2026-01-05T00:00:00Z","story_points":3,"estimate_hours":"12.5x"}' >"$T/p/badcast.ndjson"
check_exit "a failing cast: exit 3" 3 "$PQF" export "$T/sc" --table issues \
    --schema "$T/strict.schema.json" --mapping "$T/drop.yaml" "$T/p/badcast.ndjson"
check_grep "the cast error names record, field, column and value" \
    "badcast.ndjson:1: record 1: field 'estimate_hours' \(column estimate, cast decimal\): string '12.5x' is not a number" \
    "$T/last.out"
check_exit "--mapping without --schema is a usage error" 2 "$PQF" export "$T/sc" --table issues \
    --infer-rows 5 --mapping "$T/drop.yaml" "$T/p/page.ndjson"

# ---- schema infer -----------------------------------------------------------------------
check "schema infer --flatten over gen pages" "$PQF" schema infer --flatten "$G"/hour-0000/*.ndjson \
    --schema-out "$T/inf.schema.json" --mapping-out "$T/inf.mapping.yaml"
check_grep "the report counts records and pages" "^200 records from 3 pages; nested objects flattened" "$T/last.out"
check_grep "a nested field gets a flattened column" "^ +author.name +200/200 +0 +string +column author_name" "$T/last.out"
check_grep "a nullable field counts its nulls" "^ +resolved_on +200/200 +[1-9][0-9]* +date" "$T/last.out"
check_grep "ISO-8601 strings become timestamps" "^ +created_at +200/200 +0 +timestamp_us +ISO-8601" "$T/last.out"
check_grep "few distinct values are noted as an enum" "^ +status .*enum of [0-9] values: " "$T/last.out"
check_grep "the mapping reads the nested path" "^  author_name: author.name$" "$T/inf.mapping.yaml"
check_grep "the mapping casts timestamps" "^  created_at: \{from: created_at, cast: timestamp\}$" "$T/inf.mapping.yaml"
check_grep "the schema has the flattened column" '"name": "fields_priority", "type": "string"' "$T/inf.schema.json"
check "the proposal exports the next hour's pages as they are" "$PQF" export "$T/inffeed" --table issues \
    --schema "$T/inf.schema.json" --mapping "$T/inf.mapping.yaml" "$G/hour-0001"
if [ -d "$ROOT/tests/interop/node_modules/@duckdb" ] && command -v node >/dev/null; then
    node "$ROOT/tests/interop/read.mjs" duckdb $(find "$T/inffeed" -name '*.parquet') >"$T/duck2.out" 2>&1
    check_grep "DuckDB reads the flattened columns" '"author_id":"[0-9]+","author_name":"[^"]+","author_email":' "$T/duck2.out"
else
    skip "DuckDB reads the flattened columns" "no tests/interop/node_modules"
fi
check "schema infer --struct" "$PQF" schema infer --struct "$G/hour-0000/page-00001.ndjson"
check_grep "struct mode keeps author as a struct" "^ +author +80/80 +0 +struct" "$T/last.out"
check_grep "struct mode maps the whole object" "^  author: author$" "$T/last.out"
check "schema infer --sample 7 --json" "$PQF" schema infer --sample 7 --json "$G"/hour-0000/*.ndjson
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["records"]==7, d["records"]; assert any(f["path"]=="author.id" for f in d["fields"]); assert d["schema"]["columns"][0]["name"]=="id"; assert "columns:" in d["mapping"]' \
    "$T/last.out" && ok "--json is one JSON object: 7 records, fields, schema, mapping" \
    || not_ok "--json is one JSON object: 7 records, fields, schema, mapping" "$(head -c 400 "$T/last.out")"

check "schema infer --mapping: the mapped records' schema" "$PQF" schema infer --mapping "$T/m.yaml" \
    "$G"/hour-0000/*.ndjson --schema-out "$T/mapped.schema.json"
check_grep "mapped: a cast decides the type" "^ +points +200/200 +[0-9]+ +string +type from the mapping's cast string" "$T/last.out"
if grep -q "^# mapping" "$T/last.out"; then not_ok "mapped: no mapping is proposed"; else ok "mapped: no mapping is proposed"; fi
check "mapped: the inferred schema exports the pages through the mapping" "$PQF" export "$T/mappedfeed" \
    --table issues --schema "$T/mapped.schema.json" --mapping "$T/m.yaml" "$G/hour-0000"

# messy records: mixed types, missing fields, nulls, deep nesting, a JSON array page
cat >"$T/messy.json" <<'EOF'
[{"id": 1, "v": 5, "amount": "12.50", "when": "2024-03-01T10:00:00+02:00", "deep": {"a": {"b": {"c": 1}}}, "zip": "00123"},
 {"id": 2, "v": "five", "amount": "7.5", "when": "2024-03-01T09:00:00Z", "deep": {"a": {"b": {"c": 2}}}, "zip": "01234"},
 {"id": 3, "v": null, "amount": "-1000.125", "deep": null, "zip": "99999"}]
EOF
check "schema infer on a messy JSON array page" "$PQF" schema infer --flatten "$T/messy.json" \
    --schema-out "$T/messy.schema.json" --mapping-out "$T/messy.mapping.yaml"
check_grep "a field whose type varies is flagged with what was chosen" \
    "^ +v +3/3 +1 +string +type varies between records: chose string" "$T/last.out"
check_grep "the kinds seen are listed" "seen as: null 1, int 1, string 1" "$T/last.out"
check_grep "numeric strings become a decimal that fits every sample" "^ +amount +3/3 +0 +decimal\(7,3\)" "$T/last.out"
check_grep "leading-zero digit strings stay strings" "^ +zip +3/3 +0 +string" "$T/last.out"
check_grep "a missing field is counted" "^ +when +2/3 +0 +timestamp_us +ISO-8601 timestamps with UTC offsets" "$T/last.out"
check_grep "deep nesting flattens to one column" "^ +deep.a.b.c +2/2 +0 +int64 +column deep_a_b_c" "$T/last.out"
check "the messy proposal exports the messy page" "$PQF" export "$T/messyfeed" --table m \
    --schema "$T/messy.schema.json" --mapping "$T/messy.mapping.yaml" "$T/messy.json"
"$PQF" parquet cat $(find "$T/messyfeed" -name '*.parquet') >"$T/messy.out"
check_eq "offsets are converted to UTC, varying values cast to text" "$(head -2 "$T/messy.out")" \
'{"id":1,"v":"5","amount":12.500,"when":"2024-03-01T08:00:00Z","deep_a_b_c":1,"zip":"00123"}
{"id":2,"v":"five","amount":7.500,"when":"2024-03-01T09:00:00Z","deep_a_b_c":2,"zip":"01234"}'
check_exit "schema infer needs a page" 2 "$PQF" schema infer --flatten
check_exit "schema infer: --flatten and --struct together" 2 "$PQF" schema infer --flatten --struct "$T/messy.json"
printf '{"a":1}\n{"a":\n' >"$T/broken.ndjson"
check_exit "schema infer on broken JSON: exit 3" 3 "$PQF" schema infer "$T/broken.ndjson"
check_grep "the error names file and line" "broken.ndjson:2: " "$T/last.out"

# ---- schema check against API pages -----------------------------------------------------
cat >"$T/contract.yaml" <<'EOF'
tables:
  issues:
    key: id
    columns:
      - name: id
        type: int64
        nullable: false
      - name: issue_key
        type: string
        nullable: false
        check: {regex: "^[A-Z]+-[0-9]+$"}
      - name: estimate
        type: decimal(10,2)
      - name: priority
        type: string
        check: {allowed: [trivial, minor, major, critical, blocker]}
EOF
check "schema check CONTRACT PAGES through the mapping passes" "$PQF" schema check \
    "$T/contract.yaml" "$G"/hour-0000/*.ndjson --mapping "$T/m.yaml" --schema "$T/feed.schema.json"
check_grep "pages: the same report as a store" "^ +issue_key +ok +string, required" "$T/last.out"
check_grep "pages: value checks run over the mapped rows" "^ +priority +ok +not-null" "$T/last.out"
check_grep "pages: passed" "^schema check passed" "$T/last.out"
"$PQF" schema check "$T/contract.yaml" "$G"/hour-0000/*.ndjson --mapping "$T/m.yaml" \
    --schema "$T/feed.schema.json" --json >"$T/pc.json"
check_grep "pages --json names the pages" '"pages":\[".*page-00001.ndjson"' "$T/pc.json"
check_grep "pages --json: ok" '"problems":0,"ok":true\}$' "$T/pc.json"
sed 's/      - name: priority/      - name: team\n        type: string\n      - name: priority/' \
    "$T/contract.yaml" >"$T/contract2.yaml"
check_exit "a column the pages do not give fails with exit 24" 24 "$PQF" schema check \
    "$T/contract2.yaml" "$G"/hour-0000/*.ndjson --mapping "$T/m.yaml" --schema "$T/feed.schema.json"
check_grep "the missing column is named" "^ +team +missing" "$T/last.out"
check_exit "without the mapping the raw pages lack the feed's columns (exit 24)" 24 "$PQF" schema check \
    "$T/contract.yaml" "$G"/hour-0000/*.ndjson
check_grep "raw pages: issue_key is missing" "^ +issue_key +missing" "$T/last.out"
check_grep "raw pages: types inferred (id int64)" "^ +id +ok +int64, required" "$T/last.out"
check_exit "pages through the mapping, schema inferred: the inferred decimal is narrower (exit 24)" 24 \
    "$PQF" schema check "$T/contract.yaml" "$G"/hour-0000/*.ndjson --mapping "$T/m.yaml"
check_grep "inferred: unlisted top-level fields are columns of their own" "^ +id +ok +int64, required" "$T/last.out"
check_grep "inferred: the decimal column shows the type the samples need" \
    "^ +estimate +wrong type +contract decimal\(10,2\), feed decimal\([0-9]+,2\)" "$T/last.out"
check_grep "inferred: the other columns hold" "^schema check failed: 1 problem$" "$T/last.out"
check_exit "a failing record in the pages is an error, not a report (exit 3)" 3 "$PQF" schema check \
    "$T/contract.yaml" "$T/p/page.ndjson" --mapping "$T/strict2.yaml" --schema "$T/strict.schema.json"
check_grep "the failing record is named" "page.ndjson:3: record 3: unknown field 'author.nick'" "$T/last.out"
check_exit "a missing page is an error naming it (exit 9)" 9 "$PQF" schema check "$T/contract.yaml" \
    "$T/p/nope.ndjson" --mapping "$T/m.yaml"
check_grep "the missing page is named" "nope.ndjson" "$T/last.out"
check_exit "--mapping with a STORE is a usage error" 2 "$PQF" schema check "$T/contract.yaml" "$F" \
    --mapping "$T/m.yaml"
done_testing
