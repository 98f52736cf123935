#!/usr/bin/env bash
# linecapctl top against linecapd on pcap vdevs replaying lc-pcapgen's load
# in a loop (net_pcap infinite_rx, as test_shaper.sh does), cut down to the
# untagged 1000-byte frames of 10.1.0.1-3 and weighed so that each user
# offers another share of what each port receives (every port gives the
# worker full bursts, so the same frames per second), far above its limit:
#
#              address   frames of the load up, down   limits up, down
#   alpha@t    10.1.0.1  x 0.25, x 1.5                 1mbit, 40mbit
#   bravo@t    10.1.0.2  x 3,    x 0.5                 20mbit, 10mbit
#   charlie@t  10.1.0.3  x 0.75, x 0.25                8mbit, 2mbit
#   idle@t     no traffic                              5mbit, 5mbit
#
# Up, bravo offers 3/4 of the client port's frames, charlie 3/16, alpha
# 1/16; down, alpha 2/3 of the server port's, bravo 2/9, charlie 1/9. So
# the orders differ: rate (up + down) bravo alpha charlie, up bravo charlie
# alpha, down alpha bravo charlie; idle@t last in each. What the ports
# transmit goes to /dev/null: only the counters matter here.
#
# --once and a stdout that is not a terminal print one refresh as text. The
# live view runs in a detached tmux session of 120x40 on a server of its
# own (-S), with a shell in the pane: the header, the users with their
# rates and limits, the order, the keys s, d, + and q, a resize to 60x20,
# a user deleted and linecapd going away and coming back, then SIGTERM; the
# shell's stty settings after top must be those before it. Without tmux the
# test is skipped (77).
. "$(dirname "$0")/lib.sh"

TMUX_SOCK=$WORK/tmux.sock
S=top

# The tmux server, then lib.sh's cleanup with the test's status in $?
# (without set -e, which would end the trap at that `exit` of a failure).
top_cleanup() {
    local rc=$?
    set +e
    if command -v tmux > /dev/null; then
        tmux -S "$TMUX_SOCK" kill-server 2> /dev/null
    fi
    (exit "$rc")
    lc_cleanup
}
trap top_cleanup EXIT INT TERM

CIN=$WORK/client.pcap
SIN=$WORK/server.pcap
CONF=$WORK/lc.conf
CTL=("$LINECAPCTL" -s "$LC_SOCK")

# weigh FILE src|dst W1 W2 W3: only the untagged IPv4 frames whose client
# address (the source in the client capture, the destination in the server
# one) is 10.1.0.1, .2 or .3, each W1, W2 or W3 times (a fraction keeps
# every so many), in place.
weigh() {
    python3 - "$@" <<'PY' || fail "weigh $1"
import struct, sys
data = open(sys.argv[1], "rb").read()
at = 26 if sys.argv[2] == "src" else 30
e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
weight = {bytes([10, 1, 0, n + 1]): float(w) for n, w in enumerate(sys.argv[3:6])}
acc = {a: 0.0 for a in weight}
out, i = [data[:24]], 24
while i + 16 <= len(data):
    incl = struct.unpack(e + "I", data[i + 8:i + 12])[0]
    frame, record = data[i + 16:i + 16 + incl], data[i:i + 16 + incl]
    a = frame[at:at + 4]
    if frame[12:14] == b"\x08\x00" and a in weight:
        acc[a] += weight[a]
        while acc[a] >= 1:
            out.append(record)
            acc[a] -= 1
    i += 16 + incl
open(sys.argv[1], "wb").write(b"".join(out))
PY
}

# order TEXT: the users in the order the text lists them, on one line.
order() {
    grep -oE '^(alpha|bravo|charlie|idle)@t' <<<"$1" | paste -sd' '
}

# rate_of TEXT EMAIL up|down: the rate of a user's row ("9.8M" of "9.8M/10M").
rate_of() {
    local col
    [ "$3" = up ] && col=2 || col=3
    awk -v e="$2" -v c="$col" '$1 == e { split($c, a, "/"); print a[1]; exit }' <<<"$1"
}

# check_view WHAT TEXT ORDER: the ports, the users in ORDER, and the users
# with traffic at a rate above 0 against their limits.
check_view() {
    local what=$1 text=$2 r
    grep -qE '^PORT +RX PKT/S' <<<"$text" || fail "$what: no port header in:
$text"
    grep -qE '^client +[0-9.]+[kMG]? ' <<<"$text" || fail "$what: no client port rates in:
$text"
    grep -qE '^server +[0-9.]+[kMG]? ' <<<"$text" || fail "$what: no server port rates in:
$text"
    expect_eq "$(order "$text")" "$3" "$what: order"
    # alpha's 1 mbit up is left out: at 125 frames/s passed out of tens of
    # thousands offered, the estimate of what passed may read 0.
    local email dir limit
    for r in "alpha@t down /40M" "bravo@t up /20M" "bravo@t down /10M" \
             "charlie@t up /8M" "charlie@t down /2M"; do
        read -r email dir limit <<<"$r"
        grep -qE "^$email .*$limit" <<<"$text" || fail "$what: $email without its limit $limit"
        case $(rate_of "$text" "$email" "$dir") in
        0 | - | "") fail "$what: $email $dir rate '$(rate_of "$text" "$email" "$dir")' in:
