/* batch.c - batch mode (--no-tui, or stdout not a terminal): submits one
 * command to an engine (in-process, or the running one through its socket)
 * and writes its events as they happen, as plain lines or JSON Lines, with
 * a progress line on a terminal. Single-threaded: the main thread reads the
 * engine's events; signals only set `interrupted`. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "curlload.h"
#include "i18n.h"
#include "i18nmsg.h"
#include "server.h"
#include "statedir.h"

static const char *s_or(json_t *o, const char *k, const char *dflt)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : dflt;
}

/* cell padded to width columns: ASCII (one column a byte, as i18n_width
 * counts it) is written at once; anything else by i18n_pad */
static void pad_cell(const char *cell, int width)
{
	static const char spaces[] = "                                        ";
	size_t n = 0;
	for (; cell[n]; n++)
		if ((unsigned char)cell[n] >= 0x80) {
			i18n_pad(stdout, cell, width);
			return;
		}
	fwrite(cell, 1, n, stdout);
	for (int left = width - (int)n; left > 0; left -= (int)sizeof spaces - 1)
		fwrite(spaces, 1, left < (int)sizeof spaces - 1 ? (size_t)left : sizeof spaces - 1, stdout);
}

/* One line of columns padded by display width (a Chinese word is two
 * cells a character): widths[i] columns each but the last. */
static void print_cols(const char *const *cells, const int *widths, int n)
{
	for (int i = 0; i < n - 1; i++) {
		pad_cell(cells[i], widths[i]);
		fputc(' ', stdout);
	}
	fputs(cells[n - 1], stdout);
	fputc('\n', stdout);
}

static const int status_w[7] = {16, 14, 14, 14, 10, 9, 0};
static const int attempts_w[6] = {36, 12, 8, 9, 16, 0};

static void print_status_header(void)
{
	const char *h[7] = {_("COMPONENT"), _("RECORDED"), _("UPSTREAM"), _("BUILT"), _("STATE"), _("LAST"),
			    _("NEXT RUN")};
	print_cols(h, status_w, 7);
}

/* "2026-12-02T02:00:00Z" -> "12-02 02:00" (UTC) */
static const char *short_time(const char *iso, char *buf, size_t len)
{
	if (!iso || strlen(iso) < 16)
		return "-";
	snprintf(buf, len, "%.5s %.5s", iso + 5, iso + 11);
	return buf;
}

