/* SPDX-License-Identifier: MIT */
/*
 * PIE (RFC 8033), the shaper's delay-based AQM, for one queue. Internal to
 * lib/shaper, pure and driven by the caller's clock so that it can be
 * tested without EAL.
 *
 * Why not rte_sched's own PIE: in DPDK 22.11 it does not control delay.
 * rte_pie.h computes the controller's error terms in unsigned arithmetic
 * (a queue under target wraps to a huge positive term), multiplies a time
 * per byte by a length in packets, and lets its uint32_t burst allowance
 * wrap instead of reaching zero, so it almost never drops: measured, a
 * saturated 10 mbit pipe kept a mean sojourn of 339 ms against 308 ms with
 * plain tail drop (docs/SHAPING.md).
 *
 * Here the queue delay needs no estimate of the departure rate: a shaped
 * queue drains at its pipe's rate, so the delay is the bytes queued over
 * that rate. The controller is RFC 8033's, with its auto-tuning of the
 * gains, its 250 ms boost, its decay of an idle queue and its burst
 * allowance.
 */
#ifndef LC_SHAPER_PIE_H
#define LC_SHAPER_PIE_H

#include <stdbool.h>
#include <stdint.h>

/* Drop probability 1.0 in the fixed-point scale of lc_pie.prob. */
#define LC_PIE_PROB_ONE UINT32_MAX
/*
 * Frames queued up to which nothing is dropped. RFC 8033 leaves a queue of
 * two packets' worth of bytes alone (2 x MEAN_PKTSIZE, 1500 bytes; Linux's
 * sch_pie two MTUs); counted in bytes, a queue of small frames at a low
 * rate is out of PIE's reach: 3000 bytes are 375 ms at 64 kbit, and a user
 * limited to that sending 100-byte frames (a call, a game) would wait that
 * long whatever the target. Counted in frames, PIE holds such a queue near
 * its target too, and small frames are not spared for their size (RFC
 * 7141); a queue of full-size frames is left alone exactly as before.
 */
#define LC_PIE_MIN_FRAMES 2u

struct lc_pie_config {
	uint32_t target_us;      /* QDELAY_REF */
	uint32_t tupdate_us;     /* T_UPDATE */
	uint32_t max_burst_us;   /* MAX_BURST */
};

/* A queue's controller: 16 bytes, kept in the pipe's cache line. */
struct lc_pie {
	uint32_t prob;           /* drop probability, LC_PIE_PROB_ONE = 1 */
	uint32_t qdelay_old_us;
	uint32_t burst_left_us;  /* no drop while this is not 0 */
	uint32_t time_us;        /* of the latest update */
};

/* A fresh (or long idle) queue. */
static inline void
lc_pie_reset(const struct lc_pie_config *cfg, struct lc_pie *st, uint32_t now_us)
{
	st->prob = 0;
	st->qdelay_old_us = 0;
	st->burst_left_us = cfg->max_burst_us;
	st->time_us = now_us;
}

/* One T_UPDATE step of the controller, with the queue delay now. */
void lc_pie_update(const struct lc_pie_config *cfg, struct lc_pie *st,
		   uint32_t qdelay_us);

/*
 * Whether an arriving packet may be dropped at all (RFC 8033 drop_early
 * before its coin), with qlen frames queued before it: most packets are
 * not, and they need no random number.
 */
static inline bool
lc_pie_may_drop(const struct lc_pie_config *cfg, const struct lc_pie *st,
		uint32_t qlen)
{
	if (st->burst_left_us > 0)
		return false;
	if (st->qdelay_old_us < cfg->target_us / 2 &&
	    st->prob < LC_PIE_PROB_ONE / 5)
		return false;
	return qlen > LC_PIE_MIN_FRAMES;
}

/*
 * Whether to drop an arriving packet (RFC 8033 drop_early), with qlen
 * frames queued before it and rnd a uniform random 32-bit number.
 */
static inline bool
lc_pie_drop(const struct lc_pie_config *cfg, const struct lc_pie *st,
	    uint32_t qlen, uint32_t rnd)
{
	return lc_pie_may_drop(cfg, st, qlen) && rnd < st->prob;
}

#endif /* LC_SHAPER_PIE_H */
