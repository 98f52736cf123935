/* SPDX-License-Identifier: MIT */
/*
 * The shaper: per-user rate limits for one direction of the wire.
 *
 * linecapd makes two shapers: upload, scheduled on the egress of
 * server_port, and download, on the egress of client_port. Each one is owned
 * by the worker lcore, like the flow table: nothing here is thread-safe and
 * the control thread reaches it only through the worker's command ring.
 *
 * A pipe is a user: pipe N carries user id N (1..users), pipe 0
 * (LC_SHAPER_UNASSIGNED) the traffic of no user. Every pipe has a rate and a
 * burst, taken from a table of profiles shared by every pipe with the same
 * pair; the table is sized at create and never shrinks, because rte_sched
 * cannot delete a pipe profile.
 *
 * Two engines:
 * - LC_SHAPER_SCHED queues: one rte_sched port, one FIFO per pipe, drained
 *   at the pipe's rate, with optional AQM (PIE or RED) on each queue. The
 *   worker enqueues what it would transmit and transmits what it dequeues.
 *   With aqm none or pie, a limited pipe's frames wait in linecap's pacer
 *   until its token bucket lets them go, and only then enter rte_sched
 *   (shaper.c): the cost per frame does not grow with the number of users
 *   at their limits.
 * - LC_SHAPER_POLICE drops: an srTCM meter per pipe (rte_meter), no queue.
 *   The worker drops what lc_shaper_meter() colours red.
 * Both engines keep the meters, so that TAP mode can count what inline
 * shaping would drop whatever the engine.
 *
 * A rate counts Ethernet frame bytes as received (no FCS), plus
 * frame_overhead bytes per frame. docs/SHAPING.md explains the choices.
 */
#ifndef LC_SHAPER_H
#define LC_SHAPER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_meter.h>

enum lc_shaper_engine {
	LC_SHAPER_SCHED = 0,  /* rte_sched queues */
	LC_SHAPER_POLICE = 1, /* rte_meter, drop red */
};

enum lc_shaper_aqm {
	LC_SHAPER_AQM_NONE = 0, /* tail drop only */
	LC_SHAPER_AQM_PIE = 1,  /* linecap's own RFC 8033 PIE (rte_sched's is broken in 22.11) */
	LC_SHAPER_AQM_RED = 2,  /* rte_sched's RED */
};

/* The pipe of traffic that belongs to no user. */
#define LC_SHAPER_UNASSIGNED 0u

/* The largest frame linecap forwards, and the smallest burst it allows. */
#define LC_SHAPER_FRAME_MAX 9216u
#define LC_SHAPER_BURST_MIN (2u * LC_SHAPER_FRAME_MAX)
/* The default burst lasts this long at the rate. */
#define LC_SHAPER_BURST_MS 10u

#define LC_SHAPER_QUEUE_SIZE_DEFAULT 256u
#define LC_SHAPER_QUEUE_SIZE_MAX 32768u

/* Below this a rate is refused: bit/s. */
#define LC_SHAPER_RATE_MIN 8000u
/*
 * A rate below the port rate / 2^LC_SHAPER_RATE_RATIO_LOG2 is refused too
 * (4.8 kbit/s on a 10 gbit port, 48 kbit/s on 100 gbit): rte_sched cannot
 * represent a smaller share of the port.
 */
#define LC_SHAPER_RATE_RATIO_LOG2 21

struct lc_shaper_params {
	const char *name;
	int socket_id;              /* SOCKET_ID_ANY: socket 0 */
	enum lc_shaper_engine engine;
	uint64_t port_rate;         /* bit/s, the link speed */
	uint32_t mtu;               /* largest frame in bytes, no FCS; 0: 9216 */
	uint32_t frame_overhead;    /* bytes added to every frame; default 0 */
	uint32_t users;             /* pipes 1..users, plus pipe 0 */
	uint32_t queue_size;        /* packets per pipe, rounded up to 2^n; 0: 256 */
	enum lc_shaper_aqm aqm;
	uint32_t max_profiles;      /* distinct (rate, burst) pairs, at least 2 */
	uint64_t unassigned_rate;   /* bit/s for pipe 0; 0: the port rate */
	uint64_t hz;                /* units of `now` for the meters; 0: TSC hz */
	uint32_t flows;             /* flow slots (0: no flow queuing) */
	uint32_t plans;             /* plans 1..plans (0: none), LC_SHAPER_PLANS_MAX at most */
	uint32_t plan_users;        /* users per plan, rounded up to 2^n; 0: 1024 */
};

