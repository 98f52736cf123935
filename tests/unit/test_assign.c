/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the worker-side assignments (lib/assign) against a real flow
 * table, driven with synthetic time (hz = 1000, so `now` is in
 * milliseconds). Packets are fed the way the worker feeds them: a new flow
 * goes through lc_assign_new_flow(), a known one through
 * lc_assign_flow_user(), and the packet is accounted to the user found.
 * EAL is initialised once, without hugepages, for rte_hash and rte_malloc.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "lc_test_eal.h"

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "lc_assign.h"
#include "lc_flow.h"

#define HZ 1000u
#define SEC(s) ((uint64_t)(s) * HZ)
#define TTL SEC(30)

#define FIN 0x01
#define SYN 0x02
#define ACK 0x10

#define UP LC_FLOW_DIR_UP
#define DOWN LC_FLOW_DIR_DOWN

#define N_USERS 16

/* ---- fixture ------------------------------------------------------ */

struct fx {
	struct lc_assign *a;
	struct lc_flow_table *flows;
	struct lc_worker_user *us;
};

static unsigned int fx_seq;

static struct fx *
fx_new(uint32_t flow_capacity, uint32_t pending_capacity, uint32_t ip_capacity)
{
	char aname[24], fname[24];
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	fx_seq++;
	snprintf(aname, sizeof(aname), "ta%u", fx_seq);
	snprintf(fname, sizeof(fname), "tf%u", fx_seq);
	struct lc_assign_params ap = {
		.name = aname,
		.socket_id = SOCKET_ID_ANY,
		.users = N_USERS,
		.ip_capacity = ip_capacity,
		.pending_capacity = pending_capacity,
		.pending_ttl = TTL,
	};
	x->a = lc_assign_create(&ap);
	assert_non_null(x->a);
	x->us = lc_assign_users(x->a);
	assert_non_null(x->us);
	struct lc_flow_params fp = {
		.name = fname,
		.socket_id = SOCKET_ID_ANY,
		.capacity = flow_capacity,
		.permit_invalid_flow = true,
		.hz = HZ,
		.client_index = true,
		.expire = lc_assign_flow_expired,
		.expire_arg = x->a,
	};
	x->flows = lc_flow_table_create(&fp);
	assert_non_null(x->flows);
	return x;
}

static void
fx_free(struct fx *x)
{
	lc_flow_table_free(x->flows);
	lc_assign_free(x->a);
	free(x);
}

static int
fx_setup(void **state)
{
	*state = fx_new(1024, 1024, 1024);
	return 0;
}

static int
fx_teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* ---- packets ------------------------------------------------------ */

static void
addr16(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (strchr(s, ':') != NULL) {
		assert_int_equal(inet_pton(AF_INET6, s, out), 1);
	} else {
		out[10] = 0xff;
		out[11] = 0xff;
		assert_int_equal(inet_pton(AF_INET, s, out + 12), 1);
	}
}

/* A parsed packet from src:sport to dst:dport. */
static struct lc_parse_result
pkt(const char *src, uint16_t sport, const char *dst, uint16_t dport,
    uint8_t proto, uint8_t tcp_flags)
{
	struct lc_parse_result pr;

	memset(&pr, 0, sizeof(pr));
	pr.reason = LC_PARSE_OK;
	pr.ip_version = strchr(src, ':') != NULL ? 6 : 4;
	pr.l4_proto = proto;
	pr.tcp_flags = proto == IPPROTO_TCP ? tcp_flags : 0;
	pr.flags = LC_PARSE_F_PORTS;
	pr.sport = sport;
	pr.dport = dport;
	addr16(src, pr.src);
	addr16(dst, pr.dst);
	return pr;
}

static const char *
server_of(const char *client)
{
	return strchr(client, ':') != NULL ? "2001:db8:5::1" : "192.0.2.1";
}

/*
 * Feed one packet through the worker's classify step and return the user
 * it counted for. *out (if not NULL) gets the flow; *created whether it
 * was new.
 */
static uint32_t
feed(struct fx *x, const struct lc_parse_result *pr, enum lc_flow_dir dir,
     uint32_t len, uint64_t now, struct lc_flow **out, bool *created)
{
	struct lc_flow_key key;
	struct lc_flow *f;
	int status = -1;
	uint32_t u;

	assert_true(lc_flow_key_from_parse(pr, dir == UP, &key));
	f = lc_flow_lookup_or_create(x->flows, &key, pr, dir, len, now, &status);
	assert_non_null(f);
	assert_true(status == LC_FLOW_CREATED || status == LC_FLOW_EXISTING);
	u = lc_assign_classify(x->a, x->us, f, &key, status, dir, len, now);
	if (out != NULL)
		*out = f;
	if (created != NULL)
		*created = status == LC_FLOW_CREATED;
	return u;
}

/* Upload packet of a TCP flow client:cport -> server:443 (an ACK). */
static uint32_t
tcp_up(struct fx *x, const char *client, uint16_t cport, uint32_t len,
       uint64_t now, struct lc_flow **out)
{
	struct lc_parse_result pr = pkt(client, cport, server_of(client), 443,
					IPPROTO_TCP, ACK);

	return feed(x, &pr, UP, len, now, out, NULL);
}

/* Download packet of that flow. */
static uint32_t
tcp_down(struct fx *x, const char *client, uint16_t cport, uint32_t len,
	 uint64_t now, struct lc_flow **out)
{
	struct lc_parse_result pr = pkt(server_of(client), 443, client, cport,
					IPPROTO_TCP, ACK);

	return feed(x, &pr, DOWN, len, now, out, NULL);
}

static uint32_t
udp_up(struct fx *x, const char *client, uint16_t cport, uint32_t len,
       uint64_t now, struct lc_flow **out)
{
	struct lc_parse_result pr = pkt(client, cport, server_of(client), 53,
					IPPROTO_UDP, 0);

	return feed(x, &pr, UP, len, now, out, NULL);
}

static void
add_user(struct fx *x, uint32_t id)
{
	assert_int_equal(lc_assign_user_add(x->a, id), 0);
	assert_true(x->us[id].live);
}

static enum lc_assign_result
assign_ep(struct fx *x, uint32_t user, const char *ip, uint16_t port,
	  uint64_t now, int want_err)
{
	uint8_t a[16];
	int err = 12345;
	enum lc_assign_result r;

	addr16(ip, a);
	r = lc_assign_endpoint(x->a, x->flows, user, a, port, now, &err);
	assert_int_equal(err, want_err);
	return r;
}

static enum lc_assign_result
assign_ip(struct fx *x, uint32_t user, const char *ip, int want_err)
{
	uint8_t a[16];
	int err = 12345;
	enum lc_assign_result r;

	addr16(ip, a);
	r = lc_assign_ip(x->a, user, a, &err);
	assert_int_equal(err, want_err);
	return r;
}

static enum lc_assign_result
unassign_ep(struct fx *x, const char *ip, uint16_t port)
{
	uint8_t a[16];

	addr16(ip, a);
	return lc_unassign_endpoint(x->a, x->flows, a, port);
}

static enum lc_assign_result
unassign_ip(struct fx *x, const char *ip)
{
	uint8_t a[16];

	addr16(ip, a);
	return lc_unassign_ip(x->a, a);
}

static uint32_t
ip_user(struct fx *x, const char *ip)
{
	uint8_t a[16];

	addr16(ip, a);
	return lc_assign_ip_user(x->a, a);
}

static struct lc_assign_counters
ctr(struct fx *x)
{
	struct lc_assign_counters c;

	memset(&c, 0xa5, sizeof(c));
	lc_assign_counters_get(x->a, &c);
	return c;
}

/*
 * Run upkeep until one more full pass of the sweep has ended; returns the
 * number of calls it took. Fails if the sweep never ends.
 */
static unsigned int
sweep_pass(struct fx *x, uint64_t now, unsigned int budget)
{
	uint64_t before = ctr(x).sweeps;
	unsigned int calls = 0;

	while (ctr(x).sweeps == before) {
		lc_assign_upkeep(x->a, x->flows, now, budget);
		calls++;
		assert_true(calls < 1000000);
	}
	return calls;
}

/*
 * Run upkeep until nothing is left to do: every sweep that is due (a pass
 * started again included) and the scans of stale assignments, which look
 * at budget / 4 + 1 slots of each table a call.
 */
static void
upkeep_settle(struct fx *x, uint64_t now)
{
	uint32_t calls = 3 * (lc_flow_table_slots(x->flows) / 32 + 1) + 400;

	for (uint32_t i = 0; i < calls; i++)
		lc_assign_upkeep(x->a, x->flows, now, 256);
}

/* Sum of flows held by every user id (0 excluded). */
static uint64_t
held_flows(struct fx *x)
{
	uint64_t n = 0;

	for (uint32_t id = 1; id <= N_USERS; id++)
		n += x->us[id].flows;
	return n;
}

/* Number of flows in the table bound to `user`, counted from the table. */
static uint32_t
table_flows_of(struct fx *x, uint32_t user)
{
	uint32_t cursor = LC_FLOW_CURSOR_START, n = 0;
	struct lc_flow *batch[64];

	while (cursor != LC_FLOW_CURSOR_END) {
		unsigned int k = lc_flow_iterate(x->flows, &cursor, 4096, batch,
						 RTE_DIM(batch));

		for (unsigned int i = 0; i < k; i++)
			if (batch[i]->user_id == user)
				n++;
	}
	return n;
}

/* Every user's flow count equals what the table holds for it. */
static void
check_flow_counts(struct fx *x)
{
	for (uint32_t id = 1; id <= N_USERS; id++)
		assert_int_equal(x->us[id].flows, table_flows_of(x, id));
}

/* ---- basics ------------------------------------------------------- */

