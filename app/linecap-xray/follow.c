/* SPDX-License-Identifier: MIT */
/*
 * Following the access log by name, like `tail -F`.
 *
 * The file is read to its end whenever something may have changed: on an
 * inotify event of the directory that holds it (one watch that survives the
 * file being renamed, removed and created again), and on a 250 ms timer in
 * the main loop, so that nothing depends on inotify working (NFS, watch
 * limits). Before each read, the file is checked for truncation in place
 * (copytruncate): its size is smaller than what was read, or the bytes just
 * before the read offset, or the first bytes of the file, are no longer the
 * bytes that were read there. The size alone is not enough: Xray may have
 * written as much again before the follower looks. Then the file is read
 * again from the start. At the end of the file the name is checked again:
 *
 * - another inode under the name means it was rotated: the old file has just
 *   been read to its end, so it is closed and the new one read from its start;
 * - no file under the name means it was moved away and the new one is not
 *   there yet: keep reading the old one, which Xray may still write to.
 *
 * Only the file present at start-up is read from its end (unless
 * --from-start): a file that appears later is new, and all of it counts.
 *
 * With a position file (--position), the follower says where it is: the
 * file's device and inode, the offset of the end of the last whole line
 * handled and a hash of the 64 bytes before it, written (to a temporary
 * name, then renamed) at most once a second and at exit. At start-up the
 * file at the name is read on from there if it is the same file and those
 * bytes are still there; a file the position does not match (rotated or
 * rewritten meanwhile) is new since, and is read from its start; a missing
 * or unreadable position file changes nothing. So the connections accepted
 * while the follower was down (an upgrade, a crash) are bound too.
 *
 * Only a regular file is read. Anything else at the name (a directory, a
 * FIFO, a device) is refused without being read: a FIFO would block the
 * loop in open() or read(), a device could feed it without end. The name is
 * checked with stat() first, so that a FIFO is not even opened (which would
 * release a writer waiting for a reader), and the open is non-blocking in
 * case the name changes in between. Every condition that keeps the log from
 * being read is said once when it starts (and when it changes); the
 * "following" line says it has cleared. Meanwhile the name is looked at again
 * with backoff, from 250 ms to 5 s, and at once when inotify reports that
 * the name was created, moved, removed or changed its attributes. Nothing is
 * logged per look, so a stderr that goes into the watched directory cannot
 * feed the loop with its own events.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xray.h"

/*
 * What was read, to recognise the file again: the bytes just before the read
 * offset (a whole typical access line, so its time and client port are in it,
 * not only the tail that many lines share) and the first bytes of the file.
 */
#define TAIL_PRINT 256
#define HEAD_PRINT 64

/* One read; the buffer also keeps a partial line in front of it. */
#define READ_CHUNK (64 * 1024)
#define BUF_SIZE (READ_CHUNK + LC_XRAYLOG_LINE_MAX + 2)
/*
 * Reads per poll: a backlog is read in slices, so that the socket is served
 * in between and the commands of one slice always fit the room the main loop
 * checks for (XR_FOLLOW_SLICE in xray.h).
 */
#define READS_PER_POLL (XR_FOLLOW_SLICE / READ_CHUNK)
#define RETRY_MIN_US 250000
#define RETRY_MAX_US 5000000
/* The bytes before a saved position whose hash recognises it. */
#define POSITION_PRINT 64
#define POSITION_MAGIC "linecap-xray-position 1"

/* Where a position file says the follower was. */
struct position {
	bool valid;
	unsigned long long dev, ino, off, hash;
};

/* Why the log cannot be read now. */
enum trouble {
	TROUBLE_NONE,
	TROUBLE_MISSING,     /* no file at the name: the normal wait */
	TROUBLE_NOT_REGULAR, /* a directory, FIFO, device or socket */
	TROUBLE_OPEN,        /* stat or open failed otherwise (EACCES, ...) */
	TROUBLE_READ,        /* read failed (EIO, ...) */
};

struct xr_follow {
	char *path;
	char *name;          /* the last component, to match inotify events */
	int fd;              /* -1 while there is no file */
	dev_t dev;
	ino_t ino;
	off_t pos;           /* bytes read from fd */
	bool first_open;     /* next open is the file present at start-up */
	bool from_start;
	enum trouble trouble; /* said once; cleared by a good open or read */
	int trouble_err;
	mode_t trouble_type;
	uint64_t retry_at;   /* no open before this, while in trouble */
	uint64_t retry_us;   /* the backoff */
	bool discarding;     /* inside a line longer than LINE_MAX */
	size_t tail_len;     /* tail holds the bytes [pos - tail_len, pos) */
	size_t head_len;     /* head holds the bytes [0, head_len) */
	char tail[TAIL_PRINT];
	char head[HEAD_PRINT];
	int inotify_fd;
	struct xr_counters *counters;
	size_t len;          /* bytes of a partial line at the front of buf */
	char *buf;
	char *position_path; /* NULL: no position file */
	struct position resume; /* read at start-up */
	struct position saved;  /* written last */
	bool position_failed;   /* said once until a save works again */
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
	f->retry_us = RETRY_MIN_US;
	f->path = strdup(path);
	f->buf = malloc(BUF_SIZE);

