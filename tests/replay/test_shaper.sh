#!/usr/bin/env bash
# Replay tests of per-user shaping. linecapd replays the load of
# lc-pcapgen (11 client addresses, 4 UDP flows each, frames in turn) in a
# loop as fast as it can (net_pcap infinite_rx), so that every user is
# offered far more than its limit; net_pcap stamps each frame it transmits,
# and lc-pcaprate turns the output captures into a rate per client address
# over a window of the replay. Upload leaves the server port
# (server-out.pcap, client address = source), download the client port
# (client-out.pcap, client address = destination).
#   test_shaper.sh rates|fair|plans|live|police|tap|states
#
# The load: 10.1.0.1-4 and 2001:db8:1::9, ::a send 1000-byte frames,
# 10.1.0.5-8 9000-byte frames (offered several Gbit/s); 10.1.0.4 and
# 10.1.0.8 carry an 802.1Q tag; 10.9.0.1 is never assigned.
#
# Windows. lc-pcaprate counts from the capture's first frame, and gives that
# frame's absolute time: net_pcap stamps frames with the wall clock of its
# start plus the TSC, so the moment of a command (date) is placed in the
# capture. Every window ends before `stop`: frames still queued then leave
# later, and those SIGTERM flushes leave unshaped.
#
# A shared machine. The worker busy-polls one of two cores; other processes
# (other linecapd instances, fuzzers) can take that core for milliseconds at
# a time. rte_sched (DPDK 22.11) converts the TSC time since its last dequeue
# with 32-bit arithmetic and loses whole chunks of 2^24 cycles (6.5 ms at
# 2.6 GHz) of its clock over a longer gap, so every pipe then sends that much
# time less (docs/SHAPING.md). So the worker is put on the idler of CPUs 0
# and 1 and linecapd runs at nice -10 where allowed (LC_NO_RENICE=1: not).
# What is left shows in the output captures: a worker that runs transmits
# every few tens of microseconds (10.9.0.1 is unlimited in the sched cases
# for that). Like the unit tests of lib/shaper, the sched checks deduct the
# chunks lost in the window from it (printed beside each figure; none on an
# idle machine), as the least the users may then get: a limited user's
# frames wait in the pacer, whose bucket runs on the TSC and refills
# across a gap up to the pipe's burst (36 ms at 4 mbit), so that a user
# may as well get its whole limit; a rate within the tolerance of either
# passes, and none above the limit's does. A run whose worker lost more
# than 5 % of a window, or whose
# replay was too slow to offer a user 1.5 times its limit, or whose worker
# waited for a CPU more than 5 % of the run (the kernel's schedstat of the
# worker thread), measures the machine rather than linecap: it is run
# again, 3 times at most, and then the test is skipped (exit 77) saying why.
# A rate out of tolerance from a run whose worker waited more than 1 % is
# reported the same way, as a skip that says so, not as a failure.
. "$(dirname "$0")/lib.sh"

: "${LC_PCAPRATE:?}"

case_name=${1:?usage: test_shaper.sh rates|fair|weights|plans|live|police|tap|states}

CIN=$WORK/client.pcap
SIN=$WORK/server.pcap
OUT_UP=$WORK/server-out.pcap
OUT_DOWN=$WORK/client-out.pcap
ROUNDS=20
ATTEMPTS=3
MAX_LOST_PCT=5
MAX_WAIT_PCT=5
# Every client address of the load but 10.9.0.1.
ADDRS=(10.1.0.1 10.1.0.2 10.1.0.3 10.1.0.4 10.1.0.5 10.1.0.6 10.1.0.7 10.1.0.8
       2001:db8:1::9 2001:db8:1::a)

# main_lcore: of CPUs 0 and 1, the busier over 0.2 s, for the main lcore
# (the control thread, mostly asleep), so that the worker gets the idler
# one. Other linecapd instances (replay tests, benchmarks) pin their workers
# to CPU 1; a worker that shares its core runs a few ms out of two.
main_lcore() {
    local a b
    a=$(awk '/^cpu[01] / { print $5 + $6 }' /proc/stat | paste -sd' ')
    sleep 0.2
    b=$(awk '/^cpu[01] / { print $5 + $6 }' /proc/stat | paste -sd' ')
    # Idle ticks gained by each; the one that gained fewer is the busier.
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
        print (y[1] - x[1] < y[2] - x[2]) ? 0 : 1 }'
}

# write_load_conf FILE [ini lines...]: lib.sh's write_conf with the load
# replayed in a loop (infinite_rx holds the whole capture in mbufs), not
# receiving until `start`, the port rate given (net_pcap's speed is not a
# link's), and the worker on the idler of CPUs 0 and 1. Same file prefix,
# socket and state file as write_conf, so lib.sh's trap cleans up.
write_load_conf() {
    local file=$1 main
    shift
    main=$(main_lcore)
    echo "main lcore $main, worker lcore $((1 - main))"
    lc_write_conf "$file" \
        "[eal]" \
        "args = --no-huge -m 1024 --no-pci -l 0,1 --main-lcore $main --file-prefix=lc-$$ --log-level=warning" \
        "args = --vdev=net_pcap0,rx_pcap=$CIN,tx_pcap=$OUT_DOWN,infinite_rx=1" \
        "args = --vdev=net_pcap1,rx_pcap=$SIN,tx_pcap=$OUT_UP,infinite_rx=1" \
        "[wire]" "mbufs = 16384" "autostart = no" \
        "[flows]" "capacity = 65536" \
        "[users]" "capacity = 1024" "state_file = $WORK/users.conf" \
        "[mgmt]" "socket = $LC_SOCK" \
        "[shaper]" "port_rate = 10gbit" \
        "$@"
}

# lc_start_prio CONF: lib.sh's lc_start, then every thread of linecapd at
# nice -10 where that is allowed (root): on a machine shared with other
# busy processes, the worker then gets its core back within a millisecond
# or so, well under the 2^24 cycles whose loss costs rte_sched its clock
# (see the top). A busy-polling worker owns its core on an appliance.
lc_start_prio() {
    lc_start "$1"
    if [ -z "${LC_NO_RENICE:-}" ]; then
        # shellcheck disable=SC2046
        renice -n -10 -p $(ls "/proc/$LC_PID/task") > /dev/null 2>&1 ||
            echo "note: linecapd left at its nice value (renice refused)"
    fi
}

