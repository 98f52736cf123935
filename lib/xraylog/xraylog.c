/* SPDX-License-Identifier: MIT */
/*
 * Xray access-log line parser: see lc_xraylog.h and docs/XRAY.md.
 *
 * The grammar, across every Xray and v2ray generation:
 *
 *   TIME [".ffffff"] " " ["from "] SOURCE " " STATUS " " DEST
 *        [" [" DETOUR "]"] [" " REASON] [" "]["email:" [" "] EMAIL] [" " ...]
 *
 * The parser walks the line once, left to right, with no regex and no copy
 * other than the client address and the email. It never reads past len: every
 * step takes the end pointer and checks it before looking at a byte.
 */
#include <arpa/inet.h>
#include <string.h>

#include "lc_xraylog.h"

static const char *const result_names[LC_XRAYLOG_RESULT_MAX] = {
	[LC_XRAYLOG_ASSIGN] = "assign",
	[LC_XRAYLOG_EMPTY] = "empty",
	[LC_XRAYLOG_NOT_ACCESS] = "not_access",
	[LC_XRAYLOG_MALFORMED] = "malformed",
	[LC_XRAYLOG_TOO_LONG] = "too_long",
	[LC_XRAYLOG_REJECTED] = "rejected",
	[LC_XRAYLOG_DNS_SOURCE] = "dns_source",
	[LC_XRAYLOG_MASKED] = "masked",
	[LC_XRAYLOG_BAD_IP] = "bad_ip",
	[LC_XRAYLOG_BAD_PORT] = "bad_port",
	[LC_XRAYLOG_PORT_ZERO] = "port_zero",
	[LC_XRAYLOG_NO_EMAIL] = "no_email",
	[LC_XRAYLOG_BAD_EMAIL] = "bad_email",
};