	char *base = strdup(path);

	if (base != NULL)
		f->name = strdup(basename(base));
	free(base);
	if (f->path == NULL || f->buf == NULL || f->name == NULL) {
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
	free(f->name);
	free(f->buf);
	free(f->position_path);
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
	ssize_t n;

	/*
	 * Any event means "look again" (the main loop does). An event that
	 * changed what the name points to also ends the backoff of a name that
	 * could not be read; events of other files in the directory, such as
	 * our own stderr, do not.
	 */
	while ((n = read(f->inotify_fd, ev, sizeof(ev))) > 0) {
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			struct inotify_event e;

			memcpy(&e, ev + off, sizeof(e));
			if ((e.mask & IN_Q_OVERFLOW) ||
			    (e.len > 0 &&
			     (e.mask & (IN_CREATE | IN_MOVED_TO | IN_DELETE |
					IN_MOVED_FROM | IN_ATTRIB)) &&
			     strncmp(ev + off + sizeof(e), f->name, e.len) == 0)) {
				f->retry_at = 0;
				f->retry_us = RETRY_MIN_US;
			}
			off += (ssize_t)(sizeof(e) + e.len);
		}
	}
}

static const char *
type_name(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	return "of an unknown type";
}

/*
 * The log cannot be read: say so when this starts or changes (never per
 * look), and set when to look again.
 */
static void
set_trouble(struct xr_follow *f, enum trouble t, int err, mode_t type)
{
	if (t != f->trouble || err != f->trouble_err ||
	    (type & S_IFMT) != f->trouble_type) {
		switch (t) {
		case TROUBLE_MISSING:
			xr_log("waiting for %s: %s", f->path, strerror(err));
			break;
		case TROUBLE_NOT_REGULAR:
			xr_log("%s is not a regular file (it is %s): it is not "
			       "read; waiting for a regular file there",
			       f->path, type_name(type));
			break;
		case TROUBLE_OPEN:
			xr_log("cannot open %s: %s; trying again with backoff",
			       f->path, strerror(err));
			break;
		case TROUBLE_READ:
			xr_log("read %s: %s; reopening it with backoff",
			       f->path, strerror(err));
			break;
		case TROUBLE_NONE:
			break;
		}
		f->trouble = t;
		f->trouble_err = err;
		f->trouble_type = type & S_IFMT;
		f->retry_us = RETRY_MIN_US;
	}
	/* A new log is waited for at every look: an open that fails is cheap. */
	if (t == TROUBLE_MISSING) {
		f->retry_at = 0;
		return;
	}
	f->retry_at = xr_now_us() + f->retry_us;
	f->retry_us = f->retry_us * 2 > RETRY_MAX_US ? RETRY_MAX_US :
						       f->retry_us * 2;
}

/* Bytes p[0, n) were read at offset at, which is where the last read ended. */
static void
remember(struct xr_follow *f, const char *p, size_t n, off_t at)
{
	if (at < HEAD_PRINT && (size_t)at == f->head_len) {
		const size_t k = n < HEAD_PRINT - (size_t)at ?
			n : HEAD_PRINT - (size_t)at;

		memcpy(f->head + at, p, k);
		f->head_len += k;
	}
	if (n >= TAIL_PRINT) {
		memcpy(f->tail, p + n - TAIL_PRINT, TAIL_PRINT);
		f->tail_len = TAIL_PRINT;
		return;
	}

	const size_t keep = f->tail_len < TAIL_PRINT - n ?
		f->tail_len : TAIL_PRINT - n;

	memmove(f->tail, f->tail + f->tail_len - keep, keep);
	memcpy(f->tail + keep, p, n);
	f->tail_len = keep + n;
}

/* Start the prints from the file, when reading starts other than at 0. */
static void
remember_from_file(struct xr_follow *f)
{
	ssize_t n;

	f->head_len = f->tail_len = 0;
	if (f->pos == 0)
		return;
	n = pread(f->fd, f->head, f->pos < HEAD_PRINT ? (size_t)f->pos :
		  HEAD_PRINT, 0);
	f->head_len = n > 0 ? (size_t)n : 0;
	f->tail_len = f->pos < TAIL_PRINT ? (size_t)f->pos : TAIL_PRINT;
	n = pread(f->fd, f->tail, f->tail_len, f->pos - (off_t)f->tail_len);
	if (n != (ssize_t)f->tail_len)
		f->tail_len = 0;
}

