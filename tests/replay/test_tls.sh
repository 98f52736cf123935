#!/usr/bin/env bash
# Management over TLS: linecapd on pcap vdevs with [mgmt] listen on
# 127.0.0.1:<free port>, certificates from tls_certs.sh (a CA, linecapd's
# with SAN IP 127.0.0.1, an operator's, a follower's, one of our CA in
# neither list, and one of another CA). Checks:
#   - the operator (linecapctl --connect) runs `user set` and `stats`, by IP
#     and by name (localhost, the server's DNS SAN);
#   - the follower runs `ping`, `assign` and `unassign`; its `user set` and
#     `flows` are refused, and `user set` changes nothing, alone and inside
#     a pipelined batch; the operator's `top --once` works over TLS;
#   - linecapctl refuses a server certificate that --ca did not sign;
#   - another CA's certificate, no certificate (openssl s_client without
#     -cert), and a certificate whose CN has no role are refused, and
#     linecapd logs it and counts it;
#   - 1,000 pipelined assign lines over TLS get 1,000 replies, in order;
#   - linecap-xray --connect with the follower's certificate follows an
#     access log and its assignments land; after a restart of linecapd it
#     reconnects over TLS and replays them;
#   - max_clients counts Unix and TLS clients together.
# Needs LINECAP_XRAY besides what lib.sh needs, and openssl(1) and python3.
. "$(dirname "$0")/lib.sh"

: "${LINECAP_XRAY:?}"
command -v openssl > /dev/null || { echo "SKIP: no openssl"; exit 77; }

X_PID=
tls_cleanup() {
    local rc=$?
    set +e
    if [ -n "$X_PID" ] && kill -0 "$X_PID" 2>/dev/null; then
        kill -KILL "$X_PID" 2>/dev/null
        wait "$X_PID" 2>/dev/null
    fi
    if [ "$rc" -ne 0 ] && [ -f "$WORK/xray.err" ]; then
        echo "--- linecap-xray stderr ---" >&2
        tail -n 20 "$WORK/xray.err" >&2
    fi
    (exit "$rc")
    lc_cleanup
}
trap tls_cleanup EXIT INT TERM

C=$WORK/certs
"$(dirname "$0")/tls_certs.sh" "$C"

PORT=$(lc_free_port)
ADDR=127.0.0.1:$PORT

"$LC_PCAPGEN" midstream "$WORK/c.pcap" "$WORK/s.pcap" > /dev/null
write_conf "$WORK/lc.conf" inline "$WORK/c.pcap" "$WORK/s.pcap" \
    "[wire]" "autostart = no" \
    "[mgmt]" "listen = $ADDR" "tls_cert = $C/server.pem" "tls_key = $C/server.key" \
    "tls_ca = $C/ca.pem" "operators = lc-operator" "followers = lc-follower" \
    "max_clients = 3"

# A listener without its certificates does not start, and says why.
write_conf "$WORK/bad.conf" inline "$WORK/c.pcap" "$WORK/s.pcap" \
    "[mgmt]" "listen = $ADDR" "tls_cert = $C/server.pem"
if "$LINECAPD" --config "$WORK/bad.conf" > "$WORK/bad.log" 2>&1; then
    fail "linecapd started with listen and no tls_key/tls_ca"
fi
grep -q "listen needs tls_cert, tls_key and tls_ca" "$WORK/bad.log" ||
    fail "no clear start error: $(cat "$WORK/bad.log")"
echo "ok: listen without certificates is a start error"

lc_start "$WORK/lc.conf"

as() { # ROLE [ADDR] -- ARG...: linecapctl over TLS with ROLE's certificate
    local who=$1 at=$ADDR
    shift
    if [ "$1" != -- ]; then at=$1; shift; fi
    shift
    "$LINECAPCTL" --connect "$at" --cert "$C/$who.pem" --key "$C/$who.key" \
        --ca "$C/ca.pem" --json "$@"
}

# ---- the operator ----
r=$(as operator -- user set alice@t up=1mbit down=2mbit) || fail "operator user set: $r"
expect_eq "$(jq -r .ok <<<"$r")" true "operator: user set"
r=$(as operator -- stats) || fail "operator stats: $r"
expect_eq "$(jq -r '.mgmt | has("tls_failed")' <<<"$r")" true "operator: stats"
r=$(as operator "localhost:$PORT" -- ping) || fail "operator by name: $r"
expect_eq "$(jq -r .ok <<<"$r")" true "operator: by the name in the DNS SAN"

