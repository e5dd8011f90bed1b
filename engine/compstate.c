/* compstate.c - a component's state as pure functions of struct
 * comp_state and the holds (see compstate.h): the candidate, the state
 * word, the next run, the status row, the results the ledger says.
 * No threads, no I/O: the engine thread calls them, tests call them too. */
#include "engine_int.h"


/* built, last result and resume evidence come from the ledger */
void apply_ledger_entry(struct comp_state *cs, json_t *ent)
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

/* Transient failures are retried with backoff (SPEC section 6); any other
 * result ends the series. */
void note_result(struct comp_state *cs, const char *result, const char *cls,
			long long ended, long long rate_reset)
{
	enum tally_class k = cls ? tally_class_from_name(cls) : TC_NONE;
	if (result && result_is(result, RS_FAILED) && k < TC_CLASS_COUNT && classify_transient(k)) {
		cs->transient_failures++;
		long long next = cs->cron ? cron_next(cs->cron, ended) : -1;
		cs->retry_due = backoff_next(cs->transient_failures, ended, next, rate_reset);
		if (cs->retry_due < 0)
			cs->retry_due = 0;
	} else if (result && !result_is(result, RS_VERIFIED)) {
		cs->transient_failures = 0;
		cs->retry_due = 0;
	}
}

/* newest upstream version that is not skipped and is newer than the record,
 * were the component not pinned */
const char *candidate_unpinned(const struct comp_state *cs, const struct holds *h)
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
const char *candidate_of(const struct comp_state *cs, const struct holds *h)
{
	if (h && holds_pin(h, cs->cc->name))
		return NULL;
	return candidate_unpinned(cs, h);
}

const char *state_of(const struct comp_state *cs, const struct holds *h, const char *cand)
{
	if (cs->stage)
		return cs->stage;
	/* another host builds the candidate (its claim on the remote) */
	if (cs->held_by && cand && cs->held_version && strcmp(cs->held_version, cand) == 0)
		return state_name(ST_BUILDING);
	if (cs->unpushed)
		return state_name(ST_RECORDING);
	if (h && holds_pin(h, cs->cc->name))
		return state_name(ST_PINNED);
	if (cs->last_result && result_is(cs->last_result, RS_FAILED) && cand && cs->last_version &&
	    strcmp(cs->last_version, cand) == 0)
		return state_name(ST_FAILED);
	if (cs->record_error)
		return state_name(ST_UNKNOWN);
	if (cs->checked && cs->up_cls != TC_NONE)
		return state_name(ST_UNKNOWN);
	/* never read in this state directory: tally does not know yet */
	if (!cs->checked)
		return state_name(ST_UNCHECKED);
	if (cand || !cs->recorded)
		return state_name(ST_OUTDATED);
	if (base_moved(cs))
		return state_name(ST_BASE_MOVED);
	if (cs->upstream.n && version_compare(cs->recorded, cs->upstream.v[0], cs->cc->order) > 0)
		return state_name(ST_AHEAD);
	return state_name(ST_CURRENT);
}

/* When the schedule will next run this component: null while pinned,
 * paused, or for manual upstreams. */
long long next_run_of(const struct comp_state *cs, const struct holds *h, int paused, long long now)
{
	if (!cs->cron || (h && holds_pin(h, cs->cc->name)) || upstream_is_manual(cs->cc) || paused)
		return 0;
	long long next = cron_next(cs->cron, now);
	if (cs->retry_due > 0 && (next < 0 || cs->retry_due < next))
		next = cs->retry_due > now ? cs->retry_due : now;
	return next > 0 ? next : 0;
}

