/* SPDX-License-Identifier: MIT */
/*
 * Following the access log by name, like `tail -F`.
 *
 * The file is read to its end whenever something may have changed: on an
 * inotify event of the directory that holds it (one watch that survives the
 * file being renamed, removed and created again), and on a 250 ms timer in
 * the main loop, so that nothing depends on inotify working (NFS, watch
 * limits). At the end of the file the name is checked again:
 *
 * - a smaller size than what was read means the file was truncated in place
 *   (copytruncate): read again from the start;
 * - another inode under the name means it was rotated: the old file has just
 *   been read to its end, so it is closed and the new one read from its start;
 * - no file under the name means it was moved away and the new one is not
 *   there yet: keep reading the old one, which Xray may still write to.
 *
 * Only the file present at start-up is read from its end (unless
 * --from-start): a file that appears later is new, and all of it counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xray.h"

/* One read; the buffer also keeps a partial line in front of it. */
#define READ_CHUNK (64 * 1024)
#define BUF_SIZE (READ_CHUNK + LC_XRAYLOG_LINE_MAX + 2)
/*
 * Reads per poll: a backlog is read in slices, so that the socket is served
 * in between and the commands of one slice always fit the room the main loop
 * checks for (XR_FOLLOW_SLICE in xray.h).
 */
#define READS_PER_POLL (XR_FOLLOW_SLICE / READ_CHUNK)

struct xr_follow {
	char *path;
	int fd;              /* -1 while there is no file */
	dev_t dev;
	ino_t ino;
	off_t pos;           /* bytes read from fd */
	bool first_open;     /* next open is the file present at start-up */
	bool from_start;
	bool waiting_logged; /* "waiting for the file" said once */
	bool discarding;     /* inside a line longer than LINE_MAX */
	int inotify_fd;
	struct xr_counters *counters;
	size_t len;          /* bytes of a partial line at the front of buf */
	char *buf;
};

struct xr_follow *
xr_follow_create(const char *path, bool from_start,
		 struct xr_counters *counters)
{
	struct xr_follow *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->fd = -1;
	f->inotify_fd = -1;
	f->first_open = true;
	f->from_start = from_start;
	f->counters = counters;
	f->path = strdup(path);
	f->buf = malloc(BUF_SIZE);
	if (f->path == NULL || f->buf == NULL) {
		xr_follow_free(f);
		return NULL;
	}

	/* Watch the directory: the file itself comes and goes. */
	char *copy = strdup(path);
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (copy != NULL && fd >= 0 &&
	    inotify_add_watch(fd, dirname(copy),
			      IN_MODIFY | IN_CREATE | IN_MOVED_TO |
			      IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE |
			      IN_ATTRIB) >= 0) {
		f->inotify_fd = fd;
	} else {
		xr_log("inotify on the directory of %s: %s; polling every "
		       "250 ms instead", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	free(copy);
	return f;
}

void
xr_follow_free(struct xr_follow *f)
{
	if (f == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (f->inotify_fd >= 0)
		close(f->inotify_fd);
	free(f->path);
	free(f->buf);
	free(f);
}

int
xr_follow_event_fd(const struct xr_follow *f)
{
	return f->inotify_fd;
}

void
xr_follow_drain_events(struct xr_follow *f)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	/* The events only say "look again"; which one does not matter. */
	while (read(f->inotify_fd, ev, sizeof(ev)) > 0)
		;
}

static bool
open_log(struct xr_follow *f)
{
	struct stat st;
	const bool at_end = f->first_open && !f->from_start;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	f->first_open = false;
	if (fd < 0) {
		if (!f->waiting_logged)
			xr_log("waiting for %s: %s", f->path, strerror(errno));
		f->waiting_logged = true;
		return false;
	}
	if (fstat(fd, &st) < 0) {
		xr_log("fstat %s: %s", f->path, strerror(errno));
		close(fd);
		return false;
	}
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->pos = 0;
	if (at_end) {
		f->pos = lseek(fd, 0, SEEK_END);
		if (f->pos < 0)
			f->pos = 0;
	}
	f->waiting_logged = false;
	xr_log("following %s (inode %lu) from %s", f->path,
	       (unsigned long)st.st_ino, at_end ? "its end" : "its start");
	return true;
}

/* Hand every complete line of the n bytes just read to fn. */
static void
split_lines(struct xr_follow *f, size_t n, xr_line_fn *fn, void *ctx)
{
	char *p = f->buf, *end = f->buf + f->len + n;
	/* The partial line in front holds no newline: scan only new bytes. */
	char *scan = f->buf + f->len, *nl;

	while ((nl = memchr(scan, '\n', (size_t)(end - scan))) != NULL) {
		if (f->discarding)
			f->discarding = false;
		else
			fn(ctx, p, (size_t)(nl - p));
		p = nl + 1;
		scan = p;
	}

	const size_t rest = (size_t)(end - p);

	if (f->discarding) {
		f->len = 0;
	} else if (rest > LC_XRAYLOG_LINE_MAX + 2) {
		/* Counted as too_long now; its remainder is dropped. */
		fn(ctx, p, rest);
		f->discarding = true;
		f->len = 0;
	} else {
		memmove(f->buf, p, rest);
		f->len = rest;
	}
}

/* The file ends without a newline and is left for good: a last line. */
static void
flush_partial(struct xr_follow *f, xr_line_fn *fn, void *ctx)
{
	if (f->len > 0 && !f->discarding)
		fn(ctx, f->buf, f->len);
	f->len = 0;
	f->discarding = false;
}

bool
xr_follow_poll(struct xr_follow *f, xr_line_fn *fn, void *ctx)
{
	struct stat st;

	if (f->fd < 0 && !open_log(f))
		return false;

	for (int reads = 0; reads < READS_PER_POLL; reads++) {
		const ssize_t n = read(f->fd, f->buf + f->len, READ_CHUNK);

		if (n > 0) {
			f->pos += n;
			split_lines(f, (size_t)n, fn, ctx);
			continue;
		}
		if (n == 0)
			goto at_end;
		if (errno == EINTR)
			continue;
		xr_log("read %s: %s; reopening", f->path, strerror(errno));
		flush_partial(f, fn, ctx);
		close(f->fd);
		f->fd = -1;
		return false;
	}
	return true;

at_end:
	if (fstat(f->fd, &st) == 0 && st.st_size < f->pos) {
		xr_log("%s was truncated (%lld < %lld bytes read): reading it "
		       "from the start", f->path, (long long)st.st_size,
		       (long long)f->pos);
		f->counters->truncations++;
		flush_partial(f, fn, ctx);
		f->pos = lseek(f->fd, 0, SEEK_SET);
		if (f->pos < 0)
			f->pos = 0;
		return true;
	}
	if (stat(f->path, &st) < 0)
		return false; /* moved away, the new one is not there yet */
	if (st.st_ino != f->ino || st.st_dev != f->dev) {
		xr_log("%s was rotated (inode %lu -> %lu): the old file is read "
		       "to its end", f->path, (unsigned long)f->ino,
		       (unsigned long)st.st_ino);
		f->counters->rotations++;
		flush_partial(f, fn, ctx);
		close(f->fd);
		f->fd = -1;
		open_log(f);
		return true;
	}
	return false;
}
