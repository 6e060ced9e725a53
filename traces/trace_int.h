/*
 * trace_int.h - the loaded trace, and the hooks a run calls (internal).
 */
#ifndef STEPPER_TRACE_INT_H
#define STEPPER_TRACE_INT_H

#include "trace.h"
#include "stepper_int.h"

/* What a version 2 or 3 entry is: a step, or one of the stepper's lock
 * and wait points (FORMAT.md, "Kinds"); version 3 adds "point". Version 1
 * entries are all steps. */
enum stp__kind {
	STP__K_STEP,
	STP__K_LOCK,
	STP__K_TRYLOCK,
	STP__K_UNLOCK,
	STP__K_WAIT,      /* wait(cv#N) or timedwait(cv#N): the wait starts */
	STP__K_WAKE,      /* the wait returns */
	STP__K_SIGNAL,
	STP__K_BROADCAST,
	STP__K_SLEEP,     /* "sleep": a sleep on the run's clock, until its deadline */
	STP__K_POINT,     /* version 3: any other point of the stepper (a program's
			   * start, spawn, join, yield, exit, semaphore, rwlock,
			   * barrier and once points under --auto) */
	STP__K_COUNT
};

/* "step", "lock", ...; NULL out of range. */
const char *stp__kind_name(int kind);
/* The kind a name's shape says: "lock(m#3)" is a lock point, "wake(cv#1)"
 * a wake; any other name is a step. */
enum stp__kind stp__kind_of_name(const char *name);

typedef struct stp__tevent {
	int thread;
	size_t step;      /* a step: its index in the thread's steps (the
			   * declared order's, or a free thread's k-th step);
			   * a point: the steps the thread had passed */
	enum stp__kind kind;
	const char *name; /* the step's name, owned by the trace */
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
	int version;      /* 1: every thread declared, the plan; 2: what happened */
	size_t nthreads;
	char **names;
	char ***orders;   /* NULL for a free thread (version 2) */
	size_t *nsteps;   /* 0 for a free thread */
	int *is_free;
	size_t nsched;
	int *sched;
	size_t *sched_step;
	char **sched_names; /* version 2: each entry's step name, owned */
	unsigned char *sched_kind; /* version 2: each entry's enum stp__kind */
	unsigned char *sched_passed; /* version 2: 1 when an event is the entry */
	/* Version 2, optional per entry (FORMAT.md): how the entry came. */
	size_t *sched_occ;        /* the how-many-th time its thread was at its
				   * point; 0: not written */
	int *sched_from;          /* the thread that decided, when another: -1 none */
	char **sched_from_at;     /* where it was (NULL: it had ended), owned */
	size_t *sched_from_occ;   /* ... the how-many-th time */
	unsigned char *sched_preempt; /* 1: it could have gone on */
	/* A lenient replay's switches (replay.c), pointing into the above. */
	struct stp__switch *lenient_sw;
	size_t nlenient;
	struct stp__preempts *lenient;
	int has_outcome;
	size_t left_control; /* version 3: times a thread left control (0: none) */
	char *outcome;
	size_t nevents;
	stp__tevent *events;
	size_t nerrors;
	char **errors;
};

/* Limits shared by the writer and the loader: the writer never writes what
 * the loader would refuse (it cuts errors, or refuses the whole trace with
 * STP_ELIMIT), and the loader refuses anything beyond them before it keeps
 * it. The byte limit bounds what loading costs (see FORMAT.md). */
#define STP__TRACE_MAX_BYTES (16u << 20)     /* a trace file */
/* The most entries of a (not shrunk) version 2 trace that carry anchors:
 * some 60 bytes each at most, well inside the file's limit. */
#define STP__TRACE_ANCHORED 20000u
#define STP__TRACE_MAX_ENTRIES 100000u       /* schedule entries */
#define STP__TRACE_MAX_ERROR (1u << 20)      /* bytes of one error */
#define STP__TRACE_MAX_ERRORS 1000u          /* errors in one trace */
#define STP__TRACE_ERROR_BUDGET (4u << 20)   /* bytes of all errors */
#define STP__TRACE_MAX_STALL_MS 4294967295LL /* any unsigned stall limit */

/* What the writer appends to an error it cut to STP__TRACE_MAX_ERROR. */
#define STP__TRACE_CUT " [cut: a trace keeps 1 MiB of an error]"

/* A run's hooks (replay.c), which the wiring installs: take the schedule
 * from s->opt.replay; write the plan before a run and the document after
 * it; write it again when errors were added after the run. */
int stp__replay_interleave(stp_stepper *s);
/* Load s->opt.replay; NULL after recording on s why it cannot be used,
 * with *rc its code (STP_EPARSE, STP_EIO). The caller frees it. */
stp_trace *stp__replay_load(stp_stepper *s, int *rc);
void stp__trace_run_start(stp_stepper *s);
void stp__trace_run_end(stp_stepper *s);
void stp__trace_refresh(stp_stepper *s);
/* After a lenient replay (STEPPER_REPLAY_LENIENT=1) that body_rc ended:
 * into buf, how many recorded switches it applied and whether the
 * recorded failure came back (the same outcome and first error, numbers
 * masked: stp__failure_signature). 1 when it did, 0 when not, -1 when s
 * was not a lenient replay (buf untouched). */
int stp__replay_verdict(const stp_stepper *s, int body_rc, char *buf, size_t size);
/* Keep a loop's failing trace in the trace dir, in a new folder named
 * folder (path receives where, "" if nowhere). */
void stp__loop_keep_trace(stp_stepper *s, const char *folder, char *path,
			  size_t size);

/* Name of an outcome, as traces write it. */
const char *stp__outcome_name(enum stp__outcome o);

#endif
