#!/usr/bin/env bash
# SQLite source (include/pqfeed/dbsource.h): a database made with the sqlite3
# shell, exported through build/tests/test_dbsource's driver mode and read back
# with `pqfeed parquet cat`: affinity-based types, a query, a watermark, bad
# input, and many rows with the peak RSS bounded.
. "$(dirname "$0")/../lib.sh"
DRV=$PQF_BUILD/tests/test_dbsource
DB=$T/app.db
ROWS=${PQF_SQLITE_BIG_ROWS:-1000000}

sqlite3 "$DB" <<'EOF'
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INT, price DECIMAL(8,2),
                    ratio DOUBLE, ok BOOLEAN, born DATE, seen DATETIME, raw BLOB, misc,
                    updated BIGINT);
INSERT INTO items VALUES (1, 'ünïcode ✓', 3, 19.99, 0.25, 1, '2024-02-29', '2024-01-01 10:00:00',
                          x'0001ff', 'a', 10);
INSERT INTO items VALUES (2, '', -9223372036854775808, '-0.01', -1e-7, 0, '1999-12-31',
                          '2024-06-01T12:00:00+02:00', x'', 42, 30);
INSERT INTO items VALUES (3, 'nulls', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 20);
INSERT INTO items VALUES (4, 'late', 9223372036854775807, 999999.99, 1e300, 'false', NULL,
                          1700000000, 'txt', 2.5, NULL);
EOF

check "export a table" "$DRV" export sqlite "$DB" table items "$T/items.parquet"
check_grep "four rows" '^rows 4$' "$T/last.out"
"$PQF" parquet cat "$T/items.parquet" >"$T/items.ndjson" 2>&1
cat >"$T/items.want" <<'EOF'
{"id":1,"name":"ünïcode ✓","qty":3,"price":19.99,"ratio":0.25,"ok":true,"born":"2024-02-29","seen":"2024-01-01T10:00:00Z","raw":"AAH/","misc":"YQ==","updated":10}
{"id":2,"name":"","qty":-9223372036854775808,"price":-0.01,"ratio":-1e-07,"ok":false,"born":"1999-12-31","seen":"2024-06-01T10:00:00Z","raw":"","misc":"NDI=","updated":30}
{"id":3,"name":"nulls","qty":null,"price":null,"ratio":null,"ok":null,"born":null,"seen":null,"raw":null,"misc":null,"updated":20}
{"id":4,"name":"late","qty":9223372036854775807,"price":999999.99,"ratio":1e+300,"ok":false,"born":null,"seen":"2023-11-14T22:13:20Z","raw":"dHh0","misc":"Mi41","updated":null}
EOF
if cmp -s "$T/items.ndjson" "$T/items.want"; then ok "values read back exactly"; else
    not_ok "values read back exactly" "$(diff "$T/items.want" "$T/items.ndjson" | head -20)"; fi
"$PQF" parquet inspect "$T/items.parquet" 2>&1 | grep -E '^ +(required|optional) ' >"$T/items.schema"
cat >"$T/items.schema.want" <<'EOF'
  required INT64 id  [leaf 0, def 0, rep 0]
  required BYTE_ARRAY name (STRING)  [leaf 1, def 0, rep 0]
  optional INT64 qty  [leaf 2, def 1, rep 0]
  optional INT32 price (DECIMAL(8,2))  [leaf 3, def 1, rep 0]
  optional DOUBLE ratio  [leaf 4, def 1, rep 0]
  optional BOOLEAN ok  [leaf 5, def 1, rep 0]
  optional INT32 born (DATE)  [leaf 6, def 1, rep 0]
  optional INT64 seen (TIMESTAMP(MICROS,utc))  [leaf 7, def 1, rep 0]
  optional BYTE_ARRAY raw  [leaf 8, def 1, rep 0]
  optional BYTE_ARRAY misc  [leaf 9, def 1, rep 0]
  optional INT64 updated  [leaf 10, def 1, rep 0]
EOF
if cmp -s "$T/items.schema" "$T/items.schema.want"; then ok "declared types map by affinity"; else
    not_ok "declared types map by affinity" "$(diff "$T/items.schema.want" "$T/items.schema" | head -20)"; fi