# small_load FILE src|dst: the load without its 9000-byte frames
# (10.1.0.5-8), and with one frame of 10.9.0.1 in 20 (the client address is
# the source in the client capture, src, and the destination in the server
# one, dst), in place: for the cases that need neither the jumbo addresses
# nor 10.9.0.1 at the speed of the replay. 10.9.0.1 stays unlimited: a frame
# of it every fraction of a millisecond keeps the captures' gaps telling
# (see the top). Python is there wherever meson is.
small_load() {
    python3 - "$1" "$2" <<'PY' || fail "small_load $1"
import struct, sys
data = open(sys.argv[1], "rb").read()
at = 26 if sys.argv[2] == "src" else 30   # IPv4 address in an untagged frame
e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
out, i, seen = [data[:24]], 24, 0
while i + 16 <= len(data):
    incl, orig = struct.unpack(e + "II", data[i + 8:i + 16])
    frame = data[i + 16:i + 16 + incl]
    keep = orig < 9000
    if frame[12:14] == b"\x08\x00" and frame[at:at + 4] == bytes([10, 9, 0, 1]):
        keep = seen % 20 == 0
        seen += 1
    if keep:
        out.append(data[i:i + 16 + incl])
    i += 16 + incl
open(sys.argv[1], "wb").write(b"".join(out))
PY
}

# now: the wall clock, with no process started when bash gives it.
now() {
    echo "${EPOCHREALTIME:-$(date +%s.%N)}"
}

# calc EXPR: floating-point arithmetic, 6 decimals.
calc() {
    awk "BEGIN { printf \"%.6f\", $1 }"
}

# batch LINE...: the lines as one pipelined batch (run back to back by the
# control thread); every reply must be ok. Prints the replies.
batch() {
    local r
    r=$(printf '%s\n' "$@" | lc_ctl -) || true
    [ "$(jq -s 'length' <<<"$r")" = "$#" ] || fail "batch of $# lines: replies $r"
    jq -se 'all(.ok)' <<<"$r" > /dev/null ||
        fail "batch: $(jq -c 'select(.ok | not)' <<<"$r")"
    printf '%s\n' "$r"
}

# set_users "EMAIL UP DOWN ADDR..." ...: static users (rates in mbit) and
# IP-wide assignments of their client addresses, before the first frame.
set_users() {
    local spec email up down addrs addr lines=()
    for spec in "$@"; do
        read -r email up down addrs <<<"$spec"
        lines+=("user set $email up=${up}mbit down=${down}mbit")
        for addr in $addrs; do
            lines+=("assign $email $addr")
        done
    done
    batch "${lines[@]}" > /dev/null
}

# others ADDR...: the addresses of ADDRS not given.
others() {
    local a b out=()
    for a in "${ADDRS[@]}"; do
        for b in "$@"; do
            [ "$a" = "$b" ] && continue 2
        done
        out+=("$a")
    done
    echo "${out[*]}"
}

# ctl_start / ctl_stop: start or stop receiving. T_START is taken before
# `start`, T_STOP before `stop` and T_STOPPED after its reply. CHUNK: 2^24
# TSC cycles in seconds.
ctl_start() {
    WAIT0=$(worker_wait_ns)
    T_START=$(now)
    [ "$(lc_ctl start | jq -r .receiving)" = true ] || fail "start"
    CHUNK=$(lc_stat .worker.tsc_hz | awk '{ printf "%.9f", 16777216 / $1 }')
}
ctl_stop() {
    T_STOP=$(now)
    [ "$(lc_ctl stop | jq -r .receiving)" = false ] || fail "stop"
    T_STOPPED=$(now)
    guard_cpu
}

# worker_wait_ns: nanoseconds the worker thread has spent runnable but
# waiting for a CPU (the second field of its schedstat), 0 where the kernel
# does not keep it.
worker_wait_ns() {
    lc_worker_schedstat | awk '{ print $2 }'
}

# guard_cpu: the kernel's own account of the run. A worker that waited for
# a CPU more than MAX_WAIT_PCT % of the time it was receiving did not have a
# core to itself: rte_sched lost time, and what the captures show is the
# machine, not linecap (LOADED).
guard_cpu() {
    local waited win
    waited=$(calc "($(worker_wait_ns) - $WAIT0) / 1e6")
    win=$(calc "$T_STOPPED - $T_START")
    WAIT_PCT=$(calc "$waited / ($win * 10)")
    WAITED="the worker waited $waited ms for a CPU in the $win s it received ($WAIT_PCT %)"
    echo "$WAITED"
    if awk -v p="$WAIT_PCT" -v m="$MAX_WAIT_PCT" 'BEGIN { exit p > m ? 0 : 1 }'; then
        LOADED="the worker did not have a core to itself: it waited $waited ms for a CPU in a $win s run (more than $MAX_WAIT_PCT %): this machine is too busy to measure rates"
    fi
}

# user_json EMAIL: the user object of `user get`.
user_json() {
    lc_ctl user get "$1" | jq -c .user
}

# wait_drained: until both shapers hold no frame (receiving stopped).
wait_drained() {
    local q
    for _ in $(seq 1 100); do
        q=$(lc_stat '.shaper.up.queued + .shaper.down.queued')
        [ "$q" = 0 ] && return 0
        sleep 0.05
    done
    fail "the shapers still hold $q frames 5 s after stop"
}

# whole FILE src|dst: lc-pcaprate over the whole capture.
whole() {
    "$LC_PCAPRATE" "$@" || fail "lc-pcaprate $*"
}

# measure FILE src|dst FROM TO: lc-pcaprate over [FROM, TO) with the gaps
# of the window, plus "window": TO - FROM.
measure() {
    local j
    j=$("$LC_PCAPRATE" --chunk "$CHUNK" "$@") || fail "lc-pcaprate $*"
    jq -c --argjson w "$(calc "$4 - $3")" '. + {window: $w}' <<<"$j"
}

# bps_of JSON ADDR... / frames_of JSON ADDR...: summed over the addresses.
bps_of() {
    local json=$1
    shift
    jq -n --argjson j "$json" '[$ARGS.positional[] as $a | $j.addrs[$a].bps // 0] | add' \
        --args "$@"
}
frames_of() {
    local json=$1
    shift
    jq -n --argjson j "$json" '[$ARGS.positional[] as $a | $j.addrs[$a].frames // 0] | add' \
        --args "$@"
}

# guard_lost WHAT JSON: a window whose worker lost more than MAX_LOST_PCT %
# of it to other processes makes the attempt invalid (LOADED).
guard_lost() {
    local pct
    pct=$(jq '.gaps.lost / .window * 100' <<<"$2")
    if awk -v p="$pct" -v m="$MAX_LOST_PCT" 'BEGIN { exit p > m ? 0 : 1 }'; then
        LOADED="$1: the worker was descheduled, losing $(jq '.gaps.lost * 1000' <<<"$2") ms of rte_sched time in a $(jq .window <<<"$2") s window ($pct %, more than $MAX_LOST_PCT %; longest gap $(jq '.gaps.max * 1000' <<<"$2") ms): this machine is too busy to measure rates"
    fi
}

