/* SPDX-License-Identifier: MIT */
/*
 * linecap-xray: follows the Xray access log and tells linecapd which user
 * (the `email:` of an accepted line) owns which client endpoint, with
 * `assign EMAIL IP:PORT` on its management socket. See docs/XRAY.md.
 *
 *   linecap-xray [-s SOCKET] [--from-start] [--position FILE] [--vpn-port N] [--node NAME]
 *                [--node-addr [TAG=]IP:PORT]...
 *                [--replay SECONDS] [--replay-max N] [--stats SECONDS]
 *                [--stall-timeout SECONDS] [--keepalive SECONDS]
 *                ACCESS_LOG
 *   linecap-xray --bench FILE [--passes N]
 *
 * One thread, one poll loop: the log (inotify plus a 250 ms timer), the
 * socket, the 1 ms batch deadline and the signals (SIGINT/SIGTERM stop,
 * SIGUSR1 prints the counters) all wake the same ppoll. The signals come
 * through a signalfd in that poll, not through handlers run inside ppoll:
 * ppoll delivers a signal only when it would otherwise wait, so a descriptor
 * that is always ready kept SIGTERM out for good. Nothing in the loop
 * blocks: the log is opened non-blocking and only when it is a regular
 * file, the socket is non-blocking, and a stderr that cannot take a line
 * loses the line (counted, and said when it can take lines again) instead
 * of stopping the follower.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lc_mgmt.h"
#include "lc_mgmt_tls.h"
#include "xray.h"

#define FOLLOW_TIMER_US 250000
/* The position in the log is written at most this often (--position). */
#define POSITION_SAVE_US 1000000
#define MASKED_LOG_EVERY_US (3600ULL * 1000000)
/* How long one log line may wait for a full stderr before it is lost. */
#define LOG_WAIT_MS 500

static bool stop_signal;
static bool dump_signal;
static int signal_fd = -1;

/*
 * Where the log lines go. stderr may be a pipe or a socket whose reader has
 * stopped, or a file that takes nothing more (a full disk, /dev/full).
 * Writing to it must then neither block the follower nor keep SIGTERM out,
 * and a failing write must not be retried in a loop.
 */
static struct {
	int fd;
	bool is_socket;  /* send() with MSG_DONTWAIT */
	bool stuck;      /* the last line was lost: do not wait for the next */
	bool stopping;   /* on the way out: never wait */
	uint64_t lost;   /* lines lost since the last one written */
	int lost_err;
} log_out = { .fd = STDERR_FILENO };

uint64_t
xr_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * A pipe gets a non-blocking open file description of its own, through
 * /proc: O_NONBLOCK on stderr itself would change it for every process that
 * shares it. A socket is written with MSG_DONTWAIT. A regular file or a
 * device does not block (a terminal stopped with ^S still can).
 */
static void
log_setup(void)
{
	struct stat st;

	if (fstat(STDERR_FILENO, &st) < 0)
		return;
	if (S_ISSOCK(st.st_mode)) {
		log_out.is_socket = true;
	} else if (S_ISFIFO(st.st_mode)) {
		const int fd = open("/proc/self/fd/2",
				    O_WRONLY | O_NONBLOCK | O_CLOEXEC);

		if (fd >= 0)
			log_out.fd = fd;
	}
}

/* Room in stderr within LOG_WAIT_MS, unless a signal is waiting first. */
static bool
log_wait(void)
{
	struct pollfd pfd[2] = {
		{ .fd = log_out.fd, .events = POLLOUT },
		{ .fd = signal_fd, .events = POLLIN },
	};

	return poll(pfd, signal_fd >= 0 ? 2 : 1, LOG_WAIT_MS) > 0 &&
	       (pfd[0].revents & POLLOUT) && !(pfd[1].revents & POLLIN);
}

static bool
log_write(const char *p, size_t len)
{
	while (len > 0) {
		const ssize_t n = log_out.is_socket ?
			send(log_out.fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL) :
			write(log_out.fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    !log_out.stuck && !log_out.stopping && log_wait())
			continue;
		log_out.lost_err = n < 0 ? errno : EIO;
		log_out.stuck = true;
		return false;
	}
	log_out.stuck = false;
	return true;
}

