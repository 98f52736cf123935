/* SPDX-License-Identifier: MIT */
/*
 * The channel to linecapd. Today it is the Unix stream socket of [mgmt]
 * socket; the transport lives only in ctl_channel_open(), which picks the
 * send, recv and close of the channel. A TCP or TLS channel is another open
 * function (chosen, say, by a target of the form tls://HOST:PORT) with its
 * own three operations; the commands, the batch mode and `top` stay as
 * they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "linecapctl.h"

struct ctl_channel {
	int fd;
	ssize_t (*send)(struct ctl_channel *ch, const void *data, size_t len);
	ssize_t (*recv)(struct ctl_channel *ch, void *data, size_t len);
	void (*close)(struct ctl_channel *ch);
};

static ssize_t
stream_send(struct ctl_channel *ch, const void *data, size_t len)
{
	return send(ch->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static ssize_t
stream_recv(struct ctl_channel *ch, void *data, size_t len)
{
	return recv(ch->fd, data, len, MSG_DONTWAIT);
}

static void
stream_close(struct ctl_channel *ch)
{
	close(ch->fd);
}

static int
unix_connect(const char *path, char *err, size_t err_size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd;

	if (len >= sizeof(addr.sun_path)) {
		snprintf(err, err_size, "socket path too long: %s", path);
		return -1;
	}
	memcpy(addr.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		snprintf(err, err_size, "cannot reach linecapd at %s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Connected while blocking (a Unix connect never waits long); then not. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct ctl_channel *
ctl_channel_open(const char *target, char *err, size_t err_size)
{
	struct ctl_channel *ch = calloc(1, sizeof(*ch));

	if (ch == NULL) {
		snprintf(err, err_size, "%s", strerror(ENOMEM));
		return NULL;
	}
	ch->fd = unix_connect(target, err, err_size);
	if (ch->fd < 0) {
		free(ch);
		return NULL;
	}
	ch->send = stream_send;
	ch->recv = stream_recv;
	ch->close = stream_close;
	return ch;
}

void
ctl_channel_close(struct ctl_channel *ch)
{
	if (ch == NULL)
		return;
	ch->close(ch);
	free(ch);
}

int
ctl_channel_fd(const struct ctl_channel *ch)
{
	return ch->fd;
}

ssize_t
ctl_channel_send(struct ctl_channel *ch, const void *data, size_t len)
{
	return ch->send(ch, data, len);
}

ssize_t
ctl_channel_recv(struct ctl_channel *ch, void *data, size_t len)
{
	return ch->recv(ch, data, len);
}

int
ctl_buf_append(struct ctl_buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		char *d;

		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (d == NULL)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	return 0;
}

void
ctl_buf_consume(struct ctl_buf *b, size_t n)
{
	/* An empty buffer may have no memory yet: memmove(NULL, ...) is undefined. */
	if (n == 0)
		return;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}
