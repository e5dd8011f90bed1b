/* model.c - the console's model: the component rows as the engine last
 * described them, and the requests in flight, each known by the job id the
 * engine stamps on every event it sends for that command (replies are
 * routed by it, never guessed from their text). No curses. UI thread only. */
#include "ui.h"
#include "i18n.h"
#include "i18nmsg.h"

#include <stdlib.h>
#include <string.h>

const char *ui_s(json_t *o, const char *k)
{
	return o ? json_string_value(json_object_get(o, k)) : NULL;
}

struct row *ui_selected(struct console *c)
{
	return c->nrows ? &c->rows[c->sel] : NULL;
}

const char *ui_state_of(const struct row *r)
{
	return r->live ? r->live : ui_s(r->st, "state");
}

struct row *ui_find_row(struct console *c, const char *name)
{
	static size_t hint;
	if (!name)
		return NULL;
	if (hint < c->nrows && strcmp(c->rows[hint].name, name) == 0)
		return &c->rows[hint];
	for (size_t i = 0; i < c->nrows; i++)
		if (strcmp(c->rows[i].name, name) == 0) {
			hint = i;
			return &c->rows[i];
		}
	return NULL;
}

/* ---- requests ------------------------------------------------------- */

json_int_t ui_submit(struct console *c, enum req_kind kind, const char *cmd, const char *comp, json_t *extra)
{
	json_t *j = extra ? extra : json_object();
	json_object_set_new(j, "cmd", json_string(cmd));
	if (!json_object_get(j, "components")) {
		json_t *names = json_array();
		if (comp)
			json_array_append_new(names, json_string(comp));
		json_object_set_new(j, "components", names);
	}
	if (c->gone) {
		json_decref(j);
		ui_flash(c, 1, _("%s: the engine went away; restart tally"), cmd);
		return -1;
	}
	struct tally_err err = {0};
	long long id = client_submit(c->cl, j, &err);
	if (id < 0) {
		ui_flash(c, 1, "%s: %s", cmd, err.msg[0] ? i18n_em(err.msg) : _("the engine refused it"));
		return -1;
	}
	if (id == 0) {
		/* refused (a watch connection); its error event says why */
		return -1;
	}
	struct req *r = xcalloc(1, sizeof *r);
	r->id = (json_int_t)id;
	r->kind = kind;
	r->cmd = xstrdup(cmd);
	r->comp = xstrdup(comp);
	r->acc = json_array();
	struct req **p = &c->reqs;
	while (*p)
		p = &(*p)->next;
	*p = r;
	return r->id;
}

/* The first request of these kinds still waiting (kinds: 1u << RQ_...). */
struct req *ui_req_kind(struct console *c, unsigned kinds)
{
	for (struct req *r = c->reqs; r; r = r->next)
		if (kinds & (1u << r->kind))
			return r;
	return NULL;
}

/* The request an event answers: the engine stamps every event of a
 * command with its job id ("job"), the id client_submit returned. NULL for
 * events no request of ours caused (the schedule's, other clients'). */
struct req *ui_req_of(struct console *c, json_t *ev)
{
	json_t *jid = json_object_get(ev, "job");
	if (!json_is_integer(jid))
		return NULL;
	for (struct req *r = c->reqs; r; r = r->next)
		if (r->id == json_integer_value(jid))
			return r;
	return NULL;
}

/* Takes the request with that id off the list (its "done" arrived). */
struct req *ui_req_take(struct console *c, json_int_t id)
{
	for (struct req **p = &c->reqs; *p; p = &(*p)->next)
		if ((*p)->id == id) {
			struct req *r = *p;
			*p = r->next;
			return r;
		}
	return NULL;
}

void ui_req_free(struct req *r)
{
	free(r->cmd);
	free(r->comp);
	json_decref(r->acc);
	free(r);
}

void ui_request_log(struct console *c, struct row *r, const char *attempt)
{
	r->log_requested = 1;
	free(r->log_note);
	r->log_note = NULL;
	json_t *extra = json_object();
	if (attempt)
		json_object_set_new(extra, "attempt", json_string(attempt));
	ui_submit(c, RQ_LOGS, "logs", r->name, extra);
	c->dirty |= D_BODY;
}

/* When the line with that seq arrived (0: not known): the first stamp
 * whose end offset is past the line's start. */
double ui_line_time(const struct row *r, long long seq)
{
	if (seq < 0 || (size_t)seq >= r->nloff || !r->nt)
		return 0;
	long long off = r->loff[seq];
	size_t lo = 0, hi = r->nt;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->tend[mid] > off)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < r->nt ? r->tat[lo] : 0;
}

/* A status or check event: the row it describes (added when new: *added
 * is set) now shows it; a row not building any more has no live stage. */
struct row *ui_row_status(struct console *c, json_t *ev, int *added)
{
	const char *name = ui_s(ev, "component");
	*added = 0;
	if (!name)
		return NULL;
	struct row *r = ui_find_row(c, name);
	if (!r) {
		c->rows = xrealloc(c->rows, (c->nrows + 1) * sizeof *c->rows);
		r = &c->rows[c->nrows++];
		memset(r, 0, sizeof *r);
		r->name = xstrdup(name);
		*added = 1;
	}
	json_decref(r->st);
	r->st = json_incref(ev);
	const char *state = ui_s(ev, "state");
	int active = state && (!strcmp(state, "building") || !strcmp(state, "pushing") ||
			       !strcmp(state, "verifying") || !strcmp(state, "recording"));
	if (!active)
		r->live = NULL;
	c->dirty |= D_BODY;
	return r;
}

/* The row's live state from a stage event ("build" started: "building"). */
const char *ui_stage_word(const char *stage)
{
	static const struct {
		const char *stage, *state;
	} words[] = {{"build", "building"}, {"push", "pushing"}, {"verify", "verifying"},
		     {"record", "recording"}, {"floating", "verifying"}, {"cleanup", "recording"}};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (stage && !strcmp(stage, words[i].stage))
			return words[i].state;
	return "building";
}

/* The soonest next run of any component (0: none scheduled). */
long long ui_next_run(const struct console *c)
{
	long long next = 0;
	for (size_t i = 0; i < c->nrows; i++) {
		long long t = ui_parse_time(ui_s(c->rows[i].st, "next_run"));
		if (t && (!next || t < next))
			next = t;
	}
	return next;
}
