/* engine_int.h - the engine's own types and functions, shared by the files of
 * engine/ that make the engine (engine.h is the public API). Who owns what:
 * struct engine, every struct comp_state, struct job and struct waiter belong
 * to the engine thread; a struct work (and the task, check or attempt it
 * starts) belongs to the worker thread that runs it from pool_submit until
 * the pool hands it back, then to the engine thread again (done()).
 * struct work_ctx is constant while the pools live; struct basecache is
 * shared by a job's check workers under its mutex. */
#ifndef TALLY_ENGINE_INT_H
#define TALLY_ENGINE_INT_H

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

#include "engine.h"
#include "atomicfile.h"
#include "bases.h"
#include "claims.h"
#include "classify.h"
#include "compstate.h"
#include "crashpoint.h"
#include "cron.h"
#include "holds.h"
#include "http.h"
#include "ledger.h"
#include "health.h"
#include "notify.h"
#include "nameindex.h"
#include "parsecache.h"
#include "protocol.h"
#include "queue.h"
#include "recindex.h"
#include "pipeline.h"
#include "recorder.h"
#include "runner.h"
#include "registry.h"
#include "repo.h"
#include "server.h"
#include "statedir.h"
#include "tags.h"
#include "upstream.h"
#include "util.h"
#include "version.h"
#include "versionfile.h"
#include "workers.h"

#define MAX_CHECKS 32   /* check threads; http.c bounds requests per host (HTTP_PER_HOST) */

struct task;
enum { M_CMD, M_PROGRESS, M_WORK_DONE, M_QUIT };

/* What every worker may read: set in engine_open, constant until the pools
 * are joined. */
struct work_ctx {
	const struct tally_conf *conf;
	const char *root, *state_dir;
	int cancel_fd;
};

/* Base image digests read by a job's checks, each once per job: shared by
 * the check workers only (the engine thread keeps its own copy in
 * job->base_digests from each check's result). */
struct basecache {
	pthread_mutex_t mu;
	json_t *digests;            /* base image -> digest or {"error": msg} */
};

struct job {
	struct job *next;
	json_int_t id;
	char *cmd;
	int dry_run, no_push;
	char *version;
	int outstanding;
	int ok, failed, input_error, mismatch;
	json_t *ordered;            /* check: events held back to come out in config order */
	json_t *base_digests;       /* base image -> digest or {"error": msg}, as the checks read it */
	struct basecache *bcache;   /* the check workers' shared reads */
	unsigned char *pending;     /* run: per component, its part of the job is not settled */
	struct comp_state **deferred;   /* run: checked, waiting for its after components */
	size_t ndeferred;
};

struct check_task {
	struct work w;
	const struct work_ctx *ctx;
	const struct comp_conf *cc;
	struct basecache *bcache;
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
	struct pending out_pending; /* events of this loop iteration (engine thread), see emit */
	char *checks_text;          /* checks.json as last read or written (engine thread) */
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
	struct work curl_preload;   /* libcurl opened while the first attempt builds */
	int curl_preloading;
	int quitting;
	int serving;                /* tally serve: the schedule runs */
	int sched_dirty;            /* schedule.json needs writing */
	long long sched_seen;       /* the last schedule tick (status goes out when a cron time passed) */
	int live_logs;              /* attempts post their output as "log" events */
	json_int_t cur_job;         /* job whose events are being emitted; -1 none */
	int cancel[2];
	struct work_ctx wctx;
	struct pool *check_pool, *attempt_pool, *repo_pool;
	json_t *ledger;
	struct strv warnings;
	unsigned seq;
	int njobs;                  /* commands in flight (any thread reads it) */
	unsigned char *status_dirty;   /* per component: its row may have changed */
	json_t **status_sent;          /* per component: the row last pushed, or NULL */
};

struct attempt_task {
	struct work w;
	struct queue *inbox;        /* progress goes there */
	struct job *job;
	struct comp_state *cs;
	struct attempt *a;
	int dropping;     /* live log chunks are being dropped */
	/* several build hosts (tally.gitPush): the claim around the attempt */
	struct claim claim;        /* ours while claimed (claim.component set) */
	struct claim held;         /* another host's live claim met: nothing was built */
	char *elsewhere;           /* the remote records the version already (by this host) */
};

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
	char *cause;                   /* the plan's Tally-Cause (NULL: the recorder's default) */
};

struct record_commit {
	char *version, *digest, *action, *recipe;
	struct strv bases;          /* Tally-Base: image@digest */
	char commit[GIT_OID_HEXSZ + 1];
	long long time;
};

/* A task does blocking work (registry, git network) on a worker thread and
 * hands back events for the engine thread to emit. */
struct task {
	struct work w;
	const struct work_ctx *ctx;      /* what the worker reads */
	const struct comp_conf *cc;      /* the component's config (cs->cc) */
	struct job *job;                 /* engine thread only, as cs */
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
	struct plan *plan;               /* plan repair: the plan to go on with */
	int retry_cmd;                   /* repair: 1 for `retry` (nothing wrong is exit 2);
					  * 2 for a component passed over (a failure is no failure) */
};

/* jobs.c */
int select_named_or_all(struct engine *e, json_t *cmd, const char *what, struct comp_state ***sel,
			size_t *n);
