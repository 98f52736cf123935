/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "lc_rate.h"
#include "lc_user.h"
#include "user_private.h"

#define MBIT UINT64_C(1000000)
#define GBIT UINT64_C(1000000000)

/* Every test that touches files gets a fresh directory, removed after. */
static char tmpdir[64];

static int
remove_entry(const char *path, const struct stat *st, int flag,
	     struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
dir_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lc-test-user-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
dir_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *
tmp_path(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
	return buf;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The whole file, NUL-terminated; *len its size. Caller frees. */
static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static struct lc_user_registry *
new_registry(uint32_t capacity)
{
	const struct lc_user_params p = {
		.capacity = capacity,
		.default_up = 1 * GBIT,
		.default_down = 1 * GBIT,
	};
	struct lc_user_registry *reg = lc_user_registry_create(&p);

	assert_non_null(reg);
	return reg;
}

/* Create a user, checking it is new; returns its id. */
static uint32_t
add_user(struct lc_user_registry *reg, const char *email, bool make_static,
	 uint64_t now)
{
	const struct lc_user *u = NULL;
	bool created = false;

	assert_int_equal(lc_user_set(reg, email, NULL, make_static, now, &u,
				     &created), 0);
	assert_true(created);
	assert_non_null(u);
	assert_string_equal(u->email, email);
	return u->id;
}

static bool
valid(const char *s)
{
	return lc_user_email_valid(s, strlen(s));
}

/* Whether s is valid UTF-8 (any code point, spaces included). */
static bool
utf8_ok(const char *s)
{
	/* Check each character alone: the email rule then judges only UTF-8. */
	for (size_t i = 0; s[i] != '\0';) {
		size_t n = 1;

		while ((s[i + n] & 0xc0) == 0x80)
			n++;
		if (lc_email_check(s + i, n, NULL, NULL) == LC_EMAIL_BAD_UTF8)
			return false;
		i += n;
	}
	return true;
}

/* ---- the email rule ---- */

static void
test_email_ascii(void **state)
{
	char one[2] = { 0, 0 };

	(void)state;
	assert_true(valid("alice@example.com"));
	assert_true(valid("a"));
	assert_true(valid("user1"));          /* Xray emails need no @ */
	assert_true(valid("a=b#c'\"\\;,[]{}")); /* punctuation is printable */
	/* Every ASCII byte alone: only 0x21..0x7e pass. */
	for (int c = 1; c < 0x80; c++) {
		one[0] = (char)c;
		assert_int_equal(lc_user_email_valid(one, 1),
				 c > 0x20 && c < 0x7f);
	}
	assert_false(lc_user_email_valid("\0", 1));
	assert_false(lc_user_email_valid("a\0b", 3));
	assert_false(valid("alice @example.com"));
	assert_false(valid("alice\t@example.com"));
	assert_false(valid("alice@example.com\n"));
	assert_false(valid("alice@example.com\r"));
	assert_false(valid("a\x7f"));
	assert_false(valid("a\x1b[31m"));
	/* Only len bytes count. */
	assert_true(lc_user_email_valid("abc def", 3));
	assert_false(lc_user_email_valid("abc def", 4));
	assert_false(lc_user_email_valid("", 0));
	assert_false(lc_user_email_valid(NULL, 0));
	assert_false(lc_user_email_valid(NULL, 5));
}

static void
test_email_length(void **state)
{
	char buf[300];

	(void)state;
	memset(buf, 'a', sizeof(buf));
	assert_true(lc_user_email_valid(buf, 1));
	assert_true(lc_user_email_valid(buf, 255));
	assert_false(lc_user_email_valid(buf, 256));
	assert_false(lc_user_email_valid(buf, 300));
	/* The limit is in bytes, not characters. */
	memcpy(buf + 253, "\xc3\xa9", 2);     /* 253 + é = 255 bytes */
	assert_true(lc_user_email_valid(buf, 255));
	memset(buf, 'a', sizeof(buf));
	memcpy(buf + 254, "\xc3\xa9", 2);     /* 254 + é = 256 bytes */
	assert_false(lc_user_email_valid(buf, 256));
	memset(buf, 'a', sizeof(buf));
	memcpy(buf + 251, "\xf0\x9f\x98\x80", 4); /* 251 + emoji = 255 */
	assert_true(lc_user_email_valid(buf, 255));
	/* A character cut by the length is not valid. */
	assert_false(lc_user_email_valid(buf, 254));
}

static void
test_email_utf8(void **state)
{
	static const char *const good[] = {
		"\xd0\xbf\xd0\xbe\xd0\xbb\xd1\x8c@\xd0\xbf\xd1\x80.\xd1\x80\xd1\x84",
		"\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe4\xb8\xad\xe5\x9b\xbd",
		"\xf0\x9f\x98\x80@x",                 /* U+1F600, 4 bytes */
		"\xc2\xa1",                           /* U+00A1: first after C1/NBSP */
		"\xc2\xae",                           /* U+00AE, after soft hyphen */
		"\xdf\xbf",                           /* U+07FF: longest 2-byte */
		"\xe0\xa0\x80",                       /* U+0800: shortest 3-byte */
		"\xed\x9f\xbf",                       /* U+D7FF: before surrogates */
		"\xee\x80\x80",                       /* U+E000: after surrogates */
		"\xef\xbf\xbd",                       /* U+FFFD replacement char */
		"\xf0\x90\x80\x80",                   /* U+10000 */
		"\xf4\x8f\xbf\xbd",                   /* U+10FFFD */
		"\xe2\x80\x90",                       /* U+2010 hyphen, after ZW* */
		"\xe2\x80\xb0",                       /* U+2030, after NNBSP */
		"\xef\xb7\xb0",                       /* U+FDF0, after nonchars */
	};
	static const char *const bad[] = {
		/* C1 controls */
		"\xc2\x80", "\xc2\x85", "\xc2\x9f",
		/* overlong forms */
		"\xc0\xaf", "\xc1\xbf", "\xc0\x80", "\xe0\x80\xaf",
		"\xe0\x9f\xbf", "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",
		/* surrogates */
		"\xed\xa0\x80", "\xed\xaf\xbf", "\xed\xb0\x80", "\xed\xbf\xbf",
		/* beyond U+10FFFF and bytes that never appear */
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80",
		"\xfe", "\xff",
		/* broken sequences */
		"\x80", "\xbf", "a\x80\x62", "\xc3", "\xc3\x28", "\xe2\x82",
		"\xe2\x28\xa1", "\xe2\x82\x28", "\xf0\x9f\x98", "\xf0\x9f\x98\x28",
		"\xc3\xa9\xa9",
		/* white space beyond ASCII */
		"\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x8a",
		"\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xaf", "\xe2\x81\x9f",
		"\xe3\x80\x80", "\xe1\xa0\x8e",
		/* invisible format characters */
		"\xc2\xad", "\xd8\x9c", "\xe2\x80\x8b", "\xe2\x80\x8c",
		"\xe2\x80\x8d", "\xe2\x80\x8e", "\xe2\x80\x8f", "\xe2\x80\xaa",
		"\xe2\x80\xae", "\xe2\x81\xa0", "\xe2\x81\xa6", "\xe2\x81\xa9",
		"\xe2\x81\xaf", "\xef\xbb\xbf", "\xef\xbf\xb9", "\xef\xbf\xbb",
		/* noncharacters */
		"\xef\xb7\x90", "\xef\xb7\xaf", "\xef\xbf\xbe", "\xef\xbf\xbf",
		"\xf0\x9f\xbf\xbe", "\xf4\x8f\xbf\xbf",
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!valid(good[i]))
			fail_msg("good[%zu] refused", i);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (valid(bad[i]))
			fail_msg("bad[%zu] accepted", i);
		/* Bad in the middle of a good email too. */
		snprintf(buf, sizeof(buf), "alice%s@example.com", bad[i]);
		if (valid(buf))
			fail_msg("bad[%zu] accepted inside an email", i);
	}
}

/* The UTF-8 form of code point c (valid, U+0080..U+10FFFF) into buf. */
static const char *
utf8_of(uint32_t c, char *buf)
{
	unsigned char *b = (unsigned char *)buf;

	if (c < 0x800) {
		b[0] = (unsigned char)(0xc0 | (c >> 6));
		b[1] = (unsigned char)(0x80 | (c & 0x3f));
		b[2] = 0;
	} else if (c < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (c >> 12));
		b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (c & 0x3f));
		b[3] = 0;
	} else {
		b[0] = (unsigned char)(0xf0 | (c >> 18));
		b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (c & 0x3f));
		b[4] = 0;
	}
	return buf;
}

/* alice + c + @x: refused if refuse, accepted otherwise. */
static void
expect_code_point(uint32_t c, bool refuse)
{
	char cp[8], email[32];

	snprintf(email, sizeof(email), "alice%s@x", utf8_of(c, cp));
	if (valid(email) == refuse)
		fail_msg("U+%04X %s", (unsigned)c, refuse ? "accepted" : "refused");
	if (valid(cp) == refuse)
		fail_msg("U+%04X alone %s", (unsigned)c, refuse ? "accepted" : "refused");
}

/*
 * Every range of Unicode's Default_Ignorable_Code_Point: both ends refused,
 * and the code points just outside accepted unless they are excluded for
 * another reason. "alice" and "alice" + U+034F print the same, so they
 * must not be two users.
 */
static void
test_email_default_ignorable(void **state)
{
	static const struct {
		uint32_t first, last;
		bool before_ok, after_ok; /* neighbours that are allowed */
	} ranges[] = {
		{ 0x00ad, 0x00ad, true, true },
		{ 0x034f, 0x034f, true, true },
		{ 0x061c, 0x061c, true, true },
		{ 0x115f, 0x1160, true, true },
		{ 0x17b4, 0x17b5, true, true },
		{ 0x180b, 0x180f, true, true },
		{ 0x200b, 0x200f, false, true },   /* U+200A is a space */
		{ 0x202a, 0x202e, false, false },  /* U+2029, U+202F: spaces */
		{ 0x2060, 0x206f, false, true },   /* U+205F is a space */
		{ 0x3164, 0x3164, true, true },
		{ 0xfe00, 0xfe0f, true, true },
		{ 0xfeff, 0xfeff, true, true },
		{ 0xffa0, 0xffa0, true, true },
		{ 0xfff0, 0xfff8, true, false },   /* U+FFF9: annotation */
		{ 0x1bca0, 0x1bca3, true, true },
		{ 0x1d173, 0x1d17a, true, true },
		{ 0xe0000, 0xe0fff, false, true }, /* U+DFFFF: noncharacter */
	};
	/* Look-alikes, each between two copies of the same email. */
	static const uint32_t seen[] = {
		0x034f, 0xfe0f, 0xe0020, 0x3164, 0xe0001, 0xe007f, 0xe0100,
		0xe01ef, 0x115f, 0x1160, 0xffa0, 0x180f, 0x2065,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		expect_code_point(ranges[i].first, true);
		expect_code_point(ranges[i].last, true);
		expect_code_point((ranges[i].first + ranges[i].last) / 2, true);
		expect_code_point(ranges[i].first - 1, !ranges[i].before_ok);
		expect_code_point(ranges[i].last + 1, !ranges[i].after_ok);
	}
	for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++)
		expect_code_point(seen[i], true);
	/* Visible neighbours stay allowed: letters, marks, emoji. */
	expect_code_point(0x0350, false);  /* combining mark, visible */
	expect_code_point(0x3165, false);  /* Hangul letter */
	expect_code_point(0xe1000, false); /* private use plane 14, after tags */
	expect_code_point(0x1f600, false);
}

/*
 * Against the Unicode Character Database, where it is installed (Debian's
 * unicode-data): every Default_Ignorable_Code_Point and every White_Space
 * character is refused. The build does not need the database; the table
 * in lib/email/email.c was generated from it.
 */
static void
test_email_against_ucd(void **state)
{
	static const struct {
		const char *file, *prop;
	} props[] = {
		{ "/usr/share/unicode/DerivedCoreProperties.txt",
		  "Default_Ignorable_Code_Point" },
		{ "/usr/share/unicode/PropList.txt", "White_Space" },
		{ "/usr/share/unicode/PropList.txt", "Noncharacter_Code_Point" },
	};
	unsigned checked = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		FILE *f = fopen(props[i].file, "re");
		char line[512];

		if (f == NULL) {
			print_message("%s not installed: skipped\n", props[i].file);
			continue;
		}
		while (fgets(line, sizeof(line), f) != NULL) {
			unsigned first, last;
			char name[64];

			if (sscanf(line, "%x..%x ; %63s", &first, &last, name) == 3)
				;
			else if (sscanf(line, "%x ; %63s", &first, name) == 2)
				last = first;
			else
				continue;
			if (strcmp(name, props[i].prop) != 0 || first < 0x80)
				continue;
			for (uint32_t c = first; c <= last; c++, checked++)
				expect_code_point(c, true);
		}
		fclose(f);
	}
	print_message("%u code points of the UCD checked\n", checked);
}

