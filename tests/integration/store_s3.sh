#!/usr/bin/env bash
# The S3 store and the object commands against a real Ceph RGW (started here
# on 127.0.0.1 by scripts/rgw.sh and stopped on exit, even on failure), with
# Debian's awscli as the peer and a fault-injecting proxy in between for the
# retry tests. PQF_QUICK=1 skips the 2 GiB memory test.
. "$(dirname "$0")/../lib.sh"

RGW_MEMSTORE_BYTES=$((6 << 30)) start_rgw
AWS=(/usr/bin/aws --endpoint-url "$RGW_ENDPOINT")
B=s3://pqf-test

check "aws creates the test buckets" "${AWS[@]}" s3 mb $B
"${AWS[@]}" s3 mb s3://pqf-versioned >/dev/null

# ---- basic operations --------------------------------------------------------
printf 'hello, store\n' >"$T/small.txt"
check "cp uploads a small file" "$PQF" cp --quiet "$T/small.txt" $B/dir/small.txt
check "stat shows its size" "$PQF" stat $B/dir/small.txt
check_grep "stat: size 13 and MD5 ETag" "size: +13" "$T/last.out"
check_grep "stat: ETag is the MD5" "$(md5sum "$T/small.txt" | cut -c1-32)" "$T/last.out"
check_eq "cat returns the bytes" "$("$PQF" cat $B/dir/small.txt)" "hello, store"
check_eq "cat a range" "$("$PQF" cat --offset 7 --length 5 $B/dir/small.txt)" "store"
"$PQF" ls $B/ >"$T/ls.out" 2>&1
check_grep "ls shows the common prefix" "PRE dir/" "$T/ls.out"
"$PQF" ls --json --recursive $B >"$T/ls.json" 2>&1
check_grep "ls --json lists the key" '"key":"dir/small.txt","size":13' "$T/ls.json"
check "awscli reads what pqfeed wrote" "${AWS[@]}" s3 cp $B/dir/small.txt "$T/small.aws"
check "byte for byte" cmp "$T/small.txt" "$T/small.aws"
check_exit "stat of a missing key exits 9 (not found)" 9 "$PQF" stat $B/dir/nope
check "rm deletes" "$PQF" rm --quiet $B/dir/small.txt
check_exit "gone after rm" 9 "$PQF" stat $B/dir/small.txt
check "empty object round trip" bash -c ": | '$PQF' cp --quiet - $B/empty && test \"\$('$PQF' cat $B/empty | wc -c)\" = 0"

# ---- credentials --------------------------------------------------------------
AWS_SECRET_ACCESS_KEY=not-the-secret "$PQF" ls $B/ >"$T/auth.out" 2>&1
rc=$?
check_eq "wrong secret exits 12 (PQF_ERR_AUTH)" "$rc" 12
check_grep "wrong secret: SignatureDoesNotMatch named" "SignatureDoesNotMatch" "$T/auth.out"
check_grep "error carries HTTP status, request id and attempts" "HTTP 403, request id [^ ]+, 1 attempt" "$T/auth.out"
if grep -q "not-the-secret\|$RGW_SECRET_KEY" "$T/auth.out"; then not_ok "secret never in messages"; else ok "secret never in messages"; fi
mkdir -p "$HOME/.aws"
cat >"$HOME/.aws/config" <<EOF
[profile proc]
credential_process = printf '{"Version":1,"AccessKeyId":"$RGW_ACCESS_KEY","SecretAccessKey":"$RGW_SECRET_KEY"}'
[profile file]
region = us-east-1
EOF
cat >"$HOME/.aws/credentials" <<EOF
[file]
aws_access_key_id = $RGW_ACCESS_KEY
aws_secret_access_key = $RGW_SECRET_KEY
EOF
check "credential_process profile" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$PQF" ls --profile proc $B/
check "~/.aws/credentials profile via AWS_PROFILE" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_PROFILE=file "$PQF" ls $B/
check_exit "no credentials at all exits 12" 12 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_PROFILE=none "$PQF" ls $B/
"$PQF" ls --no-verify-ssl $B/ >"$T/insecure.out" 2>&1
check_grep "--no-verify-ssl warns loudly" "WARNING: TLS certificate verification is OFF" "$T/insecure.out"

