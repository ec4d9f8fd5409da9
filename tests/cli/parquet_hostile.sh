#!/usr/bin/env bash
# `pqfeed parquet` on hostile files: each a clean error with a message and
# the documented exit code, never a crash or a huge allocation.
. "$(dirname "$0")/../lib.sh"
printf 'PAR1%016d\xff\xff\xff\xffPAR1' 0 >"$T/footer4g.parquet"
check_exit "a footer claiming 4 GiB is corrupt (exit 5), not an allocation" 5 "$PQF" parquet inspect "$T/footer4g.parquet"
check_grep "the message gives the claimed footer size" "footer of 4294967295 bytes does not fit" "$T/last.out"
printf 'PAR1\0\0\0\0\0\0\0\0\x04\0\0\0PARE' >"$T/pare.parquet"
check_exit "PARE magic: encrypted, not supported (exit 7)" 7 "$PQF" parquet cat "$T/pare.parquet"
check_grep "the message says encrypted, not supported" "encrypted, not supported" "$T/last.out"
printf 'hello, not parquet at all' >"$T/text.parquet"
check_exit "not a Parquet file (exit 5)" 5 "$PQF" parquet validate "$T/text.parquet"
check_grep "the message says so" "not a Parquet file" "$T/last.out"
printf 'PAR1PAR1' >"$T/tiny.parquet"
check_exit "an 8-byte file (exit 5)" 5 "$PQF" parquet inspect "$T/tiny.parquet"
# footer of garbage thrift: a nested struct 200 levels deep
{ printf 'PAR1'; head -c 200 /dev/zero | tr '\0' '\034'; printf '\xc8\0\0\0PAR1'; } >"$T/deep.parquet"
check_exit "a footer nested 200 structs deep is corrupt (exit 5)" 5 "$PQF" parquet inspect "$T/deep.parquet"
check_grep "the message names the nesting" "nesting too deep" "$T/last.out"
for f in "$ROOT"/fuzz/corpus/file/*; do
    "$PQF" parquet validate "$f" >/dev/null 2>&1
    rc=$?
    if [ "$rc" -lt 128 ]; then ok "fuzz seed $(basename "$f"): validate exits cleanly ($rc)"; else not_ok "fuzz seed $(basename "$f"): validate crashed ($rc)"; fi
done
done_testing
