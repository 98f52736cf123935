/* SPDX-License-Identifier: MIT */
/*
 * The shaper: an rte_sched port with one queue per user (sched engine), and
 * an srTCM meter per user (both engines). docs/SHAPING.md has the reasons
 * and the measurements behind every number here.
 *
 * The rte_sched hierarchy:
 * - subport 0 holds the users of no plan: user u is its pipe
 *   spread(u - 1) (below). rte_sched wants a power of two of pipes in a
 *   subport, so it holds users rounded up;
 * - subport 1 holds one pipe, the unassigned traffic (pipe 0). Keeping it
 *   apart means that a power-of-two user capacity (65536 by default) costs
 *   exactly its own pipes, not twice as many;
 * - subport 1 + k is plan k (1..plans), with plan_users pipes given to its
 *   users as they join (a user's pipe in subport 0 then stays unused), and
 *   the plan's total as the subport's rate: rte_sched shares it between the
 *   plan's users in turn. The subports after the last plan (rte_sched
 *   wants a power of two of them) hold one idle pipe each.
 * Each pipe uses one queue: traffic class 0, strict priority, one queue.
 * rte_sched insists that the best-effort class exists, so it has queues of
 * one packet that are never used; the other classes have none.
 *
 * Who drops: with aqm none or pie, linecap decides every drop before
 * rte_sched sees the packet (tail drop at queue_size, PIE), keeping an
 * exact count of each pipe's queue; rte_sched then never drops. With red,
 * rte_sched's own RED and tail drop decide, and the drops are read from
 * its queue counters.
 *
 * The pacer (aqm none or pie): a limited pipe's frames enter rte_sched
 * only when the pipe's token bucket (its rate and burst, exact to 0.01 %)
 * lets them leave now. Until then they wait in the pipe's FIFO here, and
 * the pipe in a timer wheel at the time its bucket will hold the first
 * frame. rte_sched's scheduler visits every pipe with frames queued in it
 * on each dequeue that comes back short: a pipe parked there without
 * credit costs a visit per call, so thousands of saturated users would
 * make the cost per frame grow with their number (docs/SHAPING.md has
 * the measurements). With the pacer, rte_sched holds only frames it can
 * send, and the cost per frame does not depend on how many users wait.
 * rte_sched still schedules the port and its subports; a paced pipe's own
 * rte_sched limits sit a little above the pacer's, as a backstop.
 *
 * A user's own flows (flow queuing): a paced pipe's frames wait in one
 * FIFO per flow, the flow table's session, so no two flows ever share one
 * (frames of no flow, and of a flow whose FIFO still holds another pipe's
 * frames, wait in the pipe's own FIFO). The pipe serves its FIFOs by
 * deficit round robin, as fq_codel does: its bucket says when the next
 * frame may go, the round says which, so that a ping or a keystroke waits
 * behind at most a quantum of each busy flow of the same user, not behind
 * the user's whole queue. A full pipe drops from the head of its fattest
 * FIFO, and PIE spares FIFOs of FQ_SPARSE frames or fewer while a fatter
 * one fills the queue: a bulk flow pays for its own backlog.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_meter.h>
#include <rte_prefetch.h>
#include <rte_sched.h>

#include "lc_mem.h"
#include "lc_shaper.h"
#include "pie.h"

#define SUBPORT_USERS 0
#define SUBPORT_UNASSIGNED 1
#define SUBPORT_PLAN0 1                /* plan k is subport SUBPORT_PLAN0 + k */
#define SUBPORTS_MAX 64u
_Static_assert(SUBPORT_PLAN0 + LC_SHAPER_PLANS_MAX < SUBPORTS_MAX, "plans fit");
/* Subport profiles for plans' totals: this many per plan, over its life. */
#define PLAN_PROFILES_PER_PLAN 16u
/* A plan's pipe left with frames in rte_sched: its user, until they are out. */
#define SLOT_DRAINING 0x80000000u
#define TC_SHAPED 0

/* Subport profiles: the port rate, and no limit at all (lc_shaper_flush()). */
#define SUBPORT_PROFILE_RATE 0
#define SUBPORT_PROFILE_FLUSH 1

/*
 * How a pipe is limited (docs/SHAPING.md has the measurements): rte_sched
 * checks two buckets per packet, the pipe's token bucket and its traffic
 * class's credits, and resets (does not accumulate) the class credits every
 * tc_period. With both at the same rate, the class runs dry just before
 * each reset while the token bucket overflows, and the pipe loses a few
 * frames of rate per period. So the class is the exact long-term limit
 * (rate x tc_period bytes per period), and the token bucket runs
 * 1/TB_HEADROOM_DIV faster, only to bound bursts. The period is at least
 * TC_PERIOD_MIN_MS, at least TC_PERIOD_FRAMES largest frames (a frame that
 * does not fit what is left of a period waits for the next one: at most one
 * frame of loss per period, 1/64 of the rate with jumbo frames and far less
 * otherwise) and at least TC_PERIOD_BURSTS bursts (else a big burst turns
 * the pipe on and off).
 */
#define TC_PERIOD_MIN_MS 1000u
/* The TC period of the subports at the port rate (see sched_create()). */
#define PORT_TC_PERIOD_MS 10u
#define TC_PERIOD_FRAMES 64u
#define TC_PERIOD_BURSTS 10u
#define TB_HEADROOM_DIV 128u

/* A meter adds tokens at least every this many units of `now`... */
#define METER_PERIOD_UNITS 10000u
/* ...unless that is longer than 1/METER_PERIOD_MAX_HZ_DIV of a second. */
#define METER_PERIOD_MAX_HZ_DIV 10000u

/* AQM defaults: see docs/SHAPING.md. */
#define PIE_TARGET_US 15000
#define PIE_TUPDATE_US 15000
#define PIE_MAX_BURST_US 150000
/* Updates a queue catches up on at once; longer idle resets its PIE. */
#define PIE_CATCH_UP 8
#define RED_WQ_LOG2 9
#define RED_MAXP_INV 10

#define PROFILE_NONE UINT32_MAX

/*
 * The pacer's timer wheel: PACE_SLOTS slots of about PACE_SLOT_NS each
 * (a power of two of `now` units), 80 ms ahead at most; a pipe due later
 * waits in the last slot and is looked at again then. A dequeue wakes at
 * most PACE_BUDGET pipes, so that a crowd due at once never stalls the
 * loop; the rest wake on the next call.
 */
#define PACE_SLOTS_LOG2 14
#define PACE_SLOTS (1u << PACE_SLOTS_LOG2)
#define PACE_SLOT_NS 5000u
#define PACE_BUDGET 256u
/*
 * The wheel is looked at once this many slots have passed (about 16 µs):
 * at peak a slot holds a pipe or two, and pipes woken together have their
 * states and first frames fetched together.
 */
#define PACE_RELEASE_SLOTS 4u
/* Released frames go to rte_sched this many at a time. */
#define PACE_BATCH 64u
/* Slots a stage of pace_prefetch() looks ahead, at most. */
#define PACE_PREFETCH_SPAN_MAX 64u
/* Frames that leave without rte_sched, waiting for the next dequeue. */
#define READY_SIZE 2048u
/* Places of that ring the pacer leaves to frames that arrive. */
#define PACE_READY_ROOM 512u

/*
 * Flow queuing in the pacer: the round robin's quantum in bytes (an
 * Ethernet frame and then some: a jumbo frame takes a few turns), and the
 * length of a FIFO up to which PIE does not drop.
 */
#define FQ_QUANTUM 1600
#define FQ_SPARSE 2u
/* FIFOs for flows, per user, at most (and at least 1024 in all). */
#define FLOW_FIFOS_PER_USER 4u

/*
 * A frame waiting in the pacer is linked to the next one of its pipe
 * through its hash field: the field rte_sched reads its queue from (set
 * when the frame leaves the pacer), in the first cache line, which the
 * pacer reads anyway (the frame's length), so that a wait costs no other
 * line of the frame.
 */
_Static_assert(sizeof(((struct rte_mbuf *)NULL)->hash) >= sizeof(struct rte_mbuf *),
	       "a link fits in an mbuf's hash");

static inline void
pace_link_set(struct rte_mbuf *m, struct rte_mbuf *next)
{
	memcpy(&m->hash, &next, sizeof(next));
}

static inline struct rte_mbuf *
pace_link(const struct rte_mbuf *m)
{
	struct rte_mbuf *next;

	memcpy(&next, &m->hash, sizeof(next));
	return next;
}

/*
 * A frame about to leave the pacer: its first line (the link, the length)
 * and its second, which freeing it reads (rte_pktmbuf_free() looks at
 * `next`) once a port has sent it. Both are cold after a wait.
 */
static inline void
pace_prefetch_frame(const struct rte_mbuf *m)
{
	rte_prefetch0(m);
	rte_prefetch0(RTE_PTR_ADD(m, RTE_CACHE_LINE_SIZE));
}

/*
 * Free a frame that has waited in the pacer, whose lines are cold. A
 * direct frame of one segment that nothing else holds goes straight back
 * to its pool: the first line says so, and its `next` (the second line,
 * which rte_pktmbuf_free() reads) is NULL whenever nb_segs is 1, as
 * rte_mbuf_raw_free() requires. Any other frame is freed as usual.
 */
static inline void
waited_free(struct rte_mbuf *m)
{
	if (likely(RTE_MBUF_DIRECT(m) && m->nb_segs == 1 && rte_mbuf_refcnt_read(m) == 1))
		rte_mbuf_raw_free(m);
	else
		rte_pktmbuf_free(m);
}

/*
 * A frame waiting also keeps the length of the frame after it, in its
 * packet_type (the same line as the link; what the receiving port said of
 * the frame's type is not used past the parser, and a frame leaves the
 * pacer with it unknown). A wake lets the first frame of a FIFO go and
 * then needs the next one's length, for when the pipe is due: it reads it
 * from the frame it lets go, not from the next frame, whose lines have
 * waited out of every cache.
 */
static inline void
pace_len_next_set(struct rte_mbuf *m, uint32_t next_len)
{
	m->packet_type = next_len;
}

static inline uint16_t
pace_len_next(const struct rte_mbuf *m)
{
	return (uint16_t)m->packet_type;
}

/* One (rate, burst) pair, shared by every pipe that has it. */
struct lc_shaper_profile {
	uint64_t rate;                 /* bytes/s */
	uint64_t burst;                /* bytes */
	uint64_t period_ms;            /* tc_period */
	uint32_t sched_id[SUBPORTS_MAX]; /* rte_sched profile id in each subport */
	bool paced;                    /* below the port rate, and linecap drops */
	struct rte_meter_srtcm_profile meter;
};

/*
 * A pipe in the pacer: its token bucket (bytes, refilled as rte_meter
 * refills a meter, by the numbers of the pipe's meter profile) and the
 * round robin over its sub-queues. A pipe with frames waiting is in
 * exactly one slot of the wheel.
 */
struct lc_shaper_pace {
	int64_t tokens;
	uint64_t time;                 /* of the latest refill, `now` units */
	/*
	 * The frame that most likely leaves next, the first of the first
	 * FIFO of the round, for fetching it without reading the FIFO: a
	 * hint only (NULL: not known), never followed.
	 */
	const struct rte_mbuf *first;
	uint32_t prof;                 /* the pipe's profile, in profiles[] */
	uint32_t waiting;              /* frames in its FIFOs */
	uint32_t round_head;           /* FIFOs with frames, in turn: index + 1 */
	uint32_t round_tail;
	uint32_t fat;                  /* its longest FIFO, nearly: index + 1 */
	uint16_t fat_len;              /* that FIFO's frames (0: it has none) */
};

/*
 * A FIFO of one flow's frames waiting (linked through pace_link()), in
 * its pipe's round while it holds frames. A FIFO without frames belongs
 * to no pipe and is in no round.
 */
struct lc_shaper_fifo {
	struct rte_mbuf *head;
	struct rte_mbuf *tail;
	uint32_t pipe;                 /* whose frames these are */
	uint32_t next;                 /* the next FIFO in the round, + 1; 0: none */
	int16_t deficit;               /* bytes it may still send in its turn */
	uint16_t len;                  /* frames (queue_size at most) */
	uint16_t head_len;             /* the first frame's pkt_len (pace_len_next()) */
	/*
	 * The next FIFO's head_len as it was when that FIFO joined the round
	 * behind this one: a wake that empties this FIFO says from it when
	 * the pipe is due again, without reading the next FIFO's line, which
	 * has waited out of every cache. Only an estimate (a drop from the
	 * next FIFO's front changes its head): the wake takes what the bucket
	 * holds for the real one.
	 */
	uint16_t next_len;
};
_Static_assert(FQ_QUANTUM <= INT16_MAX, "a deficit fits");
_Static_assert(LC_SHAPER_QUEUE_SIZE_MAX <= UINT16_MAX, "a FIFO's length fits");

/*
 * A queue's state (sched engine), two cache lines: while linecap decides
 * the drops, its length (pacer and rte_sched together), PIE, drops since
 * they were last collected (32 bits: collect them at least every few
 * seconds) and the pacer. Everything a frame needs of its pipe on the fast
 * path is here, so that a pipe costs one pair of lines (and a frame that
 * waits, its flow's FIFO).
 */
struct lc_shaper_pipe {
	/* The first line: what every frame needs. */
	uint32_t qlen;
	uint32_t qbytes;
	uint32_t qid;                  /* rte_sched's queue: its subport and pipe */
	struct lc_shaper_pace pace;
	/* The second: PIE's and drops'. */
	struct lc_pie pie __rte_cache_aligned;
	uint32_t drops;
	uint32_t drops_aqm;
	uint32_t drop_bytes;
} __rte_aligned(2 * RTE_CACHE_LINE_SIZE);

