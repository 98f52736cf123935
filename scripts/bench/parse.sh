#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# parse.sh [BENCH_ARGS...]: builds the parser benchmark if needed and
# prints nanoseconds and TSC cycles per frame for a realistic mix of
# encapsulations, then per encapsulation. BUILD_DIR (default: build) is the
# meson build directory; use an optimised build without sanitizers.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD_DIR:-$root/build}

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root"
fi
sanitize=$(meson introspect --buildoptions "$build" 2>/dev/null |
    python3 -c 'import json,sys
print(next((o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"), "none"))' \
    2>/dev/null || echo none)
if [ "$sanitize" != "none" ]; then
    echo "parse.sh: warning: $build is built with -fsanitize=$sanitize;" \
        "figures will be slow" >&2
fi
ninja -C "$build" tests/bench/bench_parse >/dev/null
exec "$build/tests/bench/bench_parse" "$@"
