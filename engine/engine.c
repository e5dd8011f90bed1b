/* DESIGN: three kinds of threads.
 * - The engine thread (engine_main) owns every struct comp_state, the job
 *   list and its own git_repository. It sleeps on the inbox and is the only
 *   one that decides anything or writes the ledger.
 * - Task threads (one per upstream check or attempt, detached, all signals
 *   blocked) do blocking work on copies of what they need and post their
 *   results and progress back to the inbox.
 * - Front ends read events from the outbox (mutex + cond, plus a pipe that
 *   is readable while events are queued, for poll loops).
 * The model is redis bio.c: hand results back under a lock and wake the
 * owner; never share a handle (git, curl) between threads. */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "bases.h"
#include "classify.h"
#include "crashpoint.h"
#include "cron.h"
#include "holds.h"
#include "http.h"
#include "ledger.h"
#include "health.h"
#include "notify.h"
#include "nameindex.h"
#include "parsecache.h"
#include "recindex.h"
#include "pipeline.h"
#include "recorder.h"
#include "runner.h"
#include "registry.h"
#include "repo.h"
#include "server.h"
#include "statedir.h"
#include "upstream.h"
#include "util.h"
#include "version.h"
#include "versionfile.h"

#define MAX_CHECKS 32   /* check threads; http.c bounds requests per host (HTTP_PER_HOST) */

/* ---- queues ---------------------------------------------------------- */

struct msg {
	struct msg *next;
	int kind;
	json_t *json;
	void *ptr;
	size_t bytes;     /* live log bytes it carries */
};

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct msg *head, *tail;
	size_t bytes;     /* live log bytes queued */
	int wake[2];      /* outbox only: readable while non-empty */
};

