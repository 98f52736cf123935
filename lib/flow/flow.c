/* SPDX-License-Identifier: MIT */
/*
 * Flow table on rte_hash. The hash maps a key to a position, and the position
 * is the index of the flow in a preallocated array, so the hash stores no data
 * pointer and a flow never moves. The table has a single owner, so the hash
 * is created without any concurrency flag; RTE_HASH_EXTRA_FLAGS_EXT_TABLE
 * lets inserts succeed until exactly `capacity` flows are present, instead of
 * failing early when a cuckoo path cannot be found.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_prefetch.h>

#include "lc_flow.h"
#include "lc_hash.h"

_Static_assert(sizeof(struct lc_flow) == 64, "a flow is one cache line");

/* TCP flag bits, as in the TCP header's flags byte. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/*
 * rte_hash names its rings "HT_<name>" and "HT_EXT_<name>" and their
 * memzones "RG_HT_EXT_<name>", which must fit RTE_MEMZONE_NAMESIZE.
 */
#define NAME_MAX_LEN 18

/* Any constant works; the hash is per process and never persisted. */
#define HASH_SEED 0x6c63666cu


struct lc_flow_table {
	struct rte_hash *hash;
	struct rte_hash *client_hash;  /* NULL without params.client_index */
	uint32_t *client_head;         /* first flow id + 1, by client position */
	struct lc_flow *flows;       /* slots entries, indexed by position */
	uint32_t slots;
	uint32_t age_next;           /* the slot lc_flow_age() examines next */
	bool permit_invalid_flow;
	uint64_t timeout[LC_FLOW_STATE_MAX]; /* in hz; ACTIVE is UDP's */
	uint64_t icmp_timeout;
	lc_flow_expire_fn expire;
	void *expire_arg;
	size_t memory;
	struct lc_flow_counters ctr;
} __rte_cache_aligned;

static const char *const state_names[LC_FLOW_STATE_MAX] = {
	[LC_FLOW_STATE_FREE] = "free",
	[LC_FLOW_STATE_SYN_SENT] = "syn_sent",
	[LC_FLOW_STATE_SYN_RECV] = "syn_recv",
	[LC_FLOW_STATE_ESTABLISHED] = "established",
	[LC_FLOW_STATE_FIN_WAIT] = "fin_wait",
	[LC_FLOW_STATE_CLOSING] = "closing",
	[LC_FLOW_STATE_CLOSED] = "closed",
	[LC_FLOW_STATE_ACTIVE] = "active",
};

const char *
lc_flow_state_name(enum lc_flow_state state)
{
	if ((unsigned)state >= LC_FLOW_STATE_MAX)
		return "unknown";
	return state_names[state];
}

/* Bytes allocated in every DPDK heap, to measure what creation took. */
static size_t
heap_allocated(void)
{
	struct rte_malloc_socket_stats st;
	size_t total = 0;
	unsigned i;

	for (i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i),
						&st) == 0)
			total += st.heap_allocsz_bytes;
	return total;
}

/* Seconds to units of hz, 0 meaning the default. False on overflow. */
static bool
timeout_hz(uint32_t seconds, uint32_t def, uint64_t hz, uint64_t *out)
{
	uint64_t s = seconds != 0 ? seconds : def;

	if (s > UINT64_MAX / hz / 2)
		return false;
	*out = s * hz;
	return true;
}

