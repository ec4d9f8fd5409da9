#!/usr/bin/env bash
# Contracts enforced: the issue-tracker scenario. examples/contract.yaml (the
# four tables `pqfeed gen` writes) passes on a fresh feed; simulated producer
# changes (a column dropped, a type narrowed, a column added, a bad value, a
# key changed) pass or fail as they should in `schema check`, in export
# (nothing published) and in apply (stops before the commit, sink untouched),
# and through the pipeline config's `contract:` key in `run`.
. "$(dirname "$0")/../lib.sh"

C=$ROOT/examples/contract.yaml
G=$T/gen
"$PQF" gen --out "$G" --format ndjson --rows 400 --seed 3 >/dev/null
TABLES="issues comments worklogs users"

# ---- producer changes, simulated on the issues table --------------------------------
S=$G/issues.schema.json
grep -v '"name": "title"' "$S" >"$T/drop.schema.json"
sed 's/"name": "title", "type": "string", "nullable": false/"name": "title", "type": "string"/' "$S" >"$T/titlenull.schema.json"
sed 's/"name": "story_points", "type": "int32"/"name": "story_points", "type": "int16"/' "$S" >"$T/narrow.schema.json"
sed 's/"name": "story_points", "type": "int32"/"name": "story_points", "type": "int64"/' "$S" >"$T/widen.schema.json"
sed 's/^    {"name": "fields"\(.*\)}$/    {"name": "fields"\1},\n    {"name": "team", "type": "string"}/' "$S" >"$T/added.schema.json"
sed 's/^    {"name": "fields"\(.*\)}$/    {"name": "fields"\1},\n    {"name": "team", "type": "string", "nullable": false}/' "$S" >"$T/addreq.schema.json"
sed 's/{"name": "author", "type": {"struct": \[{"name": "id", "type": "int64"/{"name": "author", "type": {"struct": [{"name": "id", "type": "int32"/' "$S" >"$T/authorid.schema.json"
D=$G/issues.ndjson
sed 's/"title":"[^"]*",//' "$D" >"$T/drop.ndjson"
sed 's/}$/,"team":"core"}/' "$D" >"$T/added.ndjson"
sed '8s/"status":"[a-z_]*"/"status":"wontfix"/' "$D" >"$T/badstatus.ndjson"

export_all() { # FEED [export options]: the four tables, snapshot, key id
    local f=$1; shift
    local t
    for t in $TABLES; do
        "$PQF" export "$f" --table "$t" --schema "$G/$t.schema.json" --key id "$@" \
            "$G/$t.ndjson" >>"$T/export_all.out" 2>&1 || return 1
    done
}
nlog() { find "$1/issues/_log" -name '*.json' | wc -l; }
nschema() { find "$1/issues/_schema" -name '*.json' | wc -l; }
nparquet() { find "$1/issues" -name '*.parquet' | wc -l; }

# ---- a fresh feed keeps the contract ------------------------------------------------
F=$T/feed
check "export of the four gen tables with --contract" export_all "$F" --contract "$C"
check "schema check passes on the fresh feed" "$PQF" schema check "$C" "$F"
check_grep "the nested author column is compared field by field" "^ +author +ok +struct<id:int64,name:string,email:string>, required" "$T/last.out"
check_grep "the key is compared" '^ +\(key\) +ok +contract id, feed id$' "$T/last.out"
check "apply --contract applies the fresh feed" "$PQF" apply "$F" "$T/fresh.db" --contract "$C"
check_grep "all four tables applied" "^applied 4 commit\(s\), 1600 rows" "$T/last.out"

# ---- export refuses a commit that breaks the contract --------------------------------
L0=$(nlog "$F"); S0=$(nschema "$F"); P0=$(nparquet "$F")
refused() { # DESC PATTERN EXPORT-ARGS...: export exits 24 naming the rule; nothing published
    local desc=$1 pat=$2; shift 2
    check_exit "export refuses: $desc (exit 24)" 24 "$PQF" export "$F" --table issues --key id --contract "$C" "$@"
    check_grep "export names table, column and rule: $desc" "$pat" "$T/last.out"
    check_eq "no commit object published: $desc" "$(nlog "$F")" "$L0"
    check_eq "no schema version registered: $desc" "$(nschema "$F")" "$S0"
}
refused "a column dropped" \
    "table issues: commit 2 not published: contract .*contract.yaml: table issues: column title: missing \(the contract needs it: line [0-9]+\)" \
    --schema "$T/drop.schema.json" --allow-incompatible "$T/drop.ndjson"