static void queue_init(struct queue *q, int with_pipe)
{
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->head = q->tail = NULL;
	q->wake[0] = q->wake[1] = -1;
	if (with_pipe && pipe2(q->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		q->wake[0] = q->wake[1] = -1;
}

static void queue_push_sized(struct queue *q, int kind, json_t *json, void *ptr, size_t bytes)
{
	struct msg *m = xcalloc(1, sizeof *m);
	m->kind = kind;
	m->json = json;
	m->ptr = ptr;
	m->bytes = bytes;
	pthread_mutex_lock(&q->mu);
	q->bytes += bytes;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	if (q->wake[1] >= 0 && write(q->wake[1], "x", 1) < 0) {
		/* pipe full means already readable */
	}
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void queue_push(struct queue *q, int kind, json_t *json, void *ptr)
{
	queue_push_sized(q, kind, json, ptr, 0);
}

static size_t queue_bytes(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t b = q->bytes;
	pthread_mutex_unlock(&q->mu);
	return b;
}

static struct msg *queue_pop(struct queue *q, int timeout_ms)
{
	pthread_mutex_lock(&q->mu);
	if (!q->head && timeout_ms != 0) {
		if (timeout_ms < 0) {
			while (!q->head)
				pthread_cond_wait(&q->cv, &q->mu);
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += timeout_ms / 1000;
			ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			while (!q->head)
				if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) == ETIMEDOUT)
					break;
		}
	}
	struct msg *m = q->head;
	if (m) {
		q->bytes -= m->bytes;
		q->head = m->next;
		if (!q->head) {
			q->tail = NULL;
			char buf[256];
			while (q->wake[0] >= 0 && read(q->wake[0], buf, sizeof buf) > 0)
				;
		}
	}
	pthread_mutex_unlock(&q->mu);
	return m;
}

/* ---- state ----------------------------------------------------------- */

struct task;
enum { M_CMD, M_CHECK_DONE, M_PROGRESS, M_ATTEMPT_DONE, M_TASK_DONE, M_QUIT };

struct job {
	struct job *next;
	json_int_t id;
	char *cmd;
	int dry_run, no_push;
	char *version;
	int outstanding;
	int ok, failed, input_error, mismatch;
	json_t *ordered;            /* check: events held back to come out in config order */
	json_t *base_digests;       /* base image -> digest or {"error": msg}, read once per job */
	unsigned char *pending;     /* run: per component, its part of the job is not settled */
	struct comp_state **deferred;   /* run: checked, waiting for its after components */
	size_t ndeferred;
};

struct comp_state {
	const struct comp_conf *cc;
	char *recorded;
	int record_error;           /* version file unreadable */
	char *record_msg;
	struct strv upstream;       /* last check, newest first */
	int checked;
	enum tally_class up_cls;
	char *up_msg;
	size_t up_aliases;          /* tags with no digit the last check passed over */
	long long checked_at, retry_at;
	char *built;
	const char *stage;          /* NULL, or the running attempt's state word */
	int unpushed;               /* a record commit of it is not on the remote yet */
	struct attempt *running;
	/* last attempt (ledger) */
	char *last_result, *last_version, *last_class, *last_message;
	long long last_ended;
	json_t *last_evidence;      /* {stage, argv, exit, line} of a failed command, or NULL */
	char *last_log;
	/* schedule */
	struct cron *cron;
	long long last_sched;       /* last scheduled run started (schedule.json) */
	long long sched_from;       /* runs due before this are not made up (fresh state, pinned, paused) */
	int transient_failures;     /* in a row */
	long long retry_due;        /* backoff: 0 when none */
	json_t *bases;              /* last check: [{image, digest, built_on, component?, error?}] */
};

struct check_task {
	struct engine *e;
	struct job *job;
	struct comp_state *cs;
	struct upstream_result res;
	struct strv base_refs;      /* bases read from the registry by the check thread */
	json_t *bases;              /* check thread: [{image, digest|null, error?}] */
	char *base_error;           /* the recipe's FROM lines could not be read */
};

struct engine {
	char *root, *git_dir, *conf_path, *state_dir, *refname, *socket_path;
	struct tally_conf *conf;
	struct tally_lock *lock;
	git_repository *repo;       /* engine thread only */
	struct parsecache *pc;      /* version files and holds by blob id (engine thread) */
	struct recindex *ri;        /* record commits of every component (engine thread) */
	struct nameindex *names;    /* component name -> index in cs (find_comp) */
	size_t ledger_compacted;    /* e->ledger's size after the last compaction */
	const char **hold_names;    /* the components' names, for the holds check */
	struct comp_state *cs;
	size_t n;
	struct queue inbox, outbox;
	pthread_t thread;
	int started;
	long long started_at;       /* epoch seconds, for health */
	struct job *jobs;
	struct attempt **waiting;   /* planned attempts waiting for a slot */
	size_t nwaiting, capwaiting;
	struct check_task **check_wait;
	size_t ncheck_wait, capcheck_wait;
	struct waiter *waiters;     /* commands waiting for a busy component */
	int running_attempts, running_checks, running_tasks;
	int quitting;
	int serving;                /* tally serve: the schedule runs */
	int sched_dirty;            /* schedule.json needs writing */
	long long sched_seen;       /* the last schedule tick (status goes out when a cron time passed) */
	int live_logs;              /* attempts post their output as "log" events */
	json_int_t cur_job;         /* job whose events are being emitted; -1 none */
	int cancel[2];
	json_t *ledger;
	struct strv warnings;
	unsigned seq;
	int njobs;                  /* commands in flight (any thread reads it) */
	pthread_mutex_t base_mu;    /* job->base_digests, shared by check threads */
};

static void refresh_unpushed(struct engine *e);
static struct comp_state *base_component(struct engine *e, const struct comp_state *self,
					 const char *ref);
static void comp_bases_refresh(struct engine *e, struct comp_state *cs, json_t *read);
static const char *base_moved(const struct comp_state *cs);
static void settle(struct engine *e, struct job *j, struct comp_state *cs);
static void on_task_done(struct engine *e, struct task *t);
static void notify_start(struct engine *e, struct job *j, struct comp_state *cs, json_t *fields);

static void emit(struct engine *e, json_t *ev)
{
	if (!json_object_get(ev, "schema"))
		json_object_set_new(ev, "schema", json_integer(1));
	/* which command this event answers, so a client attached to a busy
	 * engine can pick its own events out of the stream */
	if (e->cur_job >= 0 && !json_object_get(ev, "job"))
		json_object_set_new(ev, "job", json_integer(e->cur_job));
	queue_push(&e->outbox, 0, ev, NULL);
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jtime(long long t)
{
	if (t <= 0)
		return json_null();
	char buf[32];
	util_iso8601(t, buf, sizeof buf);
	return json_string(buf);
}

static void emit_error(struct engine *e, const char *component, enum tally_class cls,
		       const char *msg)
{
	emit(e, json_pack("{s:s, s:o, s:o, s:s}", "event", "error", "component", jstr(component),
			  "class", cls == TC_NONE ? json_null() : json_string(tally_class_name(cls)),
			  "message", msg));
}

/* ---- reading state --------------------------------------------------- */

static void free_str(char **p)
{
	free(*p);
	*p = NULL;
}

/* The record of cs at the branch head, from the version file parsed once
 * per blob (parsecache): a pass over every component parses each file once.
 * The same checks and messages as recorder_read_record. */
static void refresh_record(struct engine *e, struct comp_state *cs)
{
	struct tally_err err = {0};
	free_str(&cs->recorded);
	free_str(&cs->record_msg);
	cs->record_error = 0;
	git_commit *head = NULL;
	const struct vfile *vf = NULL;
	int rc = repo_branch_commit(e->repo, e->refname, &head, &err);
	if (rc == 0) {
		if (!e->pc)
			e->pc = parsecache_new();
		rc = parsecache_vfile(e->pc, e->repo, head, cs->cc->file, 0, &vf, &err);
	}
	const char *v = rc == 0 ? versionfile_get(vf, cs->cc->key) : NULL;
	if (v && !version_valid(v))
		rc = tally_err_set(&err, TC_INPUT,
				   "%s:%d: the record of '%s' is not a valid version (OCI tag grammar); fix the file by hand",
				   cs->cc->file, versionfile_line(vf, cs->cc->key), cs->cc->key);
	else if (rc == 0)
		cs->recorded = v ? xstrdup(v) : NULL;
	git_commit_free(head);
	if (rc < 0) {
		cs->record_error = 1;
		cs->record_msg = xstrdup(err.msg);
	}
}

static const char *jget_s(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* built, last result and resume evidence come from the ledger */
static void apply_ledger_entry(struct comp_state *cs, json_t *ent)
{
	const char *v = jget_s(ent, "version");
	if (json_is_true(json_object_get(ent, "shipped"))) {
		free(cs->built);
		cs->built = xstrdup(v);
	}
	free(cs->last_result);
	free(cs->last_version);
	free(cs->last_class);
	free(cs->last_message);
	cs->last_result = xstrdup(jget_s(ent, "result"));
	cs->last_version = xstrdup(v);
	cs->last_class = xstrdup(jget_s(ent, "class"));
	cs->last_message = xstrdup(jget_s(ent, "message"));
	cs->last_ended = json_integer_value(json_object_get(ent, "ended"));
	json_decref(cs->last_evidence);
	json_t *ev = json_object_get(ent, "evidence");
	cs->last_evidence = json_is_object(ev) ? json_incref(ev) : NULL;
	free(cs->last_log);
	cs->last_log = xstrdup(jget_s(ent, "log"));
}

static long long now_s(void)
{
	return (long long)time(NULL);
}

/* Transient failures are retried with backoff (SPEC section 6); any other
 * result ends the series. */
static void note_result(struct comp_state *cs, const char *result, const char *cls,
			long long ended, long long rate_reset)
{
	enum tally_class k = cls ? tally_class_from_name(cls) : TC_NONE;
	if (result && strcmp(result, "failed") == 0 && k < TC_CLASS_COUNT && classify_transient(k)) {
		cs->transient_failures++;
		long long next = cs->cron ? cron_next(cs->cron, ended) : -1;
		cs->retry_due = backoff_next(cs->transient_failures, ended, next, rate_reset);
		if (cs->retry_due < 0)
			cs->retry_due = 0;
	} else if (result && strcmp(result, "verified") != 0) {
		cs->transient_failures = 0;
		cs->retry_due = 0;
	}
}

static const char *comp_name_at(const void *ctx, size_t i)
{
	const struct engine *e = ctx;
	return e->cs[i].cc->name;
}

/* hashed: called per ledger line at start and per event */
static struct comp_state *find_comp(struct engine *e, const char *name)
{
	if (!e->names)   /* built with cs, before any thread runs */
		return NULL;
	long i = nameindex_find(e->names, name);
	return i < 0 ? NULL : &e->cs[i];
}

static char *checks_path(struct engine *e)
{
	return xasprintf("%s/checks.json", e->state_dir);
}

/* The last check of every component survives the process in checks.json,
 * so `tally status` needs no network. */
static void load_checks(struct engine *e)
{
	char *path = checks_path(e);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (!root) {
		if (access(path, F_OK) == 0)
			strv_push_owned(&e->warnings, xasprintf("%s:%d: unreadable, ignored: %s", path,
								jerr.line, jerr.text));
		free(path);
		return;
	}
	free(path);
	const char *name;
	json_t *o;
	json_object_foreach(root, name, o) {
		struct comp_state *cs = find_comp(e, name);
		if (!cs || !json_is_object(o))
			continue;
		cs->checked = 1;
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(o, "versions"), i, v) {
			if (json_is_string(v) && version_valid(json_string_value(v)))
				strv_push(&cs->upstream, json_string_value(v));
		}
		const char *cls = jget_s(o, "class");
		cs->up_cls = cls ? tally_class_from_name(cls) : TC_NONE;
		if (cs->up_cls == TC_CLASS_COUNT)
			cs->up_cls = TC_INTERNAL;
		cs->up_msg = xstrdup(jget_s(o, "message"));
		cs->checked_at = json_integer_value(json_object_get(o, "checked_at"));
		cs->retry_at = json_integer_value(json_object_get(o, "retry_at"));
		json_t *bl = json_object_get(o, "bases");
		if (json_is_array(bl)) {
			cs->bases = json_array();
			json_array_foreach(bl, i, v)
				if (json_is_object(v) && jget_s(v, "image"))
					json_array_append_new(cs->bases, json_deep_copy(v));
		}
	}
	json_decref(root);
}

static void save_checks(struct engine *e)
{
	json_t *root = json_object();
	for (size_t i = 0; i < e->n; i++) {
		struct comp_state *cs = &e->cs[i];
		if (!cs->checked)
			continue;
		json_t *vs = json_array();
		for (size_t j = 0; j < cs->upstream.n && j < 50; j++)
			json_array_append_new(vs, json_string(cs->upstream.v[j]));
		json_object_set_new(root, cs->cc->name,
				    json_pack("{s:o, s:o, s:o, s:I, s:I}", "versions", vs, "class",
					      cs->up_cls ? json_string(tally_class_name(cs->up_cls)) : json_null(),
					      "message", jstr(cs->up_msg), "checked_at",
					      (json_int_t)cs->checked_at, "retry_at", (json_int_t)cs->retry_at));
		if (cs->bases) {
			json_t *bl = json_array();
			size_t k;
			json_t *v;
			json_array_foreach(cs->bases, k, v)
				json_array_append_new(bl, json_pack("{s:s, s:O, s:O}", "image", jget_s(v, "image"),
								    "digest", json_object_get(v, "digest") ?: json_null(),
								    "error", json_object_get(v, "error") ?: json_null()));
			json_object_set_new(json_object_get(root, cs->cc->name), "bases", bl);
		}
	}
	char *s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	char *path = checks_path(e);
	struct tally_err err = {0};
	if (atomicfile_write(path, s, strlen(s), 0600, &err) < 0)
		strv_push(&e->warnings, err.msg);
	free(path);
	free(s);
	json_decref(root);
}

static struct holds *read_holds(struct engine *e, struct tally_err *err)
{
	git_commit *head = NULL;
	struct holds *h = NULL;
	if (repo_branch_commit(e->repo, e->refname, &head, err) == 0) {
		if (!e->pc)
			e->pc = parsecache_new();
		if (!e->hold_names) {
			e->hold_names = xcalloc(e->n + 1, sizeof *e->hold_names);
			for (size_t i = 0; i < e->n; i++)
				e->hold_names[i] = e->cs[i].cc->name;
		}
		/* parsed once per blob; each caller's holds_free drops its ref */
		if (parsecache_holds(e->pc, e->repo, head, e->conf->holds_file, e->hold_names, e->n,
				     &h, err) == 0)
			holds_ref(h);
		else
			h = NULL;
	}
	git_commit_free(head);
	return h;
}

/* newest upstream version that is not skipped and is newer than the record,
 * were the component not pinned */
static const char *candidate_unpinned(const struct comp_state *cs, const struct holds *h)
{
	if (cs->up_cls != TC_NONE)
		return NULL;
	for (size_t i = 0; i < cs->upstream.n; i++) {
		const char *v = cs->upstream.v[i];
		if (h && holds_is_skipped(h, cs->cc->name, v))
			continue;
		if (!cs->recorded || version_compare(v, cs->recorded, cs->cc->order) > 0)
			return v;
		return NULL;
	}
	return NULL;
}

/* newest upstream version that is not skipped and is newer than the record */
static const char *candidate_of(const struct comp_state *cs, const struct holds *h)
{
	if (h && holds_pin(h, cs->cc->name))
		return NULL;
	return candidate_unpinned(cs, h);
}

static const char *state_of(const struct comp_state *cs, const struct holds *h, const char *cand)
{
	if (cs->stage)
		return cs->stage;
	if (cs->unpushed)
		return "recording";
	if (h && holds_pin(h, cs->cc->name))
		return "pinned";
	if (cs->last_result && strcmp(cs->last_result, "failed") == 0 && cand && cs->last_version &&
	    strcmp(cs->last_version, cand) == 0)
		return "failed";
	if (cs->record_error)
		return "unknown";
	if (cs->checked && cs->up_cls != TC_NONE)
		return "unknown";
	/* never read in this state directory: tally does not know yet */
	if (!cs->checked)
		return "unchecked";
	if (cand || !cs->recorded)
		return "outdated";
	if (base_moved(cs))
		return "base-moved";
	if (cs->upstream.n && version_compare(cs->recorded, cs->upstream.v[0], cs->cc->order) > 0)
		return "ahead";
	return "current";
}

static int engine_paused(struct engine *e);

/* When the schedule will next run this component: null while pinned,
 * paused, or for manual upstreams. */
static long long next_run_of(struct engine *e, const struct comp_state *cs, const struct holds *h)
{
	if (!cs->cron || (h && holds_pin(h, cs->cc->name)) || upstream_is_manual(cs->cc) || engine_paused(e))
		return 0;
	long long now = now_s();
	long long next = cron_next(cs->cron, now);
	if (cs->retry_due > 0 && (next < 0 || cs->retry_due < next))
		next = cs->retry_due > now ? cs->retry_due : now;
	return next > 0 ? next : 0;
}

static json_t *status_json(struct engine *e, struct comp_state *cs, const struct holds *h,
			   const char *event)
{
	const char *cand = candidate_of(cs, h);
	const char *cls = NULL, *msg = NULL;
	json_t *evidence = NULL;
	if (cs->record_error) {
		cls = "input";
		msg = cs->record_msg;
	} else if (cs->checked && cs->up_cls != TC_NONE) {
		cls = tally_class_name(cs->up_cls);
		msg = cs->up_msg;
	} else if (cs->last_result && strcmp(cs->last_result, "failed") == 0) {
		cls = cs->last_class;
		msg = cs->last_message;
		evidence = cs->last_evidence;
	}
	json_t *st = json_pack("{s:i, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "schema", 1, "event", event, "component", cs->cc->name, "key", cs->cc->key,
			 "file", cs->cc->file, "recorded", jstr(cs->recorded), "upstream",
			 cs->upstream.n && cs->up_cls == TC_NONE ? json_string(cs->upstream.v[0]) : json_null(),
			 "candidate", jstr(cand), "built", jstr(cs->built), "state", state_of(cs, h, cand),
			 "class", jstr(cls), "message", jstr(msg), "checked_at", jtime(cs->checked_at),
			 "retry_at", jtime(cs->retry_due ? cs->retry_due : cs->retry_at), "next_run",
			 jtime(next_run_of(e, cs, h)), "last_result", jstr(cs->last_result), "last_at",
			 jtime(cs->last_ended));
	json_object_set_new(st, "evidence", evidence ? json_incref(evidence) : json_null());
	json_object_set_new(st, "log", jstr(cs->last_log));
	/* skipped versions are listed beside the state (SPEC section 2) */
	json_t *skipped = json_array();
	for (size_t i = 0; h && i < holds_count(h); i++) {
		const struct hold *hd = holds_at(h, i);
		if (hd->kind == HOLD_SKIP && strcmp(hd->component, cs->cc->name) == 0)
			json_array_append_new(skipped, json_string(hd->version));
	}
	json_object_set_new(st, "skipped", skipped);
	/* a pin, its reason and what unpinning would do: nothing at once; the
	 * next scheduled run ships the candidate */
	const struct hold *pin = h ? holds_pin(h, cs->cc->name) : NULL;
	if (pin) {
		long long next = 0;
		if (cs->cron && !upstream_is_manual(cs->cc) && !engine_paused(e))
			next = cron_next(cs->cron, now_s());
		json_object_set_new(st, "pin", json_pack("{s:s, s:s, s:o, s:o}", "version", pin->version, "reason",
							pin->reason, "ships", jstr(candidate_unpinned(cs, h)),
							"next_run", jtime(next)));
	} else {
		json_object_set_new(st, "pin", json_null());
	}
	json_t *bases = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(cs->bases, i, v)
		json_array_append_new(bases, json_pack("{s:s, s:O, s:O}", "image", jget_s(v, "image"), "digest",
						       json_object_get(v, "digest"), "built_on",
						       json_object_get(v, "built_on")));
	json_object_set_new(st, "bases", bases);
	if (cs->cc->platforms.n) {
		json_t *pl = json_array();
		for (size_t k = 0; k < cs->cc->platforms.n; k++)
			json_array_append_new(pl, json_string(cs->cc->platforms.v[k]));
		json_object_set_new(st, "platforms", pl);
	}
	return st;
}

/* A component's status changed: front ends attached to a serving engine
 * get it pushed, not only when they ask (batch output is left alone). */
static void push_status(struct engine *e, struct comp_state *cs)
{
	if (!e->serving)
		return;
	struct holds *h = read_holds(e, NULL);
	json_int_t job = e->cur_job;
	e->cur_job = -1;
	emit(e, status_json(e, cs, h, "status"));
	e->cur_job = job;
	holds_free(h);
}

/* ---- jobs ------------------------------------------------------------ */

static struct job *job_new(struct engine *e, json_t *cmd)
{
	struct job *j = xcalloc(1, sizeof *j);
	j->id = json_integer_value(json_object_get(cmd, "id"));
	j->cmd = xstrdup(jget_s(cmd, "cmd"));
	j->dry_run = json_is_true(json_object_get(cmd, "dry_run"));
	j->no_push = json_is_true(json_object_get(cmd, "no_push"));
	j->version = xstrdup(jget_s(cmd, "version"));
	e->cur_job = j->id;
	j->next = e->jobs;
	e->jobs = j;
	__atomic_add_fetch(&e->njobs, 1, __ATOMIC_SEQ_CST);
	return j;
}

static void job_finish(struct engine *e, struct job *j)
{
	e->cur_job = j->id;
	size_t oi;
	json_t *oev;
	json_array_foreach(j->ordered, oi, oev) {
		size_t ai;
		json_t *aev;
		if (json_is_array(oev))
			json_array_foreach(oev, ai, aev)
				emit(e, json_incref(aev));
		else if (!json_is_null(oev))
			emit(e, json_incref(oev));
	}
	json_decref(j->ordered);
	json_decref(j->base_digests);
	free(j->pending);
	free(j->deferred);
	http_cache_flush(1);   /* the job's answers are on disk before it is done */
	int code = j->input_error ? 2 : j->mismatch ? 4 : j->failed ? 1 : 0;
	emit(e, json_pack("{s:s, s:i, s:i, s:i}", "event", "summary", "ok", j->ok, "failed", j->failed,
			  "exit", code));
	emit(e, json_pack("{s:s, s:I, s:i}", "event", "done", "id", j->id, "exit", code));
	for (struct job **p = &e->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	free(j->cmd);
	free(j->version);
	free(j);
	__atomic_sub_fetch(&e->njobs, 1, __ATOMIC_SEQ_CST);
}

static void job_done_one(struct engine *e, struct job *j)
{
	if (--j->outstanding == 0)
		job_finish(e, j);
}

static void usage_error(struct engine *e, json_t *cmd, const char *msg);

/* Resolves the command's component list. An unknown name ends the command
 * as a usage error (exit 2) and returns -1. */
static int select_comps(struct engine *e, json_t *cmd, struct comp_state ***out, size_t *n)
{
	json_t *names = json_object_get(cmd, "components");
	*out = xcalloc(e->n + 1, sizeof **out);
	*n = 0;
	if (!json_array_size(names)) {
		for (size_t i = 0; i < e->n; i++)
			(*out)[(*n)++] = &e->cs[i];
		return 0;
	}
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v) {
		struct comp_state *cs = json_is_string(v) ? find_comp(e, json_string_value(v)) : NULL;
		if (!cs) {
			const char *bad = json_is_string(v) ? json_string_value(v) : "?";
			const char *near = NULL;
			int best = 3;
			for (size_t k = 0; k < e->n; k++) {
				int d = util_edit_distance(bad, e->cs[k].cc->name);
				if (d < best) {
					best = d;
					near = e->cs[k].cc->name;
				}
			}
			char *m = near ? xasprintf("unknown component '%s'; did you mean '%s'? (see tally.conf)", bad, near)
				       : xasprintf("unknown component '%s' (see tally.conf)", bad);
			usage_error(e, cmd, m);
			free(m);
			free(*out);
			*out = NULL;
			return -1;
		}
		int dup = 0;
		for (size_t k = 0; k < *n; k++)
			dup |= (*out)[k] == cs;
		if (!dup)
			(*out)[(*n)++] = cs;
	}
	return 0;
}

static void usage_error(struct engine *e, json_t *cmd, const char *msg)
{
	struct job *j = job_new(e, cmd);
	emit_error(e, NULL, TC_INPUT, msg);
	j->input_error = 1;
	job_finish(e, j);
}

/* ---- tasks ----------------------------------------------------------- */

/* The digests of a check's bases: each distinct base once per job (the
 * lock is held across the request, so components sharing a base wait for
 * one HEAD rather than sending their own). */
static void check_bases(struct check_task *t)
{
	struct engine *e = t->e;
	t->bases = json_array();
	struct registry *r = NULL;
	for (size_t i = 0; i < t->base_refs.n; i++) {
		const char *ref = t->base_refs.v[i];
		pthread_mutex_lock(&e->base_mu);
		json_t *got = json_object_get(t->job->base_digests, ref);
		if (!got) {
			struct tally_err err = {0};
			char d[REGISTRY_DIGEST_MAX] = "";
			if (!r)
				r = registry_from_conf(e->conf, &err);
			if (r && bases_read(r, ref, d, &err) == 0)
				got = json_string(d);
			else
				got = json_pack("{s:s}", "error", err.msg[0] ? err.msg : "unreadable");
			json_object_set_new(t->job->base_digests, ref, got);
		}
		json_t *ent = json_is_string(got)
				      ? json_pack("{s:s, s:O}", "image", ref, "digest", got)
				      : json_pack("{s:s, s:n, s:O}", "image", ref, "digest", "error",
						  json_object_get(got, "error"));
		pthread_mutex_unlock(&e->base_mu);
		json_array_append_new(t->bases, ent);
	}
	registry_free(r);
}

static void *check_thread(void *arg)
{
	struct check_task *t = arg;
	struct upstream_ctx ctx = {
		.conf = t->e->conf, .repo_root = t->e->root, .state_dir = t->e->state_dir,
		.cancel_fd = t->e->cancel[0],
	};
	upstream_check(&ctx, t->cs->cc, &t->res);
	check_bases(t);
	queue_push(&t->e->inbox, M_CHECK_DONE, NULL, t);
	return NULL;
}

static void start_thread(void *(*fn)(void *), void *arg)
{
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* the engine thread has every signal blocked; threads inherit that */
	if (pthread_create(&th, &attr, fn, arg) != 0) {
		fputs("tally: cannot create a thread\n", stderr);
		abort();
	}
	pthread_attr_destroy(&attr);
}

static void pump_checks(struct engine *e)
{
	while (e->ncheck_wait && e->running_checks < MAX_CHECKS) {
		struct check_task *t = e->check_wait[0];
		memmove(e->check_wait, e->check_wait + 1, --e->ncheck_wait * sizeof *e->check_wait);
		e->running_checks++;
		start_thread(check_thread, t);
	}
}

static void dispatch_check(struct engine *e, struct job *j, struct comp_state *cs)
{
	if (e->quitting)
		return;
	struct check_task *t = xcalloc(1, sizeof *t);
	t->e = e;
	t->job = j;
	t->cs = cs;
	j->outstanding++;
	if (j->pending)
		j->pending[cs - e->cs] = 1;
	if (!j->base_digests)
		j->base_digests = json_object();
	{
		struct strv refs = {0};
		struct tally_err err = {0};
		if (bases_of(e->root, cs->cc, &refs, &err) < 0)
			t->base_error = xstrdup(err.msg);
		for (size_t i = 0; i < refs.n; i++)
			if (!base_component(e, cs, refs.v[i]))
				strv_push(&t->base_refs, refs.v[i]);
		strv_free(&refs);
	}
	if (e->ncheck_wait == e->capcheck_wait) {
		e->capcheck_wait = e->capcheck_wait ? e->capcheck_wait * 2 : 16;
		e->check_wait = xrealloc(e->check_wait, e->capcheck_wait * sizeof *e->check_wait);
	}
	e->check_wait[e->ncheck_wait++] = t;
	pump_checks(e);
}

struct attempt_task {
	struct engine *e;
	struct job *job;
	struct comp_state *cs;
	struct attempt *a;
	int dropping;     /* live log chunks are being dropped */
};

static void post_progress(void *ctx, json_t *ev)
{
	struct attempt_task *t = ctx;
	queue_push(&t->e->inbox, M_PROGRESS, ev, t);
}

static void job_done_one(struct engine *e, struct job *j);

/* Shutting down: attempts that have not started end as cancelled. */
static void resume_waiters(struct engine *e, struct comp_state *cs, const struct attempt *a, int good);

static void cancel_waiting(struct engine *e)
{
	while (e->nwaiting) {
		struct attempt_task *t = (struct attempt_task *)e->waiting[--e->nwaiting];
		emit(e, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "event", "attempt",
				  "component", t->a->cc->name, "version", t->a->version, "attempt", t->a->id,
				  "action", pipeline_action_name(t->a->action), "result", "cancelled", "class",
				  json_null(), "hint", json_string("the engine stopped before it started"),
				  "digest", json_null(), "log", json_null()));
		t->cs->running = NULL;
		t->cs->stage = NULL;
		t->job->failed++;
		struct job *j = t->job;
		t->a->result = "cancelled";
		resume_waiters(e, t->cs, t->a, 0);   /* refused: the engine is stopping */
		attempt_free(t->a);
		free(t);
		job_done_one(e, j);
	}
}

static void *attempt_thread(void *arg)
{
	struct attempt_task *t = arg;
	if (t->a->base_unread.n) {
		/* bases no check of this engine read: their digests now, so the
		 * record says what it was built on (unreadable: left out) */
		struct tally_err err = {0};
		struct registry *r = registry_from_conf(t->e->conf, &err);
		for (size_t i = 0; r && i < t->a->base_unread.n; i++) {
			char d[REGISTRY_DIGEST_MAX];
			if (bases_read(r, t->a->base_unread.v[i], d, &err) == 0)
				strv_push_owned(&t->a->bases, xasprintf("%s@%s", t->a->base_unread.v[i], d));
		}
		registry_free(r);
	}
	pipeline_run(t->a);
	queue_push(&t->e->inbox, M_ATTEMPT_DONE, NULL, t);
	return NULL;
}

static void pump_attempts(struct engine *e)
{
	while (e->nwaiting && e->running_attempts < e->conf->parallel) {
		struct attempt_task *t = (struct attempt_task *)e->waiting[0];
		memmove(e->waiting, e->waiting + 1, --e->nwaiting * sizeof *e->waiting);
		e->running_attempts++;
		t->cs->stage = "building";
		start_thread(attempt_thread, t);
	}
}

/* Recipe fingerprint: blob ids at HEAD of the recipe files plus the
 * component's shipping config, hashed. */
static char *fingerprint_of(struct engine *e, const struct comp_conf *cc)
{
	struct sbuf sb = {0};
	git_commit *head = NULL;
	repo_branch_commit(e->repo, e->refname, &head, NULL);
	for (size_t i = 0; i < cc->recipes.n; i++) {
		git_oid oid;
		char hex[GIT_OID_HEXSZ + 1] = "missing";
		if (repo_blob_id(e->repo, head, cc->recipes.v[i], &oid))
			repo_oid_hex(&oid, hex);
		sbuf_addf(&sb, "recipe %s %s\n", cc->recipes.v[i], hex);
	}
	git_commit_free(head);
	sbuf_addf(&sb, "image %s\nbuild %s\npush %s\nworkdir %s\n", cc->image, cc->build, cc->push,
		  cc->workdir ? cc->workdir : "");
	for (size_t i = 0; i < cc->tags.n; i++)
		sbuf_addf(&sb, "tag %s\n", cc->tags.v[i]);
	for (size_t i = 0; i < cc->floating.n; i++)
		sbuf_addf(&sb, "floating %s\n", cc->floating.v[i]);
	for (size_t i = 0; i < cc->nrecord_also; i++)
		sbuf_addf(&sb, "also %s:%s=%s\n", cc->record_also[i].file, cc->record_also[i].var,
			  cc->record_also[i].tmpl);
	git_oid oid;
	git_odb_hash(&oid, sbuf_str(&sb), sb.len, GIT_OBJECT_BLOB);
	sbuf_free(&sb);
	char hex[GIT_OID_HEXSZ + 1];
	repo_oid_hex(&oid, hex);
	return xstrdup(hex);
}

/* A recipe file or tally.conf with uncommitted changes stops the ship:
 * what would be built is not what the record commit would describe. */
static int dirty_inputs(struct engine *e, const struct comp_conf *cc, char **why)
{
	struct strv files = {0};
	for (size_t i = 0; i < cc->recipes.n; i++)
		strv_push(&files, cc->recipes.v[i]);
	/* and what the record will write: refuse before building, not after */
	strv_push(&files, cc->file);
	for (size_t i = 0; i < cc->nrecord_also; i++)
		strv_push(&files, cc->record_also[i].file);
	strv_push(&files, e->conf->holds_file);
	const char *wd = git_repository_workdir(e->repo);
	if (wd && str_starts(e->conf_path, wd))
		strv_push(&files, e->conf_path + strlen(wd));
	int dirty = 0;
	for (size_t i = 0; i < files.n && !dirty; i++) {
		unsigned int flags = 0;
		if (git_status_file(&flags, e->repo, files.v[i]) == 0 && flags != GIT_STATUS_CURRENT) {
			*why = (flags & GIT_STATUS_IGNORED)
				       ? xasprintf("%s is ignored by git, but tally must commit it; remove it from .gitignore before %s is shipped",
						   files.v[i], cc->name)
				       : xasprintf("%s has uncommitted changes; commit it (or restore it) before %s is shipped",
						   files.v[i], cc->name);
			dirty = 1;
		}
	}
	strv_free(&files);
	return dirty;
}

static char *new_attempt_id(struct engine *e, const struct comp_conf *cc)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
	for (;;) {
		char *id = xasprintf("%s-%s-%u", ts, cc->name, ++e->seq);
		char *log = xasprintf("%s/logs/%s/%s.log", e->state_dir, cc->name, id);
		int exists = access(log, F_OK) == 0;
		free(log);
		if (!exists)
			return id;
		free(id);
	}
}

