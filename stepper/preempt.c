/*
 * preempt.c - the source of shrinking's replays: the default policy
 * (keep the deciding thread while it can go on, else the lowest-numbered
 * enabled thread) plus switches anchored by names (preempt.h).
 *
 * The source counts, per thread and point name, how many times the
 * thread was granted that point, so that a decision's anchor (the
 * deciding thread, the point it is at, and that count plus one) is known
 * at once; a table keyed by anchor finds the switch. Everything here runs
 * on the thread that holds the turnstile, serially (online.c).
 */
#include "preempt.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* A table keyed by (thread, name, occ)                                */
/* ------------------------------------------------------------------ */

struct slot {
	const char *name; /* not owned: a point of the run, or a switch's */
	int thread;
	int used;
	size_t occ;
	size_t value;
};

struct table {
	struct slot *slots;
	size_t cap, n; /* cap: a power of two */
};

static uint64_t hash_key(int thread, const char *name, size_t occ)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(unsigned)thread;
	for (const char *p = name; p && *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h ^= (uint64_t)occ * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

static int same_key(const struct slot *sl, int thread, const char *name, size_t occ)
{
	if (sl->thread != thread || sl->occ != occ)
		return 0;
	if (!sl->name || !name)
		return sl->name == name;
	return sl->name == name || strcmp(sl->name, name) == 0;
}

/* The slot of the key, or the empty slot where it would go. */
static struct slot *find(const struct table *t, int thread, const char *name, size_t occ)
{
	size_t i = (size_t)hash_key(thread, name, occ) & (t->cap - 1);
	while (t->slots[i].used && !same_key(&t->slots[i], thread, name, occ))
		i = (i + 1) & (t->cap - 1);
	return &t->slots[i];
}

static int grow(struct table *t)
{
	size_t cap = t->cap ? 2 * t->cap : 64;
	struct slot *old = t->slots;
	size_t oldcap = t->cap;
	t->slots = calloc(cap, sizeof *t->slots);
	if (!t->slots) {
		t->slots = old;
		return -1;
	}
	t->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].used)
			*find(t, old[i].thread, old[i].name, old[i].occ) = old[i];
	free(old);
	return 0;
}

/* The key's slot, made (value 0) when new; NULL when out of memory. */
static struct slot *put(struct table *t, int thread, const char *name, size_t occ)
{
	if (2 * (t->n + 1) > t->cap && grow(t) < 0)
		return NULL;
	struct slot *sl = find(t, thread, name, occ);
	if (!sl->used) {
		*sl = (struct slot){ name, thread, 1, occ, 0 };
		t->n++;
	}
	return sl;
}

static size_t get(const struct table *t, int thread, const char *name, size_t occ)
{
	if (t->cap == 0)
		return 0;
	const struct slot *sl = find(t, thread, name, occ);
	return sl->used ? sl->value : 0;
}

/* ------------------------------------------------------------------ */
/* Occurrence counts                                                   */
/* ------------------------------------------------------------------ */

struct stp__counter {
	struct table t;
};

stp__counter *stp__counter_new(void)
{
	return calloc(1, sizeof(stp__counter));
}

size_t stp__counter_get(const stp__counter *c, int thread, const char *name)
{
	return get(&c->t, thread, name, 0);
}

size_t stp__counter_add(stp__counter *c, int thread, const char *name)
{
	struct slot *sl = put(&c->t, thread, name, 0);
	return sl ? ++sl->value : 0;
}

void stp__counter_free(stp__counter *c)
{
	if (c)
		free(c->t.slots);
	free(c);
}

int stp__log_occurrences(const stp_stepper *s, size_t *occ, size_t *from_occ)
{
	stp__counter *c = stp__counter_new();
	if (!c)
		return STP_ENOMEM;
	for (size_t k = 0; k < s->dec.nlog; k++) {
		const stp__entry *e = &s->log[k];
		from_occ[k] = e->current >= 0 && e->current_at
				      ? stp__counter_get(c, e->current, e->current_at) + 1
				      : 0;
		if (!(occ[k] = stp__counter_add(c, e->thread, e->name))) {
			stp__counter_free(c);
			return STP_ENOMEM;
		}
	}
	stp__counter_free(c);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The source                                                          */
/* ------------------------------------------------------------------ */

struct pstate {
	struct table counts;  /* (thread, point, 0) -> times granted */
	struct table anchors; /* (thread, point, occ) -> switch index + 1 */
	int *to;              /* each switch's target, -1: no such thread */
	char *placed;         /* each switch's anchor is in anchors */
	size_t timers;        /* decisions no thread took, so far */
};

/* The index of the thread named name, -1 for NULL (no thread), -2 for a
 * name the run does not have. */
static int thread_named(const stp_stepper *s, const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < s->nthreads; i++)
		if (strcmp(s->threads[i]->name, name) == 0)
			return i;
	return -2;
}

static void pstate_free(struct pstate *st)
{
	if (!st)
		return;
	free(st->counts.slots);
	free(st->anchors.slots);
	free(st->to);
	free(st->placed);
	free(st);
}

/* Put the anchors of the switches whose threads both exist by now (a
 * thread made during the run comes in later); 0, or -1 out of memory. */
static int place_anchors(stp_stepper *s, struct pstate *st)
{
	stp__preempts *p = s->preempts;
	for (size_t i = 0; i < p->nsw; i++) {
		const stp__switch *w = &p->sw[i];
		if (st->placed[i])
			continue;
		int from = thread_named(s, w->at.thread);
		st->to[i] = thread_named(s, w->to);
		if (from < -1 || st->to[i] < 0)
			continue; /* a thread this run does not have (yet) */
		struct slot *sl = put(&st->anchors, from, w->at.point, w->at.occ);
		if (!sl)
			return -1;
		st->placed[i] = 1;
		if (sl->value == 0) /* the first switch of an anchor wins */
			sl->value = i + 1;
	}
	return 0;
}

