/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the flow table, driven with synthetic time (hz = 1000, so
 * `now` is in milliseconds). EAL is initialised once, without hugepages,
 * because rte_hash and rte_malloc need it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "lc_test_eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "lc_flow.h"
#include "lc_hash.h"

#include <rte_hash_crc.h>

#define HZ 1000u
#define SEC(s) ((uint64_t)(s) * HZ)

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

#define UP LC_FLOW_DIR_UP
#define DOWN LC_FLOW_DIR_DOWN

static unsigned table_seq;

static struct lc_flow_params
params_default(uint32_t capacity, bool permit)
{
	static char names[256][24];
	struct lc_flow_params p;
	char *name = names[table_seq++ % 256];

	snprintf(name, sizeof(names[0]), "test_flow_%u", table_seq);
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.socket_id = SOCKET_ID_ANY;
	p.capacity = capacity;
	p.permit_invalid_flow = permit;
	p.hz = HZ;
	return p;
}

static struct lc_flow_table *
table_new(uint32_t capacity, bool permit)
{
	struct lc_flow_params p = params_default(capacity, permit);
	struct lc_flow_table *tbl = lc_flow_table_create(&p);

	assert_non_null(tbl);
	return tbl;
}

static void
addr(int af, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (af == AF_INET) {
		out[10] = 0xff;
		out[11] = 0xff;
		assert_int_equal(inet_pton(AF_INET, s, out + 12), 1);
	} else {
		assert_int_equal(inet_pton(AF_INET6, s, out), 1);
	}
}

/* A parsed TCP or UDP packet from src:sport to dst:dport. */
static struct lc_parse_result
pkt(int af, const char *src, uint16_t sport, const char *dst, uint16_t dport,
    uint8_t proto, uint8_t tcp_flags)
{
	struct lc_parse_result pr;

	memset(&pr, 0, sizeof(pr));
	pr.reason = LC_PARSE_OK;
	pr.ip_version = af == AF_INET ? 4 : 6;
	pr.l4_proto = proto;
	pr.tcp_flags = proto == IPPROTO_TCP ? tcp_flags : 0;
	pr.flags = LC_PARSE_F_PORTS;
	pr.sport = sport;
	pr.dport = dport;
	addr(af, src, pr.src);
	addr(af, dst, pr.dst);
	return pr;
}

static void
vlans(struct lc_parse_result *pr, unsigned n, uint16_t outer, uint16_t inner)
{
	pr->n_vlans = (uint8_t)n;
	pr->vlan[0] = n > 0 ? outer : 0;
	pr->vlan[1] = n > 1 ? inner : 0;
}

/* The client 10.0.0.1:40000 talks to the server 192.0.2.1:443. */
static struct lc_parse_result
tcp_up(uint8_t flags)
{
	return pkt(AF_INET, "10.0.0.1", 40000, "192.0.2.1", 443, IPPROTO_TCP,
		   flags);
}

static struct lc_parse_result
tcp_down(uint8_t flags)
{
	return pkt(AF_INET, "192.0.2.1", 443, "10.0.0.1", 40000, IPPROTO_TCP,
		   flags);
}

/* Feed one packet; returns the flow and checks the status. */
static struct lc_flow *
feed(struct lc_flow_table *tbl, const struct lc_parse_result *pr,
     enum lc_flow_dir dir, uint32_t len, uint64_t now, int want_status)
{
	struct lc_flow_key key;
	struct lc_flow *f;
	int status = -1;

	assert_true(lc_flow_key_from_parse(pr, dir == UP, &key));
	f = lc_flow_lookup_or_create(tbl, &key, pr, dir, len, now, &status);
	assert_int_equal(status, want_status);
	if (want_status == LC_FLOW_EXISTING || want_status == LC_FLOW_CREATED)
		assert_non_null(f);
	else
		assert_null(f);
	return f;
}

static void
counters(struct lc_flow_table *tbl, struct lc_flow_counters *c)
{
	lc_flow_counters_get(tbl, c);
}

/* A UDP flow with a distinct client port, for filling tables. */
static struct lc_flow *
udp_flow(struct lc_flow_table *tbl, uint16_t cport, uint64_t now,
	 int want_status)
{
	struct lc_parse_result pr = pkt(AF_INET, "10.1.0.1", cport,
					"192.0.2.53", 53, IPPROTO_UDP, 0);

	return feed(tbl, &pr, UP, 100, now, want_status);
}

/* ---- keys ---------------------------------------------------------- */

static void
key_symmetry_v4(void **state)
{
	struct lc_parse_result up = tcp_up(ACK), down = tcp_down(ACK);
	struct lc_flow_key ku, kd;

	(void)state;
	assert_true(lc_flow_key_from_parse(&up, true, &ku));
	assert_true(lc_flow_key_from_parse(&down, false, &kd));
	assert_memory_equal(&ku, &kd, sizeof(ku));
	assert_int_equal(ku.client_port, 40000);
	assert_int_equal(ku.server_port, 443);
	assert_int_equal(ku.ip_version, 4);
	assert_int_equal(ku.l4_proto, IPPROTO_TCP);

	/* The same packet seen from the other port is another flow: the
	 * client is whoever is on client_port's side. */
	assert_true(lc_flow_key_from_parse(&up, false, &kd));
	assert_memory_not_equal(&ku, &kd, sizeof(ku));
}

static void
key_symmetry_v6_vlans(void **state)
{
	struct lc_parse_result up, down;
	struct lc_flow_key ku, kd;
	unsigned n;

	(void)state;
	for (n = 0; n <= 2; n++) {
		up = pkt(AF_INET6, "2001:db8::1", 50000, "2001:db8:ffff::9",
			 8443, IPPROTO_UDP, 0);
		down = pkt(AF_INET6, "2001:db8:ffff::9", 8443, "2001:db8::1",
			   50000, IPPROTO_UDP, 0);
		vlans(&up, n, 100, 200);
		vlans(&down, n, 100, 200);
		assert_true(lc_flow_key_from_parse(&up, true, &ku));
		assert_true(lc_flow_key_from_parse(&down, false, &kd));
		assert_memory_equal(&ku, &kd, sizeof(ku));
		assert_int_equal(ku.n_vlans, n);
		assert_int_equal(ku.ip_version, 6);
	}
	assert_int_equal(ku.vlan[0], 100);
	assert_int_equal(ku.vlan[1], 200);
}

