#!/usr/bin/env bash
# The PostgreSQL sink's binary COPY (into the stage, and straight into the
# rewrite's new table): edge values of every
# type it encodes (numeric at full precision, negative, zero, scale 0;
# timestamps before 2000 and far in the future; dates before 2000; NULL in
# every column; empty strings; NaN and infinities; unicode; bytea with zero
# bytes) come out exactly as written, and exactly as the text path
# (PQF_PG_COPY=text) and the stage (PQF_PG_DIRECT=off) put them; a table
# with a TIME column goes as text.
. "$(dirname "$0")/../lib.sh"

start_pg
# every statement in the server log: which COPY each path ran
export PGOPTIONS="-c log_statement=all"
DB_TEXT=pqf_text
psql_ -c "CREATE DATABASE $DB_TEXT"
SINK="postgres:$PQF_TEST_PG"
SINK_TEXT="postgres:${PQF_TEST_PG/dbname=pqf/dbname=$DB_TEXT}"
LOG=$PQF_PG_DIR/server.log

D=$T/edge
mkdir -p "$D"
cat >"$D/schema.json" <<'J'
{"columns": [
 {"name": "id", "type": "int64", "nullable": false},
 {"name": "wm", "type": "timestamp_us", "nullable": false},
 {"name": "del", "type": "bool"},
 {"name": "i8", "type": "int8"}, {"name": "i16", "type": "int16"}, {"name": "i32", "type": "int32"},
 {"name": "i64", "type": "int64"}, {"name": "u16", "type": "uint16"}, {"name": "u32", "type": "uint32"},
 {"name": "u64", "type": "uint64"},
 {"name": "f", "type": "float"}, {"name": "d", "type": "double"}, {"name": "b", "type": "bool"},
 {"name": "n38", "type": "decimal(38,10)"}, {"name": "n0", "type": "decimal(18,0)"},
 {"name": "n9", "type": "decimal(9,4)"}, {"name": "n38i", "type": "decimal(38,0)"},
 {"name": "s", "type": "string"}, {"name": "e", "type": "enum"}, {"name": "u", "type": "uuid"},
 {"name": "dt", "type": "date"},
 {"name": "ts", "type": "timestamp_us"}, {"name": "tms", "type": "timestamp_ms"},
 {"name": "tns", "type": "timestamp_ns"}, {"name": "tl", "type": "timestamp_us", "utc": false},
 {"name": "j", "type": "json"}, {"name": "bin", "type": "binary"}, {"name": "fx", "type": "fixed(3)"},
 {"name": "l", "type": {"list": "int32"}},
 {"name": "st", "type": {"struct": [{"name": "a", "type": "string"}, {"name": "z", "type": "double"}]}}
]}
J
cat >"$D/1.ndjson" <<'J'
{"id":1,"wm":"2026-01-01T00:00:01Z","i8":-128,"i16":-32768,"i32":-2147483648,"i64":-9223372036854775808,"u16":65535,"u32":4294967295,"u64":"18446744073709551615","f":"nan","d":"nan","b":true,"n38":"9999999999999999999999999999.9999999999","n0":"-999999999999999999","n9":"-99999.9999","n38i":"99999999999999999999999999999999999999","s":"","e":"","u":"00000000-0000-0000-0000-000000000000","dt":"1970-01-01","ts":"1969-12-31T23:59:59.999999Z","tms":"1900-01-01T00:00:00.001Z","tns":"1999-12-31T23:59:59.999999999Z","tl":"0001-01-01T00:00:00","j":{},"bin":"","fx":"abc","l":[],"st":{"a":"","z":0}}
{"id":2,"wm":"2026-01-01T00:00:02Z","i8":127,"i16":32767,"i32":2147483647,"i64":9223372036854775807,"u16":0,"u32":0,"u64":0,"f":"inf","d":"-inf","b":false,"n38":"-9999999999999999999999999999.9999999999","n0":"0","n9":"0.0001","n38i":"-99999999999999999999999999999999999999","s":"héllo wörld ✓ 𝄞 日本語 \\ \t tab\nnewline\r","e":"ünï","u":"ffffffff-ffff-ffff-ffff-ffffffffffff","dt":"0001-01-01","ts":"9999-12-31T23:59:59.999999Z","tms":"2000-01-01T00:00:00.000Z","tns":"2262-04-11T23:47:16.854775807Z","tl":"9999-12-31T23:59:59.999999","j":{"a":[1,2.5,"x"],"b":null,"u":"✓"},"bin":"a\u0000b\u0000\u0001","fx":"x\u0000y","l":[1,-2,null],"st":{"a":"ü","z":-0.0}}
{"id":3,"wm":"2026-01-01T00:00:03Z","f":"-inf","d":"inf","n38":"0","n0":"1","n9":"-0.0001","n38i":"0","s":"x","u":"123e4567-e89b-12d3-a456-426614174000","dt":"1999-12-31","ts":"2000-01-01T00:00:00Z","tms":"1969-07-20T20:17:40.123Z","tns":"1677-09-22T00:12:43.145224193Z","tl":"1999-12-31T23:59:59.5","j":[1,2],"bin":"\u0000","l":[0]}
{"id":4,"wm":"2026-01-01T00:00:04Z"}
{"id":5,"wm":"2026-01-01T00:00:05Z","f":0.1,"d":0.1,"n38":"-12345.6789012345","n0":"-1","n9":"12.5","n38i":"100000000","s":"a"}
{"id":6,"wm":"2026-01-01T00:00:06Z","f":3.4028235e38,"d":1.7976931348623157e308,"n38":"-0.0000000001","n9":"0","i64":0,"dt":"2000-01-01","ts":"2000-02-29T12:34:56.000001Z","tns":"2000-01-01T00:00:00.000000500Z"}
{"id":7,"wm":"2026-01-01T00:00:07Z","f":1.4e-45,"d":5e-324,"n38":"1234567890123456789012345678.0123456789","dt":"1600-02-29","tns":"2000-01-01T00:00:00.000001500Z","tms":"2024-02-29T23:59:59.999Z"}
{"id":8,"wm":"2026-01-01T00:00:08Z","del":true}
{"id":3,"wm":"2026-01-01T00:00:09Z","f":-0.0,"d":-2.5e-300,"n38":"42","n0":"1","n9":"-0.0001","n38i":"0","s":"changed twice","u":"123e4567-e89b-12d3-a456-426614174000","dt":"1999-01-01","ts":"2000-01-01T00:00:00Z","tms":"1969-07-20T20:17:40.123Z","tns":"1999-12-31T23:59:59.999999500Z","tl":"1999-12-31T23:59:59.5","j":[1,2],"bin":"\u0000","l":[0]}
J
cp "$D/1.ndjson" "$D/ok.ndjson"
CH=(--table edge --schema "$D/schema.json" --mode changes --key id --watermark wm --delete-column del)
# a first commit (a snapshot of row 8 only, via changes), then the edge commit
printf '{"id":8,"wm":"2025-01-01T00:00:00Z","s":"gone"}\n{"id":9,"wm":"2025-01-01T00:00:00Z","s":"kept"}\n' >"$D/0.ndjson"
check "export the first commit" "$PQF" export "$D/feed" "${CH[@]}" --as-of 2025-06-01T00:00:00Z "$D/0.ndjson"
check "export the edge values" "$PQF" export "$D/feed" "${CH[@]}" --as-of 2026-06-01T00:00:00Z "$D/ok.ndjson"

