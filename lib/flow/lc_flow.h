/* SPDX-License-Identifier: MIT */
/*
 * Flow table: linecap's conntrack.
 *
 * A flow is one bidirectional session between a client endpoint (the side of
 * client_port) and a server endpoint. It is classified once, when the control
 * plane binds it to a user, and every later packet in either direction finds
 * that binding with one hash lookup. The table also
 * follows TCP state, so that closed sessions leave quickly, and it applies
 * permit_invalid_flow: whether a TCP packet that is not a SYN may open a
 * session.
 *
 * The table is owned by one worker lcore and is not thread-safe: the control
 * plane reaches it only through commands that the worker drains from its ring.
 * All memory is allocated by lc_flow_table_create() from the capacity; nothing
 * is allocated per packet. Every function that needs the time takes it as
 * `now`, in units of params.hz (TSC cycles in the daemon), so that tests can
 * drive the table with synthetic time. docs/FLOWS.md describes the key, the
 * entry, the state machine, aging and the figures of the benchmark.
 */
#ifndef LC_FLOW_H
#define LC_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lc_parse.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Direction of a packet, from the port it arrived on. */
enum lc_flow_dir {
	LC_FLOW_DIR_UP = 0,   /* arrived on client_port: client -> server */
	LC_FLOW_DIR_DOWN = 1, /* arrived on server_port: server -> client */
};
#define LC_FLOW_DIRS 2

/*
 * The key of a flow. The client fields hold the endpoint on the client_port
 * side whichever way the packet went, so both directions build the same key
 * without sorting. Addresses are 16 bytes in network byte order, IPv4 stored
 * IPv4-mapped; ports and VLAN ids are in host byte order. For ICMP echo both
 * port fields hold the echo identifier. The VLAN context is the outer tags
 * and, for Ethernet over MPLS, the tags of the inner frame. The layout has no
 * padding and every byte, unused VLAN slots included, is written by
 * lc_flow_key_from_parse(), so the key can be hashed and compared as 48 raw
 * bytes (a size rte_hash compares with vector instructions).
 */
struct lc_flow_key {
	uint8_t client[16];
	uint8_t server[16];
	uint16_t client_port;
	uint16_t server_port;
	uint16_t vlan[LC_PARSE_MAX_VLANS];       /* outer first; 0 past n_vlans */
	uint16_t inner_vlan[LC_PARSE_MAX_VLANS]; /* EoMPLS inner frame's tags */
	uint8_t l4_proto;      /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 */
	uint8_t ip_version;    /* 4 or 6 */
	uint8_t n_vlans;
	uint8_t n_inner_vlans;
} __attribute__((aligned(8))); /* hashed 8 bytes at a time */

/*
 * A client endpoint, as `assign EMAIL IP:PORT` names it: the key of the
 * flow table's client index and of the pending assignments (lib/assign).
 * Every byte is written, so that it is hashed and compared raw.
 */
struct lc_flow_endpoint {
	uint8_t addr[16];
	uint16_t port;
	uint8_t pad[2];
};

static inline void
lc_flow_endpoint_key(const uint8_t addr[16], uint16_t port,
		     struct lc_flow_endpoint *ep)
{
	memcpy(ep->addr, addr, sizeof(ep->addr));
	ep->port = port;
	ep->pad[0] = 0;
	ep->pad[1] = 0;
}

/* Session state. LC_FLOW_STATE_ACTIVE is every flow that is not TCP. */
enum lc_flow_state {
	LC_FLOW_STATE_FREE = 0,    /* the slot holds no flow */
	LC_FLOW_STATE_SYN_SENT,    /* SYN seen */
	LC_FLOW_STATE_SYN_RECV,    /* SYN-ACK seen */
	LC_FLOW_STATE_ESTABLISHED,
	LC_FLOW_STATE_FIN_WAIT,    /* FIN seen in one direction */
	LC_FLOW_STATE_CLOSING,     /* FIN seen in both directions */
	LC_FLOW_STATE_CLOSED,      /* RST seen */
	LC_FLOW_STATE_ACTIVE,      /* UDP or ICMP echo */
	LC_FLOW_STATE_MAX
};

/* lc_flow.flags */
#define LC_FLOW_F_ORIG_DOWN 0x01 /* the first SYN came from the server side */
#define LC_FLOW_F_FIN_UP    0x02 /* the client sent a FIN */
#define LC_FLOW_F_FIN_DOWN  0x04 /* the server sent a FIN */
#define LC_FLOW_F_MIDSTREAM 0x08 /* created from a packet that was not a SYN */

/*
 * One flow: one cache line. The worker reads user_id on every packet, so the
 * entry is public; everything else in it is written only by this block, and
 * user_id only through lc_flow_set_user().
 */
