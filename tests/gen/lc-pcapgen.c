/* SPDX-License-Identifier: MIT */
/*
 * lc-pcapgen: writes the captures the replay tests feed into linecap's two
 * ports, and the parser's fuzz seeds.
 *
 *   lc-pcapgen PROFILE CLIENT_OUT.pcap SERVER_OUT.pcap
 *              [--count N] [--seed S] [--expect FILE.json]
 *              [--expect-flows FILE.json] [--expect-pcap-prefix PREFIX]
 *   lc-pcapgen seeds DIR
 *
 * CLIENT_OUT holds the frames that enter the client port (upload), SERVER_OUT
 * the replies that enter the server port (download: addresses, ports and MACs
 * mirrored). Both are DLT_EN10MB with snaplen 65535, microsecond timestamps
 * increasing, client and server frames interleaved on one time line.
 *
 * --expect writes the per-reason counts each capture must give with
 * vlan_mode qinq. They come from the catalog the frames were built from, not
 * from the parser, so a parser bug cannot hide behind its own counts.
 *
 * The session profiles (midstream, vlans, users) build whole connections. For them
 * --expect-flows writes the flows the captures hold, from the connections as
 * built, and --expect-pcap-prefix writes PREFIX-client.pcap and
 * PREFIX-server.pcap: the frames of each capture that are not TCP, in order,
 * which is what linecapd forwards of a mid-stream capture with
 * permit_invalid_flow = no. The usage text gives the JSON layout.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <pcap/pcap.h>

#include "lc_frames.h"

#define SNAPLEN 65535
#define TS_BASE_SEC 1700000000u
#define TS_STEP_US 10u

enum reason {
	R_OK,
	R_NON_IP,
	R_TRUNCATED,
	R_BAD_HEADER,
	R_TOO_MANY_TAGS,
	R_UNSUPPORTED,
	R_MAX
};

static const char *const reason_names[R_MAX] = {
	"ok", "non_ip", "truncated", "bad_header", "too_many_tags",
	"unsupported",
};

struct port_out {
	pcap_dumper_t *dumper;
	uint64_t counts[R_MAX];
	uint64_t frames;
};

struct gen {
	pcap_t *pcap;
	struct port_out client;
	struct port_out server;
	uint64_t tick; /* one per frame written, both ports */
};

static int
reason_index(const char *name)
{
	int i;

	for (i = 0; i < R_MAX; i++)
		if (strcmp(reason_names[i], name) == 0)
			return i;
	return -1;
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: lc-pcapgen PROFILE CLIENT_OUT.pcap SERVER_OUT.pcap\n"
		"                  [--count N] [--seed S] [--expect FILE.json]\n"
		"                  [--expect-flows FILE.json]\n"
		"                  [--expect-pcap-prefix PREFIX]\n"
		"       lc-pcapgen seeds DIR\n"
		"profiles:\n"
		"  mixed  ARP, LLDP, unknown EtherType, 802.1Q, QinQ, MPLS, PPPoE,\n"
		"         IPv6 TCP, IPv4 UDP, 60-byte runt, 9000-byte jumbo;\n"
		"         N rounds of the set (default 4)\n"
		"  encap  every encapsulation and every parse reason;\n"
		"         N rounds of the set (default 2)\n"
		"  seq    N frames per direction (default 200000), each with its\n"
		"         sequence number in the payload\n"
		"  midstream  N TCP connections (default 50) captured mid-stream:\n"
		"         no SYN, data and ACKs both ways, IPv4 and IPv6,\n"
		"         untagged, VLAN and QinQ, one in five closed by a FIN\n"
		"         exchange, one in five half-closed by the server; and\n"
		"         N/5 UDP flows (at least 1). Distinct client endpoints.\n"
		"  vlans  one TCP 5-tuple (10.0.0.1:40000 -> 192.0.2.1:443) in\n"
		"         VLAN 10, VLAN 20 and untagged, each with a handshake:\n"
		"         three flows\n"
		"  users  flows of a few clients, for the assignment tests:\n"
		"         10.3.0.1 has five (TCP 41001-41004, one in a VLAN,\n"
		"         one in QinQ, and UDP 51001), 10.3.0.2 one (TCP 42000),\n"
		"         10.3.0.3 two (TCP 43000, UDP 43001), 2001:db8:c:3::4\n"
		"         one (TCP 44000), 2001:db8:c:3::5 one (UDP 44001);\n"
		"         mid-stream TCP, data both ways, no FIN: all stay\n"
		"         established (or active)\n"
		"  nodes  one client endpoint (100.64.0.1:40000) with a TCP\n"
		"         connection to each of two servers (192.0.2.10:443,\n"
		"         192.0.2.20:443), and 100.64.0.1:40001 with one to each\n"
		"         too; mid-stream, as users\n"
		"  seeds  one raw frame per file, every case of mixed and encap\n"
		"  load   the shaping tests' offered load: 11 client addresses\n"
		"         (10.1.0.1-8, 2001:db8:1::9, ::a, 10.9.0.1), 4 UDP flows\n"
		"         each, frames in turn (1000 bytes, 9000 for 10.1.0.5-8);\n"
		"         N rounds (default 100)\n"
		"  load1000  the same, every frame 1000 bytes (shares of a\n"
		"         rate between addresses)\n"
		"  bench64, benchimix  the benchmark's traffic: N flows (default\n"
		"         100000) of N/10 users, one frame each, a realistic mix of\n"
		"         encapsulations, 64-byte frames or an IMIX\n"
		"options:\n"
		"  --expect FILE.json   per-port counts of each parse reason\n"
		"                       (vlan_mode qinq)\n"
		"  --expect-flows FILE.json   (midstream, vlans, users, nodes) the flows the\n"
		"         captures hold, as built:\n"
		"         {\"tcp_packets\": {\"client\": N, \"server\": N},\n"
		"          \"flows\": [{\"proto\": \"tcp\", \"client\": \"10.1.0.1:40000\",\n"
		"                     \"server\": \"192.0.2.1:443\", \"vlan\": [101, 201],\n"
		"                     \"state\": \"established\",\n"
		"                     \"packets\": {\"up\": N, \"down\": N},\n"
		"                     \"bytes\": {\"up\": N, \"down\": N}}, ...]}\n"
		"         tcp_packets: TCP frames in each capture (client: upload).\n"
		"         Endpoints and vlan as `linecapctl flows` writes them\n"
		"         (IPv6 as [inet_ntop]:port); state is the one the flow\n"
		"         table must show with permit_invalid_flow = yes; bytes\n"
		"         are whole frames\n"
		"  --expect-pcap-prefix PREFIX   (midstream, vlans, users) writes\n"
		"         PREFIX-client.pcap and PREFIX-server.pcap: the non-TCP\n"
		"         frames of each capture, in order\n");
}

