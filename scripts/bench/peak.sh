# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The peak section of scripts/bench.sh, sourced by it: the shaper at peak
# hour. The 64-byte bench traffic of twice as many users as the largest S
# (ten flows each, every user the same share of frames) goes through
# linecapd with every user assigned, first with no user limited (the
# reference, which sets a first limit), then for each S in PEAK_S a
# reference again and a run with S users limited; the other users stay
# unlimited. A limited run starts at half of what each user was offered in
# the first reference, then moves the limit so that each limited user is
# offered PEAK_OFFERED (--peak-offered, default 2) times its limit in that
# run itself (peak_calibrate): a slower worker offers every user less.
# With --peak-offered 0 the limit stays at half of the first reference's.
# For each S: received Mpps and its ratio to the reference, the worker's
# cycles per frame and frames per second of its own CPU time, the limited
# users' rate against their limit (from `user list`), the frames the
# unlimited users lost, and the ratio of paired windows of a reference
# linecapd and a limited one, each started for its window, one at a time
# (peak_pairs).

# peak_users FILE S RATE: a users file of every user of the traffic, the
# first S at RATE both ways, the others without a limit.
peak_users() {
    awk -v n="$USERS" -v s="$2" -v rate="$3" -v burst="$LIMIT_BURST" 'BEGIN {
        print "linecap-users 1"
        for (u = 0; u < n; u++)
            if (u < s)
                printf "user %d u%d@bench.example up=%s down=%s burst_up=%s burst_down=%s\n",
                    u + 1, u, rate, rate, burst, burst
            else
                printf "user %d u%d@bench.example up=0 down=0 burst_up=0 burst_down=0\n", u + 1, u
        printf "end %d\n", n }' > "$1"
}

# peak_list FILE S: into FILE, {t, users, st, sample}: `user list` (every
# user's counters: [up pkts, up bytes, up drops, down pkts, down bytes,
# down drops]) at time t, and the same counters of up to 32 of the S
# limited users, evenly spaced, at time st. The sample comes from `user
# get` lines pipelined in one connection, read within milliseconds: a list
# of 20,000 users takes long enough that when each user's counters were
# read is not known to the precision a rate needs.
peak_list() {
    local t1 t2 s1 s2 n k
    n=$(($2 < 32 ? $2 : 32))
    : > "$1.sample"
    s1=$(now)
    if [ "$n" -gt 0 ]; then
        for ((k = 0; k < n; k++)); do
            echo "user get u$((k * $2 / n))@bench.example"
        done | lc_ctl - > "$1.sample"
    fi
    s2=$(now)
    t1=$(now)
    lc_ctl user list > "$1.raw"
    t2=$(now)
    jq -c --arg t "$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.6f", (a + b) / 2 }')" \
        --arg st "$(awk -v a="$s1" -v b="$s2" 'BEGIN { printf "%.6f", (a + b) / 2 }')" \
        --slurpfile sample <(jq -c '{key: .user.email, value: [.user.counters.up.packets,
            .user.counters.up.bytes, .user.counters.up.drops, .user.counters.down.packets,
            .user.counters.down.bytes, .user.counters.down.drops]} | select(.key != null)' "$1.sample") \
        '{t: ($t | tonumber), st: ($st | tonumber), sample: ($sample | from_entries),
          users: (.users | map({key: .email,
        value: [.counters.up.packets, .counters.up.bytes, .counters.up.drops,
                .counters.down.packets, .counters.down.bytes, .counters.down.drops]}) | from_entries)}' \
        "$1.raw" > "$1"
    rm -f "$1.raw" "$1.sample"
}

