#!/usr/bin/env bash
# pqfeed replicate --watch --metrics-addr: Prometheus metrics over HTTP while
# a watch runs on local stores. The values follow the replication (head seq,
# pending commits/objects/bytes, published seq, latency histogram), every
# line parses as text exposition format 0.0.4, anything but GET /metrics is
# 404, an oversized request head is refused, and SIGTERM still exits 0.
. "$(dirname "$0")/../lib.sh"

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 4 --rows 3000 --page-rows 500 --seed 3 >/dev/null
CH=(--table issues --schema "$G/issues.schema.json" --mode changes --key id --watermark updated_at
    --delete-column deleted --created-column created_at --target-file-size 8K)
export_hour() { "$PQF" export "$P" "${CH[@]}" --as-of "2026-01-05T0$1:00:00Z" "$G/hour-000$1" >/dev/null; }
P=$T/primary
for h in 0 1 2; do export_hour $h || echo "# export of hour $h failed"; done

check_exit "bad --metrics-addr: exit 2" 2 "$PQF" replicate "$P" "$T/x" --state "$T/x.db" --metrics-addr 127.0.0.1:notaport
check_grep "the error names the address" "metrics address '127.0.0.1:notaport'" "$T/last.out"

# A long interval: between passes the metrics see new commits as pending.
"$PQF" replicate "$P" "$T/r1" --state "$T/s.db" --watch --interval 8 --metrics-addr 127.0.0.1:0 \
    --quiet 2>"$T/watch.err" &
pid=$!
on_exit "kill $pid 2>/dev/null"
addr=""
for _ in $(seq 50); do
    addr=$(grep -o 'http://[^ ]*/metrics' "$T/watch.err" | head -1)
    [ -n "$addr" ] && break
    sleep 0.1
done
check "the metrics address is printed" test -n "$addr"
scrape() { curl -sS --max-time 5 "$addr"; }
val() { # NAME: value of NAME{replica=...,table="issues"} in $T/m
    grep -E "^$1\{replica=\"[^\"]*\",table=\"issues\"\} " "$T/m" | awk '{print $2}'
}
wait_for() { # NAME VALUE: poll until the metric has the value (20 s)
    for _ in $(seq 100); do
        scrape >"$T/m" 2>/dev/null && [ "$(val "$1")" == "$2" ] && return 0
        sleep 0.2
    done
    return 1
}
check "published seq reaches the primary's head (3)" wait_for pqf_replication_published_seq 3
check_eq "head seq 3" "$(val pqf_replication_head_seq)" 3
check_eq "nothing pending: commits" "$(val pqf_replication_commits_pending)" 0
check_eq "nothing pending: operations" "$(val pqf_replication_operations_pending)" 0
check_eq "nothing pending: bytes" "$(val pqf_replication_bytes_pending)" 0
check_eq "three publications counted" "$(val pqf_replication_commits_published_total)" 3
check_eq "latency histogram: three observations" "$(val pqf_replication_latency_seconds_count)" 3
check_grep "latency histogram: +Inf bucket" '^pqf_replication_latency_seconds_bucket\{replica="[^"]*",table="issues",le="\+Inf"\} 3$' "$T/m"
check_grep "content type of exposition format 0.0.4" '^Content-Type: text/plain; version=0.0.4' \
    <(curl -sS -D - -o /dev/null "$addr")

# ---- a new commit: pending first, then published --------------------------------------------------
export_hour 3
want_files=$(grep -oh '"key":"[^"]*"' "$P"/issues/_log/00000000000000000004.json | wc -l)
want_bytes=$(python3 -c 'import json,sys; print(sum(f["bytes"] for f in json.load(open(sys.argv[1]))["files"]))' "$P"/issues/_log/00000000000000000004.json)
check "the new head (4) is seen before the next pass" wait_for pqf_replication_head_seq 4
if [ "$(val pqf_replication_published_seq)" == 3 ]; then
    check_eq "one commit pending" "$(val pqf_replication_commits_pending)" 1
    check_eq "its files pending" "$(val pqf_replication_operations_pending)" "$want_files"
    check_eq "its bytes pending" "$(val pqf_replication_bytes_pending)" "$want_bytes"
    check "oldest pending commit has an age" awk -v v="$(val pqf_replication_oldest_pending_seconds)" 'BEGIN { exit !(v > 0) }'
else
    skip "pending values" "the watch pass came first (loaded machine)"
