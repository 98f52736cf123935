/* SPDX-License-Identifier: MIT */
/*
 * Flow table benchmark: create rate, then lookups of existing flows in random
 * order at 10k, 100k and 1M active flows, in 32-packet bursts as the worker
 * does and one packet at a time, plus the cost of aging and the memory per
 * flow. One table of the default capacity is filled step by step, so the
 * smaller sizes see a mostly empty table, as a box does off-peak.
 *
 *   bench_flow [EAL options] [-- [--capacity N] [--lookups N] [--sizes A,B,C]
 *                               [--client-index]]
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>

#include "lc_flow.h"

#define BURST 32
#define MAX_SIZES 8

/*
 * The key of flow i, built in registers and L1 the way the worker builds it
 * from a parsed packet, so that no key array's cache misses are counted.
 */
static inline void
key_of(uint32_t i, struct lc_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->client[10] = 0xff;
	k->client[11] = 0xff;
	k->client[12] = 10;
	k->client[13] = (uint8_t)(i >> 16);
	k->client[14] = (uint8_t)(i >> 8);
	k->client[15] = (uint8_t)i;
	k->server[10] = 0xff;
	k->server[11] = 0xff;
	k->server[12] = 192;
	k->server[13] = 0;
	k->server[14] = 2;
	k->server[15] = (uint8_t)(i % 7);
	k->client_port = (uint16_t)(1024 + (i >> 24) * 997 + i % 50000);
	k->server_port = 443;
	k->l4_proto = IPPROTO_TCP;
	k->ip_version = 4;
	k->n_vlans = 1;
	k->vlan[0] = (uint16_t)(100 + i % 4);
}

static inline uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

struct burst {
	struct lc_flow_key keys[BURST];
	const struct lc_flow_key *kp[BURST];
	const struct lc_parse_result *prp[BURST];
	uint32_t lens[BURST];
	struct lc_flow *flows[BURST];
	int status[BURST];
};

static void
burst_init(struct burst *b, const struct lc_parse_result *pr)
{
	unsigned i;

	for (i = 0; i < BURST; i++) {
		b->kp[i] = &b->keys[i];
		b->prp[i] = pr;
		b->lens[i] = 1400;
	}
}

/* Create flows [from, to); returns TSC cycles taken. */
static uint64_t
fill(struct lc_flow_table *tbl, struct burst *b, uint32_t from, uint32_t to,
     uint64_t now)
{
	uint64_t t0 = rte_rdtsc_precise();
	uint32_t i = from;

	while (i < to) {
		unsigned n = RTE_MIN((uint32_t)BURST, to - i), j;

		for (j = 0; j < n; j++)
			key_of(i + j, &b->keys[j]);
		if (lc_flow_lookup_or_create_burst(tbl, b->kp, b->prp, b->lens,
						   n, LC_FLOW_DIR_UP, now,
						   b->flows, b->status) != n) {
			fprintf(stderr, "bench_flow: create failed at %u\n", i);
			exit(1);
		}
		i += n;
	}
	return rte_rdtsc_precise() - t0;
}

/* Random lookups of existing flows in bursts; returns cycles. */
static uint64_t
lookup_burst(struct lc_flow_table *tbl, struct burst *b, uint32_t active,
	     uint64_t count, uint64_t now)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, done, t0;
	unsigned j;

	t0 = rte_rdtsc_precise();
	for (done = 0; done < count; done += BURST) {
		for (j = 0; j < BURST; j++)
			key_of((uint32_t)(xorshift(&seed) % active),
			       &b->keys[j]);
		if (lc_flow_lookup_or_create_burst(tbl, b->kp, b->prp, b->lens,
						   BURST, LC_FLOW_DIR_DOWN,
						   now, b->flows,
						   b->status) != BURST) {
			fprintf(stderr, "bench_flow: lookup failed\n");
			exit(1);
		}
	}
	return rte_rdtsc_precise() - t0;
}

