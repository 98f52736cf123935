/* SPDX-License-Identifier: MIT */
/*
 * What `linecapctl top` shows, from two samples of linecapd's `stats` and
 * `user list` replies. No I/O here: top.c samples and draws, the unit test
 * (tests/unit/test_top.c) feeds JSON.
 *
 * Rates. A user's rate is what its byte counters say: the bytes of its
 * frames that reached linecapd between the two samples, in bit/s, shown
 * against its limit ("9.8M/10M"). For TCP, which backs off, that is close
 * to what passed; a user that sends far above its limit (a UDP flood) shows
 * its demand, and the drops per second say how much of it the shaper cut.
 * What passed per user is not given by linecapd: it counts drops in frames
 * only, and collects a queue's drops a moment after the frames themselves,
 * so an estimate from frames (bytes x (packets - drops) / packets) swings
 * by hundreds of frames per second and reads 0 for a user that passes 1%
 * of what it sends. A user's dropped bytes (which linecapd's shaper drop
 * callback already gets) would make "passed" exact.
 *
 * A user is rated only against the same user (same email and id) in the
 * previous sample, with counters that went on growing: a user that is new,
 * was deleted and made again, or whose linecapd restarted shows "-" until
 * the next sample. The port rows follow the same rule.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linecapctl.h"

static const char *const sort_names[TOP_SORTS] = {
	[TOP_SORT_RATE] = "rate",
	[TOP_SORT_UP] = "up",
	[TOP_SORT_DOWN] = "down",
	[TOP_SORT_DROPS] = "drops",
	[TOP_SORT_FLOWS] = "flows",
	[TOP_SORT_EMAIL] = "email",
};

const char *
top_sort_name(enum top_sort s)
{
	return s < TOP_SORTS ? sort_names[s] : "?";
}

int
top_sort_parse(const char *name)
{
	for (int i = 0; i < TOP_SORTS; i++)
		if (strcmp(name, sort_names[i]) == 0)
			return i;
	return -1;
}

/* ---- samples ---- */

/* A counter of a reply: a non-negative integer, 0 when absent. */
static uint64_t
count_of(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return (uint64_t)json_integer_value(v);
	return 0;
}

static bool
reply_ok(const json_t *reply, const char *what, char *err, size_t err_size)
{
	const json_t *e;

	if (!json_is_object(reply)) {
		snprintf(err, err_size, "%s: no reply", what);
		return false;
	}
	if (json_is_true(json_object_get(reply, "ok")))
		return true;
	e = json_object_get(reply, "error");
	snprintf(err, err_size, "%s: %s", what, json_is_string(e) ?
		 json_string_value(e) : "error (no message)");
	return false;
}

static void
port_of(struct top_port *p, const json_t *port)
{
	const json_t *drops = json_object_get(port, "drops"), *v;
	const char *key;

	p->rx_packets = count_of(port, "rx_packets");
	p->rx_bytes = count_of(port, "rx_bytes");
	p->tx_packets = count_of(port, "tx_packets");
	p->tx_bytes = count_of(port, "tx_bytes");
	p->drops = 0;
	json_object_foreach((json_t *)drops, key, v)
		if (json_is_integer(v) && json_integer_value(v) > 0)
			p->drops += (uint64_t)json_integer_value(v);
}

static void
copy_word(char *to, size_t size, const json_t *v)
{
	snprintf(to, size, "%s", json_is_string(v) ? json_string_value(v) : "?");
}

