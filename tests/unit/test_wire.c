/* SPDX-License-Identifier: MIT */
/*
 * The wire over two ring-backed ports: the test plays the network by putting
 * mbufs on a port's RX ring and taking them from the other port's TX ring.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "lc_frames.h"
#include "lc_wire.h"
#include "lc_test_eal.h"

#define POOL_SIZE 4095

struct side_rings {
	struct rte_ring *rx; /* what the port receives: the test enqueues */
	struct rte_ring *tx; /* what the port transmits: the test dequeues */
	uint16_t port;
};

static struct rte_mempool *pool;
static struct side_rings sides[LC_SIDE_MAX];

/* A second pair of ports, of two queues each, for two workers. */
#define Q2 2
struct side_rings2 {
	struct rte_ring *rx[Q2];
	struct rte_ring *tx[Q2];
	uint16_t port;
};
static struct side_rings2 sides2[LC_SIDE_MAX];

static int
setup(void **state)
{
	char *argv[] = { "test_wire", "--no-huge", "-m", "128", "--no-pci",
			 "--no-telemetry", "--log-level=error", "-l", "0,1",
			 "--file-prefix=lc-test-wire", "--no-shconf", NULL };

	(void)state;
	if (rte_eal_init((int)RTE_DIM(argv) - 1, argv) < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("test_pool", POOL_SIZE, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL)
		return -1;
	for (int s = 0; s < LC_SIDE_MAX; s++) {
		char name[32];

		snprintf(name, sizeof(name), "rx%d", s);
		sides[s].rx = rte_ring_create(name, 1024, SOCKET_ID_ANY,
					      RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "tx%d", s);
		/* A small TX ring, so that the test can fill it. */
		sides[s].tx = rte_ring_create(name, 64, SOCKET_ID_ANY,
					      RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "port%d", s);
		int port = rte_eth_from_rings(name, &sides[s].rx, 1, &sides[s].tx, 1,
					      SOCKET_ID_ANY);
		if (port < 0)
			return -1;
		sides[s].port = (uint16_t)port;
		if (lc_wire_port_init(sides[s].port, pool, 1518, 1024, 1024, 1) != 0)
			return -1;
	}
	for (int s = 0; s < LC_SIDE_MAX; s++) {
		char name[32];

		for (int q = 0; q < Q2; q++) {
			snprintf(name, sizeof(name), "q2rx%d_%d", s, q);
			sides2[s].rx[q] = rte_ring_create(name, 1024, SOCKET_ID_ANY,
							  RING_F_SP_ENQ | RING_F_SC_DEQ);
			snprintf(name, sizeof(name), "q2tx%d_%d", s, q);
			sides2[s].tx[q] = rte_ring_create(name, 1024, SOCKET_ID_ANY,
							  RING_F_SP_ENQ | RING_F_SC_DEQ);
		}
		snprintf(name, sizeof(name), "q2port%d", s);
		int port = rte_eth_from_rings(name, sides2[s].rx, Q2, sides2[s].tx, Q2,
					      SOCKET_ID_ANY);
		if (port < 0)
			return -1;
		sides2[s].port = (uint16_t)port;
		if (lc_wire_port_init(sides2[s].port, pool, 1518, 1024, 1024, Q2) != 0)
			return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (int s = 0; s < LC_SIDE_MAX; s++) {
		rte_eth_dev_stop(sides[s].port);
		rte_eth_dev_close(sides[s].port);
		rte_eth_dev_stop(sides2[s].port);
		rte_eth_dev_close(sides2[s].port);
	}
	rte_mempool_free(pool);
	lc_test_eal_cleanup();
	return 0;
}

static struct lc_wire *
make_wire(enum lc_wire_mode mode)
{
	struct lc_wire_params p = {
		.port = { sides[0].port, sides[1].port },
		.mode = mode,
		.vlan_mode = 2,
		.burst = 32,
		.tx_retries = 4,
		.max_frame = 1518,
		.rx_enabled = true,
		.socket_id = SOCKET_ID_ANY,
		/*
		 * The default timeout (1 s): a running worker on a busy machine
		 * must never miss it, and the calls that no worker answers
		 * cost a second each.
		 */
	};
	struct lc_wire *w = lc_wire_create(&p);

	assert_non_null(w);
	return w;
}

/* A frame of `len` bytes whose content encodes its side and sequence number. */
static struct rte_mbuf *
make_frame(int side, uint32_t seq, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *d;

	assert_non_null(m);
	d = (uint8_t *)rte_pktmbuf_append(m, len);
	assert_non_null(d);
	for (uint16_t i = 0; i < len; i++)
		d[i] = (uint8_t)(seq * 7 + i + side * 101);
	memcpy(d + 14, &seq, sizeof(seq));
	return m;
}

static void
check_frame(struct rte_mbuf *m, int side, uint32_t seq, uint16_t len)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t got;

	assert_int_equal(m->pkt_len, len);
	memcpy(&got, d + 14, sizeof(got));
	assert_int_equal(got, seq);
	for (uint16_t i = 0; i < len; i++)
		if (i < 14 || i >= 18)
			assert_int_equal(d[i], (uint8_t)(seq * 7 + i + side * 101));
}

static uint16_t
frame_len(uint32_t seq)
{
	return (uint16_t)(60 + (seq * 37) % 1455);
}

static void
inject(int side, uint32_t first, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct rte_mbuf *m = make_frame(side, first + i, frame_len(first + i));

		assert_int_equal(rte_ring_enqueue(sides[side].rx, m), 0);
	}
}

/* Take everything the port transmitted, checking order and content. */
static uint32_t
drain_tx(int out_side, int from_side, uint32_t first)
{
	struct rte_mbuf *m;
	uint32_t n = 0;

	while (rte_ring_dequeue(sides[out_side].tx, (void **)&m) == 0) {
		check_frame(m, from_side, first + n, frame_len(first + n));
		rte_pktmbuf_free(m);
		n++;
	}
	return n;
}

static void
test_inline_both_ways(void **state)
{
	struct lc_wire *w = make_wire(LC_WIRE_INLINE);
	struct lc_wire_port_stats cs, ss;
	uint32_t up = 0, down = 0;
	uint64_t up_bytes = 0;

	(void)state;
	for (int round = 0; round < 20; round++) {
		inject(LC_SIDE_CLIENT, round * 40, 40);
		inject(LC_SIDE_SERVER, round * 25, 25);
		for (uint32_t i = 0; i < 40; i++)
			up_bytes += frame_len(round * 40 + i);
		while (lc_wire_poll(w) > 0)
			;
		up += drain_tx(LC_SIDE_SERVER, LC_SIDE_CLIENT, up);
		down += drain_tx(LC_SIDE_CLIENT, LC_SIDE_SERVER, down);
	}
	assert_int_equal(up, 800);
	assert_int_equal(down, 500);

	lc_wire_get_port_stats(w, LC_SIDE_CLIENT, &cs);
	lc_wire_get_port_stats(w, LC_SIDE_SERVER, &ss);
	assert_true(cs.rx_packets == 800 && ss.tx_packets == 800);
	assert_true(ss.rx_packets == 500 && cs.tx_packets == 500);
	assert_true(cs.rx_bytes == up_bytes && ss.tx_bytes == up_bytes);
	assert_true(cs.drops[LC_DROP_TX_FULL] == 0 && cs.tap_packets == 0);
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);
	lc_wire_free(w);
}

static void
test_tap_transmits_nothing(void **state)
{
	struct lc_wire *w = make_wire(LC_WIRE_TAP);
	struct lc_wire_port_stats cs, ss;

	(void)state;
	inject(LC_SIDE_CLIENT, 0, 300);
	inject(LC_SIDE_SERVER, 0, 200);
	while (lc_wire_poll(w) > 0)
		;
	assert_int_equal(rte_ring_count(sides[0].tx) + rte_ring_count(sides[1].tx), 0);
	lc_wire_get_port_stats(w, LC_SIDE_CLIENT, &cs);
	lc_wire_get_port_stats(w, LC_SIDE_SERVER, &ss);
	assert_true(cs.rx_packets == 300 && cs.tap_packets == 300);
	assert_true(ss.rx_packets == 200 && ss.tap_packets == 200);
	assert_true(cs.tx_packets == 0 && ss.tx_packets == 0);
	/* Every mbuf went back to the pool. */
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);
	lc_wire_free(w);
}

static void
test_tx_full_drops_and_frees(void **state)
{
	struct lc_wire *w = make_wire(LC_WIRE_INLINE);
	struct lc_wire_port_stats cs, ss;

	(void)state;
	/* The server's TX ring holds 63; nobody drains it during the burst. */
	inject(LC_SIDE_CLIENT, 0, 200);
	while (lc_wire_poll(w) > 0)
		;
	lc_wire_get_port_stats(w, LC_SIDE_CLIENT, &cs);
	lc_wire_get_port_stats(w, LC_SIDE_SERVER, &ss);
	assert_true(ss.tx_packets == 63);
	assert_true(cs.drops[LC_DROP_TX_FULL] == 200 - 63);
	assert_int_equal(drain_tx(LC_SIDE_SERVER, LC_SIDE_CLIENT, 0), 63);
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);
	lc_wire_free(w);
}

static void
test_live_mode_switch(void **state)
{
	struct lc_wire *w = make_wire(LC_WIRE_TAP);
	struct lc_wire_switch was;
	unsigned int lcore = rte_get_next_lcore(-1, 1, 0);

	(void)state;
	assert_true(lcore < RTE_MAX_LCORE);
	inject(LC_SIDE_CLIENT, 0, 50);
	assert_int_equal(rte_eal_remote_launch(lc_wire_worker_main, lc_wire_worker(w, 0), lcore), 0);
	/* Wait until the worker has seen all 50 frames in TAP mode. */
	struct lc_wire_port_stats cs;
	do {
		lc_wire_get_port_stats(w, LC_SIDE_CLIENT, &cs);
	} while (cs.rx_packets < 50);

	assert_int_equal(lc_wire_set_mode(w, LC_WIRE_INLINE, &was), 0);
	assert_int_equal(was.old_mode, LC_WIRE_TAP);
	assert_true(was.rx_packets[LC_SIDE_CLIENT] == 50);
	assert_int_equal(lc_wire_mode(w), LC_WIRE_INLINE);

	/* Frames after the switch are forwarded, those before it were not. */
	inject(LC_SIDE_CLIENT, 50, 30);
	do {
		lc_wire_get_port_stats(w, LC_SIDE_CLIENT, &cs);
	} while (cs.rx_packets < 80);
	lc_wire_stop(w);
	assert_int_equal(rte_eal_wait_lcore(lcore), 0);
	assert_int_equal(drain_tx(LC_SIDE_SERVER, LC_SIDE_CLIENT, 50), 30);
	assert_true(cs.tap_packets == 50);

	lc_wire_free(w);

	/* A bad mode is refused by the worker and changes nothing. */
	w = make_wire(LC_WIRE_INLINE);
	assert_int_equal(rte_eal_remote_launch(lc_wire_worker_main, lc_wire_worker(w, 0), lcore), 0);
	assert_int_equal(lc_wire_set_mode(w, (enum lc_wire_mode)7, NULL), -EINVAL);
	assert_int_equal(lc_wire_mode(w), LC_WIRE_INLINE);
	assert_int_equal(lc_wire_ping(w), 0);
	lc_wire_stop(w);
	rte_eal_wait_lcore(lcore);

	/* With no worker running, a call times out and leaks nothing. */
	assert_int_equal(lc_wire_ping(w), -ETIMEDOUT);
	lc_wire_poll(w); /* the worker comes back and frees the abandoned command */
	assert_int_equal(lc_wire_ping(w), -ETIMEDOUT);
	lc_wire_poll(w);
	lc_wire_free(w);
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);
}

/*
 * A command whose caller gave up never runs later: the worker frees it
 * unexecuted, so it neither changes state behind a "did not answer" nor
 * touches the caller's memory after the call returned.
 */
