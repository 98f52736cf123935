/* SPDX-License-Identifier: MIT */
/*
 * The state file: plans, then static users, one per line, between a
 * version header and an `end COUNT` trailer. docs/USERS.md describes the
 * format. Version 1 has users only, each with both rates; version 2 adds
 * plans, a user's plan and users without a rate of their own; a plan's
 * weight= came later, within version 2, and a plan line without one has
 * weight 1. A file that needs nothing of version 2 is written as version
 * 1, so that an older linecap still reads it. The trailer and
 * the rule that every line ends in a newline mean that a file cut at any
 * byte is refused rather than half loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lc_file.h"
#include "lc_num.h"
#include "lc_rate.h"
#include "lc_user.h"
#include "user_private.h"

#define STORE_MAGIC "linecap-users"
#define STORE_VERSION "2"   /* the newest this linecap reads */
#define STORE_VERSION_MAX 2
#define STORE_LINE_MAX 4096 /* far above the longest line linecap writes */
/*
 * The largest file a registry loads: the header and trailer, and 1 KiB a
 * user, three times the longest line linecap writes (about 340 bytes with
 * a 255-byte email), which leaves room for hand-made spacing and comments.
 */
#define STORE_FILE_BASE (UINT64_C(64) << 10)
#define STORE_BYTES_PER_USER UINT64_C(1024)
#define DIR_MODE 0750       /* emails identify people: not world-readable */
#define FILE_MODE 0640

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * A token from the file, fit to quote in an error: at most 64 bytes, and
 * anything but printable ASCII as \xNN, so the message is printable and
 * valid UTF-8 whatever the file holds.
 */
static const char *
quote(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; s[i] != '\0' && i < 64 && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
	}
	buf[o] = '\0';
	return buf;
}

