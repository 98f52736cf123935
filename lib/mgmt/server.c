/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "lc_mgmt.h"
#include "lc_mgmt_tls.h"
#include "mgmt_priv.h"

/* Lines one client runs in a turn at most. */
#define LINES_PER_TURN LC_MGMT_BATCH_MAX
/* Commands one client runs in a turn: a command that started is finished. */
#define TURN_NS ((uint64_t)LC_MGMT_TURN_MS * 1000000ULL)
/* Above this much unsent output a client's input is not read until it drains. */
#define OUTPUT_HIGH_WATER (256 * 1024)
/* More of a long reply is produced only while less than this is unsent. */
#define STREAM_ROOM (64 * 1024)
/* A drained output buffer larger than this is given back. */
#define OUTPUT_KEEP (64 * 1024)
/* A client whose pending output makes no progress this long is cut off. */
#define STALL_TIMEOUT_NS (30ULL * 1000000000ULL)
/* A client idle this long may be closed to make room for a new one. */
#define EVICT_MIN_IDLE_NS (1ULL * 1000000000ULL)
/* One log line per kind of event per this long, at most. */
#define LOG_INTERVAL_NS (10ULL * 1000000000ULL)
#define DEFAULT_MAX_OUTPUT (16u * 1024 * 1024)
/* A TLS client that has not finished its handshake this long is closed. */
#define HANDSHAKE_TIMEOUT_NS (10ULL * 1000000000ULL)
/* Room for "[v6 address]:port" */
#define PEER_MAX (INET6_ADDRSTRLEN + 8)

enum writer_phase {
	W_IDLE,                 /* no reply being written */
	W_HEAD,                 /* the reply's members */
	W_ITEMS,                /* a streamed array */
	W_TAIL,                 /* the members after a streamed array */
};

/*
 * The reply being written to a client, a piece at a time: a member of the
 * reply, an element of an array member, or an element of a streamed array.
 * Pieces are written only while the client's unsent output is small, so a
 * long reply costs the client's buffer and one piece, not its whole text.
 */
struct writer {
	enum writer_phase phase;
	json_t *reply;
	json_t *obj;            /* the object whose members are written now */
	void *iter;             /* its next member */
	json_t *array;          /* a member being written element by element */
	size_t index;           /* next element of array, or of items */
	bool comma;             /* a member was written: the next needs a comma */
	bool streaming;
	struct lc_mgmt_stream stream;
	json_t *items;          /* the stream's last piece */
	size_t written;         /* elements of the streamed array written */
	json_t *tail;
	int rc;                 /* the stream's: 1 more to come, 0 done, -errno */
};

struct client {
	int fd;                 /* -1: free slot */
	SSL *ssl;               /* a TCP client's TLS; NULL on the Unix socket */
	bool handshaking;       /* TLS: no line is read before it is done */
	bool tls_want_write;    /* TLS: the last operation waits for room */
	uint32_t hs_events;     /* TLS: what the handshake waits for */
	enum lc_mgmt_role role;
	uint64_t accepted_at;   /* ns */
	char peer[PEER_MAX];    /* a TCP client's address, for the log */
	bool discarding;        /* dropping the rest of an over-long line */
	bool eof;               /* the peer will send nothing more */
	bool more;              /* its turn ended with work left: it goes again */
	bool ready;             /* epoll reported it: it gets a turn */
	uint32_t events;        /* what epoll watches for now */
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t stalled_since; /* ns; 0 when output is flowing */
	uint64_t last_active;   /* ns; when it last sent or read anything */
	uint64_t serial;        /* lc_mgmt_table_client() of its requests */
	struct writer w;
	/* Replies of a batch waiting behind the one being written. */
	json_t *queue[LC_MGMT_BATCH_MAX];
	unsigned int q_head, q_len;
	char in[LC_MGMT_LINE_MAX + 2];
};

struct watch {
	int fd;
	void (*fn)(void *arg);
	void *arg;
};

/* Rate limit of one kind of log line. */
struct log_limit {
	uint64_t last;          /* ns of the last line; 0: none yet */
	uint64_t suppressed;
};