static int preempt_begin(stp_stepper *s)
{
	stp__preempts *p = s->preempts;
	struct pstate *st = calloc(1, sizeof *st);
	if (!st || !p || !(st->to = malloc((p->nsw ? p->nsw : 1) * sizeof *st->to)) ||
	    !(st->placed = calloc(p->nsw ? p->nsw : 1, 1))) {
		pstate_free(st);
		stp__error(s, STP__OUT_FAIL, "shrink: out of memory (or no plan) for a replay");
		return STP_ENOMEM;
	}
	if (place_anchors(s, st) < 0) {
		pstate_free(st);
		stp__error(s, STP__OUT_FAIL, "shrink: out of memory for a replay");
		return STP_ENOMEM;
	}
	p->used = 1;
	p->ndec = 0;
	p->hits = 0;
	p->diverged = 0;
	p->nomem = 0;
	s->src_state = st;
	return 0;
}

static void preempt_end(stp_stepper *s)
{
	pstate_free(s->src_state);
}

/* A thread made during the run: the switches from or to it come in. */
static void preempt_spawned(stp_stepper *s, int index)
{
	(void)index;
	if (place_anchors(s, s->src_state) < 0)
		s->preempts->nomem = 1;
}

static int is_enabled(const stp__choice *c, int i)
{
	for (int k = 0; k < c->n; k++)
		if (c->enabled[k] == i)
			return 1;
	return 0;
}

/* Where the decision is taken: the deciding thread's point and count. */
static void anchor_of(stp_stepper *s, struct pstate *st, const stp__choice *c,
		      stp__pdecision *d)
{
	if (c->current < 0) {
		d->occ = ++st->timers;
		return;
	}
	struct stp__thread *t = s->threads[c->current];
	if (atomic_load(&t->ended))
		return; /* point NULL, occ 1 */
	d->point = atomic_load(&t->at);
	d->occ = get(&st->counts, c->current, d->point, 0) + 1;
}

static void note(stp__preempts *p, const stp__pdecision *d)
{
	if (p->ndec == p->capdec) {
		size_t cap = p->capdec ? 2 * p->capdec : 64;
		stp__pdecision *dec = realloc(p->dec, cap * sizeof *dec);
		if (!dec) {
			p->nomem = 1;
			return;
		}
		p->dec = dec;
		p->capdec = cap;
	}
	p->dec[p->ndec++] = *d;
}

/* Decide (any number of enabled threads), note the decision, and count
 * the chosen thread's point. */
static int take(stp_stepper *s, const stp__choice *c)
{
	struct pstate *st = s->src_state;
	stp__preempts *p = s->preempts;
	stp__pdecision d = { c->current, NULL, 1, 0, 0, 0, c->n };
	anchor_of(s, st, c, &d);
	d.current_enabled = c->current >= 0 && is_enabled(c, c->current);
	d.dflt = d.current_enabled ? c->current : c->enabled[0];
	int pick = d.dflt;
	if (p->follow) {
		int r = c->decision < p->nfollow ? p->follow[c->decision] : -1;
		if (r >= 0 && is_enabled(c, r))
			pick = r;
		else
			p->diverged = 1;
	} else {
		size_t i = get(&st->anchors, c->current, d.point, d.occ);
		if (i && is_enabled(c, st->to[i - 1])) {
			pick = st->to[i - 1];
			p->hits++;
		} else if (i && p->sw[i - 1].preempt && d.current_enabled && c->n >= 2) {
			/* A preemption whose thread cannot go on here still
			 * leaves the current thread: to the lowest-numbered
			 * other (a switch is first of all "not this one on";
			 * so a shrink that drops the switch that made its
			 * target ready keeps the other, and a lenient replay
			 * keeps a preemption whose target was edited away). */
			pick = c->enabled[0] != c->current ? c->enabled[0] : c->enabled[1];
			p->hits++;
		}
	}
	d.chosen = pick;
	note(p, &d);
	const char *at = atomic_load(&s->threads[pick]->at);
	struct slot *sl = put(&st->counts, pick, at, 0);
	if (sl)
		sl->value++;
	else
		p->nomem = 1;
	return pick;
}

static int preempt_pick(stp_stepper *s, const stp__choice *c)
{
	return take(s, c);
}

/* A forced decision (one thread can go on): noted and counted too. */
static int preempt_check(stp_stepper *s, const stp__choice *c, int chosen)
{
	(void)chosen; /* the only enabled thread: take picks it too */
	take(s, c);
	return 0;
}

const stp__source stp__preempt_source = { .name = "preempt",
					  .pick = preempt_pick,
					  .check = preempt_check,
					  .begin = preempt_begin,
					  .end = preempt_end,
					  .spawned = preempt_spawned };

int stp__preempt_interleave(stp_stepper *s)
{
	s->strat.kind = STP__ST_PREEMPT;
	s->strat.has_param = 0;
	snprintf(s->strat.text, sizeof s->strat.text, "preempt");
	return stp__online_prepare(s);
}

void stp__preempts_reset(stp__preempts *p)
{
	free(p->dec);
	p->dec = NULL;
	p->ndec = p->capdec = 0;
	p->used = p->diverged = p->nomem = 0;
	p->hits = 0;
}

size_t stp__preempts_count(const stp__preempts *p, size_t *switches)
{
	size_t n = 0, sw = 0;
	for (size_t k = 0; k < p->ndec; k++) {
		const stp__pdecision *d = &p->dec[k];
		n += d->current_enabled && d->chosen != d->current;
		sw += d->chosen != d->current;
	}
	if (switches)
		*switches = sw;
	return n;
}