static void
create_params(void **state)
{
	struct lc_assign_params p = {
		.name = "tcreate", .socket_id = SOCKET_ID_ANY, .users = 4,
		.ip_capacity = 8, .pending_capacity = 8, .pending_ttl = 1,
	};
	struct lc_assign_params bad;
	struct lc_assign *a;

	(void)state;
	assert_null(lc_assign_create(NULL));
	assert_int_equal(rte_errno, EINVAL);
	bad = p;
	bad.name = NULL;
	rte_errno = 0;
	assert_null(lc_assign_create(&bad));
	assert_int_equal(rte_errno, EINVAL);
	bad = p;
	bad.users = 0;
	rte_errno = 0;
	assert_null(lc_assign_create(&bad));
	assert_int_equal(rte_errno, EINVAL);
	bad = p;
	bad.ip_capacity = 7;
	rte_errno = 0;
	assert_null(lc_assign_create(&bad));
	assert_int_equal(rte_errno, EINVAL);
	bad = p;
	bad.pending_capacity = 7;
	rte_errno = 0;
	assert_null(lc_assign_create(&bad));
	assert_int_equal(rte_errno, EINVAL);

	a = lc_assign_create(&p);
	assert_non_null(a);
	/* users + 1 entries, index 0 the unassigned traffic, all zero. */
	struct lc_worker_user *us = lc_assign_users(a);
	for (uint32_t id = 0; id <= 4; id++) {
		assert_int_equal(us[id].live, 0);
		assert_int_equal(us[id].flows, 0);
		assert_int_equal(us[id].packets[0] + us[id].packets[1], 0);
	}
	assert_int_equal(sizeof(struct lc_worker_user), RTE_CACHE_LINE_SIZE);
	struct lc_assign_counters c;
	memset(&c, 0xff, sizeof(c));
	lc_assign_counters_get(a, &c);
	assert_int_equal(c.bound_on_create + c.bound_by_ip + c.pending +
			 c.pending_expired + c.pending_full + c.ip_rules + c.sweeps, 0);
	lc_assign_free(a);
	lc_assign_free(NULL);
}

static void
result_names(void **state)
{
	(void)state;
	assert_string_equal(lc_assign_result_name(LC_ASSIGN_BOUND), "bound");
	assert_string_equal(lc_assign_result_name(LC_ASSIGN_PENDING), "pending");
	assert_string_equal(lc_assign_result_name(LC_ASSIGN_UNCHANGED), "unchanged");
	assert_string_equal(lc_assign_result_name(LC_ASSIGN_REMOVED), "removed");
	assert_string_equal(lc_assign_result_name(LC_ASSIGN_NOT_FOUND), "not_found");
}

/* Assignments need a live user; nothing is recorded otherwise. */
static void
assign_needs_live_user(void **state)
{
	struct fx *x = *state;

	assert_int_equal(assign_ep(x, 0, "10.0.0.1", 40000, 0, -EINVAL),
			 LC_ASSIGN_UNCHANGED);
	assert_int_equal(assign_ep(x, 3, "10.0.0.1", 40000, 0, -EINVAL),
			 LC_ASSIGN_UNCHANGED);
	assert_int_equal(assign_ep(x, N_USERS + 1, "10.0.0.1", 40000, 0, -EINVAL),
			 LC_ASSIGN_UNCHANGED);
	assert_int_equal(assign_ip(x, 0, "10.0.0.1", -EINVAL), LC_ASSIGN_UNCHANGED);
	assert_int_equal(assign_ip(x, 3, "10.0.0.1", -EINVAL), LC_ASSIGN_UNCHANGED);
	assert_int_equal(assign_ip(x, N_USERS + 1, "10.0.0.1", -EINVAL),
			 LC_ASSIGN_UNCHANGED);
	assert_int_equal(ctr(x).pending, 0);
	assert_int_equal(ctr(x).ip_rules, 0);
	assert_int_equal(tcp_up(x, "10.0.0.1", 40000, 100, SEC(1), NULL), 0);
	assert_int_equal(x->us[0].packets[UP], 1);
	assert_int_equal(x->us[0].bytes[UP], 100);
}

/* ---- new flows ---------------------------------------------------- */

static void
pending_binds_new_flow(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f, *g;

	add_user(x, 1);
	assert_int_equal(assign_ep(x, 1, "10.0.0.1", 40000, SEC(100), 0),
			 LC_ASSIGN_PENDING);
	assert_int_equal(ctr(x).pending, 1);
	/* The IP as a whole is not assigned. */
	assert_int_equal(ip_user(x, "10.0.0.1"), 0);

	/* Its first packet binds it; both directions count for the user. */
	assert_int_equal(tcp_up(x, "10.0.0.1", 40000, 120, SEC(110), &f), 1);
	assert_int_equal(f->user_id, 1);
	assert_int_equal(f->origin, LC_ORIGIN_ENDPOINT);
	assert_int_equal(tcp_down(x, "10.0.0.1", 40000, 1500, SEC(111), NULL), 1);
	assert_int_equal(tcp_down(x, "10.0.0.1", 40000, 700, SEC(112), NULL), 1);
	assert_int_equal(x->us[1].flows, 1);
	assert_int_equal(x->us[1].packets[UP], 1);
	assert_int_equal(x->us[1].bytes[UP], 120);
	assert_int_equal(x->us[1].packets[DOWN], 2);
	assert_int_equal(x->us[1].bytes[DOWN], 2200);
	assert_int_equal(x->us[1].last_seen, SEC(112));
	assert_int_equal(ctr(x).bound_on_create, 1);
	assert_int_equal(ctr(x).bound_by_ip, 0);

	/* Another port of the same client, and the same port of another
	 * client, are someone else's. */
	assert_int_equal(tcp_up(x, "10.0.0.1", 40001, 60, SEC(113), &g), 0);
	assert_int_equal(g->user_id, 0);
	assert_int_equal(tcp_up(x, "10.0.0.2", 40000, 60, SEC(113), NULL), 0);
	assert_int_equal(x->us[0].packets[UP], 2);
	assert_int_equal(x->us[0].bytes[UP], 120);
	assert_int_equal(x->us[1].flows, 1);

	/* A flow opened by the server side (first packet downstream) finds
	 * the same endpoint: UDP this time. */
	add_user(x, 2);
	assert_int_equal(assign_ep(x, 2, "2001:db8::7", 5353, SEC(113), 0),
			 LC_ASSIGN_PENDING);
	struct lc_parse_result pr = pkt("2001:db8:5::1", 53, "2001:db8::7", 5353,
					IPPROTO_UDP, 0);
	assert_int_equal(feed(x, &pr, DOWN, 90, SEC(114), &g, NULL), 2);
	assert_int_equal(g->origin, LC_ORIGIN_ENDPOINT);
	assert_int_equal(x->us[2].bytes[DOWN], 90);
	assert_int_equal(ctr(x).bound_on_create, 2);
	check_flow_counts(x);
}

static void
pending_ttl(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f;

	add_user(x, 1);
	assert_int_equal(assign_ep(x, 1, "10.0.0.1", 40000, SEC(100), 0),
			 LC_ASSIGN_PENDING);
	assert_int_equal(assign_ep(x, 1, "10.0.0.1", 40001, SEC(100), 0),
			 LC_ASSIGN_PENDING);
	assert_int_equal(ctr(x).pending, 2);
	/* At exactly pending_ttl the assignment still holds; a moment later
	 * it does not. */
	assert_int_equal(tcp_up(x, "10.0.0.1", 40000, 60, SEC(100) + TTL, &f), 1);
	assert_int_equal(tcp_up(x, "10.0.0.1", 40001, 60, SEC(100) + TTL + 1, &f), 0);
	assert_int_equal(f->user_id, 0);
	assert_int_equal(f->origin, LC_ORIGIN_NONE);
	assert_int_equal(x->us[1].flows, 1);
	assert_int_equal(ctr(x).bound_on_create, 1);

	/* The upkeep drops both (the one that bound its flow too) once
	 * expired, and counts them. */
	for (int i = 0; i < 400; i++)
		lc_assign_upkeep(x->a, x->flows, SEC(100) + TTL - 1, 64);
	assert_int_equal(ctr(x).pending, 2);
	assert_int_equal(ctr(x).pending_expired, 0);
	for (int i = 0; i < 400; i++)
		lc_assign_upkeep(x->a, x->flows, SEC(100) + TTL + 1, 64);
	assert_int_equal(ctr(x).pending, 0);
	assert_int_equal(ctr(x).pending_expired, 2);
	/* The bound flow keeps its user: expiry concerns waiting only. */
	assert_int_equal(tcp_down(x, "10.0.0.1", 40000, 60, SEC(200), NULL), 1);
	/* Nothing waits any more: a new flow of the endpoint is not bound. */
	struct lc_parse_result pr = pkt("10.0.0.1", 40000, "192.0.2.9", 443,
					IPPROTO_TCP, ACK);
	assert_int_equal(feed(x, &pr, UP, 60, SEC(200), NULL, NULL), 0);
}

/* Pending endpoint assignments are TCP and UDP; an ICMP echo whose id
 * equals the port is not that endpoint. IP-wide covers echo too. */
static void
icmp_echo(void **state)
{
	struct fx *x = *state;
	struct lc_parse_result pr;

	add_user(x, 1);
	add_user(x, 2);
	assert_int_equal(assign_ep(x, 1, "10.0.0.1", 777, 0, 0), LC_ASSIGN_PENDING);
	pr = pkt("10.0.0.1", 0, "192.0.2.1", 0, IPPROTO_ICMP, 0);
	pr.flags = LC_PARSE_F_ICMP_ID;
	pr.icmp_type = 8;
	pr.icmp_id = 777;
	assert_int_equal(feed(x, &pr, UP, 98, SEC(1), NULL, NULL), 0);
	assert_int_equal(ctr(x).bound_on_create, 0);

	assert_int_equal(assign_ip(x, 2, "10.0.0.3", 0), LC_ASSIGN_BOUND);
	pr = pkt("10.0.0.3", 0, "192.0.2.1", 0, IPPROTO_ICMP, 0);
	pr.flags = LC_PARSE_F_ICMP_ID;
	pr.icmp_type = 8;
	pr.icmp_id = 5;
	assert_int_equal(feed(x, &pr, UP, 98, SEC(1), NULL, NULL), 2);
	assert_int_equal(x->us[2].flows, 1);
	assert_int_equal(ctr(x).bound_by_ip, 1);
}

