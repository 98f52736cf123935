/* SPDX-License-Identifier: MIT */
/*
 * linecap-xray: the parts of the follower and how they meet.
 *
 * main.c runs one single-threaded event loop. follow.c reads the access log
 * by name the way `tail -F` does and hands every complete line back. main.c
 * parses it (lib/xraylog) and turns an assignment into a record of the replay
 * table (replay.c) and an `assign` command for the link to linecapd
 * (link.c), which batches, pipelines, reads replies and reconnects. node.c
 * adds the node's words (--node, --node-addr) to each command. Nothing
 * here ever blocks on linecapd: a slow or absent daemon costs memory that is
 * bounded, never the reading of the log.
 */
#ifndef LC_XRAY_H
#define LC_XRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lc_mgmt.h"
#include "lc_xraylog.h"

/* What the follower counts; printed every 60 s and on SIGUSR1. */
struct xr_counters {
	uint64_t lines;                           /* lines read from the log */
	uint64_t result[LC_XRAYLOG_RESULT_MAX];   /* by parse result */
	uint64_t sent;         /* live assign commands queued to linecapd */
	uint64_t deferred;     /* assignments made while linecapd was away */
	uint64_t dropped;      /* not queued: the output buffer was full */
	uint64_t replayed;     /* assign commands re-sent on (re)connection */
	uint64_t replies_ok;
	uint64_t replies_error;
	uint64_t bound, pending, unchanged;       /* "result" of ok replies */
	uint64_t connects;
	uint64_t disconnects;
	uint64_t rotations;
	uint64_t truncations;
};

/* Monotonic time in microseconds. */
uint64_t xr_now_us(void);

/*
 * One line per event to stderr, prefixed with the program name. Never called
 * once per log line: per-line outcomes are counters.
 */
void xr_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- node.c: the VPN node this follower speaks for ---- */

#define XR_NODE_NAME_MAX LC_MGMT_NODE_NAME_MAX /* linecapd's limit */
#define XR_NODE_TAG_MAX 63
#define XR_NODE_ADDRS_MAX 16

/* One inbound of the node (--node-addr [TAG=]IP:PORT). */
struct xr_node_addr {
	char tag[XR_NODE_TAG_MAX + 1];  /* "": none */
	uint8_t family;                 /* 4 or 6 */
	char text[LC_XRAYLOG_IP_TEXT_MAX + 8]; /* "IP:PORT" or "[IPv6]:PORT" */
};

struct xr_node {
	char name[XR_NODE_NAME_MAX + 1];  /* "": no --node */
	char hello[XR_NODE_NAME_MAX + sizeof("hello node=\n")];
	unsigned int n_addrs;
	struct xr_node_addr addrs[XR_NODE_ADDRS_MAX];
};

/* --node NAME: 0, or -EINVAL for a name linecapd would refuse. */
int xr_node_set_name(const char *name);
/* --node-addr [TAG=]IP:PORT: 0, -EINVAL, or -ENOSPC past XR_NODE_ADDRS_MAX. */
int xr_node_add_addr(const char *arg);
const struct xr_node *xr_node_get(void);

/*
 * The inbound (index into addrs) an access line's client connected to, by
 * the rule in node.c and docs/XRAY.md; -1: none.
 */
int xr_node_server_of(const struct lc_xraylog_entry *e);

/*
 * Write what an assign command carries after the client endpoint: " SERVER"
 * for server >= 0, and " node=NAME" with --node. Returns the length, or -1
 * when it does not fit.
 */
int xr_node_words(int server, char *buf, size_t len);

/* "hello node=NAME\n", which a connection starts with; NULL without --node. */
const char *xr_node_hello(void);

/* Longest assign command, with its newline. */
#define XR_CMD_MAX (sizeof("assign   []:65535 []:65535 node=\n") + \
		    LC_XRAYLOG_EMAIL_MAX + 2 * LC_XRAYLOG_IP_TEXT_MAX + \
		    XR_NODE_NAME_MAX)

/* ---- replay.c: recent assignments, newest per client endpoint ---- */

struct xr_assignment {
	uint64_t when_us;    /* monotonic time it was read */
	uint8_t addr[16];    /* IPv4-mapped for IPv4, as lc_xraylog gives it */
	uint16_t port;
	uint8_t family;      /* 4 or 6 */
	int8_t server;       /* the node's inbound it came through; -1: none */
	uint8_t email_len;
	char email[LC_XRAYLOG_EMAIL_MAX + 1];
};

struct xr_replay;

/* capacity: records kept, rounded up to a power of two. */
struct xr_replay *xr_replay_create(uint32_t capacity);
void xr_replay_free(struct xr_replay *r);
uint32_t xr_replay_capacity(const struct xr_replay *r);

