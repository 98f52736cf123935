/* SPDX-License-Identifier: MIT */
/*
 * Prometheus metrics: GET /metrics on [metrics] listen, in the text
 * exposition format 0.0.4. docs/OPERATIONS.md lists the metrics.
 *
 * libmicrohttpd serves HTTP on a thread of its own. Everything a scrape
 * shows belongs to the control thread (the registry) or is asked of the
 * worker by the control thread (flows, shaper, assignments: lib/wire's
 * calls have one caller), so the HTTP thread never reads it. A scrape is a
 * request object that the HTTP thread hands to the control thread through
 * a pipe the control loop watches, once per chunk of text; the control
 * thread writes the next chunk into the request's buffer (the global
 * families, then each per-user family, at most STEP_USERS users a step)
 * and hands it back (lib/call, as telemetry.c does). Between two steps the
 * control loop serves the management socket, so a scrape of 64k users
 * costs the control thread many short steps, never one long one, and the
 * worker only the three counter calls of the first step. A request whose
 * HTTP side gave up waiting is freed by the control thread unanswered.
 *
 * Prometheus wants each family's samples together, so the per-user
 * families are each one pass over the registry in id order; a user
 * created or deleted during a scrape may be in some of them only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "door.h"
#include "linecapd.h"
#include "metrics_text.h"

/* Scrapes in progress at once; one more gets 503. */
#define MAX_SCRAPES 4
/*
 * HTTP connections at once, scrapes or not: more wait in the listening
 * socket's backlog until one closes.
 */
#define MAX_CONNECTIONS 64
/*
 * Seconds an idle HTTP connection is kept: short, as a connection that
 * says nothing holds a slot. Prometheus reconnects when its keep-alive
 * connection was closed.
 */
#define CONNECTION_TIMEOUT_S 5
/* Users per step of the control thread, in each per-user family. */
#define STEP_USERS 512
/* A chunk: STEP_USERS users of two lines each fit, with room to spare. */
#define CHUNK_BYTES (256 * 1024)
/* How long the HTTP thread waits for the control thread to take a step. */
#define WAIT_MS 5000
/* Bytes MHD asks the reader for at most. */
#define BLOCK_BYTES (64 * 1024)
/* While MHD complains (a connection flood): one log line per this many s. */
#define LOG_EVERY_S 10

enum scrape_part {
	PART_HEAD,
	PART_USER_BYTES,
	PART_USER_PACKETS,
	PART_USER_DROPS,
	PART_USER_LIMIT,
	PART_USER_FLOWS,
	PART_PLAN_BYTES,       /* summed in the PART_USER_BYTES pass */
	PART_END,
};

/*
 * A scrape. Between steps it belongs to the HTTP thread; during a step,
 * from lc_call_take() to lc_call_done(), to the control thread. It owns
 * its buffer: whoever frees it frees both.
 */
struct scrape {
	struct lc_call call;
	enum scrape_part part;
	bool family_written;   /* the HELP and TYPE lines of this part */
	bool failed;           /* a step could not write its text */
	uint32_t cursor;       /* lc_user_next()'s, within the part */
	uint64_t steps;        /* the control thread's: steps so far */
	uint64_t busy_tsc;     /* their cycles, all */
	uint64_t head_tsc;     /* the first step's: with the worker's calls */
	uint64_t step_max_tsc; /* the longest of the others */
	size_t sent;           /* bytes of the chunk given to MHD */
	/* Bytes of each plan's users, by direction, as PART_USER_BYTES saw them. */
	uint64_t plan_bytes[LC_USER_PLANS_MAX + 1][LC_FLOW_DIRS];
	struct metrics_text text;
	char buf[CHUNK_BYTES];
};

/*
 * The HTTP side's handle on a scrape: s is NULL once a step timed out, as
 * the scrape is then the control thread's to free.
 */
struct scrape_conn {
	struct scrape *s;
};

static struct {
	struct daemon *d;
	struct MHD_Daemon *httpd;
	struct door door;      /* to the control thread */
	uint32_t scrapes;      /* in progress, HTTP thread and control */
	bool stopping;
	uint64_t start_tsc;    /* the worker's accounting starts about here */
	uint64_t log_next;     /* monotonic s of the next MHD line logged */
	uint64_t log_skipped;
	/* The control thread's: what the last whole scrape cost it. */
	uint64_t scrapes_done;
	uint64_t last_steps;
	uint64_t last_busy_tsc;
	uint64_t last_head_tsc;
	uint64_t last_step_max_tsc;
} m = { .door = { .pipe = { -1, -1 } } };

/* Constant replies: MHD sends them from static memory. */
static const char text_not_found[] = "not found: linecapd serves /metrics\n";
static const char text_not_allowed[] = "method not allowed: GET or HEAD\n";
static const char text_busy[] = "too many scrapes in progress, try again\n";
static const char text_no_answer[] =
	"linecapd's control thread did not answer in time\n";

