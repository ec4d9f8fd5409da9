#!/usr/bin/env bash
# export's input digest (source_blake3, docs/FORMAT.md) taken in the parsing
# pass for NDJSON inputs (src/feed/export.c): the same value as the separate
# pass it replaced (PQF_EXPORT_DIGEST_PASS=1 selects that one), and the BLAKE3
# that Debian's b3sum computes of the digest's input (PQF_EXPORT_DIGEST_DUMP
# writes it out), whose SHA-256 is the value the SHA-256 digest had before
# the change (pinned from the binary at ee717ff), whether the digest is complete at
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

digest() { grep -o '"source_blake3":"[0-9a-f]*"' "$1"/t/_log/00000000000000000001.json | cut -d'"' -f4; }
files() { (cd "$1" && find t/data -name '*.parquet' | sort | xargs sha256sum); }

# the SHA-256 digest the separate pass gave before BLAKE3 (pqfeed at ee717ff):
# the digest's input is still the same bytes
PINNED=b72ec9f5703ef381c468db7e384015ce2184c8bf904d3fba79a2ab8a7379a98f
PINNED_SMALL=cfe3a5fdf5be8b12da3d2c92fb402850425d674c4cac81b5b36c3ee9ee2780c2

check "export, digest in the parsing pass" "$PQF" export "$T/fold" "${AS[@]}" "$P"
check "export, digest in a separate pass" env PQF_EXPORT_DIGEST_PASS=1 "$PQF" export "$T/pass" "${AS[@]}" "$P"
check_eq "the same digest both ways" "$(digest "$T/fold")" "$(digest "$T/pass")"
preimage() { # dump-file: sha256 and BLAKE3 (b3sum) of the digest's input
    check_eq "$1: the digest's input is the one SHA-256 was taken of" "$(sha256sum <"$1" | cut -d' ' -f1)" "$2"
    if command -v b3sum >/dev/null; then
        check_eq "$1: the digest is b3sum's BLAKE3 of it" "$(b3sum --no-names "$1")" "$3"
    else
        echo "# skip: b3sum is not installed (scripts/deps.sh installs it)"
    fi
}
PQF_EXPORT_DIGEST_DUMP=$T/pre1 "$PQF" export "$T/dump1" "${AS[@]}" "$P" >/dev/null 2>&1
preimage "$T/pre1" "$PINNED" "$(digest "$T/fold")"
check_eq "the same file names and bytes" "$(files "$T/fold")" "$(files "$T/pass")"

# small row groups and files: the first file opens before the inputs are read
# (its name needs the digest, so the rest of the inputs is read for it then)
check "export in small files, parsing pass" "$PQF" export "$T/fold2" "${AS[@]}" "${SMALL[@]}" "$P"
check "export in small files, separate pass" env PQF_EXPORT_DIGEST_PASS=1 "$PQF" export "$T/pass2" "${AS[@]}" "${SMALL[@]}" "$P"
nf=$(find "$T/fold2/t/data" -name '*.parquet' | wc -l)
check "several data files" test "$nf" -ge 3
check_eq "small files: the same digest both ways" "$(digest "$T/fold2")" "$(digest "$T/pass2")"
PQF_EXPORT_DIGEST_DUMP=$T/pre2 "$PQF" export "$T/dump2" "${AS[@]}" "${SMALL[@]}" "$P" >/dev/null 2>&1
preimage "$T/pre2" "$PINNED_SMALL" "$(digest "$T/fold2")"
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
d2=$(grep -o '"source_blake3":"[0-9a-f]*"' "$T/fold2"/t/_log/00000000000000000002.json | cut -d'"' -f4)
env PQF_EXPORT_DIGEST_PASS=1 "$PQF" export "$T/pass3" "${AS[@]}" "${SMALL[@]}" "$P" >/dev/null 2>&1
check_eq "its digest is the separate pass's" "$d2" "$(digest "$T/pass3")"

# a feed written before BLAKE3: its commit names the digest source_sha256
check "export for the legacy feed" "$PQF" export "$T/legacy" "${AS[@]}" "$P"
c1=$T/legacy/t/_log/00000000000000000001.json
sed -i 's/"source_blake3":/"source_sha256":/' "$c1"
check_grep "the commit now has source_sha256" '"source_sha256":"[0-9a-f]{64}"' "$c1"
check "pqfeed log reads and verifies it" "$PQF" log "$T/legacy"
"$PQF" export "$T/legacy" "${AS[@]}" --json "$P" >"$T/legacy.json" 2>&1
check_grep "the same snapshot is committed again (its head's digest is another hash)" '"committed":true,"seq":2' "$T/legacy.json"
check_grep "the new commit has source_blake3" '"source_blake3":"[0-9a-f]{64}"' "$T/legacy/t/_log/00000000000000000002.json"
check "and the chain verifies" "$PQF" log "$T/legacy"

# CSV input keeps the separate pass (one of the inputs is CSV)
printf 'id,name\n7001,c\n' >"$T/c.csv"
check "NDJSON and CSV inputs together" "$PQF" export "$T/mixed" "${AS[@]}" "$P/p1.ndjson" "$T/c.csv"
env PQF_EXPORT_DIGEST_PASS=1 "$PQF" export "$T/mixed2" "${AS[@]}" "$P/p1.ndjson" "$T/c.csv" >/dev/null 2>&1
check_eq "mixed inputs: the same digest" "$(digest "$T/mixed")" "$(digest "$T/mixed2")"
# a pipe (no size to check the reads against) keeps the separate pass, as before
printf '{"id":1}\n{"id":2}\n' | "$PQF" export "$T/pipe" "${AS[@]}" --format ndjson /dev/stdin >"$T/pipe.out" 2>&1
check_grep "NDJSON from a pipe is exported" 'commit 1 \(snapshot\): 2 rows' "$T/pipe.out"
done_testing
