#!/usr/bin/env bash
# PostgreSQL source (include/pqfeed/dbsource.h) against a real server: a
# throwaway cluster from scripts/pg.sh, stopped on exit whatever happens.
# Runs the C tests (build/tests/test_dbsource with PQF_TEST_PG), then exports
# through the same program's driver mode and reads the Parquet back with
# `pqfeed parquet cat`: every type, a query, a watermark, bad input, and a
# few million rows with the client's peak RSS bounded.
. "$(dirname "$0")/../lib.sh"
DRV=$PQF_BUILD/tests/test_dbsource
BIG_ROWS=${PQF_PG_BIG_ROWS:-3000000}
RSS_LIMIT_MB=${PQF_PG_RSS_LIMIT_MB:-96}

start_pg
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$PQF_TEST_PG" "$@"; }

# --- the C tests (they create schema pqft, used below) --------------------------------
check "test_dbsource against the server" env PQF_TEST_PG="$PQF_TEST_PG" CMOCKA_MESSAGE_OUTPUT=TAP "$DRV"
grep -q '# SKIP' "$T/last.out" && not_ok "no PostgreSQL test skipped" "$(grep SKIP "$T/last.out")"

# --- every type, read back with pqfeed parquet cat -------------------------------------
check "export pqft.alltypes" "$DRV" export pg "$PQF_TEST_PG" table pqft.alltypes "$T/all.parquet"
"$PQF" parquet cat "$T/all.parquet" >"$T/all.ndjson" 2>&1
cat >"$T/all.want" <<'EOF'
{"id":1,"i2":32767,"i4":2147483647,"i8":9223372036854775807,"n38":9999999999999999999999999999.9999999999,"n52":999.99,"nfree":1.500000000,"f4":1.5,"f8":1e+308,"t":"héllo ☃ 𝄞","vc":"abc","ch":"ab ","b":true,"d":"2024-02-29","tm":"23:59:59.999999","ts":"2024-01-01T12:34:56.789012","tstz":"2024-03-10T09:30:00Z","u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","j":"{\"a\": [1, 2]}","jb":"{\"a\": \"x\", \"b\": 1}","by":"AP8A","ia":[1,null,3],"ta":["x y",null,"ü"],"e":"happy","dom":5,"iv":"1 day 02:00:00"}
{"id":2,"i2":-32768,"i4":-2147483648,"i8":-9223372036854775808,"n38":-9999999999999999999999999999.9999999999,"n52":-999.99,"nfree":-0.000000001,"f4":-1.25,"f8":-2.5e-300,"t":"","vc":"","ch":"   ","b":false,"d":"1970-01-01","tm":"00:00:00","ts":"1969-12-31T23:59:59.5","tstz":"2024-03-10T06:30:00Z","u":"00000000-0000-0000-0000-000000000000","j":"[]","jb":"null","by":"","ia":[],"ta":[],"e":"sad","dom":1,"iv":"-3 mons"}
{"id":3,"i2":null,"i4":0,"i8":null,"n38":null,"n52":null,"nfree":null,"f4":null,"f8":null,"t":null,"vc":null,"ch":null,"b":null,"d":null,"tm":null,"ts":null,"tstz":null,"u":null,"j":null,"jb":null,"by":null,"ia":null,"ta":null,"e":null,"dom":null,"iv":null}
{"id":4,"i2":0,"i4":7,"i8":0,"n38":0.0000000001,"n52":-0.01,"nfree":12345678901234567890.123456789,"f4":"NaN","f8":"-Infinity","t":"tab\there \"q\" \\ nl\n","vc":"x","ch":"xyz","b":null,"d":"0001-01-01","tm":"12:00:00","ts":"0001-01-01T00:00:00","tstz":"1900-06-30T23:59:59.000001Z","u":null,"j":null,"jb":null,"by":"AAAA","ia":[null],"ta":[null,""],"e":null,"dom":null,"iv":null}
EOF
if cmp -s "$T/all.ndjson" "$T/all.want"; then ok "every type reads back exactly"; else
    not_ok "every type reads back exactly" "$(diff "$T/all.want" "$T/all.ndjson" | head -20)"; fi
