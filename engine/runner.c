/* runner.c - runs one command with execve in its own process group.
 *
 * DESIGN: runner_run is called from several worker threads at once, so it
 * keeps no global state and never reaps anything but its own child
 * (waitpid(pid), no SIGCHLD handler, no wait(-1)). Everything the child
 * needs (resolved path, envp, messages) is built before fork, because
 * between fork and execve only async-signal-safe calls are allowed: another
 * thread may hold the malloc or stdio locks at the moment of fork.
 *
 * The parent waits with poll() on the output pipe, the cancel fd and a
 * pidfd for the child (a 50 ms tick when pidfds are unavailable). The run
 * ends when the pipe reached EOF and the child was reaped. A grandchild that
 * keeps the pipe open after the child exited gets LINGER_S to finish, then
 * the group is terminated like on a timeout, and after the kill the pipe is
 * abandoned after EOF_GRACE_S (a grandchild that left the group with setsid
 * cannot be killed through it and must not hang the runner). */
#include "runner_priv.h"

#include "mask.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>   /* INFINITY, isinf: macros, no libm */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define DEFAULT_GRACE_S 5.0
#define LINGER_S 1.0     /* pipe kept open by others after the child exited */
#define EOF_GRACE_S 0.5  /* after SIGKILL, how long to still wait for EOF */
#define TICK_MS 50       /* poll cap when there is no pidfd */

/* ---- PATH lookup ---- */

static int is_exec_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	return access(path, X_OK) == 0;
}

/* Is base/cand (cand alone when base is NULL or cand absolute) an
 * executable regular file? */
static int is_exec_at(const char *base, const char *cand)
{
	if (!base || cand[0] == '/')
		return is_exec_file(cand);
	char *full = xasprintf("%s/%s", base, cand);
	int ok = is_exec_file(full);
	free(full);
	return ok;
}

/* Like execvp's search: an empty PATH element means the current directory.
 * Relative candidates are checked against base (the directory the child
 * will chdir to, NULL for ours) but returned unjoined, because execve runs
 * after the chdir. */
static char *which_in(const char *prog, const char *path, const char *base)
{
	if (!prog || !*prog)
		return NULL;
	if (strchr(prog, '/'))
		return is_exec_at(base, prog) ? xstrdup(prog) : NULL;
	if (!path)
		path = DEFAULT_PATH;

	struct sbuf sb = { 0 };
	const char *p = path;
	for (;;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		sbuf_reset(&sb);
		if (len == 0)
			sbuf_adds(&sb, ".");
		else
			sbuf_add(&sb, p, len);
		sbuf_addc(&sb, '/');
		sbuf_adds(&sb, prog);
		if (is_exec_at(base, sb.buf))
			return sbuf_detach(&sb);
		if (!end)
			break;
		p = end + 1;
	}
	sbuf_free(&sb);
	return NULL;
}

char *runner_which(const char *prog)
{
	return which_in(prog, getenv("PATH"), NULL);
}

/* ---- environment ---- */

static size_t env_name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');
	return eq ? (size_t)(eq - entry) : strlen(entry);
}

static int env_same_name(const char *a, const char *b)
{
	size_t la = env_name_len(a);
	return la == env_name_len(b) && memcmp(a, b, la) == 0;
}

/* What a command inherits from tally's environment (issue 10, defect 6):
 * never everything, because tally's own holds secrets (GITHUB_TOKEN, tokens
 * of the operator's shell). These names, or prefixes ending in '*', pass;
 * GIT_* only to git; the operator adds names with tally.passEnv. Kept in
 * step with docs/tally.1 (ENVIRONMENT) and docs/decisions.md. */
static const char *const pass_always[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_*", "TZ", "TERM", "TMPDIR",
	"XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME",
	"CONTAINERS_*", "STORAGE_DRIVER", "STORAGE_OPTS", "BUILDAH_*", "REGISTRY_AUTH_FILE",
	"DOCKER_CONFIG", "SSH_AUTH_SOCK", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR",
	NULL,
};

/* Does the environ entry's name match pat ("NAME" or "PREFIX*")? */
static int env_name_matches(const char *entry, size_t nlen, const char *pat)
{
	size_t plen = strlen(pat);
	if (plen > 0 && pat[plen - 1] == '*')
		return nlen >= plen - 1 && memcmp(entry, pat, plen - 1) == 0;
	return nlen == plen && memcmp(entry, pat, plen) == 0;
}

