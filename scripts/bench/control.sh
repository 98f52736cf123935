# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The control section of scripts/bench.sh, sourced by it: assignments and
# linecap-xray lines per second (scripts/bench/assign.sh and xray.sh), and
# `user set` batches.

control_section() {
    local aj xo
    say "[control] assign.sh $ASSIGN_N"
    BUILD_DIR=$B BENCH_JSON=$W/assign.json "$ROOT/scripts/bench/assign.sh" "$ASSIGN_N" \
        > "$W/assign.out" 2>&1 || { cat "$W/assign.out" >&2; return 1; }
    aj=$(cat "$W/assign.json")
    put .control.assign "$aj"
    say "[control] xray.sh $XRAY_LINES"
    "$ROOT/scripts/bench/xray.sh" "$B" "$XRAY_LINES" > "$W/xray.out" 2>&1 ||
        { cat "$W/xray.out" >&2; return 1; }
    xo=$(jq -nc \
        --arg parse "$(sed -n 's/^parse: .* \([0-9]*\) lines\/s$/\1/p' "$W/xray.out")" \
        --arg pipe "$(sed -n 's/^pipeline .* \([0-9]*\) lines\/s.*/\1/p' "$W/xray.out")" \
        --arg rec "$(sed -n 's/^end to end: .* \([0-9]*\) assignments\/s (to the Python.*/\1/p' "$W/xray.out")" \
        --arg lc "$(sed -n 's/^end to end: .* \([0-9]*\) assignments\/s (to linecapd.*/\1/p' "$W/xray.out")" \
        --argjson lines "$XRAY_LINES" \
        '{lines: $lines, parse_lines_per_s: ($parse | tonumber? // null),
          pipeline_lines_per_s: ($pipe | tonumber? // null),
          end_to_end_recorder_per_s: ($rec | tonumber? // null),
          end_to_end_linecapd_per_s: ($lc | tonumber? // null)}')
    put .control.xray "$xo"

    # user set: a static user is saved with every change, so a batch of new
    # static users costs more per line the more users exist.
    local n sets='{}' t1 empty=$W/empty.pcap
    lc_empty_pcap "$empty"
    for n in $([ "$QUICK" = 1 ] && echo 500 || echo 1000 4000); do
        say "[control] user set, $n new static users in one batch"
        bench_conf "$W/lc.conf" "--no-huge -m 1024 --vdev=net_pcap0,rx_pcap=$empty,tx_pcap=$W/o0.pcap
            --vdev=net_pcap1,rx_pcap=$empty,tx_pcap=$W/o1.pcap" "[wire]" "mbufs = 4096" \
            "[flows]" "capacity = 65536" "[users]" "capacity = 16384" "state_file = $W/users.conf"
        bench_start "$W/lc.conf"
        t1=$(now)
        awk -v n=$n 'BEGIN { for (u = 0; u < n; u++) printf "user set s%d@bench.example up=10mbit down=10mbit\n", u }' | batch
        sets=$(jq -c --arg n "$n" --argjson r "$(calc "$n / ($(now) - $t1)")" '.[$n] = $r' <<<"$sets")
        lc_stop
    done
    put .control.user_set_per_s "$sets"
    cp "$W/xray.out" "bench/bench-xray$SUFFIX.txt"
    cp "$W/assign.out" "bench/bench-assign$SUFFIX.txt"
}

