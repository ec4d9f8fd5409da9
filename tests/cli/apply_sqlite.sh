#!/usr/bin/env bash
# pqfeed apply into SQLite: hourly change commits applied as they come, the
# sink equal to the source's final state; reruns, status, snapshots, schema
# evolution, --until / --tables / --watch; kill -9 at named points and at
# random moments; late files delivered out of order; a corrupt file, a
# deleted file and a rewritten feed stopped with their exit codes.
. "$(dirname "$0")/../lib.sh"
EQ=$ROOT/tests/cli/sink_equals.mjs

issues_hourly 7
dump() { sqlite3 -json "$1" "SELECT * FROM issues ORDER BY id" >"$2"; }
sink_equals() { # DB: the sink's issues table equals the source's final state
    dump "$1" "$T/dump.json" && node "$EQ" "$SCHEMA" "$G/issues.final.ndjson" "$T/dump.json"
}
ckpt() { sqlite3 "$1" "SELECT coalesce(max(seq),0) || ',' || count(*) || ',' || count(DISTINCT seq) FROM _pqfeed_checkpoint WHERE table_name='issues'"; }

# ---- apply after each hour ---------------------------------------------------------------
F=$T/feed
DB=$T/sink.db
hourly_ok=1
for h in 0 1 2 3; do
    export_hour "$F" $h
    "$PQF" apply "$F" "sqlite:$DB" >"$T/h$h.out" 2>&1 || { hourly_ok=0; cat "$T/h$h.out"; }
    grep -q "commit $((h + 1)) (changes) applied" "$T/h$h.out" || hourly_ok=0
done
check_eq "apply after each hourly export applies that hour's commit" "$hourly_ok" 1
check "the sink equals the source table's final state" sink_equals "$DB"
check_eq "checkpoint: seq 4, one row per commit" "$(ckpt "$DB")" "4,4,4"
"$PQF" apply "$F" "sqlite:$DB" >"$T/rerun.out" 2>&1
check_grep "a rerun applies nothing" "nothing to apply" "$T/rerun.out"
check_eq "and the checkpoint is unchanged" "$(ckpt "$DB")" "4,4,4"
sqlite3 "$DB" "SELECT name || ' ' || type || ' ' || \"notnull\" || ' ' || pk FROM pragma_table_info('issues')" >"$T/cols"
check_grep "the key is the primary key" "^id INTEGER 1 1$" "$T/cols"
check_grep "timestamps, decimals, dates, booleans get declared types" "^estimate_hours DECIMAL\(10,2\) 0 0$" "$T/cols"
check_eq "nested values are stored as JSON text" \
    "$(sqlite3 "$DB" "SELECT json_valid(author) AND json_type(labels) = 'array' FROM issues LIMIT 1")" 1
"$PQF" apply status "$F" "$DB" >"$T/st.out"
check_grep "status: applied seq against the head" "^issues +4 +4 .*up to date" "$T/st.out"
export_hour "$F" 3 --as-of 2026-01-05T04:00:00Z >/dev/null 2>&1 # nothing new: no commit
mkdir -p "$T/h4" && sed -n 1p "$G/hour-0003/page-00001.ndjson" | sed 's/"updated_at":"2026-01-05T03:[^"]*"/"updated_at":"2026-01-05T04:30:00Z"/' >"$T/h4/p.ndjson"
"$PQF" export "$F" "${CH[@]}" --as-of 2026-01-05T04:00:00Z "$T/h4" >/dev/null
"$PQF" apply status "$F" "$DB" --json >"$T/st.json"
check_grep "status --json: one behind, waiting for nothing but its turn" '"applied_seq":4,"head_seq":5,"behind":1,.*"waiting_for":"commit 5: ready"' "$T/st.json"
# status is read-only: a missing sink is an error naming it, and nothing is created
check_exit "status of a sink that does not exist is exit 9" 9 "$PQF" apply status "$F" "$T/typo.db"
check_grep "the message names it" "sqlite sink $T/typo.db: does not exist" "$T/last.out"
check_eq "status created no file" "$(ls "$T" | grep -c '^typo\.db')" 0
check_exit "sqlite:PATH too, --json too" 9 "$PQF" apply status "$F" "sqlite:$T/typo2.db" --json
check_eq "still no file" "$(ls "$T" | grep -c '^typo2\.db')" 0
sqlite3 "$T/other.db" "CREATE TABLE x (a)"
"$PQF" apply status "$F" "$T/other.db" >"$T/st0.out" 2>&1
check_grep "a database apply never wrote: nothing applied" "^issues +0 +5 " "$T/st0.out"
check_eq "and status left it as it was" "$(sqlite3 "$T/other.db" "SELECT group_concat(name) FROM sqlite_master")" "x"
check "usage error for a bad sink" bash -c "'$PQF' apply '$F' mysql://x >/dev/null 2>&1; [ \$? -eq 2 ]"

