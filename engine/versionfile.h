/* versionfile.h - the seed's key=value version files.
 *
 * Format: one `key=value` per line. Keys match [A-Za-z_][A-Za-z0-9_.-]*,
 * values are non-empty and contain no whitespace. Blank lines and lines whose
 * first non-blank character is '#' are kept byte for byte. Line endings (\n or
 * \r\n) and a missing final newline are preserved. A malformed line, a
 * duplicate key, an empty value or the value null, undefined or None (what
 * a failed JSON lookup prints) is an error naming the file and line.
 *
 * Lenient mode (for recordAlso files such as .env) keeps every line that is
 * not `KEY=value` byte for byte instead of rejecting it; KEY=value lines are
 * still checked for duplicates. There a value is read dotenv-style: blanks
 * after '=' are skipped, a value in matching "" or '' is what is inside
 * them, an unquoted one ends before an inline comment (a '#' after a blank)
 * and trailing blanks. Only that span is ever replaced, so quotes, spacing
 * and `# comment` survive a set. */
#ifndef TALLY_VERSIONFILE_H
#define TALLY_VERSIONFILE_H

#include <stddef.h>

#include "err.h"
#include "util.h"

struct vfile;

/* name is used in messages only. data need not be NUL-terminated. *out is
 * owned by the caller (versionfile_free). */
int versionfile_parse(const char *name, const char *data, size_t len, int lenient,
		      struct vfile **out, struct tally_err *err);
/* The value of key, or NULL. Owned by vf. */
const char *versionfile_get(const struct vfile *vf, const char *key);
/* 1-based line of key, 0 if absent. */
int versionfile_line(const struct vfile *vf, const char *key);
/* Writes into out (reset first) the file's bytes with key's value replaced
 * (every other byte unchanged), or with `key=value` appended when missing
 * (adding a newline to an unterminated last line first). value must be
 * non-empty and contain no newline, else error; so is a value that would
 * not read back as itself from the new bytes (a quote inside a quoted
 * value, " #" in an unquoted one). vf itself is unchanged. */
int versionfile_set(const struct vfile *vf, const char *key, const char *value,
		    struct sbuf *out, struct tally_err *err);
/* Number of key=value entries; key/value of the i-th, in file order. */
size_t versionfile_count(const struct vfile *vf);
const char *versionfile_key_at(const struct vfile *vf, size_t i);
const char *versionfile_value_at(const struct vfile *vf, size_t i);
void versionfile_free(struct vfile *vf);

/* 1 when key matches the key grammar. */
int versionfile_key_valid(const char *key);

#endif