check "binary: apply the edge values" "$PQF" apply "$D/feed" "$SINK"
cp "$LOG" "$T/bin.log"
# a commit that rewrites the table (9 changes into 2 rows) goes straight into the new table
check_grep "binary: the rewrite's COPY (straight into the new table) is binary" 'COPY _pqfeed_rewrite \(.*\) FROM STDIN \(FORMAT binary\)' "$T/bin.log"
DB_STAGE=pqf_stage
psql_ -c "CREATE DATABASE $DB_STAGE"
SINK_STAGE="postgres:${PQF_TEST_PG/dbname=pqf/dbname=$DB_STAGE}"
lines=$(wc -l <"$LOG")
check "stage: apply the same feed with PQF_PG_DIRECT=off" env PQF_PG_DIRECT=off "$PQF" apply "$D/feed" "$SINK_STAGE"
tail -n +"$((lines + 1))" "$LOG" >"$T/stage.log"
check_grep "stage: the stage's COPY is binary" 'COPY pg_temp._pqfeed_stage FROM STDIN \(FORMAT binary\)' "$T/stage.log"
: >"$LOG.mark"; lines=$(wc -l <"$LOG")
check "text: apply the same feed with PQF_PG_COPY=text" env PQF_PG_COPY=text "$PQF" apply "$D/feed" "$SINK_TEXT"
tail -n +"$((lines + 1))" "$LOG" >"$T/text.log"
check_grep "text: the stage's COPY is text" 'COPY pg_temp._pqfeed_stage FROM STDIN$' "$T/text.log"
check_eq "text: no binary COPY" "$(grep -c 'FORMAT binary' "$T/text.log")" 0

