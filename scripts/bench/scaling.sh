# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The scaling section of scripts/bench.sh, sourced by it: received Mpps of
# the 64-byte bench traffic (both ports summed) through dpdk-testpmd io on 1
# and 2 forwarding cores and through linecapd with 1 and 2 workers
# ([wire] workers), on the same captures and vdevs in the same run; each
# figure against its own 1-core figure, and linecapd's against testpmd's at
# the same number of cores.
#
# - The ports. With 1 core each net_pcap vdev replays its whole capture, as
#   in the rate section. With N cores each has N RX queues, one rx_pcap
#   each: the client and server captures split by lc-pcapsplit by a hash of
#   the client address (the source of client frames, the destination of
#   server frames), so that both directions of a client meet on one queue
#   index. No tx_pcap: net_pcap then gives a port one TX queue per RX queue,
#   each dropping what it is given.
# - The cores. The main lcore (testpmd's prompt, linecapd's control thread)
#   on CPU 0; forwarding core or worker i of N (1-based) on CPU
#   (ncpu - N + i - 1) mod ncpu: with 1 that is CPU 1, with 2 on this
#   2-vCPU machine CPUs 0 and 1, the first beside the main lcore. 2 cores
#   are then every CPU the machine has, shared with the bench's own
#   sampling.
# - linecapd. The rate section's configuration, plus `[wire] workers = N`
#   for N > 1; wire only (state absent), then every user assigned and
#   shaping, not limiting (state present). A linecapd that does not start,
#   warns that it does not know the key, or has fewer than N worker threads
#   busy is noted in results.json (.scaling.skipped) and its rows are left
#   empty.
#
# results.json: .scaling.rows.{testpmd,wire,shaping}["N"], each with mpps,
# x_1 (against the row's N = 1) and x_testpmd (against testpmd at N), and
# for linecapd the workers' busy cycles per received frame, the shares of
# frames handed to another worker and lost to a full handoff ring, and each
# worker's share of the frames;
# .scaling.split["N"]: the client frames of each queue; .scaling.cpu: the
# load average and the share of CPU time the hypervisor took (steal) over
# the section.

SCALE_CORES=(1 2)

# scale_cores N: the EAL's --lcores for the main lcore and N more.
scale_cores() {
    local n=$1 ncpu i m=0@0
    ncpu=$(nproc)
    for ((i = 1; i <= n; i++)); do
        m+=",$i@$(((ncpu * n + ncpu - n + i - 1) % ncpu))"
    done
    echo "--lcores $m"
}

# scale_vdevs T N: the two ports' --vdev options, N rx_pcap each.
scale_vdevs() {
    local t=$1 n=$2 p side q v
    for p in 0 1; do
        side=$([ "$p" = 0 ] && echo c || echo s)
        v=--vdev=net_pcap$p
        if [ "$n" = 1 ]; then
            v+=",rx_pcap=$W/$side-$t.pcap"
        else
            for ((q = 0; q < n; q++)); do v+=",rx_pcap=$W/$side-$t-q$n-$q.pcap"; done
        fi
        echo "$v,infinite_rx=1"
    done
}

# scale_cpu: "TOTAL STEAL", the jiffies of every CPU and those stolen.
scale_cpu() {
    awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $9 }' /proc/stat
}

