#!/usr/bin/env node
// Print what independent readers see in a Parquet file's metadata, as JSON:
//
//   node meta.mjs FILE.parquet [--probe COL=VALUE ...]
//
//   duckdb.schema     parquet_schema(FILE)
//   duckdb.metadata   parquet_metadata(FILE) (one entry per column chunk)
//   chunks[]          per column chunk, from the raw footer and the bytes:
//                     codec, encodings, statistics decoded exactly (canonical
//                     form, see lib/canon.mjs), pages (type, encoding, sizes,
//                     crc present/valid), ColumnIndex and OffsetIndex as parsed
//                     by hyparquet, bloom filter size and probe results.
// --probe COL=VALUE hashes VALUE (text for BYTE_ARRAY, a number otherwise) and
// reports whether COL's bloom filter may contain it.
import { readFileSync } from 'node:fs'
import { DuckDBInstance } from '@duckdb/node-api'
import { describeFile, toArrayBuffer } from './lib/readers.mjs'
import { rawFooter, chunks, pages, columnIndex, offsetIndex, bloomFilter, bloomContains, hasher, plainBytes, decodeStat, duckMeta } from './lib/meta.mjs'

const args = process.argv.slice(2)
const probes = []
let file
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--probe') probes.push(args[++i])
  else if (!file) file = args[i]
}
if (!file) { console.error('usage: meta.mjs FILE.parquet [--probe COL=VALUE ...]'); process.exit(2) }

const buf = readFileSync(file)
const { metadata } = describeFile(toArrayBuffer(buf))
const leaves = metadata.schema.filter(el => el.num_children === undefined || el.num_children === 0)
const leafDesc = await import('./lib/canon.mjs').then(m => leaves.map(m.leafDescriptor))
const hash = await hasher()
const fm = rawFooter(buf)
const out = { file, num_rows: Number(fm.field_3), created_by: fm.field_6 && new TextDecoder().decode(fm.field_6), chunks: [] }
for (const ch of chunks(fm)) {
  const d = leafDesc[ch.col]
  const ps = pages(buf, ch)
  const ci = columnIndex(buf, ch)
  const oi = offsetIndex(buf, ch)
  const bf = bloomFilter(buf, ch)
  const probe = {}
  for (const p of probes) {
    const [col, value] = p.split(/=(.*)/s)
    if (col !== ch.path || !bf) continue
    const v = ch.physical === 'BYTE_ARRAY' || ch.physical === 'FIXED_LEN_BYTE_ARRAY' ? new TextEncoder().encode(value) : ch.physical === 'INT64' ? BigInt(value) : Number(value)
    probe[value] = bloomContains(bf, hash(plainBytes(ch.physical, v)))
  }
  out.chunks.push({
    row_group: ch.rg, path: ch.path, physical: ch.physical, codec: ch.codec, encodings: ch.encodings,
    num_values: ch.numValues,
    stats: ch.stats && { min: decodeStat(d, ch.stats.min), max: decodeStat(d, ch.stats.max), null_count: ch.stats.nullCount },
    pages: ps.map(p => ({ offset: p.offset, type: p.header.type, encoding: (p.header.data_page_header ?? p.header.data_page_header_v2 ?? p.header.dictionary_page_header)?.encoding, num_values: (p.header.data_page_header ?? p.header.data_page_header_v2 ?? p.header.dictionary_page_header)?.num_values, compressed: p.header.compressed_page_size, uncompressed: p.header.uncompressed_page_size, crc: p.crc === undefined ? 'absent' : p.crcOk ? 'ok' : 'BAD' })),
    column_index: ci && { null_pages: ci.null_pages, null_counts: ci.null_counts?.map(Number), boundary_order: ci.boundary_order, min: ci.min_values.map((m, i) => ci.null_pages[i] ? null : decodeStat(d, m)), max: ci.max_values.map((m, i) => ci.null_pages[i] ? null : decodeStat(d, m)) },
    offset_index: oi && oi.page_locations.map(l => ({ offset: Number(l.offset), size: l.compressed_page_size, first_row: Number(l.first_row_index) })),
    bloom: bf && { bytes: bf.numBytes, probes: probe },
  })
}
const inst = await DuckDBInstance.create(':memory:', { threads: '1' })
const conn = await inst.connect()
out.duckdb = await duckMeta(conn, file)
process.stdout.write(JSON.stringify(out, (k, v) => typeof v === 'bigint' ? v.toString() : v, 1) + '\n')
