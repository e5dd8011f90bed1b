/* err.c - struct tally_err and the class names (see err.h). Any thread. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const class_names[TC_CLASS_COUNT] = {
	[TC_NONE] = "none",
	[TC_RECIPE] = "recipe",
	[TC_NETWORK] = "network",
	[TC_RATE_LIMIT] = "rate-limit",
	[TC_MISSING_VERSION] = "missing-version",
	[TC_TOO_LARGE] = "too-large",
	[TC_AUTH] = "auth",
	[TC_TLS] = "tls",
	[TC_TIMEOUT] = "timeout",
	[TC_VERIFY] = "verify",
	[TC_RECORD] = "record",
	[TC_HELD] = "held",
	[TC_INTERNAL] = "internal",
	[TC_INPUT] = "input",
};

int tally_err_set(struct tally_err *err, enum tally_class cls, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	err->cls = cls;
	return -1;
}

int tally_err_prefix(struct tally_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char pre[512], old[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	old[sizeof old - 1] = '\0';
	/* a truncated message is still useful; assemble by hand so the
	 * compiler need not prove it fits */
	size_t cap = sizeof err->msg - 1, n = 0;
	const char *parts[3] = {pre, ": ", old};
	for (int i = 0; i < 3; i++) {
		size_t len = strlen(parts[i]);
		if (len > cap - n)
			len = cap - n;
		memcpy(err->msg + n, parts[i], len);
		n += len;
	}
	err->msg[n] = '\0';
	return -1;
}

void tally_err_clear(struct tally_err *err)
{
	if (err) {
		err->cls = TC_NONE;
		err->msg[0] = '\0';
	}
}

const char *tally_class_name(enum tally_class cls)
{
	if ((int)cls < 0 || cls >= TC_CLASS_COUNT)
		return "internal";
	return class_names[cls];
}

enum tally_class tally_class_from_name(const char *name)
{
	for (int i = 0; i < TC_CLASS_COUNT; i++)
		if (name && strcmp(name, class_names[i]) == 0)
			return (enum tally_class)i;
	return TC_CLASS_COUNT;
}