# every column's exact value: floats as their bits, everything else as text
dumpq="SET TimeZone = 'UTC'; SET extra_float_digits = 3; SELECT id, i8, i16, i32, i64, u16, u32, u64,
 float4send(f), float8send(d), f, d, b, n38, n0, n9, n38i, s, e, u, dt, ts, tms, tns, tl, j, bin, fx, l, st,
 pg_typeof(n38), pg_typeof(dt), pg_typeof(ts), pg_typeof(tl), pg_typeof(j), pg_typeof(bin)
 FROM edge ORDER BY id"
psql_ -c "$dumpq" >"$T/bin.txt"
psql -X -q -At -v ON_ERROR_STOP=1 "${PQF_TEST_PG/dbname=pqf/dbname=$DB_TEXT}" -c "$dumpq" >"$T/text.txt"
check "both paths give identical tables" diff "$T/text.txt" "$T/bin.txt"
psql -X -q -At -v ON_ERROR_STOP=1 "${PQF_TEST_PG/dbname=pqf/dbname=$DB_STAGE}" -c "$dumpq" >"$T/stage.txt"
check "binary through the stage gives the same table" diff "$T/text.txt" "$T/stage.txt"
check_eq "rows: 1-7, 9 (8 deleted)" "$(psql_ -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM edge")" "1 2 3 4 5 6 7 9"

q() { psql_ -c "SET TimeZone = 'UTC'" -c "$1"; }
check_eq "integers at their limits" "$(q "SELECT i8||','||i16||','||i32||','||i64||','||u16||','||u32||','||u64 FROM edge WHERE id = 1")" \
    "-128,-32768,-2147483648,-9223372036854775808,65535,4294967295,18446744073709551615"
check_eq "integers at the other limits" "$(q "SELECT i8||','||i16||','||i32||','||i64||','||u16||','||u32||','||u64 FROM edge WHERE id = 2")" \
    "127,32767,2147483647,9223372036854775807,0,0,0"
check_eq "NaN and infinities" "$(q "SELECT f||','||d FROM edge WHERE id IN (1,2) ORDER BY id")" "NaN,NaN
Infinity,-Infinity"
check_eq "-0, 0.1, extremes, subnormals" "$(q "SELECT encode(float4send(f), 'hex')||','||encode(float8send(d), 'hex') FROM edge WHERE id IN (3,6,7) ORDER BY id")" \
    "80000000,81bac9a7b3b7302f
7f7fffff,7fefffffffffffff
00000001,0000000000000001"
check_eq "numeric at full precision, negative, zero, scale 0" \
    "$(q "SELECT n38||','||n0||','||n9||','||n38i FROM edge WHERE id IN (1,2) ORDER BY id")" \
    "9999999999999999999999999999.9999999999,-999999999999999999,-99999.9999,99999999999999999999999999999999999999
-9999999999999999999999999999.9999999999,0,0.0001,-99999999999999999999999999999999999999"
check_eq "numeric: the declared scale kept" "$(q "SELECT n38||','||n0||','||n9||','||n38i FROM edge WHERE id = 3")" \
    "42.0000000000,1,-0.0001,0"
check_eq "numeric: across base-10000 digits" "$(q "SELECT n38||','||n0||','||n9||','||n38i FROM edge WHERE id = 5")" \
    "-12345.6789012345,-1,12.5000,100000000"
check_eq "numeric: small and mixed" "$(q "SELECT n38 FROM edge WHERE id IN (6,7) ORDER BY id")" \
    "-0.0000000001
1234567890123456789012345678.0123456789"
check_eq "dates before 2000" "$(q "SELECT string_agg(dt::text, ',' ORDER BY id) FROM edge")" \
    "1970-01-01,0001-01-01,1999-01-01,2000-01-01,1600-02-29"
check_eq "timestamps before 2000 and far in the future" \
    "$(q "SELECT ts||' '||tms||' '||tl FROM edge WHERE id IN (1,2) ORDER BY id")" \
    "1969-12-31 23:59:59.999999+00 1900-01-01 00:00:00.001+00 0001-01-01 00:00:00
9999-12-31 23:59:59.999999+00 2000-01-01 00:00:00+00 9999-12-31 23:59:59.999999"
# .999999999 and .999999500 round up, .000000500 to even (down), .000001500 up
check_eq "nanoseconds rounded as text COPY rounds them" \
    "$(q "SELECT tns FROM edge WHERE tns IS NOT NULL ORDER BY id")" \
    "2000-01-01 00:00:00+00
