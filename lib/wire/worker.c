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
#include "wire_priv.h"

/* [wire] vlan_mode is stored as the index of its name: untag, vlan, qinq. */
_Static_assert(LC_VLAN_MODE_UNTAG == 0 && LC_VLAN_MODE_VLAN == 1 &&
	       LC_VLAN_MODE_QINQ == 2, "vlan_mode numbering");

#define MAX_BURST 256
#define CMD_RING_SIZE 64
#define CMD_BURST 8

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
	w->rx_enabled = p->rx_enabled;
	w->state = LC_STATE_PRESENT;
	w->users = p->assign != NULL ? lc_assign_users(p->assign) : NULL;

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

/*
 * Find the flow of every IP frame of a burst (creating sessions as
 * permit_invalid_flow allows) and mark the frames to drop. Returns how many
 * frames are kept; they are compacted to the front of pkts.
 */
static uint16_t
track_flows(struct lc_wire *w, enum lc_side side, struct rte_mbuf **pkts,
	    uint16_t n, const struct lc_parse_result *pr, uint64_t now)
{
	struct lc_wire_port_stats *st = &w->port_stats[side];
	struct lc_flow_key keys[MAX_BURST];
	const struct lc_flow_key *kp[MAX_BURST];
	const struct lc_parse_result *pp[MAX_BURST];
	uint32_t lens[MAX_BURST];
	uint16_t idx[MAX_BURST];
	struct lc_flow *flows[MAX_BURST];
	int status[MAX_BURST];
	bool drop[MAX_BURST];
	uint16_t nk = 0, kept = 0;
	uint32_t fragments = 0, untracked = 0, invalid = 0;
	int dir = side == LC_SIDE_CLIENT ? LC_FLOW_DIR_UP : LC_FLOW_DIR_DOWN;

	for (uint16_t i = 0; i < n; i++) {
		drop[i] = false;
		if (pr[i].reason != LC_PARSE_OK)
			continue;
		if (!lc_flow_key_from_parse(&pr[i], side == LC_SIDE_CLIENT, &keys[nk])) {
			if (pr[i].flags & LC_PARSE_F_FRAGMENT)
				fragments++;
			else
				untracked++;
			/*
			 * No ports, so no flow: the frame belongs to the user of
			 * an IP-wide assignment of its client address, if any.
			 */
			if (w->users != NULL) {
				const uint8_t *client = side == LC_SIDE_CLIENT ?
							pr[i].src : pr[i].dst;
				uint32_t u = lc_assign_ip_user(w->p.assign, client);

				lc_assign_account(&w->users[u], dir, 1,
						  pkts[i]->pkt_len, now);
			}
			continue;
		}
		kp[nk] = &keys[nk];
		pp[nk] = &pr[i];
		lens[nk] = pkts[i]->pkt_len;
		idx[nk++] = i;
	}
	if (nk > 0) {
		for (uint16_t off = 0; off < nk; off += LC_FLOW_BURST_MAX) {
			uint16_t k = RTE_MIN(nk - off, LC_FLOW_BURST_MAX);

			lc_flow_lookup_or_create_burst(w->p.flows, kp + off, pp + off,
						       lens + off, k, dir, now,
						       flows + off, status + off);
		}
		for (uint16_t j = 0; j < nk; j++) {
			uint32_t u = 0;

			if (status[j] == LC_FLOW_INVALID) {
				drop[idx[j]] = true;
				invalid++;
				continue;
			}
			if (w->users == NULL)
				continue;
			if (status[j] == LC_FLOW_CREATED)
				u = lc_assign_new_flow(w->p.assign, flows[j], kp[j], now);
			else if (status[j] == LC_FLOW_EXISTING)
				u = lc_assign_flow_user(w->users, flows[j]);
			lc_assign_account(&w->users[u], dir, 1, lens[j], now);
		}
	}
	if (fragments)
		cnt_add(&st->fragments, fragments);
	if (untracked)
		cnt_add(&st->untracked, untracked);
	if (invalid == 0)
		return n;

	cnt_add(&st->drops[LC_DROP_INVALID_FLOW], invalid);
	for (uint16_t i = 0; i < n; i++) {
		if (drop[i])
			rte_pktmbuf_free(pkts[i]);
		else
			pkts[kept++] = pkts[i];
	}
	return kept;
}

