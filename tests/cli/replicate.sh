#!/usr/bin/env bash
# pqfeed replicate / replicate status / verify on local stores: full and
# incremental replication to two replicas, reruns that copy nothing, a
# corrupted and a missing source file (detected, not published, reported),
# a diverged replica, --watch with SIGTERM, and crash safety: kill -9 at
# named points and at random moments (50 kills), the replica a valid prefix
# after each; three replicas from one read of the primary, each from its own
# position, one failing without holding the others; --bwlimit (elapsed time of
# a known volume), --window (one that excludes now: it waits, status says so,
# SIGTERM stops it), --shard (three workers cover every table once).
. "$(dirname "$0")/../lib.sh"

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 6 --rows 6000 --page-rows 500 --seed 7 >/dev/null
CH=(--table issues --schema "$G/issues.schema.json" --mode changes --key id --watermark updated_at
    --delete-column deleted --created-column created_at --target-file-size 8K)
export_hour() { # FEED HOUR
    "$PQF" export "$1" "${CH[@]}" --as-of "2026-01-05T0$2:00:00Z" "$G/hour-000$2" >/dev/null
}
P=$T/primary
for h in 0 1 2 3; do export_hour "$P" $h || echo "# export of hour $h failed"; done
nfiles() { grep -oh '"key":"[^"]*"' "$@" | wc -l; } # files named by commit objects
replica_head() { ls "$1/issues/_log" 2>/dev/null | grep -c '^[0-9]*\.json$'; } # commit objects, not temporaries
inodes() { # STORE: "<key> <inode>" of its data files, sorted by key
    [ -d "$1/issues/data" ] || return 0
    find "$1/issues/data" -name '*.parquet' -printf '%P %i\n' | sort
}
S=$T/state.db
R=(--state "$S" --quiet)

# ---- full replication to two replicas -----------------------------------------------------
check "replicate to two replicas" "$PQF" replicate "$P" "$T/r1" "$T/r2" "${R[@]}"
check "verify: replica 1 equals the primary" "$PQF" verify "$P" "$T/r1"
check_grep "verify says equal" "issues: replica at 4 of 4: equal to the primary" "$T/last.out"
check "verify: replica 2 equals the primary" "$PQF" verify "$P" "$T/r2"
check "log --deep on the replica: chain and every checksum" "$PQF" log "$T/r1" --deep
check "the replica holds the same objects, byte for byte" diff -r "$P" "$T/r1"
check "the schema version was copied" test -f "$T/r1/issues/_schema/000001.json"
check "_feed.json was copied" cmp "$P/_feed.json" "$T/r1/_feed.json"
"$PQF" replicate "$P" "$T/r1" --state "$S" --json >"$T/again.json"
check_grep "a rerun copies nothing" '"event":"summary","published":0,"objects_copied":0,' "$T/again.json"

