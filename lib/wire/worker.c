/* SPDX-License-Identifier: MIT */
/*
 * The fast path: the worker's loop. Every step is bounded: a burst from
 * each port, the shapers' dequeues, the commands waiting (exec.c), and a
 * slice of the upkeep.
 */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "wire_priv.h"

#define MAX_BURST WIRE_MAX_BURST
/* Dequeues per shaper and loop while they come back full. */
#define DRAIN_ROUNDS 4
/* Iterations between two steps of the upkeep that does not follow traffic. */
#define UPKEEP_EVERY 8

/* Transmit n frames received on side `from` out of the other port. */
static void
forward(struct wire_worker *w, enum lc_side from, struct rte_mbuf **pkts, uint16_t n)
{
	enum lc_side to = from == LC_SIDE_CLIENT ? LC_SIDE_SERVER : LC_SIDE_CLIENT;
	struct lc_wire_port_stats *out = &w->port_stats[to];
	uint16_t sent = 0;
	uint64_t bytes = 0;

	/* A full TX ring gets a few more chances, then the rest is dropped. */
	for (unsigned int tries = 0; sent < n && tries < w->p.tx_retries; tries++) {
		uint16_t k = rte_eth_tx_burst(w->p.port[to], w->index, pkts + sent,
					      n - sent);

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

/* The pipe of a frame that bypasses the shaper: not IP, or not processed. */
#define PIPE_BYPASS UINT32_MAX

/*
 * Whether the shaper acts on a frame of this pipe (shapes, polices or
 * meters it) in direction dir: not when it bypasses the shaper, nor when
 * it is unassigned (pipe 0) and the unassigned are not shaped.
 */
static inline bool
shaper_acts(const struct wire_worker *w, int dir, uint32_t pipe)
{
	return pipe != PIPE_BYPASS && (pipe != 0 || w->p.shape_unassigned[dir]);
}

/*
 * Find the flow of every IP frame of a burst (creating sessions as
 * permit_invalid_flow allows), count each frame for its user, and tell its
 * pipe: the user (0 for none), or PIPE_BYPASS, and its flow for the
 * shaper's flow queuing (the flow's slot + 1, LC_SHAPER_NO_FLOW for none).
 * Frames to drop are freed and the rest compacted to the front of pkts,
 * pipes and fq. Returns how many stay.
 */
static uint16_t
track_flows(struct wire_worker *w, enum lc_side side, struct rte_mbuf **pkts,
	    uint16_t n, const struct lc_parse_result *pr, uint32_t *pipes,
	    uint32_t *fq, uint64_t now)
{
	struct lc_wire_port_stats *st = &w->port_stats[side];
	struct lc_flow_key keys[MAX_BURST];
	const struct lc_flow_key *kp[MAX_BURST];
	const struct lc_parse_result *pp[MAX_BURST];
	uint32_t lens[MAX_BURST];
	uint16_t idx[MAX_BURST];
	struct lc_flow *flows[MAX_BURST];
	int status[MAX_BURST];
	uint16_t nk = 0, kept = 0;
	uint32_t fragments = 0, untracked = 0, invalid = 0;
	int dir = side == LC_SIDE_CLIENT ? LC_FLOW_DIR_UP : LC_FLOW_DIR_DOWN;
	/*
	 * The shaper that will take these frames, when it is this worker's:
	 * each frame's pipe and FIFO start loading as soon as its user is
	 * known, while the rest of the burst is classified.
	 */
	const struct lc_shaper *sh = w->n == 1 && w->engine == LC_SHAPER_SCHED &&
				     w->mode != LC_WIRE_TAP && w->state == LC_STATE_PRESENT ?
				     w->p.shaper[dir] : NULL;

	for (uint16_t i = 0; i < n; i++) {
		pipes[i] = PIPE_BYPASS;
		fq[i] = LC_SHAPER_NO_FLOW;
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
			pipes[i] = 0;
			if (w->users != NULL)
				pipes[i] = lc_assign_classify_ip(w->p.assign, w->users,
					side == LC_SIDE_CLIENT ? pr[i].src : pr[i].dst,
					dir, pkts[i]->pkt_len, now);
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
				invalid++;
				continue; /* pipes[] stays BYPASS; dropped below */
			}
			if (w->users != NULL)
				u = lc_assign_classify(w->p.assign, w->users, flows[j],
						       kp[j], status[j], dir, lens[j], now);
			pipes[idx[j]] = u;
			/*
			 * With several workers the flow's worker is in its number,
			 * so that flows of two workers' tables seldom meet in
			 * the user's worker's flow queues.
			 */
			if (flows[j] != NULL)
				fq[idx[j]] = lc_flow_id(w->p.flows, flows[j]) * w->n +
					     w->index + 1;
			if (sh != NULL && shaper_acts(w, dir, u))
				lc_shaper_prefetch(sh, &pipes[idx[j]], &fq[idx[j]], 1);
		}
	}
	if (fragments)
		cnt_add(&st->fragments, fragments);
	if (untracked)
		cnt_add(&st->untracked, untracked);
	if (invalid == 0)
		return n;

	cnt_add(&st->drops[LC_DROP_INVALID_FLOW], invalid);
	for (uint16_t j = 0, i = 0; i < n; i++) {
		if (j < nk && idx[j] < i)
			j++;
		if (j < nk && idx[j] == i && status[j] == LC_FLOW_INVALID) {
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		pkts[kept] = pkts[i];
		fq[kept] = fq[i];
		pipes[kept++] = pipes[i];
	}
	return kept;
}

/* Add drops to a user's counter: drops, or would_drop in TAP mode. */
static inline void
count_user_drops(struct wire_worker *w, uint32_t pipe, int dir, uint64_t n)
{
	if (w->users == NULL || pipe > w->p.users)
		return;
	__atomic_store_n(&w->users[pipe].drops[dir], w->users[pipe].drops[dir] + n,
			 __ATOMIC_RELAXED);
}

/*
 * Shape, police or forward the frames of a burst, as the mode, the state and
 * the engine say. Frames that bypass the shaper (not IP, or not processed)
 * are forwarded at once: a balancer's keep-alive never waits behind users.
 */
static void
shape_burst(struct wire_worker *w, enum lc_side side, struct rte_mbuf **pkts,
	    const uint32_t *pipes, const uint32_t *fq, uint16_t n, uint64_t now)
{
	int dir = side == LC_SIDE_CLIENT ? LC_FLOW_DIR_UP : LC_FLOW_DIR_DOWN;
	struct lc_shaper *sh = w->p.shaper[dir];
	struct lc_wire_port_stats *st = &w->port_stats[side];
	bool shaping = sh != NULL && w->state == LC_STATE_PRESENT;
	struct rte_mbuf *out[MAX_BURST], *queue[MAX_BURST];
	uint32_t queue_pipes[MAX_BURST], queue_fq[MAX_BURST];
	uint16_t n_out = 0, n_queue = 0;

	if (w->mode == LC_WIRE_TAP) {
		/*
		 * A mirror copy: the same meters run colour-blind and tell what
		 * inline shaping would have dropped; nothing goes out.
		 */
		if (shaping) {
			for (uint16_t i = 0; i < n; i++)
				if (shaper_acts(w, dir, pipes[i]) &&
				    lc_shaper_meter(w->meters[dir], pipes[i], pkts[i]->pkt_len,
						    now) == RTE_COLOR_RED)
					count_user_drops(w, pipes[i], dir, 1);
		}
		cnt_add(&st->tap_packets, n);
		rte_pktmbuf_free_bulk(pkts, n);
		return;
	}
	if (!shaping) {
		forward(w, side, pkts, n);
		return;
	}
	if (w->engine == LC_SHAPER_POLICE) {
		uint32_t red = 0;

		for (uint16_t i = 0; i < n; i++) {
			if (shaper_acts(w, dir, pipes[i]) &&
			    lc_shaper_meter(w->meters[dir], pipes[i], pkts[i]->pkt_len, now) ==
			    RTE_COLOR_RED) {
				count_user_drops(w, pipes[i], dir, 1);
				rte_pktmbuf_free(pkts[i]);
				red++;
				continue;
			}
			out[n_out++] = pkts[i];
		}
		if (red)
			cnt_add(&st->drops[LC_DROP_POLICE], red);
		forward(w, side, out, n_out);
		return;
	}
	for (uint16_t i = 0; i < n; i++) {
		if (!shaper_acts(w, dir, pipes[i])) {
			out[n_out++] = pkts[i];
		} else {
			queue_pipes[n_queue] = pipes[i];
			queue_fq[n_queue] = fq[i];
			queue[n_queue++] = pkts[i];
		}
	}
	if (n_out > 0)
		forward(w, side, out, n_out);
	if (n_queue > 0) {
		uint32_t ok = lc_shaper_enqueue_flows(sh, queue, queue_pipes, queue_fq,
						      n_queue, now);

		if (ok < n_queue)
			cnt_add(&st->drops[LC_DROP_SHAPER], n_queue - ok);
	}
}

/*
 * With several workers: the frames whose user another worker shapes (or
 * polices, or meters in TAP mode) go to that worker through their ring,
 * in order; the rest stay, compacted to the front. Returns how many stay.
 */
static uint16_t
hand_off(struct wire_worker *w, enum lc_side side, struct rte_mbuf **pkts,
	 uint32_t *pipes, uint32_t *fq, uint16_t n)
{
	int dir = side == LC_SIDE_CLIENT ? LC_FLOW_DIR_UP : LC_FLOW_DIR_DOWN;
	uint32_t side_bit = side == LC_SIDE_SERVER ? HANDOFF_SIDE_BIT : 0;
	struct wire_handoff h[MAX_BURST];
	uint8_t own[MAX_BURST];
	uint32_t others = 0, full = 0, handed = 0;
	uint16_t kept = 0;

	if (w->p.shaper[dir] == NULL || w->state != LC_STATE_PRESENT)
		return n;
	for (uint16_t i = 0; i < n; i++) {
		uint32_t u = pipes[i];

		own[i] = (uint8_t)w->index;
		if (shaper_acts(w, dir, u) && u <= w->p.users)
			own[i] = w->owner[u];
		if (own[i] != w->index)
			others |= 1u << own[i];
	}
	if (others == 0)
		return n;
	while (others != 0) {
		unsigned int j = (unsigned int)__builtin_ctz(others);
		unsigned int k = 0, sent;

		others &= others - 1;
		for (uint16_t i = 0; i < n; i++) {
			if (own[i] != j)
				continue;
			h[k].m = pkts[i];
			h[k].pipe = pipes[i];
			h[k++].fq_side = fq[i] | side_bit;
		}
		sent = rte_ring_sp_enqueue_burst_elem(w->out[j], h, sizeof(h[0]), k, NULL);
		for (unsigned int i = sent; i < k; i++)
			rte_pktmbuf_free(h[i].m);
		full += k - sent;
		handed += sent;
	}
	cnt_add(&w->port_stats[side].handed_off, handed);
	if (full != 0)
		cnt_add(&w->port_stats[side].drops[LC_DROP_HANDOFF_FULL], full);
	for (uint16_t i = 0; i < n; i++) {
		if (own[i] != w->index)
			continue;
		pkts[kept] = pkts[i];
		pipes[kept] = pipes[i];
		fq[kept++] = fq[i];
	}
	return kept;
}

/*
 * The frames other workers handed to this one: shaped here as if received
 * here. A worker with more to do than its core allows takes what was
 * handed to it first, up to HANDOFF_ROUNDS bursts from each ring a loop
 * (its own RX queues, which it polls one burst a loop, fill instead: the
 * device drops there, and counts it), so that a frame another worker has
 * already classified is seldom lost to a full ring.
 */
#define HANDOFF_ROUNDS 4

static unsigned int
take_handoffs(struct wire_worker *w, uint64_t now)
{
	struct wire_handoff h[MAX_BURST];
	struct rte_mbuf *pkts[LC_SIDE_MAX][MAX_BURST];
	uint32_t pipes[LC_SIDE_MAX][MAX_BURST], fq[LC_SIDE_MAX][MAX_BURST];
	unsigned int total = 0;

	for (unsigned int j = 0; j < w->n; j++) {
		unsigned int got = w->p.burst;

		for (unsigned int round = 0; w->in[j] != NULL && got == w->p.burst &&
		     round < HANDOFF_ROUNDS; round++) {
			uint16_t k[LC_SIDE_MAX] = { 0, 0 };

			got = rte_ring_sc_dequeue_burst_elem(w->in[j], h, sizeof(h[0]),
							     w->p.burst, NULL);
			for (unsigned int i = 0; i < got; i++) {
				int s = h[i].fq_side & HANDOFF_SIDE_BIT ? LC_SIDE_SERVER :
									 LC_SIDE_CLIENT;

				pkts[s][k[s]] = h[i].m;
				pipes[s][k[s]] = h[i].pipe;
				fq[s][k[s]++] = h[i].fq_side & ~HANDOFF_SIDE_BIT;
			}
			for (int s = 0; s < LC_SIDE_MAX; s++)
				if (k[s] > 0)
					shape_burst(w, (enum lc_side)s, pkts[s], pipes[s],
						    fq[s], k[s], now);
			total += got;
		}
	}
	return total;
}

/*
 * Parse a frame whose headers may not all sit in its first segment: the
 * parser gets the first segment when it holds the header window, else the
 * window copied out into buf. The lengths in its headers are checked against
 * the whole frame either way.
 */
static inline void
parse_chained(const struct rte_mbuf *m, enum lc_vlan_mode mode, uint8_t *buf,
	      struct lc_parse_result *pr)
{
	uint32_t want = RTE_MIN(m->pkt_len, (uint32_t)LC_PARSE_HDR_WINDOW);
	const uint8_t *h = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t have = m->data_len;

	if (have < want) {
		h = rte_pktmbuf_read(m, 0, want, buf);
		have = (uint16_t)want;
	}
	lc_parse_headers(h, have, m->pkt_len, mode, pr);
}

static void
handle_burst(struct wire_worker *w, enum lc_side side, struct rte_mbuf **pkts,
	     uint16_t n, uint64_t now)
{
	struct lc_wire_port_stats *st = &w->port_stats[side];
	uint32_t reasons[LC_PARSE_REASON_MAX] = { 0 };
	struct lc_parse_result pr[MAX_BURST];
	uint32_t pipes[MAX_BURST], fq[MAX_BURST];
	uint8_t hdr[LC_PARSE_HDR_WINDOW];
	enum lc_vlan_mode mode = w->p.vlan_mode;
	uint64_t bytes = 0;
	uint32_t oversize = 0;
	uint16_t kept = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		bytes += m->pkt_len;
		/*
		 * A frame over the MTU never reaches a TX path, whatever the
		 * device let in: some drivers cannot transmit it at all.
		 */
		if (unlikely(m->pkt_len > w->p.max_frame)) {
			rte_pktmbuf_free(m);
			oversize++;
			continue;
		}
		if (likely(m->nb_segs == 1))
			lc_parse_frame(rte_pktmbuf_mtod(m, const uint8_t *),
				       m->data_len, mode, &pr[kept]);
		else
			parse_chained(m, mode, hdr, &pr[kept]);
		reasons[pr[kept].reason]++;
		pkts[kept++] = m;
	}
	cnt_add(&st->rx_packets, n);
	cnt_add(&st->rx_bytes, bytes);
	if (unlikely(oversize != 0))
		cnt_add(&st->drops[LC_DROP_OVERSIZE], oversize);
	for (int r = 0; r < LC_PARSE_REASON_MAX; r++)
		if (reasons[r] != 0)
			cnt_add(&st->parse[r], reasons[r]);

	n = kept;
	if (w->p.flows != NULL) {
		n = track_flows(w, side, pkts, n, pr, pipes, fq, now);
	} else {
		for (uint16_t i = 0; i < n; i++)
			pipes[i] = PIPE_BYPASS;
	}
	if (w->n > 1 && n > 0)
		n = hand_off(w, side, pkts, pipes, fq, n);
	if (n > 0)
		shape_burst(w, side, pkts, pipes, fq, n, now);
}

