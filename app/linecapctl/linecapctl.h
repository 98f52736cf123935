/* SPDX-License-Identifier: MIT */
/*
 * linecapctl's parts, shared by main.c (one command or a batch) and top.c
 * (the live per-user view):
 *
 * - the channel to linecapd (channel.c): how bytes reach the management
 *   socket. Only ctl_channel_open() knows the transport; everything else
 *   sends and receives through the channel, so a TCP or TLS channel is a
 *   second open function that fills in its own send, recv and close.
 * - the top view's model (top_view.c): samples of `stats` and `user list`,
 *   the rates between two samples, the order of the rows and the text of
 *   the screen. It does no I/O, so the unit tests drive it with JSON.
 * - the top session (top.c): the loop that samples, the keys and the
 *   terminal.
 */
#ifndef LINECAPCTL_H
#define LINECAPCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define CTL_EXIT_ERROR_REPLY 1
#define CTL_EXIT_UNREACHABLE 2
/* --timeout's default: seconds of silence from linecapd that owes replies. */
#define CTL_TIMEOUT_DEFAULT_S 60

/* ---- channel.c: the connection to linecapd ---- */

struct ctl_channel;
struct lc_mgmt_tls_files;

/*
 * From now on, open channels with TLS over TCP: the target of
 * ctl_channel_open() is then HOST:PORT, and files are our certificate, its
 * key and the CA that signed linecapd's (the strings must outlive use).
 */
void ctl_channel_use_tls(const struct lc_mgmt_tls_files *files);

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

/*
 * True when received bytes wait inside the channel (TLS), where poll(2)
 * does not see them: receive before polling again.
 */
bool ctl_channel_pending(const struct ctl_channel *ch);

/* Bytes on their way in or out of a channel: appended, then consumed. */
struct ctl_buf {
	char *data;
	size_t len, cap;
};

/* Append n bytes, growing the buffer. 0, or -ENOMEM. */
int ctl_buf_append(struct ctl_buf *b, const void *data, size_t n);
/* Drop the first n bytes. */
void ctl_buf_consume(struct ctl_buf *b, size_t n);

/* ---- top_view.c: what `linecapctl top` shows ---- */

enum top_dir { TOP_UP, TOP_DOWN, TOP_DIRS };
enum top_side { TOP_CLIENT, TOP_SERVER, TOP_SIDES };

enum top_sort {
	TOP_SORT_RATE,  /* up + down, highest first */
	TOP_SORT_UP,
	TOP_SORT_DOWN,
	TOP_SORT_DROPS, /* up + down drops per second */
	TOP_SORT_FLOWS,
	TOP_SORT_EMAIL, /* alphabetical */
	TOP_SORTS
};

const char *top_sort_name(enum top_sort s);
/* The sort named `name`; -1 if none is. */
int top_sort_parse(const char *name);

/* A user as one `user list` reply gave it. */
struct top_user {
	char *email;
	uint64_t id;
	uint64_t limit[TOP_DIRS]; /* bit/s; 0 = none */
	uint64_t flows;
	uint64_t packets[TOP_DIRS], bytes[TOP_DIRS], drops[TOP_DIRS];
};

struct top_port {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t drops; /* every reason, the device's too */
};

/* One sample: a `stats` reply and a `user list` reply, taken at `t`. */
struct top_sample {
	double t; /* seconds, monotonic clock */
	bool have_stats, have_users;
	/* From stats. */
	char mode[16], state[16];
	int64_t uptime; /* -1: not given */
	uint64_t active_flows;
	struct top_port port[TOP_SIDES];
	uint64_t unassigned_bytes[TOP_DIRS];
	char *incomplete; /* the sections stats says it lacks, or NULL */
	/* From user list, sorted by email. */
	struct top_user *user;
	size_t n_user;
};

/*
 * Read a reply into the sample. A reply that says ok=false, or lacks what
 * is needed, leaves that part of the sample absent and returns -EINVAL
 * with the reason in err.
 */
int top_sample_stats(struct top_sample *s, const json_t *reply, char *err, size_t err_size);
int top_sample_users(struct top_sample *s, const json_t *reply, char *err, size_t err_size);
void top_sample_clear(struct top_sample *s);
void top_sample_move(struct top_sample *to, struct top_sample *from);

/* A user's row: its rates between the previous sample and this one. */
struct top_row {
	const struct top_user *user; /* in the current sample */
	bool rated;                  /* the previous sample had it, counters going on */
	double rate[TOP_DIRS];       /* bit/s of the user's frames that reached linecapd */
	double drops[TOP_DIRS];      /* frames dropped per second */
};

struct top_port_rates {
	double rx_pps, rx_bps, tx_pps, tx_bps, drops_ps;
};

/* The table between two samples. It points into the current sample. */
struct top_view {
	const struct top_sample *cur;
	double elapsed;       /* seconds between the samples; 0: no rates */
	bool ports_rated;
	struct top_port_rates port[TOP_SIDES];
	double unassigned_bps[TOP_DIRS];
	struct top_row *row;
	size_t n_row;
	double total_rate[TOP_DIRS], total_drops[TOP_DIRS];
	uint64_t total_flows;
};

/*
 * Build the rows of `cur` with rates against `prev` (NULL, or a sample of a
 * different connection: no rates yet). Returns 0 or -ENOMEM.
 */
int top_view_build(struct top_view *v, const struct top_sample *prev,
		   const struct top_sample *cur);
void top_view_sort(struct top_view *v, enum top_sort sort);
void top_view_clear(struct top_view *v);

enum top_line {
	TOP_LINE_TITLE,
	TOP_LINE_INFO,    /* ports, totals */
	TOP_LINE_MESSAGE, /* what went wrong, in place of nothing */
	TOP_LINE_HEADER,  /* the users' column names */
	TOP_LINE_ROW,
	TOP_LINE_HELP,
};

struct top_render {
	const char *target;   /* where linecapd is */
	double interval;
	enum top_sort sort;
	size_t width;         /* columns; 0: as wide as the text */
	size_t max_rows;      /* user rows at most */
	const char *message;  /* NULL or a line to show under the totals */
	bool help;            /* a line of keys at the end */
};

typedef void (*top_emit_fn)(void *ctx, enum top_line kind, const char *text);

/*
 * The screen as lines, top to bottom: title, ports, totals, message,
 * column names, user rows, keys. Each line is at most `width` columns
 * (counted in UTF-8 characters). `v` may have no current sample (nothing
 * read yet): then only the title and the message.
 */
void top_view_render(const struct top_view *v, const struct top_render *r,
		     top_emit_fn emit, void *ctx);

/* The rows `render` gives the users at most, for a screen of `lines`. */
size_t top_view_rows_for(size_t lines, bool help);

/* A number with an SI prefix in at most 5 characters: 812k, 9.8M, 1.25G. */
char *top_si(double v, char *buf, size_t size);

/* ---- top.c ---- */

/* `linecapctl [-s SOCKET] top ...`: argv[0] is "top". Returns the exit status. */
int ctl_top(const char *target, int argc, char **argv);

#endif
