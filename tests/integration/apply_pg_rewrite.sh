#!/usr/bin/env bash
# The PostgreSQL sink's two merges of a changes commit, on a real PostgreSQL
# (scripts/pg.sh): in place (DELETE + INSERT) and the rewrite (a new table
# with the untouched rows and each key's last change, primary key built after
# the load, swapped in), chosen by the setting pqfeed.rewrite_ratio. Both
# must give the same table: hourly commits with updates, inserts, deletes and
# keys changed several times (integer keys: the client's list of superseded
# changes; text keys: DISTINCT ON), a schema change, a column only the table
# has, kill -9 inside the rewrite, and tables the rewrite must not replace
# (a view, a grant) merged in place.
. "$(dirname "$0")/../lib.sh"
EQ=$ROOT/tests/cli/sink_equals.mjs

start_pg
# the sink with a rewrite ratio: 1e-9 rewrites every changes commit, off never
sink() { echo "postgres:$PQF_TEST_PG options='-c pqfeed.rewrite_ratio=$1'"; }
RW=$(sink 1e-9)
IP=$(sink off)
reset_pg() { psql_ -c "SET client_min_messages = warning" -c "DROP VIEW IF EXISTS open_issues" -c "DROP TABLE IF EXISTS issues, _pqfeed_checkpoint, _pqfeed_quarantine"; }
dump() { psql_ -c "SET TimeZone = 'UTC'" -c "SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM issues t" >"$1"; }
ckpt() { psql_ -c "SELECT coalesce(max(seq),0) || ',' || count(*) || ',' || count(DISTINCT seq) FROM _pqfeed_checkpoint WHERE table_name='issues'"; }
oid() { psql_ -c "SELECT coalesce((SELECT oid FROM pg_class WHERE relname = '$1' AND relkind = 'r'), 0)"; }

issues_hourly 11
sink_equals() { dump "$T/dump.json" && node "$EQ" "$SCHEMA" "$G/issues.final.ndjson" "$T/dump.json"; }
F=$T/feed
for h in 0 1 2 3; do export_hour "$F" $h --target-file-size 16K; done
rows_of() { psql_ -c "SELECT rows FROM _pqfeed_checkpoint WHERE table_name = 'issues' AND seq = $1"; }

# ---- hourly commits, each path -------------------------------------------------------------
for mode in rewrite inplace; do
    reset_pg
    S=$RW; [ $mode = inplace ] && S=$IP
    swapped=0 path_ok=1
    for s in 1 2 3 4; do
        before=$(oid issues)
        "$PQF" apply "$F" "$S" --until $s >"$T/$mode-$s.out" 2>&1 || { path_ok=0; cat "$T/$mode-$s.out"; }
        [ "$(oid issues)" != "$before" ] && swapped=$((swapped + 1))
        dump "$T/$mode-$s.json"
    done
    want=4; [ $mode = inplace ] && want=1 # in place: only the first commit creates the table
    check_eq "$mode: four hourly commits applied, the table replaced by $want of them" "$path_ok,$swapped" "1,$want"
    check "$mode: the sink equals the source table's final state" sink_equals
    check_eq "$mode: checkpoint seq 4, one row per commit" "$(ckpt)" "4,4,4"
    if [ $mode = rewrite ]; then
        check_eq "rewrite: the new table has statistics (ANALYZE in the commit)" \
            "$(psql_ -c "SELECT count(*) > 0 FROM pg_stats WHERE tablename = 'issues'")" t
    fi
    check_eq "$mode: the key is still the primary key, named as the sink named it" \
        "$(psql_ -c "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ';') FROM pg_constraint WHERE conrelid = 'issues'::regclass")" \
        "issues_pkey PRIMARY KEY (id)"
done
same=1
for s in 1 2 3 4; do cmp -s "$T/rewrite-$s.json" "$T/inplace-$s.json" || same=0; done
check_eq "after every commit, rewrite and in place give the same table" "$same" 1
check_eq "the rewrite leaves no table of its own behind" "$(oid _pqfeed_rewrite)" 0

