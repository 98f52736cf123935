/* SPDX-License-Identifier: MIT */
/*
 * linecapd: the appliance daemon.
 *
 * The main lcore is the control thread: it reads the config, brings up EAL
 * and the two ports, serves the management socket and runs periodic work.
 * One worker lcore runs the fast path (lib/wire). They meet only through the
 * worker's command ring and its counters.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_log.h>

#include "lc_conf.h"
#include "lc_flow.h"
#include "lc_mgmt.h"
#include "lc_num.h"
#include "lc_wire.h"
#include "linecapd.h"

#define EAL_ARGS_MAX 128

static volatile sig_atomic_t stop_signal;

static void
on_signal(int sig)
{
	stop_signal = sig;
}

void
lc_log(const char *level, const char *fmt, ...)
{
	char ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld linecapd %s: ", ts, now.tv_nsec / 1000000, level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
conf_warn(void *arg, const char *msg)
{
	(void)arg;
	lc_log("warning", "%s", msg);
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: linecapd --config FILE\n"
		"       linecapd [EAL options] -- --config FILE\n"
		"\n"
		"EAL options on the command line replace the file's [eal] args.\n"
		"  -c, --config FILE   configuration file (INI)\n"
		"      --ignore-state  start with no users if the users file is corrupt\n"
		"      --test-hooks    offer the 'debug' commands that tests use\n"
		"  -h, --help          this help\n"
		"  -V, --version       print the version\n");
}

static int
cmd_ping(void *ctx, int argc, char **argv, json_t *reply)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	json_object_set_new(reply, "version", json_string(LC_VERSION));
	return 0;
}

static int
cmd_stats(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;
	struct lc_mgmt_stats ms;

	(void)argc;
	(void)argv;
	json_object_set_new(reply, "mode",
			    json_string(lc_wire_mode_name(lc_wire_mode(d->wire))));
	json_object_set_new(reply, "uptime",
			    json_integer((json_int_t)(time(NULL) - d->started)));
	wire_stats_json(d, reply);
	users_stats_json(d, reply);
	nodes_stats_json(d, reply);
	lc_mgmt_get_stats(d->mgmt, &ms);
	json_object_set_new(reply, "mgmt", json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"clients", (int)ms.clients,
		"accepted", (json_int_t)ms.accepted,
		"rejected", (json_int_t)ms.rejected,
		"evicted", (json_int_t)ms.evicted,
		"idle_closed", (json_int_t)ms.idle_closed,
		"streamed", (json_int_t)ms.streamed,
		"requests", (json_int_t)ms.requests,
		"errors", (json_int_t)ms.errors,
		"cut_off", (json_int_t)ms.cut_off,
		"tls_failed", (json_int_t)ms.tls_failed,
		"tls_unknown", (json_int_t)ms.tls_unknown));
	return 0;
}

static int
cmd_rx(struct daemon *d, bool enable, json_t *reply)
{
	int rc = lc_wire_set_rx(d->wire, enable);

	if (rc != 0)
		return worker_error(reply, enable ? "start" : "stop", rc);
	json_object_set_new(reply, "receiving", json_boolean(enable));
	return 0;
}

static int
cmd_start(void *ctx, int argc, char **argv, json_t *reply)
{
	(void)argc;
	(void)argv;
	return cmd_rx(ctx, true, reply);
}

static int
cmd_stop(void *ctx, int argc, char **argv, json_t *reply)
{
	(void)argc;
	(void)argv;
	return cmd_rx(ctx, false, reply);
}

/*
 * debug pause-worker MS: the worker stops polling for MS milliseconds, as
 * one that lost its CPU would; the control thread goes on serving. Offered
 * only with --test-hooks.
 */
static int
cmd_debug_pause(void *ctx, int argc, char **argv, json_t *reply)
{
	struct daemon *d = ctx;
	uint64_t ms;

	(void)argc;
	if (lc_num_parse_u64(argv[0], 1, 60000, &ms) != 0)
		return lc_mgmt_error(reply, "bad pause '%s': 1 to 60000 ms", argv[0]);
	lc_wire_pause(d->wire, (unsigned int)ms);
	json_object_set_new(reply, "paused_ms", json_integer((json_int_t)ms));
	return 0;
}