static void
key_vlan_context(void **state)
{
	struct lc_parse_result a = tcp_up(ACK), b = tcp_up(ACK);
	struct lc_flow_key ka, kb;

	(void)state;
	vlans(&a, 1, 10, 0);
	vlans(&b, 1, 11, 0);
	assert_true(lc_flow_key_from_parse(&a, true, &ka));
	assert_true(lc_flow_key_from_parse(&b, true, &kb));
	assert_memory_not_equal(&ka, &kb, sizeof(ka));

	/* One tag is not the same context as no tag, nor as QinQ with the
	 * same outer tag. */
	vlans(&b, 0, 0, 0);
	assert_true(lc_flow_key_from_parse(&b, true, &kb));
	assert_memory_not_equal(&ka, &kb, sizeof(ka));
	vlans(&b, 2, 10, 0);
	assert_true(lc_flow_key_from_parse(&b, true, &kb));
	assert_memory_not_equal(&ka, &kb, sizeof(ka));

	/* Ethernet over MPLS: two customer VLANs of one pseudowire are two
	 * contexts; the same inner tag from both ports is one. */
	a = tcp_up(ACK);
	b = tcp_down(ACK);
	a.flags |= LC_PARSE_F_EOMPLS;
	b.flags |= LC_PARSE_F_EOMPLS;
	vlans(&a, 1, 300, 0);
	vlans(&b, 1, 300, 0);
	a.n_inner_vlans = 1;
	a.inner_vlan[0] = 42;
	b.n_inner_vlans = 1;
	b.inner_vlan[0] = 42;
	assert_true(lc_flow_key_from_parse(&a, true, &ka));
	assert_true(lc_flow_key_from_parse(&b, false, &kb));
	assert_memory_equal(&ka, &kb, sizeof(ka));
	assert_int_equal(ka.inner_vlan[0], 42);
	assert_int_equal(ka.n_inner_vlans, 1);
	b.inner_vlan[0] = 43;
	assert_true(lc_flow_key_from_parse(&b, false, &kb));
	assert_memory_not_equal(&ka, &kb, sizeof(ka));
	b.n_inner_vlans = 0;
	assert_true(lc_flow_key_from_parse(&b, false, &kb));
	assert_memory_not_equal(&ka, &kb, sizeof(ka));
}

static void
key_every_byte_written(void **state)
{
	struct lc_parse_result pr = tcp_up(ACK);
	struct lc_flow_key k1, k2;

	(void)state;
	/* Stale VLAN ids past n_vlans and garbage in the key must not leak
	 * into the hash. */
	pr.vlan[0] = 77;
	pr.vlan[1] = 88;
	pr.n_vlans = 0;
	pr.inner_vlan[1] = 99;
	pr.n_inner_vlans = 1;
	memset(&k1, 0xa5, sizeof(k1));
	memset(&k2, 0x5a, sizeof(k2));
	assert_true(lc_flow_key_from_parse(&pr, true, &k1));
	assert_true(lc_flow_key_from_parse(&pr, true, &k2));
	assert_memory_equal(&k1, &k2, sizeof(k1));
	assert_int_equal(k1.vlan[0], 0);
	assert_int_equal(k1.vlan[1], 0);
	assert_int_equal(k1.inner_vlan[1], 0);
}

static void
key_untracked(void **state)
{
	struct lc_parse_result pr;
	struct lc_flow_key k;

	(void)state;
	pr = tcp_up(ACK);
	pr.flags = LC_PARSE_F_FRAGMENT; /* a later fragment: no ports */
	assert_false(lc_flow_key_from_parse(&pr, true, &k));

	pr = tcp_up(ACK);
	pr.reason = LC_PARSE_NON_IP;
	assert_false(lc_flow_key_from_parse(&pr, true, &k));

	pr = pkt(AF_INET, "10.0.0.1", 0, "192.0.2.1", 0, 47 /* GRE */, 0);
	pr.flags = 0;
	assert_false(lc_flow_key_from_parse(&pr, true, &k));

	/* ICMP that is not echo (an error) has no identifier. */
	pr = pkt(AF_INET, "10.0.0.1", 0, "192.0.2.1", 0, IPPROTO_ICMP, 0);
	pr.flags = 0;
	pr.icmp_type = 3;
	assert_false(lc_flow_key_from_parse(&pr, true, &k));
}

static void
key_icmp_echo(void **state)
{
	struct lc_parse_result req, rep;
	struct lc_flow_key kq, kr;

	(void)state;
	req = pkt(AF_INET6, "2001:db8::1", 0, "2001:db8::2", 0,
		  IPPROTO_ICMPV6, 0);
	req.flags = LC_PARSE_F_ICMP_ID;
	req.icmp_type = 128;
	req.icmp_id = 0x1234;
	rep = pkt(AF_INET6, "2001:db8::2", 0, "2001:db8::1", 0,
		  IPPROTO_ICMPV6, 0);
	rep.flags = LC_PARSE_F_ICMP_ID;
	rep.icmp_type = 129;
	rep.icmp_id = 0x1234;
	assert_true(lc_flow_key_from_parse(&req, true, &kq));
	assert_true(lc_flow_key_from_parse(&rep, false, &kr));
	assert_memory_equal(&kq, &kr, sizeof(kq));
	assert_int_equal(kq.client_port, 0x1234);
	assert_int_equal(kq.server_port, 0x1234);

	rep.icmp_id = 0x1235;
	assert_true(lc_flow_key_from_parse(&rep, false, &kr));
	assert_memory_not_equal(&kq, &kr, sizeof(kq));
}

/* ---- create, lookup, counters ------------------------------------ */

static void
both_directions_one_entry(void **state)
{
	struct lc_flow_table *tbl = table_new(64, true);
	struct lc_parse_result up, down;
	struct lc_flow *f1, *f2;
	struct lc_flow_counters c;
	int af;

	(void)state;
	for (af = 0; af < 2; af++) {
		if (af == 0) {
			up = tcp_up(SYN);
			down = tcp_down(SYN | ACK);
			vlans(&up, 2, 100, 7);
			vlans(&down, 2, 100, 7);
		} else {
			up = pkt(AF_INET6, "2001:db8::1", 1234, "2001:db8::2",
				 443, IPPROTO_TCP, SYN);
			down = pkt(AF_INET6, "2001:db8::2", 443, "2001:db8::1",
				   1234, IPPROTO_TCP, SYN | ACK);
		}
		f1 = feed(tbl, &up, UP, 60, SEC(1), LC_FLOW_CREATED);
		f2 = feed(tbl, &down, DOWN, 1500, SEC(2), LC_FLOW_EXISTING);
		assert_ptr_equal(f1, f2);
		up.tcp_flags = ACK;
		f2 = feed(tbl, &up, UP, 40, SEC(3), LC_FLOW_EXISTING);
		assert_ptr_equal(f1, f2);
		assert_int_equal(f1->packets[UP], 2);
		assert_int_equal(f1->bytes[UP], 100);
		assert_int_equal(f1->packets[DOWN], 1);
		assert_int_equal(f1->bytes[DOWN], 1500);
		assert_int_equal(f1->created, SEC(1));
		assert_int_equal(f1->last_seen, SEC(3));
		assert_int_equal(f1->user_id, 0);
		assert_int_equal(f1->l4_proto, IPPROTO_TCP);
	}
	counters(tbl, &c);
	assert_int_equal(c.active, 2);
	assert_int_equal(c.created, 2);
	assert_int_equal(c.created_midstream, 0);
	lc_flow_table_free(tbl);
}

static void
same_tuple_two_vlans(void **state)
{
	struct lc_flow_table *tbl = table_new(64, true);
	struct lc_parse_result a = tcp_up(ACK), b = tcp_up(ACK);
	struct lc_flow *fa, *fb;

	(void)state;
	vlans(&a, 1, 10, 0);
	vlans(&b, 1, 20, 0);
	fa = feed(tbl, &a, UP, 100, 0, LC_FLOW_CREATED);
	fb = feed(tbl, &b, UP, 100, 0, LC_FLOW_CREATED);
	assert_ptr_not_equal(fa, fb);
	a = tcp_down(ACK);
	vlans(&a, 1, 20, 0);
	assert_ptr_equal(feed(tbl, &a, DOWN, 100, 0, LC_FLOW_EXISTING), fb);
	lc_flow_table_free(tbl);
}

