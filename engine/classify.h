/* classify.h - failure classes (SPEC section 6) as a data table: stage,
 * log patterns -> class, plus the hint shown to operators. */
#ifndef TALLY_CLASSIFY_H
#define TALLY_CLASSIFY_H

#include <stddef.h>

#include "err.h"

/* Class of a failed stage ("check", "build", "push", "verify", "record",
 * "floating") from whether it timed out and the tail of its log. */
enum tally_class classify(const char *stage, int timed_out, const char *log, size_t len);
/* The decisive line of a failed stage's log (SPEC section 6): the newest
 * line that the pattern deciding its class matches, else the last non-empty
 * line; at most 200 bytes (cut at a UTF-8 boundary), control characters
 * replaced by spaces. NULL when the log has no non-blank line. Caller frees. */
char *classify_line(const char *stage, const char *log, size_t len);
/* One-line hint for a class (SPEC section 6). */
const char *classify_hint(enum tally_class cls);
/* 1 for network, rate-limit, timeout, verify, record. */
int classify_transient(enum tally_class cls);

#endif
