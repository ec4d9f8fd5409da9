#!/usr/bin/env bash
# pqfeed export refuses a key column the schema does not have (--key and a
# config file's key:), up front: exit 4, a message naming the table and the
# column, and nothing written to the feed.
. "$(dirname "$0")/../lib.sh"

printf 'id,name,amount\n1,a,10\n2,b,20\n' >"$T/t.csv"
cat >"$T/t.schema.json" <<'EOF'
{"columns": [{"name": "id", "type": "int64"}, {"name": "name", "type": "string"},
             {"name": "amount", "type": "int64"}]}
EOF

# ---- --key -----------------------------------------------------------------------------
check_exit "--key naming no column: exit 4" 4 "$PQF" export "$T/f1" --table orders --key nope --infer-rows 10 "$T/t.csv"
check_grep "the message names the table and the key column" "table orders: key column 'nope' is not a column of the schema" "$T/last.out"
check_grep "and lists the schema's columns" "its columns: id, name, amount" "$T/last.out"
check "nothing was written" test ! -e "$T/f1"
check_exit "one bad column of a composite key: exit 4" 4 "$PQF" export "$T/f1" --table orders --key id,nam --schema "$T/t.schema.json" "$T/t.csv"
check_grep "names that column" "key column 'nam'" "$T/last.out"
check_exit "an empty key column (id,,name): exit 4" 4 "$PQF" export "$T/f1" --table orders --key id,,name --infer-rows 10 "$T/t.csv"
check "still nothing written" test ! -e "$T/f1"
check "changes mode: checked as well" bash -c "! '$PQF' export '$T/f1' --table orders --mode changes --watermark id --key nope --infer-rows 10 '$T/t.csv' && test ! -e '$T/f1'"
check "a real composite key exports" "$PQF" export "$T/f1" --table orders --key id,name --infer-rows 10 "$T/t.csv"
check_grep "its schema records the key" '"key": \["id", "name"\]' "$T/f1/orders/_schema/000001.json"
check_exit "a bad key against an existing feed: exit 4" 4 "$PQF" export "$T/f1" --table orders --key amont --infer-rows 10 "$T/t.csv"
check_eq "the feed is unchanged (one commit)" "$(ls "$T/f1/orders/_log" | wc -l)" 1

# ---- a config file's key: ------------------------------------------------------------------
mkdir -p "$T/c"
cp "$T/t.csv" "$T/c/t.csv"
cat >"$T/c/pipeline.yaml" <<'EOF'
primary: ./feed
tables:
  good:
    source: {format: csv, path: t.csv}
    infer_rows: 10
    key: id
  bad:
    source: {format: csv, path: t.csv}
    infer_rows: 10
    key: [id, nmae]
EOF
check_exit "a config table's key naming no column: exit 4" 4 "$PQF" export --config "$T/c/pipeline.yaml"
check_grep "names the file, the line of key: and the column" "pipeline.yaml:10: tables.bad.key: table bad: key column 'nmae' is not a column" "$T/last.out"
check "no table of the config was exported (checked up front)" test ! -e "$T/c/feed"
check "the good table alone exports (--tables good)" "$PQF" export --config "$T/c/pipeline.yaml" --tables good
done_testing
