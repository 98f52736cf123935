/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_malloc.h>

#include "lc_assign.h"
#include "lc_hash.h"


/*
 * An assignment names a user by id and generation, so that one left behind
 * by a removed user never applies to the next user given the same id.
 */
struct pending {
	uint32_t user;       /* 0: free slot */
	uint16_t gen;
	uint8_t node;        /* the node it came through; 0: none */
	uint32_t client_next; /* next entry of the same client endpoint, pos + 1 */
	uint64_t expires;
};

/*
 * The key of a pending assignment: the client endpoint and the server
 * endpoint, all zero for "any server". Every byte is written, as it is
 * hashed raw.
 */
struct pend_key {
	struct lc_flow_endpoint client;
	struct lc_flow_endpoint server;
};

static void
pend_key(const uint8_t client[16], uint16_t client_port, const uint8_t *server,
	 uint16_t server_port, struct pend_key *k)
{
	static const uint8_t any[16];

	lc_flow_endpoint_key(client, client_port, &k->client);
	if (server_port == 0)
		server = any;
	lc_flow_endpoint_key(server, server_port, &k->server);
}

/* An IP-wide rule's data: user, its generation and the node, in one word. */
static inline void *
rule_data(uint32_t user, uint16_t gen, uint8_t node)
{
	return (void *)(uintptr_t)(((uint64_t)node << 48) | ((uint64_t)gen << 32) |
				   user);
}

#define SWEEP_IDLE 0
#define SWEEP_RUNNING 1

struct lc_assign {
	struct rte_hash *ip;        /* addr -> user id (as data) */
	struct rte_hash *pend;      /* endpoint -> position in pending[] */
	/*
	 * Client endpoint -> its first entry in pending[] (position + 1), the
	 * rest chained by client_next: `unassign CLIENT` finds every entry of
	 * the endpoint, whatever its server.
	 */
	struct rte_hash *pend_client;
	struct pending *pending;
	uint32_t pend_slots;
	uint32_t pend_next;         /* next slot the expiry scan looks at */
	/*
	 * Pending entries that name a server, and that do not: a new flow
	 * looks up only the kinds there are, so one kind costs one lookup.
	 */
	uint32_t pend_named, pend_any;
	uint32_t ip_slots;
	uint32_t ip_next;           /* next slot the stale-rule scan looks at */
	uint64_t ttl;
	uint32_t users_n;
	struct lc_worker_user *users;
	/*
	 * What carries each node id: flows (lc_flow.node), and pending and
	 * IP-wide assignments. Only the worker writes them; the control thread
	 * reads them (lc_assign_node_refs()) to know when an id is free.
	 */
	uint32_t node_flows[LC_ASSIGN_NODES_MAX + 1];
	uint32_t node_rules[LC_ASSIGN_NODES_MAX + 1];
	/* The sweep applies IP-wide changes and removed users to old flows. */
	int sweep;
	bool sweep_again;
	uint32_t sweep_cursor;
	struct lc_assign_counters ctr;
};

/* One more (+1) or one fewer (-1) pending entry of k's kind. */
static inline void
pend_counted(struct lc_assign *a, const struct pend_key *k, int delta)
{
	uint32_t *n = k->server.port != 0 ? &a->pend_named : &a->pend_any;

	*n = (uint32_t)((int64_t)*n + delta);
}

/* The first entry of a client endpoint's chain (position + 1), or 0. */
static uint32_t
client_head(const struct lc_assign *a, const struct lc_flow_endpoint *c)
{
	void *data;

	if (rte_hash_lookup_data(a->pend_client, c, &data) < 0)
		return 0;
	return (uint32_t)(uintptr_t)data;
}

/* Put the new entry at pos first in its client endpoint's chain. */
static int
client_link(struct lc_assign *a, const struct pend_key *k, int32_t pos)
{
	uint32_t head = client_head(a, &k->client);
	int rc = rte_hash_add_key_data(a->pend_client, &k->client,
				       (void *)(uintptr_t)(pos + 1));

	if (rc < 0)
		return rc;
	a->pending[pos].client_next = head;
	return 0;
}

