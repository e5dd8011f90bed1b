/* engine.c - the engine's loop and lifecycle: engine_open (before any
 * thread: lock, repairs, ledger, config), the engine thread's loop
 * (engine_main: commands, worker results and progress from the inbox; the
 * schedule's tick), shutdown (pools joined, never detached) and the public
 * accessors of engine.h.
 *
 * Threads: the engine thread (engine_main) owns every struct comp_state,
 * the job list, the ledger in memory and its own git_repository; it is the
 * only one that decides anything. It never calls a recorder_* function and
 * never waits on git's network or HTTP: that work runs in the pools of
 * workers.c (see engine_int.h). Front ends call the public functions from
 * their own threads: engine_submit and engine_next_event go through the
 * queues, engine_jobs is atomic, the rest reads what is fixed after open.
 * The model is redis bio.c: hand results back under a lock and wake the
 * owner; never share a handle (git, curl) between threads. */
#include "engine_int.h"
#include "hostname.h"

static const char *comp_name_at(const void *ctx, size_t i);
static void work_finished(void *ctx, struct work *w);
static void compact_ledger(struct engine *e);
static void maybe_compact(struct engine *e);
static void *engine_main(void *arg);
static void ledger_warn(void *ctx, const char *msg);
int engine_open(const struct engine_opts *o, struct engine **out, int *busy,
		struct tally_err *err);
int engine_jobs(struct engine *e);
void engine_set_live_logs(struct engine *e, int on);
void engine_serve(struct engine *e);
int engine_shutdown(struct engine *e, double grace);
int engine_start(struct engine *e);
void engine_submit(struct engine *e, json_t *cmd);
json_t *engine_next_event(struct engine *e, int timeout_ms);
int engine_event_fd(struct engine *e);
void engine_cancel(struct engine *e);
const struct tally_conf *engine_conf(const struct engine *e);
const struct strv *engine_warnings(const struct engine *e);
void engine_free(struct engine *e);
const char *engine_socket_path(const struct engine *e);
const char *engine_state_dir(const struct engine *e);
const char *engine_root(const struct engine *e);
int engine_locate(const struct engine_opts *o, struct engine_location *loc, struct tally_err *err);
void engine_location_free(struct engine_location *loc);

static const char *comp_name_at(const void *ctx, size_t i)
{
	const struct engine *e = ctx;
	return e->cs[i].cc->name;
}

/* A pool's finished hook: the work goes back to the engine thread. */
static void work_finished(void *ctx, struct work *w)
{
	queue_push(ctx, M_WORK_DONE, NULL, w);
}

/* SPEC section 9: the ledger and the logs follow tally.logKeep. Compacted
 * at start, and between messages once the ledger grew by an eighth (at
 * least 8 lines) while no attempt runs (no worker appends meanwhile, and
 * no command holds an entry of e->ledger). */
static void compact_ledger(struct engine *e)
{
	struct tally_err err = {0};
	if (ledger_compact(e->state_dir, &e->ledger, e->conf->log_keep, &err) < 0)
		strv_push(&e->warnings, err.msg);
	e->ledger_compacted = json_array_size(e->ledger);
}

static void maybe_compact(struct engine *e)
{
	size_t n = json_array_size(e->ledger);
	if (e->running_attempts || e->nwaiting || n < e->ledger_compacted + 8 ||
	    (n - e->ledger_compacted) * 8 < e->ledger_compacted)
		return;
	compact_ledger(e);
}

