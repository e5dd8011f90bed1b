/* attach.c - reaching an engine: attach to the one the repo's lock file
 * names, or start `tally serve` in the background and attach to it; the
 * console's reconnect. Single-threaded (the main thread, before and while
 * the console runs). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "i18nmsg.h"
#include "config.h"
#include "console.h"
#include "statedir.h"

struct engine_opts engine_opts_of(const struct opts *o)
{
	struct engine_opts eo = {.dir = o->dir, .config_path = o->config, .state_dir = o->state_dir};
	return eo;
}

/* Attaches to the engine the lock file names; NULL when none answers. */
struct client *attach(const struct opts *o, int watch, struct tally_err *err)
{
	struct engine_opts eo = engine_opts_of(o);
	struct engine_location loc;
	struct client *c = NULL;
	if (engine_locate(&eo, &loc, err) < 0)
		return NULL;
	if (!loc.socket_path)
		tally_err_set(err, TC_NETWORK, "no engine is running for %s", loc.root);
	else
		client_connect(loc.socket_path, watch, &c, err);
	engine_location_free(&loc);
	return c;
}

/* Starts `tally serve` for this repo in the background, detached from the
 * terminal, logging to STATE/serve.log, and attaches to it. */
struct client *start_engine(const struct opts *o, struct tally_err *err)
{
	struct engine_opts eo = engine_opts_of(o);
	struct engine_location loc;
	if (engine_locate(&eo, &loc, err) < 0)
		return NULL;
	/* where serve will log: found by opening the engine briefly is not an
	 * option (it takes the lock), so ask statedir the same way engine does */
	struct tally_conf *conf = NULL;
	char *conf_path = o->config ? xstrdup(o->config) : xasprintf("%s/tally.conf", loc.root);
	if (config_load(conf_path, &conf, err) < 0) {
		free(conf_path);
		engine_location_free(&loc);
		return NULL;
	}
	char *state = statedir_path(loc.root, o->state_dir, conf->state_dir);
	if (statedir_ensure(state, conf->group, err) < 0) {
		config_free(conf);
		free(state);
		free(conf_path);
		engine_location_free(&loc);
		return NULL;
	}
	config_free(conf);
	char *logpath = xasprintf("%s/serve.log", state);
	struct strv argv = {0};
	strv_push(&argv, "tally");
	strv_push(&argv, "-C");
	strv_push(&argv, loc.root);
	if (o->config) {
		strv_push(&argv, "--config");
		strv_push(&argv, conf_path);
	}
	if (o->state_dir) {
		strv_push(&argv, "--state-dir");
		strv_push(&argv, o->state_dir);
	}
	strv_push(&argv, "serve");
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (nul >= 0)
			dup2(nul, 0);
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		/* a second fork so the engine is not our child (no zombie) */
		if (fork() != 0)
			_exit(0);
		execv("/proc/self/exe", argv.v);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	strv_free(&argv);
	struct client *c = NULL;
	for (int i = 0; i < 100 && !c; i++) {
		usleep(100000);
		struct tally_err e2 = {0};
		c = attach(o, 0, &e2);
		if (!c)
			*err = e2;
	}
	if (!c)
		tally_err_prefix(err, "started tally serve (log: %s) but could not attach", logpath);
	free(logpath);
	free(state);
	free(conf_path);
	engine_location_free(&loc);
	return c;
}

static struct client *reconnect(void *ctx, char **why)
{
	const struct opts *o = ctx;
	struct tally_err err = {0};
	struct client *c = attach(o, 0, &err);
	if (!c)
		c = start_engine(o, &err);
	if (!c)
		*why = xstrdup(err.msg);
	return c;
}

int run_console(struct opts *o)
{
	struct tally_err err = {0};
	struct client *c = attach(o, o->readonly, &err);
	if (!c && o->readonly) {
		fprintf(stderr, _("tally: %s (watch never starts one; run 'tally' or 'tally serve')\n"), i18n_em(err.msg));
		return EXIT_FAIL;
	}
	if (!c)
		c = start_engine(o, &err);
	if (!c) {
		fprintf(stderr, "tally: %s\n", i18n_em(err.msg));
		return EXIT_FAIL;
	}
	const char *theme = o->theme ? o->theme : getenv("TALLY_THEME");
	const char *nc = getenv("NO_COLOR");
	struct console_opts co = {
		.theme = theme && *theme ? theme : NULL, .readonly = o->readonly,
		.no_color = o->no_color || (nc && *nc), .ascii = o->ascii,
		.repo_dir = o->dir ? o->dir : getenv("TALLY_REPO") ? getenv("TALLY_REPO") : ".",
		.reconnect = o->readonly ? NULL : reconnect, .reconnect_ctx = o,
	};
	struct strv optv = {0};
	co.cmds = cli_compl_table(&optv, &co.ncmds);
	int rc = console_main(c, &co); /* it frees the client */
	free((void *)co.cmds);
	strv_free(&optv);
	return rc;
}

