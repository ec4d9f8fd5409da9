// Validate JSON files against a JSON Schema (draft 2020-12) with ajv.
// Usage: node jsonschema.mjs SCHEMA FILE...  Prints one TAP-ish line per file
// ("ok FILE" / "not_ok FILE <errors>") and exits 1 if any is invalid.
import Ajv2020 from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';

const ajv = new Ajv2020({ allErrors: true, strict: true });
const validate = ajv.compile(JSON.parse(readFileSync(process.argv[2], 'utf8')));
let bad = 0;
for (const f of process.argv.slice(3)) {
  const ok = validate(JSON.parse(readFileSync(f, 'utf8')));
  if (ok) console.log(`ok\t${f}`);
  else {
    bad++;
    console.log(`not_ok\t${f}\t${ajv.errorsText(validate.errors)}`);
  }
}
process.exit(bad ? 1 : 0);
