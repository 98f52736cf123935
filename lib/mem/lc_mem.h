/* SPDX-License-Identifier: MIT */
/*
 * Memory of linecapd's own for what frames read at random (the packet
 * pool, the shaper's per-pipe arrays) when EAL has no hugepages: EAL's
 * memory is then in 4 KiB pages, and each cold read of such memory misses
 * the TLB too, its page walk missing the caches as well (docs/SHAPING.md,
 * Cost). This memory is advised for transparent huge pages
 * (MADV_HUGEPAGE), which the kernel gives where
 * /sys/kernel/mm/transparent_hugepage/enabled is madvise or always.
 */
#ifndef LC_MEM_H
#define LC_MEM_H

#include <stddef.h>

/* The huge page size that lc_mem_map() aligns to. */
#define LC_MEM_HUGE (2u << 20)

/*
 * size bytes, zeroed, starting at a multiple of LC_MEM_HUGE; *len is the
 * length mapped (size rounded up to LC_MEM_HUGE), for lc_mem_unmap().
 * NULL (errno set) when the kernel refuses the mapping.
 */
void *lc_mem_map(size_t size, size_t *len);

/* Give back what lc_mem_map() gave (len: its *len). NULL does nothing. */
void lc_mem_unmap(void *p, size_t len);

#endif /* LC_MEM_H */
