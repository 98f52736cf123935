/* SPDX-License-Identifier: MIT */
/*
 * EAL for the unit tests of blocks that allocate from DPDK's heap (rte_hash,
 * rte_malloc) but need no port and no second lcore: cmocka group set-up and
 * tear-down. --in-memory cannot go with --no-huge on DPDK 22.11, hence
 * --no-shconf.
 */
#ifndef LC_TEST_EAL_H
#define LC_TEST_EAL_H

#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>

/*
 * rte_eal_cleanup(), then the EAL's runtime folder (/var/run/dpdk/PREFIX),
 * which DPDK 22.11 leaves behind: removed if empty (a test of the same
 * prefix running beside may still use it).
 */
static inline void
lc_test_eal_cleanup(void)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (dir[0] != '\0')
		(void)rmdir(dir);
}

static inline int
lc_test_eal_setup(void **state)
{
	char *argv[] = {
		"lc-unit-test", "-l", "0", "--no-huge", "-m", "256", "--no-pci",
		"--no-shconf", "--no-telemetry", "--log-level=error",
	};

	(void)state;
	return rte_eal_init((int)RTE_DIM(argv), argv) < 0 ? -1 : 0;
}

static inline int
lc_test_eal_teardown(void **state)
{
	(void)state;
	lc_test_eal_cleanup();
	return 0;
}

#endif /* LC_TEST_EAL_H */
