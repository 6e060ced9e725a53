/*
 * signature.c - what "the same failure" compares: the outcome and the
 * first error with its numbers masked (counts, times, addresses), but not
 * inside [thread] and 'step' names nor file:line positions; a deadlock up
 * to its cycle. Shrinking, lenient replay and `stepper replay --lenient`
 * all compare failures this way.
 */
#include "base.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Is the digit run at i a line number ("bank.c:42"): after a ':' that
 * follows a file name with an extension? */
static int line_number(const char *text, size_t i)
{
	if (i < 2 || text[i - 1] != ':')
		return 0;
	for (size_t p = i - 1; p-- > 0;) {
		unsigned char c = (unsigned char)text[p];
		if (!isalnum(c) && !strchr("_./-+", c))
			return 0;
		if (c == '.' && isalpha((unsigned char)text[p + 1]))
			return 1;
	}
	return 0;
}

/* The length of the number at i (decimal, or 0x and hex digits). */
static size_t number_at(const char *text, size_t i)
{
	size_t n = 0;
	if (text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X') &&
	    isxdigit((unsigned char)text[i + 2])) {
		n = 2;
		while (isxdigit((unsigned char)text[i + n]))
			n++;
		return n;
	}
	while (isdigit((unsigned char)text[i + n]))
		n++;
	return n;
}

/* text (len bytes) with each number outside [thread] and 'name' made
 * '#', line numbers kept. NULL when out of memory. */
static char *masked(const char *text, size_t len)
{
	char *out = malloc(len + 1);
	size_t n = 0;
	int bracket = 0, quote = 0;
	for (size_t i = 0; out && i < len;) {
		char c = text[i];
		int starts = isdigit((unsigned char)c) && !bracket && !quote &&
			     (i == 0 || !(isalnum((unsigned char)text[i - 1]) || text[i - 1] == '_'));
		if (starts && !line_number(text, i)) {
			i += number_at(text, i);
			out[n++] = '#';
			continue;
		}
		if (c == '[' && !quote)
			bracket = 1;
		else if (c == ']' && !quote)
			bracket = 0;
		else if (c == '\'' && !bracket)
			quote = !quote;
		out[n++] = c;
		i++;
	}
	if (out)
		out[n] = '\0';
	return out;
}

char *stp__failure_signature(const char *outcome, const char *first_error)
{
	size_t len = strlen(first_error);
	const char *cut = strstr(first_error, "\n  the other threads:");
	if (!cut)
		cut = strstr(first_error, "\n  every thread:");
	if (cut && strncmp(first_error, "deadlock:", 9) == 0)
		len = (size_t)(cut - first_error);
	char *m = masked(first_error, len);
	char *sig = m ? stp__strdupf("%s: %s", outcome, m) : NULL;
	free(m);
	return sig;
}