# check_rate WHAT JSON LIMIT_BPS PCT sched|meter ADDR...: the addresses'
# rate over the window is within PCT % of the limit. With sched, where the
# worker lost 2^24-cycle chunks, the rate may be as low as the limit scaled
# by the time lost (see the top): it is then within PCT % of that or of the
# limit, or in between.
check_rate() {
    local what=$1 json=$2 limit=$3 pct=$4 kind=$5 got lost win line
    shift 5
    got=$(bps_of "$json" "$@")
    lost=$(jq .gaps.lost <<<"$json")
    win=$(jq .window <<<"$json")
    [ "$kind" = sched ] || lost=0
    if line=$(awk -v w="$what" -v g="$got" -v l="$limit" -v p="$pct" -v lost="$lost" \
                  -v win="$win" -v gl="$(jq .gaps.lost <<<"$json")" 'BEGIN {
            e = l * (1 - lost / win)
            d = (g / e - 1) * 100
            dl = (g / l - 1) * 100
            printf "%s: %.3f Mbit/s over %.3f s, limit %.3f (%+.2f%%)", w, g / 1e6, win, l / 1e6, dl
            if (lost > 0)
                printf "; %.1f ms of the clock lost: at least %.3f (%+.2f%%)", lost * 1000, e / 1e6, d
            else if (gl > 0)
                printf "; %.1f ms of gaps (not deducted)", gl * 1000
            printf "; tolerance ±%s%%", p
            exit (d >= -p && dl <= p) ? 0 : 1 }'); then
        echo "ok: $line"
    elif awk -v p="${WAIT_PCT:-0}" 'BEGIN { exit p > 1 ? 0 : 1 }'; then
        echo "SKIP: $line; but $WAITED: this machine was too busy to measure rates" >&2
        exit 77
    else
        fail "$line; $WAITED"
    fi
}

# offered WHAT USER_JSON SECONDS UP_MBIT DOWN_MBIT: the user was offered at
# least 1.5 times its limit in each direction, from its byte counters over
# the time it received (SECONDS, the longest the replay can have run, so a
# lower bound); otherwise the attempt is invalid (LOADED).
offered() {
    local what=$1 u=$2 secs=$3 dir lim got
    for dir in up down; do
        [ "$dir" = up ] && lim=$4 || lim=$5
        got=$(calc "$(jq ".counters.$dir.bytes" <<<"$u") * 8 / $secs / 1e6")
        if awk -v g="$got" -v l="$lim" 'BEGIN { exit g >= 1.5 * l ? 0 : 1 }'; then
            echo "ok: $what $dir offered $got Mbit/s >= 1.5 x its $lim mbit"
        else
            LOADED="$what $dir: offered only $got Mbit/s, under 1.5 x its limit of $lim mbit: the replay was too slow on this machine to test the limit"
            return 0
        fi
    done
}

# ctl_open / ctl_close: one linecapctl session (line-buffered) for timed
# samples: no process to start between the clock and the command.
ctl_open() {
    coproc CTL { exec stdbuf -oL "$LINECAPCTL" -s "$LC_SOCK" --json -; }
}
ctl_close() {
    local pid=$CTL_PID
    eval "exec ${CTL[1]}>&-"
    wait "$pid" || true
}

# ctl_req VAR LINE: VAR := the reply to LINE, sent through the session.
ctl_req() {
    printf '%s\n' "$2" >&"${CTL[1]}"
    read -r -t 5 "$1" <&"${CTL[0]}" || fail "no reply to $2"
}

# sample VAR EMAIL: VAR := the user object of `user get` (through the
# session), plus "t": the middle of its round trip, and "rtt": the round
# trip (the worker read the counters somewhere in it).
sample() {
    local t0 t1 reply
    t0=${EPOCHREALTIME:-$(date +%s.%N)}
    ctl_req reply "user get $2"
    t1=${EPOCHREALTIME:-$(date +%s.%N)}
    printf -v "$1" '%s' "$(jq -c --argjson t "$(calc "($t0 + $t1) / 2")" \
        --argjson r "$(calc "$t1 - $t0")" '.user + {t: $t, rtt: $r}' <<<"$reply")"
}

# delta A B: the counters of sample B less those of sample A; "t": the time
# between them, to within "err" (half of both round trips) at most.
delta() {
    jq -n -c --argjson a "$1" --argjson b "$2" '
        {t: ($b.t - $a.t), err: (($a.rtt + $b.rtt) / 2),
         counters: ($b.counters | with_entries(.key as $d | .value |= with_entries(
             .value -= $a.counters[$d][.key])))}'
}

# at_least_mbit WHAT GOT MIN [UNIT]: GOT >= MIN (UNIT: Mbit/s by default).
at_least_mbit() {
    local unit=${4:-Mbit/s}
    awk -v g="$2" -v m="$3" 'BEGIN { exit g >= m ? 0 : 1 }' || fail "$1: $2 $unit, under $3"
    echo "ok: $1: $2 $unit >= $3"
}

# attempt RUN_FN: RUN_FN starts linecapd, replays, stops it and measures; it
# sets LOADED when the machine spoiled the measurement. Up to ATTEMPTS runs.
attempt() {
    local n
    for n in $(seq 1 "$ATTEMPTS"); do
        LOADED=
        rm -f "$OUT_UP" "$OUT_DOWN" "$WORK/users.conf"
        "$1"
        [ -z "$LOADED" ] && return 0
        echo "attempt $n not valid: $LOADED" >&2
        [ "$n" -lt "$ATTEMPTS" ] && sleep 2
    done
    # Not a result about linecap either way: skipped, saying why.
    echo "SKIP: $LOADED ($ATTEMPTS attempts)" >&2
    exit 77
}

# check_conservation WHAT USER_JSON UP_WHOLE DOWN_WHOLE ADDR...: after the
# run, every frame the user sent in each direction is in the output capture
# or was counted as a drop: nothing vanished uncounted.
check_conservation() {
    local what=$1 u=$2 ju=$3 jd=$4
    shift 4
    expect_eq "$(frames_of "$ju" "$@")" "$(jq '.counters.up.packets - .counters.up.drops' <<<"$u")" \
        "$what up: frames out = packets - drops"
    expect_eq "$(frames_of "$jd" "$@")" \
        "$(jq '.counters.down.packets - .counters.down.drops' <<<"$u")" \
        "$what down: frames out = packets - drops"
}

