#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_linecapd.sh: linecap-xray against the real linecapd.
#
# linecapd runs on net_pcap vdevs fed by an lc-pcapgen 'midstream' capture
# (50 TCP connections and 10 UDP flows, each with its own client endpoint),
# with '[wire] autostart = no'. linecap-xray follows an access log in a temp
# dir. The test writes Xray access lines, in the formats of docs/XRAY.md, for
# the client endpoints of the capture's flows and checks, at each step, that
# 'user list' holds exactly the expected users and that 'flows' shows every
# flow bound to its expected email (and every other flow to none):
#   1. lines before the wire starts: pending assignments, users created;
#      after 'start' and the replay of the capture, every flow bound;
#   2. rotation: mv + a new file, with lines written to the old file after
#      the mv;
#   3. truncation in place (copytruncate), and a repeated line (unchanged);
#   4. linecapd restarts (SIGTERM, same config and state file): lines written
#      while it is away are deferred; linecap-xray reconnects and re-sends the
#      recent assignments, one per endpoint with its newest email, which
#      linecapd holds as pending (its flows are gone), then binds once the
#      capture is replayed again; a live line after that is bound at once.
# Lines that must not assign (rejected, no email, port 0, masked, DNS, bad
# email, a line written before the follower started) are mixed in, and their
# flows must stay unassigned. Every wait is bounded; the trap stops every
# process this script started and removes its files, also on failure.
#
# Needs LINECAPD, LINECAPCTL, LC_PCAPGEN, LC_PCAPCMP (tests/replay/lib.sh)
# and LINECAP_XRAY in the environment.
. "$(dirname "$0")/../replay/lib.sh"

: "${LINECAP_XRAY:?}"

LOG=$WORK/access.log
XERR=$WORK/xray.err
EXPECT=$WORK/expect.tsv     # endpoint TAB email, later lines win
X_PID=

xray_cleanup() {
    local rc=$?
    set +e
    if [ -n "$X_PID" ] && kill -0 "$X_PID" 2>/dev/null; then
        kill -KILL "$X_PID" 2>/dev/null
        wait "$X_PID" 2>/dev/null
    fi
    if [ "$rc" -ne 0 ] && [ -f "$XERR" ]; then
        echo "--- linecap-xray stderr ---" >&2
        tail -n 40 "$XERR" >&2
    fi
    (exit "$rc")
    lc_cleanup
}
trap xray_cleanup EXIT INT TERM

# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds.
wait_for() {
    local secs=$1 what=$2
    shift 2
    local deadline=$((SECONDS + secs))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "timed out ($secs s) waiting for $what"
        sleep 0.05
    done
}

has_text() { grep -qF -- "$2" "$1" 2>/dev/null; }

# A function, so that wait_for counts again on every try.
more_usr1_than() {
    [ "$(grep -c 'counters (SIGUSR1)' "$XERR" || true)" -gt "$1" ]
}

# counters: the counters line linecap-xray prints for a new SIGUSR1.
counters() {
    local before
    before=$(grep -c 'counters (SIGUSR1)' "$XERR" || true)
    kill -USR1 "$X_PID"
    wait_for 10 "counters on SIGUSR1" more_usr1_than "$before"
    grep 'counters (SIGUSR1)' "$XERR" | tail -n 1
}

# counters_are NAME=VALUE...: the follower's counters reach these values
# (replies arrive asynchronously, so this polls).
counters_match() {
    local line c
    line=$(counters)
    for c in "$@"; do
        case " $line " in
        *" $c "*) ;;
        *) return 1 ;;
        esac
    done
}
counters_are() {
    local deadline=$((SECONDS + 10))
    until counters_match "$@"; do
        [ "$SECONDS" -lt "$deadline" ] ||
            fail "counters: want $* in: $(grep 'counters (SIGUSR1)' "$XERR" | tail -n 1)"
        sleep 0.1
    done
    echo "ok: counters $*"
}

# ---- the capture and its flows ----
"$LC_PCAPGEN" midstream "$WORK/client.pcap" "$WORK/server.pcap" \
    --expect-flows "$WORK/flows.json" > /dev/null
N_FLOWS=$(jq '.flows | length' "$WORK/flows.json")
[ "$N_FLOWS" -eq 60 ] || fail "the midstream capture holds $N_FLOWS flows, the test wants 60"
mapfile -t CLIENT < <(jq -r '.flows[].client' "$WORK/flows.json")
mapfile -t PROTO < <(jq -r '.flows[].proto' "$WORK/flows.json")
[ "$(printf '%s\n' "${CLIENT[@]}" | sort -u | wc -l)" -eq 60 ] ||
    fail "client endpoints are not distinct"
