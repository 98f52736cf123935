/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lc_mgmt.h"

/* Lines handled per client per poll, so one client cannot starve others. */
#define LINES_PER_POLL LC_MGMT_BATCH_MAX
/* Above this much unsent output a client's input is not read until it drains. */
#define OUTPUT_HIGH_WATER (256 * 1024)
/* A client whose pending output makes no progress this long is cut off. */
#define STALL_TIMEOUT_NS (30ULL * 1000000000ULL)
#define DEFAULT_MAX_OUTPUT (16u * 1024 * 1024)

struct client {
	int fd;                 /* -1: free slot */
	bool discarding;        /* dropping the rest of an over-long line */
	bool eof;               /* the peer will send nothing more */
	bool want_out;          /* too much output queued: input is not read */
	uint32_t events;        /* what epoll watches for now */
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t stalled_since; /* ns; 0 when output is flowing */
	char in[LC_MGMT_LINE_MAX + 2];
};

struct watch {
	int fd;
	void (*fn)(void *arg);
	void *arg;
};

struct lc_mgmt {
	int listen_fd;
	struct watch watches[LC_MGMT_WATCH_MAX];
	unsigned int n_watches;
	int epoll_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct lc_mgmt_table *table;
	uint32_t max_clients;
	size_t max_output;
	struct client *clients;
	struct lc_mgmt_stats stats;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct lc_mgmt *
lc_mgmt_create(const struct lc_mgmt_params *p)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct lc_mgmt *m;
	int err;

	if (p == NULL || p->path == NULL || p->table == NULL ||
	    p->max_clients == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (strlen(p->path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->listen_fd = m->epoll_fd = -1;
	m->table = p->table;
	m->max_clients = p->max_clients;
	m->max_output = p->max_output ? p->max_output : DEFAULT_MAX_OUTPUT;
	m->clients = calloc(p->max_clients, sizeof(*m->clients));
	if (m->clients == NULL)
		goto fail;
	for (uint32_t i = 0; i < p->max_clients; i++)
		m->clients[i].fd = -1;

	snprintf(m->path, sizeof(m->path), "%s", p->path);
	memcpy(addr.sun_path, m->path, strlen(m->path) + 1);

	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0)
		goto fail;
	/*
	 * A socket file left by a daemon that died is replaced; one that a
	 * live daemon answers on is not.
	 */
	if (connect(m->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		errno = EADDRINUSE;
		goto fail;
	}
	close(m->listen_fd);
	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0)
		goto fail;
	unlink(m->path);

	/* Create the socket with its final mode: no window with a wider one. */
	mode_t old = umask(0777 & ~p->mode);
	int rc = bind(m->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (rc != 0)
		goto fail;
	if (chmod(m->path, p->mode) != 0 || listen(m->listen_fd, 64) != 0)
		goto fail_unlink;

	m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epoll_fd < 0)
		goto fail_unlink;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, m->listen_fd, &ev) != 0)
		goto fail_unlink;
	return m;

fail_unlink:
	err = errno;
	unlink(m->path);
	errno = err;
fail:
	err = errno;
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	if (m->epoll_fd >= 0)
		close(m->epoll_fd);
	free(m->clients);
	free(m);
	errno = err;
	return NULL;
}

static void
client_close(struct lc_mgmt *m, struct client *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	memset(c, 0, offsetof(struct client, in));
	c->fd = -1;
	m->stats.closed++;
	m->stats.clients--;
}

void
lc_mgmt_free(struct lc_mgmt *m)
{
	if (m == NULL)
		return;
	for (uint32_t i = 0; i < m->max_clients; i++)
		client_close(m, &m->clients[i]);
	close(m->listen_fd);
	close(m->epoll_fd);
	unlink(m->path);
	free(m->clients);
	free(m);
}

/*
 * Watch for room to send while output is queued, and for input unless so
 * much output is queued that the client must read before it may ask more.
 */
static void
client_watch(struct lc_mgmt *m, struct client *c)
{
	size_t queued = c->out_len - c->out_off;
	struct epoll_event ev = { .data.ptr = c };

	c->want_out = queued > OUTPUT_HIGH_WATER || (c->eof && queued > 0);
	ev.events = (queued > 0 ? EPOLLOUT : 0) | (c->want_out ? 0 : EPOLLIN);
	if (ev.events == c->events)
		return;
	c->events = ev.events;
	epoll_ctl(m->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Send what is queued. Returns -1 if the client had to be closed. */
static int
client_flush(struct lc_mgmt *m, struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_off += (size_t)n;
			c->stalled_since = 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (c->stalled_since == 0)
				c->stalled_since = now_ns();
			break;
		}
		client_close(m, c);
		return -1;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		c->stalled_since = 0;
		if (c->eof) {
			client_close(m, c);
			return -1;
		}
	}
	client_watch(m, c);
	return 0;
}