# ---- the follower ----
expect_eq "$(as follower -- ping | jq -r .ok)" true "follower: ping"
expect_eq "$(as follower -- assign bob@t 10.9.0.1:1234 | jq -r .ok)" true "follower: assign"
before=$(lc_ctl user get alice@t | jq -c ".user | del(.age)")
r=$(as follower -- user set alice@t up=9mbit || true)
expect_eq "$(jq -r .ok <<<"$r")" false "follower: user set refused"
grep -q "not allowed for a follower" <<<"$r" || fail "refusal says: $r"
r=$(printf 'ping\nuser set alice@t up=7mbit\nuser del alice@t\nassign carol@t 10.9.0.2\n' |
    as follower -- - || true)
expect_eq "$(jq -r .ok <<<"$r" | paste -sd' ')" "true false false true" \
    "follower: a batch runs only its commands"
expect_eq "$(lc_ctl user get alice@t | jq -c ".user | del(.age)")" "$before" \
    "follower: alice@t unchanged"
expect_eq "$(as follower -- unassign 10.9.0.1:1234 | jq -r .ok)" true "follower: unassign"
r=$(as follower -- flows || true)
expect_eq "$(jq -r .ok <<<"$r")" false "follower: a streamed listing refused"
top=$("$LINECAPCTL" --connect "$ADDR" --cert "$C/operator.pem" --key "$C/operator.key" \
      --ca "$C/ca.pem" top --once) || fail "top --once over TLS: $top"
grep -q "alice@t" <<<"$top" || fail "top --once over TLS does not list alice@t: $top"
echo "ok: operator: top --once over TLS"

# ---- refused clients ----
# A client that does not trust linecapd's certificate does not talk to it.
r=$("$LINECAPCTL" --connect "$ADDR" --cert "$C/operator.pem" --key "$C/operator.key" \
    --ca "$C/other-ca.pem" --json ping 2>&1) && fail "a server of another CA was trusted: $r"
grep -q "certificate is not accepted" <<<"$r" || fail "distrust not explained: $r"
echo "ok: linecapctl refuses a linecapd whose certificate --ca did not sign"
log_has() { grep -qF -- "$1" "$LC_LOG"; }
r=$("$LINECAPCTL" --connect "$ADDR" --cert "$C/stranger.pem" --key "$C/stranger.key" \
    --ca "$C/ca.pem" --json ping 2>&1) && fail "another CA's certificate was served: $r"
grep -q '"ok":true' <<<"$r" && fail "another CA's certificate got a reply: $r"
for _ in $(seq 50); do log_has "management over TLS: refused" && break; sleep 0.1; done
log_has "management over TLS: refused" || fail "no log of the refused certificate"
echo "ok: another CA's certificate refused and logged"
failed=$(lc_stat .mgmt.tls_failed)
out=$(timeout 10 openssl s_client -connect "$ADDR" -CAfile "$C/ca.pem" -quiet \
      <<<"ping" 2>&1 || true)
grep -q '"ok":true' <<<"$out" && fail "a client without a certificate got a reply"
for _ in $(seq 50); do
    [ "$(lc_stat .mgmt.tls_failed)" -gt "$failed" ] && break
    sleep 0.1
done
[ "$(lc_stat .mgmt.tls_failed)" -gt "$failed" ] || fail "no-certificate client not counted"
echo "ok: a client without a certificate refused"
r=$(as nobody -- ping 2>&1 || true)
grep -q "neither \[mgmt\] operators nor followers" <<<"$r" || fail "no-role CN: $r"
log_has "CN 'lc-nobody' is in neither" || fail "no log of the CN without a role"
echo "ok: a CN without a role refused and logged"

# ---- pipelining: 1,000 assign lines over TLS ----
for i in $(seq 0 999); do
    echo "assign p$i@t 10.8.$((i / 250)).$((i % 250 + 1)):$((1000 + i))"
done > "$WORK/assign.txt"
as follower -- - < "$WORK/assign.txt" > "$WORK/assign.out" || fail "pipelined assign failed"
expect_eq "$(wc -l < "$WORK/assign.out")" 1000 "pipelined: replies"
expect_eq "$(jq -r .ok "$WORK/assign.out" | sort -u)" true "pipelined: every reply ok"
jq -r '.user // .email // empty' "$WORK/assign.out" > "$WORK/assign.who" || true
if [ -s "$WORK/assign.who" ]; then
    seq 0 999 | sed 's/.*/p&@t/' | diff -q - "$WORK/assign.who" > /dev/null ||
        fail "pipelined: replies out of order"
    echo "ok: pipelined: replies in order"
