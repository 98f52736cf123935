/* SPDX-License-Identifier: MIT */
/*
 * The wire: two DPDK ports paired as a transparent bump in the wire.
 *
 * linecapd creates one struct lc_wire at start. Its worker function runs on a
 * worker lcore and owns everything on the fast path: it receives bursts on
 * each port, processes them and transmits them on the other port, byte for
 * byte unchanged, or, in TAP mode, counts them and transmits nothing.
 *
 * The control thread never writes what the worker reads. It reaches the
 * worker through a command ring (lc_wire_call()), which the worker drains
 * between bursts, and it reads the worker's counters, which only the worker
 * writes, with relaxed atomic loads.
 */
#ifndef LC_WIRE_H
#define LC_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>

#include <jansson.h>

#include "lc_assign.h"
#include "lc_flow.h"
#include "lc_parse.h"
#include "lc_shaper.h"

struct lc_mgmt_table;

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

struct lc_wire_params {
	uint16_t port[LC_SIDE_MAX]; /* DPDK port ids */
	uint32_t mode;              /* enum lc_wire_mode (lib/conf) */
	uint32_t vlan_mode;
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
	/* false: the worker starts without receiving, until LC_WIRE_OP_RX. */
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
};

/* The shaping state ('state' command). */
enum lc_state {
	LC_STATE_PRESENT = 0,  /* shaping on */
	LC_STATE_DISABLED,     /* kill switch: forward everything unshaped */
	LC_STATE_ABSENT,       /* no users, no assignments, forward unshaped */
};

/* One assignment in a batch: LC_WIRE_OP_ASSIGN. */
enum lc_wire_assign_op {
	LC_WIRE_ASSIGN_ENDPOINT = 0,
	LC_WIRE_ASSIGN_IP,
	LC_WIRE_UNASSIGN_ENDPOINT,
	LC_WIRE_UNASSIGN_IP,
	LC_WIRE_USER_BORN,     /* a user id comes to life (user: the id) */
};

struct lc_wire_assignment {
	uint8_t op;        /* enum lc_wire_assign_op */
	uint8_t result;    /* enum lc_assign_result, set by the worker */
	uint16_t port;
	int32_t err;       /* 0 or -errno, set by the worker */
	uint32_t user;
	uint8_t addr[16];
};

/* Commands from the control thread to the worker. */
enum lc_wire_op {
	LC_WIRE_OP_NOP = 0,
	LC_WIRE_OP_SET_MODE,
	LC_WIRE_OP_FLOW_COUNTERS, /* copy the flow table's counters */
	LC_WIRE_OP_FLOW_LIST,     /* copy a bounded step of the flow table */
	LC_WIRE_OP_USER_ADD,      /* a user id comes to life */
	LC_WIRE_OP_USER_DEL,      /* a user id stops counting; its flows go */
	LC_WIRE_OP_USER_GONE,     /* a retired id: deleted, and free of flows yet? */
	LC_WIRE_OP_ASSIGN,        /* a batch of assignments */
	LC_WIRE_OP_ASSIGN_COUNTERS,
	LC_WIRE_OP_STATE,         /* present, disabled or absent */
	LC_WIRE_OP_RX,            /* start or stop receiving */
	LC_WIRE_OP_USER_RATES,    /* a user's rates and bursts */
	LC_WIRE_OP_SHAPER_STATS,
};

/* One flow as listed: a copy, so the control thread owns it. */
struct lc_wire_flow_info {
	struct lc_flow_key key;
	struct lc_flow flow;
};

