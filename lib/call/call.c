/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <time.h>

#include "lc_call.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

int
lc_call_wait(struct lc_call *c, unsigned int timeout_ms, unsigned int spin_us)
{
	const struct timespec nap = { .tv_nsec = 100000 };
	uint64_t start = now_ns();
	uint64_t deadline = start + (uint64_t)timeout_ms * 1000000u;
	uint64_t spin_until = start + (uint64_t)spin_us * 1000u;
	unsigned int polls = 0;
	bool spinning = spin_us > 0;

	while (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != LC_CALL_DONE) {
		/* While spinning, the clock is read every 64 polls. */
		if (spinning && (++polls & 63) != 0) {
			cpu_relax();
			continue;
		}
		uint64_t t = now_ns();

		if (t > deadline) {
			uint32_t expected = LC_CALL_PENDING;

			/*
			 * Not taken yet: cancel it, and the callee frees it
			 * without running it. Taken: the callee is running it
			 * now, so wait for its answer.
			 */
			if (__atomic_compare_exchange_n(&c->state, &expected,
							LC_CALL_CANCELLED, false,
							__ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE))
				return -ETIMEDOUT;
		}
		if (t < spin_until) {
			cpu_relax();
		} else {
			spinning = false;
			nanosleep(&nap, NULL);
		}
	}
	return 0;
}
