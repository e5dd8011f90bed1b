/* hostname.h - this build host's name (SPEC section 4, tally.host; section
 * 15): it names the host in claims, Tally-Host trailers and status. The
 * name comes from the host, never the shared tally.conf: $TALLY_HOST, else
 * tally.host in the clone's own .git/config, else the short host name.
 * Pure functions and one read of the repo's local config; no threads. */
#ifndef TALLY_HOSTNAME_H
#define TALLY_HOSTNAME_H

#include <git2.h>

#include "err.h"

/* At most this many bytes in a host name. */
#define HOST_NAME_MAXLEN 63

/* 1 when name can be a host name: 1 to HOST_NAME_MAXLEN letters, digits,
 * '.', '_' and '-', starting with a letter or digit (one word, printable,
 * usable in a trailer and a claim). */
int host_name_ok(const char *name);

/* This host's name for repo (its local config), in *out (caller frees);
 * *named (may be NULL) is 1 when the operator named it ($TALLY_HOST or the
 * clone's tally.host), 0 for the host name's default. -1 with err (class
 * input, naming where the bad name came from). */
int host_name_resolve(git_repository *repo, char **out, int *named, struct tally_err *err);

#endif
