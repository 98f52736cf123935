/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "user_private.h"

#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0;                \
		v0 = ROTL64(v0, 32);                                    \
		v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;                \
		v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;                \
		v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2;                \
		v2 = ROTL64(v2, 32);                                    \
	} while (0)

static uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t
user_siphash24(const void *in, size_t len, const uint64_t key[2])
{
	const uint8_t *p = in;
	const uint8_t *end = p + (len & ~(size_t)7);
	uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ key[0];
	uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ key[1];
	uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ key[0];
	uint64_t v3 = UINT64_C(0x7465646279746573) ^ key[1];
	uint64_t b = (uint64_t)len << 56;

	for (; p != end; p += 8) {
		uint64_t m = load_le64(p);

		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

int
user_email_index_init(struct user_email_index *ix, uint32_t max_entries)
{
	/* At most half full; max_entries <= 2^24 keeps this within 2^25. */
	uint64_t n = 16;

	while (n < (uint64_t)max_entries * 2)
		n <<= 1;
	ix->slots = calloc(n, sizeof(ix->slots[0]));
	if (ix->slots == NULL)
		return -ENOMEM;
	ix->mask = (uint32_t)(n - 1);
	/*
	 * A random key, so that nobody who picks emails can predict their
	 * slots. Without entropy the table still works, only less hardened.
	 */
	if (getrandom(ix->key, sizeof(ix->key), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(ix->key)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ix->key[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
		ix->key[1] = (uint64_t)(uintptr_t)ix->slots;
	}
	return 0;
}

void
user_email_index_fini(struct user_email_index *ix)
{
	free(ix->slots);
	ix->slots = NULL;
}

uint32_t
user_email_index_hash(const struct user_email_index *ix, const char *s,
		      size_t len)
{
	return (uint32_t)user_siphash24(s, len, ix->key);
}

static bool
slot_matches(const struct user_email_slot *sl, const char *s, size_t len,
	     uint32_t hash)
{
	return sl->hash == hash && strncmp(sl->email, s, len) == 0 &&
		sl->email[len] == '\0';
}

uint32_t
user_email_index_find(const struct user_email_index *ix, const char *s,
		      size_t len, uint32_t hash)
{
	for (uint32_t i = hash & ix->mask;; i = (i + 1) & ix->mask) {
		const struct user_email_slot *sl = &ix->slots[i];

		if (sl->email == NULL)
			return 0;
		if (slot_matches(sl, s, len, hash))
			return sl->ref;
	}
}

void
user_email_index_insert(struct user_email_index *ix, const char *s,
			uint32_t hash, uint32_t ref)
{
	uint32_t i = hash & ix->mask;

	while (ix->slots[i].email != NULL)
		i = (i + 1) & ix->mask;
	ix->slots[i] = (struct user_email_slot){
		.email = s, .hash = hash, .ref = ref,
	};
}

void
user_email_index_remove(struct user_email_index *ix, uint32_t hash,
			uint32_t ref)
{
	uint32_t i = hash & ix->mask;

	for (;; i = (i + 1) & ix->mask) {
		if (ix->slots[i].email == NULL)
			return; /* not there: nothing to do */
		if (ix->slots[i].ref == ref && ix->slots[i].hash == hash)
			break;
	}
	/*
	 * Backward shift: pull each later entry of the cluster into the hole
	 * unless its home slot lies cyclically in (hole, its slot], where the
	 * hole would cut it off from its home. The cluster stays unbroken, so
	 * lookups can stop at the first empty slot.
	 */
	for (;;) {
		uint32_t j = i;

		ix->slots[i].email = NULL;
		for (;;) {
			uint32_t home;

			j = (j + 1) & ix->mask;
			if (ix->slots[j].email == NULL)
				return;
			home = ix->slots[j].hash & ix->mask;
			if (i <= j ? (i < home && home <= j)
				   : (i < home || home <= j))
				continue;
			break;
		}
		ix->slots[i] = ix->slots[j];
		i = j;
	}
}
