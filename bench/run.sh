#!/usr/bin/env bash
# Run every benchmark in bench/ (`make bench`). Benchmarks never run in the
# test suite and nothing asserts a timing; each prints a Markdown report.
set -u
cd "$(dirname "$0")"
rc=0
for b in ./*.sh; do
    [ "$(basename "$b")" = run.sh ] && continue
    echo "== $b"
    bash "$b" || rc=1
done
exit $rc