/* Evidence of an earlier attempt that shipped this version with this recipe
 * but did not record it (a failed git push, a crash before the commit). */
static char *resume_digest(struct engine *e, const struct comp_conf *cc, const char *version,
			   const char *fp)
{
	for (size_t i = json_array_size(e->ledger); i-- > 0;) {
		json_t *ent = json_array_get(e->ledger, i);
		if (strcmp(jget_s(ent, "component") ? jget_s(ent, "component") : "", cc->name) != 0)
			continue;
		const char *v = jget_s(ent, "version"), *f = jget_s(ent, "fingerprint");
		const char *d = jget_s(ent, "digest");
		if (v && f && d && strcmp(v, version) == 0 && strcmp(f, fp) == 0 &&
		    json_is_true(json_object_get(ent, "shipped")) &&
		    !json_is_true(json_object_get(ent, "recorded")))
			return xstrdup(d);
		if (v && strcmp(v, version) == 0)
			return NULL;  /* a newer attempt of this version decides */
	}
	return NULL;
}

struct plan {
	enum recorder_action action;
	const char *version;
	const char *digest;       /* reset: the digest a past record commit carries */
	int no_build;             /* reset --no-build */
	int pin;                  /* reset: pin in the same commit */
	const char *pin_reason;
	int no_resume;            /* rebuild: always build */
	const char *cause;        /* Tally-Cause; NULL: the recorder's default */
};

/* A run, retry or rebuild that met an attempt in flight for the same
 * component waits for it (SPEC section 7): it is told the outcome, then
 * starts its own only if work remains. */
enum waiter_kind { W_RUN = 0, W_RETRY, W_REBUILD };

struct waiter {
	struct waiter *next;
	struct job *job;
	struct comp_state *cs;
	enum waiter_kind kind;
	enum recorder_action action;   /* retry: what failed; rebuild: rebuild */
	char *version;                 /* retry: the failed version; rebuild: --version or NULL */
	int pin;
	char *pin_reason;
};

static void add_waiter(struct engine *e, struct job *j, struct comp_state *cs, enum waiter_kind kind,
		       enum recorder_action action, const char *version, int pin, const char *pin_reason)
{
	struct waiter *w = xcalloc(1, sizeof *w);
	w->job = j;
	w->cs = cs;
	w->kind = kind;
	w->action = action;
	w->version = xstrdup(version);
	w->pin = pin;
	w->pin_reason = xstrdup(pin_reason);
	struct waiter **p = &e->waiters;
	while (*p)
		p = &(*p)->next;
	*p = w;
	const struct attempt *a = cs->running;
	char *m = xasprintf("an attempt is already running (%s, %s %s); waiting for it", a ? a->id : "?",
			    a ? pipeline_action_name(a->action) : "?", a ? a->version : "?");
	json_int_t keep = e->cur_job;
	e->cur_job = j->id;
	emit(e, json_pack("{s:s, s:s, s:n, s:b, s:s, s:b}", "event", "error", "component", cs->cc->name,
			  "class", "warning", 1, "message", m, "waiting", 1));
	e->cur_job = keep;
	free(m);
}

static const char *plan_words(const struct attempt *a)
{
	if (a->resume_digest && a->no_build)
		return "check that every tag still reads back the recorded digest, then record; nothing is built";
	if (a->resume_digest)
		return "check the image that shipped before, then record (build if the registry lost it)";
	return "build, push, verify, then record";
}

static void plan_attempt(struct engine *e, struct job *j, struct comp_state *cs,
			 const struct plan *p)
{
	char *why = NULL;
	const char *refuse = NULL;
	enum tally_class refuse_cls = TC_NONE;
	char *why_hold = NULL;
	if (e->quitting) {
		/* stopping: nothing new starts, whatever was asked before */
		refuse = "the engine is stopping; not started";
	} else if (cs->running && !j->dry_run && j->cmd &&
		   (!strcmp(j->cmd, "run") || !strcmp(j->cmd, "retry") || !strcmp(j->cmd, "rebuild"))) {
		/* one attempt per component at a time (SPEC section 1); the
		 * second waits for the first, keeping this unit of the job */
		int rebuild = !strcmp(j->cmd, "rebuild");
		settle(e, j, cs);
		add_waiter(e, j, cs, rebuild ? W_REBUILD : !strcmp(j->cmd, "retry") ? W_RETRY : W_RUN,
			   p->action, rebuild ? j->version : p->version, p->pin, p->pin_reason);
		return;
	} else if (cs->running && !j->dry_run) {
		refuse = "an attempt is already running; not started";
	} else {
		/* holds are checked before anything is built or pushed over
		 * existing tags; the recorder checks again at record time */
		struct tally_err herr = {0};
		struct holds *h = read_holds(e, &herr);
		const struct hold *pin = h ? holds_pin(h, cs->cc->name) : NULL;
		if (!h) {
			why_hold = xstrdup(herr.msg);
			refuse_cls = TC_INPUT;
		} else if (holds_is_skipped(h, cs->cc->name, p->version)) {
			why_hold = xasprintf("%s %s is skipped; nothing is built", cs->cc->name, p->version);
			refuse_cls = TC_HELD;
		} else if (pin && p->action == RA_SHIP) {
			why_hold = xasprintf("%s is pinned at %s; nothing is built", cs->cc->name, pin->version);
			refuse_cls = TC_HELD;
		} else if (pin && p->action == RA_REBUILD && strcmp(pin->version, p->version) != 0) {
			why_hold = xasprintf("%s is pinned at %s; only that version may be rebuilt", cs->cc->name,
					     pin->version);
			refuse_cls = TC_HELD;
		}
		holds_free(h);
		refuse = why_hold;
	}
	if (refuse) {
		emit_error(e, cs->cc->name, refuse_cls, refuse);
		if (refuse_cls == TC_INPUT)
			j->input_error = 1;
		free(why_hold);
		j->failed++;
		settle(e, j, cs);
		job_done_one(e, j);
		return;
	}
	if (dirty_inputs(e, cs->cc, &why)) {
		/* maybe only the index is stale (a record whose index update
		 * failed on a held index.lock): mend what tally wrote, look again */
		struct strv report = {0};
		free(why);
		why = NULL;
		recorder_repair(e->root, e->conf, &report, NULL);
		strv_free(&report);
	}
	if (dirty_inputs(e, cs->cc, &why)) {
		emit_error(e, cs->cc->name, TC_RECIPE, why);
		free(why);
		j->failed++;
		settle(e, j, cs);
		job_done_one(e, j);
		return;
	}
	if (p->no_build && !p->digest) {
		char *m = xasprintf("%s %s: no earlier record of it carries a digest; --no-build refuses to build it",
				    cs->cc->name, p->version);
		emit_error(e, cs->cc->name, TC_MISSING_VERSION, m);
		free(m);
		j->failed++;
		settle(e, j, cs);
		job_done_one(e, j);
		return;
	}
	struct attempt *a = xcalloc(1, sizeof *a);
	a->conf = e->conf;
	a->cc = cs->cc;
	a->repo_dir = xstrdup(e->root);
	a->state_dir = xstrdup(e->state_dir);
	a->id = new_attempt_id(e, cs->cc);
	a->version = xstrdup(p->version);
	a->action = p->action;
	a->fingerprint = fingerprint_of(e, cs->cc);
	a->no_push = j->no_push;
	a->cancel_fd = e->cancel[0];
	a->no_build = p->no_build;
	a->live_logs = e->live_logs;
	a->pin = p->pin;
	a->pin_reason = xstrdup(p->pin_reason);
	a->cause = xstrdup(p->cause);
	/* what the build is on: a base component's record now; a registry
	 * base as this job's check read it, else read just before the build
	 * (a rebuild or retry command; an older check may be stale) */
	comp_bases_refresh(e, cs, NULL);
	{
		size_t bi;
		json_t *bv;
		json_array_foreach(cs->bases, bi, bv) {
			const char *img = jget_s(bv, "image");
			const char *d = jget_s(bv, "component") ? jget_s(bv, "digest")
				      : json_string_value(json_object_get(j->base_digests, img));
			if (d)
				strv_push_owned(&a->bases, xasprintf("%s@%s", img, d));
			else if (!jget_s(bv, "component") && !json_object_get(j->base_digests, img))
				strv_push(&a->base_unread, img);
		}
	}
	if (p->digest)
		a->resume_digest = xstrdup(p->digest);
	else if (!j->no_push && !p->no_resume)
		a->resume_digest = resume_digest(e, cs->cc, p->version, a->fingerprint);
	if (j->dry_run) {
		emit(e, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "event",
				  "attempt", "component", cs->cc->name, "version", p->version, "attempt", a->id,
				  "action", pipeline_action_name(p->action), "result", "planned", "class",
				  json_null(), "hint", json_null(), "digest", json_null(), "log", json_null(),
				  "plan", plan_words(a)));
		attempt_free(a);
		j->ok++;
		settle(e, j, cs);
		job_done_one(e, j);
		return;
	}
	struct attempt_task *t = xcalloc(1, sizeof *t);
	t->e = e;
	t->job = j;
	t->cs = cs;
	t->a = a;
	a->post = post_progress;
	a->ctx = t;
	cs->running = a;
	cs->stage = "building";
	if (e->nwaiting == e->capwaiting) {
		e->capwaiting = e->capwaiting ? e->capwaiting * 2 : 16;
		e->waiting = xrealloc(e->waiting, e->capwaiting * sizeof *e->waiting);
	}
	e->waiting[e->nwaiting++] = (struct attempt *)t;
	pump_attempts(e);
}

/* ---- handlers -------------------------------------------------------- */
static int run_no_candidate(struct engine *e, struct job *j, struct comp_state *cs,
			    const struct holds *h);
static int start_repair(struct engine *e, struct job *j, struct comp_state *cs, int retry_cmd);


static int waits_for_after(struct engine *e, struct job *j, struct comp_state *cs);
static void evaluate_checked(struct engine *e, struct job *j, struct comp_state *cs);

static void on_check_done(struct engine *e, struct check_task *t)
{
	e->cur_job = t->job->id;
	struct comp_state *cs = t->cs;
	struct job *j = t->job;
	e->running_checks--;
	pump_checks(e);
	strv_free(&cs->upstream);
	cs->upstream = t->res.versions;
	memset(&t->res.versions, 0, sizeof t->res.versions);
	cs->up_cls = t->res.cls;
	free(cs->up_msg);
	cs->up_msg = t->res.message ? xstrdup(t->res.message) : NULL;
	cs->retry_at = t->res.retry_at;
	cs->up_aliases = t->res.aliases;
	if (cs->up_cls == TC_RATE_LIMIT && cs->retry_at > 0)
		cs->retry_due = cs->retry_at;   /* waits for the reset, not the backoff */
	cs->checked = 1;
	cs->checked_at = (long long)time(NULL);
	for (size_t i = 0; i < t->res.warnings.n; i++)
		emit(e, json_pack("{s:s, s:s, s:n, s:b, s:s}", "event", "error", "component", cs->cc->name,
				  "class", "warning", 1, "message", t->res.warnings.v[i]));
	upstream_result_free(&t->res);
	refresh_record(e, cs);
	if (t->base_error)
		emit(e, json_pack("{s:s, s:s, s:n, s:b, s:s}", "event", "error", "component", cs->cc->name,
				  "class", "warning", 1, "message", t->base_error));
	comp_bases_refresh(e, cs, t->bases);
	{
		size_t bi;
		json_t *bv;
		json_array_foreach(t->bases, bi, bv)
			if (jget_s(bv, "error")) {
				char *m = xasprintf("base %s unreadable (base state unknown): %s", jget_s(bv, "image"),
						    jget_s(bv, "error"));
				emit(e, json_pack("{s:s, s:s, s:n, s:b, s:s}", "event", "error", "component",
						  cs->cc->name, "class", "warning", 1, "message", m));
				free(m);
			}
	}
	json_decref(t->bases);
	strv_free(&t->base_refs);
	free(t->base_error);
	free(t);
	if (j->pending && waits_for_after(e, j, cs)) {
		j->deferred = xrealloc(j->deferred, (j->ndeferred + 1) * sizeof *j->deferred);
		j->deferred[j->ndeferred++] = cs;
		return;
	}
	evaluate_checked(e, j, cs);
}

/* A run ships a component after the components it names in after: while
 * one of them has its part of this job open, it waits. */
static int waits_for_after(struct engine *e, struct job *j, struct comp_state *cs)
{
	for (size_t i = 0; i < cs->cc->after.n; i++) {
		struct comp_state *o = find_comp(e, cs->cc->after.v[i]);
		if (o && o != cs && j->pending[o - e->cs])
			return 1;
	}
	return 0;
}

/* A component's part of a run settled: deferred components whose after
 * components are all settled go on (a cycle in after is broken by letting
 * the first waiting one go when nothing else is open). */
static void settle(struct engine *e, struct job *j, struct comp_state *cs)
{
	if (!j->pending)
		return;
	j->pending[cs - e->cs] = 0;
	for (;;) {
		size_t pick = j->ndeferred;
		for (size_t i = 0; i < j->ndeferred && pick == j->ndeferred; i++)
			if (!waits_for_after(e, j, j->deferred[i]))
				pick = i;
		if (pick == j->ndeferred && j->ndeferred) {
			size_t open = 0;
			for (size_t k = 0; k < e->n; k++)
				open += j->pending[k];
			if (open == j->ndeferred)
				pick = 0;   /* only waiting ones are open: a cycle */
		}
		if (pick == j->ndeferred)
			return;
		struct comp_state *d = j->deferred[pick];
		memmove(j->deferred + pick, j->deferred + pick + 1, (--j->ndeferred - pick) * sizeof *j->deferred);
		comp_bases_refresh(e, d, NULL);   /* a base component may have a new record */
		evaluate_checked(e, j, d);
	}
}

