/* SPDX-License-Identifier: MIT */
/*
 * lc-pcapgen: writes the captures the replay tests feed into linecap's two
 * ports, and the parser's fuzz seeds.
 *
 *   lc-pcapgen PROFILE CLIENT_OUT.pcap SERVER_OUT.pcap
 *              [--count N] [--seed S] [--expect FILE.json]
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
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
		"       lc-pcapgen seeds DIR\n"
		"profiles:\n"
		"  mixed  ARP, LLDP, unknown EtherType, 802.1Q, QinQ, MPLS, PPPoE,\n"
		"         IPv6 TCP, IPv4 UDP, 60-byte runt, 9000-byte jumbo;\n"
		"         N rounds of the set (default 4)\n"
		"  encap  every encapsulation and every parse reason;\n"
		"         N rounds of the set (default 2)\n"
		"  seq    N frames per direction (default 200000), each with its\n"
		"         sequence number in the payload\n"
		"  seeds  one raw frame per file, every case of mixed and encap\n");
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
	const char *expect = NULL;
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
		    strcmp(a, "--expect") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "lc-pcapgen: %s needs a value\n",
					a);
				return 2;
			}
			if (strcmp(a, "--expect") == 0) {
				expect = argv[++i];
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
	    strcmp(pos[0], "seq") != 0) {
		fprintf(stderr, "lc-pcapgen: unknown profile '%s'\n", pos[0]);
		usage(stderr);
		return 2;
	}

	memset(&g, 0, sizeof(g));
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

	if (strcmp(pos[0], "mixed") == 0)
		rc = gen_catalog(&g, lc_frames_mixed, lc_frames_mixed_count,
				 have_count ? count : 4);
	else if (strcmp(pos[0], "encap") == 0)
		rc = gen_catalog(&g, lc_frames_encap, lc_frames_encap_count,
				 have_count ? count : 2);
	else
		rc = gen_seq(&g, have_count ? count : 200000, seed);
	rc = rc != 0 ? 1 : 0;

out:
	if (close_dump(g.client.dumper, pos[1]) != 0 ||
	    close_dump(g.server.dumper, pos[2]) != 0)
		rc = 1;
	pcap_close(g.pcap);
	if (rc == 0 && expect != NULL && write_expect(expect, &g) != 0)
		rc = 1;
	if (rc == 0)
		printf("%s: %" PRIu64 " client frames, %" PRIu64
		       " server frames\n", pos[0], g.client.frames,
		       g.server.frames);
	return rc;
}
