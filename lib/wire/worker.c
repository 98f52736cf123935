/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "lc_conf.h"
#include "lc_wire.h"

/* [wire] vlan_mode is stored as the index of its name: untag, vlan, qinq. */
_Static_assert(LC_VLAN_MODE_UNTAG == 0 && LC_VLAN_MODE_VLAN == 1 &&
	       LC_VLAN_MODE_QINQ == 2, "vlan_mode numbering");

#define MAX_BURST 256
#define CMD_RING_SIZE 64
#define CMD_BURST 8

enum cmd_state {
	CMD_PENDING = 0,
	CMD_DONE,
	CMD_ABANDONED,
};

struct lc_wire {
	/* Read-mostly: set at create. */
	struct lc_wire_params p;
	struct rte_ring *cmd_ring;
	struct rte_mempool *cmd_pool;

	/* Owned by the worker; others read it with atomic loads. */
	uint32_t mode __rte_cache_aligned;
	bool stop;

	struct lc_wire_port_stats port_stats[LC_SIDE_MAX] __rte_cache_aligned;
	struct lc_wire_loop_stats loop __rte_cache_aligned;
};

/*
 * Counters have one writer, the worker. A relaxed atomic store of the new
 * value is a plain store on x86, and it lets the control thread read a
 * counter while it changes without a data race.
 */
static inline void
cnt_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

static inline uint64_t
cnt_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

struct lc_wire *
lc_wire_create(const struct lc_wire_params *p)
{
	char name[RTE_RING_NAMESIZE];
	struct lc_wire *w;

	if (p == NULL || p->burst == 0 || p->burst > MAX_BURST ||
	    p->tx_retries == 0 || p->port[0] == p->port[1]) {
		rte_errno = EINVAL;
		return NULL;
	}
	w = rte_zmalloc_socket("lc_wire", sizeof(*w), RTE_CACHE_LINE_SIZE,
			       p->socket_id);
	if (w == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	w->p = *p;
	w->mode = p->mode;

	snprintf(name, sizeof(name), "lc_cmd_%p", (void *)w);
	w->cmd_ring = rte_ring_create(name, CMD_RING_SIZE, p->socket_id,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "lc_cmdp_%p", (void *)w);
	w->cmd_pool = rte_mempool_create(name, CMD_RING_SIZE - 1,
					 sizeof(struct lc_wire_cmd), 0, 0,
					 NULL, NULL, NULL, NULL, p->socket_id, 0);
	if (w->cmd_ring == NULL || w->cmd_pool == NULL) {
		int err = rte_errno;

		lc_wire_free(w);
		rte_errno = err;
		return NULL;
	}
	return w;
}

void
lc_wire_free(struct lc_wire *w)
{
	if (w == NULL)
		return;
	rte_ring_free(w->cmd_ring);
	rte_mempool_free(w->cmd_pool);
	rte_free(w);
}

/* Transmit n frames received on side `from` out of the other port. */
static void
forward(struct lc_wire *w, enum lc_side from, struct rte_mbuf **pkts, uint16_t n)
{
	enum lc_side to = from == LC_SIDE_CLIENT ? LC_SIDE_SERVER : LC_SIDE_CLIENT;
	struct lc_wire_port_stats *out = &w->port_stats[to];
	uint16_t sent = 0;
	uint64_t bytes = 0;

	/* A full TX ring gets a few more chances, then the rest is dropped. */
	for (unsigned int tries = 0; sent < n && tries < w->p.tx_retries; tries++) {
		uint16_t k = rte_eth_tx_burst(w->p.port[to], 0, pkts + sent, n - sent);

		for (uint16_t i = sent; i < sent + k; i++)
			bytes += pkts[i]->pkt_len;
		sent += k;
		if (sent < n)
			rte_pause();
	}
	cnt_add(&out->tx_packets, sent);
	cnt_add(&out->tx_bytes, bytes);
	if (unlikely(sent < n)) {
		cnt_add(&w->port_stats[from].drops[LC_DROP_TX_FULL], n - sent);
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
}

static void
handle_burst(struct lc_wire *w, enum lc_side side, struct rte_mbuf **pkts,
	     uint16_t n)
{
	struct lc_wire_port_stats *st = &w->port_stats[side];
	uint32_t reasons[LC_PARSE_REASON_MAX] = { 0 };
	struct lc_parse_result pr;
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		bytes += m->pkt_len;
		/* Headers always sit in the first segment of a chained frame. */
		lc_parse_frame(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
			       (enum lc_vlan_mode)w->p.vlan_mode, &pr);
		reasons[pr.reason]++;
	}
	cnt_add(&st->rx_packets, n);
	cnt_add(&st->rx_bytes, bytes);
	for (int r = 0; r < LC_PARSE_REASON_MAX; r++)
		if (reasons[r] != 0)
			cnt_add(&st->parse[r], reasons[r]);

	if (w->mode == LC_MODE_TAP) {
		/* A mirror copy: it has been seen and counted; nothing goes out. */
		cnt_add(&st->tap_packets, n);
		rte_pktmbuf_free_bulk(pkts, n);
		return;
	}
	forward(w, side, pkts, n);
}

static void
cmd_execute(struct lc_wire *w, struct lc_wire_cmd *cmd)
{
	switch (cmd->op) {
	case LC_WIRE_OP_NOP:
		cmd->result = 0;
		break;
	case LC_WIRE_OP_SET_MODE:
		if (cmd->req.set_mode.mode > LC_MODE_TAP) {
			cmd->result = -EINVAL;
			break;
		}
		/*
		 * Taking effect between bursts makes the switch exact: every
		 * frame counted before it was handled in the old mode, every
		 * frame after it in the new one.
		 */
		cmd->resp.set_mode.old_mode = w->mode;
		for (int s = 0; s < LC_SIDE_MAX; s++)
			cmd->resp.set_mode.rx_packets[s] = w->port_stats[s].rx_packets;
		__atomic_store_n(&w->mode, cmd->req.set_mode.mode, __ATOMIC_RELAXED);
		cmd->result = 0;
		break;
	default:
		cmd->result = -ENOTSUP;
		break;
	}
}

static unsigned int
drain_commands(struct lc_wire *w)
{
	void *objs[CMD_BURST];
	unsigned int n = rte_ring_sc_dequeue_burst(w->cmd_ring, objs, CMD_BURST, NULL);

	for (unsigned int i = 0; i < n; i++) {
		struct lc_wire_cmd *cmd = objs[i];
		uint32_t expected = CMD_PENDING;

		cmd_execute(w, cmd);
		/* If the caller gave up waiting, the command is ours to free. */
		if (!__atomic_compare_exchange_n(&cmd->state, &expected, CMD_DONE,
						 false, __ATOMIC_RELEASE,
						 __ATOMIC_ACQUIRE))
			rte_mempool_put(w->cmd_pool, cmd);
	}
	if (n > 0)
		cnt_add(&w->loop.commands, n);
	return n;
}

unsigned int
lc_wire_poll(struct lc_wire *w)
{
	struct rte_mbuf *pkts[MAX_BURST];
	uint64_t start = rte_rdtsc();
	unsigned int total = 0;

	for (int s = 0; s < LC_SIDE_MAX; s++) {
		uint16_t n = rte_eth_rx_burst(w->p.port[s], 0, pkts, w->p.burst);

		if (n > 0) {
			handle_burst(w, (enum lc_side)s, pkts, n);
			total += n;
		}
	}
	if (!rte_ring_empty(w->cmd_ring))
		drain_commands(w);

	cnt_add(&w->loop.iterations, 1);
	if (total > 0) {
		cnt_add(&w->loop.busy_iterations, 1);
		cnt_add(&w->loop.busy_cycles, rte_rdtsc() - start);
		cnt_add(&w->loop.packets, total);
	}
	return total;
}

int
lc_wire_worker_main(void *arg)
{
	struct lc_wire *w = arg;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		if (lc_wire_poll(w) == 0 && w->p.idle_sleep_us > 0)
			rte_delay_us_sleep(w->p.idle_sleep_us);
	}
	/* Answer what is still queued so that no caller waits for nothing. */
	while (drain_commands(w) > 0)
		;
	return 0;
}

