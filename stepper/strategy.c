/*
 * strategy.c - choosing the schedule.
 *
 * "Who runs next" is one question, asked once per schedule position with
 * the number of steps each thread has left. The random strategy answers it
 * by drawing a thread with probability proportional to its steps left,
 * which makes every interleaving of the declared orders equally likely:
 * the number of interleavings that start with thread i is proportional to
 * the steps i has left.
 */
#include "stepper_int.h"

#include <stdlib.h>

typedef struct strategy {
	const char *name;
	void *state;
	/* Pick a thread among those with left[i] > 0; total is their sum. */
	int (*pick)(void *state, const size_t *left, int n, size_t total);
} strategy;

static int pick_random(void *state, const size_t *left, int n, size_t total)
{
	uint64_t r = stp__rng_below(state, total);
	for (int i = 0; i < n; i++) {
		if (r < left[i])
			return i;
		r -= left[i];
	}
	return n - 1; /* not reached: r < total */
}

void stp__index_schedule(stp_stepper *s)
{
	for (size_t k = 0; k < s->nsched; k++)
		s->threads[s->sched[k]]->entry_of[s->sched_step[k]] = k;
}

/* Allocate sched, sched_step, entry_of and events for the declared orders. */
static int alloc_schedule(stp_stepper *s, size_t *total)
{
	size_t n = 0;
	for (int i = 0; i < s->nthreads; i++)
		n += s->threads[i]->nsteps;
	int *sched = calloc(n, sizeof *sched);
	size_t *step = calloc(n, sizeof *step);
	if (!sched || !step)
		goto nomem;
	for (int i = 0; i < s->nthreads; i++) {
		struct stp__thread *t = s->threads[i];
		if (!t->entry_of)
			t->entry_of = calloc(t->nsteps, sizeof *t->entry_of);
		if (!t->times)
			t->times = calloc(t->nsteps, sizeof *t->times);
		if (!t->vtimes)
			t->vtimes = calloc(t->nsteps, sizeof *t->vtimes);
		if (!t->entry_of || !t->times || !t->vtimes)
			goto nomem;
	}
	free(s->sched);
	free(s->sched_step);
	s->sched = sched;
	s->sched_step = step;
	s->nsched = n;
	*total = n;
	return 0;
nomem:
	free(sched);
	free(step);
	return STP_ENOMEM;
}

static int build(stp_stepper *s, const strategy *st)
{
	size_t total;
	int rc = alloc_schedule(s, &total);
	if (rc < 0)
		return rc;
	size_t left[STP_MAX_THREADS];
	for (int i = 0; i < s->nthreads; i++)
		left[i] = s->threads[i]->nsteps;
	for (size_t k = 0; k < s->nsched; k++) {
		int i = st->pick(st->state, left, s->nthreads, total);
		s->sched[k] = i;
		s->sched_step[k] = s->threads[i]->nsteps - left[i];
		left[i]--;
		total--;
	}
	stp__index_schedule(s);
	s->strategy = st->name;
	return 0;
}

int stp__interleave_random(stp_stepper *s)
{
	stp__rng rng;
	stp__rng_seed(&rng, s->opt.seed);
	strategy st = { "random", &rng, pick_random };
	return build(s, &st);
}

int stp_set_schedule(stp_stepper *s, const int *threads, size_t n)
{
	if (!s || !threads || s->nthreads == 0)
		return STP_EINVAL;
	if (s->phase != STP__NEW)
		return STP_ESTATE;
	int rc = stp__any_free(s)
			 ? stp__set_recorded(s, threads, NULL, n, "schedule")
			 : stp__set_schedule(s, threads, n);
	if (rc == 0)
		s->strategy = "explicit";
	s->interleaved = rc == 0;
	return rc;
}

int stp__set_schedule(stp_stepper *s, const int *threads, size_t n)
{
	size_t total;
	int rc = alloc_schedule(s, &total);
	if (rc < 0)
		return rc;
	if (n != total)
		return STP_EMISMATCH;
	size_t seen[STP_MAX_THREADS] = { 0 };
	for (size_t k = 0; k < n; k++) {
		int i = threads[k];
		if (i < 0 || i >= s->nthreads || seen[i] >= s->threads[i]->nsteps)
			return STP_EMISMATCH;
		s->sched[k] = i;
		s->sched_step[k] = seen[i]++;
	}
	for (int i = 0; i < s->nthreads; i++)
		if (seen[i] != s->threads[i]->nsteps)
			return STP_EMISMATCH;
	stp__index_schedule(s);
	s->strategy = "replay";
	return 0;
}
