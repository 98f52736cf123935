/* SPDX-License-Identifier: MIT */
/*
 * linecapctl top: a live per-user view of linecapd, like top(1).
 *
 *   linecapctl [-s SOCKET] top [--interval SECONDS] [--sort KEY] [-n COUNT] [--once]
 *
 * Each refresh sends `stats` and `user list`, pipelined, on one connection
 * kept for the whole session: two requests per refresh whatever the number
 * of users, since `user list` carries every user's counters. The rates are
 * the differences of the counters between two samples over the time between
 * them on the monotonic clock (top_view.c says how a user's rate is made).
 *
 * On a terminal the view is drawn with ncurses and redrawn at every sample,
 * key and resize; the loop waits in poll(2) on the channel, the keyboard
 * and a pipe that the signal handlers write to, so SIGINT, SIGTERM, SIGHUP
 * and SIGWINCH are handled in the loop and the terminal is always given
 * back. With --once, or when stdout is not a terminal, it takes two samples
 * an interval apart, prints the view as plain text and exits.
 *
 * When linecapd cannot be reached, goes away or stops answering, the screen
 * says so and the session tries again once per interval; the first sample
 * after a reconnection has nothing to be rated against, so rates come back
 * one interval later. --once exits with status 2 instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>
#include <jansson.h>

#include "linecapctl.h"

#define REQUEST "stats\nuser list\n"
#define REPLIES 2
#define REPLY_TIMEOUT_S 10.0
#define REPLY_MAX_BYTES (512u << 20) /* a reply longer than this is not linecapd's */
#define INTERVAL_MIN 0.1
/* Above linecapd's [mgmt] idle_timeout a quiet session would be closed. */
#define INTERVAL_MAX 60.0

/* The steps of '+' and '-'. */
static const double interval_steps[] = { 0.5, 1, 2, 3, 5, 10, 15, 30, 60 };

struct top {
	/* What the command line asked for. */
	const char *target;
	double interval;
	enum top_sort sort;
	size_t count;       /* rows at most; 0: as many as fit (plain: all) */
	bool once;          /* plain text after two samples */
	bool keys;          /* stdin is a terminal to read keys from */
	SCREEN *screen;     /* NULL: plain text */

	/* The connection and the request in flight. */
	struct ctl_channel *ch;
	unsigned int conn;  /* counts connections: samples rate only within one */
	struct ctl_buf out, in;
	bool in_flight;
	double sent_at, next_at;
	json_t *reply[REPLIES];
	unsigned int n_reply;

	/* The two latest samples and the table between them. */
	struct top_sample prev, cur;
	bool have_cur;
	unsigned int cur_conn, samples; /* samples: on this connection */
	struct top_view view;

	char message[512];  /* what went wrong, or empty */
	bool quit;
	int status;
};

static int signal_pipe[2] = { -1, -1 };

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: linecapctl [-s SOCKET] top [--interval SECONDS] [--sort KEY] [-n COUNT] [--once]\n"
		"\n"
		"  -i, --interval SECONDS  time between refreshes (default 1; %g to %g)\n"
		"  -o, --sort KEY          rate (up+down, default), up, down, drops, flows, email\n"
		"  -n, --count COUNT       show at most COUNT users (default: as many as fit;\n"
		"                          all with --once)\n"
		"      --once              print one refresh as plain text after two samples\n"
		"                          and exit (also when stdout is not a terminal)\n"
		"\n"
		"keys: q quit, s next sort, r u d x f e sort by rate/up/down/drops/flows/email,\n"
		"      + and - change the interval, l redraw\n",
		INTERVAL_MIN, INTERVAL_MAX);
}

/* ---- drawing ---- */

struct screen_pen {
	int y;
};

static void
screen_line(void *ctx, enum top_line kind, const char *text)
{
	struct screen_pen *pen = ctx;
	attr_t attr = A_NORMAL;

	if (kind == TOP_LINE_HELP)
		pen->y = LINES - 1; /* at the bottom, however few users there are */
	if (pen->y >= LINES)
		return;
	if (kind == TOP_LINE_TITLE || kind == TOP_LINE_MESSAGE)
		attr = A_BOLD;
	else if (kind == TOP_LINE_HEADER)
		attr = A_REVERSE;
	move(pen->y++, 0);
	attron(attr);
	addnstr(text, -1);
	attroff(attr);
	clrtoeol();
}

static void
plain_line(void *ctx, enum top_line kind, const char *text)
{
	(void)ctx;
	(void)kind;
	puts(text);
}

