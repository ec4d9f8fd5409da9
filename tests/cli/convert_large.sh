# CLI tests: pqfeed convert of outputs past the file sink's 4 MiB buffer,
# written with O_DIRECT (src/base/stream.c): the same bytes as the buffered
# writes to stdout, every row read back, and a kill between direct writes
# leaves no output file.
source "$(dirname "$0")/../lib.sh"

check "generate 200,000 mixed rows" "$PQF" gen --table mixed --rows 200000 --seed 7 --format csv --out "$T"
CSV=$T/mixed.csv
SCHEMA=$T/mixed.schema.json

check "convert to a file (direct writes)" "$PQF" convert "$CSV" "$T/d.parquet" --schema "$SCHEMA" --codec none
size=$(stat -c %s "$T/d.parquet")
check_eq "output spans more than two 4 MiB buffers" "$([ "$size" -gt $((9 << 20)) ] && echo yes || echo "no: $size bytes")" "yes"
"$PQF" convert "$CSV" - --schema "$SCHEMA" --codec none >"$T/s.parquet" 2>"$T/s.err"
check_eq "convert to stdout (buffered writes) exits 0" "$?" "0"
check "direct and buffered outputs are the same bytes" cmp "$T/d.parquet" "$T/s.parquet"
check_grep "the summary went to stderr" '^-: 200000 rows, ' "$T/s.err"
check "the file validates" "$PQF" parquet validate "$T/d.parquet"
check_grep "every row is there" ' 200000 rows' "$T/last.out"
check "scan the snappy conversion" bash -c "'$PQF' convert '$CSV' '$T/z.parquet' --schema '$SCHEMA' --codec snappy >/dev/null && '$PQF' parquet scan '$T/z.parquet'"
check_grep "scan sees every id" '^column id INT64: 200000 values, 0 nulls, sum 20000100000$' "$T/last.out"

# killed after its second direct write: no output, the temporary is what is left
PQF_CRASHPOINT=file.direct-written:2 bash -c '"$@"; exit $?' _ "$PQF" convert "$CSV" "$T/k.parquet" \
    --schema "$SCHEMA" --codec none >/dev/null 2>&1
check_eq "killed at the crash point" "$?" "137"
check_eq "no output file after the kill" "$(ls "$T" | grep -c '^k\.parquet$')" "0"
check_eq "the temporary holds exactly the two direct writes" \
    "$(stat -c %s "$T"/k.parquet.tmp-* 2>/dev/null)" "$((8 << 20))"
check "a rerun writes the file" "$PQF" convert "$CSV" "$T/k.parquet" --schema "$SCHEMA" --codec none
check "and it is the same bytes" cmp "$T/k.parquet" "$T/d.parquet"
done_testing