/* Remember e at time now; it replaces any older record of its endpoint. */
void xr_replay_put(struct xr_replay *r, const struct lc_xraylog_entry *e,
		   uint64_t now_us);

/*
 * Replay is a walk over the record sequence numbers [*cursor, end): start
 * it with xr_replay_begin(), which skips what is older than window_us, then
 * call xr_replay_next() until it returns NULL. Records that a newer record
 * of the same endpoint replaced, and records overwritten meanwhile, are
 * skipped, so each endpoint is sent once with its newest email.
 */
void xr_replay_begin(const struct xr_replay *r, uint64_t now_us,
		     uint64_t window_us, uint64_t *cursor, uint64_t *end);
const struct xr_assignment *xr_replay_next(const struct xr_replay *r,
					   uint64_t *cursor, uint64_t end);

/*
 * Write "assign EMAIL IP:PORT[ SERVER][ node=NAME]\n" for a record; returns
 * its length.
 */
int xr_assignment_command(const struct xr_assignment *a, char *buf,
			  size_t len);

/* ---- follow.c: the access log, followed by name ---- */

struct xr_follow;

/*
 * Most log bytes one xr_follow_poll() reads. An assign command is shorter
 * than the log line it comes from, so the commands of one poll fit in this
 * many bytes of the link's output buffer.
 */
#define XR_FOLLOW_SLICE (256 * 1024)

typedef void xr_line_fn(void *ctx, const char *line, size_t len);

/* from_start: read the file present at start from its beginning. */
struct xr_follow *xr_follow_create(const char *path, bool from_start,
				   struct xr_counters *counters);
void xr_follow_free(struct xr_follow *f);

/* A descriptor that becomes readable when the log may have changed, or -1. */
int xr_follow_event_fd(const struct xr_follow *f);
/* Drain that descriptor's events. */
void xr_follow_drain_events(struct xr_follow *f);

/*
 * Read what is new, calling fn for every complete line (without its "\n"),
 * and handle rotation, truncation and a missing file. Returns true when it
 * stopped early with more to read, so the caller comes back at once.
 */
bool xr_follow_poll(struct xr_follow *f, xr_line_fn *fn, void *ctx);

/*
 * Keep the follower's position in the log in the file at path (before the
 * first poll: where it says, the file present at start-up is read from;
 * follow.c has the rules). 0, or -1 with errno (ENOMEM).
 */
int xr_follow_set_position_file(struct xr_follow *f, const char *path);
/* Write the position now if it moved since the last write. */
void xr_follow_save_position(struct xr_follow *f);

/* ---- link.c: the management socket of linecapd ---- */

struct xr_link;

/*
 * stall_us: how long linecapd may leave bytes that wait for it unread before
 * the connection is dropped (the clock does not run while nothing waits).
 * keepalive_us: a link with nothing sent or answered this long sends a
 * `ping`, so that linecapd does not close it as idle (0: never).
 */
struct lc_mgmt_tls_files;

/*
 * socket_path: linecapd's Unix socket; or, with tls not NULL, HOST:PORT of
 * its [mgmt] listen, reached with TLS and these files (which must outlive
 * the link).
 */
struct xr_link *xr_link_create(const char *socket_path,
			       const struct lc_mgmt_tls_files *tls,
			       struct xr_replay *replay, uint64_t replay_us,
			       uint64_t stall_us, uint64_t keepalive_us,
			       struct xr_counters *counters);
void xr_link_free(struct xr_link *l);

bool xr_link_up(const struct xr_link *l);

/*
 * Free bytes in the output buffer. The main loop reads the log only while
 * there is room for a slice of commands, so that a slow linecapd slows the
 * reading (the log waits on disk) rather than losing assignments; a linecapd
 * that leaves waiting bytes unread for stall_us is dropped, and then the log
 * is read on and the assignments kept for replay.
 */
size_t xr_link_room(const struct xr_link *l);

/* Queue one live assignment; it is remembered for replay by the caller. */
void xr_link_assign(struct xr_link *l, const struct lc_xraylog_entry *e,
		    uint64_t now_us);

/*
 * Do what is due at now: connect or reconnect, feed the replay, flush a
 * batch that is full or 1 ms old, notice a stalled daemon, send a keepalive
 * ping on a quiet link, log the count of
 * error replies not shown. Returns the time of the next deadline (UINT64_MAX
 * when none).
 */
uint64_t xr_link_service(struct xr_link *l, uint64_t now_us);

/* Socket and the poll events it waits for (fd -1 when down). */
int xr_link_fd(const struct xr_link *l, short *events);
void xr_link_handle(struct xr_link *l, short revents, uint64_t now_us);

/* Best effort before exit: write what is queued, for up to timeout_us. */
void xr_link_drain(struct xr_link *l, uint64_t timeout_us);

#endif /* LC_XRAY_H */
