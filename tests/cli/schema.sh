#!/usr/bin/env bash
# pqfeed schema check (contracts against a feed's registered schemas) and
# pqfeed schema diff (two schema files, with compatibility verdicts).
. "$(dirname "$0")/../lib.sh"

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 1 --rows 500 --seed 5 >/dev/null
SCHEMA=$G/issues.schema.json
F=$T/feed
"$PQF" export "$F" --table issues --schema "$SCHEMA" --mode changes --key id \
    --watermark updated_at --delete-column deleted --created-column created_at \
    --as-of 2026-01-05T00:00:00Z "$G/hour-0000" >/dev/null

# contract HEAD COLUMNS...: a contract for the issues table whose columns are
# the YAML list items given (each "name type nullable")
contract() {
    local out=$1; shift
    {
        echo "tables:"
        echo "  issues:"
        echo "    key: id"
        echo "    compatibility: backward"
        echo "    columns:"
        local c
        for c in "$@"; do
            set -- $c
            echo "      - name: $1"
            echo "        type: $2"
            echo "        nullable: $3"
        done
    } >"$out"
}

# ---- check: the contract holds on the fresh feed --------------------------------------
GOOD=(
    "id int64 false" "key string false" "project enum false" "title string false"
    "status string false" "created_at timestamp_us false" "updated_at timestamp_us true"
    "resolved_on date true" "estimate_hours decimal(10,2) true" "story_points int32 true"
    "labels list<string> false" "deleted bool true"
)
contract "$T/good.yaml" "${GOOD[@]}"
check "a contract for the issues table passes on a fresh feed" "$PQF" schema check "$T/good.yaml" "$F"
check_grep "check says it passed" "^schema check passed" "$T/last.out"
check_grep "check lists each column with its type" "^ +estimate_hours +ok +decimal\(10,2\), nullable" "$T/last.out"
"$PQF" schema check "$T/good.yaml" "$F" --json >"$T/good.json"
check_grep "check --json: ok with no problems" '"problems":0,"ok":true\}$' "$T/good.json"

# a nullable contract column is satisfied by a required feed column
contract "$T/loose.yaml" "id int64 true"
check "a nullable contract column accepts a required feed column" "$PQF" schema check "$T/loose.yaml" "$F"

# ---- check: failures -----------------------------------------------------------------
contract "$T/missing.yaml" "id int64 false" "team string true"
check_exit "a missing column fails with exit 24" 24 "$PQF" schema check "$T/missing.yaml" "$F"
check_grep "the missing column is named" "^ +team +missing +not in the feed's schema" "$T/last.out"
check_grep "the summary counts one problem" "^schema check failed: 1 problem$" "$T/last.out"

contract "$T/type.yaml" "story_points int64 true"
check_exit "a wrong type fails with exit 24" 24 "$PQF" schema check "$T/type.yaml" "$F"
check_grep "the wrong type names both types" "^ +story_points +wrong type +contract int64, feed int32" "$T/last.out"

contract "$T/null.yaml" "updated_at timestamp_us false"
check_exit "a nullability the feed does not have fails with exit 24" 24 "$PQF" schema check "$T/null.yaml" "$F"
check_grep "the nullability failure is explained" "^ +updated_at +nullability +contract requires non-null, the feed's column is nullable" "$T/last.out"
"$PQF" schema check "$T/null.yaml" "$F" --json >"$T/null.json"
check_grep "check --json names the status" '"name":"updated_at","status":"nullability"' "$T/null.json"
"$PQF" schema check "$T/type.yaml" "$F" --json >"$T/type.json"
check_grep "check --json: wrong_type" '"status":"wrong_type","type":"int32"' "$T/type.json"

cat >"$T/notable.yaml" <<'EOF'
tables:
  comments:
    columns:
      - {name: id, type: int64}
EOF
check_exit "a table the feed does not have fails with exit 24" 24 "$PQF" schema check "$T/notable.yaml" "$F"
check_grep "the missing table is named" "missing table: no schema registered under comments/_schema/" "$T/last.out"

# ---- check: values of the latest commit ------------------------------------------
cat >"$T/values.yaml" <<'EOF'
tables:
  issues:
    columns:
      - name: status
        type: string
        check:
          allowed: [open, in_progress, review, resolved, closed]
      - name: estimate_hours
        type: decimal(10,2)
        check: {min: 0, max: 100000, not_null_ratio: 0.5}
      - name: key
        type: string
        check: {regex: "^[A-Z]+-[0-9]+$"}
      - name: labels
        type: list<string>
        nullable: false
        check: {not_null_ratio: 1}
