/* SPDX-License-Identifier: MIT */
/*
 * The control side of the wire: creation, the typed calls to the worker,
 * and reading its counters. Runs on the control thread; the worker runs
 * the commands in exec.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "wire_priv.h"

#define CMD_RING_SIZE 64

struct lc_wire *
lc_wire_create(const struct lc_wire_params *p)
{
	char name[RTE_RING_NAMESIZE];
	struct lc_wire *w;

	if (p == NULL || p->burst == 0 || p->burst > WIRE_MAX_BURST ||
	    p->tx_retries == 0 || p->port[0] == p->port[1] ||
	    p->max_frame < RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN) {
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
	if (w->p.call_timeout_ms == 0)
		w->p.call_timeout_ms = LC_WIRE_CALL_TIMEOUT_MS;
	w->mode = p->mode;
	w->rx_enabled = p->rx_enabled;
	w->state = LC_STATE_PRESENT;
	w->users = p->assign != NULL ? lc_assign_users(p->assign) : NULL;
	for (int d = 0; d < LC_FLOW_DIRS; d++) {
		if (p->shaper[d] == NULL)
			continue;
		w->engine = lc_shaper_engine(p->shaper[d]);
		w->meters[d] = lc_shaper_meters(p->shaper[d]);
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

/*
 * Hand a command to the worker and wait for its answer (lib/call). On 0,
 * *cmd holds the worker's result and response; -ETIMEDOUT: the worker did
 * not take it in time and never will; -ENOBUFS: no room for it.
 */
static int
call(struct lc_wire *w, struct wire_cmd *cmd)
{
	struct wire_cmd *c;
	void *obj;

	if (rte_mempool_get(w->cmd_pool, &obj) != 0)
		return -ENOBUFS;
	c = obj;
	*c = *cmd;
	c->result = 0;
	lc_call_init(&c->call);
	if (rte_ring_sp_enqueue(w->cmd_ring, c) != 0) {
		rte_mempool_put(w->cmd_pool, c);
		return -ENOBUFS;
	}
	/*
	 * The worker answers within one loop iteration, microseconds: the
	 * control thread has its own core, so it spins for 1 ms and only
	 * then sleeps, for a worker that is stuck or stopped.
	 */
	if (lc_call_wait(&c->call, w->p.call_timeout_ms, 1000) != 0)
		return -ETIMEDOUT;
	*cmd = *c;
	rte_mempool_put(w->cmd_pool, c);
	return cmd->result;
}

int
lc_wire_ping(struct lc_wire *w)
{
	struct wire_cmd cmd = { .op = WIRE_OP_NOP };

	return call(w, &cmd);
}

int
lc_wire_set_mode(struct lc_wire *w, enum lc_wire_mode mode, struct lc_wire_switch *was)
{
	struct wire_cmd cmd = { .op = WIRE_OP_SET_MODE, .req.mode = mode };
	int rc = call(w, &cmd);

	if (rc == 0 && was != NULL)
		*was = cmd.resp.set_mode;
	return rc;
}

int
lc_wire_set_state(struct lc_wire *w, enum lc_state state, enum lc_state *old)
{
	struct wire_cmd cmd = { .op = WIRE_OP_STATE, .req.state = state };
	int rc = call(w, &cmd);

	if (rc == 0 && old != NULL)
		*old = (enum lc_state)cmd.resp.old_state;
	return rc;
}

int
lc_wire_set_rx(struct lc_wire *w, bool enabled)
{
	struct wire_cmd cmd = { .op = WIRE_OP_RX, .req.rx = enabled };

	return call(w, &cmd);
}

int
lc_wire_flow_counters(struct lc_wire *w, struct lc_flow_counters *out)
{
	struct wire_cmd cmd = { .op = WIRE_OP_FLOW_COUNTERS };
	int rc = call(w, &cmd);

	if (rc == 0)
		*out = cmd.resp.flow_counters;
	return rc;
}

