/* test_runner.c - the command runner: exit status, output capture, env,
 * cwd, timeouts and cancel killing the whole group, fd hygiene.
 *
 * Some tests use /bin/sh as the program under test; tally itself never runs
 * a shell. Time bounds are generous so a loaded machine does not fail them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runner.h"
#include "util.h"

/* Collects on_output chunks. */
static void collect(void *ctx, const char *data, size_t len)
{
	sbuf_add(ctx, data, len);
}

static int tmp_log(void)
{
	char path[] = "/tmp/tally-runner-log-XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);
	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

/* Reads the whole log fd from the start. */
static void read_log(int fd, struct sbuf *out)
{
	char buf[65536];
	off_t off = 0;
	ssize_t n;

	sbuf_reset(out);
	while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
		sbuf_add(out, buf, (size_t)n);
		off += n;
	}
	assert_true(n == 0);
}

static struct run_opts base_opts(char *const *argv)
{
	struct run_opts o = {
		.argv = argv, .log_fd = -1, .cancel_fd = -1,
	};
	return o;
}

/* Runs argv, returns output (on_output) in out; asserts it started. */
static void run_ok(struct run_opts *o, struct run_result *res, struct sbuf *out)
{
	struct tally_err err = { 0 };

	sbuf_reset(out);
	o->on_output = collect;
	o->ctx = out;
	int rc = runner_run(o, res, &err);
	if (rc != 0)
		fail_msg("runner_run: %s", err.msg);
}

/* ---- runner_which ---- */

static void test_which(void **state)
{
	(void)state;
	char *p = runner_which("sh");
	assert_non_null(p);
	assert_true(p[0] == '/');
	assert_true(str_ends(p, "/sh"));
	assert_int_equal(access(p, X_OK), 0);
	free(p);

	p = runner_which("/bin/true");
	assert_string_equal(p, "/bin/true");
	free(p);

	assert_null(runner_which("tally-no-such-program-xyz"));
	assert_null(runner_which("/tmp"));            /* a directory */
	char plain[] = "/tmp/tally-runner-plain-XXXXXX";
	int pfd = mkostemp(plain, O_CLOEXEC);   /* mode 0600: not executable */
	assert_true(pfd >= 0);
	close(pfd);
	assert_null(runner_which(plain));
	unlink(plain);
	assert_null(runner_which(""));

	/* PATH unset: the default list. */
	char *saved = xstrdup(getenv("PATH"));
	unsetenv("PATH");
	p = runner_which("true");
	assert_non_null(p);
	assert_true(strcmp(p, "/usr/bin/true") == 0 || strcmp(p, "/bin/true") == 0);
	free(p);
	setenv("PATH", "/nonexistent:/bin", 1);
	p = runner_which("true");
	assert_string_equal(p, "/bin/true");
	free(p);
	setenv("PATH", saved, 1);
	free(saved);
}

/* ---- exit status and output ---- */

static void test_exit_status(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;

	char *t[] = { "true", NULL };
	struct run_opts o = base_opts(t);
	run_ok(&o, &res, &out);
	assert_int_equal(res.exited, 1);
	assert_int_equal(res.status, 0);
	assert_int_equal(res.timed_out, 0);
	assert_int_equal(res.cancelled, 0);
	assert_true(res.seconds >= 0 && res.seconds < 10);

	char *f[] = { "false", NULL };
	o = base_opts(f);
	run_ok(&o, &res, &out);
	assert_int_equal(res.exited, 1);
	assert_int_equal(res.status, 1);

	char *s[] = { "/bin/sh", "-c", "exit 7", NULL };
	o = base_opts(s);
	run_ok(&o, &res, &out);
	assert_int_equal(res.exited, 1);
	assert_int_equal(res.status, 7);

	/* Killed by a signal: exited 0, status the signal. */
	char *k[] = { "/bin/sh", "-c", "kill -USR1 $$", NULL };
	o = base_opts(k);
	run_ok(&o, &res, &out);
	assert_int_equal(res.exited, 0);
	assert_int_equal(res.status, SIGUSR1);
	sbuf_free(&out);
}

