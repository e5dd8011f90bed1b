/* view.c - the view registry (tig's view_ops): every view by id, and
 * switching between them. The loop and the views reach one another only
 * through these ops. UI thread only. */
#include "ui.h"

const struct view_ops *const views[VIEW_COUNT] = {
	[VIEW_TABLE] = &table_view, [VIEW_LOG] = &log_view, [VIEW_ATTEMPTS] = &attempts_view,
	[VIEW_HISTORY] = &history_view, [VIEW_HELP] = &help_view, [VIEW_DETAIL] = &detail_view,
};

void ui_set_view(struct console *c, enum view_id v)
{
	int was_main = c->view == VIEW_TABLE || c->view == VIEW_LOG;
	c->view = v;
	if (v == VIEW_TABLE || v == VIEW_LOG)
		c->main_focus = v;
	if (!was_main || !(v == VIEW_TABLE || v == VIEW_LOG)) {
		if (views[v]->open)
			views[v]->open(c);
	}
	c->dirty |= D_ALL;
}