static void
test_timed_out_command_never_runs(void **state)
{
	struct lc_wire *w = make_wire(LC_WIRE_TAP);
	struct lc_wire_loop_stats l;

	(void)state;
	/* No worker polls: the call times out and cancels the command. */
	assert_int_equal(lc_wire_set_mode(w, LC_WIRE_INLINE, NULL), -ETIMEDOUT);
	assert_int_equal(lc_wire_set_state(w, LC_STATE_DISABLED, NULL), -ETIMEDOUT);
	/* The worker comes back: nothing of either command is applied. */
	lc_wire_poll(w);
	assert_int_equal(lc_wire_mode(w), LC_WIRE_TAP);
	assert_int_equal(lc_wire_state(w), LC_STATE_PRESENT);
	lc_wire_get_loop_stats(w, &l);
	assert_int_equal(l.commands_cancelled, 2);
	/* The wire still answers what it is asked in time. */
	unsigned int lcore = rte_get_next_lcore(-1, 1, 0);
	assert_int_equal(rte_eal_remote_launch(lc_wire_worker_main, lc_wire_worker(w, 0), lcore), 0);
	assert_int_equal(lc_wire_set_mode(w, LC_WIRE_INLINE, NULL), 0);
	assert_int_equal(lc_wire_mode(w), LC_WIRE_INLINE);
	lc_wire_stop(w);
	assert_int_equal(rte_eal_wait_lcore(lcore), 0);
	lc_wire_free(w);
}

/*
 * Frames longer than the wire's largest frame are dropped and counted,
 * never handed to a TX path; frames around the limit pass byte-exact.
 */
static void
test_oversize_dropped(void **state)
{
	struct lc_wire *w = make_wire(LC_WIRE_INLINE);
	struct lc_wire_port_stats cs;
	const uint16_t lens[] = { 1517, 1518, 1519, 2000, 1518 };
	struct rte_mbuf *m;

	(void)state;
	for (uint32_t i = 0; i < RTE_DIM(lens); i++) {
		if (lens[i] <= 1518) {
			m = make_frame(LC_SIDE_CLIENT, i, lens[i]);
		} else {
			/* Longer than a segment: a chain, as a scattering NIC makes. */
			m = make_frame(LC_SIDE_CLIENT, i, 1000);
			struct rte_mbuf *t = make_frame(LC_SIDE_CLIENT, i,
							(uint16_t)(lens[i] - 1000));
			assert_int_equal(rte_pktmbuf_chain(m, t), 0);
		}
		assert_int_equal(rte_ring_enqueue(sides[LC_SIDE_CLIENT].rx, m), 0);
	}
	while (lc_wire_poll(w) > 0)
		;
	lc_wire_get_port_stats(w, LC_SIDE_CLIENT, &cs);
	assert_int_equal(cs.rx_packets, RTE_DIM(lens));
	assert_int_equal(cs.drops[LC_DROP_OVERSIZE], 2);
	assert_int_equal(rte_ring_count(sides[LC_SIDE_SERVER].tx), 3);
	for (uint32_t i = 0; i < RTE_DIM(lens); i++) {
		if (lens[i] > 1518)
			continue;
		assert_int_equal(rte_ring_dequeue(sides[LC_SIDE_SERVER].tx,
						  (void **)&m), 0);
		check_frame(m, LC_SIDE_CLIENT, i, lens[i]);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);
	lc_wire_free(w);
}

/*
 * A jumbo frame chained over segments is parsed whole: the lengths in its
 * headers are checked against the frame, not the first segment, and headers
 * that straddle two segments are read across them.
 */
static void
test_chained_frames_parsed(void **state)
{
	static const uint8_t hdr[] = {
		/* Ethernet, 802.1Q tag 5, IPv4 */
		0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x81, 0x00, 0x00, 0x05,
		0x08, 0x00,
		/* IPv4, total length 1400 - 18, TCP, 10.0.0.1 -> 10.0.0.2 */
		0x45, 0, 0x05, 0x66, 0, 1, 0x40, 0, 64, 6, 0, 0,
		10, 0, 0, 1, 10, 0, 0, 2,
		/* TCP 40000 -> 443, ACK */
		0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x10,
		0xff, 0xff, 0, 0, 0, 0,
	};
	/* Where the first segment ends: after the headers, inside IPv4, inside TCP. */
	const uint16_t splits[] = { 600, 30, 45 };
	struct lc_wire_params p = {
		.port = { sides[0].port, sides[1].port }, .mode = LC_WIRE_INLINE,
		.vlan_mode = 2, .burst = 32, .tx_retries = 4, .max_frame = 9216,
		.rx_enabled = true, .socket_id = SOCKET_ID_ANY,
	};
	struct lc_wire *w = lc_wire_create(&p);
	struct lc_wire_port_stats cs;

	(void)state;
	assert_non_null(w);
	for (uint32_t i = 0; i < RTE_DIM(splits); i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		struct rte_mbuf *t = rte_pktmbuf_alloc(pool);
		uint8_t frame[1400];

		assert_non_null(m);
		assert_non_null(t);
		for (uint32_t k = 0; k < sizeof(frame); k++)
			frame[k] = (uint8_t)(k * 13 + i);
		memcpy(frame, hdr, sizeof(hdr));
		memcpy(rte_pktmbuf_append(m, splits[i]), frame, splits[i]);
		memcpy(rte_pktmbuf_append(t, (uint16_t)(sizeof(frame) - splits[i])),
		       frame + splits[i], sizeof(frame) - splits[i]);
		assert_int_equal(rte_pktmbuf_chain(m, t), 0);
		assert_int_equal(rte_ring_enqueue(sides[LC_SIDE_CLIENT].rx, m), 0);
	}
	while (lc_wire_poll(w) > 0)
		;
	lc_wire_get_port_stats(w, LC_SIDE_CLIENT, &cs);
	assert_int_equal(cs.rx_packets, RTE_DIM(splits));
	assert_int_equal(cs.parse[LC_PARSE_OK], RTE_DIM(splits));
	assert_int_equal(cs.drops[LC_DROP_OVERSIZE], 0);
	/* Forwarded whole and unchanged. */
	for (uint32_t i = 0; i < RTE_DIM(splits); i++) {
		struct rte_mbuf *m = NULL;
		uint8_t out[1400];

		assert_int_equal(rte_ring_dequeue(sides[LC_SIDE_SERVER].tx,
						  (void **)&m), 0);
		assert_int_equal(m->pkt_len, sizeof(out));
		assert_non_null(rte_pktmbuf_read(m, 0, sizeof(out), out));
		assert_memory_equal(out, hdr, sizeof(hdr));
		for (uint32_t k = sizeof(hdr); k < sizeof(out); k++)
			assert_int_equal(out[k], (uint8_t)(k * 13 + i));
		rte_pktmbuf_free(m);
	}
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);
	lc_wire_free(w);
}

/*
 * Without hugepages the packet pool is in memory of the process's own
 * (transparent huge pages where the kernel gives them): every mbuf works,
 * they are packed (not one to a 4 KiB page, as the EAL's memory would
 * have them), and freeing the pool unmaps it.
 */
static void
test_pool_without_hugepages(void **state)
{
	const uint16_t ports[LC_SIDE_MAX] = { sides[0].port, sides[1].port };
	const uint32_t n = 3000;
	static struct rte_mbuf *m[3000];
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes;
	unsigned char vec;
	struct rte_mempool *mp;
	void *first_page;

	(void)state;
	mp = lc_wire_pool_create(ports, 1518, n, SOCKET_ID_ANY);
	assert_non_null(mp);
	assert_int_equal(rte_mempool_avail_count(mp), n);
	/*
	 * Its handler is DPDK's stack: what a cache spilled to it is what the
	 * next refill takes (a ring would give the oldest of the 3000 first).
	 */
	assert_string_equal(lc_wire_pool_ops(mp), "stack");
	{
		void *a, *b;

		assert_int_equal(rte_mempool_generic_get(mp, &a, 1, NULL), 0);
		rte_mempool_generic_put(mp, &a, 1, NULL);
		assert_int_equal(rte_mempool_generic_get(mp, &b, 1, NULL), 0);
		assert_ptr_equal(a, b);
		rte_mempool_generic_put(mp, &b, 1, NULL);
	}
	assert_true(rte_pktmbuf_data_room_size(mp) >= RTE_PKTMBUF_HEADROOM + 1518);
	bytes = lc_wire_pool_thp_bytes(mp);
	if (rte_eal_has_hugepages() || rte_eal_iova_mode() != RTE_IOVA_VA) {
		/* The EAL's own memory: nothing outside it. */
		assert_int_equal(bytes, 0);
		rte_mempool_free(mp);
		return;
	}
	assert_true(bytes >= (size_t)n * (sizeof(struct rte_mbuf) + rte_pktmbuf_data_room_size(mp)));
	assert_true(bytes < (size_t)n * page);
	assert_int_equal(rte_pktmbuf_alloc_bulk(mp, m, n), 0);
	for (uint32_t i = 0; i < n; i++) {
		/* Its IOVA is its address, and all of its room can be written. */
		assert_int_equal(m[i]->buf_iova, (rte_iova_t)(uintptr_t)m[i]->buf_addr);
		memset(rte_pktmbuf_mtod(m[i], void *), (int)i, rte_pktmbuf_tailroom(m[i]));
		lo = RTE_MIN(lo, (uintptr_t)m[i]);
		hi = RTE_MAX(hi, (uintptr_t)m[i]);
	}
	assert_true(hi - lo < bytes);
	rte_pktmbuf_free_bulk(m, n);
	assert_int_equal(rte_mempool_avail_count(mp), n);
	first_page = (void *)RTE_ALIGN_FLOOR(lo, page);
	assert_int_equal(mincore(first_page, page, &vec), 0);
	rte_mempool_free(mp);
	/* Unmapped with the pool. */
	assert_int_equal(mincore(first_page, page, &vec), -1);
	assert_int_equal(errno, ENOMEM);
}

static void
test_create_rejects_bad_params(void **state)
{
	struct lc_wire_params p = {
		.port = { 0, 0 }, .burst = 32, .tx_retries = 1, .max_frame = 1518,
	};

	(void)state;
	assert_null(lc_wire_create(&p));
	p.port[1] = 1;
	p.max_frame = 0;
	assert_null(lc_wire_create(&p));
	p.max_frame = 1518;
	p.port[1] = 1;
	p.burst = 0;
	assert_null(lc_wire_create(&p));
	assert_null(lc_wire_create(NULL));
	lc_wire_free(NULL);
}

/*
 * ---- A full wire: flow table, users and assignments, shapers ----------
 *
 * The tests below build the wire as linecapd does (app/linecapd/main.c:
 * ports_up, shapers_up; users.c: users_create) and feed it real IPv4 frames
 * from the frame builder, so that the worker finds flows, binds them to
 * users and shapes them.
 */

#define RIG_USERS 8
#define MBIT 1000000ull
#define FRAME_LEN 1000
/*
 * A limited user: 8 Mbit/s (a frame of FRAME_LEN every millisecond) with
 * a burst of four frames, so that no dequeue lets more than four go at once
 * and a queue of twenty takes about 20 ms to leave.
 */
#define USER_RATE (8 * MBIT)
#define USER_BURST (4 * FRAME_LEN)
/* What a paced queue gets to leave before a test calls it stuck. */
#define DRAIN_LIMIT_S 5

struct rig_opts {
	enum lc_wire_mode mode;
	enum lc_shaper_engine engine;
	bool permit_invalid_flow;
	bool shape_unassigned;
	uint64_t unassigned_rate; /* bit/s of pipe 0; 0: the port rate */
	uint32_t queue_size;      /* frames per user queue; 0: 64 */
	uint32_t max_profiles;    /* 0: 8 */
	uint16_t workers;         /* 0 or 1: one, on sides; 2: on sides2 */
};