# ---- the ratio decides -----------------------------------------------------------------------
reset_pg
"$PQF" apply "$F" "$IP" --until 2 >/dev/null
n=$(psql_ -c "SELECT count(*) FROM issues")
before=$(oid issues)
"$PQF" apply "$F" "$(sink 1000)" --until 3 >/dev/null
check_eq "ratio 1000: commit 3 ($(rows_of 3) changes into $n rows) merged in place" "$(oid issues)" "$before"
n=$(psql_ -c "SELECT count(*) FROM issues")
before=$(oid issues)
"$PQF" apply "$F" "$(sink "$(awk -v n="$n" 'BEGIN { print 1 / n }')")" >/dev/null
check "ratio 1/rows: commit 4 ($(rows_of 4) changes into $n rows) rewrites the table" test "$(oid issues)" != "$before"
check "and the sink equals the source" sink_equals
reset_pg
check_exit "a ratio that is not a number: exit 2" 2 "$PQF" apply "$F" "$(sink lots)"
check_grep "naming the setting" "pqfeed.rewrite_ratio: 'lots' is not a number" "$T/last.out"
psql_ -c "DROP TABLE IF EXISTS issues, _pqfeed_checkpoint"
check "the default ratio (0.3) on an empty table: applied" "$PQF" apply "$F" "postgres:$PQF_TEST_PG"
check "and the sink equals the source" sink_equals

# ---- keys changed several times in one commit, integer and text keys, both paths --------------
mkdir -p "$T/dup"
for kt in int64 string; do
    printf '{"columns": [{"name": "k", "type": "%s", "nullable": false}, {"name": "v", "type": "string"},
 {"name": "wm", "type": "timestamp_us", "nullable": false}, {"name": "del", "type": "bool"}]}\n' "$kt" >"$T/dup/$kt.json"
    q=; [ "$kt" = string ] && q='"'
    printf '%s\n' "{\"k\":${q}1${q},\"v\":\"a\",\"wm\":\"2026-01-01T00:00:01Z\"}" \
        "{\"k\":${q}2${q},\"v\":\"x\",\"wm\":\"2026-01-01T00:00:02Z\"}" \
        "{\"k\":${q}5${q},\"v\":\"e\",\"wm\":\"2026-01-01T00:00:03Z\"}" \
        "{\"k\":${q}6${q},\"v\":\"f\",\"wm\":\"2026-01-01T00:00:04Z\"}" >"$T/dup/$kt-1.ndjson"
    # 1: updated twice; 2: deleted, inserted, updated; 3: inserted, updated, deleted;
    # 5: deleted; 6: untouched; 7: inserted
    printf '%s\n' "{\"k\":${q}1${q},\"v\":\"b\",\"wm\":\"2026-01-02T00:00:01Z\"}" \
        "{\"k\":${q}2${q},\"v\":\"x\",\"wm\":\"2026-01-02T00:00:02Z\",\"del\":true}" \
        "{\"k\":${q}3${q},\"v\":\"y\",\"wm\":\"2026-01-02T00:00:03Z\"}" \
        "{\"k\":${q}1${q},\"v\":\"c\",\"wm\":\"2026-01-02T00:00:04Z\"}" \
        "{\"k\":${q}2${q},\"v\":\"p\",\"wm\":\"2026-01-02T00:00:05Z\"}" \
        "{\"k\":${q}3${q},\"v\":\"z\",\"wm\":\"2026-01-02T00:00:06Z\"}" \
        "{\"k\":${q}5${q},\"v\":\"e\",\"wm\":\"2026-01-02T00:00:07Z\",\"del\":true}" \
        "{\"k\":${q}2${q},\"v\":\"q\",\"wm\":\"2026-01-02T00:00:08Z\"}" \
        "{\"k\":${q}3${q},\"v\":\"z\",\"wm\":\"2026-01-02T00:00:09Z\",\"del\":true}" \
        "{\"k\":${q}7${q},\"v\":\"g\",\"wm\":\"2026-01-02T00:00:10Z\"}" >"$T/dup/$kt-2.ndjson"
    DK=(--table "d_$kt" --schema "$T/dup/$kt.json" --mode changes --key k --watermark wm --delete-column del)
    "$PQF" export "$T/dup/feed" "${DK[@]}" "$T/dup/$kt-1.ndjson" >/dev/null
    "$PQF" export "$T/dup/feed" "${DK[@]}" "$T/dup/$kt-2.ndjson" >/dev/null
    for mode in rewrite inplace; do
        S=$RW; [ $mode = inplace ] && S=$IP
        psql_ -c "DROP TABLE IF EXISTS d_$kt" -c "DELETE FROM _pqfeed_checkpoint WHERE table_name = 'd_$kt'"
        "$PQF" apply "$T/dup/feed" "$S" --tables "d_$kt" --until 1 >/dev/null
        before=$(oid "d_$kt")
        check "$kt key, $mode: apply a commit that changes keys several times" "$PQF" apply "$T/dup/feed" "$S" --tables "d_$kt"
        check_eq "$kt key, $mode: each key's last change wins, deletes delete" \
            "$(psql_ -c "SELECT string_agg(k || '=' || v, ' ' ORDER BY k) FROM d_$kt")" "1=c 2=q 6=f 7=g"
        rw=1; [ "$(oid "d_$kt")" = "$before" ] && rw=0
        check_eq "$kt key, $mode: the path taken" "$rw" "$([ $mode = rewrite ] && echo 1 || echo 0)"
    done