struct lc_mgmt {
	int listen_fd;
	int tcp_fd;             /* -1: no TCP listener */
	SSL_CTX *tls;
	char *operators;        /* " CN1 CN2 ": CNs between spaces */
	char *followers;
	struct log_limit log_tls, log_role;
	struct watch watches[LC_MGMT_WATCH_MAX];
	unsigned int n_watches;
	int epoll_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t sock_dev;         /* the socket file this server made */
	ino_t sock_ino;
	struct lc_mgmt_table *table;
	uint32_t max_clients;
	uint32_t next_turn;     /* where the round robin starts */
	size_t max_output;
	size_t high_water;      /* OUTPUT_HIGH_WATER, or less for a small max_output */
	size_t room;            /* STREAM_ROOM, or less for a small max_output */
	uint64_t idle_ns;       /* 0: never */
	void (*log)(void *arg, const char *level, const char *msg);
	void *log_arg;
	void (*closed)(void *arg, uint64_t client);
	void *closed_arg;
	uint64_t next_serial;
	struct log_limit log_full, log_evict;
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

static void __attribute__((format(printf, 3, 4)))
say(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/*
 * Make the path free for our socket, or say why it is not. Only a socket
 * that refuses connections is stale: its daemon died. A socket that
 * accepts, or whose backlog is full (EAGAIN), has a live owner, and
 * anything we cannot tell about, or that is not a socket at all, is not
 * ours to delete. Returns 0 or -errno.
 */
static int
claim_path(const char *path, const struct sockaddr_un *addr, char *why,
	   size_t size)
{
	struct stat st;
	int fd, rc, err;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		err = errno;
		say(why, size, "cannot look at %s: %s", path, strerror(err));
		return -err;
	}
	if (!S_ISSOCK(st.st_mode)) {
		say(why, size, "%s exists and is not a socket (it is a %s); it is "
		    "left alone: remove it, or set another [mgmt] socket", path,
		    S_ISDIR(st.st_mode) ? "directory" : S_ISREG(st.st_mode) ?
		    "regular file" : S_ISLNK(st.st_mode) ? "symbolic link" :
		    "special file");
		return -ENOTSOCK;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	err = rc == 0 ? 0 : errno;
	close(fd);
	if (rc != 0 && err == ECONNREFUSED) {
		if (unlink(path) != 0 && errno != ENOENT) {
			err = errno;
			say(why, size, "cannot remove the stale socket %s: %s", path,
			    strerror(err));
			return -err;
		}
		return 0;
	}
	if (rc == 0 || err == EAGAIN || err == EINPROGRESS) {
		say(why, size, "another process (a running linecapd?) listens on "
		    "%s%s; stop it first, or set another [mgmt] socket", path,
		    rc == 0 ? "" : " and its backlog is full");
		return -EADDRINUSE;
	}
	say(why, size, "cannot tell whether %s is in use (connect: %s); it is "
	    "left alone", path, strerror(err));
	return -err;
}

/* The id of a group, by name: 0, -ENOENT for no such group, or -errno. */
static int
group_id(const char *name, gid_t *gid)
{
	struct group grp, *found = NULL;
	char buf[4096];
	int rc = getgrnam_r(name, &grp, buf, sizeof(buf), &found);

	if (rc != 0)
		return -rc;
	if (found == NULL)
		return -ENOENT;
	*gid = found->gr_gid;
	return 0;
}

/* " CN1 CN2 ": the names between single spaces, for a search of " CN ". */
static char *
name_list(const char *text)
{
	size_t len = text != NULL ? strlen(text) : 0;
	char *list = malloc(len + 3), *o = list;

	if (list == NULL)
		return NULL;
	*o++ = ' ';
	for (size_t i = 0; i < len; i++) {
		bool space = text[i] == ' ' || text[i] == '\t' || text[i] == ',';

		if (!space)
			*o++ = text[i];
		else if (o[-1] != ' ')
			*o++ = ' ';
	}
	if (o[-1] != ' ')
		*o++ = ' ';
	*o = '\0';
	return list;
}

static bool
name_listed(const char *list, const char *name)
{
	size_t len = strlen(name);

	/* A CN with a separator in it could match two listed names: none. */
	if (len == 0 || strpbrk(name, " \t,") != NULL)
		return false;
	for (const char *at = strstr(list, name); at != NULL; at = strstr(at + 1, name))
		if (at > list && at[-1] == ' ' && at[len] == ' ')
			return true;
	return false;
}

/* The TLS listener of params->tcp_addr. Returns 0 or -errno, with why said. */
static int
tcp_listen(struct lc_mgmt *m, const struct lc_mgmt_params *p)
{
	struct lc_mgmt_tls_files files = { p->tls_cert, p->tls_key, p->tls_ca };
	char why[256];
	int one = 1, err;

	if (p->tls_cert == NULL || p->tls_cert[0] == '\0' || p->tls_key == NULL ||
	    p->tls_key[0] == '\0' || p->tls_ca == NULL || p->tls_ca[0] == '\0') {
		say(p->error, p->error_size, "[mgmt] listen needs tls_cert, tls_key "
		    "and tls_ca: management over TCP is TLS with certificates on "
		    "both sides");
		return -EINVAL;
	}
	m->tls = lc_mgmt_tls_server_ctx(&files, why, sizeof(why));
	if (m->tls == NULL) {
		say(p->error, p->error_size, "[mgmt] TLS: %s", why);
		return -EINVAL;
	}
	m->operators = name_list(p->operators);
	m->followers = name_list(p->followers);
	if (m->operators == NULL || m->followers == NULL)
		return -ENOMEM;
	for (char *at = m->operators + 1; *at != '\0';) {
		char *end = strchr(at, ' ');

		*end = '\0';
		bool both = name_listed(m->followers, at);
		*end = ' ';
		if (both) {
			say(p->error, p->error_size, "[mgmt] CN '%.*s' is in both "
			    "operators and followers: give it one role",
			    (int)(end - at), at);
			return -EINVAL;
		}
		at = end + 1;
	}

	m->tcp_fd = socket(p->tcp_addr->sa_family,
			   SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->tcp_fd < 0 ||
	    setsockopt(m->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(m->tcp_fd, p->tcp_addr, p->tcp_addr_len) != 0 ||
	    listen(m->tcp_fd, 64) != 0) {
		err = errno;
		say(p->error, p->error_size, "[mgmt] listen: cannot listen there: %s",
		    strerror(err));
		return -err;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &m->tcp_fd };
	if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, m->tcp_fd, &ev) != 0)
		return -errno;
	return 0;
}

struct lc_mgmt *
lc_mgmt_create(const struct lc_mgmt_params *p)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct lc_mgmt *m;
	struct stat st;
	int err;