# scale_sample: the rate section's stats_sample() of what scale_measure() reads. The workers'
# busy cycles: .worker's (the sum over the workers), or the sum of .workers[]
# when there is no .worker; from .workers[], the frames each received and
# those handed to another worker.
scale_sample() {
    stats_sample 'rx: (.ports.client.rx_packets + .ports.server.rx_packets),
        busy: (.worker.busy_cycles // ([.workers[]?.busy_cycles // empty] | add)),
        dropped: ([.ports.client.drops, .ports.server.drops | (.shaper // 0) + (.police // 0)] | add),
        txfull: ([.ports.client.drops, .ports.server.drops | .tx_full // 0] | add),
        nombuf: ([.ports.client.drops, .ports.server.drops | .rx_nombuf // 0] | add),
        handed: ([.workers[]?.handed_off // 0] | add // 0),
        hfull: ([.workers[]?.handoff_full // 0] | add // 0),
        wrx: [.workers[]?.rx_packets]'
}

# scale_measure: the rate section's windows() of scale_sample().
scale_measure() {
    # shellcheck disable=SC2016  # a jq program
    windows scale_sample '($b.t - $a.t) as $dt | ($b.rx - $a.rx) as $n |
            {mpps: ($n / $dt / 1e6),
             cycles_per_frame: (if $n > 0 and $a.busy != null and $b.busy != null
                                then ($b.busy - $a.busy) / $n else null end),
             dropped_share: (if $n > 0 then ($b.dropped - $a.dropped) / $n else 0 end),
             tx_full: ($b.txfull - $a.txfull), rx_nombuf: ($b.nombuf - $a.nombuf),
             handed_off_share: (if $n > 0 then ($b.handed - $a.handed) / $n else 0 end),
             handoff_full: ($b.hfull - $a.hfull),
             handoff_full_share: (if $n > 0 then ($b.hfull - $a.hfull) / $n else 0 end),
             worker_rx_share: (if $n > 0 and ($b.wrx | length) == ($a.wrx | length)
                               then [range($b.wrx | length) as $i | ($b.wrx[$i] - $a.wrx[$i]) / $n]
                               else null end),
             window_s: $dt}'
}

# scale_busy_workers: how many of linecapd's worker lcore threads used
# more than 40 % of a CPU over half a second (the kernel's utime + stime).
# EAL starts a thread for every lcore given, used or not; an unused one
# sleeps.
scale_busy_workers() {
    local a b
    a=$(scale_worker_ticks)
    sleep 0.5
    b=$(scale_worker_ticks)
    awk -v hz="$(getconf CLK_TCK)" 'NR == FNR { t[$1] = $2; next }
        ($1 in t) && $2 - t[$1] > 0.2 * hz { n++ } END { print n + 0 }' \
        <(echo "$a") <(echo "$b")
}
scale_worker_ticks() {
    local t
    for t in /proc/"$LC_PID"/task/*; do
        grep -Eq '^(rte|lcore)-worker' "$t/comm" 2> /dev/null || continue
        awk -v t="${t##*/}" '{ sub(/.*\) /, ""); print t, $12 + $13 }' "$t/stat" 2> /dev/null
    done
}

# scale_lc_failed MESSAGE: LC_FAIL while the section starts linecapd: the
# reason in SCALE_WHY, the run goes on.
SCALE_WHY=
scale_lc_failed() {
    SCALE_WHY="$1: $(grep -v '^ *$' "$LC_LOG" | tail -1)"
}

# scale_linecapd N: linecapd with N workers, wire only and shaping; false,
# the reason in SCALE_WHY, when it does not start.
scale_linecapd() {
    local n=$1 m ucap=16384 mb mem busy
    local -a workers=()
    [ $((USERS * 9 / 5)) -lt 16000 ] || ucap=32768
    mb=$((2 * FLOWS + 2 * (USERS + 1) * QSIZE + 65536))
    mem=$(((mb * 4096 + 1024 * 1024 * 1024) / 1048576))
    [ "$n" = 1 ] || workers=("workers = $n")
    BENCH_CORES=$(scale_cores "$n") bench_conf "$W/scale.conf" \
        "--no-huge -m $mem $(scale_vdevs 64 "$n")" \
        "[wire]" "mtu = 1518" "mbufs = $mb" "autostart = no" "${workers[@]}" \
        "[flows]" "capacity = 1048576" "[users]" "capacity = $ucap" \
        "state_file = $W/users.conf" "[shaper]" "port_rate = 10gbit" "queue_size = $QSIZE"
    SCALE_WHY=
    LC_FAIL=scale_lc_failed bench_start "$W/scale.conf" || true
    # linecapd ignores a key it does not know, with a warning.
    if [ -z "$SCALE_WHY" ] && grep -q 'workers: unknown key' "$LC_LOG"; then
        SCALE_WHY="linecapd does not know [wire] workers"
    fi
    if [ -n "$SCALE_WHY" ]; then
        lc_stop
        return 1
    fi
    lc_ctl state absent > /dev/null
    lc_ctl start > /dev/null
    m=$(scale_measure)
    busy=$(scale_busy_workers)
    if [ "$busy" -lt "$n" ]; then
        SCALE_WHY="$busy of $n worker threads busy"
        lc_stop
        return 1
    fi
    put ".scaling.rows.wire[\"$n\"]" "$m"
    say "  wire only (state absent): $(jq .mpps <<<"$m") Mpps"
    lc_ctl state disabled > /dev/null
    users_lines assign | batch
    lc_ctl state present > /dev/null
    m=$(scale_measure)
    put ".scaling.rows.shaping[\"$n\"]" "$m"
    say "  shaping, not limiting: $(jq .mpps <<<"$m") Mpps"
    lc_stop
}

scaling_section() {
    local n c0 c1
    c0=$(scale_cpu)
    put .scaling.cpu.loadavg_start "$(cut -d' ' -f1 /proc/loadavg)"
    [ -f "$W/c-64.pcap" ] || "$PCAPGEN" bench64 "$W/c-64.pcap" "$W/s-64.pcap" \
        --count "$FLOWS" > /dev/null
    for n in "${SCALE_CORES[@]}"; do
        [ "$n" -gt 1 ] || continue
        [ -f "$W/c-64-q$n-0.pcap" ] && continue
        put ".scaling.split[\"$n\"]" "$("$PCAPSPLIT" "$W/c-64.pcap" src "$n" "$W/c-64-q$n" | jq -c .frames)"
        "$PCAPSPLIT" "$W/s-64.pcap" dst "$n" "$W/s-64-q$n" > /dev/null
    done
    for n in "${SCALE_CORES[@]}"; do
        say "[scaling] testpmd io, $n forwarding core(s) ($(scale_cores "$n"))"
        testpmd_run "$(scale_cores "$n")" "$n" "$(scale_vdevs 64 "$n")"
        put ".scaling.rows.testpmd[\"$n\"]" "{\"mpps\": ${TP_MPPS:-null}}"
        say "  $TP_MPPS Mpps"
    done
    for n in "${SCALE_CORES[@]}"; do
        say "[scaling] linecapd, $n worker(s) ($(scale_cores "$n"))"
        if ! scale_linecapd "$n"; then
            say "  skipped: $SCALE_WHY"
            put ".scaling.skipped[\"$n\"]" "$(jq -nc --arg w "$SCALE_WHY" '$w')"
        fi
    done
    c1=$(scale_cpu)
    put .scaling.cpu.loadavg_end "$(cut -d' ' -f1 /proc/loadavg)"
    put .scaling.cpu.steal_share "$(awk -v a="$c0" -v b="$c1" 'BEGIN { split(a, x, " "); split(b, y, " ")
        printf "%.4f", (y[1] > x[1]) ? (y[2] - x[2]) / (y[1] - x[1]) : 0 }')"
    # Each row against its own 1 core, and against testpmd at as many.
    jq '.scaling.rows |= (.testpmd as $tp | with_entries(.value |= (. as $row | with_entries(.key as $n |
        .value += {x_1: (if $row["1"].mpps then .value.mpps / $row["1"].mpps else null end),
                   x_testpmd: (if $tp[$n].mpps then .value.mpps / $tp[$n].mpps else null end)}))))' \
        "$RES" > "$RES.n" && mv "$RES.n" "$RES"
    put .scaling.params "$(jq -nc --argjson f "$FLOWS" --argjson u "$USERS" --argjson q "$QSIZE" \
        --argjson w "$WINDOW" --argjson wu "$WARM" --argjson nw "$NWIN" --argjson ncpu "$(nproc)" \
        --arg c1 "$(scale_cores 1)" --arg c2 "$(scale_cores 2)" \
        '{traffic: "64", flows: $f, users: $u, queue_size: $q, window_s: $w, windows: $nw,
          warmup_s: $wu, cpus: $ncpu, lcores: {"1": $c1, "2": $c2}}')"
}
