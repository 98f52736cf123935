#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_node.sh LINECAP_XRAY SOCKREC_PY [PYTHON]
#
# linecap-xray --node NAME --node-addr [TAG=]IP:PORT against sockrec.py: each
# connection starts with `hello node=NAME`; every assignment carries the
# inbound its client connected to (by the line's inbound tag, else the first
# untagged inbound of the client's IP version) and node=NAME; the replay
# after a reconnection carries them too. Bad --node and --node-addr values
# stop the start with status 2.
set -euo pipefail

XRAY=${1:?usage: test_node.sh LINECAP_XRAY SOCKREC_PY [PYTHON]}
SOCKREC=${2:?usage: test_node.sh LINECAP_XRAY SOCKREC_PY [PYTHON]}
PY=${3:-python3}

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
log=$work/access.log

for bad in "--node a/b" "--node-addr 192.0.2.1" "--node-addr bad/tag=192.0.2.1:1" \
	"--node-addr 192.0.2.1:0" "--node-addr [2001:db8::1]443"; do
	rc=0
	# shellcheck disable=SC2086
	"$XRAY" -s "$sock" $bad "$log" 2>"$work/bad.err" || rc=$?
	[ "$rc" -eq 2 ] || fail "$bad: status $rc, expected 2"
done

: >"$log"
start_rec "$work/rec1.out"
"$XRAY" -s "$sock" --node node-a --node-addr 192.0.2.10:443 \
	--node-addr vmess-in=192.0.2.11:8443 --node-addr '[2001:db8:5::10]:443' \
	"$log" 2>"$err" &
xpid=$!
pids+=("$xpid")
wait_for 10 "the first connection" has_text "$err" "connected to linecapd"
wait_for 10 "the hello" has "$work/rec1.out" "hello node=node-a"
has_text "$err" "node node-a, inbounds: 192.0.2.10:443 vmess-in=192.0.2.11:8443 [2001:db8:5::10]:443" ||
	fail "the start message does not list the node's inbounds"
{
	accepted alice@example.com 203.0.113.1:1001
	echo "$(now) from 203.0.113.2:1002 accepted tcp:a.example:443 [vmess-in -> direct] email: bob@example.com"
	echo "$(now) from [2001:db8::1]:1003 accepted tcp:a.example:443 [vless-in >> direct] email: carol@example.com"
	echo "$(now) from 203.0.113.4:1004 accepted tcp:a.example:443 email: dave@example.com"
} >>"$log"
for want in \
	"assign alice@example.com 203.0.113.1:1001 192.0.2.10:443 node=node-a" \
	"assign bob@example.com 203.0.113.2:1002 192.0.2.11:8443 node=node-a" \
	"assign carol@example.com [2001:db8::1]:1003 [2001:db8:5::10]:443 node=node-a" \
	"assign dave@example.com 203.0.113.4:1004 192.0.2.10:443 node=node-a"; do
	wait_for 10 "$want" has "$work/rec1.out" "$want"
done
[ "$(head -n 1 "$work/rec1.out")" = "hello node=node-a" ] || fail "hello is not the first line"

# Reconnection: hello again first, then the replay, with servers and node.
kill "$rec_pid"
wait_exit "$rec_pid" 10 || true
wait_for 10 "the lost connection" has_text "$err" "lost linecapd"
start_rec "$work/rec2.out"
wait_for 15 "the replay" has_text "$err" "replayed 4 assignments"
[ "$(head -n 1 "$work/rec2.out")" = "hello node=node-a" ] || fail "no hello first after reconnection"
wait_for 10 "bob replayed" has "$work/rec2.out" \
	"assign bob@example.com 203.0.113.2:1002 192.0.2.11:8443 node=node-a"
wait_for 10 "carol replayed" has "$work/rec2.out" \
	"assign carol@example.com [2001:db8::1]:1003 [2001:db8:5::10]:443 node=node-a"

# Without --node-addr: node=NAME only; without either: the two-argument form.
term_within "$xpid" 3000
start_rec "$work/rec3.out"
"$XRAY" -s "$sock" --node node-b "$log" 2>"$work/b.err" &
xpid=$!
pids+=("$xpid")
wait_for 10 "node-b's hello" has "$work/rec3.out" "hello node=node-b"
accepted erin@example.com 203.0.113.5:1005 >>"$log"
wait_for 10 "erin" has "$work/rec3.out" "assign erin@example.com 203.0.113.5:1005 node=node-b"
term_within "$xpid" 3000
no_sanitizer_report "$err" "$work/b.err"
echo "PASS: linecap-xray --node and --node-addr"