done

# ---- a schema change and a column only the table has --------------------------------------------
sed 's/{"name": "deleted", "type": "bool"}/{"name": "deleted", "type": "bool"},\n    {"name": "team", "type": "string"}/' "$SCHEMA" >"$T/added.json"
mkdir -p "$T/h5"
# two rows of hour 2 changed again with the new column, one deleted
sed -n '1,2p' "$G/hour-0002/page-00001.ndjson" | sed 's/"updated_at":"2026-01-05T02:[^"]*"/"updated_at":"2026-01-05T05:00:00Z"/; s/}$/,"team":"blue"}/' >"$T/h5/team.ndjson"
sed -n 3p "$G/hour-0002/page-00001.ndjson" | sed 's/"updated_at":"2026-01-05T02:[^"]*"/"updated_at":"2026-01-05T05:00:01Z"/; s/"deleted":false/"deleted":true/' >>"$T/h5/team.ndjson"
E=$T/evo
cp -r "$F" "$E"
"$PQF" export "$E" "${CH[@]/$SCHEMA/$T/added.json}" --as-of 2026-01-05T05:00:00Z "$T/h5/team.ndjson" >/dev/null
for mode in rewrite inplace; do
    S=$RW; [ $mode = inplace ] && S=$IP
    reset_pg
    "$PQF" apply "$E" "$S" --until 4 >/dev/null
    # a column the operator added: rows the commit leaves alone keep it, changed rows get NULL
    psql_ -c "ALTER TABLE issues ADD COLUMN note text" -c "UPDATE issues SET note = 'n' || id"
    before=$(oid issues)
    check "$mode: apply the commit with schema version 2 (ALTER TABLE ADD COLUMN team)" "$PQF" apply "$E" "$S"
    dump "$T/evo-$mode.json"
    rw=1; [ "$(oid issues)" = "$before" ] && rw=0
    check_eq "$mode: the path taken" "$rw" "$([ $mode = rewrite ] && echo 1 || echo 0)"
done
check_eq "rewrite: team set on the 2 changed rows, note kept on the others only" \
    "$(psql_ -c "SELECT count(*) FILTER (WHERE team = 'blue') || ',' || count(*) FILTER (WHERE note IS NULL) || ',' || count(*) FILTER (WHERE note = 'n' || id) FROM issues")" \
    "2,2,$(( $(psql_ -c "SELECT count(*) FROM issues") - 2 ))"
check "schema change: rewrite and in place give the same table" cmp "$T/evo-rewrite.json" "$T/evo-inplace.json"