static const char *const dir_name[LC_FLOW_DIRS] = {
	[LC_FLOW_DIR_UP] = "up", [LC_FLOW_DIR_DOWN] = "down",
};

/* ---- The text of a scrape, on the control thread ---- */

static void
family(struct metrics_text *t, const char *name, const char *type, const char *help)
{
	metrics_text_family(t, name, type, help);
}

/* A family of one sample without labels. */
static void
single(struct metrics_text *t, const char *name, const char *type,
       const char *help, uint64_t v)
{
	family(t, name, type, help);
	metrics_text_u64(t, name, NULL, 0, v);
}

/* One sample per port of a value of struct lc_wire_port_stats. */
static void
per_port(struct metrics_text *t, const struct lc_wire_port_stats ps[LC_SIDE_MAX],
	 const char *name, const char *help, size_t offset)
{
	family(t, name, "counter", help);
	for (int s = 0; s < LC_SIDE_MAX; s++) {
		struct metrics_label l = { "port", lc_side_name(s) };
		uint64_t v;

		memcpy(&v, (const char *)&ps[s] + offset, sizeof(v));
		metrics_text_u64(t, name, &l, 1, v);
	}
}

static void
write_ports(struct daemon *d, struct metrics_text *t)
{
	struct lc_wire_port_stats ps[LC_SIDE_MAX];
	struct rte_eth_stats es[LC_SIDE_MAX];
	bool have_es[LC_SIDE_MAX];

	for (int s = 0; s < LC_SIDE_MAX; s++) {
		lc_wire_get_port_stats(d->wire, s, &ps[s]);
		have_es[s] = rte_eth_stats_get(lc_wire_port_id(d->wire, s), &es[s]) == 0;
	}
#define PORT(field, help) \
	per_port(t, ps, "linecap_port_" #field "_total", help, \
		 offsetof(struct lc_wire_port_stats, field))
	PORT(rx_packets, "Frames received on the port.");
	PORT(rx_bytes, "Bytes of the frames received on the port.");
	PORT(tx_packets, "Frames transmitted on the port.");
	PORT(tx_bytes, "Bytes of the frames transmitted on the port.");
	PORT(tap_packets, "Frames received in TAP mode, counted and not transmitted.");
	PORT(fragments, "IP fragments without ports received on the port: no flow.");
	PORT(untracked, "IP frames of no flow received on the port (other protocols, ICMP errors).");
#undef PORT

	family(t, "linecap_port_drops_total", "counter",
	       "Frames received on the port and dropped, by reason; rx_missed, "
	       "rx_nombuf and rx_errors are the device's own, before the worker.");
	for (int s = 0; s < LC_SIDE_MAX; s++) {
		struct metrics_label l[2] = { { "port", lc_side_name(s) }, { "reason", NULL } };

		for (int r = 0; r < LC_DROP_REASON_MAX; r++) {
			l[1].value = lc_drop_reason_name(r);
			metrics_text_u64(t, "linecap_port_drops_total", l, 2, ps[s].drops[r]);
		}
		if (!have_es[s])
			continue;
		l[1].value = "rx_missed";
		metrics_text_u64(t, "linecap_port_drops_total", l, 2, es[s].imissed);
		l[1].value = "rx_nombuf";
		metrics_text_u64(t, "linecap_port_drops_total", l, 2, es[s].rx_nombuf);
		l[1].value = "rx_errors";
		metrics_text_u64(t, "linecap_port_drops_total", l, 2, es[s].ierrors);
	}

	family(t, "linecap_port_parse_total", "counter",
	       "Frames received on the port, by the parser's result.");
	for (int s = 0; s < LC_SIDE_MAX; s++) {
		struct metrics_label l[2] = { { "port", lc_side_name(s) }, { "reason", NULL } };

		for (int r = 0; r < LC_PARSE_REASON_MAX; r++) {
			l[1].value = lc_parse_reason_name(r);
			metrics_text_u64(t, "linecap_port_parse_total", l, 2, ps[s].parse[r]);
		}
	}
}

