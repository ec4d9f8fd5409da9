#!/usr/bin/env bash
# Several tables in one S3 feed (a real Ceph RGW on 127.0.0.1, started here
# and stopped on exit): each export registers its table in _feed.json with a
# conditional put (If-Match on the ETag), so a second and a third table are
# added, not refused (RGW 16 compares a PUT's If-Match unquoted), and two
# producers racing an update of _feed.json both end up listed: the loser's
# If-Match fails (412), it re-reads and retries. The race is made certain by
# the fault proxy holding one producer's PUT until the other has finished.
. "$(dirname "$0")/../lib.sh"

start_rgw
/usr/bin/aws --endpoint-url "$RGW_ENDPOINT" s3 mb s3://pqf-tables >/dev/null 2>&1
S3=s3://pqf-tables/prod/feed

mk_table() { # NAME: a small CSV of its own
    printf 'id,name,amount\n1,%s-a,10\n2,%s-b,20\n3,%s-c,30\n' "$1" "$1" "$1" >"$T/$1.csv"
}
export_table() { # NAME [extra options...]
    local name=$1; shift
    "$PQF" export "$S3" --table "$name" --key id --infer-rows 10 "$@" "$T/$name.csv"
}
feed_tables() { # the table list of _feed.json, one line
    "$PQF" cat "$S3/_feed.json" | sed -E 's/.*"tables":\[([^]]*)\].*/\1/'
}
for t in alpha beta gamma delta epsilon p1 p2 p3 p4; do mk_table $t; done

# ---- two, then three tables, one after another -------------------------------------------------
check "the first table exports" export_table alpha
check_eq "_feed.json lists it" "$(feed_tables)" '"alpha"'
check "a second table exports into the same feed" export_table beta
check_eq "_feed.json lists both" "$(feed_tables)" '"alpha","beta"'
check "a third table exports into the same feed" export_table gamma
check_eq "_feed.json lists all three" "$(feed_tables)" '"alpha","beta","gamma"'
etag1=$("$PQF" stat "$S3/_feed.json" | awk '/^etag:/{print $2}')
check "rerunning the second table's export succeeds" export_table beta
check_eq "and leaves _feed.json as it was" "$("$PQF" stat "$S3/_feed.json" | awk '/^etag:/{print $2}')" "$etag1"
check "log verifies the three-table feed" "$PQF" log "$S3" --deep
for t in alpha beta gamma; do
    check_grep "log shows $t (head 1)" "$t \(head 1\)" "$T/last.out"
done

# ---- two producers race an update of _feed.json -------------------------------------------------
if command -v node >/dev/null; then
    node "$ROOT/tests/integration/faultproxy.js" --target "$RGW_ENDPOINT" --faults '' --every 0 \
        --hold "PUT /pqf-tables/prod/feed/_feed.json" >"$T/proxy.out" 2>&1 &
    proxy_pid=$!
    on_exit "kill $proxy_pid 2>/dev/null"
    for _ in $(seq 50); do grep -q listening "$T/proxy.out" && break; sleep 0.1; done
    PROXY=http://127.0.0.1:$(awk '/listening/{print $2}' "$T/proxy.out")
    # producer 1 reads _feed.json (ETag E), its PUT (If-Match E) is held
    (export_table delta --endpoint-url "$PROXY" >"$T/p1.out" 2>&1
     echo $? >"$T/p1.rc") &
    p1=$!
    for _ in $(seq 100); do curl -s "$PROXY/__faultproxy/stats" | grep -q '"held":1' && break; sleep 0.1; done
    check_grep "producer 1's update of _feed.json is held" '"held":1' <(curl -s "$PROXY/__faultproxy/stats")
    # producer 2 registers its table meanwhile: _feed.json's ETag is no longer E
    check "producer 2 exports while producer 1 waits" export_table epsilon
    check_grep "_feed.json has producer 2's table" '"epsilon"' <("$PQF" cat "$S3/_feed.json")
    curl -s "$PROXY/__faultproxy/release" >/dev/null
    wait "$p1"
    check_eq "producer 1 completes after its held update (exit 0)" "$(cat "$T/p1.rc")" 0
    curl -s "$PROXY/__faultproxy/stats" >"$T/proxy.json"
    check_grep "the held update lost: If-Match failed (412)" '"held_status":412' "$T/proxy.json"
    check_eq "producer 1 re-read and retried: both racers' tables listed, nothing lost" "$(feed_tables)" '"alpha","beta","delta","epsilon","gamma"'
else
    skip "the held race" "node not installed"
fi

# ---- four producers at once (no proxy): whoever loses retries ---------------------------------
pids=()
for t in p1 p2 p3 p4; do
    (export_table $t >"$T/$t.out" 2>&1; echo $? >"$T/$t.rc") &
    pids+=($!)
done
wait "${pids[@]}"
check_eq "four concurrent producers all succeed" "$(cat "$T"/p[1-4].rc | tr '\n' ' ')" "0 0 0 0 "
check_eq "every table is listed once" "$(feed_tables)" \
    '"alpha","beta","delta","epsilon","gamma","p1","p2","p3","p4"'
check "log verifies all nine tables" "$PQF" log "$S3" --deep
check_eq "nine tables in the log" "$(grep -Ec '\(head 1\)' "$T/last.out")" 9

# ---- four producers at once into a fresh feed: they race to create _feed.json -----------------
# (RGW 16 answers a conditional PUT that lost such a race HTTP 500: the loser
# HEADs, sees another writer's object and re-reads instead of failing.)
S3=s3://pqf-tables/fresh/feed
pids=()
for t in p1 p2 p3 p4; do
    (export_table $t >"$T/$t.out" 2>&1; echo $? >"$T/$t.rc") &
    pids+=($!)
done
wait "${pids[@]}"
check_eq "four producers creating one feed all succeed" "$(cat "$T"/p[1-4].rc | tr '\n' ' ')" "0 0 0 0 "
check_eq "and all four tables are listed" "$(feed_tables)" '"p1","p2","p3","p4"'
done_testing
