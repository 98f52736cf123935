/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_mgmt.h"
#include "lc_utf8.h"
#include "mgmt_priv.h"

#define KEYWORD_WORDS 2

struct table_row {
	const struct lc_mgmt_cmd *cmd;
	void *ctx;
	int nwords;
	char words[KEYWORD_WORDS][32];
};

/* A request line after checking and splitting, before it runs. */
struct parsed {
	const struct table_row *row; /* NULL: the line was refused */
	int argc;                    /* words after the keyword */
	char **argv;
	char buf[LC_MGMT_LINE_MAX + 1];
	char *words[LC_MGMT_ARGS_MAX];
};

struct lc_mgmt_table {
	struct table_row *rows;
	unsigned int nrows;
	unsigned int cap;
	struct parsed *scratch;      /* LC_MGMT_BATCH_MAX lines */
	uint64_t client;             /* whose requests run: 0 none */
};

static int help_handler(void *ctx, int argc, char **argv, json_t *reply);

static const struct lc_mgmt_cmd builtin_cmds[] = {
	{ "help", "", "list the commands", 0, 0, help_handler, .follower_ok = true },
};

struct lc_mgmt_table *
lc_mgmt_table_create(void)
{
	struct lc_mgmt_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->scratch = calloc(LC_MGMT_BATCH_MAX, sizeof(*t->scratch));
	if (t->scratch == NULL) {
		free(t);
		return NULL;
	}
	if (lc_mgmt_register(t, builtin_cmds, 1, t) != 0) {
		lc_mgmt_table_free(t);
		return NULL;
	}
	return t;
}

void
lc_mgmt_table_free(struct lc_mgmt_table *table)
{
	if (table == NULL)
		return;
	free(table->rows);
	free(table->scratch);
	free(table);
}

static int
split_keyword(const char *keyword, struct table_row *row)
{
	const char *p = keyword;

	row->nwords = 0;
	while (*p != '\0') {
		const char *end = strchr(p, ' ');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len == 0 || len >= sizeof(row->words[0]) ||
		    row->nwords == KEYWORD_WORDS)
			return -EINVAL;
		memcpy(row->words[row->nwords], p, len);
		row->words[row->nwords++][len] = '\0';
		p += len;
		if (*p == ' ')
			p++;
	}
	return row->nwords > 0 ? 0 : -EINVAL;
}

static bool
row_same_keyword(const struct table_row *a, const struct table_row *b)
{
	if (a->nwords != b->nwords)
		return false;
	for (int i = 0; i < a->nwords; i++)
		if (strcmp(a->words[i], b->words[i]) != 0)
			return false;
	return true;
}

int
lc_mgmt_register(struct lc_mgmt_table *table, const struct lc_mgmt_cmd *cmds,
		 unsigned int n, void *ctx)
{
	/* Check every row before adding any, so a bad table changes nothing. */
	struct table_row *rows = calloc(n > 0 ? n : 1, sizeof(*rows));

	if (rows == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		rows[i].cmd = &cmds[i];
		rows[i].ctx = ctx;
		if (cmds[i].keyword == NULL ||
		    (cmds[i].handler == NULL && cmds[i].stream == NULL) ||
		    cmds[i].min_args < 0 || cmds[i].max_args < cmds[i].min_args ||
		    cmds[i].max_args > LC_MGMT_ARGS_MAX ||
		    split_keyword(cmds[i].keyword, &rows[i]) != 0) {
			free(rows);
			return -EINVAL;
		}
		for (unsigned int j = 0; j < table->nrows + i; j++) {
			const struct table_row *other =
				j < table->nrows ? &table->rows[j] : &rows[j - table->nrows];
			if (row_same_keyword(other, &rows[i])) {
				free(rows);
				return -EEXIST;
			}
		}
	}
	if (table->nrows + n > table->cap) {
		unsigned int cap = table->cap ? table->cap : 16;

		while (cap < table->nrows + n)
			cap *= 2;
		struct table_row *grown = realloc(table->rows, cap * sizeof(*grown));
		if (grown == NULL) {
			free(rows);
			return -ENOMEM;
		}
		table->rows = grown;
		table->cap = cap;
	}
	memcpy(&table->rows[table->nrows], rows, n * sizeof(*rows));
	table->nrows += n;
	free(rows);
	return 0;
}

int
lc_mgmt_error(json_t *reply, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/*
	 * Messages may quote client input, which was checked to be UTF-8; one
	 * cut to fit ends at the last whole character, so that it stays a
	 * string JSON can carry.
	 */
	if (n >= (int)sizeof(msg))
		msg[lc_utf8_whole(msg, sizeof(msg) - 1)] = '\0';
	json_t *text = json_string(msg);
	json_object_set_new(reply, "error", text != NULL ? text :
			    json_string("(the error message is not valid UTF-8)"));
	return -EINVAL;
}

