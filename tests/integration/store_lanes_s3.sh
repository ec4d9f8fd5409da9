#!/usr/bin/env bash
# Multipart ETag checks in SIMD lanes (src/base/md5mb.c, get_lanes in
# src/store/s3.c) on a real Ceph RGW: downloads whose one part layout is
# known fetch one layout part per ranged GET and hash the parts in hand
# together. Checked: the bytes and the ETag check for layouts equal to,
# smaller than (a part split by the first 8 MiB range) and larger than the
# download's part size, several batches, awscli's objects, every kernel the
# CPU has and the OpenSSL path (PQF_MD5_KERNEL=scalar); a flipped byte exits
# 6 under each; a kill between batches leaves no file under the final name.
. "$(dirname "$0")/../lib.sh"

start_rgw
AWS=(/usr/bin/aws --endpoint-url "$RGW_ENDPOINT")
B=s3://pqf-lanes
check "aws creates the test bucket" "${AWS[@]}" s3 mb $B

head -c $((70 << 20)) /dev/urandom >"$T/o70"
head -c $((37 << 20 | 12345)) /dev/urandom >"$T/o37"
check "upload 70 MiB in 8 MiB parts (9, recorded)" "$PQF" cp --quiet "$T/o70" $B/p8
check "upload 37 MiB in 5 MiB parts (8, recorded)" "$PQF" cp --quiet --part-size 5M "$T/o37" $B/p5
check "upload 70 MiB in 16 MiB parts (5, recorded)" "$PQF" cp --quiet --part-size 16M "$T/o70" $B/p16
head -c $((100 << 20)) /dev/urandom >"$T/o100"
check "awscli uploads 100 MiB in 8 MiB parts (13, only one layout fits)" "${AWS[@]}" s3 cp --quiet "$T/o100" $B/aws100
"${AWS[@]}" s3api head-object --bucket pqf-lanes --key aws100 >"$T/head.json" 2>&1
check_grep "its ETag is a 13-part multipart ETag" '-13\\"' "$T/head.json"

KERNELS="scalar avx2 avx512vl avx512"
for k in $KERNELS; do
    for o in "p8 o70" "p5 o37" "p16 o70" "aws100 o100"; do
        set -- $o
        rm -f "$T/back"
        check "$k: download $1 checks its ETag" env PQF_MD5_KERNEL=$k "$PQF" cp --json $B/$1 "$T/back"
        check_grep "$k: $1 with one layout" '"etag_layouts_tried":1[,}]' "$T/last.out"
        check "$k: $1 byte for byte" cmp "$T/$2" "$T/back"
    done
done
# Few slots: 3 parts in flight, so the 8 parts of 5 MiB go in 3 batches, and
# a 16 MiB layout does not fit 24 MiB twice (OpenSSL path).
check "--concurrency 3: p5 in batches of 3" "$PQF" cp --quiet --concurrency 3 $B/p5 "$T/c3"
check "byte for byte" cmp "$T/o37" "$T/c3"
check "--concurrency 3: p16 through the OpenSSL path" "$PQF" cp --quiet --concurrency 3 $B/p16 "$T/c3b"
check "byte for byte" cmp "$T/o70" "$T/c3b"

# The lanes path is the one taken: its crash point fires after the first
# batch (and not under PQF_MD5_KERNEL=scalar); nothing under the final name.
PQF_CRASHPOINT=s3.get-lanes-batch "$PQF" cp --quiet $B/p8 "$T/killed" >/dev/null 2>&1
check_eq "killed after the first hashed batch (SIGKILL)" "$?" 137
check "nothing under the final name" test ! -e "$T/killed"
PQF_CRASHPOINT=s3.get-lanes-batch "$PQF" cp --quiet $B/aws100 "$T/killed" >/dev/null 2>&1
check_eq "awscli's object too" "$?" 137
check "PQF_MD5_KERNEL=scalar takes the OpenSSL path (the point never fires)" \
    env PQF_CRASHPOINT=s3.get-lanes-batch PQF_MD5_KERNEL=scalar "$PQF" cp --quiet $B/p8 "$T/killed"
check "and the rerun is whole" cmp "$T/o70" "$T/killed"

# A wrong recorded layout in the lanes path is an error.
check "awscli copy with a false recorded layout (9 x 8 MiB claimed as 8.5 MiB parts, which fit 9 too)" \
    "${AWS[@]}" s3 cp --quiet --metadata pqfeed-part-size=8912896 "$T/o70" $B/liar
for k in scalar avx512; do
    check_exit "$k: the recorded layout does not give the ETag: exit 6" 6 env PQF_MD5_KERNEL=$k "$PQF" cp --quiet $B/liar "$T/liar"
    check_grep "$k: named as such" "for the recorded layout" "$T/last.out"
    check "$k: no file left" test ! -e "$T/liar"
done

# A flipped byte in a part is caught under every kernel.
if command -v node >/dev/null; then
    node "$ROOT/tests/integration/faultproxy.js" --target "$RGW_ENDPOINT" --every 1 --faults corrupt >"$T/proxy.out" 2>&1 &
    proxy_pid=$!
    on_exit "kill $proxy_pid"
    for _ in $(seq 50); do grep -q listening "$T/proxy.out" && break; sleep 0.1; done
    PROXY=http://127.0.0.1:$(awk '/listening/{print $2}' "$T/proxy.out")
    F=(--endpoint-url "$PROXY" --max-attempts 1)
    for k in $KERNELS; do
        for o in p8 p5 p16 aws100; do
            rm -f "$T/bad"
            check_exit "$k: corrupted download of $o exits 6" 6 env PQF_MD5_KERNEL=$k "$PQF" cp --quiet "${F[@]}" $B/$o "$T/bad"
            check_grep "$k: $o named as a multipart ETag mismatch" "do not give the multipart ETag" "$T/last.out"
            check "$k: $o nothing under the final name" test ! -e "$T/bad"
        done
    done
else
    skip "byte flip through the fault proxy" "node not installed"
fi

done_testing
