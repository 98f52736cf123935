/* SPDX-License-Identifier: MIT */
/*
 * Nodes: the VPN servers behind the appliance that assignments come
 * through. A follower (linecap-xray --node NAME) says its node once it has
 * connected (`hello node=NAME`) and names it in every assignment
 * (`assign ... node=NAME`). The control thread keeps the names here, each
 * with a small id (1..LC_ASSIGN_NODES_MAX) that the worker stores with a
 * pending assignment and a flow's binding; the worker never sees a name.
 *
 * Ids are given out on first use. A follower that goes away takes nothing
 * with it: its node, and the assignments made through it, stay. A node is
 * forgotten, and its id free for another name, once nothing holds it: no
 * follower connected, no flow, pending or IP-wide assignment of the worker
 * carrying its id (lc_assign_node_refs()), and no hello or assignment
 * naming it for NODE_FORGET_S seconds; when a new name finds every id
 * taken, for NODE_RECLAIM_S. So at most LC_ASSIGN_NODES_MAX nodes are
 * held at once, however many names come and go.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "linecapd.h"
#include "users_priv.h"

/* Connections that said hello, tracked at once. */
#define FOLLOWERS_MAX 128

/*
 * Seconds since a node was last named before a node that nothing holds is
 * forgotten: long enough for a follower's restart to keep its counters.
 */
#define NODE_FORGET_S 300
/*
 * The same when a new name needs an id and none is free: more than a batch
 * of pipelined lines takes, so that a node named earlier in the batch,
 * whose assignment is not with the worker yet, is never taken.
 */
#define NODE_RECLAIM_S 2

struct node {
	char name[NODE_NAME_MAX + 1]; /* "": the id is free */
	uint64_t assigns;       /* assignments through it since start */
	uint64_t last_seen;     /* monotonic s of its last hello or assign; 0 never */
	uint64_t hellos;        /* hellos with it since start */
	uint32_t followers;     /* connections that said hello with it, now */
};

struct follower {
	uint64_t client;        /* lc_mgmt_table_client(); 0: free slot */
	uint8_t node;
	uint64_t since;         /* monotonic s of its hello */
};

struct nodes {
	struct node node[LC_ASSIGN_NODES_MAX + 1]; /* by id; 0 unused */
	uint8_t n;                 /* ids in use are among 1..n */
	uint64_t next_upkeep;      /* monotonic s */
	struct follower followers[FOLLOWERS_MAX];
	uint64_t *user_nodes;   /* by user id: bit id-1 of every node seen */
	uint32_t users;
};

int
nodes_create(struct daemon *d)
{
	struct nodes *ns = calloc(1, sizeof(*ns));

	if (ns == NULL)
		return -ENOMEM;
	ns->users = d->conf.users.capacity;
	ns->user_nodes = calloc((size_t)ns->users + 1, sizeof(*ns->user_nodes));
	if (ns->user_nodes == NULL) {
		free(ns);
		return -ENOMEM;
	}
	d->nodes = ns;
	return 0;
}

void
nodes_free(struct daemon *d)
{
	if (d->nodes == NULL)
		return;
	free(d->nodes->user_nodes);
	free(d->nodes);
	d->nodes = NULL;
}

/* Whether id names a node now. */
static bool
node_used(const struct nodes *ns, unsigned int id)
{
	return id != 0 && id <= ns->n && ns->node[id].name[0] != '\0';
}

/* What holds a node on any worker: its assignments and flows. */
static uint64_t
node_refs(const struct daemon *d, uint8_t id)
{
	uint64_t refs = 0;

	for (unsigned int i = 0; i < RTE_MAX(d->workers, 1u); i++)
		refs += lc_assign_node_refs(daemon_part(d, i).assign, id);
	return refs;
}

/*
 * Forget every node that nothing holds and that was last named at least
 * idle seconds ago. Returns how many.
 */
