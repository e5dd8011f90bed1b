/* version.h - version strings: the OCI tag grammar every version must pass
 * before it touches a path, a command or a commit; ordering; filters. */
#ifndef TALLY_VERSION_H
#define TALLY_VERSION_H

#include <regex.h>

#include "err.h"

enum version_order { ORDER_VERSION = 0, ORDER_SEMVER = 1 };

/* 1 when s matches [A-Za-z0-9_][A-Za-z0-9._-]{0,127}, else 0. NULL is invalid. */
int version_valid(const char *s);

/* 1 when s has no digit at all ("latest", "stable", "xenial", "rc-alpine"):
 * an alias, never a version (SPEC section 5). NULL counts as an alias. */
int version_is_alias(const char *s);

/* 1 when one of the parts of s, split at '.', '-', '_' and '+', is alpha,
 * beta, rc, pre, preview, dev, snapshot, nightly or canary (any case),
 * alone or followed by digits: v1.3.0.rc.0, v1.3.1.beta.1, 8.0-rc-jammy,
 * v2.0.0-rc1. Flavours and patch levels (-anolis, -jammy, -patch.9) are
 * not pre-releases. */
int version_is_prerelease(const char *s);

/* <0, 0, >0 like strcmp. ORDER_VERSION uses strverscmp (GNU version sort),
 * except that a pre-release sorts below its own release (v3.9.0-rc.1 <
 * v3.9.0; v1.3.0.rc.0 < v1.3.0; a flavour such as v3.9.0-patch.1 still
 * sorts above v3.9.0).
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
/* 1 when v passes: valid grammar, not an alias, matches include, not
 * exclude, and is not a pre-release unless prerelease is set. */
int vfilter_accept(const struct vfilter *f, const char *v);
void vfilter_free(struct vfilter *f);

#endif