int
top_sample_stats(struct top_sample *s, const json_t *reply, char *err, size_t err_size)
{
	const json_t *ports, *v, *inc;
	const char *key;

	s->have_stats = false;
	free(s->incomplete);
	s->incomplete = NULL;
	if (!reply_ok(reply, "stats", err, err_size))
		return -EINVAL;
	ports = json_object_get(reply, "ports");
	if (!json_is_object(json_object_get(ports, "client")) ||
	    !json_is_object(json_object_get(ports, "server"))) {
		snprintf(err, err_size, "stats: no ports in the reply");
		return -EINVAL;
	}
	port_of(&s->port[TOP_CLIENT], json_object_get(ports, "client"));
	port_of(&s->port[TOP_SERVER], json_object_get(ports, "server"));
	copy_word(s->mode, sizeof(s->mode), json_object_get(reply, "mode"));
	copy_word(s->state, sizeof(s->state), json_object_get(reply, "state"));
	v = json_object_get(reply, "uptime");
	s->uptime = json_is_integer(v) ? json_integer_value(v) : -1;
	s->active_flows = count_of(json_object_get(reply, "flows"), "active");
	v = json_object_get(reply, "unassigned");
	s->unassigned_bytes[TOP_UP] = count_of(json_object_get(v, "up"), "bytes");
	s->unassigned_bytes[TOP_DOWN] = count_of(json_object_get(v, "down"), "bytes");

	/* "incomplete": sections the worker did not answer for, and why. */
	inc = json_object_get(reply, "incomplete");
	if (json_is_object(inc) && json_object_size(inc) > 0) {
		char text[512];
		size_t n = 0;

		text[0] = '\0';
		json_object_foreach((json_t *)inc, key, v)
			if (n < sizeof(text))
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s: %s",
						      n ? "; " : "", key, json_is_string(v) ?
						      json_string_value(v) : "?");
		s->incomplete = strdup(text);
	}
	s->have_stats = true;
	return 0;
}

static void
users_free(struct top_user *u, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(u[i].email);
	free(u);
}

static int
by_email(const void *a, const void *b)
{
	return strcmp(((const struct top_user *)a)->email,
		      ((const struct top_user *)b)->email);
}

