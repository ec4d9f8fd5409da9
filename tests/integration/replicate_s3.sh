#!/usr/bin/env bash
# pqfeed replicate against a real Ceph RGW (scripts/rgw.sh, stopped on exit):
# bucket to bucket (server-side copies), S3 to local and local to S3
# (streamed and hashed), incremental runs, a corrupted and a missing source
# object, retries through the fault proxy, and kill -9 at named points and
# at random moments with the replica a valid prefix after each; a replica in
# another account (a second RGW user, named by ?profile=); kill -9 in the middle
# of a 40 MB object and a rerun that continues its multipart upload; and
# --versions between versioned buckets (histories equal, version ids mapped).
. "$(dirname "$0")/../lib.sh"

start_rgw
AWS=(/usr/bin/aws --endpoint-url "$RGW_ENDPOINT")
for b in pqf-prim pqf-rep pqf-rep2 pqf-rep3 pqf-bad pqf-badrep pqf-kill pqf-big pqf-bigrep pqf-vprim pqf-vrep; do "${AWS[@]}" s3 mb "s3://$b" >/dev/null; done
PRIM=s3://pqf-prim/feed

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 5 --rows 4000 --page-rows 500 --seed 7 >/dev/null
CH=(--table issues --schema "$G/issues.schema.json" --mode changes --key id --watermark updated_at
    --delete-column deleted --created-column created_at --target-file-size 8K)
export_hour() { "$PQF" export "$1" "${CH[@]}" --as-of "2026-01-05T0$2:00:00Z" "$G/hour-000$2" >/dev/null; }
s3_head() { # URI: seq of the last commit
    "$PQF" ls --recursive "$1/issues/_log/" 2>/dev/null | grep -c '\.json$'
}
for h in 0 1 2; do check "export hour $h to S3" export_hour "$PRIM" $h; done
S=$T/state.db

# ---- bucket to bucket: server-side copies --------------------------------------------------
check "replicate bucket to bucket (server-side copy, --verify=full)" "$PQF" replicate "$PRIM" s3://pqf-rep/dr --state "$S" --verify=full --quiet
check "verify: the replica equals the primary" "$PQF" verify "$PRIM" s3://pqf-rep/dr --deep
check_grep "equal" "issues: replica at 3 of 3: equal to the primary" "$T/last.out"
check "log --deep on the replica" "$PQF" log s3://pqf-rep/dr --deep
"$PQF" ls --recursive "$PRIM/" | awk '{sub(/^[^\/]*\//, "", $4); print $3, $4}' | sort >"$T/prim.ls"
"$PQF" ls --recursive s3://pqf-rep/dr/ | awk '{sub(/^[^\/]*\//, "", $4); print $3, $4}' | sort >"$T/rep.ls"
check "same keys and sizes in both buckets" cmp "$T/prim.ls" "$T/rep.ls"
export_hour "$PRIM" 3
"$PQF" replicate "$PRIM" s3://pqf-rep/dr --state "$S" --json >"$T/inc.json"
check_grep "incremental: only commit 4 moves" '"event":"summary","published":1,' "$T/inc.json"
check "verify after the increment" "$PQF" verify "$PRIM" s3://pqf-rep/dr
"$PQF" replicate status "$PRIM" s3://pqf-rep/dr --state "$S" --json >"$T/status.json"
check_grep "status: up to date" '"published":4,"head":4,"pending_commits":0' "$T/status.json"

# ---- streamed: S3 to local, local to S3, two replicas at once ----------------------------------
check "S3 to a local replica and a second bucket at once (streamed and hashed)" "$PQF" replicate "$PRIM" "$T/local" s3://pqf-rep2/x --no-server-copy --state "$S" --quiet
check "the local replica equals the primary" "$PQF" verify "$PRIM" "$T/local" --deep
check "the second bucket equals the primary" "$PQF" verify "$PRIM" s3://pqf-rep2/x --deep
check "local to S3" "$PQF" replicate "$T/local" s3://pqf-rep2/back --state "$S" --quiet
check "round trip equals" "$PQF" verify "$PRIM" s3://pqf-rep2/back --deep

