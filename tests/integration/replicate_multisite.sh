#!/usr/bin/env bash
# pqfeed replicate --native on Ceph RGW multisite (scripts/rgw-multisite.sh):
# the real, unordered bucket replication engine moves the data files from
# zone-a to zone-b, limited by the sync policy to "issues/data/", so the
# primary's commit objects are not replicated by it. pqfeed copies nothing:
# it watches zone-b, verifies arrivals (read back, SHA-256) and publishes the
# commits there in order. A consumer reading zone-b all along must see a
# valid prefix; at the end zone-b equals zone-a. Metrics and --report too.
. "$(dirname "$0")/../lib.sh"

MS=$T/ms
on_exit "'$ROOT/scripts/rgw-multisite.sh' stop '$MS'"
BK=pqf-feed
# The engine replicates only the data files, from zone-a to zone-b.
if ! "$ROOT/scripts/rgw-multisite.sh" start "$MS" "$BK:issues/data/" >"$T/ms.log" 2>&1; then
    not_ok "RGW multisite starts" "$(tail -n 20 "$T/ms.log")"
    done_testing
    exit 1
fi
ok "RGW multisite starts (zone-a, zone-b)"
. "$MS/env"
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CA_BUNDLE AWS_ENDPOINT_URL
export HOME=$T/home
mkdir -p "$HOME"
A=(--endpoint-url "$RGW_ENDPOINT_A")
B=(--endpoint-url "$RGW_ENDPOINT_B")
AWSA=(/usr/bin/aws "${A[@]}")
AWSB=(/usr/bin/aws "${B[@]}")
"${AWSA[@]}" s3 mb "s3://$BK" >/dev/null
wait_b() { for _ in $(seq 150); do "${AWSB[@]}" s3 ls "s3://$BK" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
check "the bucket reaches zone-b (metadata sync)" wait_b

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 7 --rows 7000 --page-rows 500 --seed 9 >/dev/null
CH=(--table issues --schema "$G/issues.schema.json" --mode changes --key id --watermark updated_at
    --delete-column deleted --created-column created_at --target-file-size 8K)
head_b() { "$PQF" ls --recursive "s3://$BK/issues/_log/" "${B[@]}" 2>/dev/null | grep -c '\.json$'; }

# pqfeed watches zone-b; the exports to zone-a start after it.
"$PQF" replicate "s3://$BK" "s3://$BK" "${A[@]}" --replica-endpoint-url "$RGW_ENDPOINT_B" \
    --native --watch --interval 1 --state "$T/s.db" --metrics-addr 127.0.0.1:0 --json \
    >"$T/watch.json" 2>"$T/watch.err" &
wpid=$!
on_exit "kill $wpid 2>/dev/null"
(
    for h in 0 1 2 3 4 5; do
        "$PQF" export "s3://$BK" "${A[@]}" "${CH[@]}" --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >/dev/null ||
            echo "export $h failed" >&2
    done
) 2>"$T/export.err" &
xpid=$!
# The consumer at zone-b: the log there must hold at every moment (chain,
# every file of every published commit present with its size).
samples=0 bad=0 heads="" report_done=0
for _ in $(seq 600); do
    h=$(head_b)
    heads="$heads $h"
    samples=$((samples + 1))
    if [ "$h" -gt 0 ] && ! "$PQF" log "s3://$BK" "${B[@]}" >"$T/log.out" 2>&1; then
        bad=$((bad + 1)); head -3 "$T/log.out" | sed 's/^/# /'
    fi
    if [ $report_done = 0 ] && [ "$h" -gt 0 ] && [ "$h" -lt 6 ]; then
        "$PQF" replicate "s3://$BK" "s3://$BK" "${A[@]}" --replica-endpoint-url "$RGW_ENDPOINT_B" \
            --native --report --state "$T/report.db" --json >"$T/report.json" 2>&1
        report_done=1
    fi
    [ "$h" -ge 6 ] && ! kill -0 $xpid 2>/dev/null && break
    sleep 0.2
done
wait $xpid
check_eq "the exports to zone-a succeeded" "$(cat "$T/export.err")" ""
echo "# $samples samples; zone-b heads seen:$(echo $heads | tr ' ' '\n' | uniq | tr '\n' ' ')"
check_eq "a consumer reading zone-b always saw a valid log" "$bad" 0
check_eq "all 6 commits published at zone-b" "$(head_b)" 6
addr=$(grep -o 'http://[^ ]*/metrics' "$T/watch.err" | head -1)
for _ in $(seq 50); do # the gauges refresh every second
    curl -sS --max-time 5 "$addr" >"$T/m"
    grep -q '^pqf_replication_published_seq{.*} 6$' "$T/m" && break
    sleep 0.2
done
check_grep "metrics: published seq 6 at zone-b" '^pqf_replication_published_seq\{replica="s3://pqf-feed/?",table="issues"\} 6$' "$T/m"
check_grep "metrics: six publications in the latency histogram" '^pqf_replication_latency_seconds_count\{replica="s3://pqf-feed/?",table="issues"\} 6$' "$T/m"
kill -TERM $wpid
wait $wpid
check_eq "SIGTERM: the native watch exits 0" "$?" 0
check_eq "published in order 1..6" "$(grep -o '"event":"published","replica":"[^"]*","table":"issues","seq":[0-9]*' "$T/watch.json" | grep -o '[0-9]*$' | tr '\n' ' ')" "1 2 3 4 5 6 "
nfiles=$(grep -o '"key":"[^"]*"' <("${AWSA[@]}" s3 cp --recursive "s3://$BK/issues/_log/" "$T/alog" >/dev/null && cat "$T"/alog/*.json) | wc -l)
check_eq "every data file was verified at zone-b once ($nfiles)" "$(grep -o '"files_verified":[0-9]*' "$T/watch.json" | cut -d: -f2 | paste -sd+ | bc)" "$nfiles"
if [ -s "$T/report.json" ] && grep -q '"table":"issues","seq":6,"head":6' "$T/report.json"; then
    # zone-b reached 6 between the sample that started the report and its read of the logs
    check_grep "--report mid-flight: it found zone-b caught up (head 6) and says so" \
        '"event":"summary",.*"up_to_date":true' "$T/report.json"
elif [ -s "$T/report.json" ]; then
    check_grep "--report mid-flight: commits reported with their state" '"event":"commit",.*"state":"(complete|waiting)"' "$T/report.json"
else
    skip "--report mid-flight" "zone-b went from 0 to 6 between two samples"
fi
"${AWSB[@]}" s3 ls --recursive "s3://$BK/" | awk '{print $4}' | sort >"$T/b.keys"
"${AWSA[@]}" s3 ls --recursive "s3://$BK/" | awk '{print $4}' | sort >"$T/a.keys"
check "zone-b holds the same keys as zone-a" diff "$T/a.keys" "$T/b.keys"
check "pqfeed's commit objects at zone-b did not flow back (zone-a's log is the exporter's: 6)" \
    test "$(grep -c '^issues/_log/.*\.json$' "$T/a.keys")" -eq 6
# Both sides downloaded: the replica equals the primary, deeply.
"${AWSA[@]}" s3 sync "s3://$BK" "$T/zone-a" >/dev/null
"${AWSB[@]}" s3 sync "s3://$BK" "$T/zone-b" >/dev/null
check "verify --deep: zone-b's feed equals zone-a's" "$PQF" verify "$T/zone-a" "$T/zone-b" --deep
check "log --deep at zone-b" "$PQF" log "s3://$BK" "${B[@]}" --deep

# ---- a new commit later: published within seconds of its files' arrival ---------------------------
"$PQF" replicate "s3://$BK" "s3://$BK" "${A[@]}" --replica-endpoint-url "$RGW_ENDPOINT_B" \
    --native --watch --interval 1 --state "$T/s.db" --json >"$T/watch2.json" 2>&1 &
wpid=$!
on_exit "kill $wpid 2>/dev/null"
"$PQF" export "s3://$BK" "${A[@]}" "${CH[@]}" --as-of "2026-01-05T06:00:00Z" "$G/hour-0006" >/dev/null
t0=$(date +%s%N)
for _ in $(seq 300); do [ "$(head_b)" -ge 7 ] && break; sleep 0.1; done
lag_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "commit 7 published at zone-b" "$(head_b)" 7
echo "# commit 7 at zone-b ${lag_ms} ms after its export finished"
kill -TERM $wpid
wait $wpid
check_grep "its lag is reported" '"event":"published",.*"seq":7,.*"lag_ms":[0-9]+' "$T/watch2.json"
done_testing
