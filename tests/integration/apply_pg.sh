#!/usr/bin/env bash
# pqfeed apply into a real PostgreSQL (a throwaway cluster from scripts/pg.sh,
# stopped on exit): hourly change commits, the sink equal to the source's
# final state, native types, reruns, ALTER TABLE for a new column, kill -9
# at named points and at random moments, late files, and a corrupt file, a
# deleted file and a rewritten feed stopped with their exit codes.
. "$(dirname "$0")/../lib.sh"
EQ=$ROOT/tests/cli/sink_equals.mjs

start_pg
SINK="postgres:$PQF_TEST_PG"
reset_pg() { psql_ -c "DROP TABLE IF EXISTS issues, _pqfeed_checkpoint, _pqfeed_quarantine"; }
dump() { psql_ -c "SET TimeZone = 'UTC'" -c "SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM issues t" >"$1"; }
ckpt() { psql_ -c "SELECT coalesce(max(seq),0) || ',' || count(*) || ',' || count(DISTINCT seq) FROM _pqfeed_checkpoint WHERE table_name='issues'"; }

issues_hourly 7
sink_equals() { dump "$T/dump.json" && node "$EQ" "$SCHEMA" "$G/issues.final.ndjson" "$T/dump.json"; }

# ---- apply after each hour ---------------------------------------------------------------
F=$T/feed
hourly_ok=1
for h in 0 1 2 3; do
    export_hour "$F" $h
    "$PQF" apply "$F" "$SINK" >"$T/h$h.out" 2>&1 || { hourly_ok=0; cat "$T/h$h.out"; }
    grep -q "commit $((h + 1)) (changes) applied" "$T/h$h.out" || hourly_ok=0
done
check_eq "apply after each hourly export applies that hour's commit" "$hourly_ok" 1
check "the sink equals the source table's final state" sink_equals
check_eq "checkpoint: seq 4, one row per commit" "$(ckpt)" "4,4,4"
"$PQF" apply "$F" "$SINK" >"$T/rerun.out" 2>&1
check_grep "a rerun applies nothing" "nothing to apply" "$T/rerun.out"
psql_ -c "SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_name = 'issues' ORDER BY ordinal_position" >"$T/types"
check_eq "native types: bigint, timestamptz, date, numeric, integer, jsonb, boolean" \
    "$(grep -E '^(id|created_at|resolved_on|estimate_hours|story_points|labels|deleted) ' "$T/types" | tr '\n' ';')" \
    "id bigint;created_at timestamp with time zone;resolved_on date;estimate_hours numeric;story_points integer;labels jsonb;deleted boolean;"
check_eq "the key is the primary key" "$(psql_ -c "SELECT count(*) FROM pg_indexes WHERE tablename = 'issues' AND indexdef LIKE '%UNIQUE%(id)'")" 1
"$PQF" apply status "$F" "$SINK" --json >"$T/st.json"
check_grep "status --json" '"applied_seq":4,"head_seq":4,"behind":0' "$T/st.json"
check_exit "a server that is not there: a clear error" 13 "$PQF" apply "$F" "postgres:host=$PQF_PG_DIR/nosock dbname=pqf user=pqf connect_timeout=2"

# ---- a new nullable column: ALTER TABLE ------------------------------------------------------
sed 's/{"name": "deleted", "type": "bool"}/{"name": "deleted", "type": "bool"},\n    {"name": "team", "type": "string"}/' "$SCHEMA" >"$T/added.json"
mkdir -p "$T/h5"
sed -n 1p "$G/hour-0002/page-00001.ndjson" | sed 's/"updated_at":"2026-01-05T02:[^"]*"/"updated_at":"2026-01-05T05:00:00Z"/; s/}$/,"team":"blue"}/' >"$T/h5/team.ndjson"
E=$T/evo
cp -r "$F" "$E"
"$PQF" export "$E" "${CH[@]/$SCHEMA/$T/added.json}" --as-of 2026-01-05T05:00:00Z "$T/h5/team.ndjson" >/dev/null
check "apply the commit with schema version 2" "$PQF" apply "$E" "$SINK"
check_eq "the column was added and filled" "$(psql_ -c "SELECT count(*) FROM issues WHERE team = 'blue'")" 1