int
top_sample_users(struct top_sample *s, const json_t *reply, char *err, size_t err_size)
{
	const json_t *list, *o;
	struct top_user *user;
	size_t i, n = 0;

	s->have_users = false;
	users_free(s->user, s->n_user);
	s->user = NULL;
	s->n_user = 0;
	if (!reply_ok(reply, "user list", err, err_size))
		return -EINVAL;
	list = json_object_get(reply, "users");
	if (!json_is_array(list)) {
		snprintf(err, err_size, "user list: no users in the reply");
		return -EINVAL;
	}
	user = calloc(json_array_size(list) + 1, sizeof(*user));
	if (user == NULL) {
		snprintf(err, err_size, "user list: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	json_array_foreach(list, i, o) {
		const json_t *email = json_object_get(o, "email");
		const json_t *c = json_object_get(o, "counters");
		struct top_user *u = &user[n];

		if (!json_is_string(email))
			continue;
		u->email = strdup(json_string_value(email));
		if (u->email == NULL) {
			users_free(user, n);
			snprintf(err, err_size, "user list: %s", strerror(ENOMEM));
			return -ENOMEM;
		}
		u->id = count_of(o, "id");
		u->limit[TOP_UP] = count_of(o, "up");
		u->limit[TOP_DOWN] = count_of(o, "down");
		u->flows = count_of(o, "flows");
		for (int d = 0; d < TOP_DIRS; d++) {
			const json_t *dir = json_object_get(c, d == TOP_UP ? "up" : "down");

			u->packets[d] = count_of(dir, "packets");
			u->bytes[d] = count_of(dir, "bytes");
			/* TAP mode says what inline shaping would have dropped. */
			u->drops[d] = count_of(dir, json_object_get(dir, "drops") ?
					       "drops" : "would_drop");
		}
		n++;
	}
	qsort(user, n, sizeof(*user), by_email);
	s->user = user;
	s->n_user = n;
	s->have_users = true;
	return 0;
}

void
top_sample_clear(struct top_sample *s)
{
	users_free(s->user, s->n_user);
	free(s->incomplete);
	memset(s, 0, sizeof(*s));
	s->uptime = -1;
}

void
top_sample_move(struct top_sample *to, struct top_sample *from)
{
	top_sample_clear(to);
	*to = *from;
	memset(from, 0, sizeof(*from));
	from->uptime = -1;
}

/* ---- the table ---- */

static bool
grew(uint64_t now, uint64_t before)
{
	return now >= before;
}

static double
per_s(uint64_t now, uint64_t before, double elapsed)
{
	return (double)(now - before) / elapsed;
}

static bool
port_went_on(const struct top_port *now, const struct top_port *before)
{
	return grew(now->rx_packets, before->rx_packets) &&
	       grew(now->rx_bytes, before->rx_bytes) &&
	       grew(now->tx_packets, before->tx_packets) &&
	       grew(now->tx_bytes, before->tx_bytes) &&
	       grew(now->drops, before->drops);
}

static void
rate_ports(struct top_view *v, const struct top_sample *prev, const struct top_sample *cur)
{
	double e = v->elapsed;

	if (e <= 0 || prev == NULL || !prev->have_stats || !cur->have_stats ||
	    (cur->uptime >= 0 && prev->uptime > cur->uptime))
		return;
	for (int p = 0; p < TOP_SIDES; p++)
		if (!port_went_on(&cur->port[p], &prev->port[p]))
			return;
	for (int p = 0; p < TOP_SIDES; p++) {
		const struct top_port *a = &prev->port[p], *b = &cur->port[p];

		v->port[p].rx_pps = per_s(b->rx_packets, a->rx_packets, e);
		v->port[p].rx_bps = per_s(b->rx_bytes, a->rx_bytes, e) * 8;
		v->port[p].tx_pps = per_s(b->tx_packets, a->tx_packets, e);
		v->port[p].tx_bps = per_s(b->tx_bytes, a->tx_bytes, e) * 8;
		v->port[p].drops_ps = per_s(b->drops, a->drops, e);
	}
	for (int d = 0; d < TOP_DIRS; d++)
		if (grew(cur->unassigned_bytes[d], prev->unassigned_bytes[d]))
			v->unassigned_bps[d] = per_s(cur->unassigned_bytes[d],
						     prev->unassigned_bytes[d], e) * 8;
	v->ports_rated = true;
}

static const struct top_user *
find_user(const struct top_sample *s, const char *email)
{
	struct top_user key = { .email = (char *)email };

	if (s == NULL || !s->have_users || s->n_user == 0)
		return NULL;
	return bsearch(&key, s->user, s->n_user, sizeof(key), by_email);
}

static void
rate_user(struct top_row *r, const struct top_user *before, double e)
{
	const struct top_user *u = r->user;

	if (before == NULL || e <= 0 || before->id != u->id)
		return;
	for (int d = 0; d < TOP_DIRS; d++)
		if (!grew(u->packets[d], before->packets[d]) ||
		    !grew(u->bytes[d], before->bytes[d]) ||
		    !grew(u->drops[d], before->drops[d]))
			return;
	for (int d = 0; d < TOP_DIRS; d++) {
		r->rate[d] = per_s(u->bytes[d], before->bytes[d], e) * 8;
		r->drops[d] = per_s(u->drops[d], before->drops[d], e);
	}
	r->rated = true;
}

int
top_view_build(struct top_view *v, const struct top_sample *prev,
	       const struct top_sample *cur)
{
	memset(v, 0, sizeof(*v));
	v->cur = cur;
	if (cur == NULL)
		return 0;
	if (prev != NULL && cur->t > prev->t)
		v->elapsed = cur->t - prev->t;
	rate_ports(v, prev, cur);
	if (!cur->have_users)
		return 0;
	v->row = calloc(cur->n_user + 1, sizeof(*v->row));
	if (v->row == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < cur->n_user; i++) {
		struct top_row *r = &v->row[v->n_row++];

		r->user = &cur->user[i];
		rate_user(r, find_user(prev, r->user->email), v->elapsed);
		v->total_flows += r->user->flows;
		for (int d = 0; d < TOP_DIRS; d++) {
			v->total_rate[d] += r->rate[d];
			v->total_drops[d] += r->drops[d];
		}
	}
	return 0;
}

static double
sort_key(const struct top_row *r, enum top_sort sort)
{
	switch (sort) {
	case TOP_SORT_RATE:
		return r->rate[TOP_UP] + r->rate[TOP_DOWN];
	case TOP_SORT_UP:
		return r->rate[TOP_UP];
	case TOP_SORT_DOWN:
		return r->rate[TOP_DOWN];
	case TOP_SORT_DROPS:
		return r->drops[TOP_UP] + r->drops[TOP_DOWN];
	case TOP_SORT_FLOWS:
		return (double)r->user->flows;
	default:
		return 0;
	}
}

/* Highest first; alphabetical among equals, and for TOP_SORT_EMAIL. */
static int
row_cmp(const void *a, const void *b, void *arg)
{
	const struct top_row *x = a, *y = b;
	enum top_sort sort = *(const enum top_sort *)arg;
	double kx = sort_key(x, sort), ky = sort_key(y, sort);

	if (kx != ky)
		return kx > ky ? -1 : 1;
	return strcmp(x->user->email, y->user->email);
}

void
top_view_sort(struct top_view *v, enum top_sort sort)
{
	if (v->n_row > 1)
		qsort_r(v->row, v->n_row, sizeof(*v->row), row_cmp, &sort);
}

void
top_view_clear(struct top_view *v)
{
	free(v->row);
	memset(v, 0, sizeof(*v));
}

/* ---- text ---- */

char *
top_si(double v, char *buf, size_t size)
{
	static const char prefix[] = " kMGTPE";
	size_t i = 0;

	if (v < 0)
		v = 0;
	/* Move up while the value would print as 1000 or more. */
	while (v >= 999.5 && i + 1 < sizeof(prefix) - 1) {
		v /= 1000;
		i++;
	}
	if (v == 0)
		snprintf(buf, size, "0");
	else if (i == 0 && v < 0.995)
		snprintf(buf, size, "%.2g", v);
	else
		snprintf(buf, size, "%.3g%.*s", v, i > 0, &prefix[i]);
	return buf;
}

/* Columns (UTF-8 characters) of a string, and the bytes of its first `cols`. */
static size_t
u8_cols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static size_t
u8_prefix(const char *s, size_t cols)
{
	size_t i = 0, n = 0;

	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (n == cols)
				break;
			n++;
		}
	}
	return i;
}

