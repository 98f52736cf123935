/* SPDX-License-Identifier: MIT */
/*
 * The command executor: runs on the worker, between bursts, the commands
 * that the control thread sends through the wire's ring (control.c). Each
 * command is one bounded step of the loop.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "wire_priv.h"

#define CMD_BURST 8

/* Slots a FLOW_LIST command examines at most: a bounded pause of the loop. */
#define FLOW_LIST_BUDGET 8192

static int
flow_list(struct wire_worker *w, struct wire_cmd *cmd)
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

/*
 * The rates that a user's limits give (0: the default rate of new users),
 * in rate[]; an error (lc_shaper_check(): -EINVAL, -ENOSPC) unless both
 * shapers would take them, so that a change applies to both directions or
 * to neither.
 */
static int
limits_fit(const struct wire_worker *w, const struct lc_wire_limits *l,
	   uint64_t rate[LC_FLOW_DIRS])
{
	for (int d = 0; d < LC_FLOW_DIRS; d++) {
		int rc;

		rate[d] = l->rate[d] != 0 ? l->rate[d] : w->p.default_rate[d];
		if (w->p.shaper[d] == NULL)
			continue;
		rc = lc_shaper_check(w->p.shaper[d], rate[d], l->burst[d]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Whether both shapers can put a user in a plan (0: out of any). */
static int
plan_fit(const struct wire_worker *w, uint32_t id, uint32_t plan)
{
	for (int d = 0; d < LC_FLOW_DIRS; d++) {
		const struct lc_shaper *sh = w->p.shaper[d];
		int rc;

		if (sh == NULL || lc_shaper_pipe_plan(sh, id) == plan)
			continue;
		rc = lc_shaper_pipe_plan_check(sh, id, plan);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Move a user's pipes into a plan, both or neither. */
static int
plan_move(struct wire_worker *w, uint32_t id, uint32_t plan)
{
	uint32_t old[LC_FLOW_DIRS] = { 0, 0 };

	for (int d = 0; d < LC_FLOW_DIRS; d++) {
		struct lc_shaper *sh = w->p.shaper[d];
		int rc;

		if (sh == NULL)
			continue;
		old[d] = lc_shaper_pipe_plan(sh, id);
		if (old[d] == plan)
			continue;
		rc = lc_shaper_pipe_plan_set(sh, id, plan);
		if (rc != 0) {
			/* The pipes of a plan full of not yet drained ones. */
			for (int e = 0; e < d; e++)
				if (w->p.shaper[e] != NULL)
					lc_shaper_pipe_plan_set(w->p.shaper[e], id, old[e]);
			return rc;
		}
	}
	return 0;
}

/*
 * With several workers: the user's frames go to the worker of the plan its
 * pipes are in now (every worker keeps the same table).
 */
static void
owner_update(struct wire_worker *w, uint32_t id)
{
	uint32_t plan = 0;

	if (w->owner == NULL || id > w->p.users)
		return;
	if (w->p.shaper[0] != NULL)
		plan = lc_shaper_pipe_plan(w->p.shaper[0], id);
	else if (w->p.shaper[1] != NULL)
		plan = lc_shaper_pipe_plan(w->p.shaper[1], id);
	__atomic_store_n(&w->owner[id], wire_owner(w->n, id, plan), __ATOMIC_RELAXED);
}

/*
 * Give a user's pipes the rates of limits_fit() (burst 0: the default),
 * then its plan.
 */
static int
limits_apply(struct wire_worker *w, uint32_t id, const uint64_t rate[LC_FLOW_DIRS],
	     const struct lc_wire_limits *l)
{
	int rc;

	for (int d = 0; d < LC_FLOW_DIRS; d++)
		if (w->p.shaper[d] != NULL)
			lc_shaper_set_pipe(w->p.shaper[d], id, rate[d], l->burst[d]);
	rc = plan_move(w, id, l->plan);
	owner_update(w, id);
	return rc;
}

/* The one way a user comes to life on the worker: with its limits. */
static int
user_add(struct wire_worker *w, uint32_t id, const struct lc_wire_limits *l)
{
	uint64_t rate[LC_FLOW_DIRS];
	int rc = limits_fit(w, l, rate);

	if (rc == 0)
		rc = plan_fit(w, id, l->plan);
	if (rc == 0)
		rc = lc_assign_user_add(w->p.assign, id);
	if (rc == 0 && limits_apply(w, id, rate, l) != 0)
		/* Its limits hold; only the plan could not be joined. */
		rc = -ENOBUFS;
	return rc;
}

static int
user_set(struct wire_worker *w, uint32_t id, const struct lc_wire_limits *l)
{
	uint64_t rate[LC_FLOW_DIRS];
	int rc;

	if (id == 0 || id > w->p.users || !w->users[id].live)
		return -EINVAL;
	rc = limits_fit(w, l, rate);
	if (rc == 0)
		rc = plan_fit(w, id, l->plan);
	if (rc == 0)
		rc = limits_apply(w, id, rate, l);
	return rc;
}

/* A user that goes leaves its plan, so that its place can be given out. */
static int
user_del(struct wire_worker *w, uint32_t id)
{
	int rc = lc_assign_user_del(w->p.assign, id);

	if (id != 0 && id <= w->p.users) {
		plan_move(w, id, 0);
		owner_update(w, id);
	}
	return rc;
}

/* Every user leaves its plan (the state absent: users are gone). */
static void
plans_clear(struct wire_worker *w)
{
	for (uint32_t id = 1; id <= w->p.users; id++) {
		plan_move(w, id, 0);
		owner_update(w, id);
	}
}

/* A plan's totals and weight, on both shapers or on neither. */
static int
plan_set(struct wire_worker *w, uint32_t plan, const uint64_t total[LC_FLOW_DIRS],
	 uint32_t weight)
{
	if (weight == 0 || weight > LC_SHAPER_WEIGHT_MAX)
		return -EINVAL;
	for (int d = 0; d < LC_FLOW_DIRS; d++) {
		int rc;

		if (w->p.shaper[d] == NULL)
			return -ENOTSUP;
		rc = lc_shaper_check_plan(w->p.shaper[d], plan, total[d]);
		if (rc != 0)
			return rc;
	}
	for (int d = 0; d < LC_FLOW_DIRS; d++) {
		int rc = lc_shaper_set_plan(w->p.shaper[d], plan, total[d]);

		if (rc == 0)
			rc = lc_shaper_set_plan_weight(w->p.shaper[d], plan, weight);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
plan_info(struct wire_worker *w, uint32_t plan, struct lc_shaper_plan_info out[LC_FLOW_DIRS])
{
	for (int d = 0; d < LC_FLOW_DIRS; d++) {
		int rc;

		if (w->p.shaper[d] == NULL)
			return -ENOTSUP;
		rc = lc_shaper_plan_info(w->p.shaper[d], plan, &out[d]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void
assign_batch(struct wire_worker *w, struct lc_wire_assignment *list, uint32_t n)
{
	struct lc_assign *a = w->p.assign;
	uint64_t now = rte_rdtsc();

	for (uint32_t i = 0; i < n; i++) {
		struct lc_wire_assignment *e = &list[i];
		struct lc_assign_target t = {
			.client_port = e->port,
			.server_port = e->server_port,
			.node = e->node,
		};
		int err = 0;

		memcpy(t.client, e->addr, sizeof(t.client));
		memcpy(t.server, e->server, sizeof(t.server));
		switch (e->op) {
		case LC_WIRE_ASSIGN_ENDPOINT:
			e->result = lc_assign_endpoint_to(a, w->p.flows, e->user, &t,
							  now, &err);
			break;
		case LC_WIRE_ASSIGN_IP:
			e->result = lc_assign_ip_node(a, e->user, e->addr, e->node,
						      &err);
			break;
		case LC_WIRE_UNASSIGN_ENDPOINT:
			e->result = lc_unassign_endpoint_to(a, w->p.flows, &t);
			break;
		case LC_WIRE_UNASSIGN_IP:
			e->result = lc_unassign_ip(a, e->addr);
			break;
		case LC_WIRE_USER_ADD:
			err = user_add(w, e->user, &e->limits);
			break;
		default:
			err = -EINVAL;
			break;
		}
		e->err = err;
	}
}

/* The commands about users and assignments. */
static int
user_cmd(struct wire_worker *w, struct wire_cmd *cmd)
{
	struct lc_assign *a = w->p.assign;

	if (a == NULL || w->p.flows == NULL)
		return -ENOTSUP;
	switch (cmd->op) {
	case WIRE_OP_USER_SET:
		return user_set(w, cmd->req.user.id, &cmd->req.user.limits);
	case WIRE_OP_USER_DEL:
		return user_del(w, cmd->req.user.id);
	case WIRE_OP_USERS_GONE:
		/*
		 * The control thread retired these ids: a delete of one that
		 * never ran here (cancelled when the worker did not answer) is
		 * done now; for an id already deleted this changes nothing.
		 */
		for (uint32_t i = 0; i < cmd->req.gone.n; i++) {
			uint32_t id = cmd->req.gone.ids[i];

			user_del(w, id);
			cmd->req.gone.gone[i] = lc_assign_user_gone(a, id);
		}
		return 0;
	case WIRE_OP_ASSIGN_COUNTERS:
		lc_assign_counters_get(a, &cmd->resp.assign_counters);
		return 0;
	case WIRE_OP_ASSIGN:
		assign_batch(w, cmd->req.assign.list, cmd->req.assign.n);
		return 0;
	default:
		return -ENOTSUP;
	}
}

static void
cmd_execute(struct wire_worker *w, struct wire_cmd *cmd)
{
	switch (cmd->op) {
	case WIRE_OP_NOP:
		cmd->result = 0;
		break;
	case WIRE_OP_SET_MODE:
		if (lc_wire_mode_name(cmd->req.mode) == NULL) {
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
		__atomic_store_n(&w->mode, cmd->req.mode, __ATOMIC_RELAXED);
		cmd->result = 0;
		break;
	case WIRE_OP_FLOW_COUNTERS:
		if (w->p.flows == NULL) {
			cmd->result = -ENOTSUP;
			break;
		}
		lc_flow_counters_get(w->p.flows, &cmd->resp.flow_counters);
		cmd->result = 0;
		break;
	case WIRE_OP_FLOW_LIST:
		cmd->result = flow_list(w, cmd);
		break;
	case WIRE_OP_USER_SET:
	case WIRE_OP_USER_DEL:
	case WIRE_OP_USERS_GONE:
	case WIRE_OP_ASSIGN:
	case WIRE_OP_ASSIGN_COUNTERS:
		cmd->result = user_cmd(w, cmd);
		break;
	case WIRE_OP_STATE:
		if (lc_state_name(cmd->req.state) == NULL) {
			cmd->result = -EINVAL;
			break;
		}
		cmd->resp.old_state = w->state;
		if (cmd->req.state == LC_STATE_ABSENT && w->p.assign != NULL) {
			lc_assign_clear(w->p.assign);
			plans_clear(w);
		}
		__atomic_store_n(&w->state, cmd->req.state, __ATOMIC_RELAXED);
		cmd->result = 0;
		break;
	case WIRE_OP_RX:
		__atomic_store_n(&w->rx_enabled, cmd->req.rx, __ATOMIC_RELAXED);
		cmd->result = 0;
		break;
	case WIRE_OP_PLAN_SET:
		cmd->result = plan_set(w, cmd->req.plan.id, cmd->req.plan.total,
				     cmd->req.plan.weight);
		break;
	case WIRE_OP_PLAN_INFO:
		cmd->result = plan_info(w, cmd->req.plan.id, cmd->resp.plan);
		break;
	case WIRE_OP_SHAPER_STATS:
		for (int d = 0; d < LC_FLOW_DIRS; d++) {
			memset(&cmd->resp.shaper[d], 0, sizeof(cmd->resp.shaper[d]));
			if (w->p.shaper[d] != NULL)
				lc_shaper_stats_get(w->p.shaper[d], &cmd->resp.shaper[d]);
		}
		cmd->result = w->p.shaper[0] != NULL || w->p.shaper[1] != NULL ?
			      0 : -ENOTSUP;
		break;
	default:
		cmd->result = -ENOTSUP;
		break;
	}
}

unsigned int
wire_drain_commands(struct wire_worker *w)
{
	void *objs[CMD_BURST];
	unsigned int n = rte_ring_sc_dequeue_burst(w->cmd_ring, objs, CMD_BURST, NULL);

	for (unsigned int i = 0; i < n; i++) {
		struct wire_cmd *cmd = objs[i];

		/* A command its caller cancelled is freed without running. */
		if (!lc_call_take(&cmd->call)) {
			cnt_add(&w->loop.commands_cancelled, 1);
			rte_mempool_put(w->cmd_pool, cmd);
			continue;
		}
		cmd_execute(w, cmd);
		/* From here on the caller owns it, and frees it. */
		lc_call_done(&cmd->call);
	}
	if (n > 0)
		cnt_add(&w->loop.commands, n);
	return n;
}
