#!/usr/bin/env bash
# An S3 put sized by its size hint (session 4: a put expected smaller than a
# part gets a buffer of the hint's size, not a whole part): on a real Ceph RGW,
# puts whose data is as long as the hint, shorter, a few MiB longer (the
# buffer grows to a part: still one PUT) and longer than a part (it becomes a
# multipart upload) all store exactly the bytes written, as one PUT or as
# parts as their length says. Driver: tests/integration/put_hint.c.
. "$(dirname "$0")/../lib.sh"

start_rgw
AWS=(/usr/bin/aws --endpoint-url "$RGW_ENDPOINT")
"${AWS[@]}" s3 mb s3://pqf-hint >/dev/null
# shellcheck disable=SC2046
if ! cc -std=c11 -O2 -D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/src" $(make -s -C "$ROOT" print-cflags) -o "$T/put_hint" \
    "$ROOT/tests/integration/put_hint.c" "$PQF_BUILD/libpqfeed.a" $(make -s -C "$ROOT" print-libs) >"$T/cc.out" 2>&1; then
    not_ok "build tests/integration/put_hint.c" "$(tail -n 5 "$T/cc.out")"
    done_testing
    exit
fi
K=1024 M=$((1 << 20))
# bytes hint ETag-parts ("" = one PUT)
for c in "$((64 * K)) $((64 * K)) -" "$((1 * M)) $((2 * M)) -" "$((3 * M + 5)) $((64 * K)) -" \
         "$((20 * M)) $((64 * K)) 3" "$((8 * M)) $((1 * M)) -" "$((8 * M + 1)) $((1 * M)) 2"; do
    read -r n hint parts <<<"$c"
    key=h-$n-$hint
    want=$("$T/put_hint" s3://pqf-hint "$key" "$n" "$hint" 2>"$T/err")
    check_eq "put of $n bytes with a size hint of $hint: succeeds" "$?" 0
    got=$("$PQF" cat "s3://pqf-hint/$key" | sha256sum | cut -d' ' -f1)
    check_eq "and stores exactly those bytes ($n)" "$got" "$want"
    etag=$("${AWS[@]}" s3api head-object --bucket pqf-hint --key "$key" --query ETag --output text | tr -d '"\\')
    case $parts in
    -) check "as one PUT (ETag $etag, no part count)" test -n "$etag" -a "${etag%-*}" = "$etag" ;;
    *) check_eq "as a multipart upload of $parts parts (ETag $etag)" "${etag##*-}" "$parts" ;;
    esac
done
done_testing
