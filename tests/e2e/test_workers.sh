#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# workers: linecapd with two workers ([wire] workers = 2) on af_packet
# vdevs of two queue pairs each, whose kernel fanout spreads flows over the
# queues by a symmetric flow hash. Worker i polls queue i of both ports; a
# frame received by the worker that does not shape its user is handed to
# the one that does.
#
# One user, w20@lab.example, 20 mbit down and 10 mbit up, downloads from
# two client addresses with 4 TCP flows each, so that its flows land on
# both workers. Checked:
#   - both workers receive the user's frames, and frames are handed over;
#   - the frames reaching the client namespace over 3 s: 0.98..1.02 of the
#     limit (the one limit holds in total, whichever worker got a flow);
#   - state disabled and present, and the TAP and inline switch, on both;
#   - user del: the id is retired, then free once no flow of either
#     worker's table holds it (GC).
# EAL: three lcores on the two CPUs, the control thread beside worker 1.
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034  # read by rate_check
LIMIT=20000000
SECS=40

lab_up
MPORT=$(lc_free_port)
vdevs=${LAB_VDEVS//,iface=/,qpairs=2,iface=}
lc_write_conf "$WORK/lc.conf" \
    "[eal]" \
    "args = --no-huge -m 1024 --no-pci --lcores=0@$APP_CPU,1@$WORKER_CPU,2@$APP_CPU --main-lcore 0 --file-prefix=$PREFIX --log-level=notice" \
    "args = $vdevs" \
    "[wire]" "mtu = $LAB_WIRE_MTU" "mbufs = 16384" "workers = 2" \
    "[flows]" "capacity = 65536" \
    "[shaper]" "port_rate = 10gbit" "aqm = none" \
    "[users]" "capacity = 1024" "state_file = $WORK/users.conf" \
    "[mgmt]" "socket = $LC_SOCK" \
    "[metrics]" "listen = 127.0.0.1:$MPORT"
lc_start "$WORK/lc.conf"
[ "$(lc_ctl stats | jq '.workers | length')" = 2 ] || fail "stats: not two workers"

in_cli ping -c 1 -W 2 -I "${LAB_CLI4[0]}" "$LAB_SRV4" > /dev/null || fail "no ping across the wire"
echo "ok: ARP and ICMP cross the wire"

lc_ctl user set w20@lab.example down=20mbit up=10mbit > /dev/null
for a in "${LAB_CLI4[0]}" "${LAB_CLI4[1]}"; do
    [ "$(lc_ctl assign w20@lab.example "$a" | jq -r .result)" != null ] || fail "assign $a"
done
servers 5201 5202

# flows4 NAME SRC PORT CPORT: 4 TCP flows downloading for SECS.
flows4() {
    ip netns exec "$LAB_NS_CLI" taskset -c "$APP_CPU" timeout -k 5 $((SECS + 30)) \
        iperf3 -c "$LAB_SRV4" -p "$3" -B "$2" --cport "$4" -P 4 -R \
        -M 1460 -w 64K -t "$SECS" --json > "$WORK/$1.json" 2> "$WORK/$1.err" &
    FLOW_PID[$1]=$!
    PIDS+=($!)
}
flows4 a "${LAB_CLI4[0]}" 5201 41000
flows4 b "${LAB_CLI4[1]}" 5202 42000
sleep 4

s=$(lc_ctl stats)
read -r rx0 rx1 h0 h1 <<<"$(jq -r '[.workers[].rx_packets, .workers[].handed_off] | @tsv' <<<"$s")"
echo "workers: received $rx0 and $rx1 frames, handed over $h0 and $h1"
[ "$rx0" -gt 100 ] && [ "$rx1" -gt 100 ] ||
    skip "the kernel's fanout put every flow of the user on one queue ($rx0, $rx1 frames)"
[ $((h0 + h1)) -gt 0 ] || fail "no frame was handed to the user's worker"
[ "$(jq '[.ports[].drops.handoff_full] | add' <<<"$s")" = 0 ] || fail "handoff_full drops"
# Each worker's counters in the metrics, read after the stats: no less.
m=$(curl -sS --max-time 10 "http://127.0.0.1:$MPORT/metrics") || fail "GET /metrics"
for k in 0 1; do
    mrx=$(awk -v w="linecap_workers_received_packets_total{worker=\"$k\"}" '$1 == w { print $2 }' <<<"$m")
    mh=$(awk -v w="linecap_workers_handed_off_total{worker=\"$k\"}" '$1 == w { print $2 }' <<<"$m")
    want_rx=$([ $k = 0 ] && echo "$rx0" || echo "$rx1")
    want_h=$([ $k = 0 ] && echo "$h0" || echo "$h1")
    [ -n "$mrx" ] && [ -n "$mh" ] || fail "metrics: no linecap_workers_* of worker $k"
    [ "$mrx" -ge "$want_rx" ] && [ "$mh" -ge "$want_h" ] ||
        fail "metrics: worker $k received $mrx and handed over $mh, the stats said $want_rx and $want_h"
done
echo "metrics: worker counters no less than the stats read before them"

rate_check "two workers, 8 flows from 2 addresses" 0.98 1.02

[ "$(lc_ctl state disabled | jq -r .state)" = disabled ] || fail "state disabled"
sleep 1
rate_check "disabled (kill switch) on both workers" 3 1000000
[ "$(lc_ctl state present | jq -r .state)" = present ] || fail "state present"
sleep 5
rate_check "present again" 0.98 1.02

# TAP: neither worker transmits; inline again: they do.
r=$(lc_ctl mode tap)
[ "$(jq -r .mode <<<"$r")" = tap ] || fail "mode tap: $r"
sleep 1
t0=$(rx_bytes "$LAB_NS_CLI")
sleep 1
t1=$(rx_bytes "$LAB_NS_CLI")
[ $((t1 - t0)) -lt 2000 ] || fail "TAP: $((t1 - t0)) bytes reached the client in 1 s"
tap=$(lc_ctl stats | jq '[.ports[].tap_packets] | add')
[ "$tap" -gt 0 ] || fail "TAP: no frame counted"
echo "ok: TAP on both workers: nothing transmitted, $tap frames counted"
[ "$(lc_ctl mode inline | jq -r .mode)" = inline ] || fail "mode inline"
in_cli ping -c 1 -W 2 -I "${LAB_CLI4[0]}" "$LAB_SRV4" > /dev/null || fail "no ping after inline"
echo "ok: inline again"

for n in a b; do kill "${FLOW_PID[$n]}" 2> /dev/null || true; done
retired_none() { [ "$(lc_ctl stats | jq .users.retired)" = 0 ]; }
lc_ctl user del w20@lab.example > /dev/null || fail "user del"
retired=$(lc_ctl stats | jq .users.retired)
echo "after user del: $retired id retired"
wait_for 60 "the retired id to be free on both workers" \
    retired_none
echo "ok: the id is free again (GC on both workers)"
echo "workers: ok"