# ---- a commit whose rows are not in _seq order: applied through the stage table --------------
RO=$T/reordered
cp -r "$F" "$RO"
log4=$RO/issues/_log/00000000000000000004.json
k4=$(grep -o '"key":"[^"]*\.parquet"' "$log4" | head -1 | cut -d'"' -f4)
"$PQF" parquet cat "$RO/$k4" | tac >"$T/rev.ndjson"
node -e 'const fs = require("fs"); const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  s.columns.push({name: "_op", type: "string", nullable: false}, {name: "_seq", type: "int64", nullable: false},
                 {name: "_ts", type: "timestamp_us"});
  fs.writeFileSync(process.argv[2], JSON.stringify(s));' "$RO/issues/_schema/000001.json" "$T/rev.schema.json"
"$PQF" convert "$T/rev.ndjson" "$T/rev.parquet" --schema "$T/rev.schema.json" >/dev/null
cp "$T/rev.parquet" "$RO/$k4"
node -e 'const fs = require("fs"), crypto = require("crypto"); const [log, key, file] = process.argv.slice(1);
  const c = JSON.parse(fs.readFileSync(log, "utf8")); const b = fs.readFileSync(file);
  for (const f of c.files) if (f.key === key) { c.bytes += b.length - f.bytes; f.bytes = b.length;
    f.sha256 = crypto.createHash("sha256").update(b).digest("hex"); }
  fs.writeFileSync(log, JSON.stringify(c));' "$log4" "$k4" "$RO/$k4"
check "the rewritten file holds commit 4's rows in reverse _seq order" \
    bash -c "'$PQF' parquet cat '$RO/$k4' | head -2 | grep -o '\"_seq\":[0-9]*' | cut -d: -f2 | sort -nc -r"
check "apply of the out-of-order commit succeeds" "$PQF" apply "$RO" "$T/reordered.db" --until 4
check_eq "all four commits applied once" "$(ckpt "$T/reordered.db")" "4,4,4"
check "and the sink equals the source (latest _seq per key won)" sink_equals "$T/reordered.db"

# ---- --until, --tables ---------------------------------------------------------------------
U=$T/until.db
check "--until 2" "$PQF" apply "$F" "$U" --until 2 --tables issues
check_eq "stops after commit 2" "$(ckpt "$U")" "2,2,2"
check_exit "--tables with an unknown table applies nothing" 0 "$PQF" apply "$F" "$U" --tables nosuch
check_eq "checkpoint still 2" "$(ckpt "$U")" "2,2,2"

# ---- snapshots replace the table ----------------------------------------------------------
S=$T/snap
"$PQF" gen --out "$T/s1" --table issues --rows 400 --format ndjson --seed 3 >/dev/null
"$PQF" gen --out "$T/s2" --table issues --rows 250 --format ndjson --seed 4 >/dev/null
"$PQF" export "$S" --table issues --schema "$T/s1/issues.schema.json" --key id "$T/s1/issues.ndjson" >/dev/null
check "apply a snapshot" "$PQF" apply "$S" "$T/snap.db"
dump "$T/snap.db" "$T/snap1.json"
check "the sink equals the snapshot" node "$EQ" "$T/s1/issues.schema.json" "$T/s1/issues.ndjson" "$T/snap1.json"
"$PQF" export "$S" --table issues --schema "$T/s1/issues.schema.json" --key id "$T/s2/issues.ndjson" >/dev/null
check "apply a second snapshot" "$PQF" apply "$S" "$T/snap.db"
dump "$T/snap.db" "$T/snap2.json"
check "a snapshot replaces the table's contents" node "$EQ" "$T/s1/issues.schema.json" "$T/s2/issues.ndjson" "$T/snap2.json"