static void
lookup_get_key_delete(void **state)
{
	struct lc_flow_table *tbl = table_new(64, true);
	struct lc_parse_result pr = tcp_up(SYN);
	const struct lc_flow_key *stored;
	struct lc_flow_counters c;
	struct lc_flow_key key;
	struct lc_flow *f;
	uint32_t id;

	(void)state;
	assert_true(lc_flow_key_from_parse(&pr, true, &key));
	assert_null(lc_flow_lookup(tbl, &key));
	f = feed(tbl, &pr, UP, 60, 0, LC_FLOW_CREATED);
	assert_ptr_equal(lc_flow_lookup(tbl, &key), f);
	/* A plain lookup accounts nothing. */
	assert_int_equal(f->packets[UP], 1);

	id = lc_flow_id(tbl, f);
	assert_true(id < lc_flow_table_slots(tbl));
	assert_ptr_equal(lc_flow_get(tbl, id), f);
	assert_null(lc_flow_get(tbl, (id + 1) % lc_flow_table_slots(tbl)));
	assert_null(lc_flow_get(tbl, lc_flow_table_slots(tbl)));
	assert_null(lc_flow_get(tbl, UINT32_MAX));

	stored = lc_flow_key(tbl, f);
	assert_non_null(stored);
	assert_memory_equal(stored, &key, sizeof(key));

	assert_int_equal(lc_flow_delete(tbl, f), 0);
	assert_int_equal(lc_flow_delete(tbl, f), -ENOENT);
	assert_null(lc_flow_lookup(tbl, &key));
	assert_null(lc_flow_get(tbl, id));
	assert_null(lc_flow_key(tbl, f));
	counters(tbl, &c);
	assert_int_equal(c.active, 0);
	assert_int_equal(c.deleted, 1);
	assert_int_equal(c.expired, 0);

	/* The same flow can come back. */
	feed(tbl, &pr, UP, 60, 0, LC_FLOW_CREATED);
	lc_flow_table_free(tbl);
}

static void
set_user(void **state)
{
	struct lc_flow_table *tbl = table_new(64, true);
	struct lc_parse_result up = tcp_up(ACK), down = tcp_down(ACK);
	struct lc_flow *f;

	(void)state;
	f = feed(tbl, &up, UP, 100, 0, LC_FLOW_CREATED);
	assert_int_equal(f->user_id, 0);
	lc_flow_set_user(f, 42);
	assert_int_equal(feed(tbl, &down, DOWN, 100, 1, LC_FLOW_EXISTING)->user_id,
			 42);
	/* A connection that reuses the ports after a close keeps the
	 * binding: the assignment is by client endpoint. */
	down.tcp_flags = RST;
	feed(tbl, &down, DOWN, 40, 2, LC_FLOW_EXISTING);
	up.tcp_flags = SYN;
	assert_int_equal(feed(tbl, &up, UP, 60, 3, LC_FLOW_EXISTING)->user_id,
			 42);
	lc_flow_set_user(f, 0);
	assert_int_equal(f->user_id, 0);
	lc_flow_table_free(tbl);
}

/* ---- TCP state machine ------------------------------------------- */

static void
tcp_handshake_and_close(void **state)
{
	struct lc_flow_table *tbl = table_new(64, false);
	struct lc_parse_result up = tcp_up(SYN), down = tcp_down(SYN | ACK);
	struct lc_flow_counters c;
	struct lc_flow *f;

	(void)state;
	f = feed(tbl, &up, UP, 60, 0, LC_FLOW_CREATED);
	assert_int_equal(f->state, LC_FLOW_STATE_SYN_SENT);
	assert_false(f->flags & LC_FLOW_F_MIDSTREAM);
	assert_false(f->flags & LC_FLOW_F_ORIG_DOWN);
	/* A retransmitted SYN changes nothing. */
	feed(tbl, &up, UP, 60, 1, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_SYN_SENT);
	feed(tbl, &down, DOWN, 60, 2, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_SYN_RECV);
	up.tcp_flags = ACK;
	feed(tbl, &up, UP, 52, 3, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_ESTABLISHED);
	up.tcp_flags = ACK | PSH;
	feed(tbl, &up, UP, 1000, 4, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_ESTABLISHED);
	up.tcp_flags = FIN | ACK;
	feed(tbl, &up, UP, 52, 5, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_FIN_WAIT);
	assert_true(f->flags & LC_FLOW_F_FIN_UP);
	/* Data of the half-open side and a repeated FIN keep FIN_WAIT. */
	down.tcp_flags = ACK;
	feed(tbl, &down, DOWN, 1000, 6, LC_FLOW_EXISTING);
	feed(tbl, &up, UP, 52, 7, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_FIN_WAIT);
	down.tcp_flags = FIN | ACK;
	feed(tbl, &down, DOWN, 52, 8, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_CLOSING);
	up.tcp_flags = ACK;
	feed(tbl, &up, UP, 52, 9, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_CLOSING);
	/* A new SYN on the same ports starts a new connection. */
	up.tcp_flags = SYN;
	feed(tbl, &up, UP, 60, 10, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_SYN_SENT);
	assert_false(f->flags & (LC_FLOW_F_FIN_UP | LC_FLOW_F_FIN_DOWN));
	counters(tbl, &c);
	assert_int_equal(c.tcp_reopened, 1);
	assert_int_equal(c.created, 1);
	assert_int_equal(c.invalid_flow, 0);
	lc_flow_table_free(tbl);
}

static void
tcp_rst(void **state)
{
	struct lc_flow_table *tbl = table_new(64, false);
	struct lc_parse_result up = tcp_up(SYN), down = tcp_down(SYN | ACK);
	struct lc_flow *f;
	int i;

	(void)state;
	/* RST closes from every state. */
	for (i = 0; i < 5; i++) {
		up.tcp_flags = SYN;
		f = feed(tbl, &up, UP, 60, 0,
			 i == 0 ? LC_FLOW_CREATED : LC_FLOW_EXISTING);
		if (i >= 1) {
			down.tcp_flags = SYN | ACK;
			feed(tbl, &down, DOWN, 60, 0, LC_FLOW_EXISTING);
		}
		if (i >= 2) {
			up.tcp_flags = ACK;
			feed(tbl, &up, UP, 60, 0, LC_FLOW_EXISTING);
		}
		if (i >= 3) {
			up.tcp_flags = FIN | ACK;
			feed(tbl, &up, UP, 60, 0, LC_FLOW_EXISTING);
		}
		if (i >= 4) {
			down.tcp_flags = FIN | ACK;
			feed(tbl, &down, DOWN, 60, 0, LC_FLOW_EXISTING);
		}
		assert_int_equal(f->state, i == 0 ? LC_FLOW_STATE_SYN_SENT :
					   i == 1 ? LC_FLOW_STATE_SYN_RECV :
					   i == 2 ? LC_FLOW_STATE_ESTABLISHED :
					   i == 3 ? LC_FLOW_STATE_FIN_WAIT :
						    LC_FLOW_STATE_CLOSING);
		down.tcp_flags = RST | ACK;
		feed(tbl, &down, DOWN, 40, 0, LC_FLOW_EXISTING);
		assert_int_equal(f->state, LC_FLOW_STATE_CLOSED);
		/* Late packets and FINs stay closed. */
		up.tcp_flags = FIN | ACK;
		feed(tbl, &up, UP, 40, 0, LC_FLOW_EXISTING);
		assert_int_equal(f->state, LC_FLOW_STATE_CLOSED);
	}
	lc_flow_table_free(tbl);
}

