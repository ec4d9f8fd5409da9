#!/usr/bin/env node
// Do DuckDB, hyparquet and parquet-wasm give the same canonical rows for a
// file?  node agree.mjs FILE...  -> one line per file: ok|not_ok|skip TAB desc TAB diag
// Used by readers.sh on apache/parquet-testing files to keep the canonical
// form (lib/canon.mjs) honest before it judges pqfeed's files.
import { basename } from 'node:path'
import { openReaders, READERS } from './lib/readers.mjs'

// Reader limitations seen on legal files, with the reader's own words.
const KNOWN = {
  'byte_stream_split_extended.gzip.parquet': { duckdb: 'DuckDB: "BYTE_STREAM_SPLIT encoding is only supported for FLOAT or DOUBLE data"' },
  'int96_from_spark.parquet': { '*': 'INT96 values outside the int64-nanosecond range wrap differently in each reader' },
  'repeated_no_annotation.parquet': { 'parquet-wasm': 'arrow-rs returns no rows for an unannotated repeated group' },
}
const r = await openReaders()
for (const f of process.argv.slice(2)) {
  const name = basename(f)
  const outs = {}
  const errs = []
  for (const reader of READERS) {
    const known = KNOWN[name]?.[reader]
    if (known) continue
    try { outs[reader] = (await r.read(reader, f)).rows.map(x => JSON.stringify(x)) } catch (e) { errs.push(`${reader}: ${e.message}`) }
  }
  if (KNOWN[name]?.['*']) { console.log(`skip\t${name}: readers agree\t${KNOWN[name]['*']}`); continue }
  const names = Object.keys(outs)
  const diags = [...errs]
  for (const other of names.slice(1)) {
    const a = outs[names[0]], b = outs[other]
    if (a.length !== b.length) { diags.push(`${names[0]} ${a.length} rows, ${other} ${b.length}`); continue }
    const i = a.findIndex((x, k) => x !== b[k])
    if (i >= 0) diags.push(`row ${i}: ${names[0]} ${a[i].slice(0, 200)} | ${other} ${b[i].slice(0, 200)}`)
  }
  const skipped = Object.keys(KNOWN[name] ?? {})
  console.log(`${diags.length ? 'not_ok' : 'ok'}\t${name}: ${names.join(', ')} agree${skipped.length ? ` (${skipped.join(', ')} skipped: ${Object.values(KNOWN[name]).join('; ')})` : ''}${diags.length ? '\t' + diags.join('\t').replace(/\n/g, ' ') : ''}`)
}
await r.close()
