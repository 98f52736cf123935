#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# latency: a user's interactive traffic does not wait behind the same
# user's bulk download.
#
#   user                 client        down    up
#   lat@lab.example      10.99.0.11    10mbit  10mbit
#
# With the product's AQM (PIE) and queue size, one iperf3 download of two
# TCP flows keeps the user at its limit, while the same user pings the
# server every 0.1 s. The lab's round trip is ~0.1 ms, where TCP alone
# would keep a few frames in flight: the flows' 2 MB windows stand for the
# windows of a real round trip, which fill the user's queue. The ping's replies share the user's
# download pipe with the bulk flow. Its median round trip under load, less
# its median round trip idle, must stay below LC_E2E_ADDED_MS (20 ms), no
# more than LC_E2E_LOST_MAX (5 %) of the pings may be lost, and the
# download must still run at 0.85..1.02 of the limit. The same again with
# aqm = none, where TCP fills the user's whole queue (256 frames, 310 ms at
# the limit).
#
# The figures of the same run with one FIFO per user (the frames of a
# pipe in arrival order) are in docs/SHAPING.md.
. "$(dirname "$0")/lib.sh"

SECS=${LC_E2E_SECS:-8}
ADDED_MS=${LC_E2E_ADDED_MS:-20}
LIMIT=10000000
EMAIL=lat@lab.example

LOST_MAX=${LC_E2E_LOST_MAX:-5}

lab_up
CLI=${LAB_CLI4[0]}
servers 5201

# median FILE: the median round trip (ms) of ping's output.
median() {
    awk -F'time=' '/time=/ { split($2, a, " "); print a[1] }' "$1" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "none"; exit }
            printf "%.3f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# run AQM: linecapd with that AQM, the user at its limit, the ping beside.
run() {
    local aqm=$1 idle w0 bulk n waited loaded added lost g r retr drops
    lc_conf "$WORK/lc-$aqm.conf" "$LAB_VDEVS" "shaper.aqm=$aqm"
    lc_start "$WORK/lc-$aqm.conf"
    lc_ctl user set "$EMAIL" "down=$LIMIT" "up=$LIMIT" > /dev/null
    # IP-wide: the download, and the ping's ICMP echo flow.
    [ "$(lc_ctl assign "$EMAIL" "$CLI" | jq -r .result)" != null ] || fail "assign $EMAIL $CLI"

    in_cli ping -c 20 -i 0.05 -I "$CLI" "$LAB_SRV4" > "$WORK/idle-$aqm.ping" ||
        fail "no ping across the wire"
    idle=$(median "$WORK/idle-$aqm.ping")

    w0=$(worker_wait)
    ip netns exec "$LAB_NS_CLI" taskset -c $APP_CPU timeout -k 5 $((SECS + 30)) \
        iperf3 -c "$LAB_SRV4" -p 5201 -B "$CLI" --cport 41000 -P 2 -M 1460 -w 2M \
        -t "$SECS" -O 2 --json -R > "$WORK/bulk-$aqm.json" 2> "$WORK/bulk-$aqm.err" &
    bulk=$!
    PIDS+=($bulk)
    # From the third second, when TCP has filled the queue, to the end.
    sleep 2
    n=$(( (SECS - 3) * 10 ))
    ip netns exec "$LAB_NS_CLI" taskset -c $APP_CPU \
        ping -c "$n" -i 0.1 -W 1 -I "$CLI" "$LAB_SRV4" > "$WORK/load-$aqm.ping" || true
    wait "$bulk" || fail "iperf3 failed: $(cat "$WORK/bulk-$aqm.err")"
    waited=$(( $(worker_wait) - w0 ))

    loaded=$(median "$WORK/load-$aqm.ping")
    [ "$loaded" != none ] || fail "aqm $aqm: no ping reply under load: $(tail -n 2 "$WORK/load-$aqm.ping")"
    added=$(awk -v a="$loaded" -v b="$idle" 'BEGIN { printf "%.3f\n", a - b }')
    lost=$(awk '/packet loss/ { for (i = 1; i <= NF; i++) if ($i == "packet") { sub(/%/, "", $(i - 1)); print $(i - 1) } }' \
        "$WORK/load-$aqm.ping")
    g=$(jq -r '.end.sum_received.bits_per_second | floor' "$WORK/bulk-$aqm.json")
    r=$(ratio "$g" "$LIMIT")
    retr=$(jq -r '.end.sum_sent.retransmits // 0' "$WORK/bulk-$aqm.json")
    drops=$(user_field "$EMAIL" ".counters.down.drops")
    lc_stop

    printf 'aqm %s: ping idle: median %s ms; under load: median %s ms, %s%% lost; added %s ms (limit %s ms)\n' \
        "$aqm" "$idle" "$loaded" "$lost" "$added" "$ADDED_MS"
    printf 'aqm %s: bulk download: %s mbit, %s x the limit, %s retransmissions, shaper drops %s; worker waited %s ms for its CPU\n' \
        "$aqm" "$(mbit "$g")" "$r" "$retr" "$drops" "$waited"
    between "$r" 0.85 1.02 ||
        fail "aqm $aqm: the download ran at $r x the limit, not at it: the user was not saturated"
    between "$added" -1000 "$ADDED_MS" ||
        fail "aqm $aqm: the ping waited $added ms behind the download (more than $ADDED_MS ms)"
    between "$lost" 0 "$LOST_MAX" ||
        fail "aqm $aqm: $lost % of the pings were lost (more than $LOST_MAX %)"
}

run pie
run none
echo "latency: ok"
