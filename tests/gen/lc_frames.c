/* SPDX-License-Identifier: MIT */
/*
 * Frame builder and the frame catalogs of the pcap generator, the parser's
 * unit tests, the fuzz seeds and the benchmark. See lc_frames.h.
 */
#include <string.h>

#include "lc_frames.h"

enum {
	NEXT_NONE = 0,
	NEXT_ETHERTYPE, /* 2 bytes */
	NEXT_PPP,       /* 2 bytes */
	NEXT_PPP_PFC,   /* 1 byte: a compressed PPP protocol field */
	NEXT_IPPROTO,   /* 1 byte */
};

enum {
	FIX_IPV4 = 1, /* total length, header checksum */
	FIX_IPV6,     /* payload length */
	FIX_PPPOE,    /* length */
	FIX_UDP,      /* length, checksum */
	FIX_TCP,      /* checksum */
	FIX_ICMP4,    /* checksum */
	FIX_ICMP6,    /* checksum with pseudo-header */
};

#define NO_CSUM ((size_t)-1)

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

void
lc_frame_init(struct lc_frame *b, uint8_t *buf, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = cap;
}

/*
 * Writes the protocol number of the header being appended into the header
 * before it; which of the three numbers applies depends on that header.
 */
static void
set_proto(struct lc_frame *b, uint16_t ethertype, uint16_t ppp, uint8_t ipproto)
{
	if (b->error)
		return;
	switch (b->next_kind) {
	case NEXT_ETHERTYPE:
		put16(b->buf + b->next_pos, ethertype);
		break;
	case NEXT_PPP:
		put16(b->buf + b->next_pos, ppp);
		break;
	case NEXT_PPP_PFC:
		b->buf[b->next_pos] = (uint8_t)ppp;
		break;
	case NEXT_IPPROTO:
		b->buf[b->next_pos] = ipproto;
		break;
	default:
		break;
	}
	b->next_kind = NEXT_NONE;
}

/* Appends n zero bytes and returns them, or NULL once anything overflowed. */
static uint8_t *
grow(struct lc_frame *b, size_t n)
{
	uint8_t *p;

	if (b->error || b->cap - b->len < n) {
		b->error = true;
		return NULL;
	}
	p = b->buf + b->len;
	memset(p, 0, n);
	b->len += n;
	b->mpls_bos = 0;
	return p;
}

static void
expect_next(struct lc_frame *b, uint8_t kind, size_t pos)
{
	b->next_kind = kind;
	b->next_pos = pos;
}

static void
add_fix(struct lc_frame *b, uint8_t kind, size_t off, size_t ip_off)
{
	if (b->n_fix == LC_FRAME_MAX_FIX) {
		b->error = true;
		return;
	}
	b->fix[b->n_fix].kind = kind;
	b->fix[b->n_fix].off = off;
	b->fix[b->n_fix].ip_off = ip_off;
	b->n_fix++;
}

void
lc_frame_eth(struct lc_frame *b, const uint8_t dst[6], const uint8_t src[6])
{
	uint8_t *p;

	/* Transparent Ethernet bridging, bridged PPP, Ethernet in IP. */
	set_proto(b, 0x6558, 0x0031, 143);
	p = grow(b, 14);
	if (p == NULL)
		return;
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	b->l2_off = (size_t)(p - b->buf);
	expect_next(b, NEXT_ETHERTYPE, b->l2_off + 12);
}

void
lc_frame_vlan(struct lc_frame *b, uint16_t tpid, uint16_t vid)
{
	uint8_t *p;

	set_proto(b, tpid, 0, 0);
	p = grow(b, 4);
	if (p == NULL)
		return;
	put16(p, vid & 0x0fff);
	expect_next(b, NEXT_ETHERTYPE, (size_t)(p - b->buf) + 2);
}

void
lc_frame_mpls(struct lc_frame *b, uint32_t label, uint8_t ttl)
{
	size_t prev = b->mpls_bos;
	uint8_t *p;

	set_proto(b, 0x8847, 0x0281, 137);
	p = grow(b, 4);
	if (p == NULL)
		return;
	/* The label before this one is no longer the bottom of the stack. */
	if (prev != 0)
		b->buf[prev - 1] &= (uint8_t)~0x01;
	put32(p, (label & 0xfffff) << 12 | 0x100 | ttl);
	b->mpls_bos = (size_t)(p - b->buf) + 2 + 1;
}

void
lc_frame_pw_cw(struct lc_frame *b, uint16_t seq)
{
	uint8_t *p = grow(b, 4);

	if (p != NULL)
		put16(p + 2, seq);
}

/* PPPoE session header and a PPP protocol field of 2 bytes, or 1 (pfc). */
static void
pppoe(struct lc_frame *b, uint16_t session, bool pfc)
{
	uint8_t *p;

	set_proto(b, 0x8864, 0, 0);
	p = grow(b, pfc ? 7 : 8);
	if (p == NULL)
		return;
	p[0] = 0x11;
	p[1] = 0x00;
	put16(p + 2, session);
	add_fix(b, FIX_PPPOE, (size_t)(p - b->buf), 0);
	expect_next(b, pfc ? NEXT_PPP_PFC : NEXT_PPP, (size_t)(p - b->buf) + 6);
}

void
lc_frame_pppoe(struct lc_frame *b, uint16_t session)
{
	pppoe(b, session, false);
}

void
lc_frame_pppoe_pfc(struct lc_frame *b, uint16_t session)
{
	pppoe(b, session, true);
}

void
lc_frame_ipv4(struct lc_frame *b, uint32_t src, uint32_t dst)
{
	lc_frame_ipv4_ex(b, src, dst, NULL);
}

void
lc_frame_ipv4_ex(struct lc_frame *b, uint32_t src, uint32_t dst,
		 const struct lc_frame_ipv4_params *prm)
{
	struct lc_frame_ipv4_params def = { .id = 1 };
	unsigned int opt;
	uint8_t *p;

	if (prm == NULL)
		prm = &def;
	opt = prm->options_len;
	if (opt % 4 != 0 || opt > 40) {
		b->error = true;
		return;
	}
	set_proto(b, 0x0800, 0x0021, 4);
	p = grow(b, 20 + opt);
	if (p == NULL)
		return;
	p[0] = (uint8_t)(0x40 | (20 + opt) / 4);
	p[1] = prm->tos;
	put16(p + 4, prm->id);
	put16(p + 6, prm->frag);
	p[8] = prm->ttl != 0 ? prm->ttl : 64;
	put32(p + 12, src);
	put32(p + 16, dst);
	/* Options: NOPs closed by an end-of-list. */
	if (opt != 0)
		memset(p + 20, 0x01, opt - 1);
	b->l3_off = (size_t)(p - b->buf);
	b->ip_version = 4;
	b->ip_fragment = (prm->frag & 0x3fff) != 0;
	add_fix(b, FIX_IPV4, b->l3_off, 0);
	expect_next(b, NEXT_IPPROTO, b->l3_off + 9);
}