/* Are the n bytes at off still the bytes in print? */
static bool
same_bytes(int fd, const char *print, size_t n, off_t off)
{
	char now[TAIL_PRINT];

	return n == 0 || (pread(fd, now, n, off) == (ssize_t)n &&
			  memcmp(now, print, n) == 0);
}

/*
 * Was the file truncated in place since it was read? Either it is smaller
 * than what was read, or it was truncated and has regrown: then the bytes
 * before the read offset, or the first bytes, differ from what was read.
 */
static bool
truncated(struct xr_follow *f)
{
	struct stat st;
	const char *how;

	if (fstat(f->fd, &st) < 0)
		return false;
	if (st.st_size < f->pos)
		how = "smaller than what was read";
	else if (!same_bytes(f->fd, f->tail, f->tail_len,
			     f->pos - (off_t)f->tail_len) ||
		 !same_bytes(f->fd, f->head, f->head_len, 0))
		how = "rewritten: the bytes read are not there any more";
	else
		return false;
	xr_log("%s was truncated (%s; %lld bytes now, %lld read%s): reading "
	       "it from the start", f->path, how, (long long)st.st_size,
	       (long long)f->pos, f->len > 0 && !f->discarding ?
	       "; a partial last line is dropped, its end went with the copy" :
	       "");
	f->counters->truncations++;
	/* The end of a partial line is in the copy: as a line it would lie. */
	f->len = 0;
	f->discarding = false;
	f->pos = lseek(f->fd, 0, SEEK_SET);
	if (f->pos < 0)
		f->pos = 0;
	f->head_len = f->tail_len = 0;
	return true;
}

/* FNV-1a of the (up to) POSITION_PRINT bytes before off; false if unreadable. */
static bool
position_hash(int fd, off_t off, unsigned long long *hash)
{
	char b[POSITION_PRINT];
	size_t n = off < POSITION_PRINT ? (size_t)off : POSITION_PRINT;
	unsigned long long h = 14695981039346656037ULL;

	if (n > 0 && pread(fd, b, n, off - (off_t)n) != (ssize_t)n)
		return false;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)b[i];
		h *= 1099511628211ULL;
	}
	*hash = h;
	return true;
}

/*
 * Where to start in the file present at start-up, from the position file:
 * its saved offset if the file is the one saved and still holds the bytes
 * before it, 0 if it is another file; -1 when there is no position.
 */
static off_t
resume_offset(struct xr_follow *f, int fd, const struct stat *st)
{
	unsigned long long h;

	if (!f->resume.valid)
		return -1;
	if ((unsigned long long)st->st_dev != f->resume.dev ||
	    (unsigned long long)st->st_ino != f->resume.ino ||
	    (unsigned long long)st->st_size < f->resume.off ||
	    !position_hash(fd, (off_t)f->resume.off, &h) || h != f->resume.hash) {
		xr_log("%s is not the file of %s (rotated or rewritten since): "
		       "reading it from its start", f->path, f->position_path);
		return 0;
	}
	return (off_t)f->resume.off;
}

/* stat, open or fstat failed with errno err. */
static bool
open_failed(struct xr_follow *f, int err)
{
	set_trouble(f, err == ENOENT || err == ENOTDIR ? TROUBLE_MISSING :
		    TROUBLE_OPEN, err, 0);
	return false;
}