struct rig {
	struct lc_wire *w;
	struct lc_flow_table *flows;
	struct lc_assign *assign;
	struct lc_shaper *sh[LC_FLOW_DIRS];
	struct lc_worker_user *users; /* lc_assign_users(assign) */
	struct lc_wire_part more;     /* the second worker's, with two */
	struct lc_worker_user *users1; /* lc_assign_users(more.assign) */
};

static unsigned int rig_seq;
/* The rig of the running test, and whether it launched its worker. */
static struct rig *rig_now;
static bool rig_launched;

/* One rig at a time, not on a test's stack, so that rig_cleanup() finds it. */
static struct rig rig;

/* One worker's flow table, users and shapers, named after the rig and k. */
static struct lc_wire_part
rig_part(const struct rig_opts *o, unsigned int n, unsigned int k)
{
	struct lc_wire_part part;
	char fname[16], aname[16], sname[16];
	uint64_t hz = rte_get_tsc_hz();

	snprintf(aname, sizeof(aname), "wa%u_%u", n, k);
	snprintf(fname, sizeof(fname), "wf%u_%u", n, k);
	struct lc_assign_params ap = {
		.name = aname, .socket_id = SOCKET_ID_ANY, .users = RIG_USERS,
		.ip_capacity = 64, .pending_capacity = 64, .pending_ttl = 60 * hz,
	};
	part.assign = lc_assign_create(&ap);
	assert_non_null(part.assign);
	struct lc_flow_params fp = {
		.name = fname, .socket_id = SOCKET_ID_ANY, .capacity = 1024,
		.permit_invalid_flow = o->permit_invalid_flow, .hz = hz,
		.client_index = true, .expire = lc_assign_flow_expired,
		.expire_arg = part.assign,
	};
	part.flows = lc_flow_table_create(&fp);
	assert_non_null(part.flows);
	for (int d = 0; d < LC_FLOW_DIRS; d++) {
		snprintf(sname, sizeof(sname), "w%c%u_%u", d == 0 ? 'u' : 'd', n, k);
		struct lc_shaper_params sp = {
			.name = sname, .socket_id = SOCKET_ID_ANY, .engine = o->engine,
			.port_rate = 1000 * MBIT, .mtu = 1518, .users = RIG_USERS,
			.queue_size = o->queue_size != 0 ? o->queue_size : 64,
			.aqm = LC_SHAPER_AQM_NONE,
			.max_profiles = o->max_profiles != 0 ? o->max_profiles : 8,
			.unassigned_rate = o->unassigned_rate,
			.plans = 2, .plan_users = 2,
		};
		part.shaper[d] = lc_shaper_create(&sp);
		assert_non_null(part.shaper[d]);
	}
	return part;
}

static struct rig *
rig_up(const struct rig_opts *o)
{
	struct rig *r = &rig;
	unsigned int n = rig_seq++;
	bool two = o->workers == Q2;
	struct lc_wire_part p0;

	memset(r, 0, sizeof(*r));
	rig_now = r;
	p0 = rig_part(o, n, 0);
	r->assign = p0.assign;
	r->flows = p0.flows;
	r->sh[0] = p0.shaper[0];
	r->sh[1] = p0.shaper[1];
	r->users = lc_assign_users(r->assign);
	if (two) {
		r->more = rig_part(o, n, 1);
		r->users1 = lc_assign_users(r->more.assign);
	}
	struct lc_wire_params p = {
		.port = { two ? sides2[0].port : sides[0].port,
			  two ? sides2[1].port : sides[1].port },
		.mode = o->mode,
		.vlan_mode = 2,
		.burst = 32,
		.tx_retries = 4,
		.max_frame = 1518,
		.rx_enabled = true,
		.socket_id = SOCKET_ID_ANY,
		.flows = r->flows,
		.assign = r->assign,
		.shaper = { r->sh[0], r->sh[1] },
		.default_rate = { USER_RATE, USER_RATE },
		.shape_unassigned = { o->shape_unassigned, o->shape_unassigned },
		.users = RIG_USERS,
		/* Generous: the worker, or the test thread playing it, shares CPUs. */
		.call_timeout_ms = DRAIN_LIMIT_S * 1000,
		.workers = two ? Q2 : 1,
		.more = { r->more },
	};
	r->w = lc_wire_create(&p);
	assert_non_null(r->w);
	return r;
}

/*
 * Every frame a test sent must be accounted for by the test: the rings are
 * empty here. Frames still queued in a shaper are freed with it.
 */
static void
rig_free(struct rig *r)
{
	lc_wire_free(r->w);
	for (int d = 0; d < LC_FLOW_DIRS; d++) {
		lc_shaper_free(r->sh[d]);
		lc_shaper_free(r->more.shaper[d]);
	}
	lc_flow_table_free(r->flows);
	lc_assign_free(r->assign);
	lc_flow_table_free(r->more.flows);
	lc_assign_free(r->more.assign);
	rig_now = NULL;
}

static void
rig_down(struct rig *r)
{
	for (int s = 0; s < LC_SIDE_MAX; s++) {
		assert_int_equal(rte_ring_count(sides[s].rx), 0);
		assert_int_equal(rte_ring_count(sides[s].tx), 0);
	}
	rig_free(r);
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);
}

/* The rig's worker on the first worker lcore; rig_cleanup() stops it if the test fails. */
static void
rig_launch(struct rig *r)
{
	unsigned int lcore = rte_get_next_lcore(-1, 1, 0);

	assert_true(lcore < RTE_MAX_LCORE);
	assert_int_equal(rte_eal_remote_launch(lc_wire_worker_main, lc_wire_worker(r->w, 0), lcore), 0);
	rig_launched = true;
}

/* Stop the worker of rig_launch() and wait for it. */
static void
rig_land(struct rig *r)
{
	lc_wire_stop(r->w);
	assert_int_equal(rte_eal_wait_lcore(rte_get_next_lcore(-1, 1, 0)), 0);
	rig_launched = false;
}

/*
 * After a test that failed half-way: stop its worker, free its rig and
 * whatever it left on the rings, so that the tests after it start clean.
 */