static void
ip_wide_new_flows(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f;

	add_user(x, 2);
	assert_int_equal(assign_ip(x, 2, "10.0.0.2", 0), LC_ASSIGN_BOUND);
	assert_int_equal(ctr(x).ip_rules, 1);
	assert_int_equal(ip_user(x, "10.0.0.2"), 2);
	assert_int_equal(ip_user(x, "10.0.0.3"), 0);
	/* The same rule again disturbs nothing. */
	assert_int_equal(assign_ip(x, 2, "10.0.0.2", 0), LC_ASSIGN_UNCHANGED);
	assert_int_equal(ctr(x).ip_rules, 1);

	for (uint16_t p = 1000; p < 1010; p++) {
		assert_int_equal(tcp_up(x, "10.0.0.2", p, 100, SEC(1), &f), 2);
		assert_int_equal(f->origin, LC_ORIGIN_IP);
		assert_int_equal(tcp_down(x, "10.0.0.2", p, 1000, SEC(1), NULL), 2);
	}
	assert_int_equal(udp_up(x, "10.0.0.2", 53000, 80, SEC(1), NULL), 2);
	assert_int_equal(tcp_up(x, "10.0.0.3", 1000, 100, SEC(1), NULL), 0);
	assert_int_equal(x->us[2].flows, 11);
	assert_int_equal(x->us[2].packets[UP], 11);
	assert_int_equal(x->us[2].bytes[UP], 1080);
	assert_int_equal(x->us[2].packets[DOWN], 10);
	assert_int_equal(x->us[2].bytes[DOWN], 10000);
	assert_int_equal(ctr(x).bound_by_ip, 11);
	assert_int_equal(ctr(x).bound_on_create, 0);

	/* IPv6 rules are 16-byte keys like any other. */
	add_user(x, 3);
	assert_int_equal(assign_ip(x, 3, "2001:db8:c::1", 0), LC_ASSIGN_BOUND);
	assert_int_equal(tcp_up(x, "2001:db8:c::1", 443, 100, SEC(1), NULL), 3);
	assert_int_equal(tcp_up(x, "2001:db8:c::2", 443, 100, SEC(1), NULL), 0);
	check_flow_counts(x);
}

/* Rule first, then the endpoint: the endpoint wins, for new flows and
 * through the sweep. */
static void
endpoint_wins_rule_first(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f, *g;

	add_user(x, 1);
	add_user(x, 2);
	assert_int_equal(assign_ip(x, 2, "10.0.0.3", 0), LC_ASSIGN_BOUND);
	assert_int_equal(assign_ep(x, 1, "10.0.0.3", 40000, 0, 0), LC_ASSIGN_PENDING);
	assert_int_equal(tcp_up(x, "10.0.0.3", 40000, 100, SEC(1), &f), 1);
	assert_int_equal(f->origin, LC_ORIGIN_ENDPOINT);
	assert_int_equal(tcp_up(x, "10.0.0.3", 40001, 100, SEC(1), &g), 2);
	assert_int_equal(g->origin, LC_ORIGIN_IP);
	upkeep_settle(x, SEC(2));
	assert_int_equal(f->user_id, 1);
	assert_int_equal(g->user_id, 2);

	/* An endpoint assignment of an existing flow of the IP moves it. */
	assert_int_equal(assign_ep(x, 1, "10.0.0.3", 40001, SEC(2), 0), LC_ASSIGN_BOUND);
	assert_int_equal(g->user_id, 1);
	assert_int_equal(g->origin, LC_ORIGIN_ENDPOINT);
	/* A rule changed again leaves endpoint-bound flows alone. */
	add_user(x, 3);
	assert_int_equal(assign_ip(x, 3, "10.0.0.3", 0), LC_ASSIGN_BOUND);
	upkeep_settle(x, SEC(3));
	assert_int_equal(f->user_id, 1);
	assert_int_equal(g->user_id, 1);
	assert_int_equal(tcp_up(x, "10.0.0.3", 40002, 100, SEC(3), NULL), 3);
	assert_int_equal(x->us[1].flows, 2);
	assert_int_equal(x->us[2].flows, 0);
	assert_int_equal(x->us[3].flows, 1);
	check_flow_counts(x);
}

/* Endpoint first, then the rule: the endpoint still wins. */
static void
endpoint_wins_endpoint_first(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f, *g, *h;

	add_user(x, 1);
	add_user(x, 2);
	/* A pending endpoint, then the rule, then the flows. */
	assert_int_equal(assign_ep(x, 1, "10.0.0.4", 40000, 0, 0), LC_ASSIGN_PENDING);
	assert_int_equal(assign_ip(x, 2, "10.0.0.4", 0), LC_ASSIGN_BOUND);
	assert_int_equal(tcp_up(x, "10.0.0.4", 40000, 100, SEC(1), &f), 1);
	assert_int_equal(tcp_up(x, "10.0.0.4", 40001, 100, SEC(1), &g), 2);

	/* A flow bound by its endpoint before any rule existed keeps its user
	 * when a rule for its IP comes and the sweep passes over it. */
	assert_int_equal(tcp_up(x, "10.0.0.5", 40000, 100, SEC(1), &h), 0);
	assert_int_equal(assign_ep(x, 1, "10.0.0.5", 40000, SEC(1), 0), LC_ASSIGN_BOUND);
	assert_int_equal(h->user_id, 1);
	struct lc_flow *k;
	assert_int_equal(tcp_up(x, "10.0.0.5", 40009, 100, SEC(1), &k), 0);
	assert_int_equal(assign_ip(x, 2, "10.0.0.5", 0), LC_ASSIGN_BOUND);
	upkeep_settle(x, SEC(2));
	assert_int_equal(h->user_id, 1);
	assert_int_equal(h->origin, LC_ORIGIN_ENDPOINT);
	assert_int_equal(k->user_id, 2);
	assert_int_equal(k->origin, LC_ORIGIN_IP);
	assert_int_equal(f->user_id, 1);
	assert_int_equal(g->user_id, 2);
	assert_int_equal(x->us[1].flows, 2);
	assert_int_equal(x->us[2].flows, 2);
	check_flow_counts(x);
}

/* ---- lc_assign_endpoint on existing flows --------------------------- */

static void
endpoint_results(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f, *f2, *f3;

	add_user(x, 1);
	add_user(x, 2);
	/* One endpoint, three flows: two servers, and a VLAN. */
	assert_int_equal(tcp_up(x, "10.0.0.1", 40000, 100, SEC(1), &f), 0);
	struct lc_parse_result pr = pkt("10.0.0.1", 40000, "192.0.2.2", 443,
					IPPROTO_TCP, ACK);
	assert_int_equal(feed(x, &pr, UP, 100, SEC(1), &f2, NULL), 0);
	pr = pkt("10.0.0.1", 40000, "192.0.2.1", 443, IPPROTO_TCP, ACK);
	pr.n_vlans = 1;
	pr.vlan[0] = 10;
	assert_int_equal(feed(x, &pr, UP, 100, SEC(1), &f3, NULL), 0);
	assert_int_equal(x->us[0].packets[UP], 3);

	assert_int_equal(assign_ep(x, 1, "10.0.0.1", 40000, SEC(2), 0), LC_ASSIGN_BOUND);
	assert_int_equal(f->user_id, 1);
	assert_int_equal(f2->user_id, 1);
	assert_int_equal(f3->user_id, 1);
	assert_int_equal(f->origin, LC_ORIGIN_ENDPOINT);
	assert_int_equal(x->us[1].flows, 3);
	/* Nothing waits: the flows were there. */
	assert_int_equal(ctr(x).pending, 0);

	/* Counted from the next packet on. */
	assert_int_equal(tcp_down(x, "10.0.0.1", 40000, 500, SEC(3), NULL), 1);
	assert_int_equal(x->us[1].packets[DOWN], 1);
	assert_int_equal(x->us[1].bytes[DOWN], 500);
	assert_int_equal(x->us[1].packets[UP], 0);

	/* A repeat changes nothing. */
	assert_int_equal(assign_ep(x, 1, "10.0.0.1", 40000, SEC(4), 0),
			 LC_ASSIGN_UNCHANGED);
	assert_int_equal(x->us[1].flows, 3);

	/* Another user: the flows move, and the counts follow. */
	assert_int_equal(assign_ep(x, 2, "10.0.0.1", 40000, SEC(5), 0), LC_ASSIGN_BOUND);
	assert_int_equal(f->user_id, 2);
	assert_int_equal(f2->user_id, 2);
	assert_int_equal(f3->user_id, 2);
	assert_int_equal(x->us[1].flows, 0);
	assert_int_equal(x->us[2].flows, 3);
	assert_int_equal(tcp_up(x, "10.0.0.1", 40000, 77, SEC(6), NULL), 2);
	assert_int_equal(x->us[2].bytes[UP], 77);
	assert_int_equal(x->us[1].bytes[DOWN], 500);
	assert_int_equal(assign_ep(x, 2, "10.0.0.1", 40000, SEC(7), 0),
			 LC_ASSIGN_UNCHANGED);

	/* A flow that is the user's by an IP-wide rule: an endpoint
	 * assignment to the same user is unchanged, but pins the flow to its
	 * endpoint, so that the rule going away leaves it bound. */
	assert_int_equal(assign_ip(x, 1, "10.0.0.9", 0), LC_ASSIGN_BOUND);
	struct lc_flow *g;
	assert_int_equal(tcp_up(x, "10.0.0.9", 1234, 100, SEC(8), &g), 1);
	assert_int_equal(g->origin, LC_ORIGIN_IP);
	assert_int_equal(assign_ep(x, 1, "10.0.0.9", 1234, SEC(8), 0),
			 LC_ASSIGN_UNCHANGED);
	assert_int_equal(g->origin, LC_ORIGIN_ENDPOINT);
	assert_int_equal(x->us[1].flows, 1);
	assert_int_equal(unassign_ip(x, "10.0.0.9"), LC_ASSIGN_REMOVED);
	upkeep_settle(x, SEC(9));
	assert_int_equal(g->user_id, 1);
	check_flow_counts(x);
}

/* A pending assignment, then the same endpoint given to someone else: a
 * new flow of that endpoint goes to the latest user. */
static void
endpoint_pending_reassigned(void **state)
{
	struct fx *x = *state;

	add_user(x, 1);
	add_user(x, 2);
	assert_int_equal(assign_ep(x, 1, "10.0.0.1", 40000, 0, 0), LC_ASSIGN_PENDING);
	/* Still pending: the entry is the new user's now. */
	assert_int_equal(assign_ep(x, 2, "10.0.0.1", 40000, SEC(1), 0),
			 LC_ASSIGN_PENDING);
	assert_int_equal(ctr(x).pending, 1);
	assert_int_equal(tcp_up(x, "10.0.0.1", 40000, 100, SEC(2), NULL), 2);
	assert_int_equal(x->us[1].flows, 0);
	assert_int_equal(x->us[2].flows, 1);
}

/*
 * The endpoint was bound through a pending entry, then re-assigned to
 * another user while its flow was there: the endpoint is that user's, so a
 * second flow of the same endpoint seen within pending_ttl (another
 * server, or the same 5-tuple in another VLAN) must go to the latest user,
 * not to the one of the older pending entry.
 */
