/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the frame parser. Every frame is parsed from a heap buffer
 * of exactly its length, so that AddressSanitizer reports any read past len,
 * and every result is parsed twice over different garbage, so that a field
 * left unwritten shows up as a difference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lc_frames.h"
#include "lc_parse.h"

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint32_t ip4_a = 0x0a000001; /* 10.0.0.1 */
static const uint32_t ip4_b = 0xc0000201; /* 192.0.2.1 */
static const uint8_t ip6_a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x0a };
static const uint8_t ip6_b[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x0b };

static uint8_t fb[LC_FRAME_MAX_LEN];
static struct lc_frame b;

#define ALL_MODES 3
static const enum lc_vlan_mode modes[ALL_MODES] = {
	LC_VLAN_MODE_UNTAG, LC_VLAN_MODE_VLAN, LC_VLAN_MODE_QINQ,
};

/*
 * Parses len bytes of frame, the start of a frame of wire bytes (len for a
 * whole frame), from an exactly-sized heap copy, twice, over results
 * pre-filled with different garbage, and checks that both results are
 * identical and consistent with the return value.
 */
static int
parse_exact(const uint8_t *frame, size_t len, uint32_t wire,
	    enum lc_vlan_mode mode, struct lc_parse_result *res)
{
	struct lc_parse_result other;
	uint8_t *copy = malloc(len != 0 ? len : 1);
	int r, r2;

	assert_non_null(copy);
	assert_true(len <= UINT16_MAX);
	memcpy(copy, frame, len);
	memset(res, 0xa5, sizeof(*res));
	memset(&other, 0x5a, sizeof(other));
	r = lc_parse_headers(copy, (uint16_t)len, wire, mode, res);
	r2 = lc_parse_headers(copy, (uint16_t)len, wire, mode, &other);
	free(copy);

	assert_int_equal(r, r2);
	assert_int_equal(res->reason, r);
	assert_memory_equal(res, &other, sizeof(*res));
	assert_true(r >= 0 && r < LC_PARSE_REASON_MAX);
	assert_true(res->n_vlans <= (unsigned int)mode);
	assert_true(res->n_inner_vlans <= LC_PARSE_MAX_VLANS);
	if (r == LC_PARSE_OK) {
		assert_true(res->ip_version == 4 || res->ip_version == 6);
		assert_true((size_t)res->l3_off + res->ip_len <= wire);
		if (res->l4_off != 0) {
			assert_true(res->l4_off > res->l3_off);
			assert_true(res->l4_off <= res->l3_off + res->ip_len);
		}
		if (res->flags & LC_PARSE_F_PORTS)
			assert_true(res->l4_proto == 6 || res->l4_proto == 17);
	} else {
		assert_int_equal(res->ip_version, 0);
		assert_int_equal(res->l4_off, 0);
		assert_int_equal(res->flags & ~(LC_PARSE_F_PPPOE |
						LC_PARSE_F_EOMPLS), 0);
	}
	return r;
}

static void
begin(void)
{
	lc_frame_init(&b, fb, sizeof(fb));
	lc_frame_eth(&b, mac_b, mac_a);
}

static size_t
finish(void)
{
	size_t n = lc_frame_finish(&b, LC_FRAME_MIN_LEN);

	assert_int_not_equal(n, 0);
	return n;
}

static int
parse(size_t n, enum lc_vlan_mode mode, struct lc_parse_result *res)
{
	return parse_exact(fb, n, (uint32_t)n, mode, res);
}

static void
assert_v4(const uint8_t a[16], uint32_t ip)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	assert_memory_equal(a, prefix, 12);
	assert_int_equal(a[12], (uint8_t)(ip >> 24));
	assert_int_equal(a[13], (uint8_t)(ip >> 16));
	assert_int_equal(a[14], (uint8_t)(ip >> 8));
	assert_int_equal(a[15], (uint8_t)ip);
}

static uint8_t
reason_of(const char *name)
{
	unsigned int r;

	for (r = 0; r < LC_PARSE_REASON_MAX; r++)
		if (strcmp(lc_parse_reason_name(r), name) == 0)
			return (uint8_t)r;
	fail_msg("no reason named %s", name);
	return 0;
}

/* ------------------------------------------------------------------ */

static void
test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(lc_parse_reason_name(LC_PARSE_OK), "ok");
	assert_string_equal(lc_parse_reason_name(LC_PARSE_NON_IP), "non_ip");
	assert_string_equal(lc_parse_reason_name(LC_PARSE_TRUNCATED),
			    "truncated");
	assert_string_equal(lc_parse_reason_name(LC_PARSE_BAD_HEADER),
			    "bad_header");
	assert_string_equal(lc_parse_reason_name(LC_PARSE_TOO_MANY_TAGS),
			    "too_many_tags");
	assert_string_equal(lc_parse_reason_name(LC_PARSE_UNSUPPORTED),
			    "unsupported");
	assert_string_equal(lc_parse_reason_name(LC_PARSE_REASON_MAX),
			    "unknown");
	assert_string_equal(lc_parse_reason_name((enum lc_parse_reason)-1),
			    "unknown");
}

static void
test_empty_and_short(void **state)
{
	struct lc_parse_result r;
	size_t n;

	(void)state;
	memset(&r, 0xff, sizeof(r));
	assert_int_equal(lc_parse_frame(NULL, 0, LC_VLAN_MODE_QINQ, &r),
			 LC_PARSE_TRUNCATED);
	assert_int_equal(r.n_vlans, 0);
	assert_int_equal(r.l3_off, 0);
	for (n = 0; n < 14; n++)
		assert_int_equal(parse(n, LC_VLAN_MODE_QINQ, &r),
				 LC_PARSE_TRUNCATED);
}