static void
draw(struct top *t)
{
	struct top_render r = {
		.target = t->target,
		.interval = t->interval,
		.sort = t->sort,
		.message = t->message[0] ? t->message : NULL,
	};
	const struct top_view none = { 0 };
	const struct top_view *v = t->have_cur ? &t->view : &none;

	if (t->screen == NULL) {
		r.max_rows = t->count ? t->count : SIZE_MAX;
		top_view_render(v, &r, plain_line, NULL);
		fflush(stdout);
		return;
	}
	struct screen_pen pen = { 0 };
	size_t fit;

	r.width = COLS > 0 ? (size_t)COLS : 1;
	r.help = LINES >= 12;
	fit = top_view_rows_for(LINES > 0 ? (size_t)LINES : 0, r.help);
	r.max_rows = t->count && t->count < fit ? t->count : fit;
	erase();
	top_view_render(v, &r, screen_line, &pen);
	refresh();
}

/* ---- the connection ---- */

static void
replies_clear(struct top *t)
{
	for (unsigned int i = 0; i < t->n_reply; i++)
		json_decref(t->reply[i]);
	t->n_reply = 0;
}

static void
disconnect(struct top *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Drop the connection; the message says why, and what happens next. */
static void
disconnect(struct top *t, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(t->message, sizeof(t->message), fmt, ap);
	va_end(ap);
	n = strlen(t->message);
	if (!t->once)
		snprintf(t->message + n, sizeof(t->message) - n,
			 "; retrying every %gs", t->interval);
	ctl_channel_close(t->ch);
	t->ch = NULL;
	t->in_flight = false;
	t->out.len = t->in.len = 0;
	replies_clear(t);
	if (t->once) {
		t->status = CTL_EXIT_UNREACHABLE;
		t->quit = true;
	}
}

static void
try_connect(struct top *t, double now)
{
	char err[256];

	t->ch = ctl_channel_open(t->target, err, sizeof(err));
	if (t->ch == NULL) {
		t->next_at = now + t->interval;
		disconnect(t, "%s", err);
		return;
	}
	t->conn++;
	t->samples = 0;
	t->message[0] = '\0';
	t->next_at = now;
}

static void
send_request(struct top *t, double now)
{
	if (ctl_buf_append(&t->out, REQUEST, strlen(REQUEST)) != 0) {
		disconnect(t, "out of memory");
		return;
	}
	t->in_flight = true;
	t->sent_at = now;
	t->next_at += t->interval;
	if (t->next_at <= now)
		t->next_at = now + t->interval;
}

/* Both replies are in: they make the new current sample. */
static void
take_sample(struct top *t, double now)
{
	struct top_sample s = { .t = (t->sent_at + now) / 2, .uptime = -1 };
	char err[2][240] = { "", "" };

	/* The counters were read between the request and the last reply. */
	top_sample_stats(&s, t->reply[0], err[0], sizeof(err[0]));
	top_sample_users(&s, t->reply[1], err[1], sizeof(err[1]));
	replies_clear(t);
	t->in_flight = false;
	snprintf(t->message, sizeof(t->message), "%s%s%s", err[0],
		 err[0][0] && err[1][0] ? "; " : "", err[1]);
	if (t->message[0] && t->once)
		t->status = CTL_EXIT_ERROR_REPLY;

	if (t->have_cur && t->cur_conn == t->conn)
		top_sample_move(&t->prev, &t->cur);
	else
		top_sample_clear(&t->prev);
	top_sample_move(&t->cur, &s);
	t->have_cur = true;
	t->cur_conn = t->conn;
	t->samples++;
	top_view_clear(&t->view);
	if (top_view_build(&t->view, t->samples > 1 ? &t->prev : NULL, &t->cur) != 0)
		snprintf(t->message, sizeof(t->message), "out of memory");
	top_view_sort(&t->view, t->sort);
	if (t->once && t->samples >= 2)
		t->quit = true;
}

static void
read_replies(struct top *t)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = ctl_channel_recv(t->ch, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			disconnect(t, "linecapd at %s closed the connection%s%s", t->target,
				   n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			return;
		}
		if (t->in.len + (size_t)n > REPLY_MAX_BYTES ||
		    ctl_buf_append(&t->in, buf, (size_t)n) != 0) {
			disconnect(t, "a reply of linecapd is too long to hold");
			return;
		}
		char *nl;
		size_t done = 0;

		while ((nl = memchr(t->in.data + done, '\n', t->in.len - done)) != NULL) {
			size_t len = (size_t)(nl - (t->in.data + done));
			json_t *reply = json_loadb(t->in.data + done, len, 0, NULL);

			done += len + 1;
			if (reply == NULL || !t->in_flight || t->n_reply == REPLIES) {
				json_decref(reply);
				disconnect(t, "linecapd at %s sent a reply out of turn",
					   t->target);
				return;
			}
			t->reply[t->n_reply++] = reply;
		}
		ctl_buf_consume(&t->in, done);
		if (t->n_reply == REPLIES) {
			take_sample(t, now_s());
			if (t->screen != NULL || t->quit)
				draw(t);
		}
	}
}

