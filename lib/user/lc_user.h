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

/* Plans a registry holds at most (the shaper's LC_SHAPER_PLANS_MAX). */
#define LC_USER_PLANS_MAX 62u
/* Longest plan name, in bytes: [A-Za-z0-9._-]. */
#define LC_PLAN_NAME_MAX 32

struct lc_user_params {
	uint32_t capacity;     /* ids 1..capacity; 1..LC_USER_CAPACITY_MAX */
	uint64_t default_up;   /* bit/s of a user whose up is not given */
	uint64_t default_down; /* bit/s of a user whose down is not given */
	uint32_t plans;        /* plan ids 1..plans; 0..LC_USER_PLANS_MAX */
	uint32_t plan_users;   /* users a plan holds at most; 0: no limit */
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
#define LC_USER_LIMIT_PLAN       0x10u
/*
 * up=default, down=default: the user's own rate in that direction is
 * dropped, and it has its plan's per-user rate, else the default, again.
 */
#define LC_USER_LIMIT_UP_DEFAULT   0x20u
#define LC_USER_LIMIT_DOWN_DEFAULT 0x40u

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
	uint32_t plan;       /* plan id; 0 = out of any plan */
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
	uint64_t up;           /* bit/s, in force: own, the plan's or default */
	uint64_t down;         /* bit/s, in force */
	uint32_t own;          /* LC_USER_LIMIT_UP/DOWN: rates set for it */
	uint32_t plan;         /* plan id; 0: none */
	uint64_t burst_up;     /* bytes; 0 = default */
	uint64_t burst_down;   /* bytes; 0 = default */
	uint64_t created;      /* caller's seconds: made, or loaded */
	uint64_t last_traffic; /* caller's seconds; 0 = never */
};

struct lc_user_registry;

/*
 * A plan: a named group of users that share a total rate per direction,
 * and the rate per direction a user of the plan has when none is set for
 * the user itself. Every rate is in bit/s, 0 meaning none.
 *
 * A user's rate in force, per direction, is its own if one was set (`user
 * set up=`, or a state file's up=), else its plan's per-user rate if the
 * plan has one, else the registry's default. The registry keeps lc_user.up
 * and .down at that rate as plans and users change.
 */
struct lc_plan {
	char name[LC_PLAN_NAME_MAX + 1]; /* "": the slot is free */
	uint32_t id;         /* 1..params.plans */
	uint64_t total_up;   /* bit/s shared by the plan's users; 0: none */
	uint64_t total_down;
	uint64_t up;         /* bit/s of a user of the plan without its own */
	uint64_t down;
	uint32_t weight;     /* share of a full port against other plans, 1..LC_PLAN_WEIGHT_MAX */
	uint32_t users;      /* live users in the plan */
};

/* lc_plan_limits.fields: which of the values are given. */
#define LC_PLAN_TOTAL_UP   0x1u
#define LC_PLAN_TOTAL_DOWN 0x2u
#define LC_PLAN_UP         0x4u
#define LC_PLAN_DOWN       0x8u
#define LC_PLAN_WEIGHT     0x10u

/* A plan's weight: 1 (the users of no plan, and a new plan) to this. */
#define LC_PLAN_WEIGHT_DEFAULT 1u
#define LC_PLAN_WEIGHT_MAX 100u

/* The values of a `plan set`; only the fields named are applied. */
struct lc_plan_limits {
	uint32_t fields;     /* LC_PLAN_* */
	uint64_t total_up;   /* bit/s, at most LC_RATE_MAX; 0: none */
	uint64_t total_down;
	uint64_t up;
	uint64_t down;
	uint32_t weight;     /* 1..LC_PLAN_WEIGHT_MAX */
};

/* Whether s is a plan name: 1..LC_PLAN_NAME_MAX of [A-Za-z0-9._-]. */
bool lc_user_plan_name_valid(const char *s);

/*
 * Parse the arguments of `plan set` after the name: total=RATE (both
 * directions), total_up=, total_down=, up=, down=, 0 meaning none; and
 * weight=N, 1 to LC_PLAN_WEIGHT_MAX. Returns 0, -EINVAL or -ERANGE with a
 * message naming the bad argument in err; *lim is written only on success.
 */
int lc_user_plan_parse_limits(int argc, char **argv, struct lc_plan_limits *lim,
			      char *err, size_t errlen);

/*
 * Create or update the plan of name: a new plan takes the lowest free id
 * and 0 (none) for every rate not given, LC_PLAN_WEIGHT_DEFAULT for a
 * weight not given; an update keeps what it does not name. Users of the
 * plan without a rate of their own take its new per-user rates at once.
 * *out (if out) is the plan and *created (if created) whether it is new.
 * Returns 0, -EINVAL (bad name or field), -ERANGE (a rate above
 * LC_RATE_MAX, a weight outside 1..LC_PLAN_WEIGHT_MAX) or -ENOSPC (no free
 * plan slot).
 */
int lc_user_plan_set(struct lc_user_registry *reg, const char *name,
		     const struct lc_plan_limits *lim, const struct lc_plan **out,
		     bool *created);