_Static_assert(sizeof(struct lc_shaper_pipe) == 2 * RTE_CACHE_LINE_SIZE,
	       "a pipe's state is two cache lines");
_Static_assert(sizeof(struct lc_shaper_fifo) == 32, "two FIFOs to a cache line");

struct lc_shaper {
	struct lc_shaper_meters meters; /* users + 1, both engines */
	struct rte_sched_port *port;   /* NULL for the police engine */
	struct lc_shaper_pipe *pipes;  /* users + 1; NULL for the police engine */
	uint32_t *wheel;               /* PACE_SLOTS heads: pipe + 1, 0: empty */
	uint32_t *wheel_next;          /* users + 1: the next pipe in its slot, + 1 */
	/* Bytes mapped for pipes, wheel_next, fifos (shaper_array()); 0: heap. */
	size_t pipes_mapped;
	size_t wheel_next_mapped;
	size_t fifos_mapped;
	/*
	 * The pacer's FIFOs: flow_fifos for flows (a flow slot's is its slot
	 * modulo their number, a power of two), then one per
	 * pipe (users + 1), for frames of no flow.
	 */
	struct lc_shaper_fifo *fifos;
	uint32_t flow_fifos;
	/* Pipes with drops not yet collected, a bit each (linecap's drops). */
	uint64_t *drop_map;
	/*
	 * users + 1 bits: the pipe's profile is paced. Only a hint, for
	 * fetching a frame's FIFO before its pipe is read: a frame of a pipe
	 * that paces nothing and holds nothing in the pacer never reads its
	 * FIFO.
	 */
	uint64_t *paced_map;
	uint64_t wheel_slot;           /* the next slot to look at, absolute */
	uint32_t wheel_carry;          /* pipes of a passed slot not woken yet, + 1 */
	uint32_t slot_shift;           /* `now` >> slot_shift is a slot */
	uint64_t pace_waiting;         /* frames in the pacer now */
	uint64_t paced;                /* frames that waited in the pacer */
	uint64_t sched_in;             /* frames given to rte_sched */
	uint64_t sched_out;            /* frames rte_sched gave back */
	/*
	 * Frames that skip rte_sched (see send_ready()): a ring drained by
	 * the next dequeue, before rte_sched is asked.
	 */
	uint32_t ready_head;
	uint32_t ready_tail;
	struct rte_mbuf *ready[READY_SIZE];
	/*
	 * The port's own bucket: rte_sched counts time in bytes sent, so it
	 * lets out whatever is asked of it faster than the port rate; the
	 * port's rate holds only because linecap asks no faster. The bucket
	 * may go below zero by a dequeue's worth, paid back before the next.
	 */
	int64_t port_tokens;
	uint64_t port_time;            /* of the latest refill, `now` units */
	struct rte_meter_srtcm_profile port_meter;
	struct lc_shaper_profile *profiles;
	uint32_t n_profiles;
	uint32_t max_profiles;
	uint32_t users;
	uint32_t user_pipes_log2;      /* subport 0 holds 2^this pipes */
	uint32_t flush_id[SUBPORTS_MAX]; /* the no-limit pipe profile, per subport */
	uint32_t n_subports;           /* a power of two */
	/* Plans: subports SUBPORT_PLAN0 + 1.. */
	uint32_t plans;
	uint32_t plan_pipes_log2;      /* pipes per plan */
	uint32_t plan_qid0;            /* the first queue id of a plan */
	uint32_t *plan_slot;           /* plans x plan pipes: user, | SLOT_DRAINING; 0: free */
	uint32_t plan_users[LC_SHAPER_PLANS_MAX + 1];
	uint64_t plan_total[LC_SHAPER_PLANS_MAX + 1]; /* bytes/s; 0: none */
	uint64_t sub_rate[SUBPORTS_MAX * PLAN_PROFILES_PER_PLAN]; /* subport profiles' rates */
	uint32_t n_sub_profiles;
	/*
	 * Turns of a full port between subports (sub_turn()): each subport's
	 * weight, frames in rte_sched, and carry of a fraction of a frame;
	 * the subport rte_sched's next dequeue starts at.
	 */
	uint32_t sub_weight[SUBPORTS_MAX];
	uint32_t sub_queued[SUBPORTS_MAX];
	int32_t sub_carry[SUBPORTS_MAX];
	uint32_t sub_next;
	bool weighted;                 /* a weight is not 1 */
	bool flushing;
	bool own_drops;                /* linecap decides drops (not RED) */
	struct lc_pie_config pie;
	uint64_t coin;                 /* PIE's random numbers (pie_coin()) */
	uint64_t units_per_us;         /* of `now` (params.hz), at least 1 */
	uint64_t us_per_unit;          /* when hz is below 1 MHz, else 1 */
	uint32_t mtu;
	uint32_t frame_overhead;
	uint32_t queue_size;
	enum lc_shaper_engine engine;
	enum lc_shaper_aqm aqm;
	uint64_t port_rate;            /* bytes/s */
	uint64_t hz;
	uint64_t memory;

	uint64_t enqueued;
	uint64_t evicted;              /* queued, then dropped for a newer frame */
	uint64_t dequeued;
	uint64_t dequeued_bytes;
	uint64_t dropped;              /* tail and AQM */
	uint64_t dropped_aqm;          /* PIE's, or RED's from rte_sched's counters */
};

static inline const struct lc_shaper_profile *
pace_profile(const struct lc_shaper *sh, const struct lc_shaper_pace *pc)
{
	return &sh->profiles[pc->prof];
}

uint32_t
lc_shaper_default_burst(uint64_t rate_bps)
{
	uint64_t b = rate_bps / 8 * LC_SHAPER_BURST_MS / 1000;

	if (b < LC_SHAPER_BURST_MIN)
		b = LC_SHAPER_BURST_MIN;
	return b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
}

/* Milliseconds for `bytes` at `rate` bytes/s, rounded up. */
static uint64_t
ms_for(uint64_t bytes, uint64_t rate)
{
	return (bytes * 1000 + rate - 1) / rate;
}

static uint64_t
tc_period_ms(const struct lc_shaper *sh, uint64_t rate, uint64_t burst)
{
	uint64_t frames = (uint64_t)TC_PERIOD_FRAMES * (sh->mtu + sh->frame_overhead);
	uint64_t ms = RTE_MAX(ms_for(frames, rate), ms_for(TC_PERIOD_BURSTS * burst, rate));

	return RTE_MAX(ms, (uint64_t)TC_PERIOD_MIN_MS);
}

/*
 * rte_meter's own profile set-up truncates the period to whole TSC cycles,
 * an error of up to 1% above 100 Mbit/s, and always counts in TSC cycles.
 * Here the period is at least METER_PERIOD_UNITS units (error < 0.01%) and
 * the units are params.hz, so that tests can drive the meter with
 * synthetic time.
 */
static void
meter_profile_init(struct rte_meter_srtcm_profile *mp, uint64_t rate,
		   uint64_t burst, uint64_t hz)
{
	uint64_t units = RTE_MIN((uint64_t)METER_PERIOD_UNITS,
				 hz / METER_PERIOD_MAX_HZ_DIV);
	uint64_t bytes;

	if (units == 0)
		units = 1;
	bytes = (rate * units + hz - 1) / hz;
	if (bytes == 0)
		bytes = 1;
	mp->cbs = burst;
	mp->ebs = 0; /* no yellow: above the committed bucket is red */
	mp->cir_bytes_per_period = bytes;
	mp->cir_period = (hz * bytes + rate / 2) / rate;
	if (mp->cir_period == 0)
		mp->cir_period = 1;
}

static void
sched_pipe_params(const struct lc_shaper *sh, const struct lc_shaper_profile *pr,
		  struct rte_sched_pipe_params *pp)
{
	uint64_t tc_rate = pr->rate;

	memset(pp, 0, sizeof(*pp));
	pp->tb_rate = RTE_MIN(pr->rate + pr->rate / TB_HEADROOM_DIV + 1, sh->port_rate);
	pp->tb_size = pr->burst;
	if (pr->paced) {
		/*
		 * The pacer keeps the limit: rte_sched's must never be the
		 * tighter one, or the pipe would sit in rte_sched without
		 * credit. So in rte_sched a paced pipe is an unlimited one,
		 * and rte_sched only shares a full port.
		 */
		tc_rate = sh->port_rate;
		pp->tb_rate = sh->port_rate;
	}
	/*
	 * A pipe unlimited in rte_sched (no limit, or paced) sends one frame
	 * a visit at most: rte_sched's grinder goes on with a pipe while it
	 * has credit and frames, so with a burst's credit a visit emptied the
	 * pipe's queue, and a pipe visited while others waited in the same
	 * grinder got more. It still earns the port rate (one byte of credit
	 * a byte of port time).
	 */
	if (pr->paced || pr->rate >= sh->port_rate)
		pp->tb_size = RTE_MIN(pr->burst, (uint64_t)sh->mtu + sh->frame_overhead);
	/* A class has a rate if and only if it has a queue. */
	pp->tc_rate[TC_SHAPED] = tc_rate;
	pp->tc_rate[RTE_SCHED_TRAFFIC_CLASS_BE] = tc_rate;
	pp->tc_period = pr->period_ms;
	pp->tc_ov_weight = 1;
	for (int i = 0; i < RTE_SCHED_BE_QUEUES_PER_PIPE; i++)
		pp->wrr_weights[i] = 1;
}

/* Turn a request into a table key: rate in bytes/s, burst in bytes. */
static int
normalize(const struct lc_shaper *sh, uint64_t rate_bps, uint32_t burst,
	  uint64_t *rate, uint64_t *burst_out)
{
	uint64_t r;

	if (rate_bps == 0 || rate_bps / 8 >= sh->port_rate)
		r = sh->port_rate;
	else if (rate_bps < LC_SHAPER_RATE_MIN ||
		 rate_bps / 8 < sh->port_rate >> LC_SHAPER_RATE_RATIO_LOG2)
		/*
		 * rte_sched turns a pipe's share of the port into a fraction;
		 * below about 2^-22 of the port rate it rounds to nothing and
		 * its dequeue divides by zero.
		 */
		return -EINVAL;
	else
		r = rate_bps / 8;
	if (burst == 0)
		burst = lc_shaper_default_burst(r * 8);
	/* A burst smaller than the largest frame would stall the pipe for good. */
	if (burst < (uint64_t)sh->mtu + sh->frame_overhead)
		return -EINVAL;
	*rate = r;
	*burst_out = burst;
	return 0;
}

/* A linear scan: profiles are few, and this runs on commands, not packets. */
static int
profile_find(const struct lc_shaper *sh, uint64_t rate, uint64_t burst)
{
	for (uint32_t i = 0; i < sh->n_profiles; i++)
		if (sh->profiles[i].rate == rate && sh->profiles[i].burst == burst)
			return (int)i;
	return -1;
}

/* Add a pair to the table (and to both subports); its index or -errno. */
static int
profile_add(struct lc_shaper *sh, uint64_t rate, uint64_t burst)
{
	struct lc_shaper_profile *pr;

	if (sh->n_profiles >= sh->max_profiles)
		return -ENOSPC;
	pr = &sh->profiles[sh->n_profiles];
	pr->rate = rate;
	pr->burst = burst;
	pr->period_ms = tc_period_ms(sh, rate, burst);
	for (uint32_t k = 0; k < SUBPORTS_MAX; k++)
		pr->sched_id[k] = PROFILE_NONE;
	pr->paced = sh->own_drops && sh->engine == LC_SHAPER_SCHED && rate < sh->port_rate;
	meter_profile_init(&pr->meter, rate, burst, sh->hz);

	/* The first profile is given to rte_sched at subport creation. */
	if (sh->port != NULL) {
		struct rte_sched_pipe_params pp;

		sched_pipe_params(sh, pr, &pp);
		/*
		 * Pairs that rte_sched cannot tell apart (bursts of unlimited
		 * pipes: sched_pipe_params()) share its profile: it refuses a
		 * profile it already has.
		 */
		for (uint32_t i = 0; i < sh->n_profiles; i++) {
			struct rte_sched_pipe_params other;

			sched_pipe_params(sh, &sh->profiles[i], &other);
			if (memcmp(&pp, &other, sizeof(pp)) == 0) {
				memcpy(pr->sched_id, sh->profiles[i].sched_id, sizeof(pr->sched_id));
				return (int)sh->n_profiles++;
			}
		}
		for (uint32_t s = 0; s < sh->n_subports; s++) {
			uint32_t id;
			int ret = rte_sched_subport_pipe_profile_add(sh->port, s, &pp, &id);

			if (ret != 0) {
				/* Nothing recorded: a failed first add changed nothing. */
				if (s == 0)
					return -EINVAL;
				break;
			}
			pr->sched_id[s] = id;
		}
	}
	return (int)sh->n_profiles++;
}

/*
 * rte_sched shares a subport between its 64-bit bitmap words in turn
 * (each a group of 4 pipes: a grinder takes a word's pipes together),
 * then between the pipes of a word: pipes alone in their word get as
 * much as a whole word of 4. So the k-th pipe handed out goes to word
 * k mod (pipes / 4): the first quarter of a subport's pipes each have a
 * word of their own, and the shares of that many backlogged users are
 * equal. spread() maps k to that pipe, unspread() back.
 */
static inline uint32_t
spread(uint32_t k, uint32_t log2)
{
	if (log2 < 2)
		return k;
	return (k & ((1u << (log2 - 2)) - 1)) << 2 | k >> (log2 - 2);
}

static inline uint32_t
unspread(uint32_t pipe, uint32_t log2)
{
	if (log2 < 2)
		return pipe;
	return (pipe & 3) << (log2 - 2) | pipe >> 2;
}

