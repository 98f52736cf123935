/* SPDX-License-Identifier: MIT */
/*
 * What it costs to hand a frame from one core to another: the price of a
 * classify stage in front of N workers (docs/ARCHITECTURE.md, "More than
 * one worker"). A dispatcher parses each frame, hashes its client address
 * to a worker and passes the frame and its parse result through an
 * rte_ring; the worker takes them and reads what a worker reads of a frame
 * (its length, the parse result, the first line of its data). The same
 * work on one core is the baseline.
 *
 * Frames are real mbufs of the parser tests' mix (untagged, 802.1Q, QinQ,
 * MPLS, PPPoE; IPv4 and IPv6; 60 to 1514 bytes), many more than the caches
 * hold, so that each is cold when the dispatcher takes it, as after a NIC
 * wrote it. Printed: frames per second, and TSC cycles per frame of each
 * stage's own work (time spent waiting on an empty or full ring is not
 * counted).
 *
 *   bench_handoff -l A,B --no-huge -m 512 --no-pci [-- --seconds S]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "lc_frames.h"
#include "lc_hash.h"
#include "lc_parse.h"

#define N_MBUFS 65535u
#define BURST 32u
#define RING_SIZE 4096u
#define N_WORKERS 16u          /* the hash picks one of these; one runs here */

/* A frame's parse result, beside it: the dispatcher writes, the worker reads. */
static struct lc_parse_result *results;
static struct rte_mbuf **frames;
static struct rte_ring *to_worker;
static struct rte_ring *back;  /* mbufs the worker is done with */
static volatile int stop;
static volatile uint64_t sink;

struct stage {
	uint64_t frames;
	uint64_t busy;         /* TSC cycles of its own work */
};

static struct stage disp, enq, work, one_classify, one_take;

static inline uint32_t
mbuf_index(const struct rte_mbuf *m)
{
	return m->hash.usr;
}

/* The dispatcher's work on a burst: parse, then the worker of the client. */
static inline uint32_t
classify(struct rte_mbuf **m, uint32_t n)
{
	uint32_t acc = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct lc_parse_result *r = &results[mbuf_index(m[i])];

		lc_parse_frame(rte_pktmbuf_mtod(m[i], const uint8_t *), m[i]->data_len,
			       LC_VLAN_MODE_QINQ, r);
		acc += lc_hash_crc(r->src, sizeof(r->src), 0) % N_WORKERS;
	}
	return acc;
}

/* The worker's reads of a burst: length, parse result, first data line. */
static inline uint64_t
take(struct rte_mbuf **m, uint32_t n)
{
	uint64_t acc = 0;

	for (uint32_t i = 0; i < n; i++) {
		const struct lc_parse_result *r = &results[mbuf_index(m[i])];

		acc += m[i]->pkt_len + r->sport + r->src[15] +
		       *rte_pktmbuf_mtod(m[i], const uint8_t *);
	}
	return acc;
}

static void
evict(void)
{
	/* Walk far more memory than the caches hold: every frame cold again. */
	static uint8_t *junk;
	const size_t size = 64u << 20;

	if (junk == NULL)
		junk = malloc(size);
	if (junk == NULL)
		return;
	for (size_t i = 0; i < size; i += 64)
		junk[i]++;
}

/* One core does both stages: the baseline. */
static void
run_one(double seconds)
{
	uint64_t until = rte_rdtsc() + (uint64_t)(seconds * rte_get_tsc_hz());
	uint32_t next = 0;

	while (rte_rdtsc() < until) {
		uint64_t t0 = rte_rdtsc(), t1;
		struct rte_mbuf **m = &frames[next];

		sink += classify(m, BURST);
		t1 = rte_rdtsc();
		sink += take(m, BURST);
		one_classify.busy += t1 - t0;
		one_take.busy += rte_rdtsc() - t1;
		one_classify.frames += BURST;
		one_take.frames += BURST;
		next = (next + BURST) % (N_MBUFS - N_MBUFS % BURST);
	}
}

