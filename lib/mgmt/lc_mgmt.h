/* SPDX-License-Identifier: MIT */
/*
 * Management socket.
 *
 * linecapd's control thread serves operators and linecap-xray over a Unix
 * stream socket: one command per line (at most LC_MGMT_LINE_MAX bytes), any
 * number of lines pipelined, one JSON reply per line, in order. The blocks
 * that own a command register it here as a row of a table (keyword, usage,
 * help, handler), so this block knows nothing about what the commands do.
 *
 * Two objects:
 * - struct lc_mgmt_table: the command table and the dispatcher that turns a
 *   line into a JSON reply. It has no I/O, so unit tests and the fuzzer drive
 *   it directly.
 * - struct lc_mgmt: the socket server. It runs inside the control thread's
 *   loop (lc_mgmt_poll()) and never blocks: a slow, silent or abusive client
 *   costs other clients nothing and the fast path never sees it.
 */
#ifndef LC_MGMT_H
#define LC_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <jansson.h>

/* linecapd's socket by default; linecapctl and linecap-xray look there too. */
#define LC_MGMT_SOCKET_DEFAULT "/run/linecap/linecap.sock"

/*
 * A VPN node's name (assign node=NAME, hello node=NAME, linecap-xray's
 * --node): 1 to LC_MGMT_NODE_NAME_MAX letters, digits, '.', '-' and '_', a
 * name that needs no quoting anywhere.
 */
#define LC_MGMT_NODE_NAME_MAX 63
/* Whether the n bytes at s are such a word of at most max bytes. */
bool lc_mgmt_word_ok(const char *s, size_t n, size_t max);

#define LC_MGMT_LINE_MAX 4096 /* bytes in a request line, without the newline */
#define LC_MGMT_ARGS_MAX 32   /* words in a request line */

/*
 * A command handler. argv holds the words after the keyword. It fills reply
 * (a JSON object) and returns 0, or returns a negative errno after calling
 * lc_mgmt_error() with a message that says what was wrong. "ok" is set by the
 * dispatcher.
 */
typedef int (*lc_mgmt_handler_fn)(void *ctx, int argc, char **argv,
				  json_t *reply);

/* One request of a batch: the words after the keyword, and its reply. */
struct lc_mgmt_req {
	int argc;
	char **argv;
	json_t *reply;
	int rc;               /* set by the batch handler: 0 or -errno */
};

/*
 * A batch handler runs n consecutive requests of one command at once, in
 * order, as if its handler ran for each: what pipelining clients such as
 * linecap-xray send is then one trip to the worker instead of n. It sets
 * rc and fills reply of every request.
 */
typedef void (*lc_mgmt_batch_fn)(void *ctx, struct lc_mgmt_req *reqs,
				 unsigned int n);

/*
 * A reply too large to build whole in memory, such as a listing of 50,000
 * flows, is streamed: one array member of the reply is produced a piece at
 * a time, each piece when the client has read the one before, so that a
 * client's reply holds a bounded amount of memory however long it is, and
 * other clients are served between pieces.
 *
 * next() appends the next elements (a bounded number: a step of work of a
 * few milliseconds) to items and returns 1 if more follow, 0 when the array
 * is complete, or a negative errno after lc_mgmt_error(tail, ...) says why.
 * Members that next() sets in tail (the same object each call) follow the
 * array in the reply. free(), if set, releases state once the reply is done
 * or abandoned (the client left).
 */
struct lc_mgmt_stream {
	const char *key;      /* the member that holds the array: "flows" */
	int (*next)(void *state, json_t *items, json_t *tail);
	void (*free)(void *state);
	void *state;
};

/*
 * A streaming command's handler. It checks its arguments and fills reply
 * with the members known at once, like a handler, then fills *stream and
 * returns 0. A reply streamed to a client reads
 * {<members of reply>,"<key>":[<elements>],<members of tail>,"ok":...}:
 * "ok" comes last, since it is known only at the end. It may also answer
 * at once by returning 0 without setting stream->next, or fail like a
 * handler (then it must not leave state behind).
 */
typedef int (*lc_mgmt_stream_fn)(void *ctx, int argc, char **argv,
				 json_t *reply, struct lc_mgmt_stream *stream);

