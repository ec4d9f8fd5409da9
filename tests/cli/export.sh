#!/usr/bin/env bash
# pqfeed export / log / gc on a local store: snapshots, hourly change
# commits from API pages, reruns, bad input, damage detection, races, and
# crash safety (kill -9 at named points and at random moments).
. "$(dirname "$0")/../lib.sh"

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 3 --rows 3000 --page-rows 400 --seed 7 >/dev/null
SCHEMA=$G/issues.schema.json
CH=(--table issues --schema "$SCHEMA" --mode changes --key id --watermark updated_at
    --delete-column deleted --created-column created_at)

export_hours() { # FEED [extra args]: export hours 0..3, one commit each
    local feed=$1; shift
    for h in 0 1 2 3; do
        "$PQF" export "$feed" "${CH[@]}" --as-of "2026-01-05T0$h:00:00Z" "$@" "$G/hour-000$h" || return 1
    done
}
# (cat prints timestamps without trailing zeros in the fraction)
page_ids() { cat "$G"/hour-000*/page-*.ndjson | sed -E 's/^\{"id":([0-9]+),.*"updated_at":"([^"]+)".*/\1,\2/; s/(\.[0-9]*[1-9])0+Z$/\1Z/; s/\.0+Z$/Z/' | sort; }
feed_ids() { # FEED: id,updated_at of every row of every data file a commit names
    local f
    for f in $(grep -oh '"key":"[^"]*\.parquet"' "$1"/issues/_log/*.json | cut -d'"' -f4); do
        "$PQF" parquet cat "$1/$f" --columns id,updated_at --format csv | tail -n +2
    done | sort
}
page_ids >"$T/want.ids"
# commit objects of a feed (a killed writer may leave a temporary beside them)
ncommits() { ls "$1"/issues/_log | grep -c '^[0-9]*\.json$'; }
want_rows=$(wc -l <"$T/want.ids")

# ---- changes: one commit per hour, then nothing new -------------------------------
F=$T/feed
check "four hourly exports succeed" export_hours "$F"
"$PQF" export "$F" "${CH[@]}" --json "$G/hour-0003" >"$T/again.json"
check_grep "a rerun of the last hour finds nothing new" '"committed":false,"seq":4' "$T/again.json"
check "log verifies the chain and files" "$PQF" log "$F"
"$PQF" log "$F" --json >"$T/log.json"
check_grep "log --json lists four commits" '"head":4,"problems":0' "$T/log.json"
check_grep "commit 2 carries the hour's watermark range" '"seq":2,"kind":"changes".*"watermark":\{"column":"updated_at","from":"2026-01-05T01:' "$T/log.json"
# a typo is not an empty log: a missing store or table is exit 9 naming it
check_exit "log of a store that does not exist is exit 9" 9 "$PQF" log "$T/no-such-feed"
check_grep "the message names the store" "store file://$T/no-such-feed not found" "$T/last.out"
check_eq "and nothing was created" "$(ls -d "$T/no-such-feed" 2>/dev/null)" ""
check_exit "log of a table the store does not have is exit 9" 9 "$PQF" log "$F" isues
check_grep "the message names the table and the store" "table isues not found in file://$F" "$T/last.out"
check_exit "--json too" 9 "$PQF" log "$F" isues --json
check_exit "a table of a missing store is exit 9" 9 "$PQF" log "$T/no-such-feed" issues
mkdir -p "$F/draft/_schema" && cp "$F"/issues/_schema/000001.json "$F/draft/_schema/"
check "a table there without commits is exit 0" "$PQF" log "$F" draft
check_grep "listed as head 0, no commits yet" "^draft \(head 0\)" "$T/last.out"
check_grep "and says so" "no commits yet" "$T/last.out"
rm -r "$F/draft"
mkdir "$T/empty-store"
check "an existing store without tables is exit 0" "$PQF" log "$T/empty-store"
check_grep "and says so" "no tables with commits in file://$T/empty-store" "$T/last.out"
# paths are joined with one slash: a folder given as DIR/, a file under /
mkdir -p "$T/badpages" && printf '{"id":1}\n{bad\n' >"$T/badpages/p.ndjson"
check_exit "a bad record in a folder given with a trailing slash is exit 3" 3 "$PQF" export "$T/bp" --table t --infer-rows 1 "$T/badpages/"
check_grep "the message names DIR/p.ndjson, one slash" "^pqfeed: $T/badpages/p\.ndjson:2:" "$T/last.out"
check_exit "cat of a missing file is exit 9" 9 "$PQF" cat "$T/no-such-object"
check_grep "its path has one leading slash" "^pqfeed: open $T/no-such-object:" "$T/last.out"
check_exit "cat through a doubled slash too" 9 "$PQF" cat "file:///$T//no-such-object"
check_grep "normalised" "^pqfeed: open $T/no-such-object:" "$T/last.out"
feed_ids "$F" >"$T/got.ids"
check "every page record is in the feed exactly once" cmp "$T/want.ids" "$T/got.ids"
c1=$(ls "$F"/issues/data/*/hour=00/*.parquet)
"$PQF" parquet cat "$c1" --columns _op --format csv | sort | uniq -c >"$T/ops0"
check_grep "the initial load is inserts" "^ +3000 I$" "$T/ops0"
c2=$(ls "$F"/issues/data/*/hour=01/*.parquet)
"$PQF" parquet cat "$c2" --columns _op --format csv | tail -n +2 | sort -u | tr -d '\n' >"$T/ops1"
check_eq "an hour of changes has inserts, updates and deletes" "$(cat "$T/ops1")" "DIU"
"$PQF" parquet cat "$c2" --columns _seq --format csv --limit 1 | tail -1 >"$T/seq1"
check_eq "_seq of commit 2 starts at 2<<32 + 1" "$(cat "$T/seq1")" "$(( (2 << 32) + 1 ))"
check_grep "the schema is registered with its key" '"key": \["id"\]' "$F/issues/_schema/000001.json"

# overlap window: re-read records before the last watermark, drop those
# already exported and repeats within the run, keep late arrivals
O=$T/overlap
for h in 0 1; do "$PQF" export "$O" "${CH[@]}" --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >/dev/null; done
mkdir -p "$T/h2o"
last1=$(ls "$G"/hour-0001/page-*.ndjson | tail -1)
{ tail -n 5 "$last1"; tail -n 1 "$last1" | sed -E 's/^\{"id":[0-9]+,/{"id":999999,/'; } >"$T/h2o/page-00000.ndjson"
cp "$G"/hour-0002/page-*.ndjson "$T/h2o/"
head -n 1 "$G/hour-0002/page-00001.ndjson" >"$T/h2o/page-99999.ndjson"
n2=$(cat "$G"/hour-0002/page-*.ndjson | wc -l)
"$PQF" export "$O" "${CH[@]}" --overlap 30m --as-of 2026-01-05T02:00:00Z --json "$T/h2o" >"$T/ov.json" 2>&1
check_grep "overlap: the hour's records and the late one are exported" "\"rows\":$((n2 + 1)),\"skipped\":0,\"duplicates\":6," "$T/ov.json"
for h in 0 1; do "$PQF" export "$T/overlap2" "${CH[@]}" --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >/dev/null; done
rm "$T/h2o/page-99999.ndjson"
"$PQF" export "$T/overlap2" "${CH[@]}" --as-of 2026-01-05T02:00:00Z --json "$T/h2o" >"$T/ov2.json" 2>&1
check_grep "without --overlap the late record is skipped with the re-read ones" "\"rows\":$n2,\"skipped\":6,\"duplicates\":0," "$T/ov2.json"
check_exit "--overlap needs --key" 2 "$PQF" export "$O" --table issues --schema "$SCHEMA" --mode changes --watermark updated_at --overlap 10m "$T/h2o"

# determinism: a second feed from the same pages has byte-identical data files
F2=$T/feed2
export_hours "$F2" >/dev/null
check "data files are the same bytes on a rerun from scratch" diff -r "$F/issues/data" "$F2/issues/data"

# ---- snapshots -----------------------------------------------------------------------
S=$T/snap
"$PQF" gen --out "$T/snapsrc" --table issues --rows 500 --format ndjson --seed 3 >/dev/null
check "snapshot export" "$PQF" export "$S" --table issues --schema "$T/snapsrc/issues.schema.json" "$T/snapsrc/issues.ndjson"
"$PQF" export "$S" --table issues --schema "$T/snapsrc/issues.schema.json" "$T/snapsrc/issues.ndjson" >"$T/snap2.out"
check_grep "an unchanged snapshot is not committed again" "nothing new" "$T/snap2.out"
"$PQF" export "$S" --table issues --schema "$T/snapsrc/issues.schema.json" --target-file-size 16K --json "$T/snapsrc/issues.ndjson" >"$T/snap3.json"
check_grep "a snapshot split by target size (a new commit: other file layout)" '"committed":true,"seq":2,"rows":500,"skipped":0,"duplicates":0,"files":([2-9]|[1-9][0-9])' "$T/snap3.json"

# ---- schema evolution ----------------------------------------------------------------
sed 's/{"name": "deleted", "type": "bool"}/{"name": "deleted", "type": "bool"},\n    {"name": "team", "type": "string"}/' "$SCHEMA" >"$T/added.json"
sed 's/{"name": "story_points", "type": "int32"}/{"name": "story_points", "type": "int64"}/' "$SCHEMA" >"$T/widened.json"
grep -v '"title"' "$SCHEMA" >"$T/dropped.json"
sed 's/{"name": "story_points", "type": "int32"}/{"name": "story_points", "type": "string"}/' "$SCHEMA" >"$T/retyped.json"
check "schema files for evolution differ" bash -c "! cmp -s '$SCHEMA' '$T/added.json' && ! cmp -s '$SCHEMA' '$T/widened.json'"
E=$T/evo
export_hours "$E" >/dev/null
mkdir -p "$T/h4" && echo '{"id":1,"key":"A-1","project":"API","title":"t","status":"open","created_at":"2026-01-05T05:00:00Z","updated_at":"2026-01-05T05:00:00Z","resolved_on":null,"estimate_hours":null,"story_points":null,"labels":[],"author":{"id":1,"name":null,"email":null},"fields":null,"deleted":false}' >"$T/h4/p.ndjson"
check_exit "a dropped column stops the export" 4 "$PQF" export "$E" "${CH[@]/$SCHEMA/$T/dropped.json}" "$T/h4/p.ndjson"
check_grep "the message names the dropped column" "column 'title' was dropped" "$T/last.out"
check_exit "a retyped column stops the export" 4 "$PQF" export "$E" "${CH[@]/$SCHEMA/$T/retyped.json}" "$T/h4/p.ndjson"
check_grep "the message names the retyped column" "column 'story_points' changed type" "$T/last.out"
check "a new nullable column is a compatible change" "$PQF" export "$E" "${CH[@]/$SCHEMA/$T/added.json}" "$T/h4/p.ndjson"
check "schema version 2 is registered" test -f "$E/issues/_schema/000002.json"
echo '{"id":2,"key":"A-2","project":"API","title":"t","status":"open","created_at":"2026-01-05T06:00:00Z","updated_at":"2026-01-05T06:00:00Z","resolved_on":null,"estimate_hours":null,"story_points":7,"labels":[],"author":{"id":1,"name":null,"email":null},"fields":null,"deleted":false,"team":"x"}' >"$T/h4/q.ndjson"
sed 's/"int32"/"int64"/' "$T/added.json" >"$T/added_wide.json"
check "int32 widened to int64 is compatible" "$PQF" export "$E" "${CH[@]/$SCHEMA/$T/added_wide.json}" "$T/h4/q.ndjson"
check "allow-incompatible registers a dropped column anyway" "$PQF" export "$E" "${CH[@]/$SCHEMA/$T/dropped.json}" --allow-incompatible "$T/h4/q.ndjson" --unknown-fields ignore

# ---- bad input: clear errors, nothing committed ---------------------------------------
B=$T/bad
export_hours "$B" >/dev/null
head_before=$(ncommits "$B")
mkdir -p "$T/b1" && { head -3 "$G/hour-0003/page-00001.ndjson" | sed 's/2026-01-05T03/2026-01-05T07/'; echo '{"id": 5, not json'; } >"$T/b1/p.ndjson"
check_exit "a page that is not JSON fails as bad input" 3 "$PQF" export "$B" "${CH[@]}" "$T/b1"
check_grep "the message names the file and the record's line" "b1/p.ndjson:4:" "$T/last.out"
mkdir -p "$T/b2" && sed -n 1p "$G/hour-0003/page-00001.ndjson" | sed 's/2026-01-05T03/2026-01-05T08/; s/^{"id":[0-9]*,/{/' >"$T/b2/p.ndjson"
check_exit "a record missing the key fails" 3 "$PQF" export "$B" "${CH[@]}" "$T/b2"
check_grep "the message names the file, line and field" "b2/p.ndjson:1: (field|key column) 'id' is missing" "$T/last.out"
mkdir -p "$T/b3" && sed -n 1p "$G/hour-0003/page-00001.ndjson" | sed 's/2026-01-05T03/2026-01-05T09/g' >"$T/b3/page-1.ndjson" && \
  sed -n 2p "$G/hour-0003/page-00001.ndjson" | sed 's/2026-01-05T03/2026-01-05T08/g' >"$T/b3/page-2.ndjson"
check_exit "a watermark going backwards between pages fails" 3 "$PQF" export "$B" "${CH[@]}" "$T/b3"
check_grep "the message names the page, line and watermark" "b3/page-2.ndjson:1: watermark 'updated_at' goes backwards" "$T/last.out"
mkdir -p "$T/b4" && sed -n 1p "$G/hour-0003/page-00001.ndjson" | sed 's/2026-01-05T03/2026-01-05T10/g; s/"story_points":[^,]*/"story_points":99999999999/' >"$T/b4/p.ndjson"
check_exit "a value that overflows its column fails" 3 "$PQF" export "$B" "${CH[@]}" "$T/b4"
check_grep "the message names the field" "field 'story_points'.*int32" "$T/last.out"
check_eq "no bad export added a commit" "$(ncommits "$B")" "$head_before"
check "the feed is still valid" "$PQF" log "$B"
"$PQF" gc "$B" --grace 0s >"$T/gc.out"
check_grep "gc finds the bad exports' orphans (if any) and keeps named files" "4 files named by commits" "$T/gc.out"
check "after gc the log still verifies" "$PQF" log "$B"

# ---- damage is detected ----------------------------------------------------------------
D=$T/dmg
cp -r "$F" "$D"
f3=$(ls "$D"/issues/data/*/hour=02/*.parquet)
printf 'X' | dd of="$f3" bs=1 seek=100 conv=notrunc status=none
check "a flipped byte keeps the size: shallow log passes" "$PQF" log "$D"
check_exit "log --deep catches the flipped byte" 6 "$PQF" log "$D" --deep
check_grep "naming the file" "checksum mismatch: issues/data/.*hour=02/" "$T/last.out"
rm "$f3"
check_exit "a deleted data file is reported" 5 "$PQF" log "$D"
check_grep "as a missing file" "missing file: issues/data/" "$T/last.out"
cp -r "$F" "$T/dmg2"
rm "$T/dmg2/issues/_log/00000000000000000002.json"
check_exit "a missing commit is reported" 5 "$PQF" log "$T/dmg2"
cp -r "$F" "$T/dmg3"
sed -i 's/"rows":318/"rows":319/' "$T/dmg3"/issues/_log/0000000000000000000[34].json
sed 's/"producer":"pqfeed [^"]*"/"producer":"evil"/' "$F/issues/_log/00000000000000000002.json" >"$T/dmg3/issues/_log/00000000000000000002.json"
check_exit "a replaced commit breaks the hash chain" 5 "$PQF" log "$T/dmg3"
check_grep "reported as a broken chain" "seq 3: broken hash chain" "$T/last.out"

# ---- racing producers -------------------------------------------------------------------
ok_race=1
for i in 1 2 3 4 5 6; do
    R=$T/race$i
    "$PQF" export "$R" "${CH[@]}" --as-of 2026-01-05T00:00:00Z "$G/hour-0000" >/dev/null
    ( "$PQF" export "$R" "${CH[@]}" --as-of 2026-01-05T01:00:00Z "$G/hour-0001" >"$T/ra.out" 2>&1; echo $? >"$T/ra.rc" ) &
    ( "$PQF" export "$R" "${CH[@]/created_at/key}" --as-of 2026-01-05T01:00:00Z "$G/hour-0001" >"$T/rb.out" 2>&1; echo $? >"$T/rb.rc" ) &
    wait
    for r in ra rb; do
        rc=$(cat "$T/$r.rc")
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 11 ]; then ok_race=0; echo "# race $i: $r exited $rc: $(cat "$T/$r.out")"; fi
        if [ "$rc" -eq 11 ] && ! grep -q "another producer" "$T/$r.out"; then ok_race=0; echo "# race $i: $r: $(cat "$T/$r.out")"; fi
    done
    "$PQF" log "$R" >/dev/null 2>&1 || { ok_race=0; echo "# race $i: log does not verify"; }
done
check_eq "racing producers: each wins or gets a conflict, the feed stays valid" "$ok_race" 1

# ---- crash safety: kill -9 at named points ------------------------------------------------
crash_ok=1
for point in export.schema-registered export.file-written:1 export.file-written:2 export.before-publish export.after-publish; do
    C=$T/crash-${point//[:.]/-}
    for h in 0 1 2 3; do
        { (PQF_CRASHPOINT=$point exec "$PQF" export "$C" "${CH[@]}" --target-file-size 8K --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >/dev/null 2>&1); } 2>/dev/null
        rc=$?
        if [ "$rc" -ne 137 ] && [ "$rc" -ne 0 ]; then crash_ok=0; echo "# $point hour $h: exit $rc"; fi
        "$PQF" export "$C" "${CH[@]}" --target-file-size 8K --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >/dev/null 2>&1 || { crash_ok=0; echo "# $point hour $h: rerun failed"; }
    done
    "$PQF" log "$C" >/dev/null 2>&1 || { crash_ok=0; echo "# $point: log does not verify"; }
    [ "$(ncommits "$C")" -eq 4 ] || { crash_ok=0; echo "# $point: $(ncommits "$C") commits"; }
    feed_ids "$C" | cmp -s - "$T/want.ids" || { crash_ok=0; echo "# $point: rows lost or duplicated"; }
done
check_eq "kill -9 at each named point, then a rerun: every record exactly once" "$crash_ok" 1

# ---- crash safety: kill -9 at random moments ------------------------------------------------
"$PQF" gen --out "$T/big" --table issues --hours 1 --rows 60000 --page-rows 5000 --seed 11 >/dev/null
BIG=(--table issues --schema "$T/big/issues.schema.json" --mode changes --key id --watermark updated_at --delete-column deleted --target-file-size 256K)
start=$(date +%s%N)
"$PQF" export "$T/bigref" "${BIG[@]}" --as-of 2026-01-05T00:00:00Z "$T/big/hour-0000" >/dev/null
dur_us=$(( ($(date +%s%N) - start) / 1000 ))
K=$T/bigkill
kills=0
for i in $(seq 1 12); do
    rm -f "$T/pid"
    ("$PQF" export "$K" "${BIG[@]}" --as-of 2026-01-05T00:00:00Z "$T/big/hour-0000" >/dev/null 2>&1 &
     echo $! >"$T/pid.new" && mv "$T/pid.new" "$T/pid"; wait) 2>/dev/null &
    while [ ! -s "$T/pid" ]; do sleep 0.005; done # this run's pid, never the last one's
    pid=$(cat "$T/pid")
    sleep "$(awk -v d="$dur_us" -v i="$i" 'BEGIN { printf "%.4f", d * i / 13 / 1e6 }')"
    kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null
done
"$PQF" export "$K" "${BIG[@]}" --as-of 2026-01-05T00:00:00Z "$T/big/hour-0000" >/dev/null
echo "# $kills of 12 runs killed mid-flight (export takes ${dur_us} us)"
check "after random kills and a rerun the log verifies" "$PQF" log "$K" --deep
check_eq "one commit" "$(ncommits "$K")" 1
check "gc removes what the killed runs left (orphans, temporaries)" "$PQF" gc "$K" --grace 0s
check "the data files equal an uninterrupted export's" diff -r "$T/bigref/issues/data" "$K/issues/data"
done_testing
