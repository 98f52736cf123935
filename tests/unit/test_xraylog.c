/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Xray access-log line parser (lib/xraylog).
 *
 * The corpus tests/data/xray/access.log holds one line per format variant
 * and per skip reason; tests/data/xray/corpus.tsv says what each line must
 * give. Every line is handed to the parser in a heap buffer of exactly its
 * size, so that AddressSanitizer catches any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lc_xraylog.h"

static const char TIME[] = "2024/11/12 15:18:07 ";

/*
 * Parse len bytes copied into a heap buffer of exactly that size. The buffer
 * lives until the next call, because the entry's spans point into it.
 */
static int
parse_exact(const void *bytes, size_t len, struct lc_xraylog_entry *e)
{
	static char *buf;
	int r;

	free(buf);
	/* malloc(0) may return NULL; one spare byte would hide nothing. */
	buf = malloc(len > 0 ? len : 1);
	assert_non_null(buf);
	memcpy(buf, bytes, len);
	r = lc_xraylog_parse_line(buf, len, e);
	assert_true(r >= 0 && r < LC_XRAYLOG_RESULT_MAX);
	return r;
}

static int
parse_str(const char *s, struct lc_xraylog_entry *e)
{
	return parse_exact(s, strlen(s), e);
}

static void
assert_span(struct lc_xraylog_span sp, const char *want)
{
	if (want == NULL) {
		assert_null(sp.ptr);
		return;
	}
	assert_non_null(sp.ptr);
	if (sp.len != strlen(want) || memcmp(sp.ptr, want, sp.len) != 0)
		fail_msg("span \"%.*s\" != \"%s\"", (int)sp.len, sp.ptr, want);
}

