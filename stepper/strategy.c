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
#include "dfs.h"
#include "preempt.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

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
	size_t left_small[STP__SMALL_RUN], *left = left_small;
	if (s->nthreads > STP__SMALL_RUN &&
	    !(left = malloc((size_t)s->nthreads * sizeof *left)))
		return STP_ENOMEM;
	for (int i = 0; i < s->nthreads; i++)
		left[i] = s->threads[i]->nsteps;
	for (size_t k = 0; k < s->nsched; k++) {
		int i = st->pick(st->state, left, s->nthreads, total);
		s->sched[k] = i;
		s->sched_step[k] = s->threads[i]->nsteps - left[i];
		left[i]--;
		total--;
	}
	if (left != left_small)
		free(left);
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
	size_t *seen = calloc((size_t)s->nthreads, sizeof *seen);
	if (!seen)
		return STP_ENOMEM;
	rc = 0;
	for (size_t k = 0; k < n && rc == 0; k++) {
		int i = threads[k];
		if (i < 0 || i >= s->nthreads || seen[i] >= s->threads[i]->nsteps) {
			rc = STP_EMISMATCH;
			break;
		}
		s->sched[k] = i;
		s->sched_step[k] = seen[i]++;
	}
	for (int i = 0; i < s->nthreads && rc == 0; i++)
		if (seen[i] != s->threads[i]->nsteps)
			rc = STP_EMISMATCH;
	free(seen);
	if (rc < 0)
		return rc;
	stp__index_schedule(s);
	s->strategy = "replay";
	return 0;
}

/* ------------------------------------------------------------------ */
/* Naming a strategy                                                   */
/* ------------------------------------------------------------------ */

/* The strategies, as stp_options.strategy names them. A row with a
 * parameter letter takes "name:N" with min <= N <= max (def when left
 * out); one without takes the bare name only. */
static const struct strategy_row {
	const char *name;
	enum stp__strategy_kind kind;
	const char *letter; /* NULL: no parameter */
	unsigned long min, max, def;
} rows[] = {
	{ "random", STP__ST_RANDOM, NULL, 0, 0, 0 },
	{ "pct", STP__ST_PCT, "D", 1, STP__PCT_MAX_DEPTH, 3 },
	{ "pos", STP__ST_POS, NULL, 0, 0, 0 },
	{ "dfs", STP__ST_DFS, "B", 0, STP_MAX_DECISIONS, ULONG_MAX }, /* B left out: no bound */
};

#define NROWS (sizeof rows / sizeof rows[0])

static char strategies_line[256];

static void make_strategies_line(void)
{
	size_t len = 0, size = sizeof strategies_line;
	for (size_t i = 0; i < NROWS && len < size; i++) {
		const struct strategy_row *r = &rows[i];
		len += (size_t)snprintf(strategies_line + len, size - len, "%s%s",
					i ? ", " : "", r->name);
		if (r->letter && len < size)
			len += (size_t)snprintf(strategies_line + len, size - len,
						", %s:%s (%s >= %lu)", r->name, r->letter,
						r->letter, r->min);
	}
}

const char *stp_strategies(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, make_strategies_line);
	return strategies_line;
}

static int bad_strategy(const char *text, const char *what, char *why, size_t size)
{
	snprintf(why, size, "strategy '%.32s' %s; accepted: %s", text, what,
		 stp_strategies());
	return STP_EINVAL;
}

/* The parameter after "name:" of row r. */
static int parse_param(const struct strategy_row *r, const char *text, const char *p,
		       stp__strategy *st, char *why, size_t size)
{
	char what[96];
	uint64_t n;
	if (!r->letter)
		return bad_strategy(text, "takes no parameter", why, size);
	if (stp__parse_u64(p, &n) != 0 || n < r->min || n > r->max) {
		snprintf(what, sizeof what, "has %s '%.16s', not a number from %lu to %lu",
			 r->letter, p, r->min, r->max);
		return bad_strategy(text, what, why, size);
	}
	st->param = (unsigned long)n;
	st->has_param = 1;
	return 0;
}

int stp__strategy_parse(const char *text, stp__strategy *st, char *why, size_t size)
{
	if (!text)
		text = "random";
	const char *colon = strchr(text, ':');
	size_t n = colon ? (size_t)(colon - text) : strlen(text);
	for (size_t i = 0; i < NROWS; i++) {
		const struct strategy_row *r = &rows[i];
		if (strlen(r->name) != n || strncmp(r->name, text, n) != 0)
			continue;
		*st = (stp__strategy){ r->kind, r->def, 0, "" };
		if (colon && parse_param(r, text, colon + 1, st, why, size) < 0)
			return STP_EINVAL;
		/* a parameter left out is named with its default ("pct" is
		 * "pct:3"), unless the default is no value of the range */
		if (st->has_param || (r->letter && r->def >= r->min && r->def <= r->max))
			snprintf(st->text, sizeof st->text, "%s:%lu", r->name, st->param);
		else
			snprintf(st->text, sizeof st->text, "%s", r->name);
		return 0;
	}
	return bad_strategy(text, "is not a strategy", why, size);
}

int stp_strategy_check(const char *text, char *why, size_t size)
{
	char buf[256];
	stp__strategy st;
	if (!why || size == 0) {
		why = buf;
		size = sizeof buf;
	}
	return stp__strategy_parse(text, &st, why, size);
}

const stp__source *stp__strategy_source(enum stp__strategy_kind kind)
{
	switch (kind) {
	case STP__ST_PCT:
		return &stp__pct_source;
	case STP__ST_POS:
		return &stp__pos_source;
	case STP__ST_DFS:
		return stp__dfs_source();
	case STP__ST_PREEMPT:
		return &stp__preempt_source;
	case STP__ST_RANDOM:
	default:
		return NULL;
	}
}

void stp__explore_free(stp__explore *e)
{
	if (e && e->state && e->free_state)
		e->free_state(e->state);
	free(e);
}
