/* SPDX-License-Identifier: MIT */
/* The email rule: see lc_email.h. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lc_email.h"

/*
 * Code points that are valid UTF-8 but have no place in an email: they are
 * invisible or break words, so two emails that print alike could be two
 * users, or one email could split into two words of a management command.
 * The list is the C1 controls, every Unicode White_Space character, the
 * invisible format characters that matter in practice and the
 * noncharacters. ASCII is handled by the caller.
 */
static bool
code_point_excluded(uint32_t c)
{
	if (c <= 0x9f)                  /* C1 controls (U+0085 NEL among them) */
		return true;
	switch (c) {
	case 0x00a0:                    /* no-break space */
	case 0x00ad:                    /* soft hyphen: invisible */
	case 0x061c:                    /* Arabic letter mark */
	case 0x1680:                    /* Ogham space mark */
	case 0x180e:                    /* Mongolian vowel separator */
	case 0x3000:                    /* ideographic space */
	case 0xfeff:                    /* BOM, zero-width no-break space */
		return true;
	}
	if (c >= 0x2000 && c <= 0x200f) /* spaces, ZWSP, ZWNJ, ZWJ, LRM, RLM */
		return true;
	if (c >= 0x2028 && c <= 0x202f) /* line/paragraph separators, bidi
					   embeddings and overrides, NNBSP */
		return true;
	if (c >= 0x205f && c <= 0x206f) /* medium space, word joiner, invisible
					   operators, bidi isolates */
		return true;
	if (c >= 0xfff9 && c <= 0xfffb) /* interlinear annotation */
		return true;
	if (c >= 0xfdd0 && c <= 0xfdef) /* noncharacters */
		return true;
	if ((c & 0xfffe) == 0xfffe)     /* U+xxFFFE and U+xxFFFF */
		return true;
	return false;
}

bool
lc_email_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	const uint8_t *end;

	if (s == NULL || len == 0 || len > LC_EMAIL_MAX)
		return false;
	end = p + len;
	while (p < end) {
		uint32_t c = *p, min;
		size_t more;

		if (c < 0x80) {
			/* C0 controls, the space and DEL. */
			if (c <= 0x20 || c == 0x7f)
				return false;
			p++;
			continue;
		}
		/*
		 * Lead bytes C0 and C1 could only start an overlong form and
		 * F5..FF a code point above U+10FFFF; 80..BF are continuation
		 * bytes without a lead.
		 */
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
			c &= 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			c &= 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			c &= 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if ((size_t)(end - p) <= more)
			return false;
		for (size_t i = 1; i <= more; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond Unicode. */
		if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
			return false;
		if (code_point_excluded(c))
			return false;
		p += more + 1;
	}
	return true;
}
