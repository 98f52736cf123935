/* SPDX-License-Identifier: MIT */
/*
 * UTF-8, once for all of linecap: the decoder that the email rule
 * (lib/email) and the management protocol's text check (lib/mgmt) walk
 * their input with, and the cut that keeps a shortened text whole. Header
 * only, plain C, no dependency, so that every block and program may use it.
 */
#ifndef LC_UTF8_H
#define LC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode the character at p, with n > 0 bytes left: its code point in *cp,
 * and its length in bytes; 0 when the bytes there are not valid UTF-8: a
 * continuation byte without a lead, lead bytes C0, C1 and F5..FF, a cut
 * sequence, an overlong form, a surrogate or a code point above U+10FFFF.
 */
static inline size_t
lc_utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint32_t c = p[0], min;
	size_t more;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
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
		return 0;
	}
	if (n <= more)
		return 0;
	for (size_t i = 1; i <= more; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return more + 1;
}

/*
 * The length of the longest prefix of s[0..len) that ends with a whole
 * character, for valid UTF-8 cut anywhere: len less a trailing sequence
 * that its lead says is longer than what is left.
 */
static inline size_t
lc_utf8_whole(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t lead = len;

	while (lead > 0 && len - lead < 4 && (p[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0 || p[lead - 1] < 0xc0)
		return len;
	size_t want = p[lead - 1] >= 0xf0 ? 4 : p[lead - 1] >= 0xe0 ? 3 : 2;

	return len - (lead - 1) < want ? lead - 1 : len;
}

#endif /* LC_UTF8_H */
