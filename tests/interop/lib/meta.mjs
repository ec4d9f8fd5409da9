// Footer-level checks of a Parquet file, independent of pqfeed's own code:
//   - the raw Thrift footer (statistics as raw bytes, decoded exactly here),
//   - every page header of every column chunk (type, sizes, CRC32 checked),
//   - the page index (ColumnIndex/OffsetIndex, parsed by hyparquet),
//   - split-block bloom filters (header parsed by hyparquet, values hashed
//     with xxhash-wasm and probed here).
// Plus DuckDB's parquet_schema() and parquet_metadata() for the same file.

import { crc32 } from 'node:zlib'
import { deserializeTCompactProtocol } from 'hyparquet/src/thrift.js'
import { parquetHeader } from 'hyparquet/src/column.js'
import { readColumnIndex, readOffsetIndex } from 'hyparquet'
import { readBloomFilter, sbbfContains } from 'hyparquet/src/bloom.js'
import xxhashInit from 'xxhash-wasm'
import { canonLeaf, bytesFromSigned } from './canon.mjs'

const CODECS = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'LZO', 'BROTLI', 'LZ4', 'ZSTD', 'LZ4_RAW']
const ENCODINGS = { 0: 'PLAIN', 2: 'PLAIN_DICTIONARY', 3: 'RLE', 4: 'BIT_PACKED', 5: 'DELTA_BINARY_PACKED', 6: 'DELTA_LENGTH_BYTE_ARRAY', 7: 'DELTA_BYTE_ARRAY', 8: 'RLE_DICTIONARY', 9: 'BYTE_STREAM_SPLIT' }
const PHYS = ['BOOLEAN', 'INT32', 'INT64', 'INT96', 'FLOAT', 'DOUBLE', 'BYTE_ARRAY', 'FIXED_LEN_BYTE_ARRAY']

function view(buf) { return new DataView(buf.buffer, buf.byteOffset, buf.byteLength) }

// The footer as raw Thrift structs (field_N keys), statistics bytes intact.
export function rawFooter(buf) {
  const v = view(buf)
  const n = buf.byteLength
  if (n < 12) throw new Error('file too short')
  const magic = String.fromCharCode(buf[n - 4], buf[n - 3], buf[n - 2], buf[n - 1])
  const head = String.fromCharCode(buf[0], buf[1], buf[2], buf[3])
  if (magic !== 'PAR1' || head !== 'PAR1') throw new Error('missing PAR1 magic')
  const len = v.getUint32(n - 8, true)
  const reader = { view: new DataView(buf.buffer, buf.byteOffset + n - 8 - len, len), offset: 0 }
  const fm = deserializeTCompactProtocol(reader)
  if (reader.offset !== len) throw new Error(`footer is ${len} bytes but Thrift used ${reader.offset}`)
  return fm
}

// Column chunks of every row group: { rg, col, path, physical, codec, numValues,
// encodings, stats: {min, max, nullCount} (raw bytes), offsets... }.
export function chunks(fm) {
  const out = []
  fm.field_4.forEach((rg, r) => {
    rg.field_1.forEach((cc, c) => {
      const md = cc.field_3
      const st = md.field_12
      out.push({
        rg: r, col: c, rowGroupRows: Number(rg.field_3),
        physical: PHYS[md.field_1],
        encodings: md.field_2.map(e => ENCODINGS[e] ?? String(e)),
        path: md.field_3.map(p => new TextDecoder().decode(p)).join('.'),
        codec: CODECS[md.field_4],
        numValues: Number(md.field_5),
        totalUncompressed: Number(md.field_6),
        totalCompressed: Number(md.field_7),
        dataPageOffset: Number(md.field_9),
        dictPageOffset: md.field_11 === undefined ? undefined : Number(md.field_11),
        stats: st && { max: st.field_5, min: st.field_6, nullCount: st.field_3 === undefined ? undefined : Number(st.field_3), legacyMax: st.field_1, legacyMin: st.field_2 },
        bloomOffset: md.field_14 === undefined ? undefined : Number(md.field_14),
        bloomLength: md.field_15,
        offsetIndexOffset: cc.field_4 === undefined ? undefined : Number(cc.field_4),
        offsetIndexLength: cc.field_5,
        columnIndexOffset: cc.field_6 === undefined ? undefined : Number(cc.field_6),
        columnIndexLength: cc.field_7,
      })
    })
  })
  return out
}

// Decode a PLAIN-encoded single value (statistics, column index) to canonical
// form with a leaf descriptor from canon.mjs.
export function decodeStat(d, bytes) {
  if (!bytes) return undefined
  const v = view(bytes)
  const p = d.physical
  let x
  if (p === 'BOOLEAN') x = bytes[0] === 1
  else if (p === 'INT32') x = d.kind === 'int' && !d.signed ? v.getUint32(0, true) : v.getInt32(0, true)
  else if (p === 'INT64') x = d.kind === 'int' && !d.signed ? v.getBigUint64(0, true) : v.getBigInt64(0, true)
  else if (p === 'FLOAT') x = v.getFloat32(0, true)
  else if (p === 'DOUBLE') x = v.getFloat64(0, true)
  else x = bytes
  switch (d.kind) {
  case 'decimal': x = { unscaled: x instanceof Uint8Array ? bytesFromSigned(x) : BigInt(x) }; break
  case 'time': case 'timestamp': x = BigInt(x) * { MILLIS: 1000000n, MICROS: 1000n, NANOS: 1n }[d.unit]; break
  }
  return canonLeaf(d, x)
}

