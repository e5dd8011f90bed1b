/* confload.h - the state of one tally.conf load, shared by the loader
 * (config.c: entries into struct tally_conf) and the checks of values and
 * of the whole file (confcheck.c). One load belongs to the thread that
 * calls config_load. */
#ifndef TALLY_CONFLOAD_H
#define TALLY_CONFLOAD_H

#include <stddef.h>

#include "config.h"
#include "confscan.h"
#include "err.h"
#include "hashindex.h"
#include "nameindex.h"

/* Lines of one component's keys, for checks made after all entries. */
struct comp_aux {
	int header_line, file_line, upstream_line, build_line, secret_line;
	int *ra_lines;
	size_t nra_lines;
};

struct loader {
	const char *name;           /* file name for messages */
	struct tally_conf *conf;
	struct comp_aux *aux;       /* parallel to conf->comps */
	size_t naux, capcomps;
	struct scan scan;
	struct tally_err *err;
	/* hashed lookups (a config of thousands of components): conf->comps
	 * by name, and the first header line of each component section */
	struct hashindex comps_ix;
	struct nameindex *hdr_ix;
	const char **hdr_names;
	int *hdr_lines;
};

/* An input error naming the file, the line (when > 0) and the key. */
__attribute__((format(printf, 4, 5)))
int conf_fail_at(struct loader *ld, int line, const char *key, const char *fmt, ...);
/* "file:line: key" (or "file: key") for messages of template checks.
 * Caller frees. */
char *conf_ctx_at(const struct loader *ld, int line, const char *key);

#endif
