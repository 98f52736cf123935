/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "lc_mgmt.h"

/* A command that echoes its arguments, and one that always fails. */
static int
cmd_echo(void *ctx, int argc, char **argv, json_t *reply)
{
	json_t *args = json_array();

	(*(int *)ctx)++;
	for (int i = 0; i < argc; i++)
		json_array_append_new(args, json_string(argv[i]));
	json_object_set_new(reply, "args", args);
	return 0;
}

static int
cmd_fail(void *ctx, int argc, char **argv, json_t *reply)
{
	(void)ctx;
	(void)argc;
	return lc_mgmt_error(reply, "bad thing '%s'", argv[0]);
}

static int
cmd_errno(void *ctx, int argc, char **argv, json_t *reply)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	(void)reply;
	return -ENOSPC;
}

static const struct lc_mgmt_cmd test_cmds[] = {
	{ "echo", "[WORD...]", "echo the words", 0, 8, cmd_echo },
	{ "user set", "EMAIL", "set", 1, 3, cmd_echo },
	{ "user get", "EMAIL", "get", 1, 1, cmd_echo },
	{ "fail", "WHAT", "fail", 1, 1, cmd_fail },
	{ "nospace", "", "fail with an errno", 0, 0, cmd_errno },
};

static int calls;

static struct lc_mgmt_table *
make_table(void)
{
	struct lc_mgmt_table *t = lc_mgmt_table_create();

	assert_non_null(t);
	assert_int_equal(lc_mgmt_register(t, test_cmds, 5, &calls), 0);
	return t;
}

/* Run a line and return the reply as compact JSON text (caller frees). */
static char *
run(struct lc_mgmt_table *t, const char *line)
{
	json_t *r = lc_mgmt_exec(t, line, strlen(line));
	char *s;

	assert_non_null(r);
	s = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return s;
}

static void
expect(struct lc_mgmt_table *t, const char *line, const char *want)
{
	char *got = run(t, line);

	if (strstr(got, want) == NULL)
		fail_msg("'%s' -> %s, expected it to contain %s", line, got, want);
	free(got);
}

static void
test_dispatch(void **state)
{
	struct lc_mgmt_table *t = make_table();

	(void)state;
	calls = 0;
	expect(t, "echo a b", "{\"ok\":true,\"args\":[\"a\",\"b\"]}");
	expect(t, "  echo\t a  ", "{\"ok\":true,\"args\":[\"a\"]}");
	expect(t, "echo a\r", "{\"ok\":true,\"args\":[\"a\"]}");
	expect(t, "user set alice@example.com up=1mbit",
	       "\"args\":[\"alice@example.com\",\"up=1mbit\"]");
	expect(t, "user get bob", "\"args\":[\"bob\"]");
	assert_int_equal(calls, 5);

	expect(t, "fail x", "{\"ok\":false,\"error\":\"bad thing 'x'\"}");
	expect(t, "nospace", "\"error\":\"No space left on device\"");
	expect(t, "frobnicate", "\"error\":\"unknown command 'frobnicate' (try 'help')\"");
	expect(t, "user frob x", "unknown command 'user frob' (try: user set|get)");
	expect(t, "user", "unknown command 'user' (try: user set|get)");
	expect(t, "user get", "missing argument; usage: user get EMAIL");
	expect(t, "user get a b", "too many arguments; usage: user get EMAIL");
	expect(t, "", "empty command");
	expect(t, "   ", "empty command");
	expect(t, "help", "\"usage\":\"user set EMAIL\"");
	assert_int_equal(calls, 5); /* no handler ran for a bad line */
	lc_mgmt_table_free(t);
}

