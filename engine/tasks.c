/* tasks.c - generic worker tasks (struct task): blocking work (registry,
 * git's network, notifications) run by a pool on copies and the const
 * struct work_ctx, handing back events for the engine thread to emit
 * (on_task_done). Which pool: e->repo_pool (ONE thread) for what writes the
 * repo or talks to its remote, e->check_pool for registry reads and
 * notifications. */
#include "engine_int.h"

static void task_run(struct work *w);
static void task_done(struct engine *e, struct work *w);
static void notify_work(struct task *t);
static void notify_then(struct engine *e, struct task *t);
static void on_task_done(struct engine *e, struct task *t);

static void task_run(struct work *w)
{
	struct task *t = (struct task *)w;
	t->work(t);
}

static void task_done(struct engine *e, struct work *w)
{
	on_task_done(e, (struct task *)w);
}

struct task *task_new(struct engine *e, struct job *j, struct comp_state *cs,
			     void (*work)(struct task *))
{
	struct task *t = xcalloc(1, sizeof *t);
	t->w.run = task_run;
	t->w.done = task_done;
	t->ctx = &e->wctx;
	t->cc = cs->cc;
	t->job = j;
	t->cs = cs;
	t->work = work;
	t->events = json_array();
	return t;
}

/* pool: e->repo_pool for what writes the repo or talks to its remote,
 * e->check_pool for registry reads and notifications */
void task_start(struct engine *e, struct task *t, struct pool *pool)
{
	t->job->outstanding++;
	e->running_tasks++;
	pool_submit(pool, &t->w);
}

void task_error(struct task *t, enum tally_class cls, const char *msg)
{
	json_array_append_new(t->events,
			      json_pack("{s:s, s:s, s:s, s:s}", "event", ev_name(EV_ERROR), "component",
					t->cc->name, "class", tally_class_name(cls), "message", msg));
	if (cls == TC_INPUT)
		t->input_error = 1;
	t->failed = 1;
}

/* Runs on a worker thread: the engine never waits for the command, and a
 * job ends only after its notifications did (at most NOTIFY_TIMEOUT_S), so
 * a batch command still shows a notification that failed. */
static void notify_work(struct task *t)
{
	json_t *o = t->nev;
	struct notify_event ev = {
		.event = jget_s(o, "event"), .result = jget_s(o, "result"),
		.component = jget_s(o, "component"), .version = jget_s(o, "version"),
		.previous = jget_s(o, "previous"), .action = jget_s(o, "action"),
		.cls = jget_s(o, "class"), .hint = jget_s(o, "hint"), .evidence = jget_s(o, "evidence"),
		.message = jget_s(o, "message"), .log = jget_s(o, "log"), .attempt = jget_s(o, "attempt"),
		.digest = jget_s(o, "digest"), .commit = jget_s(o, "commit"),
	};
	struct tally_err err = {0};
	if (notify_run(t->ctx->conf->notify, t->ctx->root, t->ctx->state_dir, &ev, t->ctx->cancel_fd, &err) < 0)
		json_array_append_new(t->events,
				      json_pack("{s:s, s:s, s:s, s:s, s:b}", "event", ev_name(EV_ERROR), "component",
						t->cc->name, "class", "internal", "message", err.msg,
						"warning", 1));
}

/* A notification counts neither as a success nor as a failure of the job. */
static void notify_then(struct engine *e, struct task *t)
{
	(void)e;
	(void)t;
}

/* Takes fields (an object of strings or nulls, named as in notify_work). */
void notify_start(struct engine *e, struct job *j, struct comp_state *cs, json_t *fields)
{
	if (!e->conf->notify || !*e->conf->notify) {
		json_decref(fields);
		return;
	}
	struct task *t = task_new(e, j, cs, notify_work);
	t->nev = fields;
	t->then = notify_then;
	task_start(e, t, e->check_pool);
}

static void on_task_done(struct engine *e, struct task *t)
{
	e->cur_job = t->job->id;
	e->running_tasks--;
	size_t i;
	json_t *ev;
	struct job *j = t->job;
	if (strcmp(j->cmd, "verify") == 0 && t->cs) {
		/* verify answers in config order, whichever task ends first */
		if (!j->ordered) {
			j->ordered = json_array();
			for (size_t k = 0; k < e->n; k++)
				json_array_append_new(j->ordered, json_null());
		}
		json_array_set(j->ordered, (size_t)(t->cs - e->cs), t->events);
	} else {
		json_array_foreach(t->events, i, ev)
			emit(e, json_incref(ev));
	}
	if (t->then) {
		t->then(e, t);
	} else if (t->failed)
		j->failed++;
	else
		j->ok++;
	j->input_error |= t->input_error;
	j->mismatch |= t->mismatch;
	refresh_record(e, t->cs);
	status_touch(e, t->cs);   /* a hold, an adopt, a repair */
	json_decref(t->events);
	json_decref(t->nev);
	free(t->version);
	free(t->digest);
	free(t->reason);
	strv_free(&t->problems);
	strv_free(&t->warnings);
	free(t->sel);
	plan_free(t->plan);
	free(t);
	job_done_one(e, j);
}
