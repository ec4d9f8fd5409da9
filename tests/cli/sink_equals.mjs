// node sink_equals.mjs SCHEMA.json WANT.ndjson GOT.json [KEY]
// Compare a sink's table (GOT: a JSON array of rows, as `sqlite3 -json` or
// psql's json_agg print them) with the source's state (WANT: NDJSON), after
// bringing both to one spelling per type of the schema file: booleans from
// 0/1, decimals at their scale, timestamps with six fraction digits and Z,
// nested and JSON values parsed and their object keys sorted (jsonb reorders
// them). Prints "equal N rows" or the first differences; exit 0 when equal.
import { readFileSync } from "node:fs";

const [schemaPath, wantPath, gotPath, key = "id"] = process.argv.slice(2);
const schema = JSON.parse(readFileSync(schemaPath, "utf8"));

function sorted(v) {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === "object")
        return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])]));
    return v;
}
function ts(v) {
    const m = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]00(?::?00)?)?$/.exec(v);
    if (!m) return "bad timestamp " + v;
    return `${m[1]}T${m[2]}.${(m[3] || "").padEnd(6, "0")}${m[4] ? "Z" : ""}`;
}
function canon(col, v) {
    if (v === null || v === undefined) return null;
    const t = col.type;
    if (typeof t === "object") return JSON.stringify(sorted(typeof v === "string" ? JSON.parse(v) : v));
    if (t === "json") return JSON.stringify(sorted(typeof v === "string" ? JSON.parse(v) : v));
    if (t === "bool") return v === true || v === 1 || v === "t" || v === "true";
    const dec = /^decimal\(\d+,(\d+)\)$/.exec(t);
    if (dec) return Number(v).toFixed(Number(dec[1]));
    if (/^timestamp/.test(t)) return ts(v);
    if (/^u?int/.test(t)) return String(v);
    if (t === "float" || t === "double") return Number(v);
    return v;
}
function canonRow(r) {
    const o = {};
    for (const c of schema.columns) o[c.name] = canon(c, r[c.name]);
    return o;
}
const want = new Map();
for (const line of readFileSync(wantPath, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const r = canonRow(JSON.parse(line));
    want.set(String(r[key]), r);
}
const gotText = readFileSync(gotPath, "utf8").trim();
const gotRows = gotText ? JSON.parse(gotText) : [];
const got = new Map();
const diffs = [];
for (const raw of gotRows || []) {
    const r = canonRow(raw);
    const k = String(r[key]);
    if (got.has(k)) diffs.push(`key ${k}: twice in the sink`);
    got.set(k, r);
}
for (const [k, w] of want) {
    const g = got.get(k);
    if (!g) { diffs.push(`key ${k}: missing from the sink`); continue; }
    for (const c of schema.columns) {
        const a = JSON.stringify(w[c.name]), b = JSON.stringify(g[c.name]);
        if (a !== b) diffs.push(`key ${k}: ${c.name}: want ${a}, got ${b}`);
    }
}
for (const k of got.keys()) if (!want.has(k)) diffs.push(`key ${k}: in the sink, not in the source`);
if (diffs.length) {
    console.log(`${diffs.length} differences (want ${want.size} rows, got ${got.size}):`);
    for (const d of diffs.slice(0, 15)) console.log("  " + d);
    process.exit(1);
}
console.log(`equal ${want.size} rows`);
