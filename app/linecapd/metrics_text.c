/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "metrics_text.h"

void
metrics_text_init(struct metrics_text *t, char *buf, size_t cap)
{
	t->buf = buf;
	t->len = 0;
	t->cap = cap;
	t->full = false;
	if (cap > 0)
		buf[0] = '\0';
}

/*
 * Escape src into dst (at most size bytes with the NUL). HELP text escapes
 * backslash and line feed; a label value escapes the double quote too.
 * Returns the length of the whole escaped text.
 */
static size_t
escape(const char *src, char *dst, size_t size, bool quote)
{
	size_t n = 0, w = 0; /* the whole length; bytes written */
	bool cut = false;

	for (const char *p = src; *p != '\0'; p++) {
		char e = 0;

		if (*p == '\\')
			e = '\\';
		else if (*p == '\n')
			e = 'n';
		else if (*p == '"' && quote)
			e = '"';
		size_t len = e != 0 ? 2 : 1;

		/* An escape is written whole or not at all, and nothing after it. */
		if (!cut && w + len < size) {
			if (e != 0) {
				dst[w] = '\\';
				dst[w + 1] = e;
			} else {
				dst[w] = *p;
			}
			w += len;
		} else {
			cut = true;
		}
		n += len;
	}
	if (size > 0)
		dst[w] = '\0';
	return n;
}

size_t
metrics_text_escape(const char *value, char *out, size_t size)
{
	return escape(value, out, size, true);
}

/* Append printf text, whole or not at all. */
static int __attribute__((format(printf, 2, 3)))
append(struct metrics_text *t, const char *fmt, ...)
{
	size_t room = metrics_text_room(t);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		if (room > 0)
			t->buf[t->len] = '\0';
		return -ENOSPC;
	}
	t->len += (size_t)n;
	return 0;
}

/* Undo everything appended since mark, and say the line did not fit. */
static int
cut(struct metrics_text *t, size_t mark)
{
	t->len = mark;
	if (t->cap > 0)
		t->buf[mark] = '\0';
	t->full = true;
	return -ENOSPC;
}

int
metrics_text_family(struct metrics_text *t, const char *name, const char *type,
		    const char *help)
{
	char esc[METRICS_LINE_MAX];
	size_t mark = t->len;

	if (escape(help, esc, sizeof(esc), false) >= sizeof(esc))
		return cut(t, mark);
	if (append(t, "# HELP %s %s\n# TYPE %s %s\n", name, esc, name, type) != 0)
		return cut(t, mark);
	return 0;
}

/* name{a="x",b="y"} with the values escaped, or name alone. */
static int
sample_head(struct metrics_text *t, const char *name,
	    const struct metrics_label *labels, unsigned int n_labels)
{
	char esc[METRICS_LINE_MAX];

	if (append(t, "%s", name) != 0)
		return -ENOSPC;
	for (unsigned int i = 0; i < n_labels; i++) {
		if (metrics_text_escape(labels[i].value, esc, sizeof(esc)) >= sizeof(esc))
			return -ENOSPC;
		if (append(t, "%s%s=\"%s\"", i == 0 ? "{" : ",", labels[i].name, esc) != 0)
			return -ENOSPC;
	}
	if (n_labels > 0 && append(t, "}") != 0)
		return -ENOSPC;
	return 0;
}

int
metrics_text_u64(struct metrics_text *t, const char *name,
		 const struct metrics_label *labels, unsigned int n_labels,
		 uint64_t value)
{
	size_t mark = t->len;

	if (sample_head(t, name, labels, n_labels) != 0 ||
	    append(t, " %" PRIu64 "\n", value) != 0)
		return cut(t, mark);
	return 0;
}

int
metrics_text_double(struct metrics_text *t, const char *name,
		    const struct metrics_label *labels, unsigned int n_labels,
		    double value)
{
	size_t mark = t->len;
	int rc;

	if (sample_head(t, name, labels, n_labels) != 0)
		return cut(t, mark);
	/* The format's own words for what printf writes as nan and inf. */
	if (isnan(value))
		rc = append(t, " NaN\n");
	else if (isinf(value))
		rc = append(t, " %sInf\n", value > 0 ? "+" : "-");
	else
		rc = append(t, " %.15g\n", value);
	if (rc != 0)
		return cut(t, mark);
	return 0;
}

bool
metrics_name_valid(const char *name, bool label)
{
	if (name[0] == '\0' || (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || (c == ':' && !label)))
			return false;
	}
	return true;
}
