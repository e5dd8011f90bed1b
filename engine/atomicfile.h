/* atomicfile.h - replace a file so that a crash at any instant leaves either
 * the old or the new content: temporary file in the same directory, fsync,
 * rename, fsync the directory. */
#ifndef TALLY_ATOMICFILE_H
#define TALLY_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

int atomicfile_write(const char *path, const void *data, size_t len, mode_t mode,
		     struct tally_err *err);

#endif
