/* SPDX-License-Identifier: MIT */
/*
 * linecapctl: the management client.
 *
 *   linecapctl [-s SOCKET] [--json] COMMAND...   one command, one reply
 *   linecapctl [-s SOCKET] [--json] -            every line of stdin, pipelined
 *   linecapctl [-s SOCKET] top [OPTION...]        a live per-user view (top.c)
 *
 * Instead of -s SOCKET, --connect HOST:PORT --cert F --key F --ca F reaches
 * linecapd's [mgmt] listen over TLS (channel.c).
 *
 * Replies are printed as readable text on a terminal and as JSON lines with
 * --json or when stdout is not a terminal. Exit status: 0 when every reply is
 * ok, 1 when one is an error, 2 when linecapd cannot be reached.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "lc_mgmt.h"
#include "lc_mgmt_tls.h"
#include "linecapctl.h"

#define EXIT_ERROR_REPLY CTL_EXIT_ERROR_REPLY
#define EXIT_UNREACHABLE CTL_EXIT_UNREACHABLE

static bool json_out;

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: linecapctl [-s SOCKET] [--json] COMMAND [ARG...]\n"
		"       linecapctl [-s SOCKET] [--json] -     (commands from stdin)\n"
		"       linecapctl [-s SOCKET] top [--interval SECONDS] [--sort KEY]\n"
		"                  [-n COUNT] [--once]      (a live per-user view)\n"
		"\n"
		"  -s, --socket PATH  management socket (default %s,\n"
		"                     or $LINECAP_SOCKET)\n"
		"  -j, --json         print replies as JSON lines\n"
		"  -t, --timeout SECONDS  give up (exit 2) when linecapd has neither\n"
		"                     sent nor taken a byte for SECONDS while replies\n"
		"                     are outstanding (default %d; 0: wait for ever)\n"
		"  --connect HOST:PORT  reach linecapd's [mgmt] listen over TLS instead,\n"
		"                     with --cert FILE --key FILE (our certificate and\n"
		"                     key, PEM) and --ca FILE (the CA that signed\n"
		"                     linecapd's certificate; it must name HOST)\n"
		"Try 'linecapctl help' for the commands.\n", LC_MGMT_SOCKET_DEFAULT,
		CTL_TIMEOUT_DEFAULT_S);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
print_scalar(FILE *f, const json_t *v)
{
	if (json_is_string(v)) {
		fputs(json_string_value(v), f);
	} else if (json_is_null(v)) {
		fputs("-", f);
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		fputs(s ? s : "?", f);
		free(s);
	}
}

static bool
is_table(const json_t *arr)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return false;
	json_array_foreach(arr, i, v)
		if (!json_is_object(v))
			return false;
	return true;
}

/* An array of objects as a table: one column per key of the first row. */
static void
print_table(const json_t *arr, int indent)
{
	const json_t *first = json_array_get(arr, 0);
	size_t ncol = json_object_size(first), i, c;
	size_t *width = calloc(ncol ? ncol : 1, sizeof(*width));
	const char **keys = calloc(ncol ? ncol : 1, sizeof(*keys));
	const char *key;
	json_t *row, *v;

	if (width == NULL || keys == NULL)
		goto out;
	c = 0;
	json_object_foreach((json_t *)first, key, v) {
		keys[c] = key;
		width[c++] = strlen(key);
	}
	json_array_foreach(arr, i, row) {
		for (c = 0; c < ncol; c++) {
			v = json_object_get(row, keys[c]);
			char *s = json_is_string(v) ? strdup(json_string_value(v)) :
				  json_dumps(v ? v : json_null(),
					     JSON_COMPACT | JSON_ENCODE_ANY);
			if (s && strlen(s) > width[c])
				width[c] = strlen(s);
			free(s);
		}
	}
	printf("%*s", indent, "");
	for (c = 0; c < ncol; c++)
		printf("%-*s%s", (int)width[c], keys[c], c + 1 < ncol ? "  " : "\n");
	json_array_foreach(arr, i, row) {
		printf("%*s", indent, "");
		for (c = 0; c < ncol; c++) {
			v = json_object_get(row, keys[c]);
			char *s = json_is_string(v) ? strdup(json_string_value(v)) :
				  json_is_null(v) || v == NULL ? strdup("-") :
				  json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			printf("%-*s%s", (int)width[c], s ? s : "?",
			       c + 1 < ncol ? "  " : "\n");
			free(s);
		}
	}
out:
	free(width);
	free(keys);
}