static void
endpoint_reassigned_after_bind(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f;

	add_user(x, 1);
	add_user(x, 3);
	assert_int_equal(assign_ep(x, 1, "10.0.0.1", 40000, 0, 0), LC_ASSIGN_PENDING);
	assert_int_equal(tcp_up(x, "10.0.0.1", 40000, 100, SEC(1), &f), 1);
	assert_int_equal(assign_ep(x, 3, "10.0.0.1", 40000, SEC(2), 0), LC_ASSIGN_BOUND);
	assert_int_equal(f->user_id, 3);
	struct lc_parse_result pr = pkt("10.0.0.1", 40000, "192.0.2.2", 443,
					IPPROTO_TCP, ACK);
	assert_int_equal(feed(x, &pr, UP, 100, SEC(3), NULL, NULL), 3);
	assert_int_equal(x->us[1].flows, 0);
	assert_int_equal(x->us[3].flows, 2);
}

/* ---- the sweep ---------------------------------------------------- */

#define SWEEP_FLOWS 300

static void
ip_change_sweep(void **state)
{
	struct fx *x = *state;
	struct lc_flow *fl[SWEEP_FLOWS];
	unsigned int calls;

	add_user(x, 1);
	add_user(x, 2);
	for (unsigned int i = 0; i < SWEEP_FLOWS; i++)
		assert_int_equal(tcp_up(x, "10.0.1.1", (uint16_t)(20000 + i), 100,
					SEC(1), &fl[i]), 0);
	/* Noise: flows of other clients, which the sweep must leave alone. */
	for (unsigned int i = 0; i < 50; i++)
		assert_int_equal(udp_up(x, "10.0.1.2", (uint16_t)(30000 + i), 100,
					SEC(1), NULL), 0);
	struct lc_flow *mine;
	assert_int_equal(assign_ep(x, 2, "10.0.1.2", 30000, SEC(1), 0), LC_ASSIGN_BOUND);
	assert_int_equal(udp_up(x, "10.0.1.2", 30000, 1, SEC(1), &mine), 2);

	/* The rule applies to new flows at once ... */
	uint64_t sweeps = ctr(x).sweeps;
	assert_int_equal(assign_ip(x, 1, "10.0.1.1", 0), LC_ASSIGN_BOUND);
	assert_int_equal(tcp_up(x, "10.0.1.1", 19999, 100, SEC(1), NULL), 1);
	/* ... and to the old ones as the sweep passes, a bounded step per
	 * call, so it takes several calls. */
	assert_int_equal(x->us[1].flows, 1);
	unsigned int bound = 1, prev = 1;
	calls = 0;
	while (ctr(x).sweeps == sweeps) {
		lc_assign_upkeep(x->a, x->flows, SEC(2), 16);
		calls++;
		bound = x->us[1].flows;
		assert_true(bound >= prev);
		assert_true(bound - prev <= 16);
		prev = bound;
		assert_true(calls < 10000);
	}
	assert_true(calls >= SWEEP_FLOWS / 16);
	assert_int_equal(ctr(x).sweeps, sweeps + 1);
	assert_int_equal(x->us[1].flows, SWEEP_FLOWS + 1);
	for (unsigned int i = 0; i < SWEEP_FLOWS; i++) {
		assert_int_equal(fl[i]->user_id, 1);
		assert_int_equal(fl[i]->origin, LC_ORIGIN_IP);
	}
	assert_int_equal(mine->user_id, 2);
	assert_int_equal(x->us[2].flows, 1);
	assert_int_equal(table_flows_of(x, 0), 49);
	/* Packets follow. */
	assert_int_equal(tcp_down(x, "10.0.1.1", 20000, 1000, SEC(2), NULL), 1);
	assert_int_equal(x->us[1].bytes[DOWN], 1000);

	/* The rule changes hands: a sweep moves every flow. */
	assert_int_equal(assign_ip(x, 2, "10.0.1.1", 0), LC_ASSIGN_BOUND);
	assert_int_equal(ctr(x).ip_rules, 1);
	calls = sweep_pass(x, SEC(3), 16);
	assert_true(calls > 1);
	assert_int_equal(x->us[1].flows, 0);
	assert_int_equal(x->us[2].flows, SWEEP_FLOWS + 2);

	/* Unassigned: every flow of the IP is unbound by the next sweep. */
	assert_int_equal(unassign_ip(x, "10.0.1.1"), LC_ASSIGN_REMOVED);
	assert_int_equal(ctr(x).ip_rules, 0);
	assert_int_equal(unassign_ip(x, "10.0.1.1"), LC_ASSIGN_NOT_FOUND);
	sweep_pass(x, SEC(4), 16);
	assert_int_equal(x->us[2].flows, 1);
	assert_int_equal(mine->user_id, 2);
	for (unsigned int i = 0; i < SWEEP_FLOWS; i++) {
		assert_int_equal(fl[i]->user_id, 0);
		assert_int_equal(fl[i]->origin, LC_ORIGIN_NONE);
	}
	assert_int_equal(tcp_down(x, "10.0.1.1", 20000, 1000, SEC(5), NULL), 0);
	assert_int_equal(tcp_up(x, "10.0.1.1", 1, 100, SEC(5), NULL), 0);
	check_flow_counts(x);
}

/* A change made while a sweep is under way reaches the flows the sweep
 * had already passed. */
static void
sweep_change_mid_pass(void **state)
{
	struct fx *x = *state;
	struct lc_flow *fl[SWEEP_FLOWS];

	add_user(x, 1);
	add_user(x, 2);
	for (unsigned int i = 0; i < SWEEP_FLOWS; i++)
		assert_int_equal(udp_up(x, i % 2 ? "10.0.2.1" : "10.0.2.2",
					(uint16_t)(20000 + i), 100, SEC(1), &fl[i]), 0);
	assert_int_equal(assign_ip(x, 1, "10.0.2.1", 0), LC_ASSIGN_BOUND);
	for (int i = 0; i < 5; i++)
		lc_assign_upkeep(x->a, x->flows, SEC(1), 16);
	/* Half-way: the second rule comes. */
	assert_int_equal(assign_ip(x, 2, "10.0.2.2", 0), LC_ASSIGN_BOUND);
	upkeep_settle(x, SEC(2));
	for (unsigned int i = 0; i < SWEEP_FLOWS; i++)
		assert_int_equal(fl[i]->user_id, i % 2 ? 1 : 2);
	assert_int_equal(x->us[1].flows, SWEEP_FLOWS / 2);
	assert_int_equal(x->us[2].flows, SWEEP_FLOWS / 2);
	check_flow_counts(x);
}

/* ---- unassign ------------------------------------------------------- */

static void
unassign_endpoint(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f, *g;

	add_user(x, 1);
	add_user(x, 2);
	/* With an IP-wide rule: back to its user. */
	assert_int_equal(assign_ip(x, 2, "10.0.0.5", 0), LC_ASSIGN_BOUND);
	assert_int_equal(assign_ep(x, 1, "10.0.0.5", 40000, 0, 0), LC_ASSIGN_PENDING);
	assert_int_equal(tcp_up(x, "10.0.0.5", 40000, 100, SEC(1), &f), 1);
	assert_int_equal(unassign_ep(x, "10.0.0.5", 40000), LC_ASSIGN_REMOVED);
	assert_int_equal(f->user_id, 2);
	assert_int_equal(f->origin, LC_ORIGIN_IP);
	assert_int_equal(x->us[1].flows, 0);
	assert_int_equal(x->us[2].flows, 1);
	assert_int_equal(ctr(x).pending, 0);
	assert_int_equal(tcp_down(x, "10.0.0.5", 40000, 300, SEC(2), NULL), 2);
	/* Nothing left to remove: the flow is the rule's now. */
	assert_int_equal(unassign_ep(x, "10.0.0.5", 40000), LC_ASSIGN_NOT_FOUND);
	assert_int_equal(f->user_id, 2);

	/* Without a rule: unassigned. */
	assert_int_equal(tcp_up(x, "10.0.0.6", 40000, 100, SEC(1), &g), 0);
	assert_int_equal(assign_ep(x, 1, "10.0.0.6", 40000, SEC(1), 0), LC_ASSIGN_BOUND);
	assert_int_equal(unassign_ep(x, "10.0.0.6", 40000), LC_ASSIGN_REMOVED);
	assert_int_equal(g->user_id, 0);
	assert_int_equal(g->origin, LC_ORIGIN_NONE);
	assert_int_equal(x->us[1].flows, 0);

	/* A pending one only: removed, and its flow is never bound. */
	assert_int_equal(assign_ep(x, 1, "10.0.0.7", 40000, SEC(3), 0), LC_ASSIGN_PENDING);
	assert_int_equal(ctr(x).pending, 1);
	assert_int_equal(unassign_ep(x, "10.0.0.7", 40000), LC_ASSIGN_REMOVED);
	assert_int_equal(ctr(x).pending, 0);
	assert_int_equal(tcp_up(x, "10.0.0.7", 40000, 100, SEC(4), NULL), 0);
	assert_int_equal(unassign_ep(x, "10.0.0.7", 40000), LC_ASSIGN_NOT_FOUND);
	/* An endpoint never assigned. */
	assert_int_equal(unassign_ep(x, "10.9.9.9", 1), LC_ASSIGN_NOT_FOUND);
	/* An endpoint unassign does not touch the IP-wide rule. */
	assert_int_equal(ip_user(x, "10.0.0.5"), 2);
	check_flow_counts(x);
}

/* ---- removed users ---------------------------------------------------- */

