/* notify.c - one run of tally.notify (see notify.h). No threads of its own:
 * the engine calls notify_run on a worker thread. */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"
#include "statedir.h"
#include "template.h"
#include "util.h"

static void env_add(struct strv *env, const char *name, const char *value)
{
	/* control characters would let a value fake another line in a mail
	 * header or a log; the decisive line is already cleaned, this is for
	 * everything else */
	char *v = xstrdup(value ? value : "");
	for (char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	strv_push_owned(env, xasprintf("%s=%s", name, v));
	free(v);
}

char **notify_env(const struct notify_event *ev, const char *repo_root)
{
	struct strv env = {0};
	env_add(&env, "TALLY_EVENT", ev->event);
	env_add(&env, "TALLY_RESULT", ev->result);
	env_add(&env, "TALLY_COMPONENT", ev->component);
	env_add(&env, "TALLY_VERSION", ev->version);
	env_add(&env, "TALLY_PREVIOUS", ev->previous);
	env_add(&env, "TALLY_ACTION", ev->action);
	env_add(&env, "TALLY_CLASS", ev->cls);
	env_add(&env, "TALLY_HINT", ev->hint);
	env_add(&env, "TALLY_EVIDENCE", ev->evidence);
	env_add(&env, "TALLY_MESSAGE", ev->message);
	env_add(&env, "TALLY_LOG", ev->log);
	env_add(&env, "TALLY_ATTEMPT", ev->attempt);
	env_add(&env, "TALLY_DIGEST", ev->digest);
	env_add(&env, "TALLY_COMMIT", ev->commit);
	env_add(&env, "TALLY_REPO", repo_root);
	if (!env.v) /* unreachable: the list above is never empty */
		strv_push(&env, "TALLY_EVENT=");
	return env.v;
}

int notify_run(const char *tmpl, const char *repo_root, const char *state_dir,
	       const struct notify_event *ev, int cancel_fd, struct tally_err *err)
{
	char **argv = NULL;
	size_t nwords = 0;
	/* split only, as config.c checks it: the data travels in the environment */
	if (template_split(tmpl, &argv, &nwords, "tally.notify", err) < 0)
		return -1;
	char **env = notify_env(ev, repo_root);
	int fd = statedir_open_log(state_dir, "notify.log", NOTIFY_LOG_MAX);
	if (fd >= 0) {
		char when[32];
		util_iso8601((long long)time(NULL), when, sizeof when);
		char *head = xasprintf("== %s %s %s %s %s\n", when, ev->event ? ev->event : "",
				       ev->component ? ev->component : "", ev->version ? ev->version : "-",
				       ev->result ? ev->result : "");
		if (write(fd, head, strlen(head)) < 0) {
			/* the log is a convenience: a full disk must not stop the notification */
		}
		free(head);
	}
	/* $TALLY_NOTIFY_TIMEOUT (seconds) is a knob for tests, like TALLY_HTTP_TIMEOUT */
	int limit = NOTIFY_TIMEOUT_S;
	const char *knob = getenv("TALLY_NOTIFY_TIMEOUT");
	if (knob && atoi(knob) > 0)
		limit = atoi(knob);
	struct run_opts ro = {
		.argv = argv, .cwd = repo_root, .env_add = env, .log_fd = fd,
		.timeout_s = limit, .cancel_fd = cancel_fd, .kill_grace = 2,
	};
	struct run_result rr = {0};
	int rc = runner_run(&ro, &rr, err);
	if (rc < 0) {
		tally_err_prefix(err, "tally.notify");
	} else if (rr.timed_out) {
		rc = tally_err_set(err, TC_INTERNAL, "tally.notify: %s ran past %d s and was stopped (see %s/logs/notify.log)",
				   argv[0], limit, state_dir);
	} else if (rr.cancelled) {
		rc = tally_err_set(err, TC_INTERNAL, "tally.notify: %s was cancelled (the engine is stopping)", argv[0]);
	} else if (!rr.exited) {
		rc = tally_err_set(err, TC_INTERNAL, "tally.notify: %s was killed by signal %d (see %s/logs/notify.log)",
				   argv[0], rr.status, state_dir);
	} else if (rr.status != 0) {
		rc = tally_err_set(err, TC_INTERNAL, "tally.notify: %s exited with status %d (see %s/logs/notify.log)",
				   argv[0], rr.status, state_dir);
	}
	if (fd >= 0)
		close(fd);
	template_argv_free(env);
	template_argv_free(argv);
	return rc < 0 ? -1 : 0;
}
