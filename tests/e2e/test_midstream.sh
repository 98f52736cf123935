#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# midstream: the TAP->inline switch in miniature. TCP flows start while a
# plain Linux bridge joins the two wire ends; then the bridge goes and
# linecapd takes the same veths, mid-stream.
#
#   permit_invalid_flow = yes: the flows go on through linecapd (unassigned,
#       so unshaped: above 2x the limit), and once assigned they are shaped
#       (0.80..1.05 of the limit); 'flows' lists them with their user.
#   permit_invalid_flow = no: no byte of them moves (under 20 kB in 3 s,
#       counted as invalid_flow drops), while ARP and ping still cross.
#
# linecapd is started with '[wire] autostart = no' while the bridge still
# carries the flows, then the bridge is removed and 'start' sent, so the
# flows see a gap of milliseconds, as with a balancer switching paths.
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034  # read by rate_check
LIMIT=5000000
lab_up
servers 5201 5202

# switch PERMIT: linecapd takes the wire ends over from the bridge.
switch() {
    lc_conf "$WORK/lc-$1.conf" "$LAB_VDEVS" "flows.permit_invalid_flow=$1" wire.autostart=no
    lc_start "$WORK/lc-$1.conf"
    lc_ctl user set m5@lab.example down=5mbit up=2mbit > /dev/null
    lab bridge off
    lc_ctl start > /dev/null
}

echo "== permit_invalid_flow = yes"
lab bridge on
flows yes "${LAB_CLI4[0]}" "$LAB_SRV4" 5201 41000 30 -R
sleep 2
rate_check "bridged, before linecapd" 2 1000000
switch yes
sleep 0.5
rate_check "through linecapd, not assigned yet" 2 1000000
n=$(lc_stat .flows.active)
[ "$n" -ge 2 ] || fail "expected the 2 data connections in the flow table, found $n"
lc_ctl assign m5@lab.example "${LAB_CLI4[0]}" > /dev/null
# From hundreds of mbit/s to 5: TCP loses most of a window and recovers.
sleep 4
rate_check "assigned: shaped" 0.80 1.05
# The data connections; iperf3's control connection is idle, so unseen.
bound=$(lc_ctl flows | jq --arg a "${LAB_CLI4[0]}:41000" --arg b "${LAB_CLI4[0]}:41001" \
    '[.flows[] | select(.client == $a or .client == $b) | select(.user == "m5@lab.example")] | length')
[ "$bound" -eq 2 ] || fail "data flows bound to m5@lab.example: $bound, expected 2"
echo "ok: the 2 mid-stream data connections are listed with their user"
kill "${FLOW_PID[yes]}" 2>/dev/null || true
lc_stop

echo "== permit_invalid_flow = no"
lab bridge on
flows no "${LAB_CLI4[1]}" "$LAB_SRV4" 5202 42000 30 -R
sleep 2
rate_check "bridged, before linecapd" 2 1000000
switch no
lc_ctl assign m5@lab.example "${LAB_CLI4[1]}" > /dev/null
sleep 1
b0=$(rx_bytes "$LAB_NS_CLI")
d0=$(lc_stat .ports.server.drops.invalid_flow)
sleep 3
b1=$(rx_bytes "$LAB_NS_CLI")
d1=$(lc_stat .ports.server.drops.invalid_flow)
echo "stalled: $((b1 - b0)) bytes reached the client in 3 s; invalid_flow drops +$((d1 - d0))"
[ $((b1 - b0)) -lt 20000 ] || fail "mid-stream flows moved $((b1 - b0)) bytes with permit_invalid_flow = no"
[ $((d1 - d0)) -gt 0 ] || [ "$d1" -gt 0 ] || fail "no invalid_flow drops counted"
in_cli ping -c 1 -W 2 "$LAB_SRV4" > /dev/null || fail "ping does not cross linecapd"
echo "ok: the stalled flows' packets are dropped as invalid_flow; ARP and ping still cross"
kill "${FLOW_PID[no]}" 2>/dev/null || true
echo "midstream: ok"