/* After the check: plan the component's attempt (or mend its tags). */
static void evaluate_checked(struct engine *e, struct job *j, struct comp_state *cs)
{
	e->cur_job = j->id;
	struct tally_err err = {0};
	struct holds *h = read_holds(e, &err);
	int holds_bad = h == NULL;
	if (strcmp(j->cmd, "check") == 0) {
		if (!j->ordered) {
			j->ordered = json_array();
			for (size_t k = 0; k < e->n; k++)
				json_array_append_new(j->ordered, json_null());
		}
		json_t *ev = status_json(e, cs, h, "check");
		json_object_set_new(ev, "aliases", json_integer((json_int_t)cs->up_aliases));
		json_array_set_new(j->ordered, (size_t)(cs - e->cs), ev);
		if (cs->up_cls != TC_NONE || cs->record_error)
			j->failed++;
		else
			j->ok++;
	} else if (holds_bad) {
		emit_error(e, cs->cc->name, TC_INPUT, err.msg);
		j->input_error = 1;
		j->failed++;
	} else if (cs->record_error) {
		emit_error(e, cs->cc->name, TC_INPUT, cs->record_msg);
		j->input_error = 1;
		j->failed++;
	} else if (cs->up_cls != TC_NONE) {
		char *m = xasprintf("upstream unknown (%s): %s; nothing built", tally_class_name(cs->up_cls),
				    cs->up_msg ? cs->up_msg : "");
		emit_error(e, cs->cc->name, cs->up_cls, m);
		free(m);
		j->failed++;
	} else {
		const char *cand = candidate_of(cs, h);
		if (cand) {
			char *v = xstrdup(cand);
			char *cause = xasprintf("upstream %s released", v);
			holds_free(h);
			struct plan p = {.action = RA_SHIP, .version = v, .cause = cause};
			plan_attempt(e, j, cs, &p);
			free(v);
			free(cause);
			return;
		}
		if (run_no_candidate(e, j, cs, h)) {
			holds_free(h);
			return;
		}
		j->ok++;
	}
	holds_free(h);
	settle(e, j, cs);
	job_done_one(e, j);
}

/* Live log chunks wait in the outbox for front ends. When they read more
 * slowly than the build prints, chunks are dropped here (the log file has
 * everything) and the front ends are told once where to read instead. */
#define OUTBOX_LOG_LIMIT (16u * 1024 * 1024)

static void on_progress(struct engine *e, struct attempt_task *t, json_t *ev)
{
	e->cur_job = t->job->id;
	const char *event = jget_s(ev, "event");
	if (event && strcmp(event, "log") == 0) {
		size_t len = json_string_length(json_object_get(ev, "data"));
		if (queue_bytes(&e->outbox) + len > OUTBOX_LOG_LIMIT) {
			if (!t->dropping) {
				t->dropping = 1;
				emit(e, json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "dropped", "component",
						  t->a->cc->name, "attempt", t->a->id, "log", t->a->log_path ?: "",
						  "message", "live log chunks dropped: front ends read more slowly than the build prints"));
			}
			json_decref(ev);
			return;
		}
		t->dropping = 0;
		if (!json_object_get(ev, "schema"))
			json_object_set_new(ev, "schema", json_integer(1));
		if (e->cur_job >= 0)
			json_object_set_new(ev, "job", json_integer(e->cur_job));
		queue_push_sized(&e->outbox, 0, ev, NULL, len);
		return;
	}
	if (event && strcmp(event, "stage") == 0 && strcmp(jget_s(ev, "result"), "started") == 0) {
		static const struct {
			const char *stage, *state;
		} words[] = {{"build", "building"}, {"push", "pushing"}, {"verify", "verifying"},
			     {"record", "recording"}, {"floating", "verifying"}, {"cleanup", "recording"}};
		for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
			if (strcmp(jget_s(ev, "stage"), words[i].stage) == 0)
				t->cs->stage = words[i].state;
	}
	emit(e, ev);
}

/* The attempt a waiter waited for has ended: tell it the outcome, then do
 * what work is left (a newer candidate, a failed version to retry, the
 * rebuild asked for after the running one began). */
static void resume_one(struct engine *e, struct waiter *w, const struct attempt *a, int good)
{
	struct job *j = w->job;
	struct comp_state *cs = w->cs;
	e->cur_job = j->id;
	emit(e, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:b}", "event", "attempt",
			  "component", a->cc->name, "version", a->version, "attempt", a->id, "action",
			  pipeline_action_name(a->action), "result", a->result ? a->result : "cancelled",
			  "class", a->cls ? json_string(tally_class_name(a->cls)) : json_null(), "digest",
			  jstr(a->digest), "log", jstr(a->log_path), "message", jstr(a->message), "waited", 1));
	refresh_record(e, cs);
	if (w->kind == W_REBUILD) {
		/* asked for while the other ran: it is still to do */
		const char *v = w->version ? w->version : cs->recorded;
		if (!v) {
			emit_error(e, cs->cc->name, TC_INPUT, "no record to rebuild (use run)");
			j->input_error = 1;
			j->failed++;
			job_done_one(e, j);
			return;
		}
		char *vv = xstrdup(v);
		struct plan p = {.action = RA_REBUILD, .version = vv, .no_resume = 1};
		plan_attempt(e, j, cs, &p);
		free(vv);
		return;
	}
	if (w->kind == W_RETRY) {
		if (a->action == w->action && w->version && strcmp(a->version, w->version) == 0) {
			/* the attempt in flight was this very retry: its outcome is ours */
			if (good)
				j->ok++;
			else
				j->failed++;
			job_done_one(e, j);
			return;
		}
		if (w->action == RA_SHIP && cs->recorded &&
		    version_compare(w->version, cs->recorded, cs->cc->order) <= 0) {
			j->ok++;   /* the record moved past it meanwhile: nothing to retry */
			job_done_one(e, j);
			return;
		}
		struct plan p = {.action = w->action, .version = w->version, .pin = w->pin,
				 .pin_reason = w->pin_reason, .no_resume = w->action == RA_REBUILD};
		plan_attempt(e, j, cs, &p);
		return;
	}
	/* run --version V: V, if it is still newer than the record */
	if (j->version) {
		if (cs->recorded && version_compare(j->version, cs->recorded, cs->cc->order) <= 0) {
			if (a->action == RA_SHIP && strcmp(a->version, j->version) == 0 && !good)
				j->failed++;
			else
				j->ok++;
			job_done_one(e, j);
			return;
		}
		if (a->action == RA_SHIP && strcmp(a->version, j->version) == 0 && !good) {
			j->failed++;   /* that very version just failed: its outcome is ours */
			job_done_one(e, j);
			return;
		}
		struct plan p = {.action = RA_SHIP, .version = j->version};
		plan_attempt(e, j, cs, &p);
		return;
	}
	/* run: what is the candidate now? */
	struct tally_err herr = {0};
	struct holds *h = read_holds(e, &herr);
	if (!h) {
		emit_error(e, cs->cc->name, TC_INPUT, herr.msg);
		j->input_error = 1;
		j->failed++;
		job_done_one(e, j);
		return;
	}
	if (upstream_is_manual(cs->cc) || holds_pin(h, cs->cc->name)) {
		if (!start_repair(e, j, cs, 2))
			j->ok++;
		holds_free(h);
		job_done_one(e, j);
		return;
	}
	if (!cs->checked || cs->up_cls != TC_NONE) {
		holds_free(h);
		dispatch_check(e, j, cs);   /* read the upstream, then as any run */
		job_done_one(e, j);
		return;
	}
	const char *cand = candidate_of(cs, h);
	if (cand && !(a->action == RA_SHIP && !good && strcmp(cand, a->version) == 0)) {
		char *v = xstrdup(cand);
		holds_free(h);
		struct plan p = {.action = RA_SHIP, .version = v};
		plan_attempt(e, j, cs, &p);
		free(v);
		return;
	}
	if (cand)
		j->failed++;   /* that very candidate just failed: its outcome is ours */
	else if (!run_no_candidate(e, j, cs, h))
		j->ok++;
	else {
		holds_free(h);
		return;   /* run_no_candidate took the unit */
	}
	holds_free(h);
	job_done_one(e, j);
}

static void resume_waiters(struct engine *e, struct comp_state *cs, const struct attempt *a, int good)
{
	struct waiter *mine = NULL, **tail = &mine;
	for (struct waiter **p = &e->waiters; *p;) {
		if ((*p)->cs == cs) {
			struct waiter *w = *p;
			*p = w->next;
			w->next = NULL;
			*tail = w;
			tail = &w->next;
		} else {
			p = &(*p)->next;
		}
	}
	while (mine) {
		struct waiter *w = mine;
		mine = w->next;
		if (cs->running) {
			/* an earlier waiter started one: wait for that too */
			struct waiter **p = &e->waiters;
			while (*p)
				p = &(*p)->next;
			w->next = NULL;
			*p = w;
			continue;
		}
		resume_one(e, w, a, good);
		free(w->version);
		free(w->pin_reason);
		free(w);
	}
}

static void on_attempt_done(struct engine *e, struct attempt_task *t)
{
	e->cur_job = t->job->id;
	struct attempt *a = t->a;
	struct comp_state *cs = t->cs;
	struct job *j = t->job;
	e->running_attempts--;
	cs->stage = NULL;
	cs->running = NULL;
	long long now = (long long)time(NULL);
	json_t *ent = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:b, s:o, s:o, s:s, s:I}",
				"id", a->id, "component", a->cc->name, "version", a->version, "action",
				pipeline_action_name(a->action), "fingerprint", a->fingerprint, "result",
				a->result, "class", a->cls ? json_string(tally_class_name(a->cls)) : json_null(),
				"message", jstr(a->message), "digest", jstr(a->digest), "shipped", a->shipped,
				"recorded", a->recorded, "commit", jstr(a->commit), "stages",
				json_incref(a->stages), "log", a->log_path, "ended", (json_int_t)now);
	json_object_set_new(ent, "started_at", json_real(a->started));
	if (a->bases.n) {
		json_t *bl = json_array();
		for (size_t i = 0; i < a->bases.n; i++)
			json_array_append_new(bl, json_string(a->bases.v[i]));
		json_object_set_new(ent, "bases", bl);
	}
	if (a->cause)
		json_object_set_new(ent, "cause", json_string(a->cause));
	if (a->pin)
		json_object_set_new(ent, "pin", json_true());
	if (a->evidence_obj && strcmp(a->result, "failed") == 0)
		json_object_set_new(ent, "evidence", json_incref(a->evidence_obj));
	json_object_set_new(ent, "ended_at", json_real(a->ended));
	struct tally_err err = {0};
	if (ledger_append(e->state_dir, ent, &err) < 0)
		emit_error(e, a->cc->name, TC_INTERNAL, err.msg);
	json_array_append(e->ledger, ent);
	apply_ledger_entry(cs, ent);
	note_result(cs, a->result, a->cls ? tally_class_name(a->cls) : NULL, now, 0);
	json_decref(ent);
	refresh_record(e, cs);
	push_status(e, cs);

	emit(e, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:o}", "event", "attempt",
			  "component", a->cc->name, "version", a->version, "attempt", a->id, "action",
			  pipeline_action_name(a->action), "result", a->result, "class",
			  a->cls ? json_string(tally_class_name(a->cls)) : json_null(), "hint",
			  a->cls ? json_string(classify_hint(a->cls)) : json_null(), "digest",
			  jstr(a->digest), "log", a->log_path, "message", jstr(a->message)));
	if (a->recorded)
		emit(e, json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "event", "record", "component",
				  a->cc->name, "version", a->version, "previous", jstr(a->previous),
				  "action", pipeline_action_name(a->action), "commit", a->commit));
	int ok = strcmp(a->result, "shipped") == 0 || strcmp(a->result, "built") == 0;
	if (ok && a->cls == TC_NONE)
		j->ok++;
	else
		j->failed++;
	if (a->cls == TC_INPUT)
		j->input_error = 1;   /* e.g. a secret that is not set: exit 2 */
	/* a failed attempt leaves the record where it was: that is its "previous" */
	const char *prev = a->previous ? a->previous : a->recorded ? NULL : cs->recorded;
	notify_start(e, j, cs,
		     json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:o}",
			       "event", "attempt", "result", a->result, "component", a->cc->name, "version",
			       a->version, "previous", jstr(prev), "action",
			       pipeline_action_name(a->action), "class",
			       a->cls ? json_string(tally_class_name(a->cls)) : json_null(), "hint",
			       a->cls ? json_string(classify_hint(a->cls)) : json_null(), "evidence",
			       jstr(a->evidence), "message", jstr(a->message), "log", a->log_path,
			       "attempt", a->id, "digest", jstr(a->digest), "commit", jstr(a->commit)));
	resume_waiters(e, cs, a, ok && a->cls == TC_NONE);
	int recorded = a->recorded;
	attempt_free(a);
	free(t);
	pump_attempts(e);
	e->cur_job = j->id;
	if (recorded)
		comp_bases_refresh(e, cs, NULL);
	settle(e, j, cs);
	job_done_one(e, j);
}

static void cmd_status(struct engine *e, json_t *cmd, const char *event)
{
	struct comp_state **sel;
	size_t n;
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	struct job *j = job_new(e, cmd);
	struct tally_err err = {0};
	struct holds *h = read_holds(e, &err);
	if (!h) {
		emit_error(e, NULL, TC_INPUT, err.msg);
		j->input_error = 1;
	}
	refresh_unpushed(e);
	for (size_t i = 0; i < n; i++) {
		if (!sel[i]->running) {
			refresh_record(e, sel[i]);
			comp_bases_refresh(e, sel[i], NULL);   /* built_on follows the record */
		}
		emit(e, status_json(e, sel[i], h, event));
		j->ok++;
	}
	holds_free(h);
	free(sel);
	job_finish(e, j);
}

static void cmd_check(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	struct job *j = job_new(e, cmd);
	refresh_unpushed(e);
	j->outstanding = 1;   /* held until every check is dispatched */
	for (size_t i = 0; i < n; i++)
		dispatch_check(e, j, sel[i]);
	free(sel);
	job_done_one(e, j);
}

static void run_dispatch(struct engine *e, struct job *j, struct comp_state **sel, size_t n);
static void start_sync(struct engine *e, struct job *j, struct comp_state **sel, size_t n);

static void cmd_run(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	const char *version = jget_s(cmd, "version");
	if (version) {
		struct tally_err err = {0};
		struct holds *h = read_holds(e, &err);
		char *msg = NULL;
		struct comp_state *cs = sel[0];
		if (n != 1 || !json_array_size(json_object_get(cmd, "components")))
			msg = xstrdup("--version needs exactly one component");
		else if (!version_valid(version))
			msg = xasprintf("'%s' is not a valid version (OCI tag grammar)", version);
		else if (version_is_alias(version))
			msg = xasprintf("'%s' has no digit: an alias, never a version", version);
		else if (!h)
			msg = xstrdup(err.msg);
		else if (holds_pin(h, cs->cc->name))
			msg = xasprintf("%s is pinned at %s; unpin it first", cs->cc->name,
					holds_pin(h, cs->cc->name)->version);
		else if (holds_is_skipped(h, cs->cc->name, version))
			msg = xasprintf("%s %s is skipped; unskip it first", cs->cc->name, version);
		else {
			refresh_record(e, cs);
			if (cs->record_error)
				msg = xstrdup(cs->record_msg);
			else if (cs->recorded && version_compare(version, cs->recorded, cs->cc->order) <= 0)
				msg = xasprintf("%s %s is not newer than the record %s (use reset or rebuild)",
						cs->cc->name, version, cs->recorded);
		}
		holds_free(h);
		free(sel);
		if (msg) {
			usage_error(e, cmd, msg);
			free(msg);
			return;
		}
		struct job *j = job_new(e, cmd);
		j->outstanding = 1;
		struct plan p = {.action = RA_SHIP, .version = version};
		plan_attempt(e, j, cs, &p);
		return;
	}
	struct job *j = job_new(e, cmd);
	if (!j->dry_run && !j->no_push && e->conf->git_push) {
		/* fetch, fast-forward, push pending records: network work, so on
		 * a task; the run goes on when it is done (run_after_sync) */
		start_sync(e, j, sel, n);
		free(sel);
		return;
	}
	run_dispatch(e, j, sel, n);
	free(sel);
}

/* The rest of a run: check every selected component's upstream. */
static void run_dispatch(struct engine *e, struct job *j, struct comp_state **sel, size_t n)
{
	struct tally_err err = {0};
	struct holds *h = read_holds(e, &err);
	j->outstanding++;
	if (!j->pending)
		j->pending = xcalloc(e->n + 1, 1);
	for (size_t i = 0; i < n; i++) {
		struct comp_state *cs = sel[i];
		if (cs->running && !j->dry_run) {
			j->outstanding++;   /* the waiter's unit */
			add_waiter(e, j, cs, W_RUN, RA_SHIP, NULL, 0, NULL);
			continue;
		}
		if (upstream_is_manual(cs->cc) || (h && holds_pin(h, cs->cc->name))) {
			/* passed over without failing; but the registry still
			 * follows the record (a reset's floating tags, say) */
			refresh_record(e, cs);
			if (!start_repair(e, j, cs, 2))
				j->ok++;
			continue;
		}
		dispatch_check(e, j, cs);
	}
	holds_free(h);
	job_done_one(e, j);
}

