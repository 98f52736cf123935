/* SPDX-License-Identifier: MIT */
/* The limits of `user set`: up=RATE, down=RATE, burst=SIZE. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_num.h"
#include "lc_rate.h"
#include "lc_user.h"

/* Bytes of an argument quoted in a message: enough to recognise it. */
#define QUOTE_MAX 64

/*
 * The length of val to quote, cut at a UTF-8 character boundary so that
 * the message stays valid UTF-8 (a reply that is not would lose it), and
 * the "..." that says it was cut.
 */
static int
quote_len(const char *val, const char **more)
{
	size_t len = strlen(val), n = lc_email_cut(val, len, QUOTE_MAX);

	*more = n < len ? "..." : "";
	return (int)n;
}

int
lc_user_parse_limits(int argc, char **argv, struct lc_user_limits *lim,
		     char *err, size_t errlen)
{
	struct lc_user_limits l = { 0 };

	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		const char *val = eq ? eq + 1 : "", *more;
		size_t klen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		uint64_t v;
		int rc, n;

		if ((klen == 2 && strncmp(argv[i], "up", 2) == 0) ||
		    (klen == 4 && strncmp(argv[i], "down", 4) == 0)) {
			rc = lc_rate_parse(val, &v);
			n = quote_len(val, &more);
			if (rc == -ERANGE) {
				snprintf(err, errlen, "rate '%.*s%s' out of range: "
					 "at most 10tbit", n, val, more);
				return -ERANGE;
			}
			if (rc != 0 || v == 0) {
				snprintf(err, errlen, "bad rate '%.*s%s' (e.g. 500kbit, "
					 "10mbit, 1gbit)", n, val, more);
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
			rc = lc_num_parse_size(val, 1, LC_USER_BURST_MAX, &v);
			n = quote_len(val, &more);
			if (rc == -ERANGE) {
				snprintf(err, errlen, "burst '%.*s%s' out of range: 1 to "
					 "%" PRIu32 " bytes (4 GiB - 1)", n, val, more,
					 LC_USER_BURST_MAX);
				return -ERANGE;
			}
			if (rc != 0) {
				snprintf(err, errlen, "bad burst '%.*s%s' (bytes, e.g. "
					 "64kb or 1mb)", n, val, more);
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
			n = quote_len(argv[i], &more);
			snprintf(err, errlen, "unknown argument '%.*s%s' (up=RATE, "
				 "down=RATE, burst=SIZE)", n, argv[i], more);
			return -EINVAL;
		}
	}
	*lim = l;
	return 0;
}