# check_drop_reasons STATS REASON USERS_JSON_ARRAY: the only drops of either
# port are REASON; each port's count equals the users' and unassigned drops
# of its direction, and for shaper drops the shaper's tail + AQM drops.
check_drop_reasons() {
    local s=$1 reason=$2 users=$3 side dir
    for side in client server; do
        [ "$side" = client ] && dir=up || dir=down
        expect_eq "$(jq -c --arg r "$reason" ".ports.$side.drops | to_entries | map(select(.key != \$r and .value != 0))" <<<"$s")" \
            "[]" "$side port: drops other than $reason"
        expect_eq "$(jq ".ports.$side.drops.$reason" <<<"$s")" \
            "$(jq -n --argjson u "$users" --argjson s "$s" "[\$u[].counters.$dir.drops] + [\$s.unassigned.$dir.drops] | add")" \
            "$side port: $reason drops = users' + unassigned $dir drops"
        if [ "$reason" = shaper ]; then
            expect_eq "$(jq ".ports.$side.drops.shaper" <<<"$s")" \
                "$(jq ".shaper.$dir.dropped_tail + .shaper.$dir.dropped_aqm" <<<"$s")" \
                "$side port: shaper drops = $dir tail + AQM drops"
        fi
    done
}

# ---------------------------------------------------------------- rates --
# Sched engine, one run: limits of 1 mbit to 1 gbit, distinct up and down,
# users of two client IPs, one over IPv6, addresses behind an 802.1Q tag
# (10.1.0.4, and 10.1.0.8 of the 100 mbit user); 10.9.0.1 unassigned and
# unlimited (default unassigned_up/down = 0). The 1 gbit user has three
# 9000-byte addresses, so that it is offered well over 1.5 gbit even when
# the replay runs slowly: a replay that dips under the limit for a moment
# leaves the queue empty, and that time is lost to the pipe.
#   email      up   down  addresses
RATES_USERS=(
    "u1@t      1    4     10.1.0.1"
    "u10@t     10   30    10.1.0.2 10.1.0.3"
    "uvlan@t   20   8     10.1.0.4"
    "u1g@t     1000 300   10.1.0.5 10.1.0.6 10.1.0.7"
    "u100@t    100  150   10.1.0.8"
    "u6@t      50   120   2001:db8:1::9 2001:db8:1::a"
)

rates_run() {
    local spec email up down addrs secs end_up end_down
    write_load_conf "$WORK/lc.conf"
    lc_start_prio "$WORK/lc.conf"
    set_users "${RATES_USERS[@]}"
    ctl_start
    sleep 2
    ctl_stop
    secs=$(calc "$T_STOPPED - $T_START")
    declare -gA UJ
    for spec in "${RATES_USERS[@]}"; do
        read -r email up down addrs <<<"$spec"
        UJ[$email]=$(user_json "$email")
    done
    STATS=$(lc_ctl stats)
    lc_stop
    for spec in "${RATES_USERS[@]}"; do
        read -r email up down addrs <<<"$spec"
        offered "$email" "${UJ[$email]}" "$secs" "$up" "$down"
        [ -n "$LOADED" ] && return 0
    done
    J_UP_ALL=$(whole "$OUT_UP" src)
    J_DOWN_ALL=$(whole "$OUT_DOWN" dst)
    end_up=$(calc "$T_STOP - $(jq .first <<<"$J_UP_ALL") - 0.05")
    end_down=$(calc "$T_STOP - $(jq .first <<<"$J_DOWN_ALL") - 0.05")
    # The steady window: from 0.5 s (the bursts the pipes start with have
    # left) to just before `stop`.
    J_UP=$(measure "$OUT_UP" src 0.5 "$end_up")
    J_DOWN=$(measure "$OUT_DOWN" dst 0.5 "$end_down")
    # The 1 mbit user sends 125 frames a second: its window is all the run
    # gives, from 0.2 s (its pipe starts with half its 18432-byte burst, 74 ms
    # at 1 mbit) to `stop`. A longer run would cost 125 MB of capture a
    # second for the 1 gbit user.
    J_UP1=$(measure "$OUT_UP" src 0.2 "$end_up")
    guard_lost "upload" "$J_UP"
    guard_lost "upload (1 mbit window)" "$J_UP1"
    guard_lost "download" "$J_DOWN"
}

# ----------------------------------------------------------------- fair --
# A full uplink shared fairly: [shaper] port_rate = 60mbit and three users
# at 50 mbit each way (10.1.0.1-3, 1000-byte frames, each offered far more),
# so their limits add up to 150 mbit. For 2 s all three are active: each
# gets a third of the port. Then one is deleted (its traffic unassigned,
# which bypasses the shaper): for 2 s more the other two get half each.
# The small load: 10.9.0.1, thinned, passes unassigned and unlimited.
FAIR_USERS=("fa@t 50 50 10.1.0.1" "fb@t 50 50 10.1.0.2" "fc@t 50 50 10.1.0.3")
fair_run() {
    write_load_conf "$WORK/lc.conf" "[shaper]" "port_rate = 60mbit"
    lc_start_prio "$WORK/lc.conf"
    set_users "${FAIR_USERS[@]}"
    halves 3 2 "three users" "two users" "user del fc@t"
}

# halves A B LABEL_A LABEL_B LINE...: the replay for 2 s, then the batch
# of LINEs, then 2 s more, and linecapd stopped. The steady window of each
# half (from 0.5 s into it to just before its end) goes to J_UP<A>,
# J_DOWN<A>, J_UP<B> and J_DOWN<B>.
halves() {
    local a=$1 b=$2 la=$3 lb=$4 f_up f_down t_mid v name
    shift 4
    ctl_start
    sleep 2
    t_mid=$(now)
    batch "$@" > /dev/null
    sleep 2
    ctl_stop
    lc_stop
    f_up=$(jq .first <<<"$(whole "$OUT_UP" src)")
    f_down=$(jq .first <<<"$(whole "$OUT_DOWN" dst)")
    printf -v "J_UP$a" '%s' "$(measure "$OUT_UP" src 0.5 "$(calc "$t_mid - $f_up - 0.05")")"
    printf -v "J_DOWN$a" '%s' "$(measure "$OUT_DOWN" dst 0.5 "$(calc "$t_mid - $f_down - 0.05")")"
    printf -v "J_UP$b" '%s' "$(measure "$OUT_UP" src "$(calc "$t_mid - $f_up + 0.5")" \
        "$(calc "$T_STOP - $f_up - 0.05")")"
    printf -v "J_DOWN$b" '%s' "$(measure "$OUT_DOWN" dst "$(calc "$t_mid - $f_down + 0.5")" \
        "$(calc "$T_STOP - $f_down - 0.05")")"
    for v in "UP$a upload, $la" "DOWN$a download, $la" "UP$b upload, $lb" "DOWN$b download, $lb"; do
        name=J_${v%% *}
        guard_lost "${v#* }" "${!name}"
    done
}

