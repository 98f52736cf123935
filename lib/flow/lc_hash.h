/* SPDX-License-Identifier: MIT */
/*
 * The hash of every rte_hash key in linecap: flows, client endpoints,
 * pending and IP-wide assignments. It is rte_hash_crc's CRC32-C, with the
 * same value, but it loads the key through memcpy: rte_hash_crc reads 8 and
 * 4 bytes at a time through cast pointers, which is undefined behaviour for
 * a key that is not aligned, and a caller's key (on its stack, in a burst
 * array) is not always. The loads compile to the same instructions.
 */
#ifndef LC_HASH_H
#define LC_HASH_H

#include <stdint.h>
#include <string.h>

#include <rte_hash_crc.h>

static inline uint32_t
lc_hash_crc(const void *key, uint32_t len, uint32_t init)
{
	const uint8_t *p = key;
	uint32_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, sizeof(v));
		init = rte_hash_crc_8byte(v, init);
	}
	if (i + 4 <= len) {
		uint32_t v;

		memcpy(&v, p + i, sizeof(v));
		init = rte_hash_crc_4byte(v, init);
		i += 4;
	}
	if (i + 2 <= len) {
		uint16_t v;

		memcpy(&v, p + i, sizeof(v));
		init = rte_hash_crc_2byte(v, init);
		i += 2;
	}
	if (i < len)
		init = rte_hash_crc_1byte(p[i], init);
	return init;
}

#endif /* LC_HASH_H */
