/* SPDX-License-Identifier: MIT */
/*
 * The control side of the wire: creation, the typed calls to the worker,
 * and reading its counters. Runs on the control thread; the worker runs
 * the commands in exec.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "wire_priv.h"

#define CMD_RING_SIZE 64

/* Zeroed, cache-aligned memory of the wire; NULL with rte_errno ENOMEM. */
static void *
zalloc(size_t size, int socket_id)
{
	void *p = rte_zmalloc_socket("lc_wire", size, RTE_CACHE_LINE_SIZE, socket_id);

	if (p == NULL)
		rte_errno = ENOMEM;
	return p;
}

static void
worker_free(struct wire_worker *w)
{
	if (w == NULL)
		return;
	rte_ring_free(w->cmd_ring);
	rte_mempool_free(w->cmd_pool);
	rte_free(w->owner);
	rte_free(w);
}

/* Worker i of a wire of params p, with its own part of the data path. */
static struct wire_worker *
worker_create(const struct lc_wire_params *p, struct lc_wire *wire, uint16_t i)
{
	char name[RTE_RING_NAMESIZE];
	struct wire_worker *w;

	w = zalloc(sizeof(*w), p->socket_id);
	if (w == NULL)
		return NULL;
	w->p = *p;
	if (i > 0) {
		const struct lc_wire_part *part = &p->more[i - 1];

		w->p.flows = part->flows;
		w->p.assign = part->assign;
		w->p.shaper[0] = part->shaper[0];
		w->p.shaper[1] = part->shaper[1];
	}
	w->wire = wire;
	w->index = i;
	w->n = wire->n;
	w->mode = p->mode;
	w->rx_enabled = p->rx_enabled;
	w->state = LC_STATE_PRESENT;
	w->users = w->p.assign != NULL ? lc_assign_users(w->p.assign) : NULL;
	for (int d = 0; d < LC_FLOW_DIRS; d++) {
		if (w->p.shaper[d] == NULL)
			continue;
		w->engine = lc_shaper_engine(w->p.shaper[d]);
		w->meters[d] = lc_shaper_meters(w->p.shaper[d]);
	}
	if (w->n > 1) {
		w->owner = rte_zmalloc_socket("lc_wire_owner", (size_t)p->users + 1, 0,
					      p->socket_id);
		if (w->owner == NULL) {
			worker_free(w);
			rte_errno = ENOMEM;
			return NULL;
		}
		for (uint32_t id = 0; id <= p->users; id++)
			w->owner[id] = wire_owner(w->n, id, 0);
	}
	snprintf(name, sizeof(name), "lc_cmd_%p", (void *)w);
	w->cmd_ring = rte_ring_create(name, CMD_RING_SIZE, p->socket_id,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "lc_cmdp_%p", (void *)w);
	w->cmd_pool = rte_mempool_create(name, CMD_RING_SIZE - 1,
					 sizeof(struct wire_cmd), 0, 0,
					 NULL, NULL, NULL, NULL, p->socket_id, 0);
	if (w->cmd_ring == NULL || w->cmd_pool == NULL) {
		int err = rte_errno;

		worker_free(w);
		rte_errno = err;
		return NULL;
	}
	return w;
}

/* Whether a worker's part holds what worker 0's does, no more, no less. */
static bool
part_matches(const struct lc_wire_params *p, const struct lc_wire_part *q)
{
	if ((p->flows == NULL) != (q->flows == NULL) ||
	    (p->assign == NULL) != (q->assign == NULL))
		return false;
	for (int d = 0; d < LC_FLOW_DIRS; d++)
		if ((p->shaper[d] == NULL) != (q->shaper[d] == NULL))
			return false;
	return true;
}

