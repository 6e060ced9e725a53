/*
 * fs.c - files and command lines: mkdir -p, shell quoting.
 */
#include "base.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int stp__mkdirs(const char *dir)
{
	char buf[4096];
	if (!dir || !*dir || snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
		errno = dir && *dir ? ENAMETOOLONG : EINVAL;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0777) != 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (stat(buf, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

static int plain_word(const char *a)
{
	size_t n = strlen(a);
	return n > 0 && strspn(a, "abcdefghijklmnopqrstuvwxyz"
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "0123456789-_./=:,+@%") == n;
}

char *stp__quote_argv(char *const argv[])
{
	size_t cap = 1;
	for (size_t i = 0; argv[i]; i++)
		cap += 4 * strlen(argv[i]) + 3;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t len = 0;
	for (size_t i = 0; argv[i]; i++) {
		int plain = plain_word(argv[i]);
		if (i)
			out[len++] = ' ';
		if (!plain)
			out[len++] = '\'';
		for (const char *c = argv[i]; *c; c++) {
			if (*c == '\'' && !plain) {
				memcpy(out + len, "'\\''", 4);
				len += 4;
			} else {
				out[len++] = *c;
			}
		}
		if (!plain)
			out[len++] = '\'';
	}
	out[len] = '\0';
	return out;
}
