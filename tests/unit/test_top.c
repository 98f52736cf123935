/* SPDX-License-Identifier: MIT */
/*
 * linecapctl top's model (app/linecapctl/top_view.c): samples read from
 * replies, rates between two samples, the order of the rows and the text
 * of the screen, fed with JSON as linecapd writes it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "linecapctl.h"

/* A user object of `user list`, with the same counters both ways. */
#define USER(email, id, up, down, flows, pk, by, dr)                                   \
	"{\"email\":\"" email "\",\"id\":" #id ",\"up\":" #up ",\"down\":" #down       \
	",\"static\":true,\"flows\":" #flows ",\"counters\":{"                         \
	"\"up\":{\"packets\":" #pk ",\"bytes\":" #by ",\"drops\":" #dr "},"           \
	"\"down\":{\"packets\":" #pk ",\"bytes\":" #by ",\"drops\":" #dr "}}}"

static json_t *
parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (j == NULL)
		fail_msg("bad JSON in the test: %s: %s", err.text, text);
	return j;
}

static void
sample_users(struct top_sample *s, double t, const char *users)
{
	char text[4096], err[256];
	json_t *j;

	snprintf(text, sizeof(text), "{\"ok\":true,\"count\":0,\"users\":[%s]}", users);
	j = parse(text);
	s->t = t;
	assert_int_equal(top_sample_users(s, j, err, sizeof(err)), 0);
	json_decref(j);
}

static void
sample_stats(struct top_sample *s, int uptime, unsigned int rx, unsigned int drops)
{
	char text[2048], err[256];
	json_t *j;

	snprintf(text, sizeof(text),
		 "{\"ok\":true,\"mode\":\"inline\",\"state\":\"present\",\"uptime\":%d,"
		 "\"ports\":{"
		 "\"client\":{\"rx_packets\":%u,\"rx_bytes\":%u,\"tx_packets\":%u,"
		 "\"tx_bytes\":%u,\"drops\":{\"shaper\":%u,\"rx_missed\":1}},"
		 "\"server\":{\"rx_packets\":%u,\"rx_bytes\":%u,\"tx_packets\":0,"
		 "\"tx_bytes\":0,\"drops\":{}}},"
		 "\"flows\":{\"active\":7},"
		 "\"unassigned\":{\"up\":{\"bytes\":%u},\"down\":{\"bytes\":0}}}",
		 uptime, rx, rx * 1000, rx / 2, rx * 500, drops, rx, rx * 100, rx);
	j = parse(text);
	assert_int_equal(top_sample_stats(s, j, err, sizeof(err)), 0);
	json_decref(j);
}

static const struct top_row *
row_of(const struct top_view *v, const char *email)
{
	for (size_t i = 0; i < v->n_row; i++)
		if (strcmp(v->row[i].user->email, email) == 0)
			return &v->row[i];
	fail_msg("no row for %s", email);
	return NULL;
}

static void
test_si(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0, "0" },       { 0.5, "0.5" },    { 7, "7" },          { 999, "999" },
		{ 999.6, "1k" },  { 1000, "1k" },    { 9834000, "9.83M" }, { 1e7, "10M" },
		{ 2.5e9, "2.5G" }, { 812400, "812k" }, { 999999, "1M" },    { -3, "0" },
	};
	char buf[16];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(top_si(cases[i].v, buf, sizeof(buf)), cases[i].text);
}

static void
test_sort_names(void **state)
{
	(void)state;
	for (int i = 0; i < TOP_SORTS; i++)
		assert_int_equal(top_sort_parse(top_sort_name((enum top_sort)i)), i);
	assert_int_equal(top_sort_parse("speed"), -1);
	assert_int_equal(top_sort_parse("rate"), TOP_SORT_RATE);
}