/* Plans a shaper can hold, and users per plan by default. */
#define LC_SHAPER_PLANS_MAX 62u
#define LC_SHAPER_PLAN_USERS_DEFAULT 1024u

struct lc_shaper_stats {
	uint64_t enqueued;          /* packets accepted into a queue, less those
				     * pushed out of it later (counted as tail drops) */
	uint64_t dequeued;          /* packets out of the queues */
	uint64_t dequeued_bytes;
	uint64_t dropped_tail;      /* refused by a full queue */
	uint64_t evicted;           /* of dropped_tail: frames that had waited, pushed
				     * out of a full queue for a thinner flow's */
	uint64_t dropped_aqm;       /* refused by PIE or RED */
	uint64_t queued;            /* packets in the queues now */
	uint64_t paced;             /* packets that waited in the pacer */
	uint64_t pacer_queued;      /* packets in the pacer now (part of queued) */
	uint64_t sched_queued;      /* packets in rte_sched now (part of queued) */
	uint64_t meter_red;         /* packets lc_shaper_meter() coloured red */
	uint32_t profiles_used;
	uint32_t profiles_max;
	uint64_t memory_bytes;      /* rte_sched port, meters and profiles */
};

struct lc_shaper;

/* NULL with rte_errno set (EINVAL, ENOMEM, ENOTSUP) on failure. */
struct lc_shaper *lc_shaper_create(const struct lc_shaper_params *params);
/* Frees the packets still queued too. */
void lc_shaper_free(struct lc_shaper *sh);

/*
 * The default burst of a rate in bit/s: LC_SHAPER_BURST_MS at the rate,
 * never less than LC_SHAPER_BURST_MIN bytes.
 */
uint32_t lc_shaper_default_burst(uint64_t rate_bps);

/*
 * Give a pipe a rate (bit/s) and burst (bytes). A rate of 0, or one above
 * the port rate, means the port rate; a burst of 0 means the default burst.
 * The pipe takes the profile of that pair, adding it to the table if it is
 * new. Packets already queued stay queued and leave at the new rate.
 * Returns 0, -EINVAL (bad pipe, rate below LC_SHAPER_RATE_MIN, or a burst
 * smaller than one frame of mtu + frame_overhead), -ENOSPC (a new pair
 * and the table is full) or -EBUSY (after lc_shaper_flush()); on error
 * nothing changed. With aqm none or pie the pacer's token bucket holds a
 * limited pipe: over any time t it lets out at most burst + rate x t, and
 * a saturated pipe gets exactly that (to 0.01 %). With red, rte_sched's
 * limits hold it: the rate is exact over each period of the profile
 * (lc_shaper_pipe_profile()), and bursts within one are bounded by the
 * burst.
 */
int lc_shaper_set_pipe(struct lc_shaper *sh, uint32_t pipe, uint64_t rate_bps,
		       uint32_t burst_bytes);

/*
 * What lc_shaper_set_pipe() with this pair would return for any pipe, with
 * nothing changed: 0, -EINVAL (a rate or burst this shaper cannot take),
 * -ENOSPC (a new pair and the table is full) or -EBUSY.
 */
int lc_shaper_check(const struct lc_shaper *sh, uint64_t rate_bps,
		    uint32_t burst_bytes);
/* Whether lc_shaper_check() finds nothing against it. */
bool lc_shaper_can_set(const struct lc_shaper *sh, uint64_t rate_bps,
		       uint32_t burst_bytes);

struct lc_shaper_profile_info {
	uint32_t id;                /* index in the profile table */
	uint64_t rate;              /* bytes/s */
	uint64_t burst;             /* bytes */
	uint64_t period_ms;         /* the rate is exact over each such period */
};

/* The profile of a pipe: returns its id (info may be NULL), or -EINVAL. */
int lc_shaper_pipe_profile(const struct lc_shaper *sh, uint32_t pipe,
			   struct lc_shaper_profile_info *info);

/*
 * Sched engine. Put n packets on the queues of their pipes (pipes[i] for
 * pkts[i]; a pipe above `users` counts as pipe 0) at `now`, in units of
 * params.hz: the clock of the meters and of PIE. Every mbuf is taken:
 * returns how many were queued, the others were dropped (queue full, or the
 * AQM) and freed. With the police engine, all n are freed and counted as
 * tail drops: the caller must not do that.
 */
uint32_t lc_shaper_enqueue(struct lc_shaper *sh, struct rte_mbuf **pkts,
			   const uint32_t *pipes, uint32_t n, uint64_t now);

/* The flow of a frame that belongs to no flow (a fragment, a flow table full). */
#define LC_SHAPER_NO_FLOW 0u