int runner_env_passes(const char *entry, int git, char *const *pass_env)
{
	size_t nlen = env_name_len(entry);
	if (nlen == 0)
		return 0;
	for (const char *const *p = pass_always; *p; p++)
		if (env_name_matches(entry, nlen, *p))
			return 1;
	if (git && env_name_matches(entry, nlen, "GIT_*"))
		return 1;
	for (char *const *p = pass_env; p && *p; p++)
		if (env_name_matches(entry, nlen, *p))
			return 1;
	return 0;
}

/* The scrubbed environ plus env_add; later env_add entries win over
 * earlier ones and over environ. The array points into environ and env_add
 * (no copies); caller frees the array. */
static char **build_envp(const struct run_opts *opts, struct tally_err *err)
{
	char *const *env_add = opts->env_add;
	size_t ne = 0, na = 0;

	for (char **e = environ; e && *e; e++)
		ne++;
	for (char *const *a = env_add; a && *a; a++) {
		if (!strchr(*a, '=') || **a == '=') {
			tally_err_set(err, TC_INTERNAL,
			              "runner: environment entry '%s' is not NAME=value", *a);
			return NULL;
		}
		na++;
	}

	char **envp = xcalloc(ne + na + 1, sizeof *envp);
	size_t n = 0;
	for (size_t i = 0; i < ne; i++) {
		if (!runner_env_passes(environ[i], opts->git_env, opts->pass_env))
			continue;
		int overridden = 0;
		for (size_t j = 0; j < na && !overridden; j++)
			overridden = env_same_name(environ[i], env_add[j]);
		if (!overridden)
			envp[n++] = environ[i];
	}
	for (size_t j = 0; j < na; j++) {
		int later = 0;
		for (size_t k = j + 1; k < na && !later; k++)
			later = env_same_name(env_add[j], env_add[k]);
		if (!later)
			envp[n++] = env_add[j];
	}
	envp[n] = NULL;
	return envp;
}