# peak_accuracy S RATE_BPS A B: the sampled limited users' achieved rate /
# RATE (each user's frames of one direction have one length, so the bytes
# sent are (packets - drops) x bytes / packets), their spread and what they
# were offered, and the drops of the unlimited users and of the limited
# ones, between the lists in files A and B.
peak_accuracy() {
    jq -nc --argjson s "$1" --argjson rate "$2" --slurpfile a "$3" --slurpfile b "$4" '
        $a[0] as $a | $b[0] as $b | ($b.st - $a.st) as $dt |
        def rates($v; $w; $dt): [0, 3] | map(. as $o | ($v[$o] - $w[$o]) as $p |
            ($v[$o + 2] - $w[$o + 2]) as $d |
            {sent_bps: (if $p > 0 then ($p - $d) * (($v[$o + 1] - $w[$o + 1]) / $p) * 8 / $dt else 0 end),
             offered_bps: (($v[$o + 1] - $w[$o + 1]) * 8 / $dt), drops: $d})[];
        [$b.sample | to_entries[] | . as $e | rates($e.value; $a.sample[$e.key] // [0,0,0,0,0,0]; $dt)] as $r |
        ([$r[] | .sent_bps / $rate]) as $acc |
        [$b.users | to_entries[] | .key as $e | .value as $v | ($a.users[$e] // [0,0,0,0,0,0]) as $w |
         ($e | capture("^u(?<i>[0-9]+)@") .i | tonumber) as $i |
         {limited: ($i < $s), drops: (($v[2] - $w[2]) + ($v[5] - $w[5]))}] as $all |
        {window_s: $dt, sampled: ($b.sample | length),
         accuracy: (if ($acc | length) > 0 then ($acc | add / length) else null end),
         accuracy_min: ($acc | min), accuracy_max: ($acc | max),
         offered_x: (if ($r | length) > 0 then ([$r[] | .offered_bps] | add / length / $rate) else null end),
         unlimited_drops: ([$all[] | select(.limited | not) | .drops] | add // 0),
         limited_drops: ([$all[] | select(.limited) | .drops] | add // 0)}'
}

# peak_cpu: the worker thread's CPU time and wait for a CPU, in ns (the
# kernel's schedstat), and the frames received so far: "RUN WAIT RX".
peak_cpu() {
    local rx
    rx=$(lc_ctl stats | jq '.ports.client.rx_packets + .ports.server.rx_packets')
    echo "$(lc_worker_schedstat) $rx"
}

# peak_per_s COUNTER SECONDS: how much both ports' COUNTER (rx_packets,
# rx_bytes) grows per second over SECONDS.
peak_per_s() {
    local t0 n0 t1 n1 q=".ports.client.$1 + .ports.server.$1"
    t0=$(now); n0=$(lc_ctl stats | jq "$q")
    sleep "$2"
    t1=$(now); n1=$(lc_ctl stats | jq "$q")
    awk -v a="$n0" -v b="$n1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.6f\n", (b - a) / (t1 - t0) }'
}

# peak_offered: the bit/s each user is offered per direction now, from
# the bytes received over PEAK_CAL_S seconds (every user of the traffic
# has the same share of its frames, each way).
peak_offered() {
    awk -v r="$(peak_per_s rx_bytes "$PEAK_CAL_S")" -v u="$USERS" \
        'BEGIN { printf "%d\n", r * 8 / 2 / u }'
}

# peak_limit S RATE: the first S users limited to RATE bit/s each way,
# live.
peak_limit() {
    awk -v s="$1" -v r="$2" -v b="$LIMIT_BURST" 'BEGIN {
        for (u = 0; u < s; u++)
            printf "user set u%d@bench.example up=%dbit down=%dbit burst=%s\n", u, r, r, b }' | batch
}

# peak_calibrate S RATE: the limit (bit/s) of the S limited users that
# they are offered PEAK_OFFERED times, as the peak matrix is defined. What a
# user is offered follows what the worker receives, which the limiting
# itself slows: so the limit is set to the offer measured with the limit
# before, twice (the second step moves it by a few per cent).
peak_calibrate() {
    local s=$1 rate=$2 off k
    for k in 1 2; do
        sleep 1
        off=$(peak_offered)
        rate=$(awk -v o="$off" -v x="$PEAK_OFFERED" 'BEGIN { r = int(o / x); print (r < 8000 ? 8000 : r) }')
        peak_limit "$s" "$rate"
    done
    echo "$rate"
}

# peak_window: Mpps received over PEAK_PAIR_S seconds.
peak_window() {
    awk -v r="$(peak_per_s rx_packets "$PEAK_PAIR_S")" 'BEGIN { printf "%.6f\n", r / 1e6 }'
}

# peak_pair_start NAME S RATE BIN: a linecapd of its own (BIN, the same
# config and traffic as the limited run) on LC_SOCK, with its own state
# file, EAL prefix and pid file (for bench.sh's cleanup: this runs in a
# subshell of the driver), the first S users limited to RATE; LC_PID is
# its pid.
peak_pair_start() {
    local name=$1 s=$2 rate=$3 bin=$4
    sed -e "s|^socket = .*|socket = $LC_SOCK|" \
        -e "s|^state_file = .*|state_file = $W/users-$name.conf|" \
        -e "s|--file-prefix=$PREFIX-lc|--file-prefix=$PREFIX-$name|" "$W/peak.conf" > "$W/peak-$name.conf"
    peak_users "$W/users-$name.conf" "$s" "$rate"
    rm -f "$LC_SOCK"
    LINECAPD=$bin lc_start "$W/peak-$name.conf"
    echo "$LC_PID" > "$W/peak-$name.pid"
    users_lines assign | batch
    lc_ctl start > /dev/null
}

# peak_pairs S RATE: PEAK_PAIRS pairs of windows, each a window of a
# reference linecapd and then one of a limited linecapd (this build, S
# users limited to RATE), after the limited run has stopped. Each window
# is a linecapd of its own, started for it, run PEAK_PAIR_WARM_S seconds
# and stopped before the next starts: one linecapd at a time, as in
# service (a second one beside it, even stopped, slows a limited linecapd
# and not one with none limited: docs/SHAPING.md), and the two windows of
# a pair are seconds apart, where the separate reference run is a minute
# away: the host's drift, which moves a run by more than the differences
# looked for, touches both alike. The reference has no user limited, or
# with PEAK_AB_BIN (--peak-ab) is that build with the same S users
# limited: the ratio is then this build's against it. The median pair's
# ratio, limited over reference.
peak_pairs() {
    local s=$1 rate=$2 k a b out=() ref_s=0 ref_rate=0 ref_bin=$LINECAPD
    if [ -n "$PEAK_AB_BIN" ]; then
        ref_s=$s ref_rate=$rate ref_bin=$PEAK_AB_BIN
    fi
    for ((k = 0; k < PEAK_PAIRS; k++)); do
        a=$(peak_pair_window ref "$ref_s" "$ref_rate" "$ref_bin")
        b=$(peak_pair_window lim "$s" "$rate" "$LINECAPD")
        out+=("$(jq -nc --argjson a "$a" --argjson b "$b" '{ref_mpps: $a, mpps: $b, x: ($b / $a)}')")
    done
    printf '%s\n' "${out[@]}" | jq -sc --arg ab "$PEAK_AB_BIN" \
        '{pairs: ., x_pair: (map(.x) | sort | .[length / 2 | floor]), pair_ref: (if $ab == "" then "none limited" else $ab end)}'
}

# peak_pair_window NAME S RATE BIN: Mpps of a window of a linecapd of its
# own (peak_pair_start), PEAK_PAIR_WARM_S seconds after its start.
peak_pair_window() {
    local w
    # shellcheck disable=SC2034  # LC_LOG is lc_start's
    LC_SOCK=$W/lc-$1.sock LC_LOG=$W/linecapd-$1.log peak_pair_start "$@" >&2
    sleep "$PEAK_PAIR_WARM_S"
    w=$(LC_SOCK=$W/lc-$1.sock peak_window)
    lc_stop >&2
    rm -f "$W/peak-$1.pid"
    echo "$w"
}

# peak_run NAME S RATE: one configuration, merged into .peak.runs.NAME.
# With PEAK_OFFERED (not 0) a limited run first moves its limit from RATE
# to what makes the offer PEAK_OFFERED times it (peak_calibrate).
peak_run() {
    local name=$1 s=$2 rate=$3 m acc c0 c1 sh pairs bps
    peak_users "$W/peak-users.conf" "$s" "$rate"
    bench_start "$W/peak.conf" "$W/peak-users.conf"
    users_lines assign | batch
    lc_ctl start > /dev/null
    if [ "$s" -gt 0 ] && [ "$PEAK_OFFERED" != 0 ]; then
        rate=$(peak_calibrate "$s" "${rate%bit}")bit
    fi
    m=$(measure)
    perf_worker "peak-$name"
    c0=$(peak_cpu)
    peak_list "$W/peak-a.json" "$s"
    sleep "$PEAK_ACC_S"
    peak_list "$W/peak-b.json" "$s"
    c1=$(peak_cpu)
    bps=$(awk -v r="$rate" 'BEGIN { print r + 0 }')
    acc=$(peak_accuracy "$s" "$bps" "$W/peak-a.json" "$W/peak-b.json")
    # Frames per second of the worker's own CPU time, and the share of the
    # window it waited for a CPU: figures that others' load touches less.
    acc=$(jq -c --arg c0 "$c0" --arg c1 "$c1" '($c0 | split(" ") | map(tonumber)) as $a |
        ($c1 | split(" ") | map(tonumber)) as $b |
        . + {mpps_per_cpu_s: (if $b[0] > $a[0] then ($b[2] - $a[2]) / (($b[0] - $a[0]) / 1e9) / 1e6 else null end),
             worker_wait_share: (($b[1] - $a[1]) / 1e9 / .window_s)}' <<<"$acc")
    # The shaper's counters since start: where the limited users' frames went.
    sh=$(lc_ctl stats | jq -c '.shaper')
    lc_stop
    pairs='{}'
    if [ "$s" -gt 0 ] && [ "$PEAK_PAIRS" -gt 0 ]; then
        pairs=$(peak_pairs "$s" "$rate")
    fi
    put ".peak.runs[\"$name\"]" "$(jq -nc --argjson m "$m" --argjson acc "$acc" \
        --argjson s "$s" --arg rate "$rate" --argjson sh "$sh" --argjson pairs "$pairs" \
        '$m + $acc + $pairs + {s: $s, rate: $rate, shaper: $sh}')"
}

peak_section() {
    local s max=0 flows mb mem ref rbps rate qsize=16 USERS
    for s in "${PEAK_S[@]}"; do [ "$s" -le "$max" ] || max=$s; done
    USERS=$((2 * max))
    flows=$((10 * USERS))
    [ -f "$W/peak-c.pcap" ] || "$PCAPGEN" bench64 "$W/peak-c.pcap" "$W/peak-s.pcap" \
        --count "$flows" > /dev/null
    # Mbufs for the replay and for every limited user's queues full.
    mb=$((2 * flows + 2 * (max + 1) * qsize + 65536))
    mem=$(((mb * 4096 + 1024 * 1024 * 1024) / 1048576))
    bench_conf "$W/peak.conf" "--no-huge -m $mem --vdev=net_pcap0,rx_pcap=$W/peak-c.pcap,infinite_rx=1
               --vdev=net_pcap1,rx_pcap=$W/peak-s.pcap,infinite_rx=1" \
        "[wire]" "mtu = 1518" "mbufs = $mb" "autostart = no" \
        "[flows]" "capacity = 1048576" "[users]" "capacity = $((USERS < 16000 ? 32768 : 65536))" \
        "state_file = $W/users.conf" "[shaper]" "port_rate = $PEAK_PORT_RATE" "queue_size = $qsize"
    say "[peak] reference: $USERS users, none limited"
    peak_run ref 0 0
    ref=$(jq -c '.peak.runs.ref' "$RES")
    # Half of what each user is offered per direction, in bit/s: the
    # reference's received bytes are both directions of USERS users.
    rbps=$(jq -r '.gbps * 1e9 / 2 / '"$USERS"' / 2 | floor' <<<"$ref")
    [ "$rbps" -ge 8000 ] || rbps=8000
    rate=${rbps}bit
    put .peak.params "$(jq -nc --argjson u "$USERS" --argjson f "$flows" --arg r "$rate" \
        --argjson q "$qsize" --argjson acc "$PEAK_ACC_S" --argjson o "$PEAK_OFFERED" \
        --argjson pp "$PEAK_PAIRS" --argjson pw "$PEAK_PAIR_S" --arg ab "$PEAK_AB_BIN" \
        '{users: $u, flows: $f, rate: $r, queue_size: $q, accuracy_window_s: $acc, offered: $o,
          pairs: $pp, pair_window_s: $pw, ab: $ab}')"
    say "  $(jq .mpps <<<"$ref") Mpps; limited users start at $rate each way"
    # Each S against a reference run just before it: the machine's speed
    # drifts by more than the differences looked for.
    for s in "${PEAK_S[@]}"; do
        [ "$s" -le "$USERS" ] || continue
        say "[peak] S = $s: reference, then $s users limited to $rate"
        peak_run "ref$s" 0 0
        peak_run "s$s" "$s" "$rate"
        merge ".peak.runs.s$s" "$(jq -c --argjson r "$(jq -c ".peak.runs.ref$s" "$RES")" \
            '{x_ref: (.mpps / $r.mpps), x_ref_cpu: (.mpps_per_cpu_s / $r.mpps_per_cpu_s),
              ref_mpps: $r.mpps}' <<<"$(jq -c ".peak.runs.s$s" "$RES")")"
        say "  $(jq -r '"\(.mpps) Mpps (\(.x_ref) x its reference; per CPU second \(.x_ref_cpu) x; paired windows \(.x_pair // "-") x), \(.cycles_per_frame | floor) cycles/frame, accuracy \(.accuracy), unlimited drops \(.unlimited_drops)"' \
            <<<"$(jq -c ".peak.runs.s$s" "$RES")")"
    done
}
