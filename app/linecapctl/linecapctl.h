/* SPDX-License-Identifier: MIT */
/*
 * linecapctl's parts, shared by its commands:
 *
 * - the channel to linecapd (channel.c): how bytes reach the management
 *   socket. Only ctl_channel_open() knows the transport; everything else
 *   sends and receives through the channel, so a TCP or TLS channel is a
 *   second open function that fills in its own send, recv and close.
 */
#ifndef LINECAPCTL_H
#define LINECAPCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_EXIT_ERROR_REPLY 1
#define CTL_EXIT_UNREACHABLE 2

/* ---- channel.c: the connection to linecapd ---- */

struct ctl_channel;

/*
 * Connect to linecapd at `target` (today the path of its Unix socket).
 * Returns NULL with the reason in err (it names the target) on failure.
 * The channel's descriptor is non-blocking.
 */
struct ctl_channel *ctl_channel_open(const char *target, char *err, size_t err_size);
void ctl_channel_close(struct ctl_channel *ch);

/* The descriptor to poll: POLLIN for replies, POLLOUT for room to send. */
int ctl_channel_fd(const struct ctl_channel *ch);

/*
 * Like send(2) and recv(2) without blocking: bytes moved, 0 from recv at the
 * end of the stream, -1 with errno (EAGAIN: nothing now).
 */
ssize_t ctl_channel_send(struct ctl_channel *ch, const void *data, size_t len);
ssize_t ctl_channel_recv(struct ctl_channel *ch, void *data, size_t len);

#endif
