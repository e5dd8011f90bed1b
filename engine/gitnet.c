/* gitnet.c - the environment and the failure class of network git
 * commands (see gitnet.h). Pure apart from reading git config; no threads. */
#include "gitnet.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"

static int ssh_chosen(const char *repo_dir)
{
	if (getenv("GIT_SSH_COMMAND") || getenv("GIT_SSH"))
		return 1;
	git_repository *repo = NULL;
	git_config *cfg = NULL, *snap = NULL;
	int chosen = 0;
	if (repo_dir && git_repository_open_ext(&repo, repo_dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0)
		git_repository_config(&cfg, repo);
	else
		git_config_open_default(&cfg);
	if (cfg && git_config_snapshot(&snap, cfg) == 0) {
		const char *v = NULL;
		chosen = git_config_get_string(&v, snap, "core.sshCommand") == 0 && v && *v;
	}
	git_config_free(snap);
	git_config_free(cfg);
	git_repository_free(repo);
	return chosen;
}

void gitnet_env(struct strv *env, const char *repo_dir, int idle_s)
{
	if (idle_s < 1)
		idle_s = 30;
	strv_push(env, "GIT_TERMINAL_PROMPT=0");
	strv_push(env, "GIT_HTTP_LOW_SPEED_LIMIT=1");
	strv_push_owned(env, xasprintf("GIT_HTTP_LOW_SPEED_TIME=%d", idle_s));
	if (!ssh_chosen(repo_dir)) {
		int alive = idle_s / 3 > 0 ? idle_s / 3 : 1;
		strv_push_owned(env, xasprintf("GIT_SSH_COMMAND=ssh -o ConnectTimeout=%d -o ServerAliveInterval=%d "
					       "-o ServerAliveCountMax=3", idle_s, alive));
	}
}

enum tally_class gitnet_class(int timed_out, const char *out, size_t len)
{
	if (timed_out)
		return TC_NETWORK;
	/* curl's and ssh's words for a remote that stopped answering */
	static const char *const slow[] = {"Operation too slow", "Operation timed out", "Connection timed out",
					   "Timeout, server", "timed out"};
	struct sbuf sb = {0};
	sbuf_add(&sb, out ? out : "", out ? len : 0);
	enum tally_class cls = TC_CLASS_COUNT;
	for (size_t i = 0; i < sizeof slow / sizeof slow[0] && cls == TC_CLASS_COUNT; i++)
		if (strstr(sbuf_str(&sb), slow[i]))
			cls = TC_NETWORK;
	sbuf_free(&sb);
	if (cls == TC_CLASS_COUNT)
		cls = classify("record", 0, out, len);
	return cls;
}