static void
handle_burst(struct lc_wire *w, enum lc_side side, struct rte_mbuf **pkts,
	     uint16_t n, uint64_t now)
{
	struct lc_wire_port_stats *st = &w->port_stats[side];
	uint32_t reasons[LC_PARSE_REASON_MAX] = { 0 };
	struct lc_parse_result pr[MAX_BURST];
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		bytes += m->pkt_len;
		/* Headers always sit in the first segment of a chained frame. */
		lc_parse_frame(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
			       (enum lc_vlan_mode)w->p.vlan_mode, &pr[i]);
		reasons[pr[i].reason]++;
	}
	cnt_add(&st->rx_packets, n);
	cnt_add(&st->rx_bytes, bytes);
	for (int r = 0; r < LC_PARSE_REASON_MAX; r++)
		if (reasons[r] != 0)
			cnt_add(&st->parse[r], reasons[r]);

	if (w->p.flows != NULL)
		n = track_flows(w, side, pkts, n, pr, now);

	if (w->mode == LC_MODE_TAP) {
		/* A mirror copy: it has been seen and counted; nothing goes out. */
		cnt_add(&st->tap_packets, n);
		rte_pktmbuf_free_bulk(pkts, n);
		return;
	}
	if (n > 0)
		forward(w, side, pkts, n);
}

/* Slots a FLOW_LIST command examines at most: a bounded pause of the loop. */
#define FLOW_LIST_BUDGET 8192

static int
flow_list(struct lc_wire *w, struct lc_wire_cmd *cmd)
{
	struct lc_flow *found[64];
	uint32_t cursor = cmd->req.flow_list.cursor;
	uint32_t max = cmd->req.flow_list.max, n = 0;
	unsigned int budget = FLOW_LIST_BUDGET;

	if (w->p.flows == NULL)
		return -ENOTSUP;
	/* The whole budget is spent unless out[] fills or the walk ends. */
	while (n < max && cursor != LC_FLOW_CURSOR_END && budget > 0) {
		unsigned int step = RTE_MIN(budget, 1024u);
		unsigned int k = lc_flow_iterate(w->p.flows, &cursor, step, found,
						 RTE_MIN(64u, max - n));

		budget -= step;
		for (unsigned int i = 0; i < k; i++) {
			struct lc_wire_flow_info *o = &cmd->req.flow_list.out[n++];

			o->key = *lc_flow_key(w->p.flows, found[i]);
			o->flow = *found[i];
		}
	}
	cmd->resp.flow_list.cursor = cursor;
	cmd->resp.flow_list.n = n;
	cmd->resp.flow_list.now = rte_rdtsc();
	return 0;
}