bool
lc_mgmt_text_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = lc_utf8_decode(p + i, len - i, &cp);

		/* Not UTF-8; C0 controls but the tab, DEL, C1 controls. */
		if (n == 0 || (cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp < 0xa0))
			return false;
		i += n;
	}
	return true;
}

static const struct table_row *
find_row(const struct lc_mgmt_table *table, int argc, char **argv, int *matched)
{
	const struct table_row *best = NULL;

	*matched = 0;
	for (unsigned int i = 0; i < table->nrows; i++) {
		const struct table_row *r = &table->rows[i];
		int w;

		if (r->nwords > argc)
			continue;
		for (w = 0; w < r->nwords; w++)
			if (strcmp(r->words[w], argv[w]) != 0)
				break;
		if (w == r->nwords && w > *matched) {
			best = r;
			*matched = w;
		}
	}
	return best;
}

/* "user set|del|get|list" for an unknown subcommand of "user". */
static void
list_subcommands(const struct lc_mgmt_table *table, const char *first,
		 char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < table->nrows && off < size; i++) {
		const struct table_row *r = &table->rows[i];

		if (r->nwords == 2 && strcmp(r->words[0], first) == 0)
			off += snprintf(buf + off, size - off, "%s%s",
					off == 0 ? "" : "|", r->words[1]);
	}
}

static void
usage_of(const struct table_row *r, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", r->cmd->keyword,
		 r->cmd->args[0] != '\0' ? " " : "", r->cmd->args);
}

static int
help_handler(void *ctx, int argc, char **argv, json_t *reply)
{
	const struct lc_mgmt_table *table = ctx;
	json_t *list = json_array();

	(void)argc;
	(void)argv;
	for (unsigned int i = 0; i < table->nrows; i++) {
		char usage[256];

		usage_of(&table->rows[i], usage, sizeof(usage));
		json_array_append_new(list, json_pack("{s:s,s:s}", "usage", usage,
						      "help", table->rows[i].cmd->help));
	}
	json_object_set_new(reply, "commands", list);
	return 0;
}

/*
 * Check and split one line into p. Returns 0 with p->row set, or -EINVAL
 * with the error in reply.
 */
static int
parse_line(struct lc_mgmt_table *table, const char *line, size_t len,
	   struct parsed *p, json_t *reply)
{
	char **argv = p->words;
	int argc = 0;

	p->row = NULL;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > LC_MGMT_LINE_MAX)
		return lc_mgmt_error(reply, "line longer than %d bytes",
				     LC_MGMT_LINE_MAX);
	if (!lc_mgmt_text_valid(line, len))
		return lc_mgmt_error(reply, "line is not printable UTF-8 text");
	memcpy(p->buf, line, len);
	p->buf[len] = '\0';

	for (char *c = p->buf;;) {
		while (*c == ' ' || *c == '\t')
			*c++ = '\0';
		if (*c == '\0')
			break;
		if (argc == LC_MGMT_ARGS_MAX)
			return lc_mgmt_error(reply, "too many words (at most %d)",
					     LC_MGMT_ARGS_MAX);
		argv[argc++] = c;
		while (*c != '\0' && *c != ' ' && *c != '\t')
			c++;
	}
	if (argc == 0)
		return lc_mgmt_error(reply, "empty command (try 'help')");

	int matched;
	const struct table_row *row = find_row(table, argc, argv, &matched);
	if (row == NULL) {
		char subs[256];

		list_subcommands(table, argv[0], subs, sizeof(subs));
		if (subs[0] != '\0')
			return lc_mgmt_error(reply, "unknown command '%s%s%s' (try: %s %s)",
					     argv[0], argc > 1 ? " " : "",
					     argc > 1 ? argv[1] : "", argv[0], subs);
		return lc_mgmt_error(reply, "unknown command '%s' (try 'help')",
				     argv[0]);
	}
	int nargs = argc - matched;
	if (nargs < row->cmd->min_args || nargs > row->cmd->max_args) {
		char usage[256];

		usage_of(row, usage, sizeof(usage));
		return lc_mgmt_error(reply, "%s; usage: %s",
				     nargs < row->cmd->min_args ? "missing argument" :
				     "too many arguments", usage);
	}
	p->row = row;
	p->argc = nargs;
	p->argv = argv + matched;
	return 0;
}

/* A reply with "ok" first, so that a reader of the raw line sees it at once. */
static json_t *
new_reply(void)
{
	json_t *reply = json_object();

	if (reply != NULL)
		json_object_set_new(reply, "ok", json_false());
	return reply;
}

void
mgmt_reply_finish(json_t *reply, int rc)
{
	if (rc != 0 && json_object_get(reply, "error") == NULL)
		lc_mgmt_error(reply, "%s", strerror(rc < 0 ? -rc : rc));
	json_object_set_new(reply, "ok", json_boolean(rc == 0));
}

