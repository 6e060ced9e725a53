/*
 * utf8.c - checking and repairing UTF-8, so that every string a trace
 * holds is one JSON can carry (jansson refuses anything else).
 */
#include "base.h"

#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at p (n bytes left), or 0.
 * Well-formed as in Unicode's table 3-7: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static size_t seq_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		lo = c == 0xE0 ? 0xA0 : 0x80;
		hi = c == 0xED ? 0x9F : 0xBF;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		lo = c == 0xF0 ? 0x90 : 0x80;
		hi = c == 0xF4 ? 0x8F : 0xBF;
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return len;
}

int stp__utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	while (n > 0) {
		size_t k = seq_len(p, n);
		if (k == 0)
			return 0;
		p += k;
		n -= k;
	}
	return 1;
}

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

char *stp__utf8_repair(const char *s, size_t max, const char *marker)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), o = 0, cut = strlen(marker);
	/* every byte becomes at most 3 */
	size_t cap = (n < max ? n : max) * 3 + cut + 1;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t keep = max > cut ? max - cut : 0; /* room when cutting */
	size_t at_keep = 0; /* output length at the last boundary <= keep */
	while (n > 0) {
		size_t k = seq_len(p, n);
		const char *from = k ? (const char *)p : replacement;
		size_t w = k ? k : 3;
		if (o + w > max) { /* too long: cut at a character boundary */
			memcpy(out + at_keep, marker, cut);
			out[at_keep + cut] = '\0';
			return out;
		}
		memcpy(out + o, from, w);
		o += w;
		if (o <= keep)
			at_keep = o;
		p += k ? k : 1;
		n -= k ? k : 1;
	}
	out[o] = '\0';
	return out;
}