int
lc_wire_assign_counters(struct lc_wire *w, struct lc_assign_counters *out)
{
	struct wire_cmd cmd = { .op = WIRE_OP_ASSIGN_COUNTERS };
	int rc = call(w, &cmd);

	if (rc == 0)
		*out = cmd.resp.assign_counters;
	return rc;
}

int
lc_wire_shaper_stats(struct lc_wire *w, struct lc_shaper_stats out[LC_FLOW_DIRS])
{
	struct wire_cmd cmd = { .op = WIRE_OP_SHAPER_STATS };
	int rc = call(w, &cmd);

	if (rc == 0)
		memcpy(out, cmd.resp.shaper, sizeof(cmd.resp.shaper));
	return rc;
}

int
lc_wire_flows(struct lc_wire *w, uint32_t *cursor, struct lc_wire_flow_info *out,
	      uint32_t max, uint64_t *now)
{
	struct wire_cmd cmd = { .op = WIRE_OP_FLOW_LIST };
	int rc;

	cmd.req.flow_list.cursor = *cursor;
	cmd.req.flow_list.max = max;
	cmd.req.flow_list.out = out;
	rc = call(w, &cmd);
	if (rc != 0)
		return rc;
	*cursor = cmd.resp.flow_list.cursor;
	*now = cmd.resp.flow_list.now;
	return (int)cmd.resp.flow_list.n;
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
	struct wire_cmd cmd = { .op = WIRE_OP_USER_SET };

	cmd.req.user.id = id;
	cmd.req.user.limits = *l;
	return call(w, &cmd);
}

int
lc_wire_user_del(struct lc_wire *w, uint32_t id)
{
	struct wire_cmd cmd = { .op = WIRE_OP_USER_DEL };

	cmd.req.user.id = id;
	return call(w, &cmd);
}

int
lc_wire_plan_set(struct lc_wire *w, uint32_t plan, const uint64_t total[LC_FLOW_DIRS],
		 uint32_t weight)
{
	struct wire_cmd cmd = { .op = WIRE_OP_PLAN_SET };

	cmd.req.plan.id = plan;
	cmd.req.plan.weight = weight;
	memcpy(cmd.req.plan.total, total, sizeof(cmd.req.plan.total));
	return call(w, &cmd);
}

int
lc_wire_plan_info(struct lc_wire *w, uint32_t plan,
		  struct lc_shaper_plan_info out[LC_FLOW_DIRS])
{
	struct wire_cmd cmd = { .op = WIRE_OP_PLAN_INFO };
	int rc;

	cmd.req.plan.id = plan;
	rc = call(w, &cmd);
	if (rc == 0)
		memcpy(out, cmd.resp.plan, sizeof(cmd.resp.plan));
	return rc;
}

int
lc_wire_users_gone(struct lc_wire *w, const uint32_t *ids, uint32_t n, bool *gone)
{
	memset(gone, 0, n * sizeof(*gone));
	for (uint32_t off = 0; off < n; off += WIRE_GONE_STEP) {
		struct wire_cmd cmd = { .op = WIRE_OP_USERS_GONE };
		int rc;

		cmd.req.gone.n = RTE_MIN(n - off, (uint32_t)WIRE_GONE_STEP);
		cmd.req.gone.ids = ids + off;
		cmd.req.gone.gone = gone + off;
		rc = call(w, &cmd);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
lc_wire_assign(struct lc_wire *w, struct lc_wire_assignment *list, uint32_t n)
{
	struct wire_cmd cmd = { .op = WIRE_OP_ASSIGN };

	cmd.req.assign.n = n;
	cmd.req.assign.list = list;
	return call(w, &cmd);
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
	out->commands_cancelled = cnt_get(&w->loop.commands_cancelled);
}

enum lc_wire_mode
lc_wire_mode(const struct lc_wire *w)
{
	return (enum lc_wire_mode)__atomic_load_n(&w->mode, __ATOMIC_RELAXED);
}

enum lc_state
lc_wire_state(const struct lc_wire *w)
{
	return (enum lc_state)__atomic_load_n(&w->state, __ATOMIC_RELAXED);
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