static void test_output_order(void **state)
{
	(void)state;
	struct sbuf out = { 0 }, log = { 0 };
	struct run_result res;
	int fd = tmp_log();

	char *a[] = { "/bin/sh", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2", NULL };
	struct run_opts o = base_opts(a);
	o.log_fd = fd;
	run_ok(&o, &res, &out);
	assert_int_equal(res.status, 0);
	assert_int_equal(res.log_errno, 0);
	assert_string_equal(sbuf_str(&out), "out1\nerr1\nout2\nerr2\n");
	read_log(fd, &log);
	assert_string_equal(sbuf_str(&log), "out1\nerr1\nout2\nerr2\n");

	/* stdin is /dev/null: cat ends at once with nothing. */
	char *c[] = { "cat", NULL };
	o = base_opts(c);
	run_ok(&o, &res, &out);
	assert_int_equal(res.exited, 1);
	assert_int_equal(res.status, 0);
	assert_int_equal(out.len, 0);

	close(fd);
	sbuf_free(&out);
	sbuf_free(&log);
}

static void test_large_output(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;
	int fd = tmp_log();

	char *a[] = { "head", "-c", "10000000", "/dev/zero", NULL };
	struct run_opts o = base_opts(a);
	o.log_fd = fd;
	run_ok(&o, &res, &out);
	assert_int_equal(res.exited, 1);
	assert_int_equal(res.status, 0);
	assert_int_equal(out.len, 10000000);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 10000000);
	close(fd);
	sbuf_free(&out);
}

static void test_log_write_error(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);   /* writes fail: EBADF */
	assert_true(fd >= 0);

	char *a[] = { "/bin/sh", "-c", "echo hello; exit 3", NULL };
	struct run_opts o = base_opts(a);
	o.log_fd = fd;
	run_ok(&o, &res, &out);
	assert_int_equal(res.status, 3);
	assert_int_equal(res.log_errno, EBADF);
	assert_string_equal(sbuf_str(&out), "hello\n");
	close(fd);
	sbuf_free(&out);
}

/* ---- argv, env, cwd ---- */

static void test_argv_verbatim(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;

	char *a[] = { "/usr/bin/printf", "%s\\n", "two words", "it's \"quoted\"",
	              "a; rm -rf /", "$(echo no) `x` $HOME *", "", NULL };
	struct run_opts o = base_opts(a);
	run_ok(&o, &res, &out);
	assert_int_equal(res.status, 0);
	assert_string_equal(sbuf_str(&out),
	                    "two words\nit's \"quoted\"\na; rm -rf /\n$(echo no) `x` $HOME *\n\n");
	sbuf_free(&out);
}

