/* SPDX-License-Identifier: MIT */
/*
 * The wire as the operator sees it: the "ports", "worker", "shaper" and
 * "flows" sections of stats, and the commands "mode" and "flows". All of it
 * runs on the control thread and reaches the worker by lib/wire's calls.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "linecapd.h"

static json_t *
port_json(const struct lc_wire *w, enum lc_side side)
{
	struct lc_wire_port_stats s;
	struct rte_eth_stats es;
	json_t *drops = json_object(), *parse = json_object();
	uint16_t port = lc_wire_port_id(w, side);

	lc_wire_get_port_stats(w, side, &s);
	for (int i = 0; i < LC_DROP_REASON_MAX; i++)
		json_object_set_new(drops, lc_drop_reason_name(i),
				    json_integer((json_int_t)s.drops[i]));
	/* What the device itself dropped before the worker saw it. */
	if (rte_eth_stats_get(port, &es) == 0) {
		json_object_set_new(drops, "rx_missed", json_integer((json_int_t)es.imissed));
		json_object_set_new(drops, "rx_nombuf", json_integer((json_int_t)es.rx_nombuf));
		json_object_set_new(drops, "rx_errors", json_integer((json_int_t)es.ierrors));
	}
	for (int i = 0; i < LC_PARSE_REASON_MAX; i++)
		json_object_set_new(parse, lc_parse_reason_name(i),
				    json_integer((json_int_t)s.parse[i]));

	return json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}",
			 "port", port,
			 "rx_packets", (json_int_t)s.rx_packets,
			 "rx_bytes", (json_int_t)s.rx_bytes,
			 "tx_packets", (json_int_t)s.tx_packets,
			 "tx_bytes", (json_int_t)s.tx_bytes,
			 "tap_packets", (json_int_t)s.tap_packets,
			 "fragments", (json_int_t)s.fragments,
			 "untracked", (json_int_t)s.untracked,
			 "drops", drops,
			 "parse", parse);
}

/* Each worker's own share: what it received, sent and handed on, its loop. */
static json_t *
workers_json(const struct lc_wire *w)
{
	json_t *list = json_array();

	for (unsigned int i = 0; i < lc_wire_workers(w); i++) {
		struct lc_wire_port_stats ps[LC_SIDE_MAX];
		struct lc_wire_loop_stats l;
		uint64_t rx = 0, tx = 0, handed = 0, handoff_full = 0;

		for (int s = 0; s < LC_SIDE_MAX; s++) {
			lc_wire_get_port_stats_of(w, i, s, &ps[s]);
			rx += ps[s].rx_packets;
			tx += ps[s].tx_packets;
			handed += ps[s].handed_off;
			handoff_full += ps[s].drops[LC_DROP_HANDOFF_FULL];
		}
		lc_wire_get_loop_stats_of(w, i, &l);
		json_array_append_new(list, json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:f}",
			"worker", (int)i,
			"rx_packets", (json_int_t)rx,
			"tx_packets", (json_int_t)tx,
			"handed_off", (json_int_t)handed,
			"handoff_full", (json_int_t)handoff_full,
			"packets", (json_int_t)l.packets,
			"busy_cycles", (json_int_t)l.busy_cycles,
			"cycles_per_packet", l.packets ? (double)l.busy_cycles /
						      (double)l.packets : 0.0));
	}
	return list;
}

int
worker_error(json_t *reply, const char *what, int rc)
{
	return lc_mgmt_error(reply, "%s: %s", what, rc == -ETIMEDOUT ?
			     "the worker did not answer" : strerror(-rc));
}