# ---- tables the rewrite must not replace: merged in place --------------------------------------
reset_pg
"$PQF" apply "$F" "$RW" --until 1 >/dev/null
psql_ -c "CREATE VIEW open_issues AS SELECT id FROM issues WHERE NOT deleted"
before=$(oid issues)
check "a view on the table: commit 2 applied" "$PQF" apply "$F" "$RW" --until 2
check_eq "merged in place (the table is the view's), the view still answers" \
    "$(oid issues),$(psql_ -c "SELECT count(*) > 0 FROM open_issues")" "$before,t"
psql_ -c "DROP VIEW open_issues" -c "CREATE ROLE reader" -c "GRANT SELECT ON issues TO reader"
check "a grant on the table: commit 3 applied" "$PQF" apply "$F" "$RW" --until 3
check_eq "merged in place, the grant kept" \
    "$(oid issues),$(psql_ -c "SELECT has_table_privilege('reader', 'issues', 'SELECT')")" "$before,t"
psql_ -c "REVOKE ALL ON issues FROM reader" -c "DROP ROLE reader"
psql_ -c "SET client_min_messages = error" -c "CREATE PUBLICATION everything FOR ALL TABLES"
check "a publication of all tables: commit 4 applied" "$PQF" apply "$F" "$RW"
check_eq "merged in place" "$(oid issues)" "$before"
check "and the sink equals the source" sink_equals
psql_ -c "DROP PUBLICATION everything"

# ---- the direct rewrite: planned from the commit's keys before the load ---------------------------
# One integer key and a rewrite by the ratio: the keys and _seqs are read first, each key's last
# change goes by COPY straight into the new table (the server log shows which statements ran).
LOGF=$PQF_PG_DIR/server.log
LG="options='-c pqfeed.rewrite_ratio=1e-9 -c log_statement=all'"
direct_copies() { grep -c 'COPY _pqfeed_rewrite' "$LOGF" 2>/dev/null || true; }
reset_pg
c0=$(direct_copies)
for s in 1 2 3 4; do
    "$PQF" apply "$F" "postgres:$PQF_TEST_PG $LG" --until $s >"$T/direct-$s.out" 2>&1 || cat "$T/direct-$s.out"
    dump "$T/direct-$s.json"
done
check_eq "direct: the four hourly commits each loaded straight into the new table" "$(( $(direct_copies) - c0 ))" 4
same=1
for s in 1 2 3 4; do cmp -s "$T/direct-$s.json" "$T/inplace-$s.json" || same=0; done
check_eq "direct: after every commit the same table as in place" "$same" 1
reset_pg
c0=$(direct_copies)
for s in 1 2 3 4; do PQF_PG_DIRECT=off "$PQF" apply "$F" "postgres:$PQF_TEST_PG $LG" --until $s >/dev/null 2>&1; done
check_eq "PQF_PG_DIRECT=off: the rewrite goes through the stage" "$(( $(direct_copies) - c0 ))" 0
check "and the sink equals the source" sink_equals
PQF_PG_DIRECT=maybe "$PQF" apply "$F" "$RW" >"$T/bad.out" 2>&1
check_eq "PQF_PG_DIRECT=maybe exits 2" "$?" 2
check_grep "naming the variable" "PQF_PG_DIRECT='maybe': expected 'on' or 'off'" "$T/bad.out"
# keys changed several times in one commit (the superseded changes skipped in the load)
psql_ -c "DROP TABLE IF EXISTS d_int64" -c "DELETE FROM _pqfeed_checkpoint WHERE table_name = 'd_int64'"
"$PQF" apply "$T/dup/feed" "$RW" --tables d_int64 --until 1 >/dev/null
c0=$(direct_copies)
check "direct, keys changed several times: applied" "$PQF" apply "$T/dup/feed" "postgres:$PQF_TEST_PG $LG" --tables d_int64
check_eq "direct: each key's last change wins, deletes delete, loaded straight" \
    "$(psql_ -c "SELECT string_agg(k || '=' || v, ' ' ORDER BY k) FROM d_int64"),$(( $(direct_copies) - c0 ))" "1=c 2=q 6=f 7=g,1"