static void *engine_main(void *arg)
{
	struct engine *e = arg;
	struct tally_err err = {0};
	if (repo_open(e->root, &e->repo, &err) < 0) {
		emit_error(e, NULL, TC_INPUT, err.msg);
		outbox_flush(e);
		return NULL;
	}
	refresh_records(e, NULL, 0);
	schedule_tick(e);
	for (;;) {
		e->cur_job = -1;
		outbox_flush(e);   /* this iteration's events, readers woken once */
		struct msg *m = queue_pop(&e->inbox, schedule_wait_ms(e));
		if (!m) {
			schedule_tick(e);
			status_flush(e);
			continue;
		}
		switch (m->kind) {
		case M_CMD:
			on_command(e, m->json);
			json_decref(m->json);
			break;
		case M_PROGRESS:
			on_progress(e, m->ptr, m->json);
			break;
		case M_WORK_DONE: {
			struct work *w = m->ptr;
			w->done(e, w);
			break;
		}
		case M_QUIT:
			e->quitting = 1;
			cancel_waiting(e);
			break;
		}
		free(m);
		schedule_tick(e);
		maybe_compact(e);
		status_flush(e);   /* what this message changed, in one batch */
		if (e->quitting && !e->running_attempts && !e->running_checks && !e->running_tasks)
			break;
	}
	/* nothing runs: the pools' threads are idle; join them */
	pool_free(e->check_pool);
	pool_free(e->attempt_pool);
	pool_free(e->repo_pool);
	e->check_pool = e->attempt_pool = e->repo_pool = NULL;
	save_checks(e);
	parsecache_free(e->pc);
	e->pc = NULL;
	recindex_free(e->ri);
	e->ri = NULL;
	free(e->hold_names);
	e->hold_names = NULL;
	git_repository_free(e->repo);
	e->repo = NULL;
	outbox_flush(e);
	return NULL;
}

static void ledger_warn(void *ctx, const char *msg)
{
	strv_push(ctx, msg);
}

