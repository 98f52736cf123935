/* SPDX-License-Identifier: MIT */
/*
 * Users and assignments on the control thread: the registry (lib/user), the
 * state file, and the commands user, assign, unassign, state, gc and save.
 * Whatever the fast path must know goes to the worker as a command; the
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

/* Users whose ids are looked at per upkeep for reclaiming and activity. */
#define UPKEEP_GC_BATCH 256
/* Bytes of client text quoted in an error: enough to recognise it. */
#define QUOTE_MAX 64
/* While the users file cannot be saved: one reminder a minute in the log. */
#define SAVE_REMINDER_S 60

/*
 * Client text quoted in a message, as "'%.*s%s'": at most QUOTE_MAX bytes,
 * cut at a UTF-8 character boundary (a message cut inside a character is
 * not UTF-8, and the reply would lose it), and "..." when cut.
 */
#define QUOTE(s) quote_len(s), (s), strlen(s) > QUOTE_MAX ? "..." : ""

static int
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

/* A user's limits as the worker takes them. */
static struct lc_wire_limits
wire_limits(uint64_t up, uint64_t down, uint64_t burst_up, uint64_t burst_down)
{
	struct lc_wire_limits l = {
		.rate = { [LC_FLOW_DIR_UP] = up, [LC_FLOW_DIR_DOWN] = down },
		.burst = { [LC_FLOW_DIR_UP] = (uint32_t)burst_up,
			   [LC_FLOW_DIR_DOWN] = (uint32_t)burst_down },
	};

	return l;
}

/* A user of the registry comes to life on the worker. */
static int
worker_user_add(struct daemon *d, const struct lc_user *u)
{
	struct lc_wire_limits l = wire_limits(u->up, u->down, u->burst_up,
					      u->burst_down);

	return lc_wire_user_add(d->wire, u->id, &l);
}

static int
no_profile(struct daemon *d, json_t *reply)
{
	return lc_mgmt_error(reply, "no room for another pair of rate and burst in "
			     "the shaper ([shaper] profiles = %u): use a rate and "
			     "burst that other users have, or raise it",
			     d->conf.shaper.profiles);
}

static bool
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

static json_t *
direction_json(const struct lc_user_state *us, int dir, bool tap)
{
	return json_pack("{s:I,s:I,s:I}",
		"packets", (json_int_t)__atomic_load_n(&us->packets[dir], __ATOMIC_RELAXED),
		"bytes", (json_int_t)__atomic_load_n(&us->bytes[dir], __ATOMIC_RELAXED),
		tap ? "would_drop" : "drops",
		(json_int_t)__atomic_load_n(&us->drops[dir], __ATOMIC_RELAXED));
}

static json_t *
user_json(struct daemon *d, const struct lc_user *u)
{
	const struct lc_user_state *us = &lc_assign_users(d->assign)[u->id];
	bool tap = lc_wire_mode(d->wire) == LC_WIRE_TAP;

	return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:b,s:I,s:I,s:{s:o,s:o}}",
		"email", u->email,
		"id", (json_int_t)u->id,
		"up", (json_int_t)u->up,
		"down", (json_int_t)u->down,
		"burst_up", (json_int_t)u->burst_up,
		"burst_down", (json_int_t)u->burst_down,
		"static", u->is_static,
		"flows", (json_int_t)__atomic_load_n(&us->flows, __ATOMIC_RELAXED),
		"age", (json_int_t)(lc_monotonic_sec() - u->created),
		"counters",
		"up", direction_json(us, LC_FLOW_DIR_UP, tap),
		"down", direction_json(us, LC_FLOW_DIR_DOWN, tap));
}

/* A user that the registry just made must come to life in the worker too. */
static int
user_born(struct daemon *d, const struct lc_user *u, json_t *reply)
{
	int rc = worker_user_add(d, u);

	if (rc != 0) {
		uint32_t id = u->id;

		/* Nothing half-applied: the registry forgets the user again. */
		lc_user_del(d->users, id);
		lc_user_reclaim(d->users, id);
		if (rc == -ENOSPC)
			no_profile(d, reply);
		else if (rc == -EINVAL)
			lc_mgmt_error(reply, "user not created: a rate is too low for "
				      "the port (at least the port rate / 2^21) or a "
				      "burst smaller than a frame");
		else
			lc_mgmt_error(reply, "user not created: the worker refused "
				      "id %u: %s", id, strerror(-rc));
	}
	return rc;
}