static const char *envp_get(char *const *envp, const char *name)
{
	size_t len = strlen(name);

	for (; *envp; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

/* ---- the child (async-signal-safe only) ---- */

static void child_puts(const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(2, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* strerror is not async-signal-safe (locale), so name the likely ones. */
static void child_put_errno(int e)
{
	switch (e) {
	case ENOENT: child_puts("no such file or directory"); return;
	case EACCES: child_puts("permission denied"); return;
	case ENOTDIR: child_puts("not a directory"); return;
	case ENOEXEC: child_puts("exec format error"); return;
	case ELOOP: child_puts("too many levels of symbolic links"); return;
	case ENAMETOOLONG: child_puts("file name too long"); return;
	case E2BIG: child_puts("argument list too long"); return;
	case ENOMEM: child_puts("out of memory"); return;
	case ETXTBSY: child_puts("text file busy"); return;
	default: break;
	}
	char num[24], *p = num + sizeof num;
	unsigned u = e < 0 ? 0u : (unsigned)e;
	*--p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u && p > num);
	child_puts("errno ");
	child_puts(p);
}

struct child_args {
	const char *path;
	char *const *argv;
	char **envp;
	const char *cwd;
	int out_fd;
	int null_fd;
	pid_t parent;
};

static _Noreturn void child_main(const struct child_args *a)
{
	struct sigaction sa;

	/* Its own group, so a timeout or cancel reaches the whole tree. */
	setpgid(0, 0);
	/* If tally dies (kill -9) the command dies with it rather than running
	 * on as an orphan next to the next engine's attempt. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != a->parent)
		_exit(127);

	/* Dispositions set to SIG_IGN survive execve; the parent may ignore
	 * SIGPIPE and friends, the command must not. Handlers reset anyway,
	 * but reset all for symmetry. The mask was blocked around fork. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);   /* EINVAL for libc-reserved ones */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* The parent made sure none of these is 0, 1 or 2. */
	if (dup2(a->null_fd, 0) < 0 || dup2(a->out_fd, 1) < 0 || dup2(a->out_fd, 2) < 0)
		_exit(127);
	/* Every fd tally opens is O_CLOEXEC; this also covers libraries that
	 * forget (ignored when the kernel lacks close_range). */
	close_range(3, UINT_MAX, 0);

	if (a->cwd && chdir(a->cwd) != 0) {
		int e = errno;
		child_puts("tally: cannot change directory to '");
		child_puts(a->cwd);
		child_puts("': ");
		child_put_errno(e);
		child_puts("\n");
		_exit(127);
	}

	execve(a->path, a->argv, a->envp);
	int e = errno;
	child_puts("tally: cannot execute '");
	child_puts(a->path);
	child_puts("': ");
	child_put_errno(e);
	child_puts("\n");
	_exit(e == ENOENT ? 127 : 126);
}

/* ---- the parent ---- */

/* Moves fd to a number >= 3 (still O_CLOEXEC), so that the child's dup2
 * onto 0, 1, 2 can never hit the source fd itself. */
static int fd_above_stdio(int *fd)
{
	if (*fd > 2)
		return 0;
	int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int ms_until(double now, double when)
{
	double ms = (when - now) * 1000.0 + 0.999;   /* round up; no libm */
	if (ms <= 0)
		return 0;
	if (ms > INT_MAX)
		return INT_MAX;
	return (int)ms;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* splice mode: hand on_output the newest tail of what was spliced since
 * the last report, read back from the log file, and the count of what it
 * skipped. */
static void report_tail(const struct run_opts *opts, off_t log_start, size_t *reported,
			size_t spliced, char *buf, size_t bufsz)
{
	if (spliced <= *reported)
		return;
	size_t fresh = spliced - *reported;
	size_t want = fresh < opts->tail_bytes ? fresh : opts->tail_bytes;
	if (want > bufsz)
		want = bufsz;
	if (fresh > want)
		opts->on_output(opts->ctx, NULL, fresh - want);
	ssize_t n = pread(opts->log_fd, buf, want, log_start + (off_t)(spliced - want));
	if (n > 0)
		opts->on_output(opts->ctx, buf, (size_t)n);
	*reported = spliced;
}

int runner_run(const struct run_opts *opts, struct run_result *res, struct tally_err *err)
{
	char *path = NULL;
	char **envp = NULL;
	int pfd[2] = { -1, -1 };
	int null_fd = -1, pidfd = -1;
	int masked = 0;
	sigset_t all, old;
	pid_t pid = -1;
	struct mask *mk = NULL;    /* secrets to replace in the output */
	struct sbuf mout = {0};    /* masked output of one read */

	memset(res, 0, sizeof *res);
	if (!opts || !opts->argv || !opts->argv[0]) {
		tally_err_set(err, TC_INTERNAL, "runner: empty command");
		goto fail;
	}

	envp = build_envp(opts, err);
	if (!envp)
		goto fail;
	/* Resolve with the PATH the command will see (env_add may set it), and
	 * relative names from the directory it will run in, as execvp in the
	 * child would. */
	path = which_in(opts->argv[0], envp_get(envp, "PATH"), opts->cwd);
	if (!path) {
		/* TC_RECIPE, not TC_INTERNAL: a missing build tool is a problem
		 * of the recipe or the host that the operator fixes (install it,
		 * fix PATH or the command template), not a bug in tally. */
		if (strchr(opts->argv[0], '/'))
			tally_err_set(err, TC_RECIPE, "%s: no such executable file%s%s",
			              opts->argv[0], opts->cwd ? " in " : "", opts->cwd ? opts->cwd : "");
		else
			tally_err_set(err, TC_RECIPE, "%s: not found in PATH; install it or fix "
			              "the command", opts->argv[0]);
		goto fail;
	}

	if (opts->stdin_data) {
		int in[2];
		if (opts->stdin_len > 65536 || pipe2(in, O_CLOEXEC) != 0) {
			tally_err_set(err, TC_INTERNAL, "runner: cannot give %s its input: %s",
			              opts->argv[0], opts->stdin_len > 65536 ? "too long" : strerror(errno));
			goto fail;
		}
		/* the pipe buffer (64 KiB) holds it all; closing the write end
		 * gives the child EOF after it */
		int wok = write_all(in[1], opts->stdin_data, opts->stdin_len) == 0;
		close(in[1]);
		null_fd = in[0];
		if (!wok || fd_above_stdio(&null_fd) != 0) {
			tally_err_set(err, TC_INTERNAL, "runner: cannot give %s its input: %s",
			              opts->argv[0], strerror(errno));
			goto fail;
		}
	} else {
		null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (null_fd < 0 || fd_above_stdio(&null_fd) != 0) {
		tally_err_set(err, TC_INTERNAL, "runner: cannot open /dev/null: %s", strerror(errno));
		goto fail;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0 || fd_above_stdio(&pfd[0]) != 0 ||
	    fd_above_stdio(&pfd[1]) != 0) {
		tally_err_set(err, TC_INTERNAL, "runner: cannot create a pipe for %s: %s",
		              opts->argv[0], strerror(errno));
		goto fail;
	}

	struct child_args ca = {
		.path = path, .argv = opts->argv, .envp = envp, .cwd = opts->cwd,
		.out_fd = pfd[1], .null_fd = null_fd, .parent = getpid(),
	};

	/* Block everything across fork so that no handler of ours runs in the
	 * child before it has reset the dispositions. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	masked = 1;

	double t0 = util_monotonic();
	pid = fork();
	if (pid == 0)
		child_main(&ca);
	if (pid < 0) {
		tally_err_set(err, TC_INTERNAL, "runner: cannot start %s: fork: %s",
		              opts->argv[0], strerror(errno));
		goto fail;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	masked = 0;
	/* Also from here, so that killing the group cannot race the child's own
	 * setpgid (fails harmlessly once the child has exec'd). */
	setpgid(pid, pid);
	runner_track_begin(pid);
	close_fd(&pfd[1]);
	close_fd(&null_fd);
	free(path);
	path = NULL;
	free(envp);
	envp = NULL;

	pidfd = pidfd_open(pid, 0);   /* -1: fall back to polling waitpid */

	double grace = opts->kill_grace > 0 ? opts->kill_grace : DEFAULT_GRACE_S;
	double deadline = opts->timeout_s > 0 ? t0 + opts->timeout_s : INFINITY;
	double term_at = -1, kill_at = -1, reaped_at = -1;
	/* reaped: the child has exited (it stays a zombie until after the loop) */
	int eof = 0, reaped = 0, status = 0, log_ok = opts->log_fd >= 0;
	/* big reads: a chatty build costs fewer wake-ups (heap: threads' stacks are small) */
	size_t bufsz = 256 * 1024;
	char *buf = xmalloc(bufsz);
	/* splice mode: output moves pipe -> log file in the kernel */
	mk = mask_new(opts->mask);
	int splicing = opts->tail_bytes > 0 && log_ok && !mk &&
		       !(fcntl(opts->log_fd, F_GETFL) & O_APPEND);
	off_t log_start = splicing ? lseek(opts->log_fd, 0, SEEK_CUR) : 0;
	if (log_start < 0)
		splicing = 0;
	size_t spliced = 0, reported = 0;
	double tail_at = 0;
	fcntl(pfd[0], F_SETPIPE_SZ, 1024 * 1024);

	while (!(eof && reaped)) {
		double now = util_monotonic();

		if (term_at < 0 && !reaped && now >= deadline)
			res->timed_out = 1;
		if (term_at < 0 && (res->timed_out || res->cancelled ||
		                    (reaped && !eof && now >= reaped_at + LINGER_S))) {
			kill(-pid, SIGTERM);
			term_at = now;
		}
		if (term_at >= 0 && kill_at < 0 && now >= term_at + grace) {
			kill(-pid, SIGKILL);
			kill_at = now;
		}
		if (reaped && !eof && kill_at >= 0 && now >= kill_at + EOF_GRACE_S)
			break;   /* someone outside the group holds the pipe */

		double next = INFINITY;
		if (term_at < 0 && !reaped)
			next = deadline;
		if (term_at < 0 && reaped)
			next = reaped_at + LINGER_S;
		if (term_at >= 0 && kill_at < 0)
			next = term_at + grace;
		if (kill_at >= 0 && reaped)
			next = kill_at + EOF_GRACE_S;
		int timeout = isinf(next) ? -1 : ms_until(now, next);
		if (!reaped && pidfd < 0 && (timeout < 0 || timeout > TICK_MS))
			timeout = TICK_MS;
		if (opts->tick_ms > 0 && opts->on_output && (timeout < 0 || timeout > opts->tick_ms))
			timeout = opts->tick_ms;
		if (splicing && spliced > reported && (timeout < 0 || timeout > 50))
			timeout = 50;

		struct pollfd pf[3];
		nfds_t n = 0;
		int ip = -1, ic = -1;
		if (!eof) {
			ip = (int)n;
			pf[n++] = (struct pollfd){ .fd = pfd[0], .events = POLLIN };
		}
		if (opts->cancel_fd >= 0 && term_at < 0 && !reaped) {
			ic = (int)n;
			pf[n++] = (struct pollfd){ .fd = opts->cancel_fd, .events = POLLIN };
		}
		if (!reaped && pidfd >= 0)
			pf[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		int r = poll(pf, n, timeout);
		if (opts->tick_ms > 0 && opts->on_output)
			opts->on_output(opts->ctx, NULL, 0);
		if (r < 0 && errno != EINTR) {
			tally_err_set(err, TC_INTERNAL, "runner: poll while running %s: %s",
			              opts->argv[0], strerror(errno));
			free(buf);
			goto fail;
		}
		if (r > 0 && ip >= 0 && pf[ip].revents && splicing) {
			ssize_t got = splice(pfd[0], NULL, opts->log_fd, NULL, 4 * 1024 * 1024,
					     SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (got > 0) {
				spliced += (size_t)got;
			} else if (got == 0) {
				eof = 1;
			} else if (errno == EINVAL || errno == EBADF || errno == ESPIPE) {
				splicing = 0;   /* this fd cannot take it: copy instead */
			} else if (errno != EINTR && errno != EAGAIN) {
				res->log_errno = errno;
				splicing = 0;
				log_ok = 0;
			}
			if (opts->on_output && (eof || !splicing || util_monotonic() - tail_at >= 0.05)) {
				report_tail(opts, log_start, &reported, spliced, buf, bufsz);
				tail_at = util_monotonic();
			}
		} else if (r > 0 && ip >= 0 && pf[ip].revents) {
			ssize_t got = read(pfd[0], buf, bufsz);
			const char *data = buf;
			size_t dlen = got > 0 ? (size_t)got : 0;
			if (got <= 0 && (got == 0 || (errno != EINTR && errno != EAGAIN)))
				eof = 1;
			if (mk) {
				/* secrets never reach the log or a screen */
				sbuf_reset(&mout);
				if (dlen)
					mask_feed(mk, buf, dlen, &mout);
				if (eof)
					mask_flush(mk, &mout);
				data = sbuf_str(&mout);
				dlen = mout.len;
			}
			if (dlen) {
				if (log_ok && write_all(opts->log_fd, data, dlen) != 0) {
					res->log_errno = errno;
					log_ok = 0;   /* keep running; the caller sees log_errno */
				}
				if (opts->on_output)
					opts->on_output(opts->ctx, data, dlen);
			}
		}
		/* splice mode: what arrived reaches on_output within ~50 ms, also
		 * when no more comes */
		if (splicing && opts->on_output && spliced > reported && util_monotonic() - tail_at >= 0.05) {
			report_tail(opts, log_start, &reported, spliced, buf, bufsz);
			tail_at = util_monotonic();
		}
		if (r > 0 && ic >= 0 && pf[ic].revents)
			res->cancelled = 1;   /* readable, hung up or closed: all mean stop */
		/* The pidfd only wakes us; asking is cheap and covers the tick.
		 * WNOWAIT leaves the child a zombie until the end: that pins its
		 * pid, hence the group id, so the kills below can never reach a
		 * stranger that got the number recycled. */
		if (!reaped) {
			siginfo_t si;
			int w;
			memset(&si, 0, sizeof si);
			do
				w = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
			while (w < 0 && errno == EINTR);
			if ((w == 0 && si.si_pid == pid) || (w < 0 && errno == ECHILD)) {
				reaped = 1;
				reaped_at = util_monotonic();
			}
		}
	}

	if (splicing && opts->on_output)
		report_tail(opts, log_start, &reported, spliced, buf, bufsz);
	if (mk) {
		/* the loop can end without reading EOF (a grandchild kept the pipe) */
		sbuf_reset(&mout);
		mask_flush(mk, &mout);
		if (mout.len && log_ok && write_all(opts->log_fd, mout.buf, mout.len) != 0)
			res->log_errno = errno;
		if (mout.len && opts->on_output)
			opts->on_output(opts->ctx, mout.buf, mout.len);
	}
	mask_free(mk);
	mk = NULL;
	if (mout.buf)
		memset(mout.buf, 0, mout.cap);
	sbuf_free(&mout);
	free(buf);

	/* Now reap it (already a zombie, so this does not block). */
	pid_t pid_tracked = pid;
	pid_t w;
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	pid = -1;
	if (w < 0) {
		/* ECHILD: SIGCHLD is ignored and the kernel reaped it, so the
		 * status is unknown; report "did not exit normally" rather than
		 * a success that did not happen. */
	} else if (WIFEXITED(status)) {
		res->exited = 1;
		res->status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->status = WTERMSIG(status);
	}
	res->seconds = util_monotonic() - t0;
	close_fd(&pfd[0]);
	close_fd(&pidfd);
	runner_track_end(pid_tracked);
	return 0;

fail:
	mask_free(mk);
	sbuf_free(&mout);
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid > 0) {
		/* Never leave a child behind, nor a zombie. */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		runner_track_end(pid);
	}
	close_fd(&pfd[0]);
	close_fd(&pfd[1]);
	close_fd(&null_fd);
	close_fd(&pidfd);
	free(path);
	free(envp);
	return -1;
}
