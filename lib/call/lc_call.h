/* SPDX-License-Identifier: MIT */
/*
 * A call from one thread to another that the caller may give up on.
 *
 * The control thread calls the worker (lib/wire) and the telemetry thread
 * calls the control thread (linecapd's telemetry.c) the same way: the caller
 * hands over a request that embeds a struct lc_call, by a ring or a pipe,
 * and waits for it with a timeout. The callee either takes the request and
 * answers it, or finds that its caller gave up and frees it unanswered:
 *
 *   PENDING --callee takes--> RUNNING --callee answers--> DONE (caller frees)
 *      \--caller gives up--> CANCELLED (callee frees, never runs it)
 *
 * A caller that times out while the request is RUNNING waits for the answer:
 * the callee is executing it now, and that is one bounded step. So a request
 * that timed out never runs, nothing it points to is touched after its
 * caller returned, and a "did not answer" never hides an applied change.
 * Whoever frees the request is decided by one compare-and-swap each side.
 */
#ifndef LC_CALL_H
#define LC_CALL_H

#include <stdbool.h>
#include <stdint.h>

enum lc_call_state {
	LC_CALL_PENDING = 0,
	LC_CALL_RUNNING,
	LC_CALL_DONE,
	LC_CALL_CANCELLED,
};

struct lc_call {
	uint32_t state; /* enum lc_call_state */
};

/* The caller, before it hands the request over. */
static inline void
lc_call_init(struct lc_call *c)
{
	__atomic_store_n(&c->state, LC_CALL_PENDING, __ATOMIC_RELAXED);
}

/*
 * The callee, before it runs a request: true, and the request is its
 * until lc_call_done(); false if the caller gave up, and then the callee
 * frees the request without running it.
 */
static inline bool
lc_call_take(struct lc_call *c)
{
	uint32_t expected = LC_CALL_PENDING;

	return __atomic_compare_exchange_n(&c->state, &expected, LC_CALL_RUNNING,
					   false, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE);
}

/* The callee, once the answer is written: the caller owns the request now. */
static inline void
lc_call_done(struct lc_call *c)
{
	__atomic_store_n(&c->state, LC_CALL_DONE, __ATOMIC_RELEASE);
}

/*
 * The caller: wait for the answer, at most timeout_ms unless the callee
 * took the request by then. It spins for the first spin_us (a callee with
 * its own core answers in microseconds), then sleeps 100 us at a time.
 * Returns 0 when answered: the caller reads the answer and frees the
 * request. Returns -ETIMEDOUT when the request was cancelled: the caller
 * must not touch it again, the callee frees it.
 */
int lc_call_wait(struct lc_call *c, unsigned int timeout_ms, unsigned int spin_us);

#endif /* LC_CALL_H */
