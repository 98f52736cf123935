/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target of the management socket server: the input is one client's
 * byte stream, sent over a real Unix socket in reads of fuzzer-chosen sizes,
 * and served by lc_mgmt_poll() as linecapd serves it: line splitting,
 * over-long lines, a last line cut by the client's half-close, batches,
 * dispatch, and replies written a piece at a time, including long built
 * arrays and streamed listings that succeed or fail half-way, through an
 * output buffer small enough that every reply crosses several pieces.
 *
 * Input: byte 0 is the number n (0..7) of chunk sizes that follow (byte b
 * means 16 b + 1 bytes, at least 1/256 of the stream), plus 8 times a
 * mask of 5 bits: the server's send k finds the socket full (EAGAIN, as
 * when the client reads slower than the server writes) when bit k % 5 of
 * the mask is set and send k - 1 did not find it full; the rest is the
 * stream, sent in chunks of those sizes in turn (all at once if n is 0). The client reads as it sends and half-closes at the end; the server
 * must answer every line exactly once, in order, each reply a JSON object
 * with a boolean "ok" and, when false, an "error" string, and then close.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lc_mgmt.h"

#define MAX_ITEMS 300

/*
 * send(2) as the server calls it (the target links with --wrap=send): a
 * socket full when the input's mask says so (above); the client's own
 * sends pass.
 */
static unsigned int full_mask, full_calls;
static int full_last, client_fd = -1;
ssize_t __real_send(int fd, const void *buf, size_t len, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags);

ssize_t
__wrap_send(int fd, const void *buf, size_t len, int flags)
{
	if (fd != client_fd && full_mask != 0) {
		unsigned int k = full_calls++;

		if (!full_last && ((full_mask >> (k % 5)) & 1)) {
			full_last = 1;
			errno = EAGAIN;
			return -1;
		}
		full_last = 0;
	}
	return __real_send(fd, buf, len, flags);
}

static struct lc_mgmt_table *table;
static struct lc_mgmt *server;
static char path[108];

static int
cmd_echo(void *ctx, int argc, char **argv, json_t *reply)
{
	json_t *args = json_array();

	(void)ctx;
	for (int i = 0; i < argc; i++)
		json_array_append_new(args, json_string(argv[i]));
	json_object_set_new(reply, "args", args);
	return 0;
}

static int
cmd_fail(void *ctx, int argc, char **argv, json_t *reply)
{
	(void)ctx;
	return lc_mgmt_error(reply, "failed with %d words, first '%s'", argc,
			     argc > 0 ? argv[0] : "");
}

/* "add WORD": a batch command, like assign. */
static void
batch_add(void *ctx, struct lc_mgmt_req *reqs, unsigned int n)
{
	(void)ctx;
	for (unsigned int i = 0; i < n; i++) {
		json_object_set_new(reqs[i].reply, "batch", json_integer(n));
		json_object_set_new(reqs[i].reply, "word", json_string(reqs[i].argv[0]));
		reqs[i].rc = reqs[i].argv[0][0] == 'x' ? -EINVAL : 0;
	}
}

static unsigned long
count_arg(const char *s)
{
	unsigned long n = strtoul(s, NULL, 10);

	return n > MAX_ITEMS ? MAX_ITEMS : n;
}

/* "built N WORD": an array of N elements built whole. */
static int
cmd_built(void *ctx, int argc, char **argv, json_t *reply)
{
	unsigned long n = count_arg(argv[0]);
	json_t *list = json_array();

	(void)ctx;
	for (unsigned long i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:I,s:s}", "i", (json_int_t)i,
						      "w", argc > 1 ? argv[1] : ""));
	json_object_set_new(reply, "items", list);
	return 0;
}

struct listing {
	unsigned long n, done, fail_at;
	char word[LC_MGMT_LINE_MAX + 1];
};

static int
listing_next(void *state, json_t *items, json_t *tail)
{
	struct listing *l = state;

	for (int k = 0; k < 7 && l->done < l->n; k++) {
		if (l->done == l->fail_at)
			return lc_mgmt_error(tail, "stopped at %lu", l->done);
		json_array_append_new(items, json_pack("{s:I,s:s}", "i",
						       (json_int_t)l->done++, "w", l->word));
	}
	json_object_set_new(tail, "count", json_integer((json_int_t)l->done));
	return l->done < l->n ? 1 : 0;
}

/* "list N [FAIL_AT [WORD]]": a streamed listing; "list N bad" fails at once. */
static int
cmd_list(void *ctx, int argc, char **argv, json_t *reply,
	 struct lc_mgmt_stream *stream)
{
	struct listing *l;

	(void)ctx;
	if (argc > 1 && strcmp(argv[1], "bad") == 0)
		return lc_mgmt_error(reply, "bad listing");
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l->n = count_arg(argv[0]);
	l->fail_at = argc > 1 ? strtoul(argv[1], NULL, 10) : ULONG_MAX;
	snprintf(l->word, sizeof(l->word), "%s", argc > 2 ? argv[2] : "");
	json_object_set_new(reply, "n", json_integer((json_int_t)l->n));
	if (l->n == 0) {
		/* Answered at once: no stream. */
		free(l);
		return 0;
	}
	stream->key = "items";
	stream->next = listing_next;
	stream->free = free;
	stream->state = l;
	return 0;
}

