#!/usr/bin/env bash
# pqfeed bucket check|setup|cost and pqfeed audit of live buckets against a
# real Ceph RGW (scripts/rgw.sh; stopped on exit). RGW Pacific implements
# versioning, lifecycle, policy, public access block and object lock, and
# answers ?encryption, ?ownershipControls and ?replication without
# implementing them: those must be reported as "not supported by this
# server", never as a pass.
. "$(dirname "$0")/../lib.sh"

start_rgw
AWS=(/usr/bin/aws --endpoint-url "$RGW_ENDPOINT")
for b in pqf-fresh pqf-pol pqf-other pqf-cost; do "${AWS[@]}" s3 mb s3://$b >/dev/null; done
json_has() { # FILE JS (statements allowed; the last one's value decides) over r, the parsed file
    node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));process.exit(eval(process.argv[2])?0:1)' "$1" "$2"
}

# ---- check on a fresh bucket -----------------------------------------------------
"$PQF" bucket check --json s3://pqf-fresh/feed >"$T/c1.json" 2>"$T/c1.err"
check_eq "check of a fresh bucket exits 20 (gaps)" "$?" 20
check "fresh: versioning is a gap" json_has "$T/c1.json" 'r.findings.some(f=>f.rule==="versioning-off"&&f.status==="fail")'
check "fresh: no lifecycle on noncurrent versions is a gap" json_has "$T/c1.json" 'r.findings.some(f=>f.rule==="no-noncurrent-lifecycle"&&f.status==="fail")'
check "fresh: no bucket policy is a gap" json_has "$T/c1.json" 'r.findings.some(f=>f.where==="policy"&&f.status==="fail")'
check "fresh: public access block gap" json_has "$T/c1.json" 'r.findings.some(f=>f.rule==="public-access-block-off"&&f.status==="fail")'
for s in "default encryption" "ownership controls" "replication"; do
    check "$s: reported unsupported, not a pass" json_has "$T/c1.json" "r.findings.some(f=>f.where===\"$s\"&&f.status===\"unsupported\"&&/not supported by this server/.test(f.what))&&!r.findings.some(f=>f.where===\"$s\"&&f.status===\"pass\")"
done
check "object lock: read (supported), not enabled" json_has "$T/c1.json" 'r.findings.some(f=>f.where==="object lock"&&f.status==="info"&&f.what==="not enabled")'
check "every gap has a fix" json_has "$T/c1.json" 'r.findings.filter(f=>f.status==="fail").every(f=>f.fix.length>0)'
"$PQF" bucket check s3://pqf-fresh/feed >"$T/c1.txt" 2>&1
check_grep "text: the fix names the setup command" "fix: pqfeed bucket setup s3://pqf-fresh/feed --role primary" "$T/c1.txt"

