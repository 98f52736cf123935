/* SPDX-License-Identifier: MIT */
/*
 * Plans: named groups of users sharing a total rate, in the registry's
 * fixed table of LC_USER_PLANS_MAX slots. There are few plans, so a name
 * is found by a scan; a plan's users are found by a scan of the users,
 * which only a change of the plan's per-user rates needs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lc_rate.h"
#include "lc_user.h"
#include "user_private.h"

#define ALL_PLAN_FIELDS (LC_PLAN_TOTAL_UP | LC_PLAN_TOTAL_DOWN | LC_PLAN_UP | \
			 LC_PLAN_DOWN | LC_PLAN_WEIGHT)

bool
lc_user_plan_name_valid(const char *s)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, LC_PLAN_NAME_MAX + 1);
	if (len == 0 || len > LC_PLAN_NAME_MAX)
		return false;
	/* The name goes into the state file, metrics labels and JSON as is. */
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789._-") == len;
}

int
lc_user_plan_parse_limits(int argc, char **argv, struct lc_plan_limits *lim,
			  char *err, size_t errlen)
{
	static const struct {
		const char *key;
		uint32_t fields;
	} keys[] = {
		{ "total", LC_PLAN_TOTAL_UP | LC_PLAN_TOTAL_DOWN },
		{ "total_up", LC_PLAN_TOTAL_UP },
		{ "total_down", LC_PLAN_TOTAL_DOWN },
		{ "up", LC_PLAN_UP },
		{ "down", LC_PLAN_DOWN },
		{ "weight", LC_PLAN_WEIGHT },
	};
	struct lc_plan_limits l = { 0 };

	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t klen = eq != NULL ? (size_t)(eq - argv[i]) : 0;
		size_t k;
		uint64_t v;
		int rc;

		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (klen == strlen(keys[k].key) &&
			    strncmp(argv[i], keys[k].key, klen) == 0)
				break;
		if (k == sizeof(keys) / sizeof(keys[0])) {
			snprintf(err, errlen, "unknown argument '%.*s%s' (total=RATE, "
				 "total_up=RATE, total_down=RATE, up=RATE, down=RATE, "
				 "weight=N)",
				 (int)lc_email_cut(argv[i], strlen(argv[i]), 64),
				 argv[i], strlen(argv[i]) > 64 ? "..." : "");
			return -EINVAL;
		}
		if (keys[k].fields == LC_PLAN_WEIGHT) {
			rc = user_parse_weight(eq + 1, &l.weight, err, errlen);
			if (rc != 0)
				return rc;
			l.fields |= LC_PLAN_WEIGHT;
			continue;
		}
		rc = user_parse_rate(eq + 1, true, &v, err, errlen);
		if (rc != 0)
			return rc;
		l.fields |= keys[k].fields;
		if (keys[k].fields & LC_PLAN_TOTAL_UP)
			l.total_up = v;
		if (keys[k].fields & LC_PLAN_TOTAL_DOWN)
			l.total_down = v;
		if (keys[k].fields & LC_PLAN_UP)
			l.up = v;
		if (keys[k].fields & LC_PLAN_DOWN)
			l.down = v;
	}
	*lim = l;
	return 0;
}

int
user_plan_check_limits(const struct lc_plan_limits *lim)
{
	if (lim == NULL)
		return 0;
	if (lim->fields & ~ALL_PLAN_FIELDS)
		return -EINVAL;
	if (lim->total_up > LC_RATE_MAX || lim->total_down > LC_RATE_MAX ||
	    lim->up > LC_RATE_MAX || lim->down > LC_RATE_MAX)
		return -ERANGE;
	if ((lim->fields & LC_PLAN_WEIGHT) &&
	    (lim->weight < 1 || lim->weight > LC_PLAN_WEIGHT_MAX))
		return -ERANGE;
	return 0;
}

uint64_t
lc_user_plan_rate(const struct lc_user_registry *reg, uint32_t dir,
		  uint64_t plan_rate)
{
	if (plan_rate != 0)
		return plan_rate;
	return dir == LC_USER_LIMIT_UP ? reg->default_up : reg->default_down;
}

/* The per-user rate of u's plan in direction dir; 0: none, or no plan. */
static uint64_t
user_plan_dir_rate(const struct lc_user_registry *reg, const struct lc_user *u,
		   uint32_t dir)
{
	const struct lc_plan *p = lc_user_plan_get(reg, u->plan);

	if (p == NULL)
		return 0;
	return dir == LC_USER_LIMIT_UP ? p->up : p->down;
}

void
user_plan_inherit(const struct lc_user_registry *reg, struct lc_user *u)
{
	if (!(u->own & LC_USER_LIMIT_UP))
		u->up = lc_user_plan_rate(reg, LC_USER_LIMIT_UP,
					  user_plan_dir_rate(reg, u, LC_USER_LIMIT_UP));
	if (!(u->own & LC_USER_LIMIT_DOWN))
		u->down = lc_user_plan_rate(reg, LC_USER_LIMIT_DOWN,
					    user_plan_dir_rate(reg, u, LC_USER_LIMIT_DOWN));
}

