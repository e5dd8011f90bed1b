/* hostname.c - this build host's name (see hostname.h): $TALLY_HOST, the
 * clone's local tally.host, or gethostname() up to its first dot. No
 * threads, no state. */
#include "hostname.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int host_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > HOST_NAME_MAXLEN || !isalnum((unsigned char)name[0]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (!(isalnum(ch) || ch == '.' || ch == '_' || ch == '-') || ch > 127)
			return 0;
	}
	return 1;
}

static int bad_name(const char *name, const char *where, struct tally_err *err)
{
	return tally_err_set(err, TC_INPUT,
			     "%s: \"%s\" is not a usable host name; use 1 to %d letters, digits, '.', '_' "
			     "and '-', starting with a letter or digit",
			     where, name, HOST_NAME_MAXLEN);
}

/* tally.host in the repository's own config file (.git/config), or NULL */
static char *local_host(git_repository *repo)
{
	git_config *cfg = NULL, *local = NULL;
	char *v = NULL;
	if (git_repository_config(&cfg, repo) < 0)
		return NULL;
	if (git_config_open_level(&local, cfg, GIT_CONFIG_LEVEL_LOCAL) == 0) {
		git_buf b = {0};
		if (git_config_get_string_buf(&b, local, "tally.host") == 0) {
			v = xstrdup(b.ptr);
			git_buf_dispose(&b);
		}
		git_config_free(local);
	}
	git_config_free(cfg);
	return v;
}

int host_name_resolve(git_repository *repo, char **out, int *named, struct tally_err *err)
{
	*out = NULL;
	int dummy;
	if (!named)
		named = &dummy;
	*named = 1;
	const char *env = getenv("TALLY_HOST");
	if (env && *env) {
		if (!host_name_ok(env))
			return bad_name(env, "$TALLY_HOST", err);
		*out = xstrdup(env);
		return 0;
	}
	char *v = repo ? local_host(repo) : NULL;
	if (v) {
		if (!host_name_ok(v)) {
			char *where = xasprintf("%sconfig: tally.host", git_repository_path(repo));
			bad_name(v, where, err);
			free(where);
			free(v);
			return -1;
		}
		*out = v;
		return 0;
	}
	*named = 0;
	char h[256] = {0};
	if (gethostname(h, sizeof h - 1) < 0 || !*h)
		snprintf(h, sizeof h, "localhost");
	char *dot = strchr(h, '.');
	if (dot)
		*dot = '\0';
	if (!host_name_ok(h))
		return tally_err_set(err, TC_INPUT,
				     "the host name \"%s\" is not a usable tally host name; set $TALLY_HOST or "
				     "git config tally.host NAME in the clone (letters, digits, '.', '_', '-')",
				     h);
	*out = xstrdup(h);
	return 0;
}
