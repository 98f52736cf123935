/* SPDX-License-Identifier: MIT */
/*
 * lc-pcaprate: the rate of each client address in a capture, from the
 * capture's own timestamps (net_pcap stamps each frame as it is sent).
 *
 *   lc-pcaprate [--chunk C] FILE src|dst [FROM TO]
 *
 * The client address is the source (src: an upload capture) or the
 * destination (dst: a download capture) of each IP frame, found through any
 * encapsulation by lib/parse. FROM and TO are seconds from the first frame of
 * the file (default: the whole file); only frames stamped in [FROM, TO) count.
 * Prints one JSON object: {"duration": S, "first": T, "addrs": {"10.0.0.1":
 * {"frames": N, "bytes": N, "bps": R}, ...}} where bps is bytes * 8 /
 * (TO - FROM), frame bytes without FCS, and first is the absolute time
 * (seconds since the epoch, to the microsecond) of the first frame, so that
 * a test can place the moment of a command in the capture.
 *
 * --chunk C (seconds) adds "gaps": {"count": N, "max": S, "lost": S} over
 * the gaps between consecutive frames (of any address) that end in the
 * window: count and max of those of at least C, and lost, the sum of
 * floor(gap / C) * C. A worker that transmits every loop iteration leaves a
 * long gap only when it was descheduled; rte_sched (DPDK 22.11) loses whole
 * chunks of 2^24 TSC cycles of its clock over such a gap, and the tests give
 * C = 2^24 / tsc_hz to learn how much shaping time the machine took away.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "lc_parse.h"

#define MAX_ADDRS 4096

struct addr_rate {
	uint8_t addr[16];
	uint64_t frames;
	uint64_t bytes;
};

static struct addr_rate addrs[MAX_ADDRS];
static unsigned int n_addrs;

static struct addr_rate *
find(const uint8_t a[16])
{
	for (unsigned int i = 0; i < n_addrs; i++)
		if (memcmp(addrs[i].addr, a, 16) == 0)
			return &addrs[i];
	if (n_addrs == MAX_ADDRS)
		return NULL;
	memcpy(addrs[n_addrs].addr, a, 16);
	return &addrs[n_addrs++];
}

static void
addr_text(const uint8_t a[16], char *buf, size_t size)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (memcmp(a, mapped, 12) == 0)
		inet_ntop(AF_INET, a + 12, buf, (socklen_t)size);
	else
		inet_ntop(AF_INET6, a, buf, (socklen_t)size);
}

int
main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	double from = 0, to = 1e18, first = -1, last = 0;
	long first_sec = 0, first_usec = 0;
	double chunk = 0, gap_max = 0, gap_lost = 0;
	uint64_t gap_count = 0;
	bool src;
	pcap_t *p;
	int rc;

	if (argc > 2 && strcmp(argv[1], "--chunk") == 0) {
		chunk = atof(argv[2]);
		argc -= 2;
		argv += 2;
		if (chunk <= 0) {
			fprintf(stderr, "lc-pcaprate: --chunk: a positive number of seconds\n");
			return 2;
		}
	}
	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: lc-pcaprate [--chunk C] FILE src|dst [FROM TO]\n");
		return 2;
	}
	src = strcmp(argv[2], "src") == 0;
	if (argc == 5) {
		from = atof(argv[3]);
		to = atof(argv[4]);
	}
	p = pcap_open_offline(argv[1], err);
	if (p == NULL) {
		fprintf(stderr, "lc-pcaprate: %s: %s\n", argv[1], err);
		return 2;
	}
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		struct lc_parse_result r;
		double t = (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6;

		if (first < 0) {
			first = t;
			first_sec = (long)h->ts.tv_sec;
			first_usec = (long)h->ts.tv_usec;
			last = t;
		}
		double gap = t - last;

		last = t;
		t -= first;
		if (t < from || t >= to)
			continue;
		if (chunk > 0 && gap >= chunk) {
			gap_count++;
			if (gap > gap_max)
				gap_max = gap;
			gap_lost += (double)(uint64_t)(gap / chunk) * chunk;
		}
		if (lc_parse_frame(d, (uint16_t)(h->caplen > 65535 ? 65535 : h->caplen),
				   LC_VLAN_MODE_QINQ, &r) != LC_PARSE_OK)
			continue;
		struct addr_rate *a = find(src ? r.src : r.dst);
		if (a == NULL)
			continue;
		a->frames++;
		a->bytes += h->len;
	}
	pcap_close(p);
	double dur = first < 0 ? 0 : last - first;
	double span = (to < dur ? to : dur) - from;

	printf("{\"duration\":%.6f,\"first\":%ld.%06ld,", dur, first_sec, first_usec);
	if (chunk > 0)
		printf("\"gaps\":{\"count\":%" PRIu64 ",\"max\":%.6f,\"lost\":%.6f},",
		       gap_count, gap_max, gap_lost);
	printf("\"addrs\":{");
	for (unsigned int i = 0; i < n_addrs; i++) {
		char text[INET6_ADDRSTRLEN];

		addr_text(addrs[i].addr, text, sizeof(text));
		printf("%s\"%s\":{\"frames\":%" PRIu64 ",\"bytes\":%" PRIu64
		       ",\"bps\":%.0f}", i ? "," : "", text, addrs[i].frames,
		       addrs[i].bytes, span > 0 ? (double)addrs[i].bytes * 8 / span : 0);
	}
	printf("}}\n");
	return 0;
}
