/*
 * dfs.c - the dfs strategy: every schedule, one run each, bounded to B
 * preemptions.
 *
 * A schedule is the list of its choices: at each decision with two or
 * more enabled threads (a *level*; a decision with one is not a branch),
 * the thread picked. A *preemption* is a pick other than the deciding
 * thread while that thread could go on (c->current, enabled), as the
 * log's entries count them: at the run's first decision the decider is
 * the last thread whose prefix ran. The default policy never preempts:
 * keep the current thread; when it blocked or ended, the lowest enabled
 * index.
 *
 * Iterative preemption bounding (as CHESS): round b runs exactly the
 * schedules with b preemptions, b = 0, 1, ... up to B or until a round
 * has none. A round is a list of *roots*: prefixes of choices whose last
 * is the b-th preemption (round 0: the empty prefix). A root's subtree is
 * searched depth first, one run per schedule: a run replays the root and
 * the levels down to the backtrack point, then extends with the default
 * policy, recording each new level's enabled set. The next run backtracks
 * at the deepest level below the root where no thread could go on (a free
 * pick) and an enabled thread above the one picked is left. At a new level
 * where the current thread could go on, every other enabled thread is a
 * preemption: that prefix becomes a root of round b+1 (if b < B). So each
 * schedule runs once, in the round of its preemption count (its last
 * preemption's prefix is queued once: when that level is first reached).
 *
 * Replays check that the program repeats itself: the same choices must
 * meet the same enabled threads, or the run fails naming the decision.
 *
 * A round's roots wait in a queue, each as the count of choices it shares
 * with the root before it plus the rest (depth-first order makes them
 * share most); past stp__dfs_queue_max bytes the next round's roots are
 * dropped, and the exploration ends with the round under way, saying the
 * space is not exhausted.
 *
 * The state lives in the seed loop's stp__explore across its runs. A run
 * outside a loop has none: it runs the first schedule (the default
 * policy) alone. The seed plays no part anywhere.
 */
#include "dfs.h"

#include <stdlib.h>
#include <string.h>

size_t stp__dfs_queue_max = (size_t)256 << 20;

/* One decision with two or more enabled threads. */
struct level {
	uint64_t enabled; /* 0: a root's level not reached yet in this root */
	int current;      /* the thread that could have gone on, or -1 */
	int chosen;
};

/* The roots of one round, first in first out. last is the root last
 * put (the round being filled) or taken (the round being run). */
struct queue {
	unsigned char *buf;
	size_t len, cap, head;
	uint64_t count; /* roots in it, not yet taken */
	unsigned char *last;
	size_t nlast, caplast;
};

typedef struct dfs {
	int loop;            /* kept across a seed loop's runs */
	int bounded;
	unsigned long bound; /* B */
	unsigned long round; /* the preemptions of this round's schedules */
	unsigned long last_round; /* the round of the run made last */
	struct level *lv;    /* the current schedule's levels */
	size_t nlv, caplv;
	size_t fixed;        /* levels of the root: never backtracked */
	size_t depth;        /* levels passed in this run */
	size_t agree;        /* next.last equals lv's choices up to here */
	struct queue now, next;
	int cut;             /* roots of round + 1 dropped (stp__dfs_queue_max) */
	int done;            /* nothing left to run */
	uint64_t *per_round; /* schedules run in each round */
	size_t nper;
} dfs;

static void queue_free(struct queue *q)
{
	free(q->buf);
	free(q->last);
	*q = (struct queue){ 0 };
}

static void dfs_free(void *p)
{
	dfs *d = p;
	if (!d)
		return;
	queue_free(&d->now);
	queue_free(&d->next);
	free(d->lv);
	free(d->per_round);
	free(d);
}

/* p, an array of *cap elements of size bytes, with room for need: the
 * array (moved, perhaps), or NULL when out of memory (p is kept). */
static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(p, n * size);
	if (q)
		*cap = n;
	return q;
}

static int grow_levels(dfs *d, size_t need)
{
	struct level *lv = grow(d->lv, &d->caplv, need, sizeof *lv);
	if (!lv)
		return STP_ENOMEM;
	d->lv = lv;
	return 0;
}

/* The queue's buffer with room for more bytes, and its last root's for
 * a root of n choices. */