# ---- multipart ----------------------------------------------------------------
head -c $((200 << 20)) /dev/urandom >"$T/big"
check "200 MiB multipart upload (8 MiB parts, 4 at once)" "$PQF" cp --quiet --part-size 8M --concurrency 4 "$T/big" $B/big
"$PQF" stat --json $B/big >"$T/big.json"
check_grep "multipart ETag of 25 parts" '"etag":"[0-9a-f]{32}-25"' "$T/big.json"
check "awscli downloads it" "${AWS[@]}" s3 cp --quiet $B/big "$T/big.aws"
check "awscli copy is byte for byte" cmp "$T/big" "$T/big.aws"
rm -f "$T/big.aws"
check "pqfeed downloads it (parallel ranges)" "$PQF" cp --quiet $B/big "$T/big.pqf"
check "pqfeed copy is byte for byte" cmp "$T/big" "$T/big.pqf"
rm -f "$T/big.pqf"
head -c $((40 << 20)) /dev/urandom >"$T/aws40"
check "awscli multipart upload" "${AWS[@]}" s3 cp --quiet "$T/aws40" $B/aws40
check_grep "awscli made a multipart object" '-[0-9]+"' <("$PQF" stat --json $B/aws40)
check_eq "pqfeed reads what awscli wrote" "$("$PQF" cat $B/aws40 | md5sum)" "$(md5sum <"$T/aws40")"

# Resume: kill an upload from a pipe mid-way, then resume it from ListParts.
( { head -c $((40 << 20)) "$T/big"; sleep 60; } | "$PQF" cp --quiet --part-size 5M --concurrency 2 - $B/resumed ) &
pipe_pid=$!
for _ in $(seq 100); do
    "$PQF" ls --uploads $B/resumed >"$T/up.out" 2>/dev/null
    [ -s "$T/up.out" ] && break
    sleep 0.1
done
sleep 2
pkill -9 -P "$pipe_pid" -f "pqfeed cp" 2>/dev/null
kill -9 "$pipe_pid" 2>/dev/null; wait "$pipe_pid" 2>/dev/null
upload_id=$(awk '{print $3}' "$T/up.out")
if [ -n "$upload_id" ]; then ok "an interrupted upload is left behind ($upload_id)"; else not_ok "an interrupted upload is left behind"; fi
head -c $((60 << 20)) "$T/big" >"$T/resume.src"
"$PQF" cp --resume --part-size 5M "$T/resume.src" $B/resumed >"$T/resume.out" 2>&1
check_grep "cp --resume continues that upload" "resuming upload $upload_id" "$T/resume.out"
check_eq "resumed object is byte for byte" "$("$PQF" cat $B/resumed | md5sum)" "$(md5sum <"$T/resume.src")"
check_eq "no upload left behind" "$("$PQF" ls --uploads $B/resumed)" ""
# Abandoned uploads can be listed and aborted.
( { head -c $((12 << 20)) "$T/big"; sleep 60; } | "$PQF" cp --quiet --part-size 5M - $B/abandoned ) &
pipe_pid=$!
for _ in $(seq 100); do "$PQF" ls --uploads $B/abandoned | grep -q . && break; sleep 0.1; done
pkill -9 -P "$pipe_pid" -f "pqfeed cp" 2>/dev/null; kill -9 "$pipe_pid" 2>/dev/null; wait "$pipe_pid" 2>/dev/null
check "rm --uploads aborts abandoned uploads" "$PQF" rm --uploads $B/abandoned
check_eq "none left" "$("$PQF" ls --uploads $B/abandoned)" ""

# ---- put-if-absent racing -------------------------------------------------------
for i in $(seq 8); do
    ( echo "writer $i" >"$T/race.$i"; "$PQF" cp --quiet --if-absent "$T/race.$i" $B/race/commit.json; echo $? >"$T/race.$i.rc" ) &
done
wait
wins=$(cat "$T"/race.*.rc | grep -cx 0); lost=$(cat "$T"/race.*.rc | grep -cx 11)
check_eq "8 racers with If-None-Match: exactly one wins" "$wins/$lost" "1/7"

# ---- server-side copy -------------------------------------------------------------
check "S3 to S3 copy (CopyObject)" "$PQF" cp --quiet $B/aws40 $B/copied/aws40
check_eq "copy is identical" "$("$PQF" cat $B/copied/aws40 | md5sum)" "$(md5sum <"$T/aws40")"
check "large copy (UploadPartCopy, threshold lowered to 8 MiB)" "$PQF" cp --quiet --multipart-threshold 8M --part-size 8M $B/aws40 $B/copied/parts
check_grep "UploadPartCopy made 5 parts" '"etag":"[0-9a-f]{32}-5"' <("$PQF" stat --json $B/copied/parts)
check_eq "part copy is identical" "$("$PQF" cat $B/copied/parts | md5sum)" "$(md5sum <"$T/aws40")"