static void
tcp_partial_handshakes(void **state)
{
	struct lc_flow_table *tbl = table_new(64, false);
	struct lc_parse_result up = tcp_up(SYN), down = tcp_down(SYN);
	struct lc_flow *f;

	(void)state;
	/* The SYN-ACK took another path: the client's ACK establishes. */
	f = feed(tbl, &up, UP, 60, 0, LC_FLOW_CREATED);
	up.tcp_flags = ACK;
	feed(tbl, &up, UP, 60, 0, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_ESTABLISHED);
	lc_flow_delete(tbl, f);

	/* Simultaneous open: a bare SYN from each side. */
	up.tcp_flags = SYN;
	f = feed(tbl, &up, UP, 60, 0, LC_FLOW_CREATED);
	feed(tbl, &down, DOWN, 60, 0, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_SYN_RECV);
	lc_flow_delete(tbl, f);

	/* A server-side SYN (a connection opened from the VPN side) is
	 * remembered as such, and the client's SYN-ACK answers it. */
	f = feed(tbl, &down, DOWN, 60, 0, LC_FLOW_CREATED);
	assert_true(f->flags & LC_FLOW_F_ORIG_DOWN);
	up.tcp_flags = SYN | ACK;
	feed(tbl, &up, UP, 60, 0, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_SYN_RECV);
	down.tcp_flags = ACK;
	feed(tbl, &down, DOWN, 60, 0, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_ESTABLISHED);
	lc_flow_table_free(tbl);
}

/* ---- permit_invalid_flow ------------------------------------------ */

static void
permit_invalid_flow_no(void **state)
{
	static const uint8_t refused[] = {
		ACK, ACK | PSH, SYN | ACK, RST, RST | ACK, FIN | ACK, FIN,
		SYN | FIN, SYN | RST, 0,
	};
	struct lc_flow_table *tbl = table_new(64, false);
	struct lc_parse_result up = tcp_up(0), down;
	struct lc_flow_counters c;
	unsigned i;

	(void)state;
	for (i = 0; i < RTE_DIM(refused); i++) {
		up.tcp_flags = refused[i];
		feed(tbl, &up, UP, 60, 0, LC_FLOW_INVALID);
	}
	down = tcp_down(ACK);
	feed(tbl, &down, DOWN, 60, 0, LC_FLOW_INVALID);
	counters(tbl, &c);
	assert_int_equal(c.invalid_flow, RTE_DIM(refused) + 1);
	assert_int_equal(c.created, 0);
	assert_int_equal(c.active, 0);

	/* Only a SYN without ACK opens a session, ECN setup bits allowed;
	 * then anything goes. */
	up.tcp_flags = SYN | 0x40 | 0x80;
	feed(tbl, &up, UP, 60, 0, LC_FLOW_CREATED);
	feed(tbl, &down, DOWN, 60, 0, LC_FLOW_EXISTING);

	/* UDP is always created. */
	udp_flow(tbl, 5000, 0, LC_FLOW_CREATED);
	counters(tbl, &c);
	assert_int_equal(c.created, 2);
	assert_int_equal(c.created_midstream, 0);
	assert_int_equal(c.invalid_flow, RTE_DIM(refused) + 1);
	lc_flow_table_free(tbl);
}

static void
permit_invalid_flow_yes(void **state)
{
	static const struct {
		uint8_t flags;
		enum lc_flow_dir dir;
		uint8_t state;
	} cases[] = {
		{ ACK, UP, LC_FLOW_STATE_ESTABLISHED },
		{ ACK | PSH, DOWN, LC_FLOW_STATE_ESTABLISHED },
		{ 0, UP, LC_FLOW_STATE_ESTABLISHED },
		{ SYN | ACK, DOWN, LC_FLOW_STATE_SYN_RECV },
		{ FIN | ACK, DOWN, LC_FLOW_STATE_FIN_WAIT },
		{ RST, UP, LC_FLOW_STATE_CLOSED },
		{ SYN, UP, LC_FLOW_STATE_SYN_SENT },
	};
	struct lc_flow_table *tbl = table_new(64, true);
	struct lc_flow_counters c;
	struct lc_parse_result pr;
	struct lc_flow *f;
	unsigned i;

	(void)state;
	for (i = 0; i < RTE_DIM(cases); i++) {
		pr = cases[i].dir == UP ? tcp_up(cases[i].flags) :
					  tcp_down(cases[i].flags);
		f = feed(tbl, &pr, cases[i].dir, 60, 0, LC_FLOW_CREATED);
		assert_int_equal(f->state, cases[i].state);
		assert_int_equal(!!(f->flags & LC_FLOW_F_MIDSTREAM),
				 cases[i].flags != SYN);
		assert_int_equal(f->packets[cases[i].dir], 1);
		assert_int_equal(lc_flow_delete(tbl, f), 0);
	}
	counters(tbl, &c);
	assert_int_equal(c.created, RTE_DIM(cases));
	assert_int_equal(c.created_midstream, RTE_DIM(cases) - 1);
	assert_int_equal(c.invalid_flow, 0);

	/* A mid-stream FIN from the server, then the client's FIN. */
	pr = tcp_down(FIN | ACK);
	f = feed(tbl, &pr, DOWN, 60, 0, LC_FLOW_CREATED);
	assert_true(f->flags & LC_FLOW_F_FIN_DOWN);
	pr = tcp_up(FIN | ACK);
	feed(tbl, &pr, UP, 60, 0, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_CLOSING);
	lc_flow_table_free(tbl);
}

/* ---- timeouts and aging ------------------------------------------- */

/* Age the whole table at time now; returns how many were removed. */
static unsigned
age_all(struct lc_flow_table *tbl, uint64_t now)
{
	return lc_flow_age(tbl, now, lc_flow_table_slots(tbl));
}

/* A flow whose last packet was at t0 lives exactly timeout after it. */
static void
check_timeout(struct lc_flow_table *tbl, struct lc_flow *f, uint64_t t0,
	      uint64_t timeout)
{
	uint32_t id = lc_flow_id(tbl, f);

	assert_int_equal(lc_flow_timeout(tbl, f), timeout);
	assert_int_equal(age_all(tbl, t0 + timeout), 0);
	assert_ptr_equal(lc_flow_get(tbl, id), f);
	assert_int_equal(age_all(tbl, t0 + timeout + 1), 1);
	assert_null(lc_flow_get(tbl, id));
}

