/* SPDX-License-Identifier: MIT */
/*
 * The wire's insides, shared by the worker (worker.c) and the control side
 * of its commands (wire_cmds.c). Nothing outside lib/wire includes this.
 */
#ifndef LC_WIRE_PRIV_H
#define LC_WIRE_PRIV_H

#include <rte_common.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "lc_wire.h"

/*
 * A command's life. The caller enqueues it PENDING. The worker takes it by
 * moving it to RUNNING, executes it and stores DONE; the caller then copies
 * the answer and frees it. A caller that stops waiting moves it from PENDING
 * to CANCELLED, and the worker, finding it so, frees it unexecuted: a command
 * that timed out never runs, so nothing it points to is touched after its
 * caller returned, and a "did not answer" never hides an applied change. A
 * caller that finds it RUNNING waits for DONE: that is one bounded step.
 */
enum cmd_state {
	CMD_PENDING = 0,
	CMD_RUNNING,
	CMD_DONE,
	CMD_CANCELLED,
};

struct lc_wire {
	/* Read-mostly: set at create. */
	struct lc_wire_params p;
	struct rte_ring *cmd_ring;
	struct rte_mempool *cmd_pool;
	lc_wire_user_name_fn user_name; /* used by the control thread only */
	void *user_name_arg;

	/* Owned by the worker; others read it with atomic loads. */
	uint32_t mode __rte_cache_aligned;
	uint32_t state;          /* enum lc_state */
	bool rx_enabled;
	bool stop;
	uint64_t pause_until;        /* timer cycles; 0: none (lc_wire_pause) */
	struct lc_user_state *users; /* from p.assign; NULL without users */
	uint32_t engine;             /* enum lc_shaper_engine of the shapers */
	uint32_t drop_cursor[LC_FLOW_DIRS];
	uint32_t upkeep_tick;

	struct lc_wire_port_stats port_stats[LC_SIDE_MAX] __rte_cache_aligned;
	struct lc_wire_loop_stats loop __rte_cache_aligned;
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

#endif /* LC_WIRE_PRIV_H */
