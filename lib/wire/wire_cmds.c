/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "lc_conf.h"
#include "lc_mgmt.h"
#include "lc_wire.h"

#define CALL_TIMEOUT_MS 1000

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

	return json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:o,s:o}",
			 "port", port,
			 "rx_packets", (json_int_t)s.rx_packets,
			 "rx_bytes", (json_int_t)s.rx_bytes,
			 "tx_packets", (json_int_t)s.tx_packets,
			 "tx_bytes", (json_int_t)s.tx_bytes,
			 "tap_packets", (json_int_t)s.tap_packets,
			 "drops", drops,
			 "parse", parse);
}

void
lc_wire_stats_json(const struct lc_wire *w, json_t *reply)
{
	struct lc_wire_loop_stats l;

	json_object_set_new(reply, "ports", json_pack("{s:o,s:o}",
		"client", port_json(w, LC_SIDE_CLIENT),
		"server", port_json(w, LC_SIDE_SERVER)));

	lc_wire_get_loop_stats(w, &l);
	json_object_set_new(reply, "worker", json_pack("{s:I,s:I,s:I,s:I,s:I,s:f,s:I}",
		"iterations", (json_int_t)l.iterations,
		"busy_iterations", (json_int_t)l.busy_iterations,
		"busy_cycles", (json_int_t)l.busy_cycles,
		"packets", (json_int_t)l.packets,
		"commands", (json_int_t)l.commands,
		"cycles_per_packet", l.packets ? (double)l.busy_cycles / (double)l.packets : 0.0,
		"tsc_hz", (json_int_t)rte_get_tsc_hz()));
}

static int
cmd_mode(void *ctx, int argc, char **argv, json_t *reply)
{
	struct lc_wire *w = ctx;
	struct lc_wire_cmd cmd = { .op = LC_WIRE_OP_SET_MODE };
	uint32_t mode;
	int rc;

	if (argc == 0) {
		json_object_set_new(reply, "mode",
				    json_string(lc_conf_mode_name(lc_wire_mode(w))));
		return 0;
	}
	if (lc_conf_parse_mode(argv[0], &mode) != 0)
		return lc_mgmt_error(reply, "unknown mode '%s' (expected inline or tap)",
				     argv[0]);
	cmd.req.set_mode.mode = mode;
	rc = lc_wire_call(w, &cmd, CALL_TIMEOUT_MS);
	if (rc == 0)
		rc = cmd.result;
	if (rc != 0)
		return lc_mgmt_error(reply, "mode not changed: %s", rc == -ETIMEDOUT ?
				     "the worker did not answer" : strerror(-rc));

	json_object_set_new(reply, "mode", json_string(lc_conf_mode_name(mode)));
	json_object_set_new(reply, "previous",
			    json_string(lc_conf_mode_name(cmd.resp.set_mode.old_mode)));
	/* The exact frame count at which the new mode took effect, per port. */
	json_object_set_new(reply, "switched_at", json_pack("{s:I,s:I}",
		"client", (json_int_t)cmd.resp.set_mode.rx_packets[LC_SIDE_CLIENT],
		"server", (json_int_t)cmd.resp.set_mode.rx_packets[LC_SIDE_SERVER]));
	return 0;
}

static const struct lc_mgmt_cmd wire_cmds[] = {
	{ "mode", "[inline|tap]", "show or switch the wire mode, live", 0, 1, cmd_mode },
};

int
lc_wire_register_cmds(struct lc_wire *w, struct lc_mgmt_table *table)
{
	return lc_mgmt_register(table, wire_cmds, RTE_DIM(wire_cmds), w);
}
