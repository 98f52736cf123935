# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The memory section of scripts/bench.sh, sourced by it: VmRSS, VmHWM and
# EAL heap of linecapd at start and under load; bytes per flow and user.

memory_section() {
    local t=64 mb eal
    [ -f "$W/c-64.pcap" ] || gen_traffic
    mb=$((2 * FLOWS + 65536))
    eal="--no-huge -m 3072 --vdev=net_pcap0,rx_pcap=$W/c-$t.pcap,infinite_rx=1
         --vdev=net_pcap1,rx_pcap=$W/s-$t.pcap,infinite_rx=1"
    # mem_now: {rss, hwm, heap} of the running linecapd.
    mem_now() {
        jq -nc --argjson r "$(vm "$LC_PID" VmRSS)" --argjson h "$(vm "$LC_PID" VmHWM)" \
            --argjson a "$(heap_alloc)" '{rss: $r, hwm: $h, heap: $a}'
    }
    # mem_start FLOWS USERS: start linecapd; MEM is its memory at start.
    mem_start() {
        bench_conf "$W/lc.conf" "$eal" "[wire]" "mtu = 1518" "mbufs = $mb" "autostart = no" \
            "[flows]" "capacity = $1" "[users]" "capacity = $2" "state_file = $W/users.conf" \
            "[shaper]" "port_rate = 100gbit"
        bench_start "$W/lc.conf"
        MEM=$(mem_now)
    }
    say "[memory] at start: flows 262144 / 1048576, users 16384 / 65536"
    local small bigf bigu full
    if [ "$QUICK" = 0 ]; then
        mem_start 262144 16384; small=$MEM; lc_stop
        mem_start 1048576 16384; bigf=$MEM; lc_stop
        mem_start 262144 65536; bigu=$MEM; lc_stop
    fi
    mem_start 1048576 65536; full=$MEM
    if [ "$QUICK" = 1 ]; then
        small=$full bigf=$full bigu=$full
    fi
    users_lines assign | batch
    local after_assign samples=() i
    after_assign=$(mem_now)
    lc_ctl start > /dev/null
    say "[memory] $LOAD_SECS s under the $FLOWS-flow load"
    for i in $(seq 5 5 "$LOAD_SECS"); do
        sleep 5
        samples+=("$(jq -c --argjson t "$i" --argjson f "$(lc_ctl stats | jq .flows.active)" \
            '. + {t: $t, flows: $f}' <<<"$(mem_now)")")
    done
    lc_stop
    put .memory "$(jq -nc --argjson s "$small" --argjson bf "$bigf" --argjson bu "$bigu" \
        --argjson full "$full" --argjson aa "$after_assign" \
        --argjson load "$(printf '%s\n' "${samples[@]}" | jq -sc .)" --argjson mb $mb '{
        mbufs: $mb,
        start: {"flows262144_users16384": $s, "flows1048576_users16384": $bf,
                "flows262144_users65536": $bu, "flows1048576_users65536": $full},
        after_assign: $aa, under_load: $load,
        bytes_per_flow_heap: (($bf.heap - $s.heap) / (1048576 - 262144)),
        bytes_per_flow_rss: (($bf.rss - $s.rss) / (1048576 - 262144)),
        bytes_per_user_heap: (($bu.heap - $s.heap) / (65536 - 16384)),
        bytes_per_user_rss: (($bu.rss - $s.rss) / (65536 - 16384)),
        rss_growth_under_load: ($load[-1].rss - $full.rss)}
        | if $s == $full then .start = {"flows1048576_users65536": $full}
            | .bytes_per_flow_heap = null | .bytes_per_flow_rss = null
            | .bytes_per_user_heap = null | .bytes_per_user_rss = null else . end')"
}

