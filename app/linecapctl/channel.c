/* SPDX-License-Identifier: MIT */
/*
 * The channel to linecapd: the Unix stream socket of [mgmt] socket, or
 * (linecapctl --connect) TLS over TCP to [mgmt] listen. The transport lives
 * only in ctl_channel_open(), which picks the send, recv and close of the
 * channel; the commands, the batch mode and `top` stay as they are.
 *
 * TLS: the handshake blocks (at most DIAL_TIMEOUT_MS), then the socket is
 * non-blocking like the Unix one. OpenSSL may hold decrypted bytes that
 * poll(2) cannot see: tls_recv() reads until the socket has nothing more
 * or the caller's buffer is full, and ctl_channel_pending() says when
 * bytes are still held, so that the caller reads again before it polls.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lc_mgmt_tls.h"
#include "linecapctl.h"

#define DIAL_TIMEOUT_MS 10000

/* Set by ctl_channel_use_tls(): the target is then HOST:PORT. */
static struct lc_mgmt_tls_files tls_files;
static bool use_tls;

struct ctl_channel {
	int fd;
	SSL *ssl;
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

static ssize_t
tls_send(struct ctl_channel *ch, const void *data, size_t len)
{
	return lc_mgmt_tls_send(ch->ssl, data, len);
}

static ssize_t
tls_recv(struct ctl_channel *ch, void *data, size_t len)
{
	size_t got = 0;

	/* A TLS record is at most 16 KiB: take as many as are there. */
	while (got < len) {
		ssize_t n = lc_mgmt_tls_recv(ch->ssl, (char *)data + got, len - got);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (got > 0 && (n == 0 || errno == EAGAIN))
			break; /* the end, if it is one, is seen next time */
		return n;
	}
	return (ssize_t)got;
}

static void
tls_close(struct ctl_channel *ch)
{
	lc_mgmt_tls_close(ch->ssl);
}

void
ctl_channel_use_tls(const struct lc_mgmt_tls_files *files)
{
	tls_files = *files;
	use_tls = true;
}

bool
ctl_channel_pending(const struct ctl_channel *ch)
{
	return ch->ssl != NULL && SSL_pending(ch->ssl) > 0;
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
	if (use_tls) {
		/* A peer that left makes a write fail, not kill us. */
		signal(SIGPIPE, SIG_IGN);
		ch->ssl = lc_mgmt_tls_dial(target, &tls_files, DIAL_TIMEOUT_MS, err,
					   err_size);
		if (ch->ssl == NULL) {
			free(ch);
			return NULL;
		}
		ch->fd = SSL_get_fd(ch->ssl);
		ch->send = tls_send;
		ch->recv = tls_recv;
		ch->close = tls_close;
		return ch;
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
