# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# linecapd for the scripts and tests that run it: write its config, start it
# and wait until it answers, stop it, talk to it with linecapctl. Sourced by
# scripts/bench.sh and the benchmarks of scripts/bench/, the demos,
# scripts/soak.sh, tests/replay/lib.sh and tests/e2e/lib.sh. It defines
# functions only: no option, trap or variable of the caller's is changed
# until a function is called.
#
# The caller sets:
#   LINECAPD, LINECAPCTL  the binaries
#   LC_SOCK               linecapd's management socket ([mgmt] socket)
#   LC_LOG                the file linecapd's output goes to
# and may set (default in brackets):
#   LC_LOG_APPEND   1: each start appends to LC_LOG after a line
#                   "--- linecapd start TIME" [0: each start truncates it]
#   LC_START_WAIT   seconds lc_start waits for an answer on LC_SOCK [30]
#   LC_STOP_WAIT    seconds lc_stop waits for linecapd to exit [30]
#   LC_STOP_CHECK   1: a linecapd that does not exit on SIGTERM within
#                   LC_STOP_WAIT, or exits with a status other than 0, is a
#                   failure [0: it is killed, its status not looked at]
#   LC_FAIL         the function a failure calls with its message, such as
#                   a test's `fail` [lc_die]
#   LC_LOG_TAIL     lines of LC_LOG that lc_die shows [20]
# lc_start sets LC_PID; lc_stop clears it.

