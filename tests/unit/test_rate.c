/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lc_rate.h"

static void
expect_rate(const char *text, uint64_t want)
{
	uint64_t got = 0;

	assert_int_equal(lc_rate_parse(text, &got), 0);
	assert_true(got == want);
}

static void
test_units(void **state)
{
	(void)state;
	expect_rate("12345", 12345);
	expect_rate("12345bit", 12345);
	expect_rate("500kbit", 500000);
	expect_rate("10mbit", 10000000);
	expect_rate("1gbit", 1000000000);
	expect_rate("2.5gbit", 2500000000ULL);
	expect_rate("1tbit", 1000000000000ULL);
	expect_rate("1mibit", 1048576);
	expect_rate("1kibit", 1024);
	expect_rate("1gibit", 1073741824ULL);
	expect_rate("1bps", 8);
	expect_rate("1mbps", 8000000);
	expect_rate("0", 0);
	expect_rate("10MBit", 10000000);
	expect_rate("0.1mbit", 100000);
	expect_rate("1.5bit", 2); /* rounds to the nearest bit/s */
	expect_rate("10000gbit", 10000000000000ULL);
}

static void
test_bad(void **state)
{
	static const char *const bad[] = {
		"", "mbit", "-1mbit", "1.mbit", ".5mbit", "1 mbit", "1mbit ",
		" 1mbit", "1mbitx", "1xbit", "1e6", "0x10", "1,5mbit", "1..5mbit",
		"1.2.3mbit", "abc", "1mbitmbit",
	};
	uint64_t v = 77;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lc_rate_parse(bad[i], &v), -EINVAL);
		assert_true(v == 77); /* untouched on error */
	}
	assert_int_equal(lc_rate_parse(NULL, &v), -EINVAL);
	assert_int_equal(lc_rate_parse("10001gbit", &v), -ERANGE);
	assert_int_equal(lc_rate_parse("99999999999999999999999", &v), -ERANGE);
	assert_int_equal(lc_rate_parse("1.0000000000001mbit", &v), -EINVAL);
}

/*
 * Products of the number and its unit that pass 2^64 or 2^128 are out of
 * range, never what is left after they wrap: 38685626227668133591.597632
 * tibps is mant = 2^85 + 10^6 at scale 10^6, and mant * 2^43 wrapped
 * 2^128 to exactly 2^43 bit/s, which was accepted.
 */
static void
test_overflow(void **state)
{
	static const char *const over[] = {
		"38685626227668133591.597632tibps",
		"38685626227668133590.597632tibps", /* wrapped to 0 */
		"99999999999999999999.999999999999tibps",
		"99999999999999999999tbps",
		"18446744073709551616", /* 2^64 */
		"18446744073709551617",
		"18446744073709551616tbit",
		"17592186044417tibps",
		"10000000000001",      /* LC_RATE_MAX + 1 */
		"1250000000001bps",
	};
	uint64_t v = 77;

	(void)state;
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		if (lc_rate_parse(over[i], &v) != -ERANGE)
			fail_msg("'%s' not out of range", over[i]);
		assert_true(v == 77);
	}
	expect_rate("10000000000000", LC_RATE_MAX);
	expect_rate("1250000000000bps", LC_RATE_MAX);
	expect_rate("4294967296", UINT64_C(4294967296));
}

static void
test_format(void **state)
{
	char buf[32];
	static const uint64_t values[] = {
		0, 1, 999, 1000, 500000, 10000000, 2500000000ULL, 1000000000000ULL,
		12345, 1048576,
	};
	static const char *const texts[] = {
		"0bit", "1bit", "999bit", "1kbit", "500kbit", "10mbit", "2500mbit",
		"1tbit", "12345bit", "1048576bit",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint64_t back;

		assert_string_equal(lc_rate_format(values[i], buf, sizeof(buf)), texts[i]);
		/* Every formatted rate parses back to itself. */
		assert_int_equal(lc_rate_parse(buf, &back), 0);
		assert_true(back == values[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests_name("rate", tests, NULL, NULL);
}
