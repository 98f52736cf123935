#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine:
#   1. installs the dependencies (apt-get),
#   2. builds with warnings as errors and runs every test (unit, replay, ...),
#   3. rebuilds with AddressSanitizer and UBSan and runs the unit tests,
#   4. builds the libFuzzer targets with clang and runs each for a bounded
#      number of runs.
# Prints "N passed, N failed" at the end and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

setup() {
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" > /dev/null
    else
        meson setup "$dir" "$@" > /dev/null
    fi
}

status=0
run() {
    local dir=$1
    shift
    ninja -C "$dir" > "$dir.build.log" 2>&1 || { cat "$dir.build.log"; exit 1; }
    meson test -C "$dir" --print-errorlogs "$@" || status=1
}

setup build -Ddeveloper_mode=true
run build --no-suite fuzz

# Sanitizers: DPDK's own allocator is not instrumented, but every library of
# linecap and every test is.
setup build-asan -Ddeveloper_mode=true -Db_sanitize=address,undefined \
    -Db_lundef=false
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run build-asan --suite unit

CC=clang setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dfuzz_runs="${LC_FUZZ_RUNS:-2000000}"
run build-fuzz --suite fuzz

# One closing line over the three runs.
python3 - build build-asan build-fuzz <<'PY'
import json, sys
passed = failed = skipped = 0
for d in sys.argv[1:]:
    try:
        with open(f"{d}/meson-logs/testlog.json") as f:
            for line in f:
                r = json.loads(line)
                if r["result"] in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif r["result"] == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except FileNotFoundError:
        pass
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
