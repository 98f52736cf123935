#!/usr/bin/env bash
# assign.sh: assignments per second over linecapd's socket, with the
# latency from write to reply, against the anchor measured in the same run:
# one process per log line, which is what the follower script that linecap
# replaces pays (it forks conntrack and tc for every line).
#   scripts/bench/assign.sh [N]      (default 100000 assignments)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
B=${BUILD_DIR:-build}
[ -f "$B/build.ninja" ] || meson setup "$B" > /dev/null
ninja -C "$B" app/linecapd/linecapd app/linecapctl/linecapctl tests/bench/bench_assign > /dev/null

# shellcheck source=SCRIPTDIR/../lib/linecapd.sh
. scripts/lib/linecapd.sh
LINECAPD=$B/app/linecapd/linecapd
LINECAPCTL=$B/app/linecapctl/linecapctl

W=$(mktemp -d /tmp/lc-bench-assign.XXXXXX)
LC_SOCK=$W/lc.sock
LC_LOG=$W/linecapd.log
LC_START_WAIT=10
LC_PID=
cleanup() {
    lc_stop
    rm -rf "$W" "/var/run/dpdk/lc-bench-$$"
}
trap cleanup EXIT INT TERM

# No traffic: every assignment waits for its flow (pending), the worst case
# for the worker, which inserts one pending entry per line.
lc_empty_pcap "$W/client.pcap" "$W/server.pcap"
lc_write_conf "$W/lc.conf" \
    "[eal]" \
    "args = --no-huge -m 2048 --no-pci -l 0,1 --file-prefix=lc-bench-$$ --log-level=warning" \
    "args = --vdev=net_pcap0,rx_pcap=$W/client.pcap,tx_pcap=$W/client-out.pcap" \
    "args = --vdev=net_pcap1,rx_pcap=$W/server.pcap,tx_pcap=$W/server-out.pcap" \
    "[wire]" "mbufs = 4096" \
    "[flows]" "capacity = 1048576" \
    "[users]" "capacity = 65536" "state_file = $W/users.conf" \
    "[mgmt]" "socket = $LC_SOCK"
lc_start "$W/lc.conf"

first=$("$B/tests/bench/bench_assign" "$LC_SOCK" "$N" 10000)
# The same lines again: every user exists and every assignment is in force.
again=$("$B/tests/bench/bench_assign" "$LC_SOCK" "$N" 10000)
fork=$("$B/tests/bench/bench_assign" --fork 500)

printf '%-44s %12s %10s %10s %10s\n' "run" "assign/s" "p50 us" "p99 us" "max us"
for r in "new users, pending:$first" "same lines again:$again"; do
    name=${r%%:*}
    j=${r#*:}
    printf '%-44s %12s %10s %10s %10s\n' "$name" "$(jq .per_second <<<"$j")" \
        "$(jq .p50_us <<<"$j")" "$(jq .p99_us <<<"$j")" "$(jq .max_us <<<"$j")"
done
printf '%-44s %12s %10s\n' "anchor: one process per line (fork+exec)" \
    "$(jq .per_second <<<"$fork")" "$(jq .us_each <<<"$fork")"
echo "ratio to the anchor: $(jq -n "$(jq .per_second <<<"$first") / $(jq .per_second <<<"$fork") | floor")x"
echo "{\"assign_new\":$first,\"assign_again\":$again,\"fork_anchor\":$fork}" > "$W/result.json"
[ -n "${BENCH_JSON:-}" ] && cp "$W/result.json" "$BENCH_JSON"
exit 0
