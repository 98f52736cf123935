/* SPDX-License-Identifier: MIT */
/*
 * Users on the control thread: the registry (lib/user) and its life, from
 * the state file at start to the upkeep (saving, collecting idle users,
 * reclaiming ids) and the save at stop. The commands are in user_cmds.c
 * (user, gc, save) and assign_cmds.c (assign, unassign, state). Whatever
 * the fast path must know goes to the worker by lib/wire's calls; the
 * registry itself is never seen by the worker.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "lc_rate.h"
#include "linecapd.h"
#include "users_priv.h"

/* Users whose ids are looked at per upkeep for reclaiming and activity. */
#define UPKEEP_GC_BATCH 256
/* While the users file cannot be saved: one reminder a minute in the log. */
#define SAVE_REMINDER_S 60

int
quote_len(const char *s)
{
	return (int)lc_email_cut(s, strlen(s), QUOTE_MAX);
}

/*
 * Whether the users file holds what the registry holds, and since when it
 * has not: the save that failed, for the replies and the log. One linecapd
 * runs one registry.
 */
static struct {
	bool failing;
	char error[512];       /* the last failure's message */
	uint64_t since;        /* monotonic s of the first failure */
	uint64_t attempts;     /* failed saves since then */
	uint64_t next_retry;   /* monotonic s of the upkeep's next try */
	uint64_t next_reminder;
} save_state;

const char *
users_save_error(void)
{
	return save_state.error;
}

/* A user's limits and plan as the worker takes them. */
struct lc_wire_limits
wire_limits(const struct lc_user *u)
{
	struct lc_wire_limits l = {
		.rate = { [LC_FLOW_DIR_UP] = u->up, [LC_FLOW_DIR_DOWN] = u->down },
		.burst = { [LC_FLOW_DIR_UP] = (uint32_t)u->burst_up,
			   [LC_FLOW_DIR_DOWN] = (uint32_t)u->burst_down },
		.plan = u->plan,
	};

	return l;
}

bool
limits_differ(const struct lc_user *u, const struct lc_user *next)
{
	return u->up != next->up || u->down != next->down ||
	       u->burst_up != next->burst_up || u->burst_down != next->burst_down ||
	       u->plan != next->plan;
}

/* A user of the registry comes to life on the worker. */
int
worker_user_add(struct daemon *d, const struct lc_user *u)
{
	struct lc_wire_limits l = wire_limits(u);

	return lc_wire_user_add(d->wire, u->id, &l);
}

/* The name of a user's plan, or JSON null. */
static json_t *
plan_name_json(struct daemon *d, const struct lc_user *u)
{
	const struct lc_plan *p = lc_user_plan_get(d->users, u->plan);

	return p != NULL ? json_string(p->name) : json_null();
}

static json_t *
direction_json(const struct lc_worker_user *us, int dir, bool tap)
{
	return json_pack("{s:I,s:I,s:I}",
		"packets", (json_int_t)__atomic_load_n(&us->packets[dir], __ATOMIC_RELAXED),
		"bytes", (json_int_t)__atomic_load_n(&us->bytes[dir], __ATOMIC_RELAXED),
		tap ? "would_drop" : "drops",
		(json_int_t)__atomic_load_n(&us->drops[dir], __ATOMIC_RELAXED));
}

struct lc_wire_part
daemon_part(const struct daemon *d, unsigned int i)
{
	if (i == 0)
		return (struct lc_wire_part){
			.flows = d->flows, .assign = d->assign,
			.shaper = { d->shaper[0], d->shaper[1] },
		};
	return d->more[i - 1];
}

void
user_counters(const struct daemon *d, uint32_t id, struct lc_worker_user *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < RTE_MAX(d->workers, 1u); i++) {
		struct lc_assign *a = daemon_part(d, i).assign;
		const struct lc_worker_user *w;

		if (a == NULL)
			continue;
		w = &lc_assign_users(a)[id];
		for (int dir = 0; dir < LC_ASSIGN_DIRS; dir++) {
			out->packets[dir] += __atomic_load_n(&w->packets[dir], __ATOMIC_RELAXED);
			out->bytes[dir] += __atomic_load_n(&w->bytes[dir], __ATOMIC_RELAXED);
			out->drops[dir] += __atomic_load_n(&w->drops[dir], __ATOMIC_RELAXED);
		}
		out->last_seen = RTE_MAX(out->last_seen,
					 __atomic_load_n(&w->last_seen, __ATOMIC_RELAXED));
		out->flows += __atomic_load_n(&w->flows, __ATOMIC_RELAXED);
	}
}