/* The same one packet at a time. */
static uint64_t
lookup_single(struct lc_flow_table *tbl, const struct lc_parse_result *pr,
	      uint32_t active, uint64_t count, uint64_t now)
{
	uint64_t seed = 0x2545f4914f6cdd1dull, done, t0;
	struct lc_flow_key k;
	int status;

	t0 = rte_rdtsc_precise();
	for (done = 0; done < count; done++) {
		key_of((uint32_t)(xorshift(&seed) % active), &k);
		if (lc_flow_lookup_or_create(tbl, &k, pr, LC_FLOW_DIR_DOWN,
					     1400, now, &status) == NULL) {
			fprintf(stderr, "bench_flow: lookup failed\n");
			exit(1);
		}
	}
	return rte_rdtsc_precise() - t0;
}

/* Only the key building, to subtract it from the lookups. */
static uint64_t
keys_only(struct burst *b, uint32_t active, uint64_t count)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, done, t0, sink = 0;
	unsigned j;

	t0 = rte_rdtsc_precise();
	for (done = 0; done < count; done += BURST) {
		for (j = 0; j < BURST; j++)
			key_of((uint32_t)(xorshift(&seed) % active),
			       &b->keys[j]);
		sink += b->keys[done % BURST].client[15];
		__asm__ volatile("" : : "r"(sink) : "memory");
	}
	return rte_rdtsc_precise() - t0;
}