# ---- a corrupted source object: detected, not published, reported -----------------------------
BAD=s3://pqf-bad/feed
check "replicate a copy of the primary" "$PQF" replicate "$PRIM" "$BAD" --state "$S" --quiet
bad=$(grep -oh '"key":"[^"]*"' <("$PQF" cat "$BAD/issues/_log/00000000000000000002.json") | sed -n 2p | cut -d'"' -f4)
"$PQF" cat "$BAD/$bad" >"$T/bad.parquet"
printf 'X' | dd of="$T/bad.parquet" bs=1 seek=200 conv=notrunc status=none
"$PQF" cp --quiet "$T/bad.parquet" "$BAD/$bad"
check_exit "streamed: a flipped byte at the source, exit 6" 6 "$PQF" replicate "$BAD" s3://pqf-badrep/a --no-server-copy --state "$S" --quiet
check_grep "named, with its cause" "commit 2 not published: .*\(checksum\): $bad" "$T/last.out"
check_eq "only commit 1 published" "$(s3_head s3://pqf-badrep/a)" 1
check_exit "the corrupted bytes never landed" 9 "$PQF" stat "s3://pqf-badrep/a/$bad"
check_exit "server-side with --verify=full: exit 6" 6 "$PQF" replicate "$BAD" s3://pqf-badrep/b --verify=full --state "$S" --quiet
check_eq "only commit 1 published" "$(s3_head s3://pqf-badrep/b)" 1
check_exit "the bad copy was removed from the replica" 9 "$PQF" stat "s3://pqf-badrep/b/$bad"
check "the replica is a valid prefix" "$PQF" verify "$BAD" s3://pqf-badrep/b --deep
gone=$(grep -oh '"key":"[^"]*"' <("$PQF" cat "$BAD/issues/_log/00000000000000000003.json") | sed -n 1p | cut -d'"' -f4)
"$PQF" cp --quiet "$T/local/$bad" "$BAD/$bad"
"$PQF" rm --quiet "$BAD/$gone"
check_exit "a missing source object: exit 9" 9 "$PQF" replicate "$BAD" s3://pqf-badrep/c --state "$S" --quiet
check_grep "named, with its cause" "commit 3 not published: .*\(missing-at-source\)" "$T/last.out"
check_eq "commits 1, 2 published" "$(s3_head s3://pqf-badrep/c)" 2

# ---- two accounts: a replica owned by another RGW user, named by its own profile -----------------
dk=PQFDRACCESSKEY ds=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
radosgw-admin -c "$RGW_CONF" user create --uid=pqfdr --display-name=pqfdr --access-key="$dk" --secret="$ds" >/dev/null 2>&1
mkdir -p "$HOME/.aws"
printf '[dr]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$dk" "$ds" >"$HOME/.aws/credentials"
chmod 600 "$HOME/.aws/credentials"
check "the DR account creates its bucket" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "${AWS[@]}" --profile dr s3 mb s3://pqf-dr
check_exit "the primary's account cannot read the DR bucket (two accounts)" 12 "$PQF" ls s3://pqf-dr/
DR='s3://pqf-dr/feed?profile=dr'
"$PQF" replicate "$PRIM" "$DR" s3://pqf-rep3/same --state "$S" --json >"$T/accounts.json" 2>&1
check_eq "to another account and to a bucket of the same account in one run" "$?" 0
check_grep "both complete" '"event":"summary","published":8,.*"failed":0,' "$T/accounts.json"
check "the other account's replica equals the primary (read with its own profile)" "$PQF" verify "$PRIM" "$DR" --deep
check "the same account's replica too" "$PQF" verify "$PRIM" s3://pqf-rep3/same --deep
check_exit "the replica's objects belong to the DR account: the primary's keys cannot read them" 12 "$PQF" stat "s3://pqf-dr/feed/issues/_log/00000000000000000001.json"
check "status reads each store with its own settings" "$PQF" replicate status "$PRIM" "$DR" --state "$S"
check_grep "up to date" "issues: published 4 of 4 \(up to date\)" "$T/last.out"
check_exit "an unknown store setting: usage (2)" 2 "$PQF" replicate "$PRIM" 's3://pqf-dr/feed?user=dr' --state "$S"
check_grep "named" "unknown store setting 'user'" "$T/last.out"

