#!/usr/bin/env bash
# Before/after of two pqfeed builds on one Ceph RGW (never in the test suite):
# OLD (required) and NEW (default build/pqfeed) replicate the same feed of
# BENCH_SMALL_N x 64 KiB (default 3,000; 200 files per commit) bucket to
# bucket, alternating old/new (new first in even rounds) BENCH_ROUNDS times (default 3), streamed
# (--no-server-copy --concurrency 16, as bench/replicate.sh) and server-side
# (--concurrency 32); BENCH_BIG_N x 256 MiB objects (default 4) server-side
# too. Each run is timed by /usr/bin/time (wall, user+sys CPU, peak RSS),
# checked with pqfeed verify, and its replica deleted. Prints Markdown rows.
# RGW_DIR=dir of a running scripts/rgw.sh instance reuses it (its buckets
# bsrc/bdst are created when missing); otherwise one is started and stopped.
#
#   OLD=/work/main/build/pqfeed bash bench/replicate_ab.sh
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
NEW=${NEW:-$ROOT/build/pqfeed}
OLD=${OLD:?OLD=path of the pqfeed to compare with}
SMALL_N=${BENCH_SMALL_N:-3000}
BIG_N=${BENCH_BIG_N:-4}
ROUNDS=${BENCH_ROUNDS:-3}
MODES=${BENCH_MODES:-streamed server big}
T=$(mktemp -d "${TMPDIR:-/tmp}/pqf-bench-ab.XXXXXX")
RGW=${RGW_DIR:-}
cleanup() { [ -n "${RGW_DIR:-}" ] || "$ROOT/scripts/rgw.sh" stop "$T/rgw" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT
if [ -z "$RGW" ]; then
    RGW=$T/rgw
    RGW_MEMSTORE_BYTES=$(( (SMALL_N * 65536 + BIG_N * (256 << 20)) * 3 + (1 << 30) )) \
        "$ROOT/scripts/rgw.sh" start "$RGW" >"$T/rgw.log" 2>&1 || { echo "RGW did not start"; tail "$T/rgw.log"; exit 1; }
fi
. "$RGW/env"
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=$RGW_ENDPOINT AWS_EC2_METADATA_DISABLED=true HOME=$T/home
unset AWS_CA_BUNDLE AWS_PROFILE
mkdir -p "$HOME"
AWS=(/usr/bin/aws --endpoint-url "$RGW_ENDPOINT")
for b in bsrc bdst; do "${AWS[@]}" s3api head-bucket --bucket $b >/dev/null 2>&1 || "${AWS[@]}" s3 mb s3://$b >/dev/null; done
if ! "$NEW" stat s3://bsrc/small/small/_log/00000000000000000001.json >/dev/null 2>&1 ||
   ! "$NEW" stat s3://bsrc/big/big/_log/00000000000000000001.json >/dev/null 2>&1; then
    # shellcheck disable=SC2046
    cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude -Isrc $(make -s print-cflags) -o "$T/feedgen" \
        bench/replicate_feedgen.c build/libpqfeed.a $(make -s print-libs) || exit 1
    "$T/feedgen" s3://bsrc/small small "$SMALL_N" 65536 200 1 >/dev/null || exit 1
    "$T/feedgen" s3://bsrc/big big "$BIG_N" $((256 << 20)) 5 2 >/dev/null || exit 1
fi
n=0
r() { # LABEL SET CMD...
    local label=$1 set=$2; shift 2
    n=$((n + 1))
    local dst=s3://bdst/ab$n
    /usr/bin/time -f "%e %U %S %M" -o "$T/time" timeout --signal=KILL 300 "$@" "s3://bsrc/$set" "$dst" \
        --state "$T/s$n.db" --quiet >/dev/null 2>"$T/err"
    local rc=$? w u s m ok=ok
    read -r w u s m < <(tail -n 1 "$T/time")
    "$NEW" verify "s3://bsrc/$set" "$dst" >/dev/null 2>&1 || ok="VERIFY FAILED"
    printf '| %s | %s | %s | %.2f | %.2f | %.2f | %d | %s |\n' "$label" "$rc" "$w" "$u" "$s" \
        "$(echo "$u + $s" | bc)" $((m / 1024)) "$ok"
    "$NEW" rm --recursive --quiet "$dst/" >/dev/null 2>&1
    "$NEW" rm --recursive --uploads --quiet "$dst/" >/dev/null 2>&1
    rm -f "$T/s$n.db"*
}
echo "| run | exit | wall s | user s | sys s | CPU s | peak RSS MiB | verify |"
echo "|---|---|---|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
    for mode in $MODES; do
        order="old new"; [ $((round % 2)) -eq 0 ] && order="new old"
        for b in $order; do
            [ "$b" = old ] && bin=$OLD || bin=$NEW
            case $mode in
            streamed) r "small streamed, $b" small "$bin" replicate --concurrency 16 --no-server-copy ;;
            server) r "small server-side, $b" small "$bin" replicate --concurrency 32 ;;
            big) r "big server-side, $b" big "$bin" replicate --concurrency 32 ;;
            esac
        done
    done
done
uptime
