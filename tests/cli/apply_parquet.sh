#!/usr/bin/env bash
# pqfeed apply into the Parquet snapshot sink (parquet:STORE-URL): after each
# commit the store holds the table's current state as Parquet files named by
# the latest manifest, which DuckDB reads equal to the source; reruns; kill -9
# at named points and at random moments (the manifest publishes data and
# checkpoint together, nothing half-written is ever named); snapshots; a
# corrupt file quarantined.
. "$(dirname "$0")/../lib.sh"
HERE=$ROOT/tests/interop
have_duck=0
[ -d "$HERE/node_modules/@duckdb" ] && command -v node >/dev/null && have_duck=1
duck() { node "$HERE/duck.mjs" "$@"; }

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 3 --rows 2000 --page-rows 300 --seed 5 >/dev/null
SCHEMA=$G/issues.schema.json
CH=(--table issues --schema "$SCHEMA" --mode changes --key id --watermark updated_at
    --delete-column deleted --created-column created_at --target-file-size 16K)
F=$T/feed
for h in 0 1 2 3; do
    "$PQF" export "$F" "${CH[@]}" --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >/dev/null
done
check "the feed has four commits" test -f "$F/issues/_log/00000000000000000004.json"

manifest() { ls "$1/issues/_manifest/" 2>/dev/null | grep -E '^[0-9]{20}\.json$' | tr '\n' ' '; }
files_of() { grep -o '"key":"[^"]*"' "$1"/issues/_manifest/*.json | cut -d'"' -f4; }
SRC="CREATE VIEW src AS SELECT * FROM read_json('$G/issues.final.ndjson', columns={id:'BIGINT', key:'VARCHAR', project:'VARCHAR', title:'VARCHAR', status:'VARCHAR', created_at:'TIMESTAMPTZ', updated_at:'TIMESTAMPTZ', resolved_on:'DATE', estimate_hours:'DECIMAL(10,2)', story_points:'INTEGER', labels:'VARCHAR[]', author:'STRUCT(id BIGINT, name VARCHAR, email VARCHAR)', fields:'JSON', deleted:'BOOLEAN'})"
COLS="id, key, project, title, status, epoch_us(created_at) AS cr, epoch_us(updated_at) AS upd, resolved_on, estimate_hours, story_points, labels, author"
CUR_COLS="$COLS, to_json(fields)::VARCHAR AS fields" # a struct in the sink, JSON in the source
SRC_COLS="$COLS, fields::VARCHAR AS fields"
equals_source() { # DEST: DuckDB reads the files the latest manifest names, equal to the source
    local list
    [ "$have_duck" = 1 ] || return 0
    list=$(files_of "$1" | sed "s|^|'$1/|; s|$|'|" | paste -sd,)
    duck "CREATE VIEW cur AS SELECT * FROM read_parquet([$list])" "$SRC" \
         "SELECT (SELECT count(*) FROM src) AS src_rows, (SELECT count(*) FROM cur) AS sink_rows, (SELECT count(*) FROM ((SELECT $CUR_COLS FROM cur EXCEPT ALL SELECT $SRC_COLS FROM src) UNION ALL (SELECT $SRC_COLS FROM src EXCEPT ALL SELECT $CUR_COLS FROM cur))) AS diff" >"$T/duck.json" 2>&1
    grep -Eq '"src_rows":"?([0-9]+)"?,"sink_rows":"?\1"?,"diff":"?0"?' "$T/duck.json" || { cat "$T/duck.json"; return 1; }
}

# ---- all at once, then a rerun ----------------------------------------------------------------
P=$T/pq
check "apply four commits to parquet:DIR" "$PQF" apply "$F" "parquet:$P"
check_eq "one manifest left: the latest commit's" "$(manifest "$P")" "00000000000000000004.json "
check_eq "and the one data file it names" "$(find "$P/issues/data" -type f | wc -l),$(files_of "$P" | wc -l)" "1,1"
check_grep "the manifest is the checkpoint: table, seq, commit hash" \
    "\"table\":\"issues\",\"seq\":4,\"commit_hash\":\"$(sha256sum "$F/issues/_log/00000000000000000004.json" | cut -c1-64)\"" "$P"/issues/_manifest/*.json
if [ "$have_duck" = 1 ]; then
    check "DuckDB reads the current state equal to the source table" equals_source "$P"
else
    skip "DuckDB reads the current state equal to the source table" "no npm modules in tests/interop"
fi
"$PQF" apply "$F" "parquet:$P" >"$T/rerun.out" 2>&1
check_grep "a rerun applies nothing" "nothing to apply" "$T/rerun.out"
"$PQF" apply status "$F" "parquet:$P" >"$T/st.out"
check_grep "status reads the checkpoint from the manifest" "^issues +4 +4 .*up to date" "$T/st.out"

# ---- one commit at a time: the state is read back and merged -----------------------------------
I=$T/pq-inc
inc_ok=1
for s in 1 2 3 4; do "$PQF" apply "$F" "parquet:$I" --until $s >/dev/null 2>&1 || inc_ok=0; done
check_eq "commit by commit, each merged into the state read back from the store" "$inc_ok" 1
if [ "$have_duck" = 1 ]; then
    check "that state equals the source too" equals_source "$I"
    check "and has the same rows as the all-at-once one" \
        cmp -s <(duck "SELECT * FROM read_parquet('$P/issues/data/*.parquet') ORDER BY id") \
               <(duck "SELECT * FROM read_parquet('$I/issues/data/*.parquet') ORDER BY id")
fi

# ---- kill -9 at named points, then at random moments -----------------------------------------------
crash_ok=1
for point in apply.file-loaded:3 apply.parquet-file-written apply.parquet-file-written:3 \
             apply.before-commit:2 apply.parquet-published apply.parquet-published:4 \
             apply.after-commit apply.after-commit:3; do
    C=$T/crash
    rm -rf "$C"
    { (PQF_CRASHPOINT=$point exec "$PQF" apply "$F" "parquet:$C" >/dev/null 2>&1); } 2>/dev/null
    rc=$?
    [ "$rc" -eq 137 ] || { crash_ok=0; echo "# $point: exit $rc, not killed"; }
    "$PQF" apply "$F" "parquet:$C" >/dev/null 2>&1 || { crash_ok=0; echo "# $point: rerun failed"; }
    [ "$(manifest "$C")" = "00000000000000000004.json " ] || { crash_ok=0; echo "# $point: manifests $(manifest "$C")"; }
    [ "$(find "$C/issues/data" -type f | wc -l)" = 1 ] || { crash_ok=0; echo "# $point: $(find "$C/issues/data" -type f | wc -l) data files"; }
    equals_source "$C" || { crash_ok=0; echo "# $point: not equal"; }
done
check_eq "kill -9 at each named point, then a rerun: one manifest, one file, equal to the source" "$crash_ok" 1
start=$(date +%s%N)
"$PQF" apply "$F" "parquet:$T/timing" >/dev/null
dur_us=$(( ($(date +%s%N) - start) / 1000 ))
rand_ok=1 kills=0
for i in $(seq 1 12); do
    C=$T/rand
    rm -rf "$C"
    "$PQF" apply "$F" "parquet:$C" >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v d="$dur_us" -v i="$i" 'BEGIN { srand(i); printf "%.4f", d * rand() * 1.1 / 1e6 }')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ $? -eq 137 ] && kills=$((kills + 1))
    # what a reader sees right after the crash: the files the manifest names all exist
    for k in $(files_of "$C" 2>/dev/null); do [ -f "$C/$k" ] || { rand_ok=0; echo "# round $i: $k named but missing"; }; done
    "$PQF" apply "$F" "parquet:$C" >/dev/null 2>&1 || { rand_ok=0; echo "# round $i: rerun failed"; }
    [ "$(manifest "$C")" = "00000000000000000004.json " ] || { rand_ok=0; echo "# round $i: manifests $(manifest "$C")"; }
    equals_source "$C" || { rand_ok=0; echo "# round $i: not equal"; }
done
echo "# $kills of 12 runs killed mid-flight (apply takes $dur_us us)"
check_eq "kill -9 at random moments (12 runs), then a rerun: equal to the source" "$rand_ok" 1

# ---- snapshots replace the table -------------------------------------------------------------------
S=$T/snap
"$PQF" gen --out "$T/s" --table worklogs --rows 3000 --format ndjson --seed 9 >/dev/null
"$PQF" export "$S" --table worklogs --schema "$T/s/worklogs.schema.json" --key id --target-file-size 16K "$T/s/worklogs.ndjson" >/dev/null
check "apply a snapshot commit" "$PQF" apply "$S" "parquet:$T/pqs"
if [ "$have_duck" = 1 ]; then
    W="id, issue_id, user_id, epoch_us(started_at) AS st, seconds, billable, rate, comment"
    duck "CREATE VIEW p AS SELECT * FROM read_parquet('$T/pqs/worklogs/data/*.parquet')" \
         "CREATE VIEW j AS SELECT * FROM read_json('$T/s/worklogs.ndjson', columns={id:'BIGINT', issue_id:'BIGINT', user_id:'BIGINT', started_at:'TIMESTAMPTZ', seconds:'INTEGER', billable:'BOOLEAN', rate:'DECIMAL(12,2)', comment:'VARCHAR'})" \
         "SELECT (SELECT count(*) FROM p) AS n, (SELECT count(*) FROM ((SELECT $W FROM p EXCEPT ALL SELECT $W FROM j) UNION ALL (SELECT $W FROM j EXCEPT ALL SELECT $W FROM p))) AS diff" >"$T/snap.json" 2>&1
    check_grep "DuckDB: the snapshot's rows, equal to the source" '"n":"?3000"?,"diff":"?0"?' "$T/snap.json"
fi

# ---- a corrupt file is quarantined, the state stays at the last good commit -------------------------
D=$T/damaged
cp -r "$F" "$D"
k=$(grep -o '"key":"[^"]*\.parquet"' "$D/issues/_log/00000000000000000003.json" | head -1 | cut -d'"' -f4)
printf 'X' | dd of="$D/$k" bs=1 seek=100 conv=notrunc 2>/dev/null
"$PQF" apply "$D" "parquet:$T/pqd" --max-delay 1s --backoff 200ms >"$T/bad.out" 2>&1
check_eq "a corrupt file stops apply with exit 21" "$?" 21
check_eq "the state stays at commit 2" "$(manifest "$T/pqd")" "00000000000000000002.json "
check "and the file is recorded in _quarantine/" bash -c "grep -q '\"file_key\":\"$k\"' '$T'/pqd/issues/_quarantine/*.json"

done_testing