static int
client_reserve(struct lc_mgmt *m, struct client *c, size_t need)
{
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + need <= c->out_cap)
		return 0;
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		if (c->out_len + need <= c->out_cap)
			return 0;
	}
	if (c->out_len + need > m->max_output)
		return -ENOBUFS;
	size_t cap = c->out_cap ? c->out_cap : 4096;
	while (cap < c->out_len + need)
		cap *= 2;
	if (cap > m->max_output)
		cap = m->max_output;
	char *grown = realloc(c->out, cap);
	if (grown == NULL)
		return -ENOMEM;
	c->out = grown;
	c->out_cap = cap;
	return 0;
}

/* Queue one reply line. Returns -1 if the client had to be closed. */
static int
client_reply(struct lc_mgmt *m, struct client *c, json_t *reply)
{
	size_t need = reply ? json_dumpb(reply, NULL, 0, JSON_COMPACT) : 0;

	if (reply == NULL || need == 0 || client_reserve(m, c, need + 1) != 0) {
		static const char fallback[] =
			"{\"ok\":false,\"error\":\"reply too large for the client's "
			"buffer; ask for less (a LIMIT)\"}";
		if (client_reserve(m, c, sizeof(fallback)) != 0) {
			m->stats.cut_off++;
			client_close(m, c);
			return -1;
		}
		memcpy(c->out + c->out_len, fallback, sizeof(fallback) - 1);
		c->out_len += sizeof(fallback) - 1;
		m->stats.errors++;
	} else {
		json_dumpb(reply, c->out + c->out_len, need, JSON_COMPACT);
		c->out_len += need;
		if (!json_is_true(json_object_get(reply, "ok")))
			m->stats.errors++;
	}
	c->out[c->out_len++] = '\n';
	return 0;
}

static int
client_too_long(struct lc_mgmt *m, struct client *c)
{
	json_t *reply = json_object();
	int rc;

	m->stats.requests++;
	m->stats.too_long++;
	json_object_set_new(reply, "ok", json_false());
	lc_mgmt_error(reply, "line longer than %d bytes; the rest of it is ignored",
		      LC_MGMT_LINE_MAX);
	rc = client_reply(m, c, reply);
	json_decref(reply);
	return rc;
}

/* Execute lines and queue their replies. Returns -1 if the client was closed. */
static int
client_run(struct lc_mgmt *m, struct client *c, const char *const lines[],
	   const size_t lens[], unsigned int n)
{
	json_t *replies[LC_MGMT_BATCH_MAX];
	int rc = 0;

	lc_mgmt_exec_lines(m->table, lines, lens, n, replies);
	m->stats.requests += n;
	for (unsigned int i = 0; i < n; i++) {
		if (rc == 0 && client_reply(m, c, replies[i]) < 0)
			rc = -1;
		json_decref(replies[i]);
	}
	return rc;
}

/*
 * Execute the complete lines in the input buffer, at most LINES_PER_POLL, as
 * one batch. Returns 1 if complete lines remain, 0 if not, -1 if the client
 * was closed.
 */
static int
client_process(struct lc_mgmt *m, struct client *c)
{
	const char *lines[LINES_PER_POLL];
	size_t lens[LINES_PER_POLL];
	size_t start = 0;
	unsigned int n = 0;
	int more = 0;

	if (c->out_len - c->out_off > OUTPUT_HIGH_WATER)
		return c->in_len > 0;
	while (start < c->in_len) {
		if (n == LINES_PER_POLL) {
			more = 1;
			break;
		}
		char *nl = memchr(c->in + start, '\n', c->in_len - start);
		if (nl == NULL)
			break;
		size_t len = (size_t)(nl - (c->in + start));
		if (c->discarding) {
			c->discarding = false;
		} else {
			lines[n] = c->in + start;
			lens[n++] = len;
		}
		start += len + 1;
	}
	if (n > 0 && client_run(m, c, lines, lens, n) < 0)
		return -1;
	if (start > 0) {
		memmove(c->in, c->in + start, c->in_len - start);
		c->in_len -= start;
	}
	if (more)
		return 1;
	if (c->in_len > LC_MGMT_LINE_MAX) {
		/* No newline within the limit: answer once, then skip to the next. */
		if (!c->discarding && client_too_long(m, c) < 0)
			return -1;
		c->discarding = true;
		c->in_len = 0;
	}
	if (c->eof && c->in_len > 0 && !c->discarding) {
		/* A last line without its newline, from a half-closed client. */
		const char *line = c->in;
		size_t len = c->in_len;

		c->in_len = 0;
		if (client_run(m, c, &line, &len, 1) < 0)
			return -1;
	}
	return 0;
}

