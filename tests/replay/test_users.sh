#!/usr/bin/env bash
# Replay tests of users and assignments: per-user counters against
# what the capture holds, every command and error of the management
# protocol, the state file across restarts, and the collection of idle
# dynamic users. The expected flows come from lc-pcapgen (profile users,
# --expect-flows), which writes them from the connections it built.
# Cases fulldisk, badfile and limits check what `ok` means for the users
# file, files that are not files, and numbers and emails that do not fit.
#   test_users.sh assign|nodes|protocol|persist|plans|gc|fulldisk|badfile|limits
. "$(dirname "$0")/lib.sh"

case_name=${1:?usage: test_users.sh assign|nodes|protocol|persist|plans|gc|fulldisk|badfile|limits}

FLOWS_JSON=$WORK/flows.json

gen_users() {
    "$LC_PCAPGEN" users "$WORK/client.pcap" "$WORK/server.pcap" \
        --expect-flows "$FLOWS_JSON" > /dev/null
}

# ok_reply WHAT ARGS...: the command succeeds (exit status 0, ok true);
# prints the reply.
ok_reply() {
    local what=$1 r rc=0
    shift
    r=$(lc_ctl "$@") || rc=$?
    [ "$rc" -eq 0 ] || fail "$what: exit status $rc, reply $r"
    [ "$(jq .ok <<<"$r")" = true ] || fail "$what: $r"
    printf '%s\n' "$r"
}

# expect_error REGEX WHAT ARGS...: an error reply (exit status 1, ok false)
# whose message matches REGEX; then the daemon still answers.
N_ERRORS=0
expect_error() {
    local regex=$1 what=$2 r rc=0
    shift 2
    r=$(lc_ctl "$@") || rc=$?
    [ "$rc" -eq 1 ] || fail "$what: exit status $rc (expected 1), reply $r"
    [ "$(jq -r .ok <<<"$r")" = false ] || fail "$what: not an error: $r"
    jq -e --arg re "$regex" '.error | type == "string" and test($re)' <<<"$r" > /dev/null ||
        fail "$what: error $(jq -c .error <<<"$r") does not match /$regex/"
    N_ERRORS=$((N_ERRORS + 1))
    [ "$(lc_ctl ping | jq -r .ok)" = true ] || fail "$what: linecapd no longer answers"
    echo "ok: $what -> $(jq -r .error <<<"$r")"
}

# sum_flows JQ_FILTER PATH: the sum of PATH (e.g. .packets.up) over the
# flows of the capture that FILTER selects.
sum_flows() {
    jq "[.flows[] | select($1) | $2] | add // 0" "$FLOWS_JSON"
}

# check_counters WHAT JSON_OBJECT_WITH_UP_DOWN FILTER: per-direction packets
# and bytes equal to those of the capture's flows that FILTER selects.
check_counters() {
    local what=$1 obj=$2 filter=$3 dir f
    for dir in up down; do
        for f in packets bytes; do
            expect_eq "$(jq ".$dir.$f" <<<"$obj")" "$(sum_flows "$filter" ".$f.$dir")" \
                "$what $dir $f"
        done
    done
}

# user_field EMAIL JQ: one field of `user get`.
user_field() {
    lc_ctl user get "$1" | jq -r "$2"
}

# wait_user_flows EMAIL N: until the user holds N flows (the sweep that
# applies an IP-wide change runs in the background).
wait_user_flows() {
    local i n
    for i in $(seq 1 100); do
        n=$(user_field "$1" .user.flows)
        [ "$n" = "$2" ] && return 0
        sleep 0.05
    done
    fail "$1 holds $n flows, expected $2"
}

