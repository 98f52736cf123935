/* SPDX-License-Identifier: MIT */
/*
 * Plans as the operator sees them: plan set, plan get, plan list, plan del,
 * the plans' section of stats, and their totals given to the worker at
 * start, before any user joins one. The registry (lib/user) holds the
 * plans; the worker holds each plan's totals (a subport per shaper) and
 * which plan each user is in. Every change goes to the worker first, so
 * that a change it refuses leaves the registry as it was.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>

#include "linecapd.h"
#include "users_priv.h"

static json_t *
plan_json(struct daemon *d, const struct lc_plan *p)
{
	return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"name", p->name,
		"id", (json_int_t)p->id,
		"total_up", (json_int_t)p->total_up,
		"total_down", (json_int_t)p->total_down,
		"up", (json_int_t)p->up,
		"down", (json_int_t)p->down,
		"weight", (json_int_t)p->weight,
		"users", (json_int_t)p->users,
		"capacity", (json_int_t)lc_user_plan_capacity(d->users));
}

/* A plan's totals and weight as the worker takes them. */
static int
wire_plan_set(struct daemon *d, const struct lc_plan *p)
{
	const uint64_t total[LC_FLOW_DIRS] = {
		[LC_FLOW_DIR_UP] = p->total_up,
		[LC_FLOW_DIR_DOWN] = p->total_down,
	};

	return lc_wire_plan_set(d->wire, p->id, total, p->weight);
}

/* Why the worker refused a plan's totals (lc_wire_plan_set()). */
static int
totals_refused(struct daemon *d, json_t *reply, int rc)
{
	if (rc == -EINVAL)
		return lc_mgmt_error(reply, "plan not set: a total the shaper cannot "
				     "take on this port (at least %" PRIu64 " bit/s up "
				     "and %" PRIu64 " bit/s down, at most the port "
				     "rate; 0 for none)", d->min_rate[LC_FLOW_DIR_UP],
				     d->min_rate[LC_FLOW_DIR_DOWN]);
	if (rc == -ENOSPC)
		return lc_mgmt_error(reply, "plan not set: no room for another "
				     "distinct total in the shaper: use a total "
				     "another plan has");
	if (rc == -ENOTSUP)
		return lc_mgmt_error(reply, "plan not set: plans need [shaper] "
				     "engine = sched and an aqm other than red");
	return worker_error(reply, "plan not set", rc);
}

/*
 * What u would be with plan next's per-user rates, in *nu; whether the
 * worker must be told.
 */
static bool
with_plan_rates(struct daemon *d, const struct lc_user *u,
		const struct lc_plan *next, struct lc_user *nu)
{
	*nu = *u;
	if (!(u->own & LC_USER_LIMIT_UP))
		nu->up = lc_user_plan_rate(d->users, LC_USER_LIMIT_UP, next->up);
	if (!(u->own & LC_USER_LIMIT_DOWN))
		nu->down = lc_user_plan_rate(d->users, LC_USER_LIMIT_DOWN,
					     next->down);
	return limits_differ(u, nu);
}

/*
 * The plan's users without rates of their own get next's per-user rates
 * on the worker: all of them, or, when the worker refuses one, none (the
 * ones already told get their old rates back, which they held a moment
 * ago and so still fit).
 */
static int
plan_users_apply(struct daemon *d, const struct lc_plan *next, json_t *reply)
{
	const struct lc_user *u, *v;
	uint32_t cursor = 0, undo = 0;
	struct lc_user nu;
	int rc;

	while ((u = lc_user_next(d->users, &cursor)) != NULL) {
		struct lc_wire_limits l;

		if (u->plan != next->id || !with_plan_rates(d, u, next, &nu))
			continue;
		l = wire_limits(&nu);
		rc = lc_wire_user_set(d->wire, u->id, &l);
		if (rc == 0)
			continue;
		while ((v = lc_user_next(d->users, &undo)) != NULL && v->id < u->id) {
			if (v->plan != next->id || !with_plan_rates(d, v, next, &nu))
				continue;
			l = wire_limits(v);
			lc_wire_user_set(d->wire, v->id, &l);
		}
		return limits_refused(d, reply, rc, "plan not set: a user of the "
				      "plan refused its new rate", next->id);
	}
	return 0;
}

