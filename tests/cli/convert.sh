# CLI tests: pqfeed convert (CSV/NDJSON -> Parquet), errors and atomicity.
source "$(dirname "$0")/../lib.sh"

cat >"$T/s.json" <<'J'
{"columns":[{"name":"id","type":"int64","nullable":false},
 {"name":"amount","type":"decimal(18,2)"},
 {"name":"at","type":"timestamp_us"},
 {"name":"name","type":"string"}]}
J
printf 'id,amount,at,name\n1,12.50,2024-03-01T12:00:00Z,ann\n2,,2024-03-01T14:00:00+02:00,"b,ob"\n3,-0.01,2024-03-01,\n' >"$T/a.csv"

check "convert a flat CSV with a schema" "$PQF" convert "$T/a.csv" "$T/a.parquet" --schema "$T/s.json"
check_grep "summary names rows and row groups" '^.*a\.parquet: 3 rows, 1 row groups, [0-9]+ bytes in [0-9.]+ s \([0-9]+ rows/s\)$' "$T/last.out"
check_eq "magic at both ends" "$(head -c4 "$T/a.parquet")$(tail -c4 "$T/a.parquet")" "PAR1PAR1"

check "--json summary" "$PQF" convert "$T/a.csv" "$T/b.parquet" --schema "$T/s.json" --json --codec snappy
check_grep "json has rows" '^\{"input":".*","output":".*","rows":3,"row_groups":1,' "$T/last.out"

# a value that does not fit: exit 3, message names file, line, field; no output file
printf 'id,amount,at,name\n1,1.00,2024-01-01,x\n2,1.234,2024-01-01,y\n' >"$T/bad.csv"
check_exit "too many decimal places is a value error" 3 "$PQF" convert "$T/bad.csv" "$T/bad.parquet" --schema "$T/s.json"
check_eq "message names file, line and field" "$(cat "$T/last.out")" \
  "pqfeed: $T/bad.csv:3: field 2 (amount): cannot convert '1.234' to decimal(18,2): has too many decimal places"
check_eq "no partial output" "$(ls "$T" | grep -c 'bad.parquet')" "0"

printf 'id,amount,at,name\n1,1.00,2024-01-01,"open\n' >"$T/q.csv"
check_exit "broken quote is a parse error" 3 "$PQF" convert "$T/q.csv" "$T/q.parquet" --schema "$T/s.json"
check_eq "parse error position" "$(cat "$T/last.out")" "pqfeed: $T/q.csv:2: field 4 (name): unterminated quoted field"

printf 'id,amount,at,name,extra\n1,1.00,2024-01-01,x,y\n' >"$T/x.csv"
check_exit "unknown column is a schema error" 4 "$PQF" convert "$T/x.csv" "$T/x.parquet" --schema "$T/s.json"
check_grep "names the column" "column 'extra' is not in the schema" "$T/last.out"
check "--unknown-fields ignore" "$PQF" convert "$T/x.csv" "$T/x.parquet" --schema "$T/s.json" --unknown-fields ignore

printf 'id,amount\n,1.00\n' >"$T/n.csv"
check_exit "NULL in a required column" 3 "$PQF" convert "$T/n.csv" "$T/n.parquet" --schema "$T/s.json"
check_eq "null message" "$(cat "$T/last.out")" "pqfeed: $T/n.csv:2: field 1 (id): NULL in a non-nullable column"

printf '1\t\\N\t2024-01-01\tann\n' >"$T/t.tsv"
check "TSV without header, custom NULL" "$PQF" convert "$T/t.tsv" "$T/t.parquet" --schema "$T/s.json" --format csv --delimiter tab --null '\N' --no-header
check_grep "one row" ': 1 rows,' "$T/last.out"

# NDJSON, nested
cat >"$T/nest.json" <<'J'
{"columns":[{"name":"id","type":"int64","nullable":false},
 {"name":"labels","type":{"list":"string"}},
 {"name":"author","type":{"struct":[{"name":"id","type":"int64"},{"name":"name","type":"string"}]}},
 {"name":"extra","type":"json"}]}
J
printf '{"id":1,"labels":["a","b"],"author":{"id":7,"name":"ann"},"extra":{"k":[1,2]}}\n\n{"id":2,"labels":null}\n{"id":3,"labels":[],"author":{"name":"bob"}}\n' >"$T/n.ndjson"
check "NDJSON with nested struct, list, json" "$PQF" convert "$T/n.ndjson" "$T/n.parquet" --schema "$T/nest.json"
check_grep "three rows" ': 3 rows,' "$T/last.out"
printf '{"id":1,"author":{"id":"x"}}\n' >"$T/m.ndjson"
check_exit "type mismatch in a nested field" 3 "$PQF" convert "$T/m.ndjson" "$T/m.parquet" --schema "$T/nest.json"
check_eq "names the field path" "$(cat "$T/last.out")" \
  "pqfeed: $T/m.ndjson:1: field 'author.id': cannot convert 'x' to int64: not an integer"
