/* SPDX-License-Identifier: MIT */
/*
 * lib/text: the one UTF-8 decoder and the cut that keeps a text whole,
 * checked against every kind of sequence and every cut point.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lc_utf8.h"

static size_t
decode(const char *s, size_t n, uint32_t *cp)
{
	*cp = 0xffffffff;
	return lc_utf8_decode((const uint8_t *)s, n, cp);
}

static void
test_decode_valid(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		uint32_t cp;
	} ok[] = {
		{ "\x00", 1, 0 }, { "a", 1, 'a' }, { "\x7f", 1, 0x7f },
		{ "\xc2\x80", 2, 0x80 }, { "\xdf\xbf", 2, 0x7ff },
		{ "\xe0\xa0\x80", 3, 0x800 }, { "\xed\x9f\xbf", 3, 0xd7ff },
		{ "\xee\x80\x80", 3, 0xe000 }, { "\xef\xbf\xbf", 3, 0xffff },
		{ "\xf0\x90\x80\x80", 4, 0x10000 }, { "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
	};
	uint32_t cp;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(decode(ok[i].s, ok[i].len, &cp), ok[i].len);
		assert_int_equal(cp, ok[i].cp);
		/* Every shorter view of a multibyte character is refused. */
		for (size_t n = 1; n < ok[i].len; n++)
			assert_int_equal(decode(ok[i].s, n, &cp), 0);
	}
}

static void
test_decode_invalid(void **state)
{
	static const char *const bad[] = {
		"\x80", "\xbf",                 /* continuation without a lead */
		"\xc0\x80", "\xc1\xbf",         /* overlong 2-byte leads */
		"\xe0\x9f\xbf",                 /* overlong 3 bytes */
		"\xf0\x8f\xbf\xbf",             /* overlong 4 bytes */
		"\xed\xa0\x80", "\xed\xbf\xbf", /* surrogates */
		"\xf4\x90\x80\x80",             /* above U+10FFFF */
		"\xf5\x80\x80\x80", "\xff",     /* leads that never start one */
		"\xc2\x41", "\xe2\x82\x41",     /* a continuation missing */
	};
	uint32_t cp;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(decode(bad[i], strlen(bad[i]), &cp), 0);
}

/* A text of 1- to 4-byte characters, cut at every length. */
static void
test_whole(void **state)
{
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e" "b";
	/* The whole prefix for each cut length 0..12. */
	static const size_t want[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11 };

	(void)state;
	for (size_t len = 0; len < sizeof(want) / sizeof(want[0]); len++)
		assert_int_equal(lc_utf8_whole(s, len), want[len]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_valid),
		cmocka_unit_test(test_decode_invalid),
		cmocka_unit_test(test_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