# -------------------------------------------------------------- weights --
# Plans share a full port by weight: the three users of `fair` (50 mbit
# each way, port_rate = 60mbit), fa in a plan "gold" of weight 2, fb in a
# plan "free" of weight 1, fc in none (the users of no plan weigh 1): for
# 2 s they get 30, 15 and 15. Then gold's weight goes to 1: 20 each.
weights_run() {
    write_load_conf "$WORK/lc.conf" "[shaper]" "port_rate = 60mbit"
    lc_start_prio "$WORK/lc.conf"
    set_users "${FAIR_USERS[@]}"
    batch "plan set gold weight=2" "plan set free" "user set fa@t plan=gold" \
        "user set fb@t plan=free" > /dev/null
    W_PLAN=$(lc_ctl plan get gold)
    halves W E "weights 2:1:1" "weights 1:1:1" "plan set gold weight=1"
}

# ---------------------------------------------------------------- plans --
# Plans: a "free" plan with a total of 100 mbit each way holds ten users
# with no limit of their own, one per client address of the load but
# 10.9.0.1 (1000-byte frames for all: load1000), each offered far more;
# rte_sched shares the plan's subport between them: 10 mbit each. A "paid"
# user at 50 mbit each way (10.9.0.1), in a plan of no total, keeps its 50.
# plan_users = 64: rte_sched shares a subport between groups of 4 pipes,
# so the shares are equal while a plan's backlogged users are no more than
# a quarter of its places (docs/SHAPING.md, Plans).
PLAN_FREE=(10.1.0.1 10.1.0.2 10.1.0.3 10.1.0.4 10.1.0.5 10.1.0.6 10.1.0.7
           10.1.0.8 2001:db8:1::9 2001:db8:1::a)
plans_run() {
    local f_up f_down i lines=("plan set free total=100mbit" "plan set paid")
    write_load_conf "$WORK/lc.conf" "[shaper]" "plan_users = 64"
    lc_start_prio "$WORK/lc.conf"
    for i in "${!PLAN_FREE[@]}"; do
        lines+=("user set free$i@t plan=free" "assign free$i@t ${PLAN_FREE[$i]}")
    done
    lines+=("user set paid@t up=50mbit down=50mbit plan=paid" "assign paid@t 10.9.0.1")
    batch "${lines[@]}" > /dev/null
    PLAN_GET=$(lc_ctl plan get free)
    USER_GET=$(lc_ctl user get free3@t)
    ctl_start
    sleep 5
    ctl_stop
    lc_stop
    f_up=$(jq .first <<<"$(whole "$OUT_UP" src)")
    f_down=$(jq .first <<<"$(whole "$OUT_DOWN" dst)")
    J_UP=$(measure "$OUT_UP" src 0.5 "$(calc "$T_STOP - $f_up - 0.05")")
    J_DOWN=$(measure "$OUT_DOWN" dst 0.5 "$(calc "$T_STOP - $f_down - 0.05")")
    guard_lost "upload" "$J_UP"
    guard_lost "download" "$J_DOWN"
}

# ----------------------------------------------------------------- live --
# A user at 5 mbit is set to 20 mbit ~1 s into the replay; after `stop`,
# with frames still queued and nothing arriving, it is set to 1 mbit. The
# small load: the other addresses are one user at 20 mbit, and 10.9.0.1,
# thinned, stays unlimited so that a long gap in the captures means a
# descheduled worker (shaped pipes set together also pause together at the
# ends of their periods).
live_run() {
    write_load_conf "$WORK/lc.conf"
    lc_start_prio "$WORK/lc.conf"
    set_users "l@t 5 5 10.1.0.1" "rest@t 20 20 10.1.0.2 10.1.0.3 10.1.0.4 2001:db8:1::9 2001:db8:1::a"
    ctl_start
    ctl_open
    sleep 1
    T_CHANGE=$(now)
    ctl_req r "user set l@t up=20mbit down=20mbit"
    T_CHANGED=$(now)
    ctl_close
    [ "$(jq -c '[.ok, .user.up, .user.down]' <<<"$r")" = "[true,20000000,20000000]" ] ||
        fail "user set l@t to 20mbit: $r"
    sleep 1
    T_STOP=$(now)
    # stop; stats; a change with frames queued and none arriving; stats.
    STOPPED=$(batch stop stats "user set l@t up=1mbit down=1mbit" stats)
    wait_drained
    L=$(user_json l@t)
    REST=$(user_json rest@t)
    STATS=$(lc_ctl stats)
    lc_stop
    secs=$(calc "$T_STOP - $T_START")
    offered "l@t" "$L" "$secs" 20 20
    [ -n "$LOADED" ] && return 0
    J_UP_ALL=$(whole "$OUT_UP" src)
    J_DOWN_ALL=$(whole "$OUT_DOWN" dst)
    local dir file sd c e
    for dir in up down; do
        [ "$dir" = up ] && file=$OUT_UP sd=src || file=$OUT_DOWN sd=dst
        [ "$dir" = up ] && c=$J_UP_ALL || c=$J_DOWN_ALL
        c=$(calc "$T_CHANGE - $(jq .first <<<"$c")")
        e=$(calc "$T_STOP - $T_CHANGE + $c - 0.02")
        declare -g "J_BEFORE_$dir=$(measure "$file" "$sd" 0.3 "$(calc "$c - 0.02")")"
        declare -g "J_FIRST_$dir=$(measure "$file" "$sd" "$c" "$(calc "$c + 0.1")")"
        declare -g "J_AFTER_$dir=$(measure "$file" "$sd" "$(calc "$c + 0.1")" "$e")"
        local v
        for v in BEFORE AFTER; do
            v=J_${v}_$dir
            guard_lost "$dir" "${!v}"
        done
    done
}

# --------------------------------------------------------------- police --
POLICE_USERS=("p10@t 10 10 10.1.0.1" "p100@t 100 100 10.1.0.5")

police_run() {
    local spec email up down addrs secs end_up end_down
    write_load_conf "$WORK/lc.conf" "engine = police" \
        "unassigned_up = 20mbit" "unassigned_down = 20mbit"
    lc_start_prio "$WORK/lc.conf"
    set_users "${POLICE_USERS[@]}" "rest@t 20 20 $(others 10.1.0.1 10.1.0.5)"
    ctl_start
    sleep 1.5
    ctl_stop
    secs=$(calc "$T_STOPPED - $T_START")
    declare -gA UJ
    for email in p10@t p100@t rest@t; do
        UJ[$email]=$(user_json "$email")
    done
    STATS=$(lc_ctl stats)
    lc_stop
    for spec in "${POLICE_USERS[@]}"; do
        read -r email up down addrs <<<"$spec"
        offered "$email" "${UJ[$email]}" "$secs" "$up" "$down"
        [ -n "$LOADED" ] && return 0
    done
    J_UP_ALL=$(whole "$OUT_UP" src)
    J_DOWN_ALL=$(whole "$OUT_DOWN" dst)
    end_up=$(calc "$T_STOP - $(jq .first <<<"$J_UP_ALL") - 0.02")
    end_down=$(calc "$T_STOP - $(jq .first <<<"$J_DOWN_ALL") - 0.02")
    # From 0.3 s: the meters start with a full burst (10 ms at the rate, at
    # least 18432 bytes).
    J_UP=$(measure "$OUT_UP" src 0.3 "$end_up")
    J_DOWN=$(measure "$OUT_DOWN" dst 0.3 "$end_down")
    guard_lost "upload" "$J_UP"
    guard_lost "download" "$J_DOWN"
}

