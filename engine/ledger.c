#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int ledger_append(const char *state_dir, json_t *entry, struct tally_err *err)
{
	char *path = xasprintf("%s/ledger.jsonl", state_dir);
	char *line = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc = -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		tally_err_set(err, TC_INTERNAL, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	struct sbuf sb = {0};
	sbuf_adds(&sb, line);
	sbuf_addc(&sb, '\n');
	ssize_t n = write(fd, sb.buf, sb.len);
	if (n < 0 || (size_t)n != sb.len || fsync(fd) < 0)
		tally_err_set(err, TC_INTERNAL, "%s: cannot append: %s", path, strerror(errno));
	else
		rc = 0;
	sbuf_free(&sb);
	close(fd);
out:
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