/* ---- the registry ---- */

static void
test_create_params(void **state)
{
	struct lc_user_params p = { .capacity = 0 };

	(void)state;
	errno = 0;
	assert_null(lc_user_registry_create(NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(lc_user_registry_create(&p));
	assert_int_equal(errno, EINVAL);
	p.capacity = LC_USER_CAPACITY_MAX + 1;
	assert_null(lc_user_registry_create(&p));
	p.capacity = 8;
	p.default_up = LC_RATE_MAX + 1;
	errno = 0;
	assert_null(lc_user_registry_create(&p));
	assert_int_equal(errno, EINVAL);
	p.default_up = LC_RATE_MAX;
	struct lc_user_registry *reg = lc_user_registry_create(&p);

	assert_non_null(reg);
	assert_int_equal(lc_user_capacity(reg), 8);
	assert_int_equal(lc_user_count(reg, NULL, NULL), 0);
	lc_user_registry_free(reg);
	lc_user_registry_free(NULL);
}

static void
test_set_update(void **state)
{
	struct lc_user_registry *reg = new_registry(16);
	struct lc_user_limits lim = {
		.fields = LC_USER_LIMIT_UP,
		.up = 10 * MBIT,
	};
	const struct lc_user *u, *v;
	uint32_t s, d;
	uint64_t gen;
	bool created;

	(void)state;
	/* Create: what is not given comes from the params. */
	assert_int_equal(lc_user_set(reg, "alice@example.com", &lim, true, 100,
				     &u, &created), 0);
	assert_true(created);
	assert_int_equal(u->id, 1);
	assert_true(u->is_static);
	assert_true(u->up == 10 * MBIT);
	assert_true(u->down == 1 * GBIT);
	assert_true(u->burst_up == 0 && u->burst_down == 0);
	assert_true(u->created == 100);
	assert_true(u->last_traffic == 0);
	assert_int_equal(u->email_len, strlen("alice@example.com"));
	assert_ptr_equal(lc_user_find(reg, "alice@example.com"), u);
	assert_ptr_equal(lc_user_get(reg, 1), u);

	/* Update: only the fields given change, in place. */
	gen = lc_user_static_generation(reg);
	lim = (struct lc_user_limits){
		.fields = LC_USER_LIMIT_DOWN | LC_USER_LIMIT_BURST_DOWN,
		.up = 1, /* not in fields: ignored */
		.down = 50 * MBIT,
		.burst_down = 65536,
	};
	assert_int_equal(lc_user_set(reg, "alice@example.com", &lim, false,
				     200, &v, &created), 0);
	assert_false(created);
	assert_ptr_equal(v, u);
	assert_true(u->up == 10 * MBIT);
	assert_true(u->down == 50 * MBIT);
	assert_true(u->burst_down == 65536);
	assert_true(u->is_static);  /* make_static=false does not demote */
	assert_true(u->created == 100);
	assert_true(lc_user_static_generation(reg) != gen);

	/* The same values again change nothing, not even the generation. */
	gen = lc_user_static_generation(reg);
	assert_int_equal(lc_user_set(reg, "alice@example.com", &lim, true, 300,
				     NULL, NULL), 0);
	assert_int_equal(lc_user_set(reg, "alice@example.com", NULL, true, 300,
				     NULL, NULL), 0);
	assert_true(lc_user_static_generation(reg) == gen);

	/* A dynamic user, then `user set` makes it static. */
	assert_int_equal(lc_user_ensure_dynamic(reg, "bob", 5 * MBIT, 6 * MBIT,
						400, &u, &created), 0);
	assert_true(created);
	assert_int_equal(u->id, 2);
	assert_false(u->is_static);
	assert_true(u->up == 5 * MBIT && u->down == 6 * MBIT);
	assert_true(lc_user_static_generation(reg) == gen);
	assert_int_equal(lc_user_count(reg, &s, &d), 2);
	assert_int_equal(s, 1);
	assert_int_equal(d, 1);
	/* An existing user is returned untouched by ensure_dynamic. */
	assert_int_equal(lc_user_ensure_dynamic(reg, "bob", 1, 1, 500, &v,
						&created), 0);
	assert_false(created);
	assert_ptr_equal(v, u);
	assert_true(u->up == 5 * MBIT && u->created == 400);
	assert_int_equal(lc_user_ensure_dynamic(reg, "alice@example.com", 1, 1,
						500, &v, &created), 0);
	assert_true(v->is_static && v->up == 10 * MBIT);
	/* A rate change of a dynamic user is not a saved change. */
	lim = (struct lc_user_limits){ .fields = LC_USER_LIMIT_UP, .up = 7 };
	assert_int_equal(lc_user_set(reg, "bob", &lim, false, 500, NULL, NULL),
			 0);
	assert_true(lc_user_static_generation(reg) == gen);
	assert_false(u->is_static);
	assert_int_equal(lc_user_set(reg, "bob", NULL, true, 500, &v, &created),
			 0);
	assert_false(created);
	assert_true(v->is_static && v->up == 7 && v->id == 2);
	assert_true(lc_user_static_generation(reg) != gen);
	assert_int_equal(lc_user_count(reg, &s, &d), 2);
	assert_int_equal(s, 2);
	assert_int_equal(d, 0);

	/* Lookups are exact. */
	assert_null(lc_user_find(reg, "Alice@example.com"));
	assert_null(lc_user_find(reg, "alice@example.co"));
	assert_null(lc_user_find(reg, ""));
	assert_null(lc_user_find(reg, NULL));
	lc_user_registry_free(reg);
}

static void
test_set_errors_change_nothing(void **state)
{
	struct lc_user_registry *reg = new_registry(4);
	struct lc_user_limits lim = { .fields = LC_USER_LIMIT_UP, .up = 5 };
	const struct lc_user *u = (const void *)&lim, *a;
	char long_email[300];
	bool created = true;
	uint64_t gen;

	(void)state;
	add_user(reg, "a", true, 0);
	a = lc_user_find(reg, "a");
	gen = lc_user_static_generation(reg);
	memset(long_email, 'x', sizeof(long_email));
	long_email[256] = '\0';

	assert_int_equal(lc_user_set(reg, "b c", NULL, true, 0, &u, &created),
			 -EINVAL);
	assert_int_equal(lc_user_set(reg, "", NULL, true, 0, &u, &created),
			 -EINVAL);
	assert_int_equal(lc_user_set(reg, NULL, NULL, true, 0, &u, &created),
			 -EINVAL);
	assert_int_equal(lc_user_set(reg, long_email, NULL, true, 0, &u,
				     &created), -EINVAL);
	long_email[255] = '\0';
	assert_int_equal(lc_user_ensure_dynamic(reg, "\xc0\xaf", 1, 1, 0, &u,
						&created), -EINVAL);
	lim.fields = 0x80; /* no such field */
	assert_int_equal(lc_user_set(reg, "a", &lim, true, 0, &u, &created),
			 -EINVAL);
	lim = (struct lc_user_limits){
		.fields = LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN,
		.up = 9, .down = LC_RATE_MAX + 1,
	};
	/* up is fine but down is not: neither is applied. */
	assert_int_equal(lc_user_set(reg, "a", &lim, true, 0, &u, &created),
			 -ERANGE);
	assert_int_equal(lc_user_set(reg, "new", &lim, true, 0, &u, &created),
			 -ERANGE);
	assert_int_equal(lc_user_ensure_dynamic(reg, "new", LC_RATE_MAX + 1, 1,
						0, &u, &created), -ERANGE);
	/* Outputs untouched, registry untouched. */
	assert_ptr_equal(u, (const void *)&lim);
	assert_true(created);
	assert_true(a->up == GBIT && a->down == GBIT);
	assert_int_equal(lc_user_count(reg, NULL, NULL), 1);
	assert_null(lc_user_find(reg, "new"));
	assert_true(lc_user_static_generation(reg) == gen);

	/* 255 bytes is fine. */
	assert_int_equal(lc_user_set(reg, long_email, NULL, true, 0, &u,
				     &created), 0);
	assert_int_equal(u->email_len, 255);
	assert_ptr_equal(lc_user_find(reg, long_email), u);
	/* LC_RATE_MAX itself is fine. */
	lim.down = LC_RATE_MAX;
	assert_int_equal(lc_user_set(reg, "a", &lim, true, 0, NULL, NULL), 0);
	assert_true(a->up == 9 && a->down == LC_RATE_MAX);
	lc_user_registry_free(reg);
}

static void
test_ids(void **state)
{
	struct lc_user_registry *reg = new_registry(16);
	char email[16];

	(void)state;
	for (uint32_t i = 1; i <= 5; i++) {
		snprintf(email, sizeof(email), "u%u", i);
		assert_int_equal(add_user(reg, email, i % 2, 0), i);
	}
	/* Deleting retires: the id is no one's, and is given to no one. */
	assert_int_equal(lc_user_del(reg, 2), 0);
	assert_int_equal(lc_user_del(reg, 4), 0);
	assert_int_equal(lc_user_del(reg, 4), -ENOENT);
	assert_int_equal(lc_user_del(reg, 0), -ENOENT);
	assert_int_equal(lc_user_del(reg, 17), -ENOENT);
	assert_int_equal(lc_user_del(reg, 9), -ENOENT);
	assert_null(lc_user_get(reg, 2));
	assert_null(lc_user_find(reg, "u2"));
	assert_int_equal(lc_user_retired_count(reg), 2);
	assert_int_equal(lc_user_count(reg, NULL, NULL), 3);
	assert_int_equal(add_user(reg, "u6", false, 0), 6);
	/* A deleted email comes back as a new user with a new id. */
	assert_int_equal(add_user(reg, "u2", false, 0), 7);

	/* Reclaim frees it; the lowest free id goes first. */
	assert_int_equal(lc_user_reclaim(reg, 4), 0);
	assert_int_equal(lc_user_reclaim(reg, 4), -ENOENT);
	assert_int_equal(lc_user_reclaim(reg, 5), -EBUSY);
	assert_int_equal(lc_user_reclaim(reg, 8), -ENOENT);
	assert_int_equal(lc_user_reclaim(reg, 0), -ENOENT);
	assert_int_equal(lc_user_reclaim(reg, 17), -ENOENT);
	assert_int_equal(lc_user_retired_count(reg), 1);
	assert_int_equal(lc_user_reclaim(reg, 2), 0);
	assert_int_equal(add_user(reg, "x", false, 0), 2);
	assert_int_equal(add_user(reg, "y", false, 0), 4);
	assert_int_equal(add_user(reg, "z", false, 0), 8);
	assert_int_equal(lc_user_retired_count(reg), 0);

	/* Static ids do not move when others come and go. */
	assert_int_equal(lc_user_find(reg, "u1")->id, 1);
	assert_int_equal(lc_user_find(reg, "u3")->id, 3);
	assert_int_equal(lc_user_find(reg, "u5")->id, 5);
	lc_user_registry_free(reg);
}

static void
test_capacity_full(void **state)
{
	struct lc_user_registry *reg = new_registry(4);
	const struct lc_user *u = NULL;
	struct lc_user_limits lim = { .fields = LC_USER_LIMIT_UP, .up = 3 };
	uint32_t s, d;
	uint64_t gen;

	(void)state;
	add_user(reg, "a", true, 0);
	add_user(reg, "b", true, 0);
	add_user(reg, "c", false, 0);
	add_user(reg, "d", false, 0);
	gen = lc_user_static_generation(reg);
	assert_int_equal(lc_user_set(reg, "e", NULL, true, 0, &u, NULL),
			 -ENOSPC);
	assert_null(u);
	assert_int_equal(lc_user_ensure_dynamic(reg, "e", 1, 1, 0, &u, NULL),
			 -ENOSPC);
	assert_null(lc_user_find(reg, "e"));
	assert_int_equal(lc_user_count(reg, &s, &d), 4);
	assert_int_equal(s, 2);
	assert_int_equal(d, 2);
	assert_true(lc_user_static_generation(reg) == gen);
	/* Existing users can still be updated and found. */
	assert_int_equal(lc_user_set(reg, "a", &lim, true, 0, &u, NULL), 0);
	assert_true(u->up == 3);
	assert_int_equal(lc_user_ensure_dynamic(reg, "d", 1, 1, 0, &u, NULL), 0);
	assert_int_equal(u->id, 4);
	/* A retired id still counts against capacity. */
	assert_int_equal(lc_user_del(reg, 3), 0);
	assert_int_equal(lc_user_set(reg, "e", NULL, true, 0, NULL, NULL),
			 -ENOSPC);
	assert_int_equal(lc_user_reclaim(reg, 3), 0);
	assert_int_equal(add_user(reg, "e", false, 0), 3);
	lc_user_registry_free(reg);
}

static void
test_iteration(void **state)
{
	static const uint32_t want[] = { 1, 63, 64, 65, 127, 128, 200 };
	struct lc_user_registry *reg = new_registry(200);
	const struct lc_user *u;
	uint32_t cursor, n;
	char email[16];

	(void)state;
	cursor = 0;
	assert_null(lc_user_next(reg, &cursor));
	for (uint32_t i = 1; i <= 200; i++) {
		snprintf(email, sizeof(email), "u%u", i);
		add_user(reg, email, false, 0);
	}
	/* Keep the ids in want[], across 64-bit words and at both ends. */
	for (uint32_t i = 1; i <= 200; i++) {
		bool keep = false;

		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
			keep |= want[k] == i;
		if (!keep)
			assert_int_equal(lc_user_del(reg, i), 0);
	}
	cursor = 0;
	n = 0;
	while ((u = lc_user_next(reg, &cursor)) != NULL) {
		assert_true(n < sizeof(want) / sizeof(want[0]));
		assert_int_equal(u->id, want[n]);
		assert_int_equal(cursor, want[n]);
		snprintf(email, sizeof(email), "u%u", want[n]);
		assert_string_equal(u->email, email);
		n++;
	}
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	assert_null(lc_user_next(reg, &cursor)); /* stays at the end */

	/* Deleting the current user while iterating is safe. */
	cursor = 0;
	n = 0;
	while ((u = lc_user_next(reg, &cursor)) != NULL) {
		if (u->id % 2 == 1)
			assert_int_equal(lc_user_del(reg, u->id), 0);
		n++;
	}
	assert_int_equal(n, 7);
	assert_int_equal(lc_user_count(reg, NULL, NULL), 3); /* 64 128 200 */
	cursor = 64;
	assert_int_equal(lc_user_next(reg, &cursor)->id, 128);
	lc_user_registry_free(reg);
}

/*
 * Random operations against a plain array as the model, at a capacity small
 * enough that emails collide in the hash table and clusters form, wrap and
 * are cut by deletions.
 */
static void
test_churn_against_model(void **state)
{
	enum { CAP = 48, NAMES = 96, ROUNDS = 200000 };
	struct lc_user_registry *reg = new_registry(CAP);
	uint32_t model[NAMES];   /* id of each name, or 0 */
	bool retired[CAP + 1] = { false };
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	char email[16];

	(void)state;
	memset(model, 0, sizeof(model));
	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned name, op;
		const struct lc_user *u;
		uint32_t live, n_retired, lowest = 0;
		int rc;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		name = (unsigned)(rng % NAMES);
		op = (unsigned)((rng >> 32) % 4);
		snprintf(email, sizeof(email), "n%u@x", name);
		for (uint32_t id = CAP; id >= 1; id--) {
			bool used = retired[id];

			for (unsigned i = 0; i < NAMES; i++)
				used |= model[i] == id;
			if (!used)
				lowest = id;
		}
		if (op <= 1) {
			rc = lc_user_set(reg, email, NULL, op, 0, &u, NULL);
			if (model[name] != 0) {
				assert_int_equal(rc, 0);
				assert_int_equal(u->id, model[name]);
			} else if (lowest == 0) {
				assert_int_equal(rc, -ENOSPC);
			} else {
				assert_int_equal(rc, 0);
				assert_int_equal(u->id, lowest);
				model[name] = u->id;
			}
		} else if (op == 2) {
			rc = lc_user_del(reg, model[name]);
			assert_int_equal(rc, model[name] ? 0 : -ENOENT);
			if (model[name] != 0) {
				retired[model[name]] = true;
				model[name] = 0;
			}
		} else {
			uint32_t id = (uint32_t)(rng >> 40) % CAP + 1;

			rc = lc_user_reclaim(reg, id);
			assert_int_equal(rc, retired[id] ? 0 :
					 lc_user_get(reg, id) ? -EBUSY : -ENOENT);
			retired[id] = false;
		}
		live = 0;
		n_retired = 0;
		for (unsigned i = 0; i < NAMES; i++)
			live += model[i] != 0;
		for (uint32_t id = 1; id <= CAP; id++)
			n_retired += retired[id];
		assert_int_equal(lc_user_count(reg, NULL, NULL), live);
		assert_int_equal(lc_user_retired_count(reg), n_retired);
		/* Every name is found exactly where the model says. */
		if (r % 64 == 0 || r > ROUNDS - 64) {
			for (unsigned i = 0; i < NAMES; i++) {
				snprintf(email, sizeof(email), "n%u@x", i);
				u = lc_user_find(reg, email);
				if (model[i] == 0) {
					assert_null(u);
				} else {
					assert_non_null(u);
					assert_int_equal(u->id, model[i]);
					assert_ptr_equal(lc_user_get(reg,
								     model[i]),
							 u);
				}
			}
		}
	}
	lc_user_registry_free(reg);
}

static void
test_many_users(void **state)
{
	enum { N = 100000 };
	struct lc_user_registry *reg = new_registry(N);
	char email[32];

	(void)state;
	for (uint32_t i = 1; i <= N; i++) {
		snprintf(email, sizeof(email), "user%u@example.com", i);
		assert_int_equal(add_user(reg, email, false, 0), i);
	}
	assert_int_equal(lc_user_set(reg, "one-more", NULL, false, 0, NULL,
				     NULL), -ENOSPC);
	for (uint32_t i = 1; i <= N; i++) {
		snprintf(email, sizeof(email), "user%u@example.com", i);
		assert_int_equal(lc_user_find(reg, email)->id, i);
	}
	for (uint32_t i = 1; i <= N; i += 2)
		assert_int_equal(lc_user_del(reg, i), 0);
	for (uint32_t i = 1; i <= N; i++) {
		snprintf(email, sizeof(email), "user%u@example.com", i);
		if (i % 2)
			assert_null(lc_user_find(reg, email));
		else
			assert_int_equal(lc_user_find(reg, email)->id, i);
	}
	lc_user_registry_free(reg);
}

static void
test_siphash_vectors(void **state)
{
	/* From the SipHash paper: key 00..0f, messages 00, 00 01, ... */
	const uint64_t key[2] = {
		UINT64_C(0x0706050403020100), UINT64_C(0x0f0e0d0c0b0a0908),
	};
	uint8_t msg[64];

	(void)state;
	for (unsigned i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	assert_true(user_siphash24(msg, 0, key) ==
		    UINT64_C(0x726fdb47dd0e0e31));
	assert_true(user_siphash24(msg, 15, key) ==
		    UINT64_C(0xa129ca6149be45e5));
}

/* ---- activity and collection ---- */

static void
test_note_activity(void **state)
{
	struct lc_user_registry *reg = new_registry(4);
	uint32_t id = add_user(reg, "a", false, 10);
	const struct lc_user *u = lc_user_get(reg, id);

	(void)state;
	assert_int_equal(lc_user_note_activity(reg, id, 50, 3), 0);
	assert_true(u->last_traffic == 50);
	assert_int_equal(u->active_flows, 3);
	/* Last traffic never moves backwards; flows follow the worker. */
	assert_int_equal(lc_user_note_activity(reg, id, 40, 0), 0);
	assert_true(u->last_traffic == 50);
	assert_int_equal(u->active_flows, 0);
	assert_int_equal(lc_user_note_activity(reg, 2, 40, 0), -ENOENT);
	assert_int_equal(lc_user_note_activity(reg, 0, 40, 0), -ENOENT);
	assert_int_equal(lc_user_note_activity(reg, 99, 40, 0), -ENOENT);
	lc_user_registry_free(reg);
}

static void
test_gc(void **state)
{
	const uint64_t T0 = 1000, MIN_AGE = 600, IDLE = 14400;
	struct lc_user_registry *reg = new_registry(16);
	uint32_t removed[16];
	uint32_t quiet, talker, busy, owner, young;

	(void)state;
	quiet = add_user(reg, "quiet", false, T0);  /* never any traffic */
	talker = add_user(reg, "talker", false, T0);
	busy = add_user(reg, "busy", false, T0);    /* a flow stays open */
	owner = add_user(reg, "owner", true, T0);   /* static */
	assert_int_equal(lc_user_note_activity(reg, talker, T0 + 5000, 0), 0);
	assert_int_equal(lc_user_note_activity(reg, busy, 0, 1), 0);

	/* One second short of idle: nobody goes. */
	assert_int_equal(lc_user_gc(reg, T0 + IDLE - 1, MIN_AGE, IDLE,
				    removed, 16), 0);
	/* Idle since creation for IDLE seconds: quiet goes. */
	assert_int_equal(lc_user_gc(reg, T0 + IDLE, MIN_AGE, IDLE, removed,
				    16), 1);
	assert_int_equal(removed[0], quiet);
	assert_null(lc_user_find(reg, "quiet"));
	assert_int_equal(lc_user_retired_count(reg), 1);
	/* Talker's clock runs from its last packet. */
	assert_int_equal(lc_user_gc(reg, T0 + 5000 + IDLE - 1, MIN_AGE, IDLE,
				    removed, 16), 0);
	assert_int_equal(lc_user_gc(reg, T0 + 5000 + IDLE, MIN_AGE, IDLE,
				    removed, 16), 1);
	assert_int_equal(removed[0], talker);
	/* Busy and owner stay for ever... */
	assert_int_equal(lc_user_gc(reg, UINT64_C(1) << 40, MIN_AGE, IDLE,
				    removed, 16), 0);
	assert_non_null(lc_user_get(reg, busy));
	assert_non_null(lc_user_get(reg, owner));
	/* ...until busy's last flow ends. */
	assert_int_equal(lc_user_note_activity(reg, busy, 0, 0), 0);
	assert_int_equal(lc_user_gc(reg, UINT64_C(1) << 40, MIN_AGE, IDLE,
				    removed, 16), 1);
	assert_int_equal(removed[0], busy);
	assert_non_null(lc_user_get(reg, owner));

	/* min_age protects a user that has not had a chance yet. */
	young = add_user(reg, "young", false, 50000);
	assert_int_equal(lc_user_gc(reg, 50000 + MIN_AGE - 1, MIN_AGE, 0,
				    removed, 16), 0);
	assert_int_equal(lc_user_gc(reg, 50000 + MIN_AGE, MIN_AGE, 0, removed,
				    16), 1);
	assert_int_equal(removed[0], young);
	/* A clock that went backwards collects nobody. */
	add_user(reg, "future", false, 90000);
	assert_int_equal(lc_user_gc(reg, 80000, MIN_AGE, IDLE, removed, 16), 0);
	assert_int_equal(lc_user_gc(reg, 90000 + IDLE, MIN_AGE, IDLE, removed,
				    16), 1);

	/* Collected ids are retired, not reused, until reclaimed. */
	assert_int_equal(lc_user_retired_count(reg), 5);
	assert_int_equal(add_user(reg, "next", false, 0), 7);
	lc_user_registry_free(reg);
}

static void
test_gc_bounded(void **state)
{
	struct lc_user_registry *reg = new_registry(16);
	uint32_t removed[2];
	char email[16];

	(void)state;
	for (unsigned i = 0; i < 5; i++) {
		snprintf(email, sizeof(email), "d%u", i);
		add_user(reg, email, false, 0);
	}
	assert_int_equal(lc_user_gc(reg, 100, 0, 0, removed, 0), 0);
	assert_int_equal(lc_user_count(reg, NULL, NULL), 5);
	assert_int_equal(lc_user_gc(reg, 100, 0, 0, removed, 2), 2);
	assert_int_equal(removed[0], 1);
	assert_int_equal(removed[1], 2);
	assert_int_equal(lc_user_gc(reg, 100, 0, 0, removed, 2), 2);
	assert_int_equal(removed[0], 3);
	assert_int_equal(removed[1], 4);
	assert_int_equal(lc_user_gc(reg, 100, 0, 0, removed, 2), 1);
	assert_int_equal(removed[0], 5);
	assert_int_equal(lc_user_count(reg, NULL, NULL), 0);
	lc_user_registry_free(reg);
}

/* ---- the state file ---- */

static void
test_save_load_round_trip(void **state)
{
	struct lc_user_registry *reg = new_registry(100), *back;
	struct lc_user_limits lim;
	const struct lc_user *u, *v;
	char path[128], err[256];
	uint32_t cursor, s, d;
	static const struct {
		const char *email;
		uint64_t up, down, burst_up, burst_down;
	} users[] = {
		{ "alice@example.com", 10 * MBIT, 50 * MBIT, 0, 0 },
		{ "\xd0\xb1\xd0\xbe\xd0\xb1@\xd0\xbf\xd1\x80.\xd1\x80\xd1\x84",
		  2500 * MBIT, 12345, 1500, 3000000 },
		{ "zero", 0, 0, LC_USER_BURST_MAX, 1 },
		{ "max", LC_RATE_MAX, LC_RATE_MAX - 1, 0, 0 },
		{ "odd=name#1", 100001, 999999999, 0, 0 },
	};

	(void)state;
	tmp_path("users.conf", path, sizeof(path));
	/* Gaps in the ids, and dynamic users, which are not saved. */
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		char dyn[16];

		snprintf(dyn, sizeof(dyn), "dyn%zu", i);
		assert_int_equal(lc_user_ensure_dynamic(reg, dyn, 1, 1, 0, NULL,
							NULL), 0);
		lim = (struct lc_user_limits){
			.fields = LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN |
				  LC_USER_LIMIT_BURST_UP |
				  LC_USER_LIMIT_BURST_DOWN,
			.up = users[i].up, .down = users[i].down,
			.burst_up = users[i].burst_up,
			.burst_down = users[i].burst_down,
		};
		assert_int_equal(lc_user_set(reg, users[i].email, &lim, true, 5,
					     NULL, NULL), 0);
	}
	assert_int_equal(lc_user_del(reg, lc_user_find(reg, "dyn0")->id), 0);
	assert_int_equal(lc_user_save(reg, path, err, sizeof(err)), 0);

	back = new_registry(100);
	assert_int_equal(lc_user_load(back, path, 777, err, sizeof(err)), 0);
	assert_int_equal(lc_user_count(back, &s, &d), 5);
	assert_int_equal(s, 5);
	assert_int_equal(d, 0);
	cursor = 0;
	while ((u = lc_user_next(reg, &cursor)) != NULL) {
		v = lc_user_get(back, u->id);
		if (!u->is_static) {
			assert_null(v);
			assert_null(lc_user_find(back, u->email));
			continue;
		}
		assert_non_null(v);
		assert_string_equal(v->email, u->email);
		assert_int_equal(v->email_len, u->email_len);
		assert_true(v->up == u->up && v->down == u->down);
		assert_true(v->burst_up == u->burst_up);
		assert_true(v->burst_down == u->burst_down);
		assert_true(v->is_static);
		assert_true(v->created == 777);
		assert_ptr_equal(lc_user_find(back, v->email), v);
	}
	/* Saved ids are held: a new user takes a free one. */
	for (uint32_t id = 1; id <= 10; id++) {
		if (lc_user_get(back, id) == NULL) {
			assert_int_equal(add_user(back, "new", false, 0), id);
			break;
		}
	}
	/* Saving what was loaded writes the same bytes. */
	char path2[128];
	char *a, *b;

	tmp_path("again.conf", path2, sizeof(path2));
	assert_int_equal(lc_user_del(back, lc_user_find(back, "new")->id), 0);
	assert_int_equal(lc_user_save(back, path2, err, sizeof(err)), 0);
	a = read_file(path, NULL);
	b = read_file(path2, NULL);
	assert_string_equal(a, b);
	free(a);
	free(b);
	lc_user_registry_free(reg);
	lc_user_registry_free(back);
}

static void
test_file_format(void **state)
{
	struct lc_user_registry *reg = new_registry(16);
	struct lc_user_limits lim = {
		.fields = LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN |
			  LC_USER_LIMIT_BURST_DOWN,
		.up = 10 * MBIT, .down = 2500 * MBIT, .burst_down = 65536,
	};
	char path[128], err[256];
	char *text;
	struct stat st;

	(void)state;
	tmp_path("fmt.conf", path, sizeof(path));
	add_user(reg, "dyn", false, 0);
	assert_int_equal(lc_user_set(reg, "alice@example.com", &lim, true, 0,
				     NULL, NULL), 0);
	lim = (struct lc_user_limits){
		.fields = LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN, .up = 12345,
		.down = GBIT,
	};
	assert_int_equal(lc_user_set(reg, "bob", &lim, true, 0, NULL, NULL), 0);
	assert_int_equal(lc_user_save(reg, path, err, sizeof(err)), 0);
	text = read_file(path, NULL);
	assert_string_equal(text,
		"linecap-users 1\n"
		"user 2 alice@example.com up=10mbit down=2500mbit burst_up=0 "
		"burst_down=65536\n"
		"user 3 bob up=12345bit down=1gbit burst_up=0 burst_down=0\n"
		"end 2\n");
	free(text);
	/*
	 * Version 2 only when needed: here for a user whose down is not its
	 * own (it follows the default), and for plans.
	 */
	add_user(reg, "erin", true, 0);
	assert_int_equal(lc_user_save(reg, path, err, sizeof(err)), 0);
	text = read_file(path, NULL);
	assert_string_equal(text,
		"linecap-users 2\n"
		"user 2 alice@example.com up=10mbit down=2500mbit burst_up=0 "
		"burst_down=65536\n"
		"user 3 bob up=12345bit down=1gbit burst_up=0 burst_down=0\n"
		"user 4 erin burst_up=0 burst_down=0\n"
		"end 3\n");
	free(text);
	assert_int_equal(lc_user_del(reg, lc_user_find(reg, "erin")->id), 0);
	assert_int_equal(stat(path, &st), 0);
	mode_t um = umask(0);

	umask(um);
	assert_int_equal(st.st_mode & 0777, 0640 & ~um);
	lc_user_registry_free(reg);

	/* People may edit it: comments, blank lines, any field order,
	 * other rate spellings, bursts left out. */
	static const char edited[] =
		"linecap-users 1\n"
		"# the office\n"
		"\n"
		"user 7   carol@example.com\tdown=100000000 up=1.5mbit\n"
		"  user 3 dave up=1kbps down=0\n"
		"end 2\n"
		"# trailing comment\n";

	write_file(path, edited, sizeof(edited) - 1);
	reg = new_registry(16);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), 0);
	assert_int_equal(lc_user_find(reg, "carol@example.com")->id, 7);
	assert_true(lc_user_get(reg, 7)->up == 1500000);
	assert_true(lc_user_get(reg, 7)->down == 100 * MBIT);
	assert_true(lc_user_get(reg, 3)->up == 8000);
	assert_true(lc_user_get(reg, 3)->down == 0);
	assert_true(lc_user_get(reg, 3)->burst_up == 0);
	lc_user_registry_free(reg);
}