static void
print_object(const json_t *obj, int indent)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		if (indent == 0 && strcmp(key, "ok") == 0)
			continue;
		if (json_is_object(v)) {
			printf("%*s%s:\n", indent, "", key);
			print_object(v, indent + 2);
		} else if (is_table(v)) {
			printf("%*s%s:\n", indent, "", key);
			print_table(v, indent + 2);
		} else {
			printf("%*s%s: ", indent, "", key);
			print_scalar(stdout, v);
			putchar('\n');
		}
	}
}

/* Print one reply line. Returns true if it says ok. */
static bool
print_reply(const char *line, size_t len)
{
	json_error_t jerr;
	json_t *reply = json_loadb(line, len, 0, &jerr);
	bool ok;

	if (reply == NULL || !json_is_object(reply)) {
		fprintf(stderr, "linecapctl: unreadable reply: %.*s\n", (int)len, line);
		json_decref(reply);
		return false;
	}
	ok = json_is_true(json_object_get(reply, "ok"));
	if (json_out) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
	} else if (!ok) {
		const json_t *e = json_object_get(reply, "error");

		fprintf(stderr, "error: %s\n", json_is_string(e) ?
			json_string_value(e) : "(no message)");
	} else if (json_object_size(reply) == 1) {
		puts("ok");
	} else {
		print_object(reply, 0);
	}
	json_decref(reply);
	return ok;
}

/*
 * Send the lines of `in` (a fixed command, or stdin when in_fd >= 0) and
 * print the replies, keeping both directions moving so that a long batch
 * never deadlocks against linecapd's own output buffer.
 */
