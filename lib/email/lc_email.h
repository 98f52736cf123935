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

#ifdef __cplusplus
extern "C" {
#endif

/* Longest email, in bytes of UTF-8. */
#define LC_EMAIL_MAX 255

/*
 * 1..LC_EMAIL_MAX bytes of valid UTF-8 (shortest form, no surrogates, nothing
 * above U+10FFFF) holding no control character (C0, DEL, C1), no white space
 * of any kind, no invisible format character (zero-width spaces and joiners,
 * bidi marks and overrides, BOM) and no noncharacter. White space is excluded
 * because the management protocol splits words on it; invisible characters
 * because two users who print the same must not be two users. s need not be
 * NUL-terminated; a NUL byte makes it invalid, and so does s == NULL.
 */
bool lc_email_valid(const char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LC_EMAIL_H */
