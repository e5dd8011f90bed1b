/* protocol.c - the names of the protocol (events, states, stages, actions:
 * one table each, see protocol.h) and the builders of the events the engine
 * emits. emit() and its callers run on the engine thread only. */
#include "engine_int.h"

void emit(struct engine *e, json_t *ev)
{
	if (!json_object_get(ev, "schema"))
		json_object_set_new(ev, "schema", json_integer(1));
	/* which command this event answers, so a client attached to a busy
	 * engine can pick its own events out of the stream */
	if (e->cur_job >= 0 && !json_object_get(ev, "job"))
		json_object_set_new(ev, "job", json_integer(e->cur_job));
	queue_push(&e->outbox, 0, ev, NULL);
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
	emit(e, json_pack("{s:s, s:o, s:o, s:s}", "event", "error", "component", jstr(component),
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
	emit(e, json_pack("{s:s, s:s, s:s}", "event", "note", "component", component, "message", msg));
}
