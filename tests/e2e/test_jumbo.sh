#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# jumbo: the lab at MTU 9000 and linecapd at '[wire] mtu = 9216' on
# af_packet: 9000-byte IPv4 and IPv6 packets (9014-byte frames) cross the
# wire whole in both directions, unfragmented (ping -M do), and a TCP flow
# with MSS 8948 moves data (an upload, so that its 9014-byte frames travel
# client -> server and its ACKs back).
. "$(dirname "$0")/lib.sh"

export LAB_MTU=9000
lab_up
[ "$LAB_WIRE_MTU" = 9216 ] || fail "lab.sh chose [wire] mtu = $LAB_WIRE_MTU for MTU 9000"
lc_conf "$WORK/lc.conf" "$LAB_VDEVS"
lc_start "$WORK/lc.conf"

in_cli ping -c 2 -i 0.2 -W 2 -M "do" -s 8972 "$LAB_SRV4" > /dev/null ||
    fail "a 9000-byte IPv4 packet did not cross (client -> server -> client)"
in_srv ping -c 2 -i 0.2 -W 2 -M "do" -s 8972 "${LAB_CLI4[0]}" > /dev/null ||
    fail "a 9000-byte IPv4 packet did not cross (server -> client -> server)"
in_cli ping -c 2 -i 0.2 -W 2 -M "do" -s 8952 "$LAB_SRV6" > /dev/null ||
    fail "a 9000-byte IPv6 packet did not cross"
echo "ok: 9014-byte frames cross both ways, IPv4 and IPv6"

big=$(lc_ctl stats | jq '.ports.client.rx_bytes / .ports.client.rx_packets | floor')
echo "mean frame size on the client port so far: $big bytes"

servers 5201
ip netns exec "$LAB_NS_CLI" taskset -c $APP_CPU timeout 20 iperf3 -c "$LAB_SRV4" \
    -B "${LAB_CLI4[0]}" -t 2 --json > "$WORK/jumbo.json" || fail "iperf3 over MTU 9000"
mss=$(jq '.start.tcp_mss_default' "$WORK/jumbo.json")
g=$(goodput jumbo)
echo "TCP with MSS $mss: $(mbit "$g") mbit/s"
[ "$mss" -gt 8000 ] || fail "MSS $mss: the path is not jumbo"
[ "$g" -gt 10000000 ] || fail "TCP over jumbo frames moved only $(mbit "$g") mbit/s"
echo "jumbo: ok"