// Walk the pages of a chunk: [{offset, headerSize, header, crcOk}] and errors.
export function pages(buf, ch) {
  const start = ch.dictPageOffset !== undefined && ch.dictPageOffset > 0 && ch.dictPageOffset < ch.dataPageOffset ? ch.dictPageOffset : ch.dataPageOffset
  const end = start + ch.totalCompressed
  const out = []
  let off = start
  while (off < end) {
    const reader = { view: new DataView(buf.buffer, buf.byteOffset + off, Math.min(end - off, buf.byteLength - off)), offset: 0 }
    const header = parquetHeader(reader)
    const headerSize = reader.offset
    const body = buf.subarray(off + headerSize, off + headerSize + header.compressed_page_size)
    const crc = header.crc === undefined ? undefined : header.crc >>> 0
    out.push({ offset: off, headerSize, header, crc, crcOk: crc === undefined ? undefined : crc === (crc32(body) >>> 0) })
    off += headerSize + header.compressed_page_size
  }
  if (off !== end) throw new Error(`pages end at ${off}, chunk ends at ${end}`)
  return out
}

export function columnIndex(buf, ch) {
  if (ch.columnIndexOffset === undefined) return undefined
  const reader = { view: new DataView(buf.buffer, buf.byteOffset + ch.columnIndexOffset, ch.columnIndexLength), offset: 0 }
  // Raw bytes back: a FIXED_LEN_BYTE_ARRAY element and an identity parser
  // keep hyparquet from converting min/max (decodeStat does it exactly).
  const ci = readColumnIndex(reader, { type: 'FIXED_LEN_BYTE_ARRAY', name: ch.path }, { stringFromBytes: b => b })
  if (reader.offset !== ch.columnIndexLength) throw new Error(`column index length ${ch.columnIndexLength} but parsed ${reader.offset}`)
  return ci
}

export function offsetIndex(buf, ch) {
  if (ch.offsetIndexOffset === undefined) return undefined
  const reader = { view: new DataView(buf.buffer, buf.byteOffset + ch.offsetIndexOffset, ch.offsetIndexLength), offset: 0 }
  const oi = readOffsetIndex(reader)
  if (reader.offset !== ch.offsetIndexLength) throw new Error(`offset index length ${ch.offsetIndexLength} but parsed ${reader.offset}`)
  return oi
}

export function bloomFilter(buf, ch) {
  if (ch.bloomOffset === undefined) return undefined
  const len = ch.bloomLength ?? buf.byteLength - ch.bloomOffset
  const reader = { view: new DataView(buf.buffer, buf.byteOffset + ch.bloomOffset, len), offset: 0 }
  const bf = readBloomFilter(reader)
  if (!bf) throw new Error('bloom filter header not BLOCK/XXHASH/UNCOMPRESSED')
  if (ch.bloomLength !== undefined && reader.offset !== ch.bloomLength) throw new Error(`bloom_filter_length ${ch.bloomLength} but header+bitset is ${reader.offset}`)
  return bf
}

let xx = null
export async function hasher() {
  if (!xx) xx = await xxhashInit()
  return bytes => xx.h64Raw(bytes, 0n)
}

export function bloomContains(bf, hash) { return sbbfContains(bf.blocks, hash) }

// PLAIN encoding of one value for bloom-filter hashing (BloomFilter.md:
// the hash is of the plain-encoded bytes, without a length prefix).
export function plainBytes(physical, v) {
  const b = new ArrayBuffer(8)
  const dv = new DataView(b)
  switch (physical) {
  case 'INT32': dv.setInt32(0, Number(BigInt.asIntN(32, BigInt(v))), true); return new Uint8Array(b, 0, 4)
  case 'INT64': dv.setBigInt64(0, BigInt.asIntN(64, BigInt(v)), true); return new Uint8Array(b, 0, 8)
  case 'FLOAT': dv.setFloat32(0, v, true); return new Uint8Array(b, 0, 4)
  case 'DOUBLE': dv.setFloat64(0, v, true); return new Uint8Array(b, 0, 8)
  case 'BOOLEAN': return new Uint8Array([v ? 1 : 0])
  default: return v // Uint8Array
  }
}

// DuckDB's view of the file's schema and metadata.
export async function duckMeta(conn, file) {
  const q = file.replace(/'/g, "''")
  const out = { schema: [], metadata: [], errors: [] }
  try {
    out.schema = (await conn.runAndReadAll(`SELECT * FROM parquet_schema('${q}')`)).getRowObjectsJson()
  } catch (e) { out.errors.push(`parquet_schema: ${e.message}`) }
  try {
    out.metadata = (await conn.runAndReadAll(`SELECT * FROM parquet_metadata('${q}')`)).getRowObjectsJson()
  } catch (e) { out.errors.push(`parquet_metadata: ${e.message}`) }
  return out
}
