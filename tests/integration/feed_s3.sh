#!/usr/bin/env bash
# pqfeed export / log / gc on S3 (a real Ceph RGW on 127.0.0.1, started here
# and stopped on exit): the same feed as on a local store, byte for byte;
# reruns, crash points, a racing producer and orphan collection.
. "$(dirname "$0")/../lib.sh"

start_rgw
/usr/bin/aws --endpoint-url "$RGW_ENDPOINT" s3 mb s3://pqf-feed >/dev/null 2>&1
S3=s3://pqf-feed/prod/feed

G=$T/pages
"$PQF" gen --out "$G" --table issues --hours 2 --rows 1500 --page-rows 250 --seed 21 >/dev/null
CH=(--table issues --schema "$G/issues.schema.json" --mode changes --key id --watermark updated_at
    --delete-column deleted --created-column created_at --target-file-size 24K)
ok_exports=1
for h in 0 1 2; do
    "$PQF" export "$S3" "${CH[@]}" --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >"$T/e$h.out" 2>&1 || ok_exports=0
    "$PQF" export "$T/local" "${CH[@]}" --as-of "2026-01-05T0$h:00:00Z" "$G/hour-000$h" >/dev/null 2>&1 || ok_exports=0
done
check_eq "three hourly exports to S3 and to a local store" "$ok_exports" 1
check "log verifies the S3 feed, reading every file back" "$PQF" log "$S3" --deep
check_grep "three commits" "issues \(head 3\)" "$T/last.out"
"$PQF" export "$S3" "${CH[@]}" --json "$G/hour-0002" >"$T/again.json" 2>&1
check_grep "a rerun finds nothing new" '"committed":false' "$T/again.json"
check "the S3 feed downloads" "$PQF" cp --recursive --quiet "$S3/" "$T/down"
check "its data files are the local feed's, byte for byte" diff -r "$T/local/issues/data" "$T/down/issues/data"
check "its commit objects name the same files" bash -c "diff <(sed -E 's/\"created_at\":\"[^\"]*\"//' '$T'/local/issues/_log/*3.json | sed -E 's/\"prev\":\"[^\"]*\"//') <(sed -E 's/\"created_at\":\"[^\"]*\"//' '$T'/down/issues/_log/*3.json | sed -E 's/\"prev\":\"[^\"]*\"//')"
check_grep "_feed.json lists the table" '"tables":\["issues"\]' "$T/down/_feed.json"

# crash before the publish, then a rerun: one commit, the chain intact
mkdir -p "$T/h3"
sed 's/2026-01-05T02/2026-01-05T03/g' "$G"/hour-0002/page-00001.ndjson >"$T/h3/page.ndjson"
(PQF_CRASHPOINT=export.before-publish exec "$PQF" export "$S3" "${CH[@]}" --as-of 2026-01-05T03:00:00Z "$T/h3" >/dev/null 2>&1)
check_eq "the killed export exits by SIGKILL" "$?" 137
"$PQF" log "$S3" --json >"$T/log.json" 2>&1
check_grep "the killed export published nothing" '"head":3,' "$T/log.json"
check "the rerun completes the commit" "$PQF" export "$S3" "${CH[@]}" --as-of 2026-01-05T03:00:00Z "$T/h3"
check "the log verifies with four commits" "$PQF" log "$S3" --deep
check_grep "head 4" "issues \(head 4\)" "$T/last.out"

# a racing producer with other input loses cleanly
mkdir -p "$T/h4a" "$T/h4b"
sed 's/2026-01-05T02/2026-01-05T04/g' "$G"/hour-0002/page-00001.ndjson >"$T/h4a/page.ndjson"
sed 's/2026-01-05T02/2026-01-05T04/g; s/"status":"open"/"status":"reopened"/' "$G"/hour-0002/page-00001.ndjson >"$T/h4b/page.ndjson"
("$PQF" export "$S3" "${CH[@]}" --as-of 2026-01-05T04:00:00Z "$T/h4a" >"$T/ra.out" 2>&1; echo $? >"$T/ra.rc") &
("$PQF" export "$S3" "${CH[@]}" --as-of 2026-01-05T04:00:00Z "$T/h4b" >"$T/rb.out" 2>&1; echo $? >"$T/rb.rc") &
wait
codes="$(cat "$T/ra.rc") $(cat "$T/rb.rc")"
case $codes in "0 11" | "11 0" | "0 0") ok "racers: one wins, the other gets a conflict (exit 11) or comes second ($codes)" ;;
    *) not_ok "racers: one wins, the other gets a conflict" "exit codes: $codes" "$(cat "$T/ra.out" "$T/rb.out")" ;; esac
check "after the race the log verifies" "$PQF" log "$S3" --deep

# orphans: the files of a run killed before its publish and never rerun (the
# killed run above was rerun with the same input, which reuses its names; the
# racers leave some only when the loser lost after writing, "0 0" leaves none)
mkdir -p "$T/h5"
sed 's/2026-01-05T02/2026-01-05T05/g' "$G"/hour-0002/page-00001.ndjson >"$T/h5/page.ndjson"
(PQF_CRASHPOINT=export.before-publish exec "$PQF" export "$S3" "${CH[@]}" --as-of 2026-01-05T05:00:00Z "$T/h5" >/dev/null 2>&1)
check_eq "an export killed before its publish" "$?" 137
"$PQF" gc "$S3" --grace 0s --dry-run --json >"$T/gc1.json" 2>&1
check_grep "gc --dry-run finds orphans" '"orphans":[1-9]' "$T/gc1.json"
check "gc removes them" "$PQF" gc "$S3" --grace 0s
"$PQF" gc "$S3" --grace 0s --json >"$T/gc2.json" 2>&1
check_grep "a second gc finds none" '"orphans":0' "$T/gc2.json"
check "the log still verifies after gc" "$PQF" log "$S3" --deep
done_testing