static int count_lines_with_prefix(const char *text, const char *prefix)
{
	int n = 0;
	size_t len = strlen(prefix);
	for (const char *p = text; p && *p;) {
		if (strncmp(p, prefix, len) == 0)
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

static void test_env(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;

	setenv("TALLY_TEST_KEEP", "kept", 1);
	setenv("TALLY_TEST_OVER", "original", 1);
	char *env_add[] = { "TALLY_COMPONENT=server", "TALLY_TEST_OVER=new value",
	                    "TALLY_TEST_TWICE=first", "TALLY_TEST_TWICE=second", NULL };
	char *pass[] = { "TALLY_TEST_KEEP", "TALLY_TEST_O*", NULL };
	char *a[] = { "env", NULL };
	struct run_opts o = base_opts(a);
	o.env_add = env_add;
	o.pass_env = pass;
	run_ok(&o, &res, &out);
	assert_int_equal(res.status, 0);
	const char *s = sbuf_str(&out);
	assert_non_null(strstr(s, "TALLY_TEST_KEEP=kept\n"));
	assert_non_null(strstr(s, "TALLY_COMPONENT=server\n"));
	assert_non_null(strstr(s, "TALLY_TEST_OVER=new value\n"));
	assert_int_equal(count_lines_with_prefix(s, "TALLY_TEST_OVER="), 1);
	assert_non_null(strstr(s, "TALLY_TEST_TWICE=second\n"));
	assert_int_equal(count_lines_with_prefix(s, "TALLY_TEST_TWICE="), 1);

	/* The parent's environment is untouched. */
	assert_string_equal(getenv("TALLY_TEST_OVER"), "original");

	/* A malformed entry is refused before anything runs. */
	char *bad[] = { "NOEQUALS", NULL };
	struct tally_err err = { 0 };
	o.env_add = bad;
	assert_int_equal(runner_run(&o, &res, &err), -1);
	assert_non_null(strstr(err.msg, "NOEQUALS"));
	sbuf_free(&out);
}

/* issue 10, defect 6: tally's own environment does not reach commands,
 * only the allow-list, GIT_* for git, and what the operator lists. */
static void test_env_scrubbed(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;

	setenv("GITHUB_TOKEN", "ghp_secret_token_value", 1);
	setenv("TALLY_TEST_SECRET", "s3cr3t", 1);
	setenv("GIT_TEST_VAR", "g", 1);
	setenv("LC_TEST_X", "lc", 1);
	setenv("BUILDAH_TEST_X", "b", 1);
	char *a[] = { "env", NULL };
	struct run_opts o = base_opts(a);
	run_ok(&o, &res, &out);
	const char *s = sbuf_str(&out);
	assert_null(strstr(s, "ghp_secret_token_value"));
	assert_null(strstr(s, "s3cr3t"));
	assert_null(strstr(s, "GIT_TEST_VAR="));
	assert_non_null(strstr(s, "PATH="));
	assert_non_null(strstr(s, "LC_TEST_X=lc\n"));
	assert_non_null(strstr(s, "BUILDAH_TEST_X=b\n"));

	/* git commands get GIT_*, still no token */
	sbuf_reset(&out);
	o.git_env = 1;
	run_ok(&o, &res, &out);
	s = sbuf_str(&out);
	assert_non_null(strstr(s, "GIT_TEST_VAR=g\n"));
	assert_null(strstr(s, "ghp_secret_token_value"));

	/* the operator may list it (tally.passEnv) */
	sbuf_reset(&out);
	char *pass[] = { "GITHUB_TOKEN", NULL };
	o.pass_env = pass;
	run_ok(&o, &res, &out);
	assert_non_null(strstr(sbuf_str(&out), "GITHUB_TOKEN=ghp_secret_token_value\n"));
	assert_int_equal(runner_env_passes("GITHUB_TOKEN=x", 1, NULL), 0);
	assert_int_equal(runner_env_passes("LC_ALL=C", 0, NULL), 1);
	assert_int_equal(runner_env_passes("PATHX=1", 0, NULL), 0);
	unsetenv("GITHUB_TOKEN");
	unsetenv("TALLY_TEST_SECRET");
	unsetenv("GIT_TEST_VAR");
	sbuf_free(&out);
}

/* issue 10, defect 4: a recorded group is ended only when it really is the
 * one recorded (pid reuse: another start time is left alone). */
static unsigned long long start_of(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')') + 2;
	for (int field = 3; field < 22; field++)
		p = strchr(p, ' ') + 1;
	return strtoull(p, NULL, 10);
}

static int alive_not_zombie(pid_t pid)
{
	int st;
	return waitpid(pid, &st, WNOHANG) == 0;
}

/* runner_track_start in a process started after the group (as a new
 * engine is); its exit status is the number of groups it reported */
static int track_in_new_process(const char *dir)
{
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		struct strv report = {0};
		struct tally_err err = {0};
		if (runner_track_start(dir, &report, &err) < 0)
			_exit(100);
		if (report.n == 1 && !strstr(report.v[0], "left-over"))
			_exit(101);
		_exit((int)report.n);
	}
	int st = 0;
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_track_leftovers(void **state)
{
	(void)state;
	char dir[] = "/tmp/tally-track-XXXXXX";
	assert_non_null(mkdtemp(dir));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	usleep(100000);
	char boot[64] = "";
	FILE *b = fopen("/proc/sys/kernel/random/boot_id", "r");
	assert_non_null(b);
	assert_non_null(fgets(boot, sizeof boot, b));
	fclose(b);
	boot[strcspn(boot, "\n")] = '\0';
	char *procs = xasprintf("%s/procs", dir);
	mkdir(procs, 0700);
	char *rec = xasprintf("%s/%ld", procs, (long)pid);

	/* another start time: not ours, left alone */
	FILE *f = fopen(rec, "w");
	fprintf(f, "%ld %llu %s\n", (long)pid, start_of(pid) + 7, boot);
	fclose(f);
	assert_int_equal(track_in_new_process(dir), 0);
	assert_true(alive_not_zombie(pid));
	assert_int_equal(access(rec, F_OK), -1);   /* the stale record is gone */

	/* the recorded one: ended and reported */
	f = fopen(rec, "w");
	fprintf(f, "%ld %llu %s\n", (long)pid, start_of(pid), boot);
	fclose(f);
	/* ... but not by an engine older than the group (pid reuse) */
	struct strv report = {0};
	struct tally_err err = {0};
	assert_int_equal(runner_track_start(dir, &report, &err), 0);
	assert_true(alive_not_zombie(pid));
	assert_int_equal(report.n, 0);
	runner_track_stop();
	f = fopen(rec, "w");
	fprintf(f, "%ld %llu %s\n", (long)pid, start_of(pid), boot);
	fclose(f);
	assert_int_equal(track_in_new_process(dir), 1);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(runner_track_start(dir, &report, &err), 0);   /* tracking, for below */

	/* while tracking, a running command has its file, removed at the end */
	char *a[] = { "sh", "-c", "ls \"$0\"", procs, NULL };
	struct run_opts o = base_opts(a);
	struct sbuf out = { 0 };
	struct run_result res;
	run_ok(&o, &res, &out);
	assert_true(out.len > 0);   /* its own pgid file was there */
	assert_int_equal(rmdir(procs), 0);   /* and is gone: the dir is empty */
	runner_track_stop();
	sbuf_free(&out);
	strv_free(&report);
	free(rec);
	free(procs);
	rmdir(dir);
}

static void test_cwd(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;
	char tmpl[] = "/tmp/tally-runner-cwd-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char real[PATH_MAX];
	assert_non_null(realpath(tmpl, real));

	char *a[] = { "/bin/pwd", "-P", NULL };
	struct run_opts o = base_opts(a);
	o.cwd = real;
	run_ok(&o, &res, &out);
	assert_int_equal(res.status, 0);
	char *want = xasprintf("%s\n", real);
	assert_string_equal(sbuf_str(&out), want);
	free(want);

	/* A relative program is found and run from the new cwd, not ours. */
	char *script = xasprintf("%s/run.sh", real);
	FILE *f = fopen(script, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\necho script in \"$(pwd -P)\"\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(script, 0755), 0);
	char *b[] = { "./run.sh", NULL };
	o = base_opts(b);
	o.cwd = real;
	run_ok(&o, &res, &out);
	assert_int_equal(res.status, 0);
	want = xasprintf("script in %s\n", real);
	assert_string_equal(sbuf_str(&out), want);
	free(want);
	struct tally_err err = { 0 };
	o.cwd = NULL;
	assert_int_equal(runner_run(&o, &res, &err), -1);   /* not in our cwd */
	assert_int_equal(unlink(script), 0);
	free(script);

	/* A directory that is gone: exit 127 and a message in the output. */
	assert_int_equal(rmdir(real), 0);
	o = base_opts(a);
	o.cwd = real;
	run_ok(&o, &res, &out);
	assert_int_equal(res.exited, 1);
	assert_int_equal(res.status, 127);
	assert_non_null(strstr(sbuf_str(&out), "cannot change directory"));
	assert_non_null(strstr(sbuf_str(&out), real));
	sbuf_free(&out);
}

static void test_not_found(void **state)
{
	(void)state;
	struct run_result res;
	struct tally_err err = { 0 };

	char *a[] = { "buildah-not-installed-xyz", "build", NULL };
	struct run_opts o = base_opts(a);
	assert_int_equal(runner_run(&o, &res, &err), -1);
	assert_int_equal(err.cls, TC_RECIPE);
	assert_non_null(strstr(err.msg, "buildah-not-installed-xyz: not found in PATH"));

	char *b[] = { "/nonexistent/bin/tool", NULL };
	o = base_opts(b);
	assert_int_equal(runner_run(&o, &res, &err), -1);
	assert_int_equal(err.cls, TC_RECIPE);
	assert_non_null(strstr(err.msg, "/nonexistent/bin/tool"));

	/* env_add's PATH is the one searched (the child would see it). */
	char *path_add[] = { "PATH=/nonexistent", NULL };
	char *c[] = { "true", NULL };
	o = base_opts(c);
	o.env_add = path_add;
	assert_int_equal(runner_run(&o, &res, &err), -1);
	assert_int_equal(err.cls, TC_RECIPE);

	char *none[] = { NULL };
	o = base_opts(none);
	assert_int_equal(runner_run(&o, &res, &err), -1);
}

/* ---- fds ---- */

static void test_no_fd_leak(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;
	int log = tmp_log();   /* O_CLOEXEC, and the runner's pipe must not leak either */
	int cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int plain = open("/dev/null", O_RDONLY);   /* a careless library's fd */
	assert_true(cloexec >= 0 && plain >= 0);

	char *a[] = { "/bin/ls", "/proc/self/fd", NULL };
	struct run_opts o = base_opts(a);
	o.log_fd = log;
	run_ok(&o, &res, &out);
	assert_int_equal(res.status, 0);
	/* 0 1 2, and 3 is ls's own handle on the directory. */
	assert_string_equal(sbuf_str(&out), "0\n1\n2\n3\n");

	/* stdin is /dev/null. */
	char *b[] = { "/usr/bin/readlink", "/proc/self/fd/0", NULL };
	o = base_opts(b);
	run_ok(&o, &res, &out);
	assert_string_equal(sbuf_str(&out), "/dev/null\n");

	close(plain);
	close(cloexec);
	close(log);
	sbuf_free(&out);
}

/* ---- timeout and cancel ---- */

/* The grandchild was reparented to us (subreaper, see main): it must be
 * gone or a zombie killed by a signal. Reaps it. */
static void assert_killed(pid_t gpid)
{
	for (int i = 0; i < 100; i++) {
		int st;
		pid_t w = waitpid(gpid, &st, WNOHANG);
		if (w == gpid) {
			assert_true(WIFSIGNALED(st));
			assert_int_equal(kill(gpid, 0), -1);
			assert_int_equal(errno, ESRCH);
			return;
		}
		if (w < 0 && errno == ECHILD) {
			/* Not ours: then it must simply not exist. */
			assert_int_equal(kill(gpid, 0), -1);
			assert_int_equal(errno, ESRCH);
			return;
		}
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	fail_msg("grandchild %d still alive", (int)gpid);
}

static void test_timeout(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;

	char *a[] = { "sleep", "30", NULL };
	struct run_opts o = base_opts(a);
	o.timeout_s = 1;
	o.kill_grace = 0.5;
	double t0 = util_monotonic();
	run_ok(&o, &res, &out);
	double took = util_monotonic() - t0;
	assert_int_equal(res.timed_out, 1);
	assert_int_equal(res.cancelled, 0);
	assert_int_equal(res.exited, 0);
	assert_int_equal(res.status, SIGTERM);
	assert_true(took >= 0.9 && took < 10);
	assert_true(res.seconds >= 0.9 && res.seconds < 10);
	sbuf_free(&out);
}

static void test_timeout_kills_group(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;

	char *a[] = { "/bin/sh", "-c", "sleep 30 & echo $!; sleep 30", NULL };
	struct run_opts o = base_opts(a);
	o.timeout_s = 1;
	o.kill_grace = 0.5;
	double t0 = util_monotonic();
	run_ok(&o, &res, &out);
	assert_true(util_monotonic() - t0 < 10);
	assert_int_equal(res.timed_out, 1);
	pid_t gpid = (pid_t)atoi(sbuf_str(&out));
	assert_true(gpid > 1);
	assert_killed(gpid);
	sbuf_free(&out);
}

static void test_timeout_sigkill(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;

	char *a[] = { "/bin/sh", "-c", "trap '' TERM; echo ready; sleep 30", NULL };
	struct run_opts o = base_opts(a);
	o.timeout_s = 1;
	o.kill_grace = 0.5;
	double t0 = util_monotonic();
	run_ok(&o, &res, &out);
	double took = util_monotonic() - t0;
	assert_int_equal(res.timed_out, 1);
	assert_int_equal(res.exited, 0);
	assert_int_equal(res.status, SIGKILL);
	assert_true(took >= 1.4 && took < 10);
	assert_string_equal(sbuf_str(&out), "ready\n");
	sbuf_free(&out);
}

/* The child exits but leaves a grandchild holding the pipe: the runner
 * must not wait for it until the timeout. */
static void test_lingering_grandchild(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;

	char *a[] = { "/bin/sh", "-c", "sleep 30 & echo $!; exit 4", NULL };
	struct run_opts o = base_opts(a);
	o.timeout_s = 60;
	o.kill_grace = 0.5;
	double t0 = util_monotonic();
	run_ok(&o, &res, &out);
	assert_true(util_monotonic() - t0 < 10);
	assert_int_equal(res.exited, 1);
	assert_int_equal(res.status, 4);
	assert_int_equal(res.timed_out, 0);
	pid_t gpid = (pid_t)atoi(sbuf_str(&out));
	assert_true(gpid > 1);
	assert_killed(gpid);
	sbuf_free(&out);
}

static void test_cancel_before(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(write(p[1], "x", 1), 1);

	char *a[] = { "sleep", "30", NULL };
	struct run_opts o = base_opts(a);
	o.cancel_fd = p[0];
	o.kill_grace = 0.5;
	double t0 = util_monotonic();
	run_ok(&o, &res, &out);
	assert_true(util_monotonic() - t0 < 10);
	assert_int_equal(res.cancelled, 1);
	assert_int_equal(res.timed_out, 0);
	assert_int_equal(res.exited, 0);
	close(p[0]);
	close(p[1]);
	sbuf_free(&out);
}

struct delayed_write {
	int fd;
	pthread_t th;
};

static void *delayed_write_main(void *arg)
{
	struct delayed_write *dw = arg;
	struct timespec ts = { 0, 300 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	if (write(dw->fd, "x", 1) != 1)
		abort();
	return NULL;
}

static void test_cancel_during(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);

	char *a[] = { "/bin/sh", "-c", "sleep 30 & echo $!; sleep 30", NULL };
	struct run_opts o = base_opts(a);
	o.cancel_fd = p[0];
	o.timeout_s = 60;
	o.kill_grace = 0.5;
	struct delayed_write dw = { .fd = p[1] };
	assert_int_equal(pthread_create(&dw.th, NULL, delayed_write_main, &dw), 0);
	double t0 = util_monotonic();
	run_ok(&o, &res, &out);
	assert_true(util_monotonic() - t0 < 10);
	pthread_join(dw.th, NULL);
	assert_int_equal(res.cancelled, 1);
	assert_int_equal(res.timed_out, 0);
	assert_int_equal(res.exited, 0);
	assert_int_equal(res.status, SIGTERM);
	assert_killed((pid_t)atoi(sbuf_str(&out)));
	close(p[0]);
	close(p[1]);
	sbuf_free(&out);
}

/* ---- concurrency ---- */

struct par {
	pthread_t th;
	char env[64];
	struct sbuf out;
	struct run_result res;
	int rc;
};

static void *par_main(void *arg)
{
	struct par *p = arg;
	char *env_add[] = { p->env, NULL };
	char *a[] = { "/bin/sh", "-c", "sleep 0.2; echo \"$TALLY_PAR\"; exit 5", NULL };
	struct run_opts o = {
		.argv = a, .env_add = env_add, .log_fd = -1, .cancel_fd = -1,
		.timeout_s = 30, .on_output = collect, .ctx = &p->out,
	};
	struct tally_err err;
	p->rc = runner_run(&o, &p->res, &err);
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	enum { N = 8 };
	struct par ps[N];

	/* Workers block signals, as in tally. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < N; i++) {
		memset(&ps[i], 0, sizeof ps[i]);
		snprintf(ps[i].env, sizeof ps[i].env, "TALLY_PAR=worker %d", i);
		assert_int_equal(pthread_create(&ps[i].th, NULL, par_main, &ps[i]), 0);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (int i = 0; i < N; i++) {
		pthread_join(ps[i].th, NULL);
		assert_int_equal(ps[i].rc, 0);
		assert_int_equal(ps[i].res.exited, 1);
		assert_int_equal(ps[i].res.status, 5);
		char want[64];
		snprintf(want, sizeof want, "worker %d\n", i);
		assert_string_equal(sbuf_str(&ps[i].out), want);
		sbuf_free(&ps[i].out);
	}
}

/* Signals the parent ignores or blocks are default again in the child. */
static void test_signals_reset(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	struct run_result res;
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	struct sigaction ign = { .sa_handler = SIG_IGN }, prev;
	sigaction(SIGINT, &ign, &prev);

	/* SigBlk and SigIgn of the child itself. */
	char *a[] = { "/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL };
	struct run_opts o = base_opts(a);
	run_ok(&o, &res, &out);
	assert_int_equal(res.status, 0);
	assert_string_equal(sbuf_str(&out),
	                    "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");

	sigaction(SIGINT, &prev, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	sbuf_free(&out);
}


struct tailcap {
	struct sbuf got;
	size_t skipped;
	int ticks;
};

static void tail_collect(void *ctx, const char *data, size_t len)
{
	struct tailcap *t = ctx;
	if (!data) {
		if (len)
			t->skipped += len;
		else
			t->ticks++;
		return;
	}
	sbuf_add(&t->got, data, len);
}

/* splice mode: everything reaches the log file through the kernel, and the
 * callback sees only a bounded tail plus the count of what it skipped */
static void test_splice_tail(void **state)
{
	(void)state;
	char path[] = "/tmp/tally-runner-splice.XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);
	assert_true(fd >= 0);
	unlink(path);
	char *argv[] = {"/bin/sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo last line", NULL};
	struct tailcap t = {0};
	struct run_opts o = {.argv = argv, .log_fd = fd, .cancel_fd = -1, .on_output = tail_collect,
			     .ctx = &t, .tick_ms = 100, .tail_bytes = 4096};
	struct run_result rr;
	struct tally_err err = {0};
	assert_int_equal(runner_run(&o, &rr, &err), 0);
	assert_true(rr.exited && rr.status == 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 3000000 + 1 + 10);      /* the whole output, in the file */
	assert_true(t.got.len + t.skipped == 3000011);        /* every byte: shown or counted */
	assert_true(t.skipped > 0);                          /* most of it was not handed over */
	assert_true(t.got.len <= 64 * 4096);                  /* bounded */
	assert_true(str_ends(sbuf_str(&t.got), "last line\n")); /* the newest bytes arrive */
	sbuf_free(&t.got);
	close(fd);
}

int main(void)
{
	/* Orphaned grandchildren come to us, so tests can reap and check them
	 * even when PID 1 does not reap. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_which),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_output_order),
		cmocka_unit_test(test_large_output),
		cmocka_unit_test(test_log_write_error),
		cmocka_unit_test(test_argv_verbatim),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_env_scrubbed),
		cmocka_unit_test(test_track_leftovers),
		cmocka_unit_test(test_cwd),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_no_fd_leak),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_timeout_sigkill),
		cmocka_unit_test(test_lingering_grandchild),
		cmocka_unit_test(test_cancel_before),
		cmocka_unit_test(test_cancel_during),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_signals_reset),
		cmocka_unit_test(test_splice_tail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