[ "${PROTO[50]}" = udp ] && [ "${PROTO[49]}" = tcp ] ||
    fail "want flows 0..49 TCP and 50..59 UDP"
C_FRAMES=$(frames "$WORK/client.pcap")
S_FRAMES=$(frames "$WORK/server.pcap")

# Timeouts far beyond the test's length, so that no flow and no pending
# assignment ages out while it runs on a busy machine. Management clients,
# though, are closed after 2 s of silence: the follower's keepalive (1 s)
# must keep its link.
write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
    "[wire]" "autostart = no" "idle_sleep = 100" \
    "[mgmt]" "idle_timeout = 2" \
    "[flows]" "permit_invalid_flow = yes" "tcp_timeout = 3600" \
    "tcp_closing_timeout = 3600" "udp_timeout = 3600" "pending_ttl = 3600"

# ---- access lines ----
now() { date '+%Y/%m/%d %H:%M:%S'; }

# email_of I: the email of flow I: a mail address, a plain name, a number
# or UTF-8, as Xray allows.
email_of() {
    case $(($1 % 4)) in
    0) echo "user$1@example.com" ;;
    1) echo "name$1" ;;
    2) echo "$((90000 + $1))" ;;
    3) echo "пользователь$1@пример.рф" ;;
    esac
}

# spell I: the client endpoint of flow I as a log may spell it. Some IPv6
# addresses in capitals and one IPv4 address as IPv4-mapped IPv6: linecap-xray
# normalises both to linecapd's spelling.
spell() {
    local ep=${CLIENT[$1]}
    if [ "$1" -eq 6 ]; then
        echo "[::ffff:${ep%:*}]:${ep##*:}"
    elif [[ $ep == \[* ]] && [ $(($1 % 3)) -eq 0 ]; then
        local ip=${ep%]:*}
        echo "${ip^^}]:${ep##*]:}"
    else
        echo "$ep"
    fi
}

# line I EMAIL [FORMAT]: an accepted line for flow I's client, in one of the
# formats of docs/XRAY.md (by default chosen by I).
line() {
    local i=$1 email=$2 f=${3:-$(($1 % 8))} ep t
    ep=$(spell "$i")
    t=$(now)
    case $f in
    0) # Xray 24.x, time with microseconds
        echo "$t.123456 from $ep accepted tcp:www.example.com:443 [vless-in >> direct] email: $email" ;;
    1) # Xray 24.x
        echo "$t from $ep accepted tcp:142.250.196.100:443 [vless-in -> proxy] email: $email" ;;
    2) # Xray 1.8 era: no 'from'
        echo "$t $ep accepted tcp:www.example.com:443 [vless-in >> direct] email: $email" ;;
    3) # Xray 1.x early: email:X with a trailing blank
        echo "$t $ep accepted tcp:www.example.com:443 [vless-in >> direct] email:$email " ;;
    4) # v2fly v4: no detour
        echo "$t $ep accepted tcp:www.example.com:443 email:$email " ;;
    5) # a mux sub-connection: proto-prefixed source, IPv6 destination
        echo "$t from ${PROTO[$i]}:$ep accepted tcp:[2606:4700::1111]:443 [vmess-in ==> proxy] email: $email" ;;
    6) # traffic after the email, outbound-only detour
        echo "$t from $ep accepted udp:8.8.8.8:53 [dns-out] email: $email uplink=1234 downlink=5678" ;;
    7) # CRLF line ending, '=>' detour
        printf '%s\r\n' "$t from $ep accepted tcp:www.example.net:443 [vless-in => direct] email: $email" ;;
    esac
}

# assign_line I [EMAIL]: a line for flow I, recorded as expected.
assign_line() {
    local i=$1 email=${2:-$(email_of "$1")}
    line "$i" "$email"
    printf '%s\t%s\n' "${CLIENT[$i]}" "$email" >> "$EXPECT"
}

# expected_map: {endpoint: email} of every assignment made, newest wins.
expected_map() {
    jq -R -s 'split("\n") | map(select(length > 0) | split("\t"))
              | reduce .[] as $p ({}; .[$p[0]] = $p[1])' "$EXPECT"
}

