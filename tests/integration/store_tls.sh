#!/usr/bin/env bash
# The S3 store against a real Ceph RGW with an HTTPS endpoint (scripts/rgw.sh
# with RGW_TLS=1: a throwaway CA and server certificate made by openssl in
# this suite's temporary folder): TLS verification and its options, SSE-C over
# TLS, virtual-hosted addressing, IMDSv2 credentials, bucket versioning,
# presigned URLs, and the multipart ETag check on download.
#
# Honest limits, said here once:
# - Virtual hosts: RGW runs with `rgw dns name = localhost`; BUCKET.localhost
#   reaches 127.0.0.1 because libcurl (and awscli) resolve every name under
#   .localhost to loopback themselves (RFC 6761). No /etc/hosts edit, no DNS
#   server, no CURLOPT_RESOLVE: the same URL a user would type.
# - IMDS cannot run off EC2. tests/integration/imds.py is a local server that
#   speaks IMDSv2 (token PUT with a TTL header, GETs only with the token, 401
#   without); the credentials it hands out are real temporary ones, with a
#   session token, from RGW's STS (GetSessionToken), so RGW checks them.
#   awscli reads the same server as a second opinion on its fidelity.
. "$(dirname "$0")/../lib.sh"

RGW_TLS=1 RGW_STS=1 start_rgw
AWS=(/usr/bin/aws --endpoint-url "$RGW_ENDPOINT")
H=$RGW_HTTPS_ENDPOINT
PORT=${RGW_ENDPOINT##*:}
SPORT=${H##*:}
for b in pqf-tls pqf-vhost pqf-ver; do "${AWS[@]}" s3 mb s3://$b >/dev/null; done
printf 'over TLS\n' >"$T/small"

# ---- TLS verification -----------------------------------------------------------
check_exit "HTTPS with an unknown CA: verification fails, exit 12" 12 \
    "$PQF" cp --quiet --endpoint-url "$H" "$T/small" s3://pqf-tls/a
check_grep "the error names the host and the fix" \
    "TLS certificate of 127\.0\.0\.1:$SPORT not verified: .*--ca-bundle FILE or AWS_CA_BUNDLE" "$T/last.out"
check_exit "nothing was written" 9 "$PQF" stat s3://pqf-tls/a
check "--ca-bundle makes HTTPS work" "$PQF" cp --quiet --endpoint-url "$H" --ca-bundle "$RGW_CA" "$T/small" s3://pqf-tls/a
check_eq "AWS_CA_BUNDLE makes HTTPS work" "$(AWS_CA_BUNDLE=$RGW_CA "$PQF" cat --endpoint-url "$H" s3://pqf-tls/a 2>&1)" "over TLS"
mkdir -p "$HOME/.aws"
printf '[default]\nca_bundle = %s\n' "$RGW_CA" >"$HOME/.aws/config"
check_eq "ca_bundle in the profile makes HTTPS work" "$("$PQF" cat --endpoint-url "$H" s3://pqf-tls/a 2>&1)" "over TLS"
rm -f "$HOME/.aws/config"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=another CA" -keyout "$T/other.key" -out "$T/other.pem" 2>/dev/null
check_exit "a CA that did not sign the server's certificate: exit 12" 12 \
    "$PQF" cat --endpoint-url "$H" --ca-bundle "$T/other.pem" s3://pqf-tls/a
check_exit "a host name the certificate does not cover: exit 12" 12 \
    "$PQF" cat --endpoint-url "https://localhost:$SPORT" --virtual-host --ca-bundle "$RGW_CA" s3://pqf-nosan/a
check_grep "... naming that host" "TLS certificate of pqf-nosan\.localhost:$SPORT not verified" "$T/last.out"
check_exit "an unreadable CA bundle: exit 10, named" 10 "$PQF" ls --endpoint-url "$H" --ca-bundle "$T/none.pem" s3://pqf-tls/
check_grep "... the file and where it came from" "CA bundle .*/none\.pem \(from the options\): No such file" "$T/last.out"
"$PQF" cat --endpoint-url "$H" --no-verify-ssl s3://pqf-tls/a >"$T/insecure.out" 2>"$T/insecure.err"
check_eq "--no-verify-ssl reaches the server anyway" "$(cat "$T/insecure.out")" "over TLS"
check_grep "... and warns loudly on stderr" "^pqfeed: WARNING: TLS certificate verification is OFF for https://127\.0\.0\.1:$SPORT" "$T/insecure.err"
if grep -q WARNING "$T/insecure.out"; then not_ok "the warning stays off stdout"; else ok "the warning stays off stdout"; fi
check_exit "--no-verify-ssl does not silence SigV4: a wrong secret still exits 12" 12 \
    env AWS_SECRET_ACCESS_KEY=wrong "$PQF" cat --endpoint-url "$H" --no-verify-ssl s3://pqf-tls/a

# Transfers over TLS (UNSIGNED-PAYLOAD with Content-MD5, as the AWS SDKs do).
export AWS_CA_BUNDLE=$RGW_CA
head -c $((24 << 20)) /dev/urandom >"$T/big"
check "multipart upload over HTTPS" "$PQF" cp --quiet --endpoint-url "$H" --part-size 5M "$T/big" s3://pqf-tls/big
check_eq "awscli reads it over HTTPS" "$(/usr/bin/aws --endpoint-url "$H" s3 cp s3://pqf-tls/big - | md5sum)" "$(md5sum <"$T/big")"
check "parallel ranged download over HTTPS" "$PQF" cp --quiet --endpoint-url "$H" --part-size 5M s3://pqf-tls/big "$T/big.back"
check "byte for byte" cmp "$T/big" "$T/big.back"

# SSE-C: RGW (like AWS) refuses customer keys over plain HTTP once TLS is on.
head -c 32 /dev/urandom >"$T/ssec.key"
head -c $((11 << 20)) /dev/urandom >"$T/secret"
if "$PQF" cp --quiet --sse-c-key-file "$T/ssec.key" "$T/small" s3://pqf-tls/ssec-http 2>"$T/ssec-http.err"; then
    not_ok "SSE-C over plain HTTP is refused by RGW"
else ok "SSE-C over plain HTTP is refused by RGW ($(grep -o 'InvalidRequest\|InvalidArgument\|AccessDenied' "$T/ssec-http.err" | head -1))"; fi
check "SSE-C multipart upload over HTTPS" "$PQF" cp --quiet --endpoint-url "$H" --part-size 5M --sse-c-key-file "$T/ssec.key" "$T/secret" s3://pqf-tls/ssec
check_grep "stat over HTTPS with the key shows SSE-C" "encryption: +SSE-C" <("$PQF" stat --endpoint-url "$H" --sse-c-key-file "$T/ssec.key" s3://pqf-tls/ssec)
check_eq "SSE-C round trip over HTTPS" "$("$PQF" cat --endpoint-url "$H" --sse-c-key-file "$T/ssec.key" s3://pqf-tls/ssec | md5sum)" "$(md5sum <"$T/secret")"
head -c 32 /dev/urandom >"$T/other.key32"
if "$PQF" cat --endpoint-url "$H" --sse-c-key-file "$T/other.key32" s3://pqf-tls/ssec >/dev/null 2>"$T/last.out"; then
    not_ok "the wrong SSE-C key is refused"
else check_grep "the wrong SSE-C key is refused (RGW: InvalidArgument)" "InvalidArgument|AccessDenied" "$T/last.out"; fi
if grep -qF "$(base64 <"$T/ssec.key")" "$T/last.out" "$T/ssec-http.err"; then not_ok "SSE-C key never in messages"; else ok "SSE-C key never in messages"; fi
unset AWS_CA_BUNDLE

# ---- virtual-hosted addressing ------------------------------------------------------
V=http://localhost:$PORT
check "virtual-hosted PUT (Host: pqf-vhost.localhost)" "$PQF" cp --quiet --virtual-host --endpoint-url "$V" "$T/small" s3://pqf-vhost/dir/k
check_eq "awscli (path-style) finds it in that bucket" "$("${AWS[@]}" s3 cp s3://pqf-vhost/dir/k -)" "over TLS"
check_grep "virtual-hosted listing" "dir/k" <("$PQF" ls --recursive --virtual-host --endpoint-url "$V" s3://pqf-vhost)
check "virtual-hosted multipart upload" "$PQF" cp --quiet --virtual-host --endpoint-url "$V" --part-size 5M "$T/big" s3://pqf-vhost/big
check_eq "virtual-hosted multipart download" "$("$PQF" cat --virtual-host --endpoint-url "$V" s3://pqf-vhost/big | md5sum)" "$(md5sum <"$T/big")"
check_exit "RGW routes by the Host header: a missing bucket's host gives NoSuchBucket (9)" 9 \
    "$PQF" cat --virtual-host --endpoint-url "$V" s3://pqf-nosuch/dir/k
check_grep "... NoSuchBucket named" "NoSuchBucket" "$T/last.out"
check_eq "virtual-hosted over HTTPS (certificate for pqf-vhost.localhost)" \
    "$("$PQF" cat --virtual-host --endpoint-url "https://localhost:$SPORT" --ca-bundle "$RGW_CA" s3://pqf-vhost/dir/k 2>&1)" "over TLS"
check "virtual-hosted delete" "$PQF" rm --quiet --virtual-host --endpoint-url "$V" s3://pqf-vhost/dir/k
check_exit "gone (path-style agrees)" 9 "$PQF" stat s3://pqf-vhost/dir/k

# ---- IMDSv2 credentials ---------------------------------------------------------------
radosgw-admin -c "$RGW_CONF" caps add --uid=pqf --caps="user-policy=*" >/dev/null 2>&1
"${AWS[@]}" iam put-user-policy --user-name pqf --policy-name sts --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:GetSessionToken"],"Resource":"*"}]}'
"${AWS[@]}" sts get-session-token --duration-seconds 3600 >"$T/sts.json" 2>"$T/sts.err"
check_grep "RGW STS hands out temporary credentials" '"SessionToken"' "$T/sts.json"
python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["Credentials"]
d = {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"], "Token": c["SessionToken"], "Expiration": c["Expiration"]}
json.dump(d, open(sys.argv[2], "w"))
del d["Token"]
json.dump(d, open(sys.argv[3], "w"))' "$T/sts.json" "$T/imds-creds.json" "$T/imds-notoken.json"
python3 "$ROOT/tests/integration/imds.py" --creds "$T/imds-creds.json" --log "$T/imds.log" >"$T/imds.out" 2>&1 &
imds_pid=$!
on_exit "kill $imds_pid 2>/dev/null"
for _ in $(seq 50); do grep -q listening "$T/imds.out" && break; sleep 0.1; done
IMDS=http://127.0.0.1:$(awk '/listening/{print $2}' "$T/imds.out")/ # botocore wants the slash
check_eq "the IMDS stand-in refuses a GET without a token (401)" \
    "$(curl -s -o /dev/null -w '%{http_code}' "${IMDS}latest/meta-data/iam/security-credentials/")" 401
check_eq "... and a token PUT without a TTL (400)" "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "${IMDS}latest/api/token")" 400
ONLY_IMDS=(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE
    AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS")
rm -f "$HOME/.aws/config"
: >"$T/imds.log"
check "with IMDSv2 the only source: upload" "${ONLY_IMDS[@]}" "$PQF" cp --quiet "$T/small" s3://pqf-tls/imds
check_eq "... and read back" "$("${ONLY_IMDS[@]}" "$PQF" cat s3://pqf-tls/imds 2>&1)" "over TLS"
check_grep "token first (PUT /latest/api/token)" "^PUT /latest/api/token 200" "$T/imds.log"
check_grep "then the role, with the token" "^GET /latest/meta-data/iam/security-credentials/ 200" "$T/imds.log"
check_grep "then its credentials, with the token" "^GET /latest/meta-data/iam/security-credentials/pqfeed-test-role 200" "$T/imds.log"
if grep -q " 401$" "$T/imds.log"; then not_ok "never a token-less metadata GET"; else ok "never a token-less metadata GET"; fi
check_eq "awscli reads the same IMDS stand-in" "$("${ONLY_IMDS[@]}" /usr/bin/aws --endpoint-url "$RGW_ENDPOINT" s3 cp s3://pqf-tls/imds - 2>&1)" "over TLS"
kill "$imds_pid" 2>/dev/null; wait "$imds_pid" 2>/dev/null
python3 "$ROOT/tests/integration/imds.py" --creds "$T/imds-notoken.json" >"$T/imds2.out" 2>&1 &
imds2_pid=$!
on_exit "kill $imds2_pid 2>/dev/null"
for _ in $(seq 50); do grep -q listening "$T/imds2.out" && break; sleep 0.1; done
check_exit "the session token is what makes them valid: without it RGW refuses (12)" 12 \
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED=false \
    AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$(awk '/listening/{print $2}' "$T/imds2.out")" "$PQF" cat s3://pqf-tls/imds
kill "$imds2_pid" 2>/dev/null; wait "$imds2_pid" 2>/dev/null
check_exit "no IMDS answering and no other source: exit 12" 12 \
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED=false \
    AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS" "$PQF" cat s3://pqf-tls/imds
check_grep "... saying where it looked" "no AWS credentials: .*run on EC2" "$T/last.out"

# ---- bucket versioning (put/get) --------------------------------------------------------
check_eq "a new bucket: versioning off" "$("$PQF" bucket versioning s3://pqf-ver 2>&1)" "s3://pqf-ver: versioning off"
check "--enable (PutBucketVersioning)" "$PQF" bucket versioning --enable s3://pqf-ver
check_grep "... reads back enabled" "versioning enabled" "$T/last.out"
check_eq "awscli agrees: Enabled" "$("${AWS[@]}" s3api get-bucket-versioning --bucket pqf-ver --query Status --output text)" Enabled
echo one | "$PQF" cp --quiet - s3://pqf-ver/doc
echo two | "$PQF" cp --quiet - s3://pqf-ver/doc
check_eq "two versions kept" "$("$PQF" ls --versions --json s3://pqf-ver/doc | wc -l)" 2
check "--suspend" "$PQF" bucket versioning --suspend --json s3://pqf-ver
check_grep "... reads back suspended (--json)" '"versioning":"suspended"' "$T/last.out"
check_eq "awscli agrees: Suspended" "$("${AWS[@]}" s3api get-bucket-versioning --bucket pqf-ver --query Status --output text)" Suspended
echo three | "$PQF" cp --quiet - s3://pqf-ver/doc
check_grep "suspended: the new write is the null version" '"version_id":"null","latest":true|"latest":true.*"version_id":"null"' \
    <("$PQF" ls --versions --json s3://pqf-ver/doc)
check_exit "versioning without credentials (--no-sign-request): RGW refuses (12)" 12 "$PQF" bucket versioning --enable --no-sign-request s3://pqf-ver
check_eq "... and nothing changed" "$("${AWS[@]}" s3api get-bucket-versioning --bucket pqf-ver --query Status --output text)" Suspended
check_exit "versioning with a bad option: usage (2)" 2 "$PQF" bucket versioning --enable=yes s3://pqf-ver

# ---- presigned URLs -----------------------------------------------------------------------
printf 'shared by URL\n' >"$T/shared"
"$PQF" cp --quiet "$T/shared" s3://pqf-tls/shared
url=$("$PQF" presign --expires-in 60 s3://pqf-tls/shared)
check_grep "presign prints a SigV4 query URL" "X-Amz-Algorithm=AWS4-HMAC-SHA256&.*X-Amz-Expires=60&.*X-Amz-Signature=[0-9a-f]{64}" <(echo "$url")
if echo "$url" | grep -q "$RGW_SECRET_KEY"; then not_ok "the secret is not in the URL"; else ok "the secret is not in the URL"; fi
check_eq "curl GETs it with no credentials" "$(curl -sf "$url")" "shared by URL"
check_eq "a tampered URL (other key) is refused (403)" "$(curl -s -o /dev/null -w '%{http_code}' "${url/shared?/small?}")" 403
put_url=$("$PQF" presign --method PUT --expires-in 60 s3://pqf-tls/uploaded)
printf 'uploaded by URL\n' >"$T/up"
check "curl PUTs to a presigned PUT URL" curl -sf -T "$T/up" "$put_url"
check_eq "pqfeed reads what was PUT" "$("$PQF" cat s3://pqf-tls/uploaded)" "uploaded by URL"
check_eq "the GET URL does not allow PUT (403)" "$(curl -s -o /dev/null -w '%{http_code}' -T "$T/up" "$url")" 403
short=$("$PQF" presign --expires-in 2 s3://pqf-tls/shared)
check_eq "a 2 s URL works at once" "$(curl -sf "$short")" "shared by URL"
sleep 4
check_eq "... and is refused once expired (403)" "$(curl -s -o /dev/null -w '%{http_code}' "$short")" 403
tls_url=$("$PQF" presign --endpoint-url "$H" s3://pqf-tls/shared)
check_eq "a presigned HTTPS URL (curl --cacert)" "$(curl -sf --cacert "$RGW_CA" "$tls_url")" "shared by URL"
check_exit "--expires-in beyond 7 days: usage (2)" 2 "$PQF" presign --expires-in 604801 s3://pqf-tls/shared
check_exit "presign of a local path: usage (2)" 2 "$PQF" presign "$T/shared"

# ---- multipart ETags checked on download ---------------------------------------------------
head -c $((20 << 20)) /dev/urandom >"$T/m20"
"${AWS[@]}" s3 cp --quiet "$T/m20" s3://pqf-tls/aws-m20
check_grep "awscli wrote a multipart object (8 MiB parts)" '"etag":"[0-9a-f]{32}-3"' <("$PQF" stat --json s3://pqf-tls/aws-m20)
check "pqfeed downloads it, ETag checked part by part" "$PQF" cp --quiet s3://pqf-tls/aws-m20 "$T/m20.back"
check "byte for byte" cmp "$T/m20" "$T/m20.back"
check "pqfeed's own 5 MiB parts check too" bash -c "'$PQF' cp --quiet --part-size 5M '$T/big' s3://pqf-tls/p5 && '$PQF' cp --quiet s3://pqf-tls/p5 '$T/p5.back' && cmp '$T/big' '$T/p5.back'"
check "rclone's multipart object (5 MiB chunks) checks too" bash -c "RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph RCLONE_CONFIG_RGW_ENDPOINT='$RGW_ENDPOINT' RCLONE_CONFIG_RGW_ACCESS_KEY_ID='$RGW_ACCESS_KEY' RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY='$RGW_SECRET_KEY' rclone --config /dev/null --s3-upload-cutoff 5Mi --s3-chunk-size 5Mi copyto '$T/big' rgw:pqf-tls/rc && '$PQF' cp --quiet s3://pqf-tls/rc '$T/rc.back' && cmp '$T/big' '$T/rc.back'"
check_grep "... it was multipart" '"etag":"[0-9a-f]{32}-5"' <("$PQF" stat --json s3://pqf-tls/rc)
node "$ROOT/tests/integration/faultproxy.js" --target "$RGW_ENDPOINT" --every 1 --faults corrupt >"$T/proxy.out" 2>&1 &
proxy_pid=$!
on_exit "kill $proxy_pid 2>/dev/null"
for _ in $(seq 50); do grep -q listening "$T/proxy.out" && break; sleep 0.1; done
PROXY=http://127.0.0.1:$(awk '/listening/{print $2}' "$T/proxy.out")
check_exit "a corrupted byte in a multipart download: exit 6" 6 "$PQF" cp --quiet --endpoint-url "$PROXY" s3://pqf-tls/aws-m20 "$T/m20.bad"
check_grep "... naming the object and its multipart ETag" "s3://pqf-tls/aws-m20: downloaded bytes do not give the multipart ETag [0-9a-f]{32}-3" "$T/last.out"
if [ -e "$T/m20.bad" ] || ls "$T" | grep -q "m20.bad"; then not_ok "... and nothing is left at the destination"; else ok "... and nothing is left at the destination"; fi
check_exit "cat of it through the corrupting proxy: exit 6 too" 6 bash -c "'$PQF' cat --endpoint-url '$PROXY' s3://pqf-tls/p5 >/dev/null"
check_exit "a corrupted single-part download: exit 6" 6 bash -c "'$PQF' cat --endpoint-url '$PROXY' s3://pqf-tls/shared >/dev/null"

done_testing
