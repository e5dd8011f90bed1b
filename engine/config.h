/* config.h - tally.conf (SPEC section 4), read with libgit2's config parser.
 *
 * Syntax errors carry libgit2's file:line. Unknown keys, missing required
 * keys and bad values are errors naming the file, the key and the line where
 * it is found (found by scanning the file, since libgit2 1.5 keeps no line
 * numbers on entries). Every template is checked at load (syntax and
 * variable names). The whole struct is plain data owned by the caller. */
#ifndef TALLY_CONFIG_H
#define TALLY_CONFIG_H

#include <stddef.h>

#include "err.h"
#include "util.h"
#include "version.h"

struct record_also {
	char *file;     /* path relative to the repo root */
	char *var;      /* KEY in that file */
	char *tmpl;     /* value template, e.g. "{version}-anolis" */
};

struct comp_conf {
	char *name;
	char *file;             /* required */
	char *key;              /* default: name */
	char *upstream;         /* required: the whole spec, e.g. "git-tags /srv/up.git" */
	char *upstream_kind;    /* first word: github-release, git-tags, manual, ... */
	char *upstream_arg;     /* rest, trimmed ("" for manual) */
	char *include, *exclude, *match;   /* NULL when unset */
	int prerelease;
	enum version_order order;
	char *image;            /* template; default "{prefix}/<name>" */
	struct strv tags;       /* templates; default {"{version}"} */
	struct strv floating;   /* templates */
	char *build;            /* required template */
	char *push;             /* template; default CONFIG_DEFAULT_PUSH */
	char *cleanup;          /* NULL when unset */
	char *workdir;          /* NULL: repo root; relative paths are from the repo root */
	int timeout;            /* seconds, default 3600 */
	char *schedule;         /* NULL: tally.schedule */
	struct strv recipes;
	struct strv bases;      /* base images watched; empty: the recipes' FROM images; "none": off */
	struct strv after;      /* component names this one ships after in one run */
	struct strv platforms;  /* os/arch[/variant]; empty: one image for the host */
	struct record_also *record_also;
	size_t nrecord_also;
	char *version_label;    /* image config label that must equal the version; "" off */
	struct strv secrets;    /* "ID=env:VAR" or "ID=file:PATH", checked (config_secret_parse) */
	struct strv hosts;      /* host names that may ship it; empty: any host (SPEC section 15) */
};

/* Build secrets per component, at most this many. */
#define CONFIG_MAX_SECRETS 16

/* Splits a checked secret spec "ID=env:VAR" / "ID=file:PATH" into its
 * parts (caller frees *id and *src). 0, or -1 with a message in why (at
 * least 256 bytes) saying what is wrong. */
int config_secret_parse(const char *spec, char **id, int *from_env, char **src, char *why, size_t whylen);

struct tally_conf {
	char *path;             /* the file read */
	char *state_dir;        /* NULL: default computed by statedir.c */
	char *group;
	int parallel;           /* >= 1, default 1 */
	int git_push;
	char *remote;           /* default "origin" */
	char *branch;           /* NULL: current branch */
	char *holds_file;       /* default "tally-holds.txt" */
	char *schedule;         /* default "0 2 * * *" */
	char *notify;
	int log_keep;           /* default 50 */
	char *author_name;      /* default "tally" */
	char *author_email;     /* NULL: tally@<hostname> */
	char *theme;            /* default "default" */
	struct strv pass_env;   /* tally.passEnv: more names commands inherit (runner.h) */
	int net_timeout;        /* tally.networkTimeout: idle seconds for network git, default 30 */
	char *reg_prefix;
	int reg_insecure;
	char *reg_auth_file;    /* NULL: the containers search order (authfile.h) */
	char *reg_cert_dir;     /* NULL: /etc/containers/certs.d and buildah's other defaults (tls.h) */
	char *gh_api;           /* default https://api.github.com */
	char *gh_token_file;
	char *host;             /* this host's name: never from the file (an error there); set by
				 * the engine from $TALLY_HOST, the clone's .git/config or
				 * gethostname (hostname.h); NULL until then */
	int host_named;         /* the operator named it ($TALLY_HOST, the clone's tally.host) */
	struct comp_conf *comps;   /* in the order they appear in the file */
	size_t ncomps;
};

/* The upstream kinds config accepts (the table lives in upstream.c; config
 * only checks the name against this list to keep parsing independent). */
extern const char *const config_upstream_kinds[];

/* The default push template; with registry.certDir set it also passes
 * --cert-dir, so that buildah trusts what tally trusts (buildah reads only
 * its default directories otherwise). */
#define CONFIG_DEFAULT_PUSH \
	"buildah push --tls-verify={tlsverify} --digestfile {digestfile} {ref} docker://{ref}"
#define CONFIG_DEFAULT_PUSH_CERTDIR \
	"buildah push --tls-verify={tlsverify} --cert-dir {certdir} --digestfile {digestfile} " \
	"{ref} docker://{ref}"

/* The default component.<n>.versionLabel. */
#define CONFIG_DEFAULT_VERSION_LABEL "org.opencontainers.image.version"

/* Template variable names of SPEC section 4. */
extern const char *const config_template_vars[];
extern const size_t config_template_nvars;

/* The key table, for the configuration reference (tally.conf(5), `tally
 * help config`). Strings are static. */
struct config_keydoc {
	const char *section;   /* "tally", "registry", "github", "component" */
	const char *key;       /* as spelled in tally.conf, e.g. "floatingTag" */
	const char *dflt;      /* shown default; "required"; NULL: none */
	const char *help;
	int multi;             /* multi-valued */
	int required;
};
size_t config_key_count(void);
int config_key_doc(size_t i, struct config_keydoc *out);
/* What a template variable (config_template_vars) stands for; NULL when
 * it has no entry (a unit test fails then). */
const char *config_var_help(const char *name);

int config_load(const char *path, struct tally_conf **out, struct tally_err *err);
/* Same, from a buffer (written to a temporary file for libgit2); name is
 * used in messages. */
int config_load_buffer(const char *name, const char *data, size_t len, struct tally_conf **out,
		       struct tally_err *err);
const struct comp_conf *config_find(const struct tally_conf *c, const char *name);
/* 1 when host may ship cc: its host list names host, or it names none. */
int config_host_ships(const struct comp_conf *cc, const char *host);
/* 1 when this host claims components on the remote before building (SPEC
 * section 15): tally.gitPush, and several build hosts declared (the host
 * named by the operator, or a component.<n>.host in the file). */
int config_claims(const struct tally_conf *c);
void config_free(struct tally_conf *c);

#endif