# check_flows WHAT: all 60 flows listed, each bound to its expected email
# and the others to no user.
flows_now() {
    lc_ctl flows | jq -S -c '[.flows[] | {client, user}] | sort_by(.client)'
}
flows_want() {
    jq -S -c --argjson m "$(expected_map)" \
        '[.flows[] | {client, user: ($m[.client] // null)}] | sort_by(.client)' \
        "$WORK/flows.json"
}
check_flows() {
    local want got deadline=$((SECONDS + 10))
    want=$(flows_want)
    while got=$(flows_now); [ "$got" != "$want" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            diff -u <(jq '.[]' -c <<<"$want") <(jq '.[]' -c <<<"$got") | head -n 40 >&2 || true
            fail "$1: flows differ from the assignments written (- expected, + listed)"
        fi
        sleep 0.1
    done
    echo "ok: $1: $(jq '[.[] | select(.user != null)] | length' <<<"$want") of $N_FLOWS flows bound as written"
}

# check_users WHAT [EXTRA_EMAIL...]: 'user list' holds exactly the expected
# emails (plus the extra ones), all dynamic; with flows present, each user
# holds as many flows as endpoints were assigned to it.
users_now() {
    lc_ctl user list | jq -S -c '[.users[] | {email, static, flows}] | sort_by(.email)'
}
users_want() {
    local with_flows=$1
    shift
    jq -S -c -n --argjson m "$(expected_map)" --argjson wf "$with_flows" \
        --args '($m | to_entries | group_by(.value)
                 | map({email: .[0].value, static: false,
                        flows: (if $wf then length else 0 end)}))
                + ($ARGS.positional | map({email: ., static: false, flows: 0}))
                | sort_by(.email)' "$@"
}
check_users() {
    local what=$1 with_flows=$2 want got deadline=$((SECONDS + 10))
    shift 2
    want=$(users_want "$with_flows" "$@")
    while got=$(users_now); [ "$got" != "$want" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            diff -u <(jq '.[]' -c <<<"$want") <(jq '.[]' -c <<<"$got") | head -n 40 >&2 || true
            fail "$what: 'user list' differs (- expected, + listed)"
        fi
        sleep 0.1
    done
    echo "ok: $what: 'user list' holds the $(jq length <<<"$want") expected users"
}

pending_is() {
    [ "$(lc_stat .assignments.pending)" = "$1" ]
}

start_xray() {
    "$LINECAP_XRAY" -s "$LC_SOCK" --replay 600 --stats 3600 --keepalive 1 \
        "$LOG" 2> "$XERR" &
    X_PID=$!
    wait_for 10 "the follower to open the log" has_text "$XERR" "following $LOG"
}

: > "$EXPECT"

# ---- 1. before 'start': pending; after the capture: bound ----
# A line already in the log when the follower starts is not read.
line 45 before-start@example.com > "$LOG"
lc_start "$WORK/lc.conf"
expect_eq "$(lc_ctl stats | jq -c '[.ports.client.rx_packets, .flows.active]')" \
    "[0,0]" "[client rx_packets, flows] before 'start'"
start_xray
wait_for 10 "the connection to linecapd" has_text "$XERR" "connected to linecapd"
{
    # Flow 0 first goes to another user; its newest email must win.
    line 0 superseded@example.com 4
    for i in $(seq 0 19); do
        case $i in
        1 | 2) assign_line "$i" shared@example.com ;;  # one user, two flows
        *) assign_line "$i" ;;
        esac
    done
    assign_line 50
    assign_line 51
    # Lines that assign nothing, for flows that must stay unassigned.
    t=$(now)
    echo "$t from ${CLIENT[40]} rejected  proxy/vless/encoding: invalid request version"
    echo "$t from ${CLIENT[41]} accepted tcp:1.1.1.1:443 [socks -> proxy]"
    echo "$t from ${CLIENT[42]%:*}:0 accepted tcp:a.example:443 [in >> out] email: port-zero@example.com"
    echo "$t from DNS accepted tcp:1.1.1.1:53 [dns-in >> direct]"
    echo "$t [Info] [123] app/dispatcher: taking detour [direct] for [tcp:www.example.com:443]"
} >> "$LOG"
n_a=22     # distinct endpoints so far
wait_for 10 "$n_a pending assignments" pending_is "$n_a"
check_users "before start" false superseded@example.com
counters_are assigned=23 sent=23 replies_ok=23 replies_error=0 pending=23 bound=0 \
    rejected=1 no_email=1 port_zero=1 dns_source=1 not_access=1
expect_eq "$(lc_ctl flows | jq .count)" 0 "flows before 'start'"

lc_ctl start > /dev/null
wait_rx "$C_FRAMES" "$S_FRAMES"
expect_eq "$(lc_stat .flows.active)" "$N_FLOWS" "flows after the capture"
expect_eq "$(lc_stat .assignments.bound_on_create)" "$n_a" "flows bound on creation"
check_flows "after start"
check_users "after start" true superseded@example.com