static const struct lc_mgmt_cmd cmds[] = {
	{ "echo", "[WORD...]", "", 0, LC_MGMT_ARGS_MAX, cmd_echo, NULL, NULL },
	{ "fail", "[WORD...]", "", 0, 3, cmd_fail, NULL, NULL },
	{ "add", "WORD", "", 1, 1, cmd_echo, batch_add, NULL },
	{ "built", "N [WORD]", "", 1, 2, cmd_built, NULL, NULL },
	{ "list", "N [FAIL_AT [WORD]]", "", 1, 3, NULL, NULL, cmd_list },
	{ "user set", "EMAIL", "", 1, 3, cmd_echo, NULL, NULL },
};

/* At exit: the server closes and removes its socket. */
static void
teardown(void)
{
	lc_mgmt_free(server);
	server = NULL;
	lc_mgmt_table_free(table);
	table = NULL;
}

static void
setup(void)
{
	char cwd[64];
	int n = -1;

	/*
	 * The socket in the working folder (run-fuzz.sh's scratch folder,
	 * removed after the run even where the fuzzer does not return), when
	 * its path fits; else in /tmp.
	 */
	if (getcwd(cwd, sizeof(cwd)) != NULL)
		n = snprintf(path, sizeof(path), "%s/lc-fuzz-mgmt.sock", cwd);
	if (n < 0 || (size_t)n >= sizeof(path))
		snprintf(path, sizeof(path), "/tmp/lc-fuzz-mgmt.%d.sock", getpid());
	table = lc_mgmt_table_create();
	if (table == NULL ||
	    lc_mgmt_register(table, cmds, sizeof(cmds) / sizeof(cmds[0]), NULL) != 0)
		abort();
	struct lc_mgmt_params p = {
		.path = path, .mode = 0600, .max_clients = 2,
		.max_output = 64 * 1024, .table = table,
	};
	server = lc_mgmt_create(&p);
	if (server == NULL)
		abort();
	atexit(teardown);
}

struct inbox {
	char *buf;
	size_t len, cap;
	bool eof;
};

static void
drain(int fd, struct inbox *in)
{
	for (;;) {
		if (in->cap - in->len < 65536) {
			in->cap = in->cap ? in->cap * 2 : 1 << 17;
			in->buf = realloc(in->buf, in->cap);
			if (in->buf == NULL)
				abort();
		}
		ssize_t n = recv(fd, in->buf + in->len, in->cap - in->len - 1, MSG_DONTWAIT);
		if (n > 0) {
			in->len += (size_t)n;
			continue;
		}
		if (n == 0)
			in->eof = true;
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			abort(); /* the server reset a client that did nothing wrong */
		return;
	}
}

static void
check_replies(const struct inbox *in, size_t expected)
{
	size_t start = 0, lines = 0;

	for (size_t i = 0; i < in->len; i++) {
		if (in->buf[i] != '\n')
			continue;
		json_error_t err;
		json_t *r = json_loadb(in->buf + start, i - start, 0, &err);
		json_t *ok = json_object_get(r, "ok");

		if (!json_is_object(r) || !json_is_boolean(ok))
			abort();
		if (json_is_false(ok) && !json_is_string(json_object_get(r, "error")))
			abort();
		json_decref(r);
		lines++;
		start = i + 1;
	}
	if (start != in->len || lines != expected)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct inbox in = { 0 };
	uint8_t chunks[8];
	unsigned int nchunks = 0;
	size_t expected = 0;

	if (server == NULL)
		setup();
	full_mask = 0;
	if (size > 0) {
		nchunks = data[0] % 8;
		full_mask = data[0] / 8u;
		if (size < 1 + (size_t)nchunks)
			return 0;
		memcpy(chunks, data + 1, nchunks);
		data += 1 + nchunks;
		size -= 1 + nchunks;
	}
	for (size_t i = 0; i < size; i++)
		expected += data[i] == '\n';
	if (size > 0 && data[size - 1] != '\n')
		expected++;

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		abort();
	client_fd = fd;
	full_calls = 0;
	full_last = 0;

	size_t off = 0;
	unsigned int k = 0;
	for (int rounds = 0; off < size; rounds++) {
		/* At most about 256 reads per input, so that it runs fast. */
		size_t want = nchunks ? (size_t)chunks[k % nchunks] * 16 + 1 : size - off;

		if (want < size / 256)
			want = size / 256;

		if (want > size - off)
			want = size - off;
		ssize_t n = send(fd, data + off, want, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			k++;
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			abort();
		}
		if (lc_mgmt_poll(server, 0) != 0)
			abort();
		drain(fd, &in);
		if (in.eof || rounds > 1000000)
			abort();
	}
	shutdown(fd, SHUT_WR);
	for (int rounds = 0; !in.eof; rounds++) {
		if (lc_mgmt_poll(server, 0) != 0)
			abort();
		drain(fd, &in);
		if (rounds > 1000000)
			abort(); /* the server never finished: a hang */
	}
	close(fd);
	/* Let the server see the close before the next input. */
	lc_mgmt_poll(server, 0);
	check_replies(&in, expected);
	free(in.buf);

	struct lc_mgmt_stats st;
	lc_mgmt_get_stats(server, &st);
	if (st.clients != 0 || st.cut_off != 0)
		abort();
	return 0;
}