# ---- recursive --------------------------------------------------------------------
mkdir -p "$T/tree/a/b"
for i in $(seq 60); do head -c $((RANDOM * 3)) /dev/urandom >"$T/tree/a/f$i"; done
for i in $(seq 5); do echo "$i" >"$T/tree/a/b/g$i"; done
check "cp --recursive up" "$PQF" cp --quiet --recursive "$T/tree" $B/tree
check_eq "all 65 keys listed" "$("$PQF" ls --recursive $B/tree/ | wc -l)" 65
check "cp --recursive --json down" bash -c "'$PQF' cp --recursive --json $B/tree '$T/tree.back' >'$T/rec.json'"
check_grep "--json reports each object" '"op":"download","src":"s3://pqf-test/tree/a/b/g1"' "$T/rec.json"
check "trees are identical" diff -r "$T/tree" "$T/tree.back"
check "rm --recursive (DeleteObjects)" "$PQF" rm --quiet --recursive $B/tree
check_eq "prefix is empty" "$("$PQF" ls --recursive $B/tree/)" ""

# ---- versioning ---------------------------------------------------------------------
V=s3://pqf-versioned
check "enable versioning (awscli)" "${AWS[@]}" s3api put-bucket-versioning --bucket pqf-versioned --versioning-configuration Status=Enabled
echo one | "$PQF" cp --quiet - $V/doc
echo two | "$PQF" cp --quiet - $V/doc
v1=$("$PQF" ls --versions --json $V/doc | grep -v '"latest":true' | sed 's/.*"version_id":"\([^"]*\)".*/\1/' | head -1)
check_eq "get by version id" "$("$PQF" cat --version-id "$v1" $V/doc)" "one"
check "delete makes a delete marker" "$PQF" rm --quiet $V/doc
check_exit "latest is gone" 9 "$PQF" cat $V/doc
"$PQF" ls --versions --json $V/doc >"$T/vers.json"
check_grep "ListObjectVersions shows the delete marker" '"latest":true,"delete_marker":true' "$T/vers.json"
check_eq "two versions and a marker" "$(wc -l <"$T/vers.json")" 3
dm=$(grep '"delete_marker":true' "$T/vers.json" | sed 's/.*"version_id":"\([^"]*\)".*/\1/')
check "removing the marker by version id" "$PQF" rm --quiet --version-id "$dm" $V/doc
check_eq "the object is back" "$("$PQF" cat $V/doc)" "two"
check "stat --version-id" "$PQF" stat --version-id "$v1" $V/doc
check_grep "stat shows the version id" "version-id: +$v1" "$T/last.out"

# ---- encryption ---------------------------------------------------------------------
head -c $((12 << 20)) /dev/urandom >"$T/secret.bin"
check "SSE-KMS upload (multipart)" "$PQF" cp --quiet --part-size 5M --sse-kms-key-id "$RGW_KMS_KEY_ID" "$T/secret.bin" $B/kms
check_grep "stat shows aws:kms" "encryption: +aws:kms" <("$PQF" stat $B/kms)
check_eq "SSE-KMS round trip" "$("$PQF" cat $B/kms | md5sum)" "$(md5sum <"$T/secret.bin")"
head -c 32 /dev/urandom >"$T/ssec.key"
check "SSE-C upload (multipart)" "$PQF" cp --quiet --part-size 5M --sse-c-key-file "$T/ssec.key" "$T/secret.bin" $B/ssec
if "$PQF" cat $B/ssec >/dev/null 2>"$T/ssec.nokey"; then not_ok "SSE-C object unreadable without the key"
else check_grep "SSE-C object unreadable without the key (RGW: InvalidArgument)" "InvalidArgument|AccessDenied" "$T/ssec.nokey"; fi
check_eq "SSE-C round trip with the key" "$("$PQF" cat --sse-c-key-file "$T/ssec.key" $B/ssec | md5sum)" "$(md5sum <"$T/secret.bin")"
"$PQF" cat $B/ssec >/dev/null 2>"$T/ssec.err"
if grep -q "$(base64 <"$T/ssec.key")" "$T/ssec.err"; then not_ok "SSE-C key never in messages"; else ok "SSE-C key never in messages"; fi
check "SSE-S3 upload" "$PQF" cp --quiet --sse AES256 "$T/small.txt" $B/sse-s3
check_eq "SSE-S3 round trip" "$("$PQF" cat $B/sse-s3)" "hello, store"