/* Each worker's own share ([wire] workers): to see one that does more. */
static void
write_workers(struct daemon *d, struct metrics_text *t)
{
	static const struct {
		const char *name, *help;
	} fam[] = {
		{ "linecap_workers_received_packets_total",
		  "Frames the worker received, both ports." },
		{ "linecap_workers_handed_off_total",
		  "Frames the worker handed to the worker of their user." },
		{ "linecap_workers_packets_total",
		  "Frames the worker handled in iterations that moved frames." },
		{ "linecap_workers_busy_seconds_total",
		  "Seconds of the worker's iterations that moved frames." },
	};
	unsigned int n = RTE_MIN(lc_wire_workers(d->wire), (unsigned int)LC_WIRE_WORKERS_MAX);
	double hz = (double)rte_get_tsc_hz();
	/* Each worker's counters, read once for every family. */
	uint64_t v[RTE_DIM(fam)][LC_WIRE_WORKERS_MAX];

	for (unsigned int i = 0; i < n; i++) {
		struct lc_wire_port_stats ps[LC_SIDE_MAX];
		struct lc_wire_loop_stats l;

		for (int s = 0; s < LC_SIDE_MAX; s++)
			lc_wire_get_port_stats_of(d->wire, i, s, &ps[s]);
		lc_wire_get_loop_stats_of(d->wire, i, &l);
		v[0][i] = ps[0].rx_packets + ps[1].rx_packets;
		v[1][i] = ps[0].handed_off + ps[1].handed_off;
		v[2][i] = l.packets;
		v[3][i] = l.busy_cycles;
	}
	for (unsigned int f = 0; f < RTE_DIM(fam); f++) {
		family(t, fam[f].name, "counter", fam[f].help);
		for (unsigned int i = 0; i < n; i++) {
			char idx[12];
			struct metrics_label lb = { "worker", idx };

			snprintf(idx, sizeof(idx), "%u", i);
			if (f == 3)
				metrics_text_double(t, fam[f].name, &lb, 1, (double)v[f][i] / hz);
			else
				metrics_text_u64(t, fam[f].name, &lb, 1, v[f][i]);
		}
	}
}

static void
write_worker(struct daemon *d, struct metrics_text *t)
{
	struct lc_wire_loop_stats l;
	double hz = (double)rte_get_tsc_hz();
	double up = (double)(rte_get_tsc_cycles() - m.start_tsc) / hz;

	lc_wire_get_loop_stats(d->wire, &l);
	single(t, "linecap_worker_iterations_total", "counter",
	       "Iterations of the worker's loop.", l.iterations);
	single(t, "linecap_worker_busy_iterations_total", "counter",
	       "Iterations of the worker's loop that moved frames.", l.busy_iterations);
	single(t, "linecap_worker_busy_cycles_total", "counter",
	       "TSC cycles of the iterations that moved frames.", l.busy_cycles);
	family(t, "linecap_worker_busy_seconds_total", "counter",
	       "Seconds of the iterations that moved frames: its rate is the "
	       "share of its core the worker needs.");
	metrics_text_double(t, "linecap_worker_busy_seconds_total", NULL, 0,
			    (double)l.busy_cycles / hz);
	single(t, "linecap_worker_packets_total", "counter",
	       "Frames handled in the iterations that moved frames.", l.packets);
	single(t, "linecap_worker_commands_total", "counter",
	       "Commands of the control thread the worker ran.", l.commands);
	single(t, "linecap_worker_commands_cancelled_total", "counter",
	       "Commands that timed out before the worker took them.",
	       l.commands_cancelled);
	family(t, "linecap_worker_cycles_per_packet", "gauge",
	       "Busy cycles per frame since the start.");
	metrics_text_double(t, "linecap_worker_cycles_per_packet", NULL, 0,
			    l.packets ? (double)l.busy_cycles / (double)l.packets : 0.0);
	family(t, "linecap_worker_busy_ratio", "gauge",
	       "Share of the time since the start the worker spent in iterations "
	       "that moved frames (the workers' average); "
	       "rate(linecap_worker_busy_seconds_total) is the share now.");
	metrics_text_double(t, "linecap_worker_busy_ratio", NULL, 0,
			    up > 0 ? RTE_MIN(1.0, (double)l.busy_cycles / hz / up /
					     lc_wire_workers(d->wire)) : 0.0);
	single(t, "linecap_worker_tsc_hz", "gauge", "The TSC's frequency.",
	       rte_get_tsc_hz());
	write_workers(d, t);
}