# ---- retries through the fault proxy -------------------------------------------------------------
if command -v node >/dev/null; then
    node "$ROOT/tests/integration/faultproxy.js" --target "$RGW_ENDPOINT" --every 4 --stall-ms 1500 >"$T/proxy.out" 2>&1 &
    proxy_pid=$!
    on_exit "kill $proxy_pid"
    for _ in $(seq 50); do grep -q listening "$T/proxy.out" && break; sleep 0.1; done
    PROXY=http://127.0.0.1:$(awk '/listening/{print $2}' "$T/proxy.out")
    check "replicate through drops, 503s, stalls and truncated bodies" "$PQF" replicate "$PRIM" s3://pqf-rep2/faulty --endpoint-url "$PROXY" --read-timeout 1 --retry-base-ms 20 --max-attempts 10 --no-server-copy --state "$S" --quiet
    check "the replica equals the primary" "$PQF" verify "$PRIM" s3://pqf-rep2/faulty --deep
    curl -s "$PROXY/__faultproxy/stats" >"$T/proxy.json"
    check_grep "faults were injected" '"injected":\{"[a-z0-9]+":[1-9]' "$T/proxy.json"
else
    skip "fault proxy" "node not installed"
fi

# ---- kill -9 at named points and at random moments ------------------------------------------------
export_hour "$PRIM" 4
crash_ok=1
for point in replicate.file-copied:3 replicate.before-publish:2 replicate.after-publish:2; do
    K=s3://pqf-kill/${point//[:.]/-}
    (PQF_CRASHPOINT=$point exec "$PQF" replicate "$PRIM" "$K" --state "$T/k.db" --concurrency 2 --quiet >/dev/null 2>&1)
    rc=$?
    [ "$rc" -eq 137 ] || { crash_ok=0; echo "# $point: exit $rc"; }
    "$PQF" verify "$PRIM" "$K" >/dev/null 2>&1 || { crash_ok=0; echo "# $point: not a prefix after the kill"; }
    "$PQF" replicate "$PRIM" "$K" --state "$T/k.db" --quiet >/dev/null 2>&1 || { crash_ok=0; echo "# $point: rerun failed"; }
    "$PQF" verify "$PRIM" "$K" --deep >/dev/null 2>&1 || { crash_ok=0; echo "# $point: not equal after the rerun"; }
done
check_eq "kill -9 at named points, then a rerun: the replica equals the primary" "$crash_ok" 1
start=$(date +%s%N)
"$PQF" replicate "$PRIM" s3://pqf-kill/ref --state "$T/ref.db" --concurrency 1 --quiet
dur_ms=$(( ($(date +%s%N) - start) / 1000000 ))
kills=0 prefix_ok=1
for i in $(seq 1 10); do
    "$PQF" replicate "$PRIM" s3://pqf-kill/random --state "$T/r.db" --concurrency 1 --quiet >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v d="$dur_ms" -v s="$RANDOM" 'BEGIN { printf "%.3f", (0.03 + (s % 1000) / 1000 * 0.15) * d / 1000 }')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ $? -eq 137 ] && kills=$((kills + 1))
    "$PQF" verify "$PRIM" s3://pqf-kill/random >/dev/null 2>&1 || { prefix_ok=0; echo "# kill $i: not a prefix"; }
