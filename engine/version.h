/* version.h - version strings: the OCI tag grammar every version must pass
 * before it touches a path, a command or a commit; ordering; filters. */
#ifndef TALLY_VERSION_H
#define TALLY_VERSION_H

#include <regex.h>

#include "err.h"

enum version_order { ORDER_VERSION = 0, ORDER_SEMVER = 1 };

/* 1 when s matches [A-Za-z0-9_][A-Za-z0-9._-]{0,127}, else 0. NULL is invalid. */
int version_valid(const char *s);

/* 1 when s looks like a pre-release: a '-alpha', '-beta', '-rc', '-pre' or
 * '-dev' suffix (case-insensitive, optionally followed by digits/dots, e.g.
 * v1.2.0-rc.1, v1.2.0-beta2), or any SemVer pre-release part. */
int version_is_prerelease(const char *s);

/* <0, 0, >0 like strcmp. ORDER_VERSION uses strverscmp (GNU version sort).
 * ORDER_SEMVER uses SemVer 2.0 precedence with one leading 'v' ignored and
 * build metadata ignored; strings that are not SemVer sort before every
 * SemVer string and among themselves by strverscmp. */
int version_compare(const char *a, const char *b, enum version_order order);

/* Parses "version" / "semver" into *out. -1 on anything else. */
int version_order_parse(const char *s, enum version_order *out);

/* include / exclude / prerelease filters of one component. */
struct vfilter {
	regex_t include, exclude;
	int has_include, has_exclude;
	int prerelease;
};
/* Compiles the POSIX extended regexes (either may be NULL). On a bad regex
 * the error names what (ctx, e.g. "tally.conf: component.server.include"). */
int vfilter_init(struct vfilter *f, const char *include, const char *exclude, int prerelease,
		 const char *ctx, struct tally_err *err);
/* 1 when v passes: valid grammar, matches include, not exclude, and is not a
 * pre-release unless prerelease is set. */
int vfilter_accept(const struct vfilter *f, const char *v);
void vfilter_free(struct vfilter *f);

#endif