void
lc_frame_ipv6(struct lc_frame *b, const uint8_t src[16], const uint8_t dst[16])
{
	uint8_t *p;

	set_proto(b, 0x86dd, 0x0057, 41);
	p = grow(b, 40);
	if (p == NULL)
		return;
	p[0] = 0x60;
	p[7] = 64;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	b->l3_off = (size_t)(p - b->buf);
	b->ip_version = 6;
	b->ip_fragment = false;
	add_fix(b, FIX_IPV6, b->l3_off, 0);
	expect_next(b, NEXT_IPPROTO, b->l3_off + 6);
}

void
lc_frame_ipv6_ext(struct lc_frame *b, uint8_t type, unsigned int len)
{
	size_t off;
	uint8_t *p;

	if (type == 51 ? (len < 12 || len % 4 != 0 || len > 1028) :
			 (len < 8 || len % 8 != 0 || len > 2048)) {
		b->error = true;
		return;
	}
	set_proto(b, 0, 0, type);
	p = grow(b, len);
	if (p == NULL)
		return;
	off = (size_t)(p - b->buf);
	if (type == 51) {
		p[1] = (uint8_t)(len / 4 - 2);
		put32(p + 4, 0x100); /* SPI */
		put32(p + 8, 1);     /* sequence number */
	} else {
		p[1] = (uint8_t)(len / 8 - 1);
		if (type == 43) {
			p[2] = 253; /* routing type for experiments */
		} else {
			/* One PadN option covers the rest. */
			p[2] = 1;
			p[3] = (uint8_t)(len - 4);
		}
	}
	expect_next(b, NEXT_IPPROTO, off);
}

void
lc_frame_ipv6_frag(struct lc_frame *b, uint16_t offset8, bool more,
		   uint32_t id)
{
	uint8_t *p;

	set_proto(b, 0, 0, 44);
	p = grow(b, 8);
	if (p == NULL)
		return;
	put16(p + 2, (uint32_t)(offset8 & 0x1fff) << 3 | (more ? 1 : 0));
	put32(p + 4, id);
	if (offset8 != 0 || more)
		b->ip_fragment = true;
	expect_next(b, NEXT_IPPROTO, (size_t)(p - b->buf));
}

static size_t
csum_ip_off(const struct lc_frame *b)
{
	return b->ip_fragment ? NO_CSUM : b->l3_off;
}

void
lc_frame_tcp(struct lc_frame *b, uint16_t sport, uint16_t dport,
	     uint32_t seq, uint32_t ack, uint8_t flags, uint8_t options_len)
{
	uint8_t *p;

	if (options_len % 4 != 0 || options_len > 40) {
		b->error = true;
		return;
	}
	set_proto(b, 0, 0, 6);
	p = grow(b, 20u + options_len);
	if (p == NULL)
		return;
	put16(p, sport);
	put16(p + 2, dport);
	put32(p + 4, seq);
	put32(p + 8, ack);
	p[12] = (uint8_t)((20 + options_len) / 4 << 4);
	p[13] = flags;
	put16(p + 14, 65535);
	if (options_len != 0)
		memset(p + 20, 0x01, options_len - 1u);
	b->l4_off = (size_t)(p - b->buf);
	add_fix(b, FIX_TCP, b->l4_off, csum_ip_off(b));
}

void
lc_frame_udp(struct lc_frame *b, uint16_t sport, uint16_t dport)
{
	uint8_t *p;

	set_proto(b, 0, 0, 17);
	p = grow(b, 8);
	if (p == NULL)
		return;
	put16(p, sport);
	put16(p + 2, dport);
	b->l4_off = (size_t)(p - b->buf);
	add_fix(b, FIX_UDP, b->l4_off, csum_ip_off(b));
}

void
lc_frame_icmp(struct lc_frame *b, uint8_t type, uint8_t code, uint16_t id,
	      uint16_t seq)
{
	bool v6 = b->ip_version == 6;
	uint8_t *p;

	set_proto(b, 0, 0, v6 ? 58 : 1);
	p = grow(b, 8);
	if (p == NULL)
		return;
	p[0] = type;
	p[1] = code;
	put16(p + 4, id);
	put16(p + 6, seq);
	b->l4_off = (size_t)(p - b->buf);
	add_fix(b, v6 ? FIX_ICMP6 : FIX_ICMP4, b->l4_off, csum_ip_off(b));
}

void
lc_frame_icmp_echo(struct lc_frame *b, bool reply, uint16_t id, uint16_t seq)
{
	uint8_t type;

	if (b->ip_version == 6)
		type = reply ? 129 : 128;
	else
		type = reply ? 0 : 8;
	lc_frame_icmp(b, type, 0, id, seq);
}

void
lc_frame_arp(struct lc_frame *b, uint16_t op, const uint8_t sha[6],
	     uint32_t spa, const uint8_t tha[6], uint32_t tpa)
{
	uint8_t *p;

	set_proto(b, 0x0806, 0, 0);
	p = grow(b, 28);
	if (p == NULL)
		return;
	put16(p, 1);      /* Ethernet */
	put16(p + 2, 0x0800);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, op);
	memcpy(p + 8, sha, 6);
	put32(p + 14, spa);
	memcpy(p + 18, tha, 6);
	put32(p + 24, tpa);
}

void
lc_frame_lldp(struct lc_frame *b, const uint8_t chassis[6], uint16_t port)
{
	uint8_t *p;

	set_proto(b, 0x88cc, 0, 0);
	p = grow(b, 9 + 5 + 4 + 2);
	if (p == NULL)
		return;
	put16(p, 1 << 9 | 7);  /* chassis id, MAC address */
	p[2] = 4;
	memcpy(p + 3, chassis, 6);
	put16(p + 9, 2 << 9 | 3); /* port id, locally assigned */
	p[11] = 7;
	put16(p + 12, port);
	put16(p + 14, 3 << 9 | 2); /* TTL */
	put16(p + 16, 120);
	/* End of LLDPDU: the two zero bytes left by grow(). */
}

void
lc_frame_next(struct lc_frame *b, uint16_t value)
{
	set_proto(b, value, value, (uint8_t)value);
}

void
lc_frame_bytes(struct lc_frame *b, const void *data, size_t n)
{
	uint8_t *p = grow(b, n);

	if (p != NULL && n != 0)
		memcpy(p, data, n);
}