static char *
read_file(const char *name, size_t *len)
{
	const char *dir = getenv("LC_TEST_DATA");
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	if (dir == NULL)
		dir = "tests/data";
	snprintf(path, sizeof(path), "%s/xray/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (set LC_TEST_DATA)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

#define CORPUS_MAX 512

struct corpus_line {
	const char *ptr;
	size_t len; /* without the '\n' */
};

/* The corpus: every line is checked against its row of corpus.tsv. */
static void
test_corpus(void **state)
{
	static struct corpus_line lines[CORPUS_MAX];
	size_t log_len, tsv_len, n_lines = 0, n_rows = 0;
	char *log = read_file("access.log", &log_len);
	char *tsv = read_file("corpus.tsv", &tsv_len);
	int seen[LC_XRAYLOG_RESULT_MAX] = { 0 };

	(void)state;
	for (size_t i = 0, start = 0; i < log_len; i++) {
		if (log[i] != '\n')
			continue;
		assert_true(n_lines < CORPUS_MAX);
		lines[n_lines].ptr = log + start;
		lines[n_lines].len = i - start;
		n_lines++;
		start = i + 1;
	}
	assert_true(n_lines >= 30);

	for (char *row = strtok(tsv, "\n"); row != NULL;
	     row = strtok(NULL, "\n")) {
		char result[32], email[512], ip[64], port[16];
		unsigned int no;
		struct lc_xraylog_entry e;
		int r;

		if (row[0] == '#')
			continue;
		if (sscanf(row, "%u\t%31[^\t]\t%511[^\t]\t%63[^\t]\t%15s", &no,
			   result, email, ip, port) != 5)
			fail_msg("bad corpus.tsv row: %s", row);
		assert_true(no >= 1 && no <= n_lines);
		n_rows++;

		const struct corpus_line *l = &lines[no - 1];

		/* Without its line ending, and with it. */
		r = parse_exact(l->ptr, l->len, &e);
		if (strcmp(lc_xraylog_result_name(r), result) != 0)
			fail_msg("line %u: got %s, want %s: %.*s", no,
				 lc_xraylog_result_name(r), result,
				 (int)l->len, l->ptr);
		seen[r]++;
		assert_int_equal(parse_exact(l->ptr, l->len + 1, &e), r);
		if (r != LC_XRAYLOG_ASSIGN)
			continue;

		char ep[80], want_ep[80];

		assert_string_equal(e.email, email);
		assert_int_equal(e.email_len, strlen(email));
		assert_string_equal(e.client_ip, ip);
		assert_int_equal(e.client_port, (uint16_t)atoi(port));
		assert_true(e.family == 4 || e.family == 6);
		assert_int_equal(e.status, LC_XRAYLOG_STATUS_ACCEPTED);
		snprintf(want_ep, sizeof(want_ep),
			 e.family == 6 ? "[%s]:%s" : "%s:%s", ip, port);
		assert_int_equal(lc_xraylog_format_endpoint(&e, ep, sizeof(ep)),
				 (int)strlen(want_ep));
		assert_string_equal(ep, want_ep);
	}
	assert_int_equal(n_rows, n_lines);
	/* The corpus covers every outcome except too_long (generated). */
	for (int r = 0; r < LC_XRAYLOG_RESULT_MAX; r++)
		if (r != LC_XRAYLOG_TOO_LONG && seen[r] == 0)
			fail_msg("corpus has no line for %s",
				 lc_xraylog_result_name(r));
	free(log);
	free(tsv);
}

/* Xray 1.8.x and later: time, from, detour, "email: X". */
static void
test_newest_format(void **state)
{
	struct lc_xraylog_entry e;

	(void)state;
	assert_int_equal(parse_str("2024/11/12 15:18:07.123456 from "
				   "tcp:203.0.113.5:51234 accepted "
				   "tcp:www.google.com:443 [vless-in >> direct] "
				   "email: alice@example.com", &e),
			 LC_XRAYLOG_ASSIGN);
	assert_int_equal(e.year, 2024);
	assert_int_equal(e.month, 11);
	assert_int_equal(e.day, 12);
	assert_int_equal(e.hour, 15);
	assert_int_equal(e.minute, 18);
	assert_int_equal(e.second, 7);
	assert_true(e.has_usec);
	assert_int_equal(e.usec, 123456);
	/* date -u -d '2024-11-12 15:18:07' +%s */
	assert_int_equal(e.time_civil, 1731424687);
	assert_true(e.has_from);
	assert_int_equal(e.src_proto, LC_XRAYLOG_PROTO_TCP);
	assert_int_equal(e.family, 4);
	assert_string_equal(e.client_ip, "203.0.113.5");
	assert_int_equal(e.client_port, 51234);
	static const uint8_t want_addr[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 5
	};
	assert_memory_equal(e.client_addr, want_addr, 16);
	assert_span(e.source, "tcp:203.0.113.5:51234");
	assert_span(e.destination, "tcp:www.google.com:443");
	assert_int_equal(e.dst_proto, LC_XRAYLOG_PROTO_TCP);
	assert_span(e.dst_host, "www.google.com");
	assert_int_equal(e.dst_port, 443);
	assert_span(e.detour, "vless-in >> direct");
	assert_span(e.inbound, "vless-in");
	assert_span(e.outbound, "direct");
	assert_span(e.reason, NULL);
	assert_string_equal(e.email, "alice@example.com");
}

static void
test_time_variants(void **state)
{
	struct lc_xraylog_entry e;
	char line[256];
	static const struct {
		const char *time;
		int result;
		uint32_t usec;
	} cases[] = {
		{ "2024/01/01 00:00:00", LC_XRAYLOG_ASSIGN, 0 },
		{ "2024/01/01 00:00:00.1", LC_XRAYLOG_ASSIGN, 100000 },
		{ "2024/01/01 00:00:00.000001", LC_XRAYLOG_ASSIGN, 1 },
		{ "2024/01/01 00:00:00.123456789", LC_XRAYLOG_ASSIGN, 123456 },
		{ "2024/02/29 23:59:59", LC_XRAYLOG_ASSIGN, 0 },
		{ "2023/02/29 10:00:00", LC_XRAYLOG_MALFORMED, 0 },
		{ "2024/00/10 10:00:00", LC_XRAYLOG_MALFORMED, 0 },
		{ "2024/04/31 10:00:00", LC_XRAYLOG_MALFORMED, 0 },
		{ "2024/01/01 10:60:00", LC_XRAYLOG_MALFORMED, 0 },
		{ "2024/01/01 10:00:60", LC_XRAYLOG_MALFORMED, 0 },
		{ "2024/01/01 00:00:00.", LC_XRAYLOG_MALFORMED, 0 },
		{ "2024/01/01 00:00:00.1234567890", LC_XRAYLOG_MALFORMED, 0 },
		{ "2024-01-01 00:00:00", LC_XRAYLOG_NOT_ACCESS, 0 },
		{ "2024/01/01T00:00:00", LC_XRAYLOG_NOT_ACCESS, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line),
			 "%s from 1.2.3.4:5678 accepted tcp:a.b:443 email: u",
			 cases[i].time);
		if (parse_str(line, &e) != cases[i].result)
			fail_msg("%s: got %s", line,
				 lc_xraylog_result_name(parse_str(line, &e)));
		if (cases[i].result == LC_XRAYLOG_ASSIGN)
			assert_int_equal(e.usec, cases[i].usec);
	}
	/* 1970-01-01 is day 0; 2000-03-01 checks the leap-year rule. */
	assert_int_equal(parse_str("1970/01/01 00:00:01 1.2.3.4:5 accepted x "
				   "email:u", &e), LC_XRAYLOG_ASSIGN);
	assert_int_equal(e.time_civil, 1);
	assert_false(e.has_from);
	assert_int_equal(parse_str("2000/03/01 00:00:00 1.2.3.4:5 accepted x "
				   "email:u", &e), LC_XRAYLOG_ASSIGN);
	assert_int_equal(e.time_civil, 951868800);
	/* A time and nothing else is not an access line. */
	assert_int_equal(parse_str("2024/01/01 00:00:00", &e),
			 LC_XRAYLOG_NOT_ACCESS);
	assert_int_equal(parse_str("2024/01/01 00:00:00x", &e),
			 LC_XRAYLOG_MALFORMED);
}

static void
test_detour_variants(void **state)
{
	struct lc_xraylog_entry e;
	char line[256];
	static const struct {
		const char *detour;
		const char *in, *out;
	} cases[] = {
		{ "[in >> out]", "in", "out" },
		{ "[in -> out]", "in", "out" },
		{ "[in ==> out]", "in", "out" },
		{ "[in => out]", "in", "out" },
		{ "[out]", NULL, "out" },
		{ "[]", NULL, "" },
		{ "", NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line),
			 "%sfrom 1.2.3.4:5678 accepted tcp:a.b:443 %s email: u",
			 TIME, cases[i].detour);
		assert_int_equal(parse_str(line, &e), LC_XRAYLOG_ASSIGN);
		assert_span(e.inbound, cases[i].in);
		assert_span(e.outbound, cases[i].out);
		assert_string_equal(e.email, "u");
		/* Old writers: "[detour] email:u " */
		snprintf(line, sizeof(line),
			 "%s1.2.3.4:5678 accepted tcp:a.b:443 %s email:u ",
			 TIME, cases[i].detour);
		assert_int_equal(parse_str(line, &e), LC_XRAYLOG_ASSIGN);
		assert_span(e.outbound, cases[i].out);
		assert_string_equal(e.email, "u");
	}
	/* A detour that never closes is a broken line. */
	snprintf(line, sizeof(line),
		 "%sfrom 1.2.3.4:5678 accepted tcp:a.b:443 [in >> out email: u",
		 TIME);
	assert_int_equal(parse_str(line, &e), LC_XRAYLOG_MALFORMED);
}

