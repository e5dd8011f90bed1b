/* runtrack.c - process groups of running commands, kept in the state
 * directory (STATE/procs/), and the end of groups a killed engine left.
 *
 * PR_SET_PDEATHSIG reaches only the direct child: when the engine is killed
 * with SIGKILL, a grandchild (a push wrapper's helper, git's remote helper)
 * lives on and may PUT an old digest after the next run shipped. So each
 * running command's group is written to STATE/procs/<pgid> as
 * "<pgid> <starttime> <boot id>" (starttime: field 22 of /proc/PID/stat),
 * and the next engine, holding the lock, ends any such group that is still
 * alive before anything else runs. A process counts as ours only when it is
 * in that group, has our uid, the same boot, started no earlier than the
 * recorded leader and before this engine (pid reuse), and, when the leader
 * itself is still there, it is the recorded one. */
#include "runner_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "util.h"

/* track_mu guards track_dir: set by runner_track_start/stop (engine
 * thread), read by runner_track_begin/end in every worker thread that runs
 * a command. */
static pthread_mutex_t track_mu = PTHREAD_MUTEX_INITIALIZER;
static char *track_dir;   /* NULL: not tracking (tests, clients) */

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static void boot_id(char *buf, size_t size)
{
	if (read_small("/proc/sys/kernel/random/boot_id", buf, size) < 0)
		snprintf(buf, size, "-");
	buf[strcspn(buf, "\n")] = '\0';
	if (!*buf)
		snprintf(buf, size, "-");
}

/* pgrp, uid and start time (clock ticks since boot) of pid; -1 if gone. */
static int proc_info(long pid, long *pgrp, unsigned long long *start, uid_t *uid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (read_small(path, buf, sizeof buf) < 0)
		return -1;
	const char *rp = strrchr(buf, ')');
	if (!rp)
		return -1;
	/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime cutime cstime priority nice threads
	 * itrealvalue starttime (field 22) */
	char state = 0;
	long ppid = 0, grp = 0;
	unsigned long long f[19] = {0};
	int got = sscanf(rp + 1, " %c %ld %ld %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
			 "%llu %llu %llu %llu %llu %llu", &state, &ppid, &grp, &f[0], &f[1], &f[2],
			 &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &f[10], &f[11], &f[12], &f[13],
			 &f[14], &f[15], &f[16]);
	if (got < 20 || state == 'Z' || state == 'X')
		return -1;
	*pgrp = grp;
	*start = f[16];
	if (uid) {
		struct stat st;
		snprintf(path, sizeof path, "/proc/%ld", pid);
		if (stat(path, &st) < 0)
			return -1;
		*uid = st.st_uid;
	}
	return 0;
}

static char *track_path(long pgid)
{
	return track_dir ? xasprintf("%s/%ld", track_dir, pgid) : NULL;
}

void runner_track_begin(pid_t pid)
{
	pthread_mutex_lock(&track_mu);
	char *path = track_path(pid);
	pthread_mutex_unlock(&track_mu);
	if (!path)
		return;
	long grp;
	unsigned long long start = 0;
	if (proc_info(pid, &grp, &start, NULL) == 0) {
		char boot[64], line[160];
		boot_id(boot, sizeof boot);
		int n = snprintf(line, sizeof line, "%ld %llu %s\n", (long)pid, start, boot);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			(void)!write(fd, line, (size_t)n);
			close(fd);
		}
	}
	free(path);
}

void runner_track_end(pid_t pid)
{
	pthread_mutex_lock(&track_mu);
	char *path = track_path(pid);
	pthread_mutex_unlock(&track_mu);
	if (path)
		unlink(path);
	free(path);
}

/* Members of the recorded group pgid that are ours (see above); their
 * count, pids into out (up to max). */
static size_t group_members(long pgid, unsigned long long leader_start, unsigned long long self_start,
			    long *out, size_t max)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (pid <= 1 || *end)
			continue;
		long grp;
		unsigned long long start;
		uid_t uid;
		if (proc_info(pid, &grp, &start, &uid) < 0 || grp != pgid)
			continue;
		if (uid != geteuid() || start < leader_start || start > self_start)
			continue;
		if (pid == pgid && start != leader_start)
			continue;   /* the number went to a new leader */
		if (n < max)
			out[n] = pid;
		n++;
	}
	closedir(d);
	return n;
}

int runner_track_start(const char *state_dir, struct strv *report, struct tally_err *err)
{
	char *dir = xasprintf("%s/procs", state_dir);
	if (util_mkdirs(dir, 0700, err) < 0) {
		free(dir);
		return -1;
	}
	char boot[64];
	boot_id(boot, sizeof boot);
	long me_grp;
	unsigned long long self_start = 0;
	if (proc_info((long)getpid(), &me_grp, &self_start, NULL) < 0)
		self_start = ~0ULL;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *path = xasprintf("%s/%s", dir, de->d_name);
		char buf[256], rboot[64] = "";
		long pgid = 0;
		unsigned long long lstart = 0;
		if (read_small(path, buf, sizeof buf) == 0 &&
		    sscanf(buf, "%ld %llu %63s", &pgid, &lstart, rboot) == 3 && pgid > 1 &&
		    strcmp(rboot, boot) == 0) {
			long pids[64];
			size_t n = group_members(pgid, lstart, self_start, pids, 64);
			if (n > 0) {
				/* TERM, a moment, then KILL: orphans of a dead engine */
				kill(-(pid_t)pgid, SIGTERM);
				for (int i = 0; i < 20 && group_members(pgid, lstart, self_start, pids, 64); i++)
					usleep(50000);
				if (group_members(pgid, lstart, self_start, pids, 64))
					kill(-(pid_t)pgid, SIGKILL);
				for (int i = 0; i < 40 && group_members(pgid, lstart, self_start, pids, 64); i++)
					usleep(50000);
				strv_push_owned(report, xasprintf("ended %zu left-over process%s of process group %ld, "
								  "started by an engine that was killed", n,
								  n == 1 ? "" : "es", pgid));
			}
		}
		unlink(path);
		free(path);
	}
	if (d)
		closedir(d);
	pthread_mutex_lock(&track_mu);
	free(track_dir);
	track_dir = dir;
	pthread_mutex_unlock(&track_mu);
	return 0;
}

void runner_track_stop(void)
{
	pthread_mutex_lock(&track_mu);
	free(track_dir);
	track_dir = NULL;
	pthread_mutex_unlock(&track_mu);
}

