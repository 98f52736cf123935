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
# replays when it reads again.
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
awk -v n="$n" -v t="$(now)" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "%s.5 from 198.51.100.%d:%d accepted tcp:a.example:443 [in >> out] email: user%d@example.com\n",
			t, 1 + i % 200, 10000 + int(i / 200), i % 97
}' >>"$log"
t0=$(ms_now)
wait_for 15 "the stalled link to be dropped" has_text "$err" \
	"has not read its socket"
t1=$(ms_now)
echo "stalled reader dropped $((t1 - t0)) ms after the backlog was written"
[ $((t1 - t0)) -ge 900 ] || fail "dropped before the stall timeout"
kill -CONT "$rec_pid"
wait_for 15 "the replay after the stall" has_text "$err" "replayed "
[ "$(lines_of "$work/conn.out")" -eq 2 ] ||
	fail "want 2 connections, the recorder saw $(lines_of "$work/conn.out")"
line=$(counters "$xpid" "$err")
expect_counter "$line" disconnects 1
expect_counter "$line" assigned $((n + 3))
expect_counter "$line" truncations 0

term_within "$xpid" 1000
no_sanitizer_report "$err"
echo "PASS: a quiet link stays up; a link with unread bytes is dropped after the stall timeout (SIGTERM exit in $term_ms ms)"
