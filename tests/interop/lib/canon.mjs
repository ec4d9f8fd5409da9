// Canonical values for comparing what different Parquet readers return.
//
// Every reader hands back its own classes (DuckDB value objects, Arrow
// buffers, hyparquet typed arrays). Each reader adapter (readers.mjs) turns a
// leaf value into a small *normal form* that is exact, and canon() below turns
// that normal form into the canonical JSON value written to NDJSON:
//
//   integers (any width)   decimal string            "-9223372036854775808"
//   float / double         shortest round-trip text  "0.1" (float32-aware), "-0", "NaN", "Infinity"
//   boolean                JSON boolean
//   string, enum, json     the exact text (JSON is not re-parsed: byte-exact)
//   binary, fixed          base64
//   uuid                   lowercase 8-4-4-4-12 hex
//   decimal                exact digits with the file's scale "-12.30"
//   date                   YYYY-MM-DD (proleptic Gregorian, +/-YYYYYY outside 0..9999)
//   time                   HH:MM:SS.fff / .ffffff / .fffffffff by the file's unit
//   timestamp              YYYY-MM-DDTHH:MM:SS.<unit digits>, "Z" when isAdjustedToUTC
//   list                   JSON array;  struct: JSON object in schema order; map: [[k, v], ...]
//   null                   JSON null
//
// The type descriptor comes from the file's own footer (describeSchema), so
// the precision of a timestamp or the scale of a decimal is the file's, not
// whatever a reader widened it to: a reader that loses precision shows up as
// extra digits rather than being rounded into agreement.

const NANOS = { MILLIS: 1000000n, MICROS: 1000n, NANOS: 1n }
const DIGITS = { MILLIS: 3, MICROS: 6, NANOS: 9 }

// ---- schema descriptors --------------------------------------------------

// Leaf descriptor from a hyparquet SchemaElement.
export function leafDescriptor(el) {
  const lt = el.logical_type
  const ct = el.converted_type
  const t = el.type
  const d = { kind: 'int', name: el.name, physical: t, optional: el.repetition_type !== 'REQUIRED' }
  if (lt?.type === 'DECIMAL' || ct === 'DECIMAL') {
    return { ...d, kind: 'decimal', scale: lt?.scale ?? el.scale ?? 0, precision: lt?.precision ?? el.precision }
  }
  if (t === 'BOOLEAN') return { ...d, kind: 'bool' }
  if (t === 'FLOAT') return { ...d, kind: 'float' }
  if (t === 'DOUBLE') return { ...d, kind: 'double' }
  if (t === 'INT96') return { ...d, kind: 'timestamp', unit: 'NANOS', utc: false, int96: true }
  if (t === 'INT32' || t === 'INT64') {
    if (lt?.type === 'DATE' || ct === 'DATE') return { ...d, kind: 'date' }
    if (lt?.type === 'TIME') return { ...d, kind: 'time', unit: lt.unit, utc: !!lt.isAdjustedToUTC }
    if (ct === 'TIME_MILLIS') return { ...d, kind: 'time', unit: 'MILLIS', utc: true }
    if (ct === 'TIME_MICROS') return { ...d, kind: 'time', unit: 'MICROS', utc: true }
    if (lt?.type === 'TIMESTAMP') return { ...d, kind: 'timestamp', unit: lt.unit, utc: !!lt.isAdjustedToUTC }
    if (ct === 'TIMESTAMP_MILLIS') return { ...d, kind: 'timestamp', unit: 'MILLIS', utc: true }
    if (ct === 'TIMESTAMP_MICROS') return { ...d, kind: 'timestamp', unit: 'MICROS', utc: true }
    let signed = true
    if (lt?.type === 'INTEGER') signed = !!lt.isSigned
    else if (typeof ct === 'string' && ct.startsWith('UINT_')) signed = false
    const bits = lt?.type === 'INTEGER' ? lt.bitWidth : (typeof ct === 'string' && /INT_(\d+)/.test(ct) ? +ct.match(/INT_(\d+)/)[1] : (t === 'INT32' ? 32 : 64))
    return { ...d, kind: 'int', signed, bits }
  }
  if (t === 'BYTE_ARRAY') {
    if (lt?.type === 'STRING' || ct === 'UTF8') return { ...d, kind: 'string' }
    if (lt?.type === 'ENUM' || ct === 'ENUM') return { ...d, kind: 'string', sub: 'enum' }
    if (lt?.type === 'JSON' || ct === 'JSON') return { ...d, kind: 'string', sub: 'json' }
    return { ...d, kind: 'binary' }
  }
  if (t === 'FIXED_LEN_BYTE_ARRAY') {
    if (lt?.type === 'UUID') return { ...d, kind: 'uuid' }
    if (lt?.type === 'FLOAT16') return { ...d, kind: 'float16' }
    return { ...d, kind: 'binary', fixed: el.type_length }
  }
  throw new Error(`unknown leaf type ${t} for ${el.name}`)
}

