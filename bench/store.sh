#!/usr/bin/env bash
# Object store benchmark (`make bench` only, never in the test suite):
# pqfeed cp against /usr/bin/aws s3 cp and rclone copy on the same local Ceph
# RGW, one 1 GiB object and 2,000 objects of 64 KiB, upload and download.
# Prints a Markdown table for docs/BENCHMARKS.md: wall seconds, then the
# client's user+sys CPU seconds and peak RSS (MiB) from /usr/bin/time (the
# server's work is not in them). BENCH_BIG_MIB and BENCH_SMALL_N shrink the
# data set for a quick look. BENCH_TLS=1 runs every tool over RGW's HTTPS
# endpoint instead (throwaway CA passed as --ca-bundle / AWS_CA_BUNDLE /
# --ca-cert); over TLS pqfeed sends UNSIGNED-PAYLOAD with Content-MD5.
# BENCH_AB=1 adds a column: pqfeed with PQF_MD5_KERNEL=scalar (OpenSSL MD5,
# one part after another, instead of SIMD lanes).
# RGW runs with Ceph's debug logging off (scripts/rgw.sh RGW_DEBUG_OFF=1: the
# same server for all three tools; at Ceph's default levels RGW and its OSD
# spend about 10% more CPU per small PUT formatting log lines);
# BENCH_RGW_DEBUG_OFF=0 keeps Ceph's defaults.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
PQF=${PQF:-$ROOT/build/pqfeed}
T=$(mktemp -d "${TMPDIR:-/tmp}/pqf-bench-store.XXXXXX")
RGW=$T/rgw
cleanup() { "$ROOT/scripts/rgw.sh" stop "$RGW"; rm -rf "$T"; }
trap cleanup EXIT
[ -x "$PQF" ] || make -j2 build/pqfeed >/dev/null
TLS=${BENCH_TLS:-0}
RGW_DEBUG_OFF=${BENCH_RGW_DEBUG_OFF:-1} RGW_TLS=$TLS RGW_MEMSTORE_BYTES=$((8 << 30)) "$ROOT/scripts/rgw.sh" start "$RGW" >"$T/rgw.log" 2>&1 || {
    echo "bench/store: RGW did not start"; tail "$T/rgw.log"; exit 1; }
. "$RGW/env"
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
EP=$RGW_ENDPOINT PQF_TLS=() RCLONE_TLS=()
if [ "$TLS" = 1 ]; then
    EP=$RGW_HTTPS_ENDPOINT PQF_TLS=(--ca-bundle "$RGW_CA") RCLONE_TLS=(--ca-cert "$RGW_CA")
    export AWS_CA_BUNDLE=$RGW_CA # awscli only: rclone runs with it unset, as issue 4 asks
fi
AWS=(/usr/bin/aws --endpoint-url "$EP")
export RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph RCLONE_CONFIG_RGW_ENDPOINT=$EP
export RCLONE_CONFIG_RGW_ACCESS_KEY_ID=$RGW_ACCESS_KEY RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
RCLONE=(env -u AWS_CA_BUNDLE rclone --config /dev/null "${RCLONE_TLS[@]}")
BIG_MIB=${BENCH_BIG_MIB:-1024}
SMALL_N=${BENCH_SMALL_N:-2000}

head -c $((BIG_MIB << 20)) /dev/urandom >"$T/big"
mkdir -p "$T/small"
for i in $(seq "$SMALL_N"); do head -c 65536 /dev/urandom >"$T/small/f$i"; done
"${AWS[@]}" s3 mb s3://bench >/dev/null

timeit() { # cmd... -> "wall (cpu, rss MiB)" on stdout
    sync # no tool pays for the writeback of data written before it (the generated data, a peer's download)
    /usr/bin/time -f "%e %U %S %M" -o "$T/time" "$@" >/dev/null 2>"$T/err" ||
        { echo "FAIL($(head -c 200 "$T/err" | tr '\n' ' '))"; return; }
    awk '{printf "%.2f (%.2f, %d)", $1, $2 + $3, $4 / 1024}' "$T/time"
}

declare -A R
TOOLS="pqfeed aws rclone"
[ "${BENCH_AB:-0}" = 1 ] && TOOLS="pqfeed pqfeed_scalar aws rclone"
for tool in $TOOLS; do
    case $tool in
    pqfeed | pqfeed_scalar)
        P=("$PQF" cp --quiet --endpoint-url "$EP" "${PQF_TLS[@]}")
        [ $tool = pqfeed_scalar ] && P=(env PQF_MD5_KERNEL=scalar "${P[@]}")
        up_big=("${P[@]}" "$T/big" s3://bench/$tool/big)
        down_big=("${P[@]}" s3://bench/$tool/big "$T/down-$tool-big")
        up_small=("${P[@]}" --recursive "$T/small" s3://bench/$tool/small)
        down_small=("${P[@]}" --recursive s3://bench/$tool/small "$T/down-$tool-small") ;;
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

proto=HTTP; [ "$TLS" = 1 ] && proto=HTTPS
echo "### Object store: cp on a local Ceph RGW over $proto ($(nproc) cores; wall s (client CPU s, peak RSS MiB), lower is better)"
echo
AB_H="" AB_S=""
[ "${BENCH_AB:-0}" = 1 ] && AB_H=" pqfeed, PQF_MD5_KERNEL=scalar |" AB_S="---:|"
echo "| case | pqfeed cp |$AB_H aws s3 cp | rclone copy |"
echo "|---|---:|$AB_S---:|---:|"
for c in up_big down_big up_small down_small; do
    case $c in
    up_big) d="upload 1 object of $BIG_MIB MiB" ;; down_big) d="download 1 object of $BIG_MIB MiB" ;;
    up_small) d="upload $SMALL_N x 64 KiB" ;; down_small) d="download $SMALL_N x 64 KiB" ;;
    esac
    ab=""
    [ "${BENCH_AB:-0}" = 1 ] && ab=" ${R[pqfeed_scalar,$c]} |"
    echo "| $d | ${R[pqfeed,$c]} |$ab ${R[aws,$c]} | ${R[rclone,$c]} |"
done
