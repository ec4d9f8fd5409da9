# CLI tests: usage errors. An unknown option or one operand too many is exit 2,
# with a message that names the argument, and nothing is done.
source "$(dirname "$0")/../lib.sh"
cd "$T" || exit 1

# command, its operands (as many as it takes), then one too many
while read -r cmd ops; do
    check_exit "$cmd: an unknown option is exit 2" 2 "$PQF" $cmd --no-such-option
    check_grep "$cmd: the message names it" "unknown option '--no-such-option'" "$T/last.out"
    check_exit "$cmd: a single-dash unknown option too" 2 "$PQF" $cmd -Z
    check_grep "$cmd: named" "unknown option '-Z'" "$T/last.out"
    check_exit "$cmd: one operand too many is exit 2" 2 "$PQF" $cmd $ops extra-operand
    check_grep "$cmd: the message names it" "unexpected argument 'extra-operand'" "$T/last.out"
done <<'LIST'
gc store table
log store table
apply store sink
reconcile a b
convert in.csv out.parquet
run pipeline.yaml
LIST
# a size too large for 64 bits is refused, not taken as the largest value
check_exit "a size past 2^64 is exit 2" 2 "$PQF" export "$T/store" --table t --target-file-size 99999999999999999999999 in.ndjson
check_grep "the message names the option" "target-file-size" "$T/last.out"
check_exit "a size that overflows with its suffix is exit 2" 2 "$PQF" export "$T/store" --table t --target-file-size 99999999999999999999G in.ndjson
# --lookahead has a cap: more is refused, naming the option and the maximum
check_exit "replicate --lookahead over the cap is exit 2" 2 "$PQF" replicate "$T/p" "$T/r" --lookahead 1025 --state "$T/st.db"
check_grep "the message names the option and the maximum" "lookahead 1025: at most 1024" "$T/last.out"
check_exit "replicate status too" 2 "$PQF" replicate status "$T/p" "$T/r" --lookahead 5000 --state "$T/st.db"
check_eq "nothing was written" "$(ls -A "$T" | grep -cE '^(out\.parquet|store|sink|table|a|b|p|r|st\.db)$')" 0

done_testing