static void
test_destination_variants(void **state)
{
	struct lc_xraylog_entry e;
	char line[256];
	static const struct {
		const char *dest;
		uint8_t proto;
		const char *host;
		uint16_t port;
	} cases[] = {
		{ "tcp:example.com:443", LC_XRAYLOG_PROTO_TCP, "example.com", 443 },
		{ "udp:example.com:53", LC_XRAYLOG_PROTO_UDP, "example.com", 53 },
		{ "tcp:142.250.196.100:443", LC_XRAYLOG_PROTO_TCP,
		  "142.250.196.100", 443 },
		{ "tcp:[2606:4700::1111]:443", LC_XRAYLOG_PROTO_TCP,
		  "2606:4700::1111", 443 },
		{ "udp:[2001:db8::53]:53", LC_XRAYLOG_PROTO_UDP, "2001:db8::53",
		  53 },
		{ "tcp:[Masked IPv4]:443", LC_XRAYLOG_PROTO_TCP, "Masked IPv4",
		  443 },
		{ "example.com:443", LC_XRAYLOG_PROTO_NONE, "example.com", 443 },
		{ "tcp:v1.mux.cool:9527", LC_XRAYLOG_PROTO_TCP, "v1.mux.cool",
		  9527 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line),
			 "%sfrom 1.2.3.4:5678 accepted %s [in >> out] email: u",
			 TIME, cases[i].dest);
		assert_int_equal(parse_str(line, &e), LC_XRAYLOG_ASSIGN);
		assert_span(e.destination, cases[i].dest);
		assert_int_equal(e.dst_proto, cases[i].proto);
		assert_span(e.dst_host, cases[i].host);
		assert_int_equal(e.dst_port, cases[i].port);
		assert_span(e.outbound, "out");
	}
}

