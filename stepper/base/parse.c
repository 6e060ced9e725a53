/*
 * parse.c - numbers and seed ranges, as the environment and the command
 * line give them.
 */
#include "base.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

int stp__parse_u64(const char *text, uint64_t *out)
{
	if (!text || !isdigit((unsigned char)text[0]))
		return STP_EINVAL;
	uint64_t v = 0;
	for (const char *p = text; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return STP_EINVAL;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return STP_ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int stp__parse_range(const char *text, uint64_t *first, uint64_t *count)
{
	if (!text)
		return STP_EINVAL;
	const char *dots = strstr(text, "..");
	uint64_t a, b;
	if (!dots) {
		int rc = stp__parse_u64(text, &b);
		if (rc < 0)
			return rc;
		if (b == 0)
			return STP_ERANGE;
		*first = 1;
		*count = b;
		return 0;
	}
	size_t n = (size_t)(dots - text);
	char left[32];
	if (n == 0 || n >= sizeof left)
		return STP_EINVAL;
	memcpy(left, text, n);
	left[n] = '\0';
	int rc = stp__parse_u64(left, &a);
	if (rc == 0)
		rc = stp__parse_u64(dots + 2, &b);
	if (rc < 0)
		return rc;
	if (b < a || (a == 0 && b == UINT64_MAX))
		return STP_ERANGE;
	*first = a;
	*count = b - a + 1;
	return 0;
}