struct lc_mgmt_cmd {
	const char *keyword;  /* one or two words: "ping", "user set" */
	const char *args;     /* argument synopsis: "EMAIL [up=RATE]" */
	const char *help;     /* one line */
	int min_args;
	int max_args;
	lc_mgmt_handler_fn handler; /* NULL only for a streaming command */
	lc_mgmt_batch_fn batch; /* optional */
	lc_mgmt_stream_fn stream; /* optional; used instead of handler */
	/*
	 * A follower (a linecap-xray of another node, over TLS) may run it:
	 * only what a follower needs (ping, assign, unassign). Everything else
	 * is for operators.
	 */
	bool follower_ok;
};

/*
 * Who a client is. A client of the Unix socket is an operator (the socket's
 * file mode says who may connect). A client over TLS is what the subject
 * CN of its certificate is listed as in [mgmt] operators or followers.
 * The dispatcher checks the role of every line, in a batch or a stream
 * too, before the command's handler sees it.
 */
enum lc_mgmt_role {
	LC_MGMT_OPERATOR,
	LC_MGMT_FOLLOWER,
};

/* Lines a batch holds at most. */
#define LC_MGMT_BATCH_MAX 256

struct lc_mgmt_table;

struct lc_mgmt_table *lc_mgmt_table_create(void);
void lc_mgmt_table_free(struct lc_mgmt_table *table);

/*
 * Register n commands that share one context. The table keeps the pointer to
 * cmds, which must outlive it. Returns 0, -EEXIST for a keyword registered
 * twice, -EINVAL for a malformed row, or -ENOMEM.
 */
int lc_mgmt_register(struct lc_mgmt_table *table, const struct lc_mgmt_cmd *cmds,
		     unsigned int n, void *ctx);

/*
 * Execute one request line (without its newline; a trailing CR is ignored)
 * and return the reply object, which the caller releases with json_decref().
 * Never returns NULL except when out of memory. A streaming command's reply
 * is built whole here, so its size is not bounded: the socket server is what
 * streams.
 */
json_t *lc_mgmt_exec(struct lc_mgmt_table *table, const char *line, size_t len);

/* Like lc_mgmt_exec(), for a client of the given role. */
json_t *lc_mgmt_exec_as(struct lc_mgmt_table *table, enum lc_mgmt_role role,
			const char *line, size_t len);

/*
 * Execute n request lines, in order, and store their replies in replies[]
 * (each released by the caller). Consecutive lines of a command with a batch
 * handler are run as one batch. n is at most LC_MGMT_BATCH_MAX.
 */
void lc_mgmt_exec_lines(struct lc_mgmt_table *table, const char *const lines[],
			const size_t lens[], unsigned int n, json_t *replies[]);
void lc_mgmt_exec_lines_as(struct lc_mgmt_table *table, enum lc_mgmt_role role,
			   const char *const lines[], const size_t lens[],
			   unsigned int n, json_t *replies[]);

/*
 * The connection whose request runs now, for a handler that keeps
 * something per connection (linecapd's `hello`): a number the server gives
 * each connection and never reuses while it runs; 0 when no connection's
 * request runs (lc_mgmt_exec(), unit tests). params.closed tells when a
 * connection ends.
 */
uint64_t lc_mgmt_table_client(const struct lc_mgmt_table *table);