printf '{"id":1}\n{"id":2,"author":{"nick":"z"}}\n' >"$T/u.ndjson"
check_exit "unknown nested field" 3 "$PQF" convert "$T/u.ndjson" "$T/u.parquet" --schema "$T/nest.json"
check_eq "unknown field message" "$(cat "$T/last.out")" "pqfeed: $T/u.ndjson:2: unknown field 'author.nick' (not in the schema)"
check "unknown nested field ignored" "$PQF" convert "$T/u.ndjson" "$T/u.parquet" --schema "$T/nest.json" --unknown-fields ignore
printf '{"id":1,\n' >"$T/j.ndjson"
check_exit "malformed NDJSON line" 3 "$PQF" convert "$T/j.ndjson" "$T/j.parquet" --schema "$T/nest.json"
check_eq "JSON error position" "$(cat "$T/last.out")" "pqfeed: $T/j.ndjson:1: column 9: expected a string key"

# inference
check "infer and save the schema" "$PQF" convert "$T/a.csv" "$T/i.parquet" --infer-rows 10 --schema-out "$T/i.json"
check_eq "inferred schema" "$(tr -d '\n ' <"$T/i.json")" \
  '{"columns":[{"name":"id","type":"int64","nullable":false},{"name":"amount","type":"decimal(18,2)"},{"name":"at","type":"timestamp_us","nullable":false},{"name":"name","type":"string"}]}'

check_exit "bad option" 2 "$PQF" convert "$T/a.csv" "$T/z.parquet" --codec lzma
check "--help" "$PQF" convert --help
check_grep "help lists --schema" '--schema FILE' "$T/last.out"

# an OUT that is not a plain file: a FIFO (or a device) is written in place and
# stays what it is; a symlink to a file has the file replaced, never the link
# (as root, renaming over /dev/stdout or /dev/null would replace the node)
mkfifo "$T/fifo"
timeout 60 cat "$T/fifo" >"$T/fifo.parquet" &
reader=$!
check "convert into a FIFO" timeout 60 "$PQF" convert "$T/a.csv" "$T/fifo" --schema "$T/s.json"
wait "$reader"
check_eq "the FIFO is still a FIFO" "$([ -p "$T/fifo" ] && echo fifo)" "fifo"
check "what went through it is the Parquet file" "$PQF" parquet validate "$T/fifo.parquet"
ln -s /proc/self/fd/1 "$T/stdout-link"
timeout 60 "$PQF" convert "$T/a.csv" "$T/stdout-link" --schema "$T/s.json" >"$T/piped.parquet" \
    2>"$T/piped.err"
check "a link to stdout (as /dev/stdout is) redirected to a file" \
    "$PQF" parquet validate "$T/piped.parquet"
check_eq "the link is still a link" "$([ -L "$T/stdout-link" ] && echo link)" "link"
check_grep "the summary went to stderr, not into the Parquet bytes" 'stdout-link: 3 rows' "$T/piped.err"
echo old >"$T/target.parquet"
ln -s target.parquet "$T/link.parquet"
check "convert through a symlink" "$PQF" convert "$T/a.csv" "$T/link.parquet" --schema "$T/s.json"
check_eq "the symlink stays" "$(readlink "$T/link.parquet")" "target.parquet"
check "the file it names was replaced" "$PQF" parquet validate "$T/target.parquet"

# the files read back in DuckDB, when the interop modules are installed
if [ -d "$ROOT/tests/interop/node_modules/@duckdb" ] && command -v node >/dev/null; then
    node "$ROOT/tests/interop/read.mjs" duckdb "$T/a.parquet" >"$T/a.out" 2>&1
    check_eq "DuckDB reads the CSV conversion" "$(cat "$T/a.out")" \
'{"id":"1","amount":"12.50","at":"2024-03-01T12:00:00.000000Z","name":"ann"}
{"id":"2","amount":null,"at":"2024-03-01T12:00:00.000000Z","name":"b,ob"}
{"id":"3","amount":"-0.01","at":"2024-03-01T00:00:00.000000Z","name":null}'
    node "$ROOT/tests/interop/read.mjs" duckdb "$T/n.parquet" >"$T/n.out" 2>&1
    check_eq "DuckDB reads the nested NDJSON conversion" "$(cat "$T/n.out")" \
'{"id":"1","labels":["a","b"],"author":{"id":"7","name":"ann"},"extra":"{\"k\":[1,2]}"}
{"id":"2","labels":null,"author":null,"extra":null}
{"id":"3","labels":[],"author":{"id":null,"name":"bob"},"extra":null}'
else
    skip "DuckDB reads the CSV conversion" "no tests/interop/node_modules"
    skip "DuckDB reads the nested NDJSON conversion" "no tests/interop/node_modules"
fi
done_testing
