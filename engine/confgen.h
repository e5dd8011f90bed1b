/* confgen.h - `tally init`: a starter tally.conf guessed from an existing
 * versions repository (SPEC section 7). Reads the files committed at the
 * branch head (never the network, never the working tree's stray files):
 * key=value version files, Dockerfiles/Containerfiles, .env files and CI
 * workflows. Guesses are marked "# check this". The text is checked with
 * config_load_buffer before it is returned, so it is always a config tally
 * accepts. Writes nothing. */
#ifndef TALLY_CONFGEN_H
#define TALLY_CONFGEN_H

#include "err.h"
#include "util.h"

/* repo_dir: any directory in the repository. *out gets the config text
 * (caller frees with sbuf_free). A repository with no commit or no version
 * file is TC_INPUT. */
int confgen_starter(const char *repo_dir, struct sbuf *out, struct tally_err *err);

#endif