/* Create dir and its missing parents. Returns 0 or -errno. */
static int
make_dirs(const char *dir)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t len = strlen(dir);

	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, DIR_MODE) != 0 && errno != EEXIST)
			return -errno;
		buf[i] = dir[i];
	}
	if (stat(dir, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Whether the file needs version 2: plans, or users of their features. */
static bool
needs_v2(const struct lc_user_registry *reg)
{
	const uint32_t both = LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN;
	const struct lc_user *u;
	uint32_t cursor = 0;

	if (lc_user_plan_next(reg, &cursor) != NULL)
		return true;
	cursor = 0;
	while ((u = lc_user_next(reg, &cursor)) != NULL)
		if (u->is_static && (u->plan != 0 || (u->own & both) != both))
			return true;
	return false;
}

/* "plan ID NAME total_up=RATE total_down=RATE up=RATE down=RATE weight=N" */
static void
write_plans(const struct lc_user_registry *reg, FILE *f)
{
	const struct lc_plan *p;
	uint32_t cursor = 0;
	char r[4][32];

	while ((p = lc_user_plan_next(reg, &cursor)) != NULL)
		fprintf(f, "plan %" PRIu32 " %s total_up=%s total_down=%s up=%s "
			"down=%s weight=%" PRIu32 "\n", p->id, p->name,
			lc_rate_format(p->total_up, r[0], sizeof(r[0])),
			lc_rate_format(p->total_down, r[1], sizeof(r[1])),
			lc_rate_format(p->up, r[2], sizeof(r[2])),
			lc_rate_format(p->down, r[3], sizeof(r[3])), p->weight);
}

/*
 * "user ID EMAIL [up=RATE] [down=RATE] burst_up=N burst_down=N
 * [plan=NAME]": a rate is written only when it is the user's own, so that
 * a user without one follows its plan (or the default) after a restart.
 */
static void
write_user(const struct lc_user_registry *reg, const struct lc_user *u,
	   FILE *f)
{
	const struct lc_plan *p = lc_user_plan_get(reg, u->plan);
	char rate[32];

	fprintf(f, "user %" PRIu32 " %s", u->id, u->email);
	if (u->own & LC_USER_LIMIT_UP)
		fprintf(f, " up=%s", lc_rate_format(u->up, rate, sizeof(rate)));
	if (u->own & LC_USER_LIMIT_DOWN)
		fprintf(f, " down=%s", lc_rate_format(u->down, rate, sizeof(rate)));
	fprintf(f, " burst_up=%" PRIu64 " burst_down=%" PRIu64, u->burst_up,
		u->burst_down);
	if (p != NULL)
		fprintf(f, " plan=%s", p->name);
	fputc('\n', f);
}

static int
write_users(const struct lc_user_registry *reg, FILE *f)
{
	const struct lc_user *u;
	uint32_t cursor = 0, n = 0;

	fprintf(f, STORE_MAGIC " %d\n", needs_v2(reg) ? 2 : 1);
	write_plans(reg, f);
	while ((u = lc_user_next(reg, &cursor)) != NULL) {
		if (!u->is_static)
			continue;
		write_user(reg, u, f);
		n++;
	}
	fprintf(f, "end %" PRIu32 "\n", n);
	return ferror(f) ? -EIO : 0;
}

int
lc_user_save(const struct lc_user_registry *reg, const char *path, char *err,
	     size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX], copy[PATH_MAX];
	FILE *f = NULL;
	int fd, rc;

	if (path == NULL || path[0] == '\0') {
		set_err(err, errlen, "no state file path");
		return -EINVAL;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		set_err(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	/* dirname() may write into its argument and return a pointer to it. */
	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(dir, sizeof(dir), "%s", dirname(copy));

	rc = make_dirs(dir);
	if (rc != 0) {
		set_err(err, errlen, "%s: cannot create directory %s: %s", path,
			dir, strerror(-rc));
		return rc;
	}
	/*
	 * A crash may have left path.tmp behind. Remove it and create afresh
	 * with O_EXCL, which also refuses to follow a symbolic link planted
	 * in its place.
	 */
	if (unlink(tmp) != 0 && errno != ENOENT) {
		rc = -errno;
		set_err(err, errlen, "%s: cannot remove stale %s: %s", path,
			tmp, strerror(errno));
		return rc;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
	if (fd < 0) {
		rc = -errno;
		set_err(err, errlen, "%s: cannot create %s: %s", path, tmp,
			strerror(errno));
		return rc;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		rc = -errno;
		close(fd);
		set_err(err, errlen, "%s: %s", tmp, strerror(-rc));
		goto fail;
	}
	rc = write_users(reg, f);
	if (rc == 0 && fflush(f) != 0)
		rc = -errno;
	if (rc == 0 && fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc != 0) {
		set_err(err, errlen, "%s: cannot write %s: %s", path, tmp,
			strerror(-rc));
		goto fail;
	}
	/* The data is on disk before the name points at it. */
	if (rename(tmp, path) != 0) {
		rc = -errno;
		set_err(err, errlen, "%s: cannot rename %s: %s", path, tmp,
			strerror(errno));
		goto fail;
	}
	/* And the rename itself survives a power cut. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		rc = -errno;
		set_err(err, errlen, "%s: written, but cannot sync %s: %s", path,
			dir, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return rc;
fail:
	unlink(tmp);
	return rc;
}

/* One user line, parsed and checked, waiting for the whole file. */
struct store_entry {
	char *email; /* malloc'd; handed to the registry on success */
	size_t email_len;
	uint32_t id;
	unsigned line;
	struct lc_user_limits limits;
};

/* One plan line, parsed and checked, waiting for the whole file. */
struct store_plan {
	char name[LC_PLAN_NAME_MAX + 1]; /* "": no line for this id */
	unsigned line;
	uint32_t users;               /* user lines that name it */
	struct lc_plan_limits limits;
};

struct store_load {
	const char *path;
	int version;
	struct store_plan plans[LC_USER_PLANS_MAX + 1]; /* by id */
	char *err;
	size_t errlen;
	struct lc_user_registry *reg;
	struct store_entry *ents;
	size_t n, cap;
	unsigned *id_line;            /* [capacity + 1]: line of each id, 0 */
	struct user_email_index seen; /* emails of the file -> entry + 1 */
	unsigned line;
};

static int __attribute__((format(printf, 2, 3)))
bad_line(struct store_load *ld, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_err(ld->err, ld->errlen, "%s:%u: %s", ld->path, ld->line, msg);
	return -EINVAL;
}

/* find_field() sets bit i for names[i]: the limits' bits, in order. */
_Static_assert(LC_USER_LIMIT_UP == 1u && LC_USER_LIMIT_DOWN == 2u &&
	       LC_USER_LIMIT_BURST_UP == 4u && LC_USER_LIMIT_BURST_DOWN == 8u,
	       "user fields by bit");
_Static_assert(LC_PLAN_TOTAL_UP == 1u && LC_PLAN_TOTAL_DOWN == 2u &&
	       LC_PLAN_UP == 4u && LC_PLAN_DOWN == 8u && LC_PLAN_WEIGHT == 16u,
	       "plan fields by bit");

/*
 * The field tok ("name=value") among names[n], each allowed once: its
 * index i, with *val at its value and bit 1 << i set in *seen; or -EINVAL
 * with the message (a bad, unknown or duplicate field).
 */
static int
find_field(struct store_load *ld, char *tok, const char *const names[],
	   size_t n, uint32_t *seen, const char **val)
{
	char *eq = strchr(tok, '=');
	char q[352];

	if (eq == NULL)
		return bad_line(ld, "bad field '%s'", quote(tok, q, sizeof(q)));
	*eq = '\0';
	for (size_t i = 0; i < n; i++) {
		if (strcmp(tok, names[i]) != 0)
			continue;
		if (*seen & (UINT32_C(1) << i))
			return bad_line(ld, "duplicate field '%s'", tok);
		*seen |= UINT32_C(1) << i;
		*val = eq + 1;
		return (int)i;
	}
	return bad_line(ld, "unknown field '%s'", quote(tok, q, sizeof(q)));
}

/* A rate field's value: 0, or -EINVAL with the message. */
static int
parse_rate_field(struct store_load *ld, const char *val, uint64_t *v)
{
	int rc = lc_rate_parse(val, v);
	char q[352];

	if (rc == -ERANGE)
		return bad_line(ld, "rate '%s' above the maximum",
				quote(val, q, sizeof(q)));
	if (rc != 0)
		return bad_line(ld, "bad rate '%s'", quote(val, q, sizeof(q)));
	return 0;
}

/* A user line's field: up, down, burst_up or burst_down, each once. */
static int
parse_field(struct store_load *ld, struct lc_user_limits *lim, char *tok)
{
	/* In the order of their bits, LC_USER_LIMIT_UP to _BURST_DOWN. */
	static const char *const names[] = { "up", "down", "burst_up",
					     "burst_down" };
	uint64_t *const dst[] = { &lim->up, &lim->down, &lim->burst_up,
				  &lim->burst_down };
	uint32_t seen = lim->fields;
	const char *val;
	char q[352];
	int i, rc;

	i = find_field(ld, tok, names, 4, &seen, &val);
	if (i < 0)
		return i;
	if (i < 2) {
		rc = parse_rate_field(ld, val, dst[i]);
		if (rc != 0)
			return rc;
	} else {
		rc = lc_num_parse_u64(val, 0, LC_USER_BURST_MAX, dst[i]);
		if (rc == -ERANGE)
			return bad_line(ld, "burst '%s' above the maximum %" PRIu32,
					quote(val, q, sizeof(q)), LC_USER_BURST_MAX);
		if (rc != 0)
			return bad_line(ld, "bad burst '%s'", quote(val, q, sizeof(q)));
	}
	lim->fields = seen;
	return 0;
}

/* A plan line's id among the plans above, by name; 0 if none. */
static uint32_t
store_plan_id(const struct store_load *ld, const char *name)
{
	for (uint32_t id = 1; id <= LC_USER_PLANS_MAX; id++)
		if (strcmp(ld->plans[id].name, name) == 0)
			return id;
	return 0;
}

/* A user's plan=NAME: a plan of a line above, with room for one more. */
static int
parse_user_plan(struct store_load *ld, struct lc_user_limits *lim,
		const char *name)
{
	const uint32_t room = lc_user_plan_capacity(ld->reg);
	uint32_t id;
	char q[352];

	if (lim->fields & LC_USER_LIMIT_PLAN)
		return bad_line(ld, "duplicate field 'plan'");
	id = lc_user_plan_name_valid(name) ? store_plan_id(ld, name) : 0;
	if (id == 0)
		return bad_line(ld, "plan '%s' not defined by a plan line above",
				quote(name, q, sizeof(q)));
	if (room != 0 && ld->plans[id].users >= room)
		return bad_line(ld, "plan '%s' holds more than %" PRIu32 " users "
				"([shaper] plan_users)", name, room);
	lim->fields |= LC_USER_LIMIT_PLAN;
	lim->plan = id;
	return 0;
}

/*
 * A plan line's field: total_up, total_down, up, down or weight, each
 * once. A line without weight= (one written before plans had weights)
 * leaves the plan at LC_PLAN_WEIGHT_DEFAULT.
 */
static int
parse_plan_field(struct store_load *ld, struct lc_plan_limits *lim, char *tok)
{
	/* In the order of their bits, LC_PLAN_TOTAL_UP to LC_PLAN_WEIGHT. */
	static const char *const names[] = { "total_up", "total_down", "up",
					     "down", "weight" };
	uint64_t *const dst[] = { &lim->total_up, &lim->total_down, &lim->up,
				  &lim->down };
	uint32_t seen = lim->fields;
	const char *val;
	uint64_t v;
	char q[352];
	int i, rc;

	i = find_field(ld, tok, names, 5, &seen, &val);
	if (i < 0)
		return i;
	if (i < 4) {
		rc = parse_rate_field(ld, val, dst[i]);
		if (rc != 0)
			return rc;
	} else {
		rc = lc_num_parse_u64(val, 1, LC_PLAN_WEIGHT_MAX, &v);
		if (rc == -ERANGE)
			return bad_line(ld, "weight '%s' out of range: 1 to %u",
					quote(val, q, sizeof(q)), LC_PLAN_WEIGHT_MAX);
		if (rc != 0)
			return bad_line(ld, "bad weight '%s'", quote(val, q, sizeof(q)));
		lim->weight = (uint32_t)v;
	}
	lim->fields = seen;
	return 0;
}

/*
 * "plan ID NAME [total_up=RATE] [total_down=RATE] [up=RATE] [down=RATE]
 * [weight=N]"
 */
static int
parse_plan(struct store_load *ld, char **save)
{
	const uint32_t slots = lc_user_plan_slots(ld->reg);
	struct store_plan *sp;
	char *tok, *name, q[352];
	uint64_t id;
	int rc;

	if (ld->n > 0)
		return bad_line(ld, "plan line after a user line");
	tok = strtok_r(NULL, " \t", save);
	if (tok == NULL)
		return bad_line(ld, "missing plan id");
	rc = lc_num_parse_u64(tok, 1, LC_USER_PLANS_MAX, &id);
	if (rc != 0)
		return bad_line(ld, "bad plan id '%s'", quote(tok, q, sizeof(q)));
	if (id > slots)
		return bad_line(ld, "plan id %" PRIu64 " above [shaper] plans = %"
				PRIu32, id, slots);
	sp = &ld->plans[id];
	if (sp->line != 0)
		return bad_line(ld, "duplicate plan id %" PRIu64 " (first on line "
				"%u)", id, sp->line);
	name = strtok_r(NULL, " \t", save);
	if (name == NULL)
		return bad_line(ld, "missing plan name");
	if (!lc_user_plan_name_valid(name))
		return bad_line(ld, "bad plan name '%s'", quote(name, q, sizeof(q)));
	if (store_plan_id(ld, name) != 0)
		return bad_line(ld, "duplicate plan name '%s' (first on line %u)",
				name, ld->plans[store_plan_id(ld, name)].line);
	while ((tok = strtok_r(NULL, " \t", save)) != NULL) {
		rc = parse_plan_field(ld, &sp->limits, tok);
		if (rc != 0)
			return rc;
	}
	snprintf(sp->name, sizeof(sp->name), "%s", name);
	sp->line = ld->line;
	return 0;
}

/* "user ID EMAIL up=RATE down=RATE [burst_up=N] [burst_down=N]" */
static int
parse_user(struct store_load *ld, char **save)
{
	struct store_entry e = { .line = ld->line };
	const uint32_t capacity = lc_user_capacity(ld->reg);
	char *tok, *email, q[352];
	uint32_t hash, prev;
	uint64_t id;
	int rc;

	tok = strtok_r(NULL, " \t", save);
	if (tok == NULL)
		return bad_line(ld, "missing id");
	rc = lc_num_parse_u64(tok, 1, capacity, &id);
	if (rc == -ERANGE && tok[0] != '0')
		return bad_line(ld, "id %s over capacity %" PRIu32,
				quote(tok, q, sizeof(q)), capacity);
	if (rc != 0)
		return bad_line(ld, "bad id '%s'", quote(tok, q, sizeof(q)));
	if (ld->id_line[id] != 0)
		return bad_line(ld, "duplicate id %" PRIu64 " (first on line %u)",
				id, ld->id_line[id]);
	e.id = (uint32_t)id;

	email = strtok_r(NULL, " \t", save);
	if (email == NULL)
		return bad_line(ld, "missing email");
	e.email_len = strlen(email);
	if (!lc_user_email_valid(email, e.email_len))
		return bad_line(ld, "bad email '%s'", quote(email, q, sizeof(q)));
	hash = user_email_index_hash(&ld->seen, email, e.email_len);
	prev = user_email_index_find(&ld->seen, email, e.email_len, hash);
	if (prev != 0)
		return bad_line(ld, "duplicate email '%s' (first on line %u)",
				quote(email, q, sizeof(q)),
				ld->ents[prev - 1].line);

	while ((tok = strtok_r(NULL, " \t", save)) != NULL) {
		if (ld->version >= 2 && strncmp(tok, "plan=", 5) == 0)
			rc = parse_user_plan(ld, &e.limits, tok + 5);
		else
			rc = parse_field(ld, &e.limits, tok);
		if (rc != 0)
			return rc;
	}
	/* Version 2 leaves out a rate that is not the user's own. */
	if (ld->version < 2 && !(e.limits.fields & LC_USER_LIMIT_UP))
		return bad_line(ld, "missing up=");
	if (ld->version < 2 && !(e.limits.fields & LC_USER_LIMIT_DOWN))
		return bad_line(ld, "missing down=");
	if (e.limits.fields & LC_USER_LIMIT_PLAN)
		ld->plans[e.limits.plan].users++;

	if (ld->n == ld->cap) {
		size_t cap = ld->cap ? ld->cap * 2 : 64;
		struct store_entry *ents = realloc(ld->ents, cap * sizeof(*ents));

		if (ents == NULL)
			goto nomem;
		ld->ents = ents;
		ld->cap = cap;
	}
	e.email = strdup(email);
	if (e.email == NULL)
		goto nomem;
	ld->ents[ld->n++] = e;
	ld->id_line[e.id] = e.line;
	user_email_index_insert(&ld->seen, e.email, hash, (uint32_t)ld->n);
	return 0;
nomem:
	set_err(ld->err, ld->errlen, "%s: out of memory", ld->path);
	return -ENOMEM;
}

/* The whole file into ld->ents, checked; the registry is not touched. */
static int
parse_file(struct store_load *ld, FILE *f)
{
	enum { WANT_HEADER, IN_BODY, AFTER_END } where = WANT_HEADER;
	char *line = NULL, *save, *tok, q[352];
	size_t size = 0;
	ssize_t len;
	int rc = 0;

	errno = 0;
	while ((len = getline(&line, &size, f)) > 0) {
		ld->line++;
		/*
		 * Every line ends in a newline, the last one too: a file cut
		 * inside a line is refused even when what is left parses.
		 */
		if (line[len - 1] != '\n') {
			rc = bad_line(ld, "line not terminated (file truncated?)");
			break;
		}
		line[--len] = '\0';
		if (memchr(line, '\0', (size_t)len) != NULL) {
			rc = bad_line(ld, "NUL byte in line");
			break;
		}
		if (len > STORE_LINE_MAX) {
			rc = bad_line(ld, "line too long");
			break;
		}
		if (where == WANT_HEADER) {
			char *magic = strtok_r(line, " \t", &save);
			char *version = strtok_r(NULL, " \t", &save);

			if (magic == NULL || strcmp(magic, STORE_MAGIC) != 0 ||
			    version == NULL ||
			    strtok_r(NULL, " \t", &save) != NULL) {
				rc = bad_line(ld, "bad header (expected '"
					      STORE_MAGIC " " STORE_VERSION
					      "')");
				break;
			}
			if (strcmp(version, "1") != 0 &&
			    strcmp(version, STORE_VERSION) != 0) {
				rc = bad_line(ld, "unsupported version '%s' (this "
					      "linecap reads 1 to %d)",
					      quote(version, q, sizeof(q)),
					      STORE_VERSION_MAX);
				break;
			}
			ld->version = version[0] - '0';
			where = IN_BODY;
			continue;
		}
		tok = strtok_r(line, " \t", &save);
		/* Blank lines and comments, for people who edit the file. */
		if (tok == NULL || tok[0] == '#')
			continue;
		if (where == AFTER_END) {
			rc = bad_line(ld, "data after the end line");
			break;
		}
		if (strcmp(tok, "user") == 0) {
			rc = parse_user(ld, &save);
			if (rc != 0)
				break;
		} else if (ld->version >= 2 && strcmp(tok, "plan") == 0) {
			rc = parse_plan(ld, &save);
			if (rc != 0)
				break;
		} else if (strcmp(tok, "end") == 0) {
			uint64_t count;

			tok = strtok_r(NULL, " \t", &save);
			if (tok == NULL ||
			    lc_num_parse_u64(tok, 0, UINT64_MAX, &count) != 0 ||
			    strtok_r(NULL, " \t", &save) != NULL) {
				rc = bad_line(ld, "bad end line");
				break;
			}
			if (count != ld->n) {
				rc = bad_line(ld, "end count %" PRIu64
					      " but %zu users", count, ld->n);
				break;
			}
			where = AFTER_END;
		} else {
			rc = bad_line(ld, "unknown keyword '%s'",
				      quote(tok, q, sizeof(q)));
			break;
		}
	}
	free(line);
	if (rc != 0)
		return rc;
	if (ferror(f)) {
		int e = errno != 0 ? errno : EIO;

		set_err(ld->err, ld->errlen, "%s: %s", ld->path, strerror(e));
		return -e;
	}
	ld->line++;
	if (where == WANT_HEADER)
		return bad_line(ld, "no header (empty or truncated file)");
	if (where == IN_BODY)
		return bad_line(ld, "missing end line (file truncated?)");
	return 0;
}

uint64_t
lc_user_file_max(uint32_t capacity)
{
	return STORE_FILE_BASE + (uint64_t)capacity * STORE_BYTES_PER_USER;
}

/*
 * The whole file into a buffer of at most max bytes. The file must be a
 * regular file (lc_file_open_regular(): a FIFO would hang the start, a
 * device such as /dev/zero would never end); it is read to its end, never
 * past max, even if it grows meanwhile. Returns 0, -ENOENT, or -errno
 * with a message naming the file.
 */
static int
read_whole(const char *path, uint64_t max, char **text, size_t *len,
	   char *err, size_t errlen)
{
	char msg[512];
	uint64_t size;
	size_t cap, n = 0;
	char *buf;
	int fd;

	fd = lc_file_open_regular(path, max, &size, msg, sizeof(msg));
	if (fd < 0) {
		if (fd != -ENOENT)
			set_err(err, errlen, "%s%s", msg, fd == -EFBIG ?
				" (see [users] capacity)" : "");
		return fd;
	}
	cap = (size_t)size + 1;
	buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		set_err(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	buf[0] = '\0';
	for (;;) {
		ssize_t r;

		if (n == cap) {
			/* It grew since fstat: read on, up to max + 1. */
			size_t grown = cap * 2 > max + 1 ? (size_t)max + 1 : cap * 2;
			char *b;

			if (n > max) {
				set_err(err, errlen, "%s: more than %" PRIu64 " bytes, "
					"the most a valid file can hold (see [users] "
					"capacity)", path, max);
				free(buf);
				close(fd);
				return -EFBIG;
			}
			b = realloc(buf, grown);
			if (b == NULL) {
				set_err(err, errlen, "%s: out of memory", path);
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = b;
			cap = grown;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			set_err(err, errlen, "%s: %s", path, strerror(e));
			free(buf);
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*text = buf;
	*len = n;
	return 0;
}

/* The file's plans clash with none of the registry's (by id or name). */
static int
check_plans(struct store_load *ld)
{
	for (uint32_t id = 1; id <= LC_USER_PLANS_MAX; id++) {
		const struct store_plan *sp = &ld->plans[id];
		const struct lc_plan *p;

		if (sp->line == 0)
			continue;
		ld->line = sp->line;
		p = lc_user_plan_find(ld->reg, sp->name);
		if (lc_user_plan_get(ld->reg, id) != NULL || p != NULL) {
			bad_line(ld, "plan %s", p != NULL ?
				 "name already in use" : "id already in use");
			return -EEXIST;
		}
	}
	return 0;
}

int
lc_user_load(struct lc_user_registry *reg, const char *path, uint64_t now,
	     char *err, size_t errlen)
{
	struct store_load ld = {
		.path = path, .err = err, .errlen = errlen, .reg = reg,
	};
	char q[352], *text = NULL;
	FILE *f = NULL;
	size_t len = 0;
	int rc;

	if (path == NULL || path[0] == '\0') {
		set_err(err, errlen, "no state file path");
		return -EINVAL;
	}
	rc = read_whole(path, lc_user_file_max(lc_user_capacity(reg)), &text,
			&len, err, errlen);
	if (rc == -ENOENT)
		return 0; /* first start: no users yet */
	if (rc != 0)
		return rc;
	f = fmemopen(text, len > 0 ? len : 1, "r");
	if (f == NULL) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		free(text);
		return -ENOMEM;
	}
	/* fmemopen takes no empty buffer: an empty file is one of no lines. */
	if (len == 0)
		fgetc(f);
	ld.id_line = calloc((size_t)lc_user_capacity(reg) + 1,
			    sizeof(ld.id_line[0]));
	if (ld.id_line == NULL ||
	    user_email_index_init(&ld.seen, lc_user_capacity(reg)) != 0) {
		set_err(err, errlen, "%s: out of memory", path);
		rc = -ENOMEM;
		goto out;
	}
	rc = parse_file(&ld, f);
	if (rc != 0)
		goto out;

	/* Check every plan and user against the registry before adding any. */
	rc = check_plans(&ld);
	if (rc != 0)
		goto out;
	for (size_t i = 0; i < ld.n; i++) {
		const struct store_entry *e = &ld.ents[i];

		ld.line = e->line;
		if (!user_registry_id_free(reg, e->id)) {
			bad_line(&ld, "id %" PRIu32 " already in use",
				 e->id);
			rc = -EEXIST;
			goto out;
		}
		if (lc_user_find(reg, e->email) != NULL) {
			bad_line(&ld, "email '%s' already in use",
				 quote(e->email, q, sizeof(q)));
			rc = -EEXIST;
			goto out;
		}
	}
	for (uint32_t id = 1; id <= LC_USER_PLANS_MAX; id++)
		if (ld.plans[id].line != 0)
			user_plan_place(reg, id, ld.plans[id].name,
					&ld.plans[id].limits);
	for (size_t i = 0; i < ld.n; i++) {
		struct store_entry *e = &ld.ents[i];

		user_registry_add_static(reg, e->id, e->email, e->email_len,
					 &e->limits, now);
		e->email = NULL; /* the registry owns it now */
	}
out:
	fclose(f);
	free(text);
	for (size_t i = 0; i < ld.n; i++)
		free(ld.ents[i].email);
	free(ld.ents);
	free(ld.id_line);
	if (ld.seen.slots != NULL)
		user_email_index_fini(&ld.seen);
	return rc;
}