static void
test_ipv4_tcp_fields(void **state)
{
	struct lc_parse_result r;
	size_t n;

	(void)state;
	begin();
	lc_frame_ipv4(&b, ip4_a, ip4_b);
	lc_frame_tcp(&b, 40000, 443, 1, 2, 0x12, 0);
	lc_frame_fill(&b, 10, 1);
	n = finish();
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.ip_version, 4);
	assert_int_equal(r.l3_off, 14);
	assert_int_equal(r.l4_off, 34);
	assert_int_equal(r.ip_len, 20 + 20 + 10);
	assert_int_equal(r.l4_proto, 6);
	assert_int_equal(r.tcp_flags, 0x12);
	assert_int_equal(r.flags, LC_PARSE_F_PORTS);
	assert_int_equal(r.sport, 40000);
	assert_int_equal(r.dport, 443);
	assert_int_equal(r.n_vlans, 0);
	assert_int_equal(r.n_mpls, 0);
	assert_int_equal(r.icmp_id, 0);
	assert_int_equal(r.icmp_type, 0);
	assert_int_equal(r.n_ipv6_ext, 0);
	assert_v4(r.src, ip4_a);
	assert_v4(r.dst, ip4_b);
}

static void
test_ipv6_udp_fields(void **state)
{
	struct lc_parse_result r;
	size_t n;

	(void)state;
	begin();
	lc_frame_ipv6(&b, ip6_a, ip6_b);
	lc_frame_udp(&b, 5353, 53);
	lc_frame_fill(&b, 3, 1);
	n = finish();
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.ip_version, 6);
	assert_int_equal(r.l3_off, 14);
	assert_int_equal(r.l4_off, 54);
	assert_int_equal(r.ip_len, 40 + 8 + 3);
	assert_int_equal(r.l4_proto, 17);
	assert_int_equal(r.flags, LC_PARSE_F_PORTS);
	assert_int_equal(r.sport, 5353);
	assert_int_equal(r.dport, 53);
	assert_memory_equal(r.src, ip6_a, 16);
	assert_memory_equal(r.dst, ip6_b, 16);
}

/* Builds an IPv4 UDP frame under tags with the given TPIDs. */
static size_t
tagged(const uint16_t *tpid, unsigned int n_tags)
{
	unsigned int i;

	begin();
	for (i = 0; i < n_tags; i++)
		lc_frame_vlan(&b, tpid[i], (uint16_t)(10 + i));
	lc_frame_ipv4(&b, ip4_a, ip4_b);
	lc_frame_udp(&b, 1000, 2000);
	return finish();
}

static void
test_vlan_modes(void **state)
{
	static const uint16_t tpids[3] = { 0x8100, 0x88a8, 0x9100 };
	struct lc_parse_result r;
	uint16_t t[4];
	unsigned int tags, m, a, c;
	size_t n;

	(void)state;
	/* Every TPID in every position, every depth, every mode. */
	for (tags = 0; tags <= 3; tags++) {
		for (a = 0; a < 3; a++) {
			for (c = 0; c < 3; c++) {
				t[0] = tpids[a];
				t[1] = tpids[c];
				t[2] = tpids[(a + c) % 3];
				n = tagged(t, tags);
				for (m = 0; m < ALL_MODES; m++) {
					int x = parse(n, modes[m], &r);

					if (tags <= m) {
						assert_int_equal(x, LC_PARSE_OK);
						assert_int_equal(r.n_vlans, tags);
						assert_int_equal(r.l3_off,
								 14 + 4 * tags);
					} else {
						assert_int_equal(x,
						    LC_PARSE_TOO_MANY_TAGS);
						/* Tags up to the bound. */
						assert_int_equal(r.n_vlans, m);
						assert_int_equal(r.l3_off, 0);
					}
					if (r.n_vlans > 0)
						assert_int_equal(r.vlan[0], 10);
					if (r.n_vlans > 1)
						assert_int_equal(r.vlan[1], 11);
				}
			}
		}
	}
	/* An out-of-range mode is read as qinq. */
	t[0] = 0x88a8;
	t[1] = 0x8100;
	n = tagged(t, 2);
	assert_int_equal(lc_parse_frame(fb, (uint16_t)n, (enum lc_vlan_mode)7,
					&r), LC_PARSE_OK);
	n = tagged(t, 3);
	assert_int_equal(lc_parse_frame(fb, (uint16_t)n, (enum lc_vlan_mode)7,
					&r), LC_PARSE_TOO_MANY_TAGS);
}

static void
test_vlan_ids(void **state)
{
	struct lc_parse_result r;
	size_t n;

	(void)state;
	begin();
	lc_frame_vlan(&b, 0x88a8, 4094);
	lc_frame_vlan(&b, 0x8100, 1);
	lc_frame_ipv6(&b, ip6_a, ip6_b);
	lc_frame_tcp(&b, 1, 2, 0, 0, 0x10, 0);
	n = finish();
	/* Priority and DEI bits are not part of the id. */
	fb[14] |= 0xf0;
	fb[18] |= 0xe0;
	assert_int_equal(parse(n, LC_VLAN_MODE_QINQ, &r), LC_PARSE_OK);
	assert_int_equal(r.n_vlans, 2);
	assert_int_equal(r.vlan[0], 4094);
	assert_int_equal(r.vlan[1], 1);
	assert_int_equal(r.l3_off, 22);
	/* A tag cut in half. */
	assert_int_equal(parse(16, LC_VLAN_MODE_QINQ, &r), LC_PARSE_TRUNCATED);
	assert_int_equal(r.n_vlans, 0);
	assert_int_equal(parse(20, LC_VLAN_MODE_QINQ, &r), LC_PARSE_TRUNCATED);
	assert_int_equal(r.n_vlans, 1);
	assert_int_equal(r.vlan[0], 4094);
}

static size_t
mpls_frame(unsigned int labels, int ip)
{
	unsigned int i;

	begin();
	for (i = 0; i < labels; i++)
		lc_frame_mpls(&b, 100 + i, 64);
	if (ip == 4)
		lc_frame_ipv4(&b, ip4_a, ip4_b);
	else
		lc_frame_ipv6(&b, ip6_a, ip6_b);
	lc_frame_tcp(&b, 1234, 80, 0, 0, 0x18, 0);
	return finish();
}

