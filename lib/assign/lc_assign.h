/* SPDX-License-Identifier: MIT */
/*
 * Assignments: which flow belongs to which user, on the worker's side.
 *
 * The worker owns this block, as it owns the flow table: the control thread
 * reaches it only through commands in the worker's ring. It holds
 * - the endpoint assignments still waiting for their flow (`assign EMAIL
 *   IP:PORT` of a flow not seen yet), each until pending_ttl runs out;
 * - the IP-wide assignments (`assign EMAIL IP`), until unassigned;
 * - the worker's state of every user: whether the id is live, its counters
 *   and how many flows it holds. Only the worker writes it; the control
 *   thread reads the counters with relaxed atomic loads.
 *
 * An endpoint assignment may also name the server endpoint (`assign EMAIL
 * CLIENT SERVER`): then only the flow between exactly those two endpoints
 * is the user's. Behind a carrier-grade NAT one public IP:port can hold
 * connections to two VPN nodes at once, each of another user, so a pending
 * entry is keyed by the pair, with an all-zero server for "any server".
 *
 * Every assignment may carry a node id (1..LC_ASSIGN_NODES_MAX, 0: none),
 * the VPN node it came through, which the flows it binds keep in
 * lc_flow.node. Names of nodes are the control thread's business; it learns
 * from lc_assign_node_refs() when nothing carries an id any more.
 *
 * A new flow is bound on its first packet: a pending assignment of its
 * client and server endpoints wins, then one of its client endpoint to any
 * server, then an IP-wide one. An IP-wide change or a removed user is applied
 * to the flows already in the table by an incremental sweep, a bounded
 * number of slots per loop iteration, so no command ever stalls the loop.
 */
#ifndef LC_ASSIGN_H
#define LC_ASSIGN_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>

#include "lc_flow.h"

/* How a flow came to its user, kept in lc_flow.origin. */
enum lc_assign_origin {
	LC_ORIGIN_NONE = 0,
	LC_ORIGIN_IP = 1,       /* an IP-wide assignment */
	LC_ORIGIN_ENDPOINT = 2, /* an endpoint assignment: wins over IP-wide */
};

/* Node ids fit lc_flow.node: 1..LC_ASSIGN_NODES_MAX, 0 for none. */
#define LC_ASSIGN_NODES_MAX 63

/*
 * What an endpoint assignment names: a client endpoint and, when
 * server_port is not 0, the one server endpoint its flow goes to.
 * Addresses are 16 bytes, IPv4 stored IPv4-mapped, as in the flow key.
 */
struct lc_assign_target {
	uint8_t client[16];
	uint8_t server[16];   /* ignored when server_port is 0 */
	uint16_t client_port;
	uint16_t server_port; /* 0: any server */
	uint8_t node;         /* the node the assignment came through; 0: none */
};

/* What an assignment did. */
enum lc_assign_result {
	LC_ASSIGN_BOUND = 0,   /* the flows, or the client IP, are now the user's */
	LC_ASSIGN_PENDING,     /* no such flow yet: waiting for it */
	LC_ASSIGN_UNCHANGED,   /* already in force: nothing was touched */
	LC_ASSIGN_REMOVED,     /* unassign removed something */
	LC_ASSIGN_NOT_FOUND,   /* unassign found nothing */
};

/* Directions, as in lib/flow. */
#define LC_ASSIGN_DIRS 2

/*
 * The worker's state of one user, one cache line. Index 0 is the traffic of
 * no user.
 */
struct lc_worker_user {
	uint64_t packets[LC_ASSIGN_DIRS];
	uint64_t bytes[LC_ASSIGN_DIRS];
	uint64_t drops[LC_ASSIGN_DIRS];  /* dropped, or would be in TAP mode */
	uint64_t last_seen;             /* `now` of the latest packet; 0 never */
	uint32_t flows;                 /* flows bound to the user now */
	uint16_t gen;                   /* bumped each time the id is given out */
	uint8_t live;                   /* the id belongs to a user */
	uint8_t pad;
} __rte_cache_aligned;

