/* SPDX-License-Identifier: MIT */
/*
 * The commands about users themselves: user set, user del, user get, user
 * list, gc and save. set and del come in batches of pipelined lines, with
 * one save of the users file for the whole batch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "lc_rate.h"
#include "linecapd.h"
#include "users_priv.h"

static int
no_profile(struct daemon *d, json_t *reply)
{
	return lc_mgmt_error(reply, "no room for another pair of rate and burst in "
			     "the shaper ([shaper] profiles = %u): use a rate and "
			     "burst that other users have, or raise it",
			     d->conf.shaper.profiles);
}

bool
email_ok(const char *email, json_t *reply)
{
	size_t len = strlen(email), at = 0;
	uint32_t cp = 0;
	enum lc_email_fault f = lc_email_check(email, len, &at, &cp);

	if (f == LC_EMAIL_OK)
		return true;
	if (f == LC_EMAIL_TOO_LONG || f == LC_EMAIL_EMPTY || f == LC_EMAIL_BAD_UTF8)
		lc_mgmt_error(reply, "bad email '%.*s%s': %s (%zu bytes); an email is "
			      "1 to 255 bytes of printable UTF-8 without spaces or "
			      "invisible characters", f == LC_EMAIL_BAD_UTF8 ? 0 :
			      quote_len(email), email, len > QUOTE_MAX ? "..." : "",
			      lc_email_fault_text(f), len);
	else
		lc_mgmt_error(reply, "bad email '%.*s%s': U+%04" PRIX32 " at byte %zu "
			      "is %s; an email is 1 to 255 bytes of printable UTF-8 "
			      "without spaces or invisible characters, so that two "
			      "emails that print the same are one user", QUOTE(email),
			      cp, at, lc_email_fault_text(f));
	return false;
}

/*
 * A user cannot join a plan that holds plan_users users already, nor,
 * for a moment, one whose free places still hold frames of users that
 * left it (the shaper frees a place once they are out).
 */
static int
plan_full(struct daemon *d, json_t *reply, uint32_t plan)
{
	const struct lc_plan *p = lc_user_plan_get(d->users, plan);

	if (p != NULL && p->users < lc_user_plan_capacity(d->users))
		return lc_mgmt_error(reply, "plan %s has no free place yet: the "
				     "places of users that left it still hold their "
				     "frames; try again in a moment", p->name);
	return lc_mgmt_error(reply, "plan %s is full (%u users, [shaper] "
			     "plan_users)", p != NULL ? p->name : "?",
			     lc_user_plan_capacity(d->users));
}

int
limits_refused(struct daemon *d, json_t *reply, int rc, const char *what,
	       uint32_t plan)
{
	if (rc == -ENOSPC)
		no_profile(d, reply);
	else if (rc == -ENOBUFS)
		plan_full(d, reply, plan);
	else if (rc == -ENOTSUP)
		lc_mgmt_error(reply, "%s: plans need [shaper] engine = sched and "
			      "an aqm other than red", what);
	else if (rc == -EINVAL)
		lc_mgmt_error(reply, "%s: a rate is too low for the port (at least "
			      "the port rate / 2^21) or a burst smaller than a "
			      "frame", what);
	else
		worker_error(reply, what, rc); /* says when it did not answer */
	return rc;
}

/* A user that the registry just made must come to life in the worker too. */
static int
user_born(struct daemon *d, const struct lc_user *u, json_t *reply)
{
	int rc = worker_user_add(d, u);

	if (rc != 0) {
		uint32_t id = u->id, plan = u->plan;

		/* Nothing half-applied: the registry forgets the user again. */
		lc_user_del(d->users, id);
		lc_user_reclaim(d->users, id);
		limits_refused(d, reply, rc, "user not created", plan);
	}
	return rc;
}

/*
 * After the lines of a batch that change static users are applied: one
 * save for all of them, before any reply goes out. A line that succeeded
 * is acknowledged only if the file then holds it; otherwise its reply is
 * an error that says the change is live but not saved.
 */
void
save_batch(struct daemon *d, struct lc_mgmt_req *reqs, unsigned int n)
{
	bool any = false;
	int rc;

	for (unsigned int i = 0; i < n; i++)
		any |= reqs[i].rc == 0;
	if (!any)
		return;
	rc = save_users(d, false);
	for (unsigned int i = 0; i < n; i++) {
		json_t *reply = reqs[i].reply;

		if (reqs[i].rc != 0)
			continue;
		json_object_set_new(reply, "saved", json_boolean(rc == 0));
		if (rc != 0)
			reqs[i].rc = lc_mgmt_error(reply, "not saved: %s; the change "
				"is live but will be lost at restart unless saved "
				"(linecapd retries every second; free space, then "
				"'save')", users_save_error());
	}
}

