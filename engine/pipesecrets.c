/* pipesecrets.c - build secrets (SPEC section 4): files holding the
 * values while the build runs, the values masked in every command's
 * output, and the sweep of files a stopped engine left. Runs on the
 * attempt's worker thread (pipe_*) or at engine start (the sweep). */
#include "pipeline_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"

/* ---- build secrets ---------------------------------------------------- */

static void wipe_str(char *s)
{
	volatile char *p = s;
	while (p && *p)
		*p++ = 0;
}

/* Removes the secret files and their directory, and the {secret:ID}
 * variables; the values stay for masking until the attempt ends. */
void pipe_secrets_remove(struct ctx *c)
{
	for (size_t i = 0; i < c->secret_files.n; i++)
		unlink(c->secret_files.v[i]);
	if (c->secret_dir)
		rmdir(c->secret_dir);
	strv_free(&c->secret_files);
	free(c->secret_dir);
	c->secret_dir = NULL;
	while (c->nvars && str_starts(c->vars[c->nvars - 1].name, "secret:"))
		c->nvars--;
}

/* Resolves every secret (an unset variable or unreadable file is an input
 * error, before anything is built), writes each to a 0600 file in the
 * attempt's own 0700 directory, and adds {secret:ID} for the build. */
int pipe_secrets_prepare(struct ctx *c)
{
	struct attempt *a = c->a;
	const struct comp_conf *cc = a->cc;
	if (!cc->secrets.n)
		return 0;
	c->secret_dir = xasprintf("%s/logs/%s/%s.secrets", a->state_dir, cc->name, a->id);
	if (mkdir(c->secret_dir, 0700) < 0 && errno != EEXIST) {
		pipe_fail(c, TC_INTERNAL, "cannot make %s for the build secrets: %s", c->secret_dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < cc->secrets.n; i++) {
		char *id = NULL, *src = NULL, why[512];
		int from_env = 0;
		if (config_secret_parse(cc->secrets.v[i], &id, &from_env, &src, why, sizeof why) < 0) {
			pipe_fail(c, TC_INPUT, "component.%s.secret: %s", cc->name, why);
			goto fail;
		}
		struct sbuf val = {0};
		int ok = 1;
		if (from_env) {
			const char *v = getenv(src);
			if (!v || !*v) {
				pipe_fail(c, TC_INPUT, "component.%s.secret %s: $%s is not set in tally's environment; "
				     "set it for the engine (e.g. Environment= in its unit), nothing was built",
				     cc->name, id, src);
				ok = 0;
			} else {
				sbuf_adds(&val, v);
			}
		} else {
			char *path = src[0] == '/' ? xstrdup(src) : xasprintf("%s/%s", a->repo_dir, src);
			struct tally_err rerr = {0};
			if (util_read_file(path, &val, &rerr) < 0) {
				pipe_fail(c, TC_INPUT, "component.%s.secret %s: cannot read %s (%s); nothing was built",
				     cc->name, id, path, strerror(errno));
				ok = 0;
			}
			free(path);
		}
		char *file = ok ? xasprintf("%s/%s", c->secret_dir, id) : NULL;
		int fd = ok ? open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
		if (ok && (fd < 0 || write(fd, val.buf ? val.buf : "", val.len) != (ssize_t)val.len)) {
			pipe_fail(c, TC_INTERNAL, "cannot write the build secret %s: %s", id, strerror(errno));
			ok = 0;
		}
		if (fd >= 0)
			close(fd);
		if (file)
			strv_push_owned(&c->secret_files, file);
		if (ok) {
			/* masked without its final newline (a file usually has one,
			 * what the build prints usually does not) */
			size_t keep = val.len;
			while (keep && (val.buf[keep - 1] == '\n' || val.buf[keep - 1] == '\r'))
				keep--;
			if (keep) {
				char *v = xstrndup(val.buf, keep);
				strv_push(&c->secret_vals, v);
				wipe_str(v);
				free(v);
			}
			strv_push_owned(&c->secret_names, xasprintf("secret:%s", id));
			c->vars[c->nvars++] = (struct tvar){c->secret_names.v[c->secret_names.n - 1],
							    c->secret_files.v[c->secret_files.n - 1]};
		}
		if (val.buf)
			memset(val.buf, 0, val.cap);
		sbuf_free(&val);
		free(id);
		free(src);
		if (!ok)
			goto fail;
	}
	return 0;
fail:
	pipe_secrets_remove(c);
	return -1;
}

void pipe_secrets_free(struct ctx *c)
{
	pipe_secrets_remove(c);
	for (size_t i = 0; i < c->secret_vals.n; i++)
		wipe_str(c->secret_vals.v[i]);
	strv_free(&c->secret_vals);
	strv_free(&c->secret_names);
}

void pipeline_sweep_secrets(const char *state_dir, struct strv *report)
{
	char *logs = xasprintf("%s/logs", state_dir);
	DIR *d = opendir(logs);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *comp = xasprintf("%s/%s", logs, de->d_name);
		DIR *cd = opendir(comp);
		struct dirent *ce;
		while (cd && (ce = readdir(cd))) {
			if (!str_ends(ce->d_name, ".secrets"))
				continue;
			char *dir = xasprintf("%s/%s", comp, ce->d_name);
			DIR *sd = opendir(dir);
			struct dirent *se;
			while (sd && (se = readdir(sd)))
				if (se->d_name[0] != '.') {
					char *f = xasprintf("%s/%s", dir, se->d_name);
					unlink(f);
					free(f);
				}
			if (sd)
				closedir(sd);
			if (rmdir(dir) == 0 && report)
				strv_push_owned(report, xasprintf("%s: removed build secrets left by a stopped engine", dir));
			free(dir);
		}
		if (cd)
			closedir(cd);
		free(comp);
	}
	if (d)
		closedir(d);
	free(logs);
}