# ---- a commit with a key several times, and one with each key once (the merge without
# DISTINCT/sort), for an integer key and a text key ----------------------------------------
mkdir -p "$T/dup"
for kt in int64 string; do
    printf '{"columns": [{"name": "k", "type": "%s", "nullable": false}, {"name": "v", "type": "string"},
 {"name": "wm", "type": "timestamp_us", "nullable": false}, {"name": "del", "type": "bool"}]}\n' "$kt" >"$T/dup/$kt.json"
    q=; [ "$kt" = string ] && q='"'
    printf '%s\n' "{\"k\":${q}1${q},\"v\":\"a\",\"wm\":\"2026-01-01T00:00:01Z\"}" \
        "{\"k\":${q}2${q},\"v\":\"x\",\"wm\":\"2026-01-01T00:00:02Z\"}" \
        "{\"k\":${q}1${q},\"v\":\"b\",\"wm\":\"2026-01-01T00:00:03Z\"}" \
        "{\"k\":${q}3${q},\"v\":\"z\",\"wm\":\"2026-01-01T00:00:04Z\"}" \
        "{\"k\":${q}2${q},\"v\":\"x\",\"wm\":\"2026-01-01T00:00:05Z\",\"del\":true}" >"$T/dup/$kt-1.ndjson"
    printf '%s\n' "{\"k\":${q}1${q},\"v\":\"c\",\"wm\":\"2026-01-02T00:00:01Z\"}" \
        "{\"k\":${q}4${q},\"v\":\"w\",\"wm\":\"2026-01-02T00:00:02Z\"}" \
        "{\"k\":${q}3${q},\"v\":\"z\",\"wm\":\"2026-01-02T00:00:03Z\",\"del\":true}" >"$T/dup/$kt-2.ndjson"
    DK=(--table "d_$kt" --schema "$T/dup/$kt.json" --mode changes --key k --watermark wm --delete-column del)
    "$PQF" export "$T/dup/feed" "${DK[@]}" "$T/dup/$kt-1.ndjson" >/dev/null
    check "$kt key: apply a commit that changes a key several times" "$PQF" apply "$T/dup/feed" "$SINK" --tables "d_$kt"
    check_eq "$kt key: the last change of each key wins" \
        "$(psql_ -c "SELECT string_agg(k || '=' || v, ' ' ORDER BY k) FROM d_$kt")" "1=b 3=z"
    "$PQF" export "$T/dup/feed" "${DK[@]}" "$T/dup/$kt-2.ndjson" >/dev/null
    check "$kt key: apply a commit with each key once" "$PQF" apply "$T/dup/feed" "$SINK" --tables "d_$kt"
    check_eq "$kt key: updated, inserted and deleted" \
        "$(psql_ -c "SELECT string_agg(k || '=' || v, ' ' ORDER BY k) FROM d_$kt")" "1=c 4=w"
done

# ---- widened columns: ALTER COLUMN TYPE ---------------------------------------------------------
mkdir -p "$T/wide"
cat >"$T/wide/v1.json" <<'EOF'
{"columns": [{"name": "id", "type": "int32", "nullable": false}, {"name": "n", "type": "int16", "nullable": false},
 {"name": "m", "type": "int32"}, {"name": "f", "type": "float"}, {"name": "amt", "type": "decimal(10,2)"},
 {"name": "wm", "type": "timestamp_us", "nullable": false}]}
EOF
sed 's/"id", "type": "int32"/"id", "type": "int64"/; s/"n", "type": "int16", "nullable": false/"n", "type": "int32"/; s/"m", "type": "int32"/"m", "type": "int64"/; s/"float"/"double"/; s/decimal(10,2)/decimal(20,2)/' \
    "$T/wide/v1.json" >"$T/wide/v2.json"
