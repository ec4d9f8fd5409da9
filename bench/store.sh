#!/usr/bin/env bash
# Object store benchmark (`make bench` only, never in the test suite):
# pqfeed cp against /usr/bin/aws s3 cp and rclone copy on the same local Ceph
# RGW, one 1 GiB object and 2,000 objects of 64 KiB, upload and download.
# Prints a Markdown table (seconds, lower is better) for docs/BENCHMARKS.md.
# BENCH_BIG_MIB and BENCH_SMALL_N shrink the data set for a quick look.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
PQF=${PQF:-$ROOT/build/pqfeed}
T=$(mktemp -d "${TMPDIR:-/tmp}/pqf-bench-store.XXXXXX")
RGW=$T/rgw
cleanup() { "$ROOT/scripts/rgw.sh" stop "$RGW"; rm -rf "$T"; }
trap cleanup EXIT
[ -x "$PQF" ] || make -j2 build/pqfeed >/dev/null
RGW_MEMSTORE_BYTES=$((8 << 30)) "$ROOT/scripts/rgw.sh" start "$RGW" >"$T/rgw.log" 2>&1 || {
    echo "bench/store: RGW did not start"; tail "$T/rgw.log"; exit 1; }
. "$RGW/env"
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
AWS=(/usr/bin/aws --endpoint-url "$RGW_ENDPOINT")
export RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph RCLONE_CONFIG_RGW_ENDPOINT=$RGW_ENDPOINT
export RCLONE_CONFIG_RGW_ACCESS_KEY_ID=$RGW_ACCESS_KEY RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
RCLONE=(env -u AWS_CA_BUNDLE rclone --config /dev/null)
BIG_MIB=${BENCH_BIG_MIB:-1024}
SMALL_N=${BENCH_SMALL_N:-2000}

head -c $((BIG_MIB << 20)) /dev/urandom >"$T/big"
mkdir -p "$T/small"
for i in $(seq "$SMALL_N"); do head -c 65536 /dev/urandom >"$T/small/f$i"; done
"${AWS[@]}" s3 mb s3://bench >/dev/null

timeit() { # cmd... -> seconds on stdout
    local s e
    s=$(date +%s.%N)
    "$@" >/dev/null 2>"$T/err" || { echo "FAIL($(head -c 200 "$T/err" | tr '\n' ' '))"; return; }
    e=$(date +%s.%N)
    echo "$e - $s" | bc | awk '{printf "%.2f", $1}'
}

declare -A R
for tool in pqfeed aws rclone; do
    case $tool in
    pqfeed)
        up_big=("$PQF" cp --quiet --endpoint-url "$RGW_ENDPOINT" "$T/big" s3://bench/$tool/big)
        down_big=("$PQF" cp --quiet --endpoint-url "$RGW_ENDPOINT" s3://bench/$tool/big "$T/down-$tool-big")
        up_small=("$PQF" cp --quiet --recursive --endpoint-url "$RGW_ENDPOINT" "$T/small" s3://bench/$tool/small)
        down_small=("$PQF" cp --quiet --recursive --endpoint-url "$RGW_ENDPOINT" s3://bench/$tool/small "$T/down-$tool-small") ;;
    aws)
        up_big=("${AWS[@]}" s3 cp --quiet "$T/big" s3://bench/$tool/big)
        down_big=("${AWS[@]}" s3 cp --quiet s3://bench/$tool/big "$T/down-$tool-big")
        up_small=("${AWS[@]}" s3 cp --quiet --recursive "$T/small" s3://bench/$tool/small)
        down_small=("${AWS[@]}" s3 cp --quiet --recursive s3://bench/$tool/small "$T/down-$tool-small") ;;
    rclone)
        up_big=("${RCLONE[@]}" copy "$T/big" rgw:bench/$tool/)
        down_big=("${RCLONE[@]}" copy rgw:bench/$tool/big "$T/down-$tool-bigdir/")
        up_small=("${RCLONE[@]}" copy "$T/small" rgw:bench/$tool/small)
        down_small=("${RCLONE[@]}" copy rgw:bench/$tool/small "$T/down-$tool-small") ;;
    esac
    R[$tool,up_big]=$(timeit "${up_big[@]}")
    R[$tool,down_big]=$(timeit "${down_big[@]}")
    R[$tool,up_small]=$(timeit "${up_small[@]}")
    R[$tool,down_small]=$(timeit "${down_small[@]}")
    rm -rf "$T"/down-*
    "$PQF" rm --quiet --recursive --endpoint-url "$RGW_ENDPOINT" s3://bench/$tool/ >/dev/null 2>&1
done

echo "### Object store: cp on a local Ceph RGW ($(nproc) cores, seconds, lower is better)"
echo
echo "| case | pqfeed cp | aws s3 cp | rclone copy |"
echo "|---|---:|---:|---:|"
for c in up_big down_big up_small down_small; do
    case $c in
    up_big) d="upload 1 object of $BIG_MIB MiB" ;; down_big) d="download 1 object of $BIG_MIB MiB" ;;
    up_small) d="upload $SMALL_N x 64 KiB" ;; down_small) d="download $SMALL_N x 64 KiB" ;;
    esac
    echo "| $d | ${R[pqfeed,$c]} | ${R[aws,$c]} | ${R[rclone,$c]} |"
done