EOF
check "value checks pass on the fresh feed" "$PQF" schema check "$T/values.yaml" "$F"
check_grep "the values of every commit are read" "^  values \(1 commit, 1 file: 500 of 500 rows read\)$" "$T/last.out"
check_grep "a passing regex check" "^ +key +ok +not-null 1.0000$" "$T/last.out"
sed 's/allowed: \[open, in_progress, review, resolved, closed\]/allowed: [open, closed]/' "$T/values.yaml" >"$T/allowed.yaml"
check_exit "a value outside 'allowed' fails with exit 24" 24 "$PQF" schema check "$T/allowed.yaml" "$F"
check_grep "the failing values are counted with an example" '^ +status +failing values +[0-9]+ not allowed, not-null 1.0000, e.g. "(in_progress|review|resolved)"$' "$T/last.out"
sed 's/max: 100000, not_null_ratio: 0.5/max: 1, not_null_ratio: 0.5/' "$T/values.yaml" >"$T/range.yaml"
check_exit "a value above max fails with exit 24" 24 "$PQF" schema check "$T/range.yaml" "$F"
check_grep "out of range values are counted" "^ +estimate_hours +failing values +[0-9]+ out of range" "$T/last.out"
sed 's/max: 100000, not_null_ratio: 0.5/not_null_ratio: 0.99/' "$T/values.yaml" >"$T/ratio.yaml"
check_exit "a not-null ratio below the contract's fails with exit 24" 24 "$PQF" schema check "$T/ratio.yaml" "$F"
check_grep "the ratio is shown against the wanted one" '^ +estimate_hours +failing values +not-null 0\.[0-9]+ \(want >= 0.99\)' "$T/last.out"
sed 's/\^\[A-Z\]+-\[0-9\]+\$/^CORE-/' "$T/values.yaml" >"$T/regex.yaml"
check_exit "a string not matching the regex fails with exit 24" 24 "$PQF" schema check "$T/regex.yaml" "$F"
check_grep "regex failures are counted" "^ +key +failing values +[0-9]+ not matching the regex" "$T/last.out"
"$PQF" schema check "$T/allowed.yaml" "$F" --json >"$T/allowed.json"
check_grep "check --json: value results per column" '"name":"status","ok":false,"present":true,"rows":[0-9]+,"nulls":0,"not_allowed":[1-9][0-9]*,' "$T/allowed.json"

# ---- contract file errors: file, line and key --------------------------------------
bad_contract() { # DESC PATTERN: the contract on stdin is refused with exit 3
    cat >"$T/bad.yaml"
    "$PQF" schema check "$T/bad.yaml" "$F" >"$T/bad.out" 2>&1
    local rc=$?
    if [ "$rc" -eq 3 ] && grep -Eq -- "$2" "$T/bad.out"; then ok "$1"; else
        not_ok "$1" "exit $rc" "$(cat "$T/bad.out")"; fi
}
bad_contract "an unknown column key is an error naming line and key" 'bad.yaml:5: tables.issues.columns\[0\].nulable: unknown key' <<'EOF'
tables:
  issues:
    columns:
      - name: id
        nulable: false
        type: int64
EOF
bad_contract "an unknown type is an error" 'bad.yaml:5: tables.issues.columns\[0\].type: unknown type .int65.' <<'EOF'
tables:
  issues:
    columns:
      - name: id
        type: int65
EOF
bad_contract "an unknown compatibility mode is an error" 'bad.yaml:3: tables.issues.compatibility: expected none, backward, forward or full' <<'EOF'
tables:
  issues:
    compatibility: sideways
    columns:
      - {name: id, type: int64}
EOF
bad_contract "a not_null_ratio above 1 is an error" 'not_null_ratio: expected a number from 0 to 1' <<'EOF'
tables:
  issues:
    columns:
      - name: id
        type: int64
        check: {not_null_ratio: 1.5}
EOF
bad_contract "an unknown top-level key is an error" 'bad.yaml:1: table: unknown key' <<'EOF'
table:
  issues: {}
EOF

# ---- check: the compatibility mode between registered versions ---------------------
F2=$T/feed2
"$PQF" export "$F2" --table issues --schema "$SCHEMA" --mode changes --key id \
    --watermark updated_at --delete-column deleted --created-column created_at \
    --as-of 2026-01-05T00:00:00Z "$G/hour-0000" >/dev/null
# version 2: story_points widened to int64 (a backward-compatible change)
sed 's/"name": "story_points", "type": "int32"/"name": "story_points", "type": "int64"/' "$SCHEMA" >"$T/wide.schema.json"
"$PQF" export "$F2" --table issues --schema "$T/wide.schema.json" --mode changes --key id \
    --watermark updated_at --delete-column deleted --created-column created_at \
    --as-of 2026-01-05T01:00:00Z "$G/hour-0001" >/dev/null