static void
test_save_creates_directories(void **state)
{
	struct lc_user_registry *reg = new_registry(4), *back;
	char path[160], err[256];
	struct stat st;

	(void)state;
	add_user(reg, "a", true, 0);
	tmp_path("var/lib/linecap/users.conf", path, sizeof(path));
	assert_int_equal(lc_user_save(reg, path, err, sizeof(err)), 0);
	back = new_registry(4);
	assert_int_equal(lc_user_load(back, path, 0, err, sizeof(err)), 0);
	assert_non_null(lc_user_find(back, "a"));
	tmp_path("var/lib/linecap", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* A file where the directory should be is an error naming it. */
	tmp_path("plainfile", path, sizeof(path));
	write_file(path, "x", 1);
	tmp_path("plainfile/users.conf", path, sizeof(path));
	err[0] = '\0';
	assert_int_equal(lc_user_save(reg, path, err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, "plainfile/users.conf"));
	assert_int_equal(lc_user_save(reg, "", err, sizeof(err)), -EINVAL);
	assert_int_equal(lc_user_save(reg, NULL, NULL, 0), -EINVAL);
	lc_user_registry_free(reg);
	lc_user_registry_free(back);
}

static void
test_load_missing_file(void **state)
{
	struct lc_user_registry *reg = new_registry(4);
	char path[128], err[64] = "untouched";

	(void)state;
	tmp_path("nonexistent/users.conf", path, sizeof(path));
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), 0);
	assert_int_equal(lc_user_count(reg, NULL, NULL), 0);
	assert_string_equal(err, "untouched");
	/* A directory is not a file. */
	assert_int_equal(lc_user_load(reg, tmpdir, 0, err, sizeof(err)),
			 -EISDIR);
	assert_non_null(strstr(err, tmpdir));
	assert_int_equal(lc_user_count(reg, NULL, NULL), 0);
	/* An empty registry saves and loads. */
	tmp_path("empty.conf", path, sizeof(path));
	assert_int_equal(lc_user_save(reg, path, err, sizeof(err)), 0);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), 0);
	assert_int_equal(lc_user_count(reg, NULL, NULL), 0);
	lc_user_registry_free(reg);
}