static void
test_mpls(void **state)
{
	struct lc_parse_result r;
	unsigned int labels, m;
	size_t n;

	(void)state;
	for (labels = 1; labels <= LC_PARSE_MAX_MPLS + 2; labels++) {
		n = mpls_frame(labels, labels % 2 ? 4 : 6);
		for (m = 0; m < ALL_MODES; m++) {
			int x = parse(n, modes[m], &r);

			if (labels <= LC_PARSE_MAX_MPLS) {
				assert_int_equal(x, LC_PARSE_OK);
				assert_int_equal(r.n_mpls, labels);
				assert_int_equal(r.l3_off, 14 + 4 * labels);
				assert_int_equal(r.ip_version,
						 labels % 2 ? 4 : 6);
				assert_int_equal(r.sport, 1234);
			} else {
				assert_int_equal(x, LC_PARSE_UNSUPPORTED);
				assert_int_equal(r.n_mpls, LC_PARSE_MAX_MPLS);
			}
		}
	}
	/* At least 8 labels. */
	assert_true(LC_PARSE_MAX_MPLS >= 8);

	/* Multicast MPLS EtherType. */
	n = mpls_frame(2, 4);
	fb[13] = 0x48;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);

	/* VLAN-tagged MPLS: the tag counts toward the mode. */
	begin();
	lc_frame_vlan(&b, 0x8100, 7);
	lc_frame_mpls(&b, 16, 64);
	lc_frame_ipv4(&b, ip4_a, ip4_b);
	lc_frame_udp(&b, 1, 2);
	n = finish();
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
			 LC_PARSE_TOO_MANY_TAGS);
	assert_int_equal(parse(n, LC_VLAN_MODE_VLAN, &r), LC_PARSE_OK);
	assert_int_equal(r.n_vlans, 1);
	assert_int_equal(r.n_mpls, 1);
	assert_int_equal(r.l3_off, 22);

	/* First nibbles other than 0, 4 and 6 after the stack. */
	for (m = 1; m < 16; m++) {
		if (m == 4 || m == 6)
			continue;
		n = mpls_frame(1, 4);
		fb[18] = (uint8_t)(m << 4 | 5);
		assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
				 LC_PARSE_UNSUPPORTED);
		assert_int_equal(r.n_mpls, 1);
	}
	/* The nibble picks IPv4 but the header says otherwise. */
	n = mpls_frame(1, 4);
	fb[18] = 0x43;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
			 LC_PARSE_BAD_HEADER);
	/* A stack that never reaches bottom of stack. */
	n = mpls_frame(3, 4);
	fb[14 + 4 * 2 + 2] &= (uint8_t)~1;
	assert_int_equal(parse(14 + 12, LC_VLAN_MODE_UNTAG, &r),
			 LC_PARSE_TRUNCATED);
	assert_int_equal(parse(14 + 8, LC_VLAN_MODE_UNTAG, &r),
			 LC_PARSE_TRUNCATED);
	assert_int_equal(r.n_mpls, 2);
}

static size_t
eompls_frame(unsigned int outer_tags, unsigned int inner_tags, bool pppoe,
	     int ip)
{
	unsigned int i;

	begin();
	for (i = 0; i < outer_tags; i++)
		lc_frame_vlan(&b, i == 0 && outer_tags > 1 ? 0x88a8 : 0x8100,
			      (uint16_t)(10 + i));
	lc_frame_mpls(&b, 1000, 64);
	lc_frame_mpls(&b, 2000, 64);
	lc_frame_pw_cw(&b, 0);
	lc_frame_eth(&b, mac_a, mac_b);
	for (i = 0; i < inner_tags; i++)
		lc_frame_vlan(&b, 0x8100, (uint16_t)(20 + i));
	if (pppoe)
		lc_frame_pppoe(&b, 7);
	if (ip == 4)
		lc_frame_ipv4(&b, ip4_a, ip4_b);
	else
		lc_frame_ipv6(&b, ip6_a, ip6_b);
	lc_frame_udp(&b, 4000, 53);
	return finish();
}

static void
test_eompls(void **state)
{
	struct lc_parse_result r;
	unsigned int outer, inner, m;
	size_t n;

	(void)state;
	n = eompls_frame(0, 0, false, 4);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_EOMPLS | LC_PARSE_F_PORTS);
	assert_int_equal(r.n_mpls, 2);
	assert_int_equal(r.l3_off, 14 + 8 + 4 + 14);
	assert_int_equal(r.dport, 53);
	assert_v4(r.src, ip4_a);

	/*
	 * vlan_mode bounds the tags of the frame's own Ethernet header; the
	 * inner frame's tags are bounded by LC_PARSE_MAX_VLANS in every mode.
	 */
	for (outer = 0; outer <= 2; outer++) {
		for (inner = 0; inner <= 3; inner++) {
			n = eompls_frame(outer, inner, false, 6);
			for (m = 0; m < ALL_MODES; m++) {
				int x = parse(n, modes[m], &r);

				if (outer > m) {
					assert_int_equal(x,
					    LC_PARSE_TOO_MANY_TAGS);
					continue;
				}
				assert_int_equal(r.n_vlans, outer);
				if (inner > LC_PARSE_MAX_VLANS) {
					assert_int_equal(x,
					    LC_PARSE_TOO_MANY_TAGS);
					assert_int_equal(r.n_inner_vlans,
							 LC_PARSE_MAX_VLANS);
					continue;
				}
				assert_int_equal(x, LC_PARSE_OK);
				assert_int_equal(r.n_inner_vlans, inner);
				if (inner > 0)
					assert_int_equal(r.inner_vlan[0], 20);
				if (inner > 1)
					assert_int_equal(r.inner_vlan[1], 21);
				if (outer > 0)
					assert_int_equal(r.vlan[0], 10);
				assert_int_equal(r.l3_off, 14 + 4 * outer + 8 +
						 4 + 14 + 4 * inner);
			}
		}
	}

	/* PPPoE inside EoMPLS. */
	n = eompls_frame(1, 1, true, 6);
	assert_int_equal(parse(n, LC_VLAN_MODE_VLAN, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_EOMPLS | LC_PARSE_F_PPPOE |
				  LC_PARSE_F_PORTS);
	assert_int_equal(r.ip_version, 6);
	assert_int_equal(r.l3_off, 18 + 8 + 4 + 18 + 8);

	/* Inner ARP is not IP. */
	begin();
	lc_frame_mpls(&b, 1000, 64);
	lc_frame_pw_cw(&b, 0);
	lc_frame_eth(&b, mac_a, mac_b);
	lc_frame_arp(&b, 1, mac_a, ip4_a, mac_b, ip4_b);
	n = finish();
	assert_int_equal(parse(n, LC_VLAN_MODE_QINQ, &r), LC_PARSE_NON_IP);
	assert_int_equal(r.flags, LC_PARSE_F_EOMPLS);
	assert_int_equal(r.n_mpls, 1);

	/* MPLS inside the pseudowire is not followed. */
	begin();
	lc_frame_mpls(&b, 1000, 64);
	lc_frame_pw_cw(&b, 0);
	lc_frame_eth(&b, mac_a, mac_b);
	lc_frame_mpls(&b, 3000, 64);
	lc_frame_ipv4(&b, ip4_a, ip4_b);
	lc_frame_udp(&b, 1, 2);
	n = finish();
	assert_int_equal(parse(n, LC_VLAN_MODE_QINQ, &r),
			 LC_PARSE_UNSUPPORTED);
	assert_int_equal(r.flags, LC_PARSE_F_EOMPLS);
}