static int
write_frame(struct gen *g, struct port_out *port, const uint8_t *frame,
	    size_t len, const char *expect)
{
	struct pcap_pkthdr h;
	uint64_t us = g->tick++ * TS_STEP_US;
	int r = reason_index(expect);

	if (r < 0 || len == 0 || len > SNAPLEN) {
		fprintf(stderr, "lc-pcapgen: bad frame (len %zu, reason %s)\n",
			len, expect);
		return -1;
	}
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)(TS_BASE_SEC + us / 1000000);
	h.ts.tv_usec = (suseconds_t)(us % 1000000);
	h.caplen = (bpf_u_int32)len;
	h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)port->dumper, &h, frame);
	port->counts[r]++;
	port->frames++;
	return 0;
}

static int
gen_catalog(struct gen *g, const struct lc_frames_case *cases,
	    unsigned int n_cases, uint64_t rounds)
{
	static uint8_t buf[LC_FRAME_MAX_LEN];
	struct lc_frames_flow up, down;
	uint64_t round;
	unsigned int i;
	size_t len;

	for (round = 0; round < rounds; round++) {
		for (i = 0; i < n_cases; i++) {
			lc_frames_flow_init(&up,
					    (uint32_t)(round * n_cases + i));
			lc_frames_flow_reverse(&up, &down);
			len = cases[i].build(buf, sizeof(buf), &up);
			if (write_frame(g, &g->client, buf, len,
					cases[i].expect) != 0)
				return -1;
			len = cases[i].build(buf, sizeof(buf), &down);
			if (write_frame(g, &g->server, buf, len,
					cases[i].expect) != 0)
				return -1;
		}
	}
	return 0;
}

static int
gen_seq(struct gen *g, uint64_t count, uint64_t seed)
{
	static uint8_t buf[LC_FRAME_MAX_LEN];
	uint64_t i;
	size_t len;

	for (i = 0; i < count; i++) {
		len = lc_frames_seq(buf, sizeof(buf), i, false, seed);
		if (write_frame(g, &g->client, buf, len, "ok") != 0)
			return -1;
		len = lc_frames_seq(buf, sizeof(buf), i, true, seed);
		if (write_frame(g, &g->server, buf, len, "ok") != 0)
			return -1;
	}
	return 0;
}

/*
 * load: the offered load of the shaping tests, replayed in a loop
 * (infinite_rx). Client addresses 10.1.0.1 to 10.1.0.8, 2001:db8:1::9 and
 * 2001:db8:1::10, and 10.9.0.1 (left unassigned by the tests), each with
 * four UDP flows, one frame per address in turn. Frames are 1000 bytes,
 * but 9000 for 10.1.0.5 to 10.1.0.8, so that those addresses are offered
 * several Gbit/s however slowly the replay runs. Every fourth address's
 * frames carry an 802.1Q tag, so that shaping is seen through tags too.
 */
#define LOAD_FRAME 1000
#define LOAD_JUMBO 9000

static int
gen_load(struct gen *g, uint64_t rounds, bool jumbo)
{
	static uint8_t buf[LC_FRAME_MAX_LEN];
	static const uint8_t mac_c[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t mac_s[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	enum { N_ADDR = 11, N_FLOW = 4 };

	for (uint64_t r = 0; r < rounds; r++) {
		for (unsigned int a = 0; a < N_ADDR * N_FLOW; a++) {
			unsigned int addr = a % N_ADDR, flow = a / N_ADDR;
			bool v6 = addr == 8 || addr == 9;
			uint8_t c6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1 };
			uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2 };
			uint32_t c4 = addr == 10 ? 0x0a090001u : 0x0a010001u + addr;
			uint16_t cport = (uint16_t)(40000 + flow);

			c6[15] = (uint8_t)(addr + 1);
			s6[15] = 1;
			for (int dir = 0; dir < 2; dir++) {
				struct lc_frame b;

				lc_frame_init(&b, buf, sizeof(buf));
				lc_frame_eth(&b, dir ? mac_c : mac_s, dir ? mac_s : mac_c);
				if (addr % 4 == 3)
					lc_frame_vlan(&b, 0x8100, 100);
				if (v6) {
					lc_frame_ipv6(&b, dir ? s6 : c6, dir ? c6 : s6);
				} else {
					lc_frame_ipv4(&b, dir ? 0xc0000264u : c4,
						      dir ? c4 : 0xc0000264u);
				}
				lc_frame_udp(&b, dir ? 443 : cport, dir ? cport : 443);
				size_t want = jumbo && addr >= 4 && addr <= 7 ? LOAD_JUMBO :
					      LOAD_FRAME;
				lc_frame_fill(&b, want - b.len, (uint32_t)(r + a));
				size_t len = lc_frame_finish(&b, LC_FRAME_MIN_LEN);
				if (len != want ||
				    write_frame(g, dir ? &g->server : &g->client, buf,
						len, "ok") != 0)
					return -1;
			}
		}
	}
	return 0;
}

