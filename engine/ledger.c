#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Appends are serialised in the process, so that one that fails can be
 * cut back to the size before it without cutting another thread's line. */
static pthread_mutex_t ledger_mu = PTHREAD_MUTEX_INITIALIZER;

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ledger_append(const char *state_dir, json_t *entry, struct tally_err *err)
{
	char *path = xasprintf("%s/ledger.jsonl", state_dir);
	char *line = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc = -1;
	pthread_mutex_lock(&ledger_mu);
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		tally_err_set(err, TC_INTERNAL, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		tally_err_set(err, TC_INTERNAL, "%s: cannot append: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	struct sbuf sb = {0};
	/* a torn last line (a crash mid-append elsewhere) is ended first, so
	 * that this entry is not glued to it */
	char last = '\n';
	if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
		sbuf_addc(&sb, '\n');
	sbuf_adds(&sb, line);
	sbuf_addc(&sb, '\n');
	/* Whole lines or nothing: a short write (ENOSPC, EFBIG, EIO) is cut
	 * back to the size before it. */
	if (write_all(fd, sb.buf, sb.len) < 0 || fsync(fd) < 0) {
		int e = errno;
		if (ftruncate(fd, st.st_size) < 0 || fsync(fd) < 0)
			tally_err_set(err, TC_INTERNAL, "%s: cannot append (%s), and cannot cut the partial "
				      "line back (%s); the next start skips it", path, strerror(e), strerror(errno));
		else
			tally_err_set(err, TC_INTERNAL, "%s: cannot append: %s; the entry is not in the "
				      "ledger (free space in the state directory)", path, strerror(e));
	} else {
		rc = 0;
	}
	sbuf_free(&sb);
	close(fd);
out:
	pthread_mutex_unlock(&ledger_mu);
	free(line);
	free(path);
	return rc;
}

int ledger_load(const char *state_dir, json_t **out,
		void (*warn)(void *ctx, const char *msg), void *ctx, struct tally_err *err)
{
	char *path = xasprintf("%s/ledger.jsonl", state_dir);
	struct sbuf sb = {0};
	*out = json_array();
	if (util_read_file(path, &sb, err) < 0) {
		int missing = errno == ENOENT;
		free(path);
		sbuf_free(&sb);
		if (missing)
			return 0;
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	int lineno = 0;
	char *p = sb.buf;
	while (p && *p) {
		char *eol = strchr(p, '\n');
		lineno++;
		if (eol)
			*eol = '\0';
		json_error_t jerr;
		json_t *obj = *p ? json_loads(p, 0, &jerr) : NULL;
		if (obj && json_is_object(obj) && json_is_string(json_object_get(obj, "id"))) {
			json_array_append_new(*out, obj);
		} else if (*p) {
			json_decref(obj);
			if (warn) {
				char *msg = xasprintf("%s:%d: skipping malformed ledger line%s", path, lineno,
						      eol ? "" : " (torn write at end of file)");
				warn(ctx, msg);
				free(msg);
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	sbuf_free(&sb);
	free(path);
	return 0;
}