# ---- schema evolution: a new nullable column -----------------------------------------------
E=$T/evo
for h in 0 1; do export_hour "$E" $h; done
"$PQF" apply "$E" "$T/evo.db" >/dev/null
sed 's/{"name": "deleted", "type": "bool"}/{"name": "deleted", "type": "bool"},\n    {"name": "team", "type": "string"}/' "$SCHEMA" >"$T/added.json"
sed -n 1p "$G/hour-0002/page-00001.ndjson" | sed 's/"updated_at":"2026-01-05T02:[^"]*"/"updated_at":"2026-01-05T05:00:00Z"/; s/}$/,"team":"blue"}/' >"$T/h4/team.ndjson"
rm -f "$T/h4/p.ndjson"
"$PQF" export "$E" "${CH[@]/$SCHEMA/$T/added.json}" --as-of 2026-01-05T05:00:00Z "$T/h4/team.ndjson" >/dev/null
check "schema version 2 is in the feed" test -f "$E/issues/_schema/000002.json"
check "apply the commit with the new schema" "$PQF" apply "$E" "$T/evo.db"
check_eq "the column was added (ALTER TABLE) and filled" \
    "$(sqlite3 "$T/evo.db" "SELECT count(*) FROM pragma_table_info('issues') WHERE name='team'"),$(sqlite3 "$T/evo.db" "SELECT count(*) FROM issues WHERE team='blue'")" "1,1"

# ---- schema evolution: widened columns (int32 -> int64, float -> double, decimal up) ---------
mkdir -p "$T/wide"
cat >"$T/wide/v1.json" <<'EOF'
{"columns": [{"name": "id", "type": "int32", "nullable": false}, {"name": "n", "type": "int32", "nullable": false},
 {"name": "f", "type": "float"}, {"name": "amt", "type": "decimal(10,2)"}, {"name": "wm", "type": "timestamp_us", "nullable": false}]}
EOF
sed 's/"id", "type": "int32"/"id", "type": "int64"/; s/"n", "type": "int32", "nullable": false/"n", "type": "int64"/; s/"float"/"double"/; s/decimal(10,2)/decimal(18,2)/' \
    "$T/wide/v1.json" >"$T/wide/v2.json"
printf '%s\n' '{"id":1,"n":2147483647,"f":0.5,"amt":"12345678.91","wm":"2026-01-01T00:00:00Z"}' \
    '{"id":2,"n":-7,"f":1.25,"amt":"-0.01","wm":"2026-01-01T00:00:01Z"}' >"$T/wide/d1.ndjson"
printf '%s\n' '{"id":3,"n":5000000000,"f":0.1,"amt":"1234567890123456.78","wm":"2026-01-02T00:00:00Z"}' \
    '{"id":4,"n":null,"f":null,"amt":"0.10","wm":"2026-01-02T00:00:01Z"}' \
    '{"id":5000000000,"n":1,"f":2.5,"amt":"1","wm":"2026-01-02T00:00:02Z"}' >"$T/wide/d2.ndjson"