	if (p == NULL || p->path == NULL || p->table == NULL ||
	    p->max_clients == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (p->error != NULL && p->error_size > 0)
		p->error[0] = '\0';
	if (strlen(p->path) >= sizeof(addr.sun_path)) {
		say(p->error, p->error_size, "socket path %s is longer than %zu bytes",
		    p->path, sizeof(addr.sun_path) - 1);
		errno = ENAMETOOLONG;
		return NULL;
	}
	gid_t gid = (gid_t)-1;
	if (p->group != NULL && p->group[0] != '\0') {
		err = group_id(p->group, &gid);
		if (err != 0) {
			if (err == -ENOENT)
				say(p->error, p->error_size, "no group named '%s' for "
				    "the socket: create it (addgroup --system %s), or "
				    "set another [mgmt] socket_group", p->group,
				    p->group);
			else
				say(p->error, p->error_size, "cannot look up group "
				    "'%s': %s", p->group, strerror(-err));
			errno = -err;
			return NULL;
		}
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->listen_fd = m->epoll_fd = m->tcp_fd = -1;
	m->table = p->table;
	m->max_clients = p->max_clients;
	m->max_output = p->max_output ? p->max_output : DEFAULT_MAX_OUTPUT;
	/* Leave a piece of a long reply room to fit under max_output. */
	m->high_water = m->max_output / 2 < OUTPUT_HIGH_WATER ?
		m->max_output / 2 : OUTPUT_HIGH_WATER;
	m->room = m->max_output / 4 < STREAM_ROOM ? m->max_output / 4 : STREAM_ROOM;
	m->idle_ns = p->idle_timeout_ms == UINT32_MAX ? 0 :
		(uint64_t)(p->idle_timeout_ms ? p->idle_timeout_ms :
			   LC_MGMT_IDLE_TIMEOUT_DEFAULT_MS) * 1000000ULL;
	m->log = p->log;
	m->log_arg = p->log_arg;
	m->closed = p->closed;
	m->closed_arg = p->closed_arg;
	m->clients = calloc(p->max_clients, sizeof(*m->clients));
	if (m->clients == NULL)
		goto fail;
	for (uint32_t i = 0; i < p->max_clients; i++)
		m->clients[i].fd = -1;

	snprintf(m->path, sizeof(m->path), "%s", p->path);
	memcpy(addr.sun_path, m->path, strlen(m->path) + 1);

	err = claim_path(m->path, &addr, p->error, p->error_size);
	if (err != 0) {
		errno = -err;
		goto fail;
	}
	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0)
		goto fail;

	/* Create the socket with its final mode: no window with a wider one. */
	mode_t old = umask(0777 & ~p->mode);
	int rc = bind(m->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (rc != 0) {
		/* Another daemon took the path between the check and here. */
		err = errno;
		say(p->error, p->error_size, "cannot bind %s: %s", m->path,
		    strerror(err));
		errno = err;
		goto fail;
	}
	/* The group first: a chown by a non-root owner may clear mode bits. */
	if (gid != (gid_t)-1 && lchown(m->path, (uid_t)-1, gid) != 0) {
		err = errno;
		say(p->error, p->error_size, "cannot give %s to group '%s': %s "
		    "(linecapd must run as root, or as a member of that group)",
		    m->path, p->group, strerror(err));
		unlink(m->path);
		errno = err;
		goto fail;
	}
	if (stat(m->path, &st) != 0 || chmod(m->path, p->mode) != 0 ||
	    listen(m->listen_fd, 64) != 0)
		goto fail_unlink;
	m->sock_dev = st.st_dev;
	m->sock_ino = st.st_ino;

	m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epoll_fd < 0)
		goto fail_unlink;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, m->listen_fd, &ev) != 0)
		goto fail_unlink;
	if (p->tcp_addr_len > 0) {
		err = tcp_listen(m, p);
		if (err != 0) {
			unlink(m->path);
			errno = -err;
			goto fail;
		}
	}
	return m;

fail_unlink:
	err = errno;
	say(p->error, p->error_size, "cannot set up %s: %s", m->path, strerror(err));
	unlink(m->path);
	errno = err;
fail:
	err = errno;
	if (p->error != NULL && p->error_size > 0 && p->error[0] == '\0')
		say(p->error, p->error_size, "%s: %s", m->path, strerror(err));
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	if (m->epoll_fd >= 0)
		close(m->epoll_fd);
	if (m->tcp_fd >= 0)
		close(m->tcp_fd);
	SSL_CTX_free(m->tls);
	free(m->operators);
	free(m->followers);
	free(m->clients);
	free(m);
	errno = err;
	return NULL;
}