$text" ;;
        esac
    done
    grep -qE '^idle@t +0/5M +0/5M' <<<"$text" || fail "$what: idle@t not at 0/5M in:
$text"
    echo "ok: $what: ports, limits, rates above 0"
}

# ---- linecapd with the load ----

"$LC_PCAPGEN" load "$CIN" "$SIN" --count 20 > /dev/null
weigh "$CIN" src 0.25 3 0.75
weigh "$SIN" dst 1.5 0.5 0.25
# 20 rounds of 4 frames (flows) per address.
expect_eq "$(frames "$CIN") $(frames "$SIN")" "320 180" "frames weighed [client, server]"

lc_write_conf "$CONF" \
    "[eal]" \
    "args = --no-huge -m 512 --no-pci -l 0,1 --file-prefix=lc-$$ --log-level=warning" \
    "args = --vdev=net_pcap0,rx_pcap=$CIN,tx_pcap=/dev/null,infinite_rx=1" \
    "args = --vdev=net_pcap1,rx_pcap=$SIN,tx_pcap=/dev/null,infinite_rx=1" \
    "[wire]" "mbufs = 8192" "autostart = no" \
    "[flows]" "capacity = 4096" \
    "[users]" "capacity = 64" "state_file = $WORK/users.conf" \
    "[mgmt]" "socket = $LC_SOCK" \
    "[shaper]" "port_rate = 10gbit"
lc_start "$CONF"
printf '%s\n' \
    "user set alpha@t up=1mbit down=40mbit" \
    "user set bravo@t up=20mbit down=10mbit" \
    "user set charlie@t up=8mbit down=2mbit" \
    "user set idle@t up=5mbit down=5mbit" \
    "assign alpha@t 10.1.0.1" "assign bravo@t 10.1.0.2" "assign charlie@t 10.1.0.3" \
    "start" | lc_ctl - > "$WORK/setup.json"
jq -se 'length == 8 and all(.ok)' "$WORK/setup.json" > /dev/null ||
    fail "setup: $(cat "$WORK/setup.json")"
# Past the first queue fills and the first flows' creation.
sleep 1

# ---- plain text: --once, and a stdout that is not a terminal ----

t0=$EPOCHREALTIME
out=$("${CTL[@]}" top --once) || fail "top --once exited $?"
took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
echo "--- top --once (${took} s)"
echo "$out"
awk -v t="$took" 'BEGIN { exit t >= 0.9 && t < 5 ? 0 : 1 }' ||
    fail "top --once took $took s: two samples 1 s apart expected"
grep -qE "^linecapctl top  inline present  uptime [0-9]+s  every 1s  sort rate  $LC_SOCK$" \
    <<<"$out" || fail "top --once: title"
check_view "--once" "$out" "bravo@t alpha@t charlie@t idle@t"
grep -qE '^users 4  flows [0-9]+  up [0-9.]+[kMG]  down [0-9.]+[kMG]  drops/s up ' <<<"$out" ||
    fail "top --once: totals line"

out=$("${CTL[@]}" top --sort up --interval 0.5)
check_view "non-tty, --sort up --interval 0.5" "$out" "bravo@t charlie@t alpha@t idle@t"
grep -q "every 0.5s  sort up  " <<<"$out" || fail "interval and sort not in the title"
out=$("${CTL[@]}" top --once --sort email -n 2)
expect_eq "$(order "$out")" "alpha@t bravo@t" "--sort email -n 2"

rc=0
err=$("${CTL[@]}" top --once --sort speed 2>&1) || rc=$?
expect_eq "$rc" 2 "exit status of --sort speed"
grep -q "expected rate, up, down, drops, flows or email" <<<"$err" || fail "--sort speed: $err"
rc=0
err=$("$LINECAPCTL" -s "$WORK/nothing.sock" top --once 2>&1) || rc=$?
expect_eq "$rc" 2 "exit status of --once without linecapd"
grep -q "cannot reach linecapd at $WORK/nothing.sock" <<<"$err" || fail "no linecapd: $err"

# ---- the live view, in tmux ----

if ! command -v tmux > /dev/null; then
    echo "SKIP: tmux is not installed (scripts/install-deps.sh installs it): the live view was not tested" >&2
    exit 77
fi

tm() {
    tmux -S "$TMUX_SOCK" "$@"
}

pane() {
    tm capture-pane -p -t "$S"
}

