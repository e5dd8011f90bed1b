/* trailers.c - formatting the messages of tally's own commits (see
 * trailers.h). Pure text, no threads. */
#include "trailers.h"

#include <string.h>

#include "protocol.h"

static void add_one(struct sbuf *out, const char *name, const char *value)
{
	if (value)
		sbuf_addf(out, "Tally-%s: %s\n", name, value);
}

static void add_all(struct sbuf *out, const char *name, char *const *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		add_one(out, name, v[i]);
}

void trailers_format(const struct trailers *t, struct sbuf *out)
{
	sbuf_addf(out, "%s %s %s\n\n", t->verb, t->component, t->version);
	add_one(out, "Action", t->action);
	add_one(out, "Component", t->component);
	add_one(out, "Version", t->version);
	add_one(out, "Previous", t->previous);
	add_all(out, "Image", t->images, t->nimages);
	add_one(out, "Digest", t->digest);
	add_one(out, "Recipe", t->recipe);
	add_one(out, "Attempt", t->attempt);
	add_all(out, "Platform", t->platforms, t->nplatforms);
	add_all(out, "Base", t->bases, t->nbases);
	add_one(out, "Host", t->host);
	add_one(out, "Cause", t->cause);
	add_one(out, "Reason", t->reason);
}

int trailers_is_record_action(const char *action)
{
	return record_action_from_name(action) >= 0;
}