static void
user_del(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f[4];

	add_user(x, 1);
	assert_int_equal(assign_ip(x, 1, "10.0.3.1", 0), LC_ASSIGN_BOUND);
	assert_int_equal(assign_ep(x, 1, "10.0.3.2", 40000, 0, 0), LC_ASSIGN_PENDING);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tcp_up(x, "10.0.3.1", (uint16_t)(1000 + i), 100,
					SEC(1), &f[i]), 1);
	assert_int_equal(tcp_up(x, "10.0.3.2", 40000, 100, SEC(1), &f[3]), 1);
	assert_int_equal(x->us[1].flows, 4);
	uint64_t up_bytes = x->us[1].bytes[UP];

	assert_int_equal(lc_assign_user_del(x->a, 1), 0);
	assert_int_equal(x->us[1].live, 0);
	/* Twice, or an id never given: refused. */
	assert_int_equal(lc_assign_user_del(x->a, 1), -EINVAL);
	assert_int_equal(lc_assign_user_del(x->a, 2), -EINVAL);
	assert_int_equal(lc_assign_user_del(x->a, 0), -EINVAL);
	assert_int_equal(lc_assign_user_del(x->a, N_USERS + 1), -EINVAL);
	/* Not gone while flows are bound to the id. */
	assert_false(lc_assign_user_gone(x->a, 1));
	/* Counting stops at once: the next packet of any of its flows counts
	 * as unassigned, and that flow is unbound on the spot. */
	assert_int_equal(lc_assign_flow_user(x->us, f[0]), 0);
	assert_int_equal(f[0]->user_id, 0);
	assert_int_equal(x->us[1].flows, 3);
	uint64_t un = x->us[0].bytes[DOWN];
	assert_int_equal(tcp_down(x, "10.0.3.1", 1001, 400, SEC(2), NULL), 0);
	assert_int_equal(x->us[0].bytes[DOWN], un + 400);
	assert_int_equal(x->us[1].bytes[UP], up_bytes);
	assert_int_equal(x->us[1].bytes[DOWN], 0);
	assert_int_equal(x->us[1].flows, 2);
	assert_false(lc_assign_user_gone(x->a, 1));
	/* Its rule and its pending entry no longer apply. */
	assert_int_equal(ip_user(x, "10.0.3.1"), 0);
	assert_int_equal(tcp_up(x, "10.0.3.1", 2000, 100, SEC(2), NULL), 0);
	assert_int_equal(assign_ep(x, 1, "10.0.3.3", 1, SEC(2), -EINVAL),
			 LC_ASSIGN_UNCHANGED);

	/* The sweep unbinds the rest; the id is gone after it, not before. */
	lc_assign_upkeep(x->a, x->flows, SEC(3), 1);
	sweep_pass(x, SEC(3), 4);
	assert_int_equal(x->us[1].flows, 0);
	assert_true(lc_assign_user_gone(x->a, 1));
	for (int i = 0; i < 4; i++)
		assert_int_equal(f[i]->user_id, 0);
	/* The stale rule and pending entry are dropped by the upkeep. */
	upkeep_settle(x, SEC(3));
	assert_int_equal(ctr(x).ip_rules, 0);
	assert_int_equal(ctr(x).pending, 0);
	/* Live ids and ids never given are not "gone". */
	add_user(x, 2);
	assert_false(lc_assign_user_gone(x->a, 2));
	assert_false(lc_assign_user_gone(x->a, 0));
	assert_false(lc_assign_user_gone(x->a, N_USERS + 1));
	/* A user with no flows is gone at once. */
	assert_int_equal(lc_assign_user_del(x->a, 2), 0);
	assert_true(lc_assign_user_gone(x->a, 2));
	check_flow_counts(x);
}

/* An IP-wide rule or a pending entry of a removed user never applies to
 * the next user given the same id, even before the upkeep drops it. */
static void
id_reuse_generation(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f;

	add_user(x, 1);
	uint16_t gen = x->us[1].gen;
	assert_int_equal(assign_ip(x, 1, "10.0.4.1", 0), LC_ASSIGN_BOUND);
	assert_int_equal(assign_ep(x, 1, "10.0.4.2", 40000, 0, 0), LC_ASSIGN_PENDING);
	assert_int_equal(lc_assign_user_del(x->a, 1), 0);
	assert_true(lc_assign_user_gone(x->a, 1));
	/* Counters of the former user, which the new one must not inherit. */
	x->us[1].packets[UP] = 5;
	x->us[1].bytes[UP] = 500;
	x->us[1].drops[DOWN] = 2;
	x->us[1].last_seen = 99;
	add_user(x, 1);
	assert_int_not_equal(x->us[1].gen, gen);
	assert_int_equal(x->us[1].packets[UP], 0);
	assert_int_equal(x->us[1].bytes[UP], 0);
	assert_int_equal(x->us[1].drops[DOWN], 0);
	assert_int_equal(x->us[1].last_seen, 0);

	assert_int_equal(ip_user(x, "10.0.4.1"), 0);
	assert_int_equal(tcp_up(x, "10.0.4.1", 1000, 100, SEC(1), &f), 0);
	assert_int_equal(tcp_up(x, "10.0.4.2", 40000, 100, SEC(1), &f), 0);
	assert_int_equal(x->us[1].flows, 0);
	assert_int_equal(ctr(x).bound_on_create + ctr(x).bound_by_ip, 0);
	/* Nor after a sweep. */
	upkeep_settle(x, SEC(2));
	assert_int_equal(x->us[1].flows, 0);
	assert_int_equal(ctr(x).ip_rules, 0);
	assert_int_equal(ctr(x).pending, 0);

	/* The new user can take the same IP and endpoint. */
	assert_int_equal(assign_ip(x, 1, "10.0.4.1", 0), LC_ASSIGN_BOUND);
	assert_int_equal(assign_ep(x, 1, "10.0.4.3", 40000, SEC(2), 0), LC_ASSIGN_PENDING);
	assert_int_equal(tcp_up(x, "10.0.4.3", 40000, 100, SEC(3), NULL), 1);
	upkeep_settle(x, SEC(3));
	assert_int_equal(x->us[1].flows, 2);
	check_flow_counts(x);
}

/* Same, with the re-add before the upkeep ran at all and a rule to the
 * same IP given by a third party meanwhile: the stale scan must not drop
 * the live rule. */
static void
stale_scan_keeps_live_rules(void **state)
{
	struct fx *x = *state;

	add_user(x, 1);
	add_user(x, 2);
	assert_int_equal(assign_ip(x, 1, "10.0.5.1", 0), LC_ASSIGN_BOUND);
	assert_int_equal(lc_assign_user_del(x->a, 1), 0);
	/* User 2 takes over the IP before the stale rule was dropped. */
	assert_int_equal(assign_ip(x, 2, "10.0.5.1", 0), LC_ASSIGN_BOUND);
	upkeep_settle(x, SEC(1));
	assert_int_equal(ip_user(x, "10.0.5.1"), 2);
	assert_int_equal(ctr(x).ip_rules, 1);
	assert_int_equal(tcp_up(x, "10.0.5.1", 1, 100, SEC(1), NULL), 2);
}

static void
user_add_refusals(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f;

	assert_int_equal(lc_assign_user_add(x->a, 0), -EINVAL);
	assert_int_equal(lc_assign_user_add(x->a, N_USERS + 1), -EINVAL);
	assert_int_equal(lc_assign_user_add(x->a, N_USERS), 0);
	add_user(x, 1);
	assert_int_equal(lc_assign_user_add(x->a, 1), -EEXIST);
	assert_int_equal(assign_ip(x, 1, "10.0.6.1", 0), LC_ASSIGN_BOUND);
	assert_int_equal(tcp_up(x, "10.0.6.1", 1, 100, SEC(1), &f), 1);
	assert_int_equal(lc_assign_user_del(x->a, 1), 0);
	/* The id still holds a flow: not yet. */
	assert_int_equal(lc_assign_user_add(x->a, 1), -EBUSY);
	assert_int_equal(x->us[1].live, 0);
	sweep_pass(x, SEC(2), 64);
	assert_true(lc_assign_user_gone(x->a, 1));
	assert_int_equal(lc_assign_user_add(x->a, 1), 0);
	assert_int_equal(f->user_id, 0);
	assert_int_equal(tcp_up(x, "10.0.6.1", 1, 100, SEC(3), NULL), 0);
}

/* ---- flow counts ------------------------------------------------------ */

static void
flow_counts_expiry(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f;

	add_user(x, 1);
	add_user(x, 2);
	assert_int_equal(assign_ip(x, 1, "10.0.7.1", 0), LC_ASSIGN_BOUND);
	/* UDP flows at t = 1 s and t = 100 s; the timeout is 180 s. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(udp_up(x, "10.0.7.1", (uint16_t)(1000 + i), 100,
					SEC(1), NULL), 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(udp_up(x, "10.0.7.1", (uint16_t)(2000 + i), 100,
					SEC(100), NULL), 1);
	/* Unassigned flows expire too, without touching anybody's count. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(udp_up(x, "10.0.7.9", (uint16_t)(1000 + i), 100,
					SEC(1), NULL), 0);
	assert_int_equal(tcp_up(x, "10.0.7.2", 40000, 100, SEC(1), &f), 0);
	assert_int_equal(assign_ep(x, 2, "10.0.7.2", 40000, SEC(1), 0), LC_ASSIGN_BOUND);
	assert_int_equal(x->us[1].flows, 8);
	assert_int_equal(x->us[2].flows, 1);

	uint32_t slots = lc_flow_table_slots(x->flows);
	assert_int_equal(lc_flow_age(x->flows, SEC(150), slots), 0);
	assert_int_equal(lc_flow_age(x->flows, SEC(182), slots), 9);
	assert_int_equal(x->us[1].flows, 3);
	assert_int_equal(x->us[2].flows, 1);
	assert_int_equal(x->us[0].flows, 0);
	check_flow_counts(x);
	assert_int_equal(lc_flow_age(x->flows, SEC(281), slots), 3);
	assert_int_equal(x->us[1].flows, 0);
	assert_int_equal(x->us[2].flows, 1);

	/* A removed user's flow that expires before the sweep reaches it:
	 * the id is then gone. */
	assert_int_equal(lc_assign_user_del(x->a, 2), 0);
	assert_false(lc_assign_user_gone(x->a, 2));
	assert_int_equal(lc_flow_age(x->flows, SEC(1) + SEC(LC_FLOW_DEFAULT_TCP_TIMEOUT) + 1,
				     slots), 1);
	assert_int_equal(x->us[2].flows, 0);
	assert_true(lc_assign_user_gone(x->a, 2));
	/* The sweep started for it finds nothing left to do. */
	upkeep_settle(x, SEC(8000));
	assert_int_equal(x->us[2].flows, 0);
	assert_int_equal(held_flows(x), 0);

	/* Bound, moved and unbound flows over many random operations keep
	 * every count equal to the table. */
	srand(7);
	add_user(x, 3);
	add_user(x, 4);
	for (int step = 0; step < 3000; step++) {
		uint64_t now = SEC(9000) + (uint64_t)step * 100;
		char ip[32];
		uint16_t port = (uint16_t)(1 + rand() % 40);
		uint32_t user = 3 + (uint32_t)(rand() % 2);

		snprintf(ip, sizeof(ip), "10.0.8.%d", 1 + rand() % 4);
		switch (rand() % 8) {
		case 0:
		case 1:
		case 2:
			udp_up(x, ip, port, 100, now, NULL);
			break;
		case 3: {
			int err;
			uint8_t a[16];

			addr16(ip, a);
			lc_assign_endpoint(x->a, x->flows, user, a, port, now, &err);
			assert_true(err == 0);
			break;
		}
		case 4:
			assign_ip(x, user, ip, 0);
			break;
		case 5:
			if (rand() % 2)
				unassign_ip(x, ip);
			else
				unassign_ep(x, ip, port);
			break;
		case 6:
			lc_flow_age(x->flows, now, 32);
			break;
		default:
			lc_assign_upkeep(x->a, x->flows, now, 8);
			break;
		}
		if (step % 100 == 0)
			check_flow_counts(x);
	}
	check_flow_counts(x);
}

