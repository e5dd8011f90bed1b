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

/* Compaction (SPEC section 9). From entries (file order, oldest first; the
 * last line of an id wins), selects per component the attempts whose logs
 * are kept: at most log_keep of them (log_keep < 1 counts as 1), the
 * newest attempt always, then failed attempts (newest first), then the
 * newest of the others. *kept (new array, file order, one line per id)
 * holds those attempts plus what a record may still need: the newest
 * shipped attempt of every component (what it built), and the newest
 * attempt of a version when it shipped but was not recorded (the evidence
 * a later attempt of that version resumes from). Resets read digests from
 * the record commits. *drop_logs (new array of strings) lists the logs of
 * the attempts selected away. Returns the number of lines compacted away. */
size_t ledger_select(json_t *entries, int log_keep, json_t **kept, json_t **drop_logs);
/* Selects as above and, when lines would go, rewrites the ledger atomically
 * (under the append lock: no line appended meanwhile is lost; a ledger that
 * changed since entries were read is left alone this time) and removes the
 * logs selected away (only files under STATE/logs/). *entries is replaced
 * by the kept lines when the file was rewritten. Returns the number of
 * lines compacted away, or -1 (err set; nothing changed). */
long ledger_compact(const char *state_dir, json_t **entries, int log_keep, struct tally_err *err);

#endif
