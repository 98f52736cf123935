/* SPDX-License-Identifier: MIT */
/*
 * The wire: two DPDK ports paired as a transparent bump in the wire.
 *
 * linecapd creates one struct lc_wire at start. Its worker function runs on a
 * worker lcore and owns everything on the fast path: it receives bursts on
 * each port, processes them and transmits them on the other port, byte for
 * byte unchanged, or, in TAP mode, counts them and transmits nothing.
 *
 * The control thread never writes what the worker reads. It changes the
 * worker's state through the typed calls below (lc_wire_user_add(),
 * lc_wire_assign(), lc_wire_flows(), ...), each a command that the worker
 * runs between bursts, and it reads the worker's counters, which only the
 * worker writes, with relaxed atomic loads. Every call waits for the worker
 * at most LC_WIRE_CALL_TIMEOUT_MS; one that times out was never run, and
 * nothing it pointed to is touched afterwards (lib/call).
 *
 * The files: worker.c is the fast path, exec.c runs commands on the worker,
 * control.c is what the control thread calls. None of them knows JSON,
 * the management protocol or the config file.
 */
#ifndef LC_WIRE_H
#define LC_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>

#include "lc_assign.h"
#include "lc_flow.h"
#include "lc_parse.h"
#include "lc_shaper.h"

/* What the wire does with what it receives ([wire] mode, the 'mode' command). */
enum lc_wire_mode {
	LC_WIRE_INLINE = 0,  /* a bump in the wire: forward, shape */
	LC_WIRE_TAP = 1,     /* a mirror copy: count, transmit nothing */
};

/* The two sides of the wire. Upload enters on the client side. */
enum lc_side {
	LC_SIDE_CLIENT = 0,
	LC_SIDE_SERVER = 1,
	LC_SIDE_MAX
};

/* Why a received frame was not transmitted. */
enum lc_drop_reason {
	LC_DROP_TX_FULL = 0,  /* the peer port's TX queue stayed full */
	LC_DROP_INVALID_FLOW, /* TCP of an unknown flow, permit_invalid_flow = no */
	LC_DROP_SHAPER,       /* a user's queue was full, or its AQM refused it */
	LC_DROP_POLICE,       /* above a user's rate, with the police engine */
	LC_DROP_OVERSIZE,     /* longer than [wire] mtu: never transmitted */
	LC_DROP_HANDOFF_FULL, /* the ring to the worker of its user was full */
	LC_DROP_REASON_MAX
};

/* Counters of one port. Written only by the worker. */
struct lc_wire_port_stats {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t tx_packets;  /* frames transmitted on this port */
	uint64_t tx_bytes;
	uint64_t tap_packets; /* frames received in TAP mode, not transmitted */
	uint64_t drops[LC_DROP_REASON_MAX];  /* frames received on this port */
	uint64_t parse[LC_PARSE_REASON_MAX]; /* frames received, by parse reason */
	uint64_t fragments;   /* IP fragments without ports: no flow */
	uint64_t untracked;   /* IP frames of no flow: other protocols, ICMP errors */
	uint64_t handed_off;  /* frames handed to their user's worker */
};

/* Worker loop accounting, in TSC cycles. */
struct lc_wire_loop_stats {
	uint64_t iterations;
	uint64_t busy_iterations;
	uint64_t busy_cycles;  /* cycles of iterations that moved frames */
	uint64_t packets;      /* frames handled in those iterations */
	uint64_t commands;
	uint64_t commands_cancelled; /* timed out before the worker took them */
};

/*
 * [wire] mtu is the longest untagged L2 frame without FCS; the ports take
 * frames up to two VLAN tags longer, as a QinQ wire adds them.
 */
#define LC_WIRE_TAG_SLACK 8

/* Workers a wire runs at most ([wire] workers). */
#define LC_WIRE_WORKERS_MAX 16

/* What one worker owns: its flow table, its users and its two shapers. */
struct lc_wire_part {
	struct lc_flow_table *flows;
	struct lc_assign *assign;
	struct lc_shaper *shaper[LC_FLOW_DIRS];
};

