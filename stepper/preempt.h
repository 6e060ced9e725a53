/*
 * preempt.h - the source shrinking replays with (internal): a default
 * policy plus a list of switches, each anchored by names.
 *
 * The default policy keeps running the thread that decides while it can
 * go on; when it blocked or ended, the lowest-numbered enabled thread
 * goes. A switch overrides one decision: when its anchor comes up (the
 * deciding thread, the point it is at and how many times it had been at
 * that point before, all by name) and its target can go on, the target
 * goes; a preemption whose target cannot go on there still leaves the
 * deciding thread, to the lowest-numbered other enabled thread (a switch
 * is first "not this one on"). A switch whose anchor thread could have
 * gone on is a preemption;
 * one taken where it had blocked or ended is a free choice, which costs
 * nothing in a preemption bound. Anchors are names, not decision numbers,
 * so a switch keeps its place when other switches come and go.
 *
 * The source is not a strategy users can name (stp_options.strategy):
 * the shrinker (stepper/wire/shrink.c) sets s->preempts and the run's
 * interleave hook (stp__preempt_interleave) before the body runs.
 */
#ifndef STEPPER_PREEMPT_H
#define STEPPER_PREEMPT_H

#include "stepper_int.h"

/* Where a decision was taken: thread NULL for a decision no thread took
 * (a timeout on the run's clock: occ counts those); point NULL when the
 * thread had ended (occ 1). occ counts from 1: the occ-th time the thread
 * is at point. */
typedef struct stp__anchor {
	const char *thread;
	const char *point;
	size_t occ;
} stp__anchor;

typedef struct stp__switch {
	stp__anchor at;
	const char *to;  /* the thread that goes instead */
	int preempt;     /* the anchor's thread could have gone on (when made) */
} stp__switch;

/* One decision of a run under this source. point is interned in the run's
 * stepper (it lives as long as that stepper). */
typedef struct stp__pdecision {
	int current;       /* the deciding thread, -1: none */
	const char *point; /* its point; NULL: it ended, or none decided */
	size_t occ;
	int current_enabled; /* it could have gone on */
	int dflt;          /* the default policy's choice */
	int chosen;
	int nenabled;
} stp__pdecision;

/* What a run takes (sw, or follow) and what it gives back (the rest).
 * Owned by the caller; attach it with s->preempts before stp_interleave
 * or stp_run, and read it after stp_run. */
typedef struct stp__preempts {
	const stp__switch *sw; /* the switches (NULL with nsw 0: the default) */
	size_t nsw;
	const int *follow;     /* instead: take these threads in order, as
				* recorded (NULL: use sw) */
	size_t nfollow;
	stp__pdecision *dec;   /* every decision of the run, malloc'ed */
	size_t ndec, capdec;
	size_t hits;           /* switches whose anchor came up, target enabled */
	int used;              /* this source decided the run */
	int diverged;          /* follow: a recorded thread could not go on */
	int nomem;             /* a decision could not be recorded */
} stp__preempts;

/* The source itself (strategy.c returns it for STP__ST_PREEMPT). */
extern const stp__source stp__preempt_source;

/* The run's interleave hook: decide with the preempt source, from
 * s->preempts (which must be set). */
int stp__preempt_interleave(stp_stepper *s);
/* Drop what a run gave back (dec), keeping the input. */
void stp__preempts_reset(stp__preempts *p);
/* Preemptions among p's decisions (the thread that decided could have
 * gone on, and another went), and switches (another went). */
size_t stp__preempts_count(const stp__preempts *p, size_t *switches);

/* How many times each thread was at each point name: an occurrence
 * count (names compared as strings; the caller keeps them alive). */
typedef struct stp__counter stp__counter;
stp__counter *stp__counter_new(void); /* NULL when out of memory */
size_t stp__counter_get(const stp__counter *c, int thread, const char *name);
/* Count one more; the new count, 0 when out of memory. */
size_t stp__counter_add(stp__counter *c, int thread, const char *name);
void stp__counter_free(stp__counter *c);

/* For each entry k of s's log (an online run's): occ[k], the how-many-th
 * time its thread was at its point, from 1; from_occ[k], the same of
 * where its decider was (current_at), 0 when it had ended or none
 * decided. 0, or STP_ENOMEM. */
int stp__log_occurrences(const stp_stepper *s, size_t *occ, size_t *from_occ);

/* stp__failure_signature (what "fails the same way" compares) is in base.h. */

#endif
