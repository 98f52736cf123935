/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target of the management protocol: the input is split into request
 * lines and run through the command table in batches, as the socket server
 * does. The table holds linecapd's user and assignment commands wired to the
 * same parsers linecapd uses (lc_mgmt_parse_endpoint, lc_user_parse_set,
 * lc_user_plan_parse_limits, lc_email_valid, lc_conf_parse_mode) and to a real
 * user registry with plans, so that
 * any line reaches tokenising, dispatch, argument checks and the registry.
 * Every reply must be an object with a boolean "ok", and an error must carry
 * a message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lc_conf.h"
#include "lc_email.h"
#include "lc_mgmt.h"
#include "lc_user.h"

static struct lc_user_registry *reg;
static struct lc_mgmt_table *table;

static int
email_arg(const char *email, json_t *reply)
{
	if (lc_email_valid(email, strlen(email)))
		return 0;
	return lc_mgmt_error(reply, "bad email '%s'", email);
}

static int
cmd_user_set(void *ctx, int argc, char **argv, json_t *reply)
{
	struct lc_user_limits lim;
	const struct lc_user *u;
	char why[256];
	bool created;
	int rc;

	(void)ctx;
	if (email_arg(argv[0], reply) != 0)
		return -EINVAL;
	if (lc_user_parse_set(reg, argc - 1, argv + 1, &lim, why, sizeof(why)) != 0)
		return lc_mgmt_error(reply, "%s", why);
	rc = lc_user_set(reg, argv[0], &lim, true, 1, &u, &created);
	if (rc != 0)
		return lc_mgmt_error(reply, "user not set: %s", strerror(-rc));
	json_object_set_new(reply, "id", json_integer(u->id));
	return 0;
}

static int
cmd_plan_set(void *ctx, int argc, char **argv, json_t *reply)
{
	struct lc_plan_limits lim;
	const struct lc_plan *p;
	char why[256];
	int rc;

	(void)ctx;
	if (lc_user_plan_parse_limits(argc - 1, argv + 1, &lim, why, sizeof(why)) != 0)
		return lc_mgmt_error(reply, "%s", why);
	rc = lc_user_plan_set(reg, argv[0], &lim, &p, NULL);
	if (rc != 0)
		return lc_mgmt_error(reply, "plan not set: %s", strerror(-rc));
	json_object_set_new(reply, "id", json_integer(p->id));
	return 0;
}

static int
cmd_plan_del(void *ctx, int argc, char **argv, json_t *reply)
{
	int rc;

	(void)ctx;
	(void)argc;
	rc = lc_user_plan_del(reg, argv[0]);
	if (rc != 0)
		return lc_mgmt_error(reply, "plan not deleted: %s", strerror(-rc));
	return 0;
}

static int
cmd_user_del(void *ctx, int argc, char **argv, json_t *reply)
{
	const struct lc_user *u;

	(void)ctx;
	(void)argc;
	if (email_arg(argv[0], reply) != 0)
		return -EINVAL;
	u = lc_user_find(reg, argv[0]);
	if (u == NULL)
		return lc_mgmt_error(reply, "no user '%s'", argv[0]);
	uint32_t id = u->id;
	lc_user_del(reg, id);
	lc_user_reclaim(reg, id);
	return 0;
}

static int
cmd_assign(void *ctx, int argc, char **argv, json_t *reply)
{
	const struct lc_user *u;
	uint8_t addr[16];
	uint16_t port = 0;
	bool has_port, created;
	int rc;

	(void)ctx;
	(void)argc;
	if (email_arg(argv[0], reply) != 0)
		return -EINVAL;
	rc = lc_mgmt_parse_endpoint(argv[1], addr, &port, &has_port);
	if (rc != 0)
		return lc_mgmt_error(reply, "bad address '%s'", argv[1]);
	rc = lc_user_ensure_dynamic(reg, argv[0], 1000, 1000, 1, &u, &created);
	if (rc != 0)
		return lc_mgmt_error(reply, "assign: %s", strerror(-rc));
	json_object_set_new(reply, "port", json_integer(port));
	return 0;
}

