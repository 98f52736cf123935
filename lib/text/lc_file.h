/* SPDX-License-Identifier: MIT */
/*
 * Files that linecap reads whole, as operators hand them over: the config
 * file and the users file.
 */
#ifndef LC_FILE_H
#define LC_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Open a file that linecapd reads whole (the config file, the users file):
 * without blocking on a FIFO, and refusing anything that is not a regular
 * file or holds more than max_size bytes, with a message that names the
 * file and what it is. Returns the descriptor (O_CLOEXEC, blocking), its
 * size in *size (if size), or -errno: ENOENT and the like from open(),
 * EISDIR, EINVAL (FIFO, device, socket) or EFBIG.
 */
int lc_file_open_regular(const char *path, uint64_t max_size, uint64_t *size,
			 char *err, size_t errlen);

#endif /* LC_FILE_H */
