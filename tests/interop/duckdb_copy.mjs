#!/usr/bin/env node
// DuckDB as the benchmark peer: CSV to Parquet on one thread, the way
// issue 2 states it.   node duckdb_copy.mjs IN.csv OUT.parquet [zstd|snappy]
import { DuckDBInstance } from '@duckdb/node-api'
const [inp, out, codec = 'zstd'] = process.argv.slice(2)
if (!inp || !out) { console.error('usage: duckdb_copy.mjs IN.csv OUT.parquet [codec]'); process.exit(2) }
const q = s => s.replace(/'/g, "''")
const inst = await DuckDBInstance.create(':memory:')
const conn = await inst.connect()
await conn.run('SET threads=1')
await conn.run(`COPY (SELECT * FROM read_csv('${q(inp)}')) TO '${q(out)}' (FORMAT parquet, COMPRESSION ${codec})`)
