#!/usr/bin/env bash
# The training run of the profile-guided build (Makefile, PGO=1): an
# instrumented pqfeed does a small, fixed set of everyday jobs, and the counts
# it leaves (.gcda files next to its objects) steer the optimised build's
# branch layout and inlining. Deterministic: `gen` writes the same bytes for
# the same seed, and nothing here depends on time or the network.
#
#   scripts/pgo-train.sh INSTRUMENTED_PQFEED WORKDIR
#
# The jobs: the generator's four tables as NDJSON and CSV through `convert`
# (streamed NDJSON shredding, CSV fields, nested values), hourly API pages
# through `export` (a snapshot, then changes with a key and watermark, into a
# local feed), and reading back (`parquet scan`, `cat`, `log`). Seeds and sizes
# differ from bench/'s; docs/BENCHMARKS.md gives results with and without.
# The test data's generation is not part of the profile: `gen` writes its counts
# elsewhere (GCOV_PREFIX), so that its loops do not make the jobs' paths look
# cold by comparison.
set -eu
PQF=$1
W=$2
rm -rf "$W"
mkdir -p "$W"
gen() { GCOV_PREFIX="$W/gen-counts" "$PQF" gen "$@" >/dev/null; }
gen --out "$W/nd" --table all --rows 20000 --format ndjson --seed 11
gen --out "$W/csv" --table all --rows 20000 --format csv --seed 12
for t in issues comments worklogs users; do
    "$PQF" convert "$W/nd/$t.ndjson" "$W/$t.nd.parquet" --schema "$W/nd/$t.schema.json" >/dev/null
    "$PQF" convert "$W/csv/$t.csv" "$W/$t.csv.parquet" --schema "$W/csv/$t.schema.json" --codec snappy >/dev/null
    "$PQF" parquet scan "$W/$t.nd.parquet" >/dev/null
done
"$PQF" parquet cat "$W/issues.csv.parquet" --limit 2000 >/dev/null
gen --out "$W/api" --table issues --rows 30000 --hours 2 --page-rows 2500 --seed 13
"$PQF" export "$W/feed" --table issues --schema "$W/api/issues.schema.json" --key id \
    "$W/api/hour-0000" >/dev/null
for h in 0001 0002; do
    "$PQF" export "$W/feed" --table issues --schema "$W/api/issues.schema.json" --mode changes \
        --key id --watermark updated_at --delete-column deleted "$W/api/hour-$h" >/dev/null
done
"$PQF" log "$W/feed" issues >/dev/null
rm -rf "$W"
