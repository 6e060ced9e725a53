/*
 * condhook.h - how a condition wait on a controlled thread reaches the
 * stepper's core without the clock module (scheduler/, which owns
 * stp_cond_*) knowing the core.
 *
 * While a controlled thread runs in a run that decides at every hand-off,
 * the core points stp__cond_self at its operations; stp_cond_* call them
 * first. A hook returns STP__COND_PASS for a call it leaves to the caller
 * (then the clock or pthread waits as before).
 */
#ifndef STEPPER_CONDHOOK_H
#define STEPPER_CONDHOOK_H

#include <pthread.h>
#include <stdint.h>

#define STP__COND_PASS 1

typedef struct stp__cond_hook {
	/* A wait: timed with ns, or not. 0, STP_ETIMEDOUT, STP_EDEADLOCK,
	 * STP_EPERM, or STP__COND_PASS. */
	int (*wait)(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t ns,
		    int timed, const char *file, int line);
	/* A signal (all == 0) or a broadcast: 0 or STP__COND_PASS. */
	int (*wake)(pthread_cond_t *cv, int all, const char *file, int line);
	/* A sleep on the run's clock: 0, STP_EDEADLOCK or STP__COND_PASS. */
	int (*sleep)(uint64_t ns);
} stp__cond_hook;

/* The calling thread's hook; NULL on every thread the core does not
 * control. */
extern _Thread_local const stp__cond_hook *stp__cond_self;

#endif