void
wire_stats_json(struct daemon *d, json_t *reply)
{
	struct lc_wire *w = d->wire;
	struct lc_shaper_stats sh_stats[LC_FLOW_DIRS];
	struct lc_flow_counters c;
	struct lc_wire_loop_stats l;

	json_object_set_new(reply, "ports", json_pack("{s:o,s:o}",
		"client", port_json(w, LC_SIDE_CLIENT),
		"server", port_json(w, LC_SIDE_SERVER)));

	lc_wire_get_loop_stats(w, &l);
	json_object_set_new(reply, "worker", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:I}",
		"iterations", (json_int_t)l.iterations,
		"busy_iterations", (json_int_t)l.busy_iterations,
		"busy_cycles", (json_int_t)l.busy_cycles,
		"packets", (json_int_t)l.packets,
		"commands", (json_int_t)l.commands,
		"commands_cancelled", (json_int_t)l.commands_cancelled,
		"cycles_per_packet", l.packets ? (double)l.busy_cycles / (double)l.packets : 0.0,
		"tsc_hz", (json_int_t)rte_get_tsc_hz()));
	json_object_set_new(reply, "workers", workers_json(w));

	/*
	 * The shaper and flow sections come from the worker. One that did not
	 * answer in time is named under "incomplete", and the next is not
	 * asked for: a stopped worker costs the reply one timeout, not two.
	 */
	int rc = lc_wire_shaper_stats(w, sh_stats);
	if (rc == 0) {
		json_t *sh = json_object();

		for (int dir = 0; dir < LC_FLOW_DIRS; dir++) {
			const struct lc_shaper_stats *t = &sh_stats[dir];

			json_object_set_new(sh, dir == LC_FLOW_DIR_UP ? "up" : "down",
				json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:I}",
				"enqueued", (json_int_t)t->enqueued,
				"dequeued", (json_int_t)t->dequeued,
				"dequeued_bytes", (json_int_t)t->dequeued_bytes,
				"dropped_tail", (json_int_t)t->dropped_tail,
				"evicted", (json_int_t)t->evicted,
				"dropped_aqm", (json_int_t)t->dropped_aqm,
				"queued", (json_int_t)t->queued,
				"paced", (json_int_t)t->paced,
				"pacer_queued", (json_int_t)t->pacer_queued,
				"sched_queued", (json_int_t)t->sched_queued,
				"meter_red", (json_int_t)t->meter_red,
				"profiles_used", (int)t->profiles_used,
				"profiles_max", (int)t->profiles_max,
				"memory_bytes", (json_int_t)t->memory_bytes));
		}
		json_object_set_new(reply, "shaper", sh);
	} else if (rc != -ENOTSUP) {
		reply_incomplete(reply, "shaper", rc);
	}

	if (rc == -ETIMEDOUT) {
		reply_incomplete(reply, "flows", rc);
		return;
	}
	rc = lc_wire_flow_counters(w, &c);
	if (rc == 0) {
		json_object_set_new(reply, "flows", json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			"active", (json_int_t)c.active,
			"created", (json_int_t)c.created,
			"created_midstream", (json_int_t)c.created_midstream,
			"expired", (json_int_t)c.expired,
			"deleted", (json_int_t)c.deleted,
			"invalid_flow", (json_int_t)c.invalid_flow,
			"flow_table_full", (json_int_t)c.flow_table_full,
			"tcp_reopened", (json_int_t)c.tcp_reopened));
	} else if (rc != -ENOTSUP) {
		reply_incomplete(reply, "flows", rc);
	}
}

void
reply_incomplete(json_t *reply, const char *section, int rc)
{
	json_t *inc = json_object_get(reply, "incomplete");
	char why[128];

	if (inc == NULL) {
		inc = json_object();
		json_object_set_new(reply, "incomplete", inc);
	}
	if (rc == -ETIMEDOUT)
		snprintf(why, sizeof(why), "the worker did not answer within %u ms",
			 LC_WIRE_CALL_TIMEOUT_MS);
	else
		snprintf(why, sizeof(why), "%s", strerror(-rc));
	json_object_set_new(inc, section, json_string(why));
}

/* "1.2.3.4:80" or "[2001:db8::1]:443" from a key's 16-byte address. */
static void
endpoint_text(const uint8_t addr[16], uint8_t ip_version, uint16_t port,
	      char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (ip_version == 4) {
		inet_ntop(AF_INET, addr + 12, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, port);
	} else {
		inet_ntop(AF_INET6, addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, port);
	}
}

static const char *
proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	default:
		return "ip";
	}
}

static json_t *
flow_json(struct daemon *d, const struct lc_wire_flow_info *f, uint64_t now,
	  uint64_t hz)
{
	const struct lc_flow_key *k = &f->key;
	char client[64], server[64];
	json_t *vlan = json_array(), *user = json_null();

	endpoint_text(k->client, k->ip_version, k->client_port, client, sizeof(client));
	endpoint_text(k->server, k->ip_version, k->server_port, server, sizeof(server));
	for (int i = 0; i < k->n_vlans; i++)
		json_array_append_new(vlan, json_integer(k->vlan[i]));
	for (int i = 0; i < k->n_inner_vlans; i++)
		json_array_append_new(vlan, json_integer(k->inner_vlan[i]));
	if (f->flow.user_id != 0) {
		const struct lc_user *u = d->users != NULL ?
			lc_user_get(d->users, f->flow.user_id) : NULL;

		user = u != NULL ? json_string(u->email) : json_integer(f->flow.user_id);
	}
	/* A flow unbound from a removed user keeps its node until the sweep. */
	const char *node = f->flow.user_id != 0 ? node_name(d, f->flow.node) : NULL;

	return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:s,s:I,s:I,s:{s:I,s:I},s:{s:I,s:I}}",
		"proto", proto_name(k->l4_proto),
		"client", client,
		"server", server,
		"vlan", vlan,
		"user", user,
		"node", node != NULL ? json_string(node) : json_null(),
		"state", lc_flow_state_name(f->flow.state),
		"age", (json_int_t)((now - f->flow.created) / hz),
		"idle", (json_int_t)((now - f->flow.last_seen) / hz),
		"packets", "up", (json_int_t)f->flow.packets[LC_FLOW_DIR_UP],
			   "down", (json_int_t)f->flow.packets[LC_FLOW_DIR_DOWN],
		"bytes", "up", (json_int_t)f->flow.bytes[LC_FLOW_DIR_UP],
			 "down", (json_int_t)f->flow.bytes[LC_FLOW_DIR_DOWN]);
}