void
xr_log(const char *fmt, ...)
{
	char msg[1024], line[1100];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_out.lost > 0) {
		n = snprintf(line, sizeof(line), "linecap-xray: %llu log lines "
			     "were lost: stderr could not take them (%s)\n",
			     (unsigned long long)log_out.lost,
			     strerror(log_out.lost_err));
		if (!log_write(line, (size_t)n)) {
			log_out.lost++;
			return;
		}
		log_out.lost = 0;
	}
	/* One write per line, so that lines never interleave. */
	n = snprintf(line, sizeof(line), "linecap-xray: %s\n", msg);
	if (n < 0)
		return;
	if (!log_write(line, (size_t)n < sizeof(line) ? (size_t)n :
		       sizeof(line) - 1))
		log_out.lost++;
}

struct follower {
	struct xr_counters counters;
	struct xr_replay *replay;
	struct xr_link *link;
	uint64_t now;             /* time of the current loop turn */
	uint64_t masked_logged_at;
	bool masked_logged;
	bool port_zero_logged;
};

static void
on_line(void *ctx, const char *line, size_t len)
{
	struct follower *fw = ctx;
	struct lc_xraylog_entry e;
	const int r = lc_xraylog_parse_line(line, len, &e);

	fw->counters.lines++;
	fw->counters.result[r]++;
	switch (r) {
	case LC_XRAYLOG_ASSIGN:
		xr_replay_put(fw->replay, &e, fw->now);
		xr_link_assign(fw->link, &e, fw->now);
		break;
	case LC_XRAYLOG_MASKED:
		if (!fw->masked_logged ||
		    fw->now - fw->masked_logged_at >= MASKED_LOG_EVERY_US) {
			xr_log("the access log masks client addresses (\"%.*s\"):"
			       " switch Xray's log.maskAddress off, linecap "
			       "needs the real client IP:port; masked lines are "
			       "skipped (counter masked)",
			       (int)(e.source.len > 64 ? 64 : e.source.len),
			       e.source.ptr);
			fw->masked_logged = true;
			fw->masked_logged_at = fw->now;
		}
		break;
	case LC_XRAYLOG_PORT_ZERO:
		if (!fw->port_zero_logged)
			xr_log("client port 0 (address from X-Forwarded-For "
			       "behind a CDN): such lines name no flow and are "
			       "skipped (counter port_zero)");
		fw->port_zero_logged = true;
		break;
	default:
		break;
	}
}

/*
 * Read the log only while the commands of a whole slice fit the output
 * buffer, or while linecapd is away (then assignments are only remembered).
 */
static bool
room_to_read(const struct xr_link *link)
{
	return !xr_link_up(link) || xr_link_room(link) >= 2 * XR_FOLLOW_SLICE;
}

static void
print_counters(const struct xr_counters *c, const char *when)
{
	char skipped[512];
	size_t off = 0;

	for (int r = 1; r < LC_XRAYLOG_RESULT_MAX; r++) {
		int n = snprintf(skipped + off, sizeof(skipped) - off, " %s=%" PRIu64,
				 lc_xraylog_result_name(r), c->result[r]);

		if (n < 0 || (size_t)n >= sizeof(skipped) - off)
			break;
		off += (size_t)n;
	}
	skipped[off] = '\0';
	xr_log("counters (%s): lines=%" PRIu64 " assigned=%" PRIu64
	       " sent=%" PRIu64 " deferred=%" PRIu64 " dropped=%" PRIu64
	       " replayed=%" PRIu64 " replies_ok=%" PRIu64
	       " replies_error=%" PRIu64 " bound=%" PRIu64 " pending=%" PRIu64
	       " unchanged=%" PRIu64 " connects=%" PRIu64
	       " disconnects=%" PRIu64 " rotations=%" PRIu64
	       " truncations=%" PRIu64 " skipped:%s",
	       when, c->lines, c->result[LC_XRAYLOG_ASSIGN], c->sent,
	       c->deferred, c->dropped, c->replayed, c->replies_ok,
	       c->replies_error, c->bound, c->pending, c->unchanged,
	       c->connects, c->disconnects, c->rotations, c->truncations,
	       skipped);
}

