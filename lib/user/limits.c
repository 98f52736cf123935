/* SPDX-License-Identifier: MIT */
/*
 * The limits of `user set` (up=RATE, down=RATE, burst=SIZE, plan=NAME is
 * the caller's), the rate arguments `plan set` shares with it, and the
 * weight of `plan set`.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_num.h"
#include "lc_rate.h"
#include "lc_user.h"
#include "user_private.h"

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
user_parse_rate(const char *val, bool zero_ok, uint64_t *v, char *err,
		size_t errlen)
{
	const char *more;
	int rc = lc_rate_parse(val, v), n = quote_len(val, &more);

	if (rc == -ERANGE) {
		snprintf(err, errlen, "rate '%.*s%s' out of range: at most 10tbit",
			 n, val, more);
		return -ERANGE;
	}
	if (rc != 0 || (*v == 0 && !zero_ok)) {
		snprintf(err, errlen, "bad rate '%.*s%s' (e.g. 500kbit, 10mbit, "
			 "1gbit%s)", n, val, more, zero_ok ? ", or 0 for none" :
			 ", or default for the plan's or the default rate");
		return -EINVAL;
	}
	return 0;
}

int
user_parse_weight(const char *val, uint32_t *weight, char *err, size_t errlen)
{
	const char *more;
	uint64_t v;
	int rc = lc_num_parse_u64(val, 1, LC_PLAN_WEIGHT_MAX, &v);
	int n = quote_len(val, &more);

	if (rc == -ERANGE) {
		snprintf(err, errlen, "weight '%.*s%s' out of range: 1 to %u",
			 n, val, more, LC_PLAN_WEIGHT_MAX);
		return -ERANGE;
	}
	if (rc != 0) {
		snprintf(err, errlen, "bad weight '%.*s%s' (a whole number, 1 to "
			 "%u)", n, val, more, LC_PLAN_WEIGHT_MAX);
		return -EINVAL;
	}
	*weight = (uint32_t)v;
	return 0;
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
			uint32_t own = klen == 2 ? LC_USER_LIMIT_UP : LC_USER_LIMIT_DOWN;
			uint32_t dflt = klen == 2 ? LC_USER_LIMIT_UP_DEFAULT :
					LC_USER_LIMIT_DOWN_DEFAULT;

			/* The last one counts: a rate, or default. */
			if (eq != NULL && strcmp(val, "default") == 0) {
				l.fields = (l.fields & ~own) | dflt;
				continue;
			}
			rc = user_parse_rate(val, false, &v, err, errlen);
			if (rc != 0)
				return rc;
			if (klen == 2)
				l.up = v;
			else
				l.down = v;
			l.fields = (l.fields & ~dflt) | own;
		} else if ((klen == 5 && strncmp(argv[i], "burst", 5) == 0) ||
			   (klen == 8 && strncmp(argv[i], "burst_up", 8) == 0) ||
			   (klen == 10 && strncmp(argv[i], "burst_down", 10) == 0)) {
			/* default: the shaper's burst for the rate (0). */
			if (eq != NULL && strcmp(val, "default") == 0) {
				v = 0;
				rc = 0;
			} else {
				rc = lc_num_parse_size(val, 1, LC_USER_BURST_MAX, &v);
			}
			n = quote_len(val, &more);
			if (rc == -ERANGE) {
				snprintf(err, errlen, "burst '%.*s%s' out of range: 1 to "
					 "%" PRIu32 " bytes (4 GiB - 1)", n, val, more,
					 LC_USER_BURST_MAX);
				return -ERANGE;
			}
			if (rc != 0) {
				snprintf(err, errlen, "bad burst '%.*s%s' (bytes, e.g. "
					 "64kb or 1mb, or default)", n, val, more);
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
				 "down=RATE, burst=SIZE, plan=NAME)", n, argv[i], more);
			return -EINVAL;
		}
	}
	*lim = l;
	return 0;
}

int
lc_user_parse_set(const struct lc_user_registry *reg, int argc, char **argv,
		  struct lc_user_limits *lim, char *err, size_t errlen)
{
	char *rest[LC_USER_SET_ARGS_MAX];
	const struct lc_plan *p = NULL;
	const char *plan = NULL, *more;
	int n = 0, rc;

	if (argc > LC_USER_SET_ARGS_MAX) {
		snprintf(err, errlen, "too many arguments (at most %d)",
			 LC_USER_SET_ARGS_MAX);
		return -EINVAL;
	}
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "plan=", 5) == 0)
			plan = argv[i] + 5; /* the last one counts, as for rates */
		else
			rest[n++] = argv[i];
	}
	if (plan != NULL && strcmp(plan, "none") != 0) {
		p = lc_user_plan_find(reg, plan);
		if (p == NULL) {
			int len = quote_len(plan, &more);

			snprintf(err, errlen, "no plan '%.*s%s' (see 'plan list'; "
				 "plan=none for no plan)", len, plan, more);
			return -ENOENT;
		}
	}
	rc = lc_user_parse_limits(n, rest, lim, err, errlen);
	if (rc != 0 || plan == NULL)
		return rc;
	lim->fields |= LC_USER_LIMIT_PLAN;
	lim->plan = p != NULL ? p->id : 0;
	return 0;
}
