/* actions.c - the actions on the selected component (the keys that write)
 * with the plan text their dialogs show, and saving a whole log. A key that
 * writes is refused in read-only mode; whether it writes comes from the
 * command it names (keys.c, engine/command.h). UI thread only. */
#include "ui.h"
#include "i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "command.h"

/* ---- actions ------------------------------------------------------------ */

/* Before any key's handler: a key that writes is refused in read-only
 * mode, and one that acts on components needs the selected one (both from
 * the command the key names). The handlers below can rely on a row. */
int ui_key_allowed(struct console *c, const struct keydef *k)
{
	unsigned flags = 0;
	const struct command *cmd = command_find_cli(k->name);
	keys_flags(k, &flags);
	if ((flags & CF_WRITES) && c->readonly) {
		ui_flash(c, 1, _("read-only: %s is not available in watch mode"), k->name);
		return 0;
	}
	if (cmd && (flags & CF_WRITES) && cmd->select != SEL_NONE && !ui_selected(c)) {
		ui_flash(c, 1, _("no component selected"));
		return 0;
	}
	return 1;
}

static void submit_action(struct console *c, const char *cmd, const char *comp, json_t *extra)
{
	ui_submit(c, RQ_ACTION, cmd, comp, extra);
	ui_flash(c, 0, _("%s %s: sent"), cmd, comp ? comp : "");
}

/* b, r, v: the command the key names, on the selected component, at once */
void kh_submit(struct console *c, const struct keydef *k)
{
	submit_action(c, k->name, ui_selected(c)->name, NULL);
}

void kh_check(struct console *c, const struct keydef *k)
{
	struct row *r = ui_selected(c);
	ui_submit(c, RQ_CHECK, "check", r->name, NULL);
	ui_flash(c, 0, _("checking %s..."), r->name);
	(void)k;
}

static void ok_rebuild(struct console *c)
{
	submit_action(c, "rebuild", c->dlg.comp, NULL);
}

void kh_rebuild(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = ui_selected(c);
	const char *rec = ui_s(r->st, "recorded");
	if (!rec) {
		ui_flash(c, 1, _("%s has no record to rebuild"), r->name);
		return;
	}
	char title[128];
	snprintf(title, sizeof title, _("Force rebuild %s %s"), r->name, rec);
	struct dialog *d = ui_dlg_open(c, DLG_CONFIRM, title, _("Rebuild"));
	strv_push_owned(&d->text, xasprintf(_("Plan: build %s, push, verify every tag, then record it with the new "
					      "digest; floating tags follow."), rec));
	strv_push_owned(&d->text, xasprintf(_("The record stays %s with its current digest until all of it "
					      "succeeds; a failure changes nothing."), rec));
	d->comp = xstrdup(r->name);
	d->on_ok = ok_rebuild;
}

static void ok_reset(struct console *c)
{
	struct dialog *d = &c->dlg;
	if (d->choice < 0 || d->choice >= (int)d->choices.n)
		return;
	const char *v = d->choices.v[d->choice];
	size_t vl = strcspn(v, " ");
	char *ver = xstrndup(v, vl);
	submit_action(c, "reset", d->comp, json_pack("{s:s}", "version", ver));
	free(ver);
}

/* A dialog choosing one of versions for comp (the list focused; Enter goes
 * to the buttons, Cancel first); NULL, after a flash, when there is none. */
static struct dialog *choose_version(struct console *c, const char *verb, const char *comp,
				     const struct strv *versions, const char *none)
{
	if (!versions->n) {
		ui_flash(c, 1, "%s: %s", comp, none);
		return NULL;
	}
	char title[128];
	snprintf(title, sizeof title, "%s %s", verb, comp);
	struct dialog *d = ui_dlg_open(c, DLG_CHOOSE, title, verb);
	for (size_t i = 0; i < versions->n; i++)
		strv_push(&d->choices, versions->v[i]);
	d->focus = 2;
	d->comp = xstrdup(comp);
	return d;
}

void ui_reset_dialog(struct console *c, const char *comp, struct strv *versions)
{
	struct row *r = ui_find_row(c, comp);
	const char *rec = r ? ui_s(r->st, "recorded") : NULL;
	struct dialog *d = choose_version(c, _("Reset"), comp, versions,
					  _("no version shipped before (nothing to reset to)"));
	if (!d)
		return;
	strv_push_owned(&d->text, xasprintf(_("Move the record of %s from %s to a version that shipped before. "
					      "If its tags still read back with the recorded digest it is recorded "
					      "at once; otherwise it is built, pushed and verified first."),
					    comp, rec ? rec : _("(none)")));
	strv_push_owned(&d->text, xasprintf(_("The record stays %s until that succeeds. The reset pins %s in the "
					      "same commit (unpin with p)."),
					    rec ? rec : _("(none)"), comp));
	d->on_ok = ok_reset;
}

void kh_reset(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = ui_selected(c);
	ui_submit(c, RQ_SHIPPED, "shipped", r->name, NULL);
	ui_flash(c, 0, _("%s: looking up the versions that shipped before..."), r->name);
}

static void ok_skip(struct console *c)
{
	struct dialog *d = &c->dlg;
	json_t *extra = json_pack("{s:s}", "version", d->version);
	if (d->input_len)
		json_object_set_new(extra, "reason", json_stringn(d->input, d->input_len));
	submit_action(c, "skip", d->comp, extra);
}

