/* SPDX-License-Identifier: MIT */
/*
 * A door into the control thread for the other threads of linecapd (DPDK's
 * telemetry thread, libmicrohttpd's): a request, handed over through a
 * pipe that the control loop watches, runs on the control thread, which
 * owns the state it reads. The hand-over is lib/call's: a request whose
 * caller timed out is freed by the control thread unanswered.
 */
#ifndef DOOR_H
#define DOOR_H

#include "lc_call.h"
#include "lc_mgmt.h"

struct door {
	int pipe[2];
	/* On the control thread: answer a request taken from the pipe. */
	void (*run)(struct lc_call *call, void *arg);
	/* On the control thread: free a request whose caller gave up. */
	void (*drop)(struct lc_call *call, void *arg);
	void *arg;
};

/* Make the pipe and have mgmt's poll watch it. 0 or -errno. */
int door_open(struct door *door, struct lc_mgmt *mgmt);

/*
 * On another thread: hand a request over (its lc_call first initialised
 * here) and wait for it at most timeout_ms. 0: answered, the request is the
 * caller's again. -ETIMEDOUT: the control thread frees it. -EIO: it could
 * not be handed over; it is still the caller's.
 */
int door_call(struct door *door, struct lc_call *call, unsigned int timeout_ms);

/* On the control thread: answer, or drop, what waits in the pipe now. */
void door_serve(struct door *door);

/* At stop, once no other thread calls any more: drop what is left, close. */
void door_close(struct door *door);

#endif /* DOOR_H */