/*
 * A users file that is not a regular file is refused at once: a FIFO hung
 * the start, /dev/zero (or a link to it) grew memory without end. So is a
 * file bigger than any valid one for the capacity.
 */
static void
test_load_not_regular(void **state)
{
	struct lc_user_registry *reg = new_registry(16);
	char path[128], err[256];
	int fd;

	(void)state;
	tmp_path("fifo.conf", path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file (a FIFO)"));
	assert_non_null(strstr(err, path));

	tmp_path("zero.conf", path, sizeof(path));
	assert_int_equal(symlink("/dev/zero", path), 0);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file (a character device)"));
	assert_int_equal(lc_user_load(reg, "/dev/zero", 0, err, sizeof(err)), -EINVAL);

	tmp_path("big.conf", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_true(lc_user_file_max(16) == 64 * 1024 + 16 * 1024);
	assert_int_equal(ftruncate(fd, (off_t)lc_user_file_max(16) + 1), 0);
	close(fd);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "81921 bytes"));
	assert_non_null(strstr(err, "[users] capacity"));
	/* At the limit it is read, and judged on what it holds. */
	assert_int_equal(truncate(path, (off_t)lc_user_file_max(16)), 0);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "bytes"));
	/* An empty file is no file: refused as truncated, as before. */
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no header"));
	assert_int_equal(lc_user_count(reg, NULL, NULL), 0);
	lc_user_registry_free(reg);
}

