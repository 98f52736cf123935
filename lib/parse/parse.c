/* SPDX-License-Identifier: MIT */
/*
 * Frame parser: Ethernet II, VLAN/QinQ tags, MPLS (with Ethernet over MPLS)
 * and PPPoE session, down to IPv4/IPv6 and TCP/UDP/ICMP.
 *
 * The walk is a straight line of small inline steps. Every step checks that
 * its header fits before it reads a byte, so nothing past len is ever read.
 * Two lengths are kept apart: len, the bytes the parser may read, and wire,
 * the frame's length, against which the lengths in IP and PPPoE headers are
 * checked. They differ only for a frame whose first bytes were handed over
 * alone (lc_parse_headers); a header that lies past len but inside the frame
 * is then LC_PARSE_UNSUPPORTED, never read.
 * Offsets and remaining lengths are kept in uint32_t so that no sum of a
 * 16-bit offset and a 16-bit length can wrap. The result is written in place;
 * the common path stores each field once and never copies more than the two
 * 16-byte addresses.
 */
#include <stdbool.h>
#include <string.h>

#include "lc_parse.h"

#define ETH_HLEN 14u
#define VLAN_HLEN 4u
#define MPLS_HLEN 4u
#define PW_CW_LEN 4u
#define PPPOE_HLEN 6u
#define PPP_PROTO_LEN 2u
#define PPP_PROTO_PFC_LEN 1u /* protocol-field compression, RFC 1661 6.5 */
#define IPV4_HLEN 20u
#define IPV6_HLEN 40u
#define TCP_HLEN 20u
#define UDP_HLEN 8u
#define ICMP_HLEN 4u
#define ICMP_ECHO_HLEN 8u
#define IPV6_EXT_MIN 8u

#define ET_IPV4 0x0800
#define ET_IPV6 0x86dd
#define ET_VLAN 0x8100
#define ET_QINQ 0x88a8
#define ET_QINQ_OLD 0x9100
#define ET_MPLS 0x8847
#define ET_MPLS_MC 0x8848
#define ET_PPPOE_DISC 0x8863
#define ET_PPPOE_SESS 0x8864

#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057
#define PPP_MPLS 0x0281
#define PPP_MPLS_MC 0x0283

/* IP protocol numbers, spelled out so the parser needs no system header. */
#define PROTO_HOPOPTS 0
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ROUTING 43
#define PROTO_FRAGMENT 44
#define PROTO_AH 51
#define PROTO_ICMPV6 58
#define PROTO_NONE 59
#define PROTO_DSTOPTS 60

#define IPV4_FRAG_MF 0x2000
#define IPV4_FRAG_OFF 0x1fff

#define LC_PARSE_L2_FLAGS (LC_PARSE_F_PPPOE | LC_PARSE_F_EOMPLS)

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Loads in network byte order, byte by byte: no alignment is assumed. */
static inline uint32_t
ld16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t
ld32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * A header of need bytes at off does not fit below limit. When it does not
 * fit in the frame either, the frame was cut; otherwise an enclosing length
 * (PPPoE) is smaller than the header it claims to carry.
 */
static inline int
short_reason(uint32_t len, uint32_t off, uint32_t need)
{
	return len - off < need ? LC_PARSE_TRUNCATED : LC_PARSE_BAD_HEADER;
}

static inline bool
is_tag(uint32_t et)
{
	return et == ET_VLAN || et == ET_QINQ || et == ET_QINQ_OLD;
}

static inline bool
is_icmp_echo(uint32_t icmp_proto, uint32_t type)
{
	if (icmp_proto == PROTO_ICMP)
		return type == 0 || type == 8;
	return type == 128 || type == 129;
}

/*
 * Walks a chain of VLAN tags starting with ethertype *etp at *offp. At most
 * max tags are accepted; the ids go to ids[], outer first.
 */
static inline int
walk_tags(const uint8_t *f, uint32_t len, uint32_t *offp, uint32_t *etp,
	  unsigned int max, uint16_t *ids, uint8_t *n)
{
	uint32_t off = *offp;
	uint32_t et = *etp;
	unsigned int k = 0;

	while (unlikely(is_tag(et))) {
		if (k == max) {
			*n = (uint8_t)k;
			return LC_PARSE_TOO_MANY_TAGS;
		}
		if (len - off < VLAN_HLEN) {
			*n = (uint8_t)k;
			return LC_PARSE_TRUNCATED;
		}
		ids[k++] = (uint16_t)(ld16(f + off) & 0x0fff);
		et = ld16(f + off + 2);
		off += VLAN_HLEN;
	}
	*n = (uint8_t)k;
	*offp = off;
	*etp = et;
	return LC_PARSE_OK;
}