static void
log_limited(struct lc_mgmt *m, struct log_limit *l, uint64_t now,
	    const char *level, const char *msg)
{
	char line[320];

	if (m->log == NULL)
		return;
	if (l->last != 0 && now - l->last < LOG_INTERVAL_NS) {
		l->suppressed++;
		return;
	}
	if (l->suppressed > 0)
		snprintf(line, sizeof(line), "%s (and %" PRIu64 " more in the last "
			 "%" PRIu64 " s)", msg, l->suppressed,
			 (uint64_t)((now - l->last) / 1000000000ULL));
	else
		snprintf(line, sizeof(line), "%s", msg);
	l->last = now;
	l->suppressed = 0;
	m->log(m->log_arg, level, line);
}

static void
writer_end(struct client *c)
{
	struct writer *w = &c->w;

	if (w->streaming && w->stream.free != NULL)
		w->stream.free(w->stream.state);
	json_decref(w->reply);
	json_decref(w->items);
	json_decref(w->tail);
	memset(w, 0, sizeof(*w));
}

static void
client_close(struct lc_mgmt *m, struct client *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->ssl != NULL) {
		/* Best effort: a close_notify if the socket takes it now. */
		if (!c->handshaking)
			SSL_shutdown(c->ssl);
		ERR_clear_error();
		SSL_free(c->ssl);
	}
	close(c->fd);
	writer_end(c);
	for (unsigned int i = 0; i < c->q_len; i++)
		json_decref(c->queue[(c->q_head + i) % LC_MGMT_BATCH_MAX]);
	free(c->out);
	if (m->closed != NULL)
		m->closed(m->closed_arg, c->serial);
	memset(c, 0, offsetof(struct client, in));
	c->fd = -1;
	m->stats.closed++;
	m->stats.clients--;
}

void
lc_mgmt_free(struct lc_mgmt *m)
{
	struct stat st;

	if (m == NULL)
		return;
	for (uint32_t i = 0; i < m->max_clients; i++)
		client_close(m, &m->clients[i]);
	close(m->listen_fd);
	close(m->epoll_fd);
	if (m->tcp_fd >= 0)
		close(m->tcp_fd);
	SSL_CTX_free(m->tls);
	free(m->operators);
	free(m->followers);
	/* Only our own socket: another daemon may have replaced it since. */
	if (lstat(m->path, &st) == 0 && st.st_dev == m->sock_dev &&
	    st.st_ino == m->sock_ino)
		unlink(m->path);
	free(m->clients);
	free(m);
}

static size_t
queued(const struct client *c)
{
	return c->out_len - c->out_off;
}

/* True while a client has a reply or a line in progress. */
static bool
client_busy(const struct client *c)
{
	return queued(c) > 0 || c->w.phase != W_IDLE || c->q_len > 0 || c->more;
}

/*
 * Watch for room to send while output is queued, and for input unless the
 * client must read first: while a reply is still being written, or so much
 * output is queued, its next lines wait. Input it is not going to read is
 * not watched, so that level-triggered epoll does not spin on it.
 */
static void
client_watch(struct lc_mgmt *m, struct client *c)
{
	struct epoll_event ev = { .data.ptr = c };
	bool blocked = c->eof || c->w.phase != W_IDLE || c->q_len > 0 ||
		       queued(c) > m->high_water;

	ev.events = (queued(c) > 0 || c->tls_want_write ? EPOLLOUT : 0) |
		    (blocked ? 0 : EPOLLIN);
	if (c->handshaking)
		ev.events = c->hs_events;
	if (ev.events == c->events)
		return;
	c->events = ev.events;
	epoll_ctl(m->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

/*
 * The client's bytes in and out, like send(2) and recv(2) without waiting:
 * through TLS for a TCP client. OpenSSL may want the other direction (a
 * TLS 1.3 key update to answer): then room to send is watched as well.
 */
static ssize_t
client_send(struct client *c, const void *data, size_t len)
{
	if (c->ssl == NULL)
		return send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	ERR_clear_error();
	int rc = SSL_write(c->ssl, data, (int)(len > INT32_MAX ? INT32_MAX : len));
	int e = rc > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, rc);

	c->tls_want_write = e == SSL_ERROR_WANT_WRITE;
	if (rc > 0)
		return rc;
	ERR_clear_error();
	errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : EPIPE;
	return -1;
}

static ssize_t
client_recv(struct client *c, void *data, size_t len)
{
	if (c->ssl == NULL)
		return recv(c->fd, data, len, MSG_DONTWAIT);
	ERR_clear_error();
	int rc = SSL_read(c->ssl, data, (int)(len > INT32_MAX ? INT32_MAX : len));
	int e = rc > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, rc);

	c->tls_want_write = e == SSL_ERROR_WANT_WRITE;
	if (rc > 0)
		return rc;
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
		return 0; /* the end, with or without close_notify */
	errno = EPROTO;
	return -1;
}

/* True when OpenSSL holds decrypted bytes that epoll cannot see. */
static bool
client_pending(const struct client *c)
{
	return c->ssl != NULL && !c->handshaking && SSL_pending(c->ssl) > 0;
}