/*
 * What lc_user_plan_set() would make of the plan of name, with nothing changed:
 * *next, with the id a new plan would take. Returns as lc_user_plan_set().
 */
int lc_user_plan_preview(const struct lc_user_registry *reg, const char *name,
			 const struct lc_plan_limits *lim, struct lc_plan *next);

/* The id a new plan would take now, or 0 when every slot is used. */
uint32_t lc_user_plan_free_id(const struct lc_user_registry *reg);

/* The plan of name, or of id; NULL if there is none. */
const struct lc_plan *lc_user_plan_find(const struct lc_user_registry *reg,
					const char *name);
const struct lc_plan *lc_user_plan_get(const struct lc_user_registry *reg,
				       uint32_t id);

/* Plans in id order, as lc_user_next(): start with *cursor = 0. */
const struct lc_plan *lc_user_plan_next(const struct lc_user_registry *reg,
					uint32_t *cursor);

/* Delete a plan: 0, -ENOENT, or -EBUSY while users are in it. */
int lc_user_plan_del(struct lc_user_registry *reg, const char *name);

/* Plan slots (params.plans) and users a plan holds (params.plan_users). */
uint32_t lc_user_plan_slots(const struct lc_user_registry *reg);
uint32_t lc_user_plan_capacity(const struct lc_user_registry *reg);

/*
 * The rate a user without its own would have in direction dir
 * (LC_USER_LIMIT_UP or LC_USER_LIMIT_DOWN) with a plan whose per-user rate
 * there is plan_rate (0: none): plan_rate, or the registry's default.
 */
uint64_t lc_user_plan_rate(const struct lc_user_registry *reg, uint32_t dir,
			   uint64_t plan_rate);

/*
 * Where u's rate in force in direction dir (LC_USER_LIMIT_UP or
 * LC_USER_LIMIT_DOWN) comes from: "own" (user set up=/down=), "plan" (its
 * plan's per-user rate) or "default" (the registry's).
 */
const char *lc_user_rate_from(const struct lc_user_registry *reg,
			      const struct lc_user *u, uint32_t dir);

struct lc_user_registry;

/*
 * Parse the arguments of `user set` after the email: up=RATE, down=RATE,
 * burst=SIZE (both directions), burst_up=SIZE, burst_down=SIZE. Sizes are
 * bytes, with k/kb, m/mb or g/gb for 1024, 1024^2 and 1024^3, from 1 to
 * LC_USER_BURST_MAX. Each may be `default` instead: up=default and
 * down=default drop the user's own rate (LC_USER_LIMIT_UP_DEFAULT,
 * LC_USER_LIMIT_DOWN_DEFAULT), a burst of default is 0, the shaper's
 * burst for the rate. Of the same key the last one counts. Returns 0,
 * -EINVAL (not a rate or size, an unknown
 * argument) or -ERANGE (a number that does not fit: a rate above
 * LC_RATE_MAX, a burst above LC_USER_BURST_MAX, however written), with a
 * message that names the bad argument in err; *lim is written only on
 * success.
 */
int lc_user_parse_limits(int argc, char **argv, struct lc_user_limits *lim,
			 char *err, size_t errlen);

/*
 * Arguments of `user set` after the email, at most: one of each of up,
 * down, burst, burst_up, burst_down and plan.
 */
#define LC_USER_SET_ARGS_MAX 6

/*
 * lc_user_parse_limits() and plan=NAME (plan=none: out of any plan), the
 * plan looked up in reg: -ENOENT with a message for a plan that does not
 * exist, else as lc_user_parse_limits().
 */
int lc_user_parse_set(const struct lc_user_registry *reg, int argc,
		      char **argv, struct lc_user_limits *lim, char *err,
		      size_t errlen);

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
 * lowest free id and, for any rate not given, its plan's per-user rate or
 * params.default_up/down; it is static if make_static, dynamic otherwise.
 * An update changes only the fields given in limits (NULL: none); a rate
 * given becomes the user's own, and a user that changes plans takes the
 * new plan's rates where it has none of its own. make_static turns a
 * dynamic user static, and a static user stays static whatever make_static
 * says. *out (if out) is the user and *created (if created) whether it is
 * new. Returns 0, -EINVAL (bad email or unknown limits field), -ERANGE (a
 * rate above LC_RATE_MAX or a burst above LC_USER_BURST_MAX), -ENOENT (no
 * such plan), -ENOBUFS (the plan holds params.plan_users users already),
 * -ENOSPC (no free id: retired ids count) or -ENOMEM.
 */
int lc_user_set(struct lc_user_registry *reg, const char *email,
		const struct lc_user_limits *limits, bool make_static,
		uint64_t now, const struct lc_user **out, bool *created);

/*
 * What lc_user_set() would make of the user of email with limits, with
 * nothing changed: *next is the user as it would be (its email NULL when
 * it would be new). Returns 0, or the error lc_user_set() would return.
 */
int lc_user_preview(const struct lc_user_registry *reg, const char *email,
		    const struct lc_user_limits *limits, struct lc_user *next);

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