static void print_plain(const struct opts *o, json_t *ev, int *header)
{
	const char *event = s_or(ev, "event", "");
	if (strcmp(event, "status") == 0 || strcmp(event, "check") == 0) {
		if (!*header) {
			print_status_header();
			*header = 1;
		}
		char nb[32];
		const char *cells[7] = {s_or(ev, "component", "?"), s_or(ev, "recorded", "-"), s_or(ev, "upstream", "-"),
					s_or(ev, "built", "-"), i18n_word(s_or(ev, "state", "?")),
					i18n_word(s_or(ev, "last_result", "-")),
					short_time(s_or(ev, "next_run", NULL), nb, sizeof nb)};
		print_cols(cells, status_w, 7);
		size_t si;
		json_t *sv;
		json_array_foreach(json_object_get(ev, "skipped"), si, sv)
			printf(_("  skipped: %s\n"), json_string_value(sv));
		json_t *pin = json_object_get(ev, "pin");
		if (json_is_object(pin))
			printf(_("  pinned at %s: %s (tally unpin %s)\n"), s_or(pin, "version", "?"),
			       *s_or(pin, "reason", "") ? i18n_em(s_or(pin, "reason", "")) : _("no reason given"),
			       s_or(ev, "component", "?"));
		if (json_is_string(json_object_get(ev, "message")))
			printf(_("  %s: %s\n"), s_or(ev, "class", "error"), i18n_em(s_or(ev, "message", "")));
		size_t bi;
		json_t *b;
		json_array_foreach(json_object_get(ev, "bases"), bi, b) {
			const char *d = s_or(b, "digest", NULL), *on = s_or(b, "built_on", NULL);
			if (!d)
				printf(_("  base %s unknown (unreadable: base state unknown)\n"), s_or(b, "image", "?"));
			else if (!on)
				printf(_("  base %s %.19s (no record built on it yet)\n"), s_or(b, "image", "?"), d);
			else if (strcmp(d, on))
				printf(_("  base %s %.19s (moved; the record was built on %.19s)\n"), s_or(b, "image", "?"), d,
				       on);
			else
				printf(_("  base %s %.19s (the record's)\n"), s_or(b, "image", "?"), d);
		}
		if (json_array_size(json_object_get(ev, "platforms"))) {
			printf("  %s", _("platforms"));
			json_array_foreach(json_object_get(ev, "platforms"), bi, b)
				printf(" %s", json_string_value(b) ? json_string_value(b) : "?");
			printf("\n");
		}
		json_int_t aliases = json_integer_value(json_object_get(ev, "aliases"));
		if (o->verbose && aliases > 0)
			printf(ngettext("  %lld alias without a digit (latest, ...) passed over\n",
					"  %lld aliases without a digit (latest, ...) passed over\n", (unsigned long)aliases),
			       (long long)aliases);
		json_t *evd = json_object_get(ev, "evidence");
		if (json_is_object(evd) && json_is_string(json_object_get(evd, "line")))
			printf(_("  %s: %s\n"), i18n_word(s_or(evd, "stage", "log")), s_or(evd, "line", ""));
	} else if (strcmp(event, "stage") == 0) {
		if (o->quiet)
			return;
		const char *res = s_or(ev, "result", "");
		if (strcmp(res, "started") == 0) {
			if (o->verbose)
				printf(_("%s %s: %s started\n"), s_or(ev, "component", "?"), s_or(ev, "version", "?"),
				       i18n_word(s_or(ev, "stage", "?")));
		} else {
			printf(_("%s %s: %s %s (%.1f s)\n"), s_or(ev, "component", "?"), s_or(ev, "version", "?"),
			       i18n_word(s_or(ev, "stage", "?")), i18n_word(res),
			       json_number_value(json_object_get(ev, "seconds")));
		}
	} else if (strcmp(event, "attempt") == 0 && strcmp(o->command, "attempts") == 0) {
		if (!*header) {
			const char *h[6] = {_("ATTEMPT"), _("VERSION"), _("ACTION"), _("RESULT"), _("CLASS"), _("ENDED")};
			print_cols(h, attempts_w, 6);
			*header = 1;
		}
		const char *cells[6] = {s_or(ev, "attempt", "?"), s_or(ev, "version", "?"),
					i18n_word(s_or(ev, "action", "?")), i18n_word(s_or(ev, "result", "?")),
					s_or(ev, "class", "-"), s_or(ev, "ended", "-")};
		print_cols(cells, attempts_w, 6);
	} else if (strcmp(event, "verify") == 0) {
		int good = json_is_true(json_object_get(ev, "ok"));
		printf(_("%s %s: %s\n"), s_or(ev, "component", "?"), s_or(ev, "version", _("(no record)")),
		       good ? _("ok") : _("PROBLEM"));
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(ev, "problems"), i, x)
			printf(_("  problem: %s\n"), i18n_em(json_string_value(x)));
		json_array_foreach(json_object_get(ev, "warnings"), i, x)
			printf(_("  warning: %s\n"), i18n_em(json_string_value(x)));
	} else if (strcmp(event, "health") == 0) {
		if (json_is_true(json_object_get(ev, "ok"))) {
			printf(_("healthy: engine %lld runs the schedule; last run %s; next run %s\n"),
			       (long long)json_integer_value(json_object_get(ev, "engine")),
			       s_or(ev, "last_run", _("none yet")), s_or(ev, "next_run", _("none")));
		} else {
			printf(_("unhealthy: %s\n"), i18n_em(s_or(ev, "reason", _("unknown"))));
		}
	} else if (strcmp(event, "engine") == 0) {
		fputs(json_is_true(json_object_get(ev, "paused")) ? _("schedule paused\n") : _("schedule running\n"), stdout);
	} else if (strcmp(event, "shipped") == 0) {
		printf("%s %s %s %.12s\n", s_or(ev, "component", "?"), s_or(ev, "version", "?"),
		       s_or(ev, "digest", ""), s_or(ev, "commit", ""));
	} else if (strcmp(event, "attempt") == 0) {
		const char *res = s_or(ev, "result", "?");
		if (strcmp(res, "planned") == 0) {
			printf(_("%s %s: would %s (%s)\n"), s_or(ev, "component", "?"), s_or(ev, "version", "?"),
			       i18n_word(s_or(ev, "action", "ship")), i18n_em(s_or(ev, "plan", "")));
			return;
		}
		printf(_("%s %s: %s"), s_or(ev, "component", "?"), s_or(ev, "version", "?"), i18n_word(res));
		if (json_is_string(json_object_get(ev, "digest")))
			printf(" %s", s_or(ev, "digest", ""));
		printf("\n");
		if (json_is_string(json_object_get(ev, "class"))) {
			printf(_("  %s: %s\n  hint: %s\n"), s_or(ev, "class", ""), i18n_em(s_or(ev, "message", "")),
			       i18n_msg(s_or(ev, "hint", "")));
		}
		if (json_is_string(json_object_get(ev, "log")) && strcmp(res, "shipped") != 0)
			printf(_("  log: %s\n"), s_or(ev, "log", ""));
	} else if (strcmp(event, "record") == 0 || strcmp(event, "hold") == 0) {
		const char *subject = s_or(ev, "subject", NULL);
		if (subject) {   /* history */
			printf("%s  %.12s  %s", s_or(ev, "time", ""), s_or(ev, "commit", ""), subject);
			if (json_is_string(json_object_get(ev, "digest")))
				printf("  %s", s_or(ev, "digest", ""));
			printf("\n");
			if (o->verbose) {
				size_t i;
				json_t *img;
				json_array_foreach(json_object_get(ev, "images"), i, img)
					printf(_("    image %s\n"), json_string_value(img));
				printf(_("    attempt %s  recipe %s\n"), s_or(ev, "attempt", "-"), s_or(ev, "recipe", "-"));
				json_array_foreach(json_object_get(ev, "bases"), i, img)
					printf(_("    base %s\n"), json_string_value(img));
				if (json_is_string(json_object_get(ev, "host")))
					printf(_("    host %s\n"), s_or(ev, "host", ""));
				if (json_is_string(json_object_get(ev, "cause")))
					printf(_("    cause %s\n"), s_or(ev, "cause", ""));
			}
		} else if (strcmp(event, "hold") == 0) {
			printf(_("%s %s %s: committed in %.12s\n"), i18n_word(s_or(ev, "action", "?")), s_or(ev, "component", "?"),
			       s_or(ev, "version", "?"), s_or(ev, "commit", ""));
		} else if (strcmp(s_or(ev, "action", ""), "adopt") == 0) {
			printf(_("%s %s: adopted in %.12s (%s)\n"), s_or(ev, "component", "?"), s_or(ev, "version", "?"),
			       s_or(ev, "commit", ""), s_or(ev, "digest", ""));
		} else {
			const char *prev = s_or(ev, "previous", NULL);
			printf(_("%s %s: recorded in %.12s"), s_or(ev, "component", "?"), s_or(ev, "version", "?"),
			       s_or(ev, "commit", ""));
			if (prev)
				printf(_(" (was %s)"), prev);
			printf("\n");
		}
	} else if (strcmp(event, "note") == 0) {
		if (!o->quiet)
			printf("%s\n", i18n_em(s_or(ev, "message", "")));
	} else if (strcmp(event, "error") == 0) {
		const char *comp = s_or(ev, "component", NULL);
		if (o->quiet && json_is_true(json_object_get(ev, "warning")))
			return;
		fflush(stdout);   /* stdout is buffered: what came before goes first */
		fprintf(stderr, "tally: %s%s%s\n", comp ? comp : "", comp ? ": " : "", i18n_em(s_or(ev, "message", "")));
	} else if (strcmp(event, "summary") == 0) {
		const struct command *c = command_find_cli(o->command);
		if (!o->quiet && !(c && (c->flags & CF_NO_SUMMARY)))
			printf(_("%lld ok, %lld failed\n"), (long long)json_integer_value(json_object_get(ev, "ok")),
			       (long long)json_integer_value(json_object_get(ev, "failed")));
	}
}