struct lc_wire_params {
	uint16_t port[LC_SIDE_MAX]; /* DPDK port ids */
	enum lc_wire_mode mode;
	enum lc_vlan_mode vlan_mode;
	uint16_t burst;
	uint16_t tx_retries;
	/*
	 * The longest frame the wire carries ([wire] mtu, the L2 frame without
	 * FCS). A longer one, whatever the device let in, is dropped and
	 * counted, never transmitted.
	 */
	uint32_t max_frame;
	uint32_t idle_sleep_us;
	int socket_id;
	/*
	 * The flow table, which the worker owns from launch on; NULL runs a
	 * plain wire with no sessions.
	 */
	struct lc_flow_table *flows;
	/* Users and assignments, owned by the worker too; NULL: none. */
	struct lc_assign *assign;
	/* false: the worker starts without receiving, until lc_wire_set_rx(). */
	bool rx_enabled;
	/*
	 * The shapers by direction: [LC_FLOW_DIR_UP] on the egress of the
	 * server port, [LC_FLOW_DIR_DOWN] on the client port's; NULL: none.
	 * Owned by the worker too. A new user's pipes get default_rate.
	 */
	struct lc_shaper *shaper[LC_FLOW_DIRS];
	uint64_t default_rate[LC_FLOW_DIRS];
	/*
	 * Whether the traffic of no user is limited ([shaper] unassigned_up/
	 * down): when it is not, it skips the scheduler, as non-IP frames do.
	 */
	bool shape_unassigned[LC_FLOW_DIRS];
	uint32_t users;          /* user ids 1..users */
	/* How long a call waits for the worker; 0: LC_WIRE_CALL_TIMEOUT_MS. */
	uint32_t call_timeout_ms;
	/*
	 * Workers (0 is 1). Worker i receives on RX queue i of each port and
	 * transmits on TX queue i; flows, assign and shaper above are worker
	 * 0's, more[i - 1] worker i's, each as complete as worker 0's (or all
	 * NULL alike). Each worker classifies what it receives and hands a
	 * frame to be shaped to the worker that owns its user: the user's
	 * plan's (plan p on worker (p - 1) mod workers), else its id's (id mod
	 * workers), so that every user and every plan is shaped in one place.
	 */
	uint16_t workers;
	struct lc_wire_part more[LC_WIRE_WORKERS_MAX - 1];
};

/* The shaping state ('state' command). */
enum lc_state {
	LC_STATE_PRESENT = 0,  /* shaping on */
	LC_STATE_DISABLED,     /* kill switch: forward everything unshaped */
	LC_STATE_ABSENT,       /* no users, no assignments, forward unshaped */
};

/* A user's limits on the worker: bit/s and bytes by direction; 0: default. */
struct lc_wire_limits {
	uint64_t rate[LC_FLOW_DIRS];
	uint32_t burst[LC_FLOW_DIRS];
	uint32_t plan;                 /* the user's plan, 1..plans; 0: none */
};

/* One entry of a batch for lc_wire_assign(), applied in order. */
enum lc_wire_assign_op {
	LC_WIRE_ASSIGN_ENDPOINT = 0,
	LC_WIRE_ASSIGN_IP,
	LC_WIRE_UNASSIGN_ENDPOINT,
	LC_WIRE_UNASSIGN_IP,
	LC_WIRE_USER_ADD,      /* user comes to life with `limits` */
};

struct lc_wire_assignment {
	uint8_t op;        /* enum lc_wire_assign_op */
	uint8_t result;    /* enum lc_assign_result, set by the worker */
	uint16_t port;
	int32_t err;       /* 0 or -errno, set by the worker */
	uint32_t user;
	uint8_t addr[16];
	/*
	 * The server endpoint of an endpoint (un)assignment, when server_port
	 * is not 0: only the flow between the two endpoints is meant.
	 */
	uint8_t server[16];
	uint16_t server_port;
	uint8_t node;      /* the node an assignment came through; 0: none */
	struct lc_wire_limits limits; /* LC_WIRE_USER_ADD */
};

/* One flow as listed: a copy, so the control thread owns it. */
struct lc_wire_flow_info {
	struct lc_flow_key key;
	struct lc_flow flow;
};

struct lc_wire;

/*
 * Create the wire over two started ports. NULL with rte_errno set on failure.
 */
struct lc_wire *lc_wire_create(const struct lc_wire_params *params);
void lc_wire_free(struct lc_wire *wire);

