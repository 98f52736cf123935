/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "door.h"

void
door_serve(struct door *door)
{
	struct lc_call *calls[16];
	ssize_t n = read(door->pipe[0], calls, sizeof(calls));

	for (ssize_t i = 0; i < n / (ssize_t)sizeof(calls[0]); i++) {
		/* Its caller gave up: the request is ours to free, unanswered. */
		if (!lc_call_take(calls[i])) {
			door->drop(calls[i], door->arg);
			continue;
		}
		door->run(calls[i], door->arg);
		lc_call_done(calls[i]);
	}
}

static void
serve(void *arg)
{
	door_serve(arg);
}

int
door_open(struct door *door, struct lc_mgmt *mgmt)
{
	if (pipe2(door->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -errno;
	/* The writer blocks: a request is never lost to a full pipe. */
	fcntl(door->pipe[1], F_SETFL, 0);
	return lc_mgmt_watch_fd(mgmt, door->pipe[0], serve, door);
}

int
door_call(struct door *door, struct lc_call *call, unsigned int timeout_ms)
{
	lc_call_init(call);
	if (write(door->pipe[1], &call, sizeof(call)) != (ssize_t)sizeof(call))
		return -EIO;
	return lc_call_wait(call, timeout_ms, 0);
}

void
door_close(struct door *door)
{
	struct lc_call *calls[16];
	ssize_t n;

	if (door->pipe[0] < 0)
		return;
	/* Whatever is left was cancelled: no thread waits for it. */
	while ((n = read(door->pipe[0], calls, sizeof(calls))) > 0)
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(calls[0]); i++)
			door->drop(calls[i], door->arg);
	close(door->pipe[0]);
	close(door->pipe[1]);
	door->pipe[0] = door->pipe[1] = -1;
}