case $case_name in
assign)
    # Four users before the first frame: alice by one endpoint (pending),
    # bob by the client IP that has five flows (bound), dave by an endpoint
    # inside bob's IP (an endpoint wins over IP-wide), erin by an IPv6
    # endpoint. Every counter must equal what the capture holds for them.
    gen_users
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[wire]" "autostart = no"
    lc_start "$WORK/lc.conf"
    s=$(lc_ctl stats)
    expect_eq "$(jq -c '[.ports.client.rx_packets, .ports.server.rx_packets]' <<<"$s")" \
        "[0,0]" "frames received before start"
    r=$(ok_reply "assign alice" assign alice@example.com 10.3.0.2:42000)
    expect_eq "$(jq -c '[.result, .user]' <<<"$r")" '["pending","alice@example.com"]' \
        "assign alice IP:PORT before its flow"
    r=$(ok_reply "assign bob" assign bob@example.com 10.3.0.1)
    expect_eq "$(jq -r .result <<<"$r")" bound "assign bob IP"
    r=$(ok_reply "assign dave" assign dave@example.com 10.3.0.1:41003)
    expect_eq "$(jq -r .result <<<"$r")" pending "assign dave IP:PORT inside bob's IP"
    r=$(ok_reply "assign erin" assign erin@example.com '[2001:db8:c:3::4]:44000')
    expect_eq "$(jq -r .result <<<"$r")" pending "assign erin [IPv6]:PORT"
    r=$(lc_ctl stats)
    expect_eq "$(jq -c '[.assignments.ip_wide, .assignments.pending]' <<<"$r")" "[1,3]" \
        "stats assignments [ip_wide, pending] before start"
    expect_eq "$(jq -c '[.users.static, .users.dynamic]' <<<"$r")" "[0,4]" \
        "stats users [static, dynamic]"
    r=$(ok_reply start start)
    expect_eq "$(jq .receiving <<<"$r")" true "start: receiving"
    wait_rx "$(frames "$WORK/client.pcap")" "$(frames "$WORK/server.pcap")"

    F_ALICE='.client == "10.3.0.2:42000"'
    F_DAVE='.client == "10.3.0.1:41003"'
    F_BOB='(.client | startswith("10.3.0.1:")) and .client != "10.3.0.1:41003"'
    F_ERIN='.client == "[2001:db8:c:3::4]:44000"'
    F_NONE="($F_ALICE or $F_DAVE or $F_BOB or $F_ERIN) | not"
    n_bob=$(jq "[.flows[] | select($F_BOB)] | length" "$FLOWS_JSON")
    [ "$n_bob" -ge 3 ] || fail "the capture must give bob several flows"
    [ "$(sum_flows "$F_NONE" .packets.up)" -gt 0 ] || fail "the capture must hold unassigned flows"

    for u in alice:"$F_ALICE":1 bob:"$F_BOB":$n_bob dave:"$F_DAVE":1 erin:"$F_ERIN":1; do
        name=${u%%:*}
        rest=${u#*:}
        filter=${rest%:*}
        n=${rest##*:}
        r=$(ok_reply "user get $name" user get "$name@example.com")
        check_counters "$name" "$(jq .user.counters <<<"$r")" "$filter"
        expect_eq "$(jq .user.flows <<<"$r")" "$n" "$name flows"
        expect_eq "$(jq -c '[.user.email, .user.static, .user.up, .user.down]' <<<"$r")" \
            "[\"$name@example.com\",false,1000000000,1000000000]" "$name: [email, static, up, down]"
    done
    s=$(lc_ctl stats)
    check_counters "stats unassigned" "$(jq .unassigned <<<"$s")" "$F_NONE"
    expect_eq "$(jq .assignments.bound_on_create <<<"$s")" 3 "stats assignments.bound_on_create"
    expect_eq "$(jq .assignments.bound_by_ip <<<"$s")" "$n_bob" "stats assignments.bound_by_ip"
    expect_eq "$(jq .flows.active <<<"$s")" "$(jq '.flows | length' "$FLOWS_JSON")" "flows.active"

    # The listing names each flow's user: expect_users WHAT ALICE DAVE BOB
    # ERIN, the user (JSON: a string or null) of each group of flows.
    expect_users() {
        local what=$1 got want who
        who="def who: if $F_ALICE then $2 elif $F_DAVE then $3 elif $F_BOB then $4
             elif $F_ERIN then $5 else null end;"
        got=$(lc_ctl flows | jq -S '[.flows[] | {client, server, vlan, user}] | sort_by(tostring)')
        want=$(jq -S "$who [.flows[] | {client, server, vlan, user: who}] | sort_by(tostring)" "$FLOWS_JSON")
        if [ "$got" != "$want" ]; then
            diff -u <(echo "$want") <(echo "$got") >&2 || true
            fail "$what: users of the flows differ (- expected, + listed)"
        fi
        echo "ok: $what: every flow listed with its user"
    }
    A='"alice@example.com"' B='"bob@example.com"' C='"carol@example.com"'
    D='"dave@example.com"' E='"erin@example.com"'
    expect_users "flows after the replay" "$A" "$D" "$B" "$E"

    # A repeat disturbs nothing.
    r=$(ok_reply "assign alice again" assign alice@example.com 10.3.0.2:42000)
    expect_eq "$(jq -r .result <<<"$r")" unchanged "assign alice IP:PORT again"
    r=$(ok_reply "assign bob again" assign bob@example.com 10.3.0.1)
    expect_eq "$(jq -r .result <<<"$r")" unchanged "assign bob IP again"
    expect_eq "$(user_field alice@example.com .user.flows)" 1 "alice flows after the repeat"

    # The endpoint goes to a third user: the flow moves, the counters of
    # what was counted stay where they were.
    r=$(ok_reply "assign carol" assign carol@example.com 10.3.0.2:42000)
    expect_eq "$(jq -r .result <<<"$r")" bound "assign carol to alice's endpoint"
    expect_eq "$(user_field carol@example.com .user.flows)" 1 "carol flows"
    expect_eq "$(user_field alice@example.com .user.flows)" 0 "alice flows after the move"
    check_counters "alice after the move" "$(user_field alice@example.com .user.counters)" "$F_ALICE"
    expect_eq "$(user_field carol@example.com '[.user.counters.up.packets, .user.counters.down.packets] | add')" \
        0 "carol packets (no frame since)"
    expect_users "flows after the move to carol" "$C" "$D" "$B" "$E"

    # Unassign the endpoint inside bob's IP: back to bob.
    r=$(ok_reply "unassign dave's endpoint" unassign 10.3.0.1:41003)
    expect_eq "$(jq -r .result <<<"$r")" removed "unassign 10.3.0.1:41003"
    expect_eq "$(user_field dave@example.com .user.flows)" 0 "dave flows after unassign"
    expect_eq "$(user_field bob@example.com .user.flows)" $((n_bob + 1)) "bob flows after dave's unassign"
    expect_users "flows after unassign of dave's endpoint" "$C" "$B" "$B" "$E"
    r=$(ok_reply "unassign again" unassign 10.3.0.1:41003)
    expect_eq "$(jq -r .result <<<"$r")" not_found "unassign 10.3.0.1:41003 again"

    # Unassign the IP: every flow of it becomes unassigned.
    r=$(ok_reply "unassign bob's IP" unassign 10.3.0.1)
    expect_eq "$(jq -r .result <<<"$r")" removed "unassign 10.3.0.1"
    wait_user_flows bob@example.com 0
    expect_users "flows after unassign of bob's IP" "$C" null null "$E"
    r=$(ok_reply "unassign IP again" unassign 10.3.0.1)
    expect_eq "$(jq -r .result <<<"$r")" not_found "unassign 10.3.0.1 again"
    r=$(ok_reply "unassign carol" unassign 10.3.0.2:42000)
    expect_eq "$(jq -r .result <<<"$r")" removed "unassign 10.3.0.2:42000"
    expect_eq "$(user_field carol@example.com .user.flows)" 0 "carol flows after unassign"
    expect_eq "$(lc_ctl stats | jq .assignments.ip_wide)" 0 "stats assignments.ip_wide at the end"
    # Counters are what was counted: unchanged by the unassignments.
    check_counters "bob at the end" "$(user_field bob@example.com .user.counters)" "$F_BOB"
    check_counters "alice at the end" "$(user_field alice@example.com .user.counters)" "$F_ALICE"
    lc_stop
    # Users' frames go through their queues: order holds within each flow.
    "$LC_PCAPCMP" --per-flow "$WORK/client.pcap" "$WORK/server-out.pcap" || fail "upload differs"
    "$LC_PCAPCMP" --per-flow "$WORK/server.pcap" "$WORK/client-out.pcap" || fail "download differs"
    ;;
protocol)
    gen_users
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[wire]" "autostart = no"
    lc_start "$WORK/lc.conf"

    # Unknown commands.
    expect_error "unknown command 'frobnicate'" "unknown command" frobnicate
    expect_error "unknown command 'user frob'.*set" "unknown subcommand" user frob x@y
    # Empty lines: an empty or blank line is an error reply, not silence.
    expect_error "empty command" "empty line" ""
    expect_error "empty command" "blank line" "   "

    # Emails.
    e255=$(printf 'a%.0s' $(seq 1 255))
    e256=${e255}b
    r=$(ok_reply "255-byte email" user set "$e255")
    expect_eq "$(jq '.user.email | length' <<<"$r")" 255 "255-byte email kept whole"
    expect_error "bad email" "256-byte email (user set)" user set "$e256"
    expect_error "bad email" "256-byte email (assign)" assign "$e256" 10.0.0.1
    expect_error "bad email" "256-byte email (user get)" user get "$e256"
    expect_error "printable UTF-8" "control character in an email" user set "$(printf 'a\001b')"
    expect_error "printable UTF-8" "DEL in an email" user set "$(printf 'a\177b')"
    expect_error "printable UTF-8" "invalid UTF-8 in an email" user set "$(printf 'a\377b')"
    expect_error "printable UTF-8" "overlong UTF-8 in an email" user set "$(printf 'a\300\257b')"
    expect_error "bad email" "zero-width space in an email" user set "$(printf 'a\342\200\213b')"
    expect_error "bad email" "no-break space in an email" assign "$(printf 'a\302\240b')" 10.0.0.1
    # A valid non-ASCII email is fine.
    r=$(ok_reply "UTF-8 email" user set "пользователь@пример.рф")
    expect_eq "$(jq -r .user.email <<<"$r")" "пользователь@пример.рф" "UTF-8 email"

    # Addresses and ports; a refused assign creates no user.
    for ip in 10.0.0.256 10.0.0 foo 10.0.0.1.2 '[2001:db8::1' '[]:80' '2001:db8::g' ':80' '[10.0.0.1]:80'; do
        expect_error "bad address" "bad IP '$ip'" assign nobody@example.com "$ip"
    done
    for ep in 10.0.0.1:0 10.0.0.1:65536 10.0.0.1:x 10.0.0.1: 10.0.0.1:-1 10.0.0.1:80x \
              '[2001:db8::1]:0' '[2001:db8::1]:99999'; do
        expect_error "bad port" "bad port '$ep'" assign nobody@example.com "$ep"
    done
    expect_error "bad address" "unassign a bad IP" unassign 300.1.1.1
    expect_error "bad port" "unassign a bad port" unassign 10.0.0.1:0
    expect_error "no user 'nobody@example.com'" "refused assigns made no user" user get nobody@example.com
    r=$(ok_reply "assign port 65535" assign edge@example.com 10.0.0.1:65535)
    expect_eq "$(jq -r .result <<<"$r")" pending "assign IP:65535"
    r=$(ok_reply "assign port 1" assign edge@example.com '[2001:db8::1]:1')
    expect_eq "$(jq -r .result <<<"$r")" pending "assign [IPv6]:1"
    r=$(ok_reply "assign IPv6 IP-wide" assign edge@example.com 2001:db8::2)
    expect_eq "$(jq -r .result <<<"$r")" bound "assign bare IPv6"

    # Rates and arguments of user set.
    expect_error "bad rate 'fast'" "up=fast" user set rate@example.com up=fast
    expect_error "bad rate '0'" "up=0" user set rate@example.com up=0
    expect_error "bad rate ''" "down=" user set rate@example.com down=
    expect_error "bad rate '10xbit'" "down=10xbit" user set rate@example.com down=10xbit
    expect_error "bad rate '-1mbit'" "up=-1mbit" user set rate@example.com up=-1mbit
    expect_error "bad burst '1x'" "burst=1x" user set rate@example.com burst=1x
    expect_error "unknown argument 'colour=red'" "unknown argument" user set rate@example.com colour=red
    expect_error "bad rate ''" "up without a value" user set rate@example.com up
    expect_error "no user 'rate@example.com'" "refused user set made no user" user get rate@example.com
    # A good rate after a bad one in the same line: nothing applied.
    expect_error "bad rate" "bad rate after a good one" user set rate@example.com up=1mbit down=x
    expect_error "no user 'rate@example.com'" "half-good user set made no user" user get rate@example.com

    # Argument counts.
    expect_error "missing argument; usage: user set" "user set without email" user set
    expect_error "missing argument; usage: user get" "user get without email" user get
    expect_error "missing argument; usage: user del" "user del without email" user del
    expect_error "missing argument; usage: assign" "assign without address" assign a@example.com
    expect_error "missing argument; usage: assign" "assign alone" assign
    expect_error "missing argument; usage: unassign" "unassign alone" unassign
    expect_error "too many arguments; usage: user get" "user get, two emails" user get a@x b@x
    expect_error "too many arguments; usage: assign" "assign, five arguments" \
        assign a@x 10.0.0.1:1 10.0.0.2:2 node=n x
    expect_error "bad server endpoint" "assign, a port as the third argument" assign a@x 10.0.0.1 80
    expect_error "too many arguments; usage: unassign" "unassign, three arguments" \
        unassign 10.0.0.1:1 10.0.0.2:2 x
    expect_error "bad server endpoint" "unassign, a server without a port" unassign 10.0.0.1:1 10.0.0.2
    expect_error "server endpoint needs a client IP:PORT" "unassign IP SERVER" \
        unassign 10.0.0.1 10.0.0.2:2
    expect_error "too many arguments; usage: user list" "user list x" user list x
    expect_error "too many arguments; usage: ping" "ping x" ping x
    expect_error "too many arguments; usage: gc" "gc x" gc x
    expect_error "too many arguments; usage: save" "save x" save x
    expect_error "too many arguments; usage: state" "state present x" state present x
    expect_error "too many arguments; usage: user set" "user set, 8 arguments" \
        user set a@x up=1mbit down=1mbit burst=1k burst_up=1k burst_down=1k plan=none up=2mbit
    expect_error "too many words" "33 words" user set a@x $(seq 1 31)

    # Over-long lines, through a batch: 4096 bytes is a line, 4097 is not;
    # the line after an over-long one is served.
    pad() { head -c "$1" /dev/zero | tr '\0' a; }
    rc=0
    out=$( { printf 'user get %s\n' "$(pad 4087)"; printf 'user get %s\n' "$(pad 4088)"; \
             printf 'user get %s\n' "$(pad 100000)"; printf 'ping\n'; } | lc_ctl -) || rc=$?
    expect_eq "$rc" 1 "exit status of a batch with over-long lines"
    expect_eq "$(jq -s length <<<"$out")" 4 "replies to the over-long batch"
    expect_eq "$(jq -s -c '[.[].ok]' <<<"$out")" "[false,false,false,true]" "oks of the over-long batch"
    jq -s -e '.[0].error | test("bad email")' <<<"$out" > /dev/null ||
        fail "a 4096-byte line must be read as a line: $(jq -s -c '.[0]' <<<"$out")"
    jq -s -e '.[1].error | test("line longer than 4096 bytes")' <<<"$out" > /dev/null ||
        fail "a 4097-byte line: $(jq -s -c '.[1]' <<<"$out")"
    jq -s -e '.[2].error | test("line longer than 4096 bytes")' <<<"$out" > /dev/null ||
        fail "a 100000-byte line: $(jq -s -c '.[2]' <<<"$out")"
    N_ERRORS=$((N_ERRORS + 3))
    echo "ok: over-long lines refused, the next line served"

    # A pipelined batch: replies in order, blank lines and comments skipped
    # by linecapctl, one error does not stop the rest.
    rc=0
    out=$(printf 'ping\n\n   \n# comment\nbogus\nuser get nobody@x\nstate\nping\n' | lc_ctl -) || rc=$?
    expect_eq "$rc" 1 "exit status of a batch with errors"
    expect_eq "$(jq -s -c '[.[].ok]' <<<"$out")" "[true,false,false,true,true]" "oks of a mixed batch"
    N_ERRORS=$((N_ERRORS + 2))
    rc=0
    out=$(printf 'ping\n\nping\n' | lc_ctl -) || rc=$?
    expect_eq "$rc" 0 "exit status of a good batch"
    expect_eq "$(jq -s length <<<"$out")" 2 "replies to a batch with a blank line"

    # user set / get / list / del.
    r=$(ok_reply "user set" user set static@example.com up=10mbit down=50mbit)
    expect_eq "$(jq -c '[.user.static, .user.up, .user.down, .user.flows]' <<<"$r")" \
        "[true,10000000,50000000,0]" "user set: [static, up, down, flows]"
    id=$(jq .user.id <<<"$r")
    r=$(ok_reply "user set up only" user set static@example.com up=2.5gbit)
    expect_eq "$(jq -c '[.user.id, .user.up, .user.down]' <<<"$r")" \
        "[$id,2500000000,50000000]" "user set up only: [id, up, down]"
    r=$(ok_reply "user set burst" user set static@example.com burst=64kb)
    expect_eq "$(jq -c '[.user.burst_up, .user.burst_down]' <<<"$r")" "[65536,65536]" "burst=64kb"
    r=$(ok_reply "user get" user get static@example.com)
    expect_eq "$(jq -c '.user | [.email, .id, .up, .down, .static, (.counters.up | keys), (.counters.down | keys)]' <<<"$r")" \
        "[\"static@example.com\",$id,2500000000,50000000,true,[\"bytes\",\"drops\",\"packets\"],[\"bytes\",\"drops\",\"packets\"]]" \
        "user get fields"
    r=$(ok_reply "user list" user list)
    expect_eq "$(jq -c '[.users[].email] | sort' <<<"$r")" \
        "[\"$e255\",\"edge@example.com\",\"static@example.com\",\"пользователь@пример.рф\"]" "user list"
    expect_eq "$(jq .count <<<"$r")" 4 "user list count"
    ok_reply "user del" user del "$e255" > /dev/null
    expect_error "no user" "user get after del" user get "$e255"
    expect_error "no user" "user del twice" user del "$e255"
    expect_eq "$(lc_ctl user list | jq .count)" 3 "user list count after del"
    # The email is free again at once; the new user is another id only if
    # the old one is not yet reclaimed: either way a live user.
    r=$(ok_reply "user set after del" user set "$e255")
    expect_eq "$(jq .user.static <<<"$r")" true "re-created user is static"

    # state.
    r=$(ok_reply state state)
    expect_eq "$(jq -r .state <<<"$r")" present "state"
    r=$(ok_reply "state disabled" state disabled)
    expect_eq "$(jq -c '[.state, .previous]' <<<"$r")" '["disabled","present"]' "state disabled"
    expect_eq "$(lc_ctl stats | jq -r .state)" disabled "stats state disabled"
    expect_eq "$(lc_ctl user list | jq .count)" 4 "users kept while disabled"
    expect_eq "$(lc_ctl stats | jq .assignments.ip_wide)" 1 "assignments kept while disabled"
    expect_error "unknown state 'bogus'" "state bogus" state bogus
    r=$(ok_reply "state present" state present)
    expect_eq "$(jq -c '[.state, .previous]' <<<"$r")" '["present","disabled"]' "state present"
    r=$(ok_reply "state absent" state absent)
    expect_eq "$(jq -c '[.state, .previous]' <<<"$r")" '["absent","present"]' "state absent"
    expect_eq "$(lc_ctl user list | jq -c '[.count, .users]')" '[0,[]]' "no users when absent"
    s=$(lc_ctl stats)
    expect_eq "$(jq -c '[.state, .users.static, .users.dynamic]' <<<"$s")" '["absent",0,0]' \
        "stats [state, users.static, users.dynamic] when absent"
    expect_eq "$(jq -c '[.assignments.ip_wide, .assignments.pending]' <<<"$s")" '[0,0]' \
        "stats assignments [ip_wide, pending] when absent"
    expect_error "no user" "user get when absent" user get static@example.com
    ok_reply "state present again" state present > /dev/null
    r=$(ok_reply "user set after absent" user set again@example.com)
    expect_eq "$(jq -r .user.email <<<"$r")" again@example.com "user set after absent"

    # gc, save, help, ping, mode.
    r=$(ok_reply gc gc)
    expect_eq "$(jq .removed <<<"$r")" 0 "gc removed"
    r=$(ok_reply save save)
    expect_eq "$(jq -r .file <<<"$r")" "$WORK/users.conf" "save: file"
    # Version 2: again@example.com has no rates of its own, and follows
    # the defaults.
    expect_eq "$(head -n 1 "$WORK/users.conf")" "linecap-users 2" "state file header"
    grep -q "^user [0-9]* again@example.com burst_up=" "$WORK/users.conf" || fail "saved file lacks the user"
    expect_eq "$(tail -n 1 "$WORK/users.conf")" "end 1" "state file trailer"
    r=$(ok_reply help help)
    for kw in ping stats "user set" "user del" "user get" "user list" assign unassign \
              state gc save help mode flows start stop; do
        jq -e --arg k "$kw" 'any(.commands[]; .usage == $k or (.usage | startswith($k + " ")))' \
            <<<"$r" > /dev/null || fail "help does not list '$kw'"
    done
    echo "ok: help lists every command"
    r=$(ok_reply ping ping)
    expect_eq "$(jq -r '.version | type' <<<"$r")" string "ping: version"
    expect_eq "$(ok_reply mode mode | jq -r .mode)" inline "mode"
    expect_eq "$(ok_reply "mode tap" mode tap | jq -r .mode)" tap "mode tap"
    expect_eq "$(lc_ctl stats | jq -r .mode)" tap "stats mode after mode tap"
    expect_eq "$(ok_reply "mode inline" mode inline | jq -r .mode)" inline "mode inline"
    expect_error "unknown mode 'bogus'" "mode bogus" mode bogus

    # Every error reply was counted, and the daemon is still there.
    expect_eq "$(lc_ctl stats | jq .mgmt.errors)" "$N_ERRORS" "stats mgmt.errors"
    rc=0
    "$LINECAPCTL" -s "$WORK/no-such.sock" ping > /dev/null 2>&1 || rc=$?
    expect_eq "$rc" 2 "exit status when the socket cannot be reached"
    lc_stop
    ;;
persist)
    gen_users
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[wire]" "autostart = no"
    STATE=$WORK/users.conf
    lc_start "$WORK/lc.conf"
    ok_reply "user set tmp" user set tmp@example.com > /dev/null
    r=$(ok_reply "user set alice" user set alice@example.com up=10mbit down=50mbit)
    id_alice=$(jq .user.id <<<"$r")
    r=$(ok_reply "user set bob" user set пользователь@пример.рф up=2500mbit down=12345)
    id_bob=$(jq .user.id <<<"$r")
    ok_reply "user del tmp" user del tmp@example.com > /dev/null
    r=$(ok_reply "assign dyn" assign dyn@example.com 10.3.0.1)
    expect_eq "$(jq -r .result <<<"$r")" bound "assign of a dynamic user"
    expect_eq "$(user_field dyn@example.com .user.static)" false "dyn is dynamic"
    # Saved on change, before any save command.
    [ -f "$STATE" ] || fail "no state file after user set"
    grep -q " alice@example.com " "$STATE" || fail "state file lacks alice after user set"
    grep -q " tmp@example.com " "$STATE" && fail "state file still holds tmp after user del"
    r=$(ok_reply save save)
    expect_eq "$(jq -r .file <<<"$r")" "$STATE" "save: file"
    want=$(printf 'linecap-users 1\nuser %s alice@example.com up=10mbit down=50mbit burst_up=0 burst_down=0\nuser %s пользователь@пример.рф up=2500mbit down=12345bit burst_up=0 burst_down=0\nend 2' \
        "$id_alice" "$id_bob")
    if [ "$id_bob" -lt "$id_alice" ]; then
        fail "ids: bob $id_bob before alice $id_alice"
    fi
    expect_eq "$(cat "$STATE")" "$want" "state file after save"
    lc_stop
    grep -q "users saved to $STATE" "$LC_LOG" || fail "no 'users saved' line at shutdown"

    # Restart: the static users come back with their ids and rates; the
    # dynamic one does not.
    lc_start "$WORK/lc.conf"
    r=$(ok_reply "user list after restart" user list)
    expect_eq "$(jq -c '[.users[] | [.email, .id, .up, .down, .static]] | sort' <<<"$r")" \
        "$(jq -c -n --argjson a "$id_alice" --argjson b "$id_bob" \
           '[["alice@example.com",$a,10000000,50000000,true],["пользователь@пример.рф",$b,2500000000,12345,true]] | sort')" \
        "users after restart: [email, id, up, down, static]"
    expect_error "no user 'dyn@example.com'" "the dynamic user is not restored" user get dyn@example.com
    expect_eq "$(lc_ctl stats | jq -c '[.users.static, .users.dynamic]')" "[2,0]" "stats users after restart"
    # New users do not take the restored ids.
    r=$(ok_reply "user set new" user set new@example.com)
    id_new=$(jq .user.id <<<"$r")
    [ "$id_new" != "$id_alice" ] && [ "$id_new" != "$id_bob" ] || fail "new user took a restored id $id_new"
    ok_reply "user del new" user del new@example.com > /dev/null
    lc_stop

    # A truncated file: linecapd refuses to start and names the file and
    # line.
    cp "$STATE" "$WORK/users.good"
    head -c -5 "$WORK/users.good" > "$STATE"
    rc=0
    timeout 60 "$LINECAPD" --config "$WORK/lc.conf" > "$WORK/refused.log" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "linecapd with a truncated state file: exit status $rc"
    echo "ok: linecapd refused a truncated state file (exit status $rc)"
    grep -Eq "$STATE:[0-9]+: " "$WORK/refused.log" ||
        fail "the error does not name $STATE and a line: $(cat "$WORK/refused.log")"
    grep -E "$STATE:[0-9]+: " "$WORK/refused.log" | head -n 1
    grep -q -- "--ignore-state" "$WORK/refused.log" || fail "the error does not mention --ignore-state"
    [ ! -S "$LC_SOCK" ] || fail "a refused start left its socket"
    # Cut between lines (no end line): refused too.
    head -n 2 "$WORK/users.good" > "$STATE"
    rc=0
    timeout 60 "$LINECAPD" --config "$WORK/lc.conf" > "$WORK/refused2.log" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "linecapd with a state file cut after a line: exit status $rc"
    grep -Eq "$STATE:3: missing end line" "$WORK/refused2.log" ||
        fail "cut after a line: $(cat "$WORK/refused2.log")"
    echo "ok: a file cut after a line is refused"

    # --ignore-state: it starts with no users.
    head -c -5 "$WORK/users.good" > "$STATE"
    lc_start "$WORK/lc.conf" --ignore-state
    expect_eq "$(lc_ctl user list | jq -c '[.count, .users]')" "[0,[]]" "users with --ignore-state"
    grep -q "ignored (--ignore-state)" "$LC_LOG" || fail "no warning about the ignored state file"
    lc_stop
    ;;
