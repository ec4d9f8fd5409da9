// Test data for the interop matrix: one table with a column per type (each
// REQUIRED and OPTIONAL), nested columns, edge values first, then seeded
// random values. For each column it knows how to write a value as NDJSON and
// CSV text, its canonical form (canon.mjs) and its Parquet sort order, so the
// expected rows and statistics come from here, not from any reader.

import { formatDate, formatClock, formatTimestamp, formatDecimal, formatFloat, base64 } from './canon.mjs'

// ---- seeded PRNG (mulberry32) --------------------------------------------
export function rng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), // small ranges (< 2^53)
    big: (lo, hi) => { // BigInt in [lo, hi]
      const span = hi - lo + 1n
      let v = 0n
      for (let i = 0; i < 3; i++) v = (v << 32n) | BigInt(Math.floor(next() * 4294967296))
      return lo + v % span
    },
    pick: a => a[Math.floor(next() * a.length)],
  }
}

const enc = new TextEncoder()
const bytesCmp = (a, b) => Buffer.compare(Buffer.from(enc.encode(a)), Buffer.from(enc.encode(b)))
const numCmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0)

// ---- leaf types ------------------------------------------------------------
// schema: the schema-file type (docs/SCHEMA-FILE.md); phys: Parquet physical
// type; desc: expected canonical descriptor fields (checked against the file's
// footer); duck: DuckDB's type for the column (parquet_schema duckdb_type).
const I = (bits, signed) => {
  const lo = signed ? -(1n << BigInt(bits - 1)) : 0n
  const hi = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n
  return {
    schema: `${signed ? '' : 'u'}int${bits}`, phys: bits === 64 ? 'INT64' : 'INT32',
    desc: { kind: 'int', signed, bits },
    duck: { '8true': 'TINYINT', '16true': 'SMALLINT', '32true': 'INTEGER', '64true': 'BIGINT', '8false': 'UTINYINT', '16false': 'USMALLINT', '32false': 'UINTEGER', '64false': 'UBIGINT' }[`${bits}${signed}`],
    edges: [lo, hi, 0n, 1n, signed ? -1n : hi - 1n, lo + 1n],
    rand: r => r.big(lo, hi),
    json: v => v.toString(), csv: v => v.toString(), canon: v => v.toString(), cmp: numCmp,
  }
}

const F32_EDGES = [0, -0, 1.5, -1.5, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, -1.1754943508222875e-38, Math.fround(0.1), NaN, Infinity, -Infinity, 16777216]
const F64_EDGES = [0, -0, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324, 2.2250738585072014e-308, 0.1, NaN, Infinity, -Infinity, 1e21, 9007199254740993, -123456789.125]
const floatText = single => v => Number.isFinite(v) ? formatFloat(v, single) : JSON.stringify(formatFloat(v, single))
const floatCsv = single => v => formatFloat(v, single)

const STRINGS = ['', 'a', 'héllo wörld', '日本語のテキスト', 'emoji 🎉😀', 'quote " and \\ backslash', 'comma, semi;', 'line\nbreak\r\nCRLF', 'tab\tx', '\u0001ctl\u001f', ' lead and trail ', 'NULL', 'null', 'x'.repeat(100), 'ÿ\u00ff\uffff\u{10ffff}']
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu']
const randString = r => {
  const n = r.int(0, 24)
  let s = ''
  for (let i = 0; i < n; i++) s += r.next() < 0.9 ? String.fromCharCode(r.int(32, 126)) : r.pick(['é', '中', '€', '🙂'])
  return s
}
const csvQuote = s => `"${s.replace(/"/g, '""')}"`

