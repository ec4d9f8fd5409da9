#!/usr/bin/env bash
# Replication benchmark (`make bench` only, never in the test suite): on one
# local Ceph RGW, a feed of BENCH_SMALL_N objects of 64 KiB (default 20,000)
# and one of BENCH_BIG_N objects of BENCH_BIG_MIB MiB (default 20 x 256),
# each replicated bucket to bucket by pqfeed replicate, by rclone copy
# (--transfers/--checkers raised as its docs advise for many objects,
# AWS_CA_BUNDLE unset) and by /usr/bin/aws s3 sync (defaults). All three do
# server-side copies on one endpoint; then pqfeed and rclone once more with
# the bytes streamed through them (--no-server-copy, --disable Copy). Two
# rounds (BENCH_ROUNDS), the second in reverse tool order. Each run is timed with /usr/bin/time -v
# (wall, user+sys CPU, peak RSS) and its destination checked (object count and
# bytes; pqfeed verify for pqfeed), then deleted. Then the lag of a new hourly
# commit under replicate --watch (commit created -> published at the replica).
# Prints Markdown for docs/BENCHMARKS.md.
#
#   BENCH_SMALL_N=2000 BENCH_BIG_N=4 BENCH_BIG_MIB=64 bench/replicate.sh   (reduced)
#   bench/replicate.sh                                                      (full: ~13 GiB RAM for RGW)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
PQF=${PQF:-$ROOT/build/pqfeed}
SMALL_N=${BENCH_SMALL_N:-20000}
BIG_N=${BENCH_BIG_N:-20}
BIG_MIB=${BENCH_BIG_MIB:-256}
PQF_CONC=${BENCH_PQF_CONCURRENCY:-32}          # server-side copies: latency-bound, 32 in flight
PQF_STREAM_CONC=${BENCH_PQF_STREAM_CONCURRENCY:-16} # streamed: 16 is as fast here, half the memory
ROUNDS=${BENCH_ROUNDS:-2}
TIMEOUT=${BENCH_TIMEOUT:-600}                       # per run, then killed (reported)                           # round 2 runs the tools in reverse order
RCLONE_TRANSFERS=${BENCH_RCLONE_TRANSFERS:-32}
T=$(mktemp -d "${TMPDIR:-/tmp}/pqf-bench-repl.XXXXXX")
RGW=$T/rgw
cleanup() { "$ROOT/scripts/rgw.sh" stop "$RGW"; rm -rf "$T"; }
trap cleanup EXIT
[ -x "$PQF" ] || make -j2 build/pqfeed >/dev/null
# The libraries the Makefile links (PKGS there).
# shellcheck disable=SC2046
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude -Isrc $(make -s print-cflags) -o "$T/feedgen" \
    bench/replicate_feedgen.c build/libpqfeed.a $(make -s print-libs) ||
    { echo "bench/replicate: feedgen does not build"; exit 1; }
small_bytes=$((SMALL_N * 65536))
big_bytes=$((BIG_N * BIG_MIB << 20))
# The sources, one destination at a time, and slack.
mem=$(( (small_bytes + big_bytes) * 2 + (1 << 30) ))
RGW_MEMSTORE_BYTES=$mem "$ROOT/scripts/rgw.sh" start "$RGW" >"$T/rgw.log" 2>&1 || {
    echo "bench/replicate: RGW did not start"; tail "$T/rgw.log"; exit 1; }
. "$RGW/env"
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL=$RGW_ENDPOINT
unset AWS_CA_BUNDLE AWS_PROFILE
export HOME=$T/home
mkdir -p "$HOME"
AWS=(/usr/bin/aws --endpoint-url "$RGW_ENDPOINT")
export RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph RCLONE_CONFIG_RGW_ENDPOINT=$RGW_ENDPOINT
export RCLONE_CONFIG_RGW_ACCESS_KEY_ID=$RGW_ACCESS_KEY RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
RCLONE=(env -u AWS_CA_BUNDLE rclone --config /dev/null)
"${AWS[@]}" s3 mb s3://bench-src >/dev/null
"${AWS[@]}" s3 mb s3://bench-dst >/dev/null

gen_start=$(date +%s)
"$T/feedgen" s3://bench-src/small small "$SMALL_N" 65536 200 1 >/dev/null || exit 1
"$T/feedgen" s3://bench-src/big big "$BIG_N" $((BIG_MIB << 20)) 5 2 >/dev/null || exit 1
echo "<!-- feeds generated in $(( $(date +%s) - gen_start )) s -->"

# objects and bytes under an S3 prefix
count() { "$PQF" ls --recursive "$1" 2>/dev/null | awk '{n++; b += $3} END {printf "%d %d", n, b}'; }