static int
rig_cleanup(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	if (rig_launched) {
		lc_wire_stop(rig_now->w);
		rte_eal_wait_lcore(rte_get_next_lcore(-1, 1, 0));
		rig_launched = false;
	}
	if (rig_now != NULL)
		rig_free(rig_now);
	for (int s = 0; s < LC_SIDE_MAX; s++) {
		while (rte_ring_dequeue(sides[s].rx, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (rte_ring_dequeue(sides[s].tx, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		for (int q = 0; q < Q2; q++) {
			while (rte_ring_dequeue(sides2[s].rx[q], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			while (rte_ring_dequeue(sides2[s].tx[q], (void **)&m) == 0)
				rte_pktmbuf_free(m);
		}
	}
	return 0;
}

enum fr_kind { FR_UDP, FR_TCP_SYN, FR_TCP_ACK, FR_ARP, FR_LLDP };

/* A frame the test sends, built again byte for byte to check what came out. */
struct fr {
	uint8_t kind;
	bool down;     /* server -> client: received on the server port */
	uint32_t flow; /* lc_frames_flow_init(): client 10.0.0.(flow + 1) */
	uint32_t seq;  /* the first payload bytes: tells the frames apart */
	uint16_t len;
};

static uint16_t
fr_build(const struct fr *d, uint8_t *buf)
{
	static const uint8_t no_mac[6];
	struct lc_frames_flow f;
	struct lc_frame b;
	size_t n;

	lc_frames_flow_init(&f, d->flow);
	if (d->down)
		lc_frames_flow_reverse(&f, &f);
	lc_frame_init(&b, buf, LC_FRAME_MAX_LEN);
	lc_frame_eth(&b, f.dst_mac, f.src_mac);
	switch (d->kind) {
	case FR_UDP:
		lc_frame_ipv4(&b, f.src4, f.dst4);
		lc_frame_udp(&b, f.sport, f.dport);
		break;
	case FR_TCP_SYN:
	case FR_TCP_ACK:
		lc_frame_ipv4(&b, f.src4, f.dst4);
		lc_frame_tcp(&b, f.sport, f.dport, d->seq, d->kind == FR_TCP_ACK,
			     d->kind == FR_TCP_SYN ? 0x02 : 0x10, 0);
		break;
	case FR_ARP:
		lc_frame_arp(&b, 1, f.src_mac, f.src4, no_mac, f.dst4);
		break;
	case FR_LLDP:
		lc_frame_lldp(&b, f.src_mac, (uint16_t)d->seq);
		break;
	}
	lc_frame_bytes(&b, &d->seq, sizeof(d->seq));
	if (d->len > b.len)
		lc_frame_fill(&b, d->len - b.len, d->seq);
	n = lc_frame_finish(&b, LC_FRAME_MIN_LEN);
	assert_int_equal(n, d->len);
	return (uint16_t)n;
}

/* n frames of one kind and flow, seq from seq0 on. */
static void
fr_series(struct fr *d, uint32_t n, uint8_t kind, bool down, uint32_t flow,
	  uint32_t seq0, uint16_t len)
{
	for (uint32_t i = 0; i < n; i++)
		d[i] = (struct fr){ .kind = kind, .down = down, .flow = flow,
				    .seq = seq0 + i, .len = len };
}

/* Put frames on rx[side], the RX ring of the side each one arrives on. */
static void
fr_inject_rings(const struct fr *d, uint32_t n, struct rte_ring *const rx[LC_SIDE_MAX])
{
	uint8_t buf[LC_FRAME_MAX_LEN];

	for (uint32_t i = 0; i < n; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint16_t len = fr_build(&d[i], buf);

		assert_non_null(m);
		memcpy(rte_pktmbuf_append(m, len), buf, len);
		assert_int_equal(rte_ring_enqueue(rx[d[i].down ? LC_SIDE_SERVER :
						     LC_SIDE_CLIENT], m), 0);
	}
}

/* Put frames on the RX ring of the port each one arrives on. */
static void
fr_inject(const struct fr *d, uint32_t n)
{
	struct rte_ring *rx[LC_SIDE_MAX] = { sides[0].rx, sides[1].rx };

	fr_inject_rings(d, n, rx);
}

/* Whether m is the frame d, byte for byte. */
static bool
fr_same(const struct rte_mbuf *m, const struct fr *d)
{
	uint8_t want[LC_FRAME_MAX_LEN];
	uint16_t len = fr_build(d, want);

	return m->pkt_len == len && m->nb_segs == 1 &&
	       memcmp(rte_pktmbuf_mtod(m, const uint8_t *), want, len) == 0;
}

/*
 * Take up to n frames that the port transmitted: each must be d[i], in
 * order. Returns how many were there.
 */
static uint32_t
fr_take(int side, const struct fr *d, uint32_t n)
{
	struct rte_mbuf *m;
	uint32_t got = 0;

	while (got < n && rte_ring_dequeue(sides[side].tx, (void **)&m) == 0) {
		bool same = fr_same(m, &d[got]);

		rte_pktmbuf_free(m);
		if (!same)
			fail_msg("frame %u out of %s port: not seq %u as sent", got,
				 lc_side_name((enum lc_side)side), d[got].seq);
		got++;
	}
	return got;
}

/*
 * Take what the port transmitted, in any order: each frame must be one of
 * d[] not seen yet. Returns how many were taken.
 */
static uint32_t
fr_take_any(int side, const struct fr *d, uint32_t n, bool *seen)
{
	struct rte_mbuf *m;
	uint32_t got = 0;

	while (rte_ring_dequeue(sides[side].tx, (void **)&m) == 0) {
		uint32_t i = 0;

		while (i < n && (seen[i] || !fr_same(m, &d[i])))
			i++;
		rte_pktmbuf_free(m);
		if (i == n)
			fail_msg("a frame out of %s port that was not sent, or twice",
				 lc_side_name((enum lc_side)side));
		seen[i] = true;
		got++;
	}
	return got;
}

/* The client address of a flow as assignments name it: IPv4-mapped. */
static void
client_addr(uint32_t flow, uint8_t addr[16])
{
	struct lc_frames_flow f;

	lc_frames_flow_init(&f, flow);
	memset(addr, 0, 16);
	addr[10] = 0xff;
	addr[11] = 0xff;
	addr[12] = (uint8_t)(f.src4 >> 24);
	addr[13] = (uint8_t)(f.src4 >> 16);
	addr[14] = (uint8_t)(f.src4 >> 8);
	addr[15] = (uint8_t)f.src4;
}

static uint16_t
client_port(uint32_t flow)
{
	struct lc_frames_flow f;

	lc_frames_flow_init(&f, flow);
	return f.sport;
}

static uint64_t
deadline_s(unsigned int s)
{
	return rte_get_timer_cycles() + s * rte_get_timer_hz();
}

static bool
before(uint64_t deadline)
{
	return rte_get_timer_cycles() < deadline;
}

/*
 * Poll until the port has transmitted d[0..n-1], in order, with got of
 * them taken already; returns how many were taken in all. Paced frames
 * get DRAIN_LIMIT_S, which only a stuck queue runs out of.
 */
static uint32_t
poll_take(struct rig *r, int side, const struct fr *d, uint32_t got, uint32_t n)
{
	uint64_t end = deadline_s(DRAIN_LIMIT_S);

	while (got < n && before(end)) {
		lc_wire_poll(r->w);
		got += fr_take(side, d + got, n - got);
	}
	return got;
}

/*
 * Control calls while the test thread plays the worker: the call runs on
 * the other lcore, as linecapd's control thread would, and this thread
 * polls until it returns. (A launched worker cannot be used for set-up:
 * when it stops it flushes the shapers, which lifts their limits for good.)
 */
struct ctl {
	struct lc_wire *w;
	int (*fn)(struct lc_wire *w, void *arg);
	void *arg;
};

static int
ctl_main(void *p)
{
	struct ctl *c = p;

	return c->fn(c->w, c->arg);
}

static int
ctl_run(struct lc_wire *w, int (*fn)(struct lc_wire *, void *), void *arg)
{
	unsigned int lcore = rte_get_next_lcore(-1, 1, 0);
	struct ctl c = { .w = w, .fn = fn, .arg = arg };

	assert_true(lcore < RTE_MAX_LCORE);
	assert_int_equal(rte_eal_remote_launch(ctl_main, &c, lcore), 0);
	while (rte_eal_get_lcore_state(lcore) != WAIT)
		lc_wire_poll(w);
	return rte_eal_wait_lcore(lcore);
}

struct ctl_batch {
	struct lc_wire_assignment *list;
	uint32_t n;
};

static int
ctl_assign_fn(struct lc_wire *w, void *arg)
{
	struct ctl_batch *b = arg;

	return lc_wire_assign(w, b->list, b->n);
}

static int
ctl_state_fn(struct lc_wire *w, void *arg)
{
	enum lc_state *s = arg; /* in: the new state; out: the old one */

	return lc_wire_set_state(w, s[0], &s[1]);
}

static int
ctl_mode_fn(struct lc_wire *w, void *arg)
{
	struct lc_wire_switch *was = arg;

	return lc_wire_set_mode(w, (enum lc_wire_mode)was->old_mode, was);
}

static int
ctl_counters_fn(struct lc_wire *w, void *arg)
{
	return lc_wire_assign_counters(w, arg);
}

static int
ctl_flow_counters_fn(struct lc_wire *w, void *arg)
{
	return lc_wire_flow_counters(w, arg);
}

/* User id comes to life with rate and burst both ways, and owns flow's client IP. */
static void
add_user_ip(struct rig *r, uint32_t id, uint64_t rate, uint32_t burst, uint32_t flow)
{
	struct lc_wire_assignment e[2] = {
		{ .op = LC_WIRE_USER_ADD, .user = id,
		  .limits = { .rate = { rate, rate }, .burst = { burst, burst } } },
		{ .op = LC_WIRE_ASSIGN_IP, .user = id },
	};
	struct ctl_batch b = { .list = e, .n = 2 };

	client_addr(flow, e[1].addr);
	assert_int_equal(ctl_run(r->w, ctl_assign_fn, &b), 0);
	assert_int_equal(e[0].err, 0);
	assert_int_equal(e[1].err, 0);
	assert_int_equal(e[1].result, LC_ASSIGN_BOUND);
	assert_true(r->users[id].live);
}

static enum lc_state
set_state(struct rig *r, enum lc_state state)
{
	enum lc_state s[2] = { state, (enum lc_state)99 };

	assert_int_equal(ctl_run(r->w, ctl_state_fn, s), 0);
	assert_int_equal(lc_wire_state(r->w), state);
	return s[1];
}

/*
 * TAP mode with users and shapers: the meters tell what inline shaping
 * would drop, counted on the user, and nothing is transmitted or queued.
 * Switched to inline, the same user's frames are queued and paced out.
 */
static void
test_full_tap_counts_inline_shapes(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_TAP, .engine = LC_SHAPER_SCHED };
	struct lc_wire_switch was = { .old_mode = LC_WIRE_INLINE };
	struct lc_wire_port_stats cs;
	struct lc_shaper_stats st;
	struct fr tap[20], in[20];
	struct rig *r;
	uint32_t got;

	(void)state;
	r = rig_up(&o);
	add_user_ip(r, 1, USER_RATE, USER_BURST, 1);
	/* One burst, so one meter time: the bucket holds four of the twenty. */
	fr_series(tap, 20, FR_UDP, false, 1, 0, FRAME_LEN);
	fr_inject(tap, 20);
	assert_int_equal(lc_wire_poll(r->w), 20);
	while (lc_wire_poll(r->w) > 0)
		;
	lc_wire_get_port_stats(r->w, LC_SIDE_CLIENT, &cs);
	assert_int_equal(cs.tap_packets, 20);
	assert_int_equal(cs.drops[LC_DROP_POLICE] + cs.drops[LC_DROP_SHAPER], 0);
	assert_int_equal(r->users[1].packets[LC_FLOW_DIR_UP], 20);
	assert_int_equal(r->users[1].bytes[LC_FLOW_DIR_UP], 20 * FRAME_LEN);
	assert_int_equal(r->users[1].drops[LC_FLOW_DIR_UP], 16);
	assert_int_equal(r->users[0].drops[LC_FLOW_DIR_UP], 0);
	lc_shaper_stats_get(r->sh[LC_FLOW_DIR_UP], &st);
	assert_int_equal(st.enqueued, 0);
	assert_int_equal(st.meter_red, 16);
	assert_int_equal(rte_ring_count(sides[LC_SIDE_SERVER].tx), 0);
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);

	assert_int_equal(ctl_run(r->w, ctl_mode_fn, &was), 0);
	assert_int_equal(was.old_mode, LC_WIRE_TAP);
	assert_int_equal(was.rx_packets[LC_SIDE_CLIENT], 20);
	fr_series(in, 20, FR_UDP, false, 1, 100, FRAME_LEN);
	fr_inject(in, 20);
	lc_wire_poll(r->w);
	/* Queued, not all out at once; then all of it, in order, unchanged. */
	got = fr_take(LC_SIDE_SERVER, in, 20);
	assert_true(got < 20);
	assert_true(lc_shaper_queued(r->sh[LC_FLOW_DIR_UP]) > 0);
	assert_int_equal(poll_take(r, LC_SIDE_SERVER, in, got, 20), 20);
	lc_shaper_stats_get(r->sh[LC_FLOW_DIR_UP], &st);
	assert_int_equal(st.enqueued, 20);
	assert_int_equal(st.dequeued, 20);
	lc_wire_get_port_stats(r->w, LC_SIDE_CLIENT, &cs);
	assert_int_equal(cs.tap_packets, 20);
	assert_int_equal(r->users[1].packets[LC_FLOW_DIR_UP], 40);
	/* Inline queues what TAP would have dropped: no new drop. */
	assert_int_equal(r->users[1].drops[LC_FLOW_DIR_UP], 16);
	rig_down(r);
}

/*
 * The shaping states: present queues a limited user's frames; disabled
 * forwards everything in the poll that received it, still counting it for
 * the user; absent removes the users and their assignments, so that the
 * flow's frames count as nobody's and pass unshaped, also once shaping is
 * present again.
 */
static void
test_full_states(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_INLINE, .engine = LC_SHAPER_SCHED };
	struct lc_assign_counters ac;
	struct lc_shaper_stats st;
	struct fr f[80];
	struct rig *r;
	uint32_t got;

	(void)state;
	r = rig_up(&o);
	add_user_ip(r, 1, USER_RATE, USER_BURST, 1);

	fr_series(f, 20, FR_UDP, false, 1, 0, FRAME_LEN);
	fr_inject(f, 20);
	lc_wire_poll(r->w);
	got = fr_take(LC_SIDE_SERVER, f, 20);
	assert_true(got < 20);
	assert_int_equal(poll_take(r, LC_SIDE_SERVER, f, got, 20), 20);

	assert_int_equal(set_state(r, LC_STATE_DISABLED), LC_STATE_PRESENT);
	fr_series(f + 20, 20, FR_UDP, false, 1, 20, FRAME_LEN);
	fr_inject(f + 20, 20);
	assert_int_equal(lc_wire_poll(r->w), 20);
	assert_int_equal(fr_take(LC_SIDE_SERVER, f + 20, 20), 20);
	lc_shaper_stats_get(r->sh[LC_FLOW_DIR_UP], &st);
	assert_int_equal(st.enqueued, 20);
	assert_int_equal(r->users[1].packets[LC_FLOW_DIR_UP], 40);

	assert_int_equal(set_state(r, LC_STATE_ABSENT), LC_STATE_DISABLED);
	assert_false(r->users[1].live);
	assert_int_equal(ctl_run(r->w, ctl_counters_fn, &ac), 0);
	assert_int_equal(ac.ip_rules, 0);
	fr_series(f + 40, 20, FR_UDP, false, 1, 40, FRAME_LEN);
	fr_inject(f + 40, 20);
	assert_int_equal(lc_wire_poll(r->w), 20);
	assert_int_equal(fr_take(LC_SIDE_SERVER, f + 40, 20), 20);
	assert_int_equal(r->users[1].packets[LC_FLOW_DIR_UP], 40);
	assert_int_equal(r->users[0].packets[LC_FLOW_DIR_UP], 20);
	assert_int_equal(r->users[1].flows, 0);

	/* Present again: nothing assigned is left, so nothing is shaped. */
	assert_int_equal(set_state(r, LC_STATE_PRESENT), LC_STATE_ABSENT);
	fr_series(f + 60, 20, FR_UDP, false, 1, 60, FRAME_LEN);
	fr_inject(f + 60, 20);
	assert_int_equal(lc_wire_poll(r->w), 20);
	assert_int_equal(fr_take(LC_SIDE_SERVER, f + 60, 20), 20);
	assert_int_equal(r->users[0].packets[LC_FLOW_DIR_UP], 40);
	lc_shaper_stats_get(r->sh[LC_FLOW_DIR_UP], &st);
	assert_int_equal(st.enqueued, 20);
	rig_down(r);
}

/*
 * The sched engine queues a limited user's frames both ways and paces them
 * out in order: never all in the poll that received them, all of them
 * eventually, none dropped.
 */
static void
test_full_sched_paces_user(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_INLINE, .engine = LC_SHAPER_SCHED };
	struct lc_wire_port_stats cs, ss;
	struct fr up[30], down[30];
	struct rig *r;
	uint32_t got_up, got_down;

	(void)state;
	r = rig_up(&o);
	add_user_ip(r, 1, USER_RATE, USER_BURST, 1);
	fr_series(up, 30, FR_UDP, false, 1, 0, FRAME_LEN);
	fr_series(down, 30, FR_UDP, true, 1, 1000, FRAME_LEN);
	fr_inject(up, 30);
	fr_inject(down, 30);
	lc_wire_poll(r->w);
	got_up = fr_take(LC_SIDE_SERVER, up, 30);
	got_down = fr_take(LC_SIDE_CLIENT, down, 30);
	assert_true(got_up < 30 && got_down < 30);
	assert_true(lc_shaper_queued(r->sh[LC_FLOW_DIR_UP]) > 0);
	assert_true(lc_shaper_queued(r->sh[LC_FLOW_DIR_DOWN]) > 0);

	uint64_t end = deadline_s(DRAIN_LIMIT_S);
	while ((got_up < 30 || got_down < 30) && before(end)) {
		lc_wire_poll(r->w);
		got_up += fr_take(LC_SIDE_SERVER, up + got_up, 30 - got_up);
		got_down += fr_take(LC_SIDE_CLIENT, down + got_down, 30 - got_down);
	}
	assert_int_equal(got_up, 30);
	assert_int_equal(got_down, 30);
	lc_wire_get_port_stats(r->w, LC_SIDE_CLIENT, &cs);
	lc_wire_get_port_stats(r->w, LC_SIDE_SERVER, &ss);
	assert_int_equal(ss.tx_packets, 30);
	assert_int_equal(cs.tx_packets, 30);
	assert_int_equal(cs.drops[LC_DROP_SHAPER] + ss.drops[LC_DROP_SHAPER], 0);
	assert_int_equal(r->users[1].packets[LC_FLOW_DIR_UP], 30);
	assert_int_equal(r->users[1].packets[LC_FLOW_DIR_DOWN], 30);
	assert_int_equal(r->users[1].drops[LC_FLOW_DIR_UP] +
			 r->users[1].drops[LC_FLOW_DIR_DOWN], 0);
	assert_int_equal(lc_shaper_queued(r->sh[LC_FLOW_DIR_UP]), 0);
	rig_down(r);
}

/*
 * The police engine queues nothing: within one burst (one meter time) the
 * user's bucket passes four frames at once and the rest are dropped and
 * counted; after a pause the refilled bucket passes frames again. With
 * unassigned traffic unlimited, it is not metered, even though pipe 0 has a
 * rate it exceeds.
 */
static void
test_full_police_drops_above_rate(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_INLINE, .engine = LC_SHAPER_POLICE,
			      .unassigned_rate = 64000 };
	struct lc_wire_port_stats cs;
	struct lc_shaper_stats st;
	struct fr f[30], other[20];
	struct rig *r;
	uint32_t got;

	(void)state;
	r = rig_up(&o);
	add_user_ip(r, 1, USER_RATE, USER_BURST, 1);
	fr_series(f, 10, FR_UDP, false, 1, 0, FRAME_LEN);
	/* 30000 bytes: more than pipe 0's burst (18432) if it were metered. */
	fr_series(other, 20, FR_UDP, false, 2, 500, 1500);
	fr_inject(f, 5);
	fr_inject(other, 20);
	fr_inject(f + 5, 5);
	assert_int_equal(lc_wire_poll(r->w), 30);
	assert_int_equal(fr_take(LC_SIDE_SERVER, f, 4), 4);
	assert_int_equal(fr_take(LC_SIDE_SERVER, other, 20), 20);
	assert_int_equal(rte_ring_count(sides[LC_SIDE_SERVER].tx), 0);
	lc_wire_get_port_stats(r->w, LC_SIDE_CLIENT, &cs);
	assert_int_equal(cs.drops[LC_DROP_POLICE], 6);
	assert_int_equal(r->users[1].drops[LC_FLOW_DIR_UP], 6);
	assert_int_equal(r->users[1].packets[LC_FLOW_DIR_UP], 10);
	assert_int_equal(r->users[0].packets[LC_FLOW_DIR_UP], 20);
	assert_int_equal(r->users[0].drops[LC_FLOW_DIR_UP], 0);
	lc_shaper_stats_get(r->sh[LC_FLOW_DIR_UP], &st);
	assert_int_equal(st.meter_red, 6);
	assert_int_equal(st.enqueued, 0);
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);

	/* 5 ms at 8 Mbit/s refills at least one frame, the burst at most four. */
	rte_delay_us_sleep(5000);
	fr_series(f + 10, 20, FR_UDP, false, 1, 10, FRAME_LEN);
	fr_inject(f + 10, 20);
	assert_int_equal(lc_wire_poll(r->w), 20);
	got = fr_take(LC_SIDE_SERVER, f + 10, 20);
	assert_true(got >= 1 && got <= 4);
	lc_wire_get_port_stats(r->w, LC_SIDE_CLIENT, &cs);
	assert_int_equal(cs.drops[LC_DROP_POLICE], 6 + 20 - got);
	assert_int_equal(r->users[1].drops[LC_FLOW_DIR_UP], 6 + 20 - got);
	rig_down(r);
}

