/* SPDX-License-Identifier: MIT */
/*
 * Inside lib/user: the email index shared by the registry and the state file
 * loader, the registry itself (registry.c's users, plans.c's plans), and the
 * hooks store.c needs to put saved users and plans back under their saved
 * ids. Nothing outside lib/user (its unit test aside) includes this.
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
 * The registry. Users live in an array indexed by id, so lc_user_get() is an index and a
 * pointer to a user stays put for its whole life. Two bitmaps over the ids
 * say which hold a user and which are free; an id in neither is retired.
 * The free bitmap gives the lowest free id with a word scan that starts at
 * a hint below which every id is known to be taken.
 */
struct lc_user_registry {
	uint32_t capacity;
	uint32_t words;         /* 64-bit words in each bitmap */
	uint64_t default_up;
	uint64_t default_down;
	struct lc_user *users;  /* [capacity + 1]; users[0] is never used */
	uint64_t *live;         /* id holds a user */
	uint64_t *free_ids;     /* id may be given to a new user */
	uint32_t free_hint;     /* no free id in the words below this one */
	uint32_t n_static;
	uint32_t n_dynamic;
	uint32_t n_retired;
	uint64_t static_gen;
	struct user_email_index index;
	uint32_t plan_slots;    /* plan ids 1..plan_slots */
	uint32_t plan_users;    /* users a plan holds; 0: no limit */
	struct lc_plan plans[LC_USER_PLANS_MAX + 1]; /* [0] is never used */
};

/*
 * Give u the rates of its plan (or the defaults) in every direction that
 * has no rate of u's own.
 */
void user_plan_inherit(const struct lc_user_registry *reg, struct lc_user *u);

/* Whether lc_plan_limits are in range: 0, -EINVAL or -ERANGE. */
int user_plan_check_limits(const struct lc_plan_limits *lim);

/*
 * For the loader: put a plan in the free slot id. The caller has checked
 * the id, the name (valid and unknown) and the limits.
 */
void user_plan_place(struct lc_user_registry *reg, uint32_t id,
		     const char *name, const struct lc_plan_limits *lim);

/*
 * A rate argument's value, for `user set` and `plan set`: 0 (none) only if
 * zero_ok. Returns 0, -EINVAL or -ERANGE with a message in err.
 */
int user_parse_rate(const char *val, bool zero_ok, uint64_t *v, char *err,
		    size_t errlen);

/*
 * A plan's weight=N value: a whole number, 1 to LC_PLAN_WEIGHT_MAX. Returns
 * 0, -EINVAL or -ERANGE with a message in err.
 */
int user_parse_weight(const char *val, uint32_t *weight, char *err,
		      size_t errlen);

/*
 * For the loader: whether id is free (neither held nor retired), and adding
 * a static user under a given id. The caller has checked the id is free, the
 * email valid, unknown and allocated with malloc (the registry takes it),
 * the rates in range and the plan (if any) there with room, so adding
 * cannot fail.
 */
bool user_registry_id_free(const struct lc_user_registry *reg, uint32_t id);
void user_registry_add_static(struct lc_user_registry *reg, uint32_t id,
			      char *email, size_t len,
			      const struct lc_user_limits *limits, uint64_t now);

#endif /* LC_USER_PRIVATE_H */