static int
user_cmd(struct lc_wire *w, struct lc_wire_cmd *cmd)
{
	struct lc_assign *a = w->p.assign;
	uint64_t now = rte_rdtsc();

	if (a == NULL || w->p.flows == NULL)
		return -ENOTSUP;
	switch (cmd->op) {
	case LC_WIRE_OP_USER_ADD:
		return lc_assign_user_add(a, cmd->req.user.id);
	case LC_WIRE_OP_USER_DEL:
		return lc_assign_user_del(a, cmd->req.user.id);
	case LC_WIRE_OP_USER_GONE:
		cmd->resp.user.gone = lc_assign_user_gone(a, cmd->req.user.id);
		return 0;
	case LC_WIRE_OP_ASSIGN_COUNTERS:
		lc_assign_counters_get(a, &cmd->resp.assign_counters);
		return 0;
	case LC_WIRE_OP_ASSIGN:
		break;
	default:
		return -ENOTSUP;
	}
	for (uint32_t i = 0; i < cmd->req.assign.n; i++) {
		struct lc_wire_assignment *e = &cmd->req.assign.list[i];
		int err = 0;

		switch (e->op) {
		case LC_WIRE_ASSIGN_ENDPOINT:
			e->result = lc_assign_endpoint(a, w->p.flows, e->user, e->addr,
						       e->port, now, &err);
			break;
		case LC_WIRE_ASSIGN_IP:
			e->result = lc_assign_ip(a, e->user, e->addr, &err);
			break;
		case LC_WIRE_UNASSIGN_ENDPOINT:
			e->result = lc_unassign_endpoint(a, w->p.flows, e->addr, e->port);
			break;
		case LC_WIRE_UNASSIGN_IP:
			e->result = lc_unassign_ip(a, e->addr);
			break;
		case LC_WIRE_USER_BORN:
			err = lc_assign_user_add(a, e->user);
			break;
		default:
			err = -EINVAL;
			break;
		}
		e->err = err;
	}
	return 0;
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
	case LC_WIRE_OP_FLOW_COUNTERS:
		if (w->p.flows == NULL) {
			cmd->result = -ENOTSUP;
			break;
		}
		lc_flow_counters_get(w->p.flows, &cmd->resp.flow_counters);
		cmd->result = 0;
		break;
	case LC_WIRE_OP_FLOW_LIST:
		cmd->result = flow_list(w, cmd);
		break;
	case LC_WIRE_OP_USER_ADD:
	case LC_WIRE_OP_USER_DEL:
	case LC_WIRE_OP_USER_GONE:
	case LC_WIRE_OP_ASSIGN:
	case LC_WIRE_OP_ASSIGN_COUNTERS:
		cmd->result = user_cmd(w, cmd);
		break;
	case LC_WIRE_OP_STATE:
		if (cmd->req.state.state > LC_STATE_ABSENT) {
			cmd->result = -EINVAL;
			break;
		}
		cmd->resp.state.old_state = w->state;
		if (cmd->req.state.state == LC_STATE_ABSENT && w->p.assign != NULL)
			lc_assign_clear(w->p.assign);
		__atomic_store_n(&w->state, cmd->req.state.state, __ATOMIC_RELAXED);
		cmd->result = 0;
		break;
	case LC_WIRE_OP_RX:
		__atomic_store_n(&w->rx_enabled, cmd->req.rx.enabled, __ATOMIC_RELAXED);
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

	for (int s = 0; s < LC_SIDE_MAX && w->rx_enabled; s++) {
		uint16_t n = rte_eth_rx_burst(w->p.port[s], 0, pkts, w->p.burst);

		if (n > 0) {
			handle_burst(w, (enum lc_side)s, pkts, n, start);
			total += n;
		}
	}
	if (!rte_ring_empty(w->cmd_ring))
		drain_commands(w);
	/* A bounded step of aging per iteration: no sweep ever stalls the loop. */
	if (w->p.flows != NULL) {
		lc_flow_age(w->p.flows, start, LC_FLOW_AGE_BUDGET);
		if (w->p.assign != NULL)
			lc_assign_upkeep(w->p.assign, w->p.flows, start, 256);
	}

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

	uint64_t hz = rte_get_timer_hz(), start = rte_get_timer_cycles();
	uint64_t deadline = start + hz / 1000 * timeout_ms;
	uint64_t spin_until = start + hz / 1000; /* 1 ms */

	while (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CMD_DONE) {
		uint64_t now = rte_get_timer_cycles();

		if (now > deadline) {
			uint32_t expected = CMD_PENDING;

			if (__atomic_compare_exchange_n(&c->state, &expected,
							CMD_ABANDONED, false,
							__ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE))
				return -ETIMEDOUT;
			break; /* done just now */
		}
		/*
		 * The worker answers within one loop iteration, microseconds:
		 * the control thread has its own core, so it spins that long
		 * and only then sleeps, for a worker that is stuck or stopped.
		 */
		if (now < spin_until)
			rte_pause();
		else
			rte_delay_us_sleep(100);
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
	out->fragments = cnt_get(&s->fragments);
	out->untracked = cnt_get(&s->untracked);
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

uint32_t
lc_wire_state(const struct lc_wire *w)
{
	return __atomic_load_n(&w->state, __ATOMIC_RELAXED);
}

bool
lc_wire_rx_enabled(const struct lc_wire *w)
{
	return __atomic_load_n(&w->rx_enabled, __ATOMIC_RELAXED);
}

void
lc_wire_set_user_name(struct lc_wire *w, lc_wire_user_name_fn fn, void *arg)
{
	w->user_name = fn;
	w->user_name_arg = arg;
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
	case LC_DROP_INVALID_FLOW:
		return "invalid_flow";
	default:
		return "?";
	}
}
