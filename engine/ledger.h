/* ledger.h - ledger.jsonl in the state directory: one JSON line per attempt
 * (id, component, version, action, fingerprint, stages, class, digest,
 * result, log, started/ended). Written only by the engine thread, appended
 * with one write(2) of a whole line. A torn or malformed line (a crash
 * mid-append) is skipped with a warning naming the file and line. */
#ifndef TALLY_LEDGER_H
#define TALLY_LEDGER_H

#include <jansson.h>

#include "err.h"

/* Appends entry (not consumed) as one line. */
int ledger_append(const char *state_dir, json_t *entry, struct tally_err *err);
/* Loads every entry into a new JSON array (caller decrefs). warn receives
 * one message per skipped line (may be NULL). */
int ledger_load(const char *state_dir, json_t **out,
		void (*warn)(void *ctx, const char *msg), void *ctx, struct tally_err *err);

#endif