WI=(--table w --mode changes --key id --watermark wm)
"$PQF" export "$T/wide/feed" "${WI[@]}" --schema "$T/wide/v1.json" "$T/wide/d1.ndjson" >/dev/null
"$PQF" apply "$T/wide/feed" "$T/wide.db" >/dev/null
"$PQF" export "$T/wide/feed" "${WI[@]}" --schema "$T/wide/v2.json" "$T/wide/d2.ndjson" >/dev/null
check "schema v2 widens id, n, f and amt (and n becomes nullable)" test -f "$T/wide/feed/w/_schema/000002.json"
check "apply the widened commit" "$PQF" apply "$T/wide/feed" "$T/wide.db"
check_eq "widened values are exact (int64 beyond int32, double, 18-digit decimal), old rows kept" \
    "$(sqlite3 "$T/wide.db" "SELECT group_concat(id || ':' || coalesce(n, 'null') || ':' || coalesce(f, 'null') || ':' || coalesce(amt, 'null'), ' ') FROM (SELECT * FROM w ORDER BY id)")" \
    "1:2147483647:0.5:12345678.91 2:-7:1.25:-0.01 3:5000000000:0.1:1234567890123456.78 4:null:null:0.10 5000000000:1:2.5:1.00"
check_eq "declared types: INTEGER and REAL unchanged, the decimal retyped, n lost NOT NULL" \
    "$(sqlite3 "$T/wide.db" "SELECT group_concat(name || ' ' || type || ' ' || \"notnull\", ',') FROM pragma_table_info('w')")" \
    "id INTEGER 1,n INTEGER 0,f REAL 0,amt DECIMAL TEXT(18,2) 0,wm TIMESTAMP 1"

# ---- a feed of many small files, for the crash and disorder tests ---------------------------
B=$T/small
for h in 0 1 2 3; do export_hour "$B" $h --target-file-size 8K; done
nfiles=$(find "$B" -name '*.parquet' | wc -l)
check "the small-file feed has many files ($nfiles)" test "$nfiles" -ge 30
start=$(date +%s%N)
"$PQF" apply "$B" "$T/ref.db" >/dev/null
dur_us=$(( ($(date +%s%N) - start) / 1000 ))
check "small-file feed applies equal to the source" sink_equals "$T/ref.db"

# ---- kill -9 at named points ------------------------------------------------------------------
crash_ok=1
for point in apply.file-loaded:1 apply.file-loaded:20 apply.file-loaded:41 apply.before-commit \
             apply.before-commit:3 apply.after-commit apply.after-commit:2 apply.after-commit:4; do
    C=$T/crash.db
    rm -f "$C" "$C-journal"
    { (PQF_CRASHPOINT=$point exec "$PQF" apply "$B" "$C" >/dev/null 2>&1); } 2>/dev/null
    rc=$?
    [ "$rc" -eq 137 ] || { crash_ok=0; echo "# $point: exit $rc, not killed"; }
    "$PQF" apply "$B" "$C" >/dev/null 2>&1 || { crash_ok=0; echo "# $point: rerun failed"; }
    [ "$(ckpt "$C")" = "4,4,4" ] || { crash_ok=0; echo "# $point: checkpoint $(ckpt "$C")"; }
    sink_equals "$C" >"$T/eq.out" || { crash_ok=0; echo "# $point: $(head -3 "$T/eq.out")"; }
done
check_eq "kill -9 at each named point, then a rerun: every commit once, sink equals source" "$crash_ok" 1

# ---- kill -9 at random moments ------------------------------------------------------------------
# PQF_APPLY_KILLS kills mid-flight (50 by default)
NKILL=${PQF_APPLY_KILLS:-50}
# rounds until NKILL of them were really killed mid-flight (exit 137), at most 3x as many
kills=0 rand_ok=1 t0=$SECONDS i=0
while [ "$kills" -lt "$NKILL" ] && [ "$i" -lt $((NKILL * 3)) ]; do
    i=$((i + 1))
    C=$T/rand.db
    rm -f "$C" "$C-journal"
    "$PQF" apply "$B" "$C" >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v d="$dur_us" -v i="$i" 'BEGIN { srand(i); printf "%.4f", d * rand() * 1.1 / 1e6 }')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ $? -eq 137 ] && kills=$((kills + 1)) # killed, not finished before the signal
    "$PQF" apply "$B" "$C" >/dev/null 2>&1 || { rand_ok=0; echo "# round $i: rerun failed"; }
    [ "$(ckpt "$C")" = "4,4,4" ] || { rand_ok=0; echo "# round $i: checkpoint $(ckpt "$C")"; }
    sqlite3 "$C" "SELECT group_concat(rows) FROM (SELECT rows FROM _pqfeed_checkpoint ORDER BY seq)" >"$T/rows"
    sqlite3 "$T/ref.db" "SELECT group_concat(rows) FROM (SELECT rows FROM _pqfeed_checkpoint ORDER BY seq)" | cmp -s - "$T/rows" || { rand_ok=0; echo "# round $i: row counts differ"; }
    # equal to ref.db, which equals the source (checked above): cheaper than node each round
    cmp -s <(sqlite3 "$C" "SELECT * FROM issues ORDER BY id") <(sqlite3 "$T/ref.db" "SELECT * FROM issues ORDER BY id") ||
        { rand_ok=0; echo "# round $i: the sink differs from the reference"; }