/* Frames whose time has come leave the shapers' queues. */
static unsigned int
drain_shapers(struct wire_worker *w, uint64_t now)
{
	struct rte_mbuf *pkts[MAX_BURST];
	unsigned int total = 0;

	for (int dir = 0; dir < LC_FLOW_DIRS; dir++) {
		struct lc_shaper *sh = w->p.shaper[dir];

		if (sh == NULL || w->engine != LC_SHAPER_SCHED)
			continue;
		/* Whole bursts again, a few times: what is due leaves in time. */
		for (unsigned int round = 0; round < DRAIN_ROUNDS; round++) {
			uint32_t n = lc_shaper_dequeue(sh, pkts, w->p.burst, now);

			if (n > 0) {
				forward(w, dir == LC_FLOW_DIR_UP ? LC_SIDE_CLIENT : LC_SIDE_SERVER,
					pkts, (uint16_t)n);
				total += n;
			}
			if (n < w->p.burst)
				break;
		}
	}
	return total;
}

static void
shaper_drop_cb(void *arg, uint32_t pipe, uint64_t pkts, uint64_t bytes,
	       uint64_t aqm_pkts)
{
	struct wire_worker *w = ((void **)arg)[0];
	int dir = (int)(uintptr_t)((void **)arg)[1];

	(void)bytes;
	(void)aqm_pkts;
	count_user_drops(w, pipe, dir, pkts);
}

