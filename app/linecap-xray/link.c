/* SPDX-License-Identifier: MIT */
/*
 * The link to linecapd's management socket.
 *
 * Commands are appended to one bounded output buffer and written with
 * non-blocking sends, pipelined: a batch is flushed when it holds BATCH_MAX
 * commands or when its first command is FLUSH_US old, whichever comes first.
 * Replies come back in order, one JSON object per line; they are read as
 * they arrive and only counted, an error reply also logged (rate-limited).
 *
 * Nothing waits for linecapd. While it is away, assignments are only
 * remembered (the replay table, filled by the caller). While it is slow, the
 * main loop reads the log only when the buffer has room (xr_link_room), so
 * the log waits on disk; should a command still find the buffer full, it is
 * dropped and counted.
 *
 * A link is stalled only when linecapd leaves bytes unread that are waiting
 * for it: the stall clock starts when a send first finds the socket full
 * (EAGAIN) and starts again whenever a later send makes progress with bytes
 * still left; it stops when everything is sent. Bytes that were merely queued
 * for the 1 ms batch, and the quiet time since the last send, never count,
 * so a link that had nothing to send for hours is as healthy as any. After
 * stall_us (10 s by default) of a full socket the connection is dropped, and
 * the follower reads on with linecapd away.
 *
 * linecapd closes a client that has said nothing for its [mgmt]
 * idle_timeout (300 s by default), without a word. For the follower that
 * would look like a restart of linecapd: a reconnection and a replay of the
 * whole window, every idle_timeout of a quiet log. So a link with nothing
 * sent or answered for keepalive_us sends a `ping`. It is sent only with no
 * command in flight, so that the next reply is its reply, which is not
 * counted as an answer to an assignment. Each
 * (re)connection first re-sends the recent assignments from the replay
 * table, newest per client endpoint, so a restarted linecapd re-learns who
 * is who; reconnection backs off exponentially from BACKOFF_MIN_US to
 * BACKOFF_MAX_US.
 *
 * The link is the Unix socket, or (--connect) TLS over TCP to linecapd's
 * [mgmt] listen, for a follower on another node. A TLS connection is made
 * and its handshake done at once, waiting DIAL_TIMEOUT_MS at most (the log
 * waits meanwhile, on disk); then the socket is non-blocking and
 * everything above holds as it is: OpenSSL's "wants to read/write" is
 * EAGAIN, and replies are read until EAGAIN, so no decrypted byte is left
 * inside OpenSSL unseen by poll(2).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "lc_mgmt_tls.h"
#include "xray.h"

#define OUT_CAP (1u << 20)          /* bytes of queued commands */
#define BATCH_MAX 64                /* commands per batch */
#define FLUSH_US 1000               /* oldest queued command waits this */
#define IN_CAP 8192                 /* longest reply line we read whole */
#define BACKOFF_MIN_US 100000
#define BACKOFF_MAX_US 5000000
#define REPLAY_PER_SERVICE 4096     /* replay commands per loop turn */
#define CMD_MAX XR_CMD_MAX
#define ERROR_LOG_WINDOW_US 10000000
#define ERROR_LOG_PER_WINDOW 5
#define DOWN_LOG_EVERY_US 60000000
#define DIAL_TIMEOUT_MS 3000

struct xr_link {
	char *path;              /* the socket, or HOST:PORT with TLS */
	int fd;                  /* -1 while down */
	bool use_tls;
	struct lc_mgmt_tls_files tls;
	SSL *ssl;                /* with TLS, while up */
	struct xr_replay *replay;
	uint64_t replay_us;
	struct xr_counters *c;

	char *out;               /* queued bytes are [out_off, out_len) */
	size_t out_off, out_len;
	unsigned int batch;      /* commands queued since the last send */
	uint64_t batch_since;
	bool want_write;         /* the socket said EAGAIN; bytes wait */
	uint64_t stall_since;    /* while want_write: full with no progress */
	uint64_t stall_us;
	uint64_t keepalive_us;   /* 0: no ping */
	uint64_t last_active;    /* connected, sent or answered */
	bool ping_pending;       /* the next reply is the ping's */
	uint64_t inflight;       /* commands sent, not yet answered */