static void
write_request(struct top *t)
{
	ssize_t n = ctl_channel_send(t->ch, t->out.data, t->out.len);

	if (n > 0)
		ctl_buf_consume(&t->out, (size_t)n);
	else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		disconnect(t, "linecapd at %s: %s", t->target, strerror(errno));
}

/* ---- keys and signals ---- */

static void
on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (write(signal_pipe[1], &c, 1) < 0) {
		/* The pipe is full: a signal of the same kind is already waiting. */
	}
	errno = saved;
}

static int
signals_catch(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
	struct sigaction sa = { .sa_handler = on_signal };

	if (pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return -errno;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return -errno;
	return 0;
}

static void
resize(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	clear();
}

static void
read_signals(struct top *t)
{
	unsigned char sig[16];
	ssize_t n;

	while ((n = read(signal_pipe[0], sig, sizeof(sig))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (sig[i] == SIGWINCH && t->screen != NULL) {
				resize();
				draw(t);
			} else if (sig[i] != SIGWINCH) {
				t->quit = true;
			}
		}
	}
}

static void
set_interval(struct top *t, int step)
{
	size_t n = sizeof(interval_steps) / sizeof(interval_steps[0]);
	double v = t->interval;

	if (step > 0) {
		for (size_t i = 0; i < n && v == t->interval; i++)
			if (interval_steps[i] > t->interval + 1e-9)
				v = interval_steps[i];
	} else {
		for (size_t i = n; i > 0 && v == t->interval; i--)
			if (interval_steps[i - 1] < t->interval - 1e-9)
				v = interval_steps[i - 1];
	}
	/* The next sample comes one new interval after the last one. */
	t->next_at += v - t->interval;
	t->interval = v;
}

static void
read_keys(struct top *t)
{
	int c, sort;

	while ((c = getch()) != ERR) {
		sort = -1;
		switch (c) {
		case 'q':
		case 'Q':
			t->quit = true;
			return;
		case 's':
			sort = (int)((t->sort + 1) % TOP_SORTS);
			break;
		case 'r':
			sort = TOP_SORT_RATE;
			break;
		case 'u':
			sort = TOP_SORT_UP;
			break;
		case 'd':
			sort = TOP_SORT_DOWN;
			break;
		case 'x':
			sort = TOP_SORT_DROPS;
			break;
		case 'f':
			sort = TOP_SORT_FLOWS;
			break;
		case 'e':
			sort = TOP_SORT_EMAIL;
			break;
		case '+':
		case '=':
			set_interval(t, 1);
			break;
		case '-':
		case '_':
			set_interval(t, -1);
			break;
		case 'l':
		case 12: /* ^L */
			clear();
			break;
		case KEY_RESIZE:
			break;
		default:
			continue;
		}
		if (sort >= 0) {
			t->sort = (enum top_sort)sort;
			top_view_sort(&t->view, t->sort);
		}
		draw(t);
	}
}

/* ---- the session ---- */

static bool
screen_open(struct top *t)
{
	setlocale(LC_ALL, "");
	t->screen = newterm(NULL, stdout, stdin);
	if (t->screen == NULL)
		return false;
	set_term(t->screen);
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	leaveok(stdscr, TRUE);
	curs_set(0);
	return true;
}

static void
screen_close(struct top *t)
{
	if (t->screen == NULL)
		return;
	endwin();
	delscreen(t->screen);
	t->screen = NULL;
}

static void
run(struct top *t)
{
	t->next_at = now_s();
	if (t->screen != NULL)
		draw(t);
	while (!t->quit) {
		double now = now_s(), until;
		struct pollfd pfd[3] = {
			{ .fd = signal_pipe[0], .events = POLLIN },
			{ .fd = t->keys ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = -1 },
		};

		if (t->ch == NULL && now >= t->next_at) {
			try_connect(t, now);
			if (t->ch == NULL && t->screen != NULL)
				draw(t);
			if (t->quit)
				break;
		}
		if (t->ch != NULL && !t->in_flight && now >= t->next_at)
			send_request(t, now);
		if (t->ch != NULL && t->in_flight && now - t->sent_at > REPLY_TIMEOUT_S) {
			disconnect(t, "linecapd at %s did not answer within %gs",
				   t->target, REPLY_TIMEOUT_S);
			t->next_at = now + t->interval;
			if (t->screen != NULL)
				draw(t);
			continue;
		}
		if (t->ch != NULL) {
			pfd[2].fd = ctl_channel_fd(t->ch);
			pfd[2].events = POLLIN | (t->out.len ? POLLOUT : 0);
		}
		until = t->ch != NULL && t->in_flight ? t->sent_at + REPLY_TIMEOUT_S : t->next_at;
		int ms = until > now ? (int)ceil((until - now) * 1000) : 0;

		if (poll(pfd, 3, ms) < 0 && errno != EINTR) {
			snprintf(t->message, sizeof(t->message), "poll: %s", strerror(errno));
			t->status = CTL_EXIT_UNREACHABLE;
			break;
		}
		if (pfd[0].revents & POLLIN)
			read_signals(t);
		if (t->quit)
			break;
		if (pfd[1].revents & POLLIN)
			read_keys(t);
		else if (pfd[1].revents & (POLLHUP | POLLERR))
			t->keys = false;
		if (t->ch != NULL && (pfd[2].revents & POLLOUT))
			write_request(t);
		if (t->ch != NULL && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)))
			read_replies(t);
		if (t->ch == NULL && t->screen != NULL && t->message[0])
			draw(t);
	}
}

