/* SPDX-License-Identifier: MIT */
/*
 * What it costs to hold frames, whatever holds them: the floor under a
 * shaper whose limited frames wait (docs/SHAPING.md, "10,000 users at
 * their limits"). One core receives bursts from a net_pcap port replaying
 * a capture (infinite_rx), reads each frame's first line (its EtherType
 * and the word after, as a parser would), and either sends it at once or
 * puts it at the end of a FIFO of `hold` frames, sending the FIFO's oldest
 * (after reading its length, as a pacer would) once the FIFO is full. A
 * frame then waits `hold` frames' time: at 5 Mpps, 100,000 frames wait
 * 20 ms. Every hold is measured twice, the rounds interleaved, and the
 * core's TSC cycles per frame printed beside the received Mpps.
 *
 *   bench_hold -l 0 --no-huge -m MB --no-pci --vdev=net_pcap0,rx_pcap=F,infinite_rx=1
 *       [-- --seconds S --holds 0,1000,10000,100000,300000]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>

#define BURST 32u
#define MAX_HOLDS 16
#define ROUNDS 2

static volatile uint64_t sink;

static int
port_up(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf = { 0 };
	int rc = rte_eth_dev_configure(port, 1, 1, &conf);

	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, 1024, rte_socket_id(), NULL, pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, 1024, rte_socket_id(), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	return rc;
}

/* What a parser reads of a frame: its first line. */
static inline uint32_t
touch(const struct rte_mbuf *m)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);

	return (uint32_t)d[12] << 8 | d[13] | (uint32_t)d[23] << 16;
}

static void
tx(uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t k = rte_eth_tx_burst(port, 0, pkts, n);

	if (k < n)
		rte_pktmbuf_free_bulk(pkts + k, n - k);
}

/* One run: frames received per second and TSC cycles per frame. */
static void
run(uint16_t port, struct rte_mbuf **fifo, uint32_t hold, double seconds,
    double *mpps, double *cycles)
{
	uint64_t hz = rte_get_tsc_hz(), start = rte_rdtsc();
	uint64_t end = start + (uint64_t)(seconds * (double)hz), frames = 0;
	uint32_t head = 0, len = 0, acc = 0;

	while (rte_rdtsc() < end) {
		struct rte_mbuf *pkts[BURST], *out[BURST];
		uint16_t n = rte_eth_rx_burst(port, 0, pkts, BURST), n_out = 0;

		for (uint16_t i = 0; i < n; i++) {
			acc += touch(pkts[i]);
			if (hold == 0) {
				out[n_out++] = pkts[i];
				continue;
			}
			if (len == hold) {
				struct rte_mbuf *m = fifo[head];

				acc += m->pkt_len;
				out[n_out++] = m;
				fifo[head] = pkts[i];
				head = head + 1 == hold ? 0 : head + 1;
			} else {
				fifo[(head + len++) % hold] = pkts[i];
			}
			if (len == hold && i + 1 < n)
				rte_prefetch0(fifo[head]);
		}
		if (n_out > 0)
			tx(port, out, n_out);
		frames += n;
	}
	uint64_t took = rte_rdtsc() - start;

	for (uint32_t i = 0; i < len; i++)
		rte_pktmbuf_free(fifo[(head + i) % hold]);
	sink += acc;
	*mpps = (double)frames / ((double)took / (double)hz) / 1e6;
	*cycles = frames > 0 ? (double)took / (double)frames : 0;
}

int
main(int argc, char **argv)
{
	uint32_t holds[MAX_HOLDS] = { 0, 1000, 10000, 100000, 300000 }, n_holds = 5;
	uint32_t max_hold = 0;
	double seconds = 3;
	struct rte_mempool *pool;
	struct rte_mbuf **fifo;
	int n = rte_eal_init(argc, argv);

	if (n < 0) {
		fprintf(stderr, "bench_hold: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0) {
			seconds = atof(argv[i + 1]);
		} else if (strcmp(argv[i], "--holds") == 0) {
			char *s = argv[i + 1], *tok;

			n_holds = 0;
			while ((tok = strsep(&s, ",")) != NULL && n_holds < MAX_HOLDS)
				holds[n_holds++] = (uint32_t)strtoul(tok, NULL, 10);
		} else {
			fprintf(stderr, "bench_hold: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	for (uint32_t i = 0; i < n_holds; i++)
		max_hold = RTE_MAX(max_hold, holds[i]);
	if (rte_eth_dev_count_avail() < 1 || seconds <= 0) {
		fprintf(stderr, "bench_hold: give a net_pcap vdev (--vdev) and --seconds > 0\n");
		return 2;
	}
	/* The capture, preloaded by infinite_rx, takes mbufs of the pool too. */
	pool = rte_pktmbuf_pool_create("hold", max_hold + (1u << 18), 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	fifo = calloc(max_hold + 1, sizeof(*fifo));
	if (pool == NULL || fifo == NULL || port_up(0, pool) != 0) {
		fprintf(stderr, "bench_hold: cannot set up the pool or port 0 (raise -m)\n");
		return 1;
	}
	double mpps[MAX_HOLDS][ROUNDS], cyc[MAX_HOLDS][ROUNDS];

	for (int r = 0; r < ROUNDS; r++)
		for (uint32_t i = 0; i < n_holds; i++)
			run(0, fifo, holds[i], seconds, &mpps[i][r], &cyc[i][r]);
	printf("frames held   Mpps (runs)          x none   cycles/frame\n");
	for (uint32_t i = 0; i < n_holds; i++) {
		double m = (mpps[i][0] + mpps[i][1]) / 2, m0 = (mpps[0][0] + mpps[0][1]) / 2;

		printf("%11u   %6.3f (%6.3f %6.3f)   %5.2f   %6.0f\n", holds[i], m,
		       mpps[i][0], mpps[i][1], m / m0, (cyc[i][0] + cyc[i][1]) / 2);
	}
	free(fifo);
	rte_eth_dev_stop(0);
	rte_eal_cleanup();
	return 0;
}