"$PQF" parquet inspect "$T/all.parquet" 2>&1 | grep -E '^ +(required|optional|repeated) ' >"$T/all.schema"
cat >"$T/all.schema.want" <<'EOF'
  required INT64 id  [leaf 0, def 0, rep 0]
  optional INT32 i2 (INT(16,signed))  [leaf 1, def 1, rep 0]
  required INT32 i4  [leaf 2, def 0, rep 0]
  optional INT64 i8  [leaf 3, def 1, rep 0]
  optional FIXED_LEN_BYTE_ARRAY(16) n38 (DECIMAL(38,10))  [leaf 4, def 1, rep 0]
  optional INT32 n52 (DECIMAL(5,2))  [leaf 5, def 1, rep 0]
  optional FIXED_LEN_BYTE_ARRAY(16) nfree (DECIMAL(38,9))  [leaf 6, def 1, rep 0]
  optional FLOAT f4  [leaf 7, def 1, rep 0]
  optional DOUBLE f8  [leaf 8, def 1, rep 0]
  optional BYTE_ARRAY t (STRING)  [leaf 9, def 1, rep 0]
  optional BYTE_ARRAY vc (STRING)  [leaf 10, def 1, rep 0]
  optional BYTE_ARRAY ch (STRING)  [leaf 11, def 1, rep 0]
  optional BOOLEAN b  [leaf 12, def 1, rep 0]
  optional INT32 d (DATE)  [leaf 13, def 1, rep 0]
  optional INT64 tm (TIME(MICROS,local))  [leaf 14, def 1, rep 0]
  optional INT64 ts (TIMESTAMP(MICROS,local))  [leaf 15, def 1, rep 0]
  optional INT64 tstz (TIMESTAMP(MICROS,utc))  [leaf 16, def 1, rep 0]
  optional FIXED_LEN_BYTE_ARRAY(16) u (UUID)  [leaf 17, def 1, rep 0]
  optional BYTE_ARRAY j (JSON)  [leaf 18, def 1, rep 0]
  optional BYTE_ARRAY jb (JSON)  [leaf 19, def 1, rep 0]
  optional BYTE_ARRAY by  [leaf 20, def 1, rep 0]
  optional group ia (LIST)
    repeated group list
      optional INT32 element  [leaf 21, def 3, rep 1]
  optional group ta (LIST)
    repeated group list
      optional BYTE_ARRAY element (STRING)  [leaf 22, def 3, rep 1]
  optional BYTE_ARRAY e (STRING)  [leaf 23, def 1, rep 0]
  optional INT32 dom  [leaf 24, def 1, rep 0]
  optional BYTE_ARRAY iv (STRING)  [leaf 25, def 1, rep 0]
EOF
if cmp -s "$T/all.schema" "$T/all.schema.want"; then ok "every type maps to its Parquet type (NOT NULL -> required)"; else
    not_ok "every type maps to its Parquet type (NOT NULL -> required)" "$(diff "$T/all.schema.want" "$T/all.schema" | head -20)"; fi

# --- a query source with a watermark ---------------------------------------------------
psql_ <<'EOF'
CREATE TABLE pqft.orders (id bigint PRIMARY KEY, updated timestamptz NOT NULL, amount numeric(12,2),
                          tags text[]);
INSERT INTO pqft.orders SELECT g, timestamptz '2026-03-01 00:00:00+01' + g * interval '90 minutes',
       (g * 10.25) * (CASE WHEN g % 3 = 0 THEN -1 ELSE 1 END),
       CASE WHEN g % 4 = 0 THEN NULL ELSE ARRAY['t' || g, NULL] END
FROM generate_series(1, 8) g;
EOF
check "export a query after a watermark" "$DRV" export pg "$PQF_TEST_PG" query \
    "SELECT id, updated, amount, tags FROM pqft.orders WHERE amount > -50" "$T/q.parquet" \
    --wm updated --after "2026-03-01T04:00:00+01:00"