json_t *
user_json(struct daemon *d, const struct lc_user *u)
{
	struct lc_worker_user sum, *us = &sum;

	user_counters(d, u->id, &sum);
	bool tap = lc_wire_mode(d->wire) == LC_WIRE_TAP;

	return json_pack("{s:s,s:I,s:I,s:I,s:s,s:s,s:o,s:I,s:I,s:b,s:I,s:I,s:o,s:{s:o,s:o}}",
		"email", u->email,
		"id", (json_int_t)u->id,
		"up", (json_int_t)u->up,
		"down", (json_int_t)u->down,
		"up_from", lc_user_rate_from(d->users, u, LC_USER_LIMIT_UP),
		"down_from", lc_user_rate_from(d->users, u, LC_USER_LIMIT_DOWN),
		"plan", plan_name_json(d, u),
		"burst_up", (json_int_t)u->burst_up,
		"burst_down", (json_int_t)u->burst_down,
		"static", u->is_static,
		"flows", (json_int_t)__atomic_load_n(&us->flows, __ATOMIC_RELAXED),
		"age", (json_int_t)(lc_monotonic_sec() - u->created),
		"nodes", node_user_json(d, u->id),
		"counters",
		"up", direction_json(us, LC_FLOW_DIR_UP, tap),
		"down", direction_json(us, LC_FLOW_DIR_DOWN, tap));
}

/*
 * Delete a user from the registry. Its id is retired until the worker has
 * unbound every flow from it; the upkeep then reclaims it.
 */
void
retire(struct daemon *d, uint32_t id)
{
	if (lc_user_del(d->users, id) == 0 &&
	    d->n_retired < d->conf.users.capacity)
		d->retired[d->n_retired++] = id;
	node_user_gone(d, id);
}

/*
 * Save the users file if the registry's static users differ from it, or
 * whatever they are when forced (the `save` command). Returns 0 (saved,
 * or nothing to save) or -errno, with the message in save_state.error.
 * The log says when saving starts failing, reminds at most once every
 * SAVE_REMINDER_S while it goes on failing, and says when it works again:
 * a full disk is a few lines, not one per attempt.
 */
int
save_users(struct daemon *d, bool force)
{
	uint64_t gen = lc_user_static_generation(d->users), now;
	char err[512];
	int rc;

	if (gen == d->saved_generation && !force)
		return 0;
	rc = lc_user_save(d->users, d->conf.users.state_file, err, sizeof(err));
	now = lc_monotonic_sec();
	if (rc == 0) {
		d->saved_generation = gen;
		if (save_state.failing) {
			lc_log("info", "users saved to %s again, after %" PRIu64
			       " failed attempts over %" PRIu64 " s",
			       d->conf.users.state_file, save_state.attempts,
			       now - save_state.since);
			save_state.failing = false;
		}
		return 0;
	}
	/* Cut at a character boundary: the path may be UTF-8. */
	snprintf(save_state.error, sizeof(save_state.error), "%.*s",
		 (int)lc_email_cut(err, strlen(err), 320), err);
	if (!save_state.failing) {
		save_state.failing = true;
		save_state.since = now;
		save_state.attempts = 1;
		save_state.next_reminder = now + SAVE_REMINDER_S;
		lc_log("error", "%s: users not saved; changes to static users are "
		       "live but will be lost at restart until they are (retrying "
		       "every second, reminding every %d s)", save_state.error,
		       SAVE_REMINDER_S);
		return rc;
	}
	save_state.attempts++;
	if (now >= save_state.next_reminder) {
		save_state.next_reminder = now + SAVE_REMINDER_S;
		lc_log("error", "%s: users still not saved after %" PRIu64 " attempts "
		       "over %" PRIu64 " s", save_state.error, save_state.attempts,
		       now - save_state.since);
	}
	return rc;
}

/* Copy the worker's view of every user into the registry. */
static void
note_activity(struct daemon *d)
{
	uint64_t now_tsc = rte_rdtsc(), hz = rte_get_tsc_hz();
	uint64_t now = lc_monotonic_sec();
	const struct lc_user *u;
	uint32_t cursor = 0;

	while ((u = lc_user_next(d->users, &cursor)) != NULL) {
		struct lc_worker_user st;
		uint64_t seen, last = 0;

		user_counters(d, u->id, &st);
		seen = st.last_seen;
		if (seen != 0 && seen <= now_tsc)
			last = now - RTE_MIN(now, (now_tsc - seen) / hz);
		lc_user_note_activity(d->users, u->id, last, st.flows);
	}
}

