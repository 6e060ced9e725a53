/*
 * pos.c - the pos strategy: partial order sampling (Yuan, Yang, Gu, CAV
 * 2018).
 *
 * Every pending operation (what a parked thread is about to do) has a
 * random 64-bit priority; at every decision the enabled thread whose
 * operation has the highest goes (a tie: the lower thread index). When an
 * operation has been chosen (a decision of the source, or a forced one
 * with a single enabled thread: both count), the priorities of the chosen
 * thread (for its next operation) and of every other parked thread whose
 * pending operation conflicts with the chosen one are drawn again. Two
 * operations conflict when
 *  - both touch the same mutex: lock, trylock and unlock touch theirs, a
 *    condition wait (its start and its wake-up) touches its mutex;
 *  - both touch the same condition: a wait (start, wake-up), a signal, a
 *    broadcast;
 *  - both are steps with the same name ("write balance" in two threads).
 * Operations that conflict with nothing keep their priorities, so an
 * independent operation is not pushed back by unrelated ones: that is what
 * samples partial orders more evenly than uniform random does.
 *
 * One stream seeded with opt.seed: the initial priorities in thread
 * order, then after each chosen operation the redrawn ones in thread
 * order.
 */
#include "stepper_int.h"

#include <stdlib.h>
#include <string.h>

struct pos {
	stp__rng rng;
	uint64_t *prio; /* one per thread of the run */
	int cap;        /* prio's room; a run that makes threads grows it */
	int oom;        /* it could not: the next pick ends the run */
};

static const struct stp__obj *mutex_of(const struct stp__thread *t)
{
	switch (t->op) {
	case STP__OP_LOCK:
	case STP__OP_TRYLOCK:
	case STP__OP_UNLOCK:
		return t->obj;
	case STP__OP_WAIT:
	case STP__OP_WOKEN:
		return t->mutex;
	default:
		return NULL;
	}
}

static const struct stp__obj *cond_of(const struct stp__thread *t)
{
	switch (t->op) {
	case STP__OP_WAIT:
	case STP__OP_WOKEN:
	case STP__OP_SIGNAL:
	case STP__OP_BROADCAST:
		return t->obj;
	default:
		return NULL;
	}
}

/* The semaphore, rwlock, barrier or once a pending operation is on. */
static const struct stp__obj *other_of(const struct stp__thread *t)
{
	switch (t->op) {
	case STP__OP_SEM_WAIT:
	case STP__OP_SEM_TRYWAIT:
	case STP__OP_SEM_POST:
	case STP__OP_RDLOCK:
	case STP__OP_WRLOCK:
	case STP__OP_TRYRDLOCK:
	case STP__OP_TRYWRLOCK:
	case STP__OP_RWUNLOCK:
	case STP__OP_BARRIER:
	case STP__OP_ONCE:
		return t->obj;
	default:
		return NULL;
	}
}

static const char *at_of(struct stp__thread *t)
{
	return atomic_load_explicit(&t->at, memory_order_acquire);
}

static int conflict(struct stp__thread *a, struct stp__thread *b)
{
	const struct stp__obj *m = mutex_of(a), *cv = cond_of(a);
	if (m && m == mutex_of(b))
		return 1;
	if (cv && cv == cond_of(b))
		return 1;
	const struct stp__obj *o = other_of(a);
	if (o && o == other_of(b))
		return 1;
	return a->op == STP__OP_STEP && b->op == STP__OP_STEP &&
	       strcmp(at_of(a), at_of(b)) == 0;
}

/* "pos: [a] 'lock(m#1)' chosen; new priorities: [a], [b]" */
static void debug_chosen(stp_stepper *s, int i, const stp__tset *redrawn)
{
	FILE *f = s->opt.log;
	fprintf(f, "pos: [%s] '%s' chosen; new priorities:", s->threads[i]->name,
		at_of(s->threads[i]));
	const char *sep = "";
	STP__TSET_EACH(k, redrawn)
	{
		fprintf(f, "%s [%s]", sep, s->threads[k]->name);
		sep = ",";
	}
	fputc('\n', f);
}

/* Thread i's operation was chosen: new priorities for it and for the
 * pending operations that conflict with it. */
static void chosen(stp_stepper *s, struct pos *p, int i)
{
	struct stp__thread *t = s->threads[i];
	stp__tset redrawn = stp__tset_of(-1), pending = s->dec.parked;
	stp__tset_add(&pending, i);
	/* (an escaped thread's operation is its own until it comes back) */
	if (s->nescaped)
		pending = stp__tset_minus(pending, &s->escaped);
	stp__tset_add(&pending, i);
	STP__TSET_EACH(k, &pending)
	if (k == i || conflict(s->threads[k], t)) {
		p->prio[k] = stp__rng_next(&p->rng);
		stp__tset_add(&redrawn, k);
	}
	if (s->opt.debug)
		debug_chosen(s, i, &redrawn);
}

static int pos_pick(stp_stepper *s, const stp__choice *c)
{
	struct pos *p = s->src_state;
	if (p->oom) {
		stp__error(s, STP__OUT_FAIL, "out of memory: pos could not take thread %d",
			   p->cap + 1);
		return -1;
	}
	int best = c->enabled[0];
	for (int k = 1; k < c->n; k++)
		if (p->prio[c->enabled[k]] > p->prio[best])
			best = c->enabled[k];
	chosen(s, p, best);
	return best;
}

/* A forced decision (one enabled thread) ran an operation too. */
static int pos_check(stp_stepper *s, const stp__choice *c, int pick)
{
	(void)c;
	struct pos *p = s->src_state;
	if (p->oom) {
		stp__error(s, STP__OUT_FAIL, "out of memory: pos could not take thread %d",
			   p->cap + 1);
		return -1;
	}
	chosen(s, p, pick);
	return 0;
}

static int pos_begin(stp_stepper *s)
{
	int cap = s->nthreads > STP__SMALL_RUN ? s->nthreads : STP__SMALL_RUN;
	struct pos *p = calloc(1, sizeof *p);
	if (p && !(p->prio = calloc((size_t)cap, sizeof *p->prio))) {
		free(p);
		p = NULL;
	}
	if (!p) {
		stp__error(s, STP__OUT_FAIL, "out of memory starting strategy pos");
		return STP_ENOMEM;
	}
	p->cap = cap;
	stp__rng_seed(&p->rng, s->opt.seed);
	for (int i = 0; i < s->nthreads; i++)
		p->prio[i] = stp__rng_next(&p->rng);
	s->src_state = p;
	return 0;
}

/* A thread made during the run draws its priority as the first did. */
static void pos_spawned(stp_stepper *s, int index)
{
	struct pos *p = s->src_state;
	if (index >= p->cap) {
		int cap = 2 * p->cap > index ? 2 * p->cap : index + 1;
		uint64_t *prio = p->oom ? NULL : realloc(p->prio, (size_t)cap * sizeof *prio);
		if (!prio) {
			p->oom = 1;
			return;
		}
		p->prio = prio;
		p->cap = cap;
	}
	p->prio[index] = stp__rng_next(&p->rng);
}

static void pos_end(stp_stepper *s)
{
	struct pos *p = s->src_state;
	if (p)
		free(p->prio);
	free(p);
}

const stp__source stp__pos_source = { .name = "pos",
				      .pick = pos_pick,
				      .check = pos_check,
				      .begin = pos_begin,
				      .end = pos_end,
				      .spawned = pos_spawned };