static int cat_file(const char *path)
{
	struct sbuf sb = {0};
	struct tally_err err = {0};
	if (util_read_file(path, &sb, &err) < 0) {
		fflush(stdout);   /* stdout is buffered: what came before goes first */
		fprintf(stderr, "tally: %s\n", i18n_em(err.msg));
		return -1;
	}
	fwrite(sbuf_str(&sb), 1, sb.len, stdout);
	sbuf_free(&sb);
	return 0;
}

static volatile sig_atomic_t interrupted;

/* logs --follow: print the log and what is appended to it until the
 * attempt's last line ("tally: attempt ID ended: ...") or Ctrl-C. */
static int follow_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fflush(stdout);   /* stdout is buffered: what came before goes first */
		fprintf(stderr, "tally: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[65536];
	while (!interrupted) {
		if (fgets(line, sizeof line, f)) {
			fputs(line, stdout);
			if (str_starts(line, "tally: attempt ") && strstr(line, " ended: "))
				break;
			continue;
		}
		fflush(stdout);
		clearerr(f);
		usleep(200000);
	}
	fclose(f);
	fflush(stdout);
	return 0;
}
static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* A batch command that could not reach any engine: say so (also as JSON). */
int batch_fail(const struct opts *o, int code, const char *msg)
{
	if (o->json) {
		json_t *ev = json_pack("{s:i, s:s, s:o, s:s, s:s}", "schema", 1, "event", "error", "component",
				       json_null(), "class", code == EXIT_BUSY ? "busy" : "input", "message", msg);
		char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
		json_decref(ev);
		printf("{\"schema\":1,\"event\":\"summary\",\"ok\":0,\"failed\":0,\"exit\":%d}\n", code);
	}
	fflush(stdout);   /* stdout is buffered: what came before goes first */
	fprintf(stderr, "tally: %s\n", i18n_em(msg));
	return code;
}
/* On a terminal, without -q or --json, the running stage shows one line
 * updated in place: component, version, stage, elapsed, last log line. */
