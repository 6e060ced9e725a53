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

/* Shrinking in a seed loop (stepper/wire/shrink.c): STEPPER_SHRINK (0
 * off, 1 on even in a quiet loop; unset: on unless the loop is quiet),
 * STEPPER_SHRINK_REPLAYS and STEPPER_SHRINK_SECONDS (the budget). A
 * malformed value is reported once on stderr and the default kept. */
typedef struct stp__shrink_env {
	int on;            /* -1 (the default), 0 or 1 */
	uint64_t replays;  /* at most this many replays (default 2000) */
	double seconds;    /* and this much time (default 10) */
} stp__shrink_env;

#define STP__SHRINK_REPLAYS 2000
#define STP__SHRINK_SECONDS 10.0

void stp__shrink_env_get(stp__shrink_env *e);

/* STEPPER_REPLAY_LENIENT=1: a replay of a version 2 trace applies its
 * recorded switches where their anchors come up (traces/replay.c). */
int stp__replay_lenient(void);

/* STEPPER_FIBERS: 1 runs every run that can have it as fibers
 * (stp_set_fibers); 0, unset or empty: OS threads; anything else is
 * reported once and taken as 0. */
int stp__env_fibers(void);
/* STEPPER_ON_STALL (fail, the default, or release) and STEPPER_ESCAPE_MS
 * (default 100): what a program's run does with a thread that makes no
 * pthread call for that long (stepper_int.h, s->release). */
void stp__release_options(int *release, unsigned *escape_ms);

#endif