/*
 * Delete a user from the registry. Its id is retired until the worker has
 * unbound every flow from it; the upkeep then reclaims it.
 */
static void
retire(struct daemon *d, uint32_t id)
{
	if (lc_user_del(d->users, id) == 0 &&
	    d->n_retired < d->conf.users.capacity)
		d->retired[d->n_retired++] = id;
}

/*
 * Save the users file if the registry's static users differ from it, or
 * whatever they are when forced (the `save` command). Returns 0 (saved,
 * or nothing to save) or -errno, with the message in save_state.error.
 * The log says when saving starts failing, reminds at most once every
 * SAVE_REMINDER_S while it goes on failing, and says when it works again:
 * a full disk is a few lines, not one per attempt.
 */
static int
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

/*
 * After the lines of a batch that change static users are applied: one
 * save for all of them, before any reply goes out. A line that succeeded
 * is acknowledged only if the file then holds it; otherwise its reply is
 * an error that says the change is live but not saved.
 */
static void
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
				"'save')", save_state.error);
	}
}

/* The smallest burst the shaper takes: one frame of the largest size. */
static uint64_t
burst_min(const struct daemon *d)
{
	return (uint64_t)d->conf.wire.mtu + d->conf.shaper.frame_overhead;
}

/* One `user set` line, applied but not saved. */
static int
apply_user_set(struct daemon *d, int argc, char **argv, json_t *reply)
{
	struct lc_user_limits lim = { 0 };
	const struct lc_user *u;
	bool created;
	int rc;

	if (!email_ok(argv[0], reply))
		return -EINVAL;
	/* Check every argument before anything is applied. */
	char why[256];
	if (lc_user_parse_limits(argc - 1, argv + 1, &lim, why, sizeof(why)) != 0)
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
	if (((lim.fields & LC_USER_LIMIT_BURST_UP) && lim.burst_up < burst_min(d)) ||
	    ((lim.fields & LC_USER_LIMIT_BURST_DOWN) && lim.burst_down < burst_min(d)))
		return lc_mgmt_error(reply, "burst %" PRIu64 " bytes below the largest "
				     "frame: at least %" PRIu64 " bytes ([wire] mtu %u + "
				     "[shaper] frame_overhead %u), so that a full-size "
				     "frame can pass",
				     (lim.fields & LC_USER_LIMIT_BURST_UP) &&
				     lim.burst_up < burst_min(d) ? lim.burst_up :
				     lim.burst_down, burst_min(d), d->conf.wire.mtu,
				     d->conf.shaper.frame_overhead);
	/*
	 * An existing user's new limits go to the shaper first: if it has no
	 * room for them, the registry keeps the old ones too.
	 */
	u = lc_user_find(d->users, argv[0]);
	if (u != NULL && (lim.fields & (LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN |
					LC_USER_LIMIT_BURST_UP | LC_USER_LIMIT_BURST_DOWN))) {
		struct lc_wire_limits l = wire_limits(
			lim.fields & LC_USER_LIMIT_UP ? lim.up : u->up,
			lim.fields & LC_USER_LIMIT_DOWN ? lim.down : u->down,
			lim.fields & LC_USER_LIMIT_BURST_UP ? lim.burst_up : u->burst_up,
			lim.fields & LC_USER_LIMIT_BURST_DOWN ? lim.burst_down :
			u->burst_down);

		rc = lc_wire_user_set(d->wire, u->id, &l);
		if (rc == -ENOSPC)
			return no_profile(d, reply);
		if (rc == -EINVAL)
			return lc_mgmt_error(reply, "user not set: a rate is too low for "
					     "the port (at least the port rate / 2^21) or a "
					     "burst smaller than a frame");
		if (rc != 0)
			return lc_mgmt_error(reply, "user not set: the shaper refused "
					     "the limits: %s", strerror(-rc));
	}
	rc = lc_user_set(d->users, argv[0], &lim, true, lc_monotonic_sec(), &u,
			 &created);
	if (rc == -ENOSPC)
		return lc_mgmt_error(reply, "no room for another user ([users] "
				     "capacity = %u)", d->conf.users.capacity);
	if (rc != 0)
		return lc_mgmt_error(reply, "user not set: %s", strerror(-rc));
	if (created && user_born(d, u, reply) != 0)
		return -EIO;
	json_object_set_new(reply, "user", user_json(d, u));
	return 0;
}

