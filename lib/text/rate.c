/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lc_rate.h"

struct rate_unit {
	const char *suffix;
	uint64_t bits; /* bit/s for one of this unit */
};

/* tc's units. Longest suffixes first is not needed: matching is exact. */
static const struct rate_unit rate_units[] = {
	{ "", 1 },
	{ "bit", 1 },
	{ "kbit", 1000ULL },
	{ "mbit", 1000000ULL },
	{ "gbit", 1000000000ULL },
	{ "tbit", 1000000000000ULL },
	{ "kibit", 1024ULL },
	{ "mibit", 1024ULL * 1024 },
	{ "gibit", 1024ULL * 1024 * 1024 },
	{ "tibit", 1024ULL * 1024 * 1024 * 1024 },
	{ "bps", 8ULL },
	{ "kbps", 8000ULL },
	{ "mbps", 8000000ULL },
	{ "gbps", 8000000000ULL },
	{ "tbps", 8000000000000ULL },
	{ "kibps", 8ULL * 1024 },
	{ "mibps", 8ULL * 1024 * 1024 },
	{ "gibps", 8ULL * 1024 * 1024 * 1024 },
	{ "tibps", 8ULL * 1024 * 1024 * 1024 * 1024 },
};

int
lc_rate_parse(const char *text, uint64_t *bps)
{
	/*
	 * Exact decimal arithmetic: "2.5gbit" must be 2500000000, which a
	 * double would give, but "0.1mbit" would not be exact in binary.
	 */
	unsigned __int128 mant = 0, scale = 1;
	const char *p = text;
	int digits = 0, frac_digits = 0;

	if (text == NULL)
		return -EINVAL;
	while (isdigit((unsigned char)*p)) {
		if (digits++ >= 20)
			return -ERANGE;
		mant = mant * 10 + (unsigned)(*p++ - '0');
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (frac_digits++ >= 12)
				return -EINVAL;
			mant = mant * 10 + (unsigned)(*p++ - '0');
			scale *= 10;
		}
		if (frac_digits == 0)
			return -EINVAL;
	}
	if (digits == 0)
		return -EINVAL;

	for (size_t i = 0; i < sizeof(rate_units) / sizeof(rate_units[0]); i++) {
		if (strcasecmp(p, rate_units[i].suffix) != 0)
			continue;
		unsigned __int128 v;

		/*
		 * 32 digits times the largest unit can pass 2^128: a product
		 * that wrapped could land back within range.
		 */
		if (__builtin_mul_overflow(mant, (unsigned __int128)rate_units[i].bits, &v))
			return -ERANGE;
		/* Round to the nearest bit/s. */
		v = (v + scale / 2) / scale;
		if (v > LC_RATE_MAX)
			return -ERANGE;
		*bps = (uint64_t)v;
		return 0;
	}
	return -EINVAL;
}

char *
lc_rate_format(uint64_t bps, char *buf, size_t size)
{
	static const struct rate_unit fmt_units[] = {
		{ "tbit", 1000000000000ULL },
		{ "gbit", 1000000000ULL },
		{ "mbit", 1000000ULL },
		{ "kbit", 1000ULL },
	};

	for (size_t i = 0; i < sizeof(fmt_units) / sizeof(fmt_units[0]); i++) {
		if (bps != 0 && bps % fmt_units[i].bits == 0) {
			snprintf(buf, size, "%" PRIu64 "%s",
				 bps / fmt_units[i].bits, fmt_units[i].suffix);
			return buf;
		}
	}
	snprintf(buf, size, "%" PRIu64 "bit", bps);
	return buf;
}
