/* config.c - loading tally.conf (see config.h): libgit2 parses the file,
 * every entry is stored into struct tally_conf by the key table
 * (confkeys.c), checked as it is stored and after all entries
 * (confcheck.c), and mapped back to its line (confscan.c). No threads: a
 * load belongs to its caller, and the result is plain data. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "confcheck.h"
#include "confkeys.h"
#include "confload.h"
#include "confscan.h"
#include "nameindex.h"

static const char *comp_name_at(const void *ctx, size_t i)
{
	const struct loader *ld = ctx;
	return ld->conf->comps[i].name;
}

static const char *hdr_name_at(const void *ctx, size_t i)
{
	const struct loader *ld = ctx;
	return ld->hdr_names[i];
}

/* The line of comp's first [component] header, 0 when none: through an
 * index of the component headers, built once. */
static int comp_header_line(struct loader *ld, const char *comp)
{
	if (!ld->hdr_ix) {
		size_t n = 0;
		ld->hdr_names = xcalloc(ld->scan.nhdrs + 1, sizeof *ld->hdr_names);
		ld->hdr_lines = xcalloc(ld->scan.nhdrs + 1, sizeof *ld->hdr_lines);
		for (size_t i = 0; i < ld->scan.nhdrs; i++)
			if (strcmp(ld->scan.hdrs[i].section, "component") == 0 && ld->scan.hdrs[i].sub) {
				ld->hdr_names[n] = ld->scan.hdrs[i].sub;
				ld->hdr_lines[n++] = ld->scan.hdrs[i].line;
			}
		ld->hdr_ix = nameindex_new(n, hdr_name_at, ld);
	}
	long i = nameindex_find(ld->hdr_ix, comp);
	return i < 0 ? 0 : ld->hdr_lines[i];
}

int conf_fail_at(struct loader *ld, int line, const char *key, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		return tally_err_set(ld->err, TC_INPUT, "%s:%d: %s: %s", ld->name, line, key, msg);
	return tally_err_set(ld->err, TC_INPUT, "%s: %s: %s", ld->name, key, msg);
}

char *conf_ctx_at(const struct loader *ld, int line, const char *key)
{
	if (line > 0)
		return xasprintf("%s:%d: %s", ld->name, line, key);
	return xasprintf("%s: %s", ld->name, key);
}

static struct comp_conf *comp_get(struct loader *ld, const char *name, int line, size_t *idx)
{
	struct tally_conf *c = ld->conf;
	long found = hashindex_find(&ld->comps_ix, name, strlen(name), comp_name_at, ld);
	if (found >= 0) {
		*idx = (size_t)found;
		return &c->comps[found];
	}
	if (!confcheck_comp_name(name)) {
		conf_fail_at(ld, line, "component", "\"%s\" is not a valid component name; "
			"use letters, digits, '_', '.' and '-', starting with a letter, digit or '_'",
			name);
		return NULL;
	}
	if (c->ncomps == ld->capcomps) {
		ld->capcomps = ld->capcomps ? ld->capcomps * 2 : 4;
		c->comps = xrealloc(c->comps, ld->capcomps * sizeof *c->comps);
		ld->aux = xrealloc(ld->aux, ld->capcomps * sizeof *ld->aux);
	}
	struct comp_conf *cc = &c->comps[c->ncomps];
	struct comp_aux *ax = &ld->aux[c->ncomps];
	memset(cc, 0, sizeof *cc);
	memset(ax, 0, sizeof *ax);
	cc->name = xstrdup(name);
	cc->order = ORDER_VERSION;
	cc->timeout = 3600;
	ax->header_line = comp_header_line(ld, name);
	if (!ax->header_line)
		ax->header_line = line;
	*idx = c->ncomps++;
	ld->naux = c->ncomps;
	hashindex_added(&ld->comps_ix, c->ncomps, comp_name_at, ld);
	return cc;
}