/* The dispatcher, on this core until the time is up; then the worker stops. */
static void
run_dispatcher(double seconds)
{
	uint64_t until = rte_rdtsc() + (uint64_t)(seconds * rte_get_tsc_hz());
	uint32_t next = 0, free_n = N_MBUFS - N_MBUFS % BURST;

	/* Every mbuf starts free; the worker gives them back when done. */
	while (rte_rdtsc() < until) {
		struct rte_mbuf *done[BURST];
		struct rte_mbuf **m = &frames[next];
		uint64_t t0;

		free_n += rte_ring_sc_dequeue_burst(back, (void **)done, BURST, NULL);
		if (free_n < BURST)
			continue;
		t0 = rte_rdtsc();
		sink += classify(m, BURST);
		disp.busy += rte_rdtsc() - t0;
		disp.frames += BURST;
		/* The ring's own cost; a full ring's wait is not work. */
		for (;;) {
			t0 = rte_rdtsc();
			if (rte_ring_sp_enqueue_burst(to_worker, (void **)m, BURST, NULL) > 0)
				break;
		}
		enq.busy += rte_rdtsc() - t0;
		enq.frames += BURST;
		free_n -= BURST;
		next = (next + BURST) % (N_MBUFS - N_MBUFS % BURST);
	}
	stop = 1;
}

static int
worker(void *arg)
{
	(void)arg;
	while (!stop) {
		struct rte_mbuf *m[BURST];
		uint32_t k = rte_ring_sc_dequeue_burst(to_worker, (void **)m, BURST, NULL);
		uint64_t t0;

		if (k == 0)
			continue;
		t0 = rte_rdtsc();
		sink += take(m, k);
		while (rte_ring_sp_enqueue_burst(back, (void **)m, k, NULL) < k && !stop)
			;
		work.busy += rte_rdtsc() - t0;
		work.frames += k;
	}
	return 0;
}

static double
per_frame(const struct stage *s)
{
	return s->frames ? (double)s->busy / (double)s->frames : 0.0;
}

static void
report(const char *what, const struct stage *s, double seconds)
{
	printf("  %-34s %6.2f Mpps, %6.0f cycles/frame of its own work\n", what,
	       (double)s->frames / seconds / 1e6, per_frame(s));
}

int
main(int argc, char **argv)
{
	static uint8_t buf[LC_FRAME_MAX_LEN];
	struct rte_mempool *pool;
	double seconds = 3;
	unsigned int second;
	int ret = rte_eal_init(argc, argv);

	if (ret < 0) {
		fprintf(stderr, "bench_handoff: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	for (int i = ret + 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
	second = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
	if (second >= RTE_MAX_LCORE) {
		fprintf(stderr, "bench_handoff: two lcores are needed (-l A,B)\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("handoff", N_MBUFS, 0, 0, 2048, (int)rte_socket_id());
	results = calloc(N_MBUFS, sizeof(*results));
	frames = calloc(N_MBUFS, sizeof(*frames));
	to_worker = rte_ring_create("to_worker", RING_SIZE, (int)rte_socket_id(),
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	back = rte_ring_create("back", 2 * N_MBUFS, (int)rte_socket_id(),
			       RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (pool == NULL || results == NULL || frames == NULL || to_worker == NULL ||
	    back == NULL) {
		fprintf(stderr, "bench_handoff: out of memory (raise -m)\n");
		return 1;
	}
	/* The mix up to 1514 bytes: its jumbo frames need chained mbufs. */
	for (uint32_t i = 0, seq = 0; i < N_MBUFS; seq++) {
		size_t n = lc_frames_seq(buf, sizeof(buf), seq, seq & 1, 2024);
		struct rte_mbuf *m;
		char *d;

		if (n == 0 || n > RTE_ETHER_MAX_LEN)
			continue;
		m = rte_pktmbuf_alloc(pool);
		if (m == NULL || (d = rte_pktmbuf_append(m, (uint16_t)n)) == NULL) {
			fprintf(stderr, "bench_handoff: no mbuf for frame %u\n", i);
			return 1;
		}
		memcpy(d, buf, n);
		m->hash.usr = i;
		frames[i++] = m;
	}
	printf("bench_handoff: %u mbufs of the parser's mix, bursts of %u, %.1f s each\n",
	       N_MBUFS, BURST, seconds);

	evict();
	run_one(seconds);
	report("one core: classify", &one_classify, seconds);
	report("one core: take", &one_take, seconds);

	evict();
	rte_eal_remote_launch(worker, NULL, second);
	run_dispatcher(seconds);
	rte_eal_wait_lcore(second);
	report("two cores: dispatcher (classify)", &disp, seconds);
	report("two cores: dispatcher (ring)", &enq, seconds);
	report("two cores: worker (take)", &work, seconds);
	printf("  the handoff: %.0f cycles/frame at the dispatcher (the ring), "
	       "%+.0f at the worker (the ring, and the frame's lines from another core)\n",
	       per_frame(&enq), per_frame(&work) - per_frame(&one_take));
	return 0;
}