static void cmd_history(struct engine *e, json_t *cmd)
{
	struct job *j = job_new(e, cmd);
	const char *only = NULL;
	json_t *names = json_object_get(cmd, "components");
	if (json_array_size(names))
		only = json_string_value(json_array_get(names, 0));
	git_revwalk *w = NULL;
	json_int_t limit = json_integer_value(json_object_get(cmd, "limit"));
	if (git_revwalk_new(&w, e->repo) < 0 || git_revwalk_push_ref(w, e->refname) < 0) {
		git_revwalk_free(w);
		job_finish(e, j);   /* no commits: nothing to show */
		return;
	}
	git_oid oid;
	int count = 0;
	while (git_revwalk_next(&oid, w) == 0 && (limit <= 0 || count < limit)) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, e->repo, &oid) < 0)
			break;
		const char *msg = git_commit_message(c);
		char *action = repo_trailer(msg, "Tally-Action");
		char *comp = repo_trailer(msg, "Tally-Component");
		if (action && comp && (!only || strcmp(only, comp) == 0)) {
			char hex[GIT_OID_HEXSZ + 1];
			repo_oid_hex(&oid, hex);
			int is_hold = !strcmp(action, "skip") || !strcmp(action, "unskip") ||
				      !strcmp(action, "pin") || !strcmp(action, "unpin");
			json_t *images = json_array();
			for (const char *p = msg; (p = strstr(p, "\nTally-Image: ")); p++) {
				const char *s = p + strlen("\nTally-Image: ");
				json_array_append_new(images, json_stringn(s, strcspn(s, "\n")));
			}
			char *v = repo_trailer(msg, "Tally-Version"), *prev = repo_trailer(msg, "Tally-Previous");
			char *dg = repo_trailer(msg, "Tally-Digest"), *at = repo_trailer(msg, "Tally-Attempt");
			char *rc = repo_trailer(msg, "Tally-Recipe");
			char *cause = repo_trailer(msg, "Tally-Cause");   /* issue 15: bases, cause */
			struct strv bv = {0};
			bases_trailers(msg, "Tally-Base", &bv);
			json_t *bases = json_array();
			for (size_t k = 0; k < bv.n; k++)
				json_array_append_new(bases, json_string(bv.v[k]));
			strv_free(&bv);
			emit(e, json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o}",
					  "event", is_hold ? "hold" : "record", "component", comp, "version",
					  jstr(v), "previous", jstr(prev), "action", action, "commit", hex,
					  "digest", jstr(dg), "attempt", jstr(at), "recipe", jstr(rc), "images",
					  images, "time", jtime((long long)git_commit_time(c)), "subject",
					  git_commit_summary(c) ? git_commit_summary(c) : "", "bases", bases,
					  "cause", jstr(cause)));
			free(cause);
			free(v);
			free(prev);
			free(dg);
			free(at);
			free(rc);
			count++;
			j->ok++;
		}
		free(action);
		free(comp);
		git_commit_free(c);
	}
	git_revwalk_free(w);
	job_finish(e, j);
}

static void cmd_logs(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	json_t *names = json_object_get(cmd, "components");
	if (json_array_size(names) != 1) {
		usage_error(e, cmd, "logs needs one component");
		return;
	}
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	const char *want = jget_s(cmd, "attempt");
	const char *path = NULL;
	char *running_log = NULL;
	struct attempt *ra = sel[0]->running;
	if (ra && (!want || strcmp(want, ra->id) == 0)) {
		/* the running attempt is not in the ledger yet; its log's name is
		 * known from its id */
		running_log = xasprintf("%s/logs/%s/%s.log", e->state_dir, sel[0]->cc->name, ra->id);
		path = running_log;
	}
	for (size_t i = json_array_size(e->ledger); i-- > 0 && !path;) {
		json_t *ent = json_array_get(e->ledger, i);
		if (strcmp(jget_s(ent, "component") ? jget_s(ent, "component") : "", sel[0]->cc->name) != 0)
			continue;
		if (!want || strcmp(jget_s(ent, "id") ? jget_s(ent, "id") : "", want) == 0)
			path = jget_s(ent, "log");
	}
	if (!path) {
		char *m = want ? xasprintf("%s: no attempt %s in the ledger", sel[0]->cc->name, want)
			       : xasprintf("%s: no attempts yet", sel[0]->cc->name);
		free(sel);
		usage_error(e, cmd, m);
		free(m);
		return;
	}
	struct job *j = job_new(e, cmd);
	emit(e, json_pack("{s:s, s:s, s:s}", "event", "logfile", "component", sel[0]->cc->name, "path",
			  path));
	free(running_log);
	free(sel);
	j->ok++;
	job_finish(e, j);
}


/* ---- git history helpers (engine thread) ------------------------------ */

struct record_commit {
	char *version, *digest, *action, *recipe;
	struct strv bases;          /* Tally-Base: image@digest */
	char commit[GIT_OID_HEXSZ + 1];
	long long time;
};

static void record_commit_free(struct record_commit *rc)
{
	free(rc->version);
	free(rc->digest);
	free(rc->action);
	free(rc->recipe);
	strv_free(&rc->bases);
	memset(rc, 0, sizeof *rc);
}

/* Calls fn for each record commit (ship, rebuild, reset, adopt) of component on
 * the branch, newest first, until fn returns non-zero. */
static void walk_records(struct engine *e, const char *component,
			 int (*fn)(void *ctx, const struct record_commit *rc), void *ctx)
{
	/* one history walk shared by every component and command (recindex),
	 * brought up to date with the commits added since */
	if (!e->ri)
		e->ri = recindex_new();
	if (recindex_update(e->ri, e->repo, e->refname) < 0)
		return;
	size_t n = 0;
	const struct recindex_rec *r = recindex_of(e->ri, component, &n);
	for (size_t i = 0; i < n; i++) {
		struct record_commit rc = {
			.version = r[i].version, .digest = r[i].digest, .action = r[i].action,
			.recipe = r[i].recipe, .time = r[i].time, .bases = r[i].bases,
		};
		memcpy(rc.commit, r[i].commit, sizeof rc.commit);
		if (fn(ctx, &rc))   /* the callbacks read; none records */
			break;
	}
}

struct find_ctx {
	const char *version;
	struct record_commit found;
};

static int find_cb(void *vctx, const struct record_commit *rc)
{
	struct find_ctx *f = vctx;
	if (strcmp(rc->version, f->version) != 0 || !rc->digest)
		return 0;
	f->found.version = xstrdup(rc->version);
	f->found.digest = xstrdup(rc->digest);
	f->found.action = xstrdup(rc->action);
	f->found.recipe = xstrdup(rc->recipe);
	for (size_t i = 0; i < rc->bases.n; i++)
		strv_push(&f->found.bases, rc->bases.v[i]);
	memcpy(f->found.commit, rc->commit, sizeof rc->commit);
	f->found.time = rc->time;
	return 1;
}

/* The newest record commit of version (digest known); 0 when none. */
static int find_record_commit(struct engine *e, const char *component, const char *version,
			      struct record_commit *out)
{
	struct find_ctx f = {.version = version};
	walk_records(e, component, find_cb, &f);
	*out = f.found;
	return out->version != NULL;
}

/* ---- base images (SPEC section 13) ------------------------------------ */

/* The other component whose image repository ref names, or NULL. */
static struct comp_state *base_component(struct engine *e, const struct comp_state *self,
					 const char *ref)
{
	char *bimg, *btag;
	bases_split(ref, &bimg, &btag);
	struct comp_state *found = NULL;
	for (size_t i = 0; i < e->n && !found; i++) {
		struct comp_state *o = &e->cs[i];
		if (o == self)
			continue;
		char *image = NULL;
		struct strv tags = {0};
		struct tally_err err = {0};
		if (pipeline_refs(e->conf, o->cc, o->recorded ? o->recorded : "0", e->root, &image, &tags, NULL,
				  &err) == 0) {
			char *oimg, *otag, *full = xasprintf("%s:x", image);
			bases_split(full, &oimg, &otag);
			if (!strcmp(oimg, bimg))
				found = o;
			free(full);
			free(oimg);
			free(otag);
		}
		free(image);
		strv_free(&tags);
	}
	free(bimg);
	free(btag);
	return found;
}

/* cs->bases anew: each base's digest (read: what the check read from the
 * registry; a base that is another component's image follows that
 * component's record) and built_on (the record commit's Tally-Base). */
static void comp_bases_refresh(struct engine *e, struct comp_state *cs, json_t *read)
{
	struct strv refs = {0};
	struct tally_err err = {0};
	if (bases_of(e->root, cs->cc, &refs, &err) < 0) {
		json_decref(cs->bases);
		cs->bases = NULL;
		return;
	}
	struct record_commit rc = {0};
	if (cs->recorded && refs.n)
		find_record_commit(e, cs->cc->name, cs->recorded, &rc);
	json_t *out = json_array();
	for (size_t i = 0; i < refs.n; i++) {
		const char *ref = refs.v[i];
		json_t *ent = json_pack("{s:s, s:n, s:n}", "image", ref, "digest", "built_on");
		struct comp_state *o = base_component(e, cs, ref);
		if (o) {
			struct record_commit orc = {0};
			refresh_record(e, o);
			json_object_set_new(ent, "component", json_string(o->cc->name));
			if (o->recorded && find_record_commit(e, o->cc->name, o->recorded, &orc))
				json_object_set_new(ent, "digest", json_string(orc.digest));
			else
				json_object_set_new(ent, "error", json_string("no tally record of that component yet"));
			record_commit_free(&orc);
		} else {
			json_t *src = NULL;
			size_t k;
			json_t *v;
			json_array_foreach(read ? read : cs->bases, k, v)
				if (!strcmp(jget_s(v, "image") ? jget_s(v, "image") : "", ref))
					src = v;
			if (src && jget_s(src, "digest"))
				json_object_set_new(ent, "digest", json_string(jget_s(src, "digest")));
			else if (src && jget_s(src, "error"))
				json_object_set_new(ent, "error", json_string(jget_s(src, "error")));
		}
		for (size_t b = 0; b < rc.bases.n; b++) {
			const char *at = strrchr(rc.bases.v[b], '@');
			if (at && (size_t)(at - rc.bases.v[b]) == strlen(ref) &&
			    !strncmp(rc.bases.v[b], ref, strlen(ref)))
				json_object_set_new(ent, "built_on", json_string(at + 1));
		}
		json_array_append_new(out, ent);
	}
	record_commit_free(&rc);
	strv_free(&refs);
	json_decref(cs->bases);
	cs->bases = out;
}

/* The first base whose digest moved from the one the record was built on
 * (NULL when none, or when either is unknown). */
static const char *base_moved(const struct comp_state *cs)
{
	size_t i;
	json_t *v;
	json_array_foreach(cs->bases, i, v) {
		const char *d = jget_s(v, "digest"), *b = jget_s(v, "built_on");
		if (d && b && strcmp(d, b) != 0)
			return jget_s(v, "image");
	}
	return NULL;
}

static json_t *base_entry(const struct comp_state *cs, const char *image)
{
	size_t i;
	json_t *v;
	json_array_foreach(cs->bases, i, v)
		if (!strcmp(jget_s(v, "image"), image))
			return v;
	return NULL;
}

/* With gitPush: which components have record commits not on the remote. */
static void refresh_unpushed(struct engine *e)
{
	for (size_t i = 0; i < e->n; i++)
		e->cs[i].unpushed = 0;
	if (!e->conf->git_push)
		return;
	const char *branch = str_starts(e->refname, "refs/heads/") ? e->refname + 11 : e->refname;
	char *tracking = xasprintf("refs/remotes/%s/%s", e->conf->remote, branch);
	git_revwalk *w = NULL;
	git_oid oid;
	/* no remote-tracking ref: nothing was ever fetched or pushed; unknown */
	if (git_reference_name_to_id(&oid, e->repo, tracking) == 0 && git_revwalk_new(&w, e->repo) == 0 &&
	    git_revwalk_push_ref(w, e->refname) == 0) {
		git_revwalk_hide(w, &oid);
		while (git_revwalk_next(&oid, w) == 0) {
			git_commit *c = NULL;
			if (git_commit_lookup(&c, e->repo, &oid) < 0)
				break;
			char *comp = repo_trailer(git_commit_message(c), "Tally-Component");
			struct comp_state *cs = comp ? find_comp(e, comp) : NULL;
			if (cs)
				cs->unpushed = 1;
			free(comp);
			git_commit_free(c);
		}
	}
	git_revwalk_free(w);
	free(tracking);
}

/* ---- generic tasks ---------------------------------------------------- */

/* A task does blocking work (registry, git network) on a worker thread and
 * hands back events for the engine thread to emit. */
struct task {
	struct engine *e;
	struct job *job;
	struct comp_state *cs;
	void (*work)(struct task *t);
	/* inputs */
	int op;
	int strict;
	char *version, *digest, *reason;
	struct strv problems, warnings;  /* found on the engine thread (verify) */
	struct comp_state **sel;         /* sync: the run's components */
	size_t nsel;
	json_t *nev;                     /* notify: the event's fields */
	/* instead of the plain ending: the engine thread goes on with the job */
	void (*then)(struct engine *e, struct task *t);
	/* outputs */
	json_t *events;
	int failed, input_error, mismatch;
	int reported;                    /* sync: problems said, the run goes on */
	int reship;                      /* repair: a version tag lost the record's digest */
	int retry_cmd;                   /* repair: 1 for `retry` (nothing wrong is exit 2);
					  * 2 for a component passed over (a failure is no failure) */
};

static void *task_thread(void *arg)
{
	struct task *t = arg;
	t->work(t);
	queue_push(&t->e->inbox, M_TASK_DONE, NULL, t);
	return NULL;
}

static struct task *task_new(struct engine *e, struct job *j, struct comp_state *cs,
			     void (*work)(struct task *))
{
	struct task *t = xcalloc(1, sizeof *t);
	t->e = e;
	t->job = j;
	t->cs = cs;
	t->work = work;
	t->events = json_array();
	return t;
}

static void task_start(struct task *t)
{
	t->job->outstanding++;
	t->e->running_tasks++;
	start_thread(task_thread, t);
}

static void task_error(struct task *t, enum tally_class cls, const char *msg)
{
	json_array_append_new(t->events,
			      json_pack("{s:s, s:s, s:s, s:s}", "event", "error", "component",
					t->cs->cc->name, "class", tally_class_name(cls), "message", msg));
	if (cls == TC_INPUT)
		t->input_error = 1;
	t->failed = 1;
}

/* ---- notifications (tally.notify) ------------------------------------ */

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
	if (notify_run(t->e->conf->notify, t->e->root, t->e->state_dir, &ev, t->e->cancel[0], &err) < 0)
		json_array_append_new(t->events,
				      json_pack("{s:s, s:s, s:s, s:s, s:b}", "event", "error", "component",
						t->cs->cc->name, "class", "internal", "message", err.msg,
						"warning", 1));
}

/* A notification counts neither as a success nor as a failure of the job. */
static void notify_then(struct engine *e, struct task *t)
{
	(void)e;
	(void)t;
}

/* Takes fields (an object of strings or nulls, named as in notify_work). */
static void notify_start(struct engine *e, struct job *j, struct comp_state *cs, json_t *fields)
{
	if (!e->conf->notify || !*e->conf->notify) {
		json_decref(fields);
		return;
	}
	struct task *t = task_new(e, j, cs, notify_work);
	t->nev = fields;
	t->then = notify_then;
	task_start(t);
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
	json_decref(t->events);
	json_decref(t->nev);
	free(t->version);
	free(t->digest);
	free(t->reason);
	strv_free(&t->problems);
	strv_free(&t->warnings);
	free(t->sel);
	free(t);
	job_done_one(e, j);
}

static void sync_work(struct task *t)
{
	struct tally_err err = {0};
	struct strv report = {0};
	if (recorder_sync(t->e->root, t->e->conf, -1, t->e->cancel[0], &report, &err) < 0) {
		json_array_append_new(t->events, json_pack("{s:s, s:n, s:s, s:s}", "event", "error",
							   "component", "class",
							   tally_class_name(err.cls ? err.cls : TC_RECORD),
							   "message", err.msg));
		t->failed = 1;
	}
	/* dropped re-applies and pending pushes: said, counted, and the run
	 * goes on for every component (one remote problem blocks nothing) */
	for (size_t i = 0; i < report.n; i++)
		json_array_append_new(t->events, json_pack("{s:s, s:n, s:s, s:s}", "event", "error",
							   "component", "class", "record", "message",
							   report.v[i]));
	t->reported = report.n > 0;
	strv_free(&report);
}

static void run_after_sync(struct engine *e, struct task *t)
{
	if (t->failed) {
		t->job->failed++;
		return;
	}
	if (t->reported)
		t->job->failed++;
	/* the branch may have moved: read the records again */
	for (size_t i = 0; i < e->n; i++)
		if (!e->cs[i].running)
			refresh_record(e, &e->cs[i]);
	run_dispatch(e, t->job, t->sel, t->nsel);
}