static void
write_shaper(struct metrics_text *t, const struct lc_shaper_stats sh[LC_FLOW_DIRS])
{
	static const struct {
		const char *name, *type, *help;
		size_t offset;
	} fields[] = {
#define F(n, type, field, help) \
	{ "linecap_shaper_" n, type, help, offsetof(struct lc_shaper_stats, field) }
		F("queued_packets", "gauge", queued, "Frames in the shaper's queues now."),
		F("pacer_queued_packets", "gauge", pacer_queued,
		  "Frames of the queues waiting for their users' buckets now."),
		F("sched_queued_packets", "gauge", sched_queued,
		  "Frames of the queues in rte_sched now."),
		F("paced_packets_total", "counter", paced,
		  "Frames that waited for their users' buckets."),
		F("enqueued_packets_total", "counter", enqueued,
		  "Frames accepted into the shaper's queues."),
		F("dequeued_packets_total", "counter", dequeued,
		  "Frames out of the shaper's queues."),
		F("dequeued_bytes_total", "counter", dequeued_bytes,
		  "Bytes of the frames out of the shaper's queues."),
		F("evicted_packets_total", "counter", evicted,
		  "Frames that had waited, dropped from a full queue to make room "
		  "for a frame of a thinner flow (part of the tail drops)."),
		F("meter_red_packets_total", "counter", meter_red,
		  "Frames the police engine's meters found above the rate."),
		F("memory_bytes", "gauge", memory_bytes,
		  "Memory of the shaper: scheduler, meters and profiles."),
#undef F
	};

	for (size_t i = 0; i < RTE_DIM(fields); i++) {
		family(t, fields[i].name, fields[i].type, fields[i].help);
		for (int dir = 0; dir < LC_FLOW_DIRS; dir++) {
			struct metrics_label l = { "direction", dir_name[dir] };
			uint64_t v;

			memcpy(&v, (const char *)&sh[dir] + fields[i].offset, sizeof(v));
			metrics_text_u64(t, fields[i].name, &l, 1, v);
		}
	}
	family(t, "linecap_shaper_dropped_packets_total", "counter",
	       "Frames the shaper refused, by reason: tail (a full queue) or aqm "
	       "(PIE or RED).");
	for (int dir = 0; dir < LC_FLOW_DIRS; dir++) {
		struct metrics_label l[2] = { { "direction", dir_name[dir] }, { "reason", "tail" } };

		metrics_text_u64(t, "linecap_shaper_dropped_packets_total", l, 2,
				 sh[dir].dropped_tail);
		l[1].value = "aqm";
		metrics_text_u64(t, "linecap_shaper_dropped_packets_total", l, 2,
				 sh[dir].dropped_aqm);
	}
	family(t, "linecap_shaper_profiles", "gauge",
	       "Rate profiles of the shaper in use.");
	family(t, "linecap_shaper_profiles_max", "gauge",
	       "Rate profiles the shaper has room for ([shaper] profiles).");
	for (int dir = 0; dir < LC_FLOW_DIRS; dir++) {
		struct metrics_label l = { "direction", dir_name[dir] };

		metrics_text_u64(t, "linecap_shaper_profiles", &l, 1, sh[dir].profiles_used);
	}
	for (int dir = 0; dir < LC_FLOW_DIRS; dir++) {
		struct metrics_label l = { "direction", dir_name[dir] };

		metrics_text_u64(t, "linecap_shaper_profiles_max", &l, 1, sh[dir].profiles_max);
	}
}

static void
write_flows(struct metrics_text *t, const struct lc_flow_counters *c)
{
	single(t, "linecap_flows_active", "gauge", "Flows in the flow table now.", c->active);
	single(t, "linecap_flows_created_total", "counter", "Flows created.", c->created);
	single(t, "linecap_flows_created_midstream_total", "counter",
	       "Flows created by a frame other than a SYN.", c->created_midstream);
	single(t, "linecap_flows_expired_total", "counter",
	       "Flows removed when idle past their timeout.", c->expired);
	single(t, "linecap_flows_deleted_total", "counter",
	       "Flows removed otherwise.", c->deleted);
	single(t, "linecap_flows_invalid_packets_total", "counter",
	       "Frames refused by permit_invalid_flow = no.", c->invalid_flow);
	single(t, "linecap_flows_table_full_packets_total", "counter",
	       "Frames whose new flow found no room in the table.", c->flow_table_full);
	single(t, "linecap_flows_tcp_reopened_total", "counter",
	       "SYNs that restarted a closed TCP flow.", c->tcp_reopened);
}

static void
write_assignments(struct metrics_text *t, const struct lc_assign_counters *c)
{
	single(t, "linecap_assignments_ip_wide", "gauge",
	       "IP-wide assignments in force.", c->ip_rules);
	single(t, "linecap_assignments_pending", "gauge",
	       "Endpoint assignments waiting for their flow.", c->pending);
	single(t, "linecap_assignments_bound_on_create_total", "counter",
	       "New flows bound by a pending assignment.", c->bound_on_create);
	single(t, "linecap_assignments_bound_by_ip_total", "counter",
	       "New flows bound by an IP-wide assignment.", c->bound_by_ip);
	single(t, "linecap_assignments_pending_expired_total", "counter",
	       "Pending assignments whose flow never came.", c->pending_expired);
	single(t, "linecap_assignments_pending_full_total", "counter",
	       "Pending assignments refused for lack of room.", c->pending_full);
	single(t, "linecap_assignments_sweeps_total", "counter",
	       "Full passes of the assignment sweep.", c->sweeps);
}