void
lc_wire_stop(struct lc_wire *w)
{
	__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
}

int
lc_wire_call(struct lc_wire *w, struct lc_wire_cmd *cmd, unsigned int timeout_ms)
{
	struct lc_wire_cmd *c;
	void *obj;

	if (rte_mempool_get(w->cmd_pool, &obj) != 0)
		return -ENOBUFS;
	c = obj;
	*c = *cmd;
	c->state = CMD_PENDING;
	c->result = 0;
	if (rte_ring_sp_enqueue(w->cmd_ring, c) != 0) {
		rte_mempool_put(w->cmd_pool, c);
		return -ENOBUFS;
	}

	uint64_t deadline = rte_get_timer_cycles() +
			    rte_get_timer_hz() / 1000 * timeout_ms;
	unsigned int spins = 0;
	while (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CMD_DONE) {
		if (rte_get_timer_cycles() > deadline) {
			uint32_t expected = CMD_PENDING;

			if (__atomic_compare_exchange_n(&c->state, &expected,
							CMD_ABANDONED, false,
							__ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE))
				return -ETIMEDOUT;
			break; /* done just now */
		}
		/* The worker answers within one loop: spin, then yield. */
		if (++spins < 1000)
			rte_pause();
		else
			rte_delay_us_sleep(10);
	}
	*cmd = *c;
	rte_mempool_put(w->cmd_pool, c);
	return 0;
}

void
lc_wire_get_port_stats(const struct lc_wire *w, enum lc_side side,
		       struct lc_wire_port_stats *out)
{
	const struct lc_wire_port_stats *s = &w->port_stats[side];

	out->rx_packets = cnt_get(&s->rx_packets);
	out->rx_bytes = cnt_get(&s->rx_bytes);
	out->tx_packets = cnt_get(&s->tx_packets);
	out->tx_bytes = cnt_get(&s->tx_bytes);
	out->tap_packets = cnt_get(&s->tap_packets);
	for (int i = 0; i < LC_DROP_REASON_MAX; i++)
		out->drops[i] = cnt_get(&s->drops[i]);
	for (int i = 0; i < LC_PARSE_REASON_MAX; i++)
		out->parse[i] = cnt_get(&s->parse[i]);
}

void
lc_wire_get_loop_stats(const struct lc_wire *w, struct lc_wire_loop_stats *out)
{
	out->iterations = cnt_get(&w->loop.iterations);
	out->busy_iterations = cnt_get(&w->loop.busy_iterations);
	out->busy_cycles = cnt_get(&w->loop.busy_cycles);
	out->packets = cnt_get(&w->loop.packets);
	out->commands = cnt_get(&w->loop.commands);
}

uint32_t
lc_wire_mode(const struct lc_wire *w)
{
	return __atomic_load_n(&w->mode, __ATOMIC_RELAXED);
}

uint16_t
lc_wire_port_id(const struct lc_wire *w, enum lc_side side)
{
	return w->p.port[side];
}

const char *
lc_side_name(enum lc_side side)
{
	return side == LC_SIDE_CLIENT ? "client" : "server";
}

const char *
lc_drop_reason_name(enum lc_drop_reason reason)
{
	switch (reason) {
	case LC_DROP_TX_FULL:
		return "tx_full";
	default:
		return "?";
	}
}