/* ---- clear ------------------------------------------------------------- */

static void
clear_all(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f, *g, *h;

	add_user(x, 1);
	add_user(x, 2);
	add_user(x, 3);
	assert_int_equal(assign_ip(x, 1, "10.0.9.1", 0), LC_ASSIGN_BOUND);
	assert_int_equal(assign_ep(x, 2, "10.0.9.2", 40000, 0, 0), LC_ASSIGN_PENDING);
	assert_int_equal(assign_ep(x, 3, "10.0.9.3", 40000, 0, 0), LC_ASSIGN_PENDING);
	assert_int_equal(tcp_up(x, "10.0.9.1", 1, 100, SEC(1), &f), 1);
	assert_int_equal(tcp_up(x, "10.0.9.2", 40000, 100, SEC(1), &g), 2);
	assert_int_equal(tcp_up(x, "10.0.9.4", 1, 100, SEC(1), &h), 0);
	assert_int_equal(ctr(x).ip_rules, 1);
	assert_int_equal(ctr(x).pending, 2);

	lc_assign_clear(x->a);
	assert_int_equal(ctr(x).ip_rules, 0);
	assert_int_equal(ctr(x).pending, 0);
	for (uint32_t id = 1; id <= 3; id++)
		assert_int_equal(x->us[id].live, 0);
	assert_int_equal(ip_user(x, "10.0.9.1"), 0);
	/* Nothing applies any more, to old flows or new ones. */
	assert_int_equal(tcp_down(x, "10.0.9.1", 1, 100, SEC(2), NULL), 0);
	assert_int_equal(tcp_up(x, "10.0.9.3", 40000, 100, SEC(2), NULL), 0);
	assert_int_equal(tcp_up(x, "10.0.9.1", 2, 100, SEC(2), NULL), 0);
	/* User 2's flow saw no packet: only the sweep unbinds it. */
	assert_int_equal(g->user_id, 2);
	assert_false(lc_assign_user_gone(x->a, 2));
	assert_true(lc_assign_user_gone(x->a, 3));
	upkeep_settle(x, SEC(3));
	assert_int_equal(g->user_id, 0);
	assert_int_equal(f->user_id, 0);
	assert_int_equal(held_flows(x), 0);
	for (uint32_t id = 1; id <= 3; id++)
		assert_true(lc_assign_user_gone(x->a, id));
	/* Ids come back, with fresh rules. */
	for (uint32_t id = 1; id <= 3; id++)
		add_user(x, id);
	assert_int_equal(tcp_up(x, "10.0.9.2", 40000, 100, SEC(4), NULL), 0);
	assert_int_equal(assign_ip(x, 3, "10.0.9.4", 0), LC_ASSIGN_BOUND);
	sweep_pass(x, SEC(4), 64);
	assert_int_equal(h->user_id, 3);
	/* Clear with nothing in it is fine. */
	lc_assign_clear(x->a);
	lc_assign_clear(x->a);
	upkeep_settle(x, SEC(5));
	assert_int_equal(held_flows(x), 0);
	check_flow_counts(x);
}

/* ---- capacity ------------------------------------------------------------ */

static void
pending_full(void **state)
{
	struct fx *x = fx_new(256, 8, 8);
	uint16_t port;
	unsigned int held = 0;

	(void)state;
	add_user(x, 1);
	add_user(x, 2);
	/* Fill the pending table. */
	for (port = 1; port <= 64; port++) {
		uint8_t a[16];
		int err;

		addr16("10.0.10.1", a);
		enum lc_assign_result r = lc_assign_endpoint(x->a, x->flows, 1, a, port,
							     0, &err);
		if (err == -ENOSPC) {
			assert_int_equal(r, LC_ASSIGN_UNCHANGED);
			break;
		}
		assert_int_equal(err, 0);
		assert_int_equal(r, LC_ASSIGN_PENDING);
		held++;
	}
	/* At least the capacity asked for, and a limit. */
	assert_true(held >= 8);
	assert_true(port <= 64);
	assert_int_equal(ctr(x).pending, held);
	assert_int_equal(ctr(x).pending_full, 1);
	assert_int_equal(assign_ep(x, 1, "10.0.10.1", 999, 0, -ENOSPC),
			 LC_ASSIGN_UNCHANGED);
	assert_int_equal(ctr(x).pending_full, 2);
	/* The refused endpoint is not bound when it comes. */
	assert_int_equal(tcp_up(x, "10.0.10.1", 999, 100, SEC(1), NULL), 0);
	/* An endpoint already waiting can still change hands when full. */
	assert_int_equal(assign_ep(x, 2, "10.0.10.1", 1, SEC(1), 0), LC_ASSIGN_PENDING);
	assert_int_equal(ctr(x).pending, held);
	/* An endpoint with a flow needs no room. */
	assert_int_equal(assign_ep(x, 2, "10.0.10.1", 999, SEC(1), 0), LC_ASSIGN_BOUND);
	/* The waiting ones still bind. */
	assert_int_equal(tcp_up(x, "10.0.10.1", 1, 100, SEC(2), NULL), 2);
	assert_int_equal(tcp_up(x, "10.0.10.1", 2, 100, SEC(2), NULL), 1);
	/* Room comes back as they expire. */
	for (int i = 0; i < 200; i++)
		lc_assign_upkeep(x->a, x->flows, TTL + SEC(2), 16);
	assert_int_equal(ctr(x).pending, 0);
	assert_int_equal(ctr(x).pending_expired, held);
	assert_int_equal(assign_ep(x, 1, "10.0.10.1", 999 + 1, SEC(40), 0),
			 LC_ASSIGN_PENDING);
	assert_int_equal(ctr(x).pending_full, 2);

	/* IP-wide rules are bounded too: the error comes back, nothing is
	 * counted as a rule that is not there. */
	unsigned int rules = 0;
	for (int i = 1; i <= 64; i++) {
		char ip[32];
		uint8_t a[16];
		int err;

		snprintf(ip, sizeof(ip), "10.0.11.%d", i);
		addr16(ip, a);
		enum lc_assign_result r = lc_assign_ip(x->a, 1, a, &err);
		if (err != 0) {
			assert_int_equal(err, -ENOSPC);
			assert_int_equal(r, LC_ASSIGN_UNCHANGED);
			break;
		}
		rules++;
	}
	assert_true(rules >= 8 && rules < 64);
	assert_int_equal(ctr(x).ip_rules, rules);
	fx_free(x);
}

/* Every counter, over one small story. */
static void
counters(void **state)
{
	struct fx *x = *state;
	struct lc_assign_counters c;

	add_user(x, 1);
	add_user(x, 2);
	assert_int_equal(assign_ep(x, 1, "10.0.12.1", 1, 0, 0), LC_ASSIGN_PENDING);
	assert_int_equal(assign_ep(x, 1, "10.0.12.1", 2, 0, 0), LC_ASSIGN_PENDING);
	assert_int_equal(assign_ep(x, 1, "10.0.12.1", 3, 0, 0), LC_ASSIGN_PENDING);
	assert_int_equal(assign_ip(x, 2, "10.0.12.2", 0), LC_ASSIGN_BOUND);
	assert_int_equal(assign_ip(x, 2, "10.0.12.3", 0), LC_ASSIGN_BOUND);
	c = ctr(x);
	assert_int_equal(c.pending, 3);
	assert_int_equal(c.ip_rules, 2);
	assert_int_equal(tcp_up(x, "10.0.12.1", 1, 100, SEC(1), NULL), 1);
	assert_int_equal(tcp_up(x, "10.0.12.1", 1, 100, SEC(1), NULL), 1);
	assert_int_equal(tcp_up(x, "10.0.12.2", 1, 100, SEC(1), NULL), 2);
	assert_int_equal(tcp_up(x, "10.0.12.2", 2, 100, SEC(1), NULL), 2);
	assert_int_equal(tcp_up(x, "10.0.12.3", 2, 100, SEC(1), NULL), 2);
	uint64_t sweeps = ctr(x).sweeps;
	upkeep_settle(x, SEC(2));
	c = ctr(x);
	assert_int_equal(c.bound_on_create, 1);
	assert_int_equal(c.bound_by_ip, 3);
	assert_true(c.sweeps > sweeps);
	assert_int_equal(unassign_ep(x, "10.0.12.1", 2), LC_ASSIGN_REMOVED);
	assert_int_equal(unassign_ip(x, "10.0.12.3"), LC_ASSIGN_REMOVED);
	c = ctr(x);
	assert_int_equal(c.pending, 2);
	assert_int_equal(c.ip_rules, 1);
	upkeep_settle(x, TTL + SEC(1));
	c = ctr(x);
	assert_int_equal(c.pending, 0);
	assert_int_equal(c.pending_expired, 2);
	assert_int_equal(c.pending_full, 0);
	assert_int_equal(c.ip_rules, 1);
	assert_int_equal(x->us[1].packets[UP], 2);
	assert_int_equal(x->us[2].packets[UP], 3);
	assert_int_equal(x->us[0].packets[UP], 0);
}


/* A TCP packet between client:cport and server:sport, either way. */
static uint32_t
tcp_to(struct fx *x, const char *client, uint16_t cport, const char *server,
       uint16_t sport, enum lc_flow_dir dir, uint64_t now, struct lc_flow **out)
{
	struct lc_parse_result pr = dir == UP ?
		pkt(client, cport, server, sport, IPPROTO_TCP, ACK) :
		pkt(server, sport, client, cport, IPPROTO_TCP, ACK);

	return feed(x, &pr, dir, 100, now, out, NULL);
}

static struct lc_assign_target
target(const char *client, uint16_t cport, const char *server, uint16_t sport,
       uint8_t node)
{
	struct lc_assign_target t;

	memset(&t, 0, sizeof(t));
	addr16(client, t.client);
	t.client_port = cport;
	if (server != NULL) {
		addr16(server, t.server);
		t.server_port = sport;
	}
	t.node = node;
	return t;
}

