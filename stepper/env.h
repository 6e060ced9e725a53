/*
 * env.h - checks of the STEPPER_* environment beyond stp_options_init
 * (internal; parsing itself is in base.h).
 */
#ifndef STEPPER_ENV_H
#define STEPPER_ENV_H

#include <stddef.h>
#include <stdint.h>

/* A loop's seed variables: 0 when STEPPER_SEEDS and STEPPER_SEED are
 * unset, empty or well-formed; else STP_EINVAL and why names the variable,
 * its value and what is accepted. */
int stp__loop_env_check(char *why, size_t size);

#endif
