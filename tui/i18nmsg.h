/* i18nmsg.h - the engine's messages in the language of the person reading
 * them (SPEC section 16).
 *
 * The engine makes every message in English: JSON, the socket, the ledger
 * and the logs keep it so, whatever the locale, and the engine may run in
 * another process with another locale. Its messages are made from format
 * strings that the catalog holds (scripts/i18n-extract collects the
 * formats handed to tally_err_set, conf_fail_at, pipe_fail, xasprintf,
 * ...). A front end about to show one to a person matches the English
 * text back to its format (the literal text equal, each conversion
 * matching its kind of value), takes the translated format and puts the
 * same values into it. Values that are messages themselves ("outer:
 * inner", an error inside an error) are translated the same way. A
 * message that matches no format whole is shown with its tail translated
 * after a "PREFIX: " (file:line: key: and component: prefixes), else as it
 * is. Of the formats that match, the one with the most literal text wins.
 *
 * A set is built once and read by any thread. */
#ifndef TALLY_I18NMSG_H
#define TALLY_I18NMSG_H

#include <stddef.h>

struct i18nmsg_set;

struct i18nmsg_set *i18nmsg_set_new(void);
/* Adds the English text (a printf format when it has conversions) and its
 * translation. Both are copied. Formats whose literal text has fewer than
 * two words ("%s: %s", "%s config %s": one word turns up in other
 * programs' text too) are never patterns. */
void i18nmsg_set_add(struct i18nmsg_set *set, const char *english, const char *translated);
void i18nmsg_set_free(struct i18nmsg_set *set);
size_t i18nmsg_set_count(const struct i18nmsg_set *set);
/* The i-th format (a pattern) of set and its translation; 0 past the end. */
int i18nmsg_set_format(const struct i18nmsg_set *set, size_t i, const char **english, const char **translated);

/* msg translated with set, or a copy of msg. Caller frees. */
char *i18nmsg_apply(const struct i18nmsg_set *set, const char *msg);

/* The process's set: the formats of tally's catalog in the current
 * locale's language (from the .mo file gettext reads), loaded at the first
 * call; empty when messages are not translated (C, English). */
const struct i18nmsg_set *i18nmsg_global(void);

/* msg (an engine's message, English) as this front end shows it: the
 * translation in the current locale, else msg itself. NULL stays NULL.
 * The string stays valid until the same thread has made 16 more calls. */
const char *i18n_em(const char *msg);

#endif