static void
test_source_variants(void **state)
{
	struct lc_xraylog_entry e;
	char line[256];
	static const struct {
		const char *src;
		int result;
		const char *ip;
		uint8_t family, proto;
	} cases[] = {
		{ "1.2.3.4:5678", LC_XRAYLOG_ASSIGN, "1.2.3.4", 4, 0 },
		{ "tcp:1.2.3.4:5678", LC_XRAYLOG_ASSIGN, "1.2.3.4", 4, 1 },
		{ "udp:1.2.3.4:5678", LC_XRAYLOG_ASSIGN, "1.2.3.4", 4, 2 },
		{ "0.0.0.0:5678", LC_XRAYLOG_ASSIGN, "0.0.0.0", 4, 0 },
		{ "255.255.255.255:5678", LC_XRAYLOG_ASSIGN, "255.255.255.255",
		  4, 0 },
		{ "[2001:db8::1]:5678", LC_XRAYLOG_ASSIGN, "2001:db8::1", 6, 0 },
		{ "udp:[2001:db8::1]:5678", LC_XRAYLOG_ASSIGN, "2001:db8::1", 6,
		  2 },
		{ "[::1]:5678", LC_XRAYLOG_ASSIGN, "::1", 6, 0 },
		{ "[::ffff:1.2.3.4]:5678", LC_XRAYLOG_ASSIGN, "1.2.3.4", 4, 0 },
		{ "[2001:0db8:0000::0001]:5678", LC_XRAYLOG_ASSIGN,
		  "2001:db8::1", 6, 0 },
		{ "1.2.3.4:0", LC_XRAYLOG_PORT_ZERO, NULL, 4, 0 },
		{ "[2001:db8::1]:0", LC_XRAYLOG_PORT_ZERO, NULL, 6, 0 },
		{ "1.2.3.4:65536", LC_XRAYLOG_BAD_PORT, NULL, 4, 0 },
		{ "1.2.3.4:99999999999999999999", LC_XRAYLOG_BAD_PORT, NULL, 4,
		  0 },
		{ "1.2.3.4:", LC_XRAYLOG_BAD_PORT, NULL, 4, 0 },
		{ "1.2.3.4", LC_XRAYLOG_BAD_PORT, NULL, 4, 0 },
		{ "[2001:db8::1]", LC_XRAYLOG_BAD_PORT, NULL, 6, 0 },
		{ "[2001:db8::1]5678", LC_XRAYLOG_BAD_PORT, NULL, 0, 0 },
		{ "1.2.3:5678", LC_XRAYLOG_BAD_IP, NULL, 0, 0 },
		{ "1.2.3.4.5:5678", LC_XRAYLOG_BAD_IP, NULL, 0, 0 },
		{ "1.2.3.04:5678", LC_XRAYLOG_BAD_IP, NULL, 0, 0 },
		{ "1.2.3.1000:5678", LC_XRAYLOG_BAD_IP, NULL, 0, 0 },
		{ "example.com:5678", LC_XRAYLOG_BAD_IP, NULL, 0, 0 },
		{ "2001:db8::1:5678", LC_XRAYLOG_BAD_IP, NULL, 0, 0 },
		{ "[fe80::1%eth0]:5678", LC_XRAYLOG_BAD_IP, NULL, 0, 0 },
		{ "[2001:db8::1:5678", LC_XRAYLOG_BAD_IP, NULL, 0, 0 },
		{ "[]:5678", LC_XRAYLOG_BAD_IP, NULL, 0, 0 },
		{ "sctp:1.2.3.4:5678", LC_XRAYLOG_BAD_IP, NULL, 0, 0 },
		{ "1.2.3.*:5678", LC_XRAYLOG_MASKED, NULL, 0, 0 },
		{ "1.2.*.*:5678", LC_XRAYLOG_MASKED, NULL, 0, 0 },
		{ "1.*.*.*:5678", LC_XRAYLOG_MASKED, NULL, 0, 0 },
		{ "[Masked IPv4]:5678", LC_XRAYLOG_MASKED, NULL, 0, 0 },
		{ "[Masked IPv6]:5678", LC_XRAYLOG_MASKED, NULL, 0, 0 },
		{ "[2001:db8::/32]:5678", LC_XRAYLOG_MASKED, NULL, 0, 0 },
		{ "[2001::/16]:5678", LC_XRAYLOG_MASKED, NULL, 0, 0 },
		{ "[2001:db8:1:2::/64]:5678", LC_XRAYLOG_MASKED, NULL, 0, 0 },
		{ "tcp:[Masked IPv6]:5678", LC_XRAYLOG_MASKED, NULL, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int from = 0; from < 2; from++) {
			snprintf(line, sizeof(line),
				 "%s%s%s accepted tcp:a.b:443 [in >> out] "
				 "email: u", TIME, from ? "from " : "",
				 cases[i].src);

			const int r = parse_str(line, &e);

			if (r != cases[i].result)
				fail_msg("%s: got %s", line,
					 lc_xraylog_result_name(r));
			assert_int_equal(e.has_from, from);
			assert_span(e.source, cases[i].src);
			if (cases[i].ip != NULL)
				assert_string_equal(e.client_ip, cases[i].ip);
			if (r == LC_XRAYLOG_ASSIGN) {
				assert_int_equal(e.family, cases[i].family);
				assert_int_equal(e.src_proto, cases[i].proto);
			}
		}
	}
}