# ---- setup ---------------------------------------------------------------------------
"$PQF" bucket setup --dry-run s3://pqf-fresh/feed >"$T/dry.out" 2>&1
check_eq "setup --dry-run exits 0" "$?" 0
check_grep "dry run shows the versioning XML" "<VersioningConfiguration [^>]*><Status>Enabled</Status>" "$T/dry.out"
check_grep "dry run shows the lifecycle XML" "<NoncurrentDays>30</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions>.*<DaysAfterInitiation>7</DaysAfterInitiation>" "$T/dry.out"
check_grep "dry run: lifecycle scoped to the prefix" "<Filter><Prefix>feed/</Prefix></Filter>" "$T/dry.out"
check_eq "dry run changed nothing" "$("${AWS[@]}" s3api get-bucket-versioning --bucket pqf-fresh --output text)" ""
"$PQF" bucket setup s3://pqf-fresh/feed --role replica >"$T/setup1.out" 2>&1
check_eq "setup exits 0" "$?" 0
check_grep "setup shows the change before making it" "versioning: never enabled -> Enabled" "$T/setup1.out"
check_grep "setup applied" "^applied" "$T/setup1.out"
check_eq "versioning is on (awscli)" "$("${AWS[@]}" s3api get-bucket-versioning --bucket pqf-fresh --query Status --output text)" "Enabled"
"${AWS[@]}" s3api get-bucket-lifecycle-configuration --bucket pqf-fresh >"$T/lc.json"
check "lifecycle rule is there (awscli)" json_has "$T/lc.json" 'r.Rules[0].ID==="pqfeed-dr"&&r.Rules[0].NoncurrentVersionExpiration.NoncurrentDays===30&&r.Rules[0].AbortIncompleteMultipartUpload.DaysAfterInitiation===7&&r.Rules[0].Expiration.ExpiredObjectDeleteMarker===true'
"$PQF" bucket setup s3://pqf-fresh/feed --role replica >"$T/setup2.out" 2>&1
check_eq "second setup exits 0" "$?" 0
check_grep "second setup: nothing to change" "^nothing to change" "$T/setup2.out"
check_grep "second setup: versioning no change" "versioning: Enabled \(no change\)" "$T/setup2.out"
check_grep "second setup: lifecycle no change" "lifecycle: .*\(no change\)" "$T/setup2.out"
check_grep "says RGW dropped NewerNoncurrentVersions" "NewerNoncurrentVersions" "$T/setup2.out"
"$PQF" bucket check --json --role replica s3://pqf-fresh/feed >"$T/c2.json"
check "after setup: versioning passes" json_has "$T/c2.json" 'r.findings.some(f=>f.rule==="versioning-off"&&f.status==="pass")'
check "after setup: lifecycle passes" json_has "$T/c2.json" '["no-noncurrent-lifecycle","no-abort-multipart","no-delete-marker-cleanup"].every(x=>r.findings.some(f=>f.rule===x&&f.status==="pass"))'

# a bucket with someone else's lifecycle rule: not replaced unless asked
echo '{"Rules":[{"ID":"theirs","Status":"Enabled","Filter":{"Prefix":"logs/"},"Expiration":{"Days":90}}]}' >"$T/theirs.json"
"${AWS[@]}" s3api put-bucket-lifecycle-configuration --bucket pqf-other --lifecycle-configuration "file://$T/theirs.json"
"$PQF" bucket setup s3://pqf-other >"$T/other.out" 2>&1
check_eq "other rules present: setup exits 11 (conflict)" "$?" 11
check_grep "and says why" "BLOCKED|other lifecycle rule" "$T/other.out"
check_eq "their rule untouched" "$("${AWS[@]}" s3api get-bucket-lifecycle-configuration --bucket pqf-other --query 'Rules[0].ID' --output text)" "theirs"
check "--replace-lifecycle applies" "$PQF" bucket setup --replace-lifecycle s3://pqf-other

# ---- policy and public access block --------------------------------------------------
"$PQF" template --primary-account 111111111111 --replica-account 222222222222 --primary-bucket pqf-pol \
    --replica-bucket pqf-dr-unused --format json >"$T/tpl.json"
node -e 'const b=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(JSON.stringify(b.documents.primary_bucket_policy))' "$T/tpl.json" >"$T/pol.json"
check "RGW takes pqfeed's bucket policy" "${AWS[@]}" s3api put-bucket-policy --bucket pqf-pol --policy "file://$T/pol.json"
check "RGW takes a public access block" "${AWS[@]}" s3api put-public-access-block --bucket pqf-pol \
    --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
"$PQF" bucket check --json --account 111111111111 s3://pqf-pol >"$T/c3.json"
check "policy read back and passes (TLS and encryption denies found)" json_has "$T/c3.json" 'r.findings.some(f=>f.where==="policy"&&f.status==="pass")'
check "public access block passes" json_has "$T/c3.json" 'r.findings.some(f=>f.rule==="public-access-block-off"&&f.status==="pass")'
echo '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pqf-other/*"}]}' >"$T/public.json"
"${AWS[@]}" s3api put-bucket-policy --bucket pqf-other --policy "file://$T/public.json"
"$PQF" audit --no-credentials s3://pqf-other >"$T/a1.out" 2>&1
check_eq "audit of a public bucket exits 20" "$?" 20
check_grep "audit names public access in the live policy" "critical +public-access +policy: statement 1" "$T/a1.out"
check_grep "audit names the missing TLS deny" "missing-tls-deny" "$T/a1.out"
check_grep "audit reports what the server does not support" "unsupported .*not supported by this server" "$T/a1.out"