unsigned int
mgmt_table_run(struct lc_mgmt_table *table, enum lc_mgmt_role role,
	       const char *const lines[],
	       const size_t lens[], unsigned int n, json_t *replies[],
	       struct lc_mgmt_stream *stream)
{
	struct lc_mgmt_req reqs[LC_MGMT_BATCH_MAX];
	struct parsed *p = table->scratch;
	int rc;

	memset(stream, 0, sizeof(*stream));
	if (n > LC_MGMT_BATCH_MAX)
		n = LC_MGMT_BATCH_MAX;
	replies[0] = new_reply();
	if (replies[0] == NULL)
		return 1;
	rc = parse_line(table, lines[0], lens[0], &p[0], replies[0]);
	if (rc != 0) {
		mgmt_reply_finish(replies[0], rc);
		return 1;
	}
	const struct table_row *row = p[0].row;

	if (role == LC_MGMT_FOLLOWER && !row->cmd->follower_ok) {
		rc = lc_mgmt_error(replies[0], "'%s' is not allowed for a follower "
				   "(its certificate's CN is in [mgmt] followers; "
				   "only an operator may run it)", row->cmd->keyword);
		mgmt_reply_finish(replies[0], rc);
		return 1;
	}
	if (row->cmd->stream != NULL) {
		rc = row->cmd->stream(row->ctx, p[0].argc, p[0].argv, replies[0],
				      stream);
		if (rc != 0 || stream->next == NULL) {
			/* A failed handler's state is not left to leak. */
			if (stream->free != NULL && stream->state != NULL)
				stream->free(stream->state);
			memset(stream, 0, sizeof(*stream));
			mgmt_reply_finish(replies[0], rc);
		}
		return 1;
	}
	if (row->cmd->batch == NULL) {
		rc = row->cmd->handler(row->ctx, p[0].argc, p[0].argv, replies[0]);
		mgmt_reply_finish(replies[0], rc);
		return 1;
	}
	/* The run of lines of this command goes as one batch. */
	unsigned int k = 1;
	while (k < n) {
		replies[k] = new_reply();
		if (replies[k] == NULL)
			break;
		if (parse_line(table, lines[k], lens[k], &p[k], replies[k]) != 0 ||
		    p[k].row != row) {
			/* Not part of the run: it is run (and answered) next time. */
			json_decref(replies[k]);
			break;
		}
		k++;
	}
	for (unsigned int x = 0; x < k; x++) {
		reqs[x].argc = p[x].argc;
		reqs[x].argv = p[x].argv;
		reqs[x].reply = replies[x];
		reqs[x].rc = 0;
	}
	row->cmd->batch(row->ctx, reqs, k);
	for (unsigned int x = 0; x < k; x++)
		mgmt_reply_finish(replies[x], reqs[x].rc);
	return k;
}

/* Build a streamed reply whole, for callers that want one object. */
static void
drain_stream(json_t *reply, struct lc_mgmt_stream *stream)
{
	json_t *items = json_array(), *tail = json_object();
	int rc = items != NULL && tail != NULL ? 1 : -ENOMEM;

	while (rc > 0)
		rc = stream->next(stream->state, items, tail);
	if (stream->free != NULL)
		stream->free(stream->state);
	if (items != NULL)
		json_object_set_new(reply, stream->key, items);
	if (tail != NULL)
		json_object_update(reply, tail);
	json_decref(tail);
	mgmt_reply_finish(reply, rc);
}

void
lc_mgmt_exec_lines_as(struct lc_mgmt_table *table, enum lc_mgmt_role role,
		      const char *const lines[], const size_t lens[],
		      unsigned int n, json_t *replies[])
{
	struct lc_mgmt_stream stream;

	for (unsigned int i = 0; i < n;) {
		unsigned int k = mgmt_table_run(table, role, lines + i, lens + i,
						n - i, replies + i, &stream);

		if (stream.next != NULL)
			drain_stream(replies[i], &stream);
		i += k;
	}
}

void
lc_mgmt_exec_lines(struct lc_mgmt_table *table, const char *const lines[],
		   const size_t lens[], unsigned int n, json_t *replies[])
{
	lc_mgmt_exec_lines_as(table, LC_MGMT_OPERATOR, lines, lens, n, replies);
}

uint64_t
lc_mgmt_table_client(const struct lc_mgmt_table *table)
{
	return table->client;
}

void
mgmt_table_set_client(struct lc_mgmt_table *table, uint64_t client)
{
	table->client = client;
}

json_t *
lc_mgmt_exec_as(struct lc_mgmt_table *table, enum lc_mgmt_role role,
		const char *line, size_t len)
{
	json_t *reply;

	lc_mgmt_exec_lines_as(table, role, &line, &len, 1, &reply);
	return reply;
}

json_t *
lc_mgmt_exec(struct lc_mgmt_table *table, const char *line, size_t len)
{
	return lc_mgmt_exec_as(table, LC_MGMT_OPERATOR, line, len);
}