/*
 * Configure and start one port so that no offload alters a frame: no VLAN
 * stripping or insertion, CRC kept off the wire as received, promiscuous, and
 * frames up to mtu bytes (multi-segment when the device supports it), with
 * `queues` RX and TX queues (one per worker; more than one hashes
 * symmetrically by RSS where the device has it).
 * Returns 0 or -errno.
 */
int lc_wire_port_init(uint16_t port, struct rte_mempool *pool, uint32_t mtu,
		      uint16_t rx_desc, uint16_t tx_desc, uint16_t queues);

/*
 * Create the packet pool: mbufs large enough for mtu-byte frames in one
 * segment unless both ports can scatter, in which case standard 2 KiB
 * segments are chained. Without hugepages, and where IOVAs are virtual
 * addresses, the mbufs are in memory the kernel may back with transparent
 * huge pages (lc_wire_pool_thp_bytes()). Its handler is DPDK's stack unless
 * the EAL was given --mbuf-pool-ops-name (lc_wire_pool_ops()).
 */
struct rte_mempool *lc_wire_pool_create(const uint16_t port[LC_SIDE_MAX],
					uint32_t mtu, uint32_t n, int socket_id);

/* The name of a pool's handler (mempool ops): "stack", "ring_mp_mc"... */
const char *lc_wire_pool_ops(const struct rte_mempool *mp);

/*
 * Bytes of a packet pool's mbufs in memory of the process's own, outside
 * the EAL heap: without hugepages, lc_wire_pool_create() puts them there,
 * in transparent huge pages where the kernel gives them (0: in the heap).
 */
size_t lc_wire_pool_thp_bytes(struct rte_mempool *mp);

/*
 * A worker's lcore function: loops until lc_wire_stop(). arg is
 * lc_wire_worker(wire, i); each worker runs on its own lcore.
 */
int lc_wire_worker_main(void *arg);
void *lc_wire_worker(struct lc_wire *wire, unsigned int i);
/* The workers of the wire. */
unsigned int lc_wire_workers(const struct lc_wire *wire);

/*
 * One iteration of the worker loop: a burst from each port, the shapers'
 * dequeues, then pending commands. Returns the number of frames it moved:
 * received, and let out of the shapers (0: an idle iteration). Unit tests
 * call it on the main thread instead of launching the worker; with more
 * than one worker it runs one iteration of each in turn.
 */
unsigned int lc_wire_poll(struct lc_wire *wire);

/* Ask the worker to leave its loop after the current iteration. */
void lc_wire_stop(struct lc_wire *wire);

/*
 * For tests: the worker stops polling for ms milliseconds from its next
 * iteration, as a worker that lost its CPU or was stopped would. linecapd
 * offers it as `debug pause-worker MS` only with --test-hooks.
 */
void lc_wire_pause(struct lc_wire *wire, unsigned int ms);

/*
 * Calls to the worker, from the control thread (one caller at a time).
 * Each returns 0 or -errno: -ETIMEDOUT when the worker did not take the
 * command within the call timeout (then nothing of it was applied),
 * -ENOBUFS when too many commands are outstanding, -ENOTSUP when the wire
 * runs without what the command needs (flows, users, shapers).
 *
 * With several workers every call goes to every worker at once and their
 * answers are merged: counters add up, the first error is returned. A
 * worker that times out leaves the others' part applied: the call then
 * returns -ETIMEDOUT as with one worker, and the caller's retry (or the
 * retired-ids step, lc_wire_users_gone()) makes them agree again.
 */
#define LC_WIRE_CALL_TIMEOUT_MS 1000 /* what every call waits for the worker */

/* A round trip through the worker: does it answer? */
int lc_wire_ping(struct lc_wire *wire);

/* What the worker's counters read at the moment a mode took effect. */
struct lc_wire_switch {
	uint32_t old_mode;
	uint64_t rx_packets[LC_SIDE_MAX]; /* of each port, exactly */
};

/* Switch between inline and TAP (enum lc_wire_mode), between bursts. */
int lc_wire_set_mode(struct lc_wire *wire, enum lc_wire_mode mode,
		     struct lc_wire_switch *was);

/* The shaping state; *old (if old) gets the previous one. */
int lc_wire_set_state(struct lc_wire *wire, enum lc_state state, enum lc_state *old);

/* Start or stop receiving. */
int lc_wire_set_rx(struct lc_wire *wire, bool enabled);

