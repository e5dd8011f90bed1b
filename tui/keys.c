/* keys.c - the one key table (tmux's cmd_table, tig's keymap): it drives
 * dispatch, the footer, the help view and the man page's KEYS section
 * (tests/console/gen_man_keys.sh compiles this file with engine/command.c
 * and -DKEYS_MAN_MAIN to print it). Each key names a command of the
 * command table (engine/command.h) or a UI action below, and inherits its
 * flags: a key that writes is refused in read-only mode. UI thread only. */
#include "ui.h"

#include "command.h"
#include "i18n.h"

#include <stdio.h>
#include <string.h>

#ifdef KEYS_MAN_MAIN
#define H(f) NULL
#else
#define H(f) f
#endif

#define CTRL(ch) ((ch) & 0x1f)
#define K_ENTER_KEYS '\n', '\r', KEY_ENTER

const struct keydef key_table[] = {
	/* moving: table and log panes, lists */
	{{KEY_UP, 'k', 0}, "Up/k", NC_("key", "up"), N_("move up (scroll the log up: stops following)"), V_ALL, 0, H(kh_up)},
	{{KEY_DOWN, 'j', 0}, "Down/j", NC_("key", "down"), N_("move down"), V_ALL, 0, H(kh_down)},
	{{KEY_PPAGE, CTRL('b'), 0}, "PgUp", NC_("key", "page-up"), N_("one page up"), V_ALL, 0, H(kh_pgup)},
	{{KEY_NPAGE, CTRL('f'), ' ', 0}, "PgDn", NC_("key", "page-down"), N_("one page down"), V_ALL, 0, H(kh_pgdn)},
	{{KEY_HOME, 'g', 0}, "Home/g", NC_("key", "top"), N_("go to the first line"), V_ALL, 0, H(kh_home)},
	{{KEY_END, 'G', 0}, "End/G", NC_("key", "bottom"), N_("go to the last line (the log follows again)"), V_ALL, 0, H(kh_end)},
	{{'\t', 0}, "Tab", NC_("key", "switch-pane"), N_("switch between the table and the log pane"), V_MAIN, 1, H(kh_tab)},
	{{K_ENTER_KEYS, 0}, "Enter", NC_("key", "detail"),
	 N_("in the table, everything about the component; in the attempts list, that attempt's log"), V_ALL,
	 1, H(kh_enter)},
	{{27, KEY_BACKSPACE, 0}, "Esc", NC_("key", "back"), N_("back to the components (closes a view)"),
	 VB(VIEW_ATTEMPTS) | VB(VIEW_HISTORY) | VB(VIEW_HELP) | VB(VIEW_DETAIL), 1, H(kh_back)},
	/* actions on the selected component (refused in read-only mode) */
	{{'c', 0}, "c", NC_("key", "check"), N_("check the selected component's upstream (builds nothing)"), V_MAIN, 1, H(kh_check)},
	{{'b', 0}, "b", NC_("key", "run"), N_("run: ship the selected component's candidate now"), V_MAIN, 1, H(kh_submit)},
	{{'r', 0}, "r", NC_("key", "retry"), N_("retry the last failed attempt now, ignoring backoff"), V_MAIN, 1, H(kh_submit)},
	{{'f', 0}, "f", NC_("key", "rebuild"), N_("force rebuild: ship the recorded version again (asks first)"), V_MAIN, 1,
	 H(kh_rebuild)},
	{{'R', 0}, "R", NC_("key", "reset"), N_("reset the record to a version that shipped before (asks first)"), V_MAIN, 1,
	 H(kh_reset)},
	{{'s', 0}, "s", NC_("key", "skip"), N_("skip the candidate version: never build it (asks for a reason)"), V_MAIN, 1,
	 H(kh_skip)},
	{{'u', 0}, "u", NC_("key", "unskip"), N_("undo a skip of the selected component"), V_MAIN, 1, H(kh_unskip)},
	{{'p', 0}, "p", NC_("key", "pin"), N_("pin the component at its record, or unpin it"), V_MAIN, 1, H(kh_pin)},
	{{'P', 0}, "P", NC_("key", "pause"), N_("pause or resume the schedule"), V_ALL, 0, H(kh_pause)},
	{{'v', 0}, "v", NC_("key", "verify"), N_("verify the record against the registry"), V_MAIN, 1, H(kh_submit)},
	/* views */
	{{'h', 0}, "h", NC_("key", "history"), N_("history: record and hold commits with their trailers"), V_ALL, 1,
	 H(kh_history)},
	{{'l', 0}, "l", NC_("key", "attempts"), N_("attempts of the selected component"), V_ALL, 1, H(kh_attempts)},
	/* the log */
	{{'/', 0}, "/", NC_("key", "search"),
	 N_("in the table, filter the rows by name or state; in the log, search forward (smart case; a count 3/7)"),
	 V_MAIN, 1, H(kh_search)},
	{{'n', 0}, "n", NC_("key", "next"), N_("next match (forward); in the table, the next component with a problem"), V_MAIN,
	 0, H(kh_next)},
	{{'N', 0}, "N", NC_("key", "previous"), N_("previous match; in the table, the previous component with a problem"), V_MAIN,
	 0, H(kh_prev)},
	{{'o', 0}, "o", NC_("key", "sort"), N_("cycle the table's sort: config order, state, name, last result"), V_MAIN, 0,
	 H(kh_sort)},
	{{'F', 0}, "F", NC_("key", "follow"), N_("follow the log again (also End)"), V_MAIN, 0, H(kh_follow)},
	{{'t', 0}, "t", NC_("key", "times"), N_("log timestamps: when each line arrived (kept beside the log file)"), V_MAIN, 0,
	 H(kh_stamps)},
	{{'w', 0}, "w", NC_("key", "wrap"), N_("wrap long log lines on or off"), V_MAIN, 0, H(kh_wrap)},
	{{'S', 0}, "S", NC_("key", "save"), N_("save the whole log file under the state directory's saved/ (says where)"),
	 V_MAIN, 0, H(kh_save)},
	/* the console */
	{{':', 0}, ":", NC_("key", "command"),
	 N_("command line: any batch command with its arguments (Tab completes): :skip server v3.8.2 bad base"),
	 V_MAIN, 1, H(kh_cmdline)},
	{{'?', KEY_F(1), 0}, "?", NC_("key", "help"), N_("this help"), V_ALL, 1, H(kh_help)},
	{{CTRL('l'), 0}, "Ctrl-L", NC_("key", "redraw"), N_("redraw the screen"), V_ALL, 0, H(kh_redraw)},
	{{'E', 0}, "E", NC_("key", "engine"), N_("start a new engine when the attached one went away"), V_ALL, 0, H(kh_engine)},
	{{'q', 0}, "q", NC_("key", "quit"), N_("quit the console (the engine and its builds go on)"), V_ALL, 1, H(kh_quit)},
};
const size_t key_table_len = sizeof key_table / sizeof key_table[0];

