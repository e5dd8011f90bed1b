/* The console's modules without a terminal: the row model, requests
 * routed by the job id the engine stamps on its events (model.c, events.c),
 * and the dialog widget's key state machine (dialog.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ui.h"

static struct console *new_console(void)
{
	static const struct console_opts o = {0};
	struct console *c = xcalloc(1, sizeof *c);
	c->o = &o;
	c->gone = 1;    /* no engine: a request the console makes itself is refused with a flash */
	c->too_small = 1;
	return c;
}

static void free_console(struct console *c)
{
	for (size_t i = 0; i < c->nrows; i++) {
		free(c->rows[i].name);
		json_decref(c->rows[i].st);
		free(c->rows[i].live_version);
		free(c->rows[i].log_note);
		free(c->rows[i].attempt);
	}
	free(c->rows);
	while (c->reqs) {
		struct req *r = c->reqs;
		c->reqs = r->next;
		ui_req_free(r);
	}
	json_decref(c->history);
	json_decref(c->attempts);
	ui_dlg_close(c);
	free(c);
}

/* a request as ui_submit would have filed it under the job id */
static struct req *add_req(struct console *c, json_int_t id, enum req_kind kind, const char *cmd, const char *comp)
{
	struct req *r = xcalloc(1, sizeof *r);
	r->id = id;
	r->kind = kind;
	r->cmd = xstrdup(cmd);
	r->comp = comp ? xstrdup(comp) : NULL;
	r->acc = json_array();
	struct req **p = &c->reqs;
	while (*p)
		p = &(*p)->next;
	*p = r;
	return r;
}

static void feed(struct console *c, const char *json)
{
	json_error_t je;
	json_t *ev = json_loads(json, 0, &je);
	if (!ev)
		fail_msg("bad test json %s: %s", json, je.text);
	ui_on_event(c, ev);
	json_decref(ev);
}

static void test_rows(void **state)
{
	(void)state;
	struct console *c = new_console();
	int added;
	json_t *ev = json_pack("{s:s, s:s, s:s}", "event", "status", "component", "server", "state", "current");
	struct row *r = ui_row_status(c, ev, &added);
	assert_true(added);
	assert_int_equal(c->nrows, 1);
	assert_string_equal(ui_state_of(r), "current");
	json_decref(ev);
	r->live = ui_stage_word("push");
	assert_string_equal(ui_state_of(r), "pushing");
	/* a row that is not building any more has no live stage */
	ev = json_pack("{s:s, s:s, s:s}", "event", "status", "component", "server", "state", "failed");
	r = ui_row_status(c, ev, &added);
	json_decref(ev);
	assert_false(added);
	assert_null(r->live);
	assert_string_equal(ui_state_of(r), "failed");
	assert_ptr_equal(ui_find_row(c, "server"), r);
	assert_null(ui_find_row(c, "nosuch"));
	/* through events: a new row asks for a new layout */
	c->too_small = 0;
	c->dirty = 0;
	feed(c, "{\"event\":\"status\",\"component\":\"web\",\"state\":\"outdated\"}");
	assert_int_equal(c->nrows, 2);
	assert_true(c->dirty & D_LAYOUT);
	feed(c, "{\"event\":\"stage\",\"component\":\"web\",\"stage\":\"build\",\"result\":\"started\",\"version\":\"2\"}");
	assert_string_equal(ui_state_of(ui_find_row(c, "web")), "building");
	free_console(c);
}

static void test_requests_by_job(void **state)
{
	(void)state;
	struct console *c = new_console();
	struct req *hist = add_req(c, 4, RQ_HISTORY, "history", "server");
	struct req *act = add_req(c, 5, RQ_ACTION, "run", "server");
	json_t *ev = json_pack("{s:s, s:I}", "event", "error", "job", (json_int_t)5);
	assert_ptr_equal(ui_req_of(c, ev), act);
	json_object_set_new(ev, "job", json_integer(9));
	assert_null(ui_req_of(c, ev));
	json_object_del(ev, "job");
	assert_null(ui_req_of(c, ev));
	json_decref(ev);

	/* another job's history events are not ours to collect */
	feed(c, "{\"event\":\"record\",\"job\":7,\"subject\":\"s1\",\"component\":\"server\"}");
	feed(c, "{\"event\":\"record\",\"job\":4,\"subject\":\"s2\",\"component\":\"server\"}");
	assert_int_equal(json_array_size(hist->acc), 1);
	feed(c, "{\"event\":\"done\",\"job\":4,\"exit\":0}");
	assert_int_equal(json_array_size(c->history), 1);
	assert_null(ui_req_take(c, 4));   /* done took it */

	/* an error with no component belongs to its job's request; another
	 * job's error does not count against ours */
	feed(c, "{\"event\":\"error\",\"job\":8,\"message\":\"someone else's\"}");
	assert_int_equal(act->errors, 0);
	assert_string_equal(c->flash, "someone else's");
	feed(c, "{\"event\":\"error\",\"job\":5,\"class\":\"input\",\"message\":\"unknown command 'run'\"}");
	assert_int_equal(act->errors, 1);
	assert_string_equal(c->flash, "run: unknown command 'run'");
	feed(c, "{\"event\":\"done\",\"job\":5,\"exit\":2}");
	assert_null(c->reqs);
	free_console(c);
}

