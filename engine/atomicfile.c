/* atomicfile.c - replacing a file atomically (see atomicfile.h). No state;
 * any thread. */
#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashpoint.h"
#include "util.h"

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int atomicfile_write(const char *path, const void *data, size_t len, mode_t mode,
		     struct tally_err *err)
{
	char *dircopy = xstrdup(path);
	char *dir = dirname(dircopy);
	char *tmp = xasprintf("%s.tally-tmp.%ld", path, (long)getpid());
	int fd = -1, dfd = -1, rc = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		tally_err_set(err, TC_RECORD, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	/* a file that exists keeps its mode and group (an .env at 0600 stays
	 * private) */
	struct stat st;
	if (stat(path, &st) == 0) {
		if (fchmod(fd, st.st_mode & 07777) < 0 || fchown(fd, (uid_t)-1, st.st_gid) < 0) {
			/* best effort: the content matters more than the mode */
		}
	}
	/* Half the data, then a crash point: a test can kill tally mid-write. */
	size_t half = len / 2;
	if (write_all(fd, data, half) < 0)
		goto write_fail;
	crashpoint("mid-file-write");
	if (write_all(fd, (const char *)data + half, len - half) < 0 || fsync(fd) < 0)
		goto write_fail;
	if (close(fd) < 0) {
		fd = -1;
		goto write_fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		tally_err_set(err, TC_RECORD, "%s: cannot rename into place: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
	goto out;
write_fail:
	tally_err_set(err, TC_RECORD, "%s: cannot write: %s", tmp, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(dircopy);
	return rc;
}
