/* SPDX-License-Identifier: MIT */
/*
 * linecapd's control thread: what main.c and users.c share.
 */
#ifndef LINECAPD_H
#define LINECAPD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <rte_mempool.h>

#include "lc_assign.h"
#include "lc_conf.h"
#include "lc_flow.h"
#include "lc_mgmt.h"
#include "lc_shaper.h"
#include "lc_user.h"
#include "lc_wire.h"

struct daemon {
	struct lc_conf conf;
	bool ignore_state;
	bool test_hooks;              /* --test-hooks: the debug commands */
	struct lc_wire *wire;
	struct lc_mgmt *mgmt;
	struct lc_mgmt_table *table;
	struct rte_mempool *pool;
	/* Worker 0's flow table, users and shapers; more[i - 1]: worker i's. */
	struct lc_flow_table *flows;
	struct lc_assign *assign;
	struct lc_shaper *shaper[LC_FLOW_DIRS]; /* by direction */
	unsigned int workers;                   /* [wire] workers */
	struct lc_wire_part more[LC_WIRE_WORKERS_MAX - 1];
	uint64_t min_rate[LC_FLOW_DIRS];        /* bit/s a shaper takes at least */
	struct lc_user_registry *users;
	struct nodes *nodes;          /* the VPN nodes (nodes.c) */
	uint32_t *retired;            /* deleted ids waiting for the worker */
	uint32_t n_retired;
	bool *retired_gone;           /* the worker's answers about them */
	uint64_t saved_generation;    /* lc_user_static_generation() at last save */
	bool port_started[LC_SIDE_MAX];
	unsigned int worker_lcore[LC_WIRE_WORKERS_MAX];
	time_t started;
	uint64_t next_tick;           /* monotonic seconds of the next upkeep */
	uint64_t next_gc;
};

void lc_log(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Seconds of CLOCK_MONOTONIC: the clock of users' ages and idleness. */
uint64_t lc_monotonic_sec(void);

/* Users: registry, state file, commands and upkeep (users.c). */
int users_create(struct daemon *d);
int users_load(struct daemon *d);
int users_start(struct daemon *d);   /* after the worker runs */
int users_register_cmds(struct daemon *d);
void users_upkeep(struct daemon *d); /* from the control loop, often */
void users_stop(struct daemon *d);   /* saves the state file */
void users_free(struct daemon *d);
void users_stats_json(struct daemon *d, json_t *reply);
/* Worker i's part (0: d->flows, d->assign, d->shaper). */
struct lc_wire_part daemon_part(const struct daemon *d, unsigned int i);
/* A user's counters (0: no user's), added up over the workers. */
void user_counters(const struct daemon *d, uint32_t id, struct lc_worker_user *out);

/* Plans (plan_cmds.c): the plan commands and stats' "plans" section. */
int plans_register_cmds(struct daemon *d);
void plans_stats_json(struct daemon *d, json_t *reply);

/*
 * Nodes (nodes.c): the VPN servers assignments come through, by name on
 * the control thread and by a small id (1..LC_ASSIGN_NODES_MAX) on the
 * worker, and the followers connected for each.
 */
#define NODE_NAME_MAX LC_MGMT_NODE_NAME_MAX
int nodes_create(struct daemon *d);
void nodes_free(struct daemon *d);
int nodes_register_cmds(struct daemon *d);
void nodes_stats_json(struct daemon *d, json_t *reply);
/* The id of a node by name, made on first use; or an error set in reply. */
int node_id(struct daemon *d, const char *name, json_t *reply);
/* The name of a node id; NULL for 0 or an unknown id. */
const char *node_name(const struct daemon *d, uint8_t id);
/* An assignment of user came through node (0: none): counted. */
void node_assigned(struct daemon *d, uint8_t node, uint32_t user);
/* A user's id was retired: it came through no node any more. */
void node_user_gone(struct daemon *d, uint32_t user);
/* The names of the nodes a user's assignments came through (a JSON array). */
json_t *node_user_json(const struct daemon *d, uint32_t user);
/* What stats and metrics show of a node. */
struct node_view {
	const char *name;
	uint64_t assigns;
	uint64_t hellos;
	uint32_t followers;     /* connected now */
	uint64_t last_seen;     /* monotonic s; 0 never */
};
/* Node ids in use are among 1..nodes_count(). */
unsigned int nodes_count(const struct daemon *d);
/* What stats show of node id; false for an id that is free. */
bool node_view(const struct daemon *d, uint8_t id, struct node_view *v);
/* From the control loop, often: forgets the nodes nothing holds any more. */
void nodes_upkeep(struct daemon *d);

/* For lc_mgmt_params.closed: a connection ended. */
void node_client_closed(void *arg, uint64_t client);

/*
 * The wire as the operator sees it (wire_cmds.c): the "mode" and "flows"
 * commands, and the wire's sections of stats.
 */
int wire_register_cmds(struct daemon *d);
void wire_stats_json(struct daemon *d, json_t *reply);
/*
 * Name a section missing from a reply: "incomplete": {SECTION: why}, why
 * from rc (-ETIMEDOUT: the worker did not answer in time).
 */
void reply_incomplete(json_t *reply, const char *section, int rc);
/* "WHAT: the worker did not answer" or "WHAT: <strerror>"; returns -EINVAL. */
int worker_error(json_t *reply, const char *what, int rc);

/* DPDK telemetry endpoints /linecap/... (telemetry.c). */
int telemetry_up(struct daemon *d);

/*
 * Prometheus metrics on [metrics] listen (metrics.c): nothing when it is
 * empty. metrics_down() stops serving; it may be called more than once.
 */
int metrics_up(struct daemon *d);
void metrics_down(void);

#endif /* LINECAPD_H */
