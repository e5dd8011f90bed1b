/* i18n.h - messages for people through gettext (glibc's libintl): _() and
 * N_() mark them, ngettext chooses plural forms, i18n_init picks the
 * locale (LC_CTYPE for the process; LC_MESSAGES only for tally's own
 * lookups; LC_NUMERIC stays "C" so JSON numbers never change) and finds
 * the catalogs. Only the front ends
 * translate, at display time; the engine, JSON, commits, the socket and
 * the log files stay English. Width-aware padding for plain output. */
#ifndef TALLY_I18N_H
#define TALLY_I18N_H

#include <libintl.h>
#include <stdio.h>

/* Translations are looked up in the locale of LC_MESSAGES taken from the
 * environment, but the process's own LC_MESSAGES stays "C": strerror and
 * the libraries' messages (libgit2's, curl's) that the engine puts in its
 * English messages, JSON and logs stay English (SPEC section 16). Only the
 * front ends' lookups switch to the environment's locale, each for the
 * lookup only (uselocale on the calling thread). */
const char *i18n_gettext(const char *msgid) __attribute__((format_arg(1)));
const char *i18n_ngettext(const char *msgid, const char *plural, unsigned long n)
	__attribute__((format_arg(1), format_arg(2)));
#undef gettext
#undef ngettext
#define gettext(s) i18n_gettext(s)
#define ngettext(s, p, n) i18n_ngettext(s, p, (unsigned long)(n))
#define _(s) i18n_gettext(s)
#define N_(s) (s)
/* a msgid with a context, for short words that differ by use ("failed" as
 * a state and as a result) */
#define C_(ctx, s) i18n_pgettext(ctx "\004" s, s)

/* gettext of a message that may be NULL or "" (gettext("") is the
 * catalog's header) */
static inline const char *i18n_msg(const char *s)
{
	return s && *s ? gettext(s) : s;
}

/* A protocol word (a state, stage, result or action as the engine sends
 * it) as shown to a person; the word itself when it has no translation. */
#define NC_(ctx, s) (s)
const char *i18n_word(const char *word);
/* gettext of ctx "\004" word, built at run time (the word when untranslated) */
const char *i18n_ctx(const char *ctx, const char *word);

/* setlocale(LC_CTYPE, ""), the environment's LC_MESSAGES locale for
 * i18n_gettext, bindtextdomain("tally", dir) with dir found next to the
 * binary (../share/locale) or the build tree's. */
void i18n_init(void);
const char *i18n_localedir(void);
const char *i18n_pgettext(const char *ctx_id, const char *id);

/* Display columns of the UTF-8 string s (wcwidth; invalid bytes count 1). */
int i18n_width(const char *s);
/* Writes s to f padded with spaces to width columns (never cut). */
void i18n_pad(FILE *f, const char *s, int width);

/* How many bytes of s make a line of at most room columns: up to the last
 * space or after the last wide character that fits (CJK text has no
 * spaces), whichever comes later, else cut at room columns; never inside
 * a character. */
size_t i18n_cut(const char *s, int room);

/* s cut to width columns (never inside a character) and padded with
 * spaces to width: printf's "%-W.Ws" by display width. Returns out. */
char *i18n_cell(char *out, size_t outlen, const char *s, int width);

#endif