struct lc_assign_params {
	const char *name;
	int socket_id;
	uint32_t users;          /* user ids are 1..users */
	uint32_t ip_capacity;    /* IP-wide assignments */
	uint32_t pending_capacity;
	uint64_t pending_ttl;    /* in units of `now` */
};

struct lc_assign_counters {
	uint64_t bound_on_create;   /* new flows bound by a pending assignment */
	uint64_t bound_by_ip;       /* new flows bound by an IP-wide assignment */
	uint64_t pending;           /* pending assignments now */
	uint64_t pending_expired;   /* pending assignments whose flow never came */
	uint64_t pending_full;      /* refused: no room */
	uint64_t ip_rules;          /* IP-wide assignments now */
	uint64_t sweeps;            /* full passes of the sweep */
};

struct lc_assign;

struct lc_assign *lc_assign_create(const struct lc_assign_params *params);
void lc_assign_free(struct lc_assign *a);

/* The user state array, users + 1 entries, for the worker and readers. */
struct lc_worker_user *lc_assign_users(struct lc_assign *a);

/*
 * Bind a flow that was just created, from the assignments in force.
 * Returns the user id (0: none).
 */
uint32_t lc_assign_new_flow(struct lc_assign *a, struct lc_flow *flow,
			    const struct lc_flow_key *key, uint64_t now);

/* The user of an IP-wide assignment of a client address, or 0. */
uint32_t lc_assign_ip_user(const struct lc_assign *a, const uint8_t addr[16]);

/*
 * The user a packet of this flow counts for: 0 for an unassigned flow, or
 * one whose user was removed (the flow is unbound on the spot).
 */
static inline uint32_t
lc_assign_flow_user(struct lc_worker_user *users, struct lc_flow *flow)
{
	uint32_t u = flow->user_id;

	if (likely(u == 0 || users[u].live))
		return u;
	__atomic_store_n(&users[u].flows, users[u].flows - 1, __ATOMIC_RELAXED);
	lc_flow_set_user(flow, 0);
	flow->origin = LC_ORIGIN_NONE;
	/* flow->node stays, counted, until the sweep lets go of it. */
	return 0;
}

/* Account one packet (or several) of a user: single writer, the worker. */
static inline void
lc_assign_account(struct lc_worker_user *us, int dir, uint32_t packets,
		  uint64_t bytes, uint64_t now)
{
	__atomic_store_n(&us->packets[dir], us->packets[dir] + packets,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&us->bytes[dir], us->bytes[dir] + bytes,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&us->last_seen, now, __ATOMIC_RELAXED);
}

/*
 * The classify step, the one the worker runs for every IP frame of a flow:
 * the user of the frame's flow (status as lc_flow_lookup_or_create() gave
 * it: a flow just created is bound by the assignments in force, an existing
 * one keeps its user) and the frame counted for that user (0: unassigned).
 * Returns the user id.
 */
static inline uint32_t
lc_assign_classify(struct lc_assign *a, struct lc_worker_user *users,
		   struct lc_flow *flow, const struct lc_flow_key *key, int status,
		   int dir, uint32_t len, uint64_t now)
{
	uint32_t u = 0;

	if (status == LC_FLOW_CREATED)
		u = lc_assign_new_flow(a, flow, key, now);
	else if (status == LC_FLOW_EXISTING)
		u = lc_assign_flow_user(users, flow);
	lc_assign_account(&users[u], dir, 1, len, now);
	return u;
}

/*
 * The same for an IP frame of no flow (a fragment, ICMP, another
 * protocol): it belongs to the user of an IP-wide assignment of its client
 * address, if any.
 */
static inline uint32_t
lc_assign_classify_ip(struct lc_assign *a, struct lc_worker_user *users,
		      const uint8_t client[16], int dir, uint32_t len, uint64_t now)
{
	uint32_t u = lc_assign_ip_user(a, client);

	lc_assign_account(&users[u], dir, 1, len, now);
	return u;
}

