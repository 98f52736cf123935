/* SPDX-License-Identifier: MIT */
/*
 * Xray access-log line parser.
 *
 * linecap-xray calls lc_xraylog_parse_line() once for every line it reads
 * from the Xray (or v2ray) access log, to learn which user (the `email:`
 * field) owns which client endpoint. Every accepted line with an email
 * becomes an assignment; every other line is skipped with a reason that the
 * follower counts. The parser is a pure function over a byte buffer: it does
 * no I/O, allocates nothing, touches no global state and never reads past
 * len, so it can be unit-tested and fuzzed on its own. The formats it reads,
 * one per Xray/v2ray generation, are listed in docs/XRAY.md.
 */
#ifndef LC_XRAYLOG_H
#define LC_XRAYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lc_email.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Longest line the parser looks at, without its line ending. Xray's own
 * access lines are a few hundred bytes at most (an email is at most 255
 * bytes, a host name at most 255); anything longer is not one of them.
 */
#define LC_XRAYLOG_LINE_MAX 8192

/* Longest email, in bytes (the user-registry rule of linecapd). */
#define LC_XRAYLOG_EMAIL_MAX LC_EMAIL_MAX

/* Room for the text of an IPv6 address with its NUL (INET6_ADDRSTRLEN). */
#define LC_XRAYLOG_IP_TEXT_MAX 46

/*
 * What to do with a line. LC_XRAYLOG_ASSIGN is the only outcome that becomes
 * an assignment; every other value is a reason to skip the line, counted
 * under the name lc_xraylog_result_name() gives it.
 */
enum lc_xraylog_result {
	LC_XRAYLOG_ASSIGN = 0,  /* accepted, client IP:port and email known */
	LC_XRAYLOG_EMPTY,       /* blank line */
	LC_XRAYLOG_NOT_ACCESS,  /* text that is not an access line (error log,
				 * DNS log, start-up banner) */
	LC_XRAYLOG_MALFORMED,   /* an access line that breaks the grammar
				 * (truncated, bad time), or binary junk */
	LC_XRAYLOG_TOO_LONG,    /* longer than LC_XRAYLOG_LINE_MAX */
	LC_XRAYLOG_REJECTED,    /* status is `rejected` */
	LC_XRAYLOG_DNS_SOURCE,  /* source is `DNS`: Xray's own resolver */
	LC_XRAYLOG_MASKED,      /* source address masked by log.maskAddress */
	LC_XRAYLOG_BAD_IP,      /* source is not an IPv4 or IPv6 address */
	LC_XRAYLOG_BAD_PORT,    /* source port missing or over 65535 */
	LC_XRAYLOG_PORT_ZERO,   /* port 0: address from X-Forwarded-For */
	LC_XRAYLOG_NO_EMAIL,    /* accepted, but no `email:` field */
	LC_XRAYLOG_BAD_EMAIL,   /* email empty, too long, not UTF-8, or with
				 * characters the user registry refuses */
	LC_XRAYLOG_RESULT_MAX
};

/* Network prefix written before an address, `tcp:` or `udp:`. */
enum lc_xraylog_proto {
	LC_XRAYLOG_PROTO_NONE = 0,
	LC_XRAYLOG_PROTO_TCP = 1,
	LC_XRAYLOG_PROTO_UDP = 2,
};

enum lc_xraylog_status {
	LC_XRAYLOG_STATUS_NONE = 0,
	LC_XRAYLOG_STATUS_ACCEPTED = 1,
	LC_XRAYLOG_STATUS_REJECTED = 2,
};

/* A piece of the parsed line: it points into the caller's buffer. */
struct lc_xraylog_span {
	const char *ptr; /* NULL when absent */
	uint32_t len;
};

/*
 * Everything the parser learned from one line. Fields after the first one
 * that failed are left zero (spans NULL, strings empty). The spans point into
 * the line and live as long as it does; the client address and the email are
 * copied, because the follower keeps them after the line is gone.
 */
struct lc_xraylog_entry {
	/* Time of the line: the node's local time, as written. */
	uint16_t year;
	uint8_t month, day, hour, minute, second;
	bool has_usec;          /* the time had a fraction (.ffffff) */
	uint32_t usec;          /* microseconds, 0 when none */
	int64_t time_civil;     /* seconds since 1970-01-01 00:00:00 counting
				 * the local time as if it were UTC */

	bool has_from;          /* the word `from` came before the source */
	uint8_t src_proto;      /* enum lc_xraylog_proto */
	uint8_t status;         /* enum lc_xraylog_status */

	/*
	 * The client: family is 4 or 6 (0 when unknown). The address is 16
	 * bytes in network byte order, an IPv4 address stored IPv4-mapped
	 * (::ffff:a.b.c.d) like the frame parser stores it. An IPv4-mapped
	 * IPv6 source is reported as IPv4, since that is what is on the wire.
	 */
	uint8_t family;
	uint16_t client_port;
	uint8_t client_addr[16];
	char client_ip[LC_XRAYLOG_IP_TEXT_MAX]; /* normalised text, no brackets */

	struct lc_xraylog_span source;      /* the source as written */
	struct lc_xraylog_span destination; /* e.g. tcp:example.com:443 */
	uint8_t dst_proto;                  /* enum lc_xraylog_proto */
	struct lc_xraylog_span dst_host;    /* host without brackets */
	uint16_t dst_port;
	struct lc_xraylog_span detour;      /* text inside [ ], e.g. in >> out */
	struct lc_xraylog_span inbound;     /* tag before the arrow, if any */
	struct lc_xraylog_span outbound;    /* tag after the arrow, or alone */
	struct lc_xraylog_span reason;      /* free text after status/detour */

	uint16_t email_len;
	char email[LC_XRAYLOG_EMAIL_MAX + 1]; /* NUL-terminated */
};

/*
 * Parse one line of len bytes (a trailing "\n" or "\r\n" is allowed and
 * ignored; the line need not be NUL-terminated, and may contain NULs).
 * Fills *out, always clearing it first, and returns an enum lc_xraylog_result.
 */
int lc_xraylog_parse_line(const char *line, size_t len,
			  struct lc_xraylog_entry *out);

/*
 * Stable lower-case name of a result, e.g. "assign", "rejected", "port_zero",
 * used as a counter name. Never NULL: an unknown value gives "unknown".
 */
const char *lc_xraylog_result_name(int result);

/*
 * Check an email by the rules of linecapd's user registry: the one rule of
 * lib/email (lc_email_valid()), which linecapd applies too. Returns true
 * when the email may be sent.
 */
static inline bool
lc_xraylog_email_valid(const char *email, size_t len)
{
	return lc_email_valid(email, len);
}

/*
 * Write "IP:PORT" or "[IPv6]:PORT" for the entry's client into buf (of size
 * len, NUL-terminated). Returns the length written, or -1 when it does not
 * fit or the entry has no client.
 */
int lc_xraylog_format_endpoint(const struct lc_xraylog_entry *e, char *buf,
			       size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LC_XRAYLOG_H */