/*
 * L4 header at off, inside an IP packet that ends at end. first_frag is set
 * for the first fragment of a fragmented packet: there, an L4 header cut by
 * the fragment boundary is not an error, the packet is simply IP-only.
 */
static inline int
parse_l4(const uint8_t *f, uint32_t off, uint32_t end, uint32_t cap,
	 uint32_t proto, uint32_t icmp_proto, bool first_frag,
	 struct lc_parse_result *res)
{
	const uint8_t *p = f + off;
	uint32_t room = end - off;
	/* What may be read: the packet, within the bytes handed over. */
	uint32_t readable = cap > off ? (end < cap ? end : cap) - off : 0;

	res->l4_proto = (uint8_t)proto;
	if (likely(proto == PROTO_TCP)) {
		uint32_t doff;

		if (unlikely(room < TCP_HLEN))
			goto cut;
		if (unlikely(readable < TCP_HLEN))
			return LC_PARSE_UNSUPPORTED;
		doff = (uint32_t)(p[12] >> 4) * 4;
		if (unlikely(doff < TCP_HLEN))
			return LC_PARSE_BAD_HEADER;
		if (unlikely(doff > room))
			goto cut;
		res->tcp_flags = p[13];
	} else if (likely(proto == PROTO_UDP)) {
		if (unlikely(room < UDP_HLEN))
			goto cut;
		if (unlikely(readable < UDP_HLEN))
			return LC_PARSE_UNSUPPORTED;
	} else if (proto == icmp_proto) {
		uint32_t type;

		if (unlikely(room < ICMP_HLEN))
			goto cut;
		if (unlikely(readable < ICMP_HLEN))
			return LC_PARSE_UNSUPPORTED;
		type = p[0];
		if (is_icmp_echo(icmp_proto, type)) {
			if (unlikely(room < ICMP_ECHO_HLEN))
				goto cut;
			if (unlikely(readable < ICMP_ECHO_HLEN))
				return LC_PARSE_UNSUPPORTED;
			res->icmp_id = (uint16_t)ld16(p + 4);
			res->flags |= LC_PARSE_F_ICMP_ID;
		}
		res->icmp_type = (uint8_t)type;
		res->l4_off = (uint16_t)off;
		return LC_PARSE_OK;
	} else {
		/* Any other protocol is processed as IP only. */
		res->l4_off = (uint16_t)off;
		return LC_PARSE_OK;
	}
	res->sport = (uint16_t)ld16(p);
	res->dport = (uint16_t)ld16(p + 2);
	res->flags |= LC_PARSE_F_PORTS;
	res->l4_off = (uint16_t)off;
	return LC_PARSE_OK;
cut:
	return first_frag ? LC_PARSE_OK : LC_PARSE_BAD_HEADER;
}

/*
 * IPv4 header at off; the packet must end by limit (PPPoE) and by wire. Its
 * header is read only inside len.
 */
static inline int
parse_ipv4(const uint8_t *f, uint32_t off, uint32_t len, uint32_t wire,
	   uint32_t limit, struct lc_parse_result *res)
{
	const uint8_t *ip = f + off;
	uint32_t room = limit - off;
	uint32_t ihl, tot, frag;

	res->l3_off = (uint16_t)off;
	if (unlikely(room < IPV4_HLEN))
		return short_reason(wire, off, IPV4_HLEN);
	if (unlikely(len - off < IPV4_HLEN))
		return LC_PARSE_UNSUPPORTED;
	if (unlikely((ip[0] >> 4) != 4))
		return LC_PARSE_BAD_HEADER;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	tot = ld16(ip + 2);
	if (unlikely(ihl < IPV4_HLEN || tot < ihl))
		return LC_PARSE_BAD_HEADER;
	if (unlikely(tot > room))
		return short_reason(wire, off, tot);

	res->ip_version = 4;
	res->ip_len = (uint16_t)tot;
	res->src[10] = 0xff;
	res->src[11] = 0xff;
	memcpy(res->src + 12, ip + 12, 4);
	res->dst[10] = 0xff;
	res->dst[11] = 0xff;
	memcpy(res->dst + 12, ip + 16, 4);

	/* Options (IHL > 5) are skipped whole: nothing in them matters here. */
	frag = ld16(ip + 6);
	if (unlikely(frag & (IPV4_FRAG_MF | IPV4_FRAG_OFF))) {
		res->flags |= LC_PARSE_F_FRAGMENT;
		if (frag & IPV4_FRAG_OFF) {
			/* A later fragment: no L4 header here. */
			res->l4_proto = ip[9];
			return LC_PARSE_OK;
		}
		return parse_l4(f, off + ihl, off + tot, len, ip[9],
				PROTO_ICMP, true, res);
	}
	return parse_l4(f, off + ihl, off + tot, len, ip[9], PROTO_ICMP,
			false, res);
}

