/* SPDX-License-Identifier: MIT */
/*
 * Numbers as operators write them: the one checked parser of each kind for
 * every integer linecap reads from its config file, its users file and its
 * management commands (rates have their own, lc_rate.h).
 *
 * Each parser takes the range of its destination and refuses, rather than
 * wraps, truncates or clamps, anything outside it: an empty string, a sign
 * (strtoul would take "-1" as 2^64 - 1), leading or trailing junk, a
 * number above 2^64 - 1, and a unit product that overflows. The caller
 * gives the range of the field the value goes into, so a 64-bit parse is
 * never stored into a narrower field unchecked.
 *
 * Header-only, with no dependency, so that every block can use the same
 * code (lib/mgmt links no other block).
 */
#ifndef LC_NUM_H
#define LC_NUM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

/*
 * Parse the digits of text[0..] in base (8 or 10) up to the first
 * non-digit into *v, checking overflow. Returns the number of digits, or -1
 * when the value is above UINT64_MAX (then *end is still set past the
 * digits).
 */
static inline int
lc_num_digits(const char *text, unsigned base, uint64_t *v, const char **end)
{
	uint64_t x = 0;
	int n = 0;
	bool over = false;

	for (; *text >= '0' && *text < (char)('0' + base); text++, n++) {
		if (__builtin_mul_overflow(x, (uint64_t)base, &x) ||
		    __builtin_add_overflow(x, (uint64_t)(*text - '0'), &x))
			over = true;
	}
	*v = x;
	*end = text;
	return over ? -1 : n;
}

/*
 * A whole string that is a number in base 10 (or 8), within [min, max].
 * Returns 0, -EINVAL (empty, not only digits: a sign, a space, a suffix)
 * or -ERANGE (a number outside [min, max], however large). *out is
 * written only on success.
 */
static inline int
lc_num_parse_base(const char *text, unsigned base, uint64_t min, uint64_t max,
		  uint64_t *out)
{
	const char *end;
	uint64_t v;
	int n;

	if (text == NULL)
		return -EINVAL;
	n = lc_num_digits(text, base, &v, &end);
	if (n == 0 || *end != '\0')
		return -EINVAL;
	if (n < 0 || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static inline int
lc_num_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	return lc_num_parse_base(text, 10, min, max, out);
}

/*
 * A size in bytes, within [min, max]: a decimal number with an optional
 * unit, b (bytes), k or kb (1024), m or mb (1024^2), g or gb (1024^3), in
 * either case. The product is checked for overflow, so
 * "17592186044417m" is out of range, not 1 MiB. Returns as
 * lc_num_parse_base().
 */
static inline int
lc_num_parse_size(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t bytes;
	} units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", UINT64_C(1) << 10 }, { "kb", UINT64_C(1) << 10 },
		{ "m", UINT64_C(1) << 20 }, { "mb", UINT64_C(1) << 20 },
		{ "g", UINT64_C(1) << 30 }, { "gb", UINT64_C(1) << 30 },
	};
	const char *end;
	uint64_t v, bytes;
	int n;

	if (text == NULL)
		return -EINVAL;
	n = lc_num_digits(text, 10, &v, &end);
	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].unit) != 0)
			continue;
		if (n < 0 || __builtin_mul_overflow(v, units[i].bytes, &bytes) ||
		    bytes < min || bytes > max)
			return -ERANGE;
		*out = bytes;
		return 0;
	}
	return -EINVAL;
}

#endif /* LC_NUM_H */