static void
test_rejected(void **state)
{
	struct lc_xraylog_entry e;

	(void)state;
	assert_int_equal(parse_str("2024/11/12 15:18:08 from 1.2.3.4:5000 "
				   "rejected  proxy/vless/encoding: invalid "
				   "request version", &e),
			 LC_XRAYLOG_REJECTED);
	assert_int_equal(e.status, LC_XRAYLOG_STATUS_REJECTED);
	assert_span(e.destination, NULL);
	assert_span(e.reason,
		    "proxy/vless/encoding: invalid request version");
	/* Rejected wins over everything that follows the status. */
	assert_int_equal(parse_str("2024/11/12 15:18:08 [Masked IPv4]:5000 "
				   "rejected  x email: u", &e),
			 LC_XRAYLOG_REJECTED);
	assert_int_equal(parse_str("2024/11/12 15:18:08 from 1.2.3.4:5000 "
				   "rejected", &e), LC_XRAYLOG_REJECTED);
	assert_int_equal(parse_str("2024/11/12 15:18:08 from 1.2.3.4:5000 "
				   "rejected tcp:a.b:443 invalid user", &e),
			 LC_XRAYLOG_REJECTED);
	assert_span(e.destination, "tcp:a.b:443");
	assert_span(e.reason, "invalid user");
	/* A status that is neither word. */
	assert_int_equal(parse_str("2024/11/12 15:18:08 from 1.2.3.4:5000 "
				   "Accepted tcp:a.b:443 email: u", &e),
			 LC_XRAYLOG_MALFORMED);
	assert_int_equal(parse_str("2024/11/12 15:18:08 1.2.3.4:5000 "
				   "acceptedx tcp:a.b:443 email: u", &e),
			 LC_XRAYLOG_NOT_ACCESS);
}

