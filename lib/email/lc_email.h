/* SPDX-License-Identifier: MIT */
/*
 * The email rule of linecap: which byte strings may name a user.
 *
 * One small block with no dependency (not even DPDK), so that linecapd's user
 * registry (lib/user) and linecap-xray's log parser (lib/xraylog) apply the
 * very same rule: an email the follower sends is one linecapd accepts.
 * docs/USERS.md describes the rule.
 */
#ifndef LC_EMAIL_H
#define LC_EMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest email, in bytes of UTF-8. */
#define LC_EMAIL_MAX 255

/*
 * 1..LC_EMAIL_MAX bytes of valid UTF-8 (shortest form, no surrogates, nothing
 * above U+10FFFF) holding no control character (C0, DEL, C1), no white space
 * of any kind, no default-ignorable or other invisible format character
 * (zero-width spaces and joiners, bidi marks and overrides, variation
 * selectors, fillers, tags, BOM) and no noncharacter. White space is
 * excluded because the management protocol splits words on it; invisible
 * characters because two users who print the same must not be two users.
 * s need not be NUL-terminated; a NUL byte makes it invalid, and so does
 * s == NULL.
 */
bool lc_email_valid(const char *s, size_t len);

/* Why lc_email_check() refused an email. */
enum lc_email_fault {
	LC_EMAIL_OK = 0,
	LC_EMAIL_EMPTY,
	LC_EMAIL_TOO_LONG,   /* over LC_EMAIL_MAX bytes */
	LC_EMAIL_BAD_UTF8,   /* not shortest-form UTF-8 of a scalar value */
	LC_EMAIL_CONTROL,    /* C0, DEL, C1 or NUL */
	LC_EMAIL_SPACE,      /* a White_Space character */
	LC_EMAIL_INVISIBLE,  /* default-ignorable or invisible format */
	LC_EMAIL_NONCHAR,    /* a noncharacter */
};

/*
 * lc_email_valid(), saying why: the fault, and for every fault but EMPTY and
 * TOO_LONG the byte offset of the bad character in *at and, unless the
 * UTF-8 is bad, its code point in *cp (either pointer may be NULL).
 */
enum lc_email_fault lc_email_check(const char *s, size_t len, size_t *at,
				   uint32_t *cp);

/* A few words for a fault: "an invisible character", "white space". */
const char *lc_email_fault_text(enum lc_email_fault fault);

/*
 * The length of the longest prefix of s[0..len) of at most max bytes that
 * does not end inside a UTF-8 sequence: where a message that quotes
 * client text may cut it, so that the message stays valid UTF-8.
 */
size_t lc_email_cut(const char *s, size_t len, size_t max);

#ifdef __cplusplus
}
#endif

#endif /* LC_EMAIL_H */
