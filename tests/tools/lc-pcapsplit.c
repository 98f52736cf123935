/* SPDX-License-Identifier: MIT */
/*
 * lc-pcapsplit: splits a capture into one file per receive queue by a hash
 * of the client address, so that a net_pcap vdev with one rx_pcap per queue
 * gives each queue the frames of its own clients.
 *
 *   lc-pcapsplit FILE src|dst N PREFIX
 *
 * The client address is the source (src: a capture of the client port) or
 * the destination (dst: of the server port) of each IP frame, found through
 * any encapsulation by lib/parse (vlan_mode qinq). Only the client address
 * is hashed, so both directions of a flow, and every flow of a client, land
 * on the same queue index: split the client capture with src and the server
 * capture with dst. A frame in which lib/parse finds no IP header (not IP,
 * truncated, ...) goes to queue 0.
 *
 * Writes PREFIX-0.pcap to PREFIX-(N-1).pcap (N from 1 to 32, net_pcap's
 * most queues), frames in the order of FILE, its link type and snaplen.
 * Prints one JSON object: {"frames": [frames of queue 0, ...], "not_parsed": N}.
 *
 * The queue of an address: the FNV-1a hash (32 bits) of its 16 bytes (IPv4
 * as IPv4-mapped IPv6), times N, shifted right by 32.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "lc_parse.h"

#define MAX_QUEUES 32

static unsigned int
queue_of(const uint8_t a[16], unsigned int n)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++) {
		h ^= a[i];
		h *= 16777619u;
	}
	return (unsigned int)(((uint64_t)h * n) >> 32);
}

int
main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_dumper_t *out[MAX_QUEUES];
	uint64_t frames[MAX_QUEUES] = { 0 }, not_parsed = 0;
	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned int n, q;
	char *end;
	pcap_t *p;
	int src, rc;

	if (argc != 5 || (strcmp(argv[2], "src") != 0 && strcmp(argv[2], "dst") != 0)) {
		fprintf(stderr, "usage: lc-pcapsplit FILE src|dst N PREFIX\n");
		return 2;
	}
	src = strcmp(argv[2], "src") == 0;
	n = (unsigned int)strtoul(argv[3], &end, 10);
	if (*end != '\0' || n < 1 || n > MAX_QUEUES) {
		fprintf(stderr, "lc-pcapsplit: N: 1 to %d\n", MAX_QUEUES);
		return 2;
	}
	p = pcap_open_offline(argv[1], err);
	if (p == NULL) {
		fprintf(stderr, "lc-pcapsplit: %s: %s\n", argv[1], err);
		return 2;
	}
	for (q = 0; q < n; q++) {
		size_t len = strlen(argv[4]) + 16;
		char *name = malloc(len);

		if (name == NULL)
			return 2;
		snprintf(name, len, "%s-%u.pcap", argv[4], q);
		out[q] = pcap_dump_open(p, name);
		if (out[q] == NULL) {
			fprintf(stderr, "lc-pcapsplit: %s: %s\n", name, pcap_geterr(p));
			return 2;
		}
		free(name);
	}
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		struct lc_parse_result r;

		q = 0;
		if (lc_parse_frame(d, (uint16_t)(h->caplen > 65535 ? 65535 : h->caplen),
				   LC_VLAN_MODE_QINQ, &r) == LC_PARSE_OK)
			q = queue_of(src ? r.src : r.dst, n);
		else
			not_parsed++;
		pcap_dump((u_char *)out[q], h, d);
		frames[q]++;
	}
	if (rc == -1) {
		fprintf(stderr, "lc-pcapsplit: %s: %s\n", argv[1], pcap_geterr(p));
		return 2;
	}
	for (q = 0; q < n; q++) {
		if (pcap_dump_flush(out[q]) != 0) {
			fprintf(stderr, "lc-pcapsplit: cannot write %s-%u.pcap\n", argv[4], q);
			return 2;
		}
		pcap_dump_close(out[q]);
	}
	pcap_close(p);
	printf("{\"frames\":[");
	for (q = 0; q < n; q++)
		printf("%s%" PRIu64, q ? "," : "", frames[q]);
	printf("],\"not_parsed\":%" PRIu64 "}\n", not_parsed);
	return 0;
}