check_eq "a refused schema writes no data files either" "$(nparquet "$F")" "$P0"
refused "a type narrowed" \
    "column story_points: wrong type: contract int32, feed int16$" \
    --schema "$T/narrow.schema.json" --allow-incompatible "$D"
refused "a type widened past the contract's" \
    "column story_points: wrong type: contract int32, feed int64$" \
    --schema "$T/widen.schema.json" "$D"
refused "a required column made nullable" \
    "column title: nullability: contract requires non-null, the feed's column is nullable$" \
    --schema "$T/titlenull.schema.json" "$D"
refused "a required column added (breaks backward)" \
    "column team: compatibility backward: added required column \(string\) breaks backward compatibility$" \
    --schema "$T/addreq.schema.json" --allow-incompatible "$T/added.ndjson"
refused "a nested field narrowed" \
    "column author: wrong type: author.id: contract int64, feed int32$" \
    --schema "$T/authorid.schema.json" --allow-incompatible "$D"
refused "another key" \
    "table issues: key: the contract's key is id, the feed's is key$" \
    --schema "$S" "$D" --key key
refused "a value outside 'allowed'" \
    'column status: check allowed: 1 value not allowed, e.g. "wontfix"$' \
    --schema "$S" "$T/badstatus.ndjson"
check_eq "a refused value check leaves its data file as an orphan only" "$(nparquet "$F")" "$((P0 + 1))"
check "gc removes the refused commit's orphan data file" "$PQF" gc "$F" --grace 0s
check_eq "after gc only the published files remain" "$(nparquet "$F")" "$P0"

check "a table the contract does not name is not checked" "$PQF" export "$F" --table tickets --key id \
    --contract "$C" --schema "$T/drop.schema.json" "$T/drop.ndjson"

# a compatible change the contract allows goes through
check "export accepts a nullable column added" "$PQF" export "$F" --table issues --key id --contract "$C" \
    --schema "$T/added.schema.json" "$T/added.ndjson"
check_grep "the added column is a new schema version" "commit 2 \(snapshot\): 400 rows in 1 files, [0-9]+ bytes, schema v2 \(new\)" "$T/last.out"
check "schema check passes after the added column" "$PQF" schema check "$C" "$F"
check_grep "the step keeps backward" "v1 -> v2: keeps backward" "$T/last.out"
check "apply --contract applies the added column" "$PQF" apply "$F" "$T/fresh.db" --contract "$C"
check_eq "the sink has the new column" "$(sqlite3 "$T/fresh.db" 'select count(*) from issues where team = "core"')" "400"

# ---- apply refuses a commit that breaks the contract ----------------------------------
# The producer exports without the contract; the consumer enforces it.
A=$T/feedA
export_all "$A"
check "apply --contract: commit 1 of every table" "$PQF" apply "$A" "$T/a.db" --contract "$C"
"$PQF" export "$A" --table issues --key id --schema "$T/drop.schema.json" --allow-incompatible "$T/drop.ndjson" >/dev/null
check_exit "apply refuses a commit with a dropped column (exit 24)" 24 "$PQF" apply "$A" "$T/a.db" --contract "$C"
check_grep "apply names commit, table, column and rule" "commit 2 breaks contract .*contract.yaml: table issues: column title: missing" "$T/last.out"
check_eq "the sink's checkpoint stays at commit 1" "$(sqlite3 "$T/a.db" "select max(seq) from _pqfeed_checkpoint where table_name = 'issues'")" "1"
check_eq "the sink's rows are untouched" "$(sqlite3 "$T/a.db" 'select count(*) from issues where title is not null')" "400"
check_exit "schema check fails on the dropped column" 24 "$PQF" schema check "$C" "$A" --table issues
check_grep "check names the version with the column missing" "^ +title +missing +not in the feed's schema" "$T/last.out"
check_grep "check shows the drop between the versions" "dropped column title \(string, required\)" "$T/last.out"

B=$T/feedB
export_all "$B"
"$PQF" apply "$B" "$T/b.db" --contract "$C" >/dev/null
"$PQF" export "$B" --table issues --key id --schema "$T/narrow.schema.json" --allow-incompatible "$D" >/dev/null
check_exit "apply refuses a commit with a narrowed type (exit 24)" 24 "$PQF" apply "$B" "$T/b.db" --contract "$C"
check_grep "apply names the narrowed column" "table issues: column story_points: wrong type: contract int32, feed int16" "$T/last.out"
check_exit "schema check fails on the narrowed type" 24 "$PQF" schema check "$C" "$B" --table issues
check_grep "check: the narrowing breaks backward" "v1 -> v2: breaks backward" "$T/last.out"