/*
 * lc_shaper_enqueue() with each frame's flow: flows[i], the flow slot of
 * pkts[i] plus 1, below params.flows + 1 (LC_SHAPER_NO_FLOW for none; NULL:
 * every frame of no flow). While a limited pipe's frames wait for its
 * rate, each flow's frames wait in a FIFO of their own (of up to 4 per
 * user: two flows share one only if their slots meet while both wait),
 * and the pipe serves its FIFOs in turn (deficit round robin), so that a
 * user's interactive flow does not wait behind the same user's bulk flow;
 * a full pipe drops from its fattest FIFO. Frames of no flow share the
 * pipe's own FIFO. Returns n less the frames this call dropped: refused, or
 * pushed out of a full pipe to make room for a newer one.
 */
uint32_t lc_shaper_enqueue_flows(struct lc_shaper *sh, struct rte_mbuf **pkts,
				 const uint32_t *pipes, const uint32_t *flows,
				 uint32_t n, uint64_t now);

/*
 * Start loading what lc_shaper_enqueue_flows() will read of these frames'
 * pipes and flows' FIFOs, and nothing else: a caller with other work to do
 * first (frames to send) calls it before that work, so that the lines of
 * users whose frames wait (out of every cache at peak hour) arrive in the
 * meantime. Optional; the same arguments as the enqueue.
 */
void lc_shaper_prefetch(const struct lc_shaper *sh, const uint32_t *pipes,
			const uint32_t *flows, uint32_t n);

/*
 * Sched engine: up to n packets whose time has come. `now` (params.hz
 * units, as for lc_shaper_enqueue()) is the pacer's clock; rte_sched reads
 * the TSC itself, which is why the worker's clock (params.hz) is the TSC.
 * Two rules for the caller (docs/SHAPING.md):
 * - while anything is queued, call it at least every 2^24 TSC cycles
 *   (6.5 ms at 2.6 GHz): a longer gap loses rte_sched time for good and
 *   every pipe runs late by it;
 * - ask for no more than the port can send: rte_sched's clock advances by
 *   the bytes dequeued as if the link had sent them.
 * An empty shaper returns 0 at once.
 */
uint32_t lc_shaper_dequeue(struct lc_shaper *sh, struct rte_mbuf **pkts,
			   uint32_t n, uint64_t now);

/*
 * Sched engine, for shutdown: up to n queued packets, whatever the rates.
 * The first call lifts every limit for good (the port's notion of time runs
 * ahead by what is flushed): afterwards the shaper only flushes and is
 * freed; lc_shaper_set_pipe() returns -EBUSY.
 */
uint32_t lc_shaper_flush(struct lc_shaper *sh, struct rte_mbuf **pkts, uint32_t n);

/* Packets in the queues now. */
uint32_t lc_shaper_queued(const struct lc_shaper *sh);

/*
 * Bytes of the shaper's arrays in memory of linecap's own, outside the EAL
 * heap (without hugepages: lc_mem.h); counted in memory_bytes too.
 */
size_t lc_shaper_mapped_bytes(const struct lc_shaper *sh);

/* The pipe a dequeued packet was queued for. */
uint32_t lc_shaper_pkt_pipe(const struct lc_shaper *sh,
			    const struct rte_mbuf *pkt);

/*
 * Plans (sched engine): groups of users that share a total rate, each an
 * rte_sched subport of its own, in which rte_sched shares the total
 * between the plan's users in turn. A user's own limit still holds inside
 * its plan.
 *
 * lc_shaper_set_plan(): plan 1..params.plans gets a total in bit/s (0: no
 * total, the port rate). 0, or -EINVAL (no such plan, or a rate this
 * shaper cannot take), -ENOSPC (no room for another distinct total),
 * -ENOTSUP (the police engine, or aqm red).
 */
int lc_shaper_set_plan(struct lc_shaper *sh, uint32_t plan, uint64_t total_bps);
/* What lc_shaper_set_plan() would return, with nothing changed. */
int lc_shaper_check_plan(const struct lc_shaper *sh, uint32_t plan, uint64_t total_bps);

/*
 * A plan's weight, 1..LC_SHAPER_WEIGHT_MAX (1 when created): when the port
 * is full, the plans with frames waiting, and the users of no plan as one
 * more of weight 1, share it in proportion to their weights. rte_sched
 * serves its subports in turn, a dequeue call's frames each; the weight
 * sets how many frames a plan's turn may take, so the shares are in
 * frames, and a turn is at least one frame (a ratio of weights above the
 * dequeue burst holds as the burst). 0, -EINVAL (no such plan, or a
 * weight out of range), -ENOTSUP (the police engine, or aqm red).
 */