#define FLOWS_DEFAULT_LIMIT 1000
#define FLOWS_MAX_LIMIT 50000
/*
 * Flows listed per step: one trip to the worker, a bounded step of its
 * table, and about a millisecond of the control thread's time, so that a
 * listing of 50,000 flows is written to its client a piece at a time with
 * other clients served in between.
 */
#define FLOWS_STEP 128

/* A listing in progress, between the pieces of its streamed reply. */
struct flows_listing {
	struct daemon *d;
	unsigned long limit;
	unsigned long count;
	uint32_t cursor;
	uint64_t hz;
	struct lc_wire_flow_info buf[FLOWS_STEP];
};

static int
flows_next(void *state, json_t *items, json_t *tail)
{
	struct flows_listing *l = state;
	uint32_t max = (uint32_t)RTE_MIN((unsigned long)FLOWS_STEP, l->limit - l->count);
	int rc = 0;

	if (l->count < l->limit && l->cursor != LC_FLOW_CURSOR_END) {
		uint64_t now;
		int n = lc_wire_flows(l->d->wire, &l->cursor, l->buf, max, &now);

		for (int i = 0; i < n; i++)
			json_array_append_new(items, flow_json(l->d, &l->buf[i], now, l->hz));
		if (n > 0)
			l->count += (unsigned long)n;
		rc = n < 0 ? n : 0;
	}
	json_object_set_new(tail, "count", json_integer((json_int_t)l->count));
	if (rc != 0) {
		lc_mgmt_error(tail, "flows: listing stopped after %lu flows: %s",
			      l->count, rc == -ETIMEDOUT ?
			      "the worker did not answer" : strerror(-rc));
		return rc;
	}
	return l->count < l->limit && l->cursor != LC_FLOW_CURSOR_END ? 1 : 0;
}

static void
flows_free(void *state)
{
	free(state);
}

/*
 * The reply is streamed: {"active":N,"flows":[...],"count":N,"ok":true}.
 * A listing of 50,000 flows is about 12 MB of text; built whole it would
 * hold far more than that in JSON objects.
 */
static int
cmd_flows(void *ctx, int argc, char **argv, json_t *reply,
	  struct lc_mgmt_stream *stream)
{
	struct daemon *d = ctx;
	struct lc_flow_counters c;
	unsigned long limit = FLOWS_DEFAULT_LIMIT;
	struct flows_listing *l;
	int rc;

	if (argc == 1) {
		char *end;

		limit = strtoul(argv[0], &end, 10);
		if (*end != '\0' || argv[0][0] < '0' || argv[0][0] > '9' ||
		    limit > FLOWS_MAX_LIMIT)
			return lc_mgmt_error(reply, "bad LIMIT '%s' (0 to %d)", argv[0],
					     FLOWS_MAX_LIMIT);
	}
	rc = lc_wire_flow_counters(d->wire, &c);
	if (rc == -ENOTSUP)
		return lc_mgmt_error(reply, "flows: no flow table");
	if (rc != 0)
		return worker_error(reply, "flows", rc);
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l->d = d;
	l->limit = limit;
	l->cursor = LC_FLOW_CURSOR_START;
	l->hz = rte_get_tsc_hz();
	json_object_set_new(reply, "active",
			    json_integer((json_int_t)c.active));
	stream->key = "flows";
	stream->next = flows_next;
	stream->free = flows_free;
	stream->state = l;
	return 0;
}

static int
cmd_mode(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;
	struct lc_wire_switch was;
	enum lc_wire_mode mode;
	int rc;

	if (argc == 0) {
		json_object_set_new(reply, "mode",
				    json_string(lc_wire_mode_name(lc_wire_mode(d->wire))));
		return 0;
	}
	if (lc_conf_parse_mode(argv[0], &mode) != 0)
		return lc_mgmt_error(reply, "unknown mode '%s' (expected inline or tap)",
				     argv[0]);
	rc = lc_wire_set_mode(d->wire, mode, &was);
	if (rc != 0)
		return worker_error(reply, "mode not changed", rc);

	json_object_set_new(reply, "mode", json_string(lc_wire_mode_name(mode)));
	json_object_set_new(reply, "previous",
			    json_string(lc_wire_mode_name(was.old_mode)));
	/* The exact frame count at which the new mode took effect, per port. */
	json_object_set_new(reply, "switched_at", json_pack("{s:I,s:I}",
		"client", (json_int_t)was.rx_packets[LC_SIDE_CLIENT],
		"server", (json_int_t)was.rx_packets[LC_SIDE_SERVER]));
	return 0;
}

static const struct lc_mgmt_cmd wire_cmds[] = {
	{ "mode", "[inline|tap]", "show or switch the wire mode, live", 0, 1, cmd_mode },
	{ "flows", "[LIMIT]", "list flows (at most LIMIT, default 1000)", 0, 1,
	  NULL, NULL, cmd_flows },
};

int
wire_register_cmds(struct daemon *d)
{
	return lc_mgmt_register(d->table, wire_cmds, RTE_DIM(wire_cmds), d);
}