static void
write_users(struct daemon *d, struct metrics_text *t)
{
	struct lc_worker_user sum, *un = &sum;
	uint32_t st = 0, dyn = 0;
	static const char *const what[] = { "bytes", "packets", "drops" };
	static const char *const help[] = {
		"Bytes of frames of no user.",
		"Frames of no user.",
		"Frames of no user dropped (would be, in TAP mode).",
	};

	user_counters(d, 0, &sum);
	lc_user_count(d->users, &st, &dyn);
	family(t, "linecap_users", "gauge",
	       "Users by kind: static, dynamic, and retired (deleted, id not yet free).");
	metrics_text_u64(t, "linecap_users", &(struct metrics_label){ "kind", "static" }, 1, st);
	metrics_text_u64(t, "linecap_users", &(struct metrics_label){ "kind", "dynamic" }, 1, dyn);
	metrics_text_u64(t, "linecap_users", &(struct metrics_label){ "kind", "retired" }, 1,
			 lc_user_retired_count(d->users));
	single(t, "linecap_users_capacity", "gauge", "[users] capacity.",
	       d->conf.users.capacity);

	for (int k = 0; k < 3; k++) {
		char name[64];

		snprintf(name, sizeof(name), "linecap_unassigned_%s_total", what[k]);
		family(t, name, "counter", help[k]);
		for (int dir = 0; dir < LC_FLOW_DIRS; dir++) {
			struct metrics_label l = { "direction", dir_name[dir] };
			const uint64_t *v = k == 0 ? un->bytes : k == 1 ? un->packets : un->drops;

			metrics_text_u64(t, name, &l, 1, __atomic_load_n(&v[dir], __ATOMIC_RELAXED));
		}
	}
}

/*
 * The first step: everything but the per-user families. The three
 * sections of the worker are each one bounded call; after one that timed
 * out the others are not asked (as stats does), the scrape says so in
 * linecap_scrape_worker_answered, and their families are left out.
 */
/* The VPN nodes: a few dozen at most, so in the first step. */
static void
write_nodes(struct daemon *d, struct metrics_text *t)
{
	unsigned int n = nodes_count(d);
	struct node_view v;

	if (n == 0)
		return;
	family(t, "linecap_node_assigns_total", "counter",
	       "Assignments that came through the node (assign ... node=NAME).");
	for (unsigned int id = 1; id <= n; id++) {
		if (!node_view(d, (uint8_t)id, &v))
			continue;
		metrics_text_u64(t, "linecap_node_assigns_total",
				 &(struct metrics_label){ "node", v.name }, 1, v.assigns);
	}
	family(t, "linecap_node_followers", "gauge",
	       "Followers of the node connected now (hello node=NAME).");
	for (unsigned int id = 1; id <= n; id++) {
		if (!node_view(d, (uint8_t)id, &v))
			continue;
		metrics_text_u64(t, "linecap_node_followers",
				 &(struct metrics_label){ "node", v.name }, 1, v.followers);
	}
}

/* The plans: LC_USER_PLANS_MAX at most, so in the first step. */
static void
write_plans(struct daemon *d, struct metrics_text *t)
{
	const struct lc_plan *p;
	uint32_t cursor = 0;

	if (lc_user_plan_slots(d->users) == 0)
		return;
	family(t, "linecap_plan_users", "gauge", "Users in the plan now.");
	while ((p = lc_user_plan_next(d->users, &cursor)) != NULL)
		metrics_text_u64(t, "linecap_plan_users",
				 &(struct metrics_label){ "plan", p->name }, 1, p->users);
	family(t, "linecap_plan_weight", "gauge",
	       "The plan's weight: its share of a full port against the other "
	       "plans, 1 to 100.");
	cursor = 0;
	while ((p = lc_user_plan_next(d->users, &cursor)) != NULL)
		metrics_text_u64(t, "linecap_plan_weight",
				 &(struct metrics_label){ "plan", p->name }, 1, p->weight);
	family(t, "linecap_plan_total_bps", "gauge",
	       "The plan's total rate in bit/s, by direction; 0: none.");
	cursor = 0;
	while ((p = lc_user_plan_next(d->users, &cursor)) != NULL) {
		struct metrics_label l[2] = { { "plan", p->name }, { "direction", "up" } };

		metrics_text_u64(t, "linecap_plan_total_bps", l, 2, p->total_up);
		l[1].value = "down";
		metrics_text_u64(t, "linecap_plan_total_bps", l, 2, p->total_down);
	}
}

/*
 * Bytes of each plan: the sum of its users' counters that the
 * PART_USER_BYTES pass of this scrape saw, so it costs no pass of its own.
 * A user leaving the plan takes its bytes along.
 */