/* Collect idle dynamic users; returns how many. */
unsigned int
collect(struct daemon *d)
{
	uint32_t removed[UPKEEP_GC_BATCH];
	unsigned int total = 0, n;

	bool worker_answers = true;

	note_activity(d);
	do {
		n = lc_user_gc(d->users, lc_monotonic_sec(), d->conf.users.gc_min_age,
			       d->conf.users.gc_idle, removed, RTE_DIM(removed));
		for (unsigned int i = 0; i < n; i++) {
			/*
			 * A worker that does not answer is not asked again for
			 * the rest: each would cost the control thread a
			 * timeout. reclaim_ids() deletes them there later.
			 */
			if (worker_answers &&
			    lc_wire_user_del(d->wire, removed[i]) == -ETIMEDOUT)
				worker_answers = false;
			if (d->n_retired < d->conf.users.capacity)
				d->retired[d->n_retired++] = removed[i];
		}
		total += n;
	} while (n == RTE_DIM(removed));
	if (total > 0)
		lc_log("info", "gc: %u idle dynamic users collected", total);
	return total;
}

int
users_create(struct daemon *d)
{
	struct lc_user_params up = {
		.capacity = d->conf.users.capacity,
		.default_up = d->conf.shaper.default_up,
		.default_down = d->conf.shaper.default_down,
		.plans = d->conf.shaper.plans,
		/* As the shaper rounds it: a plan is full when its pipes are. */
		.plan_users = rte_align32pow2(d->conf.shaper.plan_users),
	};
	struct lc_assign_params ap = {
		.name = "lc",
		.socket_id = (int)rte_socket_id(),
		.users = d->conf.users.capacity,
		.ip_capacity = RTE_MAX(d->conf.users.capacity, 1024u),
		/* Endpoints may wait for their flows by the thousand per second. */
		.pending_capacity = RTE_MAX(65536u, d->conf.flows.capacity / 4),
		.pending_ttl = (uint64_t)d->conf.flows.pending_ttl * rte_get_tsc_hz(),
	};

	d->retired = calloc(d->conf.users.capacity, sizeof(*d->retired));
	d->retired_gone = calloc(d->conf.users.capacity, sizeof(*d->retired_gone));
	if (d->retired == NULL || d->retired_gone == NULL)
		return -ENOMEM;
	d->users = lc_user_registry_create(&up);
	if (d->users == NULL) {
		lc_log("error", "cannot create the user registry: %s", strerror(errno));
		return -errno;
	}
	/* Every worker keeps every user's counters and assignments. */
	for (unsigned int i = 0; i < RTE_MAX(d->workers, 1u); i++) {
		char name[16];
		struct lc_assign *a;

		snprintf(name, sizeof(name), i == 0 ? "lc" : "lc%u", i);
		ap.name = name;
		a = lc_assign_create(&ap);
		if (a == NULL) {
			lc_log("error", "cannot create the assignment tables of worker "
			       "%u: %s (raise EAL -m or lower [users] capacity)", i,
			       rte_strerror(rte_errno));
			return -ENOMEM;
		}
		if (i == 0)
			d->assign = a;
		else
			d->more[i - 1].assign = a;
	}
	return 0;
}

int
users_load(struct daemon *d)
{
	char err[512];
	int rc = lc_user_load(d->users, d->conf.users.state_file,
			      lc_monotonic_sec(), err, sizeof(err));

	if (rc != 0) {
		if (!d->ignore_state) {
			lc_log("error", "%s (start with --ignore-state to start "
			       "without these users)", err);
			return rc;
		}
		/*
		 * The first save would overwrite a file that may still hold
		 * users worth having: keep it aside, under a name that says
		 * when and why, and refuse to start if it cannot be kept.
		 */
		char aside[LC_CONF_PATH_MAX + 64];
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		snprintf(aside, sizeof(aside), "%s.ignored-", d->conf.users.state_file);
		strftime(aside + strlen(aside), sizeof(aside) - strlen(aside),
			 "%Y%m%dT%H%M%S", &tm);
		if (rename(d->conf.users.state_file, aside) != 0) {
			int e = errno;

			lc_log("error", "%s; and it cannot be kept aside as %s: %s",
			       err, aside, strerror(e));
			return -e;
		}
		lc_log("warning", "%s: ignored (--ignore-state), starting with no "
		       "users; the file is kept as %s", err, aside);
	}
	d->saved_generation = lc_user_static_generation(d->users);
	return 0;
}