/* PPPoE with the PPP protocol field in 2 bytes, or compressed to 1 (pfc). */
static size_t
pppoe_frame_ex(unsigned int tags, int ip, bool pfc)
{
	unsigned int i;

	begin();
	for (i = 0; i < tags; i++)
		lc_frame_vlan(&b, 0x8100, (uint16_t)(10 + i));
	if (pfc)
		lc_frame_pppoe_pfc(&b, 0x42);
	else
		lc_frame_pppoe(&b, 0x42);
	if (ip == 4)
		lc_frame_ipv4(&b, ip4_a, ip4_b);
	else
		lc_frame_ipv6(&b, ip6_a, ip6_b);
	lc_frame_tcp(&b, 50000, 443, 0, 0, 0x10, 0);
	lc_frame_fill(&b, 20, 3);
	return finish();
}

static size_t
pppoe_frame(unsigned int tags, int ip)
{
	return pppoe_frame_ex(tags, ip, false);
}

/* PPP with protocol-field compression: a one-byte protocol (RFC 1661). */
static size_t
pppoe_pfc_frame(unsigned int tags, int ip)
{
	return pppoe_frame_ex(tags, ip, true);
}

static void
test_pppoe_compressed_protocol(void **state)
{
	struct lc_parse_result r;
	size_t n;

	(void)state;
	n = pppoe_pfc_frame(0, 4);
	assert_int_equal(fb[14 + 6], 0x21);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_PPPOE | LC_PARSE_F_PORTS);
	assert_int_equal(r.ip_version, 4);
	assert_int_equal(r.l3_off, 21);
	assert_int_equal(r.sport, 50000);
	assert_int_equal(r.dport, 443);

	n = pppoe_pfc_frame(1, 6);
	assert_int_equal(fb[18 + 6], 0x57);
	assert_int_equal(parse(n, LC_VLAN_MODE_VLAN, &r), LC_PARSE_OK);
	assert_int_equal(r.ip_version, 6);
	assert_int_equal(r.l3_off, 25);
	assert_int_equal(r.sport, 50000);

	/* Cut anywhere before the end of the TCP header: never OK. */
	n = pppoe_pfc_frame(0, 4);
	for (size_t cut = 14; cut < 21 + 20 + 20; cut++)
		assert_int_not_equal(parse(cut, LC_VLAN_MODE_UNTAG, &r),
				     LC_PARSE_OK);
}

/* The first `have` bytes of fb, as the start of a frame of `wire` bytes. */
static int
parse_window(size_t have, uint32_t wire, enum lc_vlan_mode mode,
	     struct lc_parse_result *res)
{
	return parse_exact(fb, have, wire, mode, res);
}

/* Headers at hand in a window shorter than the frame (a chained mbuf). */
static void
test_headers_window(void **state)
{
	struct lc_parse_result r, whole;
	size_t n;

	(void)state;
	begin();
	lc_frame_vlan(&b, 0x8100, 7);
	lc_frame_pppoe(&b, 9);
	lc_frame_ipv4(&b, ip4_a, ip4_b);
	lc_frame_tcp(&b, 40000, 80, 1, 2, 0x18, 0);
	lc_frame_fill(&b, 8000, 5);
	n = finish();
	assert_true(n > 8000);
	assert_int_equal(lc_parse_frame(fb, (uint16_t)n, LC_VLAN_MODE_VLAN, &whole),
			 LC_PARSE_OK);

	/*
	 * The first segment of a chained frame, or the first bytes copied out
	 * of it: the same result as the whole frame.
	 */
	const size_t windows[] = { LC_PARSE_HDR_WINDOW, 1000, 2048 };
	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		assert_int_equal(parse_window(windows[i], (uint32_t)n,
					      LC_VLAN_MODE_VLAN, &r), LC_PARSE_OK);
		assert_memory_equal(&r, &whole, sizeof(r));
	}
	/* The frame shorter than its IP header says: cut. */
	assert_int_equal(parse_window(256, 4000, LC_VLAN_MODE_VLAN, &r),
			 LC_PARSE_TRUNCATED);
	/* A window that ends inside the TCP header: not read, not processed. */
	assert_int_equal(parse_window(18 + 8 + 20 + 10, (uint32_t)n,
				      LC_VLAN_MODE_VLAN, &r), LC_PARSE_UNSUPPORTED);
	/* A window that ends inside the IP header. */
	assert_int_equal(parse_window(18 + 8 + 10, (uint32_t)n, LC_VLAN_MODE_VLAN,
				      &r), LC_PARSE_UNSUPPORTED);
	/* A window longer than the frame is the frame. */
	assert_int_equal(lc_parse_headers(fb, (uint16_t)n, 60, LC_VLAN_MODE_VLAN, &r),
			 LC_PARSE_TRUNCATED);

	/* IPv6 extension headers past the window. */
	begin();
	lc_frame_ipv6(&b, ip6_a, ip6_b);
	for (int k = 0; k < 4; k++)
		lc_frame_ipv6_ext(&b, 60, 64);
	lc_frame_udp(&b, 53, 5353);
	lc_frame_fill(&b, 3000, 1);
	n = finish();
	assert_int_equal(lc_parse_frame(fb, (uint16_t)n, LC_VLAN_MODE_UNTAG, &r),
			 LC_PARSE_OK);
	assert_int_equal(parse_window(LC_PARSE_HDR_WINDOW, (uint32_t)n,
				      LC_VLAN_MODE_UNTAG, &r), LC_PARSE_UNSUPPORTED);
}