/* The smallest burst the shaper takes: one frame of the largest size. */
static uint64_t
burst_min(const struct daemon *d)
{
	return (uint64_t)d->conf.wire.mtu + d->conf.shaper.frame_overhead;
}

/* Why the registry refused a `user set` (lc_user_preview()). */
static int
user_set_refused(struct daemon *d, json_t *reply, int rc, uint32_t plan)
{
	if (rc == -ENOSPC)
		return lc_mgmt_error(reply, "no room for another user ([users] "
				     "capacity = %u)", d->conf.users.capacity);
	if (rc == -ENOBUFS)
		return plan_full(d, reply, plan);
	return lc_mgmt_error(reply, "user not set: %s", strerror(-rc));
}

/* One `user set` line, applied but not saved. */
static int
apply_user_set(struct daemon *d, int argc, char **argv, json_t *reply)
{
	struct lc_user_limits lim = { 0 };
	const struct lc_user *u;
	struct lc_user next;
	bool created;
	int rc;

	if (!email_ok(argv[0], reply))
		return -EINVAL;
	/* Check every argument before anything is applied. */
	char why[256];
	if (lc_user_parse_set(d->users, argc - 1, argv + 1, &lim, why,
			      sizeof(why)) != 0)
		return lc_mgmt_error(reply, "%s", why);
	if (((lim.fields & LC_USER_LIMIT_UP) && lim.up < d->min_rate[LC_FLOW_DIR_UP]) ||
	    ((lim.fields & LC_USER_LIMIT_DOWN) &&
	     lim.down < d->min_rate[LC_FLOW_DIR_DOWN]))
		return lc_mgmt_error(reply, "rate below what the shaper can hold on "
				     "this port: at least %" PRIu64 " bit/s up and %"
				     PRIu64 " bit/s down (the port rate / 2^%d)",
				     d->min_rate[LC_FLOW_DIR_UP],
				     d->min_rate[LC_FLOW_DIR_DOWN],
				     LC_SHAPER_RATE_RATIO_LOG2);
	/*
	 * A burst below the largest frame would stall the user's queue for
	 * good, and the shaper refuses it; say so, rather than let it look
	 * like a full profile table.
	 */
	bool small_up = (lim.fields & LC_USER_LIMIT_BURST_UP) && lim.burst_up != 0 &&
			lim.burst_up < burst_min(d);
	bool small_down = (lim.fields & LC_USER_LIMIT_BURST_DOWN) && lim.burst_down != 0 &&
			  lim.burst_down < burst_min(d);

	if (small_up || small_down)
		return lc_mgmt_error(reply, "burst %" PRIu64 " bytes below the largest "
				     "frame: at least %" PRIu64 " bytes ([wire] mtu %u + "
				     "[shaper] frame_overhead %u), so that a full-size "
				     "frame can pass",
				     small_up ? lim.burst_up : lim.burst_down,
				     burst_min(d), d->conf.wire.mtu,
				     d->conf.shaper.frame_overhead);
	/*
	 * What the user will be, checked by the registry; an existing user's
	 * new limits and plan then go to the shaper first: if it has no room
	 * for them, the registry keeps the old ones too.
	 */
	rc = lc_user_preview(d->users, argv[0], &lim, &next);
	if (rc != 0)
		return user_set_refused(d, reply, rc, lim.plan);
	u = lc_user_find(d->users, argv[0]);
	if (u != NULL && limits_differ(u, &next)) {
		struct lc_wire_limits l = wire_limits(&next);

		rc = lc_wire_user_set(d->wire, u->id, &l);
		if (rc != 0)
			return limits_refused(d, reply, rc, "user not set", next.plan);
	}
	rc = lc_user_set(d->users, argv[0], &lim, true, lc_monotonic_sec(), &u,
			 &created);
	if (rc != 0)
		return user_set_refused(d, reply, rc, lim.plan);
	if (created && user_born(d, u, reply) != 0)
		return -EIO;
	json_object_set_new(reply, "user", user_json(d, u));
	return 0;
}

void
apply_batch(struct daemon *d, struct lc_mgmt_req *reqs, unsigned int n,
	    int (*apply)(struct daemon *d, int argc, char **argv, json_t *reply))
{
	for (unsigned int i = 0; i < n; i++)
		reqs[i].rc = apply(d, reqs[i].argc, reqs[i].argv, reqs[i].reply);
	save_batch(d, reqs, n);
}

int
run_one(lc_mgmt_batch_fn batch, void *ctx, int argc, char **argv, json_t *reply)
{
	struct lc_mgmt_req req = { .argc = argc, .argv = argv, .reply = reply };

	batch(ctx, &req, 1);
	return req.rc;
}

/*
 * user set, for a batch of pipelined lines: each line is applied on its
 * own, then the users file is written once for all of them (a save
 * rewrites and fsyncs the whole file), before the replies go out.
 */