struct job *job_or_refuse(struct engine *e, json_t *cmd, char *msg);
json_t *comp_status(struct engine *e, const struct comp_state *cs, const struct holds *h, const char *event);
struct comp_state *find_comp(struct engine *e, const char *name);
void status_touch(struct engine *e, const struct comp_state *cs);
void status_touch_all(struct engine *e);
void status_flush(struct engine *e);
struct job *job_new(struct engine *e, json_t *cmd);
void job_finish(struct engine *e, struct job *j);
void job_done_one(struct engine *e, struct job *j);
int select_comps(struct engine *e, json_t *cmd, struct comp_state ***out, size_t *n);
void usage_error(struct engine *e, json_t *cmd, const char *msg);
int waits_for_after(struct engine *e, struct job *j, struct comp_state *cs);
void settle(struct engine *e, struct job *j, struct comp_state *cs);
json_t *last_attempt(struct engine *e, const char *component);
struct comp_state *one_comp(struct engine *e, json_t *cmd);
/* 1 when this host may ship cs (component.<n>.host names it or no host);
 * else the refusal of an explicit command, naming the hosts (caller frees). */
int comp_ours(const struct engine *e, const struct comp_state *cs);
/* attemptclaim.c, on the attempt's worker thread: the claim around it.
 * attempt_claim: 0 go on (claimed, or no claim needed), 1 nothing to build
 * (t->held or t->elsewhere), -1 the attempt failed (t->a filled). */
int attempt_claim(struct attempt_task *t);
void attempt_unclaim(struct attempt_task *t);
char *not_ours_msg(const struct engine *e, const struct comp_state *cs);

/* checks.c */
void dispatch_check(struct engine *e, struct job *j, struct comp_state *cs);
void evaluate_checked(struct engine *e, struct job *j, struct comp_state *cs);

/* attempts.c */
void post_progress(void *ctx, json_t *ev);
void cancel_waiting(struct engine *e);
void attempt_run(struct work *w);
void attempt_done(struct engine *e, struct work *w);
void pump_attempts(struct engine *e);
void add_waiter(struct engine *e, struct job *j, struct comp_state *cs, enum waiter_kind kind,
		       enum recorder_action action, const char *version, int pin, const char *pin_reason,
		       const char *cause);
void free_waiters(struct engine *e);
void on_progress(struct engine *e, struct attempt_task *t, json_t *ev);

/* plan.c */
char *fingerprint_of(struct engine *e, const struct comp_conf *cc);
void plan_free(struct plan *p);
void plan_attempt(struct engine *e, struct job *j, struct comp_state *cs,
			 const struct plan *p);
int run_no_candidate(struct engine *e, struct job *j, struct comp_state *cs,
			    const struct holds *h);

/* tasks.c */
struct task *task_new(struct engine *e, struct job *j, struct comp_state *cs,
			     void (*work)(struct task *));
void task_start(struct engine *e, struct task *t, struct pool *pool);
void task_error(struct task *t, enum tally_class cls, const char *msg);
void notify_start(struct engine *e, struct job *j, struct comp_state *cs, json_t *fields);

/* history.c */
void refresh_record(struct engine *e, struct comp_state *cs);
void refresh_records(struct engine *e, struct comp_state **sel, size_t n);
struct holds *read_holds(struct engine *e, struct tally_err *err);
void record_commit_free(struct record_commit *rc);
void walk_records(struct engine *e, const char *component,
			 int (*fn)(void *ctx, const struct record_commit *rc), void *ctx);
int find_record_commit(struct engine *e, const char *component, const char *version,
			      struct record_commit *out);
struct comp_state *base_component(struct engine *e, const struct comp_state *self,
					 const char *ref);
void comp_bases_refresh(struct engine *e, struct comp_state *cs, json_t *read);
void refresh_unpushed(struct engine *e);

/* schedule.c */
void load_checks(struct engine *e);
void save_checks(struct engine *e);
char *paused_path(struct engine *e);
int engine_paused(struct engine *e);
void cmd_pause(struct engine *e, json_t *cmd);
void cmd_resume(struct engine *e, json_t *cmd);
void load_schedule(struct engine *e);
void schedule_tick(struct engine *e);
int schedule_wait_ms(struct engine *e);

/* cmd_ship.c */
void cmd_check(struct engine *e, json_t *cmd);
void cmd_run(struct engine *e, json_t *cmd);
void cmd_retry(struct engine *e, json_t *cmd);
void cmd_rebuild(struct engine *e, json_t *cmd);
void cmd_reset(struct engine *e, json_t *cmd);

/* cmd_holds.c */
void cmd_skip(struct engine *e, json_t *cmd);
void cmd_unskip(struct engine *e, json_t *cmd);
void cmd_pin(struct engine *e, json_t *cmd);
void cmd_unpin(struct engine *e, json_t *cmd);

/* cmd_query.c */
void cmd_status(struct engine *e, json_t *cmd, const char *event);
void cmd_history(struct engine *e, json_t *cmd);
void cmd_logs(struct engine *e, json_t *cmd);
void cmd_attempts(struct engine *e, json_t *cmd);
void cmd_shipped(struct engine *e, json_t *cmd);
void cmd_health(struct engine *e, json_t *cmd);

/* cmd_registry.c */
void cmd_verify(struct engine *e, json_t *cmd);
void cmd_adopt(struct engine *e, json_t *cmd);
int start_repair(struct engine *e, struct job *j, struct comp_state *cs, int retry_cmd);

/* dispatch.c */
void on_command(struct engine *e, json_t *cmd);

/* protocol.c */
/* Queues an event; the events of one loop iteration go to the outbox
 * together (outbox_flush before the loop waits, or every 64 events), so
 * readers wake once, not once an event. */
void emit(struct engine *e, json_t *ev);
void outbox_flush(struct engine *e);
void emit_error(struct engine *e, const char *component, enum tally_class cls,
		       const char *msg);
void emit_note(struct engine *e, const char *component, const char *msg);

#endif
