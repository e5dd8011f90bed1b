/* err.h - error reporting shared by every module.
 *
 * Functions return 0 on success or a negative value on failure, and fill a
 * caller-owned struct tally_err with a class and a message that names the
 * thing (file:line, URL, command) and says what to do. */
#ifndef TALLY_ERR_H
#define TALLY_ERR_H

#include <stddef.h>

/* Marks a message for people that is not a format handed to one of the
 * message functions scripts/i18n-extract knows (a literal in an event):
 * the front ends translate it when they show it. */
#ifndef N_
#define N_(s) (s)
#endif

/* Failure classes (SPEC section 6) plus TC_INPUT for usage, configuration
 * and input errors (exit 2). The order matches the table in classify.c. */
enum tally_class {
	TC_NONE = 0,
	TC_RECIPE,
	TC_NETWORK,
	TC_RATE_LIMIT,
	TC_MISSING_VERSION,
	TC_TOO_LARGE,
	TC_AUTH,
	TC_TLS,
	TC_TIMEOUT,
	TC_VERIFY,
	TC_RECORD,
	TC_HELD,
	TC_INTERNAL,
	TC_INPUT,
	TC_CLASS_COUNT
};

struct tally_err {
	enum tally_class cls;
	char msg[2048];
};

/* Sets err (may be NULL) and returns -1, so callers can `return tally_err_set(...)`. */
int tally_err_set(struct tally_err *err, enum tally_class cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with "ctx: ". Returns -1. */
int tally_err_prefix(struct tally_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tally_err_clear(struct tally_err *err);

/* Class names as in SPEC section 6 ("recipe", "network", ...); "input" for TC_INPUT. */
const char *tally_class_name(enum tally_class cls);
/* Returns TC_CLASS_COUNT when unknown. */
enum tally_class tally_class_from_name(const char *name);

#endif
