/* SPDX-License-Identifier: MIT */
/* The limits of `user set`: up=RATE, down=RATE, burst=SIZE. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_rate.h"
#include "lc_user.h"

/* "BYTES", "64kb", "1mb": a burst size as tc writes it. */
static int
parse_size(const char *text, uint64_t *bytes)
{
	char *end;
	unsigned long long v;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	v = strtoull(text, &end, 10);
	if (strcmp(end, "") == 0 || strcmp(end, "b") == 0)
		;
	else if (strcmp(end, "k") == 0 || strcmp(end, "kb") == 0)
		v *= 1024;
	else if (strcmp(end, "m") == 0 || strcmp(end, "mb") == 0)
		v *= 1024 * 1024;
	else
		return -EINVAL;
	if (v == 0 || v > (1ULL << 32))
		return -ERANGE;
	*bytes = v;
	return 0;
}


int
lc_user_parse_limits(int argc, char **argv, struct lc_user_limits *lim,
		     char *err, size_t errlen)
{
	struct lc_user_limits l = { 0 };

	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		const char *val = eq ? eq + 1 : "";
		size_t klen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		uint64_t v;

		if ((klen == 2 && strncmp(argv[i], "up", 2) == 0) ||
		    (klen == 4 && strncmp(argv[i], "down", 4) == 0)) {
			if (lc_rate_parse(val, &v) != 0 || v == 0) {
				snprintf(err, errlen, "bad rate '%s' (e.g. 500kbit, "
					 "10mbit, 1gbit)", val);
				return -EINVAL;
			}
			if (klen == 2) {
				l.up = v;
				l.fields |= LC_USER_LIMIT_UP;
			} else {
				l.down = v;
				l.fields |= LC_USER_LIMIT_DOWN;
			}
		} else if ((klen == 5 && strncmp(argv[i], "burst", 5) == 0) ||
			   (klen == 8 && strncmp(argv[i], "burst_up", 8) == 0) ||
			   (klen == 10 && strncmp(argv[i], "burst_down", 10) == 0)) {
			if (parse_size(val, &v) != 0) {
				snprintf(err, errlen, "bad burst '%s' (bytes, e.g. "
					 "64kb or 1mb)", val);
				return -EINVAL;
			}
			if (klen != 10) {
				l.burst_up = v;
				l.fields |= LC_USER_LIMIT_BURST_UP;
			}
			if (klen != 8) {
				l.burst_down = v;
				l.fields |= LC_USER_LIMIT_BURST_DOWN;
			}
		} else {
			snprintf(err, errlen, "unknown argument '%s' (up=RATE, "
				 "down=RATE, burst=SIZE)", argv[i]);
			return -EINVAL;
		}
	}
	*lim = l;
	return 0;
}
