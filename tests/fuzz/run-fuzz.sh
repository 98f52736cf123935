#!/bin/sh
# run-fuzz.sh EXE NAME SRCDIR RUNS
# Runs one libFuzzer target for a bounded number of runs, and at most
# LC_FUZZ_SECONDS (120 by default: the slow targets, whose inputs are whole
# client streams, stop there), starting from its seed corpus. New inputs go to a scratch corpus so that the source tree is
# never written. libFuzzer exits non-zero on any crash, leak or sanitizer
# report, and so does this script.
set -eu
exe=$(readlink -f "$1") name=$2 src=$3 runs=$4
out=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lc-fuzz-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
if [ -d "$src/corpus/$name" ]; then
    cp -r "$src/corpus/$name/." "$work/corpus/"
fi
# Targets may also take seeds generated at build time.
if [ -n "${LC_FUZZ_SEEDS:-}" ] && [ -d "$LC_FUZZ_SEEDS/$name" ]; then
    cp -r "$LC_FUZZ_SEEDS/$name/." "$work/corpus/"
fi
cd "$work"
# Not exec: the EXIT trap then removes the scratch corpus (and what the
# target made in its working folder) whatever the target's status.
status=0
"$exe" -runs="$runs" -max_total_time="${LC_FUZZ_SECONDS:-120}" -print_final_stats=1 \
    -artifact_prefix="$out/fuzz-$name-" -detect_leaks=1 corpus || status=$?
exit "$status"