static bool
plan_name_ok(const char *name, json_t *reply)
{
	if (lc_user_plan_name_valid(name))
		return true;
	lc_mgmt_error(reply, "bad plan name '%.*s%s': 1 to %d of A-Z, a-z, 0-9, "
		      "'.', '_' and '-'", QUOTE(name), LC_PLAN_NAME_MAX);
	return false;
}

/* Per-user rates of a plan the shaper can hold (0: none). */
static bool
plan_rates_ok(struct daemon *d, const struct lc_plan_limits *lim, json_t *reply)
{
	if (((lim->fields & LC_PLAN_UP) && lim->up != 0 &&
	     lim->up < d->min_rate[LC_FLOW_DIR_UP]) ||
	    ((lim->fields & LC_PLAN_DOWN) && lim->down != 0 &&
	     lim->down < d->min_rate[LC_FLOW_DIR_DOWN])) {
		lc_mgmt_error(reply, "rate below what the shaper can hold on this "
			      "port: at least %" PRIu64 " bit/s up and %" PRIu64
			      " bit/s down (the port rate / 2^%d), or 0 for none",
			      d->min_rate[LC_FLOW_DIR_UP],
			      d->min_rate[LC_FLOW_DIR_DOWN],
			      LC_SHAPER_RATE_RATIO_LOG2);
		return false;
	}
	return true;
}

/* One `plan set` line, applied but not saved. */
static int
apply_plan_set(struct daemon *d, int argc, char **argv, json_t *reply)
{
	struct lc_plan_limits lim;
	const struct lc_plan *cur, *p;
	struct lc_plan next;
	bool totals;
	char why[256];
	int rc;

	if (!plan_name_ok(argv[0], reply))
		return -EINVAL;
	if (lc_user_plan_parse_limits(argc - 1, argv + 1, &lim, why, sizeof(why)) != 0)
		return lc_mgmt_error(reply, "%s", why);
	if (!plan_rates_ok(d, &lim, reply))
		return -EINVAL;
	rc = lc_user_plan_preview(d->users, argv[0], &lim, &next);
	if (rc == -ENOSPC)
		return lc_mgmt_error(reply, "no room for another plan ([shaper] plans "
				     "= %u)", lc_user_plan_slots(d->users));
	if (rc != 0)
		return lc_mgmt_error(reply, "plan not set: %s", strerror(-rc));
	cur = lc_user_plan_get(d->users, next.id);
	/* The worker takes totals and weight together. */
	totals = cur == NULL || cur->total_up != next.total_up ||
		 cur->total_down != next.total_down || cur->weight != next.weight;
	if (totals && (rc = wire_plan_set(d, &next)) != 0)
		return totals_refused(d, reply, rc);
	if (cur != NULL && (cur->up != next.up || cur->down != next.down)) {
		rc = plan_users_apply(d, &next, reply);
		if (rc != 0) {
			if (totals)
				wire_plan_set(d, cur);
			return rc;
		}
	}
	rc = lc_user_plan_set(d->users, argv[0], &lim, &p, NULL);
	if (rc != 0)
		return lc_mgmt_error(reply, "plan not set: %s", strerror(-rc));
	json_object_set_new(reply, "plan", plan_json(d, p));
	return 0;
}

static const struct lc_plan *
find_plan(struct daemon *d, const char *name, json_t *reply)
{
	const struct lc_plan *p;

	if (!plan_name_ok(name, reply))
		return NULL;
	p = lc_user_plan_find(d->users, name);
	if (p == NULL)
		lc_mgmt_error(reply, "no plan '%s' (see 'plan list')", name);
	return p;
}

/* One `plan del` line, applied but not saved. */
static int
apply_plan_del(struct daemon *d, int argc, char **argv, json_t *reply)
{
	const struct lc_plan *p = find_plan(d, argv[0], reply);
	const struct lc_plan none = { .id = p != NULL ? p->id : 0,
				      .weight = LC_PLAN_WEIGHT_DEFAULT };
	int rc;

	(void)argc;
	if (p == NULL)
		return -ENOENT;
	if (p->users != 0)
		return lc_mgmt_error(reply, "plan %s has %u users: move them out "
				     "first (user set EMAIL plan=none, or plan=OTHER)",
				     p->name, p->users);
	/* Its totals go, so that the shaper may give their room to another. */
	rc = wire_plan_set(d, &none);
	if (rc != 0)
		return worker_error(reply, "plan not deleted", rc);
	lc_user_plan_del(d->users, argv[0]);
	return 0;
}

