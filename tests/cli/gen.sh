# CLI tests: pqfeed gen (deterministic data + schemas), then convert of each table.
source "$(dirname "$0")/../lib.sh"

check "gen all tables as CSV" "$PQF" gen --out "$T/a" --rows 200 --seed 7
check_eq "files" "$(cd "$T/a" && ls | tr '\n' ' ')" \
  "comments.csv comments.schema.json issues.csv issues.schema.json users.csv users.schema.json worklogs.csv worklogs.schema.json "
check_eq "header + rows" "$(wc -l <"$T/a/users.csv")" "201"
check "same seed again" "$PQF" gen --out "$T/b" --rows 200 --seed 7
check_eq "same bytes for the same seed" "$(cat "$T"/a/*.csv | sha256sum)" "$(cat "$T"/b/*.csv | sha256sum)"
check "another seed" "$PQF" gen --out "$T/c" --rows 200 --seed 8
if [ "$(sha256sum <"$T/a/issues.csv")" != "$(sha256sum <"$T/c/issues.csv")" ]; then ok "different seed, different data"; else not_ok "different seed, different data"; fi
check_eq "first users row is stable" "$(sed -n 2p "$T/a/users.csv" | cut -d, -f1,3)" "1,$(sed -n 2p "$T/b/users.csv" | cut -d, -f3)"

for t in users issues comments worklogs; do
    check "convert $t.csv with its schema" "$PQF" convert "$T/a/$t.csv" "$T/a/$t.parquet" --schema "$T/a/$t.schema.json"
    check_grep "$t: 200 rows" ': 200 rows,' "$T/last.out"
done

check "gen issues as NDJSON" "$PQF" gen --out "$T/n" --table issues --rows 50 --format ndjson
check_grep "nested schema has a struct" '"struct"' "$T/n/issues.schema.json"
check "convert nested issues" "$PQF" convert "$T/n/issues.ndjson" "$T/n/issues.parquet" --schema "$T/n/issues.schema.json"
check_grep "50 rows" ': 50 rows,' "$T/last.out"

check "gen mixed" "$PQF" gen --out "$T/m" --table mixed --rows 1000 --seed 3
check_eq "mixed header" "$(head -1 "$T/m/mixed.csv")" "id,i32,f64,flag,ts,day,category,uid,maybe_int,amount"
check_eq "8 categories" "$(tail -n +2 "$T/m/mixed.csv" | cut -d, -f7 | sort -u | wc -l)" "8"
check_eq "uid unique" "$(tail -n +2 "$T/m/mixed.csv" | cut -d, -f8 | sort -u | wc -l)" "1000"
nulls=$(tail -n +2 "$T/m/mixed.csv" | cut -d, -f9 | grep -c '^$')
if [ "$nulls" -ge 60 ] && [ "$nulls" -le 140 ]; then ok "about 10% NULL maybe_int ($nulls)"; else not_ok "about 10% NULL maybe_int" "got $nulls"; fi
check "convert mixed" "$PQF" convert "$T/m/mixed.csv" "$T/m/mixed.parquet" --schema "$T/m/mixed.schema.json"

check_exit "unknown table" 2 "$PQF" gen --out "$T/x" --table nope
check_exit "needs --out" 2 "$PQF" gen --rows 5
check "--help" "$PQF" gen --help
check_grep "help names tables" 'issues\|comments' "$T/last.out"
done_testing