# ---- faults ---------------------------------------------------------------------------
if command -v node >/dev/null; then
    node "$ROOT/tests/integration/faultproxy.js" --target "$RGW_ENDPOINT" --every 3 --stall-ms 2500 >"$T/proxy.out" 2>&1 &
    proxy_pid=$!
    on_exit "kill $proxy_pid"
    for _ in $(seq 50); do grep -q listening "$T/proxy.out" && break; sleep 0.1; done
    PROXY=http://127.0.0.1:$(awk '/listening/{print $2}' "$T/proxy.out")
    F=(--endpoint-url "$PROXY" --read-timeout 1 --retry-base-ms 20 --max-attempts 10)
    head -c $((48 << 20)) /dev/urandom >"$T/faulty"
    check "upload through faults (drops, 503 SlowDown, 500, stalls)" "$PQF" cp --quiet "${F[@]}" --part-size 5M --concurrency 4 "$T/faulty" $B/faulty
    check "download through faults (also truncated bodies)" "$PQF" cp --quiet "${F[@]}" --part-size 5M "$B/faulty" "$T/faulty.back"
    check "nothing corrupted" cmp "$T/faulty" "$T/faulty.back"
    check_eq "awscli agrees" "$("${AWS[@]}" s3 cp $B/faulty - | md5sum)" "$(md5sum <"$T/faulty")"
    check "recursive listing through faults" "$PQF" ls "${F[@]}" --recursive $B/
    curl -s "$PROXY/__faultproxy/stats" >"$T/proxy.json"
    check_grep "faults were injected" '"drop":[1-9].*"503":[1-9]|"503":[1-9].*"drop":[1-9]' "$T/proxy.json"
    "$PQF" cat --endpoint-url "$PROXY" --max-attempts 1 $B/faulty >/dev/null 2>"$T/noretry.err"; rc=$?
    for _ in 1 2 3; do "$PQF" stat --endpoint-url "$PROXY" --max-attempts 1 --read-timeout 1 $B/faulty >/dev/null 2>>"$T/noretry.err" || rc=1; done
    check_eq "without retries a fault surfaces as an error" "$rc" 1
    # How uploads vouch for their bytes over plain HTTP: a signed Content-MD5 with
    # UNSIGNED-PAYLOAD by default, the signed payload SHA-256 too with --sign-payload.
    node "$ROOT/tests/integration/faultproxy.js" --target "$RGW_ENDPOINT" --faults '' --every 0 >"$T/proxy3.out" 2>&1 &
    proxy3_pid=$!
    on_exit "kill $proxy3_pid"
    for _ in $(seq 50); do grep -q listening "$T/proxy3.out" && break; sleep 0.1; done
    PROXY3=http://127.0.0.1:$(awk '/listening/{print $2}' "$T/proxy3.out")
    check "a single PUT and a multipart upload through a counting proxy" "$PQF" cp --quiet --endpoint-url "$PROXY3" "$T/small.txt" $B/pay-1 &&
        "$PQF" cp --quiet --endpoint-url "$PROXY3" --part-size 5M "$T/faulty" $B/pay-2
    curl -s "$PROXY3/__faultproxy/stats" >"$T/proxy3.json"
    check_grep "by default: UNSIGNED-PAYLOAD with Content-MD5 (1 PUT + 10 parts)" '"put_payload":\{"UNSIGNED-PAYLOAD\+md5":11\}' "$T/proxy3.json"
    check "with --sign-payload" "$PQF" cp --quiet --endpoint-url "$PROXY3" --sign-payload "$T/small.txt" $B/pay-3
    curl -s "$PROXY3/__faultproxy/stats" >"$T/proxy3.json"
    check_grep "--sign-payload: the signed SHA-256 and Content-MD5" '"sha256\+md5":1' "$T/proxy3.json"
    check_eq "both read back" "$("$PQF" cat $B/pay-1)$("$PQF" cat $B/pay-3)" "hello, storehello, store"
else
    skip "fault proxy" "node not installed"
fi

# ---- memory ---------------------------------------------------------------------------
if [ "${PQF_QUICK:-0}" = 1 ]; then
    skip "2 GiB streamed upload stays under part x concurrency + 32 MiB" "PQF_QUICK"
else
    head -c $((2 << 30)) /dev/zero | /usr/bin/time -v "$PQF" cp --quiet --part-size 8M --concurrency 4 - $B/two-gib 2>"$T/time.out"
    hwm=$(awk -F: '/Maximum resident set size/{gsub(/ /,"",$2); print $2}' "$T/time.out")
    limit=$(((8 * 4 + 32) * 1024))
    if [ -n "$hwm" ] && [ "$hwm" -lt "$limit" ]; then ok "2 GiB streamed upload: max RSS ${hwm} KiB < ${limit} KiB"
    else not_ok "2 GiB streamed upload: max RSS ${hwm:-?} KiB < ${limit} KiB" "$(tail -n 5 "$T/time.out")"; fi
    check_grep "2 GiB object complete" '"size":2147483648' <("$PQF" stat --json $B/two-gib)
    "$PQF" rm --quiet $B/two-gib
fi

done_testing
