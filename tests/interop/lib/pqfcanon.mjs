// pqfeed's NDJSON (`pqfeed parquet cat`) to the canonical form of canon.mjs,
// so that pqfeed's reading compares value by value with the input and with
// the other readers.
//
// What pqfeed prints, and what becomes of it here:
//   integers, decimals    JSON numbers with exact digits: kept as their text
//                         (JSON.parse would round past 2^53, so the line is
//                         parsed here with numbers kept as text)
//   float / double        shortest round-trip text, or "NaN" / "Infinity":
//                         read back and formatted as canon.mjs does (float32
//                         through Math.fround)
//   date, timestamp       ISO-8601 with the fraction's trailing zeros cut
//                         and 4-digit years: the fraction is padded to the
//                         file's unit, years outside 0..9999 become +/-YYYYYY
//   time                  HH:MM:SS[.fff]: padded the same way
//   map                   a JSON object (keys as text, order kept, duplicates
//                         too): [[key, value], ...] with typed keys
//   everything else       as printed (strings exact, binary base64, uuid hex)
//
//   import { canonPqfeedLine } from './pqfcanon.mjs'
//   canonPqfeedLine(columns, line) -> array of canonical values (columns from
//   readers.mjs describeFile(), in file order)

import { formatFloat } from './canon.mjs'

const DIGITS = { MILLIS: 3, MICROS: 6, NANOS: 9 }

// A JSON number as its source text.
class Num {
  constructor(text) { this.text = text }
}
// A JSON object as its entries in order (duplicates kept).
class Obj {
  constructor(entries) { this.entries = entries }
  get(k) { const e = this.entries.find(x => x[0] === k); return e ? e[1] : undefined }
}

// JSON.parse, except numbers stay text (Num) and objects stay ordered
// entry lists (Obj).
export function parseRaw(text) {
  let i = 0
  const ws = () => { while (i < text.length && ' \t\r\n'.includes(text[i])) i++ }
  const fail = what => { throw new Error(`pqfcanon: ${what} at offset ${i} of ${text.slice(0, 120)}`) }
  const value = () => {
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const entries = []
      ws()
      if (text[i] === '}') { i++; return new Obj(entries) }
      for (;;) {
        ws()
        if (text[i] !== '"') fail('object key expected')
        const k = string()
        ws()
        if (text[i++] !== ':') fail("':' expected")
        entries.push([k, value()])
        ws()
        if (text[i] === ',') { i++; continue }
        if (text[i] === '}') { i++; return new Obj(entries) }
        fail("',' or '}' expected")
      }
    }
    if (c === '[') {
      i++
      const a = []
      ws()
      if (text[i] === ']') { i++; return a }
      for (;;) {
        a.push(value())
        ws()
        if (text[i] === ',') { i++; continue }
        if (text[i] === ']') { i++; return a }
        fail("',' or ']' expected")
      }
    }
    if (c === '"') return string()
    if (text.startsWith('true', i)) { i += 4; return true }
    if (text.startsWith('false', i)) { i += 5; return false }
    if (text.startsWith('null', i)) { i += 4; return null }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400))
    if (!m) fail('value expected')
    i += m[0].length
    return new Num(m[0])
  }
  const string = () => {
    const m = /^"(?:[^"\\]|\\.)*"/s.exec(text.slice(i))
    if (!m) fail('unterminated string')
    i += m[0].length
    return JSON.parse(m[0])
  }
  const v = value()
  ws()
  if (i !== text.length) fail('trailing text')
  return v
}

const pad = (n, w) => String(n).padStart(w, '0')
const year = y => (y < 0 ? '-' + pad(-y, 6) : y > 9999 ? '+' + pad(y, 6) : pad(y, 4))

function canonDate(s) {
  const m = /^(-?\d+)-(\d\d)-(\d\d)$/.exec(s)
  return m ? `${year(+m[1])}-${m[2]}-${m[3]}` : s
}