static int grow_queue(struct queue *q, size_t more, size_t n)
{
	unsigned char *buf = grow(q->buf, &q->cap, q->len + more, 1);
	if (buf)
		q->buf = buf;
	unsigned char *last = buf ? grow(q->last, &q->caplast, n, 1) : NULL;
	if (last)
		q->last = last;
	return buf && last ? 0 : STP_ENOMEM;
}

/* ------------------------------------------------------------------ */
/* The queue of roots                                                  */
/* ------------------------------------------------------------------ */

static void put_varint(unsigned char *p, size_t *len, size_t v)
{
	while (v >= 0x80) {
		p[(*len)++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[(*len)++] = (unsigned char)v;
}

static size_t get_varint(const struct queue *q, size_t *at)
{
	size_t v = 0;
	for (unsigned shift = 0;; shift += 7) {
		unsigned char b = q->buf[(*at)++];
		v |= (size_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
}

/* Queue the root "the choices of levels 0..k-1, then alt" for the next
 * round. Over stp__dfs_queue_max (or out of memory) it is dropped:
 * d->cut. */
static void put_root(dfs *d, size_t k, int alt)
{
	struct queue *q = &d->next;
	size_t keep = d->agree < k ? d->agree : k, rest = k - keep + 1;
	if (q->len + rest + 20 > stp__dfs_queue_max ||
	    grow_queue(q, rest + 20, k + 1) < 0) {
		d->cut = 1;
		return;
	}
	put_varint(q->buf, &q->len, keep);
	put_varint(q->buf, &q->len, rest);
	for (size_t i = keep; i < k; i++)
		q->buf[q->len++] = q->last[i] = (unsigned char)d->lv[i].chosen;
	q->buf[q->len++] = q->last[k] = (unsigned char)alt;
	q->nlast = k + 1;
	q->count++;
	d->agree = k; /* last[k] is alt, lv[k] the default */
}

/* Take the next root of d->now into lv: its levels are fixed. 0 when
 * the round has none left. */
static int take_root(dfs *d)
{
	struct queue *q = &d->now;
	if (q->count == 0)
		return 0;
	size_t at = q->head;
	size_t keep = get_varint(q, &at), rest = get_varint(q, &at);
	size_t n = keep + rest;
	unsigned char *last = grow(q->last, &q->caplast, n, 1);
	if (last)
		q->last = last;
	if (!last || grow_levels(d, n) < 0)
		return STP_ENOMEM;
	memcpy(q->last + keep, q->buf + at, rest);
	q->head = at + rest;
	q->nlast = n;
	q->count--;
	for (size_t i = 0; i < n; i++)
		d->lv[i] = (struct level){ 0, -1, q->last[i] };
	d->nlv = d->fixed = n;
	size_t a = 0;
	while (a < n && a < d->next.nlast && d->next.last[a] == q->last[a])
		a++;
	d->agree = a;
	return 1;
}

/* Round b is over: the next one runs the roots it queued. 0 when there
 * is none (or the bound is reached). */
static int next_round(dfs *d)
{
	if (d->cut || d->next.count == 0 || (d->bounded && d->round >= d->bound))
		return 0;
	queue_free(&d->now);
	d->now = d->next;
	d->now.head = 0;
	d->now.nlast = 0;
	d->next = (struct queue){ 0 };
	d->agree = 0;
	d->round++;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Between runs                                                        */
/* ------------------------------------------------------------------ */

/* Backtrack: the deepest level below the root with a free pick and an
 * enabled thread above the one picked takes that thread. 1 if found. */
static int backtrack(dfs *d)
{
	for (size_t j = d->nlv; j-- > d->fixed;) {
		struct level *l = &d->lv[j];
		if (l->current >= 0 || l->enabled == 0)
			continue; /* keeping the running thread: its rivals are roots */
		uint64_t above = l->enabled & ~(((uint64_t)2 << l->chosen) - 1);
		if (!above)
			continue;
		l->chosen = __builtin_ctzll(above);
		d->nlv = j + 1;
		if (d->agree > j)
			d->agree = j;
		return 1;
	}
	return 0;
}

/* Count the run just made in its round. */
static int count_run(dfs *d)
{
	if (d->round >= d->nper) {
		uint64_t *p = realloc(d->per_round, (d->round + 1) * sizeof *p);
		if (!p)
			return STP_ENOMEM;
		memset(p + d->nper, 0, (d->round + 1 - d->nper) * sizeof *p);
		d->per_round = p;
		d->nper = d->round + 1;
	}
	d->per_round[d->round]++;
	d->last_round = d->round;
	return 0;
}

/* The run is over: count it, and set up the next schedule's prefix. */
static int advance(dfs *d)
{
	if (count_run(d) < 0)
		return STP_ENOMEM;
	if (backtrack(d))
		return 0;
	for (;;) {
		int rc = take_root(d);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		if (!next_round(d))
			break;
	}
	d->done = 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* A run                                                               */
/* ------------------------------------------------------------------ */

/* The enabled threads as one word: an exhaustive search keeps them at
 * every level, so it explores runs of at most DFS_THREADS threads (a
 * thousand threads have far too many schedules to enumerate anyway). */
#define DFS_THREADS 64

static uint64_t bits_of(const stp__choice *c)
{
	uint64_t b = 0;
	for (int k = 0; k < c->n; k++)
		b |= (uint64_t)1 << c->enabled[k];
	return b;
}

static int too_many(stp_stepper *s, const stp__choice *c)
{
	for (int k = 0; k < c->n; k++)
		if (c->enabled[k] >= DFS_THREADS) {
			stp__error(s, STP__OUT_FAIL,
				   "dfs: decision %zu: [%s] is the run's thread %d; an exhaustive "
				   "search explores runs of at most %d threads (use random, pct or "
				   "pos)",
				   c->decision + 1, s->threads[c->enabled[k]]->name,
				   c->enabled[k] + 1, DFS_THREADS);
			return 1;
		}
	return 0;
}

/* The deciding thread when it could go on (a pick of another preempts
 * it), or -1: it blocked or ended. */
static int running(const stp__choice *c)
{
	if (c->current < 0)
		return -1;
	for (int k = 0; k < c->n; k++)
		if (c->enabled[k] == c->current)
			return c->current;
	return -1;
}

/* "alice, bob (alice was running)": a level's enabled threads. */
static void describe(stp_stepper *s, uint64_t set, int cur, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i < s->nthreads && i < DFS_THREADS && len < size; i++)
		if (set >> i & 1)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
						s->threads[i]->name);
	if (cur >= 0 && len < size)
		snprintf(buf + len, size - len, " (%s running)", s->threads[cur]->name);
}

static int not_repeated(stp_stepper *s, const stp__choice *c, const struct level *l,
			uint64_t en, int cur)
{
	char was[256], now[256];
	if (l->enabled)
		describe(s, l->enabled, l->current, was, sizeof was);
	else
		snprintf(was, sizeof was, "%s", s->threads[l->chosen]->name);
	describe(s, en, cur, now, sizeof now);
	stp__error(s, STP__OUT_DIVERGENCE,
		   "dfs: decision %zu: the program did not repeat itself: after the same "
		   "choices, an earlier run could go on here with %s, this one with %s "
		   "(dfs needs the points a run reaches to depend on its decisions "
		   "only: input, time or threads the stepper does not control break "
		   "that)",
		   c->decision + 1, was, now);
	return STP_EMISMATCH;
}

/* Level k of the prefix: its choice again, checked. */
static int replay_level(stp_stepper *s, dfs *d, const stp__choice *c, size_t k,
			uint64_t en, int cur)
{
	struct level *l = &d->lv[k];
	if (l->enabled == 0) { /* a root's level, first reached in this root */
		if (!(en >> l->chosen & 1))
			return not_repeated(s, c, l, en, cur);
		l->enabled = en;
		l->current = cur;
	} else if (l->enabled != en || l->current != cur) {
		return not_repeated(s, c, l, en, cur);
	}
	return l->chosen;
}

static int dfs_pick(stp_stepper *s, const stp__choice *c)
{
	dfs *d = s->src_state;
	int cur = running(c);
	int pick = cur >= 0 ? cur : c->enabled[0];
	if (!d->loop)
		return pick;
	if (too_many(s, c))
		return STP_EINVAL;
	uint64_t en = bits_of(c);
	size_t k = d->depth++;
	if (k < d->nlv)
		return replay_level(s, d, c, k, en, cur);
	if (grow_levels(d, k + 1) < 0) {
		stp__error(s, STP__OUT_FAIL, "dfs: out of memory at decision %zu",
			   c->decision + 1);
		return STP_ENOMEM;
	}
	d->lv[k] = (struct level){ en, cur, pick };
	d->nlv = k + 1;
	if (cur >= 0 && (!d->bounded || d->round < d->bound))
		for (int i = 0; i < c->n; i++)
			if (c->enabled[i] != cur)
				put_root(d, k, c->enabled[i]);
	return pick;
}

/* The run ended without an abort: it must have replayed its whole
 * prefix. */
static void dfs_finish(stp_stepper *s, size_t n)
{
	dfs *d = s->src_state;
	(void)n;
	if (d->loop && d->depth < d->nlv)
		stp__error(s, STP__OUT_DIVERGENCE,
			   "dfs: the program did not repeat itself: this run ended after "
			   "%zu decisions with a choice, an earlier run with the same "
			   "choices made more (dfs needs the points a run reaches to depend "
			   "on its decisions only: input, time or threads the stepper does "
			   "not control break that)",
			   d->depth);
}

static int dfs_begin(stp_stepper *s)
{
	stp__explore *e = s->explore;
	dfs *d = e ? e->state : NULL;
	if (d && e->free_state != dfs_free) {
		stp__error(s, STP__OUT_FAIL,
			   "dfs: this seed loop's runs do not all use the same strategy");
		return STP_EINVAL;
	}
	if (!d) {
		d = calloc(1, sizeof *d);
		if (!d) {
			stp__error(s, STP__OUT_FAIL, "dfs: out of memory");
			return STP_ENOMEM;
		}
		d->loop = e != NULL;
		d->bounded = s->strat.has_param;
		d->bound = s->strat.param;
		if (e) {
			e->state = d;
			e->free_state = dfs_free;
		}
	}
	d->depth = 0;
	s->src_state = d;
	return 0;
}

static void dfs_end(stp_stepper *s)
{
	dfs *d = s->src_state;
	if (!d->loop) {
		dfs_free(d);
		return;
	}
	if (advance(d) < 0) {
		stp__error(s, STP__OUT_FAIL,
			   "dfs: out of memory for the schedules left to explore");
		d->done = d->cut = 1;
	}
	if (d->done)
		s->explore->exhausted = 1;
}

static const stp__source dfs_source = { .name = "dfs",
					.pick = dfs_pick,
					.finish = dfs_finish,
					.begin = dfs_begin,
					.end = dfs_end };

const stp__source *stp__dfs_source(void)
{
	return &dfs_source;
}

/* ------------------------------------------------------------------ */
/* What the loop says                                                  */
/* ------------------------------------------------------------------ */

int stp__dfs_explores(const stp__explore *e)
{
	return e && e->state && e->free_state == dfs_free;
}

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

void stp__dfs_bound_text(const stp__explore *e, char *buf, size_t size)
{
	const dfs *d = e->state;
	if (d->bounded)
		snprintf(buf, size, "at most %lu preemption%s", d->bound, plural(d->bound));
	else
		snprintf(buf, size, "no preemption bound");
}

unsigned long stp__dfs_last_preemptions(const stp__explore *e)
{
	return ((const dfs *)e->state)->last_round;
}

void stp__dfs_summary(const stp__explore *e, uint64_t runs, char *buf, size_t size)
{
	const dfs *d = e->state;
	char bound[64];
	stp__dfs_bound_text(e, bound, sizeof bound);
	size_t len = (size_t)snprintf(buf, size, "explored %s%llu schedule%s (%s): none failed",
				      d->done && !d->cut ? "all " : "",
				      (unsigned long long)runs, plural(runs), bound);
	if ((d->done && !d->cut) || len >= size)
		return;
	unsigned long r = d->last_round;
	uint64_t below = 0;
	for (unsigned long i = 0; i < r && i < d->nper; i++)
		below += d->per_round[i];
	if (d->done || d->round > r)
		snprintf(buf + len, size - len,
			 "; the space is not exhausted: those are all the schedules with at "
			 "most %lu preemption%s%s",
			 r, plural(r),
			 d->done ? ", and the ones with more were too many to queue"
				 : " (a longer seed range explores more)");
	else if (r == 0)
		snprintf(buf + len, size - len,
			 "; the space is not exhausted: %llu of the schedules with no "
			 "preemption (a longer seed range explores more)",
			 (unsigned long long)d->per_round[0]);
	else
		snprintf(buf + len, size - len,
			 "; the space is not exhausted: all %llu schedule%s with at most %lu "
			 "preemption%s and %llu of those with %lu (a longer seed range "
			 "explores more)",
			 (unsigned long long)below, plural(below), r - 1, plural(r - 1),
			 (unsigned long long)d->per_round[r], r);
}