/*
 * Frames that are not IP (ARP, LLDP) and unassigned traffic, with
 * unassigned traffic unlimited, go straight out in the poll that received
 * them, in order, even while a user's queue is full and dropping; none of
 * them touches the shaper. The user's queue drops reach its counter.
 */
static void
test_full_bypass_while_queue_full(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_INLINE, .engine = LC_SHAPER_SCHED,
			      .queue_size = 16 };
	struct lc_wire_port_stats cs, ss;
	struct lc_shaper_stats st;
	struct fr user[42], pass[5], arp_down;
	struct rig *r;
	uint32_t user_out, first_out, drops;

	(void)state;
	r = rig_up(&o);
	/* 64 kbit/s, a burst of two frames: the queue stays full. */
	add_user_ip(r, 1, 64000, 2 * FRAME_LEN, 1);
	fr_series(user, 42, FR_UDP, false, 1, 0, FRAME_LEN);
	fr_inject(user, 32);
	lc_wire_poll(r->w);
	lc_wire_get_port_stats(r->w, LC_SIDE_CLIENT, &cs);
	assert_int_equal(cs.rx_packets, 32);
	assert_int_equal(cs.drops[LC_DROP_SHAPER], 32 - 16);
	user_out = fr_take(LC_SIDE_SERVER, user, 16);
	assert_true(user_out <= 2);
	first_out = user_out;
	assert_true(lc_shaper_queued(r->sh[LC_FLOW_DIR_UP]) >= 14);

	pass[0] = (struct fr){ .kind = FR_ARP, .flow = 1, .seq = 900, .len = 60 };
	pass[1] = (struct fr){ .kind = FR_UDP, .flow = 2, .seq = 901, .len = 300 };
	pass[2] = (struct fr){ .kind = FR_LLDP, .flow = 1, .seq = 902, .len = 80 };
	pass[3] = (struct fr){ .kind = FR_UDP, .flow = 2, .seq = 903, .len = 1500 };
	pass[4] = (struct fr){ .kind = FR_UDP, .flow = 3, .seq = 904, .len = 64 };
	arp_down = (struct fr){ .kind = FR_ARP, .down = true, .flow = 1, .seq = 905,
				.len = 60 };
	fr_inject(user + 32, 6);
	fr_inject(pass, 3);
	fr_inject(user + 38, 4);
	fr_inject(pass + 3, 2);
	fr_inject(&arp_down, 1);
	lc_wire_poll(r->w);
	assert_int_equal(rte_ring_count(sides[LC_SIDE_CLIENT].rx) +
			 rte_ring_count(sides[LC_SIDE_SERVER].rx), 0);
	/* They leave first, before what the shaper lets out in that poll. */
	assert_int_equal(fr_take(LC_SIDE_SERVER, pass, 5), 5);
	assert_int_equal(fr_take(LC_SIDE_CLIENT, &arp_down, 1), 1);
	user_out += fr_take(LC_SIDE_SERVER, user + user_out, 16 - user_out);
	assert_int_equal(rte_ring_count(sides[LC_SIDE_SERVER].tx), 0);
	assert_true(user_out <= 4);

	lc_wire_get_port_stats(r->w, LC_SIDE_CLIENT, &cs);
	lc_wire_get_port_stats(r->w, LC_SIDE_SERVER, &ss);
	/* The queue had room for what the first poll let out, no more. */
	drops = (uint32_t)cs.drops[LC_DROP_SHAPER];
	assert_int_equal(drops, 16 + 10 - first_out);
	lc_shaper_stats_get(r->sh[LC_FLOW_DIR_UP], &st);
	/* Every user frame was queued or dropped; nothing else came near. */
	assert_int_equal(st.enqueued + drops, 42);
	assert_int_equal(st.dropped_tail, drops);
	lc_shaper_stats_get(r->sh[LC_FLOW_DIR_DOWN], &st);
	assert_int_equal(st.enqueued + st.dropped_tail, 0);
	assert_int_equal(ss.parse[LC_PARSE_NON_IP], 1);
	assert_int_equal(cs.parse[LC_PARSE_NON_IP], 2);
	assert_int_equal(r->users[0].packets[LC_FLOW_DIR_UP], 3);
	assert_int_equal(r->users[1].packets[LC_FLOW_DIR_UP], 42);

	/* Within UPKEEP_EVERY (8) iterations the drops reach the user. */
	for (int i = 0; i < 8; i++)
		lc_wire_poll(r->w);
	assert_int_equal(r->users[1].drops[LC_FLOW_DIR_UP], drops);
	user_out += fr_take(LC_SIDE_SERVER, user + user_out, 16 - user_out);
	rig_down(r);
}

/*
 * With unassigned traffic limited, it goes through the shaper's pipe 0:
 * queued and paced at the unassigned rate, while non-IP frames still pass
 * at once.
 */
static void
test_full_shape_unassigned_pipe0(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_INLINE, .engine = LC_SHAPER_SCHED,
			      .shape_unassigned = true,
			      .unassigned_rate = USER_RATE };
	struct lc_wire_port_stats ss;
	struct lc_shaper_stats st;
	struct fr f[40], arp;
	struct rig *r;
	uint32_t got;

	(void)state;
	r = rig_up(&o);
	/* The default burst of 8 Mbit/s holds 18 frames: 40 cannot leave at once. */
	fr_series(f, 40, FR_UDP, false, 2, 0, FRAME_LEN);
	arp = (struct fr){ .kind = FR_ARP, .flow = 2, .seq = 77, .len = 60 };
	fr_inject(f, 20);
	fr_inject(&arp, 1);
	fr_inject(f + 20, 11);
	lc_wire_poll(r->w);
	assert_int_equal(fr_take(LC_SIDE_SERVER, &arp, 1), 1);
	fr_inject(f + 31, 9);
	got = fr_take(LC_SIDE_SERVER, f, 40);
	assert_true(got < 31);
	assert_int_equal(poll_take(r, LC_SIDE_SERVER, f, got, 40), 40);
	lc_shaper_stats_get(r->sh[LC_FLOW_DIR_UP], &st);
	assert_int_equal(st.enqueued, 40);
	assert_int_equal(st.dequeued, 40);
	assert_int_equal(r->users[0].packets[LC_FLOW_DIR_UP], 40);
	lc_wire_get_port_stats(r->w, LC_SIDE_SERVER, &ss);
	assert_int_equal(ss.tx_packets, 41);
	rig_down(r);
}

/*
 * Frames the shaper lets out into a TX ring that stays full are dropped,
 * counted on the port that received them, and freed.
 */