static void
timeouts_default(void **state)
{
	struct lc_flow_table *tbl = table_new(64, true);
	struct lc_parse_result pr;
	struct lc_flow *f;
	uint64_t t = SEC(1000);

	(void)state;
	pr = tcp_up(SYN);
	f = feed(tbl, &pr, UP, 60, t, LC_FLOW_CREATED);
	check_timeout(tbl, f, t, SEC(LC_FLOW_DEFAULT_TCP_SYN_TIMEOUT));

	pr = tcp_down(SYN | ACK);
	f = feed(tbl, &pr, DOWN, 60, t, LC_FLOW_CREATED);
	check_timeout(tbl, f, t, SEC(LC_FLOW_DEFAULT_TCP_SYN_TIMEOUT));

	pr = tcp_up(ACK);
	f = feed(tbl, &pr, UP, 60, t, LC_FLOW_CREATED);
	assert_int_equal(lc_flow_timeout(tbl, f), SEC(7440));
	check_timeout(tbl, f, t, SEC(LC_FLOW_DEFAULT_TCP_TIMEOUT));

	pr = tcp_up(FIN | ACK);
	f = feed(tbl, &pr, UP, 60, t, LC_FLOW_CREATED);
	check_timeout(tbl, f, t, SEC(10));

	pr = tcp_up(ACK);
	f = feed(tbl, &pr, UP, 60, t, LC_FLOW_CREATED);
	pr.tcp_flags = FIN | ACK;
	feed(tbl, &pr, UP, 60, t, LC_FLOW_EXISTING);
	pr = tcp_down(FIN | ACK);
	feed(tbl, &pr, DOWN, 60, t, LC_FLOW_EXISTING);
	assert_int_equal(f->state, LC_FLOW_STATE_CLOSING);
	check_timeout(tbl, f, t, SEC(10));

	pr = tcp_up(RST);
	f = feed(tbl, &pr, UP, 60, t, LC_FLOW_CREATED);
	check_timeout(tbl, f, t, SEC(10));

	f = udp_flow(tbl, 9999, t, LC_FLOW_CREATED);
	assert_int_equal(f->state, LC_FLOW_STATE_ACTIVE);
	check_timeout(tbl, f, t, SEC(180));

	pr = pkt(AF_INET, "10.0.0.1", 0, "192.0.2.1", 0, IPPROTO_ICMP, 0);
	pr.flags = LC_PARSE_F_ICMP_ID;
	pr.icmp_type = 8;
	pr.icmp_id = 77;
	f = feed(tbl, &pr, UP, 84, t, LC_FLOW_CREATED);
	assert_int_equal(f->state, LC_FLOW_STATE_ACTIVE);
	check_timeout(tbl, f, t, SEC(LC_FLOW_DEFAULT_ICMP_TIMEOUT));
	lc_flow_table_free(tbl);
}

static void
timeouts_configured(void **state)
{
	struct lc_flow_params p = params_default(64, true);
	struct lc_flow_table *tbl;
	struct lc_parse_result pr;
	struct lc_flow *f;

	(void)state;
	p.tcp_timeout = 100;
	p.tcp_closing_timeout = 2;
	p.tcp_syn_timeout = 5;
	p.udp_timeout = 7;
	p.icmp_timeout = 3;
	tbl = lc_flow_table_create(&p);
	assert_non_null(tbl);

	pr = tcp_up(SYN);
	f = feed(tbl, &pr, UP, 60, 0, LC_FLOW_CREATED);
	check_timeout(tbl, f, 0, SEC(5));
	pr = tcp_up(ACK);
	f = feed(tbl, &pr, UP, 60, 0, LC_FLOW_CREATED);
	check_timeout(tbl, f, 0, SEC(100));
	pr = tcp_up(RST);
	f = feed(tbl, &pr, UP, 60, 0, LC_FLOW_CREATED);
	check_timeout(tbl, f, 0, SEC(2));
	f = udp_flow(tbl, 1, 0, LC_FLOW_CREATED);
	check_timeout(tbl, f, 0, SEC(7));
	pr = pkt(AF_INET, "10.0.0.1", 0, "192.0.2.1", 0, IPPROTO_ICMP, 0);
	pr.flags = LC_PARSE_F_ICMP_ID;
	f = feed(tbl, &pr, UP, 84, 0, LC_FLOW_CREATED);
	check_timeout(tbl, f, 0, SEC(3));
	lc_flow_table_free(tbl);
}

static void
traffic_keeps_flow_alive(void **state)
{
	struct lc_flow_table *tbl = table_new(64, true);
	struct lc_parse_result pr = tcp_up(ACK);
	struct lc_flow *f;
	uint64_t t;

	(void)state;
	f = feed(tbl, &pr, UP, 60, 0, LC_FLOW_CREATED);
	/* A packet every hour for a day: never idle 7440 s. */
	for (t = SEC(3600); t <= SEC(86400); t += SEC(3600)) {
		assert_int_equal(age_all(tbl, t), 0);
		feed(tbl, &pr, UP, 60, t, LC_FLOW_EXISTING);
	}
	/* The state change to closing shortens the life. */
	pr.tcp_flags = RST;
	feed(tbl, &pr, UP, 60, t, LC_FLOW_EXISTING);
	assert_int_equal(age_all(tbl, t + SEC(10)), 0);
	assert_int_equal(age_all(tbl, t + SEC(11)), 1);
	(void)f;
	/* A now a little before last_seen is not a huge idle time. */
	f = feed(tbl, &pr, UP, 60, SEC(500), LC_FLOW_CREATED);
	assert_int_equal(age_all(tbl, SEC(499)), 0);
	lc_flow_table_free(tbl);
}

struct expire_log {
	unsigned calls;
	uint32_t last_user;
	uint16_t last_client_port;
};

static void
on_expire(const struct lc_flow *flow, const struct lc_flow_key *key,
	  void *arg)
{
	struct expire_log *log = arg;

	log->calls++;
	log->last_user = flow->user_id;
	log->last_client_port = key->client_port;
}

static void
aging_budget_and_progress(void **state)
{
	struct lc_flow_params p = params_default(100, true);
	struct expire_log log = { 0 };
	struct lc_flow_counters c;
	struct lc_flow_table *tbl;
	unsigned i, calls, removed, total = 0, slots;
	uint32_t id;

	(void)state;
	p.expire = on_expire;
	p.expire_arg = &log;
	tbl = lc_flow_table_create(&p);
	assert_non_null(tbl);
	slots = lc_flow_table_slots(tbl);
	assert_int_equal(slots, 100);

	for (i = 0; i < 100; i++)
		udp_flow(tbl, (uint16_t)(1000 + i), 0, LC_FLOW_CREATED);
	/* A full table: every slot holds a flow, all idle too long. */
	for (calls = 0; total < 100; calls++) {
		removed = lc_flow_age(tbl, SEC(1000), 7);
		/* Budget respected: at most 7 slots examined, so at most 7
		 * removed, and exactly 7 while the table is full. */
		assert_true(removed <= 7);
		assert_int_equal(removed, calls < 14 ? 7 : 100 - 14 * 7);
		/* It continues where it stopped: the slots below the
		 * examined ones are free, the rest still hold flows. */
		for (id = 0; id < slots; id++)
			assert_int_equal(lc_flow_get(tbl, id) == NULL,
					 id < (calls + 1) * 7);
		total += removed;
	}
	assert_int_equal(calls, 15);
	assert_int_equal(log.calls, 100);
	counters(tbl, &c);
	assert_int_equal(c.expired, 100);
	assert_int_equal(c.active, 0);

	/* It wraps around: the cursor is at 105 % 100 = 5, so a flow in
	 * slot id is reached after (id - 5) mod 100 more slots, not
	 * before. */
	id = lc_flow_id(tbl, udp_flow(tbl, 7, 0, LC_FLOW_CREATED));
	lc_flow_set_user(lc_flow_get(tbl, id), 9);
	removed = 0;
	for (i = 0; i < 200 && removed == 0; i++)
		removed = lc_flow_age(tbl, SEC(1000), 1);
	assert_int_equal(removed, 1);
	assert_int_equal(i, (id + slots - 5) % slots + 1);
	assert_int_equal(log.last_user, 9);
	assert_int_equal(log.last_client_port, 7);

	/* A budget larger than the table examines each slot once. */
	for (i = 0; i < 10; i++)
		udp_flow(tbl, (uint16_t)(2000 + i), 0, LC_FLOW_CREATED);
	assert_int_equal(lc_flow_age(tbl, SEC(1000), 1000000), 10);
	assert_int_equal(lc_flow_age(tbl, SEC(1000), 0), 0);
	lc_flow_table_free(tbl);
}

