/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lc_file.h"

int
lc_file_open_regular(const char *path, uint64_t max_size, uint64_t *size,
		     char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	/*
	 * O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	 * writer, and hang the start. fstat then refuses everything that is
	 * not a regular file (FIFO, device, directory, socket), whatever a
	 * symbolic link on the way pointed at.
	 */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (%s)", path,
			 S_ISDIR(st.st_mode) ? "a directory" :
			 S_ISFIFO(st.st_mode) ? "a FIFO" :
			 S_ISCHR(st.st_mode) ? "a character device" :
			 S_ISBLK(st.st_mode) ? "a block device" :
			 S_ISSOCK(st.st_mode) ? "a socket" : "not a file");
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if ((uint64_t)st.st_size > max_size) {
		snprintf(err, errlen, "%s: %" PRIu64 " bytes, more than the %"
			 PRIu64 " a valid file can hold", path,
			 (uint64_t)st.st_size, max_size);
		close(fd);
		return -EFBIG;
	}
	/* Reads then block as usual: a regular file never waits anyway. */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	if (size != NULL)
		*size = (uint64_t)st.st_size;
	return fd;
}
