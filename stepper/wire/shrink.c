/*
 * shrink.c - shrinking a failing schedule to the fewest preemptions that
 * still fail the same way (README "Shrinking").
 *
 * The failing run is replayed once with the preempt source following its
 * decisions (preempt.h), which gives each decision's anchor; the
 * decisions where the default policy would have chosen otherwise become
 * the switch list: preemptions (the deciding thread could have gone on)
 * and free choices (it had blocked or ended). Then, each step a replay:
 *   1. ddmin over the preemptions (the free choices kept),
 *   2. 1-minimal: drop any one switch that is not needed,
 *   3. move each remaining preemption to its thread's point before, then
 *      after, while the run fails the same way with no more preemptions
 *      and switches, dropping the switches each move made needless; then
 *      1-minimal again.
 * A replay "fails the same way" when it fails with the same outcome kind
 * and the same first error, numbers and addresses masked (a deadlock:
 * the same cycle): stp__failure_signature. A candidate becomes the best
 * only when it fails the same way with no more preemptions (a move: no
 * more switches either), so the best is always a run that was seen to
 * fail. Last, the critical pair: replays that resume the thread of the
 * last preemption earlier find the first step it must not precede.
 *
 * Replays come from an oracle (shrink.h): in process (this file, a seed
 * loop's body) or in processes of a command (shrink_cmd.c). Each step
 * tries its candidates in a fixed order and takes the first that is
 * wanted; an oracle that replays several at once (jobs) gets them a
 * window at a time, and whatever ran after the first wanted one is
 * dropped, uncounted. So the result, and the count of replays, are those
 * of one replay at a time, for any number of jobs (only the time budget
 * can end it at another point).
 */
#include "stepper_int.h"
#include "preempt.h"
#include "env.h"
#include "trace_int.h"
#include "shrink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct stp__shrunk {
	char why[640];        /* not shrunk: why ("" when it was) */
	size_t from, to;      /* preemptions of the failing run and the shrunk one */
	uint64_t replays;
	double secs;
	int budget;           /* stopped by the budget */
	uint64_t max_replays;
	double max_secs;
	char stopped[320];    /* stopped early otherwise: why ("" not) */
	stp__srun best;       /* the shrunk run (best.s or best.t) */
	int errors_differ;    /* its first error's text is not the original's */
	char pair[4 * STP_MAX_NAME + 256]; /* the critical pair's line ("" none) */
	char trace[4096];     /* the shrunk trace ("" none) */
	char trace_why[4352]; /* why there is none */
};

struct shrinker {
	const stp__oracle *o;
	uint64_t replays, deadline_ns;
	int stop;            /* the budget ran out, or memory did */
	int budget;
	char fatal[320];     /* an oracle could not replay: why */
	stp__switch *sw;     /* every switch made; its strings owned */
	size_t nsw, capsw;
	size_t *list;        /* the best's switches: indices into sw */
	size_t nlist;
	stp__srun best;      /* the best run so far (a failure) */
	int has_best;
	size_t best_pre, best_sw;
};

/* ------------------------------------------------------------------ */
/* A run, in process or from a process                                 */
/* ------------------------------------------------------------------ */

static const char *run_thread(const stp__srun *r, int i)
{
	return r->s ? r->s->threads[i]->name : r->t->names[i];
}

static int run_nthreads(const stp__srun *r)
{
	return r->s ? r->s->nthreads : (int)r->t->nthreads;
}

/* Entries of the run's log, one per decision. */
static size_t run_nlog(const stp__srun *r)
{
	return r->s ? r->s->dec.nlog : r->t->nsched;
}

static int run_log_thread(const stp__srun *r, size_t k)
{
	return r->s ? r->s->log[k].thread : r->t->sched[k];
}

static const char *run_log_name(const stp__srun *r, size_t k)
{
	return r->s ? r->s->log[k].name : r->t->sched_names[k];
}

static size_t run_nerrors(const stp__srun *r)
{
	return r->s ? stp_error_count(r->s) : r->t ? r->t->nerrors : 0;
}

static const char *run_error(const stp__srun *r, size_t i)
{
	return r->s ? stp_error(r->s, i) : r->t->errors[i];
}

