/*
 * shrink.h - shrinking a failing schedule (internal to stepper/wire/;
 * README "Shrinking").
 *
 * The algorithm (shrink.c) exists once and asks an oracle: "replay these
 * switches: did it fail the same way, with which decisions?". Two oracles
 * answer: in process, a seed loop's body replayed on a new stepper
 * (shrink.c, stp__shrink); and in processes of a command, one per replay,
 * several at once (shrink_cmd.c, stp_shrink_trace: `stepper shrink`).
 */
#ifndef STEPPER_SHRINK_H
#define STEPPER_SHRINK_H

#include <stdio.h>

#include "stepper_int.h"
#include "preempt.h"
#include "trace_int.h"

/* What shrinking found, for the report. */
typedef struct stp__shrunk stp__shrunk;

/* One replay: what it was given and what it did. */
typedef struct stp__srun {
	/* given (not owned): p.sw/p.nsw, or p.follow/p.nfollow */
	stp__preempts p;  /* and back: p.dec (owned), used, nomem, ... */
	stp_stepper *s;   /* in process: the run (owned); else NULL */
	stp_trace *t;     /* from a process: the trace it wrote (owned); else NULL */
	char *names;      /* a process's decisions' point names (owned) */
	int same;         /* it failed the same way as the failing run */
	int failed;       /* it failed at all */
	int fatal;        /* no replay could be made (memory, a process that
			   * does not start): shrinking stops, what says why */
	char what[320];   /* not the same: what it did ("it passed") */
} stp__srun;

/* Where replays come from. replay fills runs[0..n) (n <= jobs), whose
 * input is set, and may make them at once; the caller frees each with
 * stp__srun_free. */
typedef struct stp__oracle {
	void (*replay)(void *self, stp__srun *runs, size_t n);
	void *self;
	size_t jobs;      /* replays at once, >= 1 */
	uint64_t max_replays;
	double max_secs;
} stp__oracle;

void stp__srun_free(stp__srun *r);

/* Shrink with oracle o the failing run whose decisions follow[0..n)
 * are (the first replay follows them), and write the shrunk trace beside
 * trace ("": none); first_error is the failing run's first error (""
 * none), for the report. Never NULL but out of memory; why says when it
 * was not shrunk. */
stp__shrunk *stp__shrink_with(const stp__oracle *o, const int *follow, size_t n,
			      const char *trace, const char *first_error);

/* A seed loop's failing run failed, made by body(arg) on a stepper with the
 * options o (the seed's), whose trace is at trace ("" when none was
 * written): replay it with fewer preemptions while it fails the same
 * way, within the budget of STEPPER_SHRINK_REPLAYS and
 * STEPPER_SHRINK_SECONDS, and write the shrunk trace beside trace. NULL
 * when shrinking is off (STEPPER_SHRINK=0, or a quiet loop without
 * STEPPER_SHRINK=1), when failed was a replay, or out of memory. On the
 * loop's thread; failed is only read. Free with stp__shrunk_free. */
stp__shrunk *stp__shrink(const stp_options *o, stp_stepper *failed, int body_rc,
			 stp_body_fn body, void *arg, const char *trace, int quiet);

/* A shrunk result that says why nothing was shrunk (why copied). NULL
 * when out of memory. */
stp__shrunk *stp__shrunk_not(const char *why);

/* The report's part: how far it shrank, the shrunk order, the critical
 * pair and the command that replays the shrunk trace: "replay shrunk:
 * " before TRACE after (in a loop: "STEPPER_REPLAY=", " CMD"), or why it
 * was not shrunk. */
void stp__shrunk_print_as(FILE *out, const stp__shrunk *r, const char *before,
			  const char *after);
/* The loop's: before "STEPPER_REPLAY=", after " " cmd (the test's command
 * line). */
void stp__shrunk_print(FILE *out, const stp__shrunk *r, const char *cmd);

/* The shrunk trace's path ("" when none was written). */
const char *stp__shrunk_trace(const stp__shrunk *r);
/* Why it was not shrunk ("" when it was). */
const char *stp__shrunk_why(const stp__shrunk *r);
/* Preemptions before and after. */
size_t stp__shrunk_from(const stp__shrunk *r);
size_t stp__shrunk_to(const stp__shrunk *r);

void stp__shrunk_free(stp__shrunk *r);

/* shrink_cmd.c: a process's run written as a shrunk trace at path (its
 * anchors from its decisions, "strategy": "shrunk"). 0, or a negative
 * STP_E* (STP_EIO: errno). */
int stp__srun_save(const stp__srun *r, const char *path);
/* shrink_cmd.c: print a process's run's order as stp_print_order does. */
void stp__srun_print_order(const stp__srun *r, FILE *out);

/* shrink_cmd.c, the process's side of `stepper shrink`: is
 * STEPPER_SHRINK_CANDIDATE set (with STEPPER_REPLAY)? Then the wiring
 * takes these hooks for the replay instead of the trace's: the run is
 * decided by the preempt source with the candidate's switches (or
 * following the trace), and its decisions are written at its end. */
int stp__shrink_candidate_wanted(void);
int stp__shrink_candidate_interleave(stp_stepper *s);
void stp__shrink_candidate_run_end(stp_stepper *s);

#endif
