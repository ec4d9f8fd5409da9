#!/usr/bin/env bash
# The streaming NDJSON shredder (src/source/convert.c) against the tree path it
# replaced (PQF_NDJSON_TREE=1 selects it): the same Parquet bytes for valid
# input (nested structs, lists, JSON columns, escapes, members out of order,
# ignored fields), and for each kind of bad line the same exit code and the
# same message naming the file, line and field.
. "$(dirname "$0")/../lib.sh"

cat >"$T/s.json" <<'JSON'
{"columns": [
  {"name": "id", "type": "int64", "nullable": false},
  {"name": "name", "type": "string"},
  {"name": "ok", "type": "bool"},
  {"name": "amt", "type": "decimal(10,2)"},
  {"name": "at", "type": "timestamp_us"},
  {"name": "tags", "type": {"list": "string"}},
  {"name": "pts", "type": {"list": {"type": "int32", "nullable": false}}},
  {"name": "meta", "type": {"struct": [
    {"name": "a", "type": "int32"},
    {"name": "b", "type": {"struct": [{"name": "c", "type": "string"}]}}
  ]}},
  {"name": "j", "type": "json"}
]}
JSON
{
    echo '{"id":1,"name":"plain","ok":true,"amt":"12.50","at":"2026-01-05T10:00:00Z","tags":["a","b"],"pts":[1,2,3],"meta":{"a":7,"b":{"c":"x"}},"j":{"k":[1,2.5e3,null,"s"]}}'
    echo '  {"j": [true, false], "meta": {"b": null, "a": -1}, "id": 2, "name": "esc \" \\ \/ \b\f\n\r\t \u00e9 \ud834\udd1e é", "amt": 3}  '
    echo ''
    echo '{"id":3,"name":null,"ok":null,"amt":null,"at":null,"tags":null,"pts":[],"meta":null,"j":null}'
    echo '{"id":4,"tags":[null,"",  "long string that is longer than eight bytes, with no escapes at all"],"at":"2026-01-05 10:00:00.123456+02:00"}'
    echo '{"id":-9223372036854775808,"amt":-99999999.99,"pts":[2147483647,-2147483648],"j":"text","meta":{}}'
    echo '{"id":6,"name":"\u0000nul","j":123.0e-5}'
    echo '{"id":-0,"meta":{"a":-2147483648},"pts":[0,7,-12,999999999]}'
    echo '{"id":123456789012345678,"meta":{"a":2147483647}}'
    echo '{"id":-123456789012345678}'
    # values parsed from the line by the padded parsers, and from decoded escapes
    echo '{"id":10,"at":"2026-01-05T10:00:00.5Z","amt":"7.5"}'
    echo '{"id":11,"at":"2026-01-05T10:00:00\u002e25Z","amt":"\u0037.25"}'
    echo '{"id":12,"at":"2026-01-05T10:00:00.123456","amt":-0.01}'
    echo '{"id":13,"at":"2028-02-29T23:59:59.999999Z","amt":100}'
} >"$T/good.ndjson"
for i in $(seq 7 3000); do echo "{\"id\":$i,\"name\":\"row $i\",\"tags\":[\"t$((i % 7))\"],\"meta\":{\"a\":$((i % 100))},\"amt\":$((i % 1000)).25}"; done >>"$T/good.ndjson"
check "streamed" "$PQF" convert "$T/good.ndjson" "$T/stream.parquet" --schema "$T/s.json"
check "through the tree" env PQF_NDJSON_TREE=1 "$PQF" convert "$T/good.ndjson" "$T/tree.parquet" --schema "$T/s.json"
check "the same Parquet bytes" cmp "$T/stream.parquet" "$T/tree.parquet"
"$PQF" parquet cat "$T/stream.parquet" 2>&1 | head -2 >"$T/rows"
check_grep "escapes decoded" '"name":"esc \\" \\\\ / \\u0008\\u000c\\n\\r\\t é 𝄞 é"' "$T/rows"
printf '{"id":1,"zzz":{"deep":[1,{"x":2}]},"name":"a"}\n' >"$T/unknown.ndjson"
check "ignored fields: streamed" "$PQF" convert "$T/unknown.ndjson" "$T/u1.parquet" --schema "$T/s.json" --unknown-fields ignore
check "ignored fields: tree" env PQF_NDJSON_TREE=1 "$PQF" convert "$T/unknown.ndjson" "$T/u2.parquet" --schema "$T/s.json" --unknown-fields ignore
check "the same bytes" cmp "$T/u1.parquet" "$T/u2.parquet"

