# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The latency section of scripts/bench.sh, sourced by it: ping RTT of a
# 10 mbit user saturated by iperf3 in the lab (scripts/lab.sh), aqm none
# and pie.

# ping_stats NS ADDR COUNT: RTTs in ms as JSON {n, min, p50, p90, max, mean}.
ping_stats() {
    ip netns exec "$1" ping -n -I 10.99.0.11 -i 0.2 -c "$3" -W 5 "$2" 2> /dev/null |
        sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | sort -g |
        awk '{ v[NR] = $1; s += $1 } END {
            if (NR == 0) { print "{\"n\": 0}"; exit }
            k = int(NR * 0.9 + 0.5); if (k < 1) k = 1
            printf "{\"n\": %d, \"min\": %.3f, \"p50\": %.3f, \"p90\": %.3f, \"max\": %.3f, \"mean\": %.3f}\n",
                NR, v[1], v[int((NR + 1) / 2)], v[k], v[NR], s / NR }'
}

latency_section() {
    local lab=$ROOT/scripts/lab.sh id=b$$ aqm
    if [ ! -x "$lab" ] && [ ! -f "$lab" ]; then
        put .latency '{"skipped": "scripts/lab.sh is missing"}'
        return 0
    fi
    id=${id:0:8}
    # A 1500-byte MTU, as on the Internet: the queue's delay is then counted
    # in frames of the size users send.
    export LAB_MTU=1500
    if ! bash "$lab" -i "$id" up > "$W/lab.log" 2>&1; then
        put .latency "$(jq -nc --arg e "$(tail -3 "$W/lab.log")" '{skipped: ("lab.sh up failed: " + $e)}')"
        return 0
    fi
    LAB_UP=$id
    eval "$(bash "$lab" -i "$id" env)"
    local out='{}'
    for aqm in none pie; do
        say "[latency] aqm $aqm"
        bench_conf "$W/lc.conf" "--no-huge -m 1024 $LAB_VDEVS" "[wire]" "mtu = ${LAB_WIRE_MTU:-1514}" \
            "mbufs = 16384" "[flows]" "capacity = 65536" "[users]" "capacity = 1024" \
            "state_file = $W/users.conf" "[shaper]" "aqm = $aqm" "port_rate = 10gbit"
        bench_start "$W/lc.conf"
        batch <<EOF
user set lat@bench up=10mbit down=10mbit
assign lat@bench 10.99.0.11
assign lat@bench fd00:99::11
EOF
        local idle
        idle=$(ping_stats "$LAB_NS_CLI" "$LAB_SRV4" 10)
        out=$(jq -c --arg a "$aqm" --argjson v "$idle" '.[$a].idle = $v' <<<"$out")
        # Loads: iperf3 TCP (Cubic, which backs off) upload and download,
        # and UDP at twice the rate upload (a sender that does not back off).
        local load
        for load in "${LAT_LOADS[@]}"; do
            local port=$((5201 + RANDOM % 500)) ip3 loaded bps args=()
            case $load in
            tcp_down) args=(-R) ;;
            udp_up) args=(-u -b 20M -l 1400) ;;
            esac
            ip netns exec "$LAB_NS_SRV" iperf3 -s -1 -B "$LAB_SRV4" -p $port > /dev/null 2>&1 &
            BG+=("$!")
            sleep 0.5
            ip netns exec "$LAB_NS_CLI" iperf3 -c "$LAB_SRV4" -B 10.99.0.11 -p $port \
                -t $((LAT_PING / 5 + 5)) "${args[@]}" -J > "$W/iperf.json" 2>&1 &
            ip3=$!
            BG+=("$ip3")
            sleep 3
            loaded=$(ping_stats "$LAB_NS_CLI" "$LAB_SRV4" "$LAT_PING")
            wait "$ip3" 2> /dev/null || true
            # TCP: what the receiver got; UDP: what the server received.
            bps=$(jq '.end.sum_received.bits_per_second // .end.sum.bits_per_second // 0' \
                "$W/iperf.json" 2> /dev/null || echo 0)
            out=$(jq -c --arg a "$aqm" --arg d "$load" --argjson v "$loaded" --argjson b "${bps:-0}" \
                --argjson sent "$LAT_PING" '.[$a][$d] = ($v + {sent: $sent, iperf3_bps: $b})' <<<"$out")
            say "  $load: idle p50 $(jq .p50 <<<"$idle") ms, loaded p50 $(jq .p50 <<<"$loaded") ms, iperf3 $(calc "${bps:-0} / 1e6") Mbit/s"
            sleep 1
        done
        out=$(jq -c --arg a "$aqm" --argjson d "$(lc_ctl user get lat@bench | jq -c '.user.counters')" \
            '.[$a].counters = $d' <<<"$out")
        lc_stop
    done
    bash "$lab" -i "$id" down > /dev/null 2>&1 || true
    # shellcheck disable=SC2034  # the driver's cleanup reads it
    LAB_UP=
    put .latency "$(jq -c '. + {method: "lab.sh (LAB_MTU 1500): veth + af_packet; one user at 10 mbit each way saturated by iperf3 (TCP Cubic up, TCP down, UDP 20 Mbit/s up); ping -i 0.2 from the same client IP (its ICMP flow is in the same user queue)"}' <<<"$out")"
}