int
users_start(struct daemon *d)
{
	const struct lc_user *u;
	uint32_t cursor = 0, n = 0;
	int rc = plans_start(d);

	if (rc != 0)
		return rc;
	while ((u = lc_user_next(d->users, &cursor)) != NULL) {
		rc = worker_user_add(d, u);

		if (rc != 0) {
			lc_log("error", "user %s (id %u): the worker refused it: %s",
			       u->email, u->id, rc == -EINVAL ?
			       "a rate below the port rate / 2^21 or a burst smaller "
			       "than a frame ([shaper] port_rate, [wire] mtu)" :
			       rc == -ENOSPC ? "more distinct pairs of rate and burst "
			       "than [shaper] profiles" : rc == -ENOBUFS ? "its plan "
			       "is full ([shaper] plan_users)" : rc == -ENOTSUP ?
			       "plans need [shaper] engine = sched and an aqm other "
			       "than red" : strerror(-rc));
			return rc;
		}
		n++;
	}
	d->next_tick = d->next_gc = lc_monotonic_sec();
	lc_log("info", "%u users loaded from %s", n, d->conf.users.state_file);
	return 0;
}

/*
 * Retired ids go back to the pool once the worker has no flow left on them:
 * one question to the worker for all of them.
 */
static void
reclaim_ids(struct daemon *d)
{
	uint32_t kept = 0;

	if (d->n_retired == 0)
		return;
	lc_wire_users_gone(d->wire, d->retired, d->n_retired, d->retired_gone);
	for (uint32_t i = 0; i < d->n_retired; i++) {
		if (d->retired_gone[i])
			lc_user_reclaim(d->users, d->retired[i]);
		else
			d->retired[kept++] = d->retired[i];
	}
	d->n_retired = kept;
}

void
users_upkeep(struct daemon *d)
{
	uint64_t now = lc_monotonic_sec();

	/*
	 * Commands save what they change themselves; this catches anything
	 * else at once and, while saving fails, retries once a second.
	 */
	if (!save_state.failing || now >= save_state.next_retry) {
		save_state.next_retry = now + 1;
		save_users(d, false);
	}
	if (now < d->next_tick)
		return;
	d->next_tick = now + 1;
	reclaim_ids(d);
	/* The collection runs a few times per gc_idle period. */
	if (now >= d->next_gc) {
		collect(d);
		d->next_gc = now + RTE_MAX(1u, RTE_MIN(60u, d->conf.users.gc_idle / 4));
	}
}

void
users_stop(struct daemon *d)
{
	char err[512];

	if (d->users == NULL)
		return;
	if (lc_user_save(d->users, d->conf.users.state_file, err, sizeof(err)) != 0)
		lc_log("error", "%s", err);
	else
		lc_log("info", "users saved to %s", d->conf.users.state_file);
}

void
users_free(struct daemon *d)
{
	lc_user_registry_free(d->users);
	lc_assign_free(d->assign);
	for (unsigned int i = 1; i < RTE_MAX(d->workers, 1u); i++)
		lc_assign_free(d->more[i - 1].assign);
	free(d->retired);
	free(d->retired_gone);
}

void
users_stats_json(struct daemon *d, json_t *reply)
{
	struct lc_assign_counters c;
	struct lc_worker_user sum, *unassigned = &sum;
	bool tap = lc_wire_mode(d->wire) == LC_WIRE_TAP;
	uint32_t st = 0, dyn = 0;

	json_object_set_new(reply, "state",
			    json_string(lc_state_name(lc_wire_state(d->wire))));
	lc_user_count(d->users, &st, &dyn);
	json_object_set_new(reply, "users", json_pack("{s:i,s:i,s:i,s:i}",
		"static", (int)st, "dynamic", (int)dyn,
		"retired", (int)lc_user_retired_count(d->users),
		"capacity", (int)d->conf.users.capacity));
	plans_stats_json(d, reply);
	user_counters(d, 0, &sum);
	json_object_set_new(reply, "unassigned", json_pack("{s:o,s:o}",
		"up", direction_json(unassigned, LC_FLOW_DIR_UP, tap),
		"down", direction_json(unassigned, LC_FLOW_DIR_DOWN, tap)));
	/* A worker that did not answer for stats' other sections is not asked. */
	int rc = json_object_get(reply, "incomplete") != NULL ? -ETIMEDOUT :
		 lc_wire_assign_counters(d->wire, &c);
	if (rc != 0) {
		reply_incomplete(reply, "assignments", rc);
	} else {
		json_object_set_new(reply, "assignments", json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			"ip_wide", (json_int_t)c.ip_rules,
			"pending", (json_int_t)c.pending,
			"bound_on_create", (json_int_t)c.bound_on_create,
			"bound_by_ip", (json_int_t)c.bound_by_ip,
			"pending_expired", (json_int_t)c.pending_expired,
			"pending_full", (json_int_t)c.pending_full,
			"sweeps", (json_int_t)c.sweeps));
	}
}

uint64_t
lc_monotonic_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}