done
echo "# $kills of $i runs killed mid-flight (apply takes ${dur_us} us), $((SECONDS - t0)) s"
check_eq "$NKILL runs killed by kill -9 mid-flight (in $i rounds)" "$kills" "$NKILL"
check_eq "after each kill a rerun: every commit applied once, the sink equals the source" "$rand_ok" 1

# ---- disorder: the files of commits 2..4 arrive late, in random order --------------------------
R=$T/replica
cp -r "$B" "$R"
"$PQF" apply "$R" "$T/late.db" --until 1 >/dev/null
mkdir -p "$T/held"
keys_of() { grep -o '"key":"[^"]*\.parquet"' "$R/issues/_log/$(printf '%020d' "$1").json" | cut -d'"' -f4; }
for s in 2 3 4; do for k in $(keys_of $s); do
    mkdir -p "$T/held/$(dirname "$k")"; mv "$R/$k" "$T/held/$k"; done; done
"$PQF" apply "$R" "$T/late.db" --max-delay 20s --backoff 100ms >"$T/late.out" 2>"$T/late.err" &
apid=$!
sleep 0.3
# commits 3 and 4 first, then commit 2's files one by one, shuffled
partial_ok=1
for k in $( (keys_of 3; keys_of 4) | shuf); do mv "$T/held/$k" "$R/$k"; sleep 0.02; done
c2=$(keys_of 2 | shuf)
n2=$(echo "$c2" | wc -l)
j=0
for k in $c2; do
    j=$((j + 1))
    mv "$T/held/$k" "$R/$k"
    sleep 0.15
    if [ "$j" -lt "$n2" ] && [ "$(sqlite3 "$T/late.db" "SELECT max(seq) FROM _pqfeed_checkpoint")" != 1 ]; then partial_ok=0; fi
done
wait "$apid"
check_eq "late files: apply waits and finishes (exit 0)" "$?" 0
check_eq "no commit is applied while one of its files is missing" "$partial_ok" 1
check_grep "it says what it waits for" "commit 2: waiting [0-9]+ ms for issues/data/.*\.parquet: late: missing" "$T/late.err"
check_eq "checkpoint 4 after the late files" "$(ckpt "$T/late.db")" "4,4,4"
check "and the sink equals the source" sink_equals "$T/late.db"

# ---- a late commit object -------------------------------------------------------------------------
R2=$T/replica2
cp -r "$B" "$R2"
mv "$R2/issues/_log/00000000000000000003.json" "$T/c3.json"
"$PQF" apply "$R2" "$T/late2.db" --max-delay 600ms --backoff 100ms >"$T/l2.out" 2>&1
check_eq "a commit object still missing (later ones there) exits 20" "$?" 20
check_grep "naming the commit object" "commit 3 is late: issues/_log/00000000000000000003.json is still missing" "$T/l2.out"
check_eq "commits before it are applied" "$(ckpt "$T/late2.db")" "2,2,2"
mv "$T/c3.json" "$R2/issues/_log/00000000000000000003.json"
check "once it arrives, the rest applies" "$PQF" apply "$R2" "$T/late2.db"
check "equal to the source" sink_equals "$T/late2.db"