gc)
    # gc_idle = 2 s (the collection then runs every second by itself) and
    # gc_min_age = 0. idle has no flow at all and is collected by the
    # periodic collection; ep4 and ep6 hold one flow each by an endpoint,
    # so they stay until unassigned, and then a `gc` in the same batch
    # (before any periodic run) collects exactly them; busy holds flows by
    # its IP; static is never collected.
    gen_users
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[wire]" "autostart = no" "[users]" "gc_idle = 2" "gc_min_age = 0"
    lc_start "$WORK/lc.conf"
    ok_reply "user set static" user set static@example.com > /dev/null
    # A fresh dynamic user is not collected (it has not been idle 2 s):
    # the assign and the gc run in one batch, within one second.
    out=$(printf 'assign idle@example.com 10.200.0.1\ngc\n' | lc_ctl -)
    expect_eq "$(jq -s -c '[.[0].result, .[1].removed]' <<<"$out")" '["bound",0]' \
        "gc right after the assign: [result, removed]"
    r=$(ok_reply "assign busy" assign busy@example.com 10.3.0.1)
    r=$(ok_reply "assign ep4" assign ep4@example.com 10.3.0.2:42000)
    expect_eq "$(jq -r .result <<<"$r")" pending "assign ep4"
    r=$(ok_reply "assign ep6" assign ep6@example.com '[2001:db8:c:3::4]:44000')
    expect_eq "$(jq -r .result <<<"$r")" pending "assign ep6"
    ok_reply start start > /dev/null
    wait_rx "$(frames "$WORK/client.pcap")" "$(frames "$WORK/server.pcap")"
    n_busy=$(jq '[.flows[] | select(.client | startswith("10.3.0.1:"))] | length' "$FLOWS_JSON")
    expect_eq "$(user_field busy@example.com .user.flows)" "$n_busy" "busy flows"
    expect_eq "$(user_field ep4@example.com .user.flows)" 1 "ep4 flows"
    expect_eq "$(user_field ep6@example.com .user.flows)" 1 "ep6 flows"

    # More than gc_idle after the last frame.
    sleep 3
    for i in $(seq 1 100); do
        lc_ctl user get idle@example.com > /dev/null 2>&1 || break
        sleep 0.1
    done
    expect_error "no user 'idle@example.com'" "the idle dynamic user was collected" user get idle@example.com
    grep -q "gc: 1 idle dynamic users collected" "$LC_LOG" || fail "no log line of the periodic collection"
    r=$(ok_reply "gc with busy users" gc)
    expect_eq "$(jq .removed <<<"$r")" 0 "gc removes nobody with flows"
    r=$(ok_reply "user list" user list)
    expect_eq "$(jq -c '[.users[].email] | sort' <<<"$r")" \
        '["busy@example.com","ep4@example.com","ep6@example.com","static@example.com"]' \
        "users kept: flows or static"

    # Their flows unassigned, both endpoint users are collected by the gc
    # that follows in the same batch.
    out=$(printf 'unassign 10.3.0.2:42000\nunassign [2001:db8:c:3::4]:44000\ngc\nuser list\n' | lc_ctl -)
    expect_eq "$(jq -s -c '[.[0].result, .[1].result, .[2].removed]' <<<"$out")" \
        '["removed","removed",2]' "unassign, unassign, gc: [result, result, removed]"
    expect_eq "$(jq -s -c '[.[3].users[].email] | sort' <<<"$out")" \
        '["busy@example.com","static@example.com"]' "users after gc"
    expect_error "no user 'ep4@example.com'" "ep4 collected" user get ep4@example.com

    # busy's IP unassigned: the sweep unbinds its flows, then it goes too.
    r=$(ok_reply "unassign busy" unassign 10.3.0.1)
    gone=no
    for i in $(seq 1 100); do
        if ! lc_ctl user get busy@example.com > /dev/null 2>&1; then
            gone=yes
            break
        fi
        lc_ctl gc > /dev/null
        sleep 0.1
    done
    expect_eq "$gone" yes "busy collected once its flows are unassigned"
    sleep 2.5
    r=$(ok_reply "gc at the end" gc)
    expect_eq "$(jq .removed <<<"$r")" 0 "gc never removes a static user"
    expect_eq "$(lc_ctl user list | jq -c '[.users[] | [.email, .static]]')" '[["static@example.com",true]]' \
        "only the static user is left"
    expect_eq "$(lc_ctl stats | jq -c '[.users.static, .users.dynamic]')" "[1,0]" "stats users at the end"
    lc_stop
    ;;