/*
 * user set, for a batch of pipelined lines: each line is applied on its
 * own, then the users file is written once for all of them (a save
 * rewrites and fsyncs the whole file), before the replies go out.
 */
static void
batch_user_set(void *ctx, struct lc_mgmt_req *reqs, unsigned int n)
{
	struct daemon *d = ctx;

	for (unsigned int i = 0; i < n; i++)
		reqs[i].rc = apply_user_set(d, reqs[i].argc, reqs[i].argv,
					    reqs[i].reply);
	save_batch(d, reqs, n);
}

static int
cmd_user_set(void *ctx, int argc, char **argv, json_t *reply)
{
	struct lc_mgmt_req req = { .argc = argc, .argv = argv, .reply = reply };

	batch_user_set(ctx, &req, 1);
	return req.rc;
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
apply_user_del(struct daemon *d, char **argv, json_t *reply)
{
	const struct lc_user *u = find_user(d, argv[0], reply);

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
	struct daemon *d = ctx;

	for (unsigned int i = 0; i < n; i++)
		reqs[i].rc = apply_user_del(d, reqs[i].argv, reqs[i].reply);
	save_batch(d, reqs, n);
}

static int
cmd_user_del(void *ctx, int argc, char **argv, json_t *reply)
{
	struct lc_mgmt_req req = { .argc = argc, .argv = argv, .reply = reply };

	batch_user_del(ctx, &req, 1);
	return req.rc;
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

/*
 * assign, for a batch of pipelined lines: each line is checked on its own,
 * then every new user and every assignment of the batch goes to the worker
 * in one command.
 */
static void
batch_assign(void *ctx, struct lc_mgmt_req *reqs, unsigned int n)
{
	struct daemon *d = ctx;
	struct lc_wire_assignment list[2 * LC_MGMT_BATCH_MAX];
	int born_at[LC_MGMT_BATCH_MAX], at[LC_MGMT_BATCH_MAX];
	const struct lc_user *user[LC_MGMT_BATCH_MAX];
	uint32_t k = 0;
	uint64_t now = lc_monotonic_sec();

	for (unsigned int i = 0; i < n; i++) {
		struct lc_wire_assignment *e = &list[k];
		json_t *reply = reqs[i].reply;
		char **argv = reqs[i].argv;
		bool has_port, created;
		int rc;

		at[i] = born_at[i] = -1;
		if (!email_ok(argv[0], reply)) {
			reqs[i].rc = -EINVAL;
			continue;
		}
		memset(e, 0, sizeof(*e));
		rc = lc_mgmt_parse_endpoint(argv[1], e->addr, &e->port, &has_port);
		if (rc != 0) {
			reqs[i].rc = rc == -ERANGE ?
				lc_mgmt_error(reply, "bad port in '%.*s%s' (1 to 65535)",
					      QUOTE(argv[1])) :
				lc_mgmt_error(reply, "bad address '%.*s%s' (IP, IP:PORT or "
					      "[IPv6]:PORT)", QUOTE(argv[1]));
			continue;
		}
		rc = lc_user_ensure_dynamic(d->users, argv[0], d->conf.shaper.default_up,
					    d->conf.shaper.default_down, now,
					    &user[i], &created);
		if (rc != 0) {
			reqs[i].rc = rc == -ENOSPC ?
				lc_mgmt_error(reply, "no room for another user ([users] "
					      "capacity = %u)", d->conf.users.capacity) :
				lc_mgmt_error(reply, "assign: %s", strerror(-rc));
			continue;
		}
		if (created) {
			/* The new user comes to life just before its assignment. */
			struct lc_wire_assignment born = {
				.op = LC_WIRE_USER_ADD, .user = user[i]->id,
				.limits = wire_limits(user[i]->up, user[i]->down,
						      user[i]->burst_up,
						      user[i]->burst_down),
			};
			born_at[i] = (int)k;
			list[k + 1] = *e;
			list[k++] = born;
			e = &list[k];
		}
		e->op = has_port ? LC_WIRE_ASSIGN_ENDPOINT : LC_WIRE_ASSIGN_IP;
		e->user = user[i]->id;
		at[i] = (int)k++;
	}
	if (k == 0)
		return;

	int rc = lc_wire_assign(d->wire, list, k);
	for (unsigned int i = 0; i < n; i++) {
		json_t *reply = reqs[i].reply;

		if (at[i] < 0)
			continue;
		const struct lc_wire_assignment *e = &list[at[i]];
		if (rc != 0) {
			reqs[i].rc = worker_error(reply, "assign", rc);
		} else if (born_at[i] >= 0 && list[born_at[i]].err != 0) {
			reqs[i].rc = lc_mgmt_error(reply, "user not created: the worker "
						   "refused id %u: %s", user[i]->id,
						   strerror(-list[born_at[i]].err));
		} else if (e->err == -ENOSPC) {
			reqs[i].rc = lc_mgmt_error(reply, "assign: no room for another "
						   "%s assignment", e->op ==
						   LC_WIRE_ASSIGN_ENDPOINT ? "pending" :
						   "IP-wide");
		} else if (e->err != 0) {
			reqs[i].rc = lc_mgmt_error(reply, "assign: %s", strerror(-e->err));
		} else {
			json_object_set_new(reply, "result",
					    json_string(lc_assign_result_name(e->result)));
			json_object_set_new(reply, "user", json_string(user[i]->email));
		}
	}
	/* A user the worker refused is forgotten again: nothing half-applied. */
	for (unsigned int i = 0; i < n; i++) {
		if (born_at[i] >= 0 && (rc != 0 || list[born_at[i]].err != 0) &&
		    lc_user_get(d->users, list[born_at[i]].user) != NULL) {
			lc_user_del(d->users, list[born_at[i]].user);
			lc_user_reclaim(d->users, list[born_at[i]].user);
		}
	}
}

static int
cmd_assign(void *ctx, int argc, char **argv, json_t *reply)
{
	struct lc_mgmt_req req = { .argc = argc, .argv = argv, .reply = reply };

	batch_assign(ctx, &req, 1);
	return req.rc;
}

static int
cmd_unassign(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;
	struct lc_wire_assignment e = { 0 };
	bool has_port;
	int rc;

	(void)argc;
	rc = lc_mgmt_parse_endpoint(argv[0], e.addr, &e.port, &has_port);
	if (rc == -ERANGE)
		return lc_mgmt_error(reply, "bad port in '%.*s%s' (1 to 65535)",
				     QUOTE(argv[0]));
	if (rc != 0)
		return lc_mgmt_error(reply, "bad address '%.*s%s' (IP, IP:PORT or "
				     "[IPv6]:PORT)", QUOTE(argv[0]));
	e.op = has_port ? LC_WIRE_UNASSIGN_ENDPOINT : LC_WIRE_UNASSIGN_IP;
	rc = lc_wire_assign(d->wire, &e, 1);
	if (rc != 0)
		return worker_error(reply, "unassign", rc);
	json_object_set_new(reply, "result", json_string(lc_assign_result_name(e.result)));
	return 0;
}

static int
cmd_state(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;
	enum lc_state st, old;
	int rc;

	if (argc == 0) {
		json_object_set_new(reply, "state",
				    json_string(lc_state_name(lc_wire_state(d->wire))));
		return 0;
	}
	for (st = 0; lc_state_name(st) != NULL; st++)
		if (strcmp(argv[0], lc_state_name(st)) == 0)
			break;
	if (lc_state_name(st) == NULL)
		return lc_mgmt_error(reply, "unknown state '%.*s%s' (present, "
				     "disabled or absent)", QUOTE(argv[0]));
	rc = lc_wire_set_state(d->wire, st, &old);
	if (rc != 0)
		return worker_error(reply, "state not changed", rc);
	if (st == LC_STATE_ABSENT) {
		/* The worker forgot every user; so does the registry. */
		const struct lc_user *u;
		uint32_t cursor = 0;

		while ((u = lc_user_next(d->users, &cursor)) != NULL)
			retire(d, u->id);
	}
	json_object_set_new(reply, "state", json_string(lc_state_name(st)));
	json_object_set_new(reply, "previous", json_string(lc_state_name(old)));
	if (st == LC_STATE_ABSENT) {
		struct lc_mgmt_req req = { .argc = argc, .argv = argv,
					   .reply = reply };

		save_batch(d, &req, 1);
		return req.rc;
	}
	return 0;
}

/* Copy the worker's view of every user into the registry. */
static void
note_activity(struct daemon *d)
{
	const struct lc_user_state *st = lc_assign_users(d->assign);
	uint64_t now_tsc = rte_rdtsc(), hz = rte_get_tsc_hz();
	uint64_t now = lc_monotonic_sec();
	const struct lc_user *u;
	uint32_t cursor = 0;

	while ((u = lc_user_next(d->users, &cursor)) != NULL) {
		uint64_t seen = __atomic_load_n(&st[u->id].last_seen, __ATOMIC_RELAXED);
		uint64_t last = 0;

		if (seen != 0 && seen <= now_tsc)
			last = now - RTE_MIN(now, (now_tsc - seen) / hz);
		lc_user_note_activity(d->users, u->id, last,
				      __atomic_load_n(&st[u->id].flows, __ATOMIC_RELAXED));
	}
}

/* Collect idle dynamic users; returns how many. */
static unsigned int
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
		return lc_mgmt_error(reply, "not saved: %s", save_state.error);
	}
	json_object_set_new(reply, "file", json_string(d->conf.users.state_file));
	json_object_set_new(reply, "saved", json_true());
	return 0;
}