/* rte_sched's queue id: subport, pipe, then 4 bits of queue (TC 0 = 0). */
static inline uint32_t
make_qid(const struct lc_shaper *sh, uint32_t subport, uint32_t pipe_in_subport)
{
	return subport << (sh->user_pipes_log2 + 4) | pipe_in_subport << 4;
}

static inline uint32_t
qid_subport(const struct lc_shaper *sh, uint32_t qid)
{
	return qid >> (sh->user_pipes_log2 + 4);
}

static inline uint32_t
qid_pipe(const struct lc_shaper *sh, uint32_t qid)
{
	return (qid >> 4) & ((1u << sh->user_pipes_log2) - 1);
}

/* A pipe's queue outside any plan. */
static inline uint32_t
home_qid(const struct lc_shaper *sh, uint32_t pipe)
{
	return pipe == LC_SHAPER_UNASSIGNED ? make_qid(sh, SUBPORT_UNASSIGNED, 0) :
	       make_qid(sh, SUBPORT_USERS, spread(pipe - 1, sh->user_pipes_log2));
}

/* A pipe's queue now (sched engine). */
static inline uint32_t
pipe_qid(const struct lc_shaper *sh, uint32_t pipe)
{
	return sh->pipes[pipe].qid;
}

/* The plan of a queue id: 0 for none. */
static inline uint32_t
qid_plan(const struct lc_shaper *sh, uint32_t qid)
{
	uint32_t sub = qid_subport(sh, qid);

	return sub > SUBPORT_PLAN0 ? sub - SUBPORT_PLAN0 : 0;
}

/* The slot of a plan's pipe in plan_slot. */
static inline uint32_t *
plan_slot(const struct lc_shaper *sh, uint32_t plan, uint32_t pipe_in_subport)
{
	return &sh->plan_slot[((plan - 1) << sh->plan_pipes_log2) + pipe_in_subport];
}

/*
 * rte_sched's clock moves only when it dequeues, and the worker stops
 * dequeuing an empty shaper: bring the clock to now before new credits
 * and periods start. Nothing can come out of an empty shaper.
 */
static void
sched_clock_now(struct lc_shaper *sh)
{
	if (lc_shaper_queued(sh) == 0) {
		struct rte_mbuf *none[1];

		rte_sched_port_dequeue(sh->port, none, 1);
	}
}

/* The index of a pipe's profile: its meter points into the table. */
static inline uint32_t
pipe_profile(const struct lc_shaper *sh, uint32_t pipe)
{
	const char *m = (const char *)sh->meters.pipe[pipe].profile;

	return (uint32_t)((size_t)(m - (const char *)&sh->profiles[0].meter) /
			  sizeof(sh->profiles[0]));
}

/*
 * Configure the pipe of a queue id with profile idx's rates (and clock:
 * rte_sched's clock brought to now first, for a pipe that may hold
 * frames). Re-configuring a pipe resets its credits and keeps its queue:
 * nothing queued is dropped. The arguments are known good, which matters:
 * on a bad one rte_sched frees the port. 0, or -EINVAL (the profile has no
 * rte_sched profile in the queue's subport).
 */
static int
qid_config(struct lc_shaper *sh, uint32_t qid, uint32_t idx, bool clock)
{
	uint32_t id = sh->profiles[idx].sched_id[qid_subport(sh, qid)];

	if (id == PROFILE_NONE)
		return -EINVAL;
	if (clock)
		sched_clock_now(sh);
	return rte_sched_pipe_config(sh->port, qid_subport(sh, qid), qid_pipe(sh, qid),
				     (int32_t)id) != 0 ? -EINVAL : 0;
}

/* Point a pipe at a profile: its queue (if any) and its meter. */
static int
pipe_apply(struct lc_shaper *sh, uint32_t pipe, uint32_t idx, bool fresh)
{
	struct lc_shaper_profile *pr = &sh->profiles[idx];
	struct lc_shaper_meter *m = &sh->meters.pipe[pipe];

	if (sh->port != NULL &&
	    qid_config(sh, fresh ? home_qid(sh, pipe) : pipe_qid(sh, pipe), idx, !fresh) != 0)
		return -EINVAL;
	if (fresh) {
		/* A full bucket; time 0 makes the first check fill it. */
		memset(m, 0, sizeof(*m));
		m->state.tc = pr->meter.cbs;
		if (sh->pipes != NULL) {
			memset(&sh->pipes[pipe], 0, sizeof(sh->pipes[pipe]));
			sh->pipes[pipe].qid = home_qid(sh, pipe);
			lc_pie_reset(&sh->pie, &sh->pipes[pipe].pie, 0);
		}
		if (sh->pipes != NULL)
			sh->pipes[pipe].pace.tokens = (int64_t)pr->meter.cbs;
	} else {
		if (m->state.tc > pr->meter.cbs)
			m->state.tc = pr->meter.cbs;
		/*
		 * Frames already waiting keep their place in the wheel: they
		 * are looked at again when it comes (80 ms ahead at most).
		 */
		if (sh->pipes != NULL && sh->pipes[pipe].pace.tokens > (int64_t)pr->meter.cbs)
			sh->pipes[pipe].pace.tokens = (int64_t)pr->meter.cbs;
	}
	if (sh->pipes != NULL)
		sh->pipes[pipe].pace.prof = (uint32_t)(pr - sh->profiles);
	if (sh->paced_map != NULL) {
		if (pr->paced)
			sh->paced_map[pipe / 64] |= 1ull << (pipe % 64);
		else
			sh->paced_map[pipe / 64] &= ~(1ull << (pipe % 64));
	}
	m->state.te = 0;
	m->profile = &pr->meter;
	return 0;
}

int
lc_shaper_set_pipe(struct lc_shaper *sh, uint32_t pipe, uint64_t rate_bps,
		   uint32_t burst_bytes)
{
	uint64_t rate, burst;
	int idx, ret;

	if (sh == NULL || pipe > sh->users)
		return -EINVAL;
	if (sh->flushing)
		return -EBUSY;
	ret = normalize(sh, rate_bps, burst_bytes, &rate, &burst);
	if (ret != 0)
		return ret;
	idx = profile_find(sh, rate, burst);
	if (idx < 0) {
		idx = profile_add(sh, rate, burst);
		if (idx < 0)
			return idx;
	}
	if ((uint32_t)idx == pipe_profile(sh, pipe))
		return 0;
	return pipe_apply(sh, pipe, (uint32_t)idx, false);
}

int
lc_shaper_check(const struct lc_shaper *sh, uint64_t rate_bps, uint32_t burst_bytes)
{
	uint64_t rate, burst;
	int ret;

	if (sh == NULL)
		return -EINVAL;
	if (sh->flushing)
		return -EBUSY;
	ret = normalize(sh, rate_bps, burst_bytes, &rate, &burst);
	if (ret != 0)
		return ret;
	if (profile_find(sh, rate, burst) < 0 && sh->n_profiles >= sh->max_profiles)
		return -ENOSPC;
	return 0;
}

bool
lc_shaper_can_set(const struct lc_shaper *sh, uint64_t rate_bps,
		  uint32_t burst_bytes)
{
	return lc_shaper_check(sh, rate_bps, burst_bytes) == 0;
}

int
lc_shaper_pipe_profile(const struct lc_shaper *sh, uint32_t pipe,
		       struct lc_shaper_profile_info *info)
{
	const struct lc_shaper_profile *pr;

	if (sh == NULL || pipe > sh->users)
		return -EINVAL;
	pr = &sh->profiles[pipe_profile(sh, pipe)];
	if (info != NULL) {
		info->id = pipe_profile(sh, pipe);
		info->rate = pr->rate;
		info->burst = pr->burst;
		info->period_ms = pr->period_ms;
	}
	return (int)pipe_profile(sh, pipe);
}

/* ---- plans ---------------------------------------------------------- */

/* A plan's total as bytes/s (0: none, the port rate), or -EINVAL. */
static int
plan_rate(const struct lc_shaper *sh, uint32_t plan, uint64_t total_bps, uint64_t *rate)
{
	if (sh->port == NULL || !sh->own_drops)
		return -ENOTSUP;
	if (plan == 0 || plan > sh->plans)
		return -EINVAL;
	if (sh->flushing)
		return -EBUSY;
	if (total_bps == 0 || total_bps / 8 >= sh->port_rate) {
		*rate = 0;
		return 0;
	}
	/* rte_sched turns a subport's share of the port into a fraction too. */
	if (total_bps < LC_SHAPER_RATE_MIN ||
	    total_bps / 8 < sh->port_rate >> LC_SHAPER_RATE_RATIO_LOG2)
		return -EINVAL;
	*rate = total_bps / 8;
	return 0;
}

/* The subport profile of a total: its id, or -1 if it has none yet. */
static int
sub_profile_find(const struct lc_shaper *sh, uint64_t rate)
{
	if (rate == 0)
		return SUBPORT_PROFILE_RATE;
	for (uint32_t i = 0; i < sh->n_sub_profiles; i++)
		if (sh->sub_rate[i] == rate)
			return (int)(2 + i);
	return -1;
}

static bool
sub_profile_room(const struct lc_shaper *sh)
{
	return sh->n_sub_profiles < sh->plans * PLAN_PROFILES_PER_PLAN;
}

/*
 * A subport profile for a total below the port rate. As for a pipe
 * (sched_pipe_params()), the class credits are the exact long-term limit
 * and the token bucket runs a little faster, only to bound bursts.
 */
static int
sub_profile_add(struct lc_shaper *sh, uint64_t rate)
{
	struct rte_sched_subport_profile_params sp;
	uint32_t id;

	memset(&sp, 0, sizeof(sp));
	sp.tb_size = lc_shaper_default_burst(rate * 8);
	sp.tb_rate = rate + rate / TB_HEADROOM_DIV + 1;
	for (int i = 0; i < RTE_SCHED_TRAFFIC_CLASSES_PER_PIPE; i++)
		sp.tc_rate[i] = rate;
	sp.tc_period = tc_period_ms(sh, rate, sp.tb_size);
	if (rte_sched_port_subport_profile_add(sh->port, &sp, &id) != 0)
		return -EINVAL;
	sh->sub_rate[sh->n_sub_profiles++] = rate;
	return (int)id;
}

int
lc_shaper_check_plan(const struct lc_shaper *sh, uint32_t plan, uint64_t total_bps)
{
	uint64_t rate;
	int ret;

	if (sh == NULL)
		return -EINVAL;
	ret = plan_rate(sh, plan, total_bps, &rate);
	if (ret != 0)
		return ret;
	return sub_profile_find(sh, rate) >= 0 || sub_profile_room(sh) ? 0 : -ENOSPC;
}

int
lc_shaper_set_plan(struct lc_shaper *sh, uint32_t plan, uint64_t total_bps)
{
	uint64_t rate;
	int id, ret = lc_shaper_check_plan(sh, plan, total_bps);

	if (ret != 0)
		return ret;
	plan_rate(sh, plan, total_bps, &rate);
	if (rate == sh->plan_total[plan])
		return 0;
	id = sub_profile_find(sh, rate);
	if (id < 0)
		id = sub_profile_add(sh, rate);
	if (id < 0)
		return id;
	sched_clock_now(sh);
	if (rte_sched_subport_config(sh->port, SUBPORT_PLAN0 + plan, NULL, (uint32_t)id) != 0)
		return -EINVAL;
	sh->plan_total[plan] = rate;
	return 0;
}

int
lc_shaper_set_plan_weight(struct lc_shaper *sh, uint32_t plan, uint32_t weight)
{
	uint64_t rate;
	int ret;

	if (sh == NULL)
		return -EINVAL;
	ret = plan_rate(sh, plan, 0, &rate);
	if (ret != 0 && ret != -EBUSY)
		return ret;
	if (weight == 0 || weight > LC_SHAPER_WEIGHT_MAX)
		return -EINVAL;
	sh->sub_weight[SUBPORT_PLAN0 + plan] = weight;
	sh->weighted = false;
	for (uint32_t s = 0; s < sh->n_subports; s++) {
		sh->sub_carry[s] = 0;
		if (sh->sub_weight[s] != 1)
			sh->weighted = true;
	}
	return 0;
}

/*
 * Whether a plan's pipe left by its user may be given out again: nothing
 * of the user is in rte_sched (all it has queued waits in the pacer), nor
 * among the frames that skip it (they carry their queue id to the next
 * dequeue). rte_sched's own queue counters cannot tell: it refuses to read
 * a queue of a subport after one with fewer pipes than the largest.
 */
static bool
slot_drained(const struct lc_shaper *sh, uint32_t plan, uint32_t i)
{
	uint32_t slot = *plan_slot(sh, plan, i);
	const struct lc_shaper_pipe *p = &sh->pipes[slot & ~SLOT_DRAINING];

	return (slot & SLOT_DRAINING) && sh->ready_head == sh->ready_tail &&
	       p->qlen == p->pace.waiting;
}

/* A free pipe of a plan (one left by a user and since drained will do), or -1. */
static int
slot_find(struct lc_shaper *sh, uint32_t plan)
{
	uint32_t n = 1u << sh->plan_pipes_log2;

	if (sh->plan_users[plan] >= n)
		return -1;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = spread(k, sh->plan_pipes_log2);

		if (*plan_slot(sh, plan, i) == 0)
			return (int)i;
	}
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = spread(k, sh->plan_pipes_log2);

		if (slot_drained(sh, plan, i)) {
			*plan_slot(sh, plan, i) = 0;
			return (int)i;
		}
	}
	return -1;
}