contract "$T/bw.yaml" "id int64 false"
check "a widening between versions keeps backward" "$PQF" schema check "$T/bw.yaml" "$F2"
check_grep "the step is shown" "v1 -> v2: keeps backward" "$T/last.out"
sed 's/compatibility: backward/compatibility: forward/' "$T/bw.yaml" >"$T/fw.yaml"
check_exit "a widening between versions breaks forward" 24 "$PQF" schema check "$T/fw.yaml" "$F2"
check_grep "the breaking change is named" "story_points: int32 -> int64 \(widening\)" "$T/last.out"
contract "$T/v2type.yaml" "story_points int32 true"
check_exit "every version is checked: v2's int64 fails an int32 contract" 24 "$PQF" schema check "$T/v2type.yaml" "$F2"

# ---- diff ---------------------------------------------------------------------------
grep -v '"name": "title"' "$SCHEMA" >"$T/dropped.json"
sed 's/^    {"name": "id", "type": "int64"/    {"name": "id", "type": "int32"/' "$SCHEMA" >"$T/narrow.json"
sed 's/^    {"name": "deleted", "type": "bool"}$/    {"name": "deleted", "type": "bool"},\n    {"name": "team", "type": "string"}/' "$SCHEMA" >"$T/added.json"
sed 's/^    {"name": "deleted", "type": "bool"}$/    {"name": "deleted", "type": "bool"},\n    {"name": "team", "type": "string", "nullable": false}/' "$SCHEMA" >"$T/added_req.json"

check "diff of a schema with itself" "$PQF" schema diff "$SCHEMA" "$SCHEMA"
check_grep "no changes: every mode compatible" "^full: compatible$" "$T/last.out"

check "diff: a dropped column" "$PQF" schema diff "$SCHEMA" "$T/dropped.json"
check_grep "dropped column in words" "^  dropped column title \(string, required\) \(breaks forward\)$" "$T/last.out"
check_grep "dropped required column: backward compatible" "^backward: compatible$" "$T/last.out"
check_grep "dropped required column: forward incompatible" "^forward: incompatible$" "$T/last.out"
check_grep "dropped required column: full incompatible" "^full: incompatible$" "$T/last.out"

check "diff: a type narrowed" "$PQF" schema diff "$SCHEMA" "$T/narrow.json"
check_grep "narrowing in words" "^  id: int64 -> int32 \(narrowing\) \(breaks backward\)$" "$T/last.out"
check_grep "narrowing: backward incompatible" "^backward: incompatible$" "$T/last.out"
check_grep "narrowing: forward compatible" "^forward: compatible$" "$T/last.out"
check "diff: the same change the other way is a widening" "$PQF" schema diff "$T/narrow.json" "$SCHEMA"
check_grep "widening in words" "^  id: int32 -> int64 \(widening\) \(breaks forward\)$" "$T/last.out"
check_grep "widening: backward compatible" "^backward: compatible$" "$T/last.out"

check "diff: a nullable column added" "$PQF" schema diff "$SCHEMA" "$T/added.json"
check_grep "added column in words" "^  added nullable column team \(string\)$" "$T/last.out"
check_grep "added nullable column: full compatible" "^full: compatible$" "$T/last.out"
check "diff: a required column added" "$PQF" schema diff "$SCHEMA" "$T/added_req.json"
check_grep "added required column in words" "^  added required column team \(string\) \(breaks backward\)$" "$T/last.out"
check_grep "added required column: backward incompatible" "^backward: incompatible$" "$T/last.out"