static int
cmd_unassign(void *ctx, int argc, char **argv, json_t *reply)
{
	uint8_t addr[16];
	uint16_t port = 0;
	bool has_port;

	(void)ctx;
	(void)argc;
	if (lc_mgmt_parse_endpoint(argv[0], addr, &port, &has_port) != 0)
		return lc_mgmt_error(reply, "bad address '%s'", argv[0]);
	return 0;
}

static int
cmd_mode(void *ctx, int argc, char **argv, json_t *reply)
{
	enum lc_wire_mode mode;

	(void)ctx;
	if (argc == 1 && lc_conf_parse_mode(argv[0], &mode) != 0)
		return lc_mgmt_error(reply, "unknown mode '%s'", argv[0]);
	return 0;
}

static int
cmd_gc(void *ctx, int argc, char **argv, json_t *reply)
{
	uint32_t removed[64];

	(void)ctx;
	(void)argc;
	(void)argv;
	json_object_set_new(reply, "removed",
			    json_integer(lc_user_gc(reg, 100, 0, 0, removed, 64)));
	return 0;
}

static const struct lc_mgmt_cmd cmds[] = {
	{ "user set", "EMAIL [up=RATE|default] [down=RATE|default] "
	  "[burst=SIZE|default] [plan=NAME]", "", 1,
	  1 + LC_USER_SET_ARGS_MAX, cmd_user_set, NULL },
	{ "plan set", "NAME [total=RATE] [up=RATE] [down=RATE] [weight=N]", "", 1,
	  7, cmd_plan_set, NULL },
	{ "plan del", "NAME", "", 1, 1, cmd_plan_del, NULL },
	{ "user del", "EMAIL", "", 1, 1, cmd_user_del, NULL },
	{ "assign", "EMAIL IP[:PORT]", "", 2, 2, cmd_assign, NULL, .follower_ok = true },
	{ "unassign", "IP[:PORT]", "", 1, 1, cmd_unassign, NULL, .follower_ok = true },
	{ "mode", "[inline|tap]", "", 0, 1, cmd_mode, NULL },
	{ "gc", "", "", 0, 0, cmd_gc, NULL },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *lines[LC_MGMT_BATCH_MAX];
	size_t lens[LC_MGMT_BATCH_MAX];
	json_t *replies[LC_MGMT_BATCH_MAX];
	unsigned int n = 0;
	size_t start = 0;

	if (table == NULL) {
		struct lc_user_params p = { .capacity = 64, .default_up = 1000,
					    .default_down = 1000, .plans = 2,
					    .plan_users = 4 };

		reg = lc_user_registry_create(&p);
		table = lc_mgmt_table_create();
		if (reg == NULL || table == NULL ||
		    lc_mgmt_register(table, cmds, sizeof(cmds) / sizeof(cmds[0]), NULL) != 0)
			abort();
	}
	/* One registry across inputs, as in a daemon that lives long. */
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (n == LC_MGMT_BATCH_MAX)
			break;
		lines[n] = (const char *)data + start;
		lens[n++] = i - start;
		start = i + 1;
	}
	/* Each input runs as an operator, then again as a follower (TLS). */
	for (int role = 0; role < 2; role++) {
		lc_mgmt_exec_lines_as(table, role ? LC_MGMT_FOLLOWER : LC_MGMT_OPERATOR,
				      lines, lens, n, replies);
		for (unsigned int i = 0; i < n; i++) {
			json_t *ok = json_object_get(replies[i], "ok");

			if (!json_is_boolean(ok))
				abort();
			if (json_is_false(ok) &&
			    !json_is_string(json_object_get(replies[i], "error")))
				abort();
			if (json_dumpb(replies[i], NULL, 0, JSON_COMPACT) == 0)
				abort();
			json_decref(replies[i]);
		}
	}
	return 0;
}