// Describe a hyparquet schema tree node (parquetSchema(metadata) children).
export function describeNode(node) {
  const el = node.element
  const ann = el.logical_type?.type ?? el.converted_type
  if (!node.children.length) {
    const leaf = leafDescriptor(el)
    // A repeated primitive outside a LIST group is a list of required values.
    if (el.repetition_type === 'REPEATED') return { kind: 'list', name: el.name, optional: false, element: { ...leaf, optional: false } }
    return leaf
  }
  const optional = el.repetition_type === 'OPTIONAL'
  if (ann === 'LIST' && node.children.length === 1) {
    const rep = node.children[0]
    let element
    if (!rep.children.length) element = leafDescriptor(rep.element) // 2-level list
    else if (rep.children.length === 1 && rep.element.name !== 'array' && rep.element.name !== `${el.name}_tuple`) element = describeNode(rep.children[0])
    else element = { kind: 'struct', name: rep.element.name, optional: false, fields: rep.children.map(describeNode) }
    return { kind: 'list', name: el.name, optional, element }
  }
  if ((ann === 'MAP' || ann === 'MAP_KEY_VALUE') && node.children.length === 1) {
    const kv = node.children[0]
    const key = describeNode(kv.children[0])
    const value = kv.children[1] ? describeNode(kv.children[1]) : null
    return { kind: 'map', name: el.name, optional, key, value }
  }
  const d = { kind: 'struct', name: el.name, optional, fields: node.children.map(describeNode) }
  if (el.repetition_type === 'REPEATED') return { kind: 'list', name: el.name, optional: false, element: { ...d, optional: false } }
  return d
}

// ---- formatting ----------------------------------------------------------

function pad(n, w) { return String(n).padStart(w, '0') }

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days).
export function civilFromDays(z) {
  z += 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1
  const m = mp < 10 ? mp + 3 : mp - 9
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0)
  return [y, m, d]
}

export function formatDate(days) {
  const [y, m, d] = civilFromDays(days)
  const ys = y < 0 ? '-' + pad(-y, 6) : y > 9999 ? '+' + pad(y, 6) : pad(y, 4)
  return `${ys}-${pad(m, 2)}-${pad(d, 2)}`
}

export function formatClock(nanosOfDay, unit) {
  const ns = nanosOfDay
  const h = ns / 3600000000000n
  const mi = ns / 60000000000n % 60n
  const s = ns / 1000000000n % 60n
  const frac = ns % 1000000000n
  // If the value has more precision than the file's unit, show all of it.
  const digits = frac % NANOS[unit] === 0n ? DIGITS[unit] : 9
  const f = pad(frac, 9).slice(0, digits)
  return `${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${f}`
}

export function formatTimestamp(nanos, unit, utc) {
  const day = 86400000000000n
  let days = nanos / day
  let rem = nanos % day
  if (rem < 0n) { rem += day; days -= 1n }
  return `${formatDate(Number(days))}T${formatClock(rem, unit)}${utc ? 'Z' : ''}`
}