#define LC_SHAPER_WEIGHT_MAX 100u
int lc_shaper_set_plan_weight(struct lc_shaper *sh, uint32_t plan, uint32_t weight);

/*
 * Move a pipe (a user, not 0) into a plan (0: out of any plan). 0, or
 * -EINVAL, -ENOBUFS (the plan holds params.plan_users users already, or
 * its free places still hold frames of users that left), -ENOTSUP (the
 * police engine, or aqm red). Frames queued stay queued and leave as
 * before; the pipe's limit is kept.
 */
int lc_shaper_pipe_plan_set(struct lc_shaper *sh, uint32_t pipe, uint32_t plan);
/* What lc_shaper_pipe_plan_set() would return, with nothing changed. */
int lc_shaper_pipe_plan_check(const struct lc_shaper *sh, uint32_t pipe, uint32_t plan);
/* The plan of a pipe (0: none). */
uint32_t lc_shaper_pipe_plan(const struct lc_shaper *sh, uint32_t pipe);

struct lc_shaper_plan_info {
	uint64_t total;             /* bit/s; the port rate when it has none */
	uint32_t users;             /* pipes in the plan now */
	uint32_t capacity;          /* params.plan_users, rounded */
	uint32_t weight;            /* lc_shaper_set_plan_weight() */
};

/* A plan's total and users: 0, or -EINVAL (no such plan). */
int lc_shaper_plan_info(const struct lc_shaper *sh, uint32_t plan,
			struct lc_shaper_plan_info *info);

typedef void (*lc_shaper_drops_fn)(void *arg, uint32_t pipe, uint64_t pkts,
				   uint64_t bytes, uint64_t aqm_pkts);

/*
 * Read and clear the drop counters of pipes first_pipe..first_pipe+n_pipes-1
 * (clipped to the last pipe) and call fn for every pipe that dropped
 * something since the previous call: `pkts` and `bytes` are all its drops,
 * `aqm_pkts` the part of `pkts` that PIE or RED refused (the rest found the
 * queue full). The worker sweeps a bounded range per loop iteration.
 * Returns how many pipes were reported, or -EINVAL. Police engine: 0.
 */
int lc_shaper_collect_drops(struct lc_shaper *sh, uint32_t first_pipe,
			    uint32_t n_pipes, lc_shaper_drops_fn fn, void *arg);

/*
 * The meters: one colour-blind srTCM per pipe, for the police engine and
 * for TAP mode's verdicts. The verdict below is inline, as rte_meter's is;
 * turning a rate and burst into a meter profile is the shaper's job
 * (lc_shaper_set_pipe()). Only lc_shaper_meter() reads or writes these.
 */
struct lc_shaper_meter {
	struct rte_meter_srtcm state;
	struct rte_meter_srtcm_profile *profile; /* in the shaper's table */
};

struct lc_shaper_meters {
	struct lc_shaper_meter *pipe; /* users + 1 */
	uint32_t users;
	uint32_t frame_overhead;    /* bytes added to every frame */
	uint64_t red;               /* frames coloured red */
};

/* The meters of a shaper, for lc_shaper_meter(): the same for its life. */
struct lc_shaper_meters *lc_shaper_meters(struct lc_shaper *sh);

/*
 * The colour-blind srTCM verdict for a frame of pkt_len bytes on a pipe at
 * `now` (in units of params.hz): green within the rate and burst, red above
 * (there is no yellow: the excess bucket is empty). Police engine: the
 * caller drops red. TAP mode: red counts as would_drop. A pipe above
 * `users` counts as pipe 0.
 */
static inline enum rte_color
lc_shaper_meter(struct lc_shaper_meters *m, uint32_t pipe, uint32_t pkt_len,
		uint64_t now)
{
	struct lc_shaper_meter *pm;
	enum rte_color c;

	if (unlikely(pipe > m->users))
		pipe = LC_SHAPER_UNASSIGNED;
	pm = &m->pipe[pipe];
	c = rte_meter_srtcm_color_blind_check(&pm->state, pm->profile, now,
					      pkt_len + m->frame_overhead);
	if (c == RTE_COLOR_RED)
		m->red++;
	return c;
}

void lc_shaper_stats_get(struct lc_shaper *sh, struct lc_shaper_stats *stats);

enum lc_shaper_engine lc_shaper_engine(const struct lc_shaper *sh);

/* Names as [shaper] engine and aqm write them; NULL past the last value. */
const char *lc_shaper_engine_name(enum lc_shaper_engine e);
const char *lc_shaper_aqm_name(enum lc_shaper_aqm a);

#endif /* LC_SHAPER_H */