# ------------------------------------------------------------------ tap --
# over@t (10 mbit) is offered far more than its limit, under@t (5 gbit) far
# less. Two `user get` samples ~2 s apart (nothing is written in TAP mode):
# their times are known to within their round trips, which must stay under
# 2 % of the time between them.
tap_run() {
    write_load_conf "$WORK/lc.conf" "[wire]" "mode = tap"
    lc_start_prio "$WORK/lc.conf"
    set_users "over@t 10 10 10.1.0.1" "under@t 5000 5000 10.1.0.2"
    ctl_start
    ctl_open
    sleep 0.3
    sample O1 over@t
    sample U1 under@t
    sleep 2
    sample O2 over@t
    sample U2 under@t
    ctl_close
    ctl_stop
    STATS=$(lc_ctl stats)
    lc_stop
    OD=$(delta "$O1" "$O2")
    UD=$(delta "$U1" "$U2")
    if jq -e '.err > 0.02 * .t' <<<"$OD" > /dev/null; then
        LOADED="user get took $(jq '.err * 1000' <<<"$OD") ms on average: the times of the samples are too uncertain"
        return 0
    fi
    offered "over@t" "$OD" "$(jq .t <<<"$OD")" 10 10
}

# --------------------------------------------------------------- states --
# A user at 5 mbit; ~0.8 s in `state disabled`, ~0.25 s later `state
# present`, then ~0.8 s more. The small load, as in live. While disabled
# every frame is forwarded unshaped, at the speed of the replay, which is
# then the speed of writing the captures: that phase is kept short, and the
# user's share of the small load (a sixth) shows far more than 10 x its
# limit.
states_run() {
    write_load_conf "$WORK/lc.conf"
    lc_start_prio "$WORK/lc.conf"
    set_users "s@t 5 5 10.1.0.1" "rest@t 20 20 10.1.0.2 10.1.0.3 10.1.0.4 2001:db8:1::9 2001:db8:1::a"
    ctl_start
    ctl_open
    sleep 0.8
    T_DIS=$(now)
    ctl_req r "state disabled"
    [ "$(jq -r .state <<<"$r")" = disabled ] || fail "state disabled: $r"
    sample D1 s@t
    sleep 0.2
    sample D2 s@t
    T_PRES=$(now)
    ctl_req r "state present"
    ctl_close
    [ "$(jq -r .state <<<"$r")" = present ] || fail "state present: $r"
    sleep 0.8
    ctl_stop
    wait_drained
    S=$(user_json s@t)
    REST=$(user_json rest@t)
    STATS=$(lc_ctl stats)
    lc_stop
    offered "s@t" "$S" "$(calc "$T_STOPPED - $T_START")" 5 5
    [ -n "$LOADED" ] && return 0
    # While disabled, s@t is forwarded at the speed of the replay: showing
    # 10 x its limit needs a replay that offers that much.
    DD=$(delta "$D1" "$D2")
    local dir o
    for dir in up down; do
        o=$(jq ".counters.$dir.bytes * 8 / .t / 1e6" <<<"$DD")
        if awk -v o="$o" 'BEGIN { exit o < 50 ? 0 : 1 }'; then
            LOADED="s@t $dir: offered only $o Mbit/s while disabled, under 10 x its 5 mbit: the replay was too slow on this machine to show the jump"
            return 0
        fi
        echo "ok: s@t $dir offered $o Mbit/s while disabled"
    done
    J_UP_ALL=$(whole "$OUT_UP" src)
    J_DOWN_ALL=$(whole "$OUT_DOWN" dst)
    local file sd f d p e
    for dir in up down; do
        [ "$dir" = up ] && file=$OUT_UP sd=src || file=$OUT_DOWN sd=dst
        [ "$dir" = up ] && f=$J_UP_ALL || f=$J_DOWN_ALL
        f=$(jq .first <<<"$f")
        d=$(calc "$T_DIS - $f")
        p=$(calc "$T_PRES - $f")
        e=$(calc "$T_STOP - $f - 0.02")
        declare -g "J_BEFORE_$dir=$(measure "$file" "$sd" 0.3 "$(calc "$d - 0.02")")"
        declare -g "J_DIS0_$dir=$(measure "$file" "$sd" "$d" "$(calc "$d + 0.1")")"
        declare -g "J_DIS_$dir=$(measure "$file" "$sd" "$(calc "$d + 0.1")" "$(calc "$p - 0.02")")"
        # From 200 ms after `present`: the pipe's burst refills while
        # disabled and leaves first.
        declare -g "J_PRES_$dir=$(measure "$file" "$sd" "$(calc "$p + 0.2")" "$e")"
        local v
        for v in BEFORE PRES; do
            v=J_${v}_$dir
            guard_lost "$dir" "${!v}"
        done
    done
}

case $case_name in
rates)
    "$LC_PCAPGEN" load "$CIN" "$SIN" --count "$ROUNDS" > /dev/null
    attempt rates_run
    for spec in "${RATES_USERS[@]}"; do
        read -r email up down addrs <<<"$spec"
        expect_eq "$(jq -c '[.up, .down]' <<<"${UJ[$email]}")" \
            "[$((up * 1000000)),$((down * 1000000))]" "$email [up, down] bit/s"
    done
    n1=$(frames_of "$J_UP1" 10.1.0.1)
    echo "u1@t up: $n1 frames in $(jq .window <<<"$J_UP1") s: one frame is" \
        "$(calc "100 / $n1") % of the rate"
    for spec in "${RATES_USERS[@]}"; do
        read -r email up down addrs <<<"$spec"
        # shellcheck disable=SC2086
        if [ "$up" = 1 ]; then
            check_rate "$email up" "$J_UP1" 1e6 2 sched $addrs
        else
            check_rate "$email up" "$J_UP" "${up}e6" 2 sched $addrs
        fi
        # shellcheck disable=SC2086
        check_rate "$email down" "$J_DOWN" "${down}e6" 2 sched $addrs
    done
    # Unassigned traffic passes unlimited: no drop, and every frame received
    # is in the output.
    una=$(jq -c .unassigned <<<"$STATS")
    expect_eq "$(jq -c '[.up.drops, .down.drops]' <<<"$una")" "[0,0]" "unassigned [up, down] drops"
    expect_eq "$(frames_of "$J_UP_ALL" 10.9.0.1)" "$(jq .up.packets <<<"$una")" \
        "unassigned up: frames out = frames in"
    expect_eq "$(frames_of "$J_DOWN_ALL" 10.9.0.1)" "$(jq .down.packets <<<"$una")" \
        "unassigned down: frames out = frames in"
    echo "captures: $(bytes "$OUT_UP") bytes up, $(bytes "$OUT_DOWN") down"
    echo "unassigned 10.9.0.1 passed at $(calc "$(bps_of "$J_UP" 10.9.0.1) / 1e6") Mbit/s up," \
        "$(calc "$(bps_of "$J_DOWN" 10.9.0.1) / 1e6") down"
    expect_eq "$(jq -c '[.ports.client.drops.tx_full, .ports.server.drops.tx_full]' <<<"$STATS")" \
        "[0,0]" "[client, server] tx_full drops"
    ;;