static int
pipe_plan_args(const struct lc_shaper *sh, uint32_t pipe, uint32_t plan)
{
	if (sh == NULL || pipe == LC_SHAPER_UNASSIGNED || pipe > sh->users)
		return -EINVAL;
	/* With RED, rte_sched counts the drops, in counters it cannot read for a plan. */
	if (sh->port == NULL || !sh->own_drops)
		return -ENOTSUP;
	if (plan > sh->plans)
		return -EINVAL;
	return sh->flushing ? -EBUSY : 0;
}

int
lc_shaper_pipe_plan_check(const struct lc_shaper *sh, uint32_t pipe, uint32_t plan)
{
	int ret = pipe_plan_args(sh, pipe, plan);

	if (ret != 0 || plan == 0 || plan == lc_shaper_pipe_plan(sh, pipe))
		return ret;
	/* Drained pipes are found only when needed: count what is free for sure. */
	return sh->plan_users[plan] < 1u << sh->plan_pipes_log2 ? 0 : -ENOBUFS;
}

int
lc_shaper_pipe_plan_set(struct lc_shaper *sh, uint32_t pipe, uint32_t plan)
{
	struct lc_shaper_pipe *p;
	uint32_t old, qid;
	int ret = pipe_plan_args(sh, pipe, plan), slot = 0;

	if (ret != 0)
		return ret;
	p = &sh->pipes[pipe];
	old = qid_plan(sh, p->qid);
	if (old == plan)
		return 0;
	if (plan != 0) {
		slot = slot_find(sh, plan);
		if (slot < 0)
			return -ENOBUFS;
		qid = make_qid(sh, SUBPORT_PLAN0 + plan, (uint32_t)slot);
	} else {
		qid = home_qid(sh, pipe);
	}
	/* The pipe there takes the user's limit, with fresh credits. */
	if (qid_config(sh, qid, pipe_profile(sh, pipe), true) != 0)
		return -EINVAL;
	if (plan != 0) {
		*plan_slot(sh, plan, (uint32_t)slot) = pipe;
		sh->plan_users[plan]++;
	}
	if (old != 0) {
		/*
		 * Frames already in rte_sched leave from the old pipe, which
		 * names the user until they are out.
		 */
		*plan_slot(sh, old, qid_pipe(sh, p->qid)) = pipe | SLOT_DRAINING;
		sh->plan_users[old]--;
	}
	/* Frames in the pacer take the new queue when they leave it. */
	p->qid = qid;
	return 0;
}

uint32_t
lc_shaper_pipe_plan(const struct lc_shaper *sh, uint32_t pipe)
{
	if (sh == NULL || sh->pipes == NULL || pipe > sh->users)
		return 0;
	return qid_plan(sh, sh->pipes[pipe].qid);
}

int
lc_shaper_plan_info(const struct lc_shaper *sh, uint32_t plan,
		    struct lc_shaper_plan_info *info)
{
	if (sh == NULL || plan == 0 || plan > sh->plans)
		return -EINVAL;
	info->total = (sh->plan_total[plan] != 0 ? sh->plan_total[plan] : sh->port_rate) * 8;
	info->users = sh->plan_users[plan];
	info->capacity = 1u << sh->plan_pipes_log2;
	info->weight = sh->sub_weight[SUBPORT_PLAN0 + plan];
	return 0;
}

/* ---- creation ------------------------------------------------------- */

static int
check_params(const struct lc_shaper_params *p, uint32_t *queue_size)
{
	uint32_t q = p->queue_size == 0 ? LC_SHAPER_QUEUE_SIZE_DEFAULT : p->queue_size;

	if (p->engine != LC_SHAPER_SCHED && p->engine != LC_SHAPER_POLICE)
		return -EINVAL;
	if (p->aqm != LC_SHAPER_AQM_NONE && p->aqm != LC_SHAPER_AQM_PIE &&
	    p->aqm != LC_SHAPER_AQM_RED)
		return -EINVAL;
	if (p->port_rate < LC_SHAPER_RATE_MIN || p->users == 0 ||
	    p->users > (1u << 24) || p->max_profiles < 2 ||
	    p->max_profiles > (1u << 20) || p->mtu > 65535 ||
	    p->frame_overhead > 256 || q > LC_SHAPER_QUEUE_SIZE_MAX ||
	    p->flows > (1u << 26) || p->plans > LC_SHAPER_PLANS_MAX ||
	    p->plan_users > (1u << 24))
		return -EINVAL;
	if (p->unassigned_rate != 0 && (p->unassigned_rate < LC_SHAPER_RATE_MIN ||
	    p->unassigned_rate < p->port_rate >> LC_SHAPER_RATE_RATIO_LOG2))
		return -EINVAL;
	*queue_size = rte_align32pow2(q);
	return 0;
}

/*
 * RED on the shaped class only (min = max = 0 disables the others), the
 * same for every colour: linecap marks all packets green. The thresholds
 * cannot pass RTE_RED_MAX_TH_MAX.
 */
static int
red_params(const struct lc_shaper *sh, struct rte_sched_cman_params *cm)
{
	uint32_t q = sh->queue_size;
	uint32_t max_th = RTE_MIN(q / 4, (uint32_t)RTE_RED_MAX_TH_MAX);
	uint32_t min_th = RTE_MAX(q / 16, 1u);
	struct rte_red_config rc;

	memset(cm, 0, sizeof(*cm));
	cm->cman_mode = RTE_SCHED_CMAN_RED;
	if (max_th <= min_th)
		max_th = min_th + 1;
	for (int c = 0; c < RTE_COLORS; c++) {
		struct rte_red_params *rp = &cm->red_params[TC_SHAPED][c];

		rp->min_th = min_th;
		rp->max_th = max_th;
		rp->maxp_inv = RED_MAXP_INV;
		rp->wq_log2 = RED_WQ_LOG2;
	}
	/* Checked here: on a bad value rte_sched would free the port. */
	return rte_red_config_init(&rc, RED_WQ_LOG2, min_th, max_th, RED_MAXP_INV) == 0 ?
	       0 : -EINVAL;
}

static int
sched_create(struct lc_shaper *sh, const struct lc_shaper_params *p)
{
	uint32_t user_pipes = 1u << sh->user_pipes_log2;
	uint32_t plan_pipes = sh->plans > 0 ? 1u << sh->plan_pipes_log2 : 0;
	uint64_t all_pipes = (uint64_t)user_pipes + 1 + (uint64_t)sh->plans * plan_pipes +
			     (sh->n_subports - 2 - sh->plans);
	uint64_t frame = (uint64_t)sh->mtu + sh->frame_overhead;
	uint64_t everything = frame * sh->queue_size * all_pipes;
	struct rte_sched_subport_profile_params spp[2];
	struct rte_sched_pipe_params first, flush;
	struct rte_sched_cman_params cman;
	struct rte_sched_subport_params sub[SUBPORTS_MAX];
	struct rte_sched_subport_params *subs[SUBPORTS_MAX];
	struct rte_sched_port_params pp = {
		.name = p->name != NULL ? p->name : "lc_shaper",
		.socket = p->socket_id < 0 ? 0 : p->socket_id,
		.rate = sh->port_rate,
		.mtu = sh->mtu,
		.frame_overhead = sh->frame_overhead,
		.n_subports_per_port = sh->n_subports,
		.subport_profiles = spp,
		.n_subport_profiles = 2,
		.n_max_subport_profiles = 2 + sh->plans * PLAN_PROFILES_PER_PLAN,
		.n_pipes_per_subport = user_pipes,
	};
	uint64_t per_pipe, footprint;
	int ret;

	/*
	 * Subport profile 0 is the whole port: it never limits below the port
	 * rate. Profile 1 lets everything queued leave at once, for flushing.
	 */
	memset(spp, 0, sizeof(spp));
	spp[SUBPORT_PROFILE_RATE].tb_size = lc_shaper_default_burst(sh->port_rate * 8);
	/*
	 * linecap's port bucket holds the port rate; this profile must only
	 * never bind. With a long period it did: on a port below about
	 * 57 mbit, a full port got 40 % of its rate (1 s periods; 59 % with
	 * 100 ms ones), measured by test_port_share.
	 */
	spp[SUBPORT_PROFILE_RATE].tc_period = PORT_TC_PERIOD_MS;
	spp[SUBPORT_PROFILE_FLUSH].tb_size = 2 * everything;
	spp[SUBPORT_PROFILE_FLUSH].tc_period =
		RTE_MAX(ms_for(everything, sh->port_rate), (uint64_t)TC_PERIOD_MIN_MS);
	for (int k = 0; k < 2; k++) {
		spp[k].tb_rate = sh->port_rate;
		for (int i = 0; i < RTE_SCHED_TRAFFIC_CLASSES_PER_PIPE; i++)
			spp[k].tc_rate[i] = sh->port_rate;
	}

	sched_pipe_params(sh, &sh->profiles[0], &first);
	if (sh->aqm == LC_SHAPER_AQM_RED) {
		ret = red_params(sh, &cman);
		if (ret != 0)
			return ret;
	}
	for (uint32_t s = 0; s < sh->n_subports; s++) {
		subs[s] = &sub[s];
		memset(&sub[s], 0, sizeof(sub[s]));
		/* Users; the unassigned; the plans; the padding. */
		sub[s].n_pipes_per_subport_enabled = s == SUBPORT_USERS ? user_pipes :
			s > SUBPORT_PLAN0 && s <= SUBPORT_PLAN0 + sh->plans ? plan_pipes : 1;
		sub[s].qsize[TC_SHAPED] = sh->queue_size;
		sub[s].qsize[RTE_SCHED_TRAFFIC_CLASS_BE] = 1;
		sub[s].pipe_profiles = &first;
		sub[s].n_pipe_profiles = 1;
		sub[s].n_max_pipe_profiles = sh->max_profiles + 1; /* + flush */
		sub[s].cman_params = sh->aqm == LC_SHAPER_AQM_RED ? &cman : NULL;
	}

	/*
	 * rte_sched sizes its memory in 32 bits: refuse what would overflow
	 * (a generous upper bound per pipe: queue slots, 16 queues with
	 * their AQM state, the pipe, the bitmap).
	 */
	per_pipe = (uint64_t)(sh->queue_size + 4) * sizeof(void *) + 16 * 128 + 256;
	if (per_pipe * all_pipes +
	    (uint64_t)sh->max_profiles * sh->n_subports * 256 > INT32_MAX)
		return -EINVAL;
	/* The same checks as rte_sched_port_config() and subport_config(), side-effect free. */
	footprint = rte_sched_port_get_memory_footprint(&pp, subs);
	if (footprint == 0)
		return -EINVAL;

	sh->port = rte_sched_port_config(&pp);
	if (sh->port == NULL)
		return -ENOMEM;
	for (uint32_t s = 0; s < sh->n_subports; s++) {
		ret = rte_sched_subport_config(sh->port, s, &sub[s], SUBPORT_PROFILE_RATE);
		if (ret != 0) {
			/*
			 * On failure rte_sched_subport_config() frees the whole
			 * port on most paths but not all: leaking it beats
			 * freeing it twice, and this only happens at start-up
			 * (everything was checked, so it is ENOMEM).
			 */
			sh->port = NULL;
			return ret < 0 ? ret : -ENOMEM;
		}
	}
	for (uint32_t s = 0; s < sh->n_subports; s++)
		sh->profiles[0].sched_id[s] = 0;

	/*
	 * The flush profile: the port rate, and credit for a whole queue of
	 * the largest frames at once. Its tc_ov_weight (unused: no
	 * best-effort traffic) keeps it distinct from every user profile, as
	 * rte_sched refuses two identical profiles.
	 */
	flush = first;
	flush.tb_rate = sh->port_rate;
	flush.tb_size = 4 * frame * sh->queue_size;
	flush.tc_rate[TC_SHAPED] = sh->port_rate;
	flush.tc_rate[RTE_SCHED_TRAFFIC_CLASS_BE] = sh->port_rate;
	flush.tc_period = RTE_MAX(ms_for(2 * frame * sh->queue_size, sh->port_rate),
				  (uint64_t)TC_PERIOD_MIN_MS);
	flush.tc_ov_weight = 2;
	for (uint32_t s = 0; s < sh->n_subports; s++)
		if (rte_sched_subport_pipe_profile_add(sh->port, s, &flush,
						       &sh->flush_id[s]) != 0)
			return -EINVAL;
	sh->memory += footprint;
	return 0;
}

/*
 * A zeroed array that frames read at random (the pipes, the wheel's links,
 * the FIFOs): without hugepages in memory of linecap's own, advised for
 * transparent huge pages (lc_mem.h), else from the EAL heap. *mapped is
 * the length to unmap, 0 for the heap.
 */
static void *
shaper_array(const char *name, size_t size, size_t align, int socket, size_t *mapped)
{
	*mapped = 0;
	if (rte_eal_has_hugepages() == 0) {
		void *p = lc_mem_map(size, mapped);

		if (p != NULL)
			return p;
	}
	return rte_zmalloc_socket(name, size, align, socket);
}

static void
shaper_array_free(void *p, size_t mapped)
{
	if (mapped != 0)
		lc_mem_unmap(p, mapped);
	else
		rte_free(p);
}

size_t
lc_shaper_mapped_bytes(const struct lc_shaper *sh)
{
	return sh == NULL ? 0 : sh->pipes_mapped + sh->wheel_next_mapped + sh->fifos_mapped;
}

/* A bitmap of a bit a pipe (users + 1), zeroed and counted in the shaper's memory. */
static uint64_t *
pipe_map_alloc(struct lc_shaper *sh, const char *name, uint32_t users, int socket)
{
	size_t size = sizeof(uint64_t) * (users / 64 + 1);
	uint64_t *map = rte_zmalloc_socket(name, size, RTE_CACHE_LINE_SIZE, socket);

	if (map != NULL)
		sh->memory += size;
	return map;
}

