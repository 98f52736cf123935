/* SPDX-License-Identifier: MIT */
/*
 * The wire's insides, shared by the fast path (worker.c), the command
 * executor (exec.c) and the control side (control.c). Nothing outside
 * lib/wire includes this.
 */
#ifndef LC_WIRE_PRIV_H
#define LC_WIRE_PRIV_H

#include <rte_common.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "lc_call.h"
#include "lc_wire.h"

/* Commands from the control thread to the worker. */
enum wire_op {
	WIRE_OP_NOP = 0,
	WIRE_OP_SET_MODE,
	WIRE_OP_FLOW_COUNTERS, /* copy the flow table's counters */
	WIRE_OP_FLOW_LIST,     /* copy a bounded step of the flow table */
	WIRE_OP_USER_SET,      /* a live user's limits */
	WIRE_OP_USER_DEL,      /* a user id stops counting; its flows go */
	WIRE_OP_USERS_GONE,    /* retired ids: deleted, and free of flows yet? */
	WIRE_OP_ASSIGN,        /* a batch of users and assignments */
	WIRE_OP_ASSIGN_COUNTERS,
	WIRE_OP_STATE,         /* present, disabled or absent */
	WIRE_OP_RX,            /* start or stop receiving */
	WIRE_OP_SHAPER_STATS,
	WIRE_OP_PLAN_SET,      /* a plan's totals */
	WIRE_OP_PLAN_INFO,
};

/* Retired ids one USERS_GONE command looks at: a bounded step. */
#define WIRE_GONE_STEP 1024

/*
 * A command: its own object from the wire's pool, handed over by the ring
 * and freed by whoever lib/call says (the caller once answered, the worker
 * if cancelled). The buffers it points to belong to a caller that waits
 * for it; a cancelled command never runs, so never touches them.
 */
struct wire_cmd {
	struct lc_call call;
	uint32_t op;      /* enum wire_op */
	int32_t result;   /* 0 or -errno, set by the worker */
	union {
		uint32_t mode;                  /* SET_MODE */
		uint32_t state;                 /* STATE */
		bool rx;                        /* RX */
		struct {
			uint32_t cursor;
			uint32_t max;
			struct lc_wire_flow_info *out;
		} flow_list;
		struct {
			uint32_t id;
			struct lc_wire_limits limits;
		} user;                         /* USER_SET, USER_DEL */
		struct {
			uint32_t n;
			const uint32_t *ids;
			bool *gone;
		} gone;
		struct {
			uint32_t n;
			struct lc_wire_assignment *list;
		} assign;
		struct {
			uint32_t id;
			uint64_t total[LC_FLOW_DIRS];
			uint32_t weight;        /* PLAN_SET */
		} plan;                         /* PLAN_SET, PLAN_INFO */
	} req;
	union {
		struct lc_wire_switch set_mode;
		uint32_t old_state;
		struct lc_flow_counters flow_counters;
		struct {
			uint32_t cursor;     /* LC_FLOW_CURSOR_END when done */
			uint32_t n;          /* entries written to out[] */
			uint64_t now;        /* the worker's clock, for ages */
		} flow_list;
		struct lc_assign_counters assign_counters;
		struct lc_shaper_stats shaper[LC_FLOW_DIRS];
		struct lc_shaper_plan_info plan[LC_FLOW_DIRS];
	} resp;
};

/*
 * What a worker hands to the worker that owns a frame's user: the frame,
 * its user's pipe, and its flow for flow queuing (slot + 1) with the side
 * it came in on in the top bit.
 */
struct wire_handoff {
	struct rte_mbuf *m;
	uint32_t pipe;
	uint32_t fq_side;
};
#define HANDOFF_SIDE_BIT (1u << 31)
/* Frames each ring between two workers holds. */
#define HANDOFF_RING_SIZE 4096

/*
 * One worker: its lcore runs wire_worker_loop() on it. p is the wire's
 * parameters with flows, assign and shaper[] of this worker.
 */
struct wire_worker {
	/* Read-mostly: set at create. */
	struct lc_wire_params p;
	struct rte_ring *cmd_ring;
	struct rte_mempool *cmd_pool;
	struct lc_wire *wire;
	uint16_t index;              /* this worker; also its RX and TX queue */
	uint16_t n;                  /* workers of the wire */
	/* The handoff rings: out[j] to worker j, in[j] from it (NULL: self). */
	struct rte_ring *out[LC_WIRE_WORKERS_MAX];
	struct rte_ring *in[LC_WIRE_WORKERS_MAX];
	/* The worker that shapes each user (users + 1 entries; NULL: n == 1). */
	uint8_t *owner;

	/* Owned by the worker; others read it with atomic loads. */
	uint32_t mode __rte_cache_aligned; /* enum lc_wire_mode */
	uint32_t state;          /* enum lc_state */
	bool rx_enabled;
	bool stop;
	uint64_t pause_until;        /* timer cycles; 0: none (lc_wire_pause) */
	struct lc_worker_user *users; /* from p.assign; NULL without users */
	uint32_t engine;             /* enum lc_shaper_engine of the shapers */
	struct lc_shaper_meters *meters[LC_FLOW_DIRS]; /* of the shapers */
	uint32_t drop_cursor[LC_FLOW_DIRS];
	uint32_t upkeep_tick;

	struct lc_wire_port_stats port_stats[LC_SIDE_MAX] __rte_cache_aligned;
	struct lc_wire_loop_stats loop __rte_cache_aligned;
};

/* The wire: its workers, which the control thread calls in turn. */
struct lc_wire {
	struct lc_wire_params p;
	uint16_t n;
	struct wire_worker *wk[LC_WIRE_WORKERS_MAX];
};

/*
 * Counters have one writer, the worker. A relaxed atomic store of the new
 * value is a plain store on x86, and it lets the control thread read a
 * counter while it changes without a data race.
 */
static inline void
cnt_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

static inline uint64_t
cnt_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* The fast path, in bursts of at most: */
#define WIRE_MAX_BURST 256

/* Run the commands waiting in the ring (exec.c); returns how many were taken. */
unsigned int wire_drain_commands(struct wire_worker *w);

/* The worker that shapes a user in a plan (1..), or of none (plan 0). */
static inline uint8_t
wire_owner(uint16_t n, uint32_t id, uint32_t plan)
{
	return (uint8_t)(plan != 0 ? (plan - 1) % n : id % n);
}

#endif /* LC_WIRE_PRIV_H */
