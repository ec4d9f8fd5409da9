#!/usr/bin/env node
// Print a Parquet file's rows as canonical NDJSON (see lib/canon.mjs), as read
// by one reader, so that readers and the original input compare byte for byte.
//
//   node read.mjs duckdb|hyparquet|parquet-wasm FILE.parquet [FILE...]
//
// With several files the rows of each are printed in turn. Exit 1 on a read error.
import { openReaders, READERS } from './lib/readers.mjs'
import { canonLine } from './lib/canon.mjs'

const [reader, ...files] = process.argv.slice(2)
if (!READERS.includes(reader) || !files.length) {
  console.error(`usage: read.mjs ${READERS.join('|')} FILE.parquet...`)
  process.exit(2)
}
const r = await openReaders()
let rc = 0
for (const f of files) {
  try {
    const { columns, rows } = await r.read(reader, f)
    const out = rows.map(v => canonLine(columns, v)).join('\n')
    if (out) process.stdout.write(out + '\n')
  } catch (e) {
    console.error(`read.mjs: ${reader}: ${f}: ${e.message}`)
    rc = 1
  }
}
await r.close()
process.exitCode = rc