struct lc_wire_cmd {
	uint32_t op;      /* enum lc_wire_op */
	int32_t result;   /* 0 or -errno, set by the worker */
	union {
		struct {
			uint32_t mode;
		} set_mode;
		struct {
			uint32_t cursor;     /* LC_FLOW_CURSOR_START to begin */
			uint32_t max;        /* room in out[] */
			struct lc_wire_flow_info *out;
		} flow_list;
		struct {
			uint32_t id;
			/* USER_ADD, USER_RATES: bit/s and bytes; 0 = default */
			uint64_t rate[LC_FLOW_DIRS];
			uint32_t burst[LC_FLOW_DIRS];
		} user;
		struct {
			uint32_t n;
			struct lc_wire_assignment *list;
		} assign;
		struct {
			uint32_t state;   /* enum lc_state */
		} state;
		struct {
			bool enabled;
		} rx;
	} req;
	union {
		struct {
			uint32_t old_mode;
			/* rx_packets of each port when the new mode took effect */
			uint64_t rx_packets[LC_SIDE_MAX];
		} set_mode;
		struct lc_flow_counters flow_counters;
		struct {
			uint32_t cursor;     /* LC_FLOW_CURSOR_END when done */
			uint32_t n;          /* entries written to out[] */
			uint64_t now;        /* the worker's clock, for ages */
		} flow_list;
		struct {
			bool gone;
		} user;
		struct lc_assign_counters assign_counters;
		struct {
			uint32_t old_state;
		} state;
		struct lc_shaper_stats shaper[LC_FLOW_DIRS];
	} resp;
	uint32_t state;   /* internal: who owns the command */
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
 * frames up to mtu bytes (multi-segment when the device supports it).
 * Returns 0 or -errno.
 */
int lc_wire_port_init(uint16_t port, struct rte_mempool *pool, uint32_t mtu,
		      uint16_t rx_desc, uint16_t tx_desc);

/*
 * Create the packet pool: mbufs large enough for mtu-byte frames in one
 * segment unless both ports can scatter, in which case standard 2 KiB
 * segments are chained.
 */
struct rte_mempool *lc_wire_pool_create(const uint16_t port[LC_SIDE_MAX],
					uint32_t mtu, uint32_t n, int socket_id);

/* The worker's lcore function: loops until lc_wire_stop(). arg is the wire. */
int lc_wire_worker_main(void *arg);

/*
 * One iteration of the worker loop: a burst from each port, then pending
 * commands. Returns the number of frames received. Unit tests call it on the
 * main thread instead of launching the worker.
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
 * Run a command on the worker and wait for it (at most timeout_ms). On
 * return, cmd holds the worker's result and response. Returns 0,
 * -ETIMEDOUT if the worker did not take the command in time, or -ENOBUFS.
 * A command that timed out is cancelled: the worker never executes it, so
 * buffers it points to may be freed at once and nothing of it was applied.
 * Once the worker has taken a command, the call waits for its answer.
 */
#define LC_WIRE_CALL_TIMEOUT_MS 1000 /* what every caller waits for the worker */
int lc_wire_call(struct lc_wire *wire, struct lc_wire_cmd *cmd,
		 unsigned int timeout_ms);

/* Snapshot of the counters, safe to call while the worker runs. */
void lc_wire_get_port_stats(const struct lc_wire *wire, enum lc_side side,
			    struct lc_wire_port_stats *stats);
void lc_wire_get_loop_stats(const struct lc_wire *wire,
			    struct lc_wire_loop_stats *stats);
uint32_t lc_wire_mode(const struct lc_wire *wire);
uint32_t lc_wire_state(const struct lc_wire *wire);
uint16_t lc_wire_port_id(const struct lc_wire *wire, enum lc_side side);

const char *lc_side_name(enum lc_side side);
const char *lc_drop_reason_name(enum lc_drop_reason reason);

/*
 * Fill the "ports", "worker", "shaper" and "flows" objects of a stats reply.
 * A section the worker did not answer for is named in "incomplete".
 */
void lc_wire_stats_json(struct lc_wire *wire, json_t *reply);

/*
 * Name a section missing from a reply: "incomplete": {SECTION: why}, why
 * from rc (-ETIMEDOUT: the worker did not answer in time).
 */
void lc_wire_reply_incomplete(json_t *reply, const char *section, int rc);

/*
 * How `flows` names a flow's user: a function from user id to email, set by
 * the daemon, which owns the user registry. Without it, ids are listed.
 */
typedef const char *(*lc_wire_user_name_fn)(void *arg, uint32_t user_id);
void lc_wire_set_user_name(struct lc_wire *wire, lc_wire_user_name_fn fn,
			   void *arg);

/* Register the wire's management commands ("mode", "flows"). */
int lc_wire_register_cmds(struct lc_wire *wire, struct lc_mgmt_table *table);

#endif /* LC_WIRE_H */