static void
test_atomic_save(void **state)
{
	struct lc_user_registry *reg = new_registry(8), *back;
	char path[128], tmp[140], err[256];
	char *before, *after;

	(void)state;
	tmp_path("users.conf", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	add_user(reg, "a", true, 0);
	assert_int_equal(lc_user_save(reg, path, err, sizeof(err)), 0);
	assert_int_equal(access(tmp, F_OK), -1); /* nothing left behind */

	/* A crash mid-save left a half-written path.tmp: load ignores it,
	 * and the next save replaces it. */
	write_file(tmp, "linecap-users 1\nuser 2 b up=1", 29);
	back = new_registry(8);
	assert_int_equal(lc_user_load(back, path, 0, err, sizeof(err)), 0);
	assert_int_equal(lc_user_count(back, NULL, NULL), 1);
	lc_user_registry_free(back);
	add_user(reg, "b", true, 0);
	assert_int_equal(lc_user_save(reg, path, err, sizeof(err)), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	back = new_registry(8);
	assert_int_equal(lc_user_load(back, path, 0, err, sizeof(err)), 0);
	assert_int_equal(lc_user_count(back, NULL, NULL), 2);
	lc_user_registry_free(back);

	/* A save that fails leaves the old file as it was. */
	before = read_file(path, NULL);
	assert_int_equal(mkdir(tmp, 0700), 0); /* path.tmp cannot be made */
	add_user(reg, "c", true, 0);
	err[0] = '\0';
	assert_true(lc_user_save(reg, path, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, path));
	after = read_file(path, NULL);
	assert_string_equal(before, after);
	free(before);
	free(after);
	back = new_registry(8);
	assert_int_equal(lc_user_load(back, path, 0, err, sizeof(err)), 0);
	assert_int_equal(lc_user_count(back, NULL, NULL), 2);
	assert_null(lc_user_find(back, "c"));
	lc_user_registry_free(back);
	assert_int_equal(rmdir(tmp), 0);
	lc_user_registry_free(reg);
}

struct corrupt_case {
	const char *text;
	unsigned line;
	const char *msg;
};

static void
test_corrupt_files(void **state)
{
	static const struct corrupt_case cases[] = {
		{ "", 1, "no header (empty or truncated file)" },
		{ "linecap-user 1\nend 0\n", 1,
		  "bad header (expected 'linecap-users 2')" },
		{ "linecap-users\nend 0\n", 1,
		  "bad header (expected 'linecap-users 2')" },
		{ "linecap-users 1 x\nend 0\n", 1,
		  "bad header (expected 'linecap-users 2')" },
		{ "# comment first\nlinecap-users 1\nend 0\n", 1,
		  "bad header (expected 'linecap-users 2')" },
		{ "linecap-users 3\nend 0\n", 1,
		  "unsupported version '3' (this linecap reads 1 to 2)" },
		{ "linecap-users 1\nusr 1 a up=1 down=1\nend 1\n", 2,
		  "unknown keyword 'usr'" },
		{ "linecap-users 1\nuser\nend 1\n", 2, "missing id" },
		{ "linecap-users 1\nuser x a up=1 down=1\nend 1\n", 2,
		  "bad id 'x'" },
		{ "linecap-users 1\nuser 0 a up=1 down=1\nend 1\n", 2,
		  "bad id '0'" },
		{ "linecap-users 1\nuser -1 a up=1 down=1\nend 1\n", 2,
		  "bad id '-1'" },
		{ "linecap-users 1\nuser 99999999999999999999999 a up=1 down=1\n"
		  "end 1\n", 2, "id 99999999999999999999999 over capacity 8" },
		{ "linecap-users 1\nuser -1 a up=1 down=1\nend 1\n", 2, "bad id '-1'" },
		{ "linecap-users 1\nuser 00 a up=1 down=1\nend 1\n", 2, "bad id '00'" },
		{ "linecap-users 1\nuser 1 a up=1 down=1 burst_up=4294967296\nend 1\n", 2,
		  "burst '4294967296' above the maximum 4294967295" },
		{ "linecap-users 1\nuser 1 a up=1 down=1 burst_down=18446744073709551617\n"
		  "end 1\n", 2, "burst '18446744073709551617' above the maximum 4294967295" },
		{ "linecap-users 1\nuser 1 a up=1 down=1 burst_up=-1\nend 1\n", 2,
		  "bad burst '-1'" },
		{ "linecap-users 1\nuser 1 a up=1 down=1\nend 18446744073709551617\n", 3,
		  "bad end line" },
		{ "linecap-users 1\nuser 9 a up=1 down=1\nend 1\n", 2,
		  "id 9 over capacity 8" },
		{ "linecap-users 1\nuser 1\nend 1\n", 2, "missing email" },
		{ "linecap-users 1\nuser 1 a\x01 up=1 down=1\nend 1\n", 2,
		  "bad email 'a\\x01'" },
		{ "linecap-users 1\nuser 1 \xc0\xaf up=1 down=1\nend 1\n", 2,
		  "bad email '\\xc0\\xaf'" },
		{ "linecap-users 1\nuser 1 a up=x down=1\nend 1\n", 2,
		  "bad rate 'x'" },
		{ "linecap-users 1\nuser 1 a up=1 down=\nend 1\n", 2,
		  "bad rate ''" },
		{ "linecap-users 1\nuser 1 a up=1 down=11tbit\nend 1\n", 2,
		  "rate '11tbit' above the maximum" },
		{ "linecap-users 1\nuser 1 a up=1 down=1 burst_up=1k\nend 1\n", 2,
		  "bad burst '1k'" },
		{ "linecap-users 1\nuser 1 a up=1 down=1 colour=red\nend 1\n", 2,
		  "unknown field 'colour'" },
		{ "linecap-users 1\nuser 1 a up=1 down=1 static\nend 1\n", 2,
		  "bad field 'static'" },
		{ "linecap-users 1\nuser 1 a up=1 up=2 down=1\nend 1\n", 2,
		  "duplicate field 'up'" },
		{ "linecap-users 1\nuser 1 a down=1\nend 1\n", 2, "missing up=" },
		{ "linecap-users 1\nuser 1 a up=1\nend 1\n", 2, "missing down=" },
		{ "linecap-users 1\nuser 1 a up=1 down=1\n\n"
		  "user 1 b up=1 down=1\nend 2\n", 4,
		  "duplicate id 1 (first on line 2)" },
		{ "linecap-users 1\nuser 1 a up=1 down=1\n"
		  "user 2 b up=1 down=1\nuser 3 a up=1 down=1\nend 3\n", 4,
		  "duplicate email 'a' (first on line 2)" },
		{ "linecap-users 1\nuser 1 a up=1 down=1\n", 3,
		  "missing end line (file truncated?)" },
		{ "linecap-users 1\n", 2, "missing end line (file truncated?)" },
		{ "linecap-users 1\nuser 1 a up=1 down=1\nend 2\n", 3,
		  "end count 2 but 1 users" },
		{ "linecap-users 1\nuser 1 a up=1 down=1\nend 0\n", 3,
		  "end count 0 but 1 users" },
		{ "linecap-users 1\nend\n", 2, "bad end line" },
		{ "linecap-users 1\nend 0 0\n", 2, "bad end line" },
		{ "linecap-users 1\nend x\n", 2, "bad end line" },
		{ "linecap-users 1\nend 0\nuser 1 a up=1 down=1\n", 3,
		  "data after the end line" },
		{ "linecap-users 1\nend 0\nend 0\n", 3, "data after the end line" },
		{ "linecap-users 1\nend 0", 2,
		  "line not terminated (file truncated?)" },
		{ "linecap-users 1\nuser 1 a up=1 down=1\r\nend 1\n", 2,
		  "bad rate '1\\x0d'" },		/* Plans (the registry has 2 slots of 2 users). */
		{ "linecap-users 1\nplan 1 gold\nend 0\n", 2,
		  "unknown keyword 'plan'" },
		{ "linecap-users 1\nuser 1 a up=1 down=1 plan=gold\nend 1\n", 2,
		  "unknown field 'plan'" },
		{ "linecap-users 1\nuser 1 a down=1\nend 1\n", 2, "missing up=" },
		{ "linecap-users 2\nplan\nend 0\n", 2, "missing plan id" },
		{ "linecap-users 2\nplan x gold\nend 0\n", 2, "bad plan id 'x'" },
		{ "linecap-users 2\nplan 0 gold\nend 0\n", 2, "bad plan id '0'" },
		{ "linecap-users 2\nplan 63 gold\nend 0\n", 2, "bad plan id '63'" },
		{ "linecap-users 2\nplan 3 gold\nend 0\n", 2,
		  "plan id 3 above [shaper] plans = 2" },
		{ "linecap-users 2\nplan 1\nend 0\n", 2, "missing plan name" },
		{ "linecap-users 2\nplan 1 a/b\nend 0\n", 2, "bad plan name 'a/b'" },
		{ "linecap-users 2\nplan 1 gold\nplan 1 silver\nend 0\n", 3,
		  "duplicate plan id 1 (first on line 2)" },
		{ "linecap-users 2\nplan 1 gold\nplan 2 gold\nend 0\n", 3,
		  "duplicate plan name 'gold' (first on line 2)" },
		{ "linecap-users 2\nplan 1 gold up=fast\nend 0\n", 2,
		  "bad rate 'fast'" },
		{ "linecap-users 2\nplan 1 gold up=1 up=2\nend 0\n", 2,
		  "duplicate field 'up'" },
		{ "linecap-users 2\nplan 1 gold speed=1\nend 0\n", 2,
		  "unknown field 'speed'" },
		{ "linecap-users 2\nplan 1 gold fast\nend 0\n", 2,
		  "bad field 'fast'" },
		{ "linecap-users 2\nplan 1 gold weight=0\nend 0\n", 2,
		  "weight '0' out of range: 1 to 100" },
		{ "linecap-users 2\nplan 1 gold weight=101\nend 0\n", 2,
		  "weight '101' out of range: 1 to 100" },
		{ "linecap-users 2\nplan 1 gold weight=99999999999999999999\n"
		  "end 0\n", 2, "weight '99999999999999999999' out of range: 1 to "
		  "100" },
		{ "linecap-users 2\nplan 1 gold weight=x\nend 0\n", 2,
		  "bad weight 'x'" },
		{ "linecap-users 2\nplan 1 gold weight=\nend 0\n", 2,
		  "bad weight ''" },
		{ "linecap-users 2\nplan 1 gold weight=+3\nend 0\n", 2,
		  "bad weight '+3'" },
		{ "linecap-users 2\nplan 1 gold weight=2 weight=3\nend 0\n", 2,
		  "duplicate field 'weight'" },
		{ "linecap-users 2\nuser 1 a\nplan 1 gold\nend 1\n", 3,
		  "plan line after a user line" },
		{ "linecap-users 2\nuser 1 a plan=gold\nend 1\n", 2,
		  "plan 'gold' not defined by a plan line above" },
		{ "linecap-users 2\nplan 1 gold\nuser 1 a plan=gold plan=gold\n"
		  "end 1\n", 3, "duplicate field 'plan'" },
		{ "linecap-users 2\nplan 1 gold\nuser 1 a plan=gold\n"
		  "user 2 b plan=gold\nuser 3 c plan=gold\nend 3\n", 5,
		  "plan 'gold' holds more than 2 users ([shaper] plan_users)" },
	};
	char path[128], err[512], want[512];

	(void)state;
	tmp_path("bad.conf", path, sizeof(path));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lc_user_params p = {
			.capacity = 8, .default_up = GBIT, .default_down = GBIT,
			.plans = 2, .plan_users = 2,
		};
		struct lc_user_registry *reg = lc_user_registry_create(&p);

		assert_non_null(reg);
		/* A user already there must survive a failed load. */
		add_user(reg, "keep", false, 0);
		write_file(path, cases[i].text, strlen(cases[i].text));
		snprintf(want, sizeof(want), "%s:%u: %s", path, cases[i].line,
			 cases[i].msg);
		err[0] = '\0';
		if (lc_user_load(reg, path, 0, err, sizeof(err)) != -EINVAL ||
		    strcmp(err, want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, err, want);
		assert_int_equal(lc_user_count(reg, NULL, NULL), 1);
		assert_null(lc_user_get(reg, 2));
		assert_null(lc_user_find(reg, "a"));
		assert_int_equal(lc_user_plan_free_id(reg), 1);
		lc_user_registry_free(reg);
	}

	/* A NUL byte hidden in a line. */
	static const char nul[] = "linecap-users 1\nuser 1 a\0b up=1 down=1\n"
				  "end 1\n";
	struct lc_user_registry *reg = new_registry(8);

	write_file(path, nul, sizeof(nul) - 1);
	snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	/* A huge line. */
	size_t big = 10000;
	char *text = malloc(big + 64);

	assert_non_null(text);
	strcpy(text, "linecap-users 1\nuser 1 ");
	memset(text + strlen(text), 'a', big);
	strcpy(text + 23 + big, " up=1 down=1\nend 1\n");
	write_file(path, text, strlen(text));
	free(text);
	snprintf(want, sizeof(want), "%s:2: line too long", path);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	/* No err buffer is fine too. */
	assert_int_equal(lc_user_load(reg, path, 0, NULL, 0), -EINVAL);
	assert_int_equal(lc_user_count(reg, NULL, NULL), 0);
	lc_user_registry_free(reg);
}

static void
test_load_conflicts(void **state)
{
	static const char text[] = "linecap-users 1\n"
				   "user 1 a up=1 down=1\n"
				   "user 3 b up=1 down=1\n"
				   "end 2\n";
	struct lc_user_registry *reg = new_registry(8);
	char path[128], err[256], want[256];

	(void)state;
	tmp_path("conflict.conf", path, sizeof(path));
	write_file(path, text, sizeof(text) - 1);
	/* b exists already, under another id. */
	add_user(reg, "x", false, 0);
	assert_int_equal(lc_user_del(reg, 1), 0);
	add_user(reg, "b", false, 0);
	assert_int_equal(lc_user_find(reg, "b")->id, 2);
	/* Id 1 is retired: still taken. */
	snprintf(want, sizeof(want), "%s:2: id 1 already in use", path);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, want);
	assert_int_equal(lc_user_reclaim(reg, 1), 0);
	snprintf(want, sizeof(want), "%s:3: email 'b' already in use", path);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, want);
	assert_null(lc_user_find(reg, "a")); /* line 2 was fine: not loaded */
	assert_int_equal(lc_user_count(reg, NULL, NULL), 1);
	assert_int_equal(lc_user_del(reg, 2), 0);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), 0);
	assert_int_equal(lc_user_find(reg, "a")->id, 1);
	assert_int_equal(lc_user_find(reg, "b")->id, 3);
	lc_user_registry_free(reg);
}