fulldisk)
    # The users file on a 64 KiB tmpfs that is then filled: a change that
    # cannot be saved is not acknowledged, the log says so a bounded number
    # of times, and freeing space saves it.
    MNT=$WORK/state
    mkdir -p "$MNT"
    if ! mount -t tmpfs -o size=64k tmpfs "$MNT" 2>/dev/null; then
        echo "SKIP: cannot mount a tmpfs (not root?)"
        exit 77
    fi
    trap 'rc=$?; umount -l "$MNT" 2>/dev/null || true; (exit $rc); lc_cleanup' EXIT INT TERM
    STATE=$MNT/users.conf
    gen_users
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[wire]" "autostart = no" "[users]" "state_file = $STATE"
    fill() { dd if=/dev/zero of="$MNT/fill" bs=4k > /dev/null 2>&1 || true; }
    lc_start "$WORK/lc.conf"
    r=$(ok_reply "user set saved" user set saved@example.com up=10mbit)
    expect_eq "$(jq .saved <<<"$r")" true "user set: saved"
    grep -q " saved@example.com " "$STATE" || fail "saved@example.com not in the file"

    fill
    expect_error "^not saved: $STATE: .*No space left on device; the change is live" \
        "user set on a full disk" user set lost1@example.com up=5mbit
    r=$(lc_ctl user set lost1@example.com up=5mbit || true)
    expect_eq "$(jq -c '[.ok, .saved, .user.email]' <<<"$r")" '[false,false,"lost1@example.com"]' \
        "user set on a full disk: [ok, saved, user]"
    # A pipelined batch: every line is refused, each with the reason.
    rc=0
    out=$(printf 'user set lost2@example.com\nuser set lost3@example.com\nuser del saved@example.com\n' |
          lc_ctl -) || rc=$?
    expect_eq "$rc" 1 "exit status of a batch on a full disk"
    expect_eq "$(jq -s -c '[.[] | [.ok, .saved, (.error | test("No space left on device"))]]' <<<"$out")" \
        '[[false,false,true],[false,false,true],[false,false,true]]' "batch on a full disk: [ok, saved, ENOSPC]"
    expect_error "^not saved: .*No space left on device" "save on a full disk" save
    # The periodic retry logs once, not once per attempt (18 a second before).
    sleep 4
    n_log=$(grep -c "not saved" "$LC_LOG" || true)
    echo "log lines about the failed save over ~4 s: $n_log"
    [ "$n_log" -ge 1 ] && [ "$n_log" -le 2 ] || fail "$n_log log lines about the failed save"
    grep -q " saved@example.com " "$STATE" || fail "the old file was lost"

    # A crash while the disk is full: what was acknowledged is what comes back.
    kill -KILL "$LC_PID"
    wait "$LC_PID" 2>/dev/null || true
    LC_PID=
    rm -f "$MNT/fill" "$STATE.tmp"
    lc_start "$WORK/lc.conf"
    expect_eq "$(lc_ctl user list | jq -c '[.users[].email] | sort')" '["saved@example.com"]' \
        "users after a crash on a full disk: exactly the acknowledged ones"

    # Full again, then space comes back: the retry saves, and says so once.
    fill
    expect_error "No space left on device" "user set on a full disk, again" user set late@example.com
    sleep 1.5
    rm -f "$MNT/fill"
    for i in $(seq 1 50); do
        grep -q "users saved to $STATE again" "$LC_LOG" && break
        sleep 0.1
    done
    grep "users saved to $STATE again" "$LC_LOG" || fail "no log line of the recovery"
    grep -q " late@example.com " "$STATE" || fail "late@example.com not saved after the recovery"
    r=$(ok_reply "user set after recovery" user set after@example.com)
    expect_eq "$(jq .saved <<<"$r")" true "user set after recovery: saved"
    n_log=$(grep -c "not saved\|saved to .* again" "$LC_LOG" || true)
    [ "$n_log" -le 3 ] || fail "$n_log log lines about saving"
    lc_stop
    lc_start "$WORK/lc.conf"
    expect_eq "$(lc_ctl user list | jq -c '[.users[].email] | sort')" \
        '["after@example.com","late@example.com","saved@example.com"]' "users after the restart"
    lc_stop
    ;;
