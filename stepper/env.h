/*
 * env.h - parsing numbers and seed ranges from the environment and the
 * command line (internal).
 */
#ifndef STEPPER_ENV_H
#define STEPPER_ENV_H

#include <stddef.h>
#include <stdint.h>

/* A decimal unsigned 64-bit number, digits only. STP_EINVAL for anything
 * else, STP_ERANGE when it does not fit. */
int stp__parse_u64(const char *text, uint64_t *out);
/* "N" (seeds 1..N, N >= 1) or "A..B" (A <= B): first seed and count. */
int stp__parse_range(const char *text, uint64_t *first, uint64_t *count);

/* A loop's seed variables: 0 when STEPPER_SEEDS and STEPPER_SEED are
 * unset, empty or well-formed; else STP_EINVAL and why names the variable,
 * its value and what is accepted. */
int stp__loop_env_check(char *why, size_t size);

#endif
