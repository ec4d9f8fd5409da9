#!/usr/bin/env bash
# Side by side on one fresh Ceph RGW (never in the test suite): two pqfeed
# builds (OLD=path, e.g. an earlier build's pqfeed; NEW defaults to
# build/pqfeed) and rclone, replicating BENCH_SMALL_N x 64 KiB (default 3,000)
# server-side and streamed in two rounds of opposite order, then 4 x 256 MiB
# streamed with the settings of docs/BENCHMARKS.md "run D". Each run timed by
# /usr/bin/time (wall, user+sys CPU, peak RSS); prints Markdown rows
# "| run | exit | wall s | CPU s | peak RSS MiB |". Needs about 10 GiB of RAM.
#
#   OLD=/path/to/old/pqfeed bash bench/replicate_compare.sh
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
NEW=${NEW:-$ROOT/build/pqfeed}
OLD=${OLD:?OLD=path of the pqfeed to compare with}
SMALL_N=${BENCH_SMALL_N:-3000}
T=$(mktemp -d "${TMPDIR:-/tmp}/pqf-bench-cmp.XXXXXX")
cleanup() { "$ROOT/scripts/rgw.sh" stop "$T/rgw" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT
# shellcheck disable=SC2046
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude -Isrc $(make -s print-cflags) -o "$T/feedgen" \
    bench/replicate_feedgen.c build/libpqfeed.a $(make -s print-libs) || exit 1
RGW_MEMSTORE_BYTES=$((10 << 30)) "$ROOT/scripts/rgw.sh" start "$T/rgw" >"$T/rgw.log" 2>&1 || {
    echo "RGW did not start"; tail "$T/rgw.log"; exit 1; }
. "$T/rgw/env"
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=$RGW_ENDPOINT AWS_EC2_METADATA_DISABLED=true HOME=$T/home
unset AWS_CA_BUNDLE AWS_PROFILE
mkdir -p "$HOME"
export RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph RCLONE_CONFIG_RGW_ENDPOINT=$RGW_ENDPOINT
export RCLONE_CONFIG_RGW_ACCESS_KEY_ID=$RGW_ACCESS_KEY RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
RCLONE=(env -u AWS_CA_BUNDLE rclone --config /dev/null)
/usr/bin/aws s3 mb s3://bsrc >/dev/null && /usr/bin/aws s3 mb s3://bdst >/dev/null || exit 1
"$T/feedgen" s3://bsrc/small small "$SMALL_N" 65536 200 1 >/dev/null || exit 1
"$T/feedgen" s3://bsrc/big big 4 $((256 << 20)) 5 2 >/dev/null || exit 1
n=0
r() { # LABEL CMD...
    local label=$1; shift
    n=$((n + 1))
    /usr/bin/time -f "%e %U %S %M" -o "$T/time" timeout --signal=KILL 300 "$@" >/dev/null 2>"$T/err"
    local rc=$? w u s m
    read -r w u s m < <(tail -n 1 "$T/time")
    printf '| %s | %s | %s | %.1f | %d |\n' "$label" "$rc" "$w" "$(echo "$u + $s" | bc)" $((m / 1024))
}
for round in 1 2; do
    echo "round $round"
    order="old new rclone"; [ "$round" = 2 ] && order="rclone new old"
    for t in $order; do case $t in
        old) r "small server-side, old, c32" "$OLD" replicate s3://bsrc/small "s3://bdst/o$round-ss" --state "$T/s$n.db" --concurrency 32 --quiet ;;
        new) r "small server-side, new, c32" "$NEW" replicate s3://bsrc/small "s3://bdst/n$round-ss" --state "$T/s$n.db" --concurrency 32 --quiet ;;
        rclone) r "small server-side, rclone t32" "${RCLONE[@]}" copy rgw:bsrc/small "rgw:bdst/r$round-ss" --transfers 32 --checkers 64 --fast-list ;;
    esac; done
    for t in $order; do case $t in
        old) r "small streamed, old, c32" "$OLD" replicate s3://bsrc/small "s3://bdst/o$round-st" --state "$T/s$n.db" --concurrency 32 --no-server-copy --quiet ;;
        new) r "small streamed, new, c16" "$NEW" replicate s3://bsrc/small "s3://bdst/n$round-st16" --state "$T/s$n.db" --concurrency 16 --no-server-copy --quiet
             r "small streamed, new, c32" "$NEW" replicate s3://bsrc/small "s3://bdst/n$round-st" --state "$T/s$n.db" --concurrency 32 --no-server-copy --quiet ;;
        rclone) r "small streamed, rclone t32" "${RCLONE[@]}" copy rgw:bsrc/small "rgw:bdst/r$round-st" --transfers 32 --checkers 64 --fast-list --disable Copy ;;
    esac; done
done
echo "big, streamed, --concurrency 16"
B=(--concurrency 16 --no-server-copy --quiet)
r "big streamed, old (defaults)" "$OLD" replicate s3://bsrc/big s3://bdst/ba --state "$T/b1.db" "${B[@]}"
r "big streamed, new (defaults)" "$NEW" replicate s3://bsrc/big s3://bdst/bb --state "$T/b2.db" "${B[@]}"
r "big streamed, new, --part-size 5M" "$NEW" replicate s3://bsrc/big s3://bdst/bc --state "$T/b3.db" "${B[@]}" --part-size 5M
r "big streamed, new, --part-size 5M --max-inflight-bytes 100M" "$NEW" replicate s3://bsrc/big s3://bdst/bd --state "$T/b4.db" "${B[@]}" --part-size 5M --max-inflight-bytes 100M
uptime