struct lc_flow_table *
lc_flow_table_create(const struct lc_flow_params *p)
{
	struct rte_hash_parameters hp;
	struct lc_flow_table *tbl;
	uint64_t tcp, closing, syn, udp, icmp;
	size_t heap_before;
	size_t len;
	int err;

	if (p == NULL || p->name == NULL || p->hz == 0 ||
	    p->capacity < 8 || p->capacity > RTE_HASH_ENTRIES_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	len = strlen(p->name);
	if (len == 0 || len > NAME_MAX_LEN) {
		rte_errno = len == 0 ? EINVAL : ENAMETOOLONG;
		return NULL;
	}
	if (!timeout_hz(p->tcp_timeout, LC_FLOW_DEFAULT_TCP_TIMEOUT, p->hz,
			&tcp) ||
	    !timeout_hz(p->tcp_closing_timeout,
			LC_FLOW_DEFAULT_TCP_CLOSING_TIMEOUT, p->hz, &closing) ||
	    !timeout_hz(p->tcp_syn_timeout, LC_FLOW_DEFAULT_TCP_SYN_TIMEOUT,
			p->hz, &syn) ||
	    !timeout_hz(p->udp_timeout, LC_FLOW_DEFAULT_UDP_TIMEOUT, p->hz,
			&udp) ||
	    !timeout_hz(p->icmp_timeout, LC_FLOW_DEFAULT_ICMP_TIMEOUT, p->hz,
			&icmp)) {
		rte_errno = EINVAL;
		return NULL;
	}

	/* rte_hash would find the clash only after logging failures. */
	if (rte_hash_find_existing(p->name) != NULL) {
		rte_errno = EEXIST;
		return NULL;
	}

	heap_before = heap_allocated();
	tbl = rte_zmalloc_socket("lc_flow_table", sizeof(*tbl),
				 RTE_CACHE_LINE_SIZE, p->socket_id);
	if (tbl == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}

	memset(&hp, 0, sizeof(hp));
	hp.name = p->name;
	hp.entries = p->capacity;
	hp.key_len = sizeof(struct lc_flow_key);
	hp.hash_func = lc_hash_crc; /* any key alignment */
	hp.hash_func_init_val = HASH_SEED;
	hp.socket_id = p->socket_id;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	tbl->hash = rte_hash_create(&hp);
	if (tbl->hash == NULL) {
		err = rte_errno != 0 ? rte_errno : ENOMEM;
		goto fail;
	}

	/* Positions run from 0 to rte_hash_max_key_id() - 1, which is the
	 * capacity when no per-lcore slot cache is used. */
	tbl->slots = (uint32_t)rte_hash_max_key_id(tbl->hash);
	if (tbl->slots < p->capacity) {
		err = EINVAL;
		goto fail;
	}
	tbl->flows = rte_zmalloc_socket("lc_flow", (size_t)tbl->slots *
					sizeof(struct lc_flow),
					RTE_CACHE_LINE_SIZE, p->socket_id);
	if (tbl->flows == NULL) {
		err = ENOMEM;
		goto fail;
	}
	/* rte_zmalloc skips zeroing memory it knows is clean, which without
	 * hugepages leaves pages to be faulted in on the fast path. */
	memset(tbl->flows, 0, (size_t)tbl->slots * sizeof(struct lc_flow));

	if (p->client_index) {
		char cname[RTE_HASH_NAMESIZE];

		/* Distinct endpoints are never more than flows. */
		snprintf(cname, sizeof(cname), "c_%s", p->name);
		hp.name = cname;
		hp.key_len = sizeof(struct lc_flow_endpoint);
		tbl->client_hash = rte_hash_create(&hp);
		if (tbl->client_hash == NULL) {
			err = rte_errno != 0 ? rte_errno : ENOMEM;
			goto fail;
		}
		tbl->client_head = rte_zmalloc_socket(
			"lc_flow_client", (size_t)rte_hash_max_key_id(
				tbl->client_hash) * sizeof(uint32_t),
			RTE_CACHE_LINE_SIZE, p->socket_id);
		if (tbl->client_head == NULL) {
			err = ENOMEM;
			goto fail;
		}
	}

	tbl->permit_invalid_flow = p->permit_invalid_flow;
	tbl->timeout[LC_FLOW_STATE_FREE] = 0;
	tbl->timeout[LC_FLOW_STATE_SYN_SENT] = syn;
	tbl->timeout[LC_FLOW_STATE_SYN_RECV] = syn;
	tbl->timeout[LC_FLOW_STATE_ESTABLISHED] = tcp;
	tbl->timeout[LC_FLOW_STATE_FIN_WAIT] = closing;
	tbl->timeout[LC_FLOW_STATE_CLOSING] = closing;
	tbl->timeout[LC_FLOW_STATE_CLOSED] = closing;
	tbl->timeout[LC_FLOW_STATE_ACTIVE] = udp;
	tbl->icmp_timeout = icmp;
	tbl->expire = p->expire;
	tbl->expire_arg = p->expire_arg;
	tbl->memory = heap_allocated() - heap_before;
	return tbl;

fail:
	rte_free(tbl->client_head);
	rte_hash_free(tbl->client_hash);
	rte_free(tbl->flows);
	rte_hash_free(tbl->hash);
	rte_free(tbl);
	rte_errno = err;
	return NULL;
}

void
lc_flow_table_free(struct lc_flow_table *tbl)
{
	if (tbl == NULL)
		return;
	rte_free(tbl->client_head);
	rte_hash_free(tbl->client_hash);
	rte_hash_free(tbl->hash);
	rte_free(tbl->flows);
	rte_free(tbl);
}

static inline hash_sig_t
key_hash(const struct lc_flow_key *key)
{
	/* Inlined instead of rte_hash_hash()'s call through a pointer; the
	 * hash was created with the same function and seed. */
	return lc_hash_crc(key, sizeof(*key), HASH_SEED);
}

uint64_t
lc_flow_timeout(const struct lc_flow_table *tbl, const struct lc_flow *flow)
{
	if (flow->state == LC_FLOW_STATE_ACTIVE &&
	    (flow->l4_proto == IPPROTO_ICMP || flow->l4_proto == IPPROTO_ICMPV6))
		return tbl->icmp_timeout;
	if (flow->state >= LC_FLOW_STATE_MAX)
		return 0;
	return tbl->timeout[flow->state];
}

static inline uint8_t
fin_flag(enum lc_flow_dir dir)
{
	return dir == LC_FLOW_DIR_UP ? LC_FLOW_F_FIN_UP : LC_FLOW_F_FIN_DOWN;
}

static void
tcp_fin(struct lc_flow *f, enum lc_flow_dir dir)
{
	f->flags |= fin_flag(dir);
	if ((f->flags & (LC_FLOW_F_FIN_UP | LC_FLOW_F_FIN_DOWN)) ==
	    (LC_FLOW_F_FIN_UP | LC_FLOW_F_FIN_DOWN))
		f->state = LC_FLOW_STATE_CLOSING;
	else
		f->state = LC_FLOW_STATE_FIN_WAIT;
}

/*
 * The TCP state of a flow that is not new. The machine is lenient on
 * purpose: it exists to time out closed sessions quickly, never to drop
 * packets of a session it knows, and the box may see only part of a
 * handshake (it starts mid-stream, or a path is asymmetric).
 */
static void
tcp_update(struct lc_flow_table *tbl, struct lc_flow *f, uint8_t tf,
	   enum lc_flow_dir dir)
{
	enum lc_flow_dir orig = (f->flags & LC_FLOW_F_ORIG_DOWN) ?
					LC_FLOW_DIR_DOWN : LC_FLOW_DIR_UP;
	bool syn = tf & TCP_SYN, ack = tf & TCP_ACK;

	if (tf & TCP_RST) {
		f->state = LC_FLOW_STATE_CLOSED;
		return;
	}

	switch (f->state) {
	case LC_FLOW_STATE_SYN_SENT:
		/* A SYN from the other side is the SYN-ACK, or a
		 * simultaneous open. */
		if (syn && dir != orig)
			f->state = LC_FLOW_STATE_SYN_RECV;
		/* An ACK without a SYN: the SYN-ACK took another path. */
		else if (!syn && ack)
			f->state = LC_FLOW_STATE_ESTABLISHED;
		break;
	case LC_FLOW_STATE_SYN_RECV:
		if (!syn && ack)
			f->state = LC_FLOW_STATE_ESTABLISHED;
		break;
	case LC_FLOW_STATE_FIN_WAIT:
	case LC_FLOW_STATE_CLOSING:
	case LC_FLOW_STATE_CLOSED:
		/* A bare SYN after a close is a new connection that reuses
		 * the ports: start over, keeping the user binding. */
		if (syn && !ack) {
			f->state = LC_FLOW_STATE_SYN_SENT;
			f->flags &= (uint8_t)~(LC_FLOW_F_FIN_UP |
					       LC_FLOW_F_FIN_DOWN |
					       LC_FLOW_F_ORIG_DOWN);
			if (dir == LC_FLOW_DIR_DOWN)
				f->flags |= LC_FLOW_F_ORIG_DOWN;
			tbl->ctr.tcp_reopened++;
			return;
		}
		break;
	default:
		break;
	}

	if ((tf & TCP_FIN) && f->state != LC_FLOW_STATE_CLOSED)
		tcp_fin(f, dir);
}

/* Account one packet to a flow that is in the table. */
static inline void
flow_account(struct lc_flow_table *tbl, struct lc_flow *f,
	     const struct lc_parse_result *pr, enum lc_flow_dir dir,
	     uint32_t pkt_len, uint64_t now)
{
	f->last_seen = now;
	f->packets[dir]++;
	f->bytes[dir] += pkt_len;
	/* Most packets are plain ACKs of established sessions, which change
	 * nothing. */
	if (f->l4_proto == IPPROTO_TCP && pr != NULL &&
	    (f->state != LC_FLOW_STATE_ESTABLISHED ||
	     (pr->tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST)) != 0))
		tcp_update(tbl, f, pr->tcp_flags, dir);
}