static void
test_pppoe(void **state)
{
	struct lc_parse_result r;
	size_t n, pp;

	(void)state;
	n = pppoe_frame(0, 4);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_PPPOE | LC_PARSE_F_PORTS);
	assert_int_equal(r.l3_off, 22);
	assert_int_equal(r.sport, 50000);

	n = pppoe_frame(2, 6);
	assert_int_equal(parse(n, LC_VLAN_MODE_QINQ, &r), LC_PARSE_OK);
	assert_int_equal(r.ip_version, 6);
	assert_int_equal(r.l3_off, 30);
	assert_int_equal(r.n_vlans, 2);

	pp = 14;
	/* Version/type and code. */
	n = pppoe_frame(0, 4);
	fb[pp] = 0x12;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	assert_int_equal(r.flags, LC_PARSE_F_PPPOE);
	n = pppoe_frame(0, 4);
	fb[pp + 1] = 0x09;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	/* PPPoE length: shorter than the PPP protocol, past the frame,
	 * shorter than the IP packet it carries. */
	n = pppoe_frame(0, 4);
	fb[pp + 4] = 0;
	fb[pp + 5] = 1;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	n = pppoe_frame(0, 4);
	fb[pp + 4] = 0x10;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_TRUNCATED);
	n = pppoe_frame(0, 4);
	fb[pp + 5] = (uint8_t)(fb[pp + 5] - 1);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	n = pppoe_frame(0, 4);
	fb[pp + 4] = 0;
	fb[pp + 5] = 2 + 10;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	/* PPP protocols: control, MPLS, compressed. */
	n = pppoe_frame(0, 4);
	fb[pp + 6] = 0xc0;
	fb[pp + 7] = 0x21;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_NON_IP);
	assert_int_equal(r.flags, LC_PARSE_F_PPPOE);
	fb[pp + 6] = 0x80;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_NON_IP);
	fb[pp + 6] = 0x02;
	fb[pp + 7] = 0x81;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
			 LC_PARSE_UNSUPPORTED);
	/* A compressed field that is no IP protocol (0x2b, IPX) is not IP. */
	n = pppoe_pfc_frame(0, 4);
	fb[pp + 6] = 0x2b;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_NON_IP);
	/* Compressed, with a PPPoE length too short for the one byte. */
	n = pppoe_pfc_frame(0, 4);
	fb[pp + 4] = 0;
	fb[pp + 5] = 0;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	/* Discovery is not IP. */
	n = pppoe_frame(1, 4);
	fb[16] = 0x88;
	fb[17] = 0x63;
	assert_int_equal(parse(n, LC_VLAN_MODE_VLAN, &r), LC_PARSE_NON_IP);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.n_vlans, 1);
	/* PPPoE header cut. */
	pppoe_frame(0, 4);
	for (n = 14; n < 22; n++)
		assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
				 LC_PARSE_TRUNCATED);
}

static size_t
v4_frame(const struct lc_frame_ipv4_params *p, int l4, size_t payload)
{
	begin();
	lc_frame_ipv4_ex(&b, ip4_a, ip4_b, p);
	if (l4 == 6)
		lc_frame_tcp(&b, 1111, 2222, 0, 0, 0x18, 0);
	else if (l4 == 17)
		lc_frame_udp(&b, 1111, 2222);
	else
		lc_frame_next(&b, (uint16_t)l4);
	lc_frame_fill(&b, payload, 9);
	return finish();
}

static void
test_ipv4_checks(void **state)
{
	struct lc_frame_ipv4_params p = { 0 };
	struct lc_parse_result r;
	unsigned int v, opt;
	size_t n;

	(void)state;
	for (v = 0; v < 16; v++) {
		if (v == 4)
			continue;
		n = v4_frame(NULL, 17, 10);
		fb[14] = (uint8_t)(v << 4 | 5);
		assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
				 LC_PARSE_BAD_HEADER);
		assert_int_equal(r.l3_off, 14);
		assert_int_equal(r.ip_version, 0);
	}
	for (v = 0; v < 5; v++) {
		n = v4_frame(NULL, 17, 10);
		fb[14] = (uint8_t)(0x40 | v);
		assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
				 LC_PARSE_BAD_HEADER);
	}
	/* Total length shorter than the header, longer than the frame. */
	n = v4_frame(NULL, 17, 10);
	fb[16] = 0;
	fb[17] = 19;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	n = v4_frame(NULL, 17, 100);
	fb[17] = (uint8_t)(fb[17] + 1);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_TRUNCATED);
	/* IHL past the total length. */
	n = v4_frame(NULL, 17, 10);
	fb[14] = 0x4f;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);

	/* Options: L4 starts after them. */
	for (opt = 4; opt <= 40; opt += 4) {
		p.options_len = (uint8_t)opt;
		n = v4_frame(&p, 6, 0);
		assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
		assert_int_equal(r.l4_off, 34 + opt);
		assert_int_equal(r.sport, 1111);
		assert_int_equal(r.ip_len, 20 + opt + 20);
	}

	/* Ethernet padding after a short packet is not part of it. */
	n = v4_frame(NULL, 17, 2);
	assert_int_equal(n, 60);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.ip_len, 30);
	/* ... and an L4 header is never read from the padding. */
	fb[17] = 24;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	fb[17] = 20;
	fb[23] = 6;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);

	/* Other protocols are IP only. */
	n = v4_frame(NULL, 47, 30);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.l4_proto, 47);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.l4_off, 34);
	assert_int_equal(r.sport, 0);
	/* ICMPv6's number under IPv4 is just another protocol. */
	n = v4_frame(NULL, 58, 30);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.icmp_type, 0);
}

