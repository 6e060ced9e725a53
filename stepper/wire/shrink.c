/*
 * shrink.c - shrinking a failing schedule to the fewest preemptions that
 * still fail the same way (README "Shrinking").
 *
 * The failing run is replayed once with the preempt source following its
 * decisions (preempt.h), which gives each decision's anchor; the
 * decisions where the default policy would have chosen otherwise become
 * the switch list: preemptions (the deciding thread could have gone on)
 * and free choices (it had blocked or ended). Then, replaying the body
 * with the preempt source each time:
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
	char why[320];        /* not shrunk: why ("" when it was) */
	size_t from, to;      /* preemptions of the failing run and the shrunk one */
	uint64_t replays;
	double secs;
	int budget;           /* stopped by the budget */
	uint64_t max_replays;
	double max_secs;
	stp_stepper *best;    /* the shrunk run */
	int errors_differ;    /* its first error's text is not the original's */
	char pair[4 * STP_MAX_NAME + 256]; /* the critical pair's line ("" none) */
	char trace[4096];     /* the shrunk trace ("" none) */
	char trace_why[4352]; /* why there is none */
};

struct shrinker {
	stp_options opt;     /* of each replay */
	stp_body_fn body;
	void *arg;
	char *sig;           /* the failure's signature */
	uint64_t max_replays, replays, deadline_ns;
	int stop;            /* the budget ran out, or memory did */
	int budget;
	stp__switch *sw;     /* every switch made; its strings owned */
	size_t nsw, capsw;
	size_t *list;        /* the best's switches: indices into sw */
	size_t nlist;
	stp_stepper *best;   /* the best run so far (a failure) */
	stp__preempts bestp; /* its decisions */
	size_t best_pre, best_sw;
};

/* ------------------------------------------------------------------ */
/* The same failure                                                    */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* Replays                                                             */
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

/* Run the body once with p: 1 when it failed the same way, 0 when not,
 * -1 when the budget is spent (or memory: sh->stop). *out receives the
 * stepper (NULL with -1). */
static int run_body(struct shrinker *sh, stp__preempts *p, stp_stepper **out, int *rc)
{
	*out = NULL;
	if (sh->replays > 0 && (sh->replays >= sh->max_replays ||
				stp__mono_ns() >= sh->deadline_ns)) {
		sh->stop = sh->budget = 1;
		return -1;
	}
	stp_stepper *s = stp_new(&sh->opt);
	if (!s) {
		sh->stop = 1;
		return -1;
	}
	s->timed = 1;
	s->preempts = p;
	s->hooks.interleave = stp__preempt_interleave;
	*rc = sh->body(s, sh->arg);
	sh->replays++;
	s->preempts = NULL;
	char *sig = signature(s, *rc);
	if (!sig || p->nomem)
		sh->stop = 1;
	int same = sig && !p->nomem && p->used && failed(s, *rc) && strcmp(sig, sh->sig) == 0;
	free(sig);
	*out = s;
	return same;
}

/* Make s (run with p, from list) the best. */
static void adopt(struct shrinker *sh, stp_stepper *s, stp__preempts *p,
		  const size_t *list, size_t n)
{
	size_t *l = malloc((n ? n : 1) * sizeof *l);
	if (!l) {
		sh->stop = 1;
		stp_free(s);
		stp__preempts_reset(p);
		return;
	}
	memcpy(l, list, n * sizeof *l);
	free(sh->list);
	sh->list = l;
	sh->nlist = n;
	stp_free(sh->best);
	stp__preempts_reset(&sh->bestp);
	sh->best = s;
	sh->bestp = *p;
	sh->bestp.sw = NULL;
	sh->best_pre = stp__preempts_count(p, &sh->best_sw);
}

/* When a replay that failed the same way becomes the best. */
enum accept {
	NO_MORE,  /* no more preemptions (a removal) */
	NOT_WORSE /* no more preemptions, no more switches (a move) */
};

/* Replay the switches of list; it becomes the best when it fails the
 * same way and accept says so. 1 when it did. */
