/* pipeimage.c - what the pushed image holds: the versionLabel check (SPEC
 * section 4) and several platforms (SPEC section 14: a build and push per
 * platform, the OCI index, its children read back). Runs on the attempt's
 * worker thread, on its struct ctx. */
#include "pipeline_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"
#include "sha256.h"

/* ---- versionLabel (SPEC section 4) ---- */

int pipe_is_index_type(const char *mt)
{
	return mt && (!strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
		      !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

/* Shown in a message: printable ASCII only, at most 80 characters. */
static char *shown(const char *s)
{
	struct sbuf sb = {0};
	const char *p = s;
	for (; *p && sb.len < 80; p++)
		sbuf_addc(&sb, (*p >= 0x20 && *p < 0x7f) ? *p : '?');
	if (*p)
		sbuf_adds(&sb, "...");
	return sbuf_detach(&sb);
}

/* The label in the config of one image manifest: 0 when absent or equal
 * to the version, -1 (attempt failed) otherwise. */
static int label_one(struct ctx *c, const char *manifest, size_t len, const char *what)
{
	const char *label = c->a->cc->version_label;
	struct tally_err err = {0};
	json_t *m = json_loadb(manifest, len, 0, NULL), *conf = NULL;
	struct sbuf blob = {0};
	int ret = -1;
	const char *cfg = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
	if (!cfg) {
		pipe_fail(c, TC_VERIFY, "verify: the manifest of %s names no config blob", what);
		goto out;
	}
	struct tags_ctx t = pipe_tags(c);
	int brc = tags_blob(&t, cfg, 1, &blob, &err);
	if (brc < 0) {
		pipe_tags_fail(c, brc, stage_name(SG_VERIFY), &err);
		goto out;
	}
	conf = json_loadb(sbuf_str(&blob), blob.len, 0, NULL);
	if (!json_is_object(conf)) {
		pipe_fail(c, TC_VERIFY, "verify: the config blob %s of %s is not a JSON object", cfg, what);
		goto out;
	}
	json_t *v = json_object_get(json_object_get(json_object_get(conf, "config"), "Labels"), label);
	if (!v) {
		pipe_log(c, "verify: %s has no %s label; nothing to compare", what, label);
	} else if (json_is_string(v) && !strcmp(json_string_value(v), c->a->version)) {
		pipe_log(c, "verify: %s says %s=%s, the version being shipped", what, label, c->a->version);
	} else {
		char *said = shown(json_is_string(v) ? json_string_value(v) : "(not a string)");
		pipe_fail(c, TC_RECIPE,
		     "the image says %s: the build ignores {version} (label %s of %s is %s, the "
		     "version being shipped is %s); make the build use the version, or set "
		     "component.%s.versionLabel = \"\" if the label means something else",
		     said, label, what, said, c->a->version, c->a->cc->name);
		free(said);
		goto out;
	}
	ret = 0;
out:
	json_decref(m);
	json_decref(conf);
	sbuf_free(&blob);
	return ret;
}

/* For an index, every child image is checked. */
int pipe_check_label(struct ctx *c, const char *digest, const struct sbuf *body, const char *mt)
{
	if (!c->a->cc->version_label || !*c->a->cc->version_label)
		return 0;
	char *what = xasprintf("%s@%s", c->image, digest);
	if (!pipe_is_index_type(mt)) {
		int rc = label_one(c, body->buf, body->len, what);
		free(what);
		return rc;
	}
	json_t *idx = json_loadb(body->buf, body->len, 0, NULL);
	json_t *list = json_object_get(idx, "manifests");
	int rc = 0;
	if (!json_is_array(list)) {
		pipe_fail(c, TC_VERIFY, "verify: the index %s has no \"manifests\" list", what);
		rc = -1;
	}
	size_t i;
	json_t *ch;
	json_array_foreach(list, i, ch) {
		const char *cd = json_string_value(json_object_get(ch, "digest"));
		const char *cmt = json_string_value(json_object_get(ch, "mediaType"));
		if (!cd) {
			pipe_fail(c, TC_VERIFY, "verify: entry %zu of the index %s has no digest", i, what);
			rc = -1;
			break;
		}
		if (cmt && pipe_is_index_type(cmt))
			continue;   /* nested indexes are not images */
		struct sbuf cb = {0};
		char *cmt2 = NULL;
		char *cwhat = xasprintf("%s@%s", c->image, cd);
		rc = pipe_fetch_pushed(c, cd, &cb, &cmt2);
		if (rc == 0)
			rc = label_one(c, cb.buf, cb.len, cwhat);
		free(cwhat);
		free(cmt2);
		sbuf_free(&cb);
		if (rc < 0)
			break;
	}
	json_decref(idx);
	free(what);
	return rc;
}

/* ---- several platforms (SPEC section 14) ---- */

static void set_var(struct ctx *c, const char *name, const char *value)
{
	for (size_t i = 0; i < c->nvars; i++)
		if (!strcmp(c->vars[i].name, name)) {
			c->vars[i].value = value;
			return;
		}
	c->vars[c->nvars++] = (struct tvar){name, value};
}

/* The children of the index at digest, each read back by its digest:
 * "os/arch[/variant] sha256:..." lines in out. */
int pipe_index_children(struct ctx *c, const char *digest, struct strv *out)
{
	struct sbuf body = {0};
	char *mt = NULL;
	int rc = pipe_fetch_pushed(c, digest, &body, &mt);
	json_t *idx = rc == 0 ? json_loadb(body.buf, body.len, 0, NULL) : NULL;
	json_t *list = json_object_get(idx, "manifests");
	if (rc == 0 && (!pipe_is_index_type(mt) || !json_is_array(list))) {
		pipe_fail(c, TC_VERIFY, "verify: %s@%s is not an image index (%s)", c->image, digest, mt ? mt : "?");
		rc = -1;
	}
	size_t i;
	json_t *ch;
	json_array_foreach(list, i, ch) {
		if (rc < 0)
			break;
		const char *cd = json_string_value(json_object_get(ch, "digest"));
		json_t *pl = json_object_get(ch, "platform");
		const char *os = json_string_value(json_object_get(pl, "os"));
		const char *arch = json_string_value(json_object_get(pl, "architecture"));
		const char *var = json_string_value(json_object_get(pl, "variant"));
		char got[REGISTRY_DIGEST_MAX];
		struct tally_err err = {0};
		if (!cd || !os || !arch) {
			pipe_fail(c, TC_VERIFY, "verify: entry %zu of the index %s@%s has no digest or platform", i,
			     c->image, digest);
			rc = -1;
		} else if (registry_digest(c->reg, c->image, cd, got, &err) < 0 || strcmp(got, cd) != 0) {
			pipe_fail(c, TC_VERIFY, "verify: %s@%s (%s/%s) listed in the index %s does not read back: %s",
			     c->image, cd, os, arch, digest, err.msg[0] ? err.msg : got);
			rc = -1;
		} else {
			strv_push_owned(out, xasprintf("%s/%s%s%s %s", os, arch, var ? "/" : "", var ? var : "", cd));
			pipe_log(c, "verify: %s@%s = %s/%s%s%s", c->image, cd, os, arch, var ? "/" : "", var ? var : "");
		}
	}
	json_decref(idx);
	free(mt);
	sbuf_free(&body);
	return rc;
}


void pipe_platform_begin(struct ctx *c, size_t i, struct pvars *pv)
{
	const char *spec = c->a->cc->platforms.v[i];
	pv->nvars = c->nvars;
	pv->ref0 = NULL;
	for (size_t k = 0; k < c->nvars; k++)
		if (!strcmp(c->vars[k].name, "ref"))
			pv->ref0 = c->vars[k].value;
	pv->os = xstrdup(spec);
	pv->arch = strchr(pv->os, '/');
	*pv->arch++ = 0;
	if ((pv->variant = strchr(pv->arch, '/')))
		*pv->variant++ = 0;
	pv->ptag = xasprintf("%s-%s%s%s", c->tags.v[0], pv->arch, pv->variant ? "-" : "",
			     pv->variant ? pv->variant : "");
	pv->pref = xasprintf("%s:%s", c->image, pv->ptag);
	set_var(c, "platform", spec);
	set_var(c, "os", pv->os);
	set_var(c, "arch", pv->arch);
	set_var(c, "variant", pv->variant ? pv->variant : "");
	set_var(c, "ref", pv->pref);
}

void pipe_platform_end(struct ctx *c, struct pvars *pv)
{
	c->nvars = pv->nvars;
	set_var(c, "ref", pv->ref0);
	free(pv->os);
	free(pv->ptag);
	free(pv->pref);
}

/* Build and push once per platform, each to its own ref
 * {image}:{tag}-{arch}[-{variant}]; then the OCI index listing them is
 * made (not put: the caller puts it under every version tag). Any platform
 * failing fails the attempt before anything is put under a version tag. */
int pipe_ship_platforms(struct ctx *c, char digest[REGISTRY_DIGEST_MAX], struct sbuf *index)
{
	struct attempt *a = c->a;
	const struct strv *pl = &a->cc->platforms;
	json_t *list = json_array();
	int rc = 0;
	for (size_t i = 0; i < pl->n && rc == 0; i++) {
		struct pvars pv;
		pipe_platform_begin(c, i, &pv);
		const char *os = pv.os, *arch = pv.arch, *variant = pv.variant, *ptag = pv.ptag, *pref = pv.pref;
		pipe_log(c, "platform %s: building %s", pl->v[i], pref);
		char d[REGISTRY_DIGEST_MAX] = "";
		struct sbuf body = {0};
		char *mt = NULL;
		struct tally_err err = {0};
		if (!version_valid(ptag)) {
			pipe_fail(c, TC_INPUT, "platform %s: '%s' is not a valid OCI tag", pl->v[i], ptag);
			rc = -1;
		} else if (pipe_run_cmd(c, SG_BUILD, a->cc->build, "build") < 0) {
			rc = -1;
		} else if (a->no_push) {
			/* built only */
		} else {
			unlink(c->digestfile);
			if (pipe_run_cmd(c, SG_PUSH, a->cc->push, "push") < 0)
				rc = -1;
			else if (pipe_read_digestfile(c, d) < 0 && registry_digest(c->reg, c->image, ptag, d, &err) < 0)
				rc = pipe_regerr(c, stage_name(SG_PUSH), &err);
			if (rc == 0)
				rc = pipe_fetch_pushed(c, d, &body, &mt);
			if (rc == 0 && pipe_is_index_type(mt)) {
				pipe_fail(c, TC_RECIPE, "platform %s: %s is an index itself; each platform's push must push one image",
				     pl->v[i], pref);
				rc = -1;
			}
			if (rc == 0) {
				json_t *p = json_pack("{s:s, s:s}", "architecture", arch, "os", os);
				if (variant)
					json_object_set_new(p, "variant", json_string(variant));
				json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:o}", "mediaType",
								      mt ? mt : "application/vnd.oci.image.manifest.v1+json",
								      "digest", d, "size", (json_int_t)body.len,
								      "platform", p));
				pipe_log(c, "platform %s: pushed %s as %s", pl->v[i], pref, d);
			}
		}
		free(mt);
		sbuf_free(&body);
		pipe_platform_end(c, &pv);   /* the platform variables end with the platform */
	}
	if (rc == 0 && !a->no_push) {
		json_t *idx = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", OCI_INDEX, "manifests",
					json_incref(list));
		char *txt = json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER);
		sbuf_adds(index, txt);
		sha256_digest_str(index->buf, index->len, digest);
		pipe_log(c, "index of %zu platforms: %s", pl->n, digest);
		free(txt);
		json_decref(idx);
	}
	json_decref(list);
	return rc;
}

