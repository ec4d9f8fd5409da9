// Run SQL statements in one DuckDB (in-memory, 1 thread) and print the rows
// of the last one as JSON lines (BigInts as strings). Usage: node duck.mjs SQL...
import { DuckDBInstance } from '@duckdb/node-api';

const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
await con.run('SET threads=1');
let last = null;
for (const sql of process.argv.slice(2)) last = await con.runAndReadAll(sql);
for (const row of last.getRowObjectsJS())
  console.log(JSON.stringify(row, (k, v) => (typeof v === 'bigint' ? v.toString() : v)));