static void
test_email_forms(void **state)
{
	struct lc_xraylog_entry e;
	char line[1024];
	char long_email[LC_XRAYLOG_EMAIL_MAX + 2];

	(void)state;
	/* "email:" must start a token: "xemail:" is not the field. */
	assert_int_equal(parse_str("2024/11/12 15:18:08 1.2.3.4:5 accepted "
				   "tcp:a.b:443 xemail:u", &e),
			 LC_XRAYLOG_NO_EMAIL);
	assert_span(e.reason, "xemail:u");
	/* The old writers put the reason right before "email:". */
	assert_int_equal(parse_str("2024/11/12 15:18:08 1.2.3.4:5 accepted "
				   "tcp:a.b:443 some reason email:u ", &e),
			 LC_XRAYLOG_ASSIGN);
	assert_span(e.reason, "some reason");
	assert_string_equal(e.email, "u");
	/* Two blanks are not one: the email would be empty. */
	assert_int_equal(parse_str("2024/11/12 15:18:08 1.2.3.4:5 accepted "
				   "tcp:a.b:443 email:  u", &e),
			 LC_XRAYLOG_BAD_EMAIL);
	assert_int_equal(parse_str("2024/11/12 15:18:08 1.2.3.4:5 accepted "
				   "tcp:a.b:443 email:\tu", &e),
			 LC_XRAYLOG_BAD_EMAIL);
	/* Longest email passes, one byte more does not. */
	memset(long_email, 'a', sizeof(long_email));
	long_email[LC_XRAYLOG_EMAIL_MAX] = '\0';
	snprintf(line, sizeof(line), "%s1.2.3.4:5 accepted x email: %s", TIME,
		 long_email);
	assert_int_equal(parse_str(line, &e), LC_XRAYLOG_ASSIGN);
	assert_int_equal(e.email_len, LC_XRAYLOG_EMAIL_MAX);
	assert_int_equal(strlen(e.email), LC_XRAYLOG_EMAIL_MAX);
	long_email[LC_XRAYLOG_EMAIL_MAX] = 'a';
	long_email[LC_XRAYLOG_EMAIL_MAX + 1] = '\0';
	snprintf(line, sizeof(line), "%s1.2.3.4:5 accepted x email: %s", TIME,
		 long_email);
	assert_int_equal(parse_str(line, &e), LC_XRAYLOG_BAD_EMAIL);
	/* Numeric and plain names are emails too. */
	assert_int_equal(parse_str("2024/11/12 15:18:08 1.2.3.4:5 accepted "
				   "tcp:a.b:443 email: 42", &e),
			 LC_XRAYLOG_ASSIGN);
	assert_string_equal(e.email, "42");
}

static void
test_email_rules(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{ "alice@example.com", true },
		{ "1", true },
		{ "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", true },
		{ "\xf0\x9f\x98\x80", true },         /* U+1F600 */
		{ "\xc2\xa1", true },                 /* U+00A1 */
		{ "\xef\xbf\xbd", true },             /* U+FFFD */
		{ "\xe2\x80\x90", true },             /* U+2010 hyphen */
		{ "\xc2\xa0", false },                /* U+00A0 no-break space */
		{ "\xc2\xad", false },                /* U+00AD soft hyphen */
		{ "\xe2\x80\x8b", false },            /* U+200B zero width */
		{ "\xe2\x80\xa8", false },            /* U+2028 */
		{ "\xe2\x80\xae", false },            /* U+202E bidi override */
		{ "\xe3\x80\x80", false },            /* U+3000 */
		{ "\xef\xbb\xbf", false },            /* U+FEFF BOM */
		{ "\xef\xb7\x90", false },            /* U+FDD0 nonchar */
		{ "\xef\xbf\xbe", false },            /* U+FFFE */
		{ "\xf0\x9f\xbf\xbf", false },        /* U+1FFFF */
		{ "\xf4\x8f\xbf\xbd", true },         /* U+10FFFD */
		{ "\xf4\x8f\xbf\xbf", false },        /* U+10FFFF nonchar */
		{ "", false },
		{ "a b", false },
		{ "a\tb", false },
		{ "a\x7f", false },
		{ "a\x1b", false },
		{ "\xc2\x85", false },                /* U+0085, C1 */
		{ "\xc2\x9f", false },                /* U+009F, C1 */
		{ "\xc0\xaf", false },                /* overlong / */
		{ "\xc1\xbf", false },
		{ "\xe0\x80\xaf", false },            /* overlong */
		{ "\xed\xa0\x80", false },            /* surrogate */
		{ "\xf0\x80\x80\xaf", false },        /* overlong */
		{ "\xf4\x90\x80\x80", false },        /* > U+10FFFF */
		{ "\xf5\x80\x80\x80", false },
		{ "\xff", false },
		{ "\x80", false },                    /* lone continuation */
		{ "\xd0", false },                    /* truncated */
		{ "\xe2\x82", false },
		{ "\xf0\x9f\x98", false },
		{ "\xe2\x28\xa1", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const size_t len = strlen(cases[i].s);
		char *buf = malloc(len + 1);

		memcpy(buf, cases[i].s, len);
		if (lc_xraylog_email_valid(buf, len) != cases[i].ok)
			fail_msg("case %zu: want %d", i, cases[i].ok);
		free(buf);
	}
	/* An embedded NUL is a control character. */
	assert_false(lc_xraylog_email_valid("a\0b", 3));
}

