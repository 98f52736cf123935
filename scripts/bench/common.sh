# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Helpers of scripts/bench.sh, sourced by it: progress lines, the results
# file, linecapd (through scripts/lib/linecapd.sh) and the users of the
# bench traffic. They use the driver's T0, RES, W, PREFIX, USERS and
# LIMIT_BURST.

# say LINE...: a progress line on stderr, with the seconds since the start.
say() { printf '[%4ds] %s\n' $((SECONDS - T0)) "$*" >&2; }
# put PATH JSON: store a value in the results.
put() {
    jq --argjson v "$2" "$1 = \$v" "$RES" > "$RES.n" && mv "$RES.n" "$RES"
}
# merge PATH JSON: add the keys of an object to the results at PATH.
merge() {
    jq --argjson v "$2" "$1 += \$v" "$RES" > "$RES.n" && mv "$RES.n" "$RES"
}
calc() { awk "BEGIN { printf \"%.9g\", $1 }"; }
now() { date +%s.%N; }

# --------------------------------------------------------------- linecapd --
# linecapd_failed MESSAGE: linecapd did not start (LC_FAIL, scripts/lib/linecapd.sh).
linecapd_failed() {
    say "$1:"
    tail -5 "$LC_LOG" >&2
    exit 1
}
# batch: stdin lines pipelined. A line whose reply is not ok is noted in
# results.json (.errors) and on stderr; the run goes on.
batch() {
    local r e
    r=$(lc_ctl -) || true
    jq -se 'length > 0 and all(.ok)' <<<"$r" > /dev/null 2>&1 && return 0
    e=$(jq -sc '[.[] | select(.ok | not) | .error] | group_by(.) |
        map("\(length) x \(.[0])") | join("; ")' <<<"$r" 2> /dev/null || echo '"no reply"')
    say "batch: errors: $e"
    jq --argjson e "$e" '.errors += [$e]' "$RES" > "$RES.n" && mv "$RES.n" "$RES"
}
# bench_conf FILE EAL_ARGS [ini lines...]: a config; later lines override.
# Its cores are BENCH_CORES, the EAL's -l or --lcores (default -l 0,1: the
# control thread on CPU 0, one worker on CPU 1).
bench_conf() {
    local f=$1 eal=$2 a
    shift 2
    local -a args=()
    # rte_cfgfile reads lines of at most 255 characters.
    for a in $eal; do args+=("args = $a"); done
    lc_write_conf "$f" "[eal]" \
        "args = --no-pci ${BENCH_CORES:--l 0,1} --file-prefix=$PREFIX-lc --log-level=warning" \
        "${args[@]}" "$@" "[mgmt]" "socket = $LC_SOCK"
}
# bench_start CONF [USERS_FILE]: start linecapd with no user, or with the
# users of USERS_FILE (copied to the state file), and wait for its socket.
bench_start() {
    rm -f "$LC_SOCK" "$W/users.conf"
    [ -z "${2:-}" ] || cp "$2" "$W/users.conf"
    lc_start "$1"
}
vm() { awk -v k="$2:" '$1 == k { print $2 * 1024 }' /proc/$1/status; }
# heap_alloc: bytes allocated from the EAL heap of socket 0 (DPDK telemetry).
heap_alloc() {
    python3 - "/var/run/dpdk/$PREFIX-lc/dpdk_telemetry.v2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.recv(4096)
s.send(b"/eal/heap_info,0")
print(json.loads(s.recv(65536))["/eal/heap_info"]["Alloc_size"])
PY
}

# users_lines VERB [RATE]: for every user of the bench traffic, the IP-wide
# assignments of its addresses (VERB assign) or a rate (VERB set).
users_lines() {
    awk -v n="$USERS" -v verb="$1" -v rate="${2:-}" -v burst="$LIMIT_BURST" 'BEGIN {
        for (u = 0; u < n; u++) {
            e = "u" u "@bench.example"
            if (verb == "set") { printf "user set %s up=%s down=%s burst=%s\n", e, rate, rate, burst; continue }
            printf "assign %s fd00:100::%x\n", e, u
            if (u % 5 != 4)
                printf "assign %s 10.100.%d.%d\n", e, int(u / 256), u % 256
        } }'
}

# users_file PATH RATE BURST: a state file (docs/USERS.md) of every user of
# the bench traffic, static, at RATE and BURST both ways.
users_file() {
    awk -v n="$USERS" -v rate="$2" -v burst="$3" 'BEGIN {
        print "linecap-users 1"
        for (u = 0; u < n; u++)
            printf "user %d u%d@bench.example up=%s down=%s burst_up=%s burst_down=%s\n",
                u + 1, u, rate, rate, burst, burst
        printf "end %d\n", n }' > "$1"
}