static enum lc_assign_result
assign_to(struct fx *x, uint32_t user, const char *client, uint16_t cport,
	  const char *server, uint16_t sport, uint8_t node, uint64_t now)
{
	struct lc_assign_target t = target(client, cport, server, sport, node);
	int err = 12345;
	enum lc_assign_result r;

	r = lc_assign_endpoint_to(x->a, x->flows, user, &t, now, &err);
	assert_int_equal(err, 0);
	return r;
}

/* ---- several VPN nodes: client and server endpoints ---------------- */

/*
 * Behind a carrier-grade NAT one public IP:port holds connections to two
 * nodes, of two users: each assignment names its server, and each flow
 * goes to its own user, whichever way its first packet went.
 */
static void
cgnat_two_nodes_pending(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f, *g;

	add_user(x, 1);
	add_user(x, 2);
	assert_int_equal(assign_to(x, 1, "100.64.0.1", 40000, "192.0.2.10", 443,
				   3, SEC(1)), LC_ASSIGN_PENDING);
	assert_int_equal(assign_to(x, 2, "100.64.0.1", 40000, "192.0.2.20", 8443,
				   4, SEC(1)), LC_ASSIGN_PENDING);
	assert_int_equal(ctr(x).pending, 2);

	assert_int_equal(tcp_to(x, "100.64.0.1", 40000, "192.0.2.10", 443, UP,
				SEC(2), &f), 1);
	assert_int_equal(f->origin, LC_ORIGIN_ENDPOINT);
	assert_int_equal(f->node, 3);
	/* The second flow opens from the server side: the same key. */
	assert_int_equal(tcp_to(x, "100.64.0.1", 40000, "192.0.2.20", 8443, DOWN,
				SEC(2), &g), 2);
	assert_int_equal(g->node, 4);
	assert_int_equal(tcp_to(x, "100.64.0.1", 40000, "192.0.2.20", 8443, UP,
				SEC(3), NULL), 2);
	assert_int_equal(tcp_to(x, "100.64.0.1", 40000, "192.0.2.10", 443, DOWN,
				SEC(3), NULL), 1);
	/* A third server was named by neither. */
	assert_int_equal(tcp_to(x, "100.64.0.1", 40000, "192.0.2.30", 443, UP,
				SEC(3), NULL), 0);
	assert_int_equal(x->us[1].flows, 1);
	assert_int_equal(x->us[2].flows, 1);
	assert_int_equal(x->us[1].packets[UP], 1);
	assert_int_equal(x->us[1].packets[DOWN], 1);
	assert_int_equal(x->us[2].packets[UP], 1);
	assert_int_equal(x->us[2].packets[DOWN], 1);
	check_flow_counts(x);
}

/* The flows exist first: each assignment binds only the flow to its server. */
static void
cgnat_two_nodes_existing(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f, *g;

	add_user(x, 1);
	add_user(x, 2);
	assert_int_equal(tcp_to(x, "100.64.0.1", 40000, "192.0.2.10", 443, UP,
				SEC(1), &f), 0);
	assert_int_equal(tcp_to(x, "100.64.0.1", 40000, "192.0.2.20", 443, UP,
				SEC(1), &g), 0);
	assert_int_equal(assign_to(x, 1, "100.64.0.1", 40000, "192.0.2.10", 443,
				   1, SEC(2)), LC_ASSIGN_BOUND);
	assert_int_equal(f->user_id, 1);
	assert_int_equal(g->user_id, 0);
	assert_int_equal(assign_to(x, 2, "100.64.0.1", 40000, "192.0.2.20", 443,
				   2, SEC(2)), LC_ASSIGN_BOUND);
	assert_int_equal(f->user_id, 1);
	assert_int_equal(f->node, 1);
	assert_int_equal(g->user_id, 2);
	assert_int_equal(g->node, 2);
	/* Again the same: nothing changes. */
	assert_int_equal(assign_to(x, 2, "100.64.0.1", 40000, "192.0.2.20", 443,
				   2, SEC(3)), LC_ASSIGN_UNCHANGED);
	/* A server port that differs is another server. */
	assert_int_equal(assign_to(x, 2, "100.64.0.1", 40000, "192.0.2.10", 444,
				   2, SEC(3)), LC_ASSIGN_PENDING);
	assert_int_equal(f->user_id, 1);

	/* unassign CLIENT SERVER removes only that one. */
	struct lc_assign_target t = target("100.64.0.1", 40000, "192.0.2.20", 443, 0);
	assert_int_equal(lc_unassign_endpoint_to(x->a, x->flows, &t),
			 LC_ASSIGN_REMOVED);
	assert_int_equal(g->user_id, 0);
	assert_int_equal(g->node, 0);
	assert_int_equal(f->user_id, 1);
	assert_int_equal(lc_unassign_endpoint_to(x->a, x->flows, &t),
			 LC_ASSIGN_NOT_FOUND);
	check_flow_counts(x);
}

/* The two-argument form still binds the client endpoint to any server. */
static void
client_only_binds_any_server(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f, *g;

	add_user(x, 1);
	add_user(x, 2);
	assert_int_equal(assign_to(x, 1, "100.64.0.2", 40000, NULL, 0, 5, SEC(1)),
			 LC_ASSIGN_PENDING);
	assert_int_equal(tcp_to(x, "100.64.0.2", 40000, "192.0.2.10", 443, UP,
				SEC(2), &f), 1);
	assert_int_equal(tcp_to(x, "100.64.0.2", 40000, "192.0.2.20", 443, DOWN,
				SEC(2), &g), 1);
	assert_int_equal(f->node, 5);
	assert_int_equal(g->node, 5);

	/* A named server wins over "any server" for a new flow. */
	assert_int_equal(assign_to(x, 2, "100.64.0.2", 40000, "192.0.2.30", 443,
				   6, SEC(3)), LC_ASSIGN_PENDING);
	assert_int_equal(tcp_to(x, "100.64.0.2", 40000, "192.0.2.30", 443, UP,
				SEC(4), &g), 2);
	assert_int_equal(g->node, 6);
	assert_int_equal(tcp_to(x, "100.64.0.2", 40000, "192.0.2.40", 443, UP,
				SEC(4), NULL), 1);
	/* The old calls are the two-argument form, with no node. */
	assert_int_equal(assign_ep(x, 2, "100.64.0.3", 40000, SEC(4), 0),
			 LC_ASSIGN_PENDING);
	assert_int_equal(tcp_to(x, "100.64.0.3", 40000, "192.0.2.40", 443, UP,
				SEC(5), &f), 2);
	assert_int_equal(f->node, 0);
	check_flow_counts(x);
}

/* An IP-wide assignment carries its node to the flows it binds. */
static void
ip_rule_node(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f;
	uint8_t a[16];
	int err;

	add_user(x, 1);
	addr16("100.64.0.9", a);
	assert_int_equal(lc_assign_ip_node(x->a, 1, a, 7, &err), LC_ASSIGN_BOUND);
	assert_int_equal(err, 0);
	assert_int_equal(lc_assign_ip_node(x->a, 1, a, 7, &err),
			 LC_ASSIGN_UNCHANGED);
	assert_int_equal(lc_assign_ip_node(x->a, 1, a, LC_ASSIGN_NODES_MAX + 1, &err),
			 LC_ASSIGN_UNCHANGED);
	assert_int_equal(err, -EINVAL);
	assert_int_equal(tcp_to(x, "100.64.0.9", 1000, "192.0.2.10", 443, UP,
				SEC(1), &f), 1);
	assert_int_equal(f->origin, LC_ORIGIN_IP);
	assert_int_equal(f->node, 7);
	/* The same user through another node: the sweep moves the flow's node. */
	assert_int_equal(lc_assign_ip_node(x->a, 1, a, 8, &err), LC_ASSIGN_BOUND);
	upkeep_settle(x, SEC(2));
	assert_int_equal(f->user_id, 1);
	assert_int_equal(f->node, 8);
	check_flow_counts(x);
}


/* Named and any-server entries expire alike; what is left still binds. */
static void
named_pending_expires(void **state)
{
	struct fx *x = *state;

	add_user(x, 1);
	add_user(x, 2);
	assert_int_equal(assign_to(x, 1, "100.64.0.5", 40000, "192.0.2.10", 443,
				   1, SEC(1)), LC_ASSIGN_PENDING);
	assert_int_equal(assign_to(x, 2, "100.64.0.5", 40000, NULL, 0, 2,
				   SEC(20)), LC_ASSIGN_PENDING);
	/* The named one runs out first: the flow to its server is now bob's. */
	upkeep_settle(x, SEC(40));
	assert_int_equal(ctr(x).pending, 1);
	assert_int_equal(ctr(x).pending_expired, 1);
	assert_int_equal(tcp_to(x, "100.64.0.5", 40000, "192.0.2.10", 443, UP,
				SEC(41), NULL), 2);
	upkeep_settle(x, SEC(60));
	assert_int_equal(ctr(x).pending, 0);
	/* Named again, after the other kind is gone. */
	assert_int_equal(assign_to(x, 1, "100.64.0.5", 40001, "192.0.2.10", 443,
				   1, SEC(61)), LC_ASSIGN_PENDING);
	assert_int_equal(tcp_to(x, "100.64.0.5", 40001, "192.0.2.20", 443, UP,
				SEC(62), NULL), 0);
	assert_int_equal(tcp_to(x, "100.64.0.5", 40001, "192.0.2.10", 443, DOWN,
				SEC(62), NULL), 1);
	check_flow_counts(x);
}

#define REFS(x, n) lc_assign_node_refs((x)->a, (n))

/*
 * What carries a node id, counted for the control thread: pending and
 * IP-wide assignments and the flows they bind, each until it goes (unassign,
 * expiry, a removed user, a flow aged out, state absent), so that the id
 * can be given to another name once nothing carries it.
 */