static void start_sync(struct engine *e, struct job *j, struct comp_state **sel, size_t n)
{
	struct task *t = task_new(e, j, &e->cs[0], sync_work);
	t->sel = xcalloc(n + 1, sizeof *t->sel);
	memcpy(t->sel, sel, n * sizeof *sel);
	t->nsel = n;
	t->then = run_after_sync;
	task_start(t);
}

/* ---- holds: skip, unskip, pin, unpin ---------------------------------- */

static const char *const hold_words[] = {"skip", "unskip", "pin", "unpin"};

static void hold_work(struct task *t)
{
	struct recorder_hold_req req = {
		.conf = t->e->conf, .cc = t->cs->cc, .repo_dir = t->e->root, .op = (enum recorder_hold_op)t->op,
		.version = t->version, .reason = t->reason, .log_fd = -1, .cancel_fd = t->e->cancel[0],
	};
	struct recorder_result res = {0};
	struct tally_err err = {0};
	char *version = NULL;
	if (recorder_hold(&req, &res, &version, &err) < 0) {
		task_error(t, err.cls ? err.cls : TC_RECORD, err.msg);
	} else {
		json_array_append_new(t->events,
				      json_pack("{s:s, s:s, s:o, s:o, s:s, s:s}", "event", "hold", "component",
						t->cs->cc->name, "version", jstr(version), "previous", json_null(),
						"action", hold_words[t->op], "commit", res.commit));
		if (!res.pushed) {
			char *m = xasprintf("%s committed locally in %.12s but not on the remote: %s",
					    hold_words[t->op], res.commit, res.push_error ? res.push_error : "push failed");
			task_error(t, TC_RECORD, m);
			free(m);
		}
	}
	free(version);
	recorder_result_free(&res);
}

/* A hold commit that landed (even if only locally) is notified. */
static void hold_then(struct engine *e, struct task *t)
{
	if (t->failed)
		t->job->failed++;
	else
		t->job->ok++;
	size_t i;
	json_t *ev;
	json_array_foreach(t->events, i, ev) {
		const char *name = jget_s(ev, "event");
		if (!name || strcmp(name, "hold") != 0)
			continue;
		notify_start(e, t->job, t->cs,
			     json_pack("{s:s, s:s, s:s, s:O, s:s, s:s, s:O}", "event", "hold", "result",
				       hold_words[t->op], "component", t->cs->cc->name, "version",
				       json_object_get(ev, "version"), "action", hold_words[t->op], "message",
				       t->reason ? t->reason : "", "commit", json_object_get(ev, "commit")));
	}
}

static void cmd_hold(struct engine *e, json_t *cmd, int op)
{
	json_t *names = json_object_get(cmd, "components");
	struct comp_state *cs = json_array_size(names) == 1
					? find_comp(e, json_string_value(json_array_get(names, 0)) ?: "")
					: NULL;
	const char *version = jget_s(cmd, "version");
	if (!cs) {
		char *m = xasprintf("%s needs one known component", hold_words[op]);
		usage_error(e, cmd, m);
		free(m);
		return;
	}
	if ((op == RH_SKIP || op == RH_UNSKIP) && (!version || !version_valid(version))) {
		char *m = xasprintf("%s needs a valid VERSION (OCI tag grammar)", hold_words[op]);
		usage_error(e, cmd, m);
		free(m);
		return;
	}
	struct job *j = job_new(e, cmd);
	j->outstanding = 1;
	if (op == RH_SKIP && !strv_contains(&cs->upstream, version)) {
		/* a typo would skip nothing real: say so (the skip is still made) */
		char *m = cs->checked ? xasprintf("%s %s was never listed by its upstream (%zu versions at the last check); "
						  "skipping it anyway (tally unskip %s %s undoes it)",
						  cs->cc->name, version, cs->upstream.n, cs->cc->name, version)
				      : xasprintf("%s's upstream was never read here, so %s is not known to exist; skipping "
						  "it anyway (tally check %s lists the versions)",
						  cs->cc->name, version, cs->cc->name);
		emit(e, json_pack("{s:s, s:s, s:s, s:b, s:s}", "event", "error", "component", cs->cc->name, "class",
				  "warning", "warning", 1, "message", m));
		free(m);
	}
	struct task *t = task_new(e, j, cs, hold_work);
	t->then = hold_then;
	t->op = op;
	t->version = xstrdup(version);
	t->reason = xstrdup(jget_s(cmd, "reason"));
	task_start(t);
	job_done_one(e, j);
}

static void cmd_skip(struct engine *e, json_t *cmd) { cmd_hold(e, cmd, RH_SKIP); }
static void cmd_unskip(struct engine *e, json_t *cmd) { cmd_hold(e, cmd, RH_UNSKIP); }
static void cmd_pin(struct engine *e, json_t *cmd) { cmd_hold(e, cmd, RH_PIN); }
static void cmd_unpin(struct engine *e, json_t *cmd) { cmd_hold(e, cmd, RH_UNPIN); }

/* ---- retry, rebuild, reset -------------------------------------------- */

static json_t *last_attempt(struct engine *e, const char *component)
{
	for (size_t i = json_array_size(e->ledger); i-- > 0;) {
		json_t *ent = json_array_get(e->ledger, i);
		const char *c = jget_s(ent, "component");
		if (c && strcmp(c, component) == 0)
			return ent;
	}
	return NULL;
}

static struct comp_state *one_comp(struct engine *e, json_t *cmd)
{
	json_t *names = json_object_get(cmd, "components");
	if (json_array_size(names) != 1)
		return NULL;
	const char *n = json_string_value(json_array_get(names, 0));
	return n ? find_comp(e, n) : NULL;
}

static void cmd_retry(struct engine *e, json_t *cmd)
{
	struct comp_state *cs = one_comp(e, cmd);
	if (!cs) {
		usage_error(e, cmd, "retry needs one known component");
		return;
	}
	json_t *ent = last_attempt(e, cs->cc->name);
	const char *result = ent ? jget_s(ent, "result") : NULL;
	/* "verified" as the last line: the attempt was interrupted after its
	 * evidence was written (killed, or the engine stopped); it resumes */
	int interrupted = result && strcmp(result, "verified") == 0;
	if (!result || (strcmp(result, "failed") != 0 && !interrupted)) {
		if (!cs->running) {
			/* nothing failed; but a force rebuild killed after its push
			 * leaves the version tags on a digest never recorded: the
			 * repair finds that and finishes it, else says exit 2 */
			refresh_record(e, cs);
			struct job *j = job_new(e, cmd);
			j->outstanding = 1;
			if (!start_repair(e, j, cs, 1)) {
				char *m = xasprintf("%s: nothing to retry (the last attempt %s)", cs->cc->name,
						    result ? result : "does not exist");
				emit_error(e, cs->cc->name, TC_INPUT, m);
				free(m);
				j->input_error = 1;
				j->failed++;
			}
			job_done_one(e, j);
			return;
		}
		char *m = xasprintf("%s: nothing to retry (the last attempt %s)", cs->cc->name,
				    result ? result : "does not exist");
		usage_error(e, cmd, m);
		free(m);
		return;
	}
	const char *version = jget_s(ent, "version");
	const char *action = jget_s(ent, "action");
	enum recorder_action act = RA_SHIP;
	if (action && !strcmp(action, "rebuild"))
		act = RA_REBUILD;
	else if (action && !strcmp(action, "reset"))
		act = RA_RESET;
	struct tally_err err = {0};
	struct holds *h = read_holds(e, &err);
	char *msg = NULL;
	refresh_record(e, cs);
	if (!h)
		msg = xstrdup(err.msg);
	else if (!version || !version_valid(version))
		msg = xstrdup("the failed attempt has no valid version");
	else if (holds_is_skipped(h, cs->cc->name, version))
		msg = xasprintf("%s %s is skipped now; not retrying", cs->cc->name, version);
	else if (act == RA_SHIP && holds_pin(h, cs->cc->name))
		msg = xasprintf("%s is pinned now; not retrying", cs->cc->name);
	else if (act == RA_SHIP && cs->recorded && version_compare(version, cs->recorded, cs->cc->order) <= 0)
		msg = xasprintf("%s %s is no longer newer than the record %s", cs->cc->name, version, cs->recorded);
	holds_free(h);
	if (msg) {
		usage_error(e, cmd, msg);
		free(msg);
		return;
	}
	struct job *j = job_new(e, cmd);
	j->outstanding = 1;
	struct record_commit rc = {0};
	char *rtcause = xasprintf("operator: tally retry %s", cs->cc->name);
	struct plan p = {.action = act, .version = version, .cause = act == RA_SHIP ? NULL : rtcause,
			 .no_resume = act == RA_REBUILD && !interrupted};
	if (act == RA_RESET) {
		if (find_record_commit(e, cs->cc->name, version, &rc))
			p.digest = rc.digest;
		p.pin = json_is_true(json_object_get(ent, "pin"));
		p.pin_reason = "reset";
	}
	plan_attempt(e, j, cs, &p);   /* waits when an attempt is in flight */
	free(rtcause);
	record_commit_free(&rc);
}

static void cmd_rebuild(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	int all = json_is_true(json_object_get(cmd, "all"));
	if (!all && !json_array_size(json_object_get(cmd, "components"))) {
		usage_error(e, cmd, "rebuild needs COMP... or --all");
		return;
	}
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	const char *version = jget_s(cmd, "version");
	char *msg = NULL;
	if (version && n != 1)
		msg = xstrdup("--version needs exactly one component");
	else if (version && !version_valid(version))
		msg = xasprintf("'%s' is not a valid version (OCI tag grammar)", version);
	else if (version && version_is_alias(version))
		msg = xasprintf("'%s' has no digit: an alias, never a version", version);
	for (size_t i = 0; i < n && !msg; i++) {
		refresh_record(e, sel[i]);
		if (sel[i]->record_error)
			msg = xstrdup(sel[i]->record_msg);
		else if (!sel[i]->recorded && !version)
			msg = xasprintf("%s has no record to rebuild (use run)", sel[i]->cc->name);
		else if (version && sel[i]->recorded &&
			 version_compare(version, sel[i]->recorded, sel[i]->cc->order) < 0)
			msg = xasprintf("%s %s is older than the record %s (use reset)", sel[i]->cc->name, version,
					sel[i]->recorded);
	}
	if (msg) {
		free(sel);
		usage_error(e, cmd, msg);
		free(msg);
		return;
	}
	struct job *j = job_new(e, cmd);
	j->outstanding = 1;
	for (size_t i = 0; i < n; i++) {
		j->outstanding++;
		char *cause = xasprintf("operator: tally rebuild %s", sel[i]->cc->name);
		struct plan p = {.action = RA_REBUILD, .version = version ? version : sel[i]->recorded,
				 .no_resume = 1, .cause = cause};
		plan_attempt(e, j, sel[i], &p);
		free(cause);
	}
	free(sel);
	job_done_one(e, j);
}

static void cmd_reset(struct engine *e, json_t *cmd)
{
	struct comp_state *cs = one_comp(e, cmd);
	const char *version = jget_s(cmd, "version");
	if (!cs || !version) {
		usage_error(e, cmd, "reset needs one known component and a VERSION");
		return;
	}
	struct tally_err err = {0};
	struct holds *h = read_holds(e, &err);
	char *msg = NULL;
	refresh_record(e, cs);
	if (!version_valid(version))
		msg = xasprintf("'%s' is not a valid version (OCI tag grammar)", version);
	else if (!h)
		msg = xstrdup(err.msg);
	else if (cs->running)
		msg = xasprintf("%s: an attempt is already running", cs->cc->name);
	else if (cs->record_error)
		msg = xstrdup(cs->record_msg);
	else if (!cs->recorded)
		msg = xasprintf("%s has no record to reset (use run --version)", cs->cc->name);
	else if (version_compare(version, cs->recorded, cs->cc->order) >= 0)
		msg = xasprintf("%s %s is not older than the record %s (reset only goes back)", cs->cc->name,
				version, cs->recorded);
	else if (holds_is_skipped(h, cs->cc->name, version))
		msg = xasprintf("%s %s is skipped; unskip it before resetting to it", cs->cc->name, version);
	holds_free(h);
	if (msg) {
		usage_error(e, cmd, msg);
		free(msg);
		return;
	}
	struct job *j = job_new(e, cmd);
	j->outstanding = 1;
	struct record_commit rc = {0};
	find_record_commit(e, cs->cc->name, version, &rc);
	char *reason = xasprintf("reset to %s", version);
	char *rcause = xasprintf("operator: tally reset %s %s", cs->cc->name, version);
	struct plan p = {
		.action = RA_RESET, .version = version, .digest = rc.digest, .cause = rcause,
		.no_build = json_is_true(json_object_get(cmd, "no_build")),
		.pin = !json_is_true(json_object_get(cmd, "no_pin")),
		.pin_reason = jget_s(cmd, "reason") ? jget_s(cmd, "reason") : reason,
	};
	plan_attempt(e, j, cs, &p);
	free(reason);
	free(rcause);
	record_commit_free(&rc);
}

/* ---- verify ------------------------------------------------------------ */

/* An index (several platforms): every child it lists must read back by
 * its digest; problems are added to probs. A plain image adds nothing. */
