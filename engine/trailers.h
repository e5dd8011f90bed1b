/* trailers.h - the messages of tally's own commits (SPEC section 3): a
 * subject line "VERB COMPONENT VERSION", a blank line, then Tally-* trailer
 * lines in a fixed order. Pure text: no git, no I/O, no threads. The
 * recorder formats them here; history readers parse them with
 * repo_trailer() (one value) and bases_trailers() (every value).
 *
 * A record commit carries Action (ship, rebuild, reset, adopt), Component,
 * Version, Previous, Image..., Digest, Recipe, Attempt, Platform...,
 * Base..., Host, Cause; a hold commit (skip, unskip, pin, unpin) Action,
 * Component, Version and Reason. */
#ifndef TALLY_TRAILERS_H
#define TALLY_TRAILERS_H

#include <stddef.h>

#include "util.h"

/* The facts a commit message carries. A NULL string (or a count of 0)
 * leaves its trailer out. */
struct trailers {
	const char *verb;       /* subject's first word: record, rebuild, skip, ... */
	const char *action;     /* Tally-Action */
	const char *component;
	const char *version;
	const char *previous;
	char *const *images;    /* Tally-Image, one each */
	size_t nimages;
	const char *digest;
	const char *recipe;
	const char *attempt;
	char *const *platforms; /* Tally-Platform */
	size_t nplatforms;
	char *const *bases;     /* Tally-Base */
	size_t nbases;
	const char *host;       /* Tally-Host: the host that shipped it (tally.host) */
	const char *cause;
	const char *reason;     /* Tally-Reason: one line (the holds file refuses newlines) */
};

/* Appends the whole message to out. */
void trailers_format(const struct trailers *t, struct sbuf *out);

/* 1 when a Tally-Action value names a record (it moves or proves the
 * record of a component): ship, rebuild, reset or adopt. */
int trailers_is_record_action(const char *action);

#endif