static int
parse_args(struct top *t, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "sort", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, '1' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c, s;

	optind = 0; /* GNU getopt: start over, on top's own arguments */
	while ((c = getopt_long(argc, argv, "i:o:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			errno = 0;
			t->interval = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(t->interval >= INTERVAL_MIN && t->interval <= INTERVAL_MAX)) {
				fprintf(stderr, "linecapctl top: --interval '%s': expected "
					"seconds from %g to %g\n", optarg, INTERVAL_MIN,
					INTERVAL_MAX);
				return CTL_EXIT_UNREACHABLE;
			}
			break;
		case 'o':
			s = top_sort_parse(optarg);
			if (s < 0) {
				fprintf(stderr, "linecapctl top: --sort '%s': expected rate, "
					"up, down, drops, flows or email\n", optarg);
				return CTL_EXIT_UNREACHABLE;
			}
			t->sort = (enum top_sort)s;
			break;
		case 'n': {
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || n == 0 ||
			    optarg[0] == '-') {
				fprintf(stderr, "linecapctl top: -n '%s': expected a count "
					"of users above 0\n", optarg);
				return CTL_EXIT_UNREACHABLE;
			}
			t->count = n;
			break;
		}
		case '1':
			t->once = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return CTL_EXIT_UNREACHABLE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "linecapctl top: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return CTL_EXIT_UNREACHABLE;
	}
	return -1;
}

int
ctl_top(const char *target, int argc, char **argv)
{
	struct top t = {
		.target = target,
		.interval = 1,
		.sort = TOP_SORT_RATE,
		.prev = { .uptime = -1 },
		.cur = { .uptime = -1 },
	};
	int rc = parse_args(&t, argc, argv);

	if (rc >= 0)
		return rc;
	if (!isatty(STDOUT_FILENO))
		t.once = true;
	if (!t.once) {
		if (signals_catch() != 0) {
			fprintf(stderr, "linecapctl top: cannot catch signals: %s\n",
				strerror(errno));
			return CTL_EXIT_UNREACHABLE;
		}
		if (!screen_open(&t)) {
			fprintf(stderr, "linecapctl top: cannot drive this terminal "
				"(TERM=%s); try --once\n", getenv("TERM") ? getenv("TERM") : "");
			return CTL_EXIT_UNREACHABLE;
		}
		t.keys = isatty(STDIN_FILENO);
	}

	run(&t);

	screen_close(&t);
	if (t.once && t.message[0])
		fprintf(stderr, "linecapctl top: %s\n", t.message);
	ctl_channel_close(t.ch);
	replies_clear(&t);
	top_view_clear(&t.view);
	top_sample_clear(&t.prev);
	top_sample_clear(&t.cur);
	free(t.out.data);
	free(t.in.data);
	return t.status;
}
