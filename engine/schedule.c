/* schedule.c - the schedule (tally serve, SPEC section 12) and the state
 * files it keeps: the tick, due components and backoff, pause/resume,
 * schedule.json and checks.json (paths from statedir.c). Engine thread
 * only. */
#include "engine_int.h"

static char *checks_path(struct engine *e);
static void set_paused(struct engine *e, json_t *cmd, int paused);
static char *schedule_path(struct engine *e);
static void save_schedule(struct engine *e);
static int comp_due(struct engine *e, struct comp_state *cs, long long now);
static void schedule_emit_status(struct engine *e, long long now);

static char *checks_path(struct engine *e)
{
	return statedir_file(e->state_dir, SF_CHECKS);
}

/* The last check of every component survives the process in checks.json,
 * so `tally status` needs no network. */
void load_checks(struct engine *e)
{
	char *path = checks_path(e);
	json_error_t jerr;
	struct sbuf raw = {0};
	json_t *root = util_read_file(path, &raw, NULL) == 0 ? json_loadb(raw.buf, raw.len, 0, &jerr)
							       : json_load_file(path, 0, &jerr);   /* says why */
	if (root) {
		free(e->checks_text);
		e->checks_text = sbuf_detach(&raw);   /* save_checks writes only what differs */
	}
	sbuf_free(&raw);
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

void save_checks(struct engine *e)
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
	json_decref(root);
	/* the same as read or last written: nothing to write (a status or a
	 * run of manual components changes no check) */
	if (e->checks_text && strcmp(s, e->checks_text) == 0) {
		free(s);
		return;
	}
	char *path = checks_path(e);
	struct tally_err err = {0};
	if (atomicfile_write(path, s, strlen(s), 0600, &err) < 0) {
		strv_push(&e->warnings, err.msg);
		free(s);
	} else {
		free(e->checks_text);
		e->checks_text = s;
	}
	free(path);
}

char *paused_path(struct engine *e)
{
	return statedir_file(e->state_dir, SF_PAUSED);
}

int engine_paused(struct engine *e)
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
		emit(e, json_pack("{s:s, s:b}", "event", ev_name(EV_ENGINE), "paused", engine_paused(e)));
		status_touch_all(e);   /* every next run moved */
		j->ok++;
	}
	free(p);
	job_finish(e, j);
}

void cmd_pause(struct engine *e, json_t *cmd) { set_paused(e, cmd, 1); }
void cmd_resume(struct engine *e, json_t *cmd) { set_paused(e, cmd, 0); }

static char *schedule_path(struct engine *e)
{
	return statedir_file(e->state_dir, SF_SCHEDULE);
}

/* schedule.json: {"COMP": last scheduled run, ..., "_from": {"COMP": t}};
 * _from is when missed runs start to count. A component with neither (a
 * fresh state directory, or a component new to it) makes up nothing: its
 * first run is the next scheduled one (SPEC section 12). */
void load_schedule(struct engine *e)
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
	status_touch_all(e);   /* the rows whose next run moved go out (status_flush) */
}

void schedule_tick(struct engine *e)
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
	emit(e, json_pack("{s:s, s:O}", "event", ev_name(EV_SCHEDULE), "components", names));
	json_t *cmd = json_pack("{s:s, s:i, s:o, s:b}", "cmd", "run", "id", 0, "components", names,
				"scheduled", 1);
	on_command(e, cmd);
	json_decref(cmd);
	schedule_emit_status(e, now);
}

/* Milliseconds until the schedule needs the engine again (at most a minute,
 * so a paused file removed by hand is noticed). */
int schedule_wait_ms(struct engine *e)
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
