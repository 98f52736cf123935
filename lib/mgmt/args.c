/* SPDX-License-Identifier: MIT */
/* Parsers of command arguments that several commands share. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lc_mgmt.h"
/*
 * The shared checked number parser, header-only: lib/mgmt links no other
 * block, and lib/conf is where it lives.
 */
#include "lc_num.h"

/* Parse "1.2.3.4", "2001:db8::1", "1.2.3.4:80" or "[2001:db8::1]:80". */
int
lc_mgmt_parse_endpoint(const char *text, uint8_t addr[16], uint16_t *port,
	       bool *has_port)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *p = NULL;
	struct in_addr v4;

	*has_port = false;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		size_t n = close != NULL ? (size_t)(close - text - 1) : 0;

		if (close == NULL || n == 0 || n >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, n);
		host[n] = '\0';
		if (close[1] == ':')
			p = close + 2;
		else if (close[1] != '\0')
			return -EINVAL;
		if (inet_pton(AF_INET6, host, addr) != 1)
			return -EINVAL;
	} else {
		const char *colon = strchr(text, ':');

		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			/* Bare IPv6: no port. */
			if (inet_pton(AF_INET6, text, addr) != 1)
				return -EINVAL;
		} else {
			size_t n = colon ? (size_t)(colon - text) : strlen(text);

			if (n == 0 || n >= sizeof(host))
				return -EINVAL;
			memcpy(host, text, n);
			host[n] = '\0';
			if (inet_pton(AF_INET, host, &v4) != 1)
				return -EINVAL;
			memset(addr, 0, 10);
			addr[10] = addr[11] = 0xff;
			memcpy(addr + 12, &v4, 4);
			if (colon != NULL)
				p = colon + 1;
		}
	}
	if (p != NULL) {
		uint64_t v;

		/* Anything after the colon that is not a port is a bad port. */
		if (lc_num_parse_u64(p, 1, UINT16_MAX, &v) != 0)
			return -ERANGE;
		*port = (uint16_t)v;
		*has_port = true;
	}
	return 0;
}

bool
lc_mgmt_word_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}
