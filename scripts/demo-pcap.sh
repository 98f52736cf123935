#!/usr/bin/env bash
# The pcap demo: linecap as a transparent wire, on a machine with no NIC.
# (scripts/demo.sh is the main demo: real TCP traffic shaped per user.)
# Installs what it needs, builds, generates captures of every kind of frame
# an operator network carries, replays them through linecapd on DPDK's pcap
# PMD, and shows that what left each port is byte for byte what entered the
# other, then the same replay in TAP mode, then a live switch.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build > /dev/null
ninja -C build > /dev/null

B=$PWD/build
# shellcheck source=SCRIPTDIR/lib/linecapd.sh
. scripts/lib/linecapd.sh
LINECAPD=$B/app/linecapd/linecapd
LINECAPCTL=$B/app/linecapctl/linecapctl
WORK=$(mktemp -d /tmp/linecap-demo.XXXXXX)
LC_SOCK=$WORK/lc.sock
LC_LOG=$WORK/linecapd.log
LC_START_WAIT=10
LC_PID=
cleanup() {
    lc_stop
    rm -rf "$WORK" "/var/run/dpdk/linecap-demo-$$"
}
trap cleanup EXIT INT TERM

run_daemon() {  # MODE CLIENT.pcap SERVER.pcap
    lc_write_conf "$WORK/lc.conf" \
        "[eal]" \
        "args = --no-huge -m 512 --no-pci -l 0,1 --file-prefix=linecap-demo-$$ --log-level=warning" \
        "args = --vdev=net_pcap0,rx_pcap=$2,tx_pcap=$WORK/client-out.pcap" \
        "args = --vdev=net_pcap1,rx_pcap=$3,tx_pcap=$WORK/server-out.pcap" \
        "[wire]" "mode = $1" "mbufs = 16384" \
        "[flows]" "capacity = 65536" \
        "[users]" "capacity = 4096" "state_file = $WORK/users.conf" \
        "[mgmt]" "socket = $LC_SOCK"
    lc_start "$WORK/lc.conf"
}

wait_done() {  # CLIENT_FRAMES SERVER_FRAMES
    lc_wait_rx "$1" "$2" || true
}

count() { "$B/tests/tools/lc-pcapcmp" --count "$1" | cut -d' ' -f1; }

table() {  # a per-port table from a stats reply
    jq -r '.ports | to_entries[] | [.key, .value.rx_packets, .value.rx_bytes,
        .value.tx_packets, .value.tx_bytes, .value.tap_packets,
        .value.drops.tx_full] | @tsv' <<<"$1" |
    awk 'BEGIN { printf "%-8s %10s %12s %10s %12s %10s %8s\n", "port",
        "rx_frames", "rx_bytes", "tx_frames", "tx_bytes", "tap", "dropped" }
        { printf "%-8s %10s %12s %10s %12s %10s %8s\n", $1, $2, $3, $4, $5, $6, $7 }'
}

echo "== 1. Captures: ARP, LLDP, unknown EtherType, 802.1Q, QinQ, MPLS, PPPoE,"
echo "==    IPv4/IPv6 TCP and UDP, a 60-byte runt and a 9000-byte jumbo"
"$B/tests/gen/lc_pcapgen" mixed "$WORK/client.pcap" "$WORK/server.pcap"

echo
echo "== 2. Inline: every frame crosses the wire unchanged"
run_daemon inline "$WORK/client.pcap" "$WORK/server.pcap"
wait_done "$(count "$WORK/client.pcap")" "$(count "$WORK/server.pcap")"
table "$(lc_ctl stats)"
lc_stop
printf "upload   (client -> server): "
"$B/tests/tools/lc-pcapcmp" "$WORK/client.pcap" "$WORK/server-out.pcap"
printf "download (server -> client): "
"$B/tests/tools/lc-pcapcmp" "$WORK/server.pcap" "$WORK/client-out.pcap"

echo
echo "== 3. TAP: a mirror copy is counted, nothing is transmitted"
run_daemon tap "$WORK/client.pcap" "$WORK/server.pcap"
wait_done "$(count "$WORK/client.pcap")" "$(count "$WORK/server.pcap")"
table "$(lc_ctl stats)"
lc_stop
echo "frames transmitted: client port $(count "$WORK/client-out.pcap"), server port $(count "$WORK/server-out.pcap")"

echo
echo "== 4. Live switch from TAP to inline during a 200,000-frame replay"
"$B/tests/gen/lc_pcapgen" seq "$WORK/client.pcap" "$WORK/server.pcap" --count 200000 > /dev/null
run_daemon tap "$WORK/client.pcap" "$WORK/server.pcap"
reply=$(lc_ctl mode inline)
at=$(jq .switched_at.client <<<"$reply")
echo "switched to inline at upload frame $at"
wait_done "$(count "$WORK/client.pcap")" "$(count "$WORK/server.pcap")"
table "$(lc_ctl stats)"
lc_stop
printf "upload frames after the switch: "
"$B/tests/tools/lc-pcapcmp" --skip "$at" "$WORK/client.pcap" "$WORK/server-out.pcap"
echo
echo "demo: done"