/* The state and flags of a TCP flow opened by a packet with flags tf. */
static void
tcp_first(struct lc_flow *f, uint8_t tf, enum lc_flow_dir dir)
{
	enum lc_flow_dir other = dir == LC_FLOW_DIR_UP ? LC_FLOW_DIR_DOWN :
							 LC_FLOW_DIR_UP;
	enum lc_flow_dir orig = LC_FLOW_DIR_UP;

	if (tf & TCP_RST) {
		f->state = LC_FLOW_STATE_CLOSED;
	} else if ((tf & TCP_SYN) && !(tf & TCP_ACK)) {
		f->state = LC_FLOW_STATE_SYN_SENT;
		orig = dir;
	} else if (tf & TCP_SYN) {
		f->state = LC_FLOW_STATE_SYN_RECV;
		orig = other;
	} else if (tf & TCP_FIN) {
		f->state = LC_FLOW_STATE_ESTABLISHED;
		tcp_fin(f, dir);
	} else {
		/* Mid-stream data or ACK: the handshake happened before the
		 * box saw the flow. The client side is assumed to have
		 * opened it, as it does behind a VPN node. */
		f->state = LC_FLOW_STATE_ESTABLISHED;
	}
	if (orig == LC_FLOW_DIR_DOWN)
		f->flags |= LC_FLOW_F_ORIG_DOWN;
}