int engine_open(const struct engine_opts *o, struct engine **out, int *busy,
		struct tally_err *err)
{
	*busy = 0;
	*out = NULL;
	git_repository *repo = NULL;
	struct engine *e = xcalloc(1, sizeof *e);
	e->cancel[0] = e->cancel[1] = -1;
	e->outbox.wake[0] = e->outbox.wake[1] = -1;
	e->cur_job = -1;
	e->live_logs = 1;
	const char *dir = o->dir ? o->dir : getenv("TALLY_REPO");
	if (!dir || !*dir)
		dir = ".";
	if (repo_open(dir, &repo, err) < 0)
		goto fail;
	char real[PATH_MAX];
	const char *wd = git_repository_workdir(repo);
	e->root = xstrdup(realpath(wd, real) ? real : wd);
	e->git_dir = xstrdup(git_repository_path(repo));
	e->conf_path = o->config_path ? xstrdup(o->config_path) : xasprintf("%s/tally.conf", e->root);
	if (config_load(e->conf_path, &e->conf, err) < 0)
		goto fail;
	if (host_name_resolve(repo, &e->conf->host, &e->conf->host_named, err) < 0)
		goto fail;
	if (repo_branch_ref(repo, e->conf->branch, &e->refname, err) < 0)
		goto fail;
	if (e->conf->branch) {
		/* records are written to the working tree: it must be that branch */
		git_reference *head = NULL;
		int ok = git_reference_lookup(&head, repo, "HEAD") == 0 &&
			 git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
			 strcmp(git_reference_symbolic_target(head), e->refname) == 0;
		git_reference_free(head);
		if (!ok) {
			tally_err_set(err, TC_INPUT,
				      "%s: tally.branch is '%s' but another branch is checked out; check out '%s' first",
				      e->conf_path, e->conf->branch, e->conf->branch);
			goto fail;
		}
	}
	git_repository_free(repo);
	repo = NULL;
	e->state_dir = statedir_path(e->root, o->state_dir, e->conf->state_dir);
	if (statedir_ensure(e->state_dir, e->conf->group, err) < 0)
		goto fail;
	char *sock = server_socket_path(e->state_dir);
	e->socket_path = xstrdup(sock);
	int r = statedir_lock(e->git_dir, sock, &e->lock, busy, err);
	free(sock);
	if (r < 0)
		goto fail;
	/* before anything runs: end what a killed engine left running */
	if (runner_track_start(e->state_dir, &e->warnings, err) < 0)
		goto fail;
	pipeline_sweep_secrets(e->state_dir, &e->warnings);
	recorder_clear_stale_locks(e->root, e->conf, &e->warnings);
	if (recorder_repair(e->root, e->conf, &e->warnings, err) < 0)
		goto fail;
	if (ledger_load(e->state_dir, &e->ledger, ledger_warn, &e->warnings, err) < 0)
		goto fail;
	compact_ledger(e);
	e->ri = recindex_load(e->state_dir, &e->warnings);   /* STATE/recindex: walk only what is new */
	e->n = e->conf->ncomps;
	e->cs = xcalloc(e->n, sizeof *e->cs);
	for (size_t i = 0; i < e->n; i++) {
		e->cs[i].cc = &e->conf->comps[i];
		e->cs[i].self_host = e->conf->host;
	}
	e->names = nameindex_new(e->n, comp_name_at, e);
	e->status_dirty = xcalloc(e->n + 1, 1);
	e->status_sent = xcalloc(e->n + 1, sizeof *e->status_sent);
	size_t i;
	json_t *ent;
	json_array_foreach(e->ledger, i, ent) {
		const char *c = jget_s(ent, "component");
		struct comp_state *cs = c ? find_comp(e, c) : NULL;
		if (cs && jget_s(ent, "version") && jget_s(ent, "result"))
			apply_ledger_entry(cs, ent);
	}
	for (size_t k = 0; k < e->n; k++) {
		struct comp_state *cs = &e->cs[k];
		const char *expr = cs->cc->schedule ? cs->cc->schedule : e->conf->schedule;
		char *ctx = cs->cc->schedule ? xasprintf("%s: component.%s.schedule", e->conf_path, cs->cc->name)
					     : xasprintf("%s: tally.schedule", e->conf_path);
		int r2 = cron_parse(expr, &cs->cron, ctx, err);
		free(ctx);
		if (r2 < 0)
			goto fail;
	}
	json_array_foreach(e->ledger, i, ent) {
		const char *c = jget_s(ent, "component");
		struct comp_state *cs = c ? find_comp(e, c) : NULL;
		if (cs)
			note_result(cs, jget_s(ent, "result"), jget_s(ent, "class"),
				    json_integer_value(json_object_get(ent, "ended")), 0);
	}
	load_schedule(e);
	load_checks(e);
	queue_init(&e->inbox, 0);
	queue_init(&e->outbox, 1);
	if (pipe2(e->cancel, O_CLOEXEC) < 0) {
		tally_err_set(err, TC_INTERNAL, "pipe: %s", strerror(errno));
		goto fail;
	}
	e->wctx = (struct work_ctx){
		.conf = e->conf, .root = e->root, .state_dir = e->state_dir, .cancel_fd = e->cancel[0],
	};
	e->check_pool = pool_new("check", MAX_CHECKS, work_finished, &e->inbox);
	e->attempt_pool = pool_new("attempt", e->conf->parallel, work_finished, &e->inbox);
	e->repo_pool = pool_new("repo", 1, work_finished, &e->inbox);
	*out = e;
	return 0;
fail:
	git_repository_free(repo);
	engine_free(e);
	return -1;
}

int engine_jobs(struct engine *e)
{
	return __atomic_load_n(&e->njobs, __ATOMIC_SEQ_CST);
}

void engine_set_live_logs(struct engine *e, int on)
{
	e->live_logs = on;
}

void engine_serve(struct engine *e)
{
	e->serving = 1;
}

int engine_shutdown(struct engine *e, double grace)
{
	if (!e->started)
		return 0;
	queue_push(&e->inbox, M_QUIT, NULL, NULL);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)grace;
	int cancelled = 0;
	if (pthread_timedjoin_np(e->thread, NULL, &ts) != 0) {
		engine_cancel(e);
		cancelled = 1;
		pthread_join(e->thread, NULL);
	}
	e->started = 0;
	return cancelled;
}