/* The rings that carry frames from each worker to each other (SP/SC). */
static int
handoff_rings(struct lc_wire *w)
{
	for (unsigned int i = 0; i < w->n; i++) {
		for (unsigned int j = 0; j < w->n; j++) {
			char name[RTE_RING_NAMESIZE];
			struct rte_ring *r;

			if (i == j)
				continue;
			snprintf(name, sizeof(name), "lc_ho_%p_%u_%u", (void *)w, i, j);
			r = rte_ring_create_elem(name, sizeof(struct wire_handoff),
						 HANDOFF_RING_SIZE, w->p.socket_id,
						 RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (r == NULL)
				return -rte_errno;
			w->wk[i]->out[j] = r;
			w->wk[j]->in[i] = r;
		}
	}
	return 0;
}

struct lc_wire *
lc_wire_create(const struct lc_wire_params *p)
{
	struct lc_wire *w;
	uint16_t n;

	if (p == NULL || p->burst == 0 || p->burst > WIRE_MAX_BURST ||
	    p->tx_retries == 0 || p->port[0] == p->port[1] ||
	    p->max_frame < RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN ||
	    p->workers > LC_WIRE_WORKERS_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	n = p->workers != 0 ? p->workers : 1;
	for (unsigned int i = 1; i < n; i++) {
		if (!part_matches(p, &p->more[i - 1])) {
			rte_errno = EINVAL;
			return NULL;
		}
	}
	w = zalloc(sizeof(*w), p->socket_id);
	if (w == NULL)
		return NULL;
	w->p = *p;
	if (w->p.call_timeout_ms == 0)
		w->p.call_timeout_ms = LC_WIRE_CALL_TIMEOUT_MS;
	w->n = n;
	for (uint16_t i = 0; i < n; i++) {
		w->wk[i] = worker_create(&w->p, w, i);
		if (w->wk[i] == NULL) {
			int err = rte_errno;

			lc_wire_free(w);
			rte_errno = err;
			return NULL;
		}
	}
	if (n > 1) {
		int rc = handoff_rings(w);

		if (rc != 0) {
			lc_wire_free(w);
			rte_errno = -rc;
			return NULL;
		}
	}
	return w;
}

void
lc_wire_free(struct lc_wire *w)
{
	if (w == NULL)
		return;
	for (unsigned int i = 0; i < w->n; i++) {
		struct wire_worker *k = w->wk[i];

		if (k == NULL)
			continue;
		/* Frames still handed over, once every worker has stopped. */
		for (unsigned int j = 0; j < w->n; j++) {
			struct wire_handoff h;

			if (k->out[j] == NULL)
				continue;
			while (rte_ring_dequeue_elem(k->out[j], &h, sizeof(h)) == 0)
				rte_pktmbuf_free(h.m);
			rte_ring_free(k->out[j]);
		}
		worker_free(k);
	}
	rte_free(w);
}

/*
 * Hand a command to every worker and wait for their answers (lib/call).
 * On 0, cmd[i] holds worker i's result and response; -ETIMEDOUT: a worker
 * did not take it in time and never will; -ENOBUFS: no room for it. The
 * first error of a worker is returned, with the others' results in cmd[].
 */
static int
call_all(struct lc_wire *w, struct wire_cmd *cmd)
{
	struct wire_cmd *c[LC_WIRE_WORKERS_MAX] = { NULL };
	int rc = 0;

	/*
	 * Every worker's command object first, so that a call either reaches
	 * every worker or none: a ring holds as many commands as its pool.
	 */
	for (unsigned int i = 0; i < w->n; i++) {
		void *obj;

		if (rte_mempool_get(w->wk[i]->cmd_pool, &obj) != 0) {
			while (i-- > 0)
				rte_mempool_put(w->wk[i]->cmd_pool, c[i]);
			return -ENOBUFS;
		}
		c[i] = obj;
	}
	for (unsigned int i = 0; i < w->n; i++) {
		*c[i] = cmd[i];
		c[i]->result = 0;
		lc_call_init(&c[i]->call);
		if (rte_ring_sp_enqueue(w->wk[i]->cmd_ring, c[i]) != 0) {
			rte_mempool_put(w->wk[i]->cmd_pool, c[i]);
			c[i] = NULL;
			rc = -ENOBUFS;
		}
	}
	/*
	 * A worker answers within one loop iteration, microseconds: the
	 * control thread has its own core, so it spins for 1 ms and only
	 * then sleeps, for a worker that is stuck or stopped.
	 */
	for (unsigned int i = 0; i < w->n; i++) {
		if (c[i] == NULL)
			continue;
		if (lc_call_wait(&c[i]->call, w->p.call_timeout_ms, 1000) != 0) {
			if (rc == 0)
				rc = -ETIMEDOUT;
			continue;
		}
		cmd[i] = *c[i];
		rte_mempool_put(w->wk[i]->cmd_pool, c[i]);
		if (rc == 0)
			rc = cmd[i].result;
	}
	return rc;
}

/* The same command to every worker; cmd[] gets their answers. */
static int
call(struct lc_wire *w, struct wire_cmd *cmd)
{
	for (unsigned int i = 1; i < w->n; i++)
		cmd[i] = cmd[0];
	return call_all(w, cmd);
}

/* Counters of the workers' answers, added up field by field into the first. */
static void
sum_u64(void *first, size_t stride, unsigned int n, size_t size)
{
	uint64_t *a = first;

	for (unsigned int i = 1; i < n; i++) {
		const uint64_t *b = (const uint64_t *)((const char *)first + i * stride);

		for (size_t f = 0; f < size / sizeof(uint64_t); f++)
			a[f] += b[f];
	}
}

#define CMDS(name, ...) struct wire_cmd name[LC_WIRE_WORKERS_MAX] = { { __VA_ARGS__ } }

int
lc_wire_ping(struct lc_wire *w)
{
	CMDS(cmd, .op = WIRE_OP_NOP);

	return call(w, cmd);
}

int
lc_wire_set_mode(struct lc_wire *w, enum lc_wire_mode mode, struct lc_wire_switch *was)
{
	CMDS(cmd, .op = WIRE_OP_SET_MODE, .req.mode = mode);
	int rc = call(w, cmd);

	/* Each worker switches between two of its bursts: exact on each. */
	if (rc == 0 && was != NULL) {
		*was = cmd[0].resp.set_mode;
		for (unsigned int i = 1; i < w->n; i++)
			for (int s = 0; s < LC_SIDE_MAX; s++)
				was->rx_packets[s] += cmd[i].resp.set_mode.rx_packets[s];
	}
	return rc;
}

int
lc_wire_set_state(struct lc_wire *w, enum lc_state state, enum lc_state *old)
{
	CMDS(cmd, .op = WIRE_OP_STATE, .req.state = state);
	int rc = call(w, cmd);

	if (rc == 0 && old != NULL)
		*old = (enum lc_state)cmd[0].resp.old_state;
	return rc;
}

int
lc_wire_set_rx(struct lc_wire *w, bool enabled)
{
	CMDS(cmd, .op = WIRE_OP_RX, .req.rx = enabled);

	return call(w, cmd);
}

int
lc_wire_flow_counters(struct lc_wire *w, struct lc_flow_counters *out)
{
	CMDS(cmd, .op = WIRE_OP_FLOW_COUNTERS);
	int rc = call(w, cmd);

	if (rc == 0) {
		sum_u64(&cmd[0].resp.flow_counters, sizeof(cmd[0]), w->n,
			sizeof(cmd[0].resp.flow_counters));
		*out = cmd[0].resp.flow_counters;
	}
	return rc;
}

int
lc_wire_assign_counters(struct lc_wire *w, struct lc_assign_counters *out)
{
	CMDS(cmd, .op = WIRE_OP_ASSIGN_COUNTERS);
	int rc = call(w, cmd);

	if (rc != 0)
		return rc;
	*out = cmd[0].resp.assign_counters;
	/*
	 * Flows bound add up. Every worker keeps the same assignments: an
	 * endpoint's flow comes to one worker, and the others keep it pending
	 * until it expires, so what is pending (or expired) everywhere is the
	 * smallest worker's count; IP-wide rules and refusals the largest's.
	 */
	for (unsigned int i = 1; i < w->n; i++) {
		const struct lc_assign_counters *c = &cmd[i].resp.assign_counters;

		out->bound_on_create += c->bound_on_create;
		out->bound_by_ip += c->bound_by_ip;
		out->pending = RTE_MIN(out->pending, c->pending);
		out->pending_expired = RTE_MIN(out->pending_expired, c->pending_expired);
		out->pending_full = RTE_MAX(out->pending_full, c->pending_full);
		out->ip_rules = RTE_MAX(out->ip_rules, c->ip_rules);
		out->sweeps = RTE_MIN(out->sweeps, c->sweeps);
	}
	return 0;
}

int
lc_wire_shaper_stats(struct lc_wire *w, struct lc_shaper_stats out[LC_FLOW_DIRS])
{
	CMDS(cmd, .op = WIRE_OP_SHAPER_STATS);
	int rc = call(w, cmd);

	if (rc != 0)
		return rc;
	memcpy(out, cmd[0].resp.shaper, sizeof(cmd[0].resp.shaper));
	/* Every worker's shapers hold every user's pipes: profiles are alike. */
	for (unsigned int i = 1; i < w->n; i++) {
		for (int d = 0; d < LC_FLOW_DIRS; d++) {
			const struct lc_shaper_stats *b = &cmd[i].resp.shaper[d];
			struct lc_shaper_stats *a = &out[d];

			a->enqueued += b->enqueued;
			a->dequeued += b->dequeued;
			a->dequeued_bytes += b->dequeued_bytes;
			a->dropped_tail += b->dropped_tail;
			a->evicted += b->evicted;
			a->dropped_aqm += b->dropped_aqm;
			a->queued += b->queued;
			a->paced += b->paced;
			a->pacer_queued += b->pacer_queued;
			a->sched_queued += b->sched_queued;
			a->meter_red += b->meter_red;
			a->profiles_used = RTE_MAX(a->profiles_used, b->profiles_used);
			a->memory_bytes += b->memory_bytes;
		}
	}
	return 0;
}

/*
 * The flow cursor of several workers: the worker in the top bits, the
 * table's own cursor below (a table holds at most 2^26 flows).
 */
#define FLOW_CURSOR_SHIFT 27
#define FLOW_CURSOR_LOW ((1u << FLOW_CURSOR_SHIFT) - 1)

static int
flows_of(struct wire_worker *k, uint32_t *cursor, struct lc_wire_flow_info *out,
	 uint32_t max, uint64_t *now, struct lc_wire *w)
{
	struct wire_cmd cmd[LC_WIRE_WORKERS_MAX] = { { .op = WIRE_OP_FLOW_LIST } };
	struct wire_cmd *c;
	void *obj;
	int rc;

	cmd[0].req.flow_list.cursor = *cursor;
	cmd[0].req.flow_list.max = max;
	cmd[0].req.flow_list.out = out;
	if (rte_mempool_get(k->cmd_pool, &obj) != 0)
		return -ENOBUFS;
	c = obj;
	*c = cmd[0];
	lc_call_init(&c->call);
	if (rte_ring_sp_enqueue(k->cmd_ring, c) != 0) {
		rte_mempool_put(k->cmd_pool, c);
		return -ENOBUFS;
	}
	if (lc_call_wait(&c->call, w->p.call_timeout_ms, 1000) != 0)
		return -ETIMEDOUT;
	cmd[0] = *c;
	rte_mempool_put(k->cmd_pool, c);
	rc = cmd[0].result;
	if (rc != 0)
		return rc;
	*cursor = cmd[0].resp.flow_list.cursor;
	*now = cmd[0].resp.flow_list.now;
	return (int)cmd[0].resp.flow_list.n;
}

int
lc_wire_flows(struct lc_wire *w, uint32_t *cursor, struct lc_wire_flow_info *out,
	      uint32_t max, uint64_t *now)
{
	uint32_t wi, c;
	int rc;

	if (w->n == 1)
		return flows_of(w->wk[0], cursor, out, max, now, w);
	if (*cursor == LC_FLOW_CURSOR_END)
		return 0;
	/* One worker's table at a time: the worker in the cursor's top bits. */
	wi = *cursor >> FLOW_CURSOR_SHIFT;
	c = *cursor & FLOW_CURSOR_LOW;
	if (wi >= w->n)
		return -EINVAL;
	rc = flows_of(w->wk[wi], &c, out, max, now, w);
	if (rc < 0)
		return rc;
	if (c == LC_FLOW_CURSOR_END)
		*cursor = wi + 1 < w->n ? (wi + 1) << FLOW_CURSOR_SHIFT : LC_FLOW_CURSOR_END;
	else
		*cursor = wi << FLOW_CURSOR_SHIFT | c;
	return rc;
}

int
lc_wire_user_add(struct lc_wire *w, uint32_t id, const struct lc_wire_limits *l)
{
	struct lc_wire_assignment e = {
		.op = LC_WIRE_USER_ADD, .user = id, .limits = *l,
	};
	int rc = lc_wire_assign(w, &e, 1);

	return rc != 0 ? rc : e.err;
}

int
lc_wire_user_set(struct lc_wire *w, uint32_t id, const struct lc_wire_limits *l)
{
	CMDS(cmd, .op = WIRE_OP_USER_SET);

	cmd[0].req.user.id = id;
	cmd[0].req.user.limits = *l;
	return call(w, cmd);
}

int
lc_wire_user_del(struct lc_wire *w, uint32_t id)
{
	CMDS(cmd, .op = WIRE_OP_USER_DEL);

	cmd[0].req.user.id = id;
	return call(w, cmd);
}

int
lc_wire_plan_set(struct lc_wire *w, uint32_t plan, const uint64_t total[LC_FLOW_DIRS],
		 uint32_t weight)
{
	CMDS(cmd, .op = WIRE_OP_PLAN_SET);

	cmd[0].req.plan.id = plan;
	cmd[0].req.plan.weight = weight;
	memcpy(cmd[0].req.plan.total, total, sizeof(cmd[0].req.plan.total));
	return call(w, cmd);
}

int
lc_wire_plan_info(struct lc_wire *w, uint32_t plan,
		  struct lc_shaper_plan_info out[LC_FLOW_DIRS])
{
	CMDS(cmd, .op = WIRE_OP_PLAN_INFO);
	int rc;

	cmd[0].req.plan.id = plan;
	rc = call(w, cmd);
	if (rc == 0)
		memcpy(out, cmd[0].resp.plan, sizeof(cmd[0].resp.plan));
	return rc;
}

/*
 * Each worker but the first writes its answers into a buffer of its own
 * (n_each elements of `size` bytes each), merged by the caller: workers
 * never write the same memory.
 */
static void *
scratch(unsigned int workers, uint32_t n_each, size_t size)
{
	if (workers <= 1)
		return NULL;
	return calloc((size_t)(workers - 1) * n_each, size);
}

int
lc_wire_users_gone(struct lc_wire *w, const uint32_t *ids, uint32_t n, bool *gone)
{
	bool *more = scratch(w->n, WIRE_GONE_STEP, sizeof(bool));

	memset(gone, 0, n * sizeof(*gone));
	if (w->n > 1 && more == NULL)
		return -ENOMEM;
	for (uint32_t off = 0; off < n; off += WIRE_GONE_STEP) {
		CMDS(cmd, .op = WIRE_OP_USERS_GONE);
		uint32_t k = RTE_MIN(n - off, (uint32_t)WIRE_GONE_STEP);
		int rc;

		for (unsigned int i = 0; i < w->n; i++) {
			cmd[i] = cmd[0];
			cmd[i].req.gone.n = k;
			cmd[i].req.gone.ids = ids + off;
			cmd[i].req.gone.gone = i == 0 ? gone + off :
					       more + (size_t)(i - 1) * WIRE_GONE_STEP;
		}
		rc = call_all(w, cmd);
		if (rc != 0) {
			memset(gone + off, 0, k * sizeof(*gone));
			free(more);
			return rc;
		}
		/* Gone only when no worker's flow refers to it any more. */
		for (unsigned int i = 1; i < w->n; i++)
			for (uint32_t j = 0; j < k; j++)
				gone[off + j] = gone[off + j] &&
						more[(size_t)(i - 1) * WIRE_GONE_STEP + j];
	}
	free(more);
	return 0;
}

/* Of two workers' results for an assignment, the one that says more. */
static uint8_t
result_merge(uint8_t a, uint8_t b)
{
	/* A flow bound there beats an assignment left pending here. */
	static const uint8_t rank[] = {
		[LC_ASSIGN_BOUND] = 4, [LC_ASSIGN_REMOVED] = 3,
		[LC_ASSIGN_UNCHANGED] = 2, [LC_ASSIGN_PENDING] = 1,
		[LC_ASSIGN_NOT_FOUND] = 0,
	};

	if (a >= RTE_DIM(rank) || b >= RTE_DIM(rank))
		return a;
	return rank[b] > rank[a] ? b : a;
}

int
lc_wire_assign(struct lc_wire *w, struct lc_wire_assignment *list, uint32_t n)
{
	struct lc_wire_assignment *more = scratch(w->n, n, sizeof(*list));
	CMDS(cmd, .op = WIRE_OP_ASSIGN);
	int rc;

	if (w->n > 1 && more == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < w->n; i++) {
		struct lc_wire_assignment *l = i == 0 ? list : more + (size_t)(i - 1) * n;

		if (i > 0)
			memcpy(l, list, n * sizeof(*list));
		cmd[i] = cmd[0];
		cmd[i].req.assign.n = n;
		cmd[i].req.assign.list = l;
	}
	rc = call_all(w, cmd);
	for (unsigned int i = 1; rc == 0 && i < w->n; i++) {
		const struct lc_wire_assignment *l = more + (size_t)(i - 1) * n;

		for (uint32_t j = 0; j < n; j++) {
			list[j].result = result_merge(list[j].result, l[j].result);
			if (list[j].err == 0)
				list[j].err = l[j].err;
		}
	}
	free(more);
	return rc;
}

void
lc_wire_get_port_stats_of(const struct lc_wire *w, unsigned int worker,
			  enum lc_side side, struct lc_wire_port_stats *out)
{
	const struct lc_wire_port_stats *s = &w->wk[worker]->port_stats[side];

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
	out->handed_off = cnt_get(&s->handed_off);
}

void
lc_wire_get_port_stats(const struct lc_wire *w, enum lc_side side,
		       struct lc_wire_port_stats *out)
{
	struct lc_wire_port_stats one[LC_WIRE_WORKERS_MAX];

	RTE_BUILD_BUG_ON(sizeof(one[0]) % sizeof(uint64_t) != 0);
	for (unsigned int i = 0; i < w->n; i++)
		lc_wire_get_port_stats_of(w, i, side, &one[i]);
	sum_u64(&one[0], sizeof(one[0]), w->n, sizeof(one[0]));
	*out = one[0];
}

void
lc_wire_get_loop_stats_of(const struct lc_wire *w, unsigned int worker,
			  struct lc_wire_loop_stats *out)
{
	const struct lc_wire_loop_stats *l = &w->wk[worker]->loop;

	out->iterations = cnt_get(&l->iterations);
	out->busy_iterations = cnt_get(&l->busy_iterations);
	out->busy_cycles = cnt_get(&l->busy_cycles);
	out->packets = cnt_get(&l->packets);
	out->commands = cnt_get(&l->commands);
	out->commands_cancelled = cnt_get(&l->commands_cancelled);
}

void
lc_wire_get_loop_stats(const struct lc_wire *w, struct lc_wire_loop_stats *out)
{
	struct lc_wire_loop_stats one[LC_WIRE_WORKERS_MAX];

	for (unsigned int i = 0; i < w->n; i++)
		lc_wire_get_loop_stats_of(w, i, &one[i]);
	sum_u64(&one[0], sizeof(one[0]), w->n, sizeof(one[0]));
	*out = one[0];
}

enum lc_wire_mode
lc_wire_mode(const struct lc_wire *w)
{
	return (enum lc_wire_mode)__atomic_load_n(&w->wk[0]->mode, __ATOMIC_RELAXED);
}

enum lc_state
lc_wire_state(const struct lc_wire *w)
{
	return (enum lc_state)__atomic_load_n(&w->wk[0]->state, __ATOMIC_RELAXED);
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
	case LC_DROP_SHAPER:
		return "shaper";
	case LC_DROP_POLICE:
		return "police";
	case LC_DROP_OVERSIZE:
		return "oversize";
	case LC_DROP_HANDOFF_FULL:
		return "handoff_full";
	default:
		return "?";
	}
}

const char *
lc_wire_mode_name(enum lc_wire_mode mode)
{
	switch (mode) {
	case LC_WIRE_INLINE:
		return "inline";
	case LC_WIRE_TAP:
		return "tap";
	}
	return NULL;
}

const char *
lc_state_name(enum lc_state state)
{
	switch (state) {
	case LC_STATE_PRESENT:
		return "present";
	case LC_STATE_DISABLED:
		return "disabled";
	case LC_STATE_ABSENT:
		return "absent";
	}
	return NULL;
}