/* Set "error" in a reply. Returns -EINVAL for use as a handler's return. */
int lc_mgmt_error(json_t *reply, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * An address, with or without a port: "1.2.3.4", "1.2.3.4:80",
 * "2001:db8::1" or "[2001:db8::1]:80". addr is 16 bytes, IPv4 stored
 * IPv4-mapped. Returns 0, -EINVAL for a bad address or -ERANGE for a port
 * that is not 1..65535.
 */
int lc_mgmt_parse_endpoint(const char *text, uint8_t addr[16], uint16_t *port,
			   bool *has_port);

/* True if s[0..len) is valid UTF-8 with no NUL and no control character. */
bool lc_mgmt_text_valid(const char *s, size_t len);

/* How long a client with nothing pending may stay connected, by default. */
#define LC_MGMT_IDLE_TIMEOUT_DEFAULT_MS (300u * 1000u)

struct lc_mgmt_params {
	/*
	 * Socket path. Nothing there: the socket is created. A socket that
	 * refuses connections (left by a daemon that died) is replaced. A socket
	 * that a live daemon owns (it accepts, or its backlog is full), or
	 * anything that is not a socket, is left alone and lc_mgmt_create()
	 * fails: EADDRINUSE for a live owner, ENOTSOCK for another kind of file.
	 */
	const char *path;
	uint32_t mode;           /* permission bits of the socket */
	/*
	 * Optional: the group the socket is given once made, by name; NULL or
	 * "": the process's own group. A group that does not exist, or that
	 * the process may not give files to, fails lc_mgmt_create() (ENOENT,
	 * EPERM) before the path is touched, or with the socket removed.
	 */
	const char *group;
	uint32_t max_clients;
	size_t max_output;       /* bytes queued to one client before it is cut off */
	/*
	 * A client with no request in progress and no reply pending that has
	 * sent nothing and read nothing for this long is closed. 0: the default,
	 * LC_MGMT_IDLE_TIMEOUT_DEFAULT_MS; UINT32_MAX: never.
	 */
	uint32_t idle_timeout_ms;
	struct lc_mgmt_table *table;
	/*
	 * Optional: called for events an operator should see (clients refused
	 * or evicted because the server is full), at most once per 10 s for
	 * each kind, with the count of those not shown.
	 */
	void (*log)(void *arg, const char *level, const char *msg);
	void *log_arg;
	/*
	 * Optional: also serve clients over TCP at this address, with TLS
	 * (tcp_addr_len 0: not). Certificates on both sides: ours (tls_cert,
	 * tls_key), and a client's signed by tls_ca, else its handshake fails.
	 * A client's role is the subject CN of its certificate, as listed in
	 * operators or followers (CNs separated by spaces); a CN in neither is
	 * told so and closed. TCP clients count in max_clients with the
	 * others, and get the same limits and turns. CNs with a space, a tab
	 * or a comma in them are never listed. OpenSSL writes with write(2):
	 * the process must ignore SIGPIPE.
	 */
	const struct sockaddr *tcp_addr;
	socklen_t tcp_addr_len;
	const char *tls_cert;
	const char *tls_key;
	const char *tls_ca;
	const char *operators;
	const char *followers;
	/*
	 * Optional: called when a connection ends, with the number
	 * lc_mgmt_table_client() gave its requests.
	 */
	void (*closed)(void *arg, uint64_t client);
	void *closed_arg;
	/*
	 * Optional: on failure of lc_mgmt_create(), a sentence that says what
	 * is at the path and what to do, written here.
	 */
	char *error;
	size_t error_size;
};

struct lc_mgmt_stats {
	uint64_t accepted;
	uint64_t rejected;       /* over max_clients, no idle client to evict */
	uint64_t evicted;        /* idle clients closed to make room for a new one */
	uint64_t idle_closed;    /* clients closed after idle_timeout_ms */
	uint64_t closed;
	uint64_t requests;
	uint64_t errors;         /* replies with ok = false */
	uint64_t too_long;       /* lines over LC_MGMT_LINE_MAX */
	uint64_t cut_off;        /* clients that did not read their replies */
	uint64_t streamed;       /* replies written a piece at a time */
	uint64_t tls_failed;     /* TCP clients whose TLS handshake failed */
	uint64_t tls_unknown;    /* TLS clients whose CN has no role */
	uint32_t clients;        /* connected now */
};

struct lc_mgmt;

/* Create the listening socket. NULL with errno set on failure. */
struct lc_mgmt *lc_mgmt_create(const struct lc_mgmt_params *params);

/*
 * Close every client and the socket, and remove the socket file if it is
 * still the one this server created.
 */
void lc_mgmt_free(struct lc_mgmt *mgmt);

/*
 * Serve clients for at most timeout_ms (0: only what is ready now).
 *
 * Clients are served in turns, round robin: in one turn a client runs at
 * most LC_MGMT_BATCH_MAX lines and about LC_MGMT_TURN_MS of commands (a
 * command or a batch that is running is never cut short), or writes one
 * output buffer's worth of a long reply; what remains waits for its next
 * turn, after every other client with work has had one. So a client waits
 * for at most one turn of each other client, whatever they pipeline.
 * Returns 0 or -errno.
 */
#define LC_MGMT_TURN_MS 5
int lc_mgmt_poll(struct lc_mgmt *mgmt, int timeout_ms);

void lc_mgmt_get_stats(const struct lc_mgmt *mgmt, struct lc_mgmt_stats *stats);

/*
 * Also wait for fd in lc_mgmt_poll(), and call fn(arg) on the control
 * thread when it is readable: how other threads (DPDK telemetry) hand work
 * to the control thread. At most LC_MGMT_WATCH_MAX. Returns 0 or -errno.
 */
#define LC_MGMT_WATCH_MAX 4
int lc_mgmt_watch_fd(struct lc_mgmt *mgmt, int fd, void (*fn)(void *arg),
		     void *arg);

#endif /* LC_MGMT_H */