static void
test_long_lines(void **state)
{
	struct lc_xraylog_entry e;
	const size_t big = 100 * 1024;
	char *line = malloc(big);
	const char *head = "2024/11/12 15:18:08 from 1.2.3.4:5 accepted "
			   "tcp:a.b:443 [in >> out] ";
	const size_t hlen = strlen(head);

	(void)state;
	assert_non_null(line);
	memcpy(line, head, hlen);
	memset(line + hlen, 'r', big - hlen);
	/* A 100 KB line, with and without a line ending. */
	assert_int_equal(parse_exact(line, big, &e), LC_XRAYLOG_TOO_LONG);
	line[big - 1] = '\n';
	assert_int_equal(parse_exact(line, big, &e), LC_XRAYLOG_TOO_LONG);
	/* Exactly the limit is parsed; "\r\n" does not count. */
	memcpy(line + LC_XRAYLOG_LINE_MAX - 8, " email:u", 8);
	assert_int_equal(parse_exact(line, LC_XRAYLOG_LINE_MAX, &e),
			 LC_XRAYLOG_ASSIGN);
	assert_string_equal(e.email, "u");
	assert_int_equal(e.reason.len, LC_XRAYLOG_LINE_MAX - hlen - 8);
	memcpy(line + LC_XRAYLOG_LINE_MAX, "\r\n", 2);
	assert_int_equal(parse_exact(line, LC_XRAYLOG_LINE_MAX + 2, &e),
			 LC_XRAYLOG_ASSIGN);
	line[LC_XRAYLOG_LINE_MAX] = 'r';
	assert_int_equal(parse_exact(line, LC_XRAYLOG_LINE_MAX + 1, &e),
			 LC_XRAYLOG_TOO_LONG);
	free(line);
}

static void
test_embedded_nul(void **state)
{
	struct lc_xraylog_entry e;
	static const char in_email[] =
		"2024/11/12 15:18:08 1.2.3.4:5 accepted x email: al\0ice";
	static const char in_source[] =
		"2024/11/12 15:18:08 1.2.\0.4:5 accepted x email: alice";
	static const char in_reason[] =
		"2024/11/12 15:18:08 1.2.3.4:5 rejected  bad\0thing";
	static const char in_time[] =
		"2024/11/12 15:18:\0008 1.2.3.4:5 accepted x email: alice";
	static const char at_end[] =
		"2024/11/12 15:18:08 1.2.3.4:5 accepted x email: alice\0";

	(void)state;
	assert_int_equal(parse_exact(in_email, sizeof(in_email) - 1, &e),
			 LC_XRAYLOG_BAD_EMAIL);
	assert_int_equal(parse_exact(in_source, sizeof(in_source) - 1, &e),
			 LC_XRAYLOG_BAD_IP);
	assert_int_equal(parse_exact(in_reason, sizeof(in_reason) - 1, &e),
			 LC_XRAYLOG_REJECTED);
	assert_int_equal(parse_exact(in_time, sizeof(in_time) - 1, &e),
			 LC_XRAYLOG_MALFORMED);
	assert_int_equal(parse_exact(at_end, sizeof(at_end) - 1, &e),
			 LC_XRAYLOG_BAD_EMAIL);
	assert_int_equal(parse_exact("\0", 1, &e), LC_XRAYLOG_MALFORMED);
}

static void
test_empty_and_blank(void **state)
{
	struct lc_xraylog_entry e;

	(void)state;
	assert_int_equal(parse_exact("", 0, &e), LC_XRAYLOG_EMPTY);
	assert_int_equal(parse_str("\n", &e), LC_XRAYLOG_EMPTY);
	assert_int_equal(parse_str("\r\n", &e), LC_XRAYLOG_EMPTY);
	assert_int_equal(parse_str("   \t ", &e), LC_XRAYLOG_EMPTY);
}