badfile)
    # A users file that is not a file stops the start at once, with the
    # file and what it is (a FIFO hung the start, /dev/zero grew memory to
    # 8 GB); --ignore-state keeps the old file aside.
    gen_users
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[wire]" "autostart = no"
    STATE=$WORK/users.conf
    refused() {
        local what=$1 regex=$2 rc=0 t0 t1
        t0=$(date +%s%N)
        timeout 30 "$LINECAPD" --config "$WORK/lc.conf" > "$WORK/refused.log" 2>&1 || rc=$?
        t1=$(date +%s%N)
        [ "$rc" -eq 1 ] || fail "$what: exit status $rc (expected 1): $(tail -n 3 "$WORK/refused.log")"
        grep -Eq "$regex" "$WORK/refused.log" || fail "$what: $(grep error "$WORK/refused.log")"
        echo "ok: $what refused in $(( (t1 - t0) / 1000000 )) ms: $(grep -E "$regex" "$WORK/refused.log" | head -n 1 | sed 's/.*error: //')"
    }
    mkfifo "$STATE"
    refused "a FIFO" "$STATE: not a regular file \(a FIFO\)"
    rm -f "$STATE"
    ln -s /dev/zero "$STATE"
    refused "a link to /dev/zero" "$STATE: not a regular file \(a character device\)"
    rm -f "$STATE"
    mkdir "$STATE"
    refused "a directory" "$STATE: not a regular file \(a directory\)"
    rmdir "$STATE"
    # capacity 4096: at most 64 KiB + 4 MiB.
    truncate -s $((64 * 1024 + 4096 * 1024 + 1)) "$STATE"
    refused "an oversized file" "$STATE: 4259841 bytes, more than the 4259840"
    rm -f "$STATE"
    # A well-formed file with a rate the shaper cannot hold names the user
    # and why, not "No space left on device".
    printf 'linecap-users 1\nuser 1 low@example.com up=1kbit down=1kbit\nend 1\n' > "$STATE"
    refused "a rate below the port's floor" \
        "user low@example.com \(id 1\): the worker refused it: a rate below the port rate / 2\^21"
    rm -f "$STATE"

    # --ignore-state keeps a file that still held users.
    lc_start "$WORK/lc.conf"
    ok_reply "user set keep" user set keep@example.com > /dev/null
    lc_stop
    printf 'bogus\n' >> "$STATE"
    cp "$STATE" "$WORK/users.before"
    lc_start "$WORK/lc.conf" --ignore-state
    aside=$(ls "$STATE".ignored-* 2>/dev/null | head -n 1)
    [ -n "$aside" ] || fail "--ignore-state kept no file aside"
    cmp -s "$aside" "$WORK/users.before" || fail "$aside differs from the ignored file"
    grep -q "the file is kept as $aside" "$LC_LOG" || fail "the log does not say where the file went"
    ok_reply "user set new" user set new@example.com > /dev/null
    lc_stop
    cmp -s "$aside" "$WORK/users.before" || fail "$aside changed"
    grep -q " keep@example.com " "$aside" || fail "the kept file lost its user"
    grep -q " new@example.com " "$STATE" || fail "the new file lacks the new user"
    echo "ok: --ignore-state kept the old file as $aside"
    # The same for a FIFO: moved aside, linecapd starts.
    rm -f "$STATE" "$aside"
    mkfifo "$STATE"
    lc_start "$WORK/lc.conf" --ignore-state
    aside=$(ls "$STATE".ignored-* 2>/dev/null | head -n 1)
    [ -p "$aside" ] || fail "the FIFO was not kept aside"
    lc_stop
    [ -f "$STATE" ] || fail "no users file after --ignore-state"
    ;;