printf '%s\n' '{"id":1,"n":32767,"m":2147483647,"f":0.5,"amt":"12345678.91","wm":"2026-01-01T00:00:00Z"}' \
    '{"id":2,"n":-7,"m":null,"f":1.25,"amt":"-0.01","wm":"2026-01-01T00:00:01Z"}' >"$T/wide/d1.ndjson"
printf '%s\n' '{"id":3,"n":2000000000,"m":5000000000,"f":0.1,"amt":"123456789012345678.91","wm":"2026-01-02T00:00:00Z"}' \
    '{"id":5000000000,"n":null,"m":1,"f":2.5,"amt":"1","wm":"2026-01-02T00:00:02Z"}' >"$T/wide/d2.ndjson"
WI=(--table w --mode changes --key id --watermark wm)
"$PQF" export "$T/wide/feed" "${WI[@]}" --schema "$T/wide/v1.json" "$T/wide/d1.ndjson" >/dev/null
"$PQF" apply "$T/wide/feed" "$SINK" >/dev/null
"$PQF" export "$T/wide/feed" "${WI[@]}" --schema "$T/wide/v2.json" "$T/wide/d2.ndjson" >/dev/null
check "apply a commit whose schema widens id, n, m, f and amt" "$PQF" apply "$T/wide/feed" "$SINK"
check_eq "the columns were retyped (ALTER COLUMN TYPE) and n made nullable" \
    "$(psql_ -c "SELECT string_agg(column_name || ' ' || data_type || coalesce('(' || numeric_precision || ',' || numeric_scale || ')', '') || ' ' || is_nullable, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'w' AND column_name <> 'wm'")" \
    "id bigint(64,0) NO,n integer(32,0) YES,m bigint(64,0) YES,f double precision YES,amt numeric(20,2) YES"
check_eq "widened values are exact, old rows kept" \
    "$(psql_ -c "SELECT string_agg(id || ':' || coalesce(n::text, 'null') || ':' || coalesce(m::text, 'null') || ':' || f || ':' || amt, ' ' ORDER BY id) FROM w")" \
    "1:32767:2147483647:0.5:12345678.91 2:-7:null:1.25:-0.01 3:2000000000:5000000000:0.1:123456789012345678.91 5000000000:null:1:2.5:1.00"
psql_ -c "DROP TABLE w" -c "DELETE FROM _pqfeed_checkpoint WHERE table_name = 'w'"

# ---- many small files: crashes ------------------------------------------------------------------
B=$T/small
for h in 0 1 2 3; do export_hour "$B" $h --target-file-size 8K; done
crash_ok=1
for point in apply.file-loaded:7 apply.before-commit apply.before-commit:3 apply.after-commit:2; do
    reset_pg
    { (PQF_CRASHPOINT=$point exec "$PQF" apply "$B" "$SINK" >/dev/null 2>&1); } 2>/dev/null
    rc=$?
    [ "$rc" -eq 137 ] || { crash_ok=0; echo "# $point: exit $rc, not killed"; }
    "$PQF" apply "$B" "$SINK" >"$T/re.out" 2>&1 || { crash_ok=0; echo "# $point: rerun failed: $(cat "$T/re.out")"; }
    [ "$(ckpt)" = "4,4,4" ] || { crash_ok=0; echo "# $point: checkpoint $(ckpt)"; }
    sink_equals >"$T/eq.out" || { crash_ok=0; echo "# $point: $(head -3 "$T/eq.out")"; }
done
check_eq "kill -9 at named points, then a rerun: every commit once, sink equals source" "$crash_ok" 1
reset_pg
start=$(date +%s%N)
"$PQF" apply "$B" "$SINK" >/dev/null
dur_us=$(( ($(date +%s%N) - start) / 1000 ))
kills=0 rand_ok=1
for i in $(seq 1 20); do
    reset_pg
    "$PQF" apply "$B" "$SINK" >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v d="$dur_us" -v i="$i" 'BEGIN { srand(i); printf "%.4f", d * rand() * 1.1 / 1e6 }')"
    kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null
    "$PQF" apply "$B" "$SINK" >"$T/re.out" 2>&1 || { rand_ok=0; echo "# round $i: rerun failed: $(cat "$T/re.out")"; }
    [ "$(ckpt)" = "4,4,4" ] || { rand_ok=0; echo "# round $i: checkpoint $(ckpt)"; }
    sink_equals >"$T/eq.out" || { rand_ok=0; echo "# round $i: $(head -3 "$T/eq.out")"; }
