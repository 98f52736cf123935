/* SPDX-License-Identifier: MIT */
/*
 * User registry: who the users are, their ids and their limits.
 *
 * A user is an email (the `email` field of the Xray access log), a numeric id
 * and an upload and download rate. The id is the user's pipe in the shaper and
 * the index of the worker's per-user counters, so it is small (1..capacity,
 * 0 meaning "no user" everywhere in linecap) and a static user keeps it across
 * restarts through the state file. Static users are made by `user set`, saved
 * and never collected; dynamic users are made by `assign` of an unknown email
 * and collected by lc_user_gc() once idle.
 *
 * The registry belongs to the control thread alone: it has no locks, needs no
 * DPDK and never runs on the fast path. The worker keeps its own per-user
 * counters indexed by id; the control thread copies the little the registry
 * needs (last traffic, active flows) in with lc_user_note_activity().
 *
 * A deleted user's id is retired rather than freed, because the worker may
 * still have flows bound to it: lc_user_reclaim() frees it once the worker
 * says every such flow is unbound. Until then the id counts against capacity
 * and is given to nobody else, so no new user inherits another's flows.
 *
 * Every call that changes the registry checks everything first and then
 * applies: a call that fails has changed nothing. Times are plain seconds
 * chosen by the caller, so tests drive them synthetically. docs/USERS.md
 * describes the email rule, the state file and collection.
 */
#ifndef LC_USER_H
#define LC_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lc_email.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest email, in bytes of UTF-8. */
#define LC_USER_EMAIL_MAX LC_EMAIL_MAX

/* Largest capacity, so that ids and table sizes stay far from overflow. */
#define LC_USER_CAPACITY_MAX (UINT32_C(1) << 24)

struct lc_user_params {
	uint32_t capacity;     /* ids 1..capacity; 1..LC_USER_CAPACITY_MAX */
	uint64_t default_up;   /* bit/s of a new user whose up is not given */
	uint64_t default_down; /* bit/s of a new user whose down is not given */
};

/*
 * The largest burst in bytes: the shaper and the worker's commands hold a
 * burst in 32 bits. A larger one is refused, never cut.
 */
#define LC_USER_BURST_MAX UINT32_MAX

/* lc_user_limits.fields: which of the values are given. */
#define LC_USER_LIMIT_UP         0x1u
#define LC_USER_LIMIT_DOWN       0x2u
#define LC_USER_LIMIT_BURST_UP   0x4u
#define LC_USER_LIMIT_BURST_DOWN 0x8u

/*
 * Limits of a `user set`. Only the fields named in `fields` are applied, so
 * `user set EMAIL down=10mbit` leaves the upload rate as it was.
 */
struct lc_user_limits {
	uint32_t fields;     /* LC_USER_LIMIT_* */
	uint64_t up;         /* bit/s, at most LC_RATE_MAX */
	uint64_t down;       /* bit/s, at most LC_RATE_MAX */
	uint64_t burst_up;   /* bytes, at most LC_USER_BURST_MAX; 0 = default */
	uint64_t burst_down; /* bytes, at most LC_USER_BURST_MAX; 0 = default */
};

/*
 * A user as callers see it. Only the registry writes it. A pointer returned
 * by the registry stays valid, and its email with it, until that user is
 * deleted or the registry is freed; updates change it in place.
 */
struct lc_user {
	const char *email;     /* NUL-terminated, valid by lc_user_email_valid() */
	uint32_t id;           /* 1..capacity */
	uint16_t email_len;    /* bytes, without the NUL */
	bool is_static;        /* made by `user set`: saved, never collected */
	uint32_t active_flows; /* from the worker, by lc_user_note_activity() */
	uint64_t up;           /* bit/s */
	uint64_t down;         /* bit/s */
	uint64_t burst_up;     /* bytes; 0 = default */
	uint64_t burst_down;   /* bytes; 0 = default */
	uint64_t created;      /* caller's seconds: made, or loaded */
	uint64_t last_traffic; /* caller's seconds; 0 = never */
};

struct lc_user_registry;

/*
 * Parse the arguments of `user set` after the email: up=RATE, down=RATE,
 * burst=SIZE (both directions), burst_up=SIZE, burst_down=SIZE. Sizes are
 * bytes, with k/kb, m/mb or g/gb for 1024, 1024^2 and 1024^3, from 1 to
 * LC_USER_BURST_MAX. Returns 0, -EINVAL (not a rate or size, an unknown
 * argument) or -ERANGE (a number that does not fit: a rate above
 * LC_RATE_MAX, a burst above LC_USER_BURST_MAX, however written), with a
 * message that names the bad argument in err; *lim is written only on
 * success.
 */
int lc_user_parse_limits(int argc, char **argv, struct lc_user_limits *lim,
			 char *err, size_t errlen);

/*
 * The email rule (lib/email, lc_email_valid()), shared by the registry, the
 * management commands and linecap-xray's log parser: 1..255 bytes of valid
 * UTF-8 with no control character, no white space, no invisible format
 * character and no noncharacter. s need not be NUL-terminated; a NUL byte
 * makes it invalid.
 */
static inline bool
lc_user_email_valid(const char *s, size_t len)
{
	return lc_email_valid(s, len);
}

/*
 * Create an empty registry. All memory but the users' emails is allocated
 * here, from the capacity. Returns NULL and sets errno: EINVAL for bad
 * params, ENOMEM.
 */
struct lc_user_registry *lc_user_registry_create(const struct lc_user_params *params);

