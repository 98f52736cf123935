/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the frame parser. The input is copied into a heap
 * buffer of exactly its length, so that AddressSanitizer catches a read of a
 * single byte past len, and parsed with every vlan_mode, whole and from its
 * first LC_PARSE_HDR_WINDOW bytes alone. Beyond crashes, it checks the
 * promises of lc_parse.h, aborting on any broken one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lc_parse.h"

static void
check(const struct lc_parse_result *r, int ret, size_t len,
      enum lc_vlan_mode mode)
{
	static const uint8_t zero[16];

	if (ret != r->reason || ret < 0 || ret >= LC_PARSE_REASON_MAX)
		abort();
	if (r->n_vlans > (unsigned int)mode ||
	    r->n_inner_vlans > LC_PARSE_MAX_VLANS ||
	    r->n_mpls > LC_PARSE_MAX_MPLS ||
	    r->n_ipv6_ext > LC_PARSE_MAX_IPV6_EXT)
		abort();
	if (lc_parse_reason_name((enum lc_parse_reason)ret) == NULL)
		abort();
	if (ret != LC_PARSE_OK) {
		/* Nothing of L3/L4 survives a frame that is not processed. */
		if (r->ip_version != 0 || r->l4_off != 0 || r->ip_len != 0 ||
		    r->sport != 0 || r->dport != 0 || r->l4_proto != 0 ||
		    (r->flags & ~(LC_PARSE_F_PPPOE | LC_PARSE_F_EOMPLS)) ||
		    memcmp(r->src, zero, 16) != 0 ||
		    memcmp(r->dst, zero, 16) != 0)
			abort();
		return;
	}
	if (r->ip_version != 4 && r->ip_version != 6)
		abort();
	if ((size_t)r->l3_off + r->ip_len > len || r->l3_off < 14)
		abort();
	if (r->l4_off != 0 &&
	    (r->l4_off <= r->l3_off || r->l4_off > r->l3_off + r->ip_len))
		abort();
	if ((r->flags & LC_PARSE_F_PORTS) &&
	    ((r->l4_proto != 6 && r->l4_proto != 17) || r->l4_off == 0))
		abort();
	if ((r->flags & LC_PARSE_F_ICMP_ID) && r->l4_off == 0)
		abort();
	if ((r->flags & LC_PARSE_F_PORTS) && (r->flags & LC_PARSE_F_ICMP_ID))
		abort();
	if (r->ip_version == 4) {
		static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

		if (memcmp(r->src, mapped, 12) != 0 ||
		    memcmp(r->dst, mapped, 12) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum lc_vlan_mode modes[3] = {
		LC_VLAN_MODE_UNTAG, LC_VLAN_MODE_VLAN, LC_VLAN_MODE_QINQ,
	};
	struct lc_parse_result r, again;
	uint8_t *frame;
	unsigned int m;
	int ret;

	if (size > UINT16_MAX)
		return 0;
	frame = malloc(size != 0 ? size : 1);
	if (frame == NULL)
		return 0;
	if (size != 0)
		memcpy(frame, data, size);
	for (m = 0; m < 3; m++) {
		memset(&r, 0xa5, sizeof(r));
		ret = lc_parse_frame(frame, (uint16_t)size, modes[m], &r);
		check(&r, ret, size, modes[m]);
		/* Every field is written: garbage underneath changes nothing. */
		memset(&again, 0x5a, sizeof(again));
		lc_parse_frame(frame, (uint16_t)size, modes[m], &again);
		if (memcmp(&r, &again, sizeof(r)) != 0)
			abort();
		/*
		 * The frame's first bytes alone, as the worker hands over a
		 * chained frame: the same result, or unsupported when a header
		 * lies past them; never a read past the window.
		 */
		if (size > LC_PARSE_HDR_WINDOW) {
			uint8_t *win = malloc(LC_PARSE_HDR_WINDOW);

			if (win == NULL)
				break;
			memcpy(win, frame, LC_PARSE_HDR_WINDOW);
			ret = lc_parse_headers(win, LC_PARSE_HDR_WINDOW,
					       (uint32_t)size, modes[m], &again);
			free(win);
			if (ret != LC_PARSE_UNSUPPORTED &&
			    memcmp(&r, &again, sizeof(r)) != 0)
				abort();
		}
	}
	free(frame);
	return 0;
}