static void
batch_user_set(void *ctx, struct lc_mgmt_req *reqs, unsigned int n)
{
	apply_batch(ctx, reqs, n, apply_user_set);
}

static int
cmd_user_set(void *ctx, int argc, char **argv, json_t *reply)
{
	return run_one(batch_user_set, ctx, argc, argv, reply);
}

static const struct lc_user *
find_user(struct daemon *d, const char *email, json_t *reply)
{
	const struct lc_user *u;

	if (!email_ok(email, reply))
		return NULL;
	u = lc_user_find(d->users, email);
	if (u == NULL)
		lc_mgmt_error(reply, "no user '%.*s%s'", QUOTE(email));
	return u;
}

/* One `user del` line, applied but not saved. */
static int
apply_user_del(struct daemon *d, int argc, char **argv, json_t *reply)
{
	const struct lc_user *u = find_user(d, argv[0], reply);

	(void)argc;
	if (u == NULL)
		return -ENOENT;
	uint32_t id = u->id;
	/*
	 * The worker first: once it answers, no packet counts for the id. The
	 * id itself is reclaimed by the upkeep once its flows are unbound.
	 */
	int rc = lc_wire_user_del(d->wire, id);
	if (rc != 0 && rc != -EINVAL)
		return lc_mgmt_error(reply, "user not deleted: %s", strerror(-rc));
	retire(d, id);
	return 0;
}

/* user del, for a batch of pipelined lines: one save for all of them. */
static void
batch_user_del(void *ctx, struct lc_mgmt_req *reqs, unsigned int n)
{
	apply_batch(ctx, reqs, n, apply_user_del);
}

static int
cmd_user_del(void *ctx, int argc, char **argv, json_t *reply)
{
	return run_one(batch_user_del, ctx, argc, argv, reply);
}

static int
cmd_user_get(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;
	const struct lc_user *u = find_user(d, argv[0], reply);

	(void)argc;
	if (u == NULL)
		return -ENOENT;
	json_object_set_new(reply, "user", user_json(d, u));
	return 0;
}

static int
cmd_user_list(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;
	json_t *list = json_array();
	const struct lc_user *u;
	uint32_t cursor = 0;

	(void)argc;
	(void)argv;
	while ((u = lc_user_next(d->users, &cursor)) != NULL)
		json_array_append_new(list, user_json(d, u));
	json_object_set_new(reply, "count", json_integer((json_int_t)json_array_size(list)));
	json_object_set_new(reply, "users", list);
	return 0;
}

static int
cmd_gc(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;

	(void)argc;
	(void)argv;
	json_object_set_new(reply, "removed", json_integer(collect(d)));
	return 0;
}

static int
cmd_save(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;

	(void)argc;
	(void)argv;
	/* Saved even when nothing changed: the operator asked. */
	if (save_users(d, true) != 0) {
		json_object_set_new(reply, "saved", json_false());
		return lc_mgmt_error(reply, "not saved: %s", users_save_error());
	}
	json_object_set_new(reply, "file", json_string(d->conf.users.state_file));
	json_object_set_new(reply, "saved", json_true());
	return 0;
}

static const struct lc_mgmt_cmd user_cmds[] = {
	{ "user set", "EMAIL [up=RATE|default] [down=RATE|default] [burst=SIZE|default] "
	  "[plan=NAME|none]",
	  "create or update a static user (saved, never collected)", 1,
	  1 + LC_USER_SET_ARGS_MAX, cmd_user_set, batch_user_set },
	{ "user del", "EMAIL", "remove a user; its flows become unassigned", 1, 1,
	  cmd_user_del, batch_user_del },
	{ "user get", "EMAIL", "show a user and its counters", 1, 1, cmd_user_get },
	{ "user list", "", "list every user", 0, 0, cmd_user_list },
	{ "assign", "EMAIL IP[:PORT] [SERVER_IP:PORT] [node=NAME]",
	  "bind the flows of a client endpoint (to one server endpoint), or of a "
	  "client IP, to a user",
	  2, 4, cmd_assign, batch_assign, .follower_ok = true },
	{ "unassign", "IP[:PORT] [SERVER_IP:PORT]",
	  "remove an assignment; without a server, every one of the client "
	  "endpoint", 1, 2, cmd_unassign, .follower_ok = true },
	{ "state", "[present|disabled|absent]",
	  "show or set the shaping state", 0, 1, cmd_state },
	{ "gc", "", "collect idle dynamic users now", 0, 0, cmd_gc },
	{ "save", "", "write the users file now", 0, 0, cmd_save },
};

int
users_register_cmds(struct daemon *d)
{
	return lc_mgmt_register(d->table, user_cmds, RTE_DIM(user_cmds), d);
}
