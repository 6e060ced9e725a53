/*
 * base.h - helpers every module of stepper uses (internal): monotonic
 * time, strings, number parsing, files. The base depends on nothing but
 * libc and error.h; every module may include it, and it includes no module.
 *
 * Also in the base: prng.h (the seeded PRNG) and handoff.h (the one-waiter
 * semaphore, the lock helpers and stp__panic).
 */
#ifndef STEPPER_BASE_H
#define STEPPER_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Monotonic nanoseconds (CLOCK_MONOTONIC). */
uint64_t stp__mono_ns(void);

/* A malloc'ed printf; NULL when out of memory. The caller frees. */
char *stp__strdupf(const char *fmt, ...) STP_PRINTF(1, 2);
char *stp__vstrdupf(const char *fmt, va_list ap);
/* A malloc'ed copy of s; NULL when out of memory or s is NULL. */
char *stp__strdup(const char *s);

/* What "fails the same way" compares: "OUTCOME: ERROR" with each number
 * of the error (decimal, or 0x and hex digits) outside a [thread] name
 * and a 'step' name made '#', but a line number after a file name
 * ("bank.c:42") kept; a deadlock's report cut after its cycle (where the
 * other threads were is not the failure). Malloc'ed; NULL when out of
 * memory (signature.c). */
char *stp__failure_signature(const char *outcome, const char *first_error);

/* A decimal unsigned 64-bit number, digits only. STP_EINVAL for anything
 * else, STP_ERANGE when it does not fit. */
int stp__parse_u64(const char *text, uint64_t *out);
/* "N" (seeds 1..N, N >= 1) or "A..B" (A <= B): first seed and count. */
int stp__parse_range(const char *text, uint64_t *first, uint64_t *count);

/* Is s well-formed UTF-8 (no overlong forms, no surrogates, nothing above
 * U+10FFFF)? */
int stp__utf8_valid(const char *s);
/* A malloc'ed copy of s that JSON can carry: each byte of an ill-formed
 * UTF-8 sequence becomes U+FFFD, and a result longer than max bytes is cut
 * at a character boundary and ends in marker (max must exceed the
 * marker's length). NULL when out of memory. */
char *stp__utf8_repair(const char *s, size_t max, const char *marker);

/* mkdir -p. 0, or -1 with errno (ENOTDIR when a part is a file). */
int stp__mkdirs(const char *dir);

/* argv as one shell command line a person can paste: words that need it
 * are single-quoted. NULL-terminated argv; malloc'ed, the caller frees. */
char *stp__quote_argv(char *const argv[]);

#endif