static void
test_full_tx_full_after_shaper(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_INLINE, .engine = LC_SHAPER_SCHED };
	struct lc_wire_port_stats cs, ss;
	struct fr fill[63], f[10];
	struct rig *r;

	(void)state;
	r = rig_up(&o);
	add_user_ip(r, 1, USER_RATE, USER_BURST, 1);
	/* Unassigned frames fill the server's TX ring (63) without the shaper. */
	fr_series(fill, 63, FR_UDP, false, 2, 0, 200);
	fr_inject(fill, 63);
	while (lc_wire_poll(r->w) > 0)
		;
	assert_int_equal(rte_ring_count(sides[LC_SIDE_SERVER].tx), 63);

	fr_series(f, 10, FR_UDP, false, 1, 100, FRAME_LEN);
	fr_inject(f, 10);
	lc_wire_poll(r->w);
	uint64_t end = deadline_s(DRAIN_LIMIT_S);
	while (lc_shaper_queued(r->sh[LC_FLOW_DIR_UP]) > 0 && before(end))
		lc_wire_poll(r->w);
	assert_int_equal(lc_shaper_queued(r->sh[LC_FLOW_DIR_UP]), 0);
	lc_wire_get_port_stats(r->w, LC_SIDE_CLIENT, &cs);
	lc_wire_get_port_stats(r->w, LC_SIDE_SERVER, &ss);
	assert_int_equal(cs.drops[LC_DROP_TX_FULL], 10);
	assert_int_equal(cs.drops[LC_DROP_SHAPER], 0);
	assert_int_equal(ss.tx_packets, 63);
	assert_int_equal(r->users[1].packets[LC_FLOW_DIR_UP], 10);
	/* The ring holds what filled it, unchanged; the ten are back in the pool. */
	assert_int_equal(fr_take(LC_SIDE_SERVER, fill, 63), 63);
	rig_down(r);
}

/*
 * permit_invalid_flow = no: TCP that opens no session (mid-stream, either
 * way) is dropped and counted, and counts for no user; a SYN opens the
 * flow, which is bound to its user, and the rest of it passes.
 */
static void
test_full_invalid_flow_dropped(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_INLINE, .engine = LC_SHAPER_SCHED };
	struct lc_wire_port_stats cs, ss;
	struct lc_flow_counters fc;
	struct fr bad[4], good[2];
	struct rig *r;

	(void)state;
	r = rig_up(&o);
	add_user_ip(r, 1, USER_RATE, USER_BURST, 1);
	fr_series(bad, 3, FR_TCP_ACK, false, 1, 0, 400);
	bad[3] = (struct fr){ .kind = FR_TCP_ACK, .down = true, .flow = 2, .seq = 3,
			      .len = 400 };
	fr_inject(bad, 4);
	assert_int_equal(lc_wire_poll(r->w), 4);
	lc_wire_get_port_stats(r->w, LC_SIDE_CLIENT, &cs);
	lc_wire_get_port_stats(r->w, LC_SIDE_SERVER, &ss);
	assert_int_equal(cs.drops[LC_DROP_INVALID_FLOW], 3);
	assert_int_equal(ss.drops[LC_DROP_INVALID_FLOW], 1);
	assert_int_equal(cs.tx_packets + ss.tx_packets, 0);
	assert_int_equal(r->users[1].packets[LC_FLOW_DIR_UP], 0);
	assert_int_equal(r->users[0].packets[LC_FLOW_DIR_DOWN], 0);
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);

	good[0] = (struct fr){ .kind = FR_TCP_SYN, .flow = 1, .seq = 10, .len = 80 };
	good[1] = (struct fr){ .kind = FR_TCP_ACK, .flow = 1, .seq = 11, .len = 400 };
	fr_inject(good, 2);
	assert_int_equal(poll_take(r, LC_SIDE_SERVER, good, 0, 2), 2);
	assert_int_equal(r->users[1].packets[LC_FLOW_DIR_UP], 2);
	assert_int_equal(r->users[1].flows, 1);
	assert_int_equal(ctl_run(r->w, ctl_flow_counters_fn, &fc), 0);
	assert_int_equal(fc.invalid_flow, 4);
	assert_int_equal(fc.created, 1);
	assert_int_equal(fc.created_midstream, 0);
	lc_wire_get_port_stats(r->w, LC_SIDE_CLIENT, &cs);
	assert_int_equal(cs.drops[LC_DROP_INVALID_FLOW], 3);
	rig_down(r);
}

/* Wait (DRAIN_LIMIT_S at most) until the worker's counter reaches want. */
static bool
wait_count(const uint64_t *c, uint64_t want)
{
	uint64_t end = deadline_s(DRAIN_LIMIT_S);

	while (__atomic_load_n(c, __ATOMIC_RELAXED) < want && before(end))
		rte_delay_us_sleep(100);
	return __atomic_load_n(c, __ATOMIC_RELAXED) == want;
}

/* Wait until the port has transmitted n frames, then take them, any order. */
static void
take_all(int side, const struct fr *d, uint32_t n, bool *seen)
{
	uint64_t end = deadline_s(DRAIN_LIMIT_S);
	uint32_t got = 0;

	while (got < n && before(end))
		got += fr_take_any(side, d, n, seen);
	assert_int_equal(got, n);
}

/* The flows the worker lists, walked one per call to the end. */
static uint32_t
list_flows(struct lc_wire *w, struct lc_wire_flow_info *out, uint32_t max)
{
	uint32_t cursor = LC_FLOW_CURSOR_START, n = 0, calls = 0;
	uint64_t now = 0;

	while (cursor != LC_FLOW_CURSOR_END) {
		int k = lc_wire_flows(w, &cursor, out + n, RTE_MIN(1u, max - n), &now);

		assert_true(k == 0 || k == 1);
		assert_true(now != 0);
		n += (uint32_t)k;
		assert_true(++calls < 100);
	}
	return n;
}

static const struct lc_wire_flow_info *
find_flow(const struct lc_wire_flow_info *l, uint32_t n, uint32_t flow)
{
	uint8_t addr[16];

	client_addr(flow, addr);
	for (uint32_t i = 0; i < n; i++)
		if (memcmp(l[i].key.client, addr, 16) == 0 &&
		    l[i].key.client_port == client_port(flow))
			return &l[i];
	return NULL;
}

/*
 * Users and assignments through the typed calls, with the worker running:
 * a user comes to life once, with limits the shapers can take or not at
 * all; an endpoint assigned before its flow binds the flow on its first
 * frame, an IP-wide one every flow of the address, an endpoint assigned
 * later the flow that exists; the users' counters count their flows' frames
 * both ways; the flow list walks to its end; a retired id is gone only
 * once no flow holds it, and may then be given out again.
 */
static void
test_full_users_and_assignments(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_INLINE, .engine = LC_SHAPER_SCHED,
			      .max_profiles = 3 };
	const struct lc_wire_limits l8 = { .rate = { USER_RATE, USER_RATE } };
	const struct lc_wire_limits l16 = { .rate = { 2 * USER_RATE, 2 * USER_RATE } };
	const struct lc_wire_limits l8_16 = { .rate = { USER_RATE, 2 * USER_RATE } };
	struct lc_wire_flow_info list[8];
	const struct lc_wire_flow_info *fi;
	struct lc_assign_counters ac;
	struct lc_shaper_stats sst[LC_FLOW_DIRS];
	struct lc_wire_assignment e[2];
	struct fr up[16], down[3], more[2];
	bool seen_up[16] = { false }, seen_down[3] = { false };
	bool seen_more[2] = { false }, gone[2];
	const uint32_t retired[2] = { 1, 5 };
	struct rig *r;
	uint32_t n;

	(void)state;
	r = rig_up(&o);
	rig_launch(r);

	/* Profiles: the port rate, 8 and 16 Mbit/s; the table is then full. */
	assert_int_equal(lc_wire_user_add(r->w, 1, &l8), 0);
	assert_int_equal(lc_wire_user_add(r->w, 1, &l8), -EEXIST);
	assert_int_equal(lc_wire_user_add(r->w, 2, &l16), 0);
	assert_int_equal(lc_wire_user_add(r->w, 3, &l8_16), 0);
	assert_int_equal(lc_wire_shaper_stats(r->w, sst), 0);
	assert_int_equal(sst[LC_FLOW_DIR_UP].profiles_used, 3);
	/* 24 Mbit/s up needs a fourth profile: neither direction is set. */
	memset(e, 0, sizeof(e));
	e[0] = (struct lc_wire_assignment){ .op = LC_WIRE_USER_ADD, .user = 4,
		.limits = { .rate = { 3 * USER_RATE, USER_RATE } } };
	e[1] = (struct lc_wire_assignment){ .op = LC_WIRE_ASSIGN_IP, .user = 4 };
	client_addr(4, e[1].addr);
	assert_int_equal(lc_wire_assign(r->w, e, 2), 0);
	assert_int_equal(e[0].err, -ENOSPC);
	assert_int_equal(e[1].err, -EINVAL);
	assert_false(__atomic_load_n(&r->users[4].live, __ATOMIC_ACQUIRE));
	assert_int_equal(lc_wire_shaper_stats(r->w, sst), 0);
	assert_int_equal(sst[LC_FLOW_DIR_UP].profiles_used, 3);
	assert_int_equal(sst[LC_FLOW_DIR_DOWN].profiles_used, 3);

	/* Flow 1's endpoint before it exists; flow 2's address IP-wide. */
	memset(e, 0, sizeof(e));
	e[0] = (struct lc_wire_assignment){ .op = LC_WIRE_ASSIGN_ENDPOINT, .user = 1,
					    .port = client_port(1) };
	client_addr(1, e[0].addr);
	e[1] = (struct lc_wire_assignment){ .op = LC_WIRE_ASSIGN_IP, .user = 2 };
	client_addr(2, e[1].addr);
	assert_int_equal(lc_wire_assign(r->w, e, 2), 0);
	assert_int_equal(e[0].err, 0);
	assert_int_equal(e[0].result, LC_ASSIGN_PENDING);
	assert_int_equal(e[1].err, 0);
	assert_int_equal(e[1].result, LC_ASSIGN_BOUND);

	fr_series(up, 5, FR_UDP, false, 1, 0, 700);
	fr_series(up + 5, 4, FR_UDP, false, 2, 5, 900);
	fr_series(up + 9, 2, FR_UDP, false, 3, 9, 300);
	fr_series(down, 3, FR_UDP, true, 1, 20, 1200);
	fr_inject(up, 11);
	fr_inject(down, 3);
	take_all(LC_SIDE_SERVER, up, 11, seen_up);
	take_all(LC_SIDE_CLIENT, down, 3, seen_down);
	assert_true(wait_count(&r->users[1].packets[LC_FLOW_DIR_UP], 5));
	assert_true(wait_count(&r->users[1].packets[LC_FLOW_DIR_DOWN], 3));
	assert_true(wait_count(&r->users[1].bytes[LC_FLOW_DIR_DOWN], 3 * 1200));
	assert_true(wait_count(&r->users[2].packets[LC_FLOW_DIR_UP], 4));
	assert_true(wait_count(&r->users[2].bytes[LC_FLOW_DIR_UP], 4 * 900));
	assert_true(wait_count(&r->users[0].packets[LC_FLOW_DIR_UP], 2));

	/* Flow 3 exists: its endpoint is bound now, and its frames count for 3. */
	memset(e, 0, sizeof(e));
	e[0] = (struct lc_wire_assignment){ .op = LC_WIRE_ASSIGN_ENDPOINT, .user = 3,
					    .port = client_port(3) };
	client_addr(3, e[0].addr);
	assert_int_equal(lc_wire_assign(r->w, e, 1), 0);
	assert_int_equal(e[0].err, 0);
	assert_int_equal(e[0].result, LC_ASSIGN_BOUND);
	fr_series(more, 2, FR_UDP, false, 3, 30, 300);
	fr_inject(more, 2);
	take_all(LC_SIDE_SERVER, more, 2, seen_more);
	assert_true(wait_count(&r->users[3].packets[LC_FLOW_DIR_UP], 2));
	assert_int_equal(__atomic_load_n(&r->users[0].packets[LC_FLOW_DIR_UP],
					 __ATOMIC_RELAXED), 2);

	assert_int_equal(lc_wire_assign_counters(r->w, &ac), 0);
	assert_int_equal(ac.bound_on_create, 1);
	assert_int_equal(ac.bound_by_ip, 1);
	assert_int_equal(ac.ip_rules, 1);

	n = list_flows(r->w, list, RTE_DIM(list));
	assert_int_equal(n, 3);
	fi = find_flow(list, n, 1);
	assert_non_null(fi);
	assert_int_equal(fi->flow.user_id, 1);
	assert_int_equal(fi->key.l4_proto, 17);
	assert_int_equal(fi->key.server_port, 443);
	assert_int_equal(fi->flow.packets[LC_FLOW_DIR_UP], 5);
	assert_int_equal(fi->flow.packets[LC_FLOW_DIR_DOWN], 3);
	assert_int_equal(fi->flow.bytes[LC_FLOW_DIR_DOWN], 3 * 1200);
	fi = find_flow(list, n, 2);
	assert_non_null(fi);
	assert_int_equal(fi->flow.user_id, 2);
	assert_int_equal(fi->flow.packets[LC_FLOW_DIR_UP], 4);
	fi = find_flow(list, n, 3);
	assert_non_null(fi);
	assert_int_equal(fi->flow.user_id, 3);
	assert_int_equal(fi->flow.packets[LC_FLOW_DIR_UP], 4);

	/*
	 * Retire 1 (live, holding flow 1) and 5 (never given out): the call
	 * deletes 1, whose flow still holds it at that moment; 5 is gone.
	 */
	assert_int_equal(lc_wire_users_gone(r->w, retired, 2, gone), 0);
	assert_false(gone[0]);
	assert_true(gone[1]);
	assert_false(__atomic_load_n(&r->users[1].live, __ATOMIC_ACQUIRE));
	/* The sweep unbinds the flow; then the id is gone and may come back. */
	uint64_t end = deadline_s(DRAIN_LIMIT_S);
	do {
		assert_int_equal(lc_wire_users_gone(r->w, retired, 1, gone), 0);
	} while (!gone[0] && before(end));
	assert_true(gone[0]);
	assert_int_equal(__atomic_load_n(&r->users[1].flows, __ATOMIC_RELAXED), 0);
	n = list_flows(r->w, list, RTE_DIM(list));
	assert_int_equal(n, 3);
	fi = find_flow(list, n, 1);
	assert_non_null(fi);
	assert_int_equal(fi->flow.user_id, 0);
	assert_int_equal(find_flow(list, n, 2)->flow.user_id, 2);
	assert_int_equal(lc_wire_user_add(r->w, 1, &l8), 0);
	assert_int_equal(__atomic_load_n(&r->users[1].packets[LC_FLOW_DIR_UP],
					 __ATOMIC_RELAXED), 0);

	rig_land(r);
	for (uint32_t i = 0; i < 11; i++)
		assert_true(seen_up[i]);
	rig_down(r);
}