int engine_start(struct engine *e)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&e->thread, NULL, engine_main, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	e->started = 1;
	e->started_at = now_s();
	return 0;
}

void engine_submit(struct engine *e, json_t *cmd)
{
	queue_push(&e->inbox, M_CMD, cmd, NULL);
}

json_t *engine_next_event(struct engine *e, int timeout_ms)
{
	struct msg *m = queue_pop(&e->outbox, timeout_ms);
	if (!m)
		return NULL;
	json_t *j = m->json;
	free(m);
	return j;
}

int engine_event_fd(struct engine *e)
{
	return e->outbox.wake[0];
}

void engine_cancel(struct engine *e)
{
	if (e->cancel[1] >= 0 && write(e->cancel[1], "c", 1) < 0) {
		/* already cancelled */
	}
}

const struct tally_conf *engine_conf(const struct engine *e)
{
	return e->conf;
}

const struct strv *engine_warnings(const struct engine *e)
{
	return &e->warnings;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	if (e->started) {
		queue_push(&e->inbox, M_QUIT, NULL, NULL);
		pthread_join(e->thread, NULL);
	}
	pending_clear(&e->out_pending);
	struct msg *m;
	while (e->outbox.wake[0] >= 0 && (m = queue_pop(&e->outbox, 0))) {
		json_decref(m->json);
		free(m);
	}
	for (size_t i = 0; i < e->n; i++) {
		comp_state_free(&e->cs[i]);
		if (e->status_sent)
			json_decref(e->status_sent[i]);
	}
	free(e->status_dirty);
	free(e->status_sent);
	free(e->cs);
	nameindex_free(e->names);
	pool_free(e->check_pool);
	pool_free(e->attempt_pool);
	pool_free(e->repo_pool);
	free_waiters(e);
	free(e->waiting);
	free(e->check_wait);
	json_decref(e->ledger);
	strv_free(&e->warnings);
	if (e->lock)
		runner_track_stop();
	statedir_unlock(e->lock);
	crashpoint_pause("after-unlock");
	config_free(e->conf);
	for (int i = 0; i < 2; i++) {
		if (e->cancel[i] >= 0)
			close(e->cancel[i]);
		if (e->outbox.wake[i] >= 0)
			close(e->outbox.wake[i]);
	}
	free(e->root);
	free(e->socket_path);
	free(e->git_dir);
	free(e->conf_path);
	free(e->state_dir);
	free(e->refname);
	free(e->checks_text);
	free(e);
}

const char *engine_socket_path(const struct engine *e)
{
	return e->socket_path;
}

const char *engine_state_dir(const struct engine *e)
{
	return e->state_dir;
}

const char *engine_root(const struct engine *e)
{
	return e->root;
}

int engine_locate(const struct engine_opts *o, struct engine_location *loc, struct tally_err *err)
{
	memset(loc, 0, sizeof *loc);
	git_repository *repo = NULL;
	const char *dir = o->dir ? o->dir : getenv("TALLY_REPO");
	if (!dir || !*dir)
		dir = ".";
	if (repo_open(dir, &repo, err) < 0)
		return -1;
	char real[PATH_MAX];
	const char *wd = git_repository_workdir(repo);
	loc->root = xstrdup(realpath(wd, real) ? real : wd);
	loc->git_dir = xstrdup(git_repository_path(repo));
	git_repository_free(repo);
	char *sock = NULL;
	long pid = 0;
	if (statedir_lock_info(loc->git_dir, &pid, &sock) == 0 && sock && *sock) {
		loc->socket_path = sock;
		loc->pid = pid;
	} else {
		free(sock);
	}
	return 0;
}

void engine_location_free(struct engine_location *loc)
{
	free(loc->root);
	free(loc->git_dir);
	free(loc->socket_path);
	memset(loc, 0, sizeof *loc);
}