# ---- cost ------------------------------------------------------------------------------
"$PQF" bucket setup s3://pqf-cost >/dev/null 2>&1
for v in 1 2 3 4; do
    head -c $((1000 * v)) /dev/zero >"$T/v$v"
    for k in orders/data/a.parquet orders/_log/1.json users/data/b.parquet; do
        "$PQF" cp --quiet "$T/v$v" "s3://pqf-cost/$k"
    done
done
printf 'x' >"$T/feedjson"; "$PQF" cp --quiet "$T/feedjson" s3://pqf-cost/_feed.json
"$PQF" rm --quiet s3://pqf-cost/users/data/b.parquet
"$PQF" bucket cost --json s3://pqf-cost >"$T/cost.json"
check_eq "cost exits 0" "$?" 0
check "orders/: 2 current objects of 4000 bytes, 6 noncurrent versions, 12000 bytes" json_has "$T/cost.json" 'const g=r.prefixes.find(p=>p.prefix==="orders/");g.current_objects===2&&g.current_bytes===8000&&g.noncurrent_versions===6&&g.noncurrent_bytes===12000'
check "users/: deleted: 0 current, 4 noncurrent (10000 bytes), 1 delete marker" json_has "$T/cost.json" 'const g=r.prefixes.find(p=>p.prefix==="users/");g.current_objects===0&&g.noncurrent_bytes===10000&&g.delete_markers===1'
check "(root): _feed.json" json_has "$T/cost.json" 'const g=r.prefixes.find(p=>p.prefix==="(root)");g.current_objects===1&&g.current_bytes===1'
check "total adds up; today nothing expires (30 days)" json_has "$T/cost.json" 'r.total.current_bytes===8001&&r.total.noncurrent_bytes===22000&&r.total.expire_bytes===0'
check "monthly estimate at the S3 Standard list price" json_has "$T/cost.json" 'r.price_usd_per_gb_month===0.023&&Math.abs(r.total.monthly_usd-30001/2**30*0.023)<1e-4'
"$PQF" bucket cost --json --in-days 2 --noncurrent-days 1 --keep-newest 1 --price 0.0125 s3://pqf-cost >"$T/cost2.json"
check "in 2 days, keep newest 1: 2 of 3 noncurrent versions per key expire" json_has "$T/cost2.json" 'const o=r.prefixes.find(p=>p.prefix==="orders/"),u=r.prefixes.find(p=>p.prefix==="users/");o.expire_versions===4&&o.expire_bytes===6000&&u.expire_versions===3&&u.expire_bytes===6000'
check "--price overrides" json_has "$T/cost2.json" 'r.price_usd_per_gb_month===0.0125'
"$PQF" bucket cost s3://pqf-cost >"$T/cost.txt"
check_grep "text table has the total row" "^\(total\) +3 +8001 +10 +22000" "$T/cost.txt"

# ---- errors ----------------------------------------------------------------------------
check_exit "check of a missing bucket exits 9" 9 "$PQF" bucket check s3://pqf-nope
check_exit "bucket commands need s3://" 2 "$PQF" bucket check "$T"
AWS_SECRET_ACCESS_KEY=wrong-secret-value "$PQF" bucket check s3://pqf-fresh >"$T/wrong.out" 2>&1
check_eq "wrong secret exits 12" "$?" 12
if grep -q "wrong-secret-value\|$RGW_SECRET_KEY" "$T/wrong.out"; then not_ok "no secret in the error"; else ok "no secret in the error"; fi
done_testing