static void
test_bad_text(void **state)
{
	struct lc_mgmt_table *t = make_table();
	char words[400] = "echo";
	char big[LC_MGMT_LINE_MAX + 2];

	(void)state;
	expect(t, "echo \xff\xfe", "not printable UTF-8");
	expect(t, "echo \xc0\xaf", "not printable UTF-8");      /* overlong */
	expect(t, "echo \xed\xa0\x80", "not printable UTF-8");  /* surrogate */
	expect(t, "echo \x01", "not printable UTF-8");
	expect(t, "echo \xe2\x82", "not printable UTF-8");      /* cut short */
	expect(t, "echo caf\xc3\xa9 \xe2\x82\xac", "\"args\":[\"caf\xc3\xa9\",\"\xe2\x82\xac\"]");

	json_t *r = lc_mgmt_exec(t, "echo a\0b", 8);
	assert_false(json_is_true(json_object_get(r, "ok")));
	json_decref(r);

	for (int i = 0; i < 40; i++)
		strcat(words, " w");
	expect(t, words, "too many words");

	memset(big, 'a', sizeof(big));
	r = lc_mgmt_exec(t, big, LC_MGMT_LINE_MAX + 1);
	assert_non_null(strstr(json_string_value(json_object_get(r, "error")),
			       "longer than 4096"));
	json_decref(r);
	lc_mgmt_table_free(t);
}

static void
test_register_rules(void **state)
{
	struct lc_mgmt_table *t = make_table();
	static const struct lc_mgmt_cmd dup[] = {
		{ "fresh", "", "", 0, 0, cmd_echo },
		{ "echo", "", "again", 0, 0, cmd_echo },
	};
	static const struct lc_mgmt_cmd bad[] = {
		{ "a b c", "", "three words", 0, 0, cmd_echo },
	};
	static const struct lc_mgmt_cmd nohandler[] = {
		{ "x", "", "", 0, 0, NULL },
	};

	(void)state;
	assert_int_equal(lc_mgmt_register(t, dup, 2, NULL), -EEXIST);
	/* Nothing of a refused table is added. */
	expect(t, "fresh", "unknown command 'fresh'");
	assert_int_equal(lc_mgmt_register(t, bad, 1, NULL), -EINVAL);
	assert_int_equal(lc_mgmt_register(t, nohandler, 1, NULL), -EINVAL);
	lc_mgmt_table_free(t);
	lc_mgmt_table_free(NULL);
}

static void
test_parse_endpoint(void **state)
{
	static const uint8_t v4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
					10, 0, 0, 1 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t addr[16];
	uint16_t port = 7;
	bool has_port;

	(void)state;
	assert_int_equal(lc_mgmt_parse_endpoint("10.0.0.1:443", addr, &port, &has_port), 0);
	assert_memory_equal(addr, v4, 16);
	assert_true(has_port);
	assert_int_equal(port, 443);
	assert_int_equal(lc_mgmt_parse_endpoint("10.0.0.1", addr, &port, &has_port), 0);
	assert_memory_equal(addr, v4, 16);
	assert_false(has_port);
	assert_int_equal(lc_mgmt_parse_endpoint("[2001:db8::1]:65535", addr, &port, &has_port), 0);
	assert_memory_equal(addr, v6, 16);
	assert_int_equal(port, 65535);
	assert_int_equal(lc_mgmt_parse_endpoint("2001:db8::1", addr, &port, &has_port), 0);
	assert_memory_equal(addr, v6, 16);
	assert_false(has_port);
	assert_int_equal(lc_mgmt_parse_endpoint("[2001:db8::1]", addr, &port, &has_port), 0);
	assert_false(has_port);

	static const char *const bad_addr[] = {
		"", "10.0.0", "10.0.0.256", "host:80", "[2001:db8::1", "[]:80",
		"[2001:db8::1]x", "[10.0.0.1]:80", "2001:db8::g", ":80", "1.2.3.4.5",
	};
	for (size_t i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++)
		if (lc_mgmt_parse_endpoint(bad_addr[i], addr, &port, &has_port) != -EINVAL)
			fail_msg("'%s' accepted as an address", bad_addr[i]);
	static const char *const bad_port[] = {
		"10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:", "10.0.0.1:x",
		"10.0.0.1:80x", "[2001:db8::1]:-1", "10.0.0.1:99999999999999999999",
		/* max + 1, 2^16 + 80, 2^32, 2^32 + 80, 2^64, 2^64 + 1: a parse
		 * into a narrower type would wrap some of them to a port */
		"10.0.0.1:65536", "10.0.0.1:65616", "10.0.0.1:4294967296",
		"10.0.0.1:4294967376", "10.0.0.1:18446744073709551616",
		"10.0.0.1:18446744073709551617", "[2001:db8::1]:18446744073709551696",
		"10.0.0.1:-1", "10.0.0.1:-65535", "10.0.0.1:+80", "10.0.0.1: 80",
		"10.0.0.1:80 ", "10.0.0.1:0x50", "10.0.0.1:8e1", "[2001:db8::1]:",
	};
	for (size_t i = 0; i < sizeof(bad_port) / sizeof(bad_port[0]); i++)
		if (lc_mgmt_parse_endpoint(bad_port[i], addr, &port, &has_port) != -ERANGE)
			fail_msg("'%s' accepted as a port", bad_port[i]);
	/* The edges of the range, leading zeros allowed. */
	assert_int_equal(lc_mgmt_parse_endpoint("10.0.0.1:1", addr, &port, &has_port), 0);
	assert_int_equal(port, 1);
	assert_int_equal(lc_mgmt_parse_endpoint("10.0.0.1:00080", addr, &port, &has_port), 0);
	assert_int_equal(port, 80);
}