static inline bool
client_indexed(const struct lc_flow_table *tbl, uint8_t l4_proto)
{
	return tbl->client_hash != NULL &&
	       (l4_proto == IPPROTO_TCP || l4_proto == IPPROTO_UDP);
}

/* Put flow id at the head of its client endpoint's chain. */
static int
client_link(struct lc_flow_table *tbl, const struct lc_flow_key *key,
	    uint32_t id)
{
	struct lc_flow_endpoint ep;
	int32_t pos;

	lc_flow_endpoint_key(key->client, key->client_port, &ep);
	/* Returns the existing position when the endpoint is known. */
	pos = rte_hash_add_key(tbl->client_hash, &ep);
	if (pos < 0)
		return pos;
	tbl->flows[id].client_next = tbl->client_head[pos];
	tbl->client_head[pos] = id + 1;
	return 0;
}

/*
 * Take flow id out of its chain. Chains are short, one flow per endpoint
 * unless the client reaches several servers or VLANs from one port, so a
 * singly linked chain walked from its head is enough.
 */
static void
client_unlink(struct lc_flow_table *tbl, const struct lc_flow_key *key,
	      uint32_t id)
{
	struct lc_flow_endpoint ep;
	uint32_t *link;
	int32_t pos;

	lc_flow_endpoint_key(key->client, key->client_port, &ep);
	pos = rte_hash_lookup(tbl->client_hash, &ep);
	if (pos < 0)
		return;
	link = &tbl->client_head[pos];
	while (*link != 0 && *link != id + 1)
		link = &tbl->flows[*link - 1].client_next;
	if (*link == id + 1)
		*link = tbl->flows[id].client_next;
	if (tbl->client_head[pos] == 0)
		rte_hash_del_key(tbl->client_hash, &ep);
}

