/* SPDX-License-Identifier: MIT */
/*
 * lc-pcapcmp: compare the frames of two captures, ignoring timestamps.
 *
 *   lc-pcapcmp [--skip N] EXPECTED.pcap ACTUAL.pcap
 *       ACTUAL must hold exactly the frames of EXPECTED from frame N on
 *       (0-based), same bytes, same order. Exit 0 if so, 1 if not (the first
 *       difference is printed), 2 on error.
 *   lc-pcapcmp --count FILE.pcap
 *       prints "FRAMES BYTES".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

static pcap_t *
open_pcap(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);

	if (p == NULL)
		fprintf(stderr, "lc-pcapcmp: %s: %s\n", path, err);
	return p;
}

static int
count(const char *path)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t frames = 0, bytes = 0;
	pcap_t *p = open_pcap(path);
	int rc;

	if (p == NULL)
		return 2;
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		frames++;
		bytes += h->len;
	}
	pcap_close(p);
	if (rc != PCAP_ERROR_BREAK) {
		fprintf(stderr, "lc-pcapcmp: %s: read error\n", path);
		return 2;
	}
	printf("%" PRIu64 " %" PRIu64 "\n", frames, bytes);
	return 0;
}

int
main(int argc, char **argv)
{
	struct pcap_pkthdr *ha, *hb;
	const u_char *da, *db;
	uint64_t skip = 0, n = 0;
	pcap_t *a, *b;
	int ra, rb, status = 0;

	if (argc == 3 && strcmp(argv[1], "--count") == 0)
		return count(argv[2]);
	if (argc == 5 && strcmp(argv[1], "--skip") == 0) {
		skip = strtoull(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: lc-pcapcmp [--skip N] EXPECTED ACTUAL\n"
			"       lc-pcapcmp --count FILE\n");
		return 2;
	}
	a = open_pcap(argv[1]);
	b = open_pcap(argv[2]);
	if (a == NULL || b == NULL)
		return 2;

	for (uint64_t i = 0; i < skip; i++) {
		if (pcap_next_ex(a, &ha, &da) != 1) {
			fprintf(stderr, "lc-pcapcmp: %s has fewer than %" PRIu64
				" frames to skip\n", argv[1], skip);
			return 1;
		}
	}
	for (;; n++) {
		ra = pcap_next_ex(a, &ha, &da);
		rb = pcap_next_ex(b, &hb, &db);
		if (ra != 1 || rb != 1)
			break;
		if (ha->caplen != ha->len || hb->caplen != hb->len) {
			fprintf(stderr, "lc-pcapcmp: frame %" PRIu64 " was truncated "
				"by the capture\n", n + skip);
			status = 1;
			break;
		}
		if (ha->len != hb->len || memcmp(da, db, ha->len) != 0) {
			uint32_t off = 0;

			while (off < ha->len && off < hb->len && da[off] == db[off])
				off++;
			fprintf(stderr, "lc-pcapcmp: frame %" PRIu64 " differs: "
				"lengths %u and %u, first difference at byte %u\n",
				n + skip, ha->len, hb->len, off);
			status = 1;
			break;
		}
	}
	if (status == 0 && (ra == 1) != (rb == 1)) {
		fprintf(stderr, "lc-pcapcmp: %s has %s frames than expected "
			"(%" PRIu64 " matched)\n", argv[2], ra == 1 ? "fewer" : "more", n);
		status = 1;
	}
	if (status == 0)
		printf("%" PRIu64 " frames identical\n", n);
	pcap_close(a);
	pcap_close(b);
	return status;
}
