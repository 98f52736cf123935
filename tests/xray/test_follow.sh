#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_follow.sh LINECAP_XRAY SOCKREC_PY [PYTHON]
#
# Runs linecap-xray against sockrec.py (a recording stand-in for linecapd's
# socket) and checks, in order: start at the end of the log; accepted lines
# become assign commands and skipped lines are counted; rotation by mv plus
# a new file keeps the old file's tail; truncation; a restart of the socket
# server gives a reconnection and a replay of the recent assignments, one per
# client endpoint with its newest email; a log that does not exist yet is
# waited for and read from its start; SIGTERM stops cleanly. Every wait is
# bounded, and the processes and files it made go away even on failure.
set -euo pipefail

XRAY=${1:?usage: test_follow.sh LINECAP_XRAY SOCKREC_PY [PYTHON]}
SOCKREC=${2:?usage: test_follow.sh LINECAP_XRAY SOCKREC_PY [PYTHON]}
PY=${3:-python3}

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
log=$work/access.log

stop_rec() {
	kill "$rec_pid"
	wait_exit "$rec_pid" 10 || true
}

# ---- 1. start at the end; accepted lines become assignments ----
accepted old@example.com 198.51.100.1:1000 >"$log"
start_rec "$work/rec1.out" "" --error-email refused@example.com
"$XRAY" -s "$sock" --replay 600 --vpn-port 443 "$log" 2>"$err" &
xpid=$!
pids+=("$xpid")
wait_for 10 "the follower to open the log" has_text "$err" "following $log"
wait_for 10 "the first connection" has_text "$err" "connected to linecapd"

{
	accepted alice@example.com 203.0.113.1:1001
	echo "$(now) from [2001:db8::1]:1002 accepted tcp:[2606:4700::1111]:443 [vless-in -> direct] email: bob@example.com"
	echo "$(now) from 203.0.113.20:5000 rejected  proxy/vless/encoding: invalid request version"
	echo "$(now) from DNS accepted tcp:1.1.1.1:53 [dns-in >> direct]"
	echo "$(now) from 203.0.113.21:5001 accepted tcp:1.1.1.1:443 [socks -> proxy]"
	echo "$(now) from 203.0.113.22:0 accepted tcp:a.example:443 [in >> out] email: zero"
	echo "$(now) from 203.0.*.*:5002 accepted tcp:a.example:443 [in >> out] email: masked"
	printf '\001\002junk\377\n'
	echo "$(now) [Info] [123] app/dispatcher: taking detour [direct]"
	accepted refused@example.com 203.0.113.9:1009
} >>"$log"

wait_for 10 "alice" has "$work/rec1.out" "assign alice@example.com 203.0.113.1:1001"
wait_for 10 "bob" has "$work/rec1.out" "assign bob@example.com [2001:db8::1]:1002"
wait_for 10 "the refused user" has "$work/rec1.out" \
	"assign refused@example.com 203.0.113.9:1009"
wait_for 10 "the error reply to be logged" has_text "$err" \
	"linecapd refused an assignment: user refused by the test server"
wait_for 10 "the masked-address message" has_text "$err" "log.maskAddress off"
has_text "$work/rec1.out" "old@example.com" &&
	fail "a line written before start was sent (must start at the end)"
[ "$(wc -l <"$work/rec1.out")" -eq 3 ] || fail "want exactly 3 commands"

# ---- 2. rotation: mv + new file; the old file's tail is not lost ----
accepted carol@example.com 203.0.113.2:2001 >>"$log"
wait_for 10 "A1" has "$work/rec1.out" "assign carol@example.com 203.0.113.2:2001"
mv "$log" "$log.1"
# Xray may still write to the old file after the rename.
accepted carol@example.com 203.0.113.2:2002 >>"$log.1"
sleep 0.3
accepted dave@example.com 203.0.113.3:3001 >"$log"
wait_for 10 "the old file's tail" has "$work/rec1.out" \
	"assign carol@example.com 203.0.113.2:2002"
wait_for 10 "the new file's line" has "$work/rec1.out" \
	"assign dave@example.com 203.0.113.3:3001"
wait_for 10 "the rotation message" has_text "$err" "was rotated"

# ---- 3. truncation in place (copytruncate) ----
for i in $(seq 1 50); do
	echo "$(now) from 203.0.113.30:$((6000 + i)) accepted tcp:x.example:443 [socks -> proxy]"