function tsType(unit, utc) {
  const u = { MILLIS: 'ms', MICROS: 'us', NANOS: 'ns' }[unit]
  const step = { MILLIS: 1000000n, MICROS: 1000n, NANOS: 1n }[unit]
  // ms/us: years 0001..9999; ns: 1677-09-22..2262-04-10, a little inside
  // the int64 nanosecond range, because DuckDB's TIMESTAMP_NS stops short of
  // it (min() of 1677-09-21T00:12:44 fails: "Date out of range in
  // timestamp_ns conversion") and that would sink all its metadata checks.
  const lo = unit === 'NANOS' ? -9223286400000000000n : -62135596800000000000n
  const hi = unit === 'NANOS' ? 9223286399999999999n : 253402300799999999999n
  const trunc = v => v - (((v % step) + step) % step)
  const text = v => formatTimestamp(v, unit, utc)
  return {
    schema: `timestamp_${u}`, schemaExtra: { utc }, phys: 'INT64',
    desc: { kind: 'timestamp', unit, utc },
    duck: utc ? ['TIMESTAMP WITH TIME ZONE'] : unit === 'NANOS' ? ['TIMESTAMP_NS'] : ['TIMESTAMP', 'TIMESTAMP_MS'],
    edges: [trunc(lo), trunc(hi), 0n, -step, 1583020800000000000n + 123456789n - (123456789n % step), 951782400000000000n],
    rand: r => trunc(r.big(lo, hi)),
    // UTC columns also get some values written with an offset (same instant).
    json: (v, i) => JSON.stringify(utc && i % 13 === 7 ? formatTimestamp(v + 19800000000000n, unit, false) + '+05:30' : text(v)),
    csv: (v, i) => (utc && i % 13 === 7 ? formatTimestamp(v + 19800000000000n, unit, false) + '+05:30' : text(v)),
    canon: text, cmp: numCmp,
  }
}

function timeType(unit) {
  const step = { MILLIS: 1000000n, MICROS: 1000n, NANOS: 1n }[unit]
  const hi = 86400000000000n - step
  return {
    schema: `time_${{ MILLIS: 'ms', MICROS: 'us', NANOS: 'ns' }[unit]}`, phys: unit === 'MILLIS' ? 'INT32' : 'INT64',
    desc: { kind: 'time', unit }, duck: ['TIME', 'TIME WITH TIME ZONE'],
    edges: [0n, hi, step, 43200000000000n],
    rand: r => r.big(0n, hi / step) * step,
    json: v => JSON.stringify(formatClock(v, unit)), csv: v => formatClock(v, unit), canon: v => formatClock(v, unit), cmp: numCmp,
  }
}

function decType(p, s, phys) {
  const m = 10n ** BigInt(p) - 1n
  return {
    schema: `decimal(${p},${s})`, phys, desc: { kind: 'decimal', scale: s, precision: p }, duck: `DECIMAL(${p},${s})`,
    edges: [m, -m, 0n, 1n, -1n, 10n ** BigInt(s)],
    rand: r => r.big(-m, m),
    json: v => formatDecimal(v, s), csv: v => formatDecimal(v, s), canon: v => formatDecimal(v, s), cmp: numCmp,
  }
}