/*
 * A worker that stops lets what its users' queues still hold leave at once,
 * unshaped and in order, before the ports close: nothing is left queued.
 */
static void
test_full_stop_flushes_queues(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_INLINE, .engine = LC_SHAPER_SCHED };
	struct lc_wire_assignment e[2] = {
		{ .op = LC_WIRE_USER_ADD, .user = 1,
		  .limits = { .rate = { 64000, 64000 },
			      .burst = { 2 * FRAME_LEN, 2 * FRAME_LEN } } },
		{ .op = LC_WIRE_ASSIGN_IP, .user = 1 },
	};
	struct lc_wire_port_stats ss;
	struct fr f[20];
	struct rig *r;

	(void)state;
	r = rig_up(&o);
	rig_launch(r);
	client_addr(1, e[1].addr);
	assert_int_equal(lc_wire_assign(r->w, e, 2), 0);
	assert_int_equal(e[0].err, 0);
	assert_int_equal(e[1].err, 0);
	/* 64 kbit/s: 20 frames would take two and a half seconds. */
	fr_series(f, 20, FR_UDP, false, 1, 0, FRAME_LEN);
	fr_inject(f, 20);
	assert_true(wait_count(&r->users[1].packets[LC_FLOW_DIR_UP], 20));
	rig_land(r);
	assert_int_equal(lc_shaper_queued(r->sh[LC_FLOW_DIR_UP]), 0);
	assert_int_equal(fr_take(LC_SIDE_SERVER, f, 20), 20);
	lc_wire_get_port_stats(r->w, LC_SIDE_SERVER, &ss);
	assert_int_equal(ss.tx_packets, 20);
	rig_down(r);
}

/* Users and the plan info of both directions: the users of plan 1. */
static uint32_t
plan1_users(struct lc_wire *w)
{
	struct lc_shaper_plan_info pi[LC_FLOW_DIRS];

	assert_int_equal(lc_wire_plan_info(w, 1, pi), 0);
	assert_int_equal(pi[LC_FLOW_DIR_UP].users, pi[LC_FLOW_DIR_DOWN].users);
	return pi[LC_FLOW_DIR_UP].users;
}

/*
 * Plans on the worker: a plan's totals on both shapers or on neither; a
 * user joins its plan with its limits, and a full plan refuses it (the
 * user does not come to life); a user leaves its plan when set out of it,
 * when deleted, and when the state goes absent.
 */
static void
test_full_plans(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_INLINE, .engine = LC_SHAPER_SCHED };
	const struct lc_wire_limits in1 = { .rate = { USER_RATE, USER_RATE }, .plan = 1 };
	const struct lc_wire_limits out = { .rate = { USER_RATE, USER_RATE } };
	const uint64_t totals[LC_FLOW_DIRS] = { 20 * MBIT, 10 * MBIT };
	const uint64_t too_low[LC_FLOW_DIRS] = { 20 * MBIT, 1000 };
	struct lc_shaper_plan_info pi[LC_FLOW_DIRS];
	struct rig *r;

	(void)state;
	r = rig_up(&o);
	rig_launch(r);

	assert_int_equal(lc_wire_plan_set(r->w, 1, totals, 1), 0);
	assert_int_equal(lc_wire_plan_set(r->w, 3, totals, 1), -EINVAL);
	/* Down cannot take 1000 bit/s: up keeps its total too. */
	assert_int_equal(lc_wire_plan_set(r->w, 1, too_low, 1), -EINVAL);
	assert_int_equal(lc_wire_plan_info(r->w, 1, pi), 0);
	assert_int_equal(pi[LC_FLOW_DIR_UP].total, 20 * MBIT);
	assert_int_equal(pi[LC_FLOW_DIR_DOWN].total, 10 * MBIT);
	assert_int_equal(pi[LC_FLOW_DIR_UP].capacity, 2);

	assert_int_equal(lc_wire_user_add(r->w, 1, &in1), 0);
	assert_int_equal(lc_wire_user_add(r->w, 2, &in1), 0);
	assert_int_equal(plan1_users(r->w), 2);
	/* Full: user 3 does not come to life. */
	assert_int_equal(lc_wire_user_add(r->w, 3, &in1), -ENOBUFS);
	assert_false(__atomic_load_n(&r->users[3].live, __ATOMIC_ACQUIRE));
	assert_int_equal(lc_wire_user_add(r->w, 3, &out), 0);
	assert_int_equal(lc_wire_user_set(r->w, 3, &in1), -ENOBUFS);
	assert_int_equal(plan1_users(r->w), 2);

	assert_int_equal(lc_wire_user_set(r->w, 2, &out), 0);
	assert_int_equal(plan1_users(r->w), 1);
	assert_int_equal(lc_wire_user_set(r->w, 3, &in1), 0);
	assert_int_equal(lc_wire_user_del(r->w, 1), 0);
	assert_int_equal(plan1_users(r->w), 1);
	assert_int_equal(lc_wire_set_state(r->w, LC_STATE_ABSENT, NULL), 0);
	assert_int_equal(plan1_users(r->w), 0);
	assert_int_equal(lc_wire_set_state(r->w, LC_STATE_PRESENT, NULL), 0);
	rig_land(r);
	rig_down(r);
}

/*
 * ---- Two workers -------------------------------------------------------
 *
 * The wire over sides2, whose ports have two queues: worker i receives
 * and transmits on queue i. The test thread plays both workers
 * (lc_wire_poll() runs an iteration of each), and control calls run on the
 * other lcore (ctl_run()). Users' frames are shaped by their user's worker
 * (id mod 2, or their plan's), whichever worker received them.
 */

/* Put frames on RX queue q of the two-queue port each one arrives on. */
static void
fr_inject_q(const struct fr *d, uint32_t n, unsigned int q)
{
	struct rte_ring *rx[LC_SIDE_MAX] = { sides2[0].rx[q], sides2[1].rx[q] };

	fr_inject_rings(d, n, rx);
}

/* What TX queue q of a two-queue port sent, which must be d[0..n-1] in order. */
static uint32_t
fr_take_q(int side, unsigned int q, const struct fr *d, uint32_t n)
{
	struct rte_mbuf *m;
	uint32_t got = 0;

	while (got < n && rte_ring_dequeue(sides2[side].tx[q], (void **)&m) == 0) {
		bool same = fr_same(m, &d[got]);

		rte_pktmbuf_free(m);
		if (!same)
			fail_msg("frame %u out of %s queue %u: not seq %u as sent", got,
				 lc_side_name((enum lc_side)side), q, d[got].seq);
		got++;
	}
	return got;
}

/* Poll both workers until queue q of a port has sent d[got..n-1]. */
static uint32_t
poll_take_q(struct rig *r, int side, unsigned int q, const struct fr *d, uint32_t n)
{
	uint64_t end = deadline_s(DRAIN_LIMIT_S);
	uint32_t got = 0;

	while (got < n && before(end)) {
		lc_wire_poll(r->w);
		got += fr_take_q(side, q, d + got, n - got);
	}
	return got;
}

static void
rig2_down(struct rig *r)
{
	for (int s = 0; s < LC_SIDE_MAX; s++) {
		for (int q = 0; q < Q2; q++) {
			assert_int_equal(rte_ring_count(sides2[s].rx[q]), 0);
			assert_int_equal(rte_ring_count(sides2[s].tx[q]), 0);
		}
	}
	rig_free(r);
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);
}

static int
ctl_user_set_fn(struct lc_wire *w, void *arg)
{
	const struct lc_wire_limits *l = arg;

	return lc_wire_user_set(w, 1, l);
}

static int
ctl_plan1_fn(struct lc_wire *w, void *arg)
{
	const uint64_t totals[LC_FLOW_DIRS] = { 500 * MBIT, 500 * MBIT };

	(void)arg;
	return lc_wire_plan_set(w, 1, totals, 1);
}

/* Walk the flows of every worker: how many, through the merged cursor. */
static int
ctl_flow_walk_fn(struct lc_wire *w, void *arg)
{
	struct lc_wire_flow_info out[4];
	uint32_t cursor = LC_FLOW_CURSOR_START, *count = arg;
	uint64_t now;

	*count = 0;
	while (cursor != LC_FLOW_CURSOR_END) {
		int n = lc_wire_flows(w, &cursor, out, RTE_DIM(out), &now);

		if (n < 0)
			return n;
		*count += (uint32_t)n;
	}
	return 0;
}

/*
 * Every command reaches both workers, and frames go where their user is
 * shaped: user 1 (worker 1) and user 2 (worker 0), each with flows that the
 * other worker receives; a plan moves a user's frames to the plan's worker;
 * TAP, the states and the counters hold on both.
 */
