/* SPDX-License-Identifier: MIT */
/*
 * lc-pcapcmp: compare the frames of two captures, ignoring timestamps.
 *
 *   lc-pcapcmp [--skip N] EXPECTED.pcap ACTUAL.pcap
 *       ACTUAL must hold exactly the frames of EXPECTED from frame N on
 *       (0-based), same bytes, same order. Exit 0 if so, 1 if not (the first
 *       difference is printed), 2 on error.
 *   lc-pcapcmp --per-flow EXPECTED.pcap ACTUAL.pcap
 *       the same frames, bytes unchanged, in the same order within each flow
 *       (frames of different users' queues may pass each other when linecap
 *       shapes). A flow is what lib/parse reads: addresses, protocol, ports
 *       and tags; frames without ports group by address pair, and frames
 *       that are not IP form one group.
 *   lc-pcapcmp --count FILE.pcap
 *       prints "FRAMES BYTES".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "lc_parse.h"

/* A frame of a capture, kept for the per-flow comparison. */
struct frame {
	uint8_t *data;
	uint32_t len;
	char key[96];     /* the flow */
	uint64_t seq;     /* index in its capture */
};

static void
flow_key(const u_char *d, uint32_t len, char *key, size_t size)
{
	struct lc_parse_result r;

	if (lc_parse_frame(d, (uint16_t)(len > 65535 ? 65535 : len),
			   LC_VLAN_MODE_QINQ, &r) != LC_PARSE_OK) {
		snprintf(key, size, "not-ip");
		return;
	}
	size_t n = 0;
	for (int i = 0; i < 16 && n + 2 < size; i++)
		n += (size_t)snprintf(key + n, size - n, "%02x", r.src[i]);
	n += (size_t)snprintf(key + n, size - n, "-");
	for (int i = 0; i < 16 && n + 2 < size; i++)
		n += (size_t)snprintf(key + n, size - n, "%02x", r.dst[i]);
	snprintf(key + n, size - n, "-%u-%u-%u-%u-%u", r.l4_proto, r.sport, r.dport,
		 r.n_vlans ? r.vlan[0] : 0, r.n_vlans > 1 ? r.vlan[1] : 0);
}

static int
read_all(const char *path, struct frame **out, size_t *count)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	size_t n = 0, cap = 1024;
	struct frame *f = malloc(cap * sizeof(*f));
	pcap_t *p = pcap_open_offline(path, err);

	if (p == NULL || f == NULL) {
		fprintf(stderr, "lc-pcapcmp: %s: %s\n", path, p ? "out of memory" : err);
		free(f);
		return -1;
	}
	while (pcap_next_ex(p, &h, &d) == 1) {
		if (n == cap) {
			cap *= 2;
			f = realloc(f, cap * sizeof(*f));
			if (f == NULL)
				return -1;
		}
		f[n].data = malloc(h->caplen);
		if (f[n].data == NULL)
			return -1;
		memcpy(f[n].data, d, h->caplen);
		f[n].len = h->caplen;
		f[n].seq = n;
		flow_key(d, h->caplen, f[n].key, sizeof(f[n].key));
		n++;
	}
	pcap_close(p);
	*out = f;
	*count = n;
	return 0;
}

/* By flow, then by position: a stable sort keeps each flow's order. */
static int
cmp_frame(const void *a, const void *b)
{
	const struct frame *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
per_flow(const char *expected, const char *actual)
{
	struct frame *a, *b;
	size_t na, nb;
	int status = 0;

	if (read_all(expected, &a, &na) != 0 || read_all(actual, &b, &nb) != 0)
		return 2;
	if (na != nb) {
		fprintf(stderr, "lc-pcapcmp: %s has %zu frames, %s has %zu\n",
			expected, na, actual, nb);
		return 1;
	}
	qsort(a, na, sizeof(*a), cmp_frame);
	qsort(b, nb, sizeof(*b), cmp_frame);
	for (size_t i = 0; i < na; i++) {
		if (strcmp(a[i].key, b[i].key) != 0 || a[i].len != b[i].len ||
		    memcmp(a[i].data, b[i].data, a[i].len) != 0) {
			fprintf(stderr, "lc-pcapcmp: flow %s: frame %" PRIu64 " of the "
				"input differs from frame %" PRIu64 " of the output\n",
				a[i].key, a[i].seq, b[i].seq);
			status = 1;
			break;
		}
	}
	for (size_t i = 0; i < na; i++)
		free(a[i].data);
	for (size_t i = 0; i < nb; i++)
		free(b[i].data);
	free(a);
	free(b);
	if (status == 0)
		printf("%zu frames identical, in order within each flow\n", na);
	return status;
}

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
	if (argc == 4 && strcmp(argv[1], "--per-flow") == 0)
		return per_flow(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "--skip") == 0) {
		skip = strtoull(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: lc-pcapcmp [--skip N] EXPECTED ACTUAL\n"
			"       lc-pcapcmp --per-flow EXPECTED ACTUAL\n"
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
