/* SPDX-License-Identifier: MIT */
/* The email rule: see lc_email.h. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lc_email.h"
#include "lc_utf8.h"

/*
 * Code points that are valid UTF-8 but have no place in an email: they are
 * invisible or break words, so two emails that print alike could be two
 * users, or one email could split into two words of a management command.
 * The set is the C1 controls, every Unicode White_Space character above
 * ASCII (and U+180E, a space before Unicode 6.3), every
 * Default_Ignorable_Code_Point (zero-width characters, joiners, bidi marks,
 * variation selectors, fillers, tags: DerivedCoreProperties.txt), the
 * interlinear annotation characters U+FFF9..U+FFFB and every noncharacter.
 *
 * Generated from the Unicode 15.0 Character Database (Debian's unicode-data
 * package, /usr/share/unicode) by lib/email/excluded_gen.py, with adjacent
 * ranges merged; the build does not need the database. Sorted, disjoint,
 * inclusive. ASCII is handled by the caller.
 */
static const struct {
	uint32_t first, last;
} excluded[] = {
	{ 0x0080, 0x00a0 },
	{ 0x00ad, 0x00ad },
	{ 0x034f, 0x034f },
	{ 0x061c, 0x061c },
	{ 0x115f, 0x1160 },
	{ 0x1680, 0x1680 },
	{ 0x17b4, 0x17b5 },
	{ 0x180b, 0x180f },
	{ 0x2000, 0x200f },
	{ 0x2028, 0x202f },
	{ 0x205f, 0x206f },
	{ 0x3000, 0x3000 },
	{ 0x3164, 0x3164 },
	{ 0xfdd0, 0xfdef },
	{ 0xfe00, 0xfe0f },
	{ 0xfeff, 0xfeff },
	{ 0xffa0, 0xffa0 },
	{ 0xfff0, 0xfffb },
	{ 0xfffe, 0xffff },
	{ 0x1bca0, 0x1bca3 },
	{ 0x1d173, 0x1d17a },
	{ 0x1fffe, 0x1ffff },
	{ 0x2fffe, 0x2ffff },
	{ 0x3fffe, 0x3ffff },
	{ 0x4fffe, 0x4ffff },
	{ 0x5fffe, 0x5ffff },
	{ 0x6fffe, 0x6ffff },
	{ 0x7fffe, 0x7ffff },
	{ 0x8fffe, 0x8ffff },
	{ 0x9fffe, 0x9ffff },
	{ 0xafffe, 0xaffff },
	{ 0xbfffe, 0xbffff },
	{ 0xcfffe, 0xcffff },
	{ 0xdfffe, 0xe0fff },
	{ 0xefffe, 0xeffff },
	{ 0xffffe, 0xfffff },
	{ 0x10fffe, 0x10ffff },
};

static bool
code_point_excluded(uint32_t c)
{
	size_t lo = 0, hi = sizeof(excluded) / sizeof(excluded[0]);

	/* Binary search for the last range that starts at or before c. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (excluded[mid].first <= c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && c <= excluded[lo - 1].last;
}

static enum lc_email_fault
excluded_fault(uint32_t c)
{
	if (c <= 0x9f)
		return LC_EMAIL_CONTROL;
	if ((c & 0xfffe) == 0xfffe || (c >= 0xfdd0 && c <= 0xfdef))
		return LC_EMAIL_NONCHAR;
	if (c == 0x00a0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
	    c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
	    c == 0x3000)
		return LC_EMAIL_SPACE;
	return LC_EMAIL_INVISIBLE;
}

enum lc_email_fault
lc_email_check(const char *s, size_t len, size_t *at, uint32_t *cp)
{
	const uint8_t *p = (const uint8_t *)s, *start = p;
	const uint8_t *end;

	if (s == NULL || len == 0)
		return LC_EMAIL_EMPTY;
	if (len > LC_EMAIL_MAX)
		return LC_EMAIL_TOO_LONG;
	end = p + len;
	while (p < end) {
		uint32_t c = *p;
		size_t n;

		if (at != NULL)
			*at = (size_t)(p - start);
		if (cp != NULL)
			*cp = c;
		if (c < 0x80) {
			/* C0 controls, the space and DEL. */
			if (c < 0x20 || c == 0x7f)
				return LC_EMAIL_CONTROL;
			if (c == 0x20)
				return LC_EMAIL_SPACE;
			p++;
			continue;
		}
		n = lc_utf8_decode(p, (size_t)(end - p), &c);
		if (n == 0)
			return LC_EMAIL_BAD_UTF8;
		if (cp != NULL)
			*cp = c;
		if (code_point_excluded(c))
			return excluded_fault(c);
		p += n;
	}
	return LC_EMAIL_OK;
}

bool
lc_email_valid(const char *s, size_t len)
{
	return lc_email_check(s, len, NULL, NULL) == LC_EMAIL_OK;
}

const char *
lc_email_fault_text(enum lc_email_fault fault)
{
	switch (fault) {
	case LC_EMAIL_OK: return "no fault";
	case LC_EMAIL_EMPTY: return "empty";
	case LC_EMAIL_TOO_LONG: return "longer than 255 bytes";
	case LC_EMAIL_BAD_UTF8: return "not valid UTF-8";
	case LC_EMAIL_CONTROL: return "a control character";
	case LC_EMAIL_SPACE: return "white space";
	case LC_EMAIL_INVISIBLE: return "an invisible (default-ignorable or "
		"format) character";
	case LC_EMAIL_NONCHAR: return "a noncharacter";
	}
	return "?";
}

size_t
lc_email_cut(const char *s, size_t len, size_t max)
{
	return len <= max ? len : lc_utf8_whole(s, max);
}
