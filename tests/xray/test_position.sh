#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_position.sh LINECAP_XRAY SOCKREC_PY [PYTHON]
#
# A follower with --position is stopped (an upgrade, a restart of its
# unit) while Xray goes on logging. Started again, it reads on from where it
# was: the lines logged while it was down are sent, once, and nothing read
# before comes again. A log rotated while it was down is a new file, read
# from its start; a position file that names another file, or that is
# garbage, is said and read past, never fatal.
set -euo pipefail

XRAY=${1:?usage: test_position.sh LINECAP_XRAY SOCKREC_PY [PYTHON]}
SOCKREC=${2:?usage: test_position.sh LINECAP_XRAY SOCKREC_PY [PYTHON]}
PY=${3:-python3}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log=$work/access.log
pos=$work/position
rec=$work/rec.out
ts="$(now).123456"
LINE_IP=203.0.113.70
LINE_EMAIL=p@example.com
follower() {
	"$XRAY" -s "$sock" --replay 0 --position "$pos" "$log" 2>>"$err" &
	xpid=$!
	pids+=("$xpid")
	wait_for 10 "the connection" has_text "$err" "connected to linecapd"
}
stop_follower() {
	kill "$xpid"
	wait_exit "$xpid" 10 || fail "the follower exited with status $?"
}

# Lines before the first start are old: the first start reads from the end.
write_lines 3000 5
start_rec "$rec"
follower
wait_for 10 "the follower to open the log" has_text "$err" "following $log (inode"
write_lines 3100 10
expect_lines 3100 10
stop_follower
[ -s "$pos" ] || fail "no position file after a clean stop"
echo "ok: position saved at exit: $(tr '\n' ' ' < "$pos")"

# Down: Xray logs on. Up again: those lines, once; the earlier ones, never.
write_lines 3200 10
: >"$err"
follower
wait_for 10 "the resumed follower" has_text "$err" "where $pos says it was"
expect_lines 3200 10
write_lines 3300 5
expect_lines 3300 5
for p in 3000 3001 3100 3109; do
	[ "$(count "$rec" "assign p@example.com 203.0.113.70:$p")" -le 1 ] ||
		fail "port $p sent again after the restart"
done
[ "$(count "$rec" "assign p@example.com 203.0.113.70:3000")" -eq 0 ] ||
	fail "a line from before the first start was sent"
echo "ok: the 10 lines logged while the follower was down were sent once, nothing before again"

# The position is kept while running too (at most a second behind): a
# SIGKILL loses only what was read since.
write_lines 3400 5
expect_lines 3400 5
sleep 1.5
kill -KILL "$xpid"
wait "$xpid" 2>/dev/null || true
write_lines 3500 5
: >"$err"
follower
expect_lines 3500 5
[ "$(count "$rec" "assign p@example.com 203.0.113.70:3400")" -eq 1 ] ||
	fail "a line read a second before a SIGKILL was sent again"
echo "ok: after SIGKILL, the lines logged meanwhile were sent, the ones before not again"
stop_follower

# Rotated while down: the file at the name is new, read from its start.
mv "$log" "$log.1"
write_lines 3600 5
: >"$err"
follower
wait_for 10 "the rotated log noted" has_text "$err" "rotated or rewritten since"
expect_lines 3600 5
echo "ok: a log rotated while the follower was down is read from its start"
stop_follower

# A position file that is garbage is said and read past.
echo "not a position" >"$pos"
write_lines 3700 3
: >"$err"
follower
wait_for 10 "the bad position noted" has_text "$err" "not a position file"
write_lines 3800 3
expect_lines 3800 3
[ "$(count "$rec" "assign p@example.com 203.0.113.70:3700")" -eq 0 ] ||
	fail "with a bad position file the log was not read from its end"
echo "ok: a garbage position file is said, and the log read from its end"
stop_follower
echo "PASS: xray_position"