static int
converse(struct ctl_channel *ch, struct ctl_buf *out, int in_fd, unsigned int timeout_s)
{
	struct ctl_buf in = { 0 }, rx = { 0 };
	size_t outstanding = 0;
	bool in_eof = in_fd < 0, any_error = false;
	int status = 0;
	/* When linecapd last sent or took a byte while it owed us something. */
	uint64_t last_progress = mono_ms();

	for (size_t i = 0; i < out->len; i++)
		outstanding += out->data[i] == '\n';

	for (;;) {
		/* Move complete stdin lines into the send buffer. */
		char *nl;
		size_t off = 0;
		while (off < in.len &&
		       (nl = memchr(in.data + off, '\n', in.len - off)) != NULL) {
			const char *line = in.data + off;
			size_t n = (size_t)(nl - line) + 1;
			size_t skip = strspn(line, " \t\r");

			if (line[skip] != '\n' && line[skip] != '#') {
				ctl_buf_append(out, line, n);
				outstanding++;
			}
			off += n;
		}
		ctl_buf_consume(&in, off);
		if (in_eof && in.len > 0) {
			ctl_buf_append(&in, "\n", 1);
			continue;
		}
		if (in_eof && out->len == 0 && outstanding == 0)
			break;

		struct pollfd pfd[2] = {
			{ .fd = ctl_channel_fd(ch), .events = POLLIN | (out->len ? POLLOUT : 0) },
			{ .fd = in_eof ? -1 : in_fd, .events = POLLIN },
		};
		bool pending = ctl_channel_pending(ch);
		bool owed = outstanding > 0 || out->len > 0;
		int wait_ms = -1;

		if (!owed)
			last_progress = mono_ms();
		if (timeout_s > 0 && owed && !pending) {
			uint64_t waited = mono_ms() - last_progress;

			if (waited >= (uint64_t)timeout_s * 1000) {
				fprintf(stderr, "linecapctl: linecapd sent nothing for %u s "
					"with %zu replies outstanding; giving up "
					"(--timeout)\n", timeout_s, outstanding);
				status = EXIT_UNREACHABLE;
				break;
			}
			wait_ms = (int)((uint64_t)timeout_s * 1000 - waited);
		}
		if (poll(pfd, 2, pending ? 0 : wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			status = EXIT_UNREACHABLE;
			break;
		}
		if (pending)
			pfd[0].revents |= POLLIN;
		if (pfd[0].revents & POLLOUT) {
			ssize_t n = ctl_channel_send(ch, out->data, out->len);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "linecapctl: send: %s\n", strerror(errno));
				status = EXIT_UNREACHABLE;
				break;
			}
			if (n > 0) {
				ctl_buf_consume(out, (size_t)n);
				last_progress = mono_ms();
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char tmp[65536];
			ssize_t n = ctl_channel_recv(ch, tmp, sizeof(tmp));

			if (n <= 0) {
				if (n < 0 && (errno == EINTR || errno == EAGAIN))
					continue;
				fprintf(stderr, "linecapctl: linecapd closed the connection "
					"with %zu replies outstanding\n", outstanding);
				status = EXIT_UNREACHABLE;
				break;
			}
			ctl_buf_append(&rx, tmp, (size_t)n);
			last_progress = mono_ms();
			size_t done = 0;
			while ((nl = memchr(rx.data + done, '\n', rx.len - done)) != NULL) {
				size_t len = (size_t)(nl - (rx.data + done));

				if (!print_reply(rx.data + done, len))
					any_error = true;
				done += len + 1;
				if (outstanding > 0)
					outstanding--;
			}
			ctl_buf_consume(&rx, done);
		}
		if (pfd[1].fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			char tmp[65536];
			ssize_t n = read(in_fd, tmp, sizeof(tmp));

			if (n > 0)
				ctl_buf_append(&in, tmp, (size_t)n);
			else if (n == 0 || errno != EINTR)
				in_eof = true;
		}
	}
	fflush(stdout);
	free(in.data);
	free(rx.data);
	if (status == 0 && any_error)
		status = EXIT_ERROR_REPLY;
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "connect", required_argument, NULL, 'C' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct lc_mgmt_tls_files tls = { NULL, NULL, NULL };
	const char *connect_to = NULL;
	const char *path = getenv("LINECAP_SOCKET");
	struct ctl_channel *ch;
	struct ctl_buf out = { 0 };
	char err[256];
	int c, status;
	unsigned int timeout_s = CTL_TIMEOUT_DEFAULT_S;
	char *end;
	unsigned long v;

	/* "+": stop at the first command word, whose arguments may start with '-'. */
	while ((c = getopt_long(argc, argv, "+s:jt:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-' ||
			    v > 86400) {
				fprintf(stderr, "linecapctl: --timeout wants whole seconds, "
					"0 to 86400: '%s'\n", optarg);
				return EXIT_UNREACHABLE;
			}
			timeout_s = (unsigned int)v;
			break;
		case 's':
			path = optarg;
			break;
		case 'j':
			json_out = true;
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
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_UNREACHABLE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_UNREACHABLE;
	}
	if (path == NULL || path[0] == '\0')
		path = LC_MGMT_SOCKET_DEFAULT;
	if (connect_to != NULL) {
		if (tls.cert == NULL || tls.key == NULL || tls.ca == NULL) {
			fprintf(stderr, "linecapctl: --connect needs --cert, --key and "
				"--ca\n");
			return EXIT_UNREACHABLE;
		}
		ctl_channel_use_tls(&tls);
		path = connect_to;
	} else if (tls.cert != NULL || tls.key != NULL || tls.ca != NULL) {
		fprintf(stderr, "linecapctl: --cert, --key and --ca go with --connect\n");
		return EXIT_UNREACHABLE;
	}
	if (strcmp(argv[optind], "top") == 0)
		return ctl_top(path, argc - optind, argv + optind);
	if (!isatty(STDOUT_FILENO))
		json_out = true;

	bool batch = argc - optind == 1 && strcmp(argv[optind], "-") == 0;
	if (!batch) {
		for (int i = optind; i < argc; i++) {
			if (strchr(argv[i], '\n') != NULL) {
				fprintf(stderr, "linecapctl: an argument holds a newline\n");
				return EXIT_UNREACHABLE;
			}
			ctl_buf_append(&out, argv[i], strlen(argv[i]));
			ctl_buf_append(&out, i + 1 < argc ? " " : "\n", 1);
		}
	}

	ch = ctl_channel_open(path, err, sizeof(err));
	if (ch == NULL) {
		fprintf(stderr, "linecapctl: %s\n", err);
		free(out.data);
		return EXIT_UNREACHABLE;
	}
	status = converse(ch, &out, batch ? STDIN_FILENO : -1, timeout_s);
	ctl_channel_close(ch);
	free(out.data);
	return status;
}
