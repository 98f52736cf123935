/* SPDX-License-Identifier: MIT */
/*
 * What users.c, user_cmds.c and assign_cmds.c share: the users' life on
 * the control thread and the commands about them.
 */
#ifndef USERS_PRIV_H
#define USERS_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "linecapd.h"

/* Bytes of client text quoted in an error: enough to recognise it. */
#define QUOTE_MAX 64

/*
 * Client text quoted in a message, as "'%.*s%s'": at most QUOTE_MAX bytes,
 * cut at a UTF-8 character boundary (a message cut inside a character is
 * not UTF-8, and the reply would lose it), and "..." when cut.
 */
#define QUOTE(s) quote_len(s), (s), strlen(s) > QUOTE_MAX ? "..." : ""
int quote_len(const char *s);

/* A user's limits and plan as the worker takes them. */
struct lc_wire_limits wire_limits(const struct lc_user *u);

/* Whether the worker must be told of a user's new limits or plan. */
bool limits_differ(const struct lc_user *u, const struct lc_user *next);

/* A user of the registry comes to life on the worker. */
int worker_user_add(struct daemon *d, const struct lc_user *u);

/* A user and its counters, for user get, user list and telemetry. */
json_t *user_json(struct daemon *d, const struct lc_user *u);

/* Delete a user from the registry; its id waits for the worker. */
void retire(struct daemon *d, uint32_t id);

/*
 * Save the users file if the registry changed since the last save (or
 * always, with force). 0 or -errno; users_save_error() says why.
 */
int save_users(struct daemon *d, bool force);
const char *users_save_error(void);

/*
 * After a batch of user set or user del: one save for all, and each reply
 * says whether its change is on disk ("saved").
 */
void save_batch(struct daemon *d, struct lc_mgmt_req *reqs, unsigned int n);

/*
 * A batch of pipelined lines that change what is saved (user set, user
 * del, plan set, plan del): apply() for each line, then one save for all
 * (save_batch()).
 */
void apply_batch(struct daemon *d, struct lc_mgmt_req *reqs, unsigned int n,
		 int (*apply)(struct daemon *d, int argc, char **argv,
			      json_t *reply));

/* One line run as a batch of one: the command's handler. */
int run_one(lc_mgmt_batch_fn batch, void *ctx, int argc, char **argv,
	    json_t *reply);

/* Collect idle dynamic users now; returns how many. */
unsigned int collect(struct daemon *d);

/* Whether an email is one linecap takes; if not, reply says why. */
bool email_ok(const char *email, json_t *reply);

/*
 * Why the worker refused a user's limits (lc_wire_user_add() or
 * lc_wire_user_set() returned rc), as an error in reply that starts with
 * what ("user not set"); returns rc.
 */
int limits_refused(struct daemon *d, json_t *reply, int rc, const char *what,
		   uint32_t plan);

/* Plans (plan_cmds.c): their totals go to the worker before any user. */
int plans_start(struct daemon *d);

/* The commands of assign_cmds.c and user_cmds.c. */
int cmd_assign(void *ctx, int argc, char **argv, json_t *reply);
void batch_assign(void *ctx, struct lc_mgmt_req *reqs, unsigned int n);
int cmd_unassign(void *ctx, int argc, char **argv, json_t *reply);
int cmd_state(void *ctx, int argc, char **argv, json_t *reply);

#endif /* USERS_PRIV_H */