void
lc_frame_fill(struct lc_frame *b, size_t n, uint32_t seed)
{
	uint8_t *p = grow(b, n);
	uint32_t x = seed * 2654435761u + 0x9e3779b9u;
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

void
lc_frame_seq_tag(struct lc_frame *b, uint64_t seq, bool reply)
{
	uint8_t *p = grow(b, LC_FRAMES_SEQ_TAG_LEN);

	if (p == NULL)
		return;
	memcpy(p, "LCSQ", 4);
	p[4] = reply ? 'S' : 'C';
	put32(p + 8, (uint32_t)(seq >> 32));
	put32(p + 12, (uint32_t)seq);
}

static uint32_t
sum16(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* TCP/UDP/ICMPv6 checksum over the pseudo-header and the L4 bytes. */
static uint16_t
l4_csum(const struct lc_frame *b, size_t ip_off, size_t l4_off, size_t end,
	uint8_t proto)
{
	const uint8_t *ip = b->buf + ip_off;
	uint32_t l4len = (uint32_t)(end - l4_off);
	uint32_t s = 0;

	if ((ip[0] >> 4) == 4)
		s = sum16(ip + 12, 8, s);
	else
		s = sum16(ip + 8, 32, s);
	s += proto + (l4len & 0xffff) + (l4len >> 16);
	return fold(sum16(b->buf + l4_off, l4len, s));
}

size_t
lc_frame_finish(struct lc_frame *b, size_t min_len)
{
	size_t end = b->len;
	unsigned int i;

	if (b->error)
		return 0;
	/* Innermost first: a checksum must see the lengths inside it. */
	for (i = b->n_fix; i-- > 0;) {
		size_t off = b->fix[i].off;
		size_t ip_off = b->fix[i].ip_off;
		uint8_t *p = b->buf + off;
		uint16_t c;

		switch (b->fix[i].kind) {
		case FIX_IPV4:
			put16(p + 2, (uint32_t)(end - off));
			put16(p + 10, 0);
			put16(p + 10, fold(sum16(p, (size_t)(p[0] & 0x0f) * 4,
						 0)));
			break;
		case FIX_IPV6:
			put16(p + 4, (uint32_t)(end - off - 40));
			break;
		case FIX_PPPOE:
			put16(p + 4, (uint32_t)(end - off - 6));
			break;
		case FIX_UDP:
			put16(p + 4, (uint32_t)(end - off));
			if (ip_off != NO_CSUM) {
				c = l4_csum(b, ip_off, off, end, 17);
				put16(p + 6, c != 0 ? c : 0xffff);
			}
			break;
		case FIX_TCP:
			if (ip_off != NO_CSUM)
				put16(p + 16, l4_csum(b, ip_off, off, end, 6));
			break;
		case FIX_ICMP4:
			if (ip_off != NO_CSUM)
				put16(p + 2, fold(sum16(p, end - off, 0)));
			break;
		case FIX_ICMP6:
			if (ip_off != NO_CSUM)
				put16(p + 2, l4_csum(b, ip_off, off, end, 58));
			break;
		default:
			break;
		}
	}
	b->ip_end = end;
	if (b->len < min_len) {
		if (grow(b, min_len - b->len) == NULL)
			return 0;
	}
	return b->len;
}

/* ------------------------------------------------------------------ */
/* Flows. */

void
lc_frames_flow_init(struct lc_frames_flow *f, uint32_t n)
{
	static const uint8_t c6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0c };
	static const uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05 };

	memset(f, 0, sizeof(*f));
	f->n = n;
	f->src_mac[0] = 0x02;
	f->src_mac[2] = 0x0c;
	f->src_mac[3] = (uint8_t)(n >> 16);
	f->src_mac[4] = (uint8_t)(n >> 8);
	f->src_mac[5] = (uint8_t)n;
	f->dst_mac[0] = 0x02;
	f->dst_mac[2] = 0x05;
	f->dst_mac[5] = (uint8_t)(1 + n % 8);
	f->src4 = 0x0a000000u | ((n % 0xfffffeu) + 1);
	f->dst4 = 0xc0000201u + n % 8; /* 192.0.2.1 - 192.0.2.8 */
	memcpy(f->src6, c6, 16);
	put32(f->src6 + 12, n + 1);
	memcpy(f->dst6, s6, 16);
	f->dst6[15] = (uint8_t)(1 + n % 8);
	f->sport = (uint16_t)(32768 + n % 28000);
	f->dport = 443;
}

void
lc_frames_flow_reverse(const struct lc_frames_flow *in,
		       struct lc_frames_flow *out)
{
	struct lc_frames_flow t = *in;

	memcpy(t.src_mac, in->dst_mac, 6);
	memcpy(t.dst_mac, in->src_mac, 6);
	t.src4 = in->dst4;
	t.dst4 = in->src4;
	memcpy(t.src6, in->dst6, 16);
	memcpy(t.dst6, in->src6, 16);
	t.sport = in->dport;
	t.dport = in->sport;
	t.reply = !in->reply;
	*out = t;
}

/* ------------------------------------------------------------------ */
/* Frame shapes: the encapsulation stack of one frame, outer first. */

#define P_TCP 6
#define P_UDP 17
#define P_ICMP 1 /* echo request or reply, ICMPv6 under IPv6 */

struct shape {
	uint8_t tags;          /* outer VLAN tags */
	uint16_t tpid[4];      /* 0: 0x88a8 outermost of two or more, else 0x8100 */
	uint8_t mpls;          /* labels */
	bool eompls;           /* control word and inner Ethernet after MPLS */
	uint8_t inner_tags;
	bool pppoe;
	bool pfc;              /* PPP protocol field compressed to one byte */
	uint8_t ip;            /* 4 or 6 */
	uint8_t l4;            /* P_TCP, P_UDP, P_ICMP or a raw protocol */
	uint8_t v4_options;
	uint16_t v4_frag;      /* IPv4 flags and offset field */
	uint8_t n_ext;         /* IPv6 extension headers before L4 */
	uint8_t ext[12];
	uint8_t v6_frag;       /* 1: first fragment, 2: later fragment */
	uint16_t payload;      /* bytes after L4 */
	uint16_t size;         /* grow the payload until the frame is this long */
	uint8_t tcp_flags;     /* 0: ACK|PSH */
};

static uint16_t
tpid_of(const uint16_t *tpid, unsigned int i, unsigned int n)
{
	if (tpid[i] != 0)
		return tpid[i];
	return n >= 2 && i == 0 ? 0x88a8 : 0x8100;
}

/*
 * Builds shape s for flow f. With seq, the payload opens with the seq tag.
 * The payload pattern depends on the flow so that every frame is distinct.
 */