void kh_skip(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = ui_selected(c);
	const char *v = ui_s(r->st, "candidate");
	if (!v)
		v = r->live_version;
	if (!v) {
		const char *up = ui_s(r->st, "upstream"), *rec = ui_s(r->st, "recorded");
		if (up && (!rec || strcmp(up, rec) != 0))
			v = up;
	}
	if (!v) {
		ui_flash(c, 1, _("%s: no candidate version to skip"), r->name);
		return;
	}
	const char *rec = ui_s(r->st, "recorded");
	char title[128];
	snprintf(title, sizeof title, _("Skip %s %s"), r->name, v);
	struct dialog *d = ui_dlg_open(c, DLG_CONFIRM, title, _("Skip"));
	strv_push_owned(&d->text, xasprintf(_("Plan: record a skip of %s %s in the holds file (one commit); %s is "
					      "never built while the skip stands (undo with u)."),
					    r->name, v, v));
	strv_push_owned(&d->text,
			xasprintf(_("The record stays %s; nothing is built or pushed."), rec ? rec : _("(none)")));
	d->has_input = 1;
	d->prompt = xstrdup(_("Reason"));
	d->focus = 2;
	d->comp = xstrdup(r->name);
	d->version = xstrdup(v);
	d->on_ok = ok_skip;
}

static void ok_unskip(struct console *c)
{
	struct dialog *d = &c->dlg;
	if (d->choice < 0 || d->choice >= (int)d->choices.n)
		return;
	char *ver = xstrndup(d->choices.v[d->choice], strcspn(d->choices.v[d->choice], " "));
	submit_action(c, "unskip", d->comp, json_pack("{s:s}", "version", ver));
	free(ver);
}

/* u, once the history is in: choose which skip to undo (newest first). */
void ui_unskip_dialog(struct console *c, const char *comp, const struct strv *skipped)
{
	struct dialog *d = choose_version(c, _("Unskip"), comp, skipped, _("no skipped versions"));
	if (!d)
		return;
	strv_push_owned(&d->text, xasprintf(_("Remove the skip of the chosen version of %s (one commit); "
					      "it may be built again at the next run. The record is not "
					      "touched."),
					    comp));
	d->on_ok = ok_unskip;
}

void kh_unskip(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = ui_selected(c);
	ui_submit(c, RQ_UNSKIP_HISTORY, "history", r->name, NULL);
}

static void ok_unpin(struct console *c)
{
	submit_action(c, "unpin", c->dlg.comp, NULL);
}

void kh_pin(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = ui_selected(c);
	json_t *pin = json_object_get(r->st, "pin");
	const char *state = ui_s(r->st, "state");
	if (!json_is_object(pin) && !(state && !strcmp(state, "pinned"))) {
		submit_action(c, "pin", r->name, NULL);
		return;
	}
	/* unpin starts nothing: the confirmation says what the next run ships */
	char title[128], when[40] = "";
	snprintf(title, sizeof title, _("Unpin %s"), r->name);
	struct dialog *d = ui_dlg_open(c, DLG_CONFIRM, title, _("Unpin"));
	const char *ships = ui_s(pin, "ships");
	long long nr = ui_parse_time(ui_s(pin, "next_run"));
	if (nr)
		ui_when(nr, when, sizeof when);
	if (ships && nr)
		strv_push_owned(&d->text, xasprintf(_("unpin: the next run at %s ships %s."), when, ships));
	else if (ships)
		strv_push_owned(&d->text,
				xasprintf(_("unpin: %s becomes the candidate; no run is scheduled (b runs it)."), ships));
	else if (nr)
		strv_push_owned(&d->text, xasprintf(_("unpin: nothing newer than %s to ship; the next run is at %s."),
						    ui_s(r->st, "recorded") ? ui_s(r->st, "recorded") : _("the record"),
						    when));
	else
		strv_push_owned(&d->text, xasprintf(_("unpin: nothing newer than %s to ship."),
						    ui_s(r->st, "recorded") ? ui_s(r->st, "recorded") : _("the record")));
	strv_push(&d->text, _("Unpinning starts nothing now: runs that fell due while pinned are not made up. "
			      "The record is not touched."));
	d->comp = xstrdup(r->name);
	d->on_ok = ok_unpin;
}

void kh_pause(struct console *c, const struct keydef *k)
{
	(void)k;
	submit_action(c, c->paused ? "resume" : "pause", NULL, NULL);
}

/* S: the whole log file (not the tail on screen) is copied to the state
 * directory's saved/, never into the versions repo. */
void kh_save(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = ui_selected(c);
	const char *sd = json_string_value(json_object_get(client_hello(c->cl), "state_dir"));
	if (!r || !r->attempt || !sd) {
		ui_flash(c, 1, _("no log file to save"));
		return;
	}
	char *src = xasprintf("%s/logs/%s/%s.log", sd, r->name, r->attempt);
	char *dir = xasprintf("%s/saved", sd);
	char *dst = xasprintf("%s/%s-%s.log", dir, r->name, r->attempt);
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
	if (in < 0) {
		ui_flash(c, 1, _("cannot read %s: %s"), src, strerror(errno));
		goto done;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		ui_flash(c, 1, _("cannot make %s: %s"), dir, strerror(errno));
		goto done;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		ui_flash(c, 1, _("cannot write %s: %s"), dst, strerror(errno));
		goto done;
	}
	char buf[65536];
	ssize_t n;
	long long total = 0;
	int bad = 0;
	while ((n = read(in, buf, sizeof buf)) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			bad = 1;
			break;
		}
		total += n;
	}
	if (close(out) != 0 || bad || n < 0)
		ui_flash(c, 1, _("cannot write %s: %s"), dst, strerror(errno));
	else
		ui_flash(c, 0,
			 ngettext("saved the whole log: %s-%s.log (%lld byte) in %s",
				  "saved the whole log: %s-%s.log (%lld bytes) in %s", (unsigned long)total),
			 r->name, r->attempt, total, dir);
done:
	if (in >= 0)
		close(in);
	free(src);
	free(dir);
	free(dst);
}