live)
    "$LC_PCAPGEN" load "$CIN" "$SIN" --count "$ROUNDS" > /dev/null
    small_load "$CIN" src
    small_load "$SIN" dst
    expect_eq "$(frames "$CIN") $(frames "$SIN")" "$((ROUNDS * 24 + ROUNDS / 5)) $((ROUNDS * 24 + ROUNDS / 5))" \
        "frames of the small load [client, server]"
    attempt live_run
    echo "user set to 20mbit: reply after $(calc "($T_CHANGED - $T_CHANGE) * 1000") ms (users file saved)"
    for dir in up down; do
        v=J_BEFORE_$dir; check_rate "l@t $dir before the change" "${!v}" 5e6 2 sched 10.1.0.1
        v=J_FIRST_$dir
        # The first 100 ms from the command (sent at T_CHANGE; the worker
        # applies it, then the users file is saved before the reply) hold
        # 100 ms of 20 mbit less what the delay of the change kept at 5, plus
        # half the new burst (1 mbit over 100 ms): 21 - 150 x delay(s) mbit.
        # At least 10 means the change acted within ~73 ms.
        at_least_mbit "l@t $dir in the 100 ms from the command" \
            "$(calc "$(bps_of "${!v}" 10.1.0.1) / 1e6")" 10
        v=J_AFTER_$dir; check_rate "l@t $dir from the change + 100 ms" "${!v}" 20e6 2 sched 10.1.0.1
    done
    # The change with frames queued and none arriving (after stop) dropped
    # none of them: drop counters unchanged, every queued frame dequeued.
    # (`queued` is enqueued - dequeued by construction, so enqueued =
    # dequeued + queued always holds; what tells is that once drained the
    # drops and enqueued are those of the moment of the change and dequeued
    # caught up with enqueued.) And what left the shaper is what was sent:
    # each port transmitted the frames dequeued for its direction plus the
    # unassigned frames, which are unlimited and skip the shaper.
    for dir in up down; do
        [ "$dir" = up ] && side=server || side=client
        expect_eq "$(jq ".ports.$side.tx_packets" <<<"$STATS")" \
            "$(jq ".shaper.$dir.dequeued + .unassigned.$dir.packets" <<<"$STATS")" \
            "$side port: tx_packets = $dir dequeued + unassigned frames"
        expect_eq "$(jq -s ".[0].receiving, .[1].shaper.$dir.queued > 0" <<<"$STOPPED" | paste -sd,)" \
            "false,true" "$dir: receiving stopped, frames queued at the change to 1mbit"
        expect_eq "$(jq -s -c "[.[3].shaper.$dir | .dropped_tail, .dropped_aqm, .enqueued]" <<<"$STOPPED")" \
            "$(jq -s -c "[.[1].shaper.$dir | .dropped_tail, .dropped_aqm, .enqueued]" <<<"$STOPPED")" \
            "$dir: [tail, AQM drops, enqueued] unchanged by the change"
        expect_eq "$(jq -c "[.shaper.$dir | .dropped_tail, .dropped_aqm, .enqueued, .dequeued, .queued]" <<<"$STATS")" \
            "$(jq -s -c "[.[1].shaper.$dir | .dropped_tail, .dropped_aqm, .enqueued, .enqueued, 0]" <<<"$STOPPED")" \
            "$dir: [tail, AQM, enqueued, dequeued, queued] once drained: every queued frame left"
    done
    echo "queued at the change after stop: $(jq -s -c '[.[1].shaper.up.queued, .[1].shaper.down.queued]' <<<"$STOPPED") [up, down]"
    check_drop_reasons "$STATS" shaper "[$L, $REST]"
    check_conservation "l@t" "$L" "$J_UP_ALL" "$J_DOWN_ALL" 10.1.0.1
    echo "captures: $(bytes "$OUT_UP") bytes up, $(bytes "$OUT_DOWN") down"
    ;;
police)
    "$LC_PCAPGEN" load "$CIN" "$SIN" --count "$ROUNDS" > /dev/null
    attempt police_run
    for spec in "${POLICE_USERS[@]}"; do
        read -r email up down addrs <<<"$spec"
        # shellcheck disable=SC2086
        check_rate "$email up" "$J_UP" "${up}e6" 5 meter $addrs
        # shellcheck disable=SC2086
        check_rate "$email down" "$J_DOWN" "${down}e6" 5 meter $addrs
        for dir in up down; do
            d=$(jq ".counters.$dir.drops" <<<"${UJ[$email]}")
            at_least_mbit "$email $dir drops" "$d" 1 frames
        done
        # shellcheck disable=SC2086
        check_conservation "$email" "${UJ[$email]}" "$J_UP_ALL" "$J_DOWN_ALL" $addrs
    done
    for side in client server; do
        at_least_mbit "$side port drops.police" "$(jq ".ports.$side.drops.police" <<<"$STATS")" 1 frames
    done
    check_drop_reasons "$STATS" police "[${UJ[p10@t]}, ${UJ[p100@t]}, ${UJ[rest@t]}]"
    expect_eq "$(jq -c '[.shaper.up.enqueued, .shaper.down.enqueued]' <<<"$STATS")" "[0,0]" \
        "police engine: nothing queued [up, down]"
    ;;