static void verify_index(struct registry *r, const char *image, const char *digest, struct strv *probs,
			 struct strv *lines)
{
	struct sbuf body = {0};
	char *mt = NULL;
	char got[REGISTRY_DIGEST_MAX];
	struct tally_err err = {0};
	if (registry_get_manifest(r, image, digest, &body, &mt, got, &err) < 0) {
		strv_push_owned(probs, xasprintf("%s@%s: %s", image, digest, err.msg));
		goto out;
	}
	if (!mt || (strcmp(mt, "application/vnd.oci.image.index.v1+json") != 0 &&
		    strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json") != 0))
		goto out;
	json_t *idx = json_loadb(body.buf, body.len, 0, NULL);
	size_t i;
	json_t *ch;
	json_array_foreach(json_object_get(idx, "manifests"), i, ch) {
		const char *cd = jget_s(ch, "digest");
		json_t *pl = json_object_get(ch, "platform");
		const char *os = jget_s(pl, "os"), *arch = jget_s(pl, "architecture");
		if (!cd) {
			strv_push_owned(probs, xasprintf("%s@%s: entry %zu of the index has no digest", image, digest, i));
			continue;
		}
		const char *var = jget_s(pl, "variant");
		if (registry_digest(r, image, cd, got, &err) < 0 || strcmp(got, cd) != 0)
			strv_push_owned(probs, xasprintf("%s@%s (%s/%s), listed in the index %s, does not read back: %s",
							 image, cd, os ? os : "?", arch ? arch : "?", digest,
							 err.msg[0] ? err.msg : got));
		else if (lines)
			strv_push_owned(lines, xasprintf("%s/%s%s%s %s", os ? os : "?", arch ? arch : "?",
							 var ? "/" : "", var ? var : "", cd));
	}
	json_decref(idx);
out:
	free(mt);
	sbuf_free(&body);
}

static void verify_work(struct task *t)
{
	struct engine *e = t->e;
	const struct comp_conf *cc = t->cs->cc;
	struct tally_err err = {0};
	char *image = NULL;
	struct strv tags = {0}, floating = {0};
	struct registry *r = NULL;
	int unreachable = 0;
	if (!t->version)
		goto report;
	if (pipeline_refs(e->conf, cc, t->version, e->root, &image, &tags, &floating, &err) < 0) {
		strv_push(&t->problems, err.msg);
		goto report;
	}
	r = registry_from_conf(e->conf, &err);
	if (!r) {
		strv_push(&t->problems, err.msg);
		goto report;
	}
	char first[REGISTRY_DIGEST_MAX] = "";
	for (size_t i = 0; i < tags.n + floating.n; i++) {
		int is_float = i >= tags.n;
		const char *tag = is_float ? floating.v[i - tags.n] : tags.v[i];
		char d[REGISTRY_DIGEST_MAX];
		if (registry_digest(r, image, tag, d, &err) < 0) {
			/* unreadable is not a mismatch: an untrusted certificate neither */
			if (err.cls == TC_NETWORK || err.cls == TC_TLS)
				unreachable = 1;
			strv_push_owned(&t->problems, xasprintf("%s:%s: %s", image, tag, err.msg));
			continue;
		}
		if (!is_float && !first[0])
			snprintf(first, sizeof first, "%s", d);
		else if (!is_float && strcmp(first, d) != 0)
			strv_push_owned(&t->problems, xasprintf("%s:%s reads back as %s, but %s:%s as %s", image, tag,
								d, image, tags.v[0], first));
		if (t->digest && strcmp(d, t->digest) != 0)
			strv_push_owned(&t->problems,
					xasprintf("%s:%s%s reads back as %s; the record commit says %s", image, tag,
						  is_float ? " (floating)" : "", d, t->digest));
	}
	if (first[0] || t->digest)
		verify_index(r, image, t->digest ? t->digest : first, &t->problems, NULL);
report:
	if (!t->problems.n && !(t->strict && t->warnings.n)) {
		/* fine */
	} else if (unreachable && t->problems.n) {
		t->failed = 1;
	} else {
		t->failed = 1;
		t->mismatch = 1;
	}
	json_t *probs = json_array(), *warns = json_array();
	for (size_t i = 0; i < t->problems.n; i++)
		json_array_append_new(probs, json_string(t->problems.v[i]));
	for (size_t i = 0; i < t->warnings.n; i++)
		json_array_append_new(t->strict ? probs : warns, json_string(t->warnings.v[i]));
	json_array_append_new(t->events, json_pack("{s:s, s:s, s:o, s:b, s:o, s:o}", "event", "verify",
						   "component", cc->name, "version", jstr(t->version),
						   "ok", !t->failed, "problems", probs, "warnings", warns));
	registry_free(r);
	free(image);
	strv_free(&tags);
	strv_free(&floating);
}

static void cmd_verify(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	struct job *j = job_new(e, cmd);
	j->outstanding = 1;
	git_commit *head = NULL;
	repo_branch_commit(e->repo, e->refname, &head, NULL);
	for (size_t i = 0; i < n; i++) {
		struct comp_state *cs = sel[i];
		struct task *t = task_new(e, j, cs, verify_work);
		t->strict = json_is_true(json_object_get(cmd, "strict"));
		refresh_record(e, cs);
		if (cs->record_error) {
			strv_push(&t->problems, cs->record_msg);
		} else if (!cs->recorded) {
			strv_push_owned(&t->warnings, xasprintf("%s has no record yet", cs->cc->name));
		} else {
			t->version = xstrdup(cs->recorded);
			struct record_commit rc = {0};
			if (find_record_commit(e, cs->cc->name, cs->recorded, &rc))
				t->digest = xstrdup(rc.digest);
			else
				strv_push_owned(&t->warnings,
						xasprintf("the record %s=%s was not made by tally (no trailers); only the tags' agreement is checked (tally adopt %s gives it evidence)",
							  cs->cc->key, cs->recorded, cs->cc->name));
			record_commit_free(&rc);
			/* the working tree must say what HEAD says */
			char *wp = xasprintf("%s/%s", e->root, cs->cc->file);
			struct sbuf raw = {0};
			struct tally_err err = {0};
			struct vfile *vf = NULL;
			if (util_read_file(wp, &raw, &err) < 0)
				strv_push_owned(&t->problems, xasprintf("%s: missing from the working tree", cs->cc->file));
			else if (versionfile_parse(cs->cc->file, sbuf_str(&raw), raw.len, 0, &vf, &err) < 0)
				strv_push(&t->problems, err.msg);
			else if (!versionfile_get(vf, cs->cc->key) ||
				 strcmp(versionfile_get(vf, cs->cc->key), cs->recorded) != 0)
				strv_push_owned(&t->problems,
						xasprintf("%s:%d: the working tree says %s=%s, the committed record is %s",
							  cs->cc->file, versionfile_line(vf, cs->cc->key), cs->cc->key,
							  versionfile_get(vf, cs->cc->key) ? versionfile_get(vf, cs->cc->key) : "(nothing)",
							  cs->recorded));
			versionfile_free(vf);
			sbuf_free(&raw);
			free(wp);
		}
		task_start(t);
	}
	git_commit_free(head);
	free(sel);
	job_done_one(e, j);
}

/* ---- adopt ------------------------------------------------------------- */

/* A record made before tally gets its evidence: every version tag is read
 * back, and when they agree on one digest the recorder makes a commit with
 * no file change that carries it. Nothing is written otherwise. */
static void adopt_work(struct task *t)
{
	struct engine *e = t->e;
	const struct comp_conf *cc = t->cs->cc;
	struct tally_err err = {0};
	char *image = NULL;
	struct strv tags = {0}, floating = {0}, images = {0}, problems = {0}, platforms = {0};
	struct registry *r = NULL;
	struct recorder_result res = {0};
	enum tally_class cls = TC_VERIFY;
	if (pipeline_refs(e->conf, cc, t->version, e->root, &image, &tags, &floating, &err) < 0) {
		task_error(t, TC_INPUT, err.msg);
		goto out;
	}
	r = registry_from_conf(e->conf, &err);
	if (!r) {
		task_error(t, err.cls ? err.cls : TC_INPUT, err.msg);
		goto out;
	}
	char first[REGISTRY_DIGEST_MAX] = "";
	for (size_t i = 0; i < tags.n; i++) {
		char d[REGISTRY_DIGEST_MAX];
		if (registry_digest(r, image, tags.v[i], d, &err) < 0) {
			strv_push_owned(&problems, xasprintf("%s:%s: %s", image, tags.v[i], err.msg));
			if (err.cls && err.cls != TC_INPUT)
				cls = err.cls;
			continue;
		}
		strv_push_owned(&images, xasprintf("%s:%s", image, tags.v[i]));
		if (!first[0])
			snprintf(first, sizeof first, "%s", d);
		else if (strcmp(first, d) != 0)
			strv_push_owned(&problems, xasprintf("%s:%s reads back as %s, but %s:%s as %s", image,
							      tags.v[i], d, image, tags.v[0], first));
	}
	if (!problems.n && first[0])
		verify_index(r, image, first, &problems, &platforms);   /* an index: every child */
	if (problems.n || !first[0]) {
		struct sbuf sb = {0};
		sbuf_addf(&sb, "%s %s not adopted (nothing written): ", cc->name, t->version);
		for (size_t i = 0; i < problems.n; i++)
			sbuf_addf(&sb, "%s%s", i ? "; " : "", problems.v[i]);
		task_error(t, cls, sbuf_str(&sb));
		sbuf_free(&sb);
		goto out;
	}
	for (size_t i = 0; i < floating.n; i++) {
		char d[REGISTRY_DIGEST_MAX];
		if (registry_digest(r, image, floating.v[i], d, &err) < 0 || strcmp(d, first) != 0) {
			char *m = xasprintf("%s:%s (floating) does not point at %s; the next run puts it", image,
					    floating.v[i], first);
			json_array_append_new(t->events, json_pack("{s:s, s:s, s:n, s:s, s:b}", "event", "error",
								   "component", cc->name, "class", "message", m,
								   "warning", 1));
			free(m);
		}
	}
	struct recorder_evidence ev = {
		.attempt = NULL, .digest = first, .images = images.v, .nimages = images.n,
		.fingerprint = t->reason, .platforms = platforms.v, .nplatforms = platforms.n,
		.cause = "operator: tally adopt",
	};
	struct recorder_req req = {
		.conf = e->conf, .cc = cc, .repo_dir = e->root, .action = RA_ADOPT, .version = t->version,
		.ev = &ev, .log_fd = -1, .cancel_fd = e->cancel[0],
	};
	if (recorder_record(&req, &res, &err) < 0) {
		task_error(t, err.cls ? err.cls : TC_RECORD, err.msg);
		goto out;
	}
	json_array_append_new(t->events,
			      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "event", "record", "component",
					cc->name, "version", t->version, "previous", t->version, "action", "adopt",
					"commit", res.commit, "digest", first));
	if (!res.pushed) {
		char *m = xasprintf("adopt committed locally in %.12s but not on the remote: %s", res.commit,
				    res.push_error ? res.push_error : "push failed");
		task_error(t, TC_RECORD, m);
		free(m);
	}
out:
	recorder_result_free(&res);
	registry_free(r);
	free(image);
	strv_free(&tags);
	strv_free(&floating);
	strv_free(&images);
	strv_free(&problems);
	strv_free(&platforms);
}

static void emit_note(struct engine *e, const char *component, const char *msg)
{
	emit(e, json_pack("{s:s, s:s, s:s}", "event", "note", "component", component, "message", msg));
}

static void cmd_adopt(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	int all = json_is_true(json_object_get(cmd, "all"));
	if (!all && !json_array_size(json_object_get(cmd, "components"))) {
		usage_error(e, cmd, "adopt needs COMP... or --all");
		return;
	}
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	char *msg = NULL;
	for (size_t i = 0; i < n && !msg; i++) {
		refresh_record(e, sel[i]);
		if (sel[i]->running)
			msg = xasprintf("%s: an attempt is running; adopt after it ends", sel[i]->cc->name);
		else if (sel[i]->record_error)
			msg = xstrdup(sel[i]->record_msg);
		else if (!sel[i]->recorded && !all)
			msg = xasprintf("%s has no record to adopt (adopt gives evidence to an existing record; use run)",
					sel[i]->cc->name);
	}
	if (msg) {
		free(sel);
		usage_error(e, cmd, msg);
		free(msg);
		return;
	}
	struct job *j = job_new(e, cmd);
	j->outstanding = 1;
	for (size_t i = 0; i < n; i++) {
		struct comp_state *cs = sel[i];
		struct record_commit rc = {0};
		if (!cs->recorded) {
			char *m = xasprintf("%s has no record; nothing to adopt", cs->cc->name);
			emit_note(e, cs->cc->name, m);
			free(m);
			j->ok++;
		} else if (find_record_commit(e, cs->cc->name, cs->recorded, &rc)) {
			char *m = !strcmp(rc.action, "adopt")
					  ? xasprintf("%s %s is already adopted (commit %.12s); nothing to do",
						      cs->cc->name, cs->recorded, rc.commit)
					  : xasprintf("%s %s was recorded by tally (%s, commit %.12s); nothing to adopt",
						      cs->cc->name, cs->recorded, rc.action, rc.commit);
			emit_note(e, cs->cc->name, m);
			free(m);
			j->ok++;
		} else {
			struct task *t = task_new(e, j, cs, adopt_work);
			t->version = xstrdup(cs->recorded);
			t->reason = fingerprint_of(e, cs->cc);   /* the recipe fingerprint */
			task_start(t);
		}
		record_commit_free(&rc);
	}
	free(sel);
	job_done_one(e, j);
}

/* ---- attempts, shipped, pause ------------------------------------------ */

static void cmd_attempts(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	const char *only = json_array_size(json_object_get(cmd, "components")) ? sel[0]->cc->name : NULL;
	free(sel);
	json_int_t limit = json_integer_value(json_object_get(cmd, "limit"));
	if (limit <= 0)
		limit = 20;
	struct job *j = job_new(e, cmd);
	json_t *seen = json_object();
	for (size_t i = json_array_size(e->ledger); i-- > 0 && j->ok < limit;) {
		json_t *ent = json_array_get(e->ledger, i);
		const char *id = jget_s(ent, "id"), *c = jget_s(ent, "component");
		if (!id || !c || (only && strcmp(c, only) != 0) || json_object_get(seen, id))
			continue;
		json_object_set_new(seen, id, json_true());
		const char *cls = jget_s(ent, "class");
		enum tally_class k = cls ? tally_class_from_name(cls) : TC_NONE;
		json_t *ev = json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "event", "attempt",
				       "component", c, "version", jstr(jget_s(ent, "version")), "attempt", id,
				       "action", jstr(jget_s(ent, "action")), "result", jstr(jget_s(ent, "result")),
				       "class", jstr(cls), "hint",
				       cls && k < TC_CLASS_COUNT ? json_string(classify_hint(k)) : json_null(),
				       "digest", jstr(jget_s(ent, "digest")), "log", jstr(jget_s(ent, "log")),
				       "message", jstr(jget_s(ent, "message")));
		json_object_set(ev, "stages", json_object_get(ent, "stages") ?: json_null());
		json_object_set_new(ev, "ended", jtime(json_integer_value(json_object_get(ent, "ended"))));
		emit(e, ev);
		j->ok++;
	}
	json_decref(seen);
	job_finish(e, j);
}

struct shipped_ctx {
	struct engine *e;
	struct job *j;
	json_t *seen;
	const char *component;
};

static int shipped_cb(void *vctx, const struct record_commit *rc)
{
	struct shipped_ctx *c = vctx;
	if (!rc->digest || json_object_get(c->seen, rc->version))
		return 0;
	json_object_set_new(c->seen, rc->version, json_true());
	emit(c->e, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "event", "shipped", "component",
			     c->component, "version", rc->version, "digest", rc->digest, "commit", rc->commit,
			     "action", rc->action, "time", jtime(rc->time)));
	c->j->ok++;
	return 0;
}

static void cmd_shipped(struct engine *e, json_t *cmd)
{
	struct comp_state *cs = one_comp(e, cmd);
	if (!cs) {
		usage_error(e, cmd, "shipped needs one known component");
		return;
	}
	struct job *j = job_new(e, cmd);
	struct shipped_ctx c = {.e = e, .j = j, .seen = json_object(), .component = cs->cc->name};
	walk_records(e, cs->cc->name, shipped_cb, &c);
	json_decref(c.seen);
	job_finish(e, j);
}

static char *paused_path(struct engine *e)
{
	return xasprintf("%s/paused", e->state_dir);
}

static int engine_paused(struct engine *e)
{
	char *p = paused_path(e);
	int paused = access(p, F_OK) == 0;
	free(p);
	return paused;
}

static void set_paused(struct engine *e, json_t *cmd, int paused)
{
	struct job *j = job_new(e, cmd);
	char *p = paused_path(e);
	struct tally_err err = {0};
	if (paused && atomicfile_write(p, "paused\n", 7, 0600, &err) < 0) {
		emit_error(e, NULL, TC_INTERNAL, err.msg);
		j->failed++;
	} else if (!paused && unlink(p) < 0 && errno != ENOENT) {
		emit_error(e, NULL, TC_INTERNAL, strerror(errno));
		j->failed++;
	} else {
		emit(e, json_pack("{s:s, s:b}", "event", "engine", "paused", engine_paused(e)));
		j->ok++;
	}
	free(p);
	job_finish(e, j);
}

static void cmd_pause(struct engine *e, json_t *cmd) { set_paused(e, cmd, 1); }
static void cmd_resume(struct engine *e, json_t *cmd) { set_paused(e, cmd, 0); }


/* After a record, floating tags follow the recorded digest. A crash between
 * the record commit and the floating tags (or a failed put) is mended by
 * the next run: tags that do not read back the record's digest are put
 * again and read back, whatever the holds say (mending them changes no
 * record). */
static void floating_work(struct task *t)
{
	struct engine *e = t->e;
	const struct comp_conf *cc = t->cs->cc;
	struct tally_err err = {0};
	char *image = NULL;
	struct strv tags = {0}, floating = {0};
	struct registry *r = NULL;
	struct sbuf body = {0};
	char *mt = NULL;
	if (pipeline_refs(e->conf, cc, t->version, e->root, &image, &tags, &floating, &err) < 0 ||
	    !(r = registry_from_conf(e->conf, &err))) {
		task_error(t, TC_INPUT, err.msg);
		goto out;
	}
	/* Version tags first: when one reads back another digest than the
	 * record's (a force rebuild killed after its push or verify), the
	 * record's version is shipped again (resuming at record when the
	 * ledger has the verified digest); floating tags follow that. */
	for (size_t i = 0; i < tags.n; i++) {
		char d[REGISTRY_DIGEST_MAX] = "";
		if (registry_digest(r, image, tags.v[i], d, &err) < 0) {
			if (err.cls == TC_MISSING_VERSION) {
				t->reship = 1;
				tally_err_clear(&err);
				continue;
			}
			task_error(t, err.cls, err.msg);
			goto out;
		}
		if (strcmp(d, t->digest) != 0)
			t->reship = 1;
	}
	if (t->reship)
		goto out;
	for (size_t i = 0; i < floating.n; i++) {
		char d[REGISTRY_DIGEST_MAX] = "";
		if (registry_digest(r, image, floating.v[i], d, &err) == 0 && strcmp(d, t->digest) == 0)
			continue;
		crashpoint("before-floating-repair");
		if (!body.len) {
			char got[REGISTRY_DIGEST_MAX];
			if (registry_get_manifest(r, image, t->digest, &body, &mt, got, &err) < 0) {
				task_error(t, err.cls == TC_MISSING_VERSION ? TC_VERIFY : err.cls, err.msg);
				goto out;
			}
		}
		if (registry_put_manifest(r, image, floating.v[i], body.buf, body.len, mt, &err) < 0 ||
		    registry_digest(r, image, floating.v[i], d, &err) < 0) {
			task_error(t, TC_VERIFY, err.msg);
			goto out;
		}
		if (strcmp(d, t->digest) != 0) {
			char *m = xasprintf("%s:%s reads back as %s after the put, expected %s", image,
					    floating.v[i], d, t->digest);
			task_error(t, TC_VERIFY, m);
			free(m);
			goto out;
		}
		json_array_append_new(t->events,
				      json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:f}", "event", "stage",
						"schema", 1, "component", cc->name, "version", t->version,
						"attempt", "", "stage", "floating", "result", "ok", "seconds", 0.0));
	}