done >>"$log"
accepted erin@example.com 203.0.113.4:4001 >>"$log"
wait_for 10 "erin" has "$work/rec1.out" "assign erin@example.com 203.0.113.4:4001"
: >"$log"
accepted frank@example.com 203.0.113.5:5001 >>"$log"
wait_for 10 "the line after truncation" has "$work/rec1.out" \
	"assign frank@example.com 203.0.113.5:5001"
wait_for 10 "the truncation message" has_text "$err" "was truncated"

# ---- 4. counters ----
accepted eve@example.com 203.0.113.7:7007 >>"$log"
accepted grace@example.com 203.0.113.7:7007 >>"$log"
wait_for 10 "grace" has "$work/rec1.out" "assign grace@example.com 203.0.113.7:7007"
line=$(counters "$xpid" "$err")
expect_counter "$line" assigned 10
expect_counter "$line" rejected 1
expect_counter "$line" dns_source 1
expect_counter "$line" no_email 51
expect_counter "$line" port_zero 1
expect_counter "$line" masked 1
expect_counter "$line" malformed 1
expect_counter "$line" not_access 1
expect_counter "$line" rotations 1
expect_counter "$line" truncations 1
wait_for 10 "all replies" eval \
	"kill -USR1 $xpid; sleep 0.2; grep 'counters (SIGUSR1)' '$err' | tail -n 1 | grep -q ' replies_ok=9 replies_error=1 '"

# ---- 5. linecapd restarts: reconnection, replay de-duplicated ----
stop_rec
wait_for 10 "the lost connection" has_text "$err" "lost linecapd"
accepted heidi@example.com 203.0.113.8:8008 >>"$log"
wait_for 10 "the deferred assignment" eval \
	"kill -USR1 $xpid; sleep 0.2; grep 'counters (SIGUSR1)' '$err' | tail -n 1 | grep -q ' deferred=1 '"
start_rec "$work/rec2.out" "" --error-email refused@example.com
wait_for 15 "the replay" has_text "$err" "replayed 10 assignments"
for want in \
	"assign alice@example.com 203.0.113.1:1001" \
	"assign bob@example.com [2001:db8::1]:1002" \
	"assign refused@example.com 203.0.113.9:1009" \
	"assign carol@example.com 203.0.113.2:2001" \
	"assign carol@example.com 203.0.113.2:2002" \
	"assign dave@example.com 203.0.113.3:3001" \
	"assign erin@example.com 203.0.113.4:4001" \
	"assign frank@example.com 203.0.113.5:5001" \
	"assign grace@example.com 203.0.113.7:7007" \
	"assign heidi@example.com 203.0.113.8:8008"; do
	wait_for 10 "replay of: $want" has "$work/rec2.out" "$want"
	[ "$(count "$work/rec2.out" "$want")" -eq 1 ] || fail "sent twice: $want"
done
has_text "$work/rec2.out" "eve@example.com" &&
	fail "an older email of a replayed endpoint was sent"
has_text "$work/rec2.out" "old@example.com" && fail "old line replayed"
[ "$(wc -l <"$work/rec2.out")" -eq 10 ] || fail "want exactly 10 replayed"
accepted ivan@example.com 203.0.113.11:1111 >>"$log"
wait_for 10 "a live line after replay" has "$work/rec2.out" \
	"assign ivan@example.com 203.0.113.11:1111"

# ---- 6. a log that does not exist yet is waited for, read from its start ----
err2=$work/xray2.err
"$XRAY" -s "$sock" --replay 0 "$work/later.log" 2>"$err2" &
x2=$!
pids+=("$x2")
wait_for 10 "the waiting message" has_text "$err2" "waiting for $work/later.log"
accepted judy@example.com 203.0.113.12:1212 >"$work/later.log"
wait_for 10 "the line of the late file" has "$work/rec2.out" \
	"assign judy@example.com 203.0.113.12:1212"
kill -TERM "$x2"
wait_exit "$x2" 10 || fail "second follower exited with status $?"

# ---- 7. SIGTERM stops cleanly ----
kill -TERM "$xpid"
wait_exit "$xpid" 10 || fail "follower exited with status $?"
has_text "$err" "counters (exit)" || fail "no final counters"
grep -q 'AddressSanitizer\|runtime error' "$err" "$err2" &&
	fail "sanitizer report"
echo "PASS: linecap-xray follows, rotates, truncates, reconnects and replays"