tap)
    "$LC_PCAPGEN" load "$CIN" "$SIN" --count "$ROUNDS" > /dev/null
    attempt tap_run
    expect_eq "$(frames "$OUT_UP") $(frames "$OUT_DOWN")" "0 0" "frames in [server-out, client-out]"
    expect_eq "$(jq -c '[.ports.client.tx_packets, .ports.server.tx_packets]' <<<"$STATS")" "[0,0]" \
        "[client, server] tx_packets"
    at_least_mbit "client port tap_packets" "$(jq .ports.client.tap_packets <<<"$STATS")" 1 frames
    expect_eq "$(jq -c '.counters.up | keys' <<<"$O2")" '["bytes","packets","would_drop"]' \
        "TAP counters"
    for dir in up down; do
        wd=$(jq ".counters.$dir.would_drop" <<<"$OD")
        at_least_mbit "over@t $dir would_drop between the samples" "$wd" 1 frames
        # Frames of 10.1.0.1 are 1000 bytes: what inline policing would pass.
        pass=$(jq ".counters.$dir | (.bytes - .would_drop * 1000) * 8" <<<"$OD")
        echo "over@t $dir: offered $(jq ".counters.$dir.bytes * 8 / .t / 1e6" <<<"$OD") Mbit/s," \
            "would_drop $wd frames over $(jq .t <<<"$OD") s (± $(jq '.err * 1000' <<<"$OD") ms)"
        check_rate "over@t $dir (offered - would_drop)" \
            "$(jq -c --argjson b "$pass" '{addrs: {x: {bps: ($b / .t)}}, gaps: {lost: 0}, window: .t}' <<<"$OD")" \
            10e6 10 meter x
        expect_eq "$(jq ".counters.$dir.would_drop" <<<"$U2")" 0 "under@t $dir would_drop"
        ou=$(jq ".counters.$dir.bytes * 8 / .t / 1e6" <<<"$UD")
        awk -v o="$ou" 'BEGIN { exit o > 0 && o < 5000 ? 0 : 1 }' ||
            fail "under@t $dir offered $ou Mbit/s: not under its 5000 mbit limit"
        echo "ok: under@t $dir offered $ou Mbit/s, under its 5000 mbit"
    done
    ;;
fair)
    "$LC_PCAPGEN" load "$CIN" "$SIN" --count "$ROUNDS" > /dev/null
    small_load "$CIN" src
    small_load "$SIN" dst
    attempt fair_run
    # shellcheck disable=SC2153 # J_UP3, J_DOWN3, J_UP2, J_DOWN2: set by halves()
    for a in 10.1.0.1 10.1.0.2 10.1.0.3; do
        check_rate "$a up, three users on 60 mbit" "$J_UP3" 20e6 5 sched "$a"
        check_rate "$a down, three users on 60 mbit" "$J_DOWN3" 20e6 5 sched "$a"
    done
    for a in 10.1.0.1 10.1.0.2; do
        check_rate "$a up, two users on 60 mbit" "$J_UP2" 30e6 5 sched "$a"
        check_rate "$a down, two users on 60 mbit" "$J_DOWN2" 30e6 5 sched "$a"
    done
    ;;
weights)
    "$LC_PCAPGEN" load "$CIN" "$SIN" --count "$ROUNDS" > /dev/null
    small_load "$CIN" src
    small_load "$SIN" dst
    attempt weights_run
    expect_eq "$(jq -c '[.ok, .plan.weight]' <<<"$W_PLAN")" "[true,2]" "plan get gold: its weight"
    for dir in UP DOWN; do
        v=J_${dir}W
        check_rate "10.1.0.1 $dir, plan of weight 2" "${!v}" 30e6 5 sched 10.1.0.1
        check_rate "10.1.0.2 $dir, plan of weight 1" "${!v}" 15e6 5 sched 10.1.0.2
        check_rate "10.1.0.3 $dir, no plan" "${!v}" 15e6 5 sched 10.1.0.3
        v=J_${dir}E
        for a in 10.1.0.1 10.1.0.2 10.1.0.3; do
            check_rate "$a $dir, weights 1:1:1" "${!v}" 20e6 5 sched "$a"
        done
    done
    ;;
plans)
    "$LC_PCAPGEN" load1000 "$CIN" "$SIN" --count "$ROUNDS" > /dev/null
    attempt plans_run
    expect_eq "$(jq -c '[.ok, .plan.users, .plan.total_up, .plan.total_down]' <<<"$PLAN_GET")" \
        "[true,10,100000000,100000000]" "plan get free"
    expect_eq "$(jq -r .user.plan <<<"$USER_GET")" free "user get free3@t: its plan"
    for a in "${PLAN_FREE[@]}"; do
        check_rate "$a up, one of ten in a plan of 100 mbit" "$J_UP" 10e6 5 sched "$a"
        check_rate "$a down, one of ten in a plan of 100 mbit" "$J_DOWN" 10e6 5 sched "$a"
    done
    check_rate "the free plan up, together" "$J_UP" 100e6 2 sched "${PLAN_FREE[@]}"
    check_rate "the free plan down, together" "$J_DOWN" 100e6 2 sched "${PLAN_FREE[@]}"
    check_rate "10.9.0.1 up, paid at 50 mbit" "$J_UP" 50e6 2 sched 10.9.0.1
    check_rate "10.9.0.1 down, paid at 50 mbit" "$J_DOWN" 50e6 2 sched 10.9.0.1
    ;;
states)
    "$LC_PCAPGEN" load "$CIN" "$SIN" --count "$ROUNDS" > /dev/null
    small_load "$CIN" src
    small_load "$SIN" dst
    expect_eq "$(frames "$CIN") $(frames "$SIN")" "$((ROUNDS * 24 + ROUNDS / 5)) $((ROUNDS * 24 + ROUNDS / 5))" \
        "frames of the small load [client, server]"
    attempt states_run
    for dir in up down; do
        v=J_BEFORE_$dir; check_rate "s@t $dir present" "${!v}" 5e6 5 sched 10.1.0.1
        v=J_DIS0_$dir
        echo "s@t $dir in the 100 ms from \`state disabled\`: $(calc "$(bps_of "${!v}" 10.1.0.1) / 1e6") Mbit/s"
        # Nothing of s@t dropped while disabled (its drops are collected a
        # few microseconds after the queue's, well before the first sample).
        expect_eq "$(jq ".counters.$dir.drops" <<<"$DD")" 0 "s@t $dir drops while disabled"
        v=J_DIS_$dir
        at_least_mbit "s@t $dir disabled, from 100 ms on (10 x 5 mbit)" \
            "$(calc "$(bps_of "${!v}" 10.1.0.1) / 1e6")" 50
        v=J_PRES_$dir; check_rate "s@t $dir present again, from 200 ms on" "${!v}" 5e6 5 sched 10.1.0.1
    done
    # No frame lost to the switches: shaper drops (queue full, AQM) are the
    # only drops, and every frame of s@t is out or one of its drops.
    check_drop_reasons "$STATS" shaper "[$S, $REST]"
    check_conservation "s@t" "$S" "$J_UP_ALL" "$J_DOWN_ALL" 10.1.0.1
    echo "captures: $(bytes "$OUT_UP") bytes up, $(bytes "$OUT_DOWN") down"
    ;;
*)
    fail "unknown case $case_name"
    ;;
esac
echo "PASS: shaper-$case_name"