/* Called by the flow table for each flow it ages out. */
void lc_assign_flow_expired(const struct lc_flow *flow,
			    const struct lc_flow_key *key, void *arg);

/* --- commands, run by the worker --- */

/* A user id comes to life with zeroed counters. */
int lc_assign_user_add(struct lc_assign *a, uint32_t id);

/*
 * A user is removed: its id stops counting at once, its IP-wide and pending
 * assignments stop applying (they are dropped by the upkeep scans), and the
 * sweep unbinds its flows. Returns 0 or -EINVAL.
 */
int lc_assign_user_del(struct lc_assign *a, uint32_t id);

/*
 * True once no flow is bound to a removed id any more: the id may then be
 * given to a new user.
 */
bool lc_assign_user_gone(const struct lc_assign *a, uint32_t id);

/*
 * `assign EMAIL CLIENT [SERVER]`: binds the flows of the client endpoint
 * (to that server only, when the target names one) that exist, or else
 * waits pending_ttl for them. Two targets of one client endpoint with
 * different servers are two assignments, which may name two users.
 */
enum lc_assign_result lc_assign_endpoint_to(struct lc_assign *a,
					    struct lc_flow_table *flows,
					    uint32_t user,
					    const struct lc_assign_target *t,
					    uint64_t now, int *err);

/*
 * `unassign CLIENT [SERVER]`: removes the pending assignment of exactly
 * that target, or, when it names no server, every pending assignment of
 * the client endpoint whatever its server; and unbinds the flows bound by
 * endpoint (to that server only, when it names one), which go back to what
 * an IP-wide assignment says.
 */
enum lc_assign_result lc_unassign_endpoint_to(struct lc_assign *a,
					      struct lc_flow_table *flows,
					      const struct lc_assign_target *t);

/* `assign EMAIL IP:PORT`: lc_assign_endpoint_to(), any server, no node. */
enum lc_assign_result lc_assign_endpoint(struct lc_assign *a,
					 struct lc_flow_table *flows,
					 uint32_t user, const uint8_t addr[16],
					 uint16_t port, uint64_t now, int *err);

/* `assign EMAIL IP` */
enum lc_assign_result lc_assign_ip(struct lc_assign *a, uint32_t user,
				   const uint8_t addr[16], int *err);

/* The same, through a node (0: none), which the flows it binds keep. */
enum lc_assign_result lc_assign_ip_node(struct lc_assign *a, uint32_t user,
					const uint8_t addr[16], uint8_t node,
					int *err);

/* `unassign IP:PORT`: lc_unassign_endpoint_to(), any server. */
enum lc_assign_result lc_unassign_endpoint(struct lc_assign *a,
					   struct lc_flow_table *flows,
					   const uint8_t addr[16], uint16_t port);

/* `unassign IP` */
enum lc_assign_result lc_unassign_ip(struct lc_assign *a, const uint8_t addr[16]);

/* Remove every assignment and user (`state absent`); the sweep unbinds flows. */
void lc_assign_clear(struct lc_assign *a);

/*
 * One bounded step of upkeep, once per loop iteration: the sweep over the
 * flow table (while one is due) and expiry of pending assignments.
 */
void lc_assign_upkeep(struct lc_assign *a, struct lc_flow_table *flows,
		      uint64_t now, unsigned int budget);

void lc_assign_counters_get(const struct lc_assign *a,
			    struct lc_assign_counters *c);

/*
 * How many flows, pending and IP-wide assignments carry a node id now. The
 * control thread may call it while the worker runs: a node id it finds at
 * 0, with no command of the node in flight, stays at 0 until a command
 * names the node again, so the id may then be given to another name.
 */
uint32_t lc_assign_node_refs(const struct lc_assign *a, uint8_t node);

const char *lc_assign_result_name(enum lc_assign_result r);

#endif /* LC_ASSIGN_H */