limits)
    # Numbers that do not fit are refused, not wrapped; a burst below a
    # frame says so; emails that print like another are refused; a long
    # multibyte argument keeps its error message.
    gen_users
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[wire]" "autostart = no" "mtu = 1514"
    lc_start "$WORK/lc.conf"
    expect_error "burst '4294967296' out of range: 1 to 4294967295 bytes" "burst=2^32" \
        user set b@example.com burst=4294967296
    expect_error "burst '17592186044417m' out of range" "burst=(2^44+1)m" \
        user set b@example.com burst=17592186044417m
    expect_error "burst '18446744073709551617' out of range" "burst=2^64+1" \
        user set b@example.com burst_up=18446744073709551617
    expect_error "bad burst '-1'" "burst=-1" user set b@example.com burst_down=-1
    expect_error "rate '38685626227668133591.597632tibps' out of range" "up=2^128-wrapping rate" \
        user set b@example.com up=38685626227668133591.597632tibps
    expect_error "rate '18446744073709551617' out of range" "down=2^64+1" \
        user set b@example.com down=18446744073709551617
    expect_error "no user 'b@example.com'" "refused lines made no user" user get b@example.com
    r=$(ok_reply "burst=4294967295" user set b@example.com burst=4294967295)
    expect_eq "$(jq -c '[.user.burst_up, .user.burst_down]' <<<"$r")" "[4294967295,4294967295]" \
        "the largest burst, kept whole"
    expect_error "burst 1 bytes below the largest frame: at least 1514 bytes \\(\\[wire\\] mtu 1514" \
        "burst=1" user set b@example.com burst=1
    expect_error "burst 1513 bytes below the largest frame" "burst_down=1513" \
        user set c@example.com burst_down=1513
    r=$(ok_reply "burst=1514" user set c@example.com burst=1514)
    expect_eq "$(jq .user.burst_up <<<"$r")" 1514 "a burst of one frame"
    expect_error "bad port in '10.0.0.1:4294967376'" "port 2^32+80" assign a@x 10.0.0.1:4294967376

    # Emails that print the same as "alice": each invisible character
    # refused with its code point.
    ok_reply "user set alice" user set alice > /dev/null
    for cp in 034F FE0F E0020 3164 115F 180B 200B 2060 FEFF FFA0 1BCA0 1D173 E0FFF AD; do
        ch=$(printf "\\U$(printf %08X 0x$cp)")
        expect_error "bad email 'alice.*': U\\+0*$cp at byte 5 is an invisible" \
            "alice + U+$cp" user set "alice$ch"
    done
    expect_eq "$(lc_ctl user list | jq -c "[.users[].email] | sort")" '["alice","b@example.com","c@example.com"]' "no look-alike user was made"

    # A long argument of 3-byte characters: the error is cut at a
    # character boundary, not degraded to "Invalid argument".
    for shift in "" a aa; do
        long=$shift$(printf '€%.0s' $(seq 1 1300))
        for args in "user set $long" "user set x up=$long" "user set x burst=$long" \
                    "user set x $long" "user get $long" "assign x 10.0.0.1:$long" \
                    "assign x $long" "unassign $long" "state $long"; do
            # shellcheck disable=SC2086
            r=$(lc_ctl $args || true)
            jq -e '.ok == false and (.error | type == "string") and
                   (.error | test("Invalid argument") | not) and (.error | test("\\.\\.\\."))' \
                <<<"$r" > /dev/null || fail "long argument ($args): $(head -c 300 <<<"$r")"
        done
    done
    echo "ok: long multibyte arguments keep their error messages"
    lc_stop
    ;;