static struct progress {
	int on, shown;
	char comp[64], version[64], stage[32], last[256];
	double started, drawn;
} prog;

static void progress_clear(void)
{
	if (prog.shown) {
		fputs("\r\033[K", stdout);
		prog.shown = 0;
	}
}

static void progress_draw(int force)
{
	if (!prog.on || !prog.stage[0])
		return;
	double now = util_monotonic();
	if (!force && now - prog.drawn < 0.1)
		return;
	prog.drawn = now;
	struct winsize ws;
	int cols = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
	char line[512];
	int n = snprintf(line, sizeof line, "%s %s: %s %lds%s%s", prog.comp, prog.version, i18n_word(prog.stage),
			 (long)(now - prog.started), prog.last[0] ? " | " : "", prog.last);
	if (n > cols - 1)
		n = cols - 1;
	/* cut on a character boundary */
	while (n > 0 && ((unsigned char)line[n] & 0xc0) == 0x80)
		n--;
	printf("\r\033[K%.*s", n, line);
	fflush(stdout);
	prog.shown = 1;
}

static void progress_log(const char *data)
{
	/* the last complete non-empty line, printable bytes only */
	const char *end = data + strlen(data), *p = end;
	while (p > data && (p[-1] == '\n' || p[-1] == '\r'))
		p--;
	const char *e2 = p;
	while (p > data && p[-1] != '\n' && p[-1] != '\r')
		p--;
	if (e2 == p)
		return;
	size_t k = 0;
	for (; p < e2 && k + 1 < sizeof prog.last; p++)
		if ((unsigned char)*p >= 32 && *p != 127)
			prog.last[k++] = *p;
	prog.last[k] = 0;
	progress_draw(0);
}

/* skip on a terminal asks first. A VERSION the upstream did not list at
 * its last check (checks.json in the engine's state directory) gets its
 * own question, as a typo would skip nothing real. 0: answered no. */
static int skip_confirmed(json_t *cmd, struct client *cl)
{
	const char *comp = json_string_value(json_array_get(json_object_get(cmd, "components"), 0));
	const char *version = s_or(cmd, "version", "");
	const char *sd = json_string_value(json_object_get(client_hello(cl), "state_dir"));
	json_t *checks = NULL, *vs = NULL;
	if (sd && comp) {
		char *path = statedir_file(sd, SF_CHECKS);
		checks = json_load_file(path, 0, NULL);
		free(path);
		vs = json_object_get(json_object_get(checks, comp), "versions");
	}
	int listed = 0;
	size_t i;
	json_t *v;
	json_array_foreach(vs, i, v)
		if (strcmp(json_string_value(v) ?: "", version) == 0)
			listed = 1;
	struct sbuf q = {0};
	if (listed)
		sbuf_addf(&q, _("tally skip %s %s: %s is never built while skipped; the record is not touched. "
				"Proceed? [y/N] "), comp ? comp : "?", version, version);
	else if (json_array_size(vs))
		sbuf_addf(&q, _("tally: %s is not among the versions the upstream offers (newest: %s); skip it anyway? [y/N] "),
			  version, json_string_value(json_array_get(vs, 0)) ?: "?");
	else
		sbuf_addf(&q, _("tally: %s is not known to exist (%s's upstream was never read here; tally check %s lists "
				"its versions); skip it anyway? [y/N] "), version, comp ? comp : "?", comp ? comp : "?");
	json_decref(checks);
	int yes = cli_ask(q.buf);
	sbuf_free(&q);
	return yes;
}

