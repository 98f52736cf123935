# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The bench on a shared machine: the processes it did not start that match
# linecapd|iperf3|dpdk-testpmd|test_shaper and use CPU. Sourced by
# scripts/bench.sh, whose say() writes the progress lines.
#
#   wait_quiet SECTION  wait until none uses CPU (20 s polls, 20 min at most)
#   monitor_start FILE  note in FILE, every 5 s, those that use CPU ("PID
#                       COMMAND" lines), until monitor_stop or FILE is gone;
#                       MONITOR_PID is the PID of the monitor
#   monitor_stop        stop the monitor

# others: PIDs matching the benchmark pattern that the bench did not start.
others() {
    local p q
    for p in $(pgrep -f 'linecapd|iperf3|dpdk-testpmd|test_shaper' || true); do
        q=$p
        while [ -n "$q" ] && [ "$q" -gt 1 ]; do
            [ "$q" = $$ ] && continue 2
            q=$(awk '/^PPid:/ { print $2 }' /proc/$q/status 2> /dev/null || true)
        done
        echo "$p"
    done
}
# cputime PID...: the summed utime + stime of the processes, in ticks.
cputime() {
    local p t=0
    for p in "$@"; do
        t=$((t + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' /proc/$p/stat 2> /dev/null || echo 0)))
    done
    echo $t
}
# busy_others: those of the others that used CPU in the last 2 s (an idle
# leftover such as an iperf3 server waiting in accept() does not count).
busy_others() {
    local o p a b
    o=$(others)
    [ -n "$o" ] || return 0
    for p in $o; do
        a=$(cputime "$p")
        sleep 0.2
        b=$(cputime "$p")
        [ "$b" -gt "$a" ] && echo "$p"
    done
    return 0
}
# wait_quiet SECTION: wait for the others, 20 min at most.
wait_quiet() {
    local o deadline=$((SECONDS + 1200))
    while o=$(busy_others) && [ -n "$o" ]; do
        if [ $SECONDS -ge $deadline ]; then
            say "[$1] still busy after 20 min (PIDs $(echo $o)): measuring anyway"
            return 0
        fi
        say "[$1] waiting for a quiet machine: $(ps -o comm= -p "$(echo $o | tr ' ' ,)" 2> /dev/null | sort -u | tr '\n' ' ')"
        sleep 20
    done
}
MONITOR_PID=
monitor_start() {
    : > "$1"
    ( while [ -e "$1" ]; do
        for p in $(busy_others); do echo "$p $(ps -o comm= -p "$p")"; done >> "$1" 2> /dev/null
        sleep 5
      done ) &
    MONITOR_PID=$!
}
monitor_stop() {
    [ -n "$MONITOR_PID" ] || return 0
    kill "$MONITOR_PID" 2> /dev/null || true
    wait "$MONITOR_PID" 2> /dev/null || true
    MONITOR_PID=
}