# wait_pane PATTERN [SECONDS]: until the pane shows a line matching the
# extended regex; fails with the pane otherwise.
wait_pane() {
    local i
    for ((i = 0; i < ${2:-10} * 10; i++)); do
        pane | grep -qE -- "$1" && return 0
        sleep 0.1
    done
    fail "the pane never showed /$1/:
$(pane)"
}

# top_pid: linecapctl, the child of the pane's shell.
top_pid() {
    pgrep -P "$(tm display -p -t "$S" '#{pane_pid}')" -f "top$" | head -n1
}

# A shell without rc files, so that its prompt and settings are known.
tm -f /dev/null new-session -d -x 120 -y 40 -s "$S" \
    "env -i PATH=$PATH TERM=screen HOME=$WORK PS1='lc-shell\$ ' bash --norc --noprofile"
tm set-option -t "$S" status off > /dev/null
# shellcheck disable=SC2016
run_top='stty -g > '"$WORK"'/stty.before; '"${CTL[*]}"' top; echo "top-exited-$?"; stty -g > '"$WORK"'/stty.after'
tm send-keys -t "$S" "clear; $run_top" Enter

sleep 3
screen=$(pane)
echo "--- tmux pane, 120x40, after 3 s"
echo "$screen"
grep -qE '^linecapctl top  inline present  uptime [0-9]+s  every 1s  sort rate  ' <<<"$screen" ||
    fail "pane: title"
grep -qE '^EMAIL +UP +DOWN +DROP/S UP +DROP/S DN +FLOWS$' <<<"$screen" || fail "pane: users' header"
grep -qE '^q quit' <<<"$(tail -n1 <<<"$screen")" || fail "pane: keys on the last line"
check_view "tmux" "$screen" "bravo@t alpha@t charlie@t idle@t"

tm send-keys -t "$S" s
wait_pane 'sort up  '
check_view "tmux, key s" "$(pane)" "bravo@t charlie@t alpha@t idle@t"
tm send-keys -t "$S" d
wait_pane 'sort down  '
check_view "tmux, key d" "$(pane)" "alpha@t bravo@t charlie@t idle@t"
tm send-keys -t "$S" +
wait_pane 'every 2s  sort down  '
tm send-keys -t "$S" -- -
wait_pane 'every 1s  sort down  '
echo "ok: keys s, d, + and -"

# A narrow terminal: the drops and flows columns go, the users stay.
tm resize-window -t "$S" -x 60 -y 20
wait_pane '^EMAIL +UP +DOWN *$'
wait_pane '^PORT +RX PKT/S +TX PKT/S +DROPS/S$'
narrow=$(pane)
echo "--- tmux pane, 60x20"
echo "$narrow"
awk 'length($0) > 60 { exit 1 }' <<<"$narrow" || fail "a line wider than 60 columns"
expect_eq "$(order "$narrow")" "alpha@t bravo@t charlie@t idle@t" "60 columns: order"
tm resize-window -t "$S" -x 120 -y 40
wait_pane 'DROP/S UP'

# A user deleted between two samples leaves the table.
lc_ctl user del idle@t > /dev/null
for ((i = 0; i < 30; i++)); do
    pane | grep -q '^idle@t' || break
    sleep 0.1
done
expect_eq "$(order "$(pane)")" "alpha@t bravo@t charlie@t" "after user del idle@t"

# linecapd goes away: top says so and keeps trying; when it is back, so are
# the users (static ones are saved), without rates until a second sample.
# (While lc_stop waits for linecapd to exit, the first message, "closed
# the connection", may already have given way to the second.)
lc_stop
wait_pane "linecapd at $LC_SOCK (closed the connection|: No such file).*; retrying every 1s"
echo "ok: linecapd gone: $(pane | grep -m1 'retrying')"
wait_pane "cannot reach linecapd at $LC_SOCK: .*; retrying every 1s"
lc_start "$CONF"
wait_pane '^bravo@t +0/20M' 15
pane | grep -q 'retrying' && fail "the message stayed after linecapd came back:
$(pane)"
echo "ok: linecapd back: the users again, message gone"

tm send-keys -t "$S" q
wait_pane '^top-exited-0$'
wait_pane '^lc-shell\$ *$'
cmp -s "$WORK/stty.before" "$WORK/stty.after" ||
    fail "terminal settings differ after q: $(cat "$WORK/stty.before") / $(cat "$WORK/stty.after")"
echo "ok: q: top exited 0, the shell is back with its terminal settings"

# SIGTERM, likewise.
tm send-keys -t "$S" "clear; $run_top" Enter
wait_pane '^EMAIL '
pid=$(top_pid)
[ -n "$pid" ] || fail "no linecapctl top under the pane's shell"
kill -TERM "$pid"
wait_pane '^top-exited-0$'
cmp -s "$WORK/stty.before" "$WORK/stty.after" || fail "terminal settings differ after SIGTERM"
echo "ok: SIGTERM: top exited 0 and gave the terminal back"

echo "PASS: top"