/* Take the entry at pos out of its client endpoint's chain. */
static void
client_unlink(struct lc_assign *a, const struct pend_key *k, int32_t pos)
{
	uint32_t head = client_head(a, &k->client);
	uint32_t next = a->pending[pos].client_next;

	a->pending[pos].client_next = 0;
	if (head == (uint32_t)pos + 1) {
		if (next == 0)
			rte_hash_del_key(a->pend_client, &k->client);
		else
			rte_hash_add_key_data(a->pend_client, &k->client,
					      (void *)(uintptr_t)next);
		return;
	}
	/* Chains are short: the servers one client endpoint was named with. */
	for (uint32_t at = head; at != 0; at = a->pending[at - 1].client_next) {
		if (a->pending[at - 1].client_next == (uint32_t)pos + 1) {
			a->pending[at - 1].client_next = next;
			return;
		}
	}
}

static struct rte_hash *
make_hash(const char *name, const char *what, uint32_t entries,
	  uint32_t key_len, int socket)
{
	char n[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = n,
		.entries = entries,
		.key_len = key_len,
		.hash_func = lc_hash_crc,
		.hash_func_init_val = 0,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	snprintf(n, sizeof(n), "%s_%s", name, what);
	return rte_hash_create(&p);
}

struct lc_assign *
lc_assign_create(const struct lc_assign_params *p)
{
	struct lc_assign *a;

	if (p == NULL || p->name == NULL || p->users == 0 || p->ip_capacity < 8 ||
	    p->pending_capacity < 8) {
		rte_errno = EINVAL;
		return NULL;
	}
	a = rte_zmalloc_socket("lc_assign", sizeof(*a), RTE_CACHE_LINE_SIZE,
			       p->socket_id);
	if (a == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	a->ttl = p->pending_ttl;
	a->users_n = p->users;
	a->ip = make_hash(p->name, "ip", p->ip_capacity, 16, p->socket_id);
	if (a->ip != NULL)
		a->ip_slots = rte_hash_max_key_id(a->ip) + 1;
	a->pend = make_hash(p->name, "pend", p->pending_capacity,
			    sizeof(struct pend_key), p->socket_id);
	a->pend_client = make_hash(p->name, "pendc", p->pending_capacity,
				   sizeof(struct lc_flow_endpoint), p->socket_id);
	if (a->pend != NULL) {
		a->pend_slots = rte_hash_max_key_id(a->pend) + 1;
		a->pending = rte_zmalloc_socket("lc_pending",
						sizeof(*a->pending) * a->pend_slots,
						RTE_CACHE_LINE_SIZE, p->socket_id);
	}
	a->users = rte_zmalloc_socket("lc_users",
				      sizeof(*a->users) * ((size_t)p->users + 1),
				      RTE_CACHE_LINE_SIZE, p->socket_id);
	if (a->ip == NULL || a->pend == NULL || a->pend_client == NULL ||
	    a->pending == NULL || a->users == NULL) {
		lc_assign_free(a);
		rte_errno = ENOMEM;
		return NULL;
	}
	return a;
}

void
lc_assign_free(struct lc_assign *a)
{
	if (a == NULL)
		return;
	rte_hash_free(a->ip);
	rte_hash_free(a->pend);
	rte_hash_free(a->pend_client);
	rte_free(a->pending);
	rte_free(a->users);
	rte_free(a);
}

struct lc_worker_user *
lc_assign_users(struct lc_assign *a)
{
	return a->users;
}

/* Counters of users have readers on the control thread. */
static inline void
set_u32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/*
 * One more (+1) or one fewer (-1) flow or assignment of a node (0: none).
 * Release: a reader that sees a rule's count drop also sees the flows it
 * bound counted (lc_assign_node_refs()).
 */
static inline void
node_counted(uint32_t *refs, uint8_t node, int delta)
{
	if (node != 0)
		__atomic_store_n(&refs[node], (uint32_t)((int64_t)refs[node] + delta),
				 __ATOMIC_RELEASE);
}

/* Move a flow to user (0: none), keeping every user's flow count right. */
static void
bind_flow(struct lc_assign *a, struct lc_flow *f, uint32_t user, uint8_t origin,
	  uint8_t node)
{
	if (f->user_id != 0)
		set_u32(&a->users[f->user_id].flows, a->users[f->user_id].flows - 1);
	if (user != 0)
		set_u32(&a->users[user].flows, a->users[user].flows + 1);
	lc_flow_set_user(f, user);
	f->origin = user != 0 ? origin : LC_ORIGIN_NONE;
	node_counted(a->node_flows, f->node, -1);
	f->node = user != 0 ? node : 0;
	node_counted(a->node_flows, f->node, +1);
}

static bool
tracks_endpoint(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

/* Whether an assignment made for (user, gen) still holds. */
static inline bool
rule_live(const struct lc_assign *a, uint32_t user, uint16_t gen)
{
	return user != 0 && user <= a->users_n && a->users[user].live &&
	       a->users[user].gen == gen;
}

/* The user of the IP-wide rule of a client address (0: none), and its node. */
static uint32_t
ip_rule(const struct lc_assign *a, const uint8_t addr[16], uint8_t *node)
{
	void *data;

	*node = 0;
	if (rte_hash_lookup_data(a->ip, addr, &data) < 0)
		return 0;
	uint64_t v = (uint64_t)(uintptr_t)data;
	uint32_t user = (uint32_t)v;
	if (!rule_live(a, user, (uint16_t)(v >> 32)))
		return 0;
	*node = (uint8_t)(v >> 48);
	return user;
}

/* The node of the IP-wide rule of an address, live or not (0: none). */
static uint8_t
rule_node(const struct lc_assign *a, const uint8_t addr[16])
{
	void *data;

	if (rte_hash_lookup_data(a->ip, addr, &data) < 0)
		return 0;
	return (uint8_t)((uint64_t)(uintptr_t)data >> 48);
}

uint32_t
lc_assign_ip_user(const struct lc_assign *a, const uint8_t addr[16])
{
	uint8_t node;

	return ip_rule(a, addr, &node);
}

/* The live pending entry of a key, or NULL. */
static const struct pending *
pending_find(const struct lc_assign *a, const struct pend_key *k, uint64_t now)
{
	int32_t pos = rte_hash_lookup(a->pend, k);

	if (pos < 0 || now > a->pending[pos].expires ||
	    !rule_live(a, a->pending[pos].user, a->pending[pos].gen))
		return NULL;
	return &a->pending[pos];
}

/*
 * The live pending assignment of a new flow's endpoints: the one of this
 * client and this server wins over the one of this client to any server.
 */
static const struct pending *
pending_of_flow(const struct lc_assign *a, const struct lc_flow_key *key,
		uint64_t now)
{
	const struct pending *p;
	struct pend_key k;

	if (a->pend_named != 0) {
		pend_key(key->client, key->client_port, key->server,
			 key->server_port, &k);
		p = pending_find(a, &k, now);
		if (p != NULL)
			return p;
	}
	if (a->pend_any == 0)
		return NULL;
	pend_key(key->client, key->client_port, NULL, 0, &k);
	return pending_find(a, &k, now);
}

/* Point a pending entry (new: user 0) at user through node, afresh. */
static void
pending_set(struct lc_assign *a, struct pending *p, uint32_t user, uint8_t node,
	    uint64_t now)
{
	node_counted(a->node_rules, p->user != 0 ? p->node : 0, -1);
	p->user = user;
	p->gen = a->users[user].gen;
	p->node = node;
	p->expires = now + a->ttl;
	node_counted(a->node_rules, node, +1);
}

/* A pending entry is gone: its slot is free. */
static void
pending_clear(struct lc_assign *a, struct pending *p)
{
	node_counted(a->node_rules, p->user != 0 ? p->node : 0, -1);
	p->user = 0;
}

/* Remove the pending entry of key k, at pos. */
static void
pending_del(struct lc_assign *a, const struct pend_key *k, int32_t pos)
{
	client_unlink(a, k, pos);
	if (rte_hash_del_key(a->pend, k) >= 0)
		pend_counted(a, k, -1);
	pending_clear(a, &a->pending[pos]);
	a->ctr.pending = (uint64_t)rte_hash_count(a->pend);
}

/* Point a target's existing pending entry, if any, at user, afresh. */
static void
pending_renew(struct lc_assign *a, const struct pend_key *k, uint32_t user,
	      uint8_t node, uint64_t now)
{
	int32_t pos = rte_hash_lookup(a->pend, k);

	if (pos < 0)
		return;
	pending_set(a, &a->pending[pos], user, node, now);
}

/* Whether a flow goes to the server a target names (any, if none). */
static bool
target_server_is(const struct lc_assign_target *t, const struct lc_flow_key *key)
{
	return t->server_port == 0 ||
	       (key != NULL && key->server_port == t->server_port &&
		memcmp(key->server, t->server, sizeof(key->server)) == 0);
}

uint32_t
lc_assign_new_flow(struct lc_assign *a, struct lc_flow *flow,
		   const struct lc_flow_key *key, uint64_t now)
{
	const struct pending *p;
	uint32_t user = 0;
	uint8_t node;

	/* A flow reopened by a new SYN keeps the user it had. */
	if (flow->user_id != 0)
		return lc_assign_flow_user(a->users, flow);
	if (tracks_endpoint(key->l4_proto) &&
	    (p = pending_of_flow(a, key, now)) != NULL) {
		/*
		 * The entry stays until pending_ttl runs out, so that every flow
		 * the endpoint opens meanwhile (to another server, unless it names
		 * one, in another VLAN) goes to the same user.
		 */
		user = p->user;
		bind_flow(a, flow, user, LC_ORIGIN_ENDPOINT, p->node);
		a->ctr.bound_on_create++;
		return user;
	}
	user = ip_rule(a, key->client, &node);
	if (user != 0) {
		bind_flow(a, flow, user, LC_ORIGIN_IP, node);
		a->ctr.bound_by_ip++;
		return user;
	}
	return 0;
}

void
lc_assign_flow_expired(const struct lc_flow *flow, const struct lc_flow_key *key,
		       void *arg)
{
	struct lc_assign *a = arg;

	(void)key;
	if (flow->user_id != 0)
		set_u32(&a->users[flow->user_id].flows,
			a->users[flow->user_id].flows - 1);
	node_counted(a->node_flows, flow->node, -1);
}

static void
sweep_start(struct lc_assign *a)
{
	if (a->sweep == SWEEP_RUNNING) {
		/* Flows already passed must see this change too. */
		a->sweep_again = true;
		return;
	}
	a->sweep = SWEEP_RUNNING;
	a->sweep_cursor = LC_FLOW_CURSOR_START;
}

int
lc_assign_user_add(struct lc_assign *a, uint32_t id)
{
	struct lc_worker_user *u;

	if (id == 0 || id > a->users_n)
		return -EINVAL;
	u = &a->users[id];
	if (u->live)
		return -EEXIST;
	if (u->flows != 0)
		return -EBUSY; /* still being unbound from a former user */
	/*
	 * The control thread may be reading these counters; each is stored
	 * whole, so it sees the old value or zero.
	 */
	for (int d = 0; d < LC_ASSIGN_DIRS; d++) {
		__atomic_store_n(&u->packets[d], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&u->bytes[d], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&u->drops[d], 0, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&u->last_seen, 0, __ATOMIC_RELAXED);
	u->gen++;
	__atomic_store_n(&u->live, 1, __ATOMIC_RELEASE);
	return 0;
}

int
lc_assign_user_del(struct lc_assign *a, uint32_t id)
{
	if (id == 0 || id > a->users_n || !a->users[id].live)
		return -EINVAL;
	__atomic_store_n(&a->users[id].live, 0, __ATOMIC_RELEASE);
	if (a->users[id].flows != 0)
		sweep_start(a);
	return 0;
}

bool
lc_assign_user_gone(const struct lc_assign *a, uint32_t id)
{
	return id != 0 && id <= a->users_n && !a->users[id].live &&
	       a->users[id].flows == 0;
}

/* The flows of a target's client endpoint that go to its server, in found[]. */
static int
target_flows(struct lc_flow_table *flows, const struct lc_assign_target *t,
	     struct lc_flow *found[], unsigned int max)
{
	int n = lc_flow_find_client(flows, t->client, t->client_port, found, max);
	int k = 0;

	for (int i = 0; i < n; i++)
		if (target_server_is(t, lc_flow_key(flows, found[i])))
			found[k++] = found[i];
	return n < 0 ? n : k;
}

enum lc_assign_result
lc_assign_endpoint_to(struct lc_assign *a, struct lc_flow_table *flows,
		      uint32_t user, const struct lc_assign_target *t,
		      uint64_t now, int *err)
{
	struct lc_flow *found[64];
	struct pend_key k;
	int n;

	*err = 0;
	if (user == 0 || user > a->users_n || !a->users[user].live ||
	    t->node > LC_ASSIGN_NODES_MAX) {
		*err = -EINVAL;
		return LC_ASSIGN_UNCHANGED;
	}
	n = target_flows(flows, t, found, RTE_DIM(found));
	if (n < 0) {
		*err = n;
		return LC_ASSIGN_UNCHANGED;
	}
	pend_key(t->client, t->client_port, t->server, t->server_port, &k);
	if (n > 0) {
		bool changed = false;

		/*
		 * An entry left by an earlier assignment of the target must not
		 * bind its next flows to that earlier user: it now names this one.
		 */
		pending_renew(a, &k, user, t->node, now);
		for (int i = 0; i < n; i++) {
			uint32_t cur = lc_assign_flow_user(a->users, found[i]);

			if (cur != user)
				changed = true;
			/*
			 * The same user by an IP-wide rule becomes the same user
			 * by this endpoint: nothing a packet would notice.
			 */
			if (cur != user || found[i]->origin != LC_ORIGIN_ENDPOINT ||
			    found[i]->node != t->node)
				bind_flow(a, found[i], user, LC_ORIGIN_ENDPOINT,
					  t->node);
		}
		return changed ? LC_ASSIGN_BOUND : LC_ASSIGN_UNCHANGED;
	}

	/* No such flow yet: it will be bound on its first packet. */
	int32_t pos;

	pos = rte_hash_add_key(a->pend, &k);
	if (pos >= 0 && a->pending[pos].user == 0 && client_link(a, &k, pos) != 0) {
		rte_hash_del_key(a->pend, &k);
		pos = -ENOSPC;
	}
	if (pos < 0) {
		a->ctr.pending_full++;
		*err = -ENOSPC;
		return LC_ASSIGN_UNCHANGED;
	}
	if (a->pending[pos].user == 0)
		pend_counted(a, &k, +1); /* a new entry, not one renewed */
	pending_set(a, &a->pending[pos], user, t->node, now);
	a->ctr.pending = (uint64_t)rte_hash_count(a->pend);
	return LC_ASSIGN_PENDING;
}

enum lc_assign_result
lc_assign_endpoint(struct lc_assign *a, struct lc_flow_table *flows,
		   uint32_t user, const uint8_t addr[16], uint16_t port,
		   uint64_t now, int *err)
{
	struct lc_assign_target t = { .client_port = port };

	memcpy(t.client, addr, sizeof(t.client));
	return lc_assign_endpoint_to(a, flows, user, &t, now, err);
}

enum lc_assign_result
lc_assign_ip(struct lc_assign *a, uint32_t user, const uint8_t addr[16], int *err)
{
	return lc_assign_ip_node(a, user, addr, 0, err);
}

enum lc_assign_result
lc_assign_ip_node(struct lc_assign *a, uint32_t user, const uint8_t addr[16],
		  uint8_t node, int *err)
{
	uint8_t cur_node;

	*err = 0;
	if (user == 0 || user > a->users_n || !a->users[user].live ||
	    node > LC_ASSIGN_NODES_MAX) {
		*err = -EINVAL;
		return LC_ASSIGN_UNCHANGED;
	}
	if (ip_rule(a, addr, &cur_node) == user && cur_node == node)
		return LC_ASSIGN_UNCHANGED;
	uint8_t was = rule_node(a, addr);
	int rc = rte_hash_add_key_data(a->ip, addr,
				       rule_data(user, a->users[user].gen, node));
	if (rc < 0) {
		*err = rc;
		return LC_ASSIGN_UNCHANGED;
	}
	node_counted(a->node_rules, was, -1);
	node_counted(a->node_rules, node, +1);
	a->ctr.ip_rules = (uint64_t)rte_hash_count(a->ip);
	sweep_start(a);
	return LC_ASSIGN_BOUND;
}

enum lc_assign_result
lc_unassign_endpoint_to(struct lc_assign *a, struct lc_flow_table *flows,
			const struct lc_assign_target *t)
{
	struct lc_flow *found[64];
	struct pend_key k;
	bool removed = false;
	int32_t pos;
	int n;

	pend_key(t->client, t->client_port, t->server, t->server_port, &k);
	if (t->server_port != 0) {
		pos = rte_hash_lookup(a->pend, &k);
		if (pos >= 0) {
			pending_del(a, &k, pos);
			removed = true;
		}
	} else {
		/* The client endpoint to any server: each of its entries. */
		uint32_t at;

		while ((at = client_head(a, &k.client)) != 0) {
			const void *key;

			if (rte_hash_get_key_with_position(a->pend, (int32_t)at - 1,
							   (void **)&key) != 0)
				break;
			memcpy(&k, key, sizeof(k));
			pending_del(a, &k, (int32_t)at - 1);
			removed = true;
		}
	}
	n = target_flows(flows, t, found, RTE_DIM(found));
	for (int i = 0; i < n; i++) {
		uint8_t node;
		uint32_t user;

		if (found[i]->origin != LC_ORIGIN_ENDPOINT)
			continue;
		/* Back to what the IP-wide assignment of the client says. */
		user = ip_rule(a, t->client, &node);
		bind_flow(a, found[i], user, LC_ORIGIN_IP, node);
		removed = true;
	}
	return removed ? LC_ASSIGN_REMOVED : LC_ASSIGN_NOT_FOUND;
}

enum lc_assign_result
lc_unassign_endpoint(struct lc_assign *a, struct lc_flow_table *flows,
		     const uint8_t addr[16], uint16_t port)
{
	struct lc_assign_target t = { .client_port = port };

	memcpy(t.client, addr, sizeof(t.client));
	return lc_unassign_endpoint_to(a, flows, &t);
}

enum lc_assign_result
lc_unassign_ip(struct lc_assign *a, const uint8_t addr[16])
{
	uint8_t node = rule_node(a, addr);

	if (rte_hash_del_key(a->ip, addr) < 0)
		return LC_ASSIGN_NOT_FOUND;
	node_counted(a->node_rules, node, -1);
	a->ctr.ip_rules = (uint64_t)rte_hash_count(a->ip);
	sweep_start(a);
	return LC_ASSIGN_REMOVED;
}

void
lc_assign_clear(struct lc_assign *a)
{
	rte_hash_reset(a->ip);
	rte_hash_reset(a->pend);
	rte_hash_reset(a->pend_client);
	a->pend_named = a->pend_any = 0;
	memset(a->pending, 0, sizeof(*a->pending) * a->pend_slots);
	for (unsigned int n = 1; n <= LC_ASSIGN_NODES_MAX; n++)
		__atomic_store_n(&a->node_rules[n], 0, __ATOMIC_RELEASE);
	a->ctr.ip_rules = a->ctr.pending = 0;
	for (uint32_t id = 1; id <= a->users_n; id++)
		if (a->users[id].live)
			__atomic_store_n(&a->users[id].live, 0, __ATOMIC_RELEASE);
	sweep_start(a);
}

/* Bring one flow in line with the assignments in force. */
static void
sweep_flow(struct lc_assign *a, struct lc_flow_table *flows, struct lc_flow *f)
{
	uint32_t cur = lc_assign_flow_user(a->users, f);
	const struct lc_flow_key *key;

	if (cur != 0 && f->origin == LC_ORIGIN_ENDPOINT)
		return; /* an endpoint assignment wins over any IP-wide one */
	key = lc_flow_key(flows, f);
	if (key == NULL)
		return;
	uint8_t node;
	uint32_t want = ip_rule(a, key->client, &node);
	/* (A flow unbound from a removed user lets go of its node here.) */
	if (want != cur || f->node != (want != 0 ? node : 0))
		bind_flow(a, f, want, LC_ORIGIN_IP, node);
}

void
lc_assign_upkeep(struct lc_assign *a, struct lc_flow_table *flows, uint64_t now,
		 unsigned int budget)
{
	if (a->sweep == SWEEP_RUNNING) {
		struct lc_flow *batch[32];
		unsigned int n = lc_flow_iterate(flows, &a->sweep_cursor, budget,
						 batch, RTE_DIM(batch));

		for (unsigned int i = 0; i < n; i++)
			sweep_flow(a, flows, batch[i]);
		if (a->sweep_cursor == LC_FLOW_CURSOR_END) {
			a->ctr.sweeps++;
			a->sweep = SWEEP_IDLE;
			if (a->sweep_again) {
				a->sweep_again = false;
				sweep_start(a);
			}
		}
	}

	/* Pending assignments whose flow never came, or whose user went. */
	for (unsigned int i = 0; i < budget / 4 + 1; i++) {
		uint32_t pos = a->pend_next;
		struct pending *p = &a->pending[pos];

		a->pend_next = pos + 1 < a->pend_slots ? pos + 1 : 0;
		if (p->user == 0 ||
		    (now <= p->expires && rule_live(a, p->user, p->gen)))
			continue;
		const void *key;

		if (rte_hash_get_key_with_position(a->pend, (int32_t)pos,
						   (void **)&key) == 0) {
			struct pend_key k;

			memcpy(&k, key, sizeof(k));
			pending_del(a, &k, (int32_t)pos);
		} else {
			pending_clear(a, p);
		}
		a->ctr.pending_expired++;
	}

	/* IP-wide assignments of users that were removed. */
	for (unsigned int i = 0; i < budget / 4 + 1; i++) {
		uint32_t pos = a->ip_next;
		const void *key;
		void *data;

		a->ip_next = pos + 1 < a->ip_slots ? pos + 1 : 0;
		if (rte_hash_get_key_with_position(a->ip, (int32_t)pos,
						   (void **)&key) != 0)
			continue;
		uint8_t k[16];

		memcpy(k, key, sizeof(k));
		if (rte_hash_lookup_data(a->ip, k, &data) < 0)
			continue;
		uint64_t v = (uint64_t)(uintptr_t)data;
		if (!rule_live(a, (uint32_t)v, (uint16_t)(v >> 32)) &&
		    rte_hash_del_key(a->ip, k) >= 0) {
			node_counted(a->node_rules, (uint8_t)(v >> 48), -1);
			a->ctr.ip_rules = (uint64_t)rte_hash_count(a->ip);
		}
	}
}

uint32_t
lc_assign_node_refs(const struct lc_assign *a, uint8_t node)
{
	uint32_t rules, flows;

	if (node == 0 || node > LC_ASSIGN_NODES_MAX)
		return 0;
	/* Rules first: a flow is counted before the rule that bound it goes. */
	rules = __atomic_load_n(&a->node_rules[node], __ATOMIC_ACQUIRE);
	flows = __atomic_load_n(&a->node_flows[node], __ATOMIC_ACQUIRE);
	return rules + flows;
}

void
lc_assign_counters_get(const struct lc_assign *a, struct lc_assign_counters *c)
{
	*c = a->ctr;
}

const char *
lc_assign_result_name(enum lc_assign_result r)
{
	switch (r) {
	case LC_ASSIGN_BOUND:
		return "bound";
	case LC_ASSIGN_PENDING:
		return "pending";
	case LC_ASSIGN_UNCHANGED:
		return "unchanged";
	case LC_ASSIGN_REMOVED:
		return "removed";
	case LC_ASSIGN_NOT_FOUND:
		return "not_found";
	}
	return "?";
}