# deeper shapes, where each leaf's definition and repetition levels come from
# the shredder (levelled writes): lists of structs, lists of lists, required
# members under optional structs, nulls and empty lists at every depth,
# members missing or out of order, over more rows than one page holds
cat >"$T/n.json" <<'JSON'
{"columns": [
  {"name": "id", "type": "int64", "nullable": false},
  {"name": "items", "type": {"list": {"type": {"struct": [
    {"name": "sku", "type": "string", "nullable": false},
    {"name": "qty", "type": "int32"},
    {"name": "tags", "type": {"list": {"type": "string", "nullable": false}}}
  ]}}}},
  {"name": "grid", "type": {"list": {"type": {"list": "int64"}}}},
  {"name": "who", "type": {"struct": [
    {"name": "uid", "type": "int64", "nullable": false},
    {"name": "addr", "type": {"struct": [
      {"name": "city", "type": "string"},
      {"name": "zip", "type": "string", "nullable": false}
    ]}}
  ]}},
  {"name": "flag", "type": "bool"}
]}
JSON
{
    echo '{"id":1,"items":[{"sku":"a","qty":2,"tags":["x","y"]},{"sku":"b","qty":null,"tags":[]},{"sku":"c"}],"grid":[[1,2],[],null,[3,null]],"who":{"uid":7,"addr":{"city":"Oslo","zip":"0150"}},"flag":true}'
    echo '{"id":2,"items":[],"grid":[],"who":null}'
    echo '{"id":3,"items":null,"grid":null,"who":{"uid":8,"addr":null},"flag":null}'
    echo '{"id":4}'
    echo '{"flag":false,"who":{"addr":{"zip":"1"},"uid":9},"id":5,"grid":[[null],[4,5,6]],"items":[{"tags":["z"],"sku":"d"}]}'
    echo '{"id":6,"items":[null,{"sku":"e","tags":null}],"grid":[null,null],"who":{"uid":10}}'
    echo '{"id":7,"who":{"uid":11,"addr":{}}}'
} >"$T/nested.ndjson"
check "nested: the line with a required member missing under a present struct fails" \
    sh -c "! \"$PQF\" convert \"$T/nested.ndjson\" \"$T/ns.parquet\" --schema \"$T/n.json\" >\"$T/ns.out\" 2>&1"
check_grep "nested: the message names the line and field" "nested.ndjson:7: field 'who.addr.zip' is missing and not nullable" "$T/ns.out"
sed -i '$d' "$T/nested.ndjson"
for i in $(seq 8 6000); do
    case $((i % 5)) in
    0) echo "{\"id\":$i,\"items\":[{\"sku\":\"s$i\",\"qty\":$((i % 9)),\"tags\":[\"t$((i % 3))\",\"u\"]}],\"grid\":[[$i],[$((i + 1)),null]]}" ;;
    1) echo "{\"id\":$i,\"who\":{\"uid\":$i,\"addr\":{\"zip\":\"z$((i % 50))\"}},\"flag\":true}" ;;
    2) echo "{\"id\":$i,\"items\":[],\"grid\":[[]],\"who\":null}" ;;
    3) echo "{\"id\":$i,\"items\":[{\"sku\":\"k\"},null,{\"sku\":\"m\",\"tags\":[]}]}" ;;
    4) echo "{\"grid\":null,\"id\":$i,\"flag\":false}" ;;
    esac
done >>"$T/nested.ndjson"
check "nested: streamed" "$PQF" convert "$T/nested.ndjson" "$T/ns.parquet" --schema "$T/n.json" --page-size 4096
check "nested: through the tree" env PQF_NDJSON_TREE=1 "$PQF" convert "$T/nested.ndjson" "$T/nt.parquet" --schema "$T/n.json" --page-size 4096
check "nested: the same Parquet bytes" cmp "$T/ns.parquet" "$T/nt.parquet"
"$PQF" parquet cat "$T/ns.parquet" --limit 6 >"$T/nrows" 2>&1
check_grep "nested: a list of structs with its nulls and empty lists" '"items":\[\{"sku":"a","qty":2,"tags":\["x","y"\]\},\{"sku":"b","qty":null,"tags":\[\]\},\{"sku":"c","qty":null,"tags":null\}\]' "$T/nrows"
check_grep "nested: a list of lists" '"grid":\[\[1,2\],\[\],null,\[3,null\]\]' "$T/nrows"
check_grep "nested: members out of order, a missing optional struct member" '"id":5,.*"who":\{"uid":9,"addr":\{"city":null,"zip":"1"\}\}' "$T/nrows"
check "nested: the file validates" "$PQF" parquet validate "$T/ns.parquet"