static void
test_ipv4_fragments(void **state)
{
	struct lc_frame_ipv4_params p = { 0 };
	struct lc_parse_result r;
	size_t n;

	(void)state;
	/* First fragment: ports. */
	p.frag = 0x2000;
	n = v4_frame(&p, 17, 100);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_FRAGMENT | LC_PARSE_F_PORTS);
	assert_int_equal(r.sport, 1111);
	/* Later fragments, with and without MF: no ports. */
	p.frag = 0x2000 | 100;
	n = v4_frame(&p, 17, 100);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_FRAGMENT);
	assert_int_equal(r.l4_proto, 17);
	assert_int_equal(r.l4_off, 0);
	assert_int_equal(r.sport, 0);
	assert_int_equal(r.dport, 0);
	assert_v4(r.src, ip4_a);
	p.frag = 1;
	n = v4_frame(&p, 6, 8);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_FRAGMENT);
	assert_int_equal(r.l4_proto, 6);
	assert_int_equal(r.tcp_flags, 0);
	/* DF alone is not a fragment. */
	p.frag = 0x4000;
	n = v4_frame(&p, 6, 8);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_PORTS);
	/* A first fragment too short for its TCP header: IP only. */
	p.frag = 0x2000;
	n = v4_frame(&p, 6, 0);
	fb[17] = 20 + 8;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_FRAGMENT);
	assert_int_equal(r.l4_proto, 6);
	assert_int_equal(r.l4_off, 0);
	assert_int_equal(r.tcp_flags, 0);
	/* The same without MF is a bad packet. */
	fb[20] = 0;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
}

static size_t
v6_frame(const uint8_t *ext, unsigned int n_ext, const unsigned int *len,
	 int frag, int l4)
{
	unsigned int i;

	begin();
	lc_frame_ipv6(&b, ip6_a, ip6_b);
	for (i = 0; i < n_ext; i++)
		lc_frame_ipv6_ext(&b, ext[i], len[i]);
	if (frag)
		lc_frame_ipv6_frag(&b, frag == 2 ? 10 : 0, frag != 3, 77);
	if (frag == 2)
		lc_frame_next(&b, (uint16_t)l4);
	else if (l4 == 6)
		lc_frame_tcp(&b, 3333, 4444, 0, 0, 0x02, 8);
	else if (l4 == 17)
		lc_frame_udp(&b, 3333, 4444);
	else if (l4 == 58)
		lc_frame_icmp_echo(&b, false, 99, 1);
	else
		lc_frame_next(&b, (uint16_t)l4);
	lc_frame_fill(&b, 16, 5);
	return finish();
}

static void
test_ipv6_ext_headers(void **state)
{
	static const uint8_t chain[4] = { 0, 43, 51, 60 };
	static const unsigned int chain_len[4] = { 8, 24, 16, 8 };
	static const uint8_t many[12] = { 0, 60, 43, 60, 43, 60, 51, 60,
					  60, 60, 60, 60 };
	static const unsigned int many_len[12] = { 8, 8, 8, 16, 8, 8, 12, 8,
						   8, 8, 8, 8 };
	struct lc_parse_result r;
	unsigned int k;
	size_t n;

	(void)state;
	n = v6_frame(chain, 4, chain_len, 0, 6);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.n_ipv6_ext, 4);
	assert_int_equal(r.l4_off, 54 + 8 + 24 + 16 + 8);
	assert_int_equal(r.l4_proto, 6);
	assert_int_equal(r.tcp_flags, 0x02);
	assert_int_equal(r.sport, 3333);

	/* Up to the bound, and one past it. */
	for (k = 0; k <= LC_PARSE_MAX_IPV6_EXT + 1; k++) {
		n = v6_frame(many, k, many_len, 0, 17);
		if (k <= LC_PARSE_MAX_IPV6_EXT) {
			assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
					 LC_PARSE_OK);
			assert_int_equal(r.n_ipv6_ext, k);
			assert_int_equal(r.dport, 4444);
		} else {
			assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
					 LC_PARSE_UNSUPPORTED);
		}
	}
	/* Hop-by-hop anywhere but first. */
	n = v6_frame(chain + 1, 3, chain_len + 1, 0, 6);
	fb[54] = 0;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	/* An extension header that runs past the packet, and one cut by
	 * the end of the packet before its length byte. */
	n = v6_frame(chain, 4, chain_len, 0, 6);
	fb[54 + 8 + 1] = 100;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	n = v6_frame(chain, 1, chain_len, 0, 59);
	fb[18] = 0;
	fb[19] = 8 + 4;
	fb[54] = 60;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	/* Jumbogram. */
	n = v6_frame(chain, 1, chain_len, 0, 17);
	fb[18] = 0;
	fb[19] = 0;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
			 LC_PARSE_UNSUPPORTED);
	/* Zero payload without hop-by-hop: a header with nothing after it. */
	n = v6_frame(NULL, 0, NULL, 0, 59);
	fb[18] = 0;
	fb[19] = 0;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.ip_len, 40);
	assert_int_equal(r.l4_proto, 59);
	assert_int_equal(r.l4_off, 0);
	/* ESP: IP only. */
	n = v6_frame(chain, 1, chain_len, 0, 50);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.l4_proto, 50);
	assert_int_equal(r.l4_off, 62);
	assert_int_equal(r.flags, 0);
	/* Payload length past the frame. */
	n = v6_frame(NULL, 0, NULL, 0, 17);
	fb[19] = (uint8_t)(fb[19] + 1);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_TRUNCATED);
	/* Version. */
	n = v6_frame(NULL, 0, NULL, 0, 17);
	fb[14] = 0x40;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
}

