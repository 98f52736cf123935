/* SPDX-License-Identifier: MIT */
/*
 * bench_assign: how fast linecapd takes assignments over its socket.
 *
 *   bench_assign SOCKET N [USERS]
 *       pipelines N `assign userK@bench.example IP:PORT` lines (K < USERS,
 *       default 10000; every endpoint distinct) and prints the rate and the
 *       p50/p99/max latency from the write of a line to its reply.
 *   bench_assign --fork N
 *       the anchor: what one process per log line costs, as the follower
 *       script that linecap replaces pays it (fork + exec of /bin/true).
 *
 * Output is one JSON object on stdout.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
bench_fork(unsigned long n)
{
	uint64_t t0 = now_ns();

	for (unsigned long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, NULL, 0) < 0) {
			perror("bench_assign: fork");
			return 1;
		}
	}
	double sec = (double)(now_ns() - t0) / 1e9;
	printf("{\"forks\":%lu,\"seconds\":%.3f,\"per_second\":%.0f,\"us_each\":%.1f}\n",
	       n, sec, (double)n / sec, sec * 1e6 / (double)n);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	unsigned long n, users = 10000;
	size_t len = 0, cap, sent = 0, line = 0, got = 0, errors = 0;
	char *buf, rx[1 << 16], head[16];
	size_t head_len = 0;
	size_t *line_end;
	uint64_t *t_sent, *lat;
	int fd;

	if (argc == 3 && strcmp(argv[1], "--fork") == 0)
		return bench_fork(strtoul(argv[2], NULL, 10));
	if (argc < 3) {
		fprintf(stderr, "usage: bench_assign SOCKET N [USERS] | --fork N\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		users = strtoul(argv[3], NULL, 10);
	if (n == 0 || users == 0)
		return 2;

	cap = n * 64;
	buf = malloc(cap);
	line_end = malloc(n * sizeof(*line_end));
	t_sent = calloc(n, sizeof(*t_sent));
	lat = malloc(n * sizeof(*lat));
	if (buf == NULL || line_end == NULL || t_sent == NULL || lat == NULL)
		return 2;
	for (unsigned long i = 0; i < n; i++) {
		len += (size_t)snprintf(buf + len, cap - len,
			"assign user%lu@bench.example 10.%lu.%lu.%lu:%lu\n", i % users,
			(i >> 16) & 255, (i >> 8) & 255, i & 255, 1024 + (i % 60000));
		line_end[i] = len;
	}

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		fprintf(stderr, "bench_assign: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}

	uint64_t t0 = now_ns();
	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0) };

		if (poll(&p, 1, 10000) <= 0) {
			fprintf(stderr, "bench_assign: no progress for 10 s (%zu replies)\n", got);
			return 1;
		}
		if (p.revents & POLLOUT) {
			ssize_t k = send(fd, buf + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (k > 0) {
				uint64_t t = now_ns();

				sent += (size_t)k;
				/* A line counts as written when its last byte is. */
				while (line < n && line_end[line] <= sent)
					t_sent[line++] = t;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t k = recv(fd, rx, sizeof(rx), MSG_DONTWAIT);

			if (k <= 0) {
				fprintf(stderr, "bench_assign: linecapd closed the connection\n");
				return 1;
			}
			uint64_t t = now_ns();
			for (ssize_t i = 0; i < k; i++) {
				if (rx[i] != '\n') {
					if (head_len < sizeof(head))
						head[head_len++] = rx[i];
					continue;
				}
				/* Every reply starts with "ok". */
				if (head_len < 11 || memcmp(head, "{\"ok\":true", 10) != 0)
					errors++;
				head_len = 0;
				lat[got] = t - t_sent[got];
				got++;
			}
		}
	}
	double sec = (double)(now_ns() - t0) / 1e9;

	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("{\"assignments\":%lu,\"users\":%lu,\"seconds\":%.3f,\"per_second\":%.0f,"
	       "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"errors\":%zu}\n",
	       n, users, sec, (double)n / sec, (double)lat[n / 2] / 1e3,
	       (double)lat[n * 99 / 100] / 1e3, (double)lat[n - 1] / 1e3, errors);
	close(fd);
	free(buf);
	free(line_end);
	free(t_sent);
	free(lat);
	return errors ? 1 : 0;
}