int
lc_flow_find_client(const struct lc_flow_table *tbl, const uint8_t addr[16],
		    uint16_t port, struct lc_flow *flows[], unsigned n)
{
	struct lc_flow_endpoint ep;
	unsigned got = 0;
	uint32_t next;
	int32_t pos;

	if (tbl->client_hash == NULL)
		return -ENOTSUP;
	lc_flow_endpoint_key(addr, port, &ep);
	pos = rte_hash_lookup(tbl->client_hash, &ep);
	if (pos < 0)
		return 0;
	for (next = tbl->client_head[pos]; next != 0 && got < n;
	     next = tbl->flows[next - 1].client_next)
		flows[got++] = &tbl->flows[next - 1];
	return (int)got;
}

static struct lc_flow *
flow_insert(struct lc_flow_table *tbl, const struct lc_flow_key *key,
	    hash_sig_t sig, const struct lc_parse_result *pr,
	    enum lc_flow_dir dir, uint32_t pkt_len, uint64_t now, int *status)
{
	uint8_t tf = pr != NULL ? pr->tcp_flags : 0;
	bool midstream = false;
	struct lc_flow *f;
	int32_t pos;

	if (key->l4_proto == IPPROTO_TCP &&
	    (tf & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) != TCP_SYN) {
		if (!tbl->permit_invalid_flow) {
			tbl->ctr.invalid_flow++;
			*status = LC_FLOW_INVALID;
			return NULL;
		}
		midstream = true;
	}

	pos = rte_hash_add_key_with_hash(tbl->hash, key, sig);
	if (unlikely(pos < 0 || (uint32_t)pos >= tbl->slots)) {
		/* -ENOSPC: every slot is taken. The packet goes on
		 * unassigned. */
		tbl->ctr.flow_table_full++;
		*status = LC_FLOW_TABLE_FULL;
		return NULL;
	}

	f = &tbl->flows[pos];
	memset(f, 0, sizeof(*f));
	if (client_indexed(tbl, key->l4_proto) &&
	    unlikely(client_link(tbl, key, (uint32_t)pos) != 0)) {
		/* Cannot happen with as many endpoint slots as flows; undo
		 * rather than keep a flow that assign could not find. */
		rte_hash_del_key_with_hash(tbl->hash, key, sig);
		tbl->ctr.flow_table_full++;
		*status = LC_FLOW_TABLE_FULL;
		return NULL;
	}
	f->l4_proto = key->l4_proto;
	f->hash_sig = sig;
	f->created = now;
	f->last_seen = now;
	f->packets[dir] = 1;
	f->bytes[dir] = pkt_len;
	if (key->l4_proto == IPPROTO_TCP)
		tcp_first(f, tf, dir);
	else
		f->state = LC_FLOW_STATE_ACTIVE;
	if (midstream) {
		f->flags |= LC_FLOW_F_MIDSTREAM;
		tbl->ctr.created_midstream++;
	}
	tbl->ctr.created++;
	tbl->ctr.active++;
	*status = LC_FLOW_CREATED;
	return f;
}

