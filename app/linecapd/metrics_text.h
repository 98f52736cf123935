/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition (format 0.0.4), written into a buffer the
 * caller owns: the HELP and TYPE lines of a metric family and its samples.
 * linecapd's metrics.c writes a scrape with it a chunk at a time; it needs
 * no DPDK and no thread, so tests/unit/test_metrics.c checks it alone.
 *
 * A line is written whole or not at all: when it does not fit, the text is
 * left as it was, full is set and -ENOSPC returned, so a chunk never ends
 * in half a line. A sample's line is at most METRICS_LINE_MAX bytes for
 * names and label values of the sizes linecap gives (an email of 255 bytes
 * escaped whole), so a caller that keeps that much room per line never
 * sees -ENOSPC.
 */
#ifndef METRICS_TEXT_H
#define METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Content-Type of the text this writes. */
#define METRICS_TEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#define METRICS_LINE_MAX 1024

struct metrics_text {
	char *buf;
	size_t len;
	size_t cap;
	bool full; /* a line did not fit and was left out */
};

struct metrics_label {
	const char *name;  /* a valid label name, as metrics_name_valid() */
	const char *value; /* any UTF-8; escaped here */
};

void metrics_text_init(struct metrics_text *t, char *buf, size_t cap);

/* Bytes left. */
static inline size_t
metrics_text_room(const struct metrics_text *t)
{
	return t->cap - t->len;
}

/*
 * "# HELP name help" and "# TYPE name type" (type: counter, gauge, ...).
 * Returns 0 or -ENOSPC.
 */
int metrics_text_family(struct metrics_text *t, const char *name,
			const char *type, const char *help);

/* One sample: name{labels} value. Returns 0 or -ENOSPC. */
int metrics_text_u64(struct metrics_text *t, const char *name,
		     const struct metrics_label *labels, unsigned int n_labels,
		     uint64_t value);
int metrics_text_double(struct metrics_text *t, const char *name,
			const struct metrics_label *labels, unsigned int n_labels,
			double value);

/*
 * A label value escaped as the format wants it: backslash, double quote
 * and line feed as \\, \" and \n. Writes at most size bytes with the NUL;
 * returns the length of the whole escaped text (as snprintf does), so a
 * return >= size means it was cut.
 */
size_t metrics_text_escape(const char *value, char *out, size_t size);

/* A metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no ':'). */
bool metrics_name_valid(const char *name, bool label);

#endif /* METRICS_TEXT_H */