static size_t
shape_frame(struct lc_frame *b, uint8_t *buf, size_t cap,
	    const struct lc_frames_flow *f, const struct shape *s,
	    const uint64_t *seq)
{
	struct lc_frame_ipv4_params v4 = {
		.id = (uint16_t)(f->n * 7 + (f->reply ? 1 : 0)),
		.frag = s->v4_frag,
		.options_len = s->v4_options,
	};
	static const uint8_t inner_dst[6] = { 0x02, 0, 0x0e, 0, 0, 0x02 };
	static const uint8_t inner_src[6] = { 0x02, 0, 0x0e, 0, 0, 0x01 };
	unsigned int i;
	size_t payload;

	lc_frame_init(b, buf, cap);
	lc_frame_eth(b, f->dst_mac, f->src_mac);
	for (i = 0; i < s->tags; i++)
		lc_frame_vlan(b, tpid_of(s->tpid, i, s->tags),
			      (uint16_t)(i == 0 ? 100 + f->n % 8 : 200 + i));
	for (i = 0; i < s->mpls; i++)
		lc_frame_mpls(b, 16 + i * 100 + f->n % 4, 64);
	if (s->eompls) {
		lc_frame_pw_cw(b, (uint16_t)f->n);
		if (f->reply)
			lc_frame_eth(b, inner_src, inner_dst);
		else
			lc_frame_eth(b, inner_dst, inner_src);
		for (i = 0; i < s->inner_tags; i++)
			lc_frame_vlan(b, i == 0 && s->inner_tags > 1 ?
					 0x88a8 : 0x8100,
				      (uint16_t)(300 + i));
	}
	if (s->pppoe && s->pfc)
		lc_frame_pppoe_pfc(b, (uint16_t)(0x1000 + f->n % 64));
	else if (s->pppoe)
		lc_frame_pppoe(b, (uint16_t)(0x1000 + f->n % 64));
	if (s->ip == 4) {
		lc_frame_ipv4_ex(b, f->src4, f->dst4, &v4);
	} else {
		lc_frame_ipv6(b, f->src6, f->dst6);
		for (i = 0; i < s->n_ext; i++)
			lc_frame_ipv6_ext(b, s->ext[i], s->ext[i] == 51 ?
					  16 : 8 * (1 + i % 2));
		if (s->v6_frag)
			lc_frame_ipv6_frag(b, s->v6_frag == 2 ? 185 : 0,
					   true, f->n);
	}
	if ((s->ip == 4 && (s->v4_frag & 0x1fff)) || s->v6_frag == 2) {
		/* A later fragment carries no L4 header. */
		lc_frame_next(b, s->l4);
	} else if (s->l4 == P_TCP) {
		uint32_t tseq = seq != NULL ? (uint32_t)*seq * 1448u :
					      f->n * 1000u;

		lc_frame_tcp(b, f->sport, f->dport, tseq, f->n * 2000u,
			     s->tcp_flags ? s->tcp_flags : 0x18, 0);
	} else if (s->l4 == P_UDP) {
		lc_frame_udp(b, f->sport, f->dport);
	} else if (s->l4 == P_ICMP) {
		lc_frame_icmp_echo(b, f->reply, (uint16_t)(f->sport ^ f->dport),
				   (uint16_t)f->n);
	} else {
		lc_frame_next(b, s->l4);
	}
	if (seq != NULL)
		lc_frame_seq_tag(b, *seq, f->reply);
	payload = s->payload;
	if (s->size > b->len + payload)
		payload = s->size - b->len;
	lc_frame_fill(b, payload, f->n * 31 + (f->reply ? 17 : 0) + s->l4);
	return lc_frame_finish(b, LC_FRAME_MIN_LEN);
}

/* One catalog case per shape. */
#define SHAPE_CASE(fn, ...)                                               \
	static size_t fn(uint8_t *buf, size_t cap,                        \
			 const struct lc_frames_flow *f)                  \
	{                                                                 \
		static const struct shape s = { __VA_ARGS__ };            \
		struct lc_frame b;                                        \
		return shape_frame(&b, buf, cap, f, &s, NULL);            \
	}

/* OK: every encapsulation. */
SHAPE_CASE(c_ipv4_tcp_syn, .ip = 4, .l4 = P_TCP, .tcp_flags = 0x02)
SHAPE_CASE(c_ipv4_tcp, .ip = 4, .l4 = P_TCP, .payload = 200)
SHAPE_CASE(c_ipv4_udp, .ip = 4, .l4 = P_UDP, .payload = 120)
SHAPE_CASE(c_ipv4_icmp_echo, .ip = 4, .l4 = P_ICMP, .payload = 56)
SHAPE_CASE(c_ipv6_tcp, .ip = 6, .l4 = P_TCP, .payload = 300)
SHAPE_CASE(c_ipv6_udp, .ip = 6, .l4 = P_UDP, .payload = 80)
SHAPE_CASE(c_ipv6_icmp_echo, .ip = 6, .l4 = P_ICMP, .payload = 56)
SHAPE_CASE(c_vlan_ipv4_tcp, .tags = 1, .ip = 4, .l4 = P_TCP, .payload = 100)
SHAPE_CASE(c_vlan_ipv4_udp, .tags = 1, .ip = 4, .l4 = P_UDP, .payload = 100)
SHAPE_CASE(c_vlan88a8_ipv6_udp, .tags = 1, .tpid = { 0x88a8 }, .ip = 6,
	   .l4 = P_UDP, .payload = 64)
SHAPE_CASE(c_qinq_ipv4_udp, .tags = 2, .ip = 4, .l4 = P_UDP, .payload = 100)
SHAPE_CASE(c_qinq_ipv4_tcp, .tags = 2, .ip = 4, .l4 = P_TCP, .payload = 500)
SHAPE_CASE(c_qinq9100_ipv6_tcp, .tags = 2, .tpid = { 0x9100, 0x8100 },
	   .ip = 6, .l4 = P_TCP, .payload = 200)
SHAPE_CASE(c_mpls1_ipv4_udp, .mpls = 1, .ip = 4, .l4 = P_UDP, .payload = 100)
SHAPE_CASE(c_mpls2_ipv4_tcp, .mpls = 2, .ip = 4, .l4 = P_TCP, .payload = 100)
SHAPE_CASE(c_mpls3_ipv6_tcp, .mpls = 3, .ip = 6, .l4 = P_TCP, .payload = 100)
SHAPE_CASE(c_mpls8_ipv4_udp, .mpls = 8, .ip = 4, .l4 = P_UDP, .payload = 100)
SHAPE_CASE(c_mpls16_ipv6_udp, .mpls = 16, .ip = 6, .l4 = P_UDP, .payload = 40)
SHAPE_CASE(c_vlan_mpls2_ipv4_tcp, .tags = 1, .mpls = 2, .ip = 4, .l4 = P_TCP,
	   .payload = 100)
SHAPE_CASE(c_qinq_mpls1_ipv6_udp, .tags = 2, .mpls = 1, .ip = 6, .l4 = P_UDP,
	   .payload = 100)
SHAPE_CASE(c_eompls_ipv4_tcp, .mpls = 2, .eompls = true, .ip = 4,
	   .l4 = P_TCP, .payload = 100)
SHAPE_CASE(c_eompls_vlan_ipv6_udp, .mpls = 1, .eompls = true,
	   .inner_tags = 1, .ip = 6, .l4 = P_UDP, .payload = 100)
SHAPE_CASE(c_eompls_qinq_ipv4_tcp, .mpls = 2, .eompls = true,
	   .inner_tags = 2, .ip = 4, .l4 = P_TCP, .payload = 100)
SHAPE_CASE(c_pppoe_ipv4_tcp, .pppoe = true, .ip = 4, .l4 = P_TCP,
	   .payload = 100)
SHAPE_CASE(c_pppoe_ipv6_udp, .pppoe = true, .ip = 6, .l4 = P_UDP,
	   .payload = 100)
SHAPE_CASE(c_pppoe_pfc_ipv4_tcp, .pppoe = true, .pfc = true, .ip = 4,
	   .l4 = P_TCP, .payload = 100)
SHAPE_CASE(c_vlan_pppoe_pfc_ipv6_udp, .tags = 1, .pppoe = true, .pfc = true,
	   .ip = 6, .l4 = P_UDP, .payload = 100)