struct lc_shaper *
lc_shaper_create(const struct lc_shaper_params *p)
{
	struct lc_shaper *sh;
	uint32_t queue_size;
	int socket, ret;

	if (p == NULL || check_params(p, &queue_size) != 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	socket = p->socket_id < 0 ? SOCKET_ID_ANY : p->socket_id;
	sh = rte_zmalloc_socket("lc_shaper", sizeof(*sh), RTE_CACHE_LINE_SIZE, socket);
	if (sh == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	sh->engine = p->engine;
	sh->aqm = p->aqm;
	sh->users = p->users;
	sh->mtu = p->mtu == 0 ? LC_SHAPER_FRAME_MAX : p->mtu;
	sh->frame_overhead = p->frame_overhead;
	sh->queue_size = queue_size;
	sh->port_rate = p->port_rate / 8;
	sh->hz = p->hz != 0 ? p->hz : rte_get_tsc_hz();
	sh->max_profiles = p->max_profiles;
	meter_profile_init(&sh->port_meter, sh->port_rate,
			   lc_shaper_default_burst(p->port_rate), sh->hz);
	sh->port_tokens = (int64_t)sh->port_meter.cbs;
	sh->own_drops = p->aqm != LC_SHAPER_AQM_RED;
	sh->coin = rte_rand() | 1;
	sh->pie.target_us = PIE_TARGET_US;
	sh->pie.tupdate_us = PIE_TUPDATE_US;
	sh->pie.max_burst_us = PIE_MAX_BURST_US;
	/* PIE runs in microseconds of the same clock as the meters. */
	sh->units_per_us = RTE_MAX(sh->hz / 1000000, (uint64_t)1);
	sh->us_per_unit = sh->hz >= 1000000 ? 1 : 1000000 / sh->hz;
	sh->user_pipes_log2 = rte_log2_u32(rte_align32pow2(p->users));
	if (p->engine == LC_SHAPER_SCHED) {
		uint32_t want = p->plan_users != 0 ? p->plan_users : LC_SHAPER_PLAN_USERS_DEFAULT;

		sh->plans = p->plans;
		/* A plan holds no more users than there are. */
		sh->plan_pipes_log2 = RTE_MIN(rte_log2_u32(rte_align32pow2(want)),
					      sh->user_pipes_log2);
	}
	sh->n_subports = rte_align32pow2(SUBPORT_PLAN0 + 1 + sh->plans);
	for (uint32_t s = 0; s < SUBPORTS_MAX; s++)
		sh->sub_weight[s] = 1;
	sh->plan_qid0 = make_qid(sh, SUBPORT_PLAN0 + 1, 0);
	/* rte_sched's queue ids are 32 bits: subport, pipe, queue. */
	if (rte_log2_u32(sh->n_subports) + sh->user_pipes_log2 + 4 > 32) {
		ret = -EINVAL;
		goto fail;
	}
	if (sh->plans > 0) {
		size_t n = (size_t)sh->plans << sh->plan_pipes_log2;

		sh->plan_slot = rte_zmalloc_socket("lc_shaper_plans", sizeof(*sh->plan_slot) * n,
						   RTE_CACHE_LINE_SIZE, socket);
		if (sh->plan_slot == NULL) {
			ret = -ENOMEM;
			goto fail;
		}
		sh->memory += sizeof(*sh->plan_slot) * n;
	}

	sh->meters.users = p->users;
	sh->meters.frame_overhead = p->frame_overhead;
	sh->meters.pipe = rte_zmalloc_socket("lc_shaper_meters",
		sizeof(*sh->meters.pipe) * ((size_t)p->users + 1),
		RTE_CACHE_LINE_SIZE, socket);
	if (p->engine == LC_SHAPER_SCHED)
		sh->pipes = shaper_array("lc_shaper_pipes",
					 sizeof(*sh->pipes) * ((size_t)p->users + 1),
					 __alignof__(struct lc_shaper_pipe), socket, &sh->pipes_mapped);
	if (p->engine == LC_SHAPER_SCHED && sh->own_drops) {
		sh->wheel = rte_zmalloc_socket("lc_shaper_wheel",
					       sizeof(*sh->wheel) * PACE_SLOTS,
					       RTE_CACHE_LINE_SIZE, socket);
		sh->wheel_next = shaper_array("lc_shaper_wheel_next",
					      sizeof(*sh->wheel_next) * ((size_t)p->users + 1),
					      RTE_CACHE_LINE_SIZE, socket, &sh->wheel_next_mapped);
		if (sh->wheel == NULL || sh->wheel_next == NULL) {
			ret = -ENOMEM;
			goto fail;
		}
		/* Slots of about PACE_SLOT_NS: the largest power of two below. */
		sh->slot_shift = rte_fls_u64(RTE_MAX(sh->hz / (1000000000 / PACE_SLOT_NS),
						     (uint64_t)1)) - 1;
		sh->memory += sizeof(*sh->wheel) * PACE_SLOTS +
			      sizeof(*sh->wheel_next) * ((size_t)p->users + 1);
		/*
		 * A FIFO per flow, up to FLOW_FIFOS_PER_USER per user: only flows
		 * with frames waiting hold one, so two share one only when their
		 * slots meet modulo the count while both wait.
		 */
		if (p->flows > 0)
			sh->flow_fifos = rte_align32prevpow2(
				RTE_MIN(p->flows, RTE_MAX(FLOW_FIFOS_PER_USER * p->users, 1024u)));
		sh->fifos = shaper_array("lc_shaper_fifos", sizeof(*sh->fifos) *
					 ((size_t)sh->flow_fifos + p->users + 1),
					 RTE_CACHE_LINE_SIZE, socket, &sh->fifos_mapped);
		if (sh->fifos == NULL) {
			ret = -ENOMEM;
			goto fail;
		}
		sh->memory += sizeof(*sh->fifos) * ((size_t)sh->flow_fifos + p->users + 1);
		sh->drop_map = pipe_map_alloc(sh, "lc_shaper_drop_map", p->users, socket);
		sh->paced_map = pipe_map_alloc(sh, "lc_shaper_paced_map", p->users, socket);
		if (sh->drop_map == NULL || sh->paced_map == NULL) {
			ret = -ENOMEM;
			goto fail;
		}
	}
	sh->profiles = rte_zmalloc_socket("lc_shaper_profiles",
					  sizeof(*sh->profiles) * p->max_profiles,
					  RTE_CACHE_LINE_SIZE, socket);
	if (sh->meters.pipe == NULL || sh->profiles == NULL ||
	    (p->engine == LC_SHAPER_SCHED && sh->pipes == NULL)) {
		ret = -ENOMEM;
		goto fail;
	}
	sh->memory += sizeof(*sh) + sizeof(*sh->meters.pipe) * ((size_t)p->users + 1) +
		     sizeof(*sh->profiles) * p->max_profiles;
	if (sh->pipes != NULL)
		sh->memory += sizeof(*sh->pipes) * ((size_t)p->users + 1);

	/* Profile 0: the port rate, for every pipe not set yet. */
	ret = profile_add(sh, sh->port_rate, lc_shaper_default_burst(p->port_rate));
	if (ret < 0)
		goto fail;
	if (p->engine == LC_SHAPER_SCHED) {
		ret = sched_create(sh, p);
		if (ret != 0)
			goto fail;
	}
	for (uint32_t u = 1; u <= p->users; u++) {
		ret = pipe_apply(sh, u, 0, true);
		if (ret != 0)
			goto fail;
	}
	ret = pipe_apply(sh, LC_SHAPER_UNASSIGNED, 0, true);
	if (ret == 0 && p->unassigned_rate != 0)
		ret = lc_shaper_set_pipe(sh, LC_SHAPER_UNASSIGNED, p->unassigned_rate, 0);
	if (ret != 0)
		goto fail;
	return sh;

fail:
	lc_shaper_free(sh);
	rte_errno = -ret;
	return NULL;
}

void
lc_shaper_free(struct lc_shaper *sh)
{
	if (sh == NULL)
		return;
	/*
	 * rte_sched_port_free() frees the mbufs still queued, except those
	 * of a queue that is exactly full (its read and write indexes are
	 * equal once masked). Flushing first frees every one.
	 */
	if (sh->port != NULL) {
		struct rte_mbuf *pkts[64];
		/* Bounded by time, not by calls: a loaded machine is slow. */
		uint64_t until = rte_get_tsc_cycles() + 2 * rte_get_tsc_hz();

		while (lc_shaper_queued(sh) > 0 && rte_get_tsc_cycles() < until) {
			uint32_t k = lc_shaper_flush(sh, pkts, RTE_DIM(pkts));

			rte_pktmbuf_free_bulk(pkts, k);
		}
	}
	rte_sched_port_free(sh->port);
	rte_free(sh->wheel);
	shaper_array_free(sh->wheel_next, sh->wheel_next_mapped);
	shaper_array_free(sh->fifos, sh->fifos_mapped);
	rte_free(sh->drop_map);
	rte_free(sh->paced_map);
	rte_free(sh->plan_slot);
	shaper_array_free(sh->pipes, sh->pipes_mapped);
	rte_free(sh->meters.pipe);
	rte_free(sh->profiles);
	rte_free(sh);
}

/* ---- fast path ------------------------------------------------------ */

/* The queue delay of a pipe, in µs: what is queued, at the pipe's rate. */
static inline uint32_t
pipe_qdelay_us(const struct lc_shaper *sh, uint32_t pipe)
{
	uint64_t us = (uint64_t)sh->pipes[pipe].qbytes * 1000000 /
		      pace_profile(sh, &sh->pipes[pipe].pace)->rate;

	return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Bring a pipe's PIE up to now: one update per T_UPDATE elapsed. */
static inline void
pipe_pie_catch_up(struct lc_shaper *sh, uint32_t pipe, uint32_t now_us)
{
	struct lc_shaper_pipe *p = &sh->pipes[pipe];
	uint32_t steps = (now_us - p->pie.time_us) / sh->pie.tupdate_us;

	if (likely(steps == 0))
		return;
	/*
	 * An empty queue whose PIE is at rest stays at rest (no delay, no
	 * probability, the whole burst allowance): the updates would change
	 * nothing. Most pipes are so, most of the time.
	 */
	if (p->qbytes == 0 && p->pie.prob == 0 && p->pie.qdelay_old_us == 0 &&
	    p->pie.burst_left_us == sh->pie.max_burst_us) {
		p->pie.time_us = now_us;
		return;
	}
	if (steps > PIE_CATCH_UP && p->qlen == 0) {
		lc_pie_reset(&sh->pie, &p->pie, now_us);
		return;
	}
	steps = RTE_MIN(steps, (uint32_t)PIE_CATCH_UP);
	for (uint32_t i = 0; i < steps; i++)
		lc_pie_update(&sh->pie, &p->pie, pipe_qdelay_us(sh, pipe));
	p->pie.time_us = now_us;
}

/*
 * PIE's coin, a uniform 32-bit number: xorshift64* on the shaper's own
 * state, inline (rte_rand() is a call into the EAL for every frame PIE
 * may drop, about half of the limited users' frames at peak). Seeded from
 * rte_rand() at create.
 */
static inline uint32_t
pie_coin(struct lc_shaper *sh)
{
	uint64_t x = sh->coin;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	sh->coin = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

/* Count a drop on a pipe; the first since the last collection marks it. */
static inline void
pipe_drop(struct lc_shaper *sh, struct lc_shaper_pipe *p, uint32_t pipe, uint32_t bytes,
	  bool aqm)
{
	if (p->drops++ == 0)
		sh->drop_map[pipe / 64] |= 1ull << (pipe % 64);
	p->drops_aqm += aqm;
	p->drop_bytes += bytes;
}

/* ---- the pacer ------------------------------------------------------ */

/*
 * A bucket's tokens (bytes; the port's may be below zero) brought to now,
 * up to its burst, as rte_meter refills a meter: whole periods of the
 * meter profile mp, *time moved by as many.
 */
static inline int64_t
bucket_refill(int64_t tokens, uint64_t *time, const struct rte_meter_srtcm_profile *mp,
	      uint64_t now)
{
	uint64_t n;

	if (now <= *time)
		return tokens;
	n = (now - *time) / mp->cir_period;
	*time += n * mp->cir_period;
	if (n > (mp->cbs - (uint64_t)RTE_MIN(tokens, (int64_t)0)) / mp->cir_bytes_per_period)
		return (int64_t)mp->cbs;
	return RTE_MIN(tokens + (int64_t)(n * mp->cir_bytes_per_period), (int64_t)mp->cbs);
}

/* Bring the port's bucket to now; true when the port may send. */
static inline bool
port_refill(struct lc_shaper *sh, uint64_t now)
{
	sh->port_tokens = bucket_refill(sh->port_tokens, &sh->port_time, &sh->port_meter, now);
	return sh->port_tokens > 0;
}

/* Add what a pipe's bucket earned since its latest refill, up to the burst. */
static inline void
pace_refill(struct lc_shaper_pace *pc, const struct rte_meter_srtcm_profile *mp,
	    uint64_t now)
{
	pc->tokens = bucket_refill(pc->tokens, &pc->time, mp, now);
}

/*
 * Whether the bucket holds a frame's bytes. A frame larger than the burst
 * (a burst can be set below the largest frame the wire lets in) takes a
 * full bucket.
 */
static inline bool
pace_can_take(const struct lc_shaper_pace *pc, const struct rte_meter_srtcm_profile *mp,
	      uint32_t cost)
{
	return pc->tokens >= (int64_t)cost || pc->tokens == (int64_t)mp->cbs;
}

/* Take a frame's bytes from the bucket if it holds them (pace_can_take()). */
static inline bool
pace_take(struct lc_shaper_pace *pc, const struct rte_meter_srtcm_profile *mp,
	  uint32_t cost)
{
	if (!pace_can_take(pc, mp, cost))
		return false;
	pc->tokens = pc->tokens >= (int64_t)cost ? pc->tokens - (int64_t)cost : 0;
	return true;
}

/* When the bucket will let a frame of `cost` bytes go. */
static inline uint64_t
pace_due(const struct lc_shaper_pace *pc, const struct rte_meter_srtcm_profile *mp,
	 uint32_t cost)
{
	uint64_t want = RTE_MIN((uint64_t)cost, mp->cbs);
	uint64_t periods;

	if (pc->tokens >= (int64_t)want)
		return pc->time;
	periods = (want - (uint64_t)pc->tokens + mp->cir_bytes_per_period - 1) /
		  mp->cir_bytes_per_period;
	return pc->time + periods * mp->cir_period;
}

/* Put a pipe with frames waiting into the slot of `due`. */
static inline void
pace_schedule(struct lc_shaper *sh, uint32_t pipe, uint64_t due)
{
	uint64_t slot = RTE_MAX(due >> sh->slot_shift, sh->wheel_slot);
	uint32_t idx;

	/* Further than the wheel reaches: its last slot, and a new look then. */
	if (slot - sh->wheel_slot >= PACE_SLOTS)
		slot = sh->wheel_slot + PACE_SLOTS - 1;
	idx = (uint32_t)(slot & (PACE_SLOTS - 1));
	sh->wheel_next[pipe] = sh->wheel[idx];
	sh->wheel[idx] = pipe + 1;
}

/* The frame bytes that count against a pipe's rate. */
static inline uint32_t
pace_cost(const struct lc_shaper *sh, const struct rte_mbuf *m)
{
	return m->pkt_len + sh->frame_overhead;
}

/* The FIFO of a flow (a flow slot + 1, not LC_SHAPER_NO_FLOW). */
static inline uint32_t
flow_fifo(const struct lc_shaper *sh, uint32_t flow)
{
	return (flow - 1) & (sh->flow_fifos - 1);
}

/*
 * The FIFO for a frame of `flow` (a flow slot + 1, or LC_SHAPER_NO_FLOW)
 * of a pipe: the flow's own, unless it holds another pipe's frames (its
 * flow slot was reused, the flow moved to another user meanwhile, or
 * another flow's slot meets it) or there is no flow; then the pipe's.
 */
static inline uint32_t
fifo_of(const struct lc_shaper *sh, uint32_t pipe, uint32_t flow)
{
	if (flow != LC_SHAPER_NO_FLOW && sh->flow_fifos > 0) {
		uint32_t q = flow_fifo(sh, flow);
		const struct lc_shaper_fifo *f = &sh->fifos[q];

		if (f->len == 0 || f->pipe == pipe)
			return q;
	}
	return sh->flow_fifos + pipe;
}

/*
 * The FIFO whose head goes next from a pipe with frames waiting (deficit
 * round robin, as fq_codel): the first of the round while its deficit is
 * above zero; else it gets a quantum more and goes to the end of the
 * round. Asking again gives the same answer until a frame leaves.
 */
static inline uint32_t
fifo_pick(struct lc_shaper *sh, struct lc_shaper_pace *pc)
{
	for (;;) {
		uint32_t q = pc->round_head - 1;
		struct lc_shaper_fifo *f = &sh->fifos[q];

		if (f->deficit > 0)
			return q;
		if (f->next == 0) {
			/* Alone in the round: a new turn at once. */
			f->deficit = FQ_QUANTUM;
			return q;
		}
		f->deficit = (int16_t)(f->deficit + FQ_QUANTUM);
		pc->round_head = f->next;
		pc->first = sh->fifos[f->next - 1].head;
		f->next = 0;
		sh->fifos[pc->round_tail - 1].next = q + 1;
		sh->fifos[pc->round_tail - 1].next_len = f->head_len;
		pc->round_tail = q + 1;
	}
}

/*
 * Append a frame to FIFO q of a pipe (from fifo_of()); a FIFO that was
 * empty joins the end of the pipe's round, and a pipe that had nothing
 * waiting enters the wheel.
 */
static inline void
pace_hold(struct lc_shaper *sh, uint32_t pipe, uint32_t q, struct rte_mbuf *m,
	  uint64_t now)
{
	struct lc_shaper_pace *pc = &sh->pipes[pipe].pace;
	struct lc_shaper_fifo *f = &sh->fifos[q];

	/* An empty wheel starts at now. */
	if (sh->pace_waiting == 0)
		sh->wheel_slot = now >> sh->slot_shift;
	pace_link_set(m, NULL);
	if (f->len++ == 0) {
		f->head = m;
		f->head_len = (uint16_t)m->pkt_len;
		f->pipe = pipe;
		f->next = 0;
		f->deficit = FQ_QUANTUM;
		if (pc->round_head == 0) {
			pc->round_head = q + 1;
			pc->first = m;
		} else {
			sh->fifos[pc->round_tail - 1].next = q + 1;
			sh->fifos[pc->round_tail - 1].next_len = (uint16_t)m->pkt_len;
		}
		pc->round_tail = q + 1;
	} else {
		pace_link_set(f->tail, m);
		pace_len_next_set(f->tail, m->pkt_len);
	}
	f->tail = m;
	/*
	 * The fattest FIFO, as far as holding tells: for a full pipe's drop.
	 * Its length is kept here, not read from its line.
	 */
	if (pc->fat == q + 1 || pc->fat_len < f->len) {
		pc->fat = q + 1;
		pc->fat_len = f->len;
	}
	if (pc->waiting++ == 0)
		pace_schedule(sh, pipe, pace_due(pc, &pace_profile(sh, pc)->meter, pace_cost(sh, m)));
	sh->pace_waiting++;
	sh->paced++;
}

/* Give frames to rte_sched; every queue has room (qlen <= queue_size). */
static inline void
sched_put(struct lc_shaper *sh, struct rte_mbuf **pkts, uint32_t n)
{
	int k;

	if (n == 0)
		return;
	for (uint32_t i = 0; i < n; i++)
		sh->sub_queued[qid_subport(sh, rte_mbuf_sched_queue_get(pkts[i]))]++;
	k = rte_sched_port_enqueue(sh->port, pkts, n);
	RTE_ASSERT((uint32_t)k == n);
	sh->sched_in += (uint32_t)k;
}

/*
 * How many frames the next dequeue asks of rte_sched, of want. rte_sched
 * serves its subports in turn: a dequeue call serves the subport it
 * starts at (sh->sub_next) until it has given the frames asked for, and
 * the next call starts at the subport after it; a subport with nothing
 * it may send passes the call on to the next. So the frames asked for
 * are a turn: the first subport with frames from sub_next gets its weight
 * over the largest weight among those with frames, of want (at least one
 * frame; what rounding leaves is carried to its next turn).
 */
static uint32_t
sub_turn(struct lc_shaper *sh, uint32_t want)
{
	uint32_t first = UINT32_MAX, wmax = 0, mask = sh->n_subports - 1;
	int64_t num;
	int32_t q;

	for (uint32_t i = 0; i < sh->n_subports; i++) {
		uint32_t s = (sh->sub_next + i) & mask;

		if (sh->sub_queued[s] == 0)
			continue;
		if (first == UINT32_MAX)
			first = s;
		wmax = RTE_MAX(wmax, sh->sub_weight[s]);
	}
	if (first == UINT32_MAX || sh->sub_weight[first] == wmax)
		return want;
	num = (int64_t)want * sh->sub_weight[first] + sh->sub_carry[first];
	q = (int32_t)RTE_MAX(num / wmax, 1);
	sh->sub_carry[first] = (int32_t)RTE_MAX(num - (int64_t)q * wmax, -(int64_t)wmax);
	return (uint32_t)q;
}

/*
 * A frame its pipe lets go now (its bucket, or no limit) skips rte_sched
 * when rte_sched holds nothing (so that no frame of any pipe waits there
 * before it) and the port has room for it now: there is nothing to
 * schedule, as a Linux qdisc bypasses itself when empty. Otherwise, and
 * for every later frame of the same batch (*to_sched: their order), it is
 * rte_sched's to schedule: the port is congested, and rte_sched shares it.
 * The port's bucket must have been refilled for this batch.
 */
static inline bool
send_ready(struct lc_shaper *sh, struct rte_mbuf *m, bool *to_sched)
{
	uint32_t cost = pace_cost(sh, m);

	/* A plan's total is rte_sched's to keep: its frames always go there. */
	if (*to_sched || rte_mbuf_sched_queue_get(m) >= sh->plan_qid0 ||
	    sh->sched_in != sh->sched_out ||
	    sh->ready_tail - sh->ready_head == READY_SIZE ||
	    sh->port_tokens < (int64_t)cost) {
		*to_sched = true;
		return false;
	}
	sh->port_tokens -= cost;
	sh->ready[sh->ready_tail++ & (READY_SIZE - 1)] = m;
	return true;
}

/* The first frame of FIFO f of a pipe (pc), out of the pacer. */
static inline struct rte_mbuf *
fifo_shift(struct lc_shaper *sh, struct lc_shaper_pace *pc, struct lc_shaper_fifo *f)
{
	struct rte_mbuf *m = f->head;

	f->head = pace_link(m);
	f->head_len = pace_len_next(m);
	m->packet_type = RTE_PTYPE_UNKNOWN;
	f->len--;
	if (pc->fat == (uint32_t)(f - sh->fifos) + 1)
		pc->fat_len = f->len;
	pc->waiting--;
	sh->pace_waiting--;
	return m;
}

/*
 * The first frame of the first FIFO of a pipe's round, out of the pacer
 * and marked for rte_sched; its bytes are taken from the FIFO's deficit,
 * and a FIFO left empty leaves the round. *next_len: the length of the
 * frame that goes next, as this FIFO knows it (its own next frame's, or
 * the next FIFO's next_len when the turn passes to it: an estimate).
 */
static inline struct rte_mbuf *
pace_pop(struct lc_shaper *sh, uint32_t pipe, uint32_t *next_len)
{
	struct lc_shaper_pace *pc = &sh->pipes[pipe].pace;
	uint32_t q = pc->round_head - 1;
	struct lc_shaper_fifo *f = &sh->fifos[q];
	struct rte_mbuf *m = fifo_shift(sh, pc, f);

	/* Past a turn's worth of bytes, how far past does not count. */
	f->deficit = (int16_t)RTE_MAX((int32_t)f->deficit - (int32_t)pace_cost(sh, m),
				      (int32_t)INT16_MIN);
	*next_len = f->len > 0 && (f->deficit > 0 || f->next == 0) ? f->head_len :
		    f->next_len;
	/* The next FIFO's first frame is not known without reading it. */
	pc->first = f->head;
	if (f->len == 0) {
		pc->round_head = f->next;
		if (pc->round_head == 0)
			pc->round_tail = 0;
	}
	rte_mbuf_sched_set(m, pipe_qid(sh, pipe), TC_SHAPED, RTE_COLOR_GREEN);
	return m;
}

/*
 * Whether PIE spares a frame for FIFO f of a pipe whose frames wait in
 * the pacer: f holds FQ_SPARSE frames or fewer (a ping, a keystroke), and
 * either a fatter flow fills the queue (the pipe's fattest FIFO, as far as
 * holding tells, holds more) or the queue is under PIE's target. A queue
 * over the target made of thin flows only (many flows, a frame or two
 * each) spares none: otherwise PIE would drop nothing and the queue would
 * stay full, every drop a tail drop.
 */
static inline bool
fifo_spared(struct lc_shaper *sh, uint32_t pipe, const struct lc_shaper_fifo *f)
{
	const struct lc_shaper_pace *pc = &sh->pipes[pipe].pace;

	if (pc->waiting == 0 || f->len > FQ_SPARSE)
		return false;
	if (pc->fat_len > FQ_SPARSE)
		return true;
	return pipe_qdelay_us(sh, pipe) < sh->pie.target_us;
}

/*
 * The FIFO whose head a full pipe drops to make room for a frame of FIFO
 * q, + 1: its fattest, if that FIFO holds at least twice what q would
 * with the frame (so it keeps a frame, and stays in the round: a FIFO
 * leaves it only from the front). 0 when there is none: the arriving frame
 * is the one to drop. Between flows about as long as each other a drop
 * from one for the other would throw away a frame that has waited to take
 * one that will wait as long, and costs the waited frame's cold lines: so
 * a flow gets in at the fattest's expense only while it holds less than
 * half of what the fattest does (a ping, a keystroke: nothing). A FIFO
 * that emptied has fat_len 0 before another pipe may take it.
 */
static inline uint32_t
fifo_to_drop(const struct lc_shaper *sh, const struct lc_shaper_pace *pc, uint32_t q)
{
	if (pc->fat == 0 || pc->fat == q + 1 ||
	    pc->fat_len < 2u * (sh->fifos[q].len + 1u))
		return 0;
	return pc->fat;
}

/*
 * A full pipe makes room for a frame of FIFO q (fifo_to_drop()). False
 * when it cannot: the arriving frame is the one to drop.
 */
static bool
fifo_drop_fattest(struct lc_shaper *sh, uint32_t pipe, uint32_t q)
{
	struct lc_shaper_pipe *p = &sh->pipes[pipe];
	uint32_t fat = fifo_to_drop(sh, &p->pace, q);
	struct lc_shaper_fifo *f;
	struct rte_mbuf *m;

	if (fat == 0)
		return false;
	f = &sh->fifos[fat - 1];
	RTE_ASSERT(f->pipe == pipe && f->len == p->pace.fat_len);
	m = fifo_shift(sh, &p->pace, f);
	p->qlen--;
	p->qbytes -= m->pkt_len;
	pipe_drop(sh, p, pipe, m->pkt_len, false);
	sh->dropped++;
	sh->evicted++;
	waited_free(m);
	return true;
}

/* Add a frame to a batch for rte_sched, which gets it when full. */
static inline void
sched_batch(struct lc_shaper *sh, struct rte_mbuf **out, uint32_t *n_out,
	    struct rte_mbuf *m)
{
	out[(*n_out)++] = m;
	if (*n_out == PACE_BATCH) {
		sched_put(sh, out, *n_out);
		*n_out = 0;
	}
}

/*
 * A pipe's time has come: the frames its bucket lets go leave the FIFO
 * into out (*n_out; flushed to rte_sched when full), and the pipe goes
 * back into the wheel if frames still wait.
 */
static void
pace_wake(struct lc_shaper *sh, uint32_t pipe, uint64_t now,
	  struct rte_mbuf **out, uint32_t *n_out, bool *to_sched)
{
	struct lc_shaper_pace *pc = &sh->pipes[pipe].pace;
	const struct rte_meter_srtcm_profile *mp = &pace_profile(sh, pc)->meter;
	uint32_t cost, next_len;

	if (pc->waiting == 0)
		return;
	pace_refill(pc, mp, now);
	cost = sh->fifos[fifo_pick(sh, pc)].head_len + sh->frame_overhead;
	for (;;) {
		struct rte_mbuf *m;

		/*
		 * While the frames that skip rte_sched fill their ring, the
		 * others wait here rather than in rte_sched, whose round of
		 * every pipe would then be every frame's way out (a frame
		 * there sends every later one there, until it is empty): the
		 * pipe looks again a slot later. The pacer leaves the ring's
		 * last PACE_READY_ROOM places to frames that arrive.
		 */
		if (unlikely(sh->ready_tail - sh->ready_head >= READY_SIZE - PACE_READY_ROOM) &&
		    !*to_sched && sh->sched_in == sh->sched_out) {
			pace_schedule(sh, pipe, now + (1ull << sh->slot_shift));
			return;
		}
		if (!pace_take(pc, mp, cost)) {
			pace_schedule(sh, pipe, pace_due(pc, mp, cost));
			return;
		}
		m = pace_pop(sh, pipe, &next_len);
		if (!send_ready(sh, m, to_sched))
			sched_batch(sh, out, n_out, m);
		if (pc->waiting == 0)
			return;
		/*
		 * When the bucket cannot pay for the next frame, the pipe is
		 * due again by that frame's length as the FIFO just left knows
		 * it, and the next FIFO's line (cold: it has waited) is read
		 * at that wake, fetched ahead, not now.
		 */
		cost = next_len + sh->frame_overhead;
		if (!pace_can_take(pc, mp, cost)) {
			pace_schedule(sh, pipe, pace_due(pc, mp, cost));
			return;
		}
		cost = sh->fifos[fifo_pick(sh, pc)].head_len + sh->frame_overhead;
	}
}

/*
 * Up to `max` pipes due, from the slots that have passed, into due[];
 * *p is the rest of the slot being taken (0: none). Slots taken are
 * emptied and passed: wakes put pipes back at the next slot to look at or
 * later (a pipe due beyond the wheel may land in a passed slot's place:
 * that is a whole turn of the wheel away).
 */
static uint32_t
pace_gather(struct lc_shaper *sh, uint64_t slot_now, uint32_t *p, uint32_t *slots,
	    uint32_t *due, uint32_t max)
{
	uint32_t n = 0;

	while (n < max) {
		if (*p == 0) {
			uint32_t idx;

			if (sh->wheel_slot >= slot_now)
				break;
			/*
			 * Behind by more than the wheel (the worker was away):
			 * every slot has been looked at once, so every pipe
			 * waiting was woken or put back, and the wheel moves to
			 * now.
			 */
			if ((*slots)++ == PACE_SLOTS) {
				sh->wheel_slot = slot_now;
				break;
			}
			idx = (uint32_t)(sh->wheel_slot & (PACE_SLOTS - 1));
			*p = sh->wheel[idx];
			sh->wheel[idx] = 0;
			sh->wheel_slot++;
			continue;
		}
		due[n++] = *p - 1;
		rte_prefetch0(&sh->pipes[*p - 1]);
		*p = sh->wheel_next[*p - 1];
	}
	return n;
}

/*
 * Fetch ahead what the next calls will read, in three stages over the
 * slots to come, `span` slots each (about what a call passes): the first
 * lines of the first frames of the pipes due in the next span slots (their
 * FIFOs were fetched a call before; the second line, which only freeing
 * the frame reads, is fetched when the pipe wakes, so that the core's
 * outstanding misses here are half as many), the first FIFOs of the span
 * after (their states were fetched a call before), the states of the span
 * after that. A pipe at its limit waits a frame's time (30 ms at peak)
 * between two wakes: what a wake reads is out of every cache by then. At
 * most PACE_BATCH pipes a stage; the wheel's links are in arrays of their
 * own, read, not fetched.
 */
static void
pace_prefetch(struct lc_shaper *sh, uint64_t slot_now, uint32_t span)
{
	for (uint32_t stage = 0; stage < 3; stage++) {
		uint64_t from = slot_now + (uint64_t)stage * span;
		uint32_t n = 0;

		for (uint64_t slot = from; slot < from + span && n < PACE_BATCH; slot++) {
			uint32_t p = sh->wheel[slot & (PACE_SLOTS - 1)];

			for (; p != 0 && n < PACE_BATCH; p = sh->wheel_next[p - 1], n++) {
				const struct lc_shaper_pace *pc = &sh->pipes[p - 1].pace;

				if (stage == 2) {
					rte_prefetch0(pc);
				} else if (stage == 0 && pc->first != NULL) {
					rte_prefetch0(pc->first);
				} else if (pc->round_head != 0) {
					const struct lc_shaper_fifo *f = &sh->fifos[pc->round_head - 1];

					if (stage == 1)
						rte_prefetch0(f);
					else if (f->len > 0)
						rte_prefetch0(f->head);
				}
			}
		}
	}
}

/*
 * Wake the pipes of every slot that has passed, PACE_BUDGET pipes at most;
 * a slot not finished keeps the rest of its pipes for the next call. The
 * pipes go a batch at a time, gathered across slots (at peak a slot holds
 * a pipe or two): their states are fetched together, then their first
 * FIFOs, then their first frames, then they are woken.
 */
static void
pace_release(struct lc_shaper *sh, uint64_t now)
{
	struct rte_mbuf *out[PACE_BATCH];
	uint32_t due[PACE_BATCH];
	uint64_t slot_now = now >> sh->slot_shift;
	uint32_t n_out = 0, budget = PACE_BUDGET, slots = 0, p = sh->wheel_carry, n;
	bool to_sched = false;

	if (sh->wheel_slot + PACE_RELEASE_SLOTS > slot_now && p == 0)
		return;
	port_refill(sh, now);

	while (budget > 0 &&
	       (n = pace_gather(sh, slot_now, &p, &slots, due,
				RTE_MIN(budget, PACE_BATCH))) > 0) {
		for (uint32_t i = 0; i < n; i++) {
			const struct lc_shaper_pace *pc = &sh->pipes[due[i]].pace;

			rte_prefetch0(&sh->fifos[pc->round_head - 1]);
			if (pc->first != NULL)
				pace_prefetch_frame(pc->first);
		}
		for (uint32_t i = 0; i < n; i++) {
			const struct lc_shaper_pace *pc = &sh->pipes[due[i]].pace;

			if (pc->first == NULL)
				pace_prefetch_frame(sh->fifos[pc->round_head - 1].head);
		}
		for (uint32_t i = 0; i < n; i++)
			pace_wake(sh, due[i], now, out, &n_out, &to_sched);
		budget -= n;
	}
	/* Out of budget: the rest of the slot last taken goes first next call. */
	sh->wheel_carry = p;
	sched_put(sh, out, n_out);
	if (p == 0 && sh->pace_waiting > 0)
		pace_prefetch(sh, slot_now, RTE_MAX(RTE_MIN(slots, PACE_PREFETCH_SPAN_MAX),
						    PACE_RELEASE_SLOTS));
}

/* Everything in the pacer to rte_sched, whatever the buckets (flushing). */
static void
pace_release_all(struct lc_shaper *sh)
{
	struct rte_mbuf *out[PACE_BATCH];
	uint32_t n_out = 0, next_len;

	for (uint32_t pipe = 0; pipe <= sh->users && sh->pace_waiting > 0; pipe++)
		while (sh->pipes[pipe].pace.waiting > 0)
			sched_batch(sh, out, &n_out, pace_pop(sh, pipe, &next_len));
	sched_put(sh, out, n_out);
	memset(sh->wheel, 0, sizeof(*sh->wheel) * PACE_SLOTS);
	sh->wheel_carry = 0;
}

/* Whether a pipe's profile is paced, from paced_map (a hint: see there). */
static inline bool
pipe_paced_hint(const struct lc_shaper *sh, uint32_t pipe)
{
	return (sh->paced_map[pipe / 64] >> (pipe % 64)) & 1;
}

/*
 * Whether a frame of a pipe may need its FIFO: the pipe paces (its frames
 * may wait), holds frames in the pacer (a limit just lifted), or is full
 * (a frame of another FIFO may make room). Reads only the pipe's line.
 */
static inline bool
pipe_needs_fifo(const struct lc_shaper *sh, const struct lc_shaper_pipe *p)
{
	return pace_profile(sh, &p->pace)->paced || p->pace.waiting > 0 ||
	       p->qlen >= sh->queue_size;
}

/*
 * The FIFO of frame i of a burst (fifo_of()), found once: *q is
 * UINT32_MAX until then.
 */
static inline uint32_t
frame_fifo(const struct lc_shaper *sh, uint32_t pipe, const uint32_t *flows, uint32_t i,
	   uint32_t *q)
{
	if (*q == UINT32_MAX)
		*q = fifo_of(sh, pipe, flows != NULL ? flows[i] : LC_SHAPER_NO_FLOW);
	return *q;
}

void
lc_shaper_prefetch(const struct lc_shaper *sh, const uint32_t *pipes,
		   const uint32_t *flows, uint32_t n)
{
	if (sh->pipes == NULL || !sh->own_drops)
		return;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t pipe = likely(pipes[i] <= sh->users) ? pipes[i] : 0;
		const struct lc_shaper_pipe *p = &sh->pipes[pipe];

		rte_prefetch0(p);
		rte_prefetch0(&p->pie);
		if (flows != NULL && flows[i] != LC_SHAPER_NO_FLOW && sh->flow_fifos > 0 &&
		    pipe_paced_hint(sh, pipe))
			rte_prefetch0(&sh->fifos[flow_fifo(sh, flows[i])]);
	}
}

/*
 * Decide, before rte_sched, which packets enter their queue (aqm none or
 * pie): tail drop at queue_size (from the longest sub-queue in the pacer),
 * then PIE. Keeps the survivors in pkts and returns how many; the others
 * are freed and counted on their pipes.
 */
static uint32_t
admit(struct lc_shaper *sh, struct rte_mbuf **pkts, const uint32_t *pipes,
      const uint32_t *flows, uint32_t n, uint64_t now)
{
	uint32_t kept = 0, nd = 0, aqm = 0, n_full = RTE_MIN(n, PACE_BATCH);
	uint32_t full[PACE_BATCH]; /* the fattest FIFO of a full pipe, + 1, of the first frames */
	struct rte_mbuf *gone[PACE_BATCH]; /* frames dropped, freed together */
	uint32_t n_gone = 0;
	uint32_t now_us = (uint32_t)(now / sh->units_per_us * sh->us_per_unit);
	bool to_sched = sh->flushing;

	port_refill(sh, now);
	lc_shaper_prefetch(sh, pipes, flows, n);
	/*
	 * The last frame waiting in each FIFO, which a frame held is linked
	 * to; and where a pipe is full, its fattest FIFO, whose first frame
	 * makes room (fifo_drop_fattest()). A frame that a full pipe will
	 * refuse is linked to nothing: its FIFO's last frame is not fetched
	 * (at peak about half of the limited users' frames are so). A frame
	 * of a pipe that needs no FIFO (pipe_needs_fifo()) reads none.
	 */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t pipe = likely(pipes[i] <= sh->users) ? pipes[i] : 0;
		uint32_t q = UINT32_MAX, fat = 0;

		if (i < n_full)
			full[i] = 0;
		if (!pipe_needs_fifo(sh, &sh->pipes[pipe]))
			continue;
		frame_fifo(sh, pipe, flows, i, &q);
		if (unlikely(sh->pipes[pipe].qlen >= sh->queue_size)) {
			fat = fifo_to_drop(sh, &sh->pipes[pipe].pace, q);
			if (fat != 0)
				rte_prefetch0(&sh->fifos[fat - 1]);
			else
				q = UINT32_MAX;
		}
		if (i < n_full)
			full[i] = fat;
		if (q == UINT32_MAX)
			continue;
		if (sh->fifos[q].len > 0)
			rte_prefetch0(sh->fifos[q].tail);
		else if (sh->pipes[pipe].pace.round_tail != 0)
			/* The FIFO joins the round after its last FIFO, which pace_hold() writes. */
			rte_prefetch0_write(&sh->fifos[sh->pipes[pipe].pace.round_tail - 1]);
	}
	/* The first frames to be dropped: their link, and freeing them (waited_free()). */
	for (uint32_t i = 0; i < n_full; i++)
		if (full[i] != 0)
			rte_prefetch0(sh->fifos[full[i] - 1].head);
	for (uint32_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t pipe = pipes[i];
		struct lc_shaper_pipe *p;
		bool drop_aqm = false;
		/* The frame's FIFO, read only where it is needed (frame_fifo()). */
		uint32_t q = UINT32_MAX;

		if (unlikely(pipe > sh->users))
			pipe = LC_SHAPER_UNASSIGNED;
		p = &sh->pipes[pipe];
		/*
		 * While the pipe's frames wait in the pacer, PIE spares a flow
		 * that has next to nothing waiting there (fifo_spared()).
		 */
		if (sh->aqm == LC_SHAPER_AQM_PIE && p->qlen < sh->queue_size) {
			pipe_pie_catch_up(sh, pipe, now_us);
			/* PIE first: it rarely drops, and fifo_spared() may read another line. */
			drop_aqm = lc_pie_may_drop(&sh->pie, &p->pie, p->qlen) &&
				   pie_coin(sh) < p->pie.prob &&
				   !fifo_spared(sh, pipe, &sh->fifos[frame_fifo(sh, pipe, flows, i, &q)]);
		}
		if (unlikely(drop_aqm || (p->qlen >= sh->queue_size &&
					  !fifo_drop_fattest(sh, pipe,
							     frame_fifo(sh, pipe, flows, i, &q))))) {
			pipe_drop(sh, p, pipe, m->pkt_len, drop_aqm);
			aqm += drop_aqm;
			nd++;
			gone[n_gone++] = m;
			if (n_gone == PACE_BATCH) {
				rte_pktmbuf_free_bulk(gone, n_gone);
				n_gone = 0;
			}
			continue;
		}
		p->qlen++;
		p->qbytes += m->pkt_len;
		/*
		 * A limited pipe's frame goes to rte_sched only if its bucket
		 * lets it go now and nothing of the pipe waits before it.
		 */
		if (pace_profile(sh, &p->pace)->paced && !sh->flushing) {
			struct lc_shaper_pace *pc = &p->pace;
			const struct rte_meter_srtcm_profile *mp = &pace_profile(sh, pc)->meter;

			if (pc->waiting > 0) {
				pace_hold(sh, pipe, frame_fifo(sh, pipe, flows, i, &q), m, now);
				continue;
			}
			pace_refill(pc, mp, now);
			if (!pace_take(pc, mp, pace_cost(sh, m))) {
				pace_hold(sh, pipe, frame_fifo(sh, pipe, flows, i, &q), m, now);
				continue;
			}
		} else if (unlikely(p->pace.waiting > 0)) {
			/* A limit just lifted: the frames before it go first. */
			pace_hold(sh, pipe, frame_fifo(sh, pipe, flows, i, &q), m, now);
			continue;
		}
		/* Marked for rte_sched only now: a frame held is linked through the same field. */
		rte_mbuf_sched_set(m, pipe_qid(sh, pipe), TC_SHAPED, RTE_COLOR_GREEN);
		if (send_ready(sh, m, &to_sched))
			continue;
		pkts[kept++] = m;
	}
	rte_pktmbuf_free_bulk(gone, n_gone);
	sh->dropped += nd;
	sh->dropped_aqm += aqm;
	return kept;
}

uint32_t
lc_shaper_enqueue(struct lc_shaper *sh, struct rte_mbuf **pkts,
		  const uint32_t *pipes, uint32_t n, uint64_t now)
{
	return lc_shaper_enqueue_flows(sh, pkts, pipes, NULL, n, now);
}

uint32_t
lc_shaper_enqueue_flows(struct lc_shaper *sh, struct rte_mbuf **pkts,
			const uint32_t *pipes, const uint32_t *flows, uint32_t n,
			uint64_t now)
{
	uint32_t accepted;

	if (unlikely(sh->port == NULL)) {
		rte_pktmbuf_free_bulk(pkts, n);
		sh->dropped += n;
		return 0;
	}
	if (sh->own_drops) {
		uint64_t held = sh->paced, evicted = sh->evicted;
		uint32_t ready = sh->ready_tail;
		uint32_t kept = admit(sh, pkts, pipes, flows, n, now);

		/* Every queue has room: rte_sched takes them all. */
		sched_put(sh, pkts, kept);
		accepted = kept + (uint32_t)(sh->paced - held) + (sh->ready_tail - ready);
		sh->enqueued += accepted;
		/* A frame pushed out for a newer one counts as this call's drop. */
		return accepted - (uint32_t)(sh->evicted - evicted);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t pipe = pipes[i];

		if (unlikely(pipe > sh->users))
			pipe = LC_SHAPER_UNASSIGNED;
		rte_mbuf_sched_set(pkts[i], pipe_qid(sh, pipe), TC_SHAPED,
				   RTE_COLOR_GREEN);
	}
	/* What RED or a full queue refuses is freed by rte_sched. */
	accepted = (uint32_t)rte_sched_port_enqueue(sh->port, pkts, n);
	sh->sched_in += accepted;
	sh->enqueued += accepted;
	sh->dropped += n - accepted;
	return accepted;
}

uint32_t
lc_shaper_dequeue(struct lc_shaper *sh, struct rte_mbuf **pkts, uint32_t n,
		  uint64_t now)
{
	uint64_t bytes = 0, ready_bytes = 0;
	uint32_t k, ready;

	/*
	 * The frames that skipped rte_sched first: they were let go before
	 * anything now in rte_sched came. rte_sched is asked only when it
	 * holds frames (it would scan its whole bitmap to find nothing) and
	 * the port has room. Its clock stands still meanwhile, which costs
	 * nothing while it holds nothing (lc_shaper_set_pipe() moves it).
	 */
	if (unlikely(sh->port == NULL) || lc_shaper_queued(sh) == 0)
		return 0;
	if (sh->pace_waiting > 0)
		pace_release(sh, now);
	for (k = 0; k < n && sh->ready_head != sh->ready_tail; k++)
		pkts[k] = sh->ready[sh->ready_head++ & (READY_SIZE - 1)];
	ready = k;
	if (k < n && sh->sched_in != sh->sched_out &&
	    (sh->flushing || port_refill(sh, now))) {
		uint32_t want = sh->weighted && !sh->flushing ? sub_turn(sh, n - k) : n - k;
		uint32_t j = (uint32_t)rte_sched_port_dequeue(sh->port, pkts + k, want);

		sh->sched_out += j;
		/* rte_sched starts its next call after the subport that filled this one. */
		if (j == want)
			sh->sub_next = (qid_subport(sh, rte_mbuf_sched_queue_get(pkts[k + j - 1])) + 1) &
				       (sh->n_subports - 1);
		k += j;
	}
	for (uint32_t i = 0; i < k; i++) {
		uint32_t len = pkts[i]->pkt_len;

		bytes += len;
		if (i + 1 == ready)
			ready_bytes = bytes;
		if (sh->own_drops) {
			struct lc_shaper_pipe *p = &sh->pipes[lc_shaper_pkt_pipe(sh, pkts[i])];

			p->qlen--;
			p->qbytes -= len;
			if (i >= ready)
				sh->sub_queued[qid_subport(sh, rte_mbuf_sched_queue_get(pkts[i]))]--;
		}
	}
	/* What rte_sched let out is the port's (the ready frames paid before). */
	sh->port_tokens -= (int64_t)(bytes - ready_bytes +
				     (uint64_t)(k - ready) * sh->frame_overhead);
	sh->dequeued += k;
	sh->dequeued_bytes += bytes;
	return k;
}

uint32_t
lc_shaper_flush(struct lc_shaper *sh, struct rte_mbuf **pkts, uint32_t n)
{
	if (sh->port == NULL)
		return 0;
	if (!sh->flushing) {
		sh->flushing = true;
		if (sh->wheel != NULL)
			pace_release_all(sh);
		for (uint32_t s = 0; s < sh->n_subports; s++)
			rte_sched_subport_config(sh->port, s, NULL, SUBPORT_PROFILE_FLUSH);
		for (uint32_t pipe = 0; pipe <= sh->users; pipe++) {
			uint32_t qid = pipe_qid(sh, pipe);

			rte_sched_pipe_config(sh->port, qid_subport(sh, qid), qid_pipe(sh, qid),
					      (int32_t)sh->flush_id[qid_subport(sh, qid)]);
		}
		/* Pipes a user left with frames still queued. */
		for (uint32_t plan = 1; plan <= sh->plans; plan++)
			for (uint32_t i = 0; i < 1u << sh->plan_pipes_log2; i++)
				if (*plan_slot(sh, plan, i) & SLOT_DRAINING)
					rte_sched_pipe_config(sh->port, SUBPORT_PLAN0 + plan, i,
						(int32_t)sh->flush_id[SUBPORT_PLAN0 + plan]);
	}
	return lc_shaper_dequeue(sh, pkts, n, 0);
}

uint32_t
lc_shaper_queued(const struct lc_shaper *sh)
{
	return (uint32_t)(sh->enqueued - sh->dequeued - sh->evicted);
}

uint32_t
lc_shaper_pkt_pipe(const struct lc_shaper *sh, const struct rte_mbuf *pkt)
{
	uint32_t qid = rte_mbuf_sched_queue_get(pkt);
	uint32_t sub = qid_subport(sh, qid);

	if (likely(sub == SUBPORT_USERS))
		return unspread(qid_pipe(sh, qid), sh->user_pipes_log2) + 1;
	if (sub == SUBPORT_UNASSIGNED)
		return LC_SHAPER_UNASSIGNED;
	return *plan_slot(sh, sub - SUBPORT_PLAN0, qid_pipe(sh, qid)) & ~SLOT_DRAINING;
}

struct lc_shaper_meters *
lc_shaper_meters(struct lc_shaper *sh)
{
	return &sh->meters;
}

/* ---- counters ------------------------------------------------------- */

int
lc_shaper_collect_drops(struct lc_shaper *sh, uint32_t first_pipe,
			uint32_t n_pipes, lc_shaper_drops_fn fn, void *arg)
{
	uint32_t end;
	int reported = 0;

	if (sh == NULL || fn == NULL || first_pipe > sh->users)
		return -EINVAL;
	if (sh->port == NULL)
		return 0;
	end = n_pipes > sh->users + 1 - first_pipe ? sh->users + 1 : first_pipe + n_pipes;
	if (sh->own_drops) {
		/* The marked pipes only: a sweep reads a word per 64 pipes. */
		for (uint32_t pipe = first_pipe; pipe < end; pipe = (pipe | 63) + 1) {
			uint64_t word = sh->drop_map[pipe / 64] & (~0ull << (pipe % 64));

			if (end - (pipe & ~63u) < 64)
				word &= (1ull << (end % 64)) - 1;
			sh->drop_map[pipe / 64] &= ~word;
			while (word != 0) {
				uint32_t i = (pipe & ~63u) + (uint32_t)__builtin_ctzll(word);
				struct lc_shaper_pipe *p = &sh->pipes[i];

				word &= word - 1;
				fn(arg, i, p->drops, p->drop_bytes, p->drops_aqm);
				p->drops = p->drops_aqm = p->drop_bytes = 0;
				reported++;
			}
		}
		return reported;
	}
	for (uint32_t pipe = first_pipe; pipe < end; pipe++) {
		struct rte_sched_queue_stats st;
		uint16_t qlen;

		/* rte_sched's counters, read and cleared. */
		if (rte_sched_queue_read_stats(sh->port, pipe_qid(sh, pipe), &st, &qlen) != 0)
			return -EINVAL;
		if (st.n_pkts_dropped == 0)
			continue;
		fn(arg, pipe, st.n_pkts_dropped, st.n_bytes_dropped, st.n_pkts_cman_dropped);
		reported++;
	}
	return reported;
}

void
lc_shaper_stats_get(struct lc_shaper *sh, struct lc_shaper_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (sh->port != NULL && !sh->own_drops) {
		/* The subport counters are read and cleared: only this reads them. */
		for (uint32_t s = 0; s < sh->n_subports; s++) {
			struct rte_sched_subport_stats ss;
			uint32_t tc_ov;

			if (rte_sched_subport_read_stats(sh->port, s, &ss, &tc_ov) != 0)
				continue;
			for (int i = 0; i < RTE_SCHED_TRAFFIC_CLASSES_PER_PIPE; i++)
				sh->dropped_aqm += ss.n_pkts_cman_dropped[i];
		}
	}
	/* A frame pushed out for a newer one counts as dropped, not enqueued. */
	st->enqueued = sh->enqueued - sh->evicted;
	st->dequeued = sh->dequeued;
	st->dequeued_bytes = sh->dequeued_bytes;
	st->dropped_aqm = sh->dropped_aqm;
	st->dropped_tail = sh->dropped - sh->dropped_aqm;
	st->evicted = sh->evicted;
	st->queued = sh->enqueued - sh->dequeued - sh->evicted;
	st->paced = sh->paced;
	st->pacer_queued = sh->pace_waiting;
	st->sched_queued = sh->sched_in - sh->sched_out;
	st->meter_red = sh->meters.red;
	st->profiles_used = sh->n_profiles;
	st->profiles_max = sh->max_profiles;
	st->memory_bytes = sh->memory;
}

enum lc_shaper_engine
lc_shaper_engine(const struct lc_shaper *sh)
{
	return sh->engine;
}

const char *
lc_shaper_engine_name(enum lc_shaper_engine e)
{
	switch (e) {
	case LC_SHAPER_SCHED:
		return "sched";
	case LC_SHAPER_POLICE:
		return "police";
	}
	return NULL;
}

const char *
lc_shaper_aqm_name(enum lc_shaper_aqm a)
{
	switch (a) {
	case LC_SHAPER_AQM_NONE:
		return "none";
	case LC_SHAPER_AQM_PIE:
		return "pie";
	case LC_SHAPER_AQM_RED:
		return "red";
	}
	return NULL;
}
