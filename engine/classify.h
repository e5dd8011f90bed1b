/* classify.h - failure classes (SPEC section 6) as a data table: stage,
 * log patterns -> class, plus the hint shown to operators. */
#ifndef TALLY_CLASSIFY_H
#define TALLY_CLASSIFY_H

#include <stddef.h>

#include "err.h"

/* Class of a failed stage ("check", "build", "push", "verify", "record",
 * "floating") from whether it timed out and the tail of its log. */
enum tally_class classify(const char *stage, int timed_out, const char *log, size_t len);
/* One-line hint for a class (SPEC section 6). */
const char *classify_hint(enum tally_class cls);
/* 1 for network, rate-limit, timeout, verify, record. */
int classify_transient(enum tally_class cls);

#endif