SHAPE_CASE(c_vlan_pppoe_ipv4_udp, .tags = 1, .pppoe = true, .ip = 4,
	   .l4 = P_UDP, .payload = 100)
SHAPE_CASE(c_qinq_pppoe_ipv6_tcp, .tags = 2, .pppoe = true, .ip = 6,
	   .l4 = P_TCP, .payload = 100)
SHAPE_CASE(c_eompls_pppoe_ipv4_tcp, .mpls = 2, .eompls = true, .pppoe = true,
	   .ip = 4, .l4 = P_TCP, .payload = 100)
SHAPE_CASE(c_vlan_mpls_eompls_vlan_pppoe_ipv4_udp, .tags = 1, .mpls = 3,
	   .eompls = true, .inner_tags = 1, .pppoe = true, .ip = 4,
	   .l4 = P_UDP, .payload = 100)
SHAPE_CASE(c_ipv4_options_tcp, .ip = 4, .v4_options = 12, .l4 = P_TCP,
	   .payload = 100)
SHAPE_CASE(c_ipv4_options40_udp, .ip = 4, .v4_options = 40, .l4 = P_UDP,
	   .payload = 100)
SHAPE_CASE(c_ipv4_frag_first_udp, .ip = 4, .v4_frag = 0x2000, .l4 = P_UDP,
	   .payload = 1000)
SHAPE_CASE(c_ipv4_frag_later_udp, .ip = 4, .v4_frag = 185, .l4 = P_UDP,
	   .payload = 500)
SHAPE_CASE(c_ipv4_df_tcp, .ip = 4, .v4_frag = 0x4000, .l4 = P_TCP,
	   .payload = 100)
SHAPE_CASE(c_ipv6_frag_first_tcp, .ip = 6, .v6_frag = 1, .l4 = P_TCP,
	   .payload = 1000)
SHAPE_CASE(c_ipv6_frag_later_tcp, .ip = 6, .v6_frag = 2, .l4 = P_TCP,
	   .payload = 500)
SHAPE_CASE(c_ipv6_hbh_rt_dst_tcp, .ip = 6, .n_ext = 3, .ext = { 0, 43, 60 },
	   .l4 = P_TCP, .payload = 100)
SHAPE_CASE(c_ipv6_ah_udp, .ip = 6, .n_ext = 1, .ext = { 51 }, .l4 = P_UDP,
	   .payload = 100)
SHAPE_CASE(c_ipv6_8ext_tcp, .ip = 6, .n_ext = 7,
	   .ext = { 0, 60, 43, 60, 43, 51, 60 }, .v6_frag = 1, .l4 = P_TCP,
	   .payload = 100)
SHAPE_CASE(c_ipv4_gre, .ip = 4, .l4 = 47, .payload = 100)
SHAPE_CASE(c_ipv6_esp, .ip = 6, .l4 = 50, .payload = 100)
SHAPE_CASE(c_ipv6_no_next, .ip = 6, .l4 = 59)
SHAPE_CASE(c_ipv4_udp_runt, .ip = 4, .l4 = P_UDP, .payload = 4)
SHAPE_CASE(c_ipv4_tcp_jumbo, .ip = 4, .l4 = P_TCP, .size = 9000)
SHAPE_CASE(c_ipv6_udp_jumbo, .tags = 2, .ip = 6, .l4 = P_UDP, .size = 9000)

/* too_many_tags */
SHAPE_CASE(c_3tags_ipv4_tcp, .tags = 3, .ip = 4, .l4 = P_TCP, .payload = 100)
SHAPE_CASE(c_3tags_9100_ipv6_udp, .tags = 3,
	   .tpid = { 0x9100, 0x9100, 0x8100 }, .ip = 6, .l4 = P_UDP,
	   .payload = 100)
SHAPE_CASE(c_eompls_3inner_tags, .mpls = 1, .eompls = true, .inner_tags = 3,
	   .ip = 4, .l4 = P_UDP, .payload = 100)

/* unsupported */
SHAPE_CASE(c_mpls17_ipv4_udp, .mpls = 17, .ip = 4, .l4 = P_UDP,
	   .payload = 100)
SHAPE_CASE(c_ipv6_9ext_udp, .ip = 6, .n_ext = 9,
	   .ext = { 60, 60, 60, 60, 60, 60, 60, 60, 60 }, .l4 = P_UDP,
	   .payload = 100)

/* Shapes cut or corrupted after they are built. */
static const struct shape s_v4_tcp = { .ip = 4, .l4 = P_TCP, .payload = 100 };
static const struct shape s_v4_udp = { .ip = 4, .l4 = P_UDP, .payload = 100 };
static const struct shape s_v6_tcp = { .ip = 6, .l4 = P_TCP, .payload = 100 };

static size_t
cut(size_t len, size_t to)
{
	return len < to ? 0 : to;
}

static size_t
c_trunc_ipv4_tcp(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	struct lc_frame b;

	return cut(shape_frame(&b, buf, cap, f, &s_v4_tcp, NULL), 60);
}

static size_t
c_trunc_ipv6_udp(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	static const struct shape s = { .ip = 6, .l4 = P_UDP, .payload = 100 };
	struct lc_frame b;

	return cut(shape_frame(&b, buf, cap, f, &s, NULL), 70);
}

static size_t
c_trunc_mpls_stack(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	static const struct shape s = { .mpls = 16, .ip = 4, .l4 = P_UDP };
	struct lc_frame b;

	/* The frame ends after 12 labels, none of them bottom of stack. */
	return cut(shape_frame(&b, buf, cap, f, &s, NULL), 14 + 12 * 4);
}

static size_t
c_trunc_pppoe(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	static const struct shape s = { .pppoe = true, .ip = 4, .l4 = P_UDP,
					.payload = 200 };
	struct lc_frame b;

	return cut(shape_frame(&b, buf, cap, f, &s, NULL), 90);
}

static size_t
c_trunc_eompls(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	static const struct shape s = { .mpls = 2, .eompls = true, .ip = 4,
					.l4 = P_TCP, .payload = 200 };
	struct lc_frame b;

	return cut(shape_frame(&b, buf, cap, f, &s, NULL), 100);
}

static size_t
c_bad_ipv4_version(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	struct lc_frame b;
	size_t n = shape_frame(&b, buf, cap, f, &s_v4_udp, NULL);

	if (n != 0)
		buf[b.l3_off] = 0x55;
	return n;
}

static size_t
c_bad_ipv4_ihl(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	struct lc_frame b;
	size_t n = shape_frame(&b, buf, cap, f, &s_v4_udp, NULL);

	if (n != 0)
		buf[b.l3_off] = 0x44;
	return n;
}

static size_t
c_bad_ipv4_total_length(uint8_t *buf, size_t cap,
			const struct lc_frames_flow *f)
{
	struct lc_frame b;
	size_t n = shape_frame(&b, buf, cap, f, &s_v4_udp, NULL);

	if (n != 0)
		put16(buf + b.l3_off + 2, 19);
	return n;
}

