#!/usr/bin/env bash
# pqfeed template and pqfeed audit, offline: the generated documents parse
# (JSON via node), CloudFormation has the right structure, Terraform passes a
# structural check (tests/security/tfcheck.js: terraform is not installable
# here), every policy denies non-TLS access and unencrypted uploads, the
# templates audit clean, and every known-bad case in tests/security/bad/
# triggers the rule it names ("expect RULE" inside the file).
. "$(dirname "$0")/../lib.sh"
BAD=$ROOT/tests/security/bad
KEY=arn:aws:kms:us-east-1:111111111111:key/feed-key
export HOME=$T/home; mkdir -p "$HOME"

check "template writes JSON, Terraform and CloudFormation" "$PQF" template \
    --primary-account 111111111111 --replica-account 222222222222 \
    --primary-bucket feed-primary --replica-bucket feed-dr --prefix feed \
    --primary-region eu-west-1 --replica-region eu-central-1 \
    --primary-kms-key arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab \
    --replica-kms-key arn:aws:kms:eu-central-1:222222222222:key/abcd1234-ab12-cd34-ef56-abcdef123456 \
    --out "$T/tpl"
for f in pqfeed-template.json primary.cfn.json replica.cfn.json; do
    check "$f is JSON (node JSON.parse)" node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$T/tpl/$f"
done
cat >"$T/cfncheck.js" <<'JS'
const t = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const allowed = ['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters', 'Mappings',
  'Conditions', 'Transform', 'Resources', 'Outputs'];
const bad = [];
for (const k of Object.keys(t)) if (!allowed.includes(k)) bad.push('top-level ' + k);
if (t.AWSTemplateFormatVersion !== '2010-09-09') bad.push('AWSTemplateFormatVersion');
if (!t.Resources || !Object.keys(t.Resources).length) bad.push('no Resources');
for (const [n, r] of Object.entries(t.Resources || {})) {
  if (!/^[A-Za-z0-9]+$/.test(n)) bad.push('logical id ' + n);
  if (!/^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$/.test(r.Type || '')) bad.push(n + ': Type');
  if (typeof r.Properties !== 'object') bad.push(n + ': Properties');
  for (const k of Object.keys(r)) if (!['Type', 'Properties', 'DependsOn', 'DeletionPolicy',
    'UpdateReplacePolicy', 'Metadata', 'Condition'].includes(k)) bad.push(n + ': ' + k);
  if (r.DependsOn && !t.Resources[r.DependsOn]) bad.push(n + ': DependsOn ' + r.DependsOn);
}
const refs = JSON.stringify(t).match(/"Ref":"([A-Za-z0-9]+)"/g) || [];
for (const r of refs) { const id = r.slice(7, -1); if (!t.Resources[id]) bad.push('Ref ' + id); }
if (bad.length) { console.log(bad.join('\n')); process.exit(1); }
JS
check "primary.cfn.json: CloudFormation structure" node "$T/cfncheck.js" "$T/tpl/primary.cfn.json"
check "replica.cfn.json: CloudFormation structure" node "$T/cfncheck.js" "$T/tpl/replica.cfn.json"
check_grep "primary stack: bucket with replication" '"ReplicationConfiguration"' "$T/tpl/primary.cfn.json"
check "main.tf: structural check (blocks, heredoc JSON, required arguments)" node "$ROOT/tests/security/tfcheck.js" "$T/tpl/main.tf"
sed 's/^  bucket   = "feed-dr"$//' "$T/tpl/main.tf" >"$T/broken.tf"
check_exit "the structural check catches a missing argument" 1 node "$ROOT/tests/security/tfcheck.js" "$T/broken.tf"

cat >"$T/every.js" <<'JS'
// Every permissions policy denies non-TLS; every S3 one denies unencrypted uploads;
// replication has RTC, metrics and SSE-KMS with the replica's key.
const b = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const bad = [];
for (const [n, d] of Object.entries(b.documents)) {
  if (!d.Statement) continue;
  const st = d.Statement;
  if (n.includes('trust')) continue;
  if (!st.some(s => s.Effect === 'Deny' && JSON.stringify(s.Condition || {}).includes('"aws:SecureTransport":"false"')))
    bad.push(n + ': no TLS deny');
  if (!n.includes('kms') && !st.some(s => s.Effect === 'Deny' && s.Action === 's3:PutObject' &&
      JSON.stringify(s.Condition).includes('"s3:x-amz-server-side-encryption":"aws:kms"')))
    bad.push(n + ': no unencrypted-upload deny');
}
const r = b.documents.replication_configuration.Rules[0];
if (r.Destination.ReplicationTime.Status !== 'Enabled') bad.push('RTC');
if (r.Destination.Metrics.Status !== 'Enabled') bad.push('metrics');
if (r.Destination.EncryptionConfiguration.ReplicaKmsKeyID !== b.replica.kms_key) bad.push('replica key');
if (r.SourceSelectionCriteria.SseKmsEncryptedObjects.Status !== 'Enabled') bad.push('SSE-KMS selection');
if (r.DeleteMarkerReplication.Status !== process.argv[3]) bad.push('delete markers ' + r.DeleteMarkerReplication.Status);
if (bad.length) { console.log(bad.join('\n')); process.exit(1); }
JS
check "every policy denies non-TLS and unencrypted uploads; replication RTC+metrics+KMS" node "$T/every.js" "$T/tpl/pqfeed-template.json" Disabled
"$PQF" template --primary-account 111111111111 --replica-account 222222222222 --primary-bucket feed-primary \
    --replica-bucket feed-dr --replicate-delete-markers >"$T/dm.json"