struct lc_flow {
	uint32_t user_id;   /* 0 = unassigned */
	uint8_t state;      /* enum lc_flow_state */
	uint8_t l4_proto;   /* copy of the key's, to age without reading the key */
	uint8_t flags;      /* LC_FLOW_F_* */
	/*
	 * lib/assign owns these two: how user_id was set, and the node (VPN
	 * server) whose assignment set it, 0 for none.
	 */
	uint8_t origin : 2;
	uint8_t node : 6;
	uint32_t hash_sig;  /* rte_hash signature, so that delete need not rehash */
	uint32_t client_next; /* next flow of the same client endpoint, id + 1 */
	uint64_t created;   /* `now` of the first packet */
	uint64_t last_seen; /* `now` of the latest packet */
	uint64_t packets[2]; /* by enum lc_flow_dir */
	uint64_t bytes[2];
} __attribute__((aligned(64)));

/* What lc_flow_lookup_or_create() did with a packet. */
enum lc_flow_status {
	LC_FLOW_EXISTING = 0, /* the flow was in the table */
	LC_FLOW_CREATED,      /* a new flow was inserted */
	LC_FLOW_INVALID,      /* TCP that may not open a session: drop it */
	LC_FLOW_TABLE_FULL,   /* no room: forward it unassigned */
};

/*
 * Called by lc_flow_age() for every flow it removes, before removal, so the
 * caller can release what the flow held (a user's flow count).
 */
typedef void (*lc_flow_expire_fn)(const struct lc_flow *flow,
				  const struct lc_flow_key *key, void *arg);

/* Timeout defaults, in seconds, used where a params timeout is 0. */
#define LC_FLOW_DEFAULT_TCP_TIMEOUT 7440
#define LC_FLOW_DEFAULT_TCP_CLOSING_TIMEOUT 10
#define LC_FLOW_DEFAULT_TCP_SYN_TIMEOUT 30
#define LC_FLOW_DEFAULT_UDP_TIMEOUT 180
#define LC_FLOW_DEFAULT_ICMP_TIMEOUT 30

/* A sensible aging budget for one worker loop iteration (docs/FLOWS.md). */
#define LC_FLOW_AGE_BUDGET 64

/* Largest burst lc_flow_lookup_or_create_burst() handles in one hash call. */
#define LC_FLOW_BURST_MAX 64

struct lc_flow_params {
	const char *name;     /* unique among tables, at most 18 characters */
	int socket_id;        /* NUMA socket of the worker, or SOCKET_ID_ANY */
	uint32_t capacity;    /* flows; at least 8 */
	bool permit_invalid_flow;
	uint32_t tcp_timeout;         /* seconds; 0 = default */
	uint32_t tcp_closing_timeout; /* after FIN or RST */
	uint32_t tcp_syn_timeout;     /* SYN_SENT and SYN_RECV */
	uint32_t udp_timeout;
	uint32_t icmp_timeout;
	uint64_t hz;          /* units of `now` per second; not 0 */
	/*
	 * Keep an index of TCP and UDP flows by client endpoint (address and
	 * port), which lc_flow_find_client() needs: `assign EMAIL IP:PORT`
	 * names a client endpoint, not a whole key. It costs a second hash
	 * insert per new flow and about 60 bytes per flow.
	 */
	bool client_index;
	lc_flow_expire_fn expire; /* may be NULL */
	void *expire_arg;
};

struct lc_flow_counters {
	uint64_t active;          /* flows in the table now */
	uint64_t created;         /* flows inserted */
	uint64_t created_midstream; /* of which opened by a packet other than a SYN */
	uint64_t expired;         /* removed by lc_flow_age() */
	uint64_t deleted;         /* removed by lc_flow_delete() */
	uint64_t invalid_flow;    /* packets refused by permit_invalid_flow = no */
	uint64_t flow_table_full; /* packets whose new flow found no room */
	uint64_t tcp_reopened;    /* SYNs that restarted a closed TCP flow */
};

struct lc_flow_table;

/*
 * Build the key of a parsed frame. from_client_port tells which port it came
 * in on. Returns false, leaving *key undefined, for a frame the table does not
 * track: not IP, no ports (a non-first fragment), or a protocol other than
 * TCP, UDP and ICMP/ICMPv6 echo.
 */
bool lc_flow_key_from_parse(const struct lc_parse_result *pr,
			    bool from_client_port, struct lc_flow_key *key);

/* Create a table. Returns NULL and sets rte_errno on failure. */
struct lc_flow_table *lc_flow_table_create(const struct lc_flow_params *params);

/* Free a table and every flow in it. NULL does nothing. */
void lc_flow_table_free(struct lc_flow_table *tbl);

