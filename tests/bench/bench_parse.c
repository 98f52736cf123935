/* SPDX-License-Identifier: MIT */
/*
 * Parser micro-benchmark: nanoseconds and TSC cycles per frame over a
 * realistic mix of encapsulations (the seq profile of lc_frames: untagged,
 * 802.1Q, QinQ, MPLS, EoMPLS, PPPoE; IPv4 and IPv6; TCP and UDP; 60 to 1514
 * bytes), then per encapsulation. Frames live in exactly-sized heap buffers
 * scattered like mbufs would be; results are folded into a sink so that the
 * compiler cannot drop a call.
 *
 *   bench_parse [--frames N] [--mode untag|vlan|qinq]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#include "lc_frames.h"
#include "lc_parse.h"

#define N_FRAMES 64

struct frame_set {
	uint8_t *data[N_FRAMES];
	uint16_t len[N_FRAMES];
};

static volatile uint64_t sink;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
tsc(void)
{
#if HAVE_TSC
	return __rdtsc();
#else
	return 0;
#endif
}

/* kind < 0: the mix; else only frames of that encapsulation. */
static void
build_set(struct frame_set *s, int kind)
{
	static uint8_t buf[LC_FRAME_MAX_LEN];
	unsigned int i;
	uint64_t seq;
	size_t n;

	for (i = 0; i < N_FRAMES; i++) {
		seq = kind < 0 ? i : (uint64_t)kind + (uint64_t)i *
						   LC_FRAMES_SEQ_KINDS;
		n = lc_frames_seq(buf, sizeof(buf), seq, i & 1, 2024);
		if (n == 0) {
			fprintf(stderr, "bench_parse: frame did not build\n");
			exit(1);
		}
		s->data[i] = malloc(n);
		if (s->data[i] == NULL)
			exit(1);
		memcpy(s->data[i], buf, n);
		s->len[i] = (uint16_t)n;
	}
}

static void
free_set(struct frame_set *s)
{
	unsigned int i;

	for (i = 0; i < N_FRAMES; i++)
		free(s->data[i]);
}

static void
run(const char *name, const struct frame_set *s, uint64_t frames,
    enum lc_vlan_mode mode)
{
	struct lc_parse_result r;
	uint64_t rounds = frames / N_FRAMES, i, t0, t1, c0, c1, acc = 0;
	unsigned int k, ok = 0;
	double ns, cyc;

	/* Warm the caches and the branch predictor, and count OK frames. */
	for (k = 0; k < N_FRAMES; k++)
		ok += lc_parse_frame(s->data[k], s->len[k], mode, &r) ==
		      LC_PARSE_OK;
	t0 = now_ns();
	c0 = tsc();
	for (i = 0; i < rounds; i++) {
		for (k = 0; k < N_FRAMES; k++) {
			acc += (uint64_t)lc_parse_frame(s->data[k], s->len[k],
							mode, &r);
			acc += r.sport ^ r.l3_off ^ r.src[15];
		}
	}
	c1 = tsc();
	t1 = now_ns();
	sink += acc;
	frames = rounds * N_FRAMES;
	ns = (double)(t1 - t0) / (double)frames;
	cyc = (double)(c1 - c0) / (double)frames;
	if (HAVE_TSC)
		printf("%-22s %6.2f ns/frame %7.2f cycles/frame %7.1f Mframes/s"
		       "  (%u/%u ok)\n", name, ns, cyc, 1e3 / ns, ok, N_FRAMES);
	else
		printf("%-22s %6.2f ns/frame    n/a cycles/frame %7.1f Mframes/s"
		       "  (%u/%u ok)\n", name, ns, 1e3 / ns, ok, N_FRAMES);
}

int
main(int argc, char **argv)
{
	enum lc_vlan_mode mode = LC_VLAN_MODE_QINQ;
	uint64_t frames = 50000000, t0, c0, t1, c1;
	struct frame_set s;
	int i, k;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc) {
			frames = strtoull(argv[++i], NULL, 0);
		} else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
			const char *m = argv[++i];

			if (strcmp(m, "untag") == 0)
				mode = LC_VLAN_MODE_UNTAG;
			else if (strcmp(m, "vlan") == 0)
				mode = LC_VLAN_MODE_VLAN;
			else if (strcmp(m, "qinq") == 0)
				mode = LC_VLAN_MODE_QINQ;
			else
				goto usage;
		} else {
			goto usage;
		}
	}
	if (frames < N_FRAMES)
		frames = N_FRAMES;

	/* The TSC rate, to relate cycles to time on this machine. */
	t0 = now_ns();
	c0 = tsc();
	while (now_ns() - t0 < 100000000)
		;
	c1 = tsc();
	t1 = now_ns();
	if (HAVE_TSC)
		printf("TSC %.3f GHz; %" PRIu64 " frames per line; mode %d\n",
		       (double)(c1 - c0) / (double)(t1 - t0), frames,
		       (int)mode);

	build_set(&s, -1);
	run("mix (64 frames)", &s, frames, mode);
	free_set(&s);
	for (k = 0; k < LC_FRAMES_SEQ_KINDS; k++) {
		build_set(&s, k);
		run(lc_frames_seq_kind_name((unsigned int)k), &s, frames / 4,
		    mode);
		free_set(&s);
	}
	return sink == 42 ? 1 : 0;

usage:
	fprintf(stderr, "usage: bench_parse [--frames N] "
		"[--mode untag|vlan|qinq]\n");
	return 2;
}