/* Free the registry and every user. NULL does nothing. */
void lc_user_registry_free(struct lc_user_registry *reg);

uint32_t lc_user_capacity(const struct lc_user_registry *reg);

/*
 * Create or update the user of email (`user set`). A new user takes the
 * lowest free id and params.default_up/down for any rate not given, and is
 * static if make_static, dynamic otherwise. An update changes only the
 * fields given in limits (NULL: none); make_static turns a dynamic user
 * static, and a static user stays static whatever make_static says. *out
 * (if out) is the user and *created (if created) whether it is new.
 * Returns 0, -EINVAL (bad email or unknown limits field), -ERANGE (a rate
 * above LC_RATE_MAX or a burst above LC_USER_BURST_MAX), -ENOSPC (no
 * free id: retired ids count) or -ENOMEM.
 */
int lc_user_set(struct lc_user_registry *reg, const char *email,
		const struct lc_user_limits *limits, bool make_static,
		uint64_t now, const struct lc_user **out, bool *created);

/*
 * The user of email for an `assign`: the existing user untouched, or a new
 * dynamic user with the given rates. Returns as lc_user_set().
 */
int lc_user_ensure_dynamic(struct lc_user_registry *reg, const char *email,
			   uint64_t default_up, uint64_t default_down,
			   uint64_t now, const struct lc_user **out,
			   bool *created);

/* The user of email (exact bytes), or NULL. One hash lookup, no allocation. */
const struct lc_user *lc_user_find(const struct lc_user_registry *reg,
				   const char *email);

/* The user of id, or NULL (0, out of range, free or retired). */
const struct lc_user *lc_user_get(const struct lc_user_registry *reg,
				  uint32_t id);

/*
 * Delete the user of id: its email is forgotten at once and its id is
 * retired until lc_user_reclaim(). Returns 0 or -ENOENT (no user has id).
 */
int lc_user_del(struct lc_user_registry *reg, uint32_t id);

/*
 * Return a retired id to the free pool, once the worker has unbound every
 * flow of its former user. Returns 0, -EBUSY (a user holds id) or -ENOENT
 * (id is not retired: free, 0 or out of range).
 */
int lc_user_reclaim(struct lc_user_registry *reg, uint32_t id);

/* Live users; their split into static and dynamic if the pointers are set. */
uint32_t lc_user_count(const struct lc_user_registry *reg,
		       uint32_t *static_n, uint32_t *dynamic_n);

/* Ids deleted and not yet reclaimed. */
uint32_t lc_user_retired_count(const struct lc_user_registry *reg);

/*
 * Iterate over users in id order. Start with *cursor = 0; each call returns
 * the user with the next higher id and moves the cursor to it, or NULL at
 * the end. Deleting the returned user before the next call is safe.
 */
const struct lc_user *lc_user_next(const struct lc_user_registry *reg,
				   uint32_t *cursor);

/*
 * Copy the worker's view of a user in: the time of its last packet (0 if
 * none; the stored value never moves backwards) and its bound flows.
 * Returns 0 or -ENOENT.
 */
int lc_user_note_activity(struct lc_user_registry *reg, uint32_t id,
			  uint64_t last_traffic, uint32_t active_flows);

/*
 * A number that changes whenever what lc_user_save() would write changes:
 * a static user made, deleted, promoted or given new limits. The daemon
 * saves when it differs from the value it saw at its last save.
 */
uint64_t lc_user_static_generation(const struct lc_user_registry *reg);

/*
 * Collect idle dynamic users: delete (retire) every dynamic user that is at
 * least min_age old (now - created >= min_age), has had no traffic for at
 * least idle seconds (counted from its last traffic, or from its creation if
 * it never had any) and has no active flows. Static users are never
 * collected. At most max users are collected, in id order, and their ids
 * written to removed[], so the caller can tell the worker and call again
 * while the result equals max. Returns how many were collected.
 */
unsigned lc_user_gc(struct lc_user_registry *reg, uint64_t now,
		    uint64_t min_age, uint64_t idle, uint32_t removed[],
		    unsigned max);

/*
 * Write the static users to path atomically: path.tmp in the same directory
 * is written, flushed and fsynced, renamed over path, and the directory is
 * fsynced, so a crash leaves either the old file or the new one. Missing
 * directories are created (mode 0750; the file is 0640). Returns 0 or
 * -errno, with a message naming the file in err (if err and errlen).
 */
int lc_user_save(const struct lc_user_registry *reg, const char *path,
		 char *err, size_t errlen);

/*
 * Add the static users of path to the registry, each with its saved id and
 * created = now. A missing file is an empty one. Nothing is added unless the
 * whole file is good. Returns 0; -EINVAL for a corrupt or truncated file,
 * with "path:line: what" in err; -EEXIST when a user of the file clashes
 * (id or email) with one already in the registry; -ENOMEM; or -errno when
 * the file cannot be read or is not a regular file of at most
 * lc_user_file_max() bytes.
 */
int lc_user_load(struct lc_user_registry *reg, const char *path, uint64_t now,
		 char *err, size_t errlen);

/*
 * The largest state file lc_user_load() reads for a registry of capacity
 * users: 64 KiB plus 1 KiB a user. A bigger one is refused (-EFBIG), and so
 * is anything that is not a regular file: a FIFO (-EINVAL, without waiting
 * for a writer), a device (-EINVAL), a directory (-EISDIR).
 */
uint64_t lc_user_file_max(uint32_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* LC_USER_H */