# ---- incremental: two more hours, only the new commits move ---------------------------------
export_hour "$P" 4 && export_hour "$P" 5
want_new=$(nfiles "$P"/issues/_log/0000000000000000000[56].json)
"$PQF" replicate "$P" "$T/r1" --state "$S" --json >"$T/inc.json"
check_grep "incremental: two commits published" '"event":"summary","published":2,' "$T/inc.json"
check_grep "incremental: only the new commits' files are copied" "\"objects_copied\":$want_new,\"objects_skipped\":0," "$T/inc.json"
check_grep "events in order: seq 5 then 6" '"seq":5,.*' "$T/inc.json"
check_eq "publication order is 5, 6" "$(grep -o '"event":"published","replica":"[^"]*","table":"issues","seq":[0-9]*' "$T/inc.json" | grep -o '[0-9]*$' | tr '\n' ' ')" "5 6 "
check "verify after the increment" "$PQF" verify "$P" "$T/r1"
"$PQF" replicate status "$P" "$T/r1" "$T/r2" --state "$S" --json >"$T/status.json"
check_grep "status: replica 1 up to date" '"table":"issues","published":6,"head":6,"pending_commits":0,"pending_objects":0,"pending_bytes":0' "$T/status.json"
check_grep "status: replica 2 two commits behind, files pending" "\"table\":\"issues\",\"published\":4,\"head\":6,\"pending_commits\":2,\"pending_objects\":$want_new," "$T/status.json"
check_grep "status: lag and bottleneck reported" '"lag_ms":[0-9]+,.*"bottleneck":"(listing|reading source|writing target|verifying)"' "$T/status.json"
"$PQF" replicate status "$P" "$T/r2" --state "$S" >"$T/status.txt"
check_grep "status text: published 4 of 6" "issues: published 4 of 6" "$T/status.txt"
# every duration of the human output is written one way, [Hh][MMm]S.Ss
for lag in 400:0.4s 9960:10.0s 10000:10.0s 65000:1m05.0s 7384500:2h03m04.5s; do
    sqlite3 "$S" "UPDATE links SET lag_ms = ${lag%%:*} WHERE dst LIKE '%r1'"
    "$PQF" replicate status "$P" "$T/r1" --state "$S" >"$T/lag.txt"
    check_grep "status text: a lag of ${lag%%:*} ms reads ${lag#*:}" "lag of the last publication: ${lag#*:};" "$T/lag.txt"
done
check_grep "status text: stage times in the same form" 'time: listing [0-9]+\.[0-9]s, reading source ([0-9]+h)?([0-9]+m)?[0-9]+\.[0-9]s, ' "$T/lag.txt"
check "a replica behind is a valid prefix for verify" "$PQF" verify "$P" "$T/r2"
check_grep "said so" "a valid prefix of the primary" "$T/last.out"
check "--verify=full and --tables" "$PQF" replicate "$P" "$T/r2" --state "$S" --quiet --verify=full --tables issues
check "replica 2 caught up" "$PQF" verify "$P" "$T/r2" --deep

# ---- several replicas from one read of the primary --------------------------------------------
data_bytes=$(find "$P/issues/data" -name '*.parquet' -printf '%s\n' | awk '{ s += $1 } END { print s }')
log_bytes=$(cat "$P"/issues/_log/*.json "$P"/_feed.json | wc -c)
"$PQF" replicate "$P" "$T/m1" "$T/m2" "$T/m3" --state "$T/m.db" --json >"$T/multi.json"
check_grep "three replicas at once: every file copied to each" "\"event\":\"summary\",\"published\":18,\"objects_copied\":$((3 * $(nfiles "$P"/issues/_log/*.json))),\"objects_skipped\":0," "$T/multi.json"
read_bytes=$(grep -o '"source_bytes_read":[0-9]*' "$T/multi.json" | cut -d: -f2)
echo "# three replicas: read $read_bytes bytes of the primary; its data files are $data_bytes, log and _feed.json $log_bytes"
check "each source object was read once: the primary's bytes read < data + 3 x the log" test "$read_bytes" -lt $((data_bytes + 3 * log_bytes))
for m in m1 m2 m3; do check "replica $m equals the primary" "$PQF" verify "$P" "$T/$m" --deep; done
# replicas at different positions, each with its own: one behind by 4 commits, one new, one current
rm -rf "$T"/m2/issues/_log/0000000000000000000[3-6].json "$T"/m2/issues/data/*/hour=0[2-5]
"$PQF" replicate "$P" "$T/m1" "$T/m2" "$T/m4" --state "$T/m.db" --json >"$T/multi2.json"
check_grep "each replica from its own position: 4 + 6 commits published" '"event":"summary","published":10,' "$T/multi2.json"
check_eq "replica m1 (current) published nothing" "$(grep -c '"event":"published","replica":"[^"]*/m1"' "$T/multi2.json")" 0
check_eq "replica m2 published 3..6 in order" "$(grep -o '"event":"published","replica":"[^"]*/m2","table":"issues","seq":[0-9]*' "$T/multi2.json" | grep -o '[0-9]*$' | tr '\n' ' ')" "3 4 5 6 "
check_eq "replica m4 published 1..6 in order" "$(grep -o '"event":"published","replica":"[^"]*/m4","table":"issues","seq":[0-9]*' "$T/multi2.json" | grep -o '[0-9]*$' | tr '\n' ' ')" "1 2 3 4 5 6 "
for m in m1 m2 m4; do check "replica $m equals the primary" "$PQF" verify "$P" "$T/$m" --deep; done
# one replica failing does not hold the others
d=$(grep -oh '"key":"[^"]*"' "$P/issues/_log/00000000000000000002.json" | sed -n 1p | cut -d'"' -f4)
mkdir -p "$T/mbad/$(dirname "$(dirname "$d")")"
echo "not a directory" >"$T/mbad/$(dirname "$d")"
check_exit "a replica that cannot be written: exit 10, for it alone" 10 "$PQF" replicate "$P" "$T/mbad" "$T/m5" --state "$T/m.db" --backoff-ms 10 --object-attempts 2
check_grep "the failing replica is named" "replica file://$T/mbad: table issues: commit 2 not published" "$T/last.out"
check "the other replica of the same run completed" "$PQF" verify "$P" "$T/m5" --deep
check_eq "the failing one stopped before commit 2" "$(replica_head "$T/mbad")" 1
check_exit "the same replica twice: usage (2)" 2 "$PQF" replicate "$P" "$T/m1" "$T/m1" --state "$T/m.db"

# ---- a corrupted source object: detected, not published, reported ----------------------------
C=$T/corrupt
cp -r "$P" "$C"
bad=$(grep -oh '"key":"[^"]*"' "$C/issues/_log/00000000000000000003.json" | sed -n 2p | cut -d'"' -f4)
printf 'X' | dd of="$C/$bad" bs=1 seek=200 conv=notrunc status=none
check_exit "a flipped byte at the primary: exit 6 (checksum)" 6 "$PQF" replicate "$C" "$T/rc" --state "$S" --quiet
check_grep "the message names the object and the cause" "commit 3 not published: .*\(checksum\): $bad: the source's sha256" "$T/last.out"
check_eq "commits 1 and 2 published, 3 not" "$(replica_head "$T/rc")" 2
check "the corrupted bytes never landed at the replica" test ! -e "$T/rc/$bad"
check "the replica is a valid prefix (log)" "$PQF" log "$T/rc" --deep
check "the replica is a valid prefix (verify)" "$PQF" verify "$C" "$T/rc"
"$PQF" replicate status "$C" "$T/rc" --state "$S" --json >"$T/cstatus.json"
check_grep "status counts the failure by cause and keeps the error" '"failed_objects":1,"failures":\{"checksum":1\}.*"last_error":"replica .*checksum' "$T/cstatus.json"
check_exit "a rerun fails the same way" 6 "$PQF" replicate "$C" "$T/rc" --state "$S" --quiet
cp "$P/$bad" "$C/$bad"
check "repaired at the primary, the rerun completes" "$PQF" replicate "$C" "$T/rc" --state "$S" --quiet
check "and the replica equals the primary" "$PQF" verify "$C" "$T/rc" --deep

# ---- a commit naming a file the primary lacks: not published ----------------------------------
M=$T/missing
cp -r "$P" "$M"
gone=$(grep -oh '"key":"[^"]*"' "$M/issues/_log/00000000000000000004.json" | sed -n 1p | cut -d'"' -f4)
rm "$M/$gone"
check_exit "a missing source file: exit 9 (not found)" 9 "$PQF" replicate "$M" "$T/rm" --state "$S" --quiet
check_grep "named with its cause" "commit 4 not published: .*\(missing-at-source\): $gone" "$T/last.out"
check_eq "commits 1..3 published, 4 not" "$(replica_head "$T/rm")" 3
check "valid prefix" "$PQF" log "$T/rm"

# ---- a replica that cannot be written: retries with backoff, then gives up --------------------
WR=$T/rw-fail
d=$(grep -oh '"key":"[^"]*"' "$P/issues/_log/00000000000000000002.json" | sed -n 1p | cut -d'"' -f4)
mkdir -p "$WR/$(dirname "$(dirname "$d")")"
echo "not a directory" >"$WR/$(dirname "$d")" # mkdir of the hour folder fails
check_exit "a replica write failing every time: exit 10 (I/O)" 10 "$PQF" replicate "$P" "$WR" --state "$S" --backoff-ms 10 --object-attempts 3
check_grep "gave up after 3 attempts, cause write-target" "commit 2 not published: after 3 attempts \(write-target\)" "$T/last.out"
check_grep "retries were reported on the way" "retrying .* \(attempt 1, write-target\)" "$T/last.out"
check_eq "commit 1 published, 2 not" "$(replica_head "$WR")" 1
"$PQF" replicate status "$P" "$WR" --state "$S" --json >"$T/wstatus.json"
check_grep "status: retries and failures by cause" '"retries":[2-9][0-9]*,"failed_objects":[1-9][0-9]*,"failures":\{"write-target":[1-9][0-9]*\}' "$T/wstatus.json"
rm "$WR/$(dirname "$d")"
check "once writable, the rerun completes" "$PQF" replicate "$P" "$WR" --state "$S" --quiet
check "and the replica equals the primary" "$PQF" verify "$P" "$WR" --deep

# ---- a broken chain at the primary, a diverged replica -----------------------------------------
B=$T/broken
cp -r "$P" "$B"
sed -i 's/"producer":"[^"]*"/"producer":"evil"/' "$B/issues/_log/00000000000000000002.json"
check_exit "a replaced commit at the primary (chain broken at 3): exit 5" 5 "$PQF" replicate "$B" "$T/rb" --state "$S" --quiet
check_grep "reported as the primary's broken chain" "commit 3 not published: the primary's hash chain is broken" "$T/last.out"
check_eq "commits 1, 2 published (2 is what the primary says)" "$(replica_head "$T/rb")" 2
check_exit "the replica then diverges from a repaired primary: exit 11" 11 "$PQF" replicate "$P" "$T/rb" --state "$S" --quiet
check_grep "named as diverged" "commit 2 differs from the primary's.*diverged" "$T/last.out"
check_exit "verify reports the difference: exit 5" 5 "$PQF" verify "$P" "$T/rb"
check_grep "as a differing commit" "seq 2: differs from the primary" "$T/last.out"
cp -r "$T/r1" "$T/dmg"
f=$(ls "$T"/dmg/issues/data/*/hour=03/*.parquet | head -1)
printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc status=none
check_exit "verify --deep catches a flipped byte at the replica: exit 6" 6 "$PQF" verify "$P" "$T/dmg" --deep
rm "$f"
check_exit "verify catches a missing replica file: exit 5" 5 "$PQF" verify "$P" "$T/dmg"
check_grep "named" "missing file: issues/data/" "$T/last.out"

# ---- --watch: new commits within seconds, clean stop on SIGTERM ---------------------------------
W=$T/wprim
for h in 0 1; do export_hour "$W" $h; done
"$PQF" replicate "$W" "$T/rw" --state "$S" --watch --interval 1 --quiet >"$T/watch.out" 2>&1 &
wpid=$!
for _ in $(seq 50); do [ "$(replica_head "$T/rw")" -eq 2 ] && break; sleep 0.1; done
export_hour "$W" 2
for _ in $(seq 80); do [ "$(replica_head "$T/rw")" -eq 3 ] && break; sleep 0.1; done
check_eq "--watch replicates a new commit within seconds" "$(replica_head "$T/rw")" 3
kill -TERM "$wpid"
wait "$wpid"
check_eq "SIGTERM stops --watch cleanly (exit 0)" "$?" 0
check "the watched replica equals its primary" "$PQF" verify "$W" "$T/rw" --deep

# ---- crash safety: kill -9 at named points ------------------------------------------------------
total=$(nfiles "$P"/issues/_log/*.json)
crash_ok=1
for point in replicate.file-copied:1 replicate.file-copied:30 replicate.before-publish:1 \
             replicate.before-publish:3 replicate.after-publish:1 replicate.after-publish:4; do
    K=$T/crash-${point//[:.]/-}
    KS=$T/crash-${point//[:.]/-}.db
    (PQF_CRASHPOINT=$point exec "$PQF" replicate "$P" "$K" --state "$KS" --concurrency 1 --quiet >/dev/null 2>&1)
    rc=$?
    [ "$rc" -eq 137 ] || { crash_ok=0; echo "# $point: exit $rc, not killed"; }
    if [ -d "$K" ]; then
        "$PQF" log "$K" >/dev/null 2>&1 || { crash_ok=0; echo "# $point: replica log invalid after the kill"; }
        "$PQF" verify "$P" "$K" >/dev/null 2>&1 || { crash_ok=0; echo "# $point: not a prefix after the kill"; }
    fi
    before=$(replica_head "$K")
    inodes "$K" >"$T/inodes.before"
    "$PQF" replicate "$P" "$K" --state "$KS" --json >"$T/crash.json" 2>&1 || { crash_ok=0; echo "# $point: rerun failed"; }
    "$PQF" verify "$P" "$K" --deep >/dev/null 2>&1 || { crash_ok=0; echo "# $point: not equal after the rerun"; }
    diff -r -x '*.tmp-*' "$P" "$K" >/dev/null || { crash_ok=0; echo "# $point: objects differ"; }
    # Nothing copied twice in vain: every data file already at the replica
    # after the kill keeps its inode (a copy would write a new file), and the
    # rerun copies exactly the files that were not there.
    inodes "$K" >"$T/inodes.after"
    recopied=$(join "$T/inodes.before" "$T/inodes.after" | awk '$2 != $3' | wc -l)
    present=$(wc -l <"$T/inodes.before")
    copied=$(grep -o '"objects_copied":[0-9]*' "$T/crash.json" | cut -d: -f2)
    pub=$(grep -o '"event":"summary","published":[0-9]*' "$T/crash.json" | grep -o '[0-9]*$')
    if [ "$recopied" -ne 0 ] || [ "$copied" != $((total - present)) ] || [ "$pub" != $((6 - before)) ]; then
        crash_ok=0; echo "# $point: $recopied files copied again, rerun copied $copied of $((total - present)) missing, published $pub after $before"
    fi
    case $point in replicate.file-copied:*) [ "$present" -gt 0 ] || { crash_ok=0; echo "# $point: no file copied before the kill"; } ;; esac
done
check_eq "kill -9 at each named point: valid prefix, then a rerun completes copying nothing twice" "$crash_ok" 1

# ---- crash safety: kill -9 at random moments, 50 times -------------------------------------------
BIG=$T/bigsrc
"$PQF" gen --out "$BIG" --table issues --hours 3 --rows 20000 --page-rows 2000 --seed 5 >/dev/null
BP=$T/bigprim
for h in 0 1 2; do
    "$PQF" export "$BP" --table issues --schema "$BIG/issues.schema.json" --mode changes --key id \
        --watermark updated_at --delete-column deleted --target-file-size 8K \
        --as-of "2026-01-05T0$h:00:00Z" "$BIG/hour-000$h" >/dev/null
done
start=$(date +%s%N)
"$PQF" replicate "$BP" "$T/bigref" --state "$T/bigref.db" --concurrency 1 --quiet
dur_ms=$(( ($(date +%s%N) - start) / 1000000 ))
KR=$T/bigkill
kills=0 runs=0 restarts=0 prefix_ok=1 heads=""
NKILL=${PQF_APPLY_KILLS:-50} # tests/run.sh: 50 on the normal build, 20 under the sanitizers
while [ "$kills" -lt "$NKILL" ] && [ "$runs" -lt $((NKILL * 3)) ]; do
    runs=$((runs + 1))
    "$PQF" replicate "$BP" "$KR" --state "$T/bigkill.db" --concurrency 1 --quiet >/dev/null 2>&1 &
    pid=$!
    # a random moment within 2%..30% of a full run: every run resumes the
    # previous one; one that finishes before its kill starts a fresh replica,
    # so the kills fall all over the replication
    sleep "$(awk -v d="$dur_ms" -v s="$RANDOM" 'BEGIN { printf "%.3f", (0.02 + (s % 1000) / 1000 * 0.28) * d / 1000 }')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    if [ -d "$KR" ]; then
        "$PQF" log "$KR" >/dev/null 2>&1 || { prefix_ok=0; echo "# run $runs: replica log invalid"; }
        "$PQF" verify "$BP" "$KR" >/dev/null 2>&1 || { prefix_ok=0; echo "# run $runs: not a prefix"; }
    fi
    heads="$heads $(replica_head "$KR")"
    if [ "$rc" -eq 137 ]; then
        kills=$((kills + 1))
    elif [ "$rc" -eq 0 ]; then
        diff -r -x '*.tmp-*' "$T/bigref" "$KR" >/dev/null || { prefix_ok=0; echo "# run $runs: completed but differs"; }
        rm -rf "$KR" "$T/bigkill.db"*; restarts=$((restarts + 1)); heads="$heads |"
    else
        prefix_ok=0; echo "# run $runs: exit $rc"
    fi
done
echo "# $kills kills in $runs runs, $restarts completed (a full run takes ${dur_ms} ms); replica heads:$heads"
check_eq "after every random kill the replica is a valid prefix (log + verify)" "$prefix_ok" 1
check_eq "$NKILL runs were killed mid-flight" "$kills" "$NKILL"
check "the final rerun completes" "$PQF" replicate "$BP" "$KR" --state "$T/bigkill.db" --quiet
check "the replica equals the primary (verify --deep)" "$PQF" verify "$BP" "$KR" --deep
check "nothing lost, nothing extra: same objects as an uninterrupted run (killed puts' temporaries aside)" diff -r -x '*.tmp-*' "$T/bigref" "$KR"
check "log --deep on the killed-and-resumed replica" "$PQF" log "$KR" --deep

# ---- --bwlimit: one token bucket over all transfers --------------------------------------------
vol=$(find "$P/issues/data" -name '*.parquet' -printf '%s\n' | awk '{ s += $1 } END { print s }')
rate=$((vol / 3)) # the data files in about 3 s
ms_of() { local t0; t0=$(date +%s%N); "$@" >/dev/null 2>&1; echo $(( ($(date +%s%N) - t0) / 1000000 )); }
free_ms=$(ms_of "$PQF" replicate "$P" "$T/bw0" --state "$T/bw0.db" --quiet --concurrency 8)
lim_ms=$(ms_of "$PQF" replicate "$P" "$T/bw1" --state "$T/bw1.db" --quiet --concurrency 8 --bwlimit "$rate")
echo "# --bwlimit: $vol bytes in $lim_ms ms at $rate B/s (expect ~3000; unlimited $free_ms ms)"
# The bucket starts with a burst of max(64 KiB, rate/10): at least (vol - burst) / rate.
floor_ms=$(( (vol - (rate / 10 > 65536 ? rate / 10 : 65536)) * 1000 / rate * 9 / 10 ))
check "--bwlimit: the limited run is at least (volume - burst) / rate long" test "$lim_ms" -ge "$floor_ms"
check "--bwlimit: and not far longer (within 3x + 2 s)" test "$lim_ms" -le $((3000 * 3 + 2000))
check "--bwlimit: the unlimited run is faster than the limit allows (the limit is what paces it)" test "$free_ms" -lt "$floor_ms"
check "--bwlimit: the paced replica equals the primary" "$PQF" verify "$P" "$T/bw1" --deep
check_exit "--bwlimit with a bad rate: usage (2)" 2 "$PQF" replicate "$P" "$T/x" --bwlimit fast

# ---- --window: bulk copying only inside it; outside, it waits and status says so ---------------
export TZ=UTC
closed="$(date -d '+10 min' +%H:%M)-$(date -d '+20 min' +%H:%M)" # excludes now
open_w="$(date -d '-10 min' +%H:%M)-$(date -d '+10 min' +%H:%M)" # includes now
"$PQF" replicate "$P" "$T/win" --state "$T/win.db" --window "$closed" --json >"$T/win.json" 2>&1 &
wpid=$!
for _ in $(seq 50); do grep -q '"event":"window"' "$T/win.json" 2>/dev/null && break; sleep 0.1; done
check_grep "outside the window: an event says it waits, and until when" '"event":"window",.*"table":"issues","seq":0,"opens_ms":[0-9]+' "$T/win.json"
"$PQF" replicate status "$P" "$T/win" --state "$T/win.db" >"$T/win-status.txt"
check_grep "status says it waits for the window, and when it opens" "waiting for the copy window: opens at ${closed%-*}" "$T/win-status.txt"
"$PQF" replicate status "$P" "$T/win" --state "$T/win.db" --json >"$T/win-status.json"
check_grep "status --json: window_opens_ms set" '"window_opens_ms":[1-9][0-9]+' "$T/win-status.json"
sleep 1
check_eq "nothing was copied while outside the window" "$(find "$T/win" -name '*.parquet' 2>/dev/null | wc -l)" 0
check_eq "nothing published" "$(replica_head "$T/win")" 0
kill -TERM "$wpid"
wait "$wpid"
check_eq "SIGTERM while waiting for the window: a clean stop (exit 0)" "$?" 0
check_grep "the summary says stopped, nothing copied" '"event":"summary","published":0,"objects_copied":0,.*"stopped":true' "$T/win.json"
"$PQF" replicate status "$P" "$T/win" --state "$T/win.db" --json >"$T/win-status.json"
check_grep "after the stop status no longer says waiting" '"window_opens_ms":0' "$T/win-status.json"
check "inside the window: it copies" "$PQF" replicate "$P" "$T/win" --state "$T/win.db" --window "$open_w" --quiet
check "and the replica equals the primary" "$PQF" verify "$P" "$T/win" --deep
check_exit "a bad window: usage (2)" 2 "$PQF" replicate "$P" "$T/x" --window 22-06
check_grep "the message names the text" "window '22-06' is not HH:MM-HH:MM" "$T/last.out"
unset TZ

# ---- --shard I/N: independent workers, each with its own state, cover every table once ----------
SH=$T/shprim
for t in alpha beta gamma delta epsilon zeta eta theta; do
    "$PQF" export "$SH" --table "$t" --schema "$G/issues.schema.json" --mode changes --key id \
        --watermark updated_at --delete-column deleted --target-file-size 16K \
        --as-of 2026-01-05T00:00:00Z "$G/hour-0000" >/dev/null
    "$PQF" export "$SH" --table "$t" --schema "$G/issues.schema.json" --mode changes --key id \
        --watermark updated_at --delete-column deleted --target-file-size 16K \
        --as-of 2026-01-05T01:00:00Z "$G/hour-0001" >/dev/null
done
sh_files=$(nfiles "$SH"/*/_log/*.json)
pids=()
for i in 0 1 2; do
    (cd "$T" && exec "$PQF" replicate "$SH" "$T/shrep" --shard "$i/3" --json >"$T/shard-$i.json" 2>&1) &
    pids+=($!)
done
sh_ok=1
for pid in "${pids[@]}"; do wait "$pid" || sh_ok=0; done
check_eq "three --shard workers in parallel all succeed" "$sh_ok" 1
check "each worker kept its own state file" test -f "$T/.pqfeed-replicate-shard-0-of-3.db" -a -f "$T/.pqfeed-replicate-shard-1-of-3.db" -a -f "$T/.pqfeed-replicate-shard-2-of-3.db"
check "the workers together replicated everything: verify" "$PQF" verify "$SH" "$T/shrep" --deep
check "byte for byte" diff -r "$SH" "$T/shrep"
sum_field() { grep -oh "\"event\":\"summary\",.*" "$T"/shard-*.json | grep -o "\"$1\":[0-9]*" | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }'; }
check_eq "each commit published once in all (8 tables x 2)" "$(sum_field published)" 16
check_eq "each file copied once in all" "$(sum_field objects_copied)" "$sh_files"
tables_of() { grep -o '"event":"table","replica":"[^"]*","table":"[^"]*"' "$T/shard-$1.json" | sed 's/.*"table":"//; s/"$//'; }
check_eq "the shards' tables are disjoint and cover all 8" "$( (tables_of 0; tables_of 1; tables_of 2) | sort | uniq -c | awk '$1 == 1' | wc -l)" 8
for i in 0 1 2; do [ -n "$(tables_of $i)" ] || echo "# shard $i got no table"; done
check_exit "a shard that does not exist: usage (2)" 2 "$PQF" replicate "$SH" "$T/x" --shard 3/3
check_exit "a malformed shard: usage (2)" 2 "$PQF" replicate "$SH" "$T/x" --shard 1-3

# ---- usage -----------------------------------------------------------------------------------------
check_exit "no replica: usage (2)" 2 "$PQF" replicate "$P"
check_exit "bad --verify: usage (2)" 2 "$PQF" replicate "$P" "$T/x" --verify sometimes
check_exit "replica = primary: usage (2)" 2 "$PQF" replicate "$P" "$P" --state "$S"
done_testing
