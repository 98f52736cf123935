/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <sys/mman.h>

#include "lc_mem.h"

void *
lc_mem_map(size_t size, size_t *len)
{
	size_t want = (size + LC_MEM_HUGE - 1) / LC_MEM_HUGE * LC_MEM_HUGE;
	uint8_t *map, *base, *end;

	if (want == 0)
		want = LC_MEM_HUGE;
	/* A huge page must start at a multiple of its size: map one more, trim. */
	map = mmap(NULL, want + LC_MEM_HUGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	base = (uint8_t *)(((uintptr_t)map + LC_MEM_HUGE - 1) & ~(uintptr_t)(LC_MEM_HUGE - 1));
	end = map + want + LC_MEM_HUGE;
	if (base > map)
		munmap(map, (size_t)(base - map));
	if (base + want < end)
		munmap(base + want, (size_t)(end - (base + want)));
	/* Only advice: without transparent huge pages it is 4 KiB pages. */
	(void)madvise(base, want, MADV_HUGEPAGE);
	*len = want;
	return base;
}

void
lc_mem_unmap(void *p, size_t len)
{
	if (p != NULL)
		munmap(p, len);
}
