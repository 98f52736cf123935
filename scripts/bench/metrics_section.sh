# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The metrics section of scripts/bench.sh, sourced by it: what a Prometheus
# scrape of /metrics costs at 65,536 users (scripts/bench/metrics.sh): the
# page, the control thread's steps, and management socket pings meanwhile.

metrics_section() {
    local users=$([ "$QUICK" = 1 ] && echo 8192 || echo 65536)
    say "[metrics] metrics.sh $users"
    BUILD_DIR=$B BENCH_JSON=$W/metrics.json "$ROOT/scripts/bench/metrics.sh" "$users" \
        > "$W/metrics.out" 2>&1 || { cat "$W/metrics.out" >&2; return 1; }
    put .metrics "$(cat "$W/metrics.json")"
    cp "$W/metrics.out" "bench/bench-metrics$SUFFIX.txt"
}
