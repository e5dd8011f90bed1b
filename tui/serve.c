/* serve.c - the engine's own front ends: `serve` (the engine and the
 * schedule with no screen, one journal line per event), `stop` (ask the
 * running engine to end and wait until it has) and `health` (never starts
 * an engine). The main thread waits on signals and the server's stop fd;
 * the engine and server threads block all signals. */
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "i18nmsg.h"
#include "server.h"
#include "statedir.h"

static volatile sig_atomic_t interrupted;

static const char *s_or(json_t *o, const char *k, const char *dflt)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : dflt;
}

/* serve: one line per event on stderr, with key=value fields, so journald
 * and grep both read it; the sd-daemon priority prefixes ("<6>") only when
 * stderr is the journal's stream ($JOURNAL_STREAM names its device and
 * inode), never on a terminal or in a file. */
static int journal_prefix = -1;

static const char *jp(int prio)
{
	static const char *const p[8] = {"<0>", "<1>", "<2>", "<3>", "<4>", "<5>", "<6>", "<7>"};
	if (journal_prefix < 0) {
		const char *js = getenv("JOURNAL_STREAM");
		unsigned long long dev = 0, ino = 0;
		struct stat st;
		journal_prefix = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
				 (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	}
	return journal_prefix && prio >= 0 && prio < 8 ? p[prio] : "";
}

/* sd_notify(3) for Type=notify units, without libsystemd (its shared
 * library and those it needs cost every tally process about a millisecond
 * to load): one datagram to $NOTIFY_SOCKET, a socket path or, with a
 * leading '@', an abstract name. Nothing when it is not set. */
static void sd_say(const char *what)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = path ? strlen(path) : 0;
	if (!path || (path[0] != '/' && path[0] != '@') || len < 2 || len >= sizeof sa.sun_path)
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, what, strlen(what), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) {
		/* systemd went away: nothing to tell */
	}
	close(fd);
}

static void journal_line(json_t *ev)
{
	const char *event = s_or(ev, "event", "?");
	if (!strcmp(event, "log") || !strcmp(event, "done"))
		return;
	const char *res = s_or(ev, "result", "");
	int prio = 6;
	if (!strcmp(event, "error"))
		prio = json_is_true(json_object_get(ev, "warning")) ? 4 : 3;
	else if (!strcmp(res, "failed"))
		prio = 3;
	else if (!strcmp(res, "cancelled"))
		prio = 4;
	struct sbuf sb = {0};
	sbuf_addf(&sb, "%s%s", jp(prio), event);
	const char *k;
	json_t *v;
	json_object_foreach(ev, k, v) {
		if (!strcmp(k, "schema") || !strcmp(k, "event") || json_is_null(v))
			continue;
		if (json_is_string(v)) {
			const char *str = json_string_value(v);
			int quote = strpbrk(str, " \t\"") != NULL || !*str;
			sbuf_addf(&sb, " %s=%s", k, quote ? "\"" : "");
			for (const char *p = str; *p; p++) {
				if (*p == '"' || *p == '\\')
					sbuf_addc(&sb, '\\');
				sbuf_addc(&sb, (*p == '\n' || *p == '\r') ? ' ' : *p);
			}
			if (quote)
				sbuf_addc(&sb, '"');
		} else if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
			char *d = json_dumps(v, JSON_ENCODE_ANY);
			sbuf_addf(&sb, " %s=%s", k, d);
			free(d);
		}
	}
	sbuf_addc(&sb, '\n');
	fputs(sb.buf, stderr);
	sbuf_free(&sb);
}

static volatile sig_atomic_t stop_now;
static void on_stop_signal(int sig)
{
	interrupted = 1;
	if (sig == SIGINT)
		stop_now = 1;
}

static void journal_cb(void *ctx, json_t *ev)
{
	(void)ctx;
	journal_line(ev);
}

int run_serve(struct opts *o)
{
	struct engine_opts eo = engine_opts_of(o);
	struct engine *e = NULL;
	struct tally_err err = {0};
	int busy = 0;
	if (engine_open(&eo, &e, &busy, &err) < 0) {
		fprintf(stderr, "%stally: %s\n", jp(3), i18n_em(err.msg));
		return busy ? EXIT_BUSY : EXIT_USAGE;
	}
	const struct strv *w = engine_warnings(e);
	for (size_t i = 0; i < w->n; i++)
		fprintf(stderr, "%swarning message=\"%s\"\n", jp(4), w->v[i]);
	/* signals reach this thread only: the engine and server block them */
	struct sigaction sa = {0};
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	engine_serve(e);
	if (engine_start(e) < 0) {
		fprintf(stderr, "%stally: cannot start the engine thread\n", jp(3));
		engine_free(e);
		return EXIT_FAIL;
	}
	struct server *srv = NULL;
	struct server_opts so = {
		.socket_path = engine_socket_path(e), .group = engine_conf(e)->group,
		.on_event = journal_cb,
	};
	if (server_start(e, &so, &srv, &err) < 0) {
		fprintf(stderr, "%stally: %s\n", jp(3), i18n_em(err.msg));
		engine_shutdown(e, 0);
		engine_free(e);
		return err.cls == TC_INPUT ? EXIT_USAGE : EXIT_FAIL;
	}
	fprintf(stderr, "%sserve pid=%ld socket=%s\n", jp(6), (long)getpid(), engine_socket_path(e));
	/* Type=notify: ready once the socket listens */
	sd_say("READY=1\nSTATUS=serving the schedule");
	while (!interrupted) {
		struct pollfd p = {.fd = server_stop_fd(srv), .events = POLLIN};
		if (poll(&p, 1, 500) > 0) {
			stop_now = server_stop_now(srv);
			break;
		}
	}
	const char *g = getenv("TALLY_STOP_GRACE");
	double grace = stop_now ? 0 : (g && *g ? atof(g) : 30);
	fprintf(stderr, "%sstopping grace=%g\n", jp(5), grace);
	sd_say("STOPPING=1\nSTATUS=stopping: running attempts finish or are cancelled");
	int cancelled = engine_shutdown(e, grace);
	server_free(srv);   /* flushes the last events to attached clients */
	fprintf(stderr, "%sstopped%s\n", jp(6), cancelled ? " cancelled=true" : "");
	engine_free(e);
	return EXIT_OK;
}