json_t *status_json(const struct comp_state *cs, const struct holds *h, const char *event, int paused,
		    long long now)
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
	} else if (cs->last_result && result_is(cs->last_result, RS_FAILED)) {
		cls = cs->last_class;
		msg = cs->last_message;
		evidence = cs->last_evidence;
	}
	/* built key by key (a status of 1,000 components builds 1,000 of
	 * these; json_pack parses its format and checks every key each time),
	 * in the order the protocol has always had */
	json_t *st = json_object();
	json_object_set_new_nocheck(st, "schema", json_integer(1));
	json_object_set_new_nocheck(st, "event", json_string(event));
	json_object_set_new_nocheck(st, "component", json_string(cs->cc->name));
	json_object_set_new_nocheck(st, "key", json_string(cs->cc->key));
	json_object_set_new_nocheck(st, "file", json_string(cs->cc->file));
	json_object_set_new_nocheck(st, "recorded", jstr(cs->recorded));
	json_object_set_new_nocheck(st, "upstream", cs->upstream.n && cs->up_cls == TC_NONE
							   ? json_string(cs->upstream.v[0]) : json_null());
	json_object_set_new_nocheck(st, "candidate", jstr(cand));
	json_object_set_new_nocheck(st, "built", jstr(cs->built));
	json_object_set_new_nocheck(st, "state", json_string(state_of(cs, h, cand)));
	json_object_set_new_nocheck(st, "class", jstr(cls));
	json_object_set_new_nocheck(st, "message", jstr(msg));
	json_object_set_new_nocheck(st, "checked_at", jtime(cs->checked_at));
	json_object_set_new_nocheck(st, "retry_at", jtime(cs->retry_due ? cs->retry_due : cs->retry_at));
	json_object_set_new_nocheck(st, "next_run", jtime(next_run_of(cs, h, paused, now)));
	json_object_set_new_nocheck(st, "last_result", jstr(cs->last_result));
	json_object_set_new_nocheck(st, "last_at", jtime(cs->last_ended));
	json_object_set_new_nocheck(st, "evidence", evidence ? json_incref(evidence) : json_null());
	json_object_set_new_nocheck(st, "log", jstr(cs->last_log));
	/* skipped versions are listed beside the state (SPEC section 2) */
	json_t *skipped = json_array();
	for (size_t i = 0; h && i < holds_count(h); i++) {
		const struct hold *hd = holds_at(h, i);
		if (hd->kind == HOLD_SKIP && strcmp(hd->component, cs->cc->name) == 0)
			json_array_append_new(skipped, json_string(hd->version));
	}
	json_object_set_new_nocheck(st, "skipped", skipped);
	/* a pin, its reason and what unpinning would do: nothing at once; the
	 * next scheduled run ships the candidate */
	const struct hold *pin = h ? holds_pin(h, cs->cc->name) : NULL;
	if (pin) {
		long long next = 0;
		if (cs->cron && !upstream_is_manual(cs->cc) && !paused)
			next = cron_next(cs->cron, now);
		json_object_set_new_nocheck(st, "pin", json_pack("{s:s, s:s, s:o, s:o}", "version", pin->version, "reason",
							pin->reason, "ships", jstr(candidate_unpinned(cs, h)),
							"next_run", jtime(next)));
	} else {
		json_object_set_new_nocheck(st, "pin", json_null());
	}
	json_t *bases = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(cs->bases, i, v)
		json_array_append_new(bases, json_pack("{s:s, s:O, s:O}", "image", jget_s(v, "image"), "digest",
						       json_object_get(v, "digest"), "built_on",
						       json_object_get(v, "built_on")));
	json_object_set_new_nocheck(st, "bases", bases);
	/* who holds a running attempt: this host, or another host's claim */
	const char *holder = cs->running ? cs->self_host : NULL;
	if (!holder && cs->held_by && cand && cs->held_version && strcmp(cs->held_version, cand) == 0)
		holder = cs->held_by;
	json_object_set_new_nocheck(st, "host", jstr(holder));
	if (cs->cc->hosts.n) {
		json_t *hl = json_array();
		for (size_t k = 0; k < cs->cc->hosts.n; k++)
			json_array_append_new(hl, json_string(cs->cc->hosts.v[k]));
		json_object_set_new_nocheck(st, "hosts", hl);
	}
	if (cs->cc->platforms.n) {
		json_t *pl = json_array();
		for (size_t k = 0; k < cs->cc->platforms.n; k++)
			json_array_append_new(pl, json_string(cs->cc->platforms.v[k]));
		json_object_set_new_nocheck(st, "platforms", pl);
	}
	return st;
}

/* The first base whose digest moved from the one the record was built on
 * (NULL when none, or when either is unknown). */
const char *base_moved(const struct comp_state *cs)
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

json_t *base_entry(const struct comp_state *cs, const char *image)
{
	size_t i;
	json_t *v;
	json_array_foreach(cs->bases, i, v)
		if (!strcmp(jget_s(v, "image"), image))
			return v;
	return NULL;
}

void comp_state_free(struct comp_state *cs)
{
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
	free(cs->held_by);
	free(cs->held_version);
}