2262-04-11 23:47:16.854776+00
2000-01-01 00:00:00+00
2000-01-01 00:00:00+00
2000-01-01 00:00:00.000002+00"
check_eq "empty and unicode text" "$(q "SELECT length(s)||':'||length(e)||':'||md5(s) FROM edge WHERE id IN (1,2) ORDER BY id")" \
    "0:0:$(printf '' | md5sum | cut -c1-32)
$(printf 'héllo wörld ✓ 𝄞 日本語 \\ \t tab\nnewline\r' | wc -m):3:$(printf 'héllo wörld ✓ 𝄞 日本語 \\ \t tab\nnewline\r' | md5sum | cut -c1-32)"
check_eq "uuids" "$(q "SELECT string_agg(u::text, ',' ORDER BY id) FROM edge")" \
    "00000000-0000-0000-0000-000000000000,ffffffff-ffff-ffff-ffff-ffffffffffff,123e4567-e89b-12d3-a456-426614174000"
check_eq "bytea with zero bytes" "$(q "SELECT coalesce(encode(bin, 'hex'), 'null')||','||coalesce(encode(fx, 'hex'), 'null') FROM edge WHERE id IN (1,2,3) ORDER BY id")" \
    ",616263
6100620001,780079
00,null"
check_eq "jsonb" "$(q "SELECT j::text||' '||coalesce(l::text,'null')||' '||coalesce(st::text,'null') FROM edge WHERE id IN (1,2,3) ORDER BY id")" \
    '{} [] {"a": "", "z": 0}
{"a": [1, 2.5, "x"], "b": null, "u": "✓"} [1, -2, null] {"a": "ü", "z": 0}
[1, 2] [0] null'
check_eq "NULL in every column but the key" \
    "$(q "SELECT num_nulls(del, i8, i16, i32, i64, u16, u32, u64, f, d, b, n38, n0, n9, n38i, s, e, u, dt, ts, tms, tns, tl, j, bin, fx, l, st) FROM edge WHERE id = 4")" 28
check_eq "the untouched row stays" "$(q "SELECT s FROM edge WHERE id = 9")" kept


# a TIME column has no binary encoder here: that table's stage goes as text
printf '{"columns": [{"name": "id", "type": "int64", "nullable": false}, {"name": "wm", "type": "timestamp_us", "nullable": false}, {"name": "t", "type": "time_us"}, {"name": "n", "type": "decimal(10,2)"}]}\n' >"$D/time.json"
printf '{"id":1,"wm":"2026-01-01T00:00:00Z","t":"23:59:59.999999","n":"-1.5"}\n' >"$D/time.ndjson"
lines=$(wc -l <"$LOG")
check "time: export and apply a table with a TIME column" \
    sh -c '"$1" export "$2" --table tm --schema "$3" --mode changes --key id --watermark wm --as-of 2026-01-01T00:00:00Z "$4" >/dev/null && "$1" apply "$2" "$5"' \
    _ "$PQF" "$D/tfeed2" "$D/time.json" "$D/time.ndjson" "$SINK"
tail -n +"$((lines + 1))" "$LOG" >"$T/time.log"
check_eq "time: its COPY is text" "$(grep -c 'FORMAT binary' "$T/time.log")" 0
check_eq "time: the values" "$(psql_ -c "SELECT t || ' ' || n FROM tm")" "23:59:59.999999 -1.50"

# the switch: anything but binary or text is a usage error, nothing applied
printf '{"id":10,"wm":"2026-07-01T00:00:00Z","s":"new"}\n' >"$D/2.ndjson"
"$PQF" export "$D/feed" "${CH[@]}" --as-of 2026-07-01T00:00:00Z "$D/2.ndjson" >/dev/null
PQF_PG_COPY=fast "$PQF" apply "$D/feed" "$SINK" >"$T/bad.out" 2>&1
check_eq "PQF_PG_COPY=fast exits 2" "$?" 2
check_grep "naming the variable" "PQF_PG_COPY='fast': expected 'binary' or 'text'" "$T/bad.out"
check_eq "nothing applied" "$(psql_ -c "SELECT count(*) FROM edge WHERE id = 10")" 0
check "PQF_PG_COPY=binary applies it" env PQF_PG_COPY=binary "$PQF" apply "$D/feed" "$SINK"
check_eq "the new row is there" "$(psql_ -c "SELECT s FROM edge WHERE id = 10")" new
done_testing