const char *
lc_user_rate_from(const struct lc_user_registry *reg, const struct lc_user *u,
		  uint32_t dir)
{
	if (u->own & dir)
		return "own";
	return user_plan_dir_rate(reg, u, dir) != 0 ? "plan" : "default";
}

uint32_t
lc_user_plan_slots(const struct lc_user_registry *reg)
{
	return reg->plan_slots;
}

uint32_t
lc_user_plan_capacity(const struct lc_user_registry *reg)
{
	return reg->plan_users;
}

uint32_t
lc_user_plan_free_id(const struct lc_user_registry *reg)
{
	for (uint32_t id = 1; id <= reg->plan_slots; id++)
		if (reg->plans[id].name[0] == '\0')
			return id;
	return 0;
}

const struct lc_plan *
lc_user_plan_get(const struct lc_user_registry *reg, uint32_t id)
{
	if (id == 0 || id > reg->plan_slots || reg->plans[id].name[0] == '\0')
		return NULL;
	return &reg->plans[id];
}

const struct lc_plan *
lc_user_plan_find(const struct lc_user_registry *reg, const char *name)
{
	if (!lc_user_plan_name_valid(name))
		return NULL;
	for (uint32_t id = 1; id <= reg->plan_slots; id++)
		if (strcmp(reg->plans[id].name, name) == 0)
			return &reg->plans[id];
	return NULL;
}

const struct lc_plan *
lc_user_plan_next(const struct lc_user_registry *reg, uint32_t *cursor)
{
	while (*cursor < reg->plan_slots) {
		const struct lc_plan *p = lc_user_plan_get(reg, ++*cursor);

		if (p != NULL)
			return p;
	}
	return NULL;
}

/* Apply the given values to plan p. */
static void
apply_plan(struct lc_plan *p, const struct lc_plan_limits *lim)
{
	if (lim == NULL)
		return;
	if (lim->fields & LC_PLAN_TOTAL_UP)
		p->total_up = lim->total_up;
	if (lim->fields & LC_PLAN_TOTAL_DOWN)
		p->total_down = lim->total_down;
	if (lim->fields & LC_PLAN_UP)
		p->up = lim->up;
	if (lim->fields & LC_PLAN_DOWN)
		p->down = lim->down;
	if (lim->fields & LC_PLAN_WEIGHT)
		p->weight = lim->weight;
}

void
user_plan_place(struct lc_user_registry *reg, uint32_t id, const char *name,
		const struct lc_plan_limits *lim)
{
	struct lc_plan *p = &reg->plans[id];

	*p = (struct lc_plan){ .id = id, .weight = LC_PLAN_WEIGHT_DEFAULT };
	snprintf(p->name, sizeof(p->name), "%s", name);
	apply_plan(p, lim);
	reg->static_gen++;
}

/* The users of plan id without rates of their own take its new ones. */
static void
plan_users_inherit(struct lc_user_registry *reg, uint32_t id)
{
	uint32_t cursor = 0;
	const struct lc_user *u;

	while ((u = lc_user_next(reg, &cursor)) != NULL)
		if (u->plan == id)
			user_plan_inherit(reg, &reg->users[u->id]);
}

int
lc_user_plan_preview(const struct lc_user_registry *reg, const char *name,
		     const struct lc_plan_limits *lim, struct lc_plan *next)
{
	const struct lc_plan *found;
	int rc;

	if (!lc_user_plan_name_valid(name))
		return -EINVAL;
	rc = user_plan_check_limits(lim);
	if (rc != 0)
		return rc;
	found = lc_user_plan_find(reg, name);
	if (found != NULL) {
		*next = *found;
	} else {
		*next = (struct lc_plan){ .id = lc_user_plan_free_id(reg),
					  .weight = LC_PLAN_WEIGHT_DEFAULT };
		if (next->id == 0)
			return -ENOSPC;
		snprintf(next->name, sizeof(next->name), "%s", name);
	}
	apply_plan(next, lim);
	return 0;
}

int
lc_user_plan_set(struct lc_user_registry *reg, const char *name,
		 const struct lc_plan_limits *lim, const struct lc_plan **out,
		 bool *created)
{
	struct lc_plan next, *p;
	bool is_new, rates;
	int rc;

	rc = lc_user_plan_preview(reg, name, lim, &next);
	if (rc != 0)
		return rc;
	p = &reg->plans[next.id];
	is_new = p->name[0] == '\0';
	rates = p->up != next.up || p->down != next.down;
	/* Field by field: the name's padding may differ. */
	if (is_new || rates || p->total_up != next.total_up ||
	    p->total_down != next.total_down || p->weight != next.weight)
		reg->static_gen++;
	*p = next;
	/* A new plan has no users yet. */
	if (!is_new && rates)
		plan_users_inherit(reg, p->id);
	if (out != NULL)
		*out = p;
	if (created != NULL)
		*created = is_new;
	return 0;
}

int
lc_user_plan_del(struct lc_user_registry *reg, const char *name)
{
	const struct lc_plan *p = lc_user_plan_find(reg, name);

	if (p == NULL)
		return -ENOENT;
	if (p->users != 0)
		return -EBUSY;
	memset(&reg->plans[p->id], 0, sizeof(reg->plans[0]));
	reg->static_gen++;
	return 0;
}