fi
check "then published (4)" wait_for pqf_replication_published_seq 4
check_eq "pending back to 0" "$(val pqf_replication_operations_pending)" 0
check_eq "four publications counted" "$(val pqf_replication_latency_seconds_count)" 4

# ---- format: every line parses as exposition format -----------------------------------------------
scrape >"$T/m"
check "every line is a comment (HELP/TYPE) or a sample" python3 - "$T/m" <<'EOF'
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r'^(%s)(\{(%s)(,%s)*\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$' % (name, label, label))
typed = {}
seen_types = set()
lines = open(sys.argv[1]).read().split('\n')
assert lines[-1] == '', 'the page ends with a newline'
for n, l in enumerate(lines[:-1], 1):
    m = re.match(r'^# (HELP|TYPE) (%s) (.*)$' % name, l)
    if m:
        if m.group(1) == 'TYPE':
            assert m.group(3) in ('counter', 'gauge', 'histogram', 'summary', 'untyped'), l
            assert m.group(2) not in seen_types, 'TYPE twice: ' + l
            seen_types.add(m.group(2)); typed[m.group(2)] = m.group(3)
        continue
    m = sample.match(l)
    assert m, 'line %d does not parse: %r' % (n, l)
    base = re.sub(r'_(bucket|sum|count)$', '', m.group(1))
    assert m.group(1) in typed or typed.get(base) == 'histogram', 'no TYPE before ' + l
    assert m.group(1).startswith('pqf_replication_'), l
    float(m.group(5).replace('+Inf', 'inf'))
for k in ('bytes_pending', 'operations_pending', 'latency_seconds', 'operations_failed_total',
          'published_seq', 'head_seq'):
    assert 'pqf_replication_' + k in typed, k
EOF

# ---- other requests ----------------------------------------------------------------------------------
check_eq "GET / is 404" "$(curl -s -o /dev/null -w '%{http_code}' "${addr%/metrics}/")" 404
check_eq "POST /metrics is 404" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$addr")" 404
check_eq "an oversized request head is refused (431)" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "$addr")" 431
hostport=${addr#http://}; hostport=${hostport%/metrics}
check_eq "garbage is a 400" "$(printf 'hello\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/${hostport%:*}/${hostport##*:}; cat >&3; head -1 <&3" | tr -d '\r')" "HTTP/1.1 400 Bad Request"
check "still serving after those" wait_for pqf_replication_published_seq 4
check_exit "a port in use: exit 10, nothing replicated" 10 "$PQF" replicate "$P" "$T/r9" --state "$T/r9.db" --metrics-addr "$hostport"
check_grep "the error names the address" "metrics address '$hostport'" "$T/last.out"
check "nothing was replicated" test ! -e "$T/r9/issues"

kill -TERM $pid
wait $pid
check_eq "SIGTERM: the watch exits 0" "$?" 0

# ---- a failure is counted by cause ----------------------------------------------------------------
C=$T/corrupt
cp -r "$P" "$C"
f=$(grep -o '"key":"[^"]*"' "$C"/issues/_log/00000000000000000002.json | head -1 | cut -d'"' -f4)
printf 'X' | dd of="$C/$f" bs=1 seek=100 conv=notrunc 2>/dev/null
"$PQF" replicate "$C" "$T/rc" --state "$T/c.db" --watch --interval 1 --metrics-addr :0 --quiet 2>"$T/c.err" &
pid=$!
on_exit "kill $pid 2>/dev/null"
for _ in $(seq 50); do addr=$(grep -o 'http://[^ ]*/metrics' "$T/c.err" | head -1); [ -n "$addr" ] && break; sleep 0.1; done
check_grep "':0' binds 127.0.0.1" '^pqfeed: metrics on http://127\.0\.0\.1:[0-9]+/metrics' "$T/c.err"
failed_ok=0
for _ in $(seq 100); do
    scrape >"$T/m" 2>/dev/null
    grep -Eq '^pqf_replication_operations_failed_total\{replica="[^"]*",table="issues",cause="checksum"\} [1-9]' "$T/m" && { failed_ok=1; break; }
    sleep 0.2
done
check_eq "the corrupted object is counted in operations_failed_total{cause=checksum}" "$failed_ok" 1
check "the replica stops before it (published seq 1)" wait_for pqf_replication_published_seq 1
check_eq "and the rest stays pending" "$(val pqf_replication_commits_pending)" 3
kill -TERM $pid
wait $pid
done_testing
