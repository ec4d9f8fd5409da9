# Shared helpers for shell test suites (tests/cli, tests/interop,
# tests/integration). Source it; it sets PQF (the binary), T (a temporary
# folder removed on exit) and TAP helpers. Call `done_testing` at the end.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PQF_BUILD=${PQF_BUILD:-$ROOT/build}
PQF=$PQF_BUILD/pqfeed
PQF_SHARED=${PQF_SHARED:-$ROOT/../shared}
T=$(mktemp -d "${TMPDIR:-/tmp}/pqf-test.XXXXXX")
_tap_n=0
_tap_fail=0
_cleanup_hooks=()
on_exit() { _cleanup_hooks+=("$1"); }
_run_cleanup() {
    local h
    for h in "${_cleanup_hooks[@]}"; do eval "$h" || true; done
    rm -rf "$T"
}
trap _run_cleanup EXIT

ok()   { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_fail=$((_tap_fail + 1)); echo "not ok $_tap_n - $1"; shift; local l; for l in "$@"; do echo "# $l"; done; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP ${2:-}"; }

# check DESC CMD...: ok if CMD exits 0 (its output goes to $T/last.out).
check() {
    local desc=$1; shift
    if "$@" >"$T/last.out" 2>&1; then ok "$desc"; else not_ok "$desc" "command: $*" "$(tail -n 5 "$T/last.out")"; fi
}
# check_fails DESC CODE CMD...: ok if CMD exits with CODE.
check_exit() {
    local desc=$1 want=$2; shift 2
    "$@" >"$T/last.out" 2>&1
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$desc"; else not_ok "$desc" "want exit $want, got $rc: $*" "$(tail -n 5 "$T/last.out")"; fi
}
# check_grep DESC PATTERN FILE: ok if FILE contains PATTERN (extended regex).
check_grep() {
    if grep -Eq -- "$2" "$3"; then ok "$1"; else not_ok "$1" "pattern '$2' not in $3" "$(head -c 600 "$3")"; fi
}
check_eq() { # DESC GOT WANT
    if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi
}
done_testing() { echo "1..$_tap_n"; [ "$_tap_fail" -eq 0 ]; }

# start_rgw: a throwaway Ceph RGW for this suite (scripts/rgw.sh), stopped on
# exit even when the suite fails. Exports the AWS_* variables for it and sets
# RGW_ENDPOINT and HOME (an empty one, so no user config leaks in). Ends the
# suite (as failed) when RGW does not start. Extra env: RGW_MEMSTORE_BYTES.
start_rgw() {
    RGW=$T/rgw
    on_exit "'$ROOT/scripts/rgw.sh' stop '$RGW'"
    if ! "$ROOT/scripts/rgw.sh" start "$RGW" >"$T/rgw.log" 2>&1; then
        not_ok "RGW starts" "$(tail -n 20 "$T/rgw.log")"
        done_testing
        exit 1
    fi
    ok "RGW starts"
    . "$RGW/env"
    export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
    export AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL=$RGW_ENDPOINT AWS_EC2_METADATA_DISABLED=true
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CA_BUNDLE
    export HOME=$T/home
    mkdir -p "$HOME"
}

# start_pg: a throwaway PostgreSQL cluster for this suite (scripts/pg.sh),
# stopped on exit even when the suite fails. Sets PQF_TEST_PG (a conninfo)
# and PQF_PG_DIR. Ends the suite (as failed) when it does not start.
start_pg() {
    local out
    if ! out=$("$ROOT/scripts/pg.sh" start 2>&1); then
        not_ok "start a PostgreSQL cluster" "$out"
        done_testing
        exit 1
    fi
    eval "$out"
    on_exit "'$ROOT/scripts/pg.sh' stop '$PQF_PG_DIR'"
    ok "start a PostgreSQL cluster ($PQF_PG_DIR)"
}

# issues_hourly SEED: generated issue-tracker API pages (3 hours, 3,000 rows) in
# $G for hourly changes-mode exports: sets G, SCHEMA, CH (export options) and
# defines export_hour FEED HOUR [extra export options...].
issues_hourly() {
    G=$T/pages
    "$PQF" gen --out "$G" --table issues --hours 3 --rows 3000 --page-rows 400 --seed "$1" >/dev/null
    SCHEMA=$G/issues.schema.json
    CH=(--table issues --schema "$SCHEMA" --mode changes --key id --watermark updated_at
        --delete-column deleted --created-column created_at)
}
export_hour() { # FEED HOUR [extra]
    local feed=$1 h=$2; shift 2
    "$PQF" export "$feed" "${CH[@]}" --as-of "2026-01-05T0$h:00:00Z" "$@" "$G/hour-000$h" >/dev/null
}

# psql_ ARGS...: psql on the cluster start_pg started, unaligned tuples only,
# stopping at the first error.
psql_() { psql -X -q -At -v ON_ERROR_STOP=1 "$PQF_TEST_PG" "$@"; }

# export_hours_with_crashes N: five hourly changes-mode exports of feed $C
# (export options in the CHG array), hour H at --as-of 2026-01-05TH:00:00Z.
# Before each, the suite's `hour H` changes the source and `changed_since H`
# prints how many rows now have a watermark at or after H:00 (summed into
# want_changes). Hours 2-4 are first killed (-9) at export.file-written:N,
# export.before-publish and export.after-publish, then rerun to completion;
# crash_ok ends 0 if a kill did not happen or a rerun failed. Each rerun's
# --json output is in $T/hH.json.
export_hours_with_crashes() {
    local h n point rc
    want_changes=0
    crash_ok=1
    for h in 1 2 3 4 5; do
        hour $h
        n=$(changed_since $h)
        want_changes=$((want_changes + n))
        point=
        case $h in 2) point=export.file-written:$1 ;; 3) point=export.before-publish ;; 4) point=export.after-publish ;; esac
        if [ -n "$point" ]; then
            { (PQF_CRASHPOINT=$point exec "$PQF" export "$C" "${CHG[@]}" --as-of "2026-01-05T0$h:00:00Z" >/dev/null 2>&1); } 2>/dev/null
            rc=$?
            [ "$rc" -eq 137 ] || { crash_ok=0; echo "# $point: exit $rc, not killed"; }
        fi
        "$PQF" export "$C" "${CHG[@]}" --as-of "2026-01-05T0$h:00:00Z" --json >"$T/h$h.json" 2>&1 || { crash_ok=0; echo "# hour $h: $(cat "$T/h$h.json")"; }
    done
}