static int
parse_sizes(const char *s, uint32_t *sizes)
{
	int n = 0;
	char *end;

	while (*s != '\0' && n < MAX_SIZES) {
		sizes[n++] = (uint32_t)strtoul(s, &end, 10);
		if (end == s)
			return -1;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

int
main(int argc, char **argv)
{
	static char *def_eal[] = {
		"bench_flow", "-l", "0", "--no-huge", "-m", "1024",
		"--no-pci", "--no-shconf", "--no-telemetry",
		"--log-level=error",
	};
	uint32_t sizes[MAX_SIZES] = { 10000, 100000, 1000000 };
	uint64_t lookups = 4000000, hz, cyc, kcyc, now;
	uint32_t capacity = 1048576, filled = 0;
	struct lc_parse_result pr_syn, pr_ack;
	struct lc_flow_params p;
	struct lc_flow_table *tbl;
	struct lc_flow_counters c;
	static struct burst b;
	int n_sizes = 3, ret, i;
	bool client_index = false;
	size_t mem;

	if (argc > 1 && strcmp(argv[1], "--") != 0)
		ret = rte_eal_init(argc, argv);
	else
		ret = rte_eal_init((int)RTE_DIM(def_eal), def_eal);
	if (ret < 0) {
		fprintf(stderr, "bench_flow: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "--") != 0) {
		argc -= ret;
		argv += ret;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			continue;
		if (i + 1 < argc && strcmp(argv[i], "--capacity") == 0)
			capacity = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(argv[i], "--lookups") == 0)
			lookups = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--client-index") == 0)
			client_index = true;
		else if (i + 1 < argc && strcmp(argv[i], "--sizes") == 0)
			n_sizes = parse_sizes(argv[++i], sizes);
		else
			n_sizes = -1;
		if (n_sizes < 0) {
			fprintf(stderr, "usage: bench_flow [EAL options] [-- "
				"[--capacity N] [--lookups N] "
				"[--sizes A,B,C] [--client-index]]\n");
			return 2;
		}
	}

	hz = rte_get_tsc_hz();
	memset(&p, 0, sizeof(p));
	p.name = "bench_flow";
	p.socket_id = (int)rte_socket_id();
	p.capacity = capacity;
	p.permit_invalid_flow = true;
	p.hz = hz;
	p.client_index = client_index;
	tbl = lc_flow_table_create(&p);
	if (tbl == NULL) {
		fprintf(stderr, "bench_flow: create: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	mem = lc_flow_table_memory(tbl);
	printf("flow table: capacity %" PRIu32 "%s, %zu bytes = %.1f bytes "
	       "per flow (entry %zu, key %zu, hash structures the rest)\n",
	       capacity, client_index ? " with client index" : "", mem,
	       (double)mem / capacity, sizeof(struct lc_flow),
	       sizeof(struct lc_flow_key));
	printf("TSC %.3f GHz; lookups of existing TCP flows in random order, "
	       "%" PRIu64 " per size; cycles exclude building the keys\n",
	       (double)hz / 1e9, lookups);

	memset(&pr_syn, 0, sizeof(pr_syn));
	pr_syn.reason = LC_PARSE_OK;
	pr_syn.ip_version = 4;
	pr_syn.l4_proto = IPPROTO_TCP;
	pr_syn.flags = LC_PARSE_F_PORTS;
	pr_syn.tcp_flags = 0x10; /* mid-stream ACK: ESTABLISHED at once */
	pr_ack = pr_syn;

	/* Warm up: fill the table to its largest size once and age it all
	 * away, so that every figure is taken on memory already touched, as
	 * in a box that has been running. This also times expiry. */
	now = rte_rdtsc();
	for (i = 0; i < n_sizes; i++)
		filled = RTE_MAX(filled, RTE_MIN(sizes[i], capacity));
	burst_init(&b, &pr_syn);
	fill(tbl, &b, 0, filled, now);
	cyc = rte_rdtsc_precise();
	lc_flow_age(tbl, now + hz * 100000, lc_flow_table_slots(tbl));
	cyc = rte_rdtsc_precise() - cyc;
	printf("warm-up: %" PRIu32 " flows created, then expired at %.0f "
	       "cycles per flow (aging sweep included)\n", filled,
	       (double)cyc / filled);
	filled = 0;
	now += hz * 100001;

	printf("%9s %11s %10s | %12s %9s | %12s %9s | %9s\n", "active",
	       "creates/s", "cyc/create", "burst32 /s", "cyc/pkt",
	       "single /s", "cyc/pkt", "age cyc/slot");
	for (i = 0; i < n_sizes; i++) {
		uint32_t target = RTE_MIN(sizes[i], capacity);
		double per_create, per_burst, per_single, per_slot;
		uint32_t created = target - filled;

		burst_init(&b, &pr_syn);
		cyc = fill(tbl, &b, filled, target, now);
		per_create = created ? (double)cyc / created : 0;
		filled = target;

		burst_init(&b, &pr_ack);
		kcyc = keys_only(&b, filled, lookups);
		cyc = lookup_burst(tbl, &b, filled, lookups, now);
		per_burst = (double)(cyc - RTE_MIN(cyc, kcyc)) / lookups;
		cyc = lookup_single(tbl, &pr_ack, filled, lookups / 4, now);
		per_single = (double)(cyc - RTE_MIN(cyc, kcyc / 4)) /
			     (lookups / 4);

		/* A sweep of the whole table where nothing expires: the cost
		 * the worker pays per slot of aging budget. */
		cyc = rte_rdtsc_precise();
		lc_flow_age(tbl, now, lc_flow_table_slots(tbl));
		per_slot = (double)(rte_rdtsc_precise() - cyc) /
			   lc_flow_table_slots(tbl);

		printf("%9" PRIu32 " %11.0f %10.0f | %12.0f %9.1f | %12.0f "
		       "%9.1f | %9.1f\n",
		       filled, per_create ? hz / per_create : 0, per_create,
		       hz / per_burst, per_burst, hz / per_single, per_single,
		       per_slot);
		fflush(stdout);
	}

	lc_flow_counters_get(tbl, &c);
	printf("counters: active %" PRIu64 ", created %" PRIu64
	       ", flow_table_full %" PRIu64 "\n",
	       c.active, c.created, c.flow_table_full);
	lc_flow_table_free(tbl);
	rte_eal_cleanup();
	return 0;
}