/* A file cut at any byte is refused; only the whole file loads. */
static void
test_truncated_everywhere(void **state)
{
	struct lc_user_registry *reg = new_registry(64);
	struct lc_user_limits lim = {
		.fields = LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN |
			  LC_USER_LIMIT_BURST_UP,
		.up = 10 * MBIT, .down = 12345, .burst_up = 1500,
	};
	char path[128], cut[128], err[256], prefix[160];
	char email[32];
	char *full;
	size_t len;

	(void)state;
	/* Twelve users, so the trailer reads "end 12" and "end 1" is a
	 * prefix of it. */
	for (unsigned i = 0; i < 12; i++) {
		snprintf(email, sizeof(email), "user%u@example.com", i);
		assert_int_equal(lc_user_set(reg, email, &lim, true, 0, NULL,
					     NULL), 0);
	}
	tmp_path("full.conf", path, sizeof(path));
	tmp_path("cut.conf", cut, sizeof(cut));
	assert_int_equal(lc_user_save(reg, path, err, sizeof(err)), 0);
	lc_user_registry_free(reg);
	full = read_file(path, &len);
	snprintf(prefix, sizeof(prefix), "%s:", cut);
	for (size_t n = 0; n <= len; n++) {
		struct lc_user_registry *r = new_registry(64);
		int rc;

		write_file(cut, full, n);
		err[0] = '\0';
		rc = lc_user_load(r, cut, 0, err, sizeof(err));
		if (n < len) {
			if (rc != -EINVAL ||
			    strncmp(err, prefix, strlen(prefix)) != 0)
				fail_msg("cut at %zu/%zu: rc %d, '%s'", n, len,
					 rc, err);
			assert_int_equal(lc_user_count(r, NULL, NULL), 0);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(lc_user_count(r, NULL, NULL), 12);
		}
		lc_user_registry_free(r);
	}
	free(full);
}

static void
test_parse_limits(void **state)
{
	struct lc_user_limits lim;
	char err[256];
	char *ok[] = { "up=10mbit", "down=2.5gbit", "burst=64kb" };
	char *one[] = { "burst_down=1m" };

	(void)state;
	assert_int_equal(lc_user_parse_limits(3, ok, &lim, err, sizeof(err)), 0);
	assert_true(lim.up == 10000000 && lim.down == 2500000000ULL);
	assert_true(lim.burst_up == 65536 && lim.burst_down == 65536);
	assert_int_equal(lim.fields, LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN |
			 LC_USER_LIMIT_BURST_UP | LC_USER_LIMIT_BURST_DOWN);
	assert_int_equal(lc_user_parse_limits(1, one, &lim, err, sizeof(err)), 0);
	assert_int_equal(lim.fields, LC_USER_LIMIT_BURST_DOWN);
	assert_true(lim.burst_down == 1048576);
	assert_int_equal(lc_user_parse_limits(0, NULL, &lim, err, sizeof(err)), 0);
	assert_int_equal(lim.fields, 0);

	/* default: a rate no longer the user's own, the burst for the rate. */
	char *dflt[] = { "up=default", "burst_down=default" };
	char *last[] = { "up=default", "up=3mbit", "down=4mbit", "down=default" };
	assert_int_equal(lc_user_parse_limits(2, dflt, &lim, err, sizeof(err)), 0);
	assert_int_equal(lim.fields, LC_USER_LIMIT_UP_DEFAULT | LC_USER_LIMIT_BURST_DOWN);
	assert_true(lim.burst_down == 0);
	assert_int_equal(lc_user_parse_limits(4, last, &lim, err, sizeof(err)), 0);
	assert_int_equal(lim.fields, LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN_DEFAULT);
	assert_true(lim.up == 3 * MBIT);

	static const struct {
		const char *arg;
		const char *msg;
	} bad[] = {
		{ "up=fast", "bad rate 'fast'" },
		{ "up=0", "bad rate '0'" },
		{ "up=Default", "or default for the plan's or the default rate" },
		{ "burst=defaults", "bad burst 'defaults' (bytes, e.g. 64kb or 1mb, or default)" },
		{ "down=", "bad rate ''" },
		{ "burst=1x", "bad burst '1x'" },
		{ "burst_up=-1", "bad burst '-1'" },
		{ "speed=1mbit", "unknown argument 'speed=1mbit'" },
		{ "up", "bad rate ''" },
		{ "upx=1mbit", "unknown argument 'upx=1mbit'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[2] = { "up=1mbit", (char *)bad[i].arg };

		lim.fields = 77;
		assert_int_equal(lc_user_parse_limits(2, argv, &lim, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].msg) == NULL)
			fail_msg("'%s': '%s' lacks '%s'", bad[i].arg, err, bad[i].msg);
		assert_int_equal(lim.fields, 77); /* untouched on error */
	}
}

/*
 * Every numeric argument of `user set`, at the edges of its range and at
 * every width a parse could wrap at. burst=4294967296 was taken as 4 GiB
 * and reached the shaper as 0; burst=17592186044417m wrapped to 1 MiB.
 */
static void
test_parse_limits_ranges(void **state)
{
	static const char *const keys[] = { "up", "down", "burst", "burst_up",
					    "burst_down" };
	static const struct {
		const char *rate, *burst; /* the value for each kind */
		int rate_rc, burst_rc;
		uint64_t rate_v, burst_v;
	} cases[] = {
		/* The maximum of each, in several spellings. */
		{ "10000000000000", "4294967295", 0, 0,
		  UINT64_C(10000000000000), UINT32_MAX },
		{ "10tbit", "4194303k", 0, 0, UINT64_C(10000000000000),
		  UINT64_C(4194303) << 10 },
		{ "1250000000000bps", "3g", 0, 0, UINT64_C(10000000000000),
		  UINT64_C(3) << 30 },
		/* The minimum. */
		{ "1", "1", 0, 0, 1, 1 },
		{ "1bit", "1b", 0, 0, 1, 1 },
		/* Max + 1. */
		{ "10000000000001", "4294967296", -ERANGE, -ERANGE, 0, 0 },
		{ "10001gbit", "4194304k", -ERANGE, -ERANGE, 0, 0 },
		{ "10tbit", "4g", 0, -ERANGE, UINT64_C(10000000000000), 0 },
		/* 2^32 and 2^32 + 1. */
		{ "4294967296", "4294967297", 0, -ERANGE, UINT64_C(4294967296), 0 },
		/* 2^64, 2^64 + 1 and far beyond. */
		{ "18446744073709551616", "18446744073709551616", -ERANGE, -ERANGE, 0, 0 },
		{ "18446744073709551617", "18446744073709551617", -ERANGE, -ERANGE, 0, 0 },
		{ "999999999999999999999999", "999999999999999999999999", -ERANGE,
		  -ERANGE, 0, 0 },
		/* Unit products that overflow 64 bits (and 128 for rates). */
		{ "17592186044417tibps", "17592186044417m", -ERANGE, -ERANGE, 0, 0 },
		{ "38685626227668133591.597632tibps", "17179869185g", -ERANGE,
		  -ERANGE, 0, 0 },
		{ "18446744073709551616tbit", "18014398509481985k", -ERANGE,
		  -ERANGE, 0, 0 },
		/* Zero, negative numbers, signs. */
		{ "0", "0", -EINVAL, -ERANGE, 0, 0 },
		{ "-1", "-1", -EINVAL, -EINVAL, 0, 0 },
		{ "-18446744073709551615", "-18446744073709551615", -EINVAL,
		  -EINVAL, 0, 0 },
		{ "+1", "+1", -EINVAL, -EINVAL, 0, 0 },
		/* Junk, empty, units of the other kind. */
		{ "", "", -EINVAL, -EINVAL, 0, 0 },
		{ "1mbitx", "1kx", -EINVAL, -EINVAL, 0, 0 },
		{ "0x10", "0x10", -EINVAL, -EINVAL, 0, 0 },
		{ "1 ", "1 ", -EINVAL, -EINVAL, 0, 0 },
		{ "1e6", "1e6", -EINVAL, -EINVAL, 0, 0 },
		{ "1kb", "1kbit", -EINVAL, -EINVAL, 0, 0 },
		{ "k", "k", -EINVAL, -EINVAL, 0, 0 },
	};
	struct lc_user_limits lim;
	char arg[128], err[256];

	(void)state;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		bool rate = k < 2;

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			int want = rate ? cases[i].rate_rc : cases[i].burst_rc;
			uint64_t v = rate ? cases[i].rate_v : cases[i].burst_v;
			char *argv[1] = { arg };

			snprintf(arg, sizeof(arg), "%s=%s", keys[k],
				 rate ? cases[i].rate : cases[i].burst);
			memset(&lim, 0x55, sizeof(lim));
			err[0] = '\0';
			int rc = lc_user_parse_limits(1, argv, &lim, err, sizeof(err));
			if (rc != want)
				fail_msg("'%s': %d (%s), want %d", arg, rc, err, want);
			if (rc == 0) {
				uint64_t got = k == 0 ? lim.up : k == 1 ? lim.down :
					k == 4 ? lim.burst_down : lim.burst_up;

				if (got != v)
					fail_msg("'%s': %" PRIu64 ", want %" PRIu64,
						 arg, got, v);
				continue;
			}
			/* The message quotes the value and says what is wrong. */
			if (strstr(err, rate ? cases[i].rate : cases[i].burst) == NULL ||
			    strstr(err, want == -ERANGE ? "out of range" : "bad ") == NULL)
				fail_msg("'%s': message '%s'", arg, err);
		}
	}
	/* Whatever the parser takes, the registry takes without cutting. */
	struct lc_user_registry *reg = new_registry(16);
	const struct lc_user *u;
	lim = (struct lc_user_limits){ .fields = LC_USER_LIMIT_BURST_UP |
				       LC_USER_LIMIT_BURST_DOWN,
				       .burst_up = LC_USER_BURST_MAX,
				       .burst_down = 1 };
	assert_int_equal(lc_user_set(reg, "a", &lim, true, 0, &u, NULL), 0);
	assert_true(u->burst_up == UINT32_MAX);
	lim.burst_down = (uint64_t)LC_USER_BURST_MAX + 1;
	assert_int_equal(lc_user_set(reg, "a", &lim, true, 0, &u, NULL), -ERANGE);
	assert_true(u->burst_down == 1);
	lc_user_registry_free(reg);
}

/*
 * A long argument of multibyte characters is quoted cut at a character
 * boundary: the message stays valid UTF-8.
 */
static void
test_parse_limits_long_utf8(void **state)
{
	char arg[4096], err[256];
	struct lc_user_limits lim;
	size_t o;

	(void)state;
	for (int k = 0; k < 3; k++) {
		/* up=, burst= and an unknown argument, cut at each byte of "€". */
		o = (size_t)snprintf(arg, sizeof(arg), "%s", k == 0 ? "up=" :
				     k == 1 ? "burst=" : "x");
		for (int shift = 0; shift < 3; shift++) {
			size_t n = o;

			for (int j = 0; j < shift; j++)
				arg[n++] = 'a';
			while (n + 3 < sizeof(arg)) {
				memcpy(arg + n, "\xe2\x82\xac", 3); /* € */
				n += 3;
			}
			arg[n] = '\0';
			char *argv[1] = { arg };
			assert_int_equal(lc_user_parse_limits(1, argv, &lim, err,
							      sizeof(err)), -EINVAL);
			assert_true(utf8_ok(err));
			assert_non_null(strstr(err, "...'"));
		}
	}
}

/* lc_email_cut() never ends inside a character. */
static void
test_email_cut(void **state)
{
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"; /* a é € 😀 z */
	static const size_t want[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11 };

	(void)state;
	for (size_t max = 0; max < sizeof(want) / sizeof(want[0]); max++)
		assert_int_equal(lc_email_cut(s, strlen(s), max), want[max]);
	assert_int_equal(lc_email_cut(s, 3, 100), 3);
}

