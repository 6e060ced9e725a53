/*
 * util.h - small helpers shared by the library and the CLI (internal).
 */
#ifndef STEPPER_UTIL_H
#define STEPPER_UTIL_H

/* mkdir -p. 0, or -1 with errno (ENOTDIR when a part is a file). */
int stp__mkdirs(const char *dir);

/* argv as one shell command line a person can paste: words that need it
 * are single-quoted. NULL-terminated argv; malloc'ed, the caller frees. */
char *stp__quote_argv(char *const argv[]);

#endif