/* A bounded range of pipes per iteration: their drops go to their users. */
static void
collect_shaper_drops(struct wire_worker *w)
{
	for (int dir = 0; dir < LC_FLOW_DIRS; dir++) {
		struct lc_shaper *sh = w->p.shaper[dir];
		void *arg[2] = { w, (void *)(uintptr_t)dir };

		if (sh == NULL || w->engine != LC_SHAPER_SCHED)
			continue;
		lc_shaper_collect_drops(sh, w->drop_cursor[dir], 64 * UPKEEP_EVERY,
					shaper_drop_cb, arg);
		w->drop_cursor[dir] += 64 * UPKEEP_EVERY;
		if (w->drop_cursor[dir] > w->p.users)
			w->drop_cursor[dir] = 0;
	}
}

static bool
shapers_busy(const struct wire_worker *w)
{
	for (int d = 0; d < LC_FLOW_DIRS; d++)
		if (w->p.shaper[d] != NULL && lc_shaper_queued(w->p.shaper[d]) > 0)
			return true;
	return false;
}

static unsigned int
worker_poll(struct wire_worker *w)
{
	struct rte_mbuf *pkts[MAX_BURST];
	uint64_t start = rte_rdtsc();
	unsigned int total = 0;

	/* What other workers handed over first: it waits at most one loop. */
	if (w->n > 1)
		total += take_handoffs(w, start);
	for (int s = 0; s < LC_SIDE_MAX && w->rx_enabled; s++) {
		uint16_t n = rte_eth_rx_burst(w->p.port[s], w->index, pkts, w->p.burst);

		if (n > 0) {
			handle_burst(w, (enum lc_side)s, pkts, n, start);
			total += n;
		}
	}
	total += drain_shapers(w, start);
	if (!rte_ring_empty(w->cmd_ring))
		wire_drain_commands(w);
	/*
	 * Upkeep, a bounded step at a time so that no sweep ever stalls the
	 * loop: aging every iteration; the assignment sweep and the shapers'
	 * drop counters, whose work does not grow with the traffic, every
	 * UPKEEP_EVERY iterations with a budget to match.
	 */
	if (w->p.flows != NULL)
		lc_flow_age(w->p.flows, start, LC_FLOW_AGE_BUDGET);
	if ((++w->upkeep_tick & (UPKEEP_EVERY - 1)) == 0) {
		if (w->state == LC_STATE_PRESENT || shapers_busy(w))
			collect_shaper_drops(w);
		if (w->p.assign != NULL && w->p.flows != NULL)
			lc_assign_upkeep(w->p.assign, w->p.flows, start,
					 256 * UPKEEP_EVERY);
	}

	cnt_add(&w->loop.iterations, 1);
	if (total > 0) {
		cnt_add(&w->loop.busy_iterations, 1);
		cnt_add(&w->loop.busy_cycles, rte_rdtsc() - start);
		cnt_add(&w->loop.packets, total);
	}
	return total;
}