function canonClock(s, unit) {
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(s)
  if (!m) return s
  const f = m[4] ?? ''
  const digits = Math.max(DIGITS[unit], f.length)
  return `${m[1]}:${m[2]}:${m[3]}.${f.padEnd(digits, '0')}`
}

function canonTimestamp(s, unit) {
  const m = /^(-?\d+-\d\d-\d\d)T([\d:.]+)(Z?)$/.exec(s)
  return m ? `${canonDate(m[1])}T${canonClock(m[2], unit)}${m[3]}` : s
}

// pqfeed prints a FLOAT16 as the shortest text that reads back as the same
// float32; the canonical form is the exact half value: round to it.
function toHalf(x) {
  if (!Number.isFinite(x) || x === 0) return x
  let e = Math.floor(Math.log2(Math.abs(x)))
  if (2 ** e > Math.abs(x)) e--
  if (2 ** (e + 1) <= Math.abs(x)) e++
  const q = 2 ** (Math.max(e, -14) - 10)
  return Math.round(x / q) * q
}

const text = v => (v instanceof Num ? v.text : v)

function number(v) {
  const t = text(v)
  if (t === 'NaN') return NaN
  if (t === 'Infinity') return Infinity
  if (t === '-Infinity') return -Infinity
  return Number(t)
}

// One leaf; v is what parseRaw gave (Num, string, boolean) or, for a map
// key, the key's text.
export function canonPqfeedLeaf(d, v) {
  if (v === null || v === undefined) return null
  switch (d.kind) {
  case 'int': return typeof v === 'boolean' ? String(v) : BigInt(text(v)).toString()
  case 'bool': return typeof v === 'boolean' ? v : v === 'true'
  case 'float': return formatFloat(Math.fround(number(v)), true)
  case 'double': return formatFloat(number(v), false)
  case 'float16': return formatFloat(toHalf(number(v)), false)
  case 'decimal': return text(v)
  case 'date': return canonDate(text(v))
  case 'time': return canonClock(text(v), d.unit)
  case 'timestamp': return canonTimestamp(text(v), d.unit)
  case 'uuid': return String(text(v)).toLowerCase()
  case 'string': case 'binary': return text(v)
  }
  throw new Error(`pqfcanon: no canonical form for ${d.kind}`)
}

export function canonPqfeed(d, v) {
  if (v === null || v === undefined) return null
  if (d.kind === 'list') {
    if (!Array.isArray(v)) throw new Error(`pqfcanon: ${d.name}: a list expected`)
    return v.map(x => canonPqfeed(d.element, x))
  }
  if (d.kind === 'struct') {
    if (!(v instanceof Obj)) throw new Error(`pqfcanon: ${d.name}: an object expected`)
    const out = {}
    for (const f of d.fields) out[f.name] = canonPqfeed(f, v.get(f.name))
    return out
  }
  if (d.kind === 'map') {
    if (!(v instanceof Obj)) throw new Error(`pqfcanon: ${d.name}: an object expected`)
    return v.entries.map(([k, x]) => [canonMapKey(d.key, k), d.value ? canonPqfeed(d.value, x) : null])
  }
  return canonPqfeedLeaf(d, v)
}

// pqfeed writes every map key as a JSON string: a string key as itself, any
// other key as the JSON text of its value ("1", "2024-01-01", "{...}").
function canonMapKey(d, k) {
  if (d.kind === 'string' || d.kind === 'binary' || d.kind === 'uuid') return canonPqfeedLeaf(d, k)
  if (d.kind === 'list' || d.kind === 'struct' || d.kind === 'map') return canonPqfeed(d, parseRaw(k))
  return canonPqfeedLeaf(d, /^-?\d/.test(k) && ['int', 'decimal', 'float', 'double', 'float16'].includes(d.kind) ? new Num(k) : k)
}

// A whole NDJSON line: the top-level columns in file order.
export function canonPqfeedLine(columns, line) {
  const o = parseRaw(line)
  if (!(o instanceof Obj)) throw new Error('pqfcanon: a row must be a JSON object')
  return columns.map(c => canonPqfeed(c, o.get(c.name)))
}