static unsigned int
nodes_reclaim(struct daemon *d, uint64_t idle)
{
	struct nodes *ns = d->nodes;
	uint64_t now = lc_monotonic_sec();
	unsigned int freed = 0;

	for (unsigned int id = 1; id <= ns->n; id++) {
		struct node *n = &ns->node[id];
		uint64_t bit = 1ull << (id - 1);

		if (!node_used(ns, id) || n->followers != 0 ||
		    now - n->last_seen < idle || d->assign == NULL ||
		    node_refs(d, (uint8_t)id) != 0)
			continue;
		lc_log("info", "node %s forgotten: no follower, assignment or flow "
		       "holds it (id %u free)", n->name, id);
		for (uint32_t u = 1; u <= ns->users; u++)
			ns->user_nodes[u] &= ~bit;
		memset(n, 0, sizeof(*n));
		freed++;
	}
	while (ns->n > 0 && !node_used(ns, ns->n))
		ns->n--;
	return freed;
}

void
nodes_upkeep(struct daemon *d)
{
	uint64_t now = lc_monotonic_sec();

	if (d->nodes == NULL || now < d->nodes->next_upkeep)
		return;
	d->nodes->next_upkeep = now + 1;
	nodes_reclaim(d, NODE_FORGET_S);
}

/* A free id, or 0. */
static unsigned int
node_free_id(const struct nodes *ns)
{
	for (unsigned int id = 1; id <= ns->n; id++)
		if (!node_used(ns, id))
			return id;
	return ns->n < LC_ASSIGN_NODES_MAX ? ns->n + 1u : 0;
}

int
node_id(struct daemon *d, const char *name, json_t *reply)
{
	struct nodes *ns = d->nodes;
	unsigned int id;

	if (!lc_mgmt_word_ok(name, strlen(name), NODE_NAME_MAX))
		return lc_mgmt_error(reply, "bad node name '%.*s%s' (1 to %d letters, "
				     "digits, '.', '-' or '_')", QUOTE(name),
				     NODE_NAME_MAX);
	for (id = 1; id <= ns->n; id++)
		if (strcmp(ns->node[id].name, name) == 0)
			break;
	if (id > ns->n) {
		id = node_free_id(ns);
		if (id == 0 && nodes_reclaim(d, NODE_RECLAIM_S) > 0)
			id = node_free_id(ns);
		if (id == 0)
			return lc_mgmt_error(reply, "no room for another node (%d are "
					     "held by followers, assignments or "
					     "flows)", LC_ASSIGN_NODES_MAX);
		memcpy(ns->node[id].name, name, strlen(name) + 1);
		if (id > ns->n)
			ns->n = (uint8_t)id;
	}
	/* Named now: not forgotten while its command is on its way. */
	ns->node[id].last_seen = lc_monotonic_sec();
	return (int)id;
}

const char *
node_name(const struct daemon *d, uint8_t id)
{
	if (d->nodes == NULL || !node_used(d->nodes, id))
		return NULL;
	return d->nodes->node[id].name;
}

void
node_assigned(struct daemon *d, uint8_t node, uint32_t user)
{
	struct nodes *ns = d->nodes;

	if (ns == NULL || !node_used(ns, node))
		return;
	ns->node[node].assigns++;
	ns->node[node].last_seen = lc_monotonic_sec();
	if (user != 0 && user <= ns->users)
		ns->user_nodes[user] |= 1ull << (node - 1);
}

void
node_user_gone(struct daemon *d, uint32_t user)
{
	if (d->nodes != NULL && user != 0 && user <= d->nodes->users)
		d->nodes->user_nodes[user] = 0;
}

json_t *
node_user_json(const struct daemon *d, uint32_t user)
{
	json_t *list = json_array();
	uint64_t mask;

	if (d->nodes == NULL || user == 0 || user > d->nodes->users)
		return list;
	mask = d->nodes->user_nodes[user];
	for (unsigned int id = 1; id <= d->nodes->n; id++)
		if ((mask & (1ull << (id - 1))) && node_used(d->nodes, id))
			json_array_append_new(list, json_string(d->nodes->node[id].name));
	return list;
}

/* A connection ended: it is no longer a follower of its node. */
void
node_client_closed(void *arg, uint64_t client)
{
	struct daemon *d = arg;
	struct nodes *ns = d->nodes;

	if (ns == NULL || client == 0)
		return;
	for (unsigned int i = 0; i < FOLLOWERS_MAX; i++) {
		struct follower *f = &ns->followers[i];

		if (f->client != client)
			continue;
		ns->node[f->node].followers--;
		lc_log("info", "follower of node %s left", ns->node[f->node].name);
		memset(f, 0, sizeof(*f));
		return;
	}
}

