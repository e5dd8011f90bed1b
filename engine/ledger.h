/* ledger.h - ledger.jsonl in the state directory: one JSON line per attempt
 * (id, component, version, action, fingerprint, stages, class, digest,
 * result, log, started/ended). Appended with one O_APPEND write(2) of a
 * whole line, so any thread may append: the engine thread at the end of an
 * attempt, and an attempt's worker when its image was verified (evidence
 * for resuming at record). An append is whole or nothing: one that fails
 * (disk full, file size limit) is cut back to the size before it. The last line of an attempt id wins. A torn or malformed line (a crash
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