/* IPv6 header at off, then its extension headers, then L4. */
static inline int
parse_ipv6(const uint8_t *f, uint32_t off, uint32_t len, uint32_t wire,
	   uint32_t limit, struct lc_parse_result *res)
{
	const uint8_t *ip = f + off;
	uint32_t room = limit - off;
	uint32_t tot, end, nh;
	bool first_frag = false;
	unsigned int n;

	res->l3_off = (uint16_t)off;
	if (unlikely(room < IPV6_HLEN))
		return short_reason(wire, off, IPV6_HLEN);
	if (unlikely(len - off < IPV6_HLEN))
		return LC_PARSE_UNSUPPORTED;
	if (unlikely((ip[0] >> 4) != 6))
		return LC_PARSE_BAD_HEADER;
	tot = IPV6_HLEN + ld16(ip + 4);
	if (unlikely(tot > room))
		return short_reason(wire, off, tot);
	nh = ip[6];
	/* A zero payload length with hop-by-hop options is a jumbogram. */
	if (unlikely(tot == IPV6_HLEN && nh == PROTO_HOPOPTS))
		return LC_PARSE_UNSUPPORTED;

	res->ip_version = 6;
	res->ip_len = (uint16_t)tot;
	memcpy(res->src, ip + 8, 16);
	memcpy(res->dst, ip + 24, 16);

	end = off + tot;
	off += IPV6_HLEN;
	for (n = 0;; n++) {
		const uint8_t *p = f + off;
		uint32_t hl;

		switch (nh) {
		case PROTO_HOPOPTS:
			/* RFC 8200: hop-by-hop options only right after IPv6. */
			if (n != 0)
				return LC_PARSE_BAD_HEADER;
			break;
		case PROTO_ROUTING:
		case PROTO_DSTOPTS:
		case PROTO_AH:
		case PROTO_FRAGMENT:
			break;
		case PROTO_NONE:
			res->n_ipv6_ext = (uint8_t)n;
			res->l4_proto = PROTO_NONE;
			return LC_PARSE_OK;
		default:
			res->n_ipv6_ext = (uint8_t)n;
			return parse_l4(f, off, end, len, nh, PROTO_ICMPV6,
					first_frag, res);
		}
		if (unlikely(n == LC_PARSE_MAX_IPV6_EXT))
			return LC_PARSE_UNSUPPORTED;
		if (unlikely(end - off < IPV6_EXT_MIN))
			return LC_PARSE_BAD_HEADER;
		if (unlikely(off >= len || len - off < IPV6_EXT_MIN))
			return LC_PARSE_UNSUPPORTED;
		if (nh == PROTO_FRAGMENT) {
			uint32_t fo = ld16(p + 2);

			nh = p[0];
			off += 8;
			if (fo & 0xfff8) {
				/* A later fragment: no L4 header here. */
				res->flags |= LC_PARSE_F_FRAGMENT;
				res->n_ipv6_ext = (uint8_t)(n + 1);
				res->l4_proto = (uint8_t)nh;
				return LC_PARSE_OK;
			}
			/* Offset 0 without M is an atomic fragment: whole. */
			if (fo & 1) {
				res->flags |= LC_PARSE_F_FRAGMENT;
				first_frag = true;
			}
			continue;
		}
		if (nh == PROTO_AH)
			hl = ((uint32_t)p[1] + 2) * 4;
		else
			hl = ((uint32_t)p[1] + 1) * 8;
		if (unlikely(end - off < hl))
			return LC_PARSE_BAD_HEADER;
		nh = p[0];
		off += hl;
	}
}

