/*
 * stepper_int.h - the stepper's internal structures, shared by the files of
 * stepper/ and by the modules that hook into a run (traces, clock).
 */
#ifndef STEPPER_STEPPER_INT_H
#define STEPPER_STEPPER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>

#include "stepper.h"
#include "handoff.h"
#include "prng.h"

/* Where a controlled thread is, as the stall report shows it. */
enum stp__tstate {
	STP__T_IDLE,    /* not started */
	STP__T_PREFIX,  /* running before its first step */
	STP__T_PARKED,  /* waiting at a step for its turn */
	STP__T_RUNNING, /* running after a step */
	STP__T_ENDED
};

/* A controlled thread: its declaration and, during a run, its position. */
struct stp__thread {
	stp_stepper *s;
	int index;
	char *name;
	char **order;       /* nsteps step names, owned */
	size_t nsteps;
	size_t *entry_of;   /* schedule index of each step, after interleave */
	void (*fn)(void *);
	void *arg;

	stp__sem sem;                /* granted its turn (or the run aborted) */
	atomic_size_t passed;        /* steps passed */
	atomic_int state;            /* enum stp__tstate */
	atomic_int ended;
};

/* One step as it happened. */
typedef struct stp__event {
	int thread;
	size_t step;       /* index in the thread's order */
	uint64_t mono_ns;  /* CLOCK_MONOTONIC, since the run started */
	uint64_t virt_ns;  /* the run's virtual clock, when one is in use */
} stp__event;

/* Outcome of a run, as traces name it. */
enum stp__outcome {
	STP__OUT_NONE, /* not run */
	STP__OUT_PASS,
	STP__OUT_FAIL,
	STP__OUT_DIVERGENCE,
	STP__OUT_STALL
};

enum stp__phase { STP__NEW, STP__RUNNING, STP__DONE };

struct stp_stepper {
	stp_options opt;
	char *opt_strings; /* copies of the option strings, one block */
	atomic_int refs;   /* the test's reference and one per running thread */

	struct stp__thread *threads[STP_MAX_THREADS];
	int nthreads;

	/* The schedule: thread and step index of every entry. */
	int *sched;
	size_t *sched_step;
	size_t nsched;
	int interleaved;
	const char *strategy; /* "random" or "replay" */
	void *replay;         /* loaded trace when replaying (traces/) */
	void (*replay_free)(void *);

	enum stp__phase phase;

	/* Run state. In serial mode only the thread holding the turnstile
	 * writes next and prefix_next; the grant (a release/acquire pair on the
	 * next holder's semaphore) carries them to it. */
	atomic_size_t next;   /* next schedule entry to pass */
	atomic_int prefix_next; /* serial: next thread whose prefix runs */
	atomic_int aborted;
	atomic_uint_fast64_t progress_ns; /* last step passed or thread ended */
	uint64_t start_ns;
	stp__event *events;
	atomic_size_t nevents;

	/* Guards errors, ended and the stall watchdog's wait. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int nended;
	char **errors;
	size_t nerrors, caperrors;
	enum stp__outcome outcome;
};

/* Monotonic nanoseconds. */
uint64_t stp__mono_ns(void);

/* Record an error (thread-safe); outcome is raised to at least out. */
void stp__error(stp_stepper *s, enum stp__outcome out, const char *fmt, ...)
	STP_PRINTF(3, 4);
void stp__verror(stp_stepper *s, enum stp__outcome out, const char *fmt,
		 va_list ap);
/* Abort the schedule: no step waits from now on; wake every thread. */
void stp__abort(stp_stepper *s);
void stp__unref(stp_stepper *s);

/* A malloc'ed printf; NULL when out of memory. */
char *stp__strdupf(const char *fmt, ...) STP_PRINTF(1, 2);
char *stp__vstrdupf(const char *fmt, va_list ap);
char *stp__strdup(const char *s);

/* Build the schedule with the random strategy from s->opt.seed. */
int stp__interleave_random(stp_stepper *s);
/* Fill entry_of from sched/sched_step. */
void stp__index_schedule(stp_stepper *s);
/* Take a schedule given as thread indices (replay). STP_EMISMATCH when it
 * does not fit the declared orders. */
int stp__set_schedule(stp_stepper *s, const int *threads, size_t n);

/* Worker pool: run fn(arg) on a reused OS thread. */
typedef struct stp__worker stp__worker;
int stp__pool_get(stp__worker **w);
void stp__pool_start(stp__worker *w, void (*fn)(void *), void *arg);
void stp__pool_put_unused(stp__worker *w);

/* Helpers for the position text used by reports: "'name' (k/n)". */
const char *stp__step_name(const struct stp__thread *t, size_t k);

#endif