/*
 * Find the flow of one packet, creating it if permitted, and account the
 * packet: counters of direction dir, TCP state and last_seen. Returns the flow
 * and sets *status to LC_FLOW_EXISTING or LC_FLOW_CREATED, or returns NULL with
 * LC_FLOW_INVALID or LC_FLOW_TABLE_FULL.
 */
struct lc_flow *lc_flow_lookup_or_create(struct lc_flow_table *tbl,
					 const struct lc_flow_key *key,
					 const struct lc_parse_result *pr,
					 enum lc_flow_dir dir, uint32_t pkt_len,
					 uint64_t now, int *status);

/*
 * The same for n packets that arrived on one port (so one direction), with
 * one bulk hash lookup per LC_FLOW_BURST_MAX packets. Fills flows[i] and
 * status[i] for each packet as above and returns how many packets have a
 * flow. Two packets of one new flow in a burst find the same entry.
 */
unsigned lc_flow_lookup_or_create_burst(struct lc_flow_table *tbl,
					const struct lc_flow_key *const keys[],
					const struct lc_parse_result *const prs[],
					const uint32_t pkt_lens[], unsigned n,
					enum lc_flow_dir dir, uint64_t now,
					struct lc_flow *flows[], int status[]);

/* Find a flow without creating or accounting anything. NULL if absent. */
struct lc_flow *lc_flow_lookup(const struct lc_flow_table *tbl,
			       const struct lc_flow_key *key);

/*
 * A flow's id is its slot, in [0, lc_flow_table_slots()); it stays the same
 * for the flow's whole life and is reused after the flow is removed.
 */
uint32_t lc_flow_id(const struct lc_flow_table *tbl, const struct lc_flow *flow);

/* The flow in slot id, or NULL when the slot is free or out of range. */
struct lc_flow *lc_flow_get(const struct lc_flow_table *tbl, uint32_t id);

/*
 * The key of a flow in the table, valid until the flow is removed. NULL when
 * the flow is not in the table.
 */
const struct lc_flow_key *lc_flow_key(const struct lc_flow_table *tbl,
				      const struct lc_flow *flow);

/*
 * The TCP and UDP flows whose client endpoint is addr (16 bytes, IPv4-mapped
 * for IPv4) and port, in every VLAN and to every server: stores at most n of
 * them in flows[] and returns how many it stored, or -ENOTSUP when the table
 * was created without params.client_index.
 */
int lc_flow_find_client(const struct lc_flow_table *tbl, const uint8_t addr[16],
			uint16_t port, struct lc_flow *flows[], unsigned n);

/* Bind a flow to a user (0 unbinds it). A single store, never torn. */
void lc_flow_set_user(struct lc_flow *flow, uint32_t user_id);

/*
 * Remove a flow now, without calling params.expire: the caller knows. Returns
 * 0, or -ENOENT when it is not in the table.
 */
int lc_flow_delete(struct lc_flow_table *tbl, struct lc_flow *flow);

/*
 * Examine at most budget slots, continuing where the previous call stopped
 * and wrapping around, and remove the flows that have been idle longer than
 * the timeout of their state (calling params.expire first). Returns how many
 * were removed.
 */
unsigned lc_flow_age(struct lc_flow_table *tbl, uint64_t now, unsigned budget);

/*
 * Walk the table a bounded step at a time. Start with *cursor =
 * LC_FLOW_CURSOR_START; each call examines at most budget slots and stores at
 * most n flows in flows[], and returns how many it stored. When the whole
 * table has been examined *cursor becomes LC_FLOW_CURSOR_END and later calls
 * return 0. Flows created or removed during a walk may or may not be seen;
 * every flow present for the whole walk is seen exactly once.
 */
#define LC_FLOW_CURSOR_START 0u
#define LC_FLOW_CURSOR_END UINT32_MAX
unsigned lc_flow_iterate(const struct lc_flow_table *tbl, uint32_t *cursor,
			 unsigned budget, struct lc_flow *flows[], unsigned n);

/* Number of slots: flow ids are below it. At least the capacity. */
uint32_t lc_flow_table_slots(const struct lc_flow_table *tbl);

/* Bytes the table took from the DPDK heap at creation, hash included. */
size_t lc_flow_table_memory(const struct lc_flow_table *tbl);

void lc_flow_counters_get(const struct lc_flow_table *tbl,
			  struct lc_flow_counters *c);

/* Idle time after which a flow in this state (and protocol) expires, in hz. */
uint64_t lc_flow_timeout(const struct lc_flow_table *tbl,
			 const struct lc_flow *flow);

/* Short stable name of a state, as listed by `flows`: "established", ... */
const char *lc_flow_state_name(enum lc_flow_state state);

#ifdef __cplusplus
}
#endif

#endif /* LC_FLOW_H */