static void test_shipped_falls_back_to_history(void **state)
{
	(void)state;
	struct console *c = new_console();
	struct req *sh = add_req(c, 3, RQ_SHIPPED, "shipped", "server");
	/* an engine without "shipped": its error, whatever its text, is the
	 * request's, and says nothing on screen */
	c->flash[0] = 0;
	feed(c, "{\"event\":\"error\",\"job\":3,\"class\":\"input\",\"message\":\"no such thing\"}");
	assert_int_equal(sh->errors, 1);
	assert_string_equal(c->flash, "");
	feed(c, "{\"event\":\"done\",\"job\":3,\"exit\":2}");
	/* it asked for the history instead (refused here: no engine) */
	assert_string_equal(c->flash, "history: the engine went away; restart tally");
	free_console(c);
}

static int oks;
static void count_ok(struct console *c)
{
	(void)c;
	oks++;
}

static void test_dialog_state_machine(void **state)
{
	(void)state;
	struct console *c = new_console();
	struct dialog *d = ui_dlg_open(c, DLG_CONFIRM, "Force rebuild server 1.0", "Rebuild");
	d->on_ok = count_ok;
	assert_int_equal(d->focus, 0);   /* Cancel first */
	oks = 0;
	ui_dlg_key(c, '\n');             /* Enter on Cancel cancels */
	assert_int_equal(oks, 0);
	assert_int_equal(c->dlg.kind, DLG_NONE);
	assert_string_equal(c->flash, "cancelled");

	d = ui_dlg_open(c, DLG_CONFIRM, "t", "OK");
	d->on_ok = count_ok;
	ui_dlg_key(c, KEY_BTAB);         /* Cancel -> OK (two buttons: back and forth) */
	assert_int_equal(d->focus, 1);
	ui_dlg_key(c, '\t');
	assert_int_equal(d->focus, 0);
	ui_dlg_key(c, '\t');
	assert_int_equal(d->focus, 1);
	ui_dlg_key(c, '\r');
	assert_int_equal(oks, 1);
	assert_int_equal(c->dlg.kind, DLG_NONE);

	/* a reason field: y and n are letters while typing; Tab cycles
	 * field -> OK -> Cancel */
	d = ui_dlg_open(c, DLG_CONFIRM, "Skip", "Skip");
	d->on_ok = count_ok;
	d->has_input = 1;
	d->focus = 2;
	ui_dlg_key(c, 'n');
	ui_dlg_key(c, 'y');
	ui_dlg_key(c, 'x');
	ui_dlg_key(c, KEY_BACKSPACE);
	assert_int_equal(c->dlg.kind, DLG_CONFIRM);
	assert_int_equal(d->input_len, 2);
	assert_memory_equal(d->input, "ny", 2);
	ui_dlg_key(c, KEY_LEFT);         /* arrows stay in the field */
	assert_int_equal(d->focus, 2);
	ui_dlg_key(c, '\t');
	assert_int_equal(d->focus, 1);
	ui_dlg_key(c, '\t');
	assert_int_equal(d->focus, 0);
	ui_dlg_key(c, '\t');
	assert_int_equal(d->focus, 2);
	ui_dlg_key(c, '\n');             /* Enter in the field confirms */
	assert_int_equal(oks, 2);

	/* a list: up and down move the choice, within bounds; Esc cancels */
	d = ui_dlg_open(c, DLG_CHOOSE, "Reset", "Reset");
	d->on_ok = count_ok;
	strv_push(&d->choices, "1.2");
	strv_push(&d->choices, "1.1");
	d->focus = 2;
	ui_dlg_key(c, KEY_UP);
	assert_int_equal(d->choice, 0);
	ui_dlg_key(c, 'j');
	ui_dlg_key(c, KEY_DOWN);
	assert_int_equal(d->choice, 1);
	ui_dlg_key(c, 27);
	assert_int_equal(c->dlg.kind, DLG_NONE);
	assert_int_equal(oks, 2);
	free_console(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_requests_by_job),
		cmocka_unit_test(test_shipped_falls_back_to_history),
		cmocka_unit_test(test_dialog_state_machine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
