/* SPDX-License-Identifier: MIT */
/*
 * Frame builder for tests, the pcap generator and the benchmarks.
 *
 * A frame is built outer header first into a caller buffer. Each header
 * writes its own protocol number into the previous header (EtherType, PPP
 * protocol, IP protocol or IPv6 next header), MPLS labels move the bottom of
 * stack bit themselves, and lc_frame_finish() fills in every length field
 * (IPv4 total length, IPv6 payload length, PPPoE length, UDP length) and
 * every checksum (IPv4 header; TCP, UDP, ICMP and ICMPv6 unless the packet is
 * a fragment) from what was appended. Tests that want a broken header build a
 * good one and then change bytes at the offsets the builder reports.
 *
 * The catalogs below are the frames the project replays and fuzzes: one
 * builder per case, with the parse reason the case is built to give, so that
 * expected counters come from what was built and never from the parser.
 */
#ifndef LC_FRAMES_H
#define LC_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LC_FRAME_MIN_LEN 60   /* Ethernet minimum without FCS */
#define LC_FRAME_MAX_LEN 9216 /* the wire's L2 MTU */
#define LC_FRAME_MAX_FIX 16

/* Builder state; fields are read-only for callers except through the API. */
struct lc_frame {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool error;          /* something did not fit; finish returns 0 */
	uint8_t next_kind;   /* what the next header writes into next_pos */
	size_t next_pos;
	size_t mpls_bos;     /* 1 + offset of the last label's BoS byte, or 0 */
	uint8_t ip_version;  /* of the innermost IP header so far */
	bool ip_fragment;    /* the innermost IP packet is a fragment */
	size_t l2_off;       /* innermost Ethernet header */
	size_t l3_off;       /* innermost IP header */
	size_t l4_off;       /* innermost L4 header */
	size_t ip_end;       /* set by finish: end of the IP packet */
	unsigned int n_fix;
	struct {
		uint8_t kind;
		size_t off;
		size_t ip_off;
	} fix[LC_FRAME_MAX_FIX];
};

struct lc_frame_ipv4_params {
	uint16_t id;
	uint16_t frag;        /* flags and fragment offset, as on the wire */
	uint8_t ttl;          /* 0 means 64 */
	uint8_t tos;
	uint8_t options_len;  /* bytes of options, multiple of 4, at most 40 */
};

void lc_frame_init(struct lc_frame *b, uint8_t *buf, size_t cap);
void lc_frame_eth(struct lc_frame *b, const uint8_t dst[6],
		  const uint8_t src[6]);
void lc_frame_vlan(struct lc_frame *b, uint16_t tpid, uint16_t vid);
void lc_frame_mpls(struct lc_frame *b, uint32_t label, uint8_t ttl);
void lc_frame_pw_cw(struct lc_frame *b, uint16_t seq);
void lc_frame_pppoe(struct lc_frame *b, uint16_t session);
/* PPPoE session with a one-byte (compressed) PPP protocol field. */
void lc_frame_pppoe_pfc(struct lc_frame *b, uint16_t session);
/* Addresses in host byte order. */
void lc_frame_ipv4(struct lc_frame *b, uint32_t src, uint32_t dst);
void lc_frame_ipv4_ex(struct lc_frame *b, uint32_t src, uint32_t dst,
		      const struct lc_frame_ipv4_params *p);
void lc_frame_ipv6(struct lc_frame *b, const uint8_t src[16],
		   const uint8_t dst[16]);
/* Hop-by-hop, routing, destination options (len: multiple of 8) or AH
 * (len: multiple of 4, at least 12). */
void lc_frame_ipv6_ext(struct lc_frame *b, uint8_t type, unsigned int len);
void lc_frame_ipv6_frag(struct lc_frame *b, uint16_t offset8, bool more,
			uint32_t id);
void lc_frame_tcp(struct lc_frame *b, uint16_t sport, uint16_t dport,
		  uint32_t seq, uint32_t ack, uint8_t flags,
		  uint8_t options_len);
void lc_frame_udp(struct lc_frame *b, uint16_t sport, uint16_t dport);
/* ICMP or ICMPv6, whichever fits the IP header before it. */
void lc_frame_icmp(struct lc_frame *b, uint8_t type, uint8_t code,
		   uint16_t id, uint16_t seq);