static const struct lc_mgmt_cmd user_cmds[] = {
	{ "user set", "EMAIL [up=RATE] [down=RATE] [burst=SIZE]",
	  "create or update a static user (saved, never collected)", 1, 6, cmd_user_set,
	  batch_user_set },
	{ "user del", "EMAIL", "remove a user; its flows become unassigned", 1, 1,
	  cmd_user_del, batch_user_del },
	{ "user get", "EMAIL", "show a user and its counters", 1, 1, cmd_user_get },
	{ "user list", "", "list every user", 0, 0, cmd_user_list },
	{ "assign", "EMAIL IP[:PORT]",
	  "bind the flows of a client endpoint, or of a client IP, to a user",
	  2, 2, cmd_assign, batch_assign },
	{ "unassign", "IP[:PORT]", "remove an assignment", 1, 1, cmd_unassign },
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

int
users_create(struct daemon *d)
{
	struct lc_user_params up = {
		.capacity = d->conf.users.capacity,
		.default_up = d->conf.shaper.default_up,
		.default_down = d->conf.shaper.default_down,
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
	d->assign = lc_assign_create(&ap);
	if (d->assign == NULL) {
		lc_log("error", "cannot create the assignment tables: %s (raise EAL -m "
		       "or lower [users] capacity)", rte_strerror(rte_errno));
		return -ENOMEM;
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

	while ((u = lc_user_next(d->users, &cursor)) != NULL) {
		int rc = worker_user_add(d, u);

		if (rc != 0) {
			lc_log("error", "user %s (id %u): the worker refused it: %s",
			       u->email, u->id, strerror(-rc));
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
	free(d->retired);
	free(d->retired_gone);
}

void
users_stats_json(struct daemon *d, json_t *reply)
{
	struct lc_assign_counters c;
	const struct lc_user_state *unassigned = &lc_assign_users(d->assign)[0];
	bool tap = lc_wire_mode(d->wire) == LC_WIRE_TAP;
	uint32_t st = 0, dyn = 0;

	json_object_set_new(reply, "state",
			    json_string(lc_state_name(lc_wire_state(d->wire))));
	lc_user_count(d->users, &st, &dyn);
	json_object_set_new(reply, "users", json_pack("{s:i,s:i,s:i,s:i}",
		"static", (int)st, "dynamic", (int)dyn,
		"retired", (int)lc_user_retired_count(d->users),
		"capacity", (int)d->conf.users.capacity));
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
