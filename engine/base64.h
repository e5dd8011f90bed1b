/* base64.h - standard base64 (RFC 4648 section 4, "+/" alphabet): the
 * "auth" field of docker auth files and HTTP Basic credentials. Pure
 * functions; no threads, no shared state. */
#ifndef TALLY_BASE64_H
#define TALLY_BASE64_H

#include <stddef.h>

#include "util.h"

/* Appends the encoding of p[0..len) to out, with '=' padding. */
void base64_encode(struct sbuf *out, const void *p, size_t len);
/* Appends the bytes s encodes to out. Padding is optional, but only '='
 * may follow the first '='. Returns 0, or -1 on a character outside the
 * alphabet (out may then hold a partial result: callers wipe it). */
int base64_decode(const char *s, struct sbuf *out);

#endif