/* --- the socket server --- */

struct server {
	char path[108];
	struct lc_mgmt_table *table;
	struct lc_mgmt *mgmt;
};

static struct lc_mgmt *
start_server(struct server *s, uint32_t max_clients)
{
	snprintf(s->path, sizeof(s->path), "/tmp/lc-test-mgmt.%d.sock", getpid());
	s->table = make_table();
	struct lc_mgmt_params p = {
		.path = s->path, .mode = 0600, .max_clients = max_clients,
		.max_output = 1 << 20, .table = s->table,
	};
	s->mgmt = lc_mgmt_create(&p);
	assert_non_null(s->mgmt);
	return s->mgmt;
}

static void
stop_server(struct server *s)
{
	lc_mgmt_free(s->mgmt);
	lc_mgmt_table_free(s->table);
	assert_int_equal(access(s->path, F_OK), -1); /* socket file removed */
}

static int
dial(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Serve until `fd` has `lines` complete reply lines, and return them
 * (caller frees). Fails after about two seconds.
 */
static char *
collect(struct lc_mgmt *m, int fd, int lines)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	int got = 0;

	for (int round = 0; round < 400 && got < lines; round++) {
		assert_int_equal(lc_mgmt_poll(m, 5), 0);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
			if (len + 4096 > cap)
				buf = realloc(buf, cap *= 2);
			ssize_t n = recv(fd, buf + len, 4096, MSG_DONTWAIT);
			if (n <= 0)
				break;
			for (ssize_t i = 0; i < n; i++)
				got += buf[len + (size_t)i] == '\n';
			len += (size_t)n;
		}
	}
	buf[len] = '\0';
	if (got != lines)
		fail_msg("expected %d reply lines, got %d: %s", lines, got, buf);
	return buf;
}