# lc_write_conf FILE LINE...: a config of the INI lines given ("[section]",
# "key = value"). linecapd applies keys in order: a key given again takes
# its last value, and each `args` adds to the EAL's arguments. The file says
# the same more plainly: each section once, where first named, each key
# once, where first given, with its last value; every `args` line is kept.
lc_write_conf() {
    local file=$1
    shift
    printf '%s\n' "$@" | awk '
        /^[ \t]*\[/ {
            s = $0
            if (!(s in seen)) { seen[s] = 1; order[++ns] = s }
            next
        }
        /^[ \t]*$/ { next }
        {
            k = $0
            if (k ~ /=/) { sub(/[ \t]*=.*/, "", k); sub(/^[ \t]*/, "", k) } else k = ""
            id = s SUBSEP k
            if (k == "" || k == "args" || !(id in line)) {
                if (k == "" || k == "args")
                    id = id SUBSEP (++nl)
                keys[s, ++nk[s]] = id
            }
            line[id] = $0
        }
        END {
            for (i = 1; i <= ns; i++) {
                s = order[i]
                print s
                for (j = 1; j <= nk[s]; j++)
                    print line[keys[s, j]]
            }
        }' > "$file"
}

# lc_free_port: a TCP port of 127.0.0.1 that nothing listens on now.
lc_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# lc_empty_pcap FILE...: pcap files with a header and no frame (Ethernet,
# snaplen 65535): ports that receive nothing.
lc_empty_pcap() {
    local f
    for f in "$@"; do
        printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' > "$f"
    done
}

# lc_die MESSAGE: the failure when LC_FAIL is not set: MESSAGE and the end
# of LC_LOG on stderr, and exit 1.
lc_die() {
    echo "$*" >&2
    if [ "${LC_LOG_TAIL:-20}" -gt 0 ] && [ -f "${LC_LOG:-}" ]; then
        tail -n "${LC_LOG_TAIL:-20}" "$LC_LOG" >&2
    fi
    exit 1
}

# lc_fail MESSAGE: a failure of lc_start or lc_stop (LC_FAIL or lc_die).
lc_fail() {
    "${LC_FAIL:-lc_die}" "$@"
    return 1
}

# lc_ping: linecapd answers on LC_SOCK.
lc_ping() {
    "$LINECAPCTL" -s "$LC_SOCK" ping > /dev/null 2>&1
}

# lc_ctl ARG...: a linecapctl command on LC_SOCK; replies as JSON lines.
# `lc_ctl -` sends the lines of stdin as one pipelined batch.
lc_ctl() {
    "$LINECAPCTL" -s "$LC_SOCK" --json "$@"
}

# lc_stat PATH: one value of the stats reply, e.g. .ports.client.rx_packets
lc_stat() {
    lc_ctl stats | jq -r "$1"
}

# lc_start CONF [LINECAPD OPTION...]: start linecapd in the background
# (LC_PID), its stdout and stderr in LC_LOG, and wait until it answers on
# LC_SOCK. One that exits meanwhile, or has not answered after
# LC_START_WAIT seconds, is a failure.
lc_start() {
    local conf=$1 i
    shift
    if [ "${LC_LOG_APPEND:-0}" = 1 ]; then
        echo "--- linecapd start $(date +%T.%N)" >> "$LC_LOG"
        "$LINECAPD" --config "$conf" "$@" >> "$LC_LOG" 2>&1 &
    else
        "$LINECAPD" --config "$conf" "$@" > "$LC_LOG" 2>&1 &
    fi
    LC_PID=$!
    for ((i = 0; i < ${LC_START_WAIT:-30} * 10; i++)); do
        lc_ping && return 0
        if ! kill -0 "$LC_PID" 2> /dev/null; then
            wait "$LC_PID" 2> /dev/null || true
            LC_PID=
            lc_fail "linecapd exited at start"
            return 1
        fi
        sleep 0.1
    done
    lc_fail "linecapd did not answer on $LC_SOCK"
}

# lc_stop: SIGTERM to linecapd, and up to LC_STOP_WAIT seconds for it to
# exit; then, unless LC_STOP_CHECK=1, SIGKILL. Nothing to do without LC_PID.
lc_stop() {
    local i rc=0
    [ -n "${LC_PID:-}" ] || return 0
    kill -TERM "$LC_PID" 2> /dev/null || true
    for ((i = 0; i < ${LC_STOP_WAIT:-30} * 10; i++)); do
        kill -0 "$LC_PID" 2> /dev/null || break
        sleep 0.1
    done
    if [ "${LC_STOP_CHECK:-0}" != 1 ]; then
        kill -KILL "$LC_PID" 2> /dev/null || true
        wait "$LC_PID" 2> /dev/null || true
        LC_PID=
        return 0
    fi
    if kill -0 "$LC_PID" 2> /dev/null; then
        lc_fail "linecapd did not stop on SIGTERM"
        return 1
    fi
    wait "$LC_PID" || rc=$?
    LC_PID=
    [ "$rc" -eq 0 ] || { lc_fail "linecapd exited with status $rc"; return 1; }
}

# lc_wait_rx CLIENT_FRAMES SERVER_FRAMES [SECONDS]: wait, 30 s at most,
# until the worker has received that many frames on each port; false if it
# has not by then.
lc_wait_rx() {
    local i s
    for ((i = 0; i < ${3:-30} * 20; i++)); do
        s=$(lc_ctl stats)
        if [ "$(jq .ports.client.rx_packets <<<"$s")" -ge "$1" ] &&
           [ "$(jq .ports.server.rx_packets <<<"$s")" -ge "$2" ]; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# lc_worker_task: the /proc task folder of the worker thread of linecapd
# (LC_PID), the lcore thread EAL names rte-worker-N or lcore-worker-N;
# nothing when there is none.
lc_worker_task() {
    local t
    [ -n "${LC_PID:-}" ] || return 0
    for t in /proc/"$LC_PID"/task/*; do
        if grep -Eq '^(rte|lcore)-worker' "$t/comm" 2> /dev/null; then
            echo "$t"
            return 0
        fi
    done
}

# lc_worker_schedstat: "RUN WAIT", the nanoseconds the worker thread has
# run and has waited for a CPU while runnable (the kernel's schedstat);
# "0 0" when there is no such thread or the kernel keeps no schedstat.
lc_worker_schedstat() {
    local t
    t=$(lc_worker_task)
    if [ -n "$t" ] && awk '{ print $1, $2 }' "$t/schedstat" 2> /dev/null; then
        return 0
    fi
    echo "0 0"
}
