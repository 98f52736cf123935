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

#include <jansson.h>

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

struct lc_mgmt_cmd {
	const char *keyword;  /* one or two words: "ping", "user set" */
	const char *args;     /* argument synopsis: "EMAIL [up=RATE]" */
	const char *help;     /* one line */
	int min_args;
	int max_args;
	lc_mgmt_handler_fn handler;
	lc_mgmt_batch_fn batch; /* optional */
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
 * Never returns NULL except when out of memory.
 */
json_t *lc_mgmt_exec(struct lc_mgmt_table *table, const char *line, size_t len);

/*
 * Execute n request lines, in order, and store their replies in replies[]
 * (each released by the caller). Consecutive lines of a command with a batch
 * handler are run as one batch. n is at most LC_MGMT_BATCH_MAX.
 */
void lc_mgmt_exec_lines(struct lc_mgmt_table *table, const char *const lines[],
			const size_t lens[], unsigned int n, json_t *replies[]);

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

struct lc_mgmt_params {
	const char *path;        /* socket path; an old socket there is replaced */
	uint32_t mode;           /* permission bits of the socket */
	uint32_t max_clients;
	size_t max_output;       /* bytes queued to one client before it is cut off */
	struct lc_mgmt_table *table;
};

struct lc_mgmt_stats {
	uint64_t accepted;
	uint64_t rejected;       /* over max_clients */
	uint64_t closed;
	uint64_t requests;
	uint64_t errors;         /* replies with ok = false */
	uint64_t too_long;       /* lines over LC_MGMT_LINE_MAX */
	uint64_t cut_off;        /* clients that did not read their replies */
	uint32_t clients;        /* connected now */
};

struct lc_mgmt;

/* Create the listening socket. NULL with errno set on failure. */
struct lc_mgmt *lc_mgmt_create(const struct lc_mgmt_params *params);

/* Close every client and the socket, and remove the socket file. */
void lc_mgmt_free(struct lc_mgmt *mgmt);

/*
 * Serve clients for at most timeout_ms (0: only what is ready now). Each call
 * handles a bounded number of lines per client, so one busy client cannot
 * starve the others or the control thread's other work.
 * Returns 0 or -errno.
 */
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