static int apply_entry(struct loader *ld, const git_config_entry *e)
{
	const char *name = e->name;
	const char *dot1 = strchr(name, '.');
	const char *dot2 = strrchr(name, '.');
	const struct sline *sl = confscan_claim(&ld->scan, name);
	int line = sl ? sl->line : 0;
	char *section = NULL, *sub = NULL, *key = NULL;
	int rc = -1;

	if (!dot1)
		return conf_fail_at(ld, line, sl ? sl->shown : name, "unknown key");
	section = xstrndup(name, (size_t)(dot1 - name));
	if (dot2 > dot1)
		sub = xstrndup(dot1 + 1, (size_t)(dot2 - dot1 - 1));

	const struct keydef *kd = NULL;
	if (strcmp(section, "component") == 0 ? sub != NULL : sub == NULL)
		kd = confkeys_find(section, dot2 + 1);
	if (!kd) {
		conf_fail_at(ld, line, sl ? sl->shown : name, "unknown key");
		goto out;
	}

	if (kd->flags & KF_LOCAL) {
		conf_fail_at(ld, line, sl ? sl->shown : name,
			     "is this host's own, not the shared file's; remove it here and set $TALLY_HOST "
			     "or run git config tally.host NAME in this host's clone");
		goto out;
	}

	void *base;
	struct comp_aux *ax = NULL;
	struct comp_conf *cc = NULL;
	if (sub) {
		size_t idx;
		cc = comp_get(ld, sub, line, &idx);
		if (!cc)
			goto out;
		ax = &ld->aux[idx];
		base = cc;
		key = xasprintf("component.%s.%s", sub, kd->key);
	} else {
		base = ld->conf;
		key = xasprintf("%s.%s", section, kd->key);
	}
	void *field = (char *)base + kd->off;
	const char *value = e->value;

	if (kd->type != K_BOOL) {
		if (!value) {
			conf_fail_at(ld, line, key, "missing value; write %s = VALUE", kd->key);
			goto out;
		}
		if (!*value && !(kd->flags & KF_EMPTY)) {
			conf_fail_at(ld, line, key, "empty value");
			goto out;
		}
	}

	switch (kd->type) {
	case K_STR:
		if (confcheck_str(ld, kd, value, line, key) < 0)
			goto out;
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		break;
	case K_INT: {
		int32_t n;
		if (git_config_parse_int32(&n, value) < 0 || n < 1) {
			conf_fail_at(ld, line, key, "\"%s\" is not a whole number of at least 1", value);
			goto out;
		}
		*(int *)field = n;
		break;
	}
	case K_BOOL: {
		int b;
		if (git_config_parse_bool(&b, value) < 0) {
			conf_fail_at(ld, line, key, "\"%s\" is not a boolean; use true or false", value);
			goto out;
		}
		*(int *)field = b;
		break;
	}
	case K_ORDER:
		if (version_order_parse(value, (enum version_order *)field) < 0) {
			conf_fail_at(ld, line, key, "\"%s\" is not an order; use version or semver", value);
			goto out;
		}
		break;
	case K_LIST:
		if (confcheck_str(ld, kd, value, line, key) < 0)
			goto out;
		strv_push((struct strv *)field, value);
		break;
	case K_UPSTREAM:
		if (confcheck_upstream(ld, cc, value, line, key) < 0)
			goto out;
		break;
	case K_RECORD_ALSO:
		if (confcheck_record_also(ld, cc, ax, value, line, key) < 0)
			goto out;
		break;
	}
	if (ax && strcmp(kd->key, "file") == 0)
		ax->file_line = line;
	if (ax && strcmp(kd->key, "build") == 0)
		ax->build_line = line;
	if (ax && strcmp(kd->key, "secret") == 0 && !ax->secret_line)
		ax->secret_line = line;
	if (ax && strcmp(kd->key, "upstream") == 0)
		ax->upstream_line = line;
	rc = 0;
out:
	free(section);
	free(sub);
	free(key);
	return rc;
}

static int syntax_error(struct loader *ld, const char *disk_path)
{
	const git_error *ge = git_error_last();
	const char *m = ge && ge->message ? ge->message : "cannot parse";
	struct sbuf sb = {0};
	size_t plen = strlen(disk_path);
	for (const char *s = m; *s;) {
		if (plen && strncmp(s, disk_path, plen) == 0) {
			sbuf_adds(&sb, ld->name);
			s += plen;
		} else {
			sbuf_addc(&sb, *s++);
		}
	}
	if (ld->scan.bad_escape_line && strstr(m, "invalid escape"))
		tally_err_set(ld->err, TC_INPUT, "%s:%d: %s; valid escapes are \\n \\t \\b \\\" "
			      "and \\\\", ld->name, ld->scan.bad_escape_line, sbuf_str(&sb));
	else
		tally_err_set(ld->err, TC_INPUT, "%s: %s", ld->name, sbuf_str(&sb));
	sbuf_free(&sb);
	return -1;
}

static int load(const char *disk_path, const char *name, const char *text, size_t len,
		struct tally_conf **out, struct tally_err *err)
{
	struct loader ld = {0};
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int rc = -1, gerr;

	*out = NULL;
	ld.name = name;
	ld.err = err;
	ld.conf = xcalloc(1, sizeof *ld.conf);
	struct tally_conf *c = ld.conf;
	c->path = xstrdup(name);
	c->parallel = 1;
	c->remote = xstrdup("origin");
	c->holds_file = xstrdup("tally-holds.txt");
	c->schedule = xstrdup("0 2 * * *");
	c->net_timeout = 30;
	c->log_keep = 50;
	c->author_name = xstrdup("tally");
	c->theme = xstrdup("default");
	const char *api = getenv("TALLY_GITHUB_API");
	c->gh_api = xstrdup(api && *api ? api : CONF_DEFAULT_GH_API);

	git_libgit2_init();
	confscan_text(&ld.scan, text, len);
	if (git_config_new(&cfg) < 0 ||
	    git_config_add_file_ondisk(cfg, disk_path, GIT_CONFIG_LEVEL_LOCAL, NULL, 0) < 0) {
		syntax_error(&ld, disk_path);
		goto fail;
	}