/* Rates are differences over the time between the samples. */
static void
test_rates(void **state)
{
	struct top_sample a = { .uptime = -1 }, b = { .uptime = -1 };
	struct top_view v;
	const struct top_row *r;

	(void)state;
	sample_users(&a, 10.0, USER("x@t", 1, 10000000, 20000000, 3, 1000, 1000000, 10));
	sample_stats(&a, 100, 1000, 5);
	sample_users(&b, 12.0, USER("x@t", 1, 10000000, 20000000, 4, 3000, 3500000, 410));
	sample_stats(&b, 102, 5000, 25);
	assert_int_equal(top_view_build(&v, &a, &b), 0);
	assert_true(v.elapsed == 2.0);
	r = row_of(&v, "x@t");
	assert_true(r->rated);
	/* 2.5 MB in 2 s: 10 Mbit/s; 400 drops: 200 per second. */
	assert_true(r->rate[TOP_UP] == 10e6);
	assert_true(r->rate[TOP_DOWN] == 10e6);
	assert_true(r->drops[TOP_UP] == 200);
	assert_true(r->user->limit[TOP_UP] == 10000000);
	assert_true(r->user->limit[TOP_DOWN] == 20000000);
	assert_true(r->user->flows == 4);
	assert_true(v.total_rate[TOP_UP] == 10e6);
	assert_true(v.total_flows == 4);
	/* Ports: 4000 frames in 2 s; drops of every reason, 20 in 2 s. */
	assert_true(v.ports_rated);
	assert_true(v.port[TOP_CLIENT].rx_pps == 2000);
	assert_true(v.port[TOP_CLIENT].rx_bps == 2000 * 1000 * 8);
	assert_true(v.port[TOP_CLIENT].tx_pps == 1000);
	assert_true(v.port[TOP_CLIENT].drops_ps == 10);
	assert_true(v.unassigned_bps[TOP_UP] == 2000 * 8);
	assert_true(b.active_flows == 7);
	assert_string_equal(b.mode, "inline");
	top_view_clear(&v);

	/* No previous sample: rows, but no rates. */
	assert_int_equal(top_view_build(&v, NULL, &b), 0);
	assert_false(row_of(&v, "x@t")->rated);
	assert_false(v.ports_rated);
	top_view_clear(&v);
	top_sample_clear(&a);
	top_sample_clear(&b);
}

/* Deleted, new, made again (another id) and restarted users. */
static void
test_users_come_and_go(void **state)
{
	struct top_sample a = { .uptime = -1 }, b = { .uptime = -1 };
	struct top_view v;

	(void)state;
	sample_users(&a, 1.0,
		     USER("gone@t", 1, 1000, 1000, 0, 10, 1000, 0) ","
		     USER("again@t", 2, 1000, 1000, 0, 10, 1000, 0) ","
		     USER("reset@t", 3, 1000, 1000, 0, 10, 1000, 0) ","
		     USER("stays@t", 4, 1000, 1000, 0, 10, 1000, 0));
	sample_stats(&a, 50, 1000, 0);
	sample_users(&b, 2.0,
		     USER("again@t", 9, 1000, 1000, 0, 20, 2000, 0) ","
		     USER("reset@t", 3, 1000, 1000, 0, 5, 500, 0) ","
		     USER("stays@t", 4, 1000, 1000, 0, 20, 2000, 0) ","
		     USER("new@t", 5, 1000, 1000, 0, 20, 2000, 0));
	/* linecapd restarted: its uptime went back. */
	sample_stats(&b, 1, 2000, 0);
	assert_int_equal(top_view_build(&v, &a, &b), 0);
	assert_int_equal(v.n_row, 4);
	for (size_t i = 0; i < v.n_row; i++)
		assert_string_not_equal(v.row[i].user->email, "gone@t");
	assert_false(row_of(&v, "again@t")->rated);
	assert_false(row_of(&v, "reset@t")->rated);
	assert_false(row_of(&v, "new@t")->rated);
	assert_true(row_of(&v, "stays@t")->rated);
	assert_true(row_of(&v, "stays@t")->rate[TOP_UP] == 8000);
	assert_false(v.ports_rated);
	top_view_clear(&v);
	top_sample_clear(&a);
	top_sample_clear(&b);
}