/* plan set, for a batch of pipelined lines: one save for all of them. */
static void
batch_plan_set(void *ctx, struct lc_mgmt_req *reqs, unsigned int n)
{
	apply_batch(ctx, reqs, n, apply_plan_set);
}

static int
cmd_plan_set(void *ctx, int argc, char **argv, json_t *reply)
{
	return run_one(batch_plan_set, ctx, argc, argv, reply);
}

/* plan del, for a batch of pipelined lines: one save for all of them. */
static void
batch_plan_del(void *ctx, struct lc_mgmt_req *reqs, unsigned int n)
{
	apply_batch(ctx, reqs, n, apply_plan_del);
}

static int
cmd_plan_del(void *ctx, int argc, char **argv, json_t *reply)
{
	return run_one(batch_plan_del, ctx, argc, argv, reply);
}

/* What the shaper holds of a plan: total in force, users, capacity, weight. */
static json_t *
plan_info_json(const struct lc_shaper_plan_info *in)
{
	return json_pack("{s:I,s:I,s:I,s:I}", "total", (json_int_t)in->total,
			 "users", (json_int_t)in->users,
			 "capacity", (json_int_t)in->capacity,
			 "weight", (json_int_t)in->weight);
}

static int
cmd_plan_get(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;
	const struct lc_plan *p = find_plan(d, argv[0], reply);
	struct lc_shaper_plan_info info[LC_FLOW_DIRS];
	json_t *o;
	int rc;

	(void)argc;
	if (p == NULL)
		return -ENOENT;
	o = plan_json(d, p);
	rc = lc_wire_plan_info(d->wire, p->id, info);
	if (rc == 0)
		json_object_set_new(o, "shaper", json_pack("{s:o,s:o}",
			"up", plan_info_json(&info[LC_FLOW_DIR_UP]),
			"down", plan_info_json(&info[LC_FLOW_DIR_DOWN])));
	else
		reply_incomplete(reply, "shaper", rc);
	json_object_set_new(reply, "plan", o);
	return 0;
}

static int
cmd_plan_list(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;
	json_t *list = json_array();
	const struct lc_plan *p;
	uint32_t cursor = 0;

	(void)argc;
	(void)argv;
	while ((p = lc_user_plan_next(d->users, &cursor)) != NULL)
		json_array_append_new(list, plan_json(d, p));
	json_object_set_new(reply, "count", json_integer((json_int_t)json_array_size(list)));
	json_object_set_new(reply, "plans", list);
	return 0;
}

void
plans_stats_json(struct daemon *d, json_t *reply)
{
	json_t *plans = json_object();
	const struct lc_plan *p;
	uint32_t cursor = 0;

	while ((p = lc_user_plan_next(d->users, &cursor)) != NULL)
		json_object_set_new(plans, p->name, plan_json(d, p));
	json_object_set_new(reply, "plans", plans);
}

int
plans_start(struct daemon *d)
{
	const struct lc_plan *p;
	uint32_t cursor = 0;

	while ((p = lc_user_plan_next(d->users, &cursor)) != NULL) {
		int rc = wire_plan_set(d, p);

		if (rc != 0) {
			lc_log("error", "plan %s (id %u): the shaper refused its totals "
			       "(%" PRIu64 " bit/s up, %" PRIu64 " bit/s down): %s",
			       p->name, p->id, p->total_up, p->total_down,
			       rc == -EINVAL ? "not a rate it takes on this port "
			       "([shaper] port_rate)" : rc == -ENOTSUP ? "plans need "
			       "[shaper] engine = sched and an aqm other than red" :
			       strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static const struct lc_mgmt_cmd plan_cmds[] = {
	{ "plan set", "NAME [total=RATE] [total_up=RATE] [total_down=RATE] "
	  "[up=RATE] [down=RATE] [weight=N]",
	  "create or update a plan: users sharing a total rate, and a full "
	  "port by weight (1 to 100)", 1, 7,
	  cmd_plan_set, batch_plan_set },
	{ "plan del", "NAME", "remove a plan that has no users", 1, 1,
	  cmd_plan_del, batch_plan_del },
	{ "plan get", "NAME", "show a plan", 1, 1, cmd_plan_get },
	{ "plan list", "", "list every plan", 0, 0, cmd_plan_list },
};

int
plans_register_cmds(struct daemon *d)
{
	return lc_mgmt_register(d->table, plan_cmds, RTE_DIM(plan_cmds), d);
}