out:
	free(mt);
	sbuf_free(&body);
	registry_free(r);
	free(image);
	strv_free(&tags);
	strv_free(&floating);
}

/* No candidate: mend floating tags, and re-ship the record when its recipe
 * changed since it was recorded. Returns 1 when it took over the
 * component's part of the job. */
static int run_no_candidate(struct engine *e, struct job *j, struct comp_state *cs,
			    const struct holds *h)
{
	if (!cs->recorded || j->dry_run || j->no_push)
		return 0;
	struct record_commit rc = {0};
	if (!find_record_commit(e, cs->cc->name, cs->recorded, &rc))
		return 0;   /* a record not made by tally: nothing to compare */
	int took = 0;
	char *fp = fingerprint_of(e, cs->cc);
	int held = (h && holds_pin(h, cs->cc->name)) || (h && holds_is_skipped(h, cs->cc->name, cs->recorded));
	const char *moved = held ? NULL : base_moved(cs);
	if (moved) {
		json_t *be = base_entry(cs, moved);
		char *cause = xasprintf("base %s moved %s \u2192 %s", moved, jget_s(be, "built_on"),
					jget_s(be, "digest"));
		char *v = xstrdup(cs->recorded);
		struct plan p = {.action = RA_REBUILD, .version = v, .no_resume = 1, .cause = cause};
		plan_attempt(e, j, cs, &p);
		free(v);
		free(cause);
		took = 1;
	} else if (rc.recipe && strcmp(rc.recipe, fp) != 0 && !held) {
		char *v = xstrdup(cs->recorded);
		struct plan p = {.action = RA_REBUILD, .version = v, .no_resume = 1, .cause = "recipe changed"};
		plan_attempt(e, j, cs, &p);
		free(v);
		took = 1;
	} else if (start_repair(e, j, cs, 0)) {
		settle(e, j, cs);
		job_done_one(e, j);   /* the task holds the job now */
		took = 1;
	}
	free(fp);
	record_commit_free(&rc);
	return took;
}

/* On the engine thread after a repair: a version tag that lost the
 * record's digest ships the record again (an interrupted force rebuild is
 * finished: recorded with the verified digest when the ledger has it and
 * every tag still reads it back, else built again). */
static void repair_then(struct engine *e, struct task *t)
{
	struct job *j = t->job;
	if (t->failed) {
		/* a pinned or manual component is passed over without failing;
		 * the mend is tried again by the next run */
		if (t->retry_cmd == 2)
			j->ok++;
		else
			j->failed++;
		return;
	}
	if (!t->reship) {
		if (t->retry_cmd == 1) {
			char *m = xasprintf("%s: nothing to retry (the last attempt %s; the record's tags read back its digest)",
					    t->cs->cc->name, t->cs->last_result ? t->cs->last_result : "does not exist");
			emit_error(e, t->cs->cc->name, TC_INPUT, m);
			free(m);
			j->input_error = 1;
			j->failed++;
		} else {
			j->ok++;
		}
		return;
	}
	char *m = xasprintf("%s %s: a version tag does not read back the recorded digest %s (an interrupted rebuild?); shipping it again",
			    t->cs->cc->name, t->version, t->digest);
	emit(e, json_pack("{s:s, s:s, s:n, s:b, s:s}", "event", "error", "component", t->cs->cc->name,
			  "class", "warning", 1, "message", m));
	free(m);
	j->outstanding++;   /* plan_attempt ends it */
	struct plan p = {.action = RA_REBUILD, .version = t->version,
			 .cause = "a version tag lost the recorded digest"};
	plan_attempt(e, j, t->cs, &p);
}

/* Starts the repair of a component's record in the registry (version tags,
 * then floating tags) when the record is tally's. Returns 1 when a task
 * took a unit of the job. */
static int start_repair(struct engine *e, struct job *j, struct comp_state *cs, int retry_cmd)
{
	if (!cs->recorded || j->dry_run || j->no_push)
		return 0;
	struct record_commit rc = {0};
	if (!find_record_commit(e, cs->cc->name, cs->recorded, &rc) || !rc.digest) {
		record_commit_free(&rc);
		return 0;
	}
	struct task *t = task_new(e, j, cs, floating_work);
	t->version = xstrdup(cs->recorded);
	t->digest = xstrdup(rc.digest);
	t->then = repair_then;
	t->retry_cmd = retry_cmd;
	record_commit_free(&rc);
	task_start(t);
	return 1;
}

static const struct command {
	const char *name;
	void (*handler)(struct engine *e, json_t *cmd);
	int writes;     /* changes something: refused on watch connections */
} commands[];

/* ---- health (for monitoring) ------------------------------------------ */

static void cmd_health(struct engine *e, json_t *cmd)
{
	struct job *j = job_new(e, cmd);
	long long now = now_s();
#ifdef TALLY_TESTING
	/* tests judge a long-idle engine with a clock they set */
	if (json_is_integer(json_object_get(cmd, "now")))
		now = json_integer_value(json_object_get(cmd, "now"));
#endif
	struct holds *h = read_holds(e, NULL);
	struct health_comp *hc = xcalloc(e->n + 1, sizeof *hc);
	for (size_t i = 0; i < e->n; i++) {
		struct comp_state *cs = &e->cs[i];
		hc[i].name = cs->cc->name;
		hc[i].cron = cs->cron;
		hc[i].scheduled = !(h && holds_pin(h, cs->cc->name)) && !upstream_is_manual(cs->cc);
		hc[i].last_sched = cs->last_sched;
		hc[i].limited_until = cs->up_cls == TC_RATE_LIMIT ? cs->retry_at : 0;
	}
	holds_free(h);
	struct health_in in = {
		.now = now, .started = e->started_at, .pid = (long)getpid(), .serving = e->serving,
		.paused = engine_paused(e), .comps = hc, .n = e->n,
	};
	char *pp = paused_path(e);
	struct stat st;
	if (in.paused && stat(pp, &st) == 0)
		in.paused_since = (long long)st.st_mtime;
	free(pp);
	struct health_out out;
	health_judge(&in, &out);
	free(hc);
	emit(e, json_pack("{s:s, s:b, s:o, s:I, s:b, s:o, s:o}", "event", "health", "ok", out.ok, "reason",
			  out.ok ? json_null() : json_string(out.reason), "engine", (json_int_t)in.pid,
			  "paused", in.paused, "last_run", jtime(out.last_run), "next_run", jtime(out.next_run)));
	if (out.ok)
		j->ok++;
	else
		j->failed++;
	job_finish(e, j);
}

static void cmd_status_h(struct engine *e, json_t *cmd)
{
	cmd_status(e, cmd, "status");
}

static const struct command commands[] = {
	{"status", cmd_status_h, 0},
	{"check", cmd_check, 1},
	{"run", cmd_run, 1},
	{"history", cmd_history, 0},
	{"logs", cmd_logs, 0},
	{"retry", cmd_retry, 1},
	{"rebuild", cmd_rebuild, 1},
	{"reset", cmd_reset, 1},
	{"skip", cmd_skip, 1},
	{"unskip", cmd_unskip, 1},
	{"pin", cmd_pin, 1},
	{"unpin", cmd_unpin, 1},
	{"verify", cmd_verify, 1},
	{"adopt", cmd_adopt, 1},
	{"attempts", cmd_attempts, 0},
	{"shipped", cmd_shipped, 0},
	{"pause", cmd_pause, 1},
	{"resume", cmd_resume, 1},
	{"health", cmd_health, 0},
};

int engine_command_reads_only(const char *name)
{
	for (size_t i = 0; name && i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, name) == 0)
			return !commands[i].writes;
	return 0;
}

json_t *engine_describe(struct engine *e)
{
	const char *branch = str_starts(e->refname, "refs/heads/") ? e->refname + 11 : e->refname;
	return json_pack("{s:s, s:s, s:s, s:s, s:b}", "repo", e->root, "branch", branch, "theme",
			 e->conf->theme ? e->conf->theme : "default", "state_dir", e->state_dir,
			 "paused", engine_paused(e));
}

static void on_command(struct engine *e, json_t *cmd)
{
	const char *name = jget_s(cmd, "cmd");
	for (size_t i = 0; name && i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, name) == 0) {
			commands[i].handler(e, cmd);
			return;
		}
	char *m = xasprintf("unknown command '%s'", name ? name : "");
	usage_error(e, cmd, m);
	free(m);
}


/* ---- the schedule (tally serve) ---------------------------------------- */

static char *schedule_path(struct engine *e)
{
	return xasprintf("%s/schedule.json", e->state_dir);
}

/* schedule.json: {"COMP": last scheduled run, ..., "_from": {"COMP": t}};
 * _from is when missed runs start to count. A component with neither (a
 * fresh state directory, or a component new to it) makes up nothing: its
 * first run is the next scheduled one (SPEC section 12). */
static void load_schedule(struct engine *e)
{
	char *path = schedule_path(e);
	json_t *root = json_load_file(path, 0, NULL);
	free(path);
	const char *name;
	json_t *v;
	json_object_foreach(root, name, v) {
		struct comp_state *cs = find_comp(e, name);
		if (cs && json_is_integer(v))
			cs->last_sched = json_integer_value(v);
	}
	json_object_foreach(json_object_get(root, "_from"), name, v) {
		struct comp_state *cs = find_comp(e, name);
		if (cs && json_is_integer(v))
			cs->sched_from = json_integer_value(v);
	}
	json_decref(root);
	for (size_t i = 0; i < e->n; i++)
		if (e->cs[i].last_sched <= 0 && e->cs[i].sched_from <= 0) {
			e->cs[i].sched_from = now_s();
			e->sched_dirty = 1;
		}
}

static void save_schedule(struct engine *e)
{
	json_t *root = json_object(), *from = json_object();
	for (size_t i = 0; i < e->n; i++) {
		if (e->cs[i].last_sched > 0)
			json_object_set_new(root, e->cs[i].cc->name, json_integer(e->cs[i].last_sched));
		if (e->cs[i].sched_from > 0)
			json_object_set_new(from, e->cs[i].cc->name, json_integer(e->cs[i].sched_from));
	}
	json_object_set_new(root, "_from", from);
	e->sched_dirty = 0;
	char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *path = schedule_path(e);
	struct tally_err err = {0};
	if (atomicfile_write(path, s, strlen(s), 0600, &err) < 0)
		emit_error(e, NULL, TC_INTERNAL, err.msg);
	free(path);
	free(s);
	json_decref(root);
}

/* Due now: a cron time passed since the last scheduled run (at start that
 * makes up for one missed run), or a backoff retry is due. */
static int comp_due(struct engine *e, struct comp_state *cs, long long now)
{
	(void)e;
	if (cs->running || !cs->cron || upstream_is_manual(cs->cc))
		return 0;
	if (cs->retry_due > 0 && cs->retry_due <= now)
		return 1;
	long long prev = cron_prev(cs->cron, now);
	return prev > 0 && prev > cs->last_sched && prev > cs->sched_from;
}

/* After a cron time passed, every component's next run moved on: the
 * front ends get every status again, so nothing on screen is stale. */
static void schedule_emit_status(struct engine *e, long long now)
{
	int passed = 0;
	for (size_t i = 0; i < e->n; i++) {
		long long prev = e->cs[i].cron ? cron_prev(e->cs[i].cron, now) : 0;
		if (prev > 0 && prev > e->sched_seen)
			passed = 1;
	}
	if (!e->sched_seen)
		passed = 0;   /* the first tick: front ends ask for status themselves */
	e->sched_seen = now;
	if (!passed)
		return;
	struct holds *h = read_holds(e, NULL);
	json_int_t job = e->cur_job;
	e->cur_job = -1;
	for (size_t i = 0; i < e->n; i++)
		emit(e, status_json(e, &e->cs[i], h, "status"));
	e->cur_job = job;
	holds_free(h);
}

static void schedule_tick(struct engine *e)
{
	if (!e->serving || e->quitting)
		return;
	long long now = now_s();
	int paused = engine_paused(e);
	json_t *names = json_array();
	struct holds *h = read_holds(e, NULL);
	for (size_t i = 0; i < e->n; i++) {
		struct comp_state *cs = &e->cs[i];
		if (!comp_due(e, cs, now))
			continue;
		/* pinned components are never scheduled, and what fell due while
		 * pinned or paused is not made up later (SPEC section 12) */
		if (paused || (h && holds_pin(h, cs->cc->name))) {
			cs->sched_from = now;
			e->sched_dirty = 1;
			continue;
		}
		long long prev = cron_prev(cs->cron, now);
		if (prev > cs->last_sched)
			cs->last_sched = now;
		if (cs->retry_due > 0 && cs->retry_due <= now)
			cs->retry_due = 0;
		json_array_append_new(names, json_string(cs->cc->name));
	}
	holds_free(h);
	if (!json_array_size(names)) {
		json_decref(names);
		if (e->sched_dirty)
			save_schedule(e);
		schedule_emit_status(e, now);
		return;
	}
	save_schedule(e);
	emit(e, json_pack("{s:s, s:O}", "event", "schedule", "components", names));
	json_t *cmd = json_pack("{s:s, s:i, s:o, s:b}", "cmd", "run", "id", 0, "components", names,
				"scheduled", 1);
	on_command(e, cmd);
	json_decref(cmd);
	schedule_emit_status(e, now);
}

/* Milliseconds until the schedule needs the engine again (at most a minute,
 * so a paused file removed by hand is noticed). */
static int schedule_wait_ms(struct engine *e)
{
	if (!e->serving || e->quitting)
		return -1;
	long long now = now_s(), wake = now + 60;
	for (size_t i = 0; i < e->n; i++) {
		struct comp_state *cs = &e->cs[i];
		if (!cs->cron)
			continue;
		long long next = cron_next(cs->cron, now);
		if (next > 0 && next < wake)
			wake = next;
		if (cs->retry_due > 0 && cs->retry_due < wake)
			wake = cs->retry_due;
	}
	long long ms = (wake - now) * 1000;
	return ms < 0 ? 0 : (int)(ms > 60000 ? 60000 : ms);
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
		return NULL;
	}
	for (size_t i = 0; i < e->n; i++)
		refresh_record(e, &e->cs[i]);
	schedule_tick(e);
	for (;;) {
		e->cur_job = -1;
		struct msg *m = queue_pop(&e->inbox, schedule_wait_ms(e));
		if (!m) {
			schedule_tick(e);
			continue;
		}
		switch (m->kind) {
		case M_CMD:
			on_command(e, m->json);
			json_decref(m->json);
			break;
		case M_CHECK_DONE:
			on_check_done(e, m->ptr);
			if (!e->jobs)
				save_checks(e);
			break;
		case M_PROGRESS:
			on_progress(e, m->ptr, m->json);
			break;
		case M_ATTEMPT_DONE:
			on_attempt_done(e, m->ptr);
			break;
		case M_TASK_DONE:
			on_task_done(e, m->ptr);
			break;
		case M_QUIT:
			e->quitting = 1;
			cancel_waiting(e);
			break;
		}
		free(m);
		schedule_tick(e);
		maybe_compact(e);
		if (e->quitting && !e->running_attempts && !e->running_checks && !e->running_tasks)
			break;
	}
	save_checks(e);
	parsecache_free(e->pc);
	e->pc = NULL;
	recindex_free(e->ri);
	e->ri = NULL;
	free(e->hold_names);
	e->hold_names = NULL;
	git_repository_free(e->repo);
	e->repo = NULL;
	return NULL;
}

/* ---- public ---------------------------------------------------------- */

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
	e->ri = recindex_load(e->state_dir, &e->warnings);   /* issue 11: STATE/recindex */
	e->n = e->conf->ncomps;
	e->cs = xcalloc(e->n, sizeof *e->cs);
	for (size_t i = 0; i < e->n; i++)
		e->cs[i].cc = &e->conf->comps[i];
	e->names = nameindex_new(e->n, comp_name_at, e);
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
	pthread_mutex_init(&e->base_mu, NULL);
	queue_init(&e->outbox, 1);
	if (pipe2(e->cancel, O_CLOEXEC) < 0) {
		tally_err_set(err, TC_INTERNAL, "pipe: %s", strerror(errno));
		goto fail;
	}
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
	struct msg *m;
	while (e->outbox.wake[0] >= 0 && (m = queue_pop(&e->outbox, 0))) {
		json_decref(m->json);
		free(m);
	}
	for (size_t i = 0; i < e->n; i++) {
		struct comp_state *cs = &e->cs[i];
		free(cs->recorded);
		free(cs->record_msg);
		strv_free(&cs->upstream);
		free(cs->up_msg);
		free(cs->built);
		free(cs->last_result);
		free(cs->last_version);
		free(cs->last_class);
		free(cs->last_message);
		json_decref(cs->last_evidence);
		free(cs->last_log);
		json_decref(cs->bases);
		cron_free(cs->cron);
	}
	free(e->cs);
	nameindex_free(e->names);
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