static void
test_server_pipeline(void **state)
{
	struct server s;
	struct lc_mgmt *m = start_server(&s, 4);
	struct stat st;

	(void)state;
	assert_int_equal(stat(s.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	int fd = dial(s.path);
	const char *req = "echo 1\necho 2\nfail z\necho 3\n";
	send_all(fd, req, strlen(req));
	char *r = collect(m, fd, 4);
	assert_string_equal(r,
		"{\"ok\":true,\"args\":[\"1\"]}\n"
		"{\"ok\":true,\"args\":[\"2\"]}\n"
		"{\"ok\":false,\"error\":\"bad thing 'z'\"}\n"
		"{\"ok\":true,\"args\":[\"3\"]}\n");
	free(r);

	/* A line split across writes is put back together. */
	send_all(fd, "ec", 2);
	assert_int_equal(lc_mgmt_poll(m, 5), 0);
	send_all(fd, "ho split\n", 9);
	r = collect(m, fd, 1);
	assert_string_equal(r, "{\"ok\":true,\"args\":[\"split\"]}\n");
	free(r);

	/* Many pipelined lines, more than one poll handles, all answered in order. */
	size_t big = 3000 * 12;
	char *many = malloc(big), *p = many;
	for (int i = 0; i < 3000; i++)
		p += sprintf(p, "echo %d\n", i);
	send_all(fd, many, (size_t)(p - many));
	r = collect(m, fd, 3000);
	assert_non_null(strstr(r, "{\"ok\":true,\"args\":[\"0\"]}\n{\"ok\":true,\"args\":[\"1\"]}"));
	assert_non_null(strstr(r, "[\"2998\"]}\n{\"ok\":true,\"args\":[\"2999\"]}\n"));
	free(r);
	free(many);

	struct lc_mgmt_stats ms;
	lc_mgmt_get_stats(m, &ms);
	assert_int_equal(ms.clients, 1);
	assert_true(ms.requests == 3005);
	assert_true(ms.errors == 1);
	close(fd);
	stop_server(&s);
}

static void
test_server_long_line(void **state)
{
	struct server s;
	struct lc_mgmt *m = start_server(&s, 4);
	int fd = dial(s.path);
	char *line = malloc(10001);

	(void)state;
	memset(line, 'x', 10000);
	line[10000] = '\n';
	send_all(fd, line, 10001);
	send_all(fd, "echo after\n", 11);
	char *r = collect(m, fd, 2);
	assert_non_null(strstr(r, "{\"ok\":false,\"error\":\"line longer than 4096 bytes"));
	assert_non_null(strstr(r, "\n{\"ok\":true,\"args\":[\"after\"]}\n"));
	free(r);

	/* Exactly 4096 bytes is allowed. */
	memcpy(line, "echo ", 5);
	memset(line + 5, 'y', 4091);
	line[4096] = '\n';
	send_all(fd, line, 4097);
	r = collect(m, fd, 1);
	assert_non_null(strstr(r, "\"ok\":true"));
	free(r);

	struct lc_mgmt_stats ms;
	lc_mgmt_get_stats(m, &ms);
	assert_true(ms.too_long == 1);
	free(line);
	close(fd);
	stop_server(&s);
}

static void
test_server_clients(void **state)
{
	struct server s;
	struct lc_mgmt *m = start_server(&s, 2);

	(void)state;
	int a = dial(s.path), b = dial(s.path);
	/* a leaves in the middle of a line; b is not disturbed. */
	send_all(a, "echo half", 9);
	assert_int_equal(lc_mgmt_poll(m, 5), 0);
	close(a);
	send_all(b, "\x01\x02garbage\xff\n", 11);
	send_all(b, "echo b\n", 7);
	char *r = collect(m, b, 2);
	assert_non_null(strstr(r, "not printable UTF-8"));
	assert_non_null(strstr(r, "[\"b\"]"));
	free(r);

	/* With b and c connected, a fourth is refused with a reason. */
	int c = dial(s.path);
	send_all(c, "echo c\n", 7);
	r = collect(m, c, 1);
	free(r);
	int d = dial(s.path);
	r = collect(m, d, 1);
	assert_string_equal(r, "{\"ok\":false,\"error\":\"too many clients\"}\n");
	free(r);

	/* A half-closed client gets the reply to its last, unterminated line. */
	send_all(c, "echo last", 9);
	shutdown(c, SHUT_WR);
	r = collect(m, c, 1);
	assert_string_equal(r, "{\"ok\":true,\"args\":[\"last\"]}\n");
	free(r);

	struct lc_mgmt_stats ms;
	lc_mgmt_get_stats(m, &ms);
	assert_true(ms.rejected == 1);
	assert_true(ms.accepted == 3);
	close(b);
	close(c);
	close(d);
	stop_server(&s);
}

static void
test_server_socket_file(void **state)
{
	struct server s;
	struct lc_mgmt *m = start_server(&s, 2);

	(void)state;
	/* A second server on a live socket is refused. */
	struct lc_mgmt_params p = {
		.path = s.path, .mode = 0600, .max_clients = 1, .table = s.table,
	};
	errno = 0;
	assert_null(lc_mgmt_create(&p));
	assert_int_equal(errno, EADDRINUSE);
	stop_server(&s);

	/* A stale socket file, left by a daemon that died, is replaced. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", s.path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	m = start_server(&s, 2);
	assert_non_null(m);
	stop_server(&s);
	lc_mgmt_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_bad_text),
		cmocka_unit_test(test_register_rules),
		cmocka_unit_test(test_parse_endpoint),
		cmocka_unit_test(test_server_pipeline),
		cmocka_unit_test(test_server_long_line),
		cmocka_unit_test(test_server_clients),
		cmocka_unit_test(test_server_socket_file),
	};

	return cmocka_run_group_tests_name("mgmt", tests, NULL, NULL);
}
