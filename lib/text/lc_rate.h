/* SPDX-License-Identifier: MIT */
/*
 * Rates, written the way tc writes them.
 *
 * Used by the config loader, the management commands and linecapctl to turn
 * "500kbit" or "2.5gbit" into bit/s and back. Decimal prefixes apply:
 * 1mbit = 1 000 000 bit/s. A bare number is bit/s. IEC prefixes (kibit,
 * mibit, gibit, tibit) are powers of 1024, and the "bps" family
 * (kbps, mbps, gbps, tbps) counts bytes per second, as in tc.
 */
#ifndef LC_RATE_H
#define LC_RATE_H

#include <stddef.h>
#include <stdint.h>

/* The largest rate accepted: 10 tbit/s. */
#define LC_RATE_MAX UINT64_C(10000000000000)

/*
 * Parse a rate into bit/s. Returns 0, or -EINVAL for text that is not a rate,
 * or -ERANGE for a rate above LC_RATE_MAX.
 */
int lc_rate_parse(const char *text, uint64_t *bps);

/*
 * Write a rate in its shortest exact tc form ("500kbit", "2500mbit",
 * "12345bit") into buf. Returns buf.
 */
char *lc_rate_format(uint64_t bps, char *buf, size_t size);

#endif /* LC_RATE_H */
