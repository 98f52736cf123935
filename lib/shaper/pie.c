/* SPDX-License-Identifier: MIT */
/* PIE's controller step (RFC 8033 section 4.2, as Linux's sch_pie does it). */
#include "pie.h"

#define ALPHA 0.125 /* per second of delay error */
#define BETA 1.25   /* per second of delay change */
#define BOOST_DELAY 0.25
#define BOOST_PROB 0.02
#define DECAY 0.98

void
lc_pie_update(const struct lc_pie_config *cfg, struct lc_pie *st,
	      uint32_t qdelay_us)
{
	double prob = (double)st->prob / LC_PIE_PROB_ONE;
	double qdelay = qdelay_us * 1e-6;
	double qdelay_old = st->qdelay_old_us * 1e-6;
	double target = cfg->target_us * 1e-6;
	/* Signed: a queue under target lowers the probability. */
	double p = ALPHA * (qdelay - target) + BETA * (qdelay - qdelay_old);

	/* Small probabilities move in small steps (RFC 8033 4.2, auto-tuning). */
	if (prob < 0.000001)
		p /= 2048;
	else if (prob < 0.00001)
		p /= 512;
	else if (prob < 0.0001)
		p /= 128;
	else if (prob < 0.001)
		p /= 32;
	else if (prob < 0.01)
		p /= 8;
	else if (prob < 0.1)
		p /= 2;
	else if (p > BOOST_PROB)
		p = BOOST_PROB;
	prob += p;
	/* A very long queue: drop harder at once. */
	if (qdelay > BOOST_DELAY)
		prob += BOOST_PROB;
	/* An empty queue lets the probability decay. */
	if (qdelay_us == 0 && st->qdelay_old_us == 0)
		prob *= DECAY;
	if (prob < 0)
		prob = 0;
	if (prob > 1)
		prob = 1;

	st->burst_left_us = st->burst_left_us > cfg->tupdate_us ?
			    st->burst_left_us - cfg->tupdate_us : 0;
	/* Congestion over: the next burst may pass again (RFC 8033 4.3). */
	if (prob == 0 && qdelay < target / 2 && qdelay_old < target / 2)
		st->burst_left_us = cfg->max_burst_us;
	st->qdelay_old_us = qdelay_us;
	st->prob = (uint32_t)(prob * LC_PIE_PROB_ONE);
}