	/* Components exist from their header on, so an empty section still
	 * reports its missing keys. */
	for (size_t i = 0; i < ld.scan.nhdrs; i++) {
		size_t idx;
		if (strcmp(ld.scan.hdrs[i].section, "component") == 0 && ld.scan.hdrs[i].sub &&
		    !comp_get(&ld, ld.scan.hdrs[i].sub, ld.scan.hdrs[i].line, &idx))
			goto fail;
	}

	if (git_config_iterator_new(&it, cfg) < 0) {
		syntax_error(&ld, disk_path);
		goto fail;
	}
	while ((gerr = git_config_next(&e, it)) == 0)
		if (apply_entry(&ld, e) < 0)
			goto fail;
	if (gerr != GIT_ITEROVER) {
		syntax_error(&ld, disk_path);
		goto fail;
	}
	if (confcheck_finish(&ld) < 0)
		goto fail;
	*out = ld.conf;
	ld.conf = NULL;
	rc = 0;
fail:
	git_config_iterator_free(it);
	git_config_free(cfg);
	git_libgit2_shutdown();
	for (size_t i = 0; i < ld.naux; i++)
		free(ld.aux[i].ra_lines);
	free(ld.aux);
	hashindex_free(&ld.comps_ix);
	nameindex_free(ld.hdr_ix);
	free(ld.hdr_names);
	free(ld.hdr_lines);
	confscan_free(&ld.scan);
	config_free(ld.conf);
	return rc;
}

int config_load(const char *path, struct tally_conf **out, struct tally_err *err)
{
	struct sbuf text = {0};
	*out = NULL;
	/* libgit2 takes a missing file for an empty one. */
	if (util_read_file(path, &text, err) < 0) {
		if (err)
			err->cls = TC_INPUT;
		sbuf_free(&text);
		return -1;
	}
	int rc = load(path, path, sbuf_str(&text), text.len, out, err);
	sbuf_free(&text);
	return rc;
}

int config_load_buffer(const char *name, const char *data, size_t len, struct tally_conf **out,
		       struct tally_err *err)
{
	const char *tmp = getenv("TMPDIR");
	char *path = xasprintf("%s/tally-conf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int rc = -1;

	*out = NULL;
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		tally_err_set(err, TC_INPUT, "%s: cannot create a temporary file %s: %s", name, path,
			      strerror(errno));
		free(path);
		return -1;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tally_err_set(err, TC_INPUT, "%s: cannot write %s: %s", name, path,
				      strerror(errno));
			close(fd);
			goto out;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0) {
		tally_err_set(err, TC_INPUT, "%s: cannot write %s: %s", name, path, strerror(errno));
		goto out;
	}
	rc = load(path, name, data, len, out, err);
out:
	unlink(path);
	free(path);
	return rc;
}

const struct comp_conf *config_find(const struct tally_conf *c, const char *name)
{
	if (!c || !name)
		return NULL;
	for (size_t i = 0; i < c->ncomps; i++)
		if (strcmp(c->comps[i].name, name) == 0)
			return &c->comps[i];
	return NULL;
}

int config_host_ships(const struct comp_conf *cc, const char *host)
{
	if (!cc->hosts.n)
		return 1;
	for (size_t i = 0; host && i < cc->hosts.n; i++)
		if (strcmp(cc->hosts.v[i], host) == 0)
			return 1;
	return 0;
}

int config_claims(const struct tally_conf *c)
{
	if (!c->git_push || !c->host)
		return 0;
	if (c->host_named)
		return 1;
	for (size_t i = 0; i < c->ncomps; i++)
		if (c->comps[i].hosts.n)
			return 1;
	return 0;
}

/* Frees every field the key table names in base: a struct comp_conf when
 * comp, else the struct tally_conf (so that a key added to the table is
 * freed without a line here). */
static void free_keyed(void *base, int comp)
{
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct keydef *kd = confkeys_at(i);
		/* the first letter first (called for every key of every component) */
		if ((kd->section[0] == 'c' && strcmp(kd->section, "component") == 0) != comp)
			continue;
		void *field = (char *)base + kd->off;
		switch (kd->type) {
		case K_STR:
		case K_UPSTREAM:
			free(*(char **)field);
			break;
		case K_LIST:
			strv_free(field);
			break;
		case K_RECORD_ALSO: {
			struct comp_conf *cc = base;
			for (size_t j = 0; j < cc->nrecord_also; j++) {
				free(cc->record_also[j].file);
				free(cc->record_also[j].var);
				free(cc->record_also[j].tmpl);
			}
			free(cc->record_also);
			break;
		}
		case K_INT:
		case K_BOOL:
		case K_ORDER:
			break;
		}
	}
}

void config_free(struct tally_conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ncomps; i++) {
		free(c->comps[i].name);
		free(c->comps[i].upstream_kind);
		free(c->comps[i].upstream_arg);
		free_keyed(&c->comps[i], 1);
	}
	free(c->comps);
	free(c->path);
	free_keyed(c, 0);
	free(c);
}