static const struct lc_mgmt_cmd debug_cmds[] = {
	{ "debug pause-worker", "MS", "tests: the worker stops polling for MS ms",
	  1, 1, cmd_debug_pause },
};

static const struct lc_mgmt_cmd daemon_cmds[] = {
	{ "start", "", "start receiving frames (see [wire] autostart)", 0, 0, cmd_start },
	{ "stop", "", "stop receiving frames; they wait in the ports' queues", 0, 0, cmd_stop },
	{ "ping", "", "check that linecapd answers; replies with its version", 0, 0, cmd_ping,
	  .follower_ok = true },
	{ "stats", "", "counters of the ports, the worker and the socket", 0, 0, cmd_stats },
};

/* The index of "--" in argv, or -1. */
static int
find_dashdash(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return i;
	return -1;
}

/*
 * EAL's arguments: those before "--" on the command line if there are any,
 * otherwise the file's [eal] args.
 */
static int
build_eal_args(int argc, char **argv, int dd, struct lc_conf *conf,
	       char **eal_argv)
{
	int n = 0;

	(void)argc;
	eal_argv[n++] = argv[0];
	if (dd > 1) {
		for (int i = 1; i < dd && n < EAL_ARGS_MAX; i++)
			eal_argv[n++] = argv[i];
		return n;
	}
	int k = lc_conf_split_args(conf->eal.args, eal_argv + n, EAL_ARGS_MAX - n);
	return k < 0 ? k : n + k;
}