static inline struct lc_flow *
flow_find_or_insert(struct lc_flow_table *tbl, const struct lc_flow_key *key,
		    hash_sig_t sig, const struct lc_parse_result *pr,
		    enum lc_flow_dir dir, uint32_t pkt_len, uint64_t now,
		    int *status)
{
	int32_t pos = rte_hash_lookup_with_hash(tbl->hash, key, sig);
	struct lc_flow *f;

	if (likely(pos >= 0)) {
		f = &tbl->flows[pos];
		flow_account(tbl, f, pr, dir, pkt_len, now);
		*status = LC_FLOW_EXISTING;
		return f;
	}
	return flow_insert(tbl, key, sig, pr, dir, pkt_len, now, status);
}

struct lc_flow *
lc_flow_lookup_or_create(struct lc_flow_table *tbl,
			 const struct lc_flow_key *key,
			 const struct lc_parse_result *pr, enum lc_flow_dir dir,
			 uint32_t pkt_len, uint64_t now, int *status)
{
	return flow_find_or_insert(tbl, key, key_hash(key), pr, dir, pkt_len,
				   now, status);
}

unsigned
lc_flow_lookup_or_create_burst(struct lc_flow_table *tbl,
			       const struct lc_flow_key *const keys[],
			       const struct lc_parse_result *const prs[],
			       const uint32_t pkt_lens[], unsigned n,
			       enum lc_flow_dir dir, uint64_t now,
			       struct lc_flow *flows[], int status[])
{
	const void *kp[LC_FLOW_BURST_MAX];
	hash_sig_t sig[LC_FLOW_BURST_MAX];
	int32_t pos[LC_FLOW_BURST_MAX];
	unsigned base, i, m, found = 0;

	for (base = 0; base < n; base += m) {
		m = RTE_MIN(n - base, (unsigned)LC_FLOW_BURST_MAX);
		for (i = 0; i < m; i++) {
			kp[i] = keys[base + i];
			sig[i] = key_hash(keys[base + i]);
		}
		rte_hash_lookup_with_hash_bulk(tbl->hash, kp, sig, m, pos);

		/* Fetch every entry first so that the misses overlap. */
		for (i = 0; i < m; i++)
			if (pos[i] >= 0)
				rte_prefetch0(&tbl->flows[pos[i]]);

		for (i = 0; i < m; i++) {
			unsigned j = base + i;

			if (likely(pos[i] >= 0)) {
				flows[j] = &tbl->flows[pos[i]];
				flow_account(tbl, flows[j], prs[j], dir,
					     pkt_lens[j], now);
				status[j] = LC_FLOW_EXISTING;
			} else {
				/* Looks up again: an earlier packet of this
				 * burst may have created the flow. */
				flows[j] = flow_find_or_insert(tbl, keys[j],
							       sig[i], prs[j],
							       dir, pkt_lens[j],
							       now, &status[j]);
			}
			if (flows[j] != NULL)
				found++;
		}
	}
	return found;
}

struct lc_flow *
lc_flow_lookup(const struct lc_flow_table *tbl, const struct lc_flow_key *key)
{
	int32_t pos = rte_hash_lookup_with_hash(tbl->hash, key, key_hash(key));

	if (pos < 0 || (uint32_t)pos >= tbl->slots)
		return NULL;
	return &tbl->flows[pos];
}

uint32_t
lc_flow_id(const struct lc_flow_table *tbl, const struct lc_flow *flow)
{
	return (uint32_t)(flow - tbl->flows);
}

struct lc_flow *
lc_flow_get(const struct lc_flow_table *tbl, uint32_t id)
{
	if (id >= tbl->slots || tbl->flows[id].state == LC_FLOW_STATE_FREE)
		return NULL;
	return &tbl->flows[id];
}

