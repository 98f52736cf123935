/* SPDX-License-Identifier: MIT */
/*
 * Inside lib/user: the email index shared by the registry and the state file
 * loader, and the hooks store.c needs to put saved users back under their
 * saved ids. Nothing outside lib/user (its unit test aside) includes this.
 */
#ifndef LC_USER_PRIVATE_H
#define LC_USER_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lc_user.h"

/*
 * An open-addressing hash table from email to a 32-bit reference (a user id
 * in the registry, a line's index in the loader). Linear probing at a load
 * factor of at most one half, with backward-shift deletion so that no
 * tombstones build up under churn. Slots point at strings owned by the
 * caller. The hash is SipHash-2-4 under a random key, because emails come
 * from outside and must not be able to pile up in one probe sequence.
 */
struct user_email_slot {
	const char *email; /* NULL: empty */
	uint32_t hash;     /* low 32 bits of the hash: home slot and quick check */
	uint32_t ref;
};

struct user_email_index {
	struct user_email_slot *slots;
	uint32_t mask;  /* slots - 1, slots a power of two */
	uint64_t key[2];
};

/* Sized for max_entries. Returns 0 or -ENOMEM. */
int user_email_index_init(struct user_email_index *ix, uint32_t max_entries);
void user_email_index_fini(struct user_email_index *ix);
uint32_t user_email_index_hash(const struct user_email_index *ix,
			       const char *s, size_t len);
/* The ref of s, or 0 when absent. */
uint32_t user_email_index_find(const struct user_email_index *ix,
			       const char *s, size_t len, uint32_t hash);
/* s must be absent and the index below max_entries. */
void user_email_index_insert(struct user_email_index *ix, const char *s,
			     uint32_t hash, uint32_t ref);
/* Remove the entry with this ref, if present. */
void user_email_index_remove(struct user_email_index *ix, uint32_t hash,
			     uint32_t ref);

/* SipHash-2-4 of in under a 128-bit key, exposed for its test vectors. */
uint64_t user_siphash24(const void *in, size_t len, const uint64_t key[2]);

/*
 * For the loader: whether id is free (neither held nor retired), and adding
 * a static user under a given id. The caller has checked the id is free, the
 * email valid, unknown and allocated with malloc (the registry takes it) and
 * the rates in range, so adding cannot fail.
 */
bool user_registry_id_free(const struct lc_user_registry *reg, uint32_t id);
void user_registry_add_static(struct lc_user_registry *reg, uint32_t id,
			      char *email, size_t len,
			      const struct lc_user_limits *limits, uint64_t now);

#endif /* LC_USER_PRIVATE_H */
