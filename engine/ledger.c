/* ledger.c - ledger.jsonl: appends of whole lines, loading, compaction
 * (see ledger.h). Any thread may append (one O_APPEND write per line, under
 * a process-wide mutex); compaction rewrites under the same mutex. */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
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

/* ---- compaction ---------------------------------------------------------- */

static const char *sget(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

size_t ledger_select(json_t *entries, int log_keep, json_t **kept, json_t **drop_logs)
{
	if (log_keep < 1)
		log_keep = 1;
	size_t n = json_array_size(entries);
	/* the last line of an id wins: index of each id's last line */
	json_t *last = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *id = sget(json_array_get(entries, i), "id");
		if (id)
			json_object_set_new(last, id, json_integer((json_int_t)i));
	}
	/* per component, its attempts newest first */
	json_t *per = json_object();
	for (size_t i = n; i-- > 0;) {
		json_t *ent = json_array_get(entries, i);
		const char *id = sget(ent, "id"), *c = sget(ent, "component");
		if (!id || !c || json_integer_value(json_object_get(last, id)) != (json_int_t)i)
			continue;
		json_t *list = json_object_get(per, c);
		if (!list) {
			list = json_array();
			json_object_set_new(per, c, list);
		}
		json_array_append_new(list, json_integer((json_int_t)i));
	}
	/* 1: its log is kept; 2: kept for its record, its log goes */
	char *keep = xcalloc(n ? n : 1, 1);
	const char *c;
	json_t *list;
	json_object_foreach(per, c, list) {
		size_t m = json_array_size(list), picked = 0;
		for (int pass = 0; pass < 3 && picked < (size_t)log_keep; pass++) {
			for (size_t k = 0; k < m && picked < (size_t)log_keep; k++) {
				size_t i = (size_t)json_integer_value(json_array_get(list, k));
				const char *res = sget(json_array_get(entries, i), "result");
				int failed = res && strcmp(res, "failed") == 0;
				if (keep[i] || (pass == 0 && k > 0) || (pass == 1 && !failed))
					continue;
				keep[i] = 1;
				picked++;
			}
		}
	}
	json_decref(per);
	/* What a record may still need: the newest attempt of a version when
	 * it shipped but was not recorded (its evidence lets the next attempt
	 * of that version resume at record; an older one never decides, the
	 * newest attempt of a version does). And the newest shipped attempt of
	 * every component (what it built). Records themselves, and so resets,
	 * read their digests from the record commits. */
	json_t *shipped = json_object(); /* "c\nv" seen, and "c" with a shipped one seen */
	for (size_t i = n; i-- > 0;) {
		json_t *ent = json_array_get(entries, i);
		const char *id = sget(ent, "id"), *cc = sget(ent, "component"), *v = sget(ent, "version");
		if (!id || !cc || !v || json_integer_value(json_object_get(last, id)) != (json_int_t)i)
			continue;
		int is_shipped = json_is_true(json_object_get(ent, "shipped"));
		char *k = xasprintf("%s\n%s", cc, v);
		if (!json_object_get(shipped, k)) {
			json_object_set_new(shipped, k, json_true());
			if (is_shipped && !json_is_true(json_object_get(ent, "recorded")) && !keep[i])
				keep[i] = 2;
		}
		free(k);
		if (is_shipped && !json_object_get(shipped, cc)) {
			json_object_set_new(shipped, cc, json_true());
			if (!keep[i])
				keep[i] = 2;
		}
	}
	json_decref(shipped);
	*kept = json_array();
	*drop_logs = json_array();
	size_t dropped = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *ent = json_array_get(entries, i);
		const char *id = sget(ent, "id"), *log = sget(ent, "log");
		int is_last = id && json_integer_value(json_object_get(last, id)) == (json_int_t)i;
		if (is_last && keep[i])
			json_array_append(*kept, ent);
		else
			dropped++;
		/* earlier lines of an id share the last line's log */
		if (is_last && keep[i] != 1 && log)
			json_array_append_new(*drop_logs, json_string(log));
	}
	free(keep);
	json_decref(last);
	return dropped;
}

long ledger_compact(const char *state_dir, json_t **entries, int log_keep, struct tally_err *err)
{
	json_t *kept = NULL, *drop = NULL;
	size_t dropped = ledger_select(*entries, log_keep, &kept, &drop);
	if (!dropped && !json_array_size(drop)) {
		json_decref(kept);
		json_decref(drop);
		return 0;
	}
	char *path = xasprintf("%s/ledger.jsonl", state_dir);
	char *logs = xasprintf("%s/logs/", state_dir);
	long rc = 0;
	pthread_mutex_lock(&ledger_mu);
	/* the file must still be what entries were read from */
	json_t *now = NULL;
	struct tally_err rerr = {0};
	int same = ledger_load(state_dir, &now, NULL, NULL, &rerr) == 0 &&
		   json_array_size(now) == json_array_size(*entries);
	json_decref(now);
	if (dropped && same) {
		struct sbuf sb = {0};
		size_t i;
		json_t *ent;
		json_array_foreach(kept, i, ent) {
			char *line = json_dumps(ent, JSON_COMPACT | JSON_PRESERVE_ORDER);
			sbuf_adds(&sb, line);
			sbuf_addc(&sb, '\n');
			free(line);
		}
		if (atomicfile_write(path, sb.len ? sb.buf : "", sb.len, 0600, err) < 0) {
			rc = -1;
		} else {
			json_decref(*entries);
			*entries = json_incref(kept);
			rc = (long)dropped;
		}
		sbuf_free(&sb);
	} else if (dropped) {
		rc = 0; /* changed meanwhile (or unreadable): next time */
		json_array_clear(drop);
	}
	pthread_mutex_unlock(&ledger_mu);
	if (rc >= 0) {
		size_t i;
		json_t *l;
		json_array_foreach(drop, i, l) {
			const char *lp = json_string_value(l);
			/* only logs tally wrote, whatever a line says */
			if (lp && str_starts(lp, logs) && !strstr(lp, "/../"))
				unlink(lp);
		}
	}
	free(logs);
	free(path);
	json_decref(kept);
	json_decref(drop);
	return rc;
}
