/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Xray access-log line parser. Beyond "no crash, no
 * overread" (the sanitizers see to that), it checks what the follower relies
 * on: a known result, and for an assignment a valid email and an endpoint
 * that formats.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_xraylog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lc_xraylog_entry e;
	char ep[80];
	const int r = lc_xraylog_parse_line((const char *)data, size, &e);

	if (r < 0 || r >= LC_XRAYLOG_RESULT_MAX)
		abort();
	if (strcmp(lc_xraylog_result_name(r), "unknown") == 0)
		abort();
	if (r != LC_XRAYLOG_ASSIGN)
		return 0;
	if (e.status != LC_XRAYLOG_STATUS_ACCEPTED || e.client_port == 0 ||
	    (e.family != 4 && e.family != 6))
		abort();
	if (e.email_len != strlen(e.email) ||
	    !lc_xraylog_email_valid(e.email, e.email_len))
		abort();
	if (lc_xraylog_format_endpoint(&e, ep, sizeof(ep)) <= 0)
		abort();
	/* The endpoint text must read back to the same address. */
	char line[160];
	struct lc_xraylog_entry again;
	size_t n = (size_t)snprintf(line, sizeof(line),
				    "2024/01/01 00:00:00 %s accepted x email:u",
				    ep);

	if (lc_xraylog_parse_line(line, n, &again) != LC_XRAYLOG_ASSIGN ||
	    memcmp(again.client_addr, e.client_addr, 16) != 0 ||
	    again.client_port != e.client_port ||
	    strcmp(again.client_ip, e.client_ip) != 0)
		abort();
	return 0;
}