/* Why an email is refused, and where. */
static void
test_email_check(void **state)
{
	static const struct {
		const char *s;
		enum lc_email_fault fault;
		size_t at;
		uint32_t cp;
	} cases[] = {
		{ "alice\xcd\x8f", LC_EMAIL_INVISIBLE, 5, 0x034f },
		{ "al\xf3\xa0\x80\xa0ice", LC_EMAIL_INVISIBLE, 2, 0xe0020 },
		{ "a b", LC_EMAIL_SPACE, 1, 0x20 },
		{ "a\xe3\x80\x80", LC_EMAIL_SPACE, 1, 0x3000 },
		{ "a\x01", LC_EMAIL_CONTROL, 1, 1 },
		{ "\xc2\x85", LC_EMAIL_CONTROL, 0, 0x85 },
		{ "a\xef\xbf\xbe", LC_EMAIL_NONCHAR, 1, 0xfffe },
		{ "ab\xc0\xaf", LC_EMAIL_BAD_UTF8, 2, 0 },
		{ "alice", LC_EMAIL_OK, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t at = 99;
		uint32_t cp = 99;
		enum lc_email_fault f = lc_email_check(cases[i].s, strlen(cases[i].s),
						       &at, &cp);

		assert_int_equal(f, cases[i].fault);
		if (f != LC_EMAIL_OK && f != LC_EMAIL_BAD_UTF8) {
			assert_int_equal(at, cases[i].at);
			assert_int_equal(cp, cases[i].cp);
		}
		assert_non_null(lc_email_fault_text(f));
	}
	assert_int_equal(lc_email_check("", 0, NULL, NULL), LC_EMAIL_EMPTY);
	assert_int_equal(lc_email_check("a", 256, NULL, NULL), LC_EMAIL_TOO_LONG);
}

/* ---- plans ---- */

/* A registry with two plans of at most two users each. */
static struct lc_user_registry *
plan_registry(void)
{
	const struct lc_user_params p = {
		.capacity = 16,
		.default_up = 1 * GBIT,
		.default_down = 1 * GBIT,
		.plans = 2,
		.plan_users = 2,
	};
	struct lc_user_registry *reg = lc_user_registry_create(&p);

	assert_non_null(reg);
	return reg;
}

/* `plan set NAME ARGS...` through the parser, as the command does it. */
static int
plan_set(struct lc_user_registry *reg, const char *name, const char *args,
	 const struct lc_plan **out)
{
	char buf[256], *argv[8], *save;
	struct lc_plan_limits lim;
	char err[256];
	int argc = 0, rc;

	snprintf(buf, sizeof(buf), "%s", args);
	for (char *t = strtok_r(buf, " ", &save); t != NULL && argc < 8;
	     t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	rc = lc_user_plan_parse_limits(argc, argv, &lim, err, sizeof(err));
	assert_int_equal(rc, 0);
	return lc_user_plan_set(reg, name, &lim, out, NULL);
}

/* `user set EMAIL ARGS...` through the parser. */
static int
user_set(struct lc_user_registry *reg, const char *email, const char *args)
{
	char buf[256], *argv[8], *save, err[256];
	struct lc_user_limits lim;
	int argc = 0, rc;

	snprintf(buf, sizeof(buf), "%s", args);
	for (char *t = strtok_r(buf, " ", &save); t != NULL && argc < 8;
	     t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	rc = lc_user_parse_set(reg, argc, argv, &lim, err, sizeof(err));
	if (rc != 0)
		return rc;
	return lc_user_set(reg, email, &lim, true, 0, NULL, NULL);
}

static void
test_plan_names(void **state)
{
	(void)state;
	assert_true(lc_user_plan_name_valid("gold"));
	assert_true(lc_user_plan_name_valid("Plan_1.0-b"));
	assert_true(lc_user_plan_name_valid("abcdefghijabcdefghijabcdefghij12"));
	assert_false(lc_user_plan_name_valid("abcdefghijabcdefghijabcdefghij123"));
	assert_false(lc_user_plan_name_valid(""));
	assert_false(lc_user_plan_name_valid(NULL));
	assert_false(lc_user_plan_name_valid("a b"));
	assert_false(lc_user_plan_name_valid("a=b"));
	assert_false(lc_user_plan_name_valid("caf\xc3\xa9"));
}

static void
test_plan_parse(void **state)
{
	struct lc_user_registry *reg = plan_registry();
	struct lc_plan_limits pl = { .fields = 99 };
	struct lc_user_limits ul;
	char *ok[] = { "total=10mbit", "up=0", "down=2mbit", "total_down=1gbit" };
	char *bad_key[] = { "speed=1mbit" }, *bad_rate[] = { "total=fast" };
	char *big[] = { "up=10001gbit" };
	char *join[] = { "up=1mbit", "plan=gold" }, *leave[] = { "plan=none" };
	char *nope[] = { "plan=nope" };
	char *w1[] = { "weight=1" }, *w100[] = { "up=1mbit", "weight=100" };
	char *w_last[] = { "weight=3", "weight=4" };
	static const struct {
		const char *arg;
		int rc;
		const char *msg;
	} bad_weights[] = {
		{ "weight=0", -ERANGE, "weight '0' out of range: 1 to 100" },
		{ "weight=101", -ERANGE, "weight '101' out of range: 1 to 100" },
		{ "weight=18446744073709551617", -ERANGE,
		  "weight '18446744073709551617' out of range: 1 to 100" },
		{ "weight=abc", -EINVAL,
		  "bad weight 'abc' (a whole number, 1 to 100)" },
		{ "weight=1.5", -EINVAL,
		  "bad weight '1.5' (a whole number, 1 to 100)" },
		{ "weight=", -EINVAL, "bad weight '' (a whole number, 1 to 100)" },
		{ "weight=+5", -EINVAL,
		  "bad weight '+5' (a whole number, 1 to 100)" },
		{ "weight=-1", -EINVAL,
		  "bad weight '-1' (a whole number, 1 to 100)" },
		{ "weight=5mbit", -EINVAL,
		  "bad weight '5mbit' (a whole number, 1 to 100)" },
		{ "weight= 5", -EINVAL,
		  "bad weight ' 5' (a whole number, 1 to 100)" },
		{ "weight", -EINVAL, "unknown argument 'weight'" },
	};
	char err[256];

	(void)state;
	assert_int_equal(lc_user_plan_parse_limits(4, ok, &pl, err, sizeof(err)), 0);
	assert_int_equal(pl.fields, LC_PLAN_TOTAL_UP | LC_PLAN_TOTAL_DOWN |
			 LC_PLAN_UP | LC_PLAN_DOWN);
	assert_true(pl.total_up == 10 * MBIT && pl.total_down == GBIT);
	assert_true(pl.up == 0 && pl.down == 2 * MBIT);
	assert_int_equal(lc_user_plan_parse_limits(1, bad_key, &pl, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "unknown argument 'speed=1mbit'"));
	assert_non_null(strstr(err, "weight=N"));

	/* weight=N: 1 to 100, nothing else; the last one counts. */
	assert_int_equal(lc_user_plan_parse_limits(1, w1, &pl, err, sizeof(err)), 0);
	assert_int_equal(pl.fields, LC_PLAN_WEIGHT);
	assert_int_equal(pl.weight, 1);
	assert_int_equal(lc_user_plan_parse_limits(2, w100, &pl, err, sizeof(err)), 0);
	assert_int_equal(pl.fields, LC_PLAN_UP | LC_PLAN_WEIGHT);
	assert_true(pl.up == MBIT && pl.weight == 100);
	assert_int_equal(lc_user_plan_parse_limits(2, w_last, &pl, err, sizeof(err)), 0);
	assert_int_equal(pl.weight, 4);
	for (size_t i = 0; i < sizeof(bad_weights) / sizeof(bad_weights[0]); i++) {
		char arg[64], *argv[] = { arg };
		struct lc_plan_limits before = { .fields = 77, .weight = 55 };

		snprintf(arg, sizeof(arg), "%s", bad_weights[i].arg);
		err[0] = '\0';
		pl = before;
		if (lc_user_plan_parse_limits(1, argv, &pl, err, sizeof(err)) !=
		    bad_weights[i].rc || strstr(err, bad_weights[i].msg) == NULL)
			fail_msg("'%s': got '%s', want '%s'", bad_weights[i].arg,
				 err, bad_weights[i].msg);
		/* Nothing written on failure. */
		assert_true(pl.fields == 77 && pl.weight == 55);
	}
	assert_int_equal(lc_user_plan_parse_limits(1, bad_rate, &pl, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "bad rate 'fast'"));
	assert_int_equal(lc_user_plan_parse_limits(1, big, &pl, err, sizeof(err)),
			 -ERANGE);

	assert_int_equal(plan_set(reg, "gold", "", NULL), 0);
	assert_int_equal(lc_user_parse_set(reg, 2, join, &ul, err, sizeof(err)), 0);
	assert_int_equal(ul.fields, LC_USER_LIMIT_UP | LC_USER_LIMIT_PLAN);
	assert_int_equal(ul.plan, lc_user_plan_find(reg, "gold")->id);
	assert_int_equal(lc_user_parse_set(reg, 1, leave, &ul, err, sizeof(err)), 0);
	assert_int_equal(ul.fields, LC_USER_LIMIT_PLAN);
	assert_int_equal(ul.plan, 0);
	assert_int_equal(lc_user_parse_set(reg, 1, nope, &ul, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "no plan 'nope'"));
	lc_user_registry_free(reg);
}

/* Plans made, updated, full, refused and deleted. */
static void
test_plan_registry(void **state)
{
	struct lc_user_registry *reg = plan_registry();
	struct lc_plan_limits big = { .fields = LC_PLAN_UP, .up = LC_RATE_MAX + 1 };
	struct lc_plan_limits heavy = { .fields = LC_PLAN_WEIGHT,
					.weight = LC_PLAN_WEIGHT_MAX + 1 };
	struct lc_plan_limits light = { .fields = LC_PLAN_WEIGHT, .weight = 0 };
	const struct lc_plan *gold, *p;
	uint32_t cursor = 0;
	uint64_t gen;
	bool created = false;

	(void)state;
	assert_int_equal(lc_user_plan_slots(reg), 2);
	assert_int_equal(lc_user_plan_capacity(reg), 2);
	assert_int_equal(lc_user_plan_free_id(reg), 1);
	assert_int_equal(lc_user_plan_set(reg, "gold", NULL, &gold, &created), 0);
	assert_true(created);
	assert_int_equal(gold->id, 1);
	assert_true(gold->total_up == 0 && gold->up == 0 && gold->users == 0);
	gen = lc_user_static_generation(reg);
	assert_int_equal(plan_set(reg, "gold", "total=100mbit up=5mbit", &p), 0);
	assert_ptr_equal(p, gold);
	assert_true(gold->total_up == 100 * MBIT && gold->total_down == 100 * MBIT);
	assert_true(gold->up == 5 * MBIT && gold->down == 0);
	assert_true(lc_user_static_generation(reg) != gen);
	/* A weight: 1 at first, kept by a plan set that does not name it. */
	assert_int_equal(gold->weight, LC_PLAN_WEIGHT_DEFAULT);
	gen = lc_user_static_generation(reg);
	assert_int_equal(plan_set(reg, "gold", "weight=5", NULL), 0);
	assert_int_equal(gold->weight, 5);
	assert_true(lc_user_static_generation(reg) != gen);
	assert_int_equal(plan_set(reg, "gold", "total=100mbit up=5mbit", NULL), 0);
	assert_int_equal(gold->weight, 5);
	assert_int_equal(plan_set(reg, "silver", "total_down=1mbit", NULL), 0);
	assert_int_equal(lc_user_plan_find(reg, "silver")->weight, 1);
	assert_int_equal(lc_user_plan_free_id(reg), 0);
	/* No slot, bad name, bad rate: refused, nothing changed. */
	gen = lc_user_static_generation(reg);
	assert_int_equal(lc_user_plan_set(reg, "bronze", NULL, NULL, NULL), -ENOSPC);
	assert_int_equal(lc_user_plan_set(reg, "a b", NULL, NULL, NULL), -EINVAL);
	assert_int_equal(lc_user_plan_set(reg, "gold", &big, NULL, NULL), -ERANGE);
	assert_int_equal(lc_user_plan_set(reg, "gold", &heavy, NULL, NULL), -ERANGE);
	assert_int_equal(lc_user_plan_set(reg, "gold", &light, NULL, NULL), -ERANGE);
	assert_true(gold->up == 5 * MBIT && gold->weight == 5);
	assert_null(lc_user_plan_find(reg, "bronze"));
	assert_true(lc_user_static_generation(reg) == gen);
	assert_ptr_equal(lc_user_plan_next(reg, &cursor), gold);
	assert_string_equal(lc_user_plan_next(reg, &cursor)->name, "silver");
	assert_null(lc_user_plan_next(reg, &cursor));

	/* Users join: the plan's per-user rate where they have none. */
	assert_int_equal(user_set(reg, "alice", "plan=gold"), 0);
	assert_int_equal(user_set(reg, "bob", "up=7mbit plan=gold"), 0);
	const struct lc_user *alice = lc_user_find(reg, "alice");
	const struct lc_user *bob = lc_user_find(reg, "bob");
	assert_true(alice->plan == 1 && alice->up == 5 * MBIT &&
		    alice->down == GBIT);
	assert_true(bob->plan == 1 && bob->up == 7 * MBIT);
	assert_int_equal(gold->users, 2);
	/* Full: a third is refused, and a new user is not made. */
	assert_int_equal(user_set(reg, "carol", "plan=gold"), -ENOBUFS);
	assert_null(lc_user_find(reg, "carol"));
	assert_int_equal(user_set(reg, "carol", ""), 0);
	assert_int_equal(user_set(reg, "carol", "plan=gold"), -ENOBUFS);
	assert_int_equal(lc_user_find(reg, "carol")->plan, 0);
	/* Setting the plan a user is in again is no join. */
	assert_int_equal(user_set(reg, "alice", "plan=gold"), 0);

	/* New per-user rates reach the users without their own. */
	assert_int_equal(plan_set(reg, "gold", "up=6mbit down=3mbit", NULL), 0);
	assert_true(alice->up == 6 * MBIT && alice->down == 3 * MBIT);
	assert_true(bob->up == 7 * MBIT && bob->down == 3 * MBIT);
	/* The plan's rate gone: the default again. */
	assert_int_equal(plan_set(reg, "gold", "down=0", NULL), 0);
	assert_true(alice->down == GBIT);

	/* Deleted only when empty; leaving takes the default back. */
	assert_int_equal(lc_user_plan_del(reg, "gold"), -EBUSY);
	assert_int_equal(user_set(reg, "alice", "plan=none"), 0);
	assert_true(alice->plan == 0 && alice->up == GBIT);
	assert_int_equal(gold->users, 1);
	assert_int_equal(lc_user_del(reg, bob->id), 0);
	assert_int_equal(gold->users, 0);
	assert_int_equal(lc_user_plan_del(reg, "gold"), 0);
	assert_int_equal(lc_user_plan_del(reg, "gold"), -ENOENT);
	assert_null(lc_user_plan_find(reg, "gold"));
	assert_int_equal(user_set(reg, "alice", "plan=gold"), -ENOENT);
	assert_int_equal(lc_user_plan_free_id(reg), 1);
	lc_user_registry_free(reg);
}

/* lc_user_preview() says what lc_user_set() does, and changes nothing. */
static void
test_plan_preview(void **state)
{
	struct lc_user_registry *reg = plan_registry();
	struct lc_user_limits lim = { .fields = LC_USER_LIMIT_PLAN, .plan = 1 };
	struct lc_user next;
	uint64_t gen;

	(void)state;
	assert_int_equal(plan_set(reg, "gold", "up=5mbit", NULL), 0);
	assert_int_equal(user_set(reg, "alice", ""), 0);
	gen = lc_user_static_generation(reg);
	assert_int_equal(lc_user_preview(reg, "alice", &lim, &next), 0);
	assert_true(next.plan == 1 && next.up == 5 * MBIT);
	assert_int_equal(lc_user_find(reg, "alice")->plan, 0);
	assert_int_equal(lc_user_preview(reg, "new", &lim, &next), 0);
	assert_null(next.email);
	assert_true(next.up == 5 * MBIT && next.down == GBIT);
	assert_null(lc_user_find(reg, "new"));
	assert_int_equal(lc_user_plan_find(reg, "gold")->users, 0);
	assert_true(lc_user_static_generation(reg) == gen);
	lim.plan = 2;
	assert_int_equal(lc_user_preview(reg, "alice", &lim, &next), -ENOENT);
	assert_int_equal(lc_user_preview(reg, "a b", &lim, &next), -EINVAL);
	lc_user_registry_free(reg);
}

/* Plans and users' plans survive a save and a load. */
/*
 * up=default and down=default take a rate back from the user: it has its
 * plan's per-user rate again, or the default without one, follows the
 * plan's changes again, and is saved without a rate of its own.
 */
static void
test_rate_back_to_default(void **state)
{
	struct lc_user_registry *reg = plan_registry();
	const struct lc_user *u;
	char path[128], err[256];

	(void)state;
	tmp_path("default.conf", path, sizeof(path));
	assert_int_equal(plan_set(reg, "gold", "up=20mbit", NULL), 0);
	assert_int_equal(user_set(reg, "a@x", "up=5mbit down=6mbit plan=gold"), 0);
	u = lc_user_find(reg, "a@x");
	assert_true(u->up == 5 * MBIT && u->down == 6 * MBIT);
	assert_int_equal(u->own, LC_USER_LIMIT_UP | LC_USER_LIMIT_DOWN);

	/* Up: the plan's; down: the plan has none, so the default. */
	assert_int_equal(user_set(reg, "a@x", "up=default"), 0);
	assert_true(u->up == 20 * MBIT && u->down == 6 * MBIT);
	assert_int_equal(u->own, LC_USER_LIMIT_DOWN);
	assert_string_equal(lc_user_rate_from(reg, u, LC_USER_LIMIT_UP), "plan");
	assert_string_equal(lc_user_rate_from(reg, u, LC_USER_LIMIT_DOWN), "own");
	assert_int_equal(user_set(reg, "a@x", "down=default"), 0);
	assert_true(u->down == GBIT);
	assert_int_equal(u->own, 0);
	assert_string_equal(lc_user_rate_from(reg, u, LC_USER_LIMIT_DOWN), "default");
	/* The plan's rate is the user's again as it changes. */
	assert_int_equal(plan_set(reg, "gold", "up=30mbit", NULL), 0);
	assert_true(u->up == 30 * MBIT);
	/* Out of the plan: the default; default again changes nothing. */
	assert_int_equal(user_set(reg, "a@x", "plan=none up=default"), 0);
	assert_true(u->up == GBIT && u->down == GBIT && u->plan == 0);
	assert_int_equal(user_set(reg, "b@x", "up=default down=2mbit"), 0);
	u = lc_user_find(reg, "b@x");
	assert_true(u->up == GBIT && u->down == 2 * MBIT);
	assert_int_equal(u->own, LC_USER_LIMIT_DOWN);

	/* Saved so: a@x without rates, b@x with its down only. */
	assert_int_equal(lc_user_save(reg, path, err, sizeof(err)), 0);
	lc_user_registry_free(reg);
	reg = plan_registry();
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), 0);
	u = lc_user_find(reg, "a@x");
	assert_true(u->up == GBIT && u->own == 0);
	u = lc_user_find(reg, "b@x");
	assert_true(u->down == 2 * MBIT && u->own == LC_USER_LIMIT_DOWN);
	lc_user_registry_free(reg);
}

static void
test_plan_save_load(void **state)
{
	struct lc_user_registry *reg = plan_registry();
	char path[128], err[256], *text;

	(void)state;
	tmp_path("plans.conf", path, sizeof(path));
	assert_int_equal(plan_set(reg, "gold", "total=100mbit up=5mbit weight=7",
				  NULL), 0);
	assert_int_equal(plan_set(reg, "silver", "total_down=20mbit", NULL), 0);
	assert_int_equal(user_set(reg, "alice", "plan=gold"), 0);
	assert_int_equal(user_set(reg, "bob", "up=7mbit down=8mbit plan=gold"), 0);
	assert_int_equal(user_set(reg, "carol", "up=1mbit down=1mbit"), 0);
	assert_int_equal(lc_user_save(reg, path, err, sizeof(err)), 0);
	text = read_file(path, NULL);
	assert_string_equal(text,
		"linecap-users 2\n"
		"plan 1 gold total_up=100mbit total_down=100mbit up=5mbit "
		"down=0bit weight=7\n"
		"plan 2 silver total_up=0bit total_down=20mbit up=0bit down=0bit "
		"weight=1\n"
		"user 1 alice burst_up=0 burst_down=0 plan=gold\n"
		"user 2 bob up=7mbit down=8mbit burst_up=0 burst_down=0 plan=gold\n"
		"user 3 carol up=1mbit down=1mbit burst_up=0 burst_down=0\n"
		"end 3\n");
	free(text);
	lc_user_registry_free(reg);

	reg = plan_registry();
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), 0);
	const struct lc_plan *gold = lc_user_plan_find(reg, "gold");
	const struct lc_plan *silver = lc_user_plan_find(reg, "silver");
	assert_non_null(gold);
	assert_non_null(silver);
	assert_true(gold->id == 1 && gold->total_up == 100 * MBIT &&
		    gold->total_down == 100 * MBIT && gold->up == 5 * MBIT &&
		    gold->down == 0 && gold->users == 2);
	assert_int_equal(gold->weight, 7);
	assert_true(silver->id == 2 && silver->total_down == 20 * MBIT &&
		    silver->users == 0);
	assert_int_equal(silver->weight, 1);
	const struct lc_user *alice = lc_user_find(reg, "alice");
	assert_true(alice->plan == 1 && alice->own == 0 &&
		    alice->up == 5 * MBIT && alice->down == GBIT);
	assert_true(lc_user_find(reg, "bob")->plan == 1 &&
		    lc_user_find(reg, "bob")->up == 7 * MBIT);
	assert_int_equal(lc_user_find(reg, "carol")->plan, 0);
	/* Alice still follows her plan after the load. */
	assert_int_equal(plan_set(reg, "gold", "up=9mbit", NULL), 0);
	assert_true(alice->up == 9 * MBIT);
	assert_true(lc_user_find(reg, "bob")->up == 7 * MBIT);
	/* Loading again clashes with the plans already there. */
	lc_user_registry_free(reg);
	reg = plan_registry();
	assert_int_equal(plan_set(reg, "gold", "", NULL), 0);
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, ":2: plan name already in use"));
	assert_null(lc_user_find(reg, "alice"));
	lc_user_registry_free(reg);

	/*
	 * A file written before plans had weights: its plan lines have no
	 * weight=, and load with weight 1; weight= may come anywhere.
	 */
	static const char old[] =
		"linecap-users 2\n"
		"plan 1 gold total_up=100mbit total_down=100mbit up=5mbit "
		"down=0bit\n"
		"plan 2 silver weight=100 total_down=20mbit\n"
		"user 1 alice burst_up=0 burst_down=0 plan=gold\n"
		"end 1\n";
	write_file(path, old, sizeof(old) - 1);
	reg = plan_registry();
	assert_int_equal(lc_user_load(reg, path, 0, err, sizeof(err)), 0);
	gold = lc_user_plan_find(reg, "gold");
	silver = lc_user_plan_find(reg, "silver");
	assert_non_null(gold);
	assert_non_null(silver);
	assert_int_equal(gold->weight, 1);
	assert_true(gold->total_up == 100 * MBIT && gold->users == 1);
	assert_int_equal(silver->weight, 100);
	assert_true(silver->total_down == 20 * MBIT);
	lc_user_registry_free(reg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_parse_limits_ranges),
		cmocka_unit_test(test_parse_limits_long_utf8),
		cmocka_unit_test(test_email_cut),
		cmocka_unit_test(test_email_check),
		cmocka_unit_test(test_email_ascii),
		cmocka_unit_test(test_email_length),
		cmocka_unit_test(test_email_utf8),
		cmocka_unit_test(test_email_default_ignorable),
		cmocka_unit_test(test_email_against_ucd),
		cmocka_unit_test(test_create_params),
		cmocka_unit_test(test_set_update),
		cmocka_unit_test(test_set_errors_change_nothing),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_capacity_full),
		cmocka_unit_test(test_iteration),
		cmocka_unit_test(test_churn_against_model),
		cmocka_unit_test(test_many_users),
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_note_activity),
		cmocka_unit_test(test_gc),
		cmocka_unit_test(test_gc_bounded),
		cmocka_unit_test_setup_teardown(test_save_load_round_trip,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_file_format, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_save_creates_directories,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_load_missing_file,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_load_not_regular, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_atomic_save, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_files, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_load_conflicts, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_truncated_everywhere,
						dir_setup, dir_teardown),
		cmocka_unit_test(test_plan_names),
		cmocka_unit_test(test_plan_parse),
		cmocka_unit_test(test_plan_registry),
		cmocka_unit_test(test_plan_preview),
		cmocka_unit_test_setup_teardown(test_plan_save_load, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_rate_back_to_default, dir_setup,
						dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
