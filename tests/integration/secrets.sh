#!/usr/bin/env bash
# The secrets guarantee: credentials, SSE-C keys and session tokens never
# appear in logs, errors, --json output or files pqfeed writes. A full set of
# commands runs against a real Ceph RGW with known secrets (right, wrong, and
# with a session token); every byte they print and every file
# they leave (outside the secret inputs themselves) is searched for the
# secret values, raw, base64 and hex. pqfeed has no --debug/--verbose mode;
# if one is added, run it here too.
. "$(dirname "$0")/../lib.sh"

start_rgw
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CA_BUNDLE AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export HOME=$T/home; mkdir -p "$HOME/.aws"
SECRET=$RGW_SECRET_KEY
TOKEN=PQFSESSIONTOKEN$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
WRONG=PQFWRONGSECRET$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
IN=$T/inputs; OUT=$T/work; mkdir -p "$IN" "$OUT"
head -c 32 /dev/urandom >"$IN/ssec.key"
SSEC_B64=$(base64 -w0 <"$IN/ssec.key")
SSEC_HEX=$(od -An -tx1 <"$IN/ssec.key" | tr -d ' \n')
SSEC_MD5=$(openssl md5 -binary <"$IN/ssec.key" | base64 -w0)
# credentials through the file chain (mode 600), the way users keep them
cat >"$HOME/.aws/credentials" <<EOF2
[default]
aws_access_key_id = $RGW_ACCESS_KEY
aws_secret_access_key = $SECRET
[withtoken]
aws_access_key_id = $RGW_ACCESS_KEY
aws_secret_access_key = $SECRET
aws_session_token = $TOKEN
[wrong]
aws_access_key_id = $RGW_ACCESS_KEY
aws_secret_access_key = $WRONG
EOF2
chmod 600 "$HOME/.aws/credentials"
E=(--endpoint-url "$RGW_ENDPOINT")
/usr/bin/aws "${E[@]}" s3 mb s3://pqf-sec >/dev/null
cd "$OUT" || exit 1
n=0
run() { # PROFILE CMD... : output into $OUT/run-N.{out,err}, exit status kept
    local prof=$1; shift
    n=$((n + 1))
    AWS_PROFILE=$prof "$PQF" "$@" >"$OUT/run-$n.out" 2>"$OUT/run-$n.err"
    echo "$? $prof $*" >>"$OUT/runs.txt"
}
printf 'secret-test payload\n' >"$IN/payload.txt"
for i in $(seq 1 12); do echo "{\"id\":$i,\"name\":\"n$i\"}"; done >"$IN/t.ndjson"
for prof in default wrong withtoken; do
    run $prof cp "${E[@]}" --sse-c-key-file "$IN/ssec.key" "$IN/payload.txt" s3://pqf-sec/ssec/p.txt
    run $prof cp "${E[@]}" --sse-c-key-file "$IN/ssec.key" s3://pqf-sec/ssec/p.txt "$OUT/p.$prof.txt"
    run $prof stat "${E[@]}" --sse-c-key-file "$IN/ssec.key" s3://pqf-sec/ssec/p.txt
    run $prof stat "${E[@]}" --json --sse-c-key-file "$IN/ssec.key" s3://pqf-sec/ssec/p.txt
    run $prof stat "${E[@]}" s3://pqf-sec/ssec/p.txt
    run $prof ls "${E[@]}" --recursive --json s3://pqf-sec/
    run $prof ls "${E[@]}" --versions s3://pqf-sec/
    run $prof export s3://pqf-sec/feed "${E[@]}" --table t --infer-rows 10 "$IN/t.ndjson"
    run $prof log "${E[@]}" s3://pqf-sec/feed
    run $prof log "${E[@]}" --json --deep s3://pqf-sec/feed
    run $prof replicate "${E[@]}" --state "$OUT/repl-$prof.db" s3://pqf-sec/feed s3://pqf-sec/dr
    run $prof replicate status "${E[@]}" --json --state "$OUT/repl-$prof.db" s3://pqf-sec/feed s3://pqf-sec/dr
    run $prof verify "${E[@]}" s3://pqf-sec/feed s3://pqf-sec/dr
    run $prof apply "${E[@]}" --max-delay 1s s3://pqf-sec/dr "sqlite:$OUT/sink-$prof.db"
    run $prof apply status "${E[@]}" --json s3://pqf-sec/dr "sqlite:$OUT/sink-$prof.db"
    run $prof gc "${E[@]}" --dry-run s3://pqf-sec/feed
    run $prof bucket check "${E[@]}" s3://pqf-sec/feed
    run $prof bucket check "${E[@]}" --json s3://pqf-sec/feed
    run $prof bucket setup "${E[@]}" s3://pqf-sec/feed
    run $prof bucket cost "${E[@]}" --json s3://pqf-sec/feed
    run $prof audit "${E[@]}" --json s3://pqf-sec/feed
    run $prof cat "${E[@]}" --sse-c-key-file "$IN/ssec.key" s3://pqf-sec/ssec/p.txt
