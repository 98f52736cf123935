#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Flow table benchmark: create rate, lookups per second and TSC cycles per
# packet at 10k, 100k and 1M active flows, aging cost and bytes per flow.
# docs/FLOWS.md explains the figures.
#
#   scripts/bench/flow.sh [EAL options] [-- [--capacity N] [--lookups N]
#                         [--sizes A,B,C] [--client-index]]
#
# BUILD names the meson build directory (default: build). It is set up if it
# does not exist; only the benchmark and what it needs are (re)built.
set -euo pipefail

cd "$(dirname "$0")/../.."
build=${BUILD:-build}

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build"
fi
ninja -C "$build" tests/bench/bench_flow >/dev/null

exec "$build/tests/bench/bench_flow" "$@"