/* Where the repo's engine is (*loc, caller frees) and whether one holds
 * its lock now: 1 yes, 0 no, -1 the repo was not found (said on stderr). */
static int engine_running(const struct opts *o, struct engine_location *loc)
{
	struct engine_opts eo = engine_opts_of(o);
	struct tally_err err = {0};
	if (engine_locate(&eo, loc, &err) < 0) {
		fprintf(stderr, "tally: %s\n", i18n_em(err.msg));
		return -1;
	}
	struct tally_lock *lk = NULL;
	int busy = 0;
	if (statedir_lock(loc->git_dir, NULL, &lk, &busy, NULL) == 0) {
		statedir_unlock(lk);
		return 0;
	}
	return 1;
}

/* health: only a running engine can be healthy, so none is started; with
 * one running, the command goes to it like any batch command. */
int run_health(struct opts *o, const struct command *c)
{
	struct engine_location loc;
	struct tally_err err = {0};
	int running = engine_running(o, &loc);
	if (running < 0)
		return EXIT_USAGE;
	char *reason = NULL;
	if (running) {
		struct client *cl = attach(o, 1, &err);
		if (cl) {
			client_free(cl);
			engine_location_free(&loc);
			return run_batch(o, c);
		}
		reason = xasprintf(N_("engine %ld holds %s but does not answer on its socket, so it is not "
				   "the schedule's engine ('tally serve'): %s"), loc.pid, loc.root, err.msg);
	} else {
		reason = xasprintf(N_("no engine runs %s; start it with 'tally serve'"), loc.root);
	}
	engine_location_free(&loc);
	if (o->json) {
		json_t *ev = json_pack("{s:i, s:s, s:b, s:s, s:n, s:b, s:n, s:n}", "schema", 1, "event", "health",
				       "ok", 0, "reason", reason, "engine", "paused", 0, "last_run", "next_run");
		char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
		json_decref(ev);
		printf("{\"schema\":1,\"event\":\"summary\",\"ok\":0,\"failed\":1,\"exit\":1}\n");
	} else {
		printf(_("unhealthy: %s\n"), i18n_em(reason));
	}
	free(reason);
	return EXIT_FAIL;
}

/* Is pid a live process (a zombie is not: its parent has yet to reap it)? */
static int process_alive(long pid)
{
	if (pid <= 1)
		return 0;
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return kill((pid_t)pid, 0) == 0;
	char buf[512];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')');
	return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}

/* stop: ask the engine over its socket (or with a signal) and wait until it
 * lets go of the repo's lock and has exited. */
int run_stop(struct opts *o)
{
	struct engine_location loc;
	struct tally_err err = {0};
	struct tally_lock *lk = NULL;
	int busy = 0;
	int running = engine_running(o, &loc);
	if (running < 0)
		return EXIT_USAGE;
	if (!running) {
		engine_location_free(&loc);
		if (!o->quiet)
			fputs(_("no engine is running\n"), stdout);
		return EXIT_OK;
	}
	struct client *c = NULL;
	int asked = 0;
	if (loc.socket_path && client_connect(loc.socket_path, 0, &c, &err) == 0) {
		json_t *cmd = json_pack("{s:s, s:b}", "cmd", "stop", "now", OPT_GIVEN(o, OPT_NOW));
		asked = client_submit(c, cmd, &err) >= 0;
		client_free(c);
	}
	if (!asked && (loc.pid <= 1 || kill((pid_t)loc.pid, OPT_GIVEN(o, OPT_NOW) ? SIGINT : SIGTERM) < 0)) {
		fprintf(stderr, _("tally: cannot reach the engine (pid %ld): %s\n"), loc.pid, i18n_em(err.msg));
		engine_location_free(&loc);
		return EXIT_FAIL;
	}
	for (int i = 0; i < 36000; i++) {
		if (statedir_lock(loc.git_dir, NULL, &lk, &busy, NULL) == 0) {
			statedir_unlock(lk);
			/* the lock goes before the process: wait (bounded) for it
			 * to be gone too, so that "stopped" means stopped */
			for (int k = 0; k < 100 && process_alive(loc.pid); k++)
				usleep(100000);
			if (process_alive(loc.pid)) {
				fprintf(stderr, _("tally: engine %ld released its lock but did not exit\n"), loc.pid);
				engine_location_free(&loc);
				return EXIT_FAIL;
			}
			if (!o->quiet)
				printf(_("engine %ld stopped\n"), loc.pid);
			engine_location_free(&loc);
			return EXIT_OK;
		}
		usleep(100000);
	}
	fprintf(stderr, _("tally: engine %ld did not stop\n"), loc.pid);
	engine_location_free(&loc);
	return EXIT_FAIL;
}

