/*
 * pct.c - the pct strategy: probabilistic concurrency testing (Burckhardt,
 * Kothari, Musuvathi, Nagarakatte, ASPLOS 2010), depth D ("pct:D",
 * default 3).
 *
 * Before the run every thread gets a distinct priority: a random
 * permutation of D .. D+n-1 (higher goes first). Then min(D-1, L) distinct
 * change points are drawn uniformly from [1, L] (L below). Counted are the
 * decisions with two or more enabled threads, from 1, except the run's
 * first decision: that one is taken by the thread whose prefix ran last,
 * not by the priorities, and lowering it there would only choose who
 * starts, which the random priorities already do. At a counted decision
 * whose number is the j-th change point (j from 0), the deciding thread
 * (the one that ran last, c->current, enabled or not) drops to priority
 * D-1-j, below every other thread; then, at every decision, the enabled
 * thread with the highest priority goes.
 *
 * L is the number of counted decisions PCT expects the run to have: the
 * paper's k, the steps of the run. It is measured in decisions of any
 * kind, forced ones too, after the first: a run's counted decisions
 * depend on its schedule, and PCT's own change points cut them short (a
 * lowered thread lets another run to its end, after which nothing is
 * counted), so the longest count seen stays below the decisions a bug
 * may need (zoo `rotate`: ~182 wanted, never more than L seen). All the
 * decisions are an upper bound of the counted ones of a run that long.
 *   - Every thread declared: the declared steps together, less one (lock
 *     and wait points are not counted ahead), so a seed alone gives the
 *     schedule.
 *   - A free thread in a seed loop: the most decisions after the first of
 *     a run so far in this loop, at least the declared steps less one.
 *   - A free thread on a loop's first run, or outside a loop: the
 *     declared steps less one if there are two or more, else 1. Nothing
 *     was seen; a short default lets a short run meet its change points
 *     (with 100, a run of a few decisions had none), and L grows in the
 *     run: when the count passes L, L doubles and the change points that
 *     did not fit in [1, L] (min(D-1, L) were drawn) are drawn over the
 *     new part (old L, new L]. For D = 3 the first run's points are the
 *     counted decisions 1 and 2.
 * L is at least 1.
 *
 * A bug that needs d ordering constraints, whose d-1 change points fall
 * on counted decisions up to L, is found by one run with probability at
 * least 1/(n * L^(d-1)) for n threads when D >= d; L, all the decisions
 * of a run, is at most the paper's k (its steps), so this is at least the
 * paper's 1/(n * k^(d-1)) (Theorem 9). A run that counts past L still
 * gets every change point: the ones that did not fit are drawn as L
 * grows.
 *
 * Everything comes from one stream seeded with opt.seed, drawn in this
 * order: the permutation (Fisher-Yates: for i = n-1 down to 1, swap
 * slot i with slot below(i+1); slot k's thread gets D+k), then the change
 * points (1 + below(L) each, a repeated value drawn again), sorted; at
 * each growth of L in the run, the points that now fit (old + 1 +
 * below(new - old) each, a repeated value drawn again).
 * tests/golden/gen_pct.py is an independent implementation of all this.
 */
#include "stepper_int.h"

#include <stdlib.h>
#include <string.h>

/* Each thread's priority and spin record. Threads that spin (a
 * sched_yield, a trylock bound to fail, reached again at the same call
 * site): each time, the thread drops below every thread that has not, the
 * latest lowest, so a spin loop lets the others go (Fray's rule, from the
 * second spin: a single yield before a racy read must not hide the race);
 * yielded 0: never. */
struct pct_thread {
	unsigned long prio;
	uint64_t yielded;
	unsigned spins;     /* spin points at its last spin site */
	char spin_site[64];
};

struct pct {
	stp__rng rng;
	struct pct_thread *th; /* one per thread of the run */
	int cap;               /* th's room; a run that makes threads grows it */
	int oom;               /* it could not: the next pick ends the run */
	size_t points[STP__PCT_MAX_DEPTH]; /* ascending */
	size_t npoints, want;              /* drawn so far; D-1 */
	size_t next;                       /* the first not reached */
	size_t count;                      /* decisions counted so far */
	size_t length;                     /* L */
	unsigned long low;                 /* the next demoted priority */
	uint64_t yields;                   /* spins that dropped a thread so far */
};