/*
 * PPPoE session header at off, then PPP, then IP. The PPP protocol field is
 * two bytes, or one when the peers negotiated protocol-field compression
 * (RFC 1661 6.5): a protocol's low byte is always odd and its high byte even,
 * so an odd first byte is a compressed field (0x21 IPv4, 0x57 IPv6).
 */
static inline int
parse_pppoe(const uint8_t *f, uint32_t off, uint32_t len, uint32_t wire,
	    struct lc_parse_result *res)
{
	const uint8_t *p = f + off;
	uint32_t room = len - off;
	uint32_t plen, proto, plen_min, limit;

	res->flags |= LC_PARSE_F_PPPOE;
	if (unlikely(room < PPPOE_HLEN + PPP_PROTO_PFC_LEN))
		return LC_PARSE_TRUNCATED;
	/* Version 1, type 1, code 0 (session data). */
	if (unlikely(p[0] != 0x11 || p[1] != 0x00))
		return LC_PARSE_BAD_HEADER;
	if (p[6] & 1) {
		proto = p[6];
		plen_min = PPP_PROTO_PFC_LEN;
	} else {
		if (unlikely(room < PPPOE_HLEN + PPP_PROTO_LEN))
			return LC_PARSE_TRUNCATED;
		proto = ld16(p + 6);
		plen_min = PPP_PROTO_LEN;
	}
	plen = ld16(p + 4);
	if (unlikely(plen < plen_min))
		return LC_PARSE_BAD_HEADER;
	if (unlikely(plen > wire - off - PPPOE_HLEN))
		return LC_PARSE_TRUNCATED;
	limit = off + PPPOE_HLEN + plen;
	off += PPPOE_HLEN + plen_min;
	if (likely(proto == PPP_IPV4))
		return parse_ipv4(f, off, len, wire, limit, res);
	if (proto == PPP_IPV6)
		return parse_ipv6(f, off, len, wire, limit, res);
	/*
	 * MPLS over PPP is data the parser does not follow; anything else is
	 * PPP control (LCP, IPCP, authentication) or another network protocol:
	 * not IP.
	 */
	if (proto == PPP_MPLS || proto == PPP_MPLS_MC)
		return LC_PARSE_UNSUPPORTED;
	return LC_PARSE_NON_IP;
}

/* Whatever follows the last tag of an Ethernet header, except MPLS. */
static inline int
parse_ethertype(const uint8_t *f, uint32_t off, uint32_t len, uint32_t wire,
		uint32_t et, struct lc_parse_result *res)
{
	if (likely(et == ET_IPV4))
		return parse_ipv4(f, off, len, wire, wire, res);
	if (et == ET_IPV6)
		return parse_ipv6(f, off, len, wire, wire, res);
	if (et == ET_PPPOE_SESS)
		return parse_pppoe(f, off, len, wire, res);
	/* ARP, LLDP, PPPoE discovery, 802.3 length field, anything else. */
	return LC_PARSE_NON_IP;
}

/*
 * Pseudowire control word and inner Ethernet frame. The inner frame's tags
 * are the customer's, not the wire's: vlan_mode does not apply to them, they
 * are bounded by LC_PARSE_MAX_VLANS and recorded apart (docs/PARSER.md).
 */
static inline int
parse_eompls(const uint8_t *f, uint32_t off, uint32_t len, uint32_t wire,
	     struct lc_parse_result *res)
{
	uint32_t et;
	int r;

	res->flags |= LC_PARSE_F_EOMPLS;
	if (unlikely(len - off < PW_CW_LEN + ETH_HLEN))
		return LC_PARSE_TRUNCATED;
	et = ld16(f + off + PW_CW_LEN + 12);
	off += PW_CW_LEN + ETH_HLEN;
	r = walk_tags(f, len, &off, &et, LC_PARSE_MAX_VLANS, res->inner_vlan,
		      &res->n_inner_vlans);
	if (unlikely(r != LC_PARSE_OK))
		return r;
	/* One level of pseudowire is enough; MPLS inside it is not followed. */
	if (unlikely(et == ET_MPLS || et == ET_MPLS_MC))
		return LC_PARSE_UNSUPPORTED;
	return parse_ethertype(f, off, len, wire, et, res);
}

/* MPLS label stack at off, then what the first nibble after it selects. */
static inline int
parse_mpls(const uint8_t *f, uint32_t off, uint32_t len, uint32_t wire,
	   struct lc_parse_result *res)
{
	unsigned int n = 0;