static size_t
c_bad_tcp_data_offset(uint8_t *buf, size_t cap,
		      const struct lc_frames_flow *f)
{
	struct lc_frame b;
	size_t n = shape_frame(&b, buf, cap, f, &s_v4_tcp, NULL);

	if (n != 0)
		buf[b.l4_off + 12] = 0x40;
	return n;
}

static size_t
c_bad_tcp_options_overrun(uint8_t *buf, size_t cap,
			  const struct lc_frames_flow *f)
{
	static const struct shape s = { .ip = 6, .l4 = P_TCP };
	struct lc_frame b;
	size_t n = shape_frame(&b, buf, cap, f, &s, NULL);

	/* 60 bytes of TCP header claimed, 20 present in the IP packet. */
	if (n != 0)
		buf[b.l4_off + 12] = 0xf0;
	return n;
}

static size_t
c_bad_ipv6_version(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	struct lc_frame b;
	size_t n = shape_frame(&b, buf, cap, f, &s_v6_tcp, NULL);

	if (n != 0)
		buf[b.l3_off] = 0x40;
	return n;
}

static size_t
c_bad_pppoe_version(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	static const struct shape s = { .pppoe = true, .ip = 4, .l4 = P_UDP,
					.payload = 100 };
	struct lc_frame b;
	size_t n = shape_frame(&b, buf, cap, f, &s, NULL);

	if (n != 0)
		buf[b.l3_off - 8] = 0x21;
	return n;
}

static size_t
c_bad_ipv6_hbh_not_first(uint8_t *buf, size_t cap,
			 const struct lc_frames_flow *f)
{
	static const struct shape s = { .ip = 6, .n_ext = 2, .ext = { 60, 0 },
					.l4 = P_TCP, .payload = 100 };
	struct lc_frame b;

	return shape_frame(&b, buf, cap, f, &s, NULL);
}

static size_t
c_bad_ipv6_ext_overrun(uint8_t *buf, size_t cap,
		       const struct lc_frames_flow *f)
{
	static const struct shape s = { .ip = 6, .n_ext = 1, .ext = { 60 },
					.l4 = P_UDP, .payload = 100 };
	struct lc_frame b;
	size_t n = shape_frame(&b, buf, cap, f, &s, NULL);

	if (n != 0)
		buf[b.l3_off + 40 + 1] = 200;
	return n;
}

static size_t
c_bad_icmp_short(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	static const struct shape s = { .ip = 4, .l4 = P_ICMP, .payload = 20 };
	struct lc_frame b;
	size_t n = shape_frame(&b, buf, cap, f, &s, NULL);

	/* The IP packet ends 4 bytes into an echo header. */
	if (n != 0)
		put16(buf + b.l3_off + 2, 24);
	return n;
}

static size_t
c_mpls_gach(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	/* Associated channel header: first nibble 1, channel type BFD. */
	static const uint8_t ach[4] = { 0x10, 0x00, 0x00, 0x07 };
	struct lc_frame b;

	lc_frame_init(&b, buf, cap);
	lc_frame_eth(&b, f->dst_mac, f->src_mac);
	lc_frame_mpls(&b, 13, 1);
	lc_frame_bytes(&b, ach, sizeof(ach));
	lc_frame_fill(&b, 24, f->n);
	return lc_frame_finish(&b, LC_FRAME_MIN_LEN);
}

static size_t
c_eompls_inner_mpls(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	struct lc_frame b;

	lc_frame_init(&b, buf, cap);
	lc_frame_eth(&b, f->dst_mac, f->src_mac);
	lc_frame_mpls(&b, 100, 64);
	lc_frame_pw_cw(&b, 0);
	lc_frame_eth(&b, f->dst_mac, f->src_mac);
	lc_frame_mpls(&b, 200, 64);
	lc_frame_ipv4(&b, f->src4, f->dst4);
	lc_frame_udp(&b, f->sport, f->dport);
	lc_frame_fill(&b, 40, f->n);
	return lc_frame_finish(&b, LC_FRAME_MIN_LEN);
}

static size_t
c_pppoe_mpls(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	struct lc_frame b;

	lc_frame_init(&b, buf, cap);
	lc_frame_eth(&b, f->dst_mac, f->src_mac);
	lc_frame_pppoe(&b, 0x1234);
	lc_frame_mpls(&b, 300, 64);
	lc_frame_ipv4(&b, f->src4, f->dst4);
	lc_frame_udp(&b, f->sport, f->dport);
	lc_frame_fill(&b, 40, f->n);
	return lc_frame_finish(&b, LC_FRAME_MIN_LEN);
}

static size_t
c_ipv6_jumbogram(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	static const struct shape s = { .ip = 6, .n_ext = 1, .ext = { 0 },
					.l4 = P_UDP, .payload = 100 };
	struct lc_frame b;
	size_t n = shape_frame(&b, buf, cap, f, &s, NULL);

	if (n != 0)
		put16(buf + b.l3_off + 4, 0);
	return n;
}

/* non_ip */
static size_t
c_arp(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];
	struct lc_frame b;

	lc_frame_init(&b, buf, cap);
	if (f->reply) {
		lc_frame_eth(&b, f->dst_mac, f->src_mac);
		lc_frame_arp(&b, 2, f->src_mac, f->src4, f->dst_mac, f->dst4);
	} else {
		lc_frame_eth(&b, bcast, f->src_mac);
		lc_frame_arp(&b, 1, f->src_mac, f->src4, zero, f->dst4);
	}
	return lc_frame_finish(&b, LC_FRAME_MIN_LEN);
}

static size_t
c_vlan_arp(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	static const uint8_t zero[6];
	struct lc_frame b;

	lc_frame_init(&b, buf, cap);
	lc_frame_eth(&b, f->dst_mac, f->src_mac);
	lc_frame_vlan(&b, 0x8100, 100);
	lc_frame_arp(&b, f->reply ? 2 : 1, f->src_mac, f->src4,
		     f->reply ? f->dst_mac : zero, f->dst4);
	return lc_frame_finish(&b, LC_FRAME_MIN_LEN);
}

static size_t
c_lldp(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	static const uint8_t lldp_dst[6] = { 0x01, 0x80, 0xc2, 0, 0, 0x0e };
	struct lc_frame b;

	lc_frame_init(&b, buf, cap);
	lc_frame_eth(&b, lldp_dst, f->src_mac);
	lc_frame_lldp(&b, f->src_mac, (uint16_t)(1 + f->n % 48));
	return lc_frame_finish(&b, LC_FRAME_MIN_LEN);
}

static size_t
c_unknown_ethertype(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	struct lc_frame b;

	lc_frame_init(&b, buf, cap);
	lc_frame_eth(&b, f->dst_mac, f->src_mac);
	lc_frame_next(&b, 0x88b5); /* local experimental EtherType */
	lc_frame_fill(&b, 46, f->n);
	return lc_frame_finish(&b, LC_FRAME_MIN_LEN);
}