static int
parse_app_args(int argc, char **argv, const char **config, bool *ignore_state,
	       bool *test_hooks)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "ignore-state", no_argument, NULL, 'I' },
		{ "test-hooks", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case 'I':
			*ignore_state = true;
			break;
		case 'T':
			*test_hooks = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("linecapd %s\n", LC_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "linecapd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	if (*config == NULL) {
		fprintf(stderr, "linecapd: --config FILE is required\n");
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* Create the socket's folder (one level), as /run/linecap usually is not. */
static void
make_socket_dir(const char *path)
{
	char dir[LC_CONF_PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	char *d = dirname(dir);
	if (mkdir(d, 0755) != 0 && errno != EEXIST)
		lc_log("warning", "cannot create %s: %s", d, strerror(errno));
}

/* The rate of the port a shaper sends on: [shaper] port_rate, or the link's. */
static uint64_t
port_rate(const struct daemon *d, uint16_t port)
{
	struct rte_eth_link link;

	if (d->conf.shaper.port_rate != 0)
		return d->conf.shaper.port_rate;
	if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_speed != 0 &&
	    link.link_speed != RTE_ETH_SPEED_NUM_UNKNOWN)
		return (uint64_t)link.link_speed * 1000000;
	lc_log("warning", "port %u reports no link speed: shaping as if 10 gbit/s "
	       "(set [shaper] port_rate)", port);
	return 10000000000ULL;
}

/*
 * Upload is scheduled on the server port's egress, download on the
 * client's: the two shapers of worker w, into sh[].
 */
static int
shapers_up(struct daemon *d, const uint16_t port[LC_SIDE_MAX], unsigned int w,
	   struct lc_shaper *sh[LC_FLOW_DIRS])
{
	const struct lc_conf_shaper *sc = &d->conf.shaper;

	for (int dir = 0; dir < LC_FLOW_DIRS; dir++) {
		uint16_t out = port[dir == LC_FLOW_DIR_UP ? LC_SIDE_SERVER : LC_SIDE_CLIENT];
		char name[32];
		struct lc_shaper_params sp = {
			.name = name,
			.socket_id = (int)rte_socket_id(),
			.engine = sc->engine,
			.port_rate = port_rate(d, out),
			.mtu = d->conf.wire.mtu,
			.frame_overhead = sc->frame_overhead,
			.users = d->conf.users.capacity,
			.queue_size = sc->queue_size,
			.aqm = sc->aqm,
			.max_profiles = sc->profiles,
			.unassigned_rate = dir == LC_FLOW_DIR_UP ? sc->unassigned_up :
				   sc->unassigned_down,
			.hz = rte_get_tsc_hz(),
			/* Flows of every worker's table are numbered apart. */
			.flows = (uint32_t)RTE_MIN((uint64_t)d->conf.flows.capacity *
						   d->workers, 1ull << 26),
			.plans = sc->plans,
			.plan_users = sc->plan_users,
		};

		snprintf(name, sizeof(name), w == 0 ? "lc_%s" : "lc_%s%u",
			 dir == LC_FLOW_DIR_UP ? "up" : "down", w);
		d->min_rate[dir] = RTE_MAX((uint64_t)LC_SHAPER_RATE_MIN,
					   sp.port_rate >> LC_SHAPER_RATE_RATIO_LOG2);
		sh[dir] = lc_shaper_create(&sp);
		if (sh[dir] == NULL) {
			lc_log("error", "cannot create the %s shaper of worker %u: %s (raise "
			       "EAL -m, or lower [users] capacity or [shaper] queue_size)",
			       dir == LC_FLOW_DIR_UP ? "upload" : "download", w,
			       rte_strerror(rte_errno));
			return -ENOMEM;
		}
		if (lc_shaper_set_pipe(sh[dir], 1, dir == LC_FLOW_DIR_UP ?
				       sc->default_up : sc->default_down, 0) != 0) {
			lc_log("error", "[shaper] default_%s: not a rate the shaper takes",
			       dir == LC_FLOW_DIR_UP ? "up" : "down");
			return -EINVAL;
		}
		if (w == 0)
			lc_log("info", "%s shaper: %s, %" PRIu64 " bit/s on port %u, %s",
			       dir == LC_FLOW_DIR_UP ? "upload" : "download",
			       lc_shaper_engine_name(sp.engine), sp.port_rate, out,
			       lc_shaper_aqm_name(sp.aqm));
	}
	return 0;
}

/* The EAL heap over every socket: bytes allocated and bytes in all. */
static void
heap_get(size_t *used, size_t *total)
{
	struct rte_malloc_socket_stats st;

	*used = *total = 0;
	for (unsigned int i = 0; i < rte_socket_count(); i++) {
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0) {
			*used += st.heap_allocsz_bytes;
			*total += st.heap_totalsz_bytes;
		}
	}
}

static size_t
mib(size_t bytes)
{
	return (bytes + (1u << 20) - 1) >> 20;
}

/*
 * The memory each block of the data path takes from the EAL heap, measured
 * as it is created: logged at start, and told when one does not fit.
 */
enum mem_block { MEM_POOL, MEM_USERS, MEM_FLOWS, MEM_SHAPERS, MEM_BLOCKS };
static const char *const mem_block_name[MEM_BLOCKS] = {
	"packet pool", "users and assignments", "flow table", "shapers",
};

struct mem_plan {
	size_t took[MEM_BLOCKS];
	size_t mark;
};

static void
mem_start(struct mem_plan *m)
{
	size_t total;

	memset(m->took, 0, sizeof(m->took));
	heap_get(&m->mark, &total);
}

static void
mem_done(struct mem_plan *m, enum mem_block b)
{
	size_t used, total;

	heap_get(&used, &total);
	m->took[b] += used > m->mark ? used - m->mark : 0;
	m->mark = used;
}

/* What the blocks took so far. */
static size_t
mem_taken(const struct mem_plan *m)
{
	size_t all = 0;

	for (int i = 0; i < MEM_BLOCKS; i++)
		all += m->took[i];
	return all;
}

/* After an allocation failed: what was taken, and what the heap had left. */
static void
mem_short(const struct mem_plan *m, enum mem_block b)
{
	size_t used, total;

	heap_get(&used, &total);
	lc_log("error", "the %s did not fit: the EAL heap has %zu MiB free of %zu "
	       "MiB, and the blocks before it took %zu MiB; give EAL more memory "
	       "(-m MB without hugepages, or more hugepages) or lower the "
	       "capacities", mem_block_name[b], mib(total - used), mib(total),
	       mib(mem_taken(m)));
}

static void
mem_report(const struct mem_plan *m)
{
	size_t used, total;

	heap_get(&used, &total);
	lc_log("info", "memory: %s %zu MiB, %s %zu MiB, %s %zu MiB, %s %zu MiB: "
	       "%zu MiB for the configured capacities; the EAL heap has %zu MiB "
	       "of %zu MiB left", mem_block_name[MEM_POOL], mib(m->took[MEM_POOL]),
	       mem_block_name[MEM_USERS], mib(m->took[MEM_USERS]),
	       mem_block_name[MEM_FLOWS], mib(m->took[MEM_FLOWS]),
	       mem_block_name[MEM_SHAPERS], mib(m->took[MEM_SHAPERS]), mib(mem_taken(m)),
	       mib(total - used), mib(total));
}

static int
ports_up(struct daemon *d)
{
	struct mem_plan mem;
	const struct lc_conf_wire *wc = &d->conf.wire;
	uint16_t port[LC_SIDE_MAX] = { (uint16_t)wc->client_port,
				       (uint16_t)wc->server_port };
	size_t thp;
	int rc;

	for (int s = 0; s < LC_SIDE_MAX; s++) {
		if (!rte_eth_dev_is_valid_port(port[s])) {
			lc_log("error", "[wire] %s_port = %u: no such DPDK port "
			       "(%u ports found; check the EAL --vdev/-a options)",
			       lc_side_name(s), port[s], rte_eth_dev_count_avail());
			return -ENODEV;
		}
	}
	mem_start(&mem);
	d->pool = lc_wire_pool_create(port, wc->mtu, wc->mbufs, (int)rte_socket_id());
	if (d->pool == NULL) {
		lc_log("error", "cannot create the packet pool of %u mbufs: %s "
		       "(raise EAL -m or lower [wire] mbufs)", wc->mbufs,
		       rte_strerror(rte_errno));
		mem_short(&mem, MEM_POOL);
		return -ENOMEM;
	}
	for (int s = 0; s < LC_SIDE_MAX; s++) {
		char name[RTE_ETH_NAME_MAX_LEN] = "";

		rc = lc_wire_port_init(port[s], d->pool, wc->mtu,
				       (uint16_t)wc->rx_desc, (uint16_t)wc->tx_desc,
				       (uint16_t)d->workers);
		if (rc != 0) {
			lc_log("error", "cannot start %s port %u: %s", lc_side_name(s),
			       port[s], rc == -ENOTSUP ? "it cannot receive frames of "
			       "[wire] mtu bytes" : rc == -ERANGE ? "it has fewer RX or "
			       "TX queues than [wire] workers (a net_pcap vdev has one "
			       "per rx_pcap and tx_pcap, net_af_packet qpairs=N)" :
			       strerror(-rc));
			return rc;
		}
		d->port_started[s] = true;
		rte_eth_dev_get_name_by_port(port[s], name);
		lc_log("info", "%s port %u (%s) up", lc_side_name(s), port[s], name);
	}

	mem_done(&mem, MEM_POOL); /* with the ports' rings */
	lc_log("info", "packet pool: %u mbufs, mempool handler %s", wc->mbufs,
	       lc_wire_pool_ops(d->pool));
	thp = lc_wire_pool_thp_bytes(d->pool);
	if (thp > 0) {
		mem.took[MEM_POOL] += thp;
		lc_log("info", "packet pool: %u mbufs in %zu MiB of memory outside the EAL "
		       "heap, in transparent huge pages where the kernel gives them "
		       "(no hugepages)", wc->mbufs, mib(thp));
	}
	if (users_create(d) != 0) {
		mem_short(&mem, MEM_USERS);
		return -ENOMEM;
	}
	mem_done(&mem, MEM_USERS);
	const struct lc_conf_flows *fc = &d->conf.flows;
	for (unsigned int w = 0; w < d->workers; w++) {
		struct lc_wire_part part = daemon_part(d, w);
		char fname[32];
		struct lc_flow_params fp = {
			.name = fname,
			.socket_id = (int)rte_socket_id(),
			.capacity = fc->capacity,
			.permit_invalid_flow = fc->permit_invalid_flow,
			.tcp_timeout = fc->tcp_timeout,
			.tcp_closing_timeout = fc->tcp_closing_timeout,
			.udp_timeout = fc->udp_timeout,
			.hz = rte_get_tsc_hz(),
			/* `assign EMAIL IP:PORT` finds flows by their client endpoint. */
			.client_index = true,
			.expire = lc_assign_flow_expired,
			.expire_arg = part.assign,
		};

		snprintf(fname, sizeof(fname), w == 0 ? "lc_flows" : "lc_flows%u", w);
		part.flows = lc_flow_table_create(&fp);
		if (part.flows == NULL) {
			lc_log("error", "cannot create the flow table of %u flows (worker %u): "
			       "%s (raise EAL -m or lower [flows] capacity)", fc->capacity,
			       w, rte_strerror(rte_errno));
			mem_short(&mem, MEM_FLOWS);
			return -ENOMEM;
		}
		if (w == 0)
			d->flows = part.flows;
		else
			d->more[w - 1].flows = part.flows;
	}
	mem_done(&mem, MEM_FLOWS);
	lc_log("info", "flow table: %u flows, %zu MiB (one per worker, %u)", fc->capacity,
	       lc_flow_table_memory(d->flows) >> 20, d->workers);

	for (unsigned int w = 0; w < d->workers; w++) {
		struct lc_shaper **sh = w == 0 ? d->shaper : d->more[w - 1].shaper;

		rc = shapers_up(d, port, w, sh);
		if (rc != 0) {
			if (rc == -ENOMEM)
				mem_short(&mem, MEM_SHAPERS);
			return rc;
		}
		/* What the shapers hold outside the heap (mem_done() sees the heap). */
		for (int dir = 0; dir < LC_FLOW_DIRS; dir++)
			mem.took[MEM_SHAPERS] += lc_shaper_mapped_bytes(sh[dir]);
	}
	mem_done(&mem, MEM_SHAPERS);
	mem_report(&mem);

	struct lc_wire_params wp = {
		.port = { port[0], port[1] },
		.mode = wc->mode,
		.vlan_mode = wc->vlan_mode,
		.burst = (uint16_t)wc->burst,
		.tx_retries = (uint16_t)wc->tx_retries,
		.max_frame = wc->mtu + LC_WIRE_TAG_SLACK,
		.idle_sleep_us = wc->idle_sleep,
		.socket_id = (int)rte_socket_id(),
		.flows = d->flows,
		.assign = d->assign,
		.rx_enabled = wc->autostart,
		.shaper = { d->shaper[0], d->shaper[1] },
		.default_rate = { d->conf.shaper.default_up, d->conf.shaper.default_down },
		.shape_unassigned = { d->conf.shaper.unassigned_up != 0,
				      d->conf.shaper.unassigned_down != 0 },
		.users = d->conf.users.capacity,
		.workers = (uint16_t)d->workers,
	};
	for (unsigned int w = 1; w < d->workers; w++)
		wp.more[w - 1] = d->more[w - 1];
	d->wire = lc_wire_create(&wp);
	if (d->wire == NULL) {
		lc_log("error", "cannot create the wire: %s", rte_strerror(rte_errno));
		return -rte_errno;
	}
	return 0;
}

/* Stop every worker and wait for it. */
static void
workers_land(struct daemon *d)
{
	lc_wire_stop(d->wire);
	for (unsigned int w = 0; w < d->workers; w++)
		if (rte_eal_get_lcore_state(d->worker_lcore[w]) != WAIT)
			rte_eal_wait_lcore(d->worker_lcore[w]);
}

/* Every worker on its lcore; on failure the ones launched are stopped. */
static int
workers_launch(struct daemon *d)
{
	for (unsigned int w = 0; w < d->workers; w++) {
		int rc = rte_eal_remote_launch(lc_wire_worker_main,
					       lc_wire_worker(d->wire, w),
					       d->worker_lcore[w]);

		if (rc != 0) {
			lc_log("error", "cannot launch worker %u on lcore %u: %s", w,
			       d->worker_lcore[w], strerror(-rc));
			workers_land(d);
			return rc;
		}
	}
	return 0;
}

static void
ports_down(struct daemon *d)
{
	for (int s = 0; s < LC_SIDE_MAX; s++) {
		uint16_t port = s == 0 ? (uint16_t)d->conf.wire.client_port :
					 (uint16_t)d->conf.wire.server_port;
		if (!d->port_started[s])
			continue;
		/* Stopping and closing flushes what a PMD buffers (pcap files). */
		rte_eth_dev_stop(port);
		rte_eth_dev_close(port);
	}
}

static void
log_final_counters(struct daemon *d)
{
	for (int s = 0; s < LC_SIDE_MAX; s++) {
		struct lc_wire_port_stats st;

		lc_wire_get_port_stats(d->wire, s, &st);
		lc_log("info", "final %s port: rx %" PRIu64 " frames %" PRIu64
		       " bytes, tx %" PRIu64 " frames %" PRIu64 " bytes, tap %"
		       PRIu64 ", dropped tx_full %" PRIu64, lc_side_name(s),
		       st.rx_packets, st.rx_bytes, st.tx_packets, st.tx_bytes,
		       st.tap_packets, st.drops[LC_DROP_TX_FULL]);
	}
}

/* The socket server's events for an operator (it rate-limits them). */
static void
mgmt_log(void *arg, const char *level, const char *msg)
{
	(void)arg;
	lc_log(level, "%s", msg);
}

static int
control_up(struct daemon *d)
{
	int rc;

	d->table = lc_mgmt_table_create();
	if (d->table == NULL)
		return -ENOMEM;
	rc = lc_mgmt_register(d->table, daemon_cmds, RTE_DIM(daemon_cmds), d);
	if (rc == 0)
		rc = wire_register_cmds(d);
	if (rc == 0)
		rc = users_register_cmds(d);
	if (rc == 0)
		rc = plans_register_cmds(d);
	if (rc == 0)
		rc = nodes_create(d);
	if (rc == 0)
		rc = nodes_register_cmds(d);
	if (rc == 0 && d->test_hooks)
		rc = lc_mgmt_register(d->table, debug_cmds, RTE_DIM(debug_cmds), d);
	if (rc != 0)
		return rc;

	make_socket_dir(d->conf.mgmt.socket);
	char why[512] = "";
	struct sockaddr_storage tcp_addr;
	socklen_t tcp_len = 0;
	if (d->conf.mgmt.listen[0] != '\0' &&
	    lc_conf_parse_listen(d->conf.mgmt.listen, &tcp_addr, &tcp_len) != 0) {
		lc_log("error", "[mgmt] listen = '%s': not ADDR:PORT",
		       d->conf.mgmt.listen);
		return -EINVAL;
	}
	struct lc_mgmt_params mp = {
		.path = d->conf.mgmt.socket,
		.mode = d->conf.mgmt.socket_mode,
		.group = d->conf.mgmt.socket_group,
		.max_clients = d->conf.mgmt.max_clients,
		.idle_timeout_ms = d->conf.mgmt.idle_timeout == 0 ? UINT32_MAX :
				   d->conf.mgmt.idle_timeout * 1000,
		.table = d->table,
		.log = mgmt_log,
		.tcp_addr = tcp_len > 0 ? (const struct sockaddr *)&tcp_addr : NULL,
		.tcp_addr_len = tcp_len,
		.tls_cert = d->conf.mgmt.tls_cert,
		.tls_key = d->conf.mgmt.tls_key,
		.tls_ca = d->conf.mgmt.tls_ca,
		.operators = d->conf.mgmt.operators,
		.followers = d->conf.mgmt.followers,
		.closed = node_client_closed,
		.closed_arg = d,
		.error = why,
		.error_size = sizeof(why),
	};
	d->mgmt = lc_mgmt_create(&mp);
	if (d->mgmt == NULL) {
		rc = -errno;
		if (strncmp(why, "[mgmt] ", 7) == 0)
			lc_log("error", "%s", why); /* about the TLS listener */
		else
			lc_log("error", "[mgmt] socket = '%s': %s", d->conf.mgmt.socket,
			       why[0] != '\0' ? why : strerror(errno));
		return rc;
	}
	if (tcp_len > 0)
		lc_log("info", "management over TLS on %s (operators: %s; "
		       "followers: %s)", d->conf.mgmt.listen,
		       d->conf.mgmt.operators[0] ? d->conf.mgmt.operators : "none",
		       d->conf.mgmt.followers[0] ? d->conf.mgmt.followers : "none");
	rc = telemetry_up(d);
	if (rc != 0)
		lc_log("warning", "telemetry endpoints not registered: %s", strerror(-rc));
	/* Metrics were asked for: without them linecapd does not start. */
	return metrics_up(d);
}

int
main(int argc, char **argv)
{
	static struct daemon d;
	char *eal_argv[EAL_ARGS_MAX + 1];
	const char *config = NULL;
	char err[512];
	int n, rc, status = 1;

	/*
	 * linecapd's own options come after "--", or are all there is. getopt
	 * takes the "--" itself as the program name.
	 */
	int dd = find_dashdash(argc, argv);
	int first = dd >= 0 ? dd : 0;
	if (parse_app_args(argc - first, argv + first, &config, &d.ignore_state,
			   &d.test_hooks) != 0)
		return 2;

	lc_conf_defaults(&d.conf);
	rc = lc_conf_load(config, &d.conf, conf_warn, NULL, err, sizeof(err));
	if (rc != 0) {
		lc_log("error", "%s", err);
		return 1;
	}

	n = build_eal_args(argc, argv, dd, &d.conf, eal_argv);
	if (n < 0) {
		lc_log("error", "%s: [eal] args: more than %d words", config,
		       EAL_ARGS_MAX);
		return 1;
	}
	eal_argv[n] = NULL;

	/* EAL and the PMDs log to stdout by default; keep every line on stderr. */
	rte_openlog_stream(stderr);
	if (rte_eal_init(n, eal_argv) < 0) {
		/* EAL says why on the lines above; rte_errno is not always set. */
		lc_log("error", "EAL initialisation failed%s%s", rte_errno != 0 ? ": " : "",
		       rte_errno != 0 ? rte_strerror(rte_errno) : " (see the EAL lines "
		       "above: another linecapd with the same --file-prefix?)");
		return 1;
	}

	d.workers = d.conf.wire.workers;
	for (unsigned int w = 0, lcore = -1u; w < d.workers; w++) {
		lcore = rte_get_next_lcore(lcore, 1, 0);
		if (lcore >= RTE_MAX_LCORE) {
			lc_log("error", "linecapd needs %u lcores, the control thread and "
			       "%u worker%s ([wire] workers): give EAL -l with as many "
			       "(e.g. -l 0-%u), or --lcores to put two on a CPU",
			       d.workers + 1, d.workers, d.workers == 1 ? "" : "s",
			       d.workers);
			goto out;
		}
		d.worker_lcore[w] = lcore;
	}
	if (ports_up(&d) != 0 || users_load(&d) != 0 || control_up(&d) != 0)
		goto out;

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	d.started = time(NULL);
	if (workers_launch(&d) != 0)
		goto out;
	if (users_start(&d) != 0) {
		workers_land(&d);
		goto out;
	}
	lc_log("info", "linecapd %s running: mode %s, vlan_mode %s, worker lcore %u%s, "
	       "socket %s%s", LC_VERSION, lc_wire_mode_name(d.conf.wire.mode),
	       lc_vlan_mode_name(d.conf.wire.vlan_mode), d.worker_lcore[0],
	       d.workers > 1 ? " and more ([wire] workers)" : "",
	       d.conf.mgmt.socket, d.conf.wire.autostart ? "" :
	       ", not receiving until 'start'");

	while (!stop_signal) {
		rc = lc_mgmt_poll(d.mgmt, 50);
		if (rc != 0) {
			lc_log("error", "management socket: %s", strerror(-rc));
			break;
		}
		users_upkeep(&d);
		nodes_upkeep(&d);
	}
	metrics_down();
	lc_log("info", "%s: stopping", stop_signal ? strsignal(stop_signal) : "error");

	workers_land(&d);
	log_final_counters(&d);
	users_stop(&d);
	status = rc == 0 ? 0 : 1;
out:
	metrics_down();
	lc_mgmt_free(d.mgmt);
	lc_mgmt_table_free(d.table);
	ports_down(&d);
	lc_wire_free(d.wire);
	for (unsigned int w = 0; w < RTE_MAX(d.workers, 1u); w++) {
		struct lc_wire_part part = daemon_part(&d, w);

		lc_flow_table_free(part.flows);
		lc_shaper_free(part.shaper[0]);
		lc_shaper_free(part.shaper[1]);
	}
	users_free(&d);
	nodes_free(&d);
	rte_mempool_free(d.pool);
	rte_eal_cleanup();
	return status;
}