	for (;;) {
		uint32_t label;

		if (unlikely(n == LC_PARSE_MAX_MPLS))
			return LC_PARSE_UNSUPPORTED;
		if (unlikely(len - off < MPLS_HLEN))
			return LC_PARSE_TRUNCATED;
		label = ld32(f + off);
		off += MPLS_HLEN;
		res->n_mpls = (uint8_t)++n;
		if (label & 0x100) /* bottom of stack */
			break;
	}
	if (unlikely(off >= len))
		return LC_PARSE_TRUNCATED;
	switch (f[off] >> 4) {
	case 4:
		return parse_ipv4(f, off, len, wire, wire, res);
	case 6:
		return parse_ipv6(f, off, len, wire, wire, res);
	case 0:
		return parse_eompls(f, off, len, wire, res);
	default:
		/* G-ACh (1), Ethernet pseudowire without control word, ... */
		return LC_PARSE_UNSUPPORTED;
	}
}

/*
 * A frame that is not processed keeps its L2 description and loses every
 * L3/L4 field, so that a consumer can never act on half a result. This runs
 * only off the common path.
 */
static int
fail(struct lc_parse_result *res, int reason)
{
	res->reason = (uint8_t)reason;
	res->ip_version = 0;
	res->l4_proto = 0;
	res->tcp_flags = 0;
	res->flags &= LC_PARSE_L2_FLAGS;
	res->icmp_type = 0;
	res->l4_off = 0;
	res->sport = 0;
	res->dport = 0;
	res->icmp_id = 0;
	res->ip_len = 0;
	res->n_ipv6_ext = 0;
	memset(res->src, 0, sizeof(res->src));
	memset(res->dst, 0, sizeof(res->dst));
	return reason;
}

int
lc_parse_frame(const uint8_t *frame, uint16_t len, enum lc_vlan_mode mode,
	       struct lc_parse_result *res)
{
	return lc_parse_headers(frame, len, len, mode, res);
}

int
lc_parse_headers(const uint8_t *frame, uint16_t len16, uint32_t wire,
		 enum lc_vlan_mode mode, struct lc_parse_result *res)
{
	uint32_t len = len16;
	uint32_t off = ETH_HLEN;
	uint32_t et;
	unsigned int max_tags;
	int r;

	memset(res, 0, sizeof(*res));
	/* Bytes past the frame are never headers. */
	if (unlikely(wire < len))
		len = wire;
	if (unlikely(len < ETH_HLEN))
		return fail(res, LC_PARSE_TRUNCATED);

	/* An out-of-range mode is read as the most permissive one. */
	max_tags = (unsigned int)mode < LC_PARSE_MAX_VLANS ?
		   (unsigned int)mode : LC_PARSE_MAX_VLANS;
	et = ld16(frame + 12);
	r = walk_tags(frame, len, &off, &et, max_tags, res->vlan,
		      &res->n_vlans);
	if (unlikely(r != LC_PARSE_OK))
		return fail(res, r);

	if (unlikely(et == ET_MPLS || et == ET_MPLS_MC))
		r = parse_mpls(frame, off, len, wire, res);
	else
		r = parse_ethertype(frame, off, len, wire, et, res);
	if (likely(r == LC_PARSE_OK))
		return LC_PARSE_OK;
	return fail(res, r);
}

const char *
lc_parse_reason_name(enum lc_parse_reason reason)
{
	static const char *const names[LC_PARSE_REASON_MAX] = {
		[LC_PARSE_OK] = "ok",
		[LC_PARSE_NON_IP] = "non_ip",
		[LC_PARSE_TRUNCATED] = "truncated",
		[LC_PARSE_BAD_HEADER] = "bad_header",
		[LC_PARSE_TOO_MANY_TAGS] = "too_many_tags",
		[LC_PARSE_UNSUPPORTED] = "unsupported",
	};

	if ((unsigned int)reason >= LC_PARSE_REASON_MAX)
		return "unknown";
	return names[reason];
}

const char *
lc_vlan_mode_name(enum lc_vlan_mode mode)
{
	switch (mode) {
	case LC_VLAN_MODE_UNTAG:
		return "untag";
	case LC_VLAN_MODE_VLAN:
		return "vlan";
	case LC_VLAN_MODE_QINQ:
		return "qinq";
	}
	return NULL;
}
