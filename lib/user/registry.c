/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lc_rate.h"
#include "lc_user.h"
#include "user_private.h"

/*
 * Users live in an array indexed by id, so lc_user_get() is an index and a
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
};

#define ALL_LIMITS (LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN | \
		    LC_USER_LIMIT_BURST_UP | LC_USER_LIMIT_BURST_DOWN)

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
	    params->default_down > LC_RATE_MAX) {
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

/* Apply the given limits; returns whether anything changed. */
static bool
apply_limits(struct lc_user *u, const struct lc_user_limits *limits)
{
	bool changed = false;

	if (limits == NULL)
		return false;
#define APPLY(flag, field)                                              \
	do {                                                            \
		if ((limits->fields & (flag)) &&                        \
		    u->field != limits->field) {                        \
			u->field = limits->field;                       \
			changed = true;                                 \
		}                                                       \
	} while (0)
	APPLY(LC_USER_LIMIT_UP, up);
	APPLY(LC_USER_LIMIT_DOWN, down);
	APPLY(LC_USER_LIMIT_BURST_UP, burst_up);
	APPLY(LC_USER_LIMIT_BURST_DOWN, burst_down);
#undef APPLY
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
	uint32_t id = lowest_free_id(reg);
	struct lc_user *u;
	char *copy;

	if (id == 0)
		return -ENOSPC;
	copy = malloc(len + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, email, len + 1);
	u = place_user(reg, id, copy, len, hash, is_static, now);
	apply_limits(u, limits);
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
	struct lc_user *u;
	bool changed;
	int rc;

	if (len == 0)
		return -EINVAL;
	rc = check_limits(limits);
	if (rc != 0)
		return rc;
	hash = user_email_index_hash(&reg->index, email, len);
	id = user_email_index_find(&reg->index, email, len, hash);
	if (id == 0)
		return create_user(reg, email, len, hash, make_static, limits,
				   now, out, created);

	u = &reg->users[id];
	changed = apply_limits(u, limits);
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
	if (id == 0)
		return create_user(reg, email, len, hash, false, &limits, now,
				   out, created);
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
	struct lc_user *u;

	u = place_user(reg, id, email, len,
		       user_email_index_hash(&reg->index, email, len), true,
		       now);
	apply_limits(u, limits);
}
