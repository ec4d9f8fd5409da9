#!/usr/bin/env bash
# Build every fuzz/fuzz_<name>.c with libFuzzer + ASan + UBSan (clang) against
# all library sources into build-fuzz/, run each for $1 seconds (default 60)
# on its corpus fuzz/corpus/<name>/, and copy new crashers into that corpus so
# that the normal test run (fuzz/replay.c) replays them from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
OUT=build-fuzz
mkdir -p "$OUT"
CFLAGS="-std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -Iinclude -Isrc $(make -s print-cflags)"
LIBS="$(make -s print-libs)"
LIB_SRC=$(ls src/*/*.c)
status=0
for f in fuzz/fuzz_*.c; do
    name=$(basename "$f" .c); name=${name#fuzz_}
    bin=$OUT/fuzz_$name
    echo "== build $bin"
    # shellcheck disable=SC2086
    clang $CFLAGS -o "$bin" "$f" $LIB_SRC $LIBS
    corpus=fuzz/corpus/$name
    mkdir -p "$corpus" "$OUT/corpus-$name" "$OUT/crash-$name"
    echo "== run $name for ${SECS}s"
    if ! "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
         -artifact_prefix="$OUT/crash-$name/" "$OUT/corpus-$name" "$corpus"; then
        status=1
    fi
    for c in "$OUT/crash-$name"/*; do
        [ -f "$c" ] || continue
        cp "$c" "$corpus/$(basename "$c")"
        echo "new crasher: $corpus/$(basename "$c")"
        status=1
    done
done
exit $status