check_grep "rows after the watermark" '^rows 5$' "$T/last.out"
check_grep "watermark range as ISO 8601 UTC" '^watermark 2026-03-01T03:30:00Z 2026-03-01T11:00:00Z$' "$T/last.out"
"$PQF" parquet cat "$T/q.parquet" >"$T/q.ndjson" 2>&1
cat >"$T/q.want" <<'EOF'
{"id":3,"updated":"2026-03-01T03:30:00Z","amount":-30.75,"tags":["t3",null]}
{"id":4,"updated":"2026-03-01T05:00:00Z","amount":41.00,"tags":null}
{"id":5,"updated":"2026-03-01T06:30:00Z","amount":51.25,"tags":["t5",null]}
{"id":7,"updated":"2026-03-01T09:30:00Z","amount":71.75,"tags":["t7",null]}
{"id":8,"updated":"2026-03-01T11:00:00Z","amount":82.00,"tags":null}
EOF
if cmp -s "$T/q.ndjson" "$T/q.want"; then ok "query rows in watermark order"; else
    not_ok "query rows in watermark order" "$(diff "$T/q.want" "$T/q.ndjson" | head -20)"; fi

# --- bad input -----------------------------------------------------------------------
cat >"$T/narrow.schema.json" <<'EOF'
{"columns": [{"name": "id", "type": "int64", "nullable": false},
             {"name": "updated", "type": "timestamp_us"},
             {"name": "amount", "type": "decimal(3,2)"},
             {"name": "tags", "type": {"list": "string"}}]}
EOF
check_exit "a value that overflows a narrowed column fails" 1 "$DRV" export pg "$PQF_TEST_PG" \
    table pqft.orders "$T/bad.parquet" --schema "$T/narrow.schema.json"
check_grep "the error names table, row and column" \
    "postgres table pqft.orders: row 1: column 'amount': cannot convert '10.25' \(numeric\(12,2\)\) to decimal\(3,2\): out of range" "$T/last.out"
[ -e "$T/bad.parquet" ] && not_ok "nothing written after a failure" || ok "nothing written after a failure"
check_exit "a missing table is an error" 3 "$DRV" export pg "$PQF_TEST_PG" table public.missing_tbl "$T/m.parquet"
check_grep "the error names the table" "table 'public.missing_tbl' does not exist" "$T/last.out"

# --- a few million rows, memory bounded --------------------------------------------------
psql_ -c "CREATE TABLE pqft.big AS SELECT g AS id, md5(g::text) AS h, g * 0.01 AS amount,
          timestamptz '2026-01-01' + g * interval '1 second' AS at
          FROM generate_series(1, $BIG_ROWS) g" -c "VACUUM (FREEZE) pqft.big"
[ -x /usr/bin/time ] || { SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo; $SUDO apt-get install -y -qq time >/dev/null 2>&1; }
table_mb=$(psql_ -At -c "SELECT pg_total_relation_size('pqft.big') / 1048576")
if /usr/bin/time -v -o "$T/big.time" "$DRV" export pg "$PQF_TEST_PG" table pqft.big "$T/big.parquet" \
    --row-group-mb 16 >"$T/big.out" 2>&1; then
    rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/big.time")
    check_grep "$BIG_ROWS rows exported" "^rows $BIG_ROWS\$" "$T/big.out"
    if [ "$rss_kb" -lt $((RSS_LIMIT_MB * 1024)) ]; then
        ok "peak RSS $((rss_kb / 1024)) MiB < $RSS_LIMIT_MB MiB for a $table_mb MiB table"
    else
        not_ok "peak RSS $((rss_kb / 1024)) MiB < $RSS_LIMIT_MB MiB for a $table_mb MiB table"
    fi
    "$PQF" parquet cat "$T/big.parquet" | tail -n 1 >"$T/big.last"
    check_grep "the last row is exact" "^\{\"id\":$BIG_ROWS,\"h\":\"$(printf '%s' "$BIG_ROWS" | md5sum | cut -c1-32)\"" "$T/big.last"
else
    not_ok "export $BIG_ROWS rows" "$(tail -5 "$T/big.out")"
fi
# failing mid-stream cancels the COPY (the server stops sending) and stops the reader thread
echo '{"columns": [{"name": "id", "type": "int16"}]}' >"$T/id16.schema.json"
check_exit "an overflow in the middle of a big table fails" 1 timeout 60 "$DRV" export pg "$PQF_TEST_PG" \
    query "SELECT id FROM pqft.big ORDER BY id" "$T/big16.parquet" --schema "$T/id16.schema.json"
check_grep "at the first row that does not fit" "postgres query: row 32768: column 'id': cannot convert '32768' \(integer\) to int16: out of range" "$T/last.out"

done_testing
