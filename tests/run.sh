#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds the normal and the
# sanitizer (ASan+UBSan) builds, runs unit tests, fuzz-corpus replays and CLI
# tests under both, then interop and integration tests (real DuckDB,
# hyparquet, parquet-wasm; real servers) on the normal build.
# Every suite speaks TAP; the last line is the summary:
#   "tests: N passed, N failed, N skipped".
# PQF_QUICK=1 skips the sanitizer build and slow suites (for local iteration).
# PQF_ONLY=<glob> runs only suites whose path matches.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "${PQF_NO_DEPS:-0}" != 1 ]; then
    scripts/deps.sh || { echo "tests: deps failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
fi

LOG=$ROOT/build/test-logs
rm -rf "$LOG"; mkdir -p "$LOG"
pass=0 fail=0 skip=0
failed_suites=()

run_suite() { # name logfile cmd...
    local name=$1 log=$2; shift 2
    if [ -n "${PQF_ONLY:-}" ]; then
        case "$name" in $PQF_ONLY) ;; *) return 0 ;; esac
    fi
    local start=$SECONDS
    timeout "${PQF_SUITE_TIMEOUT:-900}" "$@" >"$log" 2>&1
    local rc=$?
    local p f s
    # cmocka writes skipped tests as "not ok N # SKIP": a skip, not a failure
    p=$(grep -E '^ok ' "$log" | grep -vc '# SKIP')
    s=$(grep -Ec '^(not )?ok .*# SKIP' "$log")
    f=$(grep -E '^not ok ' "$log" | grep -vc '# SKIP')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $name exited with status $rc" >>"$log"
        f=1
    fi
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    printf '%-48s %4d passed %3d failed %3d skipped  %3ds\n' "$name" "$p" "$f" "$s" $((SECONDS - start))
    if [ "$f" -ne 0 ]; then
        failed_suites+=("$name")
        grep -E '^not ok |^# ' "$log" | grep -v '# SKIP' | head -40 | sed 's/^/    /'
        tail -n 15 "$log" | sed 's/^/    | /'
    fi
}

build() { # dir target
    if ! make -j"$(nproc)" "$2" >"$LOG/build-$1.log" 2>&1; then
        echo "build $1 failed:"; grep -E 'error|Error' "$LOG/build-$1.log" | head -30
        echo "tests: $pass passed, $((fail + 1)) failed, $skip skipped"
        exit 1
    fi
}

run_builds=(build)
build build all
if [ "${PQF_QUICK:-0}" != 1 ]; then
    build build-asan asan
    run_builds+=(build-asan)
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:exitcode=99
export LSAN_OPTIONS=exitcode=99 # not 23: reconcile's "differences" code
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export CMOCKA_MESSAGE_OUTPUT=TAP
export PQF_SHARED=${PQF_SHARED:-$ROOT/../shared}

for b in "${run_builds[@]}"; do
    for t in "$b"/tests/test_*; do
        [ -x "$t" ] || continue
        n=$(basename "$t")
        run_suite "$b/unit/$n" "$LOG/$b-$n.log" "$t"
    done
    for r in "$b"/fuzz/replay_*; do
        [ -x "$r" ] || continue
        n=${r##*/replay_}
        dirs=(fuzz/corpus/"$n")
        [ -f "fuzz/corpus/$n.extra" ] && while read -r d; do
            d=${d//\$PQF_SHARED/$PQF_SHARED}; [ -e "$d" ] && dirs+=("$d"); done <"fuzz/corpus/$n.extra"
        run_suite "$b/fuzz/$n" "$LOG/$b-fuzz-$n.log" "$r" "${dirs[@]}"
    done
    for t in tests/cli/*.sh; do
        [ -f "$t" ] || continue
        n=$(basename "$t" .sh)
        # the 50-kill runs prove crash safety on the normal build; under the
        # sanitizers (3-5x slower) 20 kills look for memory errors on those paths
        kills=50; [ "$b" = build-asan ] && kills=20
        PQF_APPLY_KILLS=${PQF_APPLY_KILLS:-$kills} PQF_BUILD=$ROOT/$b \
            run_suite "$b/cli/$n" "$LOG/$b-cli-$n.log" bash "$t"
    done
done

for kind in interop integration; do
    for t in tests/$kind/*.sh; do
        [ -f "$t" ] || continue
        n=$(basename "$t" .sh)
        PQF_BUILD=$ROOT/build run_suite "$kind/$n" "$LOG/$kind-$n.log" bash "$t"
    done
done

echo "logs: $LOG"
[ ${#failed_suites[@]} -eq 0 ] || echo "failed suites: ${failed_suites[*]}"
echo "tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