const char *
lc_xraylog_result_name(int result)
{
	if (result < 0 || result >= LC_XRAYLOG_RESULT_MAX)
		return "unknown";
	return result_names[result];
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Two or four decimal digits at p; -1 when any of them is not a digit. */
static int
digits(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int y, unsigned int m, unsigned int d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned int yoe = (unsigned int)(y - era * 400);
	const unsigned int mp = m > 2 ? m - 3 : m + 9;
	const unsigned int doy = (153 * mp + 2) / 5 + d - 1;
	const unsigned int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned int
days_in_month(int y, int m)
{
	static const unsigned char mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return 29;
	return mdays[m - 1];
}

enum time_shape {
	TIME_OK,
	TIME_ABSENT, /* the line does not start with a time at all */
	TIME_BAD,    /* it has the shape of one, but not a valid one */
};

/*
 * "YYYY/MM/DD HH:MM:SS" with an optional ".f" to ".fffffffff", the format
 * of Go's log package with Ldate|Ltime (and Lmicroseconds when present).
 */
static enum time_shape
parse_time(const char *p, const char *end, const char **next,
	   struct lc_xraylog_entry *e)
{
	if (end - p < 19 || p[4] != '/' || p[7] != '/' || p[10] != ' ' ||
	    p[13] != ':' || p[16] != ':')
		return TIME_ABSENT;

	const int y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
	const int h = digits(p + 11, 2), mi = digits(p + 14, 2);
	const int s = digits(p + 17, 2);

	if ((y | mo | d | h | mi | s) < 0)
		return TIME_ABSENT;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    (unsigned int)d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    s > 59)
		return TIME_BAD;

	e->year = (uint16_t)y;
	e->month = (uint8_t)mo;
	e->day = (uint8_t)d;
	e->hour = (uint8_t)h;
	e->minute = (uint8_t)mi;
	e->second = (uint8_t)s;
	e->time_civil = days_from_civil(y, mo, d) * 86400 + h * 3600 +
			mi * 60 + s;
	p += 19;

	if (p < end && *p == '.') {
		uint32_t frac = 0;
		int n = 0;

		p++;
		while (p < end && is_digit(*p)) {
			if (++n > 9)
				return TIME_BAD;
			frac = frac * 10 + (uint32_t)(*p - '0');
			p++;
		}
		if (n == 0)
			return TIME_BAD;
		/* Scale to microseconds whatever the number of digits. */
		for (; n < 6; n++)
			frac *= 10;
		for (; n > 6; n--)
			frac /= 10;
		e->has_usec = true;
		e->usec = frac;
	}
	*next = p;
	return TIME_OK;
}

/*
 * Strict dotted quad: four decimal numbers 0..255, no leading zeros (Go
 * never writes them, and they would read as octal elsewhere).
 */
static bool
parse_ipv4(const char *p, size_t len, uint8_t out[4])
{
	const char *end = p + len;

	for (int i = 0; i < 4; i++) {
		unsigned int v = 0;
		int n = 0;

		if (i > 0) {
			if (p >= end || *p != '.')
				return false;
			p++;
		}
		while (p < end && is_digit(*p)) {
			if (n > 0 && v == 0)
				return false;
			v = v * 10 + (unsigned int)(*p - '0');
			if (++n > 3 || v > 255)
				return false;
			p++;
		}
		if (n == 0)
			return false;
		out[i] = (uint8_t)v;
	}
	return p == end;
}

static bool
parse_ipv6(const char *p, size_t len, uint8_t out[16])
{
	char buf[LC_XRAYLOG_IP_TEXT_MAX];

	/* inet_pton wants a C string; anything longer is not an address. */
	if (len == 0 || len >= sizeof(buf))
		return false;
	for (size_t i = 0; i < len; i++) {
		const char c = p[i];

		if (!(is_digit(c) || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
			return false;
	}
	memcpy(buf, p, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1;
}

static int
format_ipv4(const uint8_t a[4], char *buf)
{
	char *q = buf;

	for (int i = 0; i < 4; i++) {
		unsigned int v = a[i];

		if (i > 0)
			*q++ = '.';
		if (v >= 100)
			*q++ = (char)('0' + v / 100);
		if (v >= 10)
			*q++ = (char)('0' + v / 10 % 10);
		*q++ = (char)('0' + v % 10);
	}
	*q = '\0';
	return (int)(q - buf);
}

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* "tcp:" or "udp:" before an address. */
static const char *
skip_proto(const char *p, const char *end, uint8_t *proto)
{
	*proto = LC_XRAYLOG_PROTO_NONE;
	if (end - p >= 4 && p[3] == ':') {
		if (memcmp(p, "tcp", 3) == 0)
			*proto = LC_XRAYLOG_PROTO_TCP;
		else if (memcmp(p, "udp", 3) == 0)
			*proto = LC_XRAYLOG_PROTO_UDP;
		else
			return p;
		return p + 4;
	}
	return p;
}

/*
 * End of an address token starting at p. A bracketed host may hold a space
 * ("[Masked IPv6]:443"), so the token runs to the first blank after its ']'.
 */
static const char *
address_token_end(const char *p, const char *end)
{
	const char *q = p;
	uint8_t proto;

	q = skip_proto(q, end, &proto);
	if (q < end && *q == '[') {
		const char *r = q + 1;

		/* The only blank allowed inside brackets. */
		if (end - r >= 11 && memcmp(r, "Masked IPv", 10) == 0)
			r += 11;
		while (r < end && *r != ']' && !is_blank(*r))
			r++;
		if (r < end && *r == ']')
			q = r;
	}
	while (q < end && !is_blank(*q))
		q++;
	return q;
}

static int
parse_port(const char *p, const char *end, uint16_t *port)
{
	uint32_t v = 0;

	if (p >= end)
		return LC_XRAYLOG_BAD_PORT;
	for (; p < end; p++) {
		if (!is_digit(*p))
			return LC_XRAYLOG_BAD_PORT;
		v = v * 10 + (uint32_t)(*p - '0');
		if (v > 65535)
			return LC_XRAYLOG_BAD_PORT;
	}
	*port = (uint16_t)v;
	return v == 0 ? LC_XRAYLOG_PORT_ZERO : LC_XRAYLOG_ASSIGN;
}

/*
 * The client endpoint: [tcp:|udp:]IPv4:PORT or [tcp:|udp:][IPv6]:PORT, or a
 * form that Xray's log.maskAddress produced: 1.2.3.*, 1.2.*.*, 1.*.*.*,
 * [Masked IPv4], [2001:db8::/32], [Masked IPv6] (each followed by :PORT).
 */
static int
parse_source(const char *p, const char *end, struct lc_xraylog_entry *e)
{
	const char *host, *host_end, *port;
	bool bracket = false;

	p = skip_proto(p, end, &e->src_proto);
	if (p < end && *p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb == NULL)
			return LC_XRAYLOG_BAD_IP;
		bracket = true;
		host = p + 1;
		host_end = rb;
		port = rb + 1;
		if (port < end && *port != ':')
			return LC_XRAYLOG_BAD_PORT;
	} else {
		const char *colon = NULL;

		for (const char *q = p; q < end; q++)
			if (*q == ':')
				colon = q;
		host = p;
		host_end = colon != NULL ? colon : end;
		port = colon != NULL ? colon : end;
	}

	const size_t hlen = (size_t)(host_end - host);

	/* Masked: the operator must switch log.maskAddress off. */
	if (memchr(host, '*', hlen) != NULL ||
	    (bracket && memchr(host, '/', hlen) != NULL) ||
	    (hlen >= 6 && memcmp(host, "Masked", 6) == 0))
		return LC_XRAYLOG_MASKED;

	if (bracket) {
		if (!parse_ipv6(host, hlen, e->client_addr))
			return LC_XRAYLOG_BAD_IP;
	} else {
		memcpy(e->client_addr, v4mapped_prefix, 12);
		if (!parse_ipv4(host, hlen, e->client_addr + 12))
			return LC_XRAYLOG_BAD_IP;
	}

	if (memcmp(e->client_addr, v4mapped_prefix, 12) == 0) {
		e->family = 4;
		if (bracket)
			format_ipv4(e->client_addr + 12, e->client_ip);
		else {
			/* Checked to be canonical already: copy it. */
			memcpy(e->client_ip, host, hlen);
			e->client_ip[hlen] = '\0';
		}
	} else {
		e->family = 6;
		inet_ntop(AF_INET6, e->client_addr, e->client_ip,
			  sizeof(e->client_ip));
	}

	if (port >= end)
		return LC_XRAYLOG_BAD_PORT;
	return parse_port(port + 1, end, &e->client_port);
}

/* Destination: [tcp:|udp:]HOST:PORT, HOST a name, IPv4 or [IPv6]. */
static void
parse_destination(const char *p, const char *end, struct lc_xraylog_entry *e)
{
	const char *host, *host_end, *port = NULL;

	e->destination.ptr = p;
	e->destination.len = (uint32_t)(end - p);
	p = skip_proto(p, end, &e->dst_proto);
	if (p < end && *p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb == NULL)
			return;
		host = p + 1;
		host_end = rb;
		if (rb + 1 < end && rb[1] == ':')
			port = rb + 1;
	} else {
		const char *colon = NULL;

		for (const char *q = p; q < end; q++)
			if (*q == ':')
				colon = q;
		host = p;
		host_end = colon != NULL ? colon : end;
		port = colon;
	}
	e->dst_host.ptr = host;
	e->dst_host.len = (uint32_t)(host_end - host);
	if (port != NULL) {
		uint16_t v = 0;

		if (parse_port(port + 1, end, &v) != LC_XRAYLOG_BAD_PORT)
			e->dst_port = v;
	}
}

/* Split "in >> out" (and ->, ==>, =>) into its two tags. */
static void
parse_detour(const char *p, const char *end, struct lc_xraylog_entry *e)
{
	static const struct {
		const char *s;
		uint32_t len;
	} arrows[] = {
		{ " >> ", 4 }, { " -> ", 4 }, { " ==> ", 5 }, { " => ", 4 },
	};

	e->detour.ptr = p;
	e->detour.len = (uint32_t)(end - p);
	for (const char *q = p; q < end; q++) {
		if (*q != ' ')
			continue;
		for (size_t i = 0; i < sizeof(arrows) / sizeof(arrows[0]); i++) {
			if ((size_t)(end - q) >= arrows[i].len &&
			    memcmp(q, arrows[i].s, arrows[i].len) == 0) {
				e->inbound.ptr = p;
				e->inbound.len = (uint32_t)(q - p);
				e->outbound.ptr = q + arrows[i].len;
				e->outbound.len =
					(uint32_t)(end - q) - arrows[i].len;
				return;
			}
		}
	}
	e->outbound = e->detour;
}

/* A line with no time: a start-up banner is text, junk has control bytes. */
static int
classify_untimed(const char *p, const char *end)
{
	for (; p < end; p++) {
		const unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return LC_XRAYLOG_MALFORMED;
	}
	return LC_XRAYLOG_NOT_ACCESS;
}

/* Find "email:" at the start of [p, end) or after a blank. */
static const char *
find_email_key(const char *p, const char *end)
{
	const char *start = p;

	while (end - p >= 6) {
		const char *q = memchr(p, 'e', (size_t)(end - p) - 5);

		if (q == NULL)
			return NULL;
		if (memcmp(q, "email:", 6) == 0 &&
		    (q == start || is_blank(q[-1])))
			return q;
		p = q + 1;
	}
	return NULL;
}

int
lc_xraylog_parse_line(const char *line, size_t len,
		      struct lc_xraylog_entry *out)
{
	struct lc_xraylog_entry *e = out;
	const char *p = line, *end, *tok_end;

	memset(e, 0, sizeof(*e));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > LC_XRAYLOG_LINE_MAX)
		return LC_XRAYLOG_TOO_LONG;
	end = line + len;
	/* Old writers end a line with a space after the email. */
	while (end > p && is_blank(end[-1]))
		end--;
	if (end == p)
		return LC_XRAYLOG_EMPTY;

	switch (parse_time(p, end, &p, e)) {
	case TIME_OK:
		break;
	case TIME_ABSENT:
		return classify_untimed(line, end);
	case TIME_BAD:
		return LC_XRAYLOG_MALFORMED;
	}
	if (p >= end || *p != ' ')
		return p >= end ? LC_XRAYLOG_NOT_ACCESS : LC_XRAYLOG_MALFORMED;
	p++;

	if (end - p >= 5 && memcmp(p, "from ", 5) == 0) {
		e->has_from = true;
		p += 5;
	}

	/* Source and status decide whether this is an access line at all. */
	const char *src = p;

	tok_end = address_token_end(p, end);
	e->source.ptr = src;
	e->source.len = (uint32_t)(tok_end - src);
	p = tok_end;
	if (p < end)
		p++;
	const char *status = p;

	while (p < end && *p != ' ')
		p++;
	const size_t slen = (size_t)(p - status);

	if (slen == 8 && memcmp(status, "accepted", 8) == 0)
		e->status = LC_XRAYLOG_STATUS_ACCEPTED;
	else if (slen == 8 && memcmp(status, "rejected", 8) == 0)
		e->status = LC_XRAYLOG_STATUS_REJECTED;
	else if (e->has_from)
		return LC_XRAYLOG_MALFORMED; /* e.g. a truncated line */
	else
		return LC_XRAYLOG_NOT_ACCESS; /* error log, DNS log, ... */
	if (e->source.len == 0)
		return LC_XRAYLOG_MALFORMED;

	if (e->source.len == 3 && memcmp(src, "DNS", 3) == 0)
		return LC_XRAYLOG_DNS_SOURCE;

	const int src_result = parse_source(src, src + e->source.len, e);

	/* One blank after the status, then the destination (may be empty). */
	if (p < end)
		p++;
	if (e->status == LC_XRAYLOG_STATUS_REJECTED) {
		/* Rejected: an empty destination, hence the double space. */
		tok_end = address_token_end(p, end);
		if (tok_end > p)
			parse_destination(p, tok_end, e);
		p = tok_end;
		while (p < end && is_blank(*p))
			p++;
		if (p < end) {
			e->reason.ptr = p;
			e->reason.len = (uint32_t)(end - p);
		}
		return LC_XRAYLOG_REJECTED;
	}
	if (src_result != LC_XRAYLOG_ASSIGN)
		return src_result;

	tok_end = address_token_end(p, end);
	if (tok_end > p)
		parse_destination(p, tok_end, e);
	p = tok_end;
	while (p < end && is_blank(*p))
		p++;

	if (p < end && *p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb == NULL)
			return LC_XRAYLOG_MALFORMED;
		parse_detour(p + 1, rb, e);
		p = rb + 1;
		while (p < end && is_blank(*p))
			p++;
	}

	const char *key = find_email_key(p, end);
	const char *reason_end = key != NULL ? key : end;

	while (reason_end > p && is_blank(reason_end[-1]))
		reason_end--;
	if (reason_end > p) {
		e->reason.ptr = p;
		e->reason.len = (uint32_t)(reason_end - p);
	}
	if (key == NULL)
		return LC_XRAYLOG_NO_EMAIL;

	/* "email: alice" (Xray 1.8+) or "email:alice " (older writers). */
	p = key + 6;
	if (p < end && *p == ' ')
		p++;
	const char *email = p;

	while (p < end && !is_blank(*p))
		p++;

	const size_t elen = (size_t)(p - email);

	if (!lc_xraylog_email_valid(email, elen))
		return LC_XRAYLOG_BAD_EMAIL;
	memcpy(e->email, email, elen);
	e->email[elen] = '\0';
	e->email_len = (uint16_t)elen;
	return LC_XRAYLOG_ASSIGN;
}

int
lc_xraylog_format_endpoint(const struct lc_xraylog_entry *e, char *buf,
			   size_t len)
{
	size_t iplen, need;
	char port[6];
	int plen = 0;
	unsigned int v = e->client_port;

	if (e->family != 4 && e->family != 6)
		return -1;
	iplen = strlen(e->client_ip);
	do {
		port[plen++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	need = iplen + 1 + (size_t)plen + (e->family == 6 ? 2 : 0);
	if (need + 1 > len)
		return -1;

	char *q = buf;

	if (e->family == 6)
		*q++ = '[';
	memcpy(q, e->client_ip, iplen);
	q += iplen;
	if (e->family == 6)
		*q++ = ']';
	*q++ = ':';
	while (plen > 0)
		*q++ = port[--plen];
	*q = '\0';
	return (int)(q - buf);
}