done
echo "# $kills of 20 runs killed mid-flight (apply takes ${dur_us} us)"
check_eq "kill -9 at random moments (20 runs), then a rerun: every commit once, sink equals source" "$rand_ok" 1

# ---- late files, out of order ---------------------------------------------------------------------
reset_pg
R=$T/replica
cp -r "$B" "$R"
"$PQF" apply "$R" "$SINK" --until 1 >/dev/null
keys_of() { grep -o '"key":"[^"]*\.parquet"' "$R/issues/_log/$(printf '%020d' "$1").json" | cut -d'"' -f4; }
for s in 2 3 4; do for k in $(keys_of $s); do mkdir -p "$T/held/$(dirname "$k")"; mv "$R/$k" "$T/held/$k"; done; done
"$PQF" apply "$R" "$SINK" --max-delay 20s --backoff 100ms >"$T/late.out" 2>"$T/late.err" &
apid=$!
sleep 0.3
partial_ok=1
for k in $( (keys_of 3; keys_of 4; keys_of 2) | shuf); do
    mv "$T/held/$k" "$R/$k"
    sleep 0.03
    left=$(find "$T/held" -name '*.parquet' | wc -l)
    applied=$(ckpt | cut -d, -f1)
    # a commit is applied only when all its files are back
    for s in 2 3 4; do
        if [ "$applied" -ge "$s" ]; then for kk in $(keys_of $s); do [ -f "$R/$kk" ] || partial_ok=0; done; fi
    done
    : "$left"
done
wait "$apid"
check_eq "late files: apply waits and finishes (exit 0)" "$?" 0
check_eq "no commit applied while one of its files is missing" "$partial_ok" 1
check_grep "it says what it waits for" "waiting [0-9]+ ms for issues/data/.*late: missing" "$T/late.err"
check "the sink equals the source" sink_equals

# ---- damage ------------------------------------------------------------------------------------------
reset_pg
X=$T/dmg
cp -r "$B" "$X"
"$PQF" apply "$X" "$SINK" --until 2 >/dev/null
dump "$T/before.json"
f3=$(grep -o '"key":"[^"]*\.parquet"' "$X/issues/_log/00000000000000000003.json" | head -1 | cut -d'"' -f4)
printf 'X' | dd of="$X/$f3" bs=1 seek=200 conv=notrunc status=none
"$PQF" apply "$X" "$SINK" --max-delay 500ms --backoff 100ms >"$T/c.out" 2>&1
check_eq "a corrupt file exits 21" "$?" 21
check_grep "naming the commit and the file" "commit 3: file $f3 is corrupt" "$T/c.out"
check_eq "quarantined in the sink" "$(psql_ -c "SELECT seq || ' ' || file_key FROM _pqfeed_quarantine")" "3 $f3"
dump "$T/after.json"
check "the sink is untouched past the last good commit" cmp "$T/before.json" "$T/after.json"
rm "$X/$f3"
"$PQF" apply "$X" "$SINK" --max-delay 500ms --backoff 100ms >"$T/d.out" 2>&1
check_eq "a deleted file exits 20" "$?" 20
check_grep "naming the commit and the file" "commit 3: file $f3 is late: missing" "$T/d.out"
check_eq "checkpoint stays at 2" "$(ckpt)" "2,2,2"
sed 's/"producer":"pqfeed [^"]*"/"producer":"evil"/' "$X/issues/_log/00000000000000000002.json" >"$T/evil.json"
cp "$T/evil.json" "$X/issues/_log/00000000000000000002.json"
"$PQF" apply "$X" "$SINK" >"$T/r.out" 2>&1
check_eq "a rewritten feed exits 22" "$?" 22
done_testing
