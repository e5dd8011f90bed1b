/* statedir.c - every path of the state directory, its lock and log rotation
 * (see statedir.h). Paths: any thread; the lock: the engine's opener. */
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct tally_lock {
	int fd;
	char *path;
};

char *statedir_path(const char *repo_root, const char *override, const char *conf_value)
{
	if (override && *override)
		return xstrdup(override);
	const char *env = getenv("TALLY_STATE_DIR");
	if (env && *env)
		return xstrdup(env);
	if (conf_value && *conf_value) {
		if (conf_value[0] == '/')
			return xstrdup(conf_value);
		return xasprintf("%s/%s", repo_root, conf_value);
	}
	char real[PATH_MAX];
	if (!realpath(repo_root, real))
		snprintf(real, sizeof real, "%s", repo_root);
	git_oid oid;
	git_odb_hash(&oid, real, strlen(real), GIT_OBJECT_BLOB);
	char hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(hex, sizeof hex, &oid);
	hex[12] = '\0';
	const char *base = strrchr(real, '/');
	base = base && base[1] ? base + 1 : "repo";
	const char *xdg = getenv("XDG_STATE_HOME");
	if (xdg && *xdg)
		return xasprintf("%s/tally/%s-%s", xdg, base, hex);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/tmp";
	}
	return xasprintf("%s/.local/state/tally/%s-%s", home, base, hex);
}

int statedir_ensure(const char *dir, const char *group, struct tally_err *err)
{
	gid_t gid = (gid_t)-1;
	if (group) {
		struct group gr, *res = NULL;
		char buf[4096];
		if (getgrnam_r(group, &gr, buf, sizeof buf, &res) != 0 || !res)
			return tally_err_set(err, TC_INPUT, "tally.group: no group named '%s'", group);
		gid = gr.gr_gid;
	}
	char *logs = xasprintf("%s/logs", dir);
	int rc = util_mkdirs(logs, 0700, err);
	const char *dirs[] = {dir, logs};
	for (int i = 0; rc == 0 && i < 2; i++) {
		mode_t mode = group ? 02750 : 0700;
		if ((group && chown(dirs[i], (uid_t)-1, gid) < 0) || chmod(dirs[i], mode) < 0)
			rc = tally_err_set(err, TC_INPUT, "%s: cannot set its mode or group: %s", dirs[i],
					   strerror(errno));
	}
	free(logs);
	return rc;
}

/* libgit2 names the git directory with a final '/': no "//" in messages. */
static char *lock_path(const char *git_dir)
{
	size_t n = strlen(git_dir);
	while (n > 1 && git_dir[n - 1] == '/')
		n--;
	return xasprintf("%.*s/tally.lock", (int)n, git_dir);
}

int statedir_lock(const char *git_dir, const char *socket_path, struct tally_lock **out,
		  int *busy, struct tally_err *err)
{
	*busy = 0;
	char *path = lock_path(git_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		tally_err_set(err, TC_INPUT, "%s: cannot open lock: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK) {
			*busy = 1;
			long pid = 0;
			char *sock = NULL;
			statedir_lock_info(git_dir, &pid, &sock);
			tally_err_set(err, TC_INPUT,
				      "%s: another tally engine (pid %ld) controls this repo; attach to it or stop it with 'tally stop'",
				      path, pid);
			free(sock);
		} else {
			tally_err_set(err, TC_INPUT, "%s: cannot lock: %s", path, strerror(e));
		}
		free(path);
		return -1;
	}
	char info[4200];
	int n = snprintf(info, sizeof info, "pid %ld\nsocket %s\n", (long)getpid(),
			 socket_path ? socket_path : "");
	if (ftruncate(fd, 0) == 0 && n > 0)
		(void)!pwrite(fd, info, (size_t)n, 0);
	struct tally_lock *lk = xcalloc(1, sizeof *lk);
	lk->fd = fd;
	lk->path = path;
	*out = lk;
	return 0;
}

void statedir_unlock(struct tally_lock *lk)
{
	if (!lk)
		return;
	if (ftruncate(lk->fd, 0) < 0) {
		/* only informational content is lost */
	}
	close(lk->fd);
	free(lk->path);
	free(lk);
}

int statedir_lock_info(const char *git_dir, long *pid, char **socket_path)
{
	char *path = lock_path(git_dir);
	struct sbuf sb = {0};
	int rc = util_read_file(path, &sb, NULL);
	free(path);
	*pid = 0;
	*socket_path = NULL;
	if (rc < 0)
		return -1;
	char *save = NULL;
	for (char *line = strtok_r(sb.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (str_starts(line, "pid "))
			*pid = strtol(line + 4, NULL, 10);
		else if (str_starts(line, "socket "))
			*socket_path = xstrdup(line + 7);
	}
	sbuf_free(&sb);
	return 0;
}

int statedir_open_log(const char *dir, const char *name, long max)
{
	char *path = xasprintf("%s/logs/%s", dir, name);
	struct stat st;
	if (stat(path, &st) == 0 && st.st_size > max) {
		char *old = xasprintf("%s.1", path);
		if (rename(path, old) < 0 && errno != ENOENT)
			(void)unlink(path);
		free(old);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	free(path);
	return fd;
}

char *statedir_file(const char *dir, enum statedir_file f)
{
	static const char *const names[] = {
		[SF_CHECKS] = "checks.json", [SF_SCHEDULE] = "schedule.json", [SF_PAUSED] = "paused",
	};
	return xasprintf("%s/%s", dir, names[f]);
}

char *statedir_attempt_log(const char *dir, const char *component, const char *attempt)
{
	return xasprintf("%s/logs/%s/%s.log", dir, component, attempt);
}