void stp__srun_free(stp__srun *r)
{
	stp_free(r->s);
	stp_trace_free(r->t);
	free(r->names);
	stp__preempts_reset(&r->p);
	memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------ */
/* Switches and replays                                                */
/* ------------------------------------------------------------------ */

/* A copy of s; NULL for NULL (and when out of memory). */
static char *dup_or_null(const char *s)
{
	return s ? stp__strdup(s) : NULL;
}

/* A new switch in sh->sw (strings copied): its index, or -1. */
static long add_switch(struct shrinker *sh, const char *thread, const char *point,
		       size_t occ, const char *to, int preempt)
{
	if (sh->nsw == sh->capsw) {
		size_t cap = sh->capsw ? 2 * sh->capsw : 16;
		stp__switch *w = realloc(sh->sw, cap * sizeof *w);
		if (!w)
			return -1;
		sh->sw = w;
		sh->capsw = cap;
	}
	stp__switch w = { { dup_or_null(thread), dup_or_null(point), occ },
			  dup_or_null(to), preempt };
	if ((thread && !w.at.thread) || (point && !w.at.point) || !w.to) {
		free((char *)w.at.thread);
		free((char *)w.at.point);
		free((char *)w.to);
		return -1;
	}
	sh->sw[sh->nsw] = w;
	return (long)sh->nsw++;
}

/* Make run (replayed from list) the best; run is moved, left empty. */
static void adopt(struct shrinker *sh, stp__srun *run, const size_t *list, size_t n)
{
	size_t *l = malloc((n ? n : 1) * sizeof *l);
	if (!l) {
		sh->stop = 1;
		stp__srun_free(run);
		return;
	}
	memcpy(l, list, n * sizeof *l);
	free(sh->list);
	sh->list = l;
	sh->nlist = n;
	if (sh->has_best)
		stp__srun_free(&sh->best);
	sh->best = *run;
	sh->has_best = 1;
	sh->best.p.sw = NULL; /* the input was the caller's */
	sh->best.p.nsw = 0;
	sh->best.p.follow = NULL;
	sh->best.p.nfollow = 0;
	memset(run, 0, sizeof *run);
	sh->best_pre = stp__preempts_count(&sh->best.p, &sh->best_sw);
}

/* What a candidate must do to be taken. */
enum want {
	W_FEWER,     /* fail the same way, no more preemptions (a removal) */
	W_NOT_WORSE, /* ... and no more switches (a move) */
	W_SAME       /* fail the same way (a probe: nothing is adopted) */
};

static int wanted(const struct shrinker *sh, const stp__srun *r, enum want want)
{
	if (!r->same)
		return 0;
	if (want == W_SAME)
		return 1;
	size_t nsw, pre = stp__preempts_count(&r->p, &nsw);
	return pre <= sh->best_pre && (want == W_FEWER || nsw <= sh->best_sw);
}

/* How many of want candidates the budget lets run now: 0 when it is
 * spent (the first replay is always made). */
static size_t budget_window(struct shrinker *sh, size_t want)
{
	if (sh->replays > 0 && (sh->replays >= sh->o->max_replays ||
				stp__mono_ns() >= sh->deadline_ns)) {
		sh->stop = sh->budget = 1;
		return 0;
	}
	uint64_t left = sh->o->max_replays - sh->replays;
	return want < left ? want : (size_t)left;
}

/* Candidate i of a step, as indices into sh->sw written to out (room for
 * sh->nlist + 2): their count. */
typedef size_t (*gen_fn)(struct shrinker *sh, void *ctx, size_t i, size_t *out);

/* Windows of a batch: each candidate's list and switches. */
struct window {
	size_t n, cap;
	size_t **lists, *len;
	stp__switch **sw;
	stp__srun *runs;
};

static void window_free(struct window *w)
{
	for (size_t j = 0; j < w->n; j++) {
		if (w->lists)
			free(w->lists[j]);
		if (w->sw)
			free(w->sw[j]);
	}
	free(w->lists);
	free(w->len);
	free(w->sw);
	free(w->runs);
}

static int window_init(struct window *w, size_t jobs, size_t cap)
{
	*w = (struct window){ .n = jobs, .cap = cap };
	w->lists = calloc(jobs, sizeof *w->lists);
	w->len = calloc(jobs, sizeof *w->len);
	w->sw = calloc(jobs, sizeof *w->sw);
	w->runs = calloc(jobs, sizeof *w->runs);
	if (!w->lists || !w->len || !w->sw || !w->runs)
		return -1;
	for (size_t j = 0; j < jobs; j++)
		if (!(w->lists[j] = malloc(cap * sizeof **w->lists)) ||
		    !(w->sw[j] = malloc(cap * sizeof **w->sw)))
			return -1;
	return 0;
}

/* Take the results of a window of m runs starting at candidate i: the
 * first wanted one's index, or -1. The others are freed. */
static long take_window(struct shrinker *sh, struct window *w, size_t i, size_t m,
			enum want want, int *last_failed)
{
	long hit = -1;
	for (size_t j = 0; j < m; j++) {
		stp__srun *r = &w->runs[j];
		if (hit < 0 && !sh->stop) {
			sh->replays++;
			if (r->fatal) {
				sh->stop = 1;
				snprintf(sh->fatal, sizeof sh->fatal, "%s", r->what);
			} else if (r->p.nomem) {
				sh->stop = 1;
			} else if (wanted(sh, r, want)) {
				hit = (long)(i + j);
				if (want != W_SAME)
					adopt(sh, r, w->lists[j], w->len[j]);
			} else if (last_failed) {
				*last_failed = r->failed;
			}
		}
		stp__srun_free(r);
	}
	return hit;
}

/* Replay candidates 0..n of gen in order, the oracle's jobs at a time,
 * until one is wanted: its index (adopted as the best unless W_SAME), or
 * -1 (none was, or the budget or memory stopped it: sh->stop). Replays
 * after the wanted one are not counted. *last_failed (may be NULL): did
 * the replay before the wanted one (or the last one, none wanted) fail at
 * all; -1 when there was none. */
static long batch(struct shrinker *sh, size_t n, gen_fn gen, void *ctx, enum want want,
		  int *last_failed)
{
	size_t jobs = sh->o->jobs ? sh->o->jobs : 1;
	struct window w;
	long hit = -1;
	if (last_failed)
		*last_failed = -1;
	if (window_init(&w, jobs < n ? jobs : (n ? n : 1), sh->nlist + 2) < 0) {
		sh->stop = 1;
		window_free(&w);
		return -1;
	}
	for (size_t i = 0; i < n && hit < 0 && !sh->stop;) {
		size_t m = budget_window(sh, w.n < n - i ? w.n : n - i);
		if (m == 0)
			break;
		for (size_t j = 0; j < m; j++) {
			w.len[j] = gen(sh, ctx, i + j, w.lists[j]);
			for (size_t k = 0; k < w.len[j]; k++)
				w.sw[j][k] = sh->sw[w.lists[j][k]];
			w.runs[j] = (stp__srun){ .p = { .sw = w.sw[j], .nsw = w.len[j] } };
		}
		if (sh->stop) { /* a generator ran out of memory */
			memset(w.runs, 0, m * sizeof *w.runs);
			break;
		}
		sh->o->replay(sh->o->self, w.runs, m);
		hit = take_window(sh, &w, i, m, want, last_failed);
		i += m;
	}
	window_free(&w);
	return hit;
}

/* ------------------------------------------------------------------ */
/* The steps                                                           */
/* ------------------------------------------------------------------ */

/* The failing run replayed (r, following its decisions) as a switch
 * list, adopted as the best: 0, or -1 (memory). */
static int switch_list(struct shrinker *sh, stp__srun *r)
{
	size_t *list = malloc((r->p.ndec ? r->p.ndec : 1) * sizeof *list), nl = 0;
	for (size_t k = 0; list && k < r->p.ndec; k++) {
		const stp__pdecision *d = &r->p.dec[k];
		if (d->chosen == d->dflt)
			continue;
		long i = add_switch(sh, d->current >= 0 ? run_thread(r, d->current) : NULL,
				    d->point, d->occ, run_thread(r, d->chosen),
				    d->current_enabled);
		if (i < 0) {
			sh->stop = 1;
			break;
		}
		list[nl++] = (size_t)i;
	}
	adopt(sh, r, list ? list : &nl, nl);
	free(list);
	return !list || sh->stop ? -1 : 0;
}

/* Replay the failing run as it was, and make its switch list: 0, or -1
 * with why filled. */
static int derive(struct shrinker *sh, const int *follow, size_t n, char *why, size_t size)
{
	stp__srun r = { .p = { .follow = follow, .nfollow = n } };
	sh->o->replay(sh->o->self, &r, 1);
	sh->replays++;
	if (r.fatal || r.p.nomem || !r.same) {
		if (r.fatal || r.p.nomem)
			snprintf(why, size, "%s", r.fatal ? r.what : "out of memory");
		else if (r.s && !r.p.used)
			snprintf(why, size, "the test body chooses its own schedule "
					    "(stp_set_schedule): there is nothing to vary");
		else if (!r.p.used)
			snprintf(why, size, "%s", r.what);
		else if (r.s)
			snprintf(why, size,
				 "the failing schedule, replayed, did not fail the same way "
				 "(%s): the test depends on something the stepper does "
				 "not decide",
				 r.what);
		else
			snprintf(why, size,
				 "the command, replaying the trace, did not fail the same way "
				 "(%s): is it the test that wrote the trace? (else the test "
				 "depends on something the stepper does not decide)",
				 r.what);
		stp__srun_free(&r);
		return -1;
	}
	if (switch_list(sh, &r) < 0) {
		snprintf(why, size, "out of memory");
		return -1;
	}
	return 0;
}

/* A ddmin step's candidates: the subsets of p at granularity gran, then
 * (gran > 2) their complements, each with the free choices f. */
struct dd {
	const size_t *p;
	size_t n, gran;
	const size_t *f;
	size_t nf;
};

static size_t gen_dd(struct shrinker *sh, void *ctx, size_t i, size_t *out)
{
	(void)sh;
	const struct dd *d = ctx;
	size_t part = i < d->gran ? i : i - d->gran, m = 0;
	size_t lo = part * d->n / d->gran, hi = (part + 1) * d->n / d->gran;
	for (size_t k = 0; k < d->n; k++)
		if ((i < d->gran) == (k >= lo && k < hi))
			out[m++] = d->p[k];
	for (size_t k = 0; k < d->nf; k++)
		out[m++] = d->f[k];
	return m;
}

/* One round of ddmin at granularity *gran over p[0..*n): 1 when it
 * reduced p. */
static int ddmin_round(struct shrinker *sh, size_t *p, size_t *n, size_t *gran,
		       const size_t *f, size_t nf, size_t *c)
{
	struct dd d = { p, *n, *gran, f, nf };
	long h = batch(sh, *gran > 2 ? 2 * *gran : *gran, gen_dd, &d, W_FEWER, NULL);
	if (h < 0)
		return 0;
	size_t m = gen_dd(sh, &d, (size_t)h, c) - nf;
	memcpy(p, c, m * sizeof *p);
	*n = m;
	*gran = (size_t)h < *gran ? 2 : (*gran - 1 > 2 ? *gran - 1 : 2);
	return 1;
}

/* ddmin over the best's preemptions, its free choices kept. */
static void ddmin(struct shrinker *sh)
{
	size_t total = sh->nlist, n = 0, nf = 0, gran = 2;
	size_t *p = malloc((total + 1) * sizeof *p), *f = malloc((total + 1) * sizeof *f);
	size_t *c = malloc((total + 2) * sizeof *c);
	if (!p || !f || !c) {
		sh->stop = 1;
		goto out;
	}
	for (size_t i = 0; i < total; i++) {
		if (sh->sw[sh->list[i]].preempt)
			p[n++] = sh->list[i];
		else
			f[nf++] = sh->list[i];
	}
	/* first: none at all (the one subset of an empty p) */
	if (n == 0 || batch(sh, 1, gen_dd, &(struct dd){ p, 0, 1, f, nf }, W_FEWER, NULL) == 0)
		goto out; /* it fails without a preemption */
	while (n >= 2 && !sh->stop) {
		if (ddmin_round(sh, p, &n, &gran, f, nf, c))
			continue;
		if (gran >= n)
			break;
		gran = 2 * gran < n ? 2 * gran : n;
	}
out:
	free(p);
	free(f);
	free(c);
}

/* A 1-minimal pass's candidates: the list without idx[i]. */
struct drop {
	const size_t *idx;
};

static size_t gen_drop(struct shrinker *sh, void *ctx, size_t i, size_t *out)
{
	const struct drop *d = ctx;
	size_t m = 0;
	for (size_t k = 0; k < sh->nlist; k++)
		if (k != d->idx[i])
			out[m++] = sh->list[k];
	return m;
}

/* One pass: drop each switch but keep (SIZE_MAX: none) that the failure
 * does not need, from the last. 1 when one went. */
static int one_pass(struct shrinker *sh, size_t keep)
{
	int changed = 0;
	size_t *idx = malloc((sh->nlist + 1) * sizeof *idx), start = sh->nlist;
	if (!idx) {
		sh->stop = 1;
		return 0;
	}
	while (start > 0 && !sh->stop) {
		size_t n = 0;
		for (size_t i = start; i-- > 0;)
			if (sh->list[i] != keep)
				idx[n++] = i;
		long h = batch(sh, n, gen_drop, &(struct drop){ idx }, W_FEWER, NULL);
		if (h < 0)
			break;
		changed = 1;
		start = idx[h]; /* the list before it is as it was */
	}
	free(idx);
	return changed;
}

/* Drop any one switch the failure does not need, until none can go. */
static void one_minimal(struct shrinker *sh)
{
	while (!sh->stop && one_pass(sh, SIZE_MAX))
		;
}

/* Switch i moved: drop the others it made needless. Returns where it
 * is in the list now. */
static size_t one_pass_after_move(struct shrinker *sh, size_t i)
{
	size_t id = sh->list[i];
	one_pass(sh, id);
	for (size_t k = 0; k < sh->nlist; k++)
		if (sh->list[k] == id)
			return k;
	return i; /* not reached: the moved switch stays */
}

/* The best run's decision taken at anchor a (thread index t), or -1. */
static long decision_at(const struct shrinker *sh, int t, const stp__anchor *a)
{
	for (size_t k = 0; k < sh->best.p.ndec; k++) {
		const stp__pdecision *d = &sh->best.p.dec[k];
		if (d->current == t && d->occ == a->occ &&
		    (d->point == a->point ||
		     (d->point && a->point && strcmp(d->point, a->point) == 0)))
			return (long)k;
	}
	return -1;
}

/* The index of the thread named name in the best run, or -1. */
static int best_thread(const struct shrinker *sh, const char *name)
{
	for (int i = 0; name && i < run_nthreads(&sh->best); i++)
		if (strcmp(run_thread(&sh->best, i), name) == 0)
			return i;
	return -1;
}

/* A single candidate: the list with its entry at replaced by id (at
 * SIZE_MAX: id added). */
struct one {
	size_t at, id;
};

static size_t gen_one(struct shrinker *sh, void *ctx, size_t i, size_t *out)
{
	(void)i;
	const struct one *o = ctx;
	memcpy(out, sh->list, sh->nlist * sizeof *out);
	if (o->at < sh->nlist)
		out[o->at] = o->id;
	else
		out[sh->nlist] = o->id;
	return sh->nlist + (o->at >= sh->nlist);
}

/* Move switch i of the list to its thread's decision before (dir -1) or
 * after (+1): 1 when the moved run became the best. */
static int try_move(struct shrinker *sh, size_t i, int dir)
{
	const stp__switch *w = &sh->sw[sh->list[i]];
	int t = best_thread(sh, w->at.thread);
	long j = t < 0 ? -1 : decision_at(sh, t, &w->at);
	if (j < 0)
		return 0;
	long k = j + dir;
	while (k >= 0 && (size_t)k < sh->best.p.ndec && sh->best.p.dec[k].current != t)
		k += dir;
	if (k < 0 || (size_t)k >= sh->best.p.ndec)
		return 0;
	const stp__pdecision *d = &sh->best.p.dec[k];
	long m = add_switch(sh, w->at.thread, d->point, d->occ, w->to, d->current_enabled);
	if (m < 0) {
		sh->stop = 1;
		return 0;
	}
	return batch(sh, 1, gen_one, &(struct one){ i, (size_t)m }, W_NOT_WORSE, NULL) == 0 &&
	       !sh->stop;
}

/* Move each preemption earlier, then later, one point of its thread at a
 * time while the run fails the same way with no more preemptions and
 * switches; after each move, drop the switches the moved one made
 * needless (a preemption moved next to another often makes it so). */
static void move_all(struct shrinker *sh)
{
	for (size_t i = 0; i < sh->nlist && !sh->stop; i++) {
		if (!sh->sw[sh->list[i]].preempt)
			continue;
		for (int dir = -1; dir <= 1; dir += 2) {
			size_t cap = sh->best.p.ndec; /* a thread has no more points */
			while (!sh->stop && i < sh->nlist && cap-- > 0 && try_move(sh, i, dir))
				i = one_pass_after_move(sh, i);
		}
	}
}

/* ------------------------------------------------------------------ */
/* The critical pair                                                   */
/* ------------------------------------------------------------------ */

/* How many times thread t was granted name in the best's log up to k. */
static size_t occurrence(const stp__srun *b, int t, const char *name, size_t k)
{
	size_t n = 0;
	for (size_t i = 0; i <= k && i < run_nlog(b); i++)
		n += run_log_thread(b, i) == t && strcmp(run_log_name(b, i), name) == 0;
	return n;
}

/* The decision of the best run that granted thread t its next point
 * after decision k (ndec when none did). */
static size_t resumed(const struct shrinker *sh, size_t k, int t)
{
	size_t g = k + 1;
	while (g < sh->best.p.ndec && sh->best.p.dec[g].chosen != t)
		g++;
	return g;
}

/* The probes that resume thread t after decision k + 1 + i: the best's
 * switches and one more. */
struct back {
	size_t k;
	int t;
};

static size_t gen_back(struct shrinker *sh, void *ctx, size_t i, size_t *out)
{
	const struct back *b = ctx;
	const stp__pdecision *e = &sh->best.p.dec[b->k + 1 + i];
	long m = add_switch(sh, e->current >= 0 ? run_thread(&sh->best, e->current) : NULL,
			    e->point, e->occ, run_thread(&sh->best, b->t), 1);
	if (m < 0) {
		sh->stop = 1;
		return 0;
	}
	return gen_one(sh, &(struct one){ SIZE_MAX, (size_t)m }, 0, out);
}

static const char *how_of(int failed)
{
	return failed ? "it fails otherwise" : "the run passes";
}

/* The last preemption (decision k, switch m of the list) left thread t at
 * its point while others ran: the first of their steps that must run
 * before that point for the run to fail the same way. Resuming t after
 * j of them, j = 0, 1, ...: the first j that fails names step k + j - 1
 * (j = 0 is the run without the preemption, which does not fail so:
 * 1-minimal). *how: what the run did with t one step earlier. */
static size_t first_needed(struct shrinker *sh, size_t k, size_t m, int t,
			   const char **how)
{
	*how = NULL;
	size_t *idx = &m;
	int lf;
	long h = batch(sh, 1, gen_drop, &(struct drop){ idx }, W_SAME, &lf);
	if (h >= 0 || lf < 0)
		return k; /* not known: the budget, or it fails without it too */
	const char *first = how_of(lf);
	size_t n = resumed(sh, k, t) - k - 1;
	h = batch(sh, n, gen_back, &(struct back){ k, t }, W_SAME, &lf);
	if (h < 0 && sh->stop)
		return k;
	size_t j = h >= 0 ? (size_t)h : n; /* the probes before it passed or failed otherwise */
	*how = j == 0 ? first : how_of(lf);
	return k + j;
}

/* The critical pair: the point where the last preemption left its
 * thread, and the first step others ran there that it must not precede. */
static void critical_pair(struct shrinker *sh, stp__shrunk *r)
{
	const stp__srun *b = &sh->best;
	long k = (long)b->p.ndec;
	while (--k >= 0) {
		const stp__pdecision *d = &b->p.dec[k];
		if (d->current_enabled && d->chosen != d->current)
			break;
	}
	if (k < 0 || (size_t)k >= run_nlog(b))
		return;
	const stp__pdecision *d = &b->p.dec[k];
	int cur = d->current;
	const char *point = d->point;
	size_t occ = d->occ;
	char tname[STP_MAX_NAME + 1], pname[STP_MAX_NAME + 1];
	snprintf(tname, sizeof tname, "%s", run_thread(b, cur));
	snprintf(pname, sizeof pname, "%s", point ? point : "");
	size_t m = SIZE_MAX;
	for (size_t i = 0; i < sh->nlist && m == SIZE_MAX; i++) {
		const stp__switch *w = &sh->sw[sh->list[i]];
		if (w->at.thread && strcmp(w->at.thread, tname) == 0 &&
		    decision_at(sh, cur, &w->at) == k)
			m = i;
	}
	const char *how = NULL;
	size_t e = m == SIZE_MAX ? (size_t)k : first_needed(sh, (size_t)k, m, cur, &how);
	b = &sh->best; /* probes adopt nothing: still the same run */
	size_t at = e < run_nlog(b) ? e : (size_t)k;
	int lt = run_log_thread(b, at);
	const char *ln = run_log_name(b, at);
	snprintf(r->pair, sizeof r->pair,
		 "critical pair: [%s] '%s' #%zu runs before [%s] '%s' #%zu%s%s",
		 run_thread(b, lt), ln, occurrence(b, lt, ln, at), tname, pname, occ,
		 how ? "; the other way round " : "", how ? how : "");
}

/* ------------------------------------------------------------------ */
/* The result                                                          */
/* ------------------------------------------------------------------ */

/* Write the best run's trace beside the original: NAME-shrunk.json. */
static void write_shrunk(stp__shrunk *r, const char *trace)
{
	if (!trace || !*trace) {
		snprintf(r->trace_why, sizeof r->trace_why,
			 "the failing run's trace was not written either");
		return;
	}
	size_t len = strlen(trace);
	if (len > 5 && strcmp(trace + len - 5, ".json") == 0)
		len -= 5;
	int n = snprintf(r->trace, sizeof r->trace, "%.*s-shrunk.json", (int)len, trace);
	if (n < 0 || (size_t)n >= sizeof r->trace) {
		snprintf(r->trace_why, sizeof r->trace_why, "its path would be too long");
		r->trace[0] = '\0';
		return;
	}
	int rc;
	if (r->best.s) {
		r->best.s->strategy = "shrunk";
		rc = stp_trace_write(r->best.s, r->trace);
	} else {
		rc = stp__srun_save(&r->best, r->trace);
	}
	int e = errno;
	if (rc < 0) {
		snprintf(r->trace_why, sizeof r->trace_why, "cannot write %s: %s", r->trace,
			 rc == STP_EIO ? strerror(e) : stp_strerror(rc));
		r->trace[0] = '\0';
	}
}

static void shrink_run(struct shrinker *sh, const int *follow, size_t n, stp__shrunk *r)
{
	if (derive(sh, follow, n, r->why, sizeof r->why) < 0)
		return;
	r->from = sh->best_pre;
	if (r->from == 0) {
		snprintf(r->why, sizeof r->why,
			 "the failing order has no preemption: nothing to shrink");
		return;
	}
	ddmin(sh);
	one_minimal(sh);
	move_all(sh);
	one_minimal(sh); /* a moved switch may itself be needless now */
	r->to = sh->best_pre;
	if (r->to > 0)
		critical_pair(sh, r);
}

stp__shrunk *stp__shrunk_not(const char *why)
{
	stp__shrunk *r = calloc(1, sizeof *r);
	if (r)
		snprintf(r->why, sizeof r->why, "%s", why);
	return r;
}

static void shrinker_free(struct shrinker *sh)
{
	if (sh->has_best)
		stp__srun_free(&sh->best);
	for (size_t i = 0; i < sh->nsw; i++) {
		free((char *)sh->sw[i].at.thread);
		free((char *)sh->sw[i].at.point);
		free((char *)sh->sw[i].to);
	}
	free(sh->sw);
	free(sh->list);
}

stp__shrunk *stp__shrink_with(const stp__oracle *o, const int *follow, size_t n,
			      const char *trace, const char *first_error)
{
	stp__shrunk *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	uint64_t t0 = stp__mono_ns();
	r->max_replays = o->max_replays;
	r->max_secs = o->max_secs;
	struct shrinker sh = { .o = o, .deadline_ns = t0 + (uint64_t)(o->max_secs * 1e9) };
	shrink_run(&sh, follow, n, r);
	if (!r->why[0] && sh.has_best) {
		r->best = sh.best;
		sh.has_best = 0;
		const char *e1 = run_nerrors(&r->best) ? run_error(&r->best, 0) : "";
		r->errors_differ = strcmp(first_error ? first_error : "", e1) != 0;
		write_shrunk(r, trace);
	} else if (!r->why[0]) {
		snprintf(r->why, sizeof r->why, "out of memory");
	}
	if (sh.fatal[0])
		snprintf(r->stopped, sizeof r->stopped, "%s", sh.fatal);
	else if (sh.stop && !sh.budget)
		snprintf(r->stopped, sizeof r->stopped, "out of memory");
	r->replays = sh.replays;
	r->budget = sh.budget;
	r->secs = (double)(stp__mono_ns() - t0) / 1e9;
	shrinker_free(&sh);
	return r;
}

/* ------------------------------------------------------------------ */
/* In process: a seed loop's body                                      */
/* ------------------------------------------------------------------ */

struct inproc {
	stp_options opt; /* of each replay */
	stp_body_fn body;
	void *arg;
	const char *sig; /* the failure's signature */
};

/* What "the same way" compares (stp__failure_signature), or, with no
 * error, the outcome and that the body said it failed. NULL when out of
 * memory. */
static char *signature(const stp_stepper *s, int body_rc)
{
	const char *first = stp_error_count(s) ? stp_error(s, 0) : NULL;
	if (!first)
		return stp__strdupf("%s: the test body returned non-zero (%s)",
				    stp__outcome_name(s->outcome), body_rc ? "failed" : "passed");
	return stp__failure_signature(stp__outcome_name(s->outcome), first);
}

static int failed(const stp_stepper *s, int body_rc)
{
	return body_rc != 0 || stp_error_count(s) > 0;
}

/* Run the body once with r->p. */
static void run_body(struct inproc *ip, stp__srun *r)
{
	stp_stepper *s = stp_new(&ip->opt);
	if (!s) {
		r->fatal = 1;
		snprintf(r->what, sizeof r->what, "out of memory");
		return;
	}
	s->timed = 1;
	s->preempts = &r->p;
	s->hooks.interleave = stp__preempt_interleave;
	int rc = ip->body(s, ip->arg);
	s->preempts = NULL;
	char *sig = signature(s, rc);
	if (!sig)
		r->p.nomem = 1;
	r->failed = failed(s, rc);
	r->same = sig && !r->p.nomem && r->p.used && r->failed && strcmp(sig, ip->sig) == 0;
	if (!r->same)
		snprintf(r->what, sizeof r->what, "it %s", r->failed ? "failed otherwise" : "passed");
	free(sig);
	r->s = s;
}

static void inproc_replay(void *self, stp__srun *runs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		run_body(self, &runs[i]);
}

/* Why the failing run s is not one to shrink ("" when it is). */
static void why_not(const stp_stepper *s, char *why, size_t size)
{
	why[0] = '\0';
	if (s->phase != STP__DONE)
		snprintf(why, size, "the test body did not run the stepper");
	else if (s->opt.mode != STP_SERIAL)
		snprintf(why, size, "overlap mode takes no decisions to vary");
	else if (s->outcome == STP__OUT_STALL)
		snprintf(why, size, "a stall: each replay would wait out the stall "
				    "limit, and a stall is not decided by the order");
}

stp__shrunk *stp__shrink(const stp_options *o, stp_stepper *orig, int body_rc,
			 stp_body_fn body, void *arg, const char *trace, int quiet)
{
	stp__shrink_env env;
	stp__shrink_env_get(&env);
	if (env.on == 0 || (env.on < 0 && quiet) || orig->opt.replay)
		return NULL;
	char why[320];
	why_not(orig, why, sizeof why);
	if (why[0])
		return stp__shrunk_not(why);
	struct inproc ip = { .opt = *o, .body = body, .arg = arg };
	ip.opt.trace = NULL;
	ip.opt.replay = NULL;
	ip.opt.debug = 0;
	char *sig = signature(orig, body_rc);
	if (!sig)
		return stp__shrunk_not("out of memory");
	ip.sig = sig;
	stp__oracle oracle = { inproc_replay, &ip, 1, env.replays, env.seconds };
	size_t n;
	const int *sched = stp_schedule(orig, &n);
	stp__shrunk *r = stp__shrink_with(&oracle, sched, n, trace,
					  stp_error_count(orig) ? stp_error(orig, 0) : "");
	free(sig);
	return r;
}

/* ------------------------------------------------------------------ */
/* The report                                                          */
/* ------------------------------------------------------------------ */

void stp__shrunk_print_as(FILE *out, const stp__shrunk *r, const char *before,
			  const char *after)
{
	if (!r)
		return;
	if (r->why[0]) {
		fprintf(out, "not shrunk: %s\n", r->why);
		return;
	}
	fprintf(out, "shrunk from %zu preemption%s to %zu in %llu replay%s (%.2f s)\n",
		r->from, r->from == 1 ? "" : "s", r->to, (unsigned long long)r->replays,
		r->replays == 1 ? "" : "s", r->secs);
	if (r->budget)
		fprintf(out,
			"  stopped by the budget of %llu replays and %g s "
			"(STEPPER_SHRINK_REPLAYS, STEPPER_SHRINK_SECONDS): more may shrink it "
			"further\n",
			(unsigned long long)r->max_replays, r->max_secs);
	else if (r->stopped[0])
		fprintf(out, "  stopped early: %s\n", r->stopped);
	for (size_t i = 0; r->errors_differ && i < run_nerrors(&r->best); i++)
		fprintf(out, "  error: %s\n", run_error(&r->best, i));
	fprintf(out, "order after shrinking (%zu preemption%s):\n", r->to,
		r->to == 1 ? "" : "s");
	if (r->best.s)
		stp_print_order(r->best.s, out);
	else
		stp__srun_print_order(&r->best, out);
	if (r->pair[0])
		fprintf(out, "%s\n", r->pair);
	else if (r->to == 0)
		fprintf(out, "no critical pair: it fails without a preemption\n");
	if (r->trace[0])
		fprintf(out, "replay shrunk: %s%s%s\n", before, r->trace, after);
	else
		fprintf(out, "no shrunk trace: %s\n", r->trace_why);
}

void stp__shrunk_print(FILE *out, const stp__shrunk *r, const char *cmd)
{
	char *after = stp__strdupf(" %s", cmd);
	stp__shrunk_print_as(out, r, "STEPPER_REPLAY=", after ? after : "");
	free(after);
}

const char *stp__shrunk_trace(const stp__shrunk *r)
{
	return r ? r->trace : "";
}

const char *stp__shrunk_why(const stp__shrunk *r)
{
	return r ? r->why : "out of memory";
}

size_t stp__shrunk_from(const stp__shrunk *r)
{
	return r ? r->from : 0;
}

size_t stp__shrunk_to(const stp__shrunk *r)
{
	return r ? r->to : 0;
}

void stp__shrunk_free(stp__shrunk *r)
{
	if (!r)
		return;
	stp__srun_free(&r->best);
	free(r);
}
