# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The rate section of scripts/bench.sh, sourced by it: Mpps of the bench
# traffic through dpdk-testpmd io (the baseline) and through linecapd in six
# configurations, and the worker's cycles per frame.

gen_traffic() {
    local t
    for t in "${TRAFFIC[@]}"; do
        [ -f "$W/c-$t.pcap" ] && continue
        "$PCAPGEN" "$([ "$t" = 64 ] && echo bench64 || echo benchimix)" \
            "$W/c-$t.pcap" "$W/s-$t.pcap" --count "$FLOWS" > /dev/null
    done
}

# testpmd_mpps T: io forwarding on one core; sets TP_MPPS, both ports together.
testpmd_mpps() {
    testpmd_run "-l 0,1" 1 "--vdev=net_pcap0,rx_pcap=$W/c-$1.pcap,infinite_rx=1
        --vdev=net_pcap1,rx_pcap=$W/s-$1.pcap,infinite_rx=1"
}

# testpmd_run CORES N VDEVS: io forwarding on N forwarding cores, with N RX
# and N TX queues a port, the EAL's core options CORES (-l or --lcores: the
# main lcore and N more) and the vdev options VDEVS (words); sets TP_MPPS,
# both ports together.
testpmd_run() {
    local fifo=$W/tp.fifo log=$W/testpmd.log pid
    rm -f "$fifo"
    mkfifo "$fifo"
    # shellcheck disable=SC2086 # CORES and VDEVS are lists of words
    dpdk-testpmd $1 --no-huge -m 2048 --no-pci --file-prefix="$PREFIX-tp" \
        --log-level=warning $3 -- \
        -i --forward-mode=io --nb-cores="$2" --rxq="$2" --txq="$2" \
        --total-num-mbufs=$((2 * FLOWS + 65536)) \
        --auto-start < "$fifo" > "$log" 2>&1 &
    pid=$!
    BG+=("$pid")
    exec 4> "$fifo"
    for _ in $(seq 600); do
        grep -q 'io packet forwarding' "$log" 2> /dev/null && break
        kill -0 "$pid" 2> /dev/null || { cat "$log" >&2; exit 1; }
        sleep 0.1
    done
    sleep "$WARM"
    echo "show port stats all" >&4
    for _ in $(seq "$NWIN"); do
        sleep "$WINDOW"
        echo "show port stats all" >&4
    done
    sleep 0.5
    echo "quit" >&4
    exec 4>&-
    wait "$pid" 2> /dev/null || true
    BG=()
    # Every show after the first: Rx-pps of each port since the previous
    # show (testpmd's TSC); the median window of the two ports' sum.
    TP_MPPS=$(grep 'Rx-pps:' "$log" | tail -n $((2 * NWIN)) |
        awk '{ s += $2 } NR % 2 == 0 { print s / 1e6; s = 0 }' | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.4f", v[int(NR / 2) + 1] }')
}

# stats_sample FIELDS: one stats reply with the wall time of the read, as
# the JSON object {t, FIELDS} (FIELDS: jq object entries on the reply).
stats_sample() {
    local t1 s t2
    t1=$(now)
    s=$(lc_ctl stats)
    t2=$(now)
    jq -c --arg t "$(awk "BEGIN { printf \"%.6f\", ($t1 + $t2) / 2 }")" \
        "{t: (\$t | tonumber), $1}" <<<"$s"
}

# sample: stats_sample of what measure() reads.
sample() {
    stats_sample 'rx: (.ports.client.rx_packets + .ports.server.rx_packets),
        rxb: (.ports.client.rx_bytes + .ports.server.rx_bytes),
        busy: .worker.busy_cycles, pkts: .worker.packets, hz: .worker.tsc_hz,
        shaper: (.ports.client.drops.shaper + .ports.server.drops.shaper),
        police: (.ports.client.drops.police + .ports.server.drops.police),
        txfull: (.ports.client.drops.tx_full + .ports.server.drops.tx_full),
        nombuf: (.ports.client.drops.rx_nombuf + .ports.server.drops.rx_nombuf),
        unassigned: (.unassigned.up.packets + .unassigned.down.packets),
        flows: .flows.active, queued: (.shaper.up.queued + .shaper.down.queued)'
}

# windows SAMPLE JQ: NWIN consecutive steady windows after the warm-up,
# each the jq program JQ of two samples ($a, $b) of the function SAMPLE;
# prints the window of median .mpps as JSON, with the lowest and highest.
windows() {
    local sample_fn=$1 prog=$2 a b w=()
    sleep "$WARM"
    a=$($sample_fn)
    for _ in $(seq "$NWIN"); do
        sleep "$WINDOW"
        b=$($sample_fn)
        w+=("$(jq -nc --argjson a "$a" --argjson b "$b" "$prog")")
        a=$b
    done
    printf '%s\n' "${w[@]}" | jq -sc 'sort_by(.mpps) as $s | $s[($s | length) / 2 | floor] +
        {mpps_min: $s[0].mpps, mpps_max: $s[-1].mpps, windows: ($s | length)}'
}

# measure: the windows of sample().
measure() {
    # shellcheck disable=SC2016  # a jq program
    windows sample '($b.t - $a.t) as $dt | ($b.rx - $a.rx) as $n |
            {mpps: ($n / $dt / 1e6), gbps: (($b.rxb - $a.rxb) * 8 / $dt / 1e9),
             cycles_per_frame: (if $n > 0 then ($b.busy - $a.busy) / $n else null end),
             worker_cycles_per_packet: (if $b.pkts > $a.pkts then ($b.busy - $a.busy) / ($b.pkts - $a.pkts) else null end),
             busy_share: (($b.busy - $a.busy) / ($dt * $b.hz)),
             dropped_share: (if $n > 0 then (($b.shaper - $a.shaper) + ($b.police - $a.police)) / $n else 0 end),
             unassigned_share: (if $n > 0 then ($b.unassigned - $a.unassigned) / $n else 0 end),
             tx_full: ($b.txfull - $a.txfull), rx_nombuf: ($b.nombuf - $a.nombuf),
             flows: $b.flows, queued: $b.queued, window_s: $dt}'
}

# perf_worker NAME: cpu-clock samples of the worker thread for 5 s (no PMU
# in this VM), written to bench/profile-NAME.txt: shares by library, then by
# symbol (DPDK's static functions have no symbol: their library is named).
perf_worker() {
    local tid
    [ "$PROFILE" = 1 ] || return 0
    tid=$(lc_worker_task)
    [ -n "$tid" ] || return 0
    tid=${tid##*/}
    perf record -q -e cpu-clock -t "$tid" -o "$W/perf.data" -- sleep 5 > /dev/null 2>&1 || return 0
    {
        echo "# worker thread, cpu-clock samples over 5 s: by library"
        perf report -q -i "$W/perf.data" --no-children --sort dso --percent-limit 0.5 2> /dev/null
        echo "# by symbol"
        perf report -q -i "$W/perf.data" --no-children --sort dso,symbol --percent-limit 0.5 2> /dev/null
    } | sed '/^$/d; s/ *- *- *$//' | head -60 > "bench/profile-$1.txt" || true
    # The samples themselves, for perf annotate.
    cp "$W/perf.data" "bench/perf-$1.data" 2> /dev/null || true
}

rate_section() {
    local t base1 base2 m
    gen_traffic
    # The users of the limiting runs, as a users file loaded at start: 10,000
    # `user set` lines would cost minutes, since linecapd saves the whole file
    # after each (see BENCHMARKS.md).
    users_file "$W/users-limited.conf" "$LIMIT" "$LIMIT_BURST"
    for t in "${TRAFFIC[@]}"; do
        # Users' capacity also sizes the IP-wide assignments: one per IPv6
        # address and one per IPv4 address of four users in five.
        local UCAP=16384
        [ $((USERS * 9 / 5)) -lt 16000 ] || UCAP=32768
        local mb=$((2 * FLOWS + 2 * (USERS + 1) * QSIZE + 65536))
        # One mbuf a 4 KiB page (--no-huge), plus 1 GiB for the rest.
        local mem=$(((mb * 4096 + 1024 * 1024 * 1024) / 1048576))
        local eal="--no-huge -m $mem --vdev=net_pcap0,rx_pcap=$W/c-$t.pcap,infinite_rx=1
                   --vdev=net_pcap1,rx_pcap=$W/s-$t.pcap,infinite_rx=1"
        # port_rate: above what one worker forwards, so that the port never
        # limits, and at most 2^21 times LIMIT (16 gbit for 8 kbit): rte_sched
        # cannot hold a smaller share of its port (docs/SHAPING.md).
        local common=("[wire]" "mtu = 1518" "mbufs = $mb" "autostart = no"
            "[flows]" "capacity = 1048576" "[users]" "capacity = $UCAP"
            "state_file = $W/users.conf" "[shaper]" "port_rate = 10gbit"
            "queue_size = $QSIZE")
        say "[rate $t] testpmd io baseline"
        testpmd_mpps "$t"
        base1=$TP_MPPS
        put ".rate[\"$t\"].baseline_before" "$base1"

        say "[rate $t] linecapd, sched"
        bench_conf "$W/lc.conf" "$eal" "${common[@]}"
        bench_start "$W/lc.conf"
        lc_ctl state absent > /dev/null
        lc_ctl start > /dev/null
        m=$(measure); put ".rate[\"$t\"].wire" "$m"
        say "  wire only (state absent): $(jq .mpps <<<"$m") Mpps"
        [ "$t" = 64 ] && perf_worker wire-absent

        lc_ctl state disabled > /dev/null
        users_lines assign | batch
        m=$(measure); put ".rate[\"$t\"].flows" "$m"
        say "  flows and assignments (state disabled): $(jq .mpps <<<"$m") Mpps"
        [ "$t" = 64 ] && perf_worker flows-disabled

        lc_ctl state present > /dev/null
        m=$(measure); put ".rate[\"$t\"].shaping" "$m"
        say "  shaping, not limiting: $(jq .mpps <<<"$m") Mpps"
        [ "$t" = 64 ] && perf_worker shaping-sched
        lc_stop

        say "[rate $t] linecapd, sched, every user limited"
        bench_start "$W/lc.conf" "$W/users-limited.conf"
        users_lines assign | batch
        lc_ctl start > /dev/null
        m=$(measure); put ".rate[\"$t\"].limiting" "$m"
        say "  shaping, limiting ($LIMIT): $(jq .mpps <<<"$m") Mpps"
        [ "$t" = 64 ] && perf_worker shaping-limiting
        lc_stop

        say "[rate $t] linecapd, police"
        bench_conf "$W/lc.conf" "$eal" "${common[@]}" "[shaper]" "engine = police"
        bench_start "$W/lc.conf"
        users_lines assign | batch
        lc_ctl start > /dev/null
        m=$(measure); put ".rate[\"$t\"].police" "$m"
        say "  police, not limiting: $(jq .mpps <<<"$m") Mpps"
        [ "$t" = 64 ] && perf_worker police
        lc_stop

        if [ "$QUICK" = 0 ]; then
            say "[rate $t] linecapd, police, every user limited"
            bench_start "$W/lc.conf" "$W/users-limited.conf"
            users_lines assign | batch
            lc_ctl start > /dev/null
            m=$(measure); put ".rate[\"$t\"].police_limiting" "$m"
            say "  police, limiting ($LIMIT): $(jq .mpps <<<"$m") Mpps"
            lc_stop
        fi

        base2=$base1
        if [ "$QUICK" = 0 ]; then
            say "[rate $t] testpmd io baseline, again"
            testpmd_mpps "$t"
            base2=$TP_MPPS
        fi
        put ".rate[\"$t\"].baseline_after" "$base2"
        put ".rate[\"$t\"].baseline" "$(calc "($base1 + $base2) / 2")"
    done
    put .rate_params "$(jq -nc --argjson f "$FLOWS" --argjson u "$USERS" --arg l "$LIMIT burst=$LIMIT_BURST" \
        --argjson q "$QSIZE" --argjson w "$WINDOW" --argjson wu "$WARM" --argjson nw "$NWIN" \
        '{flows: $f, users: $u, limit: $l, queue_size: $q, window_s: $w, windows: $nw, warmup_s: $wu}')"
}