static int
client_read(struct lc_mgmt *m, struct client *c)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		size_t room = sizeof(c->in) - c->in_len;

		if (room == 0)
			return 1; /* full of complete lines still to execute */
		ssize_t n = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);

		if (n > 0) {
			c->in_len += (size_t)n;
			int rc = client_process(m, c);
			if (rc != 0)
				return rc;
			continue;
		}
		if (n == 0) {
			c->eof = true;
			int rc = client_process(m, c);
			if (rc < 0)
				return rc;
			if (c->out_len == c->out_off) {
				client_close(m, c);
				return -1;
			}
			return client_flush(m, c);
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		client_close(m, c);
		return -1;
	}
	return 1;
}

static void
accept_clients(struct lc_mgmt *m)
{
	for (;;) {
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c = NULL;

		if (fd < 0)
			return;
		for (uint32_t i = 0; i < m->max_clients; i++) {
			if (m->clients[i].fd < 0) {
				c = &m->clients[i];
				break;
			}
		}
		if (c == NULL) {
			static const char busy[] =
				"{\"ok\":false,\"error\":\"too many clients\"}\n";
			/* Best effort: a client that is already gone needs no reason. */
			(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			m->stats.rejected++;
			continue;
		}
		memset(c, 0, offsetof(struct client, in));
		c->fd = fd;
		c->events = EPOLLIN;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			c->fd = -1;
			continue;
		}
		m->stats.accepted++;
		m->stats.clients++;
	}
}

int
lc_mgmt_poll(struct lc_mgmt *m, int timeout_ms)
{
	struct epoll_event events[32];
	bool backlog = false;
	int n;

	/* Clients with complete lines left over from the last call go first. */
	for (uint32_t i = 0; i < m->max_clients; i++) {
		struct client *c = &m->clients[i];

		if (c->fd < 0 || c->want_out || c->in_len == 0)
			continue;
		int rc = client_process(m, c);
		if (rc >= 0 && client_flush(m, c) == 0 && rc > 0)
			backlog = true;
	}

	n = epoll_wait(m->epoll_fd, events, 32, backlog ? 0 : timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct client *c = events[i].data.ptr;

		if (c == NULL) {
			accept_clients(m);
			continue;
		}
		if ((void *)c >= (void *)m->watches &&
		    (void *)c < (void *)(m->watches + LC_MGMT_WATCH_MAX)) {
			struct watch *wt = (struct watch *)(void *)c;

			wt->fn(wt->arg);
			continue;
		}
		if (c->fd < 0)
			continue;
		if (events[i].events & EPOLLOUT) {
			if (client_flush(m, c) < 0)
				continue;
		}
		if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
			if (c->want_out) {
				if (events[i].events & (EPOLLHUP | EPOLLERR))
					client_close(m, c);
				continue;
			}
			if (client_read(m, c) < 0)
				continue;
			client_flush(m, c);
		}
	}

	/* Cut off clients that have stopped reading their replies. */
	uint64_t now = now_ns();
	for (uint32_t i = 0; i < m->max_clients; i++) {
		struct client *c = &m->clients[i];

		if (c->fd >= 0 && c->stalled_since != 0 &&
		    now - c->stalled_since > STALL_TIMEOUT_NS) {
			m->stats.cut_off++;
			client_close(m, c);
		}
	}
	return 0;
}

int
lc_mgmt_watch_fd(struct lc_mgmt *m, int fd, void (*fn)(void *arg), void *arg)
{
	struct watch *wt;

	if (m->n_watches == LC_MGMT_WATCH_MAX)
		return -ENOSPC;
	wt = &m->watches[m->n_watches];
	wt->fd = fd;
	wt->fn = fn;
	wt->arg = arg;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = wt };
	if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
		return -errno;
	m->n_watches++;
	return 0;
}

void
lc_mgmt_get_stats(const struct lc_mgmt *m, struct lc_mgmt_stats *stats)
{
	*stats = m->stats;
}