static void
test_ipv6_fragments(void **state)
{
	static const uint8_t hbh[1] = { 0 };
	static const unsigned int hbh_len[1] = { 8 };
	struct lc_parse_result r;
	size_t n;

	(void)state;
	n = v6_frame(hbh, 1, hbh_len, 1, 17);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_FRAGMENT | LC_PARSE_F_PORTS);
	assert_int_equal(r.n_ipv6_ext, 2);
	assert_int_equal(r.l4_off, 54 + 8 + 8);
	assert_int_equal(r.sport, 3333);

	n = v6_frame(hbh, 1, hbh_len, 2, 6);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_FRAGMENT);
	assert_int_equal(r.l4_proto, 6);
	assert_int_equal(r.l4_off, 0);
	assert_int_equal(r.sport, 0);
	assert_memory_equal(r.dst, ip6_b, 16);

	/* Atomic fragment (offset 0, no M): the packet is whole. */
	n = v6_frame(NULL, 0, NULL, 3, 6);
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_PORTS);
	assert_int_equal(r.n_ipv6_ext, 1);

	/* First fragment cut before its UDP header ends: IP only. */
	n = v6_frame(NULL, 0, NULL, 1, 17);
	fb[18] = 0;
	fb[19] = 8 + 4;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_FRAGMENT);
	assert_int_equal(r.l4_off, 0);
}

static void
test_tcp(void **state)
{
	struct lc_parse_result r;
	unsigned int doff;
	size_t n;

	(void)state;
	for (doff = 0; doff < 16; doff++) {
		begin();
		lc_frame_ipv4(&b, ip4_a, ip4_b);
		lc_frame_tcp(&b, 1, 2, 0, 0, 0xff, 40);
		n = finish();
		fb[34 + 12] = (uint8_t)(doff << 4);
		if (doff < 5) {
			assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
					 LC_PARSE_BAD_HEADER);
		} else {
			assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
					 LC_PARSE_OK);
			assert_int_equal(r.tcp_flags, 0xff);
		}
	}
	/* Data offset past the packet. */
	begin();
	lc_frame_ipv4(&b, ip4_a, ip4_b);
	lc_frame_tcp(&b, 1, 2, 0, 0, 0x01, 36);
	n = finish();
	fb[34 + 12] = 0xf0;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	assert_int_equal(r.tcp_flags, 0);
	assert_int_equal(r.sport, 0);
	/* UDP cut by the IP total length. */
	begin();
	lc_frame_ipv4(&b, ip4_a, ip4_b);
	lc_frame_udp(&b, 1, 2);
	n = finish();
	fb[17] = 27;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
}

static void
test_icmp(void **state)
{
	struct lc_parse_result r;
	size_t n;

	(void)state;
	begin();
	lc_frame_ipv4(&b, ip4_a, ip4_b);
	lc_frame_icmp_echo(&b, false, 0xbeef, 1);
	n = finish();
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.l4_proto, 1);
	assert_int_equal(r.icmp_type, 8);
	assert_int_equal(r.icmp_id, 0xbeef);
	assert_int_equal(r.flags, LC_PARSE_F_ICMP_ID);
	assert_int_equal(r.sport, 0);
	assert_int_equal(r.l4_off, 34);

	begin();
	lc_frame_ipv4(&b, ip4_a, ip4_b);
	lc_frame_icmp_echo(&b, true, 0xbeef, 1);
	n = finish();
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.icmp_type, 0);
	assert_int_equal(r.flags, LC_PARSE_F_ICMP_ID);

	/* An error message: type only. */
	begin();
	lc_frame_ipv4(&b, ip4_a, ip4_b);
	lc_frame_icmp(&b, 3, 3, 0, 0);
	n = finish();
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.icmp_type, 3);
	assert_int_equal(r.icmp_id, 0);
	assert_int_equal(r.flags, 0);

	/* ICMPv6 echo request, reply, and neighbour solicitation. */
	begin();
	lc_frame_ipv6(&b, ip6_a, ip6_b);
	lc_frame_icmp_echo(&b, false, 0x1234, 1);
	n = finish();
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.l4_proto, 58);
	assert_int_equal(r.icmp_type, 128);
	assert_int_equal(r.icmp_id, 0x1234);
	assert_int_equal(r.flags, LC_PARSE_F_ICMP_ID);
	fb[54] = 129;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.flags, LC_PARSE_F_ICMP_ID);
	fb[54] = 135;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.icmp_type, 135);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.icmp_id, 0);

	/* ICMP (1) under IPv6 is just another protocol. */
	fb[20] = 1;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.icmp_type, 0);
	assert_int_equal(r.flags, 0);

	/* Echo cut by the IP total length; ICMP header cut. */
	begin();
	lc_frame_ipv4(&b, ip4_a, ip4_b);
	lc_frame_icmp_echo(&b, false, 1, 1);
	n = finish();
	fb[17] = 20 + 4;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	fb[17] = 20 + 3;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_BAD_HEADER);
	fb[34] = 3;
	fb[17] = 20 + 4;
	assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r), LC_PARSE_OK);
	assert_int_equal(r.icmp_type, 3);
}

static void
test_non_ip(void **state)
{
	static const uint16_t types[] = { 0x0806, 0x88cc, 0x8863, 0x88b5,
					  0x0026, 0x05ff, 0x8035, 0x88e7 };
	struct lc_parse_result r, zero;
	unsigned int i;
	size_t n;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	zero.reason = LC_PARSE_NON_IP;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		begin();
		lc_frame_next(&b, types[i]);
		lc_frame_fill(&b, 46, i);
		n = finish();
		assert_int_equal(parse(n, LC_VLAN_MODE_UNTAG, &r),
				 LC_PARSE_NON_IP);
		assert_memory_equal(&r, &zero, sizeof(r));
	}
}

static void
test_fail_clears_l3(void **state)
{
	struct lc_parse_result r;
	static const uint8_t zero[16];
	size_t n;

	(void)state;
	begin();
	lc_frame_vlan(&b, 0x8100, 5);
	lc_frame_ipv6(&b, ip6_a, ip6_b);
	lc_frame_tcp(&b, 1, 2, 0, 0, 0x10, 0);
	n = finish();
	fb[18 + 40 + 12] = 0x30;
	assert_int_equal(parse(n, LC_VLAN_MODE_VLAN, &r), LC_PARSE_BAD_HEADER);
	/* What was walked stays; nothing of L3/L4 does. */
	assert_int_equal(r.n_vlans, 1);
	assert_int_equal(r.vlan[0], 5);
	assert_int_equal(r.l3_off, 18);
	assert_int_equal(r.ip_version, 0);
	assert_int_equal(r.ip_len, 0);
	assert_int_equal(r.l4_proto, 0);
	assert_int_equal(r.sport, 0);
	assert_memory_equal(r.src, zero, 16);
	assert_memory_equal(r.dst, zero, 16);
}