static size_t
c_llc_stp(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	static const uint8_t stp_dst[6] = { 0x01, 0x80, 0xc2, 0, 0, 0 };
	static const uint8_t llc[3] = { 0x42, 0x42, 0x03 };
	struct lc_frame b;

	lc_frame_init(&b, buf, cap);
	lc_frame_eth(&b, stp_dst, f->src_mac);
	lc_frame_next(&b, 3 + 35); /* 802.3 length, not an EtherType */
	lc_frame_bytes(&b, llc, sizeof(llc));
	lc_frame_fill(&b, 35, f->n);
	return lc_frame_finish(&b, LC_FRAME_MIN_LEN);
}

static size_t
c_pppoe_discovery(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	/* PADI (client) or PADO (server) with an empty Service-Name tag. */
	uint8_t pado[10] = { 0x11, 0x07, 0x00, 0x00, 0x00, 0x04,
			     0x01, 0x01, 0x00, 0x00 };
	struct lc_frame b;

	if (!f->reply)
		pado[1] = 0x09;
	lc_frame_init(&b, buf, cap);
	lc_frame_eth(&b, f->dst_mac, f->src_mac);
	lc_frame_next(&b, 0x8863);
	lc_frame_bytes(&b, pado, sizeof(pado));
	return lc_frame_finish(&b, LC_FRAME_MIN_LEN);
}

static size_t
c_pppoe_lcp(uint8_t *buf, size_t cap, const struct lc_frames_flow *f)
{
	/* LCP echo request / reply with a magic number. */
	uint8_t lcp[8] = { 0x09, 0x01, 0x00, 0x08, 0x12, 0x34, 0x56, 0x78 };
	struct lc_frame b;

	if (f->reply)
		lcp[0] = 0x0a;
	lc_frame_init(&b, buf, cap);
	lc_frame_eth(&b, f->dst_mac, f->src_mac);
	lc_frame_pppoe(&b, (uint16_t)(0x1000 + f->n % 64));
	lc_frame_next(&b, 0xc021);
	lc_frame_bytes(&b, lcp, sizeof(lcp));
	return lc_frame_finish(&b, LC_FRAME_MIN_LEN);
}

#define CASE(name, expect, tags, fn) { name, expect, tags, fn }

const struct lc_frames_case lc_frames_mixed[] = {
	CASE("arp", "non_ip", 0, c_arp),
	CASE("lldp", "non_ip", 0, c_lldp),
	CASE("unknown-ethertype", "non_ip", 0, c_unknown_ethertype),
	CASE("vlan-ipv4-tcp", "ok", 1, c_vlan_ipv4_tcp),
	CASE("qinq-ipv4-udp", "ok", 2, c_qinq_ipv4_udp),
	CASE("mpls2-ipv4-tcp", "ok", 0, c_mpls2_ipv4_tcp),
	CASE("pppoe-ipv4-tcp", "ok", 0, c_pppoe_ipv4_tcp),
	CASE("ipv6-tcp", "ok", 0, c_ipv6_tcp),
	CASE("ipv4-udp", "ok", 0, c_ipv4_udp),
	CASE("runt-60", "ok", 0, c_ipv4_udp_runt),
	CASE("jumbo-9000", "ok", 0, c_ipv4_tcp_jumbo),
};
const unsigned int lc_frames_mixed_count =
	sizeof(lc_frames_mixed) / sizeof(lc_frames_mixed[0]);

