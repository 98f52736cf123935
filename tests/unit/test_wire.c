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

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "lc_wire.h"

#define POOL_SIZE 4095

struct side_rings {
	struct rte_ring *rx; /* what the port receives: the test enqueues */
	struct rte_ring *tx; /* what the port transmits: the test dequeues */
	uint16_t port;
};

static struct rte_mempool *pool;
static struct side_rings sides[LC_SIDE_MAX];

static int
setup(void **state)
{
	char *argv[] = { "test_wire", "--no-huge", "-m", "128", "--no-pci",
			 "--no-telemetry", "--log-level=error", "-l", "0,1",
			 "--file-prefix=lc-test-wire", NULL };

	(void)state;
	if (rte_eal_init(9 + 1, argv) < 0)
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
		if (lc_wire_port_init(sides[s].port, pool, 1518, 1024, 1024) != 0)
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
	}
	rte_mempool_free(pool);
	rte_eal_cleanup();
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
		.call_timeout_ms = 20, /* for the calls that no worker answers */
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
	assert_int_equal(rte_eal_remote_launch(lc_wire_worker_main, w, lcore), 0);
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
	assert_int_equal(rte_eal_remote_launch(lc_wire_worker_main, w, lcore), 0);
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
	assert_int_equal(rte_eal_remote_launch(lc_wire_worker_main, w, lcore), 0);
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
	};

	return cmocka_run_group_tests_name("wire", tests, setup, teardown);
}