done
run default audit "$HOME/.aws/credentials"
chmod 644 "$HOME/.aws/credentials"
run default audit --json
chmod 600 "$HOME/.aws/credentials"

check_eq "the right secret works (cp SSE-C round trip)" "$(cat "$OUT/p.default.txt" 2>/dev/null)" "secret-test payload"
check_grep "export to s3 committed" "^0 default export" "$OUT/runs.txt"
check_grep "replication to an S3 replica ran (its state database is among the files searched)" "^0 default replicate " "$OUT/runs.txt"
check_grep "apply to a SQLite sink ran (the sink is among the files searched)" "^0 default apply " "$OUT/runs.txt"
check "the replication state database exists" test -s "$OUT/repl-default.db"
check_grep "the wrong secret fails with exit 12" "^12 wrong ls" "$OUT/runs.txt"
check_grep "with a session token: the commands run (RGW ignores the x-amz-security-token it did not issue)" "^0 withtoken ls" "$OUT/runs.txt"
grep -l "SignatureDoesNotMatch" "$OUT"/run-*.err >/dev/null && ok "wrong-secret errors were produced" || not_ok "wrong-secret errors were produced"
# Everything pqfeed wrote: every output, every file under the work folder and HOME
# (the secret inputs excepted), and anything it left in /tmp named pqf*.
files=$(find "$OUT" "$HOME" -type f ! -path "$HOME/.aws/credentials"; find "${TMPDIR:-/tmp}" -maxdepth 1 -newer "$IN/ssec.key" -name 'pqf*' -type f 2>/dev/null)
nf=$(echo "$files" | wc -l)
[ "$nf" -gt 50 ] && ok "searched $nf files" || not_ok "searched $nf files (too few?)"
for pair in "secret access key:$SECRET" "wrong secret:$WRONG" "session token:$TOKEN" \
    "SSE-C key (base64):$SSEC_B64" "SSE-C key (hex):$SSEC_HEX" "SSE-C key MD5:$SSEC_MD5"; do
    name=${pair%%:*}; val=${pair#*:}
    hits=$(echo "$files" | xargs -d '\n' grep -lF -- "$val" 2>/dev/null)
    # the raw key bytes too (binary match)
    if [ -z "$hits" ]; then ok "no $name anywhere"; else not_ok "no $name anywhere" $hits; fi
done
raw=$(echo "$files" | while read -r f; do
    python3 - "$f" "$IN/ssec.key" <<'PY' && echo "$f"
import sys
data=open(sys.argv[1],'rb').read(); key=open(sys.argv[2],'rb').read()
sys.exit(0 if key in data else 1)
PY
done)
[ -z "$raw" ] && ok "no raw SSE-C key bytes anywhere" || not_ok "no raw SSE-C key bytes anywhere" $raw
done_testing