/* L of a program's run outside a loop: a few dozen pthread calls. */
#define PROGRAM_LENGTH 16

/* L at the start of a run (see the header). */
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
	size_t l = declared > 1 ? declared - 1 : 1;
	if (any_free && seen && seen >= l) {
		*why = "the longest run of this loop so far";
		return seen;
	}
	if (s->dynamic && !seen) {
		/* an unmodified program's run, one per process (stepper run
		 * --auto): nothing seen, and change points at the first counted
		 * decisions would make pct almost one schedule per seed */
		*why = "the default for a program's run";
		return PROGRAM_LENGTH;
	}
	*why = any_free && declared <= 1 ? "the default for free threads" : "the declared steps";
	return l;
}

/* Draw change points over [lo, hi] until there are want of them or the
 * range is full; kept sorted. */
static void draw_points(struct pct *p, size_t lo, size_t hi)
{
	size_t room = hi >= lo ? hi - lo + 1 : 0, want = p->npoints + room;
	if (want > p->want)
		want = p->want;
	while (p->npoints < want) {
		size_t x = lo + (size_t)stp__rng_below(&p->rng, room);
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
		fprintf(f, "%s [%s] %lu", i ? "," : "", s->threads[i]->name, p->th[i].prio);
	fputc('\n', f);
}

static int pct_begin(stp_stepper *s)
{
	/* a program's run makes its threads as it goes: room for a few, grown
	 * as they come (pct_spawned) */
	int cap = s->nthreads > STP__SMALL_RUN ? s->nthreads : STP__SMALL_RUN;
	struct pct *p = calloc(1, sizeof *p);
	if (p)
		p->cap = cap;
	if (p && !(p->th = calloc((size_t)cap, sizeof *p->th))) {
		free(p);
		p = NULL;
	}
	if (!p) {
		stp__error(s, STP__OUT_FAIL, "out of memory starting strategy %s",
			   s->strat.text);
		return STP_ENOMEM;
	}
	unsigned long d = s->strat.param;
	int perm_small[STP__SMALL_RUN], *perm = perm_small;
	if (s->nthreads > STP__SMALL_RUN && !(perm = malloc((size_t)s->nthreads * sizeof *perm))) {
		free(p->th);
		free(p);
		stp__error(s, STP__OUT_FAIL, "out of memory starting strategy %s",
			   s->strat.text);
		return STP_ENOMEM;
	}
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
		p->th[perm[k]].prio = d + (unsigned long)k;
	if (perm != perm_small)
		free(perm);
	p->low = d - 1;
	p->want = d - 1;
	const char *why;
	p->length = length(s, &why);
	draw_points(p, 1, p->length);
	s->src_state = p;
	if (s->opt.debug)
		debug_begin(s, p, why);
	return 0;
}

/* The count passed L: L doubles, and the change points that did not fit
 * are drawn over the new part. */
static void grow(stp_stepper *s, struct pct *p)
{
	size_t old = p->length, had = p->npoints;
	p->length = 2 * old;
	draw_points(p, old + 1, p->length);
	if (!s->opt.debug)
		return;
	fprintf(s->opt.log, "pct: counted decision %zu passes length %zu: length %zu, "
			    "change points",
		p->count, old, p->length);
	for (size_t i = had; i < p->npoints; i++)
		fprintf(s->opt.log, " %zu", p->points[i]);
	if (had == p->npoints)
		fputs(" none", s->opt.log);
	fputs(" added", s->opt.log);
	fputc('\n', s->opt.log);
}

/* A change point: the deciding thread drops below every other. */
static void demote(stp_stepper *s, struct pct *p, const stp__choice *c)
{
	p->next++;
	if (c->current < 0)
		return;
	p->th[c->current].prio = p->low--;
	if (s->opt.debug)
		fprintf(s->opt.log, "pct: change point %zu at decision %zu: [%s] "
				    "drops to priority %lu\n",
			p->count, c->decision + 1, s->threads[c->current]->name, p->low + 1);
}

/* Is t, the deciding thread, at a point of a spin loop: a yield, or a
 * trylock of a mutex another thread holds (it will fail)? */
static int spinning(const struct stp__thread *t)
{
	return t->op == STP__OP_YIELD ||
	       (t->op == STP__OP_TRYLOCK && t->obj->owner >= 0 && t->obj->owner != t->index);
}

/* The deciding thread t came to a point: a spin point it has reached
 * before at the same call site (a loop, not one yield before a racy read)
 * drops it below the others. */
static void note_spin(struct pct *p, const struct stp__thread *t)
{
	if (!spinning(t))
		return;
	char site[sizeof p->th[0].spin_site];
	stp__site_text(t->op_file, t->op_line, site, sizeof site);
	int i = t->index;
	if (strcmp(site, p->th[i].spin_site) != 0) {
		memcpy(p->th[i].spin_site, site, sizeof site);
		p->th[i].spins = 0;
	}
	if (++p->th[i].spins >= 2)
		p->th[i].yielded = ++p->yields;
}

/* Does thread a go before thread b? */
static int above(const struct pct *p, int a, int b)
{
	uint64_t ya = p->th[a].yielded, yb = p->th[b].yielded;
	if (ya != yb)
		return ya == 0 || (yb != 0 && ya < yb);
	return p->th[a].prio > p->th[b].prio;
}

static int pct_pick(stp_stepper *s, const stp__choice *c)
{
	struct pct *p = s->src_state;
	if (p->oom) {
		stp__error(s, STP__OUT_FAIL, "out of memory: pct could not take thread %d",
			   p->cap + 1);
		return -1;
	}
	if (c->decision > 0) { /* the run's first decision is not counted */
		if (++p->count > p->length)
			grow(s, p);
		if (p->next < p->npoints && p->points[p->next] == p->count)
			demote(s, p, c);
	}
	if (c->current >= 0)
		note_spin(p, s->threads[c->current]);
	int best = c->enabled[0];
	for (int k = 1; k < c->n; k++)
		if (above(p, c->enabled[k], best))
			best = c->enabled[k];
	return best;
}

/* The run's decisions after the first, forced ones too, tell the loop's
 * next runs how long a run is (L grows when a run goes past it). */
static void pct_end(stp_stepper *s)
{
	struct pct *p = s->src_state;
	if (!p)
		return;
	size_t n = s->dec.nlog > 1 ? s->dec.nlog - 1 : 0;
	if (s->explore && n > s->explore->longest)
		s->explore->longest = n;
	free(p->th);
	free(p);
}

/* A thread made during the run takes a random place among the
 * priorities not demoted (d and up), as if it had been there from the
 * start; those above its place move up one. */
static void pct_spawned(stp_stepper *s, int index)
{
	struct pct *p = s->src_state;
	if (index >= p->cap) {
		int cap = 2 * p->cap > index ? 2 * p->cap : index + 1;
		struct pct_thread *th = p->oom ? NULL : realloc(p->th, (size_t)cap * sizeof *th);
		if (!th) {
			p->oom = 1;
			return;
		}
		memset(th + p->cap, 0, (size_t)(cap - p->cap) * sizeof *th);
		p->th = th;
		p->cap = cap;
	}
	unsigned long d = s->strat.param, high = 0;
	for (int i = 0; i < index; i++)
		high += p->th[i].prio >= d;
	unsigned long place = d + (unsigned long)stp__rng_below(&p->rng, (uint64_t)high + 1);
	for (int i = 0; i < index; i++)
		if (p->th[i].prio >= place)
			p->th[i].prio++;
	p->th[index].prio = place;
}

const stp__source stp__pct_source = { .name = "pct",
				      .pick = pct_pick,
				      .begin = pct_begin,
				      .end = pct_end,
				      .spawned = pct_spawned };
