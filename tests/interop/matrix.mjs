#!/usr/bin/env node
// The interop matrix driver (run by matrix.sh, which turns its output into TAP).
//
//   node matrix.mjs PQFEED WORKDIR [FILTER]
//
// Generates one table (lib/data.mjs: every type REQUIRED and OPTIONAL, nested
// columns, edge values), writes it as NDJSON (and CSV) once, then for every
// cell codec x encoding x page version runs `pqfeed convert` and checks the
// file with all three readers against the input, plus footer types,
// statistics, pages (codec, version, encodings, CRC32), page index and bloom
// filters. FILTER (a regex) limits the cells by name.
//
// Output, one result per line, fields separated by a tab:
//   ok<TAB>description
//   not_ok<TAB>description<TAB>diagnostic<TAB>diagnostic...
//   skip<TAB>description<TAB>reason
import { writeFileSync, mkdirSync, existsSync, readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { makeTable, schemaJson, ndjson, csv, canonExpected, leaves, TYPES } from './lib/data.mjs'
import { openReaders, READERS, describeFile, toArrayBuffer } from './lib/readers.mjs'
import { rawFooter, chunks, pages, columnIndex, offsetIndex, bloomFilter, bloomContains, hasher, plainBytes, decodeStat, duckMeta } from './lib/meta.mjs'
import { leafDescriptor } from './lib/canon.mjs'

const [PQF, WORK, FILTER] = process.argv.slice(2)
if (!PQF || !WORK) { console.error('usage: matrix.mjs PQFEED WORKDIR [FILTER]'); process.exit(2) }
mkdirSync(WORK, { recursive: true })

const say = (status, desc, ...diag) => {
  const clean = s => String(s).replace(/[\t\n\r]/g, ' ').slice(0, 400)
  process.stdout.write([status, clean(desc), ...diag.slice(0, 12).map(clean)].join('\t') + '\n')
}
const result = (desc, diags) => diags.length ? say('not_ok', desc, ...diags) : say('ok', desc)
const show = v => v === undefined ? 'undefined' : JSON.stringify(v, (k, x) => typeof x === 'bigint' ? x.toString() : x)
// A check that throws is a failing check, not a crashed driver.
const guard = async (desc, fn) => {
  try { result(desc, await fn()) } catch (e) { say('not_ok', desc, `check threw: ${e.stack.split('\n').slice(0, 3).join(' | ')}`) }
}

// ---- the table and its inputs ----------------------------------------------
const table = makeTable()
const schemaFile = join(WORK, 'matrix.schema.json')
const ndjsonFile = join(WORK, 'matrix.ndjson')
const csvFile = join(WORK, 'matrix.csv')
writeFileSync(schemaFile, schemaJson(table))
writeFileSync(ndjsonFile, ndjson(table))
writeFileSync(csvFile, csv(table))
const expectedRows = Array.from({ length: table.n }, (_, i) => table.cols.map(c => canonExpected(c.t, c.values[i])))

// Leaf columns in file order, with their values per row (flat columns only).
const allLeaves = table.cols.flatMap(c => leaves(c.name, c.t, c.nullable).map(l => ({ ...l, col: c })))

// ---- cells ----------------------------------------------------------------
const CODECS = ['none', 'snappy', 'gzip', 'zstd', 'lz4_raw']
const CODEC_WIRE = { none: 'UNCOMPRESSED', snappy: 'SNAPPY', gzip: 'GZIP', zstd: 'ZSTD', lz4_raw: 'LZ4_RAW' }
// Which leaves each encoding applies to (Encodings.md).
const ENCODINGS = {
  plain: { wire: 'PLAIN', applies: () => true },
  dictionary: { wire: 'RLE_DICTIONARY', cli: 'rle_dictionary', applies: l => l.spec.phys !== 'BOOLEAN' },
  delta_binary_packed: { wire: 'DELTA_BINARY_PACKED', applies: l => l.spec.phys === 'INT32' || l.spec.phys === 'INT64' },
  delta_length_byte_array: { wire: 'DELTA_LENGTH_BYTE_ARRAY', applies: l => l.spec.phys === 'BYTE_ARRAY' },
  byte_stream_split: { wire: 'BYTE_STREAM_SPLIT', applies: l => l.spec.phys === 'FLOAT' || l.spec.phys === 'DOUBLE' },
  // parquet-format 2.11 extends BYTE_STREAM_SPLIT to INT32, INT64 and FIXED_LEN_BYTE_ARRAY.
  byte_stream_split_ext: { wire: 'BYTE_STREAM_SPLIT', cli: 'byte_stream_split', applies: l => ['INT32', 'INT64', 'FIXED_LEN_BYTE_ARRAY'].includes(l.spec.phys) },
}
const MATRIX_ENCODINGS = ['plain', 'dictionary', 'delta_binary_packed', 'delta_length_byte_array', 'byte_stream_split']
// Legal features a reader cannot represent, with the evidence; those
// (reader, column type) cells are reported as TAP SKIP, never compared.
const READER_LIMITS = {
  duckdb: {
    ts_ns_utc: 'DuckDB reads TIMESTAMP(NANOS, isAdjustedToUTC=true) as TIMESTAMP WITH TIME ZONE, which holds microseconds (parquet_schema duckdb_type), so nanoseconds are lost',
  },
}
const BLOOM = ['c_int32', 'c_int64', 'n_string', 'c_double', 'c_uuid', 'c_fixed', 'c_date', 'n_dec_i64']

const cells = []
for (const codec of CODECS) {
  for (const encoding of MATRIX_ENCODINGS) {
    for (const pv of [1, 2]) cells.push({ name: `codec=${codec} enc=${encoding} v${pv}`, codec, encoding, pv, input: ndjsonFile })
  }
}
cells.push({ name: 'csv codec=zstd enc=dictionary v1', codec: 'zstd', encoding: 'dictionary', pv: 1, input: csvFile })
cells.push({ name: 'csv codec=snappy enc=plain v2', codec: 'snappy', encoding: 'plain', pv: 2, input: csvFile })
for (const [codec, pv] of [['zstd', 1], ['none', 2]]) {
  cells.push({ name: `codec=${codec} enc=byte_stream_split_ext v${pv}`, codec, encoding: 'byte_stream_split_ext', pv, input: ndjsonFile,
    skipReaders: { duckdb: 'DuckDB 1.5 cannot read BYTE_STREAM_SPLIT on INT32/INT64/FIXED_LEN_BYTE_ARRAY: "BYTE_STREAM_SPLIT encoding is only supported for FLOAT or DOUBLE data" (same error on parquet-testing byte_stream_split_extended.gzip.parquet)' } })
}
cells.push({ name: 'rowgroups codec=zstd enc=dictionary v2', codec: 'zstd', encoding: 'dictionary', pv: 2, input: ndjsonFile, extra: ['--row-group-size', '16384'] })

function convertArgs(cell, out) {
  const a = ['convert', cell.input, out, '--schema', schemaFile, '--codec', cell.codec, '--page-version', String(cell.pv), '--page-size', '2048', '--bloom', BLOOM.join(',')]
  a.push('--dictionary', cell.encoding === 'dictionary' ? 'on' : 'off')
  // Every encoding is asked for explicitly, PLAIN and dictionary too: left to
  // itself (AUTO) the writer picks what wins, e.g. a delta encoding for
  // unique integers.
  const e = ENCODINGS[cell.encoding]
  for (const l of allLeaves) if (e.applies(l)) a.push('--encoding', `${l.path}=${e.cli ?? cell.encoding}`)
  return a.concat(cell.extra ?? [])
}

// ---- checks ------------------------------------------------------------------

function compareRows(cell, reader, got, skips) {
  const diags = []
  if (got.rows.length !== table.n) diags.push(`${reader}: ${got.rows.length} rows, want ${table.n}`)
  table.cols.forEach((c, k) => {
    const gi = got.columns.findIndex(d => d.name === c.name)
    if (gi < 0) { diags.push(`${c.name}: column missing`); return }
    const limit = READER_LIMITS[reader]?.[c.id]
    if (limit) { skips.push([`${cell.name}: read ${reader} ${c.name}`, limit]); return }
    let bad = 0, first = null
    for (let i = 0; i < Math.min(table.n, got.rows.length); i++) {
      const e = JSON.stringify(expectedRows[i][k]), g = JSON.stringify(got.rows[i][gi])
      if (e !== g) { bad++; if (!first) first = { i, e, g } }
    }
    if (bad) diags.push(`cell ${c.id ?? c.name} ${c.nullable ? 'optional' : 'required'} col=${c.name} ${cell.name} reader=${reader}: ${bad} rows differ; row ${first.i}: want ${first.e.slice(0, 150)} got ${first.g.slice(0, 150)}`)
  })
  return diags
}

// Expected descriptor of each leaf compared with what the footer says.
function checkSchema(cell, fileLeaves, duck) {
  const diags = duck.errors.filter(e => e.startsWith('parquet_schema')).map(e => `DuckDB ${e}`)
  if (fileLeaves.length !== allLeaves.length) diags.push(`${fileLeaves.length} leaf columns in the footer, want ${allLeaves.length}`)
  allLeaves.forEach((l, k) => {
    const el = fileLeaves[k]
    if (!el) return
    const d = leafDescriptor(el)
    const want = { physical: l.spec.phys, ...l.spec.desc }
    for (const [key, v] of Object.entries(want)) {
      if (key === 'precision' && d[key] === undefined) continue
      if (d[key] !== v) diags.push(`${l.path}: footer ${key}=${d[key]}, want ${v} (${l.spec.schema})`)
    }
    if (l.spec.typeLength && el.type_length !== l.spec.typeLength) diags.push(`${l.path}: type_length ${el.type_length}, want ${l.spec.typeLength}`)
    const rep = l.nullable ? 'OPTIONAL' : 'REQUIRED'
    if (el.repetition_type !== rep) diags.push(`${l.path}: repetition ${el.repetition_type}, want ${rep}`)
    // DuckDB's reading of the same leaf.
    const drow = duck.schema.filter(r => r.type !== null)[k]
    const wantDuck = [].concat(l.spec.duck)
    if (!drow || !wantDuck.includes(drow.duckdb_type)) diags.push(`${l.path}: DuckDB type ${drow?.duckdb_type}, want ${wantDuck.join('|')}`)
  })
  return diags
}

const ORDER = (spec, a, b) => spec.cmp(a, b)
function minMax(spec, values) {
  let min, max, nulls = 0, any = false
  for (const v of values) {
    if (v === null) { nulls++; continue }
    if (spec.float && Number.isNaN(v)) continue
    if (!any) { min = max = v; any = true; continue }
    if (ORDER(spec, v, min) < 0) min = v
    if (ORDER(spec, v, max) > 0) max = v
  }
  return { min, max, nulls, any }
}
// Canonical stat strings compared with float zero signs folded (Parquet
// writers may write -0 or +0 for a zero bound) and byte-array bounds that may
// be truncated (then the stat must bound the true value).
function statMatches(spec, got, want, isMax) {
  if (got === want) return true
  if (spec.float && (got === '0' || got === '-0') && (want === '0' || want === '-0')) return true
  return false
}

function checkStats(cell, buf, fm, duck) {
  const diags = duck.errors.filter(e => e.startsWith('parquet_metadata')).map(e => `DuckDB ${e}`)
  const cs = chunks(fm)
  const rgRows = []
  for (const ch of cs) if (ch.col === 0) rgRows.push(ch.rowGroupRows)
  const fileLeaves = describeFile(toArrayBuffer(buf)).metadata.schema.filter(e => !e.num_children)
  for (const ch of cs) {
    const l = allLeaves[ch.col]
    if (!l) continue
    const d = leafDescriptor(fileLeaves[ch.col])
    if (!ch.stats) { diags.push(`${l.path} rg ${ch.rg}: no statistics`); continue }
    if (l.nested) continue // flat columns have exact expectations below
    const start = rgRows.slice(0, ch.rg).reduce((a, b) => a + b, 0)
    const vals = l.col.values.slice(start, start + ch.rowGroupRows)
    const mm = minMax(l.spec, vals)
    if (ch.stats.nullCount !== mm.nulls) diags.push(`${l.path} rg ${ch.rg}: null_count ${ch.stats.nullCount}, want ${mm.nulls}`)
    const gmin = decodeStat(d, ch.stats.min), gmax = decodeStat(d, ch.stats.max)
    if (!mm.any) {
      if (gmin !== undefined || gmax !== undefined) diags.push(`${l.path} rg ${ch.rg}: min/max ${gmin}/${gmax} for an all-null chunk`)
      continue
    }
    const wmin = show(l.spec.canon(mm.min)).replace(/^"|"$/g, ''), wmax = show(l.spec.canon(mm.max)).replace(/^"|"$/g, '')
    const fmt = x => show(x).replace(/^"|"$/g, '')
    if (gmin === undefined || !statMatches(l.spec, fmt(gmin), wmin)) diags.push(`${l.path} rg ${ch.rg}: min ${fmt(gmin)}, want ${wmin}`)
    if (gmax === undefined || !statMatches(l.spec, fmt(gmax), wmax)) diags.push(`${l.path} rg ${ch.rg}: max ${fmt(gmax)}, want ${wmax}`)
  }
  // DuckDB's parquet_metadata(): null counts, and min/max present.
  for (const m of duck.metadata) {
    const path = m.path_in_schema.split(', ').join('.')
    const l = allLeaves.find(x => x.path === path)
    if (!l || l.nested) continue
    const rg = Number(m.row_group_id)
    const start = rgRows.slice(0, rg).reduce((a, b) => a + b, 0)
    const mm = minMax(l.spec, l.col.values.slice(start, start + rgRows[rg]))
    if (Number(m.stats_null_count) !== mm.nulls) diags.push(`DuckDB ${path} rg ${rg}: stats_null_count ${m.stats_null_count}, want ${mm.nulls}`)
    // DuckDB shows no bound that is infinite (its own rendering choice).
    const shown = x => !(l.spec.float && !Number.isFinite(x))
    if (mm.any && shown(mm.min) && m.stats_min_value === null) diags.push(`DuckDB ${path} rg ${rg}: no stats_min_value (want ${l.spec.canon(mm.min)})`)
    if (mm.any && shown(mm.max) && m.stats_max_value === null) diags.push(`DuckDB ${path} rg ${rg}: no stats_max_value (want ${l.spec.canon(mm.max)})`)
    if (m.compression !== CODEC_WIRE[cell.codec]) diags.push(`DuckDB ${path}: compression ${m.compression}, want ${CODEC_WIRE[cell.codec]}`)
  }
  return diags
}

function checkPages(cell, buf, fm) {
  const diags = []
  const wantType = cell.pv === 2 ? 'DATA_PAGE_V2' : 'DATA_PAGE'
  let npages = 0
  for (const ch of chunks(fm)) {
    const l = allLeaves[ch.col]
    if (!l) continue
    if (ch.codec !== CODEC_WIRE[cell.codec]) diags.push(`${l.path}: codec ${ch.codec}, want ${CODEC_WIRE[cell.codec]}`)
    let ps
    try { ps = pages(buf, ch) } catch (e) { diags.push(`${l.path} rg ${ch.rg}: page walk: ${e.message}`); continue }
    const enc = ENCODINGS[cell.encoding]
    // A column without a single value (all null) has nothing to encode: the
    // writer writes its null pages PLAIN and no dictionary, whatever was asked.
    const hasValues = l.col.values.some(v => v !== null)
    const applies = enc.applies(l) && hasValues
    // Dictionary cells: the writer keeps a dictionary only while it pays off
    // (writer.c, AUTO and explicit rle_dictionary alike) and then falls back
    // for the rest of the chunk; a chunk that mixes both is legal and every
    // reader must handle it. So: a dictionary page, the first data page
    // dictionary-encoded, and no dictionary page after a fallback page.
    let fellBack = false, firstData = true
    for (const p of ps) {
      npages++
      const h = p.header
      if (p.crc === undefined) diags.push(`${l.path} page @${p.offset}: no crc`)
      else if (!p.crcOk) diags.push(`${l.path} page @${p.offset}: crc mismatch`)
      if (h.type === 'DICTIONARY_PAGE') {
        if (cell.encoding !== 'dictionary' && applies) diags.push(`${l.path}: dictionary page with --dictionary off`)
        continue
      }
      if (h.type !== wantType) diags.push(`${l.path} page @${p.offset}: ${h.type}, want ${wantType}`)
      const pe = (h.data_page_header ?? h.data_page_header_v2)?.encoding
      let ok
      if (!applies) ok = true // the writer's choice; the reads above prove it
      else if (cell.encoding === 'plain') ok = pe === 'PLAIN' || (l.spec.phys === 'BOOLEAN' && pe === 'RLE')
      else if (cell.encoding === 'dictionary') {
        const isDict = pe === 'RLE_DICTIONARY' || pe === 'PLAIN_DICTIONARY'
        ok = !hasValues || (firstData ? isDict : isDict ? !fellBack : true)
        if (!isDict) fellBack = true
        firstData = false
      }
      else ok = pe === enc.wire
      if (!ok) diags.push(`${l.path} page @${p.offset}: encoding ${pe}, want ${enc.wire}${cell.encoding === 'dictionary' ? ' (first data page, or after a fallback)' : ''}`)
    }
    if (cell.encoding === 'dictionary' && applies && !ps.some(p => p.header.type === 'DICTIONARY_PAGE')) diags.push(`${l.path}: no dictionary page with --dictionary on`)
    if (applies && !ch.encodings.includes(enc.wire) && !(cell.encoding === 'dictionary' && ch.encodings.includes('PLAIN_DICTIONARY'))) diags.push(`${l.path}: chunk encodings ${ch.encodings.join(',')} lack ${enc.wire}`)
  }
  return { diags, npages }
}

function checkPageIndex(cell, buf, fm) {
  const diags = []
  const cs = chunks(fm)
  const rgRows = []
  for (const ch of cs) if (ch.col === 0) rgRows.push(ch.rowGroupRows)
  const fileLeaves = describeFile(toArrayBuffer(buf)).metadata.schema.filter(e => !e.num_children)
  let multi = 0
  for (const ch of cs) {
    const l = allLeaves[ch.col]
    if (!l) continue
    const d = leafDescriptor(fileLeaves[ch.col])
    let ci, oi, ps
    try { ci = columnIndex(buf, ch); oi = offsetIndex(buf, ch); ps = pages(buf, ch) } catch (e) { diags.push(`${l.path}: ${e.message}`); continue }
    if (!oi) { diags.push(`${l.path} rg ${ch.rg}: no OffsetIndex`); continue }
    if (!ci) { diags.push(`${l.path} rg ${ch.rg}: no ColumnIndex`); continue }
    const data = ps.filter(p => p.header.type !== 'DICTIONARY_PAGE')
    const locs = oi.page_locations
    if (locs.length !== data.length) { diags.push(`${l.path} rg ${ch.rg}: OffsetIndex has ${locs.length} pages, chunk has ${data.length}`); continue }
    if (locs.length > 1) multi++
    let row = 0
    locs.forEach((loc, k) => {
      const p = data[k]
      if (Number(loc.offset) !== p.offset) diags.push(`${l.path} page ${k}: OffsetIndex offset ${loc.offset}, page at ${p.offset}`)
      if (loc.compressed_page_size !== p.headerSize + p.header.compressed_page_size) diags.push(`${l.path} page ${k}: OffsetIndex size ${loc.compressed_page_size}, header+page is ${p.headerSize + p.header.compressed_page_size}`)
      if (Number(loc.first_row_index) !== row && !l.nested) diags.push(`${l.path} page ${k}: first_row_index ${loc.first_row_index}, want ${row}`)
      if (!l.nested) row += (p.header.data_page_header ?? p.header.data_page_header_v2).num_values
      else if (p.header.data_page_header_v2) row += p.header.data_page_header_v2.num_rows
    })
    if (ci.null_pages.length !== locs.length) { diags.push(`${l.path}: ColumnIndex has ${ci.null_pages.length} pages, OffsetIndex ${locs.length}`); continue }
    const nc = (ci.null_counts ?? []).map(Number)
    if (!l.nested) {
      const start = rgRows.slice(0, ch.rg).reduce((a, b) => a + b, 0)
      locs.forEach((loc, k) => {
        const a = start + Number(loc.first_row_index)
        const b = start + (k + 1 < locs.length ? Number(locs[k + 1].first_row_index) : rgRows[ch.rg])
        const mm = minMax(l.spec, l.col.values.slice(a, b))
        if (nc.length && nc[k] !== mm.nulls) diags.push(`${l.path} page ${k}: null_count ${nc[k]}, want ${mm.nulls}`)
        const allNull = mm.nulls === b - a
        if (ci.null_pages[k] !== allNull) diags.push(`${l.path} page ${k}: null_pages ${ci.null_pages[k]}, want ${allNull}`)
        if (!mm.any) return
        const fmt = x => show(x).replace(/^"|"$/g, '')
        const gmin = fmt(decodeStat(d, ci.min_values[k])), gmax = fmt(decodeStat(d, ci.max_values[k]))
        const wmin = fmt(l.spec.canon(mm.min)), wmax = fmt(l.spec.canon(mm.max))
        if (!statMatches(l.spec, gmin, wmin)) diags.push(`${l.path} page ${k} (rows ${a}..${b - 1}): ColumnIndex min ${gmin}, want ${wmin}`)
        if (!statMatches(l.spec, gmax, wmax)) diags.push(`${l.path} page ${k} (rows ${a}..${b - 1}): ColumnIndex max ${gmax}, want ${wmax}`)
      })
    } else if (nc.length && ch.stats?.nullCount !== undefined) {
      const sum = nc.reduce((x, y) => x + y, 0)
      if (sum !== ch.stats.nullCount) diags.push(`${l.path}: ColumnIndex null_counts sum ${sum}, chunk null_count ${ch.stats.nullCount}`)
    }
  }
  if (!multi && !cell.extra) diags.push('no column chunk has more than one page: --page-size did not take effect')
  return diags
}

async function checkBloom(cell, buf, fm) {
  const diags = []
  const hash = await hasher()
  const cs = chunks(fm)
  const rgRows = []
  for (const ch of cs) if (ch.col === 0) rgRows.push(ch.rowGroupRows)
  const enc = new TextEncoder()
  for (const name of BLOOM) {
    const k = allLeaves.findIndex(l => l.path === name)
    const l = allLeaves[k]
    for (const ch of cs.filter(c => c.col === k)) {
      let bf
      try { bf = bloomFilter(buf, ch) } catch (e) { diags.push(`${name} rg ${ch.rg}: ${e.message}`); continue }
      if (!bf) { diags.push(`${name} rg ${ch.rg}: no bloom filter (asked with --bloom)`); continue }
      const start = rgRows.slice(0, ch.rg).reduce((a, b) => a + b, 0)
      const vals = l.col.values.slice(start, start + ch.rowGroupRows).filter(v => v !== null)
      const toPlain = v => {
        switch (l.spec.desc.kind) {
        case 'uuid': return Uint8Array.from(Buffer.from(v.replace(/-/g, ''), 'hex'))
        case 'string': case 'binary': return enc.encode(v)
        case 'decimal': return plainBytes(l.spec.phys, v)
        default: return plainBytes(l.spec.phys, v)
        }
      }
      const present = new Set(vals.map(v => Buffer.from(toPlain(v)).toString('hex')))
      const missing = vals.filter(v => !bloomContains(bf, hash(toPlain(v))))
      if (missing.length) diags.push(`${name} rg ${ch.rg}: ${missing.length} present values not in the bloom filter, e.g. ${show(missing[0])}`)
      // Absent values: the false-positive rate must be low (1% target).
      let fp = 0, probes = 0
      for (let i = 0; i < 2000 && probes < 1000; i++) {
        const b = enc.encode(`absent-${i}-${name}`)
        const bytes = l.spec.phys === 'INT32' ? b.slice(0, 4) : l.spec.phys === 'INT64' || l.spec.phys === 'DOUBLE' ? b.slice(0, 8) : l.spec.desc.kind === 'uuid' ? enc.encode(`absent-${i}`.padEnd(16, '#')).slice(0, 16) : l.spec.typeLength ? b.slice(-l.spec.typeLength) : b
        if (present.has(Buffer.from(bytes).toString('hex'))) continue
        probes++
        if (bloomContains(bf, hash(bytes))) fp++
      }
      if (fp > probes * 0.05) diags.push(`${name} rg ${ch.rg}: ${fp}/${probes} absent values match (false-positive rate over 5%)`)
    }
  }
  return diags
}

// ---- run ----------------------------------------------------------------------
const readers = await openReaders()
const conn = await readers.duck()
const re = FILTER ? new RegExp(FILTER) : null
for (const cell of cells) {
  if (re && !re.test(cell.name)) continue
  const out = join(WORK, cell.name.replace(/[^A-Za-z0-9_=.-]+/g, '_') + '.parquet')
  const args = convertArgs(cell, out)
  const r = spawnSync(PQF, args, { encoding: 'utf8' })
  if (r.status !== 0 || !existsSync(out)) {
    say('not_ok', `${cell.name}: pqfeed convert`, `exit ${r.status}${r.signal ? ' signal ' + r.signal : ''}: ${(r.stderr || '').trim().slice(0, 300)}`, `command: ${PQF} ${args.join(' ').slice(0, 300)}`)
    continue
  }
  say('ok', `${cell.name}: pqfeed convert`)
  for (const reader of READERS) {
    if (cell.skipReaders?.[reader]) { say('skip', `${cell.name}: read ${reader} equals input`, cell.skipReaders[reader]); continue }
    let got
    try { got = await readers.read(reader, out) } catch (e) { say('not_ok', `${cell.name}: read ${reader}`, `${reader} failed: ${e.message}`); continue }
    const skips = []
    result(`${cell.name}: read ${reader} equals input`, compareRows(cell, reader, got, skips))
    for (const [d, why] of skips) say('skip', d, why)
  }
  const buf = readFileSync(out)
  let fm, duck
  try { fm = rawFooter(buf) } catch (e) { say('not_ok', `${cell.name}: footer`, e.message); continue }
  duck = await duckMeta(conn, out)
  const fileLeaves = describeFile(toArrayBuffer(buf)).metadata.schema.filter(e => !e.num_children)
  await guard(`${cell.name}: types in footer and DuckDB parquet_schema`, () => checkSchema(cell, fileLeaves, duck))
  await guard(`${cell.name}: statistics (footer and DuckDB parquet_metadata)`, () => checkStats(cell, buf, fm, duck))
  await guard(`${cell.name}: pages: codec, version, encodings, CRC32`, () => checkPages(cell, buf, fm).diags)
  await guard(`${cell.name}: page index (ColumnIndex, OffsetIndex)`, () => checkPageIndex(cell, buf, fm))
  await guard(`${cell.name}: bloom filters`, () => checkBloom(cell, buf, fm))
}
await readers.close()