# twice: an expression, typed by its first value (NULL here: string)
check "export a query after a watermark" "$DRV" export sqlite "$DB" query \
    "SELECT id, upper(name) AS name, qty * 2 AS twice, updated FROM items WHERE id < 4" \
    "$T/q.parquet" --wm updated --after 10
check_grep "rows after the watermark" '^rows 2$' "$T/last.out"
check_grep "watermark range" '^watermark 20 30$' "$T/last.out"
"$PQF" parquet cat "$T/q.parquet" >"$T/q.ndjson" 2>&1
printf '%s\n' '{"id":3,"name":"NULLS","twice":null,"updated":20}' \
    '{"id":2,"name":"","twice":"-1.8446744073709552e+19","updated":30}' >"$T/q.want"
if cmp -s "$T/q.ndjson" "$T/q.want"; then ok "query rows in watermark order"; else
    not_ok "query rows in watermark order" "$(diff "$T/q.want" "$T/q.ndjson" | head -20)"; fi

# --- bad input ----------------------------------------------------------------------
cat >"$T/narrow.schema.json" <<'EOF'
{"columns": [{"name": "id", "type": "int32", "nullable": false}, {"name": "qty", "type": "int32"}]}
EOF
check_exit "a value that overflows a narrowed column fails" 1 "$DRV" export sqlite "$DB" \
    query "SELECT id, qty FROM items" "$T/bad.parquet" --schema "$T/narrow.schema.json"
check_grep "the error names the row and column" \
    "sqlite query: row 2: column 'qty': cannot convert '-9223372036854775808' \(INT\) to int32: out of range" "$T/last.out"
[ -e "$T/bad.parquet" ] && not_ok "nothing written after a failure" || ok "nothing written after a failure"
check_exit "a missing table is an error" 3 "$DRV" export sqlite "$DB" table nosuch "$T/m.parquet"
check_grep "the error names the table and file" "sqlite table nosuch: table 'nosuch' does not exist in $DB" "$T/last.out"
sqlite3 "$DB" "CREATE TABLE txt (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO txt VALUES (1, 5), (2, 'five');"
check_exit "text in an INTEGER column is an error" 1 "$DRV" export sqlite "$DB" table txt "$T/t.parquet"
check_grep "naming row 2" "sqlite table txt: row 2: column 'n': cannot convert 'five' \(INTEGER\) to int64: not an integer" "$T/last.out"

# --- many rows, memory bounded -----------------------------------------------------------
sqlite3 "$DB" "CREATE TABLE big (id INTEGER PRIMARY KEY, h TEXT, amount DECIMAL(12,2));
  WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $ROWS)
  INSERT INTO big SELECT i, hex(randomblob(16)), i * 0.01 FROM g;"
db_mb=$(( $(stat -c %s "$DB") / 1048576 ))
[ -x /usr/bin/time ] || { SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo; $SUDO apt-get install -y -qq time >/dev/null 2>&1; }
limit_mb=64
case "$PQF_BUILD" in *asan*) limit_mb=160 ;; esac # ASan's shadow memory and quarantine
if /usr/bin/time -v -o "$T/big.time" "$DRV" export sqlite "$DB" table big "$T/big.parquet" \
    --row-group-mb 8 >"$T/big.out" 2>&1; then
    rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/big.time")
    check_grep "$ROWS rows exported" "^rows $ROWS\$" "$T/big.out"
    if [ "$rss_kb" -lt $((limit_mb * 1024)) ]; then
        ok "peak RSS $((rss_kb / 1024)) MiB < $limit_mb MiB for a $db_mb MiB database"
    else
        not_ok "peak RSS $((rss_kb / 1024)) MiB < $limit_mb MiB for a $db_mb MiB database"
    fi
    "$PQF" parquet cat "$T/big.parquet" | tail -n 1 >"$T/big.last"
    check_grep "the last row is exact" "^\{\"id\":$ROWS,\"h\":\"[0-9A-F]{32}\",\"amount\":$((ROWS / 100)).$(printf '%02d' $((ROWS % 100)))\}\$" "$T/big.last"
else
    not_ok "export $ROWS rows" "$(tail -5 "$T/big.out")"
fi

done_testing