/* What a key may name besides a command: actions of the console itself. */
static const struct {
	const char *name;
	unsigned flags;         /* CF_WRITES: refused in read-only mode */
} ui_actions[] = {
	{"up", 0}, {"down", 0}, {"page-up", 0}, {"page-down", 0}, {"top", 0}, {"bottom", 0},
	{"switch-pane", 0}, {"detail", 0}, {"back", 0}, {"search", 0}, {"next", 0}, {"previous", 0},
	{"sort", 0}, {"follow", 0}, {"times", 0}, {"wrap", 0}, {"save", 0}, {"command", 0},
	{"redraw", 0}, {"engine", CF_WRITES}, {"quit", 0},
};

int keys_flags(const struct keydef *k, unsigned *flags)
{
	for (size_t i = 0; i < sizeof ui_actions / sizeof ui_actions[0]; i++)
		if (strcmp(ui_actions[i].name, k->name) == 0) {
			*flags = ui_actions[i].flags;
			return 0;
		}
	const struct command *c = command_find_cli(k->name);
	if (!c)
		return -1;
	*flags = c->flags;
	return 0;
}

int keys_writes(const struct keydef *k)
{
	unsigned f = 0;
	return keys_flags(k, &f) == 0 && (f & CF_WRITES);
}

const struct keydef *keys_find(int key, unsigned view_bit)
{
	for (size_t i = 0; i < key_table_len; i++) {
		if (!(key_table[i].views & view_bit))
			continue;
		for (const int *k = key_table[i].keys; *k; k++)
			if (*k == key)
				return &key_table[i];
	}
	return NULL;
}

static void man_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

/* The KEYS section of docs/tally.1, generated from the table. */
void keys_print_man(FILE *f)
{
	fputs(".SH KEYS\n"
	      "In the console (\\fBtally\\fR, \\fBtally watch\\fR) these keys apply; the footer\n"
	      "shows the ones that apply where you are. Keys marked \\fI(write)\\fR run an\n"
	      "action: they are not offered in read\\-only mode, which says \"read\\-only\" when\n"
	      "one is pressed. Force rebuild, reset, skip and unpin first show the plan and what\n"
	      "stays recorded until it succeeds, with Cancel selected; in a dialog Enter presses\n"
	      "the focused button (in the reason field or the list it confirms), \\fBy\\fR\n"
	      "confirms, \\fBn\\fR and Esc cancel, and Tab moves list, reason, OK, Cancel.\n"
	      "The mouse selects rows and scrolls; an unknown key says \"press ? for help\".\n", f);
	for (size_t i = 0; i < key_table_len; i++) {
		fputs(".TP\n.B ", f);
		man_escape(f, key_table[i].label);
		fputs("\n", f);
		man_escape(f, key_table[i].help);
		fputs(keys_writes(&key_table[i]) ? " \\fI(write)\\fR\n" : "\n", f);
	}
}

#ifdef KEYS_MAN_MAIN
int main(void)
{
	keys_print_man(stdout);
	return 0;
}
#endif
