#!/usr/bin/env bash
# Round trip, value by value: the interop table (lib/data.mjs: every type the
# writer supports, REQUIRED and OPTIONAL, nested lists and structs, edge
# values) goes through `pqfeed convert` (NDJSON and CSV input, several
# codecs, encodings and page versions), then `pqfeed parquet cat` must give
# back the input: every cell of pqfeed's NDJSON, canonicalised by
# lib/pqfcanon.mjs, equals the input's canonical value (lib/canon.mjs). The
# same files read by DuckDB must give the same canonical values as pqfeed.
# One TAP line per file and column (and reader).
#   PQF_RT_KEEP=DIR  keep the inputs and Parquet files in DIR
. "$(dirname "$0")/../lib.sh"
HERE=$ROOT/tests/interop
if [ ! -x "$PQF" ]; then not_ok "pqfeed binary at $PQF"; done_testing; exit 1; fi
if [ ! -d "$HERE/node_modules/@duckdb/node-api" ]; then
    skip "round trip" "tests/interop/node_modules missing (scripts/deps.sh installs it)"
    done_testing; exit 0
fi
WORK=${PQF_RT_KEEP:-$T/rt}
mkdir -p "$WORK"
cat >"$T/roundtrip.mjs" <<JS
import { writeFileSync } from 'node:fs'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { makeTable, schemaJson, ndjson, csv, canonExpected } from '$HERE/lib/data.mjs'
import { openReaders, describeFile, toArrayBuffer } from '$HERE/lib/readers.mjs'
import { canonPqfeedLine } from '$HERE/lib/pqfcanon.mjs'

const [PQF, WORK] = process.argv.slice(2)
const say = (status, desc, ...diag) => {
  const clean = s => String(s).replace(/[\t\n\r]/g, ' ').slice(0, 400)
  process.stdout.write([status, clean(desc), ...diag.slice(0, 8).map(clean)].join('\t') + '\n')
}
const show = v => JSON.stringify(v)
const table = makeTable()
const schema = join(WORK, 'rt.schema.json'), nd = join(WORK, 'rt.ndjson'), cs = join(WORK, 'rt.csv')
writeFileSync(schema, schemaJson(table))
writeFileSync(nd, ndjson(table))
writeFileSync(cs, csv(table))
const expected = Array.from({ length: table.n }, (_, i) => table.cols.map(c => canonExpected(c.t, c.values[i])))

const ints = table.cols.filter(c => c.t.kind === 'leaf' && ['INT32', 'INT64'].includes(c.t.spec.phys)).map(c => c.name)
const bas = table.cols.filter(c => c.t.kind === 'leaf' && c.t.spec.phys === 'BYTE_ARRAY').map(c => c.name)
const fls = table.cols.filter(c => c.t.kind === 'leaf' && ['FLOAT', 'DOUBLE'].includes(c.t.spec.phys)).map(c => c.name)
const enc = (cols, e) => cols.flatMap(c => ['--encoding', c + '=' + e])
const FILES = [
  { name: 'ndjson default', input: nd, args: [] },
  { name: 'csv default', input: cs, args: [] },
  { name: 'ndjson none plain v2', input: nd, args: ['--codec', 'none', '--dictionary', 'off', '--page-version', '2', '--page-size', '2048'] },
  { name: 'ndjson snappy dictionary row groups', input: nd, args: ['--codec', 'snappy', '--page-size', '2048', '--row-group-size', '16384'] },
  { name: 'ndjson gzip delta v2', input: nd, args: ['--codec', 'gzip', '--dictionary', 'off', '--page-version', '2', '--page-size', '4096', ...enc(ints, 'delta_binary_packed'), ...enc(bas, 'delta_length_byte_array')] },
  { name: 'ndjson lz4_raw byte_stream_split', input: nd, args: ['--codec', 'lz4_raw', '--dictionary', 'off', ...enc(fls, 'byte_stream_split')] },
]
// Legal values a reader cannot represent (as in matrix.mjs): reported as SKIP.
const DUCK_LIMITS = {
  c_ts_ns_utc: 'DuckDB reads TIMESTAMP(NANOS, isAdjustedToUTC=true) as TIMESTAMP WITH TIME ZONE (microseconds)',
  n_ts_ns_utc: 'DuckDB reads TIMESTAMP(NANOS, isAdjustedToUTC=true) as TIMESTAMP WITH TIME ZONE (microseconds)',
}

// Compare rows column by column; one result per column.
function compare(label, columns, got, want, limits = {}) {
  if (got.length !== want.length) { say('not_ok', label + ': row count', 'got ' + got.length, 'want ' + want.length); return }
  columns.forEach((c, k) => {
    const desc = label + ': ' + c.name
    if (limits[c.name]) { say('skip', desc, limits[c.name]); return }
    const bad = []
    for (let i = 0; i < want.length && bad.length < 3; i++) {
      const g = show(got[i][k]), w = show(want[i][k])
      if (g !== w) bad.push('row ' + i + ': got ' + g + ', want ' + w)
    }
    if (bad.length) say('not_ok', desc, ...bad)
    else say('ok', desc + ' (' + want.length + ' rows)')
  })
}

const readers = await openReaders()
for (const [fi, f] of FILES.entries()) {
  const out = join(WORK, 'rt' + fi + '.parquet')
  const cv = spawnSync(PQF, ['convert', f.input, out, '--schema', schema, ...f.args], { encoding: 'utf8' })
  if (cv.status !== 0) { say('not_ok', f.name + ': pqfeed convert', cv.stderr.slice(0, 300)); continue }
  const cat = spawnSync(PQF, ['parquet', 'cat', out], { encoding: 'utf8', maxBuffer: 1 << 28 })
  if (cat.status !== 0) { say('not_ok', f.name + ': pqfeed parquet cat', cat.stderr.slice(0, 300)); continue }
  const { columns } = describeFile(toArrayBuffer(readFileSync(out)))
  let mine
  try {
    mine = cat.stdout.split('\n').filter(Boolean).map(l => canonPqfeedLine(columns, l))
  } catch (e) { say('not_ok', f.name + ': canonicalise pqfeed NDJSON', e.message); continue }
  compare('round trip, ' + f.name, columns, mine, expected)
  let duck
  try { duck = (await readers.read('duckdb', out)).rows } catch (e) { say('not_ok', f.name + ': DuckDB reads it', e.message); continue }
  compare('pqfeed = DuckDB, ' + f.name, columns, mine, duck, DUCK_LIMITS)
}
await readers.close()
JS
node "$T/roundtrip.mjs" "$PQF" "$WORK" >"$T/rt.out" 2>"$T/rt.err"
rc=$?
while IFS=$'\t' read -r status desc rest; do
    case $status in
    ok) ok "$desc" ;;
    skip) skip "$desc" "$rest" ;;
    not_ok)
        diags=()
        IFS=$'\t' read -r -a diags <<<"$rest"
        not_ok "$desc" "${diags[@]}" ;;
    esac
done <"$T/rt.out"
if [ "$rc" -ne 0 ]; then not_ok "round-trip driver exited with $rc" "$(tail -n 8 "$T/rt.err")"; fi
done_testing