plans)
    # Plans: made, changed, refused, deleted; users in them with and
    # without rates of their own; stats; the state file across a restart.
    gen_users
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[wire]" "autostart = no" "[shaper]" "plans = 2" "plan_users = 2"
    STATE=$WORK/users.conf
    lc_start "$WORK/lc.conf"
    r=$(ok_reply "plan set gold" plan set gold total=100mbit up=5mbit)
    expect_eq "$(jq -c '.plan | [.name, .id, .total_up, .total_down, .up, .down, .users, .capacity]' <<<"$r")" \
        '["gold",1,100000000,100000000,5000000,0,0,2]' "plan set gold"
    r=$(ok_reply "plan set silver" plan set silver total_down=20mbit)
    expect_eq "$(jq .plan.weight <<<"$r")" 1 "silver: weight 1 when not given"
    r=$(ok_reply "plan set gold weight=3" plan set gold weight=3)
    expect_eq "$(jq -c '.plan | [.weight, .total_up, .up]' <<<"$r")" '[3,100000000,5000000]' \
        "gold: weight 3, its rates kept"
    expect_error "weight '0' out of range: 1 to 100" "plan weight 0" plan set gold weight=0
    expect_error "weight '101' out of range: 1 to 100" "plan weight 101" plan set gold weight=101
    expect_error "bad weight 'abc'" "plan weight abc" plan set gold weight=abc
    expect_error "weight '0' out of range" "a new plan of weight 0" plan set x weight=0
    expect_error "no plan 'x'" "x not made" plan get x
    expect_eq "$(lc_ctl plan get gold | jq -c '.plan | [.weight, .shaper.up.weight, .shaper.down.weight]')" \
        '[3,3,3]' "plan get gold: weight 3, in the shaper too"
    expect_error "no room for another plan \(\[shaper\] plans = 2\)" "a third plan" plan set bronze
    expect_error "bad plan name 'a/b'" "bad plan name" plan set a/b
    expect_error "bad rate 'fast'" "bad plan rate" plan set gold total=fast
    expect_error "unknown argument 'speed=1' \\(.*weight=N\\)" "unknown plan argument" plan set gold speed=1
    expect_error "no plan 'bronze'" "plan get of no plan" plan get bronze
    expect_error "no plan 'bronze'" "user set plan= of no plan" user set a@example.com plan=bronze

    r=$(ok_reply "alice joins gold" user set alice@example.com plan=gold)
    expect_eq "$(jq -c '.user | [.plan, .up, .down]' <<<"$r")" '["gold",5000000,1000000000]' \
        "alice: gold's per-user up, the default down"
    r=$(ok_reply "bob joins gold" user set bob@example.com up=7mbit plan=gold)
    expect_eq "$(jq -c '.user | [.plan, .up]' <<<"$r")" '["gold",7000000]' "bob: his own up"
    expect_error "plan gold is full \(2 users, \[shaper\] plan_users\)" "a full plan" \
        user set carol@example.com plan=gold
    expect_error "no user 'carol@example.com'" "carol not made" user get carol@example.com
    ok_reply "plan set gold up=6mbit" plan set gold up=6mbit down=3mbit > /dev/null
    expect_eq "$(user_field alice@example.com '.user | [.up, .down] | tostring')" '[6000000,3000000]' \
        "alice follows gold"
    expect_eq "$(user_field bob@example.com '.user | [.up, .down] | tostring')" '[7000000,3000000]' \
        "bob keeps his own up"
    expect_eq "$(user_field bob@example.com '.user | [.up_from, .down_from] | tostring')" \
        '["own","plan"]' "bob: where his rates come from"
    # up=default takes bob's own rate back: gold's again, in the shaper too.
    r=$(ok_reply "bob up=default" user set bob@example.com up=default)
    expect_eq "$(jq -c '.user | [.up, .up_from, .down_from]' <<<"$r")" '[6000000,"plan","plan"]' \
        "bob: gold's up again"
    ok_reply "bob up=7mbit again" user set bob@example.com up=7mbit > /dev/null
    expect_error "burst 100 bytes below the largest frame" "a burst below a frame" \
        user set bob@example.com burst=100
    ok_reply "bob burst=default" user set bob@example.com burst=default > /dev/null
    expect_error "bad rate 'none' \(e.g. 500kbit, 10mbit, 1gbit, or default for the plan's or the default rate\)" \
        "up=none" user set bob@example.com up=none
    r=$(ok_reply "plan get gold" plan get gold)
    expect_eq "$(jq .plan.users <<<"$r")" 2 "plan get gold: users"
    expect_eq "$(jq -c '[.plan.shaper.up.users, .plan.shaper.down.users, .plan.shaper.up.total]' <<<"$r")" \
        '[2,2,100000000]' "plan get gold: the shaper's view"
    expect_eq "$(lc_ctl plan list | jq -c '[.plans[] | [.name, .weight]]')" '[["gold",3],["silver",1]]' \
        "plan list"
    expect_eq "$(lc_ctl stats | jq -c '.plans.gold | [.id, .users, .total_up, .up]')" \
        '[1,2,100000000,6000000]' "stats: plans"
    expect_error "plan gold has 2 users" "plan del of a plan in use" plan del gold
    ok_reply "bob leaves" user set bob@example.com plan=none > /dev/null
    expect_eq "$(user_field bob@example.com '.user | [.plan, .up, .down] | tostring')" \
        '[null,7000000,1000000000]' "bob out of any plan"
    expect_eq "$(user_field bob@example.com '.user | [.up_from, .down_from] | tostring')" \
        '["own","default"]' "bob out of any plan: his own up, the default down"
    expect_eq "$(lc_ctl plan get gold | jq .plan.users)" 1 "gold after bob left"
    ok_reply "plan del silver" plan del silver > /dev/null
    expect_error "no plan 'silver'" "silver deleted" plan get silver
    lc_stop
    grep -q "^plan 1 gold total_up=100mbit total_down=100mbit up=6mbit down=3mbit weight=3$" "$STATE" ||
        fail "state file: gold: $(cat "$STATE")"
    grep -q "^user [0-9]* alice@example.com burst_up=0 burst_down=0 plan=gold$" "$STATE" ||
        fail "state file: alice: $(cat "$STATE")"

    # Restart: the plan and alice's place in it come back.
    lc_start "$WORK/lc.conf"
    expect_eq "$(user_field alice@example.com '.user | [.plan, .up, .down] | tostring')" \
        '["gold",6000000,3000000]' "alice after restart"
    expect_eq "$(lc_ctl plan get gold | jq -c '[.plan.users, .plan.shaper.down.users, .plan.total_down]')" \
        '[1,1,100000000]' "gold after restart"
    expect_eq "$(lc_ctl plan get gold | jq -c '.plan | [.weight, .shaper.up.weight, .shaper.down.weight]')" \
        '[3,3,3]' "gold's weight after restart, in the shaper too"
    lc_stop
    ;;
nodes)
    # Several VPN nodes behind one appliance, and a client endpoint behind
    # a carrier-grade NAT that holds a connection to each of two nodes, of
    # two users: `assign EMAIL CLIENT SERVER node=NAME` binds exactly the
    # flow between the two endpoints. carol's endpoint, assigned with the
    # two-argument form, is hers to whichever server.
    "$LC_PCAPGEN" nodes "$WORK/client.pcap" "$WORK/server.pcap" \
        --expect-flows "$FLOWS_JSON" > /dev/null
    write_conf "$WORK/lc.conf" inline "$WORK/client.pcap" "$WORK/server.pcap" \
        "[wire]" "autostart = no"
    lc_start "$WORK/lc.conf"

    # A follower stays connected after its hello; `stats` shows it.
    python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"hello node=node-b\n")
