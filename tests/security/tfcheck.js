// A structural check of pqfeed's Terraform (terraform itself cannot be
// installed here): balanced blocks and brackets outside strings, heredocs
// closed and holding valid JSON, every resource of a known type with its
// required arguments and nested blocks, every provider reference declared.
// usage: node tfcheck.js main.tf   (prints "ok" or the problems; exit 1)
'use strict';
const fs = require('fs');
const text = fs.readFileSync(process.argv[2], 'utf8');
const problems = [];
const required = {
  aws_s3_bucket_versioning: ['provider', 'bucket', 'versioning_configuration'],
  aws_s3_bucket_lifecycle_configuration: ['provider', 'bucket', 'rule'],
  aws_s3_bucket_server_side_encryption_configuration: ['provider', 'bucket', 'rule'],
  aws_s3_bucket_public_access_block: ['provider', 'bucket', 'block_public_acls', 'ignore_public_acls',
    'block_public_policy', 'restrict_public_buckets'],
  aws_s3_bucket_ownership_controls: ['provider', 'bucket', 'rule'],
  aws_s3_bucket_policy: ['provider', 'bucket', 'policy'],
  aws_iam_role: ['provider', 'name', 'assume_role_policy'],
  aws_iam_role_policy: ['provider', 'name', 'role', 'policy'],
  aws_iam_policy: ['provider', 'name', 'policy'],
  aws_kms_key_policy: ['provider', 'key_id', 'policy'],
  aws_s3_bucket_replication_configuration: ['provider', 'role', 'bucket', 'rule'],
};
const lines = text.split('\n');
let depth = 0, cur = null, heredoc = null, providers = new Set(), refs = [];
const resources = [];
for (let i = 0; i < lines.length; i++) {
  const raw = lines[i], line = raw.trim(), at = `line ${i + 1}`;
  if (heredoc) {
    if (line === heredoc.tag) {
      try { JSON.parse(heredoc.body.join('\n')); } catch (e) { problems.push(`${heredoc.at}: heredoc is not JSON: ${e.message}`); }
      heredoc = null;
    } else heredoc.body.push(raw);
    continue;
  }
  if (line === '' || line.startsWith('#')) continue;
  // strip strings for bracket counting
  const code = line.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  if (/"/.test(code.replace(/""/g, ''))) problems.push(`${at}: unterminated string`);
  const hd = code.match(/^([a-z_]+)\s*=\s*<<-?([A-Z]+)$/);
  if (hd) {
    heredoc = { tag: hd[2], body: [], at };
    if (cur && depth === 1) cur.attrs.add(hd[1]);
    continue;
  }
  const m = line.match(/^resource\s+"([a-z0-9_]+)"\s+"([a-z0-9_]+)"\s*\{$/);
  if (m && depth === 0) { cur = { type: m[1], name: m[2], attrs: new Set(), at }; resources.push(cur); }
  else if (depth === 0 && !/^(terraform|provider\s+"aws"|variable\s+"[a-z_]+")\s*\{$/.test(line) && !m)
    problems.push(`${at}: unexpected top-level text: ${line}`);
  if (depth === 0 && /^provider\s+"aws"/.test(line)) cur = { type: 'provider', attrs: new Set(), at };
  if (cur && depth === 1) {
    const a = code.match(/^([a-z_]+)\s*(=|\{)/);
    if (a) cur.attrs.add(a[1]);
    const al = code.match(/^alias\s*=\s*"([a-z]+)"/) || line.match(/^alias\s*=\s*"([a-z]+)"/);
    if (cur.type === 'provider' && al) providers.add(al[1]);
    const pr = line.match(/^provider\s*=\s*aws\.([a-z]+)$/);
    if (pr) refs.push([pr[1], at]);
  }
  for (const ch of code) {
    if (ch === '{' || ch === '[') depth += ch === '{' ? 1 : 0;
    if (ch === '}') depth--;
  }
  const ob = (code.match(/\[/g) || []).length, cb = (code.match(/\]/g) || []).length;
  if (ob !== cb) problems.push(`${at}: unbalanced [ ]`);
  if (depth < 0) { problems.push(`${at}: unbalanced }`); depth = 0; }
  if (depth === 0) cur = null;
}
if (heredoc) problems.push(`${heredoc.at}: heredoc not closed`);
if (depth !== 0) problems.push(`end of file: ${depth} block(s) not closed`);
for (const r of resources) {
  const need = required[r.type];
  if (!need) { problems.push(`${r.at}: unknown resource type ${r.type}`); continue; }
  for (const a of need) if (!r.attrs.has(a)) problems.push(`${r.at}: ${r.type}.${r.name} lacks ${a}`);
}
for (const [p, at] of refs) if (!providers.has(p)) problems.push(`${at}: provider aws.${p} is not declared`);
if (resources.length === 0) problems.push('no resources');
if (problems.length) { console.log(problems.join('\n')); process.exit(1); }
console.log(`ok: ${resources.length} resources, providers ${[...providers].join(', ')}`);
