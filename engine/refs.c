/* refs.c - image and tag expansion (pure): see refs.h. */
#include "refs.h"

#include <stdlib.h>
#include <string.h>

#include "version.h"

int refs_image(const struct comp_conf *cc, const struct tvar *vars, size_t nvars, char **image,
	       struct tally_err *err)
{
	struct tally_err terr = {0};
	char *ctxname = xasprintf("component.%s.image", cc->name);
	int rc = template_subst(cc->image, vars, nvars, image, ctxname, &terr);
	free(ctxname);
	if (rc < 0)
		return tally_err_set(err, TC_INPUT, "%s", terr.msg);
	for (const char *p = *image; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("._-/:", *p))) {
			tally_err_set(err, TC_INPUT, "component.%s.image: '%s' is not a valid image name",
				      cc->name, *image);
			free(*image);
			*image = NULL;
			return -1;
		}
	return 0;
}

/* One tag template expanded and checked; what names the setting. */
static int one_tag(const struct comp_conf *cc, const char *tmpl, const char *what,
		   const struct tvar *vars, size_t nvars, struct strv *out, struct tally_err *err)
{
	struct tally_err terr = {0};
	char *t = NULL;
	if (template_subst(tmpl, vars, nvars, &t, what, &terr) < 0)
		return tally_err_set(err, TC_INPUT, "component.%s.%s: %s", cc->name, what, terr.msg);
	/* a version plus a suffix can exceed the tag grammar */
	if (!version_valid(t)) {
		if (strcmp(t, tmpl) != 0)
			tally_err_set(err, TC_INPUT,
				      "component.%s.%s: '%s' is not a valid OCI tag once expanded: %s",
				      cc->name, what, tmpl, t);
		else
			tally_err_set(err, TC_INPUT, "component.%s.%s: '%s' is not a valid OCI tag",
				      cc->name, what, t);
		free(t);
		return -1;
	}
	strv_push_owned(out, t);
	return 0;
}

int refs_tags(const struct comp_conf *cc, const struct tvar *vars, size_t nvars,
	      struct strv *tags, struct tally_err *err)
{
	for (size_t i = 0; i < cc->tags.n; i++)
		if (one_tag(cc, cc->tags.v[i], "tag", vars, nvars, tags, err) < 0)
			return -1;
	return 0;
}

int refs_floating(const struct comp_conf *cc, const struct tvar *vars, size_t nvars,
		  struct strv *out, struct tally_err *err)
{
	for (size_t i = 0; i < cc->floating.n; i++)
		if (one_tag(cc, cc->floating.v[i], "floatingTag", vars, nvars, out, err) < 0)
			return -1;
	return 0;
}