/* Every prefix of a valid line parses without reading past its end. */
static void
test_truncations(void **state)
{
	static const char *const lines[] = {
		("2024/11/12 15:18:07.123456 from tcp:[2001:db8::1]:5678 "
		 "accepted udp:[2606:4700::1111]:443 [vless-in ==> out] "
		 "email: \xd0\xbf@example.com"),
		("2021/03/01 10:00:00 203.0.113.13:40002 accepted "
		 "tcp:www.example.com:443 [in >> out] email:heidi \r\n"),
		"2024/11/12 15:18:08 from [Masked IPv6]:5000 rejected  x",
	};
	struct lc_xraylog_entry e;

	(void)state;
	for (size_t l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
		const size_t len = strlen(lines[l]);

		for (size_t n = 0; n <= len; n++)
			parse_exact(lines[l], n, &e);
	}
	/* Cut inside the source: not an address any more. */
	assert_int_equal(parse_str("2024/11/12 15:18:07 from 203.0.113.50:5678 "
				   "acc", &e), LC_XRAYLOG_MALFORMED);
	assert_int_equal(parse_str("2024/11/12 15:18:07 from 203.0.1", &e),
			 LC_XRAYLOG_MALFORMED);
}

/* Deterministic junk: no crash, no overread, a known result. */
static void
test_binary_junk(void **state)
{
	struct lc_xraylog_entry e;
	uint32_t x = 0x12345678;
	unsigned char buf[300];
	static const char alphabet[] = "0123456789/:. []*>-=fromacepdtjisl@\t"
				       "\r\n\x00\xff\xc2";

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t len;

		x = x * 1103515245 + 12345;
		len = (x >> 8) % sizeof(buf);
		for (size_t k = 0; k < len; k++) {
			x = x * 1103515245 + 12345;
			/* Half the time bytes from the grammar, else any. */
			buf[k] = (x >> 31) ?
				(unsigned char)alphabet[(x >> 16) %
							(sizeof(alphabet) - 1)] :
				(unsigned char)(x >> 16);
		}
		/* Sometimes with a valid time, to get past the first step. */
		if (len > 20 && (i & 1))
			memcpy(buf, TIME, 20);
		parse_exact(buf, len, &e);
	}
}

static void
test_result_names(void **state)
{
	(void)state;
	for (int i = 0; i < LC_XRAYLOG_RESULT_MAX; i++) {
		const char *n = lc_xraylog_result_name(i);

		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (int k = 0; k < i; k++)
			assert_string_not_equal(n, lc_xraylog_result_name(k));
	}
	assert_string_equal(lc_xraylog_result_name(LC_XRAYLOG_ASSIGN),
			    "assign");
	assert_string_equal(lc_xraylog_result_name(LC_XRAYLOG_PORT_ZERO),
			    "port_zero");
	assert_string_equal(lc_xraylog_result_name(-1), "unknown");
	assert_string_equal(lc_xraylog_result_name(LC_XRAYLOG_RESULT_MAX),
			    "unknown");
}

static void
test_format_endpoint(void **state)
{
	struct lc_xraylog_entry e;
	char buf[64];

	(void)state;
	assert_int_equal(parse_str("2024/11/12 15:18:08 [2001:db8::1]:443 "
				   "accepted x email: u", &e),
			 LC_XRAYLOG_ASSIGN);
	assert_int_equal(lc_xraylog_format_endpoint(&e, buf, sizeof(buf)), 17);
	assert_string_equal(buf, "[2001:db8::1]:443");
	/* Exactly enough room, then one byte short. */
	assert_int_equal(lc_xraylog_format_endpoint(&e, buf, 18), 17);
	assert_int_equal(lc_xraylog_format_endpoint(&e, buf, 17), -1);
	assert_int_equal(parse_str("2024/11/12 15:18:08 1.2.3.4:65535 "
				   "accepted x email: u", &e),
			 LC_XRAYLOG_ASSIGN);
	assert_int_equal(lc_xraylog_format_endpoint(&e, buf, sizeof(buf)), 13);
	assert_string_equal(buf, "1.2.3.4:65535");
	memset(&e, 0, sizeof(e));
	assert_int_equal(lc_xraylog_format_endpoint(&e, buf, sizeof(buf)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_newest_format),
		cmocka_unit_test(test_time_variants),
		cmocka_unit_test(test_detour_variants),
		cmocka_unit_test(test_destination_variants),
		cmocka_unit_test(test_source_variants),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_email_forms),
		cmocka_unit_test(test_email_rules),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_empty_and_blank),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_binary_junk),
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_format_endpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
