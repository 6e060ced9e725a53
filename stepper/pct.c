/*
 * pct.c - the pct strategy: probabilistic concurrency testing (Burckhardt,
 * Kothari, Musuvathi, Nagarakatte, ASPLOS 2010), depth D ("pct:D",
 * default 3).
 *
 * Before the run every thread gets a distinct priority: a random
 * permutation of D .. D+n-1 (higher goes first). Then min(D-1, L) distinct
 * change points are drawn uniformly from [1, L], where L is the run's
 * expected number of decisions with two or more enabled threads (length()
 * below). Only such decisions are counted, from 1; the others are not
 * asked. At a counted decision whose number is the j-th change point
 * (j from 0), the deciding thread (the one that ran last, c->current,
 * enabled or not) drops to priority D-1-j, below every other thread; then,
 * at every decision, the enabled thread with the highest priority goes.
 *
 * A bug that needs d ordering constraints is found by one run with
 * probability at least 1/(n * k^(d-1)) for n threads and k steps when
 * D >= d (the paper's Theorem 9).
 *
 * Everything comes from one stream seeded with opt.seed, drawn in this
 * order: the permutation (Fisher-Yates: for i = n-1 down to 1, swap
 * slot i with slot below(i+1); slot k's thread gets D+k), then the change
 * points (1 + below(L) each, a repeated value drawn again), sorted.
 * tests/golden/gen_pct.py is an independent implementation of all this.
 */
#include "stepper_int.h"

#include <stdlib.h>

/* L for a run with a free thread outside a loop, or on a loop's first
 * run: nothing has been seen yet. */
#define PCT_DEFAULT_LENGTH 100

struct pct {
	stp__rng rng;
	unsigned long prio[STP_MAX_THREADS];
	size_t points[STP__PCT_MAX_DEPTH]; /* ascending */
	size_t npoints, next;              /* next: the first not reached */
	size_t count;                      /* decisions counted so far */
	size_t length;                     /* L */
	unsigned long low;                 /* the next demoted priority */
};

/* L: with every thread declared, the declared steps together (lock and
 * wait points are not counted ahead), so a seed alone gives the schedule.
 * With a free thread, the most counted decisions of a run so far in this
 * seed loop, at least the declared steps; PCT_DEFAULT_LENGTH when none
 * was seen (the loop's first run, or no loop). */
static size_t length(const stp_stepper *s, const char **why)
{
	size_t declared = 0;
	int any_free = 0;
	for (int i = 0; i < s->nthreads; i++) {
		if (s->threads[i]->is_free)
			any_free = 1;
		else
			declared += s->threads[i]->nsteps;
	}
	size_t seen = s->explore ? s->explore->longest : 0;
	*why = !any_free ? "the declared steps"
	       : seen	 ? "the longest run of this loop so far"
			 : "the default for free threads";
	if (!any_free)
		return declared;
	if (!seen)
		seen = PCT_DEFAULT_LENGTH;
	return seen > declared ? seen : declared;
}

static void draw_points(struct pct *p, size_t want)
{
	while (p->npoints < want) {
		size_t x = 1 + (size_t)stp__rng_below(&p->rng, p->length);
		size_t k = p->npoints;
		int dup = 0;
		for (size_t i = 0; i < k; i++)
			dup |= p->points[i] == x;
		if (dup)
			continue;
		while (k > 0 && p->points[k - 1] > x) {
			p->points[k] = p->points[k - 1];
			k--;
		}
		p->points[k] = x;
		p->npoints++;
	}
}

static void debug_begin(const stp_stepper *s, const struct pct *p, const char *why)
{
	FILE *f = s->opt.log;
	fprintf(f, "pct: depth %lu, length %zu (%s), change points", s->strat.param,
		p->length, why);
	for (size_t i = 0; i < p->npoints; i++)
		fprintf(f, " %zu", p->points[i]);
	fprintf(f, "%s; priorities", p->npoints ? "" : " none");
	for (int i = 0; i < s->nthreads; i++)
		fprintf(f, "%s [%s] %lu", i ? "," : "", s->threads[i]->name, p->prio[i]);
	fputc('\n', f);
}

static int pct_begin(stp_stepper *s)
{
	struct pct *p = calloc(1, sizeof *p);
	if (!p) {
		stp__error(s, STP__OUT_FAIL, "out of memory starting strategy %s",
			   s->strat.text);
		return STP_ENOMEM;
	}
	unsigned long d = s->strat.param;
	int perm[STP_MAX_THREADS];
	stp__rng_seed(&p->rng, s->opt.seed);
	for (int i = 0; i < s->nthreads; i++)
		perm[i] = i;
	for (int i = s->nthreads - 1; i > 0; i--) {
		int j = (int)stp__rng_below(&p->rng, (uint64_t)i + 1);
		int x = perm[i];
		perm[i] = perm[j];
		perm[j] = x;
	}
	for (int k = 0; k < s->nthreads; k++)
		p->prio[perm[k]] = d + (unsigned long)k;
	p->low = d - 1;
	const char *why;
	p->length = length(s, &why);
	draw_points(p, d - 1 < p->length ? d - 1 : p->length);
	s->src_state = p;
	if (s->opt.debug)
		debug_begin(s, p, why);
	return 0;
}

static int pct_pick(stp_stepper *s, const stp__choice *c)
{
	struct pct *p = s->src_state;
	p->count++;
	if (p->next < p->npoints && p->points[p->next] == p->count) {
		p->next++;
		if (c->current >= 0)
			p->prio[c->current] = p->low--;
		if (s->opt.debug && c->current >= 0)
			fprintf(s->opt.log, "pct: change point %zu at decision %zu: [%s] "
					    "drops to priority %lu\n",
				p->count, c->decision + 1, s->threads[c->current]->name,
				p->low + 1);
	}
	int best = c->enabled[0];
	for (int k = 1; k < c->n; k++)
		if (p->prio[c->enabled[k]] > p->prio[best])
			best = c->enabled[k];
	return best;
}

/* The run's counted decisions tell the loop's next runs how long a run
 * is (a free thread's L grows when a run goes past it). */
static void pct_end(stp_stepper *s)
{
	struct pct *p = s->src_state;
	if (!p)
		return;
	if (s->explore && p->count > s->explore->longest)
		s->explore->longest = p->count;
	free(p);
}

const stp__source stp__pct_source = { .name = "pct",
				      .pick = pct_pick,
				      .begin = pct_begin,
				      .end = pct_end };