# every rule in words (docs/SCHEMA.md): OLD-TYPE NEW-TYPE -> the line diff prints
rule() { # DESC OLD NEW PATTERN BACKWARD FORWARD
    printf '{"columns": [{"name": "c", %s}]}\n' "$2" >"$T/r_old.json"
    printf '{"columns": [{"name": "c", %s}]}\n' "$3" >"$T/r_new.json"
    "$PQF" schema diff "$T/r_old.json" "$T/r_new.json" >"$T/rule.out" 2>&1
    if grep -Eq -- "$4" "$T/rule.out" && grep -q "^backward: $5$" "$T/rule.out" &&
        grep -q "^forward: $6$" "$T/rule.out"; then ok "diff rule: $1"; else
        not_ok "diff rule: $1" "$(cat "$T/rule.out")"; fi
}
rule "float -> double" '"type": "float"' '"type": "double"' '^  c: float -> double \(widening\) \(breaks forward\)$' compatible incompatible
rule "double -> float" '"type": "double"' '"type": "float"' '^  c: double -> float \(narrowing\) \(breaks backward\)$' incompatible compatible
rule "decimal precision up" '"type": "decimal(10,2)"' '"type": "decimal(12,2)"' '^  c: decimal\(10,2\) -> decimal\(12,2\) \(widening\)' compatible incompatible
rule "decimal precision down" '"type": "decimal(12,2)"' '"type": "decimal(10,2)"' '^  c: decimal\(12,2\) -> decimal\(10,2\) \(narrowing\)' incompatible compatible
rule "decimal scale change" '"type": "decimal(10,2)"' '"type": "decimal(10,3)"' '^  c: decimal\(10,2\) -> decimal\(10,3\) \(type change\) \(breaks backward and forward\)$' incompatible incompatible
rule "int -> string" '"type": "int64"' '"type": "string"' '^  c: int64 -> string \(type change\) \(breaks backward and forward\)$' incompatible incompatible
rule "required -> nullable" '"type": "int64", "nullable": false' '"type": "int64"' '^  c: required -> nullable \(breaks forward\)$' compatible incompatible
rule "nullable -> required" '"type": "int64"' '"type": "int64", "nullable": false' '^  c: nullable -> required \(breaks backward\)$' incompatible compatible
rule "widened and made required" '"type": "int32"' '"type": "int64", "nullable": false' '^  c: int32 -> int64 \(widening\), nullable -> required \(breaks backward and forward\)$' incompatible incompatible
rule "a struct field widened" '"type": {"struct": [{"name": "x", "type": "int32"}]}' '"type": {"struct": [{"name": "x", "type": "int64"}]}' '^  c.x: int32 -> int64 \(widening\) \(breaks forward\)$' compatible incompatible
rule "a list element narrowed" '"type": {"list": "int64"}' '"type": {"list": "int32"}' '^  c\[\]: int64 -> int32 \(narrowing\) \(breaks backward\)$' incompatible compatible

"$PQF" schema diff "$SCHEMA" "$T/dropped.json" --json >"$T/diff.json"
check_grep "diff --json: the change with its verdicts" '\{"column":"title","change":"dropped","old_type":"string","new_type":null,"old_nullable":false,"new_nullable":null,"widening":false,"narrowing":false,"backward":true,"forward":false,"text":"dropped column title \(string, required\)"\}' "$T/diff.json"
check_grep "diff --json: the verdict per mode" '"compatible":\{"backward":true,"forward":false,"full":false\}\}$' "$T/diff.json"
check_exit "diff of a feed needs --table" 2 "$PQF" schema diff "$SCHEMA"

# ---- diff between two versions of a feed's table, and between a feed and a contract ----------
check "diff of a feed: its last two schema versions" "$PQF" schema diff "$F2" --table issues
check_grep "the versions are named" "^issues v1 -> issues v2: 1 change$" "$T/last.out"
check_grep "the change is in words" "^  story_points: int32 -> int64 \(widening\) \(breaks forward\)$" "$T/last.out"
check_grep "with the verdicts" "^backward: compatible$" "$T/last.out"
check "diff of a feed --from 1 --to 2 --json" "$PQF" schema diff "$F2" --table issues --from 1 --to 2 --json
check_grep "--json names both versions" '^\{"old":"issues v1","new":"issues v2","changes":\[\{"column":"story_points"' "$T/last.out"
check_exit "a version range outside the feed is a usage error" 2 "$PQF" schema diff "$F2" --table issues --from 1 --to 3
check_grep "and says which versions there are" "versions 1..2" "$T/last.out"
check_exit "a table with one version has nothing to compare" 2 "$PQF" schema diff "$F" --table issues
check_exit "a table the feed lacks" 9 "$PQF" schema diff "$F2" --table nope --from 1 --to 2

contract "$T/cdiff.yaml" "id int64 false" "story_points int32 true" "team string true"
check "diff of a contract and a feed" "$PQF" schema diff "$T/cdiff.yaml" "$F2"
check_grep "a matching column is ok" "^ +id +ok +int64, required" "$T/last.out"
check_grep "a column the feed changed is a wrong type" "^ +story_points +wrong type +contract int32, feed int64" "$T/last.out"
check_grep "a column the feed lacks is missing" "^ +team +missing" "$T/last.out"
check_grep "the feed's columns the contract does not name" "^    not in the contract: key, project, title, " "$T/last.out"
check_grep "the count of differences" "^2 differences from the contract$" "$T/last.out"
check "diff of a contract and a feed --json" "$PQF" schema diff "$T/cdiff.yaml" "$F2" --json
check_grep "--json: columns, key, extra columns and the count" '"version":2,"columns":\[\{"name":"id","status":"ok".*"key":\{"want":"id","have":"id","ok":true\},"not_in_contract":\["key","project",.*\],"differences":2\}$' "$T/last.out"

done_testing
