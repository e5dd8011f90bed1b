/* holds.h - the operator holds file (tally-holds.txt):
 *
 *   skip COMPONENT VERSION [REASON...]
 *   pin COMPONENT VERSION [REASON...]
 *
 * Fields are separated by spaces or tabs; REASON is the rest of the line
 * (trimmed). Blank and '#' lines are kept byte for byte. VERSION must pass
 * version_valid(). A duplicate hold (same kind, component and version; or a
 * second pin for one component), an unknown component or any other line is an
 * error naming the file and line. */
#ifndef TALLY_HOLDS_H
#define TALLY_HOLDS_H

#include <stddef.h>

#include "err.h"
#include "util.h"

enum hold_kind { HOLD_SKIP = 0, HOLD_PIN = 1 };

struct hold {
	enum hold_kind kind;
	char *component;
	char *version;
	char *reason;   /* "" when none */
	int line;       /* 1-based */
};

struct holds;

/* known is the list of configured component names (n of them); a hold naming
 * another component is an error. known == NULL skips that check (here and in
 * holds_add), for re-parsing content tally itself just produced. data need not
 * be NUL-terminated; len 0 is an empty file. */
int holds_parse(const char *name, const char *data, size_t len, const char *const *known,
		size_t nknown, struct holds **out, struct tally_err *err);
size_t holds_count(const struct holds *h);
const struct hold *holds_at(const struct holds *h, size_t i);
int holds_is_skipped(const struct holds *h, const char *component, const char *version);
const struct hold *holds_pin(const struct holds *h, const char *component); /* NULL if none */

/* New file content with one hold appended (out is reset first). Refuses a
 * duplicate. reason may be NULL; newlines in it are an error. */
int holds_add(const struct holds *h, enum hold_kind kind, const char *component,
	      const char *version, const char *reason, struct sbuf *out, struct tally_err *err);
/* New file content without the matching hold(s): for HOLD_SKIP the one with
 * this version; for HOLD_PIN the component's pin (version ignored, may be
 * NULL). Every other byte is kept. Error when there is no such hold. */
int holds_remove(const struct holds *h, enum hold_kind kind, const char *component,
		 const char *version, struct sbuf *out, struct tally_err *err);
/* One more holder of h: each holds_free drops one, the last frees it
 * (a parsed file cached by blob id is handed out this way). */
struct holds *holds_ref(struct holds *h);
void holds_free(struct holds *h);

#endif