# a column an operator retyped (binary input is not cast): through the stage, still right
for mode in rewrite inplace; do
    S="postgres:$PQF_TEST_PG $LG"; [ $mode = inplace ] && S=$IP
    reset_pg
    "$PQF" apply "$F" "$S" --until 2 >/dev/null
    psql_ -c "ALTER TABLE issues ALTER COLUMN story_points TYPE bigint"
    c0=$(direct_copies)
    check "$mode: story_points retyped to bigint by an operator, commits 3 and 4 applied" "$PQF" apply "$F" "$S"
    [ $mode = rewrite ] && check_eq "rewrite: not loaded straight (the column is not the stage's type)" "$(( $(direct_copies) - c0 ))" 0
    dump "$T/retyped-$mode.json"
done
check "retyped column: rewrite and in place give the same table" cmp "$T/retyped-rewrite.json" "$T/retyped-inplace.json"
check_eq "and the operator's type stays" "$(psql_ -c "SELECT data_type FROM information_schema.columns WHERE table_name = 'issues' AND column_name = 'story_points'")" bigint

# ---- kill -9 inside the rewrite -------------------------------------------------------------------
crash_ok=1
for point in apply.pg-rewrite-loaded apply.pg-rewrite-loaded:3 apply.pg-rewrite-swapped:2 apply.pg-rewrite-swapped:4 apply.file-loaded:2 apply.file-loaded:9; do
    reset_pg
    { (PQF_CRASHPOINT=$point exec "$PQF" apply "$F" "$RW" >/dev/null 2>&1); } 2>/dev/null
    rc=$?
    [ "$rc" -eq 137 ] || { crash_ok=0; echo "# $point: exit $rc, not killed"; }
    n=${point#*:}; [ "$n" = "$point" ] && n=1
    want="$((n - 1)),$((n - 1)),$((n - 1))"
    # a file counts, not a commit: any whole commits before the one killed
    case $point in apply.file-loaded*) c=$(ckpt); c=${c%%,*}; want="$c,$c,$c"; [ "$c" -lt 4 ] || want=killed-in-commit-1-to-4 ;; esac
    [ "$(ckpt)" = "$want" ] || { crash_ok=0; echo "# $point: after the kill, checkpoint $(ckpt)"; }
    [ "$(oid _pqfeed_rewrite)" = 0 ] || { crash_ok=0; echo "# $point: a half-built table is visible"; }
    "$PQF" apply "$F" "$RW" >"$T/re.out" 2>&1 || { crash_ok=0; echo "# $point: rerun failed: $(cat "$T/re.out")"; }
    [ "$(ckpt)" = "4,4,4" ] || { crash_ok=0; echo "# $point: checkpoint $(ckpt)"; }
    sink_equals >"$T/eq.out" || { crash_ok=0; echo "# $point: $(head -3 "$T/eq.out")"; }
done
check_eq "kill -9 inside the rewrite (a file loaded into the new table, loaded, swapped), then a rerun: nothing half-done, every commit once, sink equals source" "$crash_ok" 1
reset_pg
start=$(date +%s%N)
"$PQF" apply "$F" "$RW" >/dev/null
dur_us=$(( ($(date +%s%N) - start) / 1000 ))
kills=0 rand_ok=1
NK=${PQF_APPLY_KILLS:-10}; [ "$NK" -gt 10 ] && NK=10
for i in $(seq 1 "$NK"); do
    reset_pg
    "$PQF" apply "$F" "$RW" >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v d="$dur_us" -v i="$i" 'BEGIN { srand(100 + i); printf "%.4f", d * rand() * 1.1 / 1e6 }')"
    kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null
    "$PQF" apply "$F" "$RW" >"$T/re.out" 2>&1 || { rand_ok=0; echo "# round $i: rerun failed: $(cat "$T/re.out")"; }
    [ "$(ckpt)" = "4,4,4" ] || { rand_ok=0; echo "# round $i: checkpoint $(ckpt)"; }
    sink_equals >"$T/eq.out" || { rand_ok=0; echo "# round $i: $(head -3 "$T/eq.out")"; }
done
echo "# $kills of $NK runs killed mid-flight (apply takes ${dur_us} us)"
check_eq "kill -9 at random moments with every commit rewritten ($NK runs), then a rerun: sink equals source" "$rand_ok" 1
done_testing