static void
write_plan_bytes(struct daemon *d, struct scrape *s)
{
	const struct lc_plan *p;
	uint32_t cursor = 0;

	if (lc_user_plan_slots(d->users) == 0)
		return;
	family(&s->text, "linecap_plan_bytes_total", "counter",
	       "Bytes of the frames of the plan's users now, by direction.");
	while ((p = lc_user_plan_next(d->users, &cursor)) != NULL) {
		for (int dir = 0; dir < LC_FLOW_DIRS; dir++) {
			struct metrics_label l[2] = {
				{ "plan", p->name }, { "direction", dir_name[dir] },
			};

			metrics_text_u64(&s->text, "linecap_plan_bytes_total", l, 2,
					 s->plan_bytes[p->id][dir]);
		}
	}
}

static void
write_head(struct daemon *d, struct metrics_text *t)
{
	struct lc_shaper_stats sh[LC_FLOW_DIRS];
	struct lc_flow_counters fc;
	struct lc_assign_counters ac;
	bool answered = true;
	int rc;

	family(t, "linecap_info", "gauge",
	       "linecapd's version, wire mode and shaping state, as labels.");
	metrics_text_u64(t, "linecap_info", (struct metrics_label[]){
		{ "version", LC_VERSION },
		{ "mode", lc_wire_mode_name(lc_wire_mode(d->wire)) },
		{ "state", lc_state_name(lc_wire_state(d->wire)) } }, 3, 1);
	single(t, "linecap_start_time_seconds", "gauge",
	       "When linecapd started, in seconds since the epoch.", (uint64_t)d->started);
	write_ports(d, t);
	write_worker(d, t);

	rc = lc_wire_shaper_stats(d->wire, sh);
	if (rc == 0)
		write_shaper(t, sh);
	answered = rc != -ETIMEDOUT;
	rc = answered ? lc_wire_flow_counters(d->wire, &fc) : -ETIMEDOUT;
	if (rc == 0)
		write_flows(t, &fc);
	answered = answered && rc != -ETIMEDOUT;
	rc = answered ? lc_wire_assign_counters(d->wire, &ac) : -ETIMEDOUT;
	if (rc == 0)
		write_assignments(t, &ac);
	answered = answered && rc != -ETIMEDOUT;
	write_users(d, t);
	write_plans(d, t);
	write_nodes(d, t);

	double hz = (double)rte_get_tsc_hz();

	single(t, "linecap_scrapes_total", "counter",
	       "Scrapes of /metrics the control thread wrote to the end.", m.scrapes_done);
	single(t, "linecap_scrape_steps", "gauge",
	       "Steps of the control thread the last whole scrape took.", m.last_steps);
	family(t, "linecap_scrape_control_seconds", "gauge",
	       "Time of the control thread the last whole scrape took, all steps.");
	metrics_text_double(t, "linecap_scrape_control_seconds", NULL, 0,
			    (double)m.last_busy_tsc / hz);
	family(t, "linecap_scrape_step_max_seconds", "gauge",
	       "The longest step of the control thread in the last whole scrape, "
	       "how long the management socket waited for it at most: the first "
	       "(step=\"head\": the global families, with the worker's three "
	       "calls) and the longest of the others (step=\"users\").");
	metrics_text_double(t, "linecap_scrape_step_max_seconds",
			    &(struct metrics_label){ "step", "head" }, 1,
			    (double)m.last_head_tsc / hz);
	metrics_text_double(t, "linecap_scrape_step_max_seconds",
			    &(struct metrics_label){ "step", "users" }, 1,
			    (double)m.last_step_max_tsc / hz);
	single(t, "linecap_scrape_worker_answered", "gauge",
	       "1 if the worker answered this scrape's calls; 0: the flow, shaper "
	       "and assignment families are left out.", answered);
}

static const struct {
	const char *name, *type, *help;
} user_family[PART_PLAN_BYTES] = {
	[PART_USER_BYTES] = { "linecap_user_bytes_total", "counter",
		"Bytes of the user's frames, by direction." },
	[PART_USER_PACKETS] = { "linecap_user_packets_total", "counter",
		"The user's frames, by direction." },
	[PART_USER_DROPS] = { "linecap_user_drops_total", "counter",
		"The user's frames dropped by its limit (would be, in TAP mode), by direction." },
	[PART_USER_LIMIT] = { "linecap_user_limit_bits_per_second", "gauge",
		"The user's rate limit, by direction." },
	[PART_USER_FLOWS] = { "linecap_user_flows", "gauge",
		"Flows bound to the user now." },
};

/*
 * One user's lines of the scrape's part: at most two of METRICS_LINE_MAX.
 * Its bytes count into its plan's too, with the very values written.
 */