/* `hello node=NAME`: a follower says which node it follows. */
static int
cmd_hello(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;
	struct nodes *ns = d->nodes;
	uint64_t client = lc_mgmt_table_client(d->table);
	struct follower *slot = NULL;
	int id;

	(void)argc;
	if (strncmp(argv[0], "node=", 5) != 0)
		return lc_mgmt_error(reply, "hello: expected node=NAME, not '%.*s%s'",
				     QUOTE(argv[0]));
	id = node_id(d, argv[0] + 5, reply);
	if (id < 0)
		return id;
	if (client != 0) {
		for (unsigned int i = 0; i < FOLLOWERS_MAX; i++) {
			if (ns->followers[i].client == client) {
				slot = &ns->followers[i];
				ns->node[slot->node].followers--;
				break;
			}
			if (slot == NULL && ns->followers[i].client == 0)
				slot = &ns->followers[i];
		}
		if (slot == NULL)
			return lc_mgmt_error(reply, "hello: too many followers (%d)",
					     FOLLOWERS_MAX);
		if (slot->client != client || slot->node != id)
			lc_log("info", "follower of node %s connected", argv[0] + 5);
		slot->client = client;
		slot->node = (uint8_t)id;
		slot->since = lc_monotonic_sec();
		ns->node[id].followers++;
	}
	ns->node[id].hellos++;
	ns->node[id].last_seen = lc_monotonic_sec();
	json_object_set_new(reply, "node", json_string(ns->node[id].name));
	json_object_set_new(reply, "version", json_string(LC_VERSION));
	return 0;
}

unsigned int
nodes_count(const struct daemon *d)
{
	return d->nodes != NULL ? d->nodes->n : 0;
}

bool
node_view(const struct daemon *d, uint8_t id, struct node_view *v)
{
	const struct node *n = &d->nodes->node[id];

	if (!node_used(d->nodes, id))
		return false;
	v->name = n->name;
	v->assigns = n->assigns;
	v->hellos = n->hellos;
	v->followers = n->followers;
	v->last_seen = n->last_seen;
	return true;
}

void
nodes_stats_json(struct daemon *d, json_t *reply)
{
	struct nodes *ns = d->nodes;
	json_t *all = json_object();
	uint64_t now = lc_monotonic_sec();

	if (ns == NULL) {
		json_object_set_new(reply, "nodes", all);
		return;
	}
	for (unsigned int id = 1; id <= ns->n; id++) {
		const struct node *n = &ns->node[id];
		json_t *conns;

		if (!node_used(ns, id))
			continue;
		conns = json_array();

		/* Each connection that said hello with it: its number and age. */
		for (unsigned int i = 0; i < FOLLOWERS_MAX && n->followers > 0; i++) {
			const struct follower *f = &ns->followers[i];

			if (f->client != 0 && f->node == id)
				json_array_append_new(conns, json_pack("{s:I,s:I}",
					"id", (json_int_t)f->client,
					"age", (json_int_t)(now - f->since)));
		}
		json_object_set_new(all, n->name, json_pack("{s:i,s:I,s:I,s:i,s:o,s:b,s:o}",
			"id", (int)id,
			"assigns", (json_int_t)n->assigns,
			"hellos", (json_int_t)n->hellos,
			"followers", (int)n->followers,
			"connections", conns,
			"connected", n->followers > 0,
			"last_seen", n->last_seen != 0 ?
				json_integer((json_int_t)(now - n->last_seen)) : json_null()));
	}
	json_object_set_new(reply, "nodes", all);
}

static const struct lc_mgmt_cmd node_cmds[] = {
	{ "hello", "node=NAME",
	  "a follower says which VPN node it follows (stats: nodes)", 1, 1, cmd_hello,
	  .follower_ok = true },
};

int
nodes_register_cmds(struct daemon *d)
{
	return lc_mgmt_register(d->table, node_cmds, RTE_DIM(node_cmds), d);
}