export function formatDecimal(unscaled, scale) {
  const neg = unscaled < 0n
  let s = (neg ? -unscaled : unscaled).toString()
  if (scale > 0) {
    s = s.padStart(scale + 1, '0')
    s = s.slice(0, s.length - scale) + '.' + s.slice(s.length - scale)
  } else if (scale < 0) {
    s = s + '0'.repeat(-scale)
  }
  return (neg ? '-' : '') + s
}

export function formatFloat(x, single) {
  if (typeof x !== 'number') x = Number(x)
  if (Number.isNaN(x)) return 'NaN'
  if (x === Infinity) return 'Infinity'
  if (x === -Infinity) return '-Infinity'
  if (x === 0) return Object.is(x, -0) ? '-0' : '0'
  if (single) {
    for (let p = 1; p <= 9; p++) {
      const y = Number(x.toPrecision(p))
      if (Math.fround(y) === x) return String(y)
    }
  }
  return String(x)
}

export function bytesFromSigned(bytes) { // big-endian two's complement
  let v = 0n
  for (const b of bytes) v = (v << 8n) | BigInt(b)
  if (bytes.length && bytes[0] & 0x80) v -= 1n << BigInt(bytes.length * 8)
  return v
}

export function base64(bytes) { return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') }

export function formatUuid(v) {
  if (typeof v === 'string') return v.toLowerCase()
  const h = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

const utf8 = new TextDecoder('utf-8', { fatal: false })

// A normal-form leaf value (see readers.mjs) to its canonical JSON value.
// Normal forms: int -> bigint|number; float/double -> number; bool -> boolean;
// string -> string|Uint8Array; binary -> Uint8Array; uuid -> string|Uint8Array;
// decimal -> { unscaled: bigint, scale?: number }; date -> number (days);
// time/timestamp -> bigint nanoseconds.
export function canonLeaf(d, v) {
  if (v === null || v === undefined) return null
  switch (d.kind) {
  case 'int': return BigInt(v).toString()
  case 'bool': return !!v
  case 'float': return formatFloat(v, true)
  case 'double': case 'float16': return formatFloat(v, false)
  case 'string': return typeof v === 'string' ? v : utf8.decode(v)
  case 'binary': return base64(v)
  case 'uuid': return formatUuid(v)
  case 'decimal': return formatDecimal(v.unscaled, v.scale ?? d.scale)
  case 'date': return formatDate(Number(v))
  case 'time': return formatClock(BigInt(v), d.unit)
  case 'timestamp': return formatTimestamp(BigInt(v), d.unit, d.utc)
  }
  throw new Error(`no canonical form for ${d.kind}`)
}

// Walk a reader's value with the descriptor. `leaf(d, v)` converts a leaf to
// normal form; `unwrap(d, v)` turns the reader's containers into arrays
// (list, map entries as {key, value}) and plain objects (struct).
export function canonValue(d, v, leaf, unwrap = (_d, x) => x) {
  if (v === null || v === undefined) return null
  if (d.kind === 'list') {
    const a = unwrap(d, v)
    return Array.from(a, x => canonValue(d.element, x, leaf, unwrap))
  }
  if (d.kind === 'struct') {
    const o = unwrap(d, v)
    const out = {}
    for (const f of d.fields) out[f.name] = canonValue(f, o[f.name], leaf, unwrap)
    return out
  }
  if (d.kind === 'map') {
    const entries = unwrap(d, v)
    return Array.from(entries, e => [canonValue(d.key, e.key, leaf, unwrap), d.value ? canonValue(d.value, e.value, leaf, unwrap) : null])
  }
  return canonLeaf(d, leaf(d, v))
}

// One canonical NDJSON line for a row given as an array of column values.
export function canonLine(cols, values) {
  const o = {}
  cols.forEach((c, i) => { o[c.name] = values[i] })
  return JSON.stringify(o)
}
