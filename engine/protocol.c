/* protocol.c - the names of the protocol (events, states, stages, actions:
 * one table each, see protocol.h) and the builders of the events the engine
 * emits. emit() and its callers run on the engine thread only. */
#include "engine_int.h"

static const char *const ev_names[EV_COUNT] = {
	[EV_STATUS] = "status", [EV_CHECK] = "check", [EV_ERROR] = "error", [EV_ATTEMPT] = "attempt",
	[EV_RECORD] = "record", [EV_HOLD] = "hold", [EV_STAGE] = "stage", [EV_LOG] = "log",
	[EV_DROPPED] = "dropped", [EV_SUMMARY] = "summary", [EV_DONE] = "done", [EV_ENGINE] = "engine",
	[EV_HEALTH] = "health", [EV_LOGFILE] = "logfile", [EV_NOTE] = "note", [EV_SCHEDULE] = "schedule",
	[EV_SHIPPED] = "shipped", [EV_VERIFY] = "verify", [EV_HELLO] = "hello", [EV_ACCEPTED] = "accepted",
};

static const char *const state_names[ST_COUNT] = {
	[ST_UNCHECKED] = "unchecked", [ST_UNKNOWN] = "unknown", [ST_CURRENT] = "current",
	[ST_OUTDATED] = "outdated", [ST_AHEAD] = "ahead", [ST_BASE_MOVED] = "base-moved",
	[ST_PINNED] = "pinned", [ST_FAILED] = "failed", [ST_BUILDING] = "building",
	[ST_PUSHING] = "pushing", [ST_VERIFYING] = "verifying", [ST_RECORDING] = "recording",
};

static const struct {
	const char *name;
	enum comp_st state;
} stages[SG_COUNT] = {
	[SG_BUILD] = {"build", ST_BUILDING}, [SG_PUSH] = {"push", ST_PUSHING},
	[SG_VERIFY] = {"verify", ST_VERIFYING}, [SG_RECORD] = {"record", ST_RECORDING},
	[SG_FLOATING] = {"floating", ST_VERIFYING}, [SG_CLEANUP] = {"cleanup", ST_RECORDING},
};

static const char *const result_names[RS_COUNT] = {
	[RS_SHIPPED] = "shipped", [RS_BUILT] = "built", [RS_FAILED] = "failed",
	[RS_VERIFIED] = "verified", [RS_CANCELLED] = "cancelled", [RS_PLANNED] = "planned",
};

static const char *const hold_names[] = {
	[RH_SKIP] = "skip", [RH_UNSKIP] = "unskip", [RH_PIN] = "pin", [RH_UNPIN] = "unpin",
};
#define NHOLDS (int)(sizeof hold_names / sizeof hold_names[0])

static const char *const record_names[] = {
	[RA_SHIP] = "ship", [RA_REBUILD] = "rebuild", [RA_RESET] = "reset", [RA_ADOPT] = "adopt",
};
#define NRECORDS (int)(sizeof record_names / sizeof record_names[0])

static int find_name(const char *const *names, int n, const char *name)
{
	for (int i = 0; name && i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *ev_name(enum ev e) { return (unsigned)e < EV_COUNT ? ev_names[e] : NULL; }
const char *state_name(enum comp_st s) { return (unsigned)s < ST_COUNT ? state_names[s] : NULL; }
const char *stage_name(enum stage s) { return (unsigned)s < SG_COUNT ? stages[s].name : NULL; }
enum comp_st stage_state(enum stage s) { return (unsigned)s < SG_COUNT ? stages[s].state : ST_UNKNOWN; }
const char *result_name(enum result r) { return (unsigned)r < RS_COUNT ? result_names[r] : NULL; }

const char *hold_action_name(enum recorder_hold_op op)
{
	return (int)op >= 0 && (int)op < NHOLDS ? hold_names[op] : NULL;
}

const char *record_action_name(enum recorder_action a)
{
	return (int)a >= 0 && (int)a < NRECORDS ? record_names[a] : NULL;
}

int ev_from_name(const char *name) { return find_name(ev_names, EV_COUNT, name); }
int state_from_name(const char *name) { return find_name(state_names, ST_COUNT, name); }
int result_from_name(const char *name) { return find_name(result_names, RS_COUNT, name); }
int hold_action_from_name(const char *name) { return find_name(hold_names, NHOLDS, name); }
int record_action_from_name(const char *name) { return find_name(record_names, NRECORDS, name); }

int stage_from_name(const char *name)
{
	for (int i = 0; name && i < SG_COUNT; i++)
		if (strcmp(stages[i].name, name) == 0)
			return i;
	return -1;
}

int result_is(const char *s, enum result r)
{
	return s && result_from_name(s) == (int)r;
}

json_t *ev_warning(const char *component, const char *msg)
{
	return json_pack("{s:s, s:s, s:n, s:b, s:s}", "event", ev_names[EV_ERROR], "component", component,
			 "class", "warning", 1, "message", msg);
}

void emit(struct engine *e, json_t *ev)
{
	if (!json_object_get(ev, "schema"))
		json_object_set_new(ev, "schema", json_integer(1));
	/* which command this event answers, so a client attached to a busy
	 * engine can pick its own events out of the stream */
	if (e->cur_job >= 0 && !json_object_get(ev, "job"))
		json_object_set_new(ev, "job", json_integer(e->cur_job));
	pending_add(&e->out_pending, ev, 0);
	/* a long answer (status of every component) goes out in parts, so
	 * that readers print while the rest is made */
	if (e->out_pending.n >= 64)
		outbox_flush(e);
}

void outbox_flush(struct engine *e)
{
	queue_push_pending(&e->outbox, &e->out_pending);
}

json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *jtime(long long t)
{
	if (t <= 0)
		return json_null();
	char buf[32];
	util_iso8601(t, buf, sizeof buf);
	return json_string(buf);
}

void emit_error(struct engine *e, const char *component, enum tally_class cls,
		       const char *msg)
{
	emit(e, json_pack("{s:s, s:o, s:o, s:s}", "event", ev_name(EV_ERROR), "component", jstr(component),
			  "class", cls == TC_NONE ? json_null() : json_string(tally_class_name(cls)),
			  "message", msg));
}

void free_str(char **p)
{
	free(*p);
	*p = NULL;
}

const char *jget_s(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

long long now_s(void)
{
	return (long long)time(NULL);
}

void emit_note(struct engine *e, const char *component, const char *msg)
{
	emit(e, json_pack("{s:s, s:s, s:s}", "event", ev_name(EV_NOTE), "component", component, "message", msg));
}
