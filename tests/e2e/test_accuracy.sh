#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# accuracy: three users shaped at once through linecapd on af_packet, with
# real TCP stacks on both sides of the wire.
#
#   user                 client        down    up
#   u5@lab.example       10.99.0.11     5mbit  2mbit
#   u20@lab.example      10.99.0.12    20mbit  5mbit
#   u50@lab.example      fd00:99::13   50mbit 10mbit   (IPv6)
#
# Each user runs 2 parallel TCP flows (one iperf3 client, -P 2), first all
# three downloading (-R), then all three uploading. Each user's goodput, the
# sum of its 2 flows as iperf3's receiver measured it with the first second
# omitted, must be within 0.85..1.02 of its limit. A limit counts Ethernet
# frame bytes; with MSS 1448 and TCP timestamps a 1514-byte frame carries
# 1448 bytes of payload (0.956; 0.944 over IPv6), see docs/OPERATIONS.md.
# Before the traffic: ARP and ND cross the wire (ping over IPv4 and IPv6).
. "$(dirname "$0")/lib.sh"

SECS=${LC_E2E_SECS:-5}

lab_up
lc_conf "$WORK/lc.conf" "$LAB_VDEVS"
lc_start "$WORK/lc.conf"

in_cli ping -c 1 -W 2 -I "${LAB_CLI4[0]}" "$LAB_SRV4" > /dev/null || fail "no IPv4 ping across the wire"
in_cli ping -c 1 -W 2 -I "${LAB_CLI6[2]}" "$LAB_SRV6" > /dev/null || fail "no IPv6 ping across the wire"
echo "ok: ARP and ND cross the wire (ping over IPv4 and IPv6)"

#       name email            client          server         port  cport down     up
USERS=(
    "u5  u5@lab.example  ${LAB_CLI4[0]}  $LAB_SRV4  5201  41000  5000000  2000000"
    "u20 u20@lab.example ${LAB_CLI4[1]}  $LAB_SRV4  5202  42000  20000000 5000000"
    "u50 u50@lab.example ${LAB_CLI6[2]}  $LAB_SRV6  5203  43000  50000000 10000000"
)

for u in "${USERS[@]}"; do
    read -r name email cli srv port cport down up <<<"$u"
    lc_ctl user set "$email" "down=$down" "up=$up" > /dev/null
    # IP-wide: the data flows and iperf3's control connection.
    [ "$(lc_ctl assign "$email" "$cli" | jq -r .result)" != null ] ||
        fail "assign $email $cli"
done
servers 5201 5202 5203

declare -A WAITED
for dir in down up; do
    w0=$(worker_wait); t0=$SECONDS
    for u in "${USERS[@]}"; do
        read -r name email cli srv port cport down up <<<"$u"
        if [ "$dir" = down ]; then
            flows "$dir-$name" "$cli" "$srv" "$port" "$cport" "$SECS" -R
        else
            flows "$dir-$name" "$cli" "$srv" "$port" "$cport" "$SECS"
        fi
    done
    for u in "${USERS[@]}"; do
        read -r name _ <<<"$u"
        flows_wait "$dir-$name"
    done
    WAITED[$dir]="$(( $(worker_wait) - w0 )) ms in $((SECONDS - t0)) s"
done

stats=$(lc_ctl stats)
echo "linecapd drops: $(jq -c '{client: .ports.client.drops | with_entries(select(.value > 0)),
    server: .ports.server.drops | with_entries(select(.value > 0))}' <<<"$stats")"

bad=0
for dir in down up; do
    for u in "${USERS[@]}"; do
        read -r name email cli srv port cport down up <<<"$u"
        [ "$dir" = down ] && limit=$down || limit=$up
        g=$(goodput "$dir-$name")
        r=$(ratio "$g" "$limit")
        drops=$(user_field "$email" ".counters.$dir.drops")
        if between "$r" 0.85 1.02; then verdict=ok; else verdict=FAIL; bad=1; fi
        printf '%s: %-16s %-4s limit %6s mbit goodput %6s mbit ratio %s (shaper drops %s)\n' \
            "$verdict" "$email" "$dir" "$(mbit "$limit")" "$(mbit "$g")" "$r" "$drops"
    done
done
echo "linecapd's worker waited for its CPU: ${WAITED[down]} (downloads), ${WAITED[up]} (uploads)"
[ $bad -eq 0 ] || fail "a goodput is outside 0.85..1.02 of its limit (a worker that waited for its CPU more than a few ms shapes below the limit: run the e2e suite on a machine of its own, or set LC_E2E_WORKER_CPU to a quiet CPU)"
echo "accuracy: ok"