# run NAME SET CMD...: time CMD, check its destination, print a table row
run() {
    local name=$1 set=$2; shift 2
    local dst=s3://bench-dst/$name-$set
    /usr/bin/time -v timeout --signal=KILL "$TIMEOUT" "$@" >"$T/out" 2>"$T/time" || {
        echo "| $set | $name | FAILED or over ${TIMEOUT}s: $(grep -v '^\s' "$T/time" | tail -n 3 | tr '\n' ' ') | | | | |"
        cleanup_dst "$dst"; return; }
    local wall user sys rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$T/time")
    user=$(awk -F': ' '/User time/ {print $2}' "$T/time")
    sys=$(awk -F': ' '/System time/ {print $2}' "$T/time")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$T/time")
    local want got
    want=$(count "s3://bench-src/$set/")
    got=$(count "$dst/")
    local note=""
    [ "$want" == "$got" ] || note=" (destination has $got, source $want objects/bytes)"
    if [ "$name" = pqfeed ] && ! "$PQF" verify "s3://bench-src/$set" "$dst" >/dev/null 2>&1; then note="$note (verify failed)"; fi
    local nobj=${want% *} nb=${want#* }
    awk -v set="$set" -v name="$name" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v n="$nobj" -v b="$nb" -v note="$note" \
        'BEGIN { printf "| %s | %s | %.1f | %.0f | %.1f | %.1f | %s |%s\n", set, name, w, n / w, b / w / 1e6, u + s, r, note }'
    cleanup_dst "$dst"
}
cleanup_dst() { # objects and unfinished multipart uploads (a killed run's parts hold memstore RAM)
    # bounded: after rclone was killed in a streamed upload, RGW 16 did not answer the abort of
    # its upload (nor, then, other requests) for minutes
    timeout 60 "$PQF" rm --recursive --quiet "$1/" >/dev/null 2>&1 ||
        timeout 60 "${AWS[@]}" s3 rm --recursive --quiet "$1/" >/dev/null 2>&1
    timeout 60 "$PQF" rm --recursive --uploads --quiet "$1/" >/dev/null 2>&1
    # RGW frees deleted objects' data only at garbage collection (2 h later by default): without
    # this the memstore filled up at full size and the OSD refused writes (HEALTH_ERR, full osd)
    timeout 120 radosgw-admin -c "$RGW/ceph.conf" -n client.admin gc process --include-all >/dev/null 2>&1
}

tools_for_round() { [ $(($1 % 2)) -eq 1 ] && echo "pqfeed rclone aws" || echo "aws rclone pqfeed"; }
server_copy() { # TOOL SET
    case $1 in
    pqfeed) run pqfeed $2 "$PQF" replicate "s3://bench-src/$2" "s3://bench-dst/pqfeed-$2" \
        --state "$T/state-$2.db" --concurrency "$PQF_CONC" --quiet ;;
    rclone) run rclone $2 "${RCLONE[@]}" copy "rgw:bench-src/$2" "rgw:bench-dst/rclone-$2" \
        --transfers "$RCLONE_TRANSFERS" --checkers $((RCLONE_TRANSFERS * 2)) --fast-list ;;
    aws) run aws $2 "${AWS[@]}" s3 sync --quiet "s3://bench-src/$2" "s3://bench-dst/aws-$2" ;;
    esac
    rm -f "$T/state-$2.db"*
}
streamed() { # TOOL SET
    case $1 in
    pqfeed) run pqfeed $2 "$PQF" replicate "s3://bench-src/$2" "s3://bench-dst/pqfeed-$2" \
        --state "$T/state-st-$2.db" --concurrency "$PQF_STREAM_CONC" --no-server-copy --quiet ;;
    rclone) run rclone $2 "${RCLONE[@]}" copy "rgw:bench-src/$2" "rgw:bench-dst/rclone-$2" \
        --transfers "$RCLONE_TRANSFERS" --checkers $((RCLONE_TRANSFERS * 2)) --fast-list --disable Copy ;;
    aws) return ;; # no streamed mode between two buckets of one endpoint
    esac
    rm -f "$T/state-st-$2.db"*
}
# ---- lag of a new hourly commit under --watch (measured first: RGW can stall on what a
# killed peer left behind, see cleanup_dst) ----------------------------------------------------------
measure_lag() {
    G=$T/pages
    "$PQF" gen --out "$G" --table issues --hours 4 --rows 8000 --page-rows 1000 --seed 3 >/dev/null
    CH=(--table issues --schema "$G/issues.schema.json" --mode changes --key id --watermark updated_at
        --delete-column deleted --created-column created_at)
    "$PQF" export s3://bench-src/lag "${CH[@]}" --as-of 2026-01-05T00:00:00Z "$G/hour-0000" >/dev/null
    "$PQF" replicate s3://bench-src/lag s3://bench-dst/lag --state "$T/lag.db" --watch --interval 1 --json \
        >"$T/lag.json" 2>&1 &
    wpid=$!
    sleep 3
    for h in 1 2 3; do
        "$PQF" export s3://bench-src/lag "${CH[@]}" --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >/dev/null
        sleep 4
    done
    kill -TERM $wpid; wait $wpid
    lags=$(grep -o '"event":"published",[^}]*' "$T/lag.json" | grep -v '"seq":1,' | grep -o '"lag_ms":[0-9]*' | cut -d: -f2 | tr '\n' ' ')
    echo
    echo "### Lag of a new hourly commit, replicate --watch --interval 1, bucket to bucket on loopback"
    echo
    echo "commit created_at -> published at the replica, three hourly commits: ${lags}ms"
}
measure_lag >"$T/lag.md"

for round in $(seq "$ROUNDS"); do
    echo "### Round $round ($(tools_for_round "$round" | sed 's/ /, then /g')): $SMALL_N x 64 KiB and $BIG_N x $BIG_MIB MiB, bucket to bucket on one RGW"
    echo
    echo "Server-side copies (one endpoint):"
    echo
    echo "| set | tool | wall s | objects/s | MB/s | CPU s (user+sys) | peak RSS MiB |"
    echo "|---|---|---|---|---|---|---|"
    for set in small big; do
        for tool in $(tools_for_round "$round"); do server_copy $tool $set; done
    done
    echo
    echo "Streamed through the tool (no server-side copy: what another account, region or provider needs;"
    echo "aws s3 sync has no such mode between two buckets of one endpoint):"
    echo
    echo "| set | tool | wall s | objects/s | MB/s | CPU s (user+sys) | peak RSS MiB |"
    echo "|---|---|---|---|---|---|---|"
    for set in small big; do
        for tool in $(tools_for_round "$round"); do streamed $tool $set; done
    done
    echo
done
echo "(objects/s and MB/s count every object of the feed: data files, commit objects, schema, _feed.json)"
cat "$T/lag.md"