static void
write_user(struct daemon *d, struct scrape *s, const struct lc_user *u)
{
	struct lc_worker_user sum, *w = &sum;
	struct metrics_text *t = &s->text;
	enum scrape_part part = s->part;
	uint64_t *plan = u->plan != 0 && u->plan <= LC_USER_PLANS_MAX ?
			 s->plan_bytes[u->plan] : NULL;
	const char *name = user_family[part].name;
	struct metrics_label l[2] = { { "user", u->email }, { "direction", NULL } };

	user_counters(d, u->id, &sum);
	if (part == PART_USER_FLOWS) {
		metrics_text_u64(t, name, l, 1, __atomic_load_n(&w->flows, __ATOMIC_RELAXED));
		return;
	}
	for (int dir = 0; dir < LC_FLOW_DIRS; dir++) {
		uint64_t v;

		l[1].value = dir_name[dir];
		switch (part) {
		case PART_USER_BYTES:
			v = __atomic_load_n(&w->bytes[dir], __ATOMIC_RELAXED);
			if (plan != NULL)
				plan[dir] += v;
			break;
		case PART_USER_PACKETS:
			v = __atomic_load_n(&w->packets[dir], __ATOMIC_RELAXED);
			break;
		case PART_USER_DROPS:
			v = __atomic_load_n(&w->drops[dir], __ATOMIC_RELAXED);
			break;
		default:
			v = dir == LC_FLOW_DIR_UP ? u->up : u->down;
			break;
		}
		metrics_text_u64(t, name, l, 2, v);
	}
}

/* One step of a scrape: its next chunk of text, in s->buf. */
static void
scrape_step(struct daemon *d, struct scrape *s)
{
	unsigned int users = 0;

	metrics_text_init(&s->text, s->buf, sizeof(s->buf));
	s->sent = 0;
	if (s->part == PART_HEAD) {
		write_head(d, &s->text);
		s->part++;
	} else {
		/* Room for a family's two lines and a user's two, every time. */
		while (s->part < PART_PLAN_BYTES && users < STEP_USERS &&
		       metrics_text_room(&s->text) >= 4 * METRICS_LINE_MAX) {
			const struct lc_user *u;

			if (!s->family_written) {
				family(&s->text, user_family[s->part].name,
				       user_family[s->part].type, user_family[s->part].help);
				s->family_written = true;
			}
			u = lc_user_next(d->users, &s->cursor);
			if (u == NULL) {
				s->part++;
				s->cursor = 0;
				s->family_written = false;
				continue;
			}
			write_user(d, s, u);
			users++;
		}
		/* Two lines a plan, in one step; or all in the next. */
		if (s->part == PART_PLAN_BYTES && metrics_text_room(&s->text) >=
		    (2 * LC_USER_PLANS_MAX + 2) * METRICS_LINE_MAX) {
			write_plan_bytes(d, s);
			s->part++;
		}
	}
	if (s->text.full)
		s->failed = true;
}

/* On the control thread, from lc_mgmt_poll(): a step asked for. */
static void
run_step(struct lc_call *call, void *arg)
{
	struct scrape *s = container_of(call, struct scrape, call);

	(void)arg;
	if (__atomic_load_n(&m.stopping, __ATOMIC_RELAXED)) {
		s->failed = true;
	} else {
		uint64_t t0 = rte_rdtsc();

		scrape_step(m.d, s);
		t0 = rte_rdtsc() - t0;
		if (s->steps++ == 0)
			s->head_tsc = t0;
		else
			s->step_max_tsc = RTE_MAX(s->step_max_tsc, t0);
		s->busy_tsc += t0;
		if (s->part == PART_END && !s->failed) {
			m.scrapes_done++;
			m.last_steps = s->steps;
			m.last_busy_tsc = s->busy_tsc;
			m.last_head_tsc = s->head_tsc;
			m.last_step_max_tsc = s->step_max_tsc;
		}
	}
}

/* On the control thread: a scrape whose HTTP side gave up. */
static void
drop_step(struct lc_call *call, void *arg)
{
	(void)arg;
	free(container_of(call, struct scrape, call));
}

/* ---- The HTTP side, on MHD's thread ---- */

/*
 * Have the control thread write the next chunk. Returns 0, or -ETIMEDOUT
 * when it did not take the step in time: the scrape is then its to free.
 */
static int
ask_step(struct scrape_conn *c)
{
	struct scrape *s = c->s;

	if (__atomic_load_n(&m.stopping, __ATOMIC_RELAXED)) {
		s->failed = true;
		return 0;
	}
	switch (door_call(&m.door, &s->call, WAIT_MS)) {
	case 0:
		return 0;
	case -EIO:
		s->failed = true;
		return 0;
	default:
		c->s = NULL;
		return -ETIMEDOUT;
	}
}