/* Send what is queued. Returns -1 if the client had to be closed. */
static int
client_flush(struct lc_mgmt *m, struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = client_send(c, c->out + c->out_off, c->out_len - c->out_off);
		if (n > 0) {
			c->out_off += (size_t)n;
			c->stalled_since = 0;
			c->last_active = now_ns();
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
		/* A long reply's buffer is given back, not kept for the next. */
		if (c->out_cap > OUTPUT_KEEP) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
		/* A half-closed client that has all its replies is done. */
		if (c->eof && c->w.phase == W_IDLE && c->q_len == 0 && !c->more &&
		    c->in_len == 0) {
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

struct out_ctx {
	struct lc_mgmt *m;
	struct client *c;
};

static int
out_append(const char *buf, size_t size, void *data)
{
	struct out_ctx *o = data;

	if (client_reserve(o->m, o->c, size) != 0)
		return -1;
	memcpy(o->c->out + o->c->out_len, buf, size);
	o->c->out_len += size;
	return 0;
}

static int
put(struct lc_mgmt *m, struct client *c, const char *text)
{
	struct out_ctx o = { m, c };

	return out_append(text, strlen(text), &o);
}

static int
put_json(struct lc_mgmt *m, struct client *c, const json_t *v)
{
	struct out_ctx o = { m, c };

	return json_dump_callback(v, out_append, &o, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int
put_key(struct lc_mgmt *m, struct client *c, bool comma, const char *key)
{
	json_t *k = json_string(key);
	int rc = k == NULL || (comma && put(m, c, ",") != 0) ||
		 put_json(m, c, k) != 0 || put(m, c, ":") != 0 ? -1 : 0;

	json_decref(k);
	return rc;
}

/* Start writing a reply; stream, if not NULL, produces one of its arrays. */
static int
writer_start(struct lc_mgmt *m, struct client *c, json_t *reply,
	     const struct lc_mgmt_stream *stream)
{
	struct writer *w = &c->w;

	memset(w, 0, sizeof(*w));
	if (reply == NULL) {
		static const char nomem[] =
			"{\"ok\":false,\"error\":\"out of memory\"}\n";

		if (stream != NULL && stream->free != NULL)
			stream->free(stream->state);
		m->stats.errors++;
		return put(m, c, nomem);
	}
	w->phase = W_HEAD;
	w->reply = w->obj = reply;
	w->iter = json_object_iter(reply);
	if (stream != NULL) {
		w->streaming = true;
		w->stream = *stream;
		w->items = json_array();
		w->tail = json_object();
		w->rc = w->items != NULL && w->tail != NULL ? 1 : -ENOMEM;
	}
	return put(m, c, "{");
}

/*
 * Write pieces of the current reply while less than STREAM_ROOM is unsent;
 * ask a stream for its next piece only before the deadline. Returns 1 when
 * the reply is complete, 0 when it waits for room or for the next turn, -1
 * when it cannot be written (a piece larger than max_output).
 */
static int
writer_run(struct lc_mgmt *m, struct client *c, uint64_t deadline)
{
	struct writer *w = &c->w;

	while (queued(c) < m->room) {
		if (w->phase == W_ITEMS) {
			if (w->index < json_array_size(w->items)) {
				if ((w->written > 0 && put(m, c, ",") != 0) ||
				    put_json(m, c, json_array_get(w->items, w->index)) != 0)
					return -1;
				w->index++;
				w->written++;
				continue;
			}
			if (w->rc > 0) {
				if (now_ns() >= deadline)
					return 0;
				json_array_clear(w->items);
				w->index = 0;
				w->rc = w->stream.next(w->stream.state, w->items, w->tail);
				continue;
			}
			/* The array is complete: then the tail, with "ok" last. */
			if (put(m, c, "]") != 0)
				return -1;
			mgmt_reply_finish(w->tail, w->rc);
			w->phase = W_TAIL;
			w->obj = w->tail;
			w->iter = json_object_iter(w->tail);
			continue;
		}
		if (w->array != NULL) {
			if (w->index < json_array_size(w->array)) {
				if ((w->index > 0 && put(m, c, ",") != 0) ||
				    put_json(m, c, json_array_get(w->array, w->index)) != 0)
					return -1;
				w->index++;
				continue;
			}
			if (put(m, c, "]") != 0)
				return -1;
			w->array = NULL;
			w->iter = json_object_iter_next(w->obj, w->iter);
			continue;
		}
		if (w->iter == NULL) {
			if (w->phase == W_HEAD && w->streaming) {
				if (put_key(m, c, w->comma, w->stream.key) != 0 ||
				    put(m, c, "[") != 0)
					return -1;
				w->phase = W_ITEMS;
				w->comma = true;
				continue;
			}
			if (put(m, c, "}\n") != 0)
				return -1;
			json_t *ok = json_object_get(w->obj, "ok");
			if (!json_is_true(ok))
				m->stats.errors++;
			if (w->streaming)
				m->stats.streamed++;
			writer_end(c);
			return 1;
		}
		const char *key = json_object_iter_key(w->iter);
		json_t *v = json_object_iter_value(w->iter);

		/* A streamed reply's "ok" is known at the end, in the tail. */
		if (w->phase == W_HEAD && w->streaming && strcmp(key, "ok") == 0) {
			w->iter = json_object_iter_next(w->obj, w->iter);
			continue;
		}
		if (put_key(m, c, w->comma, key) != 0)
			return -1;
		w->comma = true;
		if (json_is_array(v) && json_array_size(v) > 1) {
			/* A long array goes an element at a time. */
			if (put(m, c, "[") != 0)
				return -1;
			w->array = v;
			w->index = 0;
			continue;
		}
		if (put_json(m, c, v) != 0)
			return -1;
		w->iter = json_object_iter_next(w->obj, w->iter);
	}
	return 0;
}

/*
 * Write the client's replies, the current one and those queued behind it,
 * sending as the socket takes them. Returns 1 when all are written, 0 when
 * the rest waits for room (EPOLLOUT) or the next turn, -1 if the client was
 * closed.
 */
static int
client_write(struct lc_mgmt *m, struct client *c, uint64_t deadline)
{
	for (;;) {
		if (c->w.phase == W_IDLE) {
			if (c->q_len == 0)
				return 1;
			json_t *r = c->queue[c->q_head];

			c->q_head = (c->q_head + 1) % LC_MGMT_BATCH_MAX;
			c->q_len--;
			if (writer_start(m, c, r, NULL) != 0)
				goto cut_off;
		}
		int rc = writer_run(m, c, deadline);
		if (rc < 0)
			goto cut_off;
		if (rc > 0)
			continue;
		if (client_flush(m, c) < 0)
			return -1;
		if (queued(c) >= m->room)
			return 0;
		if (now_ns() >= deadline) {
			c->more = true;
			return 0;
		}
	}
cut_off:
	/* Half a reply is on its way and the rest cannot follow. */
	m->stats.cut_off++;
	client_close(m, c);
	return -1;
}

static json_t *
too_long_reply(void)
{
	json_t *reply = json_object();

	json_object_set_new(reply, "ok", json_false());
	lc_mgmt_error(reply, "line longer than %d bytes; the rest of it is ignored",
		      LC_MGMT_LINE_MAX);
	return reply;
}

/*
 * Run the first unit of the given lines (see mgmt_table_run) and start
 * writing its replies. Returns how many lines ran.
 */
static unsigned int
client_run(struct lc_mgmt *m, struct client *c, const char *const lines[],
	   const size_t lens[], unsigned int n)
{
	json_t *replies[LC_MGMT_BATCH_MAX];
	struct lc_mgmt_stream stream;
	unsigned int k;

	mgmt_table_set_client(m->table, c->serial);
	k = mgmt_table_run(m->table, c->role, lines, lens, n, replies, &stream);
	mgmt_table_set_client(m->table, 0);

	m->stats.requests += k;
	/* Lines run only when nothing was left to write: the queue is empty. */
	for (unsigned int i = 0; i < k; i++)
		c->queue[(c->q_head + c->q_len++) % LC_MGMT_BATCH_MAX] = replies[i];
	if (stream.next != NULL) {
		c->q_head = (c->q_head + 1) % LC_MGMT_BATCH_MAX;
		c->q_len--;
		if (writer_start(m, c, replies[0], &stream) != 0)
			c->eof = true; /* cannot even start: close once flushed */
	}
	return k;
}

/* The subject CN of the client's certificate into cn; false if none. */
static bool
peer_cn(struct client *c, char *cn, size_t size)
{
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	int len = -1;

	if (cert != NULL)
		len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
						NID_commonName, cn, (int)size);
	X509_free(cert);
	/* A CN with a NUL inside is nobody's. */
	return len > 0 && (size_t)len == strlen(cn);
}

/*
 * Advance a TLS client's handshake. Once done, its certificate's CN gives
 * its role; a CN with none is answered with why and closed once that is
 * sent. Returns 1 when the client may go on, 0 while the handshake waits
 * for the socket, -1 if the client was closed.
 */
static int
client_handshake(struct lc_mgmt *m, struct client *c)
{
	char msg[400], cn[256];
	uint64_t now = now_ns();

	ERR_clear_error();
	int rc = SSL_accept(c->ssl);
	if (rc != 1) {
		int e = SSL_get_error(c->ssl, rc);

		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			c->hs_events = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
			client_watch(m, c);
			return 0;
		}
		long v = SSL_get_verify_result(c->ssl);
		snprintf(msg, sizeof(msg), "management over TLS: refused %s: %s",
			 c->peer, v != X509_V_OK ? X509_verify_cert_error_string(v) :
			 e == SSL_ERROR_SYSCALL ? "it closed the connection during "
			 "the handshake" : lc_mgmt_tls_error("TLS handshake failed"));
		ERR_clear_error();
		m->stats.tls_failed++;
		log_limited(m, &m->log_tls, now, "warning", msg);
		client_close(m, c);
		return -1;
	}
	c->handshaking = false;
	c->last_active = now;
	bool named = peer_cn(c, cn, sizeof(cn));
	if (named && name_listed(m->operators, cn)) {
		c->role = LC_MGMT_OPERATOR;
	} else if (named && name_listed(m->followers, cn)) {
		c->role = LC_MGMT_FOLLOWER;
	} else {
		json_t *reply = json_object();

		snprintf(msg, sizeof(msg), "management over TLS: refused %s: its "
			 "certificate's CN '%s' is in neither [mgmt] operators nor "
			 "followers", c->peer, named ? cn : "(none)");
		m->stats.tls_unknown++;
		log_limited(m, &m->log_role, now, "warning", msg);
		json_object_set_new(reply, "ok", json_false());
		lc_mgmt_error(reply, "certificate CN '%s' has no role here: it is in "
			      "neither [mgmt] operators nor followers",
			      named ? cn : "(none)");
		c->queue[(c->q_head + c->q_len++) % LC_MGMT_BATCH_MAX] = reply;
		c->eof = true;
	}
	client_watch(m, c);
	return 1;
}

/*
 * One turn of a client: write what it has pending, then read and run its
 * lines, until it has nothing more, must read its replies first, or has
 * used the turn's lines or time. Returns -1 if the client was closed.
 */
static int
client_turn(struct lc_mgmt *m, struct client *c)
{
	uint64_t deadline = now_ns() + TURN_NS;
	unsigned int budget = LINES_PER_TURN;

	c->more = false;
	c->ready = false;
	if (c->handshaking) {
		int rc = client_handshake(m, c);

		if (rc <= 0)
			return rc;
	}
	for (;;) {
		int rc = client_write(m, c, deadline);
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		if (queued(c) > m->high_water)
			break;
		if (budget == 0 || now_ns() >= deadline) {
			c->more = true;
			break;
		}

		/* The complete lines in the input buffer, up to the budget. */
		const char *lines[LINES_PER_TURN];
		size_t lens[LINES_PER_TURN], ends[LINES_PER_TURN];
		size_t start = 0;
		unsigned int n = 0;

		while (start < c->in_len && n < budget) {
			char *nl = memchr(c->in + start, '\n', c->in_len - start);
			if (nl == NULL)
				break;
			size_t len = (size_t)(nl - (c->in + start));
			if (c->discarding) {
				c->discarding = false;
			} else {
				lines[n] = c->in + start;
				lens[n] = len;
				ends[n++] = start + len + 1;
			}
			start += len + 1;
		}
		if (n > 0) {
			unsigned int k = client_run(m, c, lines, lens, n);

			start = ends[k - 1];
			budget -= k;
		}
		if (start > 0) {
			memmove(c->in, c->in + start, c->in_len - start);
			c->in_len -= start;
		}
		if (n > 0)
			continue;
		if (c->in_len > LC_MGMT_LINE_MAX) {
			/* No newline within the limit: answer once, then skip to the next. */
			if (!c->discarding) {
				m->stats.requests++;
				m->stats.too_long++;
				c->queue[(c->q_head + c->q_len++) % LC_MGMT_BATCH_MAX] =
					too_long_reply();
			}
			c->discarding = true;
			c->in_len = 0;
			continue;
		}
		if (c->eof) {
			if (c->in_len > 0 && !c->discarding) {
				/* A last line without its newline, from a half-closed client. */
				const char *line = c->in;
				size_t len = c->in_len;

				client_run(m, c, &line, &len, 1);
				c->in_len = 0;
				continue;
			}
			c->in_len = 0;
			if (queued(c) == 0) {
				client_close(m, c);
				return -1;
			}
			break;
		}

		ssize_t got = client_recv(c, c->in + c->in_len,
					  sizeof(c->in) - c->in_len);
		if (got > 0) {
			c->in_len += (size_t)got;
			c->last_active = now_ns();
			continue;
		}
		if (got == 0) {
			c->eof = true;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		client_close(m, c);
		return -1;
	}
	if (client_flush(m, c) < 0)
		return -1;
	/*
	 * A reply still being written whose output all went out in this last
	 * flush (the peer read it meanwhile): epoll watches for nothing (no
	 * output waits for room, no input is read before the reply is done),
	 * so its next turn must be asked for here.
	 */
	if (queued(c) == 0 && (c->w.phase != W_IDLE || c->q_len > 0))
		c->more = true;
	return 0;
}

/*
 * The client to close for a new one when every slot is taken: the one idle
 * longest, with nothing in progress, if it has been idle a while. A client
 * that just connected and has not spoken yet is not taken, so a burst of
 * new clients does not close each other.
 */
static struct client *
evictable(struct lc_mgmt *m, uint64_t now)
{
	struct client *best = NULL;

	for (uint32_t i = 0; i < m->max_clients; i++) {
		struct client *c = &m->clients[i];

		if (c->fd < 0 || client_busy(c) ||
		    (c->in_len > 0 && memchr(c->in, '\n', c->in_len) != NULL))
			continue;
		if (now - c->last_active < EVICT_MIN_IDLE_NS)
			continue;
		if (best == NULL || c->last_active < best->last_active)
			best = c;
	}
	return best;
}

static void
peer_text(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else {
		snprintf(buf, size, "a client");
	}
}

/* Accept from the Unix socket, or (tcp) from the TLS listener. */
static void
accept_clients(struct lc_mgmt *m, bool tcp)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t ss_len = sizeof(ss);
		int fd = accept4(tcp ? m->tcp_fd : m->listen_fd, (struct sockaddr *)&ss,
				 &ss_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c = NULL;
		uint64_t now = now_ns();
		char msg[200];

		if (fd < 0)
			return;
		for (uint32_t i = 0; i < m->max_clients; i++) {
			if (m->clients[i].fd < 0) {
				c = &m->clients[i];
				break;
			}
		}
		if (c == NULL) {
			c = evictable(m, now);
			if (c != NULL) {
				snprintf(msg, sizeof(msg), "management socket full (%u "
					 "clients): closed a client idle for %" PRIu64
					 " s to serve a new one", m->max_clients,
					 (uint64_t)((now - c->last_active) / 1000000000ULL));
				log_limited(m, &m->log_evict, now, "warning", msg);
				client_close(m, c);
				m->stats.evicted++;
			}
		}
		if (c == NULL) {
			static const char busy[] =
				"{\"ok\":false,\"error\":\"too many clients\"}\n";
			/*
			 * Best effort: a client that is already gone needs no
			 * reason. A TCP client would read it only through TLS,
			 * which is more than a refusal is worth: it is closed.
			 */
			if (!tcp)
				(void)send(fd, busy, sizeof(busy) - 1,
					   MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			m->stats.rejected++;
			snprintf(msg, sizeof(msg), "management socket full (%u clients, "
				 "none idle): refused a client", m->max_clients);
			log_limited(m, &m->log_full, now, "warning", msg);
			continue;
		}
		memset(c, 0, offsetof(struct client, in));
		c->fd = -1;
		c->serial = ++m->next_serial;
		c->events = EPOLLIN;
		c->last_active = c->accepted_at = now;
		c->role = LC_MGMT_OPERATOR; /* the Unix socket's mode says who */
		if (tcp) {
			peer_text(&ss, c->peer, sizeof(c->peer));
			c->ssl = SSL_new(m->tls);
			if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
				SSL_free(c->ssl);
				c->ssl = NULL;
				ERR_clear_error();
				close(fd);
				continue;
			}
			SSL_set_accept_state(c->ssl);
			c->handshaking = true;
			c->hs_events = EPOLLIN;
			/* No role before the certificate says which. */
			c->role = LC_MGMT_FOLLOWER;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			SSL_free(c->ssl);
			c->ssl = NULL;
			close(fd);
			continue;
		}
		c->fd = fd;
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

	/* Clients with work left from their last turn: nobody waits in epoll. */
	for (uint32_t i = 0; i < m->max_clients; i++) {
		struct client *c = &m->clients[i];

		if (c->fd < 0)
			continue;
		/*
		 * Lines that OpenSSL decrypted and holds are not on the
		 * socket: epoll would not wake for them. A client that would
		 * read now (it watches EPOLLIN) has them read in a turn.
		 */
		if (client_pending(c) && (c->events & EPOLLIN))
			c->ready = true;
		if (c->more || c->ready)
			backlog = true;
	}

	n = epoll_wait(m->epoll_fd, events, 32, backlog ? 0 : timeout_ms);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		struct client *c = events[i].data.ptr;

		if (c == NULL || (void *)c == (void *)&m->tcp_fd) {
			accept_clients(m, c != NULL);
			continue;
		}
		if ((void *)c >= (void *)m->watches &&
		    (void *)c < (void *)(m->watches + LC_MGMT_WATCH_MAX)) {
			struct watch *wt = (struct watch *)(void *)c;

			wt->fn(wt->arg);
			continue;
		}
		if (c->fd >= 0)
			c->ready = true;
	}

	/*
	 * One turn for each client with work, round robin: each turn is
	 * bounded, so a client waits for at most one turn of every other.
	 */
	uint32_t first = m->next_turn;
	m->next_turn = (m->next_turn + 1) % m->max_clients;
	for (uint32_t i = 0; i < m->max_clients; i++) {
		struct client *c = &m->clients[(first + i) % m->max_clients];

		if (c->fd >= 0 && (c->ready || c->more))
			client_turn(m, c);
	}

	/* Cut off clients that stopped reading; close those idle too long. */
	uint64_t now = now_ns();
	for (uint32_t i = 0; i < m->max_clients; i++) {
		struct client *c = &m->clients[i];

		if (c->fd < 0)
			continue;
		if (c->stalled_since != 0 && now - c->stalled_since > STALL_TIMEOUT_NS) {
			m->stats.cut_off++;
			client_close(m, c);
		} else if (c->handshaking && now - c->accepted_at > HANDSHAKE_TIMEOUT_NS) {
			char msg[200];

			snprintf(msg, sizeof(msg), "management over TLS: refused %s: no "
				 "TLS handshake within %llu s", c->peer,
				 HANDSHAKE_TIMEOUT_NS / 1000000000ULL);
			m->stats.tls_failed++;
			log_limited(m, &m->log_tls, now, "warning", msg);
			client_close(m, c);
		} else if (m->idle_ns != 0 && !client_busy(c) &&
			   now - c->last_active > m->idle_ns) {
			m->stats.idle_closed++;
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