R3=$T/replica3
cp -r "$B" "$R3"
mv "$R3/issues/_schema/000001.json" "$T/sch.json"
"$PQF" apply "$R3" "$T/late3.db" --max-delay 300ms --backoff 100ms >"$T/l3.out" 2>&1
check_eq "a schema file still missing exits 20" "$?" 20
check_grep "naming it" "commit 1: file issues/_schema/000001.json is late: missing" "$T/l3.out"

# ---- damage: a corrupt file, a deleted file, a rewritten feed -----------------------------------
X=$T/dmg
cp -r "$B" "$X"
"$PQF" apply "$X" "$T/dmg.db" --until 2 >/dev/null
dump "$T/dmg.db" "$T/before.json"
f3=$(keys_of 3 | head -1)
f3=${f3#issues/}
f3=$X/issues/$f3
printf 'X' | dd of="$f3" bs=1 seek=200 conv=notrunc status=none
"$PQF" apply "$X" "$T/dmg.db" --max-delay 500ms --backoff 100ms >"$T/c.out" 2>&1
check_eq "a corrupt file stops apply with exit 21" "$?" 21
check_grep "the message names the commit and the file" "commit 3: file issues/data/.*\.parquet is corrupt: sha256 is" "$T/c.out"
check_eq "the file is quarantined" "$(sqlite3 "$T/dmg.db" "SELECT seq || ' ' || file_key FROM _pqfeed_quarantine")" "3 ${f3#$X/}"
dump "$T/dmg.db" "$T/after.json"
check "the sink is untouched past the last good commit" cmp "$T/before.json" "$T/after.json"
check_eq "checkpoint stays at 2" "$(ckpt "$T/dmg.db")" "2,2,2"
rm "$f3"
"$PQF" apply "$X" "$T/dmg.db" --max-delay 500ms --backoff 100ms >"$T/d.out" 2>&1
check_eq "a deleted file stops apply with exit 20 (late, then missing)" "$?" 20
check_grep "the message names the commit and the file" "commit 3: file issues/data/.*\.parquet is late: missing" "$T/d.out"
dump "$T/dmg.db" "$T/after2.json"
check "the sink is still untouched" cmp "$T/before.json" "$T/after2.json"
sed 's/"producer":"pqfeed [^"]*"/"producer":"evil"/' "$X/issues/_log/00000000000000000002.json" >"$T/evil.json"
cp "$T/evil.json" "$X/issues/_log/00000000000000000002.json"
"$PQF" apply "$X" "$T/dmg.db" --max-delay 500ms >"$T/r.out" 2>&1
check_eq "a rewritten feed (the applied commit replaced) exits 22" "$?" 22
check_grep "saying so" "the sink applied commit 2 .* the feed was rewritten" "$T/r.out"
Y=$T/chain
cp -r "$B" "$Y"
cp "$T/evil.json" "$Y/issues/_log/00000000000000000002.json"
"$PQF" apply "$Y" "$T/chain.db" >"$T/ch.out" 2>&1
check_eq "a broken hash chain exits 22" "$?" 22
check_grep "naming the commit" "commit 3 breaks the hash chain" "$T/ch.out"
check_eq "commits before the break are applied" "$(ckpt "$T/chain.db")" "2,2,2"

# ---- --watch follows the feed; SIGTERM stops it cleanly ------------------------------------------
W=$T/watch
export_hour "$W" 0
"$PQF" apply "$W" "$T/watch.db" --watch --poll 100ms >"$T/w.out" 2>&1 &
wpid=$!
for h in 1 2 3; do sleep 0.3; export_hour "$W" $h; done
for _ in $(seq 1 50); do [ "$(ckpt "$T/watch.db" 2>/dev/null)" = "4,4,4" ] && break; sleep 0.1; done
kill -TERM "$wpid"
wait "$wpid"
check_eq "--watch exits 0 on SIGTERM" "$?" 0
check_grep "saying it stopped" "stopped by a signal" "$T/w.out"
check "--watch applied each new commit; the sink equals the source" sink_equals "$T/watch.db"
done_testing