static void
aging_keeps_live_flows(void **state)
{
	struct lc_flow_table *tbl = table_new(64, true);
	struct lc_flow_counters c;
	unsigned i, removed = 0;

	(void)state;
	/* Half the flows are stale UDP, half established TCP. */
	for (i = 0; i < 32; i++) {
		struct lc_parse_result pr = pkt(AF_INET, "10.2.0.1",
						(uint16_t)(3000 + i),
						"192.0.2.1", 443, IPPROTO_TCP,
						ACK);
		udp_flow(tbl, (uint16_t)(1000 + i), 0, LC_FLOW_CREATED);
		feed(tbl, &pr, UP, 60, 0, LC_FLOW_CREATED);
	}
	for (i = 0; i < 64; i++)
		removed += lc_flow_age(tbl, SEC(200), 1);
	assert_int_equal(removed, 32);
	counters(tbl, &c);
	assert_int_equal(c.active, 32);
	lc_flow_table_free(tbl);
}

/* ---- full table ---------------------------------------------------- */

static void
full_table(void **state)
{
	struct lc_flow_table *tbl = table_new(8, true);
	struct lc_flow_counters c;
	struct lc_parse_result pr;
	struct lc_flow *f[8];
	unsigned i;

	(void)state;
	assert_int_equal(lc_flow_table_slots(tbl), 8);
	for (i = 0; i < 8; i++)
		f[i] = udp_flow(tbl, (uint16_t)(100 + i), 0, LC_FLOW_CREATED);
	/* Inserts succeed up to the capacity, then fail cleanly, again and
	 * again, TCP too. */
	for (i = 0; i < 3; i++)
		udp_flow(tbl, 200, 0, LC_FLOW_TABLE_FULL);
	pr = tcp_up(SYN);
	feed(tbl, &pr, UP, 60, 0, LC_FLOW_TABLE_FULL);
	counters(tbl, &c);
	assert_int_equal(c.flow_table_full, 4);
	assert_int_equal(c.active, 8);
	assert_int_equal(c.created, 8);
	/* The flows already present still work. */
	for (i = 0; i < 8; i++)
		assert_ptr_equal(udp_flow(tbl, (uint16_t)(100 + i), 1,
					  LC_FLOW_EXISTING), f[i]);
	/* Room comes back when a flow leaves. */
	assert_int_equal(lc_flow_delete(tbl, f[3]), 0);
	udp_flow(tbl, 200, 2, LC_FLOW_CREATED);
	udp_flow(tbl, 201, 2, LC_FLOW_TABLE_FULL);
	assert_int_equal(age_all(tbl, SEC(1000)), 8);
	for (i = 0; i < 8; i++)
		udp_flow(tbl, (uint16_t)(300 + i), SEC(1000), LC_FLOW_CREATED);
	counters(tbl, &c);
	assert_int_equal(c.flow_table_full, 5);
	lc_flow_table_free(tbl);
}

/* ---- burst --------------------------------------------------------- */

static void
burst(void **state)
{
	enum { N = 100 };
	struct lc_flow_table *tbl = table_new(1024, false);
	static struct lc_parse_result prs[N];
	static struct lc_flow_key keys[N];
	const struct lc_parse_result *prp[N];
	const struct lc_flow_key *kp[N];
	uint32_t lens[N];
	struct lc_flow *flows[N];
	struct lc_flow_counters c;
	int status[N];
	unsigned i;

	(void)state;
	/* Packets 0..49 are ten flows seen five times each (a SYN, then
	 * ACKs); 50..89 are 40 new UDP flows; 90..99 mid-stream TCP, which
	 * permit_invalid_flow = no refuses. More than LC_FLOW_BURST_MAX, so
	 * it takes two hash calls, and repeats cross the boundary. */
	for (i = 0; i < N; i++) {
		if (i < 50)
			prs[i] = pkt(AF_INET, "10.3.0.1",
				     (uint16_t)(1000 + i % 10), "192.0.2.1",
				     443, IPPROTO_TCP, i < 10 ? SYN : ACK);
		else if (i < 90)
			prs[i] = pkt(AF_INET6, "2001:db8::5", (uint16_t)i,
				     "2001:db8::6", 53, IPPROTO_UDP, 0);
		else
			prs[i] = pkt(AF_INET, "10.3.0.2", (uint16_t)i,
				     "192.0.2.1", 443, IPPROTO_TCP, ACK);
		assert_true(lc_flow_key_from_parse(&prs[i], true, &keys[i]));
		kp[i] = &keys[i];
		prp[i] = &prs[i];
		lens[i] = 100 + i;
	}
	assert_int_equal(lc_flow_lookup_or_create_burst(tbl, kp, prp, lens, N,
							UP, SEC(1), flows,
							status),
			 90);
	for (i = 0; i < N; i++) {
		if (i < 10 || (i >= 50 && i < 90))
			assert_int_equal(status[i], LC_FLOW_CREATED);
		else if (i < 50)
			assert_int_equal(status[i], LC_FLOW_EXISTING);
		else
			assert_int_equal(status[i], LC_FLOW_INVALID);
		if (i < 50)
			assert_ptr_equal(flows[i], flows[i % 10]);
		if (i >= 90)
			assert_null(flows[i]);
	}
	for (i = 0; i < 10; i++) {
		assert_int_equal(flows[i]->packets[UP], 5);
		assert_int_equal(flows[i]->state, LC_FLOW_STATE_ESTABLISHED);
	}
	counters(tbl, &c);
	assert_int_equal(c.created, 50);
	assert_int_equal(c.active, 50);
	assert_int_equal(c.invalid_flow, 10);

	/* The same burst again finds everything in the bulk lookup. */
	assert_int_equal(lc_flow_lookup_or_create_burst(tbl, kp, prp, lens, 90,
							UP, SEC(2), flows,
							status),
			 90);
	for (i = 0; i < 90; i++)
		assert_int_equal(status[i], LC_FLOW_EXISTING);
	assert_int_equal(flows[50]->packets[UP], 2);
	assert_int_equal(flows[50]->bytes[UP], 2 * 150);
	lc_flow_table_free(tbl);
}

