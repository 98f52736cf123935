/* SPDX-License-Identifier: MIT */
/*
 * What the socket server (server.c) needs of the command table (table.c),
 * and what the fuzz target reaches: not part of lc_mgmt's public API.
 */
#ifndef LC_MGMT_PRIV_H
#define LC_MGMT_PRIV_H

#include "lc_mgmt.h"

/*
 * Run the first unit of work of lines[0..n), n >= 1: one line; or the run of
 * consecutive lines of a command with a batch handler, at once; or one line
 * of a streaming command. Stores one reply per line run in replies[] and
 * returns how many lines were run (>= 1). The server checks its time budget
 * between units, so a unit is the longest stretch it cannot cut short.
 *
 * When a streaming command opened a stream, *stream is filled and replies[0]
 * holds the members known at once; its "ok" is not final. The caller runs
 * the stream, calls mgmt_reply_finish() on the tail, and calls
 * stream->free. Otherwise stream->next is NULL.
 *
 * A line whose command the role may not run is answered with an error
 * and not run.
 */
unsigned int mgmt_table_run(struct lc_mgmt_table *table, enum lc_mgmt_role role,
			    const char *const lines[],
			    const size_t lens[], unsigned int n, json_t *replies[],
			    struct lc_mgmt_stream *stream);

/* The connection whose requests run from now on (0: none). */
void mgmt_table_set_client(struct lc_mgmt_table *table, uint64_t client);

/* Set "ok" from rc, and an "error" from rc if a failed reply has none. */
void mgmt_reply_finish(json_t *reply, int rc);

#endif /* LC_MGMT_PRIV_H */