const hex = r => Array.from({ length: 16 }, () => r.int(0, 255).toString(16).padStart(2, '0')).join('')
const uuidFmt = h => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`

export const TYPES = {
  int8: I(8, true), int16: I(16, true), int32: I(32, true), int64: I(64, true),
  uint8: I(8, false), uint16: I(16, false), uint32: I(32, false), uint64: I(64, false),
  float: {
    schema: 'float', phys: 'FLOAT', desc: { kind: 'float' }, duck: 'FLOAT', edges: F32_EDGES,
    rand: r => Math.fround((r.next() - 0.5) * 2 ** r.int(-20, 40)),
    json: floatText(true), csv: floatCsv(true), canon: v => formatFloat(v, true), cmp: numCmp, float: true,
  },
  double: {
    schema: 'double', phys: 'DOUBLE', desc: { kind: 'double' }, duck: 'DOUBLE', edges: F64_EDGES,
    rand: r => (r.next() - 0.5) * 2 ** r.int(-60, 80),
    json: floatText(false), csv: floatCsv(false), canon: v => formatFloat(v, false), cmp: numCmp, float: true,
  },
  bool: {
    schema: 'bool', phys: 'BOOLEAN', desc: { kind: 'bool' }, duck: 'BOOLEAN', edges: [true, false],
    rand: r => r.next() < 0.5, json: v => String(v), csv: v => String(v), canon: v => v, cmp: numCmp,
  },
  string: {
    schema: 'string', phys: 'BYTE_ARRAY', desc: { kind: 'string' }, duck: 'VARCHAR', edges: STRINGS,
    rand: randString, json: v => JSON.stringify(v), csv: v => v, canon: v => v, cmp: bytesCmp, bytes: true,
  },
  enum: {
    schema: 'enum', phys: 'BYTE_ARRAY', desc: { kind: 'string', sub: 'enum' }, duck: 'VARCHAR', edges: ['open', 'closed'],
    rand: r => r.pick(['open', 'closed', 'in_progress', 'wont_fix', 'duplicate']),
    json: v => JSON.stringify(v), csv: v => v, canon: v => v, cmp: bytesCmp, bytes: true,
  },
  json: {
    schema: 'json', phys: 'BYTE_ARRAY', desc: { kind: 'string', sub: 'json' }, duck: ['JSON', 'VARCHAR'],
    edges: ['{}', '[]', '{"a":1,"b":[true,false,null],"c":{"d":"é\\"q"}}', '0', '-1.5e10', '[{"x":[]}]'],
    rand: r => JSON.stringify({ id: r.int(0, 1e6), tag: r.pick(WORDS), ok: r.next() < 0.5 }),
    json: v => v, csv: v => v, canon: v => v, cmp: bytesCmp, bytes: true,
  },
  uuid: {
    schema: 'uuid', phys: 'FIXED_LEN_BYTE_ARRAY', desc: { kind: 'uuid' }, duck: 'UUID',
    edges: ['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '7fffffff-ffff-ffff-ffff-ffffffffffff', '80000000-0000-0000-0000-000000000000'],
    rand: r => uuidFmt(hex(r)),
    json: (v, i) => JSON.stringify(i % 5 === 1 ? v.toUpperCase() : v), csv: v => v, canon: v => v, cmp: bytesCmp,
  },
  date: {
    schema: 'date', phys: 'INT32', desc: { kind: 'date' }, duck: 'DATE', edges: [-719162, 2932896, 0, -1, 11016],
    rand: r => r.int(-719162, 2932896),
    json: v => JSON.stringify(formatDate(v)), csv: v => formatDate(v), canon: formatDate, cmp: numCmp,
  },
  time_ms: timeType('MILLIS'), time_us: timeType('MICROS'),
  ts_ms: tsType('MILLIS', false), ts_us: tsType('MICROS', false), ts_ns: tsType('NANOS', false),
  ts_ms_utc: tsType('MILLIS', true), ts_us_utc: tsType('MICROS', true), ts_ns_utc: tsType('NANOS', true),
  dec_i32: decType(9, 2, 'INT32'), dec_i64: decType(18, 4, 'INT64'), dec_flba: decType(38, 10, 'FIXED_LEN_BYTE_ARRAY'),
  binary: {
    schema: 'binary', phys: 'BYTE_ARRAY', desc: { kind: 'binary' }, duck: 'BLOB',
    edges: ['', '\u0000\u0001\u0002', 'abc', 'bytes é'], rand: randString,
    json: v => JSON.stringify(v), csv: v => v, canon: v => base64(enc.encode(v)), cmp: bytesCmp, bytes: true,
  },
  fixed: {
    schema: 'fixed(4)', phys: 'FIXED_LEN_BYTE_ARRAY', desc: { kind: 'binary', fixed: 4 }, duck: 'BLOB',
    edges: ['\u0000\u0000\u0000\u0000', '~~~~', 'abcd'], rand: r => Array.from({ length: 4 }, () => String.fromCharCode(r.int(32, 126))).join(''),
    json: v => JSON.stringify(v), csv: v => v, canon: v => base64(enc.encode(v)), cmp: bytesCmp,
  },
}

// Fixed(4) from the table above gets a physical type_length of 4.
TYPES.fixed.typeLength = 4
TYPES.uuid.typeLength = 16

// ---- columns -------------------------------------------------------------
// A column: { name, nullable, spec (leaf TYPES entry) | list | struct, values[] }.
// Nested: { kind: 'list', element } / { kind: 'struct', fields: [{name, nullable, t}] }.

export const NROWS = 300

function leafValues(spec, seed, nullable, n) {
  const r = rng(seed)
  const out = []
  for (let i = 0; i < n; i++) {
    if (nullable && i % 7 === 3) out.push(null)
    else out.push(i < spec.edges.length ? spec.edges[i] : spec.rand(r))
  }
  return out
}

// Nested column generators: value(i, r) gives a JS value (null allowed at top).
const int32 = TYPES.int32, int64 = TYPES.int64, str = TYPES.string, dbl = TYPES.double

export const NESTED = [
  { name: 'l_i32', nullable: true, t: { kind: 'list', element: { kind: 'leaf', spec: int32 } },
    value: (i, r) => i % 11 === 5 ? null : i === 0 ? [-2147483648n, 2147483647n] : i % 5 === 0 ? [] : Array.from({ length: r.int(1, 4) }, () => int32.rand(r)) },
  { name: 'l_str', nullable: true, t: { kind: 'list', element: { kind: 'leaf', spec: str } },
    value: (i, r) => i % 9 === 4 ? null : i % 6 === 0 ? [] : Array.from({ length: r.int(1, 3) }, () => r.next() < 0.2 ? r.pick(STRINGS) : randString(r)) },
  { name: 'l_st', nullable: true,
    t: { kind: 'list', element: { kind: 'struct', fields: [{ name: 'a', nullable: false, t: { kind: 'leaf', spec: int64 } }, { name: 'b', nullable: true, t: { kind: 'leaf', spec: str } }] } },
    value: (i, r) => i % 10 === 2 ? null : i % 4 === 0 ? [] : Array.from({ length: r.int(1, 3) }, () => ({ a: int64.rand(r), b: r.next() < 0.25 ? null : r.pick(WORDS) })) },
  { name: 'st', nullable: true,
    t: { kind: 'struct', fields: [{ name: 'x', nullable: false, t: { kind: 'leaf', spec: dbl } }, { name: 's', nullable: true, t: { kind: 'leaf', spec: str } }, { name: 't', nullable: true, t: { kind: 'list', element: { kind: 'leaf', spec: str } } }] },
    value: (i, r) => i % 8 === 6 ? null : { x: i < dbl.edges.length && !Number.isNaN(dbl.edges[i]) ? dbl.edges[i] : dbl.rand(r), s: i % 3 === 0 ? null : r.pick(WORDS), t: i % 5 === 1 ? null : i % 5 === 2 ? [] : [r.pick(WORDS), r.pick(STRINGS)] } },
  { name: 'll', nullable: true, t: { kind: 'list', element: { kind: 'list', element: { kind: 'leaf', spec: int32 } } },
    value: (i, r) => i % 12 === 7 ? null : i % 6 === 0 ? [] : i % 6 === 1 ? [[]] : Array.from({ length: r.int(1, 3) }, () => Array.from({ length: r.int(0, 3) }, () => BigInt(r.int(-1000, 1000)))) },
  { name: 'r_li64', nullable: false, t: { kind: 'list', element: { kind: 'leaf', spec: int64 } },
    value: (i, r) => i % 4 === 0 ? [] : Array.from({ length: r.int(1, 3) }, () => int64.rand(r)) },
]

// The table: flat columns c_<type> (required) and n_<type> (optional), an
// all-null column, then the nested ones.
export function makeTable(n = NROWS) {
  const cols = []
  let seed = 1
  for (const [id, spec] of Object.entries(TYPES)) {
    cols.push({ name: `c_${id}`, id, nullable: false, t: { kind: 'leaf', spec }, values: leafValues(spec, seed++, false, n) })
    cols.push({ name: `n_${id}`, id, nullable: true, t: { kind: 'leaf', spec }, values: leafValues(spec, seed++, true, n) })
  }
  cols.push({ name: 'n_allnull', id: 'string', nullable: true, t: { kind: 'leaf', spec: TYPES.string }, values: new Array(n).fill(null) })
  for (const c of NESTED) {
    const r = rng(seed++)
    cols.push({ name: c.name, nullable: c.nullable, t: c.t, nested: true, values: Array.from({ length: n }, (_, i) => c.value(i, r)) })
  }
  return { cols, n }
}

// ---- writing inputs ---------------------------------------------------------

// Schema-file JSON (src/source/schemafile.c, docs/SCHEMA-FILE.md): a column
// is {name, type, nullable, ...type keys such as "utc"}; a list element is a
// type or a column-like object without a name (nullable by default).
function schemaType(t) {
  if (t.kind === 'leaf') return t.spec.schema
  if (t.kind === 'list') {
    const e = t.element
    return { list: e.kind === 'leaf' && e.spec.schemaExtra ? { type: e.spec.schema, ...e.spec.schemaExtra } : schemaType(e) }
  }
  return { struct: t.fields.map(f => schemaColumn(f.name, f.t, f.nullable)) }
}
function schemaColumn(name, t, nullable) {
  return { name, type: schemaType(t), nullable, ...(t.kind === 'leaf' ? t.spec.schemaExtra : {}) }
}

export function schemaJson(table) {
  return JSON.stringify({ columns: table.cols.map(c => schemaColumn(c.name, c.t, c.nullable)) }, null, 1)
}

function jsonText(t, v, i) {
  if (v === null || v === undefined) return 'null'
  if (t.kind === 'leaf') return t.spec.json(v, i)
  if (t.kind === 'list') return '[' + v.map(x => jsonText(t.element, x, i)).join(',') + ']'
  return '{' + t.fields.map(f => `${JSON.stringify(f.name)}:${jsonText(f.t, v[f.name], i)}`).join(',') + '}'
}

export function ndjson(table) {
  const lines = []
  for (let i = 0; i < table.n; i++) {
    // Some rows leave out optional fields instead of writing null.
    const parts = []
    for (const c of table.cols) {
      const v = c.values[i]
      if (v === null && i % 2 === 1) continue
      parts.push(`${JSON.stringify(c.name)}:${jsonText(c.t, v, i)}`)
    }
    lines.push('{' + parts.join(',') + '}')
  }
  return lines.join('\n') + '\n'
}

// CSV with a header: NULL is an empty unquoted field; nested columns hold
// JSON text (quoted).
export function csv(table) {
  const lines = [table.cols.map(c => c.name).join(',')]
  for (let i = 0; i < table.n; i++) {
    lines.push(table.cols.map(c => {
      const v = c.values[i]
      if (v === null) return ''
      if (c.t.kind !== 'leaf') return csvQuote(jsonText(c.t, v, i))
      const s = c.t.spec.csv(v, i)
      return /[",\r\n]/.test(s) || s === '' ? csvQuote(s) : s
    }).join(','))
  }
  return lines.join('\r\n') + '\r\n'
}

// ---- expected canonical values ------------------------------------------------

export function canonExpected(t, v) {
  if (v === null || v === undefined) return null
  if (t.kind === 'leaf') return t.spec.canon(v)
  if (t.kind === 'list') return v.map(x => canonExpected(t.element, x))
  const o = {}
  for (const f of t.fields) o[f.name] = canonExpected(f.t, v[f.name])
  return o
}

// Leaves of a column type: [{ path: 'l_st.list.element.a', spec, maxDef }].
export function leaves(name, t, nullable) {
  if (t.kind === 'leaf') return [{ path: name, spec: t.spec, nullable }]
  if (t.kind === 'list') return leaves(`${name}.list.element`, t.element, true).map(l => ({ ...l, nested: true }))
  return t.fields.flatMap(f => leaves(`${name}.${f.name}`, f.t, f.nullable).map(l => ({ ...l, nested: true })))
}