#define LINE_MAX_BYTES 2048

struct line {
	char text[LINE_MAX_BYTES];
	size_t len;
	bool started;
};

static void
line_put(struct line *l, const char *s, size_t len)
{
	if (l->len + len >= sizeof(l->text))
		len = sizeof(l->text) - 1 - l->len;
	memcpy(l->text + l->len, s, len);
	l->len += len;
	l->text[l->len] = '\0';
}

static void
line_fmt(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
line_fmt(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len = l->len + (size_t)n < sizeof(l->text) ? l->len + (size_t)n :
			 sizeof(l->text) - 1;
}

/*
 * A cell `width` columns wide, two spaces after the previous one; a text
 * longer than that is cut, its last column a '~'.
 */
static void
line_cell(struct line *l, const char *s, size_t width, bool right)
{
	size_t cols = u8_cols(s), pad;

	if (l->started)
		line_put(l, "  ", 2);
	l->started = true;
	if (cols > width) {
		if (width > 0) {
			line_put(l, s, u8_prefix(s, width - 1));
			line_put(l, "~", 1);
		}
		return;
	}
	pad = width - cols;
	for (size_t i = 0; right && i < pad; i++)
		line_put(l, " ", 1);
	line_put(l, s, strlen(s));
	for (size_t i = 0; !right && i < pad; i++)
		line_put(l, " ", 1);
}

static void
line_emit(struct line *l, size_t width, enum top_line kind, top_emit_fn emit, void *ctx)
{
	if (width > 0)
		l->text[u8_prefix(l->text, width)] = '\0';
	/* Trailing spaces say nothing, and would make captures differ. */
	for (size_t n = strlen(l->text); n > 0 && l->text[n - 1] == ' '; n--)
		l->text[n - 1] = '\0';
	emit(ctx, kind, l->text);
	l->len = 0;
	l->text[0] = '\0';
	l->started = false;
}

static char *
duration(int64_t s, char *buf, size_t size)
{
	if (s < 0)
		snprintf(buf, size, "?");
	else if (s < 60)
		snprintf(buf, size, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, size, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, size, "%" PRId64 "d%02" PRId64 "h", s / 86400, s / 3600 % 24);
	return buf;
}

/* A measured value, or "-" where there is none yet. */
static char *
measured(bool known, double v, char *buf, size_t size)
{
	if (!known)
		snprintf(buf, size, "-");
	else
		top_si(v, buf, size);
	return buf;
}

/* "9.8M/10M": the rate passed against the limit. */
static char *
rate_cell(bool known, double rate, uint64_t limit, char *buf, size_t size)
{
	char r[16], l[16];

	measured(known, rate, r, sizeof(r));
	if (limit == 0)
		snprintf(l, sizeof(l), "-");
	else
		top_si((double)limit, l, sizeof(l));
	snprintf(buf, size, "%s/%s", r, l);
	return buf;
}

#define LINES_ABOVE_ROWS 7 /* title, ports (3), totals, message, header */

size_t
top_view_rows_for(size_t lines, bool help)
{
	size_t fixed = LINES_ABOVE_ROWS + (help ? 1 : 0);

	return lines > fixed ? lines - fixed : 0;
}

static void
render_ports(const struct top_view *v, size_t width, top_emit_fn emit, void *ctx)
{
	static const char *const names[TOP_SIDES] = { "client", "server" };
	const struct top_sample *s = v->cur;
	struct line l = { 0 };
	char a[16], b[16], c[16], d[16], e[16];

	/* Under 66 columns, frames and drops only. */
	bool bits = width == 0 || width >= 66;

	if (bits)
		line_fmt(&l, "%-8s  %9s  %9s  %9s  %9s  %9s", "PORT", "RX PKT/S",
			 "RX BIT/S", "TX PKT/S", "TX BIT/S", "DROPS/S");
	else
		line_fmt(&l, "%-8s  %9s  %9s  %9s", "PORT", "RX PKT/S", "TX PKT/S",
			 "DROPS/S");
	line_emit(&l, width, TOP_LINE_INFO, emit, ctx);
	for (int p = 0; p < TOP_SIDES; p++) {
		const struct top_port_rates *r = &v->port[p];
		bool k = v->ports_rated;

		if (bits)
			line_fmt(&l, "%-8s  %9s  %9s  %9s  %9s  %9s", names[p],
				 measured(k, r->rx_pps, a, sizeof(a)),
				 measured(k, r->rx_bps, b, sizeof(b)),
				 measured(k, r->tx_pps, c, sizeof(c)),
				 measured(k, r->tx_bps, d, sizeof(d)),
				 measured(k, r->drops_ps, e, sizeof(e)));
		else
			line_fmt(&l, "%-8s  %9s  %9s  %9s", names[p],
				 measured(k, r->rx_pps, a, sizeof(a)),
				 measured(k, r->tx_pps, c, sizeof(c)),
				 measured(k, r->drops_ps, e, sizeof(e)));
		if (s == NULL || !s->have_stats)
			snprintf(l.text, sizeof(l.text), "%-8s  (no stats)", names[p]);
		line_emit(&l, width, TOP_LINE_INFO, emit, ctx);
	}
}

static void
render_totals(const struct top_view *v, size_t width, top_emit_fn emit, void *ctx)
{
	const struct top_sample *s = v->cur;
	struct line l = { 0 };
	char a[16], b[16], c[16], d[16];
	bool k = v->elapsed > 0;

	if (s->have_users)
		line_fmt(&l, "users %zu  flows %" PRIu64 "  up %s  down %s  drops/s up %s down %s",
			 s->n_user, v->total_flows,
			 measured(k, v->total_rate[TOP_UP], a, sizeof(a)),
			 measured(k, v->total_rate[TOP_DOWN], b, sizeof(b)),
			 measured(k, v->total_drops[TOP_UP], c, sizeof(c)),
			 measured(k, v->total_drops[TOP_DOWN], d, sizeof(d)));
	else
		line_fmt(&l, "users ?");
	if (s->have_stats)
		line_fmt(&l, "  |  unassigned up %s down %s  |  active flows %" PRIu64,
			 measured(v->ports_rated, v->unassigned_bps[TOP_UP], a, sizeof(a)),
			 measured(v->ports_rated, v->unassigned_bps[TOP_DOWN], b, sizeof(b)),
			 s->active_flows);
	line_emit(&l, width, TOP_LINE_INFO, emit, ctx);
}

enum col { COL_EMAIL, COL_UP, COL_DOWN, COL_DROP_UP, COL_DROP_DOWN, COL_FLOWS, COLS };

static const size_t col_width[COLS] = { 5, 11, 11, 10, 10, 6 };

static void
render_users(const struct top_view *v, const struct top_render *r,
	     top_emit_fn emit, void *ctx)
{
	const struct top_sample *s = v->cur;
	bool show[COLS] = { true, true, true, true, true, true };
	bool tap = strcmp(s->mode, "tap") == 0;
	size_t fixed = 0, email_w = col_width[COL_EMAIL], rows;
	struct line l = { 0 };
	char a[32];

	for (size_t i = 0; i < v->n_row; i++) {
		size_t c = u8_cols(v->row[i].user->email);

		if (c > email_w)
			email_w = c;
	}
	for (int c = COL_UP; c < COLS; c++)
		fixed += 2 + col_width[c];
	/* A narrow screen loses the flows, then the drops, before the emails. */
	if (r->width > 0 && r->width < fixed + 12) {
		show[COL_FLOWS] = false;
		fixed -= 2 + col_width[COL_FLOWS];
	}
	if (r->width > 0 && r->width < fixed + 12) {
		show[COL_DROP_UP] = show[COL_DROP_DOWN] = false;
		fixed -= 2 * (2 + col_width[COL_DROP_UP]);
	}
	if (r->width > 0 && email_w > r->width - fixed)
		email_w = r->width > fixed + 8 ? r->width - fixed : 8;

	line_cell(&l, "EMAIL", email_w, false);
	line_cell(&l, "UP", col_width[COL_UP], true);
	line_cell(&l, "DOWN", col_width[COL_DOWN], true);
	if (show[COL_DROP_UP]) {
		line_cell(&l, tap ? "WDROP/S UP" : "DROP/S UP", col_width[COL_DROP_UP], true);
		line_cell(&l, tap ? "WDROP/S DN" : "DROP/S DN", col_width[COL_DROP_DOWN], true);
	}
	if (show[COL_FLOWS])
		line_cell(&l, "FLOWS", col_width[COL_FLOWS], true);
	/* The header is drawn as a bar: pad it to the width. */
	while (r->width > 0 && u8_cols(l.text) < r->width && l.len + 1 < sizeof(l.text))
		line_put(&l, " ", 1);
	if (r->width > 0)
		l.text[u8_prefix(l.text, r->width)] = '\0';
	emit(ctx, TOP_LINE_HEADER, l.text);
	l.len = 0;
	l.text[0] = '\0';
	l.started = false;

	rows = v->n_row < r->max_rows ? v->n_row : r->max_rows;
	for (size_t i = 0; i < rows; i++) {
		const struct top_row *row = &v->row[i];
		const struct top_user *u = row->user;

		line_cell(&l, u->email, email_w, false);
		line_cell(&l, rate_cell(row->rated, row->rate[TOP_UP], u->limit[TOP_UP],
					a, sizeof(a)), col_width[COL_UP], true);
		line_cell(&l, rate_cell(row->rated, row->rate[TOP_DOWN], u->limit[TOP_DOWN],
					a, sizeof(a)), col_width[COL_DOWN], true);
		if (show[COL_DROP_UP]) {
			line_cell(&l, measured(row->rated, row->drops[TOP_UP], a, sizeof(a)),
				  col_width[COL_DROP_UP], true);
			line_cell(&l, measured(row->rated, row->drops[TOP_DOWN], a, sizeof(a)),
				  col_width[COL_DROP_DOWN], true);
		}
		if (show[COL_FLOWS]) {
			snprintf(a, sizeof(a), "%" PRIu64, u->flows);
			line_cell(&l, a, col_width[COL_FLOWS], true);
		}
		line_emit(&l, r->width, TOP_LINE_ROW, emit, ctx);
	}
}

void
top_view_render(const struct top_view *v, const struct top_render *r,
		top_emit_fn emit, void *ctx)
{
	const struct top_sample *s = v->cur;
	struct line l = { 0 };
	char up[32];

	/* The socket last: on a narrow screen it is what is cut. */
	line_fmt(&l, "linecapctl top");
	if (s != NULL && s->have_stats)
		line_fmt(&l, "  %s %s  uptime %s", s->mode, s->state,
			 duration(s->uptime, up, sizeof(up)));
	line_fmt(&l, "  every %gs  sort %s  %s", r->interval, top_sort_name(r->sort),
		 r->target ? r->target : "");
	line_emit(&l, r->width, TOP_LINE_TITLE, emit, ctx);
	if (s == NULL) {
		line_fmt(&l, "%s", r->message ? r->message : "waiting for linecapd");
		line_emit(&l, r->width, TOP_LINE_MESSAGE, emit, ctx);
	} else {
		render_ports(v, r->width, emit, ctx);
		render_totals(v, r->width, emit, ctx);
		if (r->message != NULL)
			line_fmt(&l, "%s", r->message);
		else if (s->incomplete != NULL)
			line_fmt(&l, "stats incomplete: %s", s->incomplete);
		line_emit(&l, r->width, r->message || s->incomplete ? TOP_LINE_MESSAGE :
			  TOP_LINE_INFO, emit, ctx);
		if (s->have_users)
			render_users(v, r, emit, ctx);
	}
	if (r->help) {
		line_fmt(&l, "q quit  s next sort  r rate  u up  d down  x drops  "
			 "f flows  e email  +/- interval");
		line_emit(&l, r->width, TOP_LINE_HELP, emit, ctx);
	}
}
