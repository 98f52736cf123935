# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The accuracy section of scripts/bench.sh, sourced by it: achieved / limit
# of 1 mbit to 1 gbit users, sched and police, from the output captures.

accuracy_section() {
    local engine run cin=$W/load-c.pcap sin=$W/load-s.pcap out
    "$PCAPGEN" load "$cin" "$sin" --count 20 > /dev/null
    # The output captures in memory when /dev/shm can hold them: a worker
    # that writes Gbit/s to a disk stalls in the kernel's dirty-page
    # throttling, and a stalled worker is what the measure would then show.
    out=$(mktemp -d /dev/shm/lc-bench.XXXXXX 2> /dev/null || mktemp -d "$W/acc.XXXXXX")
    BG_DIRS+=("$out")
    for engine in sched police; do
        # Two runs: 1 and 10 mbit over ACC_LOW seconds (a 1 mbit pipe's TC
        # period is 4.7 s with 9216-byte frames allowed: the window spans two),
        # then 100 mbit and 1 gbit over ACC_HIGH (1 s periods; a shorter run
        # keeps the output captures small). The addresses of the load not
        # measured go to a 1 mbit sink.
        for run in low high; do
            say "[accuracy] $engine, $([ $run = low ] && echo '1 and 10 mbit' || echo '100 mbit and 1 gbit')"
            local up=$out/up.pcap down=$out/down.pcap secs
            bench_conf "$W/lc.conf" "--no-huge -m 1024 --vdev=net_pcap0,rx_pcap=$cin,tx_pcap=$down,infinite_rx=1
                --vdev=net_pcap1,rx_pcap=$sin,tx_pcap=$up,infinite_rx=1" \
                "[wire]" "mbufs = 16384" "autostart = no" "[flows]" "capacity = 65536" \
                "[users]" "capacity = 1024" "state_file = $W/users.conf" \
                "[shaper]" "port_rate = 10gbit" "engine = $engine"
            bench_start "$W/lc.conf"
            if [ $run = low ]; then
                secs=$ACC_LOW
                batch <<EOF
user set r1@acc up=1mbit down=1mbit
user set r10@acc up=10mbit down=10mbit
user set sink@acc up=1mbit down=1mbit
assign r1@acc 10.1.0.1
assign r10@acc 10.1.0.2
assign sink@acc 10.1.0.3
assign sink@acc 10.1.0.4
assign sink@acc 2001:db8:1::9
assign sink@acc 2001:db8:1::a
assign sink@acc 10.1.0.5
assign sink@acc 10.1.0.6
assign sink@acc 10.1.0.7
assign sink@acc 10.1.0.8
assign sink@acc 10.9.0.1
EOF
            else
                secs=$ACC_HIGH
                batch <<EOF
user set r100@acc up=100mbit down=100mbit
user set r1000@acc up=1gbit down=1gbit
user set sink@acc up=1mbit down=1mbit
assign r100@acc 10.1.0.3
assign r100@acc 10.1.0.4
assign r100@acc 2001:db8:1::9
assign r100@acc 2001:db8:1::a
assign r1000@acc 10.1.0.5
assign r1000@acc 10.1.0.6
assign r1000@acc 10.1.0.7
assign r1000@acc 10.1.0.8
assign sink@acc 10.1.0.1
assign sink@acc 10.1.0.2
assign sink@acc 10.9.0.1
EOF
            fi
            local ts tstop elapsed users
            ts=$(now)
            lc_ctl start > /dev/null
            sleep "$secs"
            tstop=$(now)
            lc_ctl stop > /dev/null
            elapsed=$(calc "$(now) - $ts")
            users=$(for u in r1 r10 r100 r1000; do lc_ctl user get $u@acc 2> /dev/null | jq -c '.user // empty' || true; done | jq -sc .)
            lc_stop
            local fu fd eu ed ju jd j1u j1d
            fu=$("$PCAPRATE" "$up" src 0 0 | jq -r .first)
            fd=$("$PCAPRATE" "$down" dst 0 0 | jq -r .first)
            eu=$(calc "$tstop - $fu - 0.05")
            ed=$(calc "$tstop - $fd - 0.05")
            # Steady windows, as in tests/replay/test_shaper.sh: from 0.5 s
            # (0.2 s for 1 mbit: 125 frames a second) to just before stop.
            ju=$("$PCAPRATE" "$up" src 0.5 "$eu")
            jd=$("$PCAPRATE" "$down" dst 0.5 "$ed")
            j1u=$("$PCAPRATE" "$up" src 0.2 "$eu")
            j1d=$("$PCAPRATE" "$down" dst 0.2 "$ed")
            merge ".accuracy.$engine" "$(jq -nc --argjson ju "$ju" --argjson jd "$jd" \
                --argjson j1u "$j1u" --argjson j1d "$j1d" --argjson users "$users" \
                --argjson secs "$elapsed" --argjson eu "$eu" '
                [["1mbit", ["10.1.0.1"], 1e6, "r1@acc"], ["10mbit", ["10.1.0.2"], 1e7, "r10@acc"],
                 ["100mbit", ["10.1.0.3", "10.1.0.4", "2001:db8:1::9", "2001:db8:1::a"], 1e8, "r100@acc"],
                 ["1gbit", ["10.1.0.5", "10.1.0.6", "10.1.0.7", "10.1.0.8"], 1e9, "r1000@acc"]]
                | map(. as [$name, $addrs, $lim, $e] |
                    ([$users[] | select(.email == $e)] | first) as $u | select($u != null) |
                    (if $lim == 1e6 then [$j1u, $j1d, 0.2] else [$ju, $jd, 0.5] end) as [$u_, $d_, $from] |
                    {key: $name, value: {
                        limit_bps: $lim,
                        up: ([$addrs[] as $a | $u_.addrs[$a].bps // 0] | add / $lim),
                        down: ([$addrs[] as $a | $d_.addrs[$a].bps // 0] | add / $lim),
                        offered_up: ($u.counters.up.bytes * 8 / $secs / $lim),
                        offered_down: ($u.counters.down.bytes * 8 / $secs / $lim),
                        window_s: ($eu - $from)}})
                | from_entries')"
            rm -f "$up" "$down"
        done
    done
    rm -rf "$out"
}

