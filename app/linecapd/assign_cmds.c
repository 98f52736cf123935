/* SPDX-License-Identifier: MIT */
/*
 * Assignments and the shaping state: assign (in batches of pipelined lines,
 * one worker call per batch), unassign and state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "lc_rate.h"
#include "linecapd.h"
#include "users_priv.h"

static bool
is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

/*
 * The words after the client endpoint of assign and unassign: SERVER
 * (IP:PORT, the one server endpoint meant) and, if node_ok, node=NAME, in
 * either order. Fills e->server, e->server_port and e->node. The client
 * endpoint (has_port: it has a port) is already in e. Returns 0 or an
 * error set in reply.
 */
static int
parse_target(struct daemon *d, struct lc_wire_assignment *e, bool has_port,
	     int argc, char **argv, bool node_ok, json_t *reply)
{
	for (int i = 0; i < argc; i++) {
		bool server_has_port;
		int rc;

		if (node_ok && strncmp(argv[i], "node=", 5) == 0) {
			if (e->node != 0)
				return lc_mgmt_error(reply, "node= given twice");
			rc = node_id(d, argv[i] + 5, reply);
			if (rc < 0)
				return rc;
			e->node = (uint8_t)rc;
			continue;
		}
		if (e->server_port != 0)
			return lc_mgmt_error(reply, "unexpected '%.*s%s' after the "
					     "server endpoint", QUOTE(argv[i]));
		rc = lc_mgmt_parse_endpoint(argv[i], e->server, &e->server_port,
					    &server_has_port);
		if (rc != 0 || !server_has_port)
			return lc_mgmt_error(reply, "bad server endpoint '%.*s%s' "
					     "(IP:PORT or [IPv6]:PORT%s)", QUOTE(argv[i]),
					     node_ok ? ", or node=NAME" : "");
		if (!has_port)
			return lc_mgmt_error(reply, "a server endpoint needs a client "
					     "IP:PORT, not a whole client IP");
		if (is_v4_mapped(e->server) != is_v4_mapped(e->addr))
			return lc_mgmt_error(reply, "the client and the server endpoint "
					     "are of different IP versions");
	}
	return 0;
}

/*
 * assign, for a batch of pipelined lines: each line is checked on its own,
 * then every new user and every assignment of the batch goes to the worker
 * in one command.
 */
void
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
		if (parse_target(d, e, has_port, reqs[i].argc - 2, argv + 2, true,
				 reply) != 0) {
			reqs[i].rc = -EINVAL;
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
				.limits = wire_limits(user[i]),
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
			if (e->node != 0) {
				node_assigned(d, e->node, e->user);
				json_object_set_new(reply, "node",
						    json_string(node_name(d, e->node)));
			}
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

int
cmd_assign(void *ctx, int argc, char **argv, json_t *reply)
{
	struct lc_mgmt_req req = { .argc = argc, .argv = argv, .reply = reply };

	batch_assign(ctx, &req, 1);
	return req.rc;
}

int
cmd_unassign(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;
	struct lc_wire_assignment e = { 0 };
	bool has_port;
	int rc;

	rc = lc_mgmt_parse_endpoint(argv[0], e.addr, &e.port, &has_port);
	if (rc == -ERANGE)
		return lc_mgmt_error(reply, "bad port in '%.*s%s' (1 to 65535)",
				     QUOTE(argv[0]));
	if (rc != 0)
		return lc_mgmt_error(reply, "bad address '%.*s%s' (IP, IP:PORT or "
				     "[IPv6]:PORT)", QUOTE(argv[0]));
	rc = parse_target(d, &e, has_port, argc - 1, argv + 1, false, reply);
	if (rc != 0)
		return rc;
	e.op = has_port ? LC_WIRE_UNASSIGN_ENDPOINT : LC_WIRE_UNASSIGN_IP;
	rc = lc_wire_assign(d->wire, &e, 1);
	if (rc != 0)
		return worker_error(reply, "unassign", rc);
	json_object_set_new(reply, "result", json_string(lc_assign_result_name(e.result)));
	return 0;
}

int
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