/* Take the signals that are waiting in the signalfd. */
static void
read_signals(void)
{
	struct signalfd_siginfo si;

	while (read(signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			dump_signal = true;
		} else {
			stop_signal = true;
			log_out.stopping = true;
		}
	}
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: linecap-xray [-s SOCKET] [--from-start] [--position FILE]\n"
		"                    [--vpn-port N]\n"
		"                    [--node NAME] [--node-addr [TAG=]IP:PORT]...\n"
		"                    [--replay SECONDS] [--replay-max N] "
		"[--stats SECONDS]\n"
		"                    [--stall-timeout SECONDS] [--keepalive "
		"SECONDS] ACCESS_LOG\n"
		"       linecap-xray --bench FILE [--passes N]\n"
		"\n"
		"Follows the Xray access log by name (like tail -F) and sends\n"
		"`assign EMAIL IP:PORT` to linecapd for every accepted line\n"
		"with an email.\n"
		"\n"
		"  -s, --socket SOCKET   linecapd management socket (default "
		LC_MGMT_SOCKET_DEFAULT ")\n"
		"      --connect HOST:PORT  reach linecapd's [mgmt] listen over "
		"TLS instead,\n"
		"                        with --cert FILE --key FILE (our "
		"certificate, its\n"
		"                        CN one of linecapd's [mgmt] followers) "
		"and --ca FILE\n"
		"                        (the CA of linecapd's certificate, "
		"which must name HOST)\n"
		"      --from-start      read the log from its start, not its "
		"end\n"
		"      --position FILE   keep the position in the log in FILE, "
		"and start\n"
		"                        from it: what was logged while the "
		"follower was\n"
		"                        down is read too\n"
		"      --vpn-port N      port of the Xray inbound; accepted for "
		"compatibility\n"
		"                        with the old follower and not used: "
		"linecapd binds\n"
		"                        by client endpoint\n"
		"      --replay SECONDS  on (re)connection re-send the "
		"assignments of the\n"
		"                        last SECONDS (default 600; 0: none)\n"
		"      --replay-max N    assignments kept for replay (default "
		"65536)\n"
		"      --stats SECONDS   counters to stderr every SECONDS "
		"(default 60)\n"
		"      --stall-timeout SECONDS  drop a linecapd that leaves "
		"waiting bytes\n"
		"                        unread this long (default 10)\n"
		"      --keepalive SECONDS  ping a quiet linecapd this often, "
		"so that it\n"
		"                        does not close the link as idle "
		"(default 60; 0: no)\n"
		"      --node NAME       the VPN node this Xray runs on: every "
		"assignment\n"
		"                        carries node=NAME, and each connection "
		"starts\n"
		"                        with `hello node=NAME`\n"
		"      --node-addr [TAG=]IP:PORT  an inbound of the node (up to "
		"16): each\n"
		"                        assignment names the one its client "
		"connected to\n"
		"                        (the inbound TAG of the line, else the "
		"first\n"
		"                        without a tag, of the client's IP "
		"version)\n"
		"      --bench FILE      parse FILE --passes times (default 5), "
		"print lines/s\n"
		"  -h, --help            this text\n"
		"\n"
		"SIGUSR1 prints the counters; SIGINT and SIGTERM stop.\n");
}