const struct lc_frames_case lc_frames_encap[] = {
	CASE("ipv4-tcp-syn", "ok", 0, c_ipv4_tcp_syn),
	CASE("ipv4-tcp", "ok", 0, c_ipv4_tcp),
	CASE("ipv4-udp", "ok", 0, c_ipv4_udp),
	CASE("ipv4-icmp-echo", "ok", 0, c_ipv4_icmp_echo),
	CASE("ipv6-tcp", "ok", 0, c_ipv6_tcp),
	CASE("ipv6-udp", "ok", 0, c_ipv6_udp),
	CASE("ipv6-icmp-echo", "ok", 0, c_ipv6_icmp_echo),
	CASE("vlan-ipv4-tcp", "ok", 1, c_vlan_ipv4_tcp),
	CASE("vlan-ipv4-udp", "ok", 1, c_vlan_ipv4_udp),
	CASE("vlan88a8-ipv6-udp", "ok", 1, c_vlan88a8_ipv6_udp),
	CASE("qinq-ipv4-udp", "ok", 2, c_qinq_ipv4_udp),
	CASE("qinq-ipv4-tcp", "ok", 2, c_qinq_ipv4_tcp),
	CASE("qinq9100-ipv6-tcp", "ok", 2, c_qinq9100_ipv6_tcp),
	CASE("mpls1-ipv4-udp", "ok", 0, c_mpls1_ipv4_udp),
	CASE("mpls2-ipv4-tcp", "ok", 0, c_mpls2_ipv4_tcp),
	CASE("mpls3-ipv6-tcp", "ok", 0, c_mpls3_ipv6_tcp),
	CASE("mpls8-ipv4-udp", "ok", 0, c_mpls8_ipv4_udp),
	CASE("mpls16-ipv6-udp", "ok", 0, c_mpls16_ipv6_udp),
	CASE("vlan-mpls2-ipv4-tcp", "ok", 1, c_vlan_mpls2_ipv4_tcp),
	CASE("qinq-mpls1-ipv6-udp", "ok", 2, c_qinq_mpls1_ipv6_udp),
	CASE("eompls-ipv4-tcp", "ok", 0, c_eompls_ipv4_tcp),
	CASE("eompls-vlan-ipv6-udp", "ok", 0, c_eompls_vlan_ipv6_udp),
	CASE("eompls-qinq-ipv4-tcp", "ok", 0, c_eompls_qinq_ipv4_tcp),
	CASE("pppoe-ipv4-tcp", "ok", 0, c_pppoe_ipv4_tcp),
	CASE("pppoe-ipv6-udp", "ok", 0, c_pppoe_ipv6_udp),
	CASE("pppoe-pfc-ipv4-tcp", "ok", 0, c_pppoe_pfc_ipv4_tcp),
	CASE("vlan-pppoe-pfc-ipv6-udp", "ok", 1, c_vlan_pppoe_pfc_ipv6_udp),
	CASE("vlan-pppoe-ipv4-udp", "ok", 1, c_vlan_pppoe_ipv4_udp),
	CASE("qinq-pppoe-ipv6-tcp", "ok", 2, c_qinq_pppoe_ipv6_tcp),
	CASE("eompls-pppoe-ipv4-tcp", "ok", 0, c_eompls_pppoe_ipv4_tcp),
	CASE("vlan-mpls3-eompls-vlan-pppoe-ipv4-udp", "ok", 1,
	     c_vlan_mpls_eompls_vlan_pppoe_ipv4_udp),
	CASE("ipv4-options-tcp", "ok", 0, c_ipv4_options_tcp),
	CASE("ipv4-options40-udp", "ok", 0, c_ipv4_options40_udp),
	CASE("ipv4-frag-first-udp", "ok", 0, c_ipv4_frag_first_udp),
	CASE("ipv4-frag-later-udp", "ok", 0, c_ipv4_frag_later_udp),
	CASE("ipv4-df-tcp", "ok", 0, c_ipv4_df_tcp),
	CASE("ipv6-frag-first-tcp", "ok", 0, c_ipv6_frag_first_tcp),
	CASE("ipv6-frag-later-tcp", "ok", 0, c_ipv6_frag_later_tcp),
	CASE("ipv6-hbh-rt-dst-tcp", "ok", 0, c_ipv6_hbh_rt_dst_tcp),
	CASE("ipv6-ah-udp", "ok", 0, c_ipv6_ah_udp),
	CASE("ipv6-8ext-tcp", "ok", 0, c_ipv6_8ext_tcp),
	CASE("ipv4-gre", "ok", 0, c_ipv4_gre),
	CASE("ipv6-esp", "ok", 0, c_ipv6_esp),
	CASE("ipv6-no-next-header", "ok", 0, c_ipv6_no_next),
	CASE("ipv4-udp-runt-60", "ok", 0, c_ipv4_udp_runt),
	CASE("ipv4-tcp-jumbo-9000", "ok", 0, c_ipv4_tcp_jumbo),
	CASE("qinq-ipv6-udp-jumbo-9000", "ok", 2, c_ipv6_udp_jumbo),
	CASE("arp", "non_ip", 0, c_arp),
	CASE("vlan-arp", "non_ip", 1, c_vlan_arp),
	CASE("lldp", "non_ip", 0, c_lldp),
	CASE("unknown-ethertype", "non_ip", 0, c_unknown_ethertype),
	CASE("llc-stp", "non_ip", 0, c_llc_stp),
	CASE("pppoe-discovery", "non_ip", 0, c_pppoe_discovery),
	CASE("pppoe-lcp", "non_ip", 0, c_pppoe_lcp),
	CASE("trunc-ipv4-tcp", "truncated", 0, c_trunc_ipv4_tcp),
	CASE("trunc-ipv6-udp", "truncated", 0, c_trunc_ipv6_udp),
	CASE("trunc-mpls-stack", "truncated", 0, c_trunc_mpls_stack),
	CASE("trunc-pppoe", "truncated", 0, c_trunc_pppoe),
	CASE("trunc-eompls", "truncated", 0, c_trunc_eompls),
	CASE("bad-ipv4-version", "bad_header", 0, c_bad_ipv4_version),
	CASE("bad-ipv4-ihl", "bad_header", 0, c_bad_ipv4_ihl),
	CASE("bad-ipv4-total-length", "bad_header", 0, c_bad_ipv4_total_length),
	CASE("bad-tcp-data-offset", "bad_header", 0, c_bad_tcp_data_offset),
	CASE("bad-tcp-options-overrun", "bad_header", 0,
	     c_bad_tcp_options_overrun),
	CASE("bad-ipv6-version", "bad_header", 0, c_bad_ipv6_version),
	CASE("bad-pppoe-version", "bad_header", 0, c_bad_pppoe_version),
	CASE("bad-ipv6-hbh-not-first", "bad_header", 0,
	     c_bad_ipv6_hbh_not_first),
	CASE("bad-ipv6-ext-overrun", "bad_header", 0, c_bad_ipv6_ext_overrun),
	CASE("bad-icmp-echo-short", "bad_header", 0, c_bad_icmp_short),
	CASE("3tags-ipv4-tcp", "too_many_tags", 3, c_3tags_ipv4_tcp),
	CASE("3tags-9100-ipv6-udp", "too_many_tags", 3, c_3tags_9100_ipv6_udp),
	CASE("eompls-3inner-tags", "too_many_tags", 0, c_eompls_3inner_tags),
	CASE("mpls17-ipv4-udp", "unsupported", 0, c_mpls17_ipv4_udp),
	CASE("mpls-gach", "unsupported", 0, c_mpls_gach),
	CASE("ipv6-9ext-udp", "unsupported", 0, c_ipv6_9ext_udp),
	CASE("eompls-inner-mpls", "unsupported", 0, c_eompls_inner_mpls),
	CASE("pppoe-mpls", "unsupported", 0, c_pppoe_mpls),
	CASE("ipv6-jumbogram", "unsupported", 0, c_ipv6_jumbogram),
};
const unsigned int lc_frames_encap_count =
	sizeof(lc_frames_encap) / sizeof(lc_frames_encap[0]);

const char *
lc_frames_expect(const struct lc_frames_case *c, unsigned int vlan_mode)
{
	if (c->outer_tags > vlan_mode)
		return "too_many_tags";
	return c->expect;
}

/* ------------------------------------------------------------------ */
/* The seq profile. */

static const struct {
	const char *name;
	struct shape shape;
} seq_kinds[LC_FRAMES_SEQ_KINDS] = {
	{ "ipv4-tcp", { .ip = 4, .l4 = P_TCP } },
	{ "vlan-ipv4-udp", { .tags = 1, .ip = 4, .l4 = P_UDP } },
	{ "qinq-ipv6-tcp", { .tags = 2, .ip = 6, .l4 = P_TCP } },
	{ "mpls2-ipv4-tcp", { .mpls = 2, .ip = 4, .l4 = P_TCP } },
	{ "pppoe-ipv4-udp", { .pppoe = true, .ip = 4, .l4 = P_UDP } },
	{ "ipv6-udp", { .ip = 6, .l4 = P_UDP } },
	{ "vlan-pppoe-ipv6-tcp", { .tags = 1, .pppoe = true, .ip = 6,
				   .l4 = P_TCP } },
	{ "mpls1-ipv6-udp", { .mpls = 1, .ip = 6, .l4 = P_UDP } },
	{ "eompls-ipv4-tcp", { .mpls = 2, .eompls = true, .ip = 4,
			       .l4 = P_TCP } },
	{ "qinq-ipv4-udp", { .tags = 2, .ip = 4, .l4 = P_UDP } },
};

const char *
lc_frames_seq_kind_name(unsigned int k)
{
	return k < LC_FRAMES_SEQ_KINDS ? seq_kinds[k].name : "?";
}

static uint64_t
splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

size_t
lc_frames_seq(uint8_t *buf, size_t cap, uint64_t seq, bool reply,
	      uint64_t seed)
{
	struct lc_frames_flow f;
	struct lc_frame b;
	struct shape s;
	uint32_t flow = (uint32_t)(seq % LC_FRAMES_SEQ_FLOWS);
	uint64_t r;

	r = splitmix64(seed ^ splitmix64(seq * 2 + (reply ? 1 : 0)));
	/* A flow keeps its encapsulation, as on a real wire. */
	s = seq_kinds[flow % LC_FRAMES_SEQ_KINDS].shape;
	/* Sizes 60..1514, and one frame in 500 a 9000-byte jumbo. */
	s.size = (uint16_t)(60 + r % 1455);
	if ((r >> 32) % 500 == 0)
		s.size = 9000;
	/* The download frame of a seq mirrors the upload one. */
	lc_frames_flow_init(&f, flow);
	if (reply)
		lc_frames_flow_reverse(&f, &f);
	return shape_frame(&b, buf, cap, &f, &s, &seq);
}