# bad lines: line 2 of a file after a good line
deep=$(printf '%.0s[' $(seq 1 70))1$(printf '%.0s]' $(seq 1 70))
bad_lines=(
    '{"id": 5, not json'
    '[1, 2]'
    '"just a string"'
    '{"id": "x"}'
    '{"id": 1, "id": 2}'
    '{"id": 1, "nope": 2}'
    '{"name": "no id"}'
    '{"id": null}'
    '{"id": 1, "name": {"a": 1}}'
    '{"id": 1, "name": 5, "tags": [1,]}'
    '{"id": 1, "tags": "x"}'
    '{"id": 1, "pts": [1, null]}'
    '{"id": 1, "pts": [1, 2147483648]}'
    '{"id": 1, "meta": {"a": 1, "a": 2}}'
    '{"id": 1, "meta": [1]}'
    '{"id": 1, "ok": "yes"}'
    '{"id": 1, "amt": "1.234"}'
    '{"id": 1, "j": {"a": 1, "a": 2}}'
    "{\"id\": 1, \"j\": $deep}"
    '{"id": 1, "name": "\ud800"}'
    $'{"id": 1, "name": "bad \xff utf8"}'
    $'{"id": 1, "name": "tab\tinside"}'
    '{"id": 1, "name": "\x"}'
    '{"id": 1} trailing'
    '{"id": 01}'
    '{"id": 1, "amt": 1.}'
    '{"id": 1, "at": "yesterday"}'
    '{"id": 1, "at": "2026-02-30T10:00:00Z"}'
    '{"id": 1, "at": "2026-01-05T24:00:00Z"}'
    '{"id": 1, "at": "2026-01-05T10:00:00.1234567Z"}'
    '{"id": 1, "at": "2026-01-05T10:00:00\u002e1234567Z"}'
    '{"id": 1, "amt": 123456789012.5}'
    '{"id": 1, "amt": 1e2}'
    '{"id": 1, "amt": "1\u002e234"}'
    '{"id": 1,}'
    '{"id" 1}'
    '{"id": 1, "name": "unterminated}'
    '{"id": tru}'
    '{"id": 1, "ok": nul}'
    '{"id": -}'
    '{"id": -01}'
    '{"id": 1x}'
    '{"id": 1e3}'
    '{"id": 2.0}'
    '{"id": 12345678901234567890}'
    '{"id": -9223372036854775809}'
    '{"id": 1, "meta": {"a": 2147483648}}'
    '{"id": 1, "meta": {"a": -2147483649}}'
)
same=1
for i in "${!bad_lines[@]}"; do
    { echo '{"id":0}'; printf '%s\n' "${bad_lines[$i]}"; } >"$T/bad$i.ndjson"
    "$PQF" convert "$T/bad$i.ndjson" "$T/b.parquet" --schema "$T/s.json" >"$T/s.out" 2>&1
    rs=$?
    PQF_NDJSON_TREE=1 "$PQF" convert "$T/bad$i.ndjson" "$T/b.parquet" --schema "$T/s.json" >"$T/t.out" 2>&1
    rt=$?
    if [ "$rs" -ne "$rt" ] || ! cmp -s "$T/s.out" "$T/t.out" || [ "$rs" -eq 0 ]; then
        same=0
        echo "# line: ${bad_lines[$i]}"
        echo "#   streamed (exit $rs): $(cat "$T/s.out")"
        echo "#   tree     (exit $rt): $(cat "$T/t.out")"
    fi
done
check_eq "each of ${#bad_lines[@]} bad lines: the same exit code and message as the tree path" "$same" 1
"$PQF" convert "$T/bad3.ndjson" "$T/b.parquet" --schema "$T/s.json" >"$T/m.out" 2>&1
check_grep "a message names the file, line and field" "bad3.ndjson:2: field 'id': cannot convert 'x' to int64" "$T/m.out"
check "and no output file is left" test ! -e "$T/b.parquet"
done_testing