/* True when flow points at a used slot of this table. */
static bool
flow_in_table(const struct lc_flow_table *tbl, const struct lc_flow *flow)
{
	return flow >= tbl->flows && flow < tbl->flows + tbl->slots &&
	       flow->state != LC_FLOW_STATE_FREE;
}

const struct lc_flow_key *
lc_flow_key(const struct lc_flow_table *tbl, const struct lc_flow *flow)
{
	void *key;

	if (!flow_in_table(tbl, flow) ||
	    rte_hash_get_key_with_position(tbl->hash,
					   (int32_t)lc_flow_id(tbl, flow),
					   &key) != 0)
		return NULL;
	return key;
}

void
lc_flow_set_user(struct lc_flow *flow, uint32_t user_id)
{
	/* The owner is the only writer; the atomic store only guarantees
	 * that a reader elsewhere (a statistics dump) never sees a torn
	 * id. */
	__atomic_store_n(&flow->user_id, user_id, __ATOMIC_RELAXED);
}

static void
flow_remove(struct lc_flow_table *tbl, struct lc_flow *f, bool expired)
{
	void *key = NULL;

	if (rte_hash_get_key_with_position(tbl->hash,
					   (int32_t)lc_flow_id(tbl, f),
					   &key) == 0) {
		if (expired && tbl->expire != NULL)
			tbl->expire(f, key, tbl->expire_arg);
		if (client_indexed(tbl, f->l4_proto))
			client_unlink(tbl, key, lc_flow_id(tbl, f));
		rte_hash_del_key_with_hash(tbl->hash, key, f->hash_sig);
	}
	memset(f, 0, sizeof(*f));
	tbl->ctr.active--;
}

int
lc_flow_delete(struct lc_flow_table *tbl, struct lc_flow *flow)
{
	if (!flow_in_table(tbl, flow))
		return -ENOENT;
	flow_remove(tbl, flow, false);
	tbl->ctr.deleted++;
	return 0;
}

unsigned
lc_flow_age(struct lc_flow_table *tbl, uint64_t now, unsigned budget)
{
	uint32_t i = tbl->age_next;
	unsigned removed = 0;

	if (budget > tbl->slots)
		budget = tbl->slots;
	for (; budget > 0; budget--) {
		struct lc_flow *f = &tbl->flows[i];

		/* Signed, so that a last_seen a little ahead of now (time
		 * taken before another call) is not a huge idle time. */
		if (f->state != LC_FLOW_STATE_FREE &&
		    (int64_t)(now - f->last_seen) >
			    (int64_t)lc_flow_timeout(tbl, f)) {
			flow_remove(tbl, f, true);
			removed++;
		}
		if (++i == tbl->slots)
			i = 0;
	}
	tbl->age_next = i;
	tbl->ctr.expired += removed;
	return removed;
}

unsigned
lc_flow_iterate(const struct lc_flow_table *tbl, uint32_t *cursor,
		unsigned budget, struct lc_flow *flows[], unsigned n)
{
	uint32_t i = *cursor;
	unsigned got = 0;

	if (i >= tbl->slots) {
		*cursor = LC_FLOW_CURSOR_END;
		return 0;
	}
	for (; budget > 0 && got < n && i < tbl->slots; budget--, i++)
		if (tbl->flows[i].state != LC_FLOW_STATE_FREE)
			flows[got++] = &tbl->flows[i];
	*cursor = i >= tbl->slots ? LC_FLOW_CURSOR_END : i;
	return got;
}

uint32_t
lc_flow_table_slots(const struct lc_flow_table *tbl)
{
	return tbl->slots;
}

size_t
lc_flow_table_memory(const struct lc_flow_table *tbl)
{
	return tbl->memory;
}

void
lc_flow_counters_get(const struct lc_flow_table *tbl,
		     struct lc_flow_counters *c)
{
	*c = tbl->ctr;
}