static void
test_error_replies(void **state)
{
	struct top_sample s = { .uptime = -1 };
	char err[256];
	json_t *j;

	(void)state;
	j = parse("{\"ok\":false,\"error\":\"the worker did not answer\"}");
	assert_int_equal(top_sample_users(&s, j, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "user list: the worker did not answer");
	assert_false(s.have_users);
	assert_int_equal(top_sample_stats(&s, j, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "stats: the worker did not answer");
	assert_false(s.have_stats);
	json_decref(j);

	j = parse("{\"ok\":true}");
	assert_int_equal(top_sample_stats(&s, j, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "stats: no ports in the reply");
	assert_int_equal(top_sample_users(&s, j, err, sizeof(err)), -EINVAL);
	json_decref(j);
	assert_int_equal(top_sample_users(&s, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "user list: no reply");

	/* A stats reply the worker did not fully answer: the ports still count. */
	j = parse("{\"ok\":true,\"mode\":\"tap\",\"state\":\"present\","
		  "\"ports\":{\"client\":{},\"server\":{}},"
		  "\"incomplete\":{\"shaper\":\"the worker did not answer within 1000 ms\"}}");
	assert_int_equal(top_sample_stats(&s, j, err, sizeof(err)), 0);
	assert_string_equal(s.incomplete, "shaper: the worker did not answer within 1000 ms");
	assert_true(s.uptime == -1);
	json_decref(j);
	top_sample_clear(&s);
}

/* TAP mode counts would_drop in place of drops. */
static void
test_tap(void **state)
{
	struct top_sample a = { .uptime = -1 }, b = { .uptime = -1 };
	struct top_view v;

	(void)state;
	sample_users(&a, 1.0, "{\"email\":\"t@t\",\"id\":1,\"counters\":{"
		     "\"up\":{\"packets\":1,\"bytes\":1,\"would_drop\":10},"
		     "\"down\":{\"packets\":1,\"bytes\":1,\"would_drop\":0}}}");
	sample_users(&b, 2.0, "{\"email\":\"t@t\",\"id\":1,\"counters\":{"
		     "\"up\":{\"packets\":1,\"bytes\":1,\"would_drop\":25},"
		     "\"down\":{\"packets\":1,\"bytes\":1,\"would_drop\":0}}}");
	assert_int_equal(top_view_build(&v, &a, &b), 0);
	assert_true(v.row[0].drops[TOP_UP] == 15);
	top_view_clear(&v);
	top_sample_clear(&a);
	top_sample_clear(&b);
}

static void
expect_order(struct top_view *v, enum top_sort sort, const char *want)
{
	char got[256] = "";

	top_view_sort(v, sort);
	for (size_t i = 0; i < v->n_row; i++) {
		strcat(got, i ? " " : "");
		strcat(got, v->row[i].user->email);
	}
	assert_string_equal(got, want);
}

static void
test_sort(void **state)
{
	struct top_sample a = { .uptime = -1 }, b = { .uptime = -1 };
	struct top_view v;

	(void)state;
	/* Counters are the same both ways in USER(); edit b's by hand below. */
	sample_users(&a, 0.0,
		     USER("a@t", 1, 1, 1, 1, 0, 0, 0) "," USER("b@t", 2, 1, 1, 5, 0, 0, 0) ","
		     USER("c@t", 3, 1, 1, 3, 0, 0, 0) "," USER("d@t", 4, 1, 1, 3, 0, 0, 0));
	sample_users(&b, 1.0,
		     USER("a@t", 1, 1, 1, 1, 100, 3000, 50) "," USER("b@t", 2, 1, 1, 5, 100, 2000, 1) ","
		     USER("c@t", 3, 1, 1, 3, 100, 1000, 7) "," USER("d@t", 4, 1, 1, 3, 0, 0, 0));
	/* b@t: much more down than up. */
	b.user[1].bytes[TOP_DOWN] = 10000;
	assert_int_equal(top_view_build(&v, &a, &b), 0);
	expect_order(&v, TOP_SORT_RATE, "b@t a@t c@t d@t");
	expect_order(&v, TOP_SORT_UP, "a@t b@t c@t d@t");
	expect_order(&v, TOP_SORT_DOWN, "b@t a@t c@t d@t");
	expect_order(&v, TOP_SORT_DROPS, "a@t c@t b@t d@t");
	/* Ties go alphabetically. */
	expect_order(&v, TOP_SORT_FLOWS, "b@t c@t d@t a@t");
	expect_order(&v, TOP_SORT_EMAIL, "a@t b@t c@t d@t");
	top_view_clear(&v);
	top_sample_clear(&a);
	top_sample_clear(&b);
}

struct screen {
	char line[64][512];
	enum top_line kind[64];
	size_t n;
};

static void
collect(void *ctx, enum top_line kind, const char *text)
{
	struct screen *s = ctx;

	assert_true(s->n < 64);
	snprintf(s->line[s->n], sizeof(s->line[0]), "%s", text);
	s->kind[s->n++] = kind;
}

static size_t
cols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void
test_render(void **state)
{
	struct top_sample a = { .uptime = -1 }, b = { .uptime = -1 };
	struct top_view v;
	struct top_render r = { .target = "/run/lc.sock", .interval = 1,
				.sort = TOP_SORT_RATE, .max_rows = 2 };
	struct screen sc = { 0 };

	(void)state;
	sample_users(&a, 0.0, USER("alice@example.com", 1, 10000000, 2500000, 2, 0, 0, 0) ","
			      USER("bob@t", 2, 1000000000, 500000, 0, 0, 0, 0) ","
			      USER("\xc3\xa9lodie.tr\xc3\xa8s.long@example.com", 3, 1, 1, 0, 0, 0, 0));
	sample_stats(&a, 3700, 0, 0);
	sample_users(&b, 1.0, USER("alice@example.com", 1, 10000000, 2500000, 2, 1000, 1225000, 20) ","
			      USER("bob@t", 2, 1000000000, 500000, 0, 0, 0, 0) ","
			      USER("\xc3\xa9lodie.tr\xc3\xa8s.long@example.com", 4, 1, 1, 0, 5, 5, 0));
	sample_stats(&b, 3701, 1000, 0);
	assert_int_equal(top_view_build(&v, &a, &b), 0);
	top_view_sort(&v, TOP_SORT_RATE);
	top_view_render(&v, &r, collect, &sc);

	assert_int_equal(sc.kind[0], TOP_LINE_TITLE);
	assert_string_equal(sc.line[0], "linecapctl top  inline present  uptime 1h01m  "
			    "every 1s  sort rate  /run/lc.sock");
	assert_non_null(strstr(sc.line[1], "PORT"));
	assert_non_null(strstr(sc.line[2], "client"));
	assert_non_null(strstr(sc.line[3], "server"));
	assert_non_null(strstr(sc.line[4], "users 3  flows 2  up 9.8M  down 9.8M"));
	assert_string_equal(sc.line[5], "");
	assert_int_equal(sc.kind[6], TOP_LINE_HEADER);
	/* 9.8 Mbit/s of 10, 20 drops a second; the other two by name, bob first. */
	assert_int_equal(sc.kind[7], TOP_LINE_ROW);
	assert_non_null(strstr(sc.line[7], "alice@example.com"));
	assert_non_null(strstr(sc.line[7], " 9.8M/10M "));
	assert_non_null(strstr(sc.line[7], " 9.8M/2.5M "));
	assert_non_null(strstr(sc.line[7], " 20 "));
	assert_non_null(strstr(sc.line[8], "bob@t"));
	assert_non_null(strstr(sc.line[8], " 0/1G "));
	assert_non_null(strstr(sc.line[8], " 0/500k "));
	assert_int_equal(sc.n, 9); /* max_rows: 2 */

	/* Narrow: every line fits; the flows and drops go, the emails are cut. */
	memset(&sc, 0, sizeof(sc));
	r.width = 40;
	r.max_rows = 10;
	r.message = "linecapd at /run/lc.sock closed the connection; retrying every 1s";
	r.help = true;
	top_view_sort(&v, TOP_SORT_EMAIL);
	top_view_render(&v, &r, collect, &sc);
	for (size_t i = 0; i < sc.n; i++) {
		assert_true(cols(sc.line[i]) <= 40);
		assert_null(strstr(sc.line[i], "FLOWS"));
		assert_null(strstr(sc.line[i], "DROP/S"));
	}
	assert_int_equal(cols(sc.line[6]), 40); /* the header bar */
	assert_int_equal(sc.kind[5], TOP_LINE_MESSAGE);
	assert_int_equal(sc.kind[sc.n - 1], TOP_LINE_HELP);
	/* The UTF-8 email, cut to its cell: "-" for a user made again. */
	assert_non_null(strstr(sc.line[9], "\xc3\xa9lodie.tr\xc3\xa8s.l~"));
	assert_non_null(strstr(sc.line[9], "-/1"));
	assert_int_equal(top_view_rows_for(40, true), 32);
	assert_int_equal(top_view_rows_for(5, false), 0);
	top_view_clear(&v);

	/* Nothing read yet: the title and the message. */
	memset(&sc, 0, sizeof(sc));
	r.help = false;
	top_view_render(&v, &r, collect, &sc);
	assert_int_equal(sc.n, 2);
	assert_int_equal(sc.kind[1], TOP_LINE_MESSAGE);
	top_sample_clear(&a);
	top_sample_clear(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_si),
		cmocka_unit_test(test_sort_names),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_users_come_and_go),
		cmocka_unit_test(test_error_replies),
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests_name("top", tests, NULL, NULL);
}
