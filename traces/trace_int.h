/*
 * trace_int.h - the loaded trace, and the hooks a run calls (internal).
 */
#ifndef STEPPER_TRACE_INT_H
#define STEPPER_TRACE_INT_H

#include "trace.h"
#include "stepper_int.h"

typedef struct stp__tevent {
	int thread;
	size_t step;      /* index in the thread's order */
	int has_mono, has_virt;
	uint64_t mono_ns, virt_ns;
} stp__tevent;

struct stp_trace {
	char *source;
	char *library;    /* "stepper" field: the version that wrote it */
	uint64_t seed;
	stp_mode mode;
	char *strategy;
	unsigned stall_ms;
	size_t nthreads;
	char **names;
	char ***orders;
	size_t *nsteps;
	size_t nsched;
	int *sched;
	size_t *sched_step;
	int has_outcome;
	char *outcome;
	size_t nevents;
	stp__tevent *events;
	size_t nerrors;
	char **errors;
};

/* Largest trace file the loader reads. */
#define STP__TRACE_MAX_BYTES (64u << 20)

/* Name of an outcome, as traces write it. */
const char *stp__outcome_name(enum stp__outcome o);

#endif