# ---- 2. rotation: mv + a new file; the old file's tail counts ----
mv "$LOG" "$LOG.1"
# Xray may still write to the old file after the rename.
{ assign_line 20; assign_line 21; } >> "$LOG.1"
sleep 0.3
{
    for i in $(seq 22 29); do assign_line "$i"; done
    # masked addresses (Xray's log.maskAddress) name no flow
    echo "$(now) from 10.1.*.*:${CLIENT[42]##*:} accepted tcp:a.example:443 [in >> out] email: masked@example.com"
} > "$LOG"
wait_for 10 "the rotation message" has_text "$XERR" "was rotated"
check_flows "after rotation"
check_users "after rotation" true superseded@example.com
counters_are assigned=33 replies_ok=33 bound=10 rotations=1 masked=1
rm -f "$LOG.1"

# ---- 3. truncation in place (copytruncate) ----
# Padding makes the file larger than what follows the truncation, so the
# follower sees a smaller size however its checks fall.
for i in $(seq 1 100); do
    echo "$(now) from 203.0.113.30:$((6000 + i)) accepted tcp:x.example:443 [socks -> proxy]"
done >> "$LOG"
wait_for 10 "the padding to be read" counters_match no_email=101
: > "$LOG"
{
    for i in $(seq 30 39); do assign_line "$i"; done
    # Again the user flow 20 already has: unchanged.
    line 20 "$(email_of 20)" 0
    # A zero-width space makes an email linecapd refuses.
    echo "$(now) from ${CLIENT[44]} accepted tcp:a.example:443 [in >> out] email: bad"$'\u200b'"zw@example.com"
} >> "$LOG"
wait_for 10 "the truncation message" has_text "$XERR" "was truncated"
check_flows "after truncation"
check_users "after truncation" true superseded@example.com
counters_are assigned=44 replies_ok=44 bound=20 unchanged=1 truncations=1 bad_email=1

# ---- 4. linecapd restarts ----
lc_stop
wait_for 10 "the lost connection" has_text "$XERR" "lost linecapd"
# Read while linecapd is away: deferred, then replayed.
{ assign_line 52; assign_line 53; } >> "$LOG"
counters_are assigned=46 deferred=2
n_all=44   # 22 + 10 + 10 + 2 distinct endpoints
lc_start "$WORK/lc.conf"
wait_for 20 "the replay" has_text "$XERR" "replayed $n_all assignments"
# The restarted linecapd knows only what was replayed: its flows are gone,
# dynamic users are not kept in the state file, and every replayed endpoint
# waits as a pending assignment. The superseded email is not replayed.
wait_for 10 "$n_all pending assignments after the restart" pending_is "$n_all"
expect_eq "$(lc_ctl flows | jq .count)" 0 "flows after the restart, before 'start'"
check_users "after the restart" false
counters_are replayed=$n_all connects=2 disconnects=1 replies_ok=$((44 + n_all)) \
    pending=$((23 + n_all)) replies_error=0
lc_ctl start > /dev/null
wait_rx "$C_FRAMES" "$S_FRAMES"
expect_eq "$(lc_stat .assignments.bound_on_create)" "$n_all" "flows bound on creation after the restart"
check_flows "after the restart and the capture"
check_users "after the restart and the capture" true
# A live line after the replay is bound at once.
assign_line 54 >> "$LOG"
check_flows "a live line after the restart"
counters_are assigned=47 sent=45 replies_ok=$((45 + n_all)) bound=21

# ---- 5. a quiet log: linecapd's idle_timeout does not close the link ----
sleep 4
assign_line 55 >> "$LOG"
check_flows "a live line after 4 s of quiet"
counters_are assigned=48 sent=46 connects=2 disconnects=1 replayed=$n_all
has_text "$XERR" "replayed $((n_all + 1)) assignments" &&
    fail "the quiet link was closed and replayed"
expect_eq "$(lc_stat .mgmt.idle_closed)" 0 "management clients closed as idle"

# ---- 6. the end: both stop cleanly ----
kill -TERM "$X_PID"
deadline=$((SECONDS + 10))
while kill -0 "$X_PID" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "linecap-xray did not stop on SIGTERM"
    sleep 0.05
done
rc=0
wait "$X_PID" || rc=$?
X_PID=
expect_eq "$rc" 0 "linecap-xray exit status"
has_text "$XERR" "counters (exit)" || fail "no final counters"
grep -q 'AddressSanitizer\|runtime error' "$XERR" && fail "sanitizer report"
lc_stop
echo "PASS: linecap-xray drives linecapd through rotation, truncation and a restart"
