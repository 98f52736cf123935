/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lc_rate.h"
#include "lc_user.h"
#include "user_private.h"

#define ALL_LIMITS (LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN | \
		    LC_USER_LIMIT_BURST_UP | LC_USER_LIMIT_BURST_DOWN | \
		    LC_USER_LIMIT_PLAN | LC_USER_LIMIT_UP_DEFAULT | \
		    LC_USER_LIMIT_DOWN_DEFAULT)

static bool
bit_test(const uint64_t *map, uint32_t id)
{
	return (map[id / 64] >> (id % 64)) & 1;
}

static void
bit_set(uint64_t *map, uint32_t id)
{
	map[id / 64] |= UINT64_C(1) << (id % 64);
}

static void
bit_clear(uint64_t *map, uint32_t id)
{
	map[id / 64] &= ~(UINT64_C(1) << (id % 64));
}

static bool
id_live(const struct lc_user_registry *reg, uint32_t id)
{
	return id != 0 && id <= reg->capacity && bit_test(reg->live, id);
}

struct lc_user_registry *
lc_user_registry_create(const struct lc_user_params *params)
{
	struct lc_user_registry *reg;

	if (params == NULL || params->capacity == 0 ||
	    params->capacity > LC_USER_CAPACITY_MAX ||
	    params->default_up > LC_RATE_MAX ||
	    params->default_down > LC_RATE_MAX ||
	    params->plans > LC_USER_PLANS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	reg = calloc(1, sizeof(*reg));
	if (reg == NULL)
		goto nomem;
	reg->capacity = params->capacity;
	reg->words = (params->capacity + 1 + 63) / 64;
	reg->default_up = params->default_up;
	reg->default_down = params->default_down;
	reg->plan_slots = params->plans;
	reg->plan_users = params->plan_users;
	reg->users = calloc((size_t)params->capacity + 1, sizeof(reg->users[0]));
	reg->live = calloc(reg->words, sizeof(uint64_t));
	reg->free_ids = calloc(reg->words, sizeof(uint64_t));
	if (reg->users == NULL || reg->live == NULL || reg->free_ids == NULL ||
	    user_email_index_init(&reg->index, params->capacity) != 0)
		goto nomem;
	for (uint32_t id = 1; id <= reg->capacity; id++)
		bit_set(reg->free_ids, id);
	return reg;
nomem:
	lc_user_registry_free(reg);
	errno = ENOMEM;
	return NULL;
}

void
lc_user_registry_free(struct lc_user_registry *reg)
{
	if (reg == NULL)
		return;
	if (reg->users != NULL && reg->live != NULL) {
		for (uint32_t id = 1; id <= reg->capacity; id++)
			if (bit_test(reg->live, id))
				free((char *)reg->users[id].email);
	}
	user_email_index_fini(&reg->index);
	free(reg->users);
	free(reg->live);
	free(reg->free_ids);
	free(reg);
}

uint32_t
lc_user_capacity(const struct lc_user_registry *reg)
{
	return reg->capacity;
}

/* The lowest free id, or 0 when every id is held or retired. */
static uint32_t
lowest_free_id(struct lc_user_registry *reg)
{
	for (uint32_t w = reg->free_hint; w < reg->words; w++) {
		if (reg->free_ids[w] != 0) {
			reg->free_hint = w;
			return w * 64 + (uint32_t)__builtin_ctzll(reg->free_ids[w]);
		}
	}
	reg->free_hint = reg->words;
	return 0;
}

static int
check_limits(const struct lc_user_limits *limits)
{
	if (limits == NULL)
		return 0;
	if (limits->fields & ~ALL_LIMITS)
		return -EINVAL;
	if (((limits->fields & LC_USER_LIMIT_UP) && limits->up > LC_RATE_MAX) ||
	    ((limits->fields & LC_USER_LIMIT_DOWN) &&
	     limits->down > LC_RATE_MAX))
		return -ERANGE;
	/* The shaper holds a burst in 32 bits: a wider one would be cut. */
	if (((limits->fields & LC_USER_LIMIT_BURST_UP) &&
	     limits->burst_up > LC_USER_BURST_MAX) ||
	    ((limits->fields & LC_USER_LIMIT_BURST_DOWN) &&
	     limits->burst_down > LC_USER_BURST_MAX))
		return -ERANGE;
	return 0;
}

/*
 * Apply the given limits to u (a copy, see next_user()): a rate given is
 * the user's own from now on, and one set to default is no longer (its
 * rate is then the plan's or the default: user_plan_inherit()).
 */
static void
apply_limits(struct lc_user *u, const struct lc_user_limits *limits)
{
	if (limits == NULL)
		return;
	if (limits->fields & LC_USER_LIMIT_UP)
		u->up = limits->up;
	if (limits->fields & LC_USER_LIMIT_DOWN)
		u->down = limits->down;
	if (limits->fields & LC_USER_LIMIT_BURST_UP)
		u->burst_up = limits->burst_up;
	if (limits->fields & LC_USER_LIMIT_BURST_DOWN)
		u->burst_down = limits->burst_down;
	if (limits->fields & LC_USER_LIMIT_PLAN)
		u->plan = limits->plan;
	if (limits->fields & LC_USER_LIMIT_UP_DEFAULT)
		u->own &= ~LC_USER_LIMIT_UP;
	if (limits->fields & LC_USER_LIMIT_DOWN_DEFAULT)
		u->own &= ~LC_USER_LIMIT_DOWN;
	u->own |= limits->fields & (LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN);
}

/*
 * The user cur (NULL: a new one) would be with limits applied, in *next:
 * the limits checked, the plan it joins there and with room, and the
 * rates it has not of its own (none given, or given back with default)
 * taken from its plan or the default. Nothing is changed.
 */
static int
next_user(const struct lc_user_registry *reg, const struct lc_user *cur,
	  const struct lc_user_limits *limits, struct lc_user *next)
{
	uint32_t was = cur != NULL ? cur->plan : 0;
	int rc = check_limits(limits);

	if (rc != 0)
		return rc;
	if (cur != NULL)
		*next = *cur;
	else
		*next = (struct lc_user){ .up = reg->default_up,
					  .down = reg->default_down };
	apply_limits(next, limits);
	if (next->plan != was && next->plan != 0) {
		const struct lc_plan *p = lc_user_plan_get(reg, next->plan);

		if (p == NULL)
			return -ENOENT;
		if (reg->plan_users != 0 && p->users >= reg->plan_users)
			return -ENOBUFS;
	}
	user_plan_inherit(reg, next);
	return 0;
}

/*
 * Make u what next_user() said, counting it out of its old plan and into
 * its new one. Returns whether anything saved in the file changed.
 */
static bool
commit_user(struct lc_user_registry *reg, struct lc_user *u,
	    const struct lc_user *next)
{
	bool changed = u->up != next->up || u->down != next->down ||
		       u->burst_up != next->burst_up ||
		       u->burst_down != next->burst_down ||
		       u->own != next->own || u->plan != next->plan;

	if (u->plan != next->plan) {
		if (u->plan != 0)
			reg->plans[u->plan].users--;
		if (next->plan != 0)
			reg->plans[next->plan].users++;
	}
	u->up = next->up;
	u->down = next->down;
	u->burst_up = next->burst_up;
	u->burst_down = next->burst_down;
	u->own = next->own;
	u->plan = next->plan;
	return changed;
}

/* Take a free id and an email that the caller checked and allocated. */
static struct lc_user *
place_user(struct lc_user_registry *reg, uint32_t id, char *email,
	   size_t len, uint32_t hash, bool is_static, uint64_t now)
{
	struct lc_user *u = &reg->users[id];

	*u = (struct lc_user){
		.email = email,
		.id = id,
		.email_len = (uint16_t)len,
		.is_static = is_static,
		.up = reg->default_up,
		.down = reg->default_down,
		.created = now,
	};
	bit_clear(reg->free_ids, id);
	bit_set(reg->live, id);
	user_email_index_insert(&reg->index, email, hash, id);
	if (is_static) {
		reg->n_static++;
		reg->static_gen++;
	} else {
		reg->n_dynamic++;
	}
	return u;
}

static int
create_user(struct lc_user_registry *reg, const char *email, size_t len,
	    uint32_t hash, bool is_static, const struct lc_user_limits *limits,
	    uint64_t now, const struct lc_user **out, bool *created)
{
	struct lc_user *u, next;
	uint32_t id;
	char *copy;
	int rc;

	rc = next_user(reg, NULL, limits, &next);
	if (rc != 0)
		return rc;
	id = lowest_free_id(reg);
	if (id == 0)
		return -ENOSPC;
	copy = malloc(len + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, email, len + 1);
	u = place_user(reg, id, copy, len, hash, is_static, now);
	commit_user(reg, u, &next);
	if (out != NULL)
		*out = u;
	if (created != NULL)
		*created = true;
	return 0;
}

/* Length of a valid email, or 0. */
static size_t
email_checked_len(const char *email)
{
	size_t len;

	if (email == NULL)
		return 0;
	len = strnlen(email, LC_USER_EMAIL_MAX + 1);
	return lc_user_email_valid(email, len) ? len : 0;
}

int
lc_user_set(struct lc_user_registry *reg, const char *email,
	    const struct lc_user_limits *limits, bool make_static,
	    uint64_t now, const struct lc_user **out, bool *created)
{
	size_t len = email_checked_len(email);
	uint32_t hash, id;
	struct lc_user *u, next;
	bool changed;
	int rc;

	if (len == 0)
		return -EINVAL;
	hash = user_email_index_hash(&reg->index, email, len);
	id = user_email_index_find(&reg->index, email, len, hash);
	if (id == 0)
		return create_user(reg, email, len, hash, make_static, limits,
				   now, out, created);

	u = &reg->users[id];
	rc = next_user(reg, u, limits, &next);
	if (rc != 0)
		return rc;
	changed = commit_user(reg, u, &next);
	if (make_static && !u->is_static) {
		u->is_static = true;
		reg->n_dynamic--;
		reg->n_static++;
		changed = true;
	}
	if (changed && u->is_static)
		reg->static_gen++;
	if (out != NULL)
		*out = u;
	if (created != NULL)
		*created = false;
	return 0;
}

int
lc_user_preview(const struct lc_user_registry *reg, const char *email,
		const struct lc_user_limits *limits, struct lc_user *next)
{
	const struct lc_user *u;
	int rc;

	if (email_checked_len(email) == 0)
		return -EINVAL;
	u = lc_user_find(reg, email);
	rc = next_user(reg, u, limits, next);
	/* A new user needs a free id too; lowest_free_id() would move a hint. */
	if (rc == 0 && u == NULL && lc_user_count(reg, NULL, NULL) +
	    reg->n_retired >= reg->capacity)
		return -ENOSPC;
	return rc;
}

int
lc_user_ensure_dynamic(struct lc_user_registry *reg, const char *email,
		       uint64_t default_up, uint64_t default_down,
		       uint64_t now, const struct lc_user **out, bool *created)
{
	const struct lc_user_limits limits = {
		.fields = LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN,
		.up = default_up,
		.down = default_down,
	};
	size_t len = email_checked_len(email);
	uint32_t hash, id;
	int rc;

	if (len == 0)
		return -EINVAL;
	rc = check_limits(&limits);
	if (rc != 0)
		return rc;
	hash = user_email_index_hash(&reg->index, email, len);
	id = user_email_index_find(&reg->index, email, len, hash);
	if (id == 0) {
		const struct lc_user *u;

		rc = create_user(reg, email, len, hash, false, &limits, now,
				 &u, created);
		if (rc != 0)
			return rc;
		/*
		 * The rates an assignment gives are the defaults, not the
		 * user's own: a plan it is put in later gives its own.
		 */
		reg->users[u->id].own = 0;
		if (out != NULL)
			*out = u;
		return 0;
	}
	if (out != NULL)
		*out = &reg->users[id];
	if (created != NULL)
		*created = false;
	return 0;
}

const struct lc_user *
lc_user_find(const struct lc_user_registry *reg, const char *email)
{
	size_t len;
	uint32_t id;

	if (email == NULL)
		return NULL;
	len = strnlen(email, LC_USER_EMAIL_MAX + 1);
	if (len == 0 || len > LC_USER_EMAIL_MAX)
		return NULL;
	id = user_email_index_find(&reg->index, email, len,
				   user_email_index_hash(&reg->index, email,
							 len));
	return id != 0 ? &reg->users[id] : NULL;
}

const struct lc_user *
lc_user_get(const struct lc_user_registry *reg, uint32_t id)
{
	return id_live(reg, id) ? &reg->users[id] : NULL;
}

int
lc_user_del(struct lc_user_registry *reg, uint32_t id)
{
	struct lc_user *u;

	if (!id_live(reg, id))
		return -ENOENT;
	u = &reg->users[id];
	if (u->plan != 0)
		reg->plans[u->plan].users--;
	user_email_index_remove(&reg->index,
				user_email_index_hash(&reg->index, u->email,
						      u->email_len),
				id);
	if (u->is_static) {
		reg->n_static--;
		reg->static_gen++;
	} else {
		reg->n_dynamic--;
	}
	free((char *)u->email);
	memset(u, 0, sizeof(*u));
	/* Neither live nor free: retired until the worker lets go of it. */
	bit_clear(reg->live, id);
	reg->n_retired++;
	return 0;
}

int
lc_user_reclaim(struct lc_user_registry *reg, uint32_t id)
{
	if (id == 0 || id > reg->capacity || bit_test(reg->free_ids, id))
		return -ENOENT;
	if (bit_test(reg->live, id))
		return -EBUSY;
	bit_set(reg->free_ids, id);
	reg->n_retired--;
	if (id / 64 < reg->free_hint)
		reg->free_hint = id / 64;
	return 0;
}

uint32_t
lc_user_count(const struct lc_user_registry *reg, uint32_t *static_n,
	      uint32_t *dynamic_n)
{
	if (static_n != NULL)
		*static_n = reg->n_static;
	if (dynamic_n != NULL)
		*dynamic_n = reg->n_dynamic;
	return reg->n_static + reg->n_dynamic;
}

uint32_t
lc_user_retired_count(const struct lc_user_registry *reg)
{
	return reg->n_retired;
}

const struct lc_user *
lc_user_next(const struct lc_user_registry *reg, uint32_t *cursor)
{
	uint32_t from = *cursor + 1;
	uint32_t w;
	uint64_t bits;

	if (*cursor >= reg->capacity)
		return NULL;
	w = from / 64;
	bits = reg->live[w] & (~UINT64_C(0) << (from % 64));
	for (;;) {
		if (bits != 0) {
			uint32_t id = w * 64 + (uint32_t)__builtin_ctzll(bits);

			*cursor = id;
			return &reg->users[id];
		}
		if (++w >= reg->words)
			break;
		bits = reg->live[w];
	}
	*cursor = reg->capacity;
	return NULL;
}

int
lc_user_note_activity(struct lc_user_registry *reg, uint32_t id,
		      uint64_t last_traffic, uint32_t active_flows)
{
	struct lc_user *u;

	if (!id_live(reg, id))
		return -ENOENT;
	u = &reg->users[id];
	if (last_traffic > u->last_traffic)
		u->last_traffic = last_traffic;
	u->active_flows = active_flows;
	return 0;
}

uint64_t
lc_user_static_generation(const struct lc_user_registry *reg)
{
	return reg->static_gen;
}

/* Seconds from then to now; 0 when the clock says then is in the future. */
static uint64_t
elapsed(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

unsigned
lc_user_gc(struct lc_user_registry *reg, uint64_t now, uint64_t min_age,
	   uint64_t idle, uint32_t removed[], unsigned max)
{
	uint32_t cursor = 0;
	const struct lc_user *u;
	unsigned n = 0;

	while (n < max && (u = lc_user_next(reg, &cursor)) != NULL) {
		/*
		 * Idle time runs from the last packet, or from creation for
		 * a user that never had one. Taking the later of the two
		 * also covers traffic noted with a time before creation.
		 */
		uint64_t quiet_since = u->last_traffic > u->created ?
			u->last_traffic : u->created;

		if (u->is_static || u->active_flows != 0 ||
		    elapsed(now, u->created) < min_age ||
		    elapsed(now, quiet_since) < idle)
			continue;
		removed[n++] = u->id;
		lc_user_del(reg, u->id);
	}
	return n;
}

bool
user_registry_id_free(const struct lc_user_registry *reg, uint32_t id)
{
	return id != 0 && id <= reg->capacity && bit_test(reg->free_ids, id);
}

void
user_registry_add_static(struct lc_user_registry *reg, uint32_t id,
			 char *email, size_t len,
			 const struct lc_user_limits *limits, uint64_t now)
{
	struct lc_user *u, next;

	/* The loader checked what next_user() checks: it cannot fail here. */
	next_user(reg, NULL, limits, &next);
	u = place_user(reg, id, email, len,
		       user_email_index_hash(&reg->index, email, len), true,
		       now);
	commit_user(reg, u, &next);
}