check "--replicate-delete-markers turns delete marker replication on" node "$T/every.js" "$T/dm.json" Enabled
for f in pqfeed-template.json main.tf primary.cfn.json replica.cfn.json; do
    check "audit passes on the generated $f" "$PQF" audit --no-credentials "$T/tpl/$f"
done
check "audit passes on a template without a prefix" "$PQF" audit --no-credentials "$T/dm.json"
check_exit "template refuses one account for both" 2 "$PQF" template --primary-account 111111111111 \
    --replica-account 111111111111 --primary-bucket a-b-c --replica-bucket d-e-f
check_exit "template refuses a bad bucket name" 2 "$PQF" template --primary-account 111111111111 \
    --replica-account 222222222222 --primary-bucket 'Bad_Name' --replica-bucket d-e-f

# a template altered by hand is caught
node -e 'const f=process.argv[1],b=JSON.parse(require("fs").readFileSync(f));
  b.documents.consumer_policy.Statement.shift();
  b.documents.replica_bucket_policy.Statement.push({Effect:"Allow",Principal:{AWS:"arn:aws:iam::111111111111:root"},Action:"s3:*",Resource:"arn:aws:s3:::feed-dr/*"});
  require("fs").writeFileSync(f+".bad",JSON.stringify(b))' "$T/tpl/pqfeed-template.json"
"$PQF" audit --no-credentials --json "$T/tpl/pqfeed-template.json.bad" >"$T/altered.json"
check_eq "audit of an altered template exits 20" "$?" 20
check_grep "altered: the consumer's missing TLS deny" '"rule":"missing-tls-deny","status":"fail","severity":"high","where":"[^"]*consumer_policy"' "$T/altered.json"
check_grep "altered: the other account's s3:* grant" '"rule":"cross-account-wide".*replica_bucket_policy' "$T/altered.json"

# ---- known-bad cases --------------------------------------------------------
n=0
for f in "$BAD"/*; do
    want=$(grep -oE 'expect [a-z-]+' "$f" | head -1 | cut -d' ' -f2)
    name=$(basename "$f")
    if [ -z "$want" ]; then not_ok "$name says which rule it expects"; continue; fi
    src=$f
    case "$f" in *.ini) cp "$f" "$T/$name"; chmod 644 "$T/$name"; src=$T/$name ;; esac
    "$PQF" audit --no-credentials --json --account 111111111111 --kms-key "$KEY" "$src" >"$T/bad.out" 2>&1
    rc=$?
    if [ "$rc" -eq 20 ] && node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));
        process.exit(r.findings.some(f => f.rule === process.argv[2] && f.status === "fail") ? 0 : 1)' "$T/bad.out" "$want"; then
        ok "bad/$name: $want fires"
    else
        not_ok "bad/$name: $want fires" "exit $rc" "$(head -c 800 "$T/bad.out")"
    fi
    n=$((n + 1))
done
[ "$n" -ge 20 ] && ok "at least 20 known-bad cases ($n)" || not_ok "at least 20 known-bad cases ($n)"

# ---- credentials files ------------------------------------------------------
mkdir -p "$HOME/.aws"
printf '[default]\naws_access_key_id = AKIAFAKEFAKEFAKE\naws_secret_access_key = SECRETSECRETSECRET42\n' >"$HOME/.aws/credentials"
chmod 644 "$HOME/.aws/credentials"
"$PQF" audit >"$T/creds.out" 2>&1
check_eq "a world-readable ~/.aws/credentials exits 20" "$?" 20
check_grep "names the file and the rule" "credentials-readable .*$HOME/.aws/credentials" "$T/creds.out"
check_grep "gives the fix" "chmod 600" "$T/creds.out"
if grep -q SECRETSECRETSECRET42 "$T/creds.out"; then not_ok "the secret is never printed"; else ok "the secret is never printed"; fi
chmod 600 "$HOME/.aws/credentials"
check "mode 600 passes" "$PQF" audit
check_exit "--credentials-file F: a group-readable file" 20 bash -c "chmod 640 '$HOME/.aws/credentials'; '$PQF' audit --no-credentials --credentials-file '$HOME/.aws/credentials'"
# no core dumps of our own making: the command sets its own core limit to 0
"$PQF" version >/dev/null
if command -v strace >/dev/null 2>&1; then
    strace -f -e trace=prlimit64,setrlimit,prctl -o "$T/strace.out" "$PQF" version >/dev/null 2>&1
    check_grep "pqfeed sets RLIMIT_CORE to 0 at start" "RLIMIT_CORE, \{rlim_cur=0, rlim_max=0\}" "$T/strace.out"
    check_grep "and marks itself not dumpable" "PR_SET_DUMPABLE, (0|SUID_DUMP_DISABLE)" "$T/strace.out"
else
    skip "core dumps are off" "strace not installed"
fi
done_testing
