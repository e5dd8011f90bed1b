/* mask.h - replaces secret values in a stream of output with "***"
 * (SPEC section 9), also when a value arrives split across two chunks:
 * the tail that could be the start of a value is held back until the next
 * chunk (or mask_flush) decides. Plain data: one owner, no threads. */
#ifndef TALLY_MASK_H
#define TALLY_MASK_H

#include <stddef.h>

#include "util.h"

#define MASK_TEXT "***"

struct mask;

/* values: NULL-terminated; empty strings are ignored. NULL when there is
 * nothing to mask. Copies the values; caller frees with mask_free, which
 * wipes them. */
struct mask *mask_new(char *const *values);
/* Appends the masked form of data to out (possibly less than len bytes:
 * a possible start of a value is held back). */
void mask_feed(struct mask *m, const char *data, size_t len, struct sbuf *out);
/* Appends what was held back (masked) to out: call at the end of the stream. */
void mask_flush(struct mask *m, struct sbuf *out);
/* Masks a whole string at once into a new string (caller frees). */
char *mask_string(const struct mask *m, const char *s);
void mask_free(struct mask *m);

#endif