fi

# Long replies over TLS: a listing of 1,000+ users, and 1,000 pipelined
# `user get` whose replies outgrow the server's output buffer.
expect_eq "$(as operator -- user list | jq '.count >= 1000')" true "operator: long user list"
seq 0 999 | sed 's/.*/user get p&@t/' | as operator -- - > "$WORK/get.out" ||
    fail "pipelined user get failed"
jq -r .user.email "$WORK/get.out" | diff -q <(seq 0 999 | sed 's/.*/p&@t/') - > /dev/null ||
    fail "pipelined user get: not 1,000 replies in order"
echo "ok: pipelined user get: 1,000 replies in order"

# ---- linecap-xray over TLS ----
LOG=$WORK/access.log
: > "$LOG"
"$LINECAP_XRAY" --connect "$ADDR" --cert "$C/follower.pem" --key "$C/follower.key" \
    --ca "$C/ca.pem" --stats 3600 "$LOG" 2> "$WORK/xray.err" &
X_PID=$!
for _ in $(seq 100); do grep -q "connected to linecapd" "$WORK/xray.err" && break; sleep 0.1; done
grep -q "connected to linecapd" "$WORK/xray.err" || fail "linecap-xray did not connect"
t=$(date '+%Y/%m/%d %H:%M:%S')
for i in 1 2 3; do
    echo "$t from 10.7.0.$i:4000$i accepted tcp:www.example.com:443 [vless-in >> direct] email: x$i@t"
done >> "$LOG"
xray_landed() {
    [ "$(lc_ctl user list | jq '[.users[].email | select(test("^x[123]@t$"))] | length')" -eq 3 ]
}
for _ in $(seq 100); do xray_landed && break; sleep 0.1; done
xray_landed || fail "linecap-xray's assignments did not land: $(lc_ctl user list | jq -c '[.users[].email]')"
echo "ok: linecap-xray over TLS: assignments landed"

# linecapd restarts: the follower reconnects over TLS and replays.
lc_stop
lc_start "$WORK/lc.conf"
connected_twice() { [ "$(grep -c "connected to linecapd" "$WORK/xray.err")" -ge 2 ]; }
for _ in $(seq 150); do connected_twice && break; sleep 0.1; done
connected_twice || fail "linecap-xray did not reconnect over TLS"
replayed() {
    kill -USR1 "$X_PID"
    sleep 0.2
    grep 'counters (SIGUSR1)' "$WORK/xray.err" | tail -n 1 | grep -q ' replayed=3 '
}
for _ in $(seq 25); do replayed && break; done
replayed || fail "linecap-xray did not replay over TLS: $(tail -n 3 "$WORK/xray.err")"
for _ in $(seq 100); do xray_landed && break; sleep 0.1; done
xray_landed || fail "the replayed assignments did not land"
echo "ok: linecap-xray over TLS: reconnected after a restart and replayed"
kill -TERM "$X_PID"
wait "$X_PID" 2>/dev/null || true
X_PID=

# ---- max_clients (3) counts Unix and TLS clients together ----
python3 - "$LC_SOCK" "$PORT" "$C" <<'PY' || fail "max_clients"
import socket, ssl, sys, time
path, port, c = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def unix():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    return s

def tls():
    ctx = ssl.create_default_context(cafile=c + "/ca.pem")
    ctx.load_cert_chain(c + "/operator.pem", c + "/operator.key")
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                        server_hostname="127.0.0.1")
    return s

def ask(s, line=b"ping\n"):
    s.sendall(line)
    buf = b""
    while not buf.endswith(b"\n"):
        got = s.recv(4096)
        if not got:
            break
        buf += got
    return buf

held = [unix(), tls(), unix()]
for s in held:
    assert b'"ok":true' in ask(s), "a held client is not served"
# All three spoke just now: none is idle enough to evict.
extra = unix()
reply = extra.recv(4096)   # refused at once, before a line is sent
assert b"too many clients" in reply, reply
extra.close()
try:
    t = tls()
    r = ask(t)
    assert b'"ok":true' not in r, "a fourth (TLS) client was served"
except (ssl.SSLError, OSError):
    pass
print("ok: max_clients: a fourth client, Unix or TLS, is refused")
PY
r=$(lc_stat .mgmt.rejected)
[ "$r" -ge 2 ] || fail "rejected = $r, want >= 2"
echo "ok: max_clients counts both kinds (rejected $r)"

lc_stop
echo "PASS"