E=$T/feedE
export_all "$E"
"$PQF" apply "$E" "$T/e.db" --contract "$C" >/dev/null
"$PQF" export "$E" --table issues --key id --schema "$S" "$T/badstatus.ndjson" >/dev/null
check_exit "apply refuses a commit with a failing value (exit 24)" 24 "$PQF" apply "$E" "$T/e.db" --contract "$C"
check_grep "apply names the value rule with an example" 'column status: check allowed: 1 value not allowed, e.g. "wontfix"' "$T/last.out"
check_eq "no row of the refused commit entered the sink" "$(sqlite3 "$T/e.db" "select count(*) from issues where status = 'wontfix'")" "0"
check "apply without the contract applies it (the stop was the contract's)" "$PQF" apply "$E" "$T/e.db"
check_eq "now the value is in the sink" "$(sqlite3 "$T/e.db" "select count(*) from issues where status = 'wontfix'")" "1"

# a file the contract check cannot read yet is late or corrupt, as without a contract
H=$T/feedH
export_all "$H"
"$PQF" export "$H" --table issues --key id --schema "$S" "$T/badstatus.ndjson" >/dev/null
F2=$(find "$H/issues" -name '00000000000000000002-*.parquet')
mv "$F2" "$T/held.parquet"
check_exit "apply --contract: a missing file is late (exit 20), not a breach" 20 "$PQF" apply "$H" "$T/h.db" --contract "$C" --max-delay 300ms --backoff 50ms
check_grep "the late file is named" "file .*00000000000000000002-.*parquet is late: missing" "$T/last.out"
head -c "$(stat -c %s "$T/held.parquet")" /dev/zero >"$F2"
check_exit "apply --contract: a corrupt file is corrupt (exit 21)" 21 "$PQF" apply "$H" "$T/h.db" --contract "$C" --max-delay 300ms --backoff 50ms
check_eq "the corrupt file is quarantined" "$(sqlite3 "$T/h.db" 'select count(*) from _pqfeed_quarantine where seq = 2')" "1"
mv "$T/held.parquet" "$F2"
check_exit "once the file is right the contract judges it (exit 24)" 24 "$PQF" apply "$H" "$T/h.db" --contract "$C"

# ---- value checks over every commit, sampled or all -----------------------------------
# feedE: commit 1 is clean, commit 2 holds the bad value: older commits count too.
check_exit "schema check reads every commit's values" 24 "$PQF" schema check "$C" "$E" --table issues --all
check_grep "--all reads every row of both commits" "^  values \(2 commits, 2 files: 800 of 800 rows read\)$" "$T/last.out"
check_grep "the failing value is named" '^ +status +failing values +1 not allowed, .*e.g. "wontfix"' "$T/last.out"
"$PQF" export "$E" --table issues --key id --schema "$S" "$D" >/dev/null # commit 3: clean again
check_exit "a bad value in an older commit still fails the check" 24 "$PQF" schema check "$C" "$E" --table issues
check_exit "--sample 60: about 60 rows over the three commits (row 8 of commit 2 among them)" 24 "$PQF" schema check "$C" "$E" --table issues --sample 60 --json
check_grep "--sample: rows read in proportion to each file" '"values":\{"commits":3,"files":3,"rows_total":1200,"rows_read":60,"sample":60,' "$T/last.out"
check_exit "--sample 0 is a usage error" 2 "$PQF" schema check "$C" "$E" --sample 0

# ---- the pipeline config's contract: key, and run --contract ----------------------------
mkdir -p "$T/pipe/pages"
cp "$D" "$T/pipe/pages/issues.ndjson"
cp "$S" "$T/pipe/issues.schema.json"
cp "$C" "$T/pipe/contract.yaml"
cat >"$T/pipe/pipeline.yaml" <<'EOF'
primary: ./feed
sink: sqlite:./warehouse.db
contract: ./contract.yaml
tables:
  issues:
    source: {format: ndjson, path: ./pages}
    schema: ./issues.schema.json
    key: [id]