static bool
parse_number(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		return false;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static int
run_bench(const char *path, unsigned int passes, uint32_t replay_max)
{
	struct follower fw = { 0 };
	struct lc_xraylog_entry e;
	struct stat st;
	size_t n_lines = 0, *starts, *lens;
	uint64_t t0, t1, results[LC_XRAYLOG_RESULT_MAX] = { 0 };
	char *data, cmd[512];
	/* Non-blocking, so that a FIFO is refused rather than waited on. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		xr_log("bench: %s: %s", path, strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode)) {
		xr_log("bench: %s is not a regular file", path);
		close(fd);
		return 1;
	}
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL)
		return 1;
	for (size_t got = 0; got < (size_t)st.st_size;) {
		const ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n <= 0) {
			xr_log("bench: read %s: %s", path,
			       n < 0 ? strerror(errno) : "short file");
			return 1;
		}
		got += (size_t)n;
	}
	close(fd);
	for (off_t i = 0; i < st.st_size; i++)
		n_lines += data[i] == '\n';
	starts = malloc((n_lines + 1) * sizeof(*starts));
	lens = malloc((n_lines + 1) * sizeof(*lens));
	if (starts == NULL || lens == NULL)
		return 1;
	n_lines = 0;
	for (size_t i = 0, s = 0; i < (size_t)st.st_size; i++) {
		if (data[i] != '\n')
			continue;
		starts[n_lines] = s;
		lens[n_lines++] = i - s;
		s = i + 1;
	}
	if (n_lines == 0) {
		xr_log("bench: %s has no lines", path);
		return 1;
	}

	/* The parser alone. */
	t0 = xr_now_us();
	for (unsigned int p = 0; p < passes; p++)
		for (size_t i = 0; i < n_lines; i++)
			results[lc_xraylog_parse_line(data + starts[i], lens[i],
						      &e)]++;
	t1 = xr_now_us();

	const double secs = (double)(t1 - t0) / 1e6;
	const double total = (double)n_lines * passes;

	printf("parse: %zu lines x %u passes in %.3f s: %.0f lines/s\n",
	       n_lines, passes, secs, total / secs);
	for (int r = 0; r < LC_XRAYLOG_RESULT_MAX; r++)
		if (results[r] > 0)
			printf("  %-11s %" PRIu64 "\n", lc_xraylog_result_name(r),
			       results[r] / passes);

	/* What the follower does per line: parse, remember, write command. */
	fw.replay = xr_replay_create(replay_max);
	if (fw.replay == NULL)
		return 1;
	size_t bytes = 0;

	t0 = xr_now_us();
	for (unsigned int p = 0; p < passes; p++) {
		for (size_t i = 0; i < n_lines; i++) {
			if (lc_xraylog_parse_line(data + starts[i], lens[i],
						  &e) != LC_XRAYLOG_ASSIGN)
				continue;
			xr_replay_put(fw.replay, &e, t0);
			int n = snprintf(cmd, sizeof(cmd), "assign %s ",
					 e.email);
			int m = lc_xraylog_format_endpoint(&e, cmd + n,
							   sizeof(cmd) -
							   (size_t)n);
			bytes += (size_t)(n + m);
		}
	}
	t1 = xr_now_us();
	printf("pipeline (parse + replay table + command): %.0f lines/s "
	       "(%zu command bytes)\n",
	       total / ((double)(t1 - t0) / 1e6), bytes);
	xr_replay_free(fw.replay);
	free(starts);
	free(lens);
	free(data);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "connect", required_argument, NULL, 'C' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "from-start", no_argument, NULL, 'f' },
		{ "position", required_argument, NULL, 'P' },
		{ "vpn-port", required_argument, NULL, 'p' },
		{ "replay", required_argument, NULL, 'r' },
		{ "replay-max", required_argument, NULL, 'm' },
		{ "stats", required_argument, NULL, 'S' },
		{ "stall-timeout", required_argument, NULL, 'T' },
		{ "keepalive", required_argument, NULL, 'K' },
		{ "bench", required_argument, NULL, 'b' },
		{ "passes", required_argument, NULL, 'n' },
		{ "node", required_argument, NULL, 'N' },
		{ "node-addr", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_path = LC_MGMT_SOCKET_DEFAULT, *bench = NULL;
	unsigned long long replay_s = 600, replay_max = 65536, stats_s = 60;
	unsigned long long vpn_port = 0, passes = 5, stall_s = 10;
	unsigned long long keepalive_s = 60;
	bool from_start = false;
	const char *position_path = NULL;
	struct lc_mgmt_tls_files tls = { NULL, NULL, NULL };
	const char *connect_to = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'C':
			connect_to = optarg;
			break;
		case 'c':
			tls.cert = optarg;
			break;
		case 'k':
			tls.key = optarg;
			break;
		case 'a':
			tls.ca = optarg;
			break;
		case 'f':
			from_start = true;
			break;
		case 'P':
			position_path = optarg;
			break;
		case 'p':
			if (!parse_number(optarg, 65535, &vpn_port) ||
			    vpn_port == 0) {
				xr_log("--vpn-port: not a port: %s", optarg);
				return 2;
			}
			break;
		case 'r':
			if (!parse_number(optarg, 86400 * 7, &replay_s)) {
				xr_log("--replay: not a number of seconds "
				       "(0..604800): %s", optarg);
				return 2;
			}
			break;
		case 'm':
			if (!parse_number(optarg, 1u << 24, &replay_max) ||
			    replay_max == 0) {
				xr_log("--replay-max: not a count (1..16777216)"
				       ": %s", optarg);
				return 2;
			}
			break;
		case 'S':
			if (!parse_number(optarg, 86400, &stats_s) ||
			    stats_s == 0) {
				xr_log("--stats: not a number of seconds "
				       "(1..86400): %s", optarg);
				return 2;
			}
			break;
		case 'T':
			if (!parse_number(optarg, 3600, &stall_s) ||
			    stall_s == 0) {
				xr_log("--stall-timeout: not a number of seconds "
				       "(1..3600): %s", optarg);
				return 2;
			}
			break;
		case 'K':
			if (!parse_number(optarg, 86400, &keepalive_s)) {
				xr_log("--keepalive: not a number of seconds "
				       "(0..86400): %s", optarg);
				return 2;
			}
			break;
		case 'N':
			if (xr_node_set_name(optarg) != 0) {
				xr_log("--node: not a node name (1 to %d letters, "
				       "digits, '.', '-' or '_'): %s",
				       XR_NODE_NAME_MAX, optarg);
				return 2;
			}
			break;
		case 'A': {
			int rc = xr_node_add_addr(optarg);

			if (rc != 0) {
				xr_log("--node-addr: %s: %s", optarg, rc == -ENOSPC ?
				       "more than 16 inbounds" :
				       "not [TAG=]IP:PORT or [TAG=][IPv6]:PORT");
				return 2;
			}
			break;
		}
		case 'b':
			bench = optarg;
			break;
		case 'n':
			if (!parse_number(optarg, 100000, &passes) ||
			    passes == 0) {
				xr_log("--passes: not a count: %s", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (bench != NULL)
		return run_bench(bench, (unsigned int)passes,
				 (uint32_t)replay_max);
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}

	if (connect_to != NULL &&
	    (tls.cert == NULL || tls.key == NULL || tls.ca == NULL)) {
		xr_log("--connect needs --cert, --key and --ca");
		return 2;
	}
	const char *log_path = argv[optind];
	struct follower fw = { 0 };
	struct xr_follow *follow;
	sigset_t block;

	/* The signals are only ever read from the signalfd. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal_fd = signalfd(-1, &block, SFD_NONBLOCK | SFD_CLOEXEC);
	if (signal_fd < 0) {
		xr_log("cannot start: signalfd: %s", strerror(errno));
		return 1;
	}
	log_setup();

	fw.replay = xr_replay_create((uint32_t)replay_max);
	fw.link = fw.replay == NULL ? NULL :
		xr_link_create(connect_to != NULL ? connect_to : socket_path,
			       connect_to != NULL ? &tls : NULL,
			       fw.replay, replay_s * 1000000,
			       stall_s * 1000000, keepalive_s * 1000000,
			       &fw.counters);
	follow = xr_follow_create(log_path, from_start, &fw.counters);
	if (fw.replay == NULL || fw.link == NULL || follow == NULL ||
	    (position_path != NULL &&
	     xr_follow_set_position_file(follow, position_path) != 0)) {
		xr_log("cannot start: %s", strerror(errno));
		return 1;
	}
	xr_log("started: log %s, %s %s, replay %llu s (up to %u "
	       "assignments)%s", log_path, connect_to != NULL ? "TLS to" : "socket",
	       connect_to != NULL ? connect_to : socket_path, replay_s,
	       xr_replay_capacity(fw.replay),
	       from_start ? ", from the start of the log" : "");
	if (vpn_port != 0)
		xr_log("--vpn-port %llu noted and not used: linecapd binds a "
		       "flow by its client endpoint, and by the server endpoint "
		       "that --node-addr names", vpn_port);
	if (xr_node_get()->name[0] != '\0' || xr_node_get()->n_addrs > 0) {
		char addrs[XR_NODE_ADDRS_MAX * 80] = "";
		size_t off = 0;

		for (unsigned int i = 0; i < xr_node_get()->n_addrs; i++) {
			const struct xr_node_addr *a = &xr_node_get()->addrs[i];
			int k = snprintf(addrs + off, sizeof(addrs) - off, " %s%s%s",
					 a->tag, a->tag[0] != '\0' ? "=" : "", a->text);

			if (k > 0 && (size_t)k < sizeof(addrs) - off)
				off += (size_t)k;
		}
		xr_log("node %s, inbounds:%s", xr_node_get()->name[0] != '\0' ?
		       xr_node_get()->name : "(no --node)", off > 0 ? addrs : " none");
	}

	uint64_t now = xr_now_us();
	uint64_t next_follow = 0, next_stats = now + stats_s * 1000000;
	uint64_t next_save = now + POSITION_SAVE_US;
	bool more = false;

	while (!stop_signal) {
		struct pollfd pfd[3];
		nfds_t nfds = 0;
		int follow_i = -1, link_i = -1;
		short link_events;
		int fd;

		now = xr_now_us();
		fw.now = now;
		if (dump_signal) {
			dump_signal = 0;
			print_counters(&fw.counters, "SIGUSR1");
		}
		if (now >= next_stats) {
			print_counters(&fw.counters, "periodic");
			next_stats = now + stats_s * 1000000;
		}
		if (now >= next_save) {
			xr_follow_save_position(follow);
			next_save = now + POSITION_SAVE_US;
		}
		/* Connect first, so that the lines read go out live. */
		xr_link_service(fw.link, now);

		/* A slow linecapd slows the reading; an absent one does not. */
		const bool can_read = room_to_read(fw.link);

		if (can_read && (more || now >= next_follow)) {
			more = xr_follow_poll(follow, on_line, &fw);
			next_follow = now + FOLLOW_TIMER_US;
		}

		uint64_t deadline = xr_link_service(fw.link, now);

		if (can_read && next_follow < deadline)
			deadline = next_follow;
		if (next_stats < deadline)
			deadline = next_stats;
		if (next_save < deadline)
			deadline = next_save;
		if (can_read && more)
			deadline = now;

		pfd[nfds++] = (struct pollfd){ .fd = signal_fd, .events = POLLIN };
		fd = xr_follow_event_fd(follow);
		if (fd >= 0) {
			follow_i = (int)nfds;
			pfd[nfds++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		}
		fd = xr_link_fd(fw.link, &link_events);
		if (fd >= 0) {
			link_i = (int)nfds;
			pfd[nfds++] = (struct pollfd){ .fd = fd,
						       .events = link_events };
		}

		const uint64_t wait_us = deadline > now ? deadline - now : 0;
		struct timespec ts = {
			.tv_sec = (time_t)(wait_us / 1000000),
			.tv_nsec = (long)(wait_us % 1000000) * 1000,
		};
		const int n = ppoll(pfd, nfds, &ts, NULL);

		if (n < 0 && errno != EINTR) {
			xr_log("ppoll: %s", strerror(errno));
			break;
		}
		if (n <= 0)
			continue;
		if (pfd[0].revents != 0) {
			read_signals();
			if (stop_signal)
				break;
		}
		now = xr_now_us();
		fw.now = now;
		if (follow_i >= 0 && pfd[follow_i].revents != 0) {
			xr_follow_drain_events(follow);
			next_follow = 0; /* look at the log now */
		}
		if (link_i >= 0 && pfd[link_i].revents != 0)
			xr_link_handle(fw.link, pfd[link_i].revents, now);
	}

	/* Read what the log still holds and linecapd can take, then drain. */
	fw.now = xr_now_us();
	for (int i = 0; i < 4 && room_to_read(fw.link) &&
			xr_follow_poll(follow, on_line, &fw); i++)
		;
	if (xr_link_up(fw.link))
		xr_link_drain(fw.link, 500000);
	xr_follow_save_position(follow);
	print_counters(&fw.counters, "exit");
	xr_log("stopped");
	xr_follow_free(follow);
	xr_link_free(fw.link);
	xr_replay_free(fw.replay);
	return 0;
}