static int try_list(struct shrinker *sh, const size_t *list, size_t n, enum accept accept)
{
	stp__switch *w = malloc((n ? n : 1) * sizeof *w);
	if (!w) {
		sh->stop = 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		w[i] = sh->sw[list[i]];
	stp__preempts p = { .sw = w, .nsw = n };
	stp_stepper *s;
	int rc, same = run_body(sh, &p, &s, &rc);
	free(w);
	size_t nsw, pre = stp__preempts_count(&p, &nsw);
	int ok = same == 1 && pre <= sh->best_pre;
	if (accept == NOT_WORSE)
		ok = ok && nsw <= sh->best_sw;
	if (ok) {
		adopt(sh, s, &p, list, n);
		return !sh->stop;
	}
	stp_free(s);
	stp__preempts_reset(&p);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The steps                                                           */
/* ------------------------------------------------------------------ */

/* Replay the failing run as it was, and make its switch list: 0, or -1
 * with why filled. */
static int derive(struct shrinker *sh, stp_stepper *orig, char *why, size_t size)
{
	size_t n;
	const int *sched = stp_schedule(orig, &n);
	stp__preempts p = { .follow = sched, .nfollow = n };
	stp_stepper *s;
	int rc, same = run_body(sh, &p, &s, &rc);
	if (same != 1) {
		if (s && !p.used)
			snprintf(why, size, "the test body chooses its own schedule "
					    "(stp_set_schedule): there is nothing to vary");
		else if (s)
			snprintf(why, size,
				 "the failing schedule, replayed, did not fail the same way "
				 "(it %s): the test depends on something the stepper does "
				 "not decide",
				 failed(s, rc) ? "failed otherwise" : "passed");
		else
			snprintf(why, size, "out of memory");
		stp_free(s);
		stp__preempts_reset(&p);
		return -1;
	}
	size_t *list = malloc((p.ndec ? p.ndec : 1) * sizeof *list), nl = 0;
	for (size_t k = 0; list && k < p.ndec; k++) {
		const stp__pdecision *d = &p.dec[k];
		if (d->chosen == d->dflt)
			continue;
		long i = add_switch(sh, d->current >= 0 ? s->threads[d->current]->name : NULL,
				    d->point, d->occ, s->threads[d->chosen]->name,
				    d->current_enabled);
		if (i < 0) {
			sh->stop = 1;
			break;
		}
		list[nl++] = (size_t)i;
	}
	p.follow = NULL;
	adopt(sh, s, &p, list ? list : &nl, nl);
	free(list);
	if (!list || sh->stop) {
		snprintf(why, size, "out of memory");
		return -1;
	}
	return 0;
}

/* Replay the preemptions p[0..np) with the free choices f[0..nf). */
static int test_with(struct shrinker *sh, const size_t *p, size_t np, const size_t *f,
		     size_t nf)
{
	size_t *c = malloc((np + nf + 1) * sizeof *c);
	if (!c) {
		sh->stop = 1;
		return 0;
	}
	if (np)
		memcpy(c, p, np * sizeof *c);
	if (nf)
		memcpy(c + np, f, nf * sizeof *c);
	int rc = try_list(sh, c, np + nf, NO_MORE);
	free(c);
	return rc;
}

/* One round of ddmin at granularity *gran over p[0..*n): 1 when it
 * reduced p. */
static int ddmin_round(struct shrinker *sh, size_t *p, size_t *n, size_t *gran,
		       const size_t *f, size_t nf, size_t *c)
{
	for (size_t i = 0; i < *gran && !sh->stop; i++) {
		size_t lo = i * *n / *gran, hi = (i + 1) * *n / *gran;
		if (test_with(sh, p + lo, hi - lo, f, nf) == 1) {
			memmove(p, p + lo, (hi - lo) * sizeof *p);
			*n = hi - lo;
			*gran = 2;
			return 1;
		}
	}
	for (size_t i = 0; *gran > 2 && i < *gran && !sh->stop; i++) {
		size_t lo = i * *n / *gran, hi = (i + 1) * *n / *gran, m = 0;
		for (size_t k = 0; k < *n; k++)
			if (k < lo || k >= hi)
				c[m++] = p[k];
		if (test_with(sh, c, m, f, nf) == 1) {
			memcpy(p, c, m * sizeof *p);
			*n = m;
			*gran = *gran - 1 > 2 ? *gran - 1 : 2;
			return 1;
		}
	}
	return 0;
}

/* ddmin over the best's preemptions, its free choices kept. */
static void ddmin(struct shrinker *sh)
{
	size_t total = sh->nlist, n = 0, nf = 0, gran = 2;
	size_t *p = malloc((total + 1) * sizeof *p), *f = malloc((total + 1) * sizeof *f);
	size_t *c = malloc((total + 1) * sizeof *c);
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
	if (n == 0 || test_with(sh, NULL, 0, f, nf) == 1)
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

/* One pass: drop each switch but keep (SIZE_MAX: none) that the failure
 * does not need. 1 when one went. */
static int one_pass(struct shrinker *sh, size_t keep)
{
	int changed = 0;
	for (size_t i = sh->nlist; i-- > 0 && !sh->stop;) {
		if (i >= sh->nlist || sh->list[i] == keep)
			continue;
		size_t *c = malloc((sh->nlist + 1) * sizeof *c), m = 0;
		if (!c) {
			sh->stop = 1;
			return changed;
		}
		for (size_t k = 0; k < sh->nlist; k++)
			if (k != i)
				c[m++] = sh->list[k];
		changed |= try_list(sh, c, m, NO_MORE);
		free(c);
	}
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
	for (size_t k = 0; k < sh->bestp.ndec; k++) {
		const stp__pdecision *d = &sh->bestp.dec[k];
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
	for (int i = 0; name && i < sh->best->nthreads; i++)
		if (strcmp(sh->best->threads[i]->name, name) == 0)
			return i;
	return -1;
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
	while (k >= 0 && (size_t)k < sh->bestp.ndec && sh->bestp.dec[k].current != t)
		k += dir;
	if (k < 0 || (size_t)k >= sh->bestp.ndec)
		return 0;
	const stp__pdecision *d = &sh->bestp.dec[k];
	long m = add_switch(sh, w->at.thread, d->point, d->occ, w->to, d->current_enabled);
	size_t *c = malloc((sh->nlist + 1) * sizeof *c);
	if (m < 0 || !c) {
		free(c);
		sh->stop = 1;
		return 0;
	}
	memcpy(c, sh->list, sh->nlist * sizeof *c);
	c[i] = (size_t)m;
	int rc = try_list(sh, c, sh->nlist, NOT_WORSE);
	free(c);
	return rc;
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
			size_t cap = sh->bestp.ndec; /* a thread has no more points */
			while (!sh->stop && i < sh->nlist && cap-- > 0 && try_move(sh, i, dir))
				i = one_pass_after_move(sh, i);
		}
	}
}

/* ------------------------------------------------------------------ */
/* The report                                                          */
/* ------------------------------------------------------------------ */

/* How many times thread t was granted name in the best's log up to k. */
static size_t occurrence(const stp_stepper *s, int t, const char *name, size_t k)
{
	size_t n = 0;
	for (size_t i = 0; i <= k && i < s->dec.nlog; i++)
		n += s->log[i].thread == t && strcmp(s->log[i].name, name) == 0;
	return n;
}

/* Replay the best's switches without switch skip (SIZE_MAX: none) and
 * with extra (NULL: none): 1 when it failed the same way, 0 when not (how
 * says what it did instead), -1 when the budget is spent. */
static int probe(struct shrinker *sh, size_t skip, const stp__switch *extra,
		 const char **how)
{
	stp__switch *w = malloc((sh->nlist + 2) * sizeof *w);
	size_t n = 0;
	if (!w) {
		sh->stop = 1;
		return -1;
	}
	for (size_t i = 0; i < sh->nlist; i++)
		if (i != skip)
			w[n++] = sh->sw[sh->list[i]];
	if (extra)
		w[n++] = *extra;
	stp__preempts p = { .sw = w, .nsw = n };
	stp_stepper *s;
	int rc, same = run_body(sh, &p, &s, &rc);
	free(w);
	if (same == 0)
		*how = failed(s, rc) ? "it fails otherwise" : "the run passes";
	stp_free(s);
	stp__preempts_reset(&p);
	return same;
}

/* The decision of the best run that granted thread t its next point
 * after decision k (ndec when none did). */
static size_t resumed(const struct shrinker *sh, size_t k, int t)
{
	size_t g = k + 1;
	while (g < sh->bestp.ndec && sh->bestp.dec[g].chosen != t)
		g++;
	return g;
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
	int r = probe(sh, m, NULL, how);
	if (r != 0)
		return k; /* not known: the budget, or it fails without it too */
	size_t g = resumed(sh, k, t), j = 1;
	for (; k + j < g; j++) {
		const stp__pdecision *e = &sh->bestp.dec[k + j];
		stp__switch back = { { e->current >= 0 ? sh->best->threads[e->current]->name : NULL,
				       e->point, e->occ },
				     sh->best->threads[t]->name, 1 };
		const char *h = NULL;
		r = probe(sh, SIZE_MAX, &back, &h);
		if (r < 0) {
			*how = NULL;
			return k;
		}
		if (r == 1)
			break;
		*how = h;
	}
	return k + j - 1;
}

/* The critical pair: the point where the last preemption left its
 * thread, and the first step others ran there that it must not precede. */
static void critical_pair(struct shrinker *sh, stp__shrunk *r)
{
	const stp_stepper *b = sh->best;
	long k = (long)sh->bestp.ndec;
	while (--k >= 0) {
		const stp__pdecision *d = &sh->bestp.dec[k];
		if (d->current_enabled && d->chosen != d->current)
			break;
	}
	if (k < 0 || (size_t)k >= b->dec.nlog)
		return;
	const stp__pdecision *d = &sh->bestp.dec[k];
	const char *tname = b->threads[d->current]->name;
	size_t m = SIZE_MAX;
	for (size_t i = 0; i < sh->nlist && m == SIZE_MAX; i++) {
		const stp__switch *w = &sh->sw[sh->list[i]];
		if (w->at.thread && strcmp(w->at.thread, tname) == 0 &&
		    decision_at(sh, d->current, &w->at) == k)
			m = i;
	}
	const char *how = NULL;
	size_t e = m == SIZE_MAX ? (size_t)k
				 : first_needed(sh, (size_t)k, m, d->current, &how);
	const stp__entry *l = &b->log[e < b->dec.nlog ? e : (size_t)k];
	snprintf(r->pair, sizeof r->pair,
		 "critical pair: [%s] '%s' #%zu runs before [%s] '%s' #%zu%s%s",
		 b->threads[l->thread]->name, l->name,
		 occurrence(b, l->thread, l->name, (size_t)(l - b->log)), tname, d->point,
		 d->occ, how ? "; the other way round " : "", how ? how : "");
}

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
	r->best->strategy = "shrunk";
	int rc = stp_trace_write(r->best, r->trace), e = errno;
	if (rc < 0) {
		snprintf(r->trace_why, sizeof r->trace_why, "cannot write %s: %s", r->trace,
			 rc == STP_EIO ? strerror(e) : stp_strerror(rc));
		r->trace[0] = '\0';
	}
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

static void shrink_run(struct shrinker *sh, stp_stepper *orig, stp__shrunk *r)
{
	if (derive(sh, orig, r->why, sizeof r->why) < 0)
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

stp__shrunk *stp__shrink(const stp_options *o, stp_stepper *orig, int body_rc,
			 stp_body_fn body, void *arg, const char *trace, int quiet)
{
	stp__shrink_env env;
	stp__shrink_env_get(&env);
	if (env.on == 0 || (env.on < 0 && quiet) || orig->opt.replay)
		return NULL;
	stp__shrunk *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	uint64_t t0 = stp__mono_ns();
	r->max_replays = env.replays;
	r->max_secs = env.seconds;
	struct shrinker sh = { .opt = *o, .body = body, .arg = arg,
			       .max_replays = env.replays,
			       .deadline_ns = t0 + (uint64_t)(env.seconds * 1e9) };
	sh.opt.trace = NULL;
	sh.opt.replay = NULL;
	sh.opt.debug = 0;
	why_not(orig, r->why, sizeof r->why);
	if (!r->why[0] && !(sh.sig = signature(orig, body_rc)))
		snprintf(r->why, sizeof r->why, "out of memory");
	if (!r->why[0])
		shrink_run(&sh, orig, r);
	if (!r->why[0] && sh.best) {
		r->best = sh.best;
		sh.best = NULL;
		const char *e0 = stp_error_count(orig) ? stp_error(orig, 0) : "";
		const char *e1 = stp_error_count(r->best) ? stp_error(r->best, 0) : "";
		r->errors_differ = strcmp(e0, e1) != 0;
		write_shrunk(r, trace);
	}
	r->replays = sh.replays;
	r->budget = sh.budget;
	r->secs = (double)(stp__mono_ns() - t0) / 1e9;
	stp_free(sh.best);
	stp__preempts_reset(&sh.bestp);
	for (size_t i = 0; i < sh.nsw; i++) {
		free((char *)sh.sw[i].at.thread);
		free((char *)sh.sw[i].at.point);
		free((char *)sh.sw[i].to);
	}
	free(sh.sw);
	free(sh.list);
	free(sh.sig);
	return r;
}

void stp__shrunk_print(FILE *out, const stp__shrunk *r, const char *cmd)
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
	for (size_t i = 0; r->errors_differ && i < stp_error_count(r->best); i++)
		fprintf(out, "  error: %s\n", stp_error(r->best, i));
	fprintf(out, "order after shrinking (%zu preemption%s):\n", r->to,
		r->to == 1 ? "" : "s");
	stp_print_order(r->best, out);
	if (r->pair[0])
		fprintf(out, "%s\n", r->pair);
	else if (r->to == 0)
		fprintf(out, "no critical pair: it fails without a preemption\n");
	if (r->trace[0])
		fprintf(out, "replay shrunk: STEPPER_REPLAY=%s %s\n", r->trace, cmd);
	else
		fprintf(out, "no shrunk trace: %s\n", r->trace_why);
}

const char *stp__shrunk_trace(const stp__shrunk *r)
{
	return r ? r->trace : "";
}

void stp__shrunk_free(stp__shrunk *r)
{
	if (!r)
		return;
	stp_free(r->best);
	free(r);
}