done
echo "# $kills of 10 runs killed mid-flight (a full run takes ${dur_ms} ms)"
check_eq "after each random kill the replica is a valid prefix" "$prefix_ok" 1
check "the final rerun completes" "$PQF" replicate "$PRIM" s3://pqf-kill/random --state "$T/r.db" --quiet
check "and the replica equals the primary" "$PQF" verify "$PRIM" s3://pqf-kill/random --deep

# ---- a large object: kill -9 mid-upload, the rerun continues the multipart upload (ListParts) -----
python3 -c "
import random, base64
r = random.Random(5)
print('id,payload')
for i in range(250000):
    print('%d,%s' % (i, base64.b64encode(r.randbytes(120)).decode()))
" >"$T/big.csv"
check "export a table of one ~40 MB data file" "$PQF" export s3://pqf-big/feed --table blob --infer-rows 100 --codec none --target-file-size 1G "$T/big.csv"
big=$("$PQF" ls --recursive s3://pqf-big/feed/blob/data/ | awk '{ s += $3 } END { print s }')
BR=(s3://pqf-big/feed s3://pqf-bigrep/r --no-server-copy --part-size 5M --state "$T/big.db")
(PQF_CRASHPOINT=replicate.copy-half exec "$PQF" replicate "${BR[@]}" --quiet >/dev/null 2>&1)
check_eq "killed (-9) at half of the object's bytes" "$?" 137
"$PQF" ls --uploads s3://pqf-bigrep/r/ >"$T/uploads.out" 2>&1
check_eq "the replica holds one unfinished multipart upload" "$(grep -c 'blob/data/' "$T/uploads.out")" 1
check_exit "and not the object" 9 "$PQF" stat "s3://pqf-bigrep/r/$(grep -o 'blob/data/[^ ]*parquet' "$T/uploads.out" | head -1)"
"$PQF" replicate "${BR[@]}" --json >"$T/resume.json" 2>&1
check_grep "the rerun continued that upload" '"uploads_resumed":1,' "$T/resume.json"
sent=$(grep -o '"target_bytes_sent":[0-9]*' "$T/resume.json" | cut -d: -f2)
echo "# resumed: sent $sent bytes to the replica for a $big-byte object"
# the count includes the commit object and the schema (a few KiB) besides the data file's parts
check "only the missing parts were sent (at least two 5 MiB parts fewer than the object)" test "$sent" -lt $((big - (10 << 20) + (64 << 10)))
check "the replica equals the primary (verify --deep)" "$PQF" verify s3://pqf-big/feed s3://pqf-bigrep/r --deep
check_eq "no upload left behind" "$("$PQF" ls --uploads s3://pqf-bigrep/r/ 2>&1 | grep -c 'blob/data/')" 0

# ---- --versions: every version and delete marker, in order, with source -> replica version ids ---
for b in pqf-vprim pqf-vrep; do
    "${AWS[@]}" s3api put-bucket-versioning --bucket "$b" --versioning-configuration Status=Enabled
done
VP=s3://pqf-vprim/feed VR=s3://pqf-vrep/feed
for h in 0 1; do export_hour "$VP" $h; done
put() { printf '%s' "$2" | "$PQF" cp --quiet - "$VP/$1"; }
put issues/notes/a.txt one; put issues/notes/a.txt two; "$PQF" rm --quiet "$VP/issues/notes/a.txt"; put issues/notes/a.txt three
put issues/notes/b.txt gone-soon; "$PQF" rm --quiet "$VP/issues/notes/b.txt"
vf=$(grep -oh '"key":"[^"]*"' <("$PQF" cat "$VP/issues/_log/00000000000000000001.json") | sed -n 1p | cut -d'"' -f4)
"$PQF" cat "$VP/$vf" >"$T/vf.orig"
cp "$T/vf.orig" "$T/vf.bad"; printf 'X' | dd of="$T/vf.bad" bs=1 seek=100 conv=notrunc status=none
"$PQF" cp --quiet "$T/vf.bad" "$VP/$vf"; "$PQF" cp --quiet "$T/vf.orig" "$VP/$vf" # corrupted, then restored
history() { # BUCKET PREFIX: per key, newest first, "key etag|DM latest"
    "${AWS[@]}" s3api list-object-versions --bucket "$1" --prefix "$2" --output json | python3 -c '
import json, sys
d = json.load(sys.stdin)
rows = [(v["Key"], v["LastModified"], v["ETag"], v["IsLatest"]) for v in d.get("Versions", [])]
rows += [(m["Key"], m["LastModified"], "DM", m["IsLatest"]) for m in d.get("DeleteMarkers", [])]
rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
for k, _, e, latest in rows:
    if "/_log/" not in k:
        print(k.split("/", 1)[1], e, latest)'
}
"$PQF" replicate "$VP" "$VR" --versions --state "$S" --json >"$T/versions.json" 2>&1
check_eq "--versions: the run succeeds" "$?" 0
check_grep "versions and delete markers replayed" '"versions_copied":[1-9][0-9]*,"delete_markers":2,' "$T/versions.json"
history pqf-vprim feed/ >"$T/hist.prim"
history pqf-vrep feed/ >"$T/hist.rep"
check "the replica's history of every key equals the primary's (versions, markers, order, latest)" diff "$T/hist.prim" "$T/hist.rep"
check_grep "a.txt: three versions and the delete marker between them" "$(printf 'notes/a.txt "%s" True' "$(printf three | md5sum | cut -d' ' -f1)")" "$T/hist.rep"
check_eq "a.txt at the replica: three, marker, two, one" "$(grep 'notes/a.txt' "$T/hist.rep" | awk '{print $2}' | tr -d '"' | tr '\n' ' ')" "$(for x in three DM two one; do [ $x = DM ] && printf 'DM ' || printf '%s ' "$(printf $x | md5sum | cut -d' ' -f1)"; done)"
check_eq "b.txt ends deleted at the replica too" "$(grep 'notes/b.txt' "$T/hist.rep" | head -1 | awk '{print $2, $3}')" "DM True"
check_eq "the corrupted-then-restored data file: three versions at the replica" "$(grep -c "${vf#issues/} " "$T/hist.rep")" 3
nsrc=$(wc -l <"$T/hist.prim")
check_eq "the state file maps every source version to a replica version" "$(sqlite3 "$S" "SELECT count(*) FROM versions WHERE dst='$VR' AND dst_version <> ''")" "$nsrc"
check "and the feed verifies" "$PQF" verify "$VP" "$VR" --deep
"$PQF" replicate "$VP" "$VR" --versions --state "$S" --json >"$T/versions2.json" 2>&1
check_grep "a rerun replays nothing" '"versions_copied":0,"delete_markers":0,' "$T/versions2.json"
put issues/notes/a.txt four
export_hour "$VP" 2
"$PQF" replicate "$VP" "$VR" --versions --state "$S" --json >"$T/versions3.json" 2>&1
check_grep "a new version and a new commit: only they move" '"event":"summary","published":1,.*"delete_markers":0,' "$T/versions3.json"
history pqf-vprim feed/ >"$T/hist.prim"
history pqf-vrep feed/ >"$T/hist.rep"
check "histories still equal" diff "$T/hist.prim" "$T/hist.rep"
check_exit "--versions to a bucket without versioning: exit 7, nothing copied" 7 "$PQF" replicate "$VP" s3://pqf-rep3/nov --versions --state "$S" --quiet
check_grep "named" "versioning is not enabled on the replica's bucket" "$T/last.out"
check_exit "--versions to a local replica: exit 7" 7 "$PQF" replicate "$VP" "$T/vloc" --versions --state "$S" --quiet
done_testing
