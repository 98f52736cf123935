/* SPDX-License-Identifier: MIT */
/*
 * lib/call: who runs a request, and who frees it, when the caller may give
 * up. The callee runs on a thread of its own.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lc_call.h"

struct req {
	struct lc_call call;
	int in, out;
	unsigned int delay_ms;   /* the callee takes this long to take it */
	bool ran;
};

static void
sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The callee: waits, then takes the request and answers, or finds it cancelled. */
static void *
callee(void *arg)
{
	struct req *r = arg;

	sleep_ms(r->delay_ms);
	if (!lc_call_take(&r->call))
		return (void *)1; /* cancelled: the callee owns it, never runs it */
	r->ran = true;
	r->out = r->in * 2;
	lc_call_done(&r->call);
	return NULL;
}

static void
test_answered(void **state)
{
	struct req r = { .in = 21 };
	pthread_t t;

	(void)state;
	lc_call_init(&r.call);
	assert_int_equal(pthread_create(&t, NULL, callee, &r), 0);
	assert_int_equal(lc_call_wait(&r.call, 5000, 1000), 0);
	assert_true(r.ran);
	assert_int_equal(r.out, 42);
	pthread_join(t, NULL);
}

static void
test_timed_out_never_runs(void **state)
{
	struct req *r = calloc(1, sizeof(*r));
	pthread_t t;
	void *cancelled;

	(void)state;
	r->delay_ms = 200;
	lc_call_init(&r->call);
	assert_int_equal(pthread_create(&t, NULL, callee, r), 0);
	assert_int_equal(lc_call_wait(&r->call, 20, 0), -ETIMEDOUT);
	assert_int_equal(r->call.state, LC_CALL_CANCELLED);
	pthread_join(t, &cancelled);
	/* The callee found it cancelled and did not run it; it frees it. */
	assert_ptr_equal(cancelled, (void *)1);
	assert_false(r->ran);
	free(r);
}

/* Taken before the deadline: the caller waits for the answer past it. */
static void *
slow_callee(void *arg)
{
	struct req *r = arg;

	assert_true(lc_call_take(&r->call));
	sleep_ms(100);
	r->out = 7;
	lc_call_done(&r->call);
	return NULL;
}

static void
test_running_is_waited_for(void **state)
{
	struct req r = { 0 };
	pthread_t t;

	(void)state;
	lc_call_init(&r.call);
	assert_int_equal(pthread_create(&t, NULL, slow_callee, &r), 0);
	while (__atomic_load_n(&r.call.state, __ATOMIC_ACQUIRE) == LC_CALL_PENDING)
		sleep_ms(1);
	assert_int_equal(lc_call_wait(&r.call, 10, 0), 0);
	assert_int_equal(r.out, 7);
	pthread_join(t, NULL);
}

/* Once cancelled, a request cannot be taken, and an answered one not cancelled. */
static void
test_states(void **state)
{
	struct lc_call c;

	(void)state;
	lc_call_init(&c);
	assert_int_equal(lc_call_wait(&c, 0, 0), -ETIMEDOUT);
	assert_false(lc_call_take(&c));
	lc_call_init(&c);
	assert_true(lc_call_take(&c));
	assert_false(lc_call_take(&c));
	lc_call_done(&c);
	assert_int_equal(lc_call_wait(&c, 0, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answered),
		cmocka_unit_test(test_timed_out_never_runs),
		cmocka_unit_test(test_running_is_waited_for),
		cmocka_unit_test(test_states),
	};

	return cmocka_run_group_tests_name("call", tests, NULL, NULL);
}