void lc_frame_icmp_echo(struct lc_frame *b, bool reply, uint16_t id,
			uint16_t seq);
void lc_frame_arp(struct lc_frame *b, uint16_t op, const uint8_t sha[6],
		  uint32_t spa, const uint8_t tha[6], uint32_t tpa);
void lc_frame_lldp(struct lc_frame *b, const uint8_t chassis[6],
		   uint16_t port);
/* Fills the pending protocol field (EtherType, PPP protocol or IP
 * protocol) with value, for payloads the builder has no call for. */
void lc_frame_next(struct lc_frame *b, uint16_t value);
void lc_frame_bytes(struct lc_frame *b, const void *data, size_t n);
/* n bytes of a pattern that depends on seed. */
void lc_frame_fill(struct lc_frame *b, size_t n, uint32_t seed);
/* Appends the 16-byte sequence tag of the seq profile (see below). */
void lc_frame_seq_tag(struct lc_frame *b, uint64_t seq, bool reply);
/* Fills in lengths and checksums, pads with zeros to min_len, and returns
 * the frame length, or 0 when the frame did not fit in the buffer. */
size_t lc_frame_finish(struct lc_frame *b, size_t min_len);

/* The two ends of one flow, oriented in the direction of the frame. */
struct lc_frames_flow {
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint32_t src4;
	uint32_t dst4;
	uint8_t src6[16];
	uint8_t dst6[16];
	uint16_t sport;
	uint16_t dport;
	uint32_t n;     /* flow number: varies ids, labels and payloads */
	bool reply;     /* server -> client */
};

/* The n-th client flow, client -> server. Client 10.x.y.z/2001:db8:c::,
 * server 192.0.2.x/2001:db8:5::, server port 443. */
void lc_frames_flow_init(struct lc_frames_flow *f, uint32_t n);
/* The same flow seen from the other side: addresses and ports mirrored. */
void lc_frames_flow_reverse(const struct lc_frames_flow *in,
			    struct lc_frames_flow *out);

struct lc_frames_case {
	const char *name;
	/* lc_parse_reason_name() the frame gives with vlan_mode qinq. */
	const char *expect;
	/* Tags of the frame's own Ethernet header: with fewer allowed, the
	 * frame is too_many_tags instead. */
	uint8_t outer_tags;
	size_t (*build)(uint8_t *buf, size_t cap,
			const struct lc_frames_flow *f);
};

/* The mixed capture: ARP, LLDP, unknown EtherType, 802.1Q, QinQ,
 * MPLS, PPPoE, IPv6 TCP, IPv4 UDP, a 60-byte runt and a 9000-byte jumbo. */
extern const struct lc_frames_case lc_frames_mixed[];
extern const unsigned int lc_frames_mixed_count;
/* Every encapsulation the parser understands and every reason. */
extern const struct lc_frames_case lc_frames_encap[];
extern const unsigned int lc_frames_encap_count;

/* The reason a case gives with vlan_mode 0 (untag), 1 (vlan) or 2 (qinq). */
const char *lc_frames_expect(const struct lc_frames_case *c,
			     unsigned int vlan_mode);

/*
 * The seq profile: frame number seq of one direction. It belongs to flow
 * seq % LC_FRAMES_SEQ_FLOWS, and each flow keeps one of LC_FRAMES_SEQ_KINDS
 * encapsulations (flow % LC_FRAMES_SEQ_KINDS), so consecutive frames rotate
 * through every encapsulation. TCP frames are mid-stream (ACK|PSH). Sizes vary
 * from 60 to 1514 bytes with an occasional 9000-byte jumbo, drawn from seed.
 * The payload starts with a 16-byte tag: "LCSQ", the direction ('C' upload,
 * 'S' download), three zero bytes and seq as 64-bit big-endian. Returns the
 * frame length, 0 if cap is too small (LC_FRAME_MAX_LEN always suffices).
 */
#define LC_FRAMES_SEQ_KINDS 10
#define LC_FRAMES_SEQ_FLOWS 4096
#define LC_FRAMES_SEQ_TAG_LEN 16
size_t lc_frames_seq(uint8_t *buf, size_t cap, uint64_t seq, bool reply,
		     uint64_t seed);
/* A short name of seq kind k, for reports. */
const char *lc_frames_seq_kind_name(unsigned int k);

#ifdef __cplusplus
}
#endif

#endif /* LC_FRAMES_H */