static void
test_two_workers_commands(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_INLINE, .engine = LC_SHAPER_SCHED,
			      .workers = Q2 };
	const struct lc_wire_limits in_plan1 = { .rate = { 100 * MBIT, 100 * MBIT },
						 .plan = 1 };
	struct lc_wire_port_stats ps0, ps1, cs;
	struct lc_wire_switch was = { .old_mode = LC_WIRE_TAP };
	struct lc_flow_counters fc;
	struct fr a[10], b[10], ad[10], c3[4], t[4], p[5], x[5];
	struct rig *r;
	uint32_t flows = 0;

	(void)state;
	r = rig_up(&o);
	assert_int_equal(lc_wire_workers(r->w), Q2);
	add_user_ip(r, 1, 100 * MBIT, 0, 1);
	add_user_ip(r, 2, 100 * MBIT, 0, 2);
	assert_true(r->users1[1].live && r->users1[2].live);

	/* Flow 1 (user 1) reaches worker 0, flow 2 (user 2) worker 1. */
	fr_series(a, 10, FR_UDP, false, 1, 0, FRAME_LEN);
	fr_series(ad, 10, FR_UDP, true, 1, 100, FRAME_LEN);
	fr_series(b, 10, FR_UDP, false, 2, 200, FRAME_LEN);
	fr_inject_q(a, 10, 0);
	fr_inject_q(ad, 10, 0);
	fr_inject_q(b, 10, 1);
	assert_int_equal(poll_take_q(r, LC_SIDE_SERVER, 1, a, 10), 10);
	assert_int_equal(poll_take_q(r, LC_SIDE_CLIENT, 1, ad, 10), 10);
	assert_int_equal(poll_take_q(r, LC_SIDE_SERVER, 0, b, 10), 10);
	/* Counted where classified, shaped where the user lives. */
	assert_int_equal(r->users[1].packets[LC_FLOW_DIR_UP], 10);
	assert_int_equal(r->users1[1].packets[LC_FLOW_DIR_UP], 0);
	assert_int_equal(r->users1[2].packets[LC_FLOW_DIR_UP], 10);
	assert_int_equal(lc_shaper_queued(r->more.shaper[LC_FLOW_DIR_UP]), 0);
	lc_wire_get_port_stats_of(r->w, 0, LC_SIDE_CLIENT, &ps0);
	lc_wire_get_port_stats_of(r->w, 1, LC_SIDE_CLIENT, &ps1);
	assert_int_equal(ps0.rx_packets, 10);
	assert_int_equal(ps1.rx_packets, 10);
	lc_wire_get_port_stats(r->w, LC_SIDE_SERVER, &cs);
	assert_int_equal(cs.tx_packets, 20);
	assert_int_equal(cs.drops[LC_DROP_HANDOFF_FULL], 0);
	lc_wire_get_port_stats(r->w, LC_SIDE_CLIENT, &cs);
	/* Flow 1 up (worker 0 to 1), flow 2 up (1 to 0). */
	assert_int_equal(cs.handed_off, 20);

	/*
	 * An endpoint assigned before its flow exists waits on both workers;
	 * the flow comes to worker 0, which binds it, and its frames go to
	 * worker 1, user 3's.
	 */
	struct lc_wire_assignment ep[2] = {
		{ .op = LC_WIRE_USER_ADD, .user = 3,
		  .limits = { .rate = { 100 * MBIT, 100 * MBIT } } },
		{ .op = LC_WIRE_ASSIGN_ENDPOINT, .user = 3, .port = client_port(3) },
	};
	struct ctl_batch eb = { .list = ep, .n = 2 };
	struct lc_assign_counters ac;

	client_addr(3, ep[1].addr);
	assert_int_equal(ctl_run(r->w, ctl_assign_fn, &eb), 0);
	assert_int_equal(ep[1].err, 0);
	assert_int_equal(ep[1].result, LC_ASSIGN_PENDING);
	assert_int_equal(ctl_run(r->w, ctl_counters_fn, &ac), 0);
	assert_int_equal(ac.pending, 1);
	fr_series(c3, 4, FR_UDP, false, 3, 250, FRAME_LEN);
	fr_inject_q(c3, 4, 0);
	assert_int_equal(poll_take_q(r, LC_SIDE_SERVER, 1, c3, 4), 4);
	assert_int_equal(r->users[3].packets[LC_FLOW_DIR_UP], 4);
	assert_int_equal(ctl_run(r->w, ctl_counters_fn, &ac), 0);
	assert_int_equal(ac.bound_on_create, 1);
	/* It stays for the endpoint's next flows, on both, until pending_ttl. */
	assert_int_equal(ac.pending, 1);

	/* The flows of both workers' tables, counted and listed. */
	assert_int_equal(ctl_run(r->w, ctl_flow_counters_fn, &fc), 0);
	assert_int_equal(fc.active, 3);
	assert_int_equal(ctl_run(r->w, ctl_flow_walk_fn, &flows), 0);
	assert_int_equal(flows, 3);

	/* TAP on both workers, exact: the frames before it on each. */
	assert_int_equal(ctl_run(r->w, ctl_mode_fn, &was), 0);
	assert_int_equal(was.old_mode, LC_WIRE_INLINE);
	assert_int_equal(was.rx_packets[LC_SIDE_CLIENT], 24);
	assert_int_equal(was.rx_packets[LC_SIDE_SERVER], 10);
	fr_series(t, 2, FR_UDP, false, 1, 300, FRAME_LEN);
	fr_series(t + 2, 2, FR_UDP, false, 2, 302, FRAME_LEN);
	fr_inject_q(t, 2, 0);
	fr_inject_q(t + 2, 2, 1);
	for (int i = 0; i < 4; i++)
		lc_wire_poll(r->w);
	lc_wire_get_port_stats(r->w, LC_SIDE_CLIENT, &cs);
	assert_int_equal(cs.tap_packets, 4);
	was.old_mode = LC_WIRE_INLINE;
	assert_int_equal(ctl_run(r->w, ctl_mode_fn, &was), 0);
	assert_int_equal(was.old_mode, LC_WIRE_TAP);

	/* Plan 1 lives on worker 0: user 1's frames move there. */
	assert_int_equal(ctl_run(r->w, ctl_plan1_fn, NULL), 0);
	assert_int_equal(ctl_run(r->w, ctl_user_set_fn, (void *)&in_plan1), 0);
	fr_series(p, 5, FR_UDP, false, 1, 400, FRAME_LEN);
	fr_inject_q(p, 5, 1);
	assert_int_equal(poll_take_q(r, LC_SIDE_SERVER, 0, p, 5), 5);

	/* Absent: no user on either worker; frames stay on their worker. */
	assert_int_equal(set_state(r, LC_STATE_ABSENT), LC_STATE_PRESENT);
	assert_false(r->users[1].live || r->users1[1].live);
	fr_series(x, 5, FR_UDP, false, 1, 500, FRAME_LEN);
	fr_inject_q(x, 5, 1);
	assert_int_equal(poll_take_q(r, LC_SIDE_SERVER, 1, x, 5), 5);
	assert_int_equal(r->users1[0].packets[LC_FLOW_DIR_UP], 5);
	rig2_down(r);
}

/*
 * A user whose flows are received by both workers is held to its rate in
 * total: offered twice its rate, half on each worker, it gets its rate
 * within 2 % over a second, and every frame of it leaves from its worker.
 *
 * The test thread plays both workers. Descheduled for longer than the
 * user's burst lasts (20 ms), it loses the credit the bucket could not
 * hold; that time is taken off the window (and printed), and a window that
 * lost more than a tenth is a machine too busy to measure on: skipped.
 */
static void
test_two_workers_user_limit(void **state)
{
	struct rig_opts o = { .mode = LC_WIRE_INLINE, .engine = LC_SHAPER_SCHED,
			      .workers = Q2 };
	const uint64_t rate = 8 * MBIT;              /* 1,000 frames a second */
	const double fps = (double)rate / 8 / FRAME_LEN;
	struct lc_wire_assignment e = { .op = LC_WIRE_ASSIGN_IP, .user = 1 };
	struct ctl_batch bt = { .list = &e, .n = 1 };
	uint64_t hz = rte_get_timer_hz(), start, t0 = 0, t1, prev, lost = 0;
	uint64_t sent[Q2] = { 0, 0 }, bytes = 0, other_q = 0;
	const uint64_t slack = hz / 50;              /* the burst: 20 frames */
	uint32_t seq = 0;
	struct rig *r;

	(void)state;
	r = rig_up(&o);
	add_user_ip(r, 1, rate, 20 * FRAME_LEN, 1);
	client_addr(2, e.addr);
	assert_int_equal(ctl_run(r->w, ctl_assign_fn, &bt), 0);
	assert_int_equal(e.err, 0);

	/* 0.3 s to fill the user's queues, then 1 s measured. */
	start = prev = rte_get_timer_cycles();
	t1 = start + hz * 13 / 10;
	for (uint64_t now = start; now < t1; now = rte_get_timer_cycles()) {
		double due = (double)(now - start) / (double)hz * fps;
		struct rte_mbuf *m;

		if (t0 != 0 && now - prev > slack)
			lost += now - prev - slack;
		prev = now;
		/* Each worker receives one of the flows at the user's rate. */
		for (unsigned int q = 0; q < Q2; q++) {
			while ((double)sent[q] < due) {
				struct fr f = { .kind = FR_UDP, .flow = 1 + q,
						.seq = seq++, .len = FRAME_LEN };

				fr_inject_q(&f, 1, q);
				sent[q]++;
			}
		}
		lc_wire_poll(r->w);
		if (t0 == 0 && now >= start + hz * 3 / 10)
			t0 = now;
		while (rte_ring_dequeue(sides2[LC_SIDE_SERVER].tx[1], (void **)&m) == 0) {
			if (t0 != 0)
				bytes += m->pkt_len;
			rte_pktmbuf_free(m);
		}
		while (rte_ring_dequeue(sides2[LC_SIDE_SERVER].tx[0], (void **)&m) == 0) {
			other_q++;
			rte_pktmbuf_free(m);
		}
	}
	double secs = (double)(t1 - t0) / (double)hz;
	double lost_s = (double)lost / (double)hz;
	double got = (double)bytes * 8 / (secs - lost_s);

	print_message("user on two workers: %.3f mbit/s of %.3f (offered %.3f; "
		      "%.1f ms of %.0f lost to the scheduler, deducted)\n", got / 1e6,
		      (double)rate / 1e6, 2 * (double)rate / 1e6, lost_s * 1e3,
		      secs * 1e3);
	assert_int_equal(other_q, 0);
	/* Both workers classified the user's frames; worker 1 dropped the rest. */
	assert_true(r->users[1].packets[LC_FLOW_DIR_UP] > 0);
	assert_true(r->users1[1].packets[LC_FLOW_DIR_UP] > 0);
	assert_int_equal(r->users[1].drops[LC_FLOW_DIR_UP], 0);
	if (lost_s > secs / 10) {
		print_message("skipped: the test thread lost %.0f ms of %.0f\n",
			      lost_s * 1e3, secs * 1e3);
		rig2_down(r);
		skip();
	}
	assert_true(got > 0.98 * (double)rate && got < 1.02 * (double)rate);
	rig2_down(r);
}

/* The tests of a full wire clean up after themselves even when they fail. */
#define full_test(t) cmocka_unit_test_teardown(t, rig_cleanup)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_both_ways),
		cmocka_unit_test(test_tap_transmits_nothing),
		cmocka_unit_test(test_tx_full_drops_and_frees),
		cmocka_unit_test(test_live_mode_switch),
		cmocka_unit_test(test_timed_out_command_never_runs),
		cmocka_unit_test(test_oversize_dropped),
		cmocka_unit_test(test_chained_frames_parsed),
		cmocka_unit_test(test_create_rejects_bad_params),
		cmocka_unit_test(test_pool_without_hugepages),
		full_test(test_full_tap_counts_inline_shapes),
		full_test(test_full_states),
		full_test(test_full_sched_paces_user),
		full_test(test_full_police_drops_above_rate),
		full_test(test_full_bypass_while_queue_full),
		full_test(test_full_shape_unassigned_pipe0),
		full_test(test_full_tx_full_after_shaper),
		full_test(test_full_invalid_flow_dropped),
		full_test(test_full_users_and_assignments),
		full_test(test_full_stop_flushes_queues),
		full_test(test_full_plans),
		full_test(test_two_workers_commands),
		full_test(test_two_workers_user_limit),
	};

	return cmocka_run_group_tests_name("wire", tests, setup, teardown);
}
