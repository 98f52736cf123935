#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_stall.sh LINECAP_XRAY SOCKREC_PY [PYTHON]
#
# A quiet link is a healthy link. With --stall-timeout 1, the follower sends
# one assignment, has nothing to send for longer than the stall timeout, then
# sends another: there must be no reconnection and no replay (the recorder
# sees one connection and exactly the live commands). Then the other side:
# a recorder that stops reading (SIGSTOP) while a backlog waits for it is
# still dropped after the stall timeout, and the follower reconnects and
# replays when it reads again. Last, linecapd's side of a quiet link: it
# closes a client idle for [mgmt] idle_timeout (the recorder does the same
# with --idle-timeout 2). A follower with --keepalive 1 pings and keeps its
# one connection through 5 s of quiet, with no replay; one with
# --keepalive 0 is closed, reconnects and replays, which is what the
# keepalive is for.
set -euo pipefail

XRAY=${1:?usage: test_stall.sh LINECAP_XRAY SOCKREC_PY [PYTHON]}
SOCKREC=${2:?usage: test_stall.sh LINECAP_XRAY SOCKREC_PY [PYTHON]}
PY=${3:-python3}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log=$work/access.log
: >"$log"
start_rec "$work/rec.out" "$work/conn.out"
"$XRAY" -s "$sock" --replay 600 --stall-timeout 1 "$log" 2>"$err" &
xpid=$!
pids+=("$xpid")
wait_for 10 "the first connection" has_text "$err" "connected to linecapd"

# ---- 1. quiet for longer than the stall timeout, then a line ----
accepted alice@example.com 203.0.113.1:1001 >>"$log"
wait_for 10 "alice" has "$work/rec.out" "assign alice@example.com 203.0.113.1:1001"
sleep 2.5
accepted bob@example.com 203.0.113.2:1002 >>"$log"
wait_for 10 "bob" has "$work/rec.out" "assign bob@example.com 203.0.113.2:1002"
# A wrong clock would also fire a little after the send; give it time to.
sleep 1.5
accepted carol@example.com 203.0.113.3:1003 >>"$log"
wait_for 10 "carol" has "$work/rec.out" "assign carol@example.com 203.0.113.3:1003"
sleep 0.3
has_text "$err" "lost linecapd" && fail "a quiet link was dropped"
[ "$(lines_of "$work/conn.out")" -eq 1 ] ||
	fail "want 1 connection, the recorder saw $(lines_of "$work/conn.out")"
[ "$(lines_of "$work/rec.out")" -eq 3 ] ||
	fail "want exactly the 3 live commands, got $(lines_of "$work/rec.out")"
line=$(counters "$xpid" "$err")
expect_counter "$line" connects 1
expect_counter "$line" disconnects 0
expect_counter "$line" replayed 0
expect_counter "$line" sent 3
echo "quiet link: 1 connection, 3 commands, no replay after 2.5 s and 1.5 s quiet"

# ---- 2. a reader that stops with bytes waiting is still dropped ----
kill -STOP "$rec_pid"
n=20000
# The clock starts before the first byte: the stall cannot begin earlier.
t0=$(ms_now)
awk -v n="$n" -v t="$(now)" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "%s.5 from 198.51.100.%d:%d accepted tcp:a.example:443 [in >> out] email: user%d@example.com\n",
			t, 1 + i % 200, 10000 + int(i / 200), i % 97
}' >>"$log"
wait_for 15 "the stalled link to be dropped" has_text "$err" \
	"has not read its socket"
t1=$(ms_now)
echo "stalled reader dropped $((t1 - t0)) ms after the backlog was begun"
[ $((t1 - t0)) -ge 1000 ] || fail "dropped before the stall timeout"
kill -CONT "$rec_pid"
wait_for 15 "the replay after the stall" has_text "$err" "replayed "
[ "$(lines_of "$work/conn.out")" -eq 2 ] ||
	fail "want 2 connections, the recorder saw $(lines_of "$work/conn.out")"
line=$(counters "$xpid" "$err")
expect_counter "$line" disconnects 1
expect_counter "$line" assigned $((n + 3))
expect_counter "$line" truncations 0

term_within "$xpid" 1000
echo "stalled link: SIGTERM exit in $term_ms ms"

# ---- 3. linecapd closes idle clients: the keepalive keeps the link ----
kill -TERM "$rec_pid"
wait_exit "$rec_pid" 10 || true
for k in 1 0; do
	sock=$work/idle$k.sock
	: >"$work/idle$k.log"
	start_rec "$work/rec-idle$k.out" "$work/conn-idle$k.out" --idle-timeout 2
	"$XRAY" -s "$sock" --replay 600 --keepalive "$k" "$work/idle$k.log" \
		2>"$work/idle$k.err" &
	eval "x$k=\$!"
	pids+=("$!")
	wait_for 10 "connection $k" has_text "$work/idle$k.err" "connected to linecapd"
	wait_for 10 "follower $k to open its log" has_text "$work/idle$k.err" "following"
	accepted dave@example.com 203.0.113.4:1004 >>"$work/idle$k.log"
done
sleep 5
for k in 1 0; do
	accepted erin@example.com 203.0.113.5:1005 >>"$work/idle$k.log"
	wait_for 10 "erin ($k)" has "$work/rec-idle$k.out" \
		"assign erin@example.com 203.0.113.5:1005"
done
sleep 0.3
pings=$(count "$work/rec-idle1.out" ping)
line=$(counters "$x1" "$work/idle1.err")
[ "$(lines_of "$work/conn-idle1.out")" -eq 1 ] ||
	fail "keepalive: want 1 connection, got $(lines_of "$work/conn-idle1.out")"
[ "$pings" -ge 2 ] || fail "keepalive: want pings, got $pings"
[ "$(grep -c '^assign' "$work/rec-idle1.out")" -eq 2 ] ||
	fail "keepalive: want exactly the 2 live commands"
expect_counter "$line" disconnects 0
expect_counter "$line" replayed 0
expect_counter "$line" replies_ok 2
has_text "$work/idle1.err" "lost linecapd" && fail "keepalive: the link was lost"
echo "keepalive 1 s, idle close 2 s, 5 s quiet: 1 connection, $pings pings, no replay"
[ "$(lines_of "$work/conn-idle0.out")" -ge 2 ] ||
	fail "without keepalive the recorder should have closed the idle link"
has_text "$work/idle0.err" "replayed 1 assignments" ||
	fail "without keepalive: want a replay after the idle close"
echo "keepalive 0: closed when idle, $(lines_of "$work/conn-idle0.out") connections and a replay"
term_within "$x1" 1000
term_within "$x0" 1000

no_sanitizer_report "$err" "$work"/idle*.err
echo "PASS: a quiet link stays up, also through linecapd's idle timeout; a link with unread bytes is dropped after the stall timeout"
