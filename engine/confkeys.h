/* confkeys.h - the key table of tally.conf (SPEC section 4): every key's
 * section, spelling, type, checks, place in struct tally_conf / struct
 * comp_conf, shown default and help. Data only: the loader (config.c)
 * stores and checks values by it (confcheck.c), and the reference
 * (tally.conf(5), `tally help config`) is generated from it through
 * config_key_doc(). No threads; the table is static and read-only. */
#ifndef TALLY_CONFKEYS_H
#define TALLY_CONFKEYS_H

#include <stddef.h>

#include "config.h"

enum ktype { K_STR, K_INT, K_BOOL, K_ORDER, K_LIST, K_UPSTREAM, K_RECORD_ALSO };

enum kflag {
	KF_CMD = 1 << 0,      /* command template (split into words) */
	KF_SUBST = 1 << 1,    /* single-word template */
	KF_RELPATH = 1 << 2,  /* path inside the repo */
	KF_REGEX = 1 << 3,    /* include / exclude */
	KF_MATCH = 1 << 4,    /* regex with a capture group */
	KF_SPLIT = 1 << 5,    /* quoting checked only (notify: no template variables) */
	KF_VARNAME = 1 << 6,  /* a key in a version file */
	KF_EMPTY = 1 << 7,    /* an empty value is allowed (it turns the feature off) */
	KF_ENVNAME = 1 << 8,  /* an environment variable name, or a prefix ending in '*' */
	KF_SECRET = 1 << 9,   /* ID=env:VAR or ID=file:PATH */
	KF_LOCAL = 1 << 10,   /* never in the shared file: the host's own (tally.host) */
	KF_HOST = 1 << 11,    /* a host name (hostname.h) */
};

struct keydef {
	const char *section;  /* "tally", "registry", "github" or "component" */
	const char *key;      /* spelled as in SPEC section 4 */
	enum ktype type;
	unsigned flags;
	size_t off;           /* into struct tally_conf or struct comp_conf */
	const char *dflt;     /* the default as the reference shows it; NULL: none */
	const char *help;     /* one sentence or a few: what it does (tally.conf(5)) */
};

/* The i-th key (i < config_key_count()), NULL past the end. */
const struct keydef *confkeys_at(size_t i);
/* The key of section ("component" for component.<n>.key) spelled key in
 * any case, NULL when there is none. */
const struct keydef *confkeys_find(const char *section, const char *key);

/* The template variables before the last four ({platform} {os} {arch}
 * {variant}), which are for commands only: tags, images and recordAlso
 * values are one per version, not per platform. */
#define CONF_NONCMD_NVARS (config_template_nvars - 4)

#define CONF_DEFAULT_GH_API "https://api.github.com"

#endif