	char in[IN_CAP];         /* a reply line being received */
	size_t in_len;
	bool in_discard;         /* inside a reply longer than IN_CAP */

	uint64_t next_connect;
	uint64_t backoff;
	bool got_reply;          /* since this connection was made */
	uint64_t down_since;
	uint64_t down_logged_at;
	uint64_t attempts;

	bool replaying;
	uint64_t replay_cursor, replay_end, replay_sent;

	uint64_t err_window_start;
	unsigned int err_logged;
	uint64_t err_suppressed;
};

/* The connection's bytes: through TLS, or the Unix socket's. */
static ssize_t
link_send(struct xr_link *l, const void *data, size_t len)
{
	if (l->ssl != NULL)
		return lc_mgmt_tls_send(l->ssl, data, len);
	return send(l->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static ssize_t
link_recv(struct xr_link *l, void *data, size_t len)
{
	if (l->ssl != NULL)
		return lc_mgmt_tls_recv(l->ssl, data, len);
	return recv(l->fd, data, len, MSG_DONTWAIT);
}

static void
link_close(struct xr_link *l)
{
	if (l->ssl != NULL)
		lc_mgmt_tls_close(l->ssl); /* and its socket */
	else if (l->fd >= 0)
		close(l->fd);
	l->ssl = NULL;
	l->fd = -1;
}

struct xr_link *
xr_link_create(const char *socket_path, const struct lc_mgmt_tls_files *tls,
	       struct xr_replay *replay, uint64_t replay_us, uint64_t stall_us,
	       uint64_t keepalive_us, struct xr_counters *counters)
{
	struct sockaddr_un sun;
	struct xr_link *l;

	if (tls == NULL && strlen(socket_path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->fd = -1;
	if (tls != NULL) {
		l->use_tls = true;
		l->tls = *tls;
	}
	l->replay = replay;
	l->replay_us = replay_us;
	l->stall_us = stall_us;
	l->keepalive_us = keepalive_us;
	l->c = counters;
	l->backoff = BACKOFF_MIN_US;
	l->path = strdup(socket_path);
	l->out = malloc(OUT_CAP);
	if (l->path == NULL || l->out == NULL) {
		xr_link_free(l);
		return NULL;
	}
	return l;
}

void
xr_link_free(struct xr_link *l)
{
	if (l == NULL)
		return;
	link_close(l);
	free(l->path);
	free(l->out);
	free(l);
}

bool
xr_link_up(const struct xr_link *l)
{
	return l->fd >= 0;
}

size_t
xr_link_room(const struct xr_link *l)
{
	return OUT_CAP - (l->out_len - l->out_off);
}

static void
disconnect(struct xr_link *l, uint64_t now, const char *why)
{
	/* A connection that answered was good: start the backoff again. */
	if (l->got_reply)
		l->backoff = BACKOFF_MIN_US;
	xr_log("lost linecapd at %s: %s; %llu commands unanswered, %zu bytes "
	       "unsent; reconnecting in %llu ms", l->path, why,
	       (unsigned long long)l->inflight, l->out_len - l->out_off,
	       (unsigned long long)(l->backoff / 1000));
	link_close(l);
	l->c->disconnects++;
	/* What was queued is in the replay table and goes again later. */
	l->out_off = l->out_len = 0;
	l->batch = 0;
	l->inflight = 0;
	l->replaying = false;
	l->want_write = false;
	l->ping_pending = false;
	l->next_connect = now + l->backoff;
	l->backoff = l->backoff * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US :
						       l->backoff * 2;
	l->down_since = now;
	l->down_logged_at = now;
	l->attempts = 0;
}

static bool queue(struct xr_link *l, const char *cmd, size_t len, uint64_t now);

/* A connected socket, non-blocking, or -1 with why. */
static int
dial(struct xr_link *l, char *why, size_t why_size)
{
	if (l->use_tls) {
		l->ssl = lc_mgmt_tls_dial(l->path, &l->tls, DIAL_TIMEOUT_MS, why,
					  why_size);
		return l->ssl != NULL ? SSL_get_fd(l->ssl) : -1;
	}

	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	strcpy(sun.sun_path, l->path);
	/* A Unix socket connects at once or not at all (EAGAIN: backlog). */
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(why, why_size, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void
connect_now(struct xr_link *l, uint64_t now)
{
	char err[320];
	int fd;

	l->attempts++;
	fd = dial(l, err, sizeof(err));
	if (fd < 0) {
		if (l->attempts == 1 && l->down_since == 0)
			xr_log("cannot reach linecapd at %s: %s; assignments "
			       "are remembered and retried with backoff",
			       l->path, err);
		else if (now - l->down_logged_at >= DOWN_LOG_EVERY_US) {
			xr_log("linecapd at %s still unreachable after %llu "
			       "attempts: %s", l->path,
			       (unsigned long long)l->attempts, err);
			l->down_logged_at = now;
		}
		if (l->down_since == 0) {
			l->down_since = now;
			l->down_logged_at = now;
		}
		l->next_connect = now + l->backoff;
		l->backoff = l->backoff * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US :
							       l->backoff * 2;
		return;
	}

	l->fd = fd;
	l->c->connects++;
	l->out_off = l->out_len = 0;
	l->batch = 0;
	l->inflight = 0;
	l->in_len = 0;
	l->in_discard = false;
	l->want_write = false;
	l->got_reply = false;
	l->ping_pending = false;
	l->last_active = now;
	l->down_since = 0;
	l->attempts = 0;
	xr_replay_begin(l->replay, now, l->replay_us, &l->replay_cursor,
			&l->replay_end);
	l->replaying = l->replay_cursor < l->replay_end;
	l->replay_sent = 0;
	/* A follower of a node says so first (linecapd: stats nodes). */
	if (xr_node_hello() != NULL)
		(void)queue(l, xr_node_hello(), strlen(xr_node_hello()), now);
	xr_log("connected to linecapd at %s%s", l->path,
	       l->replaying ? "; replaying recent assignments" : "");
}

static void
send_queued(struct xr_link *l, uint64_t now)
{
	bool progress = false;

	l->batch = 0;
	while (l->out_off < l->out_len) {
		const ssize_t n = link_send(l, l->out + l->out_off,
					    l->out_len - l->out_off);

		if (n > 0) {
			l->out_off += (size_t)n;
			l->last_active = now;
			progress = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/*
			 * Bytes now wait for linecapd. The clock runs from
			 * when they first had to wait, or from the last send
			 * that linecapd made room for.
			 */
			if (!l->want_write || progress)
				l->stall_since = now;
			l->want_write = true;
			return;
		}
		disconnect(l, now, n < 0 ? strerror(errno) : "short send");
		return;
	}
	l->want_write = false;
	l->out_off = l->out_len = 0;
}

/* Queue one command line; false when the buffer is full. */
static bool
queue(struct xr_link *l, const char *cmd, size_t len, uint64_t now)
{
	if (l->out_len + len > OUT_CAP && l->out_off > 0) {
		memmove(l->out, l->out + l->out_off, l->out_len - l->out_off);
		l->out_len -= l->out_off;
		l->out_off = 0;
	}
	if (l->out_len + len > OUT_CAP)
		return false;
	memcpy(l->out + l->out_len, cmd, len);
	l->out_len += len;
	l->inflight++;
	if (l->batch++ == 0)
		l->batch_since = now;
	if (l->batch >= BATCH_MAX && !l->want_write)
		send_queued(l, now);
	return true;
}

void
xr_link_assign(struct xr_link *l, const struct lc_xraylog_entry *e,
	       uint64_t now_us)
{
	char cmd[CMD_MAX];
	char *q = cmd;
	int n;

	if (l->fd < 0) {
		l->c->deferred++;
		return;
	}
	memcpy(q, "assign ", 7);
	q += 7;
	memcpy(q, e->email, e->email_len);
	q += e->email_len;
	*q++ = ' ';
	n = lc_xraylog_format_endpoint(e, q, sizeof(cmd) - (size_t)(q - cmd) -
						     1);
	if (n < 0)
		return;
	q += n;
	n = xr_node_words(xr_node_server_of(e), q, sizeof(cmd) - (size_t)(q - cmd) - 1);
	if (n < 0)
		return;
	q += n;
	*q++ = '\n';
	if (queue(l, cmd, (size_t)(q - cmd), now_us))
		l->c->sent++;
	else
		l->c->dropped++;
}

static void
feed_replay(struct xr_link *l, uint64_t now)
{
	char cmd[CMD_MAX];

	for (int i = 0; i < REPLAY_PER_SERVICE; i++) {
		if (OUT_CAP - (l->out_len - l->out_off) < CMD_MAX)
			return; /* full: go on when the socket drains */

		const struct xr_assignment *a = xr_replay_next(
			l->replay, &l->replay_cursor, l->replay_end);

		if (a == NULL) {
			l->replaying = false;
			xr_log("replayed %llu assignments of the last %llu s "
			       "to linecapd", (unsigned long long)l->replay_sent,
			       (unsigned long long)(l->replay_us / 1000000));
			return;
		}

		const int n = xr_assignment_command(a, cmd, sizeof(cmd));

		if (n > 0 && queue(l, cmd, (size_t)n, now)) {
			l->c->replayed++;
			l->replay_sent++;
		}
		if (l->fd < 0)
			return;
	}
}

/*
 * Error replies beyond ERROR_LOG_PER_WINDOW in a window are only counted.
 * Their count is logged when the window ends, whether or not another error
 * comes: a summary that waited for the next error could wait for hours and
 * then be charged to the wrong window.
 */
static void
flush_error_summary(struct xr_link *l, uint64_t now)
{
	if (now - l->err_window_start < ERROR_LOG_WINDOW_US)
		return;
	if (l->err_suppressed > 0)
		xr_log("%llu more linecapd errors not shown",
		       (unsigned long long)l->err_suppressed);
	l->err_window_start = now;
	l->err_logged = 0;
	l->err_suppressed = 0;
}

/* Connected, with nothing to send or to hear: a ping may be due. */
static bool
idle(const struct xr_link *l)
{
	return l->keepalive_us != 0 && !l->replaying && !l->ping_pending &&
	       l->inflight == 0 && l->batch == 0 && l->out_len == l->out_off;
}

static uint64_t
next_deadline(const struct xr_link *l, uint64_t deadline)
{
	const uint64_t summary = l->err_window_start + ERROR_LOG_WINDOW_US;

	return l->err_suppressed > 0 && summary < deadline ? summary : deadline;
}

uint64_t
xr_link_service(struct xr_link *l, uint64_t now)
{
	flush_error_summary(l, now);
	if (l->fd < 0) {
		if (now < l->next_connect)
			return next_deadline(l, l->next_connect);
		connect_now(l, now);
		if (l->fd < 0)
			return next_deadline(l, l->next_connect);
	}
	if (l->replaying && !l->want_write)
		feed_replay(l, now);
	if (l->fd >= 0 && l->batch > 0 && !l->want_write &&
	    (l->batch >= BATCH_MAX || now - l->batch_since >= FLUSH_US))
		send_queued(l, now);
	if (l->fd >= 0 && idle(l) && now - l->last_active >= l->keepalive_us) {
		static const char ping[] = "ping\n";

		if (queue(l, ping, sizeof(ping) - 1, now)) {
			l->ping_pending = true;
			send_queued(l, now);
		}
	}
	if (l->fd >= 0 && l->want_write && now - l->stall_since >= l->stall_us) {
		char why[96];

		snprintf(why, sizeof(why), "linecapd has not read its socket "
			 "for %llu ms with bytes waiting",
			 (unsigned long long)((now - l->stall_since) / 1000));
		disconnect(l, now, why);
	}
	if (l->fd < 0)
		return next_deadline(l, l->next_connect);
	if (l->replaying && !l->want_write)
		return now;
	if (l->batch > 0 && !l->want_write)
		return next_deadline(l, l->batch_since + FLUSH_US);
	if (l->want_write)
		return next_deadline(l, l->stall_since + l->stall_us);
	if (idle(l))
		return next_deadline(l, l->last_active + l->keepalive_us);
	return next_deadline(l, UINT64_MAX);
}

int
xr_link_fd(const struct xr_link *l, short *events)
{
	*events = POLLIN | (l->want_write ? POLLOUT : 0);
	return l->fd;
}

static void
log_error(struct xr_link *l, uint64_t now, const char *what, const char *msg,
	  int len)
{
	flush_error_summary(l, now);
	if (l->err_logged >= ERROR_LOG_PER_WINDOW) {
		l->err_suppressed++;
		return;
	}
	l->err_logged++;
	xr_log("%s: %.*s", what, len, msg);
}

static void
count_result(struct xr_link *l, const char *result)
{
	if (strcmp(result, "bound") == 0)
		l->c->bound++;
	else if (strcmp(result, "pending") == 0)
		l->c->pending++;
	else if (strcmp(result, "unchanged") == 0)
		l->c->unchanged++;
}

static void
handle_reply(struct xr_link *l, const char *line, size_t len, uint64_t now)
{
	static const struct {
		const char *text;
		const char *result;
	} common[] = {
		{ "{\"ok\":true,\"result\":\"bound\"}", "bound" },
		{ "{\"ok\":true,\"result\":\"pending\"}", "pending" },
		{ "{\"ok\":true,\"result\":\"unchanged\"}", "unchanged" },
	};
	json_error_t err;
	json_t *root;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	if (l->inflight > 0)
		l->inflight--;
	l->got_reply = true;
	l->last_active = now;
	l->backoff = BACKOFF_MIN_US;
	if (l->ping_pending) {
		/* Sent with nothing in flight: this reply is the ping's. */
		l->ping_pending = false;
		return;
	}

	/* The replies linecapd sends most, without building a JSON tree. */
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
		if (strlen(common[i].text) == len &&
		    memcmp(common[i].text, line, len) == 0) {
			l->c->replies_ok++;
			count_result(l, common[i].result);
			return;
		}
	}

	root = json_loadb(line, len, 0, &err);
	if (root == NULL || !json_is_object(root)) {
		l->c->replies_error++;
		log_error(l, now, "unreadable reply from linecapd", line,
			  len > 200 ? 200 : (int)len);
		json_decref(root);
		return;
	}
	if (json_is_true(json_object_get(root, "ok"))) {
		const char *result =
			json_string_value(json_object_get(root, "result"));

		l->c->replies_ok++;
		if (result != NULL)
			count_result(l, result);
	} else {
		const char *msg =
			json_string_value(json_object_get(root, "error"));

		l->c->replies_error++;
		if (msg == NULL)
			msg = "(no error message)";
		log_error(l, now, "linecapd refused an assignment", msg,
			  (int)strnlen(msg, 300));
	}
	json_decref(root);
}

static void
read_replies(struct xr_link *l, uint64_t now)
{
	for (;;) {
		const ssize_t n = link_recv(l, l->in + l->in_len,
					    IN_CAP - l->in_len);

		if (n == 0) {
			disconnect(l, now, "it closed the connection");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				disconnect(l, now, strerror(errno));
			return;
		}

		char *p = l->in, *end = l->in + l->in_len + n, *nl;

		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			if (l->in_discard)
				l->in_discard = false;
			else
				handle_reply(l, p, (size_t)(nl - p), now);
			p = nl + 1;
		}
		l->in_len = (size_t)(end - p);
		if (l->in_discard) {
			l->in_len = 0;
		} else if (l->in_len == IN_CAP) {
			/* A reply this long is not an answer to assign. */
			l->in_discard = true;
			l->in_len = 0;
			l->c->replies_error++;
			if (l->inflight > 0)
				l->inflight--;
		} else if (l->in_len > 0) {
			memmove(l->in, p, l->in_len);
		}
	}
}

void
xr_link_handle(struct xr_link *l, short revents, uint64_t now)
{
	if (l->fd < 0)
		return;
	if (revents & (POLLIN | POLLHUP | POLLERR))
		read_replies(l, now);
	if (l->fd >= 0 && (revents & POLLOUT))
		send_queued(l, now);
}

void
xr_link_drain(struct xr_link *l, uint64_t timeout_us)
{
	const uint64_t until = xr_now_us() + timeout_us;

	while (l->fd >= 0 && l->out_len > l->out_off) {
		const uint64_t now = xr_now_us();
		struct pollfd pfd = { .fd = l->fd, .events = POLLOUT };

		if (now >= until)
			break;
		send_queued(l, now);
		if (l->fd < 0 || l->out_len == l->out_off)
			break;
		if (poll(&pfd, 1, (int)((until - now) / 1000) + 1) <= 0)
			break;
	}
}
