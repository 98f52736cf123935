/* SPDX-License-Identifier: MIT */
/*
 * Frame parser.
 *
 * The worker calls lc_parse_frame() once per received frame to find its IP
 * and L4 headers beneath any VLAN/QinQ tags, MPLS labels and PPPoE session
 * header. The parser is a pure function over a byte buffer: it takes no mbuf,
 * touches no global state and never reads past len, so it can be unit-tested
 * and fuzzed without EAL. A frame that is not processed carries a reason, which
 * the worker counts per port; such a frame is still forwarded untouched.
 */
#ifndef LC_PARSE_H
#define LC_PARSE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Why a frame was not processed. LC_PARSE_OK means an IP header was found. */
enum lc_parse_reason {
	LC_PARSE_OK = 0,
	LC_PARSE_NON_IP,        /* ARP, LLDP, PPPoE discovery, unknown EtherType */
	LC_PARSE_TRUNCATED,     /* a header runs past the end of the frame */
	LC_PARSE_BAD_HEADER,    /* a header is present but invalid */
	LC_PARSE_TOO_MANY_TAGS, /* more VLAN tags than vlan_mode allows */
	LC_PARSE_UNSUPPORTED,   /* valid, but beyond what the parser handles */
	LC_PARSE_REASON_MAX
};

/* How many VLAN tags the parser searches through ([wire] vlan_mode). */
enum lc_vlan_mode {
	LC_VLAN_MODE_UNTAG = 0, /* untagged frames only */
	LC_VLAN_MODE_VLAN = 1,  /* zero or one tag */
	LC_VLAN_MODE_QINQ = 2,  /* zero, one or two tags */
};

#define LC_PARSE_MAX_VLANS 2

/*
 * Fixed bounds of the walk. A label stack deeper than LC_PARSE_MAX_MPLS, or
 * an IPv6 chain with more than LC_PARSE_MAX_IPV6_EXT extension headers, is
 * LC_PARSE_UNSUPPORTED. The tags of an inner Ethernet frame carried over MPLS
 * are bounded by LC_PARSE_MAX_VLANS whatever the vlan_mode (docs/PARSER.md).
 */
#define LC_PARSE_MAX_MPLS 16
#define LC_PARSE_MAX_IPV6_EXT 8

/* Result flags. */
#define LC_PARSE_F_PORTS    0x01 /* sport/dport are valid (TCP/UDP) */
#define LC_PARSE_F_FRAGMENT 0x02 /* IP fragment */
#define LC_PARSE_F_ICMP_ID  0x04 /* ICMP/ICMPv6 echo: icmp_id is valid */
#define LC_PARSE_F_PPPOE    0x08 /* IP was found inside a PPPoE session */
#define LC_PARSE_F_EOMPLS   0x10 /* inner Ethernet frame over MPLS */

/*
 * Everything the fast path needs to know about one frame. Offsets are from the
 * start of the frame. Addresses are 16 bytes in network byte order; an IPv4
 * address is stored IPv4-mapped (::ffff:a.b.c.d), so that IPv4 and IPv6 share
 * one key layout. Ports and VLAN ids are in host byte order.
 */
struct lc_parse_result {
	uint8_t reason;      /* enum lc_parse_reason */
	uint8_t ip_version;  /* 4 or 6 when reason is LC_PARSE_OK, else 0 */
	uint8_t l4_proto;    /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, ... */
	uint8_t tcp_flags;   /* TCP flags byte (FIN 0x01 ... CWR 0x80) */
	uint8_t flags;       /* LC_PARSE_F_* */
	uint8_t n_vlans;     /* VLAN tags seen, at most LC_PARSE_MAX_VLANS */
	uint8_t n_mpls;      /* MPLS labels seen */
	uint8_t icmp_type;
	uint16_t vlan[LC_PARSE_MAX_VLANS]; /* VLAN ids (12 bits), outer first */
	uint16_t l3_off;     /* offset of the IP header */
	uint16_t l4_off;     /* offset of the L4 header, 0 when none */
	uint16_t sport;      /* TCP/UDP source port */
	uint16_t dport;      /* TCP/UDP destination port */
	uint16_t icmp_id;    /* ICMP/ICMPv6 echo identifier */
	uint16_t ip_len;     /* IP packet length from its header */
	uint8_t src[16];
	uint8_t dst[16];
	/* Tags of the inner Ethernet header of an EoMPLS frame, outer first. */
	uint8_t n_inner_vlans;
	uint8_t n_ipv6_ext;  /* IPv6 extension headers walked */
	uint16_t inner_vlan[LC_PARSE_MAX_VLANS];
};

/*
 * Parse one frame. Fills *res in full (every field, whatever the outcome) and
 * returns res->reason. When the reason is not LC_PARSE_OK, the L2 fields
 * (n_vlans, vlan, n_mpls, n_inner_vlans, inner_vlan, LC_PARSE_F_PPPOE,
 * LC_PARSE_F_EOMPLS, l3_off) describe what was walked before the walk
 * stopped, and every L3/L4 field is zero.
 */
int lc_parse_frame(const uint8_t *frame, uint16_t len, enum lc_vlan_mode mode,
		   struct lc_parse_result *res);

/*
 * Parse a frame of wire bytes of which only the first len are at hand: the
 * first segment of a chained mbuf, or the first bytes copied out of it. The
 * lengths in IP and PPPoE headers are checked against wire; nothing past len
 * is read, and a header that lies past len inside the frame makes the frame
 * LC_PARSE_UNSUPPORTED. Hand over at least min(wire, LC_PARSE_HDR_WINDOW)
 * bytes: every L2 header the parser walks fits in that many.
 */
#define LC_PARSE_HDR_WINDOW 256
int lc_parse_headers(const uint8_t *frame, uint16_t len, uint32_t wire,
		     enum lc_vlan_mode mode, struct lc_parse_result *res);

/* Short stable name of a reason, as used in stats: "non_ip", "truncated", ... */
const char *lc_parse_reason_name(enum lc_parse_reason reason);

/* "untag", "vlan", "qinq"; NULL past the last mode. */
const char *lc_vlan_mode_name(enum lc_vlan_mode mode);

#ifdef __cplusplus
}
#endif

#endif /* LC_PARSE_H */