static void
burst_full_table(void **state)
{
	struct lc_flow_table *tbl = table_new(8, true);
	struct lc_parse_result prs[12];
	struct lc_flow_key keys[12];
	const struct lc_parse_result *prp[12];
	const struct lc_flow_key *kp[12];
	uint32_t lens[12];
	struct lc_flow *flows[12];
	struct lc_flow_counters c;
	int status[12];
	unsigned i;

	(void)state;
	for (i = 0; i < 12; i++) {
		prs[i] = pkt(AF_INET, "10.4.0.1", (uint16_t)(i + 1),
			     "192.0.2.1", 53, IPPROTO_UDP, 0);
		assert_true(lc_flow_key_from_parse(&prs[i], false, &keys[i]));
		kp[i] = &keys[i];
		prp[i] = &prs[i];
		lens[i] = 64;
	}
	assert_int_equal(lc_flow_lookup_or_create_burst(tbl, kp, prp, lens, 12,
							DOWN, 0, flows,
							status),
			 8);
	for (i = 0; i < 12; i++)
		assert_int_equal(status[i], i < 8 ? LC_FLOW_CREATED :
						    LC_FLOW_TABLE_FULL);
	assert_int_equal(flows[0]->packets[DOWN], 1);
	counters(tbl, &c);
	assert_int_equal(c.flow_table_full, 4);
	lc_flow_table_free(tbl);
}

/* ---- iteration ----------------------------------------------------- */

static void
iterate(void **state)
{
	struct lc_flow_table *tbl = table_new(64, true);
	struct lc_flow *seen[64], *out[5];
	uint32_t cursor = LC_FLOW_CURSOR_START;
	unsigned i, j, got, calls = 0, total = 0;

	(void)state;
	for (i = 0; i < 20; i++)
		udp_flow(tbl, (uint16_t)(500 + i), 0, LC_FLOW_CREATED);
	memset(seen, 0, sizeof(seen));
	while (cursor != LC_FLOW_CURSOR_END) {
		uint32_t before = cursor;

		got = lc_flow_iterate(tbl, &cursor, 7, out, 5);
		assert_true(got <= 5);
		/* At most budget slots examined per call. */
		assert_true(cursor == LC_FLOW_CURSOR_END ||
			    cursor - before <= 7);
		for (j = 0; j < got; j++) {
			uint32_t id = lc_flow_id(tbl, out[j]);

			assert_null(seen[id]);
			seen[id] = out[j];
			assert_non_null(lc_flow_key(tbl, out[j]));
		}
		total += got;
		calls++;
		assert_true(calls <= 64);
	}
	assert_int_equal(total, 20);
	assert_int_equal(lc_flow_iterate(tbl, &cursor, 7, out, 5), 0);
	assert_int_equal(cursor, LC_FLOW_CURSOR_END);

	/* Re-binding every flow of one client IP, as an IP-wide assignment
	 * does. */
	cursor = LC_FLOW_CURSOR_START;
	while (cursor != LC_FLOW_CURSOR_END) {
		got = lc_flow_iterate(tbl, &cursor, 16, out, 5);
		for (j = 0; j < got; j++) {
			const struct lc_flow_key *k = lc_flow_key(tbl, out[j]);

			if (k->client[15] == 1 && k->client[12] == 10)
				lc_flow_set_user(out[j], 5);
		}
	}
	for (i = 0; i < 20; i++)
		assert_int_equal(udp_flow(tbl, (uint16_t)(500 + i), 1,
					  LC_FLOW_EXISTING)->user_id, 5);

	/* An empty table is walked in slots / budget calls. */
	lc_flow_age(tbl, SEC(100000), 64);
	cursor = LC_FLOW_CURSOR_START;
	for (calls = 0; cursor != LC_FLOW_CURSOR_END; calls++)
		assert_int_equal(lc_flow_iterate(tbl, &cursor, 16, out, 5), 0);
	assert_int_equal(calls, 4);
	lc_flow_table_free(tbl);
}

/* ---- client index --------------------------------------------------- */

static void
client_index(void **state)
{
	struct lc_flow_params p = params_default(64, true);
	struct lc_flow *out[8], *a, *b, *c, *d, *other;
	struct lc_flow_table *tbl;
	struct lc_parse_result pr;
	struct lc_flow_counters cnt;
	uint8_t client[16];
	int i;

	(void)state;
	p.client_index = true;
	tbl = lc_flow_table_create(&p);
	assert_non_null(tbl);
	addr(AF_INET, "10.0.0.1", client);
	assert_int_equal(lc_flow_find_client(tbl, client, 40000, out, 8), 0);

	/* One client endpoint reaching two servers, over two VLANs, by TCP
	 * and UDP: four flows. Another port of the same client is not one
	 * of them, nor is an ICMP echo whose id equals the port. */
	pr = tcp_up(ACK);
	a = feed(tbl, &pr, UP, 60, 0, LC_FLOW_CREATED);
	pr = pkt(AF_INET, "192.0.2.2", 443, "10.0.0.1", 40000, IPPROTO_TCP,
		 ACK);
	b = feed(tbl, &pr, DOWN, 60, 0, LC_FLOW_CREATED);
	pr = tcp_up(ACK);
	vlans(&pr, 1, 5, 0);
	c = feed(tbl, &pr, UP, 60, 0, LC_FLOW_CREATED);
	pr = pkt(AF_INET, "10.0.0.1", 40000, "192.0.2.1", 443, IPPROTO_UDP, 0);
	d = feed(tbl, &pr, UP, 60, 0, LC_FLOW_CREATED);
	pr = pkt(AF_INET, "10.0.0.1", 40001, "192.0.2.1", 443, IPPROTO_TCP,
		 ACK);
	other = feed(tbl, &pr, UP, 60, 0, LC_FLOW_CREATED);
	pr = pkt(AF_INET, "10.0.0.1", 0, "192.0.2.1", 0, IPPROTO_ICMP, 0);
	pr.flags = LC_PARSE_F_ICMP_ID;
	pr.icmp_id = 40000;
	feed(tbl, &pr, UP, 60, 0, LC_FLOW_CREATED);

	assert_int_equal(lc_flow_find_client(tbl, client, 40000, out, 8), 4);
	for (i = 0; i < 4; i++)
		assert_true(out[i] == a || out[i] == b || out[i] == c ||
			    out[i] == d);
	assert_true(out[0] != out[1] && out[1] != out[2] && out[2] != out[3] &&
		    out[0] != out[3] && out[0] != out[2] && out[1] != out[3]);
	assert_int_equal(lc_flow_find_client(tbl, client, 40000, out, 2), 2);
	assert_int_equal(lc_flow_find_client(tbl, client, 40001, out, 8), 1);
	assert_ptr_equal(out[0], other);

	/* Removal from the middle, the head and the tail of the chain. */
	assert_int_equal(lc_flow_delete(tbl, b), 0);
	assert_int_equal(lc_flow_find_client(tbl, client, 40000, out, 8), 3);
	assert_int_equal(lc_flow_delete(tbl, d), 0);
	assert_int_equal(lc_flow_delete(tbl, a), 0);
	assert_int_equal(lc_flow_find_client(tbl, client, 40000, out, 8), 1);
	assert_ptr_equal(out[0], c);
	/* Aging unlinks too; the endpoint is then unknown. */
	assert_int_equal(lc_flow_age(tbl, SEC(10000), 64), 3);
	assert_int_equal(lc_flow_find_client(tbl, client, 40000, out, 8), 0);
	assert_int_equal(lc_flow_find_client(tbl, client, 40001, out, 8), 0);

	/* A full table keeps the index consistent: 64 flows of one
	 * endpoint (64 servers), then all expire. */
	for (i = 0; i < 64; i++) {
		char srv[32];

		snprintf(srv, sizeof(srv), "192.0.3.%d", i);
		pr = pkt(AF_INET, "10.0.0.1", 40000, srv, 443, IPPROTO_UDP, 0);
		feed(tbl, &pr, UP, 60, SEC(20000), LC_FLOW_CREATED);
	}
	feed(tbl, &pr, UP, 60, SEC(20000), LC_FLOW_EXISTING);
	pr.dport = 444;
	feed(tbl, &pr, UP, 60, SEC(20000), LC_FLOW_TABLE_FULL);
	assert_int_equal(lc_flow_find_client(tbl, client, 40000, out, 8), 8);
	assert_int_equal(lc_flow_age(tbl, SEC(30000), 64), 64);
	assert_int_equal(lc_flow_find_client(tbl, client, 40000, out, 8), 0);
	lc_flow_counters_get(tbl, &cnt);
	assert_int_equal(cnt.active, 0);
	lc_flow_table_free(tbl);

	/* Without the index the call says so. */
	tbl = table_new(64, true);
	assert_int_equal(lc_flow_find_client(tbl, client, 40000, out, 8),
			 -ENOTSUP);
	lc_flow_table_free(tbl);

	/* The longest name is accepted with the index, whose hash name is
	 * longer. */
	p = params_default(64, true);
	p.client_index = true;
	p.name = "eighteen_chars_abc";
	tbl = lc_flow_table_create(&p);
	assert_non_null(tbl);
	lc_flow_table_free(tbl);
}