print(s.makefile().readline(), flush=True)
time.sleep(60)
' "$LC_SOCK" > "$WORK/follower.out" 2>&1 &
    follower=$!
    # On failure too, the follower goes with linecapd. set +e first: under
    # set -e, (exit $rc) would end the trap before linecapd is killed.
    nodes_cleanup() {
        local rc=$?
        set +e
        kill "$follower" 2>/dev/null
        (exit $rc)
        lc_cleanup
    }
    trap nodes_cleanup EXIT INT TERM
    for i in $(seq 1 100); do
        [ -s "$WORK/follower.out" ] && break
        sleep 0.05
    done
    expect_eq "$(jq -c '[.ok, .node]' "$WORK/follower.out")" '[true,"node-b"]' "hello node=node-b"

    r=$(ok_reply "assign alice" assign alice@example.com 100.64.0.1:40000 192.0.2.10:443 node=node-a)
    expect_eq "$(jq -c '[.result, .node]' <<<"$r")" '["pending","node-a"]' "assign alice CLIENT SERVER node=node-a"
    r=$(ok_reply "assign bob" assign bob@example.com 100.64.0.1:40000 node=node-b 192.0.2.20:443)
    expect_eq "$(jq -r .result <<<"$r")" pending "assign bob, the same client endpoint to another server"
    r=$(ok_reply "assign carol" assign carol@example.com 100.64.0.1:40001 node=node-a)
    expect_eq "$(jq -r .result <<<"$r")" pending "assign carol CLIENT (any server)"
    expect_eq "$(lc_ctl stats | jq .assignments.pending)" 3 "pending assignments"
    expect_error "server endpoint" "a server without a port" \
        assign dave@example.com 100.64.0.1:40002 192.0.2.10
    expect_error "client IP:PORT" "a server endpoint with a whole client IP" \
        assign dave@example.com 100.64.0.1 192.0.2.10:443
    expect_error "IP versions" "a client and a server of two IP versions" \
        assign dave@example.com 100.64.0.1:40002 '[2001:db8::1]:443'
    expect_error "bad node name" "a node name with a space's worth of junk" \
        assign dave@example.com 100.64.0.1:40002 'node=a/b'
    expect_error "expected node=NAME" "hello without node=" hello node-a

    r=$(ok_reply start start)
    wait_rx "$(frames "$WORK/client.pcap")" "$(frames "$WORK/server.pcap")"

    F_ALICE='.client == "100.64.0.1:40000" and .server == "192.0.2.10:443"'
    F_BOB='.client == "100.64.0.1:40000" and .server == "192.0.2.20:443"'
    F_CAROL='.client == "100.64.0.1:40001"'
    for u in "alice|$F_ALICE|1|node-a" "bob|$F_BOB|1|node-b" "carol|$F_CAROL|2|node-a"; do
        IFS='|' read -r name filter n node <<<"$u"
        r=$(ok_reply "user get $name" user get "$name@example.com")
        check_counters "$name" "$(jq .user.counters <<<"$r")" "$filter"
        expect_eq "$(jq .user.flows <<<"$r")" "$n" "$name flows"
        expect_eq "$(jq -c .user.nodes <<<"$r")" "[\"$node\"]" "$name nodes"
    done
    got=$(lc_ctl flows | jq -S -c '[.flows[] | [.client, .server, .user, .node]] | sort')
    want='[["100.64.0.1:40000","192.0.2.10:443","alice@example.com","node-a"],'
    want+='["100.64.0.1:40000","192.0.2.20:443","bob@example.com","node-b"],'
    want+='["100.64.0.1:40001","192.0.2.10:443","carol@example.com","node-a"],'
    want+='["100.64.0.1:40001","192.0.2.20:443","carol@example.com","node-a"]]'
    expect_eq "$got" "$want" "flows: [client, server, user, node]"

    s=$(lc_ctl stats)
    expect_eq "$(jq -c '[.nodes["node-a"].assigns, .nodes["node-b"].assigns]' <<<"$s")" "[2,1]" \
        "stats nodes: assigns"
    expect_eq "$(jq -c '[.nodes["node-a"].connected, .nodes["node-b"].connected, .nodes["node-b"].followers]' <<<"$s")" \
        "[false,true,1]" "stats nodes: connected followers"
    expect_eq "$(jq -c '[(.nodes["node-a"].connections | length), (.nodes["node-b"].connections | length)]' <<<"$s")" \
        "[0,1]" "stats nodes: connections"
    [ "$(jq '.nodes["node-b"].last_seen' <<<"$s")" -ge 0 ] || fail "node-b: no last_seen"

    # The follower goes away: its node is no longer connected, and bob
    # keeps the flow assigned through it.
    kill "$follower"
    wait "$follower" 2> /dev/null || true
    for i in $(seq 1 100); do
        [ "$(lc_ctl stats | jq '.nodes["node-b"].connected')" = false ] && break
        sleep 0.05
    done
    expect_eq "$(lc_ctl stats | jq -c '.nodes["node-b"] | [.connected, .followers]')" "[false,0]" \
        "node-b after its follower left"
    expect_eq "$(user_field bob@example.com .user.flows)" 1 "bob's flow stays"

    # unassign CLIENT SERVER takes back exactly that flow.
    r=$(ok_reply "unassign bob's" unassign 100.64.0.1:40000 192.0.2.20:443)
    expect_eq "$(jq -r .result <<<"$r")" removed "unassign CLIENT SERVER"
    expect_eq "$(user_field bob@example.com .user.flows)" 0 "bob's flows after unassign"
    expect_eq "$(user_field alice@example.com .user.flows)" 1 "alice's flows after bob's unassign"

    # unassign CLIENT, without a server, takes every assignment of the
    # endpoint, whatever its server: the pending ones named with a server
    # too, and every flow an endpoint assignment bound (alice's).
    ok_reply "erin to node-a" assign erin@example.com 100.64.0.1:40000 192.0.2.30:443 node=node-a > /dev/null
    ok_reply "erin to node-b" assign erin@example.com 100.64.0.1:40000 192.0.2.40:443 node=node-b > /dev/null
    ok_reply "erin anywhere" assign erin@example.com 100.64.0.1:40000 > /dev/null
    pending=$(lc_ctl stats | jq .assignments.pending)
    r=$(ok_reply "unassign CLIENT" unassign 100.64.0.1:40000)
    expect_eq "$(jq -r .result <<<"$r")" removed "unassign CLIENT, pending entries of three servers"
    expect_eq "$(lc_ctl stats | jq .assignments.pending)" $((pending - 3)) "pending after unassign CLIENT"
    expect_eq "$(user_field alice@example.com .user.flows)" 0 "alice's flow after unassign CLIENT"
    r=$(ok_reply "unassign CLIENT again" unassign 100.64.0.1:40000)
    expect_eq "$(jq -r .result <<<"$r")" not_found "unassign CLIENT again"

    # Node names that come and go do not use up the ids. node-b held by a
    # pending entry, node-a by flows, and 61 more names each by a pending
    # entry: all 63 ids are held, and a 64th name finds no room.
    ok_reply "node-b pending" assign bob@example.com 100.64.0.9:1 192.0.2.20:443 node=node-b > /dev/null
    for i in $(seq 1 61); do
        echo "assign dave@example.com 100.64.9.$i:1000 192.0.2.10:443 node=churn-$i"
    done | lc_ctl - > "$WORK/churn.out"
    expect_eq "$(jq -r .ok "$WORK/churn.out" | sort | uniq -c | xargs)" "61 true" "61 more nodes"
    expect_eq "$(lc_ctl stats | jq '.nodes | length')" 63 "nodes held"
    expect_error "no room for another node" "a 64th node while 63 are held" \
        assign dave@example.com 100.64.9.100:1000 node=late-1
    # Their assignments gone, the 61 are forgotten once a new name needs an
    # id (2 s after they were last named); the held ones stay.
    for i in $(seq 1 61); do echo "unassign 100.64.9.$i:1000 192.0.2.10:443"; done |
        lc_ctl - > "$WORK/unchurn.out"
    expect_eq "$(jq -r .result "$WORK/unchurn.out" | sort | uniq -c | xargs)" "61 removed" "unassigned"
    sleep 2.1
    r=$(ok_reply "a new node" assign dave@example.com 100.64.9.100:1000 node=late-1)
    expect_eq "$(jq -r .node <<<"$r")" late-1 "a new node once the others are free"
    expect_eq "$(lc_ctl stats | jq -c '.nodes | keys')" '["late-1","node-a","node-b"]' \
        "nodes held after the churn"
    expect_eq "$(lc_ctl user get dave@example.com | jq -c .user.nodes)" '["late-1"]' "dave's nodes (the forgotten ones left his list)"
    grep -q "node churn-1 forgotten" "$LC_LOG" || fail "linecapd did not log a forgotten node"
    r=$(ok_reply "a churned name again" assign dave@example.com 100.64.9.101:1000 node=churn-1)
    expect_eq "$(jq -r .node <<<"$r")" churn-1 "a forgotten name named again"
    lc_stop
    ;;
*)
    fail "unknown case $case_name"
    ;;
esac
echo "PASS: users $case_name"
