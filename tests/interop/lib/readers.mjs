// Three independent Parquet readers, each returning canonical rows (see
// canon.mjs): DuckDB (C++), hyparquet (pure JS) and parquet-wasm (Rust
// arrow-rs compiled to WebAssembly, decoded through apache-arrow).
//
//   const r = await openReaders()
//   const { columns, rows } = await r.read('duckdb', '/path/file.parquet')
//   rows[i] is an array of canonical values, in the file's column order.
//   await r.close()

import { readFileSync } from 'node:fs'
import { parquetMetadata, parquetSchema, parquetReadObjects } from 'hyparquet'
import { compressors as hypCompressors } from 'hyparquet-compressors'
import { DuckDBInstance } from '@duckdb/node-api'
import * as arrow from 'apache-arrow'
import { readParquet } from 'parquet-wasm'
import { describeNode, canonValue, bytesFromSigned } from './canon.mjs'

export const READERS = ['duckdb', 'hyparquet', 'parquet-wasm']

export function toArrayBuffer(buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
}

// Descriptors of the top-level columns, from the footer.
export function describeFile(ab) {
  const metadata = parquetMetadata(ab)
  const tree = parquetSchema(metadata)
  return { metadata, columns: tree.children.map(describeNode) }
}

const UNIT = { MILLIS: 1000000n, MICROS: 1000n, NANOS: 1n }

// ---- hyparquet -----------------------------------------------------------

// hyparquet-compressors 1.1.2 throws "lz4 offset out of range 0" on the empty
// LZ4 block (the single token byte 0x00, which LZ4_compress_default writes
// for 0 input bytes and which liblz4, DuckDB and arrow-rs decode to nothing),
// e.g. the dictionary page of an all-null column. Only that exact block is
// answered here; everything else goes to the library.
const compressors = {
  ...hypCompressors,
  LZ4_RAW: (input, outputLength) =>
    outputLength === 0 && input.length === 1 && input[0] === 0 ? new Uint8Array(0) : hypCompressors.LZ4_RAW(input, outputLength),
}

// hyparquet's own decimal conversion goes through a JS Number (inexact past
// 2^53), so decimal columns are read with their annotation removed and the
// unscaled integers are scaled here. Timestamps and dates get exact parsers
// instead of JS Dates (which stop at milliseconds); JSON is kept as text.
const tagged = (kind, v) => ({ __t: kind, v })
const HYP_PARSERS = {
  timestampFromMilliseconds: ms => tagged('ns', BigInt(ms) * 1000000n),
  timestampFromMicroseconds: us => tagged('ns', BigInt(us) * 1000n),
  timestampFromNanoseconds: ns => tagged('ns', BigInt(ns)),
  dateFromDays: days => tagged('days', days),
  jsonFromBytes: b => b && new TextDecoder().decode(b),
}

function stripDecimals(metadata) {
  const schema = metadata.schema.map(el => {
    if (el.converted_type === 'DECIMAL' || el.logical_type?.type === 'DECIMAL') {
      const { converted_type, logical_type, ...rest } = el
      return rest
    }
    return el
  })
  return { ...metadata, schema }
}

function hypLeaf(d, v) {
  if (v && typeof v === 'object' && v.__t) return v.v
  switch (d.kind) {
  case 'decimal':
    return { unscaled: v instanceof Uint8Array ? bytesFromSigned(v) : BigInt(v) }
  case 'time':
    return BigInt(v) * UNIT[d.unit]
  case 'int':
    // INT32 columns annotated UINT_8/16 come back as JS numbers; UINT_32/64
    // are converted by hyparquet. A signed value in an unsigned column means
    // the reader did not apply the annotation.
    return v
  }
  return v
}

async function readHyparquet(ab, desc) {
  const rows = await parquetReadObjects({
    file: ab, metadata: stripDecimals(desc.metadata), compressors, utf8: false, parsers: HYP_PARSERS,
  })
  const unwrap = (d, x) => {
    if (d.kind === 'map' && !Array.isArray(x)) return Object.entries(x).map(([key, value]) => ({ key, value }))
    return x
  }
  return rows.map(r => desc.columns.map(c => canonValue(c, r[c.name], hypLeaf, unwrap)))
}

// ---- DuckDB --------------------------------------------------------------

function duckLeaf(d, v) {
  const cls = v?.constructor?.name
  switch (cls) {
  case 'DuckDBTimestampValue': case 'DuckDBTimestampTZValue': return v.micros * 1000n
  case 'DuckDBTimestampMillisecondsValue': return v.millis * 1000000n
  case 'DuckDBTimestampNanosecondsValue': return v.nanos
  case 'DuckDBTimestampSecondsValue': return v.seconds * 1000000000n
  case 'DuckDBTimeValue': return v.micros * 1000n
  case 'DuckDBTimeNSValue': return v.nanos
  case 'DuckDBTimeTZValue': return v.micros * 1000n
  case 'DuckDBDateValue': return v.days
  case 'DuckDBDecimalValue': return { unscaled: v.value, scale: v.scale }
  case 'DuckDBBlobValue': return v.bytes
  case 'DuckDBUUIDValue': return v.toString()
  }
  if (d.kind === 'decimal' && typeof v === 'number') {
    // DuckDB reads a decimal wider than it supports as DOUBLE: mark it.
    return { unscaled: 0n, scale: 0, inexact: v }
  }
  return v
}

function duckUnwrap(d, v) {
  const cls = v?.constructor?.name
  if (cls === 'DuckDBListValue' || cls === 'DuckDBArrayValue') return v.items
  if (cls === 'DuckDBStructValue') return v.entries
  if (cls === 'DuckDBMapValue') return v.entries
  return v
}