/* ---- creation parameters and misc ---------------------------------- */

static void
create_params(void **state)
{
	struct lc_flow_params p = params_default(64, true);
	struct lc_flow_table *tbl, *dup;

	(void)state;
	assert_null(lc_flow_table_create(NULL));
	assert_int_equal(rte_errno, EINVAL);
	p.capacity = 4;
	assert_null(lc_flow_table_create(&p));
	assert_int_equal(rte_errno, EINVAL);
	p.capacity = 64;
	p.hz = 0;
	assert_null(lc_flow_table_create(&p));
	assert_int_equal(rte_errno, EINVAL);
	p.hz = HZ;
	p.name = "a_name_that_is_far_too_long_for_rte_hash";
	assert_null(lc_flow_table_create(&p));
	assert_int_equal(rte_errno, ENAMETOOLONG);
	p.name = NULL;
	assert_null(lc_flow_table_create(&p));
	p = params_default(64, true);
	p.hz = UINT64_MAX / 2;
	assert_null(lc_flow_table_create(&p));
	assert_int_equal(rte_errno, EINVAL);

	p = params_default(64, true);
	tbl = lc_flow_table_create(&p);
	assert_non_null(tbl);
	dup = lc_flow_table_create(&p);
	assert_null(dup);
	assert_int_equal(rte_errno, EEXIST);
	/* The hash's own memory is counted, not just the entries. */
	assert_true(lc_flow_table_memory(tbl) >
		    64 * (sizeof(struct lc_flow) + sizeof(struct lc_flow_key)));
	lc_flow_table_free(tbl);
	lc_flow_table_free(NULL);

	/* The name is free again after free. */
	tbl = lc_flow_table_create(&p);
	assert_non_null(tbl);
	lc_flow_table_free(tbl);
}

static void
state_names(void **state)
{
	(void)state;
	assert_string_equal(lc_flow_state_name(LC_FLOW_STATE_SYN_SENT),
			    "syn_sent");
	assert_string_equal(lc_flow_state_name(LC_FLOW_STATE_SYN_RECV),
			    "syn_recv");
	assert_string_equal(lc_flow_state_name(LC_FLOW_STATE_ESTABLISHED),
			    "established");
	assert_string_equal(lc_flow_state_name(LC_FLOW_STATE_FIN_WAIT),
			    "fin_wait");
	assert_string_equal(lc_flow_state_name(LC_FLOW_STATE_CLOSING),
			    "closing");
	assert_string_equal(lc_flow_state_name(LC_FLOW_STATE_CLOSED),
			    "closed");
	assert_string_equal(lc_flow_state_name(LC_FLOW_STATE_ACTIVE),
			    "active");
	assert_string_equal(lc_flow_state_name(LC_FLOW_STATE_MAX), "unknown");
	assert_int_equal(sizeof(struct lc_flow), 64);
	assert_int_equal(sizeof(struct lc_flow_key), 48);
}

/*
 * Keys are hashed at any alignment without undefined behaviour (UBSan runs
 * this test), to the value rte_hash_crc gives an aligned copy.
 */
static void
key_hash_any_alignment(void **state)
{
	uint64_t aligned[16];
	uint8_t raw[160];

	(void)state;
	assert_true(_Alignof(struct lc_flow_key) >= 8);
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 31 + 7);
	for (uint32_t len = 0; len <= 64; len++) {
		for (size_t off = 0; off < 8; off++) {
			memcpy(aligned, raw + off, len);
			assert_int_equal(lc_hash_crc(raw + off, len, 0x1234),
					 rte_hash_crc(aligned, len, 0x1234));
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_symmetry_v4),
		cmocka_unit_test(key_symmetry_v6_vlans),
		cmocka_unit_test(key_vlan_context),
		cmocka_unit_test(key_every_byte_written),
		cmocka_unit_test(key_hash_any_alignment),
		cmocka_unit_test(key_untracked),
		cmocka_unit_test(key_icmp_echo),
		cmocka_unit_test(both_directions_one_entry),
		cmocka_unit_test(same_tuple_two_vlans),
		cmocka_unit_test(lookup_get_key_delete),
		cmocka_unit_test(set_user),
		cmocka_unit_test(tcp_handshake_and_close),
		cmocka_unit_test(tcp_rst),
		cmocka_unit_test(tcp_partial_handshakes),
		cmocka_unit_test(permit_invalid_flow_no),
		cmocka_unit_test(permit_invalid_flow_yes),
		cmocka_unit_test(timeouts_default),
		cmocka_unit_test(timeouts_configured),
		cmocka_unit_test(traffic_keeps_flow_alive),
		cmocka_unit_test(aging_budget_and_progress),
		cmocka_unit_test(aging_keeps_live_flows),
		cmocka_unit_test(full_table),
		cmocka_unit_test(burst),
		cmocka_unit_test(burst_full_table),
		cmocka_unit_test(iterate),
		cmocka_unit_test(client_index),
		cmocka_unit_test(create_params),
		cmocka_unit_test(state_names),
	};

	return cmocka_run_group_tests_name("flow", tests, lc_test_eal_setup,
					   lc_test_eal_teardown);
}