static ssize_t
read_scrape(void *cls, uint64_t pos, char *out, size_t max)
{
	struct scrape_conn *c = cls;
	size_t n;

	(void)pos;
	for (;;) {
		struct scrape *s = c->s;

		if (s == NULL || s->failed)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (s->sent < s->text.len)
			break;
		if (s->part == PART_END)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (ask_step(c) != 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	n = RTE_MIN(max, c->s->text.len - c->s->sent);
	memcpy(out, c->s->buf + c->s->sent, n);
	c->s->sent += n;
	return (ssize_t)n;
}

/* MHD is done with the response: the scrape ends here. */
static void
free_scrape(void *cls)
{
	struct scrape_conn *c = cls;

	free(c->s);
	free(c);
	__atomic_fetch_sub(&m.scrapes, 1, __ATOMIC_RELAXED);
}

static enum MHD_Result
reply_text(struct MHD_Connection *conn, unsigned int status, const char *text,
	   const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text),
		(void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * A request: GET (or HEAD) /metrics, whatever its query, is a scrape;
 * another path is 404, another method 405. The first step runs before the
 * reply starts, so a control thread that does not answer is a 503, not a
 * 200 cut short.
 */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
	   const char *method, const char *version, const char *upload_data,
	   size_t *upload_data_size, void **req_cls)
{
	struct scrape_conn *c;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text_not_allowed,
				  "GET, HEAD");
	if (strcmp(url, "/metrics") != 0)
		return reply_text(conn, MHD_HTTP_NOT_FOUND, text_not_found, NULL);
	if (__atomic_fetch_add(&m.scrapes, 1, __ATOMIC_RELAXED) >= MAX_SCRAPES) {
		__atomic_fetch_sub(&m.scrapes, 1, __ATOMIC_RELAXED);
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text_busy, NULL);
	}
	c = calloc(1, sizeof(*c));
	if (c != NULL)
		c->s = calloc(1, sizeof(*c->s));
	if (c == NULL || c->s == NULL || ask_step(c) != 0 || c->s->failed) {
		if (c != NULL)
			free(c->s); /* NULL if the control thread frees it */
		free(c);
		__atomic_fetch_sub(&m.scrapes, 1, __ATOMIC_RELAXED);
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text_no_answer, NULL);
	}
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BLOCK_BYTES,
					      read_scrape, c, free_scrape);
	if (r == NULL) {
		free_scrape(c);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_TEXT_CONTENT_TYPE);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * MHD's complaints, such as each connection refused past MAX_CONNECTIONS:
 * at most one line per LOG_EVERY_S, with the count of those left out, so
 * a flood of connections is not a flood of lines.
 */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	uint64_t now = lc_monotonic_sec();
	size_t n;

	(void)cls;
	/* MHD logs on the control thread at start and stop, on its own between. */
	if (now < __atomic_load_n(&m.log_next, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&m.log_skipped, 1, __ATOMIC_RELAXED);
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	uint64_t skipped = __atomic_exchange_n(&m.log_skipped, 0, __ATOMIC_RELAXED);

	if (skipped > 0)
		lc_log("warning", "metrics: %s (and %" PRIu64 " more messages in the last "
		       "%d s)", msg, skipped, LOG_EVERY_S);
	else
		lc_log("warning", "metrics: %s", msg);
	__atomic_store_n(&m.log_next, now + LOG_EVERY_S, __ATOMIC_RELAXED);
}

int
metrics_up(struct daemon *d)
{
	struct sockaddr_storage addr;
	socklen_t len;
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	int rc;

	if (d->conf.metrics.listen[0] == '\0')
		return 0;
	if (lc_conf_parse_listen(d->conf.metrics.listen, &addr, &len) != 0)
		return -EINVAL; /* lc_conf_load() checked it */
	m.d = d;
	m.start_tsc = rte_get_tsc_cycles();
	m.door.run = run_step;
	m.door.drop = drop_step;
	rc = door_open(&m.door, d->mgmt);
	if (rc != 0)
		return rc;
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m.httpd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, as MHD asks */
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
		MHD_OPTION_END);
	if (m.httpd == NULL) {
		lc_log("error", "[metrics] listen = %s: cannot serve HTTP there (the "
		       "port in use, or an address not of this host?)",
		       d->conf.metrics.listen);
		return -EADDRNOTAVAIL;
	}
	lc_log("info", "metrics: serving http://%s/metrics", d->conf.metrics.listen);
	return 0;
}

void
metrics_down(void)
{
	if (m.httpd == NULL)
		return;
	/*
	 * Scrapes fail from here on: the HTTP thread asks no more steps, and
	 * a step asked already is answered as failed, so MHD can stop.
	 */
	__atomic_store_n(&m.stopping, true, __ATOMIC_RELAXED);
	door_serve(&m.door);
	MHD_stop_daemon(m.httpd);
	m.httpd = NULL;
	/* Steps whose HTTP side gave up while MHD stopped. */
	door_close(&m.door);
}
