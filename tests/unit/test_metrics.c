/* SPDX-License-Identifier: MIT */
/*
 * linecapd's Prometheus text (app/linecapd/metrics_text.c): escaping of
 * label values and HELP text, whole lines or none, names.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "metrics_text.h"

static void
test_escape(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(metrics_text_escape("plain@example.com", out, sizeof(out)), 17);
	assert_string_equal(out, "plain@example.com");
	assert_int_equal(metrics_text_escape("a\\b\"c\nd", out, sizeof(out)), 10);
	assert_string_equal(out, "a\\\\b\\\"c\\nd");
	/* UTF-8 and other bytes pass as they are. */
	metrics_text_escape("j\xc3\xb6rg@b\xc3\xa4r.de\t", out, sizeof(out));
	assert_string_equal(out, "j\xc3\xb6rg@b\xc3\xa4r.de\t");
	/* Cut short: the full length is returned, and no escape is left half. */
	assert_int_equal(metrics_text_escape("ab\"", out, 4), 4);
	assert_string_equal(out, "ab");
	assert_int_equal(metrics_text_escape("\\\\", out, 4), 4);
	assert_string_equal(out, "\\\\");
	assert_int_equal(metrics_text_escape("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void
test_samples(void **state)
{
	char buf[1024];
	struct metrics_text t;
	const struct metrics_label l[] = {
		{ "user", "o\"hara\\\n@example.com" },
		{ "direction", "down" },
	};

	(void)state;
	metrics_text_init(&t, buf, sizeof(buf));
	assert_int_equal(metrics_text_family(&t, "linecap_user_bytes_total", "counter",
					     "Bytes of a user's frames.\nBy direction \\ "
					     "\"up\" or \"down\"."), 0);
	assert_int_equal(metrics_text_u64(&t, "linecap_user_bytes_total", l, 2,
					  UINT64_MAX), 0);
	assert_int_equal(metrics_text_u64(&t, "linecap_users_capacity", NULL, 0, 4096), 0);
	assert_int_equal(metrics_text_double(&t, "linecap_ratio", NULL, 0, 0.25), 0);
	assert_int_equal(metrics_text_double(&t, "linecap_ratio", l + 1, 1, NAN), 0);
	assert_int_equal(metrics_text_double(&t, "linecap_ratio", NULL, 0, INFINITY), 0);
	assert_int_equal(metrics_text_double(&t, "linecap_ratio", NULL, 0, -INFINITY), 0);
	assert_string_equal(buf,
		"# HELP linecap_user_bytes_total Bytes of a user's frames.\\nBy "
		"direction \\\\ \"up\" or \"down\".\n"
		"# TYPE linecap_user_bytes_total counter\n"
		"linecap_user_bytes_total{user=\"o\\\"hara\\\\\\n@example.com\","
		"direction=\"down\"} 18446744073709551615\n"
		"linecap_users_capacity 4096\n"
		"linecap_ratio 0.25\n"
		"linecap_ratio{direction=\"down\"} NaN\n"
		"linecap_ratio +Inf\n"
		"linecap_ratio -Inf\n");
	assert_int_equal(t.len, strlen(buf));
	assert_false(t.full);
}

/* A line that does not fit is left out whole; what was there stays. */
static void
test_full(void **state)
{
	char buf[48];
	struct metrics_text t;
	const struct metrics_label l = { "user", "someone@example.com" };

	(void)state;
	metrics_text_init(&t, buf, sizeof(buf));
	assert_int_equal(metrics_text_u64(&t, "linecap_a", NULL, 0, 1), 0);
	assert_int_equal(metrics_text_u64(&t, "linecap_user_flows", &l, 1, 7), -ENOSPC);
	assert_true(t.full);
	assert_string_equal(buf, "linecap_a 1\n");
	assert_int_equal(t.len, 12);
	assert_int_equal(metrics_text_family(&t, "linecap_user_flows", "gauge",
					     "Flows bound to the user now."), -ENOSPC);
	assert_string_equal(buf, "linecap_a 1\n");
	/* Exactly full: len + NUL = cap. */
	metrics_text_init(&t, buf, 13);
	assert_int_equal(metrics_text_u64(&t, "linecap_a", NULL, 0, 1), 0);
	assert_int_equal(metrics_text_room(&t), 1);
	assert_int_equal(metrics_text_u64(&t, "b", NULL, 0, 1), -ENOSPC);
	assert_string_equal(buf, "linecap_a 1\n");
}

/* The longest user line linecap writes fits METRICS_LINE_MAX. */
static void
test_longest_line(void **state)
{
	static char buf[4 * METRICS_LINE_MAX];
	char email[256];
	struct metrics_text t;

	(void)state;
	memset(email, '"', 255);
	email[255] = '\0';
	const struct metrics_label l[] = { { "user", email }, { "direction", "down" } };

	metrics_text_init(&t, buf, sizeof(buf));
	assert_int_equal(metrics_text_double(&t, "linecap_user_limit_bits_per_second",
					     l, 2, -1.2345678901234567e-300), 0);
	assert_true(t.len < METRICS_LINE_MAX);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(metrics_name_valid("linecap_user_bytes_total", false));
	assert_true(metrics_name_valid("a:b_C9", false));
	assert_true(metrics_name_valid("_x", true));
	assert_false(metrics_name_valid("a:b", true));
	assert_false(metrics_name_valid("9a", false));
	assert_false(metrics_name_valid("", false));
	assert_false(metrics_name_valid("a-b", false));
	assert_false(metrics_name_valid("a b", false));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_longest_line),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