static int batch_main(struct opts *o, const struct command *c);

static void *preload_main(void *arg)
{
	(void)arg;
	curl_preload();
	return NULL;
}

/* A command that makes HTTP requests (checks, attempts, registry reads)
 * has libcurl opened on a thread of its own while the engine opens
 * (curlload.c: it is not linked, so that the others never load it). */
int run_batch(struct opts *o, const struct command *c)
{
	pthread_t pre;
	int preloading = 0;
	if (c->id == CMD_CHECK || c->id == CMD_RUN || c->id == CMD_RETRY || c->id == CMD_REBUILD ||
	    c->id == CMD_RESET || c->id == CMD_VERIFY || c->id == CMD_ADOPT) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		preloading = pthread_create(&pre, NULL, preload_main, NULL) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	int rc = batch_main(o, c);
	if (preloading)
		pthread_join(pre, NULL);
	return rc;
}

static int batch_main(struct opts *o, const struct command *c)
{
	/* written as the events come: line by line on a terminal; into a pipe
	 * or file in blocks, flushed whenever no further event is there yet
	 * (so nothing waits in the buffer while the command does) and before
	 * anything goes to stderr */
	if (isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOLBF, 0);
	prog.on = isatty(STDOUT_FILENO) && !o->quiet && !o->json && !o->verbose;
	struct engine *e = NULL;
	struct client *cl = NULL;
	struct server *srv = NULL;
	struct engine_opts eo = engine_opts_of(o);
	struct tally_err err = {0};
	int busy = 0;
	if (engine_open(&eo, &e, &busy, &err) == 0) {
		const struct strv *w = engine_warnings(e);
		for (size_t i = 0; i < w->n; i++)
			fprintf(stderr, _("tally: warning: %s\n"), i18n_em(w->v[i]));
		engine_set_live_logs(e, (o->verbose || prog.on) && !o->json);
		if (engine_start(e) < 0) {
			fputs(_("tally: cannot start the engine thread\n"), stderr);
			engine_free(e);
			return EXIT_FAIL;
		}
		/* this engine listens on the socket like serve (SPEC section 8):
		 * a command or console started meanwhile is handed to it; this
		 * command is one of its clients */
		struct server_opts so = {.socket_path = engine_socket_path(e), .group = engine_conf(e)->group,
					 .tap = 1};
		struct tally_err serr = {0};
		signal(SIGPIPE, SIG_IGN);
		if (server_start(e, &so, &srv, &serr) == 0)
			cl = client_tap(srv, e);   /* its events as objects, not through the socket */
		else
			fprintf(stderr, _("tally: warning: %s; other commands cannot reach this one\n"), i18n_em(serr.msg));
		if (!cl)
			cl = client_local(e);
	} else if (busy) {
		/* an engine runs: hand it the command */
		struct tally_err aerr = {0};
		cl = attach(o, 0, &aerr);
		if (!cl) {
			fprintf(stderr, _("tally: %s\ntally: and it could not be reached: %s\n"), i18n_em(err.msg), i18n_em(aerr.msg));
			return batch_fail(o, EXIT_BUSY, err.msg);
		}
	} else {
		return batch_fail(o, EXIT_USAGE, err.msg);
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	json_t *cmd = command_json(c, &o->ca, 1);
#ifdef TALLY_TESTING
	/* tests judge health with a clock they set */
	if (c->id == CMD_HEALTH && getenv("TALLY_NOW"))
		json_object_set_new(cmd, "now", json_integer(atoll(getenv("TALLY_NOW"))));
#endif
	int code = EXIT_FAIL, header = 0, cancelled = 0;
	if (c->id == CMD_SKIP && cli_confirms(o, c) && !skip_confirmed(cmd, cl)) {
		json_decref(cmd);
		code = EXIT_OK;
		goto out;
	}
	long long job = client_submit(cl, cmd, &err);
	if (job < 0) {
		fprintf(stderr, "tally: %s\n", i18n_em(err.msg));
		goto out;
	}
	for (;;) {
		json_t *ev = client_next_event(cl, 0);
		if (!ev) {
			fflush(stdout);
			ev = client_next_event(cl, 200);
		}
		if (!ev)
			progress_draw(1);   /* the elapsed time moves on */
		if (interrupted && !cancelled) {
			if (e) {
				fflush(stdout);   /* stdout is buffered: what came before goes first */
				fputs(_("tally: interrupted; cancelling (nothing is recorded by a cancelled attempt)\n"), stderr);
				engine_cancel(e);
			} else {
				/* attached: the engine carries on, as with a closed console */
				fflush(stdout);   /* stdout is buffered: what came before goes first */
				fputs(_("tally: detached; the engine carries on (see tally status)\n"), stderr);
				json_decref(ev);
				break;
			}
			cancelled = 1;
		}
		if (!ev)
			continue;
		const char *event = s_or(ev, "event", "");
		if (strcmp(event, "disconnected") == 0) {
			fflush(stdout);   /* stdout is buffered: what came before goes first */
			fputs(_("tally: the engine went away before the command finished\n"), stderr);
			json_decref(ev);
			break;
		}
		/* attached to a busy engine: only this command's events */
		json_t *evjob = json_object_get(ev, "job");
		if (client_is_remote(cl) && (!json_is_integer(evjob) || json_integer_value(evjob) != job)) {
			json_decref(ev);
			continue;
		}
		if (strcmp(event, "done") == 0) {
			code = (int)json_integer_value(json_object_get(ev, "exit"));
			json_decref(ev);
			break;
		}
		if (strcmp(event, "logfile") == 0) {
			if ((OPT_GIVEN(o, OPT_FOLLOW) ? follow_file(s_or(ev, "path", "")) : cat_file(s_or(ev, "path", ""))) < 0)
				code = EXIT_FAIL;
		} else if (strcmp(event, "log") == 0 || strcmp(event, "accepted") == 0 ||
			   strcmp(event, "hello") == 0 || strcmp(event, "dropped") == 0) {
			/* live output is in the log file; batch mode shows it with -v,
			 * and its last line on the progress line */
			if (o->verbose && !o->json && strcmp(event, "log") == 0)
				fputs(s_or(ev, "data", ""), stdout);
			else if (prog.on && strcmp(event, "log") == 0)
				progress_log(s_or(ev, "data", ""));
		} else if (o->json) {
			char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
			puts(s);
			free(s);
		} else {
			if (prog.on && strcmp(event, "stage") == 0) {
				progress_clear();
				if (strcmp(s_or(ev, "result", ""), "started") == 0) {
					snprintf(prog.comp, sizeof prog.comp, "%s", s_or(ev, "component", "?"));
					snprintf(prog.version, sizeof prog.version, "%s", s_or(ev, "version", "?"));
					snprintf(prog.stage, sizeof prog.stage, "%s", s_or(ev, "stage", "?"));
					prog.last[0] = 0;
					prog.started = util_monotonic();
					progress_draw(1);
					json_decref(ev);
					continue;
				}
				prog.stage[0] = 0;
			} else if (prog.shown) {
				progress_clear();
			}
			print_plain(o, ev, &header);
			progress_draw(1);
		}
		json_decref(ev);
	}
	progress_clear();
out:
	fflush(stdout);
	client_free(cl);
	if (srv) {
		/* commands other front ends handed to this engine finish first */
		while (engine_jobs(e) > 0 && !interrupted) {
			struct pollfd p = {.fd = server_stop_fd(srv), .events = POLLIN};
			if (poll(&p, 1, 100) > 0) {
				if (server_stop_now(srv))
					engine_cancel(e);
				break;
			}
		}
		if (interrupted)
			engine_cancel(e);
		engine_shutdown(e, 30);
		server_free(srv);   /* flushes the last events to attached clients */
	}
	engine_free(e);
	if (cancelled && code == EXIT_OK)
		code = EXIT_FAIL;
	return code;
}