static void
node_refs(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f, *g;
	uint32_t slots = lc_flow_table_slots(x->flows);
	uint8_t a[16];
	int err;

	add_user(x, 1);
	add_user(x, 2);
	assert_int_equal(REFS(x, 0), 0);
	assert_int_equal(REFS(x, LC_ASSIGN_NODES_MAX + 1), 0);

	/* A pending entry, then its flow; unassign CLIENT SERVER takes both. */
	assert_int_equal(assign_to(x, 1, "100.64.1.1", 40000, "192.0.2.10", 443,
				   3, SEC(1)), LC_ASSIGN_PENDING);
	assert_int_equal(REFS(x, 3), 1);
	assert_int_equal(tcp_to(x, "100.64.1.1", 40000, "192.0.2.10", 443, UP,
				SEC(2), &f), 1);
	assert_int_equal(REFS(x, 3), 2);
	/* The same user through another node: the entry and flow move. */
	assert_int_equal(assign_to(x, 1, "100.64.1.1", 40000, "192.0.2.10", 443,
				   4, SEC(3)), LC_ASSIGN_UNCHANGED);
	assert_int_equal(f->node, 4);
	assert_int_equal(REFS(x, 3), 0);
	assert_int_equal(REFS(x, 4), 2);
	struct lc_assign_target t = target("100.64.1.1", 40000, "192.0.2.10", 443, 0);
	assert_int_equal(lc_unassign_endpoint_to(x->a, x->flows, &t),
			 LC_ASSIGN_REMOVED);
	assert_int_equal(REFS(x, 4), 0);

	/* An IP-wide rule and its flow; the rule moves to another node. */
	addr16("100.64.1.2", a);
	assert_int_equal(lc_assign_ip_node(x->a, 1, a, 5, &err), LC_ASSIGN_BOUND);
	assert_int_equal(tcp_to(x, "100.64.1.2", 1000, "192.0.2.10", 443, UP,
				SEC(4), &g), 1);
	assert_int_equal(REFS(x, 5), 2);
	assert_int_equal(lc_assign_ip_node(x->a, 1, a, 6, &err), LC_ASSIGN_BOUND);
	upkeep_settle(x, SEC(5));
	assert_int_equal(REFS(x, 5), 0);
	assert_int_equal(REFS(x, 6), 2);
	assert_int_equal(unassign_ip(x, "100.64.1.2"), LC_ASSIGN_REMOVED);
	upkeep_settle(x, SEC(6));
	assert_int_equal(g->user_id, 0);
	assert_int_equal(REFS(x, 6), 0);

	/* A pending entry whose flow never comes expires with pending_ttl. */
	assert_int_equal(assign_to(x, 1, "100.64.1.3", 40000, NULL, 0, 7, SEC(10)),
			 LC_ASSIGN_PENDING);
	assert_int_equal(REFS(x, 7), 1);
	upkeep_settle(x, SEC(10) + TTL + 1);
	assert_int_equal(REFS(x, 7), 0);

	/* A flow aged out lets go of its node. */
	assert_int_equal(assign_to(x, 1, "100.64.1.4", 40000, NULL, 0, 8, SEC(100)),
			 LC_ASSIGN_PENDING);
	assert_int_equal(tcp_to(x, "100.64.1.4", 40000, "192.0.2.10", 443, UP,
				SEC(100), NULL), 1);
	upkeep_settle(x, SEC(100) + TTL + 1);
	assert_int_equal(REFS(x, 8), 1);
	lc_flow_age(x->flows, SEC(100) + SEC(LC_FLOW_DEFAULT_TCP_TIMEOUT) + 1, slots);
	assert_int_equal(REFS(x, 8), 0);

	/* A removed user: its pending entry and its flow let go. */
	uint64_t now = SEC(20000);
	assert_int_equal(assign_to(x, 2, "100.64.1.5", 40000, NULL, 0, 9, now),
			 LC_ASSIGN_PENDING);
	assert_int_equal(tcp_to(x, "100.64.1.5", 40000, "192.0.2.10", 443, UP,
				now, &f), 2);
	assert_int_equal(REFS(x, 9), 2);
	assert_int_equal(lc_assign_user_del(x->a, 2), 0);
	/* Its next packet finds it gone: unbound, the node kept till the sweep. */
	assert_int_equal(tcp_to(x, "100.64.1.5", 40000, "192.0.2.10", 443, DOWN,
				now + 1, NULL), 0);
	upkeep_settle(x, now + 2);
	assert_int_equal(f->node, 0);
	assert_int_equal(REFS(x, 9), 0);

	/* state absent: every rule and flow lets go. */
	assert_int_equal(assign_to(x, 1, "100.64.1.6", 40000, NULL, 0, 10, now),
			 LC_ASSIGN_PENDING);
	assert_int_equal(tcp_to(x, "100.64.1.6", 40000, "192.0.2.10", 443, UP,
				now, NULL), 1);
	addr16("100.64.1.7", a);
	assert_int_equal(lc_assign_ip_node(x->a, 1, a, 10, &err), LC_ASSIGN_BOUND);
	assert_int_equal(REFS(x, 10), 3);
	lc_assign_clear(x->a);
	upkeep_settle(x, now + 3);
	assert_int_equal(REFS(x, 10), 0);
	check_flow_counts(x);
}

/*
 * unassign CLIENT (no server) removes every assignment of the client
 * endpoint, whatever its server: the entries named with a server too, and
 * every flow an endpoint assignment bound.
 */
static void
unassign_client_any_server(void **state)
{
	struct fx *x = *state;
	struct lc_flow *f;
	char server[32];

	add_user(x, 1);
	add_user(x, 2);
	assert_int_equal(assign_to(x, 1, "100.64.2.1", 40000, "192.0.2.10", 443,
				   1, SEC(1)), LC_ASSIGN_PENDING);
	assert_int_equal(assign_to(x, 2, "100.64.2.1", 40000, "192.0.2.20", 443,
				   2, SEC(1)), LC_ASSIGN_PENDING);
	assert_int_equal(assign_to(x, 1, "100.64.2.1", 40000, NULL, 0, 3, SEC(1)),
			 LC_ASSIGN_PENDING);
	/* Another endpoint of the same address, and one of another address. */
	assert_int_equal(assign_to(x, 2, "100.64.2.1", 40001, "192.0.2.10", 443,
				   1, SEC(1)), LC_ASSIGN_PENDING);
	assert_int_equal(assign_to(x, 2, "100.64.2.2", 40000, "192.0.2.10", 443,
				   1, SEC(1)), LC_ASSIGN_PENDING);
	assert_int_equal(tcp_to(x, "100.64.2.1", 40000, "192.0.2.30", 443, UP,
				SEC(2), &f), 1);
	assert_int_equal(ctr(x).pending, 5);

	assert_int_equal(unassign_ep(x, "100.64.2.1", 40000), LC_ASSIGN_REMOVED);
	assert_int_equal(ctr(x).pending, 2);
	assert_int_equal(f->user_id, 0);
	assert_int_equal(REFS(x, 2), 0);
	assert_int_equal(REFS(x, 3), 0);
	assert_int_equal(REFS(x, 1), 2);
	assert_int_equal(unassign_ep(x, "100.64.2.1", 40000), LC_ASSIGN_NOT_FOUND);
	assert_int_equal(tcp_to(x, "100.64.2.1", 40000, "192.0.2.10", 443, UP,
				SEC(3), NULL), 0);
	assert_int_equal(tcp_to(x, "100.64.2.1", 40000, "192.0.2.20", 443, UP,
				SEC(3), NULL), 0);
	assert_int_equal(tcp_to(x, "100.64.2.1", 40001, "192.0.2.10", 443, UP,
				SEC(3), NULL), 2);
	assert_int_equal(tcp_to(x, "100.64.2.2", 40000, "192.0.2.10", 443, UP,
				SEC(3), NULL), 2);

	/*
	 * Entries of one endpoint taken out one by one (first, middle, last
	 * of its chain) and by expiry leave the rest whole.
	 */
	for (int i = 0; i < 6; i++) {
		snprintf(server, sizeof(server), "192.0.2.%d", 100 + i);
		assert_int_equal(assign_to(x, 1, "100.64.2.3", 50000, server, 443,
					   4, SEC(10 + i)), LC_ASSIGN_PENDING);
	}
	for (int i = 0; i < 6; i += 2) {
		snprintf(server, sizeof(server), "192.0.2.%d", 100 + i);
		struct lc_assign_target t = target("100.64.2.3", 50000, server, 443, 0);
		assert_int_equal(lc_unassign_endpoint_to(x->a, x->flows, &t),
				 LC_ASSIGN_REMOVED);
	}
	/*
	 * 101, 103 and 105 are left; 101, named at 11 s, runs out (and so do
	 * the entries of 40001 and of 100.64.2.2, named at 1 s).
	 */
	upkeep_settle(x, SEC(11) + TTL + 1);
	assert_int_equal(ctr(x).pending, 2);
	assert_int_equal(REFS(x, 4), 2);
	assert_int_equal(tcp_to(x, "100.64.2.3", 50000, "192.0.2.101", 443, UP,
				SEC(42), NULL), 0);
	assert_int_equal(tcp_to(x, "100.64.2.3", 50000, "192.0.2.103", 443, UP,
				SEC(42), NULL), 1);
	assert_int_equal(REFS(x, 4), 3);
	assert_int_equal(unassign_ep(x, "100.64.2.3", 50000), LC_ASSIGN_REMOVED);
	assert_int_equal(ctr(x).pending, 0);
	assert_int_equal(REFS(x, 4), 0);
	/* And named again, the chain starts afresh. */
	assert_int_equal(assign_to(x, 2, "100.64.2.3", 50000, "192.0.2.100", 443,
				   5, SEC(50)), LC_ASSIGN_PENDING);
	assert_int_equal(unassign_ep(x, "100.64.2.3", 50000), LC_ASSIGN_REMOVED);
	assert_int_equal(ctr(x).pending, 0);
	check_flow_counts(x);
}

/* ---- main ----------------------------------------------------------------- */

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_params),
		cmocka_unit_test(result_names),
		T(assign_needs_live_user),
		T(pending_binds_new_flow),
		T(pending_ttl),
		T(icmp_echo),
		T(ip_wide_new_flows),
		T(endpoint_wins_rule_first),
		T(endpoint_wins_endpoint_first),
		T(endpoint_results),
		T(endpoint_pending_reassigned),
		T(endpoint_reassigned_after_bind),
		T(ip_change_sweep),
		T(sweep_change_mid_pass),
		T(unassign_endpoint),
		T(user_del),
		T(id_reuse_generation),
		T(stale_scan_keeps_live_rules),
		T(user_add_refusals),
		T(flow_counts_expiry),
		T(clear_all),
		cmocka_unit_test(pending_full),
		T(counters),
		T(cgnat_two_nodes_pending),
		T(cgnat_two_nodes_existing),
		T(client_only_binds_any_server),
		T(ip_rule_node),
		T(named_pending_expires),
		T(node_refs),
		T(unassign_client_any_server),
	};

	return cmocka_run_group_tests_name("assign", tests, lc_test_eal_setup,
					   lc_test_eal_teardown);
}
