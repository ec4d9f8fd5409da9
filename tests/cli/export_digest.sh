#!/usr/bin/env bash
# export's input digest (source_sha256, docs/FORMAT.md) taken in the parsing
# pass for NDJSON inputs (src/feed/export.c): the same value as the separate
# pass it replaced (PQF_EXPORT_DIGEST_PASS=1 selects that one, and a value
# pinned from the binary before the change), whether the digest is complete at
# the end of the last input or finished early because a data file opened
# first (small row groups and files); unchanged snapshots are still
# recognised without writing anything.
. "$(dirname "$0")/../lib.sh"

cat >"$T/s.json" <<'JSON'
{"columns": [
  {"name": "id", "type": "int64", "nullable": false},
  {"name": "name", "type": "string"},
  {"name": "tags", "type": {"list": "string"}},
  {"name": "meta", "type": {"struct": [{"name": "a", "type": "int32"}]}}
]}
JSON
P=$T/pages
mkdir -p "$P"
# a BOM, blank lines and CRLF; an array page; a longer page
{ printf '\xEF\xBB\xBF'; echo '{"id":1,"name":"a","tags":["x"]}'; echo; printf '{"id":2,"name":"b\\u00e9"}\r\n'; echo '   '; } >"$P/p1.ndjson"
echo '[{"id":3,"meta":{"a":1}},{"id":4,"name":null}]' >"$P/p2.json"
for i in $(seq 5 40000); do echo "{\"id\":$i,\"name\":\"row $i with a few words\",\"tags\":[\"t$((i % 7))\",\"u$((i % 13))\"],\"meta\":{\"a\":$((i % 100))}}"; done >"$P/p3.ndjson"
for i in $(seq 40001 40400); do echo "{\"id\":$i,\"name\":\"n$((i * 7919 % 1000))\"}"; done >"$P/p4.ndjson"
AS=(--table t --schema "$T/s.json" --as-of 2026-01-05T00:00:00Z)
SMALL=(--row-group-size 32K --target-file-size 64K)

digest() { grep -o '"source_sha256":"[0-9a-f]*"' "$1"/t/_log/00000000000000000001.json | cut -d'"' -f4; }
files() { (cd "$1" && find t/data -name '*.parquet' | sort | xargs sha256sum); }

# the value the separate pass gave before the change (pqfeed at ee717ff)
PINNED=b72ec9f5703ef381c468db7e384015ce2184c8bf904d3fba79a2ab8a7379a98f
PINNED_SMALL=cfe3a5fdf5be8b12da3d2c92fb402850425d674c4cac81b5b36c3ee9ee2780c2

check "export, digest in the parsing pass" "$PQF" export "$T/fold" "${AS[@]}" "$P"
check "export, digest in a separate pass" env PQF_EXPORT_DIGEST_PASS=1 "$PQF" export "$T/pass" "${AS[@]}" "$P"
check_eq "the same digest both ways" "$(digest "$T/fold")" "$(digest "$T/pass")"
check_eq "the digest as pinned before the change" "$(digest "$T/fold")" "$PINNED"
check_eq "the same file names and bytes" "$(files "$T/fold")" "$(files "$T/pass")"

# small row groups and files: the first file opens before the inputs are read
# (its name needs the digest, so the rest of the inputs is read for it then)
check "export in small files, parsing pass" "$PQF" export "$T/fold2" "${AS[@]}" "${SMALL[@]}" "$P"
check "export in small files, separate pass" env PQF_EXPORT_DIGEST_PASS=1 "$PQF" export "$T/pass2" "${AS[@]}" "${SMALL[@]}" "$P"
nf=$(find "$T/fold2/t/data" -name '*.parquet' | wc -l)
check "several data files" test "$nf" -ge 3
check_eq "small files: the same digest both ways" "$(digest "$T/fold2")" "$(digest "$T/pass2")"
check_eq "small files: the digest as pinned" "$(digest "$T/fold2")" "$PINNED_SMALL"
check_eq "small files: the same file names and bytes" "$(files "$T/fold2")" "$(files "$T/pass2")"
check "the small-file feed verifies" "$PQF" log "$T/fold2"

# an unchanged snapshot is not committed again, and writes nothing
for f in fold fold2; do
    extra=(); [ $f = fold2 ] && extra=("${SMALL[@]}")
    before=$(cd "$T/$f" && find . -type f | sort | xargs sha256sum)
    "$PQF" export "$T/$f" "${AS[@]}" "${extra[@]}" --json "$P" >"$T/again.json" 2>&1
    check_grep "$f: an unchanged snapshot is not committed" '"committed":false,"seq":1' "$T/again.json"
    check_eq "$f: and nothing was written" "$(cd "$T/$f" && find . -type f | sort | xargs sha256sum)" "$before"
done
# a changed input is a new commit with another digest
echo '{"id":9999}' >>"$P/p4.ndjson"
"$PQF" export "$T/fold2" "${AS[@]}" "${SMALL[@]}" --json "$P" >"$T/new.json" 2>&1
check_grep "a changed input is committed" '"committed":true,"seq":2' "$T/new.json"
d2=$(grep -o '"source_sha256":"[0-9a-f]*"' "$T/fold2"/t/_log/00000000000000000002.json | cut -d'"' -f4)
env PQF_EXPORT_DIGEST_PASS=1 "$PQF" export "$T/pass3" "${AS[@]}" "${SMALL[@]}" "$P" >/dev/null 2>&1
check_eq "its digest is the separate pass's" "$d2" "$(digest "$T/pass3")"

# CSV input keeps the separate pass (one of the inputs is CSV)
printf 'id,name\n7001,c\n' >"$T/c.csv"
check "NDJSON and CSV inputs together" "$PQF" export "$T/mixed" "${AS[@]}" "$P/p1.ndjson" "$T/c.csv"
env PQF_EXPORT_DIGEST_PASS=1 "$PQF" export "$T/mixed2" "${AS[@]}" "$P/p1.ndjson" "$T/c.csv" >/dev/null 2>&1
check_eq "mixed inputs: the same digest" "$(digest "$T/mixed")" "$(digest "$T/mixed2")"
# a pipe (no size to check the reads against) keeps the separate pass, as before
printf '{"id":1}\n{"id":2}\n' | "$PQF" export "$T/pipe" "${AS[@]}" --format ndjson /dev/stdin >"$T/pipe.out" 2>&1
check_grep "NDJSON from a pipe is exported" 'commit 1 \(snapshot\): 2 rows' "$T/pipe.out"
done_testing