/* ------------------------------------------------------------------ */
/* The shared catalogs: every encapsulation and every reason. */

static void
check_catalog_case(const struct lc_frames_case *c, uint32_t flow_n,
		   bool reply)
{
	struct lc_frames_flow f;
	struct lc_parse_result r;
	unsigned int m;
	size_t n;

	lc_frames_flow_init(&f, flow_n);
	if (reply)
		lc_frames_flow_reverse(&f, &f);
	n = c->build(fb, sizeof(fb), &f);
	assert_int_not_equal(n, 0);
	for (m = 0; m < ALL_MODES; m++) {
		int x = parse(n, modes[m], &r);

		if (x != reason_of(lc_frames_expect(c, m)))
			fail_msg("%s (%s, mode %u): %s, expected %s", c->name,
				 reply ? "server" : "client", m,
				 lc_parse_reason_name(x),
				 lc_frames_expect(c, m));
		if (x != LC_PARSE_OK)
			continue;
		if (r.ip_version == 4) {
			assert_v4(r.src, f.src4);
			assert_v4(r.dst, f.dst4);
		} else {
			assert_memory_equal(r.src, f.src6, 16);
			assert_memory_equal(r.dst, f.dst6, 16);
		}
		if (r.flags & LC_PARSE_F_PORTS) {
			assert_int_equal(r.sport, f.sport);
			assert_int_equal(r.dport, f.dport);
		}
		assert_int_equal(r.n_vlans, c->outer_tags);
	}
}

static void
test_catalogs(void **state)
{
	unsigned int i, round;

	(void)state;
	for (round = 0; round < 3; round++) {
		for (i = 0; i < lc_frames_mixed_count; i++) {
			check_catalog_case(&lc_frames_mixed[i], round * 100 + i,
					   false);
			check_catalog_case(&lc_frames_mixed[i], round * 100 + i,
					   true);
		}
		for (i = 0; i < lc_frames_encap_count; i++) {
			check_catalog_case(&lc_frames_encap[i], round * 100 + i,
					   false);
			check_catalog_case(&lc_frames_encap[i], round * 100 + i,
					   true);
		}
	}
}

/*
 * Every prefix of a frame: a good frame is truncated until its IP packet is
 * whole, and from then on gives the same result as the whole frame (only
 * Ethernet padding is missing). A frame built for another reason gives that
 * reason or truncated, never OK.
 */
static void
truncate_case(const struct lc_frames_case *c, bool reply)
{
	struct lc_parse_result full, r;
	struct lc_frames_flow f;
	unsigned int m;
	size_t n, k, ip_end;
	uint8_t want;

	lc_frames_flow_init(&f, 5);
	if (reply)
		lc_frames_flow_reverse(&f, &f);
	n = c->build(fb, sizeof(fb), &f);
	assert_int_not_equal(n, 0);
	for (m = 0; m < ALL_MODES; m++) {
		want = reason_of(lc_frames_expect(c, m));
		assert_int_equal(parse(n, modes[m], &full), want);
		ip_end = (size_t)full.l3_off + full.ip_len;
		for (k = 0; k < n; k++) {
			int x = parse(k, modes[m], &r);

			if (want != LC_PARSE_OK) {
				if (x != LC_PARSE_TRUNCATED && x != want)
					fail_msg("%s cut to %zu: %s", c->name,
						 k, lc_parse_reason_name(x));
				continue;
			}
			if (k < ip_end) {
				if (x != LC_PARSE_TRUNCATED)
					fail_msg("%s cut to %zu of %zu: %s",
						 c->name, k, ip_end,
						 lc_parse_reason_name(x));
			} else {
				assert_int_equal(x, LC_PARSE_OK);
				assert_memory_equal(&r, &full, sizeof(r));
			}
		}
	}
}

static void
test_truncation_every_length(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < lc_frames_encap_count; i++) {
		truncate_case(&lc_frames_encap[i], false);
		truncate_case(&lc_frames_encap[i], true);
	}
	for (i = 0; i < lc_frames_mixed_count; i++)
		truncate_case(&lc_frames_mixed[i], false);
}

/* The seq profile's frames are all good and carry their number. */
static void
test_seq_frames(void **state)
{
	struct lc_parse_result r;
	uint64_t seq;
	size_t n;
	unsigned int jumbo = 0;

	(void)state;
	for (seq = 0; seq < 3000; seq++) {
		n = lc_frames_seq(fb, sizeof(fb), seq, seq & 1, 42);
		assert_true(n >= 60 && n <= 9000);
		if (n == 9000)
			jumbo++;
		assert_int_equal(parse(n, LC_VLAN_MODE_QINQ, &r), LC_PARSE_OK);
		assert_true(r.flags & LC_PARSE_F_PORTS);
		assert_memory_equal(fb + r.l4_off + (r.l4_proto == 6 ? 20 : 8),
				    "LCSQ", 4);
	}
	assert_true(jumbo > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_empty_and_short),
		cmocka_unit_test(test_ipv4_tcp_fields),
		cmocka_unit_test(test_ipv6_udp_fields),
		cmocka_unit_test(test_vlan_modes),
		cmocka_unit_test(test_vlan_ids),
		cmocka_unit_test(test_mpls),
		cmocka_unit_test(test_eompls),
		cmocka_unit_test(test_pppoe),
		cmocka_unit_test(test_pppoe_compressed_protocol),
		cmocka_unit_test(test_headers_window),
		cmocka_unit_test(test_ipv4_checks),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_ext_headers),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_non_ip),
		cmocka_unit_test(test_fail_clears_l3),
		cmocka_unit_test(test_catalogs),
		cmocka_unit_test(test_truncation_every_length),
		cmocka_unit_test(test_seq_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