static bool
open_log(struct xr_follow *f)
{
	struct stat st;
	bool at_end = f->first_open && !f->from_start;
	const bool first = f->first_open;
	off_t resume = -1;
	int fd;

	/* Only what is at the name at start-up is old; anything later is new. */
	f->first_open = false;
	if (stat(f->path, &st) < 0)
		return open_failed(f, errno);
	if (!S_ISREG(st.st_mode)) {
		set_trouble(f, TROUBLE_NOT_REGULAR, 0, st.st_mode);
		return false;
	}
	fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return open_failed(f, errno);
	if (fstat(fd, &st) < 0) {
		const int err = errno;

		close(fd);
		return open_failed(f, err);
	}
	if (!S_ISREG(st.st_mode)) {
		/* The name changed between stat and open. */
		close(fd);
		set_trouble(f, TROUBLE_NOT_REGULAR, 0, st.st_mode);
		return false;
	}

	/*
	 * After a read error, the same file is read on from where it was;
	 * whether the error has gone shows at the next read.
	 */
	if (f->trouble == TROUBLE_READ && st.st_dev == f->dev &&
	    st.st_ino == f->ino && lseek(fd, f->pos, SEEK_SET) == f->pos) {
		f->fd = fd;
		return true;
	}
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->pos = 0;
	if (first)
		resume = resume_offset(f, fd, &st);
	if (resume >= 0) {
		at_end = false;
		f->pos = lseek(fd, resume, SEEK_SET);
		if (f->pos < 0)
			f->pos = 0;
	} else if (at_end) {
		f->pos = lseek(fd, 0, SEEK_END);
		if (f->pos < 0)
			f->pos = 0;
	}
	remember_from_file(f);
	f->len = 0;
	f->discarding = false;
	f->trouble = TROUBLE_NONE;
	f->retry_us = RETRY_MIN_US;
	if (resume > 0)
		xr_log("following %s (inode %lu) from byte %lld, where %s says "
		       "it was", f->path, (unsigned long)st.st_ino,
		       (long long)resume, f->position_path);
	else
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

	if (f->fd < 0 && (xr_now_us() < f->retry_at || !open_log(f)))
		return false;
	if (truncated(f))
		return true;

	for (int reads = 0; reads < READS_PER_POLL; reads++) {
		const ssize_t n = read(f->fd, f->buf + f->len, READ_CHUNK);

		if (n >= 0 && f->trouble == TROUBLE_READ) {
			xr_log("reading %s again", f->path);
			f->trouble = TROUBLE_NONE;
			f->retry_us = RETRY_MIN_US;
		}
		if (n > 0) {
			remember(f, f->buf + f->len, (size_t)n, f->pos);
			f->pos += n;
			split_lines(f, (size_t)n, fn, ctx);
			continue;
		}
		if (n == 0)
			goto at_end;
		if (errno == EINTR)
			continue;
		/*
		 * The partial line stays: the same file is read on from pos
		 * when it can be reopened.
		 */
		set_trouble(f, TROUBLE_READ, errno, 0);
		close(f->fd);
		f->fd = -1;
		return false;
	}
	return true;

at_end:
	if (truncated(f))
		return true;
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

int
xr_follow_set_position_file(struct xr_follow *f, const char *path)
{
	unsigned long long dev, ino, off, hash;
	char magic[32];
	FILE *in;

	free(f->position_path);
	f->position_path = strdup(path);
	if (f->position_path == NULL)
		return -1;
	in = fopen(path, "re");
	if (in == NULL) {
		if (errno != ENOENT)
			xr_log("%s: %s: reading the log as if there were no "
			       "position", path, strerror(errno));
		return 0;
	}
	if (fscanf(in, "%31[^\n] %llu %llu %llu %llx", magic, &dev, &ino, &off,
		   &hash) == 5 && strcmp(magic, POSITION_MAGIC) == 0) {
		f->resume = (struct position){ true, dev, ino, off, hash };
		f->saved = f->resume;
	} else {
		xr_log("%s: not a position file: reading the log as if there "
		       "were none", path);
	}
	fclose(in);
	return 0;
}

void
xr_follow_save_position(struct xr_follow *f)
{
	struct position p = { .valid = true };
	char tmp[PATH_MAX];
	struct stat st;
	FILE *out;

	if (f->position_path == NULL || f->fd < 0 || fstat(f->fd, &st) < 0)
		return;
	/* The end of the last whole line: a partial one is read again. */
	p.off = (unsigned long long)(f->pos - (off_t)f->len);
	p.dev = (unsigned long long)st.st_dev;
	p.ino = (unsigned long long)st.st_ino;
	if (f->saved.valid && p.off == f->saved.off && p.ino == f->saved.ino &&
	    p.dev == f->saved.dev)
		return;
	if (!position_hash(f->fd, (off_t)p.off, &p.hash))
		return;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", f->position_path) >= (int)sizeof(tmp))
		return;
	out = fopen(tmp, "we");
	if (out == NULL) {
		if (!f->position_failed)
			xr_log("%s: %s: the position is not saved", tmp, strerror(errno));
		f->position_failed = true;
		return;
	}
	fprintf(out, "%s\n%llu %llu %llu %llx\n", POSITION_MAGIC, p.dev, p.ino,
		p.off, p.hash);
	if (fclose(out) != 0 || rename(tmp, f->position_path) != 0) {
		if (!f->position_failed)
			xr_log("%s: %s: the position is not saved", f->position_path,
			       strerror(errno));
		f->position_failed = true;
		unlink(tmp);
		return;
	}
	f->position_failed = false;
	f->saved = p;
}