async function readDuckdb(conn, file, desc) {
  const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet('${file.replace(/'/g, "''")}')`)
  const rows = reader.getRows()
  return rows.map(r => desc.columns.map((c, i) => canonValue(c, r[i], duckLeaf, duckUnwrap)))
}

// ---- parquet-wasm (arrow-rs) ----------------------------------------------

const T = arrow.Type

function halfToNumber(h) {
  const e = (h >> 10) & 0x1f, m = h & 0x3ff, s = h & 0x8000 ? -1 : 1
  if (e === 0) return s * m * 2 ** -24
  if (e === 31) return m ? NaN : s * Infinity
  return s * (1 + m / 1024) * 2 ** (e - 15)
}

function bit(bytes, i) { return (bytes[i >> 3] >> (i & 7)) & 1 }

// Value `i` of an Arrow Data chunk, in canon.mjs normal form (containers as
// arrays/objects), read from the raw buffers so nothing is rounded.
function arrowValue(data, i) {
  if (!data.getValid(i)) return null
  const t = data.type
  const j = data.offset + i
  switch (t.typeId) {
  case T.Int: return data.values[j] // bigint for 64-bit ints
  case T.Float: return t.precision === arrow.Precision.HALF ? halfToNumber(data.values[j]) : data.values[j]
  case T.Bool: return !!bit(data.values, j)
  case T.Utf8: case T.Binary: case T.LargeUtf8: case T.LargeBinary: {
    const a = Number(data.valueOffsets[j]), b = Number(data.valueOffsets[j + 1])
    const bytes = data.values.subarray(a, b)
    return t.typeId === T.Utf8 || t.typeId === T.LargeUtf8 ? new TextDecoder().decode(bytes) : bytes
  }
  case T.FixedSizeBinary: return data.values.subarray(j * t.byteWidth, (j + 1) * t.byteWidth)
  case T.Decimal: {
    const words = t.bitWidth / 32
    let v = 0n
    for (let w = words - 1; w >= 0; w--) v = (v << 32n) | BigInt(data.values[j * words + w] >>> 0)
    if (v >> BigInt(t.bitWidth - 1)) v -= 1n << BigInt(t.bitWidth)
    return { unscaled: v, scale: t.scale }
  }
  case T.Date:
    return t.unit === arrow.DateUnit.DAY ? data.values[j] : Number(BigInt(data.values[j]) / 86400000n)
  case T.Time: case T.Timestamp: {
    const mult = [1000000000n, 1000000n, 1000n, 1n][t.unit]
    return BigInt(data.values[j]) * mult
  }
  case T.List: case T.LargeList: case T.Map: {
    const a = Number(data.valueOffsets[j]), b = Number(data.valueOffsets[j + 1])
    const child = data.children[0]
    const out = []
    for (let k = a; k < b; k++) out.push(arrowValue(child, k))
    return out
  }
  case T.FixedSizeList: {
    const n = t.listSize, child = data.children[0], out = []
    for (let k = j * n; k < (j + 1) * n; k++) out.push(arrowValue(child, k))
    return out
  }
  case T.Struct: {
    const o = {}
    t.children.forEach((f, k) => { o[f.name] = arrowValue(data.children[k], i) })
    return o
  }
  case T.Dictionary:
    return arrowValue(data.dictionary.data[0], Number(data.values[j]))
  }
  // Anything else (views, intervals): fall back to the library's accessor.
  return arrow.makeVector(data).get(i)
}

function wasmLeaf(d, v) {
  if (d.kind === 'decimal' && !(v && typeof v === 'object' && 'unscaled' in v)) {
    return { unscaled: v instanceof Uint8Array ? bytesFromSigned(v) : BigInt(v) }
  }
  return v
}

function readWasm(buf, desc) {
  const wasmTable = readParquet(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength))
  const table = arrow.tableFromIPC(wasmTable.intoIPCStream())
  const rows = []
  for (const batch of table.batches) {
    const cols = desc.columns.map(c => {
      const k = batch.schema.fields.findIndex(f => f.name === c.name)
      if (k < 0) throw new Error(`parquet-wasm: column ${c.name} missing`)
      return batch.data.children[k]
    })
    for (let i = 0; i < batch.numRows; i++) {
      rows.push(desc.columns.map((c, k) => canonValue(c, arrowValue(cols[k], i), wasmLeaf)))
    }
  }
  return rows
}

// ---- all three -------------------------------------------------------------

export async function openReaders() {
  let instance = null, conn = null
  return {
    async read(reader, file) {
      const buf = readFileSync(file)
      const ab = toArrayBuffer(buf)
      const desc = describeFile(ab)
      let rows
      if (reader === 'hyparquet') rows = await readHyparquet(ab, desc)
      else if (reader === 'parquet-wasm') rows = readWasm(buf, desc)
      else if (reader === 'duckdb') {
        if (!conn) {
          instance = await DuckDBInstance.create(':memory:', { threads: '1' })
          conn = await instance.connect()
        }
        rows = await readDuckdb(conn, file, desc)
      } else throw new Error(`unknown reader ${reader}`)
      return { columns: desc.columns, rows }
    },
    async duck() {
      if (!conn) {
        instance = await DuckDBInstance.create(':memory:', { threads: '1' })
        conn = await instance.connect()
      }
      return conn
    },
    async close() {
      if (conn) conn.closeSync?.()
      if (instance) instance.closeSync?.()
    },
  }
}