int lc_wire_flow_counters(struct lc_wire *wire, struct lc_flow_counters *out);
int lc_wire_assign_counters(struct lc_wire *wire, struct lc_assign_counters *out);
int lc_wire_shaper_stats(struct lc_wire *wire, struct lc_shaper_stats out[LC_FLOW_DIRS]);

/*
 * A bounded step of the flow table: up to max flows from *cursor
 * (LC_FLOW_CURSOR_START to begin) into out, *cursor moved on
 * (LC_FLOW_CURSOR_END at the end), and the worker's clock in *now (TSC)
 * for the flows' ages. Returns the number of flows written, or -errno.
 */
int lc_wire_flows(struct lc_wire *wire, uint32_t *cursor,
		  struct lc_wire_flow_info *out, uint32_t max, uint64_t *now);

/*
 * Users on the worker. A user comes to life with its limits, both
 * directions or neither (-ENOSPC: a shaper has no room for another
 * profile; -EINVAL: a rate or burst a shaper cannot take); -EEXIST for a
 * live id.
 */
int lc_wire_user_add(struct lc_wire *wire, uint32_t id, const struct lc_wire_limits *l);
/* New limits for a live user (-EINVAL if it is not), both directions or neither. */
int lc_wire_user_set(struct lc_wire *wire, uint32_t id, const struct lc_wire_limits *l);
/* The user stops counting and its flows lose it (and leaves its plan). */
int lc_wire_user_del(struct lc_wire *wire, uint32_t id);

/*
 * A plan's totals (bit/s by direction, 0: none) and weight (1..
 * LC_SHAPER_WEIGHT_MAX, lc_shaper_set_plan_weight()) on both shapers, or on
 * neither: 0, -EINVAL, -ENOSPC (lc_shaper_set_plan()). A user joins a plan
 * with its limits (lc_wire_limits.plan: lc_wire_user_add(),
 * lc_wire_user_set(), which then also return -ENOBUFS when the plan is
 * full).
 */
int lc_wire_plan_set(struct lc_wire *wire, uint32_t plan,
		     const uint64_t total[LC_FLOW_DIRS], uint32_t weight);
/* A plan's total and users by direction (lc_shaper_plan_info()). */
int lc_wire_plan_info(struct lc_wire *wire, uint32_t plan,
		      struct lc_shaper_plan_info out[LC_FLOW_DIRS]);
/*
 * For n retired ids: delete each (a delete that never ran is done now),
 * and tell in gone[i] whether no flow refers to it any more, so the id may
 * be given out again. gone[i] is false for what the worker did not answer.
 */
int lc_wire_users_gone(struct lc_wire *wire, const uint32_t *ids, uint32_t n,
		       bool *gone);

/*
 * A batch of n entries, applied in order in one step of the worker: users
 * that come to life and their assignments, or unassignments. Each entry
 * gets its own result and err; the call's return tells whether the batch
 * ran at all.
 */
int lc_wire_assign(struct lc_wire *wire, struct lc_wire_assignment *list, uint32_t n);

/*
 * Snapshot of the counters, safe to call while the workers run: the sum
 * over the workers, or (the _of forms) one worker's.
 */
void lc_wire_get_port_stats(const struct lc_wire *wire, enum lc_side side,
			    struct lc_wire_port_stats *stats);
void lc_wire_get_loop_stats(const struct lc_wire *wire,
			    struct lc_wire_loop_stats *stats);
void lc_wire_get_port_stats_of(const struct lc_wire *wire, unsigned int worker,
			       enum lc_side side, struct lc_wire_port_stats *stats);
void lc_wire_get_loop_stats_of(const struct lc_wire *wire, unsigned int worker,
			       struct lc_wire_loop_stats *stats);
enum lc_wire_mode lc_wire_mode(const struct lc_wire *wire);
enum lc_state lc_wire_state(const struct lc_wire *wire);
uint16_t lc_wire_port_id(const struct lc_wire *wire, enum lc_side side);

const char *lc_side_name(enum lc_side side);
const char *lc_drop_reason_name(enum lc_drop_reason reason);

/* Names as operators write them; NULL past the last value. */
const char *lc_wire_mode_name(enum lc_wire_mode mode);
const char *lc_state_name(enum lc_state state);

#endif /* LC_WIRE_H */