EOF
check "run --once with the config's contract" "$PQF" run "$T/pipe/pipeline.yaml" --once
check_grep "run exported and applied" "^apply .*: 1 commits, 400 rows" "$T/last.out"
cp "$T/badstatus.ndjson" "$T/pipe/pages/issues.ndjson"
check_exit "run: the config's contract refuses a bad value (exit 24)" 24 "$PQF" run "$T/pipe/pipeline.yaml" --once
check_grep "run names the rule" 'table issues: commit 2 not published: .*column status: check allowed' "$T/last.out"
check_eq "run published nothing" "$(nlog "$T/pipe/feed")" "1"
check_exit "export --config enforces the config's contract too" 24 "$PQF" export --config "$T/pipe/pipeline.yaml"
sed 's/allowed: \[open, in_progress, review, resolved, closed\]/allowed: [open, in_progress, review, resolved, closed, wontfix]/' "$C" >"$T/wontfix.yaml"
check "run --contract replaces the config's contract" "$PQF" run "$T/pipe/pipeline.yaml" --once --contract "$T/wontfix.yaml"
check_eq "the commit is published under the looser contract" "$(nlog "$T/pipe/feed")" "2"
sed -i 's|^contract: ./contract.yaml|contract: ./nothere.yaml|' "$T/pipe/pipeline.yaml"
check_exit "a config whose contract file is missing is refused" 9 "$PQF" run "$T/pipe/pipeline.yaml" --once

# ---- nested columns in check and diff ---------------------------------------------------
contract1() { # OUT TYPE: issues with one column: author of TYPE
    printf 'tables:\n  issues:\n    columns:\n      - name: author\n        type: "%s"\n' "$2" >"$1"
}
contract1 "$T/n1.yaml" "struct<id:int32,name:string>"
check_exit "a nested field of another type fails" 24 "$PQF" schema check "$T/n1.yaml" "$F"
check_grep "the nested field is named" "^ +author +wrong type +author.id: contract int32, feed int64" "$T/last.out"
contract1 "$T/n2.yaml" "struct<id:int64, login:string>"
check_exit "a nested field not in the feed fails" 24 "$PQF" schema check "$T/n2.yaml" "$F"
check_grep "the missing field is named" "^ +author +missing +field author.login is not in the feed's schema" "$T/last.out"
printf 'tables:\n  issues:\n    columns:\n      - {name: labels, type: list<int64>}\n      - {name: fields, type: "struct<components:list<string>>"}\n' >"$T/n3.yaml"
check_exit "a list element of another type fails" 24 "$PQF" schema check "$T/n3.yaml" "$F" --json
check_grep "the element is named" '"name":"labels","status":"wrong_type",.*"field":"labels\[\]","detail":"labels\[\]: contract int64, feed string"' "$T/last.out"
check_grep "a list inside a struct matches" '"name":"fields","status":"ok"' "$T/last.out"
sed 's/{"name": "email", "type": "string"}\]/{"name": "email", "type": "string"}, {"name": "phone", "type": "string"}]/' "$T/authorid.schema.json" >"$T/nested2.schema.json"
check "diff compares inside structs" "$PQF" schema diff "$S" "$T/nested2.schema.json"
check_grep "a struct field narrowed" "^  author.id: int64 -> int32 \(narrowing\) \(breaks backward\)$" "$T/last.out"
check_grep "a struct field added" "^  added nullable column author.phone \(string\)$" "$T/last.out"
bad_type() { # DESC PATTERN TYPE
    printf 'tables:\n  issues:\n    columns:\n      - name: author\n        type: "%s"\n' "$3" >"$T/bt.yaml"
    check_exit "contract type refused: $1" 3 "$PQF" schema check "$T/bt.yaml" "$F"
    check_grep "the bad type is explained: $1" "$2" "$T/last.out"
}
bad_type "an unknown nested leaf" "bt.yaml:5: tables.issues.columns\[0\].type: unknown type 'int65'" "struct<id:int65>"
bad_type "an unclosed list" "expected '>' to close list<" "list<string"
bad_type "a struct field without a type" "expected 'field:type' in struct<" "struct<id>"
bad_type "text after the type" "unexpected 'x' after the type" "list<string>x"
printf 'tables:\n  issues:\n    columns:\n      - {name: rate, type: decimal(12,2)}\n' >"$T/flow.yaml"
check_exit "an unquoted decimal in a flow mapping" 3 "$PQF" schema check "$T/flow.yaml" "$F"
check_grep "the flow-mapping comma is explained" "unknown type 'decimal\(12' \(in a \{flow\} mapping a comma ends the value: quote it" "$T/last.out"

done_testing