/*
 * bench: the benchmark's traffic. --count flows (default 100000) of
 * count/10 users (one client address each: 10.100.0.0/16 + index, or
 * fd00:100::index for one user in five), one frame per flow per direction,
 * in a realistic mix of encapsulations: of every 20 flows, 7 untagged IPv4,
 * 2 untagged IPv6, 4 802.1Q, 3 QinQ, 2 MPLS (two labels) and 2 PPPoE
 * sessions. TCP and UDP alternate. The frame size is 64 bytes (60 without
 * FCS, or the headers' length when that is more), or with imix the mix of
 * 7 × 64, 4 × 594 and 1 × 1518 (frame sizes with FCS).
 */
static int
gen_bench(struct gen *g, uint64_t flows, bool imix)
{
	static uint8_t buf[LC_FRAME_MAX_LEN];
	static const uint8_t mac_c[6] = { 0x02, 0, 0, 0, 0, 0x11 };
	static const uint8_t mac_s[6] = { 0x02, 0, 0, 0, 0, 0x12 };
	static const unsigned int imix_sizes[12] = {
		60, 60, 590, 60, 60, 590, 60, 1514, 60, 590, 60, 590,
	};
	uint64_t users = flows / 10 ? flows / 10 : 1;

	for (uint64_t f = 0; f < flows; f++) {
		uint64_t u = f % users;
		unsigned int kind = (unsigned int)(f % 20);
		bool v6 = u % 5 == 4;
		uint16_t cport = (uint16_t)(1024 + f / users);
		uint8_t c6[16] = { 0xfd, 0, 0x01, 0 }, s6[16] = { 0xfd, 0, 0x02, 0 };
		uint32_t c4 = 0x0a640000u + (uint32_t)u, s4 = 0xc0000201u;
		size_t want = imix ? imix_sizes[f % 12] : 60;

		c6[14] = (uint8_t)(u >> 8);
		c6[15] = (uint8_t)u;
		s6[15] = 1;
		for (int dir = 0; dir < 2; dir++) {
			struct lc_frame b;

			lc_frame_init(&b, buf, sizeof(buf));
			lc_frame_eth(&b, dir ? mac_c : mac_s, dir ? mac_s : mac_c);
			if (kind >= 9 && kind < 13) {
				lc_frame_vlan(&b, 0x8100, (uint16_t)(100 + u % 100));
			} else if (kind >= 13 && kind < 16) {
				lc_frame_vlan(&b, 0x88a8, 10);
				lc_frame_vlan(&b, 0x8100, (uint16_t)(100 + u % 100));
			} else if (kind >= 16 && kind < 18) {
				lc_frame_mpls(&b, 1000, 64);
				lc_frame_mpls(&b, (uint32_t)(2000 + u % 1000), 64);
			} else if (kind >= 18) {
				lc_frame_pppoe(&b, (uint16_t)(1 + u % 60000));
			}
			if (v6 || (kind >= 7 && kind < 9))
				lc_frame_ipv6(&b, dir ? s6 : c6, dir ? c6 : s6);
			else
				lc_frame_ipv4(&b, dir ? s4 : c4, dir ? c4 : s4);
			if (f % 2)
				lc_frame_tcp(&b, dir ? 443 : cport, dir ? cport : 443,
					     (uint32_t)f, (uint32_t)f, 0x10, 0);
			else
				lc_frame_udp(&b, dir ? 443 : cport, dir ? cport : 443);
			if (b.len < want)
				lc_frame_fill(&b, want - b.len, (uint32_t)f);
			size_t len = lc_frame_finish(&b, LC_FRAME_MIN_LEN);
			if (len == 0 || write_frame(g, dir ? &g->server : &g->client,
						    buf, len, "ok") != 0)
				return -1;
		}
	}
	return 0;
}

static void
json_port(FILE *f, const char *name, const struct port_out *p, bool last)
{
	int i;

	fprintf(f, "  \"%s\": {", name);
	for (i = 0; i < R_MAX; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "",
			reason_names[i], p->counts[i]);
	fprintf(f, "}%s\n", last ? "" : ",");
}