unsigned int
lc_wire_poll(struct lc_wire *wire)
{
	unsigned int total = 0;

	for (unsigned int i = 0; i < wire->n; i++)
		total += worker_poll(wire->wk[i]);
	return total;
}

int
lc_wire_worker_main(void *arg)
{
	struct wire_worker *w = arg;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		uint64_t until = __atomic_load_n(&w->pause_until, __ATOMIC_RELAXED);

		if (unlikely(until != 0)) {
			while (rte_get_timer_cycles() < until &&
			       !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
				rte_delay_us_sleep(1000);
			__atomic_compare_exchange_n(&w->pause_until, &until, 0, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		}
		/*
		 * Never sleep while users' queues hold frames: rte_sched's clock
		 * loses time for good if it is not dequeued for ~2^24 cycles.
		 */
		if (worker_poll(w) == 0 && w->p.idle_sleep_us > 0 &&
		    !shapers_busy(w))
			rte_delay_us_sleep(w->p.idle_sleep_us);
	}
	/* Answer what is still queued so that no caller waits for nothing. */
	while (wire_drain_commands(w) > 0)
		;
	/* Frames still in users' queues leave now, unshaped, before the ports close. */
	for (int d = 0; d < LC_FLOW_DIRS; d++) {
		struct lc_shaper *sh = w->p.shaper[d];
		struct rte_mbuf *pkts[MAX_BURST];
		uint32_t n;

		if (sh == NULL || w->engine != LC_SHAPER_SCHED)
			continue;
		while ((n = lc_shaper_flush(sh, pkts, MAX_BURST)) > 0)
			forward(w, d == LC_FLOW_DIR_UP ? LC_SIDE_CLIENT : LC_SIDE_SERVER,
				pkts, (uint16_t)n);
	}
	return 0;
}

void
lc_wire_stop(struct lc_wire *wire)
{
	for (unsigned int i = 0; i < wire->n; i++)
		__atomic_store_n(&wire->wk[i]->stop, true, __ATOMIC_RELEASE);
}

void
lc_wire_pause(struct lc_wire *wire, unsigned int ms)
{
	uint64_t until = rte_get_timer_cycles() + rte_get_timer_hz() / 1000 * ms;

	for (unsigned int i = 0; i < wire->n; i++)
		__atomic_store_n(&wire->wk[i]->pause_until, until, __ATOMIC_RELAXED);
}

void *
lc_wire_worker(struct lc_wire *wire, unsigned int i)
{
	return i < wire->n ? wire->wk[i] : NULL;
}

unsigned int
lc_wire_workers(const struct lc_wire *wire)
{
	return wire->n;
}

