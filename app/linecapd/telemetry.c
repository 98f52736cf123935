/* SPDX-License-Identifier: MIT */
/*
 * DPDK telemetry endpoints, so that dpdk-telemetry.py shows linecap's state:
 *
 *   /linecap/stats          the 'stats' reply, flattened
 *   /linecap/users          the number of users and their emails
 *   /linecap/user,EMAIL     the 'user get EMAIL' reply, flattened
 *
 * Telemetry callbacks run on DPDK's telemetry thread, but everything they
 * show belongs to the control thread. So a callback never reads that state:
 * it hands the equivalent management command to the control thread through a
 * pipe that the management socket's poll watches, waits for the JSON reply
 * (lib/call, as the control thread waits for the worker), and turns it into
 * telemetry data. Every endpoint is read-only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "door.h"
#include "linecapd.h"

#define WAIT_MS 2000

/* A request owns its line and its reply: whoever frees it frees both. */
struct tel_req {
	struct lc_call call;
	char line[LC_MGMT_LINE_MAX + 1];
	json_t *reply;
};

static void
req_free(struct tel_req *r)
{
	json_decref(r->reply);
	free(r);
}

/* On the control thread: the command, as the socket would run it. */
static void
run_request(struct lc_call *call, void *arg)
{
	struct daemon *d = arg;
	struct tel_req *r = container_of(call, struct tel_req, call);

	r->reply = lc_mgmt_exec(d->table, r->line, strlen(r->line));
}

static void
drop_request(struct lc_call *call, void *arg)
{
	(void)arg;
	req_free(container_of(call, struct tel_req, call));
}

static struct door door = {
	.pipe = { -1, -1 }, .run = run_request, .drop = drop_request,
};

/* Run a management command on the control thread; NULL if it did not answer. */
static json_t *
run_on_control(const char *fmt, const char *arg)
{
	struct tel_req *r = calloc(1, sizeof(*r));
	json_t *reply;
	int rc;

	if (r == NULL)
		return NULL;
	snprintf(r->line, sizeof(r->line), fmt, arg);
	rc = door_call(&door, &r->call, WAIT_MS);
	if (rc == -EIO)
		free(r);
	/* Timed out: the control thread frees the request when it gets to it. */
	if (rc != 0)
		return NULL;
	reply = json_incref(r->reply);
	req_free(r);
	return reply;
}

/* A telemetry name: letters, digits, '_' and '/'. */
static void
tel_name(const char *prefix, const char *key, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s", prefix, prefix[0] ? "/" : "", key);
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '/'))
			*p = '_';
}

/*
 * Telemetry dictionaries nest only one level, so nested objects become
 * keys joined with '/': "ports/client/rx_packets".
 */
static void
flatten(struct rte_tel_data *d, const char *prefix, json_t *obj)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		char name[RTE_TEL_MAX_STRING_LEN];

		tel_name(prefix, key, name, sizeof(name));
		if (json_is_object(v))
			flatten(d, name, v);
		else if (json_is_integer(v))
			rte_tel_data_add_dict_u64(d, name, (uint64_t)json_integer_value(v));
		else if (json_is_real(v))
			rte_tel_data_add_dict_u64(d, name, (uint64_t)json_real_value(v));
		else if (json_is_string(v))
			rte_tel_data_add_dict_string(d, name, json_string_value(v));
		else if (json_is_boolean(v))
			rte_tel_data_add_dict_int(d, name, json_is_true(v));
	}
}

static int
reply_to_tel(json_t *reply, struct rte_tel_data *d, const char *member)
{
	if (reply == NULL)
		return -ETIMEDOUT;
	rte_tel_data_start_dict(d);
	if (!json_is_true(json_object_get(reply, "ok"))) {
		json_t *e = json_object_get(reply, "error");

		rte_tel_data_add_dict_string(d, "error", json_is_string(e) ?
					     json_string_value(e) : "failed");
	} else {
		flatten(d, "", member ? json_object_get(reply, member) : reply);
	}
	json_decref(reply);
	return 0;
}

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	return reply_to_tel(run_on_control("stats%s", ""), d, NULL);
}

static int
tel_user(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	if (params == NULL || params[0] == '\0' || strchr(params, '\n') != NULL)
		return -EINVAL;
	return reply_to_tel(run_on_control("user get %s", params), d, "user");
}

static int
tel_users(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *reply = run_on_control("user list%s", ""), *u;
	struct rte_tel_data *emails;
	size_t i;

	(void)cmd;
	(void)params;
	if (reply == NULL)
		return -ETIMEDOUT;
	json_t *list = json_object_get(reply, "users");
	emails = rte_tel_data_alloc();
	if (emails == NULL) {
		json_decref(reply);
		return -ENOMEM;
	}
	rte_tel_data_start_array(emails, RTE_TEL_STRING_VAL);
	json_array_foreach(list, i, u) {
		/* A telemetry array holds RTE_TEL_MAX_ARRAY_ENTRIES at most. */
		if (i == RTE_TEL_MAX_ARRAY_ENTRIES)
			break;
		rte_tel_data_add_array_string(emails,
			json_string_value(json_object_get(u, "email")));
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "count", json_array_size(list));
	rte_tel_data_add_dict_container(d, "emails", emails, 0);
	json_decref(reply);
	return 0;
}

int
telemetry_up(struct daemon *d)
{
	int rc;

	door.arg = d;
	rc = door_open(&door, d->mgmt);
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/linecap/stats", tel_stats,
			"linecap counters: ports, worker, flows, users. No parameters");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/linecap/users", tel_users,
			"number of users and their emails. No parameters");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/linecap/user", tel_user,
			"one user and its counters. Parameter: email");
	return rc;
}