static int
write_expect(const char *path, const struct gen *g)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "lc-pcapgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "{\n");
	json_port(f, "client", &g->client, false);
	json_port(f, "server", &g->server, true);
	fprintf(f, "}\n");
	if (fclose(f) != 0) {
		fprintf(stderr, "lc-pcapgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/*
 * Session profiles (midstream, vlans): whole connections, built step by step,
 * with the flows they make written from what was built (--expect-flows), so
 * that the flow table is checked against the generator and not against a
 * parser or against itself.
 */

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define CONN_MAX_STEPS 48

struct conn_step {
	uint8_t down;     /* 0: client -> server (client port), 1: reply */
	uint8_t flags;    /* TCP flags; unused for UDP */
	uint16_t payload; /* bytes after the L4 header */
};

struct conn {
	uint8_t l4;       /* 6 or 17 */
	uint8_t ip;       /* 4 or 6 */
	uint8_t n_vlans;
	uint16_t vlan[2]; /* outer first; two tags: 0x88a8 then 0x8100 */
	uint32_t c4, s4;  /* host byte order */
	uint8_t c6[16], s6[16];
	uint16_t cport, sport;
	uint8_t cmac[6], smac[6];
	const char *state; /* what the flow table must show at the end */
	uint32_t seq[2];
	unsigned int n_steps;
	struct conn_step steps[CONN_MAX_STEPS];
	uint64_t packets[2];
	uint64_t bytes[2];
};

struct session_gen {
	struct conn *conns;
	unsigned int n;
	uint64_t tcp_packets[2]; /* by port: 0 client, 1 server */
	pcap_dumper_t *nontcp[2]; /* --expect-pcap-prefix, or NULL */
};

static void
conn_step(struct conn *c, uint8_t down, uint8_t flags, uint16_t payload)
{
	if (c->n_steps == CONN_MAX_STEPS) {
		fprintf(stderr, "lc-pcapgen: too many steps in one connection\n");
		abort();
	}
	c->steps[c->n_steps].down = down;
	c->steps[c->n_steps].flags = flags;
	c->steps[c->n_steps].payload = payload;
	c->n_steps++;
}

static size_t
conn_frame(uint8_t *buf, size_t cap, struct conn *c, unsigned int i)
{
	const struct conn_step *st = &c->steps[i];
	bool down = st->down != 0;
	struct lc_frame b;
	unsigned int t;

	lc_frame_init(&b, buf, cap);
	lc_frame_eth(&b, down ? c->cmac : c->smac, down ? c->smac : c->cmac);
	for (t = 0; t < c->n_vlans; t++)
		lc_frame_vlan(&b, c->n_vlans == 2 && t == 0 ? 0x88a8 : 0x8100,
			      c->vlan[t]);
	if (c->ip == 4)
		lc_frame_ipv4(&b, down ? c->s4 : c->c4, down ? c->c4 : c->s4);
	else
		lc_frame_ipv6(&b, down ? c->s6 : c->c6, down ? c->c6 : c->s6);
	if (c->l4 == 6) {
		lc_frame_tcp(&b, down ? c->sport : c->cport,
			     down ? c->cport : c->sport, c->seq[st->down],
			     c->seq[!st->down], st->flags, 0);
		c->seq[st->down] += st->payload +
				    ((st->flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
	} else {
		lc_frame_udp(&b, down ? c->sport : c->cport,
			     down ? c->cport : c->sport);
	}
	lc_frame_fill(&b, st->payload, c->cport * 131u + i);
	return lc_frame_finish(&b, LC_FRAME_MIN_LEN);
}

/*
 * Writes the steps of every connection round-robin (step 0 of each, then step
 * 1 of each, ...), so that the connections overlap in time as on a real link.
 */
static int
gen_sessions(struct gen *g, struct session_gen *sg)
{
	static uint8_t buf[LC_FRAME_MAX_LEN];
	unsigned int step, i, max_steps = 0;

	for (i = 0; i < sg->n; i++)
		if (sg->conns[i].n_steps > max_steps)
			max_steps = sg->conns[i].n_steps;
	for (step = 0; step < max_steps; step++) {
		for (i = 0; i < sg->n; i++) {
			struct conn *c = &sg->conns[i];
			unsigned int d;
			size_t len;

			if (step >= c->n_steps)
				continue;
			d = c->steps[step].down;
			len = conn_frame(buf, sizeof(buf), c, step);
			if (write_frame(g, d ? &g->server : &g->client, buf, len,
					"ok") != 0)
				return -1;
			c->packets[d]++;
			c->bytes[d] += len;
			if (c->l4 == 6) {
				sg->tcp_packets[d]++;
			} else if (sg->nontcp[d] != NULL) {
				struct pcap_pkthdr h;

				memset(&h, 0, sizeof(h));
				h.ts.tv_sec = TS_BASE_SEC;
				h.caplen = (bpf_u_int32)len;
				h.len = (bpf_u_int32)len;
				pcap_dump((u_char *)sg->nontcp[d], &h, buf);
			}
		}
	}
	return 0;
}

static void
conn_macs(struct conn *c, unsigned int n)
{
	static const uint8_t cmac[6] = { 0x02, 0x00, 0x0c, 0x00, 0x00, 0x00 };
	static const uint8_t smac[6] = { 0x02, 0x00, 0x05, 0x00, 0x00, 0x01 };

	memcpy(c->cmac, cmac, 6);
	c->cmac[3] = (uint8_t)(n >> 16);
	c->cmac[4] = (uint8_t)(n >> 8);
	c->cmac[5] = (uint8_t)n;
	memcpy(c->smac, smac, 6);
	c->smac[5] = (uint8_t)(1 + n % 4);
}

/* Tag context k: 0 untagged, 1 one 802.1Q tag, 2 QinQ. */
static void
conn_tags(struct conn *c, unsigned int k, unsigned int n)
{
	c->n_vlans = (uint8_t)k;
	c->vlan[0] = k ? (uint16_t)(100 + n % 7) : 0;
	c->vlan[1] = k == 2 ? (uint16_t)(200 + n % 5) : 0;
}

static void
conn_addrs(struct conn *c, unsigned int ip, uint8_t net, unsigned int n)
{
	static const uint8_t c6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0c };
	static const uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05 };

	c->ip = (uint8_t)ip;
	/* Client 10.NET.x.y, server 192.0.2.1-8. */
	c->c4 = 0x0a000000u | (uint32_t)net << 16 | ((n + 1) & 0xffff);
	c->s4 = 0xc0000201u + n % 8;
	/* Client 2001:db8:c:NET::x (and some with a longer tail), server
	 * 2001:db8:5::1-8. */
	memcpy(c->c6, c6, 16);
	c->c6[7] = net;
	c->c6[14] = (uint8_t)((n + 1) >> 8);
	c->c6[15] = (uint8_t)(n + 1);
	if (n % 4 == 3)
		c->c6[10] = 0xab; /* 2001:db8:c:NET:0:ab00:0:x */
	memcpy(c->s6, s6, 16);
	c->s6[15] = (uint8_t)(1 + n % 8);
}

/*
 * midstream: n TCP connections captured mid-stream (no SYN anywhere), about
 * one in five ending with a FIN exchange and one in five half-closed by the
 * server, and n / 5 (at least 1) UDP flows, some one-way.
 */
static struct conn *
build_midstream(unsigned int n_tcp, unsigned int *n_out)
{
	unsigned int n_udp = n_tcp / 5 ? n_tcp / 5 : 1;
	unsigned int n = n_tcp + n_udp, i, r;
	struct conn *conns = calloc(n, sizeof(*conns));

	if (conns == NULL)
		return NULL;
	for (i = 0; i < n_tcp; i++) {
		struct conn *c = &conns[i];
		unsigned int rounds = 1 + i % 4;
		bool down_first = i % 4 == 1;

		c->l4 = 6;
		conn_addrs(c, i % 2 ? 6 : 4, 1, i);
		conn_tags(c, (i / 2) % 3, i);
		conn_macs(c, i);
		c->cport = (uint16_t)(40000 + i % 20000);
		c->sport = i % 3 == 0 ? 443 : i % 3 == 1 ? 80 : 8443;
		c->seq[0] = 1000000u * (i + 1);
		c->seq[1] = 7000000u * (i + 1) + 12345u;
		for (r = 0; r < rounds; r++) {
			uint16_t up = (uint16_t)(40 + (i * 37 + r * 11) % 900);
			uint16_t dn = (uint16_t)(100 + (i * 53 + r * 29) % 1360);
			uint8_t psh = (r + i) % 2 ? TCP_PSH : 0;

			if (down_first) {
				conn_step(c, 1, TCP_ACK | psh, dn);
				conn_step(c, 0, TCP_ACK, 0);
				conn_step(c, 0, TCP_ACK | TCP_PSH, up);
				conn_step(c, 1, TCP_ACK, 0);
			} else {
				conn_step(c, 0, TCP_ACK | psh, up);
				conn_step(c, 1, TCP_ACK, 0);
				conn_step(c, 1, TCP_ACK | TCP_PSH, dn);
				conn_step(c, 0, TCP_ACK, 0);
			}
		}
		if (i % 5 == 0) {
			/* Active close by the client: FIN, FIN, ACK. */
			conn_step(c, 0, TCP_FIN | TCP_ACK, 0);
			conn_step(c, 1, TCP_FIN | TCP_ACK, 0);
			conn_step(c, 0, TCP_ACK, 0);
			c->state = "closing";
		} else if (i % 5 == 3) {
			/* Half-close by the server; the client goes on. */
			conn_step(c, 1, TCP_FIN | TCP_ACK, 0);
			conn_step(c, 0, TCP_ACK | TCP_PSH, 77);
			conn_step(c, 1, TCP_ACK, 0);
			c->state = "fin_wait";
		} else {
			c->state = "established";
		}
	}
	for (i = 0; i < n_udp; i++) {
		struct conn *c = &conns[n_tcp + i];
		unsigned int k, exchanges = 1 + i % 4;

		c->l4 = 17;
		conn_addrs(c, i % 2 ? 4 : 6, 2, i);
		conn_tags(c, (i + 1) % 3, i + 3);
		conn_macs(c, 0x8000 + i);
		c->cport = (uint16_t)(50000 + i % 15000);
		c->sport = i % 2 ? 53 : 443;
		c->state = "active";
		for (k = 0; k < exchanges; k++) {
			conn_step(c, 0, 0, (uint16_t)(30 + (i * 41 + k * 7) % 1200));
			/* Every third flow is one-way: nothing comes back. */
			if (i % 3 != 2)
				conn_step(c, 1, 0,
					  (uint16_t)(60 + (i * 23 + k * 13) % 1400));
		}
	}
	*n_out = n;
	return conns;
}

/*
 * vlans: one TCP 5-tuple, 10.0.0.1:40000 -> 192.0.2.1:443, in VLAN 10, in
 * VLAN 20 and untagged, each opened with a handshake: three flows, with
 * different packet counts.
 */
static struct conn *
build_vlans(unsigned int *n_out)
{
	static const uint16_t vid[3] = { 10, 20, 0 };
	struct conn *conns = calloc(3, sizeof(*conns));
	unsigned int i, r;

	if (conns == NULL)
		return NULL;
	for (i = 0; i < 3; i++) {
		struct conn *c = &conns[i];

		c->l4 = 6;
		conn_addrs(c, 4, 0, 0); /* 10.0.0.1, 192.0.2.1 */
		conn_macs(c, 0);
		c->n_vlans = vid[i] ? 1 : 0;
		c->vlan[0] = vid[i];
		c->cport = 40000;
		c->sport = 443;
		c->seq[0] = 1000u + 100000u * i;
		c->seq[1] = 5000u + 300000u * i;
		c->state = "established";
		conn_step(c, 0, TCP_SYN, 0);
		conn_step(c, 1, TCP_SYN | TCP_ACK, 0);
		conn_step(c, 0, TCP_ACK, 0);
		for (r = 0; r < 1 + 2 * i; r++) {
			conn_step(c, 0, TCP_ACK | TCP_PSH, (uint16_t)(100 + 10 * i + r));
			conn_step(c, 1, TCP_ACK, 0);
			conn_step(c, 1, TCP_ACK | TCP_PSH, (uint16_t)(900 + 20 * i + r));
			if (r % 2 == 0)
				conn_step(c, 0, TCP_ACK, 0);
		}
	}
	*n_out = 3;
	return conns;
}

/*
 * users: the flows of a handful of clients, for the assignment tests: one
 * client IP with several flows (an IP-wide assignment), single endpoints
 * (endpoint assignments), IPv4 and IPv6, tags, and flows nobody is assigned
 * to. TCP is captured mid-stream and never closed, so every flow stays in
 * the table for tcp_timeout (udp_timeout for UDP) after the replay.
 */
/* One connection of the users and nodes profiles. */
struct flow_spec {
	uint8_t l4, ip, n_vlans;
	uint16_t vlan[2];
	const char *client, *server;
	uint16_t cport, sport;
	uint8_t rounds, down_first;
};

static struct conn *build_spec(const struct flow_spec *spec, unsigned int n,
			       unsigned int *n_out);

static struct conn *
build_users(unsigned int *n_out)
{
	static const struct flow_spec spec[] = {
		{ 6, 4, 0, { 0, 0 }, "10.3.0.1", "192.0.2.1", 41001, 443, 1, 0 },
		{ 6, 4, 0, { 0, 0 }, "10.3.0.1", "192.0.2.2", 41002, 443, 3, 1 },
		{ 6, 4, 1, { 100, 0 }, "10.3.0.1", "192.0.2.3", 41003, 8443, 2, 0 },
		{ 6, 4, 2, { 300, 400 }, "10.3.0.1", "192.0.2.1", 41004, 80, 4, 0 },
		{ 17, 4, 0, { 0, 0 }, "10.3.0.1", "192.0.2.53", 51001, 53, 3, 0 },
		{ 6, 4, 0, { 0, 0 }, "10.3.0.2", "192.0.2.5", 42000, 443, 3, 1 },
		{ 6, 4, 1, { 101, 0 }, "10.3.0.3", "192.0.2.6", 43000, 443, 2, 0 },
		{ 17, 4, 0, { 0, 0 }, "10.3.0.3", "192.0.2.53", 43001, 53, 1, 0 },
		{ 6, 6, 0, { 0, 0 }, "2001:db8:c:3::4", "2001:db8:5::1", 44000,
		  443, 2, 0 },
		{ 17, 6, 1, { 102, 0 }, "2001:db8:c:3::5", "2001:db8:5::2", 44001,
		  443, 2, 1 },
	};

	return build_spec(spec, sizeof(spec) / sizeof(spec[0]), n_out);
}

/*
 * nodes: one client endpoint behind a carrier-grade NAT, 100.64.0.1:40000,
 * with a connection to each of two VPN nodes (192.0.2.10:443 and
 * 192.0.2.20:443), each another user's; and 100.64.0.1:40001 with a
 * connection to each node, both of one user. Mid-stream TCP, as in users.
 */
static struct conn *
build_nodes(unsigned int *n_out)
{
	static const struct flow_spec spec[] = {
		{ 6, 4, 0, { 0, 0 }, "100.64.0.1", "192.0.2.10", 40000, 443, 2, 0 },
		{ 6, 4, 0, { 0, 0 }, "100.64.0.1", "192.0.2.20", 40000, 443, 3, 1 },
		{ 6, 4, 0, { 0, 0 }, "100.64.0.1", "192.0.2.10", 40001, 443, 1, 0 },
		{ 6, 4, 0, { 0, 0 }, "100.64.0.1", "192.0.2.20", 40001, 443, 2, 0 },
	};

	return build_spec(spec, sizeof(spec) / sizeof(spec[0]), n_out);
}

/* The connections of a table of flow_spec. */
static struct conn *
build_spec(const struct flow_spec *spec, unsigned int n, unsigned int *n_out)
{
	unsigned int i, r;
	struct conn *conns = calloc(n, sizeof(*conns));

	if (conns == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		struct conn *c = &conns[i];
		struct in_addr a4;

		c->l4 = spec[i].l4;
		c->ip = spec[i].ip;
		c->n_vlans = spec[i].n_vlans;
		c->vlan[0] = spec[i].vlan[0];
		c->vlan[1] = spec[i].vlan[1];
		if (c->ip == 4) {
			inet_pton(AF_INET, spec[i].client, &a4);
			c->c4 = ntohl(a4.s_addr);
			inet_pton(AF_INET, spec[i].server, &a4);
			c->s4 = ntohl(a4.s_addr);
		} else {
			inet_pton(AF_INET6, spec[i].client, c->c6);
			inet_pton(AF_INET6, spec[i].server, c->s6);
		}
		conn_macs(c, 0x300 + i);
		c->cport = spec[i].cport;
		c->sport = spec[i].sport;
		c->seq[0] = 3000000u * (i + 1);
		c->seq[1] = 9000000u * (i + 1) + 777u;
		c->state = c->l4 == 6 ? "established" : "active";
		for (r = 0; r < spec[i].rounds; r++) {
			uint16_t up = (uint16_t)(20 + (i * 97 + r * 31) % 1200);
			uint16_t dn = (uint16_t)(200 + (i * 151 + r * 67) % 1300);

			if (c->l4 == 17) {
				conn_step(c, spec[i].down_first, 0,
					  spec[i].down_first ? dn : up);
				conn_step(c, !spec[i].down_first, 0,
					  spec[i].down_first ? up : dn);
			} else if (spec[i].down_first) {
				conn_step(c, 1, TCP_ACK | TCP_PSH, dn);
				conn_step(c, 0, TCP_ACK, 0);
				conn_step(c, 0, TCP_ACK | TCP_PSH, up);
				conn_step(c, 1, TCP_ACK, 0);
			} else {
				conn_step(c, 0, TCP_ACK | TCP_PSH, up);
				conn_step(c, 1, TCP_ACK, 0);
				conn_step(c, 1, TCP_ACK | TCP_PSH, dn);
				conn_step(c, 0, TCP_ACK, 0);
			}
		}
	}
	*n_out = n;
	return conns;
}

/* "10.0.0.1:40000" or "[2001:db8::1]:40000", as `linecapctl flows` writes. */
static void
endpoint_text(const struct conn *c, bool server, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	uint16_t port = server ? c->sport : c->cport;

	if (c->ip == 4) {
		struct in_addr a = { .s_addr = htonl(server ? c->s4 : c->c4) };

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		snprintf(out, size, "%s:%u", ip, port);
	} else {
		inet_ntop(AF_INET6, server ? c->s6 : c->c6, ip, sizeof(ip));
		snprintf(out, size, "[%s]:%u", ip, port);
	}
}

static int
write_expect_flows(const char *path, const struct session_gen *sg)
{
	FILE *f = fopen(path, "w");
	unsigned int i, t;

	if (f == NULL) {
		fprintf(stderr, "lc-pcapgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "{\n  \"tcp_packets\": {\"client\": %" PRIu64
		", \"server\": %" PRIu64 "},\n  \"flows\": [\n",
		sg->tcp_packets[0], sg->tcp_packets[1]);
	for (i = 0; i < sg->n; i++) {
		const struct conn *c = &sg->conns[i];
		char client[64], server[64];

		endpoint_text(c, false, client, sizeof(client));
		endpoint_text(c, true, server, sizeof(server));
		fprintf(f, "    {\"proto\": \"%s\", \"client\": \"%s\", "
			"\"server\": \"%s\", \"vlan\": [",
			c->l4 == 6 ? "tcp" : "udp", client, server);
		for (t = 0; t < c->n_vlans; t++)
			fprintf(f, "%s%u", t ? ", " : "", c->vlan[t]);
		fprintf(f, "], \"state\": \"%s\", \"packets\": {\"up\": %" PRIu64
			", \"down\": %" PRIu64 "}, \"bytes\": {\"up\": %" PRIu64
			", \"down\": %" PRIu64 "}}%s\n", c->state, c->packets[0],
			c->packets[1], c->bytes[0], c->bytes[1],
			i + 1 < sg->n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fclose(f) != 0) {
		fprintf(stderr, "lc-pcapgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
write_seed(const char *dir, const char *prefix, unsigned int i,
	   const struct lc_frames_case *c)
{
	static uint8_t buf[LC_FRAME_MAX_LEN];
	struct lc_frames_flow f;
	char path[4096];
	size_t len;
	FILE *out;

	lc_frames_flow_init(&f, i);
	len = c->build(buf, sizeof(buf), &f);
	if (len == 0) {
		fprintf(stderr, "lc-pcapgen: %s did not build\n", c->name);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s-%02u-%s", dir, prefix, i, c->name);
	out = fopen(path, "wb");
	if (out == NULL || fwrite(buf, 1, len, out) != len) {
		fprintf(stderr, "lc-pcapgen: %s: %s\n", path, strerror(errno));
		if (out != NULL)
			fclose(out);
		return -1;
	}
	return fclose(out) == 0 ? 0 : -1;
}

static int
gen_seeds(const char *dir)
{
	unsigned int i;

	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "lc-pcapgen: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (i = 0; i < lc_frames_mixed_count; i++)
		if (write_seed(dir, "mixed", i, &lc_frames_mixed[i]) != 0)
			return 1;
	for (i = 0; i < lc_frames_encap_count; i++)
		if (write_seed(dir, "encap", i, &lc_frames_encap[i]) != 0)
			return 1;
	printf("%u seeds in %s\n", lc_frames_mixed_count + lc_frames_encap_count,
	       dir);
	return 0;
}

static int
parse_u64(const char *opt, const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
		fprintf(stderr, "lc-pcapgen: %s: not a number: '%s'\n", opt, s);
		return -1;
	}
	return 0;
}

static pcap_dumper_t *
open_dump(pcap_t *p, const char *path)
{
	pcap_dumper_t *d = pcap_dump_open(p, path);

	if (d == NULL)
		fprintf(stderr, "lc-pcapgen: %s: %s\n", path, pcap_geterr(p));
	return d;
}

static int
close_dump(pcap_dumper_t *d, const char *path)
{
	int r = 0;

	if (d == NULL)
		return 0;
	if (pcap_dump_flush(d) != 0) {
		fprintf(stderr, "lc-pcapgen: %s: write failed\n", path);
		r = -1;
	}
	pcap_dump_close(d);
	return r;
}

int
main(int argc, char **argv)
{
	const char *pos[3] = { NULL, NULL, NULL };
	const char *expect = NULL, *expect_flows = NULL, *pcap_prefix = NULL;
	struct session_gen sg;
	char nontcp_path[2][4096];
	uint64_t count = 0, seed = 1;
	bool have_count = false;
	struct gen g;
	int n_pos = 0, i, rc = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--count") == 0 || strcmp(a, "--seed") == 0 ||
		    strcmp(a, "--expect") == 0 ||
		    strcmp(a, "--expect-flows") == 0 ||
		    strcmp(a, "--expect-pcap-prefix") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "lc-pcapgen: %s needs a value\n",
					a);
				return 2;
			}
			if (strcmp(a, "--expect") == 0) {
				expect = argv[++i];
			} else if (strcmp(a, "--expect-flows") == 0) {
				expect_flows = argv[++i];
			} else if (strcmp(a, "--expect-pcap-prefix") == 0) {
				pcap_prefix = argv[++i];
			} else if (strcmp(a, "--seed") == 0) {
				if (parse_u64(a, argv[++i], &seed) != 0)
					return 2;
			} else {
				if (parse_u64(a, argv[++i], &count) != 0)
					return 2;
				have_count = true;
			}
			continue;
		}
		if (a[0] == '-' && a[1] == '-') {
			fprintf(stderr, "lc-pcapgen: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
		if (n_pos == 3) {
			usage(stderr);
			return 2;
		}
		pos[n_pos++] = a;
	}

	if (n_pos == 2 && strcmp(pos[0], "seeds") == 0)
		return gen_seeds(pos[1]);
	if (n_pos != 3) {
		usage(stderr);
		return 2;
	}
	if (strcmp(pos[0], "mixed") != 0 && strcmp(pos[0], "encap") != 0 &&
	    strcmp(pos[0], "seq") != 0 && strcmp(pos[0], "midstream") != 0 &&
	    strcmp(pos[0], "vlans") != 0 && strcmp(pos[0], "users") != 0 &&
	    strcmp(pos[0], "nodes") != 0 &&
	    strcmp(pos[0], "load") != 0 && strcmp(pos[0], "load1000") != 0 &&
	    strcmp(pos[0], "bench64") != 0 &&
	    strcmp(pos[0], "benchimix") != 0) {
		fprintf(stderr, "lc-pcapgen: unknown profile '%s'\n", pos[0]);
		usage(stderr);
		return 2;
	}
	bool sessions = strcmp(pos[0], "midstream") == 0 ||
			strcmp(pos[0], "vlans") == 0 ||
			strcmp(pos[0], "users") == 0 ||
			strcmp(pos[0], "nodes") == 0;
	if (!sessions && (expect_flows != NULL || pcap_prefix != NULL)) {
		fprintf(stderr, "lc-pcapgen: --expect-flows and "
			"--expect-pcap-prefix need the midstream, vlans, "
			"users or nodes profile\n");
		return 2;
	}
	if (strcmp(pos[0], "midstream") == 0 && have_count &&
	    (count == 0 || count > 20000)) {
		fprintf(stderr, "lc-pcapgen: midstream: --count from 1 to "
			"20000\n");
		return 2;
	}

	memset(&g, 0, sizeof(g));
	memset(&sg, 0, sizeof(sg));
	g.pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, SNAPLEN,
						      PCAP_TSTAMP_PRECISION_MICRO);
	if (g.pcap == NULL) {
		fprintf(stderr, "lc-pcapgen: pcap_open_dead failed\n");
		return 1;
	}
	g.client.dumper = open_dump(g.pcap, pos[1]);
	g.server.dumper = open_dump(g.pcap, pos[2]);
	if (g.client.dumper == NULL || g.server.dumper == NULL) {
		rc = 1;
		goto out;
	}
	if (pcap_prefix != NULL) {
		for (i = 0; i < 2; i++) {
			snprintf(nontcp_path[i], sizeof(nontcp_path[i]),
				 "%s-%s.pcap", pcap_prefix,
				 i == 0 ? "client" : "server");
			sg.nontcp[i] = open_dump(g.pcap, nontcp_path[i]);
			if (sg.nontcp[i] == NULL) {
				rc = 1;
				goto out;
			}
		}
	}

	if (strcmp(pos[0], "mixed") == 0)
		rc = gen_catalog(&g, lc_frames_mixed, lc_frames_mixed_count,
				 have_count ? count : 4);
	else if (strcmp(pos[0], "encap") == 0)
		rc = gen_catalog(&g, lc_frames_encap, lc_frames_encap_count,
				 have_count ? count : 2);
	else if (strncmp(pos[0], "load", 4) == 0)
		rc = gen_load(&g, have_count ? count : 100, strcmp(pos[0], "load") == 0);
	else if (strncmp(pos[0], "bench", 5) == 0)
		rc = gen_bench(&g, have_count ? count : 100000,
			       strcmp(pos[0], "benchimix") == 0);
	else if (sessions) {
		sg.conns = strcmp(pos[0], "vlans") == 0 ?
			build_vlans(&sg.n) :
			strcmp(pos[0], "users") == 0 ? build_users(&sg.n) :
			strcmp(pos[0], "nodes") == 0 ? build_nodes(&sg.n) :
			build_midstream(have_count ? (unsigned int)count : 50,
					&sg.n);
		rc = sg.conns != NULL ? gen_sessions(&g, &sg) : -1;
	} else
		rc = gen_seq(&g, have_count ? count : 200000, seed);
	rc = rc != 0 ? 1 : 0;

out:
	if (close_dump(g.client.dumper, pos[1]) != 0 ||
	    close_dump(g.server.dumper, pos[2]) != 0)
		rc = 1;
	for (i = 0; i < 2; i++)
		if (close_dump(sg.nontcp[i], nontcp_path[i]) != 0)
			rc = 1;
	pcap_close(g.pcap);
	if (rc == 0 && expect != NULL && write_expect(expect, &g) != 0)
		rc = 1;
	if (rc == 0 && expect_flows != NULL &&
	    write_expect_flows(expect_flows, &sg) != 0)
		rc = 1;
	free(sg.conns);
	if (rc == 0)
		printf("%s: %" PRIu64 " client frames, %" PRIu64
		       " server frames\n", pos[0], g.client.frames,
		       g.server.frames);
	return rc;
}
