/* base64.c - standard base64 encode and decode: see base64.h. */
#include "base64.h"

#include <stdint.h>

static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_encode(struct sbuf *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		sbuf_addc(out, tab[(v >> 18) & 63]);
		sbuf_addc(out, tab[(v >> 12) & 63]);
		sbuf_addc(out, i + 1 < len ? tab[(v >> 6) & 63] : '=');
		sbuf_addc(out, i + 2 < len ? tab[v & 63] : '=');
	}
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *s, struct sbuf *out)
{
	uint32_t acc = 0;
	int bits = 0;
	for (; *s && *s != '='; s++) {
		int v = b64val((unsigned char)*s);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			sbuf_addc(out, (char)((acc >> bits) & 0xff));
		}
	}
	for (; *s; s++)
		if (*s != '=')
			return -1;
	return 0;
}
